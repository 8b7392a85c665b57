//! Crash safety of the `rudder` binary: SIGTERM or SIGINT during an operation marks the
//! claimed revision failed before exiting; after `kill -9` the revision stays pending until
//! its heartbeat goes stale, then the next operation marks it failed and proceeds.

mod release_support;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use release_support::{connect_with, release_chart, rudder_command};
use rudder::storage::{Status, Storage};
use serde_json::json;

fn start_install(server: &kubesim::Server, name: &str) -> Child {
    let chart = release_chart("workload");
    rudder_command(
        server,
        &[
            "install",
            name,
            chart.to_str().unwrap(),
            "--set",
            "tag=fail",
            "--wait",
            "--timeout",
            "60s",
        ],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap()
}

async fn wait_for_status(
    storage: &Storage,
    name: &str,
    status: Status,
) -> Vec<rudder::storage::Release> {
    let start = Instant::now();
    loop {
        if let Ok(h) = storage.history(name).await
            && h.last().is_some_and(|r| r.info.status == status)
        {
            return h;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{name} never became {status}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn signal(child: &Child, sig: &str) {
    let ok = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig}");
}

#[tokio::test]
async fn sigterm_and_sigint_mark_the_revision_failed_before_exit() {
    let server = kubesim::Server::start().await.unwrap();
    let cluster = connect_with(&server, None, None).await;
    let storage = Storage::new(&cluster, "default");
    for (name, sig, label) in [("term", "-TERM", "SIGTERM"), ("int", "-INT", "SIGINT")] {
        let child = start_install(&server, name);
        wait_for_status(&storage, name, Status::PendingInstall).await;
        signal(&child, sig);
        let out = child.wait_with_output().unwrap();
        assert_eq!(out.status.code(), Some(1));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(&format!(
                "interrupted by {label}; the revision in progress was marked failed"
            )),
            "{stderr}"
        );
        let history = storage.history(name).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(history[0].info.status, Status::Failed);
        assert_eq!(
            history[0].info.description,
            format!("Install interrupted by {label} before it finished")
        );
    }
}

#[tokio::test]
async fn after_kill_9_a_stale_pending_revision_is_recovered() {
    let server = kubesim::Server::start().await.unwrap();
    let cluster = connect_with(&server, None, None).await;
    let storage = Storage::new(&cluster, "default");
    let mut child = start_install(&server, "crash");
    wait_for_status(&storage, "crash", Status::PendingInstall).await;
    signal(&child, "-KILL");
    child.wait().unwrap();
    let history = storage.history("crash").await.unwrap();
    assert_eq!(
        history[0].info.status,
        Status::PendingInstall,
        "kill -9 leaves it pending"
    );

    // A holder on another machine (whose process cannot be looked at) that stopped
    // beating: while the heartbeat is fresh the name is held; once it is older than the
    // stale bound, `install --replace` marks it failed and proceeds. (A holder of this
    // machine that is gone is taken over at once: tests/release_interleaving.rs.)
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(cluster.client.clone(), "default");
    secrets
        .patch(
            "sh.helm.release.v1.crash.v1",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"annotations": {
                "rudder.dev/holder": "ci@elsewhere pid 1 (boot 00000000, pid namespace 1)",
                "rudder.dev/heartbeat": "2020-01-01T00:00:00Z"}}})),
        )
        .await
        .unwrap();
    let chart = release_chart("workload");
    let out = rudder_command(
        &server,
        &["install", "crash", chart.to_str().unwrap(), "--replace"],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let history = storage.history("crash").await.unwrap();
    assert_eq!(history[0].info.status, Status::Failed);
    assert!(
        history[0]
            .info
            .description
            .contains("stopped without finishing (last heartbeat 2020-01-01T00:00:00Z)"),
        "{}",
        history[0].info.description
    );
    assert_eq!(history[1].info.status, Status::Deployed);
}

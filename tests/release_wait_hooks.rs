//! `--wait`, `--atomic` and hooks against kubesim's simulated controllers: a Deployment
//! whose image never becomes ready times out naming the pod's CrashLoopBackOff, `--atomic`
//! rolls back with both revisions in the history, Job hooks are waited for and a failing
//! one fails the operation with its name and reason, test hooks record their runs.

mod release_support;

use std::time::Duration;

use release_support::{deploy_options, object, release_chart, rudder_command};
use rudder::action::config::Configuration;
use rudder::action::install::{DeployOptions, install};
use rudder::action::lifecycle::ApplySettings;
use rudder::action::release_test::run_tests;
use rudder::action::upgrade::upgrade;
use rudder::kube::Cluster;
use rudder::storage::{Status, Storage};

fn deploy(name: &str, sets: &[&str], wait: bool, timeout_ms: u64) -> DeployOptions {
    deploy_options(
        name,
        release_chart("workload"),
        sets,
        ApplySettings {
            wait,
            quiet: true,
            timeout: Duration::from_millis(timeout_ms),
            ..Default::default()
        },
    )
}

async fn setup() -> (kubesim::Server, Configuration) {
    release_support::start_with_slow_controllers().await
}

async fn history(c: &Cluster, name: &str) -> Vec<(u64, Status, String)> {
    Storage::new(c, "default")
        .history(name)
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.version, r.info.status, r.info.description))
        .collect()
}

#[tokio::test]
async fn wait_returns_once_the_deployment_is_rolled_out() {
    let (_server, c) = setup().await;
    install(&c, &deploy("ok", &[], true, 20_000)).await.unwrap();
    let d = c
        .get(&object("apps/v1", "Deployment", "ok-web"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d["status"]["availableReplicas"], 2);
    assert_eq!(d["status"]["updatedReplicas"], 2);
}

#[tokio::test]
async fn wait_timeout_lists_what_is_not_ready_and_why() {
    let (_server, c) = setup().await;
    let err = install(&c, &deploy("never", &["tag=fail"], true, 2_000))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.starts_with("installation of release \"never\" failed: timed out after 2s waiting for 1 resource(s) to become ready"), "{err}");
    assert!(
        err.contains("Deployment \"never-web\" in namespace \"default\""),
        "{err}"
    );
    assert!(
        err.contains("CrashLoopBackOff"),
        "names the pod's reason: {err}"
    );
    // The Deployment's events and its failing container's last log lines (--logs).
    assert!(
        err.contains("events of Deployment \"never-web\" in namespace \"default\":\n    Normal ScalingReplicaSet: Scaled up replica set never-web-"),
        "{err}"
    );
    assert!(err.contains("last 20 log lines of pod never-web-"), "{err}");
    assert!(
        err.contains("\n    kubesim: simulated crash (image tag marks it as failing)"),
        "{err}"
    );
    let h = history(&c, "never").await;
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].1, Status::Failed);
    assert!(h[0].2.contains("timed out"), "{}", h[0].2);
}

#[tokio::test]
async fn atomic_upgrade_rolls_back_and_history_shows_both() {
    let (_server, c) = setup().await;
    install(&c, &deploy("atom", &[], true, 20_000))
        .await
        .unwrap();
    let mut opts = deploy("atom", &["tag=fail"], true, 2_000);
    opts.atomic = true;
    let err = upgrade(&c, &opts).await.unwrap_err().to_string();
    assert!(
        err.ends_with("; rolled back to revision 1 as revision 3 (--atomic)"),
        "{err}"
    );
    let h = history(&c, "atom").await;
    assert_eq!(
        h.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
        vec![
            (1, Status::Superseded),
            (2, Status::Failed),
            (3, Status::Deployed)
        ]
    );
    assert_eq!(h[2].2, "Rollback to 1");
    let d = c
        .get(&object("apps/v1", "Deployment", "atom-web"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        d["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
}

#[tokio::test]
async fn job_hooks_are_waited_for_and_deleted_when_they_succeed() {
    let (_server, c) = setup().await;
    let r = install(&c, &deploy("hooked", &["hook=true"], false, 20_000))
        .await
        .unwrap();
    let job = r.hooks.iter().find(|h| h.kind == "Job").unwrap();
    assert_eq!(job.last_run.phase, "Succeeded");
    assert!(job.last_run.completed_at >= job.last_run.started_at);
    let post = r.hooks.iter().find(|h| h.kind == "ConfigMap").unwrap();
    assert_eq!(post.last_run.phase, "Succeeded");
    assert!(
        post.last_run.started_at >= job.last_run.completed_at,
        "weights and events order the hooks"
    );
    assert!(
        c.get(&object("batch/v1", "Job", "hooked-migrate"))
            .await
            .unwrap()
            .is_none(),
        "hook-succeeded deletes the Job"
    );
    assert!(
        c.get(&object("v1", "ConfigMap", "hooked-hook-order"))
            .await
            .unwrap()
            .is_some(),
        "hooks without hook-succeeded stay"
    );
    // The stored record tells helm what ran.
    let stored = Storage::new(&c, "default").get("hooked", 1).await.unwrap();
    let phases: Vec<(&str, &str)> = stored
        .hooks
        .iter()
        .map(|h| (h.kind.as_str(), h.last_run.phase.as_str()))
        .collect();
    assert_eq!(
        phases,
        vec![
            ("ConfigMap", "Succeeded"),
            ("Job", "Succeeded"),
            ("Job", "")
        ],
        "test hooks do not run on install"
    );
}

#[tokio::test]
async fn a_failing_hook_fails_the_upgrade_with_its_name_and_reason() {
    let (_server, c) = setup().await;
    install(&c, &deploy("hf", &[], false, 20_000))
        .await
        .unwrap();
    let err = upgrade(
        &c,
        &deploy("hf", &["hook=true", "hookTag=fail"], false, 20_000),
    )
    .await
    .unwrap_err()
    .to_string();
    assert!(err.contains("hook Job \"hf-migrate\" in namespace \"default\" (pre-upgrade) failed: Job has reached the specified backoff limit"), "{err}");
    let h = history(&c, "hf").await;
    assert_eq!(
        h.iter().map(|x| x.1).collect::<Vec<_>>(),
        vec![Status::Deployed, Status::Failed]
    );
}

#[tokio::test]
async fn test_hooks_run_on_demand_and_record_their_phase() {
    let (_server, c) = setup().await;
    install(&c, &deploy("tested", &[], false, 20_000))
        .await
        .unwrap();
    let settings = ApplySettings {
        quiet: true,
        timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let r = run_tests(&c, "tested", &settings).await.unwrap();
    let t = r.hooks.iter().find(|h| h.events == ["test"]).unwrap();
    assert_eq!(t.last_run.phase, "Succeeded");
    let stored = Storage::new(&c, "default").get("tested", 1).await.unwrap();
    assert_eq!(stored.hooks[0].last_run.phase, "Succeeded");
    // A failing test fails `test` with the test's name and reason.
    let failing = install(&c, &deploy("failtest", &["testTag=fail"], false, 20_000))
        .await
        .unwrap();
    assert_eq!(failing.info.status, Status::Deployed);
    let err = run_tests(&c, "failtest", &settings)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("hook Job \"failtest-test\" in namespace \"default\" (test) failed: "),
        "{err}"
    );
    let failed_record = Storage::new(&c, "default")
        .get("failtest", 1)
        .await
        .unwrap();
    assert_eq!(failed_record.hooks[0].last_run.phase, "Failed");
    let status = rudder::action::lifecycle::status_text(&stored, false);
    assert!(status.contains("TEST SUITE:     tested-test"), "{status}");
    assert!(status.contains("Phase:          Succeeded"), "{status}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_retries_run_out_the_revision_is_failed_with_the_cause() {
    let (server, c) = setup().await;
    install(&c, &deploy("flaky", &[], true, 20_000))
        .await
        .unwrap();
    let upgrading = {
        let c = c.clone();
        tokio::spawn(
            async move { upgrade(&c, &deploy("flaky", &["tag=fail"], true, 30_000)).await },
        )
    };
    let storage = Storage::new(&c, "default");
    loop {
        let h = storage.history("flaky").await.unwrap();
        if h.last()
            .is_some_and(|r| r.info.status == Status::PendingUpgrade)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The API server answers 503 to every attempt of the next request (the wait's poll).
    server.faults().fail_next(c.retry.attempts as usize, 503);
    let err = upgrading.await.unwrap().unwrap_err().to_string();
    assert!(err.contains("503"), "{err}");
    assert!(
        err.contains("the server is currently unable to handle the request"),
        "{err}"
    );
    let h = history(&c, "flaky").await;
    assert_eq!(
        h.iter().map(|x| (x.0, x.1)).collect::<Vec<_>>(),
        vec![(1, Status::Deployed), (2, Status::Failed)],
        "the previous deployed revision is untouched"
    );
    assert!(h[1].2.contains("503"), "the cause is recorded: {}", h[1].2);
}

#[tokio::test]
async fn wait_progress_is_plain_timestamped_lines_when_not_on_a_terminal() {
    let (server, _c) = setup().await;
    let chart = release_chart("workload");
    let out = rudder_command(
        &server,
        &["install", "progress", chart.to_str().unwrap(), "--wait"],
    )
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Deployment \"progress-web\""))
        .collect();
    assert!(lines.len() >= 2, "a line per state change: {stderr}");
    for line in &lines {
        let stamp = line.split(' ').next().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(stamp).is_ok(),
            "timestamped: {line}"
        );
    }
    assert!(lines.last().unwrap().ends_with(": ready"), "{stderr}");
}

#[tokio::test]
async fn wait_for_jobs_waits_for_completion_and_fails_on_a_failed_job() {
    let (_server, c) = setup().await;
    let mut opts = deploy("jobs", &["job=true"], true, 20_000);
    opts.settings.wait_for_jobs = true;
    install(&c, &opts).await.unwrap();
    let job = c
        .get(&object("batch/v1", "Job", "jobs-batch"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        job["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Complete" && c["status"] == "True"),
        "install returned only once the Job completed"
    );

    let mut failing = deploy("badjob", &["job=true", "jobTag=fail"], true, 20_000);
    failing.settings.wait_for_jobs = true;
    let err = install(&c, &failing).await.unwrap_err().to_string();
    assert!(
        err.contains("Job \"badjob-batch\" in namespace \"default\" failed: Job has reached the specified backoff limit\n"),
        "{err}"
    );
    assert!(
        err.ends_with("events of Job \"badjob-batch\" in namespace \"default\":\n    Warning BackoffLimitExceeded: Job has reached the specified backoff limit"),
        "the Job's events follow: {err}"
    );
    assert_eq!(history(&c, "badjob").await[0].1, Status::Failed);
}

/// A chart with a Gadget CRD (no status subresource, so a template may carry a status) and
/// a Gadget without any status; with `stuck=true` also one reporting `Ready=False`.
fn gadget_chart(dir: &std::path::Path) -> std::path::PathBuf {
    let crd = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Namespaced
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";
    let plain =
        "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: plain\nspec: {size: 1}\n";
    let stuck = "{%- if Values.stuck %}
apiVersion: example.com/v1
kind: Gadget
metadata:
  name: stuck
spec: {size: 2}
status:
  conditions:
    - {type: Ready, status: \"False\", reason: BackendMissing, message: waiting for backend db}
{%- endif %}
";
    release_support::write_chart(
        dir,
        "gadgets",
        [
            ("crds/gadget.yaml", crd),
            ("templates/plain.yaml", plain),
            ("templates/stuck.yaml", stuck),
        ],
    )
}

/// Issue (beyond helm): helm 4 waits forever on custom resources without conditions, and
/// says nothing of why a resource is not ready. A custom resource with no status
/// conventions is counted ready once created, and the progress says so; one reporting
/// `Ready=False` times out with its condition's message and its recent events.
#[tokio::test]
async fn custom_resources_are_waited_for_by_their_conditions_and_explained() {
    let (server, c) = setup().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = gadget_chart(dir.path());
    let chart = chart.to_str().unwrap();
    let out = rudder_command(
        &server,
        &["install", "g", chart, "--wait", "--timeout", "20s"],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("Gadget \"plain\" in namespace \"default\": ready (no status conditions to follow: counted ready once created)"),
        "{stderr}"
    );

    // An event about the stuck Gadget, as its controller would record it.
    let events: kube::Api<k8s_openapi::api::core::v1::Event> =
        kube::Api::namespaced(c.client.clone(), "default");
    let event = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "stuck.1", "namespace": "default"},
        "involvedObject": {"apiVersion": "example.com/v1", "kind": "Gadget", "name": "stuck", "namespace": "default"},
        "reason": "BackendMissing", "message": "backend db not found", "type": "Warning",
        "lastTimestamp": "2026-01-01T00:00:00Z"
    }))
    .unwrap();
    events.create(&Default::default(), &event).await.unwrap();
    let out = rudder_command(
        &server,
        &[
            "upgrade",
            "g",
            chart,
            "--set",
            "stuck=true",
            "--wait",
            "--timeout",
            "2s",
        ],
    )
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("timed out after 2s waiting for 1 resource(s) to become ready:\n  Gadget \"stuck\" in namespace \"default\": Ready: waiting for backend db (not yet)\n  events of Gadget \"stuck\" in namespace \"default\":\n    Warning BackendMissing: backend db not found"),
        "{stderr}"
    );
}

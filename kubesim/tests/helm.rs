//! Fidelity: the real helm v4.1.4 installs, upgrades, rolls back and uninstalls a chart against
//! kubesim with `--wait`, and its output matches the state kubesim holds; an image that never
//! becomes ready makes `--wait` time out as on a real cluster.

mod common;

use common::{peers_bin, run};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams};
use kubesim::Server;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_install_upgrade_rollback_uninstall_with_wait() {
    let server = Server::start().await.expect("server starts");
    let Some(bin) = peers_bin() else { return };
    let helm = bin.join("helm");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let chart = dir.path().join("demo");
    let chart_arg = chart.to_str().unwrap();
    let h = |args: Vec<&str>| {
        let helm = helm.clone();
        let kubeconfig = kubeconfig.clone();
        let args: Vec<String> = args.into_iter().map(str::to_string).collect();
        async move {
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            run(&helm, &kubeconfig, &refs, None).await
        }
    };
    let client = server.client().await;
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let secrets: Api<Secret> = Api::default_namespaced(client);

    let created = run(&helm, &kubeconfig, &["create", chart_arg], None).await;
    created.ok();

    let install = h(vec![
        "install",
        "demo",
        chart_arg,
        "--wait",
        "--timeout",
        "60s",
    ])
    .await;
    install.ok();
    assert!(
        install.stdout.contains("STATUS: deployed"),
        "{}",
        install.stdout
    );
    let d = deploys.get("demo").await.unwrap();
    let status = d.status.unwrap();
    assert_eq!(
        status.ready_replicas,
        Some(1),
        "--wait returned only once the pod was ready"
    );
    let release = secrets.get("sh.helm.release.v1.demo.v1").await.unwrap();
    let labels = release.metadata.labels.unwrap();
    assert_eq!(labels["owner"], "helm");
    assert_eq!(labels["status"], "deployed");
    assert_eq!(release.type_.as_deref(), Some("helm.sh/release.v1"));

    let upgrade = h(vec![
        "upgrade",
        "demo",
        chart_arg,
        "--set",
        "replicaCount=3",
        "--wait",
        "--timeout",
        "60s",
    ])
    .await;
    upgrade.ok();
    let d = deploys.get("demo").await.unwrap();
    assert_eq!(d.spec.unwrap().replicas, Some(3));
    assert_eq!(d.status.unwrap().ready_replicas, Some(3));

    let history = h(vec!["history", "demo"]).await;
    history.ok();
    let rows: Vec<&str> = history.stdout.lines().skip(1).collect();
    assert_eq!(rows.len(), 2, "{}", history.stdout);
    assert!(
        rows[0].contains("superseded") && rows[0].contains("Install complete"),
        "{}",
        rows[0]
    );
    assert!(
        rows[1].contains("deployed") && rows[1].contains("Upgrade complete"),
        "{}",
        rows[1]
    );

    let rollback = h(vec!["rollback", "demo", "1", "--wait", "--timeout", "60s"]).await;
    rollback.ok();
    assert!(
        rollback.stdout.contains("Rollback was a success"),
        "{}",
        rollback.stdout
    );
    assert_eq!(
        deploys.get("demo").await.unwrap().spec.unwrap().replicas,
        Some(1)
    );

    let list = h(vec!["list"]).await;
    list.ok();
    let row = list.stdout.lines().nth(1).expect("one release");
    let cols: Vec<&str> = row.split('\t').map(str::trim).collect();
    assert_eq!(
        (cols[0], cols[2], cols[4]),
        ("demo", "3", "deployed"),
        "{row}"
    );

    let status = h(vec!["status", "demo"]).await;
    status.ok();
    assert!(status.stdout.contains("REVISION: 3"), "{}", status.stdout);
    assert!(
        status.stdout.contains("DESCRIPTION: Rollback to 1"),
        "{}",
        status.stdout
    );
    let stored = secrets
        .list(&ListParams::default().labels("owner=helm,name=demo"))
        .await
        .unwrap();
    assert_eq!(stored.items.len(), 3, "one release Secret per revision");

    let uninstall = h(vec!["uninstall", "demo"]).await;
    uninstall.ok();
    assert!(
        uninstall.stdout.contains("release \"demo\" uninstalled"),
        "{}",
        uninstall.stdout
    );
    assert!(deploys.get_opt("demo").await.unwrap().is_none());
    let left = secrets
        .list(&ListParams::default().labels("owner=helm"))
        .await
        .unwrap();
    assert!(left.items.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn helm_wait_times_out_for_an_image_that_never_becomes_ready() {
    let server = Server::start().await.expect("server starts");
    let Some(bin) = peers_bin() else { return };
    let helm = bin.join("helm");
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    server.write_kubeconfig(&kubeconfig).unwrap();
    let chart = dir.path().join("demo");
    let chart_arg = chart.to_str().unwrap();
    run(&helm, &kubeconfig, &["create", chart_arg], None)
        .await
        .ok();
    let started = Instant::now();
    let install = run(
        &helm,
        &kubeconfig,
        &[
            "install",
            "bad",
            chart_arg,
            "--set",
            "image.tag=fail",
            "--wait",
            "--timeout",
            "5s",
        ],
        None,
    )
    .await;
    assert_eq!(install.code, 1, "{}", install.stdout);
    assert!(
        install.stderr.contains("INSTALLATION FAILED"),
        "{}",
        install.stderr
    );
    assert!(
        install.stderr.contains("context deadline exceeded"),
        "{}",
        install.stderr
    );
    assert!(started.elapsed() >= Duration::from_secs(5));
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::default_namespaced(server.client().await);
    let pod = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let waiting = pod.status.unwrap().container_statuses.unwrap()[0]
        .state
        .clone()
        .unwrap()
        .waiting
        .unwrap();
    assert_eq!(waiting.reason.as_deref(), Some("CrashLoopBackOff"));
}

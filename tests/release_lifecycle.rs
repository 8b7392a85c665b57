//! Release lifecycle against kubesim: install → upgrade → history → rollback → uninstall with
//! the objects checked in the API server, pruning and the keep policy, ownership, and every
//! bad input leaving nothing half-recorded.

mod release_support;

use std::path::PathBuf;

use rudder::action::config::Configuration;
use rudder::action::install::{DeployOptions, install};
use rudder::action::lifecycle::ReleaseError;
use rudder::action::rollback::{RollbackOptions, rollback};
use rudder::action::uninstall::{UninstallOptions, uninstall};
use rudder::action::upgrade::upgrade;
use rudder::kube::{Cluster, ConnectOptions, ObjectRef, connect};
use rudder::storage::{Status, Storage};
use serde_json::{Value, json};

fn chart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/release/app")
}

use release_support::{
    alice, connect_with, deploy_options, object, quiet_settings as settings, rollback_options,
    start, uninstall_options, write_chart,
};

fn deploy(name: &str, sets: &[&str]) -> DeployOptions {
    deploy_options(name, chart(), sets, settings())
}

async fn cluster_for(server: &kubesim::Server, namespace: &str) -> Configuration {
    connect_with(server, None, Some(namespace)).await
}

fn cm(namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

async fn live(cluster: &Cluster, namespace: &str, name: &str) -> Option<Value> {
    cluster.get(&cm(namespace, name)).await.unwrap()
}

async fn statuses(cluster: &Cluster, name: &str) -> Vec<(u64, Status, String)> {
    Storage::new(cluster, &cluster.namespace)
        .history(name)
        .await
        .map(|h| {
            h.into_iter()
                .map(|r| (r.version, r.info.status, r.info.description))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn install_upgrade_rollback_uninstall_keep_history_and_objects_in_step() {
    let (_server, c) = start().await;

    let r1 = install(&c, &deploy("web", &[])).await.unwrap();
    assert_eq!((r1.version, r1.info.status), (1, Status::Deployed));
    assert_eq!(r1.info.notes.trim(), "web says hello.");
    let main = live(&c, "default", "web-main")
        .await
        .expect("web-main created");
    assert_eq!(main["data"]["greeting"], "hello");
    assert_eq!(
        main["metadata"]["labels"]["app.kubernetes.io/managed-by"],
        "Helm"
    );
    assert_eq!(
        main["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "web"
    );
    assert_eq!(
        main["metadata"]["annotations"]["meta.helm.sh/release-namespace"],
        "default"
    );
    let managers: Vec<&str> = main["metadata"]["managedFields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["manager"].as_str().unwrap())
        .collect();
    assert_eq!(managers, ["rudder"], "applied server-side as rudder");

    let r2 = upgrade(&c, &deploy("web", &["greeting=hi", "extra=true"]))
        .await
        .unwrap();
    assert_eq!(r2.version, 2);
    assert_eq!(
        live(&c, "default", "web-main").await.unwrap()["data"]["greeting"],
        "hi"
    );
    assert!(live(&c, "default", "web-extra").await.is_some());

    // Revision 3 drops the extra ConfigMap: it is pruned.
    upgrade(&c, &deploy("web", &["greeting=hi", "extra=false"]))
        .await
        .unwrap();
    assert!(live(&c, "default", "web-extra").await.is_none(), "pruned");

    // Rolling back to 2 restores its manifest exactly, re-creating the pruned object.
    let r4 = rollback(
        &c,
        &RollbackOptions {
            revision: 2,
            history_max: 10,
            ..rollback_options("web")
        },
    )
    .await
    .unwrap();
    assert_eq!(r4.version, 4);
    assert_eq!(
        r4.config,
        json!({"greeting": "hi", "extra": true})
            .as_object()
            .unwrap()
            .clone()
    );
    assert!(
        live(&c, "default", "web-extra").await.is_some(),
        "re-created"
    );
    assert_eq!(
        statuses(&c, "web").await,
        vec![
            (1, Status::Superseded, "Install complete".into()),
            (2, Status::Superseded, "Upgrade complete".into()),
            (3, Status::Superseded, "Upgrade complete".into()),
            (4, Status::Deployed, "Rollback to 2".into()),
        ]
    );

    // Rollback without a revision goes to the previous one (3), pruning the extra again.
    rollback(&c, &rollback_options("web")).await.unwrap();
    assert!(live(&c, "default", "web-extra").await.is_none());
    assert_eq!(statuses(&c, "web").await.last().unwrap().2, "Rollback to 3");

    uninstall(
        &c,
        &UninstallOptions {
            keep_history: true,
            ..uninstall_options("web")
        },
    )
    .await
    .unwrap();
    assert!(live(&c, "default", "web-main").await.is_none());
    let history = statuses(&c, "web").await;
    assert_eq!(history.len(), 5);
    assert_eq!(
        history.last().unwrap(),
        &(5, Status::Uninstalled, "Uninstallation complete".into())
    );

    // A second uninstall with --keep-history is refused; without it the records go.
    let err = uninstall(
        &c,
        &UninstallOptions {
            keep_history: true,
            ..uninstall_options("web")
        },
    )
    .await
    .unwrap_err();
    assert_eq!(err.to_string(), "release \"web\" is already uninstalled");
    uninstall(&c, &uninstall_options("web")).await.unwrap();
    assert!(statuses(&c, "web").await.is_empty());
}

#[tokio::test]
async fn keep_policy_survives_prune_and_uninstall() {
    let (_server, c) = start().await;
    install(&c, &deploy("k", &["kept=true"])).await.unwrap();
    upgrade(&c, &deploy("k", &["kept=false"])).await.unwrap();
    assert!(
        live(&c, "default", "k-kept").await.is_some(),
        "kept on prune"
    );
    upgrade(&c, &deploy("k", &["kept=true"])).await.unwrap();
    let done = uninstall(&c, &uninstall_options("k")).await.unwrap();
    assert_eq!(done.kept, vec![cm("default", "k-kept")]);
    assert!(live(&c, "default", "k-kept").await.is_some());
    assert!(live(&c, "default", "k-main").await.is_none());
}

#[tokio::test]
async fn objects_of_no_release_or_another_release_are_not_taken_silently() {
    let (_server, c) = start().await;
    let opts = rudder::kube::ApplyOptions {
        field_manager: "kubectl".into(),
        ..Default::default()
    };
    c.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "own-main", "namespace": "default"},
                "data": {"greeting": "hand-made"}}),
        &opts,
    )
    .await
    .unwrap();
    let err = install(&c, &deploy("own", &[])).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "ConfigMap \"own-main\" in namespace \"default\" exists and cannot be imported into release \"own\": it belongs to no release; rerun with --take-ownership to adopt it"
    );
    assert!(statuses(&c, "own").await.is_empty(), "nothing recorded");
    assert_eq!(
        live(&c, "default", "own-main").await.unwrap()["data"]["greeting"],
        "hand-made",
        "nothing touched"
    );

    // Another release's object.
    c.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "mine-main", "namespace": "default",
                    "labels": {"app.kubernetes.io/managed-by": "Helm"},
                    "annotations": {"meta.helm.sh/release-name": "theirs",
                                    "meta.helm.sh/release-namespace": "default"}},
                "data": {"greeting": "theirs"}}),
        &opts,
    )
    .await
    .unwrap();
    let err = install(&c, &deploy("mine", &[])).await.unwrap_err();
    assert!(
        err.to_string()
            .contains("it belongs to release \"theirs\" in namespace \"default\""),
        "{err}"
    );

    // --take-ownership adopts it, but the field owned by kubectl with another value is a
    // conflict until --force-conflicts.
    let mut adopt = deploy("own", &[]);
    adopt.settings.take_ownership = true;
    let err = install(&c, &adopt).await.unwrap_err();
    let text = err.to_string();
    assert!(text.contains("conflict"), "{text}");
    assert!(text.contains("kubectl"), "names the other manager: {text}");
    assert!(text.contains(".data.greeting"), "names the field: {text}");
    assert!(text.contains("--force-conflicts"), "{text}");
    assert_eq!(
        statuses(&c, "own").await,
        vec![(
            1,
            Status::Failed,
            format!("Release \"own\" failed: {}", cause_of(&err))
        )]
    );
    adopt.settings.force_conflicts = true;
    // As with helm, the name of a failed release is in use until --replace.
    let err = install(&c, &adopt).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot re-use a name that is still in use"),
        "{err}"
    );
    adopt.replace = true;
    let r = install(&c, &adopt).await.unwrap();
    assert_eq!(r.version, 2, "the failed install's name is reused");
    let obj = live(&c, "default", "own-main").await.unwrap();
    assert_eq!(obj["data"]["greeting"], "hello");
    assert_eq!(
        obj["metadata"]["annotations"]["meta.helm.sh/release-name"],
        "own"
    );
}

fn cause_of(err: &ReleaseError) -> String {
    match err {
        ReleaseError::Failed { cause, .. } => cause.to_string(),
        other => panic!("expected a failed operation, got {other}"),
    }
}

#[tokio::test]
async fn a_chart_that_fails_to_render_writes_nothing_and_touches_nothing() {
    let (_server, c) = start().await;
    let err = install(&c, &deploy("bad", &["broken=true"]))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("the chart was asked to fail"),
        "{err}"
    );
    assert!(statuses(&c, "bad").await.is_empty());
    assert!(live(&c, "default", "bad-main").await.is_none());

    install(&c, &deploy("bad", &[])).await.unwrap();
    let err = upgrade(&c, &deploy("bad", &["broken=true", "greeting=changed"]))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("app/templates/main.yaml"),
        "names the template: {err}"
    );
    assert_eq!(
        statuses(&c, "bad").await,
        vec![(1, Status::Deployed, "Install complete".into())]
    );
    assert_eq!(
        live(&c, "default", "bad-main").await.unwrap()["data"]["greeting"],
        "hello"
    );
}

#[tokio::test]
async fn missing_releases_and_revisions_are_named() {
    let (_server, c) = start().await;
    let err = upgrade(&c, &deploy("ghost", &[])).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "\"ghost\" has no deployed releases in namespace \"default\""
    );
    let err = rollback(
        &c,
        &RollbackOptions {
            name: "ghost".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "release \"ghost\" not found in namespace \"default\""
    );
    install(&c, &deploy("real", &[])).await.unwrap();
    let err = rollback(
        &c,
        &RollbackOptions {
            name: "real".into(),
            revision: 7,
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "release \"real\" has no revision 7 (revisions: 1)"
    );
    let err = install(&c, &deploy("real", &[])).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("cannot re-use a name that is still in use"),
        "{err}"
    );
    let err = install(&c, &deploy("Not_Valid", &[])).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("invalid release name \"Not_Valid\"")
    );
    // upgrade --install installs.
    let mut opts = deploy("fresh", &[]);
    opts.install = true;
    let r = upgrade(&c, &opts).await.unwrap();
    assert_eq!(
        (r.version, r.info.description.as_str()),
        (1, "Install complete")
    );
}

#[tokio::test]
async fn objects_the_api_server_rejects_fail_the_revision_with_the_field_causes() {
    let (_server, c) = start().await;
    install(&c, &deploy("v", &[])).await.unwrap();
    let err = upgrade(&c, &deploy("v", &["invalid=true"]))
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        text.starts_with("upgrade of release \"v\" failed: "),
        "{text}"
    );
    assert!(
        text.contains("v-Not_A_Valid_Name"),
        "names the object: {text}"
    );
    assert!(text.contains("metadata.name"), "names the field: {text}");
    let history = statuses(&c, "v").await;
    assert_eq!(
        history[0].1,
        Status::Deployed,
        "the previous revision is untouched"
    );
    assert_eq!(history[1].1, Status::Failed);
    assert!(history[1].2.starts_with("Upgrade \"v\" failed: "));
}

#[tokio::test]
async fn history_max_deletes_the_oldest_revisions() {
    let (_server, c) = start().await;
    install(&c, &deploy("h", &[])).await.unwrap();
    for i in 0..4 {
        let mut opts = deploy("h", &[&format!("greeting=g{i}")]);
        opts.history_max = 3;
        upgrade(&c, &opts).await.unwrap();
    }
    let versions: Vec<u64> = statuses(&c, "h").await.iter().map(|s| s.0).collect();
    assert_eq!(versions, vec![3, 4, 5]);
}

#[tokio::test]
async fn forbidden_rejected_and_unreachable_clusters_are_clear_errors() {
    let server = kubesim::Server::builder()
        .user(alice())
        .user(kubesim::User {
            name: "bob".into(),
            token: "bob-token".into(),
            namespaces: None,
            verbs: Some(vec!["get".into(), "list".into(), "watch".into()]),
        })
        .start()
        .await
        .unwrap();
    let alice = connect_with(&server, Some("kubesim-alice"), Some("team-b")).await;
    let err = install(&alice, &deploy("x", &[])).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("forbidden: cannot list Secret in namespace \"team-b\""),
        "{err}"
    );

    // A user who may read but not write: the apply is refused, naming verb, kind and
    // namespace, and the claimed revision records the failure.
    let reader = connect_with(&server, Some("kubesim-bob"), Some("default")).await;
    let err = install(&reader, &deploy("ro", &[])).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("forbidden: cannot create Secret in namespace \"default\""),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("kubeconfig");
    let text = std::fs::read_to_string(server.kubeconfig_path()).unwrap();
    let stranger = dir.path().join("stranger");
    std::fs::write(
        &stranger,
        text.replace(server.admin_token(), "not-a-valid-token"),
    )
    .unwrap();
    let rejected = connect(&ConnectOptions {
        kubeconfig: Some(stranger),
        ..Default::default()
    })
    .await
    .unwrap();
    let err = install(&rejected.into(), &deploy("x", &[]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "the Kubernetes cluster at {} rejected the credentials (401 Unauthorized); check the user of the current kubeconfig context",
            server.url()
        )
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    std::fs::write(
        &kubeconfig,
        text.replace(&server.url(), &format!("https://127.0.0.1:{port}")),
    )
    .unwrap();
    let mut away = connect(&ConnectOptions {
        kubeconfig: Some(kubeconfig),
        ..Default::default()
    })
    .await
    .unwrap();
    away.retry.attempts = 2;
    let err = install(&away.into(), &deploy("x", &[])).await.unwrap_err();
    assert!(
        err.to_string().starts_with(&format!(
            "Kubernetes cluster unreachable at https://127.0.0.1:{port}"
        )),
        "{err}"
    );
}

#[tokio::test]
async fn transient_faults_are_retried() {
    let (server, c) = start().await;
    install(&c, &deploy("t", &[])).await.unwrap();
    server.faults().fail_next(2, 503);
    server.faults().fail_next(1, 429);
    server.faults().fail_next(1, 500);
    server.faults().drop_next(1);
    let r = upgrade(&c, &deploy("t", &["greeting=again"]))
        .await
        .unwrap();
    assert_eq!(r.info.status, Status::Deployed);
    assert_eq!(
        statuses(&c, "t")
            .await
            .iter()
            .map(|s| s.1)
            .collect::<Vec<_>>(),
        vec![Status::Superseded, Status::Deployed]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_upgrades_claim_each_revision_once() {
    let (_server, c) = start().await;
    install(&c, &deploy("race", &[])).await.unwrap();
    // Ten independent tasks (operations are `Send`), all racing for revision 2.
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let c = c.clone();
            tokio::spawn(async move {
                upgrade(&c, &deploy("race", &[&format!("greeting=writer{i}")])).await
            })
        })
        .collect();
    let mut results = Vec::new();
    for t in tasks {
        results.push(t.await.unwrap());
    }
    let mut won = 0;
    for result in results {
        match result {
            Ok(_) => won += 1,
            // The loser is told who holds the release, or that the winner finished first.
            Err(e) => assert!(
                e.to_string()
                    .starts_with("another operation is in progress on race (started by ")
                    || e.to_string().starts_with(
                        "another operation on release \"race\" finished while this upgrade was starting"
                    ),
                "{e}"
            ),
        }
    }
    assert!(won >= 1);
    let history = statuses(&c, "race").await;
    let versions: Vec<u64> = history.iter().map(|s| s.0).collect();
    assert_eq!(
        versions,
        (1..=won as u64 + 1).collect::<Vec<_>>(),
        "no gaps, no doubles"
    );
    assert_eq!(
        history.iter().filter(|s| s.1 == Status::Deployed).count(),
        1
    );
    assert!(
        history
            .iter()
            .all(|s| matches!(s.1, Status::Deployed | Status::Superseded))
    );
}

#[tokio::test]
async fn a_stale_pending_revision_is_marked_failed_and_the_next_operation_proceeds() {
    let (_server, c) = start().await;
    let first = install(&c, &deploy("stuck", &[])).await.unwrap();
    let storage = Storage::new(&c, "default");
    // A crashed upgrade: revision 2 pending, its last heartbeat long ago.
    let mut pending = first.clone();
    pending.version = 2;
    pending.info.status = Status::PendingUpgrade;
    let holder = rudder::storage::Holder {
        holder: "ci@runner-7 pid 4242".into(),
        started: "2026-01-01T00:00:00Z".into(),
    };
    storage.create(&pending, Some(&holder)).await.unwrap();

    // A fresh heartbeat means the operation is alive: refused, naming the holder.
    storage.heartbeat("stuck", 2).await.unwrap();
    let err = upgrade(&c, &deploy("stuck", &["greeting=x"]))
        .await
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "another operation is in progress on stuck (started by ci@runner-7 pid 4242 at 2026-01-01T00:00:00Z)"
    );

    // Stale heartbeat: the next upgrade marks it failed with an explanation and proceeds.
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(c.client.clone(), "default");
    secrets
        .patch(
            "sh.helm.release.v1.stuck.v2",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(json!({"metadata": {"annotations": {
                "rudder.dev/heartbeat": "2026-01-01T00:00:00Z"}}})),
        )
        .await
        .unwrap();
    let r = upgrade(&c, &deploy("stuck", &["greeting=x"]))
        .await
        .unwrap();
    assert_eq!(r.version, 3);
    let history = statuses(&c, "stuck").await;
    assert_eq!(history[1].1, Status::Failed);
    assert!(
        history[1]
            .2
            .contains("ci@runner-7 pid 4242 stopped without finishing"),
        "{}",
        history[1].2
    );
    assert_eq!(history[2].1, Status::Deployed);
}

#[tokio::test]
async fn dry_runs_write_nothing() {
    let (_server, c) = start().await;
    for mode in [
        rudder::action::lifecycle::DryRun::Client,
        rudder::action::lifecycle::DryRun::Server,
    ] {
        let mut opts = deploy("dry", &[]);
        opts.dry_run = mode;
        let r = install(&c, &opts).await.unwrap();
        assert_eq!(r.info.description, "Dry run complete");
        assert!(r.manifest.contains("name: dry-main"));
        assert!(statuses(&c, "dry").await.is_empty());
        assert!(live(&c, "default", "dry-main").await.is_none());
    }
    let mut opts = deploy("dry", &["invalid=true"]);
    opts.dry_run = rudder::action::lifecycle::DryRun::Server;
    let err = install(&c, &opts).await.unwrap_err();
    assert!(
        err.to_string().contains("metadata.name"),
        "server dry-run validates: {err}"
    );
}

/// A chart holding 3 MiB of ConfigMap data (four ConfigMaps of 768 KiB of incompressible
/// text), written to a temporary directory.
fn big_chart(dir: &std::path::Path, salt: &str) -> PathBuf {
    release_support::big_chart(&dir.join("big"), salt, 4)
}

#[tokio::test]
async fn releases_bigger_than_a_secret_install_upgrade_and_roll_back() {
    let (_server, c) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut opts = deploy("big", &[]);
    opts.chart = big_chart(dir.path(), "one");
    install(&c, &opts).await.unwrap();
    opts.chart = big_chart(&dir.path().join("v2"), "two");
    upgrade(&c, &opts).await.unwrap();
    rollback(
        &c,
        &RollbackOptions {
            revision: 1,
            ..rollback_options("big")
        },
    )
    .await
    .unwrap();
    let cm0 = live(&c, "default", "big-0").await.unwrap();
    assert_eq!(cm0["data"]["salt"], "one", "revision 1's objects are back");

    // No Secret holds more than 1 MiB; the full record reads back.
    let secrets: kube::Api<k8s_openapi::api::core::v1::Secret> =
        kube::Api::namespaced(c.client.clone(), "default");
    let all = secrets.list(&Default::default()).await.unwrap();
    let mut parts = 0;
    for s in &all.items {
        let size: usize = s
            .data
            .as_ref()
            .map(|d| d.values().map(|v| v.0.len()).sum())
            .unwrap_or(0);
        assert!(
            size <= 1_048_576,
            "{:?} holds {size} bytes",
            s.metadata.name
        );
        if s.type_.as_deref() == Some(rudder::storage::PART_TYPE) {
            parts += 1;
        }
    }
    assert!(parts >= 6, "three big revisions are split ({parts} parts)");
    let storage = Storage::new(&c, "default");
    let r3 = storage.get("big", 3).await.unwrap();
    assert!(r3.manifest.len() > 3_000_000);
    assert_eq!(r3.info.description, "Rollback to 1");
    assert_eq!(r3.chart.unwrap().templates.len(), 4);

    // Uninstall removes every part too.
    uninstall(&c, &uninstall_options("big")).await.unwrap();
    let left = secrets.list(&Default::default()).await.unwrap();
    assert!(
        left.items
            .iter()
            .all(|s| s.type_.as_deref() != Some(rudder::storage::PART_TYPE)),
        "parts deleted"
    );
}

#[tokio::test]
async fn list_shows_the_latest_revision_of_each_release_filtered_like_helm() {
    use rudder::action::list::{ListOptions, releases};
    let server = kubesim::Server::start().await.unwrap();
    let one = cluster_for(&server, "default").await;
    let mut other_ns = deploy("c", &[]);
    other_ns.create_namespace = true;
    let two = cluster_for(&server, "two").await;
    install(&one, &deploy("a", &[])).await.unwrap();
    upgrade(&one, &deploy("a", &["greeting=again"]))
        .await
        .unwrap();
    install(&one, &deploy("b", &[])).await.unwrap();
    upgrade(&one, &deploy("b", &["invalid=true"]))
        .await
        .unwrap_err();
    install(&two, &other_ns).await.unwrap();
    uninstall(
        &two,
        &UninstallOptions {
            keep_history: true,
            ..uninstall_options("c")
        },
    )
    .await
    .unwrap();
    let show = |rs: Vec<rudder::storage::Release>| -> Vec<(String, u64, Status)> {
        rs.into_iter()
            .map(|r| (r.name, r.version, r.info.status))
            .collect()
    };
    assert_eq!(
        show(releases(&one, &ListOptions::default()).await.unwrap()),
        vec![
            ("a".into(), 2, Status::Deployed),
            ("b".into(), 2, Status::Failed)
        ]
    );
    let all = ListOptions {
        all_namespaces: true,
        all: true,
        ..Default::default()
    };
    assert_eq!(
        show(releases(&one, &all).await.unwrap()),
        vec![
            ("a".into(), 2, Status::Deployed),
            ("b".into(), 2, Status::Failed),
            ("c".into(), 1, Status::Uninstalled)
        ]
    );
    let deployed = ListOptions {
        all_namespaces: true,
        deployed: true,
        filter: Some("^[ab]$".into()),
        ..Default::default()
    };
    assert_eq!(
        show(releases(&one, &deployed).await.unwrap()),
        vec![("a".into(), 2, Status::Deployed)]
    );
    let bad = ListOptions {
        filter: Some("(".into()),
        ..Default::default()
    };
    assert!(
        releases(&one, &bad)
            .await
            .unwrap_err()
            .to_string()
            .starts_with("--filter: invalid regular expression")
    );
}

#[tokio::test]
async fn crds_are_installed_first_and_established_before_their_resources() {
    let (_server, c) = start().await;
    let mut opts = deploy("w", &[]);
    opts.chart = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/release/crd-app");
    install(&c, &opts).await.unwrap();
    let crd = c
        .get(&ObjectRef {
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            namespace: None,
            name: "widgets.example.com".into(),
        })
        .await
        .unwrap()
        .expect("the CRD from crds/ is installed");
    assert!(
        crd["status"]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["type"] == "Established" && c["status"] == "True")
    );
    let widget = ObjectRef {
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        namespace: Some("default".into()),
        name: "w-widget".into(),
    };
    let live_widget = c
        .get(&widget)
        .await
        .unwrap()
        .expect("the Widget is created");
    assert_eq!(live_widget["spec"]["size"], 3);
    // Templates see the kinds of crds/ in Capabilities, as with helm (the chart is
    // rendered again once its CRDs exist).
    assert!(live(&c, "default", "w-widgets-served").await.is_some());
    upgrade(&c, &opts).await.unwrap();
    assert!(live(&c, "default", "w-widgets-served").await.is_some());

    uninstall(&c, &uninstall_options("w")).await.unwrap();
    assert!(c.get(&widget).await.unwrap().is_none(), "the Widget goes");
    assert!(
        c.get(&ObjectRef {
            api_version: "apiextensions.k8s.io/v1".into(),
            kind: "CustomResourceDefinition".into(),
            namespace: None,
            name: "widgets.example.com".into(),
        })
        .await
        .unwrap()
        .is_some(),
        "CRDs from crds/ stay, as with helm"
    );
}

#[tokio::test]
async fn rollback_and_uninstall_dry_runs_change_nothing_and_uninstall_wait_sees_objects_gone() {
    let (_server, c) = start().await;
    install(&c, &deploy("d", &["extra=true"])).await.unwrap();
    upgrade(&c, &deploy("d", &["extra=false"])).await.unwrap();
    let r = rollback(
        &c,
        &RollbackOptions {
            dry_run: true,
            ..rollback_options("d")
        },
    )
    .await
    .unwrap();
    assert_eq!(
        (r.version, r.info.description.as_str()),
        (3, "Dry run complete")
    );
    assert!(live(&c, "default", "d-extra").await.is_none());
    assert_eq!(statuses(&c, "d").await.len(), 2);
    uninstall(
        &c,
        &UninstallOptions {
            dry_run: true,
            ..uninstall_options("d")
        },
    )
    .await
    .unwrap();
    assert!(live(&c, "default", "d-main").await.is_some());
    assert_eq!(statuses(&c, "d").await.len(), 2);
    let mut wait = settings();
    wait.wait = true;
    uninstall(
        &c,
        &UninstallOptions {
            name: "d".into(),
            settings: wait,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert!(live(&c, "default", "d-main").await.is_none());
    let err = uninstall(&c, &uninstall_options("d")).await.unwrap_err();
    assert_eq!(
        err.to_string(),
        "release \"d\" not found in namespace \"default\""
    );
}

/// Issue: `rudder uninstall web & rudder upgrade web` both exited 0, the release said
/// "deployed" and its objects were gone. Now every verb claims the release the same way:
/// whatever the interleaving, a release that has a deployed revision has its objects, one
/// without records has none, and a loser is told why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn uninstall_racing_an_upgrade_leaves_a_consistent_release() {
    let (_server, c) = start().await;
    for round in 0..6 {
        let name = format!("race{round}");
        install(&c, &deploy(&name, &[])).await.unwrap();
        let delay = std::time::Duration::from_millis(round * 7);
        let removal = uninstall_options(&name);
        let (removed, upgraded) = tokio::join!(uninstall(&c, &removal), async {
            tokio::time::sleep(delay).await;
            upgrade(&c, &deploy(&name, &["greeting=new"])).await
        });
        for err in [
            removed.err().map(|e| e.to_string()),
            upgraded.err().map(|e| e.to_string()),
        ]
        .into_iter()
        .flatten()
        {
            assert!(
                err.contains("another operation is in progress")
                    || err.contains("finished while this")
                    || err.contains("was uninstalled by another operation")
                    || err.contains("has no deployed releases"),
                "the loser is told why: {err}"
            );
        }
        let history = c.storage.history_stored(&name).await.unwrap();
        let deployed = history
            .iter()
            .filter(|s| s.release.info.status == Status::Deployed)
            .count();
        assert!(
            deployed <= 1,
            "round {round}: {deployed} deployed revisions"
        );
        let object = live(&c, "default", &format!("{name}-main")).await;
        assert_eq!(
            deployed == 1,
            object.is_some(),
            "round {round}: deployed revisions {deployed}, live object {object:?}"
        );
    }
}

/// Issue: installing into a namespace that does not exist said `Secret
/// "sh.helm.release.v1…" not found`.
#[tokio::test]
async fn a_missing_namespace_is_named_with_the_flag_that_creates_it() {
    let (server, _c) = start().await;
    let away = cluster_for(&server, "nowhere").await;
    let err = install(&away, &deploy("x", &[]))
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("namespace \"nowhere\" not found"), "{err}");
    assert!(err.contains("--create-namespace"), "{err}");
}

const GADGET_CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gadgets.example.com
spec:
  group: example.com
  names: {kind: Gadget, plural: gadgets, singular: gadget, listKind: GadgetList}
  scope: Cluster
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
";

#[tokio::test]
async fn a_kind_the_cluster_does_not_serve_is_refused_before_anything_is_written() {
    let (_server, c) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let crd = object(
        "apiextensions.k8s.io/v1",
        "CustomResourceDefinition",
        "gadgets.example.com",
    );
    let crd = ObjectRef {
        namespace: None,
        ..crd
    };
    let settings_cm = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}-settings\ndata: {a: '1'}\n";
    let gizmo = "apiVersion: example.com/v1\nkind: Gizmo\nmetadata:\n  name: g\nspec: {}\n";
    let bad = write_chart(
        dir.path(),
        "bad",
        [
            ("crds/gadgets.yaml", GADGET_CRD),
            ("templates/settings.yaml", settings_cm),
            ("templates/gizmo.yaml", gizmo),
        ],
    );
    let opts = deploy_options("k", bad.clone(), &[], settings());
    let err = install(&c, &opts).await.unwrap_err().to_string();
    assert_eq!(
        err,
        "bad/templates/gizmo.yaml: the cluster does not serve kind Gizmo in apiVersion example.com/v1 \
         and no CRD of the chart defines it; install its CRD first (nothing was changed)"
    );
    assert!(statuses(&c, "k").await.is_empty(), "no revision is stored");
    assert!(live(&c, "default", "k-settings").await.is_none());
    assert!(
        c.get(&crd).await.unwrap().is_none(),
        "not even the chart's crds/ are installed"
    );

    // A kind defined by a CRD of the release itself is applied after its CRD, with the
    // CRD's scope (here cluster-scoped), in templates as well as in crds/.
    let gadget = "apiVersion: example.com/v1\nkind: Gadget\nmetadata:\n  name: {{ Release.Name }}-gadget\nspec: {size: 2}\n";
    let good = write_chart(
        dir.path(),
        "good",
        [
            ("templates/crd.yaml", GADGET_CRD),
            ("templates/settings.yaml", settings_cm),
            ("templates/gadget.yaml", gadget),
        ],
    );
    let opts = deploy_options("k", good.clone(), &[], settings());
    install(&c, &opts).await.unwrap();
    let live_gadget = c
        .get(&ObjectRef {
            namespace: None,
            ..object("example.com/v1", "Gadget", "k-gadget")
        })
        .await
        .unwrap()
        .expect("the Gadget is created, cluster-scoped");
    assert_eq!(live_gadget["spec"]["size"], 2);
    assert!(live_gadget["metadata"].get("namespace").is_none());

    // An upgrade bringing an unknown kind changes nothing either.
    std::fs::copy(
        bad.join("templates/gizmo.yaml"),
        good.join("templates/gizmo.yaml"),
    )
    .unwrap();
    std::fs::write(
        good.join("templates/settings.yaml"),
        settings_cm.replace("'1'", "'2'"),
    )
    .unwrap();
    let err = upgrade(&c, &opts).await.unwrap_err().to_string();
    assert!(
        err.starts_with("good/templates/gizmo.yaml: the cluster does not serve kind Gizmo"),
        "{err}"
    );
    assert_eq!(
        statuses(&c, "k").await,
        vec![(1, Status::Deployed, "Install complete".into())]
    );
    assert_eq!(
        live(&c, "default", "k-settings").await.unwrap()["data"]["a"],
        "1"
    );
}

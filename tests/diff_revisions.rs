//! `rudder diff rollback|revision|release` against kubesim, with golden outputs: what a
//! rollback would change, two stored revisions compared, drift after another manager's
//! patch or a deleted object, and bad input named in one error line.

mod diff_support;
mod release_support;

use diff_support::*;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::json;

#[tokio::test]
async fn diff_rollback_shows_what_rolling_back_would_change() {
    let server = server().await;
    let c = cluster(&server).await;
    install_release(&c, "shop", &[]).await;
    upgrade_release(&c, "shop", &["image.tag=1.26", "extra=true"]).await;
    let run = rudder(&server, &["diff", "rollback", "shop"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    golden("rollback.txt", &run.stdout);
    // Naming the revision explicitly gives the same answer.
    let explicit = rudder(&server, &["diff", "rollback", "shop", "1"]);
    assert_eq!(explicit.stdout, run.stdout);
    let latest = rudder(
        &server,
        &["diff", "rollback", "shop", "2", "--detailed-exitcode"],
    );
    assert_eq!(
        latest.code, 0,
        "rolling back to what is live changes nothing"
    );
}

#[tokio::test]
async fn diff_revision_compares_stored_manifests() {
    let server = server().await;
    let c = cluster(&server).await;
    install_release(&c, "shop", &[]).await;
    upgrade_release(&c, "shop", &["logLevel=debug", "legacy=false"]).await;
    let run = rudder(&server, &["diff", "revision", "shop", "1", "2"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    golden("revision.txt", &run.stdout);
    let default_latest = rudder(&server, &["diff", "revision", "shop", "1"]);
    assert_eq!(default_latest.stdout, run.stdout);
    let reverse = rudder(
        &server,
        &["diff", "revision", "shop", "2", "1", "--output", "simple"],
    );
    golden("revision-reverse-simple.txt", &reverse.stdout);
}

#[tokio::test]
async fn diff_release_shows_drift_after_another_managers_patch() {
    let server = server().await;
    let c = cluster(&server).await;
    install_release(&c, "shop", &[]).await;
    let clean = rudder(&server, &["diff", "release", "shop", "--detailed-exitcode"]);
    assert_eq!(
        clean.code, 0,
        "no drift yet: {}{}",
        clean.stdout, clean.stderr
    );

    // `kubectl patch`/`kubectl scale`-style changes by another field manager, and a
    // deleted object.
    let deployments = Api::<DynamicObject>::namespaced_with(
        c.client.clone(),
        "default",
        &ApiResource::from_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment")),
    );
    let params = PatchParams {
        field_manager: Some("kubectl-patch".into()),
        ..Default::default()
    };
    deployments
        .patch(
            "shop-web",
            &params,
            &Patch::Merge(json!({"spec": {"replicas": 7}})),
        )
        .await
        .unwrap();
    c.delete(
        &rudder::kube::ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("default".into()),
            name: "shop-legacy".into(),
        },
        false,
    )
    .await
    .unwrap();

    let run = rudder(&server, &["diff", "release", "shop", "--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    golden("drift.txt", &run.stdout);
    let lines = changed_lines(&run.stdout);
    let replicas: Vec<&&str> = lines.iter().filter(|l| l.contains("replicas")).collect();
    assert_eq!(replicas, [&"-   replicas: 2", &"+   replicas: 7"]);
    assert!(
        run.stdout
            .contains("default, shop-legacy, ConfigMap (v1) has been removed:\n"),
        "{}",
        run.stdout
    );
}

#[tokio::test]
async fn bad_input_is_one_error_naming_it() {
    let server = server_with_shop(&[]).await;
    for (args, names) in [
        (vec!["diff", "rollback", "ghost"], "\"ghost\""),
        (vec!["diff", "release", "ghost"], "\"ghost\""),
        (vec!["diff", "revision", "shop", "9"], "revision 9"),
        (vec!["diff", "rollback", "shop"], "no revision before 1"),
    ] {
        let run = rudder(&server, &args);
        assert_eq!(run.code, 1, "{args:?}: {}", run.stdout);
        let errors = run.lines("Error:");
        assert_eq!(errors.len(), 1, "{args:?}: {}", run.stderr);
        assert!(errors[0].contains(names), "{args:?}: {}", errors[0]);
        assert_eq!(run.stdout, "", "{args:?}");
    }
    let chart = rudder(&server, &["diff", "upgrade", "shop", "/nonexistent/chart"]);
    assert_eq!(chart.code, 1);
    assert!(
        chart.stderr.contains("/nonexistent/chart"),
        "{}",
        chart.stderr
    );
}

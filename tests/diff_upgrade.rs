//! `rudder diff upgrade` against kubesim, with golden outputs: an image change is one line,
//! values touching several objects show exactly those, Secrets stay masked, removed and new
//! templates are removals and additions, fields other managers own show as they would
//! really end up, `--detailed-exitcode` gates CI, and a forbidden dry-run falls back with a
//! note.

mod diff_support;
mod release_support;

use diff_support::*;

#[tokio::test]
async fn an_image_change_differs_in_that_line_only() {
    let server = server_with_shop(&[]).await;
    let run = diff_upgrade(&server, "shop", &["--set", "image.tag=1.26"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        changed_lines(&run.stdout),
        ["-         image: nginx:1.25", "+         image: nginx:1.26"]
    );
    golden("image.txt", &run.stdout);
}

#[tokio::test]
async fn values_touching_several_objects_change_exactly_those() {
    let server = server_with_shop(&[]).await;
    let run = diff_upgrade(
        &server,
        "shop",
        &["--set", "logLevel=debug", "--output", "simple"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    golden("several-simple.txt", &run.stdout);
    let run = diff_upgrade(&server, "shop", &["--set", "logLevel=debug", "-C", "1"]);
    golden("several.txt", &run.stdout);
    assert!(!run.stdout.contains("Secret"), "{}", run.stdout);
}

#[tokio::test]
async fn a_secret_change_is_masked_unless_asked() {
    let server = server_with_shop(&[]).await;
    let run = diff_upgrade(&server, "shop", &["--set", "password=hunter22"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    golden("secret-masked.txt", &run.stdout);
    // Neither the new nor the old value, in clear or base64.
    for leaked in ["hunter22", "aHVudGVyMjI", "s3cret", "czNjcmV0", "YWRtaW4"] {
        assert!(!run.stdout.contains(leaked), "{leaked} in {}", run.stdout);
    }
    let shown = diff_upgrade(
        &server,
        "shop",
        &["--set", "password=hunter22", "--show-secrets"],
    );
    assert_eq!(
        changed_lines(&shown.stdout),
        ["-   password: czNjcmV0", "+   password: aHVudGVyMjI="]
    );
    let decoded = diff_upgrade(
        &server,
        "shop",
        &["--set", "password=hunter22", "--show-secrets-decoded"],
    );
    assert_eq!(
        changed_lines(&decoded.stdout),
        ["-   password: s3cret", "+   password: hunter22"]
    );
}

#[tokio::test]
async fn a_removed_template_is_a_removal_and_a_new_one_an_addition() {
    let server = server_with_shop(&[]).await;
    let run = diff_upgrade(&server, "shop", &["--set", "legacy=false,extra=true"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    golden("add-remove.txt", &run.stdout);
    let json = diff_upgrade(
        &server,
        "shop",
        &["--set", "legacy=false,extra=true", "--output", "json"],
    );
    let items: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let summary: Vec<(String, String)> = items
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["name"].as_str().unwrap().to_string(),
                i["action"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("shop-extra".to_string(), "add".to_string()),
            ("shop-legacy".to_string(), "remove".to_string())
        ]
    );
    assert_eq!(items[0]["kind"], "ConfigMap");
    assert_eq!(items[0]["apiVersion"], "v1");
    assert_eq!(items[0]["namespace"], "default");
    assert!(
        items[0]["diff"]
            .as_str()
            .unwrap()
            .contains("+   feature: \"on\"")
    );
}

#[tokio::test]
async fn replicas_owned_by_another_manager_show_as_they_would_end_up() {
    let server = server().await;
    let c = cluster(&server).await;
    install_release(&c, "scaled", &[]).await;
    install_release(&c, "fixed", &[]).await;
    // An autoscaler takes .spec.replicas of "scaled" over.
    take_replicas(&c, "scaled-web", 5, "hpa-controller").await;
    // The chart stops setting replicas and adds an HPA.
    let scaled = diff_upgrade(&server, "scaled", &["--set", "autoscaling=true"]);
    assert_eq!(scaled.code, 0, "{}", scaled.stderr);
    golden("replicas-owned-elsewhere.txt", &scaled.stdout);
    assert!(
        !scaled.stdout.contains("Deployment (apps/v1)"),
        "the autoscaler keeps its 5 replicas: {}",
        scaled.stdout
    );
    // Without another owner, the field goes back to the API server's default.
    let fixed = diff_upgrade(&server, "fixed", &["--set", "autoscaling=true"]);
    golden("replicas-released.txt", &fixed.stdout);
    assert_eq!(
        changed_lines(&fixed.stdout)[..2],
        ["-   replicas: 2", "+   replicas: 1"]
    );
}

#[tokio::test]
async fn detailed_exitcode_gates_on_changes() {
    let server = server_with_shop(&[]).await;
    let same = diff_upgrade(&server, "shop", &["--detailed-exitcode"]);
    assert_eq!(same.code, 0, "{}", same.stderr);
    assert_eq!(same.stdout, "Plan: 0 to add, 0 to change, 0 to remove.\n");
    let changed = diff_upgrade(
        &server,
        "shop",
        &["--set", "greeting=hi", "--detailed-exitcode"],
    );
    assert_eq!(changed.code, 2, "{}", changed.stderr);
    let without_flag = diff_upgrade(&server, "shop", &["--set", "greeting=hi"]);
    assert_eq!(without_flag.code, 0);
    let error = diff_upgrade(
        &server,
        "shop",
        &[
            "--set",
            "greeting=hi",
            "--detailed-exitcode",
            "-f",
            "/nonexistent/values.yaml",
        ],
    );
    assert_eq!(error.code, 1);
    assert_eq!(error.lines("Error:").len(), 1, "{}", error.stderr);
    assert!(
        error.stderr.contains("/nonexistent/values.yaml"),
        "{}",
        error.stderr
    );
    assert_eq!(error.stdout, "");
}

#[tokio::test]
async fn a_release_that_does_not_exist_shows_everything_added() {
    let server = server().await;
    let run = diff_upgrade(&server, "shop", &["--detailed-exitcode"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    golden("unreleased.txt", &run.stdout);
    assert!(
        run.stdout
            .ends_with("Plan: 4 to add, 0 to change, 0 to remove.\n"),
        "{}",
        run.stdout
    );
    // Nothing was written.
    let c = cluster(&server).await;
    let live = c
        .get(&rudder::kube::ObjectRef {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("default".into()),
            name: "shop-config".into(),
        })
        .await
        .unwrap();
    assert!(live.is_none());
}

#[tokio::test]
async fn a_forbidden_dry_run_falls_back_to_client_side_with_a_note() {
    let server = server_with_shop(&[]).await;
    let run = diff_upgrade(
        &server,
        "shop",
        &[
            "--set",
            "image.tag=1.26",
            "--kube-context",
            "kubesim-viewer",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let notes = run.lines("Note:");
    assert_eq!(notes.len(), 4, "one line per object: {}", run.stderr);
    assert!(
        notes.contains(
            &"Note: Deployment \"shop-web\" in namespace \"default\": server-side dry-run forbidden; compared client-side with the live object".to_string()
        ),
        "{notes:?}"
    );
    // The client-side comparison still finds exactly the image change.
    assert_eq!(
        changed_lines(&run.stdout),
        ["-         image: nginx:1.25", "+         image: nginx:1.26"]
    );
}

#[tokio::test]
async fn colour_follows_the_flags_and_no_color() {
    let server = server_with_shop(&[]).await;
    let always = diff_upgrade(
        &server,
        "shop",
        &["--set", "image.tag=1.26", "--color=always"],
    );
    assert!(
        always
            .stdout
            .contains("\x1b[33mdefault, shop-web, Deployment (apps/v1) has changed:\x1b[0m")
    );
    assert!(
        always
            .stdout
            .contains("\x1b[32m+         image: nginx:1.26\x1b[0m")
    );
    let never = diff_upgrade(
        &server,
        "shop",
        &["--set", "image.tag=1.26", "--color=always", "--no-color"],
    );
    assert_eq!(never.code, 0, "{}", never.stderr);
    assert!(
        never.stdout.contains("+         image: nginx:1.26"),
        "{}",
        never.stdout
    );
    assert!(!never.stdout.contains('\x1b'));
}

#[tokio::test]
async fn a_namespace_that_does_not_exist_yet_shows_the_rendered_objects_added() {
    let server = server().await;
    let run = rudder(
        &server,
        &[
            "diff",
            "upgrade",
            "shop",
            chart().to_str().unwrap(),
            "--namespace",
            "brand-new",
            "--output",
            "simple",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .ends_with("Plan: 4 to add, 0 to change, 0 to remove.\n"),
        "{}",
        run.stdout
    );
    assert_eq!(run.lines("Note:").len(), 4, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("brand-new, shop-web, Deployment (apps/v1) to be added.")
    );
}

#[tokio::test]
async fn fields_another_manager_took_conflict_as_the_upgrade_would() {
    let server = server().await;
    let c = cluster(&server).await;
    install_release(&c, "shop", &[]).await;
    // `kubectl scale`-style: another manager takes .spec.replicas with an ordinary write.
    take_replicas(&c, "shop-web", 7, "kubectl-scale").await;
    let run = diff_upgrade(&server, "shop", &["--detailed-exitcode"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let errors = run.lines("Error:");
    assert_eq!(errors.len(), 1, "{}", run.stderr);
    assert!(
        errors[0].contains("conflict with \"kubectl-scale\"")
            && errors[0].contains("--force-conflicts"),
        "{}",
        errors[0]
    );
    let forced = diff_upgrade(&server, "shop", &["--force-conflicts"]);
    assert_eq!(
        changed_lines(&forced.stdout),
        ["-   replicas: 7", "+   replicas: 2"]
    );
}

#[tokio::test]
async fn values_flags_follow_upgrade_semantics() {
    let server = server_with_shop(&["logLevel=debug"]).await;
    // New values without --reuse-values replace the release's: logLevel goes back to info.
    let reset = diff_upgrade(
        &server,
        "shop",
        &["--set", "image.tag=1.26", "--output", "simple"],
    );
    assert_eq!(
        reset.stdout,
        "default, shop-config, ConfigMap (v1) to be changed.\n\
         default, shop-web, Deployment (apps/v1) to be changed.\n\
         Plan: 0 to add, 2 to change, 0 to remove.\n"
    );
    let reused = diff_upgrade(
        &server,
        "shop",
        &["--set", "image.tag=1.26", "--reuse-values"],
    );
    assert_eq!(
        changed_lines(&reused.stdout),
        ["-         image: nginx:1.25", "+         image: nginx:1.26"]
    );
    // No values at all keep the release's, as helm upgrade does.
    let none = diff_upgrade(&server, "shop", &["--detailed-exitcode"]);
    assert_eq!(none.code, 0, "{}", none.stdout);
    // YAML output carries the same list as JSON.
    let json = diff_upgrade(
        &server,
        "shop",
        &[
            "--reuse-values",
            "--set",
            "image.tag=1.26",
            "--output",
            "json",
        ],
    );
    let yaml = diff_upgrade(
        &server,
        "shop",
        &[
            "--reuse-values",
            "--set",
            "image.tag=1.26",
            "--output",
            "yaml",
        ],
    );
    let from_json: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    let from_yaml: serde_json::Value = serde_yaml::from_str(&yaml.stdout).unwrap();
    assert_eq!(from_json, from_yaml);
    assert_eq!(from_json[0]["action"], "change");
}

#[tokio::test]
async fn upgrade_dry_run_server_prints_the_same_diff_and_changes_nothing() {
    let server = server_with_shop(&[]).await;
    let diff = diff_upgrade(&server, "shop", &["--set", "image.tag=1.26"]);
    let chart = chart();
    let dry = rudder(
        &server,
        &[
            "upgrade",
            "shop",
            chart.to_str().unwrap(),
            "--set",
            "image.tag=1.26",
            "--dry-run=server",
        ],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.stdout, diff.stdout);
    let history = rudder(&server, &["history", "shop", "-o", "json"]);
    assert_eq!(
        history.stdout.matches("\"revision\"").count(),
        1,
        "{}",
        history.stdout
    );
    let again = diff_upgrade(&server, "shop", &["--set", "image.tag=1.26"]);
    assert_eq!(
        again.stdout, diff.stdout,
        "the dry run must not have applied anything"
    );
}

//! `rudder apply -f releases.yaml` against kubesim: 20 releases with `needs`, selectors, an
//! environment and a process variable in the file's templates, and a release failing in
//! the middle (its dependents skipped, the rest deployed); a second run changes nothing;
//! `--destroy` uninstalls everything; bad files are one clear error.

mod release_support;

use std::path::Path;

use release_support::{quiet_settings, rudder_in_default, run, start, write_chart};
use rudder::action::apply::{ApplyOptions, Outcome, destroy, execute, plan};
use rudder::action::config::Configuration;

/// A chart of one ConfigMap carrying `greeting` (and, with `invalid`, a second one the API
/// server refuses), with nothing that changes from one revision to the next.
fn chart(dir: &Path) -> std::path::PathBuf {
    let main = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}-main\ndata:\n  greeting: {{ Values.greeting | default(value=\"hi\") | quote }}\n";
    let invalid = "{%- if Values.invalid %}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}-Not_A_Valid_Name\n{%- endif %}\n";
    write_chart(
        dir,
        "plain",
        [
            ("templates/main.yaml", main),
            ("templates/invalid.yaml", invalid),
        ],
    )
}

/// 20 releases of [`chart`]: `r00`…`r19`, in namespaces `data` (even) and `apps`
/// (odd); `r01`…`r07` a chain of needs; `r05` invalid (the API server refuses it); even
/// ones labelled `tier: data`, odd ones `tier: backend`.
fn releases_file(dir: &Path) -> std::path::PathBuf {
    let chart = chart(dir);
    std::fs::create_dir_all(dir.join("env")).unwrap();
    std::fs::write(dir.join("env/prod.yaml"), "prefix: prod\n").unwrap();
    let mut text = String::from(
        "env: [RUDDER_APPLY_TEST_TAG]
environments:
  prod: {values: [env/prod.yaml]}
releases:
",
    );
    for i in 0..20 {
        let ns = if i % 2 == 0 { "data" } else { "apps" };
        let tier = if i % 2 == 0 { "data" } else { "backend" };
        let needs = if (1..=7).contains(&i) {
            let prev = i - 1;
            let prev_ns = if prev % 2 == 0 { "data" } else { "apps" };
            format!("[{prev_ns}/r{prev:02}]")
        } else {
            "[]".into()
        };
        let invalid = if i == 5 { ", invalid: true" } else { "" };
        text.push_str(&format!(
            "  - name: r{i:02}
    namespace: {ns}
    chart: {}
    needs: {needs}
    labels: {{tier: {tier}}}
    set: {{greeting: \"{{{{ environment.values.prefix }}}}-{{{{ env.RUDDER_APPLY_TEST_TAG }}}}\"{invalid}}}
",
            chart.display()
        ));
    }
    let file = dir.join("releases.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

fn options(file: &Path, selectors: &[&str]) -> ApplyOptions {
    ApplyOptions {
        environment: Some("prod".into()),
        ..plain_options(file, selectors)
    }
}

fn plain_options(file: &Path, selectors: &[&str]) -> ApplyOptions {
    ApplyOptions {
        file: file.to_path_buf(),
        environment: None,
        selectors: selectors.iter().map(|s| s.to_string()).collect(),
        concurrency: 4,
        settings: quiet_settings(),
    }
}

fn statuses(outcomes: &[Outcome]) -> Vec<(String, String)> {
    outcomes
        .iter()
        .map(|o| (o.name.clone(), o.status.clone()))
        .collect()
}

async fn greeting(c: &Configuration, ns: &str, name: &str) -> Option<String> {
    let r = rudder::kube::ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: Some(ns.into()),
        name: format!("{name}-main"),
    };
    c.get(&r)
        .await
        .unwrap()
        .map(|o| o["data"]["greeting"].as_str().unwrap().to_string())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_releases_deploy_in_needs_order_and_a_failure_stops_only_its_dependents() {
    // SAFETY: set before any thread of this test reads the environment.
    unsafe { std::env::set_var("RUDDER_APPLY_TEST_TAG", "v7") };
    let (_server, c) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let file = releases_file(dir.path());

    // Only the backend tier: odd releases; r01's need (r00, not selected) is assumed in place.
    let selected = plan(&c, &options(&file, &["tier=backend"]), false)
        .await
        .unwrap();
    assert_eq!(selected.releases.len(), 10);
    assert!(selected.releases.iter().all(|r| r.namespace == "apps"));

    let all = plan(&c, &options(&file, &[]), false).await.unwrap();
    assert_eq!(all.releases.len(), 20);
    assert_eq!(
        all.counts(),
        (21, 0, 0),
        "a ConfigMap per release, r05 a second one"
    );
    let outcomes = execute(&c, &all, &options(&file, &[])).await;
    let expected: Vec<(String, String)> = (0..20)
        .map(|i| {
            let status = match i {
                5 => "failed",
                6 | 7 => "skipped",
                _ => "deployed",
            };
            (format!("r{i:02}"), status.to_string())
        })
        .collect();
    assert_eq!(statuses(&outcomes), expected);
    assert!(
        outcomes[5].reason.contains("Not_A_Valid_Name"),
        "{:?}",
        outcomes[5]
    );
    assert_eq!(outcomes[6].reason, "needs apps/r05, which did not succeed");
    assert_eq!(outcomes[7].reason, "needs data/r06, which did not succeed");
    // The file's templates saw the environment's values and the listed variable.
    assert_eq!(
        greeting(&c, "data", "r00").await.as_deref(),
        Some("prod-v7")
    );
    assert_eq!(
        greeting(&c, "apps", "r19").await.as_deref(),
        Some("prod-v7")
    );
    assert_eq!(
        greeting(&c, "data", "r06").await,
        None,
        "skipped: nothing applied"
    );

    // A second run: what is deployed is unchanged (not upgraded again).
    let again = plan(&c, &options(&file, &["tier=data"]), false)
        .await
        .unwrap();
    let outcomes = execute(&c, &again, &options(&file, &["tier=data"])).await;
    let unchanged = outcomes.iter().filter(|o| o.status == "unchanged").count();
    assert_eq!(unchanged, 9, "{:?}", statuses(&outcomes));
    assert_eq!(
        outcomes.iter().find(|o| o.name == "r06").unwrap().status,
        "deployed",
        "r06's need (r05) is not selected"
    );

    // --destroy: everything goes, dependents first.
    let gone = plan(&c, &options(&file, &[]), true).await.unwrap();
    let outcomes = destroy(&c, &gone, &options(&file, &[])).await;
    assert!(
        outcomes
            .iter()
            .all(|o| o.status == "uninstalled" || (o.name == "r07" && o.status == "not installed")),
        "{:?}",
        statuses(&outcomes)
    );
    assert_eq!(greeting(&c, "data", "r00").await, None);
}

#[tokio::test]
async fn bad_releases_files_are_one_clear_error_and_change_nothing() {
    let (server, c) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = chart(dir.path());
    let write = |text: String| {
        let file = dir.path().join("bad.yaml");
        std::fs::write(&file, text).unwrap();
        file
    };
    let cases = [
        (
            format!(
                "releases:\n  - {{name: a, chart: {0}, needs: [b]}}\n  - {{name: b, chart: {0}, needs: [a]}}\n",
                chart.display()
            ),
            "needs form a cycle: default/a → default/b → default/a",
        ),
        (
            format!(
                "releases:\n  - {{name: a, chart: {}, needs: [nowhere/x]}}\n",
                chart.display()
            ),
            "release default/a needs nowhere/x, which the file does not define",
        ),
        (
            format!(
                "releases:\n  - {{name: a, chart: {}, set: {{x: \"{{{{ env.HOME }}}}\"}}}}\n",
                chart.display()
            ),
            "only the variables listed under `env:` can be read",
        ),
        (
            "releases:\n  - {name: a, chart: x, colour: red}\n".to_string(),
            "unknown field `colour`",
        ),
    ];
    for (text, message) in cases {
        let file = write(text);
        let err = plan(&c, &plain_options(&file, &[]), false)
            .await
            .unwrap_err()
            .to_string();
        assert!(err.starts_with(&format!("{}: ", file.display())), "{err}");
        assert!(err.contains(message), "{err}");
    }
    // Through the binary: exit 1, one error, and no release exists.
    let out = run(&mut rudder_in_default(
        &server,
        &["apply", "-f", dir.path().join("bad.yaml").to_str().unwrap()],
    ));
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("unknown field `colour`"),
        "{}",
        out.stderr
    );
    assert!(c.storage.list_latest(true, false).await.unwrap().is_empty());
}

#[tokio::test]
async fn the_binary_prints_each_diff_one_plan_and_an_outcome_table() {
    let (server, _c) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = chart(dir.path());
    let file = dir.path().join("releases.yaml");
    std::fs::write(
        &file,
        format!(
            "releases:\n  - {{name: one, chart: {0}}}\n  - {{name: two, chart: {0}, needs: [one]}}\n",
            chart.display()
        ),
    )
    .unwrap();
    let f = file.to_str().unwrap();
    let out = run(&mut rudder_in_default(
        &server,
        &["apply", "-f", f, "--diff-only", "--no-color"],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("=== default/one ("), "{}", out.stdout);
    assert!(
        out.stdout
            .ends_with("Plan: 2 to add, 0 to change, 0 to remove, over 2 release(s).\n"),
        "{}",
        out.stdout
    );
    let out = run(&mut rudder_in_default(
        &server,
        &["apply", "-f", f, "--no-color"],
    ));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(
        out.stdout.contains("NAMESPACE\tNAME\tCHART"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("deployed (revision 1)"),
        "{}",
        out.stdout
    );
    let out = run(&mut rudder_in_default(
        &server,
        &["apply", "-f", f, "-o", "json"],
    ));
    let json: serde_json::Value = serde_json::from_str(out.stdout.lines().last().unwrap()).unwrap();
    assert_eq!(json[0]["status"], "unchanged");
    assert_eq!(json[1]["name"], "two");
}

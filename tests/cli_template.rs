//! `rudder template`, `create`, `lint`, `package` and `show` as a user runs them: flags
//! behave like helm's and the output is what helm users expect.

use std::path::Path;
use std::process::{Command, Output};

fn rudder(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rudder"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

fn stdout_of(dir: &Path, args: &[&str]) -> String {
    let out = rudder(dir, args);
    assert!(
        out.status.success(),
        "rudder {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// A small chart exercising release facts, capabilities, CRDs, hooks and notes.
fn demo_chart() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let files: &[(&str, &str)] = &[
        (
            "Chart.yaml",
            "apiVersion: v2\nname: demo\nversion: 0.1.0\nappVersion: \"2.0\"\nkubeVersion: \">=1.29.0-0\"\nannotations:\n  rudder.io/engine: tera\n",
        ),
        ("values.yaml", "greeting: hello\n"),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}-facts\n  namespace: {{ Release.Namespace }}\ndata:\n  upgrade: {{ Release.IsUpgrade | toString | quote }}\n  kube: {{ Capabilities.KubeVersion.Version | quote }}\n  monitoring: {{ (\"monitoring.coreos.com/v1\" in Capabilities.APIVersions) | toString | quote }}\n",
        ),
        (
            "templates/svc.yaml",
            "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ Release.Name }}\nspec:\n  ports:\n    - port: 80\n",
        ),
        (
            "templates/hook.yaml",
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ Release.Name }}-test\n  annotations:\n    helm.sh/hook: test\nspec:\n  containers: []\n",
        ),
        (
            "templates/NOTES.txt",
            "Say {{ Values.greeting }} to {{ Release.Name }}.",
        ),
        (
            "crds/widget.yaml",
            "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n",
        ),
    ];
    for (path, contents) in files {
        let full = dir.path().join("demo").join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
    }
    dir
}

fn sources(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter_map(|l| l.strip_prefix("# Source: "))
        .collect()
}

#[test]
fn release_name_defaults_like_helm_and_namespace_flag_is_used() {
    let dir = demo_chart();
    let out = stdout_of(dir.path(), &["template", "demo", "-nshop"]);
    assert!(out.contains("name: release-name-facts"), "{out}");
    assert!(out.contains("namespace: shop"), "{out}");
}

#[test]
fn output_orders_kinds_and_puts_hooks_last_without_crds_by_default() {
    let dir = demo_chart();
    let out = stdout_of(dir.path(), &["template", "rel", "demo"]);
    assert_eq!(
        sources(&out),
        vec![
            "demo/templates/cm.yaml",
            "demo/templates/svc.yaml",
            "demo/templates/hook.yaml"
        ]
    );
    assert!(
        out.starts_with("---\n# Source: demo/templates/cm.yaml\napiVersion: v1\n"),
        "{out}"
    );
}

#[test]
fn include_crds_puts_crds_first_and_skip_tests_drops_test_hooks() {
    let dir = demo_chart();
    let out = stdout_of(
        dir.path(),
        &["template", "rel", "demo", "--include-crds", "--skip-tests"],
    );
    assert_eq!(
        sources(&out),
        vec![
            "demo/crds/widget.yaml",
            "demo/templates/cm.yaml",
            "demo/templates/svc.yaml"
        ]
    );
}

#[test]
fn show_only_selects_templates_by_path_or_glob_and_rejects_unknown_ones() {
    let dir = demo_chart();
    let out = stdout_of(
        dir.path(),
        &[
            "template",
            "rel",
            "demo",
            "--show-only",
            "templates/svc.yaml",
        ],
    );
    assert_eq!(sources(&out), vec!["demo/templates/svc.yaml"]);
    let out = stdout_of(
        dir.path(),
        &["template", "rel", "demo", "-s", "templates/[ch]*.yaml"],
    );
    assert_eq!(
        sources(&out),
        vec!["demo/templates/cm.yaml", "demo/templates/hook.yaml"]
    );
    let failed = rudder(
        dir.path(),
        &[
            "template",
            "rel",
            "demo",
            "--show-only",
            "templates/nope.yaml",
        ],
    );
    assert_eq!(failed.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&failed.stderr).contains("templates/nope.yaml"));
}

#[test]
fn capabilities_flags_reach_templates() {
    let dir = demo_chart();
    let out = stdout_of(
        dir.path(),
        &[
            "template",
            "rel",
            "demo",
            "--kube-version",
            "1.31.4",
            "--api-versions",
            "monitoring.coreos.com/v1",
            "--is-upgrade",
        ],
    );
    assert!(out.contains("kube: \"v1.31.4\""), "{out}");
    assert!(out.contains("monitoring: \"true\""), "{out}");
    assert!(out.contains("upgrade: \"true\""), "{out}");
    let out = stdout_of(dir.path(), &["template", "rel", "demo"]);
    assert!(out.contains("monitoring: \"false\""), "{out}");
    assert!(out.contains("upgrade: \"false\""), "{out}");
}

#[test]
fn kube_version_outside_the_charts_constraint_is_an_error() {
    let dir = demo_chart();
    let out = rudder(
        dir.path(),
        &["template", "rel", "demo", "--kube-version", "1.28.0"],
    );
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(">=1.29.0-0") && stderr.contains("1.28"),
        "{stderr}"
    );
}

#[test]
fn notes_flag_prints_rendered_notes_after_the_manifests() {
    let dir = demo_chart();
    let out = stdout_of(
        dir.path(),
        &["template", "rel", "demo", "--notes", "--set", "greeting=hi"],
    );
    assert!(out.ends_with("\nNOTES:\nSay hi to rel.\n"), "{out}");
    let out = stdout_of(dir.path(), &["template", "rel", "demo"]);
    assert!(!out.contains("NOTES:"));
}

#[test]
fn output_dir_writes_one_file_per_template() {
    let dir = demo_chart();
    let target = dir.path().join("out");
    let log = stdout_of(
        dir.path(),
        &[
            "template",
            "rel",
            "demo",
            "--output-dir",
            target.to_str().unwrap(),
        ],
    );
    assert!(log.contains("wrote "), "{log}");
    let cm = std::fs::read_to_string(target.join("demo/templates/cm.yaml")).unwrap();
    assert!(
        cm.starts_with("---\n# Source: demo/templates/cm.yaml\n"),
        "{cm}"
    );
    assert!(target.join("demo/templates/svc.yaml").exists());
    assert!(!target.join("demo/crds").exists());
}

#[test]
fn created_chart_lints_clean_and_renders() {
    let dir = tempfile::tempdir().unwrap();
    let out = stdout_of(dir.path(), &["create", "shop"]);
    assert!(out.contains("Creating shop"), "{out}");
    let lint = rudder(dir.path(), &["lint", "shop", "--strict"]);
    let lint_out = String::from_utf8_lossy(&lint.stdout);
    assert!(lint.status.success(), "{lint_out}");
    assert!(
        lint_out.contains("1 chart(s) linted, 0 chart(s) failed"),
        "{lint_out}"
    );
    let rendered = stdout_of(
        dir.path(),
        &[
            "template",
            "web",
            "shop",
            "--set",
            "ingress.enabled=true,autoscaling.enabled=true",
        ],
    );
    for kind in [
        "ServiceAccount",
        "Service",
        "Deployment",
        "Ingress",
        "HorizontalPodAutoscaler",
        "Pod",
    ] {
        assert!(
            rendered.contains(&format!("kind: {kind}\n")),
            "missing {kind}:\n{rendered}"
        );
    }
    assert!(rendered.contains("name: web-shop\n"), "{rendered}");
    let again = rudder(dir.path(), &["create", "shop"]);
    assert_eq!(
        again.status.code(),
        Some(1),
        "create must not overwrite an existing chart"
    );
}

#[test]
fn lint_reports_errors_and_strict_fails_on_warnings() {
    let dir = demo_chart();
    let clean = rudder(dir.path(), &["lint", "demo"]);
    assert!(
        clean.status.success(),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    std::fs::write(
        dir.path().join("demo/templates/bad.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n  labels:\n    \"bad key!\": x\n",
    )
    .unwrap();
    let failed = rudder(dir.path(), &["lint", "demo"]);
    let out = String::from_utf8_lossy(&failed.stdout);
    assert_eq!(failed.status.code(), Some(1), "{out}");
    assert!(
        out.contains("[ERROR] templates/bad.yaml") && out.contains("Bad_Name"),
        "{out}"
    );
    assert!(out.contains("bad key!"), "{out}");
    assert!(
        out.contains("1 chart(s) linted, 1 chart(s) failed"),
        "{out}"
    );
}

#[test]
fn package_then_show_round_trips_the_chart() {
    let dir = demo_chart();
    let out = stdout_of(
        dir.path(),
        &["package", "demo", "-d", "dist", "--version", "0.2.0"],
    );
    assert!(out.contains("dist/demo-0.2.0.tgz"), "{out}");
    let chart = stdout_of(dir.path(), &["show", "chart", "dist/demo-0.2.0.tgz"]);
    assert!(chart.contains("version: 0.2.0"), "{chart}");
    // Like helm: the file verbatim, then a newline.
    let values = stdout_of(dir.path(), &["show", "values", "demo"]);
    assert_eq!(values, "greeting: hello\n\n");
}

#[test]
fn output_into_a_closed_pipe_stops_quietly() {
    // `rudder template … | head -1`: the reader leaves before the output is written. The
    // read end is closed before rudder starts, so every write it makes meets a closed pipe.
    let chart = demo_chart();
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .current_dir(chart.path())
        .args(["template", "demo"])
        .stdin(std::process::Stdio::null())
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "exit {:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
}

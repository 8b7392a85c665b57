//! The example charts under charts-examples/: each renders to its reviewed golden output
//! (testdata/golden/) through the real `rudder` binary, and each lints clean with --strict.
//! Regenerate goldens after an intended change with `UPDATE_GOLDEN=1` and review the diff.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rudder(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rudder"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run rudder")
}

fn assert_golden(name: &str, args: &[&str]) {
    let out = rudder(args);
    assert!(
        out.status.success(),
        "rudder {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let actual = String::from_utf8(out.stdout).expect("utf-8 output");
    let golden: PathBuf = root().join("testdata/golden").join(format!("{name}.yaml"));
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&golden, &actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(&golden)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", golden.display()));
    if actual != expected {
        let diff = similar::TextDiff::from_lines(&expected, &actual)
            .unified_diff()
            .header("golden", "actual")
            .to_string();
        panic!("rudder {args:?} differs from {}:\n{diff}", golden.display());
    }
}

#[test]
fn webapp_defaults_render_to_golden() {
    assert_golden(
        "webapp-default",
        &["template", "web", "charts-examples/webapp", "-n", "shop"],
    );
}

#[test]
fn webapp_production_values_render_to_golden() {
    assert_golden(
        "webapp-production",
        &[
            "template",
            "web",
            "charts-examples/webapp",
            "-n",
            "shop",
            "-f",
            "testdata/golden/webapp-production-values.yaml",
        ],
    );
}

#[test]
fn model_worker_deployment_renders_to_golden() {
    assert_golden(
        "model-worker-deployment",
        &["template", "llm", "charts-examples/model-worker"],
    );
}

#[test]
fn model_worker_statefulset_with_partition_renders_to_golden() {
    assert_golden(
        "model-worker-statefulset",
        &[
            "template",
            "llm",
            "charts-examples/model-worker",
            "--set",
            "workload=StatefulSet,statefulSet.partition=2,replicaCount=4",
            "--set",
            "resources.gpus=2",
        ],
    );
}

#[test]
fn stack_renders_subcharts_alias_library_and_globals_to_golden() {
    assert_golden(
        "stack-default",
        &["template", "prod", "charts-examples/stack"],
    );
}

#[test]
fn stack_condition_and_tags_disable_subcharts() {
    assert_golden(
        "stack-trimmed",
        &[
            "template",
            "prod",
            "charts-examples/stack",
            "--set",
            "frontend.enabled=false,tags.backend=false",
        ],
    );
}

#[test]
fn every_example_lints_clean_with_strict() {
    for chart in ["webapp", "model-worker", "stack"] {
        let path = format!("charts-examples/{chart}");
        let out = rudder(&["lint", &path, "--strict", "--with-subcharts"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "lint {chart} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!stdout.contains("[WARNING]"), "{chart}: {stdout}");
        assert!(!stdout.contains("[ERROR]"), "{chart}: {stdout}");
    }
}

#[test]
fn stack_packaged_backend_matches_its_source() {
    // charts-examples/stack/charts/backend-1.0.0.tgz is built from testdata/stack-backend
    // by `rudder package`; packaging is reproducible, so a rebuild must be byte-identical.
    let dir = tempfile::tempdir().unwrap();
    let out = rudder(&[
        "package",
        "testdata/stack-backend",
        "-d",
        dir.path().to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let rebuilt = std::fs::read(dir.path().join("backend-1.0.0.tgz")).unwrap();
    let shipped =
        std::fs::read(Path::new(&root()).join("charts-examples/stack/charts/backend-1.0.0.tgz"))
            .unwrap();
    assert!(
        rebuilt == shipped,
        "charts-examples/stack/charts/backend-1.0.0.tgz is stale: rebuild it with `rudder package testdata/stack-backend -d charts-examples/stack/charts`"
    );
}

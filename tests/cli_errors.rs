//! Bad input through the real `rudder` binary: every case gives exactly one clear error
//! line naming the file (and line where known), exits non-zero, prints nothing on stdout
//! and writes nothing (`--output-dir` stays absent).

use std::path::{Path, PathBuf};
use std::process::Command;

/// A chart built in a temp dir: `files` are (path, contents) pairs under the chart root.
fn chart(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (path, contents) in files {
        let full = dir.path().join("demo").join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, contents).unwrap();
    }
    dir
}

const CHART_YAML: &str =
    "apiVersion: v2\nname: demo\nversion: 0.1.0\nannotations:\n  rudder.io/engine: tera\n";

fn good_chart_with(extra: &[(&str, &str)]) -> tempfile::TempDir {
    let mut files = vec![
        ("Chart.yaml", CHART_YAML),
        ("values.yaml", "replicas: 1\n"),
        (
            "templates/cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}-cm\ndata:\n  replicas: {{ Values.replicas | quote }}\n",
        ),
    ];
    files.extend_from_slice(extra);
    chart(&files)
}

struct Failure {
    stderr: String,
}

/// Runs `rudder template` with an --output-dir and checks the shared contract of a failure.
fn template_fails(dir: &Path, chart_arg: &str, extra: &[&str]) -> Failure {
    let out_dir: PathBuf = dir.join("rendered");
    let output = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .current_dir(dir)
        .args(["template", "rel", chart_arg, "--output-dir"])
        .arg(&out_dir)
        .args(extra)
        .output()
        .unwrap();
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected exit 1, stderr: {stderr}"
    );
    assert!(
        output.stdout.is_empty(),
        "stdout not empty: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    assert!(
        !out_dir.exists(),
        "a failed render wrote {}",
        out_dir.display()
    );
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("Error: "),
        "expected one `Error: ` line, got:\n{stderr}"
    );
    Failure { stderr }
}

fn assert_mentions(failure: &Failure, needles: &[&str]) {
    for needle in needles {
        assert!(
            failure.stderr.contains(needle),
            "error should mention {needle:?}: {}",
            failure.stderr
        );
    }
}

/// `rudder template` prints the chart's documents as helm does (`expected` among them),
/// while `rudder lint` — like install and upgrade — refuses the chart, exit 1.
fn refused_but_printed(dir: &Path, expected: &str) -> Failure {
    let template = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .current_dir(dir)
        .args(["template", "rel", "demo"])
        .output()
        .unwrap();
    let printed = String::from_utf8_lossy(&template.stdout);
    assert!(
        template.status.success(),
        "{}",
        String::from_utf8_lossy(&template.stderr)
    );
    assert!(printed.contains(expected), "{printed}");
    let lint = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .current_dir(dir)
        .args(["lint", "demo"])
        .output()
        .unwrap();
    assert_eq!(lint.status.code(), Some(1));
    Failure {
        stderr: format!(
            "{}{}",
            String::from_utf8_lossy(&lint.stdout),
            String::from_utf8_lossy(&lint.stderr)
        ),
    }
}

#[test]
fn missing_chart_path_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let f = template_fails(dir.path(), "no-such-chart", &[]);
    assert_mentions(&f, &["no-such-chart"]);
}

#[test]
fn missing_chart_yaml_is_named() {
    let dir = chart(&[("values.yaml", "a: 1\n")]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(&f, &["Chart.yaml"]);
}

#[test]
fn invalid_chart_yaml_names_file_and_line() {
    let dir = chart(&[("Chart.yaml", "apiVersion: v2\nname: demo\nversion: [1\n")]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(&f, &["Chart.yaml", "line"]);
}

#[test]
fn chart_yaml_without_version_is_rejected() {
    let dir = chart(&[("Chart.yaml", "apiVersion: v2\nname: demo\n")]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(&f, &["Chart.yaml", "version"]);
}

#[test]
fn chart_yaml_without_name_is_rejected() {
    let dir = chart(&[("Chart.yaml", "apiVersion: v2\nversion: 1.0.0\n")]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(&f, &["Chart.yaml", "name"]);
}

#[test]
fn non_semver_chart_version_is_rejected() {
    let dir = chart(&[("Chart.yaml", "apiVersion: v2\nname: demo\nversion: one\n")]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(&f, &["Chart.yaml", "one"]);
}

#[test]
fn values_file_not_found_is_named() {
    let dir = good_chart_with(&[]);
    let f = template_fails(dir.path(), "demo", &["-f", "missing-values.yaml"]);
    assert_mentions(&f, &["missing-values.yaml"]);
}

#[test]
fn invalid_values_file_names_file_and_line() {
    let dir = good_chart_with(&[]);
    std::fs::write(dir.path().join("bad.yaml"), "a: 1\nb: [unclosed\nc: 3\n").unwrap();
    let f = template_fails(dir.path(), "demo", &["-f", "bad.yaml"]);
    assert_mentions(&f, &["bad.yaml", "line"]);
}

#[test]
fn schema_violations_are_all_reported_at_once() {
    let schema = r#"{"type":"object","properties":{"replicas":{"type":"integer"},"name":{"type":"string"}}}"#;
    let dir = good_chart_with(&[("values.schema.json", schema)]);
    let output = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .current_dir(dir.path())
        .args(["template", "rel", "demo", "--set", "replicas=abc,name=7"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("replicas"), "{stderr}");
    assert!(stderr.contains("name"), "{stderr}");
}

#[test]
fn template_syntax_error_names_file_and_line() {
    let dir = good_chart_with(&[(
        "templates/broken.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: {{ Values.replicas \n",
    )]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(&f, &["demo/templates/broken.yaml:6"]);
}

#[test]
fn undefined_helper_is_named_with_its_location() {
    let dir = good_chart_with(&[(
        "templates/uses-helper.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ include(name=\"demo.nope\") }}\n",
    )]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(&f, &["demo/templates/uses-helper.yaml:4", "demo.nope"]);
}

#[test]
fn required_shows_its_message() {
    let dir = good_chart_with(&[(
        "templates/needs.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  host: {{ Values.host | required(msg=\"set host to the database address\") }}\n",
    )]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(
        &f,
        &[
            "set host to the database address",
            "demo/templates/needs.yaml",
        ],
    );
}

#[test]
fn rendered_document_that_is_not_yaml_names_the_template() {
    let dir = good_chart_with(&[(
        "templates/notyaml.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n data: [\n",
    )]);
    let f = template_fails(dir.path(), "demo", &[]);
    assert_mentions(&f, &["demo/templates/notyaml.yaml"]);
}

#[test]
fn document_without_kind_names_the_template() {
    let dir = good_chart_with(&[(
        "templates/nokind.yaml",
        "apiVersion: v1\nmetadata:\n  name: x\n",
    )]);
    let f = refused_but_printed(dir.path(), "apiVersion: v1\nmetadata:\n  name: x");
    assert_mentions(&f, &["demo/templates/nokind.yaml", "has no kind"]);
}

#[test]
fn document_without_name_names_the_template() {
    let dir = good_chart_with(&[(
        "templates/noname.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {}\n",
    )]);
    let f = refused_but_printed(dir.path(), "kind: ConfigMap\nmetadata:\n  labels: {}");
    assert_mentions(&f, &["demo/templates/noname.yaml", "has no metadata.name"]);
}

#[test]
fn duplicate_objects_name_both_templates() {
    let dir = good_chart_with(&[(
        "templates/dup.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}-cm\n",
    )]);
    // `template` prints both, as helm does; lint (like install) refuses the release.
    let f = refused_but_printed(dir.path(), "name: rel-cm");
    assert_mentions(
        &f,
        &[
            "demo/templates/cm.yaml",
            "demo/templates/dup.yaml",
            "-cm is defined twice",
        ],
    );
}

#[test]
fn truncated_archive_is_named() {
    let dir = good_chart_with(&[]);
    let package = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .current_dir(dir.path())
        .args(["package", "demo", "-d", "."])
        .output()
        .unwrap();
    assert!(
        package.status.success(),
        "{}",
        String::from_utf8_lossy(&package.stderr)
    );
    let bytes = std::fs::read(dir.path().join("demo-0.1.0.tgz")).unwrap();
    std::fs::write(dir.path().join("cut.tgz"), &bytes[..bytes.len() / 2]).unwrap();
    let f = template_fails(dir.path(), "cut.tgz", &[]);
    assert_mentions(&f, &["cut.tgz"]);
}

#[test]
fn corrupt_archive_is_named() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("junk.tgz"),
        b"\x1f\x8b\x08\x00garbage garbage",
    )
    .unwrap();
    let f = template_fails(dir.path(), "junk.tgz", &[]);
    assert_mentions(&f, &["junk.tgz"]);
}

/// A gzipped tar whose single entry has the given raw path (bypassing tar's own checks).
fn archive_with_entry(path: &str) -> Vec<u8> {
    let mut header = tar::Header::new_gnu();
    let body = CHART_YAML.as_bytes();
    header.set_size(body.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    {
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
    }
    header.set_cksum();
    let mut builder = tar::Builder::new(Vec::new());
    builder.append(&header, body).unwrap();
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, &tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn archive_entries_escaping_the_chart_are_rejected() {
    for (file, entry) in [
        ("dotdot.tgz", "demo/../../etc/Chart.yaml"),
        ("absolute.tgz", "/etc/demo/Chart.yaml"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file), archive_with_entry(entry)).unwrap();
        let f = template_fails(dir.path(), file, &[]);
        assert_mentions(&f, &[file]);
    }
}

#[test]
fn set_syntax_errors_name_the_flag_value() {
    let dir = good_chart_with(&[]);
    let f = template_fails(dir.path(), "demo", &["--set", "list[x]=1"]);
    assert_mentions(&f, &["list[x]=1"]);
    let f = template_fails(dir.path(), "demo", &["--set-json", "a={not json"]);
    assert_mentions(&f, &["a={not json"]);
}

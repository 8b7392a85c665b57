//! Loading charts from directories and archives: every part of the chart format lands in the
//! model, `.helmignore` is honoured, subcharts load from directories and `.tgz`, and every bad
//! input is one clear error naming the file (and line).

use rudder::chart::{self, Chart, ChartError};
use std::fs;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/charts")
        .join(name)
}

fn names(files: &[chart::ChartFile]) -> Vec<&str> {
    files.iter().map(|f| f.name.as_str()).collect()
}

/// A chart directory in a temp dir with the given files.
fn chart_dir(files: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("mychart");
    for (name, content) in files {
        let path = dir.join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }
    fs::create_dir_all(&dir).unwrap();
    (tmp, dir)
}

const GOOD_CHART_YAML: &str = "apiVersion: v2\nname: mychart\nversion: 0.1.0\n";

fn load_error(dir: &Path) -> String {
    match chart::load(dir) {
        Ok(_) => panic!("{} should not load", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn a_chart_directory_loads_every_part_of_the_chart_format() {
    let chart = chart::load(&fixture("full")).unwrap();
    let md = &chart.metadata;
    assert_eq!(md.name, "full");
    assert_eq!(md.version, "1.2.3");
    assert_eq!(md.app_version.as_deref(), Some("4.5.6"));
    assert_eq!(md.kube_version.as_deref(), Some(">= 1.25.0-0"));
    assert_eq!(md.dependencies.len(), 2);
    assert_eq!(md.dependencies[1].alias.as_deref(), Some("packed-alias"));
    assert_eq!(md.maintainers[0].email.as_deref(), Some("team@example.com"));
    assert_eq!(
        md.extra["x-rudder-custom"],
        serde_json::json!({"kept": true}),
        "unknown Chart.yaml fields are kept"
    );
    assert_eq!(
        names(&chart.templates),
        [
            "templates/NOTES.txt",
            "templates/_helpers.tpl",
            "templates/deployment.yaml"
        ],
        "templates sorted, hidden template files skipped"
    );
    assert_eq!(chart.values["replicaCount"], serde_json::json!(2));
    assert_eq!(chart.values["image"]["tag"], serde_json::json!("1.27"));
    assert!(
        chart
            .raw_values
            .as_deref()
            .unwrap()
            .starts_with("# Default values")
    );
    let schema: serde_json::Value = serde_json::from_slice(chart.schema.as_ref().unwrap()).unwrap();
    assert_eq!(schema["properties"]["replicaCount"]["type"], "integer");
    assert_eq!(
        chart.lock.as_ref().unwrap()["dependencies"][0]["name"],
        "child"
    );
    assert_eq!(
        names(&chart.files),
        [
            ".helmignore",
            "README.md",
            "config/app.ini",
            "crds/NOTES.md",
            "crds/crontab.yaml",
            "docs/top-only.txt",
            "important.bak",
        ],
        "every other file is kept, minus what .helmignore excludes"
    );
    assert_eq!(
        chart
            .crd_files()
            .map(|f| f.name.as_str())
            .collect::<Vec<_>>(),
        ["crds/crontab.yaml"]
    );
    let subcharts: Vec<&str> = chart.dependencies.iter().map(Chart::name).collect();
    assert_eq!(subcharts, ["child", "packed"]);
    let child = &chart.dependencies[0];
    assert_eq!(names(&child.templates), ["templates/configmap.yaml"]);
    assert_eq!(
        names(&child.files),
        [".helmignore"],
        "the subchart's own .helmignore excludes cache.tmp"
    );
    let packed = &chart.dependencies[1];
    assert_eq!(packed.metadata.app_version.as_deref(), Some("2.0"));
    assert_eq!(packed.values["port"], serde_json::json!(80));
    assert_eq!(names(&packed.files), ["crds/widget.yaml"]);
}

#[test]
fn a_directory_and_its_package_load_to_the_same_chart() {
    let out = tempfile::tempdir().unwrap();
    let tgz = chart::archive::write_package(&fixture("full"), out.path(), None, None).unwrap();
    assert_eq!(tgz, out.path().join("full-1.2.3.tgz"));
    let from_dir = chart::load(&fixture("full")).unwrap();
    let from_tgz = chart::load(&tgz).unwrap();
    assert_eq!(from_dir, from_tgz);
    let from_bytes = chart::load_archive(&fs::read(&tgz).unwrap(), "full-1.2.3.tgz").unwrap();
    assert_eq!(from_dir, from_bytes);
}

#[test]
fn package_overrides_keep_unknown_fields() {
    let out = tempfile::tempdir().unwrap();
    let tgz = chart::archive::write_package(
        &fixture("full"),
        out.path(),
        Some("9.9.9-rc.1"),
        Some("7.0"),
    )
    .unwrap();
    assert_eq!(tgz.file_name().unwrap(), "full-9.9.9-rc.1.tgz");
    let chart = chart::load(&tgz).unwrap();
    assert_eq!(chart.metadata.version, "9.9.9-rc.1");
    assert_eq!(chart.metadata.app_version.as_deref(), Some("7.0"));
    assert_eq!(
        chart.metadata.extra["x-rudder-custom"],
        serde_json::json!({"kept": true})
    );
    assert_eq!(chart.metadata.annotations["example.com/owner"], "platform");
    assert_eq!(chart.metadata.dependencies.len(), 2);
}

#[test]
fn a_missing_chart_path_is_named() {
    let tmp = tempfile::tempdir().unwrap();
    let missing = tmp.path().join("nope");
    assert_eq!(
        load_error(&missing),
        format!("chart path {} does not exist", missing.display())
    );
}

#[test]
fn a_directory_without_chart_yaml_is_not_a_chart() {
    let (_tmp, dir) = chart_dir(&[("values.yaml", "a: 1\n")]);
    assert_eq!(
        load_error(&dir),
        format!("{} is not a chart: it has no Chart.yaml", dir.display())
    );
}

#[test]
fn invalid_chart_yaml_is_reported_with_its_line() {
    let (_tmp, dir) = chart_dir(&[(
        "Chart.yaml",
        "apiVersion: v2\nname: mychart\nversion: [0.1.0\n",
    )]);
    let err = load_error(&dir);
    let file = dir.join("Chart.yaml").display().to_string();
    assert!(
        err.starts_with(&format!("invalid YAML in {file} at line 4")),
        "{err}"
    );
}

#[test]
fn a_wrongly_typed_chart_yaml_field_is_named_with_its_line() {
    let (_tmp, dir) = chart_dir(&[(
        "Chart.yaml",
        "apiVersion: v2\nname: mychart\nversion: 0.1.0\nkeywords: nope\n",
    )]);
    let err = load_error(&dir);
    assert!(err.contains("Chart.yaml at line 4"), "{err}");
    assert!(err.contains("field `keywords`"), "{err}");
}

#[test]
fn chart_yaml_without_name_or_version_or_with_a_bad_version_is_refused() {
    let cases = [
        (
            "apiVersion: v2\nversion: 0.1.0\n",
            "the chart name is missing (`name:` is required)",
        ),
        (
            "apiVersion: v2\nname: mychart\n",
            "the chart version is missing (`version:` is required)",
        ),
        (
            "apiVersion: v2\nname: mychart\nversion: one.two\n",
            "version `one.two` is not a valid semantic version",
        ),
        (
            "apiVersion: v2\nname: mychart\nversion: 1.2.3.4\n",
            "version `1.2.3.4` is not a valid semantic version",
        ),
        (
            "apiVersion: v2\nname: my/chart\nversion: 1.2.3\n",
            "chart name `my/chart` is invalid",
        ),
        (
            "apiVersion: v2\nname: mychart\nversion: 1.2.3\ntype: plugin\n",
            "type `plugin` is invalid",
        ),
        (
            "apiVersion: v2\nname: mychart\nversion: 1.2.3\nkubeVersion: '>>1.20'\n",
            "kubeVersion: `>>1.20` is not a valid version constraint",
        ),
        (
            "apiVersion: v2\nname: mychart\nversion: 1.2.3\ndependencies:\n- version: 1.0.0\n",
            "dependency #1 has no name",
        ),
        (
            "apiVersion: v2\nname: mychart\nversion: 1.2.3\ndependencies:\n- name: db\n  alias: my.db\n",
            "dependency `db` has an invalid alias `my.db`",
        ),
        (
            "apiVersion: v3\nname: mychart\nversion: 1.2.3\n",
            "apiVersion `v3` is not supported",
        ),
    ];
    for (chart_yaml, expected) in cases {
        let (_tmp, dir) = chart_dir(&[("Chart.yaml", chart_yaml)]);
        let err = load_error(&dir);
        let file = dir.join("Chart.yaml").display().to_string();
        assert!(
            err.starts_with(&format!("{file}: {expected}")),
            "for {chart_yaml:?}: got {err:?}"
        );
    }
}

#[test]
fn invalid_values_yaml_is_reported_with_file_and_line() {
    let (_tmp, dir) = chart_dir(&[
        ("Chart.yaml", GOOD_CHART_YAML),
        ("values.yaml", "a: 1\nb: [1, 2\n"),
    ]);
    let err = load_error(&dir);
    assert!(
        err.contains(&dir.join("values.yaml").display().to_string()),
        "{err}"
    );
    assert!(err.contains("line 3"), "{err}");
}

#[test]
fn values_yaml_must_be_a_mapping() {
    let (_tmp, dir) = chart_dir(&[
        ("Chart.yaml", GOOD_CHART_YAML),
        ("values.yaml", "- a\n- b\n"),
    ]);
    let err = load_error(&dir);
    assert!(err.contains("values.yaml"), "{err}");
    assert!(err.contains("map"), "{err}");
}

#[test]
fn an_invalid_schema_is_reported_with_its_line() {
    let (_tmp, dir) = chart_dir(&[
        ("Chart.yaml", GOOD_CHART_YAML),
        ("values.schema.json", "{\n  \"type\": \"object\",\n}\n"),
    ]);
    let file = dir.join("values.schema.json").display().to_string();
    assert!(
        load_error(&dir).starts_with(&format!("invalid JSON in {file} at line 3")),
        "{}",
        load_error(&dir)
    );
}

#[test]
fn a_subchart_error_names_the_subchart_file() {
    let (_tmp, dir) = chart_dir(&[
        ("Chart.yaml", GOOD_CHART_YAML),
        (
            "charts/sub/Chart.yaml",
            "apiVersion: v2\nname: sub\nversion: one\n",
        ),
    ]);
    let err = load_error(&dir);
    let file = dir.join("charts/sub/Chart.yaml").display().to_string();
    assert!(err.starts_with(&format!("{file}: version `one`")), "{err}");
}

#[test]
fn loose_files_in_charts_are_refused_but_hidden_ones_skipped() {
    let (_tmp, dir) = chart_dir(&[
        ("Chart.yaml", GOOD_CHART_YAML),
        ("charts/.keep", ""),
        ("charts/README.md", "subcharts live here"),
    ]);
    let err = load_error(&dir);
    assert!(err.contains("charts/README.md"), "{err}");
    assert!(err.contains("subchart directories and .tgz"), "{err}");
    fs::remove_file(dir.join("charts/README.md")).unwrap();
    assert!(chart::load(&dir).unwrap().dependencies.is_empty());
}

#[test]
fn a_utf8_bom_is_ignored_like_helm() {
    let (_tmp, dir) = chart_dir(&[
        (
            "Chart.yaml",
            "\u{feff}apiVersion: v2\nname: mychart\nversion: 0.1.0\n",
        ),
        ("values.yaml", "\u{feff}a: 1\n"),
    ]);
    let chart = chart::load(&dir).unwrap();
    assert_eq!(chart.values["a"], serde_json::json!(1));
}

#[cfg(unix)]
#[test]
fn symlinks_inside_the_chart_are_followed() {
    let (_tmp, dir) = chart_dir(&[
        ("Chart.yaml", GOOD_CHART_YAML),
        ("shared/cm.yaml", "kind: ConfigMap\n"),
    ]);
    std::os::unix::fs::symlink("../shared/cm.yaml", {
        fs::create_dir_all(dir.join("templates")).unwrap();
        dir.join("templates/cm.yaml")
    })
    .unwrap();
    std::os::unix::fs::symlink("shared", dir.join("config")).unwrap();
    let chart = chart::load(&dir).unwrap();
    assert_eq!(names(&chart.templates), ["templates/cm.yaml"]);
    assert_eq!(chart.templates[0].data, b"kind: ConfigMap\n");
    assert_eq!(names(&chart.files), ["config/cm.yaml", "shared/cm.yaml"]);
}

#[cfg(unix)]
#[test]
fn symlinks_leaving_the_chart_are_refused() {
    let (tmp, dir) = chart_dir(&[("Chart.yaml", GOOD_CHART_YAML)]);
    let secret = tmp.path().join("secret.txt");
    fs::write(&secret, "password").unwrap();
    std::os::unix::fs::symlink(&secret, dir.join("leak.txt")).unwrap();
    let err = chart::load(&dir).unwrap_err();
    assert!(
        matches!(err, ChartError::SymlinkEscapesChart { .. }),
        "{err}"
    );
    assert_eq!(
        err.to_string(),
        format!(
            "{} is a symbolic link to {}, outside the chart; a chart may only link to its own files",
            dir.join("leak.txt").display(),
            fs::canonicalize(&secret).unwrap().display()
        )
    );
    // A directory link leaving the chart (e.g. to /etc) is refused too.
    fs::remove_file(dir.join("leak.txt")).unwrap();
    std::os::unix::fs::symlink("/etc", dir.join("templates")).unwrap();
    assert!(matches!(
        chart::load(&dir).unwrap_err(),
        ChartError::SymlinkEscapesChart { .. }
    ));
    // … unless .helmignore excludes it.
    fs::write(dir.join(".helmignore"), "templates\n").unwrap();
    assert!(chart::load(&dir).is_ok());
}

#[cfg(unix)]
#[test]
fn a_symlink_loop_is_refused() {
    let (_tmp, dir) = chart_dir(&[("Chart.yaml", GOOD_CHART_YAML), ("a/file", "x")]);
    std::os::unix::fs::symlink("..", dir.join("a/up")).unwrap();
    let err = load_error(&dir);
    assert!(err.contains("a/up"), "{err}");
    assert!(err.contains("loop"), "{err}");
}

#[cfg(unix)]
#[test]
fn device_files_and_pipes_are_refused() {
    let (_tmp, dir) = chart_dir(&[("Chart.yaml", GOOD_CHART_YAML)]);
    let fifo = dir.join("pipe");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    assert_eq!(
        load_error(&dir),
        format!(
            "{} is not a regular file (device, socket or pipe); a chart may only contain files and directories",
            fifo.display()
        )
    );
}

#[test]
fn helmignore_negation_and_directory_rules_follow_gitignore() {
    let (_tmp, dir) = chart_dir(&[
        ("Chart.yaml", GOOD_CHART_YAML),
        (".helmignore", "*.log\n!keep.log\nbuild/\n/root.txt\n"),
        ("a.log", ""),
        ("keep.log", ""),
        ("sub/b.log", ""),
        ("build/out.yaml", ""),
        ("templates/build", "a file named like the ignored directory"),
        ("root.txt", ""),
        ("sub/root.txt", ""),
    ]);
    let chart = chart::load(&dir).unwrap();
    assert_eq!(
        names(&chart.files),
        [".helmignore", "keep.log", "sub/root.txt"]
    );
    assert_eq!(names(&chart.templates), ["templates/build"]);
}

#[test]
fn apiversion_v1_charts_read_dependencies_from_requirements_yaml() {
    let (_tmp, dir) = chart_dir(&[
        (
            "Chart.yaml",
            "apiVersion: v1\nname: legacy\nversion: 1.0.0\n",
        ),
        (
            "requirements.yaml",
            "dependencies:\n- name: mysql\n  version: 1.2.3\n  repository: https://charts.example.com\n",
        ),
        (
            "requirements.lock",
            "dependencies: []\ndigest: sha256:abc\n",
        ),
    ]);
    let chart = chart::load(&dir).unwrap();
    assert_eq!(chart.metadata.dependencies[0].name, "mysql");
    assert_eq!(chart.lock.as_ref().unwrap()["digest"], "sha256:abc");
    assert_eq!(
        names(&chart.files),
        ["requirements.lock", "requirements.yaml"]
    );
    assert_eq!(
        chart::metadata_warnings(&chart.metadata),
        ["apiVersion v1 is deprecated; use v2"]
    );
    // In a v2 chart requirements.yaml is just a file.
    fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: legacy\nversion: 1.0.0\n",
    )
    .unwrap();
    let chart = chart::load(&dir).unwrap();
    assert!(chart.metadata.dependencies.is_empty());
    assert!(chart.lock.is_none());
}

#[test]
fn a_chart_directory_over_helms_size_cap_is_refused() {
    let (_tmp, dir) = chart_dir(&[("Chart.yaml", GOOD_CHART_YAML)]);
    // A sparse 101 MiB file: refused from its size, before anything is read.
    let big = fs::File::create(dir.join("big.bin")).unwrap();
    big.set_len(101 * 1024 * 1024).unwrap();
    assert_eq!(
        load_error(&dir),
        format!(
            "{} is too large: its files add up to more than 104857600 bytes",
            dir.display()
        )
    );
    fs::write(dir.join(".helmignore"), "*.bin\n").unwrap();
    assert!(chart::load(&dir).is_ok(), "ignored files do not count");
}

#[test]
fn versions_helm_accepts_load() {
    // helm's loader reads versions with a `v` prefix or missing parts.
    for version in ["v0.1.0", "v0.0.0", "1.2", "v1.2.3-rc.1+build"] {
        let (_tmp, dir) = chart_dir(&[(
            "Chart.yaml",
            &format!("apiVersion: v2\nname: mychart\nversion: {version}\n"),
        )]);
        let chart = chart::load(&dir).unwrap_or_else(|e| panic!("{version}: {e}"));
        assert_eq!(chart.metadata.version, version);
    }
}

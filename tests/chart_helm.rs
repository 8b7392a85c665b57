//! Compatibility with the real helm (v4.1.4, installed by `scripts/install-peers`): helm
//! reads rudder's packages, rudder reads helm's, and rudder's version constraints and
//! `kubeVersion` checks agree with helm's on a table of cases.

mod peers;

use peers::helm;
use rudder::chart::constraint::{parse_constraint, parse_lenient_version};
use rudder::chart::{self, Metadata};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/charts")
        .join(name)
}

/// Runs helm with an isolated home; returns (success, stdout, stderr).
fn run_helm(args: &[&str], home: &Path) -> (bool, String, String) {
    let out = Command::new(helm())
        .args(args)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("helm runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn helm_reads_packages_made_by_rudder() {
    let tmp = tempfile::tempdir().unwrap();
    let tgz = chart::archive::write_package(&fixture("full"), tmp.path(), None, None).unwrap();
    let tgz = tgz.to_str().unwrap();
    let (ok, stdout, stderr) = run_helm(&["show", "chart", tgz], tmp.path());
    assert!(ok, "helm show chart failed: {stderr}");
    let shown: Metadata = serde_yaml::from_str(&stdout).unwrap();
    assert_eq!(shown.name, "full");
    assert_eq!(shown.version, "1.2.3");
    assert_eq!(shown.app_version.as_deref(), Some("4.5.6"));
    assert_eq!(shown.kube_version.as_deref(), Some(">= 1.25.0-0"));
    assert_eq!(shown.dependencies.len(), 2);
    assert_eq!(shown.dependencies[1].alias.as_deref(), Some("packed-alias"));

    let (ok, stdout, stderr) = run_helm(&["show", "values", tgz], tmp.path());
    assert!(ok, "{stderr}");
    assert_eq!(
        stdout,
        format!(
            "{}\n",
            fs::read_to_string(fixture("full/values.yaml")).unwrap()
        )
    );
    // helm sees both subcharts (directory and nested .tgz): their CRDs are listed.
    let (ok, stdout, stderr) = run_helm(&["show", "crds", tgz], tmp.path());
    assert!(ok, "{stderr}");
    assert!(stdout.contains("crontabs.stable.example.com"), "{stdout}");
    assert!(stdout.contains("widgets.example.com"), "{stdout}");
    // And rudder's `show` matches helm's for the README and values.
    let (ok, helm_readme, _) = run_helm(&["show", "readme", tgz], tmp.path());
    assert!(ok);
    let ours =
        rudder::action::show::show(Path::new(tgz), rudder::action::show::ShowWhat::Readme).unwrap();
    assert_eq!(ours, helm_readme);

    // A package whose Chart.yaml rudder rewrote (--version/--app-version) reads the same.
    let out = tmp.path().join("override");
    let tgz =
        chart::archive::write_package(&fixture("full"), &out, Some("2.0.0"), Some("7.0")).unwrap();
    let (ok, stdout, stderr) = run_helm(&["show", "chart", tgz.to_str().unwrap()], tmp.path());
    assert!(ok, "{stderr}");
    let shown: Metadata = serde_yaml::from_str(&stdout).unwrap();
    assert_eq!(shown.version, "2.0.0");
    assert_eq!(shown.app_version.as_deref(), Some("7.0"));
    assert_eq!(shown.annotations["example.com/owner"], "platform");
}

#[test]
fn rudder_reads_packages_made_by_helm() {
    let tmp = tempfile::tempdir().unwrap();
    // A chart with a directory subchart, a packaged subchart and a .helmignore.
    let src = tmp.path().join("src/umbrella");
    fs::create_dir_all(src.join("templates")).unwrap();
    fs::create_dir_all(src.join("charts/child/templates")).unwrap();
    fs::write(
        src.join("Chart.yaml"),
        "apiVersion: v2\nname: umbrella\nversion: 3.1.4\nappVersion: \"9\"\ndependencies:\n- name: child\n  version: 0.1.0\n  repository: file://charts/child\n",
    )
    .unwrap();
    fs::write(src.join("values.yaml"), "# defaults\nchild:\n  x: 1\n").unwrap();
    fs::write(src.join("templates/cm.yaml"), "kind: ConfigMap\n").unwrap();
    fs::write(src.join(".helmignore"), "*.swp\nscratch/\n").unwrap();
    fs::write(src.join("editor.swp"), "junk").unwrap();
    fs::write(
        src.join("charts/child/Chart.yaml"),
        "apiVersion: v2\nname: child\nversion: 0.1.0\n",
    )
    .unwrap();
    fs::write(
        src.join("charts/child/templates/svc.yaml"),
        "kind: Service\n",
    )
    .unwrap();
    fs::copy(
        fixture("full/charts/packed-0.1.0.tgz"),
        src.join("charts/packed-0.1.0.tgz"),
    )
    .unwrap();
    let dist = tmp.path().join("dist");
    let (ok, _, stderr) = run_helm(
        &[
            "package",
            src.to_str().unwrap(),
            "-d",
            dist.to_str().unwrap(),
        ],
        tmp.path(),
    );
    assert!(ok, "helm package failed: {stderr}");
    let from_helm = chart::load(&dist.join("umbrella-3.1.4.tgz")).unwrap();
    let from_dir = chart::load(&src).unwrap();
    assert_eq!(from_helm.metadata, from_dir.metadata);
    assert_eq!(from_helm.values, from_dir.values);
    assert_eq!(from_helm.raw_values, from_dir.raw_values);
    assert_eq!(from_helm.templates, from_dir.templates);
    assert_eq!(from_helm.files, from_dir.files);
    assert_eq!(
        from_helm.dependencies, from_dir.dependencies,
        "helm expands packaged subcharts into directories; rudder loads both forms alike"
    );

    // The helm-packaged fixture subchart loads too.
    let packed = chart::load(&fixture("full/charts/packed-0.1.0.tgz")).unwrap();
    assert_eq!(packed, chart::load(&fixture("packed-src")).unwrap());
}

/// (constraint, version, does helm accept the version?) — expectations recorded from helm
/// 4.1.4 (Masterminds/semver v3) and re-checked live by `constraint_table_matches_real_helm`.
const CONSTRAINT_TABLE: &[(&str, &str, bool)] = &[
    (">= 1.25.0-0", "1.28.3", true),
    (">= 1.25.0-0", "1.28.3-gke.100", true),
    (">= 1.25.0", "1.28.3-gke.100", false),
    (">= 1.25.0", "1.24.9", false),
    (">=1.20.0 <1.30.0", "1.29.9", true),
    (">=1.20.0 <1.30.0", "1.30.0", false),
    (">=1.20.0, <1.30.0", "1.25.0", true),
    ("^1.28", "1.35.1", true),
    ("^1.28", "2.0.0", false),
    ("^1.28", "1.27.9", false),
    ("^0.2.3", "0.2.9", true),
    ("^0.2.3", "0.3.0", false),
    ("^0.0.3", "0.0.4", false),
    ("^0", "0.9.0", true),
    ("^0.0", "0.1.0", false),
    ("^*", "5.0.0", false),
    ("~1.2", "1.2.9", true),
    ("~1.2", "1.3.0", false),
    ("~1.2.3", "1.2.2", false),
    ("~1", "1.9.0", true),
    ("~> 1.2", "1.2.5", true),
    ("~0.0", "0.0.5", true),
    ("1.2.x", "1.2.7", true),
    ("1.2.x", "1.3.0", false),
    ("1.2.X", "1.2.3", true),
    ("1.2.*", "1.2.3", true),
    ("1.x", "1.99.0", true),
    ("*", "1.2.3", true),
    ("*", "1.2.3-alpha", false),
    ("x", "3.0.0", true),
    ("1.28", "1.28.5", true),
    ("=1.2", "1.2.5", true),
    ("=1.28.0", "1.28.0", true),
    ("v1.2.3", "1.2.3", true),
    ("1.2.3-alpha", "1.2.3-alpha+meta", true),
    ("<1.20.0 || >=1.25.0", "1.22.0", false),
    ("<1.20.0 || >=1.25.0", "1.26.0", true),
    (">=1.0.0 <2.0.0 || >=3.0.0", "2.5.0", false),
    (">=1.0.0 <2.0.0 || >=3.0.0", "3.0.1", true),
    ("1.20 - 1.25", "1.25.9", true),
    ("1.20 - 1.25", "1.26.0", false),
    ("1.2.3 - 2", "2.9.0", true),
    (">1.28", "1.28.9", false),
    (">1.28", "1.29.0", true),
    (">1", "1.99.0", false),
    (">2.x", "2.5.0", false),
    (">2.x", "3.0.0", true),
    (">1.2.x", "1.3.0", true),
    ("<=1.28", "1.28.9", true),
    ("<=1.28.0", "1.28.1", false),
    ("<=1", "1.9.9", true),
    ("< 1.2", "1.2.0", false),
    ("<2.x", "1.9.0", true),
    ("<2.x", "2.1.0", false),
    (">=1.0.0 <=2.0", "2.0.9", true),
    ("!=1.28.0", "1.28.0", false),
    ("!=1.28.0", "1.28.1", true),
    ("!=1.2", "1.2.5", false),
    ("!=1.x", "2.0.0", true),
    ("!=1.2.3", "1.2.3-rc1", false),
    ("=> 1.2", "1.3.0", true),
    (">=1.2.3,<1.3", "1.2.9", true),
    (">= 1.28.0-alpha.1", "1.28.0-beta.0", true),
    (">= 1.28.0-beta.1", "1.28.0-alpha.0", false),
    (">= 1.0.0-alpha.beta", "1.0.0-alpha.1", false),
    ("<1.29.0-0", "1.28.5-eks", true),
    (">=1.0.0-0 <2.0.0", "1.5.0-rc.1", true),
    (">=1.0.0 <2.0.0-0", "1.5.0-rc.1", true),
    (">=1.0.0-0 <2.0.0 || ^3", "3.1.0-rc", false),
    (">=1.0.0 || >=0.1.0-0", "1.5.0-rc.1", true),
    ("^1.2.3-beta.1", "1.9.0-alpha", true),
    ("~1.2.3-beta.2", "1.2.3-beta.10", true),
    ("~1.2.3-beta.2", "1.3.0-alpha", false),
    ("1.2.x", "1.2.5-alpha", false),
    (">0", "0.0.1-alpha", false),
    ("> 1.0.0-beta", "1.0.0", true),
];

/// Constraints helm refuses to parse ("improper constraint").
const INVALID_CONSTRAINTS: &[&str] = &[
    ">>1.0",
    "1.0.0.0",
    "abc",
    ">=1.0 <2.0,",
    ">=1.0<2.0",
    "||",
    ">=1.0 ||",
    ">= 1.0 ,, <2",
    "=",
    "1.0 -2.0",
];

#[test]
fn constraints_follow_helms_semantics() {
    assert!(CONSTRAINT_TABLE.len() >= 30);
    let mut wrong = Vec::new();
    for (constraint, version, expected) in CONSTRAINT_TABLE {
        let parsed = parse_constraint(constraint).unwrap_or_else(|e| panic!("{e}"));
        let version_parsed = parse_lenient_version(version).unwrap();
        if parsed.matches(&version_parsed) != *expected {
            wrong.push(format!("{constraint:?} vs {version}: helm says {expected}"));
        }
    }
    assert!(
        wrong.is_empty(),
        "disagreements with helm:\n{}",
        wrong.join("\n")
    );
    for constraint in INVALID_CONSTRAINTS {
        assert!(
            parse_constraint(constraint).is_err(),
            "{constraint:?} should be refused"
        );
    }
}

/// Asks the real helm whether `version` satisfies `constraint`: a `file://` dependency is
/// only accepted by `helm dependency update` when the local chart's version matches.
fn helm_accepts(constraint: &str, version: &str, work: &Path) -> Result<bool, String> {
    let (parent, child) = (work.join("p"), work.join("s"));
    let _ = fs::remove_dir_all(&parent);
    fs::create_dir_all(&parent).unwrap();
    fs::create_dir_all(&child).unwrap();
    fs::write(
        child.join("Chart.yaml"),
        format!("apiVersion: v2\nname: s\nversion: \"{version}\"\n"),
    )
    .unwrap();
    fs::write(
        parent.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: p\nversion: 0.1.0\ndependencies:\n- name: s\n  version: \"{constraint}\"\n  repository: file://../s\n"
        ),
    )
    .unwrap();
    let (ok, _, stderr) = run_helm(&["dependency", "update", parent.to_str().unwrap()], work);
    if ok {
        Ok(true)
    } else if stderr.contains("can't get a valid version") {
        Ok(false)
    } else {
        Err(stderr)
    }
}

#[test]
fn constraint_table_matches_real_helm() {
    let tmp = tempfile::tempdir().unwrap();
    for (constraint, version, expected) in CONSTRAINT_TABLE {
        assert_eq!(
            helm_accepts(constraint, version, tmp.path()),
            Ok(*expected),
            "helm on {constraint:?} vs {version}"
        );
    }
    for constraint in INVALID_CONSTRAINTS {
        let verdict = helm_accepts(constraint, "1.0.0", tmp.path());
        assert!(
            matches!(&verdict, Err(message) if message.contains("improper constraint")),
            "helm on {constraint:?}: {verdict:?}"
        );
    }
}

#[test]
fn kube_version_checks_match_helm_template() {
    // (kubeVersion, --kube-version): helm ignores the cluster version's prerelease.
    let cases = [
        (">= 1.25.0", "1.28.3-gke.100"),
        (">= 1.25.0", "1.24.9"),
        (">=1.30", "1.29"),
        (">=1.30", "v1.30.0"),
        ("^1.28", "1.35.1"),
        ("~1.29.0", "v1.30.2"),
        ("<1.20.0 || >=1.25.0", "1.22.0"),
        ("1.20 - 1.25", "1.25.9"),
        (">= 1.28.0-beta.1", "1.28.0-alpha.0"),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("k");
    fs::create_dir_all(&dir).unwrap();
    for (constraint, kube_version) in cases {
        let chart_yaml =
            format!("apiVersion: v2\nname: k\nversion: 0.1.0\nkubeVersion: \"{constraint}\"\n");
        fs::write(dir.join("Chart.yaml"), &chart_yaml).unwrap();
        let (helm_ok, _, stderr) = run_helm(
            &[
                "template",
                dir.to_str().unwrap(),
                "--kube-version",
                kube_version,
            ],
            tmp.path(),
        );
        assert!(
            helm_ok || stderr.contains("incompatible with Kubernetes"),
            "{stderr}"
        );
        let md = chart::load(&dir).unwrap().metadata;
        let ours = chart::check_kube_version(&md, kube_version);
        assert_eq!(
            ours.is_ok(),
            helm_ok,
            "{constraint:?} on {kube_version}: {ours:?}"
        );
        if let Err(e) = ours {
            assert_eq!(
                e.to_string(),
                format!(
                    "chart k requires kubeVersion {constraint}, which is incompatible with Kubernetes {kube_version}"
                )
            );
        }
    }
}

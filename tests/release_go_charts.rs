//! A real helm chart (bitnami postgresql with its `common` library subchart, read from
//! `../shared/real-charts`) through rudder's whole lifecycle on kubesim — install, upgrade
//! with `--reuse-values`, rollback, uninstall — with the real helm 4.1.4 reading every
//! revision rudder wrote: `helm get manifest` is exactly what rudder rendered and applied.

mod peers;
mod release_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use release_support::{Run, rudder, run};

fn corpus_chart(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/real-charts/dev");
    assert!(
        dir.join(name).join("Chart.yaml").is_file(),
        "the real-chart corpus is missing: expected {}",
        dir.join(name).display()
    );
    dir.join(name)
}

fn helm(server: &kubesim::Server, args: &[&str]) -> Run {
    let home = tempfile::tempdir().unwrap();
    run(Command::new(peers::helm())
        .args(args)
        .args(["-n", "default"])
        .env("KUBECONFIG", server.kubeconfig_path())
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_DATA_HOME", home.path().join("data")))
}

fn ok(run: Run, what: &str) -> String {
    assert_eq!(
        run.code, 0,
        "{what} failed:\nstdout: {}\nstderr: {}",
        run.stdout, run.stderr
    );
    run.stdout
}

/// What rudder renders for the release (`get manifest` prints the same manifests; the two
/// differ only in how many newlines end them).
fn rendered(server: &kubesim::Server, chart: &Path, args: &[&str]) -> String {
    let chart = chart.to_str().unwrap();
    let mut all = vec!["template", "db", chart, "--skip-tests"];
    all.extend_from_slice(args);
    ok(rudder(server, &all), "rudder template")
        .trim_end()
        .to_string()
}

/// The stored manifest as helm reads it, which rudder must read the same.
fn manifest(server: &kubesim::Server) -> String {
    let theirs = ok(
        helm(server, &["get", "manifest", "db"]),
        "helm get manifest",
    );
    let ours = ok(
        rudder(server, &["get", "manifest", "db"]),
        "rudder get manifest",
    );
    assert_eq!(
        theirs, ours,
        "helm and rudder read the stored manifest alike"
    );
    theirs.trim_end().to_string()
}

#[tokio::test]
async fn a_real_helm_chart_goes_through_the_lifecycle_and_helm_reads_every_revision() {
    let server = kubesim::Server::start().await.unwrap();
    let chart = corpus_chart("postgresql");
    let values = chart.with_file_name("postgresql.values.yaml");
    let (chart_s, values_s) = (chart.to_str().unwrap(), values.to_str().unwrap());

    ok(
        rudder(&server, &["install", "db", chart_s, "-f", values_s]),
        "rudder install",
    );
    let first = rendered(&server, &chart, &["-f", values_s]);
    assert!(first.contains("kind: StatefulSet"), "{first}");
    assert_eq!(manifest(&server), first);

    ok(
        rudder(
            &server,
            &[
                "upgrade",
                "db",
                chart_s,
                "--reuse-values",
                "--set",
                "primary.resourcesPreset=small",
            ],
        ),
        "rudder upgrade --reuse-values",
    );
    let second = rendered(
        &server,
        &chart,
        &["-f", values_s, "--set", "primary.resourcesPreset=small"],
    );
    assert_ne!(first, second, "the upgrade changes the rendered objects");
    assert_eq!(manifest(&server), second);
    let values_out = ok(
        helm(&server, &["get", "values", "db", "-o", "json"]),
        "helm get values",
    );
    let user: serde_json::Value = serde_json::from_str(&values_out).unwrap();
    assert_eq!(user["primary"]["resourcesPreset"], "small", "{values_out}");

    ok(rudder(&server, &["rollback", "db", "1"]), "rudder rollback");
    assert_eq!(manifest(&server), first);
    let history = ok(
        helm(&server, &["history", "db", "-o", "json"]),
        "helm history",
    );
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    let statuses: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "superseded", "deployed"]);

    ok(rudder(&server, &["uninstall", "db"]), "rudder uninstall");
    let list = ok(helm(&server, &["list", "-o", "json"]), "helm list");
    assert_eq!(list.trim(), "[]");
}

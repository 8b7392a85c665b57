//! `rudder status NAME --show-resources` against kubesim: a table per kind with the columns
//! the API server prints, the workloads' Pods as related resources, objects deleted behind
//! the release's back shown as missing, and the live objects in `-o json`.

mod release_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use release_support::{Run, object, rudder};
use rudder::action::install::{DeployOptions, install};
use rudder::action::lifecycle::ApplySettings;
use serde_json::Value;

fn shop_chart(dir: &Path) -> PathBuf {
    let files = [
        (
            "templates/deployment.yaml",
            r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ Release.Name }}-web
spec:
  replicas: 2
  selector:
    matchLabels:
      app: {{ Release.Name }}-web
  template:
    metadata:
      labels:
        app: {{ Release.Name }}-web
    spec:
      containers:
        - name: web
          image: nginx:1.27
"#,
        ),
        (
            "templates/service.yaml",
            r#"apiVersion: v1
kind: Service
metadata:
  name: {{ Release.Name }}-web
spec:
  selector:
    app: {{ Release.Name }}-web
  ports:
    - port: 80
"#,
        ),
        (
            "templates/config.yaml",
            r#"apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ Release.Name }}-config
data:
  a: "1"
  b: "2"
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ Release.Name }}-flags
data:
  c: "3"
"#,
        ),
    ];
    release_support::write_chart(dir, "shop", files)
}

/// The lines of the `==> KEY` block (up to the blank line ending it).
fn block<'a>(text: &'a str, key: &str) -> Vec<&'a str> {
    let mut lines = text.lines().skip_while(|l| *l != format!("==> {key}"));
    assert!(lines.next().is_some(), "no ==> {key} block in:\n{text}");
    lines.take_while(|l| !l.is_empty()).collect()
}

/// A line split on the table's tab separators, padding removed.
fn cells(line: &str) -> Vec<&str> {
    line.split('\t').map(str::trim).collect()
}

#[tokio::test]
async fn show_resources_prints_a_table_per_kind_with_related_pods_and_missing_objects() {
    let (server, c) = release_support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let opts = DeployOptions {
        name: "shop".into(),
        chart: shop_chart(dir.path()),
        settings: ApplySettings {
            quiet: true,
            wait: true,
            timeout: Duration::from_secs(30),
            ..Default::default()
        },
        ..Default::default()
    };
    install(&c, &opts).await.unwrap();
    // Someone deletes an object behind the release's back.
    c.delete(&object("v1", "ConfigMap", "shop-flags"), false)
        .await
        .unwrap();

    let Run {
        code,
        stdout: out,
        stderr: err,
    } = rudder(&server, &["status", "shop", "--show-resources"]);
    assert_eq!(code, 0, "{err}");
    // Resources come after DESCRIPTION and before TEST SUITE, as in helm.
    let (desc, res, suite) = (
        out.find("DESCRIPTION:").unwrap(),
        out.find("RESOURCES:").unwrap(),
        out.find("TEST SUITE:").unwrap(),
    );
    assert!(desc < res && res < suite, "{out}");

    let config = block(&out, "v1/ConfigMap");
    assert_eq!(cells(config[0]), ["NAME", "DATA", "AGE"], "{out}");
    assert_eq!(&cells(config[1])[..2], ["shop-config", "2"], "{out}");
    assert_eq!(cells(config[2]), ["shop-flags", "<missing>"], "{out}");

    let service = block(&out, "v1/Service");
    assert_eq!(
        cells(service[0]),
        [
            "NAME",
            "TYPE",
            "CLUSTER-IP",
            "EXTERNAL-IP",
            "PORT(S)",
            "AGE"
        ],
        "{out}"
    );
    let row = cells(service[1]);
    assert_eq!(
        (row[0], row[1], row[4]),
        ("shop-web", "ClusterIP", "80/TCP")
    );

    let deployment = block(&out, "apps/v1/Deployment");
    assert_eq!(&cells(deployment[0])[..2], ["NAME", "READY"], "{out}");
    assert_eq!(&cells(deployment[1])[..2], ["shop-web", "2/2"], "{out}");

    let pods = block(&out, "v1/Pod(related)");
    assert_eq!(&cells(pods[0])[..3], ["NAME", "READY", "STATUS"], "{out}");
    assert_eq!(pods.len(), 3, "two replicas: {out}");
    for pod in &pods[1..] {
        let row = cells(pod);
        assert!(row[0].starts_with("shop-web-"), "{out}");
        assert_eq!((row[1], row[2]), ("1/1", "Running"), "{out}");
    }

    // Without the flag there is no resource section.
    let Run {
        code,
        stdout: plain,
        stderr: err,
    } = rudder(&server, &["status", "shop"]);
    assert_eq!(code, 0, "{err}");
    assert!(plain.contains("DESCRIPTION:"), "{plain}");
    assert!(!plain.contains("RESOURCES:"), "{plain}");

    // -o json carries the live objects under info.resources, as helm's does.
    let Run {
        code,
        stdout: json,
        stderr: err,
    } = rudder(
        &server,
        &["status", "shop", "--show-resources", "-o", "json"],
    );
    assert_eq!(code, 0, "{err}");
    let release: Value = serde_json::from_str(&json).unwrap();
    let resources = &release["info"]["resources"];
    assert_eq!(resources["v1/Service"][0]["spec"]["type"], "ClusterIP");
    let configs: Vec<&str> = resources["v1/ConfigMap"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["metadata"]["name"].as_str().unwrap())
        .collect();
    assert_eq!(configs, ["shop-config"]);
    assert_eq!(resources["v1/Pod(related)"].as_array().unwrap().len(), 2);
}

//! The real peer binaries (helm v4.1.4, kubectl v1.35.2) for parity tests: from
//! `$RUDDER_PEERS_BIN` (set by scripts/test), else installed by `scripts/install-peers`
//! (cached under target/peers). Tests that need a peer never skip: a missing peer fails.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use rudder::chart::{Chart, ChartFile, Metadata};

/// The directory holding `helm` and `kubectl`.
pub fn bin_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("RUDDER_PEERS_BIN").filter(|d| !d.is_empty()) {
        return PathBuf::from(dir);
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/install-peers");
    let out = Command::new("bash")
        .arg(&script)
        .output()
        .expect("scripts/install-peers runs");
    assert!(
        out.status.success(),
        "scripts/install-peers failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The real helm binary.
pub fn helm() -> PathBuf {
    let helm = bin_dir().join("helm");
    assert!(helm.is_file(), "helm not found at {}", helm.display());
    helm
}

/// A tera chart `mychart` 0.1.0 (`rudder.io/engine: tera`) whose one template,
/// `templates/t.yaml`, is `template`: what the template-function parity tests render with
/// rudder.
pub fn chart(template: &str) -> Chart {
    Chart {
        metadata: Metadata {
            name: "mychart".into(),
            version: "0.1.0".into(),
            api_version: "v2".into(),
            annotations: [(
                rudder::chart::ENGINE_ANNOTATION.to_string(),
                "tera".to_string(),
            )]
            .into(),
            ..Default::default()
        },
        lock: None,
        templates: vec![ChartFile {
            name: "templates/t.yaml".into(),
            data: template.as_bytes().to_vec(),
        }],
        values: Default::default(),
        raw_values: None,
        schema: None,
        files: Vec::new(),
        dependencies: Vec::new(),
    }
}

/// Runs `helm template rel DIR` (helm's homes under `home`, `--set-string` for each of
/// `sets`) on a chart `c` 0.1.0 written to `dir` with one template, `templates/t.yaml`,
/// holding `template`; returns helm's output, failing the test if helm fails.
pub fn helm_template(dir: &Path, home: &Path, template: &str, sets: &[(&str, &str)]) -> String {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: c\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("templates/t.yaml"), template).unwrap();
    let mut cmd = Command::new(helm());
    cmd.arg("template").arg("rel").arg(dir);
    for (k, v) in sets {
        cmd.arg("--set-string").arg(format!("{k}={v}"));
    }
    let out = cmd
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .expect("helm runs");
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

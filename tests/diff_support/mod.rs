//! Shared by the diff tests: a kubesim with a read-only user, releases installed with
//! rudder's own install action, the `rudder` binary run against it, and golden files
//! under `testdata/diff/golden/` (rewritten with `UPDATE_GOLDEN=1`, then reviewed).

#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use rudder::action::install::{DeployOptions, install};
use rudder::action::lifecycle::ApplySettings;
use rudder::action::upgrade::upgrade;
use rudder::kube::{Cluster, ConnectOptions, connect};
use rudder::values::{ValueOptions, ValueSource};

pub fn chart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testdata/diff/chart")
}

/// kubesim with an admin and a `viewer` who may only get and list.
pub async fn server() -> kubesim::Server {
    kubesim::Server::builder()
        .user(kubesim::User {
            name: "viewer".into(),
            token: "viewer-token".into(),
            namespaces: None,
            verbs: Some(vec!["get".into(), "list".into(), "watch".into()]),
        })
        .start()
        .await
        .expect("kubesim starts")
}

pub async fn cluster(server: &kubesim::Server) -> Cluster {
    connect(&ConnectOptions {
        kubeconfig: Some(server.kubeconfig_path().to_path_buf()),
        context: None,
        namespace: Some("default".into()),
    })
    .await
    .expect("connects to kubesim")
}

fn deploy(name: &str, sets: &[&str]) -> DeployOptions {
    DeployOptions {
        name: name.into(),
        chart: chart(),
        values: ValueOptions {
            sources: sets
                .iter()
                .map(|s| ValueSource::Set(s.to_string()))
                .collect(),
        },
        settings: ApplySettings {
            quiet: true,
            timeout: Duration::from_secs(20),
            ..Default::default()
        },
        history_max: 10,
        ..Default::default()
    }
}

/// Installs the test chart as `name` with `--set` values.
pub async fn install_release(c: &Cluster, name: &str, sets: &[&str]) {
    install(c, &deploy(name, sets)).await.expect("installs");
}

/// Upgrades `name` to the test chart with `--set` values.
pub async fn upgrade_release(c: &Cluster, name: &str, sets: &[&str]) {
    upgrade(c, &deploy(name, sets)).await.expect("upgrades");
}

/// What a run of the rudder binary printed.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// stderr lines that are rudder's (`Error:` / `Note:`).
    pub fn lines(&self, prefix: &str) -> Vec<String> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with(prefix))
            .map(String::from)
            .collect()
    }
}

/// Runs `rudder ARGS --kubeconfig … [-n default]` (stdout is a pipe: no colour by default).
pub fn rudder(server: &kubesim::Server, args: &[&str]) -> Run {
    let namespaced = args.iter().any(|a| *a == "-n" || *a == "--namespace");
    let out = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .args(args)
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path())
        .args(if namespaced {
            &[][..]
        } else {
            &["-n", "default"][..]
        })
        .env_remove("NO_COLOR")
        .output()
        .expect("rudder runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// `rudder diff upgrade NAME <test chart> ARGS…`
pub fn diff_upgrade(server: &kubesim::Server, name: &str, args: &[&str]) -> Run {
    let chart = chart();
    let mut all = vec!["diff", "upgrade", name, chart.to_str().unwrap()];
    all.extend_from_slice(args);
    rudder(server, &all)
}

/// Compares `actual` with `testdata/diff/golden/NAME`.
pub fn golden(name: &str, actual: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/diff/golden")
        .join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run with UPDATE_GOLDEN=1)", path.display()));
    assert_eq!(actual, expected, "output differs from {}", path.display());
}

/// The `+ `/`- ` lines of a diff output.
pub fn changed_lines(output: &str) -> Vec<&str> {
    output
        .lines()
        .filter(|l| l.starts_with("+ ") || l.starts_with("- "))
        .collect()
}

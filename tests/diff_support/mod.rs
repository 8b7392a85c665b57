//! Shared by the diff tests: a kubesim with a read-only user, releases installed with
//! rudder's own install action, the `rudder` binary run against it, and golden files
//! under `testdata/diff/golden/` (rewritten with `UPDATE_GOLDEN=1`, then reviewed).

#![allow(dead_code)]

use std::path::PathBuf;

pub use crate::release_support::{Run, cluster};
use crate::release_support::{deploy_options, quiet_settings, rudder_command, run};
use rudder::action::config::Configuration;
use rudder::action::install::{DeployOptions, install};
use rudder::action::upgrade::upgrade;
use rudder::kube::{ApplyOptions, Cluster};
use serde_json::json;

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

fn deploy(name: &str, sets: &[&str]) -> DeployOptions {
    deploy_options(name, chart(), sets, quiet_settings())
}

/// `server()` with the test chart installed as `shop` with `--set` values.
pub async fn server_with_shop(sets: &[&str]) -> kubesim::Server {
    let server = server().await;
    install_release(&cluster(&server).await, "shop", sets).await;
    server
}

/// Installs the test chart as `name` with `--set` values.
pub async fn install_release(c: &Configuration, name: &str, sets: &[&str]) {
    install(c, &deploy(name, sets)).await.expect("installs");
}

/// Upgrades `name` to the test chart with `--set` values.
pub async fn upgrade_release(c: &Configuration, name: &str, sets: &[&str]) {
    upgrade(c, &deploy(name, sets)).await.expect("upgrades");
}

/// Another field manager (`manager`) takes `.spec.replicas` of Deployment `name`, forcing
/// the conflict.
pub async fn take_replicas(c: &Cluster, name: &str, replicas: u32, manager: &str) {
    c.apply(
        &json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"replicas": replicas}}),
        &ApplyOptions {
            field_manager: manager.into(),
            force: true,
            dry_run: false,
        },
    )
    .await
    .unwrap();
}

/// Runs `rudder ARGS --kubeconfig … [-n default]` (stdout is a pipe: no colour by default).
pub fn rudder(server: &kubesim::Server, args: &[&str]) -> Run {
    let namespaced = args.iter().any(|a| *a == "-n" || *a == "--namespace");
    run(rudder_command(server, args)
        .args(if namespaced {
            &[][..]
        } else {
            &["-n", "default"][..]
        })
        .env_remove("NO_COLOR"))
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

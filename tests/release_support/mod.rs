//! Shared by the release and diff tests that run against kubesim: connecting to it, the
//! usual deploy options, running the `rudder` binary, and the large generated chart.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use rudder::action::config::Configuration;
use rudder::action::install::DeployOptions;
use rudder::action::lifecycle::ApplySettings;
use rudder::action::rollback::RollbackOptions;
use rudder::action::uninstall::UninstallOptions;
use rudder::kube::{ConnectOptions, ObjectRef, connect};
use rudder::values::{ValueOptions, ValueSource};

/// `testdata/release/NAME`.
pub fn release_chart(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/release")
        .join(name)
}

/// Writes tera chart `name` under `dir` (at `dir/name`): a `Chart.yaml` of version 0.1.0
/// marked `rudder.io/engine: tera`, an empty `templates/` and `files`, each a path in the
/// chart and its text.
pub fn write_chart<P, T>(dir: &Path, name: &str, files: impl IntoIterator<Item = (P, T)>) -> PathBuf
where
    P: AsRef<Path>,
    T: AsRef<[u8]>,
{
    let chart = dir.join(name);
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: {name}\nversion: 0.1.0\nannotations:\n  rudder.io/engine: tera\n"
        ),
    )
    .unwrap();
    for (path, text) in files {
        let path = chart.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    chart
}

/// The object `kind`/`name` of `api_version` in namespace `default`.
pub fn object(api_version: &str, kind: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: api_version.into(),
        kind: kind.into(),
        namespace: Some("default".into()),
        name: name.into(),
    }
}

/// Connects to kubesim through its kubeconfig, in `context` (its current one when `None`)
/// and `namespace` (the context's when `None`).
pub async fn connect_with(
    server: &kubesim::Server,
    context: Option<&str>,
    namespace: Option<&str>,
) -> Configuration {
    let cluster = connect(&ConnectOptions {
        kubeconfig: Some(server.kubeconfig_path().to_path_buf()),
        context: context.map(String::from),
        namespace: namespace.map(String::from),
    })
    .await
    .expect("connects to kubesim");
    Configuration::new(cluster)
}

/// Connects to kubesim as its admin, in namespace `default`.
pub async fn cluster(server: &kubesim::Server) -> Configuration {
    connect_with(server, None, Some("default")).await
}

/// A plain kubesim and an admin connection to it in namespace `default`.
pub async fn start() -> (kubesim::Server, Configuration) {
    let server = kubesim::Server::start().await.expect("kubesim starts");
    let cluster = cluster(&server).await;
    (server, cluster)
}

/// A kubesim whose controllers take 200 ms to act (so waiting is observable), and an admin
/// connection to it in namespace `default`.
pub async fn start_with_slow_controllers() -> (kubesim::Server, Configuration) {
    let server = kubesim::Server::builder()
        .controller_delay(Duration::from_millis(200))
        .start()
        .await
        .expect("kubesim starts");
    let cluster = cluster(&server).await;
    (server, cluster)
}

/// A kubesim user who may do anything, but only in namespace `team-a`.
pub fn alice() -> kubesim::User {
    kubesim::User {
        name: "alice".into(),
        token: "alice-token".into(),
        namespaces: Some(vec!["team-a".into()]),
        verbs: None,
    }
}

/// Quiet apply settings with a 20 s timeout.
pub fn quiet_settings() -> ApplySettings {
    ApplySettings {
        quiet: true,
        timeout: Duration::from_secs(20),
        ..Default::default()
    }
}

/// Deploys `chart` as `name` with `--set` values, keeping 10 revisions.
pub fn deploy_options(
    name: &str,
    chart: PathBuf,
    sets: &[&str],
    settings: ApplySettings,
) -> DeployOptions {
    DeployOptions {
        name: name.into(),
        chart,
        values: ValueOptions {
            sources: sets
                .iter()
                .map(|s| ValueSource::Set(s.to_string()))
                .collect(),
        },
        settings,
        history_max: 10,
        ..Default::default()
    }
}

/// Rolls `name` back, quietly (to the previous revision unless a field says otherwise).
pub fn rollback_options(name: &str) -> RollbackOptions {
    RollbackOptions {
        name: name.into(),
        settings: quiet_settings(),
        ..Default::default()
    }
}

/// Uninstalls `name`, quietly.
pub fn uninstall_options(name: &str) -> UninstallOptions {
    UninstallOptions {
        name: name.into(),
        settings: quiet_settings(),
        ..Default::default()
    }
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

/// `rudder ARGS --kubeconfig …` against kubesim (no namespace flag), not yet run.
pub fn rudder_command(server: &kubesim::Server, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rudder"));
    command
        .args(args)
        .arg("--kubeconfig")
        .arg(server.kubeconfig_path());
    command
}

/// `rudder ARGS --kubeconfig … -n default`, not yet run.
pub fn rudder_in_default(server: &kubesim::Server, args: &[&str]) -> Command {
    let mut command = rudder_command(server, args);
    command.args(["-n", "default"]);
    command
}

/// Runs `rudder ARGS --kubeconfig … -n default` to the end.
pub fn rudder(server: &kubesim::Server, args: &[&str]) -> Run {
    run(&mut rudder_in_default(server, args))
}

/// Runs `command` to the end.
pub fn run(command: &mut Command) -> Run {
    let out = command.output().expect("rudder runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).expect("utf-8 stdout"),
        stderr: String::from_utf8(out.stderr).expect("utf-8 stderr"),
    }
}

/// Writes a chart to `chart` holding `count` ConfigMaps of 768 KiB of incompressible text
/// (seeded by `salt`, which each one also carries).
pub fn big_chart(chart: &Path, salt: &str, count: usize) -> PathBuf {
    use std::fmt::Write as _;
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: big\nversion: 1.0.0\n",
    )
    .unwrap();
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15 ^ salt.len() as u64;
    for i in 0..count {
        let mut blob = String::with_capacity(786_432);
        while blob.len() < 786_432 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            write!(blob, "{state:016x}").unwrap();
        }
        std::fs::write(
            chart.join(format!("templates/blob{i}.yaml")),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big-{i}\ndata:\n  salt: {salt:?}\n  blob: {blob}\n"
            ),
        )
        .unwrap();
    }
    chart.to_path_buf()
}

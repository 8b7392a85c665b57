//! Storage drivers: the same lifecycle over `memory`, `configmap` and `sql` (a real
//! PostgreSQL server from Debian's packages, started on loopback for the test), and helm
//! 4.1.4 reading and writing the same records through its own `HELM_DRIVER`.

mod release_support;
mod repo_support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::Api;
use rudder::action::config::Configuration;
use rudder::action::install::install;
use rudder::action::rollback::rollback;
use rudder::action::uninstall::uninstall;
use rudder::action::upgrade::upgrade;
use rudder::storage::Status;
use rudder::storage::driver::memory::MemoryDriver;

use release_support::{
    cluster, deploy_options, quiet_settings, release_chart, rollback_options, uninstall_options,
};

async fn statuses(config: &Configuration, name: &str) -> Vec<(u64, Status)> {
    config
        .storage
        .history_stored(name)
        .await
        .unwrap()
        .iter()
        .map(|s| (s.release.version, s.release.info.status))
        .collect()
}

#[tokio::test]
async fn the_memory_driver_keeps_records_in_the_process_only() {
    let server = kubesim::Server::start().await.unwrap();
    let c = cluster(&server).await;
    let config = Configuration::with_driver(c.cluster.clone(), Arc::new(MemoryDriver::default()));
    let chart = release_chart("app");
    install(
        &config,
        &deploy_options("mem", chart.clone(), &[], quiet_settings()),
    )
    .await
    .unwrap();
    upgrade(
        &config,
        &deploy_options("mem", chart, &["greeting=hi"], quiet_settings()),
    )
    .await
    .unwrap();
    rollback(&config, &rollback_options("mem")).await.unwrap();
    assert_eq!(
        statuses(&config, "mem").await,
        vec![
            (1, Status::Superseded),
            (2, Status::Superseded),
            (3, Status::Deployed)
        ]
    );
    assert_eq!(config.storage.driver_name(), "Memory");
    // Nothing was written to the cluster's Secrets.
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "default");
    assert!(
        secrets
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    uninstall(&config, &uninstall_options("mem")).await.unwrap();
    assert!(statuses(&config, "mem").await.is_empty());
}

fn run(program: &Path, args: &[&str], env: &[(&str, &str)], kubeconfig: &Path) -> String {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(program)
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .envs(env.iter().copied())
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{} {args:?} failed:\n{}\n{}",
        program.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn rudder_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rudder"))
}

/// rudder and helm take turns on one release through the same driver settings, and each
/// reads what the other wrote.
fn take_turns(kubeconfig: &Path, env: &[(&str, &str)]) {
    let helm = repo_support::helm_bin();
    // A helm chart (Go templates), so both tools render it.
    let dir = tempfile::tempdir().unwrap();
    let chart = release_support::write_chart(
        dir.path(),
        "turns",
        [
            (
                "Chart.yaml",
                "apiVersion: v2\nname: turns\nversion: 0.1.0\n",
            ),
            ("values.yaml", "greeting: hello\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  greeting: {{ .Values.greeting }}\n",
            ),
        ],
    );
    let chart = chart.to_str().unwrap();
    run(
        &rudder_bin(),
        &["install", "turns", chart, "--set", "greeting=one"],
        env,
        kubeconfig,
    );
    run(
        &helm,
        &[
            "upgrade",
            "turns",
            chart,
            "--set",
            "greeting=two",
            "--force-conflicts",
        ],
        env,
        kubeconfig,
    );
    let history = run(
        &rudder_bin(),
        &["history", "turns", "-o", "json"],
        env,
        kubeconfig,
    );
    let history: serde_json::Value = serde_json::from_str(&history).unwrap();
    assert_eq!(history.as_array().unwrap().len(), 2, "{history}");
    assert_eq!(history[1]["status"], "deployed");
    run(&rudder_bin(), &["rollback", "turns", "1"], env, kubeconfig);
    let theirs = run(&helm, &["history", "turns", "-o", "json"], env, kubeconfig);
    let theirs: serde_json::Value = serde_json::from_str(&theirs).unwrap();
    let statuses: Vec<&str> = theirs
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["superseded", "superseded", "deployed"]);
    let values = run(
        &helm,
        &["get", "values", "turns", "-o", "json"],
        env,
        kubeconfig,
    );
    assert_eq!(values.trim(), r#"{"greeting":"one"}"#);
    run(&helm, &["uninstall", "turns"], env, kubeconfig);
    let list = run(&rudder_bin(), &["list", "-o", "json"], env, kubeconfig);
    assert_eq!(list.trim(), "[]");
}

#[tokio::test]
async fn rudder_and_helm_share_releases_in_config_maps() {
    let server = kubesim::Server::start().await.unwrap();
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let c = cluster(&server).await;
    let configmaps: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "default");
    let kc = kubeconfig.clone();
    tokio::task::spawn_blocking(move || {
        // RUDDER_DRIVER wins over HELM_DRIVER for rudder; helm reads HELM_DRIVER.
        take_turns(
            &kc,
            &[
                ("HELM_DRIVER", "configmap"),
                ("RUDDER_DRIVER", "configmaps"),
            ],
        )
    })
    .await
    .unwrap();
    assert_eq!(
        turns_records(&secrets).await,
        0,
        "no Secret records with the configmap driver"
    );
    assert_eq!(
        turns_records(&configmaps).await,
        0,
        "helm's uninstall removed the ConfigMap records"
    );
}

/// How many objects of `api` are records of the release `turns`.
async fn turns_records<K>(api: &Api<K>) -> usize
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    api.list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|o| {
            o.meta()
                .name
                .as_deref()
                .is_some_and(|n| n.starts_with("sh.helm.release.v1.turns."))
        })
        .count()
}

/// A PostgreSQL server on loopback in a temporary directory, stopped when dropped.
struct Postgres {
    dir: tempfile::TempDir,
    port: u16,
}

/// A PostgreSQL program from Debian's package (the newest major installed), else on PATH.
fn postgres_bin(name: &str) -> PathBuf {
    let mut majors: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| {
            dirs.flatten()
                .map(|d| d.path().join("bin").join(name))
                .collect()
        })
        .unwrap_or_default();
    majors.sort();
    majors
        .pop()
        .filter(|p| p.exists())
        .or_else(|| {
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
                .map(|dir| dir.join(name))
                .find(|p| p.exists())
        })
        .unwrap_or_else(|| {
            panic!("PostgreSQL's {name} is not installed (apt-get install postgresql)")
        })
}

/// Runs a PostgreSQL tool as the `postgres` user when this process is root (the server
/// refuses to run as root).
fn as_postgres(program: &Path) -> Command {
    if is_root() {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}

impl Postgres {
    fn start() -> Postgres {
        Postgres::start_with(|_| String::new())
    }

    /// A server that accepts only TLS connections on loopback, with a certificate for
    /// 127.0.0.1 and localhost issued by the test CA `repo_support::pki` writes in its
    /// directory; returns it and that CA.
    fn start_tls_only() -> (Postgres, PathBuf) {
        let mut ca = PathBuf::new();
        let db = Postgres::start_with(|dir| {
            let pki = repo_support::pki(dir);
            ca = pki.ca.clone();
            std::fs::write(
                dir.join("data/pg_hba.conf"),
                "local all all trust\nhostssl all all 127.0.0.1/32 trust\n",
            )
            .unwrap();
            for f in [&pki.server.cert, &pki.server.key] {
                std::fs::set_permissions(f, std::os::unix::fs::PermissionsExt::from_mode(0o600))
                    .unwrap();
                if is_root() {
                    assert!(
                        Command::new("chown")
                            .arg("postgres")
                            .arg(f)
                            .status()
                            .unwrap()
                            .success()
                    );
                }
            }
            format!(
                " -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}",
                pki.server.cert.display(),
                pki.server.key.display()
            )
        });
        (db, ca)
    }

    /// Starts a server after `configure` (given the server's directory, once `initdb` has
    /// filled `data/`) returned extra server options.
    fn start_with(configure: impl FnOnce(&Path) -> String) -> Postgres {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        if is_root() {
            let status = Command::new("chown")
                .args(["-R", "postgres"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(status.success());
        }
        let out = as_postgres(&postgres_bin("initdb"))
            .args(["--auth=trust", "--username=postgres", "-D"])
            .arg(&data)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "initdb: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {port} -k {}{}",
            dir.path().display(),
            configure(dir.path())
        );
        let out = as_postgres(&postgres_bin("pg_ctl"))
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-o", &options, "-l"])
            .arg(dir.path().join("log"))
            .arg("start")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl start: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Postgres { dir, port }
    }

    fn connection(&self) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname=postgres sslmode=disable",
            self.port
        )
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = as_postgres(&postgres_bin("pg_ctl"))
            .args(["-w", "-m", "immediate", "-D"])
            .arg(self.dir.path().join("data"))
            .arg("stop")
            .output();
    }
}

#[tokio::test]
async fn rudder_and_helm_share_releases_in_postgresql() {
    let db = Postgres::start();
    let server = kubesim::Server::start().await.unwrap();
    let kubeconfig = server.kubeconfig_path().to_path_buf();
    let connection = db.connection();
    // rudder creates the tables first (as helm would have), so helm finds its migrations
    // applied; then they take turns.
    tokio::task::spawn_blocking(move || {
        take_turns(
            &kubeconfig,
            &[
                ("HELM_DRIVER", "sql"),
                ("HELM_DRIVER_SQL_CONNECTION_STRING", &connection),
            ],
        )
    })
    .await
    .unwrap();
    // Nothing went to the cluster's Secrets.
    let c = cluster(&server).await;
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "default");
    assert!(
        secrets
            .list(&Default::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // A bad connection string is one clear error, before anything is rendered.
    let out = Command::new(rudder_bin())
        .args(["list"])
        .env("KUBECONFIG", server.kubeconfig_path())
        .env("RUDDER_DRIVER", "sql")
        .env(
            "RUDDER_DRIVER_SQL_CONNECTION_STRING",
            "host=127.0.0.1 port=1 user=postgres sslmode=disable",
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("sql driver: cannot connect to the database"),
        "{stderr}"
    );
    drop(db);
}

/// The sql driver speaks TLS as libpq does: `sslmode` `require` encrypts, `verify-ca`
/// checks the server's certificate against `sslrootcert`, `verify-full` also its host
/// name, the default (`prefer`) uses TLS when the server offers it; every refusal is one
/// clear error.
#[tokio::test]
async fn the_sql_driver_connects_over_tls_as_libpq_does() {
    use rudder::storage::driver::sql::SqlDriver;
    let (db, ca) = Postgres::start_tls_only();
    let base = format!("port={} user=postgres dbname=postgres", db.port);
    let connect = |extra: String| {
        let connection = format!("{base} {extra}");
        async move {
            SqlDriver::connect(&connection)
                .await
                .map(drop)
                .map_err(|e| e.to_string())
        }
    };
    let ca = ca.display();
    for ok in [
        "host=127.0.0.1 sslmode=require".to_string(),
        "host=127.0.0.1".to_string(),
        format!("host=localhost sslmode=verify-full sslrootcert={ca}"),
        format!("host=127.0.0.1 sslmode=verify-ca sslrootcert={ca}"),
    ] {
        connect(ok.clone())
            .await
            .unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
    let url = format!(
        "postgresql://postgres@localhost:{}/postgres?sslmode=verify-full&sslrootcert={ca}",
        db.port
    );
    SqlDriver::connect(&url).await.map(drop).unwrap();

    // The server takes TLS connections only.
    let e = connect("host=127.0.0.1 sslmode=disable".into())
        .await
        .unwrap_err();
    assert!(
        e.starts_with("sql driver: cannot connect to the database"),
        "{e}"
    );
    assert!(
        e.contains("no encryption"),
        "the server's reason is given: {e}"
    );
    // A certificate from a CA not trusted, or for another name, is refused.
    let other = tempfile::tempdir().unwrap();
    let other_ca = repo_support::pki(other.path()).ca;
    let e = connect(format!(
        "host=localhost sslmode=verify-full sslrootcert={}",
        other_ca.display()
    ))
    .await
    .unwrap_err();
    assert!(
        e.contains("error performing TLS handshake: invalid peer certificate"),
        "{e}"
    );
    let e = connect("host=localhost sslmode=verify-ca sslrootcert=/nonexistent/ca.pem".into())
        .await
        .unwrap_err();
    assert!(
        e.contains("cannot read sslrootcert /nonexistent/ca.pem"),
        "{e}"
    );
    let e = connect("host=localhost sslmode=sometimes".into())
        .await
        .unwrap_err();
    assert!(e.contains("invalid sslmode \"sometimes\""), "{e}");
}

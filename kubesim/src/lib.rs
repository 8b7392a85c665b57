//! kubesim: a Kubernetes API server simulator that tests start in-process.
//!
//! `Server::start()` listens on 127.0.0.1 (random port) over HTTPS with a generated CA, writes a
//! kubeconfig for the admin user and hands out ready `kube::Client`s. The server shuts down when
//! dropped.

pub mod api;
pub mod apply;
pub mod controller;
pub mod crd_schema;
pub mod discovery;
pub mod errors;
pub mod faults;
pub mod fields;
pub mod journal;
pub mod kinds;
pub mod patch;
pub mod proto;
pub mod schema;
pub mod selectors;
pub mod store;
pub mod table;
pub mod tls;
pub mod validation;

pub use faults::{Faults, Matcher, Pause, Resume};

use anyhow::Context;
use api::AppState;
use hyper_util::rt::{TokioExecutor, TokioIo};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// A user the server authenticates by bearer token.
///
/// `namespaces: Some(..)` limits the user to those namespaces (cluster-scoped requests are
/// forbidden); `verbs: Some(..)` limits the verbs (`get`, `list`, `watch`, `create`, `update`,
/// `patch`, `delete`, `deletecollection`). Unknown tokens get 401, requests outside the limits 403.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: String,
    pub token: String,
    pub namespaces: Option<Vec<String>>,
    pub verbs: Option<Vec<String>>,
}

impl User {
    /// A user with no limits.
    pub fn unrestricted(name: &str, token: &str) -> User {
        User {
            name: name.into(),
            token: token.into(),
            namespaces: None,
            verbs: None,
        }
    }
}

/// Configures a [`Server`] before it starts.
pub struct ServerBuilder {
    plain_http: bool,
    port: u16,
    users: Vec<User>,
    state_file: Option<PathBuf>,
    controller_delay: Duration,
    fail_image_tag: String,
    log: bool,
}

impl ServerBuilder {
    /// Serve plain HTTP instead of HTTPS.
    pub fn plain_http(mut self, plain: bool) -> Self {
        self.plain_http = plain;
        self
    }

    /// Listen on this port (0, the default, picks a free one).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Adds a user (besides the built-in `admin`).
    pub fn user(mut self, user: User) -> Self {
        self.users.push(user);
        self
    }

    /// Persist every object to this file and load it on start if it exists.
    pub fn state_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.state_file = Some(path.into());
        self
    }

    /// How long the simulated controllers take to converge a rollout.
    pub fn controller_delay(mut self, delay: Duration) -> Self {
        self.controller_delay = delay;
        self
    }

    /// Pod templates whose image has this tag never become ready.
    pub fn fail_image_tag(mut self, tag: &str) -> Self {
        self.fail_image_tag = tag.to_string();
        self
    }

    /// Log every request to stderr (also enabled by the `KUBESIM_LOG` environment variable).
    pub fn log_requests(mut self, log: bool) -> Self {
        self.log = log;
        self
    }

    /// Starts listening.
    pub async fn start(self) -> anyhow::Result<Server> {
        // Clients in the same process (kube's, the tests') need a process-wide TLS crypto
        // provider; when a build links both of rustls' providers none is chosen by itself.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let admin_token = format!("kubesim-admin-{:032x}", rand::random::<u128>());
        let mut users = vec![User::unrestricted("admin", &admin_token)];
        users.extend(self.users);
        let store = match &self.state_file {
            Some(path) if path.exists() => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("reading the state file {}", path.display()))?;
                store::Store::restore(&text).with_context(|| {
                    format!(
                        "the state file {} is not a kubesim snapshot",
                        path.display()
                    )
                })?
            }
            _ => store::Store::new(),
        };
        let state = Arc::new(AppState {
            store: Mutex::new(store),
            users,
            faults: Faults::default(),
            journal: journal::Journal::default(),
            state_file: self.state_file,
            server_address: Mutex::new(String::new()),
            log: self.log || std::env::var_os("KUBESIM_LOG").is_some(),
        });
        let certs = if self.plain_http {
            None
        } else {
            Some(tls::generate().context("generating the server certificate")?)
        };
        let runtime = ServerRuntime::new()?;
        let listener = std::net::TcpListener::bind(("127.0.0.1", self.port))
            .with_context(|| format!("binding 127.0.0.1:{}", self.port))?;
        let addr = listener.local_addr()?;
        *state.server_address.lock().expect("lock") = addr.to_string();
        let dir = tempfile::tempdir().context("creating the kubeconfig directory")?;
        let kubeconfig = dir.path().join("kubeconfig");
        let mut server = Server {
            state,
            addr,
            tls: certs.as_ref().map(|c| c.server_config.clone()),
            ca_pem: certs.map(|c| c.ca_pem),
            admin_token,
            _dir: dir,
            kubeconfig,
            running: None,
            controller: None,
            runtime,
        };
        server.controller = Some(controller::spawn(
            &server.runtime.handle,
            server.state.clone(),
            controller::ControllerConfig {
                delay: self.controller_delay,
                fail_image_tag: self.fail_image_tag,
                ca_pem: server.ca_pem.clone().unwrap_or_default(),
            },
        ));
        server.write_kubeconfig(&server.kubeconfig.clone())?;
        server.serve(listener)?;
        Ok(server)
    }
}

/// The server's own tokio runtime on a background thread, so the server keeps answering while
/// the test that started it blocks (for example on `std::process::Command::output`).
struct ServerRuntime {
    handle: tokio::runtime::Handle,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl ServerRuntime {
    fn new() -> anyhow::Result<ServerRuntime> {
        let (handle_tx, handle_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        std::thread::Builder::new()
            .name("kubesim".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .thread_name("kubesim-worker")
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(rt) => rt,
                    Err(e) => {
                        let _ = handle_tx.send(Err(e));
                        return;
                    }
                };
                let _ = handle_tx.send(Ok(runtime.handle().clone()));
                runtime.block_on(async {
                    let _ = shutdown_rx.await;
                });
                runtime.shutdown_background();
            })
            .context("starting the kubesim thread")?;
        let handle = handle_rx
            .recv()
            .context("the kubesim thread ended before its runtime started")?
            .context("building the kubesim runtime")?;
        Ok(ServerRuntime {
            handle,
            shutdown: Some(shutdown_tx),
        })
    }
}

impl Drop for ServerRuntime {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// A running API server; shuts down on drop.
pub struct Server {
    state: Arc<AppState>,
    addr: SocketAddr,
    tls: Option<Arc<rustls::ServerConfig>>,
    ca_pem: Option<String>,
    admin_token: String,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
    running: Option<(watch::Sender<bool>, JoinHandle<()>)>,
    controller: Option<JoinHandle<()>>,
    runtime: ServerRuntime,
}

impl Server {
    /// Starts an HTTPS server on 127.0.0.1 with a random port and an admin token.
    pub async fn start() -> anyhow::Result<Server> {
        Server::builder().start().await
    }

    /// Configures a server before starting it.
    pub fn builder() -> ServerBuilder {
        ServerBuilder {
            plain_http: false,
            port: 0,
            users: Vec::new(),
            state_file: None,
            controller_delay: Duration::from_millis(300),
            fail_image_tag: "fail".into(),
            log: false,
        }
    }

    /// `https://127.0.0.1:PORT` (or `http://` for plain HTTP).
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}", self.addr)
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// A kubeconfig (CA data, admin token; one extra context per configured user).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// The PEM of the CA that signed the server certificate (None for plain HTTP).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The admin user's bearer token.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }

    /// Fault injection for this server.
    pub fn faults(&self) -> Faults {
        self.state.faults.clone()
    }

    /// The writes this server received, in order.
    pub fn journal(&self) -> journal::Journal {
        self.state.journal.clone()
    }

    /// A client authenticated as the admin user.
    pub async fn client(&self) -> kube::Client {
        self.client_for_token(&self.admin_token.clone())
            .expect("a client for kubesim's own kubeconfig")
    }

    /// A client authenticated as the configured user `name`.
    pub fn client_for_user(&self, name: &str) -> anyhow::Result<kube::Client> {
        let user = self
            .state
            .users
            .iter()
            .find(|u| u.name == name)
            .with_context(|| format!("no user named {name} is configured"))?;
        self.client_for_token(&user.token.clone())
    }

    fn client_for_token(&self, token: &str) -> anyhow::Result<kube::Client> {
        let mut config = kube::Config::new(self.url().parse()?);
        config.default_namespace = "default".into();
        config.root_cert = self
            .ca_pem
            .as_ref()
            .map(|pem| pem_to_der(pem))
            .transpose()?
            .map(|der| vec![der]);
        config.auth_info.token = Some(token.to_string().into());
        config.read_timeout = Some(Duration::from_secs(300));
        Ok(kube::Client::try_from(config)?)
    }

    /// Writes a kubeconfig for this server to `path`.
    pub fn write_kubeconfig(&self, path: &Path) -> anyhow::Result<()> {
        use base64::Engine;
        let mut cluster = serde_json::json!({"server": self.url()});
        if let Some(pem) = &self.ca_pem {
            cluster["certificate-authority-data"] =
                base64::engine::general_purpose::STANDARD.encode(pem).into();
        }
        let users: Vec<serde_json::Value> = self
            .state
            .users
            .iter()
            .map(|u| serde_json::json!({"name": u.name, "user": {"token": u.token}}))
            .collect();
        let contexts: Vec<serde_json::Value> = self
            .state
            .users
            .iter()
            .map(|u| {
                let name = if u.name == "admin" {
                    "kubesim".to_string()
                } else {
                    format!("kubesim-{}", u.name)
                };
                let ns = u
                    .namespaces
                    .as_ref()
                    .and_then(|n| n.first().cloned())
                    .unwrap_or_else(|| "default".into());
                serde_json::json!({"name": name, "context": {"cluster": "kubesim", "user": u.name, "namespace": ns}})
            })
            .collect();
        let doc = serde_json::json!({
            "apiVersion": "v1", "kind": "Config", "preferences": {},
            "clusters": [{"name": "kubesim", "cluster": cluster}],
            "users": users, "contexts": contexts, "current-context": "kubesim",
        });
        std::fs::write(path, serde_yaml::to_string(&doc)?)
            .with_context(|| format!("writing the kubeconfig {}", path.display()))?;
        Ok(())
    }

    fn serve(&mut self, listener: std::net::TcpListener) -> anyhow::Result<()> {
        listener.set_nonblocking(true)?;
        let listener = {
            let _context = self.runtime.handle.enter();
            TcpListener::from_std(listener)?
        };
        let (tx, mut rx) = watch::channel(false);
        let state = self.state.clone();
        let acceptor = self.tls.clone().map(tokio_rustls::TlsAcceptor::from);
        let task = self.runtime.handle.spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            loop {
                tokio::select! {
                    _ = rx.changed() => break,
                    accepted = listener.accept() => {
                        let Ok((tcp, _)) = accepted else { continue };
                        let _ = tcp.set_nodelay(true);
                        while connections.try_join_next().is_some() {}
                        let state = state.clone();
                        let acceptor = acceptor.clone();
                        connections.spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                api::handle(state.clone(), req)
                            });
                            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
                            match acceptor {
                                Some(acceptor) => {
                                    if let Ok(tls) = acceptor.accept(tcp).await {
                                        let _ = builder.serve_connection_with_upgrades(TokioIo::new(tls), service).await;
                                    }
                                }
                                None => {
                                    let _ = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service).await;
                                }
                            }
                        });
                    }
                }
            }
            connections.abort_all();
            while connections.join_next().await.is_some() {}
        });
        self.running = Some((tx, task));
        Ok(())
    }

    /// Stops listening and closes every connection; the state is kept.
    pub async fn stop(&mut self) {
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(true);
            let _ = task.await;
        }
    }

    /// Stops, then listens again on the same port with the same state.
    pub async fn restart(&mut self) -> anyhow::Result<()> {
        self.stop().await;
        let mut last_err = None;
        for _ in 0..50 {
            match std::net::TcpListener::bind(self.addr) {
                Ok(listener) => return self.serve(listener),
                Err(e) => {
                    last_err = Some(e);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
        Err(last_err.expect("at least one bind attempt"))
            .with_context(|| format!("re-binding {}", self.addr))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(controller) = self.controller.take() {
            controller.abort();
        }
        if let Some((tx, task)) = self.running.take() {
            let _ = tx.send(true);
            task.abort();
        }
    }
}

fn pem_to_der(pem: &str) -> anyhow::Result<Vec<u8>> {
    use base64::Engine;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    Ok(base64::engine::general_purpose::STANDARD.decode(body)?)
}

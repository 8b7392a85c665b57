//! Shared helpers of the repository, dependency and OCI tests: the real helm binary, the
//! rudder binary with isolated config/cache directories, chart packages made on the fly,
//! and real servers started on loopback (nginx for HTTP repositories, Debian's
//! `docker-registry` for OCI, see [`oci`]). Servers are stopped when their handle drops.

#![allow(dead_code)]

/// The real helm binary (see tests/peers).
pub fn helm_bin() -> PathBuf {
    peers::helm()
}

#[path = "../peers/mod.rs"]
mod peers;

mod oci;
#[allow(unused_imports)]
pub use oci::*;

use std::fs;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Result of running a command.
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

fn run(out: Output) -> Run {
    Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The output of a command that must succeed.
pub fn ok(r: Run) -> String {
    assert!(r.ok, "command failed: {}{}", r.stdout, r.stderr);
    r.stdout
}

/// The error output of a command that must fail.
pub fn fails(r: Run) -> String {
    assert!(!r.ok, "command should fail but printed: {}", r.stdout);
    r.stderr
}

/// Runs helm with its homes under `home`.
pub fn helm(home: &Path, args: &[&str]) -> Run {
    run(Command::new(helm_bin())
        .args(args)
        .env("HELM_CACHE_HOME", home.join("helm/cache"))
        .env("HELM_CONFIG_HOME", home.join("helm/config"))
        .env("HELM_DATA_HOME", home.join("helm/data"))
        .stdin(Stdio::null())
        .output()
        .expect("helm runs"))
}

/// Runs rudder with its config and cache under `home`.
pub fn rudder(home: &Path, args: &[&str]) -> Run {
    rudder_stdin(home, args, "")
}

/// Runs rudder with `stdin` as its standard input.
pub fn rudder_stdin(home: &Path, args: &[&str], stdin: &str) -> Run {
    rudder_full(home, args, stdin, &[])
}

/// Runs rudder with extra environment variables.
pub fn rudder_env(home: &Path, args: &[&str], env: &[(&str, &str)]) -> Run {
    rudder_full(home, args, "", env)
}

/// Runs rudder under `umask` (e.g. `022`), with its config and cache under `home`.
pub fn rudder_umask(home: &Path, umask: &str, args: &[&str]) -> Run {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(format!("umask {umask} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_rudder"));
    rudder_run(command, home, args, "", &[])
}

fn rudder_full(home: &Path, args: &[&str], stdin: &str, env: &[(&str, &str)]) -> Run {
    rudder_run(
        Command::new(env!("CARGO_BIN_EXE_rudder")),
        home,
        args,
        stdin,
        env,
    )
}

fn rudder_run(
    mut command: Command,
    home: &Path,
    args: &[&str],
    stdin: &str,
    env: &[(&str, &str)],
) -> Run {
    use std::io::Write as _;
    command
        .args(args)
        .env("RUDDER_CONFIG_HOME", home.join("config"))
        .env("RUDDER_CACHE_HOME", home.join("cache"))
        .env("DOCKER_CONFIG", home.join("docker"))
        .env_remove("RUDDER_REPOSITORY_CONFIG")
        .env_remove("RUDDER_REPOSITORY_CACHE")
        .env_remove("RUDDER_REGISTRY_CONFIG")
        .env_remove("RUDDER_CONTENT_CACHE");
    for (k, v) in env {
        command.env(k, v);
    }
    let mut child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rudder runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    run(child.wait_with_output().unwrap())
}

/// Writes a minimal tera chart directory `parent/name` (version, appVersion, description and
/// keywords as given; marked `rudder.io/engine: tera`) and returns its path.
pub fn make_chart(parent: &Path, name: &str, version: &str, extra: &str) -> PathBuf {
    let dir = parent.join(format!("src-{name}-{version}")).join(name);
    fs::create_dir_all(dir.join("templates")).unwrap();
    let description = if extra.contains("description:") {
        String::new()
    } else {
        format!("description: The {name} chart\n")
    };
    fs::write(
        dir.join("Chart.yaml"),
        format!(
            "apiVersion: v2\nname: {name}\nversion: {version}\nappVersion: \"{version}-app\"\n{description}annotations:\n  rudder.io/engine: tera\n{extra}"
        ),
    )
    .unwrap();
    fs::write(
        dir.join("values.yaml"),
        format!("greeting: hello from {name}\n"),
    )
    .unwrap();
    fs::write(
        dir.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}-{{ Chart.Name }}\ndata:\n  greeting: {{ Values.greeting }}\n  version: {{ Chart.Version }}\n",
    )
    .unwrap();
    dir
}

/// Packages `name` at `version` into `dest` and returns the package path.
pub fn package(dest: &Path, name: &str, version: &str) -> PathBuf {
    package_with(dest, name, version, "")
}

/// [`package`] with extra Chart.yaml lines.
pub fn package_with(dest: &Path, name: &str, version: &str, extra: &str) -> PathBuf {
    let work = dest.join(".src");
    let dir = make_chart(&work, name, version, extra);
    let tgz = rudder::chart::archive::write_package(&dir, dest, None, None).unwrap();
    fs::remove_dir_all(&work).unwrap();
    tgz
}

/// A free loopback port.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn wait_for_port(port: u16, child: &mut Child, log: &Path, what: &str) {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(20) {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "{what} exited ({status}) before listening: {}",
                fs::read_to_string(log).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!(
        "{what} did not listen on 127.0.0.1:{port}: {}",
        fs::read_to_string(log).unwrap_or_default()
    );
}

/// Starts a server (its output in `dir/stdout.log` and `dir/stderr.log`) and waits until
/// it listens on 127.0.0.1:`port`.
pub(crate) fn spawn_server(command: &mut Command, dir: &Path, port: u16, what: &str) -> Child {
    let log = dir.join("stderr.log");
    let mut child = command
        .stdin(Stdio::null())
        .stdout(fs::File::create(dir.join("stdout.log")).unwrap())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap_or_else(|e| panic!("{what} does not start: {e}"));
    wait_for_port(port, &mut child, &log, what);
    child
}

pub(crate) fn find_binary(name: &str, fallbacks: &[&str]) -> PathBuf {
    if let Some(paths) = std::env::var_os("PATH") {
        for dir in std::env::split_paths(&paths) {
            let p = dir.join(name);
            if p.is_file() {
                return p;
            }
        }
    }
    for f in fallbacks {
        if Path::new(f).is_file() {
            return PathBuf::from(f);
        }
    }
    panic!("{name} is not installed (apt-get install {name}; .ci/run installs it)");
}

/// TLS material for a server: PEM certificate and key files.
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// An nginx serving `root` on 127.0.0.1:port (plain HTTP, or HTTPS with `tls`), with
/// `extra` inserted in its `server` block; stopped on drop.
pub struct Nginx {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// On a free port (retried if another process takes the port first).
    pub fn start(root: &Path, extra: &str) -> Nginx {
        for _ in 0..3 {
            if let Some(n) = Nginx::try_start(root, extra, None, free_port()) {
                return n;
            }
        }
        Nginx::start_with(root, extra, None, free_port())
    }

    fn try_start(root: &Path, extra: &str, tls: Option<&TlsFiles>, port: u16) -> Option<Nginx> {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Nginx::start_with(root, extra, tls, port)
        }))
        .ok()
    }

    pub fn start_with(root: &Path, extra: &str, tls: Option<&TlsFiles>, port: u16) -> Nginx {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        let (listen, ssl) = match tls {
            Some(t) => (
                format!("127.0.0.1:{port} ssl"),
                format!(
                    "ssl_certificate {};\n    ssl_certificate_key {};",
                    t.cert.display(),
                    t.key.display()
                ),
            ),
            None => (format!("127.0.0.1:{port}"), String::new()),
        };
        let conf = format!(
            "daemon off;\nmaster_process off;\nworker_processes 1;\nerror_log {d}/error.log info;\npid {d}/nginx.pid;\nevents {{ worker_connections 64; }}\nhttp {{\n  access_log {d}/access.log;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  types {{ application/x-yaml yaml; application/gzip tgz; }}\n  default_type application/octet-stream;\n  server {{\n    listen {listen};\n    server_name _;\n    {ssl}\n    root {root};\n    {extra}\n  }}\n}}\n",
            root = root.display()
        );
        let conf_path = dir.path().join("nginx.conf");
        fs::write(&conf_path, conf).unwrap();
        let child = spawn_server(
            Command::new(find_binary("nginx", &["/usr/sbin/nginx"]))
                .arg("-p")
                .arg(dir.path())
                .arg("-e")
                .arg(dir.path().join("error.log"))
                .arg("-c")
                .arg(&conf_path),
            dir.path(),
            port,
            "nginx",
        );
        Nginx {
            port,
            child,
            _dir: dir,
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The access log so far (method, path, status, user).
    pub fn access_log(&self) -> String {
        fs::read_to_string(self._dir.path().join("access.log")).unwrap_or_default()
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A test CA and a server certificate for 127.0.0.1 and localhost (plus a client
/// certificate), written as PEM files under `dir`.
pub struct Pki {
    pub ca: PathBuf,
    pub server: TlsFiles,
    pub client: TlsFiles,
}

pub fn pki(dir: &Path) -> Pki {
    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "rudder test CA");
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let issue = |names: Vec<String>, stem: &str| -> TlsFiles {
        let params = CertificateParams::new(names).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &issuer).unwrap();
        let files = TlsFiles {
            cert: dir.join(format!("{stem}.pem")),
            key: dir.join(format!("{stem}.key")),
        };
        fs::write(&files.cert, cert.pem()).unwrap();
        fs::write(&files.key, key.serialize_pem()).unwrap();
        files
    };
    let server = issue(vec!["127.0.0.1".into(), "localhost".into()], "server");
    let client = issue(vec!["client.rudder.test".into()], "client");
    let ca = dir.join("ca.pem");
    fs::write(&ca, ca_cert.pem()).unwrap();
    Pki { ca, server, client }
}

/// sha256 hex of a file.
pub fn sha256_file(path: &Path) -> String {
    rudder::repo::sha256_hex(&fs::read(path).unwrap())
}

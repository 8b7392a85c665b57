//! Helpers shared by kubesim's integration tests: locating the real peer binaries and running
//! them against a server.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

/// Runs `scripts/install-peers` once per test binary (tests run in parallel and must not
/// download into the same cache at the same time).
fn install_peers() -> &'static Result<PathBuf, String> {
    static PEERS: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    PEERS.get_or_init(|| {
        if let Some(dir) = std::env::var_os("RUDDER_PEERS_BIN") {
            return Ok(PathBuf::from(dir));
        }
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        match std::process::Command::new("bash")
            .arg(root.join("scripts/install-peers"))
            .output()
        {
            Ok(o) if o.status.success() => {
                Ok(PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()))
            }
            Ok(o) => Err(String::from_utf8_lossy(&o.stderr).to_string()),
            Err(e) => Err(e.to_string()),
        }
    })
}

/// The directory holding the real kubectl and helm, or None outside CI when they cannot be
/// installed. In CI (CI=true) a missing binary fails the test instead of skipping it.
pub fn peers_bin() -> Option<PathBuf> {
    match install_peers() {
        Ok(dir) => Some(dir.clone()),
        Err(why) => {
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("scripts/install-peers failed in CI: {why}");
            }
            eprintln!("SKIPPING: the real kubectl/helm could not be installed: {why}");
            None
        }
    }
}

/// The result of running a peer binary.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn ok(&self) -> &Run {
        assert_eq!(
            self.code, 0,
            "expected success\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).to_string(),
            stderr: String::from_utf8_lossy(&o.stderr).to_string(),
        }
    }
}

/// Runs `bin` with `args` against `kubeconfig`, with `stdin` piped in if given.
pub async fn run(bin: &Path, kubeconfig: &Path, args: &[&str], stdin: Option<&str>) -> Run {
    use tokio::io::AsyncWriteExt;
    let mut cmd = tokio::process::Command::new(bin);
    cmd.args(args)
        .env("KUBECONFIG", kubeconfig)
        .env(
            "HOME",
            kubeconfig.parent().expect("kubeconfig has a directory"),
        )
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("peer binary starts");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    if let Some(input) = stdin {
        pipe.write_all(input.as_bytes()).await.expect("write stdin");
    }
    drop(pipe);
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(120),
        child.wait_with_output(),
    )
    .await
    .expect("peer binary finished within 2 minutes")
    .expect("peer binary ran");
    out.into()
}

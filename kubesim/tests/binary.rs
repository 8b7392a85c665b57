//! The kubesim binary serves with a usable kubeconfig and persists state across processes; the
//! library keeps serving while the test that started it blocks.

use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, PostParams};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// The binary's process and its stdout (kept open while it runs).
struct Running {
    child: Child,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the binary and returns it with the first line it printed.
fn start_binary(kubeconfig: &Path, state: &Path) -> (Running, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_kubesim"))
        .args(["--port", "0", "--write-kubeconfig"])
        .arg(kubeconfig)
        .arg("--state")
        .arg(state)
        .stdout(Stdio::piped())
        .spawn()
        .expect("kubesim binary starts");
    let mut line = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut line).unwrap();
    (
        Running {
            child,
            _stdout: stdout,
        },
        line,
    )
}

async fn client_from(kubeconfig: &Path) -> kube::Client {
    // This process starts no kubesim::Server (which would install the TLS provider).
    let _ = rustls::crypto::ring::default_provider().install_default();
    let kc = kube::config::Kubeconfig::read_from(kubeconfig).expect("kubeconfig parses");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("kubeconfig is complete");
    kube::Client::try_from(config).unwrap()
}

#[tokio::test]
async fn binary_prints_its_address_and_keeps_state_in_the_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    let state = dir.path().join("state.json");
    {
        let (_server, line) = start_binary(&kubeconfig, &state);
        assert!(
            line.starts_with("kubesim listening on https://127.0.0.1:"),
            "{line}"
        );
        let cms: Api<ConfigMap> = Api::default_namespaced(client_from(&kubeconfig).await);
        let cm: ConfigMap = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "kept"}, "data": {"a": "1"}}),
        )
        .unwrap();
        cms.create(&PostParams::default(), &cm).await.unwrap();
    }
    let (_server, _) = start_binary(&kubeconfig, &state);
    let cms: Api<ConfigMap> = Api::default_namespaced(client_from(&kubeconfig).await);
    assert_eq!(cms.get("kept").await.unwrap().data.unwrap()["a"], "1");
}

#[tokio::test(flavor = "current_thread")]
async fn server_answers_while_the_starting_thread_blocks() {
    let server = kubesim::Server::builder()
        .plain_http(true)
        .start()
        .await
        .unwrap();
    // A blocking request from the only runtime thread: the server must not depend on it.
    let mut stream = std::net::TcpStream::connect(server.addr()).unwrap();
    stream
        .write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200 OK"), "{response}");
    assert!(response.ends_with("ok"), "{response}");
}

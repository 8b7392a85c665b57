//! The bearer-token flow against a real Distribution registry configured for token auth:
//! the registry answers `401` with `WWW-Authenticate: Bearer realm=…,service=…,scope=…`,
//! rudder asks the realm (a token server this test runs, checking basic credentials and
//! signing ES256 JWTs with a test certificate the registry trusts) and retries with the
//! token. helm, logged in the same way, pulls what rudder pushed.

mod repo_support;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use repo_support::*;
use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

/// A JWT token server on loopback granting whatever scope is asked to alice:s3cret.
struct TokenServer {
    port: u16,
    /// (user or "-", scope) of every token request.
    requests: Arc<Mutex<Vec<(String, String)>>>,
}

/// An ECDSA signature in DER (`SEQUENCE { r, s }`) as JWS wants it: r and s, 32 bytes each.
fn der_to_raw(der: &[u8]) -> Vec<u8> {
    let mut i = 2;
    let mut out = Vec::new();
    for _ in 0..2 {
        assert_eq!(der[i], 0x02, "INTEGER expected");
        let len = der[i + 1] as usize;
        let mut int = &der[i + 2..i + 2 + len];
        while int.len() > 32 && int[0] == 0 {
            int = &int[1..];
        }
        out.extend(std::iter::repeat_n(0u8, 32 - int.len()));
        out.extend_from_slice(int);
        i += 2 + len;
    }
    out
}

impl TokenServer {
    fn start(dir: &Path) -> (TokenServer, std::path::PathBuf) {
        use rcgen::{CertificateParams, KeyPair, SigningKey as _};
        let params = CertificateParams::new(vec!["token.rudder.test".to_string()]).unwrap();
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        let bundle = dir.join("token-signer.pem");
        fs::write(&bundle, cert.pem()).unwrap();
        let x5c = STANDARD.encode(cert.der());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = requests.clone();
        std::thread::spawn(move || {
            for (n, stream) in listener.incoming().enumerate() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap_or(0);
                let mut user = "-".to_string();
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    let lower = line.to_ascii_lowercase();
                    if let Some(value) = lower.strip_prefix("authorization: basic ") {
                        let start = line.len() - value.len();
                        let decoded = STANDARD.decode(line[start..].trim()).unwrap_or_default();
                        let text = String::from_utf8_lossy(&decoded).into_owned();
                        user = if text == "alice:s3cret" {
                            "alice".into()
                        } else {
                            format!("bad:{text}")
                        };
                    }
                }
                let path = request_line.split_whitespace().nth(1).unwrap_or("/");
                let url = reqwest::Url::parse(&format!("http://x{path}")).unwrap();
                let scopes: Vec<String> = url
                    .query_pairs()
                    .filter(|(k, _)| k == "scope")
                    .map(|(_, v)| v.into_owned())
                    .collect();
                seen.lock().unwrap().push((user.clone(), scopes.join(" ")));
                if user != "alice" {
                    let _ = stream.write_all(
                        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                    );
                    continue;
                }
                let access: Vec<serde_json::Value> = scopes
                    .iter()
                    .filter_map(|s| {
                        let mut parts = s.split(':');
                        let (t, name, actions) = (parts.next()?, parts.next()?, parts.next()?);
                        Some(serde_json::json!({
                            "type": t, "name": name,
                            "actions": actions.split(',').collect::<Vec<_>>(),
                        }))
                    })
                    .collect();
                let now = chrono::Utc::now().timestamp();
                let header = serde_json::json!({"typ": "JWT", "alg": "ES256", "x5c": [x5c]});
                let claims = serde_json::json!({
                    "iss": "rudder-test-issuer", "sub": "alice", "aud": "rudder-test",
                    "exp": now + 600, "nbf": now - 60, "iat": now - 60,
                    "jti": format!("token-{n}"), "access": access,
                });
                let input = format!(
                    "{}.{}",
                    URL_SAFE_NO_PAD.encode(header.to_string()),
                    URL_SAFE_NO_PAD.encode(claims.to_string())
                );
                let signature = der_to_raw(&key.sign(input.as_bytes()).unwrap());
                let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature));
                let body = serde_json::json!({"token": token, "access_token": token}).to_string();
                let _ = stream.write_all(
                    format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    )
                    .as_bytes(),
                );
            }
        });
        (TokenServer { port, requests }, bundle)
    }
}

#[test]
fn the_bearer_token_flow_pushes_pulls_and_logs_in() {
    let tmp = tempfile::tempdir().unwrap();
    let home = tmp.path();
    let (tokens, bundle) = TokenServer::start(home);
    let registry = Registry::start(&format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: rudder-test\n    issuer: rudder-test-issuer\n    rootcertbundle: {}",
        tokens.port,
        bundle.display()
    ));
    let host = registry.host();
    let remote = format!("oci://{host}/team/charts");
    let pkg = package(&home.join("pkgs"), "webapp", "3.1.4");

    // Anonymous: the token server refuses, and the error says so.
    let r = rudder(
        home,
        &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
    );
    assert!(!r.ok);
    assert!(
        r.stderr.contains("token service") && r.stderr.contains("401"),
        "{}",
        r.stderr
    );

    let out = rudder_stdin(
        home,
        &[
            "registry",
            "login",
            &host,
            "-u",
            "alice",
            "--password-stdin",
            "--plain-http",
        ],
        "s3cret\n",
    );
    assert!(out.ok, "{}", out.stderr);
    let out = ok(rudder(
        home,
        &["push", pkg.to_str().unwrap(), &remote, "--plain-http"],
    ));
    assert!(out.contains("team/charts/webapp:3.1.4"), "{out}");
    {
        let seen = tokens.requests.lock().unwrap();
        assert!(
            // The registry's challenge lists the actions in no fixed order.
            seen.iter().any(|(user, scope)| user == "alice"
                && (scope.contains("repository:team/charts/webapp:pull,push")
                    || scope.contains("repository:team/charts/webapp:push,pull"))),
            "push asked for a push token: {seen:?}"
        );
    }
    let dest = home.join("out");
    ok(rudder(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "^3",
            "--plain-http",
            "-d",
            dest.to_str().unwrap(),
        ],
    ));
    assert_eq!(
        fs::read(dest.join("webapp-3.1.4.tgz")).unwrap(),
        fs::read(&pkg).unwrap()
    );

    // helm goes through the same token server and pulls rudder's push.
    let h = helm(
        home,
        &[
            "registry",
            "login",
            &host,
            "-u",
            "alice",
            "-p",
            "s3cret",
            "--plain-http",
        ],
    );
    assert!(h.ok, "helm registry login: {}", h.stderr);
    let helm_dest = home.join("helm-out");
    fs::create_dir_all(&helm_dest).unwrap();
    let h = helm(
        home,
        &[
            "pull",
            &format!("{remote}/webapp"),
            "--version",
            "3.1.4",
            "--plain-http",
            "-d",
            helm_dest.to_str().unwrap(),
        ],
    );
    assert!(h.ok, "helm pull: {}", h.stderr);
    assert_eq!(
        fs::read(helm_dest.join("webapp-3.1.4.tgz")).unwrap(),
        fs::read(&pkg).unwrap()
    );
}

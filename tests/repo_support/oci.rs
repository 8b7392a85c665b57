//! OCI registry fixtures: a Distribution registry (Debian's `docker-registry`) on loopback,
//! open, behind basic auth (htpasswd) or behind token auth with a JWT token server this
//! module runs. Every OCI test starts its registry here.

use super::{TlsFiles, find_binary, free_port, spawn_server};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use std::fs;
use std::io::{BufRead as _, BufReader, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

/// The one account of the authenticating registries.
pub const USER: &str = "alice";
pub const PASSWORD: &str = "s3cret";

/// bcrypt of [`PASSWORD`] for [`USER`] (the Distribution registry reads bcrypt htpasswd).
const HTPASSWD: &str = "alice:$2b$05$mLfK3LwTdZdxz8N7JzuvlencGomiHT0.zhChIO.aRtFQAOxmlyTvi\n";

/// A Distribution registry (`docker-registry`) on 127.0.0.1:port, plain HTTP, storing in
/// a temporary directory; `auth` is inserted as its `auth:` section. Stopped on drop.
pub struct Registry {
    pub port: u16,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Registry {
    pub fn start(auth: &str) -> Registry {
        Registry::start_with(auth, None)
    }

    /// A registry serving HTTPS with `tls` when given.
    pub fn start_with(auth: &str, tls: Option<&TlsFiles>) -> Registry {
        for _ in 0..2 {
            let attempt = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                Registry::start_once(auth, tls)
            }));
            if let Ok(r) = attempt {
                return r;
            }
        }
        Registry::start_once(auth, tls)
    }

    fn start_once(auth: &str, tls: Option<&TlsFiles>) -> Registry {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let tls = tls
            .map(|t| {
                format!(
                    "  tls:\n    certificate: {}\n    key: {}\n",
                    t.cert.display(),
                    t.key.display()
                )
            })
            .unwrap_or_default();
        let conf = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: 127.0.0.1:{port}\n  secret: rudder-test-secret\n{tls}{auth}\n",
            dir.path().join("data").display()
        );
        let conf_path = dir.path().join("config.yml");
        fs::write(&conf_path, conf).unwrap();
        let child = spawn_server(
            Command::new(find_binary(
                "docker-registry",
                &["/usr/bin/docker-registry"],
            ))
            .arg("serve")
            .arg(&conf_path),
            dir.path(),
            port,
            "docker-registry",
        );
        Registry {
            port,
            child,
            _dir: dir,
        }
    }

    /// `127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Where files for the registry's config may live (htpasswd, token certs).
    pub fn dir(&self) -> &Path {
        self._dir.path()
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Registry {
    /// A registry that wants [`USER`]/[`PASSWORD`] by HTTP basic auth; the htpasswd file
    /// is written under `dir`.
    pub fn with_basic_auth(dir: &Path) -> Registry {
        let file = dir.join("htpasswd");
        fs::write(&file, HTPASSWD).unwrap();
        Registry::start(&format!(
            "auth:\n  htpasswd:\n    realm: rudder-test\n    path: {}",
            file.display()
        ))
    }

    /// A registry that wants bearer tokens from a [`TokenServer`] (started too, its
    /// signing certificate written under `dir`), which grants them to [`USER`]/[`PASSWORD`].
    pub fn with_token_auth(dir: &Path) -> (Registry, TokenServer) {
        let (tokens, bundle) = TokenServer::start(dir);
        let registry = Registry::start(&format!(
            "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: rudder-test\n    issuer: rudder-test-issuer\n    rootcertbundle: {}",
            tokens.port,
            bundle.display()
        ));
        (registry, tokens)
    }
}

/// A JWT token server on loopback granting whatever scope is asked to [`USER`]:[`PASSWORD`].
pub struct TokenServer {
    pub port: u16,
    /// (user or "-", scope) of every token request.
    pub requests: Arc<Mutex<Vec<(String, String)>>>,
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
    fn start(dir: &Path) -> (TokenServer, PathBuf) {
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
                        user = if text == format!("{USER}:{PASSWORD}") {
                            USER.into()
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
                if user != USER {
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
                    "iss": "rudder-test-issuer", "sub": USER, "aud": "rudder-test",
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

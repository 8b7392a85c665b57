//! The HTTP(S) client of chart repositories: basic auth, a CA bundle, a client certificate,
//! `--insecure-skip-tls-verify`, and redirects followed by hand so credentials go only to
//! the repository's own host (scheme, host and port) unless `--pass-credentials` says
//! otherwise — the fix of helm's CVE-2021-32690.

use super::RepoError;
use reqwest::Url;
use std::path::PathBuf;
use std::time::Duration;

/// Largest index or chart rudder downloads.
pub const MAX_DOWNLOAD_BYTES: u64 = 256 * 1024 * 1024;
const MAX_REDIRECTS: usize = 10;

/// How to talk to one repository.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpOptions {
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM bundle of the CAs to trust instead of the system's.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (with `key_file`).
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    pub insecure_skip_tls_verify: bool,
    /// Send credentials to every host, not only the repository's.
    pub pass_credentials_all: bool,
    /// The URL whose host the credentials belong to (the repository URL); when `None`, the
    /// first URL requested.
    pub credentials_for: Option<Url>,
}

impl HttpOptions {
    fn has_credentials(&self) -> bool {
        self.username.is_some() || self.password.is_some()
    }
}

/// Whether `a` and `b` are the same origin (scheme, host, port).
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

/// A client with the TLS settings of `opts` that never follows redirects by itself.
pub fn client(opts: &HttpOptions) -> Result<reqwest::Client, RepoError> {
    client_builder(opts)?
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| RepoError::Unreachable {
            url: String::new(),
            reason: describe(&e),
        })
}

/// A client builder with the TLS settings and timeouts of `opts`.
pub fn client_builder(opts: &HttpOptions) -> Result<reqwest::ClientBuilder, RepoError> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(30))
        .timeout(Duration::from_secs(300))
        .user_agent(concat!("rudder/", env!("CARGO_PKG_VERSION")));
    if let Some(ca) = &opts.ca_file {
        let pem = std::fs::read(ca).map_err(|e| RepoError::read(ca, e))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| RepoError::Tls {
            path: ca.clone(),
            reason: format!("it is not a PEM certificate bundle ({e})"),
        })?;
        if certs.is_empty() {
            return Err(RepoError::Tls {
                path: ca.clone(),
                reason: "it holds no PEM certificate".into(),
            });
        }
        builder = builder.tls_certs_only(certs);
    }
    match (&opts.cert_file, &opts.key_file) {
        (Some(cert), Some(key)) => {
            let mut pem = std::fs::read(cert).map_err(|e| RepoError::read(cert, e))?;
            pem.push(b'\n');
            pem.extend(std::fs::read(key).map_err(|e| RepoError::read(key, e))?);
            let identity = reqwest::Identity::from_pem(&pem).map_err(|e| RepoError::Tls {
                path: cert.clone(),
                reason: format!("it and the key file do not make a client certificate ({e})"),
            })?;
            builder = builder.identity(identity);
        }
        (Some(cert), None) => {
            return Err(RepoError::Tls {
                path: cert.clone(),
                reason: "a client certificate needs its key (--key-file)".into(),
            });
        }
        (None, Some(key)) => {
            return Err(RepoError::Tls {
                path: key.clone(),
                reason: "a client key needs its certificate (--cert-file)".into(),
            });
        }
        (None, None) => {}
    }
    if opts.insecure_skip_tls_verify {
        builder = builder.tls_danger_accept_invalid_certs(true);
    }
    Ok(builder)
}

/// The innermost useful text of an error chain (reqwest's own message is vague).
pub(crate) fn describe(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts = vec![e.to_string()];
    let mut source = e.source();
    while let Some(s) = source {
        let text = s.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = s.source();
    }
    // Drop reqwest's and hyper's generic wrappers when a cause follows.
    while parts.len() > 1
        && (parts[0].starts_with("error sending request") || parts[0].starts_with("client error ("))
    {
        parts.remove(0);
    }
    parts.join(": ")
}

/// GETs `url` and returns the body, following redirects and sending credentials only where
/// they belong. Non-success answers, unreachable hosts and oversized bodies are errors
/// naming the URL.
pub async fn get(url: &Url, opts: &HttpOptions) -> Result<Vec<u8>, RepoError> {
    let client = client(opts)?;
    get_with(&client, url, opts).await
}

/// [`get`] with a client built by [`client`].
pub async fn get_with(
    client: &reqwest::Client,
    url: &Url,
    opts: &HttpOptions,
) -> Result<Vec<u8>, RepoError> {
    let owner = opts.credentials_for.clone().unwrap_or_else(|| url.clone());
    let mut current = url.clone();
    for _ in 0..=MAX_REDIRECTS {
        let mut request = client.get(current.clone());
        if opts.has_credentials() && (opts.pass_credentials_all || same_origin(&owner, &current)) {
            request = request.basic_auth(
                opts.username.clone().unwrap_or_default(),
                Some(opts.password.clone().unwrap_or_default()),
            );
        }
        let response = request.send().await.map_err(|e| RepoError::Unreachable {
            url: current.to_string(),
            reason: describe(&e),
        })?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(reqwest::header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .ok_or_else(|| RepoError::Status {
                    url: current.to_string(),
                    status: status.to_string(),
                    hint: " without a Location to follow",
                })?;
            current = current.join(location).map_err(|e| {
                RepoError::InvalidReference(format!(
                    "{current} redirects to an invalid URL {location}: {e}"
                ))
            })?;
            continue;
        }
        if !status.is_success() {
            let hint = match status.as_u16() {
                401 => " (the repository needs valid credentials: --username and --password)",
                403 => " (the credentials are not allowed to read it)",
                404 => " (nothing is there: check the URL, or run `rudder repo update`)",
                _ => "",
            };
            return Err(RepoError::Status {
                url: current.to_string(),
                status: status.to_string(),
                hint,
            });
        }
        return read_limited(response, MAX_DOWNLOAD_BYTES)
            .await
            .map_err(|e| match e {
                BodyError::TooLarge { .. } => RepoError::TooLarge {
                    url: current.to_string(),
                    limit: MAX_DOWNLOAD_BYTES,
                },
                BodyError::Read(e) => RepoError::Unreachable {
                    url: current.to_string(),
                    reason: describe(&e),
                },
            });
    }
    Err(RepoError::Unreachable {
        url: url.to_string(),
        reason: format!("more than {MAX_REDIRECTS} redirects"),
    })
}

/// Why [`read_limited`] gave up on a body.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// The body is larger than the limit: its `Content-Length` (`Some`), or more bytes than
    /// the limit arrived (`None`).
    TooLarge { content_length: Option<u64> },
    /// The connection failed while the body was read.
    Read(reqwest::Error),
}

/// The body of `response`, read chunk by chunk and refused once it is larger than `limit`
/// bytes: by its `Content-Length` before anything is read, else as soon as the bytes that
/// arrived pass the limit — a server that lies about (or never sends) the length cannot make
/// rudder hold more than `limit` bytes. Every download (repository indexes and charts,
/// registry manifests, blobs and tokens) goes through here.
pub(crate) async fn read_limited(
    mut response: reqwest::Response,
    limit: u64,
) -> Result<Vec<u8>, BodyError> {
    if let Some(length) = response.content_length().filter(|l| *l > limit) {
        return Err(BodyError::TooLarge {
            content_length: Some(length),
        });
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Read)? {
        if body.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge {
                content_length: None,
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Parses a URL given on the command line or in a file, naming it when it is invalid.
pub fn parse_url(text: &str) -> Result<Url, RepoError> {
    let url = Url::parse(text)
        .map_err(|e| RepoError::InvalidReference(format!("invalid URL \"{text}\": {e}")))?;
    match url.scheme() {
        "http" | "https" => Ok(url),
        other => Err(RepoError::InvalidReference(format!(
            "could not find protocol handler for: {other} (in \"{text}\"); use http://, https:// or oci://"
        ))),
    }
}

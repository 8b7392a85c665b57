//! The OCI distribution protocol for charts: pull (tag chosen by version constraint from
//! the tag list, manifest, chart layer verified by digest), push (blobs, then the manifest
//! tagged with the chart version), login checks, and the auth handshake — on a `401` the
//! `WWW-Authenticate` challenge says `Basic` (send the credentials) or `Bearer realm=…,
//! service=…, scope=…` (get a token from the realm, with the credentials if any, and
//! retry with it).

use super::reference::{Reference, tag_to_version, version_to_tag};
use super::{
    CHART_LAYER_MEDIA_TYPE, CONFIG_MEDIA_TYPE, Credentials, CredentialsStore,
    LEGACY_CHART_LAYER_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, RegistryError, RegistryOptions,
};
use crate::chart::constraint::{compare_versions, parse_constraint, parse_lenient_version};
use crate::repo::http::{BodyError, MAX_DOWNLOAD_BYTES, describe, read_limited};
use crate::repo::{HttpOptions, redacted, sha256_hex};
use base64::Engine as _;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, LOCATION, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use std::collections::BTreeMap;
use std::path::Path;

/// A chart pulled from a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pulled {
    /// The package bytes (digest verified).
    pub bytes: Vec<u8>,
    /// `oci://host/repo:tag`.
    pub source: String,
    /// `host/repo:tag`, as helm prints after `Pulled:`.
    pub display: String,
    /// The manifest digest (`sha256:…`).
    pub manifest_digest: String,
}

/// A chart pushed to a registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// `host/repo/name:tag`.
    pub reference: String,
    /// The manifest digest (`sha256:…`).
    pub manifest_digest: String,
}

/// One conversation with one registry: the client, the credentials and the current
/// `Authorization` header (a token is reused until the registry refuses it).
struct Session {
    client: reqwest::Client,
    base: String,
    registry: String,
    credentials: Option<Credentials>,
    authorization: Option<String>,
}

impl Session {
    fn new(
        registry: &str,
        opts: &RegistryOptions,
        config: &Path,
        use_store: bool,
    ) -> Result<Session, RegistryError> {
        let http = HttpOptions {
            ca_file: opts.ca_file.clone(),
            cert_file: opts.cert_file.clone(),
            key_file: opts.key_file.clone(),
            insecure_skip_tls_verify: opts.insecure_skip_tls_verify,
            ..HttpOptions::default()
        };
        let client = crate::repo::http::client_builder(&http)
            .map_err(|e| RegistryError::Tls(e.to_string()))?
            .build()
            .map_err(|e| RegistryError::Tls(describe(&e)))?;
        let credentials = match (&opts.username, &opts.password) {
            (Some(u), p) => Some(Credentials {
                username: u.clone(),
                password: p.clone().unwrap_or_default(),
            }),
            (None, Some(p)) => Some(Credentials {
                username: String::new(),
                password: p.clone(),
            }),
            (None, None) if use_store => match CredentialsStore::load(config)?.get(registry) {
                Some(c) => Some(c),
                // Like helm, fall back to what `docker login` stored.
                None => docker_config()
                    .and_then(|p| CredentialsStore::load(&p).ok())
                    .and_then(|store| store.get(registry)),
            },
            (None, None) => None,
        };
        let scheme = if opts.plain_http { "http" } else { "https" };
        Ok(Session {
            client,
            base: format!("{scheme}://{registry}"),
            registry: registry.to_string(),
            credentials,
            authorization: None,
        })
    }

    fn basic(&self) -> Option<String> {
        self.credentials.as_ref().map(|c| {
            let raw = format!("{}:{}", c.username, c.password);
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(raw)
            )
        })
    }

    /// Sends a request built by `build`, answering one auth challenge if the registry
    /// makes one. `scope` is what a token is asked for when the challenge names none.
    async fn send(
        &mut self,
        method: Method,
        url: &str,
        headers: &[(reqwest::header::HeaderName, String)],
        body: Option<&[u8]>,
        scope: &str,
    ) -> Result<reqwest::Response, RegistryError> {
        let mut answered = false;
        loop {
            let mut request = self.client.request(method.clone(), url);
            for (name, value) in headers {
                request = request.header(name.clone(), value.clone());
            }
            if let Some(auth) = &self.authorization {
                request = request.header(AUTHORIZATION, auth.clone());
            }
            if let Some(body) = body {
                request = request.body(body.to_vec());
            }
            let response = request.send().await.map_err(|e| self.unreachable(&e))?;
            if response.status() != StatusCode::UNAUTHORIZED || answered {
                return Ok(response);
            }
            answered = true;
            let challenge = response
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            self.answer(&challenge, scope).await?;
        }
    }

    async fn answer(&mut self, challenge: &str, scope: &str) -> Result<(), RegistryError> {
        let (kind, params) = parse_challenge(challenge);
        match kind.to_ascii_lowercase().as_str() {
            "basic" => {
                self.authorization = self.basic();
                if self.authorization.is_none() {
                    return Err(self.needs_login());
                }
                Ok(())
            }
            "bearer" => {
                let realm =
                    params
                        .get("realm")
                        .ok_or_else(|| RegistryError::UnsupportedChallenge {
                            host: self.registry.clone(),
                            challenge: challenge.to_string(),
                        })?;
                let mut url = reqwest::Url::parse(realm).map_err(|_| {
                    RegistryError::UnsupportedChallenge {
                        host: self.registry.clone(),
                        challenge: challenge.to_string(),
                    }
                })?;
                {
                    let mut q = url.query_pairs_mut();
                    if let Some(service) = params.get("service") {
                        q.append_pair("service", service);
                    }
                    let scope = params.get("scope").map(String::as_str).unwrap_or(scope);
                    if !scope.is_empty() {
                        q.append_pair("scope", scope);
                    }
                }
                let mut request = self.client.get(url.clone());
                if let Some(basic) = self.basic() {
                    request = request.header(AUTHORIZATION, basic);
                }
                let response = request
                    .send()
                    .await
                    .map_err(|e| RegistryError::Unreachable {
                        host: url.host_str().unwrap_or_default().to_string(),
                        reason: describe(&e),
                    })?;
                if !response.status().is_success() {
                    return Err(status_error(
                        format!("token service {}", redacted(realm)),
                        response,
                        " (check the credentials: rudder registry login)",
                    )
                    .await);
                }
                let host = url.host_str().unwrap_or_default().to_string();
                let what = format!("the answer of token service {}", redacted(realm));
                let body = limited_body(response, what, &host).await?;
                let json: serde_json::Value =
                    serde_json::from_slice(&body).map_err(|e| RegistryError::Unreachable {
                        host,
                        reason: format!("the token answer is not JSON: {e}"),
                    })?;
                let token = json
                    .get("token")
                    .or_else(|| json.get("access_token"))
                    .and_then(|t| t.as_str())
                    .ok_or_else(|| RegistryError::UnsupportedChallenge {
                        host: self.registry.clone(),
                        challenge: format!("token service {} returned no token", redacted(realm)),
                    })?;
                self.authorization = Some(format!("Bearer {token}"));
                Ok(())
            }
            _ => Err(RegistryError::UnsupportedChallenge {
                host: self.registry.clone(),
                challenge: challenge.to_string(),
            }),
        }
    }

    /// The error for a request that got no answer. A TLS handshake answered in plain HTTP
    /// (rustls sees an "InvalidContentType" record) is a registry without TLS: say so, and
    /// name the flag, instead of the TLS library's words.
    fn unreachable(&self, e: &reqwest::Error) -> RegistryError {
        let reason = describe(e);
        let reason = if self.base.starts_with("https://") && reason.contains("InvalidContentType") {
            "it speaks plain HTTP, not HTTPS (pass --plain-http for a registry without TLS)"
                .to_string()
        } else {
            reason
        };
        RegistryError::Unreachable {
            host: self.registry.clone(),
            reason,
        }
    }

    fn needs_login(&self) -> RegistryError {
        RegistryError::Status {
            what: format!("registry {}", self.registry),
            status: "401 Unauthorized".into(),
            hint: "",
            body: format!(
                "credentials are required (rudder registry login {})",
                self.registry
            ),
        }
    }
}

/// Docker's credentials file: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
fn docker_config() -> Option<std::path::PathBuf> {
    let dir = std::env::var_os("DOCKER_CONFIG")
        .filter(|d| !d.is_empty())
        .map(std::path::PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| std::path::PathBuf::from(h).join(".docker"))
        })?;
    Some(dir.join("config.json"))
}

/// Splits `Bearer realm="…",service="…"` into the scheme and its parameters.
fn parse_challenge(text: &str) -> (String, BTreeMap<String, String>) {
    let text = text.trim();
    let (kind, rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut params = BTreeMap::new();
    let mut chars = rest.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        if key.is_empty() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        if let Some(n) = chars.next() {
                            value.push(n);
                        }
                    }
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.peek() {
                if *c == ',' {
                    break;
                }
                value.push(*c);
                chars.next();
            }
        }
        params.insert(key.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    (kind.to_string(), params)
}

/// The body of a successful response; any other status is a [`RegistryError::Status`]
/// about `what` (with `hint401` on a 401).
async fn success_body(
    response: reqwest::Response,
    what: String,
    hint401: &'static str,
    host: &str,
) -> Result<Vec<u8>, RegistryError> {
    if !response.status().is_success() {
        return Err(status_error(what, response, hint401).await);
    }
    limited_body(response, what, host).await
}

/// The body of `response`, at most [`MAX_DOWNLOAD_BYTES`] (as repository downloads).
async fn limited_body(
    response: reqwest::Response,
    what: String,
    host: &str,
) -> Result<Vec<u8>, RegistryError> {
    read_limited(response, MAX_DOWNLOAD_BYTES)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge { .. } => RegistryError::TooLarge {
                what,
                limit: MAX_DOWNLOAD_BYTES,
            },
            BodyError::Read(e) => RegistryError::Unreachable {
                host: host.to_string(),
                reason: describe(&e),
            },
        })
}

/// A blob whose descriptor says it is `declared` bytes: refused when the registry sends (or
/// announces) more, before more than that is held, and when it sends less.
async fn blob_body(
    response: reqwest::Response,
    what: String,
    declared: u64,
    host: &str,
) -> Result<Vec<u8>, RegistryError> {
    if !response.status().is_success() {
        return Err(status_error(what, response, "").await);
    }
    if declared > MAX_DOWNLOAD_BYTES {
        return Err(RegistryError::TooLarge {
            what,
            limit: MAX_DOWNLOAD_BYTES,
        });
    }
    let mismatch = |what: String, actual: String| RegistryError::SizeMismatch {
        what,
        declared,
        actual,
    };
    match read_limited(response, declared).await {
        Ok(body) if body.len() as u64 == declared => Ok(body),
        Ok(body) => Err(mismatch(what, format!("{} bytes", body.len()))),
        Err(BodyError::TooLarge {
            content_length: Some(n),
        }) => Err(mismatch(what, format!("{n} bytes"))),
        Err(BodyError::TooLarge {
            content_length: None,
        }) => Err(mismatch(what, format!("more than {declared} bytes"))),
        Err(BodyError::Read(e)) => Err(RegistryError::Unreachable {
            host: host.to_string(),
            reason: describe(&e),
        }),
    }
}

/// The first few KiB of an answer's body (an error's details; the rest is never read).
async fn body_start(mut response: reqwest::Response) -> String {
    let mut body = Vec::new();
    while body.len() < 4096 {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            _ => break,
        }
    }
    String::from_utf8_lossy(&body).into_owned()
}

async fn status_error(
    what: String,
    response: reqwest::Response,
    hint401: &'static str,
) -> RegistryError {
    let status = response.status();
    let hint = match status.as_u16() {
        401 => hint401,
        404 => " (no such chart, version or registry path)",
        _ => "",
    };
    let body = body_start(response).await;
    let body: String = body.trim().chars().take(300).collect();
    RegistryError::Status {
        what,
        status: status.to_string(),
        hint,
        body: if body.is_empty() {
            "no details".into()
        } else {
            body
        },
    }
}

/// Whether the tag written in a reference agrees with `--version`: the same version, or
/// one the constraint allows (`--devel` is the constraint `>0.0.0-0`).
fn tag_satisfies(tag: &str, version: &str) -> bool {
    let tagged = tag_to_version(tag);
    tagged == version
        || tag == version
        || match (parse_constraint(version), parse_lenient_version(&tagged)) {
            (Ok(c), Ok(v)) => c.matches(&v),
            _ => false,
        }
}

fn pull_scope(r: &Reference) -> String {
    format!("repository:{}:pull", r.repository)
}

/// The tags of `reference`'s repository that are chart versions, newest first.
pub async fn tags(
    reference: &str,
    opts: &RegistryOptions,
    config: &Path,
) -> Result<Vec<String>, RegistryError> {
    let r = Reference::parse(reference)?;
    let mut session = Session::new(&r.registry, opts, config, true)?;
    list_tags(&mut session, &r).await
}

async fn list_tags(session: &mut Session, r: &Reference) -> Result<Vec<String>, RegistryError> {
    let url = format!("{}/v2/{}/tags/list?n=10000", session.base, r.repository);
    let response = session
        .send(Method::GET, &url, &[], None, &pull_scope(r))
        .await?;
    if response.status() == StatusCode::NOT_FOUND {
        return Err(RegistryError::ChartNotFound {
            repository: format!("oci://{}/{}", r.registry, r.repository),
        });
    }
    let body = success_body(
        response,
        format!("oci://{}/{}", r.registry, r.repository),
        " (log in with rudder registry login, or check the credentials)",
        &r.registry,
    )
    .await?;
    let json: serde_json::Value =
        serde_json::from_slice(&body).map_err(|e| RegistryError::Unreachable {
            host: r.registry.clone(),
            reason: format!("the tag list is not JSON: {e}"),
        })?;
    let mut versions: Vec<(semver::Version, String)> = json
        .get("tags")
        .and_then(|t| t.as_array())
        .into_iter()
        .flatten()
        .filter_map(|t| t.as_str())
        .filter_map(|t| {
            parse_lenient_version(&tag_to_version(t))
                .ok()
                .map(|v| (v, t.to_string()))
        })
        .collect();
    versions.sort_by(|a, b| compare_versions(&b.0, &a.0));
    Ok(versions.into_iter().map(|(_, t)| t).collect())
}

/// Pulls the chart at `reference` (`oci://host/path/name[:tag]`). `version` is an exact
/// version or a constraint matched against the repository's tags; without either, the
/// newest stable version.
pub async fn pull(
    reference: &str,
    version: Option<&str>,
    opts: &RegistryOptions,
    config: &Path,
) -> Result<Pulled, RegistryError> {
    let r = Reference::parse(reference)?;
    let mut session = Session::new(&r.registry, opts, config, true)?;
    let version = version.map(str::trim).filter(|v| !v.is_empty());
    let tag = match (&r.digest, &r.tag, version) {
        (Some(d), _, _) => d.clone(),
        (None, Some(tag), Some(v)) if !tag_satisfies(tag, v) => {
            return Err(RegistryError::InvalidReference {
                reference: reference.to_string(),
                reason: format!("its tag {tag} and --version {v} disagree"),
            });
        }
        (None, Some(tag), _) => tag.clone(),
        (None, None, Some(v)) if semver::Version::parse(v).is_ok() => version_to_tag(v),
        (None, None, v) => {
            let tags = list_tags(&mut session, &r).await?;
            let text = v.unwrap_or("*");
            let constraint = parse_constraint(text)?;
            tags.iter()
                .find(|t| {
                    parse_lenient_version(&tag_to_version(t))
                        .map(|ver| constraint.matches(&ver))
                        .unwrap_or(false)
                })
                .cloned()
                .ok_or_else(|| RegistryError::NoMatchingVersion {
                    repository: format!("oci://{}/{}", r.registry, r.repository),
                    constraint: text.to_string(),
                    available: tags.iter().map(|t| tag_to_version(t)).collect(),
                })?
        }
    };
    let shown = if tag.starts_with("sha256:") {
        format!("{}/{}@{}", r.registry, r.repository, tag)
    } else {
        r.display_with_tag(&tag)
    };
    let manifest_url = format!("{}/v2/{}/manifests/{}", session.base, r.repository, tag);
    let accept =
        format!("{MANIFEST_MEDIA_TYPE}, application/vnd.docker.distribution.manifest.v2+json");
    let response = session
        .send(
            Method::GET,
            &manifest_url,
            &[(ACCEPT, accept)],
            None,
            &pull_scope(&r),
        )
        .await?;
    if response.status() == StatusCode::NOT_FOUND && r.digest.is_none() {
        // No such tag: name the versions there are (or that the chart itself is missing).
        let tags = list_tags(&mut session, &r).await?;
        return Err(RegistryError::VersionNotFound {
            repository: format!("oci://{}/{}", r.registry, r.repository),
            version: tag_to_version(&tag),
            available: tags.iter().map(|t| tag_to_version(t)).collect(),
        });
    }
    let manifest_bytes = success_body(
        response,
        format!("oci://{shown}"),
        " (log in with rudder registry login, or check the credentials)",
        &r.registry,
    )
    .await?;
    let manifest_digest = format!("sha256:{}", sha256_hex(&manifest_bytes));
    let manifest: serde_json::Value =
        serde_json::from_slice(&manifest_bytes).map_err(|e| RegistryError::NotAChart {
            reference: format!("oci://{shown}"),
            reason: format!("its manifest is not JSON ({e})"),
        })?;
    let config_type = manifest
        .pointer("/config/mediaType")
        .and_then(|m| m.as_str())
        .unwrap_or("");
    if config_type != CONFIG_MEDIA_TYPE {
        return Err(RegistryError::NotAChart {
            reference: format!("oci://{shown}"),
            reason: format!("its config media type is \"{config_type}\", not {CONFIG_MEDIA_TYPE}"),
        });
    }
    let layer = manifest
        .get("layers")
        .and_then(|l| l.as_array())
        .into_iter()
        .flatten()
        .find(|l| {
            matches!(
                l.get("mediaType").and_then(|m| m.as_str()),
                Some(CHART_LAYER_MEDIA_TYPE | LEGACY_CHART_LAYER_MEDIA_TYPE)
            )
        })
        .ok_or_else(|| RegistryError::NotAChart {
            reference: format!("oci://{shown}"),
            reason: format!("it has no {CHART_LAYER_MEDIA_TYPE} layer"),
        })?;
    let digest = layer
        .get("digest")
        .and_then(|d| d.as_str())
        .unwrap_or("")
        .to_string();
    let size =
        layer
            .get("size")
            .and_then(|s| s.as_u64())
            .ok_or_else(|| RegistryError::NotAChart {
                reference: format!("oci://{shown}"),
                reason: "its chart layer descriptor has no size".into(),
            })?;
    let blob_url = format!("{}/v2/{}/blobs/{}", session.base, r.repository, digest);
    let response = session
        .send(Method::GET, &blob_url, &[], None, &pull_scope(&r))
        .await?;
    let bytes = blob_body(
        response,
        format!("chart layer {digest} of oci://{shown}"),
        size,
        &r.registry,
    )
    .await?;
    let actual = format!("sha256:{}", sha256_hex(&bytes));
    if actual != digest {
        return Err(RegistryError::DigestMismatch {
            what: format!("the chart layer of oci://{shown}"),
            expected: digest,
            actual,
        });
    }
    Ok(Pulled {
        bytes,
        source: format!("oci://{shown}"),
        display: shown,
        manifest_digest,
    })
}

/// Pushes the chart package `bytes` to `destination` (`oci://host/path`); the chart lands
/// at `host/path/<name>:<version>`.
pub async fn push(
    bytes: &[u8],
    destination: &str,
    opts: &RegistryOptions,
    config: &Path,
) -> Result<Pushed, RegistryError> {
    let base = Reference::parse(destination)?;
    if base.tag.is_some() || base.digest.is_some() {
        return Err(RegistryError::InvalidReference {
            reference: destination.to_string(),
            reason: "push to a repository path without a tag: the chart version is the tag".into(),
        });
    }
    let chart = crate::chart::load_archive(bytes, "the chart package")?;
    let r = base.child(chart.name());
    let tag = version_to_tag(&chart.metadata.version);
    let mut session = Session::new(&r.registry, opts, config, true)?;
    let scope = format!("repository:{}:pull,push", r.repository);

    let config_blob = serde_json::to_vec(&chart.metadata).expect("metadata serializes");
    let config_digest = format!("sha256:{}", sha256_hex(&config_blob));
    let layer_digest = format!("sha256:{}", sha256_hex(bytes));
    upload_blob(&mut session, &r, &config_blob, &config_digest, &scope).await?;
    upload_blob(&mut session, &r, bytes, &layer_digest, &scope).await?;

    let mut annotations = serde_json::Map::new();
    let md = &chart.metadata;
    annotations.insert(
        "org.opencontainers.image.title".into(),
        md.name.clone().into(),
    );
    annotations.insert(
        "org.opencontainers.image.version".into(),
        md.version.clone().into(),
    );
    if let Some(d) = md.description.as_ref().filter(|d| !d.is_empty()) {
        annotations.insert(
            "org.opencontainers.image.description".into(),
            d.clone().into(),
        );
    }
    if let Some(h) = md.home.as_ref().filter(|h| !h.is_empty()) {
        annotations.insert("org.opencontainers.image.url".into(), h.clone().into());
    }
    if let Some(s) = md.sources.first() {
        annotations.insert("org.opencontainers.image.source".into(), s.clone().into());
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST_MEDIA_TYPE,
        "config": {
            "mediaType": CONFIG_MEDIA_TYPE,
            "digest": config_digest,
            "size": config_blob.len(),
        },
        "layers": [{
            "mediaType": CHART_LAYER_MEDIA_TYPE,
            "digest": layer_digest,
            "size": bytes.len(),
        }],
        "annotations": annotations,
    });
    let manifest_bytes = serde_json::to_vec(&manifest).expect("manifest serializes");
    let url = format!("{}/v2/{}/manifests/{}", session.base, r.repository, tag);
    let response = session
        .send(
            Method::PUT,
            &url,
            &[(CONTENT_TYPE, MANIFEST_MEDIA_TYPE.to_string())],
            Some(&manifest_bytes),
            &scope,
        )
        .await?;
    if !response.status().is_success() {
        return Err(status_error(
            format!("oci://{}", r.display_with_tag(&tag)),
            response,
            " (log in with rudder registry login, or check the credentials)",
        )
        .await);
    }
    Ok(Pushed {
        reference: r.display_with_tag(&tag),
        manifest_digest: format!("sha256:{}", sha256_hex(&manifest_bytes)),
    })
}

async fn upload_blob(
    session: &mut Session,
    r: &Reference,
    bytes: &[u8],
    digest: &str,
    scope: &str,
) -> Result<(), RegistryError> {
    let what = format!("oci://{}/{}", r.registry, r.repository);
    let head = format!("{}/v2/{}/blobs/{}", session.base, r.repository, digest);
    let response = session.send(Method::HEAD, &head, &[], None, scope).await?;
    if response.status().is_success() {
        return Ok(());
    }
    let start = format!("{}/v2/{}/blobs/uploads/", session.base, r.repository);
    let response = session.send(Method::POST, &start, &[], None, scope).await?;
    if response.status() != StatusCode::ACCEPTED && !response.status().is_success() {
        return Err(status_error(
            what,
            response,
            " (log in with rudder registry login, or check the credentials)",
        )
        .await);
    }
    let location = response
        .headers()
        .get(LOCATION)
        .and_then(|l| l.to_str().ok())
        .ok_or_else(|| RegistryError::Unreachable {
            host: r.registry.clone(),
            reason: "the registry started an upload without a Location".into(),
        })?
        .to_string();
    let mut url = reqwest::Url::parse(&session.base)
        .and_then(|b| b.join(&location))
        .map_err(|e| RegistryError::Unreachable {
            host: r.registry.clone(),
            reason: format!("invalid upload location {location}: {e}"),
        })?;
    url.query_pairs_mut().append_pair("digest", digest);
    let response = session
        .send(
            Method::PUT,
            url.as_str(),
            &[(CONTENT_TYPE, "application/octet-stream".to_string())],
            Some(bytes),
            scope,
        )
        .await?;
    if !response.status().is_success() {
        return Err(status_error(format!("blob upload to {what}"), response, "").await);
    }
    Ok(())
}

/// Checks `username`/`password` against `registry` (`host[:port]`) and stores them.
pub async fn login(
    registry: &str,
    username: &str,
    password: &str,
    opts: &RegistryOptions,
    config: &Path,
) -> Result<(), RegistryError> {
    let registry = registry.trim_start_matches("oci://").trim_end_matches('/');
    let opts = RegistryOptions {
        username: Some(username.to_string()),
        password: Some(password.to_string()),
        ..opts.clone()
    };
    let mut session = Session::new(registry, &opts, config, false)?;
    let url = format!("{}/v2/", session.base);
    let response = session.send(Method::GET, &url, &[], None, "").await?;
    if !response.status().is_success() {
        return Err(status_error(
            format!("registry {registry}"),
            response,
            " (wrong username or password)",
        )
        .await);
    }
    CredentialsStore::load(config)?.set(
        registry,
        &Credentials {
            username: username.to_string(),
            password: password.to_string(),
        },
    )
}

/// Forgets the stored credentials of `registry`.
pub fn logout(registry: &str, config: &Path) -> Result<(), RegistryError> {
    let registry = registry.trim_start_matches("oci://").trim_end_matches('/');
    CredentialsStore::load(config)?.remove(registry)
}

#[cfg(test)]
mod tests {
    use super::{parse_challenge, tag_satisfies};

    #[test]
    fn a_tag_in_the_reference_must_agree_with_the_version() {
        assert!(tag_satisfies("1.2.3", "1.2.3"));
        assert!(tag_satisfies("1.2.3_build.4", "1.2.3+build.4"));
        assert!(tag_satisfies("1.2.3", "^1"));
        assert!(tag_satisfies("2.0.0-rc.1", ">0.0.0-0"));
        assert!(!tag_satisfies("1.2.3", "1.2.4"));
        assert!(!tag_satisfies("1.2.3", ">=2"));
    }

    #[test]
    fn bearer_challenges_are_split_into_parameters() {
        let (kind, p) = parse_challenge(
            r#"Bearer realm="http://127.0.0.1:9/token",service="reg, one",scope="repository:a/b:pull,push""#,
        );
        assert_eq!(kind, "Bearer");
        assert_eq!(p["realm"], "http://127.0.0.1:9/token");
        assert_eq!(p["service"], "reg, one");
        assert_eq!(p["scope"], "repository:a/b:pull,push");
        let (kind, p) = parse_challenge(r#"Basic realm="basic-realm""#);
        assert_eq!(kind, "Basic");
        assert_eq!(p["realm"], "basic-realm");
    }
}

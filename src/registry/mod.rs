//! OCI registries, as helm uses them: a chart is an OCI artifact whose config blob
//! (`application/vnd.cncf.helm.config.v1+json`) is its `Chart.yaml` as JSON and whose one
//! layer (`application/vnd.cncf.helm.chart.content.v1.tar+gzip`) is the package; the tag is
//! the chart version (`+` written `_`). Push, pull, tag listing, and `registry
//! login/logout` with credentials kept in a docker-style `config.json`; the registry's
//! `WWW-Authenticate` challenge is answered with basic auth or the bearer-token flow.

mod client;
mod credentials;
mod reference;

pub use client::{Pulled, Pushed, login, logout, pull, push, tags};
pub use credentials::{Credentials, CredentialsStore};
pub use reference::Reference;

use crate::repo::redacted;
use std::path::PathBuf;

/// Media type of a helm chart's config blob.
pub const CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Media type of a helm chart's content layer.
pub const CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";
/// Media type of the (legacy) layer some old pushers wrote.
pub const LEGACY_CHART_LAYER_MEDIA_TYPE: &str = "application/tar+gzip";
/// Media type of provenance files (accepted, ignored).
pub const PROV_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.provenance.v1.prov";
/// The manifest media type helm writes.
pub const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// How to reach a registry.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RegistryOptions {
    /// Talk plain HTTP instead of HTTPS (`--plain-http`).
    pub plain_http: bool,
    pub insecure_skip_tls_verify: bool,
    pub ca_file: Option<PathBuf>,
    pub cert_file: Option<PathBuf>,
    pub key_file: Option<PathBuf>,
    /// Credentials for this call, instead of those stored by `registry login`.
    pub username: Option<String>,
    pub password: Option<String>,
}

/// What can go wrong talking to a registry; each message names the registry or reference.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("invalid OCI reference \"{}\": {reason}", redacted(.reference))]
    InvalidReference { reference: String, reason: String },
    #[error("cannot reach registry {host}: {reason}")]
    Unreachable { host: String, reason: String },
    #[error("{what} answered {status}{hint}: {body}")]
    Status {
        what: String,
        status: String,
        hint: &'static str,
        body: String,
    },
    #[error(
        "registry {host} asked for authentication this client cannot do: {}",
        redacted(.challenge)
    )]
    UnsupportedChallenge { host: String, challenge: String },
    #[error("{reference} is not a helm chart: {reason}")]
    NotAChart { reference: String, reason: String },
    #[error("{what} is larger than the {limit}-byte limit")]
    TooLarge { what: String, limit: u64 },
    #[error(
        "{what} does not have the size its manifest declares: the manifest says {declared} bytes, the registry sent {actual}"
    )]
    SizeMismatch {
        what: String,
        declared: u64,
        /// What arrived: `N bytes`, or `more than N bytes` when the download was cut short.
        actual: String,
    },
    #[error("digest mismatch for {what}: expected {expected}, got {actual}")]
    DigestMismatch {
        what: String,
        expected: String,
        actual: String,
    },
    #[error(
        "no tag of {repository} matches version \"{constraint}\"; available: {}",
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    NoMatchingVersion {
        repository: String,
        constraint: String,
        available: Vec<String>,
    },
    #[error(
        "chart {repository} has no version {version}; available: {}",
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    VersionNotFound {
        repository: String,
        version: String,
        available: Vec<String>,
    },
    #[error("chart {repository} not found: the registry has no such repository (404)")]
    ChartNotFound { repository: String },
    #[error("not logged in to {0}")]
    NotLoggedIn(String),
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a valid registry configuration: {reason}", path.display())]
    InvalidConfig { path: PathBuf, reason: String },
    #[error("cannot write {}: {reason}", path.display())]
    Write { path: PathBuf, reason: String },
    #[error("{0}")]
    Tls(String),
    #[error("{0}")]
    Chart(#[from] crate::chart::ChartError),
    #[error(transparent)]
    Constraint(#[from] crate::chart::constraint::ConstraintError),
}

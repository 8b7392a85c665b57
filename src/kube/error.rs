//! Cluster errors as sentences: unreachable API server, rejected credentials (401),
//! forbidden actions (403, naming verb, kind and namespace), invalid objects (422, with the
//! field causes), field-manager conflicts (409), and kinds the cluster does not serve.

use kube::core::Status;

/// What went wrong talking to the cluster.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    #[error("cannot load the Kubernetes configuration: {0}")]
    Config(String),
    #[error("Kubernetes cluster unreachable at {url}: {reason}")]
    Unreachable { url: String, reason: String },
    #[error(
        "the Kubernetes cluster at {url} rejected the credentials (401 Unauthorized); check the user of the current kubeconfig context"
    )]
    Unauthorized { url: String },
    #[error("forbidden: cannot {verb} {kind} in {scope}: {message}")]
    Forbidden {
        verb: String,
        kind: String,
        /// `namespace "x"` or `the cluster scope`.
        scope: String,
        message: String,
    },
    #[error("{object} is invalid: {}", .causes.join("; "))]
    Invalid { object: String, causes: Vec<String> },
    #[error(
        "conflicts applying {object}: {message}; rerun with --force-conflicts to take ownership of these fields"
    )]
    FieldConflict { object: String, message: String },
    #[error("{object} not found")]
    NotFound { object: String },
    #[error("{object} already exists")]
    AlreadyExists { object: String },
    #[error(
        "the cluster does not serve kind {kind} in apiVersion {api_version} (needed for {object}); is its CRD installed?"
    )]
    UnknownKind {
        api_version: String,
        kind: String,
        object: String,
    },
    #[error("cannot {verb} {object}: {message} ({code} {reason})")]
    Api {
        verb: String,
        object: String,
        code: u16,
        reason: String,
        message: String,
    },
    #[error("{object} failed: {reason}")]
    Failed { object: String, reason: String },
    #[error("timed out after {after:?} waiting for {what}")]
    Timeout {
        what: String,
        after: std::time::Duration,
    },
}

impl KubeError {
    /// Whether the failure is transient (429, 500, 503, 504, dropped connection) and the
    /// request worth repeating.
    pub fn is_transient(&self) -> bool {
        match self {
            KubeError::Unreachable { .. } => true,
            KubeError::Api { code, .. } => matches!(code, 429 | 500 | 502 | 503 | 504),
            _ => false,
        }
    }

    /// The HTTP status behind the error, when there was one.
    pub fn code(&self) -> Option<u16> {
        match self {
            KubeError::Unauthorized { .. } => Some(401),
            KubeError::Forbidden { .. } => Some(403),
            KubeError::NotFound { .. } => Some(404),
            KubeError::AlreadyExists { .. } | KubeError::FieldConflict { .. } => Some(409),
            KubeError::Invalid { .. } => Some(422),
            KubeError::Api { code, .. } => Some(*code),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, KubeError::NotFound { .. })
    }
}

/// What a failed request was doing, for the error message.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    /// `get`, `list`, `create`, `patch`, `delete`, …
    pub verb: &'a str,
    /// `Secret` (kind, for 403s).
    pub kind: &'a str,
    /// `Secret "x" in namespace "y"` (for other messages).
    pub object: String,
    pub namespace: Option<&'a str>,
    pub url: &'a str,
}

/// Translates a `kube` client error for `request`.
pub fn translate(err: kube::Error, request: &Request<'_>) -> KubeError {
    match err {
        kube::Error::Api(status) => from_status(&status, request),
        kube::Error::HyperError(e) => KubeError::Unreachable {
            url: request.url.to_string(),
            reason: chain(&e),
        },
        kube::Error::Service(e) => KubeError::Unreachable {
            url: request.url.to_string(),
            reason: chain(e.as_ref()),
        },
        other => KubeError::Api {
            verb: request.verb.to_string(),
            object: request.object.clone(),
            code: 0,
            reason: "ClientError".into(),
            message: chain(&other),
        },
    }
}

fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

fn from_status(status: &Status, request: &Request<'_>) -> KubeError {
    let object = request.object.clone();
    match status.code {
        401 => KubeError::Unauthorized {
            url: request.url.to_string(),
        },
        403 => KubeError::Forbidden {
            // Server-side apply is the `patch` verb to RBAC.
            verb: match request.verb {
                "apply" => "patch".to_string(),
                verb => verb.to_string(),
            },
            kind: request.kind.to_string(),
            scope: match request.namespace {
                Some(ns) => format!("namespace {ns:?}"),
                None => "the cluster scope".to_string(),
            },
            message: status.message.clone(),
        },
        404 => KubeError::NotFound { object },
        409 if status.reason == "AlreadyExists" => KubeError::AlreadyExists { object },
        409 if request.verb == "apply" && status.reason == "Conflict" => KubeError::FieldConflict {
            object,
            message: status.message.clone(),
        },
        422 => {
            let causes: Vec<String> = status
                .details
                .as_ref()
                .map(|d| {
                    d.causes
                        .iter()
                        .map(|c| {
                            if c.field.is_empty() {
                                c.message.clone()
                            } else {
                                format!("{}: {}", c.field, c.message)
                            }
                        })
                        .collect()
                })
                .unwrap_or_default();
            KubeError::Invalid {
                object,
                causes: if causes.is_empty() {
                    vec![status.message.clone()]
                } else {
                    causes
                },
            }
        }
        code => KubeError::Api {
            verb: request.verb.to_string(),
            object,
            code,
            reason: status.reason.clone(),
            message: status.message.clone(),
        },
    }
}

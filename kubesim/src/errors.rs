//! API errors and their rendering as `Status` objects shaped like the real kube-apiserver's.

use serde_json::{Map, Value, json};

/// One field-level cause of an `Invalid` (422) or `Conflict` error.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    /// e.g. `FieldValueRequired`, `FieldValueInvalid`, `FieldManagerConflict`.
    pub reason: String,
    pub message: String,
    pub field: String,
}

impl Cause {
    /// `field: Required value`.
    pub fn required(field: &str) -> Cause {
        Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value".into(),
            field: field.into(),
        }
    }

    /// `field: Invalid value: <value>: <detail>`.
    pub fn invalid(field: &str, value: &str, detail: &str) -> Cause {
        Cause {
            reason: "FieldValueInvalid".into(),
            message: format!("Invalid value: {value}: {detail}"),
            field: field.into(),
        }
    }

    /// `field: Forbidden: <detail>`.
    pub fn forbidden(field: &str, detail: &str) -> Cause {
        Cause {
            reason: "FieldValueForbidden".into(),
            message: format!("Forbidden: {detail}"),
            field: field.into(),
        }
    }
}

/// An error the API answers with; each renders as a `Status` object.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    #[error("{} \"{name}\" not found", qualify(.resource, .group))]
    NotFound {
        group: String,
        resource: String,
        name: String,
    },
    #[error("{} \"{name}\" already exists", qualify(.resource, .group))]
    AlreadyExists {
        group: String,
        resource: String,
        name: String,
    },
    #[error(
        "Operation cannot be fulfilled on {qualified} \"{name}\": the object has been modified; please apply your changes to the latest version and try again"
    )]
    Conflict {
        group: String,
        resource: String,
        qualified: String,
        name: String,
    },
    #[error("{message}")]
    ApplyConflict { message: String, causes: Vec<Cause> },
    #[error("{qualified_kind} \"{name}\" is invalid: {}", invalid_summary(.causes))]
    Invalid {
        group: String,
        kind: String,
        qualified_kind: String,
        name: String,
        causes: Vec<Cause>,
    },
    #[error("{message}")]
    Forbidden {
        group: String,
        resource: String,
        name: Option<String>,
        message: String,
    },
    #[error("Unauthorized")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("the server could not find the requested resource")]
    UnknownPath,
    #[error("the server does not allow this method on the requested resource")]
    MethodNotAllowed,
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("too old resource version: {requested} ({oldest})")]
    Gone { requested: u64, oldest: u64 },
    #[error("{message}")]
    Injected { code: u16, message: String },
    #[error("Internal error occurred: {0}")]
    Internal(String),
    #[error("Request entity too large: limit is {0}")]
    TooLarge(usize),
}

fn qualify(resource: &str, group: &str) -> String {
    if group.is_empty() {
        resource.to_string()
    } else {
        format!("{resource}.{group}")
    }
}

fn invalid_summary(causes: &[Cause]) -> String {
    let parts: Vec<String> = causes
        .iter()
        .map(|c| format!("{}: {}", c.field, c.message))
        .collect();
    if parts.len() == 1 {
        parts[0].clone()
    } else {
        format!("[{}]", parts.join(", "))
    }
}

impl ApiError {
    /// The HTTP status code.
    pub fn code(&self) -> u16 {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath => 404,
            ApiError::AlreadyExists { .. }
            | ApiError::Conflict { .. }
            | ApiError::ApplyConflict { .. } => 409,
            ApiError::Invalid { .. } => 422,
            ApiError::Forbidden { .. } => 403,
            ApiError::Unauthorized => 401,
            ApiError::BadRequest(_) => 400,
            ApiError::MethodNotAllowed => 405,
            ApiError::UnsupportedMediaType(_) => 415,
            ApiError::Gone { .. } => 410,
            ApiError::Injected { code, .. } => *code,
            ApiError::Internal(_) => 500,
            ApiError::TooLarge(_) => 413,
        }
    }

    /// The machine-readable reason, e.g. `NotFound`.
    pub fn reason(&self) -> &'static str {
        match self {
            ApiError::NotFound { .. } | ApiError::UnknownPath => "NotFound",
            ApiError::AlreadyExists { .. } => "AlreadyExists",
            ApiError::Conflict { .. } | ApiError::ApplyConflict { .. } => "Conflict",
            ApiError::Invalid { .. } => "Invalid",
            ApiError::Forbidden { .. } => "Forbidden",
            ApiError::Unauthorized => "Unauthorized",
            ApiError::BadRequest(_) => "BadRequest",
            ApiError::MethodNotAllowed => "MethodNotAllowed",
            ApiError::UnsupportedMediaType(_) => "UnsupportedMediaType",
            ApiError::Gone { .. } => "Expired",
            ApiError::Injected { code, .. } => match code {
                429 => "TooManyRequests",
                503 => "ServiceUnavailable",
                _ => "InternalError",
            },
            ApiError::Internal(_) => "InternalError",
            ApiError::TooLarge(_) => "RequestEntityTooLarge",
        }
    }

    /// The `Status` object the server sends for this error.
    pub fn to_status(&self) -> Value {
        let mut details = Map::new();
        let mut put = |k: &str, v: &str| {
            if !v.is_empty() {
                details.insert(k.to_string(), json!(v));
            }
        };
        match self {
            ApiError::NotFound {
                group,
                resource,
                name,
            }
            | ApiError::AlreadyExists {
                group,
                resource,
                name,
            }
            | ApiError::Conflict {
                group,
                resource,
                name,
                ..
            } => {
                put("name", name);
                put("group", group);
                put("kind", resource);
            }
            ApiError::Invalid {
                group, kind, name, ..
            } => {
                put("name", name);
                put("group", group);
                put("kind", kind);
            }
            ApiError::Forbidden {
                group,
                resource,
                name,
                ..
            } => {
                put("name", name.as_deref().unwrap_or(""));
                put("group", group);
                put("kind", resource);
            }
            _ => {}
        }
        let causes = match self {
            ApiError::Invalid { causes, .. } | ApiError::ApplyConflict { causes, .. } => {
                Some(causes)
            }
            _ => None,
        };
        if let Some(causes) = causes {
            details.insert(
                "causes".into(),
                Value::Array(
                    causes
                        .iter()
                        .map(
                            |c| json!({"reason": c.reason, "message": c.message, "field": c.field}),
                        )
                        .collect(),
                ),
            );
        }
        let mut status = json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": self.to_string(),
            "reason": self.reason(),
            "code": self.code(),
        });
        // The apiserver sends an empty `details` for path-level errors.
        if !details.is_empty() || matches!(self, ApiError::UnknownPath | ApiError::MethodNotAllowed)
        {
            status["details"] = Value::Object(details);
        }
        if let ApiError::Injected { code: 429, .. } = self {
            status["details"] = json!({"retryAfterSeconds": 1});
        }
        status
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_found_status_names_the_resource_and_object() {
        let err = ApiError::NotFound {
            group: "apps".into(),
            resource: "deployments".into(),
            name: "web".into(),
        };
        let s = err.to_status();
        assert_eq!(s["message"], "deployments.apps \"web\" not found");
        assert_eq!(s["reason"], "NotFound");
        assert_eq!(s["code"], 404);
        assert_eq!(s["status"], "Failure");
        assert_eq!(
            s["details"],
            json!({"name": "web", "group": "apps", "kind": "deployments"})
        );
    }

    #[test]
    fn invalid_status_lists_every_cause_in_the_message() {
        let err = ApiError::Invalid {
            group: "apps".into(),
            kind: "Deployment".into(),
            qualified_kind: "Deployment.apps".into(),
            name: "web".into(),
            causes: vec![
                Cause::required("spec.selector"),
                Cause::required("spec.template.spec.containers"),
            ],
        };
        let s = err.to_status();
        assert_eq!(
            s["message"],
            "Deployment.apps \"web\" is invalid: [spec.selector: Required value, spec.template.spec.containers: Required value]"
        );
        assert_eq!(s["code"], 422);
        assert_eq!(s["details"]["kind"], "Deployment");
        assert_eq!(s["details"]["causes"][0]["reason"], "FieldValueRequired");
        assert_eq!(
            s["details"]["causes"][1]["field"],
            "spec.template.spec.containers"
        );
    }
}

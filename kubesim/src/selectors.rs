//! Label selectors (equality and set-based) and field selectors, as used by list and watch.

use serde_json::Value;
use std::collections::BTreeMap;

/// A selector that could not be parsed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SelectorError {
    #[error("unable to parse requirement: {0}")]
    BadRequirement(String),
    #[error(
        "\"{0}\" is not a known field selector: only \"metadata.name\", \"metadata.namespace\""
    )]
    UnknownField(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

/// A parsed label selector; the empty selector matches everything.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
}

/// Splits on commas that are not inside parentheses.
fn split_top_level(s: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0;
    let mut current = String::new();
    for c in s.chars() {
        match c {
            '(' => {
                depth += 1;
                current.push(c)
            }
            ')' => {
                depth -= 1;
                current.push(c)
            }
            ',' if depth == 0 => parts.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty())
        .collect()
}

fn parse_set(s: &str, whole: &str) -> Result<Vec<String>, SelectorError> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .ok_or_else(|| SelectorError::BadRequirement(whole.to_string()))?;
    Ok(inner
        .split(',')
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect())
}

impl LabelSelector {
    /// Parses `app=web,tier!=db,env in (a,b),!legacy,release`.
    pub fn parse(text: &str) -> Result<LabelSelector, SelectorError> {
        let mut requirements = Vec::new();
        for part in split_top_level(text) {
            let req = if let Some(key) = part.strip_prefix('!') {
                Requirement::DoesNotExist(key.trim().to_string())
            } else if let Some((k, v)) = part.split_once("!=") {
                Requirement::NotEquals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once("==") {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, v)) = part.split_once('=') {
                Requirement::Equals(k.trim().into(), v.trim().into())
            } else if let Some((k, rest)) = part.split_once(" notin ") {
                Requirement::NotIn(k.trim().into(), parse_set(rest, &part)?)
            } else if let Some((k, rest)) = part.split_once(" in ") {
                Requirement::In(k.trim().into(), parse_set(rest, &part)?)
            } else if part.contains(char::is_whitespace) || part.contains('(') {
                return Err(SelectorError::BadRequirement(part));
            } else {
                Requirement::Exists(part.clone())
            };
            requirements.push(req);
        }
        Ok(LabelSelector { requirements })
    }

    /// Builds a selector from a `metav1.LabelSelector` object (matchLabels/matchExpressions).
    pub fn from_object(sel: &Value) -> LabelSelector {
        let mut requirements = Vec::new();
        if let Some(labels) = sel.get("matchLabels").and_then(Value::as_object) {
            for (k, v) in labels {
                requirements.push(Requirement::Equals(
                    k.clone(),
                    v.as_str().unwrap_or_default().to_string(),
                ));
            }
        }
        if let Some(exprs) = sel.get("matchExpressions").and_then(Value::as_array) {
            for e in exprs {
                let key = e
                    .get("key")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string();
                let values: Vec<String> = e
                    .get("values")
                    .and_then(Value::as_array)
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default();
                match e.get("operator").and_then(Value::as_str) {
                    Some("In") => requirements.push(Requirement::In(key, values)),
                    Some("NotIn") => requirements.push(Requirement::NotIn(key, values)),
                    Some("Exists") => requirements.push(Requirement::Exists(key)),
                    Some("DoesNotExist") => requirements.push(Requirement::DoesNotExist(key)),
                    _ => {}
                }
            }
        }
        LabelSelector { requirements }
    }

    /// Whether the labels satisfy every requirement.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        self.matches_with(|k| labels.get(k).map(String::as_str))
    }

    /// Whether the labels `label` looks up satisfy the selector.
    fn matches_with<'a>(&self, label: impl Fn(&str) -> Option<&'a str>) -> bool {
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => label(k) == Some(v.as_str()),
            Requirement::NotEquals(k, v) => label(k) != Some(v.as_str()),
            Requirement::In(k, vs) => label(k).is_some_and(|l| vs.iter().any(|v| v == l)),
            Requirement::NotIn(k, vs) => label(k).is_none_or(|l| !vs.iter().any(|v| v == l)),
            Requirement::Exists(k) => label(k).is_some(),
            Requirement::DoesNotExist(k) => label(k).is_none(),
        })
    }

    /// Whether the object's `metadata.labels` satisfy the selector. Looks the labels up in
    /// place: lists filter every object of a resource through this.
    pub fn matches_object(&self, obj: &Value) -> bool {
        if self.requirements.is_empty() {
            return true;
        }
        let labels = obj
            .get("metadata")
            .and_then(|m| m.get("labels"))
            .and_then(Value::as_object);
        self.matches_with(|k| {
            labels
                .and_then(|l| l.get(k))
                .map(|v| v.as_str().unwrap_or_default())
        })
    }

    /// True when the selector has no requirements.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty()
    }
}

/// The `metadata.labels` of an object as a map.
pub fn labels_of(obj: &Value) -> BTreeMap<String, String> {
    obj.pointer("/metadata/labels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// A parsed field selector over `metadata.name` and `metadata.namespace`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct FieldSelector {
    requirements: Vec<(String, bool, String)>,
}

/// The field labels the apiserver supports for a kind, besides metadata.name/namespace.
fn kind_fields(kind: &str) -> &'static [&'static str] {
    match kind {
        "Event" => &[
            "involvedObject.kind",
            "involvedObject.namespace",
            "involvedObject.name",
            "involvedObject.uid",
            "involvedObject.apiVersion",
            "involvedObject.resourceVersion",
            "involvedObject.fieldPath",
            "reason",
            "reportingComponent",
            "source",
            "type",
        ],
        "Pod" => &[
            "spec.nodeName",
            "spec.restartPolicy",
            "spec.schedulerName",
            "spec.serviceAccountName",
            "spec.hostNetwork",
            "status.phase",
            "status.podIP",
            "status.nominatedNodeName",
        ],
        "Secret" => &["type"],
        "Namespace" => &["status.phase"],
        "ReplicaSet" | "ReplicationController" => &["status.replicas"],
        "Job" => &["status.successful"],
        _ => &[],
    }
}

impl FieldSelector {
    /// Parses `metadata.name=web,metadata.namespace!=kube-system` (only those two fields).
    pub fn parse(text: &str) -> Result<FieldSelector, SelectorError> {
        FieldSelector::parse_for("", text)
    }

    /// Parses a field selector for `kind`, accepting the field labels the apiserver supports
    /// for it (e.g. `involvedObject.name` for Events, `status.phase` for Pods).
    pub fn parse_for(kind: &str, text: &str) -> Result<FieldSelector, SelectorError> {
        let mut requirements = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (field, equal, value) = if let Some((k, v)) = part.split_once("!=") {
                (k, false, v)
            } else if let Some((k, v)) = part.split_once("==") {
                (k, true, v)
            } else if let Some((k, v)) = part.split_once('=') {
                (k, true, v)
            } else {
                return Err(SelectorError::BadRequirement(part.to_string()));
            };
            let field = field.trim();
            let known = field == "metadata.name"
                || field == "metadata.namespace"
                || kind_fields(kind).contains(&field);
            if !known {
                return Err(SelectorError::UnknownField(field.to_string()));
            }
            requirements.push((field.to_string(), equal, value.trim().to_string()));
        }
        Ok(FieldSelector { requirements })
    }

    /// Whether the object satisfies every requirement.
    pub fn matches_object(&self, obj: &Value) -> bool {
        self.requirements.iter().all(|(field, equal, value)| {
            let pointer = format!("/{}", field.replace('.', "/"));
            let actual = match (field.as_str(), obj.pointer(&pointer)) {
                ("source", _) => obj
                    .pointer("/source/component")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                (_, Some(Value::String(s))) => s.clone(),
                (_, Some(Value::Null) | None) => String::new(),
                (_, Some(other)) => other.to_string(),
            };
            (actual == *value) == *equal
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn equality_selectors_match_and_exclude() {
        let sel = LabelSelector::parse("app=web,tier!=db").unwrap();
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "front")])));
        assert!(sel.matches(&labels(&[("app", "web")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "db")])));
        assert!(!sel.matches(&labels(&[("app", "api")])));
        assert!(
            LabelSelector::parse("app==web")
                .unwrap()
                .matches(&labels(&[("app", "web")]))
        );
    }

    #[test]
    fn set_based_selectors_match_and_exclude() {
        let sel =
            LabelSelector::parse("env in (prod, staging),tier notin (db),release,!legacy").unwrap();
        assert!(sel.matches(&labels(&[("env", "prod"), ("release", "1")])));
        assert!(!sel.matches(&labels(&[("env", "dev"), ("release", "1")])));
        assert!(!sel.matches(&labels(&[("env", "prod")])));
        assert!(!sel.matches(&labels(&[
            ("env", "prod"),
            ("release", "1"),
            ("legacy", "y")
        ])));
        assert!(!sel.matches(&labels(&[
            ("env", "prod"),
            ("release", "1"),
            ("tier", "db")
        ])));
    }

    #[test]
    fn malformed_selector_is_rejected() {
        assert!(LabelSelector::parse("env in prod").is_err());
    }

    #[test]
    fn label_selector_object_matches_like_the_query_form() {
        let sel = LabelSelector::from_object(&json!({"matchLabels": {"app": "web"},
            "matchExpressions": [{"key": "tier", "operator": "In", "values": ["a", "b"]}]}));
        assert!(sel.matches(&labels(&[("app", "web"), ("tier", "a")])));
        assert!(!sel.matches(&labels(&[("app", "web"), ("tier", "c")])));
    }

    #[test]
    fn field_selector_filters_by_name_and_rejects_other_fields() {
        let sel = FieldSelector::parse("metadata.name=web").unwrap();
        assert!(sel.matches_object(&json!({"metadata": {"name": "web"}})));
        assert!(!sel.matches_object(&json!({"metadata": {"name": "db"}})));
        let not = FieldSelector::parse("metadata.namespace!=kube-system").unwrap();
        assert!(not.matches_object(&json!({"metadata": {"namespace": "default"}})));
        assert!(FieldSelector::parse("spec.nodeName=x").is_err());
    }

    #[test]
    fn kinds_accept_their_own_field_labels() {
        let sel = FieldSelector::parse_for(
            "Event",
            "involvedObject.name=web,involvedObject.kind=Deployment",
        )
        .unwrap();
        assert!(
            sel.matches_object(&json!({"involvedObject": {"name": "web", "kind": "Deployment"}}))
        );
        assert!(
            !sel.matches_object(&json!({"involvedObject": {"name": "db", "kind": "Deployment"}}))
        );
        let phase = FieldSelector::parse_for("Pod", "status.phase!=Running").unwrap();
        assert!(phase.matches_object(&json!({"status": {"phase": "Pending"}})));
        assert!(FieldSelector::parse_for("ConfigMap", "status.phase=x").is_err());
    }
}

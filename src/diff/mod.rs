//! The diff engine behind `rudder diff`: turns pairs of objects (what the cluster holds now,
//! what it would hold after an operation) into a report. Objects are normalised (server
//! bookkeeping stripped, keys sorted), Secret values masked unless asked otherwise, and each
//! changed object rendered as a helm-diff style unified YAML diff, a one-line summary, or a
//! JSON/YAML list for tools.

mod render;
mod secrets;

use serde_json::Value;

pub use render::{ColorChoice, Format, RenderOptions, render};
pub use secrets::{SecretMode, fold_string_data};

/// The metadata fields the API server maintains for itself.
const NOISE_METADATA: &[&str] = &[
    "managedFields",
    "resourceVersion",
    "generation",
    "uid",
    "creationTimestamp",
    "selfLink",
];

/// kubectl's client-side apply record (it repeats the whole object, Secrets included).
pub const LAST_APPLIED_ANNOTATION: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// What an operation would do to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Add,
    Change,
    Remove,
}

/// One object before and after an operation (None: absent on that side).
#[derive(Debug, Clone, Default)]
pub struct Pair {
    pub api_version: String,
    pub kind: String,
    /// None for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    /// Why this object was compared differently (a forbidden dry-run), one line.
    pub note: Option<String>,
}

/// One changed object of a report.
#[derive(Debug, Clone)]
pub struct Entry {
    pub api_version: String,
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
    pub action: Action,
    /// The normalised, masked YAML on each side ("" when absent).
    pub before: String,
    pub after: String,
}

impl Entry {
    /// helm-diff's object key: `NAMESPACE, NAME, KIND (GROUP/VERSION)`.
    pub fn key(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{ns}, {}, {} ({})", self.name, self.kind, self.api_version),
            None => format!("{}, {} ({})", self.name, self.kind, self.api_version),
        }
    }
}

/// The outcome of a comparison: the changed objects in a stable order and the notes about
/// objects compared client-side.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub entries: Vec<Entry>,
    pub notes: Vec<String>,
}

impl Report {
    /// Compares each pair, keeping those that differ after normalisation.
    pub fn build(pairs: Vec<Pair>, secrets: SecretMode) -> Report {
        let mut report = Report::default();
        for pair in pairs {
            if let Some(note) = &pair.note {
                report.notes.push(note.clone());
            }
            let mut before = pair.before.map(normalize);
            let mut after = pair.after.map(normalize);
            let action = match (&before, &after) {
                (None, None) => continue,
                (None, Some(_)) => Action::Add,
                (Some(_), None) => Action::Remove,
                (Some(b), Some(a)) if b == a => continue,
                _ => Action::Change,
            };
            secrets::mask(&mut before, &mut after, secrets);
            let yaml = |v: &Option<Value>| {
                v.as_ref()
                    .map(|v| format!("{}\n", crate::engine::yaml::to_yaml(v)))
                    .unwrap_or_default()
            };
            report.entries.push(Entry {
                before: yaml(&before),
                after: yaml(&after),
                api_version: pair.api_version,
                kind: pair.kind,
                namespace: pair.namespace,
                name: pair.name,
                action,
            });
        }
        report.entries.sort_by(|a, b| {
            (&a.namespace, &a.name, &a.kind, &a.api_version).cmp(&(
                &b.namespace,
                &b.name,
                &b.kind,
                &b.api_version,
            ))
        });
        report
    }

    /// How many objects would be added, changed and removed.
    pub fn counts(&self) -> (usize, usize, usize) {
        let n = |a: Action| self.entries.iter().filter(|e| e.action == a).count();
        (n(Action::Add), n(Action::Change), n(Action::Remove))
    }

    /// Whether anything would change.
    pub fn has_changes(&self) -> bool {
        !self.entries.is_empty()
    }
}

/// Strips what the API server keeps for itself (managedFields, resourceVersion, generation,
/// uid, creationTimestamp, status, kubectl's last-applied annotation) and sorts keys, so
/// that only meaningful differences remain.
pub fn normalize(mut object: Value) -> Value {
    if let Some(map) = object.as_object_mut() {
        map.remove("status");
        if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
            for field in NOISE_METADATA {
                meta.remove(*field);
            }
            let empty_annotations = match meta.get_mut("annotations") {
                Some(Value::Object(annotations)) => {
                    annotations.remove(LAST_APPLIED_ANNOTATION);
                    annotations.is_empty()
                }
                Some(Value::Null) => true,
                _ => false,
            };
            if empty_annotations {
                meta.remove("annotations");
            }
            if matches!(meta.get("labels"), Some(Value::Null))
                || meta
                    .get("labels")
                    .and_then(Value::as_object)
                    .is_some_and(|l| l.is_empty())
            {
                meta.remove("labels");
            }
        }
    }
    crate::output::sort_keys(object)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pair(before: Option<Value>, after: Option<Value>) -> Pair {
        Pair {
            api_version: "v1".into(),
            kind: "ConfigMap".into(),
            namespace: Some("default".into()),
            name: "web".into(),
            before,
            after,
            note: None,
        }
    }

    #[test]
    fn server_bookkeeping_is_not_a_change() {
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "web", "uid": "1", "resourceVersion": "7", "generation": 2,
                "creationTimestamp": "2026-01-01T00:00:00Z", "managedFields": [{"manager": "x"}],
                "annotations": {LAST_APPLIED_ANNOTATION: "{}"}},
            "data": {"a": "1"}, "status": {"x": 1}});
        let applied = json!({"kind": "ConfigMap", "apiVersion": "v1",
            "metadata": {"name": "web", "uid": "2"}, "data": {"a": "1"}});
        let report = Report::build(vec![pair(Some(live), Some(applied))], SecretMode::Mask);
        assert!(!report.has_changes(), "{:?}", report.entries);
    }

    #[test]
    fn actions_follow_which_side_exists() {
        let obj = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}});
        let mut changed = obj.clone();
        changed["data"] = json!({"a": "2"});
        let report = Report::build(
            vec![
                pair(None, Some(obj.clone())),
                pair(Some(obj.clone()), None),
                pair(Some(obj.clone()), Some(changed)),
            ],
            SecretMode::Mask,
        );
        let actions: Vec<Action> = report.entries.iter().map(|e| e.action).collect();
        assert_eq!(actions.len(), 3);
        assert_eq!(report.counts(), (1, 1, 1));
    }

    #[test]
    fn keys_name_namespace_name_kind_and_group_version() {
        let report = Report::build(
            vec![pair(
                None,
                Some(json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "web"}})),
            )],
            SecretMode::Mask,
        );
        assert_eq!(
            report.entries[0].key(),
            "default, web, ConfigMap (v1)".to_string()
        );
    }
}

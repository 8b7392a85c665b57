//! `rudder status NAME`: a revision's state as `helm status` prints it, optionally with the
//! live state of its resources (`--show-resources`): one table per kind (`==> v1/Service`)
//! with the columns `kubectl get` shows (printed by the API server), objects missing from
//! the cluster marked `<missing>`, and the Pods of the release's workloads under
//! `==> v1/Pod(related)`, as helm does.

use std::collections::BTreeMap;

use futures::StreamExt as _;
use serde_json::Value;

use crate::action::config::Configuration;
use crate::action::lifecycle::{
    Prepared, ReleaseError, group_by_kind, live_objects, status_text, stored_objects,
};
use crate::kube::{Cluster, KubeError, ObjectRef};
use crate::output::{OutputFormat, encode, table};
use crate::storage::Release;

/// Workload kinds whose Pods `--show-resources` lists as related.
const POD_OWNERS: &[&str] = &[
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "Job",
];

/// The group key of the related Pods.
const RELATED_PODS: &str = "v1/Pod(related)";

/// Prints the status of a release in `cluster.namespace` (revision 0 = latest).
pub async fn status(
    config: &Configuration,
    name: &str,
    revision: u64,
    show_resources: bool,
    format: OutputFormat,
) -> Result<String, ReleaseError> {
    let storage = &config.storage;
    let cluster = &config.cluster;
    let mut release = storage.get(name, revision).await?;
    if format != OutputFormat::Table {
        if show_resources {
            release.info.resources = Some(resources_value(cluster, &release).await?);
        }
        let value = serde_json::to_value(&release).expect("releases serialize");
        return Ok(encode(&value, format));
    }
    let mut text = status_text(&release, false);
    if show_resources {
        let section = resources_text(cluster, &release).await?;
        // helm prints resources after DESCRIPTION, before TEST SUITE.
        match text.find("TEST SUITE:") {
            Some(pos) => text.insert_str(pos, &section),
            None => text.push_str(&section),
        }
    }
    Ok(text)
}

/// The live objects by group key (`v1/ConfigMap`, `v1/Pod(related)`), as helm puts them
/// in `info.resources`; objects missing from the cluster are left out.
async fn resources_value(cluster: &Cluster, release: &Release) -> Result<Value, ReleaseError> {
    let objects = stored_objects(cluster, release).await?;
    let refs: Vec<ObjectRef> = objects.iter().map(|p| p.r.clone()).collect();
    let live = live_objects(cluster, &refs).await;
    let mut out = serde_json::Map::new();
    for (key, refs) in group_by_kind(&objects) {
        let items: Vec<Value> = refs
            .iter()
            .filter_map(|r| live.get(r).cloned().flatten())
            .collect();
        out.insert(key, Value::Array(items));
    }
    let pods = related_pod_objects(cluster, &objects, &live).await?;
    if !pods.is_empty() {
        out.insert(RELATED_PODS.into(), Value::Array(pods));
    }
    Ok(Value::Object(out))
}

/// The `RESOURCES:` section: a table per kind, then the related Pods.
async fn resources_text(cluster: &Cluster, release: &Release) -> Result<String, ReleaseError> {
    let objects = stored_objects(cluster, release).await?;
    let mut out = String::from("RESOURCES:\n");
    let mut live_workloads = Vec::new();
    for (key, refs) in group_by_kind(&objects) {
        let fetches: Vec<_> = refs
            .iter()
            .map(|r| async move { (r, cluster.table(r, None).await) })
            .collect();
        let answers: Vec<(&ObjectRef, Result<Option<Value>, KubeError>)> =
            futures::stream::iter(fetches).buffered(16).collect().await;
        let mut printed = Printed::default();
        for (r, answer) in answers {
            match answer {
                Ok(Some(t)) => {
                    if POD_OWNERS.contains(&r.kind.as_str()) {
                        live_workloads.push(r.clone());
                    }
                    printed.add_table(&t);
                }
                Ok(None) | Err(KubeError::UnknownKind { .. }) => {
                    printed.add_note(&r.name, "<missing>")
                }
                Err(KubeError::Forbidden { .. }) => printed.add_note(&r.name, "<forbidden>"),
                Err(e) => return Err(e.into()),
            }
        }
        out.push_str(&format!("==> {key}\n{}\n", printed.render()));
    }
    let workloads = workload_objects(cluster, &objects, &live_workloads).await?;
    let selectors = pod_selectors(workloads.iter().map(|(r, o)| (r, o)));
    if !selectors.is_empty() {
        let mut printed = Printed::default();
        let mut seen = std::collections::BTreeSet::new();
        for (namespace, selector) in selectors {
            match cluster.table(&pods_in(&namespace), Some(&selector)).await {
                Ok(Some(t)) => printed.add_table_unique(&t, &namespace, &mut seen),
                Ok(None) => {}
                Err(KubeError::Forbidden { .. }) => {
                    printed.add_note(&format!("(pods of {selector})"), "<forbidden>")
                }
                Err(e) => return Err(e.into()),
            }
        }
        if !printed.rows.is_empty() {
            out.push_str(&format!("==> {RELATED_PODS}\n{}\n", printed.render()));
        }
    }
    Ok(out)
}

/// Rows of one group as the server printed them, plus notes for objects it could not.
#[derive(Default)]
struct Printed {
    header: Option<Vec<String>>,
    rows: Vec<Vec<String>>,
}

impl Printed {
    /// The indexes of the columns kubectl shows by default (priority 0).
    fn shown(table: &Value) -> Vec<(usize, String)> {
        table["columnDefinitions"]
            .as_array()
            .map(|defs| {
                defs.iter()
                    .enumerate()
                    .filter(|(_, d)| d["priority"].as_i64().unwrap_or(0) == 0)
                    .map(|(i, d)| (i, d["name"].as_str().unwrap_or("").to_uppercase()))
                    .collect()
            })
            .unwrap_or_default()
    }

    fn rows_of(table: &Value) -> Vec<(String, Vec<String>)> {
        let shown = Self::shown(table);
        table["rows"]
            .as_array()
            .map(|rows| {
                rows.iter()
                    .map(|row| {
                        let cells: Vec<String> = shown
                            .iter()
                            .map(|(i, _)| cell_text(&row["cells"][*i]))
                            .collect();
                        let name = row
                            .pointer("/object/metadata/name")
                            .and_then(Value::as_str)
                            .map(String::from)
                            .unwrap_or_else(|| cells.first().cloned().unwrap_or_default());
                        (name, cells)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    fn take_header(&mut self, table: &Value) {
        if self.header.is_none() {
            let names: Vec<String> = Self::shown(table).into_iter().map(|(_, n)| n).collect();
            if !names.is_empty() {
                self.header = Some(names);
            }
        }
    }

    fn add_table(&mut self, table: &Value) {
        self.take_header(table);
        self.rows
            .extend(Self::rows_of(table).into_iter().map(|(_, cells)| cells));
    }

    /// Adds rows not seen yet (Pods matched by several workloads' selectors appear once).
    fn add_table_unique(
        &mut self,
        table: &Value,
        namespace: &str,
        seen: &mut std::collections::BTreeSet<(String, String)>,
    ) {
        self.take_header(table);
        for (name, cells) in Self::rows_of(table) {
            if seen.insert((namespace.to_string(), name)) {
                self.rows.push(cells);
            }
        }
    }

    fn add_note(&mut self, name: &str, note: &str) {
        self.rows.push(vec![name.to_string(), note.to_string()]);
    }

    fn render(&self) -> String {
        let header = self
            .header
            .clone()
            .unwrap_or_else(|| vec!["NAME".into(), "STATUS".into()]);
        let mut rows = vec![header];
        rows.extend(self.rows.iter().cloned());
        table(&rows, None)
            .lines()
            .map(str::trim_end)
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    }
}

fn cell_text(cell: &Value) -> String {
    match cell {
        Value::String(s) => s.clone(),
        Value::Null => "<none>".into(),
        other => other.to_string(),
    }
}

/// `key=value,…` from a workload's `spec.selector.matchLabels` (a live Job's include the
/// `controller-uid` label its controller generated).
fn selector_of(object: &Value) -> Option<String> {
    let labels = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)?;
    if labels.is_empty() {
        return None;
    }
    Some(
        labels
            .iter()
            .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(","),
    )
}

/// The Pod label selectors of workloads, by namespace, read from the objects given (the
/// live ones where there are: a Job's carries the selector its controller generated).
fn pod_selectors<'a>(
    workloads: impl IntoIterator<Item = (&'a ObjectRef, &'a Value)>,
) -> Vec<(String, String)> {
    workloads
        .into_iter()
        .filter_map(|(r, object)| Some((r.namespace.clone()?, selector_of(object)?)))
        .collect()
}

/// The objects of the workloads the tables found live, to read their selectors from: the
/// live object, or the stored one when it has gone since or may not be read.
async fn workload_objects(
    cluster: &Cluster,
    objects: &[Prepared],
    live_workloads: &[ObjectRef],
) -> Result<Vec<(ObjectRef, Value)>, ReleaseError> {
    let mut out = Vec::new();
    for r in live_workloads {
        if r.namespace.is_none() {
            continue;
        }
        let object = match cluster.get(r).await {
            Ok(Some(o)) => o,
            Ok(None) | Err(KubeError::Forbidden { .. }) => {
                match objects.iter().find(|p| &p.r == r) {
                    Some(p) => p.object.clone(),
                    None => continue,
                }
            }
            Err(e) => return Err(e.into()),
        };
        out.push((r.clone(), object));
    }
    Ok(out)
}

/// The list of every Pod in `namespace`.
fn pods_in(namespace: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: Some(namespace.to_string()),
        name: String::new(),
    }
}

/// The live Pods of the release's workloads (for `-o json|yaml`).
async fn related_pod_objects(
    cluster: &Cluster,
    objects: &[Prepared],
    live: &std::collections::HashMap<ObjectRef, Option<Value>>,
) -> Result<Vec<Value>, ReleaseError> {
    let workloads = objects
        .iter()
        .filter(|p| POD_OWNERS.contains(&p.r.kind.as_str()))
        .filter_map(|p| Some((&p.r, live.get(&p.r)?.as_ref()?)));
    let mut pods: BTreeMap<(String, String), Value> = BTreeMap::new();
    for (namespace, selector) in pod_selectors(workloads) {
        let r = pods_in(&namespace);
        for pod in cluster.list(&r, Some(&selector)).await? {
            let name = pod
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            pods.insert((namespace.clone(), name), pod);
        }
    }
    Ok(pods.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn server_tables_print_their_default_columns_and_missing_objects_are_marked() {
        let t = json!({
            "columnDefinitions": [
                {"name": "Name", "priority": 0},
                {"name": "Data", "priority": 0},
                {"name": "Wide", "priority": 1},
                {"name": "Age", "priority": 0},
            ],
            "rows": [{"cells": ["web-main", 2, "hidden", "5s"],
                      "object": {"metadata": {"name": "web-main"}}}],
        });
        let mut p = Printed::default();
        p.add_table(&t);
        p.add_note("web-gone", "<missing>");
        assert_eq!(
            p.render(),
            "NAME    \tDATA     \tAGE\nweb-main\t2        \t5s\nweb-gone\t<missing>\n"
        );
        let mut only_missing = Printed::default();
        only_missing.add_note("x", "<missing>");
        assert_eq!(only_missing.render(), "NAME\tSTATUS\nx   \t<missing>\n");
    }

    #[test]
    fn workload_selectors_come_from_match_labels() {
        let d = json!({"spec": {"selector": {"matchLabels": {"app": "web", "tier": "fe"}}}});
        assert_eq!(selector_of(&d).as_deref(), Some("app=web,tier=fe"));
        assert_eq!(selector_of(&json!({"spec": {}})), None);
    }
}

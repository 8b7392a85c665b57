//! Server-side apply and managedFields bookkeeping: per-manager field ownership, conflicts,
//! removal of fields a manager stops applying, and ownership transfer on ordinary writes.

use crate::errors::{ApiError, Cause};
use crate::fields::{
    FieldPath, FieldSet, ListKind, Walk, item_key, list_kind, path_string, remove_at, value_at,
};
use serde_json::{Map, Value, json};

/// One `metadata.managedFields` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct ManagedEntry {
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    pub api_version: String,
    pub time: String,
    pub subresource: String,
    pub fields: FieldSet,
}

impl ManagedEntry {
    fn to_json(&self) -> Value {
        let mut v = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": self.fields.to_fields_v1(),
        });
        if !self.subresource.is_empty() {
            v["subresource"] = json!(self.subresource);
        }
        v
    }

    /// How the apiserver names this manager in conflict messages.
    fn describe(&self) -> String {
        let mut s = format!("{:?}", self.manager);
        if !self.subresource.is_empty() {
            s.push_str(&format!(" with subresource {:?}", self.subresource));
        }
        if self.operation == "Update" {
            s.push_str(&format!(" using {}", self.api_version));
        }
        s
    }
}

/// Reads `metadata.managedFields`.
pub fn read_managed(obj: &Value) -> Vec<ManagedEntry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|entries| {
            entries
                .iter()
                .filter_map(|e| {
                    let s = |k: &str| e.get(k).and_then(Value::as_str).unwrap_or("").to_string();
                    let manager = s("manager");
                    if manager.is_empty() && e.get("fieldsV1").is_none() {
                        return None;
                    }
                    Some(ManagedEntry {
                        manager,
                        operation: s("operation"),
                        api_version: s("apiVersion"),
                        time: s("time"),
                        subresource: s("subresource"),
                        fields: FieldSet::from_fields_v1(e.get("fieldsV1").unwrap_or(&Value::Null)),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Writes `metadata.managedFields` (removing it when there are no entries).
pub fn write_managed(obj: &mut Value, entries: &[ManagedEntry]) {
    let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) else {
        return;
    };
    let live: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(ManagedEntry::to_json)
        .collect();
    if live.is_empty() {
        meta.remove("managedFields");
    } else {
        meta.insert("managedFields".into(), Value::Array(live));
    }
}

/// What part of an object a write addresses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Part {
    /// The main resource; `status` is excluded when the type has a status subresource.
    Main { has_status: bool },
    /// The `status` subresource: only `status` is tracked.
    Status,
}

impl Part {
    fn subresource(self) -> &'static str {
        match self {
            Part::Main { .. } => "",
            Part::Status => "status",
        }
    }
}

const UNTRACKED_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "managedFields",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

/// The part of `obj` whose fields are owned: no identity metadata, apiVersion or kind.
pub fn tracked_view(obj: &Value, part: Part) -> Value {
    let mut view = obj.clone();
    let Some(map) = view.as_object_mut() else {
        return Value::Object(Map::new());
    };
    map.remove("apiVersion");
    map.remove("kind");
    match part {
        Part::Main { has_status: true } => {
            map.remove("status");
        }
        Part::Main { has_status: false } => {}
        Part::Status => {
            map.retain(|k, _| k == "status");
        }
    }
    if let Some(meta) = map.get_mut("metadata").and_then(Value::as_object_mut) {
        for k in UNTRACKED_METADATA {
            meta.remove(*k);
        }
        if meta.is_empty() {
            map.remove("metadata");
        }
    }
    view
}

fn strip_nulls(v: &mut Value) {
    match v {
        Value::Object(m) => {
            m.retain(|_, c| !c.is_null());
            m.values_mut().for_each(strip_nulls);
        }
        Value::Array(a) => a.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

/// The maps and lists of `view` that every built-in kind leaves out until they hold something:
/// metadata's labels, annotations, ownerReferences and finalizers (pod templates' metadata
/// too) and `status.conditions`. A write that creates one owns the map or list itself as well
/// (FieldsV1 `.: {}`), as the apiserver's comparison records an added node. Other nodes are
/// left out: kubesim has no Go types to tell structs that are always there (`spec`,
/// `template`, …, never added) from optional ones.
fn optional_nodes(view: &Value) -> FieldSet {
    fn walk(map: &Map<String, Value>, path: &mut FieldPath, out: &mut FieldSet) {
        for (k, v) in map {
            path.push(format!("f:{k}"));
            let holds_something = match v {
                Value::Object(m) => !m.is_empty(),
                Value::Array(a) => !a.is_empty(),
                _ => false,
            };
            let parent = path.len().checked_sub(2).map(|i| path[i].as_str());
            let optional = match (parent, k.as_str()) {
                (
                    Some("f:metadata"),
                    "labels" | "annotations" | "ownerReferences" | "finalizers",
                ) => true,
                (Some("f:status"), "conditions") => path.len() == 2,
                _ => false,
            };
            if optional && holds_something {
                out.paths.insert(path.clone());
            }
            if let Value::Object(m) = v {
                walk(m, path, out);
            }
            path.pop();
        }
    }
    let mut out = FieldSet::default();
    if let Some(map) = view.as_object() {
        walk(map, &mut Vec::new(), &mut out);
    }
    out
}

fn is_item(path: &FieldPath) -> bool {
    path.last()
        .is_some_and(|p| p.starts_with("k:") || p.starts_with("v:"))
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Records an ordinary (non-apply) write by `manager`: it takes ownership of every field it
/// changed, other managers lose those fields, and fields that no longer exist are disowned.
pub fn record_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    part: Part,
    walk: Walk,
) {
    let explicit = new.pointer("/metadata/managedFields").cloned();
    let previous = old.and_then(|o| o.pointer("/metadata/managedFields").cloned());
    let mut entries = match (&explicit, &previous) {
        (Some(e), p) if Some(e) != p.as_ref() => read_managed(new),
        _ => old.map(read_managed).unwrap_or_default(),
    };
    let empty = Value::Object(Map::new());
    let old_view = old.map(|o| tracked_view(o, part)).unwrap_or(empty);
    let new_view = tracked_view(new, part);
    let new_fields = FieldSet::of(&new_view, walk);
    let new_nodes = optional_nodes(&new_view);
    let changed = FieldSet {
        paths: new_fields
            .paths
            .iter()
            .filter(|p| {
                let before = value_at(&old_view, p, walk);
                if is_item(p) {
                    before.is_none()
                } else {
                    before != value_at(&new_view, p, walk)
                }
            })
            .chain(
                new_nodes
                    .paths
                    .iter()
                    .filter(|p| value_at(&old_view, p, walk).is_none()),
            )
            .cloned()
            .collect(),
    };
    let whole = tracked_view(new, Part::Main { has_status: false });
    let everything = FieldSet::of(&whole, walk).union(&optional_nodes(&whole));
    let sub = part.subresource();
    for e in entries.iter_mut() {
        e.fields = e.fields.intersection(&everything);
        let mine = e.manager == manager && e.operation == "Update" && e.subresource == sub;
        if !mine {
            e.fields = e.fields.difference(&changed);
        }
    }
    if !changed.is_empty() {
        let now = now_rfc3339();
        match entries
            .iter_mut()
            .find(|e| e.manager == manager && e.operation == "Update" && e.subresource == sub)
        {
            Some(e) => {
                e.fields = e.fields.union(&changed);
                e.time = now;
                e.api_version = api_version.to_string();
            }
            None => entries.push(ManagedEntry {
                manager: manager.to_string(),
                operation: "Update".into(),
                api_version: api_version.to_string(),
                time: now,
                subresource: sub.to_string(),
                fields: changed,
            }),
        }
    }
    write_managed(new, &entries);
}

/// Merges an applied configuration into `live`: maps recursively, associative lists per key,
/// set lists as unions, everything else replaced.
fn merge_applied(live: &mut Value, cfg: &Value, names: &mut Vec<String>, walk: Walk) {
    match (live, cfg) {
        (Value::Object(l), Value::Object(c)) => {
            for (k, cv) in c {
                names.push(k.clone());
                match l.get_mut(k) {
                    Some(lv)
                        if (lv.is_object() && cv.is_object())
                            || (lv.is_array() && cv.is_array()) =>
                    {
                        merge_applied(lv, cv, names, walk)
                    }
                    _ => {
                        l.insert(k.clone(), cv.clone());
                    }
                }
                names.pop();
            }
        }
        (Value::Array(l), Value::Array(c)) => {
            let field = names.last().cloned().unwrap_or_default();
            let probe: Vec<Value> = l.iter().chain(c.iter()).cloned().collect();
            match list_kind(names, &field, &probe, walk) {
                ListKind::Map(keys) => {
                    for item in c {
                        let key = item_key(&field, &keys, item);
                        match l.iter_mut().find(|i| item_key(&field, &keys, i) == key) {
                            Some(existing) => merge_applied(existing, item, names, walk),
                            None => l.push(item.clone()),
                        }
                    }
                }
                ListKind::Set => {
                    for item in c {
                        if !l.contains(item) {
                            l.push(item.clone());
                        }
                    }
                }
                ListKind::Atomic => *l = c.clone(),
            }
        }
        (live, cfg) => *live = cfg.clone(),
    }
}

/// Server-side apply of `config` by `manager` onto `live` (None when the object is new).
/// Returns the merged object with updated managedFields, or a 409 naming each conflict.
pub fn server_side_apply(
    live: Option<&Value>,
    config: &Value,
    manager: &str,
    force: bool,
    api_version: &str,
    part: Part,
    walk: Walk,
) -> Result<Value, ApiError> {
    let mut cfg_view = tracked_view(config, part);
    strip_nulls(&mut cfg_view);
    let cfg_set = FieldSet::of(&cfg_view, walk);
    let mut entries = live.map(read_managed).unwrap_or_default();
    let sub = part.subresource();
    let is_me =
        |e: &ManagedEntry| e.manager == manager && e.operation == "Apply" && e.subresource == sub;
    let empty = Value::Object(Map::new());
    let live_obj = live.unwrap_or(&empty);

    let mut conflicts: Vec<(usize, FieldPath)> = Vec::new();
    for (i, e) in entries.iter().enumerate() {
        if is_me(e) {
            continue;
        }
        for p in e.fields.intersection(&cfg_set).paths {
            if is_item(&p) {
                continue;
            }
            let (was, wanted) = (value_at(live_obj, &p, walk), value_at(&cfg_view, &p, walk));
            // An empty map merges into a live map without changing it (another manager may
            // own that map as a node, e.g. annotations the controller manager created).
            let merges_to_nothing = wanted
                .is_some_and(|w| w.as_object().is_some_and(Map::is_empty))
                && was.is_some_and(Value::is_object);
            if was != wanted && !merges_to_nothing {
                conflicts.push((i, p));
            }
        }
    }
    if !conflicts.is_empty() {
        if !force {
            return Err(conflict_error(&entries, &conflicts));
        }
        for (i, p) in &conflicts {
            entries[*i].fields.paths.remove(p);
        }
    }

    let previously_mine = entries
        .iter()
        .find(|e| is_me(e))
        .map(|e| e.fields.clone())
        .unwrap_or_default();
    let others = entries
        .iter()
        .filter(|e| !is_me(e))
        .fold(FieldSet::default(), |acc, e| acc.union(&e.fields));
    let mut merged = live.cloned().unwrap_or_else(|| json!({}));
    let abandoned = previously_mine.difference(&cfg_set).difference(&others);
    // Shallowest paths first: removing a list item removes its fields with it (its key
    // fields must still be there to find it).
    let mut abandoned: Vec<FieldPath> = abandoned.paths.into_iter().collect();
    abandoned.sort_by_key(|p| p.len());
    let mut removed: Vec<FieldPath> = Vec::new();
    for p in abandoned {
        if others.has_descendant_of(&p)
            || cfg_set.has_descendant_of(&p)
            || removed.iter().any(|r| p.starts_with(r))
        {
            continue;
        }
        remove_at(&mut merged, &p, walk);
        removed.push(p);
    }
    merge_applied(&mut merged, &cfg_view, &mut Vec::new(), walk);
    // What the apply removed is nobody's any more: a map it emptied is gone from the entry of
    // the manager that created it, as the apiserver drops removed fields from every manager.
    let whole = tracked_view(&merged, Part::Main { has_status: false });
    let present = FieldSet::of(&whole, walk).union(&optional_nodes(&whole));
    for e in entries.iter_mut().filter(|e| !is_me(e)) {
        e.fields = e.fields.intersection(&present);
    }

    let now = now_rfc3339();
    let mine = ManagedEntry {
        manager: manager.to_string(),
        operation: "Apply".into(),
        api_version: api_version.to_string(),
        time: now,
        subresource: sub.to_string(),
        fields: cfg_set,
    };
    match entries.iter_mut().find(|e| is_me(e)) {
        Some(e) => *e = mine,
        None => entries.insert(0, mine),
    }
    if merged.get("metadata").is_none() {
        merged["metadata"] = json!({});
    }
    write_managed(&mut merged, &entries);
    Ok(merged)
}

fn conflict_error(entries: &[ManagedEntry], conflicts: &[(usize, FieldPath)]) -> ApiError {
    let causes: Vec<Cause> = conflicts
        .iter()
        .map(|(i, p)| Cause {
            reason: "FieldManagerConflict".into(),
            message: format!("conflict with {}", entries[*i].describe()),
            field: path_string(p),
        })
        .collect();
    let message = if conflicts.len() == 1 {
        let (i, p) = &conflicts[0];
        format!(
            "Apply failed with 1 conflict: conflict with {}: {}",
            entries[*i].describe(),
            path_string(p)
        )
    } else {
        let mut managers: Vec<usize> = conflicts.iter().map(|(i, _)| *i).collect();
        managers.sort_by_key(|i| entries[*i].describe());
        managers.dedup();
        let mut lines = Vec::new();
        for m in managers {
            lines.push(format!("conflicts with {}:", entries[m].describe()));
            for (_, p) in conflicts.iter().filter(|(i, _)| *i == m) {
                lines.push(format!("- {}", path_string(p)));
            }
        }
        format!(
            "Apply failed with {} conflicts: {}",
            conflicts.len(),
            lines.join("\n")
        )
    };
    ApiError::ApplyConflict { message, causes }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: Walk<'static> = Walk::BUILTIN;
    const MAIN: Part = Part::Main { has_status: true };

    fn deployment(replicas: i64, image: &str) -> Value {
        json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "namespace": "default", "labels": {"app": "web"}},
            "spec": {"replicas": replicas, "template": {"spec": {"containers": [
                {"name": "web", "image": image}]}}}})
    }

    /// Server-side apply of an apps/v1 object's main resource by `manager`.
    fn apply_as(
        live: Option<&Value>,
        config: &Value,
        manager: &str,
        force: bool,
    ) -> Result<Value, ApiError> {
        server_side_apply(live, config, manager, force, "apps/v1", MAIN, W)
    }

    fn managers(obj: &Value) -> Vec<(String, String)> {
        read_managed(obj)
            .into_iter()
            .map(|e| (e.manager, e.operation))
            .collect()
    }

    #[test]
    fn first_apply_creates_the_object_and_records_ownership() {
        let obj = apply_as(None, &deployment(2, "nginx:1"), "alice", false).unwrap();
        assert_eq!(obj["spec"]["replicas"], 2);
        let entries = read_managed(&obj);
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].operation, "Apply");
        let fv1 = entries[0].fields.to_fields_v1();
        assert_eq!(fv1["f:spec"]["f:replicas"], json!({}));
        assert_eq!(fv1["f:metadata"]["f:labels"]["f:app"], json!({}));
        assert!(
            fv1["f:metadata"].get("f:name").is_none(),
            "identity fields are not owned"
        );
    }

    #[test]
    fn another_manager_changing_an_owned_field_conflicts_unless_forced() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "alice", false).unwrap();
        let err = apply_as(Some(&live), &deployment(5, "nginx:1"), "bob", false).unwrap_err();
        let status = err.to_status();
        assert_eq!(status["code"], 409);
        assert_eq!(status["reason"], "Conflict");
        assert_eq!(
            status["message"],
            "Apply failed with 1 conflict: conflict with \"alice\": .spec.replicas"
        );
        assert_eq!(status["details"]["causes"][0]["field"], ".spec.replicas");
        assert_eq!(
            status["details"]["causes"][0]["reason"],
            "FieldManagerConflict"
        );

        let forced = apply_as(Some(&live), &deployment(5, "nginx:1"), "bob", true).unwrap();
        assert_eq!(forced["spec"]["replicas"], 5);
        let alice = read_managed(&forced)
            .into_iter()
            .find(|e| e.manager == "alice")
            .unwrap();
        assert!(
            !alice
                .fields
                .contains(&vec!["f:spec".into(), "f:replicas".into()])
        );
        let bob = read_managed(&forced)
            .into_iter()
            .find(|e| e.manager == "bob")
            .unwrap();
        assert!(
            bob.fields
                .contains(&vec!["f:spec".into(), "f:replicas".into()])
        );
    }

    #[test]
    fn applying_the_same_value_shares_ownership_without_conflict() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "alice", false).unwrap();
        let shared = apply_as(Some(&live), &deployment(2, "nginx:1"), "bob", false).unwrap();
        assert_eq!(managers(&shared).len(), 2);
    }

    #[test]
    fn fields_a_manager_stops_applying_are_removed() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "alice", false).unwrap();
        let mut cfg = deployment(2, "nginx:1");
        cfg["metadata"].as_object_mut().unwrap().remove("labels");
        let after =
            server_side_apply(Some(&live), &cfg, "alice", false, "apps/v1", MAIN, W).unwrap();
        assert!(after["metadata"].get("labels").is_none(), "{after}");
        assert_eq!(after["spec"]["replicas"], 2);
    }

    #[test]
    fn a_container_the_manager_stops_applying_is_removed_whole() {
        let mut two = deployment(2, "nginx:1");
        two["spec"]["template"]["spec"]["containers"]
            .as_array_mut()
            .unwrap()
            .push(json!({"name": "sidecar", "image": "envoy", "args": ["-v"]}));
        let live = server_side_apply(None, &two, "alice", false, "apps/v1", MAIN, W).unwrap();
        let after = apply_as(Some(&live), &deployment(2, "nginx:1"), "alice", false).unwrap();
        assert_eq!(
            after["spec"]["template"]["spec"]["containers"],
            json!([{"name": "web", "image": "nginx:1"}])
        );
        let fields = &read_managed(&after)[0].fields;
        assert!(
            !fields
                .paths
                .iter()
                .any(|p| p.iter().any(|e| e.contains("sidecar"))),
            "ownership of the removed container is dropped too"
        );
    }

    #[test]
    fn fields_still_owned_by_another_manager_survive_removal() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "alice", false).unwrap();
        let live = apply_as(Some(&live), &deployment(2, "nginx:1"), "bob", false).unwrap();
        let mut cfg = deployment(2, "nginx:1");
        cfg["metadata"].as_object_mut().unwrap().remove("labels");
        let after =
            server_side_apply(Some(&live), &cfg, "alice", false, "apps/v1", MAIN, W).unwrap();
        assert_eq!(after["metadata"]["labels"]["app"], "web");
    }

    #[test]
    fn containers_are_merged_per_name_across_managers() {
        let live = apply_as(None, &deployment(1, "nginx:1"), "alice", false).unwrap();
        let sidecar = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web"},
            "spec": {"template": {"spec": {"containers": [{"name": "proxy", "image": "envoy"}]}}}});
        let merged =
            server_side_apply(Some(&live), &sidecar, "bob", false, "apps/v1", MAIN, W).unwrap();
        let names: Vec<&str> = merged["spec"]["template"]["spec"]["containers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["web", "proxy"]);
        // alice dropping nothing keeps bob's container; alice changing her image is fine.
        let again = apply_as(Some(&merged), &deployment(1, "nginx:2"), "alice", false).unwrap();
        assert_eq!(
            again["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:2"
        );
        assert_eq!(
            again["spec"]["template"]["spec"]["containers"][1]["name"],
            "proxy"
        );
    }

    #[test]
    fn an_update_takes_ownership_so_a_later_apply_conflicts_with_it() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "alice", false).unwrap();
        let mut scaled = live.clone();
        scaled["spec"]["replicas"] = json!(7);
        record_update(
            Some(&live),
            &mut scaled,
            "kubectl-scale",
            "apps/v1",
            MAIN,
            W,
        );
        let entries = read_managed(&scaled);
        let scaler = entries
            .iter()
            .find(|e| e.manager == "kubectl-scale")
            .unwrap();
        assert_eq!(scaler.operation, "Update");
        assert_eq!(scaler.fields.paths.len(), 1);
        let err = apply_as(Some(&scaled), &deployment(2, "nginx:1"), "alice", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 1 conflict: conflict with \"kubectl-scale\" using apps/v1: .spec.replicas"
        );
    }

    #[test]
    fn custom_resource_lists_follow_the_crd_list_type() {
        let schema = json!({"type": "object", "properties": {"spec": {"type": "object",
            "properties": {
                "routes": {"type": "array", "x-kubernetes-list-type": "map",
                    "x-kubernetes-list-map-keys": ["name"],
                    "items": {"type": "object", "properties": {
                        "name": {"type": "string"}, "weight": {"type": "integer"}}}},
                "hosts": {"type": "array", "items": {"type": "string"}}}}}});
        let walk = Walk {
            custom: true,
            schema: Some(&schema),
        };
        let cr = |routes: Value, hosts: Value| {
            json!({"apiVersion": "example.com/v1", "kind": "Router", "metadata": {"name": "r"},
                "spec": {"routes": routes, "hosts": hosts}})
        };
        let main = Part::Main { has_status: false };
        let live = server_side_apply(
            None,
            &cr(json!([{"name": "a", "weight": 1}]), json!(["x"])),
            "alice",
            false,
            "example.com/v1",
            main,
            walk,
        )
        .unwrap();
        let bob = json!({"apiVersion": "example.com/v1", "kind": "Router", "metadata": {"name": "r"},
            "spec": {"routes": [{"name": "b", "weight": 2}]}});
        let merged = server_side_apply(
            Some(&live),
            &bob,
            "bob",
            false,
            "example.com/v1",
            main,
            walk,
        )
        .unwrap();
        assert_eq!(
            merged["spec"]["routes"],
            json!([{"name": "a", "weight": 1}, {"name": "b", "weight": 2}]),
            "list-type map merges per key"
        );
        let replaced = server_side_apply(
            Some(&merged),
            &json!({"apiVersion": "example.com/v1", "kind": "Router", "metadata": {"name": "r"},
                "spec": {"hosts": ["y"]}}),
            "carol",
            true,
            "example.com/v1",
            main,
            walk,
        )
        .unwrap();
        assert_eq!(
            replaced["spec"]["hosts"],
            json!(["y"]),
            "lists without a type are atomic"
        );
    }

    /// The controller manager's Update of the revision annotation and of `status`, as the
    /// simulated Deployment controller writes them.
    fn controller_writes(live: &Value) -> Value {
        let mut annotated = live.clone();
        annotated["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("1");
        record_update(
            Some(live),
            &mut annotated,
            "kube-controller-manager",
            "apps/v1",
            MAIN,
            W,
        );
        let mut status = annotated.clone();
        status["status"] = json!({"replicas": 2, "conditions": [
            {"type": "Available", "status": "True"}, {"type": "Progressing", "status": "True"}]});
        record_update(
            Some(&annotated),
            &mut status,
            "kube-controller-manager",
            "apps/v1",
            Part::Status,
            W,
        );
        status
    }

    fn entry_fields(obj: &Value, manager: &str, subresource: &str) -> Value {
        read_managed(obj)
            .into_iter()
            .find(|e| e.manager == manager && e.subresource == subresource)
            .unwrap_or_else(|| panic!("no {manager}/{subresource:?} entry in {obj}"))
            .fields
            .to_fields_v1()
    }

    #[test]
    fn an_update_creating_annotations_or_conditions_owns_the_map_and_list_too() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "helm", false).unwrap();
        let done = controller_writes(&live);
        // As the apiserver records it: the added map and list are owned as nodes (`.`).
        assert_eq!(
            entry_fields(&done, "kube-controller-manager", ""),
            json!({"f:metadata": {"f:annotations": {".": {},
                "f:deployment.kubernetes.io/revision": {}}}})
        );
        assert_eq!(
            entry_fields(&done, "kube-controller-manager", "status"),
            json!({"f:status": {"f:replicas": {}, "f:conditions": {".": {},
                "k:{\"type\":\"Available\"}": {".": {}, "f:type": {}, "f:status": {}},
                "k:{\"type\":\"Progressing\"}": {".": {}, "f:type": {}, "f:status": {}}}}})
        );
        // Annotations that were already there: only the one annotation is the controller's.
        let mut annotated = deployment(2, "nginx:1");
        annotated["metadata"]["annotations"] = json!({"meta.helm.sh/release-name": "web"});
        let live = apply_as(None, &annotated, "helm", false).unwrap();
        assert_eq!(
            entry_fields(&controller_writes(&live), "kube-controller-manager", ""),
            json!({"f:metadata": {"f:annotations": {"f:deployment.kubernetes.io/revision": {}}}})
        );
        // The node stays owned across later writes, and goes with the map.
        let mut bumped = done.clone();
        bumped["metadata"]["annotations"]["deployment.kubernetes.io/revision"] = json!("2");
        record_update(
            Some(&done),
            &mut bumped,
            "kube-controller-manager",
            "apps/v1",
            MAIN,
            W,
        );
        assert_eq!(
            entry_fields(&bumped, "kube-controller-manager", ""),
            entry_fields(&done, "kube-controller-manager", "")
        );
        let mut stripped = bumped.clone();
        stripped["metadata"]
            .as_object_mut()
            .unwrap()
            .remove("annotations");
        record_update(
            Some(&bumped),
            &mut stripped,
            "kubectl-edit",
            "apps/v1",
            MAIN,
            W,
        );
        assert!(
            read_managed(&stripped)
                .iter()
                .all(|e| e.subresource == "status" || e.manager != "kube-controller-manager"),
            "{stripped}"
        );
    }

    #[test]
    fn a_map_an_apply_empties_leaves_the_entry_of_the_manager_that_created_it() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "helm", false).unwrap();
        let done = controller_writes(&live);
        // helm takes the annotation over, then stops applying it: the map is gone, and so
        // is the controller manager's ownership of it.
        let mut cfg = deployment(2, "nginx:1");
        cfg["metadata"]["annotations"] = json!({"deployment.kubernetes.io/revision": "9"});
        let taken = apply_as(Some(&done), &cfg, "helm", true).unwrap();
        let dropped = apply_as(Some(&taken), &deployment(2, "nginx:1"), "helm", false).unwrap();
        assert!(
            dropped["metadata"].get("annotations").is_none(),
            "{dropped}"
        );
        assert!(
            read_managed(&dropped)
                .iter()
                .all(|e| e.manager != "kube-controller-manager" || e.subresource == "status"),
            "{dropped}"
        );
    }

    #[test]
    fn reapplying_with_empty_annotations_does_not_conflict_with_the_controller() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "helm", false).unwrap();
        let done = controller_writes(&live);
        let mut cfg = deployment(2, "nginx:2");
        cfg["metadata"]["annotations"] = json!({});
        let again = apply_as(Some(&done), &cfg, "helm", false).unwrap();
        assert_eq!(
            again["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
            "1"
        );
        assert_eq!(
            again["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:2"
        );
    }

    #[test]
    fn several_conflicts_are_grouped_by_manager() {
        let live = apply_as(None, &deployment(2, "nginx:1"), "alice", false).unwrap();
        let err = apply_as(Some(&live), &deployment(3, "nginx:2"), "bob", false).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Apply failed with 2 conflicts: conflicts with \"alice\":\n- .spec.replicas\n- .spec.template.spec.containers[name=\"web\"].image"
        );
    }
}

//! Field paths and field sets: which fields an object sets, encoded as managedFields' FieldsV1.
//!
//! Lists follow the built-in kinds' schemas closely enough for ownership tracking: associative
//! lists (`containers` by name, container `ports` by containerPort+protocol, …) have one path per
//! item (`k:{"name":"web"}`), set lists (`finalizers`) one per value (`v:"x"`), and all other lists
//! are atomic (owned as a whole).

use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// How a list is merged and owned.
#[derive(Debug, Clone, PartialEq)]
pub enum ListKind {
    /// Items are identified by these key fields.
    Map(Vec<String>),
    /// Items are scalar values forming a set.
    Set,
    /// The list is replaced and owned as a whole.
    Atomic,
}

/// Defaults the schema gives to list-key fields that items may omit.
fn key_default(list_field: &str, key: &str) -> Option<Value> {
    match (list_field, key) {
        ("ports", "protocol") => Some(Value::String("TCP".into())),
        _ => None,
    }
}

fn map_keys(keys: &[&str]) -> ListKind {
    ListKind::Map(keys.iter().map(|k| k.to_string()).collect())
}

/// The list type a CRD's structural schema declares at `path` (field names from the root, the
/// list itself last): `x-kubernetes-list-type` map (with its keys), set, or atomic.
fn schema_list_kind(root: &Value, path: &[String]) -> Option<ListKind> {
    let mut node = root;
    for name in path {
        while node.get("type").and_then(Value::as_str) == Some("array") {
            node = node.get("items")?;
        }
        node = node
            .get("properties")
            .and_then(|p| p.get(name))
            .or_else(|| node.get("additionalProperties").filter(|a| a.is_object()))?;
    }
    match node.get("x-kubernetes-list-type")?.as_str()? {
        "map" => Some(ListKind::Map(
            node.get("x-kubernetes-list-map-keys")?
                .as_array()?
                .iter()
                .filter_map(|k| k.as_str().map(str::to_string))
                .collect(),
        )),
        "set" => Some(ListKind::Set),
        _ => Some(ListKind::Atomic),
    }
}

/// The list semantics of the field `field` at `path` (field names from the object root).
/// Custom resources follow their CRD schema's `x-kubernetes-list-type` (atomic by default);
/// their metadata lists behave as for built-in kinds.
pub fn list_kind(path: &[String], field: &str, items: &[Value], walk: Walk<'_>) -> ListKind {
    let in_metadata = path.first().is_some_and(|p| p == "metadata");
    if walk.custom && !in_metadata {
        return walk
            .schema
            .and_then(|s| schema_list_kind(s, path))
            .unwrap_or(ListKind::Atomic);
    }
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "schedulingGates"
        | "resourceClaims" => map_keys(&["name"]),
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                map_keys(&["containerPort", "protocol"])
            } else if items.iter().any(|i| i.get("port").is_some()) {
                map_keys(&["port", "protocol"])
            } else {
                ListKind::Atomic
            }
        }
        "volumeMounts" => map_keys(&["mountPath"]),
        "volumeDevices" => map_keys(&["devicePath"]),
        "hostAliases" => map_keys(&["ip"]),
        "conditions" => map_keys(&["type"]),
        "ownerReferences" => map_keys(&["uid"]),
        "topologySpreadConstraints" => map_keys(&["topologyKey", "whenUnsatisfiable"]),
        "finalizers" => ListKind::Set,
        _ => ListKind::Atomic,
    }
}

/// The key object of a list item (`{"name":"web"}`), with schema defaults for missing keys.
pub fn item_key(list_field: &str, keys: &[String], item: &Value) -> Value {
    let mut key = Map::new();
    for k in keys {
        if let Some(v) = item.get(k).cloned().or_else(|| key_default(list_field, k)) {
            key.insert(k.clone(), v);
        }
    }
    Value::Object(key)
}

/// One step of a field path, in FieldsV1 encoding: `f:name`, `k:{...}` or `v:...`.
pub type PathElement = String;
/// A path from the object root.
pub type FieldPath = Vec<PathElement>;

/// A set of field paths: the fields one manager owns, or the fields an object sets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FieldSet {
    pub paths: BTreeSet<FieldPath>,
}

/// Context for walking an object: whether it is a custom resource, and its CRD schema.
#[derive(Debug, Clone, Copy)]
pub struct Walk<'a> {
    pub custom: bool,
    pub schema: Option<&'a Value>,
}

impl Walk<'static> {
    /// A built-in kind.
    pub const BUILTIN: Walk<'static> = Walk {
        custom: false,
        schema: None,
    };
}

fn field_names(path: &[PathElement]) -> Vec<String> {
    path.iter()
        .filter_map(|p| p.strip_prefix("f:").map(str::to_string))
        .collect()
}

impl FieldSet {
    /// The leaf fields (and associative list items) `obj` sets.
    pub fn of(obj: &Value, walk: Walk) -> FieldSet {
        let mut set = FieldSet::default();
        let mut path = Vec::new();
        if let Some(map) = obj.as_object() {
            for (k, v) in map {
                path.push(format!("f:{k}"));
                collect(v, &mut path, &mut set.paths, walk);
                path.pop();
            }
        }
        set
    }

    pub fn contains(&self, path: &FieldPath) -> bool {
        self.paths.contains(path)
    }

    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Paths in `self` but not in `other`.
    pub fn difference(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            paths: self.paths.difference(&other.paths).cloned().collect(),
        }
    }

    /// Paths in both sets.
    pub fn intersection(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            paths: self.paths.intersection(&other.paths).cloned().collect(),
        }
    }

    /// Paths in either set.
    pub fn union(&self, other: &FieldSet) -> FieldSet {
        FieldSet {
            paths: self.paths.union(&other.paths).cloned().collect(),
        }
    }

    /// Whether some path in the set lies strictly below `prefix`.
    pub fn has_descendant_of(&self, prefix: &FieldPath) -> bool {
        self.paths
            .iter()
            .any(|p| p.len() > prefix.len() && p.starts_with(prefix))
    }

    /// The FieldsV1 JSON tree (`{"f:spec":{"f:replicas":{}}}`).
    pub fn to_fields_v1(&self) -> Value {
        let mut root = Map::new();
        for path in &self.paths {
            let mut node = &mut root;
            for (i, el) in path.iter().enumerate() {
                let child = node
                    .entry(el.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                let child = child.as_object_mut().expect("field set nodes are objects");
                if i + 1 == path.len() {
                    if !child.is_empty() {
                        child.insert(".".into(), Value::Object(Map::new()));
                    }
                } else if child.is_empty() && self.paths.contains(&path[..=i]) {
                    child.insert(".".into(), Value::Object(Map::new()));
                }
                node = child;
            }
        }
        Value::Object(root)
    }

    /// Parses a FieldsV1 JSON tree.
    pub fn from_fields_v1(tree: &Value) -> FieldSet {
        let mut set = FieldSet::default();
        let mut path = Vec::new();
        parse_tree(tree, &mut path, &mut set.paths);
        set
    }
}

fn parse_tree(node: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>) {
    let Some(map) = node.as_object() else { return };
    for (k, child) in map {
        if k == "." {
            out.insert(path.clone());
            continue;
        }
        path.push(k.clone());
        if child.as_object().is_none_or(Map::is_empty) {
            out.insert(path.clone());
        } else {
            parse_tree(child, path, out);
        }
        path.pop();
    }
}

fn collect(v: &Value, path: &mut FieldPath, out: &mut BTreeSet<FieldPath>, walk: Walk) {
    match v {
        Value::Object(map) if !map.is_empty() => {
            for (k, c) in map {
                path.push(format!("f:{k}"));
                collect(c, path, out, walk);
                path.pop();
            }
        }
        Value::Array(items) if !items.is_empty() => {
            let names = field_names(path);
            let field = names.last().cloned().unwrap_or_default();
            match list_kind(&names, &field, items, walk) {
                ListKind::Map(keys) => {
                    for item in items {
                        path.push(format!("k:{}", item_key(&field, &keys, item)));
                        out.insert(path.clone());
                        if let Some(m) = item.as_object() {
                            for (k, c) in m {
                                path.push(format!("f:{k}"));
                                collect(c, path, out, walk);
                                path.pop();
                            }
                        }
                        path.pop();
                    }
                }
                ListKind::Set => {
                    for item in items {
                        path.push(format!("v:{item}"));
                        out.insert(path.clone());
                        path.pop();
                    }
                }
                ListKind::Atomic => {
                    out.insert(path.clone());
                }
            }
        }
        _ => {
            out.insert(path.clone());
        }
    }
}

/// Finds the index of the list item at a `k:` or `v:` path element.
fn find_item(
    items: &[Value],
    list_field: &str,
    el: &str,
    names: &[String],
    walk: Walk,
) -> Option<usize> {
    if let Some(key) = el.strip_prefix("k:") {
        let key: Value = serde_json::from_str(key).ok()?;
        let ListKind::Map(keys) = list_kind(names, list_field, items, walk) else {
            // The schema for a single-item probe may be ambiguous: fall back to the key's fields.
            let keys: Vec<String> = key.as_object()?.keys().cloned().collect();
            return items.iter().position(|i| {
                keys.iter().all(|k| {
                    i.get(k).cloned().or_else(|| key_default(list_field, k)) == key.get(k).cloned()
                })
            });
        };
        items
            .iter()
            .position(|i| item_key(list_field, &keys, i) == key)
    } else if let Some(v) = el.strip_prefix("v:") {
        let v: Value = serde_json::from_str(v).ok()?;
        items.iter().position(|i| *i == v)
    } else {
        None
    }
}

/// The value at `path` in `obj`, if present.
pub fn value_at<'a>(obj: &'a Value, path: &[PathElement], walk: Walk) -> Option<&'a Value> {
    let mut cur = obj;
    let mut names: Vec<String> = Vec::new();
    for el in path {
        if let Some(f) = el.strip_prefix("f:") {
            cur = cur.as_object()?.get(f)?;
            names.push(f.to_string());
        } else {
            let items = cur.as_array()?;
            let field = names.last().cloned().unwrap_or_default();
            let idx = find_item(items, &field, el, &names, walk)?;
            cur = &items[idx];
        }
    }
    Some(cur)
}

/// Removes the field or list item at `path`; then prunes maps and lists it left empty.
/// Returns whether something was removed.
pub fn remove_at(obj: &mut Value, path: &[PathElement], walk: Walk) -> bool {
    fn go(cur: &mut Value, path: &[PathElement], names: &mut Vec<String>, walk: Walk) -> bool {
        let Some((el, rest)) = path.split_first() else {
            return false;
        };
        let removed;
        if let Some(f) = el.strip_prefix("f:") {
            let Some(map) = cur.as_object_mut() else {
                return false;
            };
            if rest.is_empty() {
                return map.remove(f).is_some();
            }
            let Some(child) = map.get_mut(f) else {
                return false;
            };
            names.push(f.to_string());
            removed = go(child, rest, names, walk);
            names.pop();
            if removed && is_empty_container(child) {
                map.remove(f);
            }
        } else {
            let field = names.last().cloned().unwrap_or_default();
            let Some(items) = cur.as_array_mut() else {
                return false;
            };
            let Some(idx) = find_item(items, &field, el, names, walk) else {
                return false;
            };
            if rest.is_empty() {
                items.remove(idx);
                return true;
            }
            removed = go(&mut items[idx], rest, names, walk);
        }
        removed
    }
    go(obj, path, &mut Vec::new(), walk)
}

fn is_empty_container(v: &Value) -> bool {
    match v {
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// Renders a path like the apiserver does in conflict messages:
/// `.spec.template.spec.containers[name="web"].image`.
pub fn path_string(path: &[PathElement]) -> String {
    let mut s = String::new();
    for el in path {
        if let Some(f) = el.strip_prefix("f:") {
            s.push('.');
            s.push_str(f);
        } else if let Some(k) = el.strip_prefix("k:") {
            let key: Value = serde_json::from_str(k).unwrap_or(Value::Null);
            let parts: Vec<String> = key
                .as_object()
                .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
                .unwrap_or_default();
            s.push_str(&format!("[{}]", parts.join(",")));
        } else if let Some(v) = el.strip_prefix("v:") {
            s.push_str(&format!("[={v}]"));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const BUILTIN: Walk<'static> = Walk::BUILTIN;

    #[test]
    fn containers_are_keyed_by_name_and_ports_by_container_port_and_protocol() {
        let obj = json!({"spec": {"containers": [{"name": "web", "image": "nginx",
            "ports": [{"containerPort": 80}]}]}});
        let set = FieldSet::of(&obj, BUILTIN);
        let tree = set.to_fields_v1();
        assert_eq!(
            tree,
            json!({"f:spec": {"f:containers": {"k:{\"name\":\"web\"}": {
                ".": {}, "f:image": {}, "f:name": {},
                "f:ports": {"k:{\"containerPort\":80,\"protocol\":\"TCP\"}": {".": {}, "f:containerPort": {}}}
            }}}})
        );
        assert_eq!(FieldSet::from_fields_v1(&tree), set);
    }

    #[test]
    fn atomic_lists_are_single_leaves_and_finalizers_are_sets() {
        let obj = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"args": ["x", "y"]}});
        let set = FieldSet::of(&obj, BUILTIN);
        assert!(set.contains(&vec!["f:spec".into(), "f:args".into()]));
        assert!(set.contains(&vec![
            "f:metadata".into(),
            "f:finalizers".into(),
            "v:\"a\"".into()
        ]));
        assert_eq!(set.paths.len(), 3);
    }

    #[test]
    fn value_lookup_and_removal_follow_list_keys() {
        let mut obj = json!({"spec": {"containers": [
            {"name": "a", "image": "one"}, {"name": "b", "image": "two"}]}});
        let path: FieldPath = vec![
            "f:spec".into(),
            "f:containers".into(),
            "k:{\"name\":\"b\"}".into(),
            "f:image".into(),
        ];
        assert_eq!(value_at(&obj, &path, BUILTIN), Some(&json!("two")));
        assert!(remove_at(&mut obj, &path[..3], BUILTIN));
        assert_eq!(
            obj,
            json!({"spec": {"containers": [{"name": "a", "image": "one"}]}})
        );
        assert_eq!(path_string(&path), ".spec.containers[name=\"b\"].image");
    }

    #[test]
    fn removing_the_last_label_prunes_the_empty_map() {
        let mut obj = json!({"metadata": {"labels": {"a": "1"}}, "data": {"k": "v"}});
        remove_at(
            &mut obj,
            &["f:metadata".into(), "f:labels".into(), "f:a".into()],
            BUILTIN,
        );
        assert_eq!(obj, json!({"data": {"k": "v"}}));
    }
}

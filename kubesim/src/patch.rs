//! PATCH bodies: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge patch
//! with the built-in kinds' merge keys and `$patch`/`$retainKeys`/`$deleteFromPrimitiveList`
//! directives.

use serde_json::{Map, Value};

/// A patch that could not be applied.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    #[error("the JSON patch is malformed: {0}")]
    MalformedJsonPatch(String),
    #[error("the JSON patch could not be applied: {0}")]
    JsonPatchFailed(String),
    #[error("the strategic merge patch is invalid: {0}")]
    InvalidStrategic(String),
}

/// RFC 7386 JSON merge patch.
pub fn merge_patch(doc: &Value, patch: &Value) -> Value {
    let mut out = doc.clone();
    json_patch::merge(&mut out, patch);
    out
}

/// RFC 6902 JSON patch.
pub fn json_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    let ops: json_patch::Patch = serde_json::from_value(patch.clone())
        .map_err(|e| PatchError::MalformedJsonPatch(e.to_string()))?;
    let mut out = doc.clone();
    json_patch::patch(&mut out, &ops).map_err(|e| PatchError::JsonPatchFailed(e.to_string()))?;
    Ok(out)
}

/// How strategic merge patch treats a list field.
enum SmpList {
    /// Items merged by this key.
    Keyed(&'static str),
    /// Scalar items merged as a union.
    MergePrimitives,
    /// Replaced wholesale.
    Replace,
}

fn smp_list(path: &[String], field: &str, items: &[Value]) -> SmpList {
    let in_service_spec = path.len() == 1 && path[0] == "spec";
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "env"
        | "volumes"
        | "imagePullSecrets"
        | "resourceClaims" => SmpList::Keyed("name"),
        "ports" => {
            if items.iter().any(|i| i.get("containerPort").is_some()) {
                SmpList::Keyed("containerPort")
            } else if in_service_spec || items.iter().any(|i| i.get("port").is_some()) {
                SmpList::Keyed("port")
            } else {
                SmpList::Replace
            }
        }
        "volumeMounts" => SmpList::Keyed("mountPath"),
        "volumeDevices" => SmpList::Keyed("devicePath"),
        "hostAliases" => SmpList::Keyed("ip"),
        "conditions" => SmpList::Keyed("type"),
        "ownerReferences" => SmpList::Keyed("uid"),
        "topologySpreadConstraints" => SmpList::Keyed("topologyKey"),
        "finalizers" => SmpList::MergePrimitives,
        _ => SmpList::Replace,
    }
}

/// Strategic merge patch of a built-in object.
pub fn strategic_merge_patch(doc: &Value, patch: &Value) -> Result<Value, PatchError> {
    if !patch.is_object() {
        return Err(PatchError::InvalidStrategic(
            "the patch must be a JSON object".into(),
        ));
    }
    let mut out = doc.clone();
    merge_map(&mut out, patch, &mut Vec::new())?;
    Ok(out)
}

fn strip_directives(v: &Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(
            m.iter()
                .filter(|(k, _)| !k.starts_with('$'))
                .map(|(k, v)| (k.clone(), strip_directives(v)))
                .collect(),
        ),
        Value::Array(a) => Value::Array(a.iter().map(strip_directives).collect()),
        other => other.clone(),
    }
}

fn merge_map(doc: &mut Value, patch: &Value, path: &mut Vec<String>) -> Result<(), PatchError> {
    let Some(pmap) = patch.as_object() else {
        *doc = patch.clone();
        return Ok(());
    };
    match pmap.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            *doc = strip_directives(patch);
            return Ok(());
        }
        Some("delete") => {
            *doc = Value::Object(Map::new());
            return Ok(());
        }
        Some(other) => {
            return Err(PatchError::InvalidStrategic(format!(
                "unknown patch type: {other}"
            )));
        }
        None => {}
    }
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let dmap = doc.as_object_mut().expect("just ensured an object");
    if let Some(retain) = pmap.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retain.iter().filter_map(Value::as_str).collect();
        dmap.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (k, pv) in pmap {
        if let Some(field) = k.strip_prefix("$deleteFromPrimitiveList/") {
            if let (Some(Value::Array(items)), Some(remove)) = (dmap.get_mut(field), pv.as_array())
            {
                items.retain(|i| !remove.contains(i));
            }
            continue;
        }
        if k.starts_with('$') {
            continue;
        }
        if pv.is_null() {
            dmap.remove(k);
            continue;
        }
        path.push(k.clone());
        match (dmap.get_mut(k), pv) {
            (Some(dv @ Value::Object(_)), Value::Object(_)) => merge_map(dv, pv, path)?,
            (Some(Value::Array(items)), Value::Array(pitems)) => {
                merge_list(items, pitems, path)?;
            }
            (_, Value::Array(pitems)) => {
                let mut items = Vec::new();
                merge_list(&mut items, pitems, path)?;
                dmap.insert(k.clone(), Value::Array(items));
            }
            (_, pv) => {
                dmap.insert(k.clone(), strip_directives(pv));
            }
        }
        path.pop();
    }
    Ok(())
}

fn merge_list(
    items: &mut Vec<Value>,
    patch: &[Value],
    path: &mut Vec<String>,
) -> Result<(), PatchError> {
    let (field, parent) = path
        .split_last()
        .expect("lists are reached through a field");
    let probe: Vec<Value> = items.iter().chain(patch.iter()).cloned().collect();
    let kind = smp_list(parent, field, &probe);
    if patch
        .iter()
        .any(|p| p.get("$patch").and_then(Value::as_str) == Some("replace"))
    {
        *items = patch
            .iter()
            .filter(|p| p.get("$patch").is_none())
            .map(strip_directives)
            .collect();
        return Ok(());
    }
    match kind {
        SmpList::Replace => *items = patch.iter().map(strip_directives).collect(),
        SmpList::MergePrimitives => {
            for p in patch {
                if !items.contains(p) {
                    items.push(p.clone());
                }
            }
        }
        SmpList::Keyed(key) => {
            for p in patch {
                let Some(kv) = p.get(key) else {
                    return Err(PatchError::InvalidStrategic(format!(
                        "map: {p} does not contain declared merge key: {key}"
                    )));
                };
                let pos = items.iter().position(|i| i.get(key) == Some(kv));
                if p.get("$patch").and_then(Value::as_str) == Some("delete") {
                    items.retain(|i| i.get(key) != Some(kv));
                    continue;
                }
                match pos {
                    Some(i) => merge_map(&mut items[i], p, path)?,
                    None => items.push(strip_directives(p)),
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn deployment() -> Value {
        json!({"spec": {"template": {"spec": {
            "containers": [
                {"name": "web", "image": "nginx:1", "ports": [{"containerPort": 80}],
                 "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                 "volumeMounts": [{"mountPath": "/data", "name": "data"}]},
                {"name": "sidecar", "image": "envoy"}],
            "volumes": [{"name": "data", "emptyDir": {}}]}}}})
    }

    #[test]
    fn containers_merge_by_name_and_keep_unmentioned_siblings() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web", "image": "nginx:2"}]}}}});
        let out = strategic_merge_patch(&deployment(), &patch).unwrap();
        let cs = &out["spec"]["template"]["spec"]["containers"];
        assert_eq!(cs[0]["image"], "nginx:2");
        assert_eq!(
            cs[0]["env"][1]["value"], "2",
            "fields not in the patch survive"
        );
        assert_eq!(cs[1]["name"], "sidecar");
    }

    #[test]
    fn env_merges_by_name_ports_by_container_port_mounts_by_path() {
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "web",
             "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
             "ports": [{"containerPort": 80, "name": "http"}, {"containerPort": 443}],
             "volumeMounts": [{"mountPath": "/data", "readOnly": true}]}]}}}});
        let out = strategic_merge_patch(&deployment(), &patch).unwrap();
        let web = &out["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(
            web["env"],
            json!([{"name": "A", "value": "1"}, {"name": "B", "value": "20"}, {"name": "C", "value": "3"}])
        );
        assert_eq!(
            web["ports"],
            json!([{"containerPort": 80, "name": "http"}, {"containerPort": 443}])
        );
        assert_eq!(
            web["volumeMounts"],
            json!([{"mountPath": "/data", "name": "data", "readOnly": true}])
        );
    }

    #[test]
    fn delete_directive_and_null_remove_items_and_fields() {
        let patch = json!({"spec": {"template": {"spec": {
            "containers": [{"name": "sidecar", "$patch": "delete"}],
            "volumes": null}}}});
        let out = strategic_merge_patch(&deployment(), &patch).unwrap();
        let spec = &out["spec"]["template"]["spec"];
        assert_eq!(spec["containers"].as_array().unwrap().len(), 1);
        assert!(spec.get("volumes").is_none());
    }

    #[test]
    fn lists_without_merge_key_are_replaced_and_replace_directive_replaces_keyed_lists() {
        let doc =
            json!({"spec": {"args": ["a", "b"], "containers": [{"name": "x"}, {"name": "y"}]}});
        let patch = json!({"spec": {"args": ["c"],
            "containers": [{"name": "z"}, {"$patch": "replace"}]}});
        let out = strategic_merge_patch(&doc, &patch).unwrap();
        assert_eq!(out["spec"]["args"], json!(["c"]));
        assert_eq!(out["spec"]["containers"], json!([{"name": "z"}]));
    }

    #[test]
    fn service_ports_merge_by_port_and_finalizers_are_unioned() {
        let doc = json!({"metadata": {"finalizers": ["a"]},
            "spec": {"ports": [{"port": 80, "targetPort": 8080}]}});
        let patch = json!({"metadata": {"finalizers": ["b"]},
            "spec": {"ports": [{"port": 80, "targetPort": 9090}, {"port": 443}]}});
        let out = strategic_merge_patch(&doc, &patch).unwrap();
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b"]));
        assert_eq!(
            out["spec"]["ports"],
            json!([{"port": 80, "targetPort": 9090}, {"port": 443}])
        );
    }

    #[test]
    fn merge_patch_replaces_lists_and_json_patch_applies_operations() {
        let merged = merge_patch(
            &deployment(),
            &json!({"spec": {"template": {"spec": {"volumes": []}}}}),
        );
        assert_eq!(merged["spec"]["template"]["spec"]["volumes"], json!([]));
        let patched = json_patch(
            &json!({"data": {"a": "1"}}),
            &json!([{"op": "add", "path": "/data/b", "value": "2"}, {"op": "remove", "path": "/data/a"}]),
        )
        .unwrap();
        assert_eq!(patched, json!({"data": {"b": "2"}}));
        assert!(json_patch(&json!({}), &json!([{"op": "remove", "path": "/nope"}])).is_err());
    }
}

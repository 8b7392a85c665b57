//! The chart's `crds/` on upgrade. helm installs them once and never again (helm #6243),
//! so its users apply CRDs by hand before every chart upgrade; rudder upgrades them with
//! server-side apply, after checking against the live CRD that the change cannot lose or
//! break stored objects: no served or stored version disappears while objects exist, no
//! field is removed or narrowed, `preserveUnknownFields` does not change — unless
//! `--force-crds`. CRDs are never deleted (as helm).

use std::collections::BTreeSet;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};

use crate::action::lifecycle::{ApplySettings, Prepared, ReleaseError, crd_objects};
use crate::action::render::RenderedRelease;
use crate::kube::{ApplyOptions, Cluster, KubeError, ObjectRef, wait};

/// One CRD of `crds/` that an upgrade creates or changes.
#[derive(Debug, Clone)]
pub struct CrdUpgrade {
    pub object: Prepared,
    /// Whether it exists already (else it is created).
    pub exists: bool,
    /// `status.storedVersions` to keep when versions stored in are dropped (forced, or no
    /// object of the kind exists): the API server refuses a CRD whose stored versions are
    /// not all in `spec.versions`.
    pub keep_stored: Option<Vec<String>>,
}

/// The `crds/` CRDs that differ from the live ones, each checked; refuses an unsafe change
/// (naming the CRD, version and field) unless `force`.
pub async fn plan(
    cluster: &Cluster,
    rendered: &RenderedRelease,
    force: bool,
) -> Result<Vec<CrdUpgrade>, ReleaseError> {
    let mut out = Vec::new();
    for object in crd_objects(rendered)? {
        let r = ObjectRef::of(&object);
        let Some(live) = cluster.get(&r).await? else {
            out.push(CrdUpgrade {
                object: Prepared { r, object },
                exists: false,
                keep_stored: None,
            });
            continue;
        };
        if live["spec"] == spec_with_defaults(&object["spec"]) {
            continue;
        }
        let has_objects = has_objects(cluster, &live).await?;
        let problems = problems(&live, &object, has_objects);
        if !problems.is_empty() && !force {
            return Err(ReleaseError::UnsafeCrdUpgrade {
                crd: r.name.clone(),
                problems: problems.join("; "),
            });
        }
        let versions = version_names(&object);
        let stored = stored_versions(&live);
        let keep: Vec<String> = stored
            .iter()
            .filter(|v| versions.contains(*v))
            .cloned()
            .collect();
        out.push(CrdUpgrade {
            object: Prepared { r, object },
            exists: true,
            keep_stored: (keep.len() != stored.len()).then_some(keep),
        });
    }
    Ok(out)
}

/// Applies the planned CRDs (taking their fields over: the chart is their source) and waits
/// until each is Established.
pub async fn apply(
    cluster: &Cluster,
    upgrades: &[CrdUpgrade],
    settings: &ApplySettings,
) -> Result<(), ReleaseError> {
    if upgrades.is_empty() {
        return Ok(());
    }
    let api: kube::Api<CustomResourceDefinition> = kube::Api::all(cluster.client.clone());
    for u in upgrades {
        if let Some(keep) = &u.keep_stored {
            let patch = json!({"status": {"storedVersions": keep}});
            api.patch_status(
                &u.object.r.name,
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
            .map_err(|e| KubeError::Failed {
                object: u.object.r.to_string(),
                reason: format!("cannot drop stored versions: {e}"),
            })?;
        }
        let options = ApplyOptions {
            field_manager: settings.field_manager.clone(),
            force: true,
            dry_run: false,
        };
        cluster.apply(&u.object.object, &options).await?;
    }
    let refs: Vec<ObjectRef> = upgrades.iter().map(|u| u.object.r.clone()).collect();
    wait::wait_ready(cluster, &refs, &settings.crd_wait_options()).await?;
    Ok(())
}

/// The API server's defaults for the fields of a CRD spec a chart usually leaves out, so
/// an unchanged CRD compares equal to its live object.
fn spec_with_defaults(spec: &Value) -> Value {
    let mut spec = spec.clone();
    if let Some(names) = spec.get_mut("names").and_then(Value::as_object_mut) {
        let kind = names
            .get("kind")
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string();
        names
            .entry("singular")
            .or_insert_with(|| json!(kind.to_lowercase()));
        names
            .entry("listKind")
            .or_insert_with(|| json!(format!("{kind}List")));
    }
    if let Some(map) = spec.as_object_mut() {
        map.entry("conversion")
            .or_insert_with(|| json!({"strategy": "None"}));
    }
    spec
}

/// Whether any object of the CRD's kind exists (read at its storage version).
async fn has_objects(cluster: &Cluster, crd: &Value) -> Result<bool, ReleaseError> {
    let group = crd["spec"]["group"].as_str().unwrap_or_default();
    let kind = crd["spec"]["names"]["kind"].as_str().unwrap_or_default();
    let versions = crd["spec"]["versions"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let Some(version) = versions
        .iter()
        .filter(|v| v["served"] != false)
        .find(|v| v["storage"] == true)
        .or_else(|| versions.iter().find(|v| v["served"] != false))
        .and_then(|v| v["name"].as_str())
    else {
        return Ok(false);
    };
    let r = ObjectRef {
        api_version: format!("{group}/{version}"),
        kind: kind.into(),
        namespace: None,
        name: String::new(),
    };
    match cluster.any_exists(&r).await {
        Ok(any) => Ok(any),
        Err(KubeError::UnknownKind { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

fn version_names(crd: &Value) -> BTreeSet<String> {
    crd["spec"]["versions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect()
}

fn stored_versions(crd: &Value) -> Vec<String> {
    crd["status"]["storedVersions"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

fn version<'a>(crd: &'a Value, name: &str) -> Option<&'a Value> {
    crd["spec"]["versions"]
        .as_array()?
        .iter()
        .find(|v| v["name"] == name)
}

/// What would break if `live` became `desired` (`has_objects`: objects of the kind exist).
pub fn problems(live: &Value, desired: &Value, has_objects: bool) -> Vec<String> {
    let mut out = Vec::new();
    let stored = stored_versions(live);
    for name in version_names(live) {
        let old = version(live, &name).expect("listed version");
        let new = version(desired, &name);
        let was_served = old["served"] != false;
        let served = new.is_some_and(|v| v["served"] != false);
        if new.is_none() && stored.contains(&name) && has_objects {
            out.push(format!(
                "version {name} would be removed while objects are stored in it (status.storedVersions)"
            ));
        } else if was_served && !served && has_objects {
            out.push(format!(
                "version {name} would no longer be served while objects of the kind exist"
            ));
        }
        if let Some(new) = new {
            compare_schema(
                &name,
                "",
                &old["schema"]["openAPIV3Schema"],
                &new["schema"]["openAPIV3Schema"],
                &mut out,
            );
        }
    }
    let preserve = |crd: &Value| crd["spec"]["preserveUnknownFields"] == true;
    if preserve(live) != preserve(desired) {
        out.push(format!(
            "spec.preserveUnknownFields would change from {} to {}",
            preserve(live),
            preserve(desired)
        ));
    }
    out
}

/// Fields of `old` that `new` removes or narrows, at `path` of version `version`.
fn compare_schema(version: &str, path: &str, old: &Value, new: &Value, out: &mut Vec<String>) {
    if !old.is_object() || !new.is_object() {
        return;
    }
    let shown = if path.is_empty() { "." } else { path };
    let open = |s: &Value| {
        s["x-kubernetes-preserve-unknown-fields"] == true || s["x-kubernetes-int-or-string"] == true
    };
    let (old_type, new_type) = (&old["type"], &new["type"]);
    let widened = old_type == "integer" && new_type == "number";
    if old_type != new_type && !new_type.is_null() && !widened && !open(new) {
        out.push(format!(
            "field {shown} of version {version} would change type from {} to {}",
            type_name(old_type),
            type_name(new_type)
        ));
        return;
    }
    if let Some(allowed) = new["enum"].as_array() {
        let lost: Vec<String> = match old["enum"].as_array() {
            Some(before) => before
                .iter()
                .filter(|v| !allowed.contains(v))
                .map(Value::to_string)
                .collect(),
            None => vec!["any other value".into()],
        };
        if !lost.is_empty() {
            out.push(format!(
                "field {shown} of version {version} would no longer allow {}",
                lost.join(", ")
            ));
        }
    }
    if let Some(properties) = old["properties"].as_object() {
        for (key, old_sub) in properties {
            let sub_path = format!("{path}.{key}");
            match new["properties"].get(key) {
                Some(new_sub) => compare_schema(version, &sub_path, old_sub, new_sub, out),
                None if open(new) || new["additionalProperties"].is_object() => {}
                None => out.push(format!(
                    "field {sub_path} of version {version} would be removed"
                )),
            }
        }
    }
    compare_schema(
        version,
        &format!("{path}[]"),
        &old["items"],
        &new["items"],
        out,
    );
    compare_schema(
        version,
        &format!("{path}.*"),
        &old["additionalProperties"],
        &new["additionalProperties"],
        out,
    );
}

fn type_name(t: &Value) -> String {
    t.as_str().map_or_else(|| "any".to_string(), str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crd(versions: Value, stored: &[&str]) -> Value {
        json!({"spec": {"group": "example.com", "names": {"kind": "Widget", "plural": "widgets"},
            "scope": "Namespaced", "versions": versions},
            "status": {"storedVersions": stored}})
    }

    fn schema(properties: Value) -> Value {
        json!({"openAPIV3Schema": {"type": "object", "properties": {"spec": {"type": "object",
            "properties": properties}}}})
    }

    #[test]
    fn safe_changes_pass_and_unsafe_ones_are_named() {
        let v1 = json!({"name": "v1", "served": true, "storage": true,
            "schema": schema(json!({"size": {"type": "integer"}, "color": {"type": "string", "enum": ["red", "blue"]}}))});
        let live = crd(json!([v1]), &["v1"]);

        // A new version and a new field, an integer widened to a number: safe.
        let mut v1_wider = v1.clone();
        v1_wider["storage"] = json!(false);
        v1_wider["schema"] = schema(
            json!({"size": {"type": "number"}, "shape": {"type": "string"},
            "color": {"type": "string", "enum": ["red", "blue", "green"]}}),
        );
        let v2 = json!({"name": "v2", "served": true, "storage": true, "schema": v1_wider["schema"].clone()});
        let added = crd(json!([v1_wider, v2]), &[]);
        assert_eq!(problems(&live, &added, true), Vec::<String>::new());

        // Dropping the stored version while objects exist, a removed field, a narrowed type
        // and enum, preserveUnknownFields flipped.
        let v2_narrow = json!({"name": "v2", "served": true, "storage": true,
            "schema": schema(json!({"size": {"type": "string"}, "color": {"type": "string", "enum": ["red"]}}))});
        let mut dropped = crd(json!([v2_narrow]), &[]);
        dropped["spec"]["preserveUnknownFields"] = json!(true);
        assert_eq!(
            problems(&live, &dropped, true),
            vec![
                "version v1 would be removed while objects are stored in it (status.storedVersions)",
                "spec.preserveUnknownFields would change from false to true",
            ]
        );
        assert_eq!(
            problems(&live, &dropped, false).len(),
            1,
            "no objects: only the flag"
        );
        let v1_narrow = json!({"name": "v1", "served": true, "storage": true,
            "schema": schema(json!({"size": {"type": "string"}, "color": {"type": "string", "enum": ["red"]}}))});
        let mut v1_gone_field = v1_narrow.clone();
        v1_gone_field["schema"] = schema(json!({"size": {"type": "integer"}}));
        assert_eq!(
            problems(&live, &crd(json!([v1_narrow]), &[]), true),
            vec![
                "field .spec.color of version v1 would no longer allow \"blue\"",
                "field .spec.size of version v1 would change type from integer to string",
            ]
        );
        assert_eq!(
            problems(&live, &crd(json!([v1_gone_field]), &[]), true),
            vec!["field .spec.color of version v1 would be removed"]
        );
        let mut unserved = v1.clone();
        unserved["served"] = json!(false);
        assert_eq!(
            problems(&live, &crd(json!([unserved]), &[]), true),
            vec!["version v1 would no longer be served while objects of the kind exist"]
        );
    }
}

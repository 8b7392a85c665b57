//! Non-resource endpoints: /version, discovery documents and OpenAPI documents generated from
//! the table of served types.

use crate::kinds::ResourceType;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// The Kubernetes version kubesim reports.
pub const GIT_VERSION: &str = "v1.35.2";

/// The `/version` document.
pub fn version() -> Value {
    json!({
        "major": "1", "minor": "35", "emulationMajor": "1", "emulationMinor": "35",
        "minCompatibilityMajor": "1", "minCompatibilityMinor": "34",
        "gitVersion": GIT_VERSION, "gitCommit": "kubesim", "gitTreeState": "clean",
        "buildDate": "2026-02-26T00:00:00Z", "goVersion": "go1.25.7", "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// `/api`: the legacy core group versions.
pub fn core_versions(server_address: &str) -> Value {
    json!({"kind": "APIVersions", "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]})
}

/// Groups (other than core) with their versions, preferred first.
fn groups(types: &[ResourceType]) -> Vec<(String, Vec<String>, String)> {
    let mut out: Vec<(String, Vec<String>, String)> = Vec::new();
    for t in types.iter().filter(|t| !t.group.is_empty()) {
        match out.iter_mut().find(|(g, _, _)| *g == t.group) {
            Some((_, versions, _)) => {
                for v in &t.versions {
                    if !versions.contains(v) {
                        versions.push(v.clone());
                    }
                }
            }
            None => out.push((t.group.clone(), t.versions.clone(), t.version.clone())),
        }
    }
    out
}

/// `/apis`: every group and its versions.
pub fn group_list(types: &[ResourceType]) -> Value {
    let groups: Vec<Value> = groups(types)
        .into_iter()
        .map(|(g, versions, preferred)| {
            let vs: Vec<Value> = versions
                .iter()
                .map(|v| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
                .collect();
            json!({"name": g, "versions": vs,
                "preferredVersion": {"groupVersion": format!("{g}/{preferred}"), "version": preferred}})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/{group}`: one group.
pub fn group(types: &[ResourceType], name: &str) -> Option<Value> {
    let list = group_list(types);
    let g = list["groups"]
        .as_array()?
        .iter()
        .find(|g| g["name"] == name)?
        .clone();
    let mut g = g;
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

/// Kinds with a `scale` subresource.
fn scalable(t: &ResourceType) -> bool {
    !t.custom && matches!(t.kind.as_str(), "Deployment" | "ReplicaSet" | "StatefulSet")
}

fn resource_entries(t: &ResourceType) -> Vec<Value> {
    let mut main = json!({"name": t.plural, "singularName": t.singular, "namespaced": t.namespaced,
        "kind": t.kind, "verbs": t.verbs()});
    if !t.short_names.is_empty() {
        main["shortNames"] = json!(t.short_names);
    }
    if !t.categories.is_empty() {
        main["categories"] = json!(t.categories);
    }
    let mut out = vec![main];
    if t.has_status {
        out.push(
            json!({"name": format!("{}/status", t.plural), "singularName": "",
            "namespaced": t.namespaced, "kind": t.kind, "verbs": ["get", "patch", "update"]}),
        );
    }
    out
}

/// `/api/v1` or `/apis/{group}/{version}`: the resources of one group version.
pub fn resource_list(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let matching: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    let resources: Vec<Value> = matching.into_iter().flat_map(resource_entries).collect();
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

/// The aggregated discovery document (`apidiscovery.k8s.io/v2` APIGroupDiscoveryList) for
/// either the core group (`legacy`) or all named groups.
pub fn aggregated(types: &[ResourceType], legacy: bool) -> Value {
    let mut by_group: BTreeMap<String, Vec<&ResourceType>> = BTreeMap::new();
    for t in types {
        if t.group.is_empty() == legacy {
            by_group.entry(t.group.clone()).or_default().push(t);
        }
    }
    let order: Vec<String> = if legacy {
        vec![String::new()]
    } else {
        groups(types).into_iter().map(|(g, _, _)| g).collect()
    };
    let items: Vec<Value> = order
        .into_iter()
        .filter_map(|g| {
            let ts = by_group.get(&g)?;
            let mut versions: Vec<String> = Vec::new();
            for t in ts {
                for v in &t.versions {
                    if !versions.contains(v) {
                        versions.push(v.clone());
                    }
                }
            }
            let versions: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = ts
                        .iter()
                        .filter(|t| t.versions.contains(v))
                        .map(|t| {
                            let mut r = json!({
                                "resource": t.plural, "singularResource": t.singular,
                                "scope": if t.namespaced { "Namespaced" } else { "Cluster" },
                                "responseKind": {"group": t.group, "version": v, "kind": t.kind},
                                "verbs": t.verbs(),
                            });
                            if !t.short_names.is_empty() {
                                r["shortNames"] = json!(t.short_names);
                            }
                            if !t.categories.is_empty() {
                                r["categories"] = json!(t.categories);
                            }
                            let mut subs = Vec::new();
                            if t.has_status {
                                subs.push(json!({"subresource": "status",
                                    "responseKind": {"group": t.group, "version": v, "kind": t.kind},
                                    "verbs": ["get", "patch", "update"]}));
                            }
                            if scalable(t) {
                                subs.push(json!({"subresource": "scale",
                                    "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                                    "verbs": ["get", "patch", "update"]}));
                            }
                            if !subs.is_empty() {
                                r["subresources"] = Value::Array(subs);
                            }
                            r
                        })
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            let mut item = json!({"metadata": {"creationTimestamp": null}, "versions": versions});
            if !g.is_empty() {
                item["metadata"]["name"] = json!(g);
            }
            Some(item)
        })
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {}, "items": items})
}

fn gv_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// `/openapi/v3`: the index of per-group-version documents.
pub fn openapi_v3_index(types: &[ResourceType]) -> Value {
    let mut paths = Map::new();
    for t in types {
        for v in &t.versions {
            let p = gv_path(&t.group, v);
            paths.insert(
                p.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{p}?hash=kubesim{}", t.versions.len())}),
            );
        }
    }
    json!({"paths": paths})
}

fn schema_name(t: &ResourceType, version: &str) -> String {
    let group = if t.group.is_empty() { "core" } else { &t.group };
    format!("io.kubesim.{group}.{version}.{}", t.kind)
}

fn operation_params() -> Value {
    json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string"}, "uniqueItems": true},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string"}, "uniqueItems": true},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string"}, "uniqueItems": true},
        {"name": "force", "in": "query", "schema": {"type": "boolean"}, "uniqueItems": true}
    ])
}

/// `/openapi/v3/{api/v1|apis/g/v}`: a permissive document naming each kind, its paths and the
/// query parameters (fieldValidation, dryRun, fieldManager) kubectl probes for.
pub fn openapi_v3_document(types: &[ResourceType], group: &str, version: &str) -> Option<Value> {
    let matching: Vec<&ResourceType> = types
        .iter()
        .filter(|t| t.group == group && t.versions.iter().any(|v| v == version))
        .collect();
    if matching.is_empty() {
        return None;
    }
    let mut paths = Map::new();
    let mut schemas = Map::new();
    for t in matching {
        let name = schema_name(t, version);
        let gvk = json!([{"group": t.group, "version": version, "kind": t.kind}]);
        let base = format!("/{}", gv_path(&t.group, version));
        let item = if t.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{base}/{}/{{name}}", t.plural)
        };
        let collection = if t.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", t.plural)
        } else {
            format!("{base}/{}", t.plural)
        };
        let op = |action: &str| {
            json!({"x-kubernetes-action": action, "x-kubernetes-group-version-kind": gvk[0],
                "parameters": operation_params(),
                "responses": {"200": {"description": "OK", "content": {"application/json":
                    {"schema": {"$ref": format!("#/components/schemas/{name}")}}}}}})
        };
        paths.insert(
            item,
            json!({"get": op("get"), "put": op("put"), "patch": op("patch"), "delete": op("delete")}),
        );
        paths.insert(collection, json!({"get": op("list"), "post": op("post")}));
        schemas.insert(
            name,
            json!({"type": "object", "x-kubernetes-group-version-kind": gvk,
            "x-kubernetes-preserve-unknown-fields": true,
            "properties": {
                "apiVersion": {"type": "string"}, "kind": {"type": "string"},
                "metadata": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}
            }}),
        );
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths, "components": {"schemas": schemas}}),
    )
}

/// `/openapi/v2`: a permissive Swagger 2.0 document with one definition per kind.
pub fn openapi_v2(types: &[ResourceType]) -> Value {
    let mut definitions = Map::new();
    let mut paths = Map::new();
    for t in types {
        let name = schema_name(t, &t.version);
        definitions.insert(
            name.clone(),
            json!({"type": "object",
                "x-kubernetes-group-version-kind": [{"group": t.group, "version": t.version, "kind": t.kind}]}),
        );
        let base = format!("/{}", gv_path(&t.group, &t.version));
        let item = if t.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", t.plural)
        } else {
            format!("{base}/{}/{{name}}", t.plural)
        };
        let params = json!([
            {"name": "dryRun", "in": "query", "type": "string", "uniqueItems": true},
            {"name": "fieldManager", "in": "query", "type": "string", "uniqueItems": true},
            {"name": "fieldValidation", "in": "query", "type": "string", "uniqueItems": true}
        ]);
        let gvk = json!({"group": t.group, "version": t.version, "kind": t.kind});
        paths.insert(
            item,
            json!({"patch": {"parameters": params, "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": gvk,
                "responses": {"200": {"description": "OK", "schema": {"$ref": format!("#/definitions/{name}")}}}}}),
        );
    }
    json!({"swagger": "2.0", "info": {"title": "Kubernetes", "version": GIT_VERSION},
        "paths": paths, "definitions": definitions})
}

fn proto_field(out: &mut Vec<u8>, field: u32, bytes: &[u8]) {
    let varint = |mut v: u64, out: &mut Vec<u8>| loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    };
    varint(u64::from(field << 3 | 2), out);
    varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// The protobuf media type clients ask `/openapi/v2` for.
pub const OPENAPI_V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `/openapi/v2` in protobuf (gnostic `openapi.v2.Document`): swagger, info and no definitions,
/// so client-side validation finds no schema and leaves objects to the server.
pub fn openapi_v2_protobuf() -> Vec<u8> {
    let mut info = Vec::new();
    proto_field(&mut info, 1, b"Kubernetes");
    proto_field(&mut info, 2, GIT_VERSION.as_bytes());
    let mut doc = Vec::new();
    proto_field(&mut doc, 1, b"2.0");
    proto_field(&mut doc, 2, &info);
    proto_field(&mut doc, 8, &[]);
    doc
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::builtin_types;

    #[test]
    fn core_resource_list_has_status_subresources_and_short_names() {
        let list = resource_list(&builtin_types(), "", "v1").unwrap();
        let names: Vec<&str> = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["name"].as_str().unwrap())
            .collect();
        assert!(names.contains(&"configmaps"));
        assert!(names.contains(&"pods/status"));
        assert!(!names.contains(&"deployments"));
        let svc = list["resources"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["name"] == "services")
            .unwrap();
        assert_eq!(svc["shortNames"], json!(["svc"]));
    }

    #[test]
    fn openapi_v2_protobuf_encodes_swagger_and_info() {
        let doc = openapi_v2_protobuf();
        assert_eq!(&doc[..5], &[0x0a, 3, b'2', b'.', b'0']);
        assert_eq!(doc[5], 0x12, "field 2 (info) follows");
        assert_eq!(
            &doc[doc.len() - 2..],
            &[0x42, 0],
            "empty paths message last"
        );
    }

    #[test]
    fn group_list_prefers_the_storage_version() {
        let list = group_list(&builtin_types());
        let apps = list["groups"]
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "apps")
            .unwrap();
        assert_eq!(apps["preferredVersion"]["groupVersion"], "apps/v1");
        assert!(resource_list(&builtin_types(), "apps", "v2").is_none());
    }
}

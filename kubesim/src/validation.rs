//! Validation and defaulting of objects on write: names, required fields, immutable fields.

use crate::errors::Cause;
use crate::kinds::ResourceType;
use crate::selectors::LabelSelector;
use serde_json::{Value, json};
use std::collections::BTreeMap;

const DNS1123_SUBDOMAIN_MSG: &str = "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const DNS1123_LABEL_MSG: &str = "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_LABEL_MSG: &str = "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !s.starts_with('-')
        && !s.ends_with('-')
}

/// RFC 1123 subdomain: dot-separated labels, at most 253 characters.
pub fn is_dns1123_subdomain(s: &str) -> bool {
    s.len() <= 253 && s.split('.').all(is_label)
}

/// RFC 1123 label: at most 63 lowercase alphanumerics or '-'.
pub fn is_dns1123_label(s: &str) -> bool {
    is_label(s)
}

/// RFC 1035 label: an RFC 1123 label starting with a letter.
pub fn is_dns1035_label(s: &str) -> bool {
    is_label(s) && s.starts_with(|c: char| c.is_ascii_lowercase())
}

/// Go's `%q` for a string, as the apiserver prints invalid values.
fn quoted(s: &str) -> String {
    format!("{s:?}")
}

fn validate_name(rt: &ResourceType, name: &str, causes: &mut Vec<Cause>) {
    let (ok, msg) = match rt.kind.as_str() {
        "Namespace" => (is_dns1123_label(name), DNS1123_LABEL_MSG),
        "Service" => (is_dns1035_label(name), DNS1035_LABEL_MSG),
        _ => (is_dns1123_subdomain(name), DNS1123_SUBDOMAIN_MSG),
    };
    if !ok {
        causes.push(Cause::invalid("metadata.name", &quoted(name), msg));
    }
}

fn validate_labels(obj: &Value, causes: &mut Vec<Cause>) {
    let Some(labels) = obj.pointer("/metadata/labels").and_then(Value::as_object) else {
        return;
    };
    for (k, v) in labels {
        let value = v.as_str().unwrap_or_default();
        let ok = value.len() <= 63
            && value
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && (value.is_empty()
                || (value.starts_with(|c: char| c.is_ascii_alphanumeric())
                    && value.ends_with(|c: char| c.is_ascii_alphanumeric())));
        if !v.is_string() || !ok {
            causes.push(Cause::invalid(
                "metadata.labels",
                &quoted(value),
                "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
            ));
        }
        let _ = k;
    }
}

fn validate_containers(spec: Option<&Value>, prefix: &str, causes: &mut Vec<Cause>) {
    let containers = spec
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_array);
    match containers {
        None => causes.push(Cause::required(&format!("{prefix}.containers"))),
        Some(cs) if cs.is_empty() => causes.push(Cause::required(&format!("{prefix}.containers"))),
        Some(cs) => {
            for (i, c) in cs.iter().enumerate() {
                let field = format!("{prefix}.containers[{i}]");
                match c.get("name").and_then(Value::as_str) {
                    None | Some("") => causes.push(Cause::required(&format!("{field}.name"))),
                    Some(n) if !is_dns1123_label(n) => causes.push(Cause::invalid(
                        &format!("{field}.name"),
                        &quoted(n),
                        DNS1123_LABEL_MSG,
                    )),
                    _ => {}
                }
                if c.get("image")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .is_empty()
                {
                    causes.push(Cause::required(&format!("{field}.image")));
                }
            }
        }
    }
}

fn go_map(labels: &BTreeMap<String, String>) -> String {
    let parts: Vec<String> = labels.iter().map(|(k, v)| format!("{k:?}:{v:?}")).collect();
    format!("map[string]string{{{}}}", parts.join(", "))
}

fn validate_workload(obj: &Value, kind: &str, causes: &mut Vec<Cause>) {
    let spec = obj.get("spec");
    let template = spec.and_then(|s| s.get("template"));
    let selector = spec.and_then(|s| s.get("selector"));
    let needs_selector = matches!(
        kind,
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet"
    );
    if needs_selector {
        match selector {
            None => causes.push(Cause::required("spec.selector")),
            Some(sel) => {
                let parsed = LabelSelector::from_object(sel);
                let template_labels = template
                    .map(crate::selectors::labels_of)
                    .unwrap_or_default();
                if parsed.is_empty() {
                    causes.push(Cause::invalid(
                        "spec.selector",
                        "v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}",
                        "empty selector is invalid for deployment",
                    ));
                } else if !parsed.matches(&template_labels) {
                    causes.push(Cause::invalid(
                        "spec.template.metadata.labels",
                        &go_map(&template_labels),
                        "`selector` does not match template `labels`",
                    ));
                }
            }
        }
    }
    let template_spec_path = if kind == "CronJob" {
        "spec.jobTemplate.spec.template.spec"
    } else {
        "spec.template.spec"
    };
    let template_spec = if kind == "CronJob" {
        obj.pointer("/spec/jobTemplate/spec/template/spec")
    } else {
        template.and_then(|t| t.get("spec"))
    };
    validate_containers(template_spec, template_spec_path, causes);
    if kind == "CronJob" && obj.pointer("/spec/schedule").is_none() {
        causes.push(Cause::required("spec.schedule"));
    }
}

/// Validates an object about to be stored; `old` is the stored version on updates.
pub fn validate(rt: &ResourceType, obj: &Value, old: Option<&Value>) -> Vec<Cause> {
    let mut causes = Vec::new();
    let name = obj
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or("");
    if name.is_empty() {
        causes.push(Cause {
            reason: "FieldValueRequired".into(),
            message: "Required value: name or generateName is required".into(),
            field: "metadata.name".into(),
        });
    } else {
        validate_name(rt, name, &mut causes);
    }
    validate_labels(obj, &mut causes);
    let annotation_bytes: usize = obj
        .pointer("/metadata/annotations")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| k.len() + v.as_str().unwrap_or("").len())
                .sum()
        })
        .unwrap_or(0);
    if annotation_bytes > MAX_ANNOTATION_BYTES {
        causes.push(Cause {
            reason: "FieldValueTooLong".into(),
            message: format!("Too long: may not be more than {MAX_ANNOTATION_BYTES} bytes"),
            field: "metadata.annotations".into(),
        });
    }
    if rt.custom {
        return causes;
    }
    match rt.kind.as_str() {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" | "Job" | "CronJob" => {
            validate_workload(obj, &rt.kind, &mut causes)
        }
        "ConfigMap" | "Secret" => {
            validate_data_keys(obj, &mut causes);
            validate_data_size(&rt.kind, obj, &mut causes);
        }
        "Pod" => validate_containers(obj.get("spec"), "spec", &mut causes),
        "Service" => {
            let spec = obj.get("spec");
            let ty = spec
                .and_then(|s| s.get("type"))
                .and_then(Value::as_str)
                .unwrap_or("ClusterIP");
            let headless = spec
                .and_then(|s| s.get("clusterIP"))
                .and_then(Value::as_str)
                == Some("None");
            let ports = spec
                .and_then(|s| s.get("ports"))
                .and_then(Value::as_array)
                .map(|p| p.len())
                .unwrap_or(0);
            if ports == 0 && ty != "ExternalName" && !headless {
                causes.push(Cause::required("spec.ports"));
            }
            if let Some(ports) = spec.and_then(|s| s.get("ports")).and_then(Value::as_array) {
                for (i, p) in ports.iter().enumerate() {
                    if p.get("port").and_then(Value::as_i64).is_none() {
                        causes.push(Cause::invalid(
                            &format!("spec.ports[{i}].port"),
                            "0",
                            "must be between 1 and 65535, inclusive",
                        ));
                    }
                }
            }
        }
        "CustomResourceDefinition" => {
            let spec = obj.get("spec");
            for field in ["group", "names", "scope", "versions"] {
                if spec.and_then(|s| s.get(field)).is_none() {
                    causes.push(Cause::required(&format!("spec.{field}")));
                }
            }
            if let (Some(group), Some(plural)) = (
                obj.pointer("/spec/group").and_then(Value::as_str),
                obj.pointer("/spec/names/plural").and_then(Value::as_str),
            ) {
                let expected = format!("{plural}.{group}");
                if name != expected {
                    causes.push(Cause::invalid(
                        "metadata.name",
                        &quoted(name),
                        "must be spec.names.plural+\".\"+spec.group",
                    ));
                }
            }
        }
        _ => {}
    }
    if let Some(old) = old {
        validate_immutable(rt, obj, old, &mut causes);
    }
    causes
}

/// The most bytes (keys and values) an object's annotations may hold.
pub const MAX_ANNOTATION_BYTES: usize = 262_144;

/// The most data a ConfigMap or Secret may hold.
pub const MAX_DATA_BYTES: usize = 1_048_576;

/// ConfigMaps and Secrets hold at most 1 MiB of (decoded) data.
fn validate_data_size(kind: &str, obj: &Value, causes: &mut Vec<Cause>) {
    use base64::Engine;
    let text = |field: &str| -> usize {
        obj.get(field)
            .and_then(Value::as_object)
            .map(|m| m.values().map(|v| v.as_str().unwrap_or("").len()).sum())
            .unwrap_or(0)
    };
    let binary = |field: &str| -> usize {
        obj.get(field)
            .and_then(Value::as_object)
            .map(|m| {
                m.values()
                    .map(|v| {
                        let encoded = v.as_str().unwrap_or("");
                        base64::engine::general_purpose::STANDARD
                            .decode(encoded)
                            .map(|d| d.len())
                            .unwrap_or(encoded.len() * 3 / 4)
                    })
                    .sum()
            })
            .unwrap_or(0)
    };
    let (total, field) = if kind == "Secret" {
        (binary("data") + text("stringData"), "data")
    } else {
        (text("data") + binary("binaryData"), "[]")
    };
    if total > MAX_DATA_BYTES {
        causes.push(Cause {
            reason: "FieldValueTooLong".into(),
            message: format!("Too long: may not be more than {MAX_DATA_BYTES} bytes"),
            field: field.into(),
        });
    }
}

fn validate_data_keys(obj: &Value, causes: &mut Vec<Cause>) {
    for field in ["data", "binaryData", "stringData"] {
        let Some(map) = obj.get(field).and_then(Value::as_object) else {
            continue;
        };
        for key in map.keys() {
            let ok = !key.is_empty()
                && key.len() <= 253
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !ok {
                causes.push(Cause::invalid(
                    &format!("{field}[{key}]"),
                    &quoted(key),
                    "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
                ));
            }
        }
    }
}

fn go_selector(sel: &Value) -> String {
    let labels = sel
        .get("matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    format!(
        "v1.LabelSelector{{MatchLabels:{}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}}",
        go_map(&labels)
    )
}

fn validate_immutable(rt: &ResourceType, new: &Value, old: &Value, causes: &mut Vec<Cause>) {
    match rt.kind.as_str() {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            let (n, o) = (new.pointer("/spec/selector"), old.pointer("/spec/selector"));
            if n != o {
                causes.push(Cause::invalid(
                    "spec.selector",
                    &go_selector(n.unwrap_or(&Value::Null)),
                    "field is immutable",
                ));
            }
        }
        "Service" => {
            let old_ip = old.pointer("/spec/clusterIP").and_then(Value::as_str);
            let new_ip = new.pointer("/spec/clusterIP").and_then(Value::as_str);
            if let (Some(o), Some(n)) = (old_ip, new_ip)
                && o != n
                && !o.is_empty()
            {
                causes.push(Cause::invalid(
                    "spec.clusterIPs[0]",
                    &quoted(n),
                    "may not change once set",
                ));
            }
        }
        "ConfigMap" | "Secret" if old.get("immutable") == Some(&json!(true)) => {
            for field in ["data", "binaryData", "stringData"] {
                if new.get(field) != old.get(field) {
                    causes.push(Cause::forbidden(
                        field,
                        "field is immutable when `immutable` is set",
                    ));
                }
            }
        }
        "Job" if new.pointer("/spec/template") != old.pointer("/spec/template") => {
            causes.push(Cause::invalid(
                "spec.template",
                "core.PodTemplateSpec{...}",
                "field is immutable",
            ));
        }
        _ => {}
    }
}

/// Defaults of a pod spec: policies, scheduler, and per-container pull policy and ports.
fn default_pod_spec(spec: &mut Value, restart_policy: Option<&str>) {
    let Some(map) = spec.as_object_mut() else {
        return;
    };
    if let Some(policy) = restart_policy {
        map.entry("restartPolicy").or_insert(json!(policy));
    }
    map.entry("dnsPolicy").or_insert(json!("ClusterFirst"));
    map.entry("schedulerName")
        .or_insert(json!("default-scheduler"));
    map.entry("securityContext").or_insert(json!({}));
    map.entry("terminationGracePeriodSeconds")
        .or_insert(json!(30));
    for list in ["containers", "initContainers"] {
        let Some(containers) = map.get_mut(list).and_then(Value::as_array_mut) else {
            continue;
        };
        for c in containers.iter_mut().filter_map(Value::as_object_mut) {
            let image = c
                .get("image")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let tag = image
                .rsplit('/')
                .next()
                .unwrap_or("")
                .split_once(':')
                .map(|(_, t)| t.to_string());
            let pull = if image.contains('@') || tag.as_deref().is_some_and(|t| t != "latest") {
                "IfNotPresent"
            } else {
                "Always"
            };
            c.entry("imagePullPolicy").or_insert(json!(pull));
            c.entry("terminationMessagePath")
                .or_insert(json!("/dev/termination-log"));
            c.entry("terminationMessagePolicy").or_insert(json!("File"));
            c.entry("resources").or_insert(json!({}));
            if let Some(ports) = c.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports.iter_mut().filter_map(Value::as_object_mut) {
                    p.entry("protocol").or_insert(json!("TCP"));
                }
            }
        }
    }
}

/// Fills in the defaults the real apiserver sets on creation and update.
pub fn apply_defaults(
    rt: &ResourceType,
    obj: &mut Value,
    old: Option<&Value>,
    next_ip: &mut dyn FnMut() -> String,
) {
    if rt.custom {
        return;
    }
    let template_spec = match rt.kind.as_str() {
        "Deployment" | "ReplicaSet" | "StatefulSet" | "DaemonSet" => {
            Some(("/spec/template/spec", Some("Always")))
        }
        "Job" => Some(("/spec/template/spec", None)),
        "CronJob" => Some(("/spec/jobTemplate/spec/template/spec", None)),
        "Pod" => Some(("/spec", Some("Always"))),
        _ => None,
    };
    if let Some((pointer, restart)) = template_spec
        && let Some(spec) = obj.pointer_mut(pointer)
    {
        default_pod_spec(spec, restart);
    }
    match rt.kind.as_str() {
        "Service" => {
            let spec = obj
                .as_object_mut()
                .expect("objects are maps")
                .entry("spec")
                .or_insert_with(|| json!({}));
            if spec.get("type").is_none() {
                spec["type"] = json!("ClusterIP");
            }
            if spec.get("sessionAffinity").is_none() {
                spec["sessionAffinity"] = json!("None");
            }
            if let Some(ports) = spec.get_mut("ports").and_then(Value::as_array_mut) {
                for p in ports {
                    if p.get("protocol").is_none() {
                        p["protocol"] = json!("TCP");
                    }
                    if p.get("targetPort").is_none()
                        && let Some(port) = p.get("port").cloned()
                    {
                        p["targetPort"] = port;
                    }
                }
            }
            if spec["type"] != "ExternalName" && spec.get("clusterIP").is_none() {
                let ip = old
                    .and_then(|o| o.pointer("/spec/clusterIP"))
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(&mut *next_ip);
                spec["clusterIP"] = json!(ip);
            }
            if let Some(ip) = spec.get("clusterIP").cloned()
                && spec.get("clusterIPs").is_none()
            {
                spec["clusterIPs"] = json!([ip]);
            }
        }
        "Deployment" => {
            let spec = obj
                .as_object_mut()
                .expect("objects are maps")
                .entry("spec")
                .or_insert_with(|| json!({}));
            if spec.get("replicas").is_none() {
                spec["replicas"] = json!(1);
            }
            if spec.get("revisionHistoryLimit").is_none() {
                spec["revisionHistoryLimit"] = json!(10);
            }
            if spec.get("progressDeadlineSeconds").is_none() {
                spec["progressDeadlineSeconds"] = json!(600);
            }
            if spec.get("strategy").is_none() {
                spec["strategy"] = json!({"type": "RollingUpdate",
                    "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}});
            }
        }
        "Secret" => {
            if obj
                .get("type")
                .and_then(Value::as_str)
                .unwrap_or("")
                .is_empty()
            {
                obj["type"] = json!("Opaque");
            }
            // stringData is write-only: it is folded into data, base64-encoded.
            if let Some(Value::Object(plain)) =
                obj.as_object_mut().and_then(|m| m.remove("stringData"))
            {
                use base64::Engine;
                let map = obj.as_object_mut().expect("objects are maps");
                let data = map.entry("data").or_insert_with(|| json!({}));
                for (k, v) in plain {
                    let text = v.as_str().unwrap_or_default();
                    data[k.as_str()] =
                        json!(base64::engine::general_purpose::STANDARD.encode(text));
                }
            }
        }
        "ReplicaSet" => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("replicas").or_insert(json!(1));
            }
        }
        "StatefulSet" => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("replicas").or_insert(json!(1));
                spec.entry("podManagementPolicy")
                    .or_insert(json!("OrderedReady"));
                spec.entry("revisionHistoryLimit").or_insert(json!(10));
                spec.entry("persistentVolumeClaimRetentionPolicy")
                    .or_insert(json!({"whenDeleted": "Retain", "whenScaled": "Retain"}));
                let strategy = spec
                    .entry("updateStrategy")
                    .or_insert(json!({"type": "RollingUpdate"}));
                if strategy.get("type").is_none() {
                    strategy["type"] = json!("RollingUpdate");
                }
                if strategy["type"] == "RollingUpdate" && strategy.get("rollingUpdate").is_none() {
                    strategy["rollingUpdate"] = json!({"partition": 0});
                }
            }
        }
        "DaemonSet" => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("revisionHistoryLimit").or_insert(json!(10));
                let strategy = spec
                    .entry("updateStrategy")
                    .or_insert(json!({"type": "RollingUpdate"}));
                if strategy.get("type").is_none() {
                    strategy["type"] = json!("RollingUpdate");
                }
                if strategy["type"] == "RollingUpdate" && strategy.get("rollingUpdate").is_none() {
                    strategy["rollingUpdate"] = json!({"maxSurge": 0, "maxUnavailable": 1});
                }
            }
        }
        "Job" => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("backoffLimit").or_insert(json!(6));
                spec.entry("completions").or_insert(json!(1));
                spec.entry("parallelism").or_insert(json!(1));
                spec.entry("completionMode").or_insert(json!("NonIndexed"));
                spec.entry("suspend").or_insert(json!(false));
                spec.entry("podReplacementPolicy")
                    .or_insert(json!("TerminatingOrFailed"));
            }
        }
        "CronJob" => {
            if let Some(spec) = obj.get_mut("spec").and_then(Value::as_object_mut) {
                spec.entry("concurrencyPolicy").or_insert(json!("Allow"));
                spec.entry("suspend").or_insert(json!(false));
                spec.entry("successfulJobsHistoryLimit").or_insert(json!(3));
                spec.entry("failedJobsHistoryLimit").or_insert(json!(1));
            }
        }
        "Namespace" => {
            if obj.pointer("/status/phase").is_none() {
                obj["status"] = json!({"phase": "Active"});
            }
            let name = obj
                .pointer("/metadata/name")
                .cloned()
                .unwrap_or(Value::Null);
            let meta = obj["metadata"].as_object_mut().expect("metadata is a map");
            let labels = meta.entry("labels").or_insert_with(|| json!({}));
            if labels.get("kubernetes.io/metadata.name").is_none() {
                labels["kubernetes.io/metadata.name"] = name;
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::builtin_types;

    fn rt(kind: &str) -> ResourceType {
        builtin_types()
            .into_iter()
            .find(|t| t.kind == kind)
            .unwrap()
    }

    #[test]
    fn names_must_be_dns_subdomains() {
        let causes = validate(
            &rt("ConfigMap"),
            &json!({"metadata": {"name": "Bad_Name"}}),
            None,
        );
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "metadata.name");
        assert!(
            causes[0]
                .message
                .starts_with("Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain")
        );
        assert!(
            validate(
                &rt("ConfigMap"),
                &json!({"metadata": {"name": "ok.name-1"}}),
                None
            )
            .is_empty()
        );
        assert!(
            !validate(
                &rt("Service"),
                &json!({"metadata": {"name": "1svc"}, "spec": {"ports": [{"port": 80}]}}),
                None
            )
            .is_empty()
        );
    }

    #[test]
    fn deployment_requires_selector_matching_template_and_containers() {
        let causes = validate(
            &rt("Deployment"),
            &json!({"metadata": {"name": "web"}, "spec": {}}),
            None,
        );
        let fields: Vec<&str> = causes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["spec.selector", "spec.template.spec.containers"]
        );
        let mismatch = json!({"metadata": {"name": "web"}, "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "db"}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}});
        let causes = validate(&rt("Deployment"), &mismatch, None);
        assert_eq!(causes[0].field, "spec.template.metadata.labels");
        assert!(
            causes[0]
                .message
                .ends_with("`selector` does not match template `labels`")
        );
    }

    #[test]
    fn deployment_selector_and_service_cluster_ip_are_immutable() {
        let d = |app: &str| {
            json!({"metadata": {"name": "web"}, "spec": {
            "selector": {"matchLabels": {"app": app}},
            "template": {"metadata": {"labels": {"app": app}}, "spec": {"containers": [{"name": "c", "image": "i"}]}}}})
        };
        let causes = validate(&rt("Deployment"), &d("b"), Some(&d("a")));
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "spec.selector");
        assert!(causes[0].message.ends_with("field is immutable"));
        let s = |ip: &str| json!({"metadata": {"name": "svc"}, "spec": {"clusterIP": ip, "ports": [{"port": 80}]}});
        let causes = validate(&rt("Service"), &s("10.96.0.9"), Some(&s("10.96.0.8")));
        assert_eq!(causes[0].field, "spec.clusterIPs[0]");
    }

    #[test]
    fn config_keys_must_be_valid_and_secret_string_data_folds_into_data() {
        let bad = json!({"metadata": {"name": "c"}, "data": {"bad key": "x", "good.key": "y"}});
        let causes = validate(&rt("ConfigMap"), &bad, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "data[bad key]");
        let mut secret = json!({"metadata": {"name": "s"}, "stringData": {"password": "hunter2"},
            "data": {"user": "YWRtaW4="}});
        apply_defaults(&rt("Secret"), &mut secret, None, &mut || unreachable!());
        assert_eq!(
            secret["data"],
            json!({"user": "YWRtaW4=", "password": "aHVudGVyMg=="})
        );
        assert!(secret.get("stringData").is_none());
        assert_eq!(secret["type"], "Opaque");
    }

    #[test]
    fn configmaps_and_secrets_hold_at_most_one_mebibyte() {
        use base64::Engine;
        let big = "x".repeat(MAX_DATA_BYTES);
        let at_limit = json!({"metadata": {"name": "c"}, "data": {"a": big}});
        assert!(validate(&rt("ConfigMap"), &at_limit, None).is_empty());
        let over = json!({"metadata": {"name": "c"}, "data": {"a": big, "b": "y"}});
        let causes = validate(&rt("ConfigMap"), &over, None);
        assert_eq!(causes.len(), 1);
        assert_eq!(causes[0].field, "[]");
        assert_eq!(
            causes[0].message,
            "Too long: may not be more than 1048576 bytes"
        );
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(vec![0u8; MAX_DATA_BYTES + 1]);
        let secret = json!({"metadata": {"name": "s"}, "data": {"blob": encoded}});
        let causes = validate(&rt("Secret"), &secret, None);
        assert_eq!(
            (causes[0].field.as_str(), causes[0].reason.as_str()),
            ("data", "FieldValueTooLong")
        );
    }

    #[test]
    fn services_get_a_cluster_ip_and_default_protocol() {
        let mut svc = json!({"metadata": {"name": "svc"}, "spec": {"ports": [{"port": 80}]}});
        apply_defaults(&rt("Service"), &mut svc, None, &mut || {
            "10.96.0.10".to_string()
        });
        assert_eq!(svc["spec"]["clusterIP"], "10.96.0.10");
        assert_eq!(svc["spec"]["ports"][0]["protocol"], "TCP");
        assert_eq!(svc["spec"]["ports"][0]["targetPort"], 80);
        assert_eq!(svc["spec"]["type"], "ClusterIP");
    }

    #[test]
    fn pod_templates_get_pull_policy_by_tag_and_tcp_ports() {
        let mut d = json!({"metadata": {"name": "web"}, "spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "nginx:1.27", "ports": [{"containerPort": 80}]},
            {"name": "b", "image": "nginx"}]}}}});
        apply_defaults(&rt("Deployment"), &mut d, None, &mut || unreachable!());
        let spec = &d["spec"]["template"]["spec"];
        assert_eq!(spec["containers"][0]["imagePullPolicy"], "IfNotPresent");
        assert_eq!(spec["containers"][1]["imagePullPolicy"], "Always");
        assert_eq!(spec["containers"][0]["ports"][0]["protocol"], "TCP");
        assert_eq!(spec["restartPolicy"], "Always");
        assert_eq!(d["spec"]["replicas"], 1);
        assert_eq!(d["spec"]["strategy"]["type"], "RollingUpdate");
    }
}

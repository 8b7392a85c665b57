//! Server-side printing: `meta.k8s.io/v1` Tables with the columns `kubectl get` shows for the
//! common built-in kinds (Name and Age for everything else).

use crate::store::meta_str;
use serde_json::{Value, json};

fn int(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn count(o: &Value, pointer: &str) -> i64 {
    o.pointer(pointer)
        .map(|v| match v {
            Value::Object(m) => m.len() as i64,
            Value::Array(a) => a.len() as i64,
            _ => 0,
        })
        .unwrap_or(0)
}

/// How long ago `created` was, the way kubectl prints ages.
pub fn human_age(d: chrono::Duration) -> String {
    let s = d.num_seconds().max(0);
    match s {
        0..=119 => format!("{s}s"),
        120..=599 => format!("{}m{}s", s / 60, s % 60),
        600..=10799 => format!("{}m", s / 60),
        10800..=172_799 => format!("{}h", s / 3600),
        _ => format!("{}d", s / 86400),
    }
}

fn service_ports(o: &Value) -> String {
    let ports: Vec<String> = o
        .pointer("/spec/ports")
        .and_then(Value::as_array)
        .map(|ps| {
            ps.iter()
                .map(|p| {
                    let port = p["port"].as_i64().unwrap_or(0);
                    let proto = p["protocol"].as_str().unwrap_or("TCP");
                    match p.get("nodePort").and_then(Value::as_i64) {
                        Some(np) => format!("{port}:{np}/{proto}"),
                        None => format!("{port}/{proto}"),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    if ports.is_empty() {
        "<none>".into()
    } else {
        ports.join(",")
    }
}

fn pod_status(o: &Value) -> String {
    let waiting = o
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find_map(|c| c.pointer("/state/waiting/reason").and_then(Value::as_str))
        });
    if o.pointer("/metadata/deletionTimestamp").is_some() {
        return "Terminating".into();
    }
    waiting
        .or_else(|| o.pointer("/status/phase").and_then(Value::as_str))
        .unwrap_or("Pending")
        .to_string()
}

/// Extra columns (name, cells) for a kind, between Name and Age.
fn columns(kind: &str) -> &'static [&'static str] {
    match kind {
        "Deployment" => &["Ready", "Up-to-date", "Available"],
        "ReplicaSet" => &["Desired", "Current", "Ready"],
        "StatefulSet" => &["Ready"],
        "Pod" => &["Ready", "Status", "Restarts"],
        "Service" => &["Type", "Cluster-IP", "External-IP", "Port(s)"],
        "ConfigMap" => &["Data"],
        "Secret" => &["Type", "Data"],
        "Namespace" => &["Status"],
        "PersistentVolumeClaim" => &["Status", "Volume"],
        "Job" => &["Status", "Completions"],
        "Node" => &["Status", "Roles", "Version"],
        _ => &[],
    }
}

fn cells(kind: &str, o: &Value) -> Vec<Value> {
    match kind {
        "Deployment" => vec![
            json!(format!(
                "{}/{}",
                int(o, "/status/readyReplicas"),
                int(o, "/spec/replicas")
            )),
            json!(int(o, "/status/updatedReplicas")),
            json!(int(o, "/status/availableReplicas")),
        ],
        "ReplicaSet" => vec![
            json!(int(o, "/spec/replicas")),
            json!(int(o, "/status/replicas")),
            json!(int(o, "/status/readyReplicas")),
        ],
        "StatefulSet" => vec![json!(format!(
            "{}/{}",
            int(o, "/status/readyReplicas"),
            int(o, "/spec/replicas")
        ))],
        "Pod" => {
            let statuses = o
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            let ready = statuses.iter().filter(|c| c["ready"] == true).count();
            let total = count(o, "/spec/containers");
            let restarts: i64 = statuses
                .iter()
                .map(|c| c["restartCount"].as_i64().unwrap_or(0))
                .sum();
            vec![
                json!(format!("{ready}/{total}")),
                json!(pod_status(o)),
                json!(restarts),
            ]
        }
        "Service" => {
            let external = o
                .pointer("/status/loadBalancer/ingress/0/ip")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| {
                    if o.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer") {
                        "<pending>".into()
                    } else {
                        "<none>".into()
                    }
                });
            vec![
                o.pointer("/spec/type")
                    .cloned()
                    .unwrap_or(json!("ClusterIP")),
                o.pointer("/spec/clusterIP")
                    .cloned()
                    .unwrap_or(json!("None")),
                json!(external),
                json!(service_ports(o)),
            ]
        }
        "ConfigMap" => vec![json!(count(o, "/data") + count(o, "/binaryData"))],
        "Secret" => vec![
            o.get("type").cloned().unwrap_or(json!("Opaque")),
            json!(count(o, "/data")),
        ],
        "Namespace" => vec![
            o.pointer("/status/phase")
                .cloned()
                .unwrap_or(json!("Active")),
        ],
        "PersistentVolumeClaim" => vec![
            o.pointer("/status/phase")
                .cloned()
                .unwrap_or(json!("Pending")),
            o.pointer("/spec/volumeName").cloned().unwrap_or(json!("")),
        ],
        "Node" => {
            let ready = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Ready" && c["status"] == "True")
                });
            let roles: Vec<String> = o
                .pointer("/metadata/labels")
                .and_then(Value::as_object)
                .map(|m| {
                    m.keys()
                        .filter_map(|k| {
                            k.strip_prefix("node-role.kubernetes.io/")
                                .map(str::to_string)
                        })
                        .collect()
                })
                .unwrap_or_default();
            vec![
                json!(if ready { "Ready" } else { "NotReady" }),
                json!(if roles.is_empty() {
                    "<none>".to_string()
                } else {
                    roles.join(",")
                }),
                o.pointer("/status/nodeInfo/kubeletVersion")
                    .cloned()
                    .unwrap_or(json!("")),
            ]
        }
        "Job" => {
            let done = int(o, "/status/succeeded");
            let want = o
                .pointer("/spec/completions")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let failed = o
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .is_some_and(|cs| {
                    cs.iter()
                        .any(|c| c["type"] == "Failed" && c["status"] == "True")
                });
            let status = if failed {
                "Failed"
            } else if done >= want {
                "Complete"
            } else {
                "Running"
            };
            vec![json!(status), json!(format!("{done}/{want}"))]
        }
        _ => vec![],
    }
}

/// The Table for `items` of `kind`; rows carry the full object when `include_object`, else
/// its PartialObjectMetadata (the server's default).
pub fn table(kind: &str, items: Vec<Value>, include_object: bool) -> Value {
    if kind == "Event" {
        return event_table(items, include_object);
    }
    let now = chrono::Utc::now();
    let mut defs = vec![json!({"name": "Name", "type": "string", "format": "name",
        "description": "Name must be unique within a namespace.", "priority": 0})];
    // Columns printed after AGE (kubectl shows a node's VERSION last).
    let after_age = if kind == "Node" { 1 } else { 0 };
    let extra = columns(kind);
    let age_at = 1 + extra.len() - after_age;
    for c in extra {
        defs.push(
            json!({"name": c, "type": "string", "format": "", "description": "", "priority": 0}),
        );
    }
    defs.insert(age_at, json!({"name": "Age", "type": "string", "format": "",
        "description": "CreationTimestamp is a timestamp representing the server time when this object was created.",
        "priority": 0}));
    let rows: Vec<Value> = items
        .into_iter()
        .map(|o| {
            let created = meta_str(&o, "creationTimestamp");
            let age = chrono::DateTime::parse_from_rfc3339(&created)
                .map(|t| human_age(now.signed_duration_since(t.with_timezone(&chrono::Utc))))
                .unwrap_or_else(|_| "<unknown>".into());
            let mut row_cells = vec![json!(meta_str(&o, "name"))];
            row_cells.extend(cells(kind, &o));
            row_cells.insert(age_at, json!(age));
            let object = if include_object {
                o
            } else {
                json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
                    "metadata": o["metadata"].clone()})
            };
            json!({"cells": row_cells, "object": object})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
        "columnDefinitions": defs, "rows": rows})
}

fn row_object(o: Value, include_object: bool) -> Value {
    if include_object {
        o
    } else {
        json!({"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": o["metadata"].clone()})
    }
}

/// Events print as LAST SEEN, TYPE, REASON, OBJECT, MESSAGE (the name only with -o wide).
fn event_table(items: Vec<Value>, include_object: bool) -> Value {
    let now = chrono::Utc::now();
    let col = |name: &str, priority: i64| {
        json!({"name": name, "type": "string", "format": if name == "Name" { "name" } else { "" },
            "description": "", "priority": priority})
    };
    let defs = vec![
        col("Last Seen", 0),
        col("Type", 0),
        col("Reason", 0),
        col("Object", 0),
        col("Message", 0),
        col("Name", 1),
    ];
    let rows: Vec<Value> = items
        .into_iter()
        .map(|o| {
            let last = o["lastTimestamp"].as_str().unwrap_or_default().to_string();
            let seen = chrono::DateTime::parse_from_rfc3339(&last)
                .map(|t| human_age(now.signed_duration_since(t.with_timezone(&chrono::Utc))))
                .unwrap_or_else(|_| "<unknown>".into());
            let object = format!(
                "{}/{}",
                o.pointer("/involvedObject/kind")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_lowercase(),
                o.pointer("/involvedObject/name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
            );
            let cells = json!([
                seen,
                o["type"],
                o["reason"],
                object,
                o["message"],
                meta_str(&o, "name")
            ]);
            json!({"cells": cells, "object": row_object(o, include_object)})
        })
        .collect();
    json!({"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {},
        "columnDefinitions": defs, "rows": rows})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_rows_show_ready_over_desired() {
        let d = json!({"metadata": {"name": "web", "creationTimestamp": "2020-01-01T00:00:00Z"},
            "spec": {"replicas": 3}, "status": {"readyReplicas": 2, "updatedReplicas": 3, "availableReplicas": 2}});
        let t = table("Deployment", vec![d], false);
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Ready", "Up-to-date", "Available", "Age"]);
        assert_eq!(
            t["rows"][0]["cells"],
            json!([
                "web",
                "2/3",
                3,
                2,
                human_age(
                    chrono::Utc::now().signed_duration_since(
                        chrono::DateTime::parse_from_rfc3339("2020-01-01T00:00:00Z")
                            .unwrap()
                            .with_timezone(&chrono::Utc)
                    )
                )
            ])
        );
        assert_eq!(t["rows"][0]["object"]["kind"], "PartialObjectMetadata");
    }

    #[test]
    fn nodes_print_their_version_after_the_age() {
        let n = json!({"metadata": {"name": "n", "labels": {"node-role.kubernetes.io/control-plane": ""}},
            "status": {"conditions": [{"type": "Ready", "status": "True"}],
                "nodeInfo": {"kubeletVersion": "v1.35.2"}}});
        let t = table("Node", vec![n], false);
        let names: Vec<&str> = t["columnDefinitions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["name"].as_str().unwrap())
            .collect();
        assert_eq!(names, ["Name", "Status", "Roles", "Age", "Version"]);
        let cells = &t["rows"][0]["cells"];
        assert_eq!(
            (&cells[1], &cells[2], &cells[4]),
            (&json!("Ready"), &json!("control-plane"), &json!("v1.35.2"))
        );
    }

    #[test]
    fn crash_looping_pods_show_the_waiting_reason() {
        let p = json!({"metadata": {"name": "p"}, "spec": {"containers": [{"name": "c"}]},
            "status": {"phase": "Running", "containerStatuses": [{"ready": false, "restartCount": 3,
                "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        let t = table("Pod", vec![p], true);
        assert_eq!(t["rows"][0]["cells"][1], "0/1");
        assert_eq!(t["rows"][0]["cells"][2], "CrashLoopBackOff");
        assert_eq!(t["rows"][0]["cells"][3], 3);
    }

    #[test]
    fn ages_read_like_kubectl() {
        assert_eq!(human_age(chrono::Duration::seconds(5)), "5s");
        assert_eq!(human_age(chrono::Duration::seconds(200)), "3m20s");
        assert_eq!(human_age(chrono::Duration::seconds(7200)), "120m");
        assert_eq!(human_age(chrono::Duration::days(3)), "3d");
    }
}

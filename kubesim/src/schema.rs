//! Schema checks for built-in kinds, using the k8s-openapi types as the schema: fields the type
//! does not declare are unknown (pruned, warned about, or rejected per `fieldValidation`), and
//! values of the wrong type make the object undecodable (400), as in the real apiserver.

use k8s_openapi::api::{apps, autoscaling, batch, core, networking, policy, rbac};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

/// One step into an object: a field name or a list index.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Field(String),
    Index(usize),
}

/// An undeclared field: its display path (`spec.template.spec.containers[0].imagee`) and steps.
#[derive(Debug, Clone, PartialEq)]
pub struct UnknownField {
    pub path: String,
    pub steps: Vec<Step>,
}

fn round_trip<K: DeserializeOwned + Serialize>(obj: &Value) -> Result<Value, String> {
    let typed: K = serde_json::from_value(obj.clone()).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

/// The object as its k8s-openapi type sees it (None for kinds without a type).
fn typed_view(kind: &str, obj: &Value) -> Option<Result<Value, String>> {
    Some(match kind {
        "Namespace" => round_trip::<core::v1::Namespace>(obj),
        "ConfigMap" => round_trip::<core::v1::ConfigMap>(obj),
        "Secret" => round_trip::<core::v1::Secret>(obj),
        "Service" => round_trip::<core::v1::Service>(obj),
        "ServiceAccount" => round_trip::<core::v1::ServiceAccount>(obj),
        "Pod" => round_trip::<core::v1::Pod>(obj),
        "PersistentVolumeClaim" => round_trip::<core::v1::PersistentVolumeClaim>(obj),
        "Event" => round_trip::<core::v1::Event>(obj),
        "Deployment" => round_trip::<apps::v1::Deployment>(obj),
        "ReplicaSet" => round_trip::<apps::v1::ReplicaSet>(obj),
        "StatefulSet" => round_trip::<apps::v1::StatefulSet>(obj),
        "DaemonSet" => round_trip::<apps::v1::DaemonSet>(obj),
        "Job" => round_trip::<batch::v1::Job>(obj),
        "CronJob" => round_trip::<batch::v1::CronJob>(obj),
        "Ingress" => round_trip::<networking::v1::Ingress>(obj),
        "NetworkPolicy" => round_trip::<networking::v1::NetworkPolicy>(obj),
        "HorizontalPodAutoscaler" => round_trip::<autoscaling::v2::HorizontalPodAutoscaler>(obj),
        "PodDisruptionBudget" => round_trip::<policy::v1::PodDisruptionBudget>(obj),
        "Role" => round_trip::<rbac::v1::Role>(obj),
        "RoleBinding" => round_trip::<rbac::v1::RoleBinding>(obj),
        "ClusterRole" => round_trip::<rbac::v1::ClusterRole>(obj),
        "ClusterRoleBinding" => round_trip::<rbac::v1::ClusterRoleBinding>(obj),
        "CustomResourceDefinition" => round_trip::<CustomResourceDefinition>(obj),
        _ => return None,
    })
}

fn collect(orig: &Value, typed: &Value, steps: &mut Vec<Step>, out: &mut Vec<UnknownField>) {
    match (orig, typed) {
        (Value::Object(o), Value::Object(t)) => {
            for (k, v) in o {
                steps.push(Step::Field(k.clone()));
                match t.get(k) {
                    None if !v.is_null() => out.push(UnknownField {
                        path: display(steps),
                        steps: steps.clone(),
                    }),
                    None => {}
                    Some(tv) => collect(v, tv, steps, out),
                }
                steps.pop();
            }
        }
        (Value::Array(o), Value::Array(t)) => {
            for (i, (v, tv)) in o.iter().zip(t.iter()).enumerate() {
                steps.push(Step::Index(i));
                collect(v, tv, steps, out);
                steps.pop();
            }
        }
        _ => {}
    }
}

fn display(steps: &[Step]) -> String {
    let mut s = String::new();
    for step in steps {
        match step {
            Step::Field(f) => {
                if !s.is_empty() {
                    s.push('.');
                }
                s.push_str(f);
            }
            Step::Index(i) => s.push_str(&format!("[{i}]")),
        }
    }
    s
}

/// Fields of `obj` that `kind` does not declare; Err with the decoding error when a value has
/// the wrong type. Kinds without a schema (custom resources) have no unknown fields.
pub fn unknown_fields(kind: &str, obj: &Value) -> Result<Vec<UnknownField>, String> {
    let Some(typed) = typed_view(kind, obj) else {
        return Ok(Vec::new());
    };
    let typed = typed?;
    let mut out = Vec::new();
    collect(obj, &typed, &mut Vec::new(), &mut out);
    Ok(out)
}

fn remove_path(v: &mut Value, steps: &[Step]) {
    match steps {
        [Step::Field(f)] => {
            if let Some(map) = v.as_object_mut() {
                map.remove(f);
            }
        }
        [first, rest @ ..] => {
            let next = match first {
                Step::Field(f) => v.get_mut(f.as_str()),
                Step::Index(i) => v.get_mut(*i),
            };
            if let Some(next) = next {
                remove_path(next, rest);
            }
        }
        [] => {}
    }
}

/// Removes the unknown fields from `obj`.
pub fn prune(obj: &mut Value, unknown: &[UnknownField]) {
    for field in unknown {
        remove_path(obj, &field.steps);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn undeclared_fields_are_found_with_their_paths_and_pruned() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "web", "labels": {"any": "label"}},
            "spec": {"replicass": 3, "selector": {"matchLabels": {"app": "web"}},
                "template": {"spec": {"containers": [{"name": "c", "image": "i", "imagee": "x"}],
                    "volumes": [{"name": "v", "emptyDir": {}}]}}}});
        let unknown = unknown_fields("Deployment", &d).unwrap();
        let paths: Vec<&str> = unknown.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            paths,
            ["spec.replicass", "spec.template.spec.containers[0].imagee"]
        );
        prune(&mut d, &unknown);
        assert!(d["spec"].get("replicass").is_none());
        assert!(
            d["spec"]["template"]["spec"]["containers"][0]
                .get("imagee")
                .is_none()
        );
        assert_eq!(
            d["spec"]["template"]["spec"]["volumes"][0]["emptyDir"],
            json!({})
        );
        assert!(unknown_fields("Deployment", &d).unwrap().is_empty());
    }

    #[test]
    fn wrongly_typed_values_cannot_be_decoded_and_custom_kinds_are_free_form() {
        let d = json!({"spec": {"replicas": "three"}});
        assert!(
            unknown_fields("Deployment", &d)
                .unwrap_err()
                .contains("invalid type")
        );
        assert!(
            unknown_fields("Widget", &json!({"anything": 1}))
                .unwrap()
                .is_empty()
        );
    }
}

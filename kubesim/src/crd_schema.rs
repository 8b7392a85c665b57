//! Custom resources against their CRD's structural `openAPIV3Schema`: unknown fields (pruned
//! unless `x-kubernetes-preserve-unknown-fields`) and validation of types, required fields,
//! enums, bounds and lengths, with the apiserver's messages.

use crate::errors::Cause;
use crate::schema::{Step, UnknownField};
use serde_json::Value;

/// The schema of `version` in a CRD object.
pub fn version_schema(crd: &Value, version: &str) -> Option<Value> {
    crd.pointer("/spec/versions")?
        .as_array()?
        .iter()
        .find(|v| v["name"] == version)?
        .pointer("/schema/openAPIV3Schema")
        .cloned()
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

fn preserves(schema: &Value) -> bool {
    schema
        .get("x-kubernetes-preserve-unknown-fields")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

fn collect_unknown(v: &Value, schema: &Value, steps: &mut Vec<Step>, out: &mut Vec<UnknownField>) {
    match v {
        Value::Object(map) => {
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, child) in map {
                // The root's apiVersion, kind and metadata belong to the apiserver, not the CRD.
                if steps.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                steps.push(Step::Field(k.clone()));
                match (props.and_then(|p| p.get(k)), additional) {
                    (Some(child_schema), _) | (None, Some(child_schema)) => {
                        collect_unknown(child, child_schema, steps, out)
                    }
                    (None, None)
                        if !preserves(schema)
                            && !schema
                                .get("additionalProperties")
                                .is_some_and(|a| a == true) =>
                    {
                        out.push(UnknownField {
                            path: display(steps),
                            steps: steps.clone(),
                        })
                    }
                    (None, None) => {}
                }
                steps.pop();
            }
        }
        Value::Array(items) => {
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    steps.push(Step::Index(i));
                    collect_unknown(item, item_schema, steps, out);
                    steps.pop();
                }
            }
        }
        _ => {}
    }
}

/// Fields of `obj` the schema does not declare (and does not preserve).
pub fn unknown_fields(obj: &Value, schema: &Value) -> Vec<UnknownField> {
    let mut out = Vec::new();
    collect_unknown(obj, schema, &mut Vec::new(), &mut out);
    out
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn go_value(v: &Value) -> String {
    match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    }
}

fn check(v: &Value, schema: &Value, path: &str, causes: &mut Vec<Cause>) {
    let field = if path.is_empty() { "<root>" } else { path };
    if let Some(expected) = schema.get("type").and_then(Value::as_str) {
        let actual = type_name(v);
        let ok = actual == expected
            || (expected == "number" && actual == "integer")
            || (v.is_null() && schema.get("nullable") == Some(&Value::Bool(true)));
        let int_or_string = schema.get("x-kubernetes-int-or-string") == Some(&Value::Bool(true));
        if !ok && !int_or_string {
            causes.push(Cause {
                reason: "FieldValueTypeNotSupported".into(),
                message: format!(
                    "Invalid value: {:?}: {field} in body must be of type {expected}: {:?}",
                    actual, actual
                ),
                field: field.to_string(),
            });
            return;
        }
    }
    if let Some(allowed) = schema.get("enum").and_then(Value::as_array)
        && !allowed.contains(v)
    {
        let list: Vec<String> = allowed.iter().map(go_value).collect();
        causes.push(Cause {
            reason: "FieldValueNotSupported".into(),
            message: format!(
                "Unsupported value: {}: supported values: {}",
                go_value(v),
                list.join(", ")
            ),
            field: field.to_string(),
        });
    }
    if let Some(n) = v.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            causes.push(Cause::invalid(
                field,
                &v.to_string(),
                &format!("{field} in body should be greater than or equal to {min}"),
            ));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            causes.push(Cause::invalid(
                field,
                &v.to_string(),
                &format!("{field} in body should be less than or equal to {max}"),
            ));
        }
    }
    if let Some(s) = v.as_str() {
        let len = s.chars().count() as u64;
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            causes.push(Cause {
                reason: "FieldValueTooLong".into(),
                message: format!("Too long: may not be more than {max} bytes"),
                field: field.to_string(),
            });
        }
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            causes.push(Cause::invalid(
                field,
                &go_value(v),
                &format!("{field} in body should be at least {min} chars long"),
            ));
        }
    }
    match v {
        Value::Object(map) => {
            if let Some(required) = schema.get("required").and_then(Value::as_array) {
                for r in required.iter().filter_map(Value::as_str) {
                    if !map.contains_key(r) {
                        let child = if path.is_empty() {
                            r.to_string()
                        } else {
                            format!("{path}.{r}")
                        };
                        causes.push(Cause::required(&child));
                    }
                }
            }
            let props = schema.get("properties").and_then(Value::as_object);
            let additional = schema.get("additionalProperties").filter(|a| a.is_object());
            for (k, child) in map {
                if path.is_empty() && matches!(k.as_str(), "apiVersion" | "kind" | "metadata") {
                    continue;
                }
                let child_path = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                if let Some(child_schema) = props.and_then(|p| p.get(k)).or(additional) {
                    check(child, child_schema, &child_path, causes);
                }
            }
        }
        Value::Array(items) => {
            if let Some(max) = schema.get("maxItems").and_then(Value::as_u64)
                && items.len() as u64 > max
            {
                causes.push(Cause {
                    reason: "FieldValueTooMany".into(),
                    message: format!("Too many: {}: must have at most {max} items", items.len()),
                    field: field.to_string(),
                });
            }
            if let Some(min) = schema.get("minItems").and_then(Value::as_u64)
                && (items.len() as u64) < min
            {
                causes.push(Cause::invalid(
                    field,
                    &items.len().to_string(),
                    &format!("{field} in body should have at least {min} items"),
                ));
            }
            if let Some(item_schema) = schema.get("items") {
                for (i, item) in items.iter().enumerate() {
                    check(item, item_schema, &format!("{path}[{i}]"), causes);
                }
            }
        }
        _ => {}
    }
}

/// Validation errors of `obj` against the schema.
pub fn validate(obj: &Value, schema: &Value) -> Vec<Cause> {
    let mut causes = Vec::new();
    check(obj, schema, "", &mut causes);
    causes
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Value {
        json!({"type": "object", "properties": {
            "spec": {"type": "object", "required": ["size"], "properties": {
                "size": {"type": "integer", "minimum": 1},
                "color": {"type": "string", "enum": ["red", "blue"]},
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
                "extra": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
                "ports": {"type": "array", "items": {"type": "object",
                    "properties": {"port": {"type": "integer"}}}}}}}})
    }

    #[test]
    fn unknown_fields_respect_properties_additional_properties_and_preserve() {
        let obj = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"},
            "spec": {"size": 1, "sise": 2, "labels": {"any": "x"}, "extra": {"free": {"form": 1}},
                "ports": [{"port": 80, "prot": "TCP"}]}, "status": {"x": 1}});
        let paths: Vec<String> = unknown_fields(&obj, &schema())
            .into_iter()
            .map(|u| u.path)
            .collect();
        assert_eq!(paths, ["spec.ports[0].prot", "spec.sise", "status"]);
    }

    #[test]
    fn validation_reports_types_required_enums_and_bounds() {
        let obj = json!({"spec": {"color": "pink", "ports": [{"port": "eighty"}]}});
        let causes = validate(&obj, &schema());
        let rendered: Vec<String> = causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect();
        assert_eq!(
            rendered,
            [
                "spec.size: Required value",
                "spec.color: Unsupported value: \"pink\": supported values: \"red\", \"blue\"",
                "spec.ports[0].port: Invalid value: \"string\": spec.ports[0].port in body must be of type integer: \"string\"",
            ]
        );
        let small = validate(&json!({"spec": {"size": 0}}), &schema());
        assert_eq!(
            small[0].message,
            "Invalid value: 0: spec.size in body should be greater than or equal to 1"
        );
        assert!(validate(&json!({"spec": {"size": 3, "color": "red"}}), &schema()).is_empty());
    }
}

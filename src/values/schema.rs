//! `values.schema.json` validation: the chart's schema against the final values and each
//! subchart's schema against that subchart's values, every violation reported at once with
//! its path. Schemas are checked offline: a `$ref` to a URL or file is never fetched.

use super::Values;
use crate::chart::Chart;
use serde_json::Value;
use std::fmt;

/// One way the values break a chart's schema (or a schema that cannot be used at all).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaViolation {
    /// The chart whose schema this is, as a path from the top chart (`top/charts/sub`).
    pub chart: String,
    /// Dotted path of the offending value (`image.tag`, `ports.0.name`); empty for the root.
    pub path: String,
    /// What is wrong, e.g. `"x" is not of type "integer"`.
    pub message: String,
}

impl fmt::Display for SchemaViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}: {}", self.chart, self.message)
        } else {
            write!(f, "{}: {}: {}", self.chart, self.path, self.message)
        }
    }
}

/// Values that a chart's `values.schema.json` rejects, or a schema that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SchemaError {
    #[error("values don't match values.schema.json ({} problem(s)):\n{}", .0.len(), list(.0))]
    Violations(Vec<SchemaViolation>),
}

fn list(violations: &[SchemaViolation]) -> String {
    violations
        .iter()
        .map(|v| format!("- {v}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl SchemaError {
    /// Every violation found, in chart order.
    pub fn violations(&self) -> &[SchemaViolation] {
        match self {
            SchemaError::Violations(v) => v,
        }
    }
}

/// Validates `values` (as [`super::compute_render_values`] returns them) against the chart's
/// schema and, for each enabled subchart, that subchart's values against its own schema.
pub fn validate_schema(chart: &Chart, values: &Values) -> Result<(), SchemaError> {
    let mut violations = Vec::new();
    collect(chart, values, chart.name(), &mut violations);
    if violations.is_empty() {
        Ok(())
    } else {
        Err(SchemaError::Violations(violations))
    }
}

fn collect(chart: &Chart, values: &Values, label: &str, out: &mut Vec<SchemaViolation>) {
    if let Some(raw) = &chart.schema {
        check_one(raw, values, label, out);
    }
    for sub in &chart.dependencies {
        let sub_label = format!("{label}/charts/{}", sub.name());
        match values.get(sub.name()) {
            None | Some(Value::Null) => {}
            Some(Value::Object(sub_values)) => collect(sub, sub_values, &sub_label, out),
            Some(other) => out.push(SchemaViolation {
                chart: sub_label,
                path: String::new(),
                message: format!("values must be a map, not {}", super::type_name(other)),
            }),
        }
    }
}

fn check_one(raw: &[u8], values: &Values, label: &str, out: &mut Vec<SchemaViolation>) {
    let unusable = |message: String| SchemaViolation {
        chart: label.to_string(),
        path: String::new(),
        message,
    };
    let schema: Value = match serde_json::from_slice(raw) {
        Ok(schema) => schema,
        Err(e) => {
            out.push(unusable(format!(
                "values.schema.json is not valid JSON: {e}"
            )));
            return;
        }
    };
    let validator = match jsonschema::options().build(&schema) {
        Ok(validator) => validator,
        Err(e) => {
            out.push(unusable(format!(
                "values.schema.json is not a usable schema: {e}"
            )));
            return;
        }
    };
    let instance = Value::Object(values.clone());
    for error in validator.iter_errors(&instance) {
        let pointer = error.instance_path().as_str().to_string();
        out.push(SchemaViolation {
            chart: label.to_string(),
            path: pointer_to_path(&pointer),
            message: error.to_string(),
        });
    }
}

/// `/image/tag` → `image.tag` (JSON-pointer escapes undone).
fn pointer_to_path(pointer: &str) -> String {
    pointer
        .split('/')
        .skip(1)
        .map(|segment| segment.replace("~1", "/").replace("~0", "~"))
        .collect::<Vec<_>>()
        .join(".")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chart::Metadata;
    use serde_json::json;

    fn chart(name: &str, schema: Option<Value>, subs: Vec<Chart>) -> Chart {
        Chart {
            metadata: Metadata {
                name: name.into(),
                version: "1.0.0".into(),
                ..Default::default()
            },
            lock: None,
            templates: vec![],
            values: Values::new(),
            raw_values: None,
            schema: schema.map(|s| serde_json::to_vec(&s).unwrap()),
            files: vec![],
            dependencies: subs,
        }
    }

    fn map(v: Value) -> Values {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn every_violation_in_every_chart_is_reported_with_its_path() {
        let sub = chart(
            "db",
            Some(json!({"type": "object", "required": ["port"],
                        "properties": {"port": {"type": "integer"}}})),
            vec![],
        );
        let top = chart(
            "app",
            Some(json!({"type": "object", "properties": {
                "replicaCount": {"type": "integer"},
                "image": {"type": "object", "properties": {"tag": {"type": "string"}}}}})),
            vec![sub],
        );
        let values = map(json!({"replicaCount": "x", "image": {"tag": 5}, "db": {}}));
        let err = validate_schema(&top, &values).unwrap_err();
        let lines: Vec<String> = err.violations().iter().map(|v| v.to_string()).collect();
        assert!(
            lines.contains(&r#"app: replicaCount: "x" is not of type "integer""#.to_string()),
            "{lines:?}"
        );
        assert!(
            lines.contains(&r#"app: image.tag: 5 is not of type "string""#.to_string()),
            "{lines:?}"
        );
        assert!(
            lines
                .iter()
                .any(|l| l.starts_with("app/charts/db: ") && l.contains("port")),
            "{lines:?}"
        );
        assert_eq!(lines.len(), 3);
    }

    #[test]
    fn valid_values_pass() {
        let top = chart(
            "app",
            Some(json!({"properties": {"a": {"type": "integer"}}})),
            vec![],
        );
        assert!(validate_schema(&top, &map(json!({"a": 1}))).is_ok());
    }

    #[test]
    fn formats_are_annotations_and_whole_floats_are_integers_as_in_helm() {
        let top = chart(
            "app",
            Some(json!({"properties": {
                "email": {"type": "string", "format": "email"},
                "n": {"type": "integer"}}})),
            vec![],
        );
        assert!(validate_schema(&top, &map(json!({"email": "nope", "n": 2.0}))).is_ok());
        assert!(validate_schema(&top, &map(json!({"n": 2.5}))).is_err());
    }

    #[test]
    fn remote_references_are_never_fetched() {
        let top = chart(
            "app",
            Some(json!({"$ref": "https://example.invalid/schema.json"})),
            vec![],
        );
        let err = validate_schema(&top, &map(json!({"a": 1}))).unwrap_err();
        assert!(err.to_string().contains("not a usable schema"), "{err}");
    }

    #[test]
    fn broken_schema_json_is_named() {
        let mut top = chart("app", None, vec![]);
        top.schema = Some(b"{not json".to_vec());
        let err = validate_schema(&top, &Values::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("app: values.schema.json is not valid JSON"),
            "{err}"
        );
    }
}

//! The tera render context: `Release`, `Chart`, `Capabilities` and `Template` as tera
//! values under helm's capitalised names, and the conversions between JSON values and tera
//! values.

use tera::{Map, Value};

use crate::chart::Metadata;
use crate::engine::{Capabilities, ReleaseInfo};

/// Builds a tera map from `(key, value)` pairs.
pub(crate) fn map_of<const N: usize>(pairs: [(&'static str, Value); N]) -> Value {
    let mut map = Map::new();
    for (k, v) in pairs {
        map.insert(k.into(), v);
    }
    Value::from(map)
}

pub(crate) fn release_value(release: &ReleaseInfo) -> Value {
    map_of([
        ("Name", Value::from(release.name.as_str())),
        ("Namespace", Value::from(release.namespace.as_str())),
        ("Revision", Value::from(release.revision)),
        ("IsInstall", Value::from(release.is_install)),
        ("IsUpgrade", Value::from(release.is_upgrade)),
        ("Service", Value::from(release.service.as_str())),
    ])
}

pub(crate) fn capabilities_value(caps: &Capabilities) -> Value {
    let kube = map_of([
        ("Version", Value::from(caps.kube_version.version.as_str())),
        (
            "GitVersion",
            Value::from(caps.kube_version.version.as_str()),
        ),
        ("Major", Value::from(caps.kube_version.major.as_str())),
        ("Minor", Value::from(caps.kube_version.minor.as_str())),
    ]);
    let apis: Vec<Value> = caps
        .api_versions
        .iter()
        .map(|v| Value::from(v.as_str()))
        .collect();
    map_of([("KubeVersion", kube), ("APIVersions", Value::from(apis))])
}

fn opt_str(value: &Option<String>) -> Value {
    Value::from(value.as_deref().unwrap_or(""))
}

fn str_list(items: &[String]) -> Value {
    Value::from(
        items
            .iter()
            .map(|s| Value::from(s.as_str()))
            .collect::<Vec<_>>(),
    )
}

/// `Chart`: Chart.yaml under helm's Go field names (`Name`, `Version`, `AppVersion`, …).
pub(crate) fn chart_value(meta: &Metadata) -> Value {
    let maintainers: Vec<Value> = meta
        .maintainers
        .iter()
        .map(|m| {
            map_of([
                ("Name", Value::from(m.name.as_str())),
                ("Email", opt_str(&m.email)),
                ("URL", opt_str(&m.url)),
            ])
        })
        .collect();
    let dependencies: Vec<Value> = meta
        .dependencies
        .iter()
        .map(|d| {
            map_of([
                ("Name", Value::from(d.name.as_str())),
                ("Version", Value::from(d.version.as_str())),
                ("Repository", Value::from(d.repository.as_str())),
                ("Condition", opt_str(&d.condition)),
                ("Tags", str_list(&d.tags)),
                ("Enabled", Value::from(d.enabled.unwrap_or(true))),
                (
                    "ImportValues",
                    json_to_value(&serde_json::json!(d.import_values)),
                ),
                ("Alias", opt_str(&d.alias)),
            ])
        })
        .collect();
    let annotations: Map = meta
        .annotations
        .iter()
        .map(|(k, v)| (k.clone().into(), Value::from(v.as_str())))
        .collect();
    let mut map = Map::new();
    for (k, v) in &meta.extra {
        map.insert(k.clone().into(), json_to_value(v));
    }
    let fields = [
        ("Name", Value::from(meta.name.as_str())),
        ("Home", opt_str(&meta.home)),
        ("Sources", str_list(&meta.sources)),
        ("Version", Value::from(meta.version.as_str())),
        ("Description", opt_str(&meta.description)),
        ("Keywords", str_list(&meta.keywords)),
        ("Maintainers", Value::from(maintainers)),
        ("Icon", opt_str(&meta.icon)),
        ("APIVersion", Value::from(meta.api_version.as_str())),
        ("Condition", opt_str(&meta.condition)),
        ("Tags", opt_str(&meta.tags)),
        ("AppVersion", opt_str(&meta.app_version)),
        ("Deprecated", Value::from(meta.deprecated)),
        ("Annotations", Value::from(annotations)),
        ("KubeVersion", opt_str(&meta.kube_version)),
        ("Dependencies", Value::from(dependencies)),
        (
            "Type",
            Value::from(meta.chart_type.as_deref().unwrap_or("application")),
        ),
    ];
    for (k, v) in fields {
        map.insert(k.into(), v);
    }
    Value::from(map)
}

/// `Template`: the template being rendered.
pub(crate) fn template_value(name: &str, base_path: &str) -> Value {
    map_of([
        ("Name", Value::from(name)),
        ("BasePath", Value::from(base_path)),
    ])
}

/// Converts JSON (values, parsed YAML) into a tera value.
pub(crate) fn json_to_value(json: &serde_json::Value) -> Value {
    match json {
        serde_json::Value::Null => Value::none(),
        serde_json::Value::Bool(b) => Value::from(*b),
        serde_json::Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                // Go prints an integral float64 (helm's `replicas: 3.0`) as `3`.
                let f = n.as_f64().unwrap_or(0.0);
                if f.fract() == 0.0 && f.abs() < 9.0e15 {
                    Value::from(f as i64)
                } else {
                    Value::from(f)
                }
            }
        }
        serde_json::Value::String(s) => Value::from(s.as_str()),
        serde_json::Value::Array(items) => {
            Value::from(items.iter().map(json_to_value).collect::<Vec<_>>())
        }
        serde_json::Value::Object(map) => Value::from(json_map_to_map(map)),
    }
}

/// Converts a JSON object into a tera map.
pub(crate) fn json_map_to_map(map: &serde_json::Map<String, serde_json::Value>) -> Map {
    map.iter()
        .map(|(k, v)| (k.clone().into(), json_to_value(v)))
        .collect()
}

/// Converts a tera value into JSON (maps become key-sorted objects). Bytes become strings
/// (lossy UTF-8) and undefined becomes null.
pub(crate) fn value_to_json(value: &Value) -> serde_json::Value {
    use tera::value::ValueKind;
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => serde_json::Value::Null,
        ValueKind::Bool => serde_json::Value::Bool(value.as_bool().unwrap_or(false)),
        ValueKind::I64 | ValueKind::U64 | ValueKind::I128 | ValueKind::U128 => {
            if let Some(i) = value.as_i64() {
                serde_json::Value::from(i)
            } else if let Some(u) = value.as_u64() {
                serde_json::Value::from(u)
            } else {
                serde_json::Value::from(value.as_f64().unwrap_or(0.0))
            }
        }
        ValueKind::F64 => serde_json::Number::from_f64(value.as_f64().unwrap_or(0.0))
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null),
        ValueKind::String => serde_json::Value::String(value.as_str().unwrap_or("").to_string()),
        ValueKind::Bytes => serde_json::Value::String(
            String::from_utf8_lossy(value.as_bytes().unwrap_or(&[])).into_owned(),
        ),
        ValueKind::Array => serde_json::Value::Array(
            value
                .as_array()
                .unwrap_or(&[])
                .iter()
                .map(value_to_json)
                .collect(),
        ),
        ValueKind::Map => {
            let mut out = serde_json::Map::new();
            if let Some(map) = value.as_map() {
                for (k, v) in map.iter() {
                    out.insert(key_to_string(k), value_to_json(v));
                }
            }
            serde_json::Value::Object(out)
        }
        _ => serde_json::Value::Null,
    }
}

/// A map key as text (`true`, `3`, `name`).
pub(crate) fn key_to_string(key: &tera::value::Key<'_>) -> String {
    key.to_string()
}

/// Shared, immutable per-chart context values, built once and cloned cheaply (tera values
/// are reference counted).
#[derive(Clone)]
pub(crate) struct ChartScope {
    pub values: Value,
    pub chart: Value,
    pub release: Value,
    pub capabilities: Value,
    /// helm's `.Subcharts`: each direct subchart's name → its `Values`, `Chart`, `Release`
    /// and `Capabilities` (so `include(name=…, Values=Subcharts.sub.Values, …)` renders a
    /// subchart's helper as the subchart sees it).
    pub subcharts: Value,
}

impl ChartScope {
    pub fn new(
        values: &crate::values::Values,
        meta: &Metadata,
        release: &Value,
        capabilities: &Value,
    ) -> Self {
        ChartScope {
            values: Value::from(json_map_to_map(values)),
            chart: chart_value(meta),
            release: release.clone(),
            capabilities: capabilities.clone(),
            subcharts: Value::from(Map::new()),
        }
    }

    /// This scope as one subchart context of its parent's `Subcharts`.
    pub fn as_subchart(&self) -> Value {
        map_of([
            ("Values", self.values.clone()),
            ("Chart", self.chart.clone()),
            ("Release", self.release.clone()),
            ("Capabilities", self.capabilities.clone()),
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_round_trips_through_tera_values() {
        let json = serde_json::json!({"a": [1, -2, 2.5, "x", null, true], "b": {"c": {}}});
        assert_eq!(value_to_json(&json_to_value(&json)), json);
    }
}

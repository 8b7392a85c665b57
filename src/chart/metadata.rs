//! `Chart.yaml`: helm's apiVersion v2 chart metadata, unknown fields kept.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `Chart.yaml`. Field names follow helm's (camelCase in YAML and in release JSON).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sources: Vec<String>,
    /// Strict semver; a YAML number (`version: 1`) is read as its text so the error can say why.
    #[serde(default, deserialize_with = "string_or_number")]
    pub version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub maintainers: Vec<Maintainer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub icon: Option<String>,
    #[serde(default)]
    pub api_version: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tags: Option<String>,
    /// A YAML number (`appVersion: 1.0`) is kept as its text, as helm accepts it.
    #[serde(
        default,
        deserialize_with = "optional_string_or_number",
        skip_serializing_if = "Option::is_none"
    )]
    pub app_version: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub deprecated: bool,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kube_version: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub dependencies: Vec<Dependency>,
    /// `application` (default) or `library`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub chart_type: Option<String>,
    /// Fields rudder does not know, kept so nothing in Chart.yaml is lost.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

/// A chart maintainer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Maintainer {
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// One entry of `Chart.yaml` `dependencies`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    /// Required; a missing name is reported by validation, naming the entry.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub repository: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Set while processing conditions/tags; helm records it in the release too.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// `import-values`: strings (`child.path`) or `{child: path, parent: path}` maps.
    #[serde(
        rename = "import-values",
        default,
        skip_serializing_if = "Vec::is_empty"
    )]
    pub import_values: Vec<serde_json::Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alias: Option<String>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// A string, or a number/bool taken as its YAML text.
fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(optional_string_or_number(d)?.unwrap_or_default())
}

fn optional_string_or_number<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    use serde::de::Error;
    match Option::<serde_yaml::Value>::deserialize(d)? {
        None | Some(serde_yaml::Value::Null) => Ok(None),
        Some(serde_yaml::Value::String(s)) => Ok(Some(s)),
        Some(serde_yaml::Value::Number(n)) => Ok(Some(n.to_string())),
        Some(serde_yaml::Value::Bool(b)) => Ok(Some(b.to_string())),
        Some(other) => Err(D::Error::custom(format!(
            "expected a string, found {}",
            match other {
                serde_yaml::Value::Sequence(_) => "a list",
                serde_yaml::Value::Mapping(_) => "a mapping",
                _ => "a tagged value",
            }
        ))),
    }
}

impl Metadata {
    /// Chart.yaml text for this metadata, keys sorted alphabetically as helm writes it
    /// (`helm show chart`, packaged Chart.yaml with `--version`).
    pub fn to_sorted_yaml(&self) -> String {
        let json = serde_json::to_value(self).expect("metadata serializes to JSON");
        serde_yaml::to_string(&sorted_yaml(json)).expect("metadata serializes to YAML")
    }
}

fn sorted_yaml(value: serde_json::Value) -> serde_yaml::Value {
    use serde_json::Value as J;
    use serde_yaml::Value as Y;
    match value {
        J::Null => Y::Null,
        J::Bool(b) => Y::Bool(b),
        J::Number(n) => serde_yaml::to_value(n).unwrap_or(Y::Null),
        J::String(s) => Y::String(s),
        J::Array(items) => Y::Sequence(items.into_iter().map(sorted_yaml).collect()),
        J::Object(map) => {
            let mut entries: Vec<(String, J)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Y::Mapping(
                entries
                    .into_iter()
                    .map(|(k, v)| (Y::String(k), sorted_yaml(v)))
                    .collect(),
            )
        }
    }
}

//! The render context: `Release`, `Chart`, `Capabilities` and `Template` as tera values under
//! helm's capitalised names, and the conversions between JSON values and tera values.

use std::sync::Arc;

use tera::{Map, Value};

use crate::chart::Metadata;

/// The group/versions helm 4.1.4 reports by default (`helm template` without a cluster).
const DEFAULT_API_VERSIONS: &str = include_str!("default_api_versions.txt");

/// Facts about the release being rendered, as templates see them under `Release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseInfo {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub is_install: bool,
    pub is_upgrade: bool,
    /// `Release.Service`: who renders the chart ("Rudder").
    pub service: String,
}

impl ReleaseInfo {
    /// The release facts for revision `revision` of `name` in `namespace`, rendered for an
    /// install (`is_upgrade` false) or an upgrade.
    pub fn new(name: &str, namespace: &str, revision: u64, is_upgrade: bool) -> Self {
        ReleaseInfo {
            name: name.to_string(),
            namespace: namespace.to_string(),
            revision,
            is_install: !is_upgrade,
            is_upgrade,
            service: "Rudder".into(),
        }
    }
}

impl Default for ReleaseInfo {
    /// What `helm template` uses when no name is given.
    fn default() -> Self {
        ReleaseInfo::new("release-name", "default", 1, false)
    }
}

/// A Kubernetes version as templates see it under `Capabilities.KubeVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// `v1.35.0`
    pub version: String,
    /// `1`
    pub major: String,
    /// `35`
    pub minor: String,
}

/// A version string that is not `v?MAJOR.MINOR[.PATCH…]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Kubernetes version `{0}`: expected something like v1.35.0")]
pub struct InvalidKubeVersion(pub String);

impl KubeVersion {
    /// Parses `1.30`, `v1.30.2`, `v1.30.2-gke.100` like helm's `--kube-version`.
    pub fn parse(text: &str) -> Result<Self, InvalidKubeVersion> {
        let bad = || InvalidKubeVersion(text.to_string());
        let trimmed = text.trim().trim_start_matches('v');
        let mut parts = trimmed.splitn(3, '.');
        let major = parts.next().filter(|p| is_digits(p)).ok_or_else(bad)?;
        let minor = parts.next().filter(|p| is_digits(p)).ok_or_else(bad)?;
        let rest = parts.next().unwrap_or("0");
        let patch_digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if patch_digits.is_empty() {
            return Err(bad());
        }
        Ok(KubeVersion {
            version: format!("v{major}.{minor}.{rest}"),
            major: major.to_string(),
            minor: minor.to_string(),
        })
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit())
}

impl Default for KubeVersion {
    /// The version helm 4.1.4 assumes without a cluster.
    fn default() -> Self {
        KubeVersion {
            version: "v1.35.0".into(),
            major: "1".into(),
            minor: "35".into(),
        }
    }
}

/// What the target cluster supports, as templates see it under `Capabilities`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    /// Group/versions (`apps/v1`) and optionally group/version/kind (`apps/v1/Deployment`).
    pub api_versions: Vec<String>,
}

impl Capabilities {
    /// The built-in group/versions, the list helm reports without a cluster.
    pub fn default_api_versions() -> Vec<String> {
        DEFAULT_API_VERSIONS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            kube_version: KubeVersion::default(),
            api_versions: Self::default_api_versions(),
        }
    }
}

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
}

impl ChartScope {
    pub fn new(
        values: &crate::values::Values,
        meta: &Metadata,
        release: &Value,
        capabilities: &Value,
    ) -> Arc<Self> {
        Arc::new(ChartScope {
            values: Value::from(json_map_to_map(values)),
            chart: chart_value(meta),
            release: release.clone(),
            capabilities: capabilities.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_version_parses_like_helm() {
        let v = KubeVersion::parse("1.29").unwrap();
        assert_eq!(
            (v.version.as_str(), v.major.as_str(), v.minor.as_str()),
            ("v1.29.0", "1", "29")
        );
        let v = KubeVersion::parse("v1.30.2-gke.100").unwrap();
        assert_eq!(v.version, "v1.30.2-gke.100");
        assert!(KubeVersion::parse("one.two").is_err());
        assert!(KubeVersion::parse("1").is_err());
    }

    #[test]
    fn default_api_versions_match_helm() {
        let apis = Capabilities::default_api_versions();
        assert_eq!(apis.first().map(String::as_str), Some("v1"));
        assert!(apis.contains(&"apps/v1".to_string()));
        assert!(apis.contains(&"batch/v1".to_string()));
        assert!(!apis.contains(&"not.a.group/v1".to_string()));
    }

    #[test]
    fn json_round_trips_through_tera_values() {
        let json = serde_json::json!({"a": [1, -2, 2.5, "x", null, true], "b": {"c": {}}});
        assert_eq!(value_to_json(&json_to_value(&json)), json);
    }
}

//! The release record in helm's JSON shape (`helm.sh/helm/v4/pkg/release/v1.Release`), so
//! helm reads the releases rudder writes and rudder reads helm's.
//!
//! Field names, omission rules and encodings follow helm: times are RFC 3339 with
//! nanoseconds and zero times are left out, chart files carry their bytes base64-encoded,
//! `chart.lock`, `chart.values`, `chart.schema` and `chart.files` are always present (as
//! `null` when empty), and `info.status` uses helm's spellings (`pending-upgrade`, …).

use std::fmt;
use std::str::FromStr;

use base64::Engine as _;
use chrono::{DateTime, FixedOffset, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::chart::{Chart, ChartFile, Metadata};
use crate::values::Values;

/// A release's state, spelled as helm spells it in records and in the Secret's `status` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Status {
    #[default]
    Unknown,
    Deployed,
    Uninstalled,
    Superseded,
    Failed,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
}

impl Status {
    /// helm's spelling (`pending-install`).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// Whether an operation is under way (`pending-*` or `uninstalling`).
    pub fn is_pending(self) -> bool {
        matches!(
            self,
            Status::PendingInstall
                | Status::PendingUpgrade
                | Status::PendingRollback
                | Status::Uninstalling
        )
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Status {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        Ok(match text {
            "" | "unknown" => Status::Unknown,
            "deployed" => Status::Deployed,
            "uninstalled" => Status::Uninstalled,
            "superseded" => Status::Superseded,
            "failed" => Status::Failed,
            "uninstalling" => Status::Uninstalling,
            "pending-install" => Status::PendingInstall,
            "pending-upgrade" => Status::PendingUpgrade,
            "pending-rollback" => Status::PendingRollback,
            other => return Err(format!("unknown release status `{other}`")),
        })
    }
}

impl Serialize for Status {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Status {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A point in time as Go's `time.Time` writes it in JSON (RFC 3339, nanoseconds with
/// trailing zeros trimmed). Go's zero time and empty strings read as "no time".
pub type Time = DateTime<FixedOffset>;

/// The current time, in UTC.
pub fn now() -> Time {
    Utc::now().fixed_offset()
}

/// Formats like Go's `time.RFC3339Nano`.
pub fn format_time(t: &Time) -> String {
    let base = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    let fraction = if nanos == 0 {
        String::new()
    } else {
        let digits = format!("{nanos:09}");
        format!(".{}", digits.trim_end_matches('0'))
    };
    let offset = t.offset().local_minus_utc();
    let zone = if offset == 0 {
        "Z".to_string()
    } else {
        let sign = if offset < 0 { '-' } else { '+' };
        let abs = offset.abs();
        format!("{sign}{:02}:{:02}", abs / 3600, (abs % 3600) / 60)
    };
    format!("{base}{fraction}{zone}")
}

mod opt_time {
    use super::{Time, format_time};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &Option<Time>, s: S) -> Result<S::Ok, S::Error> {
        match t {
            Some(t) => s.serialize_str(&format_time(t)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Time>, D::Error> {
        let text = Option::<String>::deserialize(d)?;
        match text.as_deref() {
            None | Some("") => Ok(None),
            Some(text) => {
                let t = chrono::DateTime::parse_from_rfc3339(text)
                    .map_err(|e| serde::de::Error::custom(format!("invalid time {text:?}: {e}")))?;
                // Go's zero time (0001-01-01T00:00:00Z) means "never".
                Ok((t.timestamp() != super::GO_ZERO_TIME).then_some(t))
            }
        }
    }
}

/// Seconds since the Unix epoch of Go's zero `time.Time`.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// Bytes as Go's `encoding/json` writes `[]byte`: a base64 string, `null` when nil.
mod b64 {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(data: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(data))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map_err(|e| serde::de::Error::custom(format!("invalid base64 data: {e}")))
    }

    pub mod opt {
        use super::*;

        pub fn serialize<S: Serializer>(data: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
            match data {
                Some(d) => super::serialize(d, s),
                None => s.serialize_none(),
            }
        }

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
            let text = Option::<String>::deserialize(d)?;
            text.map(|t| {
                base64::engine::general_purpose::STANDARD
                    .decode(t.as_bytes())
                    .map_err(|e| serde::de::Error::custom(format!("invalid base64 data: {e}")))
            })
            .transpose()
        }
    }
}

fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `info`: when and how the revision was deployed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Info {
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub first_deployed: Option<Time>,
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub last_deployed: Option<Time>,
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub deleted: Option<Time>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default)]
    pub status: Status,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// helm's `resources` (filled by `status --show-resources`, never stored by rudder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<serde_json::Value>,
}

/// A chart file in a release record (`{"name": …, "data": <base64>}`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct File {
    #[serde(default)]
    pub name: String,
    #[serde(default, with = "b64")]
    pub data: Vec<u8>,
    /// helm 4 records modification times; kept when reading a helm-written record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modtime: Option<serde_json::Value>,
}

impl From<&ChartFile> for File {
    fn from(f: &ChartFile) -> Self {
        File {
            name: f.name.clone(),
            data: f.data.clone(),
            modtime: None,
        }
    }
}

/// The chart as a release records it: the top chart only (helm does not store subcharts).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReleaseChart {
    #[serde(default)]
    pub metadata: Option<Metadata>,
    #[serde(default)]
    pub lock: Option<serde_json::Value>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub templates: Vec<File>,
    #[serde(default)]
    pub values: Option<Values>,
    #[serde(default, with = "b64::opt")]
    pub schema: Option<Vec<u8>>,
    #[serde(default, deserialize_with = "null_as_default")]
    pub files: Vec<File>,
}

impl ReleaseChart {
    /// The record of `chart` (its default values, templates, schema and files).
    pub fn from_chart(chart: &Chart) -> Self {
        ReleaseChart {
            metadata: Some(chart.metadata.clone()),
            lock: chart
                .lock
                .as_ref()
                .and_then(|l| serde_json::to_value(l).ok()),
            templates: chart.templates.iter().map(File::from).collect(),
            values: Some(chart.values.clone()),
            schema: chart.schema.clone(),
            files: chart.files.iter().map(File::from).collect(),
        }
    }

    /// `NAME-VERSION`, as `helm list` shows it.
    pub fn name_version(&self) -> String {
        match &self.metadata {
            Some(m) => format!("{}-{}", m.name, m.version),
            None => "MISSING".into(),
        }
    }

    /// The chart's `appVersion` (empty when unset).
    pub fn app_version(&self) -> String {
        self.metadata
            .as_ref()
            .and_then(|m| m.app_version.clone())
            .unwrap_or_default()
    }
}

/// When a hook last ran and how it ended.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookExecution {
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Time>,
    #[serde(default, with = "opt_time", skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Time>,
    /// `Unknown`, `Running`, `Succeeded`, `Failed` (empty before the first run).
    #[serde(default)]
    pub phase: String,
}

/// A hook as a release records it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HookRecord {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// Chart-relative template path (`mychart/templates/job.yaml`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub events: Vec<String>,
    #[serde(default)]
    pub last_run: HookExecution,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub weight: i64,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub delete_policies: Vec<String>,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub output_log_policies: Vec<String>,
}

fn is_zero(n: &i64) -> bool {
    *n == 0
}

/// One revision of a release, as stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Release {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default)]
    pub info: Info,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chart: Option<ReleaseChart>,
    /// The user-supplied values (`helm get values`).
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Values::is_empty"
    )]
    pub config: Values,
    /// The rendered, non-hook manifests (`helm get manifest`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    #[serde(
        default,
        deserialize_with = "null_as_default",
        skip_serializing_if = "Vec::is_empty"
    )]
    pub hooks: Vec<HookRecord>,
    /// The revision number.
    #[serde(default, skip_serializing_if = "is_zero_u64")]
    pub version: u64,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// `ssa` (rudder always applies server-side) or `csa`; empty in records of helm 3.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apply_method: String,
}

fn is_zero_u64(n: &u64) -> bool {
    *n == 0
}

/// Why a stored record could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("the release data is not base64: {0}")]
    Base64(#[from] base64::DecodeError),
    #[error("the release data is not valid gzip: {0}")]
    Gzip(#[from] std::io::Error),
    #[error("the release data is not a helm release record: {0}")]
    Json(#[from] serde_json::Error),
}

impl Release {
    /// `chart-version` (`helm list`'s CHART column).
    pub fn chart_name_version(&self) -> String {
        self.chart
            .as_ref()
            .map(ReleaseChart::name_version)
            .unwrap_or_else(|| "MISSING".into())
    }

    /// The chart's app version, empty when unset.
    pub fn app_version(&self) -> String {
        self.chart
            .as_ref()
            .map(ReleaseChart::app_version)
            .unwrap_or_default()
    }

    /// The record as helm stores it in a Secret's `data.release`: base64 of gzip of JSON.
    pub fn encode(&self) -> Vec<u8> {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write as _;
        let json = serde_json::to_vec(self).expect("release records serialize to JSON");
        let mut gz = GzEncoder::new(Vec::new(), Compression::best());
        gz.write_all(&json).expect("writing to memory");
        let zipped = gz.finish().expect("writing to memory");
        base64::engine::general_purpose::STANDARD
            .encode(zipped)
            .into_bytes()
    }

    /// Reads a record written by [`Release::encode`] or by helm (gzip is optional, as in
    /// helm's `decodeRelease`).
    pub fn decode(data: &[u8]) -> Result<Release, DecodeError> {
        Ok(serde_json::from_slice(&Self::record_json(data)?)?)
    }

    /// What `list` shows of a record — name, namespace, revision, `info` and the chart's
    /// metadata — without reading the manifest, hooks, values and chart files (which are
    /// left empty): listing many releases decodes each latest record.
    pub fn decode_summary(data: &[u8]) -> Result<Release, DecodeError> {
        #[derive(Deserialize)]
        struct ChartHead {
            #[serde(default)]
            metadata: Option<Metadata>,
        }
        #[derive(Deserialize)]
        struct Summary {
            #[serde(default)]
            name: String,
            #[serde(default)]
            info: Info,
            #[serde(default)]
            chart: Option<ChartHead>,
            #[serde(default)]
            version: u64,
            #[serde(default)]
            namespace: String,
        }
        let summary: Summary = serde_json::from_slice(&Self::record_json(data)?)?;
        Ok(Release {
            name: summary.name,
            info: summary.info,
            chart: summary.chart.map(|c| ReleaseChart {
                metadata: c.metadata,
                ..Default::default()
            }),
            version: summary.version,
            namespace: summary.namespace,
            ..Default::default()
        })
    }

    /// The JSON of a stored record: base64, then gzip when the gzip magic is there.
    fn record_json(data: &[u8]) -> Result<Vec<u8>, DecodeError> {
        use std::io::Read as _;
        let raw = base64::engine::general_purpose::STANDARD.decode(trim_ascii(data))?;
        Ok(if raw.starts_with(&[0x1f, 0x8b, 0x08]) {
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(raw.as_slice()).read_to_end(&mut out)?;
            out
        } else {
            raw
        })
    }
}

fn trim_ascii(data: &[u8]) -> &[u8] {
    data.trim_ascii()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summaries_read_what_list_shows_and_skip_the_rest() {
        let full = sample();
        let summary = Release::decode_summary(&full.encode()).unwrap();
        assert_eq!(
            (&summary.name, &summary.namespace, summary.version),
            (&full.name, &full.namespace, full.version)
        );
        assert_eq!(summary.info, full.info);
        assert_eq!(summary.chart_name_version(), full.chart_name_version());
        assert_eq!(summary.app_version(), full.app_version());
        assert!(summary.manifest.is_empty() && summary.config.is_empty());
    }

    fn sample() -> Release {
        let t = DateTime::parse_from_rfc3339("2026-11-23T19:11:40.123456Z").unwrap();
        Release {
            name: "web".into(),
            namespace: "apps".into(),
            version: 3,
            info: Info {
                first_deployed: Some(t),
                last_deployed: Some(t),
                deleted: None,
                description: "Upgrade complete".into(),
                status: Status::Deployed,
                notes: "hello".into(),
                resources: None,
            },
            chart: Some(ReleaseChart {
                metadata: Some(Metadata {
                    name: "webapp".into(),
                    version: "1.2.3".into(),
                    api_version: "v2".into(),
                    app_version: Some("4.5".into()),
                    ..Default::default()
                }),
                templates: vec![File {
                    name: "templates/cm.yaml".into(),
                    data: b"kind: ConfigMap".to_vec(),
                    modtime: None,
                }],
                values: Some(json!({"replicas": 1}).as_object().unwrap().clone()),
                ..Default::default()
            }),
            config: json!({"replicas": 2}).as_object().unwrap().clone(),
            manifest: "---\n# Source: webapp/templates/cm.yaml\nkind: ConfigMap\n".into(),
            hooks: vec![HookRecord {
                name: "migrate".into(),
                kind: "Job".into(),
                path: "webapp/templates/job.yaml".into(),
                manifest: "kind: Job".into(),
                events: vec!["pre-upgrade".into()],
                weight: -5,
                delete_policies: vec!["before-hook-creation".into()],
                ..Default::default()
            }],
            apply_method: "ssa".into(),
        }
    }

    #[test]
    fn encode_then_decode_gives_the_same_release() {
        let release = sample();
        let decoded = Release::decode(&release.encode()).unwrap();
        assert_eq!(decoded, release);
    }

    #[test]
    fn json_uses_helms_field_names_and_encodings() {
        let value = serde_json::to_value(sample()).unwrap();
        assert_eq!(
            value["info"]["first_deployed"],
            "2026-11-23T19:11:40.123456Z"
        );
        assert_eq!(value["info"]["status"], "deployed");
        assert!(
            value["info"].get("deleted").is_none(),
            "zero times are omitted"
        );
        assert_eq!(value["chart"]["metadata"]["appVersion"], "4.5");
        assert_eq!(value["chart"]["metadata"]["apiVersion"], "v2");
        assert_eq!(
            value["chart"]["templates"][0]["data"],
            base64::engine::general_purpose::STANDARD.encode("kind: ConfigMap")
        );
        assert_eq!(value["chart"]["schema"], serde_json::Value::Null);
        assert_eq!(value["chart"]["lock"], serde_json::Value::Null);
        assert_eq!(value["chart"]["files"], json!([]));
        assert_eq!(value["config"], json!({"replicas": 2}));
        assert_eq!(value["hooks"][0]["last_run"], json!({"phase": ""}));
        assert_eq!(value["hooks"][0]["weight"], -5);
        assert_eq!(value["version"], 3);
        assert_eq!(value["apply_method"], "ssa");
    }

    #[test]
    fn reads_a_record_as_helm_writes_it() {
        // The shape of a helm 4.1.4 record: zero `deleted`, nil config, plain (ungzipped) is
        // accepted too.
        let helm_json = json!({
            "name": "demo",
            "info": {
                "first_deployed": "2026-01-02T03:04:05.123456789+01:00",
                "last_deployed": "2026-01-02T03:04:05.123456789+01:00",
                "deleted": "0001-01-01T00:00:00Z",
                "description": "Install complete",
                "status": "pending-install"
            },
            "chart": {
                "metadata": {"name": "demo", "version": "0.1.0", "apiVersion": "v2",
                             "appVersion": "1.16.0", "type": "application"},
                "lock": null,
                "templates": [{"name": "templates/a.yaml", "data": "YQ==",
                               "modtime": "2026-01-01T00:00:00Z"}],
                "values": {"replicaCount": 1},
                "schema": null,
                "files": null
            },
            "config": null,
            "manifest": "---\n",
            "version": 1,
            "namespace": "default"
        });
        let encoded = base64::engine::general_purpose::STANDARD
            .encode(serde_json::to_vec(&helm_json).unwrap());
        let release = Release::decode(encoded.as_bytes()).unwrap();
        assert_eq!(release.info.status, Status::PendingInstall);
        assert_eq!(release.info.deleted, None);
        assert_eq!(
            format_time(&release.info.first_deployed.unwrap()),
            "2026-01-02T03:04:05.123456789+01:00"
        );
        assert_eq!(release.chart.as_ref().unwrap().templates[0].data, b"a");
        assert_eq!(release.chart_name_version(), "demo-0.1.0");
        assert_eq!(release.app_version(), "1.16.0");
        assert!(release.config.is_empty());
    }

    #[test]
    fn corrupt_data_is_a_clear_error() {
        let err = Release::decode(b"not base64 !!").unwrap_err();
        assert!(err.to_string().contains("not base64"), "{err}");
        let err = Release::decode(
            base64::engine::general_purpose::STANDARD
                .encode("{\"version\": \"x\"}")
                .as_bytes(),
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("not a helm release record"),
            "{err}"
        );
    }

    #[test]
    fn statuses_round_trip_through_helms_spelling() {
        for s in [
            Status::Unknown,
            Status::Deployed,
            Status::Uninstalled,
            Status::Superseded,
            Status::Failed,
            Status::Uninstalling,
            Status::PendingInstall,
            Status::PendingUpgrade,
            Status::PendingRollback,
        ] {
            assert_eq!(s.as_str().parse::<Status>().unwrap(), s);
        }
    }
}

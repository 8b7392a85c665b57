//! `rudder history NAME`: the revisions of a release as `helm history` prints them (table,
//! JSON or YAML), newest `--max` of them.

use serde_json::{Value, json};

use crate::action::config::Configuration;
use crate::action::lifecycle::{ReleaseError, ansic};
use crate::output::{OutputFormat, encode, table};
use crate::storage::release::format_time;

/// Prints the history of a release in `cluster.namespace`.
pub async fn history(
    config: &Configuration,
    name: &str,
    max: usize,
    format: OutputFormat,
) -> Result<String, ReleaseError> {
    let storage = &config.storage;
    let mut revisions = storage.history(name).await?;
    if max > 0 && revisions.len() > max {
        revisions.drain(..revisions.len() - max);
    }
    if format == OutputFormat::Table {
        let mut rows = vec![
            [
                "REVISION",
                "UPDATED",
                "STATUS",
                "CHART",
                "APP VERSION",
                "DESCRIPTION",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for r in &revisions {
            rows.push(vec![
                r.version.to_string(),
                r.info.last_deployed.as_ref().map(ansic).unwrap_or_default(),
                r.info.status.to_string(),
                r.chart_name_version(),
                r.app_version(),
                r.info.description.clone(),
            ]);
        }
        return Ok(table(&rows, None));
    }
    let items: Vec<Value> = revisions
        .iter()
        .map(|r| {
            json!({
                "revision": r.version,
                "updated": r.info.last_deployed.as_ref().map(format_time),
                "status": r.info.status.as_str(),
                "chart": r.chart_name_version(),
                "app_version": r.app_version(),
                "description": r.info.description,
            })
        })
        .collect();
    Ok(encode(&Value::Array(items), format))
}

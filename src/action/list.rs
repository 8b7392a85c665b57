//! `rudder list`: the latest revision of each release in a namespace (or every namespace
//! with `-A`), filtered by status and name like `helm list`.

use regex::Regex;
use serde_json::{Value, json};

use crate::action::config::Configuration;
use crate::action::lifecycle::{ReleaseError, go_time_string};
use crate::output::{OutputFormat, encode, table};
use crate::storage::{Release, Status};

/// The flags of `list`.
#[derive(Debug, Clone, Default)]
pub struct ListOptions {
    pub all_namespaces: bool,
    pub all: bool,
    pub deployed: bool,
    pub failed: bool,
    pub pending: bool,
    pub superseded: bool,
    pub uninstalled: bool,
    pub uninstalling: bool,
    pub filter: Option<String>,
    pub short: bool,
    pub format: OutputFormat,
}

/// The releases `list` shows, sorted by name (then namespace).
pub async fn releases(
    config: &Configuration,
    opts: &ListOptions,
) -> Result<Vec<Release>, ReleaseError> {
    let filter = opts
        .filter
        .as_deref()
        .map(Regex::new)
        .transpose()
        .map_err(|e| ReleaseError::Invalid(format!("--filter: invalid regular expression: {e}")))?;
    let any_state = opts.deployed
        || opts.failed
        || opts.pending
        || opts.superseded
        || opts.uninstalled
        || opts.uninstalling;
    let wanted = |s: Status| -> bool {
        if opts.all {
            return true;
        }
        if !any_state {
            return matches!(s, Status::Deployed | Status::Failed);
        }
        (opts.deployed && s == Status::Deployed)
            || (opts.failed && s == Status::Failed)
            || (opts.pending
                && matches!(
                    s,
                    Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
                ))
            || (opts.superseded && s == Status::Superseded)
            || (opts.uninstalled && s == Status::Uninstalled)
            || (opts.uninstalling && s == Status::Uninstalling)
    };
    let mut out: Vec<Release> = config
        .storage
        .list_latest(opts.all_namespaces, !(opts.all || opts.superseded))
        .await?
        .into_iter()
        .filter(|r| wanted(r.info.status))
        .filter(|r| filter.as_ref().is_none_or(|f| f.is_match(&r.name)))
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name).then(a.namespace.cmp(&b.namespace)));
    Ok(out)
}

/// What `list` prints.
pub async fn list(config: &Configuration, opts: &ListOptions) -> Result<String, ReleaseError> {
    let releases = releases(config, opts).await?;
    if opts.short {
        return Ok(match opts.format {
            OutputFormat::Table => releases.iter().map(|r| format!("{}\n", r.name)).collect(),
            f => encode(
                &Value::Array(releases.iter().map(|r| json!(r.name)).collect()),
                f,
            ),
        });
    }
    if opts.format == OutputFormat::Table {
        let mut rows = vec![
            [
                "NAME",
                "NAMESPACE",
                "REVISION",
                "UPDATED",
                "STATUS",
                "CHART",
                "APP VERSION",
            ]
            .map(String::from)
            .to_vec(),
        ];
        for r in &releases {
            rows.push(vec![
                r.name.clone(),
                r.namespace.clone(),
                r.version.to_string(),
                r.info
                    .last_deployed
                    .as_ref()
                    .map(go_time_string)
                    .unwrap_or_else(|| "-".into()),
                r.info.status.to_string(),
                r.chart_name_version(),
                r.app_version(),
            ]);
        }
        return Ok(table(&rows, None));
    }
    let items: Vec<Value> = releases
        .iter()
        .map(|r| {
            json!({
                "name": r.name,
                "namespace": r.namespace,
                "revision": r.version.to_string(),
                "updated": r.info.last_deployed.as_ref().map(go_time_string).unwrap_or_default(),
                "status": r.info.status.as_str(),
                "chart": r.chart_name_version(),
                "app_version": r.app_version(),
            })
        })
        .collect();
    Ok(encode(&Value::Array(items), opts.format))
}

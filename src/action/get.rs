//! `rudder get values|manifest|notes|hooks|all NAME`: what a stored revision holds, printed
//! as `helm get` prints it.

use serde_json::Value;

use crate::action::config::Configuration;
use crate::action::lifecycle::{ReleaseError, status_text};
use crate::output::{OutputFormat, encode};
use crate::storage::Release;
use crate::values::Values;

/// What `get` shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetWhat {
    Values,
    Manifest,
    Notes,
    Hooks,
    All,
}

/// The flags of `get`.
#[derive(Debug, Clone)]
pub struct GetOptions {
    pub what: GetWhat,
    pub name: String,
    /// 0 = latest.
    pub revision: u64,
    /// `get values --all`: the computed values, chart defaults included.
    pub all_values: bool,
    pub format: OutputFormat,
}

/// The values a revision was rendered with: chart defaults under the user's values.
pub fn computed_values(release: &Release) -> Values {
    let mut values = release.config.clone();
    if let Some(defaults) = release.chart.as_ref().and_then(|c| c.values.clone()) {
        crate::values::coalesce_user_tables(&mut values, defaults);
    }
    values
}

fn yaml_of(values: &Values) -> String {
    if values.is_empty() {
        return "null\n".into();
    }
    encode(&Value::Object(values.clone()), OutputFormat::Yaml)
}

/// Prints the requested part of a revision of a release in `cluster.namespace`.
pub async fn get(config: &Configuration, opts: &GetOptions) -> Result<String, ReleaseError> {
    let storage = &config.storage;
    let release = storage.get(&opts.name, opts.revision).await?;
    Ok(match opts.what {
        GetWhat::Values => {
            let (title, values) = if opts.all_values {
                ("COMPUTED VALUES:", computed_values(&release))
            } else {
                ("USER-SUPPLIED VALUES:", release.config.clone())
            };
            match opts.format {
                OutputFormat::Table => format!("{title}\n{}", yaml_of(&values)),
                f => encode(&Value::Object(values), f),
            }
        }
        // helm prints the stored manifest and a newline.
        GetWhat::Manifest => format!("{}\n", release.manifest),
        GetWhat::Notes => {
            if release.info.notes.is_empty() {
                String::new()
            } else {
                format!("NOTES:\n{}\n", release.info.notes.trim_end())
            }
        }
        GetWhat::Hooks => release
            .hooks
            .iter()
            .map(|h| format!("---\n# Source: {}\n{}\n", h.path, h.manifest))
            .collect(),
        GetWhat::All => {
            if opts.format != OutputFormat::Table {
                return Ok(encode(
                    &serde_json::to_value(&release).expect("releases serialize"),
                    opts.format,
                ));
            }
            let mut out = status_text(&release, false);
            // Notes go last, after the values, hooks and manifest.
            let notes_at = out.find("NOTES:\n").unwrap_or(out.len());
            let notes = out.split_off(notes_at);
            out.push_str(&format!(
                "USER-SUPPLIED VALUES:\n{}\n",
                yaml_of(&release.config)
            ));
            out.push_str(&format!(
                "COMPUTED VALUES:\n{}\n",
                yaml_of(&computed_values(&release))
            ));
            out.push_str("HOOKS:\n");
            for h in &release.hooks {
                out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.manifest));
            }
            out.push_str(&format!("MANIFEST:\n{}\n", release.manifest));
            out.push_str(&notes);
            out
        }
    })
}

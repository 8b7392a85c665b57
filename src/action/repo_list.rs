//! `rudder repo list [-o table|json|yaml]`: the configured repositories.

use crate::output::{OutputFormat, encode, table};
use crate::repo::{RepoError, RepoFile, RepoSettings, redacted};

/// The repository list, formatted; a password written in a URL is shown as `xxxxx`.
pub fn repo_list(settings: &RepoSettings, format: OutputFormat) -> Result<String, RepoError> {
    let file = RepoFile::load(&settings.repository_config)?;
    if file.repositories.is_empty() {
        return Err(RepoError::InvalidArgument("no repositories to show".into()));
    }
    Ok(match format {
        OutputFormat::Table => {
            let mut rows = vec![vec!["NAME".to_string(), "URL".to_string()]];
            rows.extend(
                file.repositories
                    .iter()
                    .map(|r| vec![r.name.clone(), redacted(&r.url)]),
            );
            table(&rows, None)
        }
        other => encode(
            &serde_json::Value::Array(
                file.repositories
                    .iter()
                    .map(|r| serde_json::json!({"name": r.name, "url": redacted(&r.url)}))
                    .collect(),
            ),
            other,
        ),
    })
}

//! `rudder repo list [-o table|json|yaml]`: the configured repositories.

use crate::repo::{RepoError, RepoFile, RepoSettings, redacted};

/// Output formats of listing commands (`-o`), as helm's.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Yaml,
}

impl OutputFormat {
    /// Renders JSON-shaped rows in this format (`Table` is handled by the caller).
    pub fn render(self, value: &serde_json::Value) -> String {
        match self {
            OutputFormat::Json => format!("{value}\n"),
            _ => crate::repo::helm_yaml(value),
        }
    }
}

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
            crate::repo::table(&rows, None)
        }
        other => other.render(&serde_json::Value::Array(
            file.repositories
                .iter()
                .map(|r| serde_json::json!({"name": r.name, "url": redacted(&r.url)}))
                .collect(),
        )),
    })
}

//! `rudder repo add NAME URL [--username --password --ca-file --cert-file --key-file
//! --insecure-skip-tls-verify --pass-credentials --force-update]`: checks that URL serves a
//! valid `index.yaml` (with those credentials and TLS settings), caches it, and records the
//! repository in `repositories.yaml`.

use super::repo_update::{cache_index, fetch_index};
use crate::repo::{RepoEntry, RepoError, RepoFile, RepoSettings, redacted};

/// What happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    /// The repository was added (or replaced with `--force-update`).
    Added,
    /// The same name with the same configuration was already there: nothing changed.
    AlreadyConfigured,
}

/// Adds `entry`; `force_update` replaces a repository of the same name.
pub async fn repo_add(
    entry: RepoEntry,
    force_update: bool,
    settings: &RepoSettings,
) -> Result<AddOutcome, RepoError> {
    if entry.name.contains('/') {
        return Err(RepoError::InvalidRepoName(
            entry.name.clone(),
            "it contains '/', please specify a different name without '/'".into(),
        ));
    }
    if entry.name.is_empty() {
        return Err(RepoError::InvalidRepoName(
            entry.name.clone(),
            "the name is empty".into(),
        ));
    }
    if entry.url.starts_with("oci://") {
        return Err(RepoError::InvalidArgument(format!(
            "\"{}\" is an OCI registry, not a chart repository: log in with `rudder registry login HOST` and use oci:// references directly",
            redacted(&entry.url)
        )));
    }
    let mut file = RepoFile::load(&settings.repository_config)?;
    if let Some(existing) = file.get(&entry.name) {
        if *existing == entry {
            return Ok(AddOutcome::AlreadyConfigured);
        }
        if !force_update {
            return Err(RepoError::RepoExists(entry.name.clone()));
        }
    }
    let (bytes, index) = fetch_index(&entry).await.map_err(|e| {
        RepoError::InvalidArgument(format!(
            "looks like \"{}\" is not a valid chart repository or cannot be reached: {e}",
            redacted(&entry.url)
        ))
    })?;
    cache_index(settings, &entry.name, &bytes, &index)?;
    file.update(entry);
    file.save(&settings.repository_config)?;
    Ok(AddOutcome::Added)
}

//! `rudder repo update [NAME…]`: downloads every (or the named) repository's `index.yaml`
//! in parallel, checks it parses, and replaces the cached copy. A repository that fails
//! keeps its old cache; the command reports which failed.

use crate::repo::http::{self, parse_url};
use crate::repo::index::url_join;
use crate::repo::{
    IndexFile, RepoEntry, RepoError, RepoFile, RepoSettings, create_private_dir, write_atomic,
};

/// Downloads and parses the index of `entry`; returns the raw bytes and the parsed index.
pub async fn fetch_index(entry: &RepoEntry) -> Result<(Vec<u8>, IndexFile), RepoError> {
    let url = parse_url(&url_join(entry.url.trim_end_matches('/'), "index.yaml"))?;
    let bytes = http::get(&url, &entry.http_options()).await?;
    let index = IndexFile::parse(&bytes, url.as_str())?;
    Ok((bytes, index))
}

/// Replaces the cached index (and chart name list) of repository `name`; the cache
/// directory is created private to its owner.
pub fn cache_index(
    settings: &RepoSettings,
    name: &str,
    bytes: &[u8],
    index: &IndexFile,
) -> Result<(), RepoError> {
    create_private_dir(&settings.repository_cache)?;
    write_atomic(&settings.index_path(name), bytes, false)?;
    let names: Vec<&str> = index.entries.keys().map(String::as_str).collect();
    write_atomic(
        &settings.charts_list_path(name),
        format!("{}\n", names.join("\n")).as_bytes(),
        false,
    )
}

/// The outcome for one repository.
#[derive(Debug)]
pub struct UpdateResult {
    pub name: String,
    pub url: String,
    pub result: Result<(), RepoError>,
}

/// Updates the named repositories (all when `names` is empty), in parallel.
pub async fn repo_update(
    names: &[String],
    settings: &RepoSettings,
) -> Result<Vec<UpdateResult>, RepoError> {
    let file = RepoFile::load(&settings.repository_config)?;
    if file.repositories.is_empty() {
        return Err(RepoError::InvalidArgument(
            "no repositories found. You must add one before updating".into(),
        ));
    }
    for name in names {
        if file.get(name).is_none() {
            return Err(RepoError::RepoNotFound(name.clone()));
        }
    }
    let chosen: Vec<&RepoEntry> = file
        .repositories
        .iter()
        .filter(|r| names.is_empty() || names.contains(&r.name))
        .collect();
    let updates = chosen.iter().map(|entry| async move {
        let result = async {
            let (bytes, index) = fetch_index(entry).await?;
            cache_index(settings, &entry.name, &bytes, &index)
        }
        .await;
        UpdateResult {
            name: entry.name.clone(),
            url: entry.url.clone(),
            result,
        }
    });
    Ok(futures::future::join_all(updates).await)
}

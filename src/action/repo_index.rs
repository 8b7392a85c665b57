//! `rudder repo index DIR [--url URL] [--merge FILE]`: writes `DIR/index.yaml` listing
//! every chart package in DIR (and its direct subdirectories), as helm's `repo index`.

use crate::repo::{IndexFile, RepoError};
use std::path::{Path, PathBuf};

/// What `repo index` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RepoIndexOptions {
    /// The directory holding the packages; `index.yaml` is written there.
    pub dir: PathBuf,
    /// The URL the directory will be served from (URLs are relative without it).
    pub url: Option<String>,
    /// An existing index whose entries are kept (new packages win on equal versions).
    pub merge: Option<PathBuf>,
}

/// Builds and writes the index; returns it (with warnings about skipped files).
pub fn repo_index(opts: &RepoIndexOptions) -> Result<IndexFile, RepoError> {
    let meta = std::fs::metadata(&opts.dir).map_err(|e| RepoError::read(&opts.dir, e))?;
    if !meta.is_dir() {
        return Err(RepoError::InvalidArgument(format!(
            "{} is not a directory",
            opts.dir.display()
        )));
    }
    let url = opts.url.as_deref().unwrap_or("").trim_end_matches('/');
    let mut index = IndexFile::from_dir(&opts.dir, url)?;
    if let Some(merge) = &opts.merge
        && Path::new(merge).exists()
    {
        let old = IndexFile::load(merge)?;
        index.merge(&old);
        index.warnings.extend(old.warnings);
    }
    index.write(&opts.dir.join("index.yaml"))?;
    Ok(index)
}

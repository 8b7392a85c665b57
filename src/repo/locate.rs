//! Chart references to charts: `repo/chart` (looked up in the repository's cached index,
//! version chosen by constraint, digest verified), `https://…/chart.tgz`, `oci://…` and
//! local paths. [`fetch_chart`] returns the verified bytes; [`locate_chart`] returns a
//! local file (downloads land in the content cache) for `template`, `install`, `upgrade`.

use super::http::{self, HttpOptions};
use super::index::{IndexFile, resolve_chart_url};
use super::{RepoError, RepoFile, RepoSettings, create_private_dir, sha256_hex, write_atomic};
use crate::chart;
use crate::registry::{self, RegistryOptions};
use std::path::{Path, PathBuf};

/// How to find and download a chart.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LocateOptions {
    /// Version constraint (`--version`); the newest stable version when `None`.
    pub version: Option<String>,
    /// Consider pre-release versions when no constraint is given (`--devel`).
    pub devel: bool,
    /// Credentials and TLS for a chart URL or `--repo` URL, overriding any configured
    /// repository's.
    pub http: Option<HttpOptions>,
    /// `--repo URL`: look the chart name up in this repository's index directly.
    pub repo_url: Option<String>,
    /// Registry options for `oci://` references.
    pub registry: RegistryOptions,
}

impl LocateOptions {
    /// The version constraint to resolve: `--version`, else with `--devel` helm's
    /// `>0.0.0-0` (the newest version, pre-releases included), else none (the newest
    /// stable version).
    pub fn constraint(&self) -> Option<&str> {
        self.version.as_deref().or(self.devel.then_some(">0.0.0-0"))
    }
}

/// A downloaded, verified chart package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    pub bytes: Vec<u8>,
    /// `name-version.tgz`.
    pub file_name: String,
    pub name: String,
    pub version: String,
    /// Where it came from (URL or `oci://` reference with tag).
    pub source: String,
    /// sha256 of the package, lowercase hex.
    pub digest: String,
}

/// Where the chart `reference` is on disk, downloading it into the content cache when it
/// is a repository reference, URL, `oci://` reference or (with `--repo`) a chart name.
/// Local paths are returned as they are. This is the one resolution behind every command
/// that takes a chart argument.
pub async fn locate_chart(
    reference: &str,
    opts: &LocateOptions,
    settings: &RepoSettings,
) -> Result<PathBuf, RepoError> {
    if is_remote(reference, opts) {
        let fetched = fetch_chart(reference, opts, settings).await?;
        let path = cached_path(settings, &fetched.name, &fetched.version, &fetched.digest);
        if !path.exists() {
            create_private_dir(&settings.content_cache)?;
            write_atomic(&path, &fetched.bytes, false)?;
        }
        return Ok(path);
    }
    let path = Path::new(reference);
    if path.exists() {
        return Ok(path.to_path_buf());
    }
    Err(not_found(reference))
}

fn is_remote(reference: &str, opts: &LocateOptions) -> bool {
    if opts.repo_url.is_some()
        || reference.starts_with("oci://")
        || reference.starts_with("http://")
        || reference.starts_with("https://")
    {
        return true;
    }
    // `repo/chart` unless a local path of that name exists.
    !Path::new(reference).exists() && is_repo_reference(reference)
}

fn is_repo_reference(reference: &str) -> bool {
    let mut parts = reference.split('/');
    matches!(
        (parts.next(), parts.next(), parts.next()),
        (Some(r), Some(c), None) if !r.is_empty() && !c.is_empty() && r != "." && r != ".."
    )
}

fn not_found(reference: &str) -> RepoError {
    RepoError::InvalidReference(format!(
        "chart \"{reference}\" not found: it is not a local chart path, a URL, an oci:// reference or a repo/chart name"
    ))
}

fn cached_path(settings: &RepoSettings, name: &str, version: &str, digest: &str) -> PathBuf {
    let short = &digest[..digest.len().min(16)];
    settings
        .content_cache
        .join(format!("{name}-{version}-{short}.tgz"))
}

/// Downloads the chart `reference` (`repo/chart`, a chart URL, `oci://…`, or a chart name
/// with `--repo`) and verifies it: the index digest when there is one, and that the bytes
/// are a loadable chart.
pub async fn fetch_chart(
    reference: &str,
    opts: &LocateOptions,
    settings: &RepoSettings,
) -> Result<Fetched, RepoError> {
    if reference.starts_with("oci://") {
        let pulled = registry::pull(
            reference,
            opts.constraint(),
            &opts.registry,
            &settings.registry_config,
        )
        .await?;
        return finish(pulled.bytes, &pulled.source, None);
    }
    if let Some(repo_url) = &opts.repo_url {
        // Credentials belong to the repository's origin: a chart URL on another host gets
        // none unless --pass-credentials (helm's CVE-2021-32690).
        let http_opts = HttpOptions {
            credentials_for: Some(http::parse_url(repo_url)?),
            ..opts.http.clone().unwrap_or_default()
        };
        let index_url = http::parse_url(&super::index::url_join(repo_url, "index.yaml"))?;
        let bytes = http::get(&index_url, &http_opts).await?;
        let index = IndexFile::parse(&bytes, index_url.as_str())?;
        return from_index(
            &index, repo_url, reference, opts, &http_opts, repo_url, settings,
        )
        .await;
    }
    if reference.starts_with("http://") || reference.starts_with("https://") {
        let url = http::parse_url(reference)?;
        let http_opts = match &opts.http {
            Some(h) => h.clone(),
            None => {
                let repos = RepoFile::load(&settings.repository_config)?;
                repos
                    .repositories
                    .iter()
                    .find(|r| {
                        !r.url.is_empty() && reference.starts_with(r.url.trim_end_matches('/'))
                    })
                    .map(|r| r.http_options())
                    .unwrap_or_default()
            }
        };
        let bytes = http::get(&url, &http_opts).await?;
        return finish(bytes, url.as_str(), None);
    }
    if !is_repo_reference(reference) {
        return Err(not_found(reference));
    }
    let (repo_name, chart_name) = reference.split_once('/').expect("checked above");
    let repos = RepoFile::load(&settings.repository_config)?;
    let entry = repos
        .get(repo_name)
        .ok_or_else(|| RepoError::RepoNotFound(repo_name.to_string()))?;
    let index = load_cached_index(settings, repo_name)?;
    let mut http_opts = entry.http_options();
    if let Some(over) = &opts.http {
        http_opts = HttpOptions {
            credentials_for: http_opts.credentials_for.clone(),
            ..over.clone()
        };
    }
    let origin = format!("repository \"{repo_name}\"");
    from_index(
        &index, &entry.url, chart_name, opts, &http_opts, &origin, settings,
    )
    .await
}

/// The cached index of repository `name`, with a hint to run `repo update` when missing.
pub(crate) fn load_cached_index(
    settings: &RepoSettings,
    name: &str,
) -> Result<IndexFile, RepoError> {
    let path = settings.index_path(name);
    if !path.exists() {
        return Err(RepoError::InvalidArgument(format!(
            "no cached index for repository \"{name}\" at {}: run `rudder repo update {name}`",
            path.display()
        )));
    }
    IndexFile::load(&path)
}

async fn from_index(
    index: &IndexFile,
    repo_url: &str,
    chart_name: &str,
    opts: &LocateOptions,
    http_opts: &HttpOptions,
    origin: &str,
    settings: &RepoSettings,
) -> Result<Fetched, RepoError> {
    let cv = index.get(chart_name, opts.version.as_deref(), opts.devel, origin)?;
    let first = cv.urls.first().ok_or_else(|| RepoError::InvalidIndex {
        origin: origin.to_string(),
        reason: format!("chart {} {} has no download URL", cv.name(), cv.version()),
    })?;
    let url = resolve_chart_url(repo_url, first)?;
    // A package already in the content cache with the index's digest needs no download.
    if let Some(expected) = cv.expected_digest() {
        let cached = cached_path(settings, cv.name(), cv.version(), expected);
        if let Ok(bytes) = std::fs::read(&cached)
            && sha256_hex(&bytes) == expected.to_ascii_lowercase()
        {
            return finish(bytes, url.as_str(), Some(expected));
        }
    }
    let bytes = http::get(&url, http_opts).await?;
    finish(bytes, url.as_str(), cv.expected_digest())
}

fn finish(bytes: Vec<u8>, source: &str, expected: Option<&str>) -> Result<Fetched, RepoError> {
    let digest = sha256_hex(&bytes);
    if let Some(expected) = expected
        && !expected.eq_ignore_ascii_case(&digest)
    {
        return Err(RepoError::DigestMismatch {
            url: source.to_string(),
            expected: expected.to_string(),
            actual: digest,
        });
    }
    let source = super::redacted(source);
    let loaded = chart::load_archive(&bytes, &source)?;
    let name = loaded.metadata.name.clone();
    let version = loaded.metadata.version.clone();
    Ok(Fetched {
        bytes,
        file_name: format!("{name}-{version}.tgz"),
        name,
        version,
        source,
        digest,
    })
}

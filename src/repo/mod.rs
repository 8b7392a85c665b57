//! Chart repositories: the `repositories.yaml` configuration and the index cache under the
//! XDG directories ([`RepoSettings`]), helm's `index.yaml` format ([`index`]), the HTTP
//! client that fetches indexes and charts with each repository's credentials and TLS
//! settings ([`http`]), and [`locate_chart`], which turns a chart reference (`repo/chart`,
//! a URL, `oci://…` or a local path) into a verified local chart file.

pub mod file;
pub mod http;
pub mod index;
mod locate;
mod settings;

pub use file::{RepoEntry, RepoFile};
pub use http::HttpOptions;
pub use index::{ChartVersion, IndexFile};
pub use locate::{Fetched, LocateOptions, fetch_chart, locate_chart};
pub use settings::RepoSettings;

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Everything that can go wrong with repositories, indexes, downloads and registries. Each
/// message names the file, URL or repository at fault.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} is not a valid chart repository index: {reason}", redacted(.origin))]
    InvalidIndex { origin: String, reason: String },
    #[error("{} is not a valid repositories file: {reason}", path.display())]
    InvalidRepoFile { path: PathBuf, reason: String },
    #[error("no repository named \"{0}\" is configured (add it with `rudder repo add {0} URL`)")]
    RepoNotFound(String),
    #[error("repository name ({0}) already exists, please specify a different name")]
    RepoExists(String),
    #[error("invalid repository name \"{0}\": {1}")]
    InvalidRepoName(String, String),
    #[error("chart \"{chart}\" not found in {} (try `rudder repo update`)", redacted(.origin))]
    ChartNotFound { origin: String, chart: String },
    #[error(
        "no version of chart \"{chart}\" in {} matches \"{constraint}\"; available: {}",
        redacted(.origin),
        if available.is_empty() { "none".to_string() } else { available.join(", ") }
    )]
    NoMatchingVersion {
        chart: String,
        origin: String,
        constraint: String,
        available: Vec<String>,
    },
    #[error("cannot reach {}: {}", redacted(.url), redacted(.reason))]
    Unreachable { url: String, reason: String },
    #[error("{} answered {status}{hint}", redacted(.url))]
    Status {
        url: String,
        status: String,
        hint: &'static str,
    },
    #[error("{} is larger than the {limit}-byte limit", redacted(.url))]
    TooLarge { url: String, limit: u64 },
    #[error(
        "digest mismatch for {}: the index says sha256:{expected}, the download is sha256:{actual}",
        redacted(.url)
    )]
    DigestMismatch {
        url: String,
        expected: String,
        actual: String,
    },
    #[error("cannot use {}: {reason}", path.display())]
    Tls { path: PathBuf, reason: String },
    #[error("{}", redacted(.0))]
    InvalidReference(String),
    #[error("{}", redacted(.0))]
    InvalidArgument(String),
    #[error(transparent)]
    Chart(#[from] crate::chart::ChartError),
    #[error(transparent)]
    Constraint(#[from] crate::chart::constraint::ConstraintError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
}

impl RepoError {
    pub(crate) fn read(path: &Path, source: std::io::Error) -> Self {
        RepoError::Read {
            path: path.to_path_buf(),
            source,
        }
    }

    pub(crate) fn write(path: &Path, source: std::io::Error) -> Self {
        RepoError::Write {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// `text` with the password of every URL in it replaced by `xxxxx`
/// (`https://user:xxxxx@host/charts`), as Go's `url.URL.Redacted` shows a URL. Everything
/// rudder prints or puts in an error about a repository URL goes through here: a password
/// given inside the URL is never shown.
pub fn redacted(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        // The authority ends where the path, query or fragment begins (or the URL ends).
        let end = tail
            .find(|c: char| {
                matches!(c, '/' | '?' | '#' | '"' | '\'' | '<' | '>' | '`') || c.is_whitespace()
            })
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@').and_then(|at| {
            let user = authority[..at].split_once(':')?.0;
            Some((user, &authority[at..]))
        }) {
            Some((user, host)) => {
                out.push_str(user);
                out.push_str(":xxxxx");
                out.push_str(host);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// Creates `dir` and its missing parents readable only by their owner (`0700`, whatever the
/// umask): the configuration and cache directories rudder keeps repositories, credentials
/// and downloads in. Directories that exist are left as they are.
pub fn create_private_dir(dir: &Path) -> Result<(), RepoError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| RepoError::write(dir, e))
}

/// Writes `bytes` to `path` through a temporary file in the same directory and a rename, so
/// readers never see half a file and a failure leaves the old file (or nothing) in place.
/// `private` restricts the file to its owner (for files holding credentials), and the
/// directories created for it too.
pub fn write_atomic(path: &Path, bytes: &[u8], private: bool) -> Result<(), RepoError> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    if private {
        create_private_dir(&dir)?;
    } else {
        fs::create_dir_all(&dir).map_err(|e| RepoError::write(&dir, e))?;
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".rudder-")
        .tempfile_in(&dir)
        .map_err(|e| RepoError::write(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = if private { 0o600 } else { 0o644 };
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(mode))
            .map_err(|e| RepoError::write(path, e))?;
    }
    #[cfg(not(unix))]
    let _ = private;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| RepoError::write(path, e))?;
    tmp.persist(path)
        .map_err(|e| RepoError::write(path, e.error))?;
    Ok(())
}

/// The current time as Go's `time.RFC3339Nano` writes it (what helm puts in `created`,
/// `generated`): UTC, fractional seconds without trailing zeros.
pub fn go_time_now() -> String {
    let text = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match text.split_once('.') {
        Some((seconds, fraction)) => {
            let digits = fraction.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{seconds}Z")
            } else {
                format!("{seconds}.{digits}Z")
            }
        }
        None => text,
    }
}

/// The sha256 of `bytes` in lowercase hex, as helm records digests in `index.yaml`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::redacted;

    #[test]
    fn passwords_in_urls_are_redacted_as_go_does() {
        for (text, shown) in [
            (
                "https://user:secret@host/charts",
                "https://user:xxxxx@host/charts",
            ),
            (
                "https://user:@host/charts",
                "https://user:xxxxx@host/charts",
            ),
            (
                "https://user:p%40ss@host:8443",
                "https://user:xxxxx@host:8443",
            ),
            ("https://user:p@ss@host/x?y", "https://user:xxxxx@host/x?y"),
            // No password: nothing to hide.
            ("https://user@host/charts", "https://user@host/charts"),
            ("https://host:8443/charts", "https://host:8443/charts"),
            (
                "oci://127.0.0.1:5000/charts/app@sha256:abc",
                "oci://127.0.0.1:5000/charts/app@sha256:abc",
            ),
            // Every URL in a message.
            (
                "cannot reach \"http://a:b@h/x\": redirected to https://c:d@e:1/y",
                "cannot reach \"http://a:xxxxx@h/x\": redirected to https://c:xxxxx@e:1/y",
            ),
            ("no URL here: user:pass@host", "no URL here: user:pass@host"),
        ] {
            assert_eq!(redacted(text), shown, "{text}");
        }
    }
}

//! `repositories.yaml`: the configured chart repositories, in helm's format (so a helm
//! user's file reads as is): name, URL, credentials and TLS settings of each.

use super::{RepoError, write_atomic};
use crate::output::yaml as helm_yaml;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// One configured repository.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoEntry {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub url: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub password: String,
    #[serde(rename = "certFile", default)]
    pub cert_file: String,
    #[serde(rename = "keyFile", default)]
    pub key_file: String,
    #[serde(rename = "caFile", default)]
    pub ca_file: String,
    #[serde(default)]
    pub insecure_skip_tls_verify: bool,
    #[serde(default)]
    pub pass_credentials_all: bool,
}

impl RepoEntry {
    /// The HTTP options to talk to this repository with.
    pub fn http_options(&self) -> super::HttpOptions {
        let opt = |s: &String| (!s.is_empty()).then(|| s.clone());
        super::HttpOptions {
            username: opt(&self.username),
            password: opt(&self.password),
            ca_file: opt(&self.ca_file).map(Into::into),
            cert_file: opt(&self.cert_file).map(Into::into),
            key_file: opt(&self.key_file).map(Into::into),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            pass_credentials_all: self.pass_credentials_all,
            credentials_for: reqwest::Url::parse(&self.url).ok(),
        }
    }
}

/// The whole `repositories.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepoFile {
    #[serde(rename = "apiVersion", default)]
    pub api_version: String,
    #[serde(default)]
    pub generated: String,
    #[serde(default)]
    pub repositories: Vec<RepoEntry>,
}

impl Default for RepoFile {
    fn default() -> Self {
        RepoFile {
            api_version: "v1".to_string(),
            generated: crate::repo::go_time_now(),
            repositories: Vec::new(),
        }
    }
}

impl RepoFile {
    /// Reads `path`; a missing file is an empty configuration.
    pub fn load(path: &Path) -> Result<RepoFile, RepoError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(RepoFile::default()),
            Err(e) => return Err(RepoError::read(path, e)),
        };
        if text.trim().is_empty() {
            return Ok(RepoFile::default());
        }
        serde_yaml::from_str(&text).map_err(|e| RepoError::InvalidRepoFile {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
    }

    /// Writes the file atomically, readable only by its owner (it may hold passwords).
    pub fn save(&self, path: &Path) -> Result<(), RepoError> {
        let json = serde_json::to_value(self).expect("repositories serialize to JSON");
        write_atomic(path, helm_yaml(&json).as_bytes(), true)
    }

    /// The repository called `name`.
    pub fn get(&self, name: &str) -> Option<&RepoEntry> {
        self.repositories.iter().find(|r| r.name == name)
    }

    /// Adds `entry`, replacing a repository of the same name.
    pub fn update(&mut self, entry: RepoEntry) {
        match self.repositories.iter_mut().find(|r| r.name == entry.name) {
            Some(existing) => *existing = entry,
            None => self.repositories.push(entry),
        }
    }

    /// Removes the repository called `name`; whether it was there.
    pub fn remove(&mut self, name: &str) -> bool {
        let before = self.repositories.len();
        self.repositories.retain(|r| r.name != name);
        before != self.repositories.len()
    }

    /// The repository whose URL is `url` (trailing slashes ignored), as `@alias`-less
    /// dependencies and chart URLs are matched to their credentials.
    pub fn find_by_url(&self, url: &str) -> Option<&RepoEntry> {
        let url = url.trim_end_matches('/');
        self.repositories
            .iter()
            .find(|r| r.url.trim_end_matches('/') == url)
    }
}

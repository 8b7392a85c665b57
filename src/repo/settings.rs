//! Where rudder keeps repository configuration, caches and registry credentials: the XDG
//! base directories, overridable per file or per directory by environment variables (the
//! counterparts of helm's `HELM_*` variables).
//!
//! | variable | default |
//! | --- | --- |
//! | `RUDDER_CONFIG_HOME` | `$XDG_CONFIG_HOME/rudder`, else `~/.config/rudder` |
//! | `RUDDER_CACHE_HOME` | `$XDG_CACHE_HOME/rudder`, else `~/.cache/rudder` |
//! | `RUDDER_REPOSITORY_CONFIG` | `$RUDDER_CONFIG_HOME/repositories.yaml` |
//! | `RUDDER_REPOSITORY_CACHE` | `$RUDDER_CACHE_HOME/repository` |
//! | `RUDDER_CONTENT_CACHE` | `$RUDDER_CACHE_HOME/content` |
//! | `RUDDER_REGISTRY_CONFIG` | `$RUDDER_CONFIG_HOME/registry/config.json` |

use std::path::{Path, PathBuf};

/// The files and directories repository and registry commands read and write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoSettings {
    /// `repositories.yaml`: the configured repositories and their credentials.
    pub repository_config: PathBuf,
    /// Downloaded indexes (`<name>-index.yaml`, `<name>-charts.txt`).
    pub repository_cache: PathBuf,
    /// Downloaded charts, named by their sha256 digest.
    pub content_cache: PathBuf,
    /// Registry credentials written by `registry login` (docker's `config.json` format).
    pub registry_config: PathBuf,
}

impl RepoSettings {
    /// Settings from the environment (see the module documentation).
    pub fn from_env() -> Self {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let home = var("HOME").unwrap_or_else(|| PathBuf::from("."));
        let config_home = var("RUDDER_CONFIG_HOME").unwrap_or_else(|| {
            var("XDG_CONFIG_HOME")
                .unwrap_or_else(|| home.join(".config"))
                .join("rudder")
        });
        let cache_home = var("RUDDER_CACHE_HOME").unwrap_or_else(|| {
            var("XDG_CACHE_HOME")
                .unwrap_or_else(|| home.join(".cache"))
                .join("rudder")
        });
        let mut settings = RepoSettings::under(&config_home, &cache_home);
        if let Some(p) = var("RUDDER_REPOSITORY_CONFIG") {
            settings.repository_config = p;
        }
        if let Some(p) = var("RUDDER_REPOSITORY_CACHE") {
            settings.repository_cache = p;
        }
        if let Some(p) = var("RUDDER_CONTENT_CACHE") {
            settings.content_cache = p;
        }
        if let Some(p) = var("RUDDER_REGISTRY_CONFIG") {
            settings.registry_config = p;
        }
        settings
    }

    /// Settings with everything under one configuration and one cache directory.
    pub fn under(config_home: &Path, cache_home: &Path) -> Self {
        RepoSettings {
            repository_config: config_home.join("repositories.yaml"),
            repository_cache: cache_home.join("repository"),
            content_cache: cache_home.join("content"),
            registry_config: config_home.join("registry").join("config.json"),
        }
    }

    /// The cached index of repository `name`.
    pub fn index_path(&self, name: &str) -> PathBuf {
        self.repository_cache.join(format!("{name}-index.yaml"))
    }

    /// The cached list of chart names of repository `name`.
    pub fn charts_list_path(&self, name: &str) -> PathBuf {
        self.repository_cache.join(format!("{name}-charts.txt"))
    }
}

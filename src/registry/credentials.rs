//! Registry credentials written by `registry login`: docker's `config.json` format
//! (`{"auths": {"host:port": {"auth": base64("user:password")}}}`), the file helm keeps
//! too, written atomically and readable only by its owner.

use super::RegistryError;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use std::path::{Path, PathBuf};

/// A username and password for one registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// The credentials file.
#[derive(Debug, Clone)]
pub struct CredentialsStore {
    path: PathBuf,
    doc: serde_json::Map<String, serde_json::Value>,
}

impl CredentialsStore {
    /// Reads `path`; a missing file is an empty store.
    pub fn load(path: &Path) -> Result<CredentialsStore, RegistryError> {
        let doc = match std::fs::read(path) {
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => serde_json::Map::new(),
            Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(serde_json::Value::Object(map)) => map,
                Ok(_) => {
                    return Err(RegistryError::InvalidConfig {
                        path: path.to_path_buf(),
                        reason: "it is not a JSON object".into(),
                    });
                }
                Err(e) => {
                    return Err(RegistryError::InvalidConfig {
                        path: path.to_path_buf(),
                        reason: e.to_string(),
                    });
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => serde_json::Map::new(),
            Err(e) => {
                return Err(RegistryError::Read {
                    path: path.to_path_buf(),
                    source: e,
                });
            }
        };
        Ok(CredentialsStore {
            path: path.to_path_buf(),
            doc,
        })
    }

    /// The stored credentials of `registry` (`host[:port]`).
    pub fn get(&self, registry: &str) -> Option<Credentials> {
        let entry = self.doc.get("auths")?.get(registry)?;
        let encoded = entry.get("auth")?.as_str()?;
        let decoded = String::from_utf8(STANDARD.decode(encoded).ok()?).ok()?;
        let (username, password) = decoded.split_once(':')?;
        Some(Credentials {
            username: username.to_string(),
            password: password.to_string(),
        })
    }

    /// Stores credentials for `registry` and writes the file.
    pub fn set(&mut self, registry: &str, creds: &Credentials) -> Result<(), RegistryError> {
        let auths = self
            .doc
            .entry("auths")
            .or_insert_with(|| serde_json::Value::Object(Default::default()));
        if !auths.is_object() {
            *auths = serde_json::Value::Object(Default::default());
        }
        let encoded = STANDARD.encode(format!("{}:{}", creds.username, creds.password));
        auths
            .as_object_mut()
            .expect("made an object")
            .insert(registry.to_string(), serde_json::json!({ "auth": encoded }));
        self.save()
    }

    /// Forgets `registry`'s credentials; fails when there were none.
    pub fn remove(&mut self, registry: &str) -> Result<(), RegistryError> {
        let removed = self
            .doc
            .get_mut("auths")
            .and_then(|a| a.as_object_mut())
            .and_then(|a| a.remove(registry))
            .is_some();
        if !removed {
            return Err(RegistryError::NotLoggedIn(registry.to_string()));
        }
        self.save()
    }

    fn save(&self) -> Result<(), RegistryError> {
        let mut text = serde_json::to_string_pretty(&self.doc).expect("JSON serializes");
        text.push('\n');
        crate::repo::write_atomic(&self.path, text.as_bytes(), true).map_err(|e| {
            RegistryError::Write {
                path: self.path.clone(),
                reason: e.to_string(),
            }
        })
    }
}

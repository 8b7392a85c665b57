//! The `memory` driver: records kept in this process only, as helm's memory driver (for
//! tests and for dry runs that must not touch a cluster's records). Clones share the same
//! records.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use super::{Driver, check_current};
use crate::storage::release::{self, Release};
use crate::storage::{Holder, StorageError, Stored};

#[derive(Clone)]
struct Entry {
    release: Release,
    holder: Option<Holder>,
    heartbeat: Option<String>,
    /// Bumped on every write: the token conditional updates compare.
    generation: u64,
}

/// (namespace, name, version) → record.
type Records = BTreeMap<(String, String, u64), Entry>;

/// Release records in memory.
#[derive(Clone, Default)]
pub struct MemoryDriver {
    records: Arc<Mutex<Records>>,
}

impl MemoryDriver {
    fn records(&self) -> std::sync::MutexGuard<'_, Records> {
        self.records.lock().expect("memory driver lock")
    }
}

fn key(namespace: &str, name: &str, version: u64) -> (String, String, u64) {
    (namespace.to_string(), name.to_string(), version)
}

#[async_trait::async_trait]
impl Driver for MemoryDriver {
    fn name(&self) -> &'static str {
        "Memory"
    }

    async fn history(&self, namespace: &str, name: &str) -> Result<Vec<Stored>, StorageError> {
        Ok(self
            .records()
            .iter()
            .filter(|((ns, n, _), _)| ns == namespace && n == name)
            .map(|(_, e)| Stored {
                release: e.release.clone(),
                holder: e.holder.clone(),
                heartbeat: e.heartbeat.clone(),
                token: Some(e.generation.to_string()),
            })
            .collect())
    }

    async fn list_latest(
        &self,
        namespace: Option<&str>,
        _skip_superseded: bool,
    ) -> Result<Vec<Release>, StorageError> {
        let records = self.records();
        let mut latest: BTreeMap<(&str, &str), &Release> = BTreeMap::new();
        for ((ns, name, _), e) in records.iter() {
            if namespace.is_none_or(|want| want == ns) {
                // Keys are ordered by version within a release: the last one wins.
                latest.insert((ns, name), &e.release);
            }
        }
        Ok(latest.into_values().cloned().collect())
    }

    async fn create(
        &self,
        namespace: &str,
        release: &Release,
        holder: Option<&Holder>,
    ) -> Result<(), StorageError> {
        let mut records = self.records();
        let key = key(namespace, &release.name, release.version);
        if records.contains_key(&key) {
            return Err(StorageError::exists(release));
        }
        records.insert(
            key,
            Entry {
                release: release.clone(),
                holder: holder.cloned(),
                heartbeat: holder.map(|_| release::format_time(&release::now())),
                generation: 1,
            },
        );
        Ok(())
    }

    async fn update(
        &self,
        namespace: &str,
        release: &Release,
        holder: Option<&Holder>,
        expect: Option<&str>,
    ) -> Result<(), StorageError> {
        let mut records = self.records();
        let key = key(namespace, &release.name, release.version);
        let current = records.get(&key).map(|e| e.generation.to_string());
        check_current(namespace, release, current.as_deref(), expect)?;
        let entry = records.get_mut(&key).expect("checked above");
        *entry = Entry {
            release: release.clone(),
            holder: holder.cloned(),
            heartbeat: holder.map(|_| release::format_time(&release::now())),
            generation: entry.generation + 1,
        };
        Ok(())
    }

    async fn heartbeat(
        &self,
        namespace: &str,
        name: &str,
        version: u64,
    ) -> Result<(), StorageError> {
        if let Some(e) = self.records().get_mut(&key(namespace, name, version)) {
            e.heartbeat = Some(release::format_time(&release::now()));
            e.generation += 1;
        }
        Ok(())
    }

    async fn delete(&self, namespace: &str, name: &str, version: u64) -> Result<(), StorageError> {
        self.records().remove(&key(namespace, name, version));
        Ok(())
    }
}

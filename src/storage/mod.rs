//! Release storage: the records of every revision of a release, in helm's format, kept by
//! a [`driver::Driver`] (Secrets by default; ConfigMaps, memory or PostgreSQL). [`Storage`]
//! is what actions use: one namespace's records over the chosen driver.
//!
//! Claiming a revision is an atomic create (two writers never both get the same revision)
//! or a conditional update of the latest record; the record of the revision an operation
//! holds names the holder and carries a heartbeat (rudder's bookkeeping, which helm
//! ignores), so a stuck pending revision can be told apart from one still being worked on.

pub mod driver;
pub mod holder;
pub mod release;

pub use driver::Driver;
pub use driver::kube::{PART_TYPE, PARTS_ANNOTATION, SECRET_TYPE};
pub use holder::Holder;
pub use release::{Info, Release, ReleaseChart, Status};

use std::sync::Arc;

use crate::kube::{Cluster, KubeError};

/// Why a release record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("release {name:?} not found in namespace {namespace:?}")]
    NotFound { name: String, namespace: String },
    #[error("release {name:?} has no revision {version} (revisions: {available})")]
    RevisionNotFound {
        name: String,
        version: u64,
        available: String,
    },
    #[error("another operation is in progress on {name} (started by {holder} at {started})")]
    InProgress {
        name: String,
        holder: String,
        started: String,
    },
    #[error("revision {version} of {name:?} was written by someone else first")]
    Exists { name: String, version: u64 },
    #[error("revision {version} of {name:?} changed while this operation was claiming it")]
    Conflict { name: String, version: u64 },
    #[error("namespace {namespace:?} not found (use --create-namespace to create it)")]
    NamespaceNotFound { namespace: String },
    #[error("the release record {record} in namespace {namespace:?} cannot be read: {source}")]
    Corrupt {
        record: String,
        namespace: String,
        source: release::DecodeError,
    },
    #[error("{0}")]
    Driver(String),
    #[error(transparent)]
    Kube(#[from] KubeError),
}

impl StorageError {
    /// Revision `release.version` of `release` was already written by someone else.
    pub fn exists(release: &Release) -> StorageError {
        StorageError::Exists {
            name: release.name.clone(),
            version: release.version,
        }
    }

    /// Revision `release.version` of `release` changed under a conditional write.
    pub fn conflict(release: &Release) -> StorageError {
        StorageError::Conflict {
            name: release.name.clone(),
            version: release.version,
        }
    }
}

/// A stored revision with the bookkeeping rudder keeps beside helm's record.
#[derive(Debug, Clone)]
pub struct Stored {
    pub release: Release,
    /// The operation holding this revision, if any.
    pub holder: Option<Holder>,
    /// The last heartbeat of that operation.
    pub heartbeat: Option<String>,
    /// The driver's version of the record, for conditional updates.
    pub token: Option<String>,
}

/// Revision `version` of `history` (the revisions of `name`);
/// [`StorageError::RevisionNotFound`] when it has none such.
pub fn find_revision<'a>(
    history: &'a [Release],
    name: &str,
    version: u64,
) -> Result<&'a Release, StorageError> {
    history
        .iter()
        .find(|r| r.version == version)
        .ok_or_else(|| StorageError::RevisionNotFound {
            name: name.into(),
            version,
            available: history
                .iter()
                .map(|r| r.version.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The release records of one namespace, over a driver.
#[derive(Clone)]
pub struct Storage {
    driver: Arc<dyn Driver>,
    namespace: String,
}

impl Storage {
    /// The records of releases in `namespace`, in Secrets (helm's default driver).
    pub fn new(cluster: &Cluster, namespace: &str) -> Storage {
        Storage::with_driver(
            Arc::new(driver::kube::KubeDriver::secrets(cluster)),
            namespace,
        )
    }

    /// The records of releases in `namespace`, kept by `driver`.
    pub fn with_driver(driver: Arc<dyn Driver>, namespace: &str) -> Storage {
        Storage {
            driver,
            namespace: namespace.to_string(),
        }
    }

    /// The same records' driver, for another namespace.
    pub fn in_namespace(&self, namespace: &str) -> Storage {
        Storage::with_driver(self.driver.clone(), namespace)
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// helm's name for the driver (`Secret`, `ConfigMap`, `Memory`, `SQL`).
    pub fn driver_name(&self) -> &'static str {
        self.driver.name()
    }

    /// Every revision of `name`, oldest first, with rudder's bookkeeping. Empty when the
    /// release does not exist.
    pub async fn history_stored(&self, name: &str) -> Result<Vec<Stored>, StorageError> {
        self.driver.history(&self.namespace, name).await
    }

    /// Every revision of `name`, oldest first; [`StorageError::NotFound`] when there is none.
    pub async fn history(&self, name: &str) -> Result<Vec<Release>, StorageError> {
        let history: Vec<Release> = self
            .history_stored(name)
            .await?
            .into_iter()
            .map(|s| s.release)
            .collect();
        if history.is_empty() {
            return Err(self.not_found(name));
        }
        Ok(history)
    }

    /// [`StorageError::NotFound`] for `name`.
    pub fn not_found(&self, name: &str) -> StorageError {
        StorageError::NotFound {
            name: name.into(),
            namespace: self.namespace.clone(),
        }
    }

    /// One revision (0 = the latest).
    pub async fn get(&self, name: &str, version: u64) -> Result<Release, StorageError> {
        let history = self.history(name).await?;
        if version == 0 {
            return Ok(history.last().cloned().expect("history is not empty"));
        }
        find_revision(&history, name, version).cloned()
    }

    /// Writes a new revision held by `holder`; [`StorageError::Exists`] when someone else
    /// wrote that revision first.
    pub async fn create(
        &self,
        release: &Release,
        holder: Option<&Holder>,
    ) -> Result<(), StorageError> {
        self.driver.create(&self.namespace, release, holder).await
    }

    /// Rewrites a revision's record, held by no operation.
    pub async fn update(&self, release: &Release) -> Result<(), StorageError> {
        self.driver
            .update(&self.namespace, release, None, None)
            .await
    }

    /// Rewrites a revision's record as held by `holder`, provided it is still as read
    /// (`token`); [`StorageError::Conflict`] otherwise.
    pub async fn update_held(
        &self,
        release: &Release,
        holder: &Holder,
        token: Option<&str>,
    ) -> Result<(), StorageError> {
        self.driver
            .update(&self.namespace, release, Some(holder), token)
            .await
    }

    /// Refreshes the heartbeat of the operation holding a revision.
    pub async fn heartbeat(&self, name: &str, version: u64) -> Result<(), StorageError> {
        self.driver.heartbeat(&self.namespace, name, version).await
    }

    /// Deletes one revision's record.
    pub async fn delete(&self, name: &str, version: u64) -> Result<(), StorageError> {
        self.driver.delete(&self.namespace, name, version).await
    }

    /// Deletes the oldest of `versions` (the revisions of `name`, oldest first, with their
    /// status) beyond `max` (0 = unlimited), never the latest deployed one, as helm's
    /// `--history-max` does.
    pub async fn prune_versions(
        &self,
        name: &str,
        versions: &[(u64, Status)],
        max: usize,
    ) -> Result<(), StorageError> {
        if max == 0 || versions.len() <= max {
            return Ok(());
        }
        let last_deployed = versions
            .iter()
            .rev()
            .find(|(_, status)| *status == Status::Deployed)
            .map(|(v, _)| *v);
        let mut excess = versions.len() - max;
        let mut left = Vec::new();
        for (version, _) in versions {
            if excess == 0 || Some(*version) == last_deployed {
                left.push(*version);
                continue;
            }
            self.delete(name, *version).await?;
            excess -= 1;
        }
        // Whatever the driver kept for deleted revisions (orphaned parts), in one sweep.
        self.driver.sweep(&self.namespace, name, &left).await
    }

    /// Deletes the records of `versions` of `name`, in that order, and then whatever the
    /// driver keeps for them (uninstall without `--keep-history`).
    pub async fn purge(
        &self,
        name: &str,
        versions: impl IntoIterator<Item = u64>,
    ) -> Result<(), StorageError> {
        for version in versions {
            self.delete(name, version).await?;
        }
        self.driver.sweep(&self.namespace, name, &[]).await
    }

    /// The latest revision of every release in this namespace (every namespace with
    /// `all_namespaces`), as [`Release::decode_summary`] reads it.
    pub async fn list_latest(
        &self,
        all_namespaces: bool,
        skip_superseded: bool,
    ) -> Result<Vec<Release>, StorageError> {
        let namespace = (!all_namespaces).then_some(self.namespace.as_str());
        self.driver.list_latest(namespace, skip_superseded).await
    }
}

//! Storage drivers: where release records live, behind one trait as helm's `driver.Driver`.
//! `secret` (the default) and `configmap` keep one Kubernetes object per revision in the
//! release namespace, `memory` keeps records in this process (tests and dry runs), `sql`
//! keeps them in PostgreSQL in helm's table layout. The driver is chosen by `RUDDER_DRIVER`,
//! falling back to `HELM_DRIVER`, as helm does.

pub mod kube;
pub mod memory;
pub mod sql;
pub mod sql_tls;

use std::sync::Arc;

use super::{Holder, Release, StorageError, Stored};
use crate::kube::Cluster;

/// One place release records are kept. Every method names the namespace of the release it
/// concerns; `list_latest` may span every namespace.
///
/// Writes are atomic per record: `create` fails with [`StorageError::Exists`] when the
/// revision exists, and `update` with an `expect`ed token fails with
/// [`StorageError::Conflict`] when the record changed since it was read (the token is the
/// [`Stored::token`] of that read). That is what lets two clients race for a release and
/// exactly one win.
#[async_trait::async_trait]
pub trait Driver: Send + Sync {
    /// helm's name for the driver (`Secret`, `ConfigMap`, `Memory`, `SQL`).
    fn name(&self) -> &'static str;

    /// Every revision of `name`, oldest first, with rudder's bookkeeping; empty when the
    /// release does not exist.
    async fn history(&self, namespace: &str, name: &str) -> Result<Vec<Stored>, StorageError>;

    /// The latest revision of every release in `namespace` (every namespace when None), as
    /// [`Release::decode_summary`] reads it. With `skip_superseded` the driver may leave out
    /// superseded revisions (never the latest of a release).
    async fn list_latest(
        &self,
        namespace: Option<&str>,
        skip_superseded: bool,
    ) -> Result<Vec<Release>, StorageError>;

    /// Writes a new revision claimed by `holder` (when given).
    async fn create(
        &self,
        namespace: &str,
        release: &Release,
        holder: Option<&Holder>,
    ) -> Result<(), StorageError>;

    /// Rewrites a revision. `holder`: the operation now holding it (its heartbeat set to
    /// now), or None to clear any. `expect`: the token the record must still carry.
    async fn update(
        &self,
        namespace: &str,
        release: &Release,
        holder: Option<&Holder>,
        expect: Option<&str>,
    ) -> Result<(), StorageError>;

    /// Refreshes the heartbeat of the operation holding a revision.
    async fn heartbeat(
        &self,
        namespace: &str,
        name: &str,
        version: u64,
    ) -> Result<(), StorageError>;

    /// Deletes one revision's record (one already gone is no error).
    async fn delete(&self, namespace: &str, name: &str, version: u64) -> Result<(), StorageError>;

    /// Housekeeping once revisions were deleted: removes whatever the driver keeps beside
    /// the records of `name` that belongs to none of `keep`.
    async fn sweep(
        &self,
        _namespace: &str,
        _name: &str,
        _keep: &[u64],
    ) -> Result<(), StorageError> {
        Ok(())
    }
}

/// The rule of a conditional update, for drivers that check it themselves: the record must
/// exist (`current`: its token as read now, None when it is gone) and, when `expect` is
/// given, still carry that token. A record gone under a conditional update is a conflict
/// too: someone else got there first.
pub(crate) fn check_current(
    namespace: &str,
    release: &Release,
    current: Option<&str>,
    expect: Option<&str>,
) -> Result<(), StorageError> {
    let conflict = || StorageError::conflict(release);
    match (current, expect) {
        (None, Some(_)) => Err(conflict()),
        (None, None) => Err(StorageError::NotFound {
            name: release.name.clone(),
            namespace: namespace.to_string(),
        }),
        (Some(token), Some(expected)) if token != expected => Err(conflict()),
        _ => Ok(()),
    }
}

/// The driver named by `RUDDER_DRIVER` (else `HELM_DRIVER`; unset or empty: `secret`), for
/// releases on `cluster`. The sql driver's connection string comes from
/// `RUDDER_DRIVER_SQL_CONNECTION_STRING` (else `HELM_DRIVER_SQL_CONNECTION_STRING`).
pub async fn from_env(cluster: &Cluster) -> Result<Arc<dyn Driver>, StorageError> {
    let name = env_either("RUDDER_DRIVER", "HELM_DRIVER").unwrap_or_default();
    let connection = env_either(
        "RUDDER_DRIVER_SQL_CONNECTION_STRING",
        "HELM_DRIVER_SQL_CONNECTION_STRING",
    );
    named(&name, cluster, connection.as_deref()).await
}

fn env_either(first: &str, second: &str) -> Option<String> {
    std::env::var(first)
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| std::env::var(second).ok().filter(|v| !v.is_empty()))
}

/// The driver called `name` (helm's spellings: `secret`/`secrets`, `configmap`/`configmaps`,
/// `memory`, `sql`).
pub async fn named(
    name: &str,
    cluster: &Cluster,
    sql_connection: Option<&str>,
) -> Result<Arc<dyn Driver>, StorageError> {
    Ok(match name {
        "" | "secret" | "secrets" => Arc::new(kube::KubeDriver::secrets(cluster)),
        "configmap" | "configmaps" => Arc::new(kube::KubeDriver::config_maps(cluster)),
        "memory" => Arc::new(memory::MemoryDriver::default()),
        "sql" => {
            let connection = sql_connection.ok_or_else(|| {
                StorageError::Driver(
                    "the sql driver needs a connection string in RUDDER_DRIVER_SQL_CONNECTION_STRING (or HELM_DRIVER_SQL_CONNECTION_STRING)".into(),
                )
            })?;
            Arc::new(sql::SqlDriver::connect(connection).await?)
        }
        other => {
            return Err(StorageError::Driver(format!(
                "unknown storage driver {other:?} (RUDDER_DRIVER or HELM_DRIVER): expected secret, configmap, memory or sql"
            )));
        }
    })
}

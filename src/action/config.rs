//! What every release action works against: the cluster and the release storage chosen for
//! it (helm's `action.Configuration`).

use std::sync::Arc;

use crate::kube::Cluster;
use crate::storage::{Driver, Storage, StorageError};

/// A cluster connection and the release records of its namespace. It dereferences to the
/// cluster, so the cluster's methods are at hand.
#[derive(Clone)]
pub struct Configuration {
    pub cluster: Cluster,
    pub storage: Storage,
}

impl Configuration {
    /// Releases in Secrets of the cluster's namespace (helm's default driver).
    pub fn new(cluster: Cluster) -> Configuration {
        let storage = Storage::new(&cluster, &cluster.namespace);
        Configuration { cluster, storage }
    }

    /// Releases kept by `driver`.
    pub fn with_driver(cluster: Cluster, driver: Arc<dyn Driver>) -> Configuration {
        let storage = Storage::with_driver(driver, &cluster.namespace);
        Configuration { cluster, storage }
    }

    /// Releases kept by the driver `RUDDER_DRIVER` / `HELM_DRIVER` names.
    pub async fn from_env(cluster: Cluster) -> Result<Configuration, StorageError> {
        let driver = crate::storage::driver::from_env(&cluster).await?;
        Ok(Configuration::with_driver(cluster, driver))
    }

    /// The same cluster and driver, for another namespace.
    pub fn in_namespace(&self, namespace: &str) -> Configuration {
        Configuration {
            cluster: self.cluster.in_namespace(namespace),
            storage: self.storage.in_namespace(namespace),
        }
    }
}

impl std::ops::Deref for Configuration {
    type Target = Cluster;
    fn deref(&self) -> &Cluster {
        &self.cluster
    }
}

impl From<Cluster> for Configuration {
    fn from(cluster: Cluster) -> Configuration {
        Configuration::new(cluster)
    }
}

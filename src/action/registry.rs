//! `rudder registry login HOST [--username U] [--password P | --password-stdin]` and
//! `rudder registry logout HOST`: check and store, or forget, registry credentials.

use crate::registry::{self, RegistryOptions};
use crate::repo::{RepoError, RepoSettings};

/// Logs in to `host` (credentials are checked against the registry before being stored).
pub async fn login(
    host: &str,
    username: &str,
    password: &str,
    opts: &RegistryOptions,
    settings: &RepoSettings,
) -> Result<(), RepoError> {
    Ok(registry::login(host, username, password, opts, &settings.registry_config).await?)
}

/// Forgets the credentials of `host`.
pub fn logout(host: &str, settings: &RepoSettings) -> Result<(), RepoError> {
    Ok(registry::logout(host, &settings.registry_config)?)
}

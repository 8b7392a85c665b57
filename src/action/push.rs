//! `rudder push CHART.tgz oci://HOST/PATH [--plain-http …]`: uploads a chart package to an
//! OCI registry as `HOST/PATH/<name>:<version>` with helm's media types.

use crate::registry::{self, Pushed, RegistryOptions};
use crate::repo::{RepoError, RepoSettings};
use std::path::Path;

/// Pushes the package at `chart` to `remote`.
pub async fn push(
    chart: &Path,
    remote: &str,
    opts: &RegistryOptions,
    settings: &RepoSettings,
) -> Result<Pushed, RepoError> {
    if !remote.starts_with("oci://") {
        return Err(RepoError::InvalidReference(format!(
            "scheme prefix missing from remote \"{remote}\" (e.g. \"oci://\")"
        )));
    }
    if chart.is_dir() {
        return Err(RepoError::InvalidArgument(format!(
            "{} is a directory: push a package (rudder package {} first)",
            chart.display(),
            chart.display()
        )));
    }
    let bytes = std::fs::read(chart).map_err(|e| RepoError::read(chart, e))?;
    crate::chart::load_archive(&bytes, &chart.display().to_string())?;
    Ok(registry::push(&bytes, remote, opts, &settings.registry_config).await?)
}

//! `rudder test NAME`: run the release's `test` hooks and record how they went, as
//! `helm test` does.

use crate::action::config::Configuration;
use crate::action::lifecycle::{ApplySettings, ReleaseError, run_hooks};
use crate::manifest::HookEvent;
use crate::storage::Release;

/// Runs the test hooks of the latest revision of a release in `cluster.namespace`; the
/// revision's hook records are updated with each test's last run.
pub async fn run_tests(
    config: &Configuration,
    name: &str,
    settings: &ApplySettings,
) -> Result<Release, ReleaseError> {
    let storage = &config.storage;
    let cluster = &config.cluster;
    let mut release = storage.get(name, 0).await?;
    let outcome = run_hooks(cluster, &mut release, HookEvent::Test, settings).await;
    storage.update(&release).await?;
    outcome.map(|()| release)
}

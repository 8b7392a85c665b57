//! `rudder uninstall NAME`: run pre-delete hooks, delete the release's objects in uninstall
//! order (keeping those annotated `helm.sh/resource-policy: keep`), run post-delete hooks,
//! and delete the release records — or, with `--keep-history`, mark the latest
//! `uninstalled`, as `helm uninstall` does.

use crate::action::lifecycle::{
    self, ApplySettings, PendingGuard, Prepared, ReleaseError, run_hooks, stored_objects_with,
};
use crate::kube::{Cluster, ObjectRef};
use crate::manifest::HookEvent;
use crate::storage::release::now;
use crate::storage::{Status, Storage};

/// The flags of `uninstall`.
#[derive(Debug, Clone, Default)]
pub struct UninstallOptions {
    pub name: String,
    pub keep_history: bool,
    pub dry_run: bool,
    pub settings: ApplySettings,
}

/// What an uninstall did.
#[derive(Debug, Clone)]
pub struct Uninstalled {
    /// Objects left in place by `helm.sh/resource-policy: keep`.
    pub kept: Vec<ObjectRef>,
}

/// Uninstalls a release in `cluster.namespace`.
pub async fn uninstall(
    cluster: &Cluster,
    opts: &UninstallOptions,
) -> Result<Uninstalled, ReleaseError> {
    let storage = Storage::new(cluster, &cluster.namespace);
    let history = storage.history(&opts.name).await?;
    let latest = history.last().cloned().expect("history is not empty");
    if latest.info.status == Status::Uninstalled {
        if opts.keep_history {
            return Err(ReleaseError::AlreadyUninstalled {
                name: opts.name.clone(),
            });
        }
        if !opts.dry_run {
            storage
                .purge(&opts.name, history.iter().map(|r| r.version))
                .await?;
        }
        return Ok(Uninstalled { kept: Vec::new() });
    }
    if latest.info.status.is_pending() {
        lifecycle::check_not_pending(&storage, &opts.name).await?;
    }
    let deployed = history
        .iter()
        .rev()
        .find(|r| r.info.status == Status::Deployed && r.version != latest.version);
    let objects: Vec<Prepared> = stored_objects_with(cluster, &latest, deployed).await?;
    if opts.dry_run {
        let kept = objects
            .iter()
            .filter(|p| lifecycle::is_kept(&p.object))
            .map(|p| p.r.clone())
            .collect();
        return Ok(Uninstalled { kept });
    }
    let mut release = latest.clone();
    release.info.status = Status::Uninstalling;
    release.info.description = "Deletion in progress (or silently failed)".into();
    storage.update(&release).await?;
    let guard = PendingGuard::start(&storage, &release);
    let outcome: Result<Vec<ObjectRef>, ReleaseError> = async {
        run_hooks(cluster, &mut release, HookEvent::PreDelete, &opts.settings).await?;
        let kept = lifecycle::delete_all(cluster, &objects, false).await?;
        if opts.settings.wait {
            wait_deleted(cluster, &objects, &kept, &opts.settings).await?;
        }
        run_hooks(cluster, &mut release, HookEvent::PostDelete, &opts.settings).await?;
        Ok(kept)
    }
    .await;
    guard.finish();
    match outcome {
        Ok(kept) => {
            if opts.keep_history {
                release.info.status = Status::Uninstalled;
                release.info.deleted = Some(now());
                release.info.description = "Uninstallation complete".into();
                storage.update(&release).await?;
            } else {
                storage
                    .purge(&opts.name, history.iter().map(|r| r.version))
                    .await?;
            }
            Ok(Uninstalled { kept })
        }
        Err(cause) => {
            release.info.status = Status::Failed;
            release.info.description = format!("Uninstallation failed: {cause}");
            storage.update(&release).await?;
            Err(ReleaseError::Failed {
                operation: "uninstall",
                name: opts.name.clone(),
                cause: Box::new(cause),
                note: String::new(),
            })
        }
    }
}

async fn wait_deleted(
    cluster: &Cluster,
    objects: &[Prepared],
    kept: &[ObjectRef],
    settings: &ApplySettings,
) -> Result<(), ReleaseError> {
    let start = std::time::Instant::now();
    loop {
        let mut left = Vec::new();
        for p in objects.iter().filter(|p| !kept.contains(&p.r)) {
            if cluster.get(&p.r).await?.is_some() {
                left.push(p.r.to_string());
            }
        }
        if left.is_empty() {
            return Ok(());
        }
        if start.elapsed() > settings.timeout {
            return Err(crate::kube::KubeError::Timeout {
                what: format!("deletion of {}", left.join(", ")),
                after: settings.timeout,
            }
            .into());
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

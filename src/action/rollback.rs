//! `rudder rollback NAME [REVISION]`: re-apply a stored revision's manifest exactly (its
//! chart, values and hooks copied into a new revision described "Rollback to N"),
//! re-creating objects pruned since and pruning objects added since, as `helm rollback` does.

use std::collections::BTreeSet;

use futures::StreamExt as _;

use crate::action::lifecycle::{
    self, ApplySettings, Identity, PendingGuard, Prepared, ReleaseError, apply_all, identity,
    removed, run_hooks, stored_objects, stored_objects_with, supersede_others, wait_if_asked,
};
use crate::kube::{Cluster, KubeError};
use crate::manifest::HookEvent;
use crate::storage::release::now;
use crate::storage::{Holder, Release, Status, Storage, find_revision};

/// The flags of `rollback`.
#[derive(Debug, Clone, Default)]
pub struct RollbackOptions {
    pub name: String,
    /// 0: the revision before the latest.
    pub revision: u64,
    pub dry_run: bool,
    pub settings: ApplySettings,
    /// `--history-max` (0 = unlimited).
    pub history_max: usize,
    /// `--cleanup-on-fail`: delete the objects this rollback created when it fails.
    pub cleanup_on_fail: bool,
}

/// What rolling back from `latest` to `target` works with: the objects of `target`, the
/// objects there now (those of `latest`, then those of the deployed revision `latest`
/// lacks) and the identities of both, which the rollback owns.
pub async fn rollback_objects(
    cluster: &Cluster,
    history: &[Release],
    latest: &Release,
    target: &Release,
) -> Result<(Vec<Prepared>, Vec<Prepared>, BTreeSet<Identity>), ReleaseError> {
    let objects = stored_objects(cluster, target).await?;
    let deployed = history
        .iter()
        .rev()
        .find(|r| r.info.status == Status::Deployed && r.version != latest.version);
    let old = stored_objects_with(cluster, latest, deployed).await?;
    let owned = old
        .iter()
        .chain(objects.iter())
        .map(|p| identity(&p.r))
        .collect();
    Ok((objects, old, owned))
}

/// The objects of `objects` that are not in the cluster now, which applying them creates.
/// Any failed lookup is an error: an object whose state is unknown must never count as
/// created (and be deleted by `--cleanup-on-fail`).
async fn absent_objects(
    cluster: &Cluster,
    objects: &[Prepared],
) -> Result<Vec<Prepared>, ReleaseError> {
    let gets: Vec<_> = objects
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let r = p.r.clone();
            async move {
                match cluster.get(&r).await {
                    Ok(live) => Ok((i, live.is_none())),
                    // A kind the cluster does not serve has no objects: they are surely absent.
                    Err(KubeError::UnknownKind { .. }) => Ok((i, true)),
                    Err(e) => Err(e),
                }
            }
        })
        .collect();
    let found: Vec<Result<(usize, bool), KubeError>> =
        futures::stream::iter(gets).buffered(16).collect().await;
    let mut absent = Vec::new();
    for answer in found {
        let (i, is_absent) = answer?;
        if is_absent {
            absent.push(objects[i].clone());
        }
    }
    Ok(absent)
}

/// Rolls a release in `cluster.namespace` back to a revision; returns the new revision.
pub async fn rollback(cluster: &Cluster, opts: &RollbackOptions) -> Result<Release, ReleaseError> {
    let storage = Storage::new(cluster, &cluster.namespace);
    let history = storage.history(&opts.name).await?;
    lifecycle::check_not_pending(&storage, &opts.name).await?;
    let latest = history.last().cloned().expect("history is not empty");
    let target_version = if opts.revision == 0 {
        latest.version.saturating_sub(1)
    } else {
        opts.revision
    };
    let target = find_revision(&history, &opts.name, target_version)?.clone();
    let t = now();
    let mut release = Release {
        version: latest.version + 1,
        info: crate::storage::Info {
            first_deployed: latest.info.first_deployed.or(Some(t)),
            last_deployed: Some(t),
            deleted: None,
            description: format!("Rollback to {target_version}"),
            status: Status::PendingRollback,
            notes: target.info.notes.clone(),
            resources: None,
        },
        apply_method: "ssa".into(),
        ..target.clone()
    };
    for h in &mut release.hooks {
        h.last_run = Default::default();
    }
    let (objects, old, owned) = rollback_objects(cluster, &history, &latest, &target).await?;
    if opts.dry_run {
        release.info.description = "Dry run complete".into();
        return Ok(release);
    }
    // What the rollback will create (not live now), for --cleanup-on-fail.
    let absent: Vec<Prepared> = if opts.cleanup_on_fail {
        absent_objects(cluster, &objects).await?
    } else {
        Vec::new()
    };
    storage
        .create(&release, Some(&Holder::this_process()))
        .await?;
    let guard = PendingGuard::start(&storage, &release);
    let to_prune = removed(&old, &objects);
    let outcome: Result<(), ReleaseError> = async {
        run_hooks(
            cluster,
            &mut release,
            HookEvent::PreRollback,
            &opts.settings,
        )
        .await?;
        apply_all(cluster, &objects, &opts.settings, &owned, false).await?;
        lifecycle::delete_all(cluster, &to_prune, false).await?;
        wait_if_asked(cluster, &objects, &opts.settings).await?;
        run_hooks(
            cluster,
            &mut release,
            HookEvent::PostRollback,
            &opts.settings,
        )
        .await?;
        Ok(())
    }
    .await;
    guard.finish();
    match outcome {
        Ok(()) => {
            release.info.status = Status::Deployed;
            supersede_others(&storage, &opts.name, release.version).await?;
            storage.update(&release).await?;
            storage.prune_history(&opts.name, opts.history_max).await?;
            Ok(release)
        }
        Err(cause) => {
            release.info.status = Status::Failed;
            release.info.description = format!("Rollback {:?} failed: {cause}", opts.name);
            storage.update(&release).await?;
            let mut note = String::new();
            if opts.cleanup_on_fail && !absent.is_empty() {
                lifecycle::delete_all(cluster, &absent, false).await?;
                note.push_str("; objects this rollback created were deleted (--cleanup-on-fail)");
            }
            Err(ReleaseError::Failed {
                operation: "rollback",
                name: opts.name.clone(),
                cause: Box::new(cause),
                note,
            })
        }
    }
}

//! `rudder rollback NAME [REVISION]`: re-apply a stored revision's manifest exactly (its
//! chart, values and hooks copied into a new revision described "Rollback to N"),
//! re-creating objects pruned since and pruning objects added since, as `helm rollback` does.

use std::collections::BTreeSet;

use futures::StreamExt as _;

use crate::action::config::Configuration;
use crate::action::lifecycle::{
    self, ApplySettings, Identity, Prepared, ReleaseError, identity, removed,
    stored_objects_to_apply, stored_objects_with,
};
use crate::action::operation::{self, Finish, Kind, Plan};
use crate::kube::{Cluster, KubeError};
use crate::storage::release::now;
use crate::storage::{Release, Status, Stored, find_revision};

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
    let objects = stored_objects_to_apply(cluster, target).await?;
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

/// The plan of rolling `name` back to `revision` (0: the one before the latest): a new
/// revision copying the target's chart, values, manifest and hooks, the objects it applies,
/// and those it prunes. `diff rollback` compares the same plan.
pub async fn plan_rollback(
    config: &Configuration,
    name: &str,
    revision: u64,
    history: Vec<Stored>,
) -> Result<Plan, ReleaseError> {
    let releases: Vec<Release> = history.iter().map(|s| s.release.clone()).collect();
    let latest = releases
        .last()
        .cloned()
        .ok_or_else(|| config.storage.not_found(name))?;
    let target_version = if revision == 0 {
        latest.version.saturating_sub(1)
    } else {
        revision
    };
    let target = find_revision(&releases, name, target_version)?.clone();
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
    let (objects, old, owned) = rollback_objects(config, &releases, &latest, &target).await?;
    Ok(Plan {
        kind: Kind::Rollback,
        release,
        history,
        delete: removed(&old, &objects),
        apply: objects,
        owned,
        crds: Vec::new(),
    })
}

/// Rolls a release in the configuration's namespace back to a revision; returns the new
/// revision.
pub async fn rollback(
    config: &Configuration,
    opts: &RollbackOptions,
) -> Result<Release, ReleaseError> {
    let history = config.storage.history_stored(&opts.name).await?;
    if history.is_empty() {
        return Err(config.storage.not_found(&opts.name).into());
    }
    operation::check_not_held(&opts.name, &history)?;
    let plan = plan_rollback(config, &opts.name, opts.revision, history).await?;
    if opts.dry_run {
        return Ok(plan.dry_run());
    }
    // What the rollback will create (not live now), for --cleanup-on-fail.
    let absent: Vec<Prepared> = if opts.cleanup_on_fail {
        absent_objects(config, &plan.apply).await?
    } else {
        Vec::new()
    };
    let finish = Finish {
        history_max: opts.history_max,
        keep_history: false,
    };
    match operation::execute(config, plan, &opts.settings, &finish).await {
        Ok(done) => Ok(done.release),
        Err(e @ ReleaseError::Failed { .. }) if !absent.is_empty() => {
            lifecycle::delete_all(config, &absent, opts.settings.timeout).await?;
            Err(e.noted("; objects this rollback created were deleted (--cleanup-on-fail)"))
        }
        Err(e) => Err(e),
    }
}

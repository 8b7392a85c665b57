//! `rudder upgrade NAME CHART [--install]`: render the new chart with the chosen values,
//! claim the next revision, apply, prune what the new revision no longer has (except
//! objects kept by `helm.sh/resource-policy: keep`), and record the outcome; the
//! previously deployed revision becomes `superseded`, as with `helm upgrade`.

use std::collections::BTreeSet;

use crate::action::config::Configuration;
use crate::action::install::{DeployOptions, deploy_new};
use crate::action::lifecycle::{
    self, DryRun, Identity, Prepared, ReleaseError, apply_all, check_ownership, identity,
    prepare_rendered, record, removed, render_on_cluster, stored_objects_with, upgrade_base,
    validate_name,
};
use crate::action::operation::{self, Finish, Kind, Plan};
use crate::action::rollback::{RollbackOptions, rollback};
use crate::chart;
use crate::engine::ReleaseInfo;
use crate::storage::{Release, Status, Stored};
use crate::values::{Values, coalesce_user_tables};

/// The values an upgrade renders with, from the flags and the current release's values
/// (helm's `reuseValues`).
pub fn upgrade_values(opts: &DeployOptions, new: Values, current: &Release) -> Values {
    if opts.reset_values {
        return new;
    }
    if opts.reuse_values || opts.reset_then_reuse_values {
        let mut merged = new;
        coalesce_user_tables(&mut merged, current.config.clone());
        return merged;
    }
    if new.is_empty() {
        // Neither flag and no values given: keep the release's values, as helm does.
        return current.config.clone();
    }
    new
}

/// Upgrades (or, with `install`, installs) a release in the configuration's namespace.
pub async fn upgrade(
    config: &Configuration,
    opts: &DeployOptions,
) -> Result<Release, ReleaseError> {
    upgrade_or_install(config, opts).await.1
}

/// [`upgrade`], also saying whether it installs the release (`--install` of a release that
/// does not exist; known once its history is read, whatever the outcome).
pub async fn upgrade_or_install(
    config: &Configuration,
    opts: &DeployOptions,
) -> (bool, Result<Release, ReleaseError>) {
    if let Err(e) = validate_name(&opts.name) {
        return (false, Err(e));
    }
    let history = match config.storage.history_stored(&opts.name).await {
        Ok(history) => history,
        Err(e) => return (false, Err(e.into())),
    };
    let installing = opts.install && needs_install(&history);
    (installing, upgrade_with(config, opts, history).await)
}

async fn upgrade_with(
    config: &Configuration,
    opts: &DeployOptions,
    history: Vec<Stored>,
) -> Result<Release, ReleaseError> {
    let chart = chart::load(&opts.chart)?;
    let new_values = opts.values.merge()?;
    operation::check_not_held(&opts.name, &history)?;
    if needs_install(&history) {
        if !opts.install {
            return Err(ReleaseError::NotInstalled {
                name: opts.name.clone(),
                namespace: config.storage.namespace().to_string(),
            });
        }
        let version = history.last().map_or(1, |l| l.release.version + 1);
        return deploy_new(config, opts, chart, new_values, version, history).await;
    }
    let plan = plan_upgrade(
        config,
        opts,
        history,
        chart,
        new_values,
        opts.dry_run != DryRun::Client,
    )
    .await?;
    if opts.dry_run != DryRun::None {
        if opts.dry_run == DryRun::Server {
            apply_all(config, &plan.apply, &opts.settings, &plan.owned, true).await?;
        }
        return Ok(plan.dry_run());
    }
    let base = plan
        .deployed()
        .or(plan.latest().map(|s| &s.release))
        .map(|r| r.version)
        .unwrap_or_default();
    let created: Vec<Prepared> = plan
        .apply
        .iter()
        .filter(|p| !plan.owned.contains(&identity(&p.r)))
        .cloned()
        .collect();
    let finish = Finish {
        history_max: opts.history_max,
        keep_history: false,
    };
    match operation::execute(config, plan, &opts.settings, &finish).await {
        Ok(done) => Ok(done.release),
        Err(mut e @ ReleaseError::Failed { .. }) => {
            if opts.cleanup_on_fail {
                lifecycle::delete_all(config, &created, opts.settings.timeout).await?;
                e = e.noted("; objects this upgrade created were deleted (--cleanup-on-fail)");
            }
            if opts.atomic {
                let rollback_opts = RollbackOptions {
                    name: opts.name.clone(),
                    revision: base,
                    dry_run: false,
                    settings: opts.settings.clone(),
                    history_max: opts.history_max,
                    cleanup_on_fail: opts.cleanup_on_fail,
                };
                e = match rollback(config, &rollback_opts).await {
                    Ok(r) => e.noted(&format!(
                        "; rolled back to revision {base} as revision {} (--atomic)",
                        r.version
                    )),
                    Err(failed) => e.noted(&format!("; the rollback failed too: {failed}")),
                };
            }
            Err(e)
        }
        Err(e) => Err(e),
    }
}

/// Whether an upgrade of a release with this history installs it (`--install`): it has no
/// revision, or its latest is uninstalled.
pub fn needs_install(history: &[Stored]) -> bool {
    history
        .last()
        .is_none_or(|s| s.release.info.status == Status::Uninstalled)
}

/// The plan of an upgrade of an installed release (`history` not empty): the chart
/// rendered with the chosen values as the next revision, the objects it applies
/// (resolved against the cluster when `resolve`), those it prunes, and those the release
/// owns now. `diff upgrade` compares the same plan.
pub async fn plan_upgrade(
    config: &Configuration,
    opts: &DeployOptions,
    history: Vec<Stored>,
    chart: crate::chart::Chart,
    new_values: Values,
    resolve: bool,
) -> Result<Plan, ReleaseError> {
    let namespace = config.storage.namespace().to_string();
    let last = history
        .last()
        .map(|s| s.release.clone())
        .expect("an upgrade plans over an existing release");
    let current = upgrade_base(&history, &last);
    let values = upgrade_values(opts, new_values, &current);
    let version = last.version + 1;
    let caps = lifecycle::capabilities(config).await?;
    let info = ReleaseInfo::new(&opts.name, &namespace, version, true);
    let set_integers = std::sync::Arc::new(opts.values.set_integers());
    let rendered =
        render_on_cluster(config, chart, &values, info, caps, resolve, set_integers).await?;
    let description = opts.description.as_deref().unwrap_or("Upgrade complete");
    let mut release = record(
        &opts.name,
        &namespace,
        version,
        &rendered,
        values,
        Status::PendingUpgrade,
        description,
    );
    release.info.first_deployed = current.info.first_deployed.or(release.info.first_deployed);
    let mut plan = Plan {
        kind: Kind::Upgrade,
        release,
        history,
        apply: Vec::new(),
        delete: Vec::new(),
        owned: BTreeSet::new(),
        crds: Vec::new(),
    };
    if !resolve {
        return Ok(plan);
    }
    let objects = prepare_rendered(config, &rendered, &opts.name, &namespace).await?;
    if !opts.skip_crds {
        plan.crds = crate::action::crds::plan(config, &rendered, opts.force_crds).await?;
    }
    // A failed later revision may have created objects the deployed one does not have.
    let later = (last.version != current.version).then_some(&last);
    let old = stored_objects_with(config, &current, later).await?;
    let owned: BTreeSet<Identity> = old.iter().map(|p| identity(&p.r)).collect();
    check_ownership(
        config,
        &objects,
        &opts.name,
        &namespace,
        &owned,
        opts.settings.take_ownership,
    )
    .await?;
    plan.delete = removed(&old, &objects);
    plan.apply = objects;
    plan.owned = owned;
    Ok(plan)
}

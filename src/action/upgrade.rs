//! `rudder upgrade NAME CHART [--install]`: render the new chart with the chosen values,
//! claim the next revision, apply, prune what the new revision no longer has (except
//! objects kept by `helm.sh/resource-policy: keep`), and record the outcome; the
//! previously deployed revision becomes `superseded`, as with `helm upgrade`.

use std::collections::BTreeSet;

use crate::action::install::{DeployOptions, create_namespace, deploy_new, render_for_install};
use crate::action::lifecycle::{
    self, DryRun, Identity, PendingGuard, Prepared, ReleaseError, apply_all, check_ownership,
    identity, prepare_rendered, record, removed, render_on_cluster, run_hooks, stored_objects_with,
    supersede_others, upgrade_base, validate_name, wait_if_asked,
};
use crate::action::rollback::{RollbackOptions, rollback};
use crate::chart;
use crate::engine::ReleaseInfo;
use crate::kube::Cluster;
use crate::manifest::HookEvent;
use crate::storage::{Holder, Release, Status, Storage};
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

/// Upgrades (or, with `install`, installs) a release in `cluster.namespace`.
pub async fn upgrade(cluster: &Cluster, opts: &DeployOptions) -> Result<Release, ReleaseError> {
    validate_name(&opts.name)?;
    let chart = chart::load(&opts.chart)?;
    let new_values = opts.values.merge()?;
    let namespace = cluster.namespace.clone();
    let storage = Storage::new(cluster, &namespace);
    let history = storage.history_stored(&opts.name).await?;
    let last = history.last().map(|s| s.release.clone());
    let needs_install = match &last {
        None => true,
        Some(l) => l.info.status == Status::Uninstalled,
    };
    if needs_install {
        if !opts.install {
            return Err(ReleaseError::NotInstalled {
                name: opts.name.clone(),
                namespace,
            });
        }
        if opts.create_namespace && opts.dry_run == DryRun::None {
            create_namespace(cluster, &namespace, &opts.settings.field_manager).await?;
        }
        let version = last.as_ref().map_or(1, |l| l.version + 1);
        let info = ReleaseInfo::new(&opts.name, &namespace, version, false);
        let rendered = render_for_install(cluster, chart, &new_values, info, opts).await?;
        let description = opts
            .description
            .clone()
            .unwrap_or_else(|| "Install complete".into());
        return deploy_new(
            cluster,
            &storage,
            opts,
            rendered,
            new_values,
            version,
            &description,
        )
        .await;
    }
    let last = last.expect("history is not empty");
    lifecycle::check_not_pending(&storage, &opts.name).await?;
    let current = upgrade_base(&history, &last);
    let config = upgrade_values(opts, new_values, &current);
    let version = last.version + 1;
    let caps = lifecycle::capabilities(cluster).await?;
    let info = ReleaseInfo::new(&opts.name, &namespace, version, true);
    let connected = opts.dry_run != DryRun::Client;
    let set_integers = std::sync::Arc::new(opts.values.set_integers());
    let rendered =
        render_on_cluster(cluster, chart, &config, info, caps, connected, set_integers).await?;
    let description = opts
        .description
        .clone()
        .unwrap_or_else(|| "Upgrade complete".into());
    let mut release = record(
        &opts.name,
        &namespace,
        version,
        &rendered,
        config,
        Status::PendingUpgrade,
        &description,
    );
    release.info.first_deployed = current.info.first_deployed.or(release.info.first_deployed);
    if opts.dry_run == DryRun::Client {
        release.info.description = "Dry run complete".into();
        return Ok(release);
    }
    let objects = prepare_rendered(cluster, &rendered, &opts.name, &namespace).await?;
    // A failed later revision may have created objects the deployed one does not have.
    let later = (last.version != current.version).then_some(&last);
    let old = stored_objects_with(cluster, &current, later).await?;
    let owned: BTreeSet<_> = old.iter().map(|p| identity(&p.r)).collect();
    check_ownership(
        cluster,
        &objects,
        &opts.name,
        &namespace,
        &owned,
        opts.settings.take_ownership,
    )
    .await?;
    if opts.dry_run == DryRun::Server {
        apply_all(cluster, &objects, &opts.settings, &owned, true).await?;
        release.info.description = "Dry run complete".into();
        return Ok(release);
    }
    storage
        .create(&release, Some(&Holder::this_process()))
        .await?;
    let guard = PendingGuard::start(&storage, &release);
    let to_prune = removed(&old, &objects);
    let outcome = apply_revision(cluster, &mut release, &objects, &to_prune, &owned, opts).await;
    guard.finish();
    match outcome {
        Ok(()) => {
            release.info.status = Status::Deployed;
            release.info.last_deployed = Some(crate::storage::release::now());
            supersede_others(&storage, &opts.name, release.version).await?;
            storage.update(&release).await?;
            storage.prune_history(&opts.name, opts.history_max).await?;
            Ok(release)
        }
        Err(cause) => {
            release.info.status = Status::Failed;
            release.info.description = format!("Upgrade {:?} failed: {cause}", opts.name);
            storage.update(&release).await?;
            let mut note = String::new();
            if opts.cleanup_on_fail {
                let created: Vec<Prepared> = objects
                    .iter()
                    .filter(|p| !owned.contains(&identity(&p.r)))
                    .cloned()
                    .collect();
                lifecycle::delete_all(cluster, &created, false).await?;
                note.push_str("; objects this upgrade created were deleted (--cleanup-on-fail)");
            }
            if opts.atomic {
                let rollback_opts = RollbackOptions {
                    name: opts.name.clone(),
                    revision: current.version,
                    dry_run: false,
                    settings: opts.settings.clone(),
                    history_max: opts.history_max,
                    cleanup_on_fail: opts.cleanup_on_fail,
                };
                match rollback(cluster, &rollback_opts).await {
                    Ok(r) => note.push_str(&format!(
                        "; rolled back to revision {} as revision {} (--atomic)",
                        current.version, r.version
                    )),
                    Err(e) => note.push_str(&format!("; the rollback failed too: {e}")),
                }
            }
            Err(ReleaseError::Failed {
                operation: "upgrade",
                name: opts.name.clone(),
                cause: Box::new(cause),
                note,
            })
        }
    }
}

async fn apply_revision(
    cluster: &Cluster,
    release: &mut Release,
    objects: &[Prepared],
    to_prune: &[Prepared],
    owned: &BTreeSet<Identity>,
    opts: &DeployOptions,
) -> Result<(), ReleaseError> {
    run_hooks(cluster, release, HookEvent::PreUpgrade, &opts.settings).await?;
    apply_all(cluster, objects, &opts.settings, owned, false).await?;
    lifecycle::delete_all(cluster, to_prune, false).await?;
    wait_if_asked(cluster, objects, &opts.settings).await?;
    run_hooks(cluster, release, HookEvent::PostUpgrade, &opts.settings).await?;
    Ok(())
}

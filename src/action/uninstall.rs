//! `rudder uninstall NAME`: run pre-delete hooks, delete the release's objects in uninstall
//! order (keeping those annotated `helm.sh/resource-policy: keep`), run post-delete hooks,
//! and delete the release records — or, with `--keep-history`, mark the latest
//! `uninstalled`, as `helm uninstall` does.

use crate::action::config::Configuration;
use crate::action::lifecycle::{self, ApplySettings, Prepared, ReleaseError, stored_objects_with};
use crate::action::operation::{self, Finish, Kind, Plan};
use crate::kube::ObjectRef;
use crate::storage::Status;

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

/// Uninstalls a release in the configuration's namespace.
pub async fn uninstall(
    config: &Configuration,
    opts: &UninstallOptions,
) -> Result<Uninstalled, ReleaseError> {
    let storage = &config.storage;
    let history = storage.history_stored(&opts.name).await?;
    let Some(latest) = history.last().map(|s| s.release.clone()) else {
        return Err(storage.not_found(&opts.name).into());
    };
    operation::check_not_held(&opts.name, &history)?;
    if latest.info.status == Status::Uninstalled {
        if opts.keep_history {
            return Err(ReleaseError::AlreadyUninstalled {
                name: opts.name.clone(),
            });
        }
        if !opts.dry_run {
            storage
                .purge(&opts.name, history.iter().map(|s| s.release.version))
                .await?;
        }
        return Ok(Uninstalled { kept: Vec::new() });
    }
    let deployed = history
        .iter()
        .rev()
        .map(|s| &s.release)
        .find(|r| r.info.status == Status::Deployed && r.version != latest.version);
    let objects: Vec<Prepared> = stored_objects_with(config, &latest, deployed).await?;
    if opts.dry_run {
        let kept = objects
            .iter()
            .filter(|p| lifecycle::is_kept(&p.object))
            .map(|p| p.r.clone())
            .collect();
        return Ok(Uninstalled { kept });
    }
    let mut release = latest;
    release.info.status = Status::Uninstalling;
    release.info.description = "Deletion in progress (or silently failed)".into();
    let plan = Plan {
        kind: Kind::Uninstall,
        release,
        history,
        apply: Vec::new(),
        delete: objects,
        owned: Default::default(),
        crds: Vec::new(),
    };
    let finish = Finish {
        history_max: 0,
        keep_history: opts.keep_history,
    };
    let done = operation::execute(config, plan, &opts.settings, &finish).await?;
    Ok(Uninstalled { kept: done.kept })
}

//! The one release operation behind install, upgrade, rollback and uninstall, in explicit
//! phases: **plan** (done by the verb: render or read, resolve every object; `diff` and
//! `--dry-run` stop here) → **claim** → **pre-hooks** → **apply** (or delete) → **wait** →
//! **post-hooks** → **record**.
//!
//! Claiming is how concurrent operations on one release exclude each other, whichever verb
//! they run: the latest record is rewritten conditionally (it must be as the plan read it)
//! naming this process as holder with a heartbeat, and an operation that makes a revision
//! then creates it atomically. The loser of any race is told who holds the release, or that
//! the name is in use. A holder whose heartbeat stopped (the process was killed) is taken
//! over by the next operation, which marks its revision failed.
//!
//! Recording keeps exactly one revision deployed at every instant as readers resolve it
//! (the highest deployed revision wins, as in helm): the new revision is written deployed
//! before the one it replaces is marked superseded.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::time::Duration;

use crate::action::config::Configuration;
use crate::action::lifecycle::{
    ApplySettings, Identity, Prepared, ReleaseError, apply_all, delete_all, run_hooks,
    wait_if_asked,
};
use crate::kube::{Cluster, ObjectRef};
use crate::manifest::HookEvent;
use crate::storage::release::{format_time, now};
use crate::storage::{Holder, Release, Status, Storage, StorageError, Stored};

/// How long a held revision may go without a heartbeat before it counts as abandoned.
pub const STALE_AFTER: Duration = Duration::from_secs(30);
/// A pending revision written without heartbeats (by helm) counts as abandoned after this.
pub const STALE_WITHOUT_HEARTBEAT: Duration = Duration::from_secs(600);
/// How often a running operation refreshes its heartbeat.
pub const HEARTBEAT_EVERY: Duration = Duration::from_secs(5);

/// The four operations that change a release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Install,
    Upgrade,
    Rollback,
    Uninstall,
}

impl Kind {
    /// The status its record carries while it runs.
    pub fn pending_status(self) -> Status {
        match self {
            Kind::Install => Status::PendingInstall,
            Kind::Upgrade => Status::PendingUpgrade,
            Kind::Rollback => Status::PendingRollback,
            Kind::Uninstall => Status::Uninstalling,
        }
    }

    /// What its failure is called in errors (`upgrade of release "web" failed`).
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Install => "installation",
            Kind::Upgrade => "upgrade",
            Kind::Rollback => "rollback",
            Kind::Uninstall => "uninstall",
        }
    }

    fn hooks(self) -> (HookEvent, HookEvent) {
        match self {
            Kind::Install => (HookEvent::PreInstall, HookEvent::PostInstall),
            Kind::Upgrade => (HookEvent::PreUpgrade, HookEvent::PostUpgrade),
            Kind::Rollback => (HookEvent::PreRollback, HookEvent::PostRollback),
            Kind::Uninstall => (HookEvent::PreDelete, HookEvent::PostDelete),
        }
    }

    fn failure_description(self, name: &str, cause: &ReleaseError) -> String {
        match self {
            Kind::Install => format!("Release {name:?} failed: {cause}"),
            Kind::Upgrade => format!("Upgrade {name:?} failed: {cause}"),
            Kind::Rollback => format!("Rollback {name:?} failed: {cause}"),
            Kind::Uninstall => format!("Uninstallation failed: {cause}"),
        }
    }
}

/// What an operation will do, decided before anything is written.
#[derive(Debug, Clone)]
pub struct Plan {
    pub kind: Kind,
    /// The record the operation writes: its new revision, or for uninstall the latest one
    /// (with status `uninstalling`).
    pub release: Release,
    /// The release's revisions as read when planning, oldest first.
    pub history: Vec<Stored>,
    /// Objects to apply, in any order (they are applied in install order).
    pub apply: Vec<Prepared>,
    /// Objects to delete once applied: pruned ones, or for uninstall every object.
    pub delete: Vec<Prepared>,
    /// Objects the release already has (their field managers may be taken over).
    pub owned: BTreeSet<Identity>,
    /// The chart's `crds/` CRDs an upgrade creates or changes, applied before anything else.
    pub crds: Vec<crate::action::crds::CrdUpgrade>,
}

impl Plan {
    /// The latest stored revision.
    pub fn latest(&self) -> Option<&Stored> {
        self.history.last()
    }

    /// What a dry run reports: the record the operation would write.
    pub fn dry_run(self) -> Release {
        let mut release = self.release;
        release.info.description = "Dry run complete".into();
        release
    }

    /// The deployed revision the release runs now, as readers resolve it (the highest).
    pub fn deployed(&self) -> Option<&Release> {
        self.history
            .iter()
            .rev()
            .map(|s| &s.release)
            .find(|r| r.info.status == Status::Deployed)
    }
}

/// What the record phase does besides writing the outcome.
#[derive(Debug, Clone, Default)]
pub struct Finish {
    /// `--history-max` (0 = unlimited).
    pub history_max: usize,
    /// uninstall `--keep-history`.
    pub keep_history: bool,
}

/// What a finished operation did.
#[derive(Debug, Clone)]
pub struct Done {
    /// The record as written last.
    pub release: Release,
    /// Objects left in place by `helm.sh/resource-policy: keep` (uninstall).
    pub kept: Vec<ObjectRef>,
}

/// Whether another operation holds a revision.
enum Busy {
    No,
    /// Someone is working on it now.
    Held(Holder),
    /// Its holder stopped without finishing; what to write in its description.
    Abandoned(String),
}

fn busy(stored: &Stored) -> Busy {
    let now_t = now();
    let age = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .ok()
            .map(|t| (now_t - t).to_std().unwrap_or_default())
    };
    let status = stored.release.info.status;
    let last = stored.release.info.last_deployed.map(|t| format_time(&t));
    match (&stored.holder, &stored.heartbeat) {
        (Some(holder), heartbeat) => {
            let beat = heartbeat.clone().unwrap_or_else(|| holder.started.clone());
            let gone = holder.is_gone();
            if !gone && age(&beat).is_some_and(|a| a <= STALE_AFTER) {
                Busy::Held(holder.clone())
            } else if status.is_pending() {
                let why = if gone {
                    "its process is gone".to_string()
                } else {
                    format!("last heartbeat {beat}")
                };
                Busy::Abandoned(format!(
                    "{status} abandoned: {} stopped without finishing ({why}); marked failed by rudder",
                    holder.holder
                ))
            } else {
                Busy::No
            }
        }
        (None, _)
            if status.is_pending() && crate::storage::driver::kube::is_guarded(&stored.release) =>
        {
            Busy::Abandoned(format!(
                "{status} stopped by helm: the revision it acts on is too big for helm (kept in parts by rudder); marked failed by rudder"
            ))
        }
        (None, _) if status.is_pending() => {
            let stale = last
                .as_deref()
                .and_then(age)
                .is_none_or(|a| a > STALE_WITHOUT_HEARTBEAT);
            let since = last.unwrap_or_else(|| "an unknown time".into());
            if stale {
                Busy::Abandoned(format!(
                    "{status} abandoned: another client stopped without finishing (started {since}); marked failed by rudder"
                ))
            } else {
                Busy::Held(Holder {
                    holder: "another client".into(),
                    started: since,
                })
            }
        }
        _ => Busy::No,
    }
}

/// Whether a revision's holder stopped without finishing (the claim marks it failed).
pub fn is_abandoned(stored: &Stored) -> bool {
    matches!(busy(stored), Busy::Abandoned(_))
}

/// Refuses when another live operation holds the latest revision of `history`.
pub fn check_not_held(name: &str, history: &[Stored]) -> Result<(), ReleaseError> {
    match history.last().map(busy) {
        Some(Busy::Held(holder)) => Err(in_progress(name, holder)),
        _ => Ok(()),
    }
}

fn in_progress(name: &str, holder: Holder) -> ReleaseError {
    StorageError::InProgress {
        name: name.into(),
        holder: holder.holder,
        started: holder.started,
    }
    .into()
}

/// A failed claim write as the user should read it: a lost race is explained from the
/// records as they are now.
async fn explain_claim_error(
    storage: &Storage,
    kind: Kind,
    name: &str,
    e: StorageError,
) -> ReleaseError {
    match e {
        StorageError::Exists { .. } | StorageError::Conflict { .. } => {
            lost_race(storage, kind, name).await
        }
        other => other.into(),
    }
}

/// Why a claim lost a race, read from the records as they are now.
async fn lost_race(storage: &Storage, kind: Kind, name: &str) -> ReleaseError {
    let history = match storage.history_stored(name).await {
        Ok(h) => h,
        Err(e) => return e.into(),
    };
    let Some(latest) = history.last() else {
        return ReleaseError::Invalid(format!(
            "release {name:?} was uninstalled by another operation while this {} was starting",
            kind.noun()
        ));
    };
    if let Busy::Held(holder) = busy(latest) {
        return in_progress(name, holder);
    }
    if kind == Kind::Install {
        return ReleaseError::NameInUse {
            name: name.into(),
            namespace: storage.namespace().into(),
            version: latest.release.version,
            status: latest.release.info.status,
        };
    }
    ReleaseError::Invalid(format!(
        "another operation on release {name:?} finished while this {} was starting (revision {} is now {}); run it again",
        kind.noun(),
        latest.release.version,
        latest.release.info.status
    ))
}

/// The claim phase: makes this process the holder of the release, or says who is. Returns
/// the latest record as the claim rewrote it (an abandoned one is marked failed).
async fn claim(
    storage: &Storage,
    plan: &Plan,
    holder: &Holder,
) -> Result<Option<Release>, ReleaseError> {
    let name = plan.release.name.as_str();
    if let Some(latest) = plan.latest() {
        let mut held = latest.release.clone();
        match busy(latest) {
            Busy::Held(h) => return Err(in_progress(name, h)),
            Busy::Abandoned(description) => {
                held.info.status = Status::Failed;
                held.info.description = description;
            }
            Busy::No => {}
        }
        if plan.kind == Kind::Uninstall {
            held = plan.release.clone();
        }
        if let Err(e) = storage
            .update_held(&held, holder, latest.token.as_deref())
            .await
        {
            return Err(explain_claim_error(storage, plan.kind, name, e).await);
        }
        if plan.kind != Kind::Uninstall
            && let Err(e) = storage.create(&plan.release, Some(holder)).await
        {
            // Let go of the latest record again (whoever won holds the new revision).
            let _ = storage.update(&held).await;
            return Err(explain_claim_error(storage, plan.kind, name, e).await);
        }
        return Ok(Some(held));
    }
    match storage.create(&plan.release, Some(holder)).await {
        Ok(()) => Ok(None),
        Err(e) => Err(explain_claim_error(storage, plan.kind, name, e).await),
    }
}

/// The revisions this process holds and has not finished (several with `rudder apply`), so
/// an interrupt can mark them failed before exiting.
static IN_FLIGHT: Mutex<Vec<(Storage, Release)>> = Mutex::new(Vec::new());

/// Keeps a held revision's heartbeat fresh and registers it for interrupt handling; the
/// heartbeat stops when the guard is dropped.
struct HeartbeatGuard {
    task: tokio::task::JoinHandle<()>,
    /// Which in-flight entry is this operation's: namespace, name, revision.
    key: (String, String, u64),
}

impl HeartbeatGuard {
    fn start(storage: &Storage, release: &Release) -> HeartbeatGuard {
        IN_FLIGHT
            .lock()
            .expect("in-flight lock")
            .push((storage.clone(), release.clone()));
        let key = (
            storage.namespace().to_string(),
            release.name.clone(),
            release.version,
        );
        let storage = storage.clone();
        let (name, version) = (release.name.clone(), release.version);
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(HEARTBEAT_EVERY).await;
                let _ = storage.heartbeat(&name, version).await;
            }
        });
        HeartbeatGuard { task, key }
    }

    /// The operation reached its record phase: stop the heartbeat and forget the revision.
    /// A guard dropped without this (a signal cancelled the operation) leaves the revision
    /// for [`abandon_in_flight`].
    fn finish(self) {
        IN_FLIGHT
            .lock()
            .expect("in-flight lock")
            .retain(|(storage, release)| {
                (storage.namespace(), release.name.as_str(), release.version)
                    != (self.key.0.as_str(), self.key.1.as_str(), self.key.2)
            });
    }
}

impl Drop for HeartbeatGuard {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Marks the revisions this process is working on (if any) failed because of `signal`;
/// whether there were any.
pub async fn abandon_in_flight(signal: &str) -> bool {
    let taken = std::mem::take(&mut *IN_FLIGHT.lock().expect("in-flight lock"));
    let any = !taken.is_empty();
    for (storage, mut release) in taken {
        let operation = match release.info.status {
            Status::PendingInstall => "Install",
            Status::PendingRollback => "Rollback",
            Status::Uninstalling => "Uninstall",
            _ => "Upgrade",
        };
        release.info.status = Status::Failed;
        release.info.description =
            format!("{operation} interrupted by {signal} before it finished");
        let _ = storage.update(&release).await;
    }
    any
}

/// Runs a planned operation from the claim phase on. On failure the revision is recorded
/// failed and the error is [`ReleaseError::Failed`] (the caller adds what it did next, such
/// as an `--atomic` rollback, to its note).
pub async fn execute(
    config: &Configuration,
    mut plan: Plan,
    settings: &ApplySettings,
    finish: &Finish,
) -> Result<Done, ReleaseError> {
    let storage = &config.storage;
    let holder = Holder::this_process();
    let held = claim(storage, &plan, &holder).await?;
    let guard = HeartbeatGuard::start(storage, &plan.release);
    let outcome = run_phases(&config.cluster, &mut plan, settings).await;
    guard.finish();
    record(storage, plan, held, outcome, finish).await
}

/// Pre-hooks → apply (or delete) → wait → post-hooks; the objects kept on uninstall.
async fn run_phases(
    cluster: &Cluster,
    plan: &mut Plan,
    settings: &ApplySettings,
) -> Result<Vec<ObjectRef>, ReleaseError> {
    let (pre, post) = plan.kind.hooks();
    crate::action::crds::apply(cluster, &plan.crds, settings).await?;
    run_hooks(cluster, &mut plan.release, pre, settings).await?;
    let mut kept = Vec::new();
    if plan.kind == Kind::Uninstall {
        kept = delete_all(cluster, &plan.delete, settings.timeout).await?;
        if settings.wait {
            wait_deleted(cluster, &plan.delete, &kept, settings).await?;
        }
    } else {
        apply_all(cluster, &plan.apply, settings, &plan.owned, false).await?;
        delete_all(cluster, &plan.delete, settings.timeout).await?;
        wait_if_asked(cluster, &plan.apply, settings).await?;
    }
    run_hooks(cluster, &mut plan.release, post, settings).await?;
    Ok(kept)
}

/// The record phase. `held`: the latest record as the claim rewrote it. A claim left on a
/// record that is no longer the latest means nothing (only the latest record's holder is
/// ever consulted), so a new revision needs no write to let go of the one before.
async fn record(
    storage: &Storage,
    plan: Plan,
    held: Option<Release>,
    outcome: Result<Vec<ObjectRef>, ReleaseError>,
    finish: &Finish,
) -> Result<Done, ReleaseError> {
    let Plan {
        kind,
        mut release,
        history,
        ..
    } = plan;
    let name = release.name.clone();
    let unrecorded = |e: StorageError| {
        ReleaseError::Invalid(format!(
            "the {} of {name:?} to revision {} reached the cluster, but its record could not be written: {e}; run it again to record it",
            kind.noun(),
            release.version
        ))
    };
    let kept = match outcome {
        Ok(kept) => kept,
        Err(cause) => {
            release.info.status = Status::Failed;
            release.info.description = kind.failure_description(&name, &cause);
            persist(|| storage.update(&release)).await?;
            return Err(ReleaseError::Failed {
                operation: kind.noun(),
                name,
                cause: Box::new(cause),
                note: String::new(),
            });
        }
    };
    if kind == Kind::Uninstall {
        if finish.keep_history {
            release.info.status = Status::Uninstalled;
            release.info.deleted = Some(now());
            release.info.description = "Uninstallation complete".into();
            storage.update(&release).await?;
        } else {
            // The held (latest) record goes last, so the claim stands until the end.
            let mut versions: Vec<u64> = history
                .iter()
                .map(|s| s.release.version)
                .filter(|v| *v != release.version)
                .collect();
            versions.push(release.version);
            storage.purge(&name, versions).await?;
        }
        return Ok(Done { release, kept });
    }
    release.info.status = Status::Deployed;
    release.info.last_deployed = Some(now());
    // Deployed first: until the older ones are superseded, readers take the highest.
    persist(|| storage.update(&release))
        .await
        .map_err(unrecorded)?;
    let mut versions: Vec<(u64, Status)> = Vec::new();
    for stored in &history {
        let mut r = match &held {
            Some(h) if h.version == stored.release.version => h.clone(),
            _ => stored.release.clone(),
        };
        if r.info.status == Status::Deployed {
            r.info.status = Status::Superseded;
            persist(|| storage.update(&r)).await?;
        }
        versions.push((r.version, r.info.status));
    }
    versions.push((release.version, Status::Deployed));
    storage
        .prune_versions(&name, &versions, finish.history_max)
        .await?;
    Ok(Done {
        release,
        kept: Vec::new(),
    })
}

/// How long the record phase keeps retrying a write that fails transiently: the cluster
/// has the revision's objects by then, and a record left pending would misstate the release.
const RECORD_PERSISTENCE: Duration = Duration::from_secs(60);

/// Runs a record-phase write until it succeeds, fails for good, or transient failures
/// (each write already retries a few times) outlast [`RECORD_PERSISTENCE`].
async fn persist<F, Fut>(mut write: F) -> Result<(), StorageError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StorageError>>,
{
    let start = std::time::Instant::now();
    let mut delay = Duration::from_millis(500);
    loop {
        match write().await {
            Err(StorageError::Kube(e))
                if e.is_transient() && start.elapsed() < RECORD_PERSISTENCE =>
            {
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            other => return other,
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
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

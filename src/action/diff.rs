//! `rudder diff upgrade|rollback|revision|release`: what an operation would change, as the
//! API server would really produce it. Each object the operation would apply is sent as a
//! server-side apply dry-run (`dryRun=All`, rudder's field manager) and the result compared
//! with the live object, so defaulted fields and fields other managers own show as they
//! would end up; objects the operation would prune are removals. Dry-runs run in parallel
//! with bounded concurrency; a forbidden (403) dry-run falls back, for that object only, to
//! a client-side merge of the manifest into the live object, with a one-line note.
//!
//! Hooks are not compared: they run during an operation rather than stay applied. Drift
//! (`diff release`) covers the fields the release sets and objects it lost; fields only
//! other managers set (an added label) are theirs, as an upgrade would leave them.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use futures::StreamExt as _;
use serde_json::Value;

use crate::action::config::Configuration;
use crate::action::install::DeployOptions;
use crate::action::install::{plan_install, render_for_install};
use crate::action::lifecycle::{
    self, Identity, Prepared, ReleaseError, UnknownKinds, identity, is_kept, parse_manifest,
    prepare, removed, stored_objects, validate_name,
};
use crate::action::rollback::plan_rollback;
use crate::action::upgrade::{needs_install, plan_upgrade};
use crate::diff::{Pair, fold_string_data};
use crate::engine::ReleaseInfo;
use crate::kube::{ApplyOptions, Cluster, KubeError, ObjectRef};
use crate::storage::{Release, Status};

/// How many dry-runs are in flight at once.
pub const CONCURRENCY: usize = 32;

/// How the dry-runs are sent.
#[derive(Debug, Clone)]
pub struct DiffSettings {
    pub field_manager: String,
    pub force_conflicts: bool,
    pub take_ownership: bool,
}

impl Default for DiffSettings {
    fn default() -> Self {
        DiffSettings {
            field_manager: "rudder".into(),
            force_conflicts: false,
            take_ownership: false,
        }
    }
}

fn pair_for(r: &ObjectRef) -> Pair {
    Pair {
        api_version: r.api_version.clone(),
        kind: r.kind.clone(),
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        ..Default::default()
    }
}

/// `diff upgrade`: the objects `rudder upgrade` (with `--install` semantics for a release
/// that does not exist) would apply and prune, against the live objects: the upgrade's own
/// plan, compared instead of executed.
pub async fn diff_upgrade(
    config: &Configuration,
    opts: &DeployOptions,
    settings: &DiffSettings,
) -> Result<Vec<Pair>, ReleaseError> {
    validate_name(&opts.name)?;
    let chart = crate::chart::load(&opts.chart)?;
    let new_values = opts.values.merge()?;
    let namespace = config.storage.namespace().to_string();
    let history = config.storage.history_stored(&opts.name).await?;
    // Planned as a server dry run: lookups ask the cluster, CRDs are not installed.
    let opts = DeployOptions {
        settings: crate::action::lifecycle::ApplySettings {
            take_ownership: settings.take_ownership,
            ..opts.settings.clone()
        },
        dry_run: crate::action::lifecycle::DryRun::Server,
        ..opts.clone()
    };
    if opts.create_namespace && !namespace_exists(config, &namespace).await? {
        // Nothing to compare with and no namespace to dry-run in: every object is added.
        let version = history.last().map_or(1, |l| l.release.version + 1);
        let info = ReleaseInfo::new(&opts.name, &namespace, version, false);
        let offline = DeployOptions {
            dry_run: crate::action::lifecycle::DryRun::Client,
            ..opts.clone()
        };
        let rendered = render_for_install(config, chart, &new_values, info, &offline).await?;
        let objects = rendered
            .manifests
            .iter()
            .filter(|m| m.is_object())
            .map(crate::manifest::Manifest::object)
            .collect();
        let unknown = UnknownKinds::AssumeNamespaced;
        let prepared = prepare(config, objects, &opts.name, &namespace, true, unknown).await?;
        return Ok(prepared
            .into_iter()
            .map(|p| Pair {
                after: Some(p.object),
                ..pair_for(&p.r)
            })
            .collect());
    }
    let (objects, old, owned, crds) = if needs_install(&history) {
        let version = history.last().map_or(1, |l| l.release.version + 1);
        let info = ReleaseInfo::new(&opts.name, &namespace, version, false);
        let rendered = render_for_install(config, chart, &new_values, info, &opts).await?;
        let plan =
            plan_install(config, &opts, &rendered, new_values, version, history, true).await?;
        (plan.apply, Vec::new(), plan.owned, plan.crds)
    } else {
        let plan = plan_upgrade(config, &opts, history, chart, new_values, true).await?;
        (plan.apply, plan.delete, plan.owned, plan.crds)
    };
    let mut pairs = compare(config, &objects, &old, &owned, settings).await?;
    // CRD changes of `crds/`, predicted as the upgrade applies them (taking fields over).
    let crds: Vec<Prepared> = crds.into_iter().map(|c| c.object).collect();
    let forced = DiffSettings {
        force_conflicts: true,
        ..settings.clone()
    };
    pairs.extend(compare(config, &crds, &[], &BTreeSet::new(), &forced).await?);
    Ok(pairs)
}

async fn namespace_exists(config: &Configuration, namespace: &str) -> Result<bool, ReleaseError> {
    let r = ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: namespace.into(),
    };
    Ok(config.get(&r).await?.is_some())
}

/// What `rudder upgrade --dry-run=server` shows: the report of [`diff_upgrade`] with the
/// upgrade's own apply settings and Secrets masked; print it with [`crate::diff::render`].
pub async fn server_dry_run(
    config: &Configuration,
    opts: &DeployOptions,
) -> Result<crate::diff::Report, ReleaseError> {
    let settings = DiffSettings {
        field_manager: opts.settings.field_manager.clone(),
        force_conflicts: opts.settings.force_conflicts,
        take_ownership: opts.settings.take_ownership,
    };
    let pairs = diff_upgrade(config, opts, &settings).await?;
    Ok(crate::diff::Report::build(
        pairs,
        crate::diff::SecretMode::Mask,
    ))
}

/// `diff rollback`: the stored objects of `revision` (0: the one before the latest) as a
/// rollback would apply them, and what it would prune: the rollback's own plan.
pub async fn diff_rollback(
    config: &Configuration,
    name: &str,
    revision: u64,
    settings: &DiffSettings,
) -> Result<Vec<Pair>, ReleaseError> {
    let history = config.storage.history_stored(name).await?;
    let latest = history
        .last()
        .map(|s| s.release.version)
        .ok_or_else(|| config.storage.not_found(name))?;
    if revision == 0 && latest <= 1 {
        return Err(ReleaseError::NoPrevious {
            name: name.into(),
            latest,
        });
    }
    let plan = plan_rollback(config, name, revision, history).await?;
    compare(config, &plan.apply, &plan.delete, &plan.owned, settings).await
}

/// `diff revision`: the stored manifests of two revisions (`rev2` 0: the latest), object
/// by object; the cluster's live objects are not consulted.
pub async fn diff_revision(
    config: &Configuration,
    name: &str,
    rev1: u64,
    rev2: u64,
) -> Result<Vec<Pair>, ReleaseError> {
    let storage = &config.storage;
    let cluster = &config.cluster;
    let first = storage.get(name, rev1).await?;
    let second = storage.get(name, rev2).await?;
    let objects = |release: Release| async move {
        let parsed = parse_manifest(&release.manifest)?;
        prepare(
            cluster,
            parsed.into_iter().map(|o| o.object).collect(),
            &release.name,
            &release.namespace,
            false,
            UnknownKinds::AssumeNamespaced,
        )
        .await
    };
    let mut by_identity: BTreeMap<Identity, Pair> = BTreeMap::new();
    for p in objects(first).await? {
        let mut pair = pair_for(&p.r);
        pair.before = Some(p.object);
        by_identity.insert(identity(&p.r), pair);
    }
    for p in objects(second).await? {
        let entry = by_identity
            .entry(identity(&p.r))
            .or_insert_with(|| pair_for(&p.r));
        entry.api_version = p.r.api_version.clone();
        entry.after = Some(p.object);
    }
    Ok(by_identity.into_values().collect())
}

/// `diff release`: drift. For each object of the last deployed revision, what re-applying
/// it would restore (a forced dry-run: rudder's fields as the revision set them, other
/// managers' fields as they are) against the live object; deleted objects are removals.
pub async fn diff_release(
    config: &Configuration,
    name: &str,
    settings: &DiffSettings,
) -> Result<Vec<Pair>, ReleaseError> {
    let storage = &config.storage;
    let cluster = &config.cluster;
    let history = storage.history(name).await?;
    let deployed = history
        .iter()
        .rev()
        .find(|r| r.info.status == Status::Deployed)
        .ok_or_else(|| ReleaseError::NothingDeployedToCompare {
            name: name.into(),
            namespace: cluster.namespace.clone(),
        })?;
    let objects = stored_objects(cluster, deployed).await?;
    let checks: Vec<_> = objects
        .iter()
        .map(|p| drift_one(cluster, p, settings))
        .collect();
    let results: Vec<Result<Pair, ReleaseError>> = futures::stream::iter(checks)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.into_iter().collect()
}

async fn drift_one(
    cluster: &Cluster,
    p: &Prepared,
    settings: &DiffSettings,
) -> Result<Pair, ReleaseError> {
    let mut pair = pair_for(&p.r);
    let options = ApplyOptions {
        field_manager: settings.field_manager.clone(),
        force: true,
        dry_run: true,
    };
    let mut attempt = 1;
    let (live, result) = loop {
        let live = get_live(cluster, &p.r).await?;
        let result = cluster.apply(&p.object, &options).await;
        if attempt < SNAPSHOT_ATTEMPTS && changed_between(live.as_ref(), &result) {
            attempt += 1;
            continue;
        }
        break (live, result);
    };
    let applied = match result {
        Ok(applied) => applied,
        Err(KubeError::Forbidden { .. }) | Err(KubeError::UnknownKind { .. }) => {
            pair.note = Some(fallback_note(&p.r));
            client_side(live.as_ref(), None, &p.object)
        }
        Err(e) => return Err(e.into()),
    };
    // The revision's state is what re-applying would give; the live object is "after".
    pair.before = Some(applied);
    pair.after = live;
    Ok(pair)
}

async fn get_live(cluster: &Cluster, r: &ObjectRef) -> Result<Option<Value>, ReleaseError> {
    match cluster.get(r).await {
        Ok(live) => Ok(live),
        // A kind the cluster does not serve yet has no live objects.
        Err(KubeError::UnknownKind { .. }) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// How often a live object and its dry-run are fetched again when a controller changed the
/// object in between (the two would otherwise show that change as a difference).
const SNAPSHOT_ATTEMPTS: u32 = 5;

/// Whether the object changed between reading it and the dry-run: the dry-run answers
/// with the resourceVersion it started from.
fn changed_between(live: Option<&Value>, result: &Result<Value, KubeError>) -> bool {
    let version = |v: &Value| {
        v.pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .map(String::from)
    };
    match (live, result) {
        (Some(live), Ok(applied)) => version(live) != version(applied),
        _ => false,
    }
}

fn fallback_note(r: &ObjectRef) -> String {
    format!("{r}: server-side dry-run forbidden; compared client-side with the live object")
}

/// Predicts every object of `objects` and lists the removals of what `old` had and
/// `objects` no longer has (objects kept by `helm.sh/resource-policy: keep` stay).
async fn compare(
    cluster: &Cluster,
    objects: &[Prepared],
    old: &[Prepared],
    owned: &BTreeSet<Identity>,
    settings: &DiffSettings,
) -> Result<Vec<Pair>, ReleaseError> {
    let previous: HashMap<Identity, &Value> =
        old.iter().map(|p| (identity(&p.r), &p.object)).collect();
    let predictions: Vec<_> = objects
        .iter()
        .map(|p| {
            let previous = previous.get(&identity(&p.r)).copied();
            predict(cluster, p, previous, owned, settings)
        })
        .collect();
    let mut results: Vec<Result<Pair, ReleaseError>> = futures::stream::iter(predictions)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let prune: Vec<Prepared> = removed(old, objects)
        .into_iter()
        .filter(|p| !is_kept(&p.object))
        .collect();
    let removals: Vec<_> = prune
        .iter()
        .map(|p| async move {
            let mut pair = pair_for(&p.r);
            pair.before = get_live(cluster, &p.r).await?;
            Ok::<Pair, ReleaseError>(pair)
        })
        .collect();
    let removal_results: Vec<Result<Pair, ReleaseError>> = futures::stream::iter(removals)
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    results.extend(removal_results);
    results.into_iter().collect()
}

/// The live object and what a server-side apply of `p` would make of it.
async fn predict(
    cluster: &Cluster,
    p: &Prepared,
    previous: Option<&Value>,
    owned: &BTreeSet<Identity>,
    settings: &DiffSettings,
) -> Result<Pair, ReleaseError> {
    let mut pair = pair_for(&p.r);
    let options = ApplyOptions {
        field_manager: settings.field_manager.clone(),
        force: settings.force_conflicts,
        dry_run: true,
    };
    let mut attempt = 1;
    let (live, result) = loop {
        let live = get_live(cluster, &p.r).await?;
        let result = match cluster.apply(&p.object, &options).await {
            Err(KubeError::FieldConflict { object, message }) => {
                // upgrade takes fields over from helm on objects already in the release.
                if owned.contains(&identity(&p.r))
                    && lifecycle::conflicts_only_with_takeover_managers(&message)
                {
                    let forced = ApplyOptions {
                        force: true,
                        ..options.clone()
                    };
                    cluster.apply(&p.object, &forced).await
                } else {
                    Err(KubeError::FieldConflict { object, message })
                }
            }
            other => other,
        };
        if attempt < SNAPSHOT_ATTEMPTS && changed_between(live.as_ref(), &result) {
            attempt += 1;
            continue;
        }
        break (live, result);
    };
    pair.after = Some(match result {
        Ok(after) => after,
        Err(KubeError::Forbidden { .. }) | Err(KubeError::UnknownKind { .. }) => {
            pair.note = Some(fallback_note(&p.r));
            client_side(live.as_ref(), previous, &p.object)
        }
        // A new object in a namespace that does not exist yet (`--create-namespace`).
        Err(KubeError::NotFound { .. }) if live.is_none() => {
            pair.note = Some(format!(
                "{}: its namespace does not exist yet; shown as rendered",
                p.r
            ));
            client_side(None, previous, &p.object)
        }
        Err(e) => return Err(e.into()),
    });
    pair.before = live;
    Ok(pair)
}

/// A client-side approximation of server-side apply: the live object, minus what the
/// previous manifest set and the new one no longer does, with the new manifest merged in
/// (mappings deeply, lists of named items by name, other lists replaced).
pub fn client_side(live: Option<&Value>, previous: Option<&Value>, manifest: &Value) -> Value {
    let mut manifest = manifest.clone();
    fold_string_data(&mut manifest);
    let Some(live) = live else {
        return manifest;
    };
    let mut result = live.clone();
    if let Some(previous) = previous {
        let mut previous = previous.clone();
        fold_string_data(&mut previous);
        remove_dropped(&mut result, &previous, &manifest);
    }
    overlay(&mut result, &manifest);
    result
}

fn remove_dropped(target: &mut Value, previous: &Value, new: &Value) {
    let (Some(target), Some(previous)) = (target.as_object_mut(), previous.as_object()) else {
        return;
    };
    for (key, old_value) in previous {
        match new.get(key) {
            None => {
                target.remove(key);
            }
            Some(new_value) => {
                if let Some(t) = target.get_mut(key) {
                    remove_dropped(t, old_value, new_value);
                }
            }
        }
    }
}

/// The keys Kubernetes merges lists of objects by (containers and env by name, ports by
/// number, volume mounts by path, …).
const MERGE_KEYS: &[&str] = &[
    "name",
    "containerPort",
    "port",
    "mountPath",
    "devicePath",
    "ip",
    "type",
];

/// The merge key every item of both lists carries, if any.
fn merge_key(target: &[Value], source: &[Value]) -> Option<&'static str> {
    MERGE_KEYS.iter().copied().find(|key| {
        target
            .iter()
            .chain(source)
            .all(|i| i.get(*key).is_some_and(|k| !k.is_null()))
    })
}

fn overlay(target: &mut Value, source: &Value) {
    match (target, source) {
        (Value::Object(t), Value::Object(s)) => {
            for (key, value) in s {
                match t.get_mut(key) {
                    Some(existing) => overlay(existing, value),
                    None => {
                        t.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (Value::Array(t), Value::Array(s)) if !s.is_empty() && merge_key(t, s).is_some() => {
            let key = merge_key(t, s).expect("checked above");
            let merged = s
                .iter()
                .map(|item| {
                    let mut base = t
                        .iter()
                        .find(|x| x.get(key) == item.get(key))
                        .cloned()
                        .unwrap_or_else(|| item.clone());
                    overlay(&mut base, item);
                    base
                })
                .collect();
            *t = merged;
        }
        (t, s) => *t = s.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn client_side_merge_keeps_other_fields_drops_released_ones_and_merges_by_name() {
        let live = json!({"spec": {"replicas": 5, "paused": false, "template": {"containers": [
            {"name": "app", "image": "a:1", "imagePullPolicy": "IfNotPresent"}]}}});
        let previous = json!({"spec": {"paused": false, "template": {"containers": [
            {"name": "app", "image": "a:1"}]}}});
        let manifest = json!({"spec": {"template": {"containers": [
            {"name": "app", "image": "a:2"}]}}});
        let merged = client_side(Some(&live), Some(&previous), &manifest);
        assert_eq!(
            merged,
            json!({"spec": {"replicas": 5, "template": {"containers": [
                {"name": "app", "image": "a:2", "imagePullPolicy": "IfNotPresent"}]}}})
        );
    }

    #[test]
    fn client_side_secrets_compare_as_stored() {
        let manifest = json!({"kind": "Secret", "stringData": {"p": "x"}});
        assert_eq!(
            client_side(None, None, &manifest),
            json!({"kind": "Secret", "data": {"p": "eA=="}})
        );
    }
}

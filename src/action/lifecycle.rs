//! What the release verbs share besides the operation itself (`operation.rs`): the
//! release error type, building revision records, preparing objects (namespaces, helm's
//! labels), ownership checks, applying in install order and deleting in uninstall order,
//! hooks, waiting, and the outputs of the status-like commands.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::Duration;

use futures::StreamExt as _;
use serde_json::{Value, json};

use crate::action::render::{RenderError, RenderedRelease, render_release};
use crate::chart::{Chart, ChartError};
use crate::engine::{Capabilities, KubeVersion, ReleaseInfo, RenderOptions};
use crate::kube::{
    ApplyOptions, Cluster, KubeError, MANAGED_BY, MANAGED_BY_LABEL, ObjectRef,
    RELEASE_NAME_ANNOTATION, RELEASE_NAMESPACE_ANNOTATION, RESOURCE_POLICY_ANNOTATION, wait,
};
use crate::manifest::{
    HookEvent, INSTALL_ORDER, Manifest, UNINSTALL_ORDER, compare_kinds, depends,
};
use crate::storage::release::{HookExecution, HookRecord, now};
use crate::storage::{Release, Status, StorageError, Stored};
use crate::values::ValuesError;

/// Why a release operation failed.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    #[error(transparent)]
    Chart(#[from] ChartError),
    #[error(transparent)]
    Values(#[from] ValuesError),
    #[error(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Kube(#[from] KubeError),
    #[error(
        "invalid release name {0:?}: a release name must be at most 53 characters of lowercase letters, digits and '-', starting and ending with a letter or digit"
    )]
    InvalidName(String),
    #[error(
        "cannot re-use a name that is still in use: release {name:?} already exists in namespace {namespace:?} (revision {version}, {status})"
    )]
    NameInUse {
        name: String,
        namespace: String,
        version: u64,
        status: Status,
    },
    #[error("{name:?} has no deployed releases in namespace {namespace:?}")]
    NotInstalled { name: String, namespace: String },
    #[error(
        "release {name:?} has no deployed revision in namespace {namespace:?} to compare the live objects with"
    )]
    NothingDeployedToCompare { name: String, namespace: String },
    #[error("there is no revision before {latest} of {name:?} to roll back to")]
    NoPrevious { name: String, latest: u64 },
    #[error(transparent)]
    Depends(#[from] depends::DependsError),
    #[error(
        "CRD {crd} cannot be upgraded safely: {problems} (nothing was changed; --force-crds upgrades it anyway, --skip-crds leaves it as it is)"
    )]
    UnsafeCrdUpgrade { crd: String, problems: String },
    #[error(
        "{object} exists and cannot be imported into release {release:?}: {why}; rerun with --take-ownership to adopt it"
    )]
    Ownership {
        object: String,
        release: String,
        why: String,
    },
    #[error("hook {hook} ({event}) failed: {reason}")]
    Hook {
        hook: String,
        event: HookEvent,
        reason: String,
    },
    #[error("release {name:?} is already uninstalled")]
    AlreadyUninstalled { name: String },
    #[error("{0}")]
    Invalid(String),
    #[error("{operation} of release {name:?} failed: {cause}{note}")]
    Failed {
        operation: &'static str,
        name: String,
        cause: Box<ReleaseError>,
        /// What happened afterwards (`; rolled back to revision 2`).
        note: String,
    },
}

impl ReleaseError {
    /// A [`ReleaseError::Failed`] with `more` added to its note (what was done after the
    /// failure, such as an `--atomic` rollback); any other error as it is.
    pub fn noted(self, more: &str) -> ReleaseError {
        match self {
            ReleaseError::Failed {
                operation,
                name,
                cause,
                mut note,
            } => {
                note.push_str(more);
                ReleaseError::Failed {
                    operation,
                    name,
                    cause,
                    note,
                }
            }
            other => other,
        }
    }
}

/// `--dry-run`: `client` renders only; `server` also sends every object with `dryRun=All`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DryRun {
    #[default]
    None,
    Client,
    Server,
}

/// How objects are written and waited for.
#[derive(Debug, Clone)]
pub struct ApplySettings {
    pub field_manager: String,
    pub force_conflicts: bool,
    pub take_ownership: bool,
    pub wait: bool,
    pub wait_for_jobs: bool,
    pub timeout: Duration,
    pub no_hooks: bool,
    /// Suppress progress lines (tests).
    pub quiet: bool,
    /// `--logs`: log lines of failing containers shown when waiting fails.
    pub log_lines: usize,
}

impl ApplySettings {
    /// How `--wait` waits for the release's objects.
    pub fn wait_options(&self) -> wait::WaitOptions {
        wait::WaitOptions {
            timeout: self.timeout,
            wait_for_jobs: self.wait_for_jobs,
            quiet: self.quiet,
            log_lines: self.log_lines,
        }
    }

    /// How CRDs are waited for (until Established, quietly).
    pub fn crd_wait_options(&self) -> wait::WaitOptions {
        wait::WaitOptions {
            wait_for_jobs: false,
            quiet: true,
            ..self.wait_options()
        }
    }
}

impl Default for ApplySettings {
    fn default() -> Self {
        ApplySettings {
            field_manager: "rudder".into(),
            force_conflicts: false,
            take_ownership: false,
            wait: false,
            wait_for_jobs: false,
            timeout: Duration::from_secs(300),
            no_hooks: false,
            quiet: false,
            log_lines: 20,
        }
    }
}

/// Checks a release name as helm does (DNS-1123 label, at most 53 characters).
pub fn validate_name(name: &str) -> Result<(), ReleaseError> {
    let ok = !name.is_empty()
        && name.len() <= 53
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && !name.starts_with('-')
        && !name.ends_with('-');
    if ok {
        Ok(())
    } else {
        Err(ReleaseError::InvalidName(name.to_string()))
    }
}

/// What templates see of the cluster: its version, and the API versions it serves on top
/// of the built-in list.
pub async fn capabilities(cluster: &Cluster) -> Result<Capabilities, ReleaseError> {
    let (version, served) = futures::join!(cluster.server_version(), cluster.api_versions());
    let mut caps = Capabilities::default();
    if let Ok(v) = KubeVersion::parse(&version?) {
        caps.kube_version = v;
    }
    // A cluster that refuses discovery still renders, with the built-in list.
    for gv in served.unwrap_or_default() {
        if !caps.api_versions.contains(&gv) {
            caps.api_versions.push(gv);
        }
    }
    Ok(caps)
}

/// Renders a release for an operation on `cluster`. With `connected` (install, upgrade,
/// diff and server dry-runs, as in helm), templates' `lookup` asks the cluster; otherwise
/// it finds nothing, as in `template` and client dry-runs.
///
/// The render runs on a blocking thread: its templates render on rayon threads that wait
/// for lookups answered by this runtime, so no runtime worker may be blocked in it.
pub async fn render_on_cluster(
    cluster: &Cluster,
    chart: Chart,
    values: &crate::values::Values,
    info: ReleaseInfo,
    capabilities: Capabilities,
    connected: bool,
    set_integers: std::sync::Arc<Vec<crate::values::ValuePath>>,
) -> Result<RenderedRelease, ReleaseError> {
    let options = RenderOptions {
        release: info,
        capabilities,
        lookup: connected.then(|| cluster.lookup_hook()),
        strict: false,
        set_integers,
    };
    let values = values.clone();
    let render = move || -> Result<RenderedRelease, crate::action::render::RenderError> {
        let rendered = render_release(chart, values, options)?;
        rendered.check_applicable()?;
        Ok(rendered)
    };
    match tokio::task::spawn_blocking(render).await {
        Ok(rendered) => Ok(rendered?),
        Err(e) => match e.try_into_panic() {
            Ok(panic) => std::panic::resume_unwind(panic),
            Err(e) => Err(ReleaseError::Invalid(format!(
                "rendering the chart was cancelled: {e}"
            ))),
        },
    }
}

/// The revision record of a freshly rendered release.
pub fn record(
    name: &str,
    namespace: &str,
    version: u64,
    rendered: &RenderedRelease,
    config: crate::values::Values,
    status: Status,
    description: &str,
) -> Release {
    let t = now();
    Release {
        name: name.into(),
        namespace: namespace.into(),
        version,
        info: crate::storage::Info {
            first_deployed: Some(t),
            last_deployed: Some(t),
            deleted: None,
            description: description.into(),
            status,
            notes: rendered.notes.clone().unwrap_or_default(),
            resources: None,
        },
        chart: Some(crate::storage::ReleaseChart::from_chart(&rendered.chart)),
        config,
        manifest: crate::manifest::to_helm_output(&rendered.manifests),
        hooks: rendered.hooks.iter().map(hook_record).collect(),
        apply_method: "ssa".into(),
    }
}

fn hook_record(m: &Manifest) -> HookRecord {
    let hook = m.hook.clone().expect("hooks carry hook annotations");
    HookRecord {
        name: m.name.clone(),
        kind: m.kind.clone(),
        path: m.source.clone(),
        manifest: m.text.clone(),
        events: hook.events.iter().map(|e| e.as_str().to_string()).collect(),
        last_run: HookExecution::default(),
        weight: hook.weight,
        delete_policies: hook
            .delete_policies
            .iter()
            .map(|p| p.as_str().to_string())
            .collect(),
        output_log_policies: Vec::new(),
    }
}

/// One object of a stored manifest.
#[derive(Debug, Clone)]
pub struct StoredObject {
    pub source: String,
    pub object: Value,
}

/// Parses a release's `manifest` (`---\n# Source: …\n<yaml>` documents) back into objects.
pub fn parse_manifest(text: &str) -> Result<Vec<StoredObject>, ReleaseError> {
    let mut out = Vec::new();
    let mut docs: Vec<String> = vec![String::new()];
    for line in text.lines() {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else {
            let doc = docs.last_mut().expect("at least one document");
            doc.push_str(line);
            doc.push('\n');
        }
    }
    for doc in docs {
        let source = doc
            .lines()
            .find_map(|l| l.strip_prefix("# Source: "))
            .unwrap_or("")
            .to_string();
        let object: Value = serde_yaml::from_str(&doc).map_err(|e| {
            ReleaseError::Invalid(format!(
                "the stored manifest of {source} is not valid YAML: {e}"
            ))
        })?;
        if object.is_object() {
            out.push(StoredObject { source, object });
        }
    }
    Ok(out)
}

/// Hook records parsed back into objects with their hook annotations.
pub fn hook_manifests(release: &Release) -> Vec<Manifest> {
    // Parsed the way rendered templates are; the full object is built when a hook runs.
    // A summary's guard hook is for helm only (see `storage::driver::kube::layout`).
    release
        .hooks
        .iter()
        .filter(|h| !crate::storage::driver::kube::is_guard_hook(h))
        .filter_map(|h| crate::manifest::parse_template(&h.path, &h.manifest).ok())
        .flatten()
        .filter(|m| m.hook.is_some())
        .collect()
}

/// An object prepared for apply: namespace resolved, helm's labels and annotations set.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub r: ObjectRef,
    pub object: Value,
}

/// An object's group (not version), kind, namespace and name, as [`identity`] gives them.
pub(crate) type Identity = (String, String, String, String);

/// Identity used to compare revisions: group (not version), kind, namespace, name.
pub fn identity(r: &ObjectRef) -> Identity {
    let group = r
        .api_version
        .split_once('/')
        .map(|(g, _)| g.to_string())
        .unwrap_or_default();
    (
        group,
        r.kind.clone(),
        r.namespace.clone().unwrap_or_default(),
        r.name.clone(),
    )
}

/// The custom kinds a release defines with CRDs of its own (in `crds/` or among its
/// objects): the cluster may not serve them until the release is applied.
#[derive(Debug, Default)]
pub struct ReleaseKinds(Vec<DefinedKind>);

#[derive(Debug)]
struct DefinedKind {
    group: String,
    versions: Vec<String>,
    kind: String,
    namespaced: bool,
}

impl ReleaseKinds {
    /// The kinds defined by the CRDs among `objects`.
    pub fn defined_by<'a>(objects: impl IntoIterator<Item = &'a Value>) -> ReleaseKinds {
        let defined = objects
            .into_iter()
            .filter(|o| o["kind"] == "CustomResourceDefinition")
            .filter_map(|crd| {
                let spec = &crd["spec"];
                Some(DefinedKind {
                    group: spec["group"].as_str()?.to_string(),
                    versions: spec["versions"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|v| v["name"].as_str().map(str::to_string))
                        .chain(spec["version"].as_str().map(str::to_string))
                        .collect(),
                    kind: spec["names"]["kind"].as_str()?.to_string(),
                    namespaced: spec["scope"] != "Cluster",
                })
            })
            .collect();
        ReleaseKinds(defined)
    }

    /// The kinds defined by a rendered release's `crds/` files and CRD templates.
    pub fn of(rendered: &RenderedRelease) -> Result<ReleaseKinds, ReleaseError> {
        let crds = crd_objects(rendered)?;
        let objects: Vec<Value> = rendered
            .manifests
            .iter()
            .chain(&rendered.hooks)
            .filter(|m| m.kind == "CustomResourceDefinition" && m.is_object())
            .map(Manifest::object)
            .collect();
        Ok(ReleaseKinds::defined_by(crds.iter().chain(&objects)))
    }

    /// Whether `kind` in `api_version` is namespaced, when the release defines it.
    fn namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        let (group, version) = api_version.split_once('/')?;
        self.0
            .iter()
            .find(|d| d.group == group && d.kind == kind && d.versions.iter().any(|v| v == version))
            .map(|d| d.namespaced)
    }
}

/// The objects of a rendered release's `crds/` files.
pub fn crd_objects(rendered: &RenderedRelease) -> Result<Vec<Value>, ReleaseError> {
    let mut objects = Vec::new();
    for file in &rendered.crds {
        for doc in serde_yaml::Deserializer::from_str(&file.content) {
            let object: Value = serde::Deserialize::deserialize(doc)
                .map_err(|e| ReleaseError::Invalid(format!("{}: invalid YAML: {e}", file.path)))?;
            if object.is_object() {
                objects.push(object);
            }
        }
    }
    Ok(objects)
}

/// What [`prepare`] does with a kind the cluster does not serve.
#[derive(Clone, Copy)]
pub enum UnknownKinds<'a> {
    /// Refuse it unless the release defines it with a CRD of its own (objects about to
    /// be applied: nothing may be written for a release that cannot be applied whole).
    Refuse(&'a ReleaseKinds),
    /// Assume it namespaced (objects only read or deleted, whose CRD may be gone).
    AssumeNamespaced,
}

/// Refuses, before anything is written, a rendered release with an object (hooks
/// included) of a kind the cluster does not serve and the release defines no CRD for,
/// naming the template it came from.
pub async fn check_kinds(
    cluster: &Cluster,
    rendered: &RenderedRelease,
    kinds: &ReleaseKinds,
) -> Result<(), ReleaseError> {
    for m in rendered.manifests.iter().chain(&rendered.hooks) {
        if !m.is_object() || kinds.namespaced(&m.api_version, &m.kind).is_some() {
            continue;
        }
        let mut r = ObjectRef::of(&m.object());
        match cluster.scope(&mut r, "default").await {
            Err(KubeError::UnknownKind {
                api_version, kind, ..
            }) => {
                return Err(ReleaseError::Invalid(format!(
                    "{}: the cluster does not serve kind {kind} in apiVersion {api_version} and no CRD of the chart defines it; install its CRD first (nothing was changed)",
                    m.source
                )));
            }
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// [`prepare`] for a release's rendered (non-hook) manifests, labelled for ownership;
/// every kind must be served by the cluster or defined by the release ([`check_kinds`]).
pub async fn prepare_rendered(
    cluster: &Cluster,
    rendered: &RenderedRelease,
    release: &str,
    namespace: &str,
) -> Result<Vec<Prepared>, ReleaseError> {
    let kinds = ReleaseKinds::of(rendered)?;
    check_kinds(cluster, rendered, &kinds).await?;
    let objects = rendered
        .manifests
        .iter()
        .filter(|m| m.is_object())
        .map(Manifest::object)
        .collect();
    let unknown = UnknownKinds::Refuse(&kinds);
    let prepared = prepare(cluster, objects, release, namespace, true, unknown).await?;
    // An ordering that cannot be followed is refused before anything is written.
    depends_graph(&prepared)?;
    Ok(prepared)
}

/// Sets the namespace (namespaced kinds) and helm's ownership metadata on each object.
/// Kinds the cluster does not serve yet are handled as `unknown` says (a release's own
/// CRDs give their scope).
pub async fn prepare(
    cluster: &Cluster,
    objects: Vec<Value>,
    release: &str,
    namespace: &str,
    label_ownership: bool,
    unknown: UnknownKinds<'_>,
) -> Result<Vec<Prepared>, ReleaseError> {
    let mut out = Vec::new();
    for mut object in objects {
        let mut r = ObjectRef::of(&object);
        match cluster.scope(&mut r, namespace).await {
            Ok(_) => {}
            Err(e @ KubeError::UnknownKind { .. }) => {
                let namespaced = match unknown {
                    UnknownKinds::AssumeNamespaced => true,
                    UnknownKinds::Refuse(kinds) => kinds
                        .namespaced(&r.api_version, &r.kind)
                        .ok_or(ReleaseError::Kube(e))?,
                };
                if !namespaced {
                    r.namespace = None;
                } else if r.namespace.is_none() {
                    r.namespace = Some(namespace.to_string());
                }
            }
            Err(e) => return Err(e.into()),
        }
        let meta = object
            .as_object_mut()
            .expect("manifests are mappings")
            .entry("metadata")
            .or_insert_with(|| json!({}));
        if !meta.is_object() {
            *meta = json!({});
        }
        match &r.namespace {
            Some(ns) => meta["namespace"] = json!(ns),
            None => {
                meta.as_object_mut().expect("object").remove("namespace");
            }
        }
        if label_ownership {
            if !meta.get("labels").is_some_and(Value::is_object) {
                meta["labels"] = json!({});
            }
            meta["labels"][MANAGED_BY_LABEL] = json!(MANAGED_BY);
            if !meta.get("annotations").is_some_and(Value::is_object) {
                meta["annotations"] = json!({});
            }
            meta["annotations"][RELEASE_NAME_ANNOTATION] = json!(release);
            meta["annotations"][RELEASE_NAMESPACE_ANNOTATION] = json!(namespace);
        }
        out.push(Prepared { r, object });
    }
    Ok(out)
}

/// Refuses objects that exist but belong to no release or to another one (unless
/// `take_ownership`). `owned` lists objects the previous revision already had.
pub async fn check_ownership(
    cluster: &Cluster,
    objects: &[Prepared],
    release: &str,
    namespace: &str,
    owned: &BTreeSet<Identity>,
    take_ownership: bool,
) -> Result<(), ReleaseError> {
    if take_ownership {
        return Ok(());
    }
    let to_check: Vec<&Prepared> = objects
        .iter()
        .filter(|p| !owned.contains(&identity(&p.r)))
        .collect();
    // Futures are built before any await so the operation stays `Send` (spawnable).
    let checks: Vec<_> = to_check
        .into_iter()
        .map(|p| async move {
            let live = match cluster.get(&p.r).await {
                Ok(live) => live,
                Err(KubeError::UnknownKind { .. }) => None,
                Err(e) => return Err(e.into()),
            };
            let Some(live) = live else { return Ok(()) };
            let label = live
                .pointer("/metadata/labels")
                .and_then(|l| l.get(MANAGED_BY_LABEL))
                .and_then(Value::as_str);
            let ann = |k: &str| {
                live.pointer("/metadata/annotations")
                    .and_then(|a| a.get(k))
                    .and_then(Value::as_str)
                    .map(String::from)
            };
            let owner = ann(RELEASE_NAME_ANNOTATION);
            let owner_ns = ann(RELEASE_NAMESPACE_ANNOTATION);
            if label == Some(MANAGED_BY)
                && owner.as_deref() == Some(release)
                && owner_ns.as_deref() == Some(namespace)
            {
                return Ok(());
            }
            let why = match (owner, owner_ns) {
                (Some(o), Some(ons)) if o != release || ons != namespace => {
                    format!("it belongs to release {o:?} in namespace {ons:?}")
                }
                _ => "it belongs to no release".to_string(),
            };
            Err(ReleaseError::Ownership {
                object: p.r.to_string(),
                release: release.to_string(),
                why,
            })
        })
        .collect();
    let results: Vec<Result<(), ReleaseError>> = futures::stream::iter(checks)
        .buffer_unordered(16)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Managers whose fields rudder takes over without `--force-conflicts` on objects already
/// in the release: helm itself (taking over a helm-installed release).
const TAKEOVER_MANAGERS: &[&str] = &["helm", "Helm"];

/// Applies objects in install order: kinds in waves (objects of one kind in parallel),
/// waiting for CRDs to be Established before anything after them.
pub async fn apply_all(
    cluster: &Cluster,
    objects: &[Prepared],
    settings: &ApplySettings,
    owned: &BTreeSet<Identity>,
    dry_run: bool,
) -> Result<(), ReleaseError> {
    let graph = depends_graph(objects)?;
    let mut waited: BTreeSet<usize> = BTreeSet::new();
    for layer in graph.layers() {
        // What this layer depends on must be ready first (a Job: complete).
        let needed: Vec<usize> = layer
            .iter()
            .flat_map(|&i| graph.depends_on[i].iter().copied())
            .filter(|j| !waited.contains(j))
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        if !needed.is_empty() && !dry_run {
            let refs: Vec<ObjectRef> = needed.iter().map(|&j| objects[j].r.clone()).collect();
            let options = wait::WaitOptions {
                wait_for_jobs: true,
                ..settings.wait_options()
            };
            wait::wait_ready(cluster, &refs, &options).await?;
        }
        waited.extend(needed);
        let wave: Vec<&Prepared> = layer.iter().map(|&i| &objects[i]).collect();
        apply_in_kind_order(cluster, wave, settings, owned, dry_run).await?;
    }
    Ok(())
}

/// The `rudder.io/depends-on` graph of a release's objects.
pub fn depends_graph(objects: &[Prepared]) -> Result<depends::Graph, ReleaseError> {
    let nodes: Vec<(depends::Node, &Value)> = objects
        .iter()
        .map(|p| {
            let node = depends::Node {
                kind: p.r.kind.clone(),
                namespace: p.r.namespace.clone(),
                name: p.r.name.clone(),
            };
            (node, &p.object)
        })
        .collect();
    Ok(depends::Graph::build(&nodes)?)
}

/// Applies objects in helm's install order, a kind at a time (each kind's objects in
/// parallel), waiting for CRDs to be Established before anything after them.
async fn apply_in_kind_order(
    cluster: &Cluster,
    mut sorted: Vec<&Prepared>,
    settings: &ApplySettings,
    owned: &BTreeSet<Identity>,
    dry_run: bool,
) -> Result<(), ReleaseError> {
    sorted.sort_by(|a, b| compare_kinds(&a.r.kind, &b.r.kind, INSTALL_ORDER));
    let mut start = 0;
    while start < sorted.len() {
        let kind = &sorted[start].r.kind;
        let end = start
            + sorted[start..]
                .iter()
                .take_while(|p| compare_kinds(&p.r.kind, kind, INSTALL_ORDER).is_eq())
                .count();
        let wave = &sorted[start..end];
        let applies: Vec<_> = wave
            .iter()
            .map(|p| apply_one(cluster, p, settings, owned, dry_run))
            .collect();
        let results: Vec<Result<(), ReleaseError>> = futures::stream::iter(applies)
            .buffer_unordered(16)
            .collect()
            .await;
        results.into_iter().collect::<Result<Vec<()>, _>>()?;
        let crds: Vec<ObjectRef> = wave
            .iter()
            .filter(|p| p.r.kind == "CustomResourceDefinition")
            .map(|p| p.r.clone())
            .collect();
        if !crds.is_empty() && !dry_run {
            wait::wait_ready(cluster, &crds, &settings.crd_wait_options()).await?;
        }
        start = end;
    }
    Ok(())
}

async fn apply_one(
    cluster: &Cluster,
    p: &Prepared,
    settings: &ApplySettings,
    owned: &BTreeSet<Identity>,
    dry_run: bool,
) -> Result<(), ReleaseError> {
    let options = ApplyOptions {
        field_manager: settings.field_manager.clone(),
        force: settings.force_conflicts,
        dry_run,
    };
    match cluster.apply(&p.object, &options).await {
        Ok(_) => Ok(()),
        Err(KubeError::FieldConflict { object, message }) => {
            if owned.contains(&identity(&p.r)) && conflicts_only_with_takeover_managers(&message) {
                let forced = ApplyOptions {
                    force: true,
                    ..options
                };
                cluster.apply(&p.object, &forced).await?;
                Ok(())
            } else {
                Err(KubeError::FieldConflict { object, message }.into())
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Whether every field conflict an apply reported (`conflict with "helm" using apps/v1:
/// .spec.replicas`, one per field) is with a manager rudder takes fields over from on
/// objects already in the release. Only the managers in conflict count: others owning
/// fields that do not conflict (the controller manager's status and revision annotation
/// on every Deployment) are no reason to refuse.
pub fn conflicts_only_with_takeover_managers(message: &str) -> bool {
    let managers: Vec<&str> = message
        .split("conflict with \"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect();
    !managers.is_empty() && managers.iter().all(|m| TAKEOVER_MANAGERS.contains(m))
}

/// Whether the object is annotated `helm.sh/resource-policy: keep`.
pub fn is_kept(object: &Value) -> bool {
    object
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(RESOURCE_POLICY_ANNOTATION))
        .and_then(Value::as_str)
        .is_some_and(|p| p.trim() == "keep")
}

/// Deletes objects in uninstall order, skipping kept ones; returns those kept. Objects
/// others depend on (`rudder.io/depends-on`) go only once those others are gone (each
/// wait bounded by `timeout`).
pub async fn delete_all(
    cluster: &Cluster,
    objects: &[Prepared],
    timeout: Duration,
) -> Result<Vec<ObjectRef>, ReleaseError> {
    // A graph that cannot be built (an object's dependency already pruned) only loses
    // the ordering: deletion must still go ahead.
    let layers = depends_graph(objects)
        .map(|g| g.layers())
        .unwrap_or_else(|_| vec![(0..objects.len()).collect()]);
    let mut kept = Vec::new();
    let last = layers.len().saturating_sub(1);
    for (n, layer) in layers.into_iter().rev().enumerate() {
        let mut sorted: Vec<&Prepared> = layer.iter().map(|&i| &objects[i]).collect();
        sorted.sort_by(|a, b| compare_kinds(&a.r.kind, &b.r.kind, UNINSTALL_ORDER));
        let mut to_delete = Vec::new();
        for p in sorted {
            if is_kept(&p.object) {
                kept.push(p.r.clone());
            } else {
                to_delete.push(p);
            }
        }
        if n < last {
            // Dependents first, gone before what they depend on is touched.
            let deletes: Vec<_> = to_delete
                .iter()
                .map(|p| delete_and_wait_gone(cluster, &p.r, timeout))
                .collect();
            let results: Vec<Result<(), ReleaseError>> =
                futures::stream::iter(deletes).buffered(16).collect().await;
            results.into_iter().collect::<Result<Vec<()>, _>>()?;
            continue;
        }
        let deletes: Vec<_> = to_delete
            .into_iter()
            .map(|p| cluster.delete(&p.r, false))
            .collect();
        let results: Vec<Result<bool, KubeError>> =
            futures::stream::iter(deletes).buffered(16).collect().await;
        for r in results {
            r?;
        }
    }
    Ok(kept)
}

/// Objects of `old` that `new` no longer has (by group, kind, namespace and name).
pub fn removed(old: &[Prepared], new: &[Prepared]) -> Vec<Prepared> {
    let keep: BTreeSet<_> = new.iter().map(|p| identity(&p.r)).collect();
    old.iter()
        .filter(|p| !keep.contains(&identity(&p.r)))
        .cloned()
        .collect()
}

/// Waits for the objects when `--wait` asked for it.
pub async fn wait_if_asked(
    cluster: &Cluster,
    objects: &[Prepared],
    settings: &ApplySettings,
) -> Result<(), ReleaseError> {
    if !settings.wait {
        return Ok(());
    }
    let refs: Vec<ObjectRef> = objects.iter().map(|p| p.r.clone()).collect();
    wait::wait_ready(cluster, &refs, &settings.wait_options()).await?;
    Ok(())
}

/// Runs the hooks of `event` in weight order, recording their last run in `release`.
pub async fn run_hooks(
    cluster: &Cluster,
    release: &mut Release,
    event: HookEvent,
    settings: &ApplySettings,
) -> Result<(), ReleaseError> {
    if settings.no_hooks {
        return Ok(());
    }
    let manifests = hook_manifests(release);
    let ordered = crate::manifest::hooks_for(event, &manifests);
    for m in ordered {
        let hook = m.hook.clone().expect("hooks have annotations");
        let prepared = prepare(
            cluster,
            vec![m.object()],
            &release.name,
            &release.namespace,
            false,
            UnknownKinds::AssumeNamespaced,
        )
        .await?
        .remove(0);
        use crate::manifest::HookDeletePolicy as P;
        if hook.delete_policies.contains(&P::BeforeHookCreation) {
            delete_and_wait_gone(cluster, &prepared.r, settings.timeout).await?;
        }
        let started = now();
        set_last_run(release, m, Some(started), None, "Running");
        let options = ApplyOptions {
            field_manager: settings.field_manager.clone(),
            force: true,
            dry_run: false,
        };
        cluster.apply(&prepared.object, &options).await?;
        let outcome = if matches!(m.kind.as_str(), "Job" | "Pod") {
            let options = wait::WaitOptions {
                wait_for_jobs: true,
                ..settings.wait_options()
            };
            wait::wait_ready(cluster, std::slice::from_ref(&prepared.r), &options).await
        } else {
            Ok(())
        };
        match outcome {
            Ok(()) => {
                set_last_run(release, m, Some(started), Some(now()), "Succeeded");
                if hook.delete_policies.contains(&P::HookSucceeded) {
                    cluster.delete(&prepared.r, false).await?;
                }
            }
            Err(e) => {
                set_last_run(release, m, Some(started), Some(now()), "Failed");
                if hook.delete_policies.contains(&P::HookFailed) {
                    let _ = cluster.delete(&prepared.r, false).await;
                }
                let reason = match e {
                    KubeError::Failed { reason, .. } => reason,
                    other => other.to_string(),
                };
                return Err(ReleaseError::Hook {
                    hook: prepared.r.to_string(),
                    event,
                    reason,
                });
            }
        }
    }
    Ok(())
}

fn set_last_run(
    release: &mut Release,
    m: &Manifest,
    started: Option<crate::storage::release::Time>,
    completed: Option<crate::storage::release::Time>,
    phase: &str,
) {
    if let Some(h) = release
        .hooks
        .iter_mut()
        .find(|h| h.name == m.name && h.kind == m.kind && h.path == m.source)
    {
        h.last_run = HookExecution {
            started_at: started,
            completed_at: completed,
            phase: phase.into(),
        };
    }
}

async fn delete_and_wait_gone(
    cluster: &Cluster,
    r: &ObjectRef,
    timeout: Duration,
) -> Result<(), ReleaseError> {
    if !cluster.delete(r, false).await? {
        return Ok(());
    }
    let start = std::time::Instant::now();
    while cluster.get(r).await?.is_some() {
        if start.elapsed() > timeout {
            return Err(KubeError::Timeout {
                what: format!("{r} to be deleted"),
                after: timeout,
            }
            .into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Ok(())
}

/// The objects of a stored release, prepared to be read or deleted (a kind the cluster no
/// longer serves is assumed namespaced).
pub async fn stored_objects(
    cluster: &Cluster,
    release: &Release,
) -> Result<Vec<Prepared>, ReleaseError> {
    prepare_stored(cluster, release, false).await
}

/// The objects of a stored release, prepared to be applied again (rollback): every kind
/// must be served by the cluster or defined by a CRD of the release.
pub async fn stored_objects_to_apply(
    cluster: &Cluster,
    release: &Release,
) -> Result<Vec<Prepared>, ReleaseError> {
    prepare_stored(cluster, release, true).await
}

async fn prepare_stored(
    cluster: &Cluster,
    release: &Release,
    to_apply: bool,
) -> Result<Vec<Prepared>, ReleaseError> {
    let objects: Vec<Value> = parse_manifest(&release.manifest)?
        .into_iter()
        .map(|o| o.object)
        .collect();
    let kinds = ReleaseKinds::defined_by(&objects);
    let unknown = if to_apply {
        UnknownKinds::Refuse(&kinds)
    } else {
        UnknownKinds::AssumeNamespaced
    };
    let (name, namespace) = (&release.name, &release.namespace);
    prepare(cluster, objects, name, namespace, true, unknown).await
}

/// The stored objects of `first`, then those of `also` that `first` does not have.
pub async fn stored_objects_with(
    cluster: &Cluster,
    first: &Release,
    also: Option<&Release>,
) -> Result<Vec<Prepared>, ReleaseError> {
    let mut objects = stored_objects(cluster, first).await?;
    if let Some(also) = also {
        for p in stored_objects(cluster, also).await? {
            if !objects.iter().any(|o| identity(&o.r) == identity(&p.r)) {
                objects.push(p);
            }
        }
    }
    Ok(objects)
}

/// The revision an upgrade starts from: the latest deployed one of `history`, else `last`.
pub fn upgrade_base(history: &[Stored], last: &Release) -> Release {
    history
        .iter()
        .rev()
        .find(|s| s.release.info.status == Status::Deployed)
        .map(|s| s.release.clone())
        .unwrap_or_else(|| last.clone())
}

/// Formats a time like Go's `time.ANSIC` in local time (`Mon Jan  2 15:04:05 2006`).
pub fn ansic(t: &crate::storage::release::Time) -> String {
    t.with_timezone(&chrono::Local)
        .format("%a %b %e %H:%M:%S %Y")
        .to_string()
}

/// Formats a time like Go's `time.Time.String()` (`2006-01-02 15:04:05.999999999 -0700 MST`).
pub fn go_time_string(t: &crate::storage::release::Time) -> String {
    let local = t.with_timezone(&chrono::Local);
    let nanos = local.timestamp_subsec_nanos();
    let fraction = if nanos == 0 {
        String::new()
    } else {
        format!(".{}", format!("{nanos:09}").trim_end_matches('0'))
    };
    let zone = local.format("%Z").to_string();
    let zone = if zone.starts_with('+') || zone.starts_with('-') || zone.is_empty() {
        if local.offset().local_minus_utc() == 0 {
            "UTC".to_string()
        } else {
            zone
        }
    } else {
        zone
    };
    format!(
        "{}{} {} {}",
        local.format("%Y-%m-%d %H:%M:%S"),
        fraction,
        local.format("%z"),
        zone
    )
}

/// helm's status text (`helm status`, and what install/upgrade/rollback print).
pub fn status_text(release: &Release, show_manifest: bool) -> String {
    let mut out = String::new();
    out.push_str(&format!("NAME: {}\n", release.name));
    if let Some(t) = &release.info.last_deployed {
        out.push_str(&format!("LAST DEPLOYED: {}\n", ansic(t)));
    }
    out.push_str(&format!("NAMESPACE: {}\n", release.namespace));
    out.push_str(&format!("STATUS: {}\n", release.info.status));
    out.push_str(&format!("REVISION: {}\n", release.version));
    out.push_str(&format!("DESCRIPTION: {}\n", release.info.description));
    let tests: Vec<&HookRecord> = release
        .hooks
        .iter()
        .filter(|h| h.events.iter().any(|e| e == "test"))
        .collect();
    if tests.is_empty() {
        out.push_str("TEST SUITE: None\n");
    } else {
        for h in tests {
            let Some(started) = &h.last_run.started_at else {
                continue;
            };
            out.push_str(&format!(
                "TEST SUITE:     {}\nLast Started:   {}\nLast Completed: {}\nPhase:          {}\n",
                h.name,
                ansic(started),
                h.last_run
                    .completed_at
                    .as_ref()
                    .map(ansic)
                    .unwrap_or_default(),
                h.last_run.phase
            ));
        }
    }
    if show_manifest
        || release
            .info
            .description
            .eq_ignore_ascii_case("Dry run complete")
    {
        out.push_str("HOOKS:\n");
        for h in &release.hooks {
            out.push_str(&format!("---\n# Source: {}\n{}\n", h.path, h.manifest));
        }
        out.push_str(&format!("MANIFEST:\n{}\n", release.manifest));
    }
    if !release.info.notes.is_empty() {
        out.push_str(&format!("NOTES:\n{}\n", release.info.notes.trim()));
    }
    out
}

/// Groups stored objects by the key helm uses in `--show-resources` (`v1/Pod`).
pub fn group_by_kind(objects: &[Prepared]) -> BTreeMap<String, Vec<ObjectRef>> {
    let mut out: BTreeMap<String, Vec<ObjectRef>> = BTreeMap::new();
    for p in objects {
        out.entry(format!("{}/{}", p.r.api_version, p.r.kind))
            .or_default()
            .push(p.r.clone());
    }
    out
}

/// Looks up objects' live state in parallel (None for those that are gone).
pub async fn live_objects(
    cluster: &Cluster,
    refs: &[ObjectRef],
) -> HashMap<ObjectRef, Option<Value>> {
    let gets: Vec<_> = refs
        .iter()
        .cloned()
        .map(|r| async move {
            let live = cluster.get(&r).await.ok().flatten();
            (r, live)
        })
        .collect();
    let results: Vec<(ObjectRef, Option<Value>)> =
        futures::stream::iter(gets).buffered(16).collect().await;
    results.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn release_names_follow_helms_rules() {
        assert!(validate_name("web-1").is_ok());
        for bad in ["", "Web", "-web", "web-", "a_b", &"x".repeat(54)] {
            assert!(validate_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn stored_manifests_parse_back_with_their_sources() {
        let text = "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n";
        let objects = parse_manifest(text).unwrap();
        assert_eq!(objects.len(), 2);
        assert_eq!(objects[0].source, "c/templates/a.yaml");
        assert_eq!(objects[1].object["kind"], "Secret");
    }

    #[test]
    fn only_conflicts_with_helm_are_taken_over() {
        let helm =
            r#"Apply failed with 1 conflict: conflict with "helm" using apps/v1: .spec.replicas"#;
        assert!(conflicts_only_with_takeover_managers(helm));
        let both = r#"Apply failed with 2 conflicts: conflicts with "helm" using apps/v1:
- .spec.replicas
conflict with "kubectl" using apps/v1: .spec.template"#;
        assert!(!conflicts_only_with_takeover_managers(both));
        assert!(!conflicts_only_with_takeover_managers("Apply failed"));
    }

    #[test]
    fn keep_policy_is_recognised() {
        assert!(is_kept(
            &json!({"metadata": {"annotations": {"helm.sh/resource-policy": "keep"}}})
        ));
        assert!(!is_kept(&json!({"metadata": {}})));
    }
}

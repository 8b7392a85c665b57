//! The `secret` and `configmap` drivers: one object per revision, named
//! `sh.helm.release.v1.NAME.vREV`, labelled `name`, `owner=helm`, `status` and `version`,
//! whose `data.release` is helm's encoded record (Secrets are also typed
//! `helm.sh/release.v1`), exactly as helm writes them.
//!
//! rudder annotates the objects it writes with the holder of the operation under way and its
//! heartbeat (helm ignores annotations). A record over 1 MiB (the API server's limit for
//! one object) is split: its parts go to part objects owned by the revision's object (so
//! the garbage collector removes them with it, whoever deletes it), and the revision's own
//! object keeps a summary helm can still act on (see [`layout`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use k8s_openapi::{ByteString, NamespaceResourceScope};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Driver;
use crate::kube::{Cluster, KubeError, ObjectRef};
use crate::storage::release::{self, Release};
use crate::storage::{Holder, StorageError, Stored};

/// Annotation: who runs the operation holding a revision (`user@host pid N`).
pub const HOLDER_ANNOTATION: &str = "rudder.dev/holder";
/// Annotation: when that operation started (RFC 3339).
pub const STARTED_ANNOTATION: &str = "rudder.dev/started-at";
/// Annotation: the operation's last sign of life (RFC 3339), refreshed while it runs.
pub const HEARTBEAT_ANNOTATION: &str = "rudder.dev/heartbeat";
/// Annotation on a revision's object whose record is split: how many part objects hold it.
pub const PARTS_ANNOTATION: &str = "rudder.dev/parts";
/// The type of the Secrets holding parts of a big record.
pub const PART_TYPE: &str = "rudder.dev/release-part.v1";
/// The Secret type helm gives release records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// Encoded records longer than this are split across part objects (an object holds at most
/// 1 MiB of data).
pub const MAX_RECORD_BYTES: usize = 1_000_000;

/// The object name of a revision.
pub fn record_name(name: &str, version: u64) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// The object name of part `index` (1-based) of a big record.
pub fn part_name(name: &str, version: u64, index: usize) -> String {
    format!("{}.part{index}", record_name(name, version))
}

/// What the revision's own object holds, and the parts of a big record.
///
/// A record that fits is stored whole. Otherwise the parts hold the whole record and the
/// revision's object holds a summary that is still a complete release for helm: the
/// chart's templates and files are left out (helm's rollback and uninstall act on the
/// manifest, not on the chart). When even that is too big, the summary keeps no manifest
/// or values (its manifest is a comment saying where the release is) and carries guard
/// hooks of a kind no cluster serves on `pre-delete` and `pre-rollback`, so `helm uninstall`
/// and `helm rollback` to it stop with an error naming them instead of acting on a partial
/// record; `helm list`, `status` and `history` still work.
pub fn layout(release: &Release) -> (Vec<u8>, Vec<Vec<u8>>) {
    let full = release.encode();
    if full.len() <= MAX_RECORD_BYTES {
        return (full, Vec::new());
    }
    let parts = full.chunks(MAX_RECORD_BYTES).map(<[u8]>::to_vec).collect();
    let mut summary = release.clone();
    if let Some(chart) = &mut summary.chart {
        chart.templates.clear();
        chart.files.clear();
    }
    let encoded = summary.encode();
    if encoded.len() <= MAX_RECORD_BYTES {
        return (encoded, parts);
    }
    summary.manifest = format!(
        "# This release is too big for one Secret: rudder keeps it in parts.\n# Read it with `rudder get manifest {}`; use rudder to upgrade, roll back or uninstall it.\n",
        release.name
    );
    summary.hooks = vec![guard_hook(&release.name)];
    summary.config = Default::default();
    (summary.encode(), parts)
}

/// Whether a record carries the guard hook of a summary (helm copied it into a revision of
/// its own when it tried to roll back to a summary, and stopped there).
pub fn is_guarded(release: &Release) -> bool {
    release.hooks.iter().any(is_guard_hook)
}

/// Whether a hook is a summary's guard hook.
pub fn is_guard_hook(hook: &release::HookRecord) -> bool {
    hook.kind == GUARD_KIND
}

/// The kind of the guard hook.
const GUARD_KIND: &str = "ReleaseStoredByRudder";

/// A hook helm cannot build (its kind exists on no cluster), so helm's operations that run
/// hooks stop on a summary record, naming it.
fn guard_hook(name: &str) -> release::HookRecord {
    let object = format!("{name}-is-too-big-for-helm-use-rudder");
    release::HookRecord {
        name: object.clone(),
        kind: GUARD_KIND.into(),
        path: "rudder/guard.yaml".into(),
        manifest: format!(
            "apiVersion: rudder.dev/v1\nkind: ReleaseStoredByRudder\nmetadata:\n  name: {object}\n  annotations:\n    helm.sh/hook: pre-delete,pre-rollback\n"
        ),
        events: vec![
            "pre-delete".into(),
            "pre-rollback".into(),
            "pre-upgrade".into(),
        ],
        ..Default::default()
    }
}

/// What distinguishes the two kinds of record object.
pub trait RecordObject:
    kube::Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + Debug
    + DeserializeOwned
    + Serialize
    + Send
    + Sync
    + 'static
{
    /// helm's name for the driver.
    const DRIVER: &'static str;
    /// An object with `meta` holding `data` (a record, or a part of one when `part`).
    fn build(meta: ObjectMeta, data: Vec<u8>, part: bool) -> Self;
    /// Its `data.release`.
    fn record_data(&self) -> Option<&[u8]>;
    /// Whether it is a revision's record (not a part, not an unrelated object).
    fn is_record(&self) -> bool;
    /// Whether it is a part of a big record.
    fn is_part(&self) -> bool;
    /// The merge patch that sets `data.release`.
    fn data_patch(data: &[u8]) -> Value;
}

impl RecordObject for Secret {
    const DRIVER: &'static str = "Secret";

    fn build(metadata: ObjectMeta, data: Vec<u8>, part: bool) -> Self {
        Secret {
            metadata,
            type_: Some(if part { PART_TYPE } else { SECRET_TYPE }.into()),
            data: Some(BTreeMap::from([("release".to_string(), ByteString(data))])),
            ..Default::default()
        }
    }

    fn record_data(&self) -> Option<&[u8]> {
        self.data
            .as_ref()
            .and_then(|d| d.get("release"))
            .map(|b| b.0.as_slice())
    }

    fn is_record(&self) -> bool {
        self.type_.as_deref() == Some(SECRET_TYPE)
    }

    fn is_part(&self) -> bool {
        self.type_.as_deref() == Some(PART_TYPE)
    }

    fn data_patch(data: &[u8]) -> Value {
        use base64::Engine as _;
        // Secret data travels base64-encoded; helm's record is itself base64 text.
        json!({"data": {"release": base64::engine::general_purpose::STANDARD.encode(data)}})
    }
}

impl RecordObject for ConfigMap {
    const DRIVER: &'static str = "ConfigMap";

    fn build(metadata: ObjectMeta, data: Vec<u8>, _part: bool) -> Self {
        ConfigMap {
            metadata,
            data: Some(BTreeMap::from([(
                "release".to_string(),
                String::from_utf8(data).expect("records are base64 text"),
            )])),
            ..Default::default()
        }
    }

    fn record_data(&self) -> Option<&[u8]> {
        self.data
            .as_ref()
            .and_then(|d| d.get("release"))
            .map(String::as_bytes)
    }

    fn is_record(&self) -> bool {
        let labels = self.metadata.labels.as_ref();
        labels.and_then(|l| l.get("owner")).map(String::as_str) == Some("helm")
    }

    fn is_part(&self) -> bool {
        let labels = self.metadata.labels.as_ref();
        labels.is_some_and(|l| l.contains_key(PART_LABEL))
    }

    fn data_patch(data: &[u8]) -> Value {
        json!({"data": {"release": String::from_utf8_lossy(data)}})
    }
}

/// The label giving a part's index.
const PART_LABEL: &str = "rudder.dev/part";

/// Release records kept in Secrets or ConfigMaps of the release namespace.
#[derive(Clone)]
pub struct KubeDriver<K> {
    cluster: Cluster,
    kind: std::marker::PhantomData<fn() -> K>,
}

impl KubeDriver<Secret> {
    /// The `secret` driver.
    pub fn secrets(cluster: &Cluster) -> Self {
        KubeDriver {
            cluster: cluster.clone(),
            kind: std::marker::PhantomData,
        }
    }
}

impl KubeDriver<ConfigMap> {
    /// The `configmap` driver.
    pub fn config_maps(cluster: &Cluster) -> Self {
        KubeDriver {
            cluster: cluster.clone(),
            kind: std::marker::PhantomData,
        }
    }
}

fn annotation<'a>(meta: &'a ObjectMeta, key: &str) -> Option<&'a String> {
    meta.annotations.as_ref().and_then(|a| a.get(key))
}

fn parts_count(meta: &ObjectMeta) -> usize {
    annotation(meta, PARTS_ANNOTATION)
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn part_index(meta: &ObjectMeta) -> Option<(u64, usize)> {
    let labels = meta.labels.as_ref()?;
    Some((
        labels.get("version")?.parse().ok()?,
        labels.get(PART_LABEL)?.parse().ok()?,
    ))
}

fn version_label(meta: &ObjectMeta) -> u64 {
    meta.labels
        .as_ref()
        .and_then(|l| l.get("version"))
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

fn labels(release: &Release) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("name".to_string(), release.name.clone()),
        ("owner".to_string(), "helm".to_string()),
        (
            "status".to_string(),
            release.info.status.as_str().to_string(),
        ),
        ("version".to_string(), release.version.to_string()),
    ])
}

fn holder_annotations(holder: &Holder) -> BTreeMap<String, String> {
    BTreeMap::from([
        (HOLDER_ANNOTATION.to_string(), holder.holder.clone()),
        (STARTED_ANNOTATION.to_string(), holder.started.clone()),
        (
            HEARTBEAT_ANNOTATION.to_string(),
            release::format_time(&release::now()),
        ),
    ])
}

impl<K: RecordObject> KubeDriver<K> {
    fn api(&self, namespace: &str) -> Api<K> {
        Api::namespaced(self.cluster.client.clone(), namespace)
    }

    fn request_error(&self, verb: &str, namespace: &str, what: &str, e: kube::Error) -> KubeError {
        let r = ObjectRef {
            api_version: "v1".into(),
            kind: K::DRIVER.into(),
            namespace: Some(namespace.to_string()),
            name: what.to_string(),
        };
        crate::kube::translate_error(e, verb, &r, &self.cluster.url)
    }

    fn corrupt(namespace: &str, object: &str, source: release::DecodeError) -> StorageError {
        StorageError::Corrupt {
            record: format!("{} {object}", K::DRIVER),
            namespace: namespace.to_string(),
            source,
        }
    }

    fn stored_of(object: &K, namespace: &str) -> Result<Stored, StorageError> {
        let meta = object.meta();
        let release = Release::decode(object.record_data().unwrap_or_default())
            .map_err(|e| Self::corrupt(namespace, meta.name.as_deref().unwrap_or_default(), e))?;
        Ok(Stored {
            release,
            holder: annotation(meta, HOLDER_ANNOTATION).map(|h| Holder {
                holder: h.clone(),
                started: annotation(meta, STARTED_ANNOTATION)
                    .cloned()
                    .unwrap_or_default(),
            }),
            heartbeat: annotation(meta, HEARTBEAT_ANNOTATION).cloned(),
            token: meta.resource_version.clone(),
        })
    }

    async fn list(
        &self,
        api: &Api<K>,
        namespace: &str,
        selector: &str,
        what: &str,
    ) -> Result<Vec<K>, KubeError> {
        let params = ListParams::default().labels(selector);
        let list = self
            .cluster
            .retrying(|| async {
                api.list(&params)
                    .await
                    .map_err(|e| self.request_error("list", namespace, what, e))
            })
            .await?;
        Ok(list.items)
    }

    /// The part objects of `name` (of one revision with `version`).
    async fn list_parts(
        &self,
        api: &Api<K>,
        namespace: &str,
        name: &str,
        version: Option<u64>,
    ) -> Result<Vec<K>, KubeError> {
        let selector = match version {
            Some(version) => format!("owner=rudder,name={name},version={version}"),
            None => format!("owner=rudder,name={name}"),
        };
        let parts = self
            .list(api, namespace, &selector, &format!("{name} record parts"))
            .await?;
        Ok(parts.into_iter().filter(K::is_part).collect())
    }

    /// Deletes the object `object`; one already gone is no error.
    async fn delete_object(
        &self,
        api: &Api<K>,
        namespace: &str,
        object: &str,
    ) -> Result<(), KubeError> {
        self.cluster
            .retrying(|| async {
                match api.delete(object, &DeleteParams::default()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                    Err(e) => Err(self.request_error("delete", namespace, object, e)),
                }
            })
            .await
    }

    /// Writes (or rewrites) the part objects of a big record and removes parts beyond
    /// them. Parts name the revision's own object (uid `owner`) as their owner.
    async fn write_parts(
        &self,
        namespace: &str,
        release: &Release,
        parts: &[Vec<u8>],
        owner: Option<&str>,
    ) -> Result<(), StorageError> {
        let api = self.api(namespace);
        let owner_references = owner.map(|uid| {
            vec![OwnerReference {
                api_version: "v1".into(),
                kind: K::DRIVER.into(),
                name: record_name(&release.name, release.version),
                uid: uid.to_string(),
                ..Default::default()
            }]
        });
        for (i, chunk) in parts.iter().enumerate() {
            let name = part_name(&release.name, release.version, i + 1);
            let meta = ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_string()),
                labels: Some(BTreeMap::from([
                    ("owner".to_string(), "rudder".to_string()),
                    ("name".to_string(), release.name.clone()),
                    ("version".to_string(), release.version.to_string()),
                    (PART_LABEL.to_string(), (i + 1).to_string()),
                ])),
                owner_references: owner_references.clone(),
                ..Default::default()
            };
            let object = K::build(meta, chunk.clone(), true);
            let mut patch = K::data_patch(chunk);
            patch["metadata"] = json!({"ownerReferences": owner_references});
            self.cluster
                .retrying(|| async {
                    match api.create(&PostParams::default(), &object).await {
                        Ok(_) => Ok(()),
                        Err(kube::Error::Api(s)) if s.code == 409 => api
                            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                            .await
                            .map(|_| ())
                            .map_err(|e| self.request_error("update", namespace, &name, e)),
                        Err(e) => Err(self.request_error("create", namespace, &name, e)),
                    }
                })
                .await?;
        }
        for p in &self
            .list_parts(&api, namespace, &release.name, Some(release.version))
            .await?
        {
            if part_index(p.meta()).is_some_and(|(_, i)| i > parts.len())
                && let Some(object) = &p.meta().name
            {
                self.delete_object(&api, namespace, object).await?;
            }
        }
        Ok(())
    }
}

#[async_trait::async_trait]
impl<K: RecordObject> Driver for KubeDriver<K> {
    fn name(&self) -> &'static str {
        K::DRIVER
    }

    async fn history(&self, namespace: &str, name: &str) -> Result<Vec<Stored>, StorageError> {
        let api = self.api(namespace);
        let objects = self
            .list(
                &api,
                namespace,
                &format!("owner=helm,name={name}"),
                &format!("sh.helm.release.v1.{name}.*"),
            )
            .await?;
        let mut parts: HashMap<(u64, usize), Vec<u8>> = HashMap::new();
        if objects.iter().any(|s| parts_count(s.meta()) > 0) {
            for p in &self.list_parts(&api, namespace, name, None).await? {
                if let (Some(key), Some(data)) = (part_index(p.meta()), p.record_data()) {
                    parts.insert(key, data.to_vec());
                }
            }
        }
        let mut out = Vec::new();
        for object in objects.iter().filter(|o| o.is_record()) {
            let mut stored = Self::stored_of(object, namespace)?;
            let count = parts_count(object.meta());
            if count > 0 {
                let version = stored.release.version;
                let chunks: Option<Vec<&Vec<u8>>> =
                    (1..=count).map(|i| parts.get(&(version, i))).collect();
                // Until every part is written, the summary is what there is.
                if let Some(chunks) = chunks {
                    let joined: Vec<u8> = chunks.into_iter().flatten().copied().collect();
                    stored.release = Release::decode(&joined).map_err(|source| {
                        Self::corrupt(namespace, &part_name(name, version, 1), source)
                    })?;
                }
            }
            out.push(stored);
        }
        out.sort_by_key(|s| s.release.version);
        Ok(out)
    }

    async fn list_latest(
        &self,
        namespace: Option<&str>,
        skip_superseded: bool,
    ) -> Result<Vec<Release>, StorageError> {
        let api: Api<K> = match namespace {
            Some(ns) => self.api(ns),
            None => Api::all(self.cluster.client.clone()),
        };
        let selector = if skip_superseded {
            "owner=helm,status!=superseded"
        } else {
            "owner=helm"
        };
        let objects = self
            .list(
                &api,
                namespace.unwrap_or_default(),
                selector,
                "release records",
            )
            .await?;
        let mut latest: HashMap<(String, String), &K> = HashMap::new();
        for object in objects.iter().filter(|o| o.is_record()) {
            let meta = object.meta();
            let Some(name) = meta.labels.as_ref().and_then(|l| l.get("name")) else {
                continue;
            };
            let key = (meta.namespace.clone().unwrap_or_default(), name.clone());
            match latest.get(&key) {
                Some(existing) if version_label(existing.meta()) >= version_label(meta) => {}
                _ => {
                    latest.insert(key, object);
                }
            }
        }
        // Records decode in parallel; a record that cannot be read is skipped, as helm's
        // list does.
        use rayon::prelude::*;
        let latest: Vec<&K> = latest.into_values().collect();
        Ok(latest
            .par_iter()
            .filter_map(|o| Release::decode_summary(o.record_data().unwrap_or_default()).ok())
            .collect())
    }

    async fn create(
        &self,
        namespace: &str,
        release: &Release,
        holder: Option<&Holder>,
    ) -> Result<(), StorageError> {
        let name = record_name(&release.name, release.version);
        let mut annotations = holder.map(holder_annotations).unwrap_or_default();
        let (data, parts) = layout(release);
        if !parts.is_empty() {
            annotations.insert(PARTS_ANNOTATION.to_string(), parts.len().to_string());
        }
        let mut labels = labels(release);
        labels.insert(
            "createdAt".into(),
            chrono::Utc::now().timestamp().to_string(),
        );
        let object = K::build(
            ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.to_string()),
                labels: Some(labels),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..Default::default()
            },
            data,
            false,
        );
        let api = self.api(namespace);
        let mut attempt = 0;
        let result = self
            .cluster
            .retrying(|| {
                attempt += 1;
                let retried = attempt > 1;
                let (api, object, name) = (api.clone(), object.clone(), name.clone());
                async move {
                    match api.create(&PostParams::default(), &object).await {
                        Ok(created) => Ok(Ok(created.meta().uid.clone())),
                        Err(kube::Error::Api(s)) if s.code == 409 => {
                            // A retried create may have landed the first time.
                            if retried
                                && let Ok(Some(existing)) = api.get_opt(&name).await
                                && existing.record_data() == object.record_data()
                            {
                                return Ok(Ok(existing.meta().uid.clone()));
                            }
                            Ok(Err(StorageError::exists(release)))
                        }
                        Err(kube::Error::Api(s))
                            if s.code == 404 && s.message.starts_with("namespaces ") =>
                        {
                            Ok(Err(StorageError::NamespaceNotFound {
                                namespace: namespace.to_string(),
                            }))
                        }
                        Err(e) => Err(self.request_error("create", namespace, &name, e)),
                    }
                }
            })
            .await?;
        let uid = result?;
        // The revision is ours: now its parts can be written without racing anyone.
        if !parts.is_empty() {
            self.write_parts(namespace, release, &parts, uid.as_deref())
                .await?;
        }
        Ok(())
    }

    async fn update(
        &self,
        namespace: &str,
        release: &Release,
        holder: Option<&Holder>,
        expect: Option<&str>,
    ) -> Result<(), StorageError> {
        let name = record_name(&release.name, release.version);
        let mut labels = serde_json::to_value(labels(release)).expect("labels serialize");
        labels["modifiedAt"] = json!(chrono::Utc::now().timestamp().to_string());
        let (data, parts) = layout(release);
        let api = self.api(namespace);
        // Parts first, so a reader never finds a summary pointing at missing parts.
        if !parts.is_empty() {
            let owner = self
                .cluster
                .retrying(|| async {
                    api.get_opt(&name)
                        .await
                        .map_err(|e| self.request_error("get", namespace, &name, e))
                })
                .await?
                .and_then(|s| s.meta().uid.clone());
            self.write_parts(namespace, release, &parts, owner.as_deref())
                .await?;
        }
        let mut annotations = json!({
            PARTS_ANNOTATION: (!parts.is_empty()).then(|| parts.len().to_string()),
            HOLDER_ANNOTATION: Value::Null,
            STARTED_ANNOTATION: Value::Null,
            HEARTBEAT_ANNOTATION: Value::Null,
        });
        if let Some(holder) = holder {
            for (k, v) in holder_annotations(holder) {
                annotations[k] = json!(v);
            }
        }
        let mut patch = K::data_patch(&data);
        patch["metadata"] = json!({"labels": labels, "annotations": annotations});
        if let Some(token) = expect {
            patch["metadata"]["resourceVersion"] = json!(token);
        }
        let outcome = self
            .cluster
            .retrying(|| async {
                match api
                    .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                {
                    Ok(_) => Ok(Ok(())),
                    // Changed or gone since it was read: either way someone else got there first.
                    Err(kube::Error::Api(s)) if matches!(s.code, 404 | 409) && expect.is_some() => {
                        Ok(Err(()))
                    }
                    Err(e) => Err(self.request_error("update", namespace, &name, e)),
                }
            })
            .await?;
        // Parts left from a bigger version of this record are ignored without the
        // annotation and removed with the revision.
        outcome.map_err(|()| StorageError::conflict(release))
    }

    async fn heartbeat(
        &self,
        namespace: &str,
        name: &str,
        version: u64,
    ) -> Result<(), StorageError> {
        let object = record_name(name, version);
        let patch = json!({"metadata": {"annotations": {
            HEARTBEAT_ANNOTATION: release::format_time(&release::now())
        }}});
        self.api(namespace)
            .patch(&object, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|e| self.request_error("update", namespace, &object, e).into())
    }

    async fn delete(&self, namespace: &str, name: &str, version: u64) -> Result<(), StorageError> {
        let api = self.api(namespace);
        self.delete_object(&api, namespace, &record_name(name, version))
            .await?;
        for p in &self
            .list_parts(&api, namespace, name, Some(version))
            .await?
        {
            if let Some(object) = &p.meta().name {
                self.delete_object(&api, namespace, object).await?;
            }
        }
        Ok(())
    }

    async fn sweep(&self, namespace: &str, name: &str, keep: &[u64]) -> Result<(), StorageError> {
        let api = self.api(namespace);
        for p in &self.list_parts(&api, namespace, name, None).await? {
            let Some((version, _)) = part_index(p.meta()) else {
                continue;
            };
            if keep.contains(&version) {
                continue;
            }
            if let Some(object) = &p.meta().name {
                self.delete_object(&api, namespace, object).await?;
            }
        }
        Ok(())
    }
}

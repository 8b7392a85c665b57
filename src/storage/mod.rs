//! Release storage in helm's format: one Secret per revision, named
//! `sh.helm.release.v1.NAME.vREV`, of type `helm.sh/release.v1`, labelled `name`,
//! `owner=helm`, `status` and `version`, whose `data.release` is base64 of gzip of the
//! release JSON ([`release::Release`]).
//!
//! Claiming revision N+1 is a create that fails when the Secret exists, so two writers never
//! both get the same revision. rudder also annotates the Secrets it writes with the holder of
//! a pending operation and a heartbeat (helm ignores annotations), so a stuck pending
//! revision can be told apart from one still being worked on.

pub mod release;

pub use release::{Info, Release, ReleaseChart, Status};

use std::collections::{BTreeMap, HashMap};

use base64::Engine as _;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::kube::{Cluster, KubeError};

/// The Secret type helm gives release records.
pub const SECRET_TYPE: &str = "helm.sh/release.v1";
/// Annotation: who runs the operation a pending revision records (`user@host pid N`).
pub const HOLDER_ANNOTATION: &str = "rudder.dev/holder";
/// Annotation: when that operation started (RFC 3339).
pub const STARTED_ANNOTATION: &str = "rudder.dev/started-at";
/// Annotation: the operation's last sign of life (RFC 3339), refreshed while it runs.
pub const HEARTBEAT_ANNOTATION: &str = "rudder.dev/heartbeat";

/// Annotation on a revision's Secret whose record is split: how many part Secrets hold it.
pub const PARTS_ANNOTATION: &str = "rudder.dev/parts";
/// The type of the Secrets holding parts of a big record.
pub const PART_TYPE: &str = "rudder.dev/release-part.v1";
/// Encoded records longer than this are split across part Secrets (a Secret holds at most
/// 1 MiB of data); the revision's own Secret then keeps a helm-readable summary without the
/// chart files and manifest.
pub const MAX_RECORD_BYTES: usize = 1_000_000;

/// The Secret name of part `index` (1-based) of a big record.
pub fn part_name(name: &str, version: u64, index: usize) -> String {
    format!("{}.part{index}", secret_name(name, version))
}

/// The record data of a revision's own Secret and, for big records, its parts.
fn layout(release: &Release) -> (Vec<u8>, Vec<Vec<u8>>) {
    let full = release.encode();
    if full.len() <= MAX_RECORD_BYTES {
        return (full, Vec::new());
    }
    let mut summary = release.clone();
    if let Some(chart) = &mut summary.chart {
        chart.templates.clear();
        chart.files.clear();
    }
    summary.manifest.clear();
    for h in &mut summary.hooks {
        h.manifest.clear();
    }
    let parts = full.chunks(MAX_RECORD_BYTES).map(<[u8]>::to_vec).collect();
    (summary.encode(), parts)
}

/// The Secret name of a revision.
pub fn secret_name(name: &str, version: u64) -> String {
    format!("sh.helm.release.v1.{name}.v{version}")
}

/// Why a release record could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("release {name:?} not found in namespace {namespace:?}")]
    NotFound { name: String, namespace: String },
    #[error("release {name:?} has no revision {version} (revisions: {available})")]
    RevisionNotFound {
        name: String,
        version: u64,
        available: String,
    },
    #[error("another operation is in progress on {name} (started by {holder} at {started})")]
    InProgress {
        name: String,
        holder: String,
        started: String,
    },
    #[error("the release record {secret} in namespace {namespace:?} cannot be read: {source}")]
    Corrupt {
        secret: String,
        namespace: String,
        source: release::DecodeError,
    },
    #[error(transparent)]
    Kube(#[from] KubeError),
}

/// Who holds a pending operation, recorded on the Secret of the revision it claims.
#[derive(Debug, Clone, PartialEq)]
pub struct Holder {
    pub holder: String,
    pub started: String,
}

impl Holder {
    /// This process: `user@host pid N`, started now.
    pub fn this_process() -> Holder {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("USERNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/etc/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .or_else(|| std::env::var("HOSTNAME").ok())
            .unwrap_or_else(|| "localhost".into());
        Holder {
            holder: format!("{user}@{host} pid {}", std::process::id()),
            started: release::format_time(&release::now()),
        }
    }
}

/// A stored revision with the bookkeeping rudder keeps beside helm's record.
#[derive(Debug, Clone)]
pub struct Stored {
    pub release: Release,
    pub holder: Option<Holder>,
    /// The last heartbeat of a pending operation.
    pub heartbeat: Option<String>,
}

fn parts_count(secret: &Secret) -> usize {
    secret
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(PARTS_ANNOTATION))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

fn part_index(secret: &Secret) -> Option<(u64, usize)> {
    let labels = secret.metadata.labels.as_ref()?;
    Some((
        labels.get("version")?.parse().ok()?,
        labels.get("rudder.dev/part")?.parse().ok()?,
    ))
}

/// Revision `version` of `history` (the revisions of `name`);
/// [`StorageError::RevisionNotFound`] when it has none such.
pub fn find_revision<'a>(
    history: &'a [Release],
    name: &str,
    version: u64,
) -> Result<&'a Release, StorageError> {
    history
        .iter()
        .find(|r| r.version == version)
        .ok_or_else(|| StorageError::RevisionNotFound {
            name: name.into(),
            version,
            available: history
                .iter()
                .map(|r| r.version.to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The release records of one namespace.
#[derive(Clone)]
pub struct Storage {
    cluster: Cluster,
    namespace: String,
}

fn decode_secret(secret: &Secret, namespace: &str) -> Result<Release, StorageError> {
    decode_secret_with(secret, namespace, Release::decode)
}

fn decode_secret_with(
    secret: &Secret,
    namespace: &str,
    decode: fn(&[u8]) -> Result<Release, release::DecodeError>,
) -> Result<Release, StorageError> {
    let name = secret.metadata.name.clone().unwrap_or_default();
    let data = secret
        .data
        .as_ref()
        .and_then(|d| d.get("release"))
        .map(|b| b.0.as_slice())
        .unwrap_or_default();
    decode(data).map_err(|source| StorageError::Corrupt {
        secret: name,
        namespace: namespace.to_string(),
        source,
    })
}

fn stored_of(secret: &Secret, namespace: &str) -> Result<Stored, StorageError> {
    let release = decode_secret(secret, namespace)?;
    let ann = secret.metadata.annotations.clone().unwrap_or_default();
    Ok(Stored {
        release,
        holder: ann.get(HOLDER_ANNOTATION).map(|h| Holder {
            holder: h.clone(),
            started: ann.get(STARTED_ANNOTATION).cloned().unwrap_or_default(),
        }),
        heartbeat: ann.get(HEARTBEAT_ANNOTATION).cloned(),
    })
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

impl Storage {
    /// The records of releases in `namespace`.
    pub fn new(cluster: &Cluster, namespace: &str) -> Storage {
        Storage {
            cluster: cluster.clone(),
            namespace: namespace.to_string(),
        }
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    fn api(&self) -> Api<Secret> {
        Api::namespaced(self.cluster.client.clone(), &self.namespace)
    }

    fn request_error(&self, verb: &str, what: &str, e: kube::Error) -> KubeError {
        let r = crate::kube::ObjectRef {
            api_version: "v1".into(),
            kind: "Secret".into(),
            namespace: Some(self.namespace.clone()),
            name: what.to_string(),
        };
        crate::kube::translate_error(e, verb, &r, &self.cluster.url)
    }

    /// Every revision of `name`, oldest first, with rudder's bookkeeping. Empty when the
    /// release does not exist.
    pub async fn history_stored(&self, name: &str) -> Result<Vec<Stored>, StorageError> {
        let api = self.api();
        let params = ListParams::default().labels(&format!("owner=helm,name={name}"));
        let list = self
            .cluster
            .retrying(|| async {
                api.list(&params).await.map_err(|e| {
                    self.request_error("list", &format!("sh.helm.release.v1.{name}.*"), e)
                })
            })
            .await?;
        let mut parts: HashMap<(u64, usize), Vec<u8>> = HashMap::new();
        if list.items.iter().any(|s| parts_count(s) > 0) {
            for p in &self.list_parts(&api, name, None).await? {
                if let (Some(key), Some(data)) = (
                    part_index(p),
                    p.data.as_ref().and_then(|d| d.get("release")),
                ) {
                    parts.insert(key, data.0.clone());
                }
            }
        }
        let mut out = Vec::new();
        for secret in &list.items {
            if secret.type_.as_deref() != Some(SECRET_TYPE) {
                continue;
            }
            let mut stored = stored_of(secret, &self.namespace)?;
            let count = parts_count(secret);
            if count > 0 {
                let version = stored.release.version;
                let chunks: Option<Vec<&Vec<u8>>> =
                    (1..=count).map(|i| parts.get(&(version, i))).collect();
                // Until every part is written, the summary is what there is.
                if let Some(chunks) = chunks {
                    let joined: Vec<u8> = chunks.into_iter().flatten().copied().collect();
                    stored.release =
                        Release::decode(&joined).map_err(|source| StorageError::Corrupt {
                            secret: part_name(name, version, 1),
                            namespace: self.namespace.clone(),
                            source,
                        })?;
                }
            }
            out.push(stored);
        }
        out.sort_by_key(|s| s.release.version);
        Ok(out)
    }

    /// Every revision of `name`, oldest first; [`StorageError::NotFound`] when there is none.
    pub async fn history(&self, name: &str) -> Result<Vec<Release>, StorageError> {
        let history: Vec<Release> = self
            .history_stored(name)
            .await?
            .into_iter()
            .map(|s| s.release)
            .collect();
        if history.is_empty() {
            return Err(StorageError::NotFound {
                name: name.into(),
                namespace: self.namespace.clone(),
            });
        }
        Ok(history)
    }

    /// One revision (0 = the latest).
    pub async fn get(&self, name: &str, version: u64) -> Result<Release, StorageError> {
        let history = self.history(name).await?;
        if version == 0 {
            return Ok(history.last().cloned().expect("history is not empty"));
        }
        find_revision(&history, name, version).cloned()
    }

    /// Writes a new revision; fails with [`StorageError::InProgress`] when that revision
    /// was claimed by someone else first.
    pub async fn create(
        &self,
        release: &Release,
        holder: Option<&Holder>,
    ) -> Result<(), StorageError> {
        let name = secret_name(&release.name, release.version);
        let mut annotations = BTreeMap::new();
        if let Some(h) = holder {
            annotations.insert(HOLDER_ANNOTATION.to_string(), h.holder.clone());
            annotations.insert(STARTED_ANNOTATION.to_string(), h.started.clone());
            annotations.insert(HEARTBEAT_ANNOTATION.to_string(), h.started.clone());
        }
        let (data, parts) = layout(release);
        if !parts.is_empty() {
            annotations.insert(PARTS_ANNOTATION.to_string(), parts.len().to_string());
        }
        let mut labels = labels(release);
        labels.insert(
            "createdAt".into(),
            chrono::Utc::now().timestamp().to_string(),
        );
        let secret = Secret {
            metadata: kube::api::ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(self.namespace.clone()),
                labels: Some(labels),
                annotations: (!annotations.is_empty()).then_some(annotations),
                ..Default::default()
            },
            type_: Some(SECRET_TYPE.into()),
            data: Some(BTreeMap::from([("release".to_string(), ByteString(data))])),
            ..Default::default()
        };
        let api = self.api();
        let mut attempt = 0;
        let result = self
            .cluster
            .retrying(|| {
                attempt += 1;
                let retried = attempt > 1;
                let api = api.clone();
                let secret = secret.clone();
                let name = name.clone();
                async move {
                    match api.create(&PostParams::default(), &secret).await {
                        Ok(created) => Ok(Ok(created.metadata.uid)),
                        Err(kube::Error::Api(s)) if s.code == 409 => {
                            // A retried create may have landed the first time.
                            if retried
                                && let Ok(Some(existing)) = api.get_opt(&name).await
                                && existing.data == secret.data
                            {
                                return Ok(Ok(existing.metadata.uid));
                            }
                            Ok(Err(()))
                        }
                        Err(e) => Err(self.request_error("create", &name, e)),
                    }
                }
            })
            .await?;
        let Ok(uid) = result else {
            let existing = self.api().get_opt(&name).await.ok().flatten();
            let holder = existing
                .as_ref()
                .and_then(|s| stored_of(s, &self.namespace).ok())
                .and_then(|s| s.holder);
            return Err(StorageError::InProgress {
                name: release.name.clone(),
                holder: holder
                    .as_ref()
                    .map(|h| h.holder.clone())
                    .unwrap_or_else(|| "another client".into()),
                started: holder
                    .map(|h| h.started)
                    .unwrap_or_else(|| "an unknown time".into()),
            });
        };
        // The revision is ours: now its parts can be written without racing anyone.
        self.write_parts(release, &parts, uid.as_deref()).await
    }

    /// Writes (or rewrites) the part Secrets of a big record and removes parts beyond them.
    /// Parts name the revision's own Secret (uid `owner`) as their owner, so the API
    /// server's garbage collector removes them with it whoever deletes it (helm's
    /// `--history-max` or `helm uninstall` included).
    async fn write_parts(
        &self,
        release: &Release,
        parts: &[Vec<u8>],
        owner: Option<&str>,
    ) -> Result<(), StorageError> {
        let api = self.api();
        let owner_references = owner.map(|uid| {
            vec![OwnerReference {
                api_version: "v1".into(),
                kind: "Secret".into(),
                name: secret_name(&release.name, release.version),
                uid: uid.to_string(),
                ..Default::default()
            }]
        });
        for (i, chunk) in parts.iter().enumerate() {
            let name = part_name(&release.name, release.version, i + 1);
            let secret = Secret {
                metadata: kube::api::ObjectMeta {
                    name: Some(name.clone()),
                    namespace: Some(self.namespace.clone()),
                    labels: Some(BTreeMap::from([
                        ("owner".to_string(), "rudder".to_string()),
                        ("name".to_string(), release.name.clone()),
                        ("version".to_string(), release.version.to_string()),
                        ("rudder.dev/part".to_string(), (i + 1).to_string()),
                    ])),
                    owner_references: owner_references.clone(),
                    ..Default::default()
                },
                type_: Some(PART_TYPE.into()),
                data: Some(BTreeMap::from([(
                    "release".to_string(),
                    ByteString(chunk.clone()),
                )])),
                ..Default::default()
            };
            let patch = json!({
                "metadata": {"ownerReferences": owner_references},
                "data": {"release": base64::engine::general_purpose::STANDARD.encode(chunk)},
            });
            self.cluster
                .retrying(|| async {
                    match api.create(&PostParams::default(), &secret).await {
                        Ok(_) => Ok(()),
                        Err(kube::Error::Api(s)) if s.code == 409 => api
                            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                            .await
                            .map(|_| ())
                            .map_err(|e| self.request_error("update", &name, e)),
                        Err(e) => Err(self.request_error("create", &name, e)),
                    }
                })
                .await?;
        }
        self.delete_parts(&release.name, release.version, parts.len() + 1)
            .await
    }

    /// Deletes the part Secrets of a revision from index `from` (1-based) on.
    async fn delete_parts(
        &self,
        name: &str,
        version: u64,
        from: usize,
    ) -> Result<(), StorageError> {
        let api = self.api();
        for p in &self.list_parts(&api, name, Some(version)).await? {
            if part_index(p).is_some_and(|(_, i)| i >= from)
                && let Some(secret) = &p.metadata.name
            {
                self.delete_secret(&api, secret).await?;
            }
        }
        Ok(())
    }

    /// Rewrites a revision's record and labels; `done` clears the pending-operation
    /// annotations.
    pub async fn update(&self, release: &Release) -> Result<(), StorageError> {
        let name = secret_name(&release.name, release.version);
        let mut labels = serde_json::to_value(labels(release)).expect("labels serialize");
        labels["modifiedAt"] = json!(chrono::Utc::now().timestamp().to_string());
        let (data, parts) = layout(release);
        let api = self.api();
        // Parts first, so a reader never finds a summary pointing at missing parts.
        if !parts.is_empty() {
            let owner = self
                .cluster
                .retrying(|| async {
                    api.get_opt(&name)
                        .await
                        .map_err(|e| self.request_error("get", &name, e))
                })
                .await?
                .and_then(|s| s.metadata.uid);
            self.write_parts(release, &parts, owner.as_deref()).await?;
        }
        let mut annotations = json!({
            PARTS_ANNOTATION: (!parts.is_empty()).then(|| parts.len().to_string())
        });
        if !release.info.status.is_pending() {
            annotations[HEARTBEAT_ANNOTATION] = Value::Null;
        }
        let patch = json!({
            "metadata": {"labels": labels, "annotations": annotations},
            // Secret data travels base64-encoded; helm's record is itself base64 text.
            "data": {"release": base64::engine::general_purpose::STANDARD.encode(data)},
        });
        self.cluster
            .retrying(|| async {
                api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                    .await
                    .map(|_| ())
                    .map_err(|e| self.request_error("update", &name, e))
            })
            .await?;
        // Parts left from a bigger version of this record are ignored without the
        // annotation and removed with the revision.
        Ok(())
    }

    /// Refreshes the heartbeat of a pending revision.
    pub async fn heartbeat(&self, name: &str, version: u64) -> Result<(), StorageError> {
        let secret = secret_name(name, version);
        let patch = json!({"metadata": {"annotations": {
            HEARTBEAT_ANNOTATION: release::format_time(&release::now())
        }}});
        self.api()
            .patch(&secret, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .map(|_| ())
            .map_err(|e| self.request_error("update", &secret, e).into())
    }

    /// Deletes one revision's record.
    pub async fn delete(&self, name: &str, version: u64) -> Result<(), StorageError> {
        let secret = secret_name(name, version);
        self.delete_secret(&self.api(), &secret).await?;
        self.delete_parts(name, version, 1).await
    }

    /// Deletes the oldest revisions beyond `max` (0 = unlimited), never the latest deployed
    /// one, as helm's `--history-max` does.
    pub async fn prune_history(&self, name: &str, max: usize) -> Result<(), StorageError> {
        if max == 0 {
            return Ok(());
        }
        let history = self.history_stored(name).await?;
        if history.len() <= max {
            return Ok(());
        }
        let last_deployed = history
            .iter()
            .rev()
            .find(|s| s.release.info.status == Status::Deployed)
            .map(|s| s.release.version);
        let mut excess = history.len() - max;
        let mut left = Vec::new();
        let api = self.api();
        for s in &history {
            if excess == 0 || Some(s.release.version) == last_deployed {
                left.push(s.release.version);
                continue;
            }
            self.delete_secret(&api, &secret_name(name, s.release.version))
                .await?;
            excess -= 1;
        }
        // The deleted revisions' parts, with any orphaned before, in one sweep.
        self.delete_orphan_parts(name, &left).await
    }

    /// Deletes the records of `versions` of `name` and then every part Secret of `name`
    /// (uninstall without `--keep-history`).
    pub async fn purge(
        &self,
        name: &str,
        versions: impl IntoIterator<Item = u64>,
    ) -> Result<(), StorageError> {
        let api = self.api();
        for version in versions {
            self.delete_secret(&api, &secret_name(name, version))
                .await?;
        }
        self.delete_orphan_parts(name, &[]).await
    }

    /// Deletes the part Secrets of `name` whose revision is not in `keep`: parts of
    /// revisions another client deleted, or left by an operation stopped between deleting
    /// a revision and its parts.
    pub async fn delete_orphan_parts(&self, name: &str, keep: &[u64]) -> Result<(), StorageError> {
        let api = self.api();
        for p in &self.list_parts(&api, name, None).await? {
            if p.type_.as_deref() != Some(PART_TYPE) {
                continue;
            }
            let Some((version, _)) = part_index(p) else {
                continue;
            };
            if keep.contains(&version) {
                continue;
            }
            let Some(secret) = &p.metadata.name else {
                continue;
            };
            self.delete_secret(&api, secret).await?;
        }
        Ok(())
    }

    /// The part Secrets of `name` (of one revision with `version`).
    async fn list_parts(
        &self,
        api: &Api<Secret>,
        name: &str,
        version: Option<u64>,
    ) -> Result<Vec<Secret>, KubeError> {
        let selector = match version {
            Some(version) => format!("owner=rudder,name={name},version={version}"),
            None => format!("owner=rudder,name={name}"),
        };
        let params = ListParams::default().labels(&selector);
        let list = self
            .cluster
            .retrying(|| async {
                api.list(&params)
                    .await
                    .map_err(|e| self.request_error("list", &format!("{name} record parts"), e))
            })
            .await?;
        Ok(list.items)
    }

    /// Deletes the Secret `secret`; one already gone is no error.
    async fn delete_secret(&self, api: &Api<Secret>, secret: &str) -> Result<(), KubeError> {
        self.cluster
            .retrying(|| async {
                match api.delete(secret, &DeleteParams::default()).await {
                    Ok(_) => Ok(()),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(()),
                    Err(e) => Err(self.request_error("delete", secret, e)),
                }
            })
            .await
    }
}

/// The latest revision of every release in `namespace` (every namespace when None), as
/// [`Release::decode_summary`] reads it (no manifest, hooks, values or chart files). Only
/// the latest Secret of each release is decoded.
///
/// With `skip_superseded`, the API server leaves out Secrets labelled
/// `status=superseded`: a superseded revision is never the latest one (a newer revision
/// superseded it), so the answer is the same and a long history costs nothing to list.
pub async fn list_latest(
    cluster: &Cluster,
    namespace: Option<&str>,
    skip_superseded: bool,
) -> Result<Vec<Release>, StorageError> {
    let api: Api<Secret> = match namespace {
        Some(ns) => Api::namespaced(cluster.client.clone(), ns),
        None => Api::all(cluster.client.clone()),
    };
    let params = ListParams::default().labels(if skip_superseded {
        "owner=helm,status!=superseded"
    } else {
        "owner=helm"
    });
    let list = cluster
        .retrying(|| async {
            api.list(&params).await.map_err(|e| {
                let r = crate::kube::ObjectRef {
                    api_version: "v1".into(),
                    kind: "Secret".into(),
                    namespace: namespace.map(String::from),
                    name: "release records".into(),
                };
                crate::kube::translate_error(e, "list", &r, &cluster.url)
            })
        })
        .await?;
    let mut latest: HashMap<(String, String), &Secret> = HashMap::new();
    let version_of = |s: &Secret| -> u64 {
        s.metadata
            .labels
            .as_ref()
            .and_then(|l| l.get("version"))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    for secret in &list.items {
        if secret.type_.as_deref() != Some(SECRET_TYPE) {
            continue;
        }
        let Some(name) = secret.metadata.labels.as_ref().and_then(|l| l.get("name")) else {
            continue;
        };
        let key = (
            secret.metadata.namespace.clone().unwrap_or_default(),
            name.clone(),
        );
        match latest.get(&key) {
            Some(existing) if version_of(existing) >= version_of(secret) => {}
            _ => {
                latest.insert(key, secret);
            }
        }
    }
    // Records decode in parallel; a record that cannot be read is skipped, as helm's list
    // does.
    use rayon::prelude::*;
    let latest: Vec<(String, &Secret)> = latest.into_iter().map(|((ns, _), s)| (ns, s)).collect();
    Ok(latest
        .par_iter()
        .filter_map(|(ns, secret)| decode_secret_with(secret, ns, Release::decode_summary).ok())
        .collect())
}

//! The cluster connection: configuration from `KUBECONFIG`/`--kubeconfig`/`--kube-context`
//! (or in-cluster), kind → resource mapping through discovery, server-side apply with a
//! field manager, get/list/delete, retries of transient failures, and readiness checks.

mod error;
pub mod wait;

pub use error::KubeError;

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kube::api::{Api, DeleteParams, DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::Scope;
use serde_json::Value;

use error::{Request, translate};

/// The label helm puts on every object it manages.
pub const MANAGED_BY_LABEL: &str = "app.kubernetes.io/managed-by";
/// Its value: "Helm", so that helm and rudder can take over each other's releases.
pub const MANAGED_BY: &str = "Helm";
/// The annotation naming the owning release.
pub const RELEASE_NAME_ANNOTATION: &str = "meta.helm.sh/release-name";
/// The annotation naming the owning release's namespace.
pub const RELEASE_NAMESPACE_ANNOTATION: &str = "meta.helm.sh/release-namespace";
/// `helm.sh/resource-policy: keep` keeps an object on prune and uninstall.
pub const RESOURCE_POLICY_ANNOTATION: &str = "helm.sh/resource-policy";

/// How to reach the cluster (the global flags).
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// `--kubeconfig`; otherwise `KUBECONFIG` or `~/.kube/config`, then in-cluster.
    pub kubeconfig: Option<PathBuf>,
    /// `--kube-context`.
    pub context: Option<String>,
    /// `-n/--namespace`; otherwise the context's namespace, then `default`.
    pub namespace: Option<String>,
}

/// A kind the cluster serves.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub resource: ApiResource,
    pub namespaced: bool,
}

/// An object's identity, for requests and messages.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectRef {
    pub api_version: String,
    pub kind: String,
    /// None for cluster-scoped objects.
    pub namespace: Option<String>,
    pub name: String,
}

impl ObjectRef {
    /// The identity of a manifest object; `namespace` is filled in later by
    /// [`Cluster::scope`] for namespaced kinds.
    pub fn of(object: &Value) -> ObjectRef {
        let s = |p: &str| object.pointer(p).and_then(Value::as_str).map(String::from);
        ObjectRef {
            api_version: s("/apiVersion").unwrap_or_default(),
            kind: s("/kind").unwrap_or_default(),
            namespace: s("/metadata/namespace").filter(|n| !n.is_empty()),
            name: s("/metadata/name").unwrap_or_default(),
        }
    }
}

impl std::fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {:?} in namespace {:?}", self.kind, self.name, ns),
            None => write!(f, "{} {:?}", self.kind, self.name),
        }
    }
}

/// How a write is made.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub field_manager: String,
    /// Take fields other managers own (`--force-conflicts`).
    pub force: bool,
    /// Server-side dry run (`dryRun=All`): validated and defaulted, nothing stored.
    pub dry_run: bool,
}

impl Default for ApplyOptions {
    fn default() -> Self {
        ApplyOptions {
            field_manager: "rudder".into(),
            force: false,
            dry_run: false,
        }
    }
}

/// How often transient failures are retried, and how long to wait between attempts.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub first_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            attempts: 6,
            first_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }
}

/// A connected cluster.
#[derive(Clone)]
pub struct Cluster {
    pub client: kube::Client,
    /// The namespace commands work in.
    pub namespace: String,
    /// The API server URL (for messages).
    pub url: String,
    pub retry: RetryPolicy,
    kinds: Arc<Mutex<HashMap<(String, String), Resolved>>>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("url", &self.url)
            .field("namespace", &self.namespace)
            .finish()
    }
}

/// Connects with the user's configuration.
pub async fn connect(options: &ConnectOptions) -> Result<Cluster, KubeError> {
    let kube_options = KubeConfigOptions {
        context: options.context.clone(),
        cluster: None,
        user: None,
    };
    let config = match &options.kubeconfig {
        Some(path) => {
            let file = Kubeconfig::read_from(path).map_err(|e| {
                KubeError::Config(format!("reading the kubeconfig {}: {e}", path.display()))
            })?;
            kube::Config::from_custom_kubeconfig(file, &kube_options)
                .await
                .map_err(|e| KubeError::Config(format!("{}: {e}", path.display())))?
        }
        None => match kube::Config::from_kubeconfig(&kube_options).await {
            Ok(config) => config,
            Err(kubeconfig_err) => {
                if options.context.is_some() {
                    return Err(KubeError::Config(kubeconfig_err.to_string()));
                }
                kube::Config::incluster().map_err(|incluster_err| {
                    KubeError::Config(format!(
                        "no kubeconfig ({kubeconfig_err}) and not running in a cluster ({incluster_err}); pass --kubeconfig or set KUBECONFIG"
                    ))
                })?
            }
        },
    };
    Cluster::from_config(config, options.namespace.clone())
}

impl Cluster {
    /// A cluster from a ready `kube` configuration.
    pub fn from_config(
        mut config: kube::Config,
        namespace: Option<String>,
    ) -> Result<Cluster, KubeError> {
        // Several TLS backends are linked in (reqwest's and kube's): pick ring explicitly.
        let _ = rustls::crypto::ring::default_provider().install_default();
        // rudder retries transient failures itself, with bounded attempts (kube's default
        // layer would retry for minutes and not on dropped connections).
        config.default_retry = false;
        if config.read_timeout.is_none() {
            config.read_timeout = Some(Duration::from_secs(60));
        }
        let url = config.cluster_url.to_string();
        let url = url.trim_end_matches('/').to_string();
        let namespace = namespace
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| config.default_namespace.clone());
        let client =
            kube::Client::try_from(config).map_err(|e| KubeError::Config(e.to_string()))?;
        Ok(Cluster {
            client,
            namespace,
            url,
            retry: RetryPolicy::default(),
            kinds: Arc::new(Mutex::new(HashMap::new())),
        })
    }

    /// The same cluster, working in `namespace`.
    pub fn in_namespace(&self, namespace: &str) -> Cluster {
        Cluster {
            namespace: namespace.to_string(),
            ..self.clone()
        }
    }

    /// Runs `op` again while it fails transiently, with exponential backoff.
    pub async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T, KubeError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, KubeError>>,
    {
        let mut delay = self.retry.first_delay;
        let mut attempt = 1;
        loop {
            match op().await {
                Err(e) if e.is_transient() && attempt < self.retry.attempts => {
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(self.retry.max_delay);
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn request<'a>(&'a self, verb: &'a str, r: &'a ObjectRef) -> Request<'a> {
        Request {
            verb,
            kind: &r.kind,
            object: r.to_string(),
            namespace: r.namespace.as_deref(),
            url: &self.url,
        }
    }

    /// The Kubernetes version of the server (`v1.35.2`).
    pub async fn server_version(&self) -> Result<String, KubeError> {
        let r = ObjectRef {
            api_version: String::new(),
            kind: "version".into(),
            namespace: None,
            name: "/version".into(),
        };
        self.retrying(|| async {
            self.client
                .apiserver_version()
                .await
                .map(|info| info.git_version)
                .map_err(|e| translate(e, &self.request("get", &r)))
        })
        .await
    }

    /// Every group/version and group/version/Kind the cluster serves (aggregated discovery:
    /// two requests), as templates see them in `Capabilities.APIVersions`. The kinds found
    /// are remembered, so later requests need no discovery of their own.
    pub async fn api_versions(&self) -> Result<Vec<String>, KubeError> {
        let r = ObjectRef {
            api_version: String::new(),
            kind: "discovery".into(),
            namespace: None,
            name: "/apis".into(),
        };
        let discovery = self
            .retrying(|| async {
                kube::discovery::Discovery::new(self.client.clone())
                    .run_aggregated()
                    .await
                    .map_err(|e| translate(e, &self.request("get", &r)))
            })
            .await?;
        let mut out = Vec::new();
        let mut kinds = self.kinds.lock().expect("kinds lock");
        for group in discovery.groups() {
            for version in group.versions() {
                let gv = if group.name().is_empty() {
                    version.to_string()
                } else {
                    format!("{}/{version}", group.name())
                };
                out.push(gv.clone());
                for (resource, caps) in group.versioned_resources(version) {
                    out.push(format!("{gv}/{}", resource.kind));
                    kinds
                        .entry((gv.clone(), resource.kind.clone()))
                        .or_insert(Resolved {
                            resource,
                            namespaced: caps.scope == Scope::Namespaced,
                        });
                }
            }
        }
        Ok(out)
    }

    /// The resource serving `kind` in `api_version`, from discovery (cached).
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Resolved, KubeError> {
        let key = (api_version.to_string(), kind.to_string());
        if let Some(found) = self.kinds.lock().expect("kinds lock").get(&key) {
            return Ok(found.clone());
        }
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g.to_string(), v.to_string()),
            None => (String::new(), api_version.to_string()),
        };
        let gvk = GroupVersionKind::gvk(&group, &version, kind);
        let r = ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: None,
            name: String::new(),
        };
        let found = self
            .retrying(|| async {
                match kube::discovery::pinned_kind(&self.client, &gvk).await {
                    Ok((resource, caps)) => Ok(Some(Resolved {
                        resource,
                        namespaced: caps.scope == Scope::Namespaced,
                    })),
                    Err(kube::Error::Api(s)) if s.code == 404 => Ok(None),
                    Err(kube::Error::Discovery(_)) => Ok(None),
                    Err(e) => Err(translate(e, &self.request("discover", &r))),
                }
            })
            .await?;
        let found = found.ok_or_else(|| KubeError::UnknownKind {
            api_version: api_version.into(),
            kind: kind.into(),
            object: kind.into(),
        })?;
        self.kinds
            .lock()
            .expect("kinds lock")
            .insert(key, found.clone());
        Ok(found)
    }

    /// [`Self::resolve`] for one object: an unknown kind's error names the object.
    async fn resolve_object(&self, r: &ObjectRef) -> Result<Resolved, KubeError> {
        self.resolve(&r.api_version, &r.kind)
            .await
            .map_err(|e| match e {
                KubeError::UnknownKind {
                    api_version, kind, ..
                } => KubeError::UnknownKind {
                    api_version,
                    kind,
                    object: r.to_string(),
                },
                other => other,
            })
    }

    /// Fills in (or clears) the namespace of `r` according to its kind's scope:
    /// namespaced objects without one go to `default_namespace`.
    pub async fn scope(
        &self,
        r: &mut ObjectRef,
        default_namespace: &str,
    ) -> Result<Resolved, KubeError> {
        let resolved = self.resolve_object(r).await?;
        if resolved.namespaced {
            if r.namespace.is_none() {
                r.namespace = Some(default_namespace.to_string());
            }
        } else {
            r.namespace = None;
        }
        Ok(resolved)
    }

    fn api(&self, resolved: &Resolved, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) if resolved.namespaced => {
                Api::namespaced_with(self.client.clone(), ns, &resolved.resource)
            }
            _ => Api::all_with(self.client.clone(), &resolved.resource),
        }
    }

    /// Server-side applies `object` (its namespace already set for namespaced kinds).
    pub async fn apply(&self, object: &Value, options: &ApplyOptions) -> Result<Value, KubeError> {
        let r = ObjectRef::of(object);
        let resolved = self.resolve_object(&r).await?;
        let api = self.api(&resolved, r.namespace.as_deref());
        let mut params = PatchParams::apply(&options.field_manager);
        if options.force {
            params = params.force();
        }
        params.dry_run = options.dry_run;
        self.retrying(|| async {
            api.patch(&r.name, &params, &Patch::Apply(object))
                .await
                .map(|o| serde_json::to_value(o).expect("objects serialize"))
                .map_err(|e| translate(e, &self.request("apply", &r)))
        })
        .await
    }

    /// The live object, None when it does not exist.
    pub async fn get(&self, r: &ObjectRef) -> Result<Option<Value>, KubeError> {
        let resolved = self.resolve(&r.api_version, &r.kind).await?;
        let api = self.api(&resolved, r.namespace.as_deref());
        self.retrying(|| async {
            match api.get_opt(&r.name).await {
                Ok(o) => Ok(o.map(|o| serde_json::to_value(o).expect("objects serialize"))),
                Err(e) => Err(translate(e, &self.request("get", r))),
            }
        })
        .await
    }

    /// The core/v1 Events about the object (in its namespace).
    pub async fn events_of(&self, r: &ObjectRef) -> Result<Vec<Value>, KubeError> {
        let api: Api<k8s_openapi::api::core::v1::Event> = match &r.namespace {
            Some(ns) => Api::namespaced(self.client.clone(), ns),
            None => Api::all(self.client.clone()),
        };
        let params = ListParams::default().fields(&format!(
            "involvedObject.kind={},involvedObject.name={}",
            r.kind, r.name
        ));
        let list = self
            .list_retrying(&api, &params, "list events of", r)
            .await?;
        Ok(list
            .items
            .into_iter()
            .map(|e| serde_json::to_value(e).expect("events serialize"))
            .collect())
    }

    /// The last `lines` lines of a container's log.
    pub async fn logs(
        &self,
        namespace: &str,
        pod: &str,
        container: &str,
        lines: usize,
    ) -> Result<String, KubeError> {
        let api: Api<k8s_openapi::api::core::v1::Pod> =
            Api::namespaced(self.client.clone(), namespace);
        let params = kube::api::LogParams {
            container: Some(container.to_string()),
            tail_lines: Some(lines as i64),
            ..Default::default()
        };
        let r = ObjectRef {
            api_version: "v1".into(),
            kind: "Pod".into(),
            namespace: Some(namespace.into()),
            name: pod.into(),
        };
        self.retrying(|| async {
            api.logs(pod, &params)
                .await
                .map_err(|e| translate(e, &self.request("read the log of", &r)))
        })
        .await
    }

    /// Lists objects of a kind (in `r.namespace`, or everywhere when None).
    pub async fn list(
        &self,
        r: &ObjectRef,
        label_selector: Option<&str>,
    ) -> Result<Vec<Value>, KubeError> {
        let resolved = self.resolve(&r.api_version, &r.kind).await?;
        let (items, _) = self.list_resolved(r, &resolved, label_selector).await?;
        Ok(items)
    }

    /// Lists the objects of `r`'s kind (in `r`'s namespace, or every one), each with its
    /// `apiVersion` and `kind` (list items may come without them), and the list's
    /// resourceVersion.
    async fn list_resolved(
        &self,
        r: &ObjectRef,
        resolved: &Resolved,
        label_selector: Option<&str>,
    ) -> Result<(Vec<Value>, String), KubeError> {
        let api = self.api(resolved, r.namespace.as_deref());
        let mut params = ListParams::default();
        if let Some(sel) = label_selector {
            params = params.labels(sel);
        }
        let list = self.list_retrying(&api, &params, "list", r).await?;
        let items = list
            .items
            .into_iter()
            .map(|o| {
                let mut item = serde_json::to_value(o).expect("objects serialize");
                if let Some(map) = item.as_object_mut() {
                    map.entry("apiVersion")
                        .or_insert_with(|| Value::from(r.api_version.as_str()));
                    map.entry("kind")
                        .or_insert_with(|| Value::from(r.kind.as_str()));
                }
                item
            })
            .collect();
        Ok((items, list.metadata.resource_version.unwrap_or_default()))
    }

    /// One list call, retried on transient faults; a failure names `verb` and `r`.
    async fn list_retrying<K>(
        &self,
        api: &Api<K>,
        params: &ListParams,
        verb: &str,
        r: &ObjectRef,
    ) -> Result<kube::core::ObjectList<K>, KubeError>
    where
        K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
    {
        self.retrying(|| async {
            api.list(params)
                .await
                .map_err(|e| translate(e, &self.request(verb, r)))
        })
        .await
    }

    /// Whether any object of `r`'s kind exists (in `r.namespace`, or anywhere when None),
    /// asking the server for one at most.
    pub async fn any_exists(&self, r: &ObjectRef) -> Result<bool, KubeError> {
        let resolved = self.resolve(&r.api_version, &r.kind).await?;
        let api = self.api(&resolved, r.namespace.as_deref());
        let params = ListParams::default().limit(1);
        let list = self.list_retrying(&api, &params, "list", r).await?;
        Ok(!list.items.is_empty())
    }

    /// What a template's `lookup(apiVersion, kind, namespace, name)` sees, as helm answers
    /// it: with a name, the object, or an empty map when it (or its kind) does not exist;
    /// without a name, a `<Kind>List` of the objects in `namespace` (every namespace when
    /// empty; cluster-scoped kinds ignore it). Other failures (403, unreachable) are errors.
    pub async fn lookup(
        &self,
        api_version: &str,
        kind: &str,
        namespace: &str,
        name: &str,
    ) -> Result<Value, KubeError> {
        let resolved = match self.resolve(api_version, kind).await {
            Ok(resolved) => resolved,
            Err(KubeError::UnknownKind { .. }) => return Ok(Value::Object(Default::default())),
            Err(e) => return Err(e),
        };
        let namespace =
            (resolved.namespaced && !namespace.is_empty()).then(|| namespace.to_string());
        if !name.is_empty() {
            if resolved.namespaced && namespace.is_none() {
                // helm asks the cluster-wide path, where no single namespaced object lives.
                return Ok(Value::Object(Default::default()));
            }
            let r = ObjectRef {
                api_version: api_version.into(),
                kind: kind.into(),
                namespace,
                name: name.into(),
            };
            return Ok(self
                .get(&r)
                .await?
                .unwrap_or_else(|| Value::Object(Default::default())));
        }
        let r = ObjectRef {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace,
            name: String::new(),
        };
        let (items, resource_version) = self.list_resolved(&r, &resolved, None).await?;
        Ok(serde_json::json!({
            "apiVersion": api_version,
            "kind": format!("{kind}List"),
            "metadata": {"resourceVersion": resource_version},
            "items": items,
        }))
    }

    /// The `lookup` hook of a connected render: each call runs [`Cluster::lookup`] as a task
    /// on the current tokio runtime and blocks the calling (rayon) thread until it answers.
    ///
    /// Must be called inside a tokio runtime, and the render using the hook must not run on
    /// one of that runtime's worker threads (run it with `spawn_blocking`): a worker blocked
    /// in the render could be the one the lookup task needs.
    pub fn lookup_hook(&self) -> crate::engine::LookupFn {
        let cluster = self.clone();
        let handle = tokio::runtime::Handle::current();
        Arc::new(
            move |api_version: &str, kind: &str, namespace: &str, name: &str| {
                let cluster = cluster.clone();
                let (api_version, kind, namespace, name) = (
                    api_version.to_string(),
                    kind.to_string(),
                    namespace.to_string(),
                    name.to_string(),
                );
                let what = match (name.is_empty(), namespace.is_empty()) {
                    (false, false) => format!("{kind} {name:?} in namespace {namespace:?}"),
                    (false, true) => format!("{kind} {name:?}"),
                    (true, false) => format!("{kind} objects in namespace {namespace:?}"),
                    (true, true) => format!("{kind} objects in every namespace"),
                };
                let task = handle.spawn(async move {
                    cluster.lookup(&api_version, &kind, &namespace, &name).await
                });
                match futures::executor::block_on(task) {
                    Ok(Ok(value)) => Ok(value),
                    Ok(Err(e)) => Err(format!("lookup of {what} failed: {e}")),
                    Err(e) => Err(format!("lookup of {what} did not finish: {e}")),
                }
            },
        )
    }

    /// The server's printed table (`meta.k8s.io/v1` Table, the columns `kubectl get` shows)
    /// of one object, or of the objects matching `label_selector` when `r.name` is empty;
    /// None when the object does not exist.
    pub async fn table(
        &self,
        r: &ObjectRef,
        label_selector: Option<&str>,
    ) -> Result<Option<Value>, KubeError> {
        use kube::Resource as _;
        let resolved = self.resolve(&r.api_version, &r.kind).await?;
        let namespace = r.namespace.as_deref().filter(|_| resolved.namespaced);
        let path = DynamicObject::url_path(&resolved.resource, namespace);
        let request = kube::core::Request::new(path);
        let verb = if r.name.is_empty() { "list" } else { "get" };
        self.retrying(|| async {
            let built = if r.name.is_empty() {
                let mut params = ListParams::default();
                if let Some(sel) = label_selector {
                    params = params.labels(sel);
                }
                request.list(&params)
            } else {
                request.get(&r.name, &kube::api::GetParams::default())
            };
            let mut req = built
                .map_err(|e| translate(kube::Error::BuildRequest(e), &self.request(verb, r)))?;
            req.headers_mut().insert(
                "accept",
                "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
                    .parse()
                    .expect("a valid header value"),
            );
            match self.client.request::<Value>(req).await {
                Ok(table) => Ok(Some(table)),
                Err(kube::Error::Api(s)) if s.code == 404 && !r.name.is_empty() => Ok(None),
                Err(e) => Err(translate(e, &self.request(verb, r))),
            }
        })
        .await
    }

    /// Deletes the object (background propagation); Ok(false) when it was already gone.
    pub async fn delete(&self, r: &ObjectRef, dry_run: bool) -> Result<bool, KubeError> {
        let resolved = match self.resolve(&r.api_version, &r.kind).await {
            Ok(resolved) => resolved,
            // A kind the cluster no longer serves has no objects left to delete.
            Err(KubeError::UnknownKind { .. }) => return Ok(false),
            Err(e) => return Err(e),
        };
        let api = self.api(&resolved, r.namespace.as_deref());
        let params = DeleteParams {
            dry_run,
            propagation_policy: Some(kube::api::PropagationPolicy::Background),
            ..Default::default()
        };
        self.retrying(|| async {
            match api.delete(&r.name, &params).await {
                Ok(_) => Ok(true),
                Err(kube::Error::Api(s)) if s.code == 404 => Ok(false),
                Err(e) => Err(translate(e, &self.request("delete", r))),
            }
        })
        .await
    }

    /// Creates the object; fails with [`KubeError::AlreadyExists`] when it exists.
    pub async fn create(&self, object: &Value) -> Result<Value, KubeError> {
        let r = ObjectRef::of(object);
        let resolved = self.resolve(&r.api_version, &r.kind).await?;
        let api = self.api(&resolved, r.namespace.as_deref());
        let obj: DynamicObject =
            serde_json::from_value(object.clone()).map_err(|e| KubeError::Invalid {
                object: r.to_string(),
                causes: vec![e.to_string()],
            })?;
        let mut first = true;
        self.retrying(|| {
            let retried = !std::mem::replace(&mut first, false);
            let obj = obj.clone();
            let api = api.clone();
            let r = r.clone();
            async move {
                match api.create(&PostParams::default(), &obj).await {
                    Ok(o) => Ok(serde_json::to_value(o).expect("objects serialize")),
                    Err(kube::Error::Api(s)) if s.code == 409 && retried => {
                        // A retried create may have succeeded the first time: it is ours if
                        // the stored object carries the same data.
                        match api.get_opt(&r.name).await {
                            Ok(Some(existing)) if existing.data == obj.data => {
                                Ok(serde_json::to_value(existing).expect("objects serialize"))
                            }
                            _ => Err(translate(kube::Error::Api(s), &self.request("create", &r))),
                        }
                    }
                    Err(e) => Err(translate(e, &self.request("create", &r))),
                }
            }
        })
        .await
    }
}

/// Translates a `kube` client error of a `verb` request on `r` into a [`KubeError`].
pub fn translate_error(err: kube::Error, verb: &str, r: &ObjectRef, url: &str) -> KubeError {
    translate(
        err,
        &Request {
            verb,
            kind: &r.kind,
            object: r.to_string(),
            namespace: r.namespace.as_deref(),
            url,
        },
    )
}

//! The resource API: URL routing, authentication and authorization, and the verbs
//! (get, list, watch, create, update, patch, delete, deletecollection) over the store.

use crate::User;
use crate::apply::{Part, record_update, server_side_apply};
use crate::discovery;
use crate::errors::ApiError;
use crate::faults::{Faults, Injected, Resume};
use crate::fields::Walk;
use crate::kinds::{ResourceKey, ResourceType, crd_status};
use crate::patch;
use crate::selectors::{FieldSelector, LabelSelector};
use crate::store::{Store, meta_str, new_uid, now_rfc3339};
use crate::validation;
use base64::Engine;
use bytes::Bytes;
use futures::StreamExt;
use http::{HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The response body type: whole JSON documents or a watch stream.
pub type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Everything a request handler needs, shared by all connections.
pub struct AppState {
    pub store: Mutex<Store>,
    pub users: Vec<User>,
    pub faults: Faults,
    pub journal: crate::journal::Journal,
    pub state_file: Option<PathBuf>,
    pub server_address: Mutex<String>,
    pub log: bool,
}

/// The largest request body the apiserver accepts.
pub const MAX_REQUEST_BYTES: usize = 3 * 1024 * 1024;

/// The connection must be closed without a response (fault injection).
#[derive(Debug, thiserror::Error)]
#[error("connection dropped by fault injection")]
pub struct DropConnection;

fn json_response(code: u16, body: &Value) -> Response<Body> {
    bytes_response(
        code,
        serde_json::to_vec(body).expect("JSON values serialize"),
    )
}

/// A response carrying `bytes` of JSON.
fn bytes_response(code: u16, bytes: Vec<u8>) -> Response<Body> {
    let mut resp = Response::new(Full::new(Bytes::from(bytes)).boxed_unsync());
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    resp
}

fn error_response(err: &ApiError) -> Response<Body> {
    let mut resp = json_response(err.code(), &err.to_status());
    if err.code() == 429 {
        resp.headers_mut()
            .insert("retry-after", HeaderValue::from_static("1"));
    }
    resp
}

/// Handles one HTTP request.
pub async fn handle(
    state: Arc<AppState>,
    req: Request<hyper::body::Incoming>,
) -> Result<Response<Body>, DropConnection> {
    let latency = state.faults.latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
    state
        .journal
        .record(req.method().as_str(), req.uri().path());
    match state.faults.take(req.method().as_str(), req.uri().path()) {
        Some(Injected::Drop) => return Err(DropConnection),
        Some(Injected::Pause(pause)) if pause.hold().await == Resume::Drop => {
            return Err(DropConnection);
        }
        Some(Injected::Pause(_)) => {}
        Some(Injected::Fail(code)) => {
            let message = match code {
                429 => "Too many requests, please try again later.".to_string(),
                503 => "the server is currently unable to handle the request".to_string(),
                _ => "an error on the server (\"injected fault\") has prevented the request from succeeding".to_string(),
            };
            return Ok(error_response(&ApiError::Injected { code, message }));
        }
        None => {}
    }
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(_) => return Err(DropConnection),
    };
    if body.len() > MAX_REQUEST_BYTES {
        return Ok(error_response(&ApiError::TooLarge(MAX_REQUEST_BYTES)));
    }
    let logged_body =
        (state.log && method != Method::GET && std::env::var_os("KUBESIM_LOG_BODY").is_some())
            .then(|| String::from_utf8_lossy(&body).to_string());
    let resp = route(&state, &method, &uri, &headers, body).await;
    if state.log {
        eprintln!("kubesim: {method} {uri} -> {}", resp.status().as_u16());
        if let Some(b) = logged_body {
            eprintln!("kubesim:   body: {b}");
        }
    }
    Ok(resp)
}

fn authenticate<'a>(state: &'a AppState, headers: &http::HeaderMap) -> Option<&'a User> {
    let token = headers
        .get("authorization")?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?
        .trim();
    state.users.iter().find(|u| u.token == token)
}

/// A parsed resource URL.
#[derive(Debug, Clone, PartialEq)]
struct ResourcePath {
    group: String,
    version: String,
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
    subresource: Option<String>,
}

fn parse_resource_path(path: &str) -> Option<ResourcePath> {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segs.as_slice() {
        ["api", v, rest @ ..] => (String::new(), v.to_string(), rest),
        ["apis", g, v, rest @ ..] => (g.to_string(), v.to_string(), rest),
        _ => return None,
    };
    let s = |i: usize| rest.get(i).map(|x| x.to_string());
    let rp = match rest {
        [] => return None,
        ["namespaces", ns, res, ..]
            if !(group.is_empty() && matches!(*res, "status" | "finalize") && rest.len() == 3) =>
        {
            ResourcePath {
                group,
                version,
                resource: res.to_string(),
                namespace: Some(ns.to_string()),
                name: s(3),
                subresource: s(4),
            }
        }
        [res, ..] => ResourcePath {
            group,
            version,
            resource: res.to_string(),
            namespace: None,
            name: s(1),
            subresource: s(2),
        },
    };
    Some(rp)
}

fn wants_aggregated(headers: &http::HeaderMap) -> bool {
    let accept = headers
        .get("accept")
        .and_then(|a| a.to_str().ok())
        .unwrap_or("");
    let first = accept.split(',').next().unwrap_or("");
    let params: Vec<&str> = first.split(';').map(str::trim).collect();
    params.contains(&"as=APIGroupDiscoveryList") && params.contains(&"v=v2")
}

fn aggregated_response(doc: &Value) -> Response<Body> {
    let mut resp = json_response(200, doc);
    resp.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(
            "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        ),
    );
    resp
}

async fn route(
    state: &Arc<AppState>,
    method: &Method,
    uri: &http::Uri,
    headers: &http::HeaderMap,
    body: Bytes,
) -> Response<Body> {
    let path = uri.path();
    if matches!(path, "/healthz" | "/readyz" | "/livez") {
        let mut resp = Response::new(Full::new(Bytes::from_static(b"ok")).boxed_unsync());
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("text/plain"));
        return resp;
    }
    let Some(user) = authenticate(state, headers) else {
        return error_response(&ApiError::Unauthorized);
    };
    let query: HashMap<String, String> =
        form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
            .into_owned()
            .collect();
    let types = state.store.lock().expect("store lock").types().to_vec();
    let segs: Vec<&str> = path
        .trim_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .collect();
    if method == Method::GET && segs == ["openapi", "v2"] {
        let accept = headers
            .get("accept")
            .and_then(|a| a.to_str().ok())
            .unwrap_or("");
        if accept.contains("protobuf") {
            let mut resp = Response::new(
                Full::new(Bytes::from(discovery::openapi_v2_protobuf())).boxed_unsync(),
            );
            resp.headers_mut().insert(
                "content-type",
                HeaderValue::from_static(discovery::OPENAPI_V2_PROTOBUF),
            );
            return resp;
        }
    }
    if method == Method::GET {
        let doc = match segs.as_slice() {
            ["version"] => Some(discovery::version()),
            ["api"] => {
                if wants_aggregated(headers) {
                    return aggregated_response(&discovery::aggregated(&types, true));
                }
                Some(discovery::core_versions(
                    &state.server_address.lock().expect("lock"),
                ))
            }
            ["apis"] => {
                if wants_aggregated(headers) {
                    return aggregated_response(&discovery::aggregated(&types, false));
                }
                Some(discovery::group_list(&types))
            }
            ["api", v] => discovery::resource_list(&types, "", v),
            ["apis", g] => discovery::group(&types, g),
            ["apis", g, v] => discovery::resource_list(&types, g, v),
            ["openapi", "v2"] => Some(discovery::openapi_v2(&types)),
            ["openapi", "v3"] => Some(discovery::openapi_v3_index(&types)),
            ["openapi", "v3", "api", v] => discovery::openapi_v3_document(&types, "", v),
            ["openapi", "v3", "apis", g, v] => discovery::openapi_v3_document(&types, g, v),
            _ => None,
        };
        if let Some(doc) = doc {
            return json_response(200, &doc);
        }
        if !(segs.first() == Some(&"api") || segs.first() == Some(&"apis")) || segs.len() < 3 {
            return error_response(&ApiError::UnknownPath);
        }
    }
    let Some(rp) = parse_resource_path(path) else {
        return error_response(&ApiError::UnknownPath);
    };
    let rt = {
        let store = state.store.lock().expect("store lock");
        store.find_type(&rp.group, &rp.version, &rp.resource)
    };
    let Some(rt) = rt else {
        return error_response(&ApiError::UnknownPath);
    };
    let ctx = Ctx {
        state: state.clone(),
        rt,
        rp,
        query,
        user: user.clone(),
        user_agent: headers
            .get("user-agent")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        accept: headers
            .get("accept")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string(),
        warnings: Mutex::new(Vec::new()),
    };
    let content_type = headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/json")
        .to_string();
    let (content_type, body) = if !body.is_empty() && content_type.contains("protobuf") {
        match crate::proto::decode(&body) {
            Ok(obj) => (
                "application/json".to_string(),
                Bytes::from(serde_json::to_vec(&obj).expect("JSON values serialize")),
            ),
            // DeleteOptions we cannot read are treated as defaults.
            Err(_) if *method == Method::DELETE => ("application/json".to_string(), Bytes::new()),
            Err(e) => {
                return error_response(&ApiError::UnsupportedMediaType(e.to_string()));
            }
        }
    } else {
        (content_type, body)
    };
    if !body.is_empty() && content_type.contains("cbor") {
        return error_response(&ApiError::UnsupportedMediaType(
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml".into(),
        ));
    }
    match ctx.dispatch(method, &content_type, body).await {
        Ok(resp) => resp,
        Err(err) => error_response(&err),
    }
}

struct Ctx {
    state: Arc<AppState>,
    rt: ResourceType,
    rp: ResourcePath,
    query: HashMap<String, String>,
    user: User,
    user_agent: String,
    accept: String,
    /// `Warning` headers to send with the response.
    warnings: Mutex<Vec<String>>,
}

fn parse_body(body: &Bytes) -> Result<Value, ApiError> {
    let v: Value = serde_json::from_slice(body).or_else(|_| {
        serde_yaml::from_slice::<Value>(body).map_err(|e| {
            ApiError::BadRequest(format!("the request body could not be decoded: {e}"))
        })
    })?;
    if !v.is_object() {
        return Err(ApiError::BadRequest(
            "the request body must be a JSON object".into(),
        ));
    }
    Ok(v)
}

impl Ctx {
    fn q(&self, k: &str) -> Option<&str> {
        self.query.get(k).map(String::as_str)
    }

    fn dry_run(&self) -> bool {
        self.q("dryRun") == Some("All")
    }

    /// How to walk this kind's objects; custom resources use their CRD `schema`.
    fn walk<'a>(&self, schema: Option<&'a Value>) -> Walk<'a> {
        Walk {
            custom: self.rt.custom,
            schema,
        }
    }

    fn key(&self) -> ResourceKey {
        self.rt.key()
    }

    fn ns(&self) -> String {
        if self.rt.namespaced {
            self.rp.namespace.clone().unwrap_or_default()
        } else {
            String::new()
        }
    }

    fn api_version(&self) -> String {
        self.rt.api_version_for(&self.rp.version)
    }

    fn not_found(&self, name: &str) -> ApiError {
        ApiError::NotFound {
            group: self.rt.group.clone(),
            resource: self.rt.plural.clone(),
            name: name.to_string(),
        }
    }

    /// The manager name of a non-apply write: `fieldManager`, else the user agent's program name.
    fn update_manager(&self) -> String {
        self.q("fieldManager")
            .map(str::to_string)
            .unwrap_or_else(|| {
                let prog = self.user_agent.split('/').next().unwrap_or("").trim();
                if prog.is_empty() {
                    String::new()
                } else {
                    prog.to_string()
                }
            })
    }

    fn authorize(&self, verb: &str) -> Result<(), ApiError> {
        let verb_ok = self
            .user
            .verbs
            .as_ref()
            .is_none_or(|vs| vs.iter().any(|v| v == verb || v == "*"));
        let ns = self.rp.namespace.clone().filter(|_| self.rt.namespaced);
        let ns_ok = match (&self.user.namespaces, &ns) {
            (None, _) => true,
            (Some(allowed), Some(ns)) => allowed.iter().any(|a| a == ns),
            (Some(allowed), None) => {
                // A namespace object itself is in scope when it is one of the allowed ones.
                self.rt.kind == "Namespace"
                    && self.rp.name.as_ref().is_some_and(|n| allowed.contains(n))
            }
        };
        if verb_ok && ns_ok {
            return Ok(());
        }
        let resource = match &self.rp.subresource {
            Some(sub) => format!("{}/{}", self.rt.plural, sub),
            None => self.rt.plural.clone(),
        };
        let subject = match &self.rp.name {
            Some(n) if verb != "create" => format!("{} \"{n}\"", self.rt.qualified_resource()),
            _ => self.rt.qualified_resource(),
        };
        let scope = match ns {
            Some(ns) => format!("in the namespace \"{ns}\""),
            None => "at the cluster scope".to_string(),
        };
        Err(ApiError::Forbidden {
            group: self.rt.group.clone(),
            resource: self.rt.plural.clone(),
            name: self.rp.name.clone().filter(|_| verb != "create"),
            message: format!(
                "{subject} is forbidden: User \"{}\" cannot {verb} resource \"{resource}\" in API group \"{}\" {scope}",
                self.user.name, self.rt.group
            ),
        })
    }

    async fn dispatch(
        self,
        method: &Method,
        content_type: &str,
        body: Bytes,
    ) -> Result<Response<Body>, ApiError> {
        if self.rt.namespaced && self.rp.namespace.is_none() && self.rp.name.is_some() {
            return Err(ApiError::UnknownPath);
        }
        let sub = self.rp.subresource.clone();
        let scalable = !self.rt.custom
            && matches!(
                self.rt.kind.as_str(),
                "Deployment" | "ReplicaSet" | "StatefulSet"
            );
        let pod_log = sub.as_deref() == Some("log") && self.rt.kind == "Pod" && !self.rt.custom;
        if let Some(s) = &sub
            && !((s == "status" && self.rt.has_status) || (s == "scale" && scalable) || pod_log)
        {
            return Err(ApiError::UnknownPath);
        }
        let watching = matches!(self.q("watch"), Some("true") | Some("1"));
        let verb = match (method.as_str(), self.rp.name.is_some()) {
            ("GET", true) => "get",
            ("GET", false) if watching => "watch",
            ("GET", false) => "list",
            ("POST", false) => "create",
            ("PUT", true) => "update",
            ("PATCH", true) => "patch",
            ("DELETE", true) => "delete",
            ("DELETE", false) => "deletecollection",
            _ => return Err(ApiError::MethodNotAllowed),
        };
        self.authorize(verb)?;
        let name = self.rp.name.clone().unwrap_or_default();
        let part = if sub.is_some() {
            Part::Status
        } else {
            Part::Main {
                has_status: self.rt.has_status,
            }
        };
        if pod_log {
            if verb != "get" {
                return Err(ApiError::MethodNotAllowed);
            }
            let pod = self.get(&name)?;
            let text = simulated_log(&pod, self.q("container"));
            let mut resp = Response::new(Full::new(Bytes::from(text)).boxed_unsync());
            resp.headers_mut()
                .insert("content-type", HeaderValue::from_static("text/plain"));
            return Ok(resp);
        }
        if sub.as_deref() == Some("scale") {
            let value = match verb {
                "get" => scale_of(&self.get(&name)?),
                "update" | "patch" => self.rescale(&name, verb, content_type, &body)?,
                _ => return Err(ApiError::MethodNotAllowed),
            };
            return Ok(json_response(200, &value));
        }
        let (code, value) = match verb {
            "get" => (200, self.get(&name)?),
            "list" => {
                if self.accept.contains("as=Table") {
                    (200, self.table()?)
                } else {
                    return Ok(self.with_warnings(bytes_response(200, self.list_json()?)));
                }
            }
            "watch" => return self.watch(),
            "create" => self.create(parse_body(&body)?)?,
            "update" => (200, self.update(&name, parse_body(&body)?, part)?),
            "patch" => self.patch(&name, content_type, &body, part)?,
            "delete" => {
                let opts = if body.is_empty() {
                    json!({})
                } else {
                    parse_body(&body).unwrap_or(json!({}))
                };
                (200, self.delete(&name, &opts)?)
            }
            _ => (200, self.delete_collection()?),
        };
        let value = if verb == "get" && self.accept.contains("as=Table") {
            self.table_of(vec![value])
        } else {
            value
        };
        Ok(self.with_warnings(json_response(code, &value)))
    }

    /// Adds the request's warnings (`Warning: 299 - "…"` headers) to a response.
    fn with_warnings(&self, mut resp: Response<Body>) -> Response<Body> {
        for w in self.warnings.lock().expect("warnings lock").iter() {
            let header = format!("299 - {w:?}");
            if let Ok(v) = HeaderValue::from_str(&header) {
                resp.headers_mut().append("warning", v);
            }
        }
        resp
    }

    /// PUT or PATCH of the `scale` subresource: only `spec.replicas` changes.
    fn rescale(
        &self,
        name: &str,
        verb: &str,
        content_type: &str,
        body: &Bytes,
    ) -> Result<Value, ApiError> {
        let mut store = self.state.store.lock().expect("store lock");
        let old = store
            .get(&self.key(), &self.ns(), name)
            .cloned()
            .ok_or_else(|| self.not_found(name))?;
        let scale = scale_of(&old);
        let wanted = if verb == "update" {
            parse_body(body)?
        } else {
            let p: Value = serde_json::from_slice(body).map_err(|e| {
                ApiError::BadRequest(format!("the request body could not be decoded: {e}"))
            })?;
            match content_type.split(';').next().unwrap_or("").trim() {
                "application/json-patch+json" => patch::json_patch(&scale, &p)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?,
                _ => patch::merge_patch(&scale, &p),
            }
        };
        let given_rv = meta_str(&wanted, "resourceVersion");
        if !given_rv.is_empty() && given_rv != meta_str(&old, "resourceVersion") {
            return Err(ApiError::Conflict {
                group: self.rt.group.clone(),
                resource: self.rt.plural.clone(),
                qualified: self.rt.qualified_resource(),
                name: name.to_string(),
            });
        }
        let replicas = wanted
            .pointer("/spec/replicas")
            .and_then(Value::as_i64)
            .unwrap_or(0);
        if replicas < 0 {
            return Err(ApiError::Invalid {
                group: "autoscaling".into(),
                kind: "Scale".into(),
                qualified_kind: "Scale.autoscaling".into(),
                name: name.to_string(),
                causes: vec![crate::errors::Cause::invalid(
                    "spec.replicas",
                    &replicas.to_string(),
                    "must be greater than or equal to 0",
                )],
            });
        }
        let mut new = old.clone();
        new["spec"]["replicas"] = json!(replicas);
        let manager = self.update_manager();
        let updated = self.finish_update(
            &mut store,
            &old,
            new,
            Part::Main {
                has_status: self.rt.has_status,
            },
            Some(&manager),
        )?;
        Ok(scale_of(&updated))
    }

    fn with_version(&self, mut obj: Value) -> Value {
        obj["apiVersion"] = json!(self.api_version());
        obj
    }

    fn get(&self, name: &str) -> Result<Value, ApiError> {
        let store = self.state.store.lock().expect("store lock");
        store
            .get(&self.key(), &self.ns(), name)
            .cloned()
            .map(|o| self.with_version(o))
            .ok_or_else(|| self.not_found(name))
    }

    fn selected<'s>(&self, store: &'s Store) -> Result<Vec<&'s Value>, ApiError> {
        let labels = LabelSelector::parse(self.q("labelSelector").unwrap_or(""))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let fields = FieldSelector::parse_for(&self.rt.kind, self.q("fieldSelector").unwrap_or(""))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let ns = self.rp.namespace.as_deref().filter(|_| self.rt.namespaced);
        let mut items = store.list(&self.key(), ns);
        items.retain(|o| labels.matches_object(o) && fields.matches_object(o));
        Ok(items)
    }

    /// The selected objects of the requested page (`limit`, `continue`) and the list's
    /// metadata (resourceVersion, the next continue token).
    fn page<'s>(&self, store: &'s Store) -> Result<(Vec<&'s Value>, Value), ApiError> {
        let mut items = self.selected(store)?;
        let mut rv = store.resource_version();
        let mut start = 0usize;
        if let Some(token) = self.q("continue").filter(|t| !t.is_empty()) {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(token)
                .ok()
                .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
                .ok_or_else(|| ApiError::BadRequest("invalid continue token".into()))?;
            let after_ns = decoded["ns"].as_str().unwrap_or_default();
            let after_name = decoded["name"].as_str().unwrap_or_default();
            rv = decoded["rv"].as_u64().unwrap_or(rv);
            start = items
                .iter()
                .position(|o| {
                    (
                        meta_str(o, "namespace").as_str(),
                        meta_str(o, "name").as_str(),
                    ) > (after_ns, after_name)
                })
                .unwrap_or(items.len());
        }
        let limit = self
            .q("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .filter(|l| *l > 0);
        let total = items.len();
        let end = limit.map_or(total, |l| (start + l).min(total));
        items.truncate(end);
        let page = items.split_off(start);
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if end < total {
            let last = page
                .last()
                .expect("a non-empty page precedes remaining items");
            let token = json!({"rv": rv, "ns": meta_str(last, "namespace"), "name": meta_str(last, "name")});
            metadata["continue"] =
                json!(base64::engine::general_purpose::STANDARD.encode(token.to_string()));
            metadata["remainingItemCount"] = json!(total - end);
        }
        Ok((page, metadata))
    }

    fn list(&self) -> Result<Value, ApiError> {
        let store = self.state.store.lock().expect("store lock");
        let (page, metadata) = self.page(&store)?;
        let items: Vec<Value> = page
            .into_iter()
            .map(|o| self.with_version(o.clone()))
            .collect();
        drop(store);
        Ok(
            json!({"kind": self.rt.list_kind(), "apiVersion": self.api_version(),
            "metadata": metadata, "items": items}),
        )
    }

    /// The JSON of [`Ctx::list`], written straight from the store: big lists are neither
    /// copied nor rebuilt as values.
    fn list_json(&self) -> Result<Vec<u8>, ApiError> {
        let store = self.state.store.lock().expect("store lock");
        let (page, metadata) = self.page(&store)?;
        let api_version = self.api_version();
        let items: Vec<Versioned<'_>> = page
            .into_iter()
            .map(|object| Versioned {
                api_version: &api_version,
                object,
            })
            .collect();
        let list = ListBody {
            api_version: &api_version,
            items,
            kind: self.rt.list_kind(),
            metadata,
        };
        Ok(serde_json::to_vec(&list).expect("lists serialize"))
    }

    fn table(&self) -> Result<Value, ApiError> {
        let list = self.list()?;
        let items = list["items"].as_array().cloned().unwrap_or_default();
        let mut t = self.table_of(items);
        t["metadata"] = list["metadata"].clone();
        Ok(t)
    }

    /// A `meta.k8s.io/v1` Table with the columns `kubectl get` prints.
    fn table_of(&self, items: Vec<Value>) -> Value {
        let include_object = self.q("includeObject") == Some("Object");
        crate::table::table(&self.rt.kind, items, include_object)
    }

    fn watch(&self) -> Result<Response<Body>, ApiError> {
        let labels = LabelSelector::parse(self.q("labelSelector").unwrap_or(""))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let fields = FieldSelector::parse_for(&self.rt.kind, self.q("fieldSelector").unwrap_or(""))
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let since: u64 = self
            .q("resourceVersion")
            .and_then(|r| r.parse().ok())
            .unwrap_or(0);
        let bookmarks = self.q("allowWatchBookmarks") == Some("true");
        let timeout = self
            .q("timeoutSeconds")
            .and_then(|t| t.parse::<u64>().ok())
            .map(Duration::from_secs)
            .unwrap_or(Duration::from_secs(1800));
        let ns = self.rp.namespace.clone().filter(|_| self.rt.namespaced);
        let key = self.key();
        let api_version = self.api_version();
        let store = self.state.store.lock().expect("store lock");
        let mut initial: Vec<Value> = Vec::new();
        let send_initial = self.q("sendInitialEvents") == Some("true");
        let (past, rx) = if since == 0 || send_initial {
            for o in self.selected(&store)? {
                initial.push(json!({"type": "ADDED", "object": self.with_version(o.clone())}));
            }
            if send_initial {
                initial.push(json!({"type": "BOOKMARK", "object": {
                    "kind": self.rt.kind, "apiVersion": self.api_version(),
                    "metadata": {"resourceVersion": store.resource_version().to_string(),
                        "annotations": {"k8s.io/initial-events-end": "true"}}}}));
            }
            store
                .watch_from(store.resource_version())
                .map_err(|_| ApiError::Internal("watch setup failed".into()))?
        } else {
            match store.watch_from(since) {
                Ok(x) => x,
                Err(oldest) => {
                    // Like the watch cache: a 200 stream carrying one ERROR event with a 410.
                    let gone = ApiError::Gone {
                        requested: since,
                        oldest,
                    };
                    let mut line =
                        serde_json::to_vec(&json!({"type": "ERROR", "object": gone.to_status()}))
                            .expect("JSON values serialize");
                    line.push(b'\n');
                    let mut resp = Response::new(Full::new(Bytes::from(line)).boxed_unsync());
                    resp.headers_mut()
                        .insert("content-type", HeaderValue::from_static("application/json"));
                    return Ok(resp);
                }
            }
        };
        let current_rv = store.resource_version();
        drop(store);
        let matches = move |e: &crate::store::Event| {
            e.key == key
                && ns.as_ref().is_none_or(|n| *n == e.namespace)
                && labels.matches_object(&e.object)
                && fields.matches_object(&e.object)
        };
        for e in past.iter().filter(|e| matches(e) && !send_initial) {
            let mut o = e.object.clone();
            o["apiVersion"] = json!(api_version);
            initial.push(json!({"type": e.kind, "object": o}));
        }
        let last_sent = if send_initial {
            current_rv
        } else {
            past.last().map(|e| e.rv).unwrap_or(current_rv)
        };
        let bookmark_kind = self.rt.kind.clone();
        let initial_stream = futures::stream::iter(initial);
        let live = futures::stream::unfold((rx, last_sent), move |(mut rx, last)| {
            let matches = matches.clone();
            let api_version = api_version.clone();
            let bookmark_kind = bookmark_kind.clone();
            async move {
                loop {
                    match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
                        Ok(Ok(e)) => {
                            if e.rv <= last {
                                continue;
                            }
                            if matches(&e) {
                                let mut o = e.object.clone();
                                o["apiVersion"] = json!(api_version);
                                return Some((json!({"type": e.kind, "object": o}), (rx, e.rv)));
                            }
                        }
                        Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => {
                            return None;
                        }
                        Ok(Err(_)) => return None,
                        Err(_) if bookmarks => {
                            let b = json!({"type": "BOOKMARK", "object": {"kind": bookmark_kind,
                                "apiVersion": api_version, "metadata": {"resourceVersion": last.to_string()}}});
                            return Some((b, (rx, last)));
                        }
                        Err(_) => continue,
                    }
                }
            }
        });
        let events = initial_stream.chain(live);
        let deadline = tokio::time::sleep(timeout);
        // `kubectl get -w` asks for Tables: each event then carries a one-row Table.
        let as_table = self.accept.contains("as=Table").then(|| {
            (
                self.rt.kind.clone(),
                self.q("includeObject") == Some("Object"),
            )
        });
        let events = events.take_until(deadline).map(move |mut ev| {
            if let Some((kind, include_object)) = &as_table
                && matches!(ev["type"].as_str(), Some("ADDED" | "MODIFIED" | "DELETED"))
            {
                let obj = ev["object"].take();
                ev["object"] = crate::table::table(kind, vec![obj], *include_object);
            }
            let mut line = serde_json::to_vec(&ev).expect("JSON values serialize");
            line.push(b'\n');
            Ok::<_, Infallible>(Frame::data(Bytes::from(line)))
        });
        let mut resp = Response::new(BodyExt::boxed_unsync(StreamBody::new(events)));
        resp.headers_mut()
            .insert("content-type", HeaderValue::from_static("application/json"));
        resp.headers_mut()
            .insert("transfer-encoding", HeaderValue::from_static("chunked"));
        resp.headers_mut().remove("transfer-encoding");
        Ok(resp)
    }

    fn invalid(&self, name: &str, causes: Vec<crate::errors::Cause>) -> ApiError {
        ApiError::Invalid {
            group: self.rt.group.clone(),
            kind: self.rt.kind.clone(),
            qualified_kind: self.rt.qualified_kind(),
            name: name.to_string(),
            causes,
        }
    }

    fn check_type_and_namespace(&self, obj: &mut Value) -> Result<(), ApiError> {
        if let Some(kind) = obj.get("kind").and_then(Value::as_str)
            && kind != self.rt.kind
        {
            return Err(ApiError::BadRequest(format!(
                "the kind of the provided object ({kind}) does not match the kind of the URL ({})",
                self.rt.kind
            )));
        }
        obj["apiVersion"] = json!(self.api_version());
        obj["kind"] = json!(self.rt.kind);
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        if self.rt.namespaced {
            let url_ns = self.ns();
            match obj["metadata"].get("namespace").and_then(Value::as_str) {
                Some(ns) if !ns.is_empty() && ns != url_ns => {
                    return Err(ApiError::BadRequest(
                        "the namespace of the provided object does not match the namespace sent on the request".into(),
                    ));
                }
                _ => obj["metadata"]["namespace"] = json!(url_ns),
            }
        } else if let Some(m) = obj["metadata"].as_object_mut() {
            m.remove("namespace");
        }
        Ok(())
    }

    fn persist(&self, store: &Store) {
        if let Some(path) = &self.state.state_file {
            let tmp = path.with_extension("tmp");
            if std::fs::write(&tmp, store.snapshot()).is_ok() {
                let _ = std::fs::rename(&tmp, path);
            }
        }
    }

    /// The `openAPIV3Schema` a custom resource's CRD declares for the requested version.
    fn cr_schema(&self, store: &Store) -> Option<Value> {
        if !self.rt.custom {
            return None;
        }
        let crds = ResourceKey {
            group: "apiextensions.k8s.io".into(),
            plural: "customresourcedefinitions".into(),
        };
        let crd = store.get(&crds, "", &format!("{}.{}", self.rt.plural, self.rt.group))?;
        crate::crd_schema::version_schema(crd, &self.rp.version)
    }

    /// Applies `fieldValidation` to fields the kind does not declare (pruned unless Strict)
    /// and rejects values of the wrong type, like the apiserver's decoder.
    fn check_schema(&self, obj: &mut Value, apply: bool, store: &Store) -> Result<(), ApiError> {
        let kind = &self.rt.kind;
        let cannot = |detail: String| {
            ApiError::BadRequest(format!(
                "{kind} in version \"{}\" cannot be handled as a {kind}: {detail}",
                self.rp.version
            ))
        };
        let unknown = if self.rt.custom {
            match self.cr_schema(store) {
                Some(schema) => crate::crd_schema::unknown_fields(obj, &schema),
                None => Vec::new(),
            }
        } else {
            crate::schema::unknown_fields(kind, obj).map_err(cannot)?
        };
        if unknown.is_empty() {
            return Ok(());
        }
        match self.q("fieldValidation") {
            Some("Strict") if apply => {
                let parts: Vec<String> = unknown
                    .iter()
                    .map(|u| format!(".{}: field not declared in schema", u.path))
                    .collect();
                return Err(ApiError::BadRequest(parts.join(", ")));
            }
            Some("Strict") => {
                let parts: Vec<String> = unknown
                    .iter()
                    .map(|u| format!("unknown field {:?}", u.path))
                    .collect();
                return Err(cannot(format!(
                    "strict decoding error: {}",
                    parts.join(", ")
                )));
            }
            Some("Ignore") => {}
            _ => {
                let mut warnings = self.warnings.lock().expect("warnings lock");
                for u in &unknown {
                    warnings.push(format!("unknown field {:?}", u.path));
                }
            }
        }
        crate::schema::prune(obj, &unknown);
        Ok(())
    }

    fn create(&self, mut obj: Value) -> Result<(u16, Value), ApiError> {
        self.check_type_and_namespace(&mut obj)?;
        let manager = self.update_manager();
        let mut store = self.state.store.lock().expect("store lock");
        self.check_schema(&mut obj, false, &store)?;
        let obj = self.finish_create(&mut store, obj, Some(&manager))?;
        Ok((201, obj))
    }

    /// Creates `obj` (already typed and namespaced); `manager` records managedFields unless the
    /// caller (server-side apply) has already set them.
    fn finish_create(
        &self,
        store: &mut Store,
        mut obj: Value,
        manager: Option<&str>,
    ) -> Result<Value, ApiError> {
        let meta = obj["metadata"].as_object_mut().expect("metadata is a map");
        if meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or("")
            .is_empty()
            && let Some(prefix) = meta.get("generateName").and_then(Value::as_str)
        {
            const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
            let suffix: String = (0..5)
                .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
                .collect();
            meta.insert("name".into(), json!(format!("{prefix}{suffix}")));
        }
        let name = meta_str(&obj, "name");
        let ns = self.ns();
        if self.rt.namespaced && !name.is_empty() {
            let ns_key = ResourceKey {
                group: String::new(),
                plural: "namespaces".into(),
            };
            match store.get(&ns_key, "", &ns) {
                None => {
                    return Err(ApiError::NotFound {
                        group: String::new(),
                        resource: "namespaces".into(),
                        name: ns,
                    });
                }
                Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                    return Err(ApiError::Forbidden {
                        group: self.rt.group.clone(),
                        resource: self.rt.plural.clone(),
                        name: Some(name.clone()),
                        message: format!(
                            "{} \"{name}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                            self.rt.qualified_resource()
                        ),
                    });
                }
                Some(_) => {}
            }
        }
        if !name.is_empty() && store.get(&self.key(), &ns, &name).is_some() {
            return Err(ApiError::AlreadyExists {
                group: self.rt.group.clone(),
                resource: self.rt.plural.clone(),
                name,
            });
        }
        if self.rt.has_status
            && self.rt.kind != "Namespace"
            && let Some(m) = obj.as_object_mut()
        {
            m.remove("status");
        }
        normalize_metadata(&mut obj);
        let rt = self.rt.clone();
        validation::apply_defaults(&rt, &mut obj, None, &mut || store.next_cluster_ip());
        let mut causes = validation::validate(&self.rt, &obj, None);
        if let Some(schema) = self.cr_schema(store) {
            causes.extend(crate::crd_schema::validate(&obj, &schema));
        }
        if !causes.is_empty() {
            return Err(self.invalid(&name, causes));
        }
        let now = now_rfc3339();
        {
            let meta = obj["metadata"].as_object_mut().expect("metadata is a map");
            meta.insert("uid".into(), json!(new_uid()));
            meta.insert("creationTimestamp".into(), json!(now));
            meta.remove("resourceVersion");
            meta.remove("deletionTimestamp");
            meta.remove("deletionGracePeriodSeconds");
            if self.rt.has_generation {
                meta.insert("generation".into(), json!(1));
            } else {
                meta.remove("generation");
            }
        }
        if self.rt.kind == "Job" && !self.rt.custom {
            label_job_pods(&mut obj);
        }
        if let Some(manager) = manager {
            if let Some(m) = obj["metadata"].as_object_mut() {
                m.remove("managedFields");
            }
            let schema = self.cr_schema(store);
            record_update(
                None,
                &mut obj,
                manager,
                &self.api_version(),
                Part::Main {
                    has_status: self.rt.has_status,
                },
                self.walk(schema.as_ref()),
            );
        }
        if self.rt.kind == "CustomResourceDefinition" && !self.rt.custom {
            obj["status"] = crd_status(&obj, &now);
        }
        if self.dry_run() {
            return Ok(obj);
        }
        let stored = store.put(&self.key(), obj);
        self.persist(store);
        Ok(self.with_version(stored))
    }

    fn update(&self, name: &str, mut obj: Value, part: Part) -> Result<Value, ApiError> {
        self.check_type_and_namespace(&mut obj)?;
        let body_name = meta_str(&obj, "name");
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::BadRequest(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        obj["metadata"]["name"] = json!(name);
        let manager = self.update_manager();
        let mut store = self.state.store.lock().expect("store lock");
        self.check_schema(&mut obj, false, &store)?;
        let old = store
            .get(&self.key(), &self.ns(), name)
            .cloned()
            .ok_or_else(|| self.not_found(name))?;
        self.finish_update(&mut store, &old, obj, part, Some(&manager))
    }

    /// Stores `new` over `old` with the apiserver's update semantics.
    fn finish_update(
        &self,
        store: &mut Store,
        old: &Value,
        mut new: Value,
        part: Part,
        manager: Option<&str>,
    ) -> Result<Value, ApiError> {
        let name = meta_str(old, "name");
        let old_rv = meta_str(old, "resourceVersion");
        let new_rv = meta_str(&new, "resourceVersion");
        if !new_rv.is_empty() && new_rv != old_rv {
            return Err(ApiError::Conflict {
                group: self.rt.group.clone(),
                resource: self.rt.plural.clone(),
                qualified: self.rt.qualified_resource(),
                name,
            });
        }
        match part {
            Part::Status => {
                let mut merged = old.clone();
                merged["status"] = new.get("status").cloned().unwrap_or(Value::Null);
                if merged["status"].is_null() {
                    merged
                        .as_object_mut()
                        .expect("objects are maps")
                        .remove("status");
                }
                if let Some(mf) = new.pointer("/metadata/managedFields") {
                    merged["metadata"]["managedFields"] = mf.clone();
                }
                new = merged;
            }
            Part::Main { has_status: true } => {
                let m = new.as_object_mut().expect("objects are maps");
                match old.get("status") {
                    Some(s) => {
                        m.insert("status".into(), s.clone());
                    }
                    None => {
                        m.remove("status");
                    }
                }
            }
            Part::Main { has_status: false } => {}
        }
        {
            let meta = new["metadata"].as_object_mut().expect("metadata is a map");
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "generation",
            ] {
                match old["metadata"].get(k) {
                    Some(v) => {
                        meta.insert(k.into(), v.clone());
                    }
                    None => {
                        meta.remove(k);
                    }
                }
            }
            meta.insert("resourceVersion".into(), json!(old_rv));
        }
        normalize_metadata(&mut new);
        let rt = self.rt.clone();
        validation::apply_defaults(&rt, &mut new, Some(old), &mut || store.next_cluster_ip());
        if let Some(manager) = manager {
            let schema = self.cr_schema(store);
            record_update(
                Some(old),
                &mut new,
                manager,
                &self.api_version(),
                part,
                self.walk(schema.as_ref()),
            );
        }
        let mut causes = validation::validate(&self.rt, &new, Some(old));
        if let Some(schema) = self.cr_schema(store) {
            causes.extend(crate::crd_schema::validate(&new, &schema));
        }
        if !causes.is_empty() {
            return Err(self.invalid(&name, causes));
        }
        if self.rt.has_generation {
            let spec_of = |o: &Value| {
                let mut c = o.clone();
                if let Some(m) = c.as_object_mut() {
                    m.remove("metadata");
                    m.remove("status");
                }
                c
            };
            let generation = old
                .pointer("/metadata/generation")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let bumped = if spec_of(old) != spec_of(&new) {
                generation + 1
            } else {
                generation
            };
            new["metadata"]["generation"] = json!(bumped);
        }
        if self.rt.kind == "CustomResourceDefinition" && !self.rt.custom {
            if part != Part::Status {
                let mut stored = old
                    .pointer("/status/storedVersions")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default();
                new["status"] = crd_status(&new, &now_rfc3339());
                if let Some(conds) = old.pointer("/status/conditions") {
                    new["status"]["conditions"] = conds.clone();
                }
                // Stored versions only grow, until a client trims them through status.
                for v in new["status"]["storedVersions"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                {
                    if !stored.contains(&v) {
                        stored.push(v);
                    }
                }
                new["status"]["storedVersions"] = Value::Array(stored);
            }
            let versions: Vec<&Value> = new
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .map(|vs| vs.iter().filter_map(|v| v.get("name")).collect())
                .unwrap_or_default();
            let causes: Vec<crate::errors::Cause> = new
                .pointer("/status/storedVersions")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
                .filter(|(_, v)| !versions.contains(v))
                .map(|(i, v)| {
                    crate::errors::Cause::invalid(
                        &format!("status.storedVersions[{i}]"),
                        &v.to_string(),
                        "must appear in spec.versions",
                    )
                })
                .collect();
            if !causes.is_empty() {
                return Err(self.invalid(&name, causes));
            }
        }
        // A write that changes nothing but managedFields timestamps is a no-op (no new
        // resourceVersion), like re-applying an unchanged configuration.
        if without_field_times(&new) == without_field_times(old) {
            return Ok(self.with_version(old.clone()));
        }
        let finalizers_gone = new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_none_or(|f| f.is_empty());
        if new.pointer("/metadata/deletionTimestamp").is_some() && finalizers_gone {
            if self.dry_run() {
                return Ok(new);
            }
            store.put(&self.key(), new);
            let removed = store
                .remove(&self.key(), &self.ns(), &name)
                .expect("object was just stored");
            collect_garbage(store, &removed, "Background");
            self.persist(store);
            return Ok(self.with_version(removed));
        }
        if self.dry_run() {
            return Ok(new);
        }
        let stored = store.put(&self.key(), new);
        self.persist(store);
        Ok(self.with_version(stored))
    }

    fn patch(
        &self,
        name: &str,
        content_type: &str,
        body: &Bytes,
        part: Part,
    ) -> Result<(u16, Value), ApiError> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        let mut store = self.state.store.lock().expect("store lock");
        let old = store.get(&self.key(), &self.ns(), name).cloned();
        if media == "application/apply-patch+yaml" || media == "application/apply-patch+cbor" {
            let manager = self
                .q("fieldManager")
                .filter(|m| !m.is_empty())
                .ok_or_else(|| {
                    ApiError::BadRequest("PATCH with apply must specify fieldManager".into())
                })?
                .to_string();
            let mut config = parse_body(body)?;
            self.check_type_and_namespace(&mut config)?;
            self.check_schema(&mut config, true, &store)?;
            let cfg_name = meta_str(&config, "name");
            if !cfg_name.is_empty() && cfg_name != name {
                return Err(ApiError::BadRequest(format!(
                    "the name of the object ({cfg_name}) does not match the name on the URL ({name})"
                )));
            }
            let force = self.q("force") == Some("true");
            let schema = self.cr_schema(&store);
            let mut merged = server_side_apply(
                old.as_ref(),
                &config,
                &manager,
                force,
                &self.api_version(),
                part,
                self.walk(schema.as_ref()),
            )?;
            merged["apiVersion"] = json!(self.api_version());
            merged["kind"] = json!(self.rt.kind);
            merged["metadata"]["name"] = json!(name);
            if self.rt.namespaced {
                merged["metadata"]["namespace"] = json!(self.ns());
            }
            return match old {
                None => {
                    if part == Part::Status {
                        return Err(self.not_found(name));
                    }
                    Ok((201, self.finish_create(&mut store, merged, None)?))
                }
                Some(old) => {
                    let rv_given = config.pointer("/metadata/resourceVersion").is_some();
                    if !rv_given {
                        merged["metadata"]["resourceVersion"] =
                            json!(meta_str(&old, "resourceVersion"));
                    }
                    Ok((
                        200,
                        self.finish_update(&mut store, &old, merged, part, None)?,
                    ))
                }
            };
        }
        let old = old.ok_or_else(|| self.not_found(name))?;
        let patch_value: Value = serde_json::from_slice(body).map_err(|e| {
            ApiError::BadRequest(format!("the request body could not be decoded: {e}"))
        })?;
        let patched = match media {
            "application/merge-patch+json" => patch::merge_patch(&old, &patch_value),
            "application/json-patch+json" => {
                patch::json_patch(&old, &patch_value).map_err(|e| {
                    self.invalid(
                        name,
                        vec![crate::errors::Cause {
                            reason: "FieldValueInvalid".into(),
                            message: format!(
                                "Invalid value: {}: {e}",
                                String::from_utf8_lossy(body)
                            ),
                            field: "patch".into(),
                        }],
                    )
                })?
            }
            "application/strategic-merge-patch+json" if !self.rt.custom => {
                patch::strategic_merge_patch(&old, &patch_value)
                    .map_err(|e| ApiError::BadRequest(e.to_string()))?
            }
            _ => {
                return Err(ApiError::UnsupportedMediaType(format!(
                    "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml{}",
                    if self.rt.custom {
                        ""
                    } else {
                        ", application/strategic-merge-patch+json"
                    }
                )));
            }
        };
        let mut patched = patched;
        self.check_schema(&mut patched, false, &store)?;
        let manager = self.update_manager();
        Ok((
            200,
            self.finish_update(&mut store, &old, patched, part, Some(&manager))?,
        ))
    }

    fn delete(&self, name: &str, opts: &Value) -> Result<Value, ApiError> {
        let mut store = self.state.store.lock().expect("store lock");
        let old = store
            .get(&self.key(), &self.ns(), name)
            .cloned()
            .ok_or_else(|| self.not_found(name))?;
        if let Some(uid) = opts.pointer("/preconditions/uid").and_then(Value::as_str)
            && uid != meta_str(&old, "uid")
        {
            return Err(ApiError::Conflict {
                group: self.rt.group.clone(),
                resource: self.rt.plural.clone(),
                qualified: self.rt.qualified_resource(),
                name: name.to_string(),
            });
        }
        if let Some(rv) = opts
            .pointer("/preconditions/resourceVersion")
            .and_then(Value::as_str)
            && rv != meta_str(&old, "resourceVersion")
        {
            return Err(ApiError::Conflict {
                group: self.rt.group.clone(),
                resource: self.rt.plural.clone(),
                qualified: self.rt.qualified_resource(),
                name: name.to_string(),
            });
        }
        let policy = self
            .q("propagationPolicy")
            .map(str::to_string)
            .or_else(|| {
                opts.get("propagationPolicy")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
            .unwrap_or_else(|| "Background".to_string());
        let dry_run = self.dry_run()
            || opts
                .get("dryRun")
                .and_then(Value::as_array)
                .is_some_and(|d| d.iter().any(|x| x == "All"));
        let has_finalizers = old
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty())
            && self.rt.kind != "Namespace";
        if has_finalizers {
            if old.pointer("/metadata/deletionTimestamp").is_some() {
                return Ok(self.with_version(old));
            }
            let mut marked = old.clone();
            marked["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            marked["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if dry_run {
                return Ok(marked);
            }
            let stored = store.put(&self.key(), marked);
            self.persist(&store);
            return Ok(self.with_version(stored));
        }
        if self.rt.kind == "CustomResourceDefinition" && !self.rt.custom {
            return self.delete_crd(&mut store, old, dry_run);
        }
        let status = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": name, "group": self.rt.group, "kind": self.rt.plural, "uid": meta_str(&old, "uid")}});
        if dry_run {
            return Ok(status);
        }
        let removed = store
            .remove(&self.key(), &self.ns(), name)
            .expect("object exists under the lock");
        if self.rt.kind == "Namespace" {
            for (key, obj) in store.all_in_namespace(name) {
                if let Some(gone) = store.remove(&key, name, &meta_str(&obj, "name")) {
                    collect_garbage(&mut store, &gone, "Background");
                }
            }
        }
        collect_garbage(&mut store, &removed, &policy);
        self.persist(&store);
        if self.rt.kind == "Namespace" {
            let mut ns = self.with_version(removed);
            ns["status"] = json!({"phase": "Terminating"});
            ns["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            return Ok(ns);
        }
        Ok(status)
    }

    /// Deleting a CRD marks it Terminating, then (like the apiextensions finalizer) removes
    /// its custom resources and finally the CRD itself, shortly afterwards.
    fn delete_crd(&self, store: &mut Store, old: Value, dry_run: bool) -> Result<Value, ApiError> {
        let mut marked = old.clone();
        let now = now_rfc3339();
        marked["metadata"]["deletionTimestamp"] = json!(now);
        marked["metadata"]["finalizers"] = json!(["customresourcecleanup.apiextensions.k8s.io"]);
        if let Some(conds) = marked
            .pointer_mut("/status/conditions")
            .and_then(Value::as_array_mut)
        {
            conds.push(json!({"type": "Terminating", "status": "True", "reason": "InstanceDeletionInProgress",
                "message": "CustomResource deletion is in progress", "lastTransitionTime": now}));
        }
        if dry_run {
            return Ok(marked);
        }
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(self.with_version(old));
        }
        let stored = store.put(&self.key(), marked);
        self.persist(store);
        let state = self.state.clone();
        let key = self.key();
        let name = meta_str(&old, "name");
        let served = crate::kinds::type_from_crd(&old).map(|t| t.key());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let mut store = state.store.lock().expect("store lock");
            if let Some(cr_key) = served {
                let instances: Vec<(String, String)> = store
                    .list(&cr_key, None)
                    .into_iter()
                    .map(|o| (meta_str(o, "namespace"), meta_str(o, "name")))
                    .collect();
                for (ns, n) in instances {
                    store.remove(&cr_key, &ns, &n);
                }
            }
            store.remove(&key, "", &name);
            if let Some(path) = &state.state_file {
                let _ = std::fs::write(path, store.snapshot());
            }
        });
        Ok(self.with_version(stored))
    }

    fn delete_collection(&self) -> Result<Value, ApiError> {
        let names: Vec<String> = {
            let store = self.state.store.lock().expect("store lock");
            self.selected(&store)?
                .iter()
                .map(|o| meta_str(o, "name"))
                .collect()
        };
        let mut items = Vec::new();
        for name in names {
            let obj = self.get(&name);
            if self.delete(&name, &json!({})).is_ok()
                && let Ok(o) = obj
            {
                items.push(o);
            }
        }
        let rv = self
            .state
            .store
            .lock()
            .expect("store lock")
            .resource_version();
        Ok(
            json!({"kind": self.rt.list_kind(), "apiVersion": self.api_version(),
            "metadata": {"resourceVersion": rv.to_string()}, "items": items}),
        )
    }
}

/// What a simulated container "printed": a start line, or the crash of a failing image.
fn simulated_log(pod: &Value, container: Option<&str>) -> String {
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let chosen = statuses
        .iter()
        .find(|c| container.is_none_or(|name| c["name"] == name))
        .cloned()
        .unwrap_or(Value::Null);
    let image = chosen["image"].as_str().unwrap_or("");
    if chosen
        .pointer("/state/waiting/reason")
        .and_then(Value::as_str)
        == Some("CrashLoopBackOff")
    {
        format!(
            "kubesim: container started from {image}\nkubesim: simulated crash (image tag marks it as failing)\n"
        )
    } else if chosen.pointer("/state/running").is_some() {
        format!("kubesim: container started from {image}\n")
    } else {
        String::new()
    }
}

/// The `autoscaling/v1` Scale view of a workload.
fn scale_of(obj: &Value) -> Value {
    let selector = obj
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default()))
                .collect::<Vec<_>>()
                .join(",")
        })
        .unwrap_or_default();
    let meta = &obj["metadata"];
    json!({"kind": "Scale", "apiVersion": "autoscaling/v1",
        "metadata": {"name": meta["name"], "namespace": meta["namespace"], "uid": meta["uid"],
            "resourceVersion": meta["resourceVersion"], "creationTimestamp": meta["creationTimestamp"]},
        "spec": {"replicas": obj.pointer("/spec/replicas").cloned().unwrap_or(json!(0))},
        "status": {"replicas": obj.pointer("/status/replicas").cloned().unwrap_or(json!(0)),
            "selector": selector}})
}

/// A Job without `manualSelector` selects its pods by its uid, and its pod template carries the
/// controller-uid and job-name labels, as the apiserver sets them on creation.
fn label_job_pods(job: &mut Value) {
    if job.pointer("/spec/manualSelector") == Some(&json!(true)) {
        return;
    }
    let uid = meta_str(job, "uid");
    let name = meta_str(job, "name");
    let Some(spec) = job.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    spec.insert(
        "selector".into(),
        json!({"matchLabels": {"batch.kubernetes.io/controller-uid": uid}}),
    );
    let template = spec.entry("template").or_insert_with(|| json!({}));
    if !template.get("metadata").is_some_and(Value::is_object) {
        template["metadata"] = json!({});
    }
    if !template["metadata"]
        .get("labels")
        .is_some_and(Value::is_object)
    {
        template["metadata"]["labels"] = json!({});
    }
    let labels = &mut template["metadata"]["labels"];
    labels["batch.kubernetes.io/controller-uid"] = json!(uid);
    labels["batch.kubernetes.io/job-name"] = json!(name);
    labels["controller-uid"] = json!(uid);
    labels["job-name"] = json!(name);
}

/// The object with managedFields' `time` stamps removed, for no-op detection.
fn without_field_times(obj: &Value) -> Value {
    let mut copy = obj.clone();
    if let Some(entries) = copy
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    {
        for e in entries.iter_mut().filter_map(Value::as_object_mut) {
            e.remove("time");
        }
    }
    copy
}

/// Drops empty and null metadata fields, as the apiserver's typed ObjectMeta (omitempty) does.
fn normalize_metadata(obj: &mut Value) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.retain(|_, v| match v {
            Value::Null => false,
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::String(s) => !s.is_empty(),
            _ => true,
        });
    }
}

/// A list response body: fields in the order serde_json's sorted maps print them.
#[derive(serde::Serialize)]
struct ListBody<'a> {
    #[serde(rename = "apiVersion")]
    api_version: &'a str,
    items: Vec<Versioned<'a>>,
    kind: String,
    metadata: Value,
}

/// A stored object as served: its `apiVersion` that of the request, the rest as stored,
/// keys in sorted order (as [`Ctx::with_version`] on a clone would print it).
struct Versioned<'a> {
    api_version: &'a str,
    object: &'a Value,
}

impl serde::Serialize for Versioned<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let Some(fields) = self.object.as_object() else {
            return self.object.serialize(serializer);
        };
        let has_version = fields.contains_key("apiVersion");
        let len = fields.len() + usize::from(!has_version);
        let mut map = serializer.serialize_map(Some(len))?;
        let mut version_written = false;
        for (key, value) in fields {
            if !version_written && key.as_str() >= "apiVersion" {
                map.serialize_entry("apiVersion", self.api_version)?;
                version_written = true;
                if key == "apiVersion" {
                    continue;
                }
            }
            map.serialize_entry(key, value)?;
        }
        if !version_written {
            map.serialize_entry("apiVersion", self.api_version)?;
        }
        map.end()
    }
}

/// Deletes (or orphans) the dependents of a removed object, recursively.
pub fn collect_garbage(store: &mut Store, removed: &Value, policy: &str) {
    let uid = meta_str(removed, "uid");
    if uid.is_empty() {
        return;
    }
    for (key, dep) in store.dependents_of(&uid) {
        let ns = meta_str(&dep, "namespace");
        let name = meta_str(&dep, "name");
        let mut updated = dep.clone();
        if let Some(refs) = updated
            .pointer_mut("/metadata/ownerReferences")
            .and_then(Value::as_array_mut)
        {
            refs.retain(|r| r.get("uid").and_then(Value::as_str) != Some(uid.as_str()));
        }
        let remaining = updated
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        if policy == "Orphan" || remaining > 0 {
            if remaining == 0
                && let Some(m) = updated["metadata"].as_object_mut()
            {
                m.remove("ownerReferences");
            }
            store.put(&key, updated);
        } else if let Some(gone) = store.remove(&key, &ns, &name) {
            collect_garbage(store, &gone, "Background");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_objects_print_like_a_copy_with_the_request_version() {
        for object in [
            json!({"kind": "Secret", "metadata": {"name": "a"}, "data": {"k": "dg=="}}),
            json!({"apiVersion": "v0", "kind": "X", "a": 1}),
            json!({"a": 1, "ab": 2}),
            json!({}),
        ] {
            let mut copy = object.clone();
            copy["apiVersion"] = json!("v1");
            let printed = serde_json::to_string(&Versioned {
                api_version: "v1",
                object: &object,
            })
            .unwrap();
            assert_eq!(printed, serde_json::to_string(&copy).unwrap());
        }
    }

    #[test]
    fn resource_paths_are_split_into_their_parts() {
        let p =
            parse_resource_path("/apis/apps/v1/namespaces/default/deployments/web/status").unwrap();
        assert_eq!(
            (p.group.as_str(), p.version.as_str(), p.resource.as_str()),
            ("apps", "v1", "deployments")
        );
        assert_eq!(p.namespace.as_deref(), Some("default"));
        assert_eq!(p.name.as_deref(), Some("web"));
        assert_eq!(p.subresource.as_deref(), Some("status"));
        let ns = parse_resource_path("/api/v1/namespaces/team-a").unwrap();
        assert_eq!(
            (ns.resource.as_str(), ns.name.as_deref()),
            ("namespaces", Some("team-a"))
        );
        let st = parse_resource_path("/api/v1/namespaces/team-a/status").unwrap();
        assert_eq!(st.subresource.as_deref(), Some("status"));
        let all = parse_resource_path("/api/v1/configmaps").unwrap();
        assert_eq!((all.namespace, all.name), (None, None));
    }
}

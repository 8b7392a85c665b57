//! The object store: every object keyed by resource, namespace and name, one global
//! resourceVersion counter, and a bounded history of watch events.

use crate::kinds::{ResourceKey, ResourceType, builtin_types, type_from_crd};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use tokio::sync::broadcast;

/// How many past events a watch can resume from.
const EVENT_HISTORY: usize = 20_000;

/// A change to one object, as delivered to watchers.
#[derive(Debug, Clone)]
pub struct Event {
    pub rv: u64,
    pub key: ResourceKey,
    pub namespace: String,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    pub object: Value,
}

/// Retained events after a resourceVersion, and a receiver for the ones to come.
pub type WatchStart = (Vec<Arc<Event>>, broadcast::Receiver<Arc<Event>>);

/// All stored objects of every resource.
pub struct Store {
    rv: u64,
    types: Vec<ResourceType>,
    objects: HashMap<ResourceKey, BTreeMap<(String, String), Value>>,
    events: VecDeque<Arc<Event>>,
    next_ip: u32,
    sender: broadcast::Sender<Arc<Event>>,
    /// Bumped on every change, so persistence and controllers can tell something happened.
    pub changes: u64,
}

/// The serialized form of a store (`--state FILE`).
#[derive(serde::Serialize, serde::Deserialize)]
struct Snapshot {
    resource_version: u64,
    next_ip: u32,
    objects: Vec<(ResourceKey, Value)>,
}

impl Store {
    /// An empty cluster with the default namespaces.
    pub fn new() -> Store {
        let (sender, _) = broadcast::channel(4096);
        let mut store = Store {
            rv: 1,
            types: builtin_types(),
            objects: HashMap::new(),
            events: VecDeque::new(),
            next_ip: 10,
            sender,
            changes: 0,
        };
        let now = now_rfc3339();
        for ns in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let rv = store.bump();
            let obj = json!({"apiVersion": "v1", "kind": "Namespace",
                "metadata": {"name": ns, "uid": new_uid(), "resourceVersion": rv.to_string(),
                    "creationTimestamp": now, "labels": {"kubernetes.io/metadata.name": ns}},
                "spec": {"finalizers": ["kubernetes"]},
                "status": {"phase": "Active"}});
            store
                .objects
                .entry(ResourceKey {
                    group: String::new(),
                    plural: "namespaces".into(),
                })
                .or_default()
                .insert((String::new(), ns.to_string()), obj);
        }
        // The one (simulated) node every pod runs on.
        let rv = store.bump();
        let node = json!({"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": "kubesim-node", "uid": new_uid(), "resourceVersion": rv.to_string(),
                "creationTimestamp": now,
                "labels": {"kubernetes.io/hostname": "kubesim-node", "kubernetes.io/os": "linux",
                    "kubernetes.io/arch": "amd64", "node-role.kubernetes.io/control-plane": ""}},
            "spec": {"podCIDR": "10.244.0.0/24", "podCIDRs": ["10.244.0.0/24"]},
            "status": {
                "addresses": [{"type": "InternalIP", "address": "10.0.0.1"},
                    {"type": "Hostname", "address": "kubesim-node"}],
                "capacity": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "allocatable": {"cpu": "8", "memory": "32Gi", "pods": "110", "ephemeral-storage": "100Gi"},
                "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                    "message": "kubelet is posting ready status", "lastHeartbeatTime": now,
                    "lastTransitionTime": now}],
                "nodeInfo": {"kubeletVersion": crate::discovery::GIT_VERSION,
                    "kubeProxyVersion": crate::discovery::GIT_VERSION, "operatingSystem": "linux",
                    "architecture": "amd64", "containerRuntimeVersion": "containerd://2.1.0",
                    "osImage": "kubesim", "kernelVersion": "6.1.0", "machineID": "kubesim",
                    "systemUUID": "kubesim", "bootID": "kubesim"}}});
        store
            .objects
            .entry(ResourceKey {
                group: String::new(),
                plural: "nodes".into(),
            })
            .or_default()
            .insert((String::new(), "kubesim-node".into()), node);
        // The apiserver's own Service, present in every real cluster.
        let rv = store.bump();
        let kubernetes = json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "kubernetes", "namespace": "default", "uid": new_uid(),
                "resourceVersion": rv.to_string(), "creationTimestamp": now,
                "labels": {"component": "apiserver", "provider": "kubernetes"}},
            "spec": {"clusterIP": "10.96.0.1", "clusterIPs": ["10.96.0.1"], "type": "ClusterIP",
                "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
                "ipFamilies": ["IPv4"], "ipFamilyPolicy": "SingleStack",
                "ports": [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]},
            "status": {"loadBalancer": {}}});
        store
            .objects
            .entry(ResourceKey {
                group: String::new(),
                plural: "services".into(),
            })
            .or_default()
            .insert(("default".into(), "kubernetes".into()), kubernetes);
        store
    }

    /// Restores a store from a snapshot written by [`Store::snapshot`].
    pub fn restore(json_text: &str) -> anyhow::Result<Store> {
        let snap: Snapshot = serde_json::from_str(json_text)?;
        let mut store = Store::new();
        store.objects.clear();
        store.rv = snap.resource_version;
        store.next_ip = snap.next_ip;
        for (key, obj) in snap.objects {
            let ns = meta_str(&obj, "namespace");
            let name = meta_str(&obj, "name");
            if key.plural == "customresourcedefinitions"
                && let Some(t) = type_from_crd(&obj)
            {
                store.types.push(t);
            }
            store
                .objects
                .entry(key)
                .or_default()
                .insert((ns, name), obj);
        }
        Ok(store)
    }

    /// Serializes every object (for `--state FILE`).
    pub fn snapshot(&self) -> String {
        let mut objects = Vec::new();
        for (key, objs) in &self.objects {
            for obj in objs.values() {
                objects.push((key.clone(), obj.clone()));
            }
        }
        serde_json::to_string(&Snapshot {
            resource_version: self.rv,
            next_ip: self.next_ip,
            objects,
        })
        .expect("JSON values serialize")
    }

    /// The current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    fn bump(&mut self) -> u64 {
        self.rv += 1;
        self.changes += 1;
        self.rv
    }

    /// All served types, built-in first.
    pub fn types(&self) -> &[ResourceType] {
        &self.types
    }

    /// The type served at `group`/`version` under the plural `resource`.
    pub fn find_type(&self, group: &str, version: &str, resource: &str) -> Option<ResourceType> {
        self.types
            .iter()
            .find(|t| {
                t.group == group && t.plural == resource && t.versions.iter().any(|v| v == version)
            })
            .cloned()
    }

    /// The type of an apiVersion/kind pair.
    pub fn find_kind(&self, api_version: &str, kind: &str) -> Option<ResourceType> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        self.types
            .iter()
            .find(|t| t.group == group && t.kind == kind && t.versions.iter().any(|v| v == version))
            .cloned()
    }

    /// Allocates the next Service cluster IP.
    pub fn next_cluster_ip(&mut self) -> String {
        self.next_ip += 1;
        format!("10.96.{}.{}", self.next_ip / 250, self.next_ip % 250 + 1)
    }

    pub fn get(&self, key: &ResourceKey, namespace: &str, name: &str) -> Option<&Value> {
        self.objects
            .get(key)?
            .get(&(namespace.to_string(), name.to_string()))
    }

    /// Objects of one resource, optionally in one namespace, ordered by namespace and name.
    pub fn list(&self, key: &ResourceKey, namespace: Option<&str>) -> Vec<&Value> {
        let Some(objs) = self.objects.get(key) else {
            return Vec::new();
        };
        match namespace {
            Some(ns) => objs
                .range((ns.to_string(), String::new())..)
                .take_while(|((n, _), _)| n == ns)
                .map(|(_, v)| v)
                .collect(),
            None => objs.values().collect(),
        }
    }

    /// Every object of every resource in a namespace, with its resource key.
    pub fn all_in_namespace(&self, namespace: &str) -> Vec<(ResourceKey, Value)> {
        let mut out = Vec::new();
        for (key, objs) in &self.objects {
            for ((ns, _), obj) in objs {
                if ns == namespace {
                    out.push((key.clone(), obj.clone()));
                }
            }
        }
        out
    }

    /// Every object whose ownerReferences name `uid`.
    pub fn dependents_of(&self, uid: &str) -> Vec<(ResourceKey, Value)> {
        let mut out = Vec::new();
        for (key, objs) in &self.objects {
            for obj in objs.values() {
                let owned = obj
                    .pointer("/metadata/ownerReferences")
                    .and_then(Value::as_array)
                    .is_some_and(|refs| {
                        refs.iter()
                            .any(|r| r.get("uid").and_then(Value::as_str) == Some(uid))
                    });
                if owned {
                    out.push((key.clone(), obj.clone()));
                }
            }
        }
        out
    }

    /// Stores `obj` (new or replacing), assigning the next resourceVersion; emits the event.
    pub fn put(&mut self, key: &ResourceKey, mut obj: Value) -> Value {
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        let ns = meta_str(&obj, "namespace");
        let name = meta_str(&obj, "name");
        let existed = self
            .objects
            .entry(key.clone())
            .or_default()
            .insert((ns.clone(), name), obj.clone())
            .is_some();
        if key.plural == "customresourcedefinitions" && key.group == "apiextensions.k8s.io" {
            self.sync_crd_type(&obj);
        }
        self.emit(Event {
            rv,
            key: key.clone(),
            namespace: ns,
            kind: if existed { "MODIFIED" } else { "ADDED" },
            object: obj.clone(),
        });
        obj
    }

    /// Removes an object; emits DELETED with a fresh resourceVersion.
    pub fn remove(&mut self, key: &ResourceKey, namespace: &str, name: &str) -> Option<Value> {
        let mut obj = self
            .objects
            .get_mut(key)?
            .remove(&(namespace.to_string(), name.to_string()))?;
        let rv = self.bump();
        obj["metadata"]["resourceVersion"] = json!(rv.to_string());
        if key.plural == "customresourcedefinitions"
            && key.group == "apiextensions.k8s.io"
            && let Some(t) = type_from_crd(&obj)
        {
            self.types.retain(|x| x.key() != t.key());
            self.objects.remove(&t.key());
        }
        self.emit(Event {
            rv,
            key: key.clone(),
            namespace: namespace.to_string(),
            kind: "DELETED",
            object: obj.clone(),
        });
        Some(obj)
    }

    fn sync_crd_type(&mut self, crd: &Value) {
        if let Some(t) = type_from_crd(crd) {
            match self.types.iter_mut().find(|x| x.key() == t.key()) {
                Some(existing) => *existing = t,
                None => self.types.push(t),
            }
        }
    }

    fn emit(&mut self, event: Event) {
        let event = Arc::new(event);
        if self.events.len() >= EVENT_HISTORY {
            self.events.pop_front();
        }
        self.events.push_back(event.clone());
        let _ = self.sender.send(event);
    }

    /// Subscribes to future events and returns the retained events after `since`, or the
    /// oldest retained resourceVersion if `since` is too old to resume from.
    pub fn watch_from(&self, since: u64) -> Result<WatchStart, u64> {
        let oldest = self.events.front().map(|e| e.rv).unwrap_or(self.rv + 1);
        if since + 1 < oldest && since < self.rv && self.events.len() >= EVENT_HISTORY {
            return Err(oldest);
        }
        let past = self
            .events
            .iter()
            .filter(|e| e.rv > since)
            .cloned()
            .collect();
        Ok((past, self.sender.subscribe()))
    }
}

impl Default for Store {
    fn default() -> Self {
        Store::new()
    }
}

/// A metadata string field, or empty.
pub fn meta_str(obj: &Value, field: &str) -> String {
    obj.get("metadata")
        .and_then(|m| m.get(field))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string()
}

/// Current time as the apiserver formats timestamps.
pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A random RFC 4122 version 4 UID.
pub fn new_uid() -> String {
    let b: [u8; 16] = rand::random();
    format!(
        "{:02x}{:02x}{:02x}{:02x}-{:02x}{:02x}-4{:01x}{:02x}-{:01x}{:01x}{:02x}-{:02x}{:02x}{:02x}{:02x}{:02x}{:02x}",
        b[0],
        b[1],
        b[2],
        b[3],
        b[4],
        b[5],
        b[6] & 0x0f,
        b[7],
        8 | (b[8] & 0x3),
        b[8] >> 4,
        b[9],
        b[10],
        b[11],
        b[12],
        b[13],
        b[14],
        b[15]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cm_key() -> ResourceKey {
        ResourceKey {
            group: String::new(),
            plural: "configmaps".into(),
        }
    }

    #[test]
    fn every_write_gets_a_new_global_resource_version_and_an_event() {
        let mut store = Store::new();
        let before = store.resource_version();
        let (_, mut rx) = store.watch_from(before).unwrap();
        let a = store.put(
            &cm_key(),
            json!({"metadata": {"name": "a", "namespace": "default"}}),
        );
        let b = store.put(
            &cm_key(),
            json!({"metadata": {"name": "b", "namespace": "default"}}),
        );
        assert_eq!(a["metadata"]["resourceVersion"], (before + 1).to_string());
        assert_eq!(b["metadata"]["resourceVersion"], (before + 2).to_string());
        assert_eq!(rx.try_recv().unwrap().kind, "ADDED");
        store.remove(&cm_key(), "default", "a");
        let (past, _) = store.watch_from(before + 1).unwrap();
        let kinds: Vec<&str> = past.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, vec!["ADDED", "DELETED"]);
    }

    #[test]
    fn snapshot_round_trips_objects_and_crd_types() {
        let mut store = Store::new();
        store.put(
            &cm_key(),
            json!({"metadata": {"name": "a", "namespace": "default"}}),
        );
        store.put(
            &ResourceKey {
                group: "apiextensions.k8s.io".into(),
                plural: "customresourcedefinitions".into(),
            },
            json!({"metadata": {"name": "widgets.example.com"}, "spec": {"group": "example.com",
                "names": {"plural": "widgets", "kind": "Widget"}, "scope": "Namespaced",
                "versions": [{"name": "v1", "served": true, "storage": true}]}}),
        );
        let restored = Store::restore(&store.snapshot()).unwrap();
        assert!(restored.get(&cm_key(), "default", "a").is_some());
        assert!(restored.find_type("example.com", "v1", "widgets").is_some());
        assert_eq!(restored.resource_version(), store.resource_version());
    }

    #[test]
    fn uids_look_like_uuids() {
        let uid = new_uid();
        assert_eq!(uid.len(), 36);
        assert_eq!(uid.chars().nth(14), Some('4'));
        assert_ne!(uid, new_uid());
    }
}

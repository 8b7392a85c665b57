//! Simulated controllers, so waits and rollouts can be tested: Deployment → ReplicaSets → Pods
//! with status converging after a configurable delay, StatefulSet, DaemonSet, Job, bound PVCs
//! and LoadBalancer Services. Pod templates whose image tag is the "fail" tag never become
//! ready and report CrashLoopBackOff.

use crate::api::AppState;
use crate::apply::{Part, record_update};
use crate::fields::Walk;
use crate::kinds::ResourceKey;
use crate::store::{Store, meta_str, new_uid, now_rfc3339};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How the simulated controllers behave.
#[derive(Debug, Clone)]
pub struct ControllerConfig {
    /// How long a pod takes to become ready after it is wanted.
    pub delay: Duration,
    /// Image tag that never becomes ready.
    pub fail_image_tag: String,
    /// The cluster CA published in every namespace's `kube-root-ca.crt` ConfigMap.
    pub ca_pem: String,
}

const MANAGER: &str = "kube-controller-manager";
const TICK: Duration = Duration::from_millis(50);

fn key(group: &str, plural: &str) -> ResourceKey {
    ResourceKey {
        group: group.into(),
        plural: plural.into(),
    }
}

/// Runs the controllers until the returned task is aborted.
pub fn spawn(
    runtime: &tokio::runtime::Handle,
    state: Arc<AppState>,
    config: ControllerConfig,
) -> tokio::task::JoinHandle<()> {
    runtime.spawn(async move {
        let mut memory = Memory::default();
        let mut seen_changes = u64::MAX;
        loop {
            tokio::time::sleep(TICK).await;
            let mut store = state.store.lock().expect("store lock");
            let before = store.changes;
            // Nothing changed and no timer is running: the cluster has converged.
            if before == seen_changes && !memory.pending {
                continue;
            }
            memory.pending = false;
            reconcile(&mut store, &config, &mut memory, Instant::now());
            seen_changes = store.changes;
            if store.changes != before
                && let Some(path) = &state.state_file
            {
                let _ = std::fs::write(path, store.snapshot());
            }
        }
    })
}

/// When each object first wanted its current replica count (readiness starts counting then).
#[derive(Default)]
pub struct Memory {
    wanted_since: HashMap<String, (String, Instant)>,
    /// Set when some object is still waiting for a delay to pass.
    pending: bool,
}

impl Memory {
    /// Whether `uid` has wanted `what` for at least `delay`.
    fn settled(&mut self, uid: &str, what: &str, now: Instant, delay: Duration) -> bool {
        let entry = self
            .wanted_since
            .entry(uid.to_string())
            .or_insert_with(|| (what.to_string(), now));
        if entry.0 != what {
            *entry = (what.to_string(), now);
        }
        let settled = now.duration_since(entry.1) >= delay;
        if !settled {
            self.pending = true;
        }
        settled
    }
}

/// One pass of every controller.
pub fn reconcile(store: &mut Store, config: &ControllerConfig, memory: &mut Memory, now: Instant) {
    namespaces(store, config);
    deployments(store, config, memory, now);
    replicasets(store, config, memory, now);
    statefulsets(store, config, memory, now);
    daemonsets(store, config, memory, now);
    jobs(store, config, memory, now);
    bare_pods(store, config, memory, now);
    pvcs(store);
    load_balancers(store);
}

fn template_fails(template: &Value, tag: &str) -> bool {
    template
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .is_some_and(|cs| {
            cs.iter().any(|c| {
                let image = c.get("image").and_then(Value::as_str).unwrap_or("");
                let last = image.rsplit('/').next().unwrap_or("");
                last.split_once(':').is_some_and(|(_, t)| t == tag)
            })
        })
}

/// A stable, pod-template-hash-like name suffix for a template.
pub fn template_hash(template: &Value) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut h: u64 = 0xcbf29ce484222325;
    for b in template.to_string().bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x100000001b3);
    }
    (0..10)
        .map(|i| ALPHABET[((h >> (i * 6)) % ALPHABET.len() as u64) as usize] as char)
        .collect()
}

fn int(v: Option<&Value>, default: i64) -> i64 {
    v.and_then(Value::as_i64).unwrap_or(default)
}

fn owned_by<'a>(objs: &'a [Value], uid: &str) -> Vec<&'a Value> {
    objs.iter()
        .filter(|o| {
            o.pointer("/metadata/ownerReferences")
                .and_then(Value::as_array)
                .is_some_and(|refs| refs.iter().any(|r| r["uid"] == uid))
        })
        .collect()
}

fn owner_ref(owner: &Value, api_version: &str, kind: &str) -> Value {
    json!({"apiVersion": api_version, "kind": kind, "name": meta_str(owner, "name"),
        "uid": meta_str(owner, "uid"), "controller": true, "blockOwnerDeletion": true})
}

/// Stores a controller-made change to `status` (only if it changed).
fn write_status(store: &mut Store, k: &ResourceKey, old: &Value, status: Value, api_version: &str) {
    if old.get("status") == Some(&status) {
        return;
    }
    let mut new = old.clone();
    new["status"] = status;
    record_update(
        Some(old),
        &mut new,
        MANAGER,
        api_version,
        Part::Status,
        Walk::BUILTIN,
    );
    store.put(k, new);
}

/// Creates an object on behalf of a controller.
fn create(store: &mut Store, k: &ResourceKey, mut obj: Value, api_version: &str) -> Value {
    let meta = obj["metadata"].as_object_mut().expect("metadata is a map");
    meta.insert("uid".into(), json!(new_uid()));
    meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
    if k.plural == "replicasets" || k.plural == "pods" {
        meta.insert("generation".into(), json!(1));
    }
    record_update(
        None,
        &mut obj,
        MANAGER,
        api_version,
        Part::Main { has_status: true },
        Walk::BUILTIN,
    );
    store.put(k, obj)
}

fn deployments(store: &mut Store, config: &ControllerConfig, memory: &mut Memory, now: Instant) {
    let dk = key("apps", "deployments");
    let rk = key("apps", "replicasets");
    let deploys: Vec<Value> = store.list(&dk, None).into_iter().cloned().collect();
    for d in deploys {
        if d.pointer("/metadata/deletionTimestamp").is_some() {
            continue;
        }
        let ns = meta_str(&d, "namespace");
        let uid = meta_str(&d, "uid");
        let desired = int(d.pointer("/spec/replicas"), 1);
        let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let hash = template_hash(&template);
        let all_rs: Vec<Value> = store.list(&rk, Some(&ns)).into_iter().cloned().collect();
        let owned: Vec<&Value> = owned_by(&all_rs, &uid);
        let max_revision = owned
            .iter()
            .filter_map(|r| {
                r.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                    .and_then(Value::as_str)
                    .and_then(|s| s.parse::<i64>().ok())
            })
            .max()
            .unwrap_or(0);
        let current = owned
            .iter()
            .find(|r| {
                r.pointer("/metadata/labels/pod-template-hash")
                    .and_then(Value::as_str)
                    == Some(hash.as_str())
            })
            .map(|r| (*r).clone());
        let recreate = d.pointer("/spec/strategy/type").and_then(Value::as_str) == Some("Recreate");
        let (max_surge, max_unavailable) = rolling_limits(&d, desired);
        let mut new_rs = match current {
            Some(rs) => {
                // A ReplicaSet that becomes current again (rollback) takes the next revision.
                let revision = rs
                    .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
                    .and_then(Value::as_str)
                    .and_then(|r| r.parse::<i64>().ok())
                    .unwrap_or(0);
                if revision < max_revision {
                    let mut updated = rs.clone();
                    updated["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                        json!((max_revision + 1).to_string());
                    controller_update(store, &rk, &rs, updated)
                } else {
                    rs
                }
            }
            None => {
                let mut labels = template
                    .pointer("/metadata/labels")
                    .cloned()
                    .unwrap_or(json!({}));
                labels["pod-template-hash"] = json!(hash);
                let mut rs_template = template.clone();
                rs_template["metadata"]["labels"] = labels.clone();
                let mut selector = d.pointer("/spec/selector").cloned().unwrap_or(json!({}));
                if selector.get("matchLabels").is_none() {
                    selector["matchLabels"] = json!({});
                }
                selector["matchLabels"]["pod-template-hash"] = json!(hash);
                let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet",
                    "metadata": {"name": format!("{}-{hash}", meta_str(&d, "name")), "namespace": ns,
                        "labels": labels,
                        "annotations": {"deployment.kubernetes.io/revision": (max_revision + 1).to_string(),
                            "deployment.kubernetes.io/desired-replicas": desired.to_string(),
                            "deployment.kubernetes.io/max-replicas": (desired + max_surge).to_string()},
                        "ownerReferences": [owner_ref(&d, "apps/v1", "Deployment")]},
                    "spec": {"replicas": 0, "minReadySeconds": int(d.pointer("/spec/minReadySeconds"), 0),
                        "selector": selector, "template": rs_template}});
                create(store, &rk, rs, "apps/v1")
            }
        };
        let new_name = meta_str(&new_rs, "name");
        let mut old: Vec<Value> = owned
            .iter()
            .filter(|r| meta_str(r, "name") != new_name)
            .map(|r| (*r).clone())
            .collect();
        old.sort_by_key(|r| meta_str(r, "creationTimestamp"));
        let spec_of = |rs: &Value| int(rs.pointer("/spec/replicas"), 0);
        let available_of =
            |rs: &Value| int(rs.pointer("/status/availableReplicas"), 0).min(spec_of(rs));

        // Scale the new ReplicaSet up within maxSurge (Recreate: once the old pods are gone).
        let old_total: i64 = old.iter().map(spec_of).sum();
        let new_current = spec_of(&new_rs);
        let new_target = if new_current > desired {
            desired
        } else if recreate {
            if old_total > 0 { new_current } else { desired }
        } else {
            let room = (desired + max_surge - (old_total + new_current)).max(0);
            new_current + room.min(desired - new_current)
        };
        if new_target != new_current {
            let mut scaled = new_rs.clone();
            scaled["spec"]["replicas"] = json!(new_target);
            new_rs = controller_update(store, &rk, &new_rs, scaled);
            let direction = if new_target > new_current {
                "up"
            } else {
                "down"
            };
            emit_event(
                store,
                &d,
                "ScalingReplicaSet",
                &format!(
                    "Scaled {direction} replica set {} from {new_current} to {new_target}",
                    meta_str(&new_rs, "name")
                ),
                "Normal",
                "deployment-controller",
            );
        }

        // Scale old ReplicaSets down without dropping below desired - maxUnavailable available
        // pods: unhealthy pods first, then healthy ones, oldest ReplicaSets first.
        let new_unavailable = (new_target - available_of(&new_rs)).max(0);
        let min_available = desired - max_unavailable;
        let all_total = old_total + new_target;
        let mut budget = if recreate {
            old_total
        } else {
            (all_total - min_available - new_unavailable).max(0)
        };
        let mut targets: Vec<i64> = old.iter().map(spec_of).collect();
        for (i, rs) in old.iter().enumerate() {
            let unhealthy = (targets[i] - available_of(rs)).max(0);
            let n = unhealthy.min(budget);
            targets[i] -= n;
            budget -= n;
        }
        if !recreate {
            let cleaned: i64 = old.iter().map(spec_of).sum::<i64>() - targets.iter().sum::<i64>();
            budget = ((all_total - cleaned) - min_available - new_unavailable).max(0);
        }
        for target in targets.iter_mut() {
            let n = (*target).min(budget);
            *target -= n;
            budget -= n;
        }
        let mut old_replicas = 0;
        let mut old_ready = 0;
        let mut old_available = 0;
        for (rs, target) in old.iter().zip(targets) {
            if spec_of(rs) != target {
                let mut scaled = rs.clone();
                scaled["spec"]["replicas"] = json!(target);
                controller_update(store, &rk, rs, scaled);
                emit_event(
                    store,
                    &d,
                    "ScalingReplicaSet",
                    &format!(
                        "Scaled down replica set {} from {} to {target}",
                        meta_str(rs, "name"),
                        spec_of(rs)
                    ),
                    "Normal",
                    "deployment-controller",
                );
            }
            old_replicas += target;
            old_ready += int(rs.pointer("/status/readyReplicas"), 0).min(target);
            old_available += available_of(rs).min(target);
        }
        let new_ready = int(new_rs.pointer("/status/readyReplicas"), 0).min(new_target);
        let new_available = available_of(&new_rs).min(new_target);
        // Revision annotation on the Deployment follows its newest ReplicaSet.
        let revision = new_rs
            .pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            .cloned()
            .unwrap_or(json!("1"));
        let mut d_now = store
            .get(&dk, &ns, &meta_str(&d, "name"))
            .cloned()
            .unwrap_or(d.clone());
        if d_now.pointer("/metadata/annotations/deployment.kubernetes.io~1revision")
            != Some(&revision)
        {
            let before = d_now.clone();
            d_now["metadata"]["annotations"]["deployment.kubernetes.io/revision"] =
                revision.clone();
            record_update(
                Some(&before),
                &mut d_now,
                MANAGER,
                "apps/v1",
                Part::Main { has_status: true },
                Walk::BUILTIN,
            );
            d_now = store.put(&dk, d_now);
        }
        let total = new_target + old_replicas;
        let available = new_available + old_available;
        let complete = new_available >= desired && old_replicas == 0 && new_target == desired;
        if !complete {
            // Keep reconciling: the progress deadline may pass without any write.
            memory.pending = true;
        }
        let fails = template_fails(&template, &config.fail_image_tag);
        let deadline = int(d.pointer("/spec/progressDeadlineSeconds"), 600);
        memory.settled(&format!("{uid}/progress"), &hash, now, Duration::ZERO);
        let started = memory
            .wanted_since
            .get(&format!("{uid}/progress"))
            .map(|(_, t)| *t)
            .unwrap_or(now);
        let stamp = now_rfc3339();
        let old_cond = |t: &str| {
            d_now
                .pointer("/status/conditions")
                .and_then(Value::as_array)
                .and_then(|cs| cs.iter().find(|c| c["type"] == t))
                .cloned()
        };
        let condition = |t: &str, status: &str, reason: &str, message: String| {
            let previous = old_cond(t);
            let transition = previous
                .as_ref()
                .filter(|p| p["status"] == status)
                .and_then(|p| p.get("lastTransitionTime").cloned())
                .unwrap_or(json!(stamp));
            let update = previous
                .as_ref()
                .filter(|p| p["status"] == status && p["reason"] == reason)
                .and_then(|p| p.get("lastUpdateTime").cloned())
                .unwrap_or(json!(stamp));
            json!({"type": t, "status": status, "reason": reason, "message": message,
                "lastTransitionTime": transition, "lastUpdateTime": update})
        };
        let available_cond = if available >= desired - max_unavailable {
            condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
            )
        } else {
            condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            )
        };
        let rs_name = meta_str(&new_rs, "name");
        let progressing_cond = if complete {
            condition(
                "Progressing",
                "True",
                "NewReplicaSetAvailable",
                format!("ReplicaSet \"{rs_name}\" has successfully progressed."),
            )
        } else if fails
            && now.duration_since(started) >= Duration::from_secs(deadline.max(0) as u64)
        {
            condition(
                "Progressing",
                "False",
                "ProgressDeadlineExceeded",
                format!("ReplicaSet \"{rs_name}\" has timed out progressing."),
            )
        } else {
            condition(
                "Progressing",
                "True",
                "ReplicaSetUpdated",
                format!("ReplicaSet \"{rs_name}\" is progressing."),
            )
        };
        let mut status = json!({
            "observedGeneration": int(d.pointer("/metadata/generation"), 1),
            "replicas": total,
            "updatedReplicas": new_target,
            "readyReplicas": new_ready + old_ready,
            "availableReplicas": available,
            "conditions": [available_cond, progressing_cond],
        });
        if total - available > 0 {
            status["unavailableReplicas"] = json!(total - available);
        }
        for k in [
            "readyReplicas",
            "availableReplicas",
            "replicas",
            "updatedReplicas",
        ] {
            if status[k] == 0 {
                status.as_object_mut().expect("status is a map").remove(k);
            }
        }
        write_status(store, &dk, &d_now, status, "apps/v1");
    }
}

/// maxSurge and maxUnavailable resolved against the desired replicas (percentages round
/// up for surge, down for unavailability; both zero means one unavailable, like the apiserver
/// default validation would force).
fn rolling_limits(d: &Value, desired: i64) -> (i64, i64) {
    let resolve = |v: Option<&Value>, round_up: bool| -> i64 {
        match v {
            Some(Value::Number(n)) => n.as_i64().unwrap_or(0),
            Some(Value::String(p)) if p.ends_with('%') => {
                let pct: f64 = p.trim_end_matches('%').parse().unwrap_or(25.0);
                let exact = desired as f64 * pct / 100.0;
                if round_up {
                    exact.ceil() as i64
                } else {
                    exact.floor() as i64
                }
            }
            Some(Value::String(p)) => p.parse().unwrap_or(0),
            _ => {
                let exact = desired as f64 * 0.25;
                if round_up {
                    exact.ceil() as i64
                } else {
                    exact.floor() as i64
                }
            }
        }
    };
    let surge = resolve(d.pointer("/spec/strategy/rollingUpdate/maxSurge"), true);
    let unavailable = resolve(
        d.pointer("/spec/strategy/rollingUpdate/maxUnavailable"),
        false,
    );
    if surge == 0 && unavailable == 0 {
        (0, 1)
    } else {
        (surge, unavailable)
    }
}

/// Stores a controller's change to an object's spec or metadata, bumping its generation when
/// the spec changed.
fn controller_update(store: &mut Store, k: &ResourceKey, old: &Value, mut new: Value) -> Value {
    record_update(
        Some(old),
        &mut new,
        MANAGER,
        "apps/v1",
        Part::Main { has_status: true },
        Walk::BUILTIN,
    );
    if old.get("spec") != new.get("spec") {
        new["metadata"]["generation"] = json!(int(old.pointer("/metadata/generation"), 1) + 1);
    }
    store.put(k, new)
}

/// The pods a workload wants: how many, from which template, and in what state.
struct PodSet<'a> {
    owner: &'a Value,
    owner_kind: &'a str,
    template: &'a Value,
    want: i64,
    readiness: Readiness,
    fails: bool,
    /// Stable names by ordinal (StatefulSets); random suffixes otherwise.
    names: Option<&'a dyn Fn(i64) -> String>,
}

/// When a workload's pods are ready.
#[derive(Clone, Copy)]
enum Readiness {
    /// Every pod is (or is not) ready, decided by the workload.
    All(bool),
    /// Each pod becomes ready `delay` after it was created, and available `min_ready` later.
    PerPod {
        delay: Duration,
        min_ready: Duration,
    },
}

/// Keeps the wanted pods owned by the workload; returns how many are ready and available.
fn pods_for(store: &mut Store, memory: &mut Memory, now: Instant, set: PodSet<'_>) -> (i64, i64) {
    let PodSet {
        owner,
        owner_kind,
        template,
        want,
        readiness,
        fails,
        names,
    } = set;
    let owner_api = "apps/v1";
    let pk = key("", "pods");
    let ns = meta_str(owner, "namespace");
    let uid = meta_str(owner, "uid");
    let all: Vec<Value> = store.list(&pk, Some(&ns)).into_iter().cloned().collect();
    let mut mine: Vec<Value> = owned_by(&all, &uid).into_iter().cloned().collect();
    mine.sort_by_key(|p| meta_str(p, "name"));
    while (mine.len() as i64) > want {
        let p = mine.pop().expect("non-empty");
        memory.wanted_since.remove(&meta_str(&p, "uid"));
        store.remove(&pk, &ns, &meta_str(&p, "name"));
    }
    let mut index = 0;
    while (mine.len() as i64) < want {
        let name = match names {
            Some(f) => f(index),
            None => {
                const CHARS: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
                let suffix: String = (0..5)
                    .map(|_| CHARS[rand::random_range(0..CHARS.len())] as char)
                    .collect();
                format!("{}-{suffix}", meta_str(owner, "name"))
            }
        };
        index += 1;
        if store.get(&pk, &ns, &name).is_some() {
            continue;
        }
        let mut spec = template.get("spec").cloned().unwrap_or(json!({}));
        spec["nodeName"] = json!("kubesim-node");
        let pod = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": ns,
                "labels": template.pointer("/metadata/labels").cloned().unwrap_or(json!({})),
                "ownerReferences": [owner_ref(owner, owner_api, owner_kind)]},
            "spec": spec,
            "status": {"phase": "Pending"}});
        let pod = create(store, &pk, pod, "v1");
        emit_event(
            store,
            owner,
            "SuccessfulCreate",
            &format!("Created pod: {}", meta_str(&pod, "name")),
            "Normal",
            &format!("{}-controller", owner_kind.to_lowercase()),
        );
        mine.push(pod);
    }
    let mut ready_count = 0;
    let mut available_count = 0;
    for p in &mine {
        let (ready, available) = match readiness {
            Readiness::All(r) => (r, r),
            Readiness::PerPod { delay, min_ready } => {
                let pod_uid = meta_str(p, "uid");
                let ready = memory.settled(&pod_uid, "run", now, delay);
                (
                    ready,
                    ready && memory.settled(&pod_uid, "run", now, delay + min_ready),
                )
            }
        };
        let status = pod_status(p, ready, fails);
        let was_crashing = p.pointer("/status/containerStatuses/0/state/waiting/reason")
            == Some(&json!("CrashLoopBackOff"));
        if fails && !was_crashing {
            let container = p
                .pointer("/spec/containers/0/name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            emit_event(
                store,
                p,
                "BackOff",
                &format!(
                    "Back-off restarting failed container {container} in pod {}_{}({})",
                    meta_str(p, "name"),
                    meta_str(p, "namespace"),
                    meta_str(p, "uid")
                ),
                "Warning",
                "kubelet",
            );
        }
        if ready && !fails {
            ready_count += 1;
            if available {
                available_count += 1;
            }
        }
        write_status(store, &pk, p, status, "v1");
    }
    (ready_count, available_count)
}

fn pod_status(pod: &Value, ready: bool, fails: bool) -> Value {
    let started = pod
        .pointer("/status/startTime")
        .cloned()
        .unwrap_or_else(|| json!(now_rfc3339()));
    let containers: Vec<Value> = pod
        .pointer("/spec/containers")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let is_ready = ready && !fails;
    let statuses: Vec<Value> = containers
        .iter()
        .map(|c| {
            let state = if fails {
                json!({"waiting": {"reason": "CrashLoopBackOff",
                    "message": format!("back-off restarting failed container {} in pod {}", c["name"].as_str().unwrap_or(""), meta_str(pod, "name"))}})
            } else if ready {
                json!({"running": {"startedAt": started}})
            } else {
                json!({"waiting": {"reason": "ContainerCreating"}})
            };
            json!({"name": c["name"], "image": c["image"], "imageID": "", "ready": is_ready,
                "started": is_ready, "restartCount": if fails { 3 } else { 0 }, "state": state})
        })
        .collect();
    let previous = |t: &str| {
        pod.pointer("/status/conditions")
            .and_then(Value::as_array)
            .and_then(|cs| cs.iter().find(|c| c["type"] == t))
            .cloned()
    };
    let cond = |t: &str, ok: bool| {
        let status = if ok { "True" } else { "False" };
        let since = previous(t)
            .filter(|p| p["status"] == status)
            .and_then(|p| p.get("lastTransitionTime").cloned())
            .unwrap_or_else(|| json!(now_rfc3339()));
        json!({"type": t, "status": status, "lastTransitionTime": since})
    };
    json!({
        "phase": if ready || fails { "Running" } else { "Pending" },
        "hostIP": "10.0.0.1", "podIP": "10.244.0.10", "startTime": started,
        "conditions": [cond("PodScheduled", true), cond("Initialized", true),
            cond("ContainersReady", is_ready), cond("Ready", is_ready)],
        "containerStatuses": statuses,
    })
}

fn replicasets(store: &mut Store, config: &ControllerConfig, memory: &mut Memory, now: Instant) {
    let rk = key("apps", "replicasets");
    let all: Vec<Value> = store.list(&rk, None).into_iter().cloned().collect();
    for rs in all {
        let want = int(rs.pointer("/spec/replicas"), 1);
        let template = rs.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let fails = template_fails(&template, &config.fail_image_tag);
        let min_ready =
            Duration::from_secs(int(rs.pointer("/spec/minReadySeconds"), 0).max(0) as u64);
        let (ready, available) = pods_for(
            store,
            memory,
            now,
            PodSet {
                owner: &rs,
                owner_kind: "ReplicaSet",
                template: &template,
                want,
                readiness: Readiness::PerPod {
                    delay: config.delay,
                    min_ready,
                },
                fails,
                names: None,
            },
        );
        let mut status = json!({"replicas": want, "fullyLabeledReplicas": want,
            "readyReplicas": ready, "availableReplicas": available,
            "observedGeneration": int(rs.pointer("/metadata/generation"), 1)});
        for k in [
            "readyReplicas",
            "availableReplicas",
            "fullyLabeledReplicas",
            "replicas",
        ] {
            if status[k] == 0 {
                status.as_object_mut().expect("map").remove(k);
            }
        }
        if want == 0 {
            status["replicas"] = json!(0);
        }
        let current = store
            .get(&rk, &meta_str(&rs, "namespace"), &meta_str(&rs, "name"))
            .cloned();
        if let Some(current) = current {
            write_status(store, &rk, &current, status, "apps/v1");
        }
    }
}

fn statefulsets(store: &mut Store, config: &ControllerConfig, memory: &mut Memory, now: Instant) {
    let sk = key("apps", "statefulsets");
    let all: Vec<Value> = store.list(&sk, None).into_iter().cloned().collect();
    for s in all {
        let want = int(s.pointer("/spec/replicas"), 1);
        let template = s.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let fails = template_fails(&template, &config.fail_image_tag);
        let hash = template_hash(&template);
        let name = meta_str(&s, "name");
        let update_revision = format!("{name}-{hash}");
        let partition =
            int(s.pointer("/spec/updateStrategy/rollingUpdate/partition"), 0).clamp(0, want);
        let ready = memory.settled(
            &meta_str(&s, "uid"),
            &format!("{want}/{hash}"),
            now,
            config.delay,
        );
        let ordinal_name = |i: i64| format!("{name}-{i}");
        let (ready_count, _) = pods_for(
            store,
            memory,
            now,
            PodSet {
                owner: &s,
                owner_kind: "StatefulSet",
                template: &template,
                want,
                readiness: Readiness::All(ready),
                fails,
                names: Some(&ordinal_name),
            },
        );
        let previous_current = s
            .pointer("/status/currentRevision")
            .and_then(Value::as_str)
            .unwrap_or(&update_revision)
            .to_string();
        let current_revision = if partition == 0 && ready_count == want {
            update_revision.clone()
        } else {
            previous_current
        };
        // Pods at ordinals >= partition run the update revision; the rest stay current.
        let updated = if current_revision == update_revision {
            want
        } else if ready_count == want {
            want - partition
        } else {
            0
        };
        let status = json!({"observedGeneration": int(s.pointer("/metadata/generation"), 1),
            "replicas": want, "readyReplicas": ready_count, "availableReplicas": ready_count,
            "currentReplicas": want - if current_revision == update_revision { 0 } else { updated },
            "updatedReplicas": updated,
            "currentRevision": current_revision, "updateRevision": update_revision,
            "collisionCount": 0});
        let current = store.get(&sk, &meta_str(&s, "namespace"), &name).cloned();
        if let Some(current) = current {
            write_status(store, &sk, &current, status, "apps/v1");
        }
    }
}

fn daemonsets(store: &mut Store, config: &ControllerConfig, memory: &mut Memory, now: Instant) {
    let dk = key("apps", "daemonsets");
    let all: Vec<Value> = store.list(&dk, None).into_iter().cloned().collect();
    for d in all {
        let template = d.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let fails = template_fails(&template, &config.fail_image_tag);
        let hash = template_hash(&template);
        let ready = memory.settled(&meta_str(&d, "uid"), &hash, now, config.delay);
        let (ready_count, _) = pods_for(
            store,
            memory,
            now,
            PodSet {
                owner: &d,
                owner_kind: "DaemonSet",
                template: &template,
                want: 1,
                readiness: Readiness::All(ready),
                fails,
                names: None,
            },
        );
        let status = json!({"observedGeneration": int(d.pointer("/metadata/generation"), 1),
            "desiredNumberScheduled": 1, "currentNumberScheduled": 1, "numberMisscheduled": 0,
            "numberReady": ready_count, "numberAvailable": ready_count,
            "updatedNumberScheduled": if ready { 1 } else { 0 }});
        let current = store
            .get(&dk, &meta_str(&d, "namespace"), &meta_str(&d, "name"))
            .cloned();
        if let Some(current) = current {
            write_status(store, &dk, &current, status, "apps/v1");
        }
    }
}

fn jobs(store: &mut Store, config: &ControllerConfig, memory: &mut Memory, now: Instant) {
    let jk = key("batch", "jobs");
    let all: Vec<Value> = store.list(&jk, None).into_iter().cloned().collect();
    for j in all {
        let template = j.pointer("/spec/template").cloned().unwrap_or(json!({}));
        let fails = template_fails(&template, &config.fail_image_tag);
        let done = memory.settled(&meta_str(&j, "uid"), "run", now, config.delay);
        let completions = int(j.pointer("/spec/completions"), 1);
        let start = j
            .pointer("/status/startTime")
            .cloned()
            .unwrap_or_else(|| json!(now_rfc3339()));
        let stamp = now_rfc3339();
        let status = if !done {
            json!({"startTime": start, "active": 1, "ready": 0})
        } else if fails {
            let mut s = j.get("status").cloned().unwrap_or(json!({}));
            if s.get("conditions").is_none() {
                s = json!({"startTime": start, "failed": int(j.pointer("/spec/backoffLimit"), 6) + 1, "ready": 0,
                    "conditions": [
                        {"type": "FailureTarget", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": stamp, "lastTransitionTime": stamp},
                        {"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded", "message": "Job has reached the specified backoff limit", "lastProbeTime": stamp, "lastTransitionTime": stamp}]});
            }
            s
        } else {
            let mut s = j.get("status").cloned().unwrap_or(json!({}));
            if s.get("conditions").is_none() {
                s = json!({"startTime": start, "succeeded": completions, "ready": 0,
                    "completionTime": stamp,
                    "conditions": [
                        {"type": "SuccessCriteriaMet", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": stamp, "lastTransitionTime": stamp},
                        {"type": "Complete", "status": "True", "reason": "CompletionsReached", "message": "Reached expected number of succeeded pods", "lastProbeTime": stamp, "lastTransitionTime": stamp}]});
            }
            s
        };
        let current = store
            .get(&jk, &meta_str(&j, "namespace"), &meta_str(&j, "name"))
            .cloned();
        if let Some(current) = current {
            let finished = current.pointer("/status/conditions").is_some();
            let now_finished = status.get("conditions").is_some();
            if now_finished && !finished {
                let (reason, message, kind) = if fails {
                    (
                        "BackoffLimitExceeded",
                        "Job has reached the specified backoff limit",
                        "Warning",
                    )
                } else {
                    ("Completed", "Job completed", "Normal")
                };
                emit_event(store, &current, reason, message, kind, "job-controller");
            }
            write_status(store, &jk, &current, status, "batch/v1");
        }
    }
}

/// Records a core/v1 Event about `involved`, as the named controller would.
fn emit_event(
    store: &mut Store,
    involved: &Value,
    reason: &str,
    message: &str,
    type_: &str,
    component: &str,
) {
    let ek = key("", "events");
    let stamp = now_rfc3339();
    let name = format!(
        "{}.{:016x}",
        meta_str(involved, "name"),
        rand::random::<u64>()
    );
    let event = json!({"apiVersion": "v1", "kind": "Event",
        "metadata": {"name": name, "namespace": meta_str(involved, "namespace")},
        "involvedObject": {"apiVersion": involved["apiVersion"], "kind": involved["kind"],
            "name": meta_str(involved, "name"), "namespace": meta_str(involved, "namespace"),
            "uid": meta_str(involved, "uid"),
            "resourceVersion": meta_str(involved, "resourceVersion")},
        "reason": reason, "message": message, "type": type_,
        "source": {"component": component},
        "firstTimestamp": stamp, "lastTimestamp": stamp, "count": 1,
        "eventTime": null, "reportingComponent": component, "reportingInstance": ""});
    create(store, &ek, event, "v1");
}

fn bare_pods(store: &mut Store, config: &ControllerConfig, memory: &mut Memory, now: Instant) {
    let pk = key("", "pods");
    let all: Vec<Value> = store.list(&pk, None).into_iter().cloned().collect();
    for p in all {
        if p.pointer("/metadata/ownerReferences").is_some() {
            continue;
        }
        let fails = template_fails(&p, &config.fail_image_tag);
        let ready = memory.settled(&meta_str(&p, "uid"), "run", now, config.delay);
        write_status(store, &pk, &p, pod_status(&p, ready, fails), "v1");
    }
}

/// Every active namespace gets a `default` ServiceAccount and the `kube-root-ca.crt`
/// ConfigMap, like the serviceaccount and root-ca-cert-publisher controllers provide.
fn namespaces(store: &mut Store, config: &ControllerConfig) {
    let nk = key("", "namespaces");
    let sk = key("", "serviceaccounts");
    let ck = key("", "configmaps");
    let names: Vec<String> = store
        .list(&nk, None)
        .into_iter()
        .filter(|n| n.pointer("/metadata/deletionTimestamp").is_none())
        .map(|n| meta_str(n, "name"))
        .collect();
    for ns in names {
        if store.get(&sk, &ns, "default").is_none() {
            let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
                "metadata": {"name": "default", "namespace": ns}});
            create(store, &sk, sa, "v1");
        }
        if store.get(&ck, &ns, "kube-root-ca.crt").is_none() {
            let cm = json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "kube-root-ca.crt", "namespace": ns,
                    "annotations": {"kubernetes.io/description": "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters."}},
                "data": {"ca.crt": config.ca_pem}});
            create(store, &ck, cm, "v1");
        }
    }
}

fn pvcs(store: &mut Store) {
    let k = key("", "persistentvolumeclaims");
    let all: Vec<Value> = store.list(&k, None).into_iter().cloned().collect();
    for pvc in all {
        if pvc.pointer("/status/phase").and_then(Value::as_str) == Some("Bound") {
            continue;
        }
        let modes = pvc
            .pointer("/spec/accessModes")
            .cloned()
            .unwrap_or(json!(["ReadWriteOnce"]));
        let capacity = pvc
            .pointer("/spec/resources/requests/storage")
            .cloned()
            .unwrap_or(json!("1Gi"));
        let mut bound = pvc.clone();
        if bound.pointer("/spec/volumeName").is_none() {
            bound["spec"]["volumeName"] = json!(format!("pvc-{}", meta_str(&pvc, "uid")));
            bound = store.put(&k, bound);
        }
        write_status(
            store,
            &k,
            &bound,
            json!({"phase": "Bound", "accessModes": modes, "capacity": {"storage": capacity}}),
            "v1",
        );
    }
}

fn load_balancers(store: &mut Store) {
    let ik = key("networking.k8s.io", "ingresses");
    let ingresses: Vec<Value> = store.list(&ik, None).into_iter().cloned().collect();
    for ing in ingresses {
        if ing.pointer("/status/loadBalancer/ingress").is_none() {
            write_status(
                store,
                &ik,
                &ing,
                json!({"loadBalancer": {"ingress": [{"ip": "172.18.255.200"}]}}),
                "networking.k8s.io/v1",
            );
        }
    }
    let k = key("", "services");
    let all: Vec<Value> = store.list(&k, None).into_iter().cloned().collect();
    for (i, svc) in all.iter().enumerate() {
        if svc.pointer("/spec/type").and_then(Value::as_str) != Some("LoadBalancer")
            || svc.pointer("/status/loadBalancer/ingress").is_some()
        {
            continue;
        }
        let ip = format!("172.18.255.{}", 1 + i % 250);
        write_status(
            store,
            &k,
            svc,
            json!({"loadBalancer": {"ingress": [{"ip": ip, "ipMode": "VIP"}]}}),
            "v1",
        );
    }
}

//! Readiness, kstatus-like: whether a live object has reconciled, and why not. Used by
//! `--wait`, by CRDs (Established before their resources) and by Job hooks.
//!
//! Rules: Deployments need the new ReplicaSet rolled out (observedGeneration current,
//! updated = available = desired replicas, no old replicas left); StatefulSets honour a
//! rolling-update partition; DaemonSets need every scheduled pod updated and available;
//! Jobs (with `--wait-for-jobs`) must complete and fail on the Failed condition; PVCs must be
//! Bound; LoadBalancer Services need an ingress address; CRDs must be Established. Any other
//! kind (custom resources) follows kstatus: `status.observedGeneration` must have caught up
//! with `metadata.generation`; `Stalled` or `Failed` True fails; `Reconciling` True, or
//! `Ready` / `Available` False, is still in progress; `Succeeded` or `Ready` True is ready.
//! An object with no status conventions at all (no conditions, no observedGeneration) is
//! counted ready once it exists — and the progress output says so, rather than waiting
//! forever as helm 4 does. When waiting fails, the error carries each object's recent
//! Events and the last log lines of its failing containers.

use std::collections::BTreeMap;
use std::io::IsTerminal as _;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Cluster, KubeError, ObjectRef};

/// Where an object stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Readiness {
    Ready,
    /// Has no status conventions to follow: counted ready once it exists.
    Unobservable,
    /// Still converging, with the reason shown to the user.
    InProgress(String),
    /// Will not become ready (a failed Job), with the reason.
    Failed(String),
}

fn int(v: &Value, pointer: &str) -> i64 {
    v.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn condition<'a>(v: &'a Value, kind: &str) -> Option<&'a Value> {
    v.pointer("/status/conditions")
        .and_then(Value::as_array)
        .and_then(|cs| {
            cs.iter()
                .find(|c| c.get("type").and_then(Value::as_str) == Some(kind))
        })
}

fn condition_true(v: &Value, kind: &str) -> bool {
    condition(v, kind)
        .and_then(|c| c.get("status"))
        .and_then(Value::as_str)
        == Some("True")
}

fn generation_observed(v: &Value) -> bool {
    let generation = int(v, "/metadata/generation");
    let observed = int(v, "/status/observedGeneration");
    generation == 0 || observed >= generation
}

/// Evaluates a live object. `wait_for_jobs` makes Jobs wait for completion.
pub fn readiness(object: &Value, wait_for_jobs: bool) -> Readiness {
    let kind = object.get("kind").and_then(Value::as_str).unwrap_or("");
    let progress = |s: String| Readiness::InProgress(s);
    match kind {
        "Deployment" => {
            if !generation_observed(object) {
                return progress("waiting for the rollout to be observed".into());
            }
            if object.pointer("/spec/paused").and_then(Value::as_bool) == Some(true) {
                return Readiness::Ready;
            }
            if let Some(c) = condition(object, "Progressing")
                && c.get("reason").and_then(Value::as_str) == Some("ProgressDeadlineExceeded")
            {
                return Readiness::Failed("progress deadline exceeded".into());
            }
            let desired = object
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let updated = int(object, "/status/updatedReplicas");
            let total = int(object, "/status/replicas");
            let available = int(object, "/status/availableReplicas");
            if updated < desired {
                progress(format!("{updated} of {desired} replicas updated"))
            } else if total > updated {
                progress(format!(
                    "{} old replicas pending termination",
                    total - updated
                ))
            } else if available < updated {
                progress(format!(
                    "{available} of {updated} updated replicas available"
                ))
            } else {
                Readiness::Ready
            }
        }
        "StatefulSet" => {
            if !generation_observed(object) {
                return progress("waiting for the rollout to be observed".into());
            }
            let desired = object
                .pointer("/spec/replicas")
                .and_then(Value::as_i64)
                .unwrap_or(1);
            let partition = int(object, "/spec/updateStrategy/rollingUpdate/partition");
            let ready = int(object, "/status/readyReplicas");
            let updated = int(object, "/status/updatedReplicas");
            let expected_updated = (desired - partition).max(0);
            if ready < desired {
                progress(format!("{ready} of {desired} replicas ready"))
            } else if updated < expected_updated {
                progress(format!("{updated} of {expected_updated} replicas updated"))
            } else if partition == 0
                && object.pointer("/status/updateRevision")
                    != object.pointer("/status/currentRevision")
                && object.pointer("/status/updateRevision").is_some()
            {
                progress("waiting for the update revision to become current".into())
            } else {
                Readiness::Ready
            }
        }
        "DaemonSet" => {
            if !generation_observed(object) {
                return progress("waiting for the rollout to be observed".into());
            }
            let desired = int(object, "/status/desiredNumberScheduled");
            let updated = int(object, "/status/updatedNumberScheduled");
            let available = int(object, "/status/numberAvailable");
            if updated < desired {
                progress(format!("{updated} of {desired} pods updated"))
            } else if available < desired {
                progress(format!("{available} of {desired} pods available"))
            } else {
                Readiness::Ready
            }
        }
        "Job" => {
            if condition_true(object, "Failed") {
                let reason = condition(object, "Failed")
                    .and_then(|c| c.get("message").or_else(|| c.get("reason")))
                    .and_then(Value::as_str)
                    .unwrap_or("job failed");
                return Readiness::Failed(reason.to_string());
            }
            if !wait_for_jobs || condition_true(object, "Complete") {
                Readiness::Ready
            } else {
                progress(format!(
                    "{} of {} completions",
                    int(object, "/status/succeeded"),
                    object
                        .pointer("/spec/completions")
                        .and_then(Value::as_i64)
                        .unwrap_or(1)
                ))
            }
        }
        "PersistentVolumeClaim" => match object.pointer("/status/phase").and_then(Value::as_str) {
            Some("Bound") => Readiness::Ready,
            phase => progress(format!("phase {}", phase.unwrap_or("Pending"))),
        },
        "Service" => {
            if object.pointer("/spec/type").and_then(Value::as_str) == Some("LoadBalancer")
                && object
                    .pointer("/status/loadBalancer/ingress")
                    .and_then(Value::as_array)
                    .is_none_or(|a| a.is_empty())
            {
                progress("waiting for a load balancer address".into())
            } else {
                Readiness::Ready
            }
        }
        "Pod" => {
            if object.pointer("/status/phase").and_then(Value::as_str) == Some("Failed") {
                return Readiness::Failed(format!("pod failed: {}", pod_reason(object)));
            }
            let phase = object.pointer("/status/phase").and_then(Value::as_str);
            // A pod that runs to completion (test and hook pods) is done when it succeeded;
            // a long-running one when it is Ready.
            let runs_to_completion = matches!(
                object
                    .pointer("/spec/restartPolicy")
                    .and_then(Value::as_str),
                Some("Never" | "OnFailure")
            );
            if phase == Some("Succeeded")
                || (!runs_to_completion && condition_true(object, "Ready"))
            {
                Readiness::Ready
            } else {
                progress(pod_reason(object))
            }
        }
        "CustomResourceDefinition" => {
            if condition_true(object, "Established") {
                Readiness::Ready
            } else {
                progress("waiting for the Established condition".into())
            }
        }
        _ => kstatus(object),
    }
}

/// kstatus's generic rules, for kinds rudder has no special knowledge of.
fn kstatus(object: &Value) -> Readiness {
    let has_conditions = object
        .pointer("/status/conditions")
        .and_then(Value::as_array)
        .is_some_and(|c| !c.is_empty());
    let observed = object.pointer("/status/observedGeneration").is_some();
    if !has_conditions && !observed {
        return Readiness::Unobservable;
    }
    if observed && !generation_observed(object) {
        return Readiness::InProgress(format!(
            "observedGeneration {} behind generation {}",
            int(object, "/status/observedGeneration"),
            int(object, "/metadata/generation")
        ));
    }
    let why = |kind: &str| {
        let c = condition(object, kind);
        let text = c
            .and_then(|c| {
                c.get("message")
                    .filter(|m| m.as_str().is_some_and(|m| !m.is_empty()))
            })
            .or_else(|| c.and_then(|c| c.get("reason")))
            .and_then(Value::as_str)
            .unwrap_or("");
        if text.is_empty() {
            kind.to_string()
        } else {
            format!("{kind}: {text}")
        }
    };
    let is = |kind: &str, status: &str| {
        condition(object, kind)
            .and_then(|c| c.get("status"))
            .and_then(Value::as_str)
            == Some(status)
    };
    for failed in ["Stalled", "Failed"] {
        if is(failed, "True") {
            return Readiness::Failed(why(failed));
        }
    }
    if is("Reconciling", "True") {
        return Readiness::InProgress(why("Reconciling"));
    }
    for not_yet in ["Ready", "Available"] {
        if is(not_yet, "False") || is(not_yet, "Unknown") {
            return Readiness::InProgress(format!("{} (not yet)", why(not_yet)));
        }
    }
    Readiness::Ready
}

/// Why a pod is not ready: a container's waiting reason (CrashLoopBackOff, …) if any.
pub fn pod_reason(pod: &Value) -> String {
    let statuses = pod
        .pointer("/status/containerStatuses")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for s in &statuses {
        if let Some(reason) = s.pointer("/state/waiting/reason").and_then(Value::as_str) {
            let name = s.get("name").and_then(Value::as_str).unwrap_or("?");
            return format!("container {name}: {reason}");
        }
    }
    format!(
        "phase {}",
        pod.pointer("/status/phase")
            .and_then(Value::as_str)
            .unwrap_or("Pending")
    )
}

/// Progress output: on a terminal, a live bar (resources ready out of total, the first one
/// still waited for and why); elsewhere (CI logs), a timestamped line per state change.
struct Progress {
    bar: Option<indicatif::ProgressBar>,
    quiet: bool,
    last: BTreeMap<ObjectRef, String>,
}

impl Progress {
    fn new(total: usize, quiet: bool) -> Progress {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} waiting {elapsed} [{pos}/{len} ready] {wide_msg}",
                )
                .expect("a valid progress template"),
            );
            bar.enable_steady_tick(Duration::from_millis(120));
            bar
        });
        Progress {
            bar,
            quiet,
            last: BTreeMap::new(),
        }
    }

    fn report(&mut self, r: &ObjectRef, state: &str) {
        if self.quiet || self.last.get(r).map(String::as_str) == Some(state) {
            return;
        }
        self.last.insert(r.clone(), state.to_string());
        match &self.bar {
            Some(bar) => {
                // "ready (…why…)" counts as ready too.
                let ready = self
                    .last
                    .values()
                    .filter(|s| s.starts_with("ready"))
                    .count();
                bar.set_position(ready as u64);
                if !state.starts_with("ready") {
                    bar.set_message(format!("{r}: {state}"));
                }
            }
            None => eprintln!(
                "{} {r}: {state}",
                chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ")
            ),
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// How [`wait_ready`] waits.
#[derive(Debug, Clone, Copy)]
pub struct WaitOptions {
    pub timeout: Duration,
    /// Jobs must complete (else they are ready once created).
    pub wait_for_jobs: bool,
    /// No progress output.
    pub quiet: bool,
    /// `--logs`: the last log lines of each failing container shown when waiting fails.
    pub log_lines: usize,
}

/// Waits until every object is ready; on timeout the error lists each one that is not and
/// why, with its recent Events and failing containers' last log lines. A Failed object (a
/// failed Job) fails at once, with the same details.
pub async fn wait_ready(
    cluster: &Cluster,
    objects: &[ObjectRef],
    options: &WaitOptions,
) -> Result<(), KubeError> {
    let WaitOptions {
        timeout,
        wait_for_jobs,
        quiet,
        log_lines,
    } = *options;
    let start = Instant::now();
    let mut progress = Progress::new(objects.len(), quiet);
    let mut pending: Vec<ObjectRef> = objects.to_vec();
    let mut interval = Duration::from_millis(100);
    loop {
        let states = futures::future::join_all(pending.iter().map(|r| async move {
            match cluster.get(r).await {
                Ok(Some(obj)) => {
                    let mut state = readiness(&obj, wait_for_jobs);
                    if let Readiness::InProgress(reason) = &state
                        && matches!(r.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet")
                        && let Some(why) = failing_pod(cluster, &obj).await
                    {
                        state = Readiness::InProgress(format!("{reason}; {why}"));
                    }
                    Ok(state)
                }
                Ok(None) => Ok(Readiness::InProgress("not found".into())),
                Err(e) => Err(e),
            }
        }))
        .await;
        let mut still = Vec::new();
        let mut reasons = Vec::new();
        for (r, state) in pending.iter().zip(states) {
            match state? {
                Readiness::Ready => progress.report(r, "ready"),
                Readiness::Unobservable => progress.report(
                    r,
                    "ready (no status conditions to follow: counted ready once created)",
                ),
                Readiness::Failed(why) => {
                    let details = diagnose(cluster, std::slice::from_ref(r), log_lines).await;
                    return Err(KubeError::Failed {
                        object: r.to_string(),
                        reason: format!("{why}{details}"),
                    });
                }
                Readiness::InProgress(why) => {
                    progress.report(r, &why);
                    reasons.push(format!("{r}: {why}"));
                    still.push(r.clone());
                }
            }
        }
        if still.is_empty() {
            return Ok(());
        }
        if start.elapsed() >= timeout {
            let details = diagnose(cluster, &still, log_lines).await;
            return Err(KubeError::Timeout {
                what: format!(
                    "{} resource(s) to become ready:\n  {}{details}",
                    still.len(),
                    reasons.join("\n  ")
                ),
                after: timeout,
            });
        }
        pending = still;
        let left = timeout.saturating_sub(start.elapsed());
        tokio::time::sleep(interval.min(left)).await;
        interval = (interval * 2).min(Duration::from_secs(2));
    }
}

/// The pods of a workload (by its selector's matchLabels; a Job's by its controller-uid
/// label), or the pod itself.
async fn pods_of(cluster: &Cluster, object: &Value) -> Vec<Value> {
    if object["kind"] == "Pod" {
        return vec![object.clone()];
    }
    let Some(labels) = object
        .pointer("/spec/selector/matchLabels")
        .and_then(Value::as_object)
    else {
        return Vec::new();
    };
    let selector: Vec<String> = labels
        .iter()
        .filter_map(|(k, v)| v.as_str().map(|v| format!("{k}={v}")))
        .collect();
    let pods = ObjectRef {
        api_version: "v1".into(),
        kind: "Pod".into(),
        namespace: object
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
            .map(String::from),
        name: String::new(),
    };
    cluster
        .list(&pods, Some(&selector.join(",")))
        .await
        .unwrap_or_default()
}

/// For a workload, the waiting reason of one of its pods (CrashLoopBackOff, …), if any.
async fn failing_pod(cluster: &Cluster, workload: &Value) -> Option<String> {
    let pods = pods_of(cluster, workload).await;
    pods.iter()
        .filter(|p| !condition_true(p, "Ready"))
        .map(|p| {
            format!(
                "pod {}: {}",
                p.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or("?"),
                pod_reason(p)
            )
        })
        .find(|s| s.contains("container"))
}

/// What an object that would not become ready says about itself: its recent Events and,
/// for a pod or workload, the last `log_lines` lines of each container that is not ready
/// (as nelm shows them). Empty when there is nothing to show; best effort (a failed read
/// leaves its part out).
async fn diagnose(cluster: &Cluster, objects: &[ObjectRef], log_lines: usize) -> String {
    const EVENTS: usize = 5;
    let mut out = String::new();
    for r in objects {
        let mut events = cluster.events_of(r).await.unwrap_or_default();
        events.sort_by_key(|e| {
            e["lastTimestamp"]
                .as_str()
                .or(e["eventTime"].as_str())
                .unwrap_or("")
                .to_string()
        });
        if !events.is_empty() {
            out.push_str(&format!("\n  events of {r}:"));
            for e in &events[events.len().saturating_sub(EVENTS)..] {
                out.push_str(&format!(
                    "\n    {} {}: {}",
                    e["type"].as_str().unwrap_or("Normal"),
                    e["reason"].as_str().unwrap_or(""),
                    e["message"].as_str().unwrap_or("")
                ));
            }
        }
        if log_lines == 0
            || !matches!(
                r.kind.as_str(),
                "Pod" | "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job"
            )
        {
            continue;
        }
        let Ok(Some(object)) = cluster.get(r).await else {
            continue;
        };
        for pod in pods_of(cluster, &object)
            .await
            .iter()
            .filter(|p| !condition_true(p, "Ready"))
            .take(2)
        {
            let name = pod
                .pointer("/metadata/name")
                .and_then(Value::as_str)
                .unwrap_or("");
            let namespace = pod
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("");
            let statuses = pod
                .pointer("/status/containerStatuses")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for c in statuses.iter().filter(|c| c["ready"] != true) {
                let container = c["name"].as_str().unwrap_or("");
                let Ok(text) = cluster.logs(namespace, name, container, log_lines).await else {
                    continue;
                };
                if text.trim().is_empty() {
                    continue;
                }
                out.push_str(&format!(
                    "\n  last {log_lines} log lines of pod {name} container {container}:"
                ));
                let lines: Vec<&str> = text.lines().collect();
                for line in &lines[lines.len().saturating_sub(log_lines)..] {
                    out.push_str(&format!("\n    {line}"));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn deployment_waits_for_new_replicas_and_old_pods_gone() {
        let mut d = json!({"kind": "Deployment", "metadata": {"generation": 2},
            "spec": {"replicas": 3},
            "status": {"observedGeneration": 2, "replicas": 4, "updatedReplicas": 3, "availableReplicas": 3}});
        assert_eq!(
            readiness(&d, false),
            Readiness::InProgress("1 old replicas pending termination".into())
        );
        d["status"]["replicas"] = json!(3);
        assert_eq!(readiness(&d, false), Readiness::Ready);
        d["metadata"]["generation"] = json!(3);
        assert!(matches!(readiness(&d, false), Readiness::InProgress(_)));
    }

    #[test]
    fn statefulset_honours_the_partition() {
        let s = json!({"kind": "StatefulSet", "metadata": {"generation": 1},
            "spec": {"replicas": 3, "updateStrategy": {"rollingUpdate": {"partition": 2}}},
            "status": {"observedGeneration": 1, "readyReplicas": 3, "updatedReplicas": 1,
                       "updateRevision": "b", "currentRevision": "a"}});
        assert_eq!(readiness(&s, false), Readiness::Ready);
    }

    #[test]
    fn jobs_wait_only_with_wait_for_jobs_and_fail_on_failed() {
        let j = json!({"kind": "Job", "spec": {}, "status": {}});
        assert_eq!(readiness(&j, false), Readiness::Ready);
        assert!(matches!(readiness(&j, true), Readiness::InProgress(_)));
        let failed = json!({"kind": "Job", "status": {"conditions": [
            {"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]}});
        assert_eq!(
            readiness(&failed, true),
            Readiness::Failed("BackoffLimitExceeded".into())
        );
    }

    #[test]
    fn custom_resources_follow_kstatus() {
        let cr = |generation: i64, status: Value| {
            readiness(
                &json!({"kind": "Widget", "metadata": {"generation": generation}, "status": status}),
                false,
            )
        };
        let conditions = |cs: Value| json!({"observedGeneration": 2, "conditions": cs});
        assert_eq!(cr(2, json!({})), Readiness::Unobservable);
        assert_eq!(cr(2, json!({"observedGeneration": 2})), Readiness::Ready);
        assert_eq!(
            cr(3, json!({"observedGeneration": 2})),
            Readiness::InProgress("observedGeneration 2 behind generation 3".into())
        );
        assert_eq!(
            cr(
                2,
                conditions(json!([{"type": "Stalled", "status": "True", "message": "bad spec"}]))
            ),
            Readiness::Failed("Stalled: bad spec".into())
        );
        assert_eq!(
            cr(
                2,
                conditions(json!([{"type": "Failed", "status": "True", "reason": "Crashed"}]))
            ),
            Readiness::Failed("Failed: Crashed".into())
        );
        assert_eq!(
            cr(
                2,
                conditions(json!([{"type": "Reconciling", "status": "True"}]))
            ),
            Readiness::InProgress("Reconciling".into())
        );
        assert_eq!(
            cr(
                2,
                conditions(json!([{"type": "Available", "status": "False", "message": "0/1"}]))
            ),
            Readiness::InProgress("Available: 0/1 (not yet)".into())
        );
        assert_eq!(
            cr(
                2,
                conditions(json!([{"type": "Succeeded", "status": "True"}]))
            ),
            Readiness::Ready
        );
        assert_eq!(
            cr(2, conditions(json!([{"type": "Ready", "status": "True"}]))),
            Readiness::Ready
        );
    }

    #[test]
    fn pvc_service_crd_and_custom_resources() {
        assert!(matches!(
            readiness(
                &json!({"kind": "PersistentVolumeClaim", "status": {"phase": "Pending"}}),
                false
            ),
            Readiness::InProgress(_)
        ));
        assert!(matches!(
            readiness(
                &json!({"kind": "Service", "spec": {"type": "LoadBalancer"}}),
                false
            ),
            Readiness::InProgress(_)
        ));
        assert_eq!(
            readiness(
                &json!({"kind": "Service", "spec": {"type": "ClusterIP"}}),
                false
            ),
            Readiness::Ready
        );
        assert_eq!(
            readiness(
                &json!({"kind": "Widget", "status": {"conditions": [
                {"type": "Ready", "status": "False", "reason": "Provisioning"}]}}),
                false
            ),
            Readiness::InProgress("Ready: Provisioning (not yet)".into())
        );
        assert_eq!(
            readiness(
                &json!({"kind": "CustomResourceDefinition", "status": {"conditions": [
                {"type": "Established", "status": "True"}]}}),
                false
            ),
            Readiness::Ready
        );
    }

    #[test]
    fn run_to_completion_pods_must_succeed_long_running_ones_be_ready() {
        let running = json!({"kind": "Pod", "spec": {"restartPolicy": "Never"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert!(matches!(
            readiness(&running, true),
            Readiness::InProgress(_)
        ));
        let done = json!({"kind": "Pod", "spec": {"restartPolicy": "Never"},
            "status": {"phase": "Succeeded"}});
        assert_eq!(readiness(&done, true), Readiness::Ready);
        let server = json!({"kind": "Pod", "spec": {"restartPolicy": "Always"},
            "status": {"phase": "Running", "conditions": [{"type": "Ready", "status": "True"}]}});
        assert_eq!(readiness(&server, true), Readiness::Ready);
        let failed = json!({"kind": "Pod", "spec": {"restartPolicy": "Never"},
            "status": {"phase": "Failed"}});
        assert!(matches!(readiness(&failed, true), Readiness::Failed(_)));
    }

    #[test]
    fn pod_reason_names_the_waiting_container() {
        let p = json!({"kind": "Pod", "status": {"phase": "Running", "containerStatuses": [
            {"name": "app", "state": {"waiting": {"reason": "CrashLoopBackOff"}}}]}});
        assert_eq!(pod_reason(&p), "container app: CrashLoopBackOff");
    }
}

//! The simulated controllers as rudder will see them through kube-runtime's waits: Deployments
//! complete after the configured delay, failing images never do, Jobs complete or fail, PVCs
//! bind, LoadBalancer Services get an address, StatefulSets honour their partition.

use k8s_openapi::api::apps::v1::{Deployment, StatefulSet};
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::{PersistentVolumeClaim, Pod, Service};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::wait::{Condition as _, await_condition, conditions};
use kubesim::Server;
use serde_json::json;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

fn deployment(name: &str, image: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({"metadata": {"name": name},
        "spec": {"replicas": replicas, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]}}}}))
    .unwrap()
}

async fn server(delay_ms: u64) -> Server {
    Server::builder()
        .controller_delay(Duration::from_millis(delay_ms))
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn deployment_completes_after_the_delay_and_rolls_to_a_new_replicaset() {
    let server = server(400).await;
    let deploys: Api<Deployment> = Api::default_namespaced(server.client().await);
    let started = Instant::now();
    deploys
        .create(&PostParams::default(), &deployment("web", "nginx:1", 2))
        .await
        .unwrap();
    let done = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            deploys.clone(),
            "web",
            conditions::is_deployment_completed(),
        ),
    )
    .await
    .expect("completes in time")
    .unwrap()
    .unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(350),
        "waited for the delay"
    );
    // A converged Deployment is left alone: no status rewrites, no new resourceVersions.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let settled_rv = deploys.get("web").await.unwrap().metadata.resource_version;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(
        deploys.get("web").await.unwrap().metadata.resource_version,
        settled_rv
    );
    let status = done.status.unwrap();
    assert_eq!(
        (
            status.replicas,
            status.ready_replicas,
            status.updated_replicas,
            status.available_replicas
        ),
        (Some(2), Some(2), Some(2), Some(2))
    );
    assert_eq!(status.observed_generation, Some(1));
    let pods: Api<Pod> = Api::default_namespaced(server.client().await);
    assert_eq!(
        pods.list(&ListParams::default().labels("app=web"))
            .await
            .unwrap()
            .items
            .len(),
        2
    );

    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}});
    deploys
        .patch("web", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .unwrap();
    let max_total = std::sync::Arc::new(AtomicI32::new(0));
    let surge_seen = max_total.clone();
    tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(deploys.clone(), "web", move |d: Option<&Deployment>| {
            d.and_then(|d| d.status.as_ref()).is_some_and(|s| {
                if s.observed_generation == Some(2) {
                    surge_seen.fetch_max(s.replicas.unwrap_or(0), Ordering::SeqCst);
                }
                s.observed_generation == Some(2)
                    && s.updated_replicas == Some(2)
                    && s.available_replicas == Some(2)
                    && s.replicas == Some(2)
            })
        }),
    )
    .await
    .expect("second rollout completes")
    .unwrap();
    assert_eq!(
        max_total.load(Ordering::SeqCst),
        3,
        "25% maxSurge of 2 replicas allows exactly one extra pod during the rollout"
    );
    let rs: Api<k8s_openapi::api::apps::v1::ReplicaSet> =
        Api::default_namespaced(server.client().await);
    let mut sets: Vec<(String, i32)> = rs
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|r| {
            let rev = r.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"].clone();
            (rev, r.spec.unwrap().replicas.unwrap())
        })
        .collect();
    sets.sort();
    assert_eq!(sets, [("1".to_string(), 0), ("2".to_string(), 2)]);
    let d = deploys.get("web").await.unwrap();
    assert_eq!(
        d.metadata.annotations.unwrap()["deployment.kubernetes.io/revision"],
        "2"
    );
}

/// `(manager, operation, subresource) -> fieldsV1` of an object's managedFields.
fn managed(
    meta: &kube::api::ObjectMeta,
) -> std::collections::BTreeMap<(String, String, String), serde_json::Value> {
    meta.managed_fields
        .iter()
        .flatten()
        .map(|m| {
            (
                (
                    m.manager.clone().unwrap_or_default(),
                    m.operation.clone().unwrap_or_default(),
                    m.subresource.clone().unwrap_or_default(),
                ),
                m.fields_v1
                    .as_ref()
                    .map(|f| f.0.clone())
                    .unwrap_or_default(),
            )
        })
        .collect()
}

fn kcm(subresource: &str) -> (String, String, String) {
    (
        "kube-controller-manager".into(),
        "Update".into(),
        subresource.into(),
    )
}

#[tokio::test]
async fn the_controller_manager_owns_the_revision_annotation_and_status_as_on_a_real_cluster() {
    let server = server(100).await;
    let deploys: Api<Deployment> = Api::default_namespaced(server.client().await);
    let manifest = |image: &str| {
        json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
            "spec": {"replicas": 2, "selector": {"matchLabels": {"app": "web"}},
                "template": {"metadata": {"labels": {"app": "web"}},
                    "spec": {"containers": [{"name": "main", "image": image}]}}}})
    };
    let helm = PatchParams::apply("helm");
    deploys
        .patch("web", &helm, &Patch::Apply(&manifest("nginx:1")))
        .await
        .unwrap();
    let done = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(
            deploys.clone(),
            "web",
            conditions::is_deployment_completed(),
        ),
    )
    .await
    .expect("completes in time")
    .unwrap()
    .unwrap();
    let entries = managed(&done.metadata);
    assert!(
        entries.contains_key(&("helm".into(), "Apply".into(), String::new())),
        "{entries:?}"
    );
    // The revision annotation: the controller created the annotations map, so it owns the
    // map itself too (`.`), exactly as kube-controller-manager's entry on a real cluster.
    assert_eq!(
        entries.get(&kcm("")),
        Some(&json!({"f:metadata": {"f:annotations": {".": {},
            "f:deployment.kubernetes.io/revision": {}}}})),
        "{entries:?}"
    );
    let condition = json!({".": {}, "f:lastTransitionTime": {}, "f:lastUpdateTime": {},
        "f:message": {}, "f:reason": {}, "f:status": {}, "f:type": {}});
    assert_eq!(
        entries.get(&kcm("status")),
        Some(
            &json!({"f:status": {"f:availableReplicas": {}, "f:conditions": {".": {},
            "k:{\"type\":\"Available\"}": condition, "k:{\"type\":\"Progressing\"}": condition},
            "f:observedGeneration": {}, "f:readyReplicas": {}, "f:replicas": {},
            "f:updatedReplicas": {}}})
        ),
        "{entries:?}"
    );
    // The ReplicaSet's status is the controller manager's too.
    let rs: Api<k8s_openapi::api::apps::v1::ReplicaSet> =
        Api::default_namespaced(server.client().await);
    let set = rs
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let rs_status = &managed(&set.metadata)[&kcm("status")]["f:status"];
    assert!(
        rs_status.get("f:replicas").is_some() && rs_status.get("f:readyReplicas").is_some(),
        "{rs_status}"
    );

    // helm applies again (a new image, and the empty annotations a chart often renders):
    // no conflict with the controller manager, whose entries survive the rollout.
    let mut again = manifest("nginx:2");
    again["metadata"]["annotations"] = json!({});
    deploys
        .patch("web", &helm, &Patch::Apply(&again))
        .await
        .expect("a later apply by helm does not conflict");
    let rolled = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(deploys.clone(), "web", |d: Option<&Deployment>| {
            d.is_some_and(|d| {
                d.metadata
                    .annotations
                    .as_ref()
                    .is_some_and(|a| a["deployment.kubernetes.io/revision"] == "2")
                    && conditions::is_deployment_completed().matches_object(Some(d))
            })
        }),
    )
    .await
    .expect("second rollout completes")
    .unwrap()
    .unwrap();
    let entries = managed(&rolled.metadata);
    assert!(
        entries[&kcm("")]["f:metadata"]["f:annotations"]
            .get("f:deployment.kubernetes.io/revision")
            .is_some(),
        "{entries:?}"
    );
    assert!(entries.contains_key(&kcm("status")), "{entries:?}");
    deploys
        .patch("web", &helm, &Patch::Apply(&again))
        .await
        .expect("applying the same manifest again does not conflict");
}

#[tokio::test]
async fn a_failing_image_never_becomes_available_and_reports_crashloop() {
    let server = Server::builder()
        .controller_delay(Duration::from_millis(100))
        .fail_image_tag("broken")
        .start()
        .await
        .unwrap();
    let deploys: Api<Deployment> = Api::default_namespaced(server.client().await);
    deploys
        .create(&PostParams::default(), &deployment("bad", "app:broken", 1))
        .await
        .unwrap();
    let waited = tokio::time::timeout(
        Duration::from_secs(1),
        await_condition(
            deploys.clone(),
            "bad",
            conditions::is_deployment_completed(),
        ),
    )
    .await;
    assert!(waited.is_err(), "never completes");
    let status = deploys.get("bad").await.unwrap().status.unwrap();
    assert_eq!(status.available_replicas, None);
    let available = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Available")
        .unwrap();
    assert_eq!(available.status, "False");
    let pods: Api<Pod> = Api::default_namespaced(server.client().await);
    let pod = pods
        .list(&ListParams::default())
        .await
        .unwrap()
        .items
        .remove(0);
    let cs = &pod.status.unwrap().container_statuses.unwrap()[0];
    assert!(!cs.ready);
    assert_eq!(
        cs.state
            .as_ref()
            .unwrap()
            .waiting
            .as_ref()
            .unwrap()
            .reason
            .as_deref(),
        Some("CrashLoopBackOff")
    );
    // The kubelet-style warning is recorded against the pod, findable by field selector.
    let events: Api<k8s_openapi::api::core::v1::Event> =
        Api::default_namespaced(server.client().await);
    let pod_name = pod.metadata.name.clone().unwrap();
    let about_pod = events
        .list(&ListParams::default().fields(&format!("involvedObject.name={pod_name}")))
        .await
        .unwrap()
        .items;
    assert!(
        about_pod.iter().any(
            |e| e.reason.as_deref() == Some("BackOff") && e.type_.as_deref() == Some("Warning")
        ),
        "{about_pod:?}"
    );
    let about_deployment = events
        .list(
            &ListParams::default().fields("involvedObject.kind=Deployment,involvedObject.name=bad"),
        )
        .await
        .unwrap()
        .items;
    assert_eq!(about_deployment.len(), 1);
    assert!(
        about_deployment[0]
            .message
            .as_deref()
            .unwrap()
            .starts_with("Scaled up replica set bad-")
    );
}

#[tokio::test]
async fn jobs_complete_or_fail_pvcs_bind_and_load_balancers_get_addresses() {
    let server = server(100).await;
    let client = server.client().await;
    let jobs: Api<Job> = Api::default_namespaced(client.clone());
    for (name, image) in [("ok", "busybox:1"), ("bad", "busybox:fail")] {
        let job: Job = serde_json::from_value(json!({"metadata": {"name": name},
            "spec": {"backoffLimit": 2, "template": {"spec": {"restartPolicy": "Never",
                "containers": [{"name": "c", "image": image}]}}}}))
        .unwrap();
        jobs.create(&PostParams::default(), &job).await.unwrap();
    }
    tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(jobs.clone(), "ok", conditions::is_job_completed()),
    )
    .await
    .expect("job completes")
    .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let bad = jobs.get("bad").await.unwrap().status.unwrap();
    assert_eq!(bad.failed, Some(3));
    assert!(
        bad.conditions
            .unwrap()
            .iter()
            .any(|c| c.type_ == "Failed" && c.status == "True")
    );

    let pvcs: Api<PersistentVolumeClaim> = Api::default_namespaced(client.clone());
    let pvc = serde_json::from_value(json!({"metadata": {"name": "data"},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}))
    .unwrap();
    pvcs.create(&PostParams::default(), &pvc).await.unwrap();
    let services: Api<Service> = Api::default_namespaced(client.clone());
    let svc = serde_json::from_value(json!({"metadata": {"name": "lb"},
        "spec": {"type": "LoadBalancer", "ports": [{"port": 80}]}}))
    .unwrap();
    services.create(&PostParams::default(), &svc).await.unwrap();
    tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(
            services.clone(),
            "lb",
            conditions::is_service_loadbalancer_provisioned(),
        ),
    )
    .await
    .expect("load balancer provisioned")
    .unwrap();
    let ingresses: Api<k8s_openapi::api::networking::v1::Ingress> =
        Api::default_namespaced(server.client().await);
    let ing = serde_json::from_value(json!({"metadata": {"name": "web"},
        "spec": {"rules": [{"host": "web.example.com"}]}}))
    .unwrap();
    ingresses
        .create(&PostParams::default(), &ing)
        .await
        .unwrap();
    tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(ingresses, "web", conditions::is_ingress_provisioned()),
    )
    .await
    .expect("ingress provisioned")
    .unwrap();
    let ok = jobs.get("ok").await.unwrap();
    let uid = ok.metadata.uid.clone().unwrap();
    let spec = ok.spec.unwrap();
    assert_eq!(
        spec.selector.unwrap().match_labels.unwrap()["batch.kubernetes.io/controller-uid"],
        uid
    );
    assert_eq!(
        spec.template.metadata.unwrap().labels.unwrap()["job-name"],
        "ok"
    );
    let bound = pvcs.get("data").await.unwrap();
    assert_eq!(bound.status.unwrap().phase.as_deref(), Some("Bound"));
    assert!(bound.spec.unwrap().volume_name.unwrap().starts_with("pvc-"));
}

#[tokio::test]
async fn statefulset_partition_holds_back_the_update_revision() {
    let server = server(100).await;
    let sets: Api<StatefulSet> = Api::default_namespaced(server.client().await);
    let sts: StatefulSet = serde_json::from_value(json!({"metadata": {"name": "db"},
        "spec": {"replicas": 3, "serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
            "updateStrategy": {"type": "RollingUpdate", "rollingUpdate": {"partition": 2}},
            "template": {"metadata": {"labels": {"app": "db"}},
                "spec": {"containers": [{"name": "db", "image": "postgres:16"}]}}}}))
    .unwrap();
    sets.create(&PostParams::default(), &sts).await.unwrap();
    let ready = tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(sets.clone(), "db", |s: Option<&StatefulSet>| {
            s.and_then(|s| s.status.as_ref())
                .is_some_and(|st| st.ready_replicas == Some(3))
        }),
    )
    .await
    .expect("pods ready")
    .unwrap()
    .unwrap();
    let status = ready.status.unwrap();
    assert_eq!(
        status.updated_replicas,
        Some(3),
        "the first revision is everyone's"
    );
    assert_eq!(status.current_revision, status.update_revision);

    let patch = json!({"spec": {"template": {"spec": {"containers": [{"name": "db", "image": "postgres:17"}]}}}});
    sets.patch("db", &PatchParams::default(), &Patch::Strategic(&patch))
        .await
        .unwrap();
    let rolled = tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(sets.clone(), "db", |s: Option<&StatefulSet>| {
            s.and_then(|s| s.status.as_ref()).is_some_and(|st| {
                st.observed_generation == Some(2) && st.updated_replicas == Some(1)
            })
        }),
    )
    .await
    .expect("partitioned update")
    .unwrap()
    .unwrap();
    let status = rolled.status.unwrap();
    assert_eq!(
        status.current_replicas,
        Some(2),
        "ordinals below the partition stay current"
    );
    assert_ne!(status.current_revision, status.update_revision);
    let pods: Api<Pod> = Api::default_namespaced(server.client().await);
    let mut names: Vec<String> = pods
        .list(&ListParams::default().labels("app=db"))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|p| p.metadata.name.unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["db-0", "db-1", "db-2"]);
}

#[tokio::test]
async fn namespaces_get_a_default_service_account_and_the_root_ca_configmap() {
    use k8s_openapi::api::core::v1::{ConfigMap, Namespace, ServiceAccount};
    let server = server(100).await;
    let client = server.client().await;
    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns = serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "team");
    let root = tokio::time::timeout(
        Duration::from_secs(5),
        await_condition(cms, "kube-root-ca.crt", conditions::is_created()),
    )
    .await
    .expect("published")
    .unwrap()
    .unwrap();
    assert_eq!(root.data.unwrap()["ca.crt"], server.ca_pem().unwrap());
    let sas: Api<ServiceAccount> = Api::namespaced(client.clone(), "team");
    assert!(sas.get_opt("default").await.unwrap().is_some());
    let services: Api<Service> = Api::default_namespaced(client);
    let kubernetes = services.get("kubernetes").await.unwrap();
    assert_eq!(
        kubernetes.spec.unwrap().cluster_ip.as_deref(),
        Some("10.96.0.1")
    );
}

//! The API as the `kube` client sees it: verbs, Status errors, selectors, pagination, watch,
//! patch types, dry runs, garbage collection, auth, faults, restart and persistence.

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Service};
use kube::api::{
    Api, DeleteParams, ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams,
};
use kube::core::Status;
use kubesim::{Server, User};
use serde_json::json;
use std::time::Duration;

fn cm(name: &str, labels: serde_json::Value) -> ConfigMap {
    serde_json::from_value(json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": name, "labels": labels}, "data": {"k": "v"}}))
    .expect("valid ConfigMap")
}

fn deployment(name: &str, image: &str) -> Deployment {
    serde_json::from_value(json!({"apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                "spec": {"containers": [{"name": "main", "image": image}]}}}}))
    .expect("valid Deployment")
}

fn api_error(err: kube::Error) -> Status {
    match err {
        kube::Error::Api(status) => *status,
        other => panic!("expected an API error, got {other:?}"),
    }
}

#[tokio::test]
async fn create_get_update_delete_with_real_status_errors() {
    let server = Server::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    let created = cms
        .create(&PostParams::default(), &cm("one", json!({})))
        .await
        .unwrap();
    let meta = &created.metadata;
    assert_eq!(meta.namespace.as_deref(), Some("default"));
    assert!(meta.uid.is_some() && meta.creation_timestamp.is_some());
    let rv1: u64 = meta.resource_version.as_deref().unwrap().parse().unwrap();

    let dup = api_error(
        cms.create(&PostParams::default(), &cm("one", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((dup.code, dup.reason.as_str()), (409, "AlreadyExists"));
    assert_eq!(dup.message, "configmaps \"one\" already exists");

    let mut changed = created.clone();
    changed.data = Some([("k".to_string(), "w".to_string())].into());
    let updated = cms
        .replace("one", &PostParams::default(), &changed)
        .await
        .unwrap();
    let rv2: u64 = updated
        .metadata
        .resource_version
        .as_deref()
        .unwrap()
        .parse()
        .unwrap();
    assert!(rv2 > rv1);
    // Replaying the old resourceVersion is a conflict.
    let stale = api_error(
        cms.replace("one", &PostParams::default(), &changed)
            .await
            .unwrap_err(),
    );
    assert_eq!((stale.code, stale.reason.as_str()), (409, "Conflict"));
    assert!(stale.message.starts_with(
        "Operation cannot be fulfilled on configmaps \"one\": the object has been modified"
    ));

    cms.delete("one", &DeleteParams::default()).await.unwrap();
    let missing = api_error(cms.get("one").await.unwrap_err());
    assert_eq!((missing.code, missing.reason.as_str()), (404, "NotFound"));
    assert_eq!(missing.message, "configmaps \"one\" not found");
    let details = missing.details.expect("details");
    assert_eq!(
        (details.name.as_str(), details.kind.as_str()),
        ("one", "configmaps")
    );

    let nowhere: Api<ConfigMap> = Api::namespaced(server.client().await, "nowhere");
    let no_ns = api_error(
        nowhere
            .create(&PostParams::default(), &cm("x", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!(no_ns.message, "namespaces \"nowhere\" not found");
}

#[tokio::test]
async fn invalid_objects_and_immutable_fields_are_rejected_with_causes() {
    let server = Server::start().await.unwrap();
    let client = server.client().await;
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let mut broken = deployment("web", "nginx");
    broken
        .spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .containers[0]
        .image = None;
    let err = api_error(
        deploys
            .create(&PostParams::default(), &broken)
            .await
            .unwrap_err(),
    );
    assert_eq!((err.code, err.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        err.message,
        "Deployment.apps \"web\" is invalid: spec.template.spec.containers[0].image: Required value"
    );
    let details = err.details.unwrap();
    assert_eq!(
        (details.group.as_str(), details.kind.as_str()),
        ("apps", "Deployment")
    );
    assert_eq!(details.causes[0].reason, "FieldValueRequired");
    assert_eq!(
        details.causes[0].field,
        "spec.template.spec.containers[0].image"
    );

    deploys
        .create(&PostParams::default(), &deployment("web", "nginx"))
        .await
        .unwrap();
    let patch = json!({"spec": {"selector": {"matchLabels": {"app": "other"}},
        "template": {"metadata": {"labels": {"app": "other"}}}}});
    let err = api_error(
        deploys
            .patch("web", &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("spec.selector: Invalid value: "),
        "{}",
        err.message
    );
    assert!(
        err.message.ends_with("field is immutable"),
        "{}",
        err.message
    );

    let services: Api<Service> = Api::default_namespaced(client);
    let svc: Service = serde_json::from_value(json!({"metadata": {"name": "svc"},
        "spec": {"ports": [{"port": 80}]}}))
    .unwrap();
    let svc = services.create(&PostParams::default(), &svc).await.unwrap();
    let ip = svc.spec.as_ref().unwrap().cluster_ip.clone().unwrap();
    let err = api_error(
        services
            .patch(
                "svc",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"clusterIP": "10.0.0.1"}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert_eq!(
        services
            .get("svc")
            .await
            .unwrap()
            .spec
            .unwrap()
            .cluster_ip
            .unwrap(),
        ip
    );
}

#[tokio::test]
async fn list_filters_by_label_and_field_selectors_and_paginates() {
    let server = Server::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    for (name, env) in [
        ("a", "prod"),
        ("b", "staging"),
        ("c", "prod"),
        ("d", "dev"),
        ("e", "prod"),
    ] {
        cms.create(
            &PostParams::default(),
            &cm(name, json!({"env": env, "app": "x"})),
        )
        .await
        .unwrap();
    }
    let names = |list: kube::core::ObjectList<ConfigMap>| {
        list.items
            .into_iter()
            .map(|c| c.metadata.name.unwrap())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        names(
            cms.list(&ListParams::default().labels("env=prod"))
                .await
                .unwrap()
        ),
        ["a", "c", "e"]
    );
    assert_eq!(
        names(
            cms.list(&ListParams::default().labels("env in (dev,staging)"))
                .await
                .unwrap()
        ),
        ["b", "d"]
    );
    assert_eq!(
        names(
            cms.list(&ListParams::default().labels("env!=prod,app"))
                .await
                .unwrap()
        ),
        ["b", "d"]
    );
    assert_eq!(
        names(
            cms.list(&ListParams::default().fields("metadata.name=c"))
                .await
                .unwrap()
        ),
        ["c"]
    );
    let bad = api_error(
        cms.list(&ListParams::default().fields("spec.x=1"))
            .await
            .unwrap_err(),
    );
    assert_eq!(bad.code, 400);

    // kube-root-ca.crt lives in every namespace too: page through our own objects.
    let ours = ListParams::default().labels("app=x");
    let page1 = cms.list(&ours.clone().limit(2)).await.unwrap();
    let token = page1.metadata.continue_.clone().expect("continue token");
    assert_eq!(page1.metadata.remaining_item_count, Some(3));
    assert_eq!(names(page1), ["a", "b"]);
    let page2 = cms
        .list(&ours.clone().limit(2).continue_token(&token))
        .await
        .unwrap();
    let token2 = page2.metadata.continue_.clone().expect("second token");
    assert_eq!(names(page2), ["c", "d"]);
    let page3 = cms
        .list(&ours.clone().limit(2).continue_token(&token2))
        .await
        .unwrap();
    assert!(page3.metadata.continue_.as_deref().unwrap_or("").is_empty());
    assert_eq!(names(page3), ["e"]);
}

#[tokio::test]
async fn watch_streams_changes_from_a_resource_version() {
    let server = Server::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    let first = cms
        .create(&PostParams::default(), &cm("first", json!({"w": "1"})))
        .await
        .unwrap();
    let rv = first.metadata.resource_version.clone().unwrap();
    cms.create(&PostParams::default(), &cm("second", json!({"w": "1"})))
        .await
        .unwrap();
    cms.create(&PostParams::default(), &cm("ignored", json!({"w": "2"})))
        .await
        .unwrap();
    let stream = cms
        .watch(&WatchParams::default().labels("w=1").timeout(5), &rv)
        .await
        .unwrap();
    let mut stream = stream.boxed();
    let writer = cms.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(100)).await;
        writer
            .delete("first", &DeleteParams::default())
            .await
            .unwrap();
    });
    let mut seen = Vec::new();
    while let Some(ev) = stream.try_next().await.unwrap() {
        match ev {
            WatchEvent::Added(o) => seen.push(format!("ADDED {}", o.metadata.name.unwrap())),
            WatchEvent::Deleted(o) => {
                seen.push(format!("DELETED {}", o.metadata.name.unwrap()));
                break;
            }
            other => seen.push(format!("{other:?}")),
        }
    }
    assert_eq!(seen, ["ADDED second", "DELETED first"]);
}

#[tokio::test]
async fn patch_types_merge_json_strategic_and_apply() {
    let server = Server::start().await.unwrap();
    let deploys: Api<Deployment> = Api::default_namespaced(server.client().await);
    let mut d = deployment("web", "nginx:1");
    d.spec
        .as_mut()
        .unwrap()
        .template
        .spec
        .as_mut()
        .unwrap()
        .containers
        .push(serde_json::from_value(json!({"name": "sidecar", "image": "envoy:1"})).unwrap());
    deploys.create(&PostParams::default(), &d).await.unwrap();

    let smp = json!({"spec": {"template": {"spec": {"containers": [{"name": "main", "image": "nginx:2"}]}}}});
    let after = deploys
        .patch("web", &PatchParams::default(), &Patch::Strategic(&smp))
        .await
        .unwrap();
    let containers = after.spec.unwrap().template.spec.unwrap().containers;
    assert_eq!(containers.len(), 2, "strategic merge keeps the sidecar");
    assert_eq!(containers[0].image.as_deref(), Some("nginx:2"));
    assert_eq!(after.metadata.generation, Some(2));

    let merged = deploys
        .patch(
            "web",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"a": "b"}}})),
        )
        .await
        .unwrap();
    assert_eq!(merged.metadata.labels.unwrap()["a"], "b");
    assert_eq!(
        merged.metadata.generation,
        Some(2),
        "metadata changes keep the generation"
    );

    let ops: json_patch::Patch = serde_json::from_value(json!([
        {"op": "replace", "path": "/spec/replicas", "value": 3}]))
    .unwrap();
    let jp = deploys
        .patch("web", &PatchParams::default(), &Patch::<()>::Json(ops))
        .await
        .unwrap();
    assert_eq!(jp.spec.unwrap().replicas, Some(3));

    let apply = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicas": 4}});
    let err = api_error(
        deploys
            .patch("web", &PatchParams::apply("ci"), &Patch::Apply(&apply))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 409);
    assert!(err.message.contains(".spec.replicas"), "{}", err.message);
    let forced = deploys
        .patch(
            "web",
            &PatchParams::apply("ci").force(),
            &Patch::Apply(&apply),
        )
        .await
        .unwrap();
    assert_eq!(forced.spec.unwrap().replicas, Some(4));
    let managers: Vec<String> = forced
        .metadata
        .managed_fields
        .unwrap()
        .into_iter()
        .map(|m| format!("{}/{}", m.manager.unwrap(), m.operation.unwrap()))
        .collect();
    assert!(managers.contains(&"ci/Apply".to_string()), "{managers:?}");
}

#[tokio::test]
async fn dry_run_writes_nothing() {
    let server = Server::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    let pp = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    let preview = cms.create(&pp, &cm("ghost", json!({}))).await.unwrap();
    assert_eq!(preview.metadata.name.as_deref(), Some("ghost"));
    assert_eq!(api_error(cms.get("ghost").await.unwrap_err()).code, 404);
    cms.create(&PostParams::default(), &cm("real", json!({})))
        .await
        .unwrap();
    cms.delete("real", &DeleteParams::default().dry_run())
        .await
        .unwrap();
    cms.patch("real", &PatchParams::apply("x").force().dry_run(), &Patch::Apply(json!({
        "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "real"}, "data": {"k": "changed"}})))
        .await
        .unwrap();
    assert_eq!(cms.get("real").await.unwrap().data.unwrap()["k"], "v");
}

#[tokio::test]
async fn deleting_an_owner_collects_dependents_and_namespaces_cascade() {
    let server = Server::start().await.unwrap();
    let client = server.client().await;
    let deploys: Api<Deployment> = Api::default_namespaced(client.clone());
    let owner = deploys
        .create(&PostParams::default(), &deployment("owner", "nginx"))
        .await
        .unwrap();
    let rs: ReplicaSet = serde_json::from_value(json!({"metadata": {"name": "owner-1",
        "labels": {"app": "owner"},
        "ownerReferences": [{"apiVersion": "apps/v1", "kind": "Deployment", "name": "owner",
            "uid": owner.metadata.uid.unwrap(), "controller": true}]},
        "spec": {"selector": {"matchLabels": {"app": "owner"}},
            "template": {"metadata": {"labels": {"app": "owner"}},
                "spec": {"containers": [{"name": "c", "image": "nginx"}]}}}}))
    .unwrap();
    let rss: Api<ReplicaSet> = Api::default_namespaced(client.clone());
    rss.create(&PostParams::default(), &rs).await.unwrap();
    deploys
        .delete("owner", &DeleteParams::background())
        .await
        .unwrap();
    assert_eq!(api_error(rss.get("owner-1").await.unwrap_err()).code, 404);

    let namespaces: Api<Namespace> = Api::all(client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team"}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    let team: Api<ConfigMap> = Api::namespaced(client, "team");
    team.create(&PostParams::default(), &cm("inside", json!({})))
        .await
        .unwrap();
    namespaces
        .delete("team", &DeleteParams::default())
        .await
        .unwrap();
    assert_eq!(api_error(team.get("inside").await.unwrap_err()).code, 404);
    assert_eq!(
        api_error(namespaces.get("team").await.unwrap_err()).code,
        404
    );
}

#[tokio::test]
async fn unknown_tokens_get_401_and_limited_users_403() {
    let server = Server::builder()
        .user(User {
            name: "viewer".into(),
            token: "viewer-token".into(),
            namespaces: Some(vec!["default".into()]),
            verbs: Some(vec!["get".into(), "list".into()]),
        })
        .start()
        .await
        .unwrap();
    let viewer = server.client_for_user("viewer").unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(viewer.clone());
    assert!(
        cms.list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let denied = api_error(
        cms.create(&PostParams::default(), &cm("x", json!({})))
            .await
            .unwrap_err(),
    );
    assert_eq!((denied.code, denied.reason.as_str()), (403, "Forbidden"));
    assert_eq!(
        denied.message,
        "configmaps is forbidden: User \"viewer\" cannot create resource \"configmaps\" in API group \"\" in the namespace \"default\""
    );
    let elsewhere: Api<ConfigMap> = Api::namespaced(viewer, "kube-system");
    assert_eq!(
        api_error(elsewhere.list(&ListParams::default()).await.unwrap_err()).code,
        403
    );

    let http = raw_get(
        &server,
        "/api/v1/namespaces/default/configmaps",
        Some("nope"),
    )
    .await;
    assert_eq!(http.0, 401);
    assert_eq!(http.1["reason"], "Unauthorized");
}

/// A GET with an arbitrary bearer token, returning the status code and body.
async fn raw_get(server: &Server, path: &str, token: Option<&str>) -> (u16, serde_json::Value) {
    let mut config = kube::Config::new(server.url().parse().unwrap());
    config.root_cert = server.ca_pem().map(|pem| {
        use base64::Engine;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        vec![
            base64::engine::general_purpose::STANDARD
                .decode(body)
                .unwrap(),
        ]
    });
    config.auth_info.token = token.map(|t| t.to_string().into());
    let client = kube::Client::try_from(config).unwrap();
    let req = http::Request::get(path).body(Vec::new()).unwrap();
    match client.request_text(req).await {
        Ok(text) => (200, serde_json::from_str(&text).unwrap()),
        Err(kube::Error::Api(s)) => (s.code, serde_json::to_value(&*s).unwrap()),
        Err(other) => panic!("unexpected error {other:?}"),
    }
}

#[tokio::test]
async fn injected_faults_fail_requests_then_clear() {
    let server = Server::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    let faults = server.faults();
    faults.fail_next(1, 500);
    let first = api_error(cms.get("x").await.unwrap_err());
    assert_eq!((first.code, first.reason.as_str()), (500, "InternalError"));
    assert_eq!(
        api_error(cms.get("x").await.unwrap_err()).code,
        404,
        "faults are used up"
    );

    // kube retries 503 and 429 (honouring Retry-After), so these only delay the answer.
    faults.fail_next(1, 503);
    faults.fail_next(1, 429);
    assert_eq!(faults.pending_failures(), 2);
    assert_eq!(api_error(cms.get("x").await.unwrap_err()).code, 404);
    assert_eq!(faults.pending_failures(), 0, "both failures were served");

    faults.drop_next(1);
    let dropped = cms.get("x").await.unwrap_err();
    assert!(
        !matches!(dropped, kube::Error::Api(_)),
        "connection dropped: {dropped:?}"
    );

    faults.set_latency(Duration::from_millis(300));
    let started = std::time::Instant::now();
    let _ = cms.get("x").await;
    assert!(started.elapsed() >= Duration::from_millis(300));
    faults.clear();
}

#[tokio::test]
async fn restart_keeps_state_and_the_port() {
    let mut server = Server::start().await.unwrap();
    let url = server.url();
    let client = server.client().await;
    let cms: Api<ConfigMap> = Api::default_namespaced(client.clone());
    cms.create(&PostParams::default(), &cm("kept", json!({})))
        .await
        .unwrap();
    server.stop().await;
    assert!(
        cms.get("kept").await.is_err(),
        "stopped server refuses requests"
    );
    server.restart().await.unwrap();
    assert_eq!(server.url(), url);
    let fresh: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    assert!(fresh.get("kept").await.is_ok());
}

#[tokio::test]
async fn state_file_survives_a_new_server_process() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state.json");
    {
        let server = Server::builder().state_file(&state).start().await.unwrap();
        let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
        cms.create(&PostParams::default(), &cm("persisted", json!({})))
            .await
            .unwrap();
    }
    let server = Server::builder().state_file(&state).start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    assert_eq!(cms.get("persisted").await.unwrap().data.unwrap()["k"], "v");
}

#[tokio::test]
async fn plain_http_serves_the_same_api() {
    let server = Server::builder().plain_http(true).start().await.unwrap();
    assert!(server.url().starts_with("http://127.0.0.1:"));
    let kubeconfig = std::fs::read_to_string(server.kubeconfig_path()).unwrap();
    assert!(!kubeconfig.contains("certificate-authority-data"));
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    cms.create(&PostParams::default(), &cm("plain", json!({})))
        .await
        .unwrap();
    let version = server.client().await.apiserver_version().await.unwrap();
    assert_eq!(version.git_version, "v1.35.2");
}

#[tokio::test]
async fn crd_serves_its_custom_resources() {
    let server = Server::start().await.unwrap();
    let client = server.client().await;
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(client.clone());
    let crd = serde_json::from_value(json!({"metadata": {"name": "gadgets.example.com"},
        "spec": {"group": "example.com", "scope": "Cluster",
            "names": {"plural": "gadgets", "kind": "Gadget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object",
                    "x-kubernetes-preserve-unknown-fields": true}}}]}}))
    .unwrap();
    let created = crds.create(&PostParams::default(), &crd).await.unwrap();
    let conditions = created.status.unwrap().conditions.unwrap();
    assert!(
        conditions
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True")
    );
    let ar = kube::api::ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "Gadget".into(),
        plural: "gadgets".into(),
    };
    let gadgets: Api<kube::api::DynamicObject> = Api::all_with(client, &ar);
    let obj: kube::api::DynamicObject =
        serde_json::from_value(json!({"apiVersion": "example.com/v1",
        "kind": "Gadget", "metadata": {"name": "g1"}, "spec": {"x": 1}}))
        .unwrap();
    gadgets.create(&PostParams::default(), &obj).await.unwrap();
    let got = gadgets.get("g1").await.unwrap();
    assert_eq!(got.data["spec"]["x"], 1);
    assert_eq!(got.metadata.generation, Some(1));
    let smp = gadgets
        .patch(
            "g1",
            &PatchParams::default(),
            &Patch::Strategic(json!({"spec": {"x": 2}})),
        )
        .await
        .unwrap_err();
    assert_eq!(
        api_error(smp).code,
        415,
        "custom resources do not take strategic merge patches"
    );
}

#[tokio::test]
async fn kube_discovery_resolves_kinds_and_scopes_both_ways() {
    use kube::core::GroupVersionKind;
    use kube::discovery::{Discovery, Scope};
    let server = Server::start().await.unwrap();
    let client = server.client().await;
    for discovery in [
        Discovery::new(client.clone()).run().await.unwrap(),
        Discovery::new(client.clone())
            .run_aggregated()
            .await
            .unwrap(),
    ] {
        let (ar, caps) = discovery
            .resolve_gvk(&GroupVersionKind::gvk("apps", "v1", "Deployment"))
            .expect("Deployment is served");
        assert_eq!(ar.plural, "deployments");
        assert_eq!(caps.scope, Scope::Namespaced);
        let subs: Vec<&str> = caps
            .subresources
            .iter()
            .map(|(s, _)| s.plural.as_str())
            .collect();
        assert!(subs.contains(&"status"), "{subs:?}");
        let (ns, caps) = discovery
            .resolve_gvk(&GroupVersionKind::gvk("", "v1", "Namespace"))
            .expect("Namespace is served");
        assert_eq!(ns.plural, "namespaces");
        assert_eq!(caps.scope, Scope::Cluster);
        let (_, crb) = discovery
            .resolve_gvk(&GroupVersionKind::gvk(
                "rbac.authorization.k8s.io",
                "v1",
                "ClusterRoleBinding",
            ))
            .expect("ClusterRoleBinding is served");
        assert_eq!(crb.scope, Scope::Cluster);
    }
}

#[tokio::test]
async fn unknown_fields_are_pruned_or_rejected_per_field_validation() {
    let server = Server::start().await.unwrap();
    let deploys: Api<Deployment> = Api::default_namespaced(server.client().await);
    let typo = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"},
        "spec": {"replicass": 3, "selector": {"matchLabels": {"app": "web"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "c", "image": "nginx", "imagee": "x"}]}}}});
    let strict = api_error(
        deploys
            .patch(
                "web",
                &PatchParams::apply("t").validation_strict(),
                &Patch::Apply(&typo),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!((strict.code, strict.reason.as_str()), (400, "BadRequest"));
    assert_eq!(
        strict.message,
        ".spec.replicass: field not declared in schema, .spec.template.spec.containers[0].imagee: field not declared in schema"
    );
    // Without Strict the unknown fields are dropped (with Warning headers) and the rest applies.
    let applied = deploys
        .patch("web", &PatchParams::apply("t"), &Patch::Apply(&typo))
        .await
        .unwrap();
    let stored = serde_json::to_value(&applied).unwrap();
    assert!(stored["spec"].get("replicass").is_none());
    assert!(
        stored["spec"]["template"]["spec"]["containers"][0]
            .get("imagee")
            .is_none()
    );
    assert_eq!(
        stored["spec"]["replicas"], 1,
        "defaulted, the typo did not set it"
    );

    let wrong_type = json!({"spec": {"replicas": "three"}});
    let err = api_error(
        deploys
            .patch("web", &PatchParams::default(), &Patch::Merge(&wrong_type))
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 400);
    assert!(
        err.message
            .starts_with("Deployment in version \"v1\" cannot be handled as a Deployment: "),
        "{}",
        err.message
    );
}

#[tokio::test]
async fn reapplying_an_unchanged_configuration_is_a_no_op() {
    let server = Server::start().await.unwrap();
    let cms: Api<ConfigMap> = Api::default_namespaced(server.client().await);
    let config = json!({"apiVersion": "v1", "kind": "ConfigMap",
        "metadata": {"name": "same", "labels": {"a": "b"}}, "data": {"k": "v"}});
    let first = cms
        .patch(
            "same",
            &PatchParams::apply("rudder"),
            &Patch::Apply(&config),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = cms
        .patch(
            "same",
            &PatchParams::apply("rudder"),
            &Patch::Apply(&config),
        )
        .await
        .unwrap();
    assert_eq!(
        first.metadata.resource_version,
        again.metadata.resource_version
    );
    assert_eq!(first.metadata.managed_fields, again.metadata.managed_fields);
    let mut changed = config.clone();
    changed["data"]["k"] = json!("w");
    let third = cms
        .patch(
            "same",
            &PatchParams::apply("rudder"),
            &Patch::Apply(&changed),
        )
        .await
        .unwrap();
    assert_ne!(
        third.metadata.resource_version,
        again.metadata.resource_version
    );
}

#[tokio::test]
async fn custom_resources_are_pruned_and_validated_against_their_crd_schema() {
    let server = Server::start().await.unwrap();
    let client = server.client().await;
    let crds: Api<
        k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
    > = Api::all(client.clone());
    let crd = serde_json::from_value(json!({"metadata": {"name": "widgets.example.com"},
        "spec": {"group": "example.com", "scope": "Namespaced",
            "names": {"plural": "widgets", "kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "storage": true,
                "schema": {"openAPIV3Schema": {"type": "object", "properties": {
                    "spec": {"type": "object", "required": ["size"], "properties": {
                        "size": {"type": "integer", "minimum": 1},
                        "color": {"type": "string", "enum": ["red", "blue"]}}}}}}}]}}))
    .unwrap();
    crds.create(&PostParams::default(), &crd).await.unwrap();
    let ar = kube::api::ApiResource {
        group: "example.com".into(),
        version: "v1".into(),
        api_version: "example.com/v1".into(),
        kind: "Widget".into(),
        plural: "widgets".into(),
    };
    let widgets: Api<kube::api::DynamicObject> = Api::namespaced_with(client, "default", &ar);
    let widget = |spec: serde_json::Value| -> kube::api::DynamicObject {
        serde_json::from_value(json!({"apiVersion": "example.com/v1", "kind": "Widget",
            "metadata": {"name": "w"}, "spec": spec}))
        .unwrap()
    };
    let invalid = api_error(
        widgets
            .create(
                &PostParams::default(),
                &widget(json!({"size": "big", "color": "pink"})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!((invalid.code, invalid.reason.as_str()), (422, "Invalid"));
    assert_eq!(
        invalid.message,
        "Widget.example.com \"w\" is invalid: [spec.color: Unsupported value: \"pink\": supported values: \"red\", \"blue\", spec.size: Invalid value: \"string\": spec.size in body must be of type integer: \"string\"]"
    );
    let created = widgets
        .create(
            &PostParams::default(),
            &widget(json!({"size": 2, "sise": 3})),
        )
        .await
        .unwrap();
    assert_eq!(
        created.data["spec"],
        json!({"size": 2}),
        "unknown fields are pruned"
    );
    let strict = api_error(
        widgets
            .patch(
                "w",
                &PatchParams::apply("t").validation_strict(),
                &Patch::Apply(json!({"apiVersion": "example.com/v1", "kind": "Widget",
                    "metadata": {"name": "w"}, "spec": {"size": 2, "sise": 3}})),
            )
            .await
            .unwrap_err(),
    );
    assert_eq!(strict.message, ".spec.sise: field not declared in schema");
}

#[tokio::test]
async fn size_limits_match_the_apiserver() {
    use k8s_openapi::ByteString;
    use k8s_openapi::api::core::v1::Secret;
    let server = Server::start().await.unwrap();
    let client = server.client().await;
    let secrets: Api<Secret> = Api::default_namespaced(client.clone());
    let secret = |bytes: usize| Secret {
        metadata: kube::api::ObjectMeta {
            name: Some("big".into()),
            ..Default::default()
        },
        data: Some([("blob".to_string(), ByteString(vec![7u8; bytes]))].into()),
        ..Default::default()
    };
    secrets
        .create(&PostParams::default(), &secret(1_048_576))
        .await
        .expect("exactly 1 MiB fits");
    secrets
        .delete("big", &DeleteParams::default())
        .await
        .unwrap();
    let too_big = api_error(
        secrets
            .create(&PostParams::default(), &secret(1_048_577))
            .await
            .unwrap_err(),
    );
    assert_eq!(too_big.code, 422);
    assert_eq!(
        too_big.message,
        "Secret \"big\" is invalid: data: Too long: may not be more than 1048576 bytes"
    );
    let cms: Api<ConfigMap> = Api::default_namespaced(client);
    let mut annotated = cm("annotated", json!({}));
    annotated.metadata.annotations = Some([("huge".to_string(), "a".repeat(262_144))].into());
    let err = api_error(
        cms.create(&PostParams::default(), &annotated)
            .await
            .unwrap_err(),
    );
    assert_eq!(err.code, 422);
    assert!(
        err.message.contains("metadata.annotations: Too long"),
        "{}",
        err.message
    );
    let body = api_error(
        secrets
            .create(&PostParams::default(), &secret(3 * 1024 * 1024))
            .await
            .unwrap_err(),
    );
    assert_eq!(
        (body.code, body.reason.as_str()),
        (413, "RequestEntityTooLarge")
    );
}

//! Fidelity: the real kubectl v1.35.2 drives kubesim through discovery, server-side apply,
//! get, diff, field-manager conflicts, errors and delete, and sees what a real cluster shows.

mod common;

use common::{Run, peers_bin, run};
use kubesim::{Server, User};
use serde_json::Value;
use std::path::PathBuf;

const MANIFEST: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web, tier: front}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  selector: {app: web}
  ports: [{port: 80, targetPort: 80}]
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {color: blue, size: large}
---
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.com}
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema:
      openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}
---
apiVersion: example.com/v1
kind: Widget
metadata: {name: gizmo}
spec: {size: 3}
"#;

struct Kubectl {
    bin: PathBuf,
    kubeconfig: PathBuf,
    dir: tempfile::TempDir,
}

impl Kubectl {
    async fn run(&self, args: &[&str]) -> Run {
        run(&self.bin, &self.kubeconfig, args, None).await
    }

    /// Writes a manifest file and returns its path.
    fn manifest(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).expect("write manifest");
        path.to_string_lossy().to_string()
    }

    async fn get_json(&self, args: &[&str]) -> Value {
        let mut full = vec!["get"];
        full.extend_from_slice(args);
        full.extend_from_slice(&["-o", "json"]);
        let out = self.run(&full).await;
        out.ok();
        serde_json::from_str(&out.stdout).expect("kubectl prints JSON")
    }
}

async fn kubectl_for(server: &Server) -> Option<Kubectl> {
    let bin = peers_bin()?.join("kubectl");
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("config");
    server
        .write_kubeconfig(&kubeconfig)
        .expect("write kubeconfig");
    Some(Kubectl {
        bin,
        kubeconfig,
        dir,
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_resources_lists_the_built_in_kinds_with_scope_and_short_names() {
    let server = Server::start().await.expect("server starts");
    let Some(k) = kubectl_for(&server).await else {
        return;
    };
    let out = k.run(&["api-resources"]).await;
    out.ok();
    let line = |name: &str| {
        out.stdout
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("{name} missing from:\n{}", out.stdout))
            .split_whitespace()
            .collect::<Vec<_>>()
    };
    assert_eq!(
        line("deployments"),
        vec!["deployments", "deploy", "apps/v1", "true", "Deployment"]
    );
    assert_eq!(
        line("namespaces"),
        vec!["namespaces", "ns", "v1", "false", "Namespace"]
    );
    assert_eq!(
        line("customresourcedefinitions"),
        vec![
            "customresourcedefinitions",
            "crd,crds",
            "apiextensions.k8s.io/v1",
            "false",
            "CustomResourceDefinition"
        ]
    );
    let v = k.run(&["version"]).await;
    v.ok();
    assert!(v.stdout.contains("Server Version: v1.35.2"), "{}", v.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_side_apply_get_reapply_conflict_diff_and_delete() {
    let server = Server::start().await.expect("server starts");
    let Some(k) = kubectl_for(&server).await else {
        return;
    };
    let file = k.manifest("app.yaml", MANIFEST);

    // As against a real cluster, the custom resource cannot be mapped until its CRD exists.
    let first = k.run(&["apply", "--server-side", "-f", &file]).await;
    assert_eq!(first.code, 1, "{}", first.stderr);
    assert!(
        first
            .stdout
            .contains("deployment.apps/web serverside-applied"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains(
            "customresourcedefinition.apiextensions.k8s.io/widgets.example.com serverside-applied"
        ),
        "{}",
        first.stdout
    );
    assert!(
        first.stderr.contains("ensure CRDs are installed first"),
        "{}",
        first.stderr
    );
    let second = k.run(&["apply", "--server-side", "-f", &file]).await;
    second.ok();
    assert!(
        second
            .stdout
            .contains("widget.example.com/gizmo serverside-applied"),
        "{}",
        second.stdout
    );

    // get -o yaml shows what was applied plus the server's defaults and metadata.
    let yaml = k.run(&["get", "deployment", "web", "-o", "yaml"]).await;
    yaml.ok();
    let deploy: Value = serde_yaml::from_str(&yaml.stdout).expect("YAML output");
    assert_eq!(deploy["spec"]["replicas"], 2);
    assert_eq!(deploy["metadata"]["labels"]["tier"], "front");
    assert_eq!(deploy["metadata"]["generation"], 1);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.27"
    );
    assert_eq!(deploy["spec"]["strategy"]["type"], "RollingUpdate");
    assert!(
        deploy["metadata"]["uid"]
            .as_str()
            .is_some_and(|u| u.len() == 36)
    );
    let svc = k.get_json(&["service", "web"]).await;
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10.96."))
    );
    let widget = k.get_json(&["wd", "gizmo"]).await;
    assert_eq!(widget["spec"]["size"], 3);
    let crd = k.get_json(&["crd", "widgets.example.com"]).await;
    let established = crd["status"]["conditions"]
        .as_array()
        .expect("conditions")
        .iter()
        .any(|c| c["type"] == "Established" && c["status"] == "True");
    assert!(established, "{crd}");

    // Re-applying without the tier label removes it; changing the image bumps generation.
    let changed = MANIFEST
        .replace("labels: {app: web, tier: front}", "labels: {app: web}")
        .replace("nginx:1.27", "nginx:1.28");
    let file2 = k.manifest("app2.yaml", &changed);
    k.run(&["apply", "--server-side", "-f", &file2]).await.ok();
    let deploy = k.get_json(&["deployment", "web"]).await;
    assert!(
        deploy["metadata"]["labels"].get("tier").is_none(),
        "{}",
        deploy["metadata"]
    );
    assert_eq!(deploy["metadata"]["generation"], 2);
    assert_eq!(
        deploy["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28"
    );

    // A second field manager changing replicas conflicts until it forces.
    let scaled = changed.replace("replicas: 2", "replicas: 5");
    let file3 = k.manifest("app3.yaml", &scaled);
    let conflict = k
        .run(&[
            "apply",
            "--server-side",
            "--field-manager=other",
            "-f",
            &file3,
        ])
        .await;
    assert_eq!(conflict.code, 1);
    assert!(
        conflict
            .stderr
            .contains("Apply failed with 1 conflict: conflict with \"kubectl\": .spec.replicas"),
        "{}",
        conflict.stderr
    );
    assert_eq!(
        k.get_json(&["deployment", "web"]).await["spec"]["replicas"],
        2
    );
    k.run(&[
        "apply",
        "--server-side",
        "--field-manager=other",
        "--force-conflicts",
        "-f",
        &file3,
    ])
    .await
    .ok();
    let deploy = k
        .get_json(&["deployment", "web", "--show-managed-fields"])
        .await;
    assert_eq!(deploy["spec"]["replicas"], 5);
    let managers: Vec<&str> = deploy["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| m["manager"].as_str().unwrap())
        .collect();
    assert!(
        managers.contains(&"other") && managers.contains(&"kubectl"),
        "{managers:?}"
    );

    // diff: nothing to show for the live manifest, the change for a new image. The scale
    // to 5 is still rolling out; wait for it, or status changes race the diff (as they
    // would against a real cluster).
    let settled = k
        .run(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert_eq!(settled.code, 0, "{}{}", settled.stdout, settled.stderr);
    let same = k
        .run(&[
            "diff",
            "--server-side",
            "--field-manager=other",
            "-f",
            &file3,
        ])
        .await;
    assert_eq!(same.code, 0, "{}{}", same.stdout, same.stderr);
    let newer = k.manifest("app4.yaml", &scaled.replace("nginx:1.28", "nginx:1.29"));
    let diff = k
        .run(&[
            "diff",
            "--server-side",
            "--field-manager=other",
            "--force-conflicts",
            "-f",
            &newer,
        ])
        .await;
    assert_eq!(diff.code, 1, "{}", diff.stderr);
    let changed_line = |sign: char, text: &str| {
        diff.stdout.lines().any(|l| {
            l.starts_with(sign)
                && !l.starts_with("---")
                && !l.starts_with("+++")
                && l.contains(text)
        })
    };
    assert!(changed_line('-', "image: nginx:1.28"), "{}", diff.stdout);
    assert!(changed_line('+', "image: nginx:1.29"), "{}", diff.stdout);
    assert!(
        !changed_line('-', "replicas"),
        "replicas are unchanged: {}",
        diff.stdout
    );
    assert_eq!(
        k.get_json(&["deployment", "web"]).await["spec"]["template"]["spec"]["containers"][0]["image"],
        "nginx:1.28",
        "diff is a dry run"
    );

    // delete removes everything, including the custom resource.
    let deleted = k.run(&["delete", "-f", &file]).await;
    deleted.ok();
    assert!(
        deleted.stdout.contains("deployment.apps \"web\" deleted"),
        "{}",
        deleted.stdout
    );
    assert!(
        deleted
            .stdout
            .contains("widget.example.com \"gizmo\" deleted"),
        "{}",
        deleted.stdout
    );
    let gone = k.run(&["get", "deployment", "web"]).await;
    assert_eq!(gone.code, 1);
    assert!(
        gone.stderr
            .contains("Error from server (NotFound): deployments.apps \"web\" not found"),
        "{}",
        gone.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubectl_reports_invalid_forbidden_and_unauthorized_like_a_real_cluster() {
    let server = Server::builder()
        .user(User {
            name: "bob".into(),
            token: "bob-token".into(),
            namespaces: Some(vec!["team-a".into()]),
            verbs: Some(vec!["get".into(), "list".into()]),
        })
        .start()
        .await
        .expect("server starts");
    let Some(k) = kubectl_for(&server).await else {
        return;
    };
    let bad = k.manifest(
        "bad.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad_Name}\ndata: {a: b}\n",
    );
    let invalid = k.run(&["apply", "--server-side", "-f", &bad]).await;
    assert_eq!(invalid.code, 1);
    assert!(
        invalid.stderr.contains("ConfigMap \"Bad_Name\" is invalid: metadata.name: Invalid value: \"Bad_Name\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters"),
        "{}",
        invalid.stderr
    );

    let typo = k.manifest(
        "typo.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: typo}\ndata: {a: b}\ndatta: {c: d}\n",
    );
    let strict = k.run(&["apply", "--server-side", "-f", &typo]).await;
    assert_eq!(strict.code, 1);
    assert!(
        strict
            .stderr
            .contains("Error from server (BadRequest): .datta: field not declared in schema"),
        "{}",
        strict.stderr
    );
    let warned = k.run(&["apply", "--validate=warn", "-f", &typo]).await;
    warned.ok();
    assert!(
        warned.stderr.contains("Warning: unknown field \"datta\""),
        "{}",
        warned.stderr
    );
    let stored = k.get_json(&["configmap", "typo"]).await;
    assert!(stored.get("datta").is_none(), "unknown fields are dropped");

    let forbidden = k
        .run(&[
            "--context",
            "kubesim-bob",
            "get",
            "configmaps",
            "-n",
            "kube-system",
        ])
        .await;
    assert_eq!(forbidden.code, 1);
    assert!(
        forbidden.stderr.contains(
            "Error from server (Forbidden): configmaps is forbidden: User \"bob\" cannot list resource \"configmaps\" in API group \"\" in the namespace \"kube-system\""
        ),
        "{}",
        forbidden.stderr
    );
    let allowed = k
        .run(&["--context", "kubesim-bob", "get", "configmaps"])
        .await;
    allowed.ok();
    assert!(
        allowed
            .stderr
            .contains("No resources found in team-a namespace."),
        "{}",
        allowed.stderr
    );
    let write = k
        .run(&["--context", "kubesim-bob", "delete", "configmap", "x"])
        .await;
    assert!(
        write.stderr.contains(
            "Error from server (Forbidden): configmaps \"x\" is forbidden: User \"bob\" cannot delete resource \"configmaps\" in API group \"\" in the namespace \"team-a\""
        ),
        "{}",
        write.stderr
    );

    let anonymous = k.run(&["--token", "wrong", "get", "pods"]).await;
    assert_eq!(anonymous.code, 1);
    assert!(
        anonymous
            .stderr
            .contains("error: You must be logged in to the server (Unauthorized)"),
        "{}",
        anonymous.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_waits_for_ready_replicas_and_fails_for_a_crashing_image() {
    let server = Server::builder()
        .controller_delay(std::time::Duration::from_millis(500))
        .start()
        .await
        .expect("server starts");
    let Some(k) = kubectl_for(&server).await else {
        return;
    };
    let file = k.manifest("deploy.yaml", MANIFEST.split("---").next().unwrap());
    k.run(&["apply", "--server-side", "-f", &file]).await.ok();
    let started = std::time::Instant::now();
    let status = k
        .run(&["rollout", "status", "deployment/web", "--timeout", "30s"])
        .await;
    status.ok();
    assert!(
        status
            .stdout
            .contains("deployment \"web\" successfully rolled out"),
        "{}",
        status.stdout
    );
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(400),
        "rollout waited for the simulated pods"
    );
    let deploy = k.get_json(&["deployment", "web"]).await;
    assert_eq!(deploy["status"]["readyReplicas"], 2);
    assert_eq!(deploy["status"]["observedGeneration"], 1);
    let pods = k.get_json(&["pods", "-l", "app=web"]).await;
    assert_eq!(pods["items"].as_array().unwrap().len(), 2);
    let table = k.run(&["get", "deployment", "web"]).await;
    table.ok();
    let header: Vec<&str> = table
        .stdout
        .lines()
        .next()
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(header, ["NAME", "READY", "UP-TO-DATE", "AVAILABLE", "AGE"]);
    let row: Vec<&str> = table
        .stdout
        .lines()
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect();
    assert_eq!(&row[..4], ["web", "2/2", "2", "2"]);

    let scaled = k.run(&["scale", "deployment/web", "--replicas=3"]).await;
    scaled.ok();
    assert!(
        scaled.stdout.contains("deployment.apps/web scaled"),
        "{}",
        scaled.stdout
    );
    k.run(&["rollout", "status", "deployment/web", "--timeout", "30s"])
        .await
        .ok();
    let deploy = k.get_json(&["deployment", "web"]).await;
    assert_eq!(deploy["spec"]["replicas"], 3);
    assert_eq!(deploy["status"]["readyReplicas"], 3);

    k.run(&["set", "image", "deployment/web", "web=nginx:fail"])
        .await
        .ok();
    let stuck = k
        .run(&["rollout", "status", "deployment/web", "--timeout", "2s"])
        .await;
    assert_eq!(stuck.code, 1);
    assert!(
        stuck
            .stdout
            .contains("Waiting for deployment \"web\" rollout to finish"),
        "{}",
        stuck.stdout
    );
    assert!(
        stuck.stderr.contains("timed out waiting for the condition"),
        "{}",
        stuck.stderr
    );
    let crashing = k.run(&["get", "pods", "-l", "app=web"]).await;
    let crashed_pod = crashing
        .stdout
        .lines()
        .find(|l| l.contains("CrashLoopBackOff"))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("a crash-looping pod in:\n{}", crashing.stdout))
        .to_string();
    let logs = k.run(&["logs", &crashed_pod]).await;
    logs.ok();
    assert!(logs.stdout.contains("simulated crash"), "{}", logs.stdout);
    let history = k.run(&["rollout", "history", "deployment/web"]).await;
    history.ok();
    assert_eq!(
        history
            .stdout
            .lines()
            .filter(|l| l.starts_with(char::is_numeric))
            .count(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn show_managed_fields_prints_the_controller_managers_entries_as_a_real_cluster_does() {
    let server = Server::builder()
        .controller_delay(std::time::Duration::from_millis(100))
        .start()
        .await
        .expect("server starts");
    let Some(k) = kubectl_for(&server).await else {
        return;
    };
    let deployment = |image: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: 2\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers: [{{name: web, image: \"{image}\"}}]\n"
        )
    };
    let apply = |file: &str| {
        vec![
            "apply".to_string(),
            "--server-side".into(),
            "--field-manager=helm".into(),
            "-f".into(),
            file.to_string(),
        ]
    };
    let first = k.manifest("v1.yaml", &deployment("nginx:1.27"));
    k.run(&apply(&first).iter().map(String::as_str).collect::<Vec<_>>())
        .await
        .ok();
    k.run(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await
        .ok();
    let yaml = k
        .run(&[
            "get",
            "deploy",
            "web",
            "-o",
            "yaml",
            "--show-managed-fields",
        ])
        .await;
    yaml.ok();
    // Entry by entry, the layout a real cluster prints (kubectl sorts the keys).
    let revision = "  - apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:metadata:
        f:annotations:
          .: {}
          f:deployment.kubernetes.io/revision: {}
    manager: kube-controller-manager
    operation: Update
    time: \"";
    assert!(yaml.stdout.contains(revision), "{}", yaml.stdout);
    let status = "  - apiVersion: apps/v1
    fieldsType: FieldsV1
    fieldsV1:
      f:status:
        f:availableReplicas: {}
        f:conditions:
          .: {}
          k:{\"type\":\"Available\"}:
            .: {}
            f:lastTransitionTime: {}
            f:lastUpdateTime: {}
            f:message: {}
            f:reason: {}
            f:status: {}
            f:type: {}
          k:{\"type\":\"Progressing\"}:
            .: {}
            f:lastTransitionTime: {}
            f:lastUpdateTime: {}
            f:message: {}
            f:reason: {}
            f:status: {}
            f:type: {}
        f:observedGeneration: {}
        f:readyReplicas: {}
        f:replicas: {}
        f:updatedReplicas: {}
    manager: kube-controller-manager
    operation: Update
    subresource: status
    time: \"";
    assert!(yaml.stdout.contains(status), "{}", yaml.stdout);
    assert!(
        yaml.stdout
            .contains("    manager: helm\n    operation: Apply\n"),
        "{}",
        yaml.stdout
    );

    // helm's next apply does not conflict with the controller manager.
    let second = k.manifest("v2.yaml", &deployment("nginx:1.28"));
    let out = k
        .run(
            &apply(&second)
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>(),
        )
        .await;
    out.ok();
    k.run(&["rollout", "status", "deployment/web", "--timeout=30s"])
        .await
        .ok();
    let deploy = k
        .get_json(&["deploy", "web", "--show-managed-fields"])
        .await;
    assert_eq!(
        deploy["metadata"]["annotations"]["deployment.kubernetes.io/revision"],
        "2"
    );
    let managers: Vec<String> = deploy["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .map(|m| {
            format!(
                "{}/{}/{}",
                m["manager"].as_str().unwrap_or(""),
                m["operation"].as_str().unwrap_or(""),
                m["subresource"].as_str().unwrap_or("")
            )
        })
        .collect();
    assert_eq!(
        managers,
        [
            "helm/Apply/",
            "kube-controller-manager/Update/",
            "kube-controller-manager/Update/status"
        ],
        "{deploy}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_watch_prints_table_rows_for_each_event() {
    let server = Server::start().await.expect("server starts");
    let Some(k) = kubectl_for(&server).await else {
        return;
    };
    let cms: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::default_namespaced(server.client().await);
    let writer = tokio::spawn(async move {
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let cm = serde_json::from_value(
            serde_json::json!({"metadata": {"name": "watched", "labels": {"watched": "yes"}},
                "data": {"a": "1", "b": "2"}}),
        )
        .unwrap();
        cms.create(&Default::default(), &cm).await.unwrap();
        cms.delete("watched", &Default::default()).await.unwrap();
    });
    // kubectl get -w never exits by itself: bound it with coreutils' timeout.
    let out = run(
        std::path::Path::new("timeout"),
        &k.kubeconfig,
        &[
            "7",
            k.bin.to_str().unwrap(),
            "get",
            "configmaps",
            "-l",
            "watched=yes",
            "--watch",
            "--output-watch-events",
        ],
        None,
    )
    .await;
    writer.await.unwrap();
    let rows: Vec<Vec<&str>> = out
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(rows[0], ["EVENT", "NAME", "DATA", "AGE"], "{}", out.stdout);
    assert_eq!(&rows[1][..3], ["ADDED", "watched", "2"], "{}", out.stdout);
    assert_eq!(&rows[2][..3], ["DELETED", "watched", "2"], "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_status_follows_statefulsets_and_daemonsets() {
    let server = Server::builder()
        .controller_delay(std::time::Duration::from_millis(300))
        .start()
        .await
        .expect("server starts");
    let Some(k) = kubectl_for(&server).await else {
        return;
    };
    let file = k.manifest(
        "workloads.yaml",
        r#"
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: db}
spec:
  replicas: 2
  serviceName: db
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec: {containers: [{name: db, image: "postgres:16"}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: agent}
spec:
  selector: {matchLabels: {app: agent}}
  template:
    metadata: {labels: {app: agent}}
    spec: {containers: [{name: a, image: "agent:1"}]}
"#,
    );
    k.run(&["apply", "--server-side", "-f", &file]).await.ok();
    let sts = k
        .run(&["rollout", "status", "statefulset/db", "--timeout", "20s"])
        .await;
    sts.ok();
    assert!(
        sts.stdout
            .contains("partitioned roll out complete: 2 new pods have been updated"),
        "{}",
        sts.stdout
    );
    let ds = k
        .run(&["rollout", "status", "daemonset/agent", "--timeout", "20s"])
        .await;
    ds.ok();
    assert!(
        ds.stdout
            .contains("daemon set \"agent\" successfully rolled out"),
        "{}",
        ds.stdout
    );
    let pods = k.get_json(&["pods", "-l", "app=db"]).await;
    let mut names: Vec<&str> = pods["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["metadata"]["name"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["db-0", "db-1"]);
}

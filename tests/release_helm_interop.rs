//! helm v4.1.4 and rudder on the same kubesim, both directions: helm's `list`, `history`,
//! `status`, `get manifest`, `get values` and `rollback` work on releases rudder wrote, and
//! rudder's `history`, `get` and `upgrade` work on a release helm installed (taking it over).
//! Also the seed form `rudder upgrade -nNS NAME . -f values.yaml` run inside a chart directory.

mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run(program: &Path, args: &[&str], cwd: Option<&Path>, kubeconfig: &Path) -> Out {
    let home = tempfile::tempdir().unwrap();
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("KUBECONFIG", kubeconfig)
        .env("HELM_CONFIG_HOME", home.path().join("config"))
        .env("HELM_CACHE_HOME", home.path().join("cache"))
        .env("HELM_DATA_HOME", home.path().join("data"))
        .env_remove("RUDDER_NAMESPACE");
    if let Some(dir) = cwd {
        cmd.current_dir(dir);
    }
    let out = cmd.output().expect("runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(out: Out, what: &str) -> String {
    assert_eq!(
        out.code, 0,
        "{what} failed:\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

fn rudder() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_rudder"))
}

async fn configmap(server: &kubesim::Server, ns: &str, name: &str) -> Option<Value> {
    // kube's TLS stack needs a process-wide provider when several are linked in.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api: kube::Api<k8s_openapi::api::core::v1::ConfigMap> =
        kube::Api::namespaced(server.client().await, ns);
    api.get_opt(name)
        .await
        .unwrap()
        .map(|c| serde_json::to_value(c).unwrap())
}

#[tokio::test]
async fn helm_reads_and_rolls_back_releases_rudder_wrote() {
    let helm = peers::helm();
    let server = kubesim::Server::start().await.unwrap();
    let kc = server.kubeconfig_path().to_path_buf();
    let chart = root().join("testdata/release/app");
    let chart = chart.to_str().unwrap();
    ok(
        run(
            &rudder(),
            &["install", "web", chart, "--set", "greeting=hi"],
            None,
            &kc,
        ),
        "rudder install",
    );
    ok(
        run(
            &rudder(),
            &["upgrade", "web", chart, "--set", "extra=true"],
            None,
            &kc,
        ),
        "rudder upgrade",
    );

    let list: Value = serde_json::from_str(&ok(
        run(&helm, &["list", "-o", "json"], None, &kc),
        "helm list",
    ))
    .unwrap();
    let entry = &list[0];
    assert_eq!(entry["name"], "web");
    assert_eq!(entry["namespace"], "default");
    assert_eq!(entry["revision"], "2");
    assert_eq!(entry["status"], "deployed");
    assert_eq!(entry["chart"], "app-1.0.0");
    assert_eq!(entry["app_version"], "2.0");

    let history: Value = serde_json::from_str(&ok(
        run(&helm, &["history", "web", "-o", "json"], None, &kc),
        "helm history",
    ))
    .unwrap();
    let summary: Vec<(i64, String, String)> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["revision"].as_i64().unwrap(),
                h["status"].as_str().unwrap().to_string(),
                h["description"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        vec![
            (1, "superseded".into(), "Install complete".into()),
            (2, "deployed".into(), "Upgrade complete".into()),
        ]
    );
    // rudder's own history, as JSON, says the same.
    let ours: Value = serde_json::from_str(&ok(
        run(&rudder(), &["history", "web", "-o", "json"], None, &kc),
        "rudder history",
    ))
    .unwrap();
    assert_eq!(ours.as_array().unwrap().len(), 2);
    assert_eq!(ours[1]["status"], history[1]["status"]);
    assert_eq!(ours[1]["chart"], history[1]["chart"]);

    let status = ok(run(&helm, &["status", "web"], None, &kc), "helm status");
    assert!(status.contains("STATUS: deployed"), "{status}");
    assert!(status.contains("REVISION: 2"), "{status}");
    assert!(status.contains("web says hello."), "{status}");

    let helm_manifest = ok(
        run(&helm, &["get", "manifest", "web"], None, &kc),
        "helm get manifest",
    );
    let our_manifest = ok(
        run(&rudder(), &["get", "manifest", "web"], None, &kc),
        "rudder get manifest",
    );
    assert!(helm_manifest.contains("name: web-extra"));
    assert_eq!(helm_manifest.trim_end(), our_manifest.trim_end());

    let values: Value = serde_json::from_str(&ok(
        run(&helm, &["get", "values", "web", "-o", "json"], None, &kc),
        "helm get values",
    ))
    .unwrap();
    assert_eq!(values, json!({"extra": true}));
    let old_values: Value = serde_json::from_str(&ok(
        run(
            &helm,
            &["get", "values", "web", "--revision", "1", "-o", "json"],
            None,
            &kc,
        ),
        "helm get values --revision 1",
    ))
    .unwrap();
    assert_eq!(old_values, json!({"greeting": "hi"}));

    // helm rolls rudder's release back (taking the fields rudder's field manager owns, as
    // any second manager must); rudder reads helm's new revision.
    ok(
        run(
            &helm,
            &["rollback", "web", "1", "--force-conflicts"],
            None,
            &kc,
        ),
        "helm rollback",
    );
    assert!(configmap(&server, "default", "web-extra").await.is_none());
    let ours: Value = serde_json::from_str(&ok(
        run(&rudder(), &["history", "web", "-o", "json"], None, &kc),
        "rudder history after helm rollback",
    ))
    .unwrap();
    assert_eq!(ours[2]["description"], "Rollback to 1");
    assert_eq!(ours[2]["status"], "deployed");
}

#[tokio::test]
async fn rudder_takes_over_a_release_helm_installed() {
    let helm = peers::helm();
    let server = kubesim::Server::start().await.unwrap();
    let kc = server.kubeconfig_path().to_path_buf();
    let helm_chart = root().join("testdata/release/helm-app");
    ok(
        run(
            &helm,
            &[
                "install",
                "legacy",
                helm_chart.to_str().unwrap(),
                "--set",
                "greeting=from-helm",
            ],
            None,
            &kc,
        ),
        "helm install",
    );
    let history = ok(
        run(&rudder(), &["history", "legacy"], None, &kc),
        "rudder history",
    );
    assert!(history.starts_with("REVISION\tUPDATED"), "{history}");
    assert!(history.contains("app-0.9.0"), "{history}");
    assert!(history.contains("Install complete"), "{history}");
    let values = ok(
        run(&rudder(), &["get", "values", "legacy"], None, &kc),
        "rudder get values",
    );
    assert_eq!(values, "USER-SUPPLIED VALUES:\ngreeting: from-helm\n");

    // rudder upgrades it with its own chart: helm's values are reused (no values given),
    // objects helm created are taken over, the one the new chart lacks is pruned.
    let chart = root().join("testdata/release/app");
    let out = ok(
        run(
            &rudder(),
            &["upgrade", "legacy", chart.to_str().unwrap()],
            None,
            &kc,
        ),
        "rudder upgrade of a helm release",
    );
    assert!(
        out.starts_with("Release \"legacy\" has been upgraded."),
        "{out}"
    );
    let main = configmap(&server, "default", "legacy-main").await.unwrap();
    assert_eq!(main["data"]["greeting"], "from-helm");
    assert_eq!(main["data"]["revision"], "2");
    assert!(
        configmap(&server, "default", "legacy-helm-only")
            .await
            .is_none()
    );

    let helm_history: Value = serde_json::from_str(&ok(
        run(&helm, &["history", "legacy", "-o", "json"], None, &kc),
        "helm history",
    ))
    .unwrap();
    assert_eq!(helm_history[0]["status"], "superseded");
    assert_eq!(helm_history[1]["status"], "deployed");
    assert_eq!(helm_history[1]["chart"], "app-1.0.0");
}

#[tokio::test]
async fn the_seed_command_upgrades_from_inside_a_chart_directory() {
    let server = kubesim::Server::start().await.unwrap();
    let kc = server.kubeconfig_path().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let chart_dir = dir.path().join("arcadia");
    copy_dir(&root().join("testdata/release/app"), &chart_dir);
    std::fs::write(chart_dir.join("values.yaml"), "greeting: seeded\n").unwrap();
    ok(
        run(
            &rudder(),
            &[
                "install",
                "-nkubeagi-system",
                "--create-namespace",
                "arcadia",
                ".",
            ],
            Some(&chart_dir),
            &kc,
        ),
        "install",
    );
    std::fs::write(chart_dir.join("values.yaml"), "greeting: upgraded\n").unwrap();
    let out = ok(
        run(
            &rudder(),
            &[
                "upgrade",
                "-nkubeagi-system",
                "arcadia",
                ".",
                "-f",
                "values.yaml",
            ],
            Some(&chart_dir),
            &kc,
        ),
        "the seed upgrade",
    );
    assert!(out.contains("NAMESPACE: kubeagi-system"), "{out}");
    assert!(out.contains("REVISION: 2"), "{out}");
    let main = configmap(&server, "kubeagi-system", "arcadia-main")
        .await
        .unwrap();
    assert_eq!(main["data"]["greeting"], "upgraded");
    let list = ok(run(&rudder(), &["list", "-A"], None, &kc), "list -A");
    assert!(list.contains("arcadia"), "{list}");
    assert!(list.contains("kubeagi-system"), "{list}");

    let fresh = ok(
        run(
            &rudder(),
            &["upgrade", "--install", "-nkubeagi-system", "fresh", "."],
            Some(&chart_dir),
            &kc,
        ),
        "upgrade --install of a new release",
    );
    assert!(
        fresh.starts_with("Release \"fresh\" does not exist. Installing it now.\nNAME: fresh\n"),
        "{fresh}"
    );
    assert!(fresh.contains("DESCRIPTION: Install complete"), "{fresh}");

    // Failures are one clear sentence on stderr with a non-zero exit.
    let missing = run(
        &rudder(),
        &["upgrade", "-nkubeagi-system", "nothere", "."],
        Some(&chart_dir),
        &kc,
    );
    assert_eq!(missing.code, 1);
    assert_eq!(
        missing.stderr.trim(),
        "Error: UPGRADE FAILED: \"nothere\" has no deployed releases in namespace \"kubeagi-system\""
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

#[tokio::test]
async fn helm_lists_a_release_too_big_for_one_secret() {
    let helm = peers::helm();
    let server = kubesim::Server::start().await.unwrap();
    let kc = server.kubeconfig_path().to_path_buf();
    // 3 MiB of incompressible ConfigMap data: the record is split across part Secrets and
    // the revision's own Secret keeps a summary helm can read.
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("huge");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: huge\nversion: 2.0.0\n",
    )
    .unwrap();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..4 {
        let mut blob = String::new();
        while blob.len() < 786_432 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            blob.push_str(&format!("{state:016x}"));
        }
        std::fs::write(
            chart.join(format!("templates/c{i}.yaml")),
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: huge-{i}\ndata:\n  blob: {blob}\n"),
        )
        .unwrap();
    }
    ok(
        run(
            &rudder(),
            &["install", "huge", chart.to_str().unwrap()],
            None,
            &kc,
        ),
        "rudder install of a huge release",
    );
    let list: Value = serde_json::from_str(&ok(
        run(&helm, &["list", "-o", "json"], None, &kc),
        "helm list",
    ))
    .unwrap();
    assert_eq!(list[0]["name"], "huge");
    assert_eq!(list[0]["chart"], "huge-2.0.0");
    assert_eq!(list[0]["status"], "deployed");
    let status = ok(run(&helm, &["status", "huge"], None, &kc), "helm status");
    assert!(status.contains("STATUS: deployed"), "{status}");
    // rudder itself reads the whole record back.
    let manifest = ok(
        run(&rudder(), &["get", "manifest", "huge"], None, &kc),
        "rudder get manifest",
    );
    assert!(manifest.len() > 3_000_000);
    // helm cannot act on the summary: its uninstall and rollback stop, naming why, and
    // change nothing.
    let out = run(&helm, &["uninstall", "huge"], None, &kc);
    assert_ne!(out.code, 0, "helm uninstall of a split release must stop");
    assert!(
        out.stderr.contains("huge-is-too-big-for-helm-use-rudder"),
        "{}",
        out.stderr
    );
    assert!(configmap(&server, "default", "huge-0").await.is_some());
    ok(
        run(
            &rudder(),
            &["upgrade", "huge", chart.to_str().unwrap(), "--set", "x=1"],
            None,
            &kc,
        ),
        "rudder upgrade of a huge release",
    );
    let out = run(&helm, &["rollback", "huge", "1"], None, &kc);
    assert_ne!(out.code, 0, "helm rollback to a split revision must stop");
    assert!(
        out.stderr.contains("huge-is-too-big-for-helm-use-rudder"),
        "{}",
        out.stderr
    );
    // helm left its rollback revision pending; rudder sees it stopped at the guard and
    // takes over at once.
    let history = ok(run(&helm, &["history", "huge"], None, &kc), "helm history");
    assert!(history.contains("pending-rollback"), "{history}");
    ok(
        run(&rudder(), &["uninstall", "huge"], None, &kc),
        "rudder uninstall of a huge release",
    );
    assert!(configmap(&server, "default", "huge-0").await.is_none());
}

#[tokio::test]
async fn helm_rolls_back_and_uninstalls_a_release_split_for_its_chart_files() {
    let helm = peers::helm();
    let server = kubesim::Server::start().await.unwrap();
    let kc = server.kubeconfig_path().to_path_buf();
    // 1.5 MiB of incompressible chart files make the record too big for one Secret while
    // the manifest stays small: helm gets a summary without the files that it acts on.
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("bundle");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::create_dir_all(chart.join("files")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: bundle\nversion: 1.0.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "greeting: hello\n").unwrap();
    std::fs::write(
        chart.join("templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bundle\ndata:\n  greeting: {{ .Values.greeting }}\n",
    )
    .unwrap();
    let mut state: u64 = 0x1234_5678_9abc_def1;
    let blob: Vec<u8> = (0..1_600_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    std::fs::write(chart.join("files/blob.bin"), blob).unwrap();
    let chart = chart.to_str().unwrap();
    ok(
        run(&rudder(), &["install", "bundle", chart], None, &kc),
        "rudder install",
    );
    ok(
        run(
            &rudder(),
            &["upgrade", "bundle", chart, "--set", "greeting=bye"],
            None,
            &kc,
        ),
        "rudder upgrade",
    );
    let live = configmap(&server, "default", "bundle").await.unwrap();
    assert_eq!(live["data"]["greeting"], "bye");
    ok(
        run(
            &helm,
            &["rollback", "bundle", "1", "--force-conflicts"],
            None,
            &kc,
        ),
        "helm rollback",
    );
    let live = configmap(&server, "default", "bundle").await.unwrap();
    assert_eq!(live["data"]["greeting"], "hello");
    let manifest = ok(
        run(&helm, &["get", "manifest", "bundle"], None, &kc),
        "helm get manifest",
    );
    assert!(manifest.contains("greeting: hello"), "{manifest}");
    ok(
        run(&helm, &["uninstall", "bundle"], None, &kc),
        "helm uninstall",
    );
    assert!(configmap(&server, "default", "bundle").await.is_none());
}

#[tokio::test]
async fn rudder_get_and_status_print_what_helm_prints() {
    let helm = peers::helm();
    let server = kubesim::Server::start().await.unwrap();
    let kc = server.kubeconfig_path().to_path_buf();
    let chart = root().join("testdata/release/workload");
    ok(
        run(
            &rudder(),
            &[
                "install",
                "same",
                chart.to_str().unwrap(),
                "--set",
                "replicas=1",
            ],
            None,
            &kc,
        ),
        "rudder install",
    );
    for args in [
        vec!["get", "hooks", "same"],
        vec!["get", "values", "same"],
        vec!["get", "values", "same", "-o", "json"],
        vec!["get", "values", "same", "--all", "-o", "json"],
        vec!["history", "same"],
        vec!["history", "same", "-o", "json"],
        vec!["list", "-o", "json"],
    ] {
        let ours = ok(
            run(&rudder(), &args, None, &kc),
            &format!("rudder {args:?}"),
        );
        let theirs = ok(run(&helm, &args, None, &kc), &format!("helm {args:?}"));
        if args.contains(&"json") {
            let ours: Value = serde_json::from_str(&ours).unwrap();
            let theirs: Value = serde_json::from_str(&theirs).unwrap();
            assert_eq!(ours, theirs, "{args:?}");
        } else {
            assert_eq!(ours, theirs, "{args:?}");
        }
    }
    // status: the same lines helm prints (helm 4 adds the live RESOURCES table).
    let ours = ok(
        run(&rudder(), &["status", "same"], None, &kc),
        "rudder status",
    );
    let theirs = ok(run(&helm, &["status", "same"], None, &kc), "helm status");
    for line in ours.lines() {
        assert!(
            theirs.contains(line),
            "helm's status lacks {line:?}:\n{theirs}"
        );
    }
}

/// Issue: `helm install; helm upgrade; rudder rollback demo 1` failed with "conflict with
/// helm: .spec.replicas" because live Deployments also carry the controller manager's
/// managedFields entries. Only the managers in conflict count now.
#[tokio::test]
async fn rudder_rolls_back_a_helm_deployment_the_controller_manager_touched() {
    let helm = peers::helm();
    let server = kubesim::Server::start().await.unwrap();
    let kc = server.kubeconfig_path().to_path_buf();
    let dir = tempfile::tempdir().unwrap();
    let chart = dir.path().join("demo");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: demo\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "replicaCount: 1\n").unwrap();
    std::fs::write(
        chart.join("templates/deploy.yaml"),
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: demo\nspec:\n  replicas: {{ .Values.replicaCount }}\n  selector:\n    matchLabels: {app: demo}\n  template:\n    metadata:\n      labels: {app: demo}\n    spec:\n      containers:\n        - name: app\n          image: nginx:1.27\n",
    )
    .unwrap();
    let chart = chart.to_str().unwrap();
    ok(
        run(
            &helm,
            &["install", "demo", chart, "--set", "replicaCount=2"],
            None,
            &kc,
        ),
        "helm install",
    );
    ok(
        run(
            &helm,
            &["upgrade", "demo", chart, "--set", "replicaCount=3"],
            None,
            &kc,
        ),
        "helm upgrade",
    );
    ok(
        run(&rudder(), &["rollback", "demo", "1"], None, &kc),
        "rudder rollback of a helm release",
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(server.client().await, "default");
    let live = api.get("demo").await.unwrap();
    assert_eq!(live.spec.unwrap().replicas, Some(2));
}

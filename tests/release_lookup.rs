//! `lookup` in connected renders, against kubesim: install, upgrade, `diff upgrade` and
//! server dry-runs see the live cluster (the object by name, an empty map when it is
//! missing, a `<Kind>List` without a name), `template` and client dry-runs see nothing, a
//! lookup the cluster refuses fails the render naming the object, and renders whose
//! templates wait on lookups finish on any runtime flavour.

mod release_support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use rudder::action::install::{DeployOptions, install};
use rudder::action::lifecycle::DryRun;
use rudder::action::upgrade::upgrade;
use rudder::kube::{ApplyOptions, Cluster, ObjectRef};
use rudder::storage::Storage;
use serde_json::json;

/// The classic chart that keeps a generated password: the Secret's value is reused when it
/// exists. An inventory ConfigMap shows what lookup listings see.
fn keeper_chart(dir: &Path) -> PathBuf {
    let files = [
        ("values.yaml", "password: changeme\n"),
        (
            "templates/secret.yaml",
            r#"{%- set existing = lookup(apiVersion="v1", kind="Secret", namespace=Release.Namespace, name=Release.Name ~ "-auth") %}
apiVersion: v1
kind: Secret
metadata:
  name: {{ Release.Name }}-auth
data:
{%- if existing.data is defined %}
  password: {{ existing.data.password }}
{%- else %}
  password: {{ Values.password | b64enc }}
{%- endif %}
"#,
        ),
        (
            "templates/inventory.yaml",
            r#"{%- set seeds = lookup(apiVersion="v1", kind="ConfigMap", namespace="other") %}
{%- set namespaces = lookup(apiVersion="v1", kind="Namespace") %}
{%- set monitor = lookup(apiVersion="monitoring.coreos.com/v1", kind="ServiceMonitor", namespace=Release.Namespace, name="x") %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ Release.Name }}-inventory
data:
  listKind: {{ seeds.kind | default(value="none") | quote }}
  seeds: "{% for s in seeds.items | default(value=[]) %}{% if s.metadata.name != "kube-root-ca.crt" %}{{ s.kind }}/{{ s.metadata.name }}={{ s.data.color }};{% endif %}{% endfor %}"
  namespaces: "{% for n in namespaces.items | default(value=[]) %}{{ n.metadata.name }};{% endfor %}"
  monitor: "{{ monitor | length }}"
"#,
        ),
    ];
    write_chart(dir, "keeper", files)
}

use release_support::{
    alice, connect_with, deploy_options, quiet_settings, rudder_in_default, run, write_chart,
};

fn deploy(name: &str, chart: &Path, sets: &[&str]) -> DeployOptions {
    deploy_options(name, chart.to_path_buf(), sets, quiet_settings())
}

fn obj(kind: &str, namespace: &str, name: &str) -> ObjectRef {
    ObjectRef {
        api_version: "v1".into(),
        kind: kind.into(),
        namespace: Some(namespace.into()),
        name: name.into(),
    }
}

async fn password(c: &Cluster, name: &str) -> String {
    let secret = c
        .get(&obj("Secret", "default", name))
        .await
        .unwrap()
        .expect("the Secret exists");
    let b64 = secret["data"]["password"].as_str().unwrap();
    String::from_utf8(
        base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

/// Creates namespace `other` holding ConfigMap `seed-a`, for the listing lookups to find.
async fn seed(c: &Cluster) {
    let apply = ApplyOptions::default();
    c.apply(
        &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "other"}}),
        &apply,
    )
    .await
    .unwrap();
    c.apply(
        &json!({"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "seed-a", "namespace": "other"}, "data": {"color": "teal"}}),
        &apply,
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn a_looked_up_password_survives_upgrades_and_diffs_and_listings_see_the_cluster() {
    let (server, c) = release_support::start().await;
    seed(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let chart = keeper_chart(dir.path());

    install(&c, &deploy("vault", &chart, &["password=first"]))
        .await
        .unwrap();
    assert_eq!(password(&c, "vault-auth").await, "first");
    let inventory = c
        .get(&obj("ConfigMap", "default", "vault-inventory"))
        .await
        .unwrap()
        .unwrap();
    // A listing without a name is a `<Kind>List` whose items carry their kind.
    assert_eq!(inventory["data"]["listKind"], "ConfigMapList");
    assert_eq!(inventory["data"]["seeds"], "ConfigMap/seed-a=teal;");
    // Cluster-scoped kinds list everything; a kind the cluster does not serve is empty.
    let namespaces = inventory["data"]["namespaces"].as_str().unwrap();
    for ns in ["default", "kube-system", "other"] {
        assert!(namespaces.contains(&format!("{ns};")), "{namespaces}");
    }
    assert_eq!(inventory["data"]["monitor"], "0");

    // An upgrade with another default keeps the live password.
    let r2 = upgrade(&c, &deploy("vault", &chart, &["password=second"]))
        .await
        .unwrap();
    assert_eq!(r2.version, 2);
    assert_eq!(password(&c, "vault-auth").await, "first");
    let stored = Storage::new(&c, "default").get("vault", 2).await.unwrap();
    assert!(
        stored.manifest.contains("password: Zmlyc3Q="),
        "the record holds the kept value: {}",
        stored.manifest
    );

    // A diff of yet another default changes nothing: the lookup keeps the value.
    let chart_arg = chart.to_str().unwrap();
    let diff = run(rudder_in_default(
        &server,
        &[
            "diff",
            "upgrade",
            "vault",
            chart_arg,
            "--set",
            "password=third",
            "--detailed-exitcode",
        ],
    )
    .env("NO_COLOR", "1"));
    assert_eq!(
        diff.code, 0,
        "no change expected:\n{}{}",
        diff.stdout, diff.stderr
    );
    // Nothing to show: no Secret (nor anything else) changes.
    assert_eq!(
        diff.stdout, "Plan: 0 to add, 0 to change, 0 to remove.\n",
        "{}",
        diff.stdout
    );
    // `upgrade --dry-run=server` prints what `diff upgrade` does.
    let dry = run(rudder_in_default(
        &server,
        &[
            "upgrade",
            "vault",
            chart_arg,
            "--set",
            "password=third",
            "--dry-run=server",
        ],
    )
    .env("NO_COLOR", "1"));
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(dry.stdout, diff.stdout);

    // Deleting the Secret: the next upgrade finds nothing and uses the new default.
    c.delete(&obj("Secret", "default", "vault-auth"), false)
        .await
        .unwrap();
    upgrade(&c, &deploy("vault", &chart, &["password=fourth"]))
        .await
        .unwrap();
    assert_eq!(password(&c, "vault-auth").await, "fourth");

    // `template` and a client dry-run are offline: lookups find nothing.
    let template = run(rudder_in_default(
        &server,
        &["template", "vault", chart_arg, "--set", "password=fifth"],
    )
    .env("NO_COLOR", "1"));
    assert_eq!(template.code, 0, "{}", template.stderr);
    assert!(
        template.stdout.contains("password: ZmlmdGg="),
        "{}",
        template.stdout
    );
    assert!(
        template.stdout.contains("listKind: \"none\"") && template.stdout.contains("seeds: \"\""),
        "{}",
        template.stdout
    );
    let mut client_dry = deploy("vault", &chart, &["password=fifth"]);
    client_dry.dry_run = DryRun::Client;
    let r = upgrade(&c, &client_dry).await.unwrap();
    assert!(r.manifest.contains("password: ZmlmdGg="), "{}", r.manifest);
    // `upgrade --install` of a new release adopting a Secret someone created keeps its
    // password.
    c.apply(
        &json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "adopted-auth", "namespace": "default"},
            "data": {"password": "cHJlc2V0"}}),
        &ApplyOptions::default(),
    )
    .await
    .unwrap();
    let mut adopt = deploy("adopted", &chart, &["password=ignored"]);
    adopt.install = true;
    adopt.settings.take_ownership = true;
    let r = upgrade(&c, &adopt).await.unwrap();
    assert_eq!(
        (r.version, r.info.description.as_str()),
        (1, "Install complete")
    );
    assert_eq!(password(&c, "adopted-auth").await, "preset");

    // A server dry-run install of another release sees the cluster.
    let mut server_dry = deploy("other", &chart, &[]);
    server_dry.dry_run = DryRun::Server;
    let r = install(&c, &server_dry).await.unwrap();
    assert!(
        r.manifest.contains("ConfigMap/seed-a=teal;"),
        "{}",
        r.manifest
    );
}

/// A chart whose templates look up a Secret by name in namespace `ns` and, with
/// `listAll`, list ConfigMaps in every namespace.
fn prober_chart(dir: &Path) -> PathBuf {
    let files = [
        ("values.yaml", "ns: team-a\nlistAll: false\n"),
        (
            "templates/probe.yaml",
            r#"{%- set probed = lookup(apiVersion="v1", kind="Secret", namespace=Values.ns, name="anything") %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ Release.Name }}-probe
data:
  found: "{{ probed | length }}"
"#,
        ),
        (
            "templates/list.yaml",
            r#"{%- if Values.listAll %}
{%- set all = lookup(apiVersion="v1", kind="ConfigMap") %}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ Release.Name }}-list
data:
  count: "{{ all.items | length }}"
{%- endif %}
"#,
        ),
    ];
    write_chart(dir, "prober", files)
}

#[tokio::test]
async fn a_lookup_the_cluster_forbids_fails_the_render_naming_the_object_and_writes_nothing() {
    let server = kubesim::Server::builder()
        .user(alice())
        .start()
        .await
        .unwrap();
    let admin = connect_with(&server, None, Some("team-a")).await;
    admin
        .apply(
            &json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "team-a"}}),
            &ApplyOptions::default(),
        )
        .await
        .unwrap();
    let alice = connect_with(&server, Some("kubesim-alice"), Some("team-a")).await;
    let dir = tempfile::tempdir().unwrap();
    let chart = prober_chart(dir.path());

    // In her own namespace a missing object is an empty map.
    install(&alice, &deploy("app", &chart, &[])).await.unwrap();
    let probe = admin
        .get(&obj("ConfigMap", "team-a", "app-probe"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(probe["data"]["found"], "0");

    // Another namespace is not hers to read: the upgrade fails before claiming a revision.
    let err = upgrade(&alice, &deploy("app", &chart, &["ns=kube-system"]))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("prober/templates/probe.yaml")
            && err.contains(
                "lookup of Secret \"anything\" in namespace \"kube-system\" failed: forbidden: cannot get Secret in namespace \"kube-system\""
            ),
        "{err}"
    );
    let history = Storage::new(&admin, "team-a").history("app").await.unwrap();
    assert_eq!(history.len(), 1, "no revision was claimed");

    // A listing across namespaces is refused the same way, in a diff too.
    let opts = deploy("app", &chart, &["listAll=true"]);
    let err = rudder::action::diff::diff_upgrade(&alice, &opts, &Default::default())
        .await
        .map(|_| ())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(
            "lookup of ConfigMap objects in every namespace failed: forbidden: cannot list ConfigMap in the cluster scope"
        ),
        "{err}"
    );
    // The admin may: the listing counts the ConfigMaps of every namespace, more than
    // team-a alone holds (namespace `other` has one too).
    seed(&admin).await;
    let configmaps = |namespace: Option<&str>| ObjectRef {
        api_version: "v1".into(),
        kind: "ConfigMap".into(),
        namespace: namespace.map(String::from),
        name: String::new(),
    };
    // team-a first: ConfigMaps kubesim's controllers add meanwhile (kube-root-ca.crt) can
    // only make the later cluster-wide count larger.
    let in_team_a = admin
        .list(&configmaps(Some("team-a")), None)
        .await
        .unwrap()
        .len();
    let everywhere = admin.list(&configmaps(None), None).await.unwrap().len();
    assert!(everywhere > in_team_a, "{everywhere} vs {in_team_a}");
    upgrade(&admin, &opts).await.unwrap();
    let list = admin
        .get(&obj("ConfigMap", "team-a", "app-list"))
        .await
        .unwrap()
        .unwrap();
    let count: usize = list["data"]["count"].as_str().unwrap().parse().unwrap();
    // kubesim's controllers may add ConfigMaps (kube-root-ca.crt) meanwhile: the count is
    // what the cluster held at some moment between the two listings.
    let everywhere_after = admin.list(&configmaps(None), None).await.unwrap().len();
    assert!(
        (everywhere..=everywhere_after).contains(&count) && count > in_team_a,
        "{count} not within {everywhere}..={everywhere_after}: {list}"
    );
}

/// A chart of many templates that each look something up: they render on rayon threads
/// that wait for the async cluster client.
fn many_lookups_chart(dir: &Path) -> PathBuf {
    let mut files = Vec::new();
    for i in 0..48 {
        files.push((
            format!("templates/cm{i}.yaml"),
            format!(
                r#"{{%- set seed = lookup(apiVersion="v1", kind="ConfigMap", namespace="other", name="seed-a") %}}
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{{{ Release.Name }}}}-{i}
data:
  color: {{{{ seed.data.color | default(value="none") | quote }}}}
"#
            ),
        ));
    }
    files.push((
        "templates/NOTES.txt".to_string(),
        "{% set seed = lookup(apiVersion=\"v1\", kind=\"ConfigMap\", namespace=\"other\", name=\"seed-a\") %}seed is {{ seed.data.color }}\n".to_string(),
    ));
    write_chart(dir, "many", files)
}

async fn install_many() {
    let (_server, c) = release_support::start().await;
    seed(&c).await;
    let dir = tempfile::tempdir().unwrap();
    let chart = many_lookups_chart(dir.path());
    let release = install(&c, &deploy("many", &chart, &[])).await.unwrap();
    assert_eq!(release.info.notes.trim(), "seed is teal");
    let cm = c
        .get(&obj("ConfigMap", "default", "many-47"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(cm["data"]["color"], "teal");
}

/// Runs `install_many` on `runtime` in a thread of its own and fails (rather than hang)
/// when it does not finish: a render blocking the runtime that answers its lookups would
/// never return.
fn install_many_on(runtime: tokio::runtime::Runtime) {
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        // As a spawned task, so it runs on a runtime worker thread.
        runtime
            .block_on(async { tokio::spawn(install_many()).await })
            .expect("the install task completes");
        let _ = done.send(());
    });
    match finished.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => {}
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the install did not finish within 60 s: the render deadlocked")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the install failed (see the panic above)")
        }
    }
}

#[test]
fn lookups_from_parallel_templates_finish_on_a_current_thread_runtime() {
    install_many_on(
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap(),
    );
}

#[test]
fn lookups_from_parallel_templates_finish_on_a_one_worker_runtime() {
    install_many_on(
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap(),
    );
}

/// The keeper chart as a helm chart (Go templates, bitnami's pattern): `lookup` reads the
/// live Secret during install and upgrade in the Go engine too.
fn go_keeper_chart(dir: &Path) -> PathBuf {
    let chart = dir.join("gokeeper");
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        "apiVersion: v2\nname: gokeeper\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(chart.join("values.yaml"), "password: changeme\n").unwrap();
    std::fs::write(
        chart.join("templates/secret.yaml"),
        r#"{{- $existing := lookup "v1" "Secret" .Release.Namespace (printf "%s-auth" .Release.Name) }}
apiVersion: v1
kind: Secret
metadata:
  name: {{ .Release.Name }}-auth
data:
  {{- if $existing }}
  password: {{ index $existing.data "password" }}
  {{- else }}
  password: {{ .Values.password | b64enc }}
  {{- end }}
"#,
    )
    .unwrap();
    chart
}

#[tokio::test]
async fn a_go_template_lookup_keeps_the_live_password_across_upgrades() {
    let (_server, c) = release_support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = go_keeper_chart(dir.path());
    install(&c, &deploy("db", &chart, &["password=first"]))
        .await
        .unwrap();
    assert_eq!(password(&c, "db-auth").await, "first");
    upgrade(&c, &deploy("db", &chart, &["password=second"]))
        .await
        .unwrap();
    assert_eq!(
        password(&c, "db-auth").await,
        "first",
        "the upgrade's render saw the live Secret"
    );
}

//! Deploy ordering beyond kinds (`rudder.io/depends-on`), against kubesim's controllers and
//! its write journal: an object is applied only once what it depends on is ready (a Job:
//! complete), objects without the annotation keep helm's kind order, uninstall deletes in
//! reverse, and a cycle is refused before anything is written.

mod release_support;

use std::time::Duration;

use release_support::{deploy_options, uninstall_options, write_chart};
use rudder::action::install::install;
use rudder::action::lifecycle::ApplySettings;
use rudder::action::uninstall::uninstall;

fn deployment(name: &str, depends_on: &str) -> String {
    let annotation = if depends_on.is_empty() {
        String::new()
    } else {
        format!("\n  annotations:\n    rudder.io/depends-on: \"{depends_on}\"")
    };
    format!(
        "apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}{annotation}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec:
      containers: [{{name: main, image: \"nginx:1.27\"}}]
"
    )
}

const MIGRATE: &str = "apiVersion: batch/v1
kind: Job
metadata:
  name: migrate
  annotations:
    rudder.io/depends-on: \"Deployment/db, Service/db\"
spec:
  template:
    spec:
      restartPolicy: Never
      containers: [{name: migrate, image: \"busybox:1.36\"}]
";

const DB_SERVICE: &str = "apiVersion: v1
kind: Service
metadata:
  name: db
spec:
  selector: {app: db}
  ports: [{port: 5432}]
";

const SETTINGS: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata: {a: '1'}\n";

/// The position in `writes` of the first write whose path ends with `suffix` and that
/// uses `method`.
fn position(writes: &[String], method: &str, suffix: &str) -> usize {
    writes
        .iter()
        .position(|w| w.starts_with(method) && w.ends_with(suffix))
        .unwrap_or_else(|| panic!("no {method} …{suffix} in {writes:#?}"))
}

#[tokio::test]
async fn objects_wait_for_what_they_depend_on_and_go_in_reverse() {
    let (server, c) = release_support::start_with_slow_controllers().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = write_chart(
        dir.path(),
        "chain",
        [
            ("templates/db.yaml", deployment("db", "")),
            ("templates/db-service.yaml", DB_SERVICE.to_string()),
            ("templates/migrate.yaml", MIGRATE.to_string()),
            ("templates/web.yaml", deployment("web", "Job/migrate")),
            ("templates/settings.yaml", SETTINGS.to_string()),
        ],
    );
    let settings = ApplySettings {
        quiet: true,
        timeout: Duration::from_secs(20),
        ..Default::default()
    };
    let journal = server.journal();
    journal.clear();
    install(
        &c,
        &deploy_options("chain", chart.clone(), &[], settings.clone()),
    )
    .await
    .unwrap();
    let writes = journal.writes();
    let db = position(&writes, "PATCH", "/deployments/db");
    let service = position(&writes, "PATCH", "/services/db");
    let settings_cm = position(&writes, "PATCH", "/configmaps/settings");
    let migrate = position(&writes, "PATCH", "/jobs/migrate");
    let web = position(&writes, "PATCH", "/deployments/web");
    assert!(
        db < migrate && service < migrate && migrate < web,
        "db and its Service, then migrate, then web: {writes:#?}"
    );
    assert!(
        settings_cm < db,
        "helm's kind order for the rest: ConfigMaps before Deployments"
    );
    // migrate was applied only once db was ready, and web once migrate had completed.
    let job = c
        .get(&release_support::object("batch/v1", "Job", "migrate"))
        .await
        .unwrap()
        .unwrap();
    assert!(
        job["status"]["conditions"]
            .as_array()
            .is_some_and(|cs| cs.iter().any(|c| c["type"] == "Complete")),
        "{job}"
    );

    journal.clear();
    uninstall(&c, &uninstall_options("chain")).await.unwrap();
    let writes = journal.writes();
    let web = position(&writes, "DELETE", "/deployments/web");
    let migrate = position(&writes, "DELETE", "/jobs/migrate");
    let db = position(&writes, "DELETE", "/deployments/db");
    assert!(web < migrate && migrate < db, "in reverse: {writes:#?}");

    // A cycle is refused before anything is written.
    let cyclic = write_chart(
        dir.path(),
        "cyclic",
        [
            ("templates/a.yaml", deployment("a", "Deployment/b")),
            ("templates/b.yaml", deployment("b", "Deployment/a")),
        ],
    );
    journal.clear();
    let err = install(&c, &deploy_options("cyclic", cyclic, &[], settings))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "rudder.io/depends-on forms a cycle: Deployment/a → Deployment/b → Deployment/a"
    );
    assert_eq!(journal.writes(), Vec::<String>::new(), "nothing written");
}

//! The rollback and install flags helm users reach for, run through the rudder binary
//! against kubesim: `rollback --cleanup-on-fail`, `--no-hooks` and `--history-max`, and
//! `install --generate-name` / `--name-template`.

mod release_support;

use std::path::{Path, PathBuf};

use release_support::{Run, cluster, object, release_chart as testdata, rudder, write_chart};
use rudder::kube::{Cluster, ObjectRef};
use rudder::storage::{Status, Storage};

/// Runs rudder and fails the test unless it succeeds.
fn ok(server: &kubesim::Server, args: &[&str]) -> String {
    let run = rudder(server, args);
    assert_eq!(run.code, 0, "rudder {args:?}: {}", run.stderr);
    run.stdout
}

async fn exists(c: &Cluster, r: &ObjectRef) -> bool {
    c.get(r).await.unwrap().is_some()
}

async fn revisions(c: &Cluster, name: &str) -> Vec<(u64, Status)> {
    Storage::new(c, "default")
        .history(name)
        .await
        .unwrap()
        .iter()
        .map(|r| (r.version, r.info.status))
        .collect()
}

/// Revision 1 has a Deployment that never becomes ready (kubesim's `fail` tag) and a Job;
/// revision 2 fixes the image and drops the Job (pruned). Rolling back to 1 with --wait
/// re-creates the Job and then fails waiting for the Deployment.
async fn failing_rollback(server: &kubesim::Server, name: &str, cleanup: bool) -> Run {
    let chart = testdata("workload");
    let chart = chart.to_str().unwrap();
    ok(
        server,
        &[
            "install",
            name,
            chart,
            "--set",
            "tag=fail,job=true,replicas=1",
        ],
    );
    ok(
        server,
        &["upgrade", name, chart, "--set", "job=false,replicas=1"],
    );
    let c = cluster(server).await;
    assert!(
        !exists(&c, &object("batch/v1", "Job", &format!("{name}-batch"))).await,
        "revision 2 pruned the Job"
    );
    let mut args = vec!["rollback", name, "1", "--wait", "--timeout", "2s"];
    if cleanup {
        args.push("--cleanup-on-fail");
    }
    rudder(server, &args)
}

#[tokio::test]
async fn rollback_cleanup_on_fail_deletes_only_what_the_failed_rollback_created() {
    let (server, c) = release_support::start().await;

    let run = failing_rollback(&server, "tidy", true).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stderr
            .contains("objects this rollback created were deleted (--cleanup-on-fail)"),
        "{}",
        run.stderr
    );
    // The Job the rollback re-created is gone; the Deployment it only changed stays.
    assert!(!exists(&c, &object("batch/v1", "Job", "tidy-batch")).await);
    assert!(exists(&c, &object("apps/v1", "Deployment", "tidy-web")).await);
    assert_eq!(
        revisions(&c, "tidy").await,
        [
            (1, Status::Superseded),
            (2, Status::Deployed),
            (3, Status::Failed)
        ]
    );

    // Without the flag the created Job is left behind, as helm leaves it.
    let run = failing_rollback(&server, "messy", false).await;
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(!run.stderr.contains("--cleanup-on-fail"), "{}", run.stderr);
    assert!(exists(&c, &object("batch/v1", "Job", "messy-batch")).await);
}

/// A chart whose pre- and post-rollback hooks leave ConfigMaps behind.
fn hooked_chart(dir: &Path) -> PathBuf {
    let mut files = vec![
        ("values.yaml".to_string(), "v: \"1\"\n".to_string()),
        (
            "templates/main.yaml".to_string(),
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}-main\ndata:\n  v: {{ Values.v | quote }}\n".to_string(),
        ),
    ];
    for event in ["pre-rollback", "post-rollback"] {
        files.push((
            format!("templates/{event}.yaml"),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ Release.Name }}}}-{event}\n  annotations:\n    helm.sh/hook: {event}\ndata:\n  ran: \"yes\"\n"
            ),
        ));
    }
    write_chart(dir, "hooked", files)
}

#[tokio::test]
async fn rollback_no_hooks_skips_the_rollback_hooks_and_history_max_prunes() {
    let (server, c) = release_support::start().await;
    let dir = tempfile::tempdir().unwrap();
    let chart = hooked_chart(dir.path());
    let chart = chart.to_str().unwrap();
    ok(&server, &["install", "hk", chart]);
    for v in ["2", "3", "4"] {
        ok(
            &server,
            &["upgrade", "hk", chart, "--set", &format!("v={v}")],
        );
    }
    let hook = |event: &str| object("v1", "ConfigMap", &format!("hk-{event}"));

    ok(
        &server,
        &["rollback", "hk", "1", "--no-hooks", "--history-max", "3"],
    );
    let main = c
        .get(&object("v1", "ConfigMap", "hk-main"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(main["data"]["v"], "1", "rolled back");
    assert!(!exists(&c, &hook("pre-rollback")).await, "--no-hooks");
    assert!(!exists(&c, &hook("post-rollback")).await, "--no-hooks");
    // Five revisions, at most three kept: the oldest two went.
    let kept: Vec<u64> = revisions(&c, "hk").await.iter().map(|r| r.0).collect();
    assert_eq!(kept, [3, 4, 5]);

    // Without the flag the hooks run.
    ok(&server, &["rollback", "hk", "4"]);
    assert!(exists(&c, &hook("pre-rollback")).await);
    assert!(exists(&c, &hook("post-rollback")).await);
    let kept: Vec<u64> = revisions(&c, "hk").await.iter().map(|r| r.0).collect();
    assert_eq!(kept, [3, 4, 5, 6], "the default --history-max is 10");
}

#[tokio::test]
async fn install_generates_names_like_helm() {
    let (server, c) = release_support::start().await;
    let chart = testdata("app");
    let chart = chart.to_str().unwrap();

    let before = chrono::Utc::now().timestamp();
    let out = ok(&server, &["install", "-g", chart]);
    let after = chrono::Utc::now().timestamp();
    let name = out
        .lines()
        .find_map(|l| l.strip_prefix("NAME: "))
        .expect("the name is printed")
        .to_string();
    let seconds: i64 = name
        .strip_prefix("app-")
        .unwrap_or_else(|| panic!("{name} is the chart's name and a time"))
        .parse()
        .unwrap();
    assert!((before..=after).contains(&seconds), "{name}");
    assert_eq!(revisions(&c, &name).await, [(1, Status::Deployed)]);
    assert!(exists(&c, &object("v1", "ConfigMap", &format!("{name}-main"))).await);

    let out = ok(
        &server,
        &[
            "install",
            chart,
            "--name-template",
            "web-{{ randAlphaNum 6 | lower }}",
        ],
    );
    let name = out
        .lines()
        .find_map(|l| l.strip_prefix("NAME: "))
        .unwrap()
        .to_string();
    let suffix = name
        .strip_prefix("web-")
        .expect("rendered from the template");
    assert!(
        suffix.len() == 6
            && suffix
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit()),
        "{name}"
    );
    assert_eq!(revisions(&c, &name).await, [(1, Status::Deployed)]);

    // A name and --generate-name, a template giving an invalid name, or no name at all.
    let failures: [(&[&str], &str); 3] = [
        (
            &["install", "web", chart, "-g"],
            "install takes only the chart with --generate-name or --name-template",
        ),
        (
            &["install", chart, "--name-template", "Web_App"],
            "invalid release name \"Web_App\"",
        ),
        (
            &["install", chart],
            "install needs a release name and a chart",
        ),
    ];
    for (args, expected) in failures {
        let run = rudder(&server, args);
        assert_eq!(run.code, 1, "rudder {args:?}: {}", run.stderr);
        assert!(
            run.stderr.contains(expected),
            "rudder {args:?}: {}",
            run.stderr
        );
    }
}

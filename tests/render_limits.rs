//! Every chart render is bounded in time, output and memory, for Go-template and tera
//! charts alike, as a user meets it through the binary: a runaway template stops with one
//! `Error:` line naming the template and the flag that raises the limit, exit code 1 and
//! nothing on stdout; install and upgrade stop before they write to the cluster.

mod release_support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use release_support::{cluster, object, rudder as rudder_on};
use rudder::storage::{Status, Storage, StorageError};

#[derive(Clone, Copy, Debug)]
enum Engine {
    Go,
    Tera,
}

const ENGINES: [Engine; 2] = [Engine::Go, Engine::Tera];

/// Writes chart `name` under `dir` for `engine` with `templates` (file name under
/// `templates/`, text).
fn chart(dir: &Path, name: &str, engine: Engine, templates: &[(&str, &str)]) -> PathBuf {
    let root = dir.join(name);
    std::fs::create_dir_all(root.join("templates")).unwrap();
    let marker = match engine {
        Engine::Go => "",
        Engine::Tera => "annotations:\n  rudder.io/engine: tera\n",
    };
    std::fs::write(
        root.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n{marker}"),
    )
    .unwrap();
    for (file, text) in templates {
        std::fs::write(root.join("templates").join(file), text).unwrap();
    }
    root
}

/// A chart with the one template `file` holding, per engine, the Go and the tera text.
fn one_template(dir: &Path, engine: Engine, file: &str, go: &str, tera: &str) -> PathBuf {
    let (name, text) = match engine {
        Engine::Go => ("gochart", go),
        Engine::Tera => ("terachart", tera),
    };
    chart(dir, name, engine, &[(file, text)])
}

/// `rudder template CHART ARGS…`, and how long it took.
fn template(chart: &Path, args: &[&str]) -> (Output, Duration) {
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_rudder"))
        .arg("template")
        .arg(chart)
        .args(args)
        .output()
        .unwrap();
    (out, start.elapsed())
}

/// Asserts the run failed with exactly `error` as its one line on stderr, printing nothing.
fn assert_fails_with(out: &Output, error: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert_eq!(stderr, format!("Error: {error}\n"));
    assert!(out.stdout.is_empty(), "nothing is printed");
}

fn chart_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Go => "gochart",
        Engine::Tera => "terachart",
    }
}

fn timeout_error(file: &str, limit: &str) -> String {
    format!(
        "{file}: the render took longer than its time limit of {limit} (set --render-timeout to allow more)"
    )
}

#[test]
fn a_nested_range_over_100000_stops_at_the_render_timeout() {
    for engine in ENGINES {
        let dir = tempfile::tempdir().unwrap();
        let chart = one_template(
            dir.path(),
            engine,
            "loop.yaml",
            "{{- range $i := until 100000 }}{{- range $j := until 100000 }}{{- end }}{{- end }}\n",
            "{% for i in range(end=100000) %}{% for j in range(end=100000) %}{% endfor %}{% endfor %}\n",
        );
        let (out, took) = template(&chart, &["--render-timeout", "1s"]);
        let file = format!("{}/templates/loop.yaml", chart_name(engine));
        assert_fails_with(&out, &timeout_error(&file, "1s"));
        assert!(took < Duration::from_secs(6), "{engine:?} took {took:?}");
    }
}

#[test]
fn a_tera_loop_that_calls_nothing_stops_at_the_render_timeout_too() {
    // The inner loop writes nothing and calls no function that could check the clock: the
    // watchdog stops the process one second past the deadline.
    let dir = tempfile::tempdir().unwrap();
    let chart = chart(
        dir.path(),
        "terachart",
        Engine::Tera,
        &[(
            "spin.yaml",
            "{% set big = range(end=100000) %}{% for a in big %}{% for b in big %}{% endfor %}{% endfor %}\n",
        )],
    );
    let (out, took) = template(&chart, &["--render-timeout", "1s"]);
    assert_fails_with(&out, &timeout_error("terachart/templates/spin.yaml", "1s"));
    assert!(took < Duration::from_secs(6), "took {took:?}");
}

#[test]
fn an_output_bomb_stops_at_the_output_limit() {
    let kib = "x".repeat(1024);
    for engine in ENGINES {
        let dir = tempfile::tempdir().unwrap();
        let chart = one_template(
            dir.path(),
            engine,
            "out.yaml",
            &format!("{{{{- range until 1000000 }}}}{kib}{{{{ end }}}}\n"),
            &format!("{{% for i in range(end=1000000) %}}{kib}{{% endfor %}}\n"),
        );
        let (out, _) = template(&chart, &[]);
        assert_fails_with(
            &out,
            &format!(
                "{}/templates/out.yaml: the rendered output grew past its limit of 256 MiB",
                chart_name(engine)
            ),
        );
    }
}

#[test]
fn a_memory_bomb_stops_at_the_memory_limit() {
    // A string doubled 40 times (1 TiB) in a variable: no output to count, only memory.
    for engine in ENGINES {
        let dir = tempfile::tempdir().unwrap();
        let chart = one_template(
            dir.path(),
            engine,
            "bomb.yaml",
            "{{- $s := \"x\" }}{{- range until 40 }}{{- $s = print $s $s }}{{- end }}{{ len $s }}\n",
            "{% set_global s = \"x\" %}{% for i in range(end=40) %}{% set_global s = s ~ s %}{% endfor %}{{ s | length }}\n",
        );
        let (out, _) = template(&chart, &["--render-max-memory", "256Mi"]);
        assert_fails_with(
            &out,
            &format!(
                "{}/templates/bomb.yaml: the render needed more memory than its limit of 256 MiB (set --render-max-memory to allow more)",
                chart_name(engine)
            ),
        );
    }
}

#[test]
fn functions_refuse_results_past_the_output_limit() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(Engine, &str, &str); 5] = [
        (
            Engine::Go,
            "{{ repeat 300000000 \"x\" }}",
            "template: gochart/templates/f.yaml:1:3: executing \"gochart/templates/f.yaml\" at <repeat 300000000 \"x\">: error calling repeat: the result would be larger than the render's output limit of 256 MiB",
        ),
        (
            Engine::Go,
            "{{ range until 100000000 }}{{ end }}",
            "template: gochart/templates/f.yaml:1:9: executing \"gochart/templates/f.yaml\" at <until 100000000>: error calling until: the result would be larger than the render's output limit of 256 MiB",
        ),
        (
            Engine::Go,
            "{{ randAlphaNum 300000000 }}",
            "template: gochart/templates/f.yaml:1:3: executing \"gochart/templates/f.yaml\" at <randAlphaNum 300000000>: error calling randAlphaNum: the result would be larger than the render's output limit of 256 MiB",
        ),
        (
            Engine::Tera,
            "{{ 300000000 | randAlphaNum }}",
            "terachart/templates/f.yaml:1: randAlphaNum: the result would be larger than the render's output limit of 256 MiB",
        ),
        (
            Engine::Tera,
            "{% for i in range(end=100000000) %}{% endfor %}",
            "terachart/templates/f.yaml:1: range: the result would be larger than the render's output limit of 256 MiB",
        ),
    ];
    for (engine, text, error) in cases {
        let chart = chart(dir.path(), chart_name(engine), engine, &[("f.yaml", text)]);
        let (out, _) = template(&chart, &[]);
        assert_fails_with(&out, error);
    }
}

#[test]
fn ordinary_charts_render_unchanged_within_the_limits() {
    let dir = tempfile::tempdir().unwrap();
    let go = chart(
        dir.path(),
        "gochart",
        Engine::Go,
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\ndata:\n  seq: {{ seq 3 | quote }}\n  count: {{ len (until 100000) | quote }}\n",
        )],
    );
    let tera = chart(
        dir.path(),
        "terachart",
        Engine::Tera,
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}\ndata:\n  seq: \"{% for i in range(start=1, end=4) %}{{ i }}{% if not loop.last %} {% endif %}{% endfor %}\"\n  count: \"{{ range(end=200000) | length }}\"\n",
        )],
    );
    let expected = |name: &str, count: u32| {
        format!(
            "---\n# Source: {name}/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-name\ndata:\n  seq: \"1 2 3\"\n  count: \"{count}\"\n"
        )
    };
    for (chart, name, count) in [(&go, "gochart", 100_000), (&tera, "terachart", 200_000)] {
        for args in [
            &[][..],
            &["--render-timeout", "2m", "--render-max-memory", "512Mi"][..],
        ] {
            let (out, _) = template(chart, args);
            assert!(
                out.status.success(),
                "{name} {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            assert_eq!(
                String::from_utf8(out.stdout).unwrap(),
                expected(name, count)
            );
        }
    }
}

#[test]
fn limit_values_are_checked() {
    let dir = tempfile::tempdir().unwrap();
    let chart = chart(dir.path(), "gochart", Engine::Go, &[]);
    let (out, _) = template(&chart, &["--render-max-memory", "2GB"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value '2GB' for '--render-max-memory <SIZE>': invalid size \"2GB\": expected bytes or a quantity like 512Mi or 2Gi"),
        "{stderr}"
    );
    let (out, _) = template(&chart, &["--render-timeout", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("invalid value 'soon' for '--render-timeout <DURATION>'"),
        "{stderr}"
    );
}

#[test]
fn every_command_that_renders_takes_the_limit_flags() {
    let commands: [&[&str]; 6] = [
        &["template"],
        &["lint"],
        &["install"],
        &["upgrade"],
        &["diff", "upgrade"],
        &["apply"],
    ];
    for command in commands {
        let out = Command::new(env!("CARGO_BIN_EXE_rudder"))
            .args(command)
            .arg("--help")
            .output()
            .unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        for flag in ["--render-timeout <DURATION>", "--render-max-memory <SIZE>"] {
            assert!(help.contains(flag), "{command:?} lacks {flag}:\n{help}");
        }
        assert!(help.contains("[default: 60s]") && help.contains("[default: 2Gi]"));
    }
}

#[tokio::test]
async fn install_and_upgrade_stop_before_writing_to_the_cluster() {
    let server = kubesim::Server::start().await.expect("kubesim starts");
    let dir = tempfile::tempdir().unwrap();
    let good = chart(
        dir.path(),
        "app",
        Engine::Go,
        &[(
            "cm.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: b\n",
        )],
    );
    let bomb_dir = tempfile::tempdir().unwrap();
    let bomb = chart(
        bomb_dir.path(),
        "app",
        Engine::Go,
        &[
            (
                "cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: app\ndata:\n  a: c\n",
            ),
            (
                "bomb.yaml",
                "{{- $s := \"x\" }}{{- range until 40 }}{{- $s = print $s $s }}{{- end }}{{ len $s }}\n",
            ),
        ],
    );
    let memory_error = "Error: app/templates/bomb.yaml: the render needed more memory than its limit of 64 MiB (set --render-max-memory to allow more)\n";
    let (good, bomb) = (good.to_str().unwrap(), bomb.to_str().unwrap());

    let run = rudder_on(
        &server,
        &["install", "fresh", bomb, "--render-max-memory", "64Mi"],
    );
    assert_eq!((run.code, run.stderr.as_str()), (1, memory_error));
    assert!(run.stdout.is_empty());

    let run = rudder_on(&server, &["install", "app", good]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let run = rudder_on(
        &server,
        &["upgrade", "app", bomb, "--render-max-memory", "64Mi"],
    );
    assert_eq!((run.code, run.stderr.as_str()), (1, memory_error));

    // Nothing was claimed, recorded or applied.
    let config = cluster(&server).await;
    let storage = Storage::new(&config, "default");
    assert!(matches!(
        storage.history("fresh").await,
        Err(StorageError::NotFound { .. })
    ));
    let history: Vec<_> = storage
        .history("app")
        .await
        .unwrap()
        .iter()
        .map(|r| (r.version, r.info.status))
        .collect();
    assert_eq!(history, [(1, Status::Deployed)]);
    let cm = config
        .get(&object("v1", "ConfigMap", "app"))
        .await
        .unwrap()
        .expect("the ConfigMap of revision 1");
    assert_eq!(cm["data"]["a"], "b");
}

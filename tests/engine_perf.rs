//! Rendering speed: a chart of 1000 templates (~33k output lines) through `engine::render`
//! and `manifest::parse_rendered`. Run with `cargo test --release --test engine_perf --
//! --nocapture` to see the timing; the debug build only checks the output is complete.

use std::time::Instant;

use rudder::chart::{Chart, ChartFile, ENGINE_ANNOTATION, Metadata};
use rudder::engine::{RenderOptions, render};
use rudder::manifest::parse_rendered;
use serde_json::json;

const HELPERS: &str = r#"{% component bench.fullname(@Release, @Chart) -%}
{{ (Release.Name ~ "-" ~ Chart.Name) | trunc(n=63) | trimSuffix(suffix="-") }}
{%- endcomponent bench.fullname %}
{% component bench.labels(@Release, @Chart) -%}
app.kubernetes.io/name: {{ Chart.Name }}
app.kubernetes.io/instance: {{ Release.Name }}
app.kubernetes.io/version: {{ Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ Release.Service }}
{%- endcomponent bench.labels %}
"#;

/// One Deployment per template; the index makes every name unique.
fn template(index: usize) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{{{ include(name="bench.fullname") }}}}-{index}
  labels:
    {{{{- include(name="bench.labels") | nindent(n=4) }}}}
spec:
  replicas: {{{{ Values.replicas }}}}
  selector:
    matchLabels:
      app: {{{{ Chart.Name }}}}-{index}
  template:
    metadata:
      labels:
        app: {{{{ Chart.Name }}}}-{index}
    spec:
      containers:
        - name: app
          image: "{{{{ Values.image.repository }}}}:{{{{ Values.image.tag | default(value=Chart.AppVersion) }}}}"
          ports:
          {{%- for port in Values.ports %}}
            - containerPort: {{{{ port }}}}
          {{%- endfor %}}
          env:
            - name: INDEX
              value: {{{{ "{index}" | quote }}}}
          resources:
            {{{{- Values.resources | toYaml | nindent(n=12) }}}}
"#
    )
}

fn bench_chart(count: usize) -> Chart {
    let mut templates = vec![ChartFile {
        name: "templates/_helpers.tpl".into(),
        data: HELPERS.as_bytes().to_vec(),
    }];
    templates.extend((0..count).map(|i| ChartFile {
        name: format!("templates/deploy-{i:04}.yaml"),
        data: template(i).into_bytes(),
    }));
    Chart {
        metadata: Metadata {
            name: "bench".into(),
            version: "1.0.0".into(),
            api_version: "v2".into(),
            app_version: Some("2.1.0".into()),
            annotations: [(ENGINE_ANNOTATION.to_string(), "tera".to_string())].into(),
            ..Default::default()
        },
        lock: None,
        templates,
        values: Default::default(),
        raw_values: None,
        schema: None,
        files: Vec::new(),
        dependencies: Vec::new(),
    }
}

/// CPU time (user + system, all threads) this process used so far, from /proc (Linux);
/// unlike wall time it does not depend on what else the machine is running.
fn process_cpu_ms() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after_name = stat.rsplit(')').next().unwrap_or("");
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of the line, 11 and 12 after the name; 100 Hz.
    (ticks(11) + ticks(12)) * 10.0
}

#[test]
fn renders_a_thousand_templates() {
    let chart = bench_chart(1000);
    let values = json!({
        "replicas": 2,
        "image": {"repository": "nginx", "tag": ""},
        "ports": [80, 443],
        "resources": {"limits": {"cpu": "500m", "memory": "128Mi"}, "requests": {"cpu": "100m", "memory": "64Mi"}}
    });
    let values = values.as_object().unwrap().clone();
    let options = RenderOptions::default();

    let (mut best, mut best_render, mut best_parse) = (f64::MAX, f64::MAX, f64::MAX);
    let mut lines = 0;
    let mut objects = 0;
    let cpu_start = process_cpu_ms();
    const ROUNDS: usize = 10;
    for _ in 0..ROUNDS {
        let start = Instant::now();
        let rendered = render(&chart, &values, &options).expect("renders");
        let rendered_at = start.elapsed().as_secs_f64() * 1000.0;
        let manifests = parse_rendered(&rendered).expect("parses");
        let total = start.elapsed().as_secs_f64() * 1000.0;
        best = best.min(total);
        best_render = best_render.min(rendered_at);
        best_parse = best_parse.min(total - rendered_at);
        lines = rendered
            .templates
            .iter()
            .map(|t| t.content.lines().count())
            .sum();
        objects = manifests.len();
        assert_eq!(manifests[999].name, "release-name-bench-999");
        assert_eq!(
            manifests[0].object()["spec"]["template"]["spec"]["containers"][0]["image"],
            "nginx:2.1.0"
        );
    }
    let cpu_per_round = (process_cpu_ms() - cpu_start) / ROUNDS as f64;
    println!(
        "1000 templates, {lines} lines, {objects} objects: best of {ROUNDS} = {best:.1} ms wall \
         (render {best_render:.1} ms, parse {best_parse:.1} ms); CPU time {cpu_per_round:.1} ms \
         per round over {} threads",
        rayon::current_num_threads()
    );
    assert_eq!(objects, 1000);
    assert!(lines >= 33_000, "expected ~33k lines, got {lines}");
}

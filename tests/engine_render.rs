//! End-to-end rendering of charts on disk (testdata/engine): loading, values, the engine,
//! manifest parsing and helm-style output, as `rudder template` chains them.

use std::path::Path;

use rudder::chart::Chart;
use rudder::engine::{RenderOptions, Rendered, render};
use rudder::manifest::{HookEvent, parse_rendered, sort_for_install, split_hooks, to_helm_output};
use rudder::values::{Values, compute_render_values};

fn load(name: &str) -> Chart {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/engine")
        .join(name);
    rudder::chart::load(&path).unwrap_or_else(|e| panic!("loading {name}: {e}"))
}

fn render_chart(mut chart: Chart, user: serde_json::Value) -> Result<Rendered, String> {
    let user: Values = user.as_object().cloned().unwrap_or_default();
    let values = compute_render_values(&mut chart, user).map_err(|e| e.to_string())?;
    render(&chart, &values, &RenderOptions::default()).map_err(|e| e.to_string())
}

#[test]
fn umbrella_chart_renders_like_helm_template() {
    let rendered = render_chart(load("shop"), serde_json::json!({"replicas": 3})).unwrap();
    assert_eq!(
        rendered.notes.as_deref(),
        Some("shop 1.2.0 installed as release-name.\n")
    );
    let manifests = parse_rendered(&rendered).unwrap();
    let (hooks, mut resources) = split_hooks(manifests);
    sort_for_install(&mut resources);
    let expected = "\
---
# Source: shop/templates/namespace.yaml
apiVersion: v1
kind: Namespace
metadata:
  name: default
---
# Source: shop/templates/configmap.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: release-name-shop-config
data:
  app.ini: |
    mode=fast
---
# Source: shop/charts/cart/templates/service.yaml
apiVersion: v1
kind: Service
metadata:
  name: cart-sub
  annotations:
    source: shop/charts/cart/templates/service.yaml
spec:
  ports:
    - port: 8080
  selector:
    env: prod
---
# Source: shop/templates/deployment.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: shop-main
  labels:
    app.kubernetes.io/name: shop
    app.kubernetes.io/instance: release-name
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: app
          image: shop:3.4
          env:
            - name: ENV
              value: \"prod\"
---
# Source: shop/templates/namespace.yaml
# nothing here
";
    // The document of only a comment is kept and printed last, as helm does.
    assert_eq!(to_helm_output(&resources), expected);
    assert_eq!(hooks.len(), 1);
    assert_eq!(hooks[0].name, "shop-main-test");
    assert!(hooks[0].hook.as_ref().unwrap().runs_on(HookEvent::Test));
}

/// Writes a one-template chart into a temp dir and renders it.
fn render_template(template: &str) -> Result<String, String> {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("broken");
    std::fs::create_dir_all(root.join("templates")).unwrap();
    for file in ["Chart.yaml", "values.yaml"] {
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/engine/broken")
                .join(file),
            root.join(file),
        )
        .unwrap();
    }
    std::fs::write(root.join("templates/deploy.yaml"), template).unwrap();
    let chart = rudder::chart::load(&root).map_err(|e| e.to_string())?;
    let rendered = render_chart(chart, serde_json::json!({}))?;
    let manifests = parse_rendered(&rendered).map_err(|e| e.to_string())?;
    Ok(to_helm_output(&manifests))
}

#[test]
fn bad_templates_give_one_line_errors_with_file_and_line() {
    let cases = [
        (
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {{ Values.name | required(msg=\"name is required\") }}\n",
            "broken/templates/deploy.yaml:4: name is required",
        ),
        (
            "a: 1\n{% if Values.x %}\nb: 2\n",
            "broken/templates/deploy.yaml:4: Unexpected end of input: is a block ({% if %}, {% for %}, …) missing its end tag?",
        ),
        (
            "a: {{ include(name=\"broken.missing\") }}\n",
            "broken/templates/deploy.yaml:1: include: no helper named `broken.missing`",
        ),
        (
            "a: {{ Values.x | frobnicate }}\n",
            "broken/templates/deploy.yaml:1: Unknown filter `frobnicate`",
        ),
        (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  x: [\n",
            "broken/templates/deploy.yaml: document 1 (line ",
        ),
    ];
    for (template, expected) in cases {
        let err = render_template(template).expect_err(template);
        assert!(!err.contains('\n'), "error should be one line: {err}");
        assert!(
            err.starts_with(expected),
            "template {template:?}\n got: {err}\nwant: {expected}"
        );
    }
}

#[test]
fn a_valid_template_renders_through_the_same_path() {
    let out = render_template(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ Release.Name }}\ndata:\n  image: {{ Values.image | toJson | quote }}\n",
    )
    .unwrap();
    assert_eq!(
        out,
        "---\n# Source: broken/templates/deploy.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: release-name\ndata:\n  image: \"{}\"\n"
    );
}

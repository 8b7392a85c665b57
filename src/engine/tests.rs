//! Unit tests for the engine: each helm function through a real render of an in-memory chart.

use super::*;
use crate::chart::{ChartFile, Metadata};
use serde_json::json;

fn chart(name: &str, templates: &[(&str, &str)]) -> Chart {
    Chart {
        metadata: Metadata {
            name: name.into(),
            version: "0.1.0".into(),
            api_version: "v2".into(),
            app_version: Some("1.16.0".into()),
            ..Default::default()
        },
        lock: None,
        templates: templates
            .iter()
            .map(|(n, d)| ChartFile {
                name: n.to_string(),
                data: d.as_bytes().to_vec(),
            })
            .collect(),
        values: Values::new(),
        raw_values: None,
        schema: None,
        files: Vec::new(),
        dependencies: Vec::new(),
    }
}

fn values(v: serde_json::Value) -> Values {
    v.as_object().cloned().expect("an object")
}

/// Renders one template `templates/t.yaml` with the given values.
fn one(template: &str, vals: serde_json::Value) -> Result<String, RenderError> {
    let c = chart("mychart", &[("templates/t.yaml", template)]);
    let out = render(&c, &values(vals), &RenderOptions::default())?;
    Ok(out.templates[0].content.clone())
}

fn ok(template: &str, vals: serde_json::Value) -> String {
    one(template, vals).unwrap_or_else(|e| panic!("render failed: {e}"))
}

fn err(template: &str, vals: serde_json::Value) -> String {
    match one(template, vals) {
        Ok(out) => panic!("expected an error, rendered {out:?}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn context_names_follow_helm() {
    let out = ok(
        "{{ Release.Name }} {{ Release.Namespace }} {{ Release.Revision }} {{ Release.IsInstall }} \
         {{ Release.IsUpgrade }} {{ Release.Service }} {{ Chart.Name }} {{ Chart.Version }} \
         {{ Chart.AppVersion }} {{ Capabilities.KubeVersion.Version }} \
         {{ Capabilities.KubeVersion.Major }}.{{ Capabilities.KubeVersion.Minor }} \
         {{ Template.Name }} {{ Template.BasePath }} {{ Values.x }}",
        json!({"x": 5}),
    );
    assert_eq!(
        out,
        "release-name default 1 true false Rudder mychart 0.1.0 1.16.0 v1.35.0 1.35 \
         mychart/templates/t.yaml mychart/templates 5"
    );
}

#[test]
fn api_versions_membership() {
    let out = ok(
        "{{ \"batch/v1\" in Capabilities.APIVersions }} {{ \"nope/v9\" in Capabilities.APIVersions }} \
         {{ Capabilities.APIVersions | has(value=\"apps/v1\") }}",
        json!({}),
    );
    assert_eq!(out, "true false true");
}

#[test]
fn experiments() {
    let c = chart(
        "mychart",
        &[
            (
                "templates/_helpers.tpl",
                "{% component mychart.labels(@Values, @Chart) %}app: {{ Chart.Name }}\nx: {{ Values.x }}{% endcomponent mychart.labels %}",
            ),
            (
                "templates/t.yaml",
                "labels:{{ include(name=\"mychart.labels\") | nindent(n=2) }}\nnative: {{ <mychart.labels /> | upper }}",
            ),
        ],
    );
    let out = render(&c, &values(json!({"x": 1})), &RenderOptions::default());
    println!("{out:?}");
    for t in [
        "{{ Values.missing }}",
        "line1\n{{ Values.x | nope }}",
        "{{ Values.x | required(msg=\"x is required\") }}",
        "a\n\n{{ fail(msg=\"boom\") }}",
        "{% if %}",
        "{{ get_env(name=\"HOME\") }}",
        "{% include \"../../etc/passwd\" %}",
        "{{ include(name=\"nope\") }}",
    ] {
        println!(
            "{t:?} => {:?}",
            one(t, json!({})).map_err(|e| e.to_string())
        );
    }
}

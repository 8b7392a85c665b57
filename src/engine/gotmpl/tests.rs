//! Unit checks of the Go-template engine on small templates.

use std::sync::Arc;

use super::exec::{Executor, Limits, TemplateSet};
use crate::engine::library::Funcs;
use crate::engine::library::value::Value;

/// Renders `src` with `data` as dot, as helm would (`<no value>` removed).
pub fn render(src: &str, data: &Value) -> Result<String, String> {
    let funcs = Funcs::helm();
    let mut set = TemplateSet::default();
    let name: Arc<str> = Arc::from("t.yaml");
    set.add("t.yaml", &name, &Arc::from(src), &funcs)
        .map(drop)
        .map_err(|e| format!("parse error at (t.yaml:{}): {}", e.line, e.message))?;
    let limits = Limits {
        deadline: None,
        max_output: 1 << 30,
    };
    let mut exec = Executor::new(&set, &funcs, limits);
    let mut out = String::new();
    exec.execute("t.yaml", data, &mut out)
        .map_err(|e| e.message)?;
    Ok(out.replace("<no value>", ""))
}

/// Renders `src` with no values; a failure renders as `ERR: <message>`.
pub fn render_plain(src: &str) -> String {
    render(src, &Value::new_map()).unwrap_or_else(|e| format!("ERR: {e}"))
}

/// The message of a failed render with no values, after "error calling X: ".
pub fn call_error(src: &str) -> String {
    let e = render(src, &Value::new_map()).unwrap_err();
    e.split_once("error calling ")
        .map(|(_, rest)| rest.to_string())
        .unwrap_or(e)
}

/// Values read from YAML as helm reads values files.
pub fn values(yaml: &str) -> Value {
    let json: serde_json::Value = serde_yaml::from_str(yaml).unwrap();
    Value::from_json(&json)
}

#[test]
fn actions_pipelines_and_variables() {
    let data = values("a: 1\nb: [x, y]\nm: {k2: v2, k1: v1}\nbig: 1000000\n");
    assert_eq!(render("{{ .a }}-{{ .big }}", &data).unwrap(), "1-1e+06");
    assert_eq!(
        render("{{- range $i, $v := .b }} {{$i}}={{$v}}{{ end }}", &data).unwrap(),
        " 0=x 1=y"
    );
    assert_eq!(
        render("{{ range $k, $v := .m }}{{$k}}:{{$v}},{{ end }}", &data).unwrap(),
        "k1:v1,k2:v2,"
    );
    assert_eq!(
        render(
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
            &data
        )
        .unwrap(),
        "2"
    );
    assert_eq!(
        render("{{ .missing }}|{{ .m }}", &data).unwrap(),
        "|map[k1:v1 k2:v2]"
    );
    assert_eq!(
        render("{{ \"x\" | printf \"%s-%s\" \"a\" }}", &data).unwrap(),
        "a-x"
    );
    assert_eq!(render("a  {{- /* c */ -}}  b", &data).unwrap(), "ab");
    assert_eq!(
        render(
            "{{ if .missing }}1{{ else if .a }}2{{ else }}3{{ end }}",
            &data
        )
        .unwrap(),
        "2"
    );
    assert_eq!(
        render("{{ with .m }}{{ .k1 }}{{ end }}", &data).unwrap(),
        "v1"
    );
    assert_eq!(
        render(
            "{{ range .b }}{{ if eq . \"x\" }}{{ continue }}{{ end }}{{ . }}{{ end }}",
            &data
        )
        .unwrap(),
        "y"
    );
    assert_eq!(
        render("{{ range 3 }}{{ . }}{{ end }}", &data).unwrap(),
        "012"
    );
    assert_eq!(
        render(
            "{{ define \"t\" }}[{{ . }}]{{ end }}{{ template \"t\" .a }}",
            &data
        )
        .unwrap(),
        "[1]"
    );
    assert_eq!(
        render("{{ and 1 0 2 }} {{ or 0 \"\" \"z\" }} {{ not 0 }}", &data).unwrap(),
        "0 z true"
    );
    assert_eq!(
        render("{{ index .m \"k2\" }} {{ len .b }} {{ slice .b 1 }}", &data).unwrap(),
        "v2 2 [y]"
    );
}

#[test]
fn errors_in_go_words() {
    let data = values("a: 1\n");
    let e = render("x\n{{ .a.b.c }}", &data).unwrap_err();
    assert_eq!(
        e,
        "template: t.yaml:2:5: executing \"t.yaml\" at <.a.b.c>: can't evaluate field b in type interface {}"
    );
    let e = render("{{ .missing.x }}", &data).unwrap_err();
    assert!(e.ends_with("nil pointer evaluating interface {}.x"), "{e}");
    let e = render("{{ eq .a 1 }}", &data).unwrap_err();
    assert!(
        e.ends_with("error calling eq: incompatible types for comparison: float64 and int"),
        "{e}"
    );
    let e = render("{{ .a }", &data).unwrap_err();
    assert!(e.starts_with("parse error at (t.yaml:1)"), "{e}");
    let e = render("{{ nofunc 1 }}", &data).unwrap_err();
    assert_eq!(
        e,
        "parse error at (t.yaml:1): function \"nofunc\" not defined"
    );
}

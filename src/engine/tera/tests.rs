//! Unit tests for the engine: each helm function through a real render of an in-memory chart.

use super::*;
use crate::chart::{ChartFile, Metadata};
use crate::engine::{Capabilities, KubeVersion, ReleaseInfo, RenderOptions, render};
use crate::values::Values;
use serde_json::json;

fn chart(name: &str, templates: &[(&str, &str)]) -> Chart {
    Chart {
        metadata: Metadata {
            name: name.into(),
            version: "0.1.0".into(),
            api_version: "v2".into(),
            app_version: Some("1.16.0".into()),
            annotations: [(crate::chart::ENGINE_ANNOTATION.into(), "tera".into())].into(),
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

/// Values used by the function tests (the same as the helm chart the expectations were
/// taken from, `helm template` 4.1.4).
fn sample() -> serde_json::Value {
    json!({
        "n": 3, "f": 1.5, "s": "hello", "e": "", "z": 0, "nul": null,
        "l": ["b", "a", "b", "", "c"],
        "m": {"b": 2, "a": {"x": "1"}, "c": [1, 2]},
        "multi": "line1\nline2\n"
    })
}

fn check(cases: &[(&str, &str)]) {
    for (template, expected) in cases {
        assert_eq!(&ok(template, sample()), expected, "template: {template}");
    }
}

#[test]
fn quoting_like_sprig() {
    check(&[
        ("{{ Values.nul | quote }}", ""),
        ("{{ Values.z | quote }}", "\"0\""),
        ("{{ Values.f | quote }}", "\"1.5\""),
        ("{{ Values.f | squote }}", "'1.5'"),
        ("{{ Values.l | quote }}", "\"[b a b  c]\""),
        ("{{ \"say \\\"hi\\\"\" | quote }}", "\"say \\\"hi\\\"\""),
    ]);
}

#[test]
fn to_string_is_go_formatting() {
    check(&[
        ("{{ Values.z | toString }}", "0"),
        ("{{ Values.f | toString }}", "1.5"),
        ("{{ Values.l | toString }}", "[b a b  c]"),
        ("{{ Values.m | toString }}", "map[a:map[x:1] b:2 c:[1 2]]"),
        ("{{ true | toString }}", "true"),
        ("{{ Values.nul | toString }}", "<nil>"),
    ]);
}

#[test]
fn empty_and_default_follow_sprig() {
    check(&[
        (
            "{{ 0 | empty }} {{ \"\" | empty }} {{ Values.l | empty }} {{ Values.nul | empty }} \
             {{ false | empty }} {{ {} | empty }} {{ [] | empty }} {{ Values.missing | empty }} {{ \"a\" | empty }}",
            "true true false true true true true true false",
        ),
        ("{% if Values.e is empty %}yes{% endif %}", "yes"),
        (
            "[{{ Values.e | default(value=\"d\") }}] [{{ Values.z | default(value=\"d\") }}] \
             [{{ Values.s | default(value=\"d\") }}] [{{ false | default(value=\"d\") }}] \
             [{{ Values.missing | default(value=\"d\") }}]",
            "[d] [d] [hello] [d] [d]",
        ),
    ]);
}

#[test]
fn indent_and_nindent_pad_every_line() {
    check(&[
        (
            "[{{ Values.multi | indent(n=2) }}]",
            "[  line1\n  line2\n  ]",
        ),
        ("[{{ \"a\n\nb\" | nindent(n=2) }}]", "[\n  a\n  \n  b]"),
        ("[{{ \"a\nb\" | indent(n=0) }}]", "[a\nb]"),
        ("[{{ \"\" | nindent(n=2) }}]", "[\n  ]"),
    ]);
}

#[test]
fn to_yaml_matches_helm() {
    check(&[
        (
            "{{ Values.m | toYaml }}",
            "a:\n  x: \"1\"\nb: 2\nc:\n- 1\n- 2",
        ),
        ("{{ Values.l | toYaml }}", "- b\n- a\n- b\n- \"\"\n- c"),
        ("{{ Values.s | toYaml }}", "hello"),
        ("{{ Values.multi | toYaml }}", "|\n  line1\n  line2"),
        ("{{ Values.nul | toYaml }}", "null"),
        ("{{ Values.f | toYaml }}", "1.5"),
        ("{{ {} | toYaml }}", "{}"),
        ("{{ [] | toYaml }}", "[]"),
        (
            "{{ {\"a\": [{\"b\": 1, \"c\": 2}]} | toYaml }}",
            "a:\n- b: 1\n  c: 2",
        ),
        (
            "{{ Values.m | toYaml | nindent(n=4) }}",
            "\n    a:\n      x: \"1\"\n    b: 2\n    c:\n    - 1\n    - 2",
        ),
    ]);
}

#[test]
fn to_yaml_quotes_ambiguous_strings() {
    // Whatever the quoting style, the YAML must read back as the same strings.
    let strings = [
        "on",
        "123",
        "",
        "true",
        "a: b",
        " lead",
        "x:y",
        "#c",
        "*a",
        "- x",
        "~",
        "null",
        "1.5",
        "0777",
        "2021-01-01",
        "yes",
        "no",
    ];
    let map: serde_json::Map<String, serde_json::Value> = strings
        .iter()
        .enumerate()
        .map(|(i, s)| (format!("k{i}"), json!(s)))
        .collect();
    let out = ok("{{ Values.m | toYaml }}", json!({"m": map}));
    let back: serde_json::Value = serde_yaml::from_str(&out).unwrap();
    assert_eq!(back, serde_json::Value::Object(map), "{out}");
}

#[test]
fn json_conversions() {
    check(&[
        (
            "{{ Values.m | toJson }}",
            r#"{"a":{"x":"1"},"b":2,"c":[1,2]}"#,
        ),
        (
            "{{ {\"b\": [1]} | toPrettyJson }}",
            "{\n  \"b\": [\n    1\n  ]\n}",
        ),
        (
            "{% set y = \"a: 1\\nb: [x]\" | fromYaml %}{{ y.b }}",
            "[\"x\"]",
        ),
        ("{% set j = \"{\\\"a\\\": 2}\" | fromJson %}{{ j.a }}", "2"),
        ("{{ (\"- 1\\n- 2\" | fromYamlArray) | length }}", "2"),
    ]);
    assert!(err("{{ \"a: [\" | fromYaml }}", json!({})).contains("fromYaml: invalid YAML"));
    assert!(err("{{ \"{\" | fromJson }}", json!({})).contains("fromJson: invalid JSON"));
}

#[test]
fn string_functions_match_helm() {
    check(&[
        (
            "[{{ \"abcdef\" | trunc(n=3) }}] [{{ \"abcdef\" | trunc(n=-3) }}] [{{ \"abc\" | trunc(n=10) }}]",
            "[abc] [def] [abc]",
        ),
        (
            "{{ \"hello wORLD foo-bar\" | title }}",
            "Hello WORLD Foo-Bar",
        ),
        ("{{ \"aB\" | upper }} {{ \"aB\" | lower }}", "AB ab"),
        (
            "{{ \"a-x\" | trimSuffix(suffix=\"-x\") }} {{ \"a-x\" | trimPrefix(prefix=\"a-\") }}",
            "a x",
        ),
        (
            "{{ \"banana\" | replace(old=\"a\", new=\"b\") }} {{ \"banana\" | replace(from=\"n\", to=\"N\") }}",
            "bbnbnb baNaNa",
        ),
        (
            "{{ \"hello\" | contains(substr=\"ell\") }} {{ \"hello\" | hasPrefix(prefix=\"he\") }} {{ \"hello\" | hasSuffix(suffix=\"lo\") }} {{ \"hello\" | hasPrefix(prefix=\"x\") }}",
            "true true true false",
        ),
        (
            "{{ \"abc\" | regexMatch(regex=\"^a.c$\") }} {{ \"-ab-axxb-\" | regexReplaceAll(regex=\"a(x*)b\", replacement=\"${1}W\") }}",
            "true -W-xxW-",
        ),
        (
            "{{ \"a,b,,c\" | splitList(sep=\",\") | toString }}",
            "[a b  c]",
        ),
        (
            "{{ [1, \"a\", 2.5, true, Values.nul] | join(sep=\"-\") }}",
            "1-a-2.5-true",
        ),
        ("  {{ \" x \" | trim }}", "  x"),
    ]);
    assert!(
        err("{{ \"a\" | regexMatch(regex=\"(\") }}", json!({}))
            .contains("error parsing regexp: missing closing ): `(`")
    );
}

#[test]
fn encodings_match_helm() {
    check(&[
        ("{{ \"hi there\" | b64enc }}", "aGkgdGhlcmU="),
        ("{{ \"aGkgdGhlcmU=\" | b64dec }}", "hi there"),
        (
            "{{ \"abc\" | sha256sum }}",
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
        ),
    ]);
    assert!(err("{{ \"!!\" | b64dec }}", json!({})).contains("is not valid base64"));
}

#[test]
fn collections_match_helm() {
    check(&[
        ("{{ Values.l | uniq | toString }}", "[b a  c]"),
        ("{{ Values.l | compact | toString }}", "[b a b c]"),
        (
            "{{ Values.m | keys | toString }} {{ Values.m | hasKey(key=\"a\") }} {{ Values.m | hasKey(key=\"q\") }}",
            "[a b c] true false",
        ),
        (
            "{{ [{\"a\": 1}, {\"b\": 2}, {\"a\": 3}] | pluck(key=\"a\") | toString }}",
            "[1 3]",
        ),
        (
            "{{ pluck(key=\"a\", maps=[{\"a\": 1}, {\"a\": 3}]) | toString }}",
            "[1 3]",
        ),
        (
            "{{ Values.m | dig(path=\"a.x\", default=\"def\") }} {{ Values.m | dig(keys=[\"a\", \"zz\"], default=\"def\") }}",
            "1 def",
        ),
        (
            "{{ {\"a\": 1, \"n\": {\"x\": 1} } | merge(src={\"a\": 2, \"b\": 3, \"n\": {\"x\": 2, \"y\": 3} }) | toJson }}",
            r#"{"a":1,"b":3,"n":{"x":1,"y":3}}"#,
        ),
        (
            "{{ {\"a\": 1, \"n\": {\"x\": 1} } | mergeOverwrite(src={\"a\": 2, \"b\": 3, \"n\": {\"x\": 2, \"y\": 3} }) | toJson }}",
            r#"{"a":2,"b":3,"n":{"x":2,"y":3}}"#,
        ),
        (
            "{{ {\"a\": 1} | merge(src=[{\"b\": 2}, {\"b\": 3, \"c\": 4}]) | toJson }}",
            r#"{"a":1,"b":2,"c":4}"#,
        ),
        (
            "{{ dict(app=\"web\", tier=3) | toJson }}",
            r#"{"app":"web","tier":3}"#,
        ),
        (
            "{{ list(items=[1, 2]) | toJson }} {{ list() | toJson }}",
            "[1,2] []",
        ),
        (
            "{{ Values.l | has(value=\"c\") }} {{ Values.l | has(value=\"q\") }}",
            "true false",
        ),
    ]);
}

#[test]
fn logic_functions() {
    check(&[
        (
            "[{{ [Values.e, Values.z, Values.s] | coalesce }}] [{{ coalesce(values=[Values.e, 0]) }}]",
            "[hello] []",
        ),
        (
            "{{ true | ternary(true_value=\"y\", false_value=\"n\") }} {{ ternary(true_value=\"y\", false_value=\"n\", condition=Values.e) }}",
            "y n",
        ),
        ("[{{ \"x\" | required(msg=\"boom\") }}]", "[x]"),
    ]);
}

#[test]
fn required_and_fail_report_their_message_with_location() {
    assert_eq!(
        err(
            "a: 1\nb: {{ Values.x | required(msg=\"x is required\") }}",
            json!({})
        ),
        "mychart/templates/t.yaml:2: x is required"
    );
    assert_eq!(
        err("{{ Values.e | required(msg=\"e must be set\") }}", sample()),
        "mychart/templates/t.yaml:1: e must be set"
    );
    assert_eq!(
        err("a\n\n{{ fail(msg=\"unsupported mode\") }}", json!({})),
        "mychart/templates/t.yaml:3: unsupported mode"
    );
}

#[test]
fn type_functions_and_int() {
    check(&[
        (
            "{{ \"42\" | int }} {{ \"abc\" | int }} {{ 3.9 | int }} {{ \"0x10\" | int }} {{ true | int }} {{ \"3.7\" | int }}",
            "42 0 3 16 1 0",
        ),
        (
            "{{ Values.m | kindIs(kind=\"map\") }} {{ Values.l | kindOf }} {{ Values.nul | kindOf }} {{ Values.s | kindOf }} {{ 3 | kindOf }} {{ 1.5 | kindOf }}",
            "true slice invalid string int64 float64",
        ),
        (
            "{{ Values.m | typeOf }}|{{ Values.l | typeOf }}|{{ Values.nul | typeOf }}|{{ Values.s | typeOf }}|{{ true | typeOf }}",
            "map[string]interface {}|[]interface {}|<nil>|string|bool",
        ),
    ]);
}

#[test]
fn semver_compare_against_capabilities() {
    check(&[
        (
            "{{ Capabilities.KubeVersion.Version | semverCompare(constraint=\">=1.20-0\") }}",
            "true",
        ),
        (
            "{{ semverCompare(constraint=\"<1.19\", version=Capabilities.KubeVersion.Version) }}",
            "false",
        ),
    ]);
    assert!(
        err("{{ \"x\" | semverCompare(constraint=\">=1\") }}", json!({}))
            .contains("invalid semantic version")
    );
}

#[test]
fn dates_and_randomness() {
    check(&[
        (
            "{{ \"2024-03-05\" | date(format=\"2006-01-02 15:04:05 Mon Jan\") }}",
            "2024-03-05 00:00:00 Tue Mar",
        ),
        ("{{ 0 | date(format=\"%Y\") }}", "1970"),
    ]);
    let now = ok("{{ now() }}", json!({}));
    assert!(chrono::DateTime::parse_from_rfc3339(&now).is_ok(), "{now}");
    let a = ok("{{ randAlphaNum(n=24) }}", json!({}));
    let b = ok("{{ 24 | randAlphaNum }}", json!({}));
    assert_eq!(a.len(), 24);
    assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
    assert_ne!(a, b, "two random strings should differ");
}

#[test]
fn lookup_is_empty_offline_and_uses_the_hook_when_connected() {
    assert_eq!(
        ok(
            "{{ lookup(apiVersion=\"v1\", kind=\"Secret\", namespace=\"ns\", name=\"s\") | toJson }}",
            json!({})
        ),
        "{}"
    );
    let c = chart(
        "mychart",
        &[(
            "templates/t.yaml",
            "{% set s = lookup(apiVersion=\"v1\", kind=\"Secret\", namespace=\"ns\", name=\"s\") %}{{ s.data.k }}",
        )],
    );
    let options = RenderOptions {
        lookup: Some(Arc::new(|api: &str, kind: &str, ns: &str, name: &str| {
            Ok(json!({"data": {"k": format!("{api}|{kind}|{ns}|{name}")}}))
        })),
        ..Default::default()
    };
    let out = render(&c, &Values::new(), &options).unwrap();
    assert_eq!(out.templates[0].content, "v1|Secret|ns|s");
}

#[test]
fn tpl_renders_strings_in_the_current_context() {
    check(&[
        (
            "{{ \"{{ Values.s }}-{{ Release.Name }}\" | tpl }}",
            "hello-release-name",
        ),
        ("{{ tpl(template=\"{{ Values.n + 1 }}\") }}", "4"),
    ]);
    let e = err("x\n{{ \"{{ Values.nope }}\" | tpl }}", json!({}));
    assert!(
        e.starts_with("mychart/templates/t.yaml (tpl string):1: Field `nope` is not defined")
            && e.ends_with("(called from mychart/templates/t.yaml:2)"),
        "{e}"
    );
}

const HELPERS: &str = r#"{% component mychart.name(@Chart, @Values) -%}
{{ Values.nameOverride | default(value=Chart.Name) }}
{%- endcomponent mychart.name %}
{% component mychart.labels(@Chart, @Values, @Release) -%}
app: {{ include(name="mychart.name") }}
release: {{ Release.Name }}
{%- endcomponent mychart.labels %}
{% component mychart.greet(who) -%}hello {{ who }}{%- endcomponent mychart.greet %}
{% component mychart.template(@Template) -%}{{ Template.Name }}{%- endcomponent mychart.template %}
"#;

#[test]
fn include_renders_helpers_that_pipe_on() {
    let c = chart(
        "mychart",
        &[
            ("templates/_helpers.tpl", HELPERS),
            (
                "templates/t.yaml",
                "labels:{{ include(name=\"mychart.labels\") | nindent(n=2) }}\n\
                 native: {{ <mychart.name /> | upper }}\n\
                 args: {{ include(name=\"mychart.greet\", who=\"bob\") }}\n\
                 template: {{ include(name=\"mychart.template\") }}",
            ),
        ],
    );
    let out = render(
        &c,
        &values(json!({"nameOverride": "web"})),
        &RenderOptions::default(),
    )
    .unwrap();
    assert_eq!(
        out.templates.len(),
        1,
        "partials do not render on their own"
    );
    assert_eq!(
        out.templates[0].content,
        "labels:\n  app: web\n  release: release-name\nnative: WEB\nargs: hello bob\n\
         template: mychart/templates/t.yaml"
    );
}

#[test]
fn errors_inside_helpers_name_the_helper_and_the_caller() {
    let c = chart(
        "mychart",
        &[
            (
                "templates/_helpers.tpl",
                "{% component mychart.img(@Values) -%}\n{{ Values.image | required(msg=\"image is required\") }}\n{%- endcomponent mychart.img %}",
            ),
            (
                "templates/t.yaml",
                "a: 1\nimage: {{ include(name=\"mychart.img\") }}",
            ),
        ],
    );
    let e = render(&c, &Values::new(), &RenderOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "mychart/templates/_helpers.tpl:2: image is required (called from mychart/templates/t.yaml:2)"
    );
    assert_eq!(e.file(), "mychart/templates/_helpers.tpl");
    assert_eq!(e.line(), Some(2));
}

#[test]
fn unknown_things_are_errors_with_locations() {
    assert_eq!(
        err("line1\n{{ Values.x | nope }}", json!({"x": 1})),
        "mychart/templates/t.yaml:2: Unknown filter `nope`"
    );
    assert_eq!(
        err("\n\n{{ include(name=\"nope\") }}", json!({})),
        "mychart/templates/t.yaml:3: include: no helper named `nope` in chart mychart or its subcharts"
    );
    assert_eq!(
        err("{{ <nope /> }}", json!({})),
        "mychart/templates/t.yaml:1: Unknown component `nope`"
    );
    assert_eq!(
        err("a\n{% if %}", json!({}))
            .split(": Found")
            .next()
            .unwrap(),
        "mychart/templates/t.yaml:2"
    );
    assert_eq!(
        err("{{ Values.missing }}", json!({})),
        "mychart/templates/t.yaml:1: Field `missing` is not defined."
    );
}

#[test]
fn templates_cannot_reach_the_environment_or_filesystem() {
    assert_eq!(
        err("{{ get_env(name=\"HOME\") }}", json!({})),
        "mychart/templates/t.yaml:1: Unknown function `get_env`"
    );
    assert_eq!(
        err("{% include \"../../etc/passwd\" %}", json!({})),
        "mychart/templates/t.yaml:1: Unknown template `../../etc/passwd`"
    );
    assert_eq!(
        err("{% include \"/etc/passwd\" %}", json!({})),
        "mychart/templates/t.yaml:1: Unknown template `/etc/passwd`"
    );
    // fileGet only sees the chart's own files.
    assert_eq!(
        ok(
            "[{{ fileGet(path=\"/etc/passwd\") }}][{{ fileGet(path=\"../Chart.yaml\") }}]",
            json!({})
        ),
        "[][]"
    );
}

#[test]
fn runaway_recursion_is_stopped() {
    let c = chart(
        "mychart",
        &[
            (
                "templates/_loop.tpl",
                "{% component loop() %}{{ include(name=\"loop\") }}{% endcomponent loop %}",
            ),
            ("templates/t.yaml", "{{ include(name=\"loop\") }}"),
        ],
    );
    let e = render(&c, &Values::new(), &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("nested more than 32 levels deep"), "{e}");
}

fn with_files(mut c: Chart, files: &[(&str, &[u8])]) -> Chart {
    c.files = files
        .iter()
        .map(|(n, d)| ChartFile {
            name: n.to_string(),
            data: d.to_vec(),
        })
        .collect();
    c
}

#[test]
fn chart_files_are_readable() {
    let c = with_files(
        chart(
            "mychart",
            &[(
                "templates/t.yaml",
                "get: {{ fileGet(path=\"config/app.ini\") }}\n\
                 lines: {{ fileLines(path=\"config/list.txt\") | toJson }}\n\
                 glob: {{ fileGlob(pattern=\"config/*.ini\") | keys | toJson }}\n\
                 deep: {{ fileGlob(pattern=\"config/**\") | length }}\n\
                 config:{{ fileGlob(pattern=\"config/*.ini\") | asConfig | nindent(n=2) }}\n\
                 secrets:{{ fileGlob(pattern=\"config/*.ini\") | asSecrets | nindent(n=2) }}\n\
                 binary: {{ fileGet(path=\"bin/blob\") | b64enc }}",
            )],
        ),
        &[
            ("config/app.ini", b"a=1"),
            ("config/db.ini", b"b=2"),
            ("config/list.txt", b"x\ny\n"),
            ("config/nested/deep.ini", b"c=3"),
            ("bin/blob", &[0xff, 0x00, 0x01]),
        ],
    );
    let out = render(&c, &Values::new(), &RenderOptions::default()).unwrap();
    assert_eq!(
        out.templates[0].content,
        "get: a=1\nlines: [\"x\",\"y\"]\nglob: [\"config/app.ini\",\"config/db.ini\"]\ndeep: 4\n\
         config:\n  app.ini: a=1\n  db.ini: b=2\n\
         secrets:\n  app.ini: YT0x\n  db.ini: Yj0y\n\
         binary: /wAB"
    );
}

fn umbrella() -> Chart {
    let mut sub = chart(
        "sub",
        &[
            (
                "templates/_helpers.tpl",
                "{% component name() %}sub-name{% endcomponent name %}\n\
                 {% component sub.only(@Values) %}sub-only {{ Values.port }}{% endcomponent sub.only %}",
            ),
            (
                "templates/svc.yaml",
                "name: {{ include(name=\"name\") }}\nport: {{ Values.port }}\nglobal: {{ Values.global.env }}\n\
                 chart: {{ Chart.Name }}\nbase: {{ Template.BasePath }}",
            ),
            ("templates/NOTES.txt", "sub notes are not shown"),
        ],
    );
    sub.metadata.version = "2.0.0".into();
    let mut lib = chart(
        "lib",
        &[
            (
                "templates/_lib.tpl",
                "{% component lib.hello(@Values) %}hello {{ Values.who }}{% endcomponent lib.hello %}",
            ),
            ("templates/ignored.yaml", "library charts render nothing"),
        ],
    );
    lib.metadata.chart_type = Some("library".into());
    let mut top = chart(
        "top",
        &[
            (
                "templates/_helpers.tpl",
                "{% component name() %}top-name{% endcomponent name %}",
            ),
            (
                "templates/cm.yaml",
                "name: {{ include(name=\"name\") }}\nsub: {{ include(name=\"sub.only\") }}\nlib: {{ include(name=\"lib.hello\") }}",
            ),
            ("templates/NOTES.txt", "Installed {{ Release.Name }}"),
        ],
    );
    top.dependencies = vec![lib, sub];
    top
}

fn umbrella_values() -> Values {
    values(json!({
        "who": "top", "port": 1,
        "global": {"env": "prod"},
        "sub": {"port": 8080, "global": {"env": "prod"}}
    }))
}

#[test]
fn subcharts_render_with_their_own_values_paths_and_helpers() {
    let out = render(&umbrella(), &umbrella_values(), &RenderOptions::default()).unwrap();
    let paths: Vec<_> = out.templates.iter().map(|t| t.path.as_str()).collect();
    assert_eq!(
        paths,
        ["top/charts/sub/templates/svc.yaml", "top/templates/cm.yaml"]
    );
    assert_eq!(
        out.templates[0].content,
        "name: sub-name\nport: 8080\nglobal: prod\nchart: sub\nbase: top/charts/sub/templates"
    );
    // The parent's own `name` wins for the parent; subchart and library helpers are callable
    // and see the caller's values.
    assert_eq!(
        out.templates[1].content,
        "name: top-name\nsub: sub-only 1\nlib: hello top"
    );
    assert_eq!(out.notes.as_deref(), Some("Installed release-name"));
}

#[test]
fn subcharts_expose_their_context_to_render_their_helpers_as_they_see_themselves() {
    let mut top = umbrella();
    top.templates.push(ChartFile {
        name: "templates/sub.yaml".into(),
        data: b"port: {{ Subcharts.sub.Values.port }}\nchart: {{ Subcharts.sub.Chart.Version }}\n\
                own: {{ include(name=\"sub.only\") }}\n\
                as sub: {{ include(name=\"sub.only\", Values=Subcharts.sub.Values) }}\n\
                missing: {{ Subcharts.nope is defined }}"
            .to_vec(),
    });
    let out = render(&top, &umbrella_values(), &RenderOptions::default()).unwrap();
    let sub = out
        .templates
        .iter()
        .find(|t| t.path == "top/templates/sub.yaml")
        .unwrap();
    assert_eq!(
        sub.content,
        "port: 8080\nchart: 2.0.0\nown: sub-only 1\nas sub: sub-only 8080\nmissing: false"
    );
}

#[test]
fn subchart_without_values_sees_an_empty_map() {
    let mut top = chart("top", &[]);
    top.dependencies = vec![chart(
        "sub",
        &[("templates/x.yaml", "{{ Values | length }}")],
    )];
    let out = render(&top, &Values::new(), &RenderOptions::default()).unwrap();
    assert_eq!(out.templates[0].content, "0");
}

#[test]
fn errors_in_subcharts_name_the_subchart_path() {
    let mut top = chart("top", &[]);
    top.dependencies = vec![chart(
        "sub",
        &[("templates/x.yaml", "ok\n{{ Values.nope }}")],
    )];
    let e = render(&top, &Values::new(), &RenderOptions::default()).unwrap_err();
    assert_eq!(
        e.to_string(),
        "top/charts/sub/templates/x.yaml:2: Field `nope` is not defined."
    );
}

#[test]
fn release_and_capabilities_come_from_options() {
    let options = RenderOptions {
        release: ReleaseInfo {
            name: "prod".into(),
            namespace: "shop".into(),
            revision: 7,
            is_install: false,
            is_upgrade: true,
            service: "Rudder".into(),
        },
        capabilities: Capabilities {
            kube_version: KubeVersion::parse("v1.29.4").unwrap(),
            api_versions: vec!["example.com/v1/Widget".into()],
        },
        lookup: None,
        strict: false,
        set_integers: Default::default(),
    };
    let c = chart(
        "mychart",
        &[(
            "templates/t.yaml",
            "{{ Release.Name }} {{ Release.Namespace }} {{ Release.Revision }} {{ Release.IsUpgrade }} \
             {{ Capabilities.KubeVersion.Version }} {{ Capabilities.KubeVersion.Minor }} \
             {{ \"example.com/v1/Widget\" in Capabilities.APIVersions }}",
        )],
    );
    let out = render(&c, &Values::new(), &options).unwrap();
    assert_eq!(out.templates[0].content, "prod shop 7 true v1.29.4 29 true");
}

#[test]
fn chart_metadata_uses_helm_field_names() {
    let mut c = chart(
        "mychart",
        &[(
            "templates/t.yaml",
            "{{ Chart.Name }}|{{ Chart.Description }}|{{ Chart.Type }}|{{ Chart.Annotations.team }}|\
             {{ Chart.Keywords | join(sep=\",\") }}|{{ Chart.Maintainers[0].Name }}|{{ Chart.APIVersion }}",
        )],
    );
    c.metadata.description = Some("demo".into());
    c.metadata.annotations.insert("team".into(), "core".into());
    c.metadata.keywords = vec!["a".into(), "b".into()];
    c.metadata.maintainers = vec![crate::chart::Maintainer {
        name: "ann".into(),
        ..Default::default()
    }];
    let out = render(&c, &Values::new(), &RenderOptions::default()).unwrap();
    assert_eq!(
        out.templates[0].content,
        "mychart|demo|application|core|a,b|ann|v2"
    );
}

#[test]
fn duplicate_helper_in_one_chart_is_an_error() {
    let c = chart(
        "mychart",
        &[
            (
                "templates/_a.tpl",
                "{% component x() %}a{% endcomponent x %}",
            ),
            (
                "templates/_b.tpl",
                "{% component x() %}b{% endcomponent x %}",
            ),
            ("templates/t.yaml", "{{ include(name=\"x\") }}"),
        ],
    );
    let e = render(&c, &Values::new(), &RenderOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("Component `x` is defined in both"), "{e}");
    assert!(
        e.contains("mychart/templates/_a.tpl") && e.contains("mychart/templates/_b.tpl"),
        "{e}"
    );
}

#[test]
fn undefined_values_can_be_tested_and_defaulted() {
    check(&[
        ("[{% if Values.missing %}yes{% endif %}]", "[]"),
        (
            "{% if Values.missing is defined %}yes{% else %}no{% endif %}",
            "no",
        ),
        (
            "[{{ Values.missing?.deeper | default(value=\"d\") }}]",
            "[d]",
        ),
        (
            "{{ Values.m.a.x if Values.m is defined else \"none\" }}",
            "1",
        ),
    ]);
}

#[test]
fn integral_floats_print_like_go() {
    assert_eq!(
        ok(
            "{{ Values.r }} {{ Values.r | toJson }} {{ Values.h }}",
            json!({"r": 3.0, "h": 0.5})
        ),
        "3 3 0.5"
    );
}

//! Go-template semantics, case by case, against the real helm 4.1.4: each case is a
//! template (and values) that both `helm template` and `rudder template` render; the outputs
//! must be byte-identical, and failures must carry helm's message.

mod peers;

use std::path::Path;
use std::process::Command;

const VALUES: &str = "\
port: 80
big: 1000000
ratio: 0.25
name: web
empty: \"\"
zero: 0
list: [a, b, c]
nested:
  inner:
    key: value
map:
  b: 2
  a: 1
nothing: null
yes: yes
octal: 0644
text: \"line1\\nline2\"
services:
  - name: a
    opts: {x: 1}
  - name: b
    env: [{name: E, value: v}]
";

/// (case name, template): each becomes `templates/<name>.yaml`.
const CASES: &[(&str, &str)] = &[
    // Actions, pipelines, variables.
    (
        "pipeline-last-arg",
        "v: {{ \"x\" | printf \"%s-%s\" \"a\" }}\n",
    ),
    (
        "variables",
        "v: {{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}\n",
    ),
    (
        "root-in-range",
        "v: {{ range .Values.list }}{{ $.Values.name }}-{{ . }} {{ end }}\n",
    ),
    (
        "range-index",
        "{{- range $i, $v := .Values.list }}\n{{ $i }}: {{ $v }}{{ end }}\n",
    ),
    (
        "range-map-sorted",
        "{{- range $k, $v := .Values.map }}\n{{ $k }}: {{ $v }}{{ end }}\n",
    ),
    ("range-int", "v: {{ range 3 }}{{ . }}{{ end }}\n"),
    (
        "range-else",
        "v: {{ range .Values.nothing }}x{{ else }}none{{ end }}\n",
    ),
    (
        "break-continue",
        "v: {{ range .Values.list }}{{ if eq . \"b\" }}{{ continue }}{{ end }}{{ if eq . \"c\" }}{{ break }}{{ end }}{{ . }}{{ end }}\n",
    ),
    (
        "if-else-if",
        "v: {{ if .Values.empty }}1{{ else if .Values.zero }}2{{ else }}3{{ end }}\n",
    ),
    (
        "with-else-with",
        "v: {{ with .Values.empty }}1{{ else with .Values.name }}{{ . }}{{ end }}\n",
    ),
    (
        "define-template-block",
        "v: {{ define \"p.t\" }}[{{ . }}]{{ end }}{{ template \"p.t\" .Values.name }}{{ block \"p.b\" .Values.port }}<{{ . }}>{{ end }}\n",
    ),
    (
        "dollar-in-define",
        "v: {{ define \"p.d\" }}{{ $ }}{{ end }}{{ include \"p.d\" .Values.name }}\n",
    ),
    (
        "trim-and-comments",
        "k: a   {{- /* a comment */ -}}   b\nraw: {{ `x\\n{{y}}` | quote }}\n",
    ),
    (
        "and-or-values",
        "v: {{ and 1 0 2 }} {{ or 0 \"\" \"z\" }} {{ and .Values.name .Values.port }} {{ or .Values.nothing \"d\" }}\n",
    ),
    (
        "not-len-index-slice",
        "v: {{ not 0 }} {{ len .Values.list }} {{ index .Values.list 1 }} {{ index .Values \"map\" \"a\" }} {{ slice .Values.list 1 }}\n",
    ),
    (
        "eq-many",
        "v: {{ eq .Values.name \"x\" \"web\" }} {{ ne 1 2 }} {{ lt 1 2 }} {{ ge \"b\" \"a\" }}\n",
    ),
    (
        "print-family",
        "v: {{ print 1 2 \"a\" \"b\" 3 }}|{{ println \"x\" 1 | quote }}|{{ printf \"%v %q %5.2f %-4s| %x %T\" .Values.list \"q\" 3.14159 \"ab\" 255 .Values.port }}\n",
    ),
    // helm's data model.
    (
        "float64-values",
        "v: {{ .Values.port }} {{ .Values.big }} {{ .Values.ratio }} {{ printf \"%d\" .Values.port }} {{ .Values.octal }} {{ .Values.yes }}\n",
    ),
    (
        "missing-keys",
        "v: [{{ .Values.missing }}] [{{ .Values.nothing }}] [{{ (.Values.missing).deeper }}] [{{ index .Values \"missing\" }}]\n",
    ),
    (
        "go-printing",
        "v: {{ .Values.map }} {{ .Values.list }} {{ .Values.nested }}\n",
    ),
    (
        "set-is-shared",
        "v: {{ $d := dict \"a\" 1 }}{{ $e := $d }}{{ $_ := set $e \"b\" 2 }}{{ $_ := unset $d \"a\" }}{{ $d }} {{ mergeOverwrite (dict \"x\" 1) (dict \"x\" 2 \"y\" 3) }}\n",
    ),
    // Maps of values are shared references whichever way a template reaches them, and a
    // change made by one template is seen by the templates rendered after it.
    (
        "values-maps-are-shared",
        "v: {{ $s := index .Values.services 0 }}{{ $_ := set $s \"port\" 8 }}{{ $o := $s.opts }}{{ $_ := set $o \"y\" 2 }}{{ $_ := set .Values.nested.inner \"k2\" \"v2\" }}{{ (index .Values.services 0).port }} {{ .Values.nested.inner }} {{ (index .Values.services 0).opts }} {{ toJson .Values.services }}\n",
    ),
    (
        "values-z-changes",
        "{{- $_ := set .Values.map \"c\" 3 }}{{ $_ := unset (index .Values.services 1) \"name\" }}{{ $_ := mergeOverwrite .Values.nested (dict \"inner\" (dict \"extra\" 1)) }}v: changed\n",
    ),
    (
        "values-a-sees-changes",
        "v: {{ .Values.map }} {{ index .Values.services 1 }} {{ toJson .Values.nested }} {{ hasKey (index .Values.services 1) \"name\" }}\n",
    ),
    (
        "truthiness",
        "v: {{ if .Values.empty }}t{{ else }}f{{ end }}{{ if .Values.zero }}t{{ else }}f{{ end }}{{ if list }}t{{ else }}f{{ end }}{{ if dict }}t{{ else }}f{{ end }}{{ if .Values.list }}t{{ else }}f{{ end }}\n",
    ),
    // Functions from the census of real charts.
    (
        "yaml-json",
        "{{- toYaml .Values.nested | nindent 0 }}\nj: '{{ toJson .Values.map }} {{ toJson \"<a&b>\" }}'\nf: {{ (fromYaml \"a: 1\\nb: [x]\").b }}\ny: {{ toYaml .Values.text }}\n",
    ),
    (
        "strings",
        "v: {{ trunc 3 \"abcdef\" }} {{ trimSuffix \"-\" \"a-\" }} {{ quote .Values.port }} {{ squote \"s\" }} {{ upper \"a\" }} {{ title \"hello world\" }} {{ replace \"a\" \"b\" \"aaa\" }} {{ contains \"b\" \"abc\" }} {{ indent 2 \"x\" | quote }}\n",
    ),
    (
        "defaults",
        "v: {{ default \"d\" .Values.empty }} {{ default \"d\" .Values.name }} {{ empty .Values.zero }} {{ coalesce .Values.nothing .Values.empty \"c\" }} {{ ternary \"y\" \"n\" true }}\n",
    ),
    (
        "dicts-lists",
        "v: {{ hasKey .Values.map \"a\" }} {{ dig \"inner\" \"key\" \"none\" .Values.nested }} {{ keys .Values.map | sortAlpha }} {{ omit .Values.map \"a\" }} {{ list 1 \"a\" | toJson }} {{ append .Values.list \"d\" }} {{ concat .Values.list (list \"z\") }}\n",
    ),
    (
        "math-conversions",
        "v: {{ int .Values.port | add 1 }} {{ .Values.ratio | float64 }} {{ toString 42 }} {{ atoi \"7\" }} {{ max 1 5 3 }} {{ div 7 2 }} {{ mod 7 2 }}\n",
    ),
    (
        "cast-conversions",
        "v: {{ int \"5.00\" }} {{ int \" 5\" }} {{ float64 \"1_000\" }} {{ int \"0x1F\" }} {{ int64 \"017\" }} {{ float64 \" 1\" }} {{ int \"5.5\" }} {{ add \"3\" 4 }}\n",
    ),
    (
        "kinds",
        "v: {{ kindOf .Values.map }} {{ kindIs \"slice\" .Values.list }} {{ typeOf .Values.port }} {{ typeOf .Values.name }}\n",
    ),
    (
        "encoding",
        "v: {{ b64enc \"hello\" }} {{ \"aGVsbG8=\" | b64dec }} {{ sha256sum \"x\" }}\n",
    ),
    (
        "semver",
        "v: {{ semverCompare \">=1.20-0\" .Capabilities.KubeVersion.GitVersion }} {{ semverCompare \"<1.0\" \"v1.2.3\" }}\n",
    ),
    (
        "tpl",
        "v: {{ tpl \"{{ .Values.name }}-{{ .Release.Name }}\" . }}\n",
    ),
    (
        "regex",
        "v: {{ regexReplaceAll \"a(x*)b\" \"-ab-axxb-\" \"${1}W\" }} {{ regexMatch \"^[a-z]+$\" \"abc\" }}\n",
    ),
    (
        "context",
        "v: {{ .Chart.Name }} {{ .Chart.IsRoot }} {{ .Release.Service }} {{ .Release.Revision }} {{ .Capabilities.APIVersions.Has \"apps/v1\" }} {{ .Template.Name }} {{ .Template.BasePath }} {{ .Files.Get \"files/x.txt\" | trim | quote }} {{ .Capabilities.KubeVersion.Minor }}\n",
    ),
    (
        "files",
        "{{- (.Files.Glob \"files/*\").AsConfig | nindent 0 }}\nlines: {{ .Files.Lines \"files/x.txt\" }}\n",
    ),
];

/// Failing templates: helm's error (everything it prints up to the `--debug` hint).
const FAILURES: &[(&str, &str)] = &[
    ("parse", "v: {{ .Values.port }\n"),
    ("unknown-function", "v: {{ nofunc 1 }}\n"),
    ("nil-pointer", "v: {{ .Values.missing.x }}\n"),
    ("field-of-string", "v: {{ .Values.name.x }}\n"),
    ("comparison", "v: {{ eq .Values.port 80 }}\n"),
    ("fail", "v: {{ fail \"stop here\" }}\n"),
    (
        "required",
        "v: {{ required \"name is required\" .Values.missing }}\n",
    ),
    (
        "through-include",
        "{{ define \"p.bad\" }}\n{{ .Values.missing.x }}{{ end }}v: {{ include \"p.bad\" . }}\n",
    ),
];

fn write_chart(dir: &Path, templates: &[(&str, &str)]) {
    std::fs::create_dir_all(dir.join("templates")).unwrap();
    std::fs::create_dir_all(dir.join("files")).unwrap();
    std::fs::write(
        dir.join("Chart.yaml"),
        "apiVersion: v2\nname: parity\nversion: 0.1.0\n",
    )
    .unwrap();
    std::fs::write(dir.join("values.yaml"), VALUES).unwrap();
    std::fs::write(dir.join("files/x.txt"), "one\ntwo\n").unwrap();
    std::fs::write(dir.join("files/y.conf"), "k=v\n").unwrap();
    for (name, body) in templates {
        // `v: …` lines become literal blocks, so any one-line output is valid YAML.
        let body = match body.strip_prefix("v: ") {
            Some(rest) => format!("v: |\n  {rest}"),
            None => body.to_string(),
        };
        std::fs::write(dir.join(format!("templates/{name}.yaml")), body).unwrap();
    }
}

fn render(tool: &Path, chart: &Path) -> (bool, String, String) {
    render_with(tool, chart, &[])
}

fn render_with(tool: &Path, chart: &Path, flags: &[&str]) -> (bool, String, String) {
    let out = Command::new(tool)
        .args(["template", "rel", chart.to_str().unwrap(), "-n", "ns"])
        .args(flags)
        .env("HELM_CONFIG_HOME", chart.join(".helm"))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The output's documents by their `# Source:` template.
fn by_source(output: &str) -> Vec<(String, String)> {
    output
        .split("---\n# Source: ")
        .filter(|d| !d.is_empty())
        .map(|d| {
            let (source, body) = d.split_once('\n').unwrap_or((d, ""));
            (source.to_string(), body.to_string())
        })
        .collect()
}

#[test]
fn go_template_semantics_match_helm_case_by_case() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("parity");
    write_chart(&chart, CASES);
    let rudder = Path::new(env!("CARGO_BIN_EXE_rudder"));
    let (h_ok, helm_out, helm_err) = render(&peers::helm(), &chart);
    assert!(h_ok, "helm fails on the cases: {helm_err}");
    let (r_ok, rudder_out, rudder_err) = render(rudder, &chart);
    assert!(r_ok, "rudder fails on the cases: {rudder_err}");
    let ours = by_source(&rudder_out);
    let mut differences = Vec::new();
    for (source, body) in by_source(&helm_out) {
        match ours.iter().find(|(s, _)| *s == source) {
            Some((_, mine)) if *mine == body => {}
            Some((_, mine)) => {
                differences.push(format!("{source}:\n  helm:   {body:?}\n  rudder: {mine:?}"))
            }
            None => differences.push(format!("{source}: rudder printed nothing")),
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    assert_eq!(rudder_out, helm_out, "same documents in the same order");
}

#[test]
fn go_template_failures_read_as_helm_words_them() {
    let rudder = Path::new(env!("CARGO_BIN_EXE_rudder"));
    let helm = peers::helm();
    for (name, body) in FAILURES {
        let tmp = tempfile::tempdir().unwrap();
        let chart = tmp.path().join("parity");
        write_chart(&chart, &[(name, body)]);
        let (h_ok, _, helm_err) = render(&helm, &chart);
        let (r_ok, rudder_out, rudder_err) = render(rudder, &chart);
        assert!(
            !h_ok && !r_ok,
            "{name}: both must fail (rudder printed {rudder_out:?})"
        );
        assert!(
            rudder_out.is_empty(),
            "{name}: nothing is printed on failure"
        );
        let helm_message = helm_err
            .split("\nUse --debug flag")
            .next()
            .unwrap()
            .trim_end();
        assert_eq!(rudder_err.trim_end(), helm_message, "{name}");
    }
}

#[test]
fn strict_lint_makes_a_missing_key_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("parity");
    write_chart(&chart, &[("cm", "v: {{ .Values.nosuchkey }}\n")]);
    let lint = |strict: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rudder"));
        cmd.args(["lint", chart.to_str().unwrap()]);
        if strict {
            cmd.arg("--strict");
        }
        cmd.output().unwrap()
    };
    // Without --strict a missing key prints nothing, as in helm.
    let lenient = lint(false);
    let lenient_out = String::from_utf8_lossy(&lenient.stdout);
    assert!(!lenient_out.contains("nosuchkey"), "{lenient_out}");
    let strict = lint(true);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&strict.stdout),
        String::from_utf8_lossy(&strict.stderr)
    );
    assert_eq!(strict.status.code(), Some(1), "{report}");
    assert!(
        report.contains("parity/templates/cm.yaml:2:")
            && report.contains("map has no entry for key \"nosuchkey\""),
        "{report}"
    );
}

#[test]
fn set_integers_are_int64_and_file_numbers_float64_as_in_helm() {
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("parity");
    write_chart(
        &chart,
        &[(
            "numbers",
            "v: {{ .Values.big }} {{ .Values.n }} {{ printf \"%d %v\" .Values.n .Values.port }} {{ index .Values.list 1 }} {{ .Values.nested.count }} {{ .Values.s }}\n",
        )],
    );
    let flags = [
        "--set",
        "n=1000000,list[1]=3000000,nested.count=2000000,s=5",
        "--set-string",
        "s=12345678",
    ];
    let (h_ok, helm_out, helm_err) = render_with(&peers::helm(), &chart, &flags);
    assert!(h_ok, "{helm_err}");
    let (r_ok, rudder_out, rudder_err) =
        render_with(Path::new(env!("CARGO_BIN_EXE_rudder")), &chart, &flags);
    assert!(r_ok, "{rudder_err}");
    assert!(
        helm_out.contains("1e+06 1000000 1000000 80 3000000 2000000 12345678"),
        "{helm_out}"
    );
    assert_eq!(rudder_out, helm_out);
}

/// A chart of `count` templates (enough for rudder to render them on several threads when
/// it may); `extra` is added to every template's body, `$i` being its number.
fn many_templates(count: usize, extra: impl Fn(usize) -> String) -> Vec<(String, String)> {
    (0..count)
        .map(|i| {
            let body = format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{{{ .Release.Name }}}}-{i}\n  labels:\n    {{{{- include \"parity.labels\" . | nindent 4 }}}}\ndata:\n  template: {{{{ .Template.Name | quote }}}}\n  list: {{{{ .Values.list | toJson | quote }}}}\n  nested: |\n    {{{{- toYaml .Values.nested | nindent 4 }}}}\n{}",
                extra(i)
            );
            (format!("cm-{i:03}"), body)
        })
        .chain(std::iter::once((
            "_helpers".to_string(),
            "{{- define \"parity.labels\" -}}\napp: {{ .Chart.Name }}\nrelease: {{ .Release.Name }}\n{{- end }}\n".to_string(),
        )))
        .collect()
}

fn write_many(dir: &Path, templates: &[(String, String)]) {
    let borrowed: Vec<(&str, &str)> = templates
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_str()))
        .collect();
    write_chart(dir, &borrowed);
    // The helpers file is a partial: `_helpers.tpl`, not a rendered `.yaml`.
    std::fs::rename(
        dir.join("templates/_helpers.yaml"),
        dir.join("templates/_helpers.tpl"),
    )
    .unwrap();
}

#[test]
fn many_templates_render_as_helm_renders_them_whether_or_not_one_changes_the_values() {
    let rudder = Path::new(env!("CARGO_BIN_EXE_rudder"));
    let helm = peers::helm();
    // Independent templates (rudder may render them in parallel), then templates where one
    // changes the values the later ones read. helm's order must show: it runs them in
    // reverse path order, so cm-199 … cm-151 print the value before cm-150 changes it, and
    // cm-149 … cm-000 print the changed one.
    let independent = many_templates(200, |_| String::new());
    let changing = many_templates(200, |i| {
        let mut body = "  name: {{ .Values.name }}\n".to_string();
        if i == 150 {
            body.push_str("  {{- $_ := set .Values \"name\" \"changed\" }}\n");
        }
        body
    });
    for (label, templates) in [("independent", independent), ("changing", changing)] {
        let tmp = tempfile::tempdir().unwrap();
        let chart = tmp.path().join("parity");
        write_many(&chart, &templates);
        let (h_ok, helm_out, helm_err) = render(&helm, &chart);
        assert!(h_ok, "{label}: {helm_err}");
        let (r_ok, rudder_out, rudder_err) = render(rudder, &chart);
        assert!(r_ok, "{label}: {rudder_err}");
        assert_eq!(rudder_out, helm_out, "{label}");
        if label == "changing" {
            assert_eq!(helm_out.matches("name: changed").count(), 150, "{label}");
        }
    }
}

#[test]
fn of_many_failing_templates_the_first_in_helms_order_is_reported() {
    let rudder = Path::new(env!("CARGO_BIN_EXE_rudder"));
    let helm = peers::helm();
    // helm runs templates in reverse path order: cm-180 fails before cm-020 would.
    let templates = many_templates(200, |i| match i {
        20 | 180 => format!("  x: {{{{ required \"value {i} is required\" .Values.nosuch }}}}\n"),
        _ => String::new(),
    });
    let tmp = tempfile::tempdir().unwrap();
    let chart = tmp.path().join("parity");
    write_many(&chart, &templates);
    let (h_ok, _, helm_err) = render(&helm, &chart);
    let (r_ok, rudder_out, rudder_err) = render(rudder, &chart);
    assert!(!h_ok && !r_ok, "both fail");
    assert!(rudder_out.is_empty(), "nothing is printed on failure");
    assert!(helm_err.contains("value 180 is required"), "{helm_err}");
    let helm_message = helm_err
        .split("\nUse --debug flag")
        .next()
        .unwrap()
        .trim_end();
    assert_eq!(rudder_err.trim_end(), helm_message);
}

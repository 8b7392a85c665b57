//! `rudder convert`: helm charts become tera charts that render the same objects, with the
//! proof printed; what cannot convert faithfully is listed with file and line; bad input
//! gets one clear error and leaves nothing behind. The example charts' Go-template twins
//! (testdata/convert/) convert back to charts rendering what the hand-written tera charts
//! of charts-examples/ render.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rudder_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rudder"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run rudder")
}

fn rudder(args: &[&str]) -> Output {
    rudder_in(&root(), args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn render(chart: &Path, extra: &[&str]) -> String {
    let chart = chart.to_str().unwrap();
    let mut args = vec!["template", "rel", chart, "--notes", "-n", "shop"];
    args.extend_from_slice(extra);
    let out = rudder(&args);
    assert!(
        out.status.success(),
        "rudder {args:?}: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// `rudder convert CHART -o OUT [extra…]`.
fn convert(chart: &Path, out_dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "convert",
        chart.to_str().unwrap(),
        "-o",
        out_dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    rudder(&args)
}

/// Writes a Go-template chart from (path, content) pairs.
fn chart(dir: &Path, name: &str, files: &[(&str, &str)]) -> PathBuf {
    let chart = dir.join(name);
    std::fs::create_dir_all(chart.join("templates")).unwrap();
    std::fs::write(
        chart.join("Chart.yaml"),
        format!("apiVersion: v2\nname: {name}\nversion: 0.1.0\n"),
    )
    .unwrap();
    for (path, content) in files {
        let file = chart.join(path);
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(file, content).unwrap();
    }
    chart
}

/// The proof table's rows: (values, result).
fn proof_rows(stdout: &str) -> Vec<(String, String)> {
    stdout
        .lines()
        .filter_map(|l| l.split_once('\t'))
        .map(|(a, b)| (a.trim().to_string(), b.trim().to_string()))
        .collect()
}

/// Value variations that flip the examples' conditions (see tests/examples.rs).
const VARIATIONS: &[(&str, &[&str])] = &[
    ("webapp", &[]),
    (
        "webapp",
        &["-f", "testdata/golden/webapp-production-values.yaml"],
    ),
    (
        "webapp",
        &[
            "--set",
            "ingress.enabled=true,autoscaling.enabled=true,serviceAccount.create=false,podAntiAffinity=hard",
        ],
    ),
    ("model-worker", &[]),
    (
        "model-worker",
        &["--set", "workload=StatefulSet,partition=1,gpus=2"],
    ),
    ("stack", &[]),
    (
        "stack",
        &["--set", "frontend.enabled=false,tags.backend=false"],
    ),
];

#[test]
fn the_example_twins_convert_to_charts_rendering_what_the_hand_written_tera_charts_render() {
    let tmp = tempfile::tempdir().unwrap();
    for name in ["webapp", "model-worker", "stack"] {
        let out_dir = tmp.path().join(name);
        let twin = format!("testdata/convert/{name}");
        let out = rudder(&["convert", &twin, "-o", out_dir.to_str().unwrap()]);
        let stdout = text(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {stdout}{}",
            text(&out.stderr)
        );
        assert_eq!(
            proof_rows(&stdout)[1..],
            [("default values".to_string(), "identical".to_string())],
            "{name}: the proof says {stdout}"
        );
        let chart_yaml = std::fs::read_to_string(out_dir.join("Chart.yaml")).unwrap();
        assert!(
            chart_yaml.contains("rudder.io/engine: tera"),
            "{chart_yaml}"
        );
    }
    // The hand-written charts print Release.Service (`Rudder`); converted charts keep the
    // label helm gave the objects (`Helm`), so upgrading a release changes nothing.
    for (name, flags) in VARIATIONS {
        let original = render(&root().join("charts-examples").join(name), flags);
        let converted = render(&tmp.path().join(name), flags);
        let original = original.replace("managed-by: Rudder", "managed-by: Helm");
        if original != converted {
            let diff = similar::TextDiff::from_lines(&original, &converted)
                .unified_diff()
                .header("charts-examples", "converted twin")
                .to_string();
            panic!("{name} {flags:?}:\n{diff}");
        }
    }
}

#[test]
fn converted_helpers_are_components_with_their_calling_convention() {
    let tmp = tempfile::tempdir().unwrap();
    let src = chart(
        tmp.path(),
        "conv",
        &[
            (
                "values.yaml",
                "image: {repository: nginx, tag: \"1.27\"}\nports: [{name: http, port: 80}]\n",
            ),
            (
                "templates/_helpers.tpl",
                concat!(
                    "{{/* The chart's full name. */}}\n",
                    "{{- define \"my-app.fullname\" -}}\n",
                    "{{- printf \"%s-%s\" .Release.Name .Chart.Name | trunc 63 | trimSuffix \"-\" }}\n",
                    "{{- end }}\n",
                    "{{- define \"my-app.image\" -}}\n",
                    "{{ .image.repository }}:{{ .image.tag | default .context.Chart.AppVersion }}\n",
                    "{{- end }}\n",
                ),
            ),
            (
                "templates/svc.yaml",
                concat!(
                    "apiVersion: v1\nkind: Service\nmetadata:\n",
                    "  name: {{ include \"my-app.fullname\" . }}\n",
                    "  annotations:\n",
                    "    image: {{ include \"my-app.image\" (dict \"image\" .Values.image \"context\" $) }}\n",
                    "spec:\n  ports:\n",
                    "  {{- range .Values.ports }}\n",
                    "  - name: {{ .name }}\n    port: {{ .port }}\n",
                    "  {{- end }}\n",
                ),
            ),
        ],
    );
    let out_dir = tmp.path().join("out");
    let out = convert(&src, &out_dir, &[]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let helpers = std::fs::read_to_string(out_dir.join("templates/_helpers.tpl")).unwrap();
    assert!(
        helpers.contains("{# The chart's full name. #}"),
        "{helpers}"
    );
    assert!(
        helpers.contains("{%- component my_app.fullname(@Release, @Chart) -%}"),
        "{helpers}"
    );
    assert!(
        helpers.contains(
            "{{- (Release.Name ~ \"-\" ~ Chart.Name) | trunc(n=63) | trimSuffix(suffix=\"-\") }}"
        ),
        "{helpers}"
    );
    assert!(
        helpers.contains("{%- component my_app.image(image=none, @Chart) -%}"),
        "{helpers}"
    );
    assert!(
        helpers
            .contains("{{ image.repository }}:{{ image.tag | default(value=Chart.AppVersion) }}"),
        "{helpers}"
    );
    let svc = std::fs::read_to_string(out_dir.join("templates/svc.yaml")).unwrap();
    assert!(
        svc.contains("{{ include(name=\"my_app.fullname\") }}"),
        "{svc}"
    );
    assert!(
        svc.contains("{{ include(name=\"my_app.image\", image=Values.image) }}"),
        "{svc}"
    );
    assert!(svc.contains("{%- for port in Values.ports %}"), "{svc}");
    assert!(svc.contains("  - name: {{ port.name }}"), "{svc}");
}

#[test]
fn the_proof_covers_default_ci_and_user_values() {
    let tmp = tempfile::tempdir().unwrap();
    let src = chart(
        tmp.path(),
        "proved",
        &[
            ("values.yaml", "replicas: 1\nname: web\n"),
            ("ci/big-values.yaml", "replicas: 3\n"),
            (
                "templates/cm.yaml",
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Values.name }}\ndata:\n  replicas: {{ .Values.replicas | quote }}\n",
            ),
        ],
    );
    let user = tmp.path().join("user.yaml");
    std::fs::write(&user, "name: api\n").unwrap();
    let out_dir = tmp.path().join("out");
    let out = convert(
        &src,
        &out_dir,
        &["-f", user.to_str().unwrap(), "--set", "replicas=5"],
    );
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(
        proof_rows(&stdout),
        vec![
            ("VALUES".to_string(), "RESULT".to_string()),
            ("default values".into(), "identical".into()),
            ("ci/big-values.yaml".into(), "identical".into()),
            (
                format!("-f {} --set replicas=5", user.display()),
                "identical".into()
            ),
        ],
        "{stdout}"
    );
}

#[test]
fn what_cannot_convert_faithfully_is_listed_and_the_proof_fails() {
    let tmp = tempfile::tempdir().unwrap();
    let src = chart(
        tmp.path(),
        "quirks",
        &[
            ("values.yaml", "maxMsgs: 1000000\n"),
            (
                "templates/_helpers.tpl",
                "{{- define \"quirks.mode\" -}}\n{{- $_ := set .Values \"mode\" \"ha\" -}}\n{{- end }}\n",
            ),
            (
                "templates/cm.yaml",
                "{{- template \"quirks.mode\" . -}}\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: q\ndata:\n  max: \"{{ .Values.maxMsgs }}\"\n  mode: {{ .Values.mode | default \"standalone\" }}\n",
            ),
        ],
    );
    // --check: findings and proof, nothing written (not even the default ./quirks-tera).
    let out = rudder_in(tmp.path(), &["convert", src.to_str().unwrap(), "--check"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("quirks/templates/_helpers.tpl:2: `set` changes a map shared with other templates (.Values)"),
        "{stdout}"
    );
    assert!(
        stdout.contains("quirks/templates/cm.yaml:7: prints Values.maxMsgs (1000000 in the default values): helm reads numbers from values as float64 and prints it as 1e+06; tera prints 1000000"),
        "{stdout}"
    );
    assert_eq!(
        proof_rows(&stdout)[1..],
        [(
            "default values".to_string(),
            "differs: line 8 (quirks/templates/cm.yaml): Go \"  max: \\\"1e+06\\\"\" / tera \"  max: \\\"1000000\\\"\"".to_string()
        )],
        "{stdout}"
    );
    assert!(stdout.contains("nothing was written"), "{stdout}");
    assert!(!tmp.path().join("quirks-tera").exists());
    let leftovers: Vec<_> = std::fs::read_dir(tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}");
}

#[test]
fn a_tera_chart_is_refused_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let out = convert(Path::new("charts-examples/webapp"), &out_dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).trim(),
        "Error: webapp is already a tera chart (its Chart.yaml has rudder.io/engine: tera); there is nothing to convert"
    );
    assert!(!out_dir.exists());
}

#[test]
fn a_template_that_does_not_parse_is_named_with_its_line_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let src = chart(
        tmp.path(),
        "broken",
        &[(
            "templates/cm.yaml",
            "kind: ConfigMap\nmetadata:\n  name: {{ .Values.name }\n",
        )],
    );
    let out_dir = tmp.path().join("out");
    let out = convert(&src, &out_dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("Error: parse error at (broken/templates/cm.yaml:3): "),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(!out_dir.exists());
    let missing = rudder(&["convert", tmp.path().join("nope").to_str().unwrap()]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("nope"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn an_output_directory_that_is_not_empty_needs_force() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    std::fs::write(out_dir.join("keep.txt"), "mine").unwrap();
    let twin = "testdata/convert/model-worker";
    let out = rudder(&["convert", twin, "-o", out_dir.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("exists and is not empty; choose another directory with -o or replace it with --force (nothing was written)"),
        "{}",
        text(&out.stderr)
    );
    let entries: Vec<_> = std::fs::read_dir(&out_dir).unwrap().collect();
    assert_eq!(entries.len(), 1);
    let leftovers = std::fs::read_dir(tmp.path()).unwrap().count();
    assert_eq!(leftovers, 1, "a staging directory was left behind");

    let forced = rudder(&["convert", twin, "-o", out_dir.to_str().unwrap(), "--force"]);
    assert!(forced.status.success(), "{}", text(&forced.stderr));
    assert!(!out_dir.join("keep.txt").exists());
    assert!(out_dir.join("templates/_helpers.tpl").is_file());
}

#[test]
fn kept_subcharts_stay_go_templates_and_calls_into_them_are_listed() {
    let tmp = tempfile::tempdir().unwrap();
    let out_dir = tmp.path().join("out");
    let twin = root().join("testdata/convert/stack");
    let out = convert(&twin, &out_dir, &["--keep-subcharts"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("stack/templates/configmap.yaml:4: calls `common.fullname` of a subchart kept as Go templates (--keep-subcharts)"),
        "{stdout}"
    );
    let top = std::fs::read_to_string(out_dir.join("Chart.yaml")).unwrap();
    assert!(top.contains("rudder.io/engine: tera"), "{top}");
    for sub in ["common", "frontend"] {
        let chart_yaml =
            std::fs::read_to_string(out_dir.join("charts").join(sub).join("Chart.yaml")).unwrap();
        assert!(
            !chart_yaml.contains("rudder.io/engine"),
            "{sub}: {chart_yaml}"
        );
    }
    let kept = std::fs::read(out_dir.join("charts/frontend/templates/deployment.yaml")).unwrap();
    let original = std::fs::read(twin.join("charts/frontend/templates/deployment.yaml")).unwrap();
    assert_eq!(kept, original);
}

#[test]
fn common_helm_constructs_convert_to_the_same_bytes() {
    let out = rudder(&["convert", "testdata/convert/patterns", "--check"]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert_eq!(
        proof_rows(&stdout)[1..],
        [("default values".to_string(), "identical".to_string())],
        "{stdout}"
    );
    // The only remark: values given to `tpl` keep helm's syntax, which is no difference.
    let remarks: Vec<&str> = stdout
        .lines()
        .filter(|l| l.starts_with("patterns/"))
        .collect();
    assert_eq!(remarks.len(), 1, "{stdout}");
    assert!(
        remarks[0].starts_with(
            "patterns/templates/cm.yaml:19: note: values rendered by `tpl` keep helm's syntax"
        ),
        "{stdout}"
    );
}

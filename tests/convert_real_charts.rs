//! Real helm charts, converted by `rudder convert`, render what the real helm 4.1.4 renders
//! of the original: every chart of `../shared/real-charts/dev` (read from the shared test
//! data, never copied here) is converted, then `helm template` of the original and
//! `rudder template` of the converted chart are compared byte for byte with the flags
//! `check.sh` uses (the chart's `NAME.values.yaml` when there is one). Lines that differ
//! between two helm renders of the original (random passwords) may differ.

mod peers;

use std::path::{Path, PathBuf};
use std::process::Command;

/// Charts whose conversion cannot render the same objects, each with the reason (the
/// converter lists the construct with file and line). A listed chart that converts
/// faithfully fails the test, so the list only shrinks.
const NOT_FAITHFUL: &[(&str, &str)] = &[
    (
        "argo-events",
        "prints a number from values (maxMsgs: 1000000) that helm prints as float64 1e+06",
    ),
    (
        "vault",
        "helpers store results on the shared root context (set . \"mode\" …) for later templates",
    ),
];

fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/real-charts/dev");
    assert!(
        dir.is_dir(),
        "the real-chart corpus is missing: expected {}",
        dir.display()
    );
    dir
}

fn template(tool: &Path, chart: &Path, values: Option<&Path>) -> Result<String, String> {
    let mut cmd = Command::new(tool);
    cmd.args(["template", "rel"])
        .arg(chart)
        .args(["-n", "ns", "--kube-version", "1.35.0"]);
    if let Some(v) = values {
        cmd.arg("-f").arg(v);
    }
    let out = cmd.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `got` equals `want`, apart from lines that differ between two renders of the
/// original (`again`).
fn same_but_random(want: &str, again: &str, got: &str) -> bool {
    let (w, a, g): (Vec<_>, Vec<_>, Vec<_>) = (
        want.lines().collect(),
        again.lines().collect(),
        got.lines().collect(),
    );
    w.len() == a.len() && w.len() == g.len() && (0..w.len()).all(|i| w[i] == g[i] || w[i] != a[i])
}

#[test]
fn converted_real_charts_render_what_helm_renders_of_the_originals() {
    let helm = peers::helm();
    let rudder = PathBuf::from(env!("CARGO_BIN_EXE_rudder"));
    let tmp = tempfile::tempdir().unwrap();
    let mut charts: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.path().join("Chart.yaml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    charts.sort();
    assert_eq!(charts.len(), 19, "{charts:?}");
    let mut identical = 0;
    let mut failures = Vec::new();
    for name in &charts {
        let original = corpus().join(name);
        let values = corpus().join(format!("{name}.values.yaml"));
        let values = values.is_file().then_some(values.as_path());
        let converted = tmp.path().join(name);
        let out = Command::new(&rudder)
            .arg("convert")
            .arg(&original)
            .arg("-o")
            .arg(&converted)
            .output()
            .unwrap();
        assert!(
            converted.join("Chart.yaml").is_file(),
            "{name}: nothing converted: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let want = template(&helm, &original, values).expect("helm renders the original");
        let got = template(&rudder, &converted, values);
        let faithful = match &got {
            Ok(got) if *got == want => true,
            Ok(got) => {
                let again = template(&helm, &original, values).unwrap();
                again != want && same_but_random(&want, &again, got)
            }
            Err(_) => false,
        };
        let known = NOT_FAITHFUL.iter().any(|(n, _)| n == name);
        match (faithful, known) {
            (true, false) => identical += 1,
            (false, true) => {}
            (true, true) => failures.push(format!(
                "{name} now converts faithfully: remove it from NOT_FAITHFUL"
            )),
            (false, false) => {
                let why = match &got {
                    Err(e) => format!("the converted chart does not render: {e}"),
                    Ok(got) => similar::TextDiff::from_lines(&want, got)
                        .unified_diff()
                        .context_radius(2)
                        .header("helm (original)", "rudder (converted)")
                        .to_string()
                        .lines()
                        .take(30)
                        .collect::<Vec<_>>()
                        .join("\n"),
                };
                failures.push(format!("{name}: {why}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
    assert_eq!(identical, 19 - NOT_FAITHFUL.len());
}

//! Real helm charts render byte for byte as helm renders them: runs
//! `../shared/real-charts/check.sh` (public charts: argo-cd, ingress-nginx, prometheus,
//! bitnami postgresql, vault, …, read from the shared test data, never copied here) with
//! this build of rudder against the real helm 4.1.4 binary.

mod peers;

use std::path::PathBuf;
use std::process::Command;

/// Charts that still render differently from helm, each with the reason. A chart listed
/// here that has become identical fails the test, so the list only shrinks.
const KNOWN_DIFFERENT: &[(&str, &str)] = &[];

fn corpus() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/real-charts");
    assert!(
        dir.join("check.sh").is_file(),
        "the real-chart corpus is missing: expected {}",
        dir.display()
    );
    dir
}

#[test]
fn every_real_chart_renders_exactly_as_helm_does() {
    let out = Command::new("bash")
        .arg(corpus().join("check.sh"))
        .arg(env!("CARGO_BIN_EXE_rudder"))
        .arg(peers::helm())
        .arg("dev")
        .output()
        .expect("check.sh runs");
    let report = String::from_utf8_lossy(&out.stdout);
    let errors = String::from_utf8_lossy(&out.stderr);
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in report.lines().filter(|l| l.starts_with("dev/")) {
        let (chart, status) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let name = chart.trim_start_matches("dev/");
        let status = status.trim();
        checked += 1;
        let known = KNOWN_DIFFERENT.iter().any(|(n, _)| *n == name);
        match (status == "identical", known) {
            (true, false) | (false, true) => {}
            (true, true) => failures.push(format!(
                "{name} is now identical: remove it from KNOWN_DIFFERENT"
            )),
            (false, false) => failures.push(format!("{name}: {status}")),
        }
    }
    assert!(
        checked >= 19,
        "check.sh reported {checked} charts, expected the 19 of the corpus:\n{report}\n{errors}"
    );
    assert!(
        failures.is_empty(),
        "{}\n\nfull report:\n{report}",
        failures.join("\n")
    );
}

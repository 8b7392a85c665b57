//! `rudder show chart|values|readme|crds|all CHART`: prints a chart's metadata, default
//! values, README and CRDs the way `helm show` does.

use crate::chart::{self, Chart, ChartError};
use std::path::Path;

/// Which part of the chart to show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShowWhat {
    Chart,
    Values,
    Readme,
    Crds,
    All,
}

/// README names `helm show readme` looks for (case-insensitive), in order of preference.
const README_NAMES: [&str; 3] = ["readme.md", "readme.txt", "readme"];

/// Renders the requested part of the chart at `chart_path` (directory or `.tgz`).
pub fn show(chart_path: &Path, what: ShowWhat) -> Result<String, ChartError> {
    let chart = chart::load(chart_path)?;
    let mut out = String::new();
    let all = what == ShowWhat::All;
    if what == ShowWhat::Chart || all {
        out.push_str(&chart_yaml(&chart));
        out.push('\n');
    }
    if let Some(raw) = &chart.raw_values
        && (what == ShowWhat::Values || all)
    {
        if all {
            out.push_str("---\n");
        }
        out.push_str(raw);
        out.push('\n');
    }
    if (what == ShowWhat::Readme || all)
        && let Some(readme) = find_readme(&chart)
    {
        if all {
            out.push_str("---\n");
        }
        out.push_str(&String::from_utf8_lossy(&readme.data));
        out.push('\n');
    }
    if what == ShowWhat::Crds || all {
        for (_, crd) in chart.crd_files_recursive() {
            out.push_str("---\n");
            out.push_str(&String::from_utf8_lossy(&crd.data));
            out.push('\n');
        }
    }
    Ok(out)
}

/// Chart.yaml as helm prints it: every field, keys sorted.
fn chart_yaml(chart: &Chart) -> String {
    let json = serde_json::to_value(&chart.metadata).expect("metadata serializes");
    serde_yaml::to_string(&sorted(json)).expect("metadata serializes to YAML")
}

fn sorted(value: serde_json::Value) -> serde_yaml::Value {
    use serde_json::Value as J;
    use serde_yaml::Value as Y;
    match value {
        J::Null => Y::Null,
        J::Bool(b) => Y::Bool(b),
        J::Number(n) => serde_yaml::to_value(n).unwrap_or(Y::Null),
        J::String(s) => Y::String(s),
        J::Array(items) => Y::Sequence(items.into_iter().map(sorted).collect()),
        J::Object(map) => {
            let mut entries: Vec<(String, J)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Y::Mapping(
                entries
                    .into_iter()
                    .map(|(k, v)| (Y::String(k), sorted(v)))
                    .collect(),
            )
        }
    }
}

fn find_readme(chart: &Chart) -> Option<&chart::ChartFile> {
    chart.files.iter().find(|file| {
        README_NAMES
            .iter()
            .any(|name| file.name.eq_ignore_ascii_case(name))
    })
}

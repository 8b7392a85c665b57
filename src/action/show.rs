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
        out.push_str(&chart.metadata.to_sorted_yaml());
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

fn find_readme(chart: &Chart) -> Option<&chart::ChartFile> {
    chart.files.iter().find(|file| {
        README_NAMES
            .iter()
            .any(|name| file.name.eq_ignore_ascii_case(name))
    })
}

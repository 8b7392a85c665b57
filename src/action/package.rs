//! `rudder package`: turns a chart directory into a reproducible `name-version.tgz`,
//! refusing charts whose declared dependencies are missing from `charts/`.

use crate::chart::{self, ChartError};
use std::path::PathBuf;

/// What `rudder package CHART [-d DIR] [--version V] [--app-version V]` was asked to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageOptions {
    /// The chart directory.
    pub chart_path: PathBuf,
    /// Where the `.tgz` goes (created if missing).
    pub destination: PathBuf,
    /// Overrides `version` in the packaged Chart.yaml.
    pub version: Option<String>,
    /// Overrides `appVersion` in the packaged Chart.yaml.
    pub app_version: Option<String>,
}

/// Packages the chart and returns the path of the written archive.
pub fn package(opts: &PackageOptions) -> Result<PathBuf, ChartError> {
    let loaded = chart::load_dir(&opts.chart_path)?;
    loaded.check_dependencies_present()?;
    chart::archive::write_package(
        &opts.chart_path,
        &opts.destination,
        opts.version.as_deref(),
        opts.app_version.as_deref(),
    )
}

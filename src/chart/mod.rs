//! Chart model and loading: a chart directory or `.tgz` becomes a [`Chart`] — its
//! `Chart.yaml` metadata, default values, schema, templates, plain files and subcharts —
//! the one in-memory form that rendering, linting, packaging and releases all share.

pub mod archive;
pub mod constraint;
mod error;
mod helmignore;
mod loader;
mod metadata;
mod validate;

pub use archive::ArchiveLimits;
pub use error::{ChartError, TextPosition};
pub use helmignore::{HELMIGNORE, HelmIgnore};
pub use loader::{load, load_archive, load_archive_with_limits, load_dir};
pub use metadata::{Dependency, Maintainer, Metadata};
pub use validate::{check_kube_version, is_valid_name, metadata_warnings, validate_metadata};

use crate::values::Values;

/// One file of a chart, named by its slash-separated path relative to the chart root
/// (`templates/deployment.yaml`, `crds/crontab.yaml`, `config/app.ini`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartFile {
    pub name: String,
    pub data: Vec<u8>,
}

/// A loaded chart. Mirrors helm's `chart.Chart` so helm users' knowledge transfers.
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Parsed `Chart.yaml`.
    pub metadata: Metadata,
    /// Parsed `Chart.lock`, when present (raw YAML; repositories interpret it).
    pub lock: Option<serde_yaml::Value>,
    /// Everything under `templates/`, sorted by name.
    pub templates: Vec<ChartFile>,
    /// Parsed `values.yaml` (empty when the chart has none).
    pub values: Values,
    /// The raw text of `values.yaml`, for `show values` (comments kept).
    pub raw_values: Option<String>,
    /// Raw `values.schema.json`, when present.
    pub schema: Option<Vec<u8>>,
    /// Every other file of the chart (README, crds/, config files, …), sorted by name;
    /// `Files.Get` and friends read from here.
    pub files: Vec<ChartFile>,
    /// Subcharts loaded from `charts/` (directories and `.tgz`), sorted by name.
    pub dependencies: Vec<Chart>,
}

/// The `Chart.yaml` annotation that says which template language a chart is written in:
/// `rudder.io/engine: tera` for rudder's tera charts. Every other chart is a helm chart in
/// Go's text/template, so helm charts need no edit.
pub const ENGINE_ANNOTATION: &str = "rudder.io/engine";

impl Chart {
    /// Whether the chart's templates are tera (`rudder.io/engine: tera`); otherwise they are
    /// Go templates, as in every helm chart.
    pub fn uses_tera(&self) -> bool {
        self.metadata
            .annotations
            .get(ENGINE_ANNOTATION)
            .is_some_and(|engine| engine == "tera")
    }

    /// Whether this chart or any chart below it satisfies `test`.
    pub fn any_in_tree(&self, test: &dyn Fn(&Chart) -> bool) -> bool {
        test(self) || self.dependencies.iter().any(|d| d.any_in_tree(test))
    }

    /// The chart's name from `Chart.yaml`.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// Whether this is a library chart (helpers only, renders nothing itself).
    pub fn is_library(&self) -> bool {
        self.metadata.chart_type.as_deref() == Some("library")
    }

    /// Fails, naming them, when dependencies declared in Chart.yaml are missing from
    /// `charts/` (helm: "found in Chart.yaml, but missing in charts/ directory").
    pub fn check_dependencies_present(&self) -> Result<(), ChartError> {
        let missing: Vec<String> = self
            .metadata
            .dependencies
            .iter()
            .filter(|declared| {
                !self
                    .dependencies
                    .iter()
                    .any(|sub| sub.name() == declared.name)
            })
            .map(|declared| declared.name.clone())
            .collect();
        if missing.is_empty() {
            Ok(())
        } else {
            Err(ChartError::MissingDependencies {
                chart: self.name().to_string(),
                missing,
            })
        }
    }

    /// The files under `crds/`, which are installed before anything else and never templated.
    /// Like helm, only `.yaml`, `.yml` and `.json` files count.
    pub fn crd_files(&self) -> impl Iterator<Item = &ChartFile> {
        self.files.iter().filter(|f| {
            f.name.starts_with("crds/")
                && [".yaml", ".yml", ".json"]
                    .iter()
                    .any(|ext| f.name.ends_with(ext))
        })
    }

    /// The CRD files of this chart and then of its subcharts, recursively, each with the
    /// chart path it belongs to (`parent`, `parent/charts/child`), as `helm show crds` lists them.
    pub fn crd_files_recursive(&self) -> Vec<(String, &ChartFile)> {
        let mut out = Vec::new();
        self.collect_crds(self.name().to_string(), &mut out);
        out
    }

    fn collect_crds<'a>(&'a self, path: String, out: &mut Vec<(String, &'a ChartFile)>) {
        out.extend(self.crd_files().map(|f| (path.clone(), f)));
        for dependency in &self.dependencies {
            dependency.collect_crds(format!("{path}/charts/{}", dependency.name()), out);
        }
    }
}

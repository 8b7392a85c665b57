//! The render pipeline every command shares (helm's `renderResources`): a chart and the
//! user's values in; the values the templates saw, ordered manifests, hooks, CRDs and
//! notes out. Nothing here touches a cluster.

use crate::chart::{self, Chart};
use crate::engine::{self, RenderOptions};
use crate::manifest::{self, Manifest};
use crate::values::{self, Values};

/// One file from a `crds/` directory of the chart or a subchart.
#[derive(Debug, Clone, PartialEq)]
pub struct CrdFile {
    /// `mychart/crds/crontab.yaml`, `parent/charts/child/crds/x.yaml`.
    pub path: String,
    pub content: String,
}

/// Everything a release is made of, before it meets a cluster.
#[derive(Debug, Clone)]
pub struct RenderedRelease {
    /// The chart with disabled subcharts removed.
    pub chart: Chart,
    /// The values the templates were rendered with.
    pub values: Values,
    pub crds: Vec<CrdFile>,
    /// Non-hook objects in install order.
    pub manifests: Vec<Manifest>,
    /// Hook objects, in the order they were rendered.
    pub hooks: Vec<Manifest>,
    pub notes: Option<String>,
}

impl RenderedRelease {
    /// Frees the release on another thread. A big chart renders to thousands of documents
    /// and freeing them is a noticeable share of the run; a command that has written its
    /// output need not wait for it (the process may even exit first).
    pub fn drop_in_background(self) {
        // Should the thread not start, the closure and the release are dropped here.
        let _ = std::thread::Builder::new().spawn(move || drop(self));
    }
}

/// Why a chart could not be rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("{0}: library charts are not installable")]
    LibraryChart(String),
    #[error(transparent)]
    Chart(#[from] chart::ChartError),
    #[error(transparent)]
    Values(#[from] values::ValuesError),
    #[error(transparent)]
    Schema(#[from] values::SchemaError),
    #[error(transparent)]
    Template(#[from] engine::RenderError),
    #[error(transparent)]
    Manifest(#[from] manifest::ManifestError),
}

impl RenderedRelease {
    /// Fails when a document is no object to apply or an object is defined twice
    /// (manifests and hooks together).
    pub fn check_applicable(&self) -> Result<(), RenderError> {
        Ok(manifest::check_applicable(
            self.manifests.iter().chain(&self.hooks),
        )?)
    }
}

/// Renders `chart` with the user-supplied values for the release, cluster capabilities and
/// (when connected) `lookup` hook in `options`.
pub fn render_release(
    mut chart: Chart,
    user_values: Values,
    options: RenderOptions,
) -> Result<RenderedRelease, RenderError> {
    if chart.is_library() {
        return Err(RenderError::LibraryChart(chart.name().to_string()));
    }
    chart.check_dependencies_present()?;
    chart::check_kube_version(&chart.metadata, &options.capabilities.kube_version.version)?;
    // Shared with the Go-template engine, which reads values in place.
    let values = std::sync::Arc::new(values::compute_render_values(&mut chart, user_values)?);
    // The schema is checked while the templates render (nothing is written either way);
    // a schema violation is reported first, as helm checks it first.
    let (schema, render) = rayon::join(
        || values::validate_schema(&chart, &values),
        || {
            // Each template is parsed on the pool as soon as it is rendered; a template of
            // one document hands its text over to its manifest.
            engine::render_each(&chart, &values, &options, manifest::parse_owned)
        },
    );
    schema?;
    let (parsed, notes) = render?;
    let parsed = manifest::collect_parsed(parsed)?;
    let (mut hooks, mut manifests) = manifest::split_hooks(parsed);
    manifest::sort_for_install(&mut manifests);
    // helm keeps a release's hooks in kind order too (and `template` prints them so).
    manifest::sort_for_install(&mut hooks);
    let crds = chart
        .crd_files_recursive()
        .into_iter()
        .map(|(chart_path, file)| CrdFile {
            path: format!("{chart_path}/{}", file.name),
            content: String::from_utf8_lossy(&file.data).into_owned(),
        })
        .collect();
    // The engine's references to the values ended with the render.
    let values = std::sync::Arc::unwrap_or_clone(values);
    Ok(RenderedRelease {
        chart,
        values,
        crds,
        manifests,
        hooks,
        notes,
    })
}

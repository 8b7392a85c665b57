//! Template engines behind one driver: a chart renders with the Go-template engine
//! ([`gotmpl`], helm's charts as they are) or with tera ([`tera`], rudder's own format,
//! `annotations: {rudder.io/engine: tera}` in Chart.yaml), each chart of an umbrella with
//! its own. Both call one helm function library ([`library`]) over plain values. This module
//! holds what does not depend on the engine: the render options, the rendered templates in
//! path order, the top chart's notes, and the choice of engine per chart.
//!
//! Go-template charts render on one thread in helm's order (values are shared and mutable,
//! as in helm), each rendered template handed to the pool at once, unless no template can
//! change what another sees, when runs of templates render on the pool in parallel; tera
//! charts render in groups on the pool. Every render is bounded in time, output and memory
//! ([`limits`]).

mod context;
mod error;
pub mod gotmpl;
pub mod library;
pub mod limits;
pub mod tera;
pub mod yaml;

use std::sync::Arc;

use crate::chart::Chart;
use crate::values::Values;

pub use context::{Capabilities, InvalidKubeVersion, KubeVersion, ReleaseInfo};
pub use error::RenderError;

/// The cluster lookup behind the `lookup` function: `(apiVersion, kind, namespace, name)`
/// to the object (or list, when `name` is empty), an empty map when absent; `Err` carries a
/// sentence saying why the cluster could not answer, and fails the render.
pub type LookupFn =
    Arc<dyn Fn(&str, &str, &str, &str) -> Result<serde_json::Value, String> + Send + Sync>;

/// Everything about a render that does not come from the chart or its values.
#[derive(Clone, Default)]
pub struct RenderOptions {
    pub release: ReleaseInfo,
    pub capabilities: Capabilities,
    /// Connected renders set this; without it `lookup` returns an empty map.
    pub lookup: Option<LookupFn>,
    /// helm's strict lint: a missing map key in a Go template is an error
    /// (`missingkey=error`) instead of printing nothing.
    pub strict: bool,
    /// Where `--set` put integers ([`crate::values::ValueOptions::set_integers`]): Go
    /// templates see those as int64, every other number as float64, as in helm.
    pub set_integers: Arc<Vec<crate::values::ValuePath>>,
}

impl RenderOptions {
    /// A render without a cluster: `lookup` returns empty maps.
    pub fn offline(release: ReleaseInfo, capabilities: Capabilities) -> Self {
        RenderOptions {
            release,
            capabilities,
            lookup: None,
            strict: false,
            set_integers: Arc::default(),
        }
    }
}

impl std::fmt::Debug for RenderOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RenderOptions")
            .field("release", &self.release)
            .field("capabilities", &self.capabilities)
            .field("lookup", &self.lookup.as_ref().map(|_| "<hook>"))
            .field("strict", &self.strict)
            .field("set_integers", &self.set_integers)
            .finish()
    }
}

/// One rendered template file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedTemplate {
    /// `mychart/templates/x.yaml`; subcharts `parent/charts/child/templates/x.yaml`.
    pub path: String,
    pub content: String,
}

/// The result of rendering a chart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    /// Every rendered template, sorted by path (partials, NOTES.txt and library charts excluded).
    pub templates: Vec<RenderedTemplate>,
    /// The top chart's rendered `templates/NOTES.txt`.
    pub notes: Option<String>,
}

/// Renders every template of `chart` and its subcharts with `values` (the final, coalesced
/// values of the top chart; each subchart's under its name).
pub fn render(
    chart: &Chart,
    values: &Values,
    options: &RenderOptions,
) -> Result<Rendered, RenderError> {
    let values = Arc::new(values.clone());
    let (templates, notes) = render_each(chart, &values, options, |t| t)?;
    Ok(Rendered { templates, notes })
}

/// [`render`], handing each rendered template to `each` on the worker that rendered it
/// (so the next stage runs while the text is fresh and the text can be freed at once).
/// The results come back in template path order, with the top chart's notes.
pub fn render_each<T: Send>(
    chart: &Chart,
    values: &Arc<Values>,
    options: &RenderOptions,
    each: impl Fn(RenderedTemplate) -> T + Sync,
) -> Result<(Vec<T>, Option<String>), RenderError> {
    // One budget for the whole tree; the memory ceiling and the watchdog are disarmed when
    // `render` is dropped, at the end of this function.
    let render = limits::Render::start();
    let budget = render.budget();
    let is_go = |c: &Chart| !c.uses_tera();
    // Go templates rendered on this thread go to `each` on the pool at once, so their next
    // stage overlaps the rendering of the rest; templates rendered in parallel go to `each`
    // on their own worker.
    let go_results = std::sync::Mutex::new(Vec::<(String, T)>::new());
    let here = |t: RenderedTemplate| {
        let item = (t.path.clone(), each(t));
        go_results
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(item);
    };
    let go_notes = if chart.any_in_tree(&is_go) {
        rayon::in_place_scope(|scope| {
            let here = &here;
            let elsewhere = |t: RenderedTemplate| scope.spawn(move |_| here(t));
            let sink = gotmpl::render::Sink {
                elsewhere: &elsewhere,
                here,
            };
            gotmpl::render::render_tree(chart, values, options, budget, &is_go, &sink)
        })?
    } else {
        None
    };
    let mut templates = go_results.into_inner().unwrap_or_else(|e| e.into_inner());
    let mut notes = go_notes;
    if chart.any_in_tree(&Chart::uses_tera) {
        let (tera_templates, tera_notes) =
            tera::render_tree(chart, values, options, budget, &each)?;
        templates.extend(tera_templates);
        notes = notes.or(tera_notes);
    }
    templates.sort_by(|a, b| a.0.cmp(&b.0));
    Ok((templates.into_iter().map(|(_, t)| t).collect(), notes))
}

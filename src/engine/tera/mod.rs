//! The tera engine: renders rudder's own charts (those marked
//! `rudder.io/engine: tera`), with helm's context names (`Values`, `Release`, `Chart`,
//! `Capabilities`, `Template`) and helm's function library through [`functions`].
//!
//! Conventions chart authors follow (see `docs/templates.md`):
//! - every file under `templates/` whose name does not start with `_` renders; `NOTES.txt`
//!   renders to the release notes (top chart only);
//! - `_`-prefixed files hold `{% component %}` helpers, callable from the chart's templates
//!   and from its parent charts' (`{{ include(name="app.labels") | nindent(n=4) }}`). When a
//!   chart and a subchart define the same helper, each chart's own definition wins for its
//!   own templates;
//! - a subchart's templates see `Values` = the parent's values under the subchart's name.
//!
//! Design: a chart's templates are compiled in groups (one tera instance each, holding the
//! group's templates plus every helper the chart can call, its own first); each group is
//! compiled, rendered and freed by one rayon worker, so groups render in parallel and only a
//! few compiled groups are alive at once. The context is converted to tera values once per
//! chart and shared.

pub(crate) mod context;
pub(crate) mod functions;

use std::sync::Arc;

use ::tera::{Context, Tera};
use rayon::prelude::*;

use super::limits::{Budget, Rendering};
use super::{RenderError, RenderOptions, RenderedTemplate, error};
use crate::chart::Chart;
use crate::values::Values;

/// One chart of the tree, with where it sits and the values it sees.
struct ChartNode<'a> {
    chart: &'a Chart,
    /// `mychart` or `mychart/charts/sub`.
    path: String,
    values: &'a Values,
    /// Indices of every descendant in the node list, nearest first.
    descendants: Vec<usize>,
    is_top: bool,
}

fn empty_values() -> &'static Values {
    static EMPTY: std::sync::OnceLock<Values> = std::sync::OnceLock::new();
    EMPTY.get_or_init(Values::new)
}

/// Flattens the chart tree breadth-first; each node records its descendants.
fn collect_nodes<'a>(chart: &'a Chart, values: &'a Values) -> Vec<ChartNode<'a>> {
    let mut nodes = vec![ChartNode {
        chart,
        path: chart.name().to_string(),
        values,
        descendants: Vec::new(),
        is_top: true,
    }];
    let mut parents: Vec<Option<usize>> = vec![None];
    let mut next = 0;
    while next < nodes.len() {
        let (parent_chart, parent_path, parent_values) = (
            nodes[next].chart,
            nodes[next].path.clone(),
            nodes[next].values,
        );
        for sub in &parent_chart.dependencies {
            let sub_values = parent_values
                .get(sub.name())
                .and_then(|v| v.as_object())
                .unwrap_or_else(|| empty_values());
            nodes.push(ChartNode {
                chart: sub,
                path: format!("{parent_path}/charts/{}", sub.name()),
                values: sub_values,
                descendants: Vec::new(),
                is_top: false,
            });
            parents.push(Some(next));
        }
        next += 1;
    }
    // Breadth-first order means nearer descendants are recorded first.
    for index in 1..nodes.len() {
        let mut ancestor = parents[index];
        while let Some(a) = ancestor {
            nodes[a].descendants.push(index);
            ancestor = parents[a];
        }
    }
    nodes
}

fn is_partial(name: &str) -> bool {
    name.rsplit('/')
        .next()
        .is_some_and(|base| base.starts_with('_'))
}

const NOTES: &str = "templates/NOTES.txt";

/// Templates per tera instance: bigger charts are split into groups of about this size
/// (each also holds every helper the chart can call). Small groups keep few compiled
/// templates alive and balance the workers; each costs one more compile of the helpers.
const CHUNK_SIZE: usize = 64;

/// Compiles a tera instance for one chart: the given own templates plus every helper the
/// chart can call (its own `_` files, then its descendants', nearer first).
fn build_engine(
    nodes: &[ChartNode<'_>],
    index: usize,
    own: &[usize],
    scope: &context::ChartScope,
    env: &Arc<functions::ChartEnv>,
) -> Result<Tera, RenderError> {
    let node = &nodes[index];
    let mut tera = Tera::new();
    tera.autoescape_on(Vec::<&str>::new());
    // Descendants' helpers rank below the chart's own, nearer descendants first.
    let prefixes: Vec<String> = node
        .descendants
        .iter()
        .map(|&d| format!("{}/templates/", nodes[d].path))
        .collect();
    tera.set_fallback_prefixes(prefixes)
        .map_err(|e| error::from_tera(&e, &node.path))?;
    functions::register(&mut tera, env);

    let mut sources: Vec<(String, &str)> = Vec::new();
    let own_dir = format!("{}/templates", node.path);
    let own_files = own.iter().map(|&i| &node.chart.templates[i]);
    let own_partials = node.chart.templates.iter().filter(|f| is_partial(&f.name));
    for file in own_files.chain(own_partials) {
        sources.push((
            format!("{}/{}", node.path, file.name),
            text_of(file, &node.path)?,
        ));
    }
    for &d in node
        .descendants
        .iter()
        .filter(|&&d| nodes[d].chart.uses_tera())
    {
        for file in nodes[d]
            .chart
            .templates
            .iter()
            .filter(|f| is_partial(&f.name))
        {
            sources.push((
                format!("{}/{}", nodes[d].path, file.name),
                text_of(file, &nodes[d].path)?,
            ));
        }
    }
    tera.add_raw_templates(sources.iter().map(|(n, s)| (n.as_str(), *s)))
        .map_err(|e| error::from_tera(&e, &own_dir))?;

    let globals = tera.global_context();
    globals.insert_value("Values", scope.values.clone());
    globals.insert_value("Chart", scope.chart.clone());
    globals.insert_value("Release", scope.release.clone());
    globals.insert_value("Capabilities", scope.capabilities.clone());
    globals.insert_value("Subcharts", scope.subcharts.clone());
    Ok(tera)
}

/// Whether a chart's templates refer to each other through tera's own `{% include %}` or
/// `{% extends %}`, which needs them all in one instance.
fn uses_template_references(chart: &Chart) -> bool {
    static TAG: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(r"\{%-?\s*(include|extends)\b").expect("valid regex")
    });
    chart.templates.iter().any(|f| TAG.is_match(&f.data))
}

/// Whether a chart may `include` a whole template file by path (checksum annotations:
/// `include(name=Template.BasePath ~ "/configmap.yaml")`).
fn includes_template_files(chart: &Chart) -> bool {
    static PATH: std::sync::LazyLock<regex::bytes::Regex> = std::sync::LazyLock::new(|| {
        regex::bytes::Regex::new(r"BasePath|/templates/").expect("valid regex")
    });
    chart.templates.iter().any(|f| PATH.is_match(&f.data))
}

/// Splits a chart's own non-partial templates into groups compiled by separate instances.
fn template_groups(chart: &Chart) -> Vec<Vec<usize>> {
    let own: Vec<usize> = (0..chart.templates.len())
        .filter(|&i| !is_partial(&chart.templates[i].name))
        .collect();
    if own.len() <= CHUNK_SIZE || uses_template_references(chart) {
        return vec![own];
    }
    let groups = own.len().div_ceil(CHUNK_SIZE);
    let per_group = own.len().div_ceil(groups);
    own.chunks(per_group).map(<[usize]>::to_vec).collect()
}

fn text_of<'a>(
    file: &'a crate::chart::ChartFile,
    chart_path: &str,
) -> Result<&'a str, RenderError> {
    std::str::from_utf8(&file.data).map_err(|_| {
        RenderError::at(
            format!("{chart_path}/{}", file.name),
            None,
            "template is not valid UTF-8 text",
        )
    })
}

/// Renders one template within `budget`; `size_hint` is its source's length.
fn render_one(
    tera: &Tera,
    path: &str,
    base_path: &str,
    budget: &Budget,
    size_hint: usize,
) -> Result<String, RenderError> {
    let template = context::template_value(path, base_path);
    functions::enter_template(path, template.clone());
    error::clear_nested();
    let _rendering = Rendering::mark(path);
    let mut ctx = Context::new();
    ctx.insert_value("Template", template);
    let mut out = BoundedOutput {
        text: Vec::with_capacity(size_hint),
        budget,
        writes: 0,
    };
    if let Err(e) = tera.render_to(path, &ctx, &mut out) {
        return Err(budget
            .failure(path)
            .unwrap_or_else(|| error::from_tera(&e, path)));
    }
    budget.add_output(out.text.len());
    String::from_utf8(out.text)
        .map_err(|_| RenderError::at(path, None, "the rendered text is not valid UTF-8"))
}

/// Where tera writes a template: a buffer that fails the render once the render's output
/// passes its limit or its deadline has passed (checked every [`BoundedOutput::CLOCK_EVERY`]
/// writes).
struct BoundedOutput<'b> {
    text: Vec<u8>,
    budget: &'b Budget,
    writes: u32,
}

impl BoundedOutput<'_> {
    const CLOCK_EVERY: u32 = 256;
}

impl std::io::Write for BoundedOutput<'_> {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.budget
            .check_output(self.text.len() + data.len())
            .map_err(std::io::Error::other)?;
        self.writes = self.writes.wrapping_add(1);
        if self.writes.is_multiple_of(Self::CLOCK_EVERY) {
            self.budget.check_time().map_err(std::io::Error::other)?;
        }
        self.text.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Each rendered template's path and what `each` made of it.
pub(crate) type PathResults<T> = Vec<(String, T)>;

/// Renders the tera charts of the tree within `budget` (Go-template charts are skipped), handing each
/// rendered template to `each` on the worker that rendered it; returns each template's
/// path and result, and the top chart's notes when the top chart is a tera chart.
pub(crate) fn render_tree<T: Send>(
    chart: &Chart,
    values: &Values,
    options: &RenderOptions,
    budget: &Arc<Budget>,
    each: &(impl Fn(RenderedTemplate) -> T + Sync),
) -> Result<(PathResults<T>, Option<String>), RenderError> {
    let release = context::release_value(&options.release);
    let capabilities = context::capabilities_value(&options.capabilities);
    let nodes = collect_nodes(chart, values);

    let mut scopes: Vec<context::ChartScope> = nodes
        .iter()
        .map(|n| context::ChartScope::new(n.values, &n.chart.metadata, &release, &capabilities))
        .collect();
    for (i, node) in nodes.iter().enumerate() {
        let children: ::tera::Map = nodes
            .iter()
            .enumerate()
            .filter(|(_, c)| c.path == format!("{}/charts/{}", node.path, c.chart.name()))
            .map(|(j, c)| (c.chart.name().to_string().into(), scopes[j].as_subchart()))
            .collect();
        scopes[i].subcharts = ::tera::Value::from(children);
    }
    let scopes: Vec<Arc<context::ChartScope>> = scopes.into_iter().map(Arc::new).collect();
    let envs: Vec<Arc<functions::ChartEnv>> = nodes
        .iter()
        .map(|n| {
            Arc::new(functions::ChartEnv::new(
                n.path.clone(),
                n.chart.files.clone(),
                // Only charts that `include` template files keep their sources here.
                if includes_template_files(n.chart) {
                    n.chart.templates.clone()
                } else {
                    Vec::new()
                },
                options.lookup.clone(),
                Arc::clone(budget),
            ))
        })
        .collect();
    // Go-template charts of the tree are rendered by the Go engine.
    let node_groups: Vec<Vec<Vec<usize>>> = nodes
        .iter()
        .map(|n| {
            if n.chart.uses_tera() {
                template_groups(n.chart)
            } else {
                Vec::new()
            }
        })
        .collect();
    // `include` and `tpl` render helpers through one instance per chart. A chart compiled as
    // one group uses that group's instance; a chart split over several groups gets a
    // helpers-only instance, compiled first.
    let split: Vec<usize> = (0..nodes.len())
        .filter(|&i| node_groups[i].len() > 1)
        .collect();
    // (node, its own templates compiled together)
    let groups: Vec<(usize, Vec<usize>)> = node_groups
        .into_iter()
        .enumerate()
        .flat_map(|(i, own)| own.into_iter().map(move |g| (i, g)))
        .collect();
    let helper_engines: Vec<Result<Tera, RenderError>> = split
        .par_iter()
        .map(|&i| build_engine(&nodes, i, &[], &scopes[i], &envs[i]))
        .collect();
    let helper_engines: Vec<Arc<Tera>> = helper_engines
        .into_iter()
        .map(|e| e.map(Arc::new))
        .collect::<Result<_, _>>()?;
    for (&i, engine) in split.iter().zip(&helper_engines) {
        envs[i].attach(engine);
    }

    // Each group is compiled, rendered and freed by one worker, so only a few compiled
    // groups are alive at any time.
    let outcomes: Vec<Result<GroupOutput<T>, GroupError>> = groups
        .par_iter()
        .map(|(i, own)| render_group(&nodes, *i, own, &scopes[*i], &envs[*i], each))
        .collect();
    let mut templates = Vec::new();
    let mut notes = None;
    let mut first_render_error: Option<(String, RenderError)> = None;
    for outcome in outcomes {
        match outcome {
            Ok(output) => {
                templates.extend(output.templates);
                notes = notes.or(output.notes);
            }
            // Compile errors are reported before render errors, in chart order.
            Err(GroupError::Compile(e)) => return Err(e),
            Err(GroupError::Render(path, e)) => {
                if first_render_error.as_ref().is_none_or(|(p, _)| path < *p) {
                    first_render_error = Some((path, e));
                }
            }
        }
    }
    if let Some((_, e)) = first_render_error {
        return Err(e);
    }
    Ok((templates, notes))
}

/// What one group of templates rendered to: each template's path and result.
struct GroupOutput<T> {
    templates: Vec<(String, T)>,
    notes: Option<String>,
}

/// Why a group failed: its instance did not compile, or a template (path) did not render.
enum GroupError {
    Compile(RenderError),
    Render(String, RenderError),
}

/// Compiles one group of a chart's templates, renders them in path order (and the top
/// chart's NOTES.txt when it is among them), then frees the instance.
fn render_group<T>(
    nodes: &[ChartNode<'_>],
    index: usize,
    own: &[usize],
    scope: &context::ChartScope,
    env: &Arc<functions::ChartEnv>,
    each: &(impl Fn(RenderedTemplate) -> T + Sync),
) -> Result<GroupOutput<T>, GroupError> {
    let node = &nodes[index];
    let engine =
        Arc::new(build_engine(nodes, index, own, scope, env).map_err(GroupError::Compile)?);
    // A no-op when the chart already has its helpers-only instance.
    env.attach(&engine);
    let mut output = GroupOutput {
        templates: Vec::new(),
        notes: None,
    };
    if node.chart.is_library() {
        return Ok(output);
    }
    let base_path = format!("{}/templates", node.path);
    let mut files: Vec<_> = own.iter().map(|&t| &node.chart.templates[t]).collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    for file in files {
        let is_notes = file.name == NOTES;
        if is_notes && !node.is_top {
            continue;
        }
        let path = format!("{}/{}", node.path, file.name);
        let content = render_one(&engine, &path, &base_path, &env.budget, file.data.len())
            .map_err(|e| GroupError::Render(path.clone(), e))?;
        if is_notes {
            output.notes = Some(content);
        } else {
            let result = each(RenderedTemplate {
                path: path.clone(),
                content,
            });
            output.templates.push((path, result));
        }
    }
    Ok(output)
}

#[cfg(test)]
mod tests;

//! Renders the Go-template charts of a chart tree the way helm's engine does: every
//! template of every chart is parsed into one set (deepest charts first, so a parent's
//! `define` wins over a subchart's of the same name), then each non-partial template runs
//! with its chart's context, in the same order, sharing values by reference (or, when no
//! template can change them, in parallel runs with a copy each); `<no value>` is removed
//! from the output. Errors carry helm's wording.

use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;

use super::context::{Files, capabilities_object, chart_object, release_map};
use super::exec::{Executor, Limits, TemplateSet, is_builtin_name, may_change_shared_state};
use super::parse;
use crate::chart::{Chart, ChartFile};
use crate::engine::library::value::{Value, map_of};
use crate::engine::library::{Funcs, helm};
use crate::engine::limits::{Budget, Rendering};
use crate::engine::{RenderError, RenderOptions, RenderedTemplate};
use crate::values::Values;

/// One template to run: its full path, source, and the chart whose context it runs with.
struct Renderable {
    path: String,
    source: Arc<str>,
    /// Its chart's index in the [`TreeChart`] list.
    chart: usize,
    base_path: String,
    /// Whether the chart is rendered by this engine (tera charts of the tree are skipped).
    go: bool,
    is_top_notes: bool,
}

/// One chart of the tree, parents before their subcharts: what its context is built from.
struct TreeChart<'c> {
    chart: &'c Chart,
    /// `None` for the top chart.
    parent: Option<usize>,
    /// `.Files`, shared by every copy of the context.
    files: Arc<Vec<ChartFile>>,
}

/// Lists the charts of the tree (helm's `recAllTpls`) and collects their templates.
fn collect<'c>(
    chart: &'c Chart,
    path: &str,
    parent: Option<usize>,
    charts: &mut Vec<TreeChart<'c>>,
    out: &mut Vec<Renderable>,
    is_go: &dyn Fn(&Chart) -> bool,
) {
    let index = charts.len();
    charts.push(TreeChart {
        chart,
        parent,
        files: Arc::new(chart.files.clone()),
    });
    for sub in &chart.dependencies {
        let sub_path = format!("{path}/charts/{}", sub.name());
        collect(sub, &sub_path, Some(index), charts, out, is_go);
    }
    let go = is_go(chart);
    let library = chart.is_library();
    for file in &chart.templates {
        let base = file.name.rsplit('/').next().unwrap_or(&file.name);
        if library && !base.starts_with('_') {
            continue;
        }
        out.push(Renderable {
            path: format!("{path}/{}", file.name),
            source: match std::str::from_utf8(&file.data) {
                Ok(text) => Arc::from(text),
                Err(_) => Arc::from(String::from_utf8_lossy(&file.data).as_ref()),
            },
            chart: index,
            base_path: format!("{path}/templates"),
            go,
            is_top_notes: parent.is_none() && file.name == "templates/NOTES.txt",
        });
    }
}

/// Every chart's context (`.Chart`, `.Files`, `.Release`, `.Capabilities`, `.Values`,
/// `.Subcharts`), in [`TreeChart`] order: each subchart's values are its parent's under its
/// name. Each thread that renders builds its own (values are shared and mutable within one).
fn contexts(charts: &[TreeChart<'_>], values: &Arc<Values>, options: &RenderOptions) -> Vec<Value> {
    let release = release_map(&options.release);
    let capabilities = capabilities_object(&options.capabilities);
    let top_values = Value::from_values(values);
    for path in options.set_integers.iter() {
        restore_integer(&top_values, path);
    }
    let mut chart_values: Vec<Value> = Vec::with_capacity(charts.len());
    for tree_chart in charts {
        let own = match tree_chart.parent {
            None => top_values.clone(),
            Some(parent) => match &chart_values[parent] {
                Value::Map(m) => match m.borrow().get(tree_chart.chart.name()) {
                    Some(v @ Value::Map(_)) => v.clone(),
                    _ => Value::new_map(),
                },
                _ => Value::new_map(),
            },
        };
        chart_values.push(own);
    }
    let subcharts: Vec<Value> = charts.iter().map(|_| Value::new_map()).collect();
    let contexts: Vec<Value> = charts
        .iter()
        .zip(chart_values)
        .zip(&subcharts)
        .map(|((tree_chart, values), subcharts)| {
            map_of([
                (
                    "Chart",
                    chart_object(&tree_chart.chart.metadata, tree_chart.parent.is_none()),
                ),
                (
                    "Files",
                    Value::Object(Rc::new(Files(tree_chart.files.clone()))),
                ),
                ("Release", release.clone()),
                ("Capabilities", capabilities.clone()),
                ("Values", values),
                ("Subcharts", subcharts.clone()),
            ])
        })
        .collect();
    for (tree_chart, context) in charts.iter().zip(&contexts) {
        if let Some(parent) = tree_chart.parent
            && let Value::Map(m) = &subcharts[parent]
        {
            m.borrow_mut()
                .insert(tree_chart.chart.name().to_string(), context.clone());
        }
    }
    contexts
}

/// Makes the number at `path` an int64 again (it came from `--set`), when it is still
/// there. Maps change in place; a list that holds it is rebuilt, and the new list is
/// returned for its parent to hold.
fn restore_integer(value: &Value, path: &[crate::values::PathStep]) -> Option<Value> {
    use crate::values::PathStep;
    match (path.split_first(), value) {
        (None, Value::Float(f)) if f.fract() == 0.0 => Some(Value::Int(*f as i64)),
        (Some((PathStep::Key(k), rest)), Value::Map(m)) => {
            let child = m.borrow().get(k).cloned()?;
            let replaced = restore_integer(&child, rest)?;
            m.borrow_mut().insert(k.clone(), replaced);
            None
        }
        (Some((PathStep::Index(i), rest)), Value::List(items)) => {
            let replaced = restore_integer(items.get(*i)?, rest)?;
            let mut items = (**items).clone();
            items[*i] = replaced;
            Some(Value::List(Rc::new(items)))
        }
        _ => None,
    }
}

/// helm's `sortTemplates`: deeper paths first, then reverse lexical order.
pub(crate) fn helm_order(a: &str, b: &str) -> std::cmp::Ordering {
    let (da, db) = (a.matches('/').count(), b.matches('/').count());
    db.cmp(&da).then_with(|| b.cmp(a))
}

/// Where each rendered Go template goes next (NOTES.txt excluded), in helm's render order
/// when one thread renders.
pub(crate) struct Sink<'a> {
    /// To another worker, so its next stage overlaps the rendering of the rest: for
    /// templates rendered on one thread.
    pub elsewhere: &'a (dyn Fn(RenderedTemplate) + Sync),
    /// On the worker that rendered it, while the text is fresh: for templates rendered in
    /// parallel, which keep every worker busy.
    pub here: &'a (dyn Fn(RenderedTemplate) + Sync),
}

/// Templates fewer than this render on one thread: a run's own copy of the context would
/// cost more than sharing the work saves.
const PARALLEL_MIN_TEMPLATES: usize = 64;

/// Runs per worker when templates render in parallel, at most: fewer, longer runs leave a
/// worker idle when another falls behind (a slow core, a heavy run).
const RUNS_PER_WORKER: usize = 8;

/// Templates per run, at least: each run pays for its own copy of the context.
const RUN_MIN_TEMPLATES: usize = 32;

/// Renders every Go-template chart of the tree within `budget`, handing each rendered
/// template to `sink` as soon as it is done; returns the top chart's notes.
///
/// helm runs the templates one after the other with one context, so a template sees what
/// an earlier one changed (`set`, `merge`, …). When no template can change anything
/// ([`may_change_shared_state`]) the order cannot show, and runs of consecutive templates
/// render in parallel, each run with its own copy of the context; the first failure in
/// helm's order is the one reported, as when they run one after the other.
pub(crate) fn render_tree(
    chart: &Chart,
    values: &Arc<Values>,
    options: &RenderOptions,
    budget: &Budget,
    is_go: &dyn Fn(&Chart) -> bool,
    sink: &Sink<'_>,
) -> Result<Option<String>, RenderError> {
    let mut charts = Vec::new();
    let mut renderables = Vec::new();
    collect(
        chart,
        chart.name(),
        None,
        &mut charts,
        &mut renderables,
        is_go,
    );
    renderables.retain(|r| r.go);
    renderables.sort_by(|a, b| helm_order(&a.path, &b.path));

    let funcs = functions(options);
    // Files parse in parallel; they join the set in helm's order, so later definitions
    // win as in helm, and the first file (in that order) that does not parse is reported.
    let changes_state = AtomicBool::new(false);
    let known = |f: &str| {
        if may_change_shared_state(f) {
            changes_state.store(true, Ordering::Relaxed);
        }
        is_builtin_name(f) || funcs.contains(f)
    };
    let parsed: Vec<Result<parse::Parsed, parse::ParseError>> = renderables
        .par_iter()
        .map(|r| parse::parse(&r.source, &known))
        .collect();
    let mut set = TemplateSet::with_capacity(renderables.len());
    for (r, parsed) in renderables.iter().zip(parsed) {
        let parsed = parsed.map_err(|e| {
            RenderError::go(
                &r.path,
                Some(e.line),
                format!("parse error at ({}:{}): {}", r.path, e.line, e.message),
            )
        })?;
        let file: Arc<str> = Arc::from(r.path.as_str());
        set.add_parsed(&r.path, &file, &r.source, parsed);
    }

    // Partials only define; every other template runs.
    let runnable: Vec<&Renderable> = renderables
        .iter()
        .filter(|r| {
            let base = r.path.rsplit('/').next().unwrap_or(&r.path);
            !base.starts_with('_')
        })
        .collect();
    let workers = rayon::current_num_threads();
    let notes = if workers > 1
        && runnable.len() >= PARALLEL_MIN_TEMPLATES
        && !changes_state.load(Ordering::Relaxed)
    {
        let count = (runnable.len() / RUN_MIN_TEMPLATES).clamp(workers, RUNS_PER_WORKER * workers);
        let runs = split_runs(&runnable, count);
        let results: Vec<Result<Option<String>, RenderError>> = runs
            .par_iter()
            .map(|run| {
                let contexts = contexts(&charts, values, options);
                execute_run(run, &set, &funcs, &contexts, options, budget, sink.here)
            })
            .collect();
        let mut notes = None;
        for result in results {
            notes = notes.or(result?);
        }
        notes
    } else {
        let contexts = contexts(&charts, values, options);
        execute_run(
            &runnable,
            &set,
            &funcs,
            &contexts,
            options,
            budget,
            sink.elsewhere,
        )?
    };
    // Thousands of small trees, half of them allocated by the other worker (files parse in
    // parallel): freeing them here would hold up the render while that worker validates.
    let _ = std::thread::Builder::new().spawn(move || drop(set));
    Ok(notes)
}

/// helm's functions, with `lookup` connected when the render is.
fn functions(options: &RenderOptions) -> Funcs {
    let mut funcs = Funcs::helm();
    if let Some(lookup) = &options.lookup {
        helm::connect_lookup(&mut funcs, lookup.clone());
    }
    funcs
}

/// `templates` cut into at most `count` runs of consecutive templates with about the same
/// amount of source each.
fn split_runs<'r>(templates: &[&'r Renderable], count: usize) -> Vec<Vec<&'r Renderable>> {
    let total: usize = templates.iter().map(|r| r.source.len()).sum();
    let share = total.div_ceil(count.max(1)).max(1);
    let mut runs = Vec::with_capacity(count);
    let mut run = Vec::new();
    let mut size = 0;
    for r in templates {
        run.push(*r);
        size += r.source.len();
        if size >= share {
            runs.push(std::mem::take(&mut run));
            size = 0;
        }
    }
    if !run.is_empty() {
        runs.push(run);
    }
    runs
}

/// Runs `templates` in order with one executor and one set of contexts, handing each
/// rendered template to `sink`; stops at the first failure. Returns the top chart's notes
/// when they are among `templates`.
fn execute_run(
    templates: &[&Renderable],
    set: &TemplateSet,
    funcs: &Funcs,
    contexts: &[Value],
    options: &RenderOptions,
    budget: &Budget,
    sink: &(dyn Fn(RenderedTemplate) + Sync),
) -> Result<Option<String>, RenderError> {
    let limits = Limits {
        deadline: Some(budget.deadline),
        max_output: budget.limits.max_output,
    };
    let mut exec = Executor::new(set, funcs, limits);
    exec.strict = options.strict;
    let mut notes = None;
    for r in templates {
        let context = &contexts[r.chart];
        if let Value::Map(m) = context {
            m.borrow_mut().insert(
                "Template".into(),
                map_of([
                    ("Name", Value::from(r.path.as_str())),
                    ("BasePath", Value::from(r.base_path.as_str())),
                ]),
            );
        }
        let mut out = String::new();
        let _rendering = Rendering::mark(&r.path);
        // Output the other runs wrote counts towards the limit too.
        let written_before = budget.written();
        exec.output_total = written_before;
        exec.execute(&r.path, context, &mut out).map_err(|e| {
            budget
                .failure(&r.path)
                .unwrap_or_else(|| exec_error(&r.path, e))
        })?;
        budget.add_output(exec.output_total - written_before);
        // helm's strict mode keeps `<no value>` (it cannot occur for missing keys there).
        let content = if !options.strict && out.contains("<no value>") {
            out.replace("<no value>", "")
        } else {
            out
        };
        if r.is_top_notes {
            notes = Some(content);
        } else if !r.path.ends_with("NOTES.txt") {
            sink(RenderedTemplate {
                path: r.path.clone(),
                content,
            });
        }
    }
    Ok(notes)
}

/// helm's `reformatExecErrorMsg`: `fail`/`required` messages at the outermost action's
/// location, other errors as Go words them.
fn exec_error(path: &str, e: super::exec::ExecError) -> RenderError {
    let line = e.location.split(':').nth(1).and_then(|l| l.parse().ok());
    match &e.user_message {
        Some(m) => RenderError::go(
            path,
            line,
            format!("execution error at ({}): {m}", e.location),
        ),
        None => RenderError::go(path, line, trace(&e.message).unwrap_or(e.message)),
    }
}

/// helm 4's trace of a failed action and the includes that led to it, one block per
/// template (`FILE:LINE:COL`, `executing "NAME" at <ACTION>:`, the message); `None` when
/// the innermost failure is a function's own error, which helm leaves in Go's words.
fn trace(message: &str) -> Option<String> {
    static HEAD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r#"^template: ([^\n]+?:\d+:\d+): executing "([^"]*)" at <(.*?)>: "#)
            .expect("valid regex")
    });
    const INCLUDE: &str = "error calling include: ";
    let mut out = String::new();
    let mut rest = message;
    loop {
        let caps = HEAD.captures(rest)?;
        let whole = caps.get(0)?.end();
        let (location, name, action) = (&caps[1], &caps[2], &caps[3]);
        let tail = &rest[whole..];
        out.push_str(&format!(
            "{location}\n  executing {name:?} at <{action}>:\n    "
        ));
        if let Some(inner) = tail.strip_prefix(INCLUDE) {
            out.push_str("error calling include:\n");
            rest = inner;
            continue;
        }
        if tail.starts_with("error calling ") {
            return None;
        }
        out.push_str(tail);
        return Some(out);
    }
}

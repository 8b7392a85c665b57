//! Renders the Go-template charts of a chart tree the way helm's engine does: every
//! template of every chart is parsed into one set (deepest charts first, so a parent's
//! `define` wins over a subchart's of the same name), then each non-partial template runs
//! with its chart's context, in the same order, sharing values by reference; `<no value>`
//! is removed from the output. Errors carry helm's wording.

use std::rc::Rc;
use std::sync::Arc;

use rayon::prelude::*;

use super::context::{Files, capabilities_object, chart_object, release_map};
use super::exec::{Executor, Limits, TemplateSet, is_builtin_name};
use super::parse;
use crate::chart::Chart;
use crate::engine::library::value::Value;
use crate::engine::library::{Funcs, helm};
use crate::engine::limits::{Budget, Rendering};
use crate::engine::{RenderError, RenderOptions, RenderedTemplate};
use crate::values::Values;

/// One template to run: its full path, source, and the context of its chart.
struct Renderable {
    path: String,
    source: Arc<str>,
    context: Value,
    base_path: String,
    /// Whether the chart is rendered by this engine (tera charts of the tree are skipped).
    go: bool,
    is_top_notes: bool,
}

/// Builds each chart's context (helm's `recAllTpls`) and collects its templates.
#[allow(clippy::too_many_arguments)]
fn collect(
    chart: &Chart,
    path: &str,
    values: Value,
    is_root: bool,
    release: &Value,
    capabilities: &Value,
    out: &mut Vec<Renderable>,
    is_go: &dyn Fn(&Chart) -> bool,
) -> Value {
    let subcharts = Value::new_map();
    let context = crate::engine::library::value::map_of([
        ("Chart", chart_object(&chart.metadata, is_root)),
        (
            "Files",
            Value::Object(Rc::new(Files(Rc::new(chart.files.clone())))),
        ),
        ("Release", release.clone()),
        ("Capabilities", capabilities.clone()),
        ("Values", values.clone()),
        ("Subcharts", subcharts.clone()),
    ]);
    for sub in &chart.dependencies {
        let sub_values = match &values {
            Value::Map(m) => match m.borrow().get(sub.name()) {
                Some(v @ Value::Map(_)) => v.clone(),
                _ => Value::new_map(),
            },
            _ => Value::new_map(),
        };
        let sub_path = format!("{path}/charts/{}", sub.name());
        let sub_context = collect(
            sub,
            &sub_path,
            sub_values,
            false,
            release,
            capabilities,
            out,
            is_go,
        );
        if let Value::Map(m) = &subcharts {
            m.borrow_mut().insert(sub.name().to_string(), sub_context);
        }
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
            context: context.clone(),
            base_path: format!("{path}/templates"),
            go,
            is_top_notes: is_root && file.name == "templates/NOTES.txt",
        });
    }
    context
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

/// Renders every Go-template chart of the tree within `budget`, handing each rendered
/// template (NOTES.txt excluded) to `sink` as soon as it is done, in helm's render order;
/// returns the top chart's notes.
pub(crate) fn render_tree(
    chart: &Chart,
    values: &Arc<Values>,
    options: &RenderOptions,
    budget: &Budget,
    is_go: &dyn Fn(&Chart) -> bool,
    sink: &mut dyn FnMut(RenderedTemplate),
) -> Result<Option<String>, RenderError> {
    let release = release_map(&options.release);
    let capabilities = capabilities_object(&options.capabilities);
    let top_values = Value::from_values(values);
    for path in options.set_integers.iter() {
        restore_integer(&top_values, path);
    }
    let mut renderables = Vec::new();
    collect(
        chart,
        chart.name(),
        top_values,
        true,
        &release,
        &capabilities,
        &mut renderables,
        is_go,
    );
    renderables.retain(|r| r.go);
    renderables.sort_by(|a, b| helm_order(&a.path, &b.path));

    let mut funcs = Funcs::helm();
    if let Some(lookup) = &options.lookup {
        helm::connect_lookup(&mut funcs, lookup.clone());
    }
    // Files parse in parallel; they join the set in helm's order, so later definitions
    // win as in helm, and the first file (in that order) that does not parse is reported.
    let names = funcs.names();
    let sources: Vec<Arc<str>> = renderables.iter().map(|r| r.source.clone()).collect();
    let parsed: Vec<Result<parse::Parsed, parse::ParseError>> = sources
        .par_iter()
        .map(|src| parse::parse(src, &|f| is_builtin_name(f) || names.contains(f)))
        .collect();
    let mut set = TemplateSet::default();
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
    let limits = Limits {
        deadline: Some(budget.deadline),
        max_output: budget.limits.max_output,
    };
    let mut exec = Executor::new(&set, &funcs, limits);
    exec.strict = options.strict;
    let written_before = budget.written();
    exec.output_total = written_before;
    let mut notes = None;
    for r in &renderables {
        let base = r.path.rsplit('/').next().unwrap_or(&r.path);
        if base.starts_with('_') {
            continue;
        }
        if let Value::Map(m) = &r.context {
            m.borrow_mut().insert(
                "Template".into(),
                crate::engine::library::value::map_of([
                    ("Name", Value::from(r.path.as_str())),
                    ("BasePath", Value::from(r.base_path.as_str())),
                ]),
            );
        }
        let mut out = String::new();
        let _rendering = Rendering::mark(&r.path);
        exec.execute(&r.path, &r.context, &mut out).map_err(|e| {
            budget
                .failure(&r.path)
                .unwrap_or_else(|| exec_error(&r.path, e))
        })?;
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
    budget.add_output(exec.output_total - written_before);
    drop(exec);
    // Thousands of small trees, half of them allocated by the other worker (files parse in
    // parallel): freeing them here would hold up the render while that worker validates.
    let _ = std::thread::Builder::new().spawn(move || drop(set));
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

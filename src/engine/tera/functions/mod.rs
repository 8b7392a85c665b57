//! The functions of a tera chart: helm's library (through [`library`]'s adapters) under
//! helm's names, plus the chart-aware ones (`include`, `tpl`, `lookup`, chart files) that
//! need the chart being rendered, and tera's `range` bounded by the render's limits.

mod library;

pub(crate) use library::TERA_FILTERS;

use std::cell::RefCell;
use std::sync::{Arc, OnceLock, Weak};

use base64::Engine as _;
use globset::GlobBuilder;
use tera::{Context, Error, Kwargs, Map, State, Tera, TeraResult, Value};

use super::context::{json_to_value, key_to_string, value_to_json};
use crate::chart::ChartFile;
use crate::engine::LookupFn;
use crate::engine::error::{from_tera, stash_nested};
use crate::engine::limits::{self, Budget};

/// How deep `include`/`tpl` may nest before rendering stops (runaway recursion guard).
const MAX_NESTING: usize = 32;

/// What the chart-aware functions of one chart need: its files, its tera instance (for
/// `include`/`tpl`), the cluster lookup hook and the render's budget.
pub(crate) struct ChartEnv {
    /// `mychart` or `parent/charts/child`.
    pub chart_path: String,
    files: Vec<ChartFile>,
    /// The chart's templates, for `include` of a whole template file by path.
    templates: Vec<ChartFile>,
    tera: OnceLock<Weak<Tera>>,
    lookup: Option<LookupFn>,
    pub budget: Arc<Budget>,
}

impl ChartEnv {
    pub fn new(
        chart_path: String,
        files: Vec<ChartFile>,
        templates: Vec<ChartFile>,
        lookup: Option<LookupFn>,
        budget: Arc<Budget>,
    ) -> Self {
        ChartEnv {
            chart_path,
            files,
            templates,
            tera: OnceLock::new(),
            lookup,
            budget,
        }
    }

    /// Points the chart-aware functions at the finished tera instance.
    pub fn attach(&self, tera: &Arc<Tera>) {
        let _ = self.tera.set(Arc::downgrade(tera));
    }

    fn tera(&self) -> TeraResult<Arc<Tera>> {
        self.tera
            .get()
            .and_then(Weak::upgrade)
            .ok_or_else(|| Error::message("the template engine is not ready"))
    }

    fn file(&self, path: &str) -> Option<&ChartFile> {
        self.files.iter().find(|f| f.name == path)
    }
}

thread_local! {
    /// The template this thread is rendering (for `Template` inside helpers and for error
    /// locations) and how deeply `include`/`tpl` are nested.
    static FRAME: RefCell<(Option<(String, Value)>, usize)> = const { RefCell::new((None, 0)) };
}

/// Marks the template the current thread renders from now on.
pub(crate) fn enter_template(name: &str, template_value: Value) {
    FRAME.with(|f| *f.borrow_mut() = (Some((name.to_string(), template_value)), 0));
}

fn current_template() -> (String, Option<Value>) {
    FRAME.with(|f| match &f.borrow().0 {
        Some((name, value)) => (name.clone(), Some(value.clone())),
        None => (String::new(), None),
    })
}

struct NestingGuard;

impl NestingGuard {
    fn enter(what: &str) -> TeraResult<Self> {
        FRAME.with(|f| {
            let mut frame = f.borrow_mut();
            if frame.1 >= MAX_NESTING {
                return Err(Error::message(format!(
                    "{what}: nested more than {MAX_NESTING} levels deep (a helper including itself?)"
                )));
            }
            frame.1 += 1;
            Ok(NestingGuard)
        })
    }
}

impl Drop for NestingGuard {
    fn drop(&mut self) {
        FRAME.with(|f| f.borrow_mut().1 -= 1);
    }
}

/// A value as Go's `%v` prints it (helm's `toString`): `[a b]` for lists, `map[k:v]` for
/// maps, integral floats without a fraction.
pub(crate) fn go_string(value: &Value) -> String {
    library::to_plain(value).go_string()
}

/// A required keyword argument as text (numbers and booleans accepted).
pub(crate) fn kwarg_string(kwargs: &Kwargs, name: &str) -> TeraResult<String> {
    match kwargs.get::<Value>(name)? {
        Some(v) if !v.is_undefined() => Ok(go_string(&v)),
        _ => Err(Error::message(format!("Missing keyword argument `{name}`"))),
    }
}

/// The names a helper or `tpl` string sees from its caller.
pub(crate) const SCOPE_NAMES: [&str; 6] = [
    "Values",
    "Release",
    "Chart",
    "Capabilities",
    "Template",
    "Subcharts",
];

/// The caller's view of the render context, passed on to helpers and `tpl` strings.
fn caller_scope(state: &State) -> TeraResult<Context> {
    let mut context = Context::new();
    for name in SCOPE_NAMES {
        if let Some(value) = state.get::<Value>(name)? {
            context.insert_value(name, value);
        }
    }
    if !context.contains_key("Template")
        && let (_, Some(template)) = current_template()
    {
        context.insert_value("Template", template);
    }
    Ok(context)
}

/// Text as a tera identifier: characters tera does not allow in names become `_`, and a
/// leading digit gets a `_` before it.
pub fn identifier(text: &str) -> String {
    let mut out: String = text
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.is_empty() || out.starts_with(|c: char| c.is_ascii_digit()) {
        out.insert(0, '_');
    }
    out
}

/// A helm helper name as a tera component name: dot-separated identifiers
/// (`ingress-nginx.fullname` → `ingress_nginx.fullname`).
pub fn component_name(helm_name: &str) -> String {
    helm_name
        .split('.')
        .map(identifier)
        .collect::<Vec<_>>()
        .join(".")
}

/// `include(name=, …args)`: renders a `{% component %}` helper to a string that can be piped
/// on. Other keyword arguments become the component's arguments; `@Values`-style implicit
/// parameters are filled from the caller's context. A helm-style name
/// (`my-app.labels`) finds the component `my_app.labels`; a template path
/// (`Template.BasePath ~ "/configmap.yaml"`, for checksum annotations) renders that template
/// in the caller's context.
fn include(env: &ChartEnv, kwargs: Kwargs, state: &State) -> TeraResult<Value> {
    env.budget.check_time().map_err(Error::message)?;
    let mut name = kwarg_string(&kwargs, "name")?;
    let tera = env.tera()?;
    if !tera.contains_component(&name) {
        let template = name
            .strip_prefix(&env.chart_path)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|path| env.templates.iter().find(|t| t.name == path));
        if let Some(template) = template {
            let source = String::from_utf8_lossy(&template.data).into_owned();
            return tpl(env, &source, state);
        }
        let mangled = component_name(&name);
        if !tera.contains_component(&mangled) {
            return Err(Error::message(format!(
                "include: no helper named `{name}` in chart {} or its subcharts",
                env.chart_path
            )));
        }
        name = mangled;
    }
    let mut args = Context::new();
    for (key, value) in kwargs.iter() {
        if key.as_str() != Some("name") {
            args.insert_value(key_to_string(key), value.clone());
        }
    }
    let implicits = caller_scope(state)?;
    let _guard = NestingGuard::enter("include")?;
    tera.render_component_with_implicits(&name, &args, &implicits, None, false)
        .map(Value::from)
        .map_err(|e| stash_nested(from_tera(&e, &current_template().0)))
}

/// `tpl`: renders a string as a template in the caller's context.
fn tpl(env: &ChartEnv, template: &str, state: &State) -> TeraResult<Value> {
    let context = caller_scope(state)?;
    tpl_in(env, template, context)
}

/// `tpl(context=map)`: renders a string with the map's keys as its variables.
fn tpl_in(env: &ChartEnv, template: &str, context: Context) -> TeraResult<Value> {
    env.budget.check_time().map_err(Error::message)?;
    let tera = env.tera()?;
    let _guard = NestingGuard::enter("tpl")?;
    tera.render_str(template, &context, false)
        .map(Value::from)
        .map_err(|e| stash_nested(from_tera(&e, &current_template().0)))
}

/// `lookup(apiVersion=, kind=, namespace=, name=)`: an object from the cluster through the
/// lookup hook, or an empty map when not connected. A cluster that cannot answer (403,
/// unreachable) fails the render with the hook's message.
fn lookup(env: &ChartEnv, kwargs: Kwargs) -> TeraResult<Value> {
    let api_version = kwarg_string(&kwargs, "apiVersion")?;
    let kind = kwarg_string(&kwargs, "kind")?;
    let namespace = kwargs
        .get::<Value>("namespace")?
        .map(|v| go_string(&v))
        .unwrap_or_default();
    let name = kwargs
        .get::<Value>("name")?
        .map(|v| go_string(&v))
        .unwrap_or_default();
    Ok(match &env.lookup {
        Some(hook) => {
            json_to_value(&hook(&api_version, &kind, &namespace, &name).map_err(Error::message)?)
        }
        None => Value::from(Map::new()),
    })
}

/// tera's `range(start=0, end=, step_by=1)` with tera's arguments and errors, bounded by the
/// render instead of tera's fixed 100,000 numbers: each call checks the deadline (a loop
/// over ranges writes nothing the output could count), and a range takes no more memory
/// than the render may output.
fn range(budget: &Budget, kwargs: Kwargs) -> TeraResult<Vec<i128>> {
    budget.check_time().map_err(Error::message)?;
    let start = kwargs.get::<i128>("start")?.unwrap_or_default();
    let end = kwargs.must_get::<i128>("end")?;
    let step_by = kwargs.get::<i128>("step_by")?.unwrap_or(1);
    if start > end && step_by > 0 {
        return Err(Error::message(
            "Function `range` was called with a `start` argument greater than the `end` one",
        ));
    }
    if step_by == 0 {
        return Err(Error::message(
            "Function `range` was called with a `step_by` argument of 0",
        ));
    }
    let overflow =
        || Error::message("Function `range` was called with arguments that overflow i128");
    let len = if step_by > 0 {
        let span = end.checked_sub(start).ok_or_else(overflow)?;
        span.checked_add(step_by - 1).ok_or_else(overflow)? / step_by
    } else if start <= end {
        0
    } else {
        let step = step_by.checked_neg().ok_or_else(overflow)?;
        let span = start.checked_sub(end).ok_or_else(overflow)?;
        span.checked_add(step - 1).ok_or_else(overflow)? / step
    };
    let bytes = (len as u128).saturating_mul(std::mem::size_of::<Value>() as u128);
    limits::check_result(bytes).map_err(|e| Error::message(format!("range: {e}")))?;
    Ok((0..len).map(|i| start + i * step_by).collect())
}

/// A chart file's content: text when UTF-8, bytes otherwise.
fn file_value(file: &ChartFile) -> Value {
    match std::str::from_utf8(&file.data) {
        Ok(text) => Value::from(text),
        Err(_) => Value::bytes(file.data.clone()),
    }
}

/// `fileGet(path=)`: a file of this chart (relative to the chart root), "" when absent.
fn file_get(env: &ChartEnv, kwargs: Kwargs) -> TeraResult<Value> {
    let path = kwarg_string(&kwargs, "path")?;
    Ok(env
        .file(&path)
        .map(file_value)
        .unwrap_or_else(|| Value::from("")))
}

/// `fileGlob(pattern=)`: a map of path → content for this chart's files matching the glob
/// (`*` stays within a directory, `**` crosses them).
fn file_glob(env: &ChartEnv, kwargs: Kwargs) -> TeraResult<Value> {
    let pattern = kwarg_string(&kwargs, "pattern")?;
    let glob = GlobBuilder::new(&pattern)
        .literal_separator(true)
        .build()
        .map_err(|e| Error::message(format!("fileGlob: invalid pattern `{pattern}`: {e}")))?
        .compile_matcher();
    let map: Map = env
        .files
        .iter()
        .filter(|f| glob.is_match(&f.name))
        .map(|f| (f.name.clone().into(), file_value(f)))
        .collect();
    Ok(Value::from(map))
}

/// `fileLines(path=)`: a file's lines (one trailing newline ignored), [] when absent.
fn file_lines(env: &ChartEnv, kwargs: Kwargs) -> TeraResult<Vec<Value>> {
    let path = kwarg_string(&kwargs, "path")?;
    let Some(file) = env.file(&path) else {
        return Ok(Vec::new());
    };
    let text = String::from_utf8_lossy(&file.data);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    Ok(text.split('\n').map(Value::from).collect())
}

fn base_name(path: &str) -> String {
    path.rsplit('/').next().unwrap_or(path).to_string()
}

fn files_map<'a>(value: &'a Value, func: &str) -> TeraResult<&'a Map> {
    value.as_map().ok_or_else(|| {
        Error::message(format!(
            "{func}: expected a map of files (from fileGlob), got {}",
            value.name()
        ))
    })
}

/// `fileGlob(…) | asConfig`: ConfigMap `data` YAML, keyed by file base name.
fn as_config(value: Value, _: Kwargs, _: &State) -> TeraResult<String> {
    let files = files_map(&value, "asConfig")?;
    if files.is_empty() {
        return Ok(String::new());
    }
    let map: Map = files
        .iter()
        .map(|(k, v)| {
            (
                base_name(&key_to_string(k)).into(),
                library::to_tera(&library::text(v)),
            )
        })
        .collect();
    Ok(crate::engine::yaml::to_yaml(&value_to_json(&Value::from(
        map,
    ))))
}

/// `fileGlob(…) | asSecrets`: Secret `data` YAML, base64 values keyed by file base name.
fn as_secrets(value: Value, _: Kwargs, _: &State) -> TeraResult<String> {
    let files = files_map(&value, "asSecrets")?;
    if files.is_empty() {
        return Ok(String::new());
    }
    let map: Map = files
        .iter()
        .map(|(k, v)| {
            let bytes = match v.as_bytes() {
                Some(b) => b.to_vec(),
                None => library::text(v).go_string().into_bytes(),
            };
            (
                base_name(&key_to_string(k)).into(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
            )
        })
        .collect();
    Ok(crate::engine::yaml::to_yaml(&value_to_json(&Value::from(
        map,
    ))))
}

/// Registers the whole library on a chart's tera instance.
pub(crate) fn register(tera: &mut Tera, env: &Arc<ChartEnv>) {
    library::register(tera);

    // Chart-aware: helpers, tpl, lookup and files.
    let e = Arc::clone(env);
    tera.register_function("include", move |kwargs: Kwargs, state: &State| {
        include(&e, kwargs, state)
    });
    let e = Arc::clone(env);
    tera.register_filter("tpl", move |value: Value, kwargs: Kwargs, state: &State| {
        let text = go_string(&value);
        // `tpl(go=true)`: the text is helm's Go-template syntax (values written for a helm
        // chart that was converted); it is translated to tera first.
        let text = if kwargs.get::<bool>("go")?.unwrap_or(false) && text.contains("{{") {
            crate::convert::translate_text(&text).map_err(|e| {
                Error::message(format!("tpl: the Go template text does not parse: {e}"))
            })?
        } else {
            text
        };
        // `tpl(context=map)`: the map's keys are the template's variables (helm's
        // `tpl $text $map`).
        match kwargs.get::<Value>("context")? {
            Some(map) if map.as_map().is_some() => {
                let mut context = Context::new();
                for (k, v) in map.as_map().into_iter().flatten() {
                    context.insert_value(key_to_string(k), v.clone());
                }
                tpl_in(&e, &text, context)
            }
            _ => tpl(&e, &text, state),
        }
    });
    let e = Arc::clone(env);
    tera.register_function("tpl", move |kwargs: Kwargs, state: &State| {
        tpl(&e, &kwarg_string(&kwargs, "template")?, state)
    });
    let e = Arc::clone(env);
    tera.register_function("lookup", move |kwargs: Kwargs, _: &State| {
        lookup(&e, kwargs)
    });
    let e = Arc::clone(env);
    tera.register_function("fileGet", move |kwargs: Kwargs, _: &State| {
        file_get(&e, kwargs)
    });
    let e = Arc::clone(env);
    tera.register_function("fileGlob", move |kwargs: Kwargs, _: &State| {
        file_glob(&e, kwargs)
    });
    let e = Arc::clone(env);
    tera.register_function("fileLines", move |kwargs: Kwargs, _: &State| {
        file_lines(&e, kwargs)
    });
    // Replaces tera's own.
    let e = Arc::clone(env);
    tera.register_function("range", move |kwargs: Kwargs, _: &State| {
        range(&e.budget, kwargs)
    });
    tera.register_filter("asConfig", as_config);
    tera.register_filter("asSecrets", as_secrets);
}

//! helm's template function library for tera: every filter and function a chart can call,
//! registered under helm's names, plus the chart-aware ones (`include`, `tpl`, `lookup`,
//! chart files) that need the chart being rendered.

pub(crate) mod crypto;
pub(crate) mod data;
pub(crate) mod format;
pub mod semver;
pub(crate) mod text;
pub(crate) mod time;

use std::cell::RefCell;
use std::sync::{Arc, OnceLock, Weak};

use base64::Engine as _;
use globset::GlobBuilder;
use tera::{Context, Error, Kwargs, Map, State, Tera, TeraResult, Value};

use super::LookupFn;
use super::context::{json_to_value, key_to_string};
use super::error::{from_tera, stash_nested};
use crate::chart::ChartFile;

/// How deep `include`/`tpl` may nest before rendering stops (runaway recursion guard).
const MAX_NESTING: usize = 32;

/// What the chart-aware functions of one chart need: its files, its tera instance (for
/// `include`/`tpl`) and the cluster lookup hook.
pub(crate) struct ChartEnv {
    /// `mychart` or `parent/charts/child`.
    pub chart_path: String,
    files: Vec<ChartFile>,
    tera: OnceLock<Weak<Tera>>,
    lookup: Option<LookupFn>,
}

impl ChartEnv {
    pub fn new(chart_path: String, files: Vec<ChartFile>, lookup: Option<LookupFn>) -> Self {
        ChartEnv {
            chart_path,
            files,
            tera: OnceLock::new(),
            lookup,
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
    use tera::value::ValueKind;
    match value.kind() {
        ValueKind::String => value.as_str().unwrap_or_default().to_string(),
        ValueKind::None | ValueKind::Undefined => "<nil>".to_string(),
        ValueKind::F64 => {
            let f = value.as_f64().unwrap_or(0.0);
            if f.fract() == 0.0 && f.abs() < 1e15 {
                format!("{}", f as i64)
            } else {
                format!("{f}")
            }
        }
        ValueKind::Bytes => String::from_utf8_lossy(value.as_bytes().unwrap_or(&[])).into_owned(),
        ValueKind::Array => {
            let items: Vec<String> = value
                .as_array()
                .unwrap_or(&[])
                .iter()
                .map(go_string)
                .collect();
            format!("[{}]", items.join(" "))
        }
        ValueKind::Map => {
            let mut entries: Vec<(String, String)> = value
                .as_map()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (key_to_string(k), go_string(v)))
                        .collect()
                })
                .unwrap_or_default();
            entries.sort();
            let parts: Vec<String> = entries
                .into_iter()
                .map(|(k, v)| format!("{k}:{v}"))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        _ => value.to_string(),
    }
}

/// A required keyword argument as text (numbers and booleans accepted).
pub(crate) fn kwarg_string(kwargs: &Kwargs, name: &str) -> TeraResult<String> {
    match kwargs.get::<Value>(name)? {
        Some(v) if !v.is_undefined() => Ok(go_string(&v)),
        _ => Err(Error::message(format!("Missing keyword argument `{name}`"))),
    }
}

/// The names a helper or `tpl` string sees from its caller.
const SCOPE_NAMES: [&str; 5] = ["Values", "Release", "Chart", "Capabilities", "Template"];

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

/// `include(name=, …args)`: renders a `{% component %}` helper to a string that can be piped
/// on. Other keyword arguments become the component's arguments; `@Values`-style implicit
/// parameters are filled from the caller's context.
fn include(env: &ChartEnv, kwargs: Kwargs, state: &State) -> TeraResult<Value> {
    let name = kwarg_string(&kwargs, "name")?;
    let tera = env.tera()?;
    if !tera.contains_component(&name) {
        return Err(Error::message(format!(
            "include: no helper named `{name}` in chart {} or its subcharts",
            env.chart_path
        )));
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
    let tera = env.tera()?;
    let context = caller_scope(state)?;
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
                Value::from(text::text_of(v)),
            )
        })
        .collect();
    data::yaml_text(&Value::from(map))
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
                None => text::text_of(v).into_bytes(),
            };
            (
                base_name(&key_to_string(k)).into(),
                Value::from(base64::engine::general_purpose::STANDARD.encode(bytes)),
            )
        })
        .collect();
    data::yaml_text(&Value::from(map))
}

/// Registers the whole library on a chart's tera instance.
pub(crate) fn register(tera: &mut Tera, env: &Arc<ChartEnv>) {
    // Strings.
    tera.register_filter("quote", text::quote);
    tera.register_filter("squote", text::squote);
    tera.register_filter("indent", text::indent);
    tera.register_filter("nindent", text::nindent);
    tera.register_filter("trunc", text::trunc);
    tera.register_filter("trimSuffix", text::trim_suffix);
    tera.register_filter("trimPrefix", text::trim_prefix);
    tera.register_filter("trim", text::trim);
    tera.register_filter("replace", text::replace);
    tera.register_filter("upper", text::upper);
    tera.register_filter("lower", text::lower);
    tera.register_filter("title", text::title);
    tera.register_filter("contains", text::contains);
    tera.register_filter("hasPrefix", text::has_prefix);
    tera.register_filter("hasSuffix", text::has_suffix);
    tera.register_filter("regexMatch", text::regex_match);
    tera.register_filter("regexReplaceAll", text::regex_replace_all);
    tera.register_filter("splitList", text::split_list);
    tera.register_filter("join", text::join);
    tera.register_filter("toString", text::to_string);
    tera.register_filter("b64enc", text::b64enc);
    tera.register_filter("b64dec", text::b64dec);
    tera.register_filter("sha256sum", text::sha256sum);
    tera.register_filter("randAlphaNum", text::rand_alpha_num_filter);
    tera.register_function("randAlphaNum", text::rand_alpha_num_fn);
    tera.register_function("printf", format::printf_fn);
    tera.register_filter("printf", format::printf_filter);

    // Data, logic and collections.
    tera.register_filter("toYaml", data::to_yaml);
    tera.register_filter("toJson", data::to_json);
    tera.register_filter("toPrettyJson", data::to_pretty_json);
    tera.register_filter("fromYaml", data::from_yaml);
    tera.register_filter("fromYamlArray", data::from_yaml_array);
    tera.register_filter("fromJson", data::from_json);
    tera.register_filter("default", data::default);
    tera.register_filter("empty", data::empty);
    tera.register_test("empty", data::empty_test);
    tera.register_filter("required", data::required);
    tera.register_function("fail", data::fail);
    tera.register_filter("coalesce", data::coalesce_filter);
    tera.register_function("coalesce", data::coalesce_fn);
    tera.register_filter("ternary", data::ternary_filter);
    tera.register_function("ternary", data::ternary_fn);
    tera.register_filter("int", data::to_int);
    tera.register_filter("kindIs", data::kind_is);
    tera.register_filter("kindOf", data::kind_of);
    tera.register_filter("typeOf", data::type_of);
    tera.register_function("list", data::list);
    tera.register_function("dict", data::dict);
    tera.register_filter("merge", data::merge);
    tera.register_filter("mergeOverwrite", data::merge_overwrite);
    tera.register_filter("hasKey", data::has_key);
    tera.register_filter("keys", data::keys);
    tera.register_filter("pluck", data::pluck_filter);
    tera.register_function("pluck", data::pluck_fn);
    tera.register_filter("dig", data::dig);
    tera.register_filter("uniq", data::uniq);
    tera.register_filter("compact", data::compact);
    tera.register_filter("has", data::has);

    // Versions and time.
    tera.register_filter("semverCompare", semver::semver_compare_filter);
    tera.register_function("semverCompare", semver::semver_compare_fn);
    tera.register_function("now", time::now);
    tera.register_filter("date", time::date);

    // Certificates and keys (fresh random values on every render, like randAlphaNum).
    tera.register_function("genCA", crypto::gen_ca);
    tera.register_function("genCAWithKey", crypto::gen_ca_with_key);
    tera.register_function("genSelfSignedCert", crypto::gen_self_signed_cert);
    tera.register_function(
        "genSelfSignedCertWithKey",
        crypto::gen_self_signed_cert_with_key,
    );
    tera.register_function("genSignedCert", crypto::gen_signed_cert);
    tera.register_function("genSignedCertWithKey", crypto::gen_signed_cert_with_key);
    tera.register_function("genPrivateKey", crypto::gen_private_key);
    tera.register_function("buildCustomCert", crypto::build_custom_cert);

    // Chart-aware: helpers, tpl, lookup and files.
    let e = Arc::clone(env);
    tera.register_function("include", move |kwargs: Kwargs, state: &State| {
        include(&e, kwargs, state)
    });
    let e = Arc::clone(env);
    tera.register_filter("tpl", move |value: Value, _: Kwargs, state: &State| {
        tpl(&e, &go_string(&value), state)
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
    tera.register_filter("asConfig", as_config);
    tera.register_filter("asSecrets", as_secrets);
}

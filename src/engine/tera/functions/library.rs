//! helm's function library for tera charts. Every filter and function here is a thin
//! adapter: it turns its tera arguments into plain values, calls the library function of the
//! same job ([`crate::engine::library`], the one the Go-template engine calls), and turns the
//! result back. Keyword arguments name what sprig takes by position, and a piped value takes
//! the place sprig gives it. Where rudder's tera API is stricter than sprig (invalid YAML,
//! JSON or base64 is an error, not a value), the adapter says so.

use tera::value::ValueKind;
use tera::{Error, Kwargs, Map, State, Tera, TeraResult, Value};

use super::super::context::{key_to_string, value_to_json};
use crate::engine::library::value::Value as Plain;
use crate::engine::library::{Funcs, helm, json, strings};

/// A tera value as a plain one: integers stay int64, null and undefined are nil.
pub(crate) fn to_plain(value: &Value) -> Plain {
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => Plain::Nil,
        ValueKind::Bool => Plain::Bool(value.as_bool().unwrap_or(false)),
        ValueKind::I64 | ValueKind::U64 | ValueKind::I128 | ValueKind::U128 => {
            match value.as_i64() {
                Some(i) => Plain::Int(i),
                None => Plain::Float(value.as_f64().unwrap_or(0.0)),
            }
        }
        ValueKind::F64 => Plain::Float(value.as_f64().unwrap_or(0.0)),
        ValueKind::String => Plain::from(value.as_str().unwrap_or_default()),
        ValueKind::Bytes => Plain::Bytes(std::rc::Rc::new(
            value.as_bytes().unwrap_or_default().to_vec(),
        )),
        ValueKind::Array => Plain::from(
            value
                .as_array()
                .unwrap_or_default()
                .iter()
                .map(to_plain)
                .collect::<Vec<_>>(),
        ),
        ValueKind::Map => Plain::from(
            value
                .as_map()
                .map(|m| {
                    m.iter()
                        .map(|(k, v)| (key_to_string(k), to_plain(v)))
                        .collect::<std::collections::BTreeMap<_, _>>()
                })
                .unwrap_or_default(),
        ),
        _ => Plain::Nil,
    }
}

/// A plain value as a tera one: objects (certificates, times) by their data form, whole
/// floats as integers (Go prints float64 `3` as `3`).
pub(crate) fn to_tera(value: &Plain) -> Value {
    match value {
        Plain::Nil => Value::none(),
        Plain::Bool(b) => Value::from(*b),
        Plain::Int(i) => Value::from(*i),
        Plain::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Value::from(*f as i64),
        Plain::Float(f) => Value::from(*f),
        Plain::Str(s) => Value::from(&**s),
        Plain::Bytes(b) => Value::bytes(b.to_vec()),
        Plain::List(items) => Value::from(items.iter().map(to_tera).collect::<Vec<_>>()),
        Plain::Map(m) => Value::from(
            m.borrow()
                .iter()
                .map(|(k, v)| (k.clone().into(), to_tera(v)))
                .collect::<Map>(),
        ),
        Plain::Object(o) => match o.as_data() {
            Plain::Nil => Value::from(o.display()),
            data => to_tera(&data),
        },
    }
}

/// Text as sprig's string functions take it: nil and undefined are "", other values in
/// Go's `%v` form.
pub(crate) fn text(value: &Value) -> Plain {
    match to_plain(value) {
        Plain::Nil => Plain::from(""),
        s @ Plain::Str(_) => s,
        other => Plain::from(other.go_string()),
    }
}

/// Calls library function `name`; its failure becomes a tera error naming it (`fail` and
/// `required` messages stay verbatim).
pub(crate) fn call(name: &str, args: &[Plain]) -> TeraResult<Plain> {
    let function = Funcs::library()
        .get(name)
        .ok_or_else(|| Error::message(format!("{name}: no such function")))?;
    (function.call)(args).map_err(|e| {
        Error::message(if e.user {
            e.message
        } else {
            format!("{name}: {}", e.message)
        })
    })
}

fn call_tera(name: &str, args: &[Plain]) -> TeraResult<Value> {
    call(name, args).map(|v| to_tera(&v))
}

/// A required keyword argument of `func` (the first of `names` given).
fn kwarg(kwargs: &Kwargs, func: &str, names: &[&str]) -> TeraResult<Value> {
    // Given but undefined (`default(value=Values.missing)`) is nil, as in a Go template.
    for name in names {
        if let Some(v) = kwargs.get::<Value>(name)? {
            return Ok(v);
        }
    }
    Err(Error::message(format!(
        "{func}: missing keyword argument `{}`",
        names[0]
    )))
}

/// A keyword argument that may be left out.
fn kwarg_opt(kwargs: &Kwargs, name: &str) -> TeraResult<Option<Value>> {
    Ok(kwargs.get::<Value>(name)?.filter(|v| !v.is_undefined()))
}

/// A list argument's items (a single value counts as a list of one).
fn items(value: &Value) -> Vec<Plain> {
    match value.as_array() {
        Some(items) => items.iter().map(to_plain).collect(),
        None => vec![to_plain(value)],
    }
}

/// A keyword argument in the form the library function takes at its position.
#[derive(Clone, Copy)]
enum Param {
    /// Text (numbers accepted in their `%v` form).
    Text(&'static [&'static str]),
    /// Any value, as given.
    Any(&'static [&'static str]),
}

fn param(kwargs: &Kwargs, func: &str, p: Param) -> TeraResult<Plain> {
    Ok(match p {
        Param::Text(names) => text(&kwarg(kwargs, func, names)?),
        Param::Any(names) => to_plain(&kwarg(kwargs, func, names)?),
    })
}

/// The keyword arguments `params` of `func`, in the library function's order.
fn params_of(kwargs: &Kwargs, func: &str, params: &[Param]) -> TeraResult<Vec<Plain>> {
    params.iter().map(|p| param(kwargs, func, *p)).collect()
}

/// Registers `value | name(kwargs…)` as library `name(params…, value)` (sprig's piped
/// value comes last); `as_text` passes the piped value as text.
fn filter(tera: &mut Tera, name: &'static str, params: &'static [Param], as_text: bool) {
    tera.register_filter(name, move |value: Value, kwargs: Kwargs, _: &State| {
        let mut args = params_of(&kwargs, name, params)?;
        args.push(if as_text {
            text(&value)
        } else {
            to_plain(&value)
        });
        call_tera(name, &args)
    });
}

/// Registers `name(kwargs…)` as library `name(params…)`.
fn function(tera: &mut Tera, name: &'static str, params: &'static [Param]) {
    tera.register_function(name, move |kwargs: Kwargs, _: &State| {
        call_tera(name, &params_of(&kwargs, name, params)?)
    });
}

const N: Param = Param::Any(&["n", "width"]);

/// Every function of the library as a tera function taking sprig's arguments in sprig's
/// order, `name(args=[…])` (`regexFind(args=["[0-9]+", s])`, `semver(args=[v])`), so a tera
/// chart can call anything a helm chart can. The keyword forms registered after this
/// replace it for the functions they cover.
fn register_positional(tera: &mut Tera) {
    for name in Funcs::library().names() {
        tera.register_function(name, move |kwargs: Kwargs, _: &State| {
            let args = kwarg_opt(&kwargs, "args")?.map_or_else(Vec::new, |list| items(&list));
            call_tera(name, &args)
        });
        if !TERA_FILTERS.contains(&name) {
            // Piped, the value comes last, as in a Go pipeline: `s | trimAll(args=["-"])`.
            tera.register_filter(name, move |value: Value, kwargs: Kwargs, _: &State| {
                let mut args =
                    kwarg_opt(&kwargs, "args")?.map_or_else(Vec::new, |list| items(&list));
                args.push(to_plain(&value));
                call_tera(name, &args)
            });
        }
    }
}

/// tera's own filters: a library function of the same name is only a function
/// (`first(args=[list])`), so tera charts keep tera's filter.
pub const TERA_FILTERS: &[&str] = &[
    "is_safe",
    "uppercase",
    "double",
    "safe",
    "default",
    "upper",
    "lower",
    "wordcount",
    "escape",
    "escape_html",
    "escape_xml",
    "newlines_to_br",
    "pluralize",
    "trim",
    "trim_start",
    "trim_end",
    "replace",
    "capitalize",
    "title",
    "truncate",
    "indent",
    "str",
    "int",
    "float",
    "length",
    "reverse",
    "split",
    "abs",
    "round",
    "first",
    "last",
    "nth",
    "join",
    "sort",
    "unique",
    "get",
    "values",
    "keys",
    "pairs",
    "group_by",
    "shout",
];

/// Registers the library-backed filters, functions and tests on a tera instance.
pub(crate) fn register(tera: &mut Tera) {
    use Param::{Any, Text};
    register_positional(tera);
    // Text.
    for name in [
        "quote",
        "squote",
        "toString",
        "toJson",
        "toPrettyJson",
        "int",
    ] {
        filter(tera, name, &[], false);
    }
    // The library's `toYaml` is the YAML emitter over JSON-shaped data; tera values go to
    // it directly (charts pipe whole values sections through it, so no plain copy first).
    tera.register_filter("toYaml", |value: Value, _: Kwargs, _: &State| {
        crate::engine::yaml::to_yaml(&value_to_json(&value))
    });
    for name in ["trim", "upper", "lower", "title"] {
        filter(tera, name, &[], true);
    }
    // Bytes (a binary chart file) are encoded as they are.
    for name in ["b64enc", "sha256sum"] {
        tera.register_filter(name, move |value: Value, _: Kwargs, _: &State| {
            let input = match to_plain(&value) {
                bytes @ Plain::Bytes(_) => bytes,
                _ => text(&value),
            };
            call_tera(name, &[input])
        });
    }
    filter(tera, "indent", &[N], true);
    filter(tera, "nindent", &[N], true);
    filter(tera, "trunc", &[Any(&["n"])], true);
    filter(tera, "trimSuffix", &[Text(&["suffix"])], true);
    filter(tera, "trimPrefix", &[Text(&["prefix"])], true);
    filter(
        tera,
        "replace",
        &[Text(&["old", "from"]), Text(&["new", "to"])],
        true,
    );
    filter(tera, "contains", &[Text(&["substr"])], true);
    filter(tera, "hasPrefix", &[Text(&["prefix"])], true);
    filter(tera, "hasSuffix", &[Text(&["suffix"])], true);
    tera.register_filter("regexMatch", |value: Value, kwargs: Kwargs, _: &State| {
        let regex = text(&kwarg(&kwargs, "regexMatch", &["regex"])?);
        call_tera("mustRegexMatch", &[regex, text(&value)])
    });
    filter(tera, "splitList", &[Text(&["sep"])], true);
    filter(tera, "join", &[Text(&["sep"])], false);
    filter(tera, "default", &[Any(&["value"])], false);
    filter(tera, "required", &[Text(&["msg"])], false);
    function(tera, "fail", &[Text(&["msg"])]);
    tera.register_filter(
        "regexReplaceAll",
        |value: Value, kwargs: Kwargs, _: &State| {
            let regex = text(&kwarg(&kwargs, "regexReplaceAll", &["regex"])?);
            let replacement = text(&kwarg(&kwargs, "regexReplaceAll", &["replacement"])?);
            call_tera("mustRegexReplaceAll", &[regex, text(&value), replacement])
        },
    );
    tera.register_filter("b64dec", |value: Value, _: Kwargs, _: &State| {
        // sprig gives Go's error text as the value; rudder's tera API reports it.
        let written = text(&value).go_string();
        match strings::base64_decode(written.as_bytes()) {
            Ok(bytes) => Ok(Value::from(String::from_utf8_lossy(&bytes).into_owned())),
            Err(at) => Err(Error::message(format!(
                "b64dec: `{written}` is not valid base64: illegal base64 data at input byte {at}"
            ))),
        }
    });
    tera.register_filter("randAlphaNum", |value: Value, _: Kwargs, _: &State| {
        call_tera("randAlphaNum", &[to_plain(&value)])
    });
    function(tera, "randAlphaNum", &[Any(&["n"])]);
    // printf: the format, the `args` list, then a piped value (the last argument in Go).
    tera.register_function("printf", |kwargs: Kwargs, _: &State| printf(&kwargs, None));
    tera.register_filter("printf", |value: Value, kwargs: Kwargs, _: &State| {
        printf(&kwargs, Some(&value))
    });

    // Data.
    tera.register_filter("fromYaml", |value: Value, _: Kwargs, _: &State| {
        from_yaml(&value, false)
    });
    tera.register_filter("fromYamlArray", |value: Value, _: Kwargs, _: &State| {
        from_yaml(&value, true)
    });
    tera.register_filter("fromJson", |value: Value, _: Kwargs, _: &State| {
        json::decode(&text(&value).go_string())
            .map(|v| to_tera(&v))
            .map_err(|e| Error::message(format!("fromJson: invalid JSON: {e}")))
    });
    filter(tera, "empty", &[], false);
    tera.register_test("empty", |value: Value, _: Kwargs, _: &State| {
        !to_plain(&value).truthy()
    });
    tera.register_filter("coalesce", |value: Value, _: Kwargs, _: &State| {
        list_call("coalesce", &value)
    });
    tera.register_function("coalesce", |kwargs: Kwargs, _: &State| {
        list_call("coalesce", &kwarg(&kwargs, "coalesce", &["values"])?)
    });
    tera.register_filter("ternary", |value: Value, kwargs: Kwargs, _: &State| {
        ternary(&kwargs, &value)
    });
    tera.register_function("ternary", |kwargs: Kwargs, _: &State| {
        ternary(&kwargs, &kwarg(&kwargs, "ternary", &["condition"])?)
    });
    // Kinds as rudder's tera values have them: integers are int64.
    tera.register_filter("kindOf", |value: Value, _: Kwargs, _: &State| {
        kind_of(&value, "kindOf")
    });
    tera.register_filter("typeOf", |value: Value, _: Kwargs, _: &State| {
        kind_of(&value, "typeOf")
    });
    tera.register_filter("kindIs", |value: Value, kwargs: Kwargs, _: &State| {
        let want = text(&kwarg(&kwargs, "kindIs", &["kind"])?).go_string();
        Ok::<_, Error>(kind_of(&value, "kindOf")?.as_str() == Some(want.as_str()))
    });
    tera.register_function("list", |kwargs: Kwargs, _: &State| {
        match kwarg_opt(&kwargs, "items")? {
            Some(list) => call_tera("list", &items(&list)),
            None => call_tera("list", &[]),
        }
    });
    tera.register_function("dict", |kwargs: Kwargs, _: &State| {
        let mut args = Vec::new();
        for (key, value) in kwargs.iter() {
            args.push(Plain::from(key_to_string(key)));
            args.push(to_plain(value));
        }
        call_tera("dict", &args)
    });
    tera.register_filter("merge", |value: Value, kwargs: Kwargs, _: &State| {
        merge("merge", &value, &kwargs)
    });
    tera.register_filter(
        "mergeOverwrite",
        |value: Value, kwargs: Kwargs, _: &State| merge("mergeOverwrite", &value, &kwargs),
    );
    tera.register_filter("hasKey", |value: Value, kwargs: Kwargs, _: &State| {
        call_tera(
            "hasKey",
            &[to_plain(&value), text(&kwarg(&kwargs, "hasKey", &["key"])?)],
        )
    });
    for name in ["keys", "uniq", "compact"] {
        filter(tera, name, &[], false);
    }
    tera.register_filter("pluck", |value: Value, kwargs: Kwargs, _: &State| {
        pluck(&kwargs, &value)
    });
    tera.register_function("pluck", |kwargs: Kwargs, _: &State| {
        pluck(&kwargs, &kwarg(&kwargs, "pluck", &["maps"])?)
    });
    tera.register_filter("dig", |value: Value, kwargs: Kwargs, _: &State| {
        let mut args: Vec<Plain> = match kwarg_opt(&kwargs, "keys")? {
            Some(keys) => items(&keys)
                .iter()
                .map(|k| Plain::from(k.go_string()))
                .collect(),
            None => text(&kwarg(&kwargs, "dig", &["path"])?)
                .go_string()
                .split('.')
                .map(Plain::from)
                .collect(),
        };
        args.push(kwarg_opt(&kwargs, "default")?.map_or(Plain::Nil, |d| to_plain(&d)));
        args.push(to_plain(&value));
        call_tera("dig", &args)
    });
    filter(tera, "has", &[Any(&["value"])], false);
    filter(tera, "semverCompare", &[Text(&["constraint"])], true);
    function(
        tera,
        "semverCompare",
        &[Text(&["constraint"]), Text(&["version"])],
    );

    // Time.
    tera.register_function("now", |_: Kwargs, _: &State| {
        let now = call("now", &[])?;
        call_tera(
            "dateInZone",
            &[Plain::from(RFC3339), now, Plain::from("UTC")],
        )
    });
    tera.register_filter("date", |value: Value, kwargs: Kwargs, _: &State| {
        date(
            &value,
            &text(&kwarg(&kwargs, "date", &["format"])?).go_string(),
        )
    });

    // Certificates and keys.
    const CN: Param = Param::Text(&["cn"]);
    const DAYS: Param = Param::Any(&["days"]);
    const KEY: Param = Param::Text(&["key"]);
    const CA: Param = Param::Any(&["ca"]);
    for (name, params) in [
        ("genCA", &[CN, DAYS][..]),
        ("genCAWithKey", &[CN, DAYS, KEY][..]),
        ("genPrivateKey", &[Text(&["type"])][..]),
        ("buildCustomCert", &[Text(&["cert"]), KEY][..]),
    ] {
        tera.register_function(name, move |kwargs: Kwargs, _: &State| {
            certificate(name, &params_of(&kwargs, name, params)?)
        });
    }
    for (name, tail) in [
        ("genSelfSignedCert", &[DAYS][..]),
        ("genSelfSignedCertWithKey", &[DAYS, KEY][..]),
        ("genSignedCert", &[DAYS, CA][..]),
        ("genSignedCertWithKey", &[DAYS, CA, KEY][..]),
    ] {
        // `ips` and `alternateNames` may be left out or `none`.
        tera.register_function(name, move |kwargs: Kwargs, _: &State| {
            let mut args = params_of(&kwargs, name, &[CN])?;
            for list in ["ips", "alternateNames"] {
                args.push(match kwarg_opt(&kwargs, list)? {
                    Some(v) if !v.is_none() => to_plain(&v),
                    _ => Plain::from(Vec::new()),
                });
            }
            args.extend(params_of(&kwargs, name, tail)?);
            certificate(name, &args)
        });
    }
}

/// A certificate function's result; the library defers a failure into the certificate's
/// text (as Go's lazily generated certificate shows it), rudder's tera API reports it.
fn certificate(name: &str, args: &[Plain]) -> TeraResult<Value> {
    const FAILED: [&str; 2] = [
        "failed to generate certificate: ",
        "failed to generate private key: ",
    ];
    let value = call_tera(name, args)?;
    let text = match value.as_str() {
        Some(key) => Some(key.to_string()),
        None => value.as_map().and_then(|m| {
            m.iter()
                .find(|(k, _)| key_to_string(k) == "Cert")
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        }),
    };
    if let Some(kind) = text
        .as_deref()
        .and_then(|t| t.strip_prefix("Unknown type "))
    {
        return Err(Error::message(format!(
            "{name}: unknown key type `{kind}` (expected \"rsa\", \"ecdsa\" or \"ed25519\")"
        )));
    }
    let failure = text
        .as_deref()
        .and_then(|t| FAILED.iter().find_map(|f| t.strip_prefix(f)));
    match failure {
        Some(why) if why.starts_with(name) => Err(Error::message(why.to_string())),
        Some(why) => Err(Error::message(format!("{name}: {why}"))),
        None => Ok(value),
    }
}

const RFC3339: &str = "2006-01-02T15:04:05Z07:00";

fn printf(kwargs: &Kwargs, piped: Option<&Value>) -> TeraResult<Value> {
    let mut args = vec![text(&kwarg(kwargs, "printf", &["format"])?)];
    if let Some(list) = kwarg_opt(kwargs, "args")? {
        args.extend(items(&list));
    }
    args.extend(piped.map(to_plain));
    call_tera("printf", &args)
}

/// `fromYaml` / `fromYamlArray` with the library's YAML reading; what helm would return as
/// an `Error` value is an error here.
fn from_yaml(value: &Value, array: bool) -> TeraResult<Value> {
    let func = if array { "fromYamlArray" } else { "fromYaml" };
    let parsed = helm::parse_yaml(&text(value).go_string())
        .map_err(|e| Error::message(format!("{func}: invalid YAML: {e}")))?;
    match (parsed, array) {
        (serde_json::Value::Null, false) => Ok(Value::from(Map::new())),
        (serde_json::Value::Null, true) => Ok(Value::from(Vec::<Value>::new())),
        (json @ serde_json::Value::Object(_), false)
        | (json @ serde_json::Value::Array(_), true) => {
            Ok(to_tera(&Plain::from_json_with(&json, false)))
        }
        (other, false) => Err(Error::message(format!(
            "fromYaml: expected a YAML mapping, got {}; use fromYamlArray for lists",
            helm::json_kind(&other)
        ))),
        (other, true) => Err(Error::message(format!(
            "fromYamlArray: expected a YAML list, got {}",
            helm::json_kind(&other)
        ))),
    }
}

/// A library function called with a list's items as its arguments.
fn list_call(name: &str, list: &Value) -> TeraResult<Value> {
    if list.as_array().is_none() {
        return Err(Error::message(format!(
            "{name}: expected a list of candidates"
        )));
    }
    call_tera(name, &items(list))
}

fn ternary(kwargs: &Kwargs, condition: &Value) -> TeraResult<Value> {
    call_tera(
        "ternary",
        &[
            to_plain(&kwarg(kwargs, "ternary", &["true_value"])?),
            to_plain(&kwarg(kwargs, "ternary", &["false_value"])?),
            Plain::Bool(to_plain(condition).truthy()),
        ],
    )
}

fn kind_of(value: &Value, func: &str) -> TeraResult<Value> {
    let kind = call(func, &[to_plain(value)])?.go_string();
    Ok(Value::from(if kind == "int" { "int64" } else { &kind }))
}

/// `dst | merge(src=map_or_list)`: the library's deep merge into a copy of `dst`.
fn merge(name: &str, dst: &Value, kwargs: &Kwargs) -> TeraResult<Value> {
    let mut args = vec![to_plain(dst)];
    args.extend(items(&kwarg(kwargs, name, &["src"])?));
    for map in &args {
        if !matches!(map, Plain::Map(_)) {
            return Err(Error::message(format!(
                "{name}: expected a map, got {}",
                to_tera(map).name()
            )));
        }
    }
    call_tera(name, &args)
}

fn pluck(kwargs: &Kwargs, maps: &Value) -> TeraResult<Value> {
    if maps.as_array().is_none() {
        return Err(Error::message("pluck: expected a list of maps"));
    }
    let mut args = vec![text(&kwarg(kwargs, "pluck", &["key"])?)];
    args.extend(items(maps));
    call_tera("pluck", &args)
}

/// strftime directives and the Go layout elements they stand for.
const STRFTIME: &[(&str, &str)] = &[
    ("%Y", "2006"),
    ("%m", "01"),
    ("%d", "02"),
    ("%e", "_2"),
    ("%H", "15"),
    ("%I", "03"),
    ("%M", "04"),
    ("%S", "05"),
    ("%y", "06"),
    ("%B", "January"),
    ("%b", "Jan"),
    ("%A", "Monday"),
    ("%a", "Mon"),
    ("%p", "PM"),
    ("%Z", "MST"),
    ("%z", "-0700"),
    ("%:z", "-07:00"),
    ("%%", "%"),
];

/// A format with strftime directives (`%Y-%m-%d`) as a Go layout; a Go layout unchanged.
fn go_layout(format: &str) -> String {
    if !format.contains('%') {
        return format.to_string();
    }
    let mut out = String::new();
    let mut rest = format;
    'outer: while !rest.is_empty() {
        for (directive, layout) in STRFTIME {
            if let Some(after) = rest.strip_prefix(directive) {
                out.push_str(layout);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap_or_default();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `t | date(format=)`: `t` is unix seconds, RFC 3339 or `YYYY-MM-DD` (midnight UTC),
/// printed in its own zone (UTC for seconds and dates).
fn date(value: &Value, format: &str) -> TeraResult<Value> {
    let layout = Plain::from(go_layout(format));
    if let Some(seconds) = value.as_i64() {
        return call_tera(
            "dateInZone",
            &[layout, Plain::Int(seconds), Plain::from("UTC")],
        );
    }
    let written = text(value).go_string();
    let written = written.trim();
    for time in [written.to_string(), format!("{written}T00:00:00Z")] {
        let args = [Plain::from(RFC3339), Plain::from(time)];
        if let Ok(Plain::Object(time)) = call("mustToDate", &args)
            && let Some(formatted) = time.method("Format", std::slice::from_ref(&layout))
        {
            return formatted.map(|v| to_tera(&v)).map_err(Error::message);
        }
    }
    Err(Error::message(format!(
        "date: `{written}` is not a time (expected RFC 3339, YYYY-MM-DD or unix seconds)"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_formats_become_go_layouts() {
        assert_eq!(go_layout("%Y-%m-%d"), "2006-01-02");
        assert_eq!(go_layout("%H:%M:%S %a %b"), "15:04:05 Mon Jan");
        assert_eq!(go_layout("2006-01-02"), "2006-01-02");
    }
}

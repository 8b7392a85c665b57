//! The functions Go-template charts call: text/template's builtins (`eq`, `len`, `index`,
//! `printf`, …), sprig's library as helm ships it, and helm's own (`toYaml`, `required`,
//! `lookup`, …). Each function takes the evaluated arguments (the piped value last) and
//! checks their types the way Go's reflection-based call does, with Go's error wording.

mod builtins;
mod collections;
pub(crate) use collections::{dates, json};
pub mod certs;
pub mod fmt;
pub mod helm;
pub(crate) mod strings;
pub mod value;

use std::rc::Rc;
use std::sync::{Arc, OnceLock};

use foldhash::{HashMap, HashMapExt, HashSet};

use value::Value;

/// A function's failure: the message, and whether it is a `fail`/`required` message helm
/// reports verbatim.
pub struct CallError {
    pub message: String,
    pub user: bool,
}

impl From<String> for CallError {
    fn from(message: String) -> Self {
        CallError {
            message,
            user: false,
        }
    }
}

impl From<&str> for CallError {
    fn from(message: &str) -> Self {
        CallError {
            message: message.to_string(),
            user: false,
        }
    }
}

/// A function's body: the evaluated arguments in, a value or a Go-worded failure out.
pub type FunctionBody = Arc<dyn Fn(&[Value]) -> Result<Value, CallError> + Send + Sync>;

/// A template function with its arity.
pub struct Function {
    pub min_args: usize,
    /// `None` for variadic functions.
    pub max_args: Option<usize>,
    pub call: FunctionBody,
}

/// The functions of one render, by name: its own (`lookup` when connected) over helm's
/// library, which is built once per process and shared by every render and thread.
pub struct Funcs {
    map: HashMap<&'static str, Function>,
    library: Option<&'static Funcs>,
}

pub type FnResult = Result<Value, CallError>;

impl Funcs {
    /// Every function helm gives templates, for a render without a cluster; a render adds
    /// its own (`lookup`) over them.
    pub fn helm() -> Funcs {
        Funcs {
            map: HashMap::new(),
            library: Some(Funcs::library()),
        }
    }

    /// helm's library itself, built on first use and shared by every render and thread.
    pub fn library() -> &'static Funcs {
        static LIBRARY: OnceLock<Funcs> = OnceLock::new();
        LIBRARY.get_or_init(|| {
            let mut funcs = Funcs {
                map: HashMap::with_capacity(512),
                library: None,
            };
            builtins::register(&mut funcs);
            strings::register(&mut funcs);
            collections::register(&mut funcs);
            helm::register(&mut funcs);
            funcs
        })
    }

    /// Adds (or replaces) a function taking exactly `arity` arguments.
    pub fn add(
        &mut self,
        name: &'static str,
        arity: usize,
        f: impl Fn(&[Value]) -> FnResult + Send + Sync + 'static,
    ) {
        self.map.insert(
            name,
            Function {
                min_args: arity,
                max_args: Some(arity),
                call: Arc::new(f),
            },
        );
    }

    /// Adds a function taking at least `min` arguments.
    pub fn add_variadic(
        &mut self,
        name: &'static str,
        min: usize,
        f: impl Fn(&[Value]) -> FnResult + Send + Sync + 'static,
    ) {
        self.map.insert(
            name,
            Function {
                min_args: min,
                max_args: None,
                call: Arc::new(f),
            },
        );
    }

    /// Adds a function taking between `min` and `max` arguments.
    pub fn add_range(
        &mut self,
        name: &'static str,
        min: usize,
        max: usize,
        f: impl Fn(&[Value]) -> FnResult + Send + Sync + 'static,
    ) {
        self.map.insert(
            name,
            Function {
                min_args: min,
                max_args: Some(max),
                call: Arc::new(f),
            },
        );
    }

    pub fn get(&self, name: &str) -> Option<&Function> {
        self.map
            .get(name)
            .or_else(|| self.library.and_then(|library| library.get(name)))
    }

    pub fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    /// The names of the functions.
    pub fn names(&self) -> HashSet<&'static str> {
        let mut names = self.library.map(Funcs::names).unwrap_or_default();
        names.extend(self.map.keys().copied());
        names
    }
}

// ---- argument conversion with Go's wording ----

/// A string parameter: Go refuses anything that is not a string.
pub fn arg_str(v: &Value) -> Result<std::sync::Arc<str>, CallError> {
    match v {
        Value::Str(s) => Ok(s.clone()),
        Value::Nil => Err(CallError::from(
            "invalid value; expected string".to_string(),
        )),
        other => Err(wrong_type("string", other)),
    }
}

/// An `int` parameter: Go converts only integer values (and whole float constants).
pub fn arg_int(v: &Value) -> Result<i64, CallError> {
    match v {
        Value::Int(n) => Ok(*n),
        Value::Nil => Err(CallError::from("invalid value; expected int".to_string())),
        other => Err(wrong_type("int", other)),
    }
}

/// A `bool` parameter.
pub fn arg_bool(v: &Value) -> Result<bool, CallError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Nil => Err(CallError::from("invalid value; expected bool".to_string())),
        other => Err(wrong_type("bool", other)),
    }
}

pub fn wrong_type(want: &str, got: &Value) -> CallError {
    CallError::from(format!(
        "wrong type for value; expected {want}; got {}",
        if got.is_nil() {
            "interface {}".to_string()
        } else {
            got.type_name()
        }
    ))
}

/// sprig's `strval`: strings as they are, byte slices as text, errors and Stringers by
/// their text, everything else with `%v`.
pub fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) => s.to_string(),
        Value::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
        other => other.go_string(),
    }
}

/// spf13/cast's `ToInt64` as sprig's `toInt64` uses it (strings parsed, floats truncated
/// as Go converts them, anything else 0).
pub fn to_int64(v: &Value) -> i64 {
    match v {
        Value::Int(n) => *n,
        Value::Float(f) => go_float_to_int(*f),
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) => parse_cast_int(s).unwrap_or(0),
        _ => 0,
    }
}

/// Go's `int64(f)` on amd64: truncation, and the minimum for what does not fit.
fn go_float_to_int(f: f64) -> i64 {
    // 2^63: the first float past i64::MAX.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if (-LIMIT..LIMIT).contains(&f) {
        f as i64
    } else {
        i64::MIN
    }
}

/// cast's string to integer: a trailing `.0…` dropped, then Go's `ParseInt(s, 0, 64)`:
/// base prefixes (`0x1F`, `0o17`, `017`), `_` between digits, no spaces, no floats.
pub fn parse_cast_int(s: &str) -> Option<i64> {
    let t = trim_zero_decimal(s);
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(t)),
    };
    let body = body.replace('_', "");
    let n = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        i64::from_str_radix(h, 16).ok()?
    } else if let Some(b) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        i64::from_str_radix(b, 2).ok()?
    } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        i64::from_str_radix(o, 8).ok()?
    } else if body.len() > 1 && body.starts_with('0') {
        i64::from_str_radix(&body[1..], 8).ok()?
    } else if body.bytes().all(|b| b.is_ascii_digit()) {
        body.parse::<i64>().ok()?
    } else {
        return None;
    };
    Some(if neg { -n } else { n })
}

/// cast's `trimZeroDecimal`: `5.00` reads as `5`; `5.` and `5.5` stay as they are.
fn trim_zero_decimal(s: &str) -> &str {
    let mut found_zero = false;
    for (i, b) in s.bytes().enumerate().rev() {
        match b {
            b'.' if found_zero => return &s[..i],
            b'0' => found_zero = true,
            _ => return s,
        }
    }
    s
}

/// cast's `ToFloat64`: Go's `ParseFloat` (no surrounding spaces; `_` between digits).
pub fn to_float64(v: &Value) -> f64 {
    match v {
        Value::Int(n) => *n as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) => {
            let digits_only = s.replace('_', "");
            if s.contains('_') && (s.starts_with('_') || s.ends_with('_') || s.contains("__")) {
                return 0.0;
            }
            digits_only.parse().unwrap_or(0.0)
        }
        _ => 0.0,
    }
}

/// A list argument (`[]interface{}`), as sprig's list functions accept it.
pub fn as_list(v: &Value) -> Option<Rc<Vec<Value>>> {
    match v.data() {
        Value::List(items) => Some(items),
        Value::Bytes(b) => Some(Rc::new(b.iter().map(|x| Value::Int(*x as i64)).collect())),
        _ => None,
    }
}

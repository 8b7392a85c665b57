//! sprig's data-structure functions as helm ships them (sprig v3): lists (`list`, `first`,
//! `append`, `uniq`, `slice`, …), dicts (`dict`, `set`, `merge` with mergo's rules, `dig`,
//! …), defaults and flow (`default`, `empty`, `coalesce`, `ternary`), reflection (`typeOf`,
//! `kindIs`, `deepEqual`) and semver. The piped value is the last
//! argument; sprig's panics become errors with sprig's text, as helm reports them.
//!
//! JSON lives in `json.rs`, dates in `dates.rs`, the crypto functions in `crypto.rs` and
//! the `path`/`url` helpers in `urls.rs`;
//! `register` adds them all.

#[path = "crypto.rs"]
mod crypto;
#[path = "dates.rs"]
pub(crate) mod dates;
#[path = "json.rs"]
pub(crate) mod json;
#[path = "urls.rs"]
mod urls;

use std::collections::BTreeMap;
use std::rc::Rc;

use super::CallError;
use super::value::{Map, Object, Value};
use super::{FnResult, Funcs, arg_bool, arg_int, arg_str, as_list, strval, wrong_type};
use crate::chart::constraint::{parse_constraint, parse_lenient_version};

/// What Go says when a sprig function calls a method on a nil interface.
const NIL_PANIC: &str = "runtime error: invalid memory address or nil pointer dereference";

pub fn register(f: &mut Funcs) {
    register_lists(f);
    register_dicts(f);
    register_defaults(f);
    register_reflection(f);
    register_semver(f);
    urls::register(f);
    json::register(f);
    dates::register(f);
    crypto::register(f);
}

// ---- lists ----

/// A list argument of a sprig list function: any slice; `nil` is Go's nil-pointer panic,
/// anything else "Cannot `what` on type `kind`".
fn list_arg(v: &Value, what: impl FnOnce(&str) -> String) -> Result<Rc<Vec<Value>>, CallError> {
    if v.is_nil() {
        return Err(CallError::from(NIL_PANIC));
    }
    as_list(v).ok_or_else(|| CallError::from(what(v.kind_name())))
}

fn list_of(items: Vec<Value>) -> Value {
    Value::List(Rc::new(items))
}

fn register_lists(f: &mut Funcs) {
    f.add_variadic("list", 0, |a| Ok(list_of(a.to_vec())));
    f.add_variadic("tuple", 0, |a| Ok(list_of(a.to_vec())));
    for name in ["first", "mustFirst"] {
        f.add(name, 1, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot find first on type {k}"))?;
            Ok(l.first().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["last", "mustLast"] {
        f.add(name, 1, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot find last on type {k}"))?;
            Ok(l.last().cloned().unwrap_or(Value::Nil))
        });
    }
    for name in ["rest", "mustRest"] {
        f.add(name, 1, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot find rest on type {k}"))?;
            Ok(list_of(l.get(1..).unwrap_or_default().to_vec()))
        });
    }
    for name in ["initial", "mustInitial"] {
        f.add(name, 1, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot find initial on type {k}"))?;
            Ok(list_of(l[..l.len().saturating_sub(1)].to_vec()))
        });
    }
    for name in ["append", "push", "mustAppend", "mustPush"] {
        f.add(name, 2, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot push on type {k}"))?;
            let mut out = l.to_vec();
            out.push(a[1].clone());
            Ok(list_of(out))
        });
    }
    for name in ["prepend", "mustPrepend"] {
        f.add(name, 2, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot prepend on type {k}"))?;
            let mut out = Vec::with_capacity(l.len() + 1);
            out.push(a[1].clone());
            out.extend(l.iter().cloned());
            Ok(list_of(out))
        });
    }
    for name in ["reverse", "mustReverse"] {
        f.add(name, 1, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot find reverse on type {k}"))?;
            Ok(list_of(l.iter().rev().cloned().collect()))
        });
    }
    for name in ["compact", "mustCompact"] {
        f.add(name, 1, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot compact on type {k}"))?;
            Ok(list_of(l.iter().filter(|v| !empty(v)).cloned().collect()))
        });
    }
    for name in ["uniq", "mustUniq"] {
        f.add(name, 1, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot find uniq on type {k}"))?;
            let mut out: Vec<Value> = Vec::new();
            for item in l.iter() {
                if !out.iter().any(|o| deep_equal(o, item)) {
                    out.push(item.clone());
                }
            }
            Ok(list_of(out))
        });
    }
    for name in ["without", "mustWithout"] {
        f.add_variadic(name, 1, |a| {
            let l = list_arg(&a[0], |k| format!("Cannot find without on type {k}"))?;
            let omit = &a[1..];
            Ok(list_of(
                l.iter()
                    .filter(|item| !omit.iter().any(|o| deep_equal(o, item)))
                    .cloned()
                    .collect(),
            ))
        });
    }
    for name in ["has", "mustHas"] {
        f.add(name, 2, |a| {
            if a[1].is_nil() {
                return Ok(Value::Bool(false));
            }
            let l = list_arg(&a[1], |k| format!("Cannot find has on type {k}"))?;
            Ok(Value::Bool(l.iter().any(|item| deep_equal(&a[0], item))))
        });
    }
    for name in ["slice", "mustSlice"] {
        f.add_variadic(name, 1, sprig_slice);
    }
    f.add_variadic("concat", 0, |a| {
        let mut out = Vec::new();
        for list in a {
            let l = list_arg(list, |k| format!("Cannot concat type {k} as list"))?;
            out.extend(l.iter().cloned());
        }
        Ok(list_of(out))
    });
    for name in ["chunk", "mustChunk"] {
        f.add(name, 2, |a| {
            let size = arg_int(&a[0])?;
            let l = list_arg(&a[1], |k| format!("Cannot chunk type {k}"))?;
            chunk(size, &l)
        });
    }
}

/// sprig's `slice list [start [end]]`: indices converted with cast, an empty list gives nil.
fn sprig_slice(a: &[Value]) -> FnResult {
    let l = list_arg(&a[0], |k| {
        format!("list should be type of slice or array but {k}")
    })?;
    if l.is_empty() {
        return Ok(Value::Nil);
    }
    let start = a.get(1).map(super::to_int64).unwrap_or(0);
    let end = a.get(2).map(super::to_int64).unwrap_or(l.len() as i64);
    if start < 0 || end < start || end > l.len() as i64 {
        return Err(CallError::from(
            "reflect.Value.Slice: slice index out of bounds",
        ));
    }
    Ok(list_of(l[start as usize..end as usize].to_vec()))
}

/// sprig's `chunk`: `size`-long pieces, the last one shorter (Go's `make` panics for a
/// size below one).
fn chunk(size: i64, l: &[Value]) -> FnResult {
    if size <= 0 {
        return Err(CallError::from(
            "runtime error: makeslice: len out of range",
        ));
    }
    Ok(list_of(
        l.chunks(size as usize)
            .map(|c| list_of(c.to_vec()))
            .collect(),
    ))
}

/// Go's `reflect.DeepEqual` on template values.
pub fn deep_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Int(x), Value::Int(y)) => x == y,
        (Value::Float(x), Value::Float(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        (Value::Bytes(x), Value::Bytes(y)) => x == y,
        (Value::List(x), Value::List(y)) => {
            Rc::ptr_eq(x, y)
                || (x.len() == y.len() && x.iter().zip(y.iter()).all(|(p, q)| deep_equal(p, q)))
        }
        (Value::Map(x), Value::Map(y)) => {
            if Rc::ptr_eq(x, y) {
                return true;
            }
            let (x, y) = (x.borrow(), y.borrow());
            x.len() == y.len()
                && x.iter()
                    .all(|(k, v)| y.get(k).is_some_and(|w| deep_equal(v, w)))
        }
        (Value::Object(x), Value::Object(y)) => {
            Rc::ptr_eq(x, y)
                || (x.type_name() == y.type_name()
                    && x.display() == y.display()
                    && deep_equal(&x.as_data(), &y.as_data()))
        }
        _ => false,
    }
}

// ---- dicts ----

/// A `map[string]interface{}` parameter: `nil` is Go's nil map (`None`).
fn arg_map(v: &Value) -> Result<Option<Map>, CallError> {
    match v {
        Value::Map(m) => Ok(Some(m.clone())),
        Value::Nil => Ok(None),
        other => Err(wrong_type("map[string]interface {}", other)),
    }
}

fn map_value(m: BTreeMap<String, Value>) -> Value {
    Value::from(m)
}

/// A nil map as a value: prints `map[]` like Go's.
fn nil_map() -> Value {
    Value::new_map()
}

fn register_dicts(f: &mut Funcs) {
    f.add_variadic("dict", 0, |a| {
        let mut m = BTreeMap::new();
        for pair in a.chunks(2) {
            let value = pair.get(1).cloned().unwrap_or_else(|| Value::from(""));
            m.insert(strval(&pair[0]), value);
        }
        Ok(map_value(m))
    });
    f.add("get", 2, |a| {
        let key = arg_str(&a[1])?;
        Ok(arg_map(&a[0])?
            .and_then(|m| m.borrow().get(&*key).cloned())
            .unwrap_or_else(|| Value::from("")))
    });
    f.add("set", 3, |a| {
        let key = arg_str(&a[1])?;
        let m = arg_map(&a[0])?.ok_or_else(|| CallError::from("assignment to entry in nil map"))?;
        m.borrow_mut().insert(key.to_string(), a[2].clone());
        Ok(Value::Map(m))
    });
    f.add("unset", 2, |a| {
        let key = arg_str(&a[1])?;
        Ok(match arg_map(&a[0])? {
            Some(m) => {
                m.borrow_mut().remove(&*key);
                Value::Map(m)
            }
            None => nil_map(),
        })
    });
    f.add("hasKey", 2, |a| {
        let key = arg_str(&a[1])?;
        Ok(Value::Bool(
            arg_map(&a[0])?.is_some_and(|m| m.borrow().contains_key(&*key)),
        ))
    });
    f.add_variadic("pluck", 1, |a| {
        let key = arg_str(&a[0])?;
        let mut out = Vec::new();
        for d in &a[1..] {
            if let Some(m) = arg_map(d)?
                && let Some(v) = m.borrow().get(&*key)
            {
                out.push(v.clone());
            }
        }
        Ok(list_of(out))
    });
    f.add_variadic("keys", 0, |a| {
        let mut out = Vec::new();
        for d in a {
            if let Some(m) = arg_map(d)? {
                out.extend(m.borrow().keys().map(|k| Value::from(k.as_str())));
            }
        }
        Ok(list_of(out))
    });
    f.add_variadic("pick", 1, |a| {
        let m = arg_map(&a[0])?;
        let mut out = BTreeMap::new();
        for k in &a[1..] {
            let k = arg_str(k)?;
            if let Some(m) = &m
                && let Some(v) = m.borrow().get(&*k)
            {
                out.insert(k.to_string(), v.clone());
            }
        }
        Ok(map_value(out))
    });
    f.add_variadic("omit", 1, |a| {
        let m = arg_map(&a[0])?;
        let omit = a[1..].iter().map(arg_str).collect::<Result<Vec<_>, _>>()?;
        let mut out = BTreeMap::new();
        if let Some(m) = m {
            for (k, v) in m.borrow().iter() {
                if !omit.iter().any(|o| **o == **k) {
                    out.insert(k.clone(), v.clone());
                }
            }
        }
        Ok(map_value(out))
    });
    f.add("values", 1, |a| {
        Ok(list_of(
            arg_map(&a[0])?
                .map(|m| m.borrow().values().cloned().collect())
                .unwrap_or_default(),
        ))
    });
    for (name, overwrite) in [
        ("merge", false),
        ("mustMerge", false),
        ("mergeOverwrite", true),
        ("mustMergeOverwrite", true),
    ] {
        f.add_variadic(name, 1, move |a| {
            let dst = arg_map(&a[0])?;
            let srcs = a[1..].iter().map(arg_map).collect::<Result<Vec<_>, _>>()?;
            let dst = match dst {
                Some(d) => d,
                None => match Value::new_map() {
                    Value::Map(m) => m,
                    _ => unreachable!(),
                },
            };
            for src in srcs.into_iter().flatten() {
                if Rc::ptr_eq(&src, &dst) {
                    continue;
                }
                merge_maps(&dst, &src.borrow(), overwrite);
            }
            Ok(Value::Map(dst))
        });
    }
    for name in ["deepCopy", "mustDeepCopy"] {
        f.add(name, 1, |a| {
            if a[0].is_nil() {
                return Err(CallError::from(
                    "reflect: call of reflect.Value.Type on zero Value",
                ));
            }
            Ok(a[0].deep_copy())
        });
    }
    f.add_variadic("dig", 0, dig);
}

/// Go's type assertion panic text for `.(map[string]interface {})` and `.(string)`.
fn assertion_error(v: &Value, want: &str) -> CallError {
    let got = if v.is_nil() {
        "nil".to_string()
    } else {
        v.type_name()
    };
    CallError::from(format!(
        "interface conversion: interface {{}} is {got}, not {want}"
    ))
}

/// `dig "a" "b" default dict`: follows keys through nested maps.
fn dig(a: &[Value]) -> FnResult {
    if a.len() < 3 {
        return Err(CallError::from("dig needs at least three arguments"));
    }
    let as_map = |v: &Value| match v {
        Value::Map(m) => Ok(m.clone()),
        other => Err(assertion_error(other, "map[string]interface {}")),
    };
    let mut dict = as_map(&a[a.len() - 1])?;
    let default = &a[a.len() - 2];
    let keys = a[..a.len() - 2]
        .iter()
        .map(|k| match k {
            Value::Str(s) => Ok(s.clone()),
            other => Err(assertion_error(other, "string")),
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (i, key) in keys.iter().enumerate() {
        let step = match dict.borrow().get(&**key) {
            Some(v) => v.clone(),
            None => return Ok(default.clone()),
        };
        if i == keys.len() - 1 {
            return Ok(step);
        }
        dict = as_map(&step)?;
    }
    Ok(default.clone())
}

/// mergo's `isEmptyValue` (with dereferencing): zero numbers, false, empty strings, lists
/// and maps, nil.
fn mergo_empty(v: &Value) -> bool {
    empty(v)
}

fn is_map(v: &Value) -> bool {
    matches!(v, Value::Map(_))
}

fn is_slice(v: &Value) -> bool {
    matches!(v, Value::List(_) | Value::Bytes(_))
}

/// mergo's `deepMerge` of two `map[string]interface{}`: `dst` is changed in place. Without
/// `overwrite` only missing or empty keys of `dst` are filled (nested maps merged); with it
/// every non-nil value of `src` replaces `dst`'s, except that nested maps are merged and a
/// non-empty map in `dst` is kept against a map in `src`.
fn merge_maps(dst: &Map, src: &BTreeMap<String, Value>, overwrite: bool) {
    let dst_was_empty = dst.borrow().is_empty();
    for (key, src_el) in src {
        let dst_el = dst.borrow().get(key).cloned();
        if src_el.is_nil() {
            if overwrite {
                dst.borrow_mut().insert(key.clone(), Value::Nil);
            }
            continue;
        }
        match src_el {
            Value::Map(src_map) => {
                if let Some(Value::Map(dst_map)) = &dst_el
                    && !Rc::ptr_eq(dst_map, src_map)
                {
                    merge_maps(dst_map, &src_map.borrow(), overwrite);
                }
            }
            Value::List(_) | Value::Bytes(_) => {
                // mergo stores dst's own value back (or src's when it may overwrite).
                let replace = overwrite || dst_was_empty;
                let stored = match (&dst_el, replace) {
                    (_, true) => src_el.clone(),
                    (Some(d), false) if !d.is_nil() => d.clone(),
                    _ => list_of(Vec::new()),
                };
                dst.borrow_mut().insert(key.clone(), stored);
            }
            _ => {}
        }
        if let Some(d) = &dst_el
            && !mergo_empty(d)
            && (is_slice(src_el) || (is_map(src_el) && is_map(d)))
        {
            continue;
        }
        let dst_missing_or_empty = dst_el.as_ref().is_none_or(mergo_empty);
        if overwrite || dst_missing_or_empty {
            dst.borrow_mut().insert(key.clone(), src_el.clone());
        }
    }
}

// ---- defaults and flow ----

/// sprig's `empty`: nil, false, 0, and empty strings, lists and maps; structs never are.
pub fn empty(v: &Value) -> bool {
    match v {
        Value::Nil => true,
        Value::Bool(b) => !b,
        Value::Int(n) => *n == 0,
        Value::Float(f) => *f == 0.0,
        Value::Str(s) => s.is_empty(),
        Value::List(l) => l.is_empty(),
        Value::Bytes(b) => b.is_empty(),
        Value::Map(m) => m.borrow().is_empty(),
        Value::Object(o) => match o.kind() {
            "slice" | "map" => empty(&o.as_data()),
            _ => false,
        },
    }
}

fn register_defaults(f: &mut Funcs) {
    f.add_variadic("default", 1, |a| {
        Ok(match a.get(1) {
            Some(given) if !empty(given) => given.clone(),
            _ => a[0].clone(),
        })
    });
    f.add("empty", 1, |a| Ok(Value::Bool(empty(&a[0]))));
    f.add_variadic("coalesce", 0, |a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    f.add_variadic("all", 0, |a| Ok(Value::Bool(a.iter().all(|v| !empty(v)))));
    f.add_variadic("any", 0, |a| Ok(Value::Bool(a.iter().any(|v| !empty(v)))));
    f.add("ternary", 3, |a| {
        Ok(if arg_bool(&a[2])? {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
}

// ---- reflection ----

fn register_reflection(f: &mut Funcs) {
    f.add("typeOf", 1, |a| Ok(Value::from(a[0].type_name())));
    f.add("typeIs", 2, |a| {
        let target = arg_str(&a[0])?;
        Ok(Value::Bool(*target == *a[1].type_name()))
    });
    f.add("typeIsLike", 2, |a| {
        let target = arg_str(&a[0])?;
        let t = a[1].type_name();
        Ok(Value::Bool(
            *target == *t || t.strip_prefix('*') == Some(&*target),
        ))
    });
    f.add("kindOf", 1, |a| Ok(Value::from(a[0].kind_name())));
    f.add("kindIs", 2, |a| {
        let target = arg_str(&a[0])?;
        Ok(Value::Bool(*target == *a[1].kind_name()))
    });
    f.add("deepEqual", 2, |a| {
        Ok(Value::Bool(deep_equal(&a[0], &a[1])))
    });
}

// ---- semver ----

/// A `*semver.Version` (Masterminds): fields as methods, printed as the canonical version.
struct SemverVersion {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
    metadata: String,
    original: String,
}

impl SemverVersion {
    fn canonical(&self) -> String {
        let mut s = format!("{}.{}.{}", self.major, self.minor, self.patch);
        if !self.pre.is_empty() {
            s.push('-');
            s.push_str(&self.pre);
        }
        if !self.metadata.is_empty() {
            s.push('+');
            s.push_str(&self.metadata);
        }
        s
    }
}

impl Object for SemverVersion {
    fn type_name(&self) -> &str {
        "*semver.Version"
    }

    fn field(&self, name: &str) -> Option<Value> {
        Some(match name {
            "Major" => Value::Int(self.major as i64),
            "Minor" => Value::Int(self.minor as i64),
            "Patch" => Value::Int(self.patch as i64),
            "Prerelease" => Value::from(self.pre.as_str()),
            "Metadata" => Value::from(self.metadata.as_str()),
            "Original" => Value::from(self.original.as_str()),
            "String" => Value::from(self.canonical()),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        self.canonical()
    }

    fn as_data(&self) -> Value {
        Value::from(self.canonical())
    }

    fn kind(&self) -> &'static str {
        "ptr"
    }
}

const INVALID_SEMVER: &str = "invalid semantic version";

fn register_semver(f: &mut Funcs) {
    f.add("semver", 1, |a| {
        let text = arg_str(&a[0])?;
        let v = parse_lenient_version(&text).map_err(|_| CallError::from(INVALID_SEMVER))?;
        Ok(Value::Object(Rc::new(SemverVersion {
            major: v.major,
            minor: v.minor,
            patch: v.patch,
            pre: v.pre.to_string(),
            metadata: v.build.to_string(),
            original: text.to_string(),
        })))
    });
    f.add("semverCompare", 2, |a| {
        let constraint = arg_str(&a[0])?;
        let version = arg_str(&a[1])?;
        // Masterminds parses the constraint first.
        let parsed = parse_constraint(&constraint)
            .map_err(|_| CallError::from(format!("improper constraint: {constraint}")))?;
        let version =
            parse_lenient_version(&version).map_err(|_| CallError::from(INVALID_SEMVER))?;
        Ok(Value::Bool(parsed.matches(&version)))
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gotmpl::tests::render;
    use crate::engine::gotmpl::tests::{call_error as err, render_plain as r, values};

    #[test]
    fn lists_like_sprig() {
        assert_eq!(r("{{ list 1 \"a\" 2.5 }}"), "[1 a 2.5]");
        assert_eq!(
            r("{{ first (list 1 2 3) }}|{{ last (list 1 2 3) }}|{{ first list }}"),
            "1|3|"
        );
        assert_eq!(
            r("{{ rest (list 1 2 3) }}|{{ initial (list 1 2 3) }}|{{ rest list }}"),
            "[2 3]|[1 2]|[]"
        );
        assert_eq!(
            r("{{ append (list 1) 2 }}|{{ prepend (list 1) 0 }}|{{ concat (list 1) (list 2 3) }}"),
            "[1 2]|[0 1]|[1 2 3]"
        );
        assert_eq!(
            r(
                "{{ reverse (list 1 2 3) }}|{{ uniq (list 1 1 2 \"1\") }}|{{ without (list 1 2 3 1) 1 }}"
            ),
            "[3 2 1]|[1 2 1]|[2 3]"
        );
        assert_eq!(
            r("{{ has 2 (list 1 2) }}|{{ has \"2\" (list 1 2) }}|{{ has 1 nil }}"),
            "true|false|false"
        );
        assert_eq!(
            r("{{ compact (list 1 0 \"\" \"a\" false (list) (dict)) }}"),
            "[1 a]"
        );
        assert_eq!(
            r("{{ slice (list 1 2 3) 1 }}|{{ slice (list 1 2 3) 1 2 }}|{{ slice list 1 }}"),
            "[2 3]|[2]|"
        );
        assert_eq!(
            r("{{ chunk 2 (list 1 2 3 4 5) }}|{{ chunk 2 list }}"),
            "[[1 2] [3 4] [5]]|[]"
        );
        assert_eq!(
            r("{{ typeOf (list) }}|{{ typeOf (first list) }}"),
            "[]interface {}|<nil>"
        );
    }

    #[test]
    fn list_errors_like_sprig() {
        assert_eq!(
            err("{{ first \"abc\" }}"),
            "first: Cannot find first on type string"
        );
        assert_eq!(err("{{ first nil }}"), format!("first: {NIL_PANIC}"));
        assert_eq!(
            err("{{ mustPush \"a\" 2 }}"),
            "mustPush: Cannot push on type string"
        );
        assert_eq!(
            err("{{ slice \"abc\" 1 }}"),
            "slice: list should be type of slice or array but string"
        );
        assert_eq!(
            err("{{ concat (list 1) (dict) }}"),
            "concat: Cannot concat type map as list"
        );
    }

    #[test]
    fn dicts_like_sprig() {
        assert_eq!(
            r("{{ dict \"a\" 1 \"b\" }}|{{ dict 1 2 }}"),
            "map[a:1 b:]|map[1:2]"
        );
        assert_eq!(
            r("{{ get (dict \"a\" 1) \"a\" }}|{{ get (dict) \"x\" | typeOf }}"),
            "1|string"
        );
        assert_eq!(
            r("{{ hasKey (dict \"a\" nil) \"a\" }}|{{ keys (dict \"b\" 1 \"a\" 2) }}"),
            "true|[a b]"
        );
        assert_eq!(
            r(
                "{{ pick (dict \"a\" 1 \"b\" 2) \"a\" \"z\" }}|{{ omit (dict \"a\" 1 \"b\" 2) \"a\" }}"
            ),
            "map[a:1]|map[b:2]"
        );
        assert_eq!(
            r(
                "{{ pluck \"a\" (dict \"a\" 1) (dict \"b\" 2) (dict \"a\" 3) }}|{{ values (dict \"a\" 1 \"b\" 2) }}"
            ),
            "[1 3]|[1 2]"
        );
        assert_eq!(
            r(
                "{{ dig \"a\" \"b\" \"def\" (dict \"a\" (dict \"b\" 5)) }}|{{ dig \"a\" \"x\" \"def\" (dict \"a\" (dict)) }}"
            ),
            "5|def"
        );
        assert_eq!(
            err("{{ dig \"a\" \"b\" \"def\" (dict \"a\" \"str\") }}"),
            "dig: interface conversion: interface {} is string, not map[string]interface {}"
        );
        assert_eq!(
            err("{{ dig \"a\" \"def\" }}"),
            "dig: dig needs at least three arguments"
        );
        assert_eq!(
            err("{{ get \"x\" \"a\" }}"),
            "get: wrong type for value; expected map[string]interface {}; got string"
        );
    }

    #[test]
    fn set_and_merge_change_the_shared_map() {
        let out = r(
            "{{ $a := dict \"x\" 1 }}{{ $b := $a }}{{ $_ := set $b \"y\" 2 }}{{ $a }}|{{ unset $a \"x\" }}|{{ $b }}",
        );
        assert_eq!(out, "map[x:1 y:2]|map[y:2]|map[y:2]");
        let out = r(
            "{{ $d := dict \"a\" 1 \"n\" (dict \"k\" 1) }}{{ $_ := mergeOverwrite $d (dict \"a\" 2 \"n\" (dict \"j\" 2)) }}{{ $d }}",
        );
        assert_eq!(out, "map[a:2 n:map[j:2 k:1]]");
        let data = values("v:\n  a: 1\n");
        let out = render("{{ $_ := set .v \"b\" 2 }}{{ .v }}", &data).unwrap();
        assert_eq!(out, "map[a:1 b:2]");
    }

    #[test]
    fn merge_follows_mergo() {
        // Verified with helm 4.1.4.
        assert_eq!(
            r(
                "{{ mergeOverwrite (dict \"a\" 1 \"b\" true \"c\" \"x\" \"e\" (list 1)) (dict \"a\" 0 \"b\" false \"c\" \"\" \"e\" (list)) | toJson }}"
            ),
            r#"{"a":0,"b":false,"c":"","e":[]}"#
        );
        assert_eq!(
            r(
                "{{ merge (dict \"x\" \"\") (dict \"a\" nil \"x\" nil) | toJson }}|{{ mergeOverwrite (dict \"x\" \"1\") (dict \"a\" nil \"x\" nil) | toJson }}"
            ),
            r#"{"x":""}|{"a":null,"x":null}"#
        );
        assert_eq!(
            r(
                "{{ merge (dict \"a\" 1 \"b\" \"\" \"n\" (dict \"k\" 1)) (dict \"a\" 2 \"b\" \"y\" \"c\" 3 \"n\" (dict \"k\" 2 \"j\" 2)) | toJson }}"
            ),
            r#"{"a":1,"b":"y","c":3,"n":{"j":2,"k":1}}"#
        );
    }

    /// mergo's corner cases, as helm 4.1.4 renders them.
    #[test]
    fn merge_corner_cases() {
        let cases = [
            (
                r#"{{ merge (dict "a" (dict) "b" "x" "c" (list 1) "d" (dict "k" 1)) (dict "a" (dict "z" 1) "b" (dict "y" 1) "c" (dict "m" 1) "d" "str" "e" (list)) | toJson }}"#,
                r#"{"a":{"z":1},"b":"x","c":[1],"d":{"k":1},"e":[]}"#,
            ),
            (
                r#"{{ mergeOverwrite (dict "a" (dict) "b" "x" "c" (list 1) "d" (dict "k" 1) "f" (dict "q" 1)) (dict "a" (dict "z" 1) "b" (dict "y" 1) "c" (dict "m" 1) "d" "str" "e" (list) "f" (dict)) | toJson }}"#,
                r#"{"a":{"z":1},"b":{"y":1},"c":{"m":1},"d":"str","e":[],"f":{"q":1}}"#,
            ),
            // A map merged into a missing key is shared with the source.
            (
                r#"{{ $s := dict "n" (dict "k" 1) }}{{ $d := merge (dict "x" 1) $s }}{{ $_ := set $d.n "j" 2 }}{{ toJson $s }}"#,
                r#"{"n":{"j":2,"k":1}}"#,
            ),
            (
                r#"{{ merge (dict "a" 0 "b" false "c" nil) (dict "a" 5 "b" true "c" 3) | toJson }}|{{ merge (dict "l" (list)) (dict "l" (list 1)) | toJson }}|{{ mergeOverwrite (dict "a" 1) (dict "a" (list)) | toJson }}"#,
                r#"{"a":5,"b":true,"c":3}|{"l":[1]}|{"a":[]}"#,
            ),
            (
                r#"{{ merge (dict "a" 1) (dict "b" 2) (dict "a" 3 "c" 4) | toJson }}|{{ mergeOverwrite (dict "a" 1) (dict "b" 2) (dict "a" 3 "c" 4) | toJson }}"#,
                r#"{"a":1,"b":2,"c":4}|{"a":3,"b":2,"c":4}"#,
            ),
            (
                r#"{{ merge (dict "a" (dict "b" (dict "c" 1))) (dict "a" (dict "b" (dict "d" 2 "c" 9))) | toJson }}|{{ mergeOverwrite (dict "a" (dict "b" (dict "c" 1))) (dict "a" (dict "b" (dict "d" 2 "c" 9))) | toJson }}"#,
                r#"{"a":{"b":{"c":1,"d":2}}}|{"a":{"b":{"c":9,"d":2}}}"#,
            ),
        ];
        for (src, want) in cases {
            assert_eq!(r(src), want, "{src}");
        }
    }

    #[test]
    fn defaults_and_reflection() {
        assert_eq!(
            r(
                "{{ default \"d\" \"\" }}|{{ default \"d\" 0 }}|{{ default \"d\" \"x\" }}|{{ \"\" | default \"z\" }}"
            ),
            "d|d|x|z"
        );
        assert_eq!(
            r(
                "{{ empty (dict) }}|{{ empty 0.0 }}|{{ empty (list 0) }}|{{ coalesce 0 \"\" \"a\" }}"
            ),
            "true|true|false|a"
        );
        assert_eq!(
            r("{{ all 1 \"a\" }}|{{ all 1 \"\" }}|{{ any 0 \"\" }}|{{ any 0 \"x\" }}"),
            "true|false|false|true"
        );
        assert_eq!(
            r("{{ ternary \"y\" \"n\" true }}|{{ false | ternary \"y\" \"n\" }}"),
            "y|n"
        );
        assert_eq!(
            r(
                "{{ typeOf 1.5 }}|{{ kindOf (dict) }}|{{ kindIs \"slice\" (list) }}|{{ typeIs \"string\" \"a\" }}"
            ),
            "float64|map|true|true"
        );
        assert_eq!(
            r(
                "{{ deepEqual (list 1 (dict \"a\" 1)) (list 1 (dict \"a\" 1)) }}|{{ deepEqual 1 1.0 }}"
            ),
            "true|false"
        );
    }

    #[test]
    fn semver_like_masterminds() {
        assert_eq!(
            r(
                "{{ semver \"1.2.3-rc.1+b\" }} {{ (semver \"v1.2\").Major }} {{ typeOf (semver \"1.2.3\") }} {{ (semver \"1.2.3-rc.1+b\").Prerelease }} {{ (semver \"v1.2\").Original }} {{ semver \"1.2.3\" | toJson }} {{ kindOf (semver \"1.2.3\") }}"
            ),
            "1.2.3-rc.1+b 1 *semver.Version rc.1 v1.2 \"1.2.3\" ptr"
        );
        assert_eq!(r("{{ semverCompare \">=1.20-0\" \"v1.35.0\" }}"), "true");
        assert_eq!(
            err("{{ semverCompare \">=1.2\" \"bad\" }}"),
            "semverCompare: invalid semantic version"
        );
        assert_eq!(
            err("{{ semverCompare \"bad!\" \"1.2.3\" }}"),
            "semverCompare: improper constraint: bad!"
        );
        assert_eq!(
            err("{{ semver \"x\" }}"),
            "semver: invalid semantic version"
        );
    }

    #[test]
    fn nil_and_empty_edges() {
        assert_eq!(
            r(
                "{{ rest list }}|{{ slice list }}|{{ first list }}|{{ initial list }}|{{ typeOf (rest list) }}|{{ concat }}|{{ typeOf (slice list) }}|{{ chunk 2 list }}|{{ keys }}|{{ pluck \"a\" }}"
            ),
            "[]|||[]|[]interface {}|[]|<nil>|[]|[]|[]"
        );
        assert_eq!(
            r(
                "{{ values (dict) | typeOf }}|{{ keys (dict) }}|{{ omit nil \"a\" }}|{{ pick (dict \"a\" 1) }}|{{ get nil \"a\" }}|{{ hasKey nil \"a\" }}|{{ unset nil \"a\" }}|{{ dict }}|{{ dict \"a\" }}|{{ merge nil (dict \"a\" 1) }}"
            ),
            "[]interface {}|[]|map[]|map[]||false|map[]|map[]|map[a:]|map[a:1]"
        );
        assert_eq!(
            err("{{ chunk 0 list }}"),
            "chunk: runtime error: makeslice: len out of range"
        );
        assert_eq!(
            err("{{ slice (list 1 2) 1 5 }}"),
            "slice: reflect.Value.Slice: slice index out of bounds"
        );
        assert_eq!(
            err("{{ set nil \"a\" 1 }}"),
            "set: assignment to entry in nil map"
        );
        assert_eq!(
            err("{{ deepCopy nil }}"),
            "deepCopy: reflect: call of reflect.Value.Type on zero Value"
        );
        assert_eq!(
            r(
                "{{ typeIsLike \"semver.Version\" (semver \"1.0.0\") }}|{{ kindOf 1.5 }}|{{ kindOf nil }}|{{ typeOf nil }}|{{ kindIs \"invalid\" nil }}|{{ deepEqual nil nil }}|{{ deepCopy (dict \"a\" (list 1)) }}"
            ),
            "true|float64|invalid|<nil>|true|true|map[a:[1]]"
        );
    }
}

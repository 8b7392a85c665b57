//! text/template's own functions: comparisons with Go's type rules, `not`, `len`, `index`,
//! `slice`, the `print` family and the `html`/`js`/`urlquery` escapers.

use std::cmp::Ordering;
use std::rc::Rc;

use super::CallError;
use super::fmt::{sprint, sprintf, sprintln};
use super::value::Value;
use super::{FnResult, Funcs, arg_str};

pub fn register(f: &mut Funcs) {
    f.add_variadic("eq", 1, eq);
    f.add("ne", 2, |a| Ok(Value::Bool(!equal(&a[0], &a[1])?)));
    f.add("lt", 2, |a| {
        compare(&a[0], &a[1]).map(|o| Value::Bool(o == Ordering::Less))
    });
    f.add("le", 2, |a| {
        compare(&a[0], &a[1]).map(|o| Value::Bool(o != Ordering::Greater))
    });
    f.add("gt", 2, |a| {
        compare(&a[0], &a[1]).map(|o| Value::Bool(o == Ordering::Greater))
    });
    f.add("ge", 2, |a| {
        compare(&a[0], &a[1]).map(|o| Value::Bool(o != Ordering::Less))
    });
    f.add("not", 1, |a| Ok(Value::Bool(!a[0].truthy())));
    f.add("len", 1, |a| length(&a[0]).map(Value::Int));
    f.add_variadic("index", 1, index);
    f.add_variadic("slice", 1, slice);
    f.add_variadic("print", 0, |a| Ok(Value::from(sprint(a))));
    f.add_variadic("println", 0, |a| Ok(Value::from(sprintln(a))));
    f.add_variadic("printf", 1, |a| {
        let format = arg_str(&a[0])?;
        Ok(Value::from(sprintf(&format, &a[1..])))
    });
    f.add_variadic("html", 0, |a| Ok(Value::from(html_escape(&eval_args(a)))));
    f.add_variadic("js", 0, |a| Ok(Value::from(js_escape(&eval_args(a)))));
    f.add_variadic("urlquery", 0, |a| {
        Ok(Value::from(query_escape(&eval_args(a))))
    });
}

/// text/template's `evalArgs`: one string argument as it is, otherwise `fmt.Sprint`.
fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    sprint(a)
}

#[derive(PartialEq, Clone, Copy)]
enum Kind {
    Invalid,
    Bool,
    Int,
    Float,
    Str,
    Other,
}

fn kind(v: &Value) -> Kind {
    match v {
        Value::Nil => Kind::Invalid,
        Value::Bool(_) => Kind::Bool,
        Value::Int(_) => Kind::Int,
        Value::Float(_) => Kind::Float,
        Value::Str(_) => Kind::Str,
        _ => Kind::Other,
    }
}

/// Go's complaint about comparing values of different kinds.
fn bad_comparison(x: &Value, y: &Value) -> CallError {
    CallError::from(format!(
        "incompatible types for comparison: {} and {}",
        x.type_name(),
        y.type_name()
    ))
}
const BAD_COMPARISON_TYPE: &str = "invalid type for comparison";

fn eq(a: &[Value]) -> FnResult {
    if a.len() < 2 {
        return Err(CallError::from("missing argument for comparison"));
    }
    for other in &a[1..] {
        if equal(&a[0], other)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn equal(x: &Value, y: &Value) -> Result<bool, CallError> {
    let (kx, ky) = (kind(x), kind(y));
    if kx != ky {
        if kx != Kind::Invalid && ky != Kind::Invalid {
            return Err(bad_comparison(x, y));
        }
        return Ok(false);
    }
    Ok(match (x, y) {
        (Value::Nil, Value::Nil) => true,
        (Value::Bool(a), Value::Bool(b)) => a == b,
        (Value::Int(a), Value::Int(b)) => a == b,
        (Value::Float(a), Value::Float(b)) => a == b,
        (Value::Str(a), Value::Str(b)) => a == b,
        _ => {
            return Err(CallError::from(format!(
                "non-comparable types {}: {}, {}: {}",
                x.go_string(),
                x.type_name(),
                y.type_name(),
                y.go_string()
            )));
        }
    })
}

fn compare(x: &Value, y: &Value) -> Result<Ordering, CallError> {
    let (kx, ky) = (kind(x), kind(y));
    if matches!(kx, Kind::Invalid | Kind::Bool | Kind::Other)
        || matches!(ky, Kind::Invalid | Kind::Bool | Kind::Other)
    {
        return Err(CallError::from(BAD_COMPARISON_TYPE));
    }
    if kx != ky {
        return Err(bad_comparison(x, y));
    }
    Ok(match (x, y) {
        (Value::Int(a), Value::Int(b)) => a.cmp(b),
        (Value::Float(a), Value::Float(b)) => a.partial_cmp(b).unwrap_or(Ordering::Equal),
        (Value::Str(a), Value::Str(b)) => a.cmp(b),
        _ => Ordering::Equal,
    })
}

pub fn length(v: &Value) -> Result<i64, CallError> {
    match v.data() {
        Value::Nil => Err(CallError::from("len of nil pointer")),
        Value::Str(s) => Ok(s.len() as i64),
        Value::List(l) => Ok(l.len() as i64),
        Value::Bytes(b) => Ok(b.len() as i64),
        Value::Map(m) => Ok(m.borrow().len() as i64),
        other => Err(CallError::from(format!(
            "len of type {}",
            other.type_name()
        ))),
    }
}

fn index_arg(v: &Value, cap: usize) -> Result<usize, CallError> {
    let n = match v {
        Value::Int(n) => *n,
        Value::Nil => return Err(CallError::from("cannot index slice/array with nil")),
        other => {
            return Err(CallError::from(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            )));
        }
    };
    if n < 0 || n as usize > cap {
        return Err(CallError::from(format!("index out of range: {n}")));
    }
    Ok(n as usize)
}

fn index(a: &[Value]) -> FnResult {
    let mut item = a[0].data();
    for idx in &a[1..] {
        item = match item.data() {
            Value::Nil => return Err(CallError::from("index of untyped nil")),
            Value::List(l) => {
                let i = index_arg(idx, l.len())?;
                if i == l.len() {
                    return Err(CallError::from(format!("index out of range: {i}")));
                }
                l[i].clone()
            }
            Value::Bytes(b) => {
                let i = index_arg(idx, b.len())?;
                if i == b.len() {
                    return Err(CallError::from(format!("index out of range: {i}")));
                }
                Value::Int(b[i] as i64)
            }
            Value::Str(s) => {
                let i = index_arg(idx, s.len())?;
                if i == s.len() {
                    return Err(CallError::from(format!("index out of range: {i}")));
                }
                Value::Int(s.as_bytes()[i] as i64)
            }
            Value::Map(m) => match idx {
                Value::Str(k) => m.borrow().get(&**k).cloned().unwrap_or(Value::Nil),
                Value::Nil => {
                    return Err(CallError::from(
                        "value is nil; should be of type string".to_string(),
                    ));
                }
                other => {
                    return Err(CallError::from(format!(
                        "value has type {}; should be string",
                        other.type_name()
                    )));
                }
            },
            other => {
                return Err(CallError::from(format!(
                    "can't index item of type {}",
                    other.type_name()
                )));
            }
        };
    }
    Ok(item)
}

fn slice(a: &[Value]) -> FnResult {
    let item = a[0].data();
    if a.len() > 4 {
        return Err(CallError::from(format!(
            "too many slice indexes: {}",
            a.len() - 1
        )));
    }
    let len = match &item {
        Value::Nil => return Err(CallError::from("slice of untyped nil")),
        Value::Str(s) => {
            if a.len() == 4 {
                return Err(CallError::from("cannot 3-index slice a string"));
            }
            s.len()
        }
        Value::List(l) => l.len(),
        Value::Bytes(b) => b.len(),
        other => {
            return Err(CallError::from(format!(
                "can't slice item of type {}",
                other.type_name()
            )));
        }
    };
    let mut idx = [0usize, len];
    for (i, v) in a[1..a.len().min(3)].iter().enumerate() {
        idx[i] = index_arg(v, len)?;
    }
    if idx[0] > idx[1] {
        return Err(CallError::from(format!(
            "invalid slice index: {} > {}",
            idx[0], idx[1]
        )));
    }
    Ok(match item {
        Value::Str(s) => {
            Value::from(String::from_utf8_lossy(&s.as_bytes()[idx[0]..idx[1]]).into_owned())
        }
        Value::List(l) => Value::List(Rc::new(l[idx[0]..idx[1]].to_vec())),
        Value::Bytes(b) => Value::Bytes(Rc::new(b[idx[0]..idx[1]].to_vec())),
        _ => Value::Nil,
    })
}

/// text/template's `HTMLEscapeString`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

/// text/template's `JSEscapeString`.
fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
pub fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            b => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

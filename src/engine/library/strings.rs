//! sprig's string, regex, encoding/hash and math functions, as helm 4 ships them (sprig
//! v3.3.0 with goutils v1.1.1, xstrings v1.5.0, spf13/cast v1.7.0, shopspring/decimal).
//!
//! Each function keeps sprig's argument order (the piped value is the last argument) and
//! its Go parameter types: `string` and `int` parameters refuse other types the way Go's
//! template call does ([`arg_str`], [`arg_int`]); `interface{}` parameters convert the way
//! sprig does ([`strval`], [`to_int64`], [`to_float64`]). Go's quirks are kept where they
//! show in output: byte-based slicing (`trunc`, `substr`, `abbrev`, `wrap`), Latin-1
//! re-encoding in `nospace`/`initials`, Go's panics turned into errors with the runtime's
//! wording, and Go's regexp (RE2) syntax and semantics, translated to the `regex` crate.
//!
//! Sections: registration, strings, case conversion (goutils, xstrings), splitting and
//! joining, encoding and hashes, regular expressions, math, random values (`randAlphaNum`…,
//! `randBytes`, `randInt`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::rc::Rc;

use base64::Engine as _;
use rand::Rng as _;
use rand::seq::SliceRandom as _;
use regex::Regex;
use sha2::Digest as _;

use super::CallError;
use super::fmt::{format_float, quote};
use super::value::Value;
use super::{FnResult, Funcs, arg_int, arg_str, as_list, strval, to_float64, to_int64, wrong_type};
use crate::engine::limits;

// ---------------------------------------------------------------------------------------
// Registration
// ---------------------------------------------------------------------------------------

pub fn register(f: &mut Funcs) {
    register_strings(f);
    register_case(f);
    register_split_join(f);
    register_encoding(f);
    register_regex(f);
    register_math(f);
    register_random(f);
}

fn register_strings(f: &mut Funcs) {
    f.add("trim", 1, |a| Ok(Value::from(arg_str(&a[0])?.trim())));
    f.add("trimAll", 2, trim_all);
    f.add("trimall", 2, trim_all);
    f.add("trimPrefix", 2, |a| {
        let (prefix, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(Value::from(s.strip_prefix(&*prefix).unwrap_or(&s)))
    });
    f.add("trimSuffix", 2, |a| {
        let (suffix, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(Value::from(s.strip_suffix(&*suffix).unwrap_or(&s)))
    });
    f.add("repeat", 2, |a| {
        let count = arg_int(&a[0])?;
        let s = arg_str(&a[1])?;
        go_repeat(&s, count).map(Value::from)
    });
    f.add("substr", 3, |a| {
        let (start, end, s) = (arg_int(&a[0])?, arg_int(&a[1])?, arg_str(&a[2])?);
        substring(start, end, &s).map(Value::from)
    });
    f.add("nospace", 1, |a| {
        Ok(Value::from(delete_white_space(&arg_str(&a[0])?)))
    });
    f.add("trunc", 2, |a| {
        let (c, s) = (arg_int(&a[0])?, arg_str(&a[1])?);
        Ok(Value::from(trunc(c, &s)))
    });
    f.add("abbrev", 2, |a| {
        let (width, s) = (arg_int(&a[0])?, arg_str(&a[1])?);
        if width < 4 {
            return Ok(Value::Str(s));
        }
        Ok(Value::from(abbreviate_full(&s, 0, width)))
    });
    f.add("abbrevboth", 3, |a| {
        let (left, right, s) = (arg_int(&a[0])?, arg_int(&a[1])?, arg_str(&a[2])?);
        if right < 4 || left > 0 && right < 7 {
            return Ok(Value::Str(s));
        }
        Ok(Value::from(abbreviate_full(&s, left, right)))
    });
    f.add("initials", 1, |a| {
        Ok(Value::from(initials(&arg_str(&a[0])?)))
    });
    f.add("wrap", 2, |a| {
        let (width, s) = (arg_int(&a[0])?, arg_str(&a[1])?);
        Ok(Value::from(wrap_custom(&s, width, "", false)))
    });
    f.add("wrapWith", 3, |a| {
        let (width, sep, s) = (arg_int(&a[0])?, arg_str(&a[1])?, arg_str(&a[2])?);
        Ok(Value::from(wrap_custom(&s, width, &sep, true)))
    });
    f.add("contains", 2, |a| {
        let (sub, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(Value::Bool(s.contains(&*sub)))
    });
    f.add("hasPrefix", 2, |a| {
        let (prefix, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(Value::Bool(s.starts_with(&*prefix)))
    });
    f.add("hasSuffix", 2, |a| {
        let (suffix, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(Value::Bool(s.ends_with(&*suffix)))
    });
    f.add_variadic("quote", 0, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| quote(&strval(v)))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.add_variadic("squote", 0, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(|v| format!("'{}'", v.go_string()))
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.add_variadic("cat", 0, |a| {
        let parts: Vec<String> = a
            .iter()
            .filter(|v| !v.is_nil())
            .map(Value::go_string)
            .collect();
        Ok(Value::from(parts.join(" ")))
    });
    f.add("indent", 2, |a| {
        let (spaces, s) = (arg_int(&a[0])?, arg_str(&a[1])?);
        indent(spaces, &s).map(Value::from)
    });
    f.add("nindent", 2, |a| {
        let (spaces, s) = (arg_int(&a[0])?, arg_str(&a[1])?);
        indent(spaces, &s).map(|s| Value::from(format!("\n{s}")))
    });
    f.add("replace", 3, |a| {
        let (old, new, src) = (arg_str(&a[0])?, arg_str(&a[1])?, arg_str(&a[2])?);
        Ok(Value::from(src.replace(&*old, &new)))
    });
    f.add("plural", 3, |a| {
        let (one, many, count) = (arg_str(&a[0])?, arg_str(&a[1])?, arg_int(&a[2])?);
        Ok(Value::Str(if count == 1 { one } else { many }))
    });
    f.add("toString", 1, |a| Ok(Value::from(strval(&a[0]))));
    f.add("hello", 0, |_| Ok(Value::from("Hello!")));
    f.add("shuffle", 1, |a| {
        let mut chars: Vec<char> = arg_str(&a[0])?.chars().collect();
        chars.shuffle(&mut rand::rng());
        Ok(Value::from(chars.into_iter().collect::<String>()))
    });
}

fn register_case(f: &mut Funcs) {
    f.add("upper", 1, |a| {
        Ok(Value::from(
            arg_str(&a[0])?.chars().map(upper_rune).collect::<String>(),
        ))
    });
    f.add("lower", 1, |a| {
        Ok(Value::from(
            arg_str(&a[0])?.chars().map(lower_rune).collect::<String>(),
        ))
    });
    f.add("title", 1, |a| Ok(Value::from(title(&arg_str(&a[0])?))));
    f.add("untitle", 1, |a| {
        Ok(Value::from(uncapitalize(&arg_str(&a[0])?)))
    });
    f.add("swapcase", 1, |a| {
        Ok(Value::from(swap_case(&arg_str(&a[0])?)))
    });
    f.add("snakecase", 1, |a| {
        Ok(Value::from(camel_to_lower(&arg_str(&a[0])?, '_')))
    });
    f.add("kebabcase", 1, |a| {
        Ok(Value::from(camel_to_lower(&arg_str(&a[0])?, '-')))
    });
    f.add("camelcase", 1, |a| {
        Ok(Value::from(pascal_case(&arg_str(&a[0])?)))
    });
}

fn register_split_join(f: &mut Funcs) {
    f.add("split", 2, |a| {
        let (sep, orig) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(indexed_map(go_split(&orig, &sep, -1)))
    });
    f.add("splitn", 3, |a| {
        let (sep, n, orig) = (arg_str(&a[0])?, arg_int(&a[1])?, arg_str(&a[2])?);
        Ok(indexed_map(go_split(&orig, &sep, n)))
    });
    f.add("splitList", 2, |a| {
        let (sep, orig) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(str_list(go_split(&orig, &sep, -1)))
    });
    f.add("toStrings", 1, |a| Ok(str_list(strslice(&a[0]))));
    f.add("join", 2, |a| {
        let sep = arg_str(&a[0])?;
        Ok(Value::from(strslice(&a[1]).join(&sep)))
    });
    f.add("sortAlpha", 1, |a| {
        let mut items = match as_list(&a[0]) {
            Some(_) => strslice(&a[0]),
            None => vec![strval(&a[0])],
        };
        items.sort();
        Ok(str_list(items))
    });
}

fn register_encoding(f: &mut Funcs) {
    f.add("b64enc", 1, |a| {
        Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(&*arg_octets(&a[0])?),
        ))
    });
    f.add("b64dec", 1, |a| {
        Ok(Value::from(
            match base64_decode(arg_str(&a[0])?.as_bytes()) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(at) => format!("illegal base64 data at input byte {at}"),
            },
        ))
    });
    f.add("b32enc", 1, |a| {
        Ok(Value::from(base32_encode(arg_str(&a[0])?.as_bytes())))
    });
    f.add("b32dec", 1, |a| {
        Ok(Value::from(
            match base32_decode(arg_str(&a[0])?.as_bytes()) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                Err(at) => format!("illegal base32 data at input byte {at}"),
            },
        ))
    });
    f.add("sha1sum", 1, |a| {
        let digest = aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY,
            arg_str(&a[0])?.as_bytes(),
        );
        Ok(Value::from(hex::encode(digest.as_ref())))
    });
    f.add("sha256sum", 1, |a| {
        Ok(Value::from(hex::encode(sha2::Sha256::digest(
            &*arg_octets(&a[0])?,
        ))))
    });
    f.add("sha512sum", 1, |a| {
        Ok(Value::from(hex::encode(sha2::Sha512::digest(
            arg_str(&a[0])?.as_bytes(),
        ))))
    });
    f.add("adler32sum", 1, |a| {
        Ok(Value::from(adler32(arg_str(&a[0])?.as_bytes()).to_string()))
    });
}

fn register_regex(f: &mut Funcs) {
    f.add("regexMatch", 2, |a| {
        let (re, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(Value::Bool(compile(&re).is_ok_and(|r| r.re.is_match(&s))))
    });
    f.add("mustRegexMatch", 2, |a| {
        let (re, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
        Ok(Value::Bool(
            compile(&re).map_err(CallError::from)?.re.is_match(&s),
        ))
    });
    for (name, must) in [("regexFindAll", false), ("mustRegexFindAll", true)] {
        f.add(name, 3, move |a| {
            let (re, s, n) = (arg_str(&a[0])?, arg_str(&a[1])?, arg_int(&a[2])?);
            let r = compile_for(&re, must)?;
            Ok(str_list(
                find_all(&r.re, &s, n)
                    .map(|m| m.as_str().to_string())
                    .collect(),
            ))
        });
    }
    for (name, must) in [("regexFind", false), ("mustRegexFind", true)] {
        f.add(name, 2, move |a| {
            let (re, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
            let r = compile_for(&re, must)?;
            Ok(Value::from(r.re.find(&s).map_or("", |m| m.as_str())))
        });
    }
    for (name, must) in [("regexReplaceAll", false), ("mustRegexReplaceAll", true)] {
        f.add(name, 3, move |a| {
            let (re, s, repl) = (arg_str(&a[0])?, arg_str(&a[1])?, arg_str(&a[2])?);
            let r = compile_for(&re, must)?;
            Ok(Value::from(replace_all(&r, &s, &repl, false)))
        });
    }
    for (name, must) in [
        ("regexReplaceAllLiteral", false),
        ("mustRegexReplaceAllLiteral", true),
    ] {
        f.add(name, 3, move |a| {
            let (re, s, repl) = (arg_str(&a[0])?, arg_str(&a[1])?, arg_str(&a[2])?);
            let r = compile_for(&re, must)?;
            Ok(Value::from(replace_all(&r, &s, &repl, true)))
        });
    }
    for (name, must) in [("regexSplit", false), ("mustRegexSplit", true)] {
        f.add(name, 3, move |a| {
            let (re, s, n) = (arg_str(&a[0])?, arg_str(&a[1])?, arg_int(&a[2])?);
            let r = compile_for(&re, must)?;
            Ok(str_list(regex_split(&r, &re, &s, n)))
        });
    }
    f.add("regexQuoteMeta", 1, |a| {
        Ok(Value::from(quote_meta(&arg_str(&a[0])?)))
    });
}

fn register_math(f: &mut Funcs) {
    f.add("add1", 1, |a| {
        Ok(Value::Int(to_int64(&a[0]).wrapping_add(1)))
    });
    f.add_variadic("add", 0, |a| {
        Ok(Value::Int(
            a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_int64(v))),
        ))
    });
    f.add("sub", 2, |a| {
        Ok(Value::Int(to_int64(&a[0]).wrapping_sub(to_int64(&a[1]))))
    });
    f.add("div", 2, |a| {
        int_div(to_int64(&a[0]), to_int64(&a[1]), i64::wrapping_div)
    });
    f.add("mod", 2, |a| {
        int_div(to_int64(&a[0]), to_int64(&a[1]), i64::wrapping_rem)
    });
    f.add_variadic("mul", 1, |a| {
        Ok(Value::Int(a[1..].iter().fold(to_int64(&a[0]), |acc, v| {
            acc.wrapping_mul(to_int64(v))
        })))
    });
    let max = |a: &[Value]| {
        Ok(Value::Int(
            a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::max),
        ))
    };
    f.add_variadic("max", 1, max);
    f.add_variadic("biggest", 1, max);
    f.add_variadic("min", 1, |a| {
        Ok(Value::Int(
            a[1..].iter().map(to_int64).fold(to_int64(&a[0]), i64::min),
        ))
    });
    f.add_variadic("maxf", 1, |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_max),
        ))
    });
    f.add_variadic("minf", 1, |a| {
        Ok(Value::Float(
            a[1..]
                .iter()
                .map(to_float64)
                .fold(to_float64(&a[0]), go_min),
        ))
    });
    f.add("floor", 1, |a| Ok(Value::Float(to_float64(&a[0]).floor())));
    f.add("ceil", 1, |a| Ok(Value::Float(to_float64(&a[0]).ceil())));
    f.add_variadic("round", 2, |a| {
        let places = arg_int(&a[1])?;
        let round_on = match a.get(2) {
            Some(v) => arg_float(v)?,
            None => 0.5,
        };
        for v in a.iter().skip(3) {
            arg_float(v)?;
        }
        Ok(Value::Float(round(to_float64(&a[0]), places, round_on)))
    });
    f.add("add1f", 1, |a| {
        decimal_op(&a[0], &[Value::Int(1)], DecOp::Add)
    });
    f.add_variadic("addf", 0, |a| decimal_op(&Value::Float(0.0), a, DecOp::Add));
    f.add_variadic("subf", 1, |a| decimal_op(&a[0], &a[1..], DecOp::Sub));
    f.add_variadic("mulf", 1, |a| decimal_op(&a[0], &a[1..], DecOp::Mul));
    f.add_variadic("divf", 1, |a| decimal_op(&a[0], &a[1..], DecOp::Div));
    f.add("int", 1, |a| Ok(Value::Int(to_int64(&a[0]))));
    f.add("int64", 1, |a| Ok(Value::Int(to_int64(&a[0]))));
    f.add("float64", 1, |a| Ok(Value::Float(to_float64(&a[0]))));
    f.add("atoi", 1, |a| Ok(Value::Int(atoi(&arg_str(&a[0])?))));
    f.add("toDecimal", 1, |a| {
        let text = a[0].go_string();
        Ok(Value::Int(parse_octal(&text).unwrap_or(0)))
    });
    f.add("until", 1, |a| {
        let count = arg_int(&a[0])?;
        Ok(int_list(until_step(
            0,
            count,
            if count < 0 { -1 } else { 1 },
        )?))
    });
    f.add("untilStep", 3, |a| {
        let (start, stop, step) = (arg_int(&a[0])?, arg_int(&a[1])?, arg_int(&a[2])?);
        Ok(int_list(until_step(start, stop, step)?))
    });
    f.add_variadic("seq", 0, |a| {
        let params = a.iter().map(arg_int).collect::<Result<Vec<_>, _>>()?;
        seq(&params).map(Value::from)
    });
}

fn register_random(f: &mut Funcs) {
    f.add("randAlphaNum", 1, |a| {
        random_string(arg_int(&a[0])?, |c| c.is_ascii_alphanumeric()).map(Value::from)
    });
    f.add("randAlpha", 1, |a| {
        random_string(arg_int(&a[0])?, |c| c.is_ascii_alphabetic()).map(Value::from)
    });
    f.add("randNumeric", 1, |a| {
        random_string(arg_int(&a[0])?, |c| c.is_ascii_digit()).map(Value::from)
    });
    f.add("randAscii", 1, |a| {
        random_string(arg_int(&a[0])?, |c| (' '..='~').contains(&c)).map(Value::from)
    });
    f.add("randBytes", 1, |a| {
        let count = arg_int(&a[0])?;
        if count < 0 {
            return Err(runtime_error("makeslice: len out of range"));
        }
        limits::check_result(count as u128)?;
        let mut buf = vec![0u8; count as usize];
        rand::rng().fill(&mut buf[..]);
        Ok(Value::from(
            base64::engine::general_purpose::STANDARD.encode(&buf),
        ))
    });
    f.add("randInt", 2, |a| {
        let (min, max) = (arg_int(&a[0])?, arg_int(&a[1])?);
        if max <= min {
            return Err(CallError::from("invalid argument to Intn"));
        }
        Ok(Value::Int(rand::rng().random_range(min..max)))
    });
}

// ---------------------------------------------------------------------------------------
// Shared helpers
// ---------------------------------------------------------------------------------------

/// A Go runtime panic as helm reports it once recovered.
/// A string parameter's bytes; a binary file's bytes as they are (a Go string holds any
/// bytes, rudder's strings only UTF-8).
fn arg_octets(v: &Value) -> Result<Vec<u8>, CallError> {
    match v {
        Value::Bytes(b) => Ok(b.to_vec()),
        other => Ok(arg_str(other)?.as_bytes().to_vec()),
    }
}

fn runtime_error(what: &str) -> CallError {
    CallError::from(format!("runtime error: {what}"))
}

/// A `[]string` result.
fn str_list(items: Vec<String>) -> Value {
    Value::List(Rc::new(items.into_iter().map(Value::from).collect()))
}

/// A `[]int` result.
fn int_list(items: Vec<i64>) -> Value {
    Value::List(Rc::new(items.into_iter().map(Value::Int).collect()))
}

/// Bytes of a Go string sliced at arbitrary byte offsets, back to text.
fn bytes_text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A `float64` parameter: float values, and integer constants (which Go converts).
fn arg_float(v: &Value) -> Result<f64, CallError> {
    match v {
        Value::Float(f) => Ok(*f),
        Value::Int(n) => Ok(*n as f64),
        Value::Nil => Err(CallError::from("invalid value; expected float64")),
        other => Err(wrong_type("float64", other)),
    }
}

/// `strings.Repeat`, with its panics.
fn go_repeat(s: &str, count: i64) -> Result<String, CallError> {
    if count < 0 {
        return Err(CallError::from("strings: negative Repeat count"));
    }
    match (s.len() as u64).checked_mul(count as u64) {
        Some(total) if total <= i64::MAX as u64 => {
            limits::check_result(total.into())?;
            Ok(s.repeat(count as usize))
        }
        _ => Err(CallError::from("strings: Repeat output length overflow")),
    }
}

// ---------------------------------------------------------------------------------------
// Strings
// ---------------------------------------------------------------------------------------

fn trim_all(a: &[Value]) -> FnResult {
    let (cutset, s) = (arg_str(&a[0])?, arg_str(&a[1])?);
    Ok(Value::from(s.trim_matches(|c| cutset.contains(c))))
}

/// sprig's `substring`: Go's byte slicing, with its panics.
fn substring(start: i64, end: i64, s: &str) -> Result<String, CallError> {
    let len = s.len() as i64;
    let b = s.as_bytes();
    if start < 0 {
        if end < 0 {
            return Err(runtime_error(&format!(
                "slice bounds out of range [:{end}]"
            )));
        }
        if end > len {
            return Err(runtime_error(&format!(
                "slice bounds out of range [:{end}] with length {len}"
            )));
        }
        return Ok(bytes_text(&b[..end as usize]));
    }
    if end < 0 || end > len {
        if start > len {
            return Err(runtime_error(&format!(
                "slice bounds out of range [{start}:{len}]"
            )));
        }
        return Ok(bytes_text(&b[start as usize..]));
    }
    if start > end {
        return Err(runtime_error(&format!(
            "slice bounds out of range [{start}:{end}]"
        )));
    }
    Ok(bytes_text(&b[start as usize..end as usize]))
}

/// sprig's `trunc`: the first `c` bytes, or for a negative `c` the last `-c`.
fn trunc(c: i64, s: &str) -> String {
    let len = s.len() as i64;
    if c < 0 && len + c > 0 {
        return bytes_text(&s.as_bytes()[(len + c) as usize..]);
    }
    if c >= 0 && len > c {
        return bytes_text(&s.as_bytes()[..c as usize]);
    }
    s.to_string()
}

/// goutils `DeleteWhiteSpace`: works byte by byte, so multi-byte characters are re-encoded
/// as Latin-1 (and their 0x85 / 0xA0 bytes dropped) whenever anything is removed.
fn delete_white_space(s: &str) -> String {
    let kept: String = s
        .bytes()
        .map(char::from)
        .filter(|c| !c.is_whitespace())
        .collect();
    if kept.chars().count() == s.len() {
        s.to_string()
    } else {
        kept
    }
}

/// goutils `Initials`: the first byte of each whitespace-separated word (as Latin-1).
fn initials(s: &str) -> String {
    let mut out = String::new();
    let mut last_was_gap = true;
    for c in s.bytes().map(char::from) {
        if c.is_whitespace() {
            last_was_gap = true;
        } else if last_was_gap {
            out.push(c);
            last_was_gap = false;
        }
    }
    out
}

/// goutils `AbbreviateFull` (byte offsets; errors give "").
fn abbreviate_full(s: &str, offset: i64, max_width: i64) -> String {
    let len = s.len() as i64;
    let b = s.as_bytes();
    if s.is_empty() || max_width < 4 {
        return String::new();
    }
    if len <= max_width {
        return s.to_string();
    }
    let mut offset = offset.min(len);
    if len.wrapping_sub(offset) < max_width - 3 {
        offset = len - (max_width - 3);
    }
    if offset <= 4 {
        return format!("{}...", bytes_text(&b[..(max_width - 3) as usize]));
    }
    if max_width < 7 {
        return String::new();
    }
    if offset + max_width - 3 < len {
        let rest = bytes_text(&b[offset as usize..]);
        return format!("...{}", abbreviate_full(&rest, 0, max_width - 3));
    }
    format!("...{}", bytes_text(&b[(len - (max_width - 3)) as usize..]))
}

/// goutils `WrapCustom`: wraps at spaces (byte columns).
fn wrap_custom(s: &str, width: i64, newline: &str, wrap_long_words: bool) -> String {
    if s.is_empty() {
        return String::new();
    }
    let newline = if newline.is_empty() { "\n" } else { newline };
    let width = width.max(1) as usize;
    let b = s.as_bytes();
    let len = b.len();
    let mut offset = 0usize;
    let mut out: Vec<u8> = Vec::with_capacity(len + 8);
    while len - offset > width {
        if b[offset] == b' ' {
            offset += 1;
            continue;
        }
        let end = width + offset + 1;
        if let Some(space) = b[offset..end].iter().rposition(|&c| c == b' ') {
            // A normal word.
            out.extend_from_slice(&b[offset..offset + space]);
            out.extend_from_slice(newline.as_bytes());
            offset += space + 1;
        } else if wrap_long_words {
            out.extend_from_slice(&b[offset..offset + width]);
            out.extend_from_slice(newline.as_bytes());
            offset += width;
        } else {
            // A long word (a URL) runs past the limit up to the next space.
            let end = width + offset;
            match b[end..].iter().position(|&c| c == b' ') {
                Some(i) => {
                    out.extend_from_slice(&b[offset..end + i]);
                    out.extend_from_slice(newline.as_bytes());
                    offset = end + i + 1;
                }
                None => {
                    out.extend_from_slice(&b[offset..]);
                    offset = len;
                }
            }
        }
    }
    out.extend_from_slice(&b[offset..]);
    bytes_text(&out)
}

/// sprig's `indent`: every line prefixed with `spaces` spaces.
fn indent(spaces: i64, s: &str) -> Result<String, CallError> {
    let pad = go_repeat(" ", spaces)?;
    // Lines are counted only when the result could be past the output limit at all.
    let size = |lines: usize| pad.len() as u128 * lines as u128 + s.len() as u128;
    if limits::check_result(size(s.len() + 1)).is_err() {
        limits::check_result(size(s.bytes().filter(|&b| b == b'\n').count() + 1))?;
    }
    Ok(format!("{pad}{}", s.replace('\n', &format!("\n{pad}"))))
}

// ---------------------------------------------------------------------------------------
// Case conversion: Go's unicode simple case mapping, goutils and xstrings
// ---------------------------------------------------------------------------------------

/// `unicode.ToUpper`: the simple (one-to-one) mapping.
fn upper_rune(c: char) -> char {
    let mut it = c.to_uppercase();
    match (it.next(), it.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// `unicode.ToLower`.
fn lower_rune(c: char) -> char {
    if c == '\u{130}' {
        return 'i';
    }
    let mut it = c.to_lowercase();
    match (it.next(), it.next()) {
        (Some(l), None) => l,
        _ => c,
    }
}

/// `unicode.ToTitle`: upper case except for the Latin digraphs.
fn title_rune(c: char) -> char {
    match c {
        '\u{1C4}'..='\u{1C6}' => '\u{1C5}',
        '\u{1C7}'..='\u{1C9}' => '\u{1C8}',
        '\u{1CA}'..='\u{1CC}' => '\u{1CB}',
        '\u{1F1}'..='\u{1F3}' => '\u{1F2}',
        c => upper_rune(c),
    }
}

/// `unicode.IsTitle`.
fn is_title(c: char) -> bool {
    matches!(c,
        '\u{1C5}' | '\u{1C8}' | '\u{1CB}' | '\u{1F2}' | '\u{1F88}'..='\u{1F8F}'
        | '\u{1F98}'..='\u{1F9F}' | '\u{1FA8}'..='\u{1FAF}' | '\u{1FBC}' | '\u{1FCC}' | '\u{1FFC}')
}

fn is_upper(c: char) -> bool {
    c.is_uppercase() && !is_title(c)
}

/// `unicode.IsPunct` (category P): ASCII exactly, the common non-ASCII blocks.
fn is_punct(c: char) -> bool {
    if c.is_ascii() {
        return c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c);
    }
    matches!(c,
        '\u{A1}' | '\u{A7}' | '\u{AB}' | '\u{B6}' | '\u{B7}' | '\u{BB}' | '\u{BF}' | '\u{37E}'
        | '\u{387}' | '\u{55A}'..='\u{55F}' | '\u{589}' | '\u{58A}' | '\u{5BE}' | '\u{5C0}'
        | '\u{5C3}' | '\u{5C6}' | '\u{5F3}' | '\u{5F4}' | '\u{609}' | '\u{60A}' | '\u{60C}'
        | '\u{60D}' | '\u{61B}' | '\u{61D}'..='\u{61F}' | '\u{66A}'..='\u{66D}' | '\u{6D4}'
        | '\u{2010}'..='\u{2027}' | '\u{2030}'..='\u{2043}' | '\u{2045}'..='\u{2051}'
        | '\u{2053}'..='\u{205E}' | '\u{207D}' | '\u{207E}' | '\u{208D}' | '\u{208E}'
        | '\u{2308}'..='\u{230B}' | '\u{2329}' | '\u{232A}' | '\u{2768}'..='\u{2775}'
        | '\u{27C5}' | '\u{27C6}' | '\u{27E6}'..='\u{27EF}' | '\u{2983}'..='\u{2998}'
        | '\u{29D8}'..='\u{29DB}' | '\u{29FC}' | '\u{29FD}' | '\u{2E00}'..='\u{2E2E}'
        | '\u{2E30}'..='\u{2E4F}' | '\u{3001}'..='\u{3003}' | '\u{3008}'..='\u{3011}'
        | '\u{3014}'..='\u{301F}' | '\u{3030}' | '\u{303D}' | '\u{30A0}' | '\u{30FB}'
        | '\u{FE10}'..='\u{FE19}' | '\u{FE30}'..='\u{FE52}' | '\u{FE54}'..='\u{FE61}'
        | '\u{FE63}' | '\u{FE68}' | '\u{FE6A}' | '\u{FE6B}' | '\u{FF01}'..='\u{FF03}'
        | '\u{FF05}'..='\u{FF0A}' | '\u{FF0C}'..='\u{FF0F}' | '\u{FF1A}' | '\u{FF1B}'
        | '\u{FF1F}' | '\u{FF20}' | '\u{FF3B}'..='\u{FF3D}' | '\u{FF3F}' | '\u{FF5B}'
        | '\u{FF5D}' | '\u{FF5F}'..='\u{FF65}')
}

/// `strings.Title`: the first letter of each word upper-cased (title-cased).
fn title(s: &str) -> String {
    let mut prev = ' ';
    s.chars()
        .map(|c| {
            let out = if is_separator(prev) { title_rune(c) } else { c };
            prev = c;
            out
        })
        .collect()
}

/// The word separators of `strings.Title`.
fn is_separator(c: char) -> bool {
    if c.is_ascii() {
        return !(c.is_ascii_alphanumeric() || c == '_');
    }
    if c.is_alphabetic() || c.is_numeric() {
        return false;
    }
    c.is_whitespace()
}

/// goutils `Uncapitalize`: the first letter of each whitespace-separated word lower-cased.
fn uncapitalize(s: &str) -> String {
    let mut next = true;
    s.chars()
        .map(|c| {
            if c.is_whitespace() {
                next = true;
                c
            } else if next {
                next = false;
                lower_rune(c)
            } else {
                c
            }
        })
        .collect()
}

/// goutils `SwapCase`: upper to lower, lower to upper, except that a lower-case letter
/// starting a word becomes title case.
fn swap_case(s: &str) -> String {
    let mut whitespace = true;
    s.chars()
        .map(|c| {
            if is_upper(c) || is_title(c) {
                whitespace = false;
                lower_rune(c)
            } else if c.is_lowercase() {
                if whitespace {
                    whitespace = false;
                    title_rune(c)
                } else {
                    upper_rune(c)
                }
            } else {
                whitespace = c.is_whitespace();
                c
            }
        })
        .collect()
}

/// xstrings' word connectors.
fn is_connector(c: char) -> bool {
    c == '-' || c == '_' || c.is_whitespace()
}

/// xstrings' `isAlphabet`: a letter that is not a CJK ideograph.
fn is_alphabet(c: char) -> bool {
    c.is_alphabetic()
        && !matches!(c, '\u{4E00}'..='\u{9FCC}' | '\u{3400}'..='\u{4D85}' | '\u{20000}'..='\u{2B81D}')
}

/// xstrings `ToPascalCase` (what sprig's `camelcase` is): words separated by spaces,
/// underscores and hyphens joined with their first letter upper-cased.
fn pascal_case(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut r0 = None;
    let mut first_upper = false;
    // Leading connectors stay.
    for c in chars.by_ref() {
        if !is_connector(c) {
            first_upper = is_upper(c);
            r0 = Some(upper_rune(c));
            break;
        }
        out.push(c);
    }
    let Some(mut r0) = r0 else {
        // Only connectors: xstrings writes the last one twice.
        if let Some(last) = s.chars().last() {
            out.push(last);
        }
        return out;
    };
    for c in chars {
        let r1 = r0;
        r0 = c;
        if is_connector(r0) && is_connector(r1) {
            out.push(r1);
            continue;
        }
        if is_connector(r1) {
            first_upper = is_upper(r0);
            r0 = upper_rune(r0);
        } else {
            if first_upper {
                if is_upper(r0) {
                    r0 = lower_rune(r0);
                } else {
                    first_upper = false;
                }
            }
            out.push(r1);
        }
    }
    out.push(r0);
    out
}

#[derive(Clone, Copy, PartialEq)]
enum Word {
    Invalid,
    Number,
    Upper,
    Alpha,
    Connector,
    Punct,
    Other,
}

/// xstrings `nextWord`: the kind of the first word of `s`, the word, and the rest.
fn next_word(s: &str) -> (Word, &str, &str) {
    let Some(first) = s.chars().next() else {
        return (Word::Invalid, "", "");
    };
    let mut offset = first.len_utf8();
    // Extends the word while `keep` holds for the next character.
    let extend = |offset: &mut usize, keep: &dyn Fn(char) -> bool| {
        while let Some(c) = s[*offset..].chars().next() {
            if !keep(c) {
                break;
            }
            *offset += c.len_utf8();
        }
    };
    let kind = if is_connector(first) {
        extend(&mut offset, &is_connector);
        Word::Connector
    } else if is_punct(first) {
        extend(&mut offset, &is_punct);
        Word::Punct
    } else if is_upper(first) {
        if let Some(c) = s[offset..].chars().next() {
            if is_upper(c) {
                let mut prev_size = c.len_utf8();
                offset += prev_size;
                while let Some(c) = s[offset..].chars().next() {
                    if !is_upper(c) {
                        // "HTTPStatus" is "HTTP" and "Status".
                        if is_alphabet(c) {
                            offset -= prev_size;
                        }
                        break;
                    }
                    prev_size = c.len_utf8();
                    offset += prev_size;
                }
            } else if is_alphabet(c) {
                offset += c.len_utf8();
                extend(&mut offset, &|c| is_alphabet(c) && !is_upper(c));
            }
        }
        Word::Upper
    } else if is_alphabet(first) {
        extend(&mut offset, &|c| is_alphabet(c) && !is_upper(c));
        Word::Alpha
    } else if first.is_numeric() {
        extend(&mut offset, &|c| c.is_numeric());
        Word::Number
    } else {
        extend(&mut offset, &|c| {
            !(is_connector(c) || is_alphabet(c) || c.is_numeric() || is_punct(c))
        });
        Word::Other
    };
    (kind, &s[..offset], &s[offset..])
}

/// xstrings `toLower`: upper-case words lower-cased, connectors replaced.
fn push_lower(out: &mut String, kind: Word, word: &str, connector: char) {
    if kind != Word::Upper && kind != Word::Connector {
        out.push_str(word);
        return;
    }
    for c in word.chars() {
        if is_connector(c) {
            out.push(connector);
        } else if is_upper(c) {
            out.push(lower_rune(c));
        } else {
            out.push(c);
        }
    }
}

/// xstrings `camelCaseToLowerCase` (`snakecase`, `kebabcase`).
fn camel_to_lower(s: &str, connector: char) -> String {
    let mut out = String::with_capacity(s.len() + 4);
    let (mut wt, mut word, mut rest) = next_word(s);
    while !rest.is_empty() {
        if wt != Word::Connector {
            push_lower(&mut out, wt, word, connector);
        }
        let (prev, last) = (wt, word);
        (wt, word, rest) = next_word(rest);
        match prev {
            Word::Number => {
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if !matches!(wt, Word::Invalid | Word::Punct | Word::Connector) {
                    out.push(connector);
                }
            }
            Word::Connector => push_lower(&mut out, prev, last, connector),
            Word::Punct => {}
            _ => {
                if wt != Word::Number {
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                if rest.is_empty() {
                    continue;
                }
                let last = word;
                (wt, word, rest) = next_word(rest);
                // A number is part of the word before it ("Bld4Floor" is "bld4_floor")...
                if wt != Word::Alpha {
                    push_lower(&mut out, Word::Number, last, connector);
                    if wt != Word::Connector && wt != Word::Punct {
                        out.push(connector);
                    }
                    continue;
                }
                // ...unless lower-case letters follow it ("HTTP2xx" is "http_2xx").
                out.push(connector);
                push_lower(&mut out, Word::Number, last, connector);
                while wt == Word::Alpha || wt == Word::Number {
                    push_lower(&mut out, wt, word, connector);
                    (wt, word, rest) = next_word(rest);
                }
                if !matches!(wt, Word::Invalid | Word::Connector | Word::Punct) {
                    out.push(connector);
                }
            }
        }
    }
    push_lower(&mut out, wt, word, connector);
    out
}

// ---------------------------------------------------------------------------------------
// Splitting and joining
// ---------------------------------------------------------------------------------------

/// `strings.SplitN` (`n < 0` for all parts): an empty separator splits into characters.
fn go_split(s: &str, sep: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if sep.is_empty() {
        let chars: Vec<char> = s.chars().collect();
        let n = if n < 0 || n as usize > chars.len() {
            chars.len()
        } else {
            n as usize
        };
        let mut out: Vec<String> = chars
            .iter()
            .take(n.saturating_sub(1))
            .map(|c| c.to_string())
            .collect();
        if n > 0 {
            out.push(chars[n - 1..].iter().collect());
        }
        return out;
    }
    if n < 0 {
        s.split(sep).map(str::to_string).collect()
    } else {
        s.splitn(n as usize, sep).map(str::to_string).collect()
    }
}

/// sprig's `split` result: `{_0: a, _1: b, …}`.
fn indexed_map(parts: Vec<String>) -> Value {
    let map = Value::new_map();
    if let Value::Map(m) = &map {
        let mut m = m.borrow_mut();
        for (i, p) in parts.into_iter().enumerate() {
            m.insert(format!("_{i}"), Value::from(p));
        }
    }
    map
}

/// sprig's `strslice`: a list's non-nil items as strings, nil as none, anything else as
/// one string.
fn strslice(v: &Value) -> Vec<String> {
    match as_list(v) {
        Some(items) => items.iter().filter(|i| !i.is_nil()).map(strval).collect(),
        None if v.is_nil() => Vec::new(),
        None => vec![strval(v)],
    }
}

// ---------------------------------------------------------------------------------------
// Encoding and hashes
// ---------------------------------------------------------------------------------------

const BASE64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

/// Go's `base64.StdEncoding.DecodeString`: the offset of the first bad byte on error.
pub(crate) fn base64_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let value = |c: u8| BASE64.iter().position(|&x| x == c).map(|v| v as u32);
    let is_nl = |c: u8| c == b'\n' || c == b'\r';
    let mut out = Vec::with_capacity(src.len() * 3 / 4);
    let mut si = 0usize;
    loop {
        let mut buf = [0u32; 4];
        let mut dlen = 4usize;
        let mut j = 0usize;
        let mut done = false;
        while j < 4 {
            if si == src.len() {
                if j == 0 {
                    return Ok(out);
                }
                // Standard encoding wants padding.
                return Err(si - j);
            }
            let c = src[si];
            si += 1;
            if let Some(v) = value(c) {
                buf[j] = v;
                j += 1;
                continue;
            }
            if is_nl(c) {
                continue;
            }
            if c != b'=' {
                return Err(si - 1);
            }
            // Padding: the end of the data.
            match j {
                0 | 1 => return Err(si - 1),
                2 => {
                    while si < src.len() && is_nl(src[si]) {
                        si += 1;
                    }
                    if si == src.len() {
                        return Err(src.len());
                    }
                    if src[si] != b'=' {
                        return Err(si - 1);
                    }
                    si += 1;
                }
                _ => {}
            }
            while si < src.len() && is_nl(src[si]) {
                si += 1;
            }
            if si < src.len() {
                return Err(si);
            }
            dlen = j;
            done = true;
            break;
        }
        let val = buf[0] << 18 | buf[1] << 12 | buf[2] << 6 | buf[3];
        let bytes = [(val >> 16) as u8, (val >> 8) as u8, val as u8];
        out.extend_from_slice(&bytes[..dlen - 1]);
        if done {
            return Ok(out);
        }
    }
}

/// Go's `base32.StdEncoding.EncodeToString`.
fn base32_encode(src: &[u8]) -> String {
    let mut out = String::with_capacity(src.len().div_ceil(5) * 8);
    for chunk in src.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, &b| acc << 8 | b as u64);
        let chars = match chunk.len() {
            1 => 2,
            2 => 4,
            3 => 5,
            4 => 7,
            _ => 8,
        };
        for i in 0..8 {
            if i < chars {
                out.push(BASE32[(bits >> (35 - 5 * i) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Go's `base32.StdEncoding.DecodeString` (newlines ignored): the offset of the first bad
/// byte on error.
fn base32_decode(src: &[u8]) -> Result<Vec<u8>, usize> {
    let src: Vec<u8> = src
        .iter()
        .copied()
        .filter(|&c| c != b'\n' && c != b'\r')
        .collect();
    let olen = src.len();
    let mut rest = &src[..];
    let mut out = Vec::with_capacity(olen * 5 / 8);
    let mut end = false;
    while !rest.is_empty() && !end {
        let mut buf = [0u8; 8];
        let mut dlen = 8usize;
        let mut j = 0usize;
        while j < 8 {
            if rest.is_empty() {
                return Err(olen - j);
            }
            let c = rest[0];
            rest = &rest[1..];
            if c == b'=' && j >= 2 && rest.len() < 8 {
                if rest.len() + j < 7 {
                    return Err(olen);
                }
                for k in 0..7 - j {
                    if rest.len() > k && rest[k] != b'=' {
                        return Err(olen - rest.len() + k - 1);
                    }
                }
                dlen = j;
                end = true;
                if matches!(dlen, 1 | 3 | 6) {
                    return Err(olen - rest.len() - 1);
                }
                break;
            }
            match BASE32.iter().position(|&x| x == c) {
                Some(v) => buf[j] = v as u8,
                None => return Err(olen - rest.len() - 1),
            }
            j += 1;
        }
        let bits = buf.iter().fold(0u64, |acc, &v| acc << 5 | v as u64);
        let bytes = bits.to_be_bytes();
        let n = match dlen {
            8 => 5,
            7 => 4,
            5 => 3,
            4 => 2,
            _ => 1,
        };
        out.extend_from_slice(&bytes[3..3 + n]);
    }
    Ok(out)
}

/// `hash/adler32.Checksum`.
fn adler32(data: &[u8]) -> u32 {
    const MOD: u32 = 65521;
    let (mut a, mut b) = (1u32, 0u32);
    for chunk in data.chunks(5552) {
        for &x in chunk {
            a += x as u32;
            b += a;
        }
        a %= MOD;
        b %= MOD;
    }
    b << 16 | a
}

// ---------------------------------------------------------------------------------------
// Regular expressions: Go's RE2 syntax translated for the `regex` crate
// ---------------------------------------------------------------------------------------

/// A compiled Go regexp: the `regex` crate's program and Go's group names (kept here
/// because Go allows names the crate refuses, such as duplicates).
struct GoRegex {
    re: Regex,
    /// Group names by index (index 0 is the whole match).
    names: Vec<Option<String>>,
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Result<Rc<GoRegex>, String>>> =
        RefCell::new(HashMap::new());
}

/// `regexp.Compile`, cached: the error is Go's (`error parsing regexp: …`).
fn compile(pattern: &str) -> Result<Rc<GoRegex>, String> {
    if let Some(hit) = REGEX_CACHE.with(|c| c.borrow().get(pattern).cloned()) {
        return hit;
    }
    let result = translate_regex(pattern).and_then(|(rust, names)| match Regex::new(&rust) {
        Ok(re) => Ok(Rc::new(GoRegex { re, names })),
        Err(regex::Error::CompiledTooBig(_)) => Err(format!(
            "error parsing regexp: expression too large: `{pattern}`"
        )),
        Err(_) => Err(format!(
            "error parsing regexp: invalid or unsupported Perl syntax: `{pattern}`"
        )),
    });
    REGEX_CACHE.with(|c| {
        let mut cache = c.borrow_mut();
        if cache.len() >= 512 {
            cache.clear();
        }
        cache.insert(pattern.to_string(), result.clone());
    });
    result
}

/// Compiles for a sprig function: `must…` functions return Go's error, the others panic
/// in `regexp.MustCompile`, whose message helm shows.
fn compile_for(pattern: &str, must: bool) -> Result<Rc<GoRegex>, CallError> {
    compile(pattern).map_err(|e| {
        if must {
            CallError::from(e)
        } else {
            let shown = if can_backquote(pattern) {
                format!("`{pattern}`")
            } else {
                quote(pattern)
            };
            CallError::from(format!("regexp: Compile({shown}): {e}"))
        }
    })
}

/// `strconv.CanBackquote`.
fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| c != '`' && c != '\u{FEFF}' && (c == '\t' || !c.is_control()))
}

/// Go's `FindAll…(s, n)`: at most `n` matches when `n >= 0`.
fn find_all<'h>(re: &Regex, s: &'h str, n: i64) -> impl Iterator<Item = regex::Match<'h>> {
    re.find_iter(s)
        .take(if n < 0 { usize::MAX } else { n as usize })
}

/// Go's `ReplaceAllString` (with `$name` expansion) or `ReplaceAllLiteralString`.
fn replace_all(r: &GoRegex, s: &str, repl: &str, literal: bool) -> String {
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for caps in r.re.captures_iter(s) {
        let m = caps.get(0).expect("group 0");
        out.push_str(&s[last..m.start()]);
        if literal {
            out.push_str(repl);
        } else {
            expand(r, &caps, repl, &mut out);
        }
        last = m.end();
    }
    out.push_str(&s[last..]);
    out
}

/// Go's `Regexp.Expand`: `$1`, `$name`, `${name}`, `$$`; the longest name is taken, so
/// `$1x` is the (usually missing) group `1x`.
fn expand(r: &GoRegex, caps: &regex::Captures<'_>, template: &str, out: &mut String) {
    let mut rest = template;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        rest = &rest[i + 1..];
        if let Some(r2) = rest.strip_prefix('$') {
            out.push('$');
            rest = r2;
            continue;
        }
        let Some((name, after)) = extract_name(rest) else {
            // Malformed: the `$` is text.
            out.push('$');
            continue;
        };
        rest = after;
        let group = match group_number(name) {
            Some(n) => Some(n),
            None => r.names.iter().position(|n| n.as_deref() == Some(name)),
        };
        if let Some(m) = group.and_then(|g| caps.get(g)) {
            out.push_str(m.as_str());
        }
    }
    out.push_str(rest);
}

/// The name after a `$` (`name` or `{name}`) and the text after it.
fn extract_name(s: &str) -> Option<(&str, &str)> {
    let (brace, body) = match s.strip_prefix('{') {
        Some(b) => (true, b),
        None => (false, s),
    };
    let len: usize = body
        .chars()
        .take_while(|c| c.is_alphabetic() || c.is_numeric() || *c == '_')
        .map(char::len_utf8)
        .sum();
    if len == 0 {
        return None;
    }
    let name = &body[..len];
    let after = &body[len..];
    if brace {
        return after.strip_prefix('}').map(|a| (name, a));
    }
    Some((name, after))
}

/// A group number in an expansion: digits without a leading zero.
fn group_number(name: &str) -> Option<usize> {
    if !name.bytes().all(|b| b.is_ascii_digit()) || name.len() > 1 && name.starts_with('0') {
        return None;
    }
    name.parse().ok().filter(|n| *n < 100_000_000)
}

/// Go's `Regexp.Split`.
fn regex_split(r: &GoRegex, pattern: &str, s: &str, n: i64) -> Vec<String> {
    if n == 0 {
        return Vec::new();
    }
    if !pattern.is_empty() && s.is_empty() {
        return vec![String::new()];
    }
    let mut out = Vec::new();
    let (mut beg, mut end) = (0usize, 0usize);
    for m in find_all(&r.re, s, n) {
        if n > 0 && out.len() as i64 == n - 1 {
            break;
        }
        end = m.start();
        if m.end() != 0 {
            out.push(s[beg..end].to_string());
        }
        beg = m.end();
    }
    if end != s.len() {
        out.push(s[beg..].to_string());
    }
    out
}

/// `regexp.QuoteMeta`.
fn quote_meta(s: &str) -> String {
    let mut out = String::with_capacity(s.len() * 2);
    for c in s.chars() {
        if r"\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Go's regexp error text.
fn re_error(code: &str, expr: &str) -> String {
    format!("error parsing regexp: {code}: `{expr}`")
}

const ERR_MISSING_PAREN: &str = "missing closing )";
const ERR_UNEXPECTED_PAREN: &str = "unexpected )";
const ERR_MISSING_BRACKET: &str = "missing closing ]";
const ERR_MISSING_REPEAT: &str = "missing argument to repetition operator";
const ERR_NESTED_REPEAT: &str = "invalid nested repetition operator";
const ERR_REPEAT_SIZE: &str = "invalid repeat count";
const ERR_ESCAPE: &str = "invalid escape sequence";
const ERR_CHAR_RANGE: &str = "invalid character class range";
const ERR_PERL_OP: &str = "invalid or unsupported Perl syntax";
const ERR_NAMED_CAPTURE: &str = "invalid named capture";
const ERR_TRAILING_BACKSLASH: &str = "trailing backslash at end of expression";

const POSIX_CLASSES: &[&str] = &[
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower", "print", "punct",
    "space", "upper", "word", "xdigit",
];

/// A literal character in `regex` syntax (escaped unless alphanumeric).
fn push_literal(out: &mut String, c: char) {
    if c.is_alphanumeric() {
        out.push(c);
    } else {
        let _ = write!(out, "\\x{{{:X}}}", c as u32);
    }
}

/// Go's ASCII-only Perl classes (`\d`, `\s`, `\w`) as class items.
fn perl_class_items(c: char) -> Option<(&'static str, bool)> {
    match c {
        'd' => Some(("0-9", false)),
        'D' => Some(("0-9", true)),
        's' => Some((r"\x{9}\x{A}\x{C}\x{D}\x{20}", false)),
        'S' => Some((r"\x{9}\x{A}\x{C}\x{D}\x{20}", true)),
        'w' => Some(("0-9A-Za-z_", false)),
        'W' => Some(("0-9A-Za-z_", true)),
        _ => None,
    }
}

/// Translates a Go regexp to the `regex` crate's syntax, with Go's parse errors. Returns
/// the translation and the capture group names.
fn translate_regex(re: &str) -> Result<(String, Vec<Option<String>>), String> {
    let mut out = String::with_capacity(re.len() + 16);
    let mut names: Vec<Option<String>> = vec![None];
    let mut depth = 0usize;
    // Whether something precedes that a repetition operator can apply to.
    let mut operand = false;
    // Where the previous token began, when it was a repetition operator.
    let mut last_repeat: Option<usize> = None;
    let mut i = 0usize;
    while i < re.len() {
        let rest = &re[i..];
        let c = rest.chars().next().expect("not at end");
        let mut repeat = None;
        match c {
            '(' => {
                if rest.starts_with("(?") {
                    let (len, group, opens) = parse_group_flags(rest, &mut names)?;
                    out.push_str(&group);
                    i += len;
                    if !opens {
                        // A flags-only group opens nothing.
                        last_repeat = None;
                        continue;
                    }
                } else {
                    names.push(None);
                    out.push('(');
                    i += 1;
                }
                depth += 1;
                operand = false;
            }
            ')' => {
                if depth == 0 {
                    return Err(re_error(ERR_UNEXPECTED_PAREN, re));
                }
                depth -= 1;
                out.push(')');
                operand = true;
                i += 1;
            }
            '|' => {
                out.push('|');
                operand = false;
                i += 1;
            }
            '^' | '$' | '.' => {
                out.push(c);
                operand = true;
                i += 1;
            }
            '[' => {
                i += parse_class(rest, &mut out)?;
                operand = true;
            }
            '*' | '+' | '?' | '{' => {
                let (len, text) = if c == '{' {
                    match parse_repeat(rest) {
                        Some((min, max, len)) => {
                            if !(0..=1000).contains(&min) || max > 1000 || max >= 0 && min > max {
                                return Err(re_error(ERR_REPEAT_SIZE, &rest[..len]));
                            }
                            let text = match max {
                                -1 => format!("{{{min},}}"),
                                m if m == min => format!("{{{min}}}"),
                                m => format!("{{{min},{m}}}"),
                            };
                            (len, text)
                        }
                        None => {
                            // Not a repetition: a literal brace.
                            out.push_str(r"\{");
                            operand = true;
                            i += 1;
                            last_repeat = None;
                            continue;
                        }
                    }
                } else {
                    (1, c.to_string())
                };
                let mut after = i + len;
                let lazy = re[after..].starts_with('?');
                if lazy {
                    after += 1;
                }
                if let Some(prev) = last_repeat {
                    return Err(re_error(ERR_NESTED_REPEAT, &re[prev..after]));
                }
                if !operand {
                    return Err(re_error(ERR_MISSING_REPEAT, &re[i..after]));
                }
                out.push_str(&text);
                if lazy {
                    out.push('?');
                }
                repeat = Some(i);
                i = after;
            }
            '\\' => {
                i += parse_escape_outside(rest, &mut out, &mut operand)?;
            }
            c => {
                push_literal(&mut out, c);
                operand = true;
                i += c.len_utf8();
            }
        }
        last_repeat = repeat;
    }
    if depth > 0 {
        return Err(re_error(ERR_MISSING_PAREN, re));
    }
    Ok((out, names))
}

/// A group starting `(?`: a named capture or flags. Returns the length consumed, the
/// translation, and whether a group opens (flags alone, `(?i)`, open none).
fn parse_group_flags(
    s: &str,
    names: &mut Vec<Option<String>>,
) -> Result<(usize, String, bool), String> {
    let named = if s.starts_with("(?P<") {
        Some(4)
    } else if s.len() > 3 && s.starts_with("(?<") {
        Some(3)
    } else {
        None
    };
    if let Some(begin) = named {
        let Some(end) = s.find('>') else {
            return Err(re_error(ERR_NAMED_CAPTURE, s));
        };
        let name = &s[begin..end];
        if name.is_empty() || !name.bytes().all(|b| b == b'_' || b.is_ascii_alphanumeric()) {
            return Err(re_error(ERR_NAMED_CAPTURE, &s[..end + 1]));
        }
        names.push(Some(name.to_string()));
        return Ok((end + 1, "(".to_string(), true));
    }
    let mut flags = String::new();
    let mut negated = false;
    let mut saw_flag = false;
    for (i, c) in s[2..].char_indices() {
        let consumed = 2 + i + c.len_utf8();
        match c {
            'i' | 'm' | 's' | 'U' => {
                flags.push(c);
                saw_flag = true;
            }
            '-' if !negated => {
                flags.push('-');
                negated = true;
                saw_flag = false;
            }
            ':' | ')' if !negated || saw_flag => {
                if c == ':' {
                    return Ok((consumed, format!("(?{flags}:"), true));
                }
                let group = if flags.is_empty() {
                    String::new()
                } else {
                    format!("(?{flags})")
                };
                return Ok((consumed, group, false));
            }
            _ => return Err(re_error(ERR_PERL_OP, &s[..consumed])),
        }
    }
    Err(re_error(ERR_MISSING_PAREN, s))
}

/// Go's `parseRepeat`: `{n}`, `{n,}` or `{n,m}` with the length of the text (-1 for no
/// maximum, -1 for numbers past 10^8).
fn parse_repeat(s: &str) -> Option<(i64, i64, usize)> {
    fn int(s: &str) -> Option<(i64, usize)> {
        let digits = s.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits >= 2 && s.starts_with('0') {
            return None;
        }
        let mut n: i64 = 0;
        for b in s[..digits].bytes() {
            if n >= 100_000_000 {
                n = -1;
                break;
            }
            n = n * 10 + (b - b'0') as i64;
        }
        Some((n, digits))
    }
    let body = s.strip_prefix('{')?;
    let (min, mut len) = int(body)?;
    let mut max = min;
    let mut min = min;
    if body[len..].starts_with(',') {
        len += 1;
        if body[len..].starts_with('}') {
            max = -1;
        } else {
            let (m, l) = int(&body[len..])?;
            len += l;
            max = m;
            if m < 0 {
                min = -1;
            }
        }
    }
    if !body[len..].starts_with('}') {
        return None;
    }
    Some((min, max, len + 2))
}

/// An escape outside a class; returns the length consumed.
fn parse_escape_outside(s: &str, out: &mut String, operand: &mut bool) -> Result<usize, String> {
    let Some(c) = s[1..].chars().next() else {
        return Err(re_error(ERR_TRAILING_BACKSLASH, ""));
    };
    match c {
        'A' | 'z' => {
            out.push_str(&s[..2]);
            *operand = true;
            Ok(2)
        }
        'b' | 'B' => {
            let _ = write!(out, "(?-u:\\{c})");
            *operand = true;
            Ok(2)
        }
        'C' => Err(re_error(ERR_ESCAPE, &s[..2])),
        'Q' => {
            let body = &s[2..];
            let (lit, len) = match body.find(r"\E") {
                Some(e) => (&body[..e], 2 + e + 2),
                None => (body, s.len()),
            };
            for ch in lit.chars() {
                push_literal(out, ch);
                *operand = true;
            }
            Ok(len)
        }
        'p' | 'P' => {
            let (len, class) = parse_unicode_class(s)?;
            out.push_str(&class);
            *operand = true;
            Ok(len)
        }
        _ => {
            if let Some((items, negated)) = perl_class_items(c) {
                let _ = write!(out, "[{}{items}]", if negated { "^" } else { "" });
                *operand = true;
                return Ok(2);
            }
            let (ch, len) = parse_escape(s)?;
            push_literal(out, ch);
            *operand = true;
            Ok(len)
        }
    }
}

/// `\pL`, `\p{Greek}`, `\P{^Lu}`: checked against Go's names, translated as such.
fn parse_unicode_class(s: &str) -> Result<(usize, String), String> {
    let mut negated = s.as_bytes()[1] == b'P';
    let (seq_len, mut name) = match s[2..].chars().next() {
        Some('{') => {
            let Some(end) = s.find('}') else {
                return Err(re_error(ERR_CHAR_RANGE, s));
            };
            (end + 1, &s[3..end])
        }
        Some(c) => (2 + c.len_utf8(), &s[2..2 + c.len_utf8()]),
        None => (2, ""),
    };
    if let Some(n) = name.strip_prefix('^') {
        negated = !negated;
        name = n;
    }
    // Go matches names loosely (`\p{greek}`, `\p{Lowercase Letter}`) as the crate does;
    // the crate's extras (`sc=…`, `L&`) are refused.
    let go_name = !name.is_empty()
        && !name.contains(['=', '&'])
        && Regex::new(&format!(r"\p{{{name}}}")).is_ok();
    if !go_name {
        return Err(re_error(ERR_CHAR_RANGE, &s[..seq_len]));
    }
    Ok((
        seq_len,
        format!("\\{}{{{name}}}", if negated { 'P' } else { 'p' }),
    ))
}

/// Go's `parseEscape`: an escaped character (octal, hex, C escapes, punctuation); returns
/// it with the length consumed.
fn parse_escape(s: &str) -> Result<(char, usize), String> {
    let t = &s[1..];
    let Some(c) = t.chars().next() else {
        return Err(re_error(ERR_TRAILING_BACKSLASH, ""));
    };
    let bad = |len: usize| Err(re_error(ERR_ESCAPE, &s[..len.min(s.len())]));
    let is_octal = |b: Option<&u8>| matches!(b, Some(b'0'..=b'7'));
    match c {
        '1'..='7' if !is_octal(t.as_bytes().get(1)) => bad(2),
        '0'..='7' => {
            let mut r = c as u32 - '0' as u32;
            let mut len = 2;
            while len < 4 && is_octal(s.as_bytes().get(len)) {
                r = r * 8 + (s.as_bytes()[len] - b'0') as u32;
                len += 1;
            }
            Ok((char::from_u32(r).unwrap_or('\u{FFFD}'), len))
        }
        'x' => {
            let body = &s[2..];
            if let Some(braced) = body.strip_prefix('{') {
                // Hex digits up to `}`; Go's error text ends where it stopped reading.
                let mut r: u32 = 0;
                let mut len = 3;
                for c in braced.chars() {
                    len += c.len_utf8();
                    if c == '}' {
                        return match char::from_u32(r) {
                            Some(ch) if len > 4 => Ok((ch, len)),
                            _ => bad(len),
                        };
                    }
                    match c.to_digit(16) {
                        Some(v) if r * 16 + v <= 0x10FFFF => r = r * 16 + v,
                        _ => return bad(len),
                    }
                }
                bad(len)
            } else {
                let hex: Vec<char> = body.chars().take(2).collect();
                let len = 2 + hex.iter().map(|c| c.len_utf8()).sum::<usize>();
                match (
                    hex.first().and_then(|c| c.to_digit(16)),
                    hex.get(1).and_then(|c| c.to_digit(16)),
                ) {
                    (Some(x), Some(y)) => Ok((char::from_u32(x * 16 + y).expect("byte"), len)),
                    _ => bad(len),
                }
            }
        }
        'a' => Ok(('\x07', 2)),
        'f' => Ok(('\x0c', 2)),
        'n' => Ok(('\n', 2)),
        'r' => Ok(('\r', 2)),
        't' => Ok(('\t', 2)),
        'v' => Ok(('\x0b', 2)),
        c if c.is_ascii() && !c.is_ascii_alphanumeric() => Ok((c, 2)),
        c => bad(1 + c.len_utf8()),
    }
}

/// A character class `[...]`; returns the length consumed.
fn parse_class(s: &str, out: &mut String) -> Result<usize, String> {
    let mut i = 1;
    out.push('[');
    if s[i..].starts_with('^') {
        out.push('^');
        i += 1;
    }
    let mut first = true;
    loop {
        let rest = &s[i..];
        let Some(c) = rest.chars().next() else {
            return Err(re_error(ERR_MISSING_BRACKET, s));
        };
        if c == ']' && !first {
            out.push(']');
            return Ok(i + 1);
        }
        first = false;
        // POSIX classes: [:alpha:], [:^digit:].
        if rest.starts_with("[:")
            && let Some(end) = rest[2..].find(":]")
        {
            let full = &rest[..end + 4];
            let name = &rest[2..end + 2];
            if !POSIX_CLASSES.contains(&name.strip_prefix('^').unwrap_or(name)) {
                return Err(re_error(ERR_CHAR_RANGE, full));
            }
            out.push_str(full);
            i += full.len();
            continue;
        }
        if rest.starts_with(r"\p") || rest.starts_with(r"\P") {
            let (len, class) = parse_unicode_class(rest)?;
            out.push_str(&class);
            i += len;
            continue;
        }
        if let Some(p) = rest.strip_prefix('\\').and_then(|r| r.chars().next())
            && let Some((items, negated)) = perl_class_items(p)
        {
            if negated {
                let _ = write!(out, "[^{items}]");
            } else {
                out.push_str(items);
            }
            i += 2;
            continue;
        }
        let (lo, len) = class_char(rest, s)?;
        let mut hi = lo;
        let mut item_len = len;
        let after = &rest[len..];
        if after.len() >= 2 && after.starts_with('-') && !after[1..].starts_with(']') {
            let (h, hlen) = class_char(&after[1..], s)?;
            item_len = len + 1 + hlen;
            if h < lo {
                return Err(re_error(ERR_CHAR_RANGE, &rest[..item_len]));
            }
            hi = h;
        }
        let _ = write!(out, "\\x{{{:X}}}", lo as u32);
        if hi != lo {
            let _ = write!(out, "-\\x{{{:X}}}", hi as u32);
        }
        i += item_len;
    }
}

/// One character of a class, escaped or not.
fn class_char(s: &str, whole: &str) -> Result<(char, usize), String> {
    match s.chars().next() {
        None => Err(re_error(ERR_MISSING_BRACKET, whole)),
        Some('\\') => parse_escape(s),
        Some(c) => Ok((c, c.len_utf8())),
    }
}

// ---------------------------------------------------------------------------------------
// Math
// ---------------------------------------------------------------------------------------

/// Integer `/` and `%`, with Go's panic on a zero divisor.
fn int_div(a: i64, b: i64, op: fn(i64, i64) -> i64) -> FnResult {
    if b == 0 {
        return Err(runtime_error("integer divide by zero"));
    }
    Ok(Value::Int(op(a, b)))
}

/// `math.Max`.
fn go_max(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a > 0.0 || b.is_infinite() && b > 0.0 {
        return f64::INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { b } else { a };
    }
    if a > b { a } else { b }
}

/// `math.Min`.
fn go_min(a: f64, b: f64) -> f64 {
    if a.is_infinite() && a < 0.0 || b.is_infinite() && b < 0.0 {
        return f64::NEG_INFINITY;
    }
    if a.is_nan() || b.is_nan() {
        return f64::NAN;
    }
    if a == 0.0 && b == 0.0 {
        return if a.is_sign_negative() { a } else { b };
    }
    if a < b { a } else { b }
}

/// sprig's `round`: rounds up from `round_on` in the digit after `places`.
fn round(val: f64, places: i64, round_on: f64) -> f64 {
    let pow = 10f64.powf(places as f64);
    let digit = pow * val;
    let frac = digit.fract();
    let rounded = if frac >= round_on {
        digit.ceil()
    } else {
        digit.floor()
    };
    rounded / pow
}

/// `strconv.Atoi` with the error ignored (out-of-range values clamp).
fn atoi(s: &str) -> i64 {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return 0;
    }
    s.parse().unwrap_or(if s.starts_with('-') {
        i64::MIN
    } else {
        i64::MAX
    })
}

/// `strconv.ParseInt(s, 8, 64)`.
fn parse_octal(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| (b'0'..=b'7').contains(&b)) {
        return None;
    }
    i64::from_str_radix(s, 8).ok()
}

/// sprig's `untilStep`: from `start` towards `stop` (excluded) by `step`, nothing when the
/// step does not lead there; a list larger than a render may output is refused.
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, CallError> {
    let (span, stride) = match (stop < start, step) {
        (true, ..0) => (i128::from(start) - i128::from(stop), -i128::from(step)),
        (false, 1..) => (i128::from(stop) - i128::from(start), i128::from(step)),
        _ => (0, 1),
    };
    let count = (span + stride - 1) / stride;
    limits::check_result(count as u128 * std::mem::size_of::<Value>() as u128)?;
    // Every number lies between `start` and `stop`, so none overflows.
    Ok((0..count)
        .map(|k| (i128::from(start) + k * i128::from(step)) as i64)
        .collect())
}

/// sprig's `seq`: `seq end`, `seq start end`, `seq start step end`, like GNU seq.
fn seq(params: &[i64]) -> Result<String, CallError> {
    let values = match *params {
        [end] => {
            let inc = if end < 1 { -1 } else { 1 };
            until_step(1, end.wrapping_add(inc), inc)
        }
        [start, end] => {
            let step = if end < start { -1 } else { 1 };
            until_step(start, end.wrapping_add(step), step)
        }
        [start, step, end] => {
            let mut inc = 1;
            if end < start {
                inc = -1;
                if step > 0 {
                    return Ok(String::new());
                }
            }
            until_step(start, end.wrapping_add(inc), step)
        }
        _ => return Ok(String::new()),
    }?;
    Ok(values
        .iter()
        .map(i64::to_string)
        .collect::<Vec<_>>()
        .join(" "))
}

#[derive(Clone, Copy)]
enum DecOp {
    Add,
    Sub,
    Mul,
    Div,
}

/// A decimal number `m × 10^e`, as shopspring/decimal computes with.
#[derive(Clone, Copy)]
struct Decimal {
    m: i128,
    e: i32,
}

impl Decimal {
    /// `decimal.NewFromFloat`: the shortest decimal that reads back as `f`.
    fn from_f64(f: f64) -> Result<Decimal, CallError> {
        if !f.is_finite() {
            return Err(CallError::from(format!(
                "Cannot create a Decimal from {}",
                format_float(f, 'g', -1)
            )));
        }
        let text = format!("{f:e}");
        let (mantissa, exp) = text.split_once('e').expect("exponent form");
        let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let m: i128 = format!("{int}{frac}").parse().expect("digits");
        Ok(Decimal {
            m,
            e: exp.parse::<i32>().expect("exponent") - frac.len() as i32,
        })
    }

    fn to_f64(self) -> f64 {
        format!("{}e{}", self.m, self.e).parse().unwrap_or(f64::NAN)
    }

    /// Both with the same exponent, when the mantissas fit.
    fn aligned(self, other: Decimal) -> Option<(i128, i128, i32)> {
        let e = self.e.min(other.e);
        let scale = |d: Decimal| {
            10i128
                .checked_pow((d.e - e) as u32)
                .and_then(|p| d.m.checked_mul(p))
        };
        Some((scale(self)?, scale(other)?, e))
    }

    /// The operation, or `None` when it does not fit in 128 bits.
    fn apply(self, op: DecOp, other: Decimal) -> Option<Decimal> {
        match op {
            DecOp::Add => {
                let (a, b, e) = self.aligned(other)?;
                Some(Decimal {
                    m: a.checked_add(b)?,
                    e,
                })
            }
            DecOp::Sub => {
                let (a, b, e) = self.aligned(other)?;
                Some(Decimal {
                    m: a.checked_sub(b)?,
                    e,
                })
            }
            DecOp::Mul => Some(Decimal {
                m: self.m.checked_mul(other.m)?,
                e: self.e.checked_add(other.e)?,
            }),
            DecOp::Div => {
                // `Div` rounds half away from zero to 16 decimal places.
                const PRECISION: i32 = 16;
                let k = self.e - other.e + PRECISION;
                let (num, den) = if k >= 0 {
                    (self.m.checked_mul(10i128.checked_pow(k as u32)?)?, other.m)
                } else {
                    (
                        self.m,
                        other.m.checked_mul(10i128.checked_pow((-k) as u32)?)?,
                    )
                };
                let (q, r) = (num / den, num % den);
                let away = r.unsigned_abs() * 2 >= den.unsigned_abs();
                let q = if away {
                    q + if (num < 0) != (den < 0) { -1 } else { 1 }
                } else {
                    q
                };
                Some(Decimal {
                    m: q,
                    e: -PRECISION,
                })
            }
        }
    }
}

/// sprig's `execDecimalOp`: the operation over decimal forms of the floats, back to float.
fn decimal_op(first: &Value, rest: &[Value], op: DecOp) -> FnResult {
    let mut acc = Decimal::from_f64(to_float64(first))?;
    let mut approx: Option<f64> = None;
    for v in rest {
        let x = to_float64(v);
        let d = Decimal::from_f64(x)?;
        if matches!(op, DecOp::Div) && d.m == 0 {
            return Err(CallError::from("decimal division by 0"));
        }
        // Past 128 bits the float operation stands in for the exact one.
        if let Some(a) = approx {
            approx = Some(float_op(a, op, x));
            continue;
        }
        match acc.apply(op, d) {
            Some(next) => acc = next,
            None => approx = Some(float_op(acc.to_f64(), op, x)),
        }
    }
    Ok(Value::Float(approx.unwrap_or_else(|| acc.to_f64())))
}

fn float_op(a: f64, op: DecOp, b: f64) -> f64 {
    match op {
        DecOp::Add => a + b,
        DecOp::Sub => a - b,
        DecOp::Mul => a * b,
        DecOp::Div => a / b,
    }
}

// ---------------------------------------------------------------------------------------
// Random strings
// ---------------------------------------------------------------------------------------

/// goutils' `CryptoRandom…`: `count` characters drawn from ' '..='z' (or all printable
/// ASCII) that `keep` accepts; a negative count is an error sprig ignores (""), a count
/// past the render's output limit one rudder reports.
fn random_string(count: i64, keep: fn(char) -> bool) -> Result<String, CallError> {
    if count <= 0 {
        return Ok(String::new());
    }
    limits::check_result(count as u128)?;
    let pool: Vec<char> = (' '..='~').filter(|c| keep(*c)).collect();
    let mut rng = rand::rng();
    Ok((0..count)
        .map(|_| pool[rng.random_range(0..pool.len())])
        .collect())
}

#[cfg(test)]
mod tests {
    //! Expected outputs are helm v4.1.4's for the same templates.

    use crate::engine::gotmpl::tests::render;
    use crate::engine::library::value::{Value, map_of};

    fn r(src: &str) -> String {
        render(src, &Value::new_map()).unwrap_or_else(|e| panic!("{src}: {e}"))
    }

    fn err(src: &str) -> String {
        render(src, &Value::new_map()).expect_err(src)
    }

    #[test]
    fn trimming_and_slicing() {
        assert_eq!(
            r(
                r#"{{ trim "  a b \n" }}|{{ trimAll "$" "$$5.00$" }}|{{ trimPrefix "-" "--a" }}|{{ trimSuffix "-" "a--" }}|{{ trimall "x" "xaxx" }}"#
            ),
            "a b|5.00|-a|a-|a"
        );
        assert_eq!(
            r(
                r#"{{ repeat 3 "ab" }}|{{ substr 1 3 "hello" }}|{{ substr -1 2 "hello" }}|{{ substr 2 -1 "hello" }}|{{ substr 0 99 "hello" }}"#
            ),
            "ababab|el|he|llo|hello"
        );
        assert_eq!(
            r(
                r#"{{ nospace " a b\tc\n" }}|{{ trunc 3 "hello" }}|{{ trunc -3 "hello" }}|{{ trunc -9 "hello" }}|{{ trunc 9 "hello" }}"#
            ),
            "abc|hel|llo|hello|hello"
        );
        // goutils works on bytes: removing anything re-encodes the rest as Latin-1.
        assert_eq!(
            r(r#"{{ nospace "é x" }}|{{ initials "été x" }}|{{ nospace "à" }}"#),
            "Ã©x|Ãx|Ã"
        );
        assert_eq!(
            r(
                r#"{{ abbrev 5 "hello world" }}|{{ abbrev 3 "hello world" }}|{{ abbrev 20 "hello" }}|{{ abbrevboth 5 10 "1234 5678 9123" }}|{{ abbrevboth 0 4 "hello world" }}|{{ abbrevboth 10 10 "abcdefghijklmnopqrstuvwxyz" }}"#
            ),
            "he...|hello world|hello|...5678...|h...|...klmn..."
        );
        assert_eq!(
            r(r#"{{ initials "first try" }}|{{ initials " a  b c" }}"#),
            "ft|abc"
        );
    }

    #[test]
    fn go_panics_become_errors() {
        assert!(
            err(r#"{{ substr 2 1 "abcd" }}"#)
                .ends_with("error calling substr: runtime error: slice bounds out of range [2:1]")
        );
        assert!(
            err(r#"{{ substr -1 10 "abc" }}"#)
                .ends_with("runtime error: slice bounds out of range [:10] with length 3")
        );
        assert!(
            err(r#"{{ substr 5 7 "abc" }}"#)
                .ends_with("runtime error: slice bounds out of range [5:3]")
        );
        assert!(
            err(r#"{{ substr -1 -1 "abcd" }}"#)
                .ends_with("runtime error: slice bounds out of range [:-1]")
        );
        assert!(
            err(r#"{{ repeat -1 "a" }}"#)
                .ends_with("error calling repeat: strings: negative Repeat count")
        );
        assert!(
            err(r#"{{ indent -1 "a" }}"#)
                .ends_with("error calling indent: strings: negative Repeat count")
        );
        assert!(
            err("{{ randBytes -1 }}")
                .ends_with("error calling randBytes: runtime error: makeslice: len out of range")
        );
        assert!(
            err("{{ div 1 0 }}")
                .ends_with("error calling div: runtime error: integer divide by zero")
        );
        assert!(
            err("{{ mod 1 0 }}")
                .ends_with("error calling mod: runtime error: integer divide by zero")
        );
        assert!(err("{{ divf 1 0 }}").ends_with("error calling divf: decimal division by 0"));
    }

    #[test]
    fn wrapping_quoting_and_joining_text() {
        assert_eq!(
            r(
                r#"{{ wrap 5 "Hello World Foo" }}|{{ wrap 3 "averylongword x" }}|{{ wrapWith 5 "\t" "Hello World" }}|{{ wrapWith 3 "|" "abcdefgh ij" }}|{{ wrap 0 "a b" }}"#
            ),
            "Hello\nWorld\nFoo|averylongword\nx|Hello\tWorld|abc|def|gh|ij|a\nb"
        );
        assert_eq!(
            r(
                r#"{{ contains "cat" "catch" }}|{{ hasPrefix "ca" "cat" }}|{{ hasSuffix "x" "cat" }}"#
            ),
            "true|true|false"
        );
        assert_eq!(
            r(
                r#"{{ quote "a\"b" 1 nil 2.5 }}|{{ squote "a" nil 3 (list 1 2) }}|{{ cat "a" nil 1 2.5 (list "x" 1) }}|{{ quote }}|{{ quote nil }}"#
            ),
            r#""a\"b" "1" "2.5"|'a' '3' '[1 2]'|a 1 2.5 [x 1]||"#
        );
        assert_eq!(
            r(
                r#"{{ indent 2 "a\nb" }}|{{ nindent 2 "a" }}|{{ replace "a" "b" "banana" }}|{{ replace "" "-" "abc" }}"#
            ),
            "  a\n  b|\n  a|bbnbnb|-a-b-c-"
        );
        assert_eq!(r("{{ hello }}"), "Hello!");
        assert_eq!(
            r(r#"{{ plural "one" "many" 1 }}|{{ plural "one" "many" 2 }}"#),
            "one|many"
        );
        assert_eq!(
            r(
                r#"{{ toString 1.5 }}|{{ toString nil }}|{{ toString (list 1 "a") }}|{{ toStrings (list 1 nil "a" 2.5) }}|{{ toStrings "x" }}|{{ toStrings nil | len }}"#
            ),
            "1.5|<nil>|[1 a]|[1 a 2.5]|[x]|0"
        );
    }

    #[test]
    fn values_from_yaml_are_float64() {
        let data = map_of([
            ("f", Value::Float(2.7)),
            ("big", Value::Float(1_000_000.0)),
            ("s", Value::from("abc")),
        ]);
        let out = render(
            "{{ .f | int }}|{{ add .f 1 }}|{{ .big | int }}|{{ mul .f 2 }}|{{ addf .f 0.1 }}|{{ .f | toString }}|{{ .big | toString }}|{{ quote .big }}|{{ .s | upper }}|{{ squote .big }}|{{ cat .big .f }}|{{ toDecimal .big }}|{{ .big | int64 }}|{{ max .f 2 }}|{{ round .f 0 }}",
            &data,
        );
        assert_eq!(
            out.unwrap(),
            "2|3|1000000|4|2.8|2.7|1e+06|\"1e+06\"|ABC|'1e+06'|1e+06 2.7|0|1000000|2|3"
        );
    }

    #[test]
    fn case_conversions() {
        assert_eq!(
            r(
                r#"{{ upper "héllo ß" }}|{{ lower "HÉLLO İ" }}|{{ title "hello wORLD foo_bar a.b" }}|{{ untitle "Hello World" }}"#
            ),
            "HÉLLO ß|héllo i|Hello WORLD Foo_bar A.B|hello world"
        );
        assert_eq!(
            r(r#"{{ title "hello-world don't ǆa" }}"#),
            "Hello-World Don'T ǅa"
        );
        assert_eq!(
            r(
                r#"{{ swapcase "Hello World hi" }}|{{ swapcase "x1y" }}|{{ swapcase "hello World" }}"#
            ),
            "hELLO wORLD HI|X1Y|HELLO wORLD"
        );
        assert_eq!(
            r(
                r#"{{ snakecase "FirstName" }}|{{ snakecase "HTTPServer" }}|{{ snakecase "NoHTTPS" }}|{{ snakecase "GO_PATH" }}|{{ snakecase "GO PATH" }}|{{ snakecase "http2xx" }}|{{ snakecase "HTTP20xOK" }}|{{ snakecase "Duration2m3s" }}|{{ snakecase "Bld4Floor3rd" }}|{{ snakecase "a.b-c d" }}|{{ snakecase "__foo__Bar" }}"#
            ),
            "first_name|http_server|no_https|go_path|go_path|http_2xx|http_20x_ok|duration_2m3s|bld4_floor_3rd|a.b_c_d|__foo__bar"
        );
        assert_eq!(
            r(
                r#"{{ kebabcase "FirstName" }}|{{ kebabcase "myVar_name-x" }}|{{ kebabcase "ABC" }}|{{ kebabcase "aB" }}|{{ kebabcase "a1B2" }}|{{ kebabcase "x--y" }}"#
            ),
            "first-name|my-var-name-x|abc|a-b|a1-b2|x--y"
        );
        assert_eq!(
            r(
                r#"{{ camelcase "http_server" }}|{{ camelcase "_complex__case_" }}|{{ camelcase "some words" }}|{{ camelcase "GOLANG_IS_GREAT" }}|{{ camelcase "a" }}|{{ camelcase "___" }}|{{ camelcase "fooBar-baz" }}|{{ camelcase "HTTPServer" }}"#
            ),
            "HttpServer|_Complex_Case_|SomeWords|GolangIsGreat|A|____|FooBarBaz|Httpserver"
        );
    }

    #[test]
    fn splitting_joining_sorting() {
        assert_eq!(
            r(
                r#"{{ split "," "a,b,,c" }}|{{ (split "/" "x/y")._1 }}|{{ splitn "," 2 "a,b,c" }}|{{ splitList "," "a,b" }}|{{ splitList "" "abc" }}|{{ splitList "," "" | len }}|{{ splitList "" "" | len }}|{{ splitn "" 2 "abc" }}|{{ splitn "," 0 "a,b" }}"#
            ),
            "map[_0:a _1:b _2: _3:c]|y|map[_0:a _1:b,c]|[a b]|[a b c]|1|0|map[_0:a _1:bc]|map[]"
        );
        assert_eq!(
            r(
                r#"{{ join "-" (list "a" 1 nil 2.5) }}|{{ join "," "abc" }}|{{ join "," nil }}|{{ join "," 3 }}|{{ sortAlpha (list "c" "a" "B") }}|{{ sortAlpha 5 }}"#
            ),
            "a-1-2.5|abc||3|[B a c]|[5]"
        );
        assert_eq!(
            r(r#"{{ sortAlpha nil }} {{ sortAlpha (list "b" 1 "a" nil) }} {{ sortAlpha "x" }}"#),
            "[<nil>] [1 a b] [x]"
        );
    }

    #[test]
    fn encodings_and_hashes() {
        assert_eq!(
            r(
                r#"{{ b64enc "hello" }}|{{ b64dec "aGVsbG8=" }}|{{ b32enc "hello" }}|{{ b32dec "NBSWY3DP" }}|{{ b64dec "aGVsbG8" }}|{{ b64dec "aGV\nsbG8=" }}|{{ b64dec "aGVsbA==" }}|{{ b64dec "aGVsbA=" }}|{{ b64dec "aGVsbA==x" }}|{{ b32enc "a" }}|{{ b32dec "ME======" }}|{{ b32dec "ME=====" }}"#
            ),
            "aGVsbG8=|hello|NBSWY3DP|hello|illegal base64 data at input byte 4|hello|hell|illegal base64 data at input byte 7|illegal base64 data at input byte 8|ME======|a|illegal base32 data at input byte 7"
        );
        assert_eq!(
            r(
                r#"{{ b64dec "YWJj=" }}|{{ b64dec "YW" }}|{{ b64dec "Y!==" }}|{{ b32dec "MFRGG===" }}|{{ b32dec "MFRGG" }}|{{ b32dec "MF!GG===" }}"#
            ),
            "illegal base64 data at input byte 4|illegal base64 data at input byte 0|illegal base64 data at input byte 1|abc|illegal base32 data at input byte 0|illegal base32 data at input byte 2"
        );
        assert_eq!(
            r(
                r#"{{ sha1sum "abc" }}|{{ sha256sum "abc" }}|{{ adler32sum "abc" }}|{{ adler32sum "" }}"#
            ),
            "a9993e364706816aba3e25717850c26c9cd0d89d|ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad|38600999|1"
        );
        assert_eq!(
            r(r#"{{ sha512sum "abc" }}"#),
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        );
    }

    #[test]
    fn regular_expressions() {
        assert_eq!(
            r(
                r#"{{ regexMatch "^[a-z]+$" "abc" }}|{{ regexMatch "(" "x" }}|{{ regexFindAll "[0-9]+" "a1b22c333" -1 }}|{{ regexFindAll "[0-9]+" "a1b22c333" 2 }}|{{ regexFind "b+" "abbbc" }}|{{ regexFind "z" "abc" }}"#
            ),
            "true|false|[1 22 333]|[1 22]|bbb|"
        );
        assert_eq!(
            r(
                r#"{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "${1}W" }}|{{ regexReplaceAll "a(x*)b" "-ab-axxb-" "$1W" }}|{{ regexReplaceAll "(?P<n>x+)" "axxb" "[$n]" }}|{{ regexReplaceAll "a" "aaa" "$$" }}|{{ regexReplaceAll "a" "aaa" "$" }}|{{ regexReplaceAll "a" "aaa" "${" }}|{{ regexReplaceAllLiteral "a(x*)b" "-ab-axxb-" "${1}" }}"#
            ),
            "-W-xxW-|---|a[xx]b|$$$|$$$|${${${|-${1}-${1}-"
        );
        assert_eq!(
            r(
                r#"{{ regexSplit "z+" "pizza" -1 }}|{{ regexSplit "z+" "pizza" 1 }}|{{ regexSplit "" "abc" -1 }}|{{ regexSplit "a" "" -1 }}|{{ regexQuoteMeta "1.5-2.0?[x]#" }}"#
            ),
            r"[pi a]|[pizza]|[a b c]|[]|1\.5-2\.0\?\[x\]#"
        );
        assert_eq!(
            r(
                r#"{{ regexFindAll "a*" "baaab" -1 }} {{ regexSplit "a*" "baaab" -1 }} {{ regexReplaceAll "a*" "baaab" "-" }} {{ regexSplit "x" "axbxc" 0 }}"#
            ),
            "[ aaa ] [b b] -b-b- []"
        );
    }

    #[test]
    fn go_regexp_syntax() {
        // \d, \w, \s and \b are ASCII-only in Go; braces that are not repetitions are
        // literal; `[` and `&&` inside a class are plain characters.
        assert_eq!(
            r(
                r#"{{ regexFindAll "\\d+" "a١٢b33" -1 }}|{{ regexFindAll "\\w+" "héllo wörld" -1 }}|{{ regexMatch "\\bé" "é" }}|{{ regexFindAll "a{2}" "aaaaa" -1 }}|{{ regexFindAll "a{" "a{" -1 }}|{{ regexFindAll "{}" "x{}" -1 }}|{{ regexFindAll "[[a]" "[a" -1 }}|{{ regexFindAll "[a-c&&b]" "a&b" -1 }}|{{ regexFindAll "\\Qa.b\\E" "a.b axb" -1 }}|{{ regexFindAll "(?i)AB" "ab Ab" -1 }}|{{ regexFindAll "[\\d\\s]+" "1 2x" -1 }}|{{ regexFindAll "[^\\W]+" "ab-cd" -1 }}"#
            ),
            "[33]|[h llo w rld]|false|[aa aa]|[a{]|[{}]|[[ a]|[a & b]|[a.b]|[ab Ab]|[1 2]|[ab cd]"
        );
    }

    #[test]
    fn regexp_errors_in_go_words() {
        assert!(err(r#"{{ regexFind "(" "x" }}"#).ends_with(
            "error calling regexFind: regexp: Compile(`(`): error parsing regexp: missing closing ): `(`"
        ));
        assert!(err(r#"{{ mustRegexFind "(" "x" }}"#).ends_with(
            "error calling mustRegexFind: error parsing regexp: missing closing ): `(`"
        ));
        assert!(err(r#"{{ regexFindAll "[" "x" 1 }}"#).ends_with(
            "error calling regexFindAll: regexp: Compile(`[`): error parsing regexp: missing closing ]: `[`"
        ));
    }

    #[test]
    fn integer_math() {
        assert_eq!(
            r(
                r#"{{ add 1 2 3 }}|{{ add }}|{{ add 1.9 "2" }}|{{ add1 4.7 }}|{{ sub 5 2.5 }}|{{ div 7 2 }}|{{ div -7 2 }}|{{ mod -7 3 }}|{{ mul 2 3 4 }}|{{ mul 2 }}|{{ max 1 5 3 }}|{{ min 4 2 8 }}|{{ biggest 1 "7" }}"#
            ),
            "6|0|3|5|3|3|-3|-1|24|2|5|2|7"
        );
        assert_eq!(
            r(
                r#"{{ int 3.9 }}|{{ int "42" }}|{{ int "0x1F" }}|{{ int "abc" }}|{{ int64 -2.5 }}|{{ float64 "1.5" }}|{{ float64 3 }}|{{ int true }}|{{ atoi "42" }}|{{ atoi "x" }}|{{ atoi "+7" }}|{{ atoi " 7" }}|{{ atoi "99999999999999999999" }}|{{ toDecimal "0777" }}|{{ toDecimal 777 }}|{{ toDecimal "8" }}"#
            ),
            "3|42|31|0|-2|1.5|3|1|42|0|7|0|9223372036854775807|511|511|0"
        );
        assert_eq!(
            r(
                r#"{{ until 3 }}|{{ until -3 }}|{{ until 0 }}|{{ untilStep 0 10 3 }}|{{ untilStep 10 0 -4 }}|{{ untilStep 0 10 -1 }}|{{ seq 3 }}|{{ seq 0 }}|{{ seq 2 5 }}|{{ seq 5 2 }}|{{ seq 0 2 10 }}|{{ seq 10 -3 1 }}|{{ seq 10 3 1 }}|{{ seq }}|{{ seq 1 2 3 4 }}|{{ seq -3 }}"#
            ),
            "[0 1 2]|[0 -1 -2]|[]|[0 3 6 9]|[10 6 2]|[]|1 2 3|1 0|2 3 4 5|5 4 3 2|0 2 4 6 8 10|10 7 4 1||||1 0 -1 -2 -3"
        );
    }

    #[test]
    fn float_math_goes_through_decimals() {
        assert_eq!(
            r(
                "{{ floor 2.7 }}|{{ ceil 2.1 }}|{{ round 2.555 2 }}|{{ round 2.5 0 }}|{{ round -2.5 0 }}|{{ round 3.14159 3 0.4 }}|{{ floor \"3.5\" }}|{{ ceil 3 }}"
            ),
            "2|3|2.56|3|-3|3.142|3|3"
        );
        assert_eq!(
            r(
                "{{ addf 1.5 2 }}|{{ add1f 1.5 }}|{{ subf 10 2.5 1 }}|{{ divf 10 4 }}|{{ mulf 1.5 2 3 }}|{{ maxf 1 2.5 -3 }}|{{ minf 1 2.5 -3 }}|{{ addf }}|{{ divf 1 3 3 }}|{{ mulf 0.1 0.2 }}|{{ subf 0.1 0.3 }}"
            ),
            "3.5|2.5|6.5|2.5|9|2.5|-3|0|0.1111111111111111|0.02|-0.2"
        );
        assert_eq!(
            r(
                "{{ divf 10 3 }} {{ divf 1 3 }} {{ mulf 1.1 3 }} {{ subf 0.3 0.1 }} {{ addf 0.1 0.2 }} {{ add1f 0.1 }} {{ divf 2 }} {{ mulf 1e300 1e300 }}"
            ),
            "3.3333333333333335 0.3333333333333333 3.3 0.2 0.3 1.1 2 +Inf"
        );
    }

    #[test]
    fn random_strings_have_the_right_alphabet() {
        let out = r(
            "{{ randAlphaNum 40 }}|{{ randAlpha 40 }}|{{ randNumeric 40 }}|{{ randBytes 3 | len }}|{{ randAlphaNum -1 }}|{{ randAlpha 0 }}",
        );
        let parts: Vec<&str> = out.split('|').collect();
        assert_eq!(parts.len(), 6, "{out}");
        assert!(parts[0].len() == 40 && parts[0].chars().all(|c| c.is_ascii_alphanumeric()));
        assert!(parts[1].len() == 40 && parts[1].chars().all(|c| c.is_ascii_alphabetic()));
        assert!(parts[2].len() == 40 && parts[2].chars().all(|c| c.is_ascii_digit()));
        assert_eq!(parts[3..], ["4", "", ""]);
        let ascii = r("{{ randAscii 40 }}");
        assert!(ascii.len() == 40 && ascii.chars().all(|c| (' '..='~').contains(&c)));
        let shuffled = r(r#"{{ shuffle "aabbc" }}"#);
        let mut chars: Vec<char> = shuffled.chars().collect();
        chars.sort();
        assert_eq!(chars.into_iter().collect::<String>(), "aabbc");
    }

    /// Edge cases, each template's output (or error) as helm v4.1.4 gives it.
    #[test]
    fn edge_cases_match_helm() {
        const CASES: &[(&str, &str)] = &[
            (
                r##"{{ mustRegexMatch "a)" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: unexpected ): `a)`"##,
            ),
            (
                r##"{{ mustRegexMatch "[z-a]" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid character class range: `z-a`"##,
            ),
            (
                r##"{{ mustRegexMatch "a**" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid nested repetition operator: `**`"##,
            ),
            (
                r##"{{ mustRegexMatch "a*?+" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid nested repetition operator: `*?+`"##,
            ),
            (
                r##"{{ mustRegexMatch "*a" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: missing argument to repetition operator: `*`"##,
            ),
            (
                r##"{{ mustRegexMatch "(*a)" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: missing argument to repetition operator: `*`"##,
            ),
            (
                r##"{{ mustRegexMatch "a|*" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: missing argument to repetition operator: `*`"##,
            ),
            (
                r##"{{ mustRegexMatch "a{1001}" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid repeat count: `{1001}`"##,
            ),
            (
                r##"{{ mustRegexMatch "a{2,1}" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid repeat count: `{2,1}`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\8" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\8`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\1" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\1`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\q" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\q`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\C" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\C`"##,
            ),
            (
                r##"{{ mustRegexMatch "a\\" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: trailing backslash at end of expression: ``"##,
            ),
            (
                r##"{{ mustRegexMatch "(?=a)" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid or unsupported Perl syntax: `(?=`"##,
            ),
            (
                r##"{{ mustRegexMatch "(?<!a)" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid named capture: `(?<!a)`"##,
            ),
            (
                r##"{{ mustRegexMatch "(?P<a-b>x)" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid named capture: `(?P<a-b>`"##,
            ),
            (
                r##"{{ mustRegexMatch "(?P<ab" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid named capture: `(?P<ab`"##,
            ),
            (
                r##"{{ mustRegexMatch "(?x)a" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid or unsupported Perl syntax: `(?x`"##,
            ),
            (
                r##"{{ mustRegexMatch "[[:foo:]]" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid character class range: `[:foo:]`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\p{Foo}" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid character class range: `\p{Foo}`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\pX" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid character class range: `\pX`"##,
            ),
            (r##"{{ mustRegexMatch "\\p{greek}" "x" }}"##, r##"false"##),
            (
                r##"{{ mustRegexMatch "[a" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: missing closing ]: `[a`"##,
            ),
            (
                r##"{{ mustRegexMatch "[]a" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: missing closing ]: `[]a`"##,
            ),
            (
                r##"{{ mustRegexMatch "x{2}{3}" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid nested repetition operator: `{2}{3}`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\x{110000}" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\x{110000`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\xZ1" "x" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\xZ1`"##,
            ),
            (r##"{{ mustRegexMatch "(?i)(?-i)(?)a" "a" }}"##, r##"true"##),
            (
                r##"{{ mustRegexMatch "(?i-)a" "a" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid or unsupported Perl syntax: `(?i-)`"##,
            ),
            (
                r##"{{ mustRegexMatch "\\Z" "a" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: invalid escape sequence: `\Z`"##,
            ),
            (
                r##"{{ mustRegexMatch "(a" "a" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: missing closing ): `(a`"##,
            ),
            (r##"{{ mustRegexMatch "a{,3}" "a{,3}" }}"##, r##"true"##),
            (r##"{{ mustRegexMatch "a{01}" "a{01}" }}"##, r##"true"##),
            (r##"{{ mustRegexMatch "^*" "" }}"##, r##"true"##),
            (
                r##"{{ mustRegexMatch "(?i)*" "" }}"##,
                r##"ERR: error calling mustRegexMatch: error parsing regexp: missing argument to repetition operator: `*`"##,
            ),
            (
                r##"{{ regexFindAll "(?P<a>x)(?P<a>y)" "xy" -1 }}|{{ regexReplaceAll "(?P<a>x)(?P<a>y)" "xy" "[$a]" }}"##,
                r##"[xy]|[x]"##,
            ),
            (
                r##"{{ regexReplaceAll "(?P<é>x)" "x" "[${é}]" }}|{{ regexReplaceAll "(x)" "x" "[$01]" }}|{{ regexReplaceAll "(x)" "x" "[$1$2]" }}|{{ regexReplaceAll "(x)" "x" "[${1}0]" }}|{{ regexReplaceAll "(x)" "x" "[$10]" }}"##,
                r##"ERR: error calling regexReplaceAll: regexp: Compile(`(?P<é>x)`): error parsing regexp: invalid named capture: `(?P<é>`"##,
            ),
            (
                r##"{{ regexFindAll "(?s)a.b" "a\nb" -1 }}|{{ regexFindAll "a.b" "a\nb" -1 }}|{{ regexFindAll "(?m)^x" "x\nx" -1 }}|{{ regexFindAll "^x" "x\nx" -1 }}|{{ regexFindAll "x$" "x\nx" -1 }}"##,
                r##"[a
b]|[]|[x x]|[x]|[x]"##,
            ),
            (
                r##"{{ regexFindAll "[[:alpha:]]+" "ab1é" -1 }}|{{ regexFindAll "\\pL+" "ab1é" -1 }}|{{ regexFindAll "\\p{Greek}+" "aαβ" -1 }}|{{ regexFindAll "\\x41\\101\\x{42}" "AAB" -1 }}|{{ regexFindAll "[\\x41-\\x43]+" "ABCD" -1 }}|{{ regexFindAll "\\PL+" "ab1é2" -1 }}|{{ regexFindAll "[^[:digit:]]+" "ab1c" -1 }}"##,
                r##"[ab]|[ab é]|[αβ]|[AAB]|[ABC]|[1 2]|[ab c]"##,
            ),
            (
                r##"{{ regexFindAll "(?i)straße" "STRASSE straße STRAßE" -1 }}|{{ regexFindAll "(?i)k" "K k \u212a" -1 }}|{{ regexFindAll "a+?" "aaa" -1 }}|{{ regexFindAll "(?U)a+" "aaa" -1 }}|{{ regexFindAll "a{2,}?" "aaaa" -1 }}"##,
                r##"[straße STRAßE]|[K k K]|[a a a]|[a a a]|[aa aa]"##,
            ),
            (
                r##"{{ regexFindAll "[a-]+" "a-b" -1 }}|{{ regexFindAll "[-a]+" "a-b" -1 }}|{{ regexFindAll "[a\\-z]+" "a-z" -1 }}|{{ regexFindAll "[]a]+" "]a" -1 }}|{{ regexFindAll "[^]a]+" "]ab" -1 }}|{{ regexFindAll "[\\]]" "]" -1 }}|{{ regexFindAll "[~-~]" "~" -1 }}|{{ regexFindAll "a#b c" "a#b c" -1 }}"##,
                r##"[a-]|[a-]|[a-z]|[]a]|[b]|[]]|[~]|[a#b c]"##,
            ),
            (
                r##"{{ wrap 10 "The quick brown fox jumps over the lazy dog" }}"##,
                r##"The quick
brown fox
jumps over
the lazy
dog"##,
            ),
            (
                r##"{{ wrap 4 "  leading spaces here  " }}"##,
                r##"leading
spaces
here
 "##,
            ),
            (
                r##"{{ wrapWith 4 "<br>" "a verylongword b" }}"##,
                r##"a<br>very<br>long<br>word<br>b"##,
            ),
            (
                r##"{{ wrap 5 "héllo wörld" }}"##,
                r##"héllo
wörld"##,
            ),
            (
                r##"{{ abbrev 4 "abcdef" }}|{{ abbrev 6 "abcdef" }}|{{ abbrevboth 3 7 "abcdefghijk" }}|{{ abbrevboth 20 8 "abcdefghijklmno" }}|{{ abbrevboth 1 5 "abcdefgh" }}|{{ abbrevboth -5 5 "abcdefgh" }}|{{ abbrev 5 "" }}"##,
                r##"a...|abcdef|abcd...|...klmno|abcdefgh|ab...|"##,
            ),
            (
                r##"{{ title "ábc déf" }}|{{ title "x\u00a0y" }}|{{ title "1st 2nd" }}|{{ title "o'neil mc-donald" }}|{{ untitle "ÁBC DEF" }}|{{ swapcase "ǅx ǆ" }}|{{ upper "ǆ" }}|{{ lower "ǅ" }}"##,
                r##"Ábc Déf|X Y|1st 2nd|O'Neil Mc-Donald|áBC dEF|ǆX ǅ|Ǆ|ǆ"##,
            ),
            (
                r##"{{ snakecase "" }}|{{ snakecase "a" }}|{{ snakecase "A" }}|{{ snakecase "AbcDEF" }}|{{ snakecase "ABCdef" }}|{{ snakecase "a1" }}|{{ snakecase "1a" }}|{{ snakecase "A1b" }}|{{ snakecase "ab.cd" }}|{{ snakecase "ab..Cd" }}|{{ snakecase "ÀbcDé" }}|{{ snakecase "x$y" }}|{{ snakecase "日本語Text" }}|{{ snakecase "v1.2.3" }}|{{ snakecase "my-Kebab_Snake Case" }}|{{ snakecase " x " }}"##,
                r##"|a|a|abc_def|ab_cdef|a1|1a|a_1b|ab.cd|ab..cd|àbc_dé|x_$_y|日本語_text|v1.2.3|my_kebab_snake_case|_x_"##,
            ),
            (
                r##"{{ kebabcase "helm.sh/chart" }}|{{ kebabcase "ReleaseName2" }}|{{ kebabcase "IPv6Address" }}|{{ kebabcase "myAPIKey" }}|{{ kebabcase "a_B" }}|{{ kebabcase "--a" }}"##,
                r##"helm.sh/chart|release-name2|i-pv6-address|my-api-key|a-b|--a"##,
            ),
            (
                r##"{{ camelcase "foo-bar_baz qux" }}|{{ camelcase "FOO" }}|{{ camelcase "fOO_bAR" }}|{{ camelcase "a__b" }}|{{ camelcase "x_" }}|{{ camelcase "ab1_cd" }}|{{ camelcase "" }}|{{ camelcase "é_è" }}"##,
                r##"FooBarBazQux|Foo|FOOBAR|A_B|X_|Ab1Cd||ÉÈ"##,
            ),
            (
                r##"{{ swapcase "hello WORLD" }}|{{ swapcase "  abc" }}|{{ swapcase "a-b" }}|{{ swapcase "1a" }}"##,
                r##"HELLO world|  ABC|A-B|1A"##,
            ),
            (
                r##"{{ trimAll "ab" "abcba" }}|{{ trimAll "" " x " }}|{{ trim "\u00a0x\u2003" }}|{{ trimPrefix "" "x" }}"##,
                r##"c| x |x|x"##,
            ),
            (
                r##"{{ join ", " (list (list 1 2) (dict "a" 1)) }}|{{ toStrings (dict "a" 1) }}|{{ sortAlpha (list 10 9 "a" 1.5) }}|{{ toStrings (list true false) }}"##,
                r##"[1 2], map[a:1]|[map[a:1]]|[1.5 10 9 a]|[true false]"##,
            ),
            (
                r##"{{ quote "tab\there" "nl\n" "uni\u00e9" "\u0007" }}|{{ squote "it's" }}|{{ quote (list "a" "b") }}|{{ quote true }}"##,
                r##""tab\there" "nl\n" "unié" "\a"|'it's'|"[a b]"|"true""##,
            ),
            (
                r##"{{ indent 0 "a\nb" }}|{{ nindent 4 "" }}|{{ indent 2 "" }}|{{ indent 2 "a\n" }}"##,
                r##"a
b|
    |  |  a
  "##,
            ),
            (
                r##"{{ split "" "ab" }}|{{ splitn "," -1 "a,b,c" }}|{{ splitn "," 1 "a,b,c" }}|{{ splitn "," 5 "a,b" }}|{{ split "," "" }}"##,
                r##"map[_0:a _1:b]|map[_0:a _1:b _2:c]|map[_0:a,b,c]|map[_0:a _1:b]|map[_0:]"##,
            ),
            (
                r##"{{ add 9223372036854775807 1 }}|{{ mul 4611686018427387904 4 }}|{{ div -9223372036854775808 -1 }}|{{ mod -9223372036854775808 -1 }}|{{ sub -9223372036854775808 1 }}"##,
                r##"-9223372036854775808|0|-9223372036854775808|0|9223372036854775807"##,
            ),
            (
                r##"{{ add "1e3" "0b101" "0o17" "017" "1_000" "-5" " 5" "5.0" "5.5" }}"##,
                r##"1035"##,
            ),
            (
                r##"{{ max "x" 2 }}|{{ min 1.9 1.1 }}|{{ max -1.5 -1 }}|{{ max nil }}|{{ biggest (list 1) 0 }}"##,
                r##"2|1|-1|0|0"##,
            ),
            (
                r##"{{ round 1.005 2 }}|{{ round 12345.678 -2 }}|{{ round 0.5 0 }}|{{ round -0.4 0 }}|{{ round 1.45 1 }}|{{ round 2 1 }}|{{ round "3.7" 0 }}|{{ round 1e20 2 }}"##,
                r##"1|12300|1|-1|1.5|2|4|1e+20"##,
            ),
            (
                r##"{{ floor -2.5 }}|{{ ceil -2.5 }}|{{ floor nil }}|{{ ceil "x" }}|{{ floor 1e300 }}"##,
                r##"-3|-2|0|0|1e+300"##,
            ),
            (
                r##"{{ addf 1e20 1 }}|{{ addf 0.1 0.2 0.3 }}|{{ mulf 1.1 1.1 1.1 1.1 1.1 }}|{{ divf 2 3 }}|{{ divf -2 3 }}|{{ divf 1e-20 3 }}|{{ divf 1 1e-20 }}|{{ subf 1 }}|{{ mulf 123456789.123 987654321.987 }}|{{ addf "1.5" "x" }}|{{ divf 5 0.5 }}|{{ mulf 1e-300 1e-300 }}"##,
                r##"1e+20|0.6|1.61051|0.6666666666666667|-0.6666666666666667|0|1e+20|1|1.219326313559686e+17|1.5|10|0"##,
            ),
            (
                r##"{{ atoi "-0" }}|{{ atoi "1_000" }}|{{ atoi "-99999999999999999999" }}|{{ atoi "" }}|{{ atoi "0x10" }}|{{ toDecimal "-17" }}|{{ toDecimal "+17" }}|{{ toDecimal 1.5 }}|{{ toDecimal nil }}|{{ toDecimal "0o17" }}|{{ toDecimal true }}"##,
                r##"0|0|-9223372036854775808|0|0|-15|15|0|0|0|0"##,
            ),
            (
                r##"{{ seq 1 1 }}|{{ seq 1 0 1 }}|{{ seq 3 -1 3 }}|{{ seq 1 -1 3 }}|{{ seq 5 -2 0 }}|{{ seq 0 0 3 }}|{{ untilStep 0 3 0 }}|{{ untilStep 3 3 1 }}"##,
                r##"1||||5 3 1||[]|[]"##,
            ),
            (
                r##"{{ regexFindAll "(?i)[a-z]+" "KELVIN \u212a" -1 }}|{{ regexFindAll "[[:^alpha:]]+" "ab12cd" -1 }}|{{ regexFindAll "\\pN+" "a12b" -1 }}|{{ regexFindAll "(?i)ß" "ẞ ß" -1 }}|{{ regexReplaceAll "(?P<x>a)|b" "ab" "[$x]" }}|{{ regexFindAll "\\B" "ab" -1 }}|{{ regexFindAll "x*" "" -1 }}|{{ regexFindAll "" "ab" -1 }}"##,
                r##"[KELVIN K]|[12]|[12]|[ẞ ß]|[a][]|[]|[]|[  ]"##,
            ),
            (
                r##"{{ regexSplit "," "a,b,c" 2 }}|{{ regexSplit "," "a,b,c" 5 }}|{{ regexSplit "," ",a," -1 }}|{{ regexSplit "x*" "axb" -1 }}|{{ regexSplit "" "" -1 }}|{{ regexFindAll "a" "aaa" 0 }}|{{ regexFindAll "." "héllo" 2 }}"##,
                r##"[a b,c]|[a b c]|[ a ]|[a b]|[]|[]|[h é]"##,
            ),
            (
                r##"{{ regexReplaceAll "(a)(b)?" "ab a" "<$2|$1>" }}|{{ regexReplaceAll "a" "xax" "${0}${0}" }}|{{ regexReplaceAll "(?P<first>\\w+) (?P<last>\\w+)" "John Smith" "${last}, ${first}" }}|{{ regexReplaceAll "(\\w)" "ab" "$1_" }}|{{ regexReplaceAll "(\\w)" "ab" "${1}_" }}"##,
                r##"<b|a> <|a>|xaax|Smith, John||a_b_"##,
            ),
            (
                r##"{{ regexReplaceAll "\\s+" "a  b\t\nc" " " }}|{{ regexReplaceAll "[^a-z0-9-]" "My_Chart.Name" "-" }}|{{ regexReplaceAll "^v" "v1.2" "" }}|{{ regexMatch "^[0-9]+(\\.[0-9]+)*$" "1.2.3" }}|{{ regexFind "[0-9]+\\.[0-9]+" "version 12.34.5" }}"##,
                r##"a b c|-y--hart--ame|1.2|true|12.34"##,
            ),
            (
                r##"{{ title "a\tb\nc" }}|{{ title "ÿx" }}|{{ title "a1b c" }}|{{ upper "ﬃ" }}|{{ lower "ΣΑΣ" }}|{{ upper "ŉ" }}"##,
                r##"A	B
C|Ÿx|A1b C|ﬃ|σασ|ŉ"##,
            ),
            (
                r##"{{ wrap 6 "aaa bbb\nccc ddd" }}|{{ wrap 3 "a    b" }}|{{ wrapWith 3 "" "abcdef" }}|{{ wrap -5 "ab cd" }}"##,
                r##"aaa
bbb
ccc
ddd|a  
 b|abc
def|ab
cd"##,
            ),
            (
                r##"{{ initials "" }}|{{ nospace "" }}|{{ swapcase "" }}|{{ untitle "" }}|{{ title "" }}|{{ shuffle "" }}|{{ snakecase "" }}|{{ kebabcase "___" }}|{{ snakecase "  " }}"##,
                r##"|||||||---|__"##,
            ),
            (
                r##"{{ abbrevboth 5 20 "Now is the time for all good men" }}|{{ abbrevboth 10 10 "Now is the time for all good men" }}|{{ abbrev 10 "Now is the time for all good men" }}|{{ abbrevboth 100 10 "Now is the time for all good men" }}"##,
                r##"...s the time for...|... tim...|Now is ...|...ood men"##,
            ),
            (
                r##"{{ repeat 0 "x" }}|{{ repeat 2 "" }}|{{ indent 3 "a\r\nb" }}"##,
                "||   a\r\n   b",
            ),
            (
                r##"{{ join "" (list "a" "b") }}|{{ sortAlpha (list "b" "A" "a" "_" "1") }}"##,
                r##"ab|[1 A _ a b]"##,
            ),
        ];
        for (src, want) in CASES {
            match want.strip_prefix("ERR: ") {
                Some(e) => assert!(err(src).ends_with(e), "{src}: {} != {e}", err(src)),
                None => assert_eq!(&r(src), want, "{src}"),
            }
        }
    }
}

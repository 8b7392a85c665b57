//! String filters and functions with sprig's semantics: quoting, indentation, trimming,
//! case, regexes, splitting/joining, encodings and random strings.

use std::cell::RefCell;
use std::collections::HashMap;

use base64::Engine as _;
use rand::Rng as _;
use regex::Regex;
use sha2::Digest as _;
use tera::{Error, Kwargs, State, TeraResult, Value};

use super::{go_string, kwarg_string};

/// Text of a value for string functions: strings as-is, null/undefined as empty, others in
/// Go's `%v` form.
pub(crate) fn text_of(value: &Value) -> String {
    if value.is_none() || value.is_undefined() {
        String::new()
    } else {
        go_string(value)
    }
}

/// `quote`: wraps in double quotes with Go `%q` escaping; null renders as nothing.
pub(crate) fn quote(value: Value, _: Kwargs, _: &State) -> String {
    if value.is_none() || value.is_undefined() {
        return String::new();
    }
    serde_json::to_string(&go_string(&value)).unwrap_or_default()
}

/// `squote`: wraps in single quotes, no escaping; null renders as nothing.
pub(crate) fn squote(value: Value, _: Kwargs, _: &State) -> String {
    if value.is_none() || value.is_undefined() {
        return String::new();
    }
    format!("'{}'", go_string(&value))
}

fn indent_width(kwargs: &Kwargs) -> TeraResult<usize> {
    let n = match kwargs.get::<i64>("n")? {
        Some(n) => n,
        None => kwargs
            .get::<i64>("width")?
            .ok_or_else(|| Error::message("Missing keyword argument `n`"))?,
    };
    Ok(n.clamp(0, 1000) as usize)
}

/// `indent(n=)`: prefixes every line (the first too, blank ones too) with `n` spaces.
pub(crate) fn indent(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    let pad = " ".repeat(indent_width(&kwargs)?);
    let text = text_of(&value);
    Ok(format!("{pad}{}", text.replace('\n', &format!("\n{pad}"))))
}

/// `nindent(n=)`: a newline, then `indent`.
pub(crate) fn nindent(value: Value, kwargs: Kwargs, state: &State) -> TeraResult<String> {
    Ok(format!("\n{}", indent(value, kwargs, state)?))
}

/// `trunc(n=)`: the first `n` characters, or the last `-n` when negative.
pub(crate) fn trunc(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    let n = kwargs.must_get::<i64>("n")?;
    let text = text_of(&value);
    let count = text.chars().count();
    Ok(if n >= 0 {
        text.chars().take(n as usize).collect()
    } else {
        let keep = (-n) as usize;
        text.chars().skip(count.saturating_sub(keep)).collect()
    })
}

pub(crate) fn trim_suffix(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    let suffix = kwarg_string(&kwargs, "suffix")?;
    let text = text_of(&value);
    Ok(text
        .strip_suffix(suffix.as_str())
        .unwrap_or(&text)
        .to_string())
}

pub(crate) fn trim_prefix(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    let prefix = kwarg_string(&kwargs, "prefix")?;
    let text = text_of(&value);
    Ok(text
        .strip_prefix(prefix.as_str())
        .unwrap_or(&text)
        .to_string())
}

/// `trim`: strips surrounding whitespace.
pub(crate) fn trim(value: Value, _: Kwargs, _: &State) -> String {
    text_of(&value).trim().to_string()
}

/// `replace(old=, new=)` (tera's `from=`/`to=` accepted too): replaces every occurrence.
pub(crate) fn replace(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    let old = match kwargs.get::<Value>("old")? {
        Some(v) => go_string(&v),
        None => kwarg_string(&kwargs, "from")?,
    };
    let new = match kwargs.get::<Value>("new")? {
        Some(v) => go_string(&v),
        None => kwarg_string(&kwargs, "to")?,
    };
    Ok(text_of(&value).replace(&old, &new))
}

pub(crate) fn upper(value: Value, _: Kwargs, _: &State) -> String {
    text_of(&value).to_uppercase()
}

pub(crate) fn lower(value: Value, _: Kwargs, _: &State) -> String {
    text_of(&value).to_lowercase()
}

/// `title`: upper-cases the first letter of every word (Go's `strings.Title`), leaving the
/// rest as written.
pub(crate) fn title(value: Value, _: Kwargs, _: &State) -> String {
    let mut out = String::new();
    let mut at_word_start = true;
    for c in text_of(&value).chars() {
        if at_word_start {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        at_word_start = !(c.is_alphanumeric() || c == '_');
    }
    out
}

pub(crate) fn contains(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    let needle = kwarg_string(&kwargs, "substr")?;
    Ok(text_of(&value).contains(&needle))
}

pub(crate) fn has_prefix(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    Ok(text_of(&value).starts_with(&kwarg_string(&kwargs, "prefix")?))
}

pub(crate) fn has_suffix(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    Ok(text_of(&value).ends_with(&kwarg_string(&kwargs, "suffix")?))
}

thread_local! {
    static REGEX_CACHE: RefCell<HashMap<String, Regex>> = RefCell::new(HashMap::new());
}

fn with_regex<T>(pattern: &str, f: impl FnOnce(&Regex) -> T) -> TeraResult<T> {
    REGEX_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if !cache.contains_key(pattern) {
            let re = Regex::new(pattern).map_err(|e| {
                Error::message(format!("invalid regular expression `{pattern}`: {e}"))
            })?;
            if cache.len() > 256 {
                cache.clear();
            }
            cache.insert(pattern.to_string(), re);
        }
        Ok(f(&cache[pattern]))
    })
}

/// `regexMatch(regex=)`: whether the regex matches anywhere in the text.
pub(crate) fn regex_match(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    let pattern = kwarg_string(&kwargs, "regex")?;
    let text = text_of(&value);
    with_regex(&pattern, |re| re.is_match(&text))
}

/// `regexReplaceAll(regex=, replacement=)`: replaces every match; `$1`/`${1}` expand groups.
pub(crate) fn regex_replace_all(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    let pattern = kwarg_string(&kwargs, "regex")?;
    let replacement = kwarg_string(&kwargs, "replacement")?;
    let text = text_of(&value);
    with_regex(&pattern, |re| {
        re.replace_all(&text, replacement.as_str()).into_owned()
    })
}

/// `splitList(sep=)`: splits text into a list, keeping empty parts.
pub(crate) fn split_list(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<Vec<Value>> {
    let sep = kwarg_string(&kwargs, "sep")?;
    Ok(text_of(&value)
        .split(sep.as_str())
        .map(Value::from)
        .collect())
}

/// `join(sep=)`: joins a list's items as text, skipping nulls.
pub(crate) fn join(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    let sep = kwarg_string(&kwargs, "sep")?;
    let items = match value.as_array() {
        Some(items) => items,
        None => return Ok(text_of(&value)),
    };
    Ok(items
        .iter()
        .filter(|v| !v.is_none() && !v.is_undefined())
        .map(go_string)
        .collect::<Vec<_>>()
        .join(&sep))
}

/// `toString`: the value in Go's `%v` form (`<nil>` for null, as helm prints it).
pub(crate) fn to_string(value: Value, _: Kwargs, _: &State) -> String {
    if value.is_none() || value.is_undefined() {
        "<nil>".to_string()
    } else {
        go_string(&value)
    }
}

fn bytes_of(value: &Value) -> Vec<u8> {
    match value.as_bytes() {
        Some(bytes) => bytes.to_vec(),
        None => text_of(value).into_bytes(),
    }
}

pub(crate) fn b64enc(value: Value, _: Kwargs, _: &State) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes_of(&value))
}

pub(crate) fn b64dec(value: Value, _: Kwargs, _: &State) -> TeraResult<String> {
    let text = text_of(&value);
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| Error::message(format!("b64dec: `{text}` is not valid base64: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

pub(crate) fn sha256sum(value: Value, _: Kwargs, _: &State) -> String {
    hex::encode(sha2::Sha256::digest(bytes_of(&value)))
}

const ALPHANUMERIC: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

fn random_alphanumeric(len: i64) -> TeraResult<String> {
    if !(0..=10_000).contains(&len) {
        return Err(Error::message(format!(
            "randAlphaNum: length {len} is outside 0..=10000"
        )));
    }
    let mut rng = rand::rng();
    Ok((0..len)
        .map(|_| ALPHANUMERIC[rng.random_range(0..ALPHANUMERIC.len())] as char)
        .collect())
}

/// `randAlphaNum(n=)`: `n` random letters and digits.
pub(crate) fn rand_alpha_num_fn(kwargs: Kwargs, _: &State) -> TeraResult<String> {
    random_alphanumeric(kwargs.must_get::<i64>("n")?)
}

/// `n | randAlphaNum`.
pub(crate) fn rand_alpha_num_filter(value: i64, _: Kwargs, _: &State) -> TeraResult<String> {
    random_alphanumeric(value)
}

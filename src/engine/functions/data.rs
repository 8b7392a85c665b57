//! Data filters and functions with sprig's semantics: YAML/JSON conversion, emptiness and
//! defaults, type inspection, and list/map helpers.

use tera::{Error, Kwargs, Map, State, TeraResult, Value};

use super::{go_string, kwarg_string};
use crate::engine::context::{json_to_value, key_to_string, value_to_json};

/// Whether sprig's `empty` holds: undefined, null, false, 0, "", [] and {} are empty.
pub(crate) fn is_empty(value: &Value) -> bool {
    !value.is_truthy()
}

/// YAML text of a value as helm's `toYaml` prints it: keys sorted, no trailing newline.
pub(crate) fn yaml_text(value: &Value) -> TeraResult<String> {
    Ok(crate::engine::yaml::to_yaml(&value_to_json(value)))
}

pub(crate) fn to_yaml(value: Value, _: Kwargs, _: &State) -> TeraResult<String> {
    yaml_text(&value)
}

pub(crate) fn to_json(value: Value, _: Kwargs, _: &State) -> TeraResult<String> {
    serde_json::to_string(&value_to_json(&value))
        .map_err(|e| Error::message(format!("toJson: {e}")))
}

pub(crate) fn to_pretty_json(value: Value, _: Kwargs, _: &State) -> TeraResult<String> {
    serde_json::to_string_pretty(&value_to_json(&value))
        .map_err(|e| Error::message(format!("toPrettyJson: {e}")))
}

fn parse_yaml(text: &str, func: &str) -> TeraResult<serde_json::Value> {
    serde_yaml::from_str::<serde_json::Value>(text)
        .map_err(|e| Error::message(format!("{func}: invalid YAML: {e}")))
}

/// `fromYaml`: parses a YAML mapping (an empty document gives an empty map).
pub(crate) fn from_yaml(value: Value, _: Kwargs, _: &State) -> TeraResult<Value> {
    match parse_yaml(&go_string(&value), "fromYaml")? {
        serde_json::Value::Null => Ok(Value::from(Map::new())),
        json @ serde_json::Value::Object(_) => Ok(json_to_value(&json)),
        other => Err(Error::message(format!(
            "fromYaml: expected a YAML mapping, got {}; use fromYamlArray for lists",
            json_kind(&other)
        ))),
    }
}

/// `fromYamlArray`: parses a YAML list.
pub(crate) fn from_yaml_array(value: Value, _: Kwargs, _: &State) -> TeraResult<Value> {
    match parse_yaml(&go_string(&value), "fromYamlArray")? {
        serde_json::Value::Null => Ok(Value::from(Vec::<Value>::new())),
        json @ serde_json::Value::Array(_) => Ok(json_to_value(&json)),
        other => Err(Error::message(format!(
            "fromYamlArray: expected a YAML list, got {}",
            json_kind(&other)
        ))),
    }
}

/// `fromJson`: parses any JSON value.
pub(crate) fn from_json(value: Value, _: Kwargs, _: &State) -> TeraResult<Value> {
    serde_json::from_str::<serde_json::Value>(&go_string(&value))
        .map(|json| json_to_value(&json))
        .map_err(|e| Error::message(format!("fromJson: invalid JSON: {e}")))
}

fn json_kind(json: &serde_json::Value) -> &'static str {
    match json {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "a mapping",
    }
}

/// `default(value=)`: the fallback when the piped value is empty (sprig's rule).
pub(crate) fn default(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let fallback = kwargs.must_get::<Value>("value")?;
    Ok(if is_empty(&value) { fallback } else { value })
}

pub(crate) fn empty(value: Value, _: Kwargs, _: &State) -> bool {
    is_empty(&value)
}

/// `empty` as a tera test: `{% if Values.x is empty %}`.
pub(crate) fn empty_test(value: Value, _: Kwargs, _: &State) -> bool {
    is_empty(&value)
}

/// `required(msg=)`: fails with the message when the value is undefined, null or "".
pub(crate) fn required(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let missing =
        value.is_undefined() || value.is_none() || value.as_str().is_some_and(str::is_empty);
    if missing {
        let msg = kwargs
            .get::<Value>("msg")?
            .map(|m| go_string(&m))
            .unwrap_or_else(|| "a required value is missing".to_string());
        return Err(Error::message(msg));
    }
    Ok(value)
}

/// `fail(msg=)`: stops rendering with the message.
pub(crate) fn fail(kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    Err(Error::message(kwarg_string(&kwargs, "msg")?))
}

fn first_non_empty(items: &[Value]) -> Value {
    items
        .iter()
        .find(|v| !is_empty(v))
        .cloned()
        .unwrap_or_else(Value::none)
}

/// `[a, b, c] | coalesce`: the first non-empty item.
pub(crate) fn coalesce_filter(value: Value, _: Kwargs, _: &State) -> TeraResult<Value> {
    match value.as_array() {
        Some(items) => Ok(first_non_empty(items)),
        None => Err(Error::message("coalesce: expected a list of candidates")),
    }
}

/// `coalesce(values=[a, b, c])`.
pub(crate) fn coalesce_fn(kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let values = kwargs.must_get::<Value>("values")?;
    match values.as_array() {
        Some(items) => Ok(first_non_empty(items)),
        None => Err(Error::message("coalesce: `values` must be a list")),
    }
}

fn pick(condition: &Value, kwargs: &Kwargs) -> TeraResult<Value> {
    let key = if condition.is_truthy() {
        "true_value"
    } else {
        "false_value"
    };
    kwargs.must_get::<Value>(key)
}

/// `condition | ternary(true_value=, false_value=)`.
pub(crate) fn ternary_filter(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    pick(&value, &kwargs)
}

/// `ternary(true_value=, false_value=, condition=)`.
pub(crate) fn ternary_fn(kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let condition = kwargs.must_get::<Value>("condition")?;
    pick(&condition, &kwargs)
}

/// sprig's `int`: numbers truncate, strings parse (0x/0o/0b prefixes too) or give 0,
/// booleans give 1/0, null gives 0.
pub(crate) fn to_int(value: Value, _: Kwargs, _: &State) -> i64 {
    if let Some(i) = value.as_i64() {
        return i;
    }
    if let Some(f) = value.as_f64() {
        return f.trunc() as i64;
    }
    if let Some(b) = value.as_bool() {
        return i64::from(b);
    }
    match value.as_str() {
        Some(text) => parse_go_int(text.trim()).unwrap_or(0),
        None => 0,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)`: optional sign, base prefixes, leading 0 = octal.
fn parse_go_int(text: &str) -> Option<i64> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    let digits = digits.replace('_', "");
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest.to_string())
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest.to_string())
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest.to_string())
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, lower[1..].to_string())
    } else {
        (10, lower)
    };
    let n = i64::from_str_radix(&body, radix).ok()?;
    Some(if negative { -n } else { n })
}

/// Go's reflect kind of a value as helm reports it (`map`, `slice`, `string`, `bool`,
/// `int64`, `float64`, `invalid` for null).
pub(crate) fn kind_name(value: &Value) -> &'static str {
    use tera::value::ValueKind;
    match value.kind() {
        ValueKind::Undefined | ValueKind::None => "invalid",
        ValueKind::Bool => "bool",
        ValueKind::I64 | ValueKind::I128 => "int64",
        ValueKind::U64 | ValueKind::U128 => "uint64",
        ValueKind::F64 => "float64",
        ValueKind::String => "string",
        ValueKind::Array | ValueKind::Bytes => "slice",
        ValueKind::Map => "map",
        _ => "invalid",
    }
}

pub(crate) fn kind_of(value: Value, _: Kwargs, _: &State) -> &'static str {
    kind_name(&value)
}

/// `kindIs(kind=)`.
pub(crate) fn kind_is(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    Ok(kind_name(&value) == kwarg_string(&kwargs, "kind")?)
}

/// Go's `%T` of a value as helm reports it.
pub(crate) fn type_of(value: Value, _: Kwargs, _: &State) -> &'static str {
    use tera::value::ValueKind;
    match value.kind() {
        ValueKind::Map => "map[string]interface {}",
        ValueKind::Array => "[]interface {}",
        ValueKind::Bytes => "[]uint8",
        ValueKind::Undefined | ValueKind::None => "<nil>",
        _ => kind_name(&value),
    }
}

/// `list(items=[…])`: the list itself (a `[a, b]` literal does the same).
pub(crate) fn list(kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    match kwargs.get::<Value>("items")? {
        Some(items) if items.is_array() => Ok(items),
        Some(item) => Ok(Value::from(vec![item])),
        None => Ok(Value::from(Vec::<Value>::new())),
    }
}

/// `dict(key=value, …)`: a map of the keyword arguments.
pub(crate) fn dict(kwargs: Kwargs, _: &State) -> Value {
    let map: Map = kwargs.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    Value::from(map)
}

fn as_map<'a>(value: &'a Value, func: &str) -> TeraResult<&'a Map> {
    value
        .as_map()
        .ok_or_else(|| Error::message(format!("{func}: expected a map, got {}", value.name())))
}

/// Deep-merges `src` into `dst`; `overwrite` decides who wins on conflicting scalars.
fn deep_merge(dst: &Map, src: &Map, overwrite: bool) -> Map {
    let mut out = dst.clone();
    for (key, src_value) in src.iter() {
        let merged = match out.get(key) {
            Some(dst_value) => match (dst_value.as_map(), src_value.as_map()) {
                (Some(d), Some(s)) => Value::from(deep_merge(d, s, overwrite)),
                _ if overwrite => src_value.clone(),
                _ if dst_value.is_none() => src_value.clone(),
                _ => dst_value.clone(),
            },
            None => src_value.clone(),
        };
        out.insert(key.clone(), merged);
    }
    out
}

fn merge_sources(kwargs: &Kwargs) -> TeraResult<Vec<Value>> {
    let src = kwargs.must_get::<Value>("src")?;
    Ok(match src.as_array() {
        Some(items) => items.to_vec(),
        None => vec![src],
    })
}

/// `dst | merge(src=map_or_list)`: deep merge where the piped map wins.
pub(crate) fn merge(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let mut out = as_map(&value, "merge")?.clone();
    for src in merge_sources(&kwargs)? {
        out = deep_merge(&out, as_map(&src, "merge")?, false);
    }
    Ok(Value::from(out))
}

/// `dst | mergeOverwrite(src=map_or_list)`: deep merge where the sources win.
pub(crate) fn merge_overwrite(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let mut out = as_map(&value, "mergeOverwrite")?.clone();
    for src in merge_sources(&kwargs)? {
        out = deep_merge(&out, as_map(&src, "mergeOverwrite")?, true);
    }
    Ok(Value::from(out))
}

pub(crate) fn has_key(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    let key = kwarg_string(&kwargs, "key")?;
    Ok(as_map(&value, "hasKey")?
        .iter()
        .any(|(k, _)| key_to_string(k) == key))
}

/// `keys`: the map's keys, sorted.
pub(crate) fn keys(value: Value, _: Kwargs, _: &State) -> TeraResult<Vec<Value>> {
    let mut keys: Vec<String> = as_map(&value, "keys")?.keys().map(key_to_string).collect();
    keys.sort();
    Ok(keys.into_iter().map(Value::from).collect())
}

fn pluck_from(maps: &Value, key: &str) -> TeraResult<Vec<Value>> {
    let items = maps
        .as_array()
        .ok_or_else(|| Error::message("pluck: expected a list of maps"))?;
    Ok(items
        .iter()
        .filter_map(|m| m.as_map())
        .filter_map(|m| m.iter().find(|(k, _)| key_to_string(k) == key))
        .map(|(_, v)| v.clone())
        .collect())
}

/// `[m1, m2] | pluck(key=)`: the key's value from each map that has it.
pub(crate) fn pluck_filter(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<Vec<Value>> {
    pluck_from(&value, &kwarg_string(&kwargs, "key")?)
}

/// `pluck(key=, maps=[…])`.
pub(crate) fn pluck_fn(kwargs: Kwargs, _: &State) -> TeraResult<Vec<Value>> {
    pluck_from(
        &kwargs.must_get::<Value>("maps")?,
        &kwarg_string(&kwargs, "key")?,
    )
}

/// `map | dig(path="a.b", default=…)` or `dig(keys=["a", "b"], default=…)`: walks nested
/// maps, giving the default when a step is missing.
pub(crate) fn dig(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<Value> {
    let steps: Vec<String> = match kwargs.get::<Value>("keys")? {
        Some(keys) => keys
            .as_array()
            .ok_or_else(|| Error::message("dig: `keys` must be a list"))?
            .iter()
            .map(go_string)
            .collect(),
        None => kwarg_string(&kwargs, "path")?
            .split('.')
            .map(String::from)
            .collect(),
    };
    let fallback = kwargs.get::<Value>("default")?.unwrap_or_else(Value::none);
    let mut current = value;
    for step in &steps {
        let next = current
            .as_map()
            .and_then(|m| m.iter().find(|(k, _)| key_to_string(k) == *step))
            .map(|(_, v)| v.clone());
        match next {
            Some(v) => current = v,
            None => return Ok(fallback),
        }
    }
    Ok(current)
}

fn as_list<'a>(value: &'a Value, func: &str) -> TeraResult<&'a [Value]> {
    value
        .as_array()
        .ok_or_else(|| Error::message(format!("{func}: expected a list, got {}", value.name())))
}

/// `uniq`: the list without repeats, first occurrence kept.
pub(crate) fn uniq(value: Value, _: Kwargs, _: &State) -> TeraResult<Vec<Value>> {
    let mut out: Vec<Value> = Vec::new();
    for item in as_list(&value, "uniq")? {
        if !out.contains(item) {
            out.push(item.clone());
        }
    }
    Ok(out)
}

/// `compact`: the list without empty items.
pub(crate) fn compact(value: Value, _: Kwargs, _: &State) -> TeraResult<Vec<Value>> {
    Ok(as_list(&value, "compact")?
        .iter()
        .filter(|v| !is_empty(v))
        .cloned()
        .collect())
}

/// `list | has(value=)`: membership (helm's `.Capabilities.APIVersions.Has`).
pub(crate) fn has(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    let needle = kwargs.must_get::<Value>("value")?;
    Ok(as_list(&value, "has")?.contains(&needle))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_int_parsing_follows_strconv() {
        assert_eq!(parse_go_int("42"), Some(42));
        assert_eq!(parse_go_int("-0x10"), Some(-16));
        assert_eq!(parse_go_int("0777"), Some(511));
        assert_eq!(parse_go_int("3.7"), None);
    }
}

//! helm's own template functions (pkg/engine/funcs.go): `toYaml`, `fromYaml`,
//! `toToml`, `required`, `fail`, `lookup`, and the refused `getHostByName`. `include` and
//! `tpl` need the template set and live in the executor.

use super::CallError;
use super::value::Value;
use super::{Funcs, arg_str};
use crate::engine::LookupFn;

pub fn register(f: &mut Funcs) {
    f.add("toYaml", 1, |a| Ok(Value::from(to_yaml(&a[0]))));
    f.add("mustToYaml", 1, |a| Ok(Value::from(to_yaml(&a[0]))));
    f.add("toYamlPretty", 1, |a| Ok(Value::from(to_yaml(&a[0]))));
    f.add("fromYaml", 1, |a| {
        let text = arg_str(&a[0])?;
        Ok(match parse_yaml(&text) {
            Ok(serde_json::Value::Object(map)) => {
                Value::from_json(&serde_json::Value::Object(map))
            }
            Ok(serde_json::Value::Null) => Value::new_map(),
            Ok(other) => error_map(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type map[string]interface {{}}",
                json_kind(&other)
            )),
            Err(e) => error_map(e),
        })
    });
    f.add("fromYamlArray", 1, |a| {
        let text = arg_str(&a[0])?;
        Ok(match parse_yaml(&text) {
            Ok(serde_json::Value::Array(items)) => {
                Value::from_json(&serde_json::Value::Array(items))
            }
            Ok(serde_json::Value::Null) => Value::from(Vec::new()),
            Ok(other) => Value::from(vec![Value::from(format!(
                "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal {} into Go value of type []interface {{}}",
                json_kind(&other)
            ))]),
            Err(e) => Value::from(vec![Value::from(e)]),
        })
    });
    f.add("toToml", 1, |a| Ok(Value::from(to_toml(&a[0]))));
    f.add("fromToml", 1, |a| {
        let text = arg_str(&a[0])?;
        Ok(match text.parse::<toml::Table>() {
            Ok(table) => Value::from_json_with(
                &serde_json::to_value(table).unwrap_or(serde_json::Value::Null),
                false,
            ),
            Err(e) => error_map(e.to_string()),
        })
    });
    f.add("required", 2, |a| {
        let warn = arg_str(&a[0])?;
        match &a[1] {
            Value::Nil => Err(user_error(&warn)),
            Value::Str(s) if s.is_empty() => Err(user_error(&warn)),
            other => Ok(other.clone()),
        }
    });
    f.add("fail", 1, |a| {
        let msg = arg_str(&a[0])?;
        Err(user_error(&msg))
    });
    f.add("lookup", 4, |a| {
        for v in a {
            arg_str(v)?;
        }
        Ok(Value::new_map())
    });
    f.add("getHostByName", 1, |a| {
        let host = arg_str(&a[0])?;
        Err(CallError::from(format!(
            "getHostByName {host:?}: DNS lookups from templates are disabled, because chart templates are untrusted input"
        )))
    });
}

/// Replaces `lookup` with one that asks the cluster.
pub fn connect_lookup(f: &mut Funcs, lookup: LookupFn) {
    f.add("lookup", 4, move |a| {
        let api_version = arg_str(&a[0])?;
        let kind = arg_str(&a[1])?;
        let namespace = arg_str(&a[2])?;
        let name = arg_str(&a[3])?;
        lookup(&api_version, &kind, &namespace, &name)
            .map(|json| Value::from_json_with(&json, false))
            .map_err(CallError::from)
    });
}

/// A `fail`/`required` message: helm prints it verbatim.
fn user_error(message: &str) -> CallError {
    CallError {
        message: message.to_string(),
        user: true,
    }
}

fn error_map(message: String) -> Value {
    super::value::map_of([("Error", Value::from(message))])
}

pub fn json_kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Array(_) => "array",
        serde_json::Value::Object(_) => "object",
        serde_json::Value::String(_) => "string",
        serde_json::Value::Number(_) => "number",
        serde_json::Value::Bool(_) => "bool",
        serde_json::Value::Null => "null",
    }
}

/// sigs.k8s.io/yaml's Unmarshal: YAML 1.1 scalars, converted through JSON.
pub fn parse_yaml(text: &str) -> Result<serde_json::Value, String> {
    match crate::values::yaml_documents(text) {
        Ok(docs) => Ok(docs.into_iter().next().unwrap_or(serde_json::Value::Null)),
        Err(e) => Err(format!("error converting YAML to JSON: yaml: {e}")),
    }
}

/// helm's `toYaml`: sigs.k8s.io/yaml's output without the final newline.
pub fn to_yaml(v: &Value) -> String {
    crate::engine::yaml::to_yaml(&v.to_json())
}

/// helm's `toToml` (BurntSushi's encoder); an error's text when the value is no table.
fn to_toml(v: &Value) -> String {
    let json = v.to_json();
    match toml::to_string(&json) {
        Ok(s) => s,
        Err(e) => e.to_string(),
    }
}

//! Secret values in diffs: masked by default (each key of `data` and `stringData` shows a
//! marker with its size and whether it changed, like helm-diff), revealed as stored with
//! `--show-secrets`, or decoded from base64 with `--show-secrets-decoded`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value};

/// How Secret values appear in a diff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SecretMode {
    /// `REDACTED # (N bytes)` when unchanged, `-------- # (N bytes)` / `++++++++ # (N bytes)`
    /// on the two sides when changed.
    #[default]
    Mask,
    /// As stored (`data` base64-encoded).
    Show,
    /// `data` decoded to text.
    Decoded,
}

const FIELDS: [&str; 2] = ["data", "stringData"];

fn is_secret(object: &Option<Value>) -> bool {
    object
        .as_ref()
        .is_some_and(|o| o.get("kind").and_then(Value::as_str) == Some("Secret"))
}

fn section<'a>(object: &'a mut Option<Value>, field: &str) -> Option<&'a mut Map<String, Value>> {
    object
        .as_mut()
        .and_then(|o| o.get_mut(field))
        .and_then(Value::as_object_mut)
}

/// The size of a value in bytes: decoded for `data`, as written for `stringData`.
fn size(field: &str, value: &Value) -> usize {
    let text = value.as_str().unwrap_or_default();
    if field == "data" {
        STANDARD.decode(text).map_or(text.len(), |b| b.len())
    } else {
        text.len()
    }
}

/// Masks or decodes the Secret values of a before/after pair in place.
pub fn mask(before: &mut Option<Value>, after: &mut Option<Value>, mode: SecretMode) {
    if !is_secret(before) && !is_secret(after) {
        return;
    }
    for field in FIELDS {
        match mode {
            SecretMode::Show => {}
            SecretMode::Decoded => {
                if field == "data" {
                    for side in [&mut *before, &mut *after] {
                        if let Some(map) = section(side, field) {
                            for value in map.values_mut() {
                                if let Some(bytes) =
                                    value.as_str().and_then(|s| STANDARD.decode(s).ok())
                                {
                                    *value =
                                        Value::String(String::from_utf8_lossy(&bytes).into_owned());
                                }
                            }
                        }
                    }
                }
            }
            SecretMode::Mask => {
                let old = section(before, field).cloned().unwrap_or_default();
                let new = section(after, field).cloned().unwrap_or_default();
                if let Some(map) = section(before, field) {
                    for (key, value) in map.iter_mut() {
                        let marker = if new.get(key) == Some(value) {
                            "REDACTED"
                        } else {
                            "--------"
                        };
                        *value =
                            Value::String(format!("{marker} # ({} bytes)", size(field, value)));
                    }
                }
                if let Some(map) = section(after, field) {
                    for (key, value) in map.iter_mut() {
                        let marker = if old.get(key) == Some(value) {
                            "REDACTED"
                        } else {
                            "++++++++"
                        };
                        *value =
                            Value::String(format!("{marker} # ({} bytes)", size(field, value)));
                    }
                }
            }
        }
    }
}

/// Folds `stringData` into base64 `data`, as the API server does on write (for objects
/// compared client-side).
pub fn fold_string_data(object: &mut Value) {
    if object.get("kind").and_then(Value::as_str) != Some("Secret") {
        return;
    }
    let Some(map) = object.as_object_mut() else {
        return;
    };
    let Some(Value::Object(string_data)) = map.remove("stringData") else {
        return;
    };
    let data = map
        .entry("data")
        .or_insert_with(|| Value::Object(Map::new()));
    if !data.is_object() {
        *data = Value::Object(Map::new());
    }
    let data = data.as_object_mut().expect("data is a mapping");
    for (key, value) in string_data {
        let text = match value {
            Value::String(s) => s,
            other => other.to_string(),
        };
        data.insert(key, Value::String(STANDARD.encode(text)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn secret(data: Value) -> Option<Value> {
        Some(json!({"kind": "Secret", "data": data}))
    }

    #[test]
    fn masked_values_say_whether_they_changed_and_their_size() {
        let mut before = secret(json!({"same": "YWJj", "changed": "YWJj", "gone": "YQ=="}));
        let mut after = secret(json!({"same": "YWJj", "changed": "YWJjZA==", "new": "YQ=="}));
        mask(&mut before, &mut after, SecretMode::Mask);
        let b = &before.unwrap()["data"];
        let a = &after.unwrap()["data"];
        assert_eq!(b["same"], "REDACTED # (3 bytes)");
        assert_eq!(a["same"], "REDACTED # (3 bytes)");
        assert_eq!(b["changed"], "-------- # (3 bytes)");
        assert_eq!(a["changed"], "++++++++ # (4 bytes)");
        assert_eq!(b["gone"], "-------- # (1 bytes)");
        assert_eq!(a["new"], "++++++++ # (1 bytes)");
        let text = format!("{b}{a}");
        assert!(!text.contains("YWJj"), "{text}");
    }

    #[test]
    fn string_data_is_masked_too_and_decoding_reveals_data() {
        let mut before = Some(json!({"kind": "Secret", "stringData": {"p": "old"}}));
        let mut after = Some(json!({"kind": "Secret", "stringData": {"p": "newer"}}));
        mask(&mut before, &mut after, SecretMode::Mask);
        assert_eq!(after.unwrap()["stringData"]["p"], "++++++++ # (5 bytes)");

        let mut before = secret(json!({"p": "c2VjcmV0"}));
        mask(&mut before, &mut None, SecretMode::Decoded);
        assert_eq!(before.unwrap()["data"]["p"], "secret");
    }

    #[test]
    fn string_data_folds_into_data() {
        let mut s = json!({"kind": "Secret", "data": {"a": "YQ=="}, "stringData": {"b": "b"}});
        fold_string_data(&mut s);
        assert_eq!(
            s,
            json!({"kind": "Secret", "data": {"a": "YQ==", "b": "Yg=="}})
        );
    }
}

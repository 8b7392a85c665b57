//! Values: the tree that templates see as `Values` — loading values files, merging them
//! with helm's precedence, the `--set` family, subchart coalescing and schema validation.

mod coalesce;
mod fast_yaml;
mod schema;
pub mod strvals;
mod yaml;

pub use coalesce::{coalesce_user_tables, compute_render_values};
pub(crate) use fast_yaml::read_object_header as read_yaml_object_header_fast;
pub use schema::{SchemaError, SchemaViolation, validate_schema};
pub use strvals::ParseMode;
pub(crate) use yaml::documents as yaml_documents;

use serde_json::Value;
use std::path::{Path, PathBuf};

/// A values tree. Maps keep keys sorted, like helm's (Go) output of `toYaml`.
pub type Values = serde_json::Map<String, serde_json::Value>;

/// Why values could not be read, merged or computed.
#[derive(Debug, thiserror::Error)]
pub enum ValuesError {
    #[error("cannot read values file {path}: {}", io_reason(.source))]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("failed to parse {origin}: {message}")]
    Yaml { origin: String, message: String },
    #[error("failed to parse {origin}: the top level must be a map of values, not {found}")]
    NotAMap { origin: String, found: &'static str },
    #[error("failed parsing {flag} data {line:?}: {source}")]
    Flag {
        flag: &'static str,
        line: String,
        source: strvals::StrvalsError,
    },
    #[error("failed parsing --set-json data JSON {line:?}: {message}")]
    JsonObject { line: String, message: String },
    #[error(
        "values for subchart {name:?} of chart {chart:?} must be a map, but the values give {found}"
    )]
    SubchartNotAMap {
        chart: String,
        name: String,
        found: &'static str,
    },
}

/// Reads a values file (`-` is standard input). An empty file is an empty map; documents of
/// a multi-document file are merged in order, as helm does.
pub fn parse_values_file(path: &Path) -> Result<Values, ValuesError> {
    let shown = path.display().to_string();
    let bytes = if shown.trim() == "-" {
        let mut buf = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut buf).map(|_| buf)
    } else {
        std::fs::read(path)
    }
    .map_err(|source| ValuesError::Read {
        path: shown.clone(),
        source,
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ValuesError::Yaml {
        origin: shown.clone(),
        message: format!(
            "the file is not valid UTF-8 (byte {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    parse_values_str(&text, &shown)
}

/// Parses values YAML; `origin` names the source in errors (a file path, `values.yaml`, …).
pub fn parse_values_str(text: &str, origin: &str) -> Result<Values, ValuesError> {
    let documents = yaml::documents(text).map_err(|e| ValuesError::Yaml {
        origin: origin.to_string(),
        message: e.to_string(),
    })?;
    let mut out = Values::new();
    for document in documents {
        match document {
            Value::Null => {}
            Value::Object(map) => merge_maps(&mut out, map),
            other => {
                return Err(ValuesError::NotAMap {
                    origin: origin.to_string(),
                    found: type_name(&other),
                });
            }
        }
    }
    Ok(out)
}

/// Deep merge: maps merge key by key, anything else in `overlay` (lists, scalars, null)
/// replaces what `base` has (helm's `MergeMaps`).
pub fn merge_maps(base: &mut Values, overlay: Values) {
    for (key, value) in overlay {
        match (base.get_mut(&key), value) {
            (Some(Value::Object(existing)), Value::Object(incoming)) => {
                merge_maps(existing, incoming)
            }
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// One user-supplied values flag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValueSource {
    /// `-f/--values FILE`.
    File(PathBuf),
    /// `--set a=b,c=d`.
    Set(String),
    /// `--set-string a=b`.
    SetString(String),
    /// `--set-json a=<json>` or `--set-json '{"a": …}'`.
    SetJson(String),
    /// `--set-file a=path`.
    SetFile(String),
    /// `--set-literal a=<verbatim>`.
    SetLiteral(String),
}

/// The user-supplied values flags, in command-line order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ValueOptions {
    pub sources: Vec<ValueSource>,
}

impl ValueOptions {
    /// helm's `MergeValues`: the user-supplied values (a release's "config").
    ///
    /// Like helm v4, flags apply by kind, each kind in command-line order: all `-f` files,
    /// then `--set-json`, `--set`, `--set-string`, `--set-file`, and `--set-literal` last.
    /// (So `--set-string a=x --set a=y` gives `x`, as with helm.)
    pub fn merge(&self) -> Result<Values, ValuesError> {
        let mut base = Values::new();
        for source in &self.sources {
            if let ValueSource::File(path) = source {
                merge_maps(&mut base, parse_values_file(path)?);
            }
        }
        for source in &self.sources {
            if let ValueSource::SetJson(line) = source {
                apply_set_json(&mut base, line)?;
            }
        }
        let kinds: [(&str, ParseMode); 4] = [
            ("--set", ParseMode::Typed),
            ("--set-string", ParseMode::String),
            ("--set-file", ParseMode::File),
            ("--set-literal", ParseMode::Literal),
        ];
        for (flag, mode) in kinds {
            for source in &self.sources {
                let line = match (source, mode) {
                    (ValueSource::Set(line), ParseMode::Typed)
                    | (ValueSource::SetString(line), ParseMode::String)
                    | (ValueSource::SetFile(line), ParseMode::File)
                    | (ValueSource::SetLiteral(line), ParseMode::Literal) => line,
                    _ => continue,
                };
                strvals::parse_into(line, &mut base, mode).map_err(|source| ValuesError::Flag {
                    flag,
                    line: line.clone(),
                    source,
                })?;
            }
        }
        Ok(base)
    }

    /// Where `--set` put an integer. helm keeps those int64 while every number from a
    /// values file is float64, which Go templates can tell apart (`1000000` prints as
    /// `1e+06` only from a file); the Go-template engine uses this to do the same.
    pub fn set_integers(&self) -> Vec<ValuePath> {
        let mut paths = Vec::new();
        for source in &self.sources {
            if let ValueSource::Set(line) = source
                && let Ok(values) = strvals::parse(line, ParseMode::Typed)
            {
                collect_integers(&Value::Object(values), &mut Vec::new(), &mut paths);
            }
        }
        paths
    }
}

/// One step into nested values: a map key or a list index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathStep {
    Key(String),
    Index(usize),
}

/// A place in nested values.
pub type ValuePath = Vec<PathStep>;

fn collect_integers(value: &Value, at: &mut ValuePath, out: &mut Vec<ValuePath>) {
    match value {
        Value::Number(n) if n.is_i64() || n.is_u64() => out.push(at.clone()),
        Value::Object(map) => {
            for (k, v) in map {
                at.push(PathStep::Key(k.clone()));
                collect_integers(v, at, out);
                at.pop();
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                at.push(PathStep::Index(i));
                collect_integers(v, at, out);
                at.pop();
            }
        }
        _ => {}
    }
}

/// `--set-json`: a whole JSON object (merged in) or `name=<json>` pairs.
fn apply_set_json(base: &mut Values, line: &str) -> Result<(), ValuesError> {
    let trimmed = line.trim();
    if trimmed.starts_with('{') {
        let object: Values =
            serde_json::from_str(trimmed).map_err(|e| ValuesError::JsonObject {
                line: line.to_string(),
                message: e.to_string(),
            })?;
        merge_maps(base, object);
        return Ok(());
    }
    strvals::parse_into(line, base, ParseMode::Json).map_err(|source| ValuesError::Flag {
        flag: "--set-json",
        line: line.to_string(),
        source,
    })
}

/// An I/O error as a sentence fragment: "No such file or directory", without "(os error 2)".
pub(crate) fn io_reason(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(i) => text[..i].to_string(),
        None => text,
    }
}

/// A value's kind, as error messages name it.
pub(crate) fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Values {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn merge_maps_merges_maps_and_replaces_lists_and_scalars() {
        let mut base = map(json!({"a": {"x": 1, "y": [1, 2]}, "b": 1, "c": {"k": 1}}));
        merge_maps(
            &mut base,
            map(json!({"a": {"y": [3], "z": null}, "b": {"n": 1}, "c": 2})),
        );
        assert_eq!(
            Value::Object(base),
            json!({"a": {"x": 1, "y": [3], "z": null}, "b": {"n": 1}, "c": 2})
        );
    }

    #[test]
    fn empty_and_comment_only_files_are_empty_maps() {
        assert!(parse_values_str("", "v.yaml").unwrap().is_empty());
        assert!(
            parse_values_str("# nothing\n---\n", "v.yaml")
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn documents_of_a_file_merge_in_order() {
        let values = parse_values_str("x: {a: 1, c: 3}\n---\nx: {b: 2, c: 4}\n", "v").unwrap();
        assert_eq!(
            Value::Object(values),
            json!({"x": {"a": 1, "b": 2, "c": 4}})
        );
    }

    #[test]
    fn bad_yaml_names_file_and_line() {
        let err = parse_values_str("a: 1\nb: [1\nc: 2\n", "my-values.yaml")
            .unwrap_err()
            .to_string();
        assert!(err.contains("my-values.yaml"), "{err}");
        assert!(err.contains("line"), "{err}");
    }

    #[test]
    fn top_level_must_be_a_map() {
        let err = parse_values_str("- a\n- b\n", "list.yaml")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "failed to parse list.yaml: the top level must be a map of values, not a list"
        );
    }

    #[test]
    fn missing_file_is_named() {
        let err = parse_values_file(Path::new("/nonexistent/values.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("cannot read values file /nonexistent/values.yaml"),
            "{err}"
        );
    }

    #[test]
    fn flags_apply_by_kind_like_helm() {
        let options = ValueOptions {
            sources: vec![
                ValueSource::SetLiteral("a=literal".into()),
                ValueSource::SetString("b=string".into()),
                ValueSource::Set("b=set,a=set,c=1".into()),
                ValueSource::SetJson("c=[1]".into()),
            ],
        };
        assert_eq!(
            Value::Object(options.merge().unwrap()),
            json!({"a": "literal", "b": "string", "c": 1})
        );
    }

    #[test]
    fn set_json_object_form_merges() {
        let options = ValueOptions {
            sources: vec![
                ValueSource::Set("a.x=1".into()),
                ValueSource::SetJson(r#" {"a": {"y": [true]}}"#.into()),
            ],
        };
        assert_eq!(
            Value::Object(options.merge().unwrap()),
            json!({"a": {"x": 1, "y": [true]}})
        );
        let bad = ValueOptions {
            sources: vec![ValueSource::SetJson("{oops".into())],
        };
        assert!(bad.merge().unwrap_err().to_string().contains("--set-json"));
    }
}

//! How commands print what they found: the `-o table|json|yaml` formats, YAML as helm
//! writes it, and helm's tables.

use serde_json::Value;

/// Output formats of the listing commands (`-o table|json|yaml`), as helm's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OutputFormat {
    #[default]
    Table,
    Json,
    Yaml,
}

impl std::str::FromStr for OutputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "table" => Ok(OutputFormat::Table),
            "json" => Ok(OutputFormat::Json),
            "yaml" => Ok(OutputFormat::Yaml),
            other => Err(format!(
                "invalid format type {other:?}: expected table, json or yaml"
            )),
        }
    }
}

/// A value as JSON (one line, as helm prints) or, for [`OutputFormat::Yaml`], YAML.
pub fn encode(value: &Value, format: OutputFormat) -> String {
    match format {
        OutputFormat::Yaml => yaml(value),
        _ => format!(
            "{}\n",
            serde_json::to_string(value).expect("JSON values serialize")
        ),
    }
}

/// YAML in helm's style (go-yaml via JSON: keys sorted, strings that would read as another
/// type double-quoted) for a JSON-shaped value.
pub fn yaml(value: &Value) -> String {
    let mut text = crate::engine::yaml::to_yaml(&sort_keys(value.clone()));
    text.push('\n');
    text
}

/// The value with every object's keys in sorted order (as Go's encoders write maps).
pub(crate) fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(k, v)| (k, sort_keys(v)))
                    .collect(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

/// A table as helm prints them (gosuri/uitable): cells padded to their column's width and
/// (the last one too) separated by a tab; cells longer than `max_width` are cut with `...`.
pub fn table(rows: &[Vec<String>], max_width: Option<usize>) -> String {
    let cut = |s: &str| -> String {
        match max_width {
            Some(w) if s.chars().count() > w => {
                let kept: String = s.chars().take(w.saturating_sub(3)).collect();
                format!("{kept}...")
            }
            _ => s.to_string(),
        }
    };
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| cut(c)).collect())
        .collect();
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<width$}", width = widths[i]))
            .collect();
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_pad_columns_like_helm_and_cut_long_cells() {
        let rows = [
            vec!["NAME".into(), "REVISION".into()],
            vec!["a-long-name".into(), "1".into()],
        ];
        assert_eq!(
            table(&rows, None),
            "NAME       \tREVISION\na-long-name\t1       \n"
        );
        assert_eq!(table(&rows, Some(6)), "NAME  \tREV...\na-l...\t1     \n");
    }

    #[test]
    fn json_is_one_line_and_yaml_has_sorted_keys() {
        let v = serde_json::json!({"b": 1, "a": [true, "1"]});
        assert_eq!(
            encode(&v, OutputFormat::Json),
            "{\"a\":[true,\"1\"],\"b\":1}\n"
        );
        assert_eq!(
            encode(&v, OutputFormat::Yaml),
            "a:\n- true\n- \"1\"\nb: 1\n"
        );
        assert_eq!("yaml".parse(), Ok(OutputFormat::Yaml));
        assert!(
            "xml"
                .parse::<OutputFormat>()
                .unwrap_err()
                .contains("table, json or yaml")
        );
    }
}

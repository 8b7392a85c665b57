//! YAML output in the style of helm's `toYaml` (go-yaml v2 behind sigs.k8s.io/yaml), so
//! rendered manifests read exactly like helm's: keys sorted, lists not indented under their
//! key, strings that would read back as another type in double quotes, strings YAML cannot
//! hold plainly in single quotes, multi-line strings as literal blocks.
//!
//! serde_yaml parses YAML everywhere else; its emitter picks different quoting (`'1'` where
//! helm prints `"1"`), which would make `rudder template` and `helm template` differ for no
//! reason, hence this small emitter for JSON-shaped values.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

const INDENT: usize = 2;

/// The YAML text of a value, without a trailing newline (helm trims it).
pub fn to_yaml(value: &Value) -> String {
    let mut out = String::new();
    match value {
        Value::Object(map) if !map.is_empty() => write_map(&mut out, map, 0),
        Value::Array(items) if !items.is_empty() => write_list(&mut out, items, 0),
        other => {
            write_inline(&mut out, other, INDENT);
            out.push('\n');
        }
    }
    out.truncate(out.trim_end_matches('\n').len());
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

fn is_block(value: &Value) -> bool {
    match value {
        Value::Object(map) => !map.is_empty(),
        Value::Array(items) => !items.is_empty(),
        _ => false,
    }
}

/// Writes `key: value` lines at `indent`.
fn write_map(out: &mut String, map: &serde_json::Map<String, Value>, indent: usize) {
    let mut first = true;
    for (key, value) in map {
        if !first {
            pad(out, indent);
        }
        first = false;
        write_scalar_string(out, key, indent, true);
        out.push(':');
        match value {
            Value::Object(inner) if !inner.is_empty() => {
                out.push('\n');
                pad(out, indent + INDENT);
                write_map(out, inner, indent + INDENT);
            }
            // Lists sit at their key's indentation, like go-yaml.
            Value::Array(items) if !items.is_empty() => {
                out.push('\n');
                pad(out, indent);
                write_list(out, items, indent);
            }
            other => {
                out.push(' ');
                write_inline(out, other, indent + INDENT);
                out.push('\n');
            }
        }
    }
}

/// Writes `- item` lines at `indent`; the first line's padding is already written.
fn write_list(out: &mut String, items: &[Value], indent: usize) {
    let mut first = true;
    for item in items {
        if !first {
            pad(out, indent);
        }
        first = false;
        out.push_str("- ");
        match item {
            Value::Object(inner) if !inner.is_empty() => write_map(out, inner, indent + INDENT),
            Value::Array(inner) if !inner.is_empty() => write_list(out, inner, indent + INDENT),
            other => {
                write_inline(out, other, indent + INDENT);
                out.push('\n');
            }
        }
    }
}

/// A scalar (or empty collection) on the current line; block strings continue below at
/// `indent`.
fn write_inline(out: &mut String, value: &Value, indent: usize) {
    debug_assert!(!is_block(value));
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => match n.as_f64() {
            // Go prints an integral float64 without a fraction.
            Some(f) if n.is_f64() && f.fract() == 0.0 && f.abs() < 9.0e15 => {
                out.push_str(&(f as i64).to_string())
            }
            _ => out.push_str(&n.to_string()),
        },
        Value::String(s) => write_scalar_string(out, s, indent, false),
        Value::Array(_) => out.push_str("[]"),
        Value::Object(_) => out.push_str("{}"),
    }
}

static INT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|0[0-7_]+|[0-9][0-9_]*)$").expect("valid regex")
});
static FLOAT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")
        .expect("valid regex")
});
static SPECIAL_FLOAT: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^([-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$").expect("valid regex"));
static BASE60: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$").expect("valid regex")
});
static TIMESTAMP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([Tt ]+[0-9]{1,2}:[0-9]{2}:[0-9]{2}(\.[0-9]*)?[ \t]*(Z|[-+][0-9]{1,2}(:[0-9]{2})?)?)?$",
    )
    .expect("valid regex")
});

/// Whether a plain scalar with this text would read back as something other than a string
/// under YAML 1.1 (what go-yaml v2 checks before choosing plain style).
fn resolves_to_non_string(s: &str) -> bool {
    matches!(
        s,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | "<<"
    ) || looks_numeric(s)
}

/// The number, special-float, base-60 and timestamp forms; each starts with a sign, a dot or
/// a digit, so most strings are ruled out by their first character.
fn looks_numeric(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.'))
        && (INT.is_match(s)
            || FLOAT.is_match(s)
            || SPECIAL_FLOAT.is_match(s)
            || BASE60.is_match(s)
            || TIMESTAMP.is_match(s))
}

fn is_special_char(c: char) -> bool {
    !(c == '\t' || c == '\n' || (' '..='~').contains(&c) || (c as u32 >= 0xA0 && c != '\u{FEFF}'))
}

/// libyaml's plain-scalar check for a single-line string: no leading/trailing space, no
/// indicator at the start, no `: ` or ` #` inside; keys also exclude flow indicators.
fn plain_allowed(s: &str, is_key: bool) -> bool {
    if s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    let mut previous = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        let followed_by_blank = chars.peek().is_none_or(|next| *next == ' ');
        if previous.is_none() {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                return false;
            }
            if (c == '?' || c == ':') && (is_key || followed_by_blank) {
                return false;
            }
            if c == '-' && followed_by_blank {
                return false;
            }
        } else {
            if is_key && ",?[]{}".contains(c) {
                return false;
            }
            if c == ':' && (is_key || followed_by_blank) {
                return false;
            }
            if c == '#' && previous == Some(' ') {
                return false;
            }
        }
        previous = Some(c);
    }
    true
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into()));
}

fn write_scalar_string(out: &mut String, s: &str, indent: usize, is_key: bool) {
    if s.chars().any(is_special_char) {
        write_double_quoted(out, s);
    } else if s.contains('\n') && !is_key {
        write_literal(out, s, indent);
    } else if resolves_to_non_string(s) {
        write_double_quoted(out, s);
    } else if plain_allowed(s, is_key) {
        write_folded(out, s, indent, !is_key);
    } else {
        out.push('\'');
        write_folded(out, &s.replace('\'', "''"), indent, !is_key);
        out.push('\'');
    }
}

/// Line width past which go-yaml folds long plain and single-quoted strings.
const BEST_WIDTH: usize = 80;

/// Writes text, folding at single spaces once the line is past [`BEST_WIDTH`] like go-yaml
/// (a fold reads back as one space).
fn write_folded(out: &mut String, s: &str, indent: usize, allow_breaks: bool) {
    let mut column = out.len() - out.rfind('\n').map_or(0, |i| i + 1);
    let chars: Vec<char> = s.chars().collect();
    for (i, &c) in chars.iter().enumerate() {
        let previous_space = i > 0 && chars[i - 1] == ' ';
        let next_space = chars.get(i + 1).is_none_or(|n| *n == ' ');
        if c == ' '
            && allow_breaks
            && !previous_space
            && !next_space
            && i > 0
            && column > BEST_WIDTH
        {
            out.push('\n');
            pad(out, indent);
            column = indent;
            continue;
        }
        out.push(c);
        column += 1;
    }
}

/// A multi-line string as a literal block (`|`, `|-`, `|+`), or double-quoted when a line
/// ends in a space (literal blocks cannot keep that).
fn write_literal(out: &mut String, s: &str, indent: usize) {
    let space_before_break = s.contains(" \n") || s.ends_with(' ');
    if space_before_break || s.contains('\r') {
        write_double_quoted(out, s);
        return;
    }
    out.push('|');
    if s.starts_with(' ') || s.starts_with('\n') {
        out.push_str(&INDENT.to_string());
    }
    let body = if let Some(stripped) = s.strip_suffix('\n') {
        if stripped.ends_with('\n') || stripped.is_empty() {
            out.push('+');
        }
        stripped
    } else {
        out.push('-');
        s
    };
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Expected texts are `helm template` 4.1.4 output of `toYaml` on the same data.
    #[test]
    fn matches_helm_to_yaml() {
        let value = json!({
            "colon": "x:y", "dash": "- x", "date": "2021-01-01", "e": "", "float": "1.5",
            "hash": "#c", "k": "on", "n": "123", "nul": "null", "oct": "0777", "sp": " lead",
            "st": "a: b", "star": "*a", "t": "true", "tilde": "~"
        });
        assert_eq!(
            to_yaml(&value),
            "colon: x:y\ndash: '- x'\ndate: \"2021-01-01\"\ne: \"\"\nfloat: \"1.5\"\nhash: '#c'\n\
             k: \"on\"\n\"n\": \"123\"\nnul: \"null\"\noct: \"0777\"\nsp: ' lead'\nst: 'a: b'\n\
             star: '*a'\nt: \"true\"\ntilde: \"~\""
        );
        assert_eq!(
            to_yaml(&json!({"b": 2, "a": {"x": "1"}, "c": [1, 2]})),
            "a:\n  x: \"1\"\nb: 2\nc:\n- 1\n- 2"
        );
        assert_eq!(
            to_yaml(&json!({"a": [{"b": 1, "c": 2}]})),
            "a:\n- b: 1\n  c: 2"
        );
        assert_eq!(to_yaml(&json!("line1\nline2\n")), "|\n  line1\n  line2");
        assert_eq!(to_yaml(&json!({})), "{}");
        assert_eq!(to_yaml(&json!([])), "[]");
        assert_eq!(to_yaml(&json!(null)), "null");
        assert_eq!(to_yaml(&json!(1.5)), "1.5");
        assert_eq!(to_yaml(&json!({"replicas": 3.0})), "replicas: 3");
    }

    #[test]
    fn long_strings_fold_like_helm() {
        let words = vec!["word"; 24].join(" ");
        assert_eq!(
            to_yaml(&json!({ "long": words })),
            "long: word word word word word word word word word word word word word word word word\n  \
             word word word word word word word word"
        );
        let back: Value =
            serde_yaml::from_str(&to_yaml(&json!({ "a": {"b": [words.clone()]} }))).unwrap();
        assert_eq!(back, json!({ "a": {"b": [words]} }));
    }

    #[test]
    fn block_strings_and_nesting_read_back_identically() {
        let value = json!({
            "script": "#!/bin/sh\necho hi\n\nexit 0",
            "keep": "a\n\n",
            "lead": "  indented\nnext",
            "trailing": "a \nb",
            "nested": [[1, 2], {"k": ["x", {"y": "z"}]}, [], {}],
            "quote": "it's",
            "unicode": "héllo ☃",
            "ctrl": "a\u{1}b",
        });
        let text = to_yaml(&value);
        let nested = json!({"a": {
            "b": ["alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon"],
            "c": "#x alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma"
        }});
        assert_eq!(
            to_yaml(&nested),
            "a:\n  b:\n  - alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron\n    \
             pi rho sigma tau upsilon\n  c: '#x alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi\n    \
             omicron pi rho sigma'"
        );
        let back: Value = serde_yaml::from_str(&text).unwrap();
        assert_eq!(back, value, "{text}");
        assert!(
            text.contains("script: |-\n  #!/bin/sh\n  echo hi\n\n  exit 0"),
            "{text}"
        );
    }
}

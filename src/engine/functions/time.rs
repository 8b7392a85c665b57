//! Time functions: `now()` and the `date(format=)` filter, which takes Go reference-time
//! layouts (`2006-01-02T15:04:05Z07:00`) as helm charts write them, or strftime (`%Y-%m-%d`).

use chrono::{DateTime, FixedOffset, NaiveDate, SecondsFormat, Utc};
use tera::{Error, Kwargs, State, TeraResult, Value};

use super::{go_string, kwarg_string};

/// `now()`: the current UTC time, RFC 3339.
pub(crate) fn now(_: Kwargs, _: &State) -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn parse_time(value: &Value) -> TeraResult<DateTime<FixedOffset>> {
    if let Some(seconds) = value.as_i64() {
        return DateTime::from_timestamp(seconds, 0)
            .map(|t| t.fixed_offset())
            .ok_or_else(|| Error::message(format!("date: {seconds} is not a valid timestamp")));
    }
    let text = go_string(value);
    if let Ok(t) = DateTime::parse_from_rfc3339(text.trim()) {
        return Ok(t);
    }
    if let Ok(d) = NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d") {
        return Ok(d
            .and_hms_opt(0, 0, 0)
            .expect("midnight")
            .and_utc()
            .fixed_offset());
    }
    Err(Error::message(format!(
        "date: `{text}` is not a time (expected RFC 3339, YYYY-MM-DD or unix seconds)"
    )))
}

/// Go layout tokens and their strftime equivalents, longest first so that `2006` wins
/// over `2` and `January` over `Jan`.
const GO_LAYOUT: &[(&str, &str)] = &[
    ("January", "%B"),
    ("Monday", "%A"),
    ("Z07:00", "%:z"),
    ("-07:00", "%:z"),
    ("-0700", "%z"),
    (".000000000", "%.9f"),
    (".000000", "%.6f"),
    (".000", "%.3f"),
    ("2006", "%Y"),
    ("Jan", "%b"),
    ("Mon", "%a"),
    ("MST", "%Z"),
    ("01", "%m"),
    ("02", "%d"),
    ("_2", "%e"),
    ("15", "%H"),
    ("03", "%I"),
    ("04", "%M"),
    ("05", "%S"),
    ("06", "%y"),
    ("PM", "%p"),
    ("pm", "%P"),
    ("1", "%-m"),
    ("2", "%-d"),
    ("3", "%-I"),
    ("4", "%-M"),
    ("5", "%-S"),
];

/// Translates a Go layout into a strftime format.
fn go_layout_to_strftime(layout: &str) -> String {
    let mut out = String::new();
    let mut rest = layout;
    'outer: while !rest.is_empty() {
        for (go, strf) in GO_LAYOUT {
            if let Some(after) = rest.strip_prefix(go) {
                out.push_str(strf);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().expect("non-empty");
        if c == '%' {
            out.push_str("%%");
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// `time | date(format=)`.
pub(crate) fn date(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<String> {
    let format = kwarg_string(&kwargs, "format")?;
    let time = parse_time(&value)?;
    let strftime = if format.contains('%') {
        format
    } else {
        go_layout_to_strftime(&format)
    };
    let mut out = String::new();
    use std::fmt::Write as _;
    write!(out, "{}", time.format(&strftime))
        .map_err(|_| Error::message(format!("date: invalid format `{strftime}`")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_layouts_translate() {
        assert_eq!(go_layout_to_strftime("2006-01-02"), "%Y-%m-%d");
        assert_eq!(
            go_layout_to_strftime("2006-01-02 15:04:05 Mon Jan"),
            "%Y-%m-%d %H:%M:%S %a %b"
        );
    }
}

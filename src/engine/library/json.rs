//! JSON with Go's `encoding/json` behaviour: sorted keys, `<>&` escaped as `\u003c` (not by
//! `toRawJson`), floats printed as Go prints them, and decoding errors in Go's words. helm's
//! `toJson`, `fromJson` and `fromJsonArray` replace sprig's (errors become `""`, an `Error`
//! key or a one-element list); the `must…` forms and `toPrettyJson`/`toRawJson` are sprig's.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::super::CallError;
use super::super::fmt::format_float;
use super::super::value::Value;
use super::super::{Funcs, arg_str};

pub fn register(f: &mut Funcs) {
    f.add("toJson", 1, |a| {
        Ok(Value::from(encode(&a[0], true, false).unwrap_or_default()))
    });
    f.add("mustToJson", 1, |a| {
        encode(&a[0], true, false)
            .map(Value::from)
            .map_err(CallError::from)
    });
    f.add("toPrettyJson", 1, |a| {
        Ok(Value::from(encode(&a[0], true, true).unwrap_or_default()))
    });
    f.add("mustToPrettyJson", 1, |a| {
        encode(&a[0], true, true)
            .map(Value::from)
            .map_err(CallError::from)
    });
    for name in ["toRawJson", "mustToRawJson"] {
        f.add(name, 1, |a| {
            encode(&a[0], false, false)
                .map(Value::from)
                .map_err(CallError::from)
        });
    }
    f.add("fromJson", 1, |a| {
        let text = arg_str(&a[0])?;
        let mut m = BTreeMap::new();
        match decode(&text) {
            Ok(Value::Map(parsed)) => return Ok(Value::Map(parsed)),
            Ok(Value::Nil) => {}
            Ok(other) => {
                m.insert("Error".to_string(), Value::from(mismatch(&other, MAP_TYPE)));
            }
            Err(e) => {
                m.insert("Error".to_string(), Value::from(e));
            }
        }
        Ok(Value::from(m))
    });
    f.add("fromJsonArray", 1, |a| {
        let text = arg_str(&a[0])?;
        Ok(match decode(&text) {
            Ok(list @ Value::List(_)) => list,
            Ok(Value::Nil) => Value::List(Rc::new(Vec::new())),
            Ok(other) => Value::from(vec![Value::from(mismatch(&other, "[]interface {}"))]),
            Err(e) => Value::from(vec![Value::from(e)]),
        })
    });
    f.add("mustFromJson", 1, |a| {
        let text = arg_str(&a[0])?;
        decode(&text).map_err(CallError::from)
    });
}

const MAP_TYPE: &str = "map[string]interface {}";

/// Go's `UnmarshalTypeError` text for a top-level value of the wrong JSON type.
fn mismatch(v: &Value, go_type: &str) -> String {
    let what = match v {
        Value::Bool(_) => "bool",
        Value::Float(_) | Value::Int(_) => "number",
        Value::Str(_) => "string",
        Value::List(_) => "array",
        _ => "object",
    };
    format!("json: cannot unmarshal {what} into Go value of type {go_type}")
}

// ---- encoding ----

/// `json.Marshal` (or `MarshalIndent` with two spaces when `pretty`); `escape_html` off is
/// the `SetEscapeHTML(false)` encoder `toRawJson` uses.
pub fn encode(v: &Value, escape_html: bool, pretty: bool) -> Result<String, String> {
    let mut out = String::new();
    write_value(v, &mut out, escape_html, pretty.then_some(0))?;
    Ok(out)
}

fn newline(out: &mut String, depth: usize) {
    out.push('\n');
    for _ in 0..depth {
        out.push_str("  ");
    }
}

fn write_value(
    v: &Value,
    out: &mut String,
    html: bool,
    depth: Option<usize>,
) -> Result<(), String> {
    match v {
        Value::Nil => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(n) => out.push_str(&n.to_string()),
        Value::Float(f) => out.push_str(&go_json_float(*f)?),
        Value::Str(s) => write_string(s, out, html),
        Value::Bytes(b) => {
            use base64::Engine as _;
            let text = base64::engine::general_purpose::STANDARD.encode(&**b);
            write_string(&text, out, html);
        }
        Value::List(items) => {
            if items.is_empty() {
                out.push_str("[]");
                return Ok(());
            }
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(d) = depth {
                    newline(out, d + 1);
                }
                write_value(item, out, html, depth.map(|d| d + 1))?;
            }
            if let Some(d) = depth {
                newline(out, d);
            }
            out.push(']');
        }
        Value::Map(map) => {
            let map = map.borrow();
            if map.is_empty() {
                out.push_str("{}");
                return Ok(());
            }
            out.push('{');
            for (i, (k, item)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                if let Some(d) = depth {
                    newline(out, d + 1);
                }
                write_string(k, out, html);
                out.push(':');
                if depth.is_some() {
                    out.push(' ');
                }
                write_value(item, out, html, depth.map(|d| d + 1))?;
            }
            if let Some(d) = depth {
                newline(out, d);
            }
            out.push('}');
        }
        Value::Object(o) => match o.as_data() {
            Value::Nil => out.push_str("{}"),
            data => write_value(&data, out, html, depth)?,
        },
    }
    Ok(())
}

/// A float64 as `encoding/json` writes it: `%f`-style between 1e-6 and 1e21, exponent form
/// outside (`1e-7`, `1e+21`).
pub fn go_json_float(f: f64) -> Result<String, String> {
    if f.is_nan() || f.is_infinite() {
        return Err(format!(
            "json: unsupported value: {}",
            format_float(f, 'g', -1)
        ));
    }
    let abs = f.abs();
    if abs != 0.0 && !(1e-6..1e21).contains(&abs) {
        let mut s = format_float(f, 'e', -1);
        // Go trims one leading zero of a negative two-digit exponent: e-07 → e-7.
        let n = s.len();
        if n >= 4 && &s[n - 4..n - 1] == "e-0" {
            s.remove(n - 2);
        }
        Ok(s)
    } else {
        Ok(format_float(f, 'f', -1))
    }
}

fn write_string(s: &str, out: &mut String, html: bool) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' if html => out.push_str(&format!("\\u{:04x}", c as u32)),
            '\u{2028}' | '\u{2029}' => out.push_str(&format!("\\u{:04x}", c as u32)),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

// ---- decoding ----

/// `json.Unmarshal` into `interface{}`: numbers become float64; syntax errors read as Go's.
pub fn decode(text: &str) -> Result<Value, String> {
    let mut p = Parser {
        b: text.as_bytes(),
        i: 0,
    };
    p.ws();
    let v = p.value(Ctx::Top)?;
    p.ws();
    if p.i < p.b.len() {
        return Err(p.invalid("after top-level value"));
    }
    Ok(v)
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

const END: &str = "unexpected end of JSON input";

/// Where a value sits, for the wording of the error after it.
#[derive(Clone, Copy)]
enum Ctx {
    Top,
    Array,
    Object,
}

/// Go's `quoteChar`: `'x'`, `'\''`, `'"'`, `'\n'`.
fn quote_char(c: char) -> String {
    match c {
        '\'' => "'\\''".into(),
        '"' => "'\"'".into(),
        c => {
            let q = super::super::fmt::quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    /// "invalid character 'c' `context`" for the character at the cursor (or end of input).
    fn invalid(&self, context: &str) -> String {
        if self.i >= self.b.len() {
            return END.into();
        }
        let c = std::str::from_utf8(&self.b[self.i..])
            .ok()
            .and_then(|s| s.chars().next())
            .unwrap_or_else(|| {
                String::from_utf8_lossy(&self.b[self.i..self.b.len().min(self.i + 4)])
                    .chars()
                    .next()
                    .unwrap_or('\u{fffd}')
            });
        format!("invalid character {} {context}", quote_char(c))
    }

    fn value(&mut self, ctx: Ctx) -> Result<Value, String> {
        let _ = ctx;
        match self.peek() {
            None => Err(END.into()),
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => self.string().map(Value::from),
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(self.invalid("looking for beginning of value")),
        }
    }

    fn literal(&mut self, word: &str, v: Value) -> Result<Value, String> {
        for (k, expected) in word.bytes().enumerate() {
            match self.peek() {
                None => return Err(END.into()),
                Some(c) if c == expected => self.i += 1,
                Some(_) => {
                    return Err(self.invalid(&format!(
                        "in literal {word} (expecting '{}')",
                        word.as_bytes()[k] as char
                    )));
                }
            }
        }
        Ok(v)
    }

    fn digits(&mut self) -> usize {
        let start = self.i;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.i += 1;
        }
        self.i - start
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
            match self.peek() {
                None => return Err(END.into()),
                Some(b'0'..=b'9') => {}
                Some(_) => return Err(self.invalid("in numeric literal")),
            }
        }
        if self.peek() == Some(b'0') {
            self.i += 1;
        } else {
            self.digits();
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if self.digits() == 0 {
                return Err(self.invalid("after decimal point in numeric literal"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if self.digits() == 0 {
                return Err(self.invalid("in exponent of numeric literal"));
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap_or("0");
        let f: f64 = text.parse().unwrap_or(0.0);
        if f.is_infinite() {
            return Err(format!(
                "json: cannot unmarshal number {text} into Go value of type float64"
            ));
        }
        Ok(Value::Float(f))
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let mut n = 0u32;
        for _ in 0..4 {
            match self.peek() {
                None => return Err(END.into()),
                Some(c) if c.is_ascii_hexdigit() => {
                    n = n * 16 + (c as char).to_digit(16).unwrap_or(0);
                    self.i += 1;
                }
                Some(_) => return Err(self.invalid("in \\u hexadecimal character escape")),
            }
        }
        Ok(n)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let Some(c) = self.peek() else {
                return Err(END.into());
            };
            match c {
                b'"' => {
                    self.i += 1;
                    return Ok(String::from_utf8_lossy(&out).into_owned());
                }
                b'\\' => {
                    self.i += 1;
                    let Some(e) = self.peek() else {
                        return Err(END.into());
                    };
                    let simple = match e {
                        b'"' => Some(b'"'),
                        b'\\' => Some(b'\\'),
                        b'/' => Some(b'/'),
                        b'b' => Some(8),
                        b'f' => Some(12),
                        b'n' => Some(b'\n'),
                        b'r' => Some(b'\r'),
                        b't' => Some(b'\t'),
                        b'u' => None,
                        _ => return Err(self.invalid("in string escape code")),
                    };
                    self.i += 1;
                    if let Some(s) = simple {
                        out.push(s);
                        continue;
                    }
                    let mut cp = self.hex4()?;
                    if (0xD800..0xDC00).contains(&cp)
                        && self.b.get(self.i) == Some(&b'\\')
                        && self.b.get(self.i + 1) == Some(&b'u')
                    {
                        let save = self.i;
                        self.i += 2;
                        let lo = self.hex4()?;
                        if (0xDC00..0xE000).contains(&lo) {
                            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        } else {
                            self.i = save;
                        }
                    }
                    let ch = char::from_u32(cp).unwrap_or('\u{fffd}');
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
                c if c < 0x20 => return Err(self.invalid("in string literal")),
                c => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }

    fn array(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::List(Rc::new(items)));
        }
        loop {
            self.ws();
            items.push(self.value(Ctx::Array)?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::List(Rc::new(items)));
                }
                _ => return Err(self.invalid("after array element")),
            }
        }
    }

    fn object(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut map = BTreeMap::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::from(map));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.invalid("looking for beginning of object key string"));
            }
            let key = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.invalid("after object key"));
            }
            self.i += 1;
            self.ws();
            let v = self.value(Ctx::Object)?;
            map.insert(key, v);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::from(map));
                }
                _ => return Err(self.invalid("after object key:value pair")),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::gotmpl::tests::render_plain as r;

    /// Each expectation was checked against helm 4.1.4.
    #[test]
    fn json_encodes_like_go() {
        assert_eq!(
            r(
                r#"{{ toJson 1e-7 }} {{ toJson 1e21 }} {{ toJson 123456789.0 }} {{ toJson "<a&b>\u2028\b\f\x01" }} {{ toRawJson "<a&b>\u2028" }}"#
            ),
            r#"1e-7 1e+21 123456789 "\u003ca\u0026b\u003e\u2028\b\f\u0001" "<a&b>\u2028""#
        );
        assert_eq!(
            r(
                r#"{{ toJson (dict "b" (list 1.5 1e-7 100000000000000000000.0 -0.0 "x\ty") "a" nil) }}"#
            ),
            r#"{"a":null,"b":[1.5,1e-7,100000000000000000000,-0,"x\ty"]}"#
        );
        assert_eq!(
            r(r#"{{ toPrettyJson (dict "a" (list 1 (dict)) "b" (list) "c" (dict "x" 1)) }}"#),
            "{\n  \"a\": [\n    1,\n    {}\n  ],\n  \"b\": [],\n  \"c\": {\n    \"x\": 1\n  }\n}"
        );
    }

    #[test]
    fn json_decodes_like_helm() {
        assert_eq!(
            r(
                r#"{{ fromJson "{\"a\": 1, \"b\": [1, \"x\", null]}" }}|{{ fromJson "[1]" }}|{{ fromJson "{bad" }}|{{ fromJson "" }}|{{ fromJson "{\"a\":1} x" }}|{{ fromJson "null" }}"#
            ),
            "map[a:1 b:[1 x <nil>]]|map[Error:json: cannot unmarshal array into Go value of type map[string]interface {}]|map[Error:invalid character 'b' looking for beginning of object key string]|map[Error:unexpected end of JSON input]|map[Error:invalid character 'x' after top-level value]|map[]"
        );
        assert_eq!(
            r(
                r#"{{ fromJsonArray "[1, {\"a\": 2}]" }}|{{ fromJsonArray "{}" }}|{{ fromJsonArray "[1,]" }}|{{ fromJsonArray "[01]" }}|{{ fromJsonArray "[\"a\nb\"]" }}|{{ fromJsonArray "[tru]" }}|{{ fromJsonArray "[1.e5]" }}|{{ fromJsonArray "[\"\\x\"]" }}"#
            ),
            r"[1 map[a:2]]|[json: cannot unmarshal object into Go value of type []interface {}]|[invalid character ']' looking for beginning of value]|[invalid character '1' after array element]|[invalid character '\n' in string literal]|[invalid character ']' in literal true (expecting 'e')]|[invalid character 'e' after decimal point in numeric literal]|[invalid character 'x' in string escape code]"
        );
        assert!(
            r(r#"{{ mustFromJson "{\"a\" 1}" }}"#)
                .ends_with("invalid character '1' after object key")
        );
        assert!(r(r#"{{ mustToJson (float64 "NaN") }}"#).ends_with("json: unsupported value: NaN"));
        assert_eq!(r(r#"[{{ toJson (float64 "NaN") }}]"#), "[]");
        assert_eq!(
            r(r#"{{ (mustFromJson "{\"a\":[2]}").a }}|{{ typeOf (mustFromJson "2") }}"#),
            "[2]|float64"
        );
    }
}

//! The `--set` family's `name=value` syntax, with the semantics of helm's `strvals` package:
//! `a=b,c=d`, dotted paths, `list[0]=x` (gaps become null), `name={a,b,c}`, backslash escapes,
//! typed ints/bools/null for `--set`, strings for `--set-string`, JSON for `--set-json`, the
//! rest of the line for `--set-literal` and file contents for `--set-file`.

use super::Values;
use serde_json::{Map, Value};
use std::path::PathBuf;

/// helm's limit on a list index (`a[65537]=x` is refused).
pub const MAX_INDEX: usize = 65536;
/// helm's limit on dotted nesting of a name (`a.b.c…` deeper than this is refused).
pub const MAX_NESTED_NAME_LEVEL: usize = 30;

/// Which flag a `name=value` line came from; decides how values are interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseMode {
    /// `--set`: `true`/`false`/`null` and integers (no leading zero) are typed, all else strings.
    Typed,
    /// `--set-string`: every value is a string.
    String,
    /// `--set-json`: every value is a JSON document.
    Json,
    /// `--set-file`: every value is a path whose file content becomes the string value.
    File,
    /// `--set-literal`: one `name=value` whose value is everything after the first `=`.
    Literal,
}

/// A `--set`-family line that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StrvalsError {
    #[error("key {0:?} has no value")]
    NoValue(String),
    #[error("key {0:?} has no value (cannot end with ,)")]
    EndsWithComma(String),
    #[error("key map {0:?} has no value")]
    EmptyKeyMap(String),
    #[error("error parsing index: {0}")]
    BadIndex(String),
    #[error("negative {0} index not allowed")]
    NegativeIndex(i64),
    #[error("index of {0} is greater than maximum supported index of {MAX_INDEX}")]
    IndexTooLarge(i64),
    #[error(
        "value name nested level is greater than maximum supported nested level of {MAX_NESTED_NAME_LEVEL}"
    )]
    TooDeep,
    #[error("unexpected data at end of array index: {0:?}")]
    AfterIndex(String),
    #[error("list must terminate with '}}'")]
    UnterminatedList,
    #[error("unable to parse key: {0:?} is {1}, not {2}")]
    TypeMismatch(String, &'static str, &'static str),
    #[error("invalid JSON value: {0}")]
    Json(String),
    #[error("cannot read {path}: {reason}")]
    File { path: String, reason: String },
}

/// Parses one flag's line into `dest`, overwriting what is there (helm's `ParseInto` family).
pub fn parse_into(s: &str, dest: &mut Values, mode: ParseMode) -> Result<(), StrvalsError> {
    let mut parser = Parser {
        chars: s.chars().collect(),
        pos: 0,
        mode,
    };
    loop {
        match parser.key(dest, 0) {
            Ok(()) => continue,
            Err(Failure::Eof) => return Ok(()),
            Err(Failure::Error(e)) => return Err(e),
        }
    }
}

/// Parses a line into a fresh map (helm's `strvals.Parse`).
pub fn parse(s: &str, mode: ParseMode) -> Result<Values, StrvalsError> {
    let mut out = Map::new();
    parse_into(s, &mut out, mode)?;
    Ok(out)
}

/// End of input (which is how a well-formed line finishes) or a real error.
enum Failure {
    Eof,
    Error(StrvalsError),
}

impl From<StrvalsError> for Failure {
    fn from(e: StrvalsError) -> Self {
        Failure::Error(e)
    }
}

/// A value read before the line's `,`: either the rest of the line ended there or a stop.
struct Until {
    text: String,
    stop: Option<char>,
}

struct Parser {
    chars: Vec<char>,
    pos: usize,
    mode: ParseMode,
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a map",
    }
}

impl Parser {
    fn literal(&self) -> bool {
        self.mode == ParseMode::Literal
    }

    /// Reads up to (and consumes) the first unescaped stop character.
    fn until(&mut self, stops: &[char]) -> Until {
        let mut text = String::new();
        while let Some(&c) = self.chars.get(self.pos) {
            self.pos += 1;
            if stops.contains(&c) {
                return Until {
                    text,
                    stop: Some(c),
                };
            }
            if c == '\\' && !self.literal() {
                match self.chars.get(self.pos) {
                    Some(&next) => {
                        self.pos += 1;
                        text.push(next);
                    }
                    None => return Until { text, stop: None },
                }
            } else {
                text.push(c);
            }
        }
        Until { text, stop: None }
    }

    fn key(&mut self, data: &mut Values, level: usize) -> Result<(), Failure> {
        let stops: &[char] = if self.literal() {
            &['=', '[', '.']
        } else {
            &['=', '[', ',', '.']
        };
        let Until { text: k, stop } = self.until(stops);
        match stop {
            None if k.is_empty() => Err(Failure::Eof),
            None => Err(StrvalsError::NoValue(k).into()),
            Some('[') => {
                let index = self.key_index()?;
                let list = match data.get(&k) {
                    None => Vec::new(),
                    Some(Value::Array(list)) => list.clone(),
                    Some(other) => {
                        return Err(StrvalsError::TypeMismatch(k, kind_of(other), "a list").into());
                    }
                };
                let (list, result) = self.list_item(list, index, level);
                set(data, &k, Value::Array(list));
                result
            }
            Some('=') => self.key_value(data, k),
            Some(',') => {
                set(data, &k, Value::String(String::new()));
                Err(StrvalsError::EndsWithComma(k).into())
            }
            Some(_) => {
                let level = level + 1;
                if level > MAX_NESTED_NAME_LEVEL {
                    return Err(StrvalsError::TooDeep.into());
                }
                let mut inner = match data.get(&k) {
                    None => Map::new(),
                    Some(Value::Object(map)) => map.clone(),
                    Some(other) => {
                        return Err(StrvalsError::TypeMismatch(k, kind_of(other), "a map").into());
                    }
                };
                let result = self.key(&mut inner, level);
                if result.is_ok() && inner.is_empty() {
                    return Err(StrvalsError::EmptyKeyMap(k).into());
                }
                if !inner.is_empty() {
                    set(data, &k, Value::Object(inner));
                }
                result
            }
        }
    }

    /// After `name=`: the value, per mode.
    fn key_value(&mut self, data: &mut Values, k: String) -> Result<(), Failure> {
        match self.mode {
            ParseMode::Literal => {
                let rest: String = self.chars[self.pos..].iter().collect();
                self.pos = self.chars.len();
                set(data, &k, Value::String(rest));
                Ok(())
            }
            ParseMode::Json => {
                let value = self.json_value()?;
                set(data, &k, value);
                Ok(())
            }
            _ => match self.value_list()? {
                ListOrNot::Eof => {
                    set(data, &k, Value::String(String::new()));
                    Err(Failure::Eof)
                }
                ListOrNot::List(list, result) => {
                    set(data, &k, Value::Array(list));
                    result.map_err(Failure::from)
                }
                ListOrNot::NotList => {
                    let raw = self.until(&[',']).text;
                    let value = self.convert(&raw)?;
                    set(data, &k, value);
                    Ok(())
                }
            },
        }
    }

    fn key_index(&mut self) -> Result<i64, StrvalsError> {
        let Until { text, stop } = self.until(&[']']);
        if stop.is_none() {
            return Err(StrvalsError::BadIndex("EOF".to_string()));
        }
        parse_go_atoi(&text).ok_or_else(|| {
            StrvalsError::BadIndex(format!("strconv.Atoi: parsing {text:?}: invalid syntax"))
        })
    }

    /// After `name[i]`: the rest of the item; returns the (possibly updated) list.
    fn list_item(
        &mut self,
        mut list: Vec<Value>,
        i: i64,
        level: usize,
    ) -> (Vec<Value>, Result<(), Failure>) {
        if i < 0 {
            return (list, Err(StrvalsError::NegativeIndex(i).into()));
        }
        let Until { text, stop } = self.until(&['[', '.', '=']);
        if !text.is_empty() {
            return (list, Err(StrvalsError::AfterIndex(text).into()));
        }
        match stop {
            None => (list, Err(Failure::Eof)),
            Some('=') => {
                let value = match self.mode {
                    ParseMode::Literal => {
                        let rest: String = self.chars[self.pos..].iter().collect();
                        self.pos = self.chars.len();
                        Value::String(rest)
                    }
                    ParseMode::Json => match self.json_value() {
                        Ok(v) => v,
                        Err(e) => return (list, Err(e)),
                    },
                    _ => match self.value_list() {
                        Err(e) => return (list, Err(e)),
                        Ok(ListOrNot::Eof) => Value::String(String::new()),
                        Ok(ListOrNot::List(items, Ok(()))) => Value::Array(items),
                        Ok(ListOrNot::List(_, Err(e))) => return (list, Err(e.into())),
                        Ok(ListOrNot::NotList) => {
                            let raw = self.until(&[',']).text;
                            match self.convert(&raw) {
                                Ok(v) => v,
                                Err(e) => return (list, Err(e.into())),
                            }
                        }
                    },
                };
                set_index(list, i, value)
            }
            Some('[') => {
                let next = match self.key_index() {
                    Ok(n) => n,
                    Err(e) => return (list, Err(e.into())),
                };
                let current = match list.get(i as usize) {
                    None | Some(Value::Null) => Vec::new(),
                    Some(Value::Array(inner)) => inner.clone(),
                    Some(other) => {
                        let e =
                            StrvalsError::TypeMismatch(format!("[{i}]"), kind_of(other), "a list");
                        return (list, Err(e.into()));
                    }
                };
                let (inner, result) = self.list_item(current, next, level);
                if let Err(e) = result {
                    return (list, Err(e));
                }
                set_index(list, i, Value::Array(inner))
            }
            Some(_) => {
                let mut inner = match list.get_mut(i as usize) {
                    Some(Value::Object(map)) => std::mem::take(map),
                    _ => Map::new(),
                };
                if let Err(e) = self.key(&mut inner, level) {
                    return (list, Err(e));
                }
                set_index(list, i, Value::Object(inner))
            }
        }
    }

    /// `{a,b,c}` after `=`; anything else is left unread.
    fn value_list(&mut self) -> Result<ListOrNot, Failure> {
        match self.chars.get(self.pos) {
            None => return Ok(ListOrNot::Eof),
            Some('{') => self.pos += 1,
            Some(_) => return Ok(ListOrNot::NotList),
        }
        let mut list = Vec::new();
        loop {
            let Until { text, stop } = self.until(&[',', '}']);
            match stop {
                None => return Ok(ListOrNot::List(list, Err(StrvalsError::UnterminatedList))),
                Some('}') => {
                    if self.chars.get(self.pos) == Some(&',') {
                        self.pos += 1;
                    }
                    return Ok(match self.convert(&text) {
                        Ok(v) => {
                            list.push(v);
                            ListOrNot::List(list, Ok(()))
                        }
                        Err(e) => ListOrNot::List(list, Err(e)),
                    });
                }
                Some(_) => list.push(self.convert(&text)?),
            }
        }
    }

    /// A JSON value after `=` (empty means null), then optional blanks and one comma.
    fn json_value(&mut self) -> Result<Value, Failure> {
        if self.skip_empty() {
            return Ok(Value::Null);
        }
        let rest: String = self.chars[self.pos..].iter().collect();
        let mut stream = serde_json::Deserializer::from_str(&rest).into_iter::<Value>();
        let value = match stream.next() {
            Some(Ok(value)) => value,
            Some(Err(e)) => return Err(StrvalsError::Json(e.to_string()).into()),
            None => return Err(StrvalsError::Json("unexpected end of input".into()).into()),
        };
        let consumed = rest[..stream.byte_offset()].chars().count();
        self.pos += consumed;
        self.skip_empty();
        Ok(value)
    }

    /// Skips blanks up to a comma (consumed) or the end: true if the value there is empty.
    fn skip_empty(&mut self) -> bool {
        while let Some(&c) = self.chars.get(self.pos) {
            if c == ',' {
                self.pos += 1;
                return true;
            }
            if !c.is_whitespace() {
                return false;
            }
            self.pos += 1;
        }
        true
    }

    fn convert(&self, raw: &str) -> Result<Value, StrvalsError> {
        match self.mode {
            ParseMode::File => {
                let path = PathBuf::from(raw);
                std::fs::read(&path)
                    .map(|bytes| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
                    .map_err(|e| StrvalsError::File {
                        path: raw.to_string(),
                        reason: super::io_reason(&e),
                    })
            }
            ParseMode::String | ParseMode::Literal | ParseMode::Json => {
                Ok(Value::String(raw.to_string()))
            }
            ParseMode::Typed => Ok(typed_value(raw)),
        }
    }
}

enum ListOrNot {
    Eof,
    NotList,
    List(Vec<Value>, Result<(), StrvalsError>),
}

/// helm ignores an empty name (`.a=1` sets nothing).
fn set(data: &mut Values, key: &str, value: Value) {
    if !key.is_empty() {
        data.insert(key.to_string(), value);
    }
}

fn set_index(mut list: Vec<Value>, i: i64, value: Value) -> (Vec<Value>, Result<(), Failure>) {
    if i < 0 {
        return (list, Err(StrvalsError::NegativeIndex(i).into()));
    }
    if i as u64 > MAX_INDEX as u64 {
        return (list, Err(StrvalsError::IndexTooLarge(i).into()));
    }
    let i = i as usize;
    if list.len() <= i {
        list.resize(i + 1, Value::Null);
    }
    list[i] = value;
    (list, Ok(()))
}

/// Go's `strconv.Atoi`: optional sign and decimal digits only.
fn parse_go_atoi(s: &str) -> Option<i64> {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

/// `--set` typing: booleans and null (any case), `0`, and integers not starting with `0`.
fn typed_value(raw: &str) -> Value {
    if raw.eq_ignore_ascii_case("true") {
        return Value::Bool(true);
    }
    if raw.eq_ignore_ascii_case("false") {
        return Value::Bool(false);
    }
    if raw.eq_ignore_ascii_case("null") {
        return Value::Null;
    }
    if raw == "0" {
        return Value::from(0);
    }
    if !raw.is_empty()
        && !raw.starts_with('0')
        && let Some(i) = parse_go_atoi(raw)
    {
        return Value::from(i);
    }
    Value::String(raw.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn typed(s: &str) -> Value {
        Value::Object(parse(s, ParseMode::Typed).unwrap())
    }

    #[test]
    fn pairs_paths_and_typing() {
        assert_eq!(
            typed("a=b,c.d.e=1,f=true,g=FALSE,h=null,i=007,j=1.5,k=0,l=-3,m=+4"),
            json!({"a": "b", "c": {"d": {"e": 1}}, "f": true, "g": false, "h": null,
                   "i": "007", "j": "1.5", "k": 0, "l": -3, "m": 4})
        );
    }

    #[test]
    fn lists_with_gaps_and_nesting() {
        assert_eq!(
            typed("a[2]=x,b[0].c=1,b[0].d=2,n[1][1]=z"),
            json!({"a": [null, null, "x"], "b": [{"c": 1, "d": 2}], "n": [null, [null, "z"]]})
        );
        assert_eq!(typed("l={a, b,1}"), json!({"l": ["a", " b", 1]}));
        assert_eq!(typed("l={}"), json!({"l": [""]}));
    }

    #[test]
    fn escapes_keep_dots_and_commas() {
        assert_eq!(
            typed(r"a\.b=c\,d,e=f\=g"),
            json!({"a.b": "c,d", "e": "f=g"})
        );
    }

    #[test]
    fn string_mode_never_types() {
        assert_eq!(
            Value::Object(parse("a=1,b=true,c=null", ParseMode::String).unwrap()),
            json!({"a": "1", "b": "true", "c": "null"})
        );
    }

    #[test]
    fn json_mode_parses_documents() {
        assert_eq!(
            Value::Object(
                parse(r#"a=[1,{"b":2}],c="x,y",d={"e":null},f="#, ParseMode::Json).unwrap()
            ),
            json!({"a": [1, {"b": 2}], "c": "x,y", "d": {"e": null}, "f": null})
        );
        assert!(parse("a={bad", ParseMode::Json).is_err());
    }

    #[test]
    fn literal_mode_takes_the_rest_verbatim() {
        assert_eq!(
            Value::Object(parse(r"a.b=x,y=z\n{1}", ParseMode::Literal).unwrap()),
            json!({"a": {"b": r"x,y=z\n{1}"}})
        );
    }

    #[test]
    fn malformed_lines_fail() {
        for bad in [
            "a",
            "a=1,b",
            "a,b=1",
            "a.=1",
            "a[x]=1",
            "a[-1]=1",
            "a[65537]=1",
            "a[0]x=1",
            "a={1,2",
            "a=1,a.b=2",
        ] {
            assert!(parse(bad, ParseMode::Typed).is_err(), "{bad} should fail");
        }
        let deep = format!("{}=1", vec!["k"; 32].join("."));
        assert_eq!(parse(&deep, ParseMode::Typed), Err(StrvalsError::TooDeep));
    }

    #[test]
    fn later_values_overwrite_into_existing_maps() {
        let mut dest = json!({"a": {"x": 1}, "l": [1, 2, 3]})
            .as_object()
            .cloned()
            .unwrap();
        parse_into("a.y=2,l[1]=9", &mut dest, ParseMode::Typed).unwrap();
        assert_eq!(
            Value::Object(dest),
            json!({"a": {"x": 1, "y": 2}, "l": [1, 9, 3]})
        );
    }
}

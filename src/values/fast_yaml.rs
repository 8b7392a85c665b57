//! A fast reader for YAML of the usual shape: values files and rendered manifests.
//! serde_yaml (libyaml) needs ~0.6 s for a 6 MB values file and most of a large chart's
//! render time to check its manifests; nearly all of them are block mappings and block
//! sequences of one-line scalars, one-line flow collections and literal block scalars, which
//! this reader takes in one pass over the bytes. Whatever lies outside that shape — anchors,
//! tags, folded scalars, multi-line plain or quoted scalars, several documents, tabs, rare
//! escapes, and anything libyaml might read another way — makes it give up, and the caller
//! reads the text with serde_yaml as before. Scalars resolve by the serde_yaml path's own
//! rules (serde_yaml's YAML 1.2 first, then, for values, helm's YAML 1.1 via [`super::yaml`]),
//! so the two readers agree on every text this one accepts; the tests hold it to that on
//! generated and mutated texts and on real charts' values.

use std::borrow::Cow;

use serde_json::{Map, Number, Value};

use super::yaml::{finite, key_string, preceded_by_tag, yaml11_non_string};

/// Not this reader's shape: read the text with serde_yaml.
struct GiveUp;

type Read<T> = Result<T, GiveUp>;

/// Deeper nesting is left to serde_yaml (and its recursion limit).
const MAX_DEPTH: usize = 100;
/// libyaml refuses implicit keys longer than 1024 characters.
const MAX_KEY: usize = 1000;

/// The values in `text` when it is a single block mapping of the usual shape; `None` means
/// "read it with serde_yaml".
pub(super) fn read(text: &str) -> Option<Value> {
    read_mapping(text, Scalars::HelmValues, false).map(Value::Object)
}

/// The object in `text` when it is a single block mapping of the usual shape, exactly as
/// `serde_yaml::from_str::<serde_json::Value>` reads it (YAML 1.2 scalars, keys as
/// written); `None` means "read it with serde_yaml". The tests hold
/// [`read_object_header`] to this.
#[cfg(test)]
fn read_object(text: &str) -> Option<Map<String, Value>> {
    read_mapping(text, Scalars::Json, false)
}

/// The top-level keys of a Kubernetes object a rendered manifest must be read for.
const HEADER: [&str; 3] = ["apiVersion", "kind", "metadata"];

/// [`read_object`] keeping only the [`HEADER`] entries: the rest is checked, not built.
pub(crate) fn read_object_header(text: &str) -> Option<Map<String, Value>> {
    read_mapping(text, Scalars::Json, true)
}

/// How plain scalars read.
#[derive(Clone, Copy, PartialEq)]
enum Scalars {
    /// As helm reads values files: YAML 1.2, then YAML 1.1's booleans and numbers for what
    /// that leaves a string; keys are the string form of their value.
    HelmValues,
    /// As serde_yaml reads into `serde_json::Value`: YAML 1.2 only; keys as written.
    Json,
}

fn read_mapping(text: &str, scalars: Scalars, header_only: bool) -> Option<Map<String, Value>> {
    if !plain_characters(text.as_bytes()) {
        return None;
    }
    let mut reader = Reader {
        src: text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
        scalars,
        header_only,
        build: true,
    };
    let first = reader.peek_line().ok()??;
    let root = reader.mapping(first.indent, None).ok()?;
    match reader.peek_line() {
        Ok(None) => Some(root),
        _ => None,
    }
}

/// No tab, carriage return, control character, byte-order mark or Unicode line break (libyaml
/// has rules of its own for each).
fn plain_characters(bytes: &[u8]) -> bool {
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b < 0x20 && b != b'\n' || b == 0x7f {
            return false;
        }
        if b >= 0x80 {
            let next = |k: usize| bytes.get(i + k).copied().unwrap_or(0);
            let refused = match b {
                0xc2 => (0x80..=0x9f).contains(&next(1)),
                0xe2 => next(1) == 0x80 && matches!(next(2), 0xa8 | 0xa9),
                0xef => matches!(
                    (next(1), next(2)),
                    (0xbb, 0xbf) | (0xbf, 0xbe) | (0xbf, 0xbf)
                ),
                _ => false,
            };
            if refused {
                return false;
            }
        }
        i += 1;
    }
    true
}

/// One line holding more than blanks or a comment.
#[derive(Clone, Copy)]
struct Line {
    indent: usize,
    /// Index of its first non-blank byte.
    content: usize,
}

struct Reader<'s> {
    src: &'s str,
    bytes: &'s [u8],
    /// The start of the next line to read.
    pos: usize,
    depth: usize,
    scalars: Scalars,
    /// Build only the [`HEADER`] entries of the top-level mapping.
    header_only: bool,
    /// Whether the node being read is kept (else it is only checked, and reads as null).
    build: bool,
}

impl<'s> Reader<'s> {
    fn at(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(b'\n')
    }

    fn is_blank(&self, i: usize) -> bool {
        matches!(self.at(i), b' ' | b'\n')
    }

    fn skip_spaces(&self, mut i: usize) -> usize {
        while self.at(i) == b' ' {
            i += 1;
        }
        i
    }

    fn line_end(&self, i: usize) -> usize {
        self.bytes[i.min(self.bytes.len())..]
            .iter()
            .position(|&b| b == b'\n')
            .map_or(self.bytes.len(), |p| i + p)
    }

    /// The next line with content, skipping blank and comment lines; a document marker or
    /// directive gives up.
    fn peek_line(&mut self) -> Read<Option<Line>> {
        let mut start = self.pos;
        while start < self.bytes.len() {
            let content = self.skip_spaces(start);
            match self.at(content) {
                b'\n' | b'#' => {
                    start = self.line_end(content) + 1;
                    self.pos = start;
                }
                _ => {
                    if content == start {
                        let head = &self.bytes[start..];
                        let marker = (head.starts_with(b"---") || head.starts_with(b"..."))
                            && self.is_blank(start + 3);
                        if marker || head[0] == b'%' {
                            return Err(GiveUp);
                        }
                    }
                    return Ok(Some(Line {
                        indent: content - start,
                        content,
                    }));
                }
            }
        }
        Ok(None)
    }

    fn is_entry(&self, line: Line) -> bool {
        self.at(line.content) == b'-' && self.is_blank(line.content + 1)
    }

    fn descend(&mut self) -> Read<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// A block mapping whose keys sit at column `indent`; `first` is its first key, already
    /// read, when that starts mid-line (`- name: x` in a sequence), with the index after its
    /// `:`.
    fn mapping(
        &mut self,
        indent: usize,
        mut first: Option<(Cow<'s, str>, usize)>,
    ) -> Read<Map<String, Value>> {
        self.descend()?;
        let mut map = Map::new();
        loop {
            let (key, after_colon) = match first.take() {
                Some(key) => key,
                None => match self.peek_line()? {
                    Some(line) if line.indent == indent => self.key(line.content)?.ok_or(GiveUp)?,
                    Some(line) if line.indent > indent => return Err(GiveUp),
                    _ => break,
                },
            };
            let outer = self.build;
            self.build =
                outer && !(self.header_only && self.depth == 1 && !HEADER.contains(&&*key));
            let value = self.value_after(indent, after_colon, true)?;
            if self.build {
                map.insert(key.into_owned(), value);
            }
            self.build = outer;
        }
        self.depth -= 1;
        Ok(map)
    }

    /// A block sequence whose `-` sit at column `indent`.
    fn sequence(&mut self, indent: usize) -> Read<Vec<Value>> {
        self.descend()?;
        let mut items = Vec::new();
        loop {
            let line = match self.peek_line()? {
                Some(line) if line.indent == indent && self.is_entry(line) => line,
                Some(line) if line.indent > indent => return Err(GiveUp),
                _ => break,
            };
            let at = self.skip_spaces(line.content + 1);
            let item = match self.at(at) {
                b'\n' | b'#' | b'|' => self.value_after(indent, at, false)?,
                b'-' if self.is_blank(at + 1) => return Err(GiveUp),
                _ => match self.key(at)? {
                    Some(key) => {
                        Value::Object(self.mapping(at - (line.content - line.indent), Some(key))?)
                    }
                    None => self.value_after(indent, at, false)?,
                },
            };
            if self.build {
                items.push(item);
            }
        }
        self.depth -= 1;
        Ok(items)
    }

    /// The value that starts at `at` (after `key:` or `-`) of a node whose parent sits at
    /// column `indent`: inline on this line, or a block on the lines below, or null.
    fn value_after(&mut self, indent: usize, at: usize, in_mapping: bool) -> Read<Value> {
        let at = self.skip_spaces(at);
        if self.at(at) == b'|' {
            let text = self.literal(indent, at)?;
            return Ok(self.string(Cow::Owned(text)));
        }
        if !matches!(self.at(at), b'\n' | b'#') {
            let (value, end) = self.node(at, false)?;
            self.finish_line(end)?;
            return Ok(value);
        }
        if self.at(at) == b'#' && !self.is_blank(at - 1) {
            return Err(GiveUp);
        }
        self.pos = self.line_end(at) + 1;
        Ok(match self.peek_line()? {
            Some(line) if line.indent > indent => {
                if self.is_entry(line) {
                    Value::Array(self.sequence(line.indent)?)
                } else {
                    Value::Object(self.mapping(line.indent, None)?)
                }
            }
            Some(line) if in_mapping && line.indent == indent && self.is_entry(line) => {
                Value::Array(self.sequence(line.indent)?)
            }
            _ => Value::Null,
        })
    }

    /// A literal block scalar (`|`, `|-`, `|+`) whose indicator is at `at`, of a node whose
    /// parent sits at column `indent`. Its indentation is that of its first line with text;
    /// an indentation indicator, a comment after the indicator, an empty scalar, or leading
    /// blank lines wider than the text give up.
    fn literal(&mut self, indent: usize, at: usize) -> Read<String> {
        let chomp = self.at(at + 1);
        let after = at + 1 + usize::from(matches!(chomp, b'-' | b'+'));
        let rest = self.skip_spaces(after);
        if self.at(rest) != b'\n' || rest >= self.bytes.len() {
            return Err(GiveUp);
        }
        let len = self.bytes.len();
        // Leading blank lines, then the first line with text sets the indentation.
        let mut start = rest + 1;
        let mut newlines = 0;
        let mut widest_blank = 0;
        let width = loop {
            let text = self.skip_spaces(start);
            if text >= len {
                return Err(GiveUp);
            }
            if self.bytes[text] != b'\n' {
                break text - start;
            }
            widest_blank = widest_blank.max(text - start);
            newlines += 1;
            start = text + 1;
        };
        if width <= indent || widest_blank > width {
            return Err(GiveUp);
        }
        let mut out = String::new();
        while start < len {
            let mut text = start;
            while text < start + width && self.at(text) == b' ' {
                text += 1;
            }
            if text >= len {
                break;
            }
            if self.bytes[text] == b'\n' {
                newlines += 1;
                start = text + 1;
                continue;
            }
            if text < start + width {
                break;
            }
            let end = self.line_end(text);
            if self.build {
                out.extend(std::iter::repeat_n('\n', newlines));
                out.push_str(&self.src[text..end]);
            }
            newlines = usize::from(end < len);
            start = end + 1;
        }
        match chomp {
            _ if !self.build => {}
            b'-' => {}
            b'+' => out.extend(std::iter::repeat_n('\n', newlines)),
            _ if newlines > 0 => out.push('\n'),
            _ => {}
        }
        self.pos = start.min(len);
        Ok(out)
    }

    /// After an inline value ending at `end`: only blanks and a comment may follow on its line.
    fn finish_line(&mut self, end: usize) -> Read<()> {
        let rest = self.skip_spaces(end);
        match self.at(rest) {
            b'\n' => {}
            b'#' if rest > end => {}
            _ => return Err(GiveUp),
        }
        self.pos = self.line_end(rest) + 1;
        Ok(())
    }

    /// The mapping key starting at `at` and the index after its `:`, or `None` when what
    /// starts there is no key (a scalar value).
    fn key(&self, at: usize) -> Read<Option<(Cow<'s, str>, usize)>> {
        let (key, end) = match self.at(at) {
            b'"' | b'\'' => {
                let (text, end) = self.quoted(at)?;
                (text, self.skip_spaces(end))
            }
            b'[' | b'{' => return Ok(None),
            _ => {
                let Some(colon) = self.plain_key_end(at)? else {
                    return Ok(None);
                };
                let src: &'s str = self.src;
                let text = src[at..colon].trim_end_matches(' ');
                (self.plain_key(at, text)?, colon)
            }
        };
        if self.at(end) != b':' || !self.is_blank(end + 1) {
            // A quoted scalar that is a value, not a key.
            return Ok(None);
        }
        if end - at > MAX_KEY {
            return Err(GiveUp);
        }
        Ok(Some((key, end + 1)))
    }

    /// Where the `:` of a plain key starting at `at` is, if the plain scalar there is a key.
    fn plain_key_end(&self, at: usize) -> Read<Option<usize>> {
        let (end, colon) = self.plain_end(at, false)?;
        Ok(colon.then_some(end))
    }

    /// Where the plain scalar starting at `at` ends (before trailing blanks), and whether a
    /// `: ` ends it (it is a key). Gives up where libyaml's reading is not this one's.
    fn plain_end(&self, at: usize, flow: bool) -> Read<(usize, bool)> {
        self.check_plain_start(at, flow)?;
        let mut i = at;
        loop {
            match self.at(i) {
                b':' if self.is_blank(i + 1) => return Ok((i, true)),
                b'#' if self.at(i - 1) == b' ' && !flow => return Ok((i, false)),
                b'\n' if !flow => return Ok((i, false)),
                b',' | b'[' | b']' | b'{' | b'}' if flow => return Ok((i, false)),
                b':' if flow && b",[]{}?".contains(&self.at(i + 1)) => return Err(GiveUp),
                // In a flow: a comment or line end (it goes on below), or `?`.
                b'#' if self.at(i - 1) == b' ' => return Err(GiveUp),
                b'\n' | b'?' if flow => return Err(GiveUp),
                _ => i += 1,
            }
        }
    }

    /// Refuses what cannot start a plain scalar (or starts one libyaml reads specially).
    fn check_plain_start(&self, at: usize, flow: bool) -> Read<()> {
        match self.at(at) {
            b'-' if !(self.is_blank(at + 1) || flow && b",[]{}".contains(&self.at(at + 1))) => {
                Ok(())
            }
            b'-' | b'?' | b':' | b',' | b'[' | b']' | b'{' | b'}' | b'#' | b'&' | b'*' | b'!'
            | b'|' | b'>' | b'\'' | b'"' | b'%' | b'@' | b'`' | b'\n' | b' ' => Err(GiveUp),
            _ => Ok(()),
        }
    }

    /// A one-line value: a quoted or plain scalar or a flow collection, in block context or
    /// inside a `flow` collection. Returns it and the index after it.
    fn node(&mut self, at: usize, flow: bool) -> Read<(Value, usize)> {
        match self.at(at) {
            b'"' | b'\'' => {
                let (text, end) = self.quoted(at)?;
                Ok((self.string(text), end))
            }
            b'[' | b'{' => self.flow(at),
            _ => {
                let (end, colon) = self.plain_end(at, flow)?;
                // `a: b: c` is no value in block context.
                if colon && !flow {
                    return Err(GiveUp);
                }
                let text = self.src[at..end].trim_end_matches(' ');
                if text.is_empty() {
                    return Err(GiveUp);
                }
                Ok((self.plain(at, text)?, at + text.len()))
            }
        }
    }

    /// A flow sequence or mapping on one line, starting at its bracket.
    fn flow(&mut self, at: usize) -> Read<(Value, usize)> {
        self.descend()?;
        let mapping = self.at(at) == b'{';
        let close = if mapping { b'}' } else { b']' };
        let mut i = self.skip_spaces(at + 1);
        let mut items = Vec::new();
        let mut map = Map::new();
        if self.at(i) == close {
            i += 1;
        } else {
            loop {
                let (node, end) = self.node(i, true)?;
                let written = &self.src[i..end];
                i = self.skip_spaces(end);
                if mapping {
                    if self.at(i) != b':' || !self.is_blank(i + 1) {
                        return Err(GiveUp);
                    }
                    let key = match node {
                        Value::Array(_) | Value::Object(_) => return Err(GiveUp),
                        _ if !self.build => String::new(),
                        Value::String(_) => key_string(&node).map_err(|_| GiveUp)?,
                        // A plain key: as written, or as the string form of its value.
                        _ if self.scalars == Scalars::Json => written.to_string(),
                        _ => key_string(&node).map_err(|_| GiveUp)?,
                    };
                    let (value, end) = self.node(self.skip_spaces(i + 1), true)?;
                    if self.build {
                        map.insert(key, value);
                    }
                    i = self.skip_spaces(end);
                } else {
                    if self.at(i) == b':' {
                        return Err(GiveUp);
                    }
                    if self.build {
                        items.push(node);
                    }
                }
                match self.at(i) {
                    b',' => {
                        i = self.skip_spaces(i + 1);
                        if self.at(i) == close {
                            return Err(GiveUp);
                        }
                    }
                    b if b == close => {
                        i += 1;
                        break;
                    }
                    _ => return Err(GiveUp),
                }
            }
        }
        self.depth -= 1;
        let value = if mapping {
            Value::Object(map)
        } else {
            Value::Array(items)
        };
        Ok((value, i))
    }

    /// A one-line quoted scalar starting at its quote: its text and the index after it.
    fn quoted(&self, at: usize) -> Read<(Cow<'s, str>, usize)> {
        let quote = self.at(at);
        let src: &'s str = self.src;
        let mut out = String::new();
        let mut i = at + 1;
        let mut run = i;
        // The text so far, borrowed while it has no escape.
        let text = |out: String, run: usize, end: usize| {
            if run == at + 1 {
                Cow::Borrowed(&src[run..end])
            } else {
                let mut out = out;
                out.push_str(&src[run..end]);
                Cow::Owned(out)
            }
        };
        loop {
            match self.at(i) {
                b'\n' => return Err(GiveUp),
                b'\'' if quote == b'\'' => {
                    if self.at(i + 1) != b'\'' {
                        return Ok((text(out, run, i), i + 1));
                    }
                    out.push_str(&self.src[run..=i]);
                    i += 2;
                    run = i;
                }
                b'"' if quote == b'"' => {
                    return Ok((text(out, run, i), i + 1));
                }
                b'\\' if quote == b'"' => {
                    out.push_str(&self.src[run..i]);
                    i = self.escape(i + 1, &mut out)?;
                    run = i;
                }
                _ => i += 1,
            }
        }
    }

    /// The escape after a `\` at `at` of a double-quoted scalar, appended to `out`; returns
    /// the index after it.
    fn escape(&self, at: usize, out: &mut String) -> Read<usize> {
        let simple = match self.at(at) {
            b'\\' => '\\',
            b'"' => '"',
            b'/' => '/',
            b'n' => '\n',
            b't' => '\t',
            b'r' => '\r',
            b'0' => '\0',
            b'a' => '\x07',
            b'b' => '\x08',
            b'e' => '\x1b',
            b'f' => '\x0c',
            b'v' => '\x0b',
            b' ' => ' ',
            b'x' => return self.code_point(at + 1, 2, out),
            b'u' => return self.code_point(at + 1, 4, out),
            b'U' => return self.code_point(at + 1, 8, out),
            _ => return Err(GiveUp),
        };
        out.push(simple);
        Ok(at + 1)
    }

    fn code_point(&self, at: usize, digits: usize, out: &mut String) -> Read<usize> {
        let hex = self.src.get(at..at + digits).ok_or(GiveUp)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(GiveUp);
        }
        let code = u32::from_str_radix(hex, 16).map_err(|_| GiveUp)?;
        out.push(char::from_u32(code).ok_or(GiveUp)?);
        Ok(at + digits)
    }

    /// The value of the plain scalar `text` written at `at`, resolved as the serde_yaml path
    /// resolves it.
    fn plain(&self, at: usize, text: &str) -> Read<Value> {
        self.check_plain(at, text)?;
        match resolve_plain(text, self.scalars)? {
            Resolved::Value(value) => Ok(value),
            Resolved::String => Ok(self.string(Cow::Borrowed(text))),
        }
    }

    /// Gives up on a plain scalar that serde_yaml's path reads some other way.
    fn check_plain(&self, at: usize, text: &str) -> Read<()> {
        // `<<` is a merge key, which the serde_yaml path applies.
        if text == "<<"
            || preceded_by_tag(self.src, at)
            || matches!(self.at(at.wrapping_sub(1)), b'"' | b'\'')
        {
            return Err(GiveUp);
        }
        Ok(())
    }

    /// A plain key written at `at`: the string form of its value as [`Self::plain`] reads
    /// it, or (reading JSON) its text as written.
    fn plain_key(&self, at: usize, text: &'s str) -> Read<Cow<'s, str>> {
        match self.scalars {
            Scalars::HelmValues => key_string(&self.plain(at, text)?)
                .map(Cow::Owned)
                .map_err(|_| GiveUp),
            Scalars::Json => self.check_plain(at, text).map(|()| Cow::Borrowed(text)),
        }
    }

    /// A string scalar, when the node is kept.
    fn string(&self, text: Cow<'_, str>) -> Value {
        if self.build {
            Value::String(text.into_owned())
        } else {
            Value::Null
        }
    }
}

/// A plain scalar read: a value, or the scalar's own text as a string.
enum Resolved {
    Value(Value),
    String,
}

/// A plain scalar's value: serde_yaml's YAML 1.2 resolution (null, booleans, integers,
/// floats), then (for values) helm's YAML 1.1 rules for what that leaves a string.
fn resolve_plain(text: &str, scalars: Scalars) -> Read<Resolved> {
    let first = text.as_bytes()[0];
    let value = |v| Ok(Resolved::Value(v));
    if first.is_ascii_alphabetic() {
        match text {
            "null" | "Null" | "NULL" => return value(Value::Null),
            "true" | "True" | "TRUE" => return value(Value::Bool(true)),
            "false" | "False" | "FALSE" => return value(Value::Bool(false)),
            _ => {}
        }
        // No integer or finite float starts with a letter (`inf` and `nan` are not finite).
    } else {
        if text == "~" {
            return value(Value::Null);
        }
        if let Some(number) = yaml12_number(text, scalars)? {
            return value(number);
        }
    }
    match scalars {
        Scalars::HelmValues => match yaml11_non_string(text).map_err(|_| GiveUp)? {
            Some(other) => value(other),
            None => Ok(Resolved::String),
        },
        Scalars::Json => Ok(Resolved::String),
    }
}

/// serde_yaml's reading of a plain scalar as a number: u64, i64, then wider integers (which
/// helm's reading turns to floats), then finite floats (an infinity or NaN gives up: the
/// serde_yaml path refuses them with its own message).
fn yaml12_number(text: &str, scalars: Scalars) -> Read<Option<Value>> {
    if let Some(n) = unsigned(text, u64::from_str_radix) {
        return Ok(Some(Value::from(n)));
    }
    if let Some(n) = negative(text, i64::from_str_radix) {
        return Ok(Some(Value::from(n)));
    }
    // Wider integers are floats to helm; serde_json has none (serde_yaml decides).
    let wide = unsigned(text, u128::from_str_radix)
        .map(|n| n as f64)
        .or_else(|| negative(text, i128::from_str_radix).map(|n| n as f64));
    if let Some(n) = wide {
        return match scalars {
            Scalars::HelmValues => finite(n).map(Some).map_err(|_| GiveUp),
            Scalars::Json => Err(GiveUp),
        };
    }
    if digits_but_not_number(text) {
        return Ok(None);
    }
    let unsigned_text = match text.strip_prefix('+') {
        Some(rest) if rest.starts_with(['+', '-']) => return Ok(None),
        Some(rest) => rest,
        None => text,
    };
    if matches!(
        unsigned_text,
        ".inf" | ".Inf" | ".INF" | "-.inf" | "-.Inf" | "-.INF"
    ) || matches!(text, ".nan" | ".NaN" | ".NAN")
    {
        return Err(GiveUp);
    }
    Ok(match unsigned_text.parse::<f64>() {
        Ok(f) if f.is_finite() => Some(Value::Number(Number::from_f64(f).ok_or(GiveUp)?)),
        _ => None,
    })
}

/// An unsigned integer with an optional `+`, in hex, octal or binary after `0x`, `0o`, `0b`,
/// or decimal without a leading zero.
fn unsigned<T>(
    text: &str,
    parse: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
) -> Option<T> {
    let unsigned_text = text.strip_prefix('+').unwrap_or(text);
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = unsigned_text.strip_prefix(prefix) {
            if rest.starts_with(['+', '-']) {
                return None;
            }
            if let Ok(n) = parse(rest, radix) {
                return Some(n);
            }
        }
    }
    if unsigned_text.starts_with(['+', '-']) || digits_but_not_number(text) {
        return None;
    }
    parse(unsigned_text, 10).ok()
}

/// A signed integer: `-0x`, `-0o`, `-0b` forms, or decimal without a leading zero.
fn negative<T>(
    text: &str,
    parse: fn(&str, u32) -> Result<T, std::num::ParseIntError>,
) -> Option<T> {
    for (prefix, radix) in [("-0x", 16), ("-0o", 8), ("-0b", 2)] {
        if let Some(rest) = text.strip_prefix(prefix)
            && let Ok(n) = parse(&format!("-{rest}"), radix)
        {
            return Some(n);
        }
    }
    if digits_but_not_number(text) {
        return None;
    }
    parse(text, 10).ok()
}

/// YAML 1.2 reads a leading zero followed by digits (`0644`) as a string, not a number.
fn digits_but_not_number(text: &str) -> bool {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    digits.len() > 1 && digits.starts_with('0') && digits[1..].bytes().all(|b| b.is_ascii_digit())
}

#[cfg(test)]
mod tests;

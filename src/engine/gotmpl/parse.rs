//! Parses Go text/template source into trees: text, actions with pipelines, `if`/`with`/
//! `range` (with `else if` / `else with` chains), `break`/`continue`, `template`, and
//! `define`/`block` definitions. Errors are worded as Go's parser words them.

use std::sync::Arc;

/// A byte offset into the template source.
pub type Pos = usize;

#[derive(Debug, Clone)]
pub enum Node {
    /// Literal text: a byte range of the template's source.
    Text {
        start: usize,
        end: usize,
    },
    Action {
        pos: Pos,
        pipe: Box<Pipe>,
    },
    If(Box<Branch>),
    With(Box<Branch>),
    Range(Box<Branch>),
    Break(Pos),
    Continue(Pos),
    Template {
        pos: Pos,
        name: Box<str>,
        pipe: Option<Box<Pipe>>,
    },
}

/// `if`, `with` and `range`: the pipeline, the body, the `else` part.
#[derive(Debug, Clone)]
pub struct Branch {
    pub pos: Pos,
    pub pipe: Pipe,
    pub list: Box<[Node]>,
    pub else_list: Option<Box<[Node]>>,
}

#[derive(Debug, Clone, Default)]
pub struct Pipe {
    pub pos: Pos,
    /// `$x := …` declares, `$x = …` assigns.
    pub is_assign: bool,
    pub decl: Box<[Box<str>]>,
    pub cmds: Box<[Command]>,
}

#[derive(Debug, Clone)]
pub struct Command {
    pub pos: Pos,
    pub args: Box<[Arg]>,
}

#[derive(Debug, Clone)]
pub enum Arg {
    /// `.A.B`
    Field(Pos, Fields),
    /// `$x.A.B` (`$` alone is the root)
    Variable(Pos, Box<str>, Fields),
    Dot(Pos),
    Nil(Pos),
    Bool(Pos, bool),
    Number(Pos, Number),
    Str(Pos, Arc<str>),
    /// A function name.
    Ident(Pos, Box<str>),
    /// `( pipeline )`
    Pipe(Pos, Box<Pipe>),
    /// `(pipeline).A.B`
    Chain(Pos, Box<Arg>, Fields),
}

/// The field names of a chain such as `.Values.image.tag`. Trees are kept for the whole
/// render (every file of a chart is parsed before any runs), so they are stored exactly
/// sized: boxed slices, not growable vectors.
pub type Fields = Box<[Box<str>]>;

/// A numeric constant: Go gives integer literals type `int`, others `float64`.
#[derive(Debug, Clone, Copy)]
pub enum Number {
    Int(i64),
    Float(f64),
}

impl Arg {
    pub fn pos(&self) -> Pos {
        match self {
            Arg::Field(p, _)
            | Arg::Variable(p, _, _)
            | Arg::Dot(p)
            | Arg::Nil(p)
            | Arg::Bool(p, _)
            | Arg::Number(p, _)
            | Arg::Str(p, _)
            | Arg::Ident(p, _)
            | Arg::Pipe(p, _)
            | Arg::Chain(p, _, _) => *p,
        }
    }
}

/// The source text of a node, as Go prints it in `executing … at <…>`.
pub fn arg_string(arg: &Arg) -> String {
    match arg {
        Arg::Field(_, f) => f.iter().map(|s| format!(".{s}")).collect(),
        Arg::Variable(_, v, f) => {
            let mut s = v.to_string();
            for x in f {
                s.push('.');
                s.push_str(x);
            }
            s
        }
        Arg::Dot(_) => ".".into(),
        Arg::Nil(_) => "nil".into(),
        Arg::Bool(_, b) => b.to_string(),
        Arg::Number(_, Number::Int(n)) => n.to_string(),
        Arg::Number(_, Number::Float(f)) => crate::engine::library::fmt::format_float(*f, 'g', -1),
        Arg::Str(_, s) => crate::engine::library::fmt::quote(s),
        Arg::Ident(_, s) => s.to_string(),
        Arg::Pipe(_, p) => format!("({})", pipe_string(p)),
        Arg::Chain(_, a, f) => {
            let mut s = arg_string(a);
            for x in f {
                s.push('.');
                s.push_str(x);
            }
            s
        }
    }
}

pub fn command_string(cmd: &Command) -> String {
    cmd.args
        .iter()
        .map(|a| match a {
            Arg::Pipe(_, p) => format!("({})", pipe_string(p)),
            other => arg_string(other),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn pipe_string(p: &Pipe) -> String {
    let mut s = String::new();
    if !p.decl.is_empty() {
        s.push_str(&p.decl.join(", "));
        s.push_str(if p.is_assign { " = " } else { " := " });
    }
    s.push_str(
        &p.cmds
            .iter()
            .map(command_string)
            .collect::<Vec<_>>()
            .join(" | "),
    );
    s
}

/// One parsed file: its main tree and the templates it defines.
#[derive(Debug)]
pub struct Parsed {
    pub root: Box<[Node]>,
    /// `define`/`block` bodies, in source order.
    pub defines: Vec<(String, Box<[Node]>)>,
}

/// A parse error in Go's words, with the line it is on.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Tok<'a> {
    Text(Pos, usize, usize), // pos, start, end (already trimmed)
    LeftDelim(Pos),
    RightDelim(Pos),
    /// `{{/* … */}}`: where its `{{` is and where its `}}` ends.
    Comment(Pos, usize),
    Field(Pos, &'a str),
    Variable(Pos, &'a str),
    Dot(Pos),
    Ident(Pos, &'a str),
    Keyword(Pos, &'static str),
    Bool(Pos, bool),
    Nil(Pos),
    Number(Pos, &'a str),
    Str(Pos, &'a str),
    RawStr(Pos, &'a str),
    Char(Pos, &'a str),
    Pipe(Pos),
    LeftParen(Pos),
    RightParen(Pos),
    Declare(Pos),
    Assign(Pos),
    Comma(Pos),
    Space(Pos),
    /// Any other printable character, which only the parser rejects (as Go's lexer does).
    Other(Pos, char),
    /// Where the lexer failed; the error itself is kept beside the tokens.
    Error,
    Eof(Pos),
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "range", "template", "with",
];

fn tok_pos(t: &Tok<'_>) -> Pos {
    match t {
        Tok::Text(p, _, _)
        | Tok::LeftDelim(p)
        | Tok::RightDelim(p)
        | Tok::Field(p, _)
        | Tok::Variable(p, _)
        | Tok::Dot(p)
        | Tok::Ident(p, _)
        | Tok::Keyword(p, _)
        | Tok::Bool(p, _)
        | Tok::Nil(p)
        | Tok::Number(p, _)
        | Tok::Str(p, _)
        | Tok::RawStr(p, _)
        | Tok::Char(p, _)
        | Tok::Pipe(p)
        | Tok::LeftParen(p)
        | Tok::RightParen(p)
        | Tok::Declare(p)
        | Tok::Assign(p)
        | Tok::Comma(p)
        | Tok::Space(p)
        | Tok::Other(p, _)
        | Tok::Eof(p) => *p,
        Tok::Comment(p, _) => *p,
        Tok::Error => 0,
    }
}

fn describe(t: &Tok<'_>, src: &str) -> String {
    match t {
        Tok::Text(_, s, e) => format!("{:?}", &src[*s..*e]),
        Tok::LeftDelim(_) => "<left delim>".into(),
        Tok::RightDelim(_) => "<right delim>".into(),
        Tok::Comment(..) => "<comment>".into(),
        Tok::Field(_, s) | Tok::Variable(_, s) | Tok::Ident(_, s) | Tok::Number(_, s) => {
            format!("{s:?}")
        }
        Tok::Str(_, s) | Tok::RawStr(_, s) | Tok::Char(_, s) => format!("{s:?}"),
        Tok::Dot(_) => "\".\"".into(),
        Tok::Keyword(_, k) => format!("<{k}>"),
        Tok::Bool(_, b) => format!("\"{b}\""),
        Tok::Nil(_) => "<nil>".into(),
        Tok::Pipe(_) => "\"|\"".into(),
        Tok::LeftParen(_) => "\"(\"".into(),
        Tok::RightParen(_) => "\")\"".into(),
        Tok::Declare(_) => "\":=\"".into(),
        Tok::Assign(_) => "\"=\"".into(),
        Tok::Comma(_) => "\",\"".into(),
        Tok::Space(_) => "space".into(),
        Tok::Other(_, c) => format!("{:?}", c.to_string()),
        Tok::Eof(_) | Tok::Error => "EOF".into(),
    }
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n')
}

fn is_alnum(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

/// Splits the source into tokens (Go's lexer, with `{{-`/`-}}` trimming applied). A lexing
/// error ends the stream as an error token, which the parser reports when it gets there
/// (so an earlier parse error wins, as in Go).
fn lex(src: &str) -> (Vec<Tok<'_>>, Option<ParseError>) {
    // About one token per six bytes of a typical chart template: one allocation, not a
    // dozen doublings.
    let mut toks = Vec::with_capacity(src.len() / 6 + 8);
    match lex_into(src, &mut toks) {
        Ok(()) => (toks, None),
        Err(e) => {
            toks.push(Tok::Error);
            (toks, Some(e))
        }
    }
}

fn lex_into<'a>(src: &'a str, toks: &mut Vec<Tok<'a>>) -> Result<(), ParseError> {
    let b = src.as_bytes();
    let mut i = 0usize;
    let line_at = |p: usize| {
        1 + src[..p.min(src.len())]
            .bytes()
            .filter(|c| *c == b'\n')
            .count()
    };
    let mut trim_next_text = false;
    loop {
        // Text up to the next "{{".
        let start = i;
        let next = src[i..].find("{{").map(|o| i + o);
        let end = next.unwrap_or(b.len());
        let mut text_end = end;
        let mut text_start = start;
        let mut trim_left = false;
        if let Some(n) = next
            && b.len() > n + 3
            && b[n + 2] == b'-'
            && is_space(b[n + 3])
        {
            trim_left = true;
        }
        if trim_left {
            while text_end > text_start && is_space(b[text_end - 1]) {
                text_end -= 1;
            }
        }
        if trim_next_text {
            while text_start < text_end && is_space(b[text_start]) {
                text_start += 1;
            }
        }
        if text_end > text_start {
            toks.push(Tok::Text(text_start, text_start, text_end));
        }
        let Some(n) = next else {
            toks.push(Tok::Eof(b.len()));
            return Ok(());
        };
        // An action.
        let mut p = n + 2;
        if trim_left {
            p += 2;
        }
        // Comment?
        let after_space = p;
        if src[after_space..].starts_with("/*") {
            let close = src[after_space + 2..]
                .find("*/")
                .map(|o| after_space + 2 + o + 2)
                .ok_or_else(|| ParseError {
                    line: line_at(n),
                    message: "unclosed comment".into(),
                })?;
            // Must be followed by the right delimiter (with optional trim).
            let rest = &src[close..];
            if rest.starts_with("}}") {
                i = close + 2;
                trim_next_text = false;
            } else if rest.starts_with(" -}}") {
                i = close + 4;
                trim_next_text = true;
            } else {
                return Err(ParseError {
                    line: line_at(n),
                    message: "comment ends before closing delimiter".into(),
                });
            }
            toks.push(Tok::Comment(n, i));
            continue;
        }
        toks.push(Tok::LeftDelim(n));
        // Inside the action.
        let mut paren_depth = 0i32;
        loop {
            if p >= b.len() {
                return Err(ParseError {
                    line: line_at(n),
                    message: "unclosed action".into(),
                });
            }
            // Right delimiter, possibly with trim marker.
            if b[p] == b' ' || b[p] == b'\t' || b[p] == b'\r' || b[p] == b'\n' {
                // " -}}" trim marker?
                let mut q = p;
                while q < b.len() && is_space(b[q]) {
                    q += 1;
                }
                if src[q..].starts_with("-}}") && q > p {
                    toks.push(Tok::Space(p));
                    toks.push(Tok::RightDelim(q));
                    i = q + 3;
                    trim_next_text = true;
                    break;
                }
                if src[q..].starts_with("}}") {
                    toks.push(Tok::Space(p));
                    toks.push(Tok::RightDelim(q));
                    i = q + 2;
                    trim_next_text = false;
                    break;
                }
                toks.push(Tok::Space(p));
                p = q;
                continue;
            }
            if src[p..].starts_with("}}") {
                toks.push(Tok::RightDelim(p));
                i = p + 2;
                trim_next_text = false;
                break;
            }
            let c = src[p..].chars().next().unwrap_or('\0');
            match c {
                '|' => {
                    toks.push(Tok::Pipe(p));
                    p += 1;
                }
                '(' => {
                    paren_depth += 1;
                    toks.push(Tok::LeftParen(p));
                    p += 1;
                }
                ')' => {
                    paren_depth -= 1;
                    if paren_depth < 0 {
                        return Err(ParseError {
                            line: line_at(p),
                            message: "unexpected right paren".into(),
                        });
                    }
                    toks.push(Tok::RightParen(p));
                    p += 1;
                }
                ',' => {
                    toks.push(Tok::Comma(p));
                    p += 1;
                }
                ':' => {
                    if b.get(p + 1) == Some(&b'=') {
                        toks.push(Tok::Declare(p));
                        p += 2;
                    } else {
                        return Err(ParseError {
                            line: line_at(p),
                            message: "expected :=".into(),
                        });
                    }
                }
                '=' => {
                    toks.push(Tok::Assign(p));
                    p += 1;
                }
                '"' => {
                    let start = p;
                    p = scan_quoted(src, p, b'"', "unterminated quoted string")?;
                    toks.push(Tok::Str(start, &src[start..p]));
                }
                '`' => {
                    let start = p;
                    let close = src[p + 1..].find('`').ok_or_else(|| ParseError {
                        line: line_at(start),
                        message: "unterminated raw quoted string".into(),
                    })?;
                    p = p + 1 + close + 1;
                    toks.push(Tok::RawStr(start, &src[start..p]));
                }
                '\'' => {
                    let start = p;
                    p = scan_quoted(src, p, b'\'', "unterminated character constant")?;
                    toks.push(Tok::Char(start, &src[start..p]));
                }
                '$' => {
                    let start = p;
                    p += 1;
                    while let Some(ch) = src[p..].chars().next() {
                        if is_alnum(ch) {
                            p += ch.len_utf8();
                        } else {
                            break;
                        }
                    }
                    toks.push(Tok::Variable(start, &src[start..p]));
                }
                '.' => {
                    // A number like .5, a field, or dot.
                    if b.get(p + 1).is_some_and(u8::is_ascii_digit) {
                        let start = p;
                        p = scan_number(src, p);
                        toks.push(Tok::Number(start, &src[start..p]));
                    } else {
                        let start = p;
                        p += 1;
                        while let Some(ch) = src[p..].chars().next() {
                            if is_alnum(ch) {
                                p += ch.len_utf8();
                            } else {
                                break;
                            }
                        }
                        if p == start + 1 {
                            toks.push(Tok::Dot(start));
                        } else {
                            toks.push(Tok::Field(start, &src[start + 1..p]));
                        }
                    }
                }
                '+' | '-' | '0'..='9' => {
                    let start = p;
                    p = scan_number(src, p);
                    if p == start + 1 && (c == '+' || c == '-') {
                        return Err(ParseError {
                            line: line_at(start),
                            message: format!("bad number syntax: {:?}", &src[start..p]),
                        });
                    }
                    // A number must not run into letters.
                    if let Some(ch) = src[p..].chars().next()
                        && is_alnum(ch)
                    {
                        let mut q = p;
                        while let Some(ch) = src[q..].chars().next() {
                            if is_alnum(ch) || ch == '.' {
                                q += ch.len_utf8();
                            } else {
                                break;
                            }
                        }
                        return Err(ParseError {
                            line: line_at(start),
                            message: format!("bad number syntax: {:?}", &src[start..q]),
                        });
                    }
                    toks.push(Tok::Number(start, &src[start..p]));
                }
                c if is_alnum(c) => {
                    let start = p;
                    while let Some(ch) = src[p..].chars().next() {
                        if is_alnum(ch) {
                            p += ch.len_utf8();
                        } else {
                            break;
                        }
                    }
                    let word = &src[start..p];
                    if let Some(k) = KEYWORDS.iter().find(|k| **k == word) {
                        toks.push(Tok::Keyword(start, k));
                    } else if word == "true" || word == "false" {
                        toks.push(Tok::Bool(start, word == "true"));
                    } else if word == "nil" {
                        toks.push(Tok::Nil(start));
                    } else {
                        toks.push(Tok::Ident(start, word));
                    }
                    // A field chain straight after an identifier, e.g. `$x.y` handled above;
                    // `foo.bar` is a bad character in Go; we treat `.bar` as a field token.
                }
                other if other.is_ascii_graphic() => {
                    toks.push(Tok::Other(p, other));
                    p += 1;
                }
                other => {
                    return Err(ParseError {
                        line: line_at(p),
                        message: format!("unrecognized character in action: {other:?}"),
                    });
                }
            }
        }
        if paren_depth > 0 {
            return Err(ParseError {
                line: line_at(n),
                message: "unclosed left paren".into(),
            });
        }
    }
}

/// The end of the quoted literal opening at `start` (escapes skipped); a newline or the end
/// of the text before the closing quote is `unterminated`.
fn scan_quoted(
    src: &str,
    start: usize,
    quote: u8,
    unterminated: &str,
) -> Result<usize, ParseError> {
    let b = src.as_bytes();
    let mut p = start + 1;
    loop {
        match b.get(p) {
            None | Some(b'\n') => {
                return Err(ParseError {
                    line: 1 + src[..start].bytes().filter(|c| *c == b'\n').count(),
                    message: unterminated.into(),
                });
            }
            Some(b'\\') => p += 2,
            Some(c) if *c == quote => return Ok(p + 1),
            _ => p += 1,
        }
    }
}

fn scan_number(src: &str, mut p: usize) -> usize {
    let b = src.as_bytes();
    if p < b.len() && (b[p] == b'+' || b[p] == b'-') {
        p += 1;
    }
    let prefix =
        |c: u8| b.get(p) == Some(&b'0') && b.get(p + 1).map(u8::to_ascii_lowercase) == Some(c);
    let (digits, exponent): (&[u8], Option<u8>) = if prefix(b'x') {
        p += 2;
        // A hexadecimal float has a binary exponent (`0x1p60`).
        (b"0123456789abcdefABCDEF_", Some(b'p'))
    } else if prefix(b'o') {
        p += 2;
        (b"01234567_", None)
    } else if prefix(b'b') {
        p += 2;
        (b"01_", None)
    } else {
        (b"0123456789_", Some(b'e'))
    };
    let skip = |p: &mut usize, set: &[u8]| {
        while *p < b.len() && set.contains(&b[*p]) {
            *p += 1;
        }
    };
    skip(&mut p, digits);
    if p < b.len() && b[p] == b'.' {
        p += 1;
        skip(&mut p, digits);
    }
    if let Some(marker) = exponent
        && p < b.len()
        && b[p].to_ascii_lowercase() == marker
    {
        p += 1;
        if p < b.len() && (b[p] == b'+' || b[p] == b'-') {
            p += 1;
        }
        skip(&mut p, b"0123456789");
    }
    p
}

/// Parses a number token the way Go does: integers (decimal, hex, octal, binary) are
/// `int`; everything else `float64`.
fn parse_number(text: &str) -> Option<Number> {
    let clean: String = text.chars().filter(|c| *c != '_').collect();
    let (neg, body) = match clean.strip_prefix('-') {
        Some(r) => (true, r.to_string()),
        None => (false, clean.trim_start_matches('+').to_string()),
    };
    let int = if let Some(h) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        if h.contains(['p', 'P', '.']) {
            // Passed as float64, as Go passes constants written with `.` or an exponent.
            let f = parse_hex_float(h)?;
            return Some(Number::Float(if neg { -f } else { f }));
        }
        i64::from_str_radix(h, 16).ok()
    } else if let Some(o) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(bn) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
        i64::from_str_radix(bn, 2).ok()
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&body[1..], 8).ok()
    } else if body.bytes().all(|c| c.is_ascii_digit()) {
        body.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(n) = int {
        return Some(Number::Int(if neg { -n } else { n }));
    }
    let f: f64 = body.parse().ok()?;
    // A float constant with an integral value is still an int constant in Go when written
    // as an integer; here it was written with a point or exponent, so it stays float64.
    Some(Number::Float(if neg { -f } else { f }))
}

/// A hexadecimal float's digits after `0x`: `1p60`, `1.8p1`.
fn parse_hex_float(h: &str) -> Option<f64> {
    let (mantissa, exp) = match h.split_once(['p', 'P']) {
        Some((m, e)) => (m, e.parse::<i32>().ok()?),
        None => (h, 0),
    };
    let (whole, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let mut value = 0f64;
    for c in whole.chars() {
        value = value * 16.0 + f64::from(c.to_digit(16)?);
    }
    let mut scale = 1.0 / 16.0;
    for c in frac.chars() {
        value += f64::from(c.to_digit(16)?) * scale;
        scale /= 16.0;
    }
    Some(value * 2f64.powi(exp))
}

/// Unquotes a Go string literal.
fn unquote(lit: &str) -> Option<String> {
    if let Some(raw) = lit.strip_prefix('`') {
        return Some(raw.strip_suffix('`')?.replace('\r', ""));
    }
    let inner = lit.strip_prefix('"')?.strip_suffix('"')?;
    unescape(inner, '"')
}

fn unescape(inner: &str, quote: char) -> Option<String> {
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let e = chars.next()?;
        match e {
            'a' => out.push('\x07'),
            'b' => out.push('\x08'),
            'f' => out.push('\x0c'),
            'n' => out.push('\n'),
            'r' => out.push('\r'),
            't' => out.push('\t'),
            'v' => out.push('\x0b'),
            '\\' => out.push('\\'),
            '\'' if quote == '\'' => out.push('\''),
            '"' if quote == '"' => out.push('"'),
            'x' => {
                let h: String = chars.by_ref().take(2).collect();
                out.push(char::from(u8::from_str_radix(&h, 16).ok()?));
            }
            'u' => {
                let h: String = chars.by_ref().take(4).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            'U' => {
                let h: String = chars.by_ref().take(8).collect();
                out.push(char::from_u32(u32::from_str_radix(&h, 16).ok()?)?);
            }
            '0'..='7' => {
                let mut s = String::from(e);
                s.extend(chars.by_ref().take(2));
                out.push(char::from(u8::from_str_radix(&s, 8).ok()?));
            }
            _ => return None,
        }
    }
    Some(out)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Tok<'a>>,
    /// The lexer's error, reported when the parser reaches it.
    pending_lex_error: Option<ParseError>,
    at: usize,
    /// Names of declared variables, per scope.
    vars: Vec<&'a str>,
    /// Nodes, commands and arguments of the lists being parsed, innermost last: each list
    /// is moved out into an exactly sized slice when it ends (nested lists end first).
    nodes: Vec<Node>,
    cmds: Vec<Command>,
    args: Vec<Arg>,
    defines: Vec<(String, Box<[Node]>)>,
    funcs: &'a dyn Fn(&str) -> bool,
    range_depth: usize,
    /// The lexer's error, once the parser has reached it.
    lex_error: Option<ParseError>,
}

enum Stop {
    End,
    Else(Pos),
    Eof,
}

impl<'a> Parser<'a> {
    fn line(&self, pos: Pos) -> usize {
        1 + self.src[..pos.min(self.src.len())]
            .bytes()
            .filter(|c| *c == b'\n')
            .count()
    }

    fn err<T>(&self, pos: Pos, message: impl Into<String>) -> Result<T, ParseError> {
        if let Some(e) = &self.lex_error {
            return Err(e.clone());
        }
        Err(ParseError {
            line: self.line(pos),
            message: message.into(),
        })
    }

    fn peek(&self) -> Tok<'a> {
        match self.toks[self.at] {
            Tok::Error => Tok::Eof(0),
            t => t,
        }
    }

    fn next(&mut self) -> Tok<'a> {
        let mut t = self.toks[self.at];
        if let Tok::Error = t {
            self.lex_error = self.pending_lex_error.take().or(self.lex_error.take());
            t = Tok::Eof(self.src.len());
        }
        if self.at + 1 < self.toks.len() {
            self.at += 1;
        }
        t
    }

    fn next_non_space(&mut self) -> Tok<'a> {
        loop {
            let t = self.next();
            if !matches!(t, Tok::Space(_)) {
                return t;
            }
        }
    }

    fn peek_non_space(&mut self) -> Tok<'a> {
        let save = self.at;
        let t = self.next_non_space();
        self.at = save;
        t
    }

    /// Parses a list of nodes until `{{end}}`, `{{else}}` or EOF.
    fn item_list(&mut self, context: &str) -> Result<(Box<[Node]>, Stop), ParseError> {
        let base = self.nodes.len();
        loop {
            match self.next() {
                Tok::Eof(p) => {
                    if context.is_empty() {
                        return Ok((self.nodes.drain(base..).collect(), Stop::Eof));
                    }
                    return self.err(p, "unexpected EOF".to_string());
                }
                Tok::Text(_, start, end) => self.nodes.push(Node::Text { start, end }),
                Tok::Comment(..) => {}
                Tok::LeftDelim(_) => {
                    let t = self.next_non_space();
                    match t {
                        Tok::Keyword(p, "end") => {
                            self.expect_right("end")?;
                            if context.is_empty() {
                                return self.err(p, "unexpected {{end}}");
                            }
                            return Ok((self.nodes.drain(base..).collect(), Stop::End));
                        }
                        Tok::Keyword(p, "else") => {
                            if context.is_empty() {
                                return self.err(p, "unexpected {{else}}");
                            }
                            return Ok((self.nodes.drain(base..).collect(), Stop::Else(p)));
                        }
                        Tok::Keyword(p, "if") => {
                            let node = Node::If(Box::new(self.branch("if", p)?));
                            self.nodes.push(node);
                        }
                        Tok::Keyword(p, "with") => {
                            let node = Node::With(Box::new(self.branch("with", p)?));
                            self.nodes.push(node);
                        }
                        Tok::Keyword(p, "range") => {
                            self.range_depth += 1;
                            let b = self.branch("range", p);
                            self.range_depth -= 1;
                            self.nodes.push(Node::Range(Box::new(b?)));
                        }
                        Tok::Keyword(p, "break") => {
                            if self.range_depth == 0 {
                                return self.err(p, "{{break}} outside {{range}}");
                            }
                            self.expect_right("break")?;
                            self.nodes.push(Node::Break(p));
                        }
                        Tok::Keyword(p, "continue") => {
                            if self.range_depth == 0 {
                                return self.err(p, "{{continue}} outside {{range}}");
                            }
                            self.expect_right("continue")?;
                            self.nodes.push(Node::Continue(p));
                        }
                        Tok::Keyword(p, "template") => {
                            let node = self.template_call(p, "template")?;
                            self.nodes.push(node);
                        }
                        Tok::Keyword(p, "block") => {
                            let node = self.template_call(p, "block")?;
                            let Node::Template { name, .. } = &node else {
                                unreachable!()
                            };
                            let name = name.to_string();
                            let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
                            let saved_depth = std::mem::replace(&mut self.range_depth, 0);
                            let (body, stop) = self.item_list("block")?;
                            self.vars = saved_vars;
                            self.range_depth = saved_depth;
                            if !matches!(stop, Stop::End) {
                                return self.err(p, "unexpected {{else}} in block clause");
                            }
                            self.defines.push((name, body));
                            self.nodes.push(node);
                        }
                        Tok::Keyword(p, "define") => {
                            if !context.is_empty() {
                                return self.err(p, "unexpected <define> in command");
                            }
                            self.define(p)?;
                        }
                        _ => {
                            // Back up to the first token of the pipeline.
                            self.at -= 1;
                            let pos = tok_pos(&t);
                            let pipe = self.pipeline("command", true)?;
                            self.nodes.push(Node::Action {
                                pos,
                                pipe: Box::new(pipe),
                            });
                        }
                    }
                }
                other => {
                    let p = tok_pos(&other);
                    return self.err(p, format!("unexpected {}", describe(&other, self.src)));
                }
            }
        }
    }

    fn expect_right(&mut self, context: &str) -> Result<(), ParseError> {
        let t = self.next_non_space();
        if !matches!(t, Tok::RightDelim(_)) {
            let p = tok_pos(&t);
            return self.err(
                p,
                format!("unexpected {} in {context}", describe(&t, self.src)),
            );
        }
        Ok(())
    }

    /// The quoted template name after `define`, `template` or `block`.
    fn template_name(&mut self, p: Pos, context: &str) -> Result<String, ParseError> {
        match self.next_non_space() {
            Tok::Str(_, s) | Tok::RawStr(_, s) => match unquote(s) {
                Some(n) => Ok(n),
                None => self.err(p, format!("bad string syntax: {s}")),
            },
            other => self.err(
                p,
                format!(
                    "unexpected {} in {context} clause",
                    describe(&other, self.src)
                ),
            ),
        }
    }

    fn define(&mut self, p: Pos) -> Result<(), ParseError> {
        let name = self.template_name(p, "define")?;
        self.expect_right("define clause")?;
        let saved_vars = std::mem::replace(&mut self.vars, vec!["$"]);
        let (body, stop) = self.item_list("define")?;
        self.vars = saved_vars;
        match stop {
            Stop::End => {}
            Stop::Else(ep) => return self.err(ep, "unexpected {{else}} in define clause"),
            Stop::Eof => return self.err(p, "unexpected EOF"),
        }
        self.defines.push((name, body));
        Ok(())
    }

    fn template_call(&mut self, p: Pos, context: &str) -> Result<Node, ParseError> {
        let name = self.template_name(p, context)?;
        let pipe = if matches!(self.peek_non_space(), Tok::RightDelim(_)) {
            self.next_non_space();
            None
        } else {
            Some(Box::new(self.pipeline(context, true)?))
        };
        Ok(Node::Template {
            pos: p,
            name: name.into(),
            pipe,
        })
    }

    fn branch(&mut self, context: &'static str, p: Pos) -> Result<Branch, ParseError> {
        let mark = self.vars.len();
        let pipe = self.pipeline(context, true)?;
        let (list, stop) = self.item_list(context)?;
        let else_list = match stop {
            Stop::End => None,
            Stop::Eof => return self.err(p, "unexpected EOF"),
            Stop::Else(ep) => {
                // `else if` / `else with` chains.
                let t = self.peek_non_space();
                match t {
                    Tok::Keyword(kp, kw @ ("if" | "with")) if kw == context => {
                        self.next_non_space();
                        let inner = self.branch(context, kp)?;
                        let node = if kw == "if" {
                            Node::If(Box::new(inner))
                        } else {
                            Node::With(Box::new(inner))
                        };
                        self.vars.truncate(mark);
                        return Ok(Branch {
                            pos: p,
                            pipe,
                            list,
                            else_list: Some(Box::new([node])),
                        });
                    }
                    _ => {
                        let _ = ep;
                        self.expect_right("else")?;
                        let (else_list, stop) = self.item_list(context)?;
                        match stop {
                            Stop::End => Some(else_list),
                            Stop::Else(ep2) => {
                                return self.err(ep2, "expected end; found {{else}}".to_string());
                            }
                            Stop::Eof => return self.err(p, "unexpected EOF"),
                        }
                    }
                }
            }
        };
        self.vars.truncate(mark);
        Ok(Branch {
            pos: p,
            pipe,
            list,
            else_list,
        })
    }

    /// Parses a pipeline up to the closing delimiter (or `)` when not `at_action`).
    fn pipeline(&mut self, context: &str, at_action: bool) -> Result<Pipe, ParseError> {
        let start = self.peek_non_space();
        let mut pipe = Pipe {
            pos: tok_pos(&start),
            ..Pipe::default()
        };
        // Declarations.
        if let Tok::Variable(_, _) = start {
            let save = self.at;
            let mut names = Vec::new();
            let mut ok = false;
            loop {
                let v = self.next_non_space();
                let Tok::Variable(_, name) = v else { break };
                names.push(name);
                let t = self.next_non_space();
                match t {
                    Tok::Declare(_) => {
                        ok = true;
                        break;
                    }
                    Tok::Assign(_) => {
                        ok = true;
                        pipe.is_assign = true;
                        break;
                    }
                    Tok::Comma(_) if context == "range" && names.len() < 2 => continue,
                    _ => break,
                }
            }
            if ok {
                if pipe.is_assign {
                    for n in &names {
                        if !self.vars.contains(n) {
                            return self.err(pipe.pos, format!("undefined variable \"{n}\""));
                        }
                    }
                } else {
                    self.vars.extend(names.iter().copied());
                }
                pipe.decl = names.iter().map(|n| Box::from(*n)).collect();
            } else {
                self.at = save;
            }
        }
        let base = self.cmds.len();
        loop {
            let t = self.peek_non_space();
            match t {
                Tok::RightDelim(_) if at_action => {
                    self.next_non_space();
                    pipe.cmds = self.cmds.drain(base..).collect();
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Tok::RightParen(_) if !at_action => {
                    self.next_non_space();
                    pipe.cmds = self.cmds.drain(base..).collect();
                    self.check_pipeline(&pipe, context)?;
                    return Ok(pipe);
                }
                Tok::Eof(p) => return self.err(p, "unclosed action".to_string()),
                Tok::Number(..)
                | Tok::Bool(..)
                | Tok::Nil(_)
                | Tok::Char(..)
                | Tok::Dot(_)
                | Tok::Field(..)
                | Tok::Ident(..)
                | Tok::LeftParen(_)
                | Tok::Str(..)
                | Tok::RawStr(..)
                | Tok::Variable(..) => {
                    let cmd = self.command()?;
                    self.cmds.push(cmd);
                }
                other => {
                    let p = tok_pos(&other);
                    return self.err(
                        p,
                        format!("unexpected {} in {context}", describe(&other, self.src)),
                    );
                }
            }
        }
    }

    fn check_pipeline(&self, pipe: &Pipe, context: &str) -> Result<(), ParseError> {
        if pipe.cmds.is_empty() {
            return self.err(pipe.pos, format!("missing value for {context}"));
        }
        for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
            if let Some(
                Arg::Bool(..) | Arg::Dot(_) | Arg::Nil(_) | Arg::Number(..) | Arg::Str(..),
            ) = c.args.first()
            {
                return self.err(
                    c.pos,
                    format!("non executable command in pipeline stage {}", i + 1),
                );
            }
        }
        Ok(())
    }

    fn command(&mut self) -> Result<Command, ParseError> {
        let start = self.peek_non_space();
        let pos = tok_pos(&start);
        let base = self.args.len();
        loop {
            // Skip spaces between operands.
            while matches!(self.peek(), Tok::Space(_)) {
                self.next();
            }
            let operand = self.operand()?;
            if let Some(op) = operand {
                self.args.push(op);
            }
            match self.peek() {
                Tok::Space(_) => {
                    // Another operand may follow.
                    let t = self.peek_non_space();
                    match t {
                        Tok::RightDelim(_) | Tok::RightParen(_) => break,
                        Tok::Pipe(_) => {
                            self.next_non_space();
                            break;
                        }
                        _ => continue,
                    }
                }
                Tok::RightDelim(_) | Tok::RightParen(_) => break,
                Tok::Pipe(_) => {
                    self.next();
                    break;
                }
                other => {
                    let p = tok_pos(&other);
                    return self.err(
                        p,
                        format!("unexpected {} in operand", describe(&other, self.src)),
                    );
                }
            }
        }
        if self.args.len() == base {
            return self.err(pos, "empty command");
        }
        Ok(Command {
            pos,
            args: self.args.drain(base..).collect(),
        })
    }

    fn operand(&mut self) -> Result<Option<Arg>, ParseError> {
        let term = self.term()?;
        let Some(term) = term else { return Ok(None) };
        // A field chain after any other term (fields and variables take theirs along).
        if let Tok::Field(..) = self.peek() {
            let (chain_pos, fields) = self.field_chain(None, 0);
            return Ok(Some(match term {
                Arg::Dot(p) => return self.err(p, "unexpected . after term \".\""),
                Arg::Bool(p, _) | Arg::Str(p, _) | Arg::Number(p, _) | Arg::Nil(p) => {
                    return self.err(
                        p,
                        format!("unexpected . after term {:?}", arg_string(&term)),
                    );
                }
                other => Arg::Chain(chain_pos, Box::new(other), fields),
            }));
        }
        Ok(Some(term))
    }

    /// The field names that follow (`.a.b`), after `first` when given, as one exactly sized
    /// slice; and where Go positions the chain: at its first chained field, or at `pos`
    /// when no field follows.
    fn field_chain(&mut self, first: Option<&'a str>, pos: Pos) -> (Pos, Fields) {
        let start = self.at;
        let chain_pos = match self.toks[start] {
            Tok::Field(p, _) => p,
            _ => pos,
        };
        let fields: Fields = first
            .into_iter()
            .chain(self.toks[start..].iter().map_while(|t| match t {
                Tok::Field(_, name) => Some(*name),
                _ => None,
            }))
            .map(Box::from)
            .collect();
        self.at = start + fields.len() - usize::from(first.is_some());
        (chain_pos, fields)
    }

    fn term(&mut self) -> Result<Option<Arg>, ParseError> {
        let t = self.next();
        Ok(Some(match t {
            Tok::Ident(p, name) => {
                if !(self.funcs)(name) {
                    return self.err(p, format!("function {name:?} not defined"));
                }
                Arg::Ident(p, name.into())
            }
            Tok::Dot(p) => Arg::Dot(p),
            Tok::Nil(p) => Arg::Nil(p),
            Tok::Variable(p, name) => {
                if !self.vars.contains(&name) {
                    return self.err(p, format!("undefined variable \"{name}\""));
                }
                let (pos, fields) = self.field_chain(None, p);
                Arg::Variable(pos, name.into(), fields)
            }
            Tok::Field(p, name) => {
                let (pos, fields) = self.field_chain(Some(name), p);
                Arg::Field(pos, fields)
            }
            Tok::Bool(p, b) => Arg::Bool(p, b),
            Tok::Number(p, text) => match parse_number(text) {
                Some(n) => Arg::Number(p, n),
                None => return self.err(p, format!("bad number syntax: {text:?}")),
            },
            Tok::Char(p, text) => {
                let inner = &text[1..text.len() - 1];
                match unescape(inner, '\'') {
                    Some(s) if s.chars().count() == 1 => {
                        Arg::Number(p, Number::Int(s.chars().next().unwrap_or('\0') as i64))
                    }
                    _ => return self.err(p, format!("malformed character constant: {text}")),
                }
            }
            Tok::Str(p, text) | Tok::RawStr(p, text) => match unquote(text) {
                Some(s) => Arg::Str(p, Arc::from(s)),
                None => return self.err(p, format!("bad string syntax: {text}")),
            },
            Tok::LeftParen(p) => {
                let pipe = self.pipeline("parenthesized pipeline", false)?;
                Arg::Pipe(p, Box::new(pipe))
            }
            other => {
                self.at -= 1;
                let p = tok_pos(&other);
                return self.err(
                    p,
                    format!("unexpected {} in operand", describe(&other, self.src)),
                );
            }
        }))
    }
}

/// Parses one file. `funcs` says whether a function name is defined.
pub fn parse(src: &str, funcs: &dyn Fn(&str) -> bool) -> Result<Parsed, ParseError> {
    let (toks, pending_lex_error) = lex(src);
    let mut parser = Parser {
        src,
        toks,
        pending_lex_error,
        at: 0,
        vars: vec!["$"],
        nodes: Vec::new(),
        cmds: Vec::new(),
        args: Vec::new(),
        defines: Vec::new(),
        funcs,
        range_depth: 0,
        lex_error: None,
    };
    let (root, _) = parser.item_list("")?;
    if let Some(e) = parser.lex_error {
        return Err(e);
    }
    Ok(Parsed {
        root,
        defines: parser.defines,
    })
}

/// One `{{ … }}` of a file as written, for tools that rewrite templates (`rudder convert`):
/// where it opens and closes, its trim markers, and whether it is a comment.
#[derive(Debug, Clone, PartialEq)]
pub struct Tag {
    /// Position of its `{{`.
    pub open: Pos,
    /// Position just after its `}}`.
    pub close: usize,
    pub trim_left: bool,
    pub trim_right: bool,
    pub is_comment: bool,
}

impl Tag {
    /// The text between the delimiters and trim markers, trimmed.
    pub fn inner<'a>(&self, src: &'a str) -> &'a str {
        let mut start = self.open + 2;
        if self.trim_left {
            start += 1;
        }
        let mut end = self.close - 2;
        if self.trim_right {
            end -= 1;
        }
        src[start..end.max(start)].trim()
    }
}

/// Every tag of a file in source order (the file must lex; parse it first for errors).
pub fn tags(src: &str) -> Vec<Tag> {
    let b = src.as_bytes();
    let trim_left = |n: usize| b.len() > n + 3 && b[n + 2] == b'-' && is_space(b[n + 3]);
    let mut out = Vec::new();
    let mut open = None;
    for tok in lex(src).0 {
        match tok {
            Tok::LeftDelim(n) => open = Some(n),
            Tok::RightDelim(q) => {
                if let Some(n) = open.take() {
                    let trim_right = b[q] == b'-';
                    out.push(Tag {
                        open: n,
                        close: q + if trim_right { 3 } else { 2 },
                        trim_left: trim_left(n),
                        trim_right,
                        is_comment: false,
                    });
                }
            }
            Tok::Comment(n, close) => out.push(Tag {
                open: n,
                close,
                trim_left: trim_left(n),
                trim_right: b[close - 3] == b'-',
                is_comment: true,
            }),
            _ => {}
        }
    }
    out
}

/// Line and 0-based byte column of a position, as Go's `ErrorContext` reports them.
pub fn line_col(src: &str, pos: Pos) -> (usize, usize) {
    let before = &src[..pos.min(src.len())];
    let line = 1 + before.bytes().filter(|c| *c == b'\n').count();
    let col = match before.rfind('\n') {
        Some(nl) => pos - nl - 1,
        None => pos,
    };
    (line, col)
}

/// Whether a define body is empty (only whitespace text): Go keeps an earlier non-empty
/// definition instead of replacing it with an empty one.
pub fn is_empty_tree(nodes: &[Node], src: &str) -> bool {
    nodes.iter().all(|n| match n {
        Node::Text { start, end } => src[*start..*end].trim().is_empty(),
        _ => false,
    })
}

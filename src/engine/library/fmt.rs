//! Go's `fmt` and `strconv` formatting for template values, for both engines: `printf`'s
//! verbs (`%s %d %v %q %x %X %o %O %b %c %U %e %f %g %t %T %%`), flags `+ - # 0 space`,
//! width and precision (also `*`), explicit argument indexes (`%[2]s`) and Go's in-band
//! complaints (`%!d(float64=80)`, `%!s(MISSING)`); `print`'s spacing; float formatting
//! (`1e+06`); `%q` quoting. Go types: integers are `int`, floats `float64`, lists
//! `[]interface {}`, maps `map[string]interface {}`, nil `<nil>`.

use super::value::Value;

/// `strconv.FormatFloat(f, verb, prec, 64)` for the verbs 'e', 'E', 'f', 'g', 'G'
/// (`prec` -1 means the shortest representation that reads back exactly).
pub fn format_float(f: f64, verb: char, prec: i64) -> String {
    strconv_float(f, verb, usize::try_from(prec).ok())
}

/// `strconv.Quote`: a double-quoted Go string literal.
pub fn quote(s: &str) -> String {
    quote_with(s, '"', false)
}

/// `fmt.Sprint`: operands printed with `%v`, a space between two operands when neither is
/// a string.
pub fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 && !matches!(arg, Value::Str(_)) && !matches!(args[i - 1], Value::Str(_)) {
            out.push(' ');
        }
        arg.write_go(&mut out);
    }
    out
}

/// `fmt.Sprintln`: operands separated by spaces, a newline at the end.
pub fn sprintln(args: &[Value]) -> String {
    let mut out = String::new();
    for (i, arg) in args.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        arg.write_go(&mut out);
    }
    out.push('\n');
    out
}

/// Go's formatting state for one verb.
#[derive(Clone, Copy, Default)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    sharp_v: bool,
    wid: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf`: Go's verbs, flags, widths and precisions (also `*`), explicit argument
/// indexes (`%[2]s`), and Go's in-band complaints (`%!d(string=x)`, `%!s(MISSING)`,
/// `%!(EXTRA int=1)`) instead of errors.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let bytes = format.as_bytes();
    let end = bytes.len();
    let mut out = String::new();
    let mut arg_num = 0usize;
    let mut reordered = false;
    let mut i = 0usize;
    while i < end {
        let mut good_arg_num = true;
        let last = i;
        while i < end && bytes[i] != b'%' {
            i += 1;
        }
        out.push_str(&format[last..i]);
        if i >= end {
            break;
        }
        i += 1; // the '%'
        let mut f = Flags::default();
        while i < end {
            match bytes[i] {
                b'#' => f.sharp = true,
                b'0' => f.zero = !f.minus,
                b'+' => f.plus = true,
                b'-' => {
                    f.minus = true;
                    f.zero = false;
                }
                b' ' => f.space = true,
                _ => break,
            }
            i += 1;
        }

        let mut after_index;
        (arg_num, i, after_index) = arg_number(
            arg_num,
            format,
            i,
            args.len(),
            &mut reordered,
            &mut good_arg_num,
        );

        // Width.
        if i < end && bytes[i] == b'*' {
            i += 1;
            let (wid, ok, next) = int_from_arg(args, arg_num);
            arg_num = next;
            if !ok {
                out.push_str("%!(BADWIDTH)");
            }
            if wid < 0 {
                f.minus = true;
                f.zero = false;
            }
            f.wid = ok.then_some(wid.unsigned_abs() as usize);
            after_index = false;
        } else {
            let (wid, ok, next) = parse_num(bytes, i, end);
            i = next;
            f.wid = ok.then_some(wid);
            if after_index && ok {
                good_arg_num = false;
            }
        }

        // Precision.
        if i + 1 < end && bytes[i] == b'.' {
            i += 1;
            if after_index {
                good_arg_num = false;
            }
            (arg_num, i, after_index) = arg_number(
                arg_num,
                format,
                i,
                args.len(),
                &mut reordered,
                &mut good_arg_num,
            );
            if i < end && bytes[i] == b'*' {
                i += 1;
                let (prec, ok, next) = int_from_arg(args, arg_num);
                arg_num = next;
                f.prec = (ok && prec >= 0).then_some(prec as usize);
                if !ok {
                    out.push_str("%!(BADPREC)");
                }
                after_index = false;
            } else {
                let (prec, ok, next) = parse_num(bytes, i, end);
                i = next;
                f.prec = Some(if ok { prec } else { 0 });
            }
        }

        if !after_index {
            (arg_num, i, _) = arg_number(
                arg_num,
                format,
                i,
                args.len(),
                &mut reordered,
                &mut good_arg_num,
            );
        }

        if i >= end {
            out.push_str("%!(NOVERB)");
            break;
        }
        let verb = format[i..].chars().next().expect("i < end");
        i += verb.len_utf8();

        if verb == '%' {
            out.push('%');
        } else if !good_arg_num {
            out.push_str(&format!("%!{verb}(BADINDEX)"));
        } else if arg_num >= args.len() {
            out.push_str(&format!("%!{verb}(MISSING)"));
        } else {
            if verb == 'v' {
                f.sharp_v = f.sharp;
                f.sharp = false;
                f.plus = false;
            }
            print_arg(&mut out, &args[arg_num], verb, &f, 0);
            arg_num += 1;
        }
    }

    if !reordered && arg_num < args.len() {
        out.push_str("%!(EXTRA ");
        for (n, arg) in args[arg_num..].iter().enumerate() {
            if n > 0 {
                out.push_str(", ");
            }
            if arg.is_nil() {
                out.push_str("<nil>");
            } else {
                out.push_str(&arg.type_name());
                out.push('=');
                print_arg(&mut out, arg, 'v', &Flags::default(), 0);
            }
        }
        out.push(')');
    }
    out
}

fn too_large(n: i64) -> bool {
    !(-1_000_000..=1_000_000).contains(&n)
}

/// Digits at `start..end`: (number, whether there were digits, index after them).
fn parse_num(bytes: &[u8], start: usize, end: usize) -> (usize, bool, usize) {
    let mut num = 0i64;
    let mut i = start;
    while i < end && bytes[i].is_ascii_digit() {
        if too_large(num) {
            return (0, false, end);
        }
        num = num * 10 + i64::from(bytes[i] - b'0');
        i += 1;
    }
    (num as usize, i > start, i)
}

/// A `*` width or precision from the arguments: (value, whether it was an int, next arg).
fn int_from_arg(args: &[Value], arg_num: usize) -> (i64, bool, usize) {
    let Some(arg) = args.get(arg_num) else {
        return (0, false, arg_num);
    };
    match arg {
        Value::Int(n) if !too_large(*n) => (*n, true, arg_num + 1),
        _ => (0, false, arg_num + 1),
    }
}

/// An explicit `[n]` argument index at `i`: (arg number, next index, whether one was found).
fn arg_number(
    arg_num: usize,
    format: &str,
    i: usize,
    num_args: usize,
    reordered: &mut bool,
    good_arg_num: &mut bool,
) -> (usize, usize, bool) {
    let bytes = format.as_bytes();
    if i >= bytes.len() || bytes[i] != b'[' {
        return (arg_num, i, false);
    }
    *reordered = true;
    let rest = &bytes[i..];
    // Go's parseArgNumber: at least "[n]", digits up to the closing bracket.
    let (index, wid, ok) = if rest.len() < 3 {
        (0, 1, false)
    } else {
        match rest.iter().position(|&b| b == b']') {
            Some(close) => {
                let (n, ok, after) = parse_num(rest, 1, close);
                if !ok || after != close {
                    (0, close + 1, false)
                } else {
                    (n as i64 - 1, close + 1, true)
                }
            }
            None => (0, 1, false),
        }
    };
    if ok && index >= 0 && (index as usize) < num_args {
        return (index as usize, i + wid, true);
    }
    *good_arg_num = false;
    (arg_num, i + wid, ok)
}

/// Writes `n` padding characters (zeros when zero-padding to the left).
fn write_padding(out: &mut String, f: &Flags, n: usize) {
    let c = if f.zero && !f.minus { '0' } else { ' ' };
    out.extend(std::iter::repeat_n(c, n));
}

/// Writes `s` padded to the width.
fn pad(out: &mut String, f: &Flags, s: &str) {
    let Some(wid) = f.wid else {
        out.push_str(s);
        return;
    };
    let fill = wid.saturating_sub(s.chars().count());
    if f.minus {
        out.push_str(s);
        write_padding(out, f, fill);
    } else {
        write_padding(out, f, fill);
        out.push_str(s);
    }
}

/// `pad` without zero padding (numbers handle their zeros themselves).
fn pad_spaces(out: &mut String, f: &Flags, s: &str) {
    let f = Flags { zero: false, ..*f };
    pad(out, &f, s);
}

/// Go's `%!verb(type=value)` for a verb that does not fit the value.
fn bad_verb(out: &mut String, arg: &Value, verb: char, f: &Flags) {
    out.push_str("%!");
    out.push(verb);
    out.push('(');
    if arg.is_nil() {
        out.push_str("<nil>");
    } else {
        out.push_str(&arg.type_name());
        out.push('=');
        print_arg(out, arg, 'v', f, 0);
    }
    out.push(')');
}

fn print_arg(out: &mut String, arg: &Value, verb: char, f: &Flags, depth: usize) {
    if arg.is_nil() {
        if depth > 0 || verb == 'T' || verb == 'v' {
            pad(out, f, "<nil>");
        } else {
            bad_verb(out, arg, verb, f);
        }
        return;
    }
    if verb == 'T' {
        fmt_s(out, f, &arg.type_name());
        return;
    }
    match arg {
        Value::Bool(b) => match verb {
            't' | 'v' => pad(out, f, if *b { "true" } else { "false" }),
            _ => bad_verb(out, arg, verb, f),
        },
        Value::Int(n) => fmt_int(out, arg, i128::from(*n), verb, f),
        Value::Float(v) => fmt_float(out, arg, *v, verb, f),
        Value::Str(s) => fmt_string(out, arg, s, verb, f),
        Value::Bytes(b) => fmt_bytes(out, arg, b, verb, f),
        Value::List(items) => {
            if f.sharp_v {
                out.push_str("[]interface {}{");
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push_str(", ");
                    }
                    print_sharp_v_item(out, item, verb, f, depth);
                }
                out.push('}');
            } else {
                out.push('[');
                for (n, item) in items.iter().enumerate() {
                    if n > 0 {
                        out.push(' ');
                    }
                    print_arg(out, item, verb, f, depth + 1);
                }
                out.push(']');
            }
        }
        Value::Map(map) => {
            out.push_str(if f.sharp_v {
                "map[string]interface {}{"
            } else {
                "map["
            });
            for (n, (key, value)) in map.borrow().iter().enumerate() {
                if n > 0 {
                    out.push_str(if f.sharp_v { ", " } else { " " });
                }
                print_arg(out, &Value::from(key.as_str()), verb, f, depth + 1);
                out.push(':');
                if f.sharp_v {
                    print_sharp_v_item(out, value, verb, f, depth);
                } else {
                    print_arg(out, value, verb, f, depth + 1);
                }
            }
            out.push(if f.sharp_v { '}' } else { ']' });
        }
        // helm's structs print as Go prints them with `%v`.
        Value::Object(o) => match verb {
            'v' | 's' => pad(out, f, &o.display()),
            _ => bad_verb(out, arg, verb, f),
        },
        Value::Nil => pad(out, f, "<nil>"),
    }
}

fn print_sharp_v_item(out: &mut String, item: &Value, verb: char, f: &Flags, depth: usize) {
    if item.is_nil() {
        out.push_str("interface {}(nil)");
    } else {
        print_arg(out, item, verb, f, depth + 1);
    }
}

fn fmt_int(out: &mut String, arg: &Value, n: i128, verb: char, f: &Flags) {
    match verb {
        'v' | 'd' => fmt_integer(out, f, n, 10, verb, false),
        'b' => fmt_integer(out, f, n, 2, verb, false),
        'o' | 'O' => fmt_integer(out, f, n, 8, verb, false),
        'x' => fmt_integer(out, f, n, 16, verb, false),
        'X' => fmt_integer(out, f, n, 16, verb, true),
        'c' => pad(out, f, &rune_of(n).to_string()),
        'q' => pad(out, f, &quote_with(&rune_of(n).to_string(), '\'', f.plus)),
        'U' => fmt_unicode(out, f, n as u64),
        _ => bad_verb(out, arg, verb, f),
    }
}

/// The character with code `n` (U+FFFD when there is none), as Go's `%c`.
fn rune_of(n: i128) -> char {
    u32::try_from(n)
        .ok()
        .and_then(char::from_u32)
        .unwrap_or('\u{fffd}')
}

/// Go's `fmtInteger`: precision as minimum digits, `0` padding, `#` prefixes, signs.
fn fmt_integer(out: &mut String, f: &Flags, n: i128, base: u32, verb: char, upper: bool) {
    let negative = n < 0;
    let u = n.unsigned_abs();
    let mut prec = 0usize;
    if let Some(p) = f.prec {
        prec = p;
        if p == 0 && u == 0 {
            let spaces = Flags { zero: false, ..*f };
            write_padding(out, &spaces, f.wid.unwrap_or(0));
            return;
        }
    } else if f.zero && !f.minus && f.wid.is_some() {
        prec = f.wid.unwrap_or(0);
        if negative || f.plus || f.space {
            prec = prec.saturating_sub(1);
        }
    }
    let mut digits = match base {
        2 => format!("{u:b}"),
        8 => format!("{u:o}"),
        16 if upper => format!("{u:X}"),
        16 => format!("{u:x}"),
        _ => u.to_string(),
    };
    if digits.len() < prec {
        digits = format!("{}{digits}", "0".repeat(prec - digits.len()));
    }
    let mut prefix = String::new();
    if negative {
        prefix.push('-');
    } else if f.plus {
        prefix.push('+');
    } else if f.space {
        prefix.push(' ');
    }
    if f.sharp {
        match base {
            2 => prefix.push_str("0b"),
            8 if !digits.starts_with('0') => prefix.push('0'),
            16 => prefix.push_str(if upper { "0X" } else { "0x" }),
            _ => {}
        }
    }
    if verb == 'O' {
        prefix.push_str("0o");
    }
    pad_spaces(out, f, &format!("{prefix}{digits}"));
}

/// Go's `%U`: `U+0041`, `%#U` adds the character.
fn fmt_unicode(out: &mut String, f: &Flags, u: u64) {
    let prec = f.prec.unwrap_or(4).max(4);
    let mut s = format!("U+{u:0prec$X}");
    if f.sharp
        && let Some(c) = u32::try_from(u).ok().and_then(char::from_u32)
        && is_print(c)
    {
        s.push_str(&format!(" '{c}'"));
    }
    pad_spaces(out, f, &s);
}

fn fmt_s(out: &mut String, f: &Flags, s: &str) {
    match f.prec {
        Some(p) => pad(out, f, &s.chars().take(p).collect::<String>()),
        None => pad(out, f, s),
    }
}

fn fmt_string(out: &mut String, arg: &Value, s: &str, verb: char, f: &Flags) {
    match verb {
        'v' if f.sharp_v => fmt_q(out, f, s),
        'v' | 's' => fmt_s(out, f, s),
        'x' => fmt_sx(out, f, s.as_bytes(), false),
        'X' => fmt_sx(out, f, s.as_bytes(), true),
        'q' => fmt_q(out, f, s),
        _ => bad_verb(out, arg, verb, f),
    }
}

fn fmt_bytes(out: &mut String, arg: &Value, b: &[u8], verb: char, f: &Flags) {
    match verb {
        's' => fmt_s(out, f, &String::from_utf8_lossy(b)),
        'q' => fmt_q(out, f, &String::from_utf8_lossy(b)),
        'x' => fmt_sx(out, f, b, false),
        'X' => fmt_sx(out, f, b, true),
        'v' | 'd' => {
            out.push('[');
            for (n, byte) in b.iter().enumerate() {
                if n > 0 {
                    out.push(' ');
                }
                fmt_integer(out, f, i128::from(*byte), 10, verb, false);
            }
            out.push(']');
        }
        _ => bad_verb(out, arg, verb, f),
    }
}

/// Go's `fmtSbx`: hex of bytes, `% x` spaces them, `#` adds `0x`.
fn fmt_sx(out: &mut String, f: &Flags, b: &[u8], upper: bool) {
    let length = f.prec.map_or(b.len(), |p| p.min(b.len()));
    let mut width = 2 * length;
    if width == 0 {
        if let Some(wid) = f.wid {
            write_padding(out, f, wid);
        }
        return;
    }
    if f.space {
        if f.sharp {
            width *= 2;
        }
        width += length - 1;
    } else if f.sharp {
        width += 2;
    }
    let fill = f.wid.map_or(0, |w| w.saturating_sub(width));
    if !f.minus {
        write_padding(out, f, fill);
    }
    let prefix = if upper { "0X" } else { "0x" };
    if f.sharp {
        out.push_str(prefix);
    }
    for (n, byte) in b[..length].iter().enumerate() {
        if f.space && n > 0 {
            out.push(' ');
            if f.sharp {
                out.push_str(prefix);
            }
        }
        if upper {
            out.push_str(&format!("{byte:02X}"));
        } else {
            out.push_str(&format!("{byte:02x}"));
        }
    }
    if f.minus {
        write_padding(out, f, fill);
    }
}

fn fmt_q(out: &mut String, f: &Flags, s: &str) {
    let s: String = match f.prec {
        Some(p) => s.chars().take(p).collect(),
        None => s.to_string(),
    };
    if f.sharp && can_backquote(&s) {
        pad(out, f, &format!("`{s}`"));
    } else {
        pad(out, f, &quote_with(&s, '"', f.plus));
    }
}

fn can_backquote(s: &str) -> bool {
    s.chars()
        .all(|c| !((c < ' ' && c != '\t') || c == '`' || c == '\u{7f}' || c == '\u{feff}'))
}

/// Go's `strconv.IsPrint`, approximately: unassigned code points count as printable.
fn is_print(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() || c.is_whitespace() {
        return false;
    }
    let u = c as u32;
    let format_or_private = matches!(
        u,
        0xad | 0x600..=0x605
            | 0x61c
            | 0x6dd
            | 0x70f
            | 0x180e
            | 0x200b..=0x200f
            | 0x202a..=0x202e
            | 0x2060..=0x2064
            | 0x2066..=0x206f
            | 0xfdd0..=0xfdef
            | 0xfeff
            | 0xfff9..=0xfffb
            | 0xe000..=0xf8ff
            | 0xf0000..
    );
    !format_or_private && (u & 0xfffe) != 0xfffe
}

/// Go's `strconv.Quote` (`ascii`: `QuoteToASCII`) with the given quote character.
fn quote_with(s: &str, quote: char, ascii: bool) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    // Printable ASCII other than the quote and the backslash stands for itself.
    let plain = |b: u8| (b' '..=b'~').contains(&b) && b != b'\\' && char::from(b) != quote;
    if s.bytes().all(plain) {
        out.push_str(s);
        out.push(quote);
        return out;
    }
    for c in s.chars() {
        if c == quote || c == '\\' {
            out.push('\\');
            out.push(c);
            continue;
        }
        let printable = if ascii {
            c.is_ascii() && is_print(c)
        } else {
            is_print(c)
        };
        if printable {
            out.push(c);
            continue;
        }
        match c {
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if c < ' ' || c == '\u{7f}' => out.push_str(&format!("\\x{:02x}", c as u32)),
            c if (c as u32) < 0x10000 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push_str(&format!("\\U{:08x}", c as u32)),
        }
    }
    out.push(quote);
    out
}

fn fmt_float(out: &mut String, arg: &Value, v: f64, verb: char, f: &Flags) {
    let (fmt, default_prec) = match verb {
        'v' => ('g', None),
        'g' | 'G' => (verb, None),
        'e' | 'E' | 'f' | 'F' => (verb, Some(6)),
        _ => return bad_verb(out, arg, verb, f),
    };
    let prec = f.prec.or(default_prec);
    let mut num = strconv_float(v, fmt, prec);
    if !num.starts_with('-') && !num.starts_with('+') {
        num.insert(0, '+');
    }
    if f.space && num.starts_with('+') && !f.plus {
        num.replace_range(0..1, " ");
    }
    if num[1..].starts_with('I') || num[1..].starts_with('N') {
        if num[1..].starts_with('N') && !f.space && !f.plus {
            num.remove(0);
        }
        pad_spaces(out, f, &num);
        return;
    }
    if f.plus || !num.starts_with('+') {
        let len = num.chars().count();
        if f.zero && !f.minus && f.wid.is_some_and(|w| w > len) {
            out.push_str(&num[..1]);
            write_padding(out, f, f.wid.unwrap_or(0) - len);
            out.push_str(&num[1..]);
            return;
        }
        pad(out, f, &num);
        return;
    }
    pad(out, f, &num[1..]);
}

/// The significant decimal digits of `v` (> 0 or 0) and the decimal point position,
/// shortest round-trip when `sig` is `None`, else rounded to `sig` digits; trailing zeros
/// trimmed; zero has no digits.
fn decimal_digits(v: f64, sig: Option<usize>) -> (Vec<u8>, i64) {
    let s = match sig {
        None => format!("{v:e}"),
        Some(n) => format!("{:.*e}", n.saturating_sub(1), v),
    };
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let exp: i64 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.last() == Some(&b'0') {
        digits.pop();
    }
    if digits.is_empty() {
        return (digits, 0);
    }
    (digits, exp + 1)
}

fn digit_at(digits: &[u8], i: i64) -> char {
    usize::try_from(i)
        .ok()
        .and_then(|i| digits.get(i))
        .map_or('0', |d| *d as char)
}

/// Go's `%e` from digits: `d.ddde±XX`.
fn fmt_e(digits: &[u8], dp: i64, prec: usize, upper: bool) -> String {
    let mut out = String::new();
    out.push(digit_at(digits, 0));
    if prec > 0 {
        out.push('.');
        for i in 1..=prec {
            out.push(digit_at(digits, i as i64));
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    let exp = if digits.is_empty() { 0 } else { dp - 1 };
    out.push(if exp < 0 { '-' } else { '+' });
    out.push_str(&format!("{:02}", exp.abs()));
    out
}

/// Go's `%f` from digits.
fn fmt_f(digits: &[u8], dp: i64, prec: usize) -> String {
    let mut out = String::new();
    if dp > 0 {
        for i in 0..dp {
            out.push(digit_at(digits, i));
        }
    } else {
        out.push('0');
    }
    if prec > 0 {
        out.push('.');
        for i in 0..prec {
            out.push(digit_at(digits, dp + i as i64));
        }
    }
    out
}

/// Go's `strconv.FormatFloat(v, fmt, prec, 64)` (`prec` None = shortest).
fn strconv_float(v: f64, fmt: char, prec: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".to_string();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.to_string();
    }
    let sign = if v.is_sign_negative() { "-" } else { "" };
    let abs = v.abs();
    let body = match fmt {
        'f' | 'F' => match prec {
            Some(p) => format!("{abs:.p$}"),
            None => {
                let (digits, dp) = decimal_digits(abs, None);
                fmt_f(&digits, dp, (digits.len() as i64 - dp).max(0) as usize)
            }
        },
        'e' | 'E' => {
            let upper = fmt == 'E';
            match prec {
                Some(p) => {
                    let (digits, dp) = decimal_digits(abs, Some(p + 1));
                    fmt_e(&digits, dp, p, upper)
                }
                None => {
                    let (digits, dp) = decimal_digits(abs, None);
                    fmt_e(&digits, dp, digits.len().saturating_sub(1), upper)
                }
            }
        }
        _ => {
            let upper = fmt == 'G';
            let shortest = prec.is_none();
            let sig = prec.map(|p| p.max(1));
            let (digits, dp) = decimal_digits(abs, sig);
            let nd = digits.len() as i64;
            let mut prec = sig.map_or(nd, |p| p as i64);
            let mut eprec = prec;
            if eprec > nd && nd >= dp {
                eprec = nd;
            }
            if shortest {
                eprec = 6;
            }
            let exp = dp - 1;
            if exp < -4 || exp >= eprec {
                if prec > nd {
                    prec = nd;
                }
                fmt_e(&digits, dp, (prec - 1).max(0) as usize, upper)
            } else {
                if prec > dp {
                    prec = nd;
                }
                fmt_f(&digits, dp, (prec - dp).max(0) as usize)
            }
        }
    };
    format!("{sign}{body}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_prints_them() {
        assert_eq!(format_float(1_000_000.0, 'g', -1), "1e+06");
        assert_eq!(format_float(100_000.0, 'g', -1), "100000");
        assert_eq!(format_float(80.0, 'g', -1), "80");
        assert_eq!(format_float(0.5, 'g', -1), "0.5");
        assert_eq!(format_float(0.00001, 'g', -1), "1e-05");
        assert_eq!(format_float(1234567.0, 'g', -1), "1.234567e+06");
        assert_eq!(format_float(-2.5, 'g', -1), "-2.5");
        assert_eq!(format_float(1.23456, 'f', 2), "1.23");
        assert_eq!(format_float(1.0, 'e', 6), "1.000000e+00");
    }

    #[test]
    fn printf_complains_like_go() {
        assert_eq!(sprintf("%d", &[Value::Float(80.0)]), "%!d(float64=80)");
        assert_eq!(sprintf("%s-%d", &[Value::from("a"), Value::Int(3)]), "a-3");
        assert_eq!(sprintf("%s", &[]), "%!s(MISSING)");
        assert_eq!(sprintf("x", &[Value::Int(1)]), "x%!(EXTRA int=1)");
        assert_eq!(
            sprintf(
                "%05d|%-4s|%4s",
                &[Value::Int(42), Value::from("ab"), Value::from("cd")]
            ),
            "00042|ab  |  cd"
        );
        assert_eq!(sprintf("%q", &[Value::from("a\"b")]), "\"a\\\"b\"");
        assert_eq!(sprintf("%v", &[Value::Nil]), "<nil>");
        assert_eq!(sprintf("%.1f", &[Value::Float(2.25)]), "2.2");
    }

    fn s(format: &str, args: &[Value]) -> String {
        sprintf(format, args)
    }

    #[test]
    fn printf_floats_follow_strconv() {
        assert_eq!(strconv_float(1234.5678, 'e', Some(6)), "1.234568e+03");
        assert_eq!(strconv_float(0.000001234, 'g', None), "1.234e-06");
        assert_eq!(strconv_float(100000000.0, 'g', None), "1e+08");
        assert_eq!(strconv_float(123456.0, 'g', None), "123456");
        assert_eq!(strconv_float(1234567.0, 'g', None), "1.234567e+06");
        assert_eq!(strconv_float(0.0, 'g', None), "0");
        assert_eq!(strconv_float(-0.0, 'g', None), "-0");
        assert_eq!(strconv_float(2.5, 'g', Some(3)), "2.5");
        assert_eq!(strconv_float(1234.0, 'g', Some(2)), "1.2e+03");
        assert_eq!(strconv_float(0.5, 'f', Some(0)), "0");
        assert_eq!(strconv_float(1.5, 'f', Some(0)), "2");
        assert_eq!(strconv_float(1e-7, 'e', Some(2)), "1.00e-07");
        assert_eq!(strconv_float(1e100, 'g', None), "1e+100");
    }

    #[test]
    fn printf_verbs_and_errors() {
        fn v(x: impl Into<Value>) -> Value {
            x.into()
        }
        fn f(x: f64) -> Value {
            Value::Float(x)
        }
        assert_eq!(s("%s-%s", &[v("a"), v("b")]), "a-b");
        assert_eq!(
            s("%05d|%-4d|%+d|%x|%#o", &[v(42), v(7), v(5), v(-255), v(8)]),
            "00042|7   |+5|-ff|010"
        );
        assert_eq!(s("%[2]s %[1]s", &[v("a"), v("b")]), "b a");
        assert_eq!(s("%[3]s", &[v("a")]), "%!s(BADINDEX)");
        assert_eq!(s("%*d|%-*d|", &[v(4), v(1), v(3), v(2)]), "   1|2  |");
        assert_eq!(s("%.*f", &[v(2), f(1.23456)]), "1.23");
        assert_eq!(s("100%%", &[]), "100%");
        assert_eq!(s("%", &[]), "%!(NOVERB)");
        assert_eq!(s("%z", &[v(1)]), "%!z(int=1)");
        assert_eq!(s("%d", &[Value::Nil]), "%!d(<nil>)");
        assert_eq!(
            s("%q", &[v("tab\there \u{a0}é")]),
            "\"tab\\there \\u00a0é\""
        );
        assert_eq!(s("%+q", &[v("é")]), "\"\\u00e9\"");
        assert_eq!(s("%#q", &[v("a\"b")]), "`a\"b`");
        assert_eq!(s("% x|%#X", &[v("hi"), v("hi")]), "68 69|0X6869");
        assert_eq!(
            s("%c%c|%U|%#U|%q", &[v(72), v(105), v(0x1f600), v(65), v(65)]),
            "Hi|U+1F600|U+0041 'A'|'A'"
        );
        assert_eq!(s("%.2s|%5.1s|", &[v("héllo"), v("xyz")]), "hé|    x|");
        assert_eq!(
            s("%T %T %T", &[v(1), v("a"), Value::Nil]),
            "int string <nil>"
        );
    }
}

//! Go's `fmt` and `strconv` formatting for template values: `printf`'s verbs, flags, widths
//! and its `%!d(float64=80)` complaints, `print`'s spacing, float formatting
//! (`1e+06`), and `%q` quoting.

use std::fmt::Write as _;

use super::value::Value;

/// `strconv.FormatFloat(f, verb, prec, 64)` for the verbs 'e', 'E', 'f', 'g', 'G'
/// (`prec` -1 means the shortest representation that reads back exactly).
pub fn format_float(f: f64, verb: char, prec: i64) -> String {
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let negative = f.is_sign_negative();
    let a = f.abs();
    let body = match verb {
        'e' | 'E' => {
            let (digits, exp) = if prec < 0 {
                shortest(a)
            } else {
                rounded(a, prec as usize + 1)
            };
            let min_frac = if prec < 0 {
                digits.len() - 1
            } else {
                prec as usize
            };
            exp_form(&digits, exp, min_frac, verb == 'E')
        }
        'f' | 'F' => {
            if prec < 0 {
                let (digits, exp) = shortest(a);
                fixed_form(&digits, exp, None)
            } else {
                format!("{:.*}", prec as usize, a)
            }
        }
        _ => {
            // 'g' / 'G'
            let (digits, exp, eprec) = if prec < 0 {
                let (d, e) = shortest(a);
                (d, e, 6)
            } else {
                let p = if prec == 0 { 1 } else { prec as usize };
                let (mut d, e) = rounded(a, p);
                while d.len() > 1 && d.ends_with('0') {
                    d.pop();
                }
                let mut eprec = p as i64;
                let dp = e + 1;
                if eprec > d.len() as i64 && d.len() as i64 >= dp {
                    eprec = d.len() as i64;
                }
                (d, e, eprec)
            };
            if exp < -4 || exp >= eprec {
                exp_form(&digits, exp, digits.len() - 1, verb == 'G')
            } else {
                fixed_form(&digits, exp, None)
            }
        }
    };
    if negative { format!("-{body}") } else { body }
}

/// The shortest decimal digits of `a` (> 0 or 0) and its decimal exponent (`d.ddd × 10^exp`).
fn shortest(a: f64) -> (String, i64) {
    if a == 0.0 {
        return ("0".into(), 0);
    }
    split_exp(&format!("{a:e}"))
}

/// `a` rounded to `sig` significant digits.
fn rounded(a: f64, sig: usize) -> (String, i64) {
    if a == 0.0 {
        return ("0".repeat(sig), 0);
    }
    split_exp(&format!("{:.*e}", sig - 1, a))
}

fn split_exp(text: &str) -> (String, i64) {
    let (mantissa, exp) = text.split_once('e').unwrap_or((text, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    (digits, exp.parse().unwrap_or(0))
}

fn exp_form(digits: &str, exp: i64, frac: usize, upper: bool) -> String {
    let mut out = String::new();
    out.push_str(&digits[..1]);
    let rest = &digits[1..];
    if frac > 0 {
        out.push('.');
        out.push_str(rest);
        for _ in rest.len()..frac {
            out.push('0');
        }
    }
    out.push(if upper { 'E' } else { 'e' });
    out.push(if exp < 0 { '-' } else { '+' });
    let _ = write!(out, "{:02}", exp.abs());
    out
}

fn fixed_form(digits: &str, exp: i64, _frac: Option<usize>) -> String {
    let dp = exp + 1;
    let mut out = String::new();
    if dp <= 0 {
        out.push_str("0.");
        for _ in 0..(-dp) {
            out.push('0');
        }
        out.push_str(digits);
    } else if dp as usize >= digits.len() {
        out.push_str(digits);
        for _ in digits.len()..dp as usize {
            out.push('0');
        }
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

/// `strconv.Quote`: a double-quoted Go string literal.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\x07' => out.push_str("\\a"),
            '\x08' => out.push_str("\\b"),
            '\x0c' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\x0b' => out.push_str("\\v"),
            '\u{fffd}' => out.push_str("\\ufffd"),
            c if is_printable(c) => out.push(c),
            c if (c as u32) < 0x80 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if (c as u32) < 0x10000 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\U{:08x}", c as u32);
            }
        }
    }
    out.push('"');
    out
}

/// Go's `unicode.IsPrint` approximation: graphic characters and the ASCII space.
fn is_printable(c: char) -> bool {
    if c == ' ' {
        return true;
    }
    if c.is_control() {
        return false;
    }
    // Unicode spaces other than U+0020 are not printable for Go.
    if c.is_whitespace() {
        return false;
    }
    !matches!(c as u32, 0xad | 0x2028 | 0x2029 | 0xfeff | 0xe000..=0xf8ff)
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

#[derive(Default, Clone, Copy)]
struct Spec {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprintf`.
pub fn sprintf(format: &str, args: &[Value]) -> String {
    let mut out = String::new();
    let mut next = 0usize;
    let mut chars = format.char_indices().peekable();
    while let Some((_, c)) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        let mut spec = Spec::default();
        while let Some(&(_, f)) = chars.peek() {
            match f {
                '+' => spec.plus = true,
                '-' => spec.minus = true,
                '#' => spec.sharp = true,
                ' ' => spec.space = true,
                '0' => spec.zero = true,
                _ => break,
            }
            chars.next();
        }
        spec.width = read_number(&mut chars, args, &mut next);
        if let Some(&(_, '.')) = chars.peek() {
            chars.next();
            spec.prec = Some(read_number(&mut chars, args, &mut next).unwrap_or(0));
        }
        let Some((_, verb)) = chars.next() else {
            out.push_str("%!(NOVERB)");
            break;
        };
        if verb == '%' {
            out.push('%');
            continue;
        }
        let Some(arg) = args.get(next) else {
            let _ = write!(out, "%!{verb}(MISSING)");
            continue;
        };
        next += 1;
        let text = format_one(arg, verb, spec);
        pad(&mut out, &text, spec, arg);
    }
    if next < args.len() {
        out.push_str("%!(EXTRA ");
        for (i, arg) in args[next..].iter().enumerate() {
            if i > 0 {
                out.push_str(", ");
            }
            if arg.is_nil() {
                out.push_str("<nil>");
            } else {
                let _ = write!(out, "{}={}", arg.type_name(), arg.go_string());
            }
        }
        out.push(')');
    }
    out
}

fn read_number(
    chars: &mut std::iter::Peekable<std::str::CharIndices<'_>>,
    args: &[Value],
    next: &mut usize,
) -> Option<usize> {
    if let Some(&(_, '*')) = chars.peek() {
        chars.next();
        let n = match args.get(*next) {
            Some(Value::Int(n)) => Some((*n).max(0) as usize),
            _ => None,
        };
        *next += 1;
        return n;
    }
    let mut n: Option<usize> = None;
    while let Some(&(_, d)) = chars.peek() {
        if let Some(v) = d.to_digit(10) {
            n = Some(n.unwrap_or(0) * 10 + v as usize);
            chars.next();
        } else {
            break;
        }
    }
    n
}

fn pad(out: &mut String, text: &str, spec: Spec, arg: &Value) {
    let len = text.chars().count();
    let width = spec.width.unwrap_or(0);
    if len >= width {
        out.push_str(text);
        return;
    }
    let fill = width - len;
    if spec.minus {
        out.push_str(text);
        out.extend(std::iter::repeat_n(' ', fill));
    } else if spec.zero && matches!(arg, Value::Int(_) | Value::Float(_)) {
        let (sign, digits) = match text.strip_prefix(['-', '+']) {
            Some(rest) => (&text[..1], rest),
            None => ("", text),
        };
        out.push_str(sign);
        out.extend(std::iter::repeat_n('0', fill));
        out.push_str(digits);
    } else {
        out.extend(std::iter::repeat_n(' ', fill));
        out.push_str(text);
    }
}

fn bad_verb(arg: &Value, verb: char) -> String {
    if arg.is_nil() {
        format!("%!{verb}(<nil>)")
    } else {
        format!("%!{verb}({}={})", arg.type_name(), arg.go_string())
    }
}

fn with_sign(text: String, spec: Spec) -> String {
    if !text.starts_with('-') {
        if spec.plus {
            return format!("+{text}");
        }
        if spec.space {
            return format!(" {text}");
        }
    }
    text
}

/// Formats one operand for one verb.
fn format_one(arg: &Value, verb: char, spec: Spec) -> String {
    match (verb, arg) {
        ('T', _) => arg.type_name(),
        ('v', Value::Str(s)) if spec.sharp => quote(s),
        ('v', Value::Float(f)) => with_sign(format_float(*f, 'g', prec_of(spec)), spec),
        ('v', Value::Int(n)) => with_sign(n.to_string(), spec),
        ('v', _) => arg.go_string(),
        (_, Value::List(items)) if verb != 'T' => {
            let parts: Vec<String> = items.iter().map(|i| format_one(i, verb, spec)).collect();
            format!("[{}]", parts.join(" "))
        }
        ('s', Value::Str(s)) => match spec.prec {
            Some(p) => s.chars().take(p).collect(),
            None => s.to_string(),
        },
        ('s', Value::Bytes(b)) => String::from_utf8_lossy(b).into_owned(),
        ('s', Value::Object(o)) => o.display(),
        ('q', Value::Str(s)) => {
            if spec.sharp && !s.contains('`') && s.chars().all(|c| c == '\t' || !c.is_control()) {
                format!("`{s}`")
            } else {
                quote(s)
            }
        }
        ('q', Value::Int(n)) => {
            let c = char::from_u32(*n as u32).unwrap_or('\u{fffd}');
            let q = quote(&c.to_string());
            format!("'{}'", &q[1..q.len() - 1])
        }
        ('x' | 'X', Value::Str(s)) => hex(s.as_bytes(), verb == 'X'),
        ('x' | 'X', Value::Bytes(b)) => hex(b, verb == 'X'),
        ('d', Value::Int(n)) => with_sign(n.to_string(), spec),
        ('x', Value::Int(n)) => signed_radix(*n, 16, false, spec),
        ('X', Value::Int(n)) => signed_radix(*n, 16, true, spec),
        ('o', Value::Int(n)) => signed_radix(*n, 8, false, spec),
        ('b', Value::Int(n)) => signed_radix(*n, 2, false, spec),
        ('c', Value::Int(n)) => char::from_u32(*n as u32).unwrap_or('\u{fffd}').to_string(),
        ('U', Value::Int(n)) => format!("U+{:04X}", n),
        ('t', Value::Bool(b)) => b.to_string(),
        ('e' | 'E' | 'f' | 'F' | 'g' | 'G', Value::Float(f)) => {
            let prec = match verb {
                'g' | 'G' => prec_of(spec),
                _ => spec.prec.map(|p| p as i64).unwrap_or(6),
            };
            with_sign(format_float(*f, verb, prec), spec)
        }
        ('x' | 'X', Value::Float(f)) => bad_verb(&Value::Float(*f), verb),
        _ => bad_verb(arg, verb),
    }
}

fn prec_of(spec: Spec) -> i64 {
    spec.prec.map(|p| p as i64).unwrap_or(-1)
}

fn signed_radix(n: i64, radix: u32, upper: bool, spec: Spec) -> String {
    let magnitude = n.unsigned_abs();
    let digits = match radix {
        16 if upper => format!("{magnitude:X}"),
        16 => format!("{magnitude:x}"),
        8 => format!("{magnitude:o}"),
        _ => format!("{magnitude:b}"),
    };
    let prefix = if spec.sharp {
        match radix {
            16 if upper => "0X",
            16 => "0x",
            8 => "0",
            _ => "",
        }
    } else {
        ""
    };
    with_sign(
        format!("{}{prefix}{digits}", if n < 0 { "-" } else { "" }),
        spec,
    )
}

fn hex(bytes: &[u8], upper: bool) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        if upper {
            let _ = write!(out, "{b:02X}");
        } else {
            let _ = write!(out, "{b:02x}");
        }
    }
    out
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
}

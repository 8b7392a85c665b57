//! Go's reference-time layouts: the layout lexer (`nextStdChunk`) that `Time.Format` in
//! `dates.rs` walks, and `time.ParseInLocation` with Go's error texts.

use std::rc::Rc;

use super::super::super::fmt::quote;
use super::{DAYS, Location, MONTHS, Time, days_from_civil, days_in, is_leap, utc};

#[derive(Clone, Copy, PartialEq, Debug)]
pub(super) enum Std {
    Year,
    LongYear,
    Month,
    LongMonth,
    NumMonth,
    ZeroMonth,
    WeekDay,
    LongWeekDay,
    Day,
    UnderDay,
    ZeroDay,
    UnderYearDay,
    ZeroYearDay,
    Hour,
    Hour12,
    ZeroHour12,
    Minute,
    ZeroMinute,
    Second,
    ZeroSecond,
    PM,
    Pm,
    /// (ISO `Z` form, colons, seconds, hours only).
    Tz(bool, bool, bool, bool),
    TzName,
    /// (trailing zeros dropped, digits, separator).
    Frac(bool, usize, char),
}

/// Go's `nextStdChunk`: the text before the first layout element, the element, the rest.
pub(super) fn next_chunk(layout: &str) -> (&str, Option<Std>, &str) {
    let b = layout.as_bytes();
    let at = |i: usize, s: &str| layout.get(i..i + s.len()) == Some(s);
    let lower_at = |i: usize| b.get(i).is_some_and(|c| c.is_ascii_lowercase());
    for i in 0..b.len() {
        let hit = |len: usize, std: Std| Some((&layout[..i], Some(std), &layout[i + len..]));
        let found = match b[i] {
            b'J' if at(i, "Jan") => {
                if at(i, "January") {
                    hit(7, Std::LongMonth)
                } else if !lower_at(i + 3) {
                    hit(3, Std::Month)
                } else {
                    None
                }
            }
            b'M' if at(i, "Mon") => {
                if at(i, "Monday") {
                    hit(6, Std::LongWeekDay)
                } else if !lower_at(i + 3) {
                    hit(3, Std::WeekDay)
                } else {
                    None
                }
            }
            b'M' if at(i, "MST") => hit(3, Std::TzName),
            b'0' if matches!(b.get(i + 1), Some(b'1'..=b'6')) => {
                let std = [
                    Std::ZeroMonth,
                    Std::ZeroDay,
                    Std::ZeroHour12,
                    Std::ZeroMinute,
                    Std::ZeroSecond,
                    Std::Year,
                ][(b[i + 1] - b'1') as usize];
                hit(2, std)
            }
            b'0' if at(i, "002") => hit(3, Std::ZeroYearDay),
            b'1' if at(i, "15") => hit(2, Std::Hour),
            b'1' => hit(1, Std::NumMonth),
            b'2' if at(i, "2006") => hit(4, Std::LongYear),
            b'2' => hit(1, Std::Day),
            b'_' if at(i, "_2") => {
                if at(i + 1, "2006") {
                    Some((&layout[..i + 1], Some(Std::LongYear), &layout[i + 5..]))
                } else {
                    hit(2, Std::UnderDay)
                }
            }
            b'_' if at(i, "__2") => hit(3, Std::UnderYearDay),
            b'3' => hit(1, Std::Hour12),
            b'4' => hit(1, Std::Minute),
            b'5' => hit(1, Std::Second),
            b'P' if at(i, "PM") => hit(2, Std::PM),
            b'p' if at(i, "pm") => hit(2, Std::Pm),
            b'-' | b'Z' => {
                let iso = b[i] == b'Z';
                let forms: [(&str, bool, bool, bool); 5] = [
                    ("070000", false, true, false),
                    ("07:00:00", true, true, false),
                    ("0700", false, false, false),
                    ("07:00", true, false, false),
                    ("07", false, false, true),
                ];
                forms
                    .iter()
                    .find(|(f, ..)| at(i + 1, f))
                    .map(|(f, c, s, h)| {
                        (
                            &layout[..i],
                            Some(Std::Tz(iso, *c, *s, *h)),
                            &layout[i + 1 + f.len()..],
                        )
                    })
            }
            c @ (b'.' | b',') if matches!(b.get(i + 1), Some(b'0' | b'9')) => {
                let ch = b[i + 1];
                let mut j = i + 1;
                while j < b.len() && b[j] == ch {
                    j += 1;
                }
                if b.get(j).is_some_and(u8::is_ascii_digit) {
                    None
                } else {
                    Some((
                        &layout[..i],
                        Some(Std::Frac(ch == b'9', j - i - 1, c as char)),
                        &layout[j..],
                    ))
                }
            }
            _ => None,
        };
        if let Some(f) = found {
            return f;
        }
    }
    (layout, None, "")
}

/// Go's `skip`: removes `prefix` from `value`, runs of spaces matching loosely.
fn skip<'a>(mut value: &'a str, mut prefix: &str) -> Option<&'a str> {
    while !prefix.is_empty() {
        if prefix.starts_with(' ') {
            if !value.is_empty() && !value.starts_with(' ') {
                return None;
            }
            prefix = prefix.trim_start_matches(' ');
            value = value.trim_start_matches(' ');
            continue;
        }
        let c = prefix.chars().next()?;
        if !value.starts_with(c) {
            return None;
        }
        prefix = &prefix[c.len_utf8()..];
        value = &value[c.len_utf8()..];
    }
    Some(value)
}

/// Up to two digits (exactly two when `fixed`).
fn getnum(s: &str, fixed: bool) -> Option<(i64, &str)> {
    let b = s.as_bytes();
    if !b.first().is_some_and(u8::is_ascii_digit) {
        return None;
    }
    if !b.get(1).is_some_and(u8::is_ascii_digit) {
        if fixed {
            return None;
        }
        return Some(((b[0] - b'0') as i64, &s[1..]));
    }
    Some((((b[0] - b'0') * 10 + (b[1] - b'0')) as i64, &s[2..]))
}

fn lookup_name<'a>(names: &[&str], short: bool, s: &'a str) -> Option<(usize, &'a str)> {
    for (i, name) in names.iter().enumerate() {
        let name = if short { &name[..3] } else { name };
        if s.len() >= name.len() && s[..name.len()].eq_ignore_ascii_case(name) {
            return Some((i, &s[name.len()..]));
        }
    }
    None
}

/// The length of a zone abbreviation at the start of `s` (Go's `parseTimeZone`, simplified).
fn zone_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 3 {
        return None;
    }
    if s.starts_with("ChST") || s.starts_with("MeST") {
        return Some(4);
    }
    if s.starts_with("GMT") {
        let rest = &b[3..];
        if let Some(&sign) = rest.first()
            && (sign == b'+' || sign == b'-')
        {
            let n = rest[1..].iter().take_while(|c| c.is_ascii_digit()).count();
            return Some(if n > 0 { 4 + n } else { 3 });
        }
        return Some(3);
    }
    let n = b.iter().take_while(|c| c.is_ascii_uppercase()).count();
    match n {
        3 | 5 => Some(n),
        4 if b[3] == b'T' => Some(4),
        _ => None,
    }
}

/// Go's `time.ParseInLocation`.
pub(super) fn parse_time(layout: &str, value: &str, local: &Rc<Location>) -> Result<Time, String> {
    let orig_value = value;
    let (mut year, mut month, mut day, mut yday) = (0i64, -1i64, -1i64, -1i64);
    let (mut hour, mut min, mut sec, mut nsec) = (0i64, 0i64, 0i64, 0i64);
    let (mut pm_set, mut am_set, mut utc_set) = (false, false, false);
    let mut zone_offset: Option<i32> = None;
    let mut zone_name = String::new();
    let mut range_err: Option<&str> = None;
    let mut layout_rest = layout;
    let mut value = value;
    let bad = |elem: &str, val: &str| {
        format!(
            "parsing time {} as {}: cannot parse {} as {}",
            quote(orig_value),
            quote(layout),
            quote(val),
            quote(elem)
        )
    };
    loop {
        let (prefix, std, suffix) = next_chunk(layout_rest);
        let std_str = &layout_rest[prefix.len()..layout_rest.len() - suffix.len()];
        value = skip(value, prefix).ok_or_else(|| bad(prefix, value))?;
        let Some(std) = std else {
            if !value.is_empty() {
                return Err(format!(
                    "parsing time {}: extra text: {}",
                    quote(orig_value),
                    quote(value)
                ));
            }
            break;
        };
        layout_rest = suffix;
        let hold = value;
        let fail = || bad(std_str, hold);
        match std {
            Std::Year => {
                let (n, rest) = getnum(value, true).ok_or_else(fail)?;
                year = if n >= 69 { n + 1900 } else { n + 2000 };
                value = rest;
            }
            Std::LongYear => {
                if value.len() < 4 || !value.as_bytes()[..4].iter().all(u8::is_ascii_digit) {
                    return Err(fail());
                }
                year = value[..4].parse().map_err(|_| fail())?;
                value = &value[4..];
            }
            Std::Month | Std::LongMonth => {
                let (i, rest) = lookup_name(&MONTHS, std == Std::Month, value).ok_or_else(fail)?;
                month = i as i64 + 1;
                value = rest;
            }
            Std::NumMonth | Std::ZeroMonth => {
                let (n, rest) = getnum(value, std == Std::ZeroMonth).ok_or_else(fail)?;
                if !(1..=12).contains(&n) {
                    range_err = Some("month");
                }
                month = n;
                value = rest;
            }
            Std::WeekDay | Std::LongWeekDay => {
                let (_, rest) = lookup_name(&DAYS, std == Std::WeekDay, value).ok_or_else(fail)?;
                value = rest;
            }
            Std::Day | Std::UnderDay | Std::ZeroDay => {
                if std == Std::UnderDay && value.starts_with(' ') {
                    value = &value[1..];
                }
                let (n, rest) = getnum(value, std == Std::ZeroDay).ok_or_else(fail)?;
                day = n;
                value = rest;
            }
            Std::UnderYearDay | Std::ZeroYearDay => {
                let mut v = value;
                if std == Std::UnderYearDay {
                    v = v.trim_start_matches(' ');
                }
                let n = v.bytes().take(3).take_while(u8::is_ascii_digit).count();
                if n == 0 || (std == Std::ZeroYearDay && n < 3) {
                    return Err(fail());
                }
                yday = v[..n].parse().map_err(|_| fail())?;
                value = &v[n..];
            }
            Std::Hour => {
                let (n, rest) = getnum(value, false).ok_or_else(fail)?;
                if n > 23 {
                    range_err = Some("hour");
                }
                hour = n;
                value = rest;
            }
            Std::Hour12 | Std::ZeroHour12 => {
                let (n, rest) = getnum(value, std == Std::ZeroHour12).ok_or_else(fail)?;
                if n > 12 {
                    range_err = Some("hour");
                }
                hour = n;
                value = rest;
            }
            Std::Minute | Std::ZeroMinute => {
                let (n, rest) = getnum(value, std == Std::ZeroMinute).ok_or_else(fail)?;
                if n > 59 {
                    range_err = Some("minute");
                }
                min = n;
                value = rest;
            }
            Std::Second | Std::ZeroSecond => {
                let (n, rest) = getnum(value, std == Std::ZeroSecond).ok_or_else(fail)?;
                if n > 59 {
                    range_err = Some("second");
                }
                sec = n;
                value = rest;
                // A fractional second may follow even when the layout has none.
                let b = value.as_bytes();
                if b.len() >= 2
                    && (b[0] == b'.' || b[0] == b',')
                    && b[1].is_ascii_digit()
                    && !matches!(next_chunk(layout_rest).1, Some(Std::Frac(..)))
                {
                    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = frac_nanos(&value[1..n]);
                    value = &value[n..];
                }
            }
            Std::PM | Std::Pm => {
                if value.len() < 2 {
                    return Err(fail());
                }
                match &value[..2] {
                    "PM" if std == Std::PM => pm_set = true,
                    "AM" if std == Std::PM => am_set = true,
                    "pm" if std == Std::Pm => pm_set = true,
                    "am" if std == Std::Pm => am_set = true,
                    _ => return Err(fail()),
                }
                value = &value[2..];
            }
            Std::Tz(iso, colon, secs, short) => {
                if iso && value.starts_with('Z') {
                    value = &value[1..];
                    utc_set = true;
                    continue;
                }
                let b = value.as_bytes();
                let sign = match b.first() {
                    Some(b'+') => 1,
                    Some(b'-') => -1,
                    _ => return Err(fail()),
                };
                let mut v = &value[1..];
                let part = |v: &mut &str, need_colon: bool| -> Result<i64, String> {
                    if need_colon {
                        *v = v.strip_prefix(':').ok_or_else(fail)?;
                    }
                    let (n, rest) = getnum(v, true).ok_or_else(fail)?;
                    *v = rest;
                    Ok(n)
                };
                let hh = part(&mut v, false)?;
                let mm = if short { 0 } else { part(&mut v, colon)? };
                let ss = if secs { part(&mut v, colon)? } else { 0 };
                if hh > 24 || mm > 60 || ss > 60 {
                    range_err = Some("time zone offset");
                }
                zone_offset = Some((sign * (hh * 3600 + mm * 60 + ss)) as i32);
                value = v;
            }
            Std::TzName => {
                if value.starts_with("UTC") {
                    utc_set = true;
                    value = &value[3..];
                    continue;
                }
                let n = zone_len(value).ok_or_else(fail)?;
                zone_name = value[..n].to_string();
                value = &value[n..];
            }
            Std::Frac(nines, digits, _) => {
                let b = value.as_bytes();
                if nines {
                    if b.len() < 2 || !(b[0] == b'.' || b[0] == b',') || !b[1].is_ascii_digit() {
                        continue;
                    }
                    let n = 1 + b[1..].iter().take_while(|c| c.is_ascii_digit()).count();
                    nsec = frac_nanos(&value[1..n]);
                    value = &value[n..];
                } else {
                    let n = digits + 1;
                    if b.len() < n
                        || !(b[0] == b'.' || b[0] == b',')
                        || !b[1..n].iter().all(u8::is_ascii_digit)
                    {
                        return Err(fail());
                    }
                    nsec = frac_nanos(&value[1..n]);
                    value = &value[n..];
                }
            }
        }
    }
    let range = |what: &str| format!("parsing time {}: {what} out of range", quote(orig_value));
    if let Some(what) = range_err {
        return Err(range(what));
    }
    if pm_set && hour < 12 {
        hour += 12;
    } else if am_set && hour == 12 {
        hour = 0;
    }
    if yday >= 0 {
        if yday < 1 || yday > if is_leap(year) { 366 } else { 365 } {
            return Err(range("day-of-year"));
        }
        let (mut m, mut d) = (1, yday);
        while d > days_in(m, year) {
            d -= days_in(m, year);
            m += 1;
        }
        if (month >= 0 && month != m) || (day >= 0 && day != d) {
            return Err(range("day-of-year"));
        }
        month = m;
        day = d;
    } else {
        if month < 0 {
            month = 1;
        }
        if day < 0 {
            day = 1;
        }
    }
    if day < 1 || day > days_in(month, year) {
        return Err(range("day"));
    }
    let wall = days_from_civil(year, month, day) * 86_400 + hour * 3600 + min * 60 + sec;
    let at = |secs: i64, loc: Rc<Location>| Time {
        secs,
        nsec: nsec as u32,
        loc,
    };
    if utc_set {
        return Ok(at(wall, utc()));
    }
    if let Some(off) = zone_offset {
        let secs = wall - off as i64;
        let (loff, lname) = local.lookup(secs);
        if loff == off && (zone_name.is_empty() || lname == zone_name) {
            return Ok(at(secs, local.clone()));
        }
        return Ok(at(secs, Rc::new(Location::fixed(&zone_name, off))));
    }
    if !zone_name.is_empty() {
        if let Some(off) = local.lookup_name(&zone_name, wall) {
            return Ok(at(wall - off as i64, local.clone()));
        }
        let mut off = 0;
        if zone_name.len() > 3 && zone_name.starts_with("GMT") {
            off = zone_name[3..].parse::<i32>().unwrap_or(0) * 3600;
        }
        return Ok(at(
            wall - off as i64,
            Rc::new(Location::fixed(&zone_name, off)),
        ));
    }
    // Go's `Date` in the default location: find the offset in effect at that wall time.
    let (o1, _) = local.lookup(wall);
    let (o2, _) = local.lookup(wall - o1 as i64);
    Ok(at(wall - o2 as i64, local.clone()))
}

/// Nanoseconds of a fraction's digits (`"12"` → 120000000).
fn frac_nanos(digits: &str) -> i64 {
    let mut s: String = digits.chars().take(9).collect();
    while s.len() < 9 {
        s.push('0');
    }
    s.parse().unwrap_or(0)
}

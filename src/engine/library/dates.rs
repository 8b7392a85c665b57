//! sprig's date functions with Go's `time` semantics: `now`, `date`, `dateInZone`,
//! `dateModify`, `toDate`, `ago`, `duration`, `durationRound`, `unixEpoch`, `htmlDate`.
//! Times are `time.Time` objects (printed as Go prints them, `2006-01-02 15:04:05.999999999
//! -0700 MST`, with `.Unix`, `.Year`, `.Format` …); layouts are Go's reference-time layouts,
//! formatted and parsed by a port of Go's layout lexer; zones come from the system's
//! zoneinfo files like Go's `time.LoadLocation`.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

#[path = "layout.rs"]
mod layout;

use layout::{Std, next_chunk, parse_time};

use super::super::CallError;
use super::super::fmt::quote;
use super::super::value::{Object, Value};
use super::super::{Funcs, arg_str, wrong_type};

pub fn register(f: &mut Funcs) {
    f.add("now", 0, |_| Ok(time_value(now())));
    f.add("date", 2, |a| {
        let layout = arg_str(&a[0])?;
        Ok(Value::from(date_in_zone(&layout, &a[1], "Local")))
    });
    for name in ["dateInZone", "date_in_zone"] {
        f.add(name, 3, |a| {
            let layout = arg_str(&a[0])?;
            let zone = arg_str(&a[2])?;
            Ok(Value::from(date_in_zone(&layout, &a[1], &zone)))
        });
    }
    f.add("htmlDate", 1, |a| {
        Ok(Value::from(date_in_zone("2006-01-02", &a[0], "Local")))
    });
    f.add("htmlDateInZone", 2, |a| {
        let zone = arg_str(&a[1])?;
        Ok(Value::from(date_in_zone("2006-01-02", &a[0], &zone)))
    });
    for name in ["dateModify", "date_modify"] {
        f.add(name, 2, |a| {
            let d = arg_str(&a[0])?;
            let t = arg_time(&a[1])?;
            Ok(time_value(match parse_duration(&d) {
                Ok(n) => t.add_nanos(n),
                Err(_) => t,
            }))
        });
    }
    for name in ["mustDateModify", "must_date_modify"] {
        f.add(name, 2, |a| {
            let d = arg_str(&a[0])?;
            let t = arg_time(&a[1])?;
            let n = parse_duration(&d).map_err(CallError::from)?;
            Ok(time_value(t.add_nanos(n)))
        });
    }
    f.add("ago", 1, |a| {
        let t = match &a[0] {
            Value::Int(n) => Time {
                secs: *n,
                nsec: 0,
                loc: local(),
            },
            other => time_of(other).unwrap_or_else(now),
        };
        let since = now().nanos_since(&t);
        Ok(Value::from(format_duration(round_duration(
            since,
            1_000_000_000,
        ))))
    });
    f.add("toDate", 2, |a| {
        let layout = arg_str(&a[0])?;
        let text = arg_str(&a[1])?;
        Ok(time_value(
            parse_time(&layout, &text, &local()).unwrap_or_else(|_| Time::zero()),
        ))
    });
    f.add("mustToDate", 2, |a| {
        let layout = arg_str(&a[0])?;
        let text = arg_str(&a[1])?;
        parse_time(&layout, &text, &local())
            .map(time_value)
            .map_err(CallError::from)
    });
    f.add("unixEpoch", 1, |a| {
        Ok(Value::from(arg_time(&a[0])?.secs.to_string()))
    });
    f.add("duration", 1, |a| {
        let n = match &a[0] {
            Value::Str(s) => s.parse::<i64>().unwrap_or(0),
            Value::Int(n) => *n,
            _ => 0,
        };
        Ok(Value::from(format_duration(n.wrapping_mul(1_000_000_000))))
    });
    f.add("durationRound", 1, |a| {
        let d: i64 = match &a[0] {
            Value::Str(s) => parse_duration(s).unwrap_or(0),
            Value::Int(n) => *n,
            other => match time_of(other) {
                Some(t) => now().nanos_since(&t),
                None => 0,
            },
        };
        Ok(Value::from(duration_round(d)))
    });
}

// ---- locations ----

/// A time zone: fixed, or the transitions of a zoneinfo file.
pub struct Location {
    /// How the zone is named to `LoadLocation` (`Local`, `UTC`, `Europe/Berlin`).
    name: String,
    /// (start, offset seconds east, abbreviation), sorted by start.
    zones: Vec<(i64, i32, String)>,
}

impl Location {
    fn fixed(name: &str, offset: i32) -> Location {
        Location {
            name: format!("\u{0}{offset}\u{0}{name}"),
            zones: vec![(i64::MIN, offset, name.to_string())],
        }
    }

    fn utc() -> Location {
        Location {
            name: "UTC".into(),
            zones: vec![(i64::MIN, 0, "UTC".into())],
        }
    }

    /// The offset and abbreviation in effect at `unix`.
    fn lookup(&self, unix: i64) -> (i32, &str) {
        let i = self.zones.partition_point(|(start, _, _)| *start <= unix);
        let (_, off, name) = &self.zones[i.saturating_sub(1)];
        (*off, name)
    }

    /// The offset of a zone abbreviation in use around `unix` (Go's `lookupName`).
    fn lookup_name(&self, abbr: &str, unix: i64) -> Option<i32> {
        for (_, off, name) in &self.zones {
            if name == abbr {
                let (o, n) = self.lookup(unix - *off as i64);
                if n == abbr {
                    return Some(o);
                }
            }
        }
        self.zones
            .iter()
            .find(|(_, _, name)| name == abbr)
            .map(|(_, off, _)| *off)
    }
}

/// Parses a TZif file into its zone periods (the 64-bit section when there is one).
fn parse_tzif(data: &[u8]) -> Option<Vec<(i64, i32, String)>> {
    fn be32(d: &[u8], at: usize) -> Option<u32> {
        Some(u32::from_be_bytes(d.get(at..at + 4)?.try_into().ok()?))
    }
    fn counts(d: &[u8], at: usize) -> Option<[usize; 6]> {
        if d.get(at..at + 4)? != b"TZif" {
            return None;
        }
        let mut c = [0usize; 6];
        for (k, v) in c.iter_mut().enumerate() {
            *v = be32(d, at + 20 + 4 * k)? as usize;
        }
        Some(c)
    }
    let [isut, isstd, leap, timecnt, typecnt, charcnt] = counts(data, 0)?;
    let mut at = 44;
    let mut wide = false;
    let (mut timecnt, mut typecnt, mut charcnt) = (timecnt, typecnt, charcnt);
    if *data.get(4)? >= b'2' {
        at += timecnt * 5 + typecnt * 6 + charcnt + leap * 8 + isstd + isut;
        let c = counts(data, at)?;
        timecnt = c[3];
        typecnt = c[4];
        charcnt = c[5];
        at += 44;
        wide = true;
    }
    let tsize = if wide { 8 } else { 4 };
    let mut times = Vec::with_capacity(timecnt);
    for k in 0..timecnt {
        let p = at + k * tsize;
        times.push(if wide {
            i64::from_be_bytes(data.get(p..p + 8)?.try_into().ok()?)
        } else {
            be32(data, p)? as i32 as i64
        });
    }
    at += timecnt * tsize;
    let idx = data.get(at..at + timecnt)?.to_vec();
    at += timecnt;
    let mut types = Vec::with_capacity(typecnt);
    for k in 0..typecnt {
        let p = at + k * 6;
        types.push((be32(data, p)? as i32, *data.get(p + 5)? as usize));
    }
    at += typecnt * 6;
    let chars = data.get(at..at + charcnt)?;
    let abbr = |i: usize| {
        let rest = chars.get(i..).unwrap_or_default();
        let end = rest.iter().position(|&b| b == 0).unwrap_or(rest.len());
        String::from_utf8_lossy(&rest[..end]).into_owned()
    };
    let first = *types.first()?;
    let mut zones = vec![(i64::MIN, first.0, abbr(first.1))];
    for (t, i) in times.iter().zip(idx) {
        let (off, a) = *types.get(i as usize)?;
        zones.push((*t, off, abbr(a)));
    }
    Some(zones)
}

thread_local! {
    static LOCATIONS: RefCell<HashMap<String, Rc<Location>>> = RefCell::new(HashMap::new());
}

fn load_zoneinfo(name: &str) -> Option<Vec<(i64, i32, String)>> {
    let dirs = [
        std::env::var("ZONEINFO").unwrap_or_default(),
        "/usr/share/zoneinfo".into(),
        "/usr/share/lib/zoneinfo".into(),
        "/usr/lib/locale/TZ".into(),
        "/etc/zoneinfo".into(),
    ];
    dirs.iter()
        .filter(|d| !d.is_empty())
        .find_map(|d| std::fs::read(format!("{d}/{name}")).ok())
        .and_then(|data| parse_tzif(&data))
}

/// Go's `time.LoadLocation`: `""`/`UTC`, `Local`, or a zoneinfo name.
fn load_location(name: &str) -> Option<Rc<Location>> {
    if let Some(loc) = LOCATIONS.with(|l| l.borrow().get(name).cloned()) {
        return Some(loc);
    }
    let loc = match name {
        "" | "UTC" => Location::utc(),
        "Local" => {
            let zones = match std::env::var("TZ") {
                Ok(tz) if tz.is_empty() => None,
                Ok(tz) => {
                    let tz = tz.strip_prefix(':').unwrap_or(&tz).to_string();
                    if tz.starts_with('/') {
                        std::fs::read(&tz).ok().and_then(|d| parse_tzif(&d))
                    } else {
                        load_zoneinfo(&tz)
                    }
                }
                Err(_) => std::fs::read("/etc/localtime")
                    .ok()
                    .and_then(|d| parse_tzif(&d)),
            };
            Location {
                name: "Local".into(),
                zones: zones.unwrap_or_else(|| Location::utc().zones),
            }
        }
        _ if name.contains("..") || name.starts_with('/') || name.starts_with('\u{0}') => {
            return None;
        }
        _ => Location {
            name: name.to_string(),
            zones: load_zoneinfo(name)?,
        },
    };
    let loc = Rc::new(loc);
    LOCATIONS.with(|l| l.borrow_mut().insert(name.to_string(), loc.clone()));
    Some(loc)
}

fn local() -> Rc<Location> {
    load_location("Local").unwrap_or_else(|| Rc::new(Location::utc()))
}

fn utc() -> Rc<Location> {
    load_location("UTC").unwrap_or_else(|| Rc::new(Location::utc()))
}

// ---- calendar arithmetic ----

/// Days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (year, month, day) of a day count since 1970-01-01.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn is_leap(y: i64) -> bool {
    y % 4 == 0 && (y % 100 != 0 || y % 400 == 0)
}

fn days_in(month: i64, year: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
const DAYS: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

// ---- time values ----

/// A Go `time.Time`: an instant and the location it is shown in.
#[derive(Clone)]
pub struct Time {
    secs: i64,
    nsec: u32,
    loc: Rc<Location>,
}

/// The broken-down fields of a time in its zone.
struct Fields {
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    min: i64,
    sec: i64,
    yday: i64,
    wday: usize,
    offset: i32,
    zone: String,
}

impl Time {
    fn zero() -> Time {
        Time {
            secs: days_from_civil(1, 1, 1) * 86_400,
            nsec: 0,
            loc: utc(),
        }
    }

    fn fields(&self) -> Fields {
        let (offset, zone) = self.loc.lookup(self.secs);
        let local = self.secs + offset as i64;
        let days = local.div_euclid(86_400);
        let rem = local.rem_euclid(86_400);
        let (year, month, day) = civil_from_days(days);
        Fields {
            year,
            month,
            day,
            hour: rem / 3600,
            min: rem % 3600 / 60,
            sec: rem % 60,
            yday: days - days_from_civil(year, 1, 1) + 1,
            wday: (days + 4).rem_euclid(7) as usize,
            offset,
            zone: zone.to_string(),
        }
    }

    fn add_nanos(&self, n: i64) -> Time {
        let total = self.nsec as i64 + n.rem_euclid(1_000_000_000);
        Time {
            secs: self.secs + n.div_euclid(1_000_000_000) + total / 1_000_000_000,
            nsec: (total % 1_000_000_000) as u32,
            loc: self.loc.clone(),
        }
    }

    /// `self - other` in nanoseconds, saturating like Go's `Sub`.
    fn nanos_since(&self, other: &Time) -> i64 {
        let d = (self.secs as i128 - other.secs as i128) * 1_000_000_000
            + (self.nsec as i128 - other.nsec as i128);
        d.clamp(i64::MIN as i128, i64::MAX as i128) as i64
    }

    fn in_loc(&self, loc: Rc<Location>) -> Time {
        Time {
            loc,
            ..self.clone()
        }
    }

    /// Go's `Time.Format`.
    pub fn format(&self, layout: &str) -> String {
        let f = self.fields();
        let mut out = String::new();
        let mut rest = layout;
        while !rest.is_empty() {
            let (prefix, std, suffix) = next_chunk(rest);
            out.push_str(prefix);
            let Some(std) = std else {
                break;
            };
            rest = suffix;
            let pad = |out: &mut String, n: i64, w: usize| {
                if n < 0 {
                    out.push('-');
                }
                out.push_str(&format!("{:0w$}", n.abs(), w = w));
            };
            match std {
                Std::Year => pad(&mut out, f.year.rem_euclid(100), 2),
                Std::LongYear => pad(&mut out, f.year, 4),
                Std::Month => out.push_str(&MONTHS[f.month as usize - 1][..3]),
                Std::LongMonth => out.push_str(MONTHS[f.month as usize - 1]),
                Std::NumMonth => pad(&mut out, f.month, 0),
                Std::ZeroMonth => pad(&mut out, f.month, 2),
                Std::WeekDay => out.push_str(&DAYS[f.wday][..3]),
                Std::LongWeekDay => out.push_str(DAYS[f.wday]),
                Std::Day => pad(&mut out, f.day, 0),
                Std::UnderDay => {
                    if f.day < 10 {
                        out.push(' ');
                    }
                    pad(&mut out, f.day, 0);
                }
                Std::ZeroDay => pad(&mut out, f.day, 2),
                Std::UnderYearDay => out.push_str(&format!("{:>3}", f.yday)),
                Std::ZeroYearDay => pad(&mut out, f.yday, 3),
                Std::Hour => pad(&mut out, f.hour, 2),
                Std::Hour12 | Std::ZeroHour12 => {
                    let h = match f.hour % 12 {
                        0 => 12,
                        h => h,
                    };
                    pad(&mut out, h, if std == Std::Hour12 { 0 } else { 2 });
                }
                Std::Minute => pad(&mut out, f.min, 0),
                Std::ZeroMinute => pad(&mut out, f.min, 2),
                Std::Second => pad(&mut out, f.sec, 0),
                Std::ZeroSecond => pad(&mut out, f.sec, 2),
                Std::PM => out.push_str(if f.hour >= 12 { "PM" } else { "AM" }),
                Std::Pm => out.push_str(if f.hour >= 12 { "pm" } else { "am" }),
                Std::Tz(iso, colon, secs, short) => {
                    if iso && f.offset == 0 {
                        out.push('Z');
                        continue;
                    }
                    let zone = f.offset / 60;
                    out.push(if zone < 0 { '-' } else { '+' });
                    let (zone, abs) = (zone.abs(), f.offset.abs());
                    out.push_str(&format!("{:02}", zone / 60));
                    if !short {
                        if colon {
                            out.push(':');
                        }
                        out.push_str(&format!("{:02}", zone % 60));
                    }
                    if secs {
                        if colon {
                            out.push(':');
                        }
                        out.push_str(&format!("{:02}", abs % 60));
                    }
                }
                Std::TzName => {
                    if !f.zone.is_empty() {
                        out.push_str(&f.zone);
                    } else {
                        let zone = f.offset / 60;
                        out.push(if zone < 0 { '-' } else { '+' });
                        out.push_str(&format!("{:02}{:02}", zone.abs() / 60, zone.abs() % 60));
                    }
                }
                Std::Frac(nines, digits, sep) => {
                    let all = format!("{:09}", self.nsec);
                    let part = &all[..digits.min(9)];
                    if nines {
                        let trimmed = part.trim_end_matches('0');
                        if !trimmed.is_empty() {
                            out.push(sep);
                            out.push_str(trimmed);
                        }
                    } else {
                        out.push(sep);
                        out.push_str(part);
                    }
                }
            }
        }
        out
    }

    /// Go's `Time.String`.
    fn go_string(&self) -> String {
        self.format("2006-01-02 15:04:05.999999999 -0700 MST")
    }

    /// The hidden field that carries the time through `Value::Object`.
    fn encode(&self) -> String {
        format!("{} {} {}", self.secs, self.nsec, self.loc.name)
    }

    fn decode(s: &str) -> Option<Time> {
        let mut parts = s.splitn(3, ' ');
        let secs = parts.next()?.parse().ok()?;
        let nsec = parts.next()?.parse().ok()?;
        let name = parts.next()?;
        let loc = if let Some(fixed) = name.strip_prefix('\u{0}') {
            let (off, zone) = fixed.split_once('\u{0}')?;
            Rc::new(Location::fixed(zone, off.parse().ok()?))
        } else {
            load_location(name)?
        };
        Some(Time { secs, nsec, loc })
    }
}

fn now() -> Time {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    Time {
        secs: d.as_secs() as i64,
        nsec: d.subsec_nanos(),
        loc: local(),
    }
}

const TIME_FIELD: &str = "\u{0}time";

impl Object for Time {
    fn type_name(&self) -> &str {
        "time.Time"
    }

    fn field(&self, name: &str) -> Option<Value> {
        let f = self.fields();
        Some(match name {
            TIME_FIELD => Value::from(self.encode()),
            "Unix" => Value::Int(self.secs),
            "UnixMilli" => Value::Int(self.secs * 1000 + self.nsec as i64 / 1_000_000),
            "UnixMicro" => Value::Int(self.secs * 1_000_000 + self.nsec as i64 / 1000),
            "UnixNano" => Value::Int(self.secs.wrapping_mul(1_000_000_000) + self.nsec as i64),
            "Year" => Value::Int(f.year),
            "Month" => Value::from(MONTHS[f.month as usize - 1]),
            "Day" => Value::Int(f.day),
            "Hour" => Value::Int(f.hour),
            "Minute" => Value::Int(f.min),
            "Second" => Value::Int(f.sec),
            "Nanosecond" => Value::Int(self.nsec as i64),
            "YearDay" => Value::Int(f.yday),
            "Weekday" => Value::from(DAYS[f.wday]),
            "String" => Value::from(self.go_string()),
            "IsZero" => Value::Bool(self.secs == Time::zero().secs && self.nsec == 0),
            "UTC" => time_value(self.in_loc(utc())),
            "Local" => time_value(self.in_loc(local())),
            _ => return None,
        })
    }

    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Format" | "Add" | "In" | "AddDate")
    }

    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let want = |n: usize| {
            if args.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "wrong number of args for {name}: want {n} got {}",
                    args.len()
                ))
            }
        };
        Some(match name {
            "Format" => want(1).and_then(|_| match &args[0] {
                Value::Str(s) => Ok(Value::from(self.format(s))),
                other => Err(wrong_type("string", other).message),
            }),
            "Add" => want(1).and_then(|_| match &args[0] {
                Value::Int(n) => Ok(time_value(self.add_nanos(*n))),
                other => Err(wrong_type("time.Duration", other).message),
            }),
            _ => return None,
        })
    }

    fn display(&self) -> String {
        self.go_string()
    }

    fn as_data(&self) -> Value {
        // `MarshalJSON`: RFC 3339 with nanoseconds.
        Value::from(self.format("2006-01-02T15:04:05.999999999Z07:00"))
    }
}

pub fn time_value(t: Time) -> Value {
    Value::Object(Rc::new(t))
}

/// The `time.Time` inside a value, if it is one.
fn time_of(v: &Value) -> Option<Time> {
    match v {
        Value::Object(o) if o.type_name() == "time.Time" => match o.field(TIME_FIELD)? {
            Value::Str(s) => Time::decode(&s),
            _ => None,
        },
        _ => None,
    }
}

/// A `time.Time` parameter.
fn arg_time(v: &Value) -> Result<Time, CallError> {
    match time_of(v) {
        Some(t) => Ok(t),
        None if v.is_nil() => Err(CallError::from(
            "invalid value; expected time.Time".to_string(),
        )),
        None => Err(wrong_type("time.Time", v)),
    }
}

/// sprig's `dateInZone`: times as they are, integers as Unix seconds, anything else now.
fn date_in_zone(layout: &str, date: &Value, zone: &str) -> String {
    let t = match date {
        Value::Int(n) => Time {
            secs: *n,
            nsec: 0,
            loc: local(),
        },
        other => time_of(other).unwrap_or_else(now),
    };
    let loc = load_location(zone).unwrap_or_else(utc);
    t.in_loc(loc).format(layout)
}

// ---- durations ----

/// Go's `time.ParseDuration`, in nanoseconds.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    let invalid = || format!("time: invalid duration {}", quote(text));
    let mut s = text;
    let mut neg = false;
    if let Some(r) = s.strip_prefix('-') {
        neg = true;
        s = r;
    } else if let Some(r) = s.strip_prefix('+') {
        s = r;
    }
    if s == "0" {
        return Ok(0);
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u128 = 0;
    while !s.is_empty() {
        let int_len = s.bytes().take_while(u8::is_ascii_digit).count();
        let int_part = &s[..int_len];
        s = &s[int_len..];
        let mut frac_part = "";
        if let Some(r) = s.strip_prefix('.') {
            let n = r.bytes().take_while(u8::is_ascii_digit).count();
            frac_part = &r[..n];
            s = &r[n..];
            if int_len == 0 && n == 0 {
                return Err(invalid());
            }
        } else if int_len == 0 {
            return Err(invalid());
        }
        let unit_len = s
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        let unit = &s[..unit_len];
        s = &s[unit_len..];
        if unit.is_empty() {
            return Err(format!("time: missing unit in duration {}", quote(text)));
        }
        let scale: u128 = match unit {
            "ns" => 1,
            "us" | "\u{b5}s" | "\u{3bc}s" => 1_000,
            "ms" => 1_000_000,
            "s" => 1_000_000_000,
            "m" => 60_000_000_000,
            "h" => 3_600_000_000_000,
            _ => {
                return Err(format!(
                    "time: unknown unit {} in duration {}",
                    quote(unit),
                    quote(text)
                ));
            }
        };
        let whole: u128 = if int_part.is_empty() {
            0
        } else {
            int_part.parse().map_err(|_| invalid())?
        };
        let mut v = whole.checked_mul(scale).ok_or_else(invalid)?;
        if !frac_part.is_empty() {
            let mut f = 0u128;
            let mut div = 1u128;
            for c in frac_part.bytes().take(30) {
                f = f * 10 + (c - b'0') as u128;
                div *= 10;
            }
            v += f * scale / div;
        }
        total += v;
        if total > (1u128 << 63) {
            return Err(invalid());
        }
    }
    if !neg && total > i64::MAX as u128 {
        return Err(invalid());
    }
    Ok(if neg {
        (total as i128).wrapping_neg() as i64
    } else {
        total as i64
    })
}

/// `fmtFrac`: `.123` of `v / 10^prec` without trailing zeros, and the integer part.
fn frac_part(v: u64, prec: u32) -> (String, u64) {
    let p = 10u64.pow(prec);
    let frac = v % p;
    if frac == 0 {
        return (String::new(), v / p);
    }
    let digits = format!("{:0w$}", frac, w = prec as usize);
    (format!(".{}", digits.trim_end_matches('0')), v / p)
}

/// Go's `Duration.String`: `1h2m3.5s`, `1.5ms`, `0s`.
pub fn format_duration(d: i64) -> String {
    let neg = d < 0;
    let u = d.unsigned_abs();
    let body = if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".into(),
            1..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        let (frac, int) = frac_part(u, prec);
        format!("{int}{frac}{unit}")
    } else {
        let (frac, secs) = frac_part(u, 9);
        let mut s = format!("{}{frac}s", secs % 60);
        let mins = secs / 60;
        if mins > 0 {
            s = format!("{}m{s}", mins % 60);
            let hours = mins / 60;
            if hours > 0 {
                s = format!("{hours}h{s}");
            }
        }
        s
    };
    if neg { format!("-{body}") } else { body }
}

/// Go's `Duration.Round(m)`: halves away from zero.
fn round_duration(d: i64, m: i64) -> i64 {
    let r = d % m;
    if d < 0 {
        let r = -r;
        if r + r < m {
            d + r
        } else {
            d.checked_sub(m - r).unwrap_or(i64::MIN)
        }
    } else if r + r < m {
        d - r
    } else {
        d.checked_add(m - r).unwrap_or(i64::MAX)
    }
}

/// sprig's `durationRound`: the largest whole unit (y, mo, d, h, m, s) strictly exceeded.
fn duration_round(d: i64) -> String {
    let u = d.unsigned_abs();
    const SECOND: u64 = 1_000_000_000;
    let units: [(u64, &str); 6] = [
        (SECOND * 3600 * 24 * 365, "y"),
        (SECOND * 3600 * 24 * 30, "mo"),
        (SECOND * 3600 * 24, "d"),
        (SECOND * 3600, "h"),
        (SECOND * 60, "m"),
        (SECOND, "s"),
    ];
    for (size, name) in units {
        if u > size {
            return format!("{}{name}", u / size);
        }
    }
    "0s".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::gotmpl::tests::render_plain as r;

    /// Each expectation was checked against helm 4.1.4 (TZ unset, /etc/localtime UTC).
    #[test]
    fn dates_format_and_parse_like_go() {
        let sample = r#"(toDate "2006-01-02 15:04:05.000" "2024-02-03 04:05:06.120")"#;
        assert_eq!(
            r(&format!(
                "{{{{ date \"Mon Monday Jan January 1 01 2 02 _2 002 __2 3 03 15 4 04 5 05 06 PM pm .000 .999 ,9 Z07:00 -07 -0700 MST\" {sample} }}}}"
            )),
            "Sat Saturday Feb February 2 02 3 03  3 034  34 4 04 04 5 05 6 06 24 AM am .120 .12 ,1 Z +00 +0000 UTC"
        );
        assert_eq!(
            r(
                r#"{{ toDate "2006-01-02" "bad" }}|{{ toDate "2006-01-02 15:04:05.000 -0700 MST" "2024-02-03 04:05:06.789 +0100 CET" }}|{{ (toDate "2006-01-02" "2024-02-03").Unix }}|{{ toDate "Jan _2 3:04PM" "Feb  3 4:05PM" }}"#
            ),
            "0001-01-01 00:00:00 +0000 UTC|2024-02-03 04:05:06.789 +0100 CET|1706918400|0000-02-03 16:05:00 +0000 UTC"
        );
        assert_eq!(
            r(
                r#"{{ toDate "2006-01-02" "2024-02-03" | dateModify "-1.5h" }}|{{ toDate "2006-01-02" "2024-02-03" | unixEpoch }}|{{ toDate "2006-01-02" "2024-02-03" | toJson }}|{{ (toDate "2006-01-02" "2024-02-03").Year }}"#
            ),
            "2024-02-02 22:30:00 +0000 UTC|1706918400|\"2024-02-03T00:00:00Z\"|2024"
        );
        assert_eq!(
            r(
                r#"{{ dateInZone "2006-01-02 15:04 MST" (toDate "2006-01-02" "2024-07-01") "America/New_York" }}|{{ dateInZone "15:04 MST" 0 "Bad/Zone" }}|{{ date "2006" 0 }}|{{ typeOf now }}|{{ kindOf now }}|{{ date "2006" 1.5 | len }}"#
            ),
            "2024-06-30 20:00 EDT|00:00 UTC|1970|time.Time|struct|4"
        );
        assert!(
            r(r#"{{ mustToDate "2006-01-02" "2024-13-01" }}"#)
                .ends_with("parsing time \"2024-13-01\": month out of range")
        );
        assert!(
            r(r#"{{ mustToDate "2006-01-02" "2024-01-01x" }}"#)
                .ends_with("parsing time \"2024-01-01x\": extra text: \"x\"")
        );
        assert!(r(r#"{{ mustToDate "2006-01-02" "24-01-01" }}"#).ends_with(
            "parsing time \"24-01-01\" as \"2006-01-02\": cannot parse \"24-01-01\" as \"2006\""
        ));
        assert!(
            r(r#"{{ mustDateModify "1x" now }}"#)
                .ends_with("time: unknown unit \"x\" in duration \"1x\"")
        );
    }

    /// Zones, offsets and day-of-year parsing, as helm 4.1.4 renders them.
    #[test]
    fn zones_like_go() {
        assert_eq!(
            r(
                r#"{{ toDate "2006-01-02T15:04:05Z07:00" "2024-01-01T10:00:00+02:00" }}|{{ toDate "2006-01-02T15:04:05Z07:00" "2024-01-01T10:00:00Z" }}|{{ toDate "02 Jan 06 15:04 MST" "05 Mar 24 10:00 PST" }}|{{ dateInZone "Mon Jan _2 15:04:05 2006" (toDate "2006-01-02" "2024-03-31") "Europe/Berlin" }}|{{ (toDate "2006-01-02" "2024-02-03").Format "Jan 2" }}|{{ toDate "2006-002" "2024-060" }}"#
            ),
            "2024-01-01 10:00:00 +0200 +0200|2024-01-01 10:00:00 +0000 UTC|2024-03-05 10:00:00 +0000 PST|Sun Mar 31 01:00:00 2024|Feb 3|2024-02-29 00:00:00 +0000 UTC"
        );
    }

    #[test]
    fn durations_like_go() {
        assert_eq!(
            r(
                r#"{{ duration "90" }}|{{ duration "3725" }}|{{ durationRound "2h10m" }}|{{ durationRound 3600000000000 }}|{{ ago 0 | len | lt 10 }}"#
            ),
            "1m30s|1h2m5s|2h|60m|true"
        );
        assert_eq!(format_duration(1_500_000), "1.5ms");
        assert_eq!(format_duration(-90_000_000_000), "-1m30s");
        assert_eq!(format_duration(1_000), "1\u{b5}s");
        assert_eq!(parse_duration("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(
            parse_duration("1"),
            Err("time: missing unit in duration \"1\"".into())
        );
        assert_eq!(
            parse_duration(""),
            Err("time: invalid duration \"\"".into())
        );
        assert_eq!(round_duration(1_499_999_999, 1_000_000_000), 1_000_000_000);
        assert_eq!(
            round_duration(-1_500_000_000, 1_000_000_000),
            -2_000_000_000
        );
    }
}

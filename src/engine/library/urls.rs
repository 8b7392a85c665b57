//! sprig's `path` and `url` helpers: Go's `path.Base`/`Dir`/`Ext`/`Clean`/`IsAbs` (also
//! registered as the `os…` forms, which are the same on Linux), `urlParse` (a dict of the
//! parts Go's `url.Parse` finds) and `urlJoin` (`url.URL.String` of such a dict).

use std::collections::BTreeMap;

use super::super::CallError;
use super::super::value::{Map, Value};
use super::super::{FnResult, Funcs, arg_str};
use super::arg_map;

/// Go's `path.Clean`: lexical processing of `.`, `..` and repeated slashes.
pub fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

/// Go's `path.Base`.
pub fn path_base(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let trimmed = p.trim_end_matches('/');
    if trimmed.is_empty() {
        return "/".into();
    }
    trimmed
        .rsplit_once('/')
        .map_or(trimmed, |(_, b)| b)
        .to_string()
}

/// Go's `path.Dir`.
pub fn path_dir(p: &str) -> String {
    let dir = p.rfind('/').map_or("", |i| &p[..=i]);
    path_clean(dir)
}

/// Go's `path.Ext`.
pub fn path_ext(p: &str) -> String {
    for (i, c) in p.char_indices().rev() {
        if c == '/' {
            break;
        }
        if c == '.' {
            return p[i..].to_string();
        }
    }
    String::new()
}

pub fn register(f: &mut Funcs) {
    for name in ["base", "osBase"] {
        f.add(name, 1, |a| Ok(Value::from(path_base(&arg_str(&a[0])?))));
    }
    for name in ["dir", "osDir"] {
        f.add(name, 1, |a| Ok(Value::from(path_dir(&arg_str(&a[0])?))));
    }
    for name in ["clean", "osClean"] {
        f.add(name, 1, |a| Ok(Value::from(path_clean(&arg_str(&a[0])?))));
    }
    for name in ["ext", "osExt"] {
        f.add(name, 1, |a| Ok(Value::from(path_ext(&arg_str(&a[0])?))));
    }
    for name in ["isAbs", "osIsAbs"] {
        f.add(name, 1, |a| {
            Ok(Value::Bool(arg_str(&a[0])?.starts_with('/')))
        });
    }
    f.add("urlParse", 1, |a| url_parse(&arg_str(&a[0])?));
    f.add("urlJoin", 1, |a| {
        let m = arg_map(&a[0])?;
        url_join(m.as_ref())
    });
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// Go's `url.PathUnescape`-like decoding (`%XX`); `None` for a malformed escape.
fn unescape(s: &str, plus_is_space: bool) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' => {
                if i + 2 >= b.len() || !is_hex(b[i + 1]) || !is_hex(b[i + 2]) {
                    return None;
                }
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' if plus_is_space => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    Some(String::from_utf8_lossy(&out).into_owned())
}

/// The parts of a URL as Go's `url.Parse` splits them.
#[derive(Default)]
struct Url {
    scheme: String,
    opaque: String,
    user: Option<String>,
    host: String,
    path: String,
    raw_query: String,
    fragment: String,
}

fn parse_url(raw: &str) -> Result<Url, String> {
    let err = |msg: &str| format!("parse \"{raw}\": {msg}");
    let mut u = Url::default();
    let (rest, frag) = match raw.split_once('#') {
        Some((r, f)) => (r, Some(f)),
        None => (raw, None),
    };
    if let Some(f) = frag {
        u.fragment = unescape(f, false).ok_or_else(|| err("invalid URL escape"))?;
    }
    if rest.bytes().any(|c| c < 0x20 || c == 0x7f) {
        return Err(err("net/url: invalid control character in URL"));
    }
    // Scheme.
    let mut rest = rest;
    if let Some(i) = rest.find(':') {
        let candidate = &rest[..i];
        let valid = !candidate.is_empty()
            && candidate.as_bytes()[0].is_ascii_alphabetic()
            && candidate
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'-' | b'.'));
        if valid {
            u.scheme = candidate.to_ascii_lowercase();
            rest = &rest[i + 1..];
        } else if i == 0 {
            return Err(err("missing protocol scheme"));
        }
    }
    if let Some((r, q)) = rest.split_once('?') {
        u.raw_query = q.to_string();
        rest = r;
    }
    if !rest.starts_with('/') && !u.scheme.is_empty() {
        u.opaque = rest.to_string();
        return Ok(u);
    }
    if u.scheme.is_empty()
        && !rest.starts_with('/')
        && rest.split('/').next().is_some_and(|seg| seg.contains(':'))
    {
        return Err(err("first path segment in URL cannot contain colon"));
    }
    if rest.starts_with("//") {
        let after = &rest[2..];
        let (authority, path) = match after.find('/') {
            Some(i) => (&after[..i], &after[i..]),
            None => (after, ""),
        };
        let host = match authority.rfind('@') {
            Some(i) => {
                u.user = Some(authority[..i].to_string());
                &authority[i + 1..]
            }
            None => authority,
        };
        u.host = unescape(host, false).ok_or_else(|| err("invalid URL escape"))?;
        rest = path;
    }
    u.path = unescape(rest, false).ok_or_else(|| err("invalid URL escape"))?;
    Ok(u)
}

/// `url.Userinfo.String()`: the user name and password escaped for the userinfo part.
fn userinfo_string(raw: &str) -> String {
    let (user, pass) = match raw.split_once(':') {
        Some((u, p)) => (u, Some(p)),
        None => (raw, None),
    };
    let esc = |s: &str| {
        let decoded = unescape(s, false).unwrap_or_else(|| s.to_string());
        escape(&decoded, |c| kept(c, USERINFO_KEEPS))
    };
    match pass {
        Some(p) => format!("{}:{}", esc(user), esc(p)),
        None => esc(user),
    }
}

/// Bytes Go's `url` package leaves unescaped in a path (a fragment also keeps `?`).
fn path_byte(c: u8) -> bool {
    kept(c, PATH_KEEPS)
}

/// The punctuation Go's `url` package leaves unescaped in each part (letters and digits
/// are always kept).
const USERINFO_KEEPS: &[u8] = b"-_.~$&'()*+,;=";
const HOST_KEEPS: &[u8] = b"-_.~!$&'()*+,;=:[]<>\"";
const PATH_KEEPS: &[u8] = b"-_.~$&+,/:;=@!'()*";

/// Whether `c` stays as it is in a part that keeps `punctuation`.
fn kept(c: u8, punctuation: &[u8]) -> bool {
    c.is_ascii_alphanumeric() || punctuation.contains(&c)
}

fn escape(s: &str, keep: impl Fn(u8) -> bool) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if keep(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn url_parse(raw: &str) -> FnResult {
    let u = parse_url(raw).map_err(|e| CallError::from(format!("unable to parse url: {e}")))?;
    let hostname = if let Some(stripped) = u.host.strip_prefix('[') {
        stripped.split(']').next().unwrap_or("").to_string()
    } else {
        u.host
            .rsplit_once(':')
            .map_or(u.host.as_str(), |(h, _)| h)
            .to_string()
    };
    let mut m = BTreeMap::new();
    m.insert("scheme".into(), Value::from(u.scheme.as_str()));
    m.insert("host".into(), Value::from(u.host.as_str()));
    m.insert("hostname".into(), Value::from(hostname));
    m.insert("path".into(), Value::from(u.path.as_str()));
    m.insert("query".into(), Value::from(u.raw_query.as_str()));
    m.insert("opaque".into(), Value::from(u.opaque.as_str()));
    m.insert("fragment".into(), Value::from(u.fragment.as_str()));
    m.insert(
        "userinfo".into(),
        Value::from(u.user.as_deref().map(userinfo_string).unwrap_or_default()),
    );
    Ok(Value::from(m))
}

fn url_join(m: Option<&Map>) -> FnResult {
    let get = |key: &str| -> Result<String, CallError> {
        let Some(m) = m else {
            return Ok(String::new());
        };
        match m.borrow().get(key) {
            None => Ok(String::new()),
            Some(Value::Str(s)) => Ok(s.to_string()),
            Some(other) => Err(CallError::from(format!(
                "unable to parse {key} key, must be of type string, but {} found",
                if other.is_nil() {
                    "<nil>".to_string()
                } else {
                    other.type_name()
                }
            ))),
        }
    };
    let scheme = get("scheme")?;
    let host = get("host")?;
    let path = get("path")?;
    let query = get("query")?;
    let opaque = get("opaque")?;
    let fragment = get("fragment")?;
    let userinfo = get("userinfo")?;
    let mut out = String::new();
    if !scheme.is_empty() {
        out.push_str(&scheme);
        out.push(':');
    }
    if !opaque.is_empty() {
        out.push_str(&opaque);
    } else {
        if !scheme.is_empty() || !host.is_empty() || !userinfo.is_empty() {
            if !host.is_empty() || !path.is_empty() || !userinfo.is_empty() {
                out.push_str("//");
            }
            if !userinfo.is_empty() {
                out.push_str(&userinfo_string(&userinfo));
                out.push('@');
            }
            out.push_str(&escape(&host, |c| kept(c, HOST_KEEPS)));
        }
        if !path.is_empty() && !path.starts_with('/') && !host.is_empty() {
            out.push('/');
        }
        if out.is_empty()
            && let Some(i) = path.find(':')
            && !path[..i].contains('/')
        {
            out.push_str("./");
        }
        out.push_str(&escape(&path, path_byte));
    }
    if !query.is_empty() {
        out.push('?');
        out.push_str(&query);
    }
    if !fragment.is_empty() {
        out.push('#');
        out.push_str(&escape(&fragment, |c| c == b'?' || path_byte(c)));
    }
    Ok(Value::from(out))
}

#[cfg(test)]
mod tests {
    use crate::engine::gotmpl::tests::{call_error as err, render_plain as r};

    /// Each expectation was checked against helm 4.1.4.
    #[test]
    fn paths_and_urls() {
        assert_eq!(
            r(
                "{{ base \"a/b.txt\" }}|{{ dir \"a/b/c\" }}|{{ ext \"x.tar.gz\" }}|{{ clean \"a//b/../c/\" }}|{{ isAbs \"/x\" }}"
            ),
            "b.txt|a/b|.gz|a/c|true"
        );
        assert_eq!(
            r(
                "{{ base \"\" }}|{{ dir \"\" }}|{{ base \"/\" }}|{{ dir \"x\" }}|{{ clean \"/../a\" }}"
            ),
            ".|.|/|.|/a"
        );
        assert_eq!(
            r("{{ urlParse \"https://u:p@ex.com:8080/a/b?x=1#f\" }}"),
            "map[fragment:f host:ex.com:8080 hostname:ex.com opaque: path:/a/b query:x=1 scheme:https userinfo:u:p]"
        );
        assert_eq!(
            r(
                "{{ urlJoin (dict \"scheme\" \"https\" \"host\" \"ex.com\" \"path\" \"/a b\" \"query\" \"x=1\") }}"
            ),
            "https://ex.com/a%20b?x=1"
        );
        assert_eq!(
            r(
                "{{ urlParse \"mailto:joe@x.com?subject=hi\" }}|{{ urlParse \"/rel/p%20a?q#f%20x\" }}|{{ urlParse \"http://[::1]:80/x\" }}|{{ urlParse \"//host/p\" }}"
            ),
            "map[fragment: host: hostname: opaque:joe@x.com path: query:subject=hi scheme:mailto userinfo:]|map[fragment:f x host: hostname: opaque: path:/rel/p a query:q scheme: userinfo:]|map[fragment: host:[::1]:80 hostname:::1 opaque: path:/x query: scheme:http userinfo:]|map[fragment: host:host hostname:host opaque: path:/p query: scheme: userinfo:]"
        );
        assert_eq!(
            r(
                "{{ urlJoin (dict \"scheme\" \"http\" \"host\" \"h\" \"path\" \"p\" \"userinfo\" \"u:p@s\" \"fragment\" \"a b\") }}|{{ urlJoin (dict \"path\" \"a:b\") }}|{{ urlJoin (dict \"opaque\" \"x\" \"scheme\" \"mailto\") }}|{{ urlJoin (dict \"host\" \"h\" \"query\" \"a=b c\") }}"
            ),
            "http://u:p%40s@h/p#a%20b|./a:b|mailto:x|//h?a=b c"
        );
        assert_eq!(
            err("{{ urlParse \"ht tp://x\" }}"),
            "urlParse: unable to parse url: parse \"ht tp://x\": first path segment in URL cannot contain colon"
        );
        assert_eq!(
            r(
                "{{ base \"a/b/\" }}|{{ dir \"/a\" }}|{{ ext \"a.b/c\" }}|{{ clean \"\" }}|{{ clean \"../../a/..\" }}|{{ osBase \"\" }}|{{ isAbs \"a\" }}"
            ),
            "b|/||.|../..|.|false"
        );
    }
}

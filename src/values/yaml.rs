//! Reading values YAML the way helm does: helm decodes values files with YAML 1.1 rules
//! (`yes`/`on`/`y` are booleans, `0644` is octal, `1_000` is a number), merges the documents
//! of a multi-document file, stringifies non-string mapping keys and applies `<<` merge keys.
//! serde_yaml does the parsing; this module only re-resolves *plain* (unquoted) scalars that
//! YAML 1.2 leaves as strings but YAML 1.1 does not.

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};
use std::fmt;

/// Parses every document of `text` into JSON values, helm style. Empty documents are `Null`.
pub(crate) fn documents(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    if let Some(value) = super::fast_yaml::read(text) {
        return Ok(vec![value]);
    }
    read_with_serde_yaml(text)
}

/// [`documents`] by serde_yaml alone, for any YAML.
pub(super) fn read_with_serde_yaml(text: &str) -> Result<Vec<Value>, serde_yaml::Error> {
    let mut out = Vec::new();
    for document in serde_yaml::Deserializer::from_str(text) {
        let node = HelmNode { source: text }.deserialize(document)?;
        out.push(match node {
            Node::Value(value) => value,
            Node::MergeKey => Value::String("<<".to_string()),
        });
    }
    Ok(out)
}

/// What one YAML node decodes to: a value, or the plain `<<` merge key.
enum Node {
    Value(Value),
    MergeKey,
}

/// A seed that remembers the source text, so that a borrowed string can be told apart as a
/// plain scalar (its first byte is not preceded by a quote) or a quoted one.
#[derive(Clone, Copy)]
struct HelmNode<'s> {
    source: &'s str,
}

impl HelmNode<'_> {
    fn is_plain(&self, scalar: &str) -> bool {
        let base = self.source.as_ptr() as usize;
        let start = scalar.as_ptr() as usize;
        if start < base || start > base + self.source.len() {
            return false;
        }
        let offset = start - base;
        if offset > 0 && matches!(self.source.as_bytes()[offset - 1], b'"' | b'\'') {
            return false;
        }
        !preceded_by_tag(self.source, offset)
    }
}

/// Whether the scalar written at `offset` of `source` follows a tag on its line: an
/// explicitly tagged scalar (`!!str 12`) is taken as written.
pub(super) fn preceded_by_tag(source: &str, offset: usize) -> bool {
    let before = &source.as_bytes()[..offset];
    let end = before
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    let start = before[..end]
        .iter()
        .rposition(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .map_or(0, |i| i + 1);
    start < end && before[start] == b'!'
}

impl<'de> DeserializeSeed<'de> for HelmNode<'_> {
    type Value = Node;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Node, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for HelmNode<'_> {
    type Value = Node;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a YAML value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Node, E> {
        Ok(Node::Value(Value::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Node, E> {
        Ok(Node::Value(Value::from(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Node, E> {
        Ok(Node::Value(Value::from(v)))
    }

    /// Integers beyond 64 bits become floats, as helm's YAML 1.1 resolution makes them.
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<Node, E> {
        self.visit_f64(v as f64)
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<Node, E> {
        self.visit_f64(v as f64)
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Node, E> {
        finite(v).map(Node::Value).map_err(E::custom)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Value(Value::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<Node, E> {
        Ok(Node::Value(Value::Null))
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Node, E> {
        if !self.is_plain(v) {
            return Ok(Node::Value(Value::String(v.to_string())));
        }
        if v == "<<" {
            return Ok(Node::MergeKey);
        }
        resolve_plain_yaml11(v).map(Node::Value).map_err(E::custom)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Node, E> {
        Ok(Node::Value(Value::String(v.to_string())))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Node, A::Error> {
        let mut items = Vec::new();
        while let Some(node) = seq.next_element_seed(self)? {
            items.push(match node {
                Node::Value(value) => value,
                Node::MergeKey => Value::String("<<".to_string()),
            });
        }
        Ok(Node::Value(Value::Array(items)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Node, A::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key_seed(self)? {
            let value = match map.next_value_seed(self)? {
                Node::Value(value) => value,
                Node::MergeKey => Value::String("<<".to_string()),
            };
            match key {
                Node::MergeKey => apply_merge_key(&mut out, value).map_err(de::Error::custom)?,
                Node::Value(key) => {
                    out.insert(key_string(&key).map_err(de::Error::custom)?, value);
                }
            }
        }
        Ok(Node::Value(Value::Object(out)))
    }

    fn visit_enum<A: de::EnumAccess<'de>>(self, data: A) -> Result<Node, A::Error> {
        // A custom `!tag value`: helm ignores unknown tags and keeps the value.
        use de::VariantAccess;
        let (_tag, variant): (String, _) = data.variant()?;
        variant.newtype_variant_seed(self)
    }
}

pub(super) fn finite(v: f64) -> Result<Value, String> {
    Number::from_f64(v)
        .map(Value::Number)
        .ok_or_else(|| format!("unsupported value: {v} (values must be finite numbers)"))
}

/// `<<: *anchor` (or a list of them): the merged mappings' keys are set in place; of a list,
/// the first mapping wins, and keys written after the merge key override it.
fn apply_merge_key(out: &mut Map<String, Value>, value: Value) -> Result<(), String> {
    match value {
        Value::Object(merged) => out.extend(merged),
        Value::Array(list) => {
            for item in list.into_iter().rev() {
                match item {
                    Value::Object(merged) => out.extend(merged),
                    _ => return Err("map merge requires map or sequence of maps".to_string()),
                }
            }
        }
        _ => return Err("map merge requires map or sequence of maps".to_string()),
    }
    Ok(())
}

/// Mapping keys become strings as helm's YAML-to-JSON conversion makes them.
pub(super) fn key_string(key: &Value) -> Result<String, String> {
    match key {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (_, Some(u), _) => u.to_string(),
            (_, _, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            _ => n.to_string(),
        }),
        Value::Null => Err("unsupported map key: null".to_string()),
        Value::Array(_) | Value::Object(_) => {
            Err("unsupported map key: a list or map cannot be a key".to_string())
        }
    }
}

/// YAML 1.1 resolution (as helm's go-yaml v2) of a plain scalar that YAML 1.2 left a string.
fn resolve_plain_yaml11(v: &str) -> Result<Value, String> {
    Ok(yaml11_non_string(v)?.unwrap_or_else(|| Value::String(v.to_string())))
}

/// [`resolve_plain_yaml11`], with `None` for a scalar that stays a string.
pub(super) fn yaml11_non_string(v: &str) -> Result<Option<Value>, String> {
    match v {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
            return Ok(Some(Value::Bool(true)));
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" => {
            return Ok(Some(Value::Bool(false)));
        }
        ".nan" | ".NaN" | ".NAN" => return finite(f64::NAN).map(Some),
        _ => {}
    }
    let first = v.as_bytes().first().copied().unwrap_or(b' ');
    if first.is_ascii_digit() || first == b'+' || first == b'-' {
        let plain: String = v.chars().filter(|c| *c != '_').collect();
        if let Some(number) = go_parse_int(&plain) {
            return Ok(Some(number));
        }
        if is_yaml_style_float(&plain)
            && let Ok(f) = plain.parse::<f64>()
        {
            return finite(f).map(Some);
        }
    } else if first == b'.'
        && let Ok(f) = v.parse::<f64>()
        && !v.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E')
    {
        return finite(f).map(Some);
    }
    Ok(None)
}

/// Go's `strconv.ParseInt(s, 0, 64)` then `ParseUint(s, 0, 64)`: optional sign, `0x`/`0o`/`0b`
/// prefixes, a leading `0` meaning octal.
fn go_parse_int(s: &str) -> Option<Value> {
    let (negative, body) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    let (radix, digits) = if let Some(rest) = lower.strip_prefix("0x") {
        (16, rest)
    } else if let Some(rest) = lower.strip_prefix("0o") {
        (8, rest)
    } else if let Some(rest) = lower.strip_prefix("0b") {
        (2, rest)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    if negative {
        if magnitude <= i64::MAX as u64 + 1 {
            return Some(Value::from((magnitude as i128).wrapping_neg() as i64));
        }
        return None;
    }
    if s.starts_with('+') && magnitude > i64::MAX as u64 {
        return None;
    }
    Some(Value::from(magnitude))
}

/// go-yaml v2's `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn is_yaml_style_float(s: &str) -> bool {
    let s = s.strip_prefix(['-', '+']).unwrap_or(s);
    let (mantissa, exponent) = match s.find(['e', 'E']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => digits(frac),
        Some((int, frac)) => digits(int) && (frac.is_empty() || digits(frac)),
        None => digits(mantissa),
    };
    let exponent_ok = match exponent {
        None => true,
        Some(e) => digits(e.strip_prefix(['-', '+']).unwrap_or(e)),
    };
    mantissa_ok && exponent_ok
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(text: &str) -> Value {
        documents(text).unwrap().remove(0)
    }

    #[test]
    fn yaml11_booleans_apply_to_plain_scalars_only() {
        assert_eq!(
            one("a: yes\nb: 'yes'\nc: \"on\"\nd: Off\ne: y\nf: |\n  on\n"),
            json!({"a": true, "b": "yes", "c": "on", "d": false, "e": true, "f": "on\n"})
        );
    }

    #[test]
    fn yaml11_numbers_octal_underscores_and_leading_zeros() {
        assert_eq!(
            one("o: 0644\nu: 1_000\nneg: -017\ne: 08\nh: 0x1F\nq: '0644'\nf: 1.50\nt: 1:20"),
            json!({"o": 420, "u": 1000, "neg": -15, "e": 8.0, "h": 31, "q": "0644", "f": 1.5, "t": "1:20"})
        );
    }

    #[test]
    fn keys_are_stringified_like_helm() {
        assert_eq!(
            one("1: a\nyes: b\n0644: c\n1e3: d\n\"q\": e"),
            json!({"1": "a", "true": "b", "420": "c", "1000": "d", "q": "e"})
        );
        assert!(documents("~: a").is_err());
    }

    #[test]
    fn merge_keys_apply_in_order() {
        assert_eq!(
            one("b: &b {x: 1, z: 2}\nd:\n  <<: *b\n  z: 3\ne:\n  z: 3\n  <<: *b\n"),
            json!({"b": {"x": 1, "z": 2}, "d": {"x": 1, "z": 3}, "e": {"x": 1, "z": 2}})
        );
    }

    #[test]
    fn explicitly_tagged_strings_stay_strings() {
        assert_eq!(
            one("a: !!str 12\nb: !!str yes"),
            json!({"a": "12", "b": "yes"})
        );
    }

    #[test]
    fn infinities_are_refused() {
        assert!(documents("a: .inf").is_err());
    }
}

//! Decoding of Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) for the
//! kinds client-go's typed clients send that way in practice: Secret and ConfigMap (helm's release
//! storage, `kubectl create`), Namespace, and DeleteOptions. Responses are always JSON.

use base64::Engine;
use serde_json::{Map, Value, json};

/// A protobuf body that could not be decoded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ProtoError {
    #[error("the protobuf body does not start with the k8s envelope")]
    MissingEnvelope,
    #[error("the protobuf body is truncated or malformed")]
    Malformed,
    #[error("kubesim cannot decode protobuf bodies of kind {0}; send JSON")]
    UnsupportedKind(String),
}

enum Field<'a> {
    Varint(u64),
    Bytes(&'a [u8]),
    Fixed,
}

struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Result<u64, ProtoError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.buf.split_first().ok_or(ProtoError::Malformed)?;
            self.buf = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(ProtoError::Malformed)
    }

    fn next(&mut self) -> Result<Option<(u64, Field<'a>)>, ProtoError> {
        if self.buf.is_empty() {
            return Ok(None);
        }
        let tag = self.varint()?;
        let field = match tag & 7 {
            0 => Field::Varint(self.varint()?),
            1 | 5 => {
                let n = if tag & 7 == 1 { 8 } else { 4 };
                if self.buf.len() < n {
                    return Err(ProtoError::Malformed);
                }
                self.buf = &self.buf[n..];
                Field::Fixed
            }
            2 => {
                let len = self.varint()? as usize;
                if self.buf.len() < len {
                    return Err(ProtoError::Malformed);
                }
                let (bytes, rest) = self.buf.split_at(len);
                self.buf = rest;
                Field::Bytes(bytes)
            }
            _ => return Err(ProtoError::Malformed),
        };
        Ok(Some((tag >> 3, field)))
    }
}

fn fields(buf: &[u8]) -> Result<Vec<(u64, Field<'_>)>, ProtoError> {
    let mut r = Reader { buf };
    let mut out = Vec::new();
    while let Some(f) = r.next()? {
        out.push(f);
    }
    Ok(out)
}

fn string(bytes: &[u8]) -> Value {
    Value::String(String::from_utf8_lossy(bytes).to_string())
}

/// A `map<string, string>` entry (or `map<string, bytes>` when `binary`, as base64).
fn map_entry(bytes: &[u8], binary: bool) -> Result<(String, Value), ProtoError> {
    let mut key = String::new();
    let mut value = json!("");
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => key = String::from_utf8_lossy(b).to_string(),
            (2, Field::Bytes(b)) if binary => {
                value = json!(base64::engine::general_purpose::STANDARD.encode(b))
            }
            (2, Field::Bytes(b)) => value = string(b),
            _ => {}
        }
    }
    Ok((key, value))
}

fn time(bytes: &[u8]) -> Result<Value, ProtoError> {
    let mut seconds = 0i64;
    for (n, f) in fields(bytes)? {
        if let (1, Field::Varint(v)) = (n, f) {
            seconds = v as i64;
        }
    }
    Ok(chrono::DateTime::from_timestamp(seconds, 0)
        .map(|t| json!(t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)))
        .unwrap_or(Value::Null))
}

fn owner_reference(bytes: &[u8]) -> Result<Value, ProtoError> {
    let mut o = Map::new();
    for (n, f) in fields(bytes)? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                o.insert("kind".into(), string(b));
            }
            (3, Field::Bytes(b)) => {
                o.insert("name".into(), string(b));
            }
            (4, Field::Bytes(b)) => {
                o.insert("uid".into(), string(b));
            }
            (5, Field::Bytes(b)) => {
                o.insert("apiVersion".into(), string(b));
            }
            (6, Field::Varint(v)) => {
                o.insert("controller".into(), json!(v != 0));
            }
            (7, Field::Varint(v)) => {
                o.insert("blockOwnerDeletion".into(), json!(v != 0));
            }
            _ => {}
        }
    }
    Ok(Value::Object(o))
}

fn object_meta(bytes: &[u8]) -> Result<Value, ProtoError> {
    let mut m = Map::new();
    let mut labels = Map::new();
    let mut annotations = Map::new();
    let mut owners = Vec::new();
    let mut finalizers = Vec::new();
    for (n, f) in fields(bytes)? {
        let name = match n {
            1 => "name",
            2 => "generateName",
            3 => "namespace",
            5 => "uid",
            6 => "resourceVersion",
            _ => "",
        };
        match (n, f) {
            (1..=3 | 5 | 6, Field::Bytes(b)) => {
                m.insert(name.into(), string(b));
            }
            (7, Field::Varint(v)) => {
                m.insert("generation".into(), json!(v as i64));
            }
            (8, Field::Bytes(b)) => {
                m.insert("creationTimestamp".into(), time(b)?);
            }
            (9, Field::Bytes(b)) => {
                m.insert("deletionTimestamp".into(), time(b)?);
            }
            (11, Field::Bytes(b)) => {
                let (k, v) = map_entry(b, false)?;
                labels.insert(k, v);
            }
            (12, Field::Bytes(b)) => {
                let (k, v) = map_entry(b, false)?;
                annotations.insert(k, v);
            }
            (13, Field::Bytes(b)) => owners.push(owner_reference(b)?),
            (14, Field::Bytes(b)) => finalizers.push(string(b)),
            _ => {}
        }
    }
    if !labels.is_empty() {
        m.insert("labels".into(), Value::Object(labels));
    }
    if !annotations.is_empty() {
        m.insert("annotations".into(), Value::Object(annotations));
    }
    if !owners.is_empty() {
        m.insert("ownerReferences".into(), Value::Array(owners));
    }
    if !finalizers.is_empty() {
        m.insert("finalizers".into(), Value::Array(finalizers));
    }
    Ok(Value::Object(m))
}

/// Field numbers of a kind's top-level fields.
struct Layout {
    /// (field number, JSON name, how to decode)
    fields: &'static [(u64, &'static str, Kind)],
}

#[derive(Clone, Copy)]
enum Kind {
    Meta,
    Str,
    Bool,
    StringMap,
    BytesMap,
    NamespaceSpec,
}

fn layout(kind: &str) -> Option<Layout> {
    Some(match kind {
        "Secret" => Layout {
            fields: &[
                (1, "metadata", Kind::Meta),
                (2, "data", Kind::BytesMap),
                (3, "type", Kind::Str),
                (4, "stringData", Kind::StringMap),
                (5, "immutable", Kind::Bool),
            ],
        },
        "ConfigMap" => Layout {
            fields: &[
                (1, "metadata", Kind::Meta),
                (2, "data", Kind::StringMap),
                (3, "binaryData", Kind::BytesMap),
                (4, "immutable", Kind::Bool),
            ],
        },
        "Namespace" => Layout {
            fields: &[
                (1, "metadata", Kind::Meta),
                (2, "spec", Kind::NamespaceSpec),
            ],
        },
        _ => return None,
    })
}

fn decode_object(kind: &str, raw: &[u8]) -> Result<Value, ProtoError> {
    let layout = layout(kind).ok_or_else(|| ProtoError::UnsupportedKind(kind.to_string()))?;
    let mut obj = Map::new();
    for (n, f) in fields(raw)? {
        let Some((_, name, how)) = layout.fields.iter().find(|(num, _, _)| *num == n) else {
            continue;
        };
        match (how, f) {
            (Kind::Meta, Field::Bytes(b)) => {
                obj.insert((*name).into(), object_meta(b)?);
            }
            (Kind::Str, Field::Bytes(b)) => {
                obj.insert((*name).into(), string(b));
            }
            (Kind::Bool, Field::Varint(v)) => {
                obj.insert((*name).into(), json!(v != 0));
            }
            (Kind::StringMap | Kind::BytesMap, Field::Bytes(b)) => {
                let (k, v) = map_entry(b, matches!(how, Kind::BytesMap))?;
                obj.entry(name.to_string())
                    .or_insert_with(|| json!({}))
                    .as_object_mut()
                    .expect("maps are objects")
                    .insert(k, v);
            }
            (Kind::NamespaceSpec, Field::Bytes(b)) => {
                let finalizers: Vec<Value> = fields(b)?
                    .into_iter()
                    .filter_map(|(n, f)| match (n, f) {
                        (1, Field::Bytes(s)) => Some(string(s)),
                        _ => None,
                    })
                    .collect();
                obj.insert((*name).into(), json!({"finalizers": finalizers}));
            }
            _ => {}
        }
    }
    Ok(Value::Object(obj))
}

fn decode_delete_options(raw: &[u8]) -> Result<Value, ProtoError> {
    let mut obj = Map::new();
    let mut dry_run = Vec::new();
    for (n, f) in fields(raw)? {
        match (n, f) {
            (4, Field::Bytes(b)) => {
                obj.insert("propagationPolicy".into(), string(b));
            }
            (5, Field::Bytes(b)) => dry_run.push(string(b)),
            _ => {}
        }
    }
    if !dry_run.is_empty() {
        obj.insert("dryRun".into(), Value::Array(dry_run));
    }
    Ok(Value::Object(obj))
}

/// Decodes a `k8s\0`-enveloped protobuf body into the JSON object it encodes.
pub fn decode(body: &[u8]) -> Result<Value, ProtoError> {
    let inner = body
        .strip_prefix(b"k8s\0")
        .ok_or(ProtoError::MissingEnvelope)?;
    let mut api_version = String::new();
    let mut kind = String::new();
    let mut raw: &[u8] = &[];
    for (n, f) in fields(inner)? {
        match (n, f) {
            (1, Field::Bytes(b)) => {
                for (tn, tf) in fields(b)? {
                    match (tn, tf) {
                        (1, Field::Bytes(s)) => {
                            api_version = String::from_utf8_lossy(s).to_string()
                        }
                        (2, Field::Bytes(s)) => kind = String::from_utf8_lossy(s).to_string(),
                        _ => {}
                    }
                }
            }
            (2, Field::Bytes(b)) => raw = b,
            _ => {}
        }
    }
    let mut obj = if kind == "DeleteOptions" {
        decode_delete_options(raw)?
    } else {
        decode_object(&kind, raw)?
    };
    obj["apiVersion"] = json!(api_version);
    obj["kind"] = json!(kind);
    Ok(obj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(out: &mut Vec<u8>, n: u64, bytes: &[u8]) {
        let mut varint = |mut v: u64| {
            loop {
                let b = (v & 0x7f) as u8;
                v >>= 7;
                if v == 0 {
                    out.push(b);
                    break;
                }
                out.push(b | 0x80);
            }
        };
        varint(n << 3 | 2);
        varint(bytes.len() as u64);
        out.extend_from_slice(bytes);
    }

    fn entry(k: &str, v: &[u8]) -> Vec<u8> {
        let mut e = Vec::new();
        field(&mut e, 1, k.as_bytes());
        field(&mut e, 2, v);
        e
    }

    #[test]
    fn decodes_a_secret_with_labels_and_binary_data() {
        let mut meta = Vec::new();
        field(&mut meta, 1, b"sh.helm.release.v1.demo.v1");
        field(&mut meta, 3, b"default");
        field(&mut meta, 11, &entry("owner", b"helm"));
        let mut secret = Vec::new();
        field(&mut secret, 1, &meta);
        field(&mut secret, 2, &entry("release", b"\x01\x02"));
        field(&mut secret, 3, b"helm.sh/release.v1");
        let mut type_meta = Vec::new();
        field(&mut type_meta, 1, b"v1");
        field(&mut type_meta, 2, b"Secret");
        let mut unknown = Vec::new();
        field(&mut unknown, 1, &type_meta);
        field(&mut unknown, 2, &secret);
        let mut body = b"k8s\0".to_vec();
        body.extend(unknown);
        let obj = decode(&body).unwrap();
        assert_eq!(
            obj,
            json!({"apiVersion": "v1", "kind": "Secret", "type": "helm.sh/release.v1",
                "metadata": {"name": "sh.helm.release.v1.demo.v1", "namespace": "default",
                    "labels": {"owner": "helm"}},
                "data": {"release": "AQI="}})
        );
    }

    #[test]
    fn unsupported_kinds_and_garbage_are_rejected() {
        let mut type_meta = Vec::new();
        field(&mut type_meta, 2, b"Deployment");
        let mut unknown = Vec::new();
        field(&mut unknown, 1, &type_meta);
        let mut body = b"k8s\0".to_vec();
        body.extend(unknown);
        assert_eq!(
            decode(&body),
            Err(ProtoError::UnsupportedKind("Deployment".into()))
        );
        assert_eq!(decode(b"{}"), Err(ProtoError::MissingEnvelope));
        assert_eq!(decode(b"k8s\0\x0a\x05ab"), Err(ProtoError::Malformed));
    }
}

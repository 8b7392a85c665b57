//! Reading a rendered document without building it: the fields rudder needs up front
//! (`apiVersion`, `kind`, `metadata`) are kept, everything else is walked once to prove it
//! is YAML that converts to a JSON object, and dropped.
//!
//! Rendering a large chart parses thousands of documents; building (and freeing) a full
//! `serde_json::Value` tree for each is most of that cost. The full object is built later,
//! only for the documents that are applied ([`super::Manifest::object`]).

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// What a rendered document turned out to be.
#[derive(Debug)]
pub(super) enum Document {
    /// Only comments or an explicit null: nothing to apply.
    Empty,
    /// A sequence or scalar where an object was expected.
    NotAMapping,
    /// A mapping: its identifying fields, each as written.
    Object {
        api_version: Option<Value>,
        kind: Option<Value>,
        metadata: Option<Value>,
    },
}

impl Document {
    /// Reads a rendered document: with the fast reader when it has the usual shape (it then
    /// reads exactly as serde_yaml does), else with serde_yaml.
    pub(super) fn read(text: &str) -> Result<Document, serde_yaml::Error> {
        if let Some(mut object) = crate::values::read_yaml_object_header_fast(text) {
            return Ok(Document::Object {
                api_version: object.remove("apiVersion"),
                kind: object.remove("kind"),
                metadata: object.remove("metadata"),
            });
        }
        serde_yaml::from_str(text)
    }
}

impl<'de> de::Deserialize<'de> for Document {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(DocumentVisitor)
    }
}

struct DocumentVisitor;

/// Every non-mapping shape gives [`Document::NotAMapping`] once its content is consumed.
macro_rules! not_a_mapping {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<Document, E> {
            Ok(Document::NotAMapping)
        })*
    };
}

impl<'de> Visitor<'de> for DocumentVisitor {
    type Value = Document;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a Kubernetes object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document::Empty)
    }

    fn visit_none<E: de::Error>(self) -> Result<Document, E> {
        Ok(Document::Empty)
    }

    not_a_mapping!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_i128(i128),
        visit_u128(u128),
        visit_f64(f64),
        visit_str(&str),
        visit_bytes(&[u8]),
    );

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Document, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Document, A::Error> {
        while seq.next_element::<JsonShaped>()?.is_some() {}
        Ok(Document::NotAMapping)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Document, A::Error> {
        let (mut api_version, mut kind, mut metadata) = (None, None, None);
        // Later duplicates win, as they do when the object is built.
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "apiVersion" => api_version = Some(map.next_value()?),
                "kind" => kind = Some(map.next_value()?),
                "metadata" => metadata = Some(map.next_value()?),
                _ => {
                    map.next_value::<JsonShaped>()?;
                }
            }
        }
        Ok(Document::Object {
            api_version,
            kind,
            metadata,
        })
    }
}

/// Accepts exactly what `serde_json::Value` accepts (any scalar, sequences, mappings whose
/// keys read as strings) without keeping any of it.
struct JsonShaped;

impl<'de> de::Deserialize<'de> for JsonShaped {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonShapedVisitor)
    }
}

struct JsonShapedVisitor;

macro_rules! accept_scalars {
    ($($method:ident($ty:ty)),* $(,)?) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<JsonShaped, E> {
            Ok(JsonShaped)
        })*
    };
}

impl<'de> Visitor<'de> for JsonShapedVisitor {
    type Value = JsonShaped;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    accept_scalars!(
        visit_bool(bool),
        visit_i64(i64),
        visit_u64(u64),
        visit_f64(f64),
        visit_str(&str),
    );

    // serde_json numbers are 64-bit: wider integers fail to build, so they fail here.
    fn visit_i128<E: de::Error>(self, v: i128) -> Result<JsonShaped, E> {
        i64::try_from(v)
            .map(|_| JsonShaped)
            .map_err(|_| E::custom("JSON number out of range"))
    }

    fn visit_u128<E: de::Error>(self, v: u128) -> Result<JsonShaped, E> {
        u64::try_from(v)
            .map(|_| JsonShaped)
            .map_err(|_| E::custom("JSON number out of range"))
    }

    fn visit_unit<E: de::Error>(self) -> Result<JsonShaped, E> {
        Ok(JsonShaped)
    }

    fn visit_none<E: de::Error>(self) -> Result<JsonShaped, E> {
        Ok(JsonShaped)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<JsonShaped, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<JsonShaped, A::Error> {
        while seq.next_element::<JsonShaped>()?.is_some() {}
        Ok(JsonShaped)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<JsonShaped, A::Error> {
        while map.next_key_seed(StringKey)?.is_some() {
            map.next_value::<JsonShaped>()?;
        }
        Ok(JsonShaped)
    }
}

/// A mapping key, read the way `serde_json::Value` reads one (as a string), not kept.
struct StringKey;

impl<'de> DeserializeSeed<'de> for StringKey {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(StringKeyVisitor)
    }
}

struct StringKeyVisitor;

impl<'de> Visitor<'de> for StringKeyVisitor {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a string key")
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The header reader must accept and reject exactly what building the object does.
    #[test]
    fn accepts_what_a_json_object_accepts() {
        let cases = [
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: 1, y: [1, 2.5, null, true]}",
            "kind: A\n1: integer key\ntrue: bool key\n",
            "kind: A\nspec: {nested: {deep: [[{a: b}]]}}",
            "kind: A\nanchor: &x {a: 1}\nalias: *x\n",
            "kind: A\nspec: {? [complex, key] : value}\n",
            "kind: A\nnan: .nan\nbig: 123456789012345678901234567890\n",
        ];
        for text in cases {
            let built = serde_yaml::from_str::<Value>(text).map(|_| ());
            let header = serde_yaml::from_str::<Document>(text).map(|_| ());
            assert_eq!(
                built.is_ok(),
                header.is_ok(),
                "{text}: {built:?} vs {header:?}"
            );
        }
    }

    #[test]
    fn keeps_identifying_fields_and_classifies_shapes() {
        let doc: Document =
            serde_yaml::from_str("kind: K\napiVersion: v1\nmetadata:\n  name: n\nspec: {}\n")
                .unwrap();
        let Document::Object {
            api_version,
            kind,
            metadata,
        } = doc
        else {
            panic!("expected an object")
        };
        assert_eq!(api_version, Some(Value::from("v1")));
        assert_eq!(kind, Some(Value::from("K")));
        assert_eq!(metadata.unwrap()["name"], "n");
        assert!(matches!(
            serde_yaml::from_str::<Document>("- a\n- b\n").unwrap(),
            Document::NotAMapping
        ));
        assert!(matches!(
            serde_yaml::from_str::<Document>("just text").unwrap(),
            Document::NotAMapping
        ));
        assert!(matches!(
            serde_yaml::from_str::<Document>("# only a comment\n").unwrap(),
            Document::Empty
        ));
    }
}

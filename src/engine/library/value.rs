//! The values a Go template works on, with Go's semantics: maps are shared references (so
//! `set` and `mergeOverwrite` change a map everywhere it is seen, as in helm), numbers keep
//! Go's int64/float64 distinction (values files give float64, `--set` gives int64), and
//! helm's structs (`.Chart`, `.Capabilities`, `.Files`) are objects with fields and methods.

use std::cell::{Cell, Ref, RefCell, RefMut};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::Arc;

use super::fmt::format_float;
use crate::values::Values;

/// A Go map: `map[string]interface{}`, shared by reference.
pub type Map = Rc<GoMap>;

/// The entries of a Go map. A map of the chart's values starts as a reference to its JSON
/// object and takes its entries from it the first time it is looked at, one level at a
/// time: a large values file is converted only as far as the templates read it, and what
/// they never read is never copied (nor freed) by the engine.
pub struct GoMap {
    entries: RefCell<BTreeMap<String, Value>>,
    /// Where the entries are still to be taken from, until the map is first looked at.
    source: Cell<Option<JsonObject>>,
}

/// A JSON object inside values shared with the engine.
struct JsonObject {
    /// Keeps the tree alive; an `Arc` gives no mutable access while it is shared, so the
    /// tree does not change under `object`.
    root: Arc<Values>,
    object: NonNull<serde_json::Map<String, serde_json::Value>>,
}

impl JsonObject {
    fn entries(&self) -> BTreeMap<String, Value> {
        // SAFETY: `object` points into the tree `root` owns, which lives (and stays
        // unchanged, being shared) at least as long as this reference to it.
        let object = unsafe { self.object.as_ref() };
        object
            .iter()
            .map(|(k, v)| (k.clone(), Value::from_shared_json(v, &self.root)))
            .collect()
    }
}

impl GoMap {
    pub fn new(entries: BTreeMap<String, Value>) -> GoMap {
        GoMap {
            entries: RefCell::new(entries),
            source: Cell::new(None),
        }
    }

    fn from_json(root: &Arc<Values>, object: &serde_json::Map<String, serde_json::Value>) -> GoMap {
        GoMap {
            entries: RefCell::new(BTreeMap::new()),
            source: Cell::new(Some(JsonObject {
                root: root.clone(),
                object: NonNull::from(object),
            })),
        }
    }

    /// The entries, to read.
    pub fn borrow(&self) -> Ref<'_, BTreeMap<String, Value>> {
        self.load();
        self.entries.borrow()
    }

    /// The entries, to change.
    pub fn borrow_mut(&self) -> RefMut<'_, BTreeMap<String, Value>> {
        self.load();
        self.entries.borrow_mut()
    }

    fn load(&self) {
        if let Some(source) = self.source.take() {
            *self.entries.borrow_mut() = source.entries();
        }
    }
}

/// A Go value as templates see it.
#[derive(Clone, Default)]
pub enum Value {
    /// A nil interface: a missing key, `nil`, a YAML `null`.
    #[default]
    Nil,
    Bool(bool),
    /// `int`/`int64` (`--set` numbers, `len`, arithmetic results).
    Int(i64),
    /// `float64` (numbers from YAML and JSON).
    Float(f64),
    /// Shared with the parsed templates' string constants (which parse in parallel).
    Str(Arc<str>),
    /// `[]interface{}` (and `[]string`, which prints the same).
    List(Rc<Vec<Value>>),
    /// `[]byte` (`.Files.GetBytes`).
    Bytes(Rc<Vec<u8>>),
    Map(Map),
    /// A struct or named type with fields and methods.
    Object(Rc<dyn Object>),
}

/// A Go struct (or another named type) visible to templates: `.Chart`, `.Capabilities`,
/// `.Files`, `.Capabilities.APIVersions`.
pub trait Object {
    /// Go's type name, for `typeOf` and error messages (`*chart.Metadata`).
    fn type_name(&self) -> &str;
    /// A field or a method taking no arguments.
    fn field(&self, name: &str) -> Option<Value>;
    /// A method called with arguments; `None` when there is no such method.
    fn method(&self, _name: &str, _args: &[Value]) -> Option<Result<Value, String>> {
        None
    }
    /// Whether `name` is a method (so `.X arg` is a call).
    fn has_method(&self, _name: &str) -> bool {
        false
    }
    /// How `%v` prints it.
    fn display(&self) -> String;
    /// The value as data (for `toYaml`, `toJson`, `index`), when it has such a form.
    fn as_data(&self) -> Value {
        Value::Nil
    }
    /// Go's reflect kind (`struct`, `slice`, `map`).
    fn kind(&self) -> &'static str {
        "struct"
    }
}

impl std::fmt::Debug for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.go_string())
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(Arc::from(s))
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(Arc::from(s))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl From<i64> for Value {
    fn from(n: i64) -> Self {
        Value::Int(n)
    }
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::List(Rc::new(items))
    }
}

impl From<BTreeMap<String, Value>> for Value {
    fn from(map: BTreeMap<String, Value>) -> Self {
        Value::Map(Rc::new(GoMap::new(map)))
    }
}

impl Value {
    pub fn new_map() -> Value {
        Value::from(BTreeMap::new())
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    /// Go's template truth: false, 0, nil, and empty strings, lists and maps are false.
    pub fn truthy(&self) -> bool {
        match self {
            Value::Nil => false,
            Value::Bool(b) => *b,
            Value::Int(n) => *n != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::Bytes(b) => !b.is_empty(),
            Value::Map(m) => !m.borrow().is_empty(),
            Value::Object(o) => match o.kind() {
                "slice" | "map" => o.as_data().truthy(),
                _ => true,
            },
        }
    }

    /// Go's type name as `typeOf` and `%T` print it.
    pub fn type_name(&self) -> String {
        match self {
            Value::Nil => "<nil>".into(),
            Value::Bool(_) => "bool".into(),
            // Template literals, `len` and `int` give Go's `int`.
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float64".into(),
            Value::Str(_) => "string".into(),
            Value::List(_) => "[]interface {}".into(),
            Value::Bytes(_) => "[]uint8".into(),
            Value::Map(_) => "map[string]interface {}".into(),
            Value::Object(o) => o.type_name().to_string(),
        }
    }

    /// Go's reflect kind as `kindOf` prints it.
    pub fn kind_name(&self) -> &'static str {
        match self {
            Value::Nil => "invalid",
            Value::Bool(_) => "bool",
            Value::Int(_) => "int",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::List(_) | Value::Bytes(_) => "slice",
            Value::Map(_) => "map",
            Value::Object(o) => o.kind(),
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value with objects that have a data form replaced by it (`.Capabilities.APIVersions`
    /// is a list of strings, `.Files` a map).
    pub fn data(&self) -> Value {
        match self {
            Value::Object(o) => match o.as_data() {
                Value::Nil => self.clone(),
                data => data,
            },
            other => other.clone(),
        }
    }

    /// `fmt.Sprint` of the value (`%v`): `map[a:1]`, `[a b]`, `<nil>`.
    pub fn go_string(&self) -> String {
        let mut out = String::new();
        self.write_go(&mut out);
        out
    }

    pub fn write_go(&self, out: &mut String) {
        match self {
            Value::Nil => out.push_str("<nil>"),
            Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Value::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Value::Float(f) => out.push_str(&format_float(*f, 'g', -1)),
            Value::Str(s) => out.push_str(s),
            Value::List(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    item.write_go(out);
                }
                out.push(']');
            }
            Value::Bytes(bytes) => {
                out.push('[');
                for (i, b) in bytes.iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    let _ = write!(out, "{b}");
                }
                out.push(']');
            }
            Value::Map(map) => {
                out.push_str("map[");
                for (i, (k, v)) in map.borrow().iter().enumerate() {
                    if i > 0 {
                        out.push(' ');
                    }
                    out.push_str(k);
                    out.push(':');
                    v.write_go(out);
                }
                out.push(']');
            }
            Value::Object(o) => out.push_str(&o.display()),
        }
    }

    /// Converts JSON-shaped data as helm sees values: every number is a float64.
    pub fn from_json(json: &serde_json::Value) -> Value {
        Self::from_json_with(json, true)
    }

    /// The chart's values as templates see them (numbers are float64): each map takes its
    /// entries from `values` when it is first looked at (values can be megabytes, of which
    /// templates read a few entries).
    pub fn from_values(values: &Arc<Values>) -> Value {
        Value::Map(Rc::new(GoMap::from_json(values, values)))
    }

    /// [`Self::from_json`] of a node of `root`, whose maps convert when first looked at.
    fn from_shared_json(json: &serde_json::Value, root: &Arc<Values>) -> Value {
        match json {
            serde_json::Value::Object(object) => {
                Value::Map(Rc::new(GoMap::from_json(root, object)))
            }
            serde_json::Value::Array(items) => Value::List(Rc::new(
                items
                    .iter()
                    .map(|v| Self::from_shared_json(v, root))
                    .collect(),
            )),
            scalar => Self::from_json(scalar),
        }
    }

    /// Converts JSON-shaped data; integral numbers become int64 unless `floats` is set.
    pub fn from_json_with(json: &serde_json::Value, floats: bool) -> Value {
        match json {
            serde_json::Value::Null => Value::Nil,
            serde_json::Value::Bool(b) => Value::Bool(*b),
            serde_json::Value::Number(n) => {
                if !floats && let Some(i) = n.as_i64() {
                    Value::Int(i)
                } else {
                    Value::Float(n.as_f64().unwrap_or(0.0))
                }
            }
            serde_json::Value::String(s) => Value::from(s.as_str()),
            serde_json::Value::Array(items) => Value::List(Rc::new(
                items
                    .iter()
                    .map(|v| Self::from_json_with(v, floats))
                    .collect(),
            )),
            serde_json::Value::Object(map) => Value::from(
                map.iter()
                    .map(|(k, v)| (k.clone(), Self::from_json_with(v, floats)))
                    .collect::<BTreeMap<_, _>>(),
            ),
        }
    }

    /// The value as JSON data, the way Go's `encoding/json` sees it (objects by their data
    /// form; floats that are whole numbers stay whole so they print as `80`, not `80.0`).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Nil => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(n) => serde_json::Value::from(*n),
            Value::Float(f) => float_json(*f),
            Value::Str(s) => serde_json::Value::String(s.to_string()),
            Value::List(items) => {
                serde_json::Value::Array(items.iter().map(Value::to_json).collect())
            }
            Value::Bytes(bytes) => {
                use base64::Engine as _;
                serde_json::Value::String(
                    base64::engine::general_purpose::STANDARD.encode(&**bytes),
                )
            }
            Value::Map(map) => serde_json::Value::Object(
                map.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.to_json()))
                    .collect(),
            ),
            Value::Object(o) => match o.as_data() {
                Value::Nil => serde_json::Value::Null,
                data => data.to_json(),
            },
        }
    }

    /// A deep copy (`deepCopy`): maps are no longer shared.
    pub fn deep_copy(&self) -> Value {
        match self {
            Value::List(items) => {
                Value::List(Rc::new(items.iter().map(Value::deep_copy).collect()))
            }
            Value::Map(map) => Value::from(
                map.borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.deep_copy()))
                    .collect::<BTreeMap<_, _>>(),
            ),
            other => other.clone(),
        }
    }
}

/// A float as JSON: whole numbers within i64 as integers (Go prints them without a fraction).
pub fn float_json(f: f64) -> serde_json::Value {
    if f.fract() == 0.0 && f.abs() < 1e18 {
        serde_json::Value::from(f as i64)
    } else {
        serde_json::Number::from_f64(f)
            .map(serde_json::Value::Number)
            .unwrap_or(serde_json::Value::Null)
    }
}

/// A map value from pairs.
pub fn map_of<const N: usize>(pairs: [(&str, Value); N]) -> Value {
    Value::from(
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect::<BTreeMap<_, _>>(),
    )
}

/// A struct whose fields are fixed values (`.Chart`, `.Capabilities.KubeVersion`).
pub struct Struct {
    pub type_name: &'static str,
    /// Field names in declaration order (how `%v` prints them).
    pub fields: Vec<(&'static str, Value)>,
    /// The value as data for `toYaml`/`toJson` (JSON field names).
    pub data: Value,
    /// What `%v` prints when the type has a `String` method.
    pub stringer: Option<String>,
}

impl Object for Struct {
    fn type_name(&self) -> &str {
        self.type_name
    }

    fn field(&self, name: &str) -> Option<Value> {
        if name == "String"
            && let Some(s) = &self.stringer
        {
            return Some(Value::from(s.as_str()));
        }
        self.fields
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }

    fn display(&self) -> String {
        if let Some(s) = &self.stringer {
            return s.clone();
        }
        let mut out = String::from(if self.type_name.starts_with('*') {
            "&{"
        } else {
            "{"
        });
        for (i, (_, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            v.write_go(&mut out);
        }
        out.push('}');
        out
    }

    fn as_data(&self) -> Value {
        self.data.clone()
    }
}

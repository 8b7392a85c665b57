//! What a Go-template chart sees besides its values: `.Chart` (helm's chart metadata struct
//! with `IsRoot`), `.Release`, `.Capabilities` (with `APIVersions.Has` and the
//! `KubeVersion` struct), `.Files` (with `Get`, `GetBytes`, `Glob`, `Lines`, `AsConfig`,
//! `AsSecrets`) — each shaped like helm's Go types so field access, printing and errors
//! match.

use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::Arc;

use base64::Engine as _;

use crate::chart::{ChartFile, Metadata};
use crate::engine::library::value::{Object, Struct, Value, map_of};
use crate::engine::{Capabilities, ReleaseInfo};

/// The helm version charts see in `.Capabilities.HelmVersion`.
const HELM_VERSION: &str = "v4.1.4";
const HELM_GIT_COMMIT: &str = "05fa37973dc9e42b76e1d2883494c87174b6074f";
const HELM_GO_VERSION: &str = "go1.25.9";
const HELM_KUBE_CLIENT_VERSION: &str = "v1.35";

fn s(text: &str) -> Value {
    Value::from(text)
}

fn opt(text: &Option<String>) -> Value {
    s(text.as_deref().unwrap_or(""))
}

fn strings(items: &[String]) -> Value {
    Value::from(items.iter().map(|i| s(i)).collect::<Vec<_>>())
}

/// `.Chart`: helm 4 gives templates the chart metadata as a map keyed by the Go field
/// names (`Name`, `AppVersion`, …) plus `IsRoot`.
pub fn chart_object(meta: &Metadata, is_root: bool) -> Value {
    let maintainers: Vec<Value> = meta
        .maintainers
        .iter()
        .map(|m| {
            map_of([
                ("Email", opt(&m.email)),
                ("Name", s(&m.name)),
                ("URL", opt(&m.url)),
            ])
        })
        .collect();
    let dependencies: Vec<Value> = meta
        .dependencies
        .iter()
        .map(|d| {
            map_of([
                ("Alias", opt(&d.alias)),
                ("Condition", opt(&d.condition)),
                ("Enabled", Value::Bool(d.enabled.unwrap_or(false))),
                (
                    "ImportValues",
                    Value::from_json_with(&serde_json::json!(d.import_values), false),
                ),
                ("Name", s(&d.name)),
                ("Repository", s(&d.repository)),
                ("Tags", strings(&d.tags)),
                ("Version", s(&d.version)),
            ])
        })
        .collect();
    let annotations = Value::from(
        meta.annotations
            .iter()
            .map(|(k, v)| (k.clone(), s(v)))
            .collect::<BTreeMap<_, _>>(),
    );
    map_of([
        ("APIVersion", s(&meta.api_version)),
        ("Annotations", annotations),
        ("AppVersion", opt(&meta.app_version)),
        ("Condition", opt(&meta.condition)),
        ("Dependencies", Value::from(dependencies)),
        ("Deprecated", Value::Bool(meta.deprecated)),
        ("Description", opt(&meta.description)),
        ("Home", opt(&meta.home)),
        ("Icon", opt(&meta.icon)),
        ("IsRoot", Value::Bool(is_root)),
        ("Keywords", strings(&meta.keywords)),
        ("KubeVersion", opt(&meta.kube_version)),
        ("Maintainers", Value::from(maintainers)),
        ("Name", s(&meta.name)),
        ("Sources", strings(&meta.sources)),
        ("Tags", opt(&meta.tags)),
        ("Type", opt(&meta.chart_type)),
        ("Version", s(&meta.version)),
    ])
}

/// `.Release`: a map, as in helm.
pub fn release_map(release: &ReleaseInfo) -> Value {
    map_of([
        ("Name", s(&release.name)),
        ("Namespace", s(&release.namespace)),
        ("IsUpgrade", Value::Bool(release.is_upgrade)),
        ("IsInstall", Value::Bool(release.is_install)),
        ("Revision", Value::Int(release.revision as i64)),
        // Go-template charts label their objects with this; helm's value keeps their
        // output identical to helm's and their selectors working.
        ("Service", s("Helm")),
    ])
}

/// `.Capabilities.APIVersions`: a list of strings with a `Has` method.
struct VersionSet(Vec<String>);

impl Object for VersionSet {
    fn type_name(&self) -> &str {
        "chartutil.VersionSet"
    }
    fn field(&self, _name: &str) -> Option<Value> {
        None
    }
    fn has_method(&self, name: &str) -> bool {
        name == "Has"
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        if name != "Has" {
            return None;
        }
        Some(match args {
            [Value::Str(v)] => Ok(Value::Bool(self.0.iter().any(|x| x == &**v))),
            [other] => Err(format!(
                "wrong type for value; expected string; got {}",
                other.type_name()
            )),
            _ => Err(format!(
                "wrong number of args for Has: want 1 got {}",
                args.len()
            )),
        })
    }
    fn display(&self) -> String {
        format!("[{}]", self.0.join(" "))
    }
    fn as_data(&self) -> Value {
        strings(&self.0)
    }
    fn kind(&self) -> &'static str {
        "slice"
    }
}

/// `.Capabilities`.
pub fn capabilities_object(caps: &Capabilities) -> Value {
    let kv = &caps.kube_version;
    let kube = Value::Object(Rc::new(Struct {
        type_name: "chartutil.KubeVersion",
        fields: vec![
            ("Version", s(&kv.version)),
            ("Major", s(&kv.major)),
            ("Minor", s(&kv.minor)),
            ("GitVersion", s(&kv.version)),
        ],
        data: map_of([
            ("Version", s(&kv.version)),
            ("Major", s(&kv.major)),
            ("Minor", s(&kv.minor)),
        ]),
        stringer: Some(kv.version.clone()),
    }));
    let helm = Value::Object(Rc::new(Struct {
        type_name: "version.BuildInfo",
        fields: vec![
            ("Version", s(HELM_VERSION)),
            ("GitCommit", s(HELM_GIT_COMMIT)),
            ("GitTreeState", s("clean")),
            ("GoVersion", s(HELM_GO_VERSION)),
            ("KubeClientVersion", s(HELM_KUBE_CLIENT_VERSION)),
        ],
        data: map_of([
            ("version", s(HELM_VERSION)),
            ("git_commit", s(HELM_GIT_COMMIT)),
            ("git_tree_state", s("clean")),
            ("go_version", s(HELM_GO_VERSION)),
        ]),
        stringer: None,
    }));
    let apis = Value::Object(Rc::new(VersionSet(caps.api_versions.clone())));
    Value::Object(Rc::new(Struct {
        type_name: "*common.Capabilities",
        fields: vec![
            ("APIVersions", apis.clone()),
            ("KubeVersion", kube.clone()),
            ("HelmVersion", helm.clone()),
        ],
        data: map_of([
            ("APIVersions", apis.data()),
            ("KubeVersion", kube.data()),
            ("HelmVersion", helm.data()),
        ]),
        stringer: None,
    }))
}

/// `.Files`: the chart's non-template files by path.
pub struct Files(pub Arc<Vec<ChartFile>>);

impl Files {
    fn get(&self, name: &str) -> Option<&ChartFile> {
        self.0.iter().find(|f| f.name == name)
    }

    fn base(name: &str) -> &str {
        name.rsplit('/').next().unwrap_or(name)
    }

    fn encode_each(&self, encode: impl Fn(&[u8]) -> String) -> String {
        if self.0.is_empty() {
            return String::new();
        }
        let map: BTreeMap<String, Value> = self
            .0
            .iter()
            .map(|f| {
                (
                    Self::base(&f.name).to_string(),
                    Value::from(encode(&f.data)),
                )
            })
            .collect();
        crate::engine::library::helm::to_yaml(&Value::from(map))
    }
}

impl Object for Files {
    fn type_name(&self) -> &str {
        "engine.files"
    }
    fn field(&self, name: &str) -> Option<Value> {
        match name {
            "AsConfig" => Some(Value::from(
                self.encode_each(|d| String::from_utf8_lossy(d).into_owned()),
            )),
            "AsSecrets" => {
                Some(Value::from(self.encode_each(|d| {
                    base64::engine::general_purpose::STANDARD.encode(d)
                })))
            }
            _ => None,
        }
    }
    fn has_method(&self, name: &str) -> bool {
        matches!(name, "Get" | "GetBytes" | "Glob" | "Lines")
    }
    fn method(&self, name: &str, args: &[Value]) -> Option<Result<Value, String>> {
        let arg = match args {
            [Value::Str(a)] => a.clone(),
            [other] => {
                return Some(Err(format!(
                    "wrong type for value; expected string; got {}",
                    other.type_name()
                )));
            }
            _ => {
                return Some(Err(format!(
                    "wrong number of args for {name}: want 1 got {}",
                    args.len()
                )));
            }
        };
        Some(Ok(match name {
            "Get" => Value::from(
                self.get(&arg)
                    .map(|f| String::from_utf8_lossy(&f.data).into_owned())
                    .unwrap_or_default(),
            ),
            "GetBytes" => Value::Bytes(Rc::new(
                self.get(&arg).map(|f| f.data.clone()).unwrap_or_default(),
            )),
            "Lines" => match self.get(&arg) {
                Some(f) if !f.data.is_empty() => {
                    let text = String::from_utf8_lossy(&f.data);
                    let text = text.strip_suffix('\n').unwrap_or(&text);
                    Value::from(text.split('\n').map(Value::from).collect::<Vec<_>>())
                }
                _ => Value::from(Vec::new()),
            },
            "Glob" => {
                let matcher = match globset::GlobBuilder::new(&arg)
                    .literal_separator(true)
                    .build()
                {
                    Ok(g) => g.compile_matcher(),
                    Err(e) => return Some(Err(e.to_string())),
                };
                let files: Vec<ChartFile> = self
                    .0
                    .iter()
                    .filter(|f| matcher.is_match(&f.name))
                    .cloned()
                    .collect();
                Value::Object(Rc::new(Files(Arc::new(files))))
            }
            _ => return None,
        }))
    }
    fn display(&self) -> String {
        self.as_data().go_string()
    }
    fn as_data(&self) -> Value {
        Value::from(
            self.0
                .iter()
                .map(|f| (f.name.clone(), Value::Bytes(Rc::new(f.data.clone()))))
                .collect::<BTreeMap<_, _>>(),
        )
    }
    fn kind(&self) -> &'static str {
        "map"
    }
}

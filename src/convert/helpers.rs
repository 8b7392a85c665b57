//! How each Go `define` is called, so it becomes a tera component with a real calling
//! convention: helpers always given the root context (`include "x" .`) take `@Values`-style
//! implicit parameters, helpers always given a `dict` take its keys as parameters, and the
//! rest take their dot as one parameter, `ctx`.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::gotmpl::parse::{Arg, Command, Node, Parsed, Pipe};

/// How a helper receives its dot.
#[derive(Debug, Clone, PartialEq)]
pub enum Convention {
    /// Always the root context: `{% component x(@Values, …) %}`, `include(name="x")`.
    Root,
    /// Always a `dict`: its keys become parameters. Keys that hold the root context at every
    /// call are not passed; the component takes the root's parts implicitly instead.
    Params {
        keys: Vec<String>,
        root_keys: BTreeSet<String>,
    },
    /// Anything else: the dot is one parameter, `ctx`.
    Dot,
}

/// A helper's tera name and convention.
#[derive(Debug, Clone)]
pub struct Helper {
    pub tera_name: String,
    pub convention: Convention,
    /// Defined by a Go-template chart that is kept as it is (`--keep-subcharts`): tera
    /// templates cannot call it.
    pub kept: bool,
}

/// What the dot (or `$`) is where a call is made, as far as the analysis needs it.
#[derive(Debug, Clone, PartialEq)]
enum Dot {
    Root,
    /// The dot a helper was given.
    Param(String),
    Other,
}

/// What a call passes to a helper.
#[derive(Debug, Clone, PartialEq)]
enum Passed {
    Root,
    Param(String),
    /// `.key` of the dict a helper was given.
    ParamKey(String, String),
    /// `.` inside `range`/`with`: a loop item. Charts pass it by mistake to helpers that
    /// otherwise get the root context, so it does not decide a convention on its own.
    Item,
    Dict(Vec<(String, Passed)>),
    Other,
}

/// Every helper of a chart tree, by Go name.
#[derive(Debug, Default)]
pub struct Helpers {
    pub by_name: BTreeMap<String, Helper>,
}

/// A helper name as a tera component name: dot-separated identifiers.
pub fn tera_name(go_name: &str) -> String {
    crate::engine::tera::functions::component_name(go_name)
}

impl Helpers {
    /// Infers every helper's convention from all the calls in `files`.
    pub fn analyze(files: &[&Parsed]) -> Helpers {
        let mut calls: BTreeMap<String, Vec<(Option<String>, Passed)>> = BTreeMap::new();
        let mut fields: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut names = BTreeSet::new();
        for parsed in files {
            let mut walker = Walker {
                calls: &mut calls,
                fields: &mut fields,
                vars: BTreeMap::new(),
                caller: None,
            };
            walker.walk(&parsed.root, &Dot::Root, &Dot::Root);
            for (name, body) in &parsed.defines {
                names.insert(name.clone());
                let own = Dot::Param(name.clone());
                walker.vars.clear();
                walker.caller = Some(name.clone());
                walker.walk(body, &own, &own);
            }
        }
        // Only calls that can run decide: from templates, or from helpers they reach.
        let mut live: BTreeSet<&str> = BTreeSet::new();
        loop {
            let before = live.len();
            for (callee, from) in &calls {
                if from
                    .iter()
                    .any(|(caller, _)| caller.as_deref().is_none_or(|c| live.contains(c)))
                {
                    live.insert(callee.as_str());
                }
            }
            if live.len() == before {
                break;
            }
        }
        let calls: BTreeMap<String, Vec<Passed>> = calls
            .iter()
            .map(|(callee, from)| {
                let passed = from
                    .iter()
                    .filter(|(caller, _)| caller.as_deref().is_none_or(|c| live.contains(c)))
                    .map(|(_, p)| p.clone())
                    .collect();
                (callee.clone(), passed)
            })
            .collect();
        // Start from the most generous answer (whatever a helper hands on is the root) and
        // narrow it until nothing changes.
        let mut conventions: BTreeMap<String, Convention> = names
            .iter()
            .map(|n| {
                let passed = calls.get(n).map(Vec::as_slice).unwrap_or(&[]);
                (n.clone(), infer(passed, &BTreeMap::new()))
            })
            .collect();
        // A helper nothing runs takes what its body reads: `.context`, `.value` → parameters.
        let unused: Vec<&String> = names
            .iter()
            .filter(|n| !live.contains(n.as_str()))
            .collect();
        let by_body = |name: &str| -> Convention {
            let read: Vec<String> = fields
                .get(name)
                .map(|f| {
                    f.iter()
                        .filter(|k| !ROOT_FIELDS.contains(&k.as_str()))
                        .cloned()
                        .collect()
                })
                .unwrap_or_default();
            if read.is_empty() {
                Convention::Root
            } else {
                Convention::Params {
                    keys: read,
                    root_keys: BTreeSet::new(),
                }
            }
        };
        // A helper passing its own dot on is Root only if it is Root itself: iterate.
        for _ in 0..16 {
            let mut changed = false;
            for name in &names {
                let passed = calls.get(name).map(Vec::as_slice).unwrap_or(&[]);
                let convention = if unused.contains(&name) {
                    by_body(name)
                } else {
                    infer(passed, &conventions)
                };
                if conventions.get(name) != Some(&convention) {
                    conventions.insert(name.clone(), convention);
                    changed = true;
                }
            }
            if !changed {
                break;
            }
        }
        Helpers {
            by_name: conventions
                .into_iter()
                .map(|(name, convention)| {
                    let helper = Helper {
                        tera_name: tera_name(&name),
                        convention,
                        kept: false,
                    };
                    (name, helper)
                })
                .collect(),
        }
    }

    pub fn get(&self, go_name: &str) -> Option<&Helper> {
        self.by_name.get(go_name)
    }

    /// Marks the helpers of charts that stay Go templates.
    pub fn mark_kept(&mut self, parsed: &Parsed) {
        for (name, _) in &parsed.defines {
            if let Some(helper) = self.by_name.get_mut(name) {
                helper.kept = true;
            }
        }
    }
}

/// Whether a call passes the root context. With no conventions known yet, what a helper
/// hands on counts as the root.
fn is_root(passed: &Passed, conventions: &BTreeMap<String, Convention>) -> bool {
    match passed {
        Passed::Root => true,
        Passed::Param(_) | Passed::ParamKey(..) if conventions.is_empty() => true,
        Passed::Param(name) => conventions.get(name) == Some(&Convention::Root),
        Passed::ParamKey(name, key) => matches!(
            conventions.get(name),
            Some(Convention::Params { root_keys, .. }) if root_keys.contains(key)
        ),
        _ => false,
    }
}

fn infer(passed: &[Passed], conventions: &BTreeMap<String, Convention>) -> Convention {
    let decisive: Vec<Passed> = passed
        .iter()
        .filter(|p| **p != Passed::Item)
        .cloned()
        .collect();
    if decisive.is_empty() && !passed.is_empty() {
        return Convention::Dot;
    }
    let passed = &decisive[..];
    // A helper handing on the dict it was given passes a dict with the same keys.
    let passed: Vec<Passed> = passed
        .iter()
        .map(|p| match p {
            Passed::Param(name) => match conventions.get(name) {
                Some(Convention::Params { keys, root_keys }) => Passed::Dict(
                    keys.iter()
                        .map(|k| {
                            let v = if root_keys.contains(k) {
                                Passed::Root
                            } else {
                                Passed::Other
                            };
                            (k.clone(), v)
                        })
                        .collect(),
                ),
                _ => p.clone(),
            },
            _ => p.clone(),
        })
        .collect();
    let passed = &passed[..];
    if passed.iter().all(|p| is_root(p, conventions)) {
        return Convention::Root;
    }
    if !passed.iter().all(|p| matches!(p, Passed::Dict(_))) {
        return Convention::Dot;
    }
    let mut keys: Vec<String> = Vec::new();
    let mut not_root: BTreeSet<String> = BTreeSet::new();
    let mut present_in_all: Option<BTreeSet<String>> = None;
    for p in passed {
        let Passed::Dict(entries) = p else { continue };
        let mut here = BTreeSet::new();
        for (key, value) in entries {
            if !keys.contains(key) {
                keys.push(key.clone());
            }
            if !is_root(value, conventions) {
                not_root.insert(key.clone());
            }
            here.insert(key.clone());
        }
        present_in_all = Some(match present_in_all {
            None => here,
            Some(all) => all.intersection(&here).cloned().collect(),
        });
    }
    let root_keys: BTreeSet<String> = present_in_all
        .unwrap_or_default()
        .into_iter()
        .filter(|k| !not_root.contains(k))
        .collect();
    Convention::Params { keys, root_keys }
}

/// Collects the calls of one file's template or define, knowing what its dot, `$` and
/// variables stand for.
struct Walker<'c> {
    /// By helper: who calls it (`None`: a template) and what it is given.
    calls: &'c mut BTreeMap<String, Vec<(Option<String>, Passed)>>,
    /// By helper: the fields its body reads from its dot (`.context`, `.Values`).
    fields: &'c mut BTreeMap<String, BTreeSet<String>>,
    /// The helper being walked (`None`: a template).
    caller: Option<String>,
    /// Variables holding a context (`$root := .`, `$ctx := .context`).
    vars: BTreeMap<String, Passed>,
}

impl Walker<'_> {
    fn walk(&mut self, nodes: &[Node], dot: &Dot, dollar: &Dot) {
        for node in nodes {
            match node {
                Node::Action { pipe, .. } => {
                    self.pipe_calls(pipe, dot, dollar);
                    if let [var] = &pipe.decl[..] {
                        let passed = self.classify_cmds(&pipe.cmds, dot, dollar);
                        if matches!(
                            passed,
                            Passed::Root | Passed::Param(_) | Passed::ParamKey(..)
                        ) {
                            self.vars.insert(var.to_string(), passed);
                        } else {
                            self.vars.remove(&**var);
                        }
                    }
                }
                Node::If(b) => {
                    self.pipe_calls(&b.pipe, dot, dollar);
                    self.walk(&b.list, dot, dollar);
                    if let Some(e) = &b.else_list {
                        self.walk(e, dot, dollar);
                    }
                }
                Node::With(b) | Node::Range(b) => {
                    self.pipe_calls(&b.pipe, dot, dollar);
                    self.walk(&b.list, &Dot::Other, dollar);
                    if let Some(e) = &b.else_list {
                        self.walk(e, dot, dollar);
                    }
                }
                Node::Template { name, pipe, .. } => {
                    let passed = match pipe {
                        Some(p) => self.classify_pipe(p, dot, dollar),
                        None => Passed::Other,
                    };
                    let caller = self.caller.clone();
                    self.calls
                        .entry(name.to_string())
                        .or_default()
                        .push((caller, passed));
                }
                Node::Text { .. } | Node::Break(_) | Node::Continue(_) => {}
            }
        }
    }

    fn pipe_calls(&mut self, pipe: &Pipe, dot: &Dot, dollar: &Dot) {
        for cmd in &pipe.cmds {
            if let [Arg::Ident(_, f), Arg::Str(_, name), arg] = &cmd.args[..]
                && (&**f == "include" || &**f == "template")
            {
                let passed = self.classify(arg, dot, dollar);
                let caller = self.caller.clone();
                self.calls
                    .entry(name.to_string())
                    .or_default()
                    .push((caller, passed));
            }
            for arg in &cmd.args {
                match arg {
                    Arg::Field(_, f) if !f.is_empty() => self.reads(dot, &f[0]),
                    Arg::Variable(_, v, f) if &**v == "$" && !f.is_empty() => {
                        self.reads(dollar, &f[0])
                    }
                    Arg::Pipe(_, p) => self.pipe_calls(p, dot, dollar),
                    Arg::Chain(_, inner, _) => {
                        if let Arg::Pipe(_, p) = &**inner {
                            self.pipe_calls(p, dot, dollar)
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    /// Notes that a helper's body reads `field` of its own dot.
    fn reads(&mut self, dot: &Dot, field: &str) {
        if let Dot::Param(name) = dot {
            self.fields
                .entry(name.clone())
                .or_default()
                .insert(field.to_string());
        }
    }

    fn classify(&self, arg: &Arg, dot: &Dot, dollar: &Dot) -> Passed {
        match arg {
            Arg::Dot(_) if *dot == Dot::Other => Passed::Item,
            // A subchart's context (`.Subcharts.sub`) is a root context too.
            Arg::Field(_, fields) if is_subchart(fields) && *dot == Dot::Root => Passed::Root,
            Arg::Variable(_, v, fields)
                if &**v == "$" && is_subchart(fields) && *dollar == Dot::Root =>
            {
                Passed::Root
            }
            Arg::Dot(_) => from_dot(dot),
            Arg::Variable(_, v, fields) if &**v == "$" && fields.is_empty() => from_dot(dollar),
            Arg::Variable(_, v, fields) if fields.is_empty() => {
                self.vars.get(&**v).cloned().unwrap_or(Passed::Other)
            }
            Arg::Field(_, fields) if fields.len() == 1 => match dot {
                Dot::Param(name) => Passed::ParamKey(name.clone(), fields[0].to_string()),
                _ => Passed::Other,
            },
            Arg::Variable(_, v, fields) if &**v == "$" && fields.len() == 1 => match dollar {
                Dot::Param(name) => Passed::ParamKey(name.clone(), fields[0].to_string()),
                _ => Passed::Other,
            },
            Arg::Pipe(_, p) => self.classify_pipe(p, dot, dollar),
            _ => Passed::Other,
        }
    }

    fn classify_pipe(&self, pipe: &Pipe, dot: &Dot, dollar: &Dot) -> Passed {
        if !pipe.decl.is_empty() {
            return Passed::Other;
        }
        self.classify_cmds(&pipe.cmds, dot, dollar)
    }

    /// What a pipeline's commands make, whatever variables they are stored in.
    fn classify_cmds(&self, cmds: &[Command], dot: &Dot, dollar: &Dot) -> Passed {
        let [cmd] = cmds else {
            return Passed::Other;
        };
        let args = &cmd.args;
        match &args[..] {
            [single] => self.classify(single, dot, dollar),
            [Arg::Ident(_, f), Arg::Field(_, fields), Arg::Str(..)]
                if &**f == "index" && fields.len() == 1 && &*fields[0] == "Subcharts" =>
            {
                Passed::Root
            }
            [Arg::Ident(_, f), rest @ ..] if &**f == "dict" && rest.len().is_multiple_of(2) => {
                let mut entries = Vec::new();
                for pair in rest.chunks(2) {
                    let Arg::Str(_, key) = &pair[0] else {
                        return Passed::Other;
                    };
                    entries.push((key.to_string(), self.classify(&pair[1], dot, dollar)));
                }
                Passed::Dict(entries)
            }
            _ => Passed::Other,
        }
    }
}

/// The root context's fields: a helper reading only these takes the root context.
const ROOT_FIELDS: [&str; 7] = [
    "Values",
    "Release",
    "Chart",
    "Capabilities",
    "Template",
    "Files",
    "Subcharts",
];

fn from_dot(dot: &Dot) -> Passed {
    match dot {
        Dot::Root => Passed::Root,
        Dot::Param(n) => Passed::Param(n.clone()),
        Dot::Other => Passed::Other,
    }
}

fn is_subchart(fields: &[Box<str>]) -> bool {
    fields.len() == 2 && &*fields[0] == "Subcharts"
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze(src: &str) -> Helpers {
        let parsed = crate::convert::parse_go(src).unwrap();
        Helpers::analyze(&[&parsed])
    }

    #[test]
    fn a_helper_given_the_root_everywhere_takes_it_implicitly() {
        let h = analyze(
            r#"{{ define "a" }}{{ include "b" . }}{{ end }}{{ define "b" }}x{{ end }}{{ include "a" . }}{{ range .Values.x }}{{ include "b" $ }}{{ end }}"#,
        );
        assert_eq!(h.get("a").unwrap().convention, Convention::Root);
        assert_eq!(h.get("b").unwrap().convention, Convention::Root);
    }

    #[test]
    fn a_helper_given_dicts_takes_their_keys_and_root_keys_implicitly() {
        let h = analyze(
            r#"{{ define "img" }}{{ .image.tag }}{{ end }}{{ include "img" (dict "image" .Values.image "context" $) }}{{ include "img" (dict "image" .Values.other "context" . "extra" 1) }}"#,
        );
        let Convention::Params { keys, root_keys } = &h.get("img").unwrap().convention else {
            panic!("expected params")
        };
        assert_eq!(keys, &["image", "context", "extra"]);
        assert_eq!(root_keys.iter().collect::<Vec<_>>(), vec!["context"]);
    }

    #[test]
    fn a_root_alias_or_a_stray_loop_item_keeps_a_helper_on_the_root() {
        let h = analyze(
            r#"{{ define "a" }}{{ .Chart.Name }}{{ end }}{{ $root := . }}{{ range .Values.x }}{{ include "a" $root }}{{ include "a" . }}{{ end }}"#,
        );
        assert_eq!(h.get("a").unwrap().convention, Convention::Root);
    }

    #[test]
    fn a_helper_nothing_calls_takes_what_its_body_reads() {
        let h = analyze(
            r#"{{ define "dead" }}{{ .context.Values.x }}{{ include "other" .context }}{{ end }}{{ define "other" }}{{ .Values.y }}{{ end }}{{ include "other" . }}"#,
        );
        assert_eq!(
            h.get("dead").unwrap().convention,
            Convention::Params {
                keys: vec!["context".into()],
                root_keys: BTreeSet::new()
            }
        );
        // Its call does not make `other` take anything but the root.
        assert_eq!(h.get("other").unwrap().convention, Convention::Root);
    }

    #[test]
    fn a_helper_given_anything_else_takes_its_dot_as_ctx() {
        let h = analyze(
            r#"{{ define "a" }}{{ . }}{{ end }}{{ range .Values.x }}{{ include "a" . }}{{ end }}"#,
        );
        assert_eq!(h.get("a").unwrap().convention, Convention::Dot);
        assert_eq!(
            tera_name("ingress-nginx.controller.fullname"),
            "ingress_nginx.controller.fullname"
        );
    }
}

//! How each Go `define` is called, so it becomes a tera component with a real calling
//! convention: helpers always given the root context (`include "x" .`) take `@Values`-style
//! implicit parameters, helpers always given a `dict` take its keys as parameters, and the
//! rest take their dot as one parameter, `ctx`.

use std::collections::{BTreeMap, BTreeSet};

use crate::engine::gotmpl::parse::{Arg, Node, Parsed, Pipe};

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
        let mut calls: BTreeMap<String, Vec<Passed>> = BTreeMap::new();
        let mut names = BTreeSet::new();
        for parsed in files {
            walk(&parsed.root, &Dot::Root, &Dot::Root, &mut calls);
            for (name, body) in &parsed.defines {
                names.insert(name.clone());
                let own = Dot::Param(name.clone());
                walk(body, &own, &own, &mut calls);
            }
        }
        // Start from the most generous answer (whatever a helper hands on is the root) and
        // narrow it until nothing changes.
        let mut conventions: BTreeMap<String, Convention> = names
            .iter()
            .map(|n| {
                let passed = calls.get(n).map(Vec::as_slice).unwrap_or(&[]);
                (n.clone(), infer(passed, &BTreeMap::new()))
            })
            .collect();
        // A helper passing its own dot on is Root only if it is Root itself: iterate.
        for _ in 0..16 {
            let mut changed = false;
            for name in &names {
                let passed = calls.get(name).map(Vec::as_slice).unwrap_or(&[]);
                let convention = infer(passed, &conventions);
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

fn walk(nodes: &[Node], dot: &Dot, dollar: &Dot, calls: &mut BTreeMap<String, Vec<Passed>>) {
    for node in nodes {
        match node {
            Node::Action { pipe, .. } => pipe_calls(pipe, dot, dollar, calls),
            Node::If(b) => {
                pipe_calls(&b.pipe, dot, dollar, calls);
                walk(&b.list, dot, dollar, calls);
                if let Some(e) = &b.else_list {
                    walk(e, dot, dollar, calls);
                }
            }
            Node::With(b) | Node::Range(b) => {
                pipe_calls(&b.pipe, dot, dollar, calls);
                walk(&b.list, &Dot::Other, dollar, calls);
                if let Some(e) = &b.else_list {
                    walk(e, dot, dollar, calls);
                }
            }
            Node::Template { name, pipe, .. } => {
                let passed = match pipe {
                    Some(p) => classify_pipe(p, dot, dollar),
                    None => Passed::Other,
                };
                calls.entry(name.to_string()).or_default().push(passed);
            }
            Node::Text { .. } | Node::Break(_) | Node::Continue(_) => {}
        }
    }
}

fn pipe_calls(pipe: &Pipe, dot: &Dot, dollar: &Dot, calls: &mut BTreeMap<String, Vec<Passed>>) {
    for cmd in &pipe.cmds {
        if let [Arg::Ident(_, f), Arg::Str(_, name), arg] = &cmd.args[..]
            && (&**f == "include" || &**f == "template")
        {
            calls
                .entry(name.to_string())
                .or_default()
                .push(classify(arg, dot, dollar));
        }
        for arg in &cmd.args {
            match arg {
                Arg::Pipe(_, p) => pipe_calls(p, dot, dollar, calls),
                Arg::Chain(_, inner, _) => {
                    if let Arg::Pipe(_, p) = &**inner {
                        pipe_calls(p, dot, dollar, calls)
                    }
                }
                _ => {}
            }
        }
    }
}

fn from_dot(dot: &Dot) -> Passed {
    match dot {
        Dot::Root => Passed::Root,
        Dot::Param(n) => Passed::Param(n.clone()),
        Dot::Other => Passed::Other,
    }
}

fn classify(arg: &Arg, dot: &Dot, dollar: &Dot) -> Passed {
    match arg {
        // A subchart's context (`.Subcharts.sub`) is a root context too.
        Arg::Field(_, fields) if is_subchart(fields) && *dot == Dot::Root => Passed::Root,
        Arg::Variable(_, v, fields)
            if &**v == "$" && is_subchart(fields) && *dollar == Dot::Root =>
        {
            Passed::Root
        }
        Arg::Dot(_) => from_dot(dot),
        Arg::Variable(_, v, fields) if &**v == "$" && fields.is_empty() => from_dot(dollar),
        Arg::Field(_, fields) if fields.len() == 1 => match dot {
            Dot::Param(name) => Passed::ParamKey(name.clone(), fields[0].to_string()),
            _ => Passed::Other,
        },
        Arg::Variable(_, v, fields) if &**v == "$" && fields.len() == 1 => match dollar {
            Dot::Param(name) => Passed::ParamKey(name.clone(), fields[0].to_string()),
            _ => Passed::Other,
        },
        Arg::Pipe(_, p) => classify_pipe(p, dot, dollar),
        _ => Passed::Other,
    }
}

fn is_subchart(fields: &[Box<str>]) -> bool {
    fields.len() == 2 && &*fields[0] == "Subcharts"
}

fn classify_pipe(pipe: &Pipe, dot: &Dot, dollar: &Dot) -> Passed {
    if !pipe.decl.is_empty() || pipe.cmds.len() != 1 {
        return Passed::Other;
    }
    let args = &pipe.cmds[0].args;
    match &args[..] {
        [single] => classify(single, dot, dollar),
        [Arg::Ident(_, f), Arg::Field(_, fields), Arg::Str(..)]
            if &**f == "index" && fields.len() == 1 && &*fields[0] == "Subcharts" =>
        {
            Passed::Root
        }
        [Arg::Ident(_, f), rest @ ..] if &**f == "dict" && rest.len() % 2 == 0 => {
            let mut entries = Vec::new();
            for pair in rest.chunks(2) {
                let Arg::Str(_, key) = &pair[0] else {
                    return Passed::Other;
                };
                entries.push((key.to_string(), classify(&pair[1], dot, dollar)));
            }
            Passed::Dict(entries)
        }
        _ => Passed::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn analyze(src: &str) -> Helpers {
        let funcs = crate::engine::library::Funcs::helm();
        let known = |n: &str| funcs.contains(n) || matches!(n, "include" | "tpl" | "required");
        let parsed = crate::engine::gotmpl::parse::parse(src, &known).unwrap();
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

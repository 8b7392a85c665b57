//! Turns one Go-template file into tera: every `{{ … }}` becomes the tera tag that does the
//! same, the text between tags is kept as written (trim markers included), comments are
//! kept, `define`s become components, pipelines become filters with keyword arguments, and
//! `.`/`$` become explicit names. What tera cannot do the same way is reported as a
//! [`Finding`] with file and line, never silently changed.

use std::collections::{BTreeMap, BTreeSet};

use super::helpers::{Convention, Helpers};
use crate::engine::gotmpl::parse::{self, Arg, Branch, Command, Node, Number, Parsed, Pipe, Tag};
use crate::engine::tera::functions::TERA_FILTERS;

/// Something the converted chart may not do as the original did.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// `mychart/templates/x.yaml`.
    pub file: String,
    pub line: usize,
    pub message: String,
    /// Converted faithfully, but worth knowing (`tpl(go=true)`); not something to check.
    pub note: bool,
}

/// The root context's parts a component can take implicitly (`@Values`, …): the names
/// tera's `include` fills from the caller's scope.
pub(crate) use crate::engine::tera::functions::SCOPE_NAMES as ROOTS;

/// What a helper's body uses of the root context, to declare its implicit parameters.
#[derive(Debug, Default, Clone)]
pub struct RootUse {
    pub roots: BTreeSet<&'static str>,
    /// Helpers it calls handing on the root context (their needs are its needs).
    pub calls: BTreeSet<String>,
}

/// One translated file. Component headers hold a placeholder for their implicit
/// parameters until every helper's needs are known ([`fill_headers`]).
pub struct Translated {
    pub text: String,
    pub findings: Vec<Finding>,
    pub root_use: BTreeMap<String, RootUse>,
}

const ATOM: u8 = 10;
const FILTER: u8 = 9;
const MUL: u8 = 7;
const ADD: u8 = 6;
const CMP: u8 = 4;
const NOT: u8 = 3;
const AND: u8 = 2;
const OR: u8 = 1;
const TERNARY: u8 = 0;

/// A tera expression with its precedence and, when it is a path into `Values`, the path
/// (to know from the default values whether it can be missing).
#[derive(Debug, Clone)]
struct Ex {
    text: String,
    prec: u8,
    path: Option<Vec<Seg>>,
}

#[derive(Debug, Clone, PartialEq)]
enum Seg {
    Key(String),
    /// Every item of a list, every value of a map.
    Each,
}

impl Ex {
    fn atom(text: impl Into<String>) -> Ex {
        Ex {
            text: text.into(),
            prec: ATOM,
            path: None,
        }
    }
    fn op(text: String, prec: u8) -> Ex {
        Ex {
            text,
            prec,
            path: None,
        }
    }
    /// The text, in parentheses unless it binds at least as tightly as `min`.
    fn at(&self, min: u8) -> String {
        if self.prec < min {
            format!("({})", self.text)
        } else {
            self.text.clone()
        }
    }
}

fn filter(input: &Ex, name: &str, kwargs: &[(&str, &Ex)]) -> Ex {
    let mut text = format!("{} | {name}", input.at(FILTER));
    if !kwargs.is_empty() {
        let args: Vec<String> = kwargs
            .iter()
            .map(|(k, v)| format!("{k}={}", v.at(TERNARY + 1)))
            .collect();
        text.push_str(&format!("({})", args.join(", ")));
    }
    Ex::op(text, FILTER)
}

fn function(name: &str, kwargs: &[(&str, &Ex)]) -> Ex {
    let args: Vec<String> = kwargs
        .iter()
        .map(|(k, v)| format!("{k}={}", v.at(TERNARY + 1)))
        .collect();
    Ex::atom(format!("{name}({})", args.join(", ")))
}

/// How deeply array literals nest in an expression (tera allows two).
fn array_depth(text: &str) -> usize {
    let (mut depth, mut max, mut quote, mut prev) = (0usize, 0usize, None::<char>, ' ');
    let mut stack = Vec::new();
    let mut escaped = false;
    for c in text.chars() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
            prev = c;
            continue;
        }
        match c {
            '"' | '\'' | '`' => quote = Some(c),
            '[' => {
                let literal = !(prev.is_alphanumeric() || matches!(prev, '_' | ']' | ')' | '?'));
                stack.push(literal);
                if literal {
                    depth += 1;
                    max = max.max(depth);
                }
            }
            ']' if stack.pop() == Some(true) => depth = depth.saturating_sub(1),
            _ => {}
        }
        if !c.is_whitespace() {
            prev = c;
        }
    }
    max
}

fn list_of(items: &[Ex]) -> Ex {
    Ex::atom(format!(
        "[{}]",
        items
            .iter()
            .map(|i| i.at(TERNARY + 1))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// A tera string literal.
pub fn string_literal(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

const RESERVED: &[&str] = &[
    "true",
    "false",
    "none",
    "and",
    "or",
    "not",
    "in",
    "is",
    "if",
    "else",
    "loop",
    "Values",
    "Release",
    "Chart",
    "Capabilities",
    "Template",
    "True",
    "False",
    "None",
    "__tera_context",
];

/// A dict key as a component parameter: also not `name` (it selects the helper in
/// `include`) nor `body` (tera's component body).
pub fn parameter(key: &str) -> String {
    let id = identifier(key);
    if id == "name" || id == "body" {
        format!("{id}_")
    } else {
        id
    }
}

/// A Go variable or dict key as a tera identifier.
pub fn identifier(go: &str) -> String {
    let mut out = crate::engine::tera::functions::identifier(go.trim_start_matches('$'));
    if RESERVED.contains(&out.as_str()) {
        out.push('_');
    }
    out
}

/// What the dot (or `$`) stands for.
#[derive(Debug, Clone)]
enum DotIs {
    Root,
    Value(Ex),
    /// Inside a helper called with a dict: `.key` is the parameter `key` (root keys, the
    /// second set, are the root context).
    Params(Vec<String>, BTreeSet<String>),
}

#[derive(Debug, Clone)]
struct Var {
    go: String,
    tera: String,
    loop_depth: usize,
    path: Option<Vec<Seg>>,
    /// Where its map came from when it is shared with another value (`index $config
    /// "receivers"`, `.Values.x`): changing it in place changes that value too in Go.
    shared_from: Option<String>,
    /// Declared as the root context (`$root := .`).
    root_alias: bool,
}

/// One tera tag of a translated Go tag: `{%`/`{{`/`{#`, its body, and its closer.
struct Part {
    open: &'static str,
    body: String,
    close: &'static str,
}

fn stmt(body: String) -> Part {
    Part {
        open: "{%",
        body,
        close: "%}",
    }
}

fn print(body: String) -> Part {
    Part {
        open: "{{",
        body,
        close: "}}",
    }
}

pub struct Translator<'a> {
    /// Every variable the file declares (as tera names), so made-up names avoid them.
    declared: BTreeSet<String>,
    /// Variables assigned with `=` somewhere: declared inside a loop, they live in tera's
    /// global frame so a nested loop can change them.
    reassigned: BTreeSet<String>,
    /// Defines of this file that another file of the chart defines again, and wins.
    overridden: &'a BTreeSet<String>,
    src: &'a str,
    file: &'a str,
    helpers: &'a Helpers,
    values: &'a serde_json::Value,
    tags: Vec<Tag>,
    out: Vec<Option<Vec<Part>>>,
    findings: Vec<Finding>,
    pre: Vec<Part>,
    dot: DotIs,
    dollar: DotIs,
    vars: Vec<Var>,
    loop_depth: usize,
    in_condition: bool,
    temps: usize,
    reported_tpl: bool,
    /// The helper being translated, and what its body uses of the root.
    current: Option<String>,
    root_use: BTreeMap<String, RootUse>,
}

/// The placeholder a component header carries until its implicit parameters are known.
fn header_placeholder(go_name: &str) -> String {
    format!("\u{1}{go_name}\u{1}")
}

/// Translates one parsed file.
pub fn translate(
    src: &str,
    parsed: &Parsed,
    file: &str,
    helpers: &Helpers,
    values: &serde_json::Value,
    overridden: &BTreeSet<String>,
) -> Translated {
    let tags = parse::tags(src);
    let mut declared = BTreeSet::new();
    let mut reassigned = BTreeSet::new();
    variables(&parsed.root, &mut declared, &mut reassigned);
    for (_, body) in &parsed.defines {
        variables(body, &mut declared, &mut reassigned);
    }
    let mut t = Translator {
        declared,
        reassigned,
        overridden,
        src,
        file,
        helpers,
        values,
        out: tags.iter().map(|_| None).collect(),
        tags,
        findings: Vec::new(),
        pre: Vec::new(),
        dot: DotIs::Root,
        dollar: DotIs::Root,
        vars: Vec::new(),
        loop_depth: 0,
        in_condition: false,
        temps: 0,
        reported_tpl: false,
        current: None,
        root_use: BTreeMap::new(),
    };
    t.defines(parsed);
    t.dot = DotIs::Root;
    t.dollar = DotIs::Root;
    t.current = None;
    t.nodes(&parsed.root, 0);
    let text = t.assemble();
    Translated {
        text,
        findings: t.findings,
        root_use: t.root_use,
    }
}

/// Replaces each component header's placeholder with its parameters, now that every
/// helper's use of the root context is known (a helper needs what the helpers it hands
/// the root to need).
pub fn fill_headers(texts: &mut [String], helpers: &Helpers, uses: &BTreeMap<String, RootUse>) {
    let mut needs: BTreeMap<&str, BTreeSet<&'static str>> = uses
        .iter()
        .map(|(name, u)| (name.as_str(), u.roots.clone()))
        .collect();
    loop {
        let mut changed = false;
        for (name, u) in uses {
            for callee in &u.calls {
                let extra: Vec<&'static str> = needs
                    .get(callee.as_str())
                    .map(|s| s.iter().copied().collect())
                    .unwrap_or_else(|| ROOTS.to_vec());
                let mine = needs.entry(name.as_str()).or_default();
                for r in extra {
                    changed |= mine.insert(r);
                }
            }
        }
        if !changed {
            break;
        }
    }
    for text in texts.iter_mut() {
        if text.contains('\u{2}') {
            *text = fill_placeholders(text, '\u{2}', 2, |p| subchart_arguments(p, &needs));
        }
        if text.contains('\u{1}') {
            *text = fill_placeholders(text, '\u{1}', 1, |p| {
                component_parameters(p[0], helpers, &needs)
            });
        }
    }
}

/// A component's parameters: its convention's, then the implicit root parts it needs.
fn component_parameters(
    go_name: &str,
    helpers: &Helpers,
    needs: &BTreeMap<&str, BTreeSet<&'static str>>,
) -> String {
    let mut params: Vec<String> = match helpers.get(go_name).map(|h| &h.convention) {
        Some(Convention::Params { keys, root_keys }) => keys
            .iter()
            .filter(|k| !root_keys.contains(*k))
            .map(|k| format!("{}=none", parameter(k)))
            .collect(),
        Some(Convention::Dot) => vec!["ctx".into()],
        _ => Vec::new(),
    };
    let implicit = needs.get(go_name).cloned().unwrap_or_default();
    params.extend(
        ROOTS
            .iter()
            .filter(|r| implicit.contains(*r))
            .map(|r| format!("@{r}")),
    );
    params.join(", ")
}

/// The placeholder an `include` of a subchart helper carries for the implicit parameters
/// it takes from the subchart context `context`.
fn subchart_placeholder(go_name: &str, context: &str) -> String {
    format!("\u{2}{go_name}\u{2}{context}\u{2}")
}

/// For `include(name="sub.x"<placeholder>)`: `, Values=ctx.Values, …` for the parts of the
/// root the helper needs (`Template` stays the caller's).
fn subchart_arguments(parts: &[&str], needs: &BTreeMap<&str, BTreeSet<&'static str>>) -> String {
    let (name, context) = (parts[0], parts.get(1).copied().unwrap_or_default());
    let needed = needs
        .get(name)
        .cloned()
        .unwrap_or_else(|| ROOTS.iter().copied().collect());
    ["Values", "Release", "Chart", "Capabilities"]
        .iter()
        .filter(|r| needed.contains(*r))
        .map(|root| format!(", {root}={context}.{root}"))
        .collect()
}

/// Replaces every placeholder — `marker`, then `fields` parts each closed by `marker` —
/// with `fill(parts)`.
fn fill_placeholders(
    text: &str,
    marker: char,
    fields: usize,
    fill: impl Fn(&[&str]) -> String,
) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(marker) {
        out.push_str(&rest[..start]);
        let mut parts: Vec<&str> = rest[start + marker.len_utf8()..]
            .splitn(fields + 1, marker)
            .collect();
        rest = if parts.len() > fields {
            parts.pop().unwrap_or_default()
        } else {
            ""
        };
        out.push_str(&fill(&parts));
    }
    out.push_str(rest);
    out
}

impl<'a> Translator<'a> {
    fn finding(&mut self, pos: usize, message: impl Into<String>) {
        let (line, _) = parse::line_col(self.src, pos);
        self.findings.push(Finding {
            file: self.file.to_string(),
            line,
            message: message.into(),
            note: false,
        });
    }

    fn note(&mut self, pos: usize, message: impl Into<String>) {
        self.finding(pos, message);
        if let Some(last) = self.findings.last_mut() {
            last.note = true;
        }
    }

    fn tag_at(&self, pos: usize) -> Option<usize> {
        let i = self.tags.partition_point(|t| t.open <= pos);
        (i > 0 && pos < self.tags[i - 1].close).then(|| i - 1)
    }

    /// The first unclaimed `else`/`end` tag at or after `from`.
    fn next_structural(&self, from: usize) -> Option<usize> {
        (from..self.tags.len()).find(|&i| !self.tags[i].is_comment && self.out[i].is_none())
    }

    fn set(&mut self, i: usize, mut parts: Vec<Part>) {
        let mut all = std::mem::take(&mut self.pre);
        all.append(&mut parts);
        self.out[i] = Some(all);
    }

    fn use_root(&mut self, root: &'static str) {
        if let Some(name) = &self.current {
            self.root_use
                .entry(name.clone())
                .or_default()
                .roots
                .insert(root);
        }
    }

    fn use_all_roots(&mut self) {
        for r in ROOTS {
            self.use_root(r);
        }
    }

    /// A list literal; items that would nest arrays deeper than tera allows are set to
    /// variables first.
    fn list(&mut self, items: &[Ex]) -> Ex {
        let mut flat = Vec::with_capacity(items.len());
        for item in items {
            if array_depth(&item.text) >= 2 {
                let name = self.temp(&name_hint(&item.text));
                self.pre.push(stmt(format!("set {name} = {}", item.text)));
                flat.push(Ex::atom(name));
            } else {
                flat.push(item.clone());
            }
        }
        list_of(&flat)
    }

    fn temp(&mut self, base: &str) -> String {
        self.temps += 1;
        format!("{}_{}", identifier(base), self.temps)
    }

    // --- structure ---------------------------------------------------------------------

    fn defines(&mut self, parsed: &Parsed) {
        let mut define_tags = (0..self.tags.len()).filter(|&i| {
            let inner = self.tags[i].inner(self.src);
            !self.tags[i].is_comment
                && (inner.starts_with("define ")
                    || inner.starts_with("define\"")
                    || inner.starts_with("block "))
        });
        let define_tags: Vec<usize> = define_tags.by_ref().collect();
        for ((name, body), &open) in parsed.defines.iter().zip(&define_tags) {
            if self.tags[open].inner(self.src).starts_with("block") {
                self.finding(
                    self.tags[open].open,
                    format!("`block \"{name}\"` is not converted: write it as a `define` and an `include`"),
                );
                continue;
            }
            let helper = self.helpers.get(name);
            let mut tera_name =
                helper.map_or_else(|| super::helpers::tera_name(name), |h| h.tera_name.clone());
            if self.overridden.contains(name) {
                self.finding(
                    self.tags[open].open,
                    format!("`{name}` is defined again in another file of the chart, and helm uses that one; this copy becomes `{tera_name}_overridden`, which nothing calls"),
                );
                tera_name.push_str("_overridden");
            }
            self.dot = match helper.map(|h| &h.convention) {
                Some(Convention::Params { keys, root_keys }) => {
                    DotIs::Params(keys.clone(), root_keys.clone())
                }
                Some(Convention::Dot) => DotIs::Value(Ex::atom("ctx")),
                _ => DotIs::Root,
            };
            self.dollar = self.dot.clone();
            self.vars.clear();
            self.current = Some(name.clone());
            self.root_use.entry(name.clone()).or_default();
            self.set(
                open,
                vec![stmt(format!(
                    "component {tera_name}({})",
                    header_placeholder(name)
                ))],
            );
            let last = self.nodes(body, open + 1);
            match self.next_structural(last + 1) {
                Some(end) => self.set(end, vec![stmt(format!("endcomponent {tera_name}"))]),
                None => self.finding(self.tags[open].open, "cannot find the end of this define"),
            }
        }
    }

    /// Translates a node list; returns the index of the last tag it claimed (or `before - 1`).
    fn nodes(&mut self, nodes: &[Node], first: usize) -> usize {
        let mut last = first.saturating_sub(1);
        for node in nodes {
            match node {
                Node::Text { .. } => {}
                Node::Action { pos, pipe } => {
                    let Some(i) = self.tag_at(*pos) else { continue };
                    let parts = if is_release_service(pipe, &self.dot)
                        && !self.tags[i].trim_left
                        && !self.tags[i].trim_right
                    {
                        // Kept as helm printed it, so labels do not change.
                        vec![Part {
                            open: "",
                            body: "Helm".into(),
                            close: "",
                        }]
                    } else {
                        self.action(pipe, *pos)
                    };
                    self.set(i, parts);
                    last = i;
                }
                Node::If(b) => last = self.branch(b, "if"),
                Node::With(b) => last = self.branch(b, "with"),
                Node::Range(b) => last = self.range(b),
                Node::Break(pos) | Node::Continue(pos) => {
                    let Some(i) = self.tag_at(*pos) else { continue };
                    let word = if matches!(node, Node::Break(_)) {
                        "break"
                    } else {
                        "continue"
                    };
                    self.set(i, vec![stmt(word.into())]);
                    last = i;
                }
                Node::Template { pos, name, pipe } => {
                    let Some(i) = self.tag_at(*pos) else { continue };
                    let arg = pipe.as_deref();
                    let call = self.include_static(name, arg, *pos);
                    self.set(i, vec![print(call.text)]);
                    last = i;
                }
            }
        }
        last
    }

    /// `if` and `with` with their `else if` / `else with` chains.
    fn branch(&mut self, b: &Branch, kind: &str) -> usize {
        let Some(open) = self.tag_at(b.pos) else {
            return 0;
        };
        let (parts, saved) = self.branch_open(b, kind, false);
        self.set(open, parts);
        let mut closers = vec![stmt("endif".into())];
        let last = self.branch_rest(b, open, saved, &mut closers);
        match self.next_structural(last + 1) {
            Some(end) => {
                self.set(end, closers);
                end
            }
            None => last,
        }
    }

    /// The opening tag of an `if`/`with` (`elif` when continuing a chain). Returns the
    /// dot to restore after the body.
    fn branch_open(&mut self, b: &Branch, kind: &str, elif: bool) -> (Vec<Part>, Option<DotIs>) {
        let keyword = if elif { "elif" } else { "if" };
        if kind == "if" {
            let cond = self.condition(&b.pipe);
            return (vec![stmt(format!("{keyword} {}", cond.text))], None);
        }
        // with: the dot becomes the value inside the body.
        let value = self.pipe_value(&b.pipe, true);
        let mut parts = Vec::new();
        let bound = if b.pipe.decl.is_empty() && value.prec == ATOM && is_path(&value.text) {
            value.clone()
        } else {
            let name = match b.pipe.decl.first() {
                Some(v) => self.declare(v, value.path.clone()),
                None => self.temp(&name_hint(&value.text)),
            };
            parts.push(stmt(format!("set {name} = {}", value.text)));
            Ex {
                text: name,
                prec: ATOM,
                path: value.path.clone(),
            }
        };
        parts.push(stmt(format!("{keyword} {}", bound.text)));
        let saved = std::mem::replace(&mut self.dot, DotIs::Value(bound));
        (parts, Some(saved))
    }

    fn branch_rest(
        &mut self,
        b: &Branch,
        open: usize,
        saved: Option<DotIs>,
        closers: &mut Vec<Part>,
    ) -> usize {
        let mut last = self.nodes(&b.list, open + 1).max(open);
        if let Some(dot) = saved {
            self.dot = dot;
        }
        let Some(else_list) = &b.else_list else {
            return last;
        };
        let Some(else_tag) = self.next_structural(last + 1) else {
            return last;
        };
        match &else_list[..] {
            [Node::If(inner)] if self.tag_at(inner.pos) == Some(else_tag) => {
                let (parts, saved) = self.branch_open(inner, "if", true);
                self.set(else_tag, parts);
                last = self.branch_rest(inner, else_tag, saved, closers);
            }
            [Node::With(inner)] if self.tag_at(inner.pos) == Some(else_tag) => {
                let (mut parts, saved) = self.branch_open(inner, "with", false);
                parts.insert(0, stmt("else".into()));
                self.set(else_tag, parts);
                closers.push(stmt("endif".into()));
                last = self.branch_rest(inner, else_tag, saved, closers);
            }
            _ => {
                self.set(else_tag, vec![stmt("else".into())]);
                last = self.nodes(else_list, else_tag + 1).max(else_tag);
            }
        }
        last
    }

    fn range(&mut self, b: &Branch) -> usize {
        let Some(open) = self.tag_at(b.pos) else {
            return 0;
        };
        let value = self.pipe_value(&b.pipe, false);
        let walks_map = b.pipe.decl.len() >= 2 && !self.is_list(&value, &b.pipe);
        let iterable = if value.path.as_ref().is_some_and(|p| !self.defined(p)) {
            let empty = if walks_map { "{}" } else { "[]" };
            filter(&value, "default", &[("value", &Ex::atom(empty))])
        } else {
            value.clone()
        };
        let item_path = value.path.clone().map(|mut p| {
            p.push(Seg::Each);
            p
        });
        self.loop_depth += 1;
        let mut parts = Vec::new();
        let item = match &b.pipe.decl[..] {
            [] => {
                let name = self.fresh(&singular(&name_hint(&value.text)));
                parts.push(stmt(format!("for {name} in {}", iterable.text)));
                name
            }
            [v] => {
                let name = self.declare(v, item_path.clone());
                self.mark_shared(&b.pipe);
                parts.push(stmt(format!("for {name} in {}", iterable.text)));
                name
            }
            [k, v, ..] => {
                let is_list = !walks_map;
                let key = self.declare(k, None);
                let name = self.declare(v, item_path.clone());
                self.mark_shared(&b.pipe);
                if is_list {
                    parts.push(stmt(format!("for {name} in {}", iterable.text)));
                    parts.push(stmt(format!("set {key} = loop.index0")));
                } else {
                    parts.push(stmt(format!("for {key}, {name} in {}", iterable.text)));
                }
                name
            }
        };
        self.set(open, parts);
        let saved = std::mem::replace(
            &mut self.dot,
            DotIs::Value(Ex {
                text: item,
                prec: ATOM,
                path: item_path,
            }),
        );
        let vars_before = self.vars.len();
        let mut last = self.nodes(&b.list, open + 1).max(open);
        self.dot = saved;
        self.loop_depth -= 1;
        self.vars.truncate(vars_before);
        if let Some(else_list) = &b.else_list
            && let Some(else_tag) = self.next_structural(last + 1)
        {
            self.set(else_tag, vec![stmt("else".into())]);
            last = self.nodes(else_list, else_tag + 1).max(else_tag);
        }
        match self.next_structural(last + 1) {
            Some(end) => {
                self.set(end, vec![stmt("endfor".into())]);
                end
            }
            None => last,
        }
    }

    /// Whether `range $i, $x := value` walks a list (else a map), from the default values
    /// or from the function that makes it.
    fn is_list(&self, value: &Ex, pipe: &Pipe) -> bool {
        if let Some(path) = &value.path {
            let found = reach(self.values, path).values;
            if let Some(v) = found.first() {
                return v.is_array();
            }
        }
        if let Some(Arg::Ident(_, f)) = pipe.cmds.last().and_then(|c| c.args.first()) {
            return matches!(
                &**f,
                "until"
                    | "untilStep"
                    | "list"
                    | "splitList"
                    | "regexSplit"
                    | "seq"
                    | "append"
                    | "concat"
                    | "keys"
                    | "sortAlpha"
                    | "uniq"
                    | "compact"
                    | "without"
                    | "rest"
                    | "initial"
                    | "reverse"
                    | "fromYamlArray"
                    | "fromJsonArray"
                    | "toStrings"
            );
        }
        false
    }

    fn fresh(&mut self, base: &str) -> String {
        let base = identifier(base);
        let taken = |n: &str| self.vars.iter().any(|v| v.tera == n) || self.declared.contains(n);
        let mut name = base.clone();
        let mut k = 1;
        while taken(&name) {
            k += 1;
            name = format!("{base}{k}");
        }
        name
    }

    fn declare(&mut self, go: &str, path: Option<Vec<Seg>>) -> String {
        let tera = if go == "$_" {
            "_".into()
        } else {
            identifier(go)
        };
        self.vars.push(Var {
            go: go.to_string(),
            tera: tera.clone(),
            loop_depth: self.loop_depth,
            path,
            shared_from: None,
            root_alias: false,
        });
        tera
    }

    /// Whether a pipeline is just the root context: `.` or `$` at the root, a dict key that
    /// always holds it, or an alias of it.
    fn is_root_value(&self, pipe: &Pipe) -> bool {
        let [cmd] = &pipe.cmds[..] else { return false };
        match &cmd.args[..] {
            [Arg::Dot(_)] => matches!(self.dot, DotIs::Root),
            [Arg::Variable(_, v, f)] if &**v == "$" => match (&self.dollar, &f[..]) {
                (DotIs::Root, []) => true,
                (DotIs::Params(_, root_keys), [key]) => root_keys.contains(&**key),
                _ => false,
            },
            [Arg::Variable(_, v, f)] => {
                f.is_empty() && self.var(v).is_some_and(|var| var.root_alias)
            }
            [Arg::Field(_, f)] => {
                matches!(&self.dot, DotIs::Params(_, root_keys) if f.len() == 1 && root_keys.contains(&*f[0]))
            }
            [Arg::Pipe(_, inner)] => self.is_root_value(inner),
            _ => false,
        }
    }

    /// helm reads numbers from values as float64, so `printf "%d"` of one prints
    /// `%!d(float64=80)` there; tera keeps whole numbers whole and prints `80`.
    fn printf_integer_verbs(&mut self, xs: &[Ex], pos: usize) {
        static VERB: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
            regex::Regex::new(r"%[-+# 0-9.*\[\]]*[dxXoObcqU]").expect("valid regex")
        });
        if !VERB.is_match(&xs[0].text) {
            return;
        }
        for arg in &xs[1..] {
            let Some(path) = &arg.path else { continue };
            if let Some(n) = reach(self.values, path)
                .values
                .into_iter()
                .find(|v| v.is_number())
            {
                self.finding(
                    pos,
                    format!("printf {} of {} ({n} in the default values): helm reads numbers from values as float64 and prints `%!d(float64={n})` for an integer verb; tera prints the number", xs[0].text, arg.text),
                );
                return;
            }
        }
    }

    /// What the dot is, in tera, for messages.
    fn dot_text(&self) -> String {
        match &self.dot {
            DotIs::Value(ex) => format!("`{}`", ex.text),
            _ => "the root context".into(),
        }
    }

    /// The variable declared last holds a map of the ranged collection.
    fn mark_shared(&mut self, pipe: &Pipe) {
        if let Some(var) = self.vars.last_mut() {
            var.shared_from = Some(format!("range {}", parse::pipe_string(pipe)));
        }
    }

    fn var(&self, go: &str) -> Option<&Var> {
        self.vars.iter().rev().find(|v| v.go == go)
    }

    /// `{{ pipeline }}`: a print, or `$x := …` / `$x = …`.
    fn action(&mut self, pipe: &Pipe, pos: usize) -> Vec<Part> {
        if pipe.decl.is_empty() {
            let value = self.pipe_value(pipe, false);
            if let Some(path) = &value.path
                && let Some(n) = reach(self.values, path)
                    .values
                    .into_iter()
                    .find_map(go_prints_differently)
            {
                self.finding(
                    pos,
                    format!("prints {} ({n} in the default values): helm reads numbers from values as float64 and prints it as {}; tera prints {n}", value.text, crate::engine::library::fmt::format_float(n, 'g', -1)),
                );
            }
            // Go prints a missing value as nothing; tera would stop.
            let shown = match &value.path {
                Some(path) if !self.defined(path) => Ex::op(
                    format!("{} if {} is defined else \"\"", value.at(OR), value.at(OR)),
                    TERNARY,
                ),
                _ => value,
            };
            return vec![print(shown.text)];
        }
        // A map changed in place (`$_ := set $d "k" v`): rebind the variable to the result.
        if let Some(parts) = self.mutation(pipe, pos) {
            return parts;
        }
        let go = &pipe.decl[0];
        // `$root := .`: an alias of the root context; uses read the root directly.
        if !pipe.is_assign && pipe.decl.len() == 1 && self.is_root_value(pipe) {
            self.declare(go, None);
            if let Some(var) = self.vars.last_mut() {
                var.root_alias = true;
            }
            return vec![Part {
                open: "{#",
                body: format!(
                    "{go} is the root context: Values, Release, Chart… are used directly"
                ),
                close: "#}",
            }];
        }
        let value = self.pipe_value(pipe, false);
        if pipe.is_assign
            && let Some(var) = self.var(go)
        {
            let keyword = if var.loop_depth < self.loop_depth {
                "set_global"
            } else {
                "set"
            };
            let name = var.tera.clone();
            return vec![stmt(format!("{keyword} {name} = {}", value.text))];
        }
        let keyword = if self.loop_depth > 0 && self.reassigned.contains(&**go) {
            "set_global"
        } else {
            "set"
        };
        let name = self.declare(go, value.path.clone());
        if let Some(var) = self.vars.last_mut() {
            var.shared_from = shares_a_map(pipe).then(|| parse::pipe_string(pipe));
        }
        vec![stmt(format!("{keyword} {name} = {}", value.text))]
    }

    fn mutation(&mut self, pipe: &Pipe, pos: usize) -> Option<Vec<Part>> {
        let [cmd] = &pipe.cmds[..] else { return None };
        let Some(Arg::Ident(_, f)) = cmd.args.first() else {
            return None;
        };
        if !matches!(
            &**f,
            "set" | "unset" | "merge" | "mergeOverwrite" | "setKey"
        ) {
            return None;
        }
        let target = cmd.args.get(1)?;
        let Arg::Variable(_, v, fields) = target else {
            self.finding(
                pos,
                format!("`{f}` changes a map shared with other templates ({}); tera values cannot be changed in place, so the change is not seen elsewhere", parse::arg_string(target)),
            );
            return None;
        };
        if &**v == "$" {
            self.finding(
                pos,
                format!("`{f}` changes {} in place; tera values cannot be changed in place, so the change is not seen elsewhere", parse::arg_string(target)),
            );
            return None;
        }
        let var = self.var(v)?.clone();
        if let Some(source) = &var.shared_from {
            self.finding(
                pos,
                format!("`{f}` changes {v} in place, and {v} shares its map with `{source}`: in Go the change shows there too, in tera only {v} changes"),
            );
        }
        let mut value = self.command(cmd, None);
        // `set $a.b.c "k" v`: rebuild each map on the way down.
        for depth in (0..fields.len()).rev() {
            let mut holder = var.tera.clone();
            for f in &fields[..depth] {
                holder.push('.');
                holder.push_str(f);
            }
            value = function(
                "set",
                &[(
                    "args",
                    &self.list(&[
                        Ex::atom(holder),
                        Ex::atom(string_literal(&fields[depth])),
                        value,
                    ]),
                )],
            );
        }
        let keyword = if var.loop_depth < self.loop_depth {
            "set_global"
        } else {
            "set"
        };
        Some(vec![stmt(format!(
            "{keyword} {} = {}",
            var.tera, value.text
        ))])
    }

    fn condition(&mut self, pipe: &Pipe) -> Ex {
        self.pipe_value(pipe, true)
    }

    // --- expressions -------------------------------------------------------------------

    fn pipe_value(&mut self, pipe: &Pipe, condition: bool) -> Ex {
        let saved = std::mem::replace(&mut self.in_condition, condition);
        let mut value: Option<Ex> = None;
        for cmd in &pipe.cmds {
            value = Some(self.command(cmd, value));
        }
        self.in_condition = saved;
        value.unwrap_or_else(|| Ex::atom("none"))
    }

    fn command(&mut self, cmd: &Command, piped: Option<Ex>) -> Ex {
        let args = &cmd.args;
        match &args[0] {
            Arg::Ident(_, name) => self.call(name, &args[1..], piped, cmd.pos),
            Arg::Field(pos, fields) if args.len() > 1 || piped.is_some() => {
                let dot = self.dot.clone();
                self.method(&dot, fields, &args[1..], piped, *pos)
            }
            Arg::Variable(pos, v, fields) if (args.len() > 1 || piped.is_some()) && &**v == "$" => {
                let dollar = self.dollar.clone();
                self.method(&dollar, fields, &args[1..], piped, *pos)
            }
            single if args.len() == 1 && piped.is_none() => self.arg(single),
            other => {
                self.finding(
                    other.pos(),
                    format!("cannot convert `{}`", parse::command_string(cmd)),
                );
                self.arg(other)
            }
        }
    }

    /// `.Files.Get`, `.Files.Glob`, `.Capabilities.APIVersions.Has` and friends, on the root
    /// context wherever it is reached from (`.`, `$`, `.context`, `$.ctx`).
    fn method(
        &mut self,
        base: &DotIs,
        fields: &[Box<str>],
        args: &[Arg],
        piped: Option<Ex>,
        pos: usize,
    ) -> Ex {
        let mut xs: Vec<Ex> = args.iter().map(|a| self.arg(a)).collect();
        xs.extend(piped);
        let first = xs.first().cloned().unwrap_or_else(|| Ex::atom("\"\""));
        let (prefix, fields): (String, &[Box<str>]) = match base {
            DotIs::Root => (String::new(), fields),
            DotIs::Value(ex) => (format!("{}.", ex.at(ATOM)), fields),
            DotIs::Params(_, root_keys) => match fields.split_first() {
                Some((key, rest)) if root_keys.contains(&**key) => (String::new(), rest),
                Some((key, rest)) => (format!("{}.", parameter(key)), rest),
                None => (String::new(), fields),
            },
        };
        let names: Vec<&str> = fields.iter().map(|f| &**f).collect();
        match &names[..] {
            [.., "Files", "Get" | "GetBytes"] => function("fileGet", &[("path", &first)]),
            [.., "Files", "Glob"] => function("fileGlob", &[("pattern", &first)]),
            [.., "Files", "Lines"] => function("fileLines", &[("path", &first)]),
            [head @ .., "Capabilities", "APIVersions", "Has"] => {
                if prefix.is_empty() && head.is_empty() {
                    self.use_root("Capabilities");
                }
                let mut path = prefix.clone();
                for h in head {
                    path.push_str(h);
                    path.push('.');
                }
                Ex::op(
                    format!("{} in {path}Capabilities.APIVersions", first.at(CMP + 1)),
                    CMP,
                )
            }
            _ => {
                self.finding(
                    pos,
                    format!("cannot convert the method call `.{}`", names.join(".")),
                );
                Ex::atom(format!("{prefix}{}()", names.join(".")))
            }
        }
    }

    fn arg(&mut self, arg: &Arg) -> Ex {
        match arg {
            Arg::Field(pos, fields) => {
                let dot = self.dot.clone();
                self.access(&dot, fields, *pos)
            }
            Arg::Variable(pos, v, fields) if &**v == "$" => {
                let dollar = self.dollar.clone();
                self.access(&dollar, fields, *pos)
            }
            Arg::Variable(pos, v, fields) => match self.var(v).cloned() {
                Some(var) if var.root_alias => self.access(&DotIs::Root, fields, *pos),
                Some(var) => {
                    let mut ex = Ex::atom(var.tera.clone());
                    ex.path = var.path.clone();
                    append_fields(ex, fields)
                }
                None => {
                    self.finding(*pos, format!("unknown variable {v}"));
                    Ex::atom(identifier(v))
                }
            },
            Arg::Dot(pos) => {
                let dot = self.dot.clone();
                self.access(&dot, &[], *pos)
            }
            Arg::Nil(_) => Ex::atom("none"),
            Arg::Bool(_, b) => Ex::atom(b.to_string()),
            Arg::Number(_, Number::Int(n)) => Ex::atom(n.to_string()),
            // tera has no exponent literals: write every float in full.
            Arg::Number(_, Number::Float(f)) if f.fract() == 0.0 => Ex::atom(format!("{f:.1}")),
            Arg::Number(_, Number::Float(f)) => Ex::atom(format!("{f}")),
            Arg::Str(_, s) => Ex::atom(string_literal(s)),
            Arg::Ident(pos, f) => self.call(f, &[], None, *pos),
            Arg::Pipe(_, p) => {
                let inner_condition = self.in_condition;
                self.pipe_value(p, inner_condition)
            }
            Arg::Chain(_, inner, fields) => {
                let base = self.arg(inner);
                let names: Vec<&str> = fields.iter().map(|f| &**f).collect();
                match &names[..] {
                    ["AsConfig"] => filter(&base, "asConfig", &[]),
                    ["AsSecrets"] => filter(&base, "asSecrets", &[]),
                    // `(.Values.a).b` is helm's nil-safe access.
                    _ if base.prec == ATOM && is_path(&base.text) => {
                        let mut ex = base.clone();
                        for f in fields {
                            ex.text = format!("{}?.{f}", ex.text);
                        }
                        if let Some(path) = &mut ex.path {
                            path.extend(fields.iter().map(|f| Seg::Key(f.to_string())));
                        }
                        ex
                    }
                    _ => {
                        let name = self.temp("value");
                        self.pre.push(stmt(format!("set {name} = {}", base.text)));
                        append_fields(Ex::atom(name), fields)
                    }
                }
            }
        }
    }

    /// A field chain from the dot or `$`.
    fn access(&mut self, base: &DotIs, fields: &[Box<str>], pos: usize) -> Ex {
        match base {
            DotIs::Value(ex) => append_fields(ex.clone(), fields),
            DotIs::Params(keys, root_keys) => match fields.first() {
                // The dict itself, rebuilt from the parameters.
                None => {
                    let mut entries = Vec::new();
                    for key in keys {
                        let value = if root_keys.contains(key) {
                            self.use_all_roots();
                            "__tera_context".to_string()
                        } else {
                            parameter(key)
                        };
                        entries.push(format!("{}: {value}", string_literal(key)));
                    }
                    Ex::atom(format!("{{{}}}", entries.join(", ")))
                }
                Some(key) if root_keys.contains(&**key) => {
                    self.access(&DotIs::Root, &fields[1..], pos)
                }
                // `.Release.Name` in a helper given a dict: Go would fail there, so it is
                // a branch for callers passing the root; read the root.
                Some(key) if ROOTS.contains(&&**key) && !keys.contains(&key.to_string()) => {
                    self.access(&DotIs::Root, fields, pos)
                }
                Some(key) => append_fields(Ex::atom(parameter(key)), &fields[1..]),
            },
            DotIs::Root => {
                let Some(first) = fields.first() else {
                    self.use_all_roots();
                    return Ex::atom("__tera_context");
                };
                match &**first {
                    "Values" => {
                        self.use_root("Values");
                        let mut ex = append_fields(Ex::atom("Values"), &fields[1..]);
                        ex.path = Some(
                            fields[1..]
                                .iter()
                                .map(|f| Seg::Key(f.to_string()))
                                .collect(),
                        );
                        ex
                    }
                    "Subcharts" => {
                        self.use_root("Subcharts");
                        let mut ex = Ex::atom("Subcharts");
                        for f in &fields[1..] {
                            ex.text = if f.contains('-') {
                                format!("{}[{}]", ex.text, string_literal(f))
                            } else {
                                format!("{}.{f}", ex.text)
                            };
                        }
                        ex
                    }
                    "Release" if fields.len() == 2 && &*fields[1] == "Service" => {
                        Ex::atom("\"Helm\"")
                    }
                    root @ ("Release" | "Chart" | "Capabilities" | "Template") => {
                        let r = ROOTS
                            .iter()
                            .find(|r| **r == root)
                            .copied()
                            .unwrap_or("Values");
                        self.use_root(r);
                        append_fields(Ex::atom(root), &fields[1..])
                    }
                    other => {
                        self.finding(pos, format!("`.{other}` has no tera equivalent"));
                        append_fields(Ex::atom(other), &fields[1..])
                    }
                }
            }
        }
    }

    fn include_static(&mut self, name: &str, arg: Option<&Pipe>, pos: usize) -> Ex {
        let helper = self.helpers.get(name).cloned();
        if helper.as_ref().is_some_and(|h| h.kept) {
            self.finding(
                pos,
                format!("calls `{name}` of a subchart kept as Go templates (--keep-subcharts); tera templates cannot call Go helpers: convert that subchart too"),
            );
        }
        let tera_name = helper
            .as_ref()
            .map_or_else(|| super::helpers::tera_name(name), |h| h.tera_name.clone());
        let mut kwargs: Vec<(String, Ex)> =
            vec![("name".into(), Ex::atom(string_literal(&tera_name)))];
        let convention = helper.map_or(Convention::Root, |h| h.convention);
        match (&convention, arg) {
            // A subchart's helper given the subchart's context: its implicit parameters
            // come from that context (filled in once the helper's needs are known).
            (Convention::Root, Some(pipe)) if self.subchart_context(pipe).is_some() => {
                let context = self
                    .subchart_context(pipe)
                    .unwrap_or_else(|| Ex::atom("{}"));
                let refs: Vec<(&str, &Ex)> = kwargs.iter().map(|(k, v)| (k.as_str(), v)).collect();
                let call = function("include", &refs).text;
                let placeholder = subchart_placeholder(name, &context.text);
                return Ex::atom(format!("{}{placeholder})", &call[..call.len() - 1]));
            }
            (Convention::Root, Some(pipe))
                if passes_dot(pipe) && matches!(self.dot, DotIs::Value(_)) =>
            {
                self.finding(
                    pos,
                    format!("passes `.` (here {}) to `{name}`, which everywhere else gets the root context; the converted call passes the root context", self.dot_text()),
                );
                self.hand_root(name);
            }
            (Convention::Root, _) => self.hand_root(name),
            (Convention::Params { keys, root_keys }, Some(pipe))
                if passes_dot(pipe) && matches!(self.dot, DotIs::Params(..)) =>
            {
                // Handing on the dict this helper was given: the same parameters.
                for key in keys.iter().filter(|k| !root_keys.contains(*k)) {
                    let p = parameter(key);
                    kwargs.push((p.clone(), Ex::atom(p)));
                }
                self.hand_root(name);
            }
            (Convention::Params { root_keys, .. }, Some(pipe)) => {
                let entries = dict_entries(pipe);
                match entries {
                    Some(entries) => {
                        let mut passes_root = false;
                        for (key, value) in entries {
                            if root_keys.contains(&key) {
                                passes_root = true;
                                continue;
                            }
                            let v = self.arg(value);
                            kwargs.push((parameter(&key), v));
                        }
                        if passes_root {
                            self.hand_root(name);
                        }
                    }
                    None => self.finding(
                        pos,
                        format!("`{name}` is called with something other than a dict"),
                    ),
                }
            }
            (Convention::Dot, Some(pipe)) => {
                let v = self.pipe_value(pipe, false);
                kwargs.push(("ctx".into(), v));
            }
            (_, None) => {}
        }
        let refs: Vec<(&str, &Ex)> = kwargs.iter().map(|(k, v)| (k.as_str(), v)).collect();
        function("include", &refs)
    }

    /// `.Subcharts.sub`, `$.Subcharts.sub` or `index .Subcharts "sub"` (at the root): the
    /// subchart context as a tera expression.
    fn subchart_context(&mut self, pipe: &Pipe) -> Option<Ex> {
        let [cmd] = &pipe.cmds[..] else { return None };
        let at_root = match &cmd.args[..] {
            [Arg::Field(_, f)] => {
                f.len() == 2 && &*f[0] == "Subcharts" && matches!(self.dot, DotIs::Root)
            }
            [Arg::Variable(_, v, f)] => {
                &**v == "$"
                    && f.len() == 2
                    && &*f[0] == "Subcharts"
                    && matches!(self.dollar, DotIs::Root)
            }
            [Arg::Ident(_, i), Arg::Field(_, f), Arg::Str(..)] => {
                &**i == "index"
                    && f.len() == 1
                    && &*f[0] == "Subcharts"
                    && matches!(self.dot, DotIs::Root)
            }
            [Arg::Pipe(_, inner)] => return self.subchart_context(inner),
            _ => false,
        };
        at_root.then(|| self.pipe_value(pipe, false))
    }

    /// Records that the current helper hands the root context to helper `name`.
    fn hand_root(&mut self, name: &str) {
        if let Some(current) = &self.current {
            self.root_use
                .entry(current.clone())
                .or_default()
                .calls
                .insert(name.to_string());
        }
    }

    fn call(&mut self, name: &str, raw: &[Arg], piped: Option<Ex>, pos: usize) -> Ex {
        // Calls whose arguments need their Go form.
        match name {
            "include" => {
                if let Some(Arg::Str(_, helper)) = raw.first() {
                    let arg = raw.get(1).map(arg_pipe);
                    return self.include_static(helper, arg.as_ref(), pos);
                }
                let dynamic = raw
                    .first()
                    .map(|a| self.arg(a))
                    .unwrap_or_else(|| Ex::atom("\"\""));
                self.use_all_roots();
                self.hand_root("");
                return function("include", &[("name", &dynamic)]);
            }
            "dict" if raw.len().is_multiple_of(2) && piped.is_none() => {
                let mut entries = Vec::new();
                for pair in raw.chunks(2) {
                    let key = match &pair[0] {
                        Arg::Str(_, k) => string_literal(k),
                        other => self.arg(other).at(TERNARY + 1),
                    };
                    let value = self.arg(&pair[1]);
                    entries.push(format!("{key}: {}", value.at(TERNARY + 1)));
                }
                return Ex::atom(format!("{{{}}}", entries.join(", ")));
            }
            "tpl" => {
                let mut xs: Vec<Ex> = raw.iter().take(1).map(|a| self.arg(a)).collect();
                if raw.len() < 2 {
                    xs.extend(piped);
                }
                let text = xs.into_iter().next().unwrap_or_else(|| Ex::atom("\"\""));
                let root_ctx = raw.get(1).is_none_or(|a| self.is_root_value(&arg_pipe(a)));
                self.use_all_roots();
                if let Some(key) = go_template_text(self.values, "Values")
                    && !self.reported_tpl
                {
                    self.reported_tpl = true;
                    self.note(pos, format!("values rendered by `tpl` keep helm's syntax ({key} holds Go template text): `tpl(go=true)` translates them when rendering; once the values are tera, drop `go=true`"));
                }
                // Values users wrote for the helm chart keep working: `go=true`.
                let go = Ex::atom("true");
                if root_ctx {
                    return filter(&text, "tpl", &[("go", &go)]);
                }
                let context = self.arg(&raw[1]);
                return filter(&text, "tpl", &[("go", &go), ("context", &context)]);
            }
            _ => {}
        }
        let in_condition = self.in_condition;
        let logical = matches!(name, "and" | "or" | "not");
        if !logical {
            self.in_condition = false;
        }
        let mut xs: Vec<Ex> = raw.iter().map(|a| self.arg(a)).collect();
        self.in_condition = in_condition;
        let is_piped = piped.is_some();
        xs.extend(piped);
        self.library_call(name, xs, is_piped, pos)
    }

    fn library_call(&mut self, name: &str, xs: Vec<Ex>, is_piped: bool, pos: usize) -> Ex {
        let n = xs.len();
        match (name, n) {
            (
                "quote" | "squote" | "toYaml" | "toJson" | "toPrettyJson" | "toString" | "int"
                | "upper" | "lower" | "title" | "trim" | "b64enc" | "b64dec" | "sha256sum"
                | "fromYaml" | "fromYamlArray" | "fromJson" | "keys" | "uniq" | "compact"
                | "kindOf" | "typeOf" | "empty" | "first" | "last",
                1,
            ) => filter(&xs[0], name, &[]),
            ("len", 1) => filter(&xs[0], "length", &[]),
            ("indent" | "nindent" | "trunc", 2) => filter(&xs[1], name, &[("n", &xs[0])]),
            ("trimSuffix" | "trimPrefix" | "hasPrefix" | "hasSuffix", 2) => {
                let kw = if name.ends_with("Suffix") {
                    "suffix"
                } else {
                    "prefix"
                };
                filter(&xs[1], name, &[(kw, &xs[0])])
            }
            ("contains", 2) => filter(&xs[1], name, &[("substr", &xs[0])]),
            ("splitList", 2) => filter(&xs[1], name, &[("sep", &xs[0])]),
            ("join", 2) => filter(&xs[1], name, &[("sep", &xs[0])]),
            ("default", 2) => filter(&xs[1], name, &[("value", &xs[0])]),
            ("required", 2) => filter(&xs[1], name, &[("msg", &xs[0])]),
            ("semverCompare", 2) => filter(&xs[1], name, &[("constraint", &xs[0])]),
            ("kindIs", 2) => filter(&xs[1], name, &[("kind", &xs[0])]),
            ("regexMatch", 2) => filter(&xs[1], name, &[("regex", &xs[0])]),
            ("regexReplaceAll", 3) => {
                filter(&xs[1], name, &[("regex", &xs[0]), ("replacement", &xs[2])])
            }
            ("replace", 3) => filter(&xs[2], name, &[("old", &xs[0]), ("new", &xs[1])]),
            ("has", 2) => filter(&xs[1], name, &[("value", &xs[0])]),
            ("hasKey", 2) => filter(&xs[0], name, &[("key", &xs[1])]),
            ("date", 2) => filter(&xs[1], name, &[("format", &xs[0])]),
            ("dig", k) if k >= 3 => {
                let keys = self.list(&xs[..k - 2]);
                filter(
                    &xs[k - 1],
                    name,
                    &[("keys", &keys), ("default", &xs[k - 2])],
                )
            }
            ("ternary", 3) => Ex::op(
                format!("{} if {} else {}", xs[0].at(OR), xs[2].at(OR), xs[1].at(OR)),
                TERNARY,
            ),
            ("printf", k) if k >= 2 && only_s_verbs(&xs[0].text, k - 1) => {
                concatenation(&xs[0].text, &xs[1..])
            }
            ("printf", k) if k >= 1 => {
                self.printf_integer_verbs(&xs, pos);
                let args = self.list(&xs[1..]);
                if k == 1 {
                    function(name, &[("format", &xs[0])])
                } else {
                    function(name, &[("format", &xs[0]), ("args", &args)])
                }
            }
            ("coalesce", _) => filter(&self.list(&xs), name, &[]),
            ("list", _) => self.list(&xs),
            ("merge" | "mergeOverwrite", k) if k >= 2 => {
                let src = if k == 2 {
                    xs[1].clone()
                } else {
                    self.list(&xs[1..])
                };
                filter(&xs[0], name, &[("src", &src)])
            }
            ("genCA", 2) => function(name, &[("cn", &xs[0]), ("days", &xs[1])]),
            ("genCAWithKey", 3) => {
                function(name, &[("cn", &xs[0]), ("days", &xs[1]), ("key", &xs[2])])
            }
            ("genPrivateKey", 1) => function(name, &[("type", &xs[0])]),
            ("buildCustomCert", 2) => function(name, &[("cert", &xs[0]), ("key", &xs[1])]),
            (
                "genSelfSignedCert"
                | "genSelfSignedCertWithKey"
                | "genSignedCert"
                | "genSignedCertWithKey",
                k,
            ) if k >= 4 => {
                let mut kw: Vec<(&str, &Ex)> = vec![
                    ("cn", &xs[0]),
                    ("ips", &xs[1]),
                    ("alternateNames", &xs[2]),
                    ("days", &xs[3]),
                ];
                let extra: &[&str] = match name {
                    "genSelfSignedCertWithKey" => &["key"],
                    "genSignedCert" => &["ca"],
                    "genSignedCertWithKey" => &["ca", "key"],
                    _ => &[],
                };
                for (i, k) in extra.iter().enumerate() {
                    if let Some(x) = xs.get(4 + i) {
                        kw.push((k, x));
                    }
                }
                function(name, &kw)
            }
            ("fail", 1) => function(name, &[("msg", &xs[0])]),
            ("randAlphaNum", 1) => function(name, &[("n", &xs[0])]),
            ("now", 0) => function(name, &[]),
            ("lookup", 4) => function(
                name,
                &[
                    ("apiVersion", &xs[0]),
                    ("kind", &xs[1]),
                    ("namespace", &xs[2]),
                    ("name", &xs[3]),
                ],
            ),
            ("eq" | "ne" | "lt" | "le" | "gt" | "ge", k) if k >= 2 => {
                let op = match name {
                    "eq" => "==",
                    "ne" => "!=",
                    "lt" => "<",
                    "le" => "<=",
                    "gt" => ">",
                    _ => ">=",
                };
                if k == 2 || name != "eq" {
                    Ex::op(
                        format!("{} {op} {}", xs[0].at(CMP + 1), xs[1].at(CMP + 1)),
                        CMP,
                    )
                } else {
                    let alternatives: Vec<String> = xs[1..]
                        .iter()
                        .map(|x| format!("{} == {}", xs[0].at(CMP + 1), x.at(CMP + 1)))
                        .collect();
                    Ex::op(alternatives.join(" or "), OR)
                }
            }
            ("and" | "or", 1) => xs[0].clone(),
            ("not", 1) => Ex::op(format!("not {}", xs[0].at(NOT)), NOT),
            ("and" | "or", k) if k >= 2 => {
                if self.in_condition
                    || xs.iter().all(|x| {
                        x.prec == ATOM
                            && x.text.starts_with(['t', 'f'])
                            && (x.text == "true" || x.text == "false")
                    })
                {
                    let (op, prec) = if name == "and" {
                        (" and ", AND)
                    } else {
                        (" or ", OR)
                    };
                    let parts: Vec<String> = xs.iter().map(|x| x.at(prec + 1)).collect();
                    Ex::op(parts.join(op), prec)
                } else {
                    // Go returns the deciding operand, not a boolean.
                    let mut rest = xs[k - 1].clone();
                    for x in xs[..k - 1].iter().rev() {
                        rest = if name == "or" {
                            Ex::op(
                                format!("{} if {} else {}", x.at(OR), x.at(OR), rest.at(TERNARY)),
                                TERNARY,
                            )
                        } else {
                            Ex::op(
                                format!("{} if {} else {}", rest.at(OR), x.at(OR), x.at(OR)),
                                TERNARY,
                            )
                        };
                    }
                    rest
                }
            }
            ("add" | "sub" | "mul" | "div" | "mod", k) if k >= 2 => {
                let (op, prec) = match name {
                    "add" => ("+", ADD),
                    "sub" => ("-", ADD),
                    "mul" => ("*", MUL),
                    "div" => ("//", MUL),
                    _ => ("%", MUL),
                };
                let mut text = xs[0].at(prec);
                for x in &xs[1..] {
                    text = format!("{text} {op} {}", x.at(prec + 1));
                }
                Ex::op(text, prec)
            }
            ("add1", 1) => Ex::op(format!("{} + 1", xs[0].at(ADD)), ADD),
            ("index", k) if k >= 1 => {
                // tera subscripts a path or a variable, not a call's result.
                let base = if is_path(&xs[0].text) {
                    xs[0].text.clone()
                } else {
                    let name = self.temp("value");
                    self.pre.push(stmt(format!("set {name} = {}", xs[0].text)));
                    name
                };
                Ex::atom(
                    xs[1..]
                        .iter()
                        .fold(base, |text, key| format!("{text}[{}]", key.text)),
                )
            }
            _ => {
                // Every function a template parses with is in the library, which tera
                // charts call as `name(args=[…])`.
                if xs.is_empty() {
                    function(name, &[])
                } else if is_piped && !TERA_FILTERS.contains(&name) {
                    let (subject, rest) = xs.split_last().expect("not empty");
                    if rest.is_empty() {
                        filter(subject, name, &[])
                    } else {
                        filter(subject, name, &[("args", &self.list(rest))])
                    }
                } else {
                    let args = self.list(&xs);
                    function(name, &[("args", &args)])
                }
            }
        }
    }

    /// Whether every value a path reaches exists and is not null in the default values.
    fn defined(&self, path: &[Seg]) -> bool {
        reach(self.values, path).complete
    }

    // --- output ------------------------------------------------------------------------

    fn assemble(&mut self) -> String {
        let mut out = String::with_capacity(self.src.len() + self.src.len() / 4);
        let mut at = 0;
        for i in 0..self.tags.len() {
            let tag = self.tags[i].clone();
            let prev_trims = i > 0 && self.tags[i - 1].trim_right;
            self.text(&mut out, at, tag.open, prev_trims, tag.trim_left);
            at = tag.close;
            if tag.is_comment {
                let inner = tag.inner(self.src);
                let body = inner
                    .trim_start_matches("/*")
                    .trim_end_matches("*/")
                    .replace("#}", "# }");
                out.push_str(if tag.trim_left { "{#-" } else { "{#" });
                out.push_str(&body);
                out.push_str(if tag.trim_right { "-#}" } else { "#}" });
                continue;
            }
            let Some(parts) = self.out[i].take() else {
                self.finding(
                    tag.open,
                    format!("cannot convert `{{{{ {} }}}}`", tag.inner(self.src)),
                );
                continue;
            };
            let count = parts.len();
            for (k, part) in parts.into_iter().enumerate() {
                if part.open.is_empty() {
                    out.push_str(&part.body);
                    continue;
                }
                out.push_str(part.open);
                if k == 0 && tag.trim_left {
                    out.push('-');
                }
                out.push(' ');
                out.push_str(&part.body);
                out.push(' ');
                if k + 1 == count && tag.trim_right {
                    out.push('-');
                }
                out.push_str(part.close);
            }
        }
        let last_trims = self.tags.last().is_some_and(|t| t.trim_right);
        self.text(&mut out, at, self.src.len(), last_trims, false);
        out
    }

    /// Copies text between tags; text tera would read as a tag goes in a raw block (with
    /// Go's trimming applied, since tera does not trim into raw blocks).
    fn text(&self, out: &mut String, start: usize, end: usize, trim_start: bool, trim_end: bool) {
        let text = &self.src[start..end];
        if !(text.contains("{%") || text.contains("{#")) {
            out.push_str(text);
            return;
        }
        let ws = |c: char| matches!(c, ' ' | '\t' | '\r' | '\n');
        let mut t = text;
        if trim_start {
            t = t.trim_start_matches(ws);
        }
        if trim_end {
            t = t.trim_end_matches(ws);
        }
        out.push_str("{% raw %}");
        out.push_str(t);
        out.push_str("{% endraw %}");
    }
}

/// Whether a printf format (as a tera literal) has exactly `n` verbs, all `%s`, and no
/// escapes: then it is a concatenation.
fn only_s_verbs(literal: &str, n: usize) -> bool {
    let Some(format) = literal.strip_prefix('"').and_then(|l| l.strip_suffix('"')) else {
        return false;
    };
    !format.contains('\\') && format.matches('%').count() == n && format.matches("%s").count() == n
}

/// `printf "%s-%s" a b` as `a ~ "-" ~ b`.
fn concatenation(literal: &str, args: &[Ex]) -> Ex {
    let format = &literal[1..literal.len() - 1];
    let mut parts: Vec<String> = Vec::new();
    for (i, piece) in format.split("%s").enumerate() {
        if !piece.is_empty() {
            parts.push(format!("\"{piece}\""));
        }
        if let Some(arg) = args.get(i) {
            parts.push(arg.at(FILTER));
        }
    }
    if parts.len() == 1 {
        return filter(&Ex::atom(parts.remove(0)), "toString", &[]);
    }
    Ex::op(parts.join(" ~ "), MUL)
}

fn is_release_service(pipe: &Pipe, dot: &DotIs) -> bool {
    let [cmd] = &pipe.cmds[..] else { return false };
    pipe.decl.is_empty()
        && matches!(dot, DotIs::Root)
        && matches!(&cmd.args[..], [Arg::Field(_, f)] if f.len() == 2 && &*f[0] == "Release" && &*f[1] == "Service")
}

/// Collects the variables a tree declares (tera names) and those it assigns with `=`.
fn variables(nodes: &[Node], declared: &mut BTreeSet<String>, reassigned: &mut BTreeSet<String>) {
    let mut pipe = |p: &Pipe| {
        for v in &p.decl {
            declared.insert(identifier(v));
            if p.is_assign {
                reassigned.insert(v.to_string());
            }
        }
    };
    let mut stack: Vec<&[Node]> = vec![nodes];
    while let Some(list) = stack.pop() {
        for node in list {
            match node {
                Node::Action { pipe: p, .. } => pipe(p),
                Node::If(b) | Node::With(b) | Node::Range(b) => {
                    pipe(&b.pipe);
                    stack.push(&b.list);
                    if let Some(e) = &b.else_list {
                        stack.push(e);
                    }
                }
                _ => {}
            }
        }
    }
}

/// One argument as a pipeline of its own.
fn arg_pipe(a: &Arg) -> Pipe {
    Pipe {
        pos: a.pos(),
        is_assign: false,
        decl: Box::new([]),
        cmds: Box::new([Command {
            pos: a.pos(),
            args: Box::new([a.clone()]),
        }]),
    }
}

/// Whether a declaration's value is (or may be) a map another value holds too: anything but
/// a map or list made fresh (`dict`, `list`, `deepCopy`, `fromYaml`, `include`, literals…).
fn shares_a_map(pipe: &Pipe) -> bool {
    let Some(last) = pipe.cmds.last() else {
        return false;
    };
    match last.args.first() {
        // merge functions return their first map.
        Some(Arg::Ident(_, f))
            if matches!(
                &**f,
                "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite"
            ) =>
        {
            match last.args.get(1) {
                Some(Arg::Pipe(_, first)) => shares_a_map(first),
                Some(
                    Arg::Ident(..) | Arg::Str(..) | Arg::Number(..) | Arg::Bool(..) | Arg::Nil(_),
                ) => false,
                Some(_) => true,
                // Piped: the piped value is the last argument; the first is a map given here.
                None => false,
            }
        }
        Some(Arg::Ident(_, f)) => !matches!(
            &**f,
            "dict"
                | "list"
                | "deepCopy"
                | "mustDeepCopy"
                | "fromYaml"
                | "fromJson"
                | "fromYamlArray"
                | "fromJsonArray"
                | "include"
                | "tpl"
                | "toYaml"
                | "toJson"
                | "printf"
                | "print"
                | "append"
                | "mustAppend"
                | "concat"
                | "splitList"
                | "until"
                | "uniq"
                | "without"
                | "mustWithout"
                | "keys"
                | "values"
        ),
        Some(Arg::Field(..) | Arg::Variable(..) | Arg::Dot(_) | Arg::Chain(..) | Arg::Pipe(..)) => {
            true
        }
        _ => false,
    }
}

/// Whether a helper's argument is just `.` or `$`.
fn passes_dot(pipe: &Pipe) -> bool {
    matches!(&pipe.cmds[..], [cmd] if matches!(&cmd.args[..], [Arg::Dot(_)] | [Arg::Variable(_, _, _)] if match &cmd.args[0] { Arg::Variable(_, v, f) => &**v == "$" && f.is_empty(), _ => true }))
}

/// The `"key" value` pairs of a `(dict …)` argument.
fn dict_entries(pipe: &Pipe) -> Option<Vec<(String, &Arg)>> {
    let [cmd] = &pipe.cmds[..] else { return None };
    let args: &[Arg] = match &cmd.args[..] {
        [Arg::Pipe(_, inner)] => {
            let [c] = &inner.cmds[..] else { return None };
            &c.args
        }
        all => all,
    };
    let [Arg::Ident(_, f), rest @ ..] = args else {
        return None;
    };
    if &**f != "dict" || rest.len() % 2 != 0 {
        return None;
    }
    rest.chunks(2)
        .map(|pair| match &pair[0] {
            Arg::Str(_, k) => Some((k.to_string(), &pair[1])),
            _ => None,
        })
        .collect()
}

fn append_fields(mut ex: Ex, fields: &[Box<str>]) -> Ex {
    if fields.is_empty() {
        return ex;
    }
    let mut text = ex.at(ATOM);
    for f in fields {
        text.push('.');
        text.push_str(f);
    }
    ex.text = text;
    ex.prec = ATOM;
    if let Some(path) = &mut ex.path {
        path.extend(fields.iter().map(|f| Seg::Key(f.to_string())));
    }
    ex
}

fn is_path(text: &str) -> bool {
    !text.is_empty()
        && text
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.' || c == '?')
        && !text.starts_with(|c: char| c.is_ascii_digit())
}

/// A name for a value: the last segment of its path or the function that makes it.
fn name_hint(text: &str) -> String {
    let head = text.split(['(', ' ', '|']).next().unwrap_or(text);
    let last = head.rsplit('.').next().unwrap_or(head);
    if last.is_empty() || last == "Values" {
        "item".into()
    } else {
        last.to_string()
    }
}

/// `ports` → `port`, `entries` → `entry`; other names get `item`.
fn singular(name: &str) -> String {
    if let Some(stem) = name.strip_suffix("ies")
        && !stem.is_empty()
    {
        return format!("{stem}y");
    }
    if name.len() > 1
        && name.ends_with('s')
        && !["ss", "us", "is"].iter().any(|e| name.ends_with(e))
    {
        return name[..name.len() - 1].to_string();
    }
    if name == "item" {
        return name.into();
    }
    format!("{name}_item")
}

/// What a path reaches in the default values.
struct Reached<'v> {
    /// Every value found (a list's items and a map's values through [`Seg::Each`]).
    values: Vec<&'v serde_json::Value>,
    /// Whether every step found a value that is not null: then users leaving the value out
    /// is not the default. Through an empty list nothing is known about the items users
    /// will give, so that is not complete either.
    complete: bool,
}

fn reach<'v>(values: &'v serde_json::Value, path: &[Seg]) -> Reached<'v> {
    let mut current = vec![values];
    let mut complete = true;
    for seg in path {
        let mut next = Vec::new();
        for v in current {
            match (seg, v) {
                (Seg::Key(k), _) => match v.get(k) {
                    Some(x) => {
                        complete &= !x.is_null();
                        next.push(x);
                    }
                    None => complete = false,
                },
                (Seg::Each, serde_json::Value::Array(items)) => next.extend(items),
                (Seg::Each, serde_json::Value::Object(m)) => next.extend(m.values()),
                (Seg::Each, _) => complete = false,
            }
        }
        complete &= !next.is_empty();
        current = next;
    }
    Reached {
        values: current,
        complete,
    }
}

/// The first value (by path) holding Go template text, which `tpl` would render.
fn go_template_text(value: &serde_json::Value, path: &str) -> Option<String> {
    match value {
        serde_json::Value::String(s) if s.contains("{{") => Some(path.to_string()),
        serde_json::Value::Object(m) => m
            .iter()
            .find_map(|(k, v)| go_template_text(v, &format!("{path}.{k}"))),
        serde_json::Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, v)| go_template_text(v, &format!("{path}[{i}]"))),
        _ => None,
    }
}

/// A number helm (float64, `%v`) prints in exponent form where tera prints it in full.
fn go_prints_differently(value: &serde_json::Value) -> Option<f64> {
    let n = value.as_f64()?;
    (n != 0.0 && (n.abs() >= 1e6 || n.abs() < 1e-4)).then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tera(src: &str, values: serde_json::Value) -> (String, Vec<Finding>) {
        let parsed = crate::convert::parse_go(src).expect("parses");
        let helpers = Helpers::analyze(&[&parsed]);
        let t = translate(
            src,
            &parsed,
            "c/templates/x.yaml",
            &helpers,
            &values,
            &BTreeSet::new(),
        );
        let mut texts = vec![t.text];
        fill_headers(&mut texts, &helpers, &t.root_use);
        (texts.remove(0), t.findings)
    }

    #[test]
    fn conditions_keep_their_chain_and_trim_markers() {
        let (out, findings) = tera(
            "{{- if .Values.a }}\nA\n{{- else if eq .Values.b \"x\" }}\nB\n{{- else }}\nC\n{{- end }}\n",
            serde_json::json!({"a": true, "b": "x"}),
        );
        assert_eq!(
            out,
            "{%- if Values.a %}\nA\n{%- elif Values.b == \"x\" %}\nB\n{%- else %}\nC\n{%- endif %}\n"
        );
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn with_and_range_name_their_dot() {
        let (out, _) = tera(
            "{{ with .Values.tls }}{{ .secret }}{{ else }}none{{ end }}{{ range .Values.ports }}{{ .name }}{{ end }}",
            serde_json::json!({"tls": {"secret": "s"}, "ports": [{"name": "http"}]}),
        );
        assert_eq!(
            out,
            "{% if Values.tls %}{{ Values.tls.secret }}{% else %}none{% endif %}{% for port in Values.ports %}{{ port.name }}{% endfor %}"
        );
    }

    #[test]
    fn range_with_a_key_walks_maps_and_lists_as_the_defaults_say() {
        let (out, _) = tera(
            "{{ range $k, $v := .Values.env }}{{ $k }}={{ $v }}{{ end }}{{ range $i, $p := .Values.list }}{{ $i }}{{ end }}",
            serde_json::json!({"env": {"A": "1"}, "list": ["x"]}),
        );
        assert_eq!(
            out,
            "{% for k, v in Values.env %}{{ k }}={{ v }}{% endfor %}{% for p in Values.list %}{% set i = loop.index0 %}{{ i }}{% endfor %}"
        );
    }

    #[test]
    fn missing_values_print_nothing_as_in_go_and_defined_ones_print_plainly() {
        let (out, _) = tera(
            "{{ .Values.here }}/{{ .Values.missing }}",
            serde_json::json!({"here": 1}),
        );
        assert_eq!(
            out,
            "{{ Values.here }}/{{ Values.missing if Values.missing is defined else \"\" }}"
        );
    }

    #[test]
    fn go_operators_become_tera_expressions() {
        let (out, _) = tera(
            "{{ printf \"%s-%s\" .Release.Name \"web\" | trunc 63 }}{{ or .Values.a \"d\" }}{{ add .Values.n 1 }}{{ if and .Values.a (not .Values.b) }}y{{ end }}",
            serde_json::json!({"a": "", "b": false, "n": 1}),
        );
        assert_eq!(
            out,
            "{{ (Release.Name ~ \"-\" ~ \"web\") | trunc(n=63) }}{{ Values.a if Values.a else \"d\" }}{{ Values.n + 1 }}{% if Values.a and not Values.b %}y{% endif %}"
        );
    }

    #[test]
    fn text_tera_would_read_as_a_tag_is_kept_raw_with_go_trimming() {
        let (out, _) = tera(
            "a: {{ .Values.a -}}\n  ${#arr[@]} {%x%}\n{{- .Values.a }}",
            serde_json::json!({"a": 1}),
        );
        assert_eq!(
            out,
            "a: {{ Values.a -}}{% raw %}${#arr[@]} {%x%}{% endraw %}{{- Values.a }}"
        );
    }

    #[test]
    fn a_variable_changed_from_a_nested_loop_lives_in_the_global_frame() {
        let (out, _) = tera(
            "{{ range .Values.xs }}{{ $n := 0 }}{{ range .ys }}{{ $n = add $n 1 }}{{ end }}{{ $n }}{{ end }}",
            serde_json::json!({"xs": [{"ys": [1]}]}),
        );
        assert!(out.contains("{% set_global n = 0 %}"), "{out}");
        assert!(out.contains("{% set_global n = n + 1 %}"), "{out}");
    }

    #[test]
    fn a_map_changed_in_place_through_a_variable_is_rebound() {
        let (out, findings) = tera(
            "{{ $c := dict \"a\" (dict) }}{{ $_ := set $c.a \"k\" 1 }}{{ $_ := set .Values \"x\" 1 }}",
            serde_json::json!({}),
        );
        assert!(
            out.contains("{% set c = set(args=[c, \"a\", set(args=[c.a, \"k\", 1])]) %}"),
            "{out}"
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(findings[0].message.contains("(.Values)"), "{findings:?}");
    }

    #[test]
    fn printf_integer_verbs_of_numbers_from_values_are_listed() {
        let (out, findings) = tera(
            "{{ printf \"%d\" .Values.port }} {{ printf \"%v\" .Values.port }}",
            serde_json::json!({"port": 80}),
        );
        assert_eq!(
            out,
            "{{ printf(format=\"%d\", args=[Values.port]) }} {{ printf(format=\"%v\", args=[Values.port]) }}"
        );
        assert_eq!(findings.len(), 1, "{findings:?}");
        assert!(
            findings[0].message.contains("prints `%!d(float64=80)`"),
            "{findings:?}"
        );
    }

    #[test]
    fn a_root_alias_reads_the_root_directly() {
        let (out, findings) = tera(
            "{{- $root := . -}}\n{{ range .Values.xs }}{{ $root.Release.Name }}-{{ . }}{{ end }}",
            serde_json::json!({"xs": ["a"]}),
        );
        assert_eq!(
            out,
            "{#- $root is the root context: Values, Release, Chart… are used directly -#}\n{% for x in Values.xs %}{{ Release.Name }}-{{ x }}{% endfor %}"
        );
        assert!(findings.is_empty(), "{findings:?}");
    }

    #[test]
    fn changing_a_map_another_value_holds_is_listed() {
        let (_, findings) = tera(
            "{{ $s := index .Values.cfg \"a\" }}{{ $_ := set $s \"k\" 1 }}\n{{ range $n, $p := .Values.cfg }}{{ $_ := unset $p \"k\" }}{{ end }}\n{{ $own := dict }}{{ $_ := set $own \"k\" 1 }}",
            serde_json::json!({"cfg": {"a": {}}}),
        );
        let messages: Vec<(usize, &str)> = findings
            .iter()
            .map(|f| (f.line, f.message.as_str()))
            .collect();
        assert_eq!(
            messages,
            [
                (
                    1,
                    "`set` changes $s in place, and $s shares its map with `$s := index .Values.cfg \"a\"`: in Go the change shows there too, in tera only $s changes"
                ),
                (
                    2,
                    "`unset` changes $p in place, and $p shares its map with `range $n, $p := .Values.cfg`: in Go the change shows there too, in tera only $p changes"
                ),
            ]
        );
    }
}

//! Executes parsed Go templates with text/template's semantics and helm's options
//! (`missingkey=zero`): field and map access, pipelines (the piped value is the last
//! argument), variables, `if`/`with`/`range`/`break`/`continue`, `template`, and helm's
//! `include` and `tpl`, which need the template set. Errors are worded as Go words them.
//! A render is bounded in time and output size.

use std::cell::Cell;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

use super::parse::{self, Arg, Branch, Command, Node, Number, Pipe, Pos};
pub use crate::engine::library::CallError;
use crate::engine::library::value::Value;
use crate::engine::library::{Funcs, Function};
use crate::engine::limits::{self, Exceeded};
use foldhash::{HashMap, HashMapExt};

/// One named template: a file's main tree or a `define`d body, with the file it came from.
pub struct Tmpl {
    /// The template's name (`mychart/templates/x.yaml`, or the `define`d name).
    pub name: String,
    /// The file it was parsed from, as errors name it.
    pub file: Arc<str>,
    /// That file's source, for line:column in errors.
    pub src: Arc<str>,
    pub nodes: Box<[Node]>,
}

/// Every template a render can reach by name.
#[derive(Default, Clone)]
pub struct TemplateSet {
    pub templates: HashMap<String, Arc<Tmpl>>,
}

impl TemplateSet {
    /// An empty set with room for `templates` names.
    pub fn with_capacity(templates: usize) -> Self {
        TemplateSet {
            templates: HashMap::with_capacity(templates),
        }
    }

    /// Parses `src` (from `file`) and adds its main tree under `name` and its definitions.
    /// As in Go, an empty definition does not replace an existing one.
    pub fn add(
        &mut self,
        name: &str,
        file: &Arc<str>,
        src: &Arc<str>,
        funcs: &Funcs,
    ) -> Result<Arc<Tmpl>, parse::ParseError> {
        let parsed = parse::parse(src, &|f| is_builtin_name(f) || funcs.contains(f))?;
        Ok(self.add_parsed(name, file, src, parsed))
    }

    /// Adds a file parsed beforehand (see [`TemplateSet::add`]).
    pub fn add_parsed(
        &mut self,
        name: &str,
        file: &Arc<str>,
        src: &Arc<str>,
        parsed: parse::Parsed,
    ) -> Arc<Tmpl> {
        for (define, body) in parsed.defines {
            if parse::is_empty_tree(&body, src) && self.templates.contains_key(&define) {
                continue;
            }
            self.templates.insert(
                define.clone(),
                Arc::new(Tmpl {
                    name: define,
                    file: file.clone(),
                    src: src.clone(),
                    nodes: body,
                }),
            );
        }
        let root = Arc::new(Tmpl {
            name: name.to_string(),
            file: file.clone(),
            src: src.clone(),
            nodes: parsed.root,
        });
        if !(parse::is_empty_tree(&root.nodes, src) && self.templates.contains_key(name)) {
            self.templates.insert(name.to_string(), root.clone());
        }
        // Go executes the template just parsed even when its empty body did not replace
        // the named one.
        root
    }
}

/// The arguments of `include` and `tpl`: a string, then the data to render it with.
fn string_and_data(func: &str, values: &[Value]) -> Result<std::sync::Arc<str>, CallError> {
    if values.len() != 2 {
        return Err(CallError::from(format!(
            "wrong number of args for {func}: want 2 got {}",
            values.len()
        )));
    }
    crate::engine::library::arg_str(&values[0])
}

/// Whether a call to `name` can change what later templates see: sprig's `set`, `unset` and
/// the `merge` family change a map in place, and `tpl` and `call` run what only the values
/// know. Templates that call none of these give the same output in any order, each with its
/// own copy of the context.
pub fn may_change_shared_state(name: &str) -> bool {
    matches!(
        name,
        "set"
            | "unset"
            | "merge"
            | "mustMerge"
            | "mergeOverwrite"
            | "mustMergeOverwrite"
            | "tpl"
            | "call"
    )
}

/// Names the executor implements itself.
pub fn is_builtin_name(name: &str) -> bool {
    matches!(name, "and" | "or" | "include" | "tpl" | "call")
}

/// An execution error in Go's words (`template: FILE:LINE:COL: executing "NAME" at <…>: …`).
#[derive(Debug, Clone)]
pub struct ExecError {
    pub message: String,
    /// The location of the outermost failing action: `file:line:col`.
    pub location: String,
    /// A `fail`/`required` message, carried out of nested includes unchanged.
    pub user_message: Option<String>,
}

impl std::fmt::Display for ExecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

/// Why a walk stopped early.
enum Flow {
    Break,
    Continue,
    Error(ExecError),
}

impl From<ExecError> for Flow {
    fn from(e: ExecError) -> Self {
        Flow::Error(e)
    }
}

/// Bounds on one render (from the render's budget); a template that goes past one fails,
/// and the limit is noted for the renderer to report.
#[derive(Clone, Copy)]
pub struct Limits {
    pub deadline: Option<Instant>,
    pub max_output: usize,
}

const MAX_DEPTH: usize = 10_000;
const MAX_INCLUDE_NESTING: usize = 1000;

/// Executes templates of one set.
pub struct Executor<'a> {
    pub set: &'a TemplateSet,
    /// Templates defined by the text a `tpl` call is rendering, seen before `set`.
    overlay: Option<&'a TemplateSet>,
    pub funcs: &'a Funcs,
    pub limits: Limits,
    /// Nested include depth per name (helm stops at 1000).
    include_counts: HashMap<String, usize>,
    depth: usize,
    steps: Cell<u64>,
    pub output_total: usize,
    /// Whether `tpl` and `required` work in strict (lint) mode.
    pub strict: bool,
}

struct State<'s> {
    tmpl: Arc<Tmpl>,
    vars: Vec<(Rc<str>, Value)>,
    out: &'s mut String,
}

impl<'a> Executor<'a> {
    pub fn new(set: &'a TemplateSet, funcs: &'a Funcs, limits: Limits) -> Self {
        Executor {
            set,
            overlay: None,
            funcs,
            limits,
            include_counts: HashMap::new(),
            depth: 0,
            steps: Cell::new(0),
            output_total: 0,
            strict: false,
        }
    }

    /// Executes the template `name` with `dot`, appending to `out`.
    pub fn execute(&mut self, name: &str, dot: &Value, out: &mut String) -> Result<(), ExecError> {
        let Some(tmpl) = self.lookup(name) else {
            return Err(ExecError {
                message: format!(
                    "template: no template {name:?} associated with template \"gotpl\""
                ),
                location: String::new(),
                user_message: None,
            });
        };
        self.run(tmpl, dot, out)
    }

    fn lookup(&self, name: &str) -> Option<Arc<Tmpl>> {
        self.overlay
            .and_then(|o| o.templates.get(name))
            .or_else(|| self.set.templates.get(name))
            .cloned()
    }

    fn run(&mut self, tmpl: Arc<Tmpl>, dot: &Value, out: &mut String) -> Result<(), ExecError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            self.depth -= 1;
            return Err(self.error_at(
                &tmpl,
                0,
                "",
                format!("exceeded maximum template depth ({MAX_DEPTH})"),
            ));
        }
        // The state holds the template for error positions; the nodes walked are its own.
        let walked = tmpl.clone();
        let mut state = State {
            tmpl,
            vars: vec![(Rc::from("$"), dot.clone())],
            out,
        };
        let start_len = state.out.len();
        let result = self.walk_list(&mut state, dot, &walked.nodes);
        self.output_total += state.out.len().saturating_sub(start_len);
        self.depth -= 1;
        match result {
            Ok(()) => Ok(()),
            Err(Flow::Error(e)) => Err(e),
            Err(_) => Ok(()),
        }
    }

    fn error_at(&self, tmpl: &Tmpl, pos: Pos, at: &str, message: String) -> ExecError {
        let (line, col) = parse::line_col(&tmpl.src, pos);
        let location = format!("{}:{}:{}", tmpl.file, line, col);
        let context = at;
        ExecError {
            message: format!(
                "template: {location}: executing {:?} at <{context}>: {message}",
                tmpl.name
            ),
            location,
            user_message: None,
        }
    }

    fn err(&self, s: &State<'_>, pos: Pos, at: &str, message: impl Into<String>) -> Flow {
        Flow::Error(self.error_at(&s.tmpl, pos, at, message.into()))
    }

    fn tick(&self, s: &State<'_>, pos: Pos) -> Result<(), Flow> {
        let n = self.steps.get() + 1;
        self.steps.set(n);
        if n.is_multiple_of(1024) {
            // The renderer reports the limit noted here in its own words.
            if let Some(deadline) = self.limits.deadline
                && Instant::now() > deadline
            {
                limits::note(Exceeded::Time);
                return Err(self.err(s, pos, "", "the render took longer than its time limit"));
            }
            if self.output_total + s.out.len() > self.limits.max_output {
                limits::note(Exceeded::Output);
                return Err(self.err(s, pos, "", "the rendered output grew past its limit"));
            }
        }
        Ok(())
    }

    fn walk_list(&mut self, s: &mut State<'_>, dot: &Value, nodes: &[Node]) -> Result<(), Flow> {
        for node in nodes {
            self.walk(s, dot, node)?;
        }
        Ok(())
    }

    fn walk(&mut self, s: &mut State<'_>, dot: &Value, node: &Node) -> Result<(), Flow> {
        match node {
            Node::Text { start, end } => {
                s.out.push_str(&s.tmpl.src[*start..*end]);
                Ok(())
            }
            Node::Action { pos, pipe } => {
                self.tick(s, *pos)?;
                let value = self.eval_pipeline(s, dot, pipe)?;
                if pipe.decl.is_empty() {
                    self.print_value(s, *pos, &value)?;
                }
                Ok(())
            }
            Node::If(b) | Node::With(b) => {
                let is_with = matches!(node, Node::With(_));
                let mark = s.vars.len();
                let value = self.eval_pipeline(s, dot, &b.pipe)?;
                let truth = self.truth(s, b.pipe.pos, &value)?;
                let result = if truth {
                    if is_with {
                        self.walk_list(s, &value, &b.list)
                    } else {
                        self.walk_list(s, dot, &b.list)
                    }
                } else if let Some(else_list) = &b.else_list {
                    self.walk_list(s, dot, else_list)
                } else {
                    Ok(())
                };
                s.vars.truncate(mark);
                result
            }
            Node::Range(b) => self.walk_range(s, dot, b),
            Node::Break(_) => Err(Flow::Break),
            Node::Continue(_) => Err(Flow::Continue),
            Node::Template { pos, name, pipe } => {
                let Some(tmpl) = self.lookup(name) else {
                    return Err(self.err(
                        s,
                        *pos,
                        &format!("template {name:?}"),
                        format!("template {name:?} not defined"),
                    ));
                };
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(s, dot, p)?,
                    None => Value::Nil,
                };
                self.run(tmpl, &new_dot, s.out).map_err(Flow::Error)
            }
        }
    }

    fn truth(&self, s: &State<'_>, pos: Pos, value: &Value) -> Result<bool, Flow> {
        let _ = (s, pos);
        Ok(value.truthy())
    }

    fn walk_range(&mut self, s: &mut State<'_>, dot: &Value, b: &Branch) -> Result<(), Flow> {
        let mark = s.vars.len();
        let value = self.eval_pipeline(s, dot, &b.pipe)?;
        // The pipeline's declarations are the loop variables, set per iteration.
        let top = s.vars.len();
        let decls = b.pipe.decl.len().min(top - mark);
        let data = value.data();
        let mut ran = false;
        let body =
            |this: &mut Self, s: &mut State<'_>, key: Value, elem: Value| -> Result<bool, Flow> {
                this.tick(s, b.pos)?;
                match decls {
                    0 => {}
                    1 => s.vars[top - 1].1 = elem.clone(),
                    _ => {
                        s.vars[top - 2].1 = key;
                        s.vars[top - 1].1 = elem.clone();
                    }
                }
                let result = this.walk_list(s, &elem, &b.list);
                s.vars.truncate(top);
                match result {
                    Ok(()) | Err(Flow::Continue) => Ok(true),
                    Err(Flow::Break) => Ok(false),
                    Err(e) => Err(e),
                }
            };
        // Before the first iteration the declared variables exist (with no value yet).
        match &data {
            Value::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    ran = true;
                    if !body(self, s, Value::Int(i as i64), item.clone())? {
                        break;
                    }
                }
            }
            Value::Bytes(bytes) => {
                for (i, item) in bytes.iter().enumerate() {
                    ran = true;
                    if !body(self, s, Value::Int(i as i64), Value::Int(*item as i64))? {
                        break;
                    }
                }
            }
            Value::Map(map) => {
                let entries: Vec<(String, Value)> = map
                    .borrow()
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                for (k, v) in entries {
                    ran = true;
                    if !body(self, s, Value::from(k), v)? {
                        break;
                    }
                }
            }
            Value::Int(n) => {
                if decls > 1 {
                    return Err(self.err(
                        s,
                        b.pos,
                        "",
                        format!("can't use {n} to iterate over more than one variable"),
                    ));
                }
                for i in 0..*n {
                    ran = true;
                    if !body(self, s, Value::Int(i), Value::Int(i))? {
                        break;
                    }
                }
            }
            Value::Nil => {}
            other => {
                return Err(self.err(
                    s,
                    b.pos,
                    "",
                    format!("range can't iterate over {}", other.go_string()),
                ));
            }
        }
        s.vars.truncate(mark);
        if !ran && let Some(else_list) = &b.else_list {
            let result = self.walk_list(s, dot, else_list);
            s.vars.truncate(mark);
            return result;
        }
        Ok(())
    }

    fn print_value(&self, s: &mut State<'_>, pos: Pos, value: &Value) -> Result<(), Flow> {
        let _ = pos;
        match value {
            Value::Nil => s.out.push_str("<no value>"),
            Value::Str(t) => s.out.push_str(t),
            other => other.write_go(s.out),
        }
        Ok(())
    }

    fn eval_pipeline(
        &mut self,
        s: &mut State<'_>,
        dot: &Value,
        pipe: &Pipe,
    ) -> Result<Value, Flow> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(s, dot, cmd, value)?);
        }
        let value = value.unwrap_or_default();
        for name in &pipe.decl {
            if pipe.is_assign {
                if let Some(slot) = s.vars.iter_mut().rev().find(|(n, _)| **n == **name) {
                    slot.1 = value.clone();
                }
            } else {
                s.vars.push((Rc::from(&**name), value.clone()));
            }
        }
        Ok(value)
    }

    fn eval_command(
        &mut self,
        s: &mut State<'_>,
        dot: &Value,
        cmd: &Command,
        fin: Option<Value>,
    ) -> Result<Value, Flow> {
        let first = &cmd.args[0];
        match first {
            Arg::Field(p, fields) => {
                self.eval_field_chain(s, dot, dot.clone(), *p, first, fields, &cmd.args, fin)
            }
            Arg::Chain(p, inner, fields) => {
                let receiver = self.eval_arg(s, dot, inner)?;
                if matches!(**inner, Arg::Nil(_)) {
                    return Err(self.err(
                        s,
                        *p,
                        &parse::arg_string(first),
                        "indirection through explicit nil in (nil).Field",
                    ));
                }
                self.eval_field_chain(s, dot, receiver, *p, first, fields, &cmd.args, fin)
            }
            Arg::Variable(p, name, fields) => {
                let value = self.var(s, *p, name)?;
                if fields.is_empty() {
                    if cmd.args.len() > 1 || fin.is_some() {
                        return Err(self.err(
                            s,
                            *p,
                            &parse::arg_string(first),
                            format!("can't give argument to non-function {name}"),
                        ));
                    }
                    return Ok(value);
                }
                self.eval_field_chain(s, dot, value, *p, first, fields, &cmd.args, fin)
            }
            Arg::Ident(p, name) => self.eval_function(s, dot, *p, name, &cmd.args, fin),
            Arg::Pipe(p, pipe) => {
                if cmd.args.len() > 1 || fin.is_some() {
                    return Err(self.err(
                        s,
                        *p,
                        &parse::command_string(cmd),
                        format!(
                            "can't give argument to non-function {}",
                            parse::arg_string(first)
                        ),
                    ));
                }
                self.eval_parenthesized(s, dot, pipe)
            }
            Arg::Nil(p) => Err(self.err(s, *p, "nil", "nil is not a command")),
            other => {
                if cmd.args.len() > 1 || fin.is_some() {
                    return Err(self.err(
                        s,
                        other.pos(),
                        &parse::arg_string(other),
                        format!(
                            "can't give argument to non-function {}",
                            parse::arg_string(other)
                        ),
                    ));
                }
                self.eval_arg(s, dot, other)
            }
        }
    }

    /// A parenthesized pipeline: its variables end with it.
    fn eval_parenthesized(
        &mut self,
        s: &mut State<'_>,
        dot: &Value,
        pipe: &Pipe,
    ) -> Result<Value, Flow> {
        let mark = s.vars.len();
        let value = self.eval_pipeline(s, dot, pipe);
        s.vars.truncate(mark);
        value
    }

    fn var(&self, s: &State<'_>, pos: Pos, name: &str) -> Result<Value, Flow> {
        match s.vars.iter().rev().find(|(n, _)| &**n == name) {
            Some((_, v)) => Ok(v.clone()),
            None => Err(self.err(s, pos, name, format!("undefined variable: {name}"))),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field_chain(
        &mut self,
        s: &mut State<'_>,
        dot: &Value,
        receiver: Value,
        pos: Pos,
        node: &Arg,
        fields: &[Box<str>],
        args: &[Arg],
        fin: Option<Value>,
    ) -> Result<Value, Flow> {
        // A nil that did not come out of a map lookup in this chain (dot, a variable, a
        // parenthesized pipeline) is Go's invalid value: every field of it is nil too.
        if receiver.is_nil() {
            if args.len() > 1 || fin.is_some() {
                let at = parse::arg_string(node);
                let field = fields.last().map(|f| &**f).unwrap_or("");
                return Err(self.err(
                    s,
                    pos,
                    &at,
                    format!("nil pointer evaluating interface {{}}.{field}"),
                ));
            }
            return Ok(Value::Nil);
        }
        let mut current = receiver;
        let last = fields.len().saturating_sub(1);
        for (i, field) in fields.iter().enumerate() {
            if i == last {
                return self.eval_field(s, dot, current, pos, node, field, args, fin);
            }
            current = self.eval_field(s, dot, current, pos, node, field, &args[..1], None)?;
        }
        Ok(current)
    }

    #[allow(clippy::too_many_arguments)]
    fn eval_field(
        &mut self,
        s: &mut State<'_>,
        dot: &Value,
        receiver: Value,
        pos: Pos,
        node: &Arg,
        field: &str,
        args: &[Arg],
        fin: Option<Value>,
    ) -> Result<Value, Flow> {
        let has_args = args.len() > 1 || fin.is_some();
        let at = || parse::arg_string(node);
        match &receiver {
            Value::Nil => Err(self.err(
                s,
                pos,
                &at(),
                format!("nil pointer evaluating interface {{}}.{field}"),
            )),
            Value::Map(map) => {
                if has_args {
                    return Err(self.err(
                        s,
                        pos,
                        &at(),
                        format!("{field} is not a method but has arguments"),
                    ));
                }
                match map.borrow().get(field) {
                    Some(v) => Ok(v.clone()),
                    // helm's strict lint runs with missingkey=error.
                    None if self.strict => {
                        Err(self.err(s, pos, &at(), format!("map has no entry for key {field:?}")))
                    }
                    None => Ok(Value::Nil),
                }
            }
            Value::Object(o) => {
                if o.has_method(field) {
                    let mut values = Vec::with_capacity(args.len());
                    for a in &args[1..] {
                        values.push(self.eval_arg(s, dot, a)?);
                    }
                    if let Some(f) = fin {
                        values.push(f);
                    }
                    return match o.method(field, &values) {
                        Some(Ok(v)) => Ok(v),
                        Some(Err(e)) => {
                            Err(self.err(s, pos, &at(), format!("error calling {field}: {e}")))
                        }
                        None => Err(self.err(
                            s,
                            pos,
                            &at(),
                            format!("can't evaluate field {field} in type {}", o.type_name()),
                        )),
                    };
                }
                match o.field(field) {
                    Some(v) => {
                        if has_args {
                            return Err(self.err(
                                s,
                                pos,
                                &at(),
                                format!("{field} has arguments but cannot be invoked as function"),
                            ));
                        }
                        Ok(v)
                    }
                    None => Err(self.err(
                        s,
                        pos,
                        &at(),
                        format!("can't evaluate field {field} in type {}", o.type_name()),
                    )),
                }
            }
            _ => Err(self.err(
                s,
                pos,
                &at(),
                format!("can't evaluate field {field} in type interface {{}}"),
            )),
        }
    }

    fn eval_arg(&mut self, s: &mut State<'_>, dot: &Value, arg: &Arg) -> Result<Value, Flow> {
        match arg {
            Arg::Dot(_) => Ok(dot.clone()),
            Arg::Nil(_) => Ok(Value::Nil),
            Arg::Bool(_, b) => Ok(Value::Bool(*b)),
            Arg::Number(_, Number::Int(n)) => Ok(Value::Int(*n)),
            Arg::Number(_, Number::Float(f)) => Ok(Value::Float(*f)),
            Arg::Str(_, t) => Ok(Value::Str(t.clone())),
            Arg::Field(p, fields) => self.eval_field_chain(
                s,
                dot,
                dot.clone(),
                *p,
                arg,
                fields,
                std::slice::from_ref(arg),
                None,
            ),
            Arg::Variable(p, name, fields) => {
                let v = self.var(s, *p, name)?;
                if fields.is_empty() {
                    Ok(v)
                } else {
                    self.eval_field_chain(
                        s,
                        dot,
                        v,
                        *p,
                        arg,
                        fields,
                        std::slice::from_ref(arg),
                        None,
                    )
                }
            }
            Arg::Pipe(_, pipe) => self.eval_parenthesized(s, dot, pipe),
            Arg::Chain(p, inner, fields) => {
                let receiver = self.eval_arg(s, dot, inner)?;
                self.eval_field_chain(
                    s,
                    dot,
                    receiver,
                    *p,
                    arg,
                    fields,
                    std::slice::from_ref(arg),
                    None,
                )
            }
            Arg::Ident(p, name) => {
                self.eval_function(s, dot, *p, name, std::slice::from_ref(arg), None)
            }
        }
    }

    fn eval_function(
        &mut self,
        s: &mut State<'_>,
        dot: &Value,
        pos: Pos,
        name: &str,
        args: &[Arg],
        fin: Option<Value>,
    ) -> Result<Value, Flow> {
        self.tick(s, pos)?;
        // `and` and `or` stop at the first operand that decides.
        if name == "and" || name == "or" {
            let count = args.len() - 1 + usize::from(fin.is_some());
            if count < 1 {
                return Err(self.err(
                    s,
                    pos,
                    name,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut last = Value::Nil;
            for a in &args[1..] {
                last = self.eval_arg(s, dot, a)?;
                if last.truthy() != (name == "and") {
                    return Ok(last);
                }
            }
            if let Some(f) = fin {
                last = f;
            }
            return Ok(last);
        }
        let mut values = Vec::with_capacity(args.len());
        for a in &args[1..] {
            values.push(self.eval_arg(s, dot, a)?);
        }
        if let Some(f) = fin {
            values.push(f);
        }
        let result = match name {
            "include" => self.include(&values),
            "tpl" => self.tpl(&values),
            "call" => match values.split_first() {
                Some((Value::Object(o), rest)) => o
                    .method("Call", rest)
                    .unwrap_or_else(|| Err("non-function of type ".to_string() + o.type_name()))
                    .map_err(CallError::from),
                Some((other, _)) => Err(CallError::from(format!(
                    "non-function {} of type {}",
                    other.go_string(),
                    other.type_name()
                ))),
                None => Err(CallError::from(
                    "wrong number of args for call: want at least 1 got 0",
                )),
            },
            _ => match self.funcs.get(name) {
                Some(f) => self.call(f, name, &values),
                None => Err(CallError::from(format!("function {name:?} not defined"))),
            },
        };
        result.map_err(|e| {
            let at = args
                .iter()
                .map(parse::arg_string)
                .collect::<Vec<_>>()
                .join(" ");
            let mut err = self.error_at(
                &s.tmpl,
                pos,
                &at,
                format!("error calling {name}: {}", e.message),
            );
            if e.user {
                err.user_message = Some(e.message.clone());
            }
            Flow::Error(err)
        })
    }

    fn call(&mut self, f: &Function, name: &str, values: &[Value]) -> Result<Value, CallError> {
        if values.len() < f.min_args || f.max_args.is_some_and(|m| values.len() > m) {
            let want = match f.max_args {
                Some(m) if m == f.min_args => format!("{m}"),
                _ => format!("at least {}", f.min_args),
            };
            return Err(CallError::from(format!(
                "wrong number of args for {name}: want {want} got {}",
                values.len()
            )));
        }
        (f.call)(values)
    }

    fn include(&mut self, values: &[Value]) -> Result<Value, CallError> {
        let name = &string_and_data("include", values)?;
        match self.include_counts.get_mut(&**name) {
            Some(count) if *count > MAX_INCLUDE_NESTING => {
                return Err(CallError::from(format!(
                    "unable to execute template: rendering template has a nested reference name: {name}"
                )));
            }
            Some(count) => *count += 1,
            None => {
                self.include_counts.insert(name.to_string(), 1);
            }
        }
        let mut out = String::new();
        let result = match self.lookup(name) {
            Some(tmpl) => self.run(tmpl, &values[1], &mut out),
            None => Err(ExecError {
                message: format!(
                    "template: no template {name:?} associated with template \"gotpl\""
                ),
                location: String::new(),
                user_message: None,
            }),
        };
        if let Some(c) = self.include_counts.get_mut(&**name) {
            *c -= 1;
        }
        match result {
            Ok(()) => Ok(Value::from(out)),
            Err(e) => Err(CallError {
                user: e.user_message.is_some(),
                message: e.user_message.unwrap_or(e.message),
            }),
        }
    }

    fn tpl(&mut self, values: &[Value]) -> Result<Value, CallError> {
        let text = &string_and_data("tpl", values)?;
        // The text's own definitions, over the chart's (and an outer `tpl`'s).
        let mut local = self.overlay.cloned().unwrap_or_default();
        let file: Arc<str> = Arc::from("gotpl");
        let src: Arc<str> = text.clone();
        let root = match local.add("gotpl", &file, &src, self.funcs) {
            Ok(root) => root,
            Err(e) => {
                return Err(CallError::from(format!(
                    "error during tpl function execution for {:?}: template: gotpl:{}: {}",
                    &**text, e.line, e.message
                )));
            }
        };
        let mut inner = Executor {
            set: self.set,
            overlay: Some(&local),
            funcs: self.funcs,
            limits: self.limits,
            include_counts: std::mem::take(&mut self.include_counts),
            depth: self.depth,
            steps: Cell::new(self.steps.get()),
            output_total: self.output_total,
            strict: self.strict,
        };
        let mut out = String::new();
        let result = inner.run(root, &values[1], &mut out);
        self.include_counts = std::mem::take(&mut inner.include_counts);
        self.steps.set(inner.steps.get());
        match result {
            Ok(()) => Ok(Value::from(out.replace("<no value>", ""))),
            Err(e) => match e.user_message {
                Some(m) => Err(CallError {
                    message: m,
                    user: true,
                }),
                None => Err(CallError::from(format!(
                    "error during tpl function execution for {:?}: {}",
                    &**text, e.message
                ))),
            },
        }
    }
}

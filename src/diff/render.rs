//! Report output: helm-diff's `diff` format (a coloured header per object and its unified
//! YAML diff with `-C N` context lines, `...` where lines are left out), `simple` (one line
//! per object), `json`/`yaml` lists for tools, and the closing plan summary. Colour follows
//! `--color`, `--no-color` and `NO_COLOR`.

use std::io::IsTerminal as _;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use super::{Action, Entry, Report};

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Diff,
    Simple,
    Json,
    Yaml,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "diff" => Ok(Format::Diff),
            "simple" => Ok(Format::Simple),
            "json" => Ok(Format::Json),
            "yaml" => Ok(Format::Yaml),
            other => Err(format!(
                "invalid output format {other:?}: expected diff, simple, json or yaml"
            )),
        }
    }
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl std::str::FromStr for ColorChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "auto" => Ok(ColorChoice::Auto),
            "always" => Ok(ColorChoice::Always),
            "never" => Ok(ColorChoice::Never),
            other => Err(format!(
                "invalid color mode {other:?}: expected always, never or auto"
            )),
        }
    }
}

impl ColorChoice {
    /// Whether to colour: `always`/`never` as asked; `auto` on a terminal unless `NO_COLOR`
    /// is set to a non-empty value.
    pub fn enabled(self) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
                    && std::io::stdout().is_terminal()
            }
        }
    }
}

/// How a report is printed.
#[derive(Debug, Clone, Copy)]
pub struct RenderOptions {
    pub format: Format,
    /// Unchanged lines shown around each change.
    pub context: usize,
    pub color: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            format: Format::Diff,
            context: 3,
            color: false,
        }
    }
}

/// One object in the `json`/`yaml` output.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct Item<'a> {
    kind: &'a str,
    api_version: &'a str,
    namespace: Option<&'a str>,
    name: &'a str,
    action: Action,
    diff: String,
}

const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RESET: &str = "\x1b[0m";

fn paint(text: &str, color: &str, enabled: bool) -> String {
    if enabled {
        format!("{color}{text}{RESET}")
    } else {
        text.to_string()
    }
}

fn action_color(action: Action) -> &'static str {
    match action {
        Action::Add => GREEN,
        Action::Change => YELLOW,
        Action::Remove => RED,
    }
}

/// The lines of one object's diff (`+ `, `- `, `  ` prefixes; `...` for left-out lines),
/// coloured or not.
fn diff_lines(entry: &Entry, context: usize, color: bool) -> Vec<String> {
    let diff = TextDiff::from_lines(&entry.before, &entry.after);
    let old_len = diff.old_slices().len();
    let new_len = diff.new_slices().len();
    let groups = diff.grouped_ops(context);
    let mut out = Vec::new();
    for (i, group) in groups.iter().enumerate() {
        let (Some(first), Some(last)) = (group.first(), group.last()) else {
            continue;
        };
        if i > 0 || first.old_range().start > 0 || first.new_range().start > 0 {
            out.push("...".to_string());
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let text = change.value().trim_end_matches('\n');
                out.push(match change.tag() {
                    ChangeTag::Equal => format!("  {text}"),
                    ChangeTag::Delete => paint(&format!("- {text}"), RED, color),
                    ChangeTag::Insert => paint(&format!("+ {text}"), GREEN, color),
                });
            }
        }
        if i + 1 == groups.len()
            && (last.old_range().end < old_len || last.new_range().end < new_len)
        {
            out.push("...".to_string());
        }
    }
    out
}

fn summary(report: &Report) -> String {
    let (add, change, remove) = report.counts();
    format!("Plan: {add} to add, {change} to change, {remove} to remove.\n")
}

/// Prints a report in the chosen format.
pub fn render(report: &Report, options: &RenderOptions) -> String {
    let mut out = String::new();
    match options.format {
        Format::Diff => {
            for entry in &report.entries {
                let message = match entry.action {
                    Action::Add => "has been added:",
                    Action::Change => "has changed:",
                    Action::Remove => "has been removed:",
                };
                let header = format!("{} {message}", entry.key());
                out.push_str(&paint(&header, action_color(entry.action), options.color));
                out.push('\n');
                for line in diff_lines(entry, options.context, options.color) {
                    out.push_str(&line);
                    out.push('\n');
                }
                out.push('\n');
            }
            out.push_str(&summary(report));
        }
        Format::Simple => {
            for entry in &report.entries {
                let message = match entry.action {
                    Action::Add => "to be added.",
                    Action::Change => "to be changed.",
                    Action::Remove => "to be removed.",
                };
                let line = format!("{} {message}", entry.key());
                out.push_str(&paint(&line, action_color(entry.action), options.color));
                out.push('\n');
            }
            out.push_str(&summary(report));
        }
        Format::Json | Format::Yaml => {
            let items: Vec<Item> = report
                .entries
                .iter()
                .map(|e| {
                    let mut diff = diff_lines(e, options.context, false).join("\n");
                    diff.push('\n');
                    Item {
                        kind: &e.kind,
                        api_version: &e.api_version,
                        namespace: e.namespace.as_deref(),
                        name: &e.name,
                        action: e.action,
                        diff,
                    }
                })
                .collect();
            if options.format == Format::Json {
                out.push_str(&serde_json::to_string_pretty(&items).expect("JSON serializes"));
            } else if report.entries.is_empty() {
                out.push_str("[]");
            } else {
                let list: Value = serde_json::to_value(&items).expect("diff items serialize");
                out.push_str(&crate::engine::yaml::to_yaml(&list));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(before: &str, after: &str) -> Entry {
        Entry {
            api_version: "apps/v1".into(),
            kind: "Deployment".into(),
            namespace: Some("default".into()),
            name: "web".into(),
            action: Action::Change,
            before: before.into(),
            after: after.into(),
        }
    }

    #[test]
    fn context_lines_bound_what_is_shown() {
        let before = "a\nb\nc\nd\ne\nf\ng\n";
        let after = "a\nb\nc\nD\ne\nf\ng\n";
        let e = entry(before, after);
        assert_eq!(
            diff_lines(&e, 1, false),
            ["...", "  c", "- d", "+ D", "  e", "..."]
        );
        assert_eq!(diff_lines(&e, 3, false).len(), 8);
    }

    #[test]
    fn headers_and_summary_read_like_helm_diff() {
        let report = Report {
            entries: vec![entry("a: 1\n", "a: 2\n")],
            notes: vec![],
        };
        let text = render(&report, &RenderOptions::default());
        assert_eq!(
            text,
            "default, web, Deployment (apps/v1) has changed:\n- a: 1\n+ a: 2\n\nPlan: 0 to add, 1 to change, 0 to remove.\n"
        );
        let coloured = render(
            &report,
            &RenderOptions {
                color: true,
                ..Default::default()
            },
        );
        assert!(coloured.contains("\x1b[31m- a: 1\x1b[0m"), "{coloured}");
        let simple = render(
            &report,
            &RenderOptions {
                format: Format::Simple,
                ..Default::default()
            },
        );
        assert!(simple.starts_with("default, web, Deployment (apps/v1) to be changed.\n"));
    }
}

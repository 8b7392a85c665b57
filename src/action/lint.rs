//! `rudder lint`: examine a chart for problems — structure, Chart.yaml, rendering with the
//! given values, the values schema and the sanity of every rendered object (DNS-1123
//! names, label syntax) — reported the way `helm lint` reports them.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use regex::Regex;

use crate::action::render::{RenderedRelease, render_release};
use crate::chart::{self, Chart};
use crate::engine::{Capabilities, ReleaseInfo, RenderOptions};
use crate::manifest::Manifest;
use crate::values::ValueOptions;

/// How serious a lint finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    fn label(self) -> &'static str {
        match self {
            Severity::Info => "INFO",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
        }
    }
}

/// One finding: its severity, the chart file it is about and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LintMessage {
    pub severity: Severity,
    pub path: String,
    pub message: String,
}

/// All findings for one chart.
#[derive(Debug, Clone)]
pub struct LintReport {
    pub chart: PathBuf,
    pub messages: Vec<LintMessage>,
}

impl LintReport {
    /// Whether the chart fails: any error, or any warning under `--strict`.
    pub fn failed(&self, strict: bool) -> bool {
        let threshold = if strict {
            Severity::Warning
        } else {
            Severity::Error
        };
        self.messages.iter().any(|m| m.severity >= threshold)
    }

    /// helm's layout: `==> Linting CHART`, then `[LEVEL] path: message` lines.
    pub fn render(&self, quiet: bool) -> String {
        let mut out = String::new();
        let shown: Vec<&LintMessage> = self
            .messages
            .iter()
            .filter(|m| !quiet || m.severity > Severity::Info)
            .collect();
        if quiet && shown.is_empty() {
            return out;
        }
        let _ = writeln!(out, "==> Linting {}", self.chart.display());
        for m in shown {
            let _ = writeln!(out, "[{}] {}: {}", m.severity.label(), m.path, m.message);
        }
        out
    }

    fn push(&mut self, severity: Severity, path: impl Into<String>, message: impl Into<String>) {
        self.messages.push(LintMessage {
            severity,
            path: path.into(),
            message: message.into(),
        });
    }
}

/// The values and target cluster a chart is linted against.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    pub values: ValueOptions,
    pub capabilities: Capabilities,
    pub strict: bool,
    pub with_subcharts: bool,
}

/// Lints a chart (and, with `with_subcharts`, every chart under its `charts/`), one report
/// per chart. Problems are findings in the reports, never an `Err`.
pub fn lint(chart_path: &Path, opts: &LintOptions) -> Vec<LintReport> {
    let mut reports = vec![lint_one(chart_path, opts)];
    if opts.with_subcharts {
        let mut subcharts: Vec<PathBuf> = std::fs::read_dir(chart_path.join("charts"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|entry| entry.path())
            .filter(|p| p.is_dir() || p.extension().is_some_and(|e| e == "tgz"))
            .collect();
        subcharts.sort();
        for sub in subcharts {
            reports.extend(lint(&sub, opts));
        }
    }
    reports
}

fn lint_one(chart_path: &Path, opts: &LintOptions) -> LintReport {
    let mut report = LintReport {
        chart: chart_path.to_path_buf(),
        messages: Vec::new(),
    };
    let chart = match chart::load(chart_path) {
        Ok(chart) => chart,
        Err(e) => {
            report.push(Severity::Error, "Chart.yaml", e.to_string());
            return report;
        }
    };
    lint_metadata(&chart, &mut report);
    if chart.is_library() {
        return report;
    }
    let user_values = match opts.values.merge() {
        Ok(v) => v,
        Err(e) => {
            report.push(Severity::Error, "values", e.to_string());
            return report;
        }
    };
    let release = ReleaseInfo::new("test-release", "default", 1, false);
    let render_options = RenderOptions {
        strict: opts.strict,
        set_integers: std::sync::Arc::new(opts.values.set_integers()),
        ..RenderOptions::offline(release, opts.capabilities.clone())
    };
    match render_release(chart, user_values, render_options)
        .and_then(|rendered| rendered.check_applicable().map(|()| rendered))
    {
        Ok(rendered) => lint_objects(&rendered, &mut report),
        Err(e) => report.push(Severity::Error, "templates/", e.to_string()),
    }
    report
}

fn lint_metadata(chart: &Chart, report: &mut LintReport) {
    let md = &chart.metadata;
    if md.icon.is_none() {
        report.push(Severity::Info, "Chart.yaml", "icon is recommended");
    }
    for warning in chart::metadata_warnings(md) {
        report.push(Severity::Warning, "Chart.yaml", warning);
    }
    if md.maintainers.iter().any(|m| m.name.trim().is_empty()) {
        report.push(
            Severity::Error,
            "Chart.yaml",
            "each maintainer requires a name",
        );
    }
    if chart.templates.is_empty() {
        report.push(
            Severity::Warning,
            "templates/",
            "directory does not exist or holds no templates",
        );
    }
    if chart.raw_values.is_none() {
        report.push(Severity::Info, "values.yaml", "file does not exist");
    }
}

fn lint_objects(rendered: &RenderedRelease, report: &mut LintReport) {
    let objects = rendered
        .manifests
        .iter()
        .chain(rendered.hooks.iter())
        .filter(|m| m.is_object());
    for m in objects {
        let path = m
            .source
            .split_once('/')
            .map(|(_, p)| p)
            .unwrap_or(&m.source);
        if let Err(why) = check_object_name(m) {
            report.push(Severity::Error, path, why);
        }
        for why in check_labels(m) {
            report.push(Severity::Error, path, why);
        }
    }
}

/// Kinds whose names must be DNS-1123 labels (63 chars, no dots) rather than subdomains.
const LABEL_NAMED_KINDS: &[&str] = &["Namespace", "Service"];

fn check_object_name(m: &Manifest) -> Result<(), String> {
    let label = Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$").expect("valid regex");
    let subdomain =
        Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
            .expect("valid regex");
    let name = &m.name;
    if LABEL_NAMED_KINDS.contains(&m.kind.as_str()) {
        if name.len() > 63 || !label.is_match(name) {
            return Err(format!(
                "object name does not conform to Kubernetes naming requirements: {name:?}: a DNS-1123 label must consist of lower case alphanumeric characters or '-', start and end with an alphanumeric character, and be at most 63 characters ({} {})",
                m.kind, name
            ));
        }
    } else if name.len() > 253 || !subdomain.is_match(name) {
        return Err(format!(
            "object name does not conform to Kubernetes naming requirements: {name:?}: a DNS-1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character ({} {})",
            m.kind, name
        ));
    }
    Ok(())
}

fn check_labels(m: &Manifest) -> Vec<String> {
    let name_part = Regex::new(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$").expect("valid regex");
    let prefix = Regex::new(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
        .expect("valid regex");
    let mut problems = Vec::new();
    let object = m.object();
    let Some(labels) = object
        .pointer("/metadata/labels")
        .and_then(|l| l.as_object())
    else {
        return problems;
    };
    for (key, value) in labels {
        let (key_prefix, key_name) = match key.split_once('/') {
            Some((p, n)) => (Some(p), n),
            None => (None, key.as_str()),
        };
        let key_ok = key_name.len() <= 63
            && name_part.is_match(key_name)
            && key_prefix.is_none_or(|p| p.len() <= 253 && prefix.is_match(p));
        if !key_ok {
            problems.push(format!("{} {}: invalid label key {key:?}", m.kind, m.name));
        }
        let text = match value {
            serde_json::Value::String(s) => s.clone(),
            serde_json::Value::Null => String::new(),
            other => {
                problems.push(format!(
                    "{} {}: label {key:?} must be a string, got {other}",
                    m.kind, m.name
                ));
                continue;
            }
        };
        if !text.is_empty() && (text.len() > 63 || !name_part.is_match(&text)) {
            problems.push(format!(
                "{} {}: invalid value {text:?} for label {key:?}: must be 63 characters or less, begin and end with an alphanumeric character, with only '-', '_', '.' between",
                m.kind, m.name
            ));
        }
    }
    problems
}

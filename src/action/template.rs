//! `rudder template`: render a chart locally and print (or write) the manifests the way
//! `helm template` does.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use globset::Glob;

use crate::action::ActionError;
use crate::action::render::{RenderedRelease, render_release};
use crate::chart;
use crate::engine::{Capabilities, ReleaseInfo, RenderOptions};
use crate::manifest::{HookEvent, Manifest};
use crate::values::ValueOptions;

/// What `rudder template` was asked to do.
#[derive(Debug, Clone)]
pub struct TemplateOptions {
    pub release_name: String,
    pub namespace: String,
    pub chart: PathBuf,
    pub values: ValueOptions,
    pub capabilities: Capabilities,
    /// `--show-only`: template paths relative to the chart (`templates/x.yaml`), globs allowed.
    pub show_only: Vec<String>,
    pub output_dir: Option<PathBuf>,
    pub include_crds: bool,
    pub is_upgrade: bool,
    pub no_hooks: bool,
    pub skip_tests: bool,
    pub notes: bool,
}

/// One rendered document ready for output: its source path and its YAML text.
struct Document<'a> {
    source: &'a str,
    text: &'a str,
}

/// Renders the chart and writes what `helm template` would print to `out`. With
/// `output_dir` the documents are written below it instead (all rendering happens before
/// any write) and `out` gets the list of files written.
pub fn template(opts: &TemplateOptions, out: &mut dyn Write) -> Result<(), ActionError> {
    let chart = chart::load(&opts.chart)?;
    let user_values = opts.values.merge()?;
    let release = ReleaseInfo::new(&opts.release_name, &opts.namespace, 1, opts.is_upgrade);
    let options = RenderOptions {
        set_integers: std::sync::Arc::new(opts.values.set_integers()),
        ..RenderOptions::offline(release, opts.capabilities.clone())
    };
    let rendered = render_release(chart, user_values, options)?;
    let documents = select_documents(&rendered, opts)?;
    match &opts.output_dir {
        Some(dir) => write_documents(dir, &documents, out)?,
        None => {
            for doc in &documents {
                write!(out, "---\n# Source: {}\n{}", doc.source, doc.text)
                    .map_err(ActionError::stdout)?;
                if !doc.text.ends_with('\n') {
                    out.write_all(b"\n").map_err(ActionError::stdout)?;
                }
            }
        }
    }
    let notes = rendered.notes.as_deref().filter(|n| !n.trim().is_empty());
    if let Some(notes) = notes.filter(|_| opts.notes) {
        write!(out, "\nNOTES:\n{notes}").map_err(ActionError::stdout)?;
        if !notes.ends_with('\n') {
            out.write_all(b"\n").map_err(ActionError::stdout)?;
        }
    }
    drop(documents);
    rendered.drop_in_background();
    Ok(())
}

fn is_test_hook(m: &Manifest) -> bool {
    m.hook.as_ref().is_some_and(|h| h.runs_on(HookEvent::Test))
}

/// CRDs (when asked), then manifests in install order, then hooks, filtered by `--show-only`.
fn select_documents<'a>(
    rendered: &'a RenderedRelease,
    opts: &TemplateOptions,
) -> Result<Vec<Document<'a>>, ActionError> {
    let mut docs: Vec<Document<'a>> = Vec::new();
    if opts.include_crds {
        docs.extend(rendered.crds.iter().map(|c| Document {
            source: &c.path,
            text: &c.content,
        }));
    }
    docs.extend(rendered.manifests.iter().map(|m| Document {
        source: &m.source,
        text: &m.text,
    }));
    if !opts.no_hooks {
        docs.extend(
            rendered
                .hooks
                .iter()
                .filter(|h| !(opts.skip_tests && is_test_hook(h)))
                .map(|m| Document {
                    source: &m.source,
                    text: &m.text,
                }),
        );
    }
    if opts.show_only.is_empty() {
        return Ok(docs);
    }
    let chart_prefix = format!("{}/", rendered.chart.name());
    let mut selected = Vec::new();
    for pattern in &opts.show_only {
        let wanted = pattern.trim_start_matches("./");
        let matcher = Glob::new(wanted)
            .map_err(|e| ActionError::InvalidFlag(format!("--show-only {pattern}: {e}")))?
            .compile_matcher();
        let before = selected.len();
        for (i, doc) in docs.iter().enumerate() {
            let relative = doc.source.strip_prefix(&chart_prefix).unwrap_or(doc.source);
            if relative == wanted || matcher.is_match(relative) {
                selected.push(i);
            }
        }
        if selected.len() == before {
            return Err(ActionError::InvalidFlag(format!(
                "--show-only: could not find template {pattern} in chart"
            )));
        }
    }
    let keep: BTreeSet<usize> = selected.into_iter().collect();
    Ok(docs
        .into_iter()
        .enumerate()
        .filter(|(i, _)| keep.contains(i))
        .map(|(_, d)| d)
        .collect())
}

/// Writes each document to `dir/<source path>`, appending documents that share a source,
/// and lists each file written on `log`.
fn write_documents(
    dir: &Path,
    docs: &[Document<'_>],
    log: &mut dyn Write,
) -> Result<(), ActionError> {
    let mut by_file: Vec<(&str, String)> = Vec::new();
    for doc in docs {
        let chunk = format!(
            "---\n# Source: {}\n{}{}",
            doc.source,
            doc.text,
            if doc.text.ends_with('\n') { "" } else { "\n" }
        );
        match by_file.iter_mut().find(|(s, _)| *s == doc.source) {
            Some((_, text)) => text.push_str(&chunk),
            None => by_file.push((doc.source, chunk)),
        }
    }
    for (source, text) in by_file {
        let path = dir.join(source);
        let parent = path.parent().unwrap_or(dir);
        std::fs::create_dir_all(parent).map_err(|e| ActionError::io(parent, e))?;
        let mut tmp =
            tempfile::NamedTempFile::new_in(parent).map_err(|e| ActionError::io(parent, e))?;
        tmp.write_all(text.as_bytes())
            .map_err(|e| ActionError::io(&path, e))?;
        tmp.persist(&path)
            .map_err(|e| ActionError::io(&path, e.error))?;
        writeln!(log, "wrote {}", path.display()).map_err(ActionError::stdout)?;
    }
    Ok(())
}

//! `rudder convert`: writes a helm chart as a tera chart, then proves the result renders
//! the same objects as the original for the chart's default values, every `ci/*.yaml` and
//! the values the user gives. `--check` does the same in a scratch directory and writes
//! nothing.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::action::ActionError;
use crate::chart;
use crate::convert::proof::{self, Case, Verdict};
use crate::convert::{self, Finding};
use crate::values::{ValueOptions, ValueSource};

/// What `rudder convert` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    pub chart: PathBuf,
    /// `-o`: where to write the tera chart (default `./NAME-tera`).
    pub output: Option<PathBuf>,
    /// `-f`/`--set`…: one more set of values for the proof.
    pub values: ValueOptions,
    pub keep_subcharts: bool,
    /// Only report; write nothing.
    pub check: bool,
    /// Replace a non-empty output directory.
    pub force: bool,
}

/// What a conversion did and found.
#[derive(Debug)]
pub struct ConvertReport {
    /// Where the tera chart was written (`None` with `--check`).
    pub output: Option<PathBuf>,
    pub files: usize,
    pub findings: Vec<Finding>,
    /// Each values set and how the two charts compare with it.
    pub proof: Vec<(String, Verdict)>,
    pub took: Duration,
}

impl ConvertReport {
    /// Whether every values set rendered the same objects (sets the original itself cannot
    /// render prove nothing either way and are only reported).
    pub fn holds(&self) -> bool {
        self.proof
            .iter()
            .all(|(_, v)| v.holds() || matches!(v, Verdict::OriginalFails(_)))
    }
}

/// Converts, writes and proves.
pub fn convert(opts: &ConvertOptions) -> Result<ConvertReport, ActionError> {
    let started = Instant::now();
    let chart = chart::load(&opts.chart)?;
    let output = match &opts.output {
        Some(dir) => dir.clone(),
        None => PathBuf::from(format!("{}-tera", chart.name())),
    };
    if !opts.check && !opts.force && is_non_empty_dir(&output) {
        return Err(ActionError::InvalidFlag(format!(
            "{} exists and is not empty; choose another directory with -o or replace it with --force (nothing was written)",
            output.display()
        )));
    }
    let conversion = convert::convert(&chart, opts.keep_subcharts)?;

    // Written beside the destination first, so a failed write leaves nothing behind.
    let parent = match output.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let scratch_base = if opts.check {
        std::env::temp_dir()
    } else {
        parent.clone()
    };
    let staging = scratch_base.join(format!(
        ".rudder-convert-{}-{}",
        chart.name(),
        std::process::id()
    ));
    let written = write_tree(&staging, &conversion.files);
    if let Err(e) = written {
        let _ = std::fs::remove_dir_all(&staging);
        return Err(e);
    }

    let mut cases = vec![Case {
        label: "default values".into(),
        values: ValueOptions::default(),
    }];
    for file in &conversion.files {
        let is_ci = file.name.starts_with("ci/")
            && !file.name[3..].contains('/')
            && (file.name.ends_with(".yaml") || file.name.ends_with(".yml"));
        if is_ci {
            cases.push(Case {
                label: file.name.clone(),
                values: ValueOptions {
                    sources: vec![ValueSource::File(staging.join(&file.name))],
                },
            });
        }
    }
    if !opts.values.sources.is_empty() {
        cases.push(Case {
            label: describe_flags(&opts.values),
            values: opts.values.clone(),
        });
    }
    let proof = proof::prove(&opts.chart, &staging, &cases);

    let output = if opts.check {
        let _ = std::fs::remove_dir_all(&staging);
        None
    } else {
        if output.exists() {
            std::fs::remove_dir_all(&output).map_err(|e| ActionError::io(&output, e))?;
        }
        std::fs::rename(&staging, &output).map_err(|e| {
            let _ = std::fs::remove_dir_all(&staging);
            ActionError::io(&output, e)
        })?;
        Some(output)
    };
    Ok(ConvertReport {
        output,
        files: conversion.files.len(),
        findings: conversion.findings,
        proof,
        took: started.elapsed(),
    })
}

fn is_non_empty_dir(path: &Path) -> bool {
    match std::fs::read_dir(path) {
        Ok(mut entries) => entries.next().is_some(),
        Err(_) => path.exists(),
    }
}

fn write_tree(root: &Path, files: &[chart::ChartFile]) -> Result<(), ActionError> {
    for file in files {
        let path = root.join(&file.name);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ActionError::io(dir, e))?;
        }
        std::fs::write(&path, &file.data).map_err(|e| ActionError::io(&path, e))?;
    }
    Ok(())
}

/// `-f prod.yaml --set a=b`, for the proof table.
fn describe_flags(values: &ValueOptions) -> String {
    values
        .sources
        .iter()
        .map(|s| match s {
            ValueSource::File(p) => format!("-f {}", p.display()),
            ValueSource::Set(v) => format!("--set {v}"),
            ValueSource::SetString(v) => format!("--set-string {v}"),
            ValueSource::SetJson(v) => format!("--set-json {v}"),
            ValueSource::SetFile(v) => format!("--set-file {v}"),
            ValueSource::SetLiteral(v) => format!("--set-literal {v}"),
        })
        .collect::<Vec<_>>()
        .join(" ")
}

//! Errors of chart loading, validation, archives and packaging: each names the file (and the
//! line where known) so a user can go straight to the problem.

use std::fmt;
use std::path::PathBuf;

/// A position in a text file (1-based), when the parser reported one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextPosition {
    pub line: usize,
    pub column: usize,
}

/// Renders ` at line L, column C` or nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct At(pub Option<TextPosition>);

impl fmt::Display for At {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(p) => write!(f, " at line {}, column {}", p.line, p.column),
            None => Ok(()),
        }
    }
}

/// Everything that can go wrong while loading, checking, extracting or packaging a chart.
#[derive(Debug, thiserror::Error)]
pub enum ChartError {
    #[error("chart path {} does not exist", .0.display())]
    MissingChartPath(PathBuf),

    #[error("cannot read {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },

    #[error("cannot write {file}: {source}")]
    Write {
        file: String,
        source: std::io::Error,
    },

    #[error("{chart} is not a chart: it has no Chart.yaml")]
    MissingChartYaml { chart: String },

    #[error("invalid YAML in {file}{at}: {message}", at = At(*.position))]
    InvalidYaml {
        file: String,
        position: Option<TextPosition>,
        message: String,
    },

    /// `values.yaml` could not be parsed; the message names the file and line.
    #[error("{message}")]
    InvalidValues { file: String, message: String },

    #[error("invalid JSON in {file}{at}: {message}", at = At(*.position))]
    InvalidJson {
        file: String,
        position: Option<TextPosition>,
        message: String,
    },

    #[error("{file}: {message}")]
    InvalidMetadata { file: String, message: String },

    #[error("{file}: {message}")]
    InvalidChartLayout { file: String, message: String },

    #[error("invalid .helmignore {file}: {message}")]
    InvalidHelmignore { file: String, message: String },

    #[error("{origin} is not a valid chart archive (.tgz): {reason}")]
    CorruptArchive { origin: String, reason: String },

    #[error("{origin} contains an unsafe entry `{entry}`: {reason}")]
    UnsafeArchiveEntry {
        origin: String,
        entry: String,
        reason: String,
    },

    #[error("{origin} is too large: its files add up to more than {limit} bytes")]
    ArchiveTooLarge { origin: String, limit: u64 },

    #[error("{origin} has too many entries (more than {limit})")]
    ArchiveTooManyEntries { origin: String, limit: usize },

    #[error(
        "{path} is a symbolic link to {target}, outside the chart; a chart may only link to its own files"
    )]
    SymlinkEscapesChart { path: String, target: String },

    #[error(
        "{path} is not a regular file (device, socket or pipe); a chart may only contain files and directories"
    )]
    IrregularFile { path: String },

    #[error(
        "chart {chart} requires kubeVersion {constraint}, which is incompatible with Kubernetes {kube_version}"
    )]
    IncompatibleKubeVersion {
        chart: String,
        constraint: String,
        kube_version: String,
    },

    #[error("invalid Kubernetes version: {0}")]
    InvalidKubeVersion(#[from] super::constraint::VersionError),

    #[error("chart {chart} lists dependencies missing from its charts/ directory: {}", .missing.join(", "))]
    MissingDependencies { chart: String, missing: Vec<String> },

    #[error("{} already exists; refusing to overwrite it", .0.display())]
    DestinationExists(PathBuf),
}

impl ChartError {
    pub(crate) fn read(file: impl fmt::Display, source: std::io::Error) -> Self {
        ChartError::Read {
            file: file.to_string(),
            source,
        }
    }

    pub(crate) fn write(file: impl fmt::Display, source: std::io::Error) -> Self {
        ChartError::Write {
            file: file.to_string(),
            source,
        }
    }

    pub(crate) fn metadata(file: impl fmt::Display, message: impl Into<String>) -> Self {
        ChartError::InvalidMetadata {
            file: file.to_string(),
            message: message.into(),
        }
    }

    pub(crate) fn yaml(file: impl fmt::Display, err: &serde_yaml::Error) -> Self {
        ChartError::InvalidYaml {
            file: file.to_string(),
            position: err.location().map(|l| TextPosition {
                line: l.line(),
                column: l.column(),
            }),
            message: strip_location(&err.to_string()),
        }
    }

    pub(crate) fn json(file: impl fmt::Display, err: &serde_json::Error) -> Self {
        ChartError::InvalidJson {
            file: file.to_string(),
            position: (err.line() > 0).then(|| TextPosition {
                line: err.line(),
                column: err.column(),
            }),
            message: strip_location(&err.to_string()),
        }
    }
}

/// serde's messages end in "at line L column C"; the error already says where.
fn strip_location(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

//! Actions: one function per user command (`template`, `lint`, `package`, …). The CLI is a
//! thin shim over these, the way helm's `pkg/action` sits behind its commands.

pub mod apply;
pub mod config;
pub mod convert;
pub mod crds;
pub mod create;
pub mod dependency;
pub mod diff;
pub mod get;
pub mod history;
pub mod install;
pub mod lifecycle;
pub mod lint;
pub mod list;
pub mod operation;
pub mod package;
pub mod pull;
pub mod push;
pub mod registry;
pub mod release_test;
pub mod render;
pub mod repo_add;
pub mod repo_index;
pub mod repo_list;
pub mod repo_remove;
pub mod repo_update;
pub mod rollback;
pub mod search;
pub mod show;
pub mod status;
pub mod template;
pub mod uninstall;
pub mod upgrade;

use std::path::{Path, PathBuf};

/// Why an action failed: the error of the layer that failed, or a bad flag or file.
#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Chart(#[from] crate::chart::ChartError),
    #[error(transparent)]
    Values(#[from] crate::values::ValuesError),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    #[error(transparent)]
    Convert(#[from] crate::convert::ConvertError),
    #[error("{0}")]
    InvalidFlag(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
}

impl ActionError {
    /// An I/O failure on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        ActionError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    /// A failure writing the command's output to standard output.
    pub fn stdout(source: std::io::Error) -> Self {
        ActionError::Stdout(source)
    }

    /// Whether this is a write to standard output whose reader has gone away.
    pub fn is_closed_stdout(&self) -> bool {
        matches!(self, ActionError::Stdout(e) if e.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

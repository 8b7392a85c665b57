//! The values flags shared by every command that renders a chart (`-f`, `--set`,
//! `--set-string`, `--set-json`, `--set-file`, `--set-literal`), turned into
//! [`ValueOptions`] with their command-line order preserved.

use clap::{ArgMatches, Args};
use std::path::PathBuf;

use crate::action::install::DeployOptions;
use crate::values::{ValueOptions, ValueSource};

/// How an upgrade combines the last release's values with the new ones (`upgrade` and
/// `diff upgrade`).
#[derive(Args, Debug, Clone, Default)]
pub struct ReuseValuesFlags {
    /// Merge the last release's values with the new ones
    #[arg(long = "reuse-values")]
    pub reuse_values: bool,
    /// Use only the chart's defaults and the values given now
    #[arg(long = "reset-values")]
    pub reset_values: bool,
    /// Reset to the chart's defaults, then merge the last release's values and the new ones
    #[arg(long = "reset-then-reuse-values")]
    pub reset_then_reuse_values: bool,
}

impl ReuseValuesFlags {
    /// Sets these flags on `opts`.
    pub fn apply(&self, opts: &mut DeployOptions) {
        opts.reuse_values = self.reuse_values;
        opts.reset_values = self.reset_values;
        opts.reset_then_reuse_values = self.reset_then_reuse_values;
    }
}

/// Values flags, named as helm names them.
#[derive(Args, Debug, Clone, Default)]
pub struct ValuesFlags {
    /// Specify values in a YAML file (can be repeated or comma-separated)
    #[arg(
        short = 'f',
        long = "values",
        value_name = "FILE",
        value_delimiter = ','
    )]
    pub values: Vec<PathBuf>,
    /// Set values on the command line (a=b,c.d=e)
    #[arg(long = "set", value_name = "KEY=VAL")]
    pub set: Vec<String>,
    /// Set STRING values on the command line (never typed)
    #[arg(long = "set-string", value_name = "KEY=VAL")]
    pub set_string: Vec<String>,
    /// Set JSON values on the command line (a={"b":1})
    #[arg(long = "set-json", value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// Set values from the contents of files (key=path)
    #[arg(long = "set-file", value_name = "KEY=PATH")]
    pub set_file: Vec<String>,
    /// Set a literal STRING value (everything after the first '=' verbatim)
    #[arg(long = "set-literal", value_name = "KEY=VAL")]
    pub set_literal: Vec<String>,
}

/// Collects the values flags of one subcommand's matches in command-line order.
pub fn value_options(matches: &ArgMatches) -> ValueOptions {
    let mut ordered: Vec<(usize, ValueSource)> = Vec::new();
    let mut collect = |id: &str, make: fn(String) -> ValueSource| {
        if let (Some(indices), Some(values)) = (matches.indices_of(id), matches.get_raw(id)) {
            for (index, raw) in indices.zip(values) {
                ordered.push((index, make(raw.to_string_lossy().into_owned())));
            }
        }
    };
    collect("values", |s| ValueSource::File(PathBuf::from(s)));
    collect("set", ValueSource::Set);
    collect("set_string", ValueSource::SetString);
    collect("set_json", ValueSource::SetJson);
    collect("set_file", ValueSource::SetFile);
    collect("set_literal", ValueSource::SetLiteral);
    ordered.sort_by_key(|(index, _)| *index);
    ValueOptions {
        sources: ordered.into_iter().map(|(_, s)| s).collect(),
    }
}

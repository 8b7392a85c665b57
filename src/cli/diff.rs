//! `rudder diff upgrade|rollback|revision|release`: clap definitions (helm's flag names for
//! values and upgrade flags, helm-diff's for output) and a thin shim over
//! [`crate::action::diff`] and [`crate::diff`]. The async runtime is built here;
//! `--detailed-exitcode` gives 0 for no change, 2 for changes (errors are 1).

use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::{ArgMatches, Args, Subcommand};

use super::values_flags::ReuseValuesFlags;
use super::{GlobalFlags, ValuesFlags, value_options};
use crate::action::diff::{self as action, DiffSettings};
use crate::action::install::DeployOptions;
use crate::diff::{ColorChoice, Format, RenderOptions, Report, SecretMode, render};
use crate::kube::{self, ConnectOptions};

/// `rudder diff …`
#[derive(Args, Debug)]
pub struct DiffArgs {
    #[command(subcommand)]
    pub command: DiffCommand,
}

#[derive(Subcommand, Debug)]
pub enum DiffCommand {
    /// Show what an upgrade would change (a release that does not exist shows as added)
    Upgrade(Box<UpgradeArgs>),
    /// Show what a rollback would change
    Rollback(RollbackArgs),
    /// Show the differences between two stored revisions of a release
    Revision(RevisionArgs),
    /// Show drift: live objects against what the last deployed revision applied
    Release(ReleaseArgs),
}

/// How the diff is printed and what the exit code says.
#[derive(Args, Debug, Clone)]
pub struct OutputFlags {
    /// Output lines of context around changes
    #[arg(short = 'C', long = "context", value_name = "N", default_value_t = 3)]
    pub context: usize,
    /// Output format: diff, simple, json or yaml
    #[arg(long = "output", value_name = "FORMAT", default_value = "diff")]
    pub output: Format,
    /// When to colour the output: always, never or auto (a terminal, unless NO_COLOR is set)
    #[arg(long = "color", value_name = "WHEN", default_value = "auto")]
    pub color: ColorChoice,
    /// Do not colour the output
    #[arg(long = "no-color")]
    pub no_color: bool,
    /// Show the values of Secrets instead of masked markers
    #[arg(long = "show-secrets")]
    pub show_secrets: bool,
    /// Show the values of Secrets, base64-decoded
    #[arg(long = "show-secrets-decoded")]
    pub show_secrets_decoded: bool,
    /// Exit with 2 when there are changes, 0 when there are none (errors: 1)
    #[arg(long = "detailed-exitcode")]
    pub detailed_exitcode: bool,
}

/// How the dry-runs are sent.
#[derive(Args, Debug, Clone)]
pub struct ApplyFlags {
    /// Field manager name used for the server-side apply dry-runs
    #[arg(long = "field-manager", default_value = "rudder")]
    pub field_manager: String,
    /// Take ownership of fields other field managers own, as `upgrade --force-conflicts`
    #[arg(long = "force-conflicts")]
    pub force_conflicts: bool,
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// Release name
    pub name: String,
    /// Chart path, repo/chart, chart URL or oci:// reference
    pub chart: String,
    #[command(flatten)]
    pub chart_path: super::repo::ChartPathArgs,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub reuse: ReuseValuesFlags,
    #[command(flatten)]
    pub render_limits: super::RenderLimitFlags,
    /// Adopt existing objects that belong to no release or to another one
    #[arg(long = "take-ownership")]
    pub take_ownership: bool,
    #[command(flatten)]
    pub apply: ApplyFlags,
    #[command(flatten)]
    pub output: OutputFlags,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// Release name
    pub name: String,
    /// Revision to roll back to (default: the previous one)
    pub revision: Option<u64>,
    #[command(flatten)]
    pub apply: ApplyFlags,
    #[command(flatten)]
    pub output: OutputFlags,
}

#[derive(Args, Debug)]
pub struct RevisionArgs {
    /// Release name
    pub name: String,
    /// The revision to compare from
    pub rev1: u64,
    /// The revision to compare to (default: the latest)
    pub rev2: Option<u64>,
    #[command(flatten)]
    pub output: OutputFlags,
}

#[derive(Args, Debug)]
pub struct ReleaseArgs {
    /// Release name
    pub name: String,
    #[command(flatten)]
    pub apply: ApplyFlags,
    #[command(flatten)]
    pub output: OutputFlags,
}

impl ApplyFlags {
    fn settings(&self, take_ownership: bool) -> DiffSettings {
        DiffSettings {
            field_manager: self.field_manager.clone(),
            force_conflicts: self.force_conflicts,
            take_ownership,
        }
    }
}

/// Runs a diff command; `sub` are the matches of `diff`.
pub fn dispatch(global: &GlobalFlags, args: DiffArgs, sub: &ArgMatches) -> Result<ExitCode> {
    let nested = sub.subcommand().map(|(_, m)| m.clone()).unwrap_or_default();
    // Charts from repositories are fetched before the runtime starts (it blocks).
    let chart = match &args.command {
        DiffCommand::Upgrade(a) => {
            a.render_limits.apply();
            Some(super::repo::resolve_chart(&a.chart, &a.chart_path)?)
        }
        _ => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let connect = ConnectOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: global.kube_context.clone(),
        namespace: global.namespace.clone(),
    };
    let (pairs, output) = runtime.block_on(async {
        let cluster =
            crate::action::config::Configuration::from_env(kube::connect(&connect).await?).await?;
        let result: Result<_> = match args.command {
            DiffCommand::Upgrade(a) => {
                let mut opts = DeployOptions {
                    name: a.name.clone(),
                    chart: chart.expect("resolved above"),
                    values: value_options(&nested),
                    install: true,
                    ..Default::default()
                };
                a.reuse.apply(&mut opts);
                let settings = a.apply.settings(a.take_ownership);
                let pairs = action::diff_upgrade(&cluster, &opts, &settings)
                    .await
                    .with_context(|| format!("cannot diff the upgrade of release {:?}", a.name))?;
                Ok((pairs, a.output))
            }
            DiffCommand::Rollback(a) => {
                let pairs = action::diff_rollback(
                    &cluster,
                    &a.name,
                    a.revision.unwrap_or(0),
                    &a.apply.settings(false),
                )
                .await
                .with_context(|| format!("cannot diff the rollback of release {:?}", a.name))?;
                Ok((pairs, a.output))
            }
            DiffCommand::Revision(a) => {
                let pairs =
                    action::diff_revision(&cluster, &a.name, a.rev1, a.rev2.unwrap_or(0)).await?;
                Ok((pairs, a.output))
            }
            DiffCommand::Release(a) => {
                let pairs =
                    action::diff_release(&cluster, &a.name, &a.apply.settings(false)).await?;
                Ok((pairs, a.output))
            }
        };
        result
    })?;
    let secrets = if output.show_secrets_decoded {
        SecretMode::Decoded
    } else if output.show_secrets {
        SecretMode::Show
    } else {
        SecretMode::Mask
    };
    let report = Report::build(pairs, secrets);
    let color = if output.no_color {
        ColorChoice::Never
    } else {
        output.color
    };
    for note in &report.notes {
        eprintln!("Note: {note}");
    }
    let options = RenderOptions {
        format: output.output,
        context: output.context,
        color: color.enabled(),
    };
    print!("{}", render(&report, &options));
    Ok(if output.detailed_exitcode && report.has_changes() {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

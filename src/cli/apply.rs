//! `rudder apply -f releases.yaml`: clap definitions and a thin shim over
//! [`crate::action::apply`]: plan (diff every release, one `Plan:` summary), then deploy or
//! (`--destroy`) uninstall, and one table of outcomes (`-o json|yaml` too).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result};
use clap::Args;

use super::GlobalFlags;
use crate::action::apply::{self as action, ApplyOptions};
use crate::action::config::Configuration;
use crate::diff::{ColorChoice, Format, RenderOptions, render};
use crate::kube::{self, ConnectOptions};
use crate::output::{OutputFormat, encode, table};

/// `rudder apply …`
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The releases file
    #[arg(short = 'f', long = "file", value_name = "FILE")]
    pub file: PathBuf,
    /// The environment of the file to use (its values feed the file's templates)
    #[arg(short = 'e', long = "env", value_name = "NAME")]
    pub environment: Option<String>,
    /// Only releases whose labels match (k=v[,k2=v2]; k!=v negates; `name` is the release
    /// name); repeat for alternatives
    #[arg(short = 'l', long = "selector", value_name = "SELECTOR")]
    pub selectors: Vec<String>,
    /// Only show what would change (the diff of every release and the plan)
    #[arg(long = "diff-only")]
    pub diff_only: bool,
    /// Uninstall the selected releases, those that need others first
    #[arg(long = "destroy", conflicts_with = "diff_only")]
    pub destroy: bool,
    /// How many releases to work on at once
    #[arg(long = "concurrency", default_value_t = 8, value_name = "N")]
    pub concurrency: usize,
    /// Output format of the outcome table: table, json or yaml
    #[arg(short = 'o', long = "output", default_value = "table")]
    pub output: OutputFormat,
    /// Do not colour the diff
    #[arg(long = "no-color")]
    pub no_color: bool,
    #[command(flatten)]
    pub apply: super::release::ApplyFlags,
    #[command(flatten)]
    pub render_limits: super::RenderLimitFlags,
}

/// Runs `rudder apply`: exit 1 when any release failed.
pub fn dispatch(global: &GlobalFlags, args: ApplyArgs) -> Result<ExitCode> {
    args.render_limits.apply();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        let connect = ConnectOptions {
            kubeconfig: global.kubeconfig.clone(),
            context: global.kube_context.clone(),
            namespace: global.namespace.clone(),
        };
        let config = Configuration::from_env(kube::connect(&connect).await?).await?;
        let opts = ApplyOptions {
            file: args.file.clone(),
            environment: args.environment.clone(),
            selectors: args.selectors.clone(),
            concurrency: args.concurrency,
            settings: args.apply.settings(false),
        };
        let plan = action::plan(&config, &opts, args.destroy)
            .await
            .context("cannot plan the releases")?;
        let outcomes = if args.destroy {
            action::destroy(&config, &plan, &opts).await
        } else {
            let color = if args.no_color {
                ColorChoice::Never
            } else {
                ColorChoice::Auto
            };
            let render_options = RenderOptions {
                format: Format::Diff,
                color: color.enabled(),
                ..Default::default()
            };
            for r in &plan.releases {
                let diff = r.diff.as_ref().expect("planned with diffs");
                if diff.has_changes() {
                    println!("=== {} ({}) ===", r.id(), r.chart);
                    let text = render(diff, &render_options);
                    let body = text.rsplit_once("Plan:").map_or(text.as_str(), |(b, _)| b);
                    print!("{body}");
                }
            }
            let (add, change, remove) = plan.counts();
            println!(
                "Plan: {add} to add, {change} to change, {remove} to remove, over {} release(s).",
                plan.releases.len()
            );
            if args.diff_only {
                return Ok(ExitCode::SUCCESS);
            }
            action::execute(&config, &plan, &opts).await
        };
        match args.output {
            OutputFormat::Table => print!("{}", table(&action::rows(&outcomes), None)),
            format => print!(
                "{}",
                encode(
                    &serde_json::to_value(&outcomes).expect("outcomes serialize"),
                    format
                )
            ),
        }
        if outcomes.iter().any(action::Outcome::failed) {
            anyhow::bail!(
                "{} of {} release(s) failed",
                outcomes.iter().filter(|o| o.failed()).count(),
                outcomes.len()
            );
        }
        Ok(ExitCode::SUCCESS)
    })
}

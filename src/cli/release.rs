//! The release commands (`install`, `upgrade`, `rollback`, `uninstall`, `history`, `list`,
//! `status`, `get`, `test`): clap definitions with helm's flag names and thin shims over
//! the actions. The async runtime is built here; SIGINT/SIGTERM during an operation mark the
//! claimed revision failed before exiting.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{ArgMatches, Args, Subcommand};

use super::values_flags::ReuseValuesFlags;
use super::{GlobalFlags, ValuesFlags, value_options};
use crate::action::config::Configuration;
use crate::action::get::{GetOptions, GetWhat};
use crate::action::install::DeployOptions;
use crate::action::lifecycle::{ApplySettings, DryRun, status_text};
use crate::action::list::ListOptions;
use crate::action::operation;
use crate::action::rollback::RollbackOptions;
use crate::action::uninstall::UninstallOptions;
use crate::action::{
    get, history, install, list, release_test, rollback, status, uninstall, upgrade,
};
use crate::kube::{self, Cluster, ConnectOptions};
use crate::output::OutputFormat;

/// The release lifecycle commands.
#[derive(Subcommand, Debug)]
pub enum ReleaseCommand {
    /// Install a chart as a new release
    Install(InstallArgs),
    /// Upgrade a release to a new chart or new values
    Upgrade(UpgradeArgs),
    /// Roll a release back to a previous revision
    Rollback(RollbackArgs),
    /// Uninstall a release
    #[command(visible_aliases = ["un", "delete", "del"])]
    Uninstall(UninstallArgs),
    /// Show the revisions of a release
    #[command(visible_alias = "hist")]
    History(HistoryArgs),
    /// List releases
    #[command(visible_alias = "ls")]
    List(ListArgs),
    /// Show the status of a release
    Status(StatusArgs),
    /// Download extended information of a release
    #[command(subcommand)]
    Get(GetCommand),
    /// Run the tests of a release
    Test(TestArgs),
}

/// Flags that control how objects are applied and waited for.
#[derive(Args, Debug, Clone)]
pub struct ApplyFlags {
    /// Wait until every resource is ready (kstatus-like), up to --timeout
    #[arg(long)]
    pub wait: bool,
    /// With --wait, also wait for Jobs to complete
    #[arg(long = "wait-for-jobs")]
    pub wait_for_jobs: bool,
    /// Time to wait for any individual Kubernetes operation (like Jobs for hooks)
    #[arg(long, default_value = "5m0s", value_parser = parse_duration)]
    pub timeout: Duration,
    /// Prevent hooks from running
    #[arg(long = "no-hooks")]
    pub no_hooks: bool,
    /// Take ownership of fields other field managers own (server-side apply conflicts)
    #[arg(long = "force-conflicts")]
    pub force_conflicts: bool,
    /// Field manager name used for server-side apply
    #[arg(long = "field-manager", default_value = "rudder")]
    pub field_manager: String,
    /// When waiting fails, show this many last log lines of each failing container (with
    /// the resource's recent events); 0 shows none
    #[arg(long = "logs", default_value_t = 20, value_name = "N")]
    pub logs: usize,
}

impl ApplyFlags {
    pub(super) fn settings(&self, take_ownership: bool) -> ApplySettings {
        ApplySettings {
            field_manager: self.field_manager.clone(),
            force_conflicts: self.force_conflicts,
            take_ownership,
            wait: self.wait || self.wait_for_jobs,
            wait_for_jobs: self.wait_for_jobs,
            timeout: self.timeout,
            no_hooks: self.no_hooks,
            quiet: false,
            log_lines: self.logs,
        }
    }
}

/// The release name and chart of `install`: both given, or only the chart with
/// `--generate-name` / `--name-template`, as helm takes them.
fn install_name_and_chart(args: &InstallArgs) -> Result<(String, PathBuf)> {
    let generating = args.generate_name || args.name_template.is_some();
    match (&args.chart, generating) {
        (Some(chart), false) => Ok((args.name.clone(), chart.clone())),
        (None, true) => {
            let name = match &args.name_template {
                Some(template) => install::name_from_template(template)?,
                None => install::generated_name(&args.name),
            };
            Ok((name, PathBuf::from(&args.name)))
        }
        (Some(_), true) => anyhow::bail!(
            "install takes only the chart with --generate-name or --name-template, not a release name too"
        ),
        (None, false) => anyhow::bail!(
            "install needs a release name and a chart (or --generate-name and the chart)"
        ),
    }
}

/// Flags `install` and `upgrade` share.
#[derive(Args, Debug, Clone)]
pub struct DeployFlags {
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub apply: ApplyFlags,
    #[command(flatten)]
    pub render_limits: super::RenderLimitFlags,
    /// Create the release namespace if it does not exist
    #[arg(long = "create-namespace")]
    pub create_namespace: bool,
    /// Simulate: `client` renders only, `server` also sends objects with dryRun
    #[arg(long = "dry-run", value_name = "MODE", num_args = 0..=1,
          default_missing_value = "client", require_equals = true)]
    pub dry_run: Option<String>,
    /// Add a custom description to the revision
    #[arg(long)]
    pub description: Option<String>,
    /// Adopt existing objects that belong to no release or to another one
    #[arg(long = "take-ownership")]
    pub take_ownership: bool,
    /// On failure, undo the operation (uninstall an install, roll an upgrade back)
    #[arg(long = "atomic", visible_alias = "rollback-on-failure")]
    pub atomic: bool,
    /// Do not install (upgrade: nor upgrade) the chart's CRDs
    #[arg(long = "skip-crds")]
    pub skip_crds: bool,
    /// upgrade: upgrade the chart's CRDs even when the change drops a stored version or a
    /// field
    #[arg(long = "force-crds", conflicts_with = "skip_crds")]
    pub force_crds: bool,
    /// Do not print the release notes
    #[arg(long = "hide-notes")]
    pub hide_notes: bool,
    /// Output format: table, json or yaml
    #[arg(short = 'o', long = "output", default_value = "table")]
    pub output: OutputFormat,
    // Where to fetch the chart from: --version, --devel, --repo, --plain-http, credentials, TLS.
    #[command(flatten)]
    pub chart_path: super::repo::ChartPathArgs,
}

#[derive(Args, Debug)]
pub struct InstallArgs {
    /// Release name (omitted with --generate-name or --name-template: then the chart)
    pub name: String,
    /// Chart: a directory, a .tgz, REPO/CHART, a chart URL or oci://…
    pub chart: Option<PathBuf>,
    #[command(flatten)]
    pub deploy: DeployFlags,
    /// Generate the release name (CHART-UNIXTIME); give only the chart
    #[arg(short = 'g', long = "generate-name")]
    pub generate_name: bool,
    /// Template for the release name (a Go template, as in helm: "web-{{ randAlphaNum 5 | lower }}")
    #[arg(long = "name-template", value_name = "TEMPLATE")]
    pub name_template: Option<String>,
    /// Re-use the name of a release whose latest revision is uninstalled or failed
    #[arg(long)]
    pub replace: bool,
}

#[derive(Args, Debug)]
pub struct UpgradeArgs {
    /// Release name
    pub name: String,
    /// Chart: a directory, a .tgz, REPO/CHART, a chart URL or oci://…
    pub chart: PathBuf,
    #[command(flatten)]
    pub deploy: DeployFlags,
    /// Install the release if it does not exist
    #[arg(short = 'i', long)]
    pub install: bool,
    #[command(flatten)]
    pub reuse: ReuseValuesFlags,
    /// Keep at most this many revisions (0 = no limit)
    #[arg(long = "history-max", default_value_t = 10)]
    pub history_max: usize,
    /// Delete objects this upgrade created when it fails
    #[arg(long = "cleanup-on-fail")]
    pub cleanup_on_fail: bool,
}

#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// Release name
    pub name: String,
    /// Revision to roll back to (default: the previous one)
    pub revision: Option<u64>,
    #[command(flatten)]
    pub apply: ApplyFlags,
    /// Simulate the rollback
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Keep at most this many revisions (0 = no limit)
    #[arg(long = "history-max", default_value_t = 10)]
    pub history_max: usize,
    /// Delete objects this rollback created when it fails
    #[arg(long = "cleanup-on-fail")]
    pub cleanup_on_fail: bool,
}

#[derive(Args, Debug)]
pub struct UninstallArgs {
    /// Release names
    #[arg(required = true)]
    pub names: Vec<String>,
    /// Keep the release history (the latest revision is marked uninstalled)
    #[arg(long = "keep-history")]
    pub keep_history: bool,
    /// Simulate the uninstall
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    #[command(flatten)]
    pub apply: ApplyFlags,
}

#[derive(Args, Debug)]
pub struct HistoryArgs {
    /// Release name
    pub name: String,
    /// Maximum number of revisions shown
    #[arg(long, default_value_t = 256)]
    pub max: usize,
    /// Output format: table, json or yaml
    #[arg(short = 'o', long = "output", default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    /// List releases across all namespaces
    #[arg(short = 'A', long = "all-namespaces")]
    pub all_namespaces: bool,
    /// Show releases of every status
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Show deployed releases
    #[arg(long)]
    pub deployed: bool,
    /// Show failed releases
    #[arg(long)]
    pub failed: bool,
    /// Show pending releases
    #[arg(long)]
    pub pending: bool,
    /// Show superseded releases
    #[arg(long)]
    pub superseded: bool,
    /// Show uninstalled releases (kept with --keep-history)
    #[arg(long)]
    pub uninstalled: bool,
    /// Show releases being uninstalled
    #[arg(long)]
    pub uninstalling: bool,
    /// Only releases whose name matches this regular expression
    #[arg(short = 'f', long)]
    pub filter: Option<String>,
    /// Print only the names
    #[arg(short = 'q', long)]
    pub short: bool,
    /// Output format: table, json or yaml
    #[arg(short = 'o', long = "output", default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// Release name
    pub name: String,
    /// Revision to show (default: the latest)
    #[arg(long)]
    pub revision: Option<u64>,
    /// Show the live state of the release's resources
    #[arg(long = "show-resources")]
    pub show_resources: bool,
    /// Output format: table, json or yaml
    #[arg(short = 'o', long = "output", default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Subcommand, Debug)]
pub enum GetCommand {
    /// The user-supplied values of a release
    Values(GetValuesArgs),
    /// The manifest of a release
    Manifest(GetArgs),
    /// The notes of a release
    Notes(GetArgs),
    /// The hooks of a release
    Hooks(GetArgs),
    /// Everything about a release
    All(GetAllArgs),
}

#[derive(Args, Debug)]
pub struct GetArgs {
    /// Release name
    pub name: String,
    /// Revision (default: the latest)
    #[arg(long)]
    pub revision: Option<u64>,
}

#[derive(Args, Debug)]
pub struct GetValuesArgs {
    #[command(flatten)]
    pub get: GetArgs,
    /// Dump all (computed) values
    #[arg(short = 'a', long)]
    pub all: bool,
    /// Output format: table, json or yaml
    #[arg(short = 'o', long = "output", default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct GetAllArgs {
    #[command(flatten)]
    pub get: GetArgs,
    /// Output format: table, json or yaml
    #[arg(short = 'o', long = "output", default_value = "table")]
    pub output: OutputFormat,
}

#[derive(Args, Debug)]
pub struct TestArgs {
    /// Release name
    pub name: String,
    /// Time to wait for each test
    #[arg(long, default_value = "5m0s", value_parser = parse_duration)]
    pub timeout: Duration,
}

/// Parses a Go duration (`5m`, `5m0s`, `90s`, `1h30m`, `500ms`); a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let bad = || format!("invalid duration {text:?}: expected something like 5m0s, 90s or 500ms");
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    let mut total = Duration::ZERO;
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad());
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        let number: f64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let scale = match &rest[..unit_len] {
            "h" => 3600.0,
            "m" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "us" | "µs" => 0.000_001,
            "ns" => 0.000_000_001,
            _ => return Err(bad()),
        };
        total += Duration::from_secs_f64(number * scale);
        rest = &rest[unit_len..];
    }
    Ok(total)
}

fn dry_run(mode: &Option<String>) -> Result<DryRun> {
    Ok(match mode.as_deref() {
        None | Some("none") | Some("false") => DryRun::None,
        Some("client") | Some("true") => DryRun::Client,
        Some("server") => DryRun::Server,
        Some(other) => {
            anyhow::bail!("invalid --dry-run value {other:?}: expected client, server or none")
        }
    })
}

fn connect_options(global: &GlobalFlags) -> ConnectOptions {
    ConnectOptions {
        kubeconfig: global.kubeconfig.clone(),
        context: global.kube_context.clone(),
        namespace: global.namespace.clone(),
    }
}

/// Runs a release command on a fresh tokio runtime.
pub fn dispatch(
    global: &GlobalFlags,
    command: ReleaseCommand,
    sub: &ArgMatches,
) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(async {
        // An interrupt during an operation marks the revision it holds failed; any other
        // command just stops.
        tokio::select! {
            result = run(global, command, sub) => result,
            signal = interrupted() => {
                if operation::abandon_in_flight(signal).await {
                    anyhow::bail!("interrupted by {signal}; the revision in progress was marked failed")
                }
                anyhow::bail!("interrupted by {signal}")
            }
        }
    })
}

async fn interrupted() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = match signal(SignalKind::terminate()) {
            Ok(s) => s,
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                return "SIGINT";
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => "SIGINT",
            _ = term.recv() => "SIGTERM",
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}

fn print_release(release: &crate::storage::Release, format: OutputFormat, hide_notes: bool) {
    match format {
        OutputFormat::Table => {
            let mut r = release.clone();
            if hide_notes {
                r.info.notes.clear();
            }
            print!("{}", status_text(&r, false));
        }
        f => print!(
            "{}",
            crate::output::encode(
                &serde_json::to_value(release).expect("releases serialize"),
                f
            )
        ),
    }
}

/// The local chart for a chart argument (downloading repository and registry charts).
async fn locate_chart(chart: &std::path::Path, d: &DeployFlags) -> Result<std::path::PathBuf> {
    super::repo::locate(&chart.to_string_lossy(), &d.chart_path).await
}

fn deploy_options(
    name: &str,
    chart: &std::path::Path,
    d: &DeployFlags,
    sub: &ArgMatches,
) -> Result<DeployOptions> {
    Ok(DeployOptions {
        name: name.to_string(),
        chart: chart.to_path_buf(),
        values: value_options(sub),
        create_namespace: d.create_namespace,
        dry_run: dry_run(&d.dry_run)?,
        description: d.description.clone(),
        settings: d.apply.settings(d.take_ownership),
        atomic: d.atomic,
        skip_crds: d.skip_crds,
        force_crds: d.force_crds,
        ..Default::default()
    })
}

async fn run(global: &GlobalFlags, command: ReleaseCommand, sub: &ArgMatches) -> Result<ExitCode> {
    let cluster: Cluster = kube::connect(&connect_options(global)).await?;
    let config = Configuration::from_env(cluster).await?;
    match command {
        ReleaseCommand::Install(args) => {
            args.deploy.render_limits.apply();
            let (name, chart_arg) = install_name_and_chart(&args)?;
            let chart = locate_chart(&chart_arg, &args.deploy).await?;
            let mut opts = deploy_options(&name, &chart, &args.deploy, sub)?;
            opts.settings.wait |= opts.atomic;
            opts.replace = args.replace;
            let release = install::install(&config, &opts)
                .await
                .context("INSTALLATION FAILED")?;
            print_release(&release, args.deploy.output, args.deploy.hide_notes);
        }
        ReleaseCommand::Upgrade(args) => {
            args.deploy.render_limits.apply();
            let chart = locate_chart(&args.chart, &args.deploy).await?;
            let mut opts = deploy_options(&args.name, &chart, &args.deploy, sub)?;
            opts.settings.wait |= opts.atomic;
            opts.install = args.install;
            args.reuse.apply(&mut opts);
            opts.history_max = args.history_max;
            opts.cleanup_on_fail = args.cleanup_on_fail;
            if opts.dry_run == DryRun::Server {
                // `upgrade --dry-run=server` shows what the upgrade would change, exactly as
                // `rudder diff upgrade` does.
                let report = crate::action::diff::server_dry_run(&config, &opts).await?;
                let options = crate::diff::RenderOptions {
                    color: crate::diff::ColorChoice::Auto.enabled(),
                    ..Default::default()
                };
                print!("{}", crate::diff::render(&report, &options));
                return Ok(ExitCode::SUCCESS);
            }
            let (installing, outcome) = upgrade::upgrade_or_install(&config, &opts).await;
            if installing && args.deploy.output == OutputFormat::Table {
                println!("Release {:?} does not exist. Installing it now.", args.name);
            }
            let release = outcome.context(if installing {
                "INSTALLATION FAILED"
            } else {
                "UPGRADE FAILED"
            })?;
            if !installing && args.deploy.output == OutputFormat::Table {
                println!(
                    "Release {:?} has been upgraded. Happy Helming!",
                    release.name
                );
            }
            print_release(&release, args.deploy.output, args.deploy.hide_notes);
        }
        ReleaseCommand::Rollback(args) => {
            let opts = RollbackOptions {
                name: args.name.clone(),
                revision: args.revision.unwrap_or(0),
                dry_run: args.dry_run,
                settings: args.apply.settings(false),
                history_max: args.history_max,
                cleanup_on_fail: args.cleanup_on_fail,
            };
            rollback::rollback(&config, &opts).await?;
            println!("Rollback was a success! Happy Helming!");
        }
        ReleaseCommand::Uninstall(args) => {
            for name in &args.names {
                let opts = UninstallOptions {
                    name: name.clone(),
                    keep_history: args.keep_history,
                    dry_run: args.dry_run,
                    settings: args.apply.settings(false),
                };
                let done = uninstall::uninstall(&config, &opts).await?;
                if !done.kept.is_empty() {
                    println!("These resources were kept due to the resource policy:");
                    for r in &done.kept {
                        println!("[{}] {}", r.kind, r.name);
                    }
                    println!();
                }
                println!("release {name:?} uninstalled");
            }
        }
        ReleaseCommand::History(args) => {
            print!(
                "{}",
                history::history(&config, &args.name, args.max, args.output).await?
            );
        }
        ReleaseCommand::List(args) => {
            let opts = ListOptions {
                all_namespaces: args.all_namespaces,
                all: args.all,
                deployed: args.deployed,
                failed: args.failed,
                pending: args.pending,
                superseded: args.superseded,
                uninstalled: args.uninstalled,
                uninstalling: args.uninstalling,
                filter: args.filter.clone(),
                short: args.short,
                format: args.output,
            };
            print!("{}", list::list(&config, &opts).await?);
        }
        ReleaseCommand::Status(args) => {
            print!(
                "{}",
                status::status(
                    &config,
                    &args.name,
                    args.revision.unwrap_or(0),
                    args.show_resources,
                    args.output
                )
                .await?
            );
        }
        ReleaseCommand::Get(what) => {
            let (what, get_args, all_values, format) = match what {
                GetCommand::Values(a) => (GetWhat::Values, a.get, a.all, a.output),
                GetCommand::Manifest(a) => (GetWhat::Manifest, a, false, OutputFormat::Table),
                GetCommand::Notes(a) => (GetWhat::Notes, a, false, OutputFormat::Table),
                GetCommand::Hooks(a) => (GetWhat::Hooks, a, false, OutputFormat::Table),
                GetCommand::All(a) => (GetWhat::All, a.get, false, a.output),
            };
            let opts = GetOptions {
                what,
                name: get_args.name,
                revision: get_args.revision.unwrap_or(0),
                all_values,
                format,
            };
            print!("{}", get::get(&config, &opts).await?);
        }
        ReleaseCommand::Test(args) => {
            let settings = ApplySettings {
                timeout: args.timeout,
                ..Default::default()
            };
            let release = release_test::run_tests(&config, &args.name, &settings).await?;
            print!("{}", status_text(&release, false));
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse() {
        assert_eq!(parse_duration("5m0s").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("500ms").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
    }
}

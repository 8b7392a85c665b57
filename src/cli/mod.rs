//! Command-line interface: clap definitions and thin shims over [`crate::action`].
//!
//! Each subcommand parses its flags, builds the options struct of one action function,
//! calls it and prints the result; no logic of its own lives here.

mod apply;
mod diff;
mod release;
mod repo;
mod values_flags;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context as _, Result};
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::action::{self, ActionError};
use crate::engine::limits::{self, RenderLimits};
use crate::engine::{Capabilities, KubeVersion};
pub use values_flags::{ValuesFlags, value_options};

/// rudder: helm's habits, tera templates, diff built in.
#[derive(Parser, Debug)]
#[command(name = "rudder", version, about)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalFlags,
    #[command(subcommand)]
    pub command: Command,
}

/// Flags every command accepts, as helm names them.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalFlags {
    /// Namespace scope for this request
    #[arg(short = 'n', long, global = true, env = "RUDDER_NAMESPACE")]
    pub namespace: Option<String>,
    /// Path to the kubeconfig file
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
    /// Name of the kubeconfig context to use
    #[arg(long = "kube-context", global = true)]
    pub kube_context: Option<String>,
    /// Print verbose output
    #[arg(long, global = true)]
    pub debug: bool,
}

impl GlobalFlags {
    /// The namespace to work in: `-n`, or `default`.
    pub fn namespace(&self) -> String {
        self.namespace
            .clone()
            .unwrap_or_else(|| "default".to_string())
    }
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Render chart templates locally and print the manifests
    Template(TemplateArgs),
    /// Examine a chart for possible issues
    Lint(LintArgs),
    /// Create a new chart with the given name
    Create(CreateArgs),
    /// Package a chart directory into a chart archive
    Package(PackageArgs),
    /// Show information of a chart
    #[command(subcommand)]
    Show(ShowCommand),
    #[command(flatten)]
    Repo(repo::RepoCommands),
    #[command(flatten)]
    Release(release::ReleaseCommand),
    /// Show what an upgrade, rollback or revision would change, against the live objects
    Diff(diff::DiffArgs),
    /// Diff and deploy (or --destroy) the releases of a releases file, in dependency order
    Apply(apply::ApplyArgs),
    /// Convert a helm (Go-template) chart to a tera chart and prove it renders the same
    Convert(ConvertArgs),
}

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// The helm chart: a directory or a .tgz
    #[arg(value_name = "CHART")]
    pub chart: PathBuf,
    /// Directory to write the tera chart to (default ./NAME-tera)
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Keep Go-template subcharts as they are instead of converting them
    #[arg(long = "keep-subcharts")]
    pub keep_subcharts: bool,
    /// Only report what would not convert faithfully and the proof; write nothing
    #[arg(long)]
    pub check: bool,
    /// Replace the output directory when it exists and is not empty
    #[arg(long)]
    pub force: bool,
    /// Values to prove the conversion with, besides the defaults and ci/*.yaml
    #[command(flatten)]
    pub values: ValuesFlags,
}

/// Flags that choose the Kubernetes version and APIs templates are rendered for.
#[derive(Args, Debug, Clone, Default)]
pub struct CapabilityFlags {
    /// Kubernetes API versions used for Capabilities.APIVersions (repeatable)
    #[arg(
        short = 'a',
        long = "api-versions",
        value_name = "G/V",
        value_delimiter = ','
    )]
    pub api_versions: Vec<String>,
    /// Kubernetes version used for Capabilities.KubeVersion
    #[arg(long = "kube-version", value_name = "VERSION")]
    pub kube_version: Option<String>,
}

/// Bounds on a chart render, on every command that renders one (chart templates are
/// untrusted input). The output limit (256 MiB) has no flag.
#[derive(Args, Debug, Clone)]
pub struct RenderLimitFlags {
    /// Stop rendering the chart after this long (like --timeout: 90s, 2m)
    #[arg(long = "render-timeout", value_name = "DURATION", default_value = "60s",
          value_parser = release::parse_duration)]
    pub render_timeout: Duration,
    /// Stop rendering the chart when it needs more memory than this (bytes, or a quantity: 512Mi, 2Gi)
    #[arg(long = "render-max-memory", value_name = "SIZE", default_value = "2Gi",
          value_parser = parse_size)]
    pub render_max_memory: usize,
}

impl RenderLimitFlags {
    /// Makes these the limits of every render of this process.
    pub fn apply(&self) {
        limits::configure(RenderLimits {
            timeout: self.render_timeout,
            max_memory: self.render_max_memory,
            ..RenderLimits::DEFAULT
        });
    }
}

/// Parses a size in bytes: a number, or a Kubernetes quantity (`512Mi`, `2Gi`, `1.5Gi`,
/// `500M`; binary suffixes Ki…Ei, decimal k…E).
pub fn parse_size(text: &str) -> Result<usize, String> {
    let bad = || format!("invalid size {text:?}: expected bytes or a quantity like 512Mi or 2Gi");
    let split = text
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(text.len());
    let (number, suffix) = text.split_at(split);
    let unit: u128 = match suffix {
        "" => 1,
        "Ki" => 1 << 10,
        "Mi" => 1 << 20,
        "Gi" => 1 << 30,
        "Ti" => 1 << 40,
        "Pi" => 1 << 50,
        "Ei" => 1 << 60,
        "k" => 1_000,
        "M" => 1_000_000,
        "G" => 1_000_000_000,
        "T" => 1_000_000_000_000,
        "P" => 1_000_000_000_000_000,
        "E" => 1_000_000_000_000_000_000,
        _ => return Err(bad()),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let fraction_digits = fraction.len();
    if whole.is_empty() && fraction.is_empty() || fraction_digits > 18 {
        return Err(bad());
    }
    let digits = |d: &str| -> Result<u128, String> {
        if d.is_empty() {
            Ok(0)
        } else {
            d.parse().map_err(|_| bad())
        }
    };
    let (whole, fraction) = (digits(whole)?, digits(fraction)?);
    let scale = 10u128.pow(fraction_digits as u32);
    let bytes = whole
        .checked_mul(unit)
        .and_then(|b| b.checked_add(fraction * unit / scale))
        .ok_or_else(bad)?;
    usize::try_from(bytes).map_err(|_| bad())
}

#[derive(Args, Debug)]
pub struct TemplateArgs {
    /// [NAME] CHART: the release name is optional ("release-name" when omitted)
    #[arg(value_name = "[NAME] CHART", num_args = 1..=2, required = true)]
    pub positional: Vec<String>,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub capabilities: CapabilityFlags,
    #[command(flatten)]
    pub render_limits: RenderLimitFlags,
    /// Only show manifests rendered from the given templates (repeatable, globs allowed)
    #[arg(short = 's', long = "show-only", value_name = "PATH")]
    pub show_only: Vec<String>,
    /// Write each template to a file under DIR instead of stdout
    #[arg(long = "output-dir", value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Include CRDs from the chart's crds/ directory in the output
    #[arg(long = "include-crds")]
    pub include_crds: bool,
    /// Skip the chart's crds/ directory
    #[arg(long = "skip-crds")]
    pub skip_crds: bool,
    /// Set Release.IsUpgrade instead of Release.IsInstall
    #[arg(long = "is-upgrade")]
    pub is_upgrade: bool,
    /// Do not print hooks
    #[arg(long = "no-hooks")]
    pub no_hooks: bool,
    /// Skip test hooks
    #[arg(long = "skip-tests")]
    pub skip_tests: bool,
    /// Print the rendered NOTES.txt after the manifests
    #[arg(long = "notes")]
    pub notes: bool,
    #[command(flatten)]
    pub chart_path: repo::ChartPathArgs,
}

#[derive(Args, Debug)]
pub struct LintArgs {
    /// Chart paths to lint (default: the current directory)
    #[arg(value_name = "CHART")]
    pub charts: Vec<PathBuf>,
    #[command(flatten)]
    pub values: ValuesFlags,
    #[command(flatten)]
    pub capabilities: CapabilityFlags,
    #[command(flatten)]
    pub render_limits: RenderLimitFlags,
    /// Fail on lint warnings
    #[arg(long)]
    pub strict: bool,
    /// Lint dependent charts too
    #[arg(long = "with-subcharts")]
    pub with_subcharts: bool,
    /// Print only warnings and errors
    #[arg(long)]
    pub quiet: bool,
}

#[derive(Args, Debug)]
pub struct CreateArgs {
    /// Name (and path) of the chart to create
    pub name: PathBuf,
}

#[derive(Args, Debug)]
pub struct PackageArgs {
    /// Chart directories to package
    #[arg(value_name = "CHART", required = true)]
    pub charts: Vec<PathBuf>,
    /// Location to write the chart archive to
    #[arg(short = 'd', long = "destination", default_value = ".")]
    pub destination: PathBuf,
    /// Set the version on the chart to this semver version
    #[arg(long)]
    pub version: Option<String>,
    /// Set the appVersion on the chart to this version
    #[arg(long = "app-version")]
    pub app_version: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ShowCommand {
    /// Show the chart's definition (Chart.yaml)
    Chart(ShowArgs),
    /// Show the chart's values.yaml
    Values(ShowArgs),
    /// Show the chart's README
    Readme(ShowArgs),
    /// Show the chart's CRDs
    Crds(ShowArgs),
    /// Show all information of the chart
    All(ShowArgs),
}

#[derive(Args, Debug)]
pub struct ShowArgs {
    /// Chart: a directory, a .tgz, REPO/CHART, a chart URL or oci://…
    pub chart: String,
    #[command(flatten)]
    pub chart_path: repo::ChartPathArgs,
}

/// Parses the command line, runs the command, and turns errors into helm-style output.
pub fn run() -> ExitCode {
    let matches = Cli::command().get_matches();
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(e) => e.exit(),
    };
    let sub = matches
        .subcommand()
        .map(|(_, m)| m.clone())
        .unwrap_or_default();
    match dispatch(cli, &sub) {
        Ok(code) => code,
        // The reader went away (`rudder template … | head`): stop quietly, as pipes expect.
        Err(e) if is_broken_pipe(&e) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {}", error_line(&e));
            ExitCode::from(1)
        }
    }
}

/// Whether the command failed only because the reader of its output went away.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<ActionError>()
        .is_some_and(ActionError::is_closed_stdout)
}

/// The error and its causes on one line, leaving out causes the message already quotes
/// (library errors usually include their source's text).
fn error_line(error: &anyhow::Error) -> String {
    let mut line = error.to_string();
    for cause in error.chain().skip(1) {
        let text = cause.to_string();
        let text = text.split(" (os error").next().unwrap_or_default();
        if !line.contains(text) {
            line.push_str(": ");
            line.push_str(text);
        }
    }
    line
}

fn dispatch(cli: Cli, sub: &ArgMatches) -> Result<ExitCode> {
    let global = cli.global;
    match cli.command {
        Command::Template(args) => template(&global, args, sub),
        Command::Lint(args) => lint(args, sub),
        Command::Create(args) => create(args),
        Command::Package(args) => package(args),
        Command::Show(what) => show(what),
        Command::Repo(command) => repo::dispatch(command),
        Command::Release(command) => release::dispatch(&global, command, sub),
        Command::Diff(args) => diff::dispatch(&global, args, sub),
        Command::Apply(args) => apply::dispatch(&global, args),
        Command::Convert(args) => convert(args, sub),
    }
}

fn capabilities(flags: &CapabilityFlags) -> Result<Capabilities> {
    let mut capabilities = Capabilities::default();
    if let Some(version) = &flags.kube_version {
        capabilities.kube_version = KubeVersion::parse(version).context("--kube-version")?;
    }
    capabilities
        .api_versions
        .extend(flags.api_versions.iter().cloned());
    Ok(capabilities)
}

fn template(global: &GlobalFlags, args: TemplateArgs, sub: &ArgMatches) -> Result<ExitCode> {
    let (release_name, chart) = match args.positional.as_slice() {
        [chart] => ("release-name".to_string(), chart.clone()),
        [name, chart] => (name.clone(), chart.clone()),
        _ => unreachable!("clap enforces one or two positionals"),
    };
    args.render_limits.apply();
    let opts = action::template::TemplateOptions {
        release_name,
        namespace: global.namespace(),
        chart: repo::resolve_chart(&chart, &args.chart_path)?,
        values: value_options(sub),
        capabilities: capabilities(&args.capabilities)?,
        show_only: args.show_only,
        output_dir: args.output_dir,
        include_crds: args.include_crds && !args.skip_crds,
        is_upgrade: args.is_upgrade,
        no_hooks: args.no_hooks,
        skip_tests: args.skip_tests,
        notes: args.notes,
    };
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    action::template::template(&opts, &mut out)?;
    std::io::Write::flush(&mut out).map_err(ActionError::stdout)?;
    Ok(ExitCode::SUCCESS)
}

fn lint(args: LintArgs, sub: &ArgMatches) -> Result<ExitCode> {
    args.render_limits.apply();
    let charts = if args.charts.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        args.charts
    };
    let opts = action::lint::LintOptions {
        values: value_options(sub),
        capabilities: capabilities(&args.capabilities)?,
        strict: args.strict,
        with_subcharts: args.with_subcharts,
    };
    let reports: Vec<_> = charts
        .iter()
        .flat_map(|chart| action::lint::lint(chart, &opts))
        .collect();
    let failed = reports.iter().filter(|r| r.failed(args.strict)).count();
    for report in &reports {
        print!("{}", report.render(args.quiet));
    }
    println!(
        "\n{} chart(s) linted, {} chart(s) failed",
        reports.len(),
        failed
    );
    Ok(if failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn convert(args: ConvertArgs, sub: &ArgMatches) -> Result<ExitCode> {
    let opts = action::convert::ConvertOptions {
        chart: args.chart,
        output: args.output,
        values: value_options(sub),
        keep_subcharts: args.keep_subcharts,
        check: args.check,
        force: args.force,
    };
    let report = action::convert::convert(&opts)?;
    for f in &report.findings {
        let kind = if f.note { "note: " } else { "" };
        println!("{}:{}: {kind}{}", f.file, f.line, f.message);
    }
    if !report.findings.is_empty() {
        println!();
    }
    let mut rows = vec![vec!["VALUES".to_string(), "RESULT".to_string()]];
    rows.extend(
        report
            .proof
            .iter()
            .map(|(label, verdict)| vec![label.clone(), verdict.describe()]),
    );
    print!("{}", crate::output::table(&rows, None));
    match &report.output {
        Some(dir) => println!(
            "\nWrote the tera chart to {} ({} files) in {:.2}s.",
            dir.display(),
            report.files,
            report.took.as_secs_f64()
        ),
        None => println!(
            "\nChecked in {:.2}s; nothing was written.",
            report.took.as_secs_f64()
        ),
    }
    let clean = report.holds() && (!opts.check || report.findings.iter().all(|f| f.note));
    Ok(if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn create(args: CreateArgs) -> Result<ExitCode> {
    let dir = action::create::create(&args.name)?;
    println!("Creating {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

fn package(args: PackageArgs) -> Result<ExitCode> {
    for chart in args.charts {
        let opts = action::package::PackageOptions {
            chart_path: chart,
            destination: args.destination.clone(),
            version: args.version.clone(),
            app_version: args.app_version.clone(),
        };
        let path = action::package::package(&opts)?;
        println!(
            "Successfully packaged chart and saved it to: {}",
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn show(command: ShowCommand) -> Result<ExitCode> {
    use action::show::ShowWhat;
    let (what, args) = match command {
        ShowCommand::Chart(a) => (ShowWhat::Chart, a),
        ShowCommand::Values(a) => (ShowWhat::Values, a),
        ShowCommand::Readme(a) => (ShowWhat::Readme, a),
        ShowCommand::Crds(a) => (ShowWhat::Crds, a),
        ShowCommand::All(a) => (ShowWhat::All, a),
    };
    let chart = repo::resolve_chart(&args.chart, &args.chart_path)?;
    print!("{}", action::show::show(&chart, what)?);
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn values_flags_keep_command_line_order() {
        let matches = Cli::command().get_matches_from([
            "rudder",
            "template",
            "c",
            "--set",
            "a=1",
            "-f",
            "x.yaml",
            "--set-string",
            "b=2",
            "-f",
            "y.yaml,z.yaml",
            "--set-json",
            "c=3",
        ]);
        let (_, sub) = matches.subcommand().unwrap();
        let sources = value_options(sub).sources;
        use crate::values::ValueSource as S;
        assert_eq!(
            sources,
            vec![
                S::Set("a=1".into()),
                S::File("x.yaml".into()),
                S::SetString("b=2".into()),
                S::File("y.yaml".into()),
                S::File("z.yaml".into()),
                S::SetJson("c=3".into()),
            ]
        );
    }

    #[test]
    fn sizes_parse_as_kubernetes_quantities() {
        assert_eq!(parse_size("1048576"), Ok(1 << 20));
        assert_eq!(parse_size("512Mi"), Ok(512 << 20));
        assert_eq!(parse_size("2Gi"), Ok(2 << 30));
        assert_eq!(parse_size("1.5Gi"), Ok(3 << 29));
        assert_eq!(parse_size("500M"), Ok(500_000_000));
        assert_eq!(parse_size("64k"), Ok(64_000));
        for bad in ["", "Mi", "2GB", "-1Gi", "1.2.3Mi", "2 Gi"] {
            assert!(parse_size(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn render_limit_flags_default_to_the_engine_defaults() {
        let cli = Cli::try_parse_from(["rudder", "template", "c"]).unwrap();
        let Command::Template(args) = cli.command else {
            panic!("a template command")
        };
        let flags = args.render_limits;
        assert_eq!(flags.render_timeout, RenderLimits::DEFAULT.timeout);
        assert_eq!(flags.render_max_memory, RenderLimits::DEFAULT.max_memory);
    }

    #[test]
    fn namespace_accepts_the_glued_short_form() {
        let cli = Cli::try_parse_from(["rudder", "template", "-nkubeagi-system", "c"]).unwrap();
        assert_eq!(cli.global.namespace(), "kubeagi-system");
    }
}

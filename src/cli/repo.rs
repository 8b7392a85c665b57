//! Chart repository, registry and dependency commands (`repo`, `search`, `pull`, `push`,
//! `registry`, `dependency`): clap definitions and thin shims over their actions. The
//! tokio runtime these network commands need is built here.

use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use clap::{Args, Subcommand};

use crate::action;
use crate::output::OutputFormat;
use crate::registry::RegistryOptions;
use crate::repo::{HttpOptions, LocateOptions, RepoEntry, RepoSettings};

#[derive(Subcommand, Debug)]
pub enum RepoCommands {
    /// Add, list, remove, update, and index chart repositories
    #[command(subcommand)]
    Repo(RepoCmd),
    /// Search for a keyword in charts
    #[command(subcommand)]
    Search(SearchCmd),
    /// Download a chart from a repository and (optionally) unpack it in a local directory
    Pull(PullArgs),
    /// Push a chart package to an OCI registry
    Push(PushArgs),
    /// Log in to or log out from an OCI registry
    #[command(subcommand)]
    Registry(RegistryCmd),
    /// Manage a chart's dependencies
    #[command(subcommand, visible_alias = "dep", alias = "dependencies")]
    Dependency(DependencyCmd),
}

#[derive(Subcommand, Debug)]
pub enum RepoCmd {
    /// Add a chart repository
    Add(RepoAddArgs),
    /// List chart repositories
    #[command(visible_alias = "ls")]
    List(FormatArg),
    /// Update information of available charts locally from chart repositories
    #[command(visible_alias = "up")]
    Update {
        /// Repositories to update (default: all)
        names: Vec<String>,
    },
    /// Remove one or more chart repositories
    #[command(visible_alias = "rm")]
    Remove {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Generate an index file given a directory containing packaged charts
    Index(RepoIndexArgs),
}

#[derive(Args, Debug)]
pub struct FormatArg {
    /// Output format: table, json or yaml
    #[arg(short = 'o', long = "output", default_value = "table")]
    pub output: OutputFormat,
}

/// TLS and credential flags shared by commands that talk to repositories.
#[derive(Args, Debug, Clone, Default)]
pub struct ConnectionFlags {
    /// Chart repository or registry username
    #[arg(long)]
    pub username: Option<String>,
    /// Chart repository or registry password
    #[arg(long)]
    pub password: Option<String>,
    /// Verify certificates of HTTPS-enabled servers using this CA bundle
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Identify HTTPS client using this SSL certificate file
    #[arg(long = "cert-file", value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// Identify HTTPS client using this SSL key file
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Skip tls certificate checks for the repository
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
    /// Pass credentials to all domains
    #[arg(long = "pass-credentials")]
    pub pass_credentials: bool,
}

impl ConnectionFlags {
    fn given(&self) -> bool {
        self.username.is_some()
            || self.password.is_some()
            || self.ca_file.is_some()
            || self.cert_file.is_some()
            || self.key_file.is_some()
            || self.insecure_skip_tls_verify
            || self.pass_credentials
    }

    fn http(&self) -> HttpOptions {
        HttpOptions {
            username: self.username.clone(),
            password: self.password.clone(),
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            pass_credentials_all: self.pass_credentials,
            credentials_for: None,
        }
    }

    fn registry(&self, plain_http: bool) -> RegistryOptions {
        RegistryOptions {
            plain_http,
            insecure_skip_tls_verify: self.insecure_skip_tls_verify,
            ca_file: self.ca_file.clone(),
            cert_file: self.cert_file.clone(),
            key_file: self.key_file.clone(),
            username: self.username.clone(),
            password: self.password.clone(),
        }
    }
}

#[derive(Args, Debug)]
pub struct RepoAddArgs {
    /// Name of the repository
    pub name: String,
    /// URL of the repository
    pub url: String,
    #[command(flatten)]
    pub connection: ConnectionFlags,
    /// Read the chart repository password from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Replace (overwrite) the repo if it already exists
    #[arg(long = "force-update")]
    pub force_update: bool,
}

#[derive(Args, Debug)]
pub struct RepoIndexArgs {
    /// Directory of chart packages
    pub dir: PathBuf,
    /// URL of the chart repository
    #[arg(long)]
    pub url: Option<String>,
    /// Merge the generated index into the given index
    #[arg(long, value_name = "FILE")]
    pub merge: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum SearchCmd {
    /// Search repositories for a keyword in charts
    Repo(SearchRepoArgs),
}

#[derive(Args, Debug)]
pub struct SearchRepoArgs {
    /// Keyword to search for
    pub keyword: Option<String>,
    /// Search using semantic versioning constraints on repositories you have added
    #[arg(long)]
    pub version: Option<String>,
    /// Show the long listing, with each version of each chart on its own line
    #[arg(short = 'l', long)]
    pub versions: bool,
    /// Use development versions (alpha, beta, and release candidate releases), too
    #[arg(long)]
    pub devel: bool,
    /// Use regular expressions for searching repositories you have added
    #[arg(short = 'r', long)]
    pub regexp: bool,
    /// Fail (exit 1) when no results are found
    #[arg(long = "fail-on-no-result")]
    pub fail_on_no_result: bool,
    /// Maximum column width for output table
    #[arg(long = "max-col-width", default_value_t = 50)]
    pub max_col_width: usize,
    #[command(flatten)]
    pub format: FormatArg,
}

#[derive(Args, Debug)]
pub struct PullArgs {
    /// Chart: repo/chart, a chart URL, or oci://host/path/chart
    pub chart: String,
    /// Location to write the chart
    #[arg(short = 'd', long = "destination", default_value = ".")]
    pub destination: PathBuf,
    /// Unpack the chart after downloading it
    #[arg(long)]
    pub untar: bool,
    /// Directory into which the chart is unpacked (with --untar)
    #[arg(long, value_name = "DIR")]
    pub untardir: Option<PathBuf>,
    #[command(flatten)]
    pub chart_path: ChartPathArgs,
}

/// helm's "chart path options": where and how to fetch the chart argument of `install`,
/// `upgrade`, `template`, `show`, `diff upgrade` and `pull`. Every command turns them into
/// [`LocateOptions`] the same way and resolves the chart with [`locate`].
#[derive(Args, Debug, Clone, Default)]
pub struct ChartPathArgs {
    /// Version constraint for the chart (e.g. 1.1.1 or ^2.0.0; default: the newest stable version)
    #[arg(long, value_name = "CONSTRAINT")]
    pub version: Option<String>,
    /// Use development versions, too (same as --version '>0.0.0-0'; ignored when --version is set)
    #[arg(long)]
    pub devel: bool,
    /// Chart repository URL where to locate the requested chart (no `repo add` needed)
    #[arg(long = "repo", value_name = "URL")]
    pub repo: Option<String>,
    #[command(flatten)]
    pub connection: ConnectionFlags,
    /// Use insecure HTTP connections for the chart download (OCI registries without TLS)
    #[arg(long = "plain-http")]
    pub plain_http: bool,
}

impl ChartPathArgs {
    /// The options [`crate::repo::locate_chart`] and [`crate::repo::fetch_chart`]
    /// take.
    pub fn locate_options(&self) -> LocateOptions {
        let version = self.version.clone().filter(|v| !v.trim().is_empty());
        LocateOptions {
            version,
            devel: self.devel,
            http: self.connection.given().then(|| self.connection.http()),
            repo_url: self.repo.clone(),
            registry: self.connection.registry(self.plain_http),
        }
    }
}

#[derive(Args, Debug)]
pub struct PushArgs {
    /// The chart package (.tgz)
    pub chart: PathBuf,
    /// The registry location: oci://host/path
    pub remote: String,
    #[command(flatten)]
    pub connection: ConnectionFlags,
    /// Use insecure HTTP connections for the registry
    #[arg(long = "plain-http")]
    pub plain_http: bool,
}

#[derive(Subcommand, Debug)]
pub enum RegistryCmd {
    /// Log in to a registry
    Login(RegistryLoginArgs),
    /// Log out from a registry
    Logout {
        /// The registry host (host[:port])
        host: String,
    },
}

#[derive(Args, Debug)]
pub struct RegistryLoginArgs {
    /// The registry host (host[:port])
    pub host: String,
    /// Registry username
    #[arg(short = 'u', long)]
    pub username: Option<String>,
    /// Registry password or identity token
    #[arg(short = 'p', long)]
    pub password: Option<String>,
    /// Read password or identity token from stdin
    #[arg(long = "password-stdin")]
    pub password_stdin: bool,
    /// Allow connections to TLS registry without certs
    #[arg(long)]
    pub insecure: bool,
    /// Use insecure HTTP connections
    #[arg(long = "plain-http")]
    pub plain_http: bool,
    /// Verify certificates of HTTPS-enabled servers using this CA bundle
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Identify registry client using this SSL certificate file
    #[arg(long = "cert-file", value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// Identify registry client using this SSL key file
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum DependencyCmd {
    /// Update charts/ based on the contents of Chart.yaml, writing Chart.lock
    #[command(visible_alias = "up")]
    Update(DependencyArgs),
    /// Rebuild the charts/ directory based on the Chart.lock file
    Build(DependencyArgs),
    /// List the dependencies for the given chart
    #[command(visible_alias = "ls")]
    List(DependencyListArgs),
}

#[derive(Args, Debug)]
pub struct DependencyArgs {
    /// The chart directory
    #[arg(default_value = ".")]
    pub chart: PathBuf,
    /// Do not refresh the local repository cache
    #[arg(long = "skip-refresh")]
    pub skip_refresh: bool,
    /// Use insecure HTTP connections for OCI dependencies
    #[arg(long = "plain-http")]
    pub plain_http: bool,
    /// Verify certificates of OCI registries using this CA bundle
    #[arg(long = "ca-file", value_name = "FILE")]
    pub ca_file: Option<PathBuf>,
    /// Identify to OCI registries using this SSL certificate file
    #[arg(long = "cert-file", value_name = "FILE")]
    pub cert_file: Option<PathBuf>,
    /// Identify to OCI registries using this SSL key file
    #[arg(long = "key-file", value_name = "FILE")]
    pub key_file: Option<PathBuf>,
    /// Skip tls certificate checks for OCI registries
    #[arg(long = "insecure-skip-tls-verify")]
    pub insecure_skip_tls_verify: bool,
}

impl DependencyArgs {
    fn options(&self) -> action::dependency::DependencyOptions {
        action::dependency::DependencyOptions {
            chart: self.chart.clone(),
            skip_refresh: self.skip_refresh,
            registry: RegistryOptions {
                plain_http: self.plain_http,
                insecure_skip_tls_verify: self.insecure_skip_tls_verify,
                ca_file: self.ca_file.clone(),
                cert_file: self.cert_file.clone(),
                key_file: self.key_file.clone(),
                ..RegistryOptions::default()
            },
        }
    }
}

#[derive(Args, Debug)]
pub struct DependencyListArgs {
    /// The chart directory
    #[arg(default_value = ".")]
    pub chart: PathBuf,
    /// Maximum column width for output table
    #[arg(long = "max-col-width", default_value_t = 80)]
    pub max_col_width: usize,
}

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

fn read_stdin_password() -> Result<String> {
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .context("cannot read the password from stdin")?;
    Ok(text.trim_end_matches(['\r', '\n']).to_string())
}

/// Resolves the chart argument of `template`, `install`, `upgrade`, `show` and `diff
/// upgrade`: an existing local path as it is (as helm, even with `--repo`), else a
/// `repo/chart`, chart URL, `oci://` reference or (with `--repo`) chart name downloaded,
/// verified, into the content cache.
pub async fn locate(reference: &str, chart: &ChartPathArgs) -> Result<PathBuf> {
    let reference = reference.trim();
    if std::path::Path::new(reference).exists() && !reference.contains("://") {
        return Ok(PathBuf::from(reference));
    }
    let settings = RepoSettings::from_env();
    Ok(crate::repo::locate_chart(reference, &chart.locate_options(), &settings).await?)
}

/// [`locate`] for commands that run without an async runtime.
pub fn resolve_chart(reference: &str, chart: &ChartPathArgs) -> Result<PathBuf> {
    runtime()?.block_on(locate(reference, chart))
}

/// Runs one of the repository commands.
pub fn dispatch(command: RepoCommands) -> Result<ExitCode> {
    let settings = RepoSettings::from_env();
    match command {
        RepoCommands::Repo(cmd) => repo(cmd, &settings),
        RepoCommands::Search(SearchCmd::Repo(args)) => search(args, &settings),
        RepoCommands::Pull(args) => pull(args, &settings),
        RepoCommands::Push(args) => push(args, &settings),
        RepoCommands::Registry(cmd) => registry(cmd, &settings),
        RepoCommands::Dependency(cmd) => dependency(cmd, &settings),
    }
}

fn repo(cmd: RepoCmd, settings: &RepoSettings) -> Result<ExitCode> {
    match cmd {
        RepoCmd::Add(args) => {
            let mut password = args.connection.password.clone();
            if args.password_stdin {
                password = Some(read_stdin_password()?);
            }
            if args.connection.username.is_some() && password.is_none() {
                bail!("--username needs a password: pass --password or --password-stdin");
            }
            let c = &args.connection;
            let path = |p: &Option<PathBuf>| {
                p.as_ref()
                    .map(|p| std::path::absolute(p).unwrap_or(p.clone()))
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            };
            let entry = RepoEntry {
                name: args.name.clone(),
                url: args.url.clone(),
                username: c.username.clone().unwrap_or_default(),
                password: password.unwrap_or_default(),
                cert_file: path(&c.cert_file),
                key_file: path(&c.key_file),
                ca_file: path(&c.ca_file),
                insecure_skip_tls_verify: c.insecure_skip_tls_verify,
                pass_credentials_all: c.pass_credentials,
            };
            let outcome = runtime()?.block_on(action::repo_add::repo_add(
                entry,
                args.force_update,
                settings,
            ))?;
            match outcome {
                action::repo_add::AddOutcome::Added => {
                    println!("\"{}\" has been added to your repositories", args.name)
                }
                action::repo_add::AddOutcome::AlreadyConfigured => println!(
                    "\"{}\" already exists with the same configuration, skipping",
                    args.name
                ),
            }
        }
        RepoCmd::List(f) => print!("{}", action::repo_list::repo_list(settings, f.output)?),
        RepoCmd::Update { names } => {
            println!("Hang tight while we grab the latest from your chart repositories...");
            let results =
                runtime()?.block_on(action::repo_update::repo_update(&names, settings))?;
            let mut failed = Vec::new();
            for r in &results {
                match &r.result {
                    Ok(()) => println!(
                        "...Successfully got an update from the \"{}\" chart repository",
                        r.name
                    ),
                    Err(e) => {
                        println!(
                            "...Unable to get an update from the \"{}\" chart repository ({}):\n\t{e}",
                            r.name,
                            crate::repo::redacted(&r.url)
                        );
                        failed.push(r.name.clone());
                    }
                }
            }
            if !failed.is_empty() {
                bail!(
                    "failed to update the following repositories: [{}]",
                    failed.join(" ")
                );
            }
            println!("Update Complete. ⎈Happy Helming!⎈");
        }
        RepoCmd::Remove { names } => {
            action::repo_remove::repo_remove(&names, settings)?;
            for n in names {
                println!("\"{n}\" has been removed from your repositories");
            }
        }
        RepoCmd::Index(args) => {
            let index = action::repo_index::repo_index(&action::repo_index::RepoIndexOptions {
                dir: args.dir,
                url: args.url,
                merge: args.merge,
            })?;
            for w in &index.warnings {
                eprintln!("WARNING: {w}");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn search(args: SearchRepoArgs, settings: &RepoSettings) -> Result<ExitCode> {
    let opts = action::search::SearchOptions {
        keyword: args.keyword,
        version: args.version,
        versions: args.versions,
        devel: args.devel,
        regexp: args.regexp,
    };
    let (results, warnings) = action::search::search_repo(&opts, settings)?;
    for w in warnings {
        eprintln!("WARNING: {w}");
    }
    if results.is_empty() && args.fail_on_no_result {
        match &opts.keyword {
            Some(keyword) => bail!("no results found for {keyword:?}"),
            None => bail!("no results found"),
        }
    }
    print!(
        "{}",
        action::search::render(&results, args.format.output, args.max_col_width)
    );
    Ok(ExitCode::SUCCESS)
}

fn pull(args: PullArgs, settings: &RepoSettings) -> Result<ExitCode> {
    let locate = args.chart_path.locate_options();
    let opts = action::pull::PullOptions {
        reference: args.chart,
        locate,
        destination: args.destination,
        untar: args.untar,
        untardir: args.untardir,
    };
    let outcome = runtime()?.block_on(action::pull::pull(&opts, settings))?;
    if let Some((shown, digest)) = outcome.oci {
        println!("Pulled: {shown}\nDigest: {digest}");
    }
    Ok(ExitCode::SUCCESS)
}

fn push(args: PushArgs, settings: &RepoSettings) -> Result<ExitCode> {
    let opts = args.connection.registry(args.plain_http);
    let pushed = runtime()?.block_on(action::push::push(
        &args.chart,
        &args.remote,
        &opts,
        settings,
    ))?;
    println!(
        "Pushed: {}\nDigest: {}",
        pushed.reference, pushed.manifest_digest
    );
    Ok(ExitCode::SUCCESS)
}

fn registry(cmd: RegistryCmd, settings: &RepoSettings) -> Result<ExitCode> {
    match cmd {
        RegistryCmd::Login(args) => {
            let password = match (args.password, args.password_stdin) {
                (_, true) => read_stdin_password()?,
                (Some(p), false) => p,
                (None, false) => bail!("password required: pass --password or --password-stdin"),
            };
            let Some(username) = args.username else {
                bail!("username required: pass --username");
            };
            let opts = RegistryOptions {
                plain_http: args.plain_http,
                insecure_skip_tls_verify: args.insecure,
                ca_file: args.ca_file,
                cert_file: args.cert_file,
                key_file: args.key_file,
                username: None,
                password: None,
            };
            runtime()?.block_on(action::registry::login(
                &args.host, &username, &password, &opts, settings,
            ))?;
            println!("Login Succeeded");
        }
        RegistryCmd::Logout { host } => {
            action::registry::logout(&host, settings)?;
            println!("Removing login credentials for {host}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn dependency(cmd: DependencyCmd, settings: &RepoSettings) -> Result<ExitCode> {
    use action::dependency;
    match cmd {
        DependencyCmd::Update(args) => {
            let report = runtime()?.block_on(dependency::update(&args.options(), settings))?;
            print!("{report}");
        }
        DependencyCmd::Build(args) => {
            let report = runtime()?.block_on(dependency::build(&args.options(), settings))?;
            print!("{report}");
        }
        DependencyCmd::List(args) => {
            print!("{}", dependency::list(&args.chart, args.max_col_width)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::{Cli, Command, ShowCommand, diff, release};
    use clap::Parser as _;

    /// The chart path options of every command that takes a chart, parsed from the same
    /// flags.
    fn chart_path_of(command: &[&str]) -> ChartPathArgs {
        let flags = [
            "--version",
            "^1",
            "--repo",
            "https://charts.example.test",
            "--plain-http",
            "--username",
            "u",
            "--password",
            "p",
            "--ca-file",
            "ca.pem",
            "--pass-credentials",
        ];
        let args: Vec<&str> = ["rudder"]
            .iter()
            .chain(command)
            .chain(&flags)
            .copied()
            .collect();
        let cli = Cli::try_parse_from(&args).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        match cli.command {
            Command::Template(a) => a.chart_path,
            Command::Show(ShowCommand::Values(a)) => a.chart_path,
            Command::Repo(RepoCommands::Pull(a)) => a.chart_path,
            Command::Release(release::ReleaseCommand::Install(a)) => a.deploy.chart_path,
            Command::Release(release::ReleaseCommand::Upgrade(a)) => a.deploy.chart_path,
            Command::Diff(diff::DiffArgs {
                command: diff::DiffCommand::Upgrade(a),
            }) => a.chart_path,
            other => panic!("unexpected command {other:?}"),
        }
    }

    #[test]
    fn every_command_taking_a_chart_has_the_same_chart_path_options() {
        let commands: [&[&str]; 6] = [
            &["template", "web", "shop"],
            &["show", "values", "shop"],
            &["pull", "shop"],
            &["install", "web", "shop"],
            &["upgrade", "web", "shop"],
            &["diff", "upgrade", "web", "shop"],
        ];
        let expected = chart_path_of(commands[0]).locate_options();
        assert_eq!(expected.version.as_deref(), Some("^1"));
        assert_eq!(
            expected.repo_url.as_deref(),
            Some("https://charts.example.test")
        );
        assert!(expected.registry.plain_http);
        assert_eq!(expected.registry.username.as_deref(), Some("u"));
        let http = expected
            .http
            .clone()
            .expect("credentials make HTTP options");
        assert_eq!(http.password.as_deref(), Some("p"));
        assert!(http.pass_credentials_all);
        assert_eq!(http.ca_file, Some(PathBuf::from("ca.pem")));
        for command in &commands[1..] {
            assert_eq!(
                chart_path_of(command).locate_options(),
                expected,
                "{command:?}"
            );
        }
    }

    #[test]
    fn devel_means_any_version_unless_one_is_given() {
        let devel = ChartPathArgs {
            devel: true,
            ..ChartPathArgs::default()
        };
        assert_eq!(devel.locate_options().constraint(), Some(">0.0.0-0"));
        let pinned = ChartPathArgs {
            version: Some("1.2.3".into()),
            ..devel
        };
        assert_eq!(pinned.locate_options().constraint(), Some("1.2.3"));
        let plain = ChartPathArgs::default().locate_options();
        assert_eq!(plain.constraint(), None);
        assert_eq!(plain.http, None, "no flags, no per-command HTTP options");
    }
}

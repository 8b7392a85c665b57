//! `rudder dependency update|build|list CHART`: the chart's `Chart.yaml` dependencies
//! (repository as a URL, `@alias`/`alias:` of a configured repository, `oci://…` or
//! `file://…`). `update` resolves each constraint against the repository, downloads the
//! packages into `charts/` and writes `Chart.lock` (with helm's digest of the
//! requirements, so helm accepts the lock); `build` re-downloads exactly what `Chart.lock`
//! pins; `list` shows each dependency as ok, missing, wrong version or unpacked. Every
//! download is checked before anything in `charts/` or `Chart.lock` changes.

use crate::chart::constraint::{parse_constraint, parse_lenient_version};
use crate::chart::{self, Dependency, Metadata};
use crate::registry::RegistryOptions;
use crate::repo::http::{self, parse_url};
use crate::repo::index::{resolve_chart_url, url_join};
use crate::repo::{
    HttpOptions, IndexFile, RepoEntry, RepoError, RepoFile, RepoSettings, sha256_hex, write_atomic,
};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What `dependency update`/`build` was asked to do.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DependencyOptions {
    /// The chart directory.
    pub chart: PathBuf,
    /// Use the cached indexes of configured repositories instead of refreshing them.
    pub skip_refresh: bool,
    /// How to reach `oci://` dependencies.
    pub registry: RegistryOptions,
}

/// One pinned dependency of `Chart.lock`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LockedDependency {
    pub name: String,
    pub version: String,
    #[serde(default)]
    pub repository: String,
}

/// Where a dependency comes from.
enum Source {
    /// Already in `charts/` (no repository).
    Vendored,
    /// A chart directory (`file://`).
    Local(PathBuf),
    /// An HTTP repository: its URL and the credentials/TLS to use.
    Index {
        url: String,
        http: Box<HttpOptions>,
        configured: Option<String>,
    },
    /// An OCI registry path; the chart is `<path>/<name>`.
    Oci(String),
}

fn read_metadata(chart_dir: &Path) -> Result<Metadata, RepoError> {
    let file = chart_dir.join("Chart.yaml");
    if !chart_dir.is_dir() {
        return Err(RepoError::InvalidArgument(format!(
            "{} is not a chart directory",
            chart_dir.display()
        )));
    }
    let text = std::fs::read_to_string(&file).map_err(|e| RepoError::read(&file, e))?;
    serde_yaml::from_str(&text)
        .map_err(|e| RepoError::InvalidArgument(format!("invalid YAML in {}: {e}", file.display())))
}

fn source_of(dep: &Dependency, chart_dir: &Path, repos: &RepoFile) -> Result<Source, RepoError> {
    let repo = dep.repository.trim();
    if repo.is_empty() {
        return Ok(Source::Vendored);
    }
    if let Some(path) = repo.strip_prefix("file://") {
        let p = Path::new(path);
        return Ok(Source::Local(if p.is_absolute() {
            p.to_path_buf()
        } else {
            chart_dir.join(p)
        }));
    }
    if repo.starts_with("oci://") {
        return Ok(Source::Oci(repo.trim_end_matches('/').to_string()));
    }
    let alias = repo
        .strip_prefix('@')
        .or_else(|| repo.strip_prefix("alias:"));
    if let Some(alias) = alias {
        let entry = repos.get(alias).ok_or_else(|| {
            RepoError::InvalidArgument(format!(
                "dependency \"{}\" uses repository \"{repo}\", but no repository named \"{alias}\" is configured: add it with `rudder repo add {alias} URL`",
                dep.name
            ))
        })?;
        return Ok(index_source(entry));
    }
    if repo.starts_with("http://") || repo.starts_with("https://") {
        return Ok(match repos.find_by_url(repo) {
            Some(entry) => index_source(entry),
            None => Source::Index {
                url: repo.to_string(),
                http: Box::default(),
                configured: None,
            },
        });
    }
    Err(RepoError::InvalidArgument(format!(
        "dependency \"{}\" has repository \"{repo}\", which is neither a URL, an @alias, oci:// nor file://",
        dep.name
    )))
}

fn index_source(entry: &RepoEntry) -> Source {
    Source::Index {
        url: entry.url.clone(),
        http: Box::new(entry.http_options()),
        configured: Some(entry.name.clone()),
    }
}

/// Loads (refreshing unless told not to) the index of each HTTP repository in use.
async fn indexes(
    sources: &[Source],
    opts: &DependencyOptions,
    settings: &RepoSettings,
    report: &mut String,
) -> Result<BTreeMap<String, IndexFile>, RepoError> {
    let mut out = BTreeMap::new();
    let mut announced = false;
    for source in sources {
        let Source::Index {
            url,
            http: http_opts,
            configured,
        } = source
        else {
            continue;
        };
        if out.contains_key(url) {
            continue;
        }
        let index = match configured {
            Some(name) if opts.skip_refresh => {
                crate::repo::IndexFile::load(&settings.index_path(name)).map_err(|e| {
                    RepoError::InvalidArgument(format!(
                        "no usable cached index for repository \"{name}\" ({e}): run `rudder repo update {name}`"
                    ))
                })?
            }
            _ => {
                if !announced {
                    report.push_str(
                        "Hang tight while we grab the latest from your chart repositories...\n",
                    );
                    announced = true;
                }
                let index_url = parse_url(&url_join(url.trim_end_matches('/'), "index.yaml"))?;
                let bytes = http::get(&index_url, http_opts).await?;
                let index = IndexFile::parse(&bytes, index_url.as_str())?;
                if let Some(name) = configured {
                    super::repo_update::cache_index(settings, name, &bytes, &index)?;
                    let _ = writeln!(
                        report,
                        "...Successfully got an update from the \"{name}\" chart repository"
                    );
                }
                index
            }
        };
        out.insert(url.clone(), index);
    }
    if announced {
        report.push_str("Update Complete. ⎈Happy Helming!⎈\n");
    }
    Ok(out)
}

/// A downloaded dependency, ready to be written into `charts/`.
struct Download {
    file_name: String,
    bytes: Vec<u8>,
    locked: LockedDependency,
}

fn matches(constraint: &str, version: &str) -> Result<bool, RepoError> {
    let text = if constraint.trim().is_empty() {
        "*"
    } else {
        constraint
    };
    let c = parse_constraint(text)?;
    Ok(parse_lenient_version(version)
        .map(|v| c.matches(&v))
        .unwrap_or(false))
}

/// Resolves `dep` (constraint `wanted`) from its source and downloads it.
async fn fetch(
    dep: &Dependency,
    wanted: &str,
    source: &Source,
    indexes: &BTreeMap<String, IndexFile>,
    opts: &DependencyOptions,
    settings: &RepoSettings,
) -> Result<Option<Download>, RepoError> {
    let locked = |version: String| LockedDependency {
        name: dep.name.clone(),
        version,
        repository: dep.repository.clone(),
    };
    match source {
        Source::Vendored => {
            let dir = opts.chart.join("charts").join(&dep.name);
            if !dir.is_dir() {
                return Err(RepoError::InvalidArgument(format!(
                    "directory {} not found: dependency \"{}\" declares no repository, so it must be vendored there",
                    dir.display(),
                    dep.name
                )));
            }
            Ok(None)
        }
        Source::Local(dir) => {
            let local = chart::load_dir(dir).map_err(|e| {
                RepoError::InvalidArgument(format!(
                    "dependency \"{}\" points to {}, which is not a loadable chart: {e}",
                    dep.name, dep.repository
                ))
            })?;
            if !matches(wanted, &local.metadata.version)? {
                return Err(RepoError::NoMatchingVersion {
                    chart: dep.name.clone(),
                    origin: dep.repository.clone(),
                    constraint: wanted.to_string(),
                    available: vec![local.metadata.version.clone()],
                });
            }
            let (file_name, bytes) = chart::archive::package_bytes(dir, None, None)?;
            Ok(Some(Download {
                file_name,
                bytes,
                locked: locked(local.metadata.version),
            }))
        }
        Source::Index { url, http: h, .. } => {
            let index = &indexes[url];
            let origin = format!("repository {url}");
            let versions =
                index
                    .entries
                    .get(&dep.name)
                    .ok_or_else(|| RepoError::ChartNotFound {
                        origin: format!("repository {url}"),
                        chart: dep.name.clone(),
                    })?;
            let mut chosen = None;
            for cv in versions {
                if matches(wanted, cv.version())? {
                    chosen = Some(cv);
                    break;
                }
            }
            let cv = chosen.ok_or_else(|| RepoError::NoMatchingVersion {
                chart: dep.name.clone(),
                origin,
                constraint: wanted.to_string(),
                available: versions.iter().map(|v| v.version().to_string()).collect(),
            })?;
            let first = cv.urls.first().ok_or_else(|| RepoError::InvalidIndex {
                origin: url.clone(),
                reason: format!("chart {} {} has no download URL", cv.name(), cv.version()),
            })?;
            let chart_url = resolve_chart_url(url, first)?;
            let bytes = http::get(&chart_url, h).await?;
            let digest = sha256_hex(&bytes);
            if let Some(expected) = cv.expected_digest()
                && !expected.eq_ignore_ascii_case(&digest)
            {
                return Err(RepoError::DigestMismatch {
                    url: chart_url.to_string(),
                    expected: expected.to_string(),
                    actual: digest,
                });
            }
            let loaded = chart::load_archive(&bytes, chart_url.as_str())?;
            check_name(dep, &loaded, chart_url.as_str())?;
            // An `@alias` is locked as the repository's URL, as helm does.
            let mut pinned = locked(cv.version().to_string());
            if dep.repository.starts_with('@') || dep.repository.starts_with("alias:") {
                pinned.repository = url.clone();
            }
            Ok(Some(Download {
                file_name: format!("{}-{}.tgz", loaded.metadata.name, loaded.metadata.version),
                bytes,
                locked: pinned,
            }))
        }
        Source::Oci(base) => {
            let reference = format!("{base}/{}", dep.name);
            let version = if wanted.trim().is_empty() {
                None
            } else {
                Some(wanted)
            };
            let pulled = crate::registry::pull(
                &reference,
                version,
                &opts.registry,
                &settings.registry_config,
            )
            .await?;
            let loaded = chart::load_archive(&pulled.bytes, &pulled.source)?;
            check_name(dep, &loaded, &pulled.source)?;
            Ok(Some(Download {
                file_name: format!("{}-{}.tgz", loaded.metadata.name, loaded.metadata.version),
                bytes: pulled.bytes,
                locked: locked(loaded.metadata.version.clone()),
            }))
        }
    }
}

/// Fails when a repository served another chart than the dependency names.
fn check_name(dep: &Dependency, loaded: &chart::Chart, source: &str) -> Result<(), RepoError> {
    if loaded.name() == dep.name {
        return Ok(());
    }
    Err(RepoError::InvalidArgument(format!(
        "dependency \"{}\" downloaded from {source} is a chart named \"{}\"",
        dep.name,
        loaded.name()
    )))
}

/// helm's `HashReq`: sha256 over the JSON of `[requirements, locked]`, Go-escaped.
pub fn lock_digest(requirements: &[Dependency], locked: &[LockedDependency]) -> String {
    #[derive(serde::Serialize)]
    struct GoLocked<'a> {
        name: &'a str,
        version: &'a str,
        repository: &'a str,
    }
    let locked: Vec<GoLocked> = locked
        .iter()
        .map(|l| GoLocked {
            name: &l.name,
            version: &l.version,
            repository: &l.repository,
        })
        .collect();
    let json = serde_json::to_string(&(requirements, locked)).expect("dependencies serialize");
    // Go's encoding/json escapes these inside strings.
    let json = json
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026");
    format!("sha256:{}", sha256_hex(json.as_bytes()))
}

fn write_charts(
    chart_dir: &Path,
    downloads: &[Download],
    deps: &[Dependency],
) -> Result<(), RepoError> {
    let charts = chart_dir.join("charts");
    std::fs::create_dir_all(&charts).map_err(|e| RepoError::write(&charts, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".rudder-deps-")
        .tempdir_in(&charts)
        .map_err(|e| RepoError::write(&charts, e))?;
    for d in downloads {
        let path = staging.path().join(&d.file_name);
        std::fs::write(&path, &d.bytes).map_err(|e| RepoError::write(&path, e))?;
    }
    // Outdated packages of these dependencies go; unpacked directories stay.
    let entries = std::fs::read_dir(&charts).map_err(|e| RepoError::read(&charts, e))?;
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if !name.ends_with(".tgz") || !path.is_file() {
            continue;
        }
        // A package is outdated when it is one of the charts being written (by name);
        // vendored charts (no repository) and unreadable files are left alone.
        let managed = |chart_name: &str| {
            deps.iter()
                .any(|d| d.name == chart_name && !d.repository.trim().is_empty())
        };
        let stale = downloads.iter().any(|d| d.file_name == name)
            || chart::load(&path).is_ok_and(|c| managed(c.name()));
        if stale {
            std::fs::remove_file(&path).map_err(|e| RepoError::write(&path, e))?;
        }
    }
    for d in downloads {
        let target = charts.join(&d.file_name);
        std::fs::rename(staging.path().join(&d.file_name), &target)
            .map_err(|e| RepoError::write(&target, e))?;
    }
    Ok(())
}

/// The requirements as helm hashes them: `@alias` repositories replaced by their URLs.
fn hashed_requirements(deps: &[Dependency], repos: &RepoFile) -> Vec<Dependency> {
    deps.iter()
        .map(|d| {
            let mut d = d.clone();
            let alias = d
                .repository
                .strip_prefix('@')
                .or_else(|| d.repository.strip_prefix("alias:"));
            if let Some(entry) = alias.and_then(|a| repos.get(a)) {
                d.repository = entry.url.clone();
            }
            d
        })
        .collect()
}

fn lock_yaml(deps: &[Dependency], locked: &[LockedDependency]) -> String {
    let value = serde_json::json!({
        "dependencies": locked,
        "digest": lock_digest(deps, locked),
        "generated": crate::repo::go_time_now(),
    });
    crate::output::yaml(&value)
}

/// `dependency update`: resolves, downloads, and writes `charts/` and `Chart.lock`.
pub async fn update(
    opts: &DependencyOptions,
    settings: &RepoSettings,
) -> Result<String, RepoError> {
    let metadata = read_metadata(&opts.chart)?;
    let deps = metadata.dependencies.clone();
    let repos = RepoFile::load(&settings.repository_config)?;
    let sources = deps
        .iter()
        .map(|d| source_of(d, &opts.chart, &repos))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = String::new();
    let indexes = indexes(&sources, opts, settings, &mut report).await?;
    let mut downloads = Vec::new();
    let mut locked = Vec::new();
    for (dep, source) in deps.iter().zip(&sources) {
        match fetch(dep, &dep.version, source, &indexes, opts, settings).await? {
            Some(d) => {
                locked.push(d.locked.clone());
                downloads.push(d);
            }
            None => {
                let _ = writeln!(
                    report,
                    "Dependency {} did not declare a repository. Assuming it exists in the charts directory",
                    dep.name
                );
                locked.push(LockedDependency {
                    name: dep.name.clone(),
                    version: dep.version.clone(),
                    repository: dep.repository.clone(),
                })
            }
        }
    }
    let _ = writeln!(report, "Saving {} charts", downloads.len());
    for (d, dep) in downloads
        .iter()
        .zip(deps.iter().filter(|d| !d.repository.is_empty()))
    {
        let _ = writeln!(
            report,
            "Downloading {} from repo {}",
            d.locked.name, dep.repository
        );
    }
    write_charts(&opts.chart, &downloads, &deps)?;
    report.push_str("Deleting outdated charts\n");
    if !deps.is_empty() {
        write_atomic(
            &opts.chart.join("Chart.lock"),
            lock_yaml(&hashed_requirements(&deps, &repos), &locked).as_bytes(),
            false,
        )?;
    }
    Ok(report)
}

/// Reads `Chart.lock`: its dependencies and digest.
fn read_lock(chart_dir: &Path) -> Result<Option<(Vec<LockedDependency>, String)>, RepoError> {
    let path = chart_dir.join("Chart.lock");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(RepoError::read(&path, e)),
    };
    #[derive(serde::Deserialize)]
    struct Lock {
        #[serde(default)]
        dependencies: Vec<LockedDependency>,
        #[serde(default)]
        digest: String,
    }
    let lock: Lock = serde_yaml::from_str(&text).map_err(|e| {
        RepoError::InvalidArgument(format!("invalid YAML in {}: {e}", path.display()))
    })?;
    Ok(Some((lock.dependencies, lock.digest)))
}

/// `dependency build`: downloads exactly the versions `Chart.lock` pins (or runs `update`
/// when there is no lock).
pub async fn build(opts: &DependencyOptions, settings: &RepoSettings) -> Result<String, RepoError> {
    let metadata = read_metadata(&opts.chart)?;
    let Some((locked, digest)) = read_lock(&opts.chart)? else {
        let mut report = String::from("No Chart.lock file found, running dependency update\n");
        report.push_str(&update(opts, settings).await?);
        return Ok(report);
    };
    let repos = RepoFile::load(&settings.repository_config)?;
    let deps = hashed_requirements(&metadata.dependencies, &repos);
    if lock_digest(&deps, &locked) != digest {
        return Err(RepoError::InvalidArgument(format!(
            "the lock file ({}) is out of sync with the dependencies file ({}): run `rudder dependency update`",
            opts.chart.join("Chart.lock").display(),
            opts.chart.join("Chart.yaml").display()
        )));
    }
    let as_deps: Vec<Dependency> = locked
        .iter()
        .map(|l| Dependency {
            name: l.name.clone(),
            version: l.version.clone(),
            repository: l.repository.clone(),
            ..Dependency::default()
        })
        .collect();
    let sources = as_deps
        .iter()
        .map(|d| source_of(d, &opts.chart, &repos))
        .collect::<Result<Vec<_>, _>>()?;
    let mut report = String::new();
    let indexes = indexes(&sources, opts, settings, &mut report).await?;
    let mut downloads = Vec::new();
    for (dep, source) in as_deps.iter().zip(&sources) {
        if let Some(d) = fetch(dep, &dep.version, source, &indexes, opts, settings).await? {
            downloads.push(d);
        }
    }
    let _ = writeln!(report, "Saving {} charts", downloads.len());
    for d in &downloads {
        let _ = writeln!(
            report,
            "Downloading {} from repo {}",
            d.locked.name, d.locked.repository
        );
    }
    write_charts(&opts.chart, &downloads, &as_deps)?;
    report.push_str("Deleting outdated charts\n");
    Ok(report)
}

/// The state of one dependency in `charts/`, as `dependency list` shows it.
pub fn status(chart_dir: &Path, dep: &Dependency) -> String {
    let charts = chart_dir.join("charts");
    let prefix = format!("{}-", dep.name);
    let archives: Vec<PathBuf> = std::fs::read_dir(&charts)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.file_name().is_some_and(|n| {
                    let n = n.to_string_lossy();
                    n.starts_with(&prefix) && n.ends_with(".tgz")
                })
        })
        .collect();
    let check = |c: &chart::Chart, found: &str| -> String {
        if c.metadata.name != dep.name {
            return "misnamed".into();
        }
        match matches(&dep.version, &c.metadata.version) {
            Ok(true) => found.into(),
            Ok(false) => "wrong version".into(),
            Err(_) => "invalid version".into(),
        }
    };
    match archives.len() {
        0 => {}
        1 => {
            return match chart::load(&archives[0]) {
                Ok(c) => check(&c, "ok"),
                Err(_) => "corrupt".into(),
            };
        }
        _ => return "too many matches".into(),
    }
    let dir = charts.join(&dep.name);
    if dir.is_dir() {
        return match chart::load_dir(&dir) {
            Ok(c) => check(&c, "unpacked"),
            Err(_) => "corrupt".into(),
        };
    }
    "missing".into()
}

/// `dependency list`: a table of each dependency and its status.
pub fn list(chart_dir: &Path, max_col_width: usize) -> Result<String, RepoError> {
    let metadata = read_metadata(chart_dir)?;
    if metadata.dependencies.is_empty() {
        return Ok(format!(
            "WARNING: no dependencies at {}\n",
            chart_dir.join("charts").display()
        ));
    }
    let mut rows = vec![vec![
        "NAME".to_string(),
        "VERSION".to_string(),
        "REPOSITORY".to_string(),
        "STATUS".to_string(),
    ]];
    for dep in &metadata.dependencies {
        rows.push(vec![
            dep.name.clone(),
            dep.version.clone(),
            dep.repository.clone(),
            status(chart_dir, dep),
        ]);
    }
    let mut out = crate::output::table(&rows, Some(max_col_width));
    out.push('\n');
    Ok(out)
}

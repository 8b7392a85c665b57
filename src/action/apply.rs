//! `rudder apply -f releases.yaml`: many releases from one file, for CI deploy steps (what
//! helmfile does over helm). The file names environments, repositories and releases:
//!
//! ```yaml
//! env: [TAG]                       # process variables templates may read
//! environments: {prod: {values: [env/prod.yaml]}}
//! repositories: [{name: stable, url: https://charts.example.com}]
//! releases:
//!   - {name: db, namespace: data, chart: ./charts/postgres, values: [db.yaml]}
//!   - {name: api, namespace: apps, chart: stable/api, version: ~1.4, needs: [data/db],
//!      labels: {tier: backend}, set: {image.tag: "{{ env.TAG }}"}}
//! ```
//!
//! [`plan`] reads the file, templates its strings (tera, seeing only `environment.name`,
//! `environment.values` and the process variables listed under `env`), selects releases by
//! label, checks the `needs` graph (unknown names and cycles are errors) and diffs every
//! release as `rudder diff upgrade` would. [`execute`] then upgrades (`--install`) the
//! releases that change, in graph order and independent ones in parallel, skipping the
//! dependents of a release that failed; [`destroy`] uninstalls in reverse order.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use futures::StreamExt as _;
use serde::Deserialize;

use crate::action::config::Configuration;
use crate::action::diff::{DiffSettings, diff_upgrade};
use crate::action::install::DeployOptions;
use crate::action::lifecycle::{ApplySettings, ReleaseError};
use crate::action::uninstall::{UninstallOptions, uninstall};
use crate::action::upgrade::upgrade_or_install;
use crate::diff::{Report, SecretMode};
use crate::repo::{LocateOptions, RepoSettings};
use crate::values::{ValueOptions, ValueSource};

/// The releases file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleasesFile {
    /// Process environment variables the file's templates may read (`{{ env.NAME }}`).
    #[serde(default)]
    pub env: Vec<String>,
    #[serde(default)]
    pub environments: BTreeMap<String, EnvironmentSpec>,
    #[serde(default)]
    pub repositories: Vec<RepositorySpec>,
    #[serde(default)]
    pub releases: Vec<ReleaseSpec>,
}

/// An environment: values files for the file's templates (`environment.values`), as
/// helmfile's (they are not passed to charts).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvironmentSpec {
    #[serde(default)]
    pub values: Vec<String>,
}

/// A chart repository releases refer to as `NAME/chart`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositorySpec {
    pub name: String,
    pub url: String,
}

/// One release of the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReleaseSpec {
    pub name: String,
    pub namespace: Option<String>,
    /// A directory or archive (relative to the file), `REPO/chart`, or `oci://…`.
    pub chart: String,
    pub version: Option<String>,
    /// Values files (relative to the file), in order.
    #[serde(default)]
    pub values: Vec<String>,
    /// `--set` values, by path.
    #[serde(default)]
    pub set: BTreeMap<String, serde_yaml::Value>,
    /// Releases (`namespace/name`, or `name` in the same namespace) deployed first.
    #[serde(default)]
    pub needs: Vec<String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// `--create-namespace` (default true, as helmfile's).
    #[serde(default, rename = "createNamespace")]
    pub create_namespace: Option<bool>,
}

/// What `rudder apply` was asked.
#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    pub file: PathBuf,
    /// `--env` (helmfile's `default` when not given).
    pub environment: Option<String>,
    /// `--selector k=v,k2=v2`, repeatable: a release is selected when all pairs of any one
    /// selector match its labels (and its name as the label `name`).
    pub selectors: Vec<String>,
    /// `--concurrency`: releases worked on at once (0: 8).
    pub concurrency: usize,
    pub settings: ApplySettings,
}

/// A release of the file, ready to diff and deploy.
#[derive(Debug, Clone)]
pub struct PlannedRelease {
    pub namespace: String,
    pub name: String,
    /// The chart as the file names it.
    pub chart: String,
    pub deploy: DeployOptions,
    /// Indices (into the plan's releases) of the releases it needs.
    pub needs: Vec<usize>,
    /// What upgrading it would change (None with `destroy` plans).
    pub diff: Option<Report>,
}

impl PlannedRelease {
    /// `namespace/name`.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }
}

/// The selected releases of a file, in the file's order, with their diffs.
#[derive(Debug, Default)]
pub struct Plan {
    pub releases: Vec<PlannedRelease>,
}

impl Plan {
    /// Objects added, changed and removed over every release.
    pub fn counts(&self) -> (usize, usize, usize) {
        self.releases
            .iter()
            .filter_map(|r| r.diff.as_ref())
            .map(Report::counts)
            .fold((0, 0, 0), |t, c| (t.0 + c.0, t.1 + c.1, t.2 + c.2))
    }
}

/// How one release ended.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Outcome {
    pub namespace: String,
    pub name: String,
    pub chart: String,
    /// `deployed`, `unchanged`, `failed`, `skipped`, `uninstalled`, `not installed`.
    pub status: String,
    /// The revision written, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub revision: Option<u64>,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub reason: String,
}

impl Outcome {
    /// Whether this release failed.
    pub fn failed(&self) -> bool {
        self.status == "failed"
    }
}

/// Reads `opts.file`, selects and orders its releases, and (unless `destroying`) diffs each
/// against the cluster. Every problem of the file is an error naming it.
pub async fn plan(
    config: &Configuration,
    opts: &ApplyOptions,
    destroying: bool,
) -> Result<Plan, ReleaseError> {
    let file = &opts.file;
    let invalid = |what: String| ReleaseError::Invalid(format!("{}: {what}", file.display()));
    let text = std::fs::read_to_string(file).map_err(|e| invalid(e.to_string()))?;
    let spec: ReleasesFile = serde_yaml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
    let base = file.parent().unwrap_or(Path::new("."));
    let environment = opts.environment.as_deref().unwrap_or("default");
    let context =
        template_context(&spec, environment, opts.environment.is_some(), base).map_err(invalid)?;
    let render =
        |field: &str, s: &str| template(s, &context).map_err(|e| invalid(format!("{field}: {e}")));
    let repositories: BTreeMap<&str, &str> = spec
        .repositories
        .iter()
        .map(|r| (r.name.as_str(), r.url.as_str()))
        .collect();
    // Every release's namespace, selected or not: `needs` may name any release of the file.
    let mut namespaces = Vec::new();
    for r in &spec.releases {
        namespaces.push(match &r.namespace {
            Some(ns) => render(&format!("release {:?} namespace", r.name), ns)?,
            None => config.storage.namespace().to_string(),
        });
    }
    let all: BTreeSet<String> = spec
        .releases
        .iter()
        .zip(&namespaces)
        .map(|(r, ns)| format!("{ns}/{}", r.name))
        .collect();
    let mut releases = Vec::new();
    for (r, namespace) in spec.releases.iter().zip(namespaces) {
        if !selected(r, &opts.selectors) {
            continue;
        }
        let at = |field: &str| format!("release {:?} {field}", r.name);
        let chart_ref = render(&at("chart"), &r.chart)?;
        let version = r
            .version
            .as_deref()
            .map(|v| render(&at("version"), v))
            .transpose()?;
        let mut sources = Vec::new();
        for v in &r.values {
            sources.push(ValueSource::File(base.join(render(&at("values"), v)?)));
        }
        for (key, value) in &r.set {
            let value = match value {
                serde_yaml::Value::String(s) => {
                    serde_json::Value::String(render(&at(&format!("set {key}")), s)?)
                }
                other => serde_json::to_value(other).map_err(|e| invalid(e.to_string()))?,
            };
            sources.push(ValueSource::SetJson(format!("{key}={value}")));
        }
        let deploy = DeployOptions {
            name: r.name.clone(),
            chart: PathBuf::from(&chart_ref),
            values: ValueOptions { sources },
            create_namespace: r.create_namespace.unwrap_or(true),
            settings: opts.settings.clone(),
            install: true,
            history_max: 10,
            ..Default::default()
        };
        releases.push((r, namespace, chart_ref, version, deploy));
    }
    // needs → indices; every need must name a release of the file.
    let ids: Vec<String> = releases
        .iter()
        .map(|(r, ns, ..)| format!("{ns}/{}", r.name))
        .collect();
    let mut planned = Vec::new();
    for (r, namespace, chart_ref, version, mut deploy) in releases {
        let mut needs = Vec::new();
        for need in &r.needs {
            let id = if need.contains('/') {
                need.clone()
            } else {
                format!("{namespace}/{need}")
            };
            match ids.iter().position(|i| *i == id) {
                Some(i) => needs.push(i),
                // A release left out by the selector is assumed in place (helmfile's
                // default without --include-needs).
                None if all.contains(&id) => {}
                None => {
                    return Err(invalid(format!(
                        "release {namespace}/{} needs {id}, which the file does not define",
                        r.name
                    )));
                }
            }
        }
        if !destroying {
            deploy.chart = locate(&chart_ref, version, &repositories, base)
                .await
                .map_err(|e| invalid(format!("release {namespace}/{}: {e}", r.name)))?;
        }
        planned.push(PlannedRelease {
            namespace,
            name: r.name.clone(),
            chart: chart_ref,
            deploy,
            needs,
            diff: None,
        });
    }
    check_acyclic(&planned).map_err(invalid)?;
    let mut plan = Plan { releases: planned };
    if !destroying {
        diff_all(config, &mut plan, opts).await?;
    }
    Ok(plan)
}

/// Upgrades (installing when needed) every release of the plan that changes, in `needs`
/// order with up to `concurrency` at once; a release whose needs failed is skipped.
pub async fn execute(config: &Configuration, plan: &Plan, opts: &ApplyOptions) -> Vec<Outcome> {
    run_in_order(plan, opts, false, |r| {
        let config = config.in_namespace(&r.namespace);
        async move {
            if r.diff.as_ref().is_some_and(|d| !d.has_changes()) {
                return outcome(r, "unchanged", None, String::new());
            }
            match upgrade_or_install(&config, &r.deploy).await {
                (_, Ok(release)) => outcome(r, "deployed", Some(release.version), String::new()),
                (_, Err(e)) => outcome(r, "failed", None, e.to_string()),
            }
        }
    })
    .await
}

/// Uninstalls every release of the plan, dependents before what they need.
pub async fn destroy(config: &Configuration, plan: &Plan, opts: &ApplyOptions) -> Vec<Outcome> {
    run_in_order(plan, opts, true, |r| {
        let config = config.in_namespace(&r.namespace);
        async move {
            let uninstalling = UninstallOptions {
                name: r.name.clone(),
                settings: opts.settings.clone(),
                ..Default::default()
            };
            match uninstall(&config, &uninstalling).await {
                Ok(_) => outcome(r, "uninstalled", None, String::new()),
                Err(ReleaseError::Storage(crate::storage::StorageError::NotFound { .. })) => {
                    outcome(r, "not installed", None, String::new())
                }
                Err(e) => outcome(r, "failed", None, e.to_string()),
            }
        }
    })
    .await
}

fn outcome(r: &PlannedRelease, status: &str, revision: Option<u64>, reason: String) -> Outcome {
    Outcome {
        namespace: r.namespace.clone(),
        name: r.name.clone(),
        chart: r.chart.clone(),
        status: status.into(),
        revision,
        reason,
    }
}

/// Runs `work` on every release once what it waits for is done (its needs; `reverse`: the
/// releases needing it), up to the concurrency at once. A release whose prerequisite
/// failed or was skipped is skipped. Outcomes come in the file's order.
async fn run_in_order<'a, F, Fut>(
    plan: &'a Plan,
    opts: &ApplyOptions,
    reverse: bool,
    work: F,
) -> Vec<Outcome>
where
    F: Fn(&'a PlannedRelease) -> Fut,
    Fut: std::future::Future<Output = Outcome> + 'a,
{
    let n = plan.releases.len();
    let mut waits_for: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); n];
    for (i, r) in plan.releases.iter().enumerate() {
        for &j in &r.needs {
            if reverse {
                waits_for[j].insert(i);
            } else {
                waits_for[i].insert(j);
            }
        }
    }
    let limit = if opts.concurrency == 0 {
        8
    } else {
        opts.concurrency
    };
    let mut outcomes: Vec<Option<Outcome>> = vec![None; n];
    let mut started = vec![false; n];
    let mut running = futures::stream::FuturesUnordered::new();
    loop {
        for i in 0..n {
            if started[i] || running.len() >= limit {
                continue;
            }
            let pending = waits_for[i].iter().any(|&j| outcomes[j].is_none());
            if pending {
                continue;
            }
            started[i] = true;
            let r = &plan.releases[i];
            let blocked: Vec<String> = waits_for[i]
                .iter()
                .filter(|&&j| {
                    outcomes[j]
                        .as_ref()
                        .is_some_and(|o| o.failed() || o.status == "skipped")
                })
                .map(|&j| plan.releases[j].id())
                .collect();
            if !blocked.is_empty() {
                let why = if reverse { "needed by" } else { "needs" };
                outcomes[i] = Some(outcome(
                    r,
                    "skipped",
                    None,
                    format!("{why} {}, which did not succeed", blocked.join(", ")),
                ));
                continue;
            }
            let fut = work(r);
            running.push(async move { (i, fut.await) });
        }
        match running.next().await {
            Some((i, o)) => outcomes[i] = Some(o),
            None if outcomes.iter().all(Option::is_some) => break,
            // Skips recorded this round may have freed others: go round again.
            None => continue,
        }
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every release ran"))
        .collect()
}

/// Diffs every release, up to the concurrency at once.
async fn diff_all(
    config: &Configuration,
    plan: &mut Plan,
    opts: &ApplyOptions,
) -> Result<(), ReleaseError> {
    let settings = DiffSettings {
        field_manager: opts.settings.field_manager.clone(),
        force_conflicts: opts.settings.force_conflicts,
        take_ownership: opts.settings.take_ownership,
    };
    let limit = if opts.concurrency == 0 {
        8
    } else {
        opts.concurrency
    };
    let diffs: Vec<Result<Report, ReleaseError>> =
        futures::stream::iter(plan.releases.iter().map(|r| {
            let config = config.in_namespace(&r.namespace);
            let settings = settings.clone();
            async move {
                let pairs = diff_upgrade(&config, &r.deploy, &settings)
                    .await
                    .map_err(|e| ReleaseError::Invalid(format!("release {}: {e}", r.id())))?;
                Ok(Report::build(pairs, SecretMode::Mask))
            }
        }))
        .buffered(limit)
        .collect()
        .await;
    for (r, d) in plan.releases.iter_mut().zip(diffs) {
        r.diff = Some(d?);
    }
    Ok(())
}

/// Whether a release matches one of the selectors (all of them when there are none).
fn selected(r: &ReleaseSpec, selectors: &[String]) -> bool {
    selectors.is_empty()
        || selectors.iter().any(|selector| {
            selector
                .split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .all(|pair| {
                    let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
                    let (key, negate) = match key.strip_suffix('!') {
                        Some(k) => (k, true),
                        None => (key, false),
                    };
                    let actual = if key == "name" {
                        Some(&r.name)
                    } else {
                        r.labels.get(key)
                    };
                    (actual.map(String::as_str) == Some(value)) != negate
                })
        })
}

fn check_acyclic(releases: &[PlannedRelease]) -> Result<(), String> {
    use crate::manifest::depends::{DependsError, Graph};
    let needs = releases
        .iter()
        .map(|r| r.needs.iter().copied().collect())
        .collect();
    let ids: Vec<String> = releases.iter().map(PlannedRelease::id).collect();
    match Graph::new(needs, &ids) {
        Ok(_) => Ok(()),
        Err(DependsError::Cycle(path)) => Err(format!("needs form a cycle: {path}")),
        Err(other) => Err(other.to_string()),
    }
}

/// Finds a release's chart: `REPO/chart` of a repository of the file, a path relative to
/// the file, or anything `rudder upgrade` takes.
async fn locate(
    reference: &str,
    version: Option<String>,
    repositories: &BTreeMap<&str, &str>,
    base: &Path,
) -> Result<PathBuf, crate::repo::RepoError> {
    let settings = RepoSettings::from_env();
    let mut options = LocateOptions {
        version,
        ..Default::default()
    };
    if let Some((repo, chart)) = reference.split_once('/')
        && let Some(url) = repositories.get(repo)
        && !reference.contains("://")
    {
        options.repo_url = Some(url.to_string());
        return crate::repo::locate_chart(chart, &options, &settings).await;
    }
    let local = base.join(reference);
    if !reference.contains("://") && local.exists() {
        return Ok(local);
    }
    crate::repo::locate_chart(reference, &options, &settings).await
}

/// What the file's templates see: `environment.name`, `environment.values` (the chosen
/// environment's values files merged), and `env` (only the variables the file lists).
fn template_context(
    spec: &ReleasesFile,
    environment: &str,
    asked: bool,
    base: &Path,
) -> Result<tera::Context, String> {
    let mut values = serde_json::Value::Object(Default::default());
    match spec.environments.get(environment) {
        Some(env) => {
            for file in &env.values {
                let path = base.join(file);
                let text = std::fs::read_to_string(&path)
                    .map_err(|e| format!("environment {environment}: {}: {e}", path.display()))?;
                let more: serde_json::Value = serde_yaml::from_str(&text)
                    .map_err(|e| format!("environment {environment}: {}: {e}", path.display()))?;
                merge(&mut values, more);
            }
        }
        None if asked => {
            let known: Vec<&str> = spec.environments.keys().map(String::as_str).collect();
            return Err(format!(
                "environment {environment:?} is not defined (environments: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            ));
        }
        None => {}
    }
    let env: BTreeMap<&str, String> = spec
        .env
        .iter()
        .map(|name| (name.as_str(), std::env::var(name).unwrap_or_default()))
        .collect();
    let mut context = tera::Context::new();
    context.insert(
        "environment",
        &serde_json::json!({"name": environment, "values": values}),
    );
    context.insert("env", &env);
    Ok(context)
}

fn merge(into: &mut serde_json::Value, more: serde_json::Value) {
    match (into, more) {
        (serde_json::Value::Object(a), serde_json::Value::Object(b)) => {
            for (k, v) in b {
                merge(a.entry(k).or_insert(serde_json::Value::Null), v);
            }
        }
        (slot, v) => *slot = v,
    }
}

/// Renders one string of the file (left as it is when it holds no template).
fn template(text: &str, context: &tera::Context) -> Result<String, String> {
    if !text.contains("{{") && !text.contains("{%") {
        return Ok(text.to_string());
    }
    let mut tera = tera::Tera::default();
    tera.add_raw_template("value", text)
        .map_err(|e| format!("{text:?}: {e}"))?;
    tera.render("value", context).map_err(|e| {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(&e);
        while let Some(cause) = source {
            message = format!("{message}: {cause}");
            source = cause.source();
        }
        if message.contains("env.") {
            message.push_str(" (only the variables listed under `env:` can be read)");
        }
        format!("{text:?}: {message}")
    })
}

/// The outcomes as table rows, header first.
pub fn rows(outcomes: &[Outcome]) -> Vec<Vec<String>> {
    let mut rows = vec![vec![
        "NAMESPACE".to_string(),
        "NAME".into(),
        "CHART".into(),
        "OUTCOME".into(),
        "REASON".into(),
    ]];
    for o in outcomes {
        let status = match o.revision {
            Some(v) => format!("{} (revision {v})", o.status),
            None => o.status.clone(),
        };
        rows.push(vec![
            o.namespace.clone(),
            o.name.clone(),
            o.chart.clone(),
            status,
            o.reason.lines().next().unwrap_or("").to_string(),
        ]);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(name: &str, labels: &[(&str, &str)]) -> ReleaseSpec {
        ReleaseSpec {
            name: name.into(),
            namespace: None,
            chart: "./c".into(),
            version: None,
            values: vec![],
            set: BTreeMap::new(),
            needs: vec![],
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            create_namespace: None,
        }
    }

    #[test]
    fn selectors_match_labels_and_names_like_helmfile() {
        let api = release("api", &[("tier", "backend"), ("team", "a")]);
        let s =
            |sel: &[&str]| selected(&api, &sel.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert!(s(&[]));
        assert!(s(&["tier=backend"]));
        assert!(s(&["tier=backend,team=a"]));
        assert!(!s(&["tier=backend,team=b"]));
        assert!(
            s(&["tier=frontend", "name=api"]),
            "selectors are alternatives"
        );
        assert!(s(&["tier!=frontend"]));
        assert!(!s(&["tier!=backend"]));
    }

    #[test]
    fn templates_see_the_environment_and_only_listed_variables() {
        let spec: ReleasesFile = serde_yaml::from_str("env: [RUDDER_TEST_TAG]").unwrap();
        // SAFETY: single-threaded test setup; no other test reads this variable.
        unsafe { std::env::set_var("RUDDER_TEST_TAG", "1.2.3") };
        let context = template_context(&spec, "default", false, Path::new(".")).unwrap();
        assert_eq!(
            template("v{{ env.RUDDER_TEST_TAG }}", &context).unwrap(),
            "v1.2.3"
        );
        assert_eq!(
            template("{{ environment.name }}", &context).unwrap(),
            "default"
        );
        let err = template("{{ env.HOME }}", &context).unwrap_err();
        assert!(
            err.contains("only the variables listed under `env:` can be read"),
            "{err}"
        );
        assert_eq!(template("plain", &context).unwrap(), "plain");
        let err = template_context(&spec, "prod", true, Path::new(".")).unwrap_err();
        assert_eq!(
            err,
            "environment \"prod\" is not defined (environments: none)"
        );
    }
}

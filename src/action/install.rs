//! `rudder install NAME CHART`: render the chart, claim revision 1 (or the next revision of
//! an uninstalled release), apply its CRDs and objects in install order with hooks, and
//! record the outcome, as `helm install` does.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::json;

use crate::action::config::Configuration;
use crate::action::lifecycle::{
    self, ApplySettings, DryRun, ReleaseError, apply_all, check_ownership, prepare_rendered,
    record, render_on_cluster, validate_name,
};
use crate::action::operation::{self, Finish, Kind, Plan};
use crate::action::render::RenderedRelease;
use crate::chart;
use crate::engine::{ReleaseInfo, RenderOptions};
use crate::kube::{ApplyOptions, Cluster, ObjectRef, wait};
use crate::storage::{Release, Status, Stored};
use crate::values::{ValueOptions, Values};

/// The flags of `install` and `upgrade`.
#[derive(Debug, Clone, Default)]
pub struct DeployOptions {
    pub name: String,
    pub chart: PathBuf,
    pub values: ValueOptions,
    pub create_namespace: bool,
    pub dry_run: DryRun,
    pub description: Option<String>,
    pub settings: ApplySettings,
    /// `--atomic` / `--rollback-on-failure`.
    pub atomic: bool,
    /// install: `--replace` (re-use the name of an uninstalled or failed release).
    pub replace: bool,
    pub skip_crds: bool,
    /// upgrade: `--force-crds` (upgrade `crds/` even when the change is unsafe).
    pub force_crds: bool,
    /// upgrade: `--install`.
    pub install: bool,
    pub reuse_values: bool,
    pub reset_values: bool,
    pub reset_then_reuse_values: bool,
    /// upgrade: `--history-max` (0 = unlimited).
    pub history_max: usize,
    pub cleanup_on_fail: bool,
}

/// helm's `--generate-name`: the base name of the chart argument up to its first dot
/// (`nginx` for `repo/nginx` or `./nginx`), a dash and the Unix time in seconds.
pub fn generated_name(chart_arg: &str) -> String {
    let base = chart_arg
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    let base = base.split('.').next().unwrap_or_default();
    let base = if base.is_empty() { "chart" } else { base };
    format!("{base}-{}", chrono::Utc::now().timestamp())
}

/// `--name-template`: the release name rendered from a Go template, as helm renders it
/// (with the functions charts have, e.g. `web-{{ randAlphaNum 5 | lower }}`), checked as a
/// name.
pub fn name_from_template(template: &str) -> Result<String, ReleaseError> {
    let chart = chart::Chart {
        metadata: chart::Metadata {
            api_version: "v2".into(),
            name: "name-template".into(),
            version: "0.0.0".into(),
            ..Default::default()
        },
        lock: None,
        templates: vec![chart::ChartFile {
            name: "templates/name".into(),
            data: template.as_bytes().to_vec(),
        }],
        values: Values::new(),
        raw_values: None,
        schema: None,
        files: Vec::new(),
        dependencies: Vec::new(),
    };
    let rendered = crate::engine::render(&chart, &Values::new(), &RenderOptions::default())
        .map_err(|e| ReleaseError::Invalid(format!("invalid --name-template {template:?}: {e}")))?;
    let name = rendered
        .templates
        .first()
        .map(|t| t.content.trim().to_string())
        .unwrap_or_default();
    validate_name(&name)?;
    Ok(name)
}

/// The revision an install writes, given the release's history: 1 for a new name; the
/// next one over an uninstalled or failed release with `--replace`; otherwise the name is in
/// use, as helm says (dry runs skip the check, as in helm).
pub fn install_revision(
    name: &str,
    namespace: &str,
    history: &[Stored],
    replace: bool,
    dry_run: bool,
) -> Result<u64, ReleaseError> {
    let Some(last) = history.last() else {
        return Ok(1);
    };
    if dry_run {
        return Ok(last.release.version + 1);
    }
    operation::check_not_held(name, history)?;
    let status = last.release.info.status;
    let failed = status == Status::Failed || operation::is_abandoned(last);
    if replace && (failed || status == Status::Uninstalled) {
        return Ok(last.release.version + 1);
    }
    Err(ReleaseError::NameInUse {
        name: name.to_string(),
        namespace: namespace.to_string(),
        version: last.release.version,
        status,
    })
}

/// Installs a release in the configuration's namespace.
pub async fn install(
    config: &Configuration,
    opts: &DeployOptions,
) -> Result<Release, ReleaseError> {
    validate_name(&opts.name)?;
    let chart = chart::load(&opts.chart)?;
    let values = opts.values.merge()?;
    let history = config.storage.history_stored(&opts.name).await?;
    let version = install_revision(
        &opts.name,
        config.storage.namespace(),
        &history,
        opts.replace,
        opts.dry_run != DryRun::None,
    )?;
    deploy_new(config, opts, chart, values, version, history).await
}

/// The plan of installing `rendered` as revision `version` of a release with no deployed
/// revision (`history` is what it has): its objects resolved against the cluster and
/// checked for ownership when `resolve`. `diff upgrade` compares the same plan.
pub(crate) async fn plan_install(
    config: &Configuration,
    opts: &DeployOptions,
    rendered: &RenderedRelease,
    values: Values,
    version: u64,
    history: Vec<Stored>,
    resolve: bool,
) -> Result<Plan, ReleaseError> {
    let namespace = config.storage.namespace();
    let description = opts.description.as_deref().unwrap_or("Install complete");
    let release = record(
        &opts.name,
        namespace,
        version,
        rendered,
        values,
        Status::PendingInstall,
        description,
    );
    let mut plan = Plan {
        kind: Kind::Install,
        release,
        history,
        apply: Vec::new(),
        delete: Vec::new(),
        owned: BTreeSet::new(),
        crds: Vec::new(),
    };
    if resolve {
        plan.apply = prepare_rendered(config, rendered, &opts.name, namespace).await?;
        check_ownership(
            config,
            &plan.apply,
            &opts.name,
            namespace,
            &plan.owned,
            opts.settings.take_ownership,
        )
        .await?;
    }
    Ok(plan)
}

/// Renders the chart and installs it as revision `version` of a release with no deployed
/// revision (`history` is what the release has): install, and `upgrade --install` of a
/// release that does not exist.
pub(crate) async fn deploy_new(
    config: &Configuration,
    opts: &DeployOptions,
    chart: crate::chart::Chart,
    values: Values,
    version: u64,
    history: Vec<Stored>,
) -> Result<Release, ReleaseError> {
    let cluster = &config.cluster;
    let namespace = config.storage.namespace();
    let info = ReleaseInfo::new(&opts.name, namespace, version, false);
    let rendered = render_for_install(config, chart, &values, info, opts).await?;
    let resolve = opts.dry_run != DryRun::Client;
    let plan = plan_install(config, opts, &rendered, values, version, history, resolve).await?;
    if opts.dry_run != DryRun::None {
        if opts.dry_run == DryRun::Server {
            apply_all(cluster, &plan.apply, &opts.settings, &plan.owned, true).await?;
        }
        return Ok(plan.dry_run());
    }
    if opts.create_namespace {
        create_namespace(cluster, namespace, &opts.settings.field_manager).await?;
    }
    if !opts.skip_crds {
        install_crds(cluster, &rendered, &opts.settings).await?;
    }
    let objects = plan.apply.clone();
    let versions: Vec<u64> = plan
        .history
        .iter()
        .map(|s| s.release.version)
        .chain([version])
        .collect();
    let finish = Finish {
        history_max: opts.history_max,
        keep_history: false,
    };
    match operation::execute(config, plan, &opts.settings, &finish).await {
        Ok(done) => Ok(done.release),
        Err(e @ ReleaseError::Failed { .. }) if opts.atomic => {
            lifecycle::delete_all(cluster, &objects, opts.settings.timeout).await?;
            config.storage.purge(&opts.name, versions).await?;
            Err(e.noted("; the release was uninstalled (--atomic)"))
        }
        Err(e) => Err(e),
    }
}

/// `--create-namespace`: creates the release namespace when it does not exist.
pub(crate) async fn create_namespace(
    cluster: &Cluster,
    namespace: &str,
    field_manager: &str,
) -> Result<(), ReleaseError> {
    let r = ObjectRef {
        api_version: "v1".into(),
        kind: "Namespace".into(),
        namespace: None,
        name: namespace.into(),
    };
    if cluster.get(&r).await?.is_none() {
        let object = json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": namespace, "labels": {"name": namespace}}});
        cluster
            .apply(
                &object,
                &ApplyOptions {
                    field_manager: field_manager.into(),
                    ..Default::default()
                },
            )
            .await?;
    }
    Ok(())
}

/// Creates the chart's `crds/` CRDs that do not exist yet (existing ones are left alone, as
/// helm does) and waits until they are Established.
pub(crate) async fn install_crds(
    cluster: &Cluster,
    rendered: &RenderedRelease,
    settings: &ApplySettings,
) -> Result<usize, ReleaseError> {
    let mut created = Vec::new();
    for object in lifecycle::crd_objects(rendered)? {
        let r = ObjectRef::of(&object);
        if cluster.get(&r).await?.is_none() {
            cluster
                .apply(
                    &object,
                    &ApplyOptions {
                        field_manager: settings.field_manager.clone(),
                        ..Default::default()
                    },
                )
                .await?;
            created.push(r);
        }
    }
    if !created.is_empty() {
        wait::wait_ready(cluster, &created, &settings.crd_wait_options()).await?;
    }
    Ok(created.len())
}

/// Renders for an install. The chart's `crds/` CRDs are installed once the chart has
/// rendered (a chart that fails to render touches nothing), and when that created any, the
/// chart is rendered again so templates see the new kinds in `Capabilities`, as with helm.
pub(crate) async fn render_for_install(
    cluster: &Cluster,
    chart: crate::chart::Chart,
    config: &Values,
    info: ReleaseInfo,
    opts: &DeployOptions,
) -> Result<RenderedRelease, ReleaseError> {
    let connected = opts.dry_run != DryRun::Client;
    let caps = lifecycle::capabilities(cluster).await?;
    let set_integers = std::sync::Arc::new(opts.values.set_integers());
    let rendered = render_on_cluster(
        cluster,
        chart.clone(),
        config,
        info.clone(),
        caps,
        connected,
        set_integers.clone(),
    )
    .await?;
    if opts.skip_crds || opts.dry_run != DryRun::None || rendered.crds.is_empty() {
        return Ok(rendered);
    }
    // Every kind is resolved before the first write (the CRDs below).
    let kinds = lifecycle::ReleaseKinds::of(&rendered)?;
    lifecycle::check_kinds(cluster, &rendered, &kinds).await?;
    if install_crds(cluster, &rendered, &opts.settings).await? == 0 {
        return Ok(rendered);
    }
    let caps = lifecycle::capabilities(cluster).await?;
    render_on_cluster(cluster, chart, config, info, caps, connected, set_integers).await
}

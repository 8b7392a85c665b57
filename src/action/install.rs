//! `rudder install NAME CHART`: render the chart, claim revision 1 (or the next revision of
//! an uninstalled release), apply its CRDs and objects in install order with hooks, and
//! record the outcome, as `helm install` does.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::{Value, json};

use crate::action::lifecycle::{
    self, ApplySettings, DryRun, PendingGuard, ReleaseError, apply_all, check_ownership,
    prepare_rendered, record, render_on_cluster, run_hooks, validate_name, wait_if_asked,
};
use crate::action::render::RenderedRelease;
use crate::chart;
use crate::engine::{ReleaseInfo, RenderOptions};
use crate::kube::{ApplyOptions, Cluster, ObjectRef, wait};
use crate::manifest::HookEvent;
use crate::storage::{Holder, Release, Status, Storage};
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
    pub skip_crds: bool,
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

/// Installs a release in `cluster.namespace`.
pub async fn install(cluster: &Cluster, opts: &DeployOptions) -> Result<Release, ReleaseError> {
    validate_name(&opts.name)?;
    let chart = chart::load(&opts.chart)?;
    let config = opts.values.merge()?;
    let namespace = cluster.namespace.clone();
    let storage = Storage::new(cluster, &namespace);
    let history = storage.history_stored(&opts.name).await?;
    let version = match history.last() {
        None => 1,
        Some(last)
            if matches!(
                last.release.info.status,
                Status::Uninstalled | Status::Failed
            ) && last.release.version > 0 =>
        {
            last.release.version + 1
        }
        Some(last) if last.release.info.status.is_pending() => {
            lifecycle::check_not_pending(&storage, &opts.name).await?;
            last.release.version + 1
        }
        Some(last) => {
            return Err(ReleaseError::NameInUse {
                name: opts.name.clone(),
                namespace,
                version: last.release.version,
                status: last.release.info.status,
            });
        }
    };
    let info = ReleaseInfo::new(&opts.name, &namespace, version, false);
    let rendered = render_for_install(cluster, chart, &config, info, opts).await?;
    let description = opts
        .description
        .clone()
        .unwrap_or_else(|| "Install complete".into());
    deploy_new(
        cluster,
        &storage,
        opts,
        rendered,
        config,
        version,
        &description,
    )
    .await
}

/// Installs rendered objects as revision `version` of a release with no deployed revision.
pub(crate) async fn deploy_new(
    cluster: &Cluster,
    storage: &Storage,
    opts: &DeployOptions,
    rendered: RenderedRelease,
    config: Values,
    version: u64,
    description: &str,
) -> Result<Release, ReleaseError> {
    let namespace = storage.namespace().to_string();
    let mut release = record(
        &opts.name,
        &namespace,
        version,
        &rendered,
        config,
        Status::PendingInstall,
        description,
    );
    if opts.dry_run == DryRun::Client {
        release.info.description = "Dry run complete".into();
        return Ok(release);
    }
    if opts.create_namespace && opts.dry_run == DryRun::None {
        create_namespace(cluster, &namespace, &opts.settings.field_manager).await?;
    }
    let objects = prepare_rendered(cluster, &rendered, &opts.name, &namespace).await?;
    let none = BTreeSet::new();
    check_ownership(
        cluster,
        &objects,
        &opts.name,
        &namespace,
        &none,
        opts.settings.take_ownership,
    )
    .await?;
    if opts.dry_run == DryRun::Server {
        apply_all(cluster, &objects, &opts.settings, &none, true).await?;
        release.info.description = "Dry run complete".into();
        return Ok(release);
    }
    if !opts.skip_crds {
        install_crds(cluster, &rendered, &opts.settings).await?;
    }
    storage
        .create(&release, Some(&Holder::this_process()))
        .await?;
    let guard = PendingGuard::start(storage, &release);
    let outcome: Result<(), ReleaseError> = async {
        run_hooks(cluster, &mut release, HookEvent::PreInstall, &opts.settings).await?;
        apply_all(cluster, &objects, &opts.settings, &none, false).await?;
        wait_if_asked(cluster, &objects, &opts.settings).await?;
        run_hooks(
            cluster,
            &mut release,
            HookEvent::PostInstall,
            &opts.settings,
        )
        .await?;
        Ok(())
    }
    .await;
    guard.finish();
    match outcome {
        Ok(()) => {
            release.info.status = Status::Deployed;
            release.info.last_deployed = Some(crate::storage::release::now());
            storage.update(&release).await?;
            Ok(release)
        }
        Err(cause) => {
            release.info.status = Status::Failed;
            release.info.description = format!("Release {:?} failed: {cause}", opts.name);
            storage.update(&release).await?;
            let mut note = String::new();
            if opts.atomic {
                lifecycle::delete_all(cluster, &objects, false).await?;
                for s in storage.history_stored(&opts.name).await? {
                    storage.delete(&opts.name, s.release.version).await?;
                }
                note = "; the release was uninstalled (--atomic)".into();
            }
            Err(ReleaseError::Failed {
                operation: "installation",
                name: opts.name.clone(),
                cause: Box::new(cause),
                note,
            })
        }
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
    let mut objects = Vec::new();
    for file in &rendered.crds {
        for doc in serde_yaml::Deserializer::from_str(&file.content) {
            let object: Value = serde::Deserialize::deserialize(doc)
                .map_err(|e| ReleaseError::Invalid(format!("{}: invalid YAML: {e}", file.path)))?;
            if object.is_object() {
                objects.push(object);
            }
        }
    }
    let mut created = Vec::new();
    for object in objects {
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
        wait::wait_ready(cluster, &created, settings.timeout, false, true).await?;
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
    if install_crds(cluster, &rendered, &opts.settings).await? == 0 {
        return Ok(rendered);
    }
    let caps = lifecycle::capabilities(cluster).await?;
    render_on_cluster(cluster, chart, config, info, caps, connected, set_integers).await
}

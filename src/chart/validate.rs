//! `Chart.yaml` checks: required fields, strict semver, chart type, a parseable `kubeVersion`,
//! well-formed dependency entries — and the `kubeVersion` check against a target cluster.

use super::constraint::{parse_constraint, parse_lenient_version};
use super::{ChartError, Metadata};
use semver::Prerelease;
use std::collections::HashSet;
use std::path::Path;

/// Checks `Chart.yaml` metadata; `file` names the Chart.yaml in errors.
pub fn validate_metadata(md: &Metadata, file: &Path) -> Result<(), ChartError> {
    validate_metadata_in(md, &file.display().to_string())
}

pub(crate) fn validate_metadata_in(md: &Metadata, file: &str) -> Result<(), ChartError> {
    let fail = |message: String| Err(ChartError::metadata(file, message));
    match md.api_version.as_str() {
        "v2" | "v1" | "" => {}
        other => {
            return fail(format!("apiVersion `{other}` is not supported (use `v2`)"));
        }
    }
    if md.name.trim().is_empty() {
        return fail("the chart name is missing (`name:` is required)".into());
    }
    if !is_valid_name(&md.name) {
        return fail(format!(
            "chart name `{}` is invalid: use letters, digits, `-`, `_` and `.`, starting with a letter or digit",
            md.name
        ));
    }
    if md.version.trim().is_empty() {
        return fail("the chart version is missing (`version:` is required)".into());
    }
    // helm's loader accepts what Masterminds' NewVersion reads: `v1.2.3`, `1.2`, `v0.0.0`.
    if let Err(e) = parse_lenient_version(&md.version) {
        return fail(format!(
            "version `{}` is not a valid semantic version (MAJOR.MINOR.PATCH, e.g. 1.2.0): {}",
            md.version, e.reason
        ));
    }
    match md.chart_type.as_deref() {
        None | Some("") | Some("application") | Some("library") => {}
        Some(other) => {
            return fail(format!(
                "type `{other}` is invalid: it must be `application` or `library`"
            ));
        }
    }
    if let Some(kube_version) = md.kube_version.as_deref().filter(|k| !k.trim().is_empty())
        && let Err(e) = parse_constraint(kube_version)
    {
        return fail(format!("kubeVersion: {e}"));
    }
    let mut seen = HashSet::new();
    for (index, dependency) in md.dependencies.iter().enumerate() {
        let position = index + 1;
        if dependency.name.trim().is_empty() {
            return fail(format!(
                "dependency #{position} has no name (`name:` is required)"
            ));
        }
        if let Some(alias) = dependency.alias.as_deref()
            && !alias.is_empty()
            && !alias
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        {
            return fail(format!(
                "dependency `{}` has an invalid alias `{alias}`: use letters, digits, `-` and `_`",
                dependency.name
            ));
        }
        let key = dependency
            .alias
            .as_deref()
            .filter(|a| !a.is_empty())
            .unwrap_or(&dependency.name);
        if !seen.insert(key.to_string()) {
            return fail(format!(
                "more than one dependency is named or aliased `{key}`; give them distinct aliases"
            ));
        }
    }
    Ok(())
}

/// Non-fatal remarks about metadata (for `lint`).
pub fn metadata_warnings(md: &Metadata) -> Vec<String> {
    let mut warnings = Vec::new();
    match md.api_version.as_str() {
        "v1" => warnings.push("apiVersion v1 is deprecated; use v2".to_string()),
        "" => warnings.push("apiVersion is missing; assuming v1 (deprecated), use v2".to_string()),
        _ => {}
    }
    warnings
}

/// Checks the chart's `kubeVersion` constraint (if any) against the target Kubernetes
/// version (`1.28`, `v1.28.3`, `v1.28.3-gke.100`). Like helm, the cluster version's
/// prerelease part is ignored.
pub fn check_kube_version(md: &Metadata, kube_version: &str) -> Result<(), ChartError> {
    let Some(constraint_text) = md.kube_version.as_deref().filter(|k| !k.trim().is_empty()) else {
        return Ok(());
    };
    let constraint = parse_constraint(constraint_text).map_err(|e| {
        ChartError::metadata(
            format!("Chart.yaml of chart {}", md.name),
            format!("kubeVersion: {e}"),
        )
    })?;
    let mut version = parse_lenient_version(kube_version)?;
    version.pre = Prerelease::EMPTY;
    if constraint.matches(&version) {
        Ok(())
    } else {
        Err(ChartError::IncompatibleKubeVersion {
            chart: md.name.clone(),
            constraint: constraint_text.to_string(),
            kube_version: kube_version.to_string(),
        })
    }
}

/// A chart name helm and file systems both accept: no path separators, no `..`.
pub fn is_valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn md(name: &str, version: &str) -> Metadata {
        Metadata {
            api_version: "v2".into(),
            name: name.into(),
            version: version.into(),
            ..Default::default()
        }
    }

    fn error(md: &Metadata) -> String {
        validate_metadata(md, Path::new("c/Chart.yaml"))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn requires_name_and_strict_semver() {
        assert!(validate_metadata(&md("web", "1.2.3-rc.1+b5"), Path::new("x")).is_ok());
        assert!(error(&md("", "1.0.0")).contains("c/Chart.yaml: the chart name is missing"));
        assert!(error(&md("web", "")).contains("version is missing"));
        // helm accepts a `v` prefix and missing parts.
        assert!(validate_metadata(&md("web", "v0.1.0"), Path::new("x")).is_ok());
        assert!(validate_metadata(&md("web", "1.2"), Path::new("x")).is_ok());
        assert!(error(&md("web", "one")).contains("version `one` is not a valid semantic version"));
        assert!(error(&md("../web", "1.0.0")).contains("chart name `../web` is invalid"));
    }

    #[test]
    fn checks_type_kube_version_and_dependencies() {
        let mut m = md("web", "1.0.0");
        m.chart_type = Some("plugin".into());
        assert!(error(&m).contains("type `plugin` is invalid"));
        let mut m = md("web", "1.0.0");
        m.kube_version = Some(">> 1.2".into());
        assert!(error(&m).contains("kubeVersion"));
        let mut m = md("web", "1.0.0");
        m.dependencies = vec![Default::default()];
        assert!(error(&m).contains("dependency #1 has no name"));
        m.dependencies[0].name = "db".into();
        m.dependencies[0].alias = Some("my.db".into());
        assert!(error(&m).contains("invalid alias `my.db`"));
    }

    #[test]
    fn kube_version_ignores_the_cluster_prerelease() {
        let mut m = md("web", "1.0.0");
        m.kube_version = Some(">= 1.25.0".into());
        assert!(check_kube_version(&m, "v1.28.3-gke.100").is_ok());
        let err = check_kube_version(&m, "1.24").unwrap_err().to_string();
        assert_eq!(
            err,
            "chart web requires kubeVersion >= 1.25.0, which is incompatible with Kubernetes 1.24"
        );
        assert!(check_kube_version(&md("any", "1.0.0"), "1.10").is_ok());
    }
}

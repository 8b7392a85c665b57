//! What a render knows besides the chart and its values, whichever engine renders it: the
//! release (`Release`), the target cluster's version and APIs (`Capabilities`).

/// The group/versions helm 4.1.4 reports by default (`helm template` without a cluster).
const DEFAULT_API_VERSIONS: &str = include_str!("default_api_versions.txt");

/// Facts about the release being rendered, as templates see them under `Release`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseInfo {
    pub name: String,
    pub namespace: String,
    pub revision: u64,
    pub is_install: bool,
    pub is_upgrade: bool,
    /// `Release.Service`: who renders the chart ("Rudder").
    pub service: String,
}

impl ReleaseInfo {
    /// The release facts for revision `revision` of `name` in `namespace`, rendered for an
    /// install (`is_upgrade` false) or an upgrade.
    pub fn new(name: &str, namespace: &str, revision: u64, is_upgrade: bool) -> Self {
        ReleaseInfo {
            name: name.to_string(),
            namespace: namespace.to_string(),
            revision,
            is_install: !is_upgrade,
            is_upgrade,
            service: "Rudder".into(),
        }
    }
}

impl Default for ReleaseInfo {
    /// What `helm template` uses when no name is given.
    fn default() -> Self {
        ReleaseInfo::new("release-name", "default", 1, false)
    }
}

/// A Kubernetes version as templates see it under `Capabilities.KubeVersion`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    /// `v1.35.0`
    pub version: String,
    /// `1`
    pub major: String,
    /// `35`
    pub minor: String,
}

/// A version string that is not `v?MAJOR.MINOR[.PATCH…]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid Kubernetes version `{0}`: expected something like v1.35.0")]
pub struct InvalidKubeVersion(pub String);

impl KubeVersion {
    /// Parses `1.30`, `v1.30.2`, `v1.30.2-gke.100` like helm's `--kube-version`.
    pub fn parse(text: &str) -> Result<Self, InvalidKubeVersion> {
        let bad = || InvalidKubeVersion(text.to_string());
        let trimmed = text.trim().trim_start_matches('v');
        let mut parts = trimmed.splitn(3, '.');
        let major = parts.next().filter(|p| is_digits(p)).ok_or_else(bad)?;
        let minor = parts.next().filter(|p| is_digits(p)).ok_or_else(bad)?;
        let rest = parts.next().unwrap_or("0");
        let patch_digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        if patch_digits.is_empty() {
            return Err(bad());
        }
        Ok(KubeVersion {
            version: format!("v{major}.{minor}.{rest}"),
            major: major.to_string(),
            minor: minor.to_string(),
        })
    }
}

fn is_digits(text: &str) -> bool {
    !text.is_empty() && text.chars().all(|c| c.is_ascii_digit())
}

impl Default for KubeVersion {
    /// The version helm 4.1.4 assumes without a cluster.
    fn default() -> Self {
        KubeVersion {
            version: "v1.35.0".into(),
            major: "1".into(),
            minor: "35".into(),
        }
    }
}

/// What the target cluster supports, as templates see it under `Capabilities`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capabilities {
    pub kube_version: KubeVersion,
    /// Group/versions (`apps/v1`) and optionally group/version/kind (`apps/v1/Deployment`).
    pub api_versions: Vec<String>,
}

impl Capabilities {
    /// The built-in group/versions, the list helm reports without a cluster.
    pub fn default_api_versions() -> Vec<String> {
        DEFAULT_API_VERSIONS
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect()
    }
}

impl Default for Capabilities {
    fn default() -> Self {
        Capabilities {
            kube_version: KubeVersion::default(),
            api_versions: Self::default_api_versions(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_version_parses_like_helm() {
        let v = KubeVersion::parse("1.29").unwrap();
        assert_eq!(
            (v.version.as_str(), v.major.as_str(), v.minor.as_str()),
            ("v1.29.0", "1", "29")
        );
        let v = KubeVersion::parse("v1.30.2-gke.100").unwrap();
        assert_eq!(v.version, "v1.30.2-gke.100");
        assert!(KubeVersion::parse("one.two").is_err());
        assert!(KubeVersion::parse("1").is_err());
    }

    #[test]
    fn default_api_versions_match_helm() {
        let apis = Capabilities::default_api_versions();
        assert_eq!(apis.first().map(String::as_str), Some("v1"));
        assert!(apis.contains(&"apps/v1".to_string()));
        assert!(apis.contains(&"batch/v1".to_string()));
        assert!(!apis.contains(&"not.a.group/v1".to_string()));
    }
}

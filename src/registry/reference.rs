//! `oci://host[:port]/path/name[:tag|@digest]` references.

use super::RegistryError;

/// A parsed `oci://` reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    /// `host[:port]`.
    pub registry: String,
    /// The repository path (`charts/webapp`).
    pub repository: String,
    /// A tag, if the reference names one.
    pub tag: Option<String>,
    /// A digest (`sha256:…`), if the reference names one.
    pub digest: Option<String>,
}

impl Reference {
    /// Parses `oci://…` (the scheme is required).
    pub fn parse(text: &str) -> Result<Reference, RegistryError> {
        let fail = |reason: &str| RegistryError::InvalidReference {
            reference: text.to_string(),
            reason: reason.to_string(),
        };
        let rest = text
            .strip_prefix("oci://")
            .ok_or_else(|| fail("it must start with oci://"))?;
        let (registry, path) = rest
            .split_once('/')
            .ok_or_else(|| fail("it needs a repository path after the registry host"))?;
        if registry.is_empty() {
            return Err(fail("the registry host is empty"));
        }
        if registry.contains('@') {
            return Err(fail(
                "credentials do not go in the reference: pass --username and --password, or run `rudder registry login`",
            ));
        }
        let (path, digest) = match path.split_once('@') {
            Some((p, d)) => (p, Some(d.to_string())),
            None => (path, None),
        };
        let last = path.rsplit('/').next().unwrap_or(path);
        let (repository, tag) = match last.split_once(':') {
            Some((_, tag)) => (
                path[..path.len() - tag.len() - 1].to_string(),
                Some(tag.to_string()),
            ),
            None => (path.to_string(), None),
        };
        let repository = repository.trim_end_matches('/').to_string();
        if repository.is_empty() {
            return Err(fail("the repository path is empty"));
        }
        let valid = |c: char| {
            c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-' | '/')
        };
        if !repository.chars().all(valid) || repository.contains("//") {
            return Err(fail(
                "repository paths hold lowercase letters, digits, '.', '_', '-' and '/' only",
            ));
        }
        if let Some(tag) = &tag
            && (tag.is_empty()
                || tag.len() > 128
                || !tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
        {
            return Err(fail("invalid tag"));
        }
        Ok(Reference {
            registry: registry.to_string(),
            repository,
            tag,
            digest,
        })
    }

    /// The same repository with `name` appended (push: `oci://host/path` + chart name).
    pub fn child(&self, name: &str) -> Reference {
        Reference {
            registry: self.registry.clone(),
            repository: format!("{}/{}", self.repository, name),
            tag: None,
            digest: None,
        }
    }

    /// The last path element: the chart name.
    pub fn name(&self) -> &str {
        self.repository
            .rsplit('/')
            .next()
            .unwrap_or(&self.repository)
    }

    /// `host/path/name:tag` (no scheme), as helm prints it.
    pub fn display_with_tag(&self, tag: &str) -> String {
        format!("{}/{}:{}", self.registry, self.repository, tag)
    }
}

/// The tag of a chart version: OCI tags cannot hold `+`, helm writes `_` instead.
pub fn version_to_tag(version: &str) -> String {
    version.replace('+', "_")
}

/// The chart version of a tag.
pub fn tag_to_version(tag: &str) -> String {
    tag.replace('_', "+")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_host_port_path_and_tag() {
        let r = Reference::parse("oci://127.0.0.1:5000/charts/web:1.2.3").unwrap();
        assert_eq!(r.registry, "127.0.0.1:5000");
        assert_eq!(r.repository, "charts/web");
        assert_eq!(r.tag.as_deref(), Some("1.2.3"));
        assert_eq!(r.name(), "web");
        let r = Reference::parse("oci://localhost:5000/charts").unwrap();
        assert_eq!(r.child("web").repository, "charts/web");
        assert!(r.tag.is_none());
    }

    #[test]
    fn rejects_what_is_not_a_reference() {
        for bad in [
            "https://x/y",
            "oci://",
            "oci://host",
            "oci:///path",
            "oci://host/UPPER",
            "oci://host/a:",
        ] {
            let e = Reference::parse(bad).unwrap_err().to_string();
            assert!(e.contains(bad), "{e}");
        }
    }

    #[test]
    fn credentials_in_a_reference_are_refused_without_being_shown() {
        let e = Reference::parse("oci://alice:s3cret@host:5000/charts/web")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("oci://alice:xxxxx@host:5000/charts/web")
                && e.contains("registry login")
                && !e.contains("s3cret"),
            "{e}"
        );
    }

    #[test]
    fn build_metadata_travels_as_underscore() {
        assert_eq!(version_to_tag("1.0.0+build.1"), "1.0.0_build.1");
        assert_eq!(tag_to_version("1.0.0_build.1"), "1.0.0+build.1");
    }
}

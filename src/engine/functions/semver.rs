//! `semverCompare` with helm's (Masterminds semver) constraint language on top of the
//! `semver` crate: `v` prefixes, `||` alternatives, hyphen ranges `1.2 - 1.4`, a bare
//! version meaning equality, `x`/`*` wildcards, and prereleases only matched when the
//! constraint mentions one (`>=1.20-0`).

use semver::{Version, VersionReq};
use tera::{Error, Kwargs, State, TeraResult, Value};

use super::{go_string, kwarg_string};

/// A constraint or version string that cannot be understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SemverError {
    #[error("invalid semantic version `{0}`")]
    Version(String),
    #[error("invalid version constraint `{constraint}`: {reason}")]
    Constraint { constraint: String, reason: String },
}

/// Parses a version leniently like Masterminds: `v1.2`, `1`, `1.2.3-rc.1+build`.
pub fn parse_version(text: &str) -> Result<Version, SemverError> {
    let trimmed = text.trim();
    let bare = trimmed
        .strip_prefix('v')
        .or_else(|| trimmed.strip_prefix('V'))
        .unwrap_or(trimmed);
    let split_at = bare.find(['-', '+']).unwrap_or(bare.len());
    let (core, rest) = bare.split_at(split_at);
    let mut parts: Vec<&str> = core.split('.').collect();
    if parts.is_empty() || parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(SemverError::Version(text.to_string()));
    }
    while parts.len() < 3 {
        parts.push("0");
    }
    // Leading zeros are tolerated by Masterminds; normalise them.
    let normalised: Vec<String> = parts
        .iter()
        .map(|p| match p.parse::<u64>() {
            Ok(n) => Ok(n.to_string()),
            Err(_) => Err(SemverError::Version(text.to_string())),
        })
        .collect::<Result<_, _>>()?;
    Version::parse(&format!("{}{}", normalised.join("."), rest))
        .map_err(|_| SemverError::Version(text.to_string()))
}

/// Whether `version` satisfies helm-style `constraint`.
pub fn semver_matches(constraint: &str, version: &str) -> Result<bool, SemverError> {
    let version = parse_version(version)?;
    for alternative in constraint.split("||") {
        let req = translate(alternative).map_err(|reason| SemverError::Constraint {
            constraint: constraint.to_string(),
            reason,
        })?;
        let parsed = VersionReq::parse(&req).map_err(|e| SemverError::Constraint {
            constraint: constraint.to_string(),
            reason: e.to_string(),
        })?;
        if parsed.matches(&version) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Rewrites one Masterminds alternative (no `||`) into `semver::VersionReq` syntax.
fn translate(alternative: &str) -> Result<String, String> {
    let text = alternative.trim();
    if text.is_empty() {
        return Err("empty constraint".to_string());
    }
    // Hyphen range: `1.2 - 1.4.5` means `>=1.2, <=1.4.5`.
    if let Some((low, high)) = text.split_once(" - ") {
        return Ok(format!(
            ">={}, <={}",
            strip_v(low.trim()),
            strip_v(high.trim())
        ));
    }
    let mut out = Vec::new();
    // Comma or space separated terms are ANDed; an operator may be followed by spaces.
    let mut tokens: Vec<String> = Vec::new();
    for raw in text.split([',', ' ']).filter(|t| !t.is_empty()) {
        if let Some(last) = tokens.last_mut()
            && last.chars().all(|c| "<>=!~^".contains(c))
        {
            last.push_str(raw);
            continue;
        }
        tokens.push(raw.to_string());
    }
    for token in tokens {
        let op_len = token
            .find(|c: char| !"<>=!~^".contains(c))
            .ok_or_else(|| format!("`{token}` has no version"))?;
        let (op, version) = token.split_at(op_len);
        let version = strip_v(version);
        let version = version.as_str();
        let term = match op {
            // A bare version is an exact match in Masterminds, a caret in cargo.
            "" => format!("={version}"),
            "!=" => return Err("`!=` is not supported".to_string()),
            "=" | "==" => format!("={version}"),
            "~>" => format!("~{version}"),
            other => format!("{other}{version}"),
        };
        out.push(term);
    }
    Ok(out.join(", "))
}

/// Drops a `v` prefix; pads `1.20-0` to `1.20.0-0` since cargo's syntax needs all three
/// numbers before a prerelease.
fn strip_v(version: &str) -> String {
    let bare = version
        .strip_prefix('v')
        .or_else(|| version.strip_prefix('V'))
        .unwrap_or(version);
    let split_at = bare.find(['-', '+']).unwrap_or(bare.len());
    let (core, rest) = bare.split_at(split_at);
    if rest.is_empty() || !core.split('.').all(|p| p.parse::<u64>().is_ok()) {
        return bare.to_string();
    }
    let mut parts: Vec<&str> = core.split('.').collect();
    while parts.len() < 3 {
        parts.push("0");
    }
    format!("{}{rest}", parts.join("."))
}

fn compare(constraint: &str, version: &Value) -> TeraResult<bool> {
    semver_matches(constraint, &go_string(version)).map_err(|e| Error::message(e.to_string()))
}

/// `version | semverCompare(constraint=)`.
pub(crate) fn semver_compare_filter(value: Value, kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    compare(&kwarg_string(&kwargs, "constraint")?, &value)
}

/// `semverCompare(constraint=, version=)`.
pub(crate) fn semver_compare_fn(kwargs: Kwargs, _: &State) -> TeraResult<bool> {
    compare(
        &kwarg_string(&kwargs, "constraint")?,
        &kwargs.must_get::<Value>("version")?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each case was checked against helm 4.1.4's `semverCompare`.
    #[test]
    fn constraints_match_like_helm() {
        let cases = [
            (">=1.20-0", "v1.35.0", true),
            ("~1.2.0", "1.2.9", true),
            ("^1.2", "2.0.0", false),
            ("1.2.3 - 1.4", "1.4.5", true),
            (">=1.20", "v1.21.0-gke.1", false),
            ("<2 || >=3", "3.1.0", true),
            ("1.2", "1.2.5", true),
            ("=1.2.3", "1.2.3", true),
            ("1.x", "1.9.0", true),
            ("1.2.3", "1.2.4", false),
            (">= 1.19, < 1.30", "1.25.3", true),
        ];
        for (constraint, version, expected) in cases {
            assert_eq!(
                semver_matches(constraint, version).unwrap(),
                expected,
                "{constraint} vs {version}"
            );
        }
    }

    #[test]
    fn garbage_is_an_error() {
        assert!(semver_matches(">=1.2", "banana").is_err());
        assert!(semver_matches(">=", "1.2.3").is_err());
    }
}

//! Version constraints in helm's syntax (Masterminds/semver v3 semantics), used for a
//! chart's `kubeVersion` and for repository/dependency version ranges.
//!
//! Syntax: comparators `=`, `!=`, `>`, `<`, `>=`/`=>`, `<=`/`=<`, `~`/`~>`, `^` (or none,
//! meaning `=`), partial versions and wildcards (`1`, `1.2`, `1.2.x`, `*`), comparators joined
//! by spaces or commas (AND), groups joined by `||` (OR), and hyphen ranges `1.2 - 1.4.5`
//! (meaning `>= 1.2, <= 1.4.5`).
//!
//! Prerelease rule (as helm's): a prerelease version (`1.2.3-rc.1`) only satisfies an AND group
//! in which at least one comparator names a prerelease itself (`>= 1.2.0-0`).

use semver::{Prerelease, Version};
use std::cmp::Ordering;
use std::fmt;

/// Why a constraint string could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{constraint}` is not a valid version constraint: {reason}")]
pub struct ConstraintError {
    pub constraint: String,
    pub reason: String,
}

/// Why a version string could not be parsed leniently.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{version}` is not a valid version: {reason}")]
pub struct VersionError {
    pub version: String,
    pub reason: String,
}

/// A parsed constraint: OR of AND groups of comparators.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Constraint {
    source: String,
    groups: Vec<Vec<Comparator>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equal,
    NotEqual,
    Greater,
    Less,
    GreaterEqual,
    LessEqual,
    Tilde,
    Caret,
}

/// One comparator such as `>= 1.2` with its wildcard state (`1.x` is "minor dirty",
/// `1.2.x` is "patch dirty", `*` is dirty at the major).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Comparator {
    op: Op,
    version: Version,
    dirty: bool,
    minor_dirty: bool,
    patch_dirty: bool,
}

/// Parses a constraint in helm's syntax.
pub fn parse_constraint(text: &str) -> Result<Constraint, ConstraintError> {
    let fail = |reason: &str| ConstraintError {
        constraint: text.to_string(),
        reason: reason.to_string(),
    };
    let rewritten = rewrite_hyphen_ranges(text);
    let mut groups = Vec::new();
    for group in rewritten.split("||") {
        groups.push(parse_group(group).map_err(|reason| fail(&reason))?);
    }
    Ok(Constraint {
        source: text.to_string(),
        groups,
    })
}

impl Constraint {
    /// Whether `version` satisfies the constraint (build metadata is ignored).
    pub fn matches(&self, version: &Version) -> bool {
        self.groups.iter().any(|group| {
            let allows_prerelease = group.iter().any(|c| !c.version.pre.is_empty());
            if !version.pre.is_empty() && !allows_prerelease {
                return false;
            }
            group.iter().all(|c| c.matches(version))
        })
    }

    /// The constraint as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl fmt::Display for Constraint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for Constraint {
    type Err = ConstraintError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_constraint(s)
    }
}

/// Parses a version leniently, as helm does for versions it compares (`v1.28`, `1.2`,
/// `1.28.3-gke.100`): an optional `v`, missing minor/patch default to 0.
pub fn parse_lenient_version(text: &str) -> Result<Version, VersionError> {
    let fail = |reason: &str| VersionError {
        version: text.to_string(),
        reason: reason.to_string(),
    };
    let mut cursor = Cursor::new(text.trim());
    let partial = cursor.version().map_err(|r| fail(&r))?;
    if !cursor.at_end() {
        return Err(fail("unexpected characters after the version"));
    }
    let number = |part: &Option<Part>| match part {
        None => Ok(0),
        Some(Part::Number(n)) => Ok(*n),
        Some(Part::Wildcard) => Err(fail("wildcards are not allowed in a version")),
    };
    let mut version = Version::new(
        number(&Some(partial.major.clone()))?,
        number(&partial.minor)?,
        number(&partial.patch)?,
    );
    version.pre = partial.pre;
    if let Some((_, build)) = text.trim().split_once('+') {
        version.build =
            semver::BuildMetadata::new(build).map_err(|_| fail("invalid build metadata"))?;
    }
    Ok(version)
}

/// Compares two versions by semver precedence, ignoring build metadata.
pub fn compare_versions(a: &Version, b: &Version) -> Ordering {
    (a.major, a.minor, a.patch)
        .cmp(&(b.major, b.minor, b.patch))
        .then_with(|| compare_prerelease(&a.pre, &b.pre))
}

fn compare_prerelease(a: &Prerelease, b: &Prerelease) -> Ordering {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Greater,
        (false, true) => Ordering::Less,
        (false, false) => a.cmp(b),
    }
}

impl Comparator {
    fn matches(&self, v: &Version) -> bool {
        let con = &self.version;
        let cmp = compare_versions(v, con);
        match self.op {
            Op::Equal if self.dirty => self.tilde(v),
            Op::Equal => cmp == Ordering::Equal,
            Op::NotEqual => {
                if self.dirty {
                    if con.major != v.major {
                        return true;
                    }
                    if self.minor_dirty {
                        return false;
                    }
                    if con.minor != v.minor {
                        return true;
                    }
                    if self.patch_dirty {
                        return false;
                    }
                }
                cmp != Ordering::Equal
            }
            Op::Greater => {
                if !self.dirty {
                    return cmp == Ordering::Greater;
                }
                if v.major != con.major {
                    return v.major > con.major;
                }
                if self.minor_dirty {
                    return false;
                }
                if self.patch_dirty {
                    return v.minor > con.minor;
                }
                cmp == Ordering::Greater
            }
            Op::Less => cmp == Ordering::Less,
            Op::GreaterEqual => cmp != Ordering::Less,
            Op::LessEqual => {
                if !self.dirty {
                    return cmp != Ordering::Greater;
                }
                if v.major > con.major {
                    return false;
                }
                !(v.major == con.major && v.minor > con.minor && !self.minor_dirty)
            }
            Op::Tilde => self.tilde(v),
            Op::Caret => {
                if cmp == Ordering::Less {
                    return false;
                }
                if con.major > 0 || self.minor_dirty {
                    return v.major == con.major;
                }
                if v.major > 0 {
                    return false;
                }
                if con.minor > 0 || self.patch_dirty {
                    return v.minor == con.minor;
                }
                if v.minor > 0 {
                    return false;
                }
                v.patch == con.patch
            }
        }
    }

    fn tilde(&self, v: &Version) -> bool {
        let con = &self.version;
        if compare_versions(v, con) == Ordering::Less {
            return false;
        }
        if con.major == 0
            && con.minor == 0
            && con.patch == 0
            && !self.minor_dirty
            && !self.patch_dirty
        {
            return true;
        }
        if v.major != con.major {
            return false;
        }
        v.minor == con.minor || self.minor_dirty
    }
}

/// Rewrites `A - B` (spaces around the hyphen required) into `>= A, <= B`.
fn rewrite_hyphen_ranges(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(pos) = rest.find(" - ") {
        // The version before the hyphen: trailing run of version characters.
        let before = rest[..pos].trim_end();
        let start = before
            .rfind(|c: char| !is_version_char(c))
            .map(|i| i + 1)
            .unwrap_or(0);
        let left = &before[start..];
        let after = rest[pos + 3..].trim_start();
        let end = after
            .find(|c: char| !is_version_char(c))
            .unwrap_or(after.len());
        let right = &after[..end];
        let left_ok = !left.is_empty()
            && before[..start]
                .chars()
                .last()
                .is_none_or(|c| c.is_whitespace() || c == ',' || c == '|');
        if left_ok && !right.is_empty() {
            out.push_str(&before[..start]);
            out.push_str(&format!(">= {left}, <= {right}"));
            rest = &after[end..];
        } else {
            out.push_str(&rest[..pos + 3]);
            rest = &rest[pos + 3..];
        }
    }
    out.push_str(rest);
    out
}

fn is_version_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '+' | '*')
}

fn parse_group(group: &str) -> Result<Vec<Comparator>, String> {
    let mut cursor = Cursor::new(group);
    let mut comparators = Vec::new();
    cursor.skip_spaces();
    if cursor.at_end() {
        return Err("an empty constraint (around `||`) matches nothing".into());
    }
    loop {
        comparators.push(cursor.comparator()?);
        let spaced = cursor.skip_spaces();
        if cursor.at_end() {
            break;
        }
        if cursor.eat(",") {
            cursor.skip_spaces();
            if cursor.at_end() {
                return Err("a comma must be followed by another comparator".into());
            }
        } else if !spaced {
            return Err(format!(
                "unexpected `{}`; separate comparators with a space or a comma",
                cursor.rest()
            ));
        }
    }
    Ok(comparators)
}

#[derive(Debug, Clone)]
enum Part {
    Number(u64),
    Wildcard,
}

struct PartialVersion {
    major: Part,
    minor: Option<Part>,
    patch: Option<Part>,
    pre: Prerelease,
}

struct Cursor<'a> {
    text: &'a str,
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Cursor { text, pos: 0 }
    }

    fn rest(&self) -> &'a str {
        &self.text[self.pos..]
    }

    fn at_end(&self) -> bool {
        self.pos >= self.text.len()
    }

    fn eat(&mut self, token: &str) -> bool {
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }

    /// Skips whitespace; reports whether any was skipped.
    fn skip_spaces(&mut self) -> bool {
        let rest = self.rest();
        let trimmed = rest.trim_start();
        self.pos += rest.len() - trimmed.len();
        rest.len() != trimmed.len()
    }

    fn take_while(&mut self, keep: impl Fn(char) -> bool) -> &'a str {
        let rest = self.rest();
        let end = rest.find(|c: char| !keep(c)).unwrap_or(rest.len());
        self.pos += end;
        &rest[..end]
    }

    fn comparator(&mut self) -> Result<Comparator, String> {
        const OPS: [(&str, Op); 11] = [
            ("!=", Op::NotEqual),
            (">=", Op::GreaterEqual),
            ("=>", Op::GreaterEqual),
            ("<=", Op::LessEqual),
            ("=<", Op::LessEqual),
            ("~>", Op::Tilde),
            (">", Op::Greater),
            ("<", Op::Less),
            ("=", Op::Equal),
            ("~", Op::Tilde),
            ("^", Op::Caret),
        ];
        let op = OPS
            .iter()
            .find(|(token, _)| self.eat(token))
            .map(|(_, op)| *op)
            .unwrap_or(Op::Equal);
        self.skip_spaces();
        let partial = self.version()?;
        let number = |part: &Part| match part {
            Part::Number(n) => *n,
            Part::Wildcard => 0,
        };
        let is_wild = |part: &Option<Part>| matches!(part, None | Some(Part::Wildcard));
        let (mut dirty, mut minor_dirty, mut patch_dirty) = (false, false, false);
        let mut version = Version::new(number(&partial.major), 0, 0);
        if matches!(partial.major, Part::Wildcard) {
            dirty = true;
        } else if is_wild(&partial.minor) {
            dirty = true;
            minor_dirty = true;
        } else {
            version.minor = partial.minor.as_ref().map(number).unwrap_or(0);
            if is_wild(&partial.patch) {
                dirty = true;
                patch_dirty = true;
            } else {
                version.patch = partial.patch.as_ref().map(number).unwrap_or(0);
            }
        }
        // A bare `*` keeps no prerelease; partial versions keep theirs (`1.2-0`).
        if !matches!(partial.major, Part::Wildcard) {
            version.pre = partial.pre;
        }
        Ok(Comparator {
            op,
            version,
            dirty,
            minor_dirty,
            patch_dirty,
        })
    }

    /// `v?MAJOR(.MINOR(.PATCH)?)?(-PRERELEASE)?(+BUILD)?` where parts may be `x`, `X` or `*`.
    fn version(&mut self) -> Result<PartialVersion, String> {
        self.eat("v");
        let part = |cursor: &mut Self, what: &str| -> Result<Part, String> {
            let digits = cursor.take_while(|c| c.is_ascii_digit() || matches!(c, 'x' | 'X' | '*'));
            match digits {
                "" => Err(format!(
                    "expected a {what} version number at `{}`",
                    cursor.rest()
                )),
                "x" | "X" | "*" => Ok(Part::Wildcard),
                d if d.chars().all(|c| c.is_ascii_digit()) => d
                    .parse()
                    .map(Part::Number)
                    .map_err(|_| format!("{what} version `{d}` is too large")),
                d => Err(format!("`{d}` is neither a number nor a wildcard")),
            }
        };
        let major = part(self, "major")?;
        let mut minor = None;
        let mut patch = None;
        if self.eat(".") {
            minor = Some(part(self, "minor")?);
            if self.eat(".") {
                patch = Some(part(self, "patch")?);
            }
        }
        let mut pre = Prerelease::EMPTY;
        if self.eat("-") {
            let text = self.take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
            pre = Prerelease::new(text).map_err(|e| format!("invalid prerelease `{text}`: {e}"))?;
            if pre.is_empty() {
                return Err("a `-` must be followed by a prerelease".into());
            }
        }
        if self.eat("+") {
            let text = self.take_while(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.'));
            semver::BuildMetadata::new(text)
                .map_err(|e| format!("invalid build metadata `{text}`: {e}"))?;
        }
        Ok(PartialVersion {
            major,
            minor,
            patch,
            pre,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(constraint: &str, version: &str) -> bool {
        let c = parse_constraint(constraint).unwrap_or_else(|e| panic!("{e}"));
        c.matches(&parse_lenient_version(version).unwrap())
    }

    #[test]
    fn lenient_versions_fill_missing_parts() {
        assert_eq!(
            parse_lenient_version("v1.28").unwrap(),
            Version::new(1, 28, 0)
        );
        assert_eq!(
            parse_lenient_version("1.28.3-gke.100")
                .unwrap()
                .pre
                .as_str(),
            "gke.100"
        );
        assert!(parse_lenient_version("1.2.3.4").is_err());
        assert!(parse_lenient_version("latest").is_err());
    }

    #[test]
    fn hyphen_range_needs_spaces() {
        assert!(check("1.20 - 1.25", "1.25.9"));
        assert!(!check("1.20 - 1.25", "1.26.0"));
        assert!(parse_constraint("1.0 -2.0").is_err());
    }

    #[test]
    fn prerelease_allowed_per_and_group() {
        assert!(check(">=1.0.0 <2.0.0-0", "1.5.0-rc.1"));
        assert!(!check(">=1.0.0-0 <2.0.0 || ^3", "3.1.0-rc"));
        assert!(!check("*", "1.2.3-alpha"));
    }

    #[test]
    fn malformed_constraints_are_errors() {
        for bad in [
            ">>1.0",
            "1.0.0.0",
            "abc",
            ">=1.0 <2.0,",
            ">=1.0<2.0",
            "||",
            "",
            "=",
        ] {
            assert!(parse_constraint(bad).is_err(), "{bad:?} should be rejected");
        }
    }
}

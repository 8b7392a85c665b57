//! `index.yaml`, a chart repository's catalogue, in helm's format: `apiVersion: v1`, the
//! `entries` of every chart (newest version first, each with its `Chart.yaml` fields,
//! `urls`, `created` and sha256 `digest`) and `generated`. Reads helm's indexes (invalid
//! entries are skipped with a warning, as helm does), builds one from a directory of
//! packages (`repo index`), merges and chooses versions by constraint.

use super::{RepoError, sha256_hex, write_atomic};
use crate::chart::constraint::{compare_versions, parse_constraint, parse_lenient_version};
use crate::chart::{self, Metadata};
use crate::output::yaml as helm_yaml;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One version of one chart in an index: its `Chart.yaml` plus where to get it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChartVersion {
    #[serde(flatten)]
    pub metadata: Metadata,
    /// Download URLs, absolute or relative to the repository URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// When the entry was added (RFC 3339).
    #[serde(
        default,
        deserialize_with = "any_text",
        skip_serializing_if = "String::is_empty"
    )]
    pub created: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub removed: bool,
    /// The sha256 of the package, lowercase hex (helm writes it without a prefix).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub digest: String,
}

impl ChartVersion {
    /// The chart's name.
    pub fn name(&self) -> &str {
        &self.metadata.name
    }

    /// The chart's version.
    pub fn version(&self) -> &str {
        &self.metadata.version
    }

    /// The expected sha256 of the package, without a `sha256:` prefix, if the index has one.
    pub fn expected_digest(&self) -> Option<&str> {
        let d = self.digest.trim();
        let d = d.strip_prefix("sha256:").unwrap_or(d);
        (!d.is_empty()).then_some(d)
    }
}

fn any_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Option::<serde_yaml::Value>::deserialize(d)? {
        None | Some(serde_yaml::Value::Null) => String::new(),
        Some(serde_yaml::Value::String(s)) => s,
        Some(serde_yaml::Value::Number(n)) => n.to_string(),
        Some(serde_yaml::Value::Bool(b)) => b.to_string(),
        Some(_) => String::new(),
    })
}

/// A whole `index.yaml`.
#[derive(Debug, Clone, PartialEq)]
pub struct IndexFile {
    pub api_version: String,
    pub generated: String,
    /// Chart name → versions, newest first.
    pub entries: BTreeMap<String, Vec<ChartVersion>>,
    /// Other top-level fields (`serverInfo`, `annotations`), kept as they were.
    pub extra: serde_json::Map<String, serde_json::Value>,
    /// Entries skipped while reading, each with why (helm skips invalid entries too).
    pub warnings: Vec<String>,
}

impl Default for IndexFile {
    fn default() -> Self {
        IndexFile::new()
    }
}

fn now() -> String {
    crate::repo::go_time_now()
}

impl IndexFile {
    /// An empty index, generated now.
    pub fn new() -> Self {
        IndexFile {
            api_version: "v1".to_string(),
            generated: now(),
            entries: BTreeMap::new(),
            extra: serde_json::Map::new(),
            warnings: Vec::new(),
        }
    }

    /// Parses an index; `origin` (a file or URL) names it in errors and warnings.
    pub fn parse(bytes: &[u8], origin: &str) -> Result<IndexFile, RepoError> {
        let origin = &super::redacted(origin);
        let fail = |reason: String| RepoError::InvalidIndex {
            origin: origin.to_string(),
            reason,
        };
        let text = std::str::from_utf8(bytes).map_err(|_| fail("it is not UTF-8 text".into()))?;
        if text.trim().is_empty() {
            return Err(fail("the file is empty".into()));
        }
        let doc: serde_yaml::Value = serde_yaml::from_str(text).map_err(|e| fail(e.to_string()))?;
        let serde_yaml::Value::Mapping(top) = doc else {
            return Err(fail("it is not a YAML mapping".into()));
        };
        let mut index = IndexFile {
            api_version: String::new(),
            generated: String::new(),
            entries: BTreeMap::new(),
            extra: serde_json::Map::new(),
            warnings: Vec::new(),
        };
        for (key, value) in top {
            let Some(key) = key.as_str().map(str::to_string) else {
                continue;
            };
            match key.as_str() {
                "apiVersion" => index.api_version = scalar_text(&value),
                "generated" => index.generated = scalar_text(&value),
                "entries" => {
                    index.read_entries(value, origin).map_err(fail)?;
                }
                _ => {
                    if let Ok(json) = serde_json::to_value(&value) {
                        index.extra.insert(key, json);
                    }
                }
            }
        }
        if index.api_version.is_empty() {
            return Err(fail(
                "it has no apiVersion (is the URL really a chart repository?)".into(),
            ));
        }
        index.sort_entries();
        Ok(index)
    }

    fn read_entries(&mut self, value: serde_yaml::Value, origin: &str) -> Result<(), String> {
        let map = match value {
            serde_yaml::Value::Null => return Ok(()),
            serde_yaml::Value::Mapping(m) => m,
            _ => return Err("`entries` is not a mapping of chart names".into()),
        };
        for (name, versions) in map {
            let Some(name) = name.as_str().map(str::to_string) else {
                self.warnings.push(format!(
                    "skipping an entry of {origin} whose name is not a string"
                ));
                continue;
            };
            let versions = match versions {
                serde_yaml::Value::Null => Vec::new(),
                serde_yaml::Value::Sequence(s) => s,
                _ => {
                    self.warnings.push(format!(
                        "skipping chart \"{name}\" of {origin}: its entry is not a list of versions"
                    ));
                    continue;
                }
            };
            let mut kept = Vec::new();
            for v in versions {
                if v.is_null() {
                    continue;
                }
                match serde_yaml::from_value::<ChartVersion>(v) {
                    Ok(cv) => match validate_entry(&cv) {
                        Ok(()) => kept.push(cv),
                        Err(why) => self.warnings.push(format!(
                            "skipping an invalid version of chart \"{name}\" in {origin}: {why}"
                        )),
                    },
                    Err(e) => self.warnings.push(format!(
                        "skipping an invalid version of chart \"{name}\" in {origin}: {e}"
                    )),
                }
            }
            self.entries.insert(name, kept);
        }
        Ok(())
    }

    /// Reads an index file.
    pub fn load(path: &Path) -> Result<IndexFile, RepoError> {
        let bytes = std::fs::read(path).map_err(|e| RepoError::read(path, e))?;
        IndexFile::parse(&bytes, &path.display().to_string())
    }

    /// The index as helm writes it.
    pub fn to_yaml(&self) -> String {
        let mut top = self.extra.clone();
        top.insert("apiVersion".into(), self.api_version.clone().into());
        top.insert("generated".into(), self.generated.clone().into());
        let entries: serde_json::Map<String, serde_json::Value> = self
            .entries
            .iter()
            .map(|(name, versions)| {
                let list = versions
                    .iter()
                    .map(|v| serde_json::to_value(v).expect("chart versions serialize"))
                    .collect();
                (name.clone(), serde_json::Value::Array(list))
            })
            .collect();
        top.insert("entries".into(), serde_json::Value::Object(entries));
        helm_yaml(&serde_json::Value::Object(top))
    }

    /// Writes the index to `path` atomically.
    pub fn write(&self, path: &Path) -> Result<(), RepoError> {
        write_atomic(path, self.to_yaml().as_bytes(), false)
    }

    /// Whether the index has `name` at `version`.
    pub fn has(&self, name: &str, version: &str) -> bool {
        self.entries
            .get(name)
            .is_some_and(|vs| vs.iter().any(|v| v.version() == version))
    }

    /// Adds a package: `file_name` is its path relative to the repository root, `base_url`
    /// the repository URL (empty for relative URLs).
    pub fn add(&mut self, metadata: Metadata, file_name: &str, base_url: &str, digest: &str) {
        let url = url_join(base_url, file_name);
        let entry = ChartVersion {
            metadata,
            urls: vec![url],
            created: now(),
            removed: false,
            digest: digest.to_string(),
        };
        self.entries
            .entry(entry.metadata.name.clone())
            .or_default()
            .push(entry);
    }

    /// Adds every chart version of `other` this index lacks (`repo index --merge`: the new
    /// packages win over the old index's entries of the same version).
    pub fn merge(&mut self, other: &IndexFile) {
        for (name, versions) in &other.entries {
            for v in versions {
                if !self.has(name, v.version()) {
                    self.entries
                        .entry(name.clone())
                        .or_default()
                        .push(v.clone());
                }
            }
        }
        self.sort_entries();
    }

    /// Sorts each chart's versions newest first (semver precedence; unparsable last).
    pub fn sort_entries(&mut self) {
        for versions in self.entries.values_mut() {
            versions.sort_by(|a, b| {
                match (
                    parse_lenient_version(a.version()),
                    parse_lenient_version(b.version()),
                ) {
                    (Ok(x), Ok(y)) => compare_versions(&y, &x),
                    (Ok(_), Err(_)) => std::cmp::Ordering::Less,
                    (Err(_), Ok(_)) => std::cmp::Ordering::Greater,
                    (Err(_), Err(_)) => a.version().cmp(b.version()),
                }
            });
        }
    }

    /// Builds the index of the packages in `dir` and its direct subdirectories (`*.tgz` and
    /// `*/*.tgz`, as helm). Files that are not charts, and duplicates of a name and version
    /// already indexed, are skipped with a warning.
    pub fn from_dir(dir: &Path, base_url: &str) -> Result<IndexFile, RepoError> {
        let mut index = IndexFile::new();
        let mut archives: Vec<PathBuf> = Vec::new();
        let read_dir = |d: &Path| -> Result<Vec<PathBuf>, RepoError> {
            let mut out: Vec<PathBuf> = std::fs::read_dir(d)
                .map_err(|e| RepoError::read(d, e))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            out.sort();
            Ok(out)
        };
        for path in read_dir(dir)? {
            if path.is_dir() {
                archives.extend(
                    read_dir(&path)?
                        .into_iter()
                        .filter(|p| p.is_file() && is_tgz(p)),
                );
            } else if is_tgz(&path) {
                archives.push(path);
            }
        }
        archives.sort_by(|a, b| {
            let depth = |p: &Path| {
                p.strip_prefix(dir)
                    .map(|r| r.components().count())
                    .unwrap_or(0)
            };
            depth(a).cmp(&depth(b)).then_with(|| a.cmp(b))
        });
        for path in archives {
            let bytes = std::fs::read(&path).map_err(|e| RepoError::read(&path, e))?;
            let shown = path.display().to_string();
            let chart = match chart::load_archive(&bytes, &shown) {
                Ok(c) => c,
                Err(e) => {
                    index
                        .warnings
                        .push(format!("skipping {shown}, it is not a chart: {e}"));
                    continue;
                }
            };
            let relative = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            if index.has(chart.name(), &chart.metadata.version) {
                index.warnings.push(format!(
                    "skipping {shown}: {} {} is already indexed from another file",
                    chart.name(),
                    chart.metadata.version
                ));
                continue;
            }
            index.add(chart.metadata, &relative, base_url, &sha256_hex(&bytes));
        }
        index.sort_entries();
        Ok(index)
    }

    /// The version of chart `name` to use: `constraint` (an exact version wins outright),
    /// else the newest stable version, or the newest of all with `devel`.
    pub fn get(
        &self,
        name: &str,
        constraint: Option<&str>,
        devel: bool,
        origin: &str,
    ) -> Result<&ChartVersion, RepoError> {
        let versions = self
            .entries
            .get(name)
            .filter(|v| !v.is_empty())
            .ok_or_else(|| RepoError::ChartNotFound {
                origin: origin.to_string(),
                chart: name.to_string(),
            })?;
        let wanted = constraint.map(str::trim).filter(|c| !c.is_empty());
        if let Some(exact) = wanted
            && let Some(v) = versions.iter().find(|v| v.version() == exact)
        {
            return Ok(v);
        }
        let text = wanted.unwrap_or(if devel { ">0.0.0-0" } else { "*" });
        let parsed = parse_constraint(text)?;
        versions
            .iter()
            .find(|v| {
                parse_lenient_version(v.version())
                    .map(|ver| parsed.matches(&ver))
                    .unwrap_or(false)
            })
            .ok_or_else(|| RepoError::NoMatchingVersion {
                chart: name.to_string(),
                origin: origin.to_string(),
                constraint: text.to_string(),
                available: versions.iter().map(|v| v.version().to_string()).collect(),
            })
    }
}

fn is_tgz(p: &Path) -> bool {
    p.extension().is_some_and(|e| e == "tgz")
}

fn scalar_text(v: &serde_yaml::Value) -> String {
    match v {
        serde_yaml::Value::String(s) => s.clone(),
        serde_yaml::Value::Number(n) => n.to_string(),
        serde_yaml::Value::Bool(b) => b.to_string(),
        _ => String::new(),
    }
}

fn validate_entry(cv: &ChartVersion) -> Result<(), String> {
    if cv.metadata.name.is_empty() {
        return Err("it has no name".into());
    }
    if cv.metadata.version.is_empty() {
        return Err("it has no version".into());
    }
    parse_lenient_version(&cv.metadata.version).map_err(|e| e.to_string())?;
    Ok(())
}

/// helm's `URLJoin`: `base` with `rel` appended to its path (`""` base: `rel` as is).
pub fn url_join(base: &str, rel: &str) -> String {
    if base.is_empty() {
        return rel.to_string();
    }
    match reqwest::Url::parse(base) {
        Ok(mut url) => {
            let joined = format!("{}/{}", url.path().trim_end_matches('/'), rel);
            url.set_path(&clean_path(&joined));
            url.to_string()
        }
        Err(_) => format!("{}/{}", base.trim_end_matches('/'), rel),
    }
}

fn clean_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// The absolute URL of a chart listed in the index of the repository at `repo_url`
/// (helm's `ResolveReferenceURL`): absolute URLs as they are, relative ones under the
/// repository URL (which keeps its query string).
pub fn resolve_chart_url(repo_url: &str, chart_url: &str) -> Result<reqwest::Url, RepoError> {
    if let Ok(absolute) = reqwest::Url::parse(chart_url) {
        return Ok(absolute);
    }
    let mut base = reqwest::Url::parse(repo_url).map_err(|e| {
        RepoError::InvalidReference(format!("invalid repository URL {repo_url}: {e}"))
    })?;
    let query = base.query().map(str::to_string);
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    let mut url = base.join(chart_url).map_err(|e| {
        RepoError::InvalidReference(format!("invalid chart URL {chart_url} in {repo_url}: {e}"))
    })?;
    if url.query().is_none()
        && let Some(q) = query
    {
        url.set_query(Some(&q));
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chart_urls_resolve_against_the_repository_url_as_helm_does() {
        let cases = [
            (
                "http://r.test/charts",
                "a-1.0.0.tgz",
                "http://r.test/charts/a-1.0.0.tgz",
            ),
            (
                "http://r.test/charts/",
                "a-1.0.0.tgz",
                "http://r.test/charts/a-1.0.0.tgz",
            ),
            (
                "http://r.test/charts",
                "sub/a-1.0.0.tgz",
                "http://r.test/charts/sub/a-1.0.0.tgz",
            ),
            (
                "http://r.test/charts",
                "/abs/a.tgz",
                "http://r.test/abs/a.tgz",
            ),
            (
                "http://r.test/charts",
                "https://cdn.test/a.tgz",
                "https://cdn.test/a.tgz",
            ),
            (
                "https://r.test/c?sig=abc",
                "a-1.0.0.tgz",
                "https://r.test/c/a-1.0.0.tgz?sig=abc",
            ),
        ];
        for (repo, chart, want) in cases {
            assert_eq!(
                resolve_chart_url(repo, chart).unwrap().as_str(),
                want,
                "{repo} + {chart}"
            );
        }
    }

    #[test]
    fn index_urls_join_like_helms_url_join() {
        assert_eq!(url_join("", "a.tgz"), "a.tgz");
        assert_eq!(
            url_join("https://x.test/c/", "a.tgz"),
            "https://x.test/c/a.tgz"
        );
        assert_eq!(
            url_join("https://x.test", "sub/a.tgz"),
            "https://x.test/sub/a.tgz"
        );
        assert_eq!(
            url_join("https://x.test/c/./d/..", "a.tgz"),
            "https://x.test/c/a.tgz"
        );
    }

    #[test]
    fn an_exact_version_wins_over_constraint_semantics() {
        let text = "apiVersion: v1\nentries:\n  a:\n  - name: a\n    version: 2.0.0-rc.1\n  - name: a\n    version: 1.0.0\n";
        let index = IndexFile::parse(text.as_bytes(), "t").unwrap();
        assert_eq!(
            index
                .get("a", Some("2.0.0-rc.1"), false, "t")
                .unwrap()
                .version(),
            "2.0.0-rc.1"
        );
        assert_eq!(index.get("a", None, false, "t").unwrap().version(), "1.0.0");
        assert_eq!(
            index.get("a", None, true, "t").unwrap().version(),
            "2.0.0-rc.1"
        );
        let err = index
            .get("a", Some("^3"), false, "repository \"r\"")
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "no version of chart \"a\" in repository \"r\" matches \"^3\"; available: 2.0.0-rc.1, 1.0.0"
        );
    }
}

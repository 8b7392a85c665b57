//! `rudder search repo [KEYWORD] [--version C] [--versions] [--devel] [-o …]`: searches the
//! cached indexes of the configured repositories, as helm's `search repo`.

use crate::chart::constraint::{parse_constraint, parse_lenient_version};
use crate::output::{OutputFormat, encode, table};
use crate::repo::{ChartVersion, IndexFile, RepoError, RepoFile, RepoSettings};

/// What to search for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SearchOptions {
    /// Case-insensitive text matched against `repo/chart`, description and keywords.
    pub keyword: Option<String>,
    /// Version constraint; default: stable versions only (`>0.0.0`).
    pub version: Option<String>,
    /// Every matching version, not only the newest of each chart.
    pub versions: bool,
    /// Include pre-release versions (`>0.0.0-0`) when no constraint is given.
    pub devel: bool,
    /// The keyword is a regular expression (`--regexp`).
    pub regexp: bool,
}

/// One search hit.
#[derive(Debug, Clone, PartialEq)]
pub struct SearchResult {
    /// `repo/chart`.
    pub name: String,
    pub chart: ChartVersion,
    score: usize,
}

/// The results (sorted by relevance, then name, newest version first) and warnings about
/// repositories whose cache is missing or corrupt.
pub fn search_repo(
    opts: &SearchOptions,
    settings: &RepoSettings,
) -> Result<(Vec<SearchResult>, Vec<String>), RepoError> {
    let file = RepoFile::load(&settings.repository_config)?;
    if file.repositories.is_empty() {
        return Err(RepoError::InvalidArgument(
            "no repositories configured (add one with `rudder repo add NAME URL`)".into(),
        ));
    }
    let constraint_text = match opts.version.as_deref().map(str::trim) {
        Some(v) if !v.is_empty() => v.to_string(),
        _ if opts.devel => ">0.0.0-0".to_string(),
        _ => ">0.0.0".to_string(),
    };
    let constraint = parse_constraint(&constraint_text)?;
    let term = opts.keyword.as_deref().unwrap_or("").to_lowercase();
    let pattern =
        if opts.regexp {
            Some(regex::Regex::new(&term).map_err(|e| {
                RepoError::InvalidArgument(format!("invalid --regexp \"{term}\": {e}"))
            })?)
        } else {
            None
        };
    let mut warnings = Vec::new();
    let mut hits = Vec::new();
    for repo in &file.repositories {
        let index = match IndexFile::load(&settings.index_path(&repo.name)) {
            Ok(i) => i,
            Err(e) => {
                warnings.push(format!(
                    "repository \"{}\" is corrupt or missing, try `rudder repo update {}`: {e}",
                    repo.name, repo.name
                ));
                continue;
            }
        };
        for (chart, versions) in &index.entries {
            let name = format!("{}/{}", repo.name, chart);
            for cv in versions {
                let text = format!(
                    "{}\x0b{}\x0b{}",
                    name,
                    cv.metadata.description.as_deref().unwrap_or(""),
                    cv.metadata.keywords.join(" ")
                )
                .to_lowercase();
                let found = match &pattern {
                    Some(re) => re.find(&text).map(|m| m.start()),
                    None => text.find(&term),
                };
                let Some(score) = found else {
                    continue;
                };
                hits.push(SearchResult {
                    name: name.clone(),
                    chart: cv.clone(),
                    score,
                });
            }
        }
    }
    // Newest first within a chart (indexes are sorted), relevance then name across charts.
    hits.sort_by(|a, b| a.score.cmp(&b.score).then_with(|| a.name.cmp(&b.name)));
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for hit in hits {
        if !opts.versions && seen.contains(&hit.name) {
            continue;
        }
        let Ok(v) = parse_lenient_version(hit.chart.version()) else {
            continue;
        };
        if constraint.matches(&v) {
            seen.insert(hit.name.clone());
            out.push(hit);
        }
    }
    Ok((out, warnings))
}

/// Renders results as helm does (`No results found` for an empty table).
pub fn render(results: &[SearchResult], format: OutputFormat, max_col_width: usize) -> String {
    match format {
        OutputFormat::Table => {
            if results.is_empty() {
                return "No results found\n".to_string();
            }
            let mut rows = vec![vec![
                "NAME".to_string(),
                "CHART VERSION".to_string(),
                "APP VERSION".to_string(),
                "DESCRIPTION".to_string(),
            ]];
            rows.extend(results.iter().map(|r| {
                vec![
                    r.name.clone(),
                    r.chart.version().to_string(),
                    r.chart.metadata.app_version.clone().unwrap_or_default(),
                    r.chart.metadata.description.clone().unwrap_or_default(),
                ]
            }));
            table(&rows, Some(max_col_width))
        }
        other => encode(
            &serde_json::Value::Array(
                results
                    .iter()
                    .map(|r| {
                        serde_json::json!({
                            "name": r.name,
                            "version": r.chart.version(),
                            "app_version": r.chart.metadata.app_version.clone().unwrap_or_default(),
                            "description": r.chart.metadata.description.clone().unwrap_or_default(),
                        })
                    })
                    .collect(),
            ),
            other,
        ),
    }
}

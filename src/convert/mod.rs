//! `rudder convert`'s engine: a helm (Go-template) chart tree in, the same chart as a tera
//! chart out, file by file — `Chart.yaml` marked `rudder.io/engine: tera`, templates
//! translated ([`translate`]), helpers given calling conventions ([`helpers`]), everything
//! else carried over. [`proof`] renders both and compares them.

pub mod helpers;
pub mod proof;
pub mod translate;

use std::collections::{BTreeMap, BTreeSet};

use crate::chart::{Chart, ChartFile, ENGINE_ANNOTATION};
use crate::engine::gotmpl::exec::is_builtin_name;
use crate::engine::gotmpl::parse::{self, Parsed};
use crate::engine::gotmpl::render::helm_order;
use crate::engine::library::Funcs;
pub use translate::Finding;

/// Why a chart cannot be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    #[error(
        "{0} is already a tera chart (its Chart.yaml has rudder.io/engine: tera); there is nothing to convert"
    )]
    AlreadyTera(String),
    #[error("parse error at ({file}:{line}): {message}")]
    Parse {
        file: String,
        line: usize,
        message: String,
    },
    #[error("{0} is not UTF-8 text, so it cannot be a template")]
    NotText(String),
    #[error("cannot write Chart.yaml of {chart}: {source}")]
    Metadata {
        chart: String,
        source: serde_yaml::Error,
    },
}

/// What `rudder convert` writes: files by path relative to the output chart's root, and
/// what may not behave as before.
#[derive(Debug, Default)]
pub struct Conversion {
    pub files: Vec<ChartFile>,
    pub findings: Vec<Finding>,
}

/// A template of the tree, parsed: its display path (`chart/templates/x.yaml`), source and
/// tree; `None` for templates of tera charts.
type ParsedTemplate<'a> = Option<(String, &'a str, Parsed)>;

/// One chart of the tree as the conversion sees it.
struct Node<'a> {
    chart: &'a Chart,
    /// `` for the top chart, `charts/sub/` below it.
    prefix: String,
    /// `mychart` or `mychart/charts/sub`, as errors name templates.
    display: String,
    convert: bool,
}

fn tree<'a>(chart: &'a Chart, keep_subcharts: bool) -> Vec<Node<'a>> {
    let mut nodes = vec![Node {
        chart,
        prefix: String::new(),
        display: chart.name().to_string(),
        convert: !chart.uses_tera(),
    }];
    let mut next = 0;
    while next < nodes.len() {
        let (parent, prefix, display) = (
            nodes[next].chart,
            nodes[next].prefix.clone(),
            nodes[next].display.clone(),
        );
        for sub in &parent.dependencies {
            nodes.push(Node {
                chart: sub,
                prefix: format!("{prefix}charts/{}/", sub.name()),
                display: format!("{display}/charts/{}", sub.name()),
                convert: !keep_subcharts && !sub.uses_tera(),
            });
        }
        next += 1;
    }
    nodes
}

/// Converts `chart` (and its Go-template subcharts, unless `keep_subcharts`) to tera.
/// Nothing is written here; the caller writes [`Conversion::files`].
pub fn convert(chart: &Chart, keep_subcharts: bool) -> Result<Conversion, ConvertError> {
    if chart.uses_tera() {
        return Err(ConvertError::AlreadyTera(chart.name().to_string()));
    }
    let nodes = tree(chart, keep_subcharts);

    // Parse every Go template of the tree: helpers are shared by all of them.
    let mut parsed: Vec<Vec<ParsedTemplate>> = Vec::new();
    for node in &nodes {
        let mut files = Vec::new();
        for file in &node.chart.templates {
            let display = format!("{}/{}", node.display, file.name);
            if node.chart.uses_tera() {
                files.push(None);
                continue;
            }
            let src = std::str::from_utf8(&file.data)
                .map_err(|_| ConvertError::NotText(display.clone()))?;
            let tree = parse_go(src).map_err(|e| ConvertError::Parse {
                file: display.clone(),
                line: e.line,
                message: e.message,
            })?;
            files.push(Some((display, src, tree)));
        }
        parsed.push(files);
    }
    let all: Vec<&Parsed> = parsed
        .iter()
        .flatten()
        .flatten()
        .map(|(_, _, p)| p)
        .collect();
    let mut helpers = helpers::Helpers::analyze(&all);
    for (node, files) in nodes.iter().zip(&parsed) {
        if !node.convert {
            for (_, _, tree) in files.iter().flatten() {
                helpers.mark_kept(tree);
            }
        }
    }

    let losers = overridden_defines(&nodes, &parsed);
    let mut out = Conversion::default();
    let mut texts: Vec<String> = Vec::new();
    let mut slots: Vec<String> = Vec::new();
    let mut uses = BTreeMap::new();
    for (node, files) in nodes.iter().zip(&parsed) {
        let values = serde_json::Value::Object(node.chart.values.clone());
        out.files.push(ChartFile {
            name: format!("{}Chart.yaml", node.prefix),
            data: chart_yaml(node.chart, node.convert)?,
        });
        if let Some(raw) = &node.chart.raw_values {
            out.files.push(ChartFile {
                name: format!("{}values.yaml", node.prefix),
                data: raw.clone().into_bytes(),
            });
        }
        if let Some(schema) = &node.chart.schema {
            out.files.push(ChartFile {
                name: format!("{}values.schema.json", node.prefix),
                data: schema.clone(),
            });
        }
        for file in &node.chart.files {
            out.files.push(ChartFile {
                name: format!("{}{}", node.prefix, file.name),
                data: file.data.clone(),
            });
        }
        for (file, parsed) in node.chart.templates.iter().zip(files) {
            let name = format!("{}{}", node.prefix, file.name);
            match parsed {
                Some((display, src, tree)) if node.convert => {
                    let no_losers = BTreeSet::new();
                    let lost = losers.get(display.as_str()).unwrap_or(&no_losers);
                    let t = translate::translate(src, tree, display, &helpers, &values, lost);
                    out.findings.extend(t.findings);
                    uses.extend(t.root_use);
                    texts.push(t.text);
                    slots.push(name);
                }
                _ => out.files.push(file_named(name, file.data.clone())),
            }
        }
    }
    translate::fill_headers(&mut texts, &helpers, &uses);
    for (name, text) in slots.into_iter().zip(texts) {
        out.files.push(file_named(name, text.into_bytes()));
    }
    out.files.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

/// Defines that another file of the same chart defines again and helm uses instead (the
/// one parsed last in helm's order, unless empty): by file, the names that lose there.
fn overridden_defines<'a>(
    nodes: &[Node],
    parsed: &'a [Vec<ParsedTemplate<'a>>],
) -> BTreeMap<&'a str, BTreeSet<String>> {
    let mut losers: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for (_, files) in nodes.iter().zip(parsed) {
        let mut ordered: Vec<&(String, &str, Parsed)> = files.iter().flatten().collect();
        ordered.sort_by(|a, b| helm_order(&a.0, &b.0));
        let mut winner: BTreeMap<&str, &str> = BTreeMap::new();
        let mut all: Vec<(&str, &str)> = Vec::new();
        for (display, src, tree) in ordered {
            for (name, body) in &tree.defines {
                all.push((name.as_str(), display.as_str()));
                if !parse::is_empty_tree(body, src) || !winner.contains_key(name.as_str()) {
                    winner.insert(name.as_str(), display.as_str());
                }
            }
        }
        for (name, display) in all {
            if winner.get(name) != Some(&display) {
                losers.entry(display).or_default().insert(name.to_string());
            }
        }
    }
    losers
}

/// Parses Go template text as helm does, knowing every function of the library.
pub(crate) fn parse_go(src: &str) -> Result<Parsed, parse::ParseError> {
    parse::parse(src, &|f| is_builtin_name(f) || Funcs::library().contains(f))
}

/// Go template text (a value rendered by `tpl`) as tera text, for `tpl(go=true)`: a
/// converted chart keeps rendering values written for the helm chart.
pub fn translate_text(src: &str) -> Result<String, String> {
    let tree = parse_go(src).map_err(|e| format!("line {}: {}", e.line, e.message))?;
    let helpers = helpers::Helpers::analyze(&[&tree]);
    let translated = translate::translate(
        src,
        &tree,
        "tpl",
        &helpers,
        &serde_json::Value::Null,
        &BTreeSet::new(),
    );
    let mut texts = vec![translated.text];
    translate::fill_headers(&mut texts, &helpers, &translated.root_use);
    Ok(texts.remove(0))
}

fn file_named(name: String, data: Vec<u8>) -> ChartFile {
    ChartFile { name, data }
}

/// `Chart.yaml`, marked as tera when the chart is converted.
fn chart_yaml(chart: &Chart, convert: bool) -> Result<Vec<u8>, ConvertError> {
    let mut metadata = chart.metadata.clone();
    if convert {
        metadata
            .annotations
            .insert(ENGINE_ANNOTATION.to_string(), "tera".to_string());
    }
    serde_yaml::to_string(&metadata)
        .map(String::into_bytes)
        .map_err(|source| ConvertError::Metadata {
            chart: chart.name().to_string(),
            source,
        })
}

//! Manifests: rendered documents parsed into Kubernetes objects, validated and ordered.
//!
//! [`parse_rendered`] splits every rendered template into YAML documents, drops empty ones,
//! and checks each is a mapping with `apiVersion`, `kind` and `metadata.name`, that no two
//! objects share kind/namespace/name, and that hook annotations make sense. Then
//! [`split_hooks`] separates hooks from ordinary resources, [`sort_for_install`] /
//! [`sort_for_uninstall`] order them by kind like helm, and [`to_helm_output`] prints them the
//! way `helm template` does.

pub mod depends;
mod header;
mod hooks;
mod order;

use std::collections::HashMap;

use rayon::prelude::*;

use crate::engine::{Rendered, RenderedTemplate};

pub use hooks::{
    HOOK_ANNOTATION, HOOK_DELETE_POLICY_ANNOTATION, HOOK_WEIGHT_ANNOTATION, Hook, HookDeletePolicy,
    HookEvent, parse_hook_metadata,
};
pub use order::{INSTALL_ORDER, UNINSTALL_ORDER, compare_kinds};

/// One Kubernetes object from a rendered template.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// The template it came from (`mychart/templates/deployment.yaml`).
    pub source: String,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    /// `metadata.namespace` when the document sets it.
    pub namespace: Option<String>,
    /// The document's YAML text as rendered (surrounding whitespace trimmed).
    pub text: String,
    /// Its hook annotations, when it is a hook.
    pub hook: Option<Hook>,
    /// Why the document cannot be applied (a mapping without `apiVersion`, `kind` or
    /// `metadata.name`). `template` prints it as helm does; install, upgrade and lint
    /// refuse it ([`check_applicable`]).
    pub problem: Option<ManifestError>,
}

impl Manifest {
    /// Whether the document is a Kubernetes object. A document of only comments is not: helm
    /// keeps it in the release manifest and prints it, but applies nothing for it.
    pub fn is_object(&self) -> bool {
        !self.kind.is_empty() && self.problem.is_none()
    }

    /// `Kind/name` or `Kind/namespace/name`, for messages.
    pub fn display_name(&self) -> String {
        match &self.namespace {
            Some(ns) => format!("{}/{}/{}", self.kind, ns, self.name),
            None => format!("{}/{}", self.kind, self.name),
        }
    }

    /// The whole object, built from its text. Parsing checked that the text builds (see
    /// `header`); rendering keeps only the text so large charts stay cheap.
    pub fn object(&self) -> serde_json::Value {
        serde_yaml::from_str(&self.text)
            .expect("a manifest's text was validated as a JSON object when it was parsed")
    }
}

/// A rendered document that is not a valid Kubernetes object, or a clash between two.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    #[error("{source_path}: document {document} (line {line}) is not valid YAML: {message}")]
    InvalidYaml {
        source_path: String,
        document: usize,
        line: usize,
        message: String,
    },
    #[error(
        "{source_path}: document {document} (line {line}) is not a mapping: a Kubernetes object needs apiVersion, kind and metadata"
    )]
    NotAMapping {
        source_path: String,
        document: usize,
        line: usize,
    },
    #[error("{source_path}: document {document} (line {line}) has no {field}")]
    MissingField {
        source_path: String,
        document: usize,
        line: usize,
        field: &'static str,
    },
    #[error("{source_path}: {object} has an invalid hook: {message}")]
    InvalidHook {
        source_path: String,
        object: String,
        message: String,
    },
    #[error("{object} is defined twice: in {first} and in {second}")]
    Duplicate {
        object: String,
        first: String,
        second: String,
    },
}

/// Splits a rendered template into `(first line number, document text)` pieces at `---`
/// separator lines (text after `--- ` on a separator line starts the next document).
fn split_documents(content: &str) -> Vec<(usize, &str)> {
    let mut docs = Vec::new();
    let mut start = 0;
    let mut start_line = 1;
    let mut offset = 0;
    for (index, line) in content.split_inclusive('\n').enumerate() {
        let line_number = index + 1;
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.trim_end() == "---" || bare.starts_with("--- ") {
            docs.push((start_line, &content[start..offset]));
            let rest = bare[3..].trim();
            if !rest.is_empty() && !rest.starts_with('#') {
                start = offset + (bare.len() - bare[3..].trim_start().len());
                start_line = line_number;
            } else {
                start = offset + line.len();
                start_line = line_number + 1;
            }
        }
        offset += line.len();
    }
    docs.push((start_line, &content[start..]));
    docs
}

/// Parses one template's output into manifests.
pub fn parse_template(source: &str, content: &str) -> Result<Vec<Manifest>, ManifestError> {
    parse_documents(source, &split_documents(content), true)
}

/// [`parse_template`] for a template the caller is done with: a template of one document
/// (most are) keeps its text's allocation as the manifest's text. The render hands each
/// template to another thread to parse; freeing the text there would contend with the
/// rendering thread's allocator, and copying it would cost as much again.
pub fn parse_owned(template: RenderedTemplate) -> Result<Vec<Manifest>, ManifestError> {
    let RenderedTemplate { path, mut content } = template;
    let documents = split_documents(&content);
    let mut texts = documents
        .iter()
        .map(|(_, text)| text.trim())
        .filter(|text| !text.is_empty());
    let (Some(only), None) = (texts.next(), texts.next()) else {
        return parse_documents(&path, &documents, true);
    };
    let start = only.as_ptr() as usize - content.as_ptr() as usize;
    let end = start + only.len();
    let mut manifests = parse_documents(&path, &documents, false)?;
    content.truncate(end);
    content.drain(..start);
    // The rendering grew the text by doubling; it is kept until the release is written.
    content.shrink_to_fit();
    if let Some(manifest) = manifests.first_mut() {
        manifest.text = content;
    }
    Ok(manifests)
}

/// Reads each document's header; with `copy_text` each manifest keeps a copy of its
/// trimmed document (without, the caller fills the text in).
fn parse_documents(
    source: &str,
    documents: &[(usize, &str)],
    copy_text: bool,
) -> Result<Vec<Manifest>, ManifestError> {
    let own = |trimmed: &str| {
        if copy_text {
            trimmed.to_string()
        } else {
            String::new()
        }
    };
    // Most templates hold one document: the list is sized for what the text holds.
    let mut out = Vec::with_capacity(documents.len());
    let mut document = 0;
    for &(first_line, text) in documents {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            continue;
        }
        document += 1;
        let line = first_line + leading_blank_lines(text);
        let parsed = header::Document::read(trimmed).map_err(|e| ManifestError::InvalidYaml {
            source_path: source.to_string(),
            document,
            line: line
                + e.location()
                    .map(|l| l.line().saturating_sub(1))
                    .unwrap_or(0),
            message: strip_location(&e.to_string()),
        })?;
        let (api_version, kind, metadata) = match parsed {
            // Only comments: nothing to apply, but helm keeps the text (see `is_object`).
            header::Document::Empty => {
                out.push(Manifest {
                    source: source.to_string(),
                    api_version: String::new(),
                    kind: String::new(),
                    name: String::new(),
                    namespace: None,
                    text: own(trimmed),
                    hook: None,
                    problem: None,
                });
                continue;
            }
            header::Document::NotAMapping => {
                return Err(ManifestError::NotAMapping {
                    source_path: source.to_string(),
                    document,
                    line,
                });
            }
            header::Document::Object {
                api_version,
                kind,
                metadata,
            } => (api_version, kind, metadata.unwrap_or_default()),
        };
        let missing = |field| ManifestError::MissingField {
            source_path: source.to_string(),
            document,
            line,
            field,
        };
        let non_empty = |v: Option<&serde_json::Value>| {
            v.and_then(|v| v.as_str())
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let api_version = non_empty(api_version.as_ref());
        let kind = non_empty(kind.as_ref());
        let name = non_empty(metadata.get("name"));
        let problem = match (&api_version, &kind, &name) {
            (None, _, _) => Some(missing("apiVersion")),
            (_, None, _) => Some(missing("kind")),
            (_, _, None) => Some(missing("metadata.name")),
            _ => None,
        };
        let namespace = non_empty(metadata.get("namespace"));
        let mut manifest = Manifest {
            source: source.to_string(),
            api_version: api_version.unwrap_or_default(),
            kind: kind.unwrap_or_default(),
            name: name.unwrap_or_default(),
            namespace,
            text: own(trimmed),
            hook: None,
            problem,
        };
        manifest.hook = hooks::parse_hook_metadata(&metadata).map_err(|message| {
            ManifestError::InvalidHook {
                source_path: source.to_string(),
                object: manifest.display_name(),
                message,
            }
        })?;
        out.push(manifest);
    }
    Ok(out)
}

fn leading_blank_lines(text: &str) -> usize {
    text.lines().take_while(|l| l.trim().is_empty()).count()
}

/// serde_yaml appends "at line L column C"; the error already says where, in template terms.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(pos) => message[..pos].to_string(),
        None => message.to_string(),
    }
}

/// Parses every rendered template into manifests, in template path order then document
/// order. Empty documents are dropped; anything else that is not a Kubernetes object, and
/// any kind/namespace/name defined twice, is an error naming the template(s).
pub fn parse_rendered(rendered: &Rendered) -> Result<Vec<Manifest>, ManifestError> {
    let mut templates: Vec<_> = rendered.templates.iter().collect();
    templates.sort_by(|a, b| a.path.cmp(&b.path));
    let parsed: Vec<Result<Vec<Manifest>, ManifestError>> = templates
        .par_iter()
        .map(|t| parse_template(&t.path, &t.content))
        .collect();
    collect_parsed(parsed)
}

/// Joins the [`parse_template`] results of every template (in template path order): the
/// first template's error, else all manifests.
pub fn collect_parsed(
    parsed: Vec<Result<Vec<Manifest>, ManifestError>>,
) -> Result<Vec<Manifest>, ManifestError> {
    let parsed: Vec<Vec<Manifest>> = parsed.into_iter().collect::<Result<_, _>>()?;
    Ok(parsed.into_iter().flatten().collect())
}

/// Fails when a document cannot be applied: the first one that is no Kubernetes object
/// (naming its template, document and line), or an object (kind, namespace, name) defined
/// twice (naming both templates). Checked before anything is applied; `template` prints
/// such documents as helm does.
pub fn check_applicable<'a>(
    manifests: impl IntoIterator<Item = &'a Manifest>,
) -> Result<(), ManifestError> {
    let manifests: Vec<&Manifest> = manifests.into_iter().collect();
    if let Some(problem) = manifests.iter().find_map(|m| m.problem.clone()) {
        return Err(problem);
    }
    let mut seen: HashMap<(&str, &str, &str), &Manifest> = HashMap::new();
    for m in manifests.into_iter().filter(|m| m.is_object()) {
        let key = (
            m.kind.as_str(),
            m.namespace.as_deref().unwrap_or(""),
            m.name.as_str(),
        );
        if let Some(first) = seen.insert(key, m) {
            return Err(ManifestError::Duplicate {
                object: m.display_name(),
                first: first.source.clone(),
                second: m.source.clone(),
            });
        }
    }
    Ok(())
}

/// Orders manifests for installation by kind (helm's `InstallOrder`); stable otherwise.
pub fn sort_for_install(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| compare_kinds(&a.kind, &b.kind, INSTALL_ORDER));
}

/// Orders manifests for deletion by kind (helm's `UninstallOrder`); stable otherwise.
pub fn sort_for_uninstall(manifests: &mut [Manifest]) {
    manifests.sort_by(|a, b| compare_kinds(&a.kind, &b.kind, UNINSTALL_ORDER));
}

/// Separates hooks from ordinary resources: `(hooks, resources)`, each keeping its order.
pub fn split_hooks(manifests: Vec<Manifest>) -> (Vec<Manifest>, Vec<Manifest>) {
    manifests.into_iter().partition(|m| m.hook.is_some())
}

/// The hooks that run at `event`, in execution order: weight, then kind (install order),
/// then name.
pub fn hooks_for(event: HookEvent, hooks: &[Manifest]) -> Vec<&Manifest> {
    let mut selected: Vec<&Manifest> = hooks
        .iter()
        .filter(|m| m.hook.as_ref().is_some_and(|h| h.runs_on(event)))
        .collect();
    selected.sort_by(|a, b| {
        let weight = |m: &Manifest| m.hook.as_ref().map_or(0, |h| h.weight);
        weight(a)
            .cmp(&weight(b))
            .then_with(|| compare_kinds(&a.kind, &b.kind, INSTALL_ORDER))
            .then_with(|| a.name.cmp(&b.name))
    });
    selected
}

/// Formats manifests like `helm template`: `---\n# Source: <template>\n<document>\n` each.
pub fn to_helm_output<'a>(manifests: impl IntoIterator<Item = &'a Manifest>) -> String {
    let mut out = String::new();
    for m in manifests {
        out.push_str("---\n# Source: ");
        out.push_str(&m.source);
        out.push('\n');
        out.push_str(&m.text);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;

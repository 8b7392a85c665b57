//! Unit tests for manifest parsing, validation, ordering and output.

use super::*;
use crate::engine::RenderedTemplate;

fn rendered(templates: &[(&str, &str)]) -> Rendered {
    Rendered {
        templates: templates
            .iter()
            .map(|(p, c)| RenderedTemplate {
                path: p.to_string(),
                content: c.to_string(),
            })
            .collect(),
        notes: None,
    }
}

fn object(kind: &str, name: &str) -> String {
    format!("apiVersion: v1\nkind: {kind}\nmetadata:\n  name: {name}\n")
}

#[test]
fn documents_are_split_and_empty_ones_dropped() {
    let content = format!(
        "# leading comment\n{}---\n---\n# only a comment\n---\n\n{}--- # trailing\n",
        object("ConfigMap", "a"),
        object("Secret", "b")
    );
    let manifests = parse_rendered(&rendered(&[("c/templates/x.yaml", &content)])).unwrap();
    // Blank documents are dropped; a document of only comments is kept, as helm keeps it
    // (printed and stored), but it is no object to apply.
    let objects: Vec<_> = manifests
        .iter()
        .filter(|m| m.is_object())
        .map(|m| m.display_name())
        .collect();
    assert_eq!(objects, ["ConfigMap/a", "Secret/b"]);
    let comments: Vec<_> = manifests.iter().filter(|m| !m.is_object()).collect();
    assert_eq!(comments.len(), 1);
    assert_eq!(comments[0].text, "# only a comment");
    let manifests: Vec<_> = manifests.into_iter().filter(|m| m.is_object()).collect();
    assert_eq!(
        manifests[0].text,
        "# leading comment\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a"
    );
    assert_eq!(manifests[0].source, "c/templates/x.yaml");
    assert_eq!(manifests[1].object()["metadata"]["name"], "b");
}

#[test]
fn namespace_is_read_from_metadata() {
    let doc = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: team\n";
    let manifests = parse_rendered(&rendered(&[("c/templates/p.yaml", doc)])).unwrap();
    assert_eq!(manifests[0].namespace.as_deref(), Some("team"));
    assert_eq!(manifests[0].api_version, "v1");
}

#[test]
fn invalid_yaml_names_the_template_and_line() {
    let content = format!(
        "{}---\napiVersion: v1\nkind: [oops\n",
        object("ConfigMap", "a")
    );
    let err = parse_rendered(&rendered(&[("c/templates/bad.yaml", &content)]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("c/templates/bad.yaml: document 2 (line "),
        "{err}"
    );
    assert!(err.contains("is not valid YAML"), "{err}");
}

#[test]
fn a_scalar_document_is_not_an_object() {
    let err = parse_rendered(&rendered(&[("c/templates/s.yaml", "just text\n")]))
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "c/templates/s.yaml: document 1 (line 1) is not a mapping: a Kubernetes object needs apiVersion, kind and metadata"
    );
}

#[test]
fn missing_fields_are_named() {
    let cases = [
        ("kind: Pod\nmetadata:\n  name: p\n", "apiVersion"),
        ("apiVersion: v1\nmetadata:\n  name: p\n", "kind"),
        ("apiVersion: v1\nkind: Pod\nmetadata: {}\n", "metadata.name"),
        ("apiVersion: v1\nkind: Pod\n", "metadata.name"),
    ];
    for (doc, field) in cases {
        let content = format!("\n\n{doc}");
        // Rendering keeps the document (helm's `template` prints it); applying refuses it.
        let manifests = parse_rendered(&rendered(&[("c/templates/m.yaml", &content)])).unwrap();
        assert!(!manifests[0].is_object());
        let err = check_applicable(&manifests).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("c/templates/m.yaml: document 1 (line 3) has no {field}")
        );
    }
}

#[test]
fn duplicates_name_both_templates() {
    // Rendering keeps duplicates (helm's `template` prints them); applying refuses them.
    let manifests = parse_rendered(&rendered(&[
        ("c/templates/a.yaml", &object("ConfigMap", "same")),
        ("c/templates/b.yaml", &object("ConfigMap", "same")),
    ]))
    .unwrap();
    assert_eq!(manifests.len(), 2);
    let err = check_applicable(&manifests).unwrap_err().to_string();
    assert_eq!(
        err,
        "ConfigMap/same is defined twice: in c/templates/a.yaml and in c/templates/b.yaml"
    );
    // Same name in another namespace or of another kind is fine.
    let other_ns = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n  namespace: x\n";
    let distinct = parse_rendered(&rendered(&[
        ("c/templates/a.yaml", &object("ConfigMap", "same")),
        ("c/templates/b.yaml", other_ns),
        ("c/templates/c.yaml", &object("Secret", "same")),
    ]))
    .unwrap();
    assert!(check_applicable(&distinct).is_ok());
}

#[test]
fn install_order_follows_helm_and_is_stable() {
    let content = [
        object("Deployment", "d1"),
        object("Widget", "w"),
        object("Service", "s"),
        object("Namespace", "n"),
        object("Deployment", "d2"),
        object("Apple", "a"),
        object("ConfigMap", "c"),
        object("PriorityClass", "p"),
    ]
    .join("---\n");
    let mut manifests = parse_rendered(&rendered(&[("c/templates/all.yaml", &content)])).unwrap();
    sort_for_install(&mut manifests);
    let order: Vec<_> = manifests.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(order, ["p", "n", "c", "s", "d1", "d2", "a", "w"]);
    sort_for_uninstall(&mut manifests);
    let order: Vec<_> = manifests.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(order, ["s", "d1", "d2", "c", "n", "p", "a", "w"]);
}

#[test]
fn templates_are_read_in_path_order() {
    let manifests = parse_rendered(&rendered(&[
        ("p/templates/b.yaml", &object("ConfigMap", "from-b")),
        (
            "p/charts/sub/templates/z.yaml",
            &object("ConfigMap", "from-sub"),
        ),
        ("p/templates/a.yaml", &object("ConfigMap", "from-a")),
    ]))
    .unwrap();
    let order: Vec<_> = manifests.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(order, ["from-sub", "from-a", "from-b"]);
}

#[test]
fn hooks_are_split_and_ordered_by_weight() {
    let hook = |name: &str, events: &str, weight: i32| {
        format!(
            "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: {name}\n  annotations:\n    \
             helm.sh/hook: {events}\n    helm.sh/hook-weight: \"{weight}\"\n"
        )
    };
    let content = [
        hook("late", "pre-install", 5),
        object("ConfigMap", "plain"),
        hook("early", "pre-install,post-upgrade", -1),
        hook("after", "post-install", 0),
    ]
    .join("---\n");
    let manifests = parse_rendered(&rendered(&[("c/templates/h.yaml", &content)])).unwrap();
    let (hooks, resources) = split_hooks(manifests);
    assert_eq!(resources.len(), 1);
    assert_eq!(resources[0].name, "plain");
    assert_eq!(hooks.len(), 3);
    let pre: Vec<_> = hooks_for(HookEvent::PreInstall, &hooks)
        .iter()
        .map(|m| m.name.as_str())
        .collect();
    assert_eq!(pre, ["early", "late"]);
    let early = hooks.iter().find(|m| m.name == "early").unwrap();
    assert_eq!(early.hook.as_ref().unwrap().weight, -1);
}

#[test]
fn invalid_hook_annotation_names_template_and_object() {
    let doc = "apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: j\n  annotations:\n    helm.sh/hook: post-instal\n";
    let err = parse_rendered(&rendered(&[("c/templates/j.yaml", doc)]))
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with(
            "c/templates/j.yaml: Job/j has an invalid hook: unknown hook event `post-instal`"
        ),
        "{err}"
    );
}

#[test]
fn helm_output_format() {
    let manifests = parse_rendered(&rendered(&[
        ("c/templates/a.yaml", &object("ConfigMap", "a")),
        (
            "c/templates/b.yaml",
            &format!("\n\n{}\n\n", object("Secret", "b")),
        ),
    ]))
    .unwrap();
    assert_eq!(
        to_helm_output(&manifests),
        "---\n# Source: c/templates/a.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n\
         ---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n"
    );
}

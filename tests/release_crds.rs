//! `crds/` on upgrade (beyond helm, which never upgrades them): a CRD that gains a version
//! is applied, one that would lose a stored version or a field is refused before anything
//! is written (then applied with `--force-crds`), `--skip-crds` leaves CRDs alone, and
//! `diff upgrade` shows CRD changes.

mod release_support;

use std::path::{Path, PathBuf};

use rudder::action::config::Configuration;
use rudder::action::diff::{DiffSettings, diff_upgrade};
use rudder::action::install::{DeployOptions, install};
use rudder::action::upgrade::upgrade;
use rudder::kube::ObjectRef;
use rudder::storage::Status;
use serde_json::Value;

use release_support::{deploy_options, object, quiet_settings, start, write_chart};

/// A version of the Widget CRD: `(name, served, storage)` and the fields of its spec.
fn crd(versions: &[(&str, bool, bool)], fields: &str) -> String {
    let mut text = String::from(
        "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}
  scope: Namespaced
  versions:
",
    );
    for (name, served, storage) in versions {
        text.push_str(&format!(
            "    - name: {name}
      served: {served}
      storage: {storage}
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              properties: {{{fields}}}
"
        ));
    }
    text
}

/// The chart: the CRD in `crds/` and one Widget of `version` in its templates.
fn chart(dir: &Path, crd_text: &str, version: &str) -> PathBuf {
    let widget = format!(
        "apiVersion: example.com/{version}\nkind: Widget\nmetadata:\n  name: w\nspec:\n  size: 3\n"
    );
    let _ = std::fs::remove_dir_all(dir.join("widgets"));
    write_chart(
        dir,
        "widgets",
        [
            ("crds/widget.yaml", crd_text.to_string()),
            ("templates/widget.yaml", widget),
        ],
    )
}

fn opts(chart: PathBuf) -> DeployOptions {
    deploy_options("w", chart, &[], quiet_settings())
}

async fn live_crd(c: &Configuration) -> Value {
    let r = ObjectRef {
        namespace: None,
        ..object(
            "apiextensions.k8s.io/v1",
            "CustomResourceDefinition",
            "widgets.example.com",
        )
    };
    c.get(&r).await.unwrap().expect("the CRD exists")
}

fn names(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| {
            v.as_str()
                .map_or_else(|| v["name"].as_str().unwrap().to_string(), str::to_string)
        })
        .collect()
}

async fn revisions(c: &Configuration) -> Vec<(u64, Status)> {
    c.storage
        .history("w")
        .await
        .unwrap()
        .into_iter()
        .map(|r| (r.version, r.info.status))
        .collect()
}

const SIZE: &str = "size: {type: integer}";
const SIZE_AND_COLOR: &str = "size: {type: integer}, color: {type: string}";

#[tokio::test]
async fn crds_are_upgraded_when_safe_refused_when_not_and_forced_on_request() {
    let (_server, c) = start().await;
    let dir = tempfile::tempdir().unwrap();
    let v1_only = crd(&[("v1", true, true)], SIZE_AND_COLOR);
    install(&c, &opts(chart(dir.path(), &v1_only, "v1")))
        .await
        .unwrap();

    // A new storage version, v1 still served: applied before the templates, which now use v2.
    let both = crd(&[("v1", true, false), ("v2", true, true)], SIZE_AND_COLOR);
    let pairs = diff_upgrade(
        &c,
        &opts(chart(dir.path(), &both, "v2")),
        &DiffSettings::default(),
    )
    .await
    .unwrap();
    assert!(
        pairs.iter().any(|p| p.kind == "CustomResourceDefinition"
            && p.before
                .as_ref()
                .is_some_and(|b| b["spec"]["versions"].as_array().unwrap().len() == 1)
            && p.after
                .as_ref()
                .is_some_and(|a| a["spec"]["versions"].as_array().unwrap().len() == 2)),
        "diff upgrade shows the CRD change"
    );
    upgrade(&c, &opts(chart(dir.path(), &both, "v2")))
        .await
        .unwrap();
    let live = live_crd(&c).await;
    assert_eq!(names(&live["spec"]["versions"]), ["v1", "v2"]);
    assert_eq!(names(&live["status"]["storedVersions"]), ["v1", "v2"]);
    let widget = c
        .get(&object("example.com/v2", "Widget", "w"))
        .await
        .unwrap();
    assert_eq!(widget.expect("served at v2")["spec"]["size"], 3);

    // Dropping v1, in which objects are stored: refused, nothing written.
    let v2_only = crd(&[("v2", true, true)], SIZE_AND_COLOR);
    let err = upgrade(&c, &opts(chart(dir.path(), &v2_only, "v2")))
        .await
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "CRD widgets.example.com cannot be upgraded safely: version v1 would be removed while \
         objects are stored in it (status.storedVersions) (nothing was changed; --force-crds \
         upgrades it anyway, --skip-crds leaves it as it is)"
    );
    assert_eq!(
        revisions(&c).await,
        [(1, Status::Superseded), (2, Status::Deployed)]
    );
    assert_eq!(names(&live_crd(&c).await["spec"]["versions"]), ["v1", "v2"]);

    // A field removed from a version is refused too; --skip-crds upgrades the release and
    // leaves the CRD as it is.
    let no_color = crd(&[("v1", true, false), ("v2", true, true)], SIZE);
    let err = upgrade(&c, &opts(chart(dir.path(), &no_color, "v2")))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("field .spec.color of version v1 would be removed; field .spec.color of version v2 would be removed"),
        "{err}"
    );
    let mut skip = opts(chart(dir.path(), &no_color, "v2"));
    skip.skip_crds = true;
    upgrade(&c, &skip).await.unwrap();
    assert!(live_crd(&c).await.to_string().contains("color"));

    // --force-crds: v1 goes, its stored-version entry with it.
    let mut forced = opts(chart(dir.path(), &v2_only, "v2"));
    forced.force_crds = true;
    upgrade(&c, &forced).await.unwrap();
    let live = live_crd(&c).await;
    assert_eq!(names(&live["spec"]["versions"]), ["v2"]);
    assert_eq!(names(&live["status"]["storedVersions"]), ["v2"]);
    assert_eq!(revisions(&c).await.last(), Some(&(4, Status::Deployed)));
}

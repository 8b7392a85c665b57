//! Release records over 1 MiB are split across part Secrets; this checks against kubesim
//! that no part outlives its revision: `--history-max` pruning and uninstall remove every
//! part, a revision Secret deleted by another client (helm's own pruning or uninstall)
//! takes its parts with it through their owner reference, and parts orphaned before that
//! are swept by the next prune.

mod release_support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{DeleteParams, PostParams};
use rudder::action::install::{DeployOptions, install};
use rudder::action::uninstall::uninstall;
use rudder::action::upgrade::upgrade;
use rudder::storage::{PART_TYPE, PARTS_ANNOTATION, SECRET_TYPE, Storage};

/// A chart holding 1.5 MiB of incompressible ConfigMap data (two 768 KiB ConfigMaps), so
/// each revision's record (manifest and templates) needs several part Secrets.
fn big_chart(dir: &Path, salt: &str) -> PathBuf {
    release_support::big_chart(&dir.join(salt), salt, 2)
}

use release_support::{quiet_settings as settings, uninstall_options};

/// Asserts that exactly `versions` have records, each split and with exactly the parts its
/// Secret announces.
fn assert_split(records: &BTreeMap<u64, (usize, usize)>, versions: &[u64]) {
    let found: Vec<u64> = records.keys().copied().collect();
    assert_eq!(found, versions, "{records:?}");
    for (version, (announced, parts)) in records {
        assert!(
            *announced >= 2 && announced == parts,
            "revision {version} announces {announced} parts and has {parts}"
        );
    }
}

/// Revision → (parts its Secret announces, part Secrets found), over the namespace.
async fn records(secrets: &Api<Secret>) -> BTreeMap<u64, (usize, usize)> {
    let mut out: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
    for s in secrets.list(&Default::default()).await.unwrap().items {
        let labels = s.metadata.labels.clone().unwrap_or_default();
        let Some(version) = labels.get("version").and_then(|v| v.parse().ok()) else {
            continue;
        };
        match s.type_.as_deref() {
            Some(SECRET_TYPE) => {
                let announced = s
                    .metadata
                    .annotations
                    .as_ref()
                    .and_then(|a| a.get(PARTS_ANNOTATION))
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(0);
                out.entry(version).or_default().0 = announced;
            }
            Some(PART_TYPE) => out.entry(version).or_default().1 += 1,
            _ => {}
        }
    }
    out
}

#[tokio::test]
async fn no_part_secret_outlives_its_revision() {
    let (_server, c) = release_support::start().await;
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "default");
    let dir = tempfile::tempdir().unwrap();
    let mut opts = DeployOptions {
        name: "big".into(),
        chart: big_chart(dir.path(), "one"),
        settings: settings(),
        history_max: 2,
        ..Default::default()
    };
    install(&c, &opts).await.unwrap();
    for salt in ["two", "three", "four"] {
        opts.chart = big_chart(dir.path(), salt);
        upgrade(&c, &opts).await.unwrap();
    }
    // --history-max 2 kept revisions 3 and 4, each with exactly its own parts.
    assert_split(&records(&secrets).await, &[3, 4]);
    let r4 = Storage::new(&c, "default").get("big", 4).await.unwrap();
    assert!(
        r4.manifest.contains("\"four\""),
        "the record reads back whole"
    );

    // helm pruning or uninstalling deletes only the revision's own Secret: the API server
    // removes its parts with it.
    secrets
        .delete("sh.helm.release.v1.big.v3", &DeleteParams::default())
        .await
        .unwrap();
    let mut left = records(&secrets).await;
    for _ in 0..50 {
        if !left.contains_key(&3) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        left = records(&secrets).await;
    }
    assert_split(&left, &[4]);

    // A part whose revision is gone and that names no owner (written by an older rudder,
    // or left by a crash) is swept by the next prune.
    let orphan: Secret = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "sh.helm.release.v1.big.v1.part1", "labels": {
            "owner": "rudder", "name": "big", "version": "1", "rudder.dev/part": "1"}},
        "type": PART_TYPE,
        "data": {"release": "AAAA"},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &orphan)
        .await
        .unwrap();
    for salt in ["five", "six"] {
        opts.chart = big_chart(dir.path(), salt);
        upgrade(&c, &opts).await.unwrap();
    }
    assert_split(&records(&secrets).await, &[5, 6]);

    // Uninstall leaves no record and no part.
    uninstall(&c, &uninstall_options("big")).await.unwrap();
    let kinds: BTreeSet<String> = secrets
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter_map(|s| s.type_.clone())
        .collect();
    assert!(
        !kinds.contains(PART_TYPE) && !kinds.contains(SECRET_TYPE),
        "{kinds:?}"
    );
}

/// Issue: values over ~1 MiB were not split (`413 Request entity too large`, no word about
/// values). They travel in the parts with the rest of the record, read back whole, and an
/// upgrade with `--reuse-values` keeps them.
#[tokio::test]
async fn values_over_a_megabyte_are_split_with_the_record() {
    let (_server, c) = release_support::start().await;
    let secrets: Api<Secret> = Api::namespaced(c.client.clone(), "default");
    let dir = tempfile::tempdir().unwrap();
    // 2 MiB of incompressible text (a xorshift stream, hex-encoded).
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let blob: String = (0..(1 << 20))
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            format!("{:02x}", state as u8)
        })
        .collect();
    let values = dir.path().join("big-values.yaml");
    std::fs::write(&values, format!("blob: {blob}\n")).unwrap();
    let mut opts = release_support::deploy_options(
        "bigvalues",
        release_support::release_chart("app"),
        &[],
        settings(),
    );
    opts.values
        .sources
        .push(rudder::values::ValueSource::File(values));
    install(&c, &opts).await.unwrap();
    assert_split(&records(&secrets).await, &[1]);
    let storage = Storage::new(&c, "default");
    let r1 = storage.get("bigvalues", 1).await.unwrap();
    assert_eq!(r1.config["blob"].as_str(), Some(blob.as_str()));

    let mut again = release_support::deploy_options(
        "bigvalues",
        release_support::release_chart("app"),
        &["greeting=again"],
        settings(),
    );
    again.reuse_values = true;
    upgrade(&c, &again).await.unwrap();
    assert_split(&records(&secrets).await, &[1, 2]);
    let r2 = storage.get("bigvalues", 2).await.unwrap();
    assert_eq!(r2.config["blob"].as_str(), Some(blob.as_str()));
    assert_eq!(r2.config["greeting"], "again");
}

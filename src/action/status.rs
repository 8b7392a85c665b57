//! `rudder status NAME`: a revision's state as `helm status` prints it, optionally with the
//! live state of its resources (`--show-resources`).

use crate::action::lifecycle::{
    OutputFormat, ReleaseError, encode, group_by_kind, live_objects, status_text, stored_objects,
};
use crate::kube::Cluster;
use crate::storage::Storage;

/// Prints the status of a release in `cluster.namespace` (revision 0 = latest).
pub async fn status(
    cluster: &Cluster,
    name: &str,
    revision: u64,
    show_resources: bool,
    format: OutputFormat,
) -> Result<String, ReleaseError> {
    let storage = Storage::new(cluster, &cluster.namespace);
    let release = storage.get(name, revision).await?;
    if format != OutputFormat::Table {
        let value = serde_json::to_value(&release).expect("releases serialize");
        return Ok(encode(&value, format));
    }
    let mut text = status_text(&release, false);
    if show_resources {
        let objects = stored_objects(cluster, &release).await?;
        let refs: Vec<_> = objects.iter().map(|p| p.r.clone()).collect();
        let live = live_objects(cluster, &refs).await;
        let mut section = String::from("RESOURCES:\n");
        for (kind, refs) in group_by_kind(&objects) {
            section.push_str(&format!("==> {kind}\n"));
            for r in refs {
                let state = match live.get(&r).cloned().flatten() {
                    Some(obj) => match crate::kube::wait::readiness(&obj, true) {
                        crate::kube::wait::Readiness::Ready => "ready".to_string(),
                        crate::kube::wait::Readiness::InProgress(why) => why,
                        crate::kube::wait::Readiness::Failed(why) => format!("failed: {why}"),
                    },
                    None => "not found".to_string(),
                };
                section.push_str(&format!("{}\t{state}\n", r.name));
            }
            section.push('\n');
        }
        // helm prints resources after DESCRIPTION, before TEST SUITE.
        match text.find("TEST SUITE:") {
            Some(pos) => text.insert_str(pos, &section),
            None => text.push_str(&section),
        }
    }
    Ok(text)
}

//! `rudder create NAME`: writes a working chart scaffold — Deployment, Service,
//! ServiceAccount, Ingress, HPA, helpers, NOTES and a test hook — that renders and lints
//! clean. The scaffold is written to a temporary directory beside the target and renamed
//! into place, so a failure leaves nothing behind.

use std::path::{Path, PathBuf};

use crate::action::ActionError;
use crate::chart;

/// The placeholder the scaffold files carry where the chart's name goes.
const PLACEHOLDER: &str = "<CHARTNAME>";

/// The scaffold's files: (path inside the chart, contents with the placeholder).
const SCAFFOLD: &[(&str, &str)] = &[
    ("Chart.yaml", include_str!("scaffold/Chart.yaml")),
    ("values.yaml", include_str!("scaffold/values.yaml")),
    (".helmignore", include_str!("scaffold/.helmignore")),
    (
        "templates/_helpers.tpl",
        include_str!("scaffold/templates/_helpers.tpl"),
    ),
    (
        "templates/deployment.yaml",
        include_str!("scaffold/templates/deployment.yaml"),
    ),
    (
        "templates/service.yaml",
        include_str!("scaffold/templates/service.yaml"),
    ),
    (
        "templates/serviceaccount.yaml",
        include_str!("scaffold/templates/serviceaccount.yaml"),
    ),
    (
        "templates/ingress.yaml",
        include_str!("scaffold/templates/ingress.yaml"),
    ),
    (
        "templates/hpa.yaml",
        include_str!("scaffold/templates/hpa.yaml"),
    ),
    (
        "templates/NOTES.txt",
        include_str!("scaffold/templates/NOTES.txt"),
    ),
    (
        "templates/tests/test-connection.yaml",
        include_str!("scaffold/templates/tests/test-connection.yaml"),
    ),
];

/// Creates the chart at `path` (its last component is the chart name) and returns it.
pub fn create(path: &Path) -> Result<PathBuf, ActionError> {
    let name = path
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| ActionError::InvalidFlag(format!("{}: not a chart name", path.display())))?;
    if !chart::is_valid_name(name) {
        return Err(ActionError::InvalidFlag(format!(
            "chart name {name:?} is invalid: use lower case letters, digits and '-', starting with a letter"
        )));
    }
    if path.exists() {
        return Err(ActionError::InvalidFlag(format!(
            "{}: already exists; refusing to overwrite it",
            path.display()
        )));
    }
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&parent).map_err(|e| ActionError::io(&parent, e))?;
    let staging = tempfile::Builder::new()
        .prefix(".rudder-create-")
        .tempdir_in(&parent)
        .map_err(|e| ActionError::io(&parent, e))?;
    for (file, contents) in SCAFFOLD {
        let target = staging.path().join(file);
        if let Some(dir) = target.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ActionError::io(dir, e))?;
        }
        std::fs::write(&target, contents.replace(PLACEHOLDER, name))
            .map_err(|e| ActionError::io(&path.join(file), e))?;
    }
    std::fs::create_dir_all(staging.path().join("charts"))
        .map_err(|e| ActionError::io(&path.join("charts"), e))?;
    let staged = staging.keep();
    std::fs::rename(&staged, path).map_err(|e| {
        let _ = std::fs::remove_dir_all(&staged);
        ActionError::io(path, e)
    })?;
    Ok(path.to_path_buf())
}

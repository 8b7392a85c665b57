//! Hooks: the `helm.sh/hook`, `helm.sh/hook-weight` and `helm.sh/hook-delete-policy`
//! annotations parsed into a [`Hook`].

use std::fmt;
use std::str::FromStr;

/// `helm.sh/hook`: when a hook runs.
pub const HOOK_ANNOTATION: &str = "helm.sh/hook";
/// `helm.sh/hook-weight`: order among hooks of one event (ascending, default 0).
pub const HOOK_WEIGHT_ANNOTATION: &str = "helm.sh/hook-weight";
/// `helm.sh/hook-delete-policy`: when a hook's object is deleted.
pub const HOOK_DELETE_POLICY_ANNOTATION: &str = "helm.sh/hook-delete-policy";

/// A lifecycle point at which hooks run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookEvent {
    PreInstall,
    PostInstall,
    PreDelete,
    PostDelete,
    PreUpgrade,
    PostUpgrade,
    PreRollback,
    PostRollback,
    /// `test` (helm also accepts the legacy `test-success`).
    Test,
}

impl HookEvent {
    /// The annotation spelling (`pre-install`).
    pub fn as_str(self) -> &'static str {
        match self {
            HookEvent::PreInstall => "pre-install",
            HookEvent::PostInstall => "post-install",
            HookEvent::PreDelete => "pre-delete",
            HookEvent::PostDelete => "post-delete",
            HookEvent::PreUpgrade => "pre-upgrade",
            HookEvent::PostUpgrade => "post-upgrade",
            HookEvent::PreRollback => "pre-rollback",
            HookEvent::PostRollback => "post-rollback",
            HookEvent::Test => "test",
        }
    }
}

impl fmt::Display for HookEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HookEvent {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "pre-install" => HookEvent::PreInstall,
            "post-install" => HookEvent::PostInstall,
            "pre-delete" => HookEvent::PreDelete,
            "post-delete" => HookEvent::PostDelete,
            "pre-upgrade" => HookEvent::PreUpgrade,
            "post-upgrade" => HookEvent::PostUpgrade,
            "pre-rollback" => HookEvent::PreRollback,
            "post-rollback" => HookEvent::PostRollback,
            "test" | "test-success" => HookEvent::Test,
            other => {
                return Err(format!(
                    "unknown hook event `{other}` (expected pre-install, post-install, \
                     pre-delete, post-delete, pre-upgrade, post-upgrade, pre-rollback, \
                     post-rollback or test)"
                ));
            }
        })
    }
}

/// When a hook's object is deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HookDeletePolicy {
    /// Delete the previous object before creating the hook again (helm's default).
    BeforeHookCreation,
    HookSucceeded,
    HookFailed,
}

impl HookDeletePolicy {
    /// The annotation spelling (`before-hook-creation`).
    pub fn as_str(self) -> &'static str {
        match self {
            HookDeletePolicy::BeforeHookCreation => "before-hook-creation",
            HookDeletePolicy::HookSucceeded => "hook-succeeded",
            HookDeletePolicy::HookFailed => "hook-failed",
        }
    }
}

impl fmt::Display for HookDeletePolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for HookDeletePolicy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Ok(match text {
            "before-hook-creation" => HookDeletePolicy::BeforeHookCreation,
            "hook-succeeded" => HookDeletePolicy::HookSucceeded,
            "hook-failed" => HookDeletePolicy::HookFailed,
            other => {
                return Err(format!(
                    "unknown hook delete policy `{other}` (expected before-hook-creation, \
                     hook-succeeded or hook-failed)"
                ));
            }
        })
    }
}

/// A manifest's hook annotations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hook {
    pub events: Vec<HookEvent>,
    /// Ascending execution order among hooks of the same event.
    pub weight: i64,
    /// As annotated; `[BeforeHookCreation]` when the annotation is absent, like helm.
    pub delete_policies: Vec<HookDeletePolicy>,
}

impl Hook {
    /// Whether the hook runs at `event`.
    pub fn runs_on(&self, event: HookEvent) -> bool {
        self.events.contains(&event)
    }
}

fn comma_list(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// Reads the hook annotations of an object from its `metadata`. `Ok(None)` when it is not
/// a hook. Helm 2's `crd-install` is ignored, as helm 3 does.
pub fn parse_hook_metadata(metadata: &serde_json::Value) -> Result<Option<Hook>, String> {
    let annotations = metadata.get("annotations");
    let get = |key: &str| annotations.and_then(|a| a.get(key));
    let Some(events_value) = get(HOOK_ANNOTATION) else {
        return Ok(None);
    };
    let events_text = events_value
        .as_str()
        .ok_or_else(|| format!("annotation {HOOK_ANNOTATION} must be a string"))?;
    let mut events = Vec::new();
    for name in comma_list(events_text) {
        if name == "crd-install" {
            continue;
        }
        let event: HookEvent = name.parse()?;
        if !events.contains(&event) {
            events.push(event);
        }
    }
    let weight = match get(HOOK_WEIGHT_ANNOTATION) {
        None => 0,
        Some(value) => {
            let text = match value {
                serde_json::Value::String(s) => s.trim().to_string(),
                other => other.to_string(),
            };
            text.parse::<i64>().map_err(|_| {
                format!("annotation {HOOK_WEIGHT_ANNOTATION} must be an integer, got `{text}`")
            })?
        }
    };
    let mut delete_policies = Vec::new();
    if let Some(value) = get(HOOK_DELETE_POLICY_ANNOTATION) {
        let text = value.as_str().ok_or_else(|| {
            format!("annotation {HOOK_DELETE_POLICY_ANNOTATION} must be a string")
        })?;
        for name in comma_list(text) {
            let policy: HookDeletePolicy = name.parse()?;
            if !delete_policies.contains(&policy) {
                delete_policies.push(policy);
            }
        }
    }
    if delete_policies.is_empty() {
        delete_policies.push(HookDeletePolicy::BeforeHookCreation);
    }
    Ok(Some(Hook {
        events,
        weight,
        delete_policies,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn annotated(annotations: serde_json::Value) -> serde_json::Value {
        json!({"name": "x", "annotations": annotations})
    }

    #[test]
    fn parses_events_weight_and_policies() {
        let hook = parse_hook_metadata(&annotated(json!({
            "helm.sh/hook": "pre-install, post-upgrade",
            "helm.sh/hook-weight": "-5",
            "helm.sh/hook-delete-policy": "hook-succeeded,hook-failed"
        })))
        .unwrap()
        .unwrap();
        assert_eq!(
            hook.events,
            vec![HookEvent::PreInstall, HookEvent::PostUpgrade]
        );
        assert_eq!(hook.weight, -5);
        assert_eq!(
            hook.delete_policies,
            vec![
                HookDeletePolicy::HookSucceeded,
                HookDeletePolicy::HookFailed
            ]
        );
        assert!(hook.runs_on(HookEvent::PostUpgrade));
        assert!(!hook.runs_on(HookEvent::PostInstall));
    }

    #[test]
    fn defaults_follow_helm() {
        let hook = parse_hook_metadata(&annotated(json!({"helm.sh/hook": "test-success"})))
            .unwrap()
            .unwrap();
        assert_eq!(hook.events, vec![HookEvent::Test]);
        assert_eq!(hook.weight, 0);
        assert_eq!(
            hook.delete_policies,
            vec![HookDeletePolicy::BeforeHookCreation]
        );
        assert_eq!(
            parse_hook_metadata(&annotated(json!({"other": "x"}))).unwrap(),
            None
        );
    }

    #[test]
    fn bad_annotations_are_errors() {
        let err =
            parse_hook_metadata(&annotated(json!({"helm.sh/hook": "pre-instal"}))).unwrap_err();
        assert!(err.contains("unknown hook event `pre-instal`"), "{err}");
        let err = parse_hook_metadata(&annotated(json!({
            "helm.sh/hook": "pre-install", "helm.sh/hook-weight": "heavy"
        })))
        .unwrap_err();
        assert!(err.contains("must be an integer, got `heavy`"), "{err}");
        let err = parse_hook_metadata(&annotated(json!({
            "helm.sh/hook": "pre-install", "helm.sh/hook-delete-policy": "never"
        })))
        .unwrap_err();
        assert!(err.contains("unknown hook delete policy `never`"), "{err}");
    }
}

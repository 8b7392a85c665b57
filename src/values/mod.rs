//! Values: the tree that templates see as `Values` — loading values files, merging them
//! with helm's precedence, the `--set` family, subchart coalescing and schema validation.

/// A values tree. Maps keep keys sorted, like helm's (Go) output of `toYaml`.
pub type Values = serde_json::Map<String, serde_json::Value>;

//! The Go-template engine: renders helm charts written in Go's text/template with sprig
//! and helm's functions, with output identical to helm's.
//!
//! Written for rudder rather than built on the `gotmpl` crate: helm's templates need maps
//! shared by reference (`set`, `unset` and `mergeOverwrite` change a map everywhere it is
//! seen), functions that reach the template set (`include`, `tpl`), methods on values
//! (`.Files.Get`, `.Capabilities.APIVersions.Has`), and helm's data model (float64 values
//! from YAML, int64 from `--set`) — none of which that crate's value model carries.

mod context;
pub mod exec;
pub mod parse;
pub mod render;

#[cfg(test)]
pub(crate) mod tests;

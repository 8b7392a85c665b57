//! Actions: one function per user command (`template`, `lint`, `package`, …). The CLI is a
//! thin shim over these, the way helm's `pkg/action` sits behind its commands.

pub mod package;
pub mod show;

//! Command-line interface: clap definitions and thin shims over [`crate::action`].

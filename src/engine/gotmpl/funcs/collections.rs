//! sprig's collections functions (placeholder until filled in).

use super::Funcs;

pub fn register(_f: &mut Funcs) {}

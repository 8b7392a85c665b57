//! A record of the requests that changed something — method and path, in the order they
//! arrived — for tests that check the order in which a client wrote.

use std::sync::{Arc, Mutex};

/// Keeps at most this many entries (the oldest are dropped).
const CAPACITY: usize = 100_000;

/// The server's write journal; clones see the same entries.
#[derive(Clone, Default)]
pub struct Journal {
    writes: Arc<Mutex<Vec<String>>>,
}

impl Journal {
    /// Records a request (only writes: not GET, HEAD or OPTIONS).
    pub fn record(&self, method: &str, path: &str) {
        if matches!(method, "GET" | "HEAD" | "OPTIONS") {
            return;
        }
        let mut writes = self.writes.lock().expect("journal lock");
        if writes.len() >= CAPACITY {
            writes.remove(0);
        }
        writes.push(format!("{method} {path}"));
    }

    /// The writes so far, oldest first (`PATCH /apis/apps/v1/namespaces/default/deployments/db`).
    pub fn writes(&self) -> Vec<String> {
        self.writes.lock().expect("journal lock").clone()
    }

    /// Forgets every entry.
    pub fn clear(&self) {
        self.writes.lock().expect("journal lock").clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_writes_are_recorded_in_order() {
        let j = Journal::default();
        j.record("GET", "/api/v1/pods");
        j.record("POST", "/api/v1/namespaces/a/pods");
        j.record("DELETE", "/api/v1/namespaces/a/pods/p");
        assert_eq!(
            j.writes(),
            [
                "POST /api/v1/namespaces/a/pods",
                "DELETE /api/v1/namespaces/a/pods/p"
            ]
        );
        j.clear();
        assert!(j.writes().is_empty());
    }
}

//! Fault injection for reliability tests: added latency, failing the next N requests,
//! dropping connections mid-request, and rules aimed at particular requests (fail the
//! matching ones, or hold one until the test lets it go, to stop a client between two
//! writes).

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Default)]
struct FaultState {
    latency_ms: AtomicU64,
    failures: Mutex<Vec<u16>>,
    drops: AtomicU32,
    rules: Mutex<Vec<Rule>>,
}

/// Which requests a rule is aimed at.
#[derive(Debug, Clone)]
pub struct Matcher {
    /// `None`: any method that writes (not GET, HEAD or OPTIONS).
    method: Option<String>,
    path_contains: String,
}

impl Matcher {
    /// Requests with `method` whose path contains `path_contains`.
    pub fn new(method: &str, path_contains: &str) -> Matcher {
        Matcher {
            method: Some(method.to_ascii_uppercase()),
            path_contains: path_contains.into(),
        }
    }

    /// Every request that writes (POST, PUT, PATCH, DELETE) whose path contains
    /// `path_contains` (`""`: any path).
    pub fn writes(path_contains: &str) -> Matcher {
        Matcher {
            method: None,
            path_contains: path_contains.into(),
        }
    }

    fn matches(&self, method: &str, path: &str) -> bool {
        let method_ok = match &self.method {
            Some(m) => m == method,
            None => !matches!(method, "GET" | "HEAD" | "OPTIONS"),
        };
        method_ok && path.contains(&self.path_contains)
    }
}

struct Rule {
    matcher: Matcher,
    /// Matching requests to let through before the rule acts.
    skip: usize,
    action: RuleAction,
}

enum RuleAction {
    Fail { status: u16, left: usize },
    Pause(Pause),
}

/// A request held by [`Faults::pause_nth`]: the test learns when it arrives and decides
/// whether it goes on.
#[derive(Clone, Default)]
pub struct Pause {
    inner: Arc<PauseState>,
}

#[derive(Default)]
struct PauseState {
    arrived: tokio::sync::Notify,
    has_arrived: std::sync::atomic::AtomicBool,
    decided: tokio::sync::Notify,
    outcome: Mutex<Option<Resume>>,
}

impl std::fmt::Debug for Pause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pause")
    }
}

/// What a held request does next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Resume {
    /// It is handled as if nothing happened.
    Proceed,
    /// Its connection is closed and the request is never applied.
    Drop,
}

impl Pause {
    /// Waits up to `timeout` for the request to arrive; whether it did.
    pub async fn arrived(&self, timeout: Duration) -> bool {
        let notified = self.inner.arrived.notified();
        if self.inner.has_arrived.load(Ordering::SeqCst) {
            return true;
        }
        tokio::time::timeout(timeout, notified).await.is_ok()
            || self.inner.has_arrived.load(Ordering::SeqCst)
    }

    /// Lets the held request go on (or drops it).
    pub fn resume(&self, how: Resume) {
        *self.inner.outcome.lock().expect("pause lock") = Some(how);
        self.inner.decided.notify_waiters();
        self.inner.decided.notify_one();
    }

    /// Called by the server for the held request: waits for the test's decision.
    pub async fn hold(&self) -> Resume {
        self.inner.has_arrived.store(true, Ordering::SeqCst);
        self.inner.arrived.notify_waiters();
        self.inner.arrived.notify_one();
        loop {
            let decided = self.inner.decided.notified();
            if let Some(how) = *self.inner.outcome.lock().expect("pause lock") {
                return how;
            }
            decided.await;
        }
    }
}

/// A handle to the server's fault injection; clones control the same server.
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<FaultState>,
}

/// What the server should do to the request being handled.
#[derive(Debug, Clone)]
pub enum Injected {
    /// Answer with this HTTP status (500, 503, or 429 with Retry-After).
    Fail(u16),
    /// Close the connection without answering.
    Drop,
    /// Hold the request until the test decides.
    Pause(Pause),
}

impl Faults {
    /// Delays every request by `latency` (zero turns it off).
    pub fn set_latency(&self, latency: Duration) {
        self.inner
            .latency_ms
            .store(latency.as_millis() as u64, Ordering::SeqCst);
    }

    /// Answers the next `n` requests with `status` (500, 503 or 429; 429 carries Retry-After: 1).
    pub fn fail_next(&self, n: usize, status: u16) {
        let mut f = self.inner.failures.lock().expect("fault lock");
        f.extend(std::iter::repeat_n(status, n));
    }

    /// Answers the next `n` requests matching `matcher` with `status`, after letting `skip`
    /// matching ones through.
    pub fn fail_matching(&self, matcher: Matcher, skip: usize, n: usize, status: u16) {
        self.inner.rules.lock().expect("fault lock").push(Rule {
            matcher,
            skip,
            action: RuleAction::Fail { status, left: n },
        });
    }

    /// Holds the `n`-th request (from 1) matching `matcher` until [`Pause::resume`].
    pub fn pause_nth(&self, matcher: Matcher, n: usize) -> Pause {
        let pause = Pause::default();
        self.inner.rules.lock().expect("fault lock").push(Rule {
            matcher,
            skip: n.saturating_sub(1),
            action: RuleAction::Pause(pause.clone()),
        });
        pause
    }

    /// Closes the connection of the next `n` requests without any response.
    pub fn drop_next(&self, n: u32) {
        self.inner.drops.fetch_add(n, Ordering::SeqCst);
    }

    /// Removes every injected fault.
    pub fn clear(&self) {
        self.set_latency(Duration::ZERO);
        self.inner.failures.lock().expect("fault lock").clear();
        self.inner.drops.store(0, Ordering::SeqCst);
        self.inner.rules.lock().expect("fault lock").clear();
    }

    /// How many injected failures (rules included) are still waiting for a request.
    pub fn pending_failures(&self) -> usize {
        let ruled: usize = (self.inner.rules.lock().expect("fault lock").iter())
            .map(|r| match r.action {
                RuleAction::Fail { left, .. } => left,
                RuleAction::Pause(_) => 0,
            })
            .sum();
        self.inner.failures.lock().expect("fault lock").len() + ruled
    }

    /// The configured latency.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.inner.latency_ms.load(Ordering::SeqCst))
    }

    /// Takes the fault (if any) the next request (`method` on `path`) should suffer.
    pub fn take(&self, method: &str, path: &str) -> Option<Injected> {
        if let Some(injected) = self.take_rule(method, path) {
            return Some(injected);
        }
        let drops = &self.inner.drops;
        if drops
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |d| d.checked_sub(1))
            .is_ok()
        {
            return Some(Injected::Drop);
        }
        let mut f = self.inner.failures.lock().expect("fault lock");
        if f.is_empty() {
            None
        } else {
            Some(Injected::Fail(f.remove(0)))
        }
    }
}

impl Faults {
    fn take_rule(&self, method: &str, path: &str) -> Option<Injected> {
        let mut rules = self.inner.rules.lock().expect("fault lock");
        let i = rules.iter_mut().position(|rule| {
            if !rule.matcher.matches(method, path) {
                return false;
            }
            if rule.skip > 0 {
                rule.skip -= 1;
                return false;
            }
            true
        })?;
        let injected = match &mut rules[i].action {
            RuleAction::Fail { status, left } => {
                *left -= 1;
                Injected::Fail(*status)
            }
            RuleAction::Pause(p) => Injected::Pause(p.clone()),
        };
        if matches!(
            rules[i].action,
            RuleAction::Pause(_) | RuleAction::Fail { left: 0, .. }
        ) {
            rules.remove(i);
        }
        Some(injected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_consumed_in_order_and_drops_come_first() {
        let faults = Faults::default();
        faults.fail_next(2, 503);
        faults.fail_next(1, 429);
        faults.drop_next(1);
        let take = || format!("{:?}", faults.take("GET", "/api/v1/pods"));
        assert_eq!(take(), "Some(Drop)");
        assert_eq!(take(), "Some(Fail(503))");
        assert_eq!(take(), "Some(Fail(503))");
        assert_eq!(take(), "Some(Fail(429))");
        assert_eq!(take(), "None");
    }

    #[test]
    fn rules_hit_only_matching_requests_after_their_skip() {
        let faults = Faults::default();
        faults.fail_matching(Matcher::new("patch", "/secrets/"), 1, 2, 500);
        let take = |m: &str, p: &str| format!("{:?}", faults.take(m, p));
        assert_eq!(take("GET", "/api/v1/namespaces/a/secrets/x"), "None");
        assert_eq!(take("PATCH", "/api/v1/namespaces/a/configmaps/x"), "None");
        assert_eq!(
            take("PATCH", "/api/v1/namespaces/a/secrets/x"),
            "None",
            "skipped"
        );
        assert_eq!(
            take("PATCH", "/api/v1/namespaces/a/secrets/x"),
            "Some(Fail(500))"
        );
        assert_eq!(
            take("PATCH", "/api/v1/namespaces/a/secrets/y"),
            "Some(Fail(500))"
        );
        assert_eq!(
            take("PATCH", "/api/v1/namespaces/a/secrets/x"),
            "None",
            "used up"
        );
        let _pause = faults.pause_nth(Matcher::writes(""), 2);
        assert_eq!(take("POST", "/api/v1/namespaces/a/secrets"), "None");
        assert!(take("DELETE", "/api/v1/namespaces/a/pods/p").starts_with("Some(Pause"));
        assert_eq!(take("DELETE", "/api/v1/namespaces/a/pods/p"), "None");
    }
}

//! Fault injection for reliability tests: added latency, failing the next N requests, and
//! dropping connections mid-request.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::time::Duration;

#[derive(Default)]
struct FaultState {
    latency_ms: AtomicU64,
    failures: Mutex<Vec<u16>>,
    drops: AtomicU32,
}

/// A handle to the server's fault injection; clones control the same server.
#[derive(Clone, Default)]
pub struct Faults {
    inner: Arc<FaultState>,
}

/// What the server should do to the request being handled.
#[derive(Debug, Clone, PartialEq)]
pub enum Injected {
    /// Answer with this HTTP status (500, 503, or 429 with Retry-After).
    Fail(u16),
    /// Close the connection without answering.
    Drop,
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

    /// Closes the connection of the next `n` requests without any response.
    pub fn drop_next(&self, n: u32) {
        self.inner.drops.fetch_add(n, Ordering::SeqCst);
    }

    /// Removes every injected fault.
    pub fn clear(&self) {
        self.set_latency(Duration::ZERO);
        self.inner.failures.lock().expect("fault lock").clear();
        self.inner.drops.store(0, Ordering::SeqCst);
    }

    /// How many injected failures are still waiting for a request.
    pub fn pending_failures(&self) -> usize {
        self.inner.failures.lock().expect("fault lock").len()
    }

    /// The configured latency.
    pub fn latency(&self) -> Duration {
        Duration::from_millis(self.inner.latency_ms.load(Ordering::SeqCst))
    }

    /// Takes the fault (if any) the next request should suffer.
    pub fn take(&self) -> Option<Injected> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_consumed_in_order_and_drops_come_first() {
        let faults = Faults::default();
        faults.fail_next(2, 503);
        faults.fail_next(1, 429);
        faults.drop_next(1);
        assert_eq!(faults.take(), Some(Injected::Drop));
        assert_eq!(faults.take(), Some(Injected::Fail(503)));
        assert_eq!(faults.take(), Some(Injected::Fail(503)));
        assert_eq!(faults.take(), Some(Injected::Fail(429)));
        assert_eq!(faults.take(), None);
    }
}

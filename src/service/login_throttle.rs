//! Per-username throttling of failed logins with growing delays.
//!
//! After `FREE_FAILURES` failures in a row, each further attempt must wait 1 s, 2 s, 4 s ...
//! (at most 15 min) after the last failure. Counted per name, not per address, so credential
//! stuffing spread over many addresses slows down too; a success resets it. Unknown names are
//! counted alike, so throttling reveals nothing. Everything is in memory and bounded; it
//! resets on restart, which is acceptable for throttling.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures allowed in a row before delays start.
pub const FREE_FAILURES: u32 = 5;
const MAX_DELAY: Duration = Duration::from_secs(15 * 60);
const MAX_TRACKED_NAMES: usize = 100_000;
/// A throttled name is audited at most once in this interval, so a throttled flood cannot
/// turn into a flood of durable audit writes.
const AUDIT_EVERY: Duration = Duration::from_secs(60);

/// Per name: failures in a row, the last failure, the last throttled attempt audited.
type Failures = (u32, Instant, Option<Instant>);

/// A refused attempt: wait this long, and whether this refusal should be audited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub retry_after_secs: u64,
    pub audit: bool,
}

/// Failed logins per username.
#[derive(Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, Failures>>,
}

impl LoginThrottle {
    fn delay(failures: u32) -> Duration {
        if failures < FREE_FAILURES {
            return Duration::ZERO;
        }
        let exp = (failures - FREE_FAILURES).min(20);
        Duration::from_secs(1u64 << exp).min(MAX_DELAY)
    }

    /// How long `username` must still wait before another attempt, if at all: the
    /// refusal, audited at most once a minute per name.
    pub fn wait(&self, username: &str, now: Instant) -> Option<Refusal> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (count, last, audited) = map.get_mut(username)?;
        let until = *last + Self::delay(*count);
        if until <= now {
            return None;
        }
        let audit = audited.is_none_or(|t| now.saturating_duration_since(t) >= AUDIT_EVERY);
        if audit {
            *audited = Some(now);
        }
        Some(Refusal {
            retry_after_secs: until.duration_since(now).as_secs().max(1),
            audit,
        })
    }

    /// Records a failed attempt.
    pub fn failed(&self, username: &str, now: Instant) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_TRACKED_NAMES && !map.contains_key(username) {
            // Forget names whose delay has passed; they start over, as after a success.
            map.retain(|_, (count, last, _)| *last + Self::delay(*count) > now);
            if map.len() >= MAX_TRACKED_NAMES {
                return;
            }
        }
        let entry = map.entry(username.to_string()).or_insert((0, now, None));
        entry.0 = entry.0.saturating_add(1);
        entry.1 = now;
    }

    /// Forgets failures after a successful login.
    pub fn succeeded(&self, username: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(username);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_logins_grow_the_delay_and_success_resets() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            assert!(t.wait("alice", t0).is_none());
            t.failed("alice", t0);
        }
        let secs = |w: Option<Refusal>| w.map(|r| r.retry_after_secs);
        let first = t.wait("alice", t0).unwrap();
        assert_eq!((first.retry_after_secs, first.audit), (1, true));
        assert!(
            !t.wait("alice", t0).unwrap().audit,
            "audited once a minute per name"
        );
        t.failed("alice", t0);
        assert_eq!(secs(t.wait("alice", t0)), Some(2));
        t.failed("alice", t0);
        assert_eq!(secs(t.wait("alice", t0)), Some(4));
        assert!(t.wait("alice", t0 + Duration::from_secs(4)).is_none());
        assert!(t.wait("bob", t0).is_none());
        t.succeeded("alice");
        assert!(t.wait("alice", t0).is_none());
        assert_eq!(LoginThrottle::delay(100), MAX_DELAY);
    }
}

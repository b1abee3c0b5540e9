//! Per-username throttling of failed logins with growing delays.
//!
//! After `FREE_FAILURES` failures in a row, each further attempt must wait 1 s, 2 s, 4 s ...
//! (at most 15 min) after the last failure. Counted per name, not per address, so credential
//! stuffing spread over many addresses slows down too; a success resets it. Unknown names are
//! counted alike, so throttling reveals nothing.
//!
//! An attempt is counted as a failure *before* its password is hashed ([`LoginThrottle::reserve`])
//! and only forgiven when it succeeds: counting after the ~200 ms hash let every guess that
//! arrived during it through unchecked. Everything is in memory and bounded; it resets on
//! restart, which is acceptable for throttling.

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

/// Per name: failures in a row (reserved attempts included), the last one, and the last
/// throttled attempt that was audited.
struct Failures {
    count: u32,
    last: Instant,
    audited: Option<Instant>,
}

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

    /// Claims one attempt for `username` at `now`: refused while the name must still wait
    /// (audited at most once a minute per name); otherwise the attempt is counted as a
    /// failure at once, in the same critical section, so parallel guesses see each other.
    /// The reservation is forgiven by [`Reservation::succeeded`], kept by
    /// [`Reservation::failed`], and undone if dropped undecided (the password was never
    /// checked, e.g. the hasher was busy).
    pub fn reserve<'a>(
        &'a self,
        username: &'a str,
        now: Instant,
    ) -> Result<Reservation<'a>, Refusal> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = map.get_mut(username) {
            let until = f.last + Self::delay(f.count);
            if until > now {
                let audit = f
                    .audited
                    .is_none_or(|t| now.saturating_duration_since(t) >= AUDIT_EVERY);
                if audit {
                    f.audited = Some(now);
                }
                return Err(Refusal {
                    retry_after_secs: ceil_secs(until.duration_since(now)),
                    audit,
                });
            }
        } else if map.len() >= MAX_TRACKED_NAMES {
            // Forget names whose delay has passed; they start over, as after a success.
            map.retain(|_, f| f.last + Self::delay(f.count) > now);
        }
        let counted = map.len() < MAX_TRACKED_NAMES || map.contains_key(username);
        if counted {
            let f = map.entry(username.to_string()).or_insert(Failures {
                count: 0,
                last: now,
                audited: None,
            });
            f.count = f.count.saturating_add(1);
            f.last = now;
        }
        Ok(Reservation {
            throttle: self,
            username,
            counted,
        })
    }

    fn forget(&self, username: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(username);
    }

    fn undo(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(f) = map.get_mut(username) {
            f.count = f.count.saturating_sub(1);
            if f.count == 0 {
                map.remove(username);
            }
        }
    }
}

/// Whole seconds to wait, rounded up and never 0: a client told "1" with 1.9 s left would
/// come back too early and be refused again.
fn ceil_secs(d: Duration) -> u64 {
    let whole = d.as_secs() + u64::from(d.subsec_nanos() > 0);
    whole.max(1)
}

/// One attempt, already counted as a failure.
#[must_use = "an undecided reservation is undone when dropped"]
pub struct Reservation<'a> {
    throttle: &'a LoginThrottle,
    username: &'a str,
    /// False when the name table was full and this name is not tracked.
    counted: bool,
}

impl Reservation<'_> {
    /// The password was right: the name's failures are forgotten.
    pub fn succeeded(mut self) {
        if self.counted {
            self.throttle.forget(self.username);
        }
        self.counted = false;
    }

    /// The password was wrong: the failure counted up front stays.
    pub fn failed(mut self) {
        self.counted = false;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if self.counted {
            self.throttle.undo(self.username);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secs(r: Result<Reservation<'_>, Refusal>) -> Option<u64> {
        match r {
            Ok(res) => {
                res.failed();
                None
            }
            Err(refusal) => Some(refusal.retry_after_secs),
        }
    }

    #[test]
    fn failed_logins_grow_the_delay_and_success_resets() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..FREE_FAILURES {
            t.reserve("alice", t0).unwrap().failed();
        }
        let first = t.reserve("alice", t0).err().unwrap();
        assert_eq!(
            first,
            Refusal {
                retry_after_secs: 1,
                audit: true
            }
        );
        assert!(
            !t.reserve("alice", t0).err().unwrap().audit,
            "audited once a minute per name"
        );
        let t1 = t0 + Duration::from_secs(1);
        t.reserve("alice", t1).unwrap().failed();
        assert_eq!(secs(t.reserve("alice", t1)), Some(2));
        let t3 = t1 + Duration::from_secs(2);
        t.reserve("alice", t3).unwrap().failed();
        assert_eq!(secs(t.reserve("alice", t3)), Some(4));
        assert!(t.reserve("bob", t0).is_ok());
        t.reserve("alice", t3 + Duration::from_secs(4))
            .unwrap()
            .succeeded();
        for _ in 0..FREE_FAILURES {
            t.reserve("alice", t3).unwrap().failed();
        }
        assert_eq!(LoginThrottle::delay(100), MAX_DELAY);
    }

    #[test]
    fn attempts_are_counted_before_the_password_is_checked() {
        // Parallel guesses all arrive before any of them is decided: only the free ones
        // may go on to be hashed.
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        let held: Vec<_> = (0..3 * FREE_FAILURES)
            .filter_map(|_| t.reserve("alice", t0).ok())
            .collect();
        assert_eq!(held.len(), FREE_FAILURES as usize);
        held.into_iter().for_each(Reservation::failed);
        assert!(t.reserve("alice", t0).is_err());
    }

    #[test]
    fn an_undecided_attempt_is_undone_and_a_success_forgives() {
        let t = LoginThrottle::default();
        let t0 = Instant::now();
        for _ in 0..3 * FREE_FAILURES {
            // Dropped without a verdict: the hasher never checked it.
            drop(t.reserve("alice", t0).unwrap());
        }
        for _ in 0..FREE_FAILURES - 1 {
            t.reserve("alice", t0).unwrap().failed();
        }
        t.reserve("alice", t0).unwrap().succeeded();
        for _ in 0..FREE_FAILURES {
            t.reserve("alice", t0).unwrap().failed();
        }
        assert!(t.reserve("alice", t0).is_err());
    }

    #[test]
    fn retry_after_rounds_up() {
        assert_eq!(ceil_secs(Duration::from_millis(1900)), 2);
        assert_eq!(ceil_secs(Duration::from_secs(2)), 2);
        assert_eq!(ceil_secs(Duration::from_millis(1)), 1);
        assert_eq!(ceil_secs(Duration::ZERO), 1);
    }
}

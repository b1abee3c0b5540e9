//! What anonymous requests may cost the audit trail.
//!
//! Anyone can ask for `/share/<random>`, and each dead-link attempt used to append a record
//! (~456 bytes, durable): one client with limits off added 2,700 a second, and a botnet under
//! the per-address limits could still fill the disk. The evidence is kept, its cost bounded:
//! - per client address and wall-clock minute, only the first dead-link attempt is recorded;
//!   the rest are counted here and reported in the server log when the minute closes;
//! - all anonymous records without an owner (those dead-link records, rate-limit refusals)
//!   draw from one global budget per minute; beyond it they are counted, not written.
//!
//! Records an account owner reads (failed logins on their account, attempts at their own
//! links that the first-per-minute rule lets through) are never skipped for the budget:
//! skipping only some of them would let timing tell which usernames exist.
//! Everything is in memory and bounded, and resets on restart.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// Anonymous records without an owner written per minute, at most (~140 KB a minute).
pub const RECORDS_PER_MINUTE: u32 = 300;
/// Addresses remembered per minute; beyond this, new addresses are counted only.
const MAX_ADDRESSES: usize = 16_384;
/// Addresses named in a minute's report.
const REPORTED_ADDRESSES: usize = 5;

/// The minute being counted.
#[derive(Default)]
struct Minute {
    /// Unix minute (`now / 60`).
    index: i64,
    /// Dead-link attempts per client address.
    attempts: HashMap<String, u32>,
    /// Ownerless anonymous records written.
    written: u32,
    /// Attempts answered without a record of their own.
    unrecorded: u64,
}

/// What a closed minute left unrecorded, for the server log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MinuteReport {
    /// Start of the minute, Unix seconds.
    pub start: i64,
    /// Anonymous attempts answered without a record of their own.
    pub unrecorded: u64,
    /// The busiest addresses and their dead-link attempts in the minute, most first.
    pub busiest: Vec<(String, u32)>,
}

/// Per-address aggregation of dead-link attempts and the global budget.
#[derive(Default)]
pub struct AnonymousAudit {
    minute: Mutex<Minute>,
    reports: Mutex<Vec<MinuteReport>>,
    /// Set when `reports` is non-empty, so the request path need not lock to find out.
    has_reports: AtomicBool,
}

impl AnonymousAudit {
    /// The current minute, after closing an older one (and reporting what it skipped).
    fn minute(&self, now: i64) -> std::sync::MutexGuard<'_, Minute> {
        let mut m = self.minute.lock().unwrap_or_else(|p| p.into_inner());
        let index = now.div_euclid(60);
        if m.index != index {
            let closed = std::mem::replace(
                &mut *m,
                Minute {
                    index,
                    ..Minute::default()
                },
            );
            if closed.unrecorded > 0 {
                let mut busiest: Vec<(String, u32)> = closed
                    .attempts
                    .into_iter()
                    .filter(|(_, n)| *n > 1)
                    .collect();
                busiest.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
                busiest.truncate(REPORTED_ADDRESSES);
                let mut reports = self.reports.lock().unwrap_or_else(|p| p.into_inner());
                reports.push(MinuteReport {
                    start: closed.index * 60,
                    unrecorded: closed.unrecorded,
                    busiest,
                });
                self.has_reports.store(true, Ordering::Release);
            }
        }
        m
    }

    /// A dead-link attempt from `ip` at `now`: whether it gets its own audit record (the
    /// address's first this minute, within the budget). The caller answers 404 either way.
    pub fn dead_link(&self, ip: &str, now: i64) -> bool {
        let mut m = self.minute(now);
        let full = m.attempts.len() >= MAX_ADDRESSES;
        let first = match m.attempts.get_mut(ip) {
            Some(n) => {
                *n = n.saturating_add(1);
                false
            }
            None if !full => {
                m.attempts.insert(ip.to_string(), 1);
                true
            }
            None => false,
        };
        let record = first && m.written < RECORDS_PER_MINUTE;
        if record {
            m.written += 1;
        } else {
            m.unrecorded += 1;
        }
        record
    }

    /// Another anonymous record without an owner (a rate-limit refusal): whether the
    /// minute's budget still has room for it.
    pub fn ownerless(&self, now: i64) -> bool {
        let mut m = self.minute(now);
        let record = m.written < RECORDS_PER_MINUTE;
        if record {
            m.written += 1;
        } else {
            m.unrecorded += 1;
        }
        record
    }

    /// Reports of closed minutes not yet logged.
    pub fn take_reports(&self) -> Vec<MinuteReport> {
        if !self.has_reports.swap(false, Ordering::AcqRel) {
            return Vec::new();
        }
        std::mem::take(&mut *self.reports.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_700_000_040; // minute-aligned

    #[test]
    fn one_record_per_address_and_minute() {
        let a = AnonymousAudit::default();
        assert!(a.dead_link("192.0.2.1", T0));
        for _ in 0..10 {
            assert!(!a.dead_link("192.0.2.1", T0 + 59));
        }
        assert!(a.dead_link("192.0.2.2", T0), "another address");
        assert!(a.take_reports().is_empty(), "the minute is still open");
        assert!(a.dead_link("192.0.2.1", T0 + 60), "the next minute");
        assert_eq!(
            a.take_reports(),
            [MinuteReport {
                start: T0,
                unrecorded: 10,
                busiest: vec![("192.0.2.1".into(), 11)],
            }]
        );
        assert!(a.take_reports().is_empty(), "reported once");
    }

    #[test]
    fn ownerless_records_share_one_budget_per_minute() {
        let a = AnonymousAudit::default();
        let written = (0..2 * RECORDS_PER_MINUTE)
            .filter(|i| {
                if i % 2 == 0 {
                    a.dead_link(&format!("10.0.{}.{}", i / 256, i % 256), T0)
                } else {
                    a.ownerless(T0)
                }
            })
            .count();
        assert_eq!(written, RECORDS_PER_MINUTE as usize);
        assert!(!a.ownerless(T0 + 59));
        assert!(a.ownerless(T0 + 60), "a new minute, a new budget");
        let report = a.take_reports();
        assert_eq!(report.len(), 1);
        assert_eq!(report[0].unrecorded, u64::from(RECORDS_PER_MINUTE) + 1);
        assert!(report[0].busiest.is_empty(), "no address tried twice");
    }

    #[test]
    fn memory_is_bounded_by_the_address_cap() {
        let a = AnonymousAudit::default();
        for i in 0..(MAX_ADDRESSES as u32 + 100) {
            a.dead_link(&std::net::Ipv4Addr::from(i).to_string(), T0);
        }
        assert_eq!(a.minute(T0).attempts.len(), MAX_ADDRESSES);
    }
}

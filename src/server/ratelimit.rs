//! Abuse resistance: per-client token buckets (an IPv4 address, or an IPv6 /64), stricter
//! for logins, registrations and share links. (Per-username throttling of failed logins is
//! `service::login_throttle`.)
//!
//! Everything is in memory and bounded: each shard keeps at most `MAX_ENTRIES_PER_SHARD`
//! clients, evicting idle (full) buckets first, so a flood from many addresses cannot grow
//! memory without limit. Limits reset on restart, which is acceptable for throttling.

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::store::Outcome;

const SHARDS: usize = 16;
const MAX_ENTRIES_PER_SHARD: usize = 8192;
/// A rate-limit hit is audited at most once per client and class in this interval, so a
/// flood cannot turn into a flood of durable audit writes.
const AUDIT_EVERY: Duration = Duration::from_secs(60);

/// Which budget a request draws from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Class {
    General,
    /// `/login` and `/register`.
    Auth,
    /// `/share/{token}`: anonymous, and a token guess costs one request.
    Share,
}

impl Class {
    /// The outcome a refusal of this class is audited with.
    pub fn outcome(self) -> Outcome {
        match self {
            Class::General => Outcome::General,
            Class::Auth => Outcome::Auth,
            Class::Share => Outcome::Share,
        }
    }
}

/// A refill rate and burst size; a rate of zero disables the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_sec: f64,
    pub burst: f64,
}

impl Rate {
    /// `n` requests per second with a burst of `2n`.
    pub fn per_second(n: u32) -> Rate {
        Rate {
            per_sec: f64::from(n),
            burst: f64::from(n) * 2.0,
        }
    }

    /// `n` requests per minute with a burst of `n`.
    pub fn per_minute(n: u32) -> Rate {
        Rate {
            per_sec: f64::from(n) / 60.0,
            burst: f64::from(n),
        }
    }
}

/// The three budgets.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub general: Rate,
    pub auth: Rate,
    pub share: Rate,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
    last_audited: Option<Instant>,
}

/// A refused request: wait this long, and whether this refusal should be audited.
pub struct Refusal {
    pub retry_after_secs: u64,
    pub audit: bool,
}

/// Per-(class, client) token buckets.
pub struct RateLimiter {
    limits: Limits,
    shards: Vec<Mutex<HashMap<(Class, IpAddr), Bucket>>>,
}

impl RateLimiter {
    /// A limiter with these budgets.
    pub fn new(limits: Limits) -> Self {
        RateLimiter {
            limits,
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
        }
    }

    fn rate(&self, class: Class) -> Rate {
        match class {
            Class::General => self.limits.general,
            Class::Auth => self.limits.auth,
            Class::Share => self.limits.share,
        }
    }

    /// Takes one token for `ip`'s bucket in `class`, or says how long to wait.
    pub fn check(&self, class: Class, ip: IpAddr, now: Instant) -> Result<(), Refusal> {
        let rate = self.rate(class);
        if rate.per_sec <= 0.0 {
            return Ok(());
        }
        let ip = bucket_key(ip);
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        (class, ip).hash(&mut hasher);
        let shard = &self.shards[hasher.finish() as usize % SHARDS];
        let mut map = shard.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_ENTRIES_PER_SHARD && !map.contains_key(&(class, ip)) {
            evict(&mut map, now, |c| self.rate(c));
        }
        let bucket = map.entry((class, ip)).or_insert(Bucket {
            tokens: rate.burst,
            updated: now,
            last_audited: None,
        });
        let elapsed = now.saturating_duration_since(bucket.updated).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * rate.per_sec).min(rate.burst);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / rate.per_sec).ceil().max(1.0) as u64;
        let audit = bucket
            .last_audited
            .is_none_or(|t| now.saturating_duration_since(t) >= AUDIT_EVERY);
        if audit {
            bucket.last_audited = Some(now);
        }
        Err(Refusal {
            retry_after_secs: wait,
            audit,
        })
    }
}

/// The budget an address draws from: an IPv4 address alone, an IPv6 address by its /64.
/// One IPv6 host is routinely given a whole /64 (SLAAC, privacy addresses), so keying by
/// the full address gave a single client 2^64 fresh buckets. An IPv4-mapped IPv6 address
/// (`::ffff:a.b.c.d`, a dual-stack socket or a proxy's notation) is the IPv4 address.
fn bucket_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let prefix = u128::from(v6) & !((1u128 << 64) - 1);
                IpAddr::V6(prefix.into())
            }
        },
    }
}

/// Drops buckets that have refilled (idle clients); if that frees too little, the least
/// recently used eighth. Evicting in bulk keeps the cost amortized O(1) per request even
/// when a flood from many addresses keeps every shard full.
fn evict(map: &mut HashMap<(Class, IpAddr), Bucket>, now: Instant, rate: impl Fn(Class) -> Rate) {
    map.retain(|(class, _), b| {
        let r = rate(*class);
        b.tokens + now.saturating_duration_since(b.updated).as_secs_f64() * r.per_sec < r.burst
    });
    if map.len() * 8 > MAX_ENTRIES_PER_SHARD * 7 {
        let mut ages: Vec<Instant> = map.values().map(|b| b.updated).collect();
        let cut = ages.len() / 8;
        let (_, cutoff, _) = ages.select_nth_unstable(cut);
        let cutoff = *cutoff;
        map.retain(|_, b| b.updated > cutoff);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, n])
    }

    #[test]
    fn bucket_refills_over_time_and_separates_clients() {
        let l = RateLimiter::new(Limits {
            general: Rate::per_second(1),
            auth: Rate::per_minute(2),
            share: Rate {
                per_sec: 0.0,
                burst: 0.0,
            },
        });
        let t0 = Instant::now();
        assert!(l.check(Class::Auth, ip(1), t0).is_ok());
        assert!(l.check(Class::Auth, ip(1), t0).is_ok());
        let refusal = l.check(Class::Auth, ip(1), t0).unwrap_err();
        assert_eq!(refusal.retry_after_secs, 30);
        assert!(refusal.audit);
        assert!(
            !l.check(Class::Auth, ip(1), t0).unwrap_err().audit,
            "audited once a minute"
        );
        assert!(l.check(Class::Auth, ip(2), t0).is_ok(), "per client");
        assert!(l.check(Class::General, ip(1), t0).is_ok(), "per class");
        assert!(
            l.check(Class::Auth, ip(1), t0 + Duration::from_secs(30))
                .is_ok(),
            "refilled"
        );
        for _ in 0..1000 {
            assert!(
                l.check(Class::Share, ip(1), t0).is_ok(),
                "zero rate is unlimited"
            );
        }
    }

    #[test]
    fn ipv6_clients_share_a_bucket_per_64_and_mapped_ipv4_is_ipv4() {
        let l = RateLimiter::new(Limits {
            general: Rate::per_minute(1),
            auth: Rate::per_minute(1),
            share: Rate::per_minute(1),
        });
        let t0 = Instant::now();
        let v6 = |s: &str| s.parse::<IpAddr>().unwrap();
        assert!(l.check(Class::Auth, v6("2001:db8:1:2::1"), t0).is_ok());
        assert!(
            l.check(Class::Auth, v6("2001:db8:1:2:ffff:ffff:ffff:ffff"), t0)
                .is_err(),
            "same /64"
        );
        assert!(
            l.check(Class::Auth, v6("2001:db8:1:3::1"), t0).is_ok(),
            "next /64"
        );
        assert!(l.check(Class::Auth, v6("192.0.2.1"), t0).is_ok());
        assert!(
            l.check(Class::Auth, v6("::ffff:192.0.2.1"), t0).is_err(),
            "mapped IPv4 is the IPv4 address"
        );
        assert!(
            l.check(Class::Auth, v6("192.0.2.2"), t0).is_ok(),
            "IPv4 /32"
        );
        assert_eq!(bucket_key(v6("2001:db8::abcd")), v6("2001:db8::"));
    }

    #[test]
    fn eviction_keeps_memory_bounded() {
        let l = RateLimiter::new(Limits {
            general: Rate::per_second(1),
            auth: Rate::per_second(1),
            share: Rate::per_second(1),
        });
        let t0 = Instant::now();
        for i in 0..(SHARDS * MAX_ENTRIES_PER_SHARD * 2) as u32 {
            let _ = l.check(Class::General, IpAddr::from(i.to_be_bytes()), t0);
        }
        let total: usize = l.shards.iter().map(|s| s.lock().unwrap().len()).sum();
        assert!(total <= SHARDS * MAX_ENTRIES_PER_SHARD, "{total}");
    }
}

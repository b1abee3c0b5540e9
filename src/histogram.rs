//! A lock-free histogram with fixed bucket bounds, for the Prometheus `/metrics` page.
//!
//! Shared by `store` (commit batch sizes and durations) and `server` (request latency), so
//! it depends on neither. Values are integers in the caller's unit (microseconds, writes);
//! the renderer scales them. Recording is a few relaxed atomic adds: it runs on every
//! request and every commit. A snapshot is not taken atomically across buckets, so it is
//! built from the bucket counts alone, which keeps every `le` bucket at most `+Inf` (=
//! count), as Prometheus requires; the sum may lag by a value or two.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counts of values at or below each bound, plus one overflow bucket.
#[derive(Debug)]
pub struct Histogram {
    bounds: &'static [u64],
    /// `bounds.len() + 1` counters; the last one counts values above every bound.
    buckets: Box<[AtomicU64]>,
    sum: AtomicU64,
}

/// A point-in-time copy of a [`Histogram`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistogramSnapshot {
    /// The upper bounds, ascending.
    pub bounds: &'static [u64],
    /// For each bound, how many values were at or below it (cumulative).
    pub cumulative: Vec<u64>,
    /// How many values in all (the `+Inf` bucket).
    pub count: u64,
    /// The sum of all values, saturating.
    pub sum: u64,
}

impl Histogram {
    /// A histogram over `bounds`, which must be strictly ascending.
    pub fn new(bounds: &'static [u64]) -> Histogram {
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "ascending bounds");
        Histogram {
            bounds,
            buckets: (0..=bounds.len()).map(|_| AtomicU64::new(0)).collect(),
            sum: AtomicU64::new(0),
        }
    }

    /// Records one value.
    pub fn observe(&self, value: u64) {
        let i = self.bounds.partition_point(|&b| b < value);
        self.buckets[i].fetch_add(1, Ordering::Relaxed);
        // Saturating, so an absurd value cannot wrap the sum back to small.
        let _ = self
            .sum
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |s| {
                Some(s.saturating_add(value))
            });
    }

    /// The counts as they are now.
    pub fn snapshot(&self) -> HistogramSnapshot {
        let mut running = 0u64;
        let mut cumulative: Vec<u64> = self
            .buckets
            .iter()
            .map(|b| {
                running = running.saturating_add(b.load(Ordering::Relaxed));
                running
            })
            .collect();
        let count = cumulative.pop().unwrap_or(0);
        HistogramSnapshot {
            bounds: self.bounds,
            cumulative,
            count,
            sum: self.sum.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_land_in_the_first_bucket_whose_bound_holds_them() {
        let h = Histogram::new(&[1, 10, 100]);
        for v in [0, 1, 2, 10, 11, 100, 101, 5000] {
            h.observe(v);
        }
        let s = h.snapshot();
        // <=1: 0, 1; <=10: + 2, 10; <=100: + 11, 100; above: 101, 5000.
        assert_eq!(s.cumulative, vec![2, 4, 6]);
        assert_eq!(s.count, 8);
        assert_eq!(s.sum, 5225);
    }

    #[test]
    fn the_sum_saturates_instead_of_wrapping() {
        let h = Histogram::new(&[1]);
        h.observe(u64::MAX);
        h.observe(5);
        assert_eq!(h.snapshot().sum, u64::MAX);
        assert_eq!(h.snapshot().count, 2);
    }
}

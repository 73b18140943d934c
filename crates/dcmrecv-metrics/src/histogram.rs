//! `dcmrecv_store_seconds`: a histogram updated with atomics only.
//!
//! prometheus-client's own `Histogram` keeps its buckets behind a mutex (its source says
//! "consider using atomics"), so every association would take the same lock once per object,
//! and a scrape would hold it while encoding. This one implements the crate's `EncodeMetric`
//! trait over an array of `AtomicU64` buckets and an integer sum in nanoseconds: `observe` is
//! two relaxed `fetch_add`s, and the encoder reads a snapshot without stopping writers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use prometheus_client::encoding::{EncodeMetric, MetricEncoder, NoLabelSet};
use prometheus_client::metrics::{MetricType, TypedMetric};

/// Upper bounds of `dcmrecv_store_seconds` in seconds: from 1 ms (a small object on a
/// local disk) to 60 s (a large multi-frame object over a slow link), roughly 1-2.5-5 per
/// decade, then `+Inf`.
pub const STORE_SECONDS_BUCKETS: [f64; 15] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
];

/// The same bounds in nanoseconds, for an integer comparison on the hot path.
const BOUNDS_NANOS: [u64; 15] = [
    1_000_000,
    2_500_000,
    5_000_000,
    10_000_000,
    25_000_000,
    50_000_000,
    100_000_000,
    250_000_000,
    500_000_000,
    1_000_000_000,
    2_500_000_000,
    5_000_000_000,
    10_000_000_000,
    30_000_000_000,
    60_000_000_000,
];

const BUCKETS: usize = STORE_SECONDS_BUCKETS.len() + 1;

/// A fixed-bucket histogram of durations, lock-free; clones share the same buckets.
#[derive(Debug, Clone, Default)]
pub(crate) struct DurationHistogram {
    state: Arc<State>,
}

#[derive(Debug, Default)]
struct State {
    /// Per-bucket (not cumulative) counts; the last one is `+Inf`.
    buckets: [AtomicU64; BUCKETS],
    sum_nanos: AtomicU64,
}

impl DurationHistogram {
    pub(crate) fn observe(&self, elapsed: Duration) {
        let nanos = u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX);
        let bucket = BOUNDS_NANOS.partition_point(|&bound| bound < nanos);
        if let Some(counter) = self.state.buckets.get(bucket) {
            counter.fetch_add(1, Ordering::Relaxed);
        }
        self.state.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Number of observations.
    #[cfg(test)]
    fn count(&self) -> u64 {
        self.state
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .sum()
    }
}

impl TypedMetric for DurationHistogram {
    const TYPE: MetricType = MetricType::Histogram;
}

impl EncodeMetric for DurationHistogram {
    fn encode(&self, mut encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
        // The count is the sum of the buckets read, so `_count` always equals the `+Inf`
        // bucket; the sum may include an observation whose bucket was read before it landed.
        let mut buckets = [(f64::INFINITY, 0u64); BUCKETS];
        for (i, slot) in buckets.iter_mut().enumerate() {
            if let Some(&bound) = STORE_SECONDS_BUCKETS.get(i) {
                slot.0 = bound;
            }
            if let Some(counter) = self.state.buckets.get(i) {
                slot.1 = counter.load(Ordering::Relaxed);
            }
        }
        let count = buckets.iter().map(|(_, n)| n).sum();
        let sum = self.state.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9;
        encoder.encode_histogram::<NoLabelSet>(sum, count, &buckets, None)
    }

    fn metric_type(&self) -> MetricType {
        MetricType::Histogram
    }
}

#[cfg(test)]
mod tests {
    use super::{BOUNDS_NANOS, DurationHistogram, STORE_SECONDS_BUCKETS};
    use std::sync::atomic::Ordering;
    use std::time::Duration;

    #[test]
    fn bounds_agree_and_ascend() {
        for (secs, nanos) in STORE_SECONDS_BUCKETS.iter().zip(BOUNDS_NANOS) {
            assert_eq!((secs * 1e9).round() as u64, nanos);
        }
        assert!(BOUNDS_NANOS.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn observations_land_in_the_bucket_whose_bound_is_not_below_them() {
        let h = DurationHistogram::default();
        h.observe(Duration::ZERO); // le=0.001
        h.observe(Duration::from_millis(1)); // le=0.001: bounds are inclusive
        h.observe(Duration::from_nanos(1_000_001)); // le=0.0025
        h.observe(Duration::from_secs(60)); // le=60
        h.observe(Duration::from_secs(61)); // +Inf
        h.observe(Duration::MAX); // +Inf; nothing panics (the sum wraps)
        let counts: Vec<u64> = h
            .state
            .buckets
            .iter()
            .map(|b| b.load(Ordering::Relaxed))
            .collect();
        assert_eq!(counts[0], 2);
        assert_eq!(counts[1], 1);
        assert_eq!(counts[14], 1);
        assert_eq!(counts[15], 2);
        assert_eq!(h.count(), 6);
    }
}

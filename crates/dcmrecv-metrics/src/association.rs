//! [`AssociationMetrics`]: what one association's thread counts with.

use std::sync::Arc;
use std::time::Duration;

use prometheus_client::metrics::gauge::Gauge;

use crate::histogram::DurationHistogram;
use crate::series::Series;
use crate::status_class::StatusClass;

/// The metrics handle of one accepted association, from
/// [`Metrics::association_accepted`](crate::Metrics::association_accepted).
///
/// Its calls are the receive path's hot path: each is a few relaxed atomic adds on counters
/// resolved when the association was accepted. No lock, no allocation, no label lookup. Counters
/// are shared by all associations, so concurrent adds contend for a cache line; that costs tens
/// of nanoseconds against the tens of microseconds (at least) an object takes to arrive
/// (`cargo bench -p dcmrecv-metrics` measures it).
///
/// Dropping the handle marks the association as no longer active, whichever way it ended
/// (release, abort, error, even a panic in its thread).
///
/// ```
/// use std::time::{Duration, Instant};
/// use dcmrecv_metrics::{Metrics, MetricsOptions};
///
/// let metrics = Metrics::new(MetricsOptions::new());
/// let association = metrics.association_accepted("MR1");
/// let started = Instant::now(); // first data set byte
/// let (status, bytes) = (0x0000, 1 << 20); // the sink's answer
/// association.object_stored(status, bytes, started.elapsed());
/// association.object_aborted(4096); // the peer aborted mid-object
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct AssociationMetrics {
    series: Arc<Series>,
    active: Gauge,
    store_seconds: DurationHistogram,
}

impl AssociationMetrics {
    pub(crate) fn new(
        series: Arc<Series>,
        active: Gauge,
        store_seconds: DurationHistogram,
    ) -> AssociationMetrics {
        active.inc();
        AssociationMetrics {
            series,
            active,
            store_seconds,
        }
    }

    /// Counts a C-STORE that was answered with `status` after `bytes` of data set arrived in
    /// `elapsed` (first data set byte to response ready).
    pub fn object_stored(&self, status: u16, bytes: u64, elapsed: Duration) {
        if let Some(counter) = self.series.object(StatusClass::of(status)) {
            counter.inc();
        }
        self.series.bytes.inc_by(bytes);
        self.store_seconds.observe(elapsed);
    }

    /// Counts a C-STORE that was never answered because the association ended while its data
    /// set was arriving; `bytes` is how much had arrived. It is not timed.
    pub fn object_aborted(&self, bytes: u64) {
        if let Some(counter) = self.series.object(StatusClass::Aborted) {
            counter.inc();
        }
        self.series.bytes.inc_by(bytes);
    }
}

impl Drop for AssociationMetrics {
    fn drop(&mut self) {
        self.active.dec();
    }
}

//! [`Metrics`]: the registry, and the calls the acceptor makes.

use std::sync::Arc;

use prometheus_client::encoding::{prometheus_text, text};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::{Registry, Unit};

use crate::association::AssociationMetrics;
use crate::association_result::{AssociationResult, RejectReason};
use crate::format::Format;
use crate::histogram::DurationHistogram;
use crate::hooks::HookCollector;
use crate::options::MetricsOptions;
use crate::series::{Families, SeriesTable};
use crate::status_class::StatusClass;
use crate::store_space::SpaceCollector;

/// The receiver's metrics. Cheap to clone (an `Arc`); share one between the acceptor and the
/// HTTP endpoint.
///
/// ```
/// use std::time::Duration;
/// use dcmrecv_metrics::{Format, Metrics, MetricsOptions, RejectReason};
///
/// let metrics = Metrics::new(MetricsOptions::new());
///
/// // An association thread:
/// let association = metrics.association_accepted("CT_SCANNER");
/// association.object_stored(0x0000, 524_288, Duration::from_millis(4));
/// association.object_stored(0xA700, 0, Duration::from_millis(1));
/// assert_eq!(metrics.associations_active(), 1);
/// drop(association); // released or aborted: no longer active
///
/// metrics.association_rejected("UNKNOWN", RejectReason::CallingAeTitle);
///
/// // The scrape:
/// let text = metrics.encode(Format::Prometheus)?;
/// assert!(text.contains("dcmrecv_objects_total{status=\"success\"} 1\n"));
/// assert!(text.contains("dcmrecv_associations_total{result=\"rejected_calling_ae\"} 1\n"));
/// assert!(text.contains("dcmrecv_received_bytes_total 524288\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct Metrics {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    registry: Registry,
    families: Families,
    series: SeriesTable,
    active: Gauge,
    hook_queue_depth: Gauge,
    store_seconds: DurationHistogram,
}

impl Metrics {
    /// Creates and registers every metric (all counters start at zero and are exposed at once).
    pub fn new(options: MetricsOptions) -> Metrics {
        let mut registry = Registry::with_prefix("dcmrecv");
        let families = Families::default();
        let active = Gauge::default();
        let hook_queue_depth = Gauge::default();
        let store_seconds = DurationHistogram::default();
        registry.register(
            "associations_active",
            "Associations established and not yet released or aborted",
            active.clone(),
        );
        registry.register(
            "associations",
            "Association requests by outcome: accepted, rejected_<reason>, or failed before an answer",
            families.associations.clone(),
        );
        registry.register(
            "objects",
            "C-STORE requests by DIMSE status class (aborted: no response was sent)",
            families.objects.clone(),
        );
        registry.register_with_unit(
            "received",
            "Data set bytes received in C-STORE requests",
            Unit::Bytes,
            families.bytes.clone(),
        );
        registry.register_with_unit(
            "store",
            "Time from a C-STORE request's first data set byte to its response being ready",
            Unit::Seconds,
            store_seconds.clone(),
        );
        match options.hooks {
            Some(probe) => registry.register_collector(Box::new(HookCollector { probe })),
            None => registry.register(
                "hook_queue_depth",
                "Hook invocations waiting to run (0 when no hooks are configured)",
                hook_queue_depth.clone(),
            ),
        }
        if let Some(probe) = options.store_space {
            registry.register_collector(Box::new(SpaceCollector { probe }));
        }
        let series = SeriesTable::new(&families, options.per_ae, options.ae_limit);
        Metrics {
            inner: Arc::new(Inner {
                registry,
                families,
                series,
                active,
                hook_queue_depth,
                store_seconds,
            }),
        }
    }

    /// Counts an accepted association (A-ASSOCIATE-AC sent) and returns the handle its thread
    /// counts objects with. It is active until the handle is dropped.
    ///
    /// This is the only call that may take a lock (with per-AE series: the AE table's, to find
    /// or add the title); the handle's calls never do.
    pub fn association_accepted(&self, calling_ae: &str) -> AssociationMetrics {
        let series = self.inner.series.claim(&self.inner.families, calling_ae);
        if let Some(counter) = series.association(AssociationResult::Accepted) {
            counter.inc();
        }
        AssociationMetrics::new(
            series,
            self.inner.active.clone(),
            self.inner.store_seconds.clone(),
        )
    }

    /// Counts an association request answered with A-ASSOCIATE-RJ.
    pub fn association_rejected(&self, calling_ae: &str, reason: RejectReason) {
        let series = self.inner.series.lookup(calling_ae);
        if let Some(counter) = series.association(AssociationResult::Rejected(reason)) {
            counter.inc();
        }
    }

    /// Counts a connection that ended before its association request was answered (closed,
    /// reset, timed out, a failed TLS handshake, a malformed PDU).
    pub fn association_failed(&self) {
        let series = self.inner.series.unnamed();
        if let Some(counter) = series.association(AssociationResult::Failed) {
            counter.inc();
        }
    }

    /// Sets `dcmrecv_hook_queue_depth` (ignored with a [`MetricsOptions::hooks`] probe, which
    /// then supplies it).
    pub fn set_hook_queue_depth(&self, depth: u64) {
        self.inner
            .hook_queue_depth
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// The current value of `dcmrecv_associations_active` (for a status line).
    pub fn associations_active(&self) -> i64 {
        self.inner.active.get()
    }

    /// How many objects ended in `class`, over every calling AE (for a status line).
    ///
    /// ```
    /// use std::time::Duration;
    /// use dcmrecv_metrics::{Metrics, MetricsOptions, StatusClass};
    ///
    /// let metrics = Metrics::new(MetricsOptions::new().per_ae(true));
    /// metrics.association_accepted("A").object_stored(0, 10, Duration::ZERO);
    /// metrics.association_accepted("B").object_stored(0, 10, Duration::ZERO);
    /// assert_eq!(metrics.objects(StatusClass::Success), 2);
    /// ```
    pub fn objects(&self, class: StatusClass) -> u64 {
        let mut total = 0u64;
        self.inner.series.for_each(|series| {
            total = total.saturating_add(series.object(class).map_or(0, |c| c.get()));
        });
        total
    }

    /// Encodes every metric for a scrape.
    ///
    /// Runs on the scraping thread. It reads atomics, takes each labelled family's read lock
    /// while that family is written out, and calls the store-space probe.
    pub fn encode(&self, format: Format) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(8 * 1024);
        match format {
            Format::OpenMetrics => text::encode(&mut out, &self.inner.registry)?,
            Format::Prometheus => prometheus_text::encode(&mut out, &self.inner.registry)?,
        }
        Ok(out)
    }
}

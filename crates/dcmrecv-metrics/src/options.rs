//! The builder for [`Metrics`](crate::Metrics).

use std::fmt;
use std::sync::Arc;

use crate::hooks::{HookCounts, HookProbe};
use crate::store_space::{SpaceProbe, StoreSpace};

/// How many distinct calling AE titles get series of their own by default.
pub const DEFAULT_AE_LIMIT: usize = 64;

/// Options for [`Metrics::new`](crate::Metrics::new).
///
/// ```
/// use dcmrecv_metrics::{Metrics, MetricsOptions, StoreSpace};
///
/// let metrics = Metrics::new(
///     MetricsOptions::new()
///         .per_ae(true) // --metrics-per-ae
///         .ae_limit(32)
///         .store_space(|| Some(StoreSpace::new(1 << 30))),
/// );
/// # let _ = metrics;
/// ```
#[derive(Clone)]
pub struct MetricsOptions {
    pub(crate) per_ae: bool,
    pub(crate) ae_limit: usize,
    pub(crate) store_space: Option<SpaceProbe>,
    pub(crate) hooks: Option<HookProbe>,
}

impl MetricsOptions {
    /// No per-AE series, the default AE limit, no free-space measurement.
    pub fn new() -> Self {
        MetricsOptions {
            per_ae: false,
            ae_limit: DEFAULT_AE_LIMIT,
            store_space: None,
            hooks: None,
        }
    }

    /// Adds a `calling_ae` label to `dcmrecv_associations_total`, `dcmrecv_objects_total` and
    /// `dcmrecv_received_bytes_total` (off by default: AE titles are chosen by peers).
    pub fn per_ae(mut self, enabled: bool) -> Self {
        self.per_ae = enabled;
        self
    }

    /// How many distinct calling AE titles get their own series with [`per_ae`](Self::per_ae)
    /// ([`DEFAULT_AE_LIMIT`] by default); the others share `(other)`.
    pub fn ae_limit(mut self, limit: usize) -> Self {
        self.ae_limit = limit;
        self
    }

    /// Measures the output store on every scrape: `dcmrecv_output_free_bytes` (and
    /// `dcmrecv_output_size_bytes` when the measurement has a size). `None` leaves them out of
    /// that scrape. The probe runs on the scraping thread, never on the receive path; keep it
    /// quick (a `statvfs`).
    pub fn store_space(
        mut self,
        probe: impl Fn() -> Option<StoreSpace> + Send + Sync + 'static,
    ) -> Self {
        self.store_space = Some(Arc::new(probe));
        self
    }

    /// Reads the hook runner's counters on every scrape: `dcmrecv_hook_queue_depth`,
    /// `dcmrecv_hooks_running` and `dcmrecv_hooks_total{result}` come from the probe (and
    /// [`Metrics::set_hook_queue_depth`](crate::Metrics::set_hook_queue_depth) is then
    /// ignored). Like the store-space probe it runs on the scraping thread; keep it to a few
    /// atomic loads.
    ///
    /// ```
    /// use dcmrecv_metrics::{Format, HookCounts, Metrics, MetricsOptions};
    ///
    /// let metrics = Metrics::new(MetricsOptions::new().hooks(|| {
    ///     let mut counts = HookCounts::default();
    ///     counts.failed = 2;
    ///     counts
    /// }));
    /// let text = metrics.encode(Format::Prometheus)?;
    /// assert!(text.contains("dcmrecv_hooks_total{result=\"failed\"} 2\n"));
    /// assert!(text.contains("dcmrecv_hooks_total{result=\"succeeded\"} 0\n"));
    /// assert!(text.contains("dcmrecv_hook_queue_depth 0\n"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn hooks(mut self, probe: impl Fn() -> HookCounts + Send + Sync + 'static) -> Self {
        self.hooks = Some(Arc::new(probe));
        self
    }
}

impl Default for MetricsOptions {
    fn default() -> Self {
        MetricsOptions::new()
    }
}

impl fmt::Debug for MetricsOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsOptions")
            .field("per_ae", &self.per_ae)
            .field("ae_limit", &self.ae_limit)
            .field("store_space", &self.store_space.is_some())
            .field("hooks", &self.hooks.is_some())
            .finish()
    }
}

//! `dcmrecv_hook_queue_depth`, `dcmrecv_hooks_running` and `dcmrecv_hooks_total{result}`: the
//! hook runner's counters, read on each scrape.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// The hook runner's counters as the caller read them (all zero when no hook is configured).
///
/// Each field is one `result` of `dcmrecv_hooks_total` but the two gauges.
///
/// ```
/// use dcmrecv_metrics::HookCounts;
///
/// let mut counts = HookCounts::default();
/// counts.succeeded = 41;
/// counts.timed_out = 1;
/// counts.queue_depth = 3;
/// assert_eq!(counts.finished(), 42);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct HookCounts {
    /// Hooks that exited with status 0.
    pub succeeded: u64,
    /// Hooks that exited with another status.
    pub failed: u64,
    /// Hooks killed by a signal they were not sent by the runner.
    pub signalled: u64,
    /// Hooks killed for running past the timeout.
    pub timed_out: u64,
    /// Hooks that could not be started.
    pub spawn_failed: u64,
    /// Hooks dropped because the queue was full.
    pub dropped: u64,
    /// Hooks never started because the receiver shut down.
    pub not_run: u64,
    /// Hooks killed because the shutdown deadline passed while they ran.
    pub interrupted: u64,
    /// Hooks waiting for a worker now (`dcmrecv_hook_queue_depth`).
    pub queue_depth: u64,
    /// Hooks running now (`dcmrecv_hooks_running`).
    pub running: u64,
}

impl HookCounts {
    /// Hooks that ran to an end of any kind (every result but `dropped` and `not_run`).
    pub fn finished(&self) -> u64 {
        self.succeeded
            + self.failed
            + self.signalled
            + self.timed_out
            + self.spawn_failed
            + self.interrupted
    }

    /// `(result label, count)` for every series of `dcmrecv_hooks_total`, in a fixed order.
    fn results(&self) -> [(&'static str, u64); 8] {
        [
            ("succeeded", self.succeeded),
            ("failed", self.failed),
            ("signalled", self.signalled),
            ("timed_out", self.timed_out),
            ("spawn_failed", self.spawn_failed),
            ("dropped", self.dropped),
            ("not_run", self.not_run),
            ("interrupted", self.interrupted),
        ]
    }
}

/// The caller's reading, called on every scrape.
pub(crate) type HookProbe = Arc<dyn Fn() -> HookCounts + Send + Sync>;

/// A collector that reads the probe once per scrape and writes the three hook metrics.
pub(crate) struct HookCollector {
    pub(crate) probe: HookProbe,
}

impl fmt::Debug for HookCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HookCollector").finish_non_exhaustive()
    }
}

fn gauge(value: u64) -> ConstGauge<i64> {
    ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX))
}

impl Collector for HookCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let counts = (self.probe)();
        let depth = gauge(counts.queue_depth);
        depth.encode(encoder.encode_descriptor(
            "hook_queue_depth",
            "Hook invocations waiting to run (0 when no hooks are configured)",
            None,
            depth.metric_type(),
        )?)?;
        let running = gauge(counts.running);
        running.encode(encoder.encode_descriptor(
            "hooks_running",
            "Hook processes running now",
            None,
            running.metric_type(),
        )?)?;
        let mut family = encoder.encode_descriptor(
            "hooks",
            "Hook invocations by result (-xcr, -xcs); never a change of any DIMSE status",
            None,
            prometheus_client::metrics::MetricType::Counter,
        )?;
        for (result, count) in counts.results() {
            let labels = [("result", result)];
            ConstCounter::new(count).encode(family.encode_family(&labels)?)?;
        }
        Ok(())
    }
}

//! `dcmrecv_output_free_bytes` and `dcmrecv_output_size_bytes`: measured on each scrape.

use std::fmt;
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::registry::Unit;

/// The output store's free space and size, as the caller measured them.
///
/// For a directory, `free` is what an unprivileged writer can still use (`statvfs`'s
/// `f_bavail × f_frsize`) and `size` the file system's size (`f_blocks × f_frsize`). An object
/// store has no size; leave it out.
///
/// ```
/// use dcmrecv_metrics::StoreSpace;
///
/// let space = StoreSpace::new(2 << 30).with_size(100 << 30);
/// assert_eq!(space.free_bytes(), 2 << 30);
/// assert_eq!(space.size_bytes(), Some(100 << 30));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreSpace {
    free: u64,
    size: Option<u64>,
}

impl StoreSpace {
    /// Free space in bytes.
    pub fn new(free_bytes: u64) -> Self {
        StoreSpace {
            free: free_bytes,
            size: None,
        }
    }

    /// The store's total size in bytes.
    pub fn with_size(mut self, size_bytes: u64) -> Self {
        self.size = Some(size_bytes);
        self
    }

    /// Free space in bytes.
    pub fn free_bytes(&self) -> u64 {
        self.free
    }

    /// Total size in bytes, when the store has one.
    pub fn size_bytes(&self) -> Option<u64> {
        self.size
    }
}

/// The caller's measurement, called on every scrape.
pub(crate) type SpaceProbe = Arc<dyn Fn() -> Option<StoreSpace> + Send + Sync>;

/// A collector that asks the probe at scrape time; nothing is exposed when it returns `None`.
pub(crate) struct SpaceCollector {
    pub(crate) probe: SpaceProbe,
}

impl fmt::Debug for SpaceCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SpaceCollector").finish_non_exhaustive()
    }
}

impl Collector for SpaceCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), fmt::Error> {
        let Some(space) = (self.probe)() else {
            return Ok(());
        };
        let free = ConstGauge::new(space.free);
        free.encode(encoder.encode_descriptor(
            "output_free",
            "Space left on the output store for new objects (measured at scrape time)",
            Some(&Unit::Bytes),
            free.metric_type(),
        )?)?;
        if let Some(size) = space.size {
            let size = ConstGauge::new(size);
            size.encode(encoder.encode_descriptor(
                "output_size",
                "Total size of the file system holding the output directory",
                Some(&Unit::Bytes),
                size.metric_type(),
            )?)?;
        }
        Ok(())
    }
}

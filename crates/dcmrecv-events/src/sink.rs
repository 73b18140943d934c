//! Where events go: the [`EventSink`] trait and a fan-out to several sinks.

use std::sync::Arc;

use crate::event::Event;

/// Receives events. Embedders implement it to get events as Rust values, without JSON.
///
/// A receiver calls [`event`](EventSink::event) from its association threads, possibly from
/// many at once, in the order things happened on each association. An implementation must
/// return quickly (it runs on the receive path) and must not panic: it logs and counts its own
/// failures.
///
/// ```
/// use std::sync::Mutex;
///
/// use dcmrecv_events::{Event, EventSink};
///
/// #[derive(Default)]
/// struct Kinds(Mutex<Vec<&'static str>>);
///
/// impl EventSink for Kinds {
///     fn event(&self, event: &Event) {
///         if let Ok(mut kinds) = self.0.lock() {
///             kinds.push(event.kind());
///         }
///     }
/// }
/// ```
pub trait EventSink: Send + Sync {
    /// Handles one event.
    fn event(&self, event: &Event);
}

impl<T: EventSink + ?Sized> EventSink for Arc<T> {
    fn event(&self, event: &Event) {
        (**self).event(event);
    }
}

impl<T: EventSink + ?Sized> EventSink for Box<T> {
    fn event(&self, event: &Event) {
        (**self).event(event);
    }
}

/// An [`EventSink`] made from a closure; see [`from_fn`].
#[derive(Debug, Clone)]
pub struct FnSink<F>(F);

/// Turns a closure into an [`EventSink`].
///
/// ```
/// use std::sync::atomic::{AtomicUsize, Ordering};
///
/// use dcmrecv_events::{EventSink, from_fn};
///
/// static SEEN: AtomicUsize = AtomicUsize::new(0);
/// let sink = from_fn(|_event| {
///     SEEN.fetch_add(1, Ordering::Relaxed);
/// });
/// # let _ = &sink as &dyn EventSink;
/// ```
pub fn from_fn<F: Fn(&Event) + Send + Sync>(f: F) -> FnSink<F> {
    FnSink(f)
}

impl<F: Fn(&Event) + Send + Sync> EventSink for FnSink<F> {
    fn event(&self, event: &Event) {
        (self.0)(event);
    }
}

/// Hands each event to several sinks, in the order they were added.
///
/// ```
/// use std::sync::Arc;
///
/// use dcmrecv_events::{EventSink, FanOut, JsonLinesWriter};
///
/// let json = Arc::new(JsonLinesWriter::new(Vec::<u8>::new()));
/// let all = FanOut::new().with(json.clone());
/// assert_eq!(all.len(), 1);
/// # let _ = &all as &dyn EventSink;
/// ```
#[derive(Clone, Default)]
pub struct FanOut {
    sinks: Vec<Arc<dyn EventSink>>,
}

impl FanOut {
    /// No sinks yet.
    pub fn new() -> Self {
        FanOut::default()
    }

    /// Adds a sink after the ones already there.
    pub fn with(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.sinks.push(sink);
        self
    }

    /// Adds a sink after the ones already there.
    pub fn push(&mut self, sink: Arc<dyn EventSink>) {
        self.sinks.push(sink);
    }

    /// How many sinks.
    pub fn len(&self) -> usize {
        self.sinks.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.sinks.is_empty()
    }
}

impl std::fmt::Debug for FanOut {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FanOut")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl EventSink for FanOut {
    fn event(&self, event: &Event) {
        for sink in &self.sinks {
            sink.event(event);
        }
    }
}

//! The JSON-lines writer: one JSON object per event, one line each, flushed per event.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use snafu::{ResultExt, Snafu};

use crate::event::Event;
use crate::sink::EventSink;

/// Errors opening an events destination.
#[non_exhaustive]
#[derive(Debug, Snafu)]
pub enum Error {
    /// The events file could not be opened for appending.
    #[snafu(display("cannot open events file {}", path.display()))]
    OpenEventsFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
}

/// Counters of a [`JsonLinesWriter`], for metrics.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JsonStats {
    /// Events written and flushed.
    pub written: u64,
    /// Events that could not be written (the error was logged).
    pub write_errors: u64,
}

/// Writes each event as one line of JSON (the shape of [`Event`]'s serialisation) and flushes
/// after each line, so a consumer tailing the file sees an event as soon as it happened.
///
/// A write error never panics and never reaches the caller: it is counted
/// ([`stats`](Self::stats)) and logged with `tracing` at `error` level, once when writing starts
/// failing and once when it works again (not once per event), so a full disk cannot flood
/// the log. Lines are written whole under a lock, so concurrent associations never interleave
/// within a line.
///
/// ```
/// use std::time::SystemTime;
///
/// use dcmrecv_events::{AssociationId, AssociationStarted, Event, EventSink, JsonLinesWriter};
///
/// let writer = JsonLinesWriter::new(Vec::<u8>::new());
/// writer.event(&Event::AssociationStarted(AssociationStarted {
///     time: SystemTime::UNIX_EPOCH,
///     association: AssociationId(1),
///     peer: "127.0.0.1:40000".into(),
///     remote_host: "localhost".into(),
///     calling_ae: "STORESCU".into(),
///     called_ae: "DCMRECV".into(),
///     tls: false,
/// }));
/// assert_eq!(writer.stats().written, 1);
/// let text = String::from_utf8(writer.into_inner())?;
/// assert!(text.starts_with(r#"{"event":"association-started","#));
/// assert!(text.ends_with("}\n"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct JsonLinesWriter<W: Write + Send = Box<dyn Write + Send>> {
    state: Mutex<State<W>>,
    written: AtomicU64,
    write_errors: AtomicU64,
}

struct State<W> {
    out: W,
    /// A serialised line, reused between events.
    line: Vec<u8>,
    /// Whether the last write failed (so the next failure is not logged again).
    failing: bool,
}

impl JsonLinesWriter {
    /// Opens `path` for appending (creating it if needed), or standard output for `-`, as the
    /// `--events FILE` option does. A FIFO works too.
    ///
    /// ```no_run
    /// use dcmrecv_events::JsonLinesWriter;
    ///
    /// let events = JsonLinesWriter::open("/var/log/dcmrecv/events.jsonl")?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn open(path: impl AsRef<Path>) -> Result<JsonLinesWriter, Error> {
        let path = path.as_ref();
        if path == Path::new("-") {
            return Ok(JsonLinesWriter::new(Box::new(io::stdout())));
        }
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
            .context(OpenEventsFileSnafu { path })?;
        Ok(JsonLinesWriter::new(Box::new(file)))
    }
}

impl<W: Write + Send> JsonLinesWriter<W> {
    /// Writes to `out` (unbuffered: each line goes out in one `write_all`, then `flush`).
    pub fn new(out: W) -> Self {
        JsonLinesWriter {
            state: Mutex::new(State {
                out,
                line: Vec::with_capacity(1024),
                failing: false,
            }),
            written: AtomicU64::new(0),
            write_errors: AtomicU64::new(0),
        }
    }

    /// What was written and what failed so far.
    pub fn stats(&self) -> JsonStats {
        JsonStats {
            written: self.written.load(Ordering::Relaxed),
            write_errors: self.write_errors.load(Ordering::Relaxed),
        }
    }

    /// The destination back (for tests).
    pub fn into_inner(self) -> W {
        match self.state.into_inner() {
            Ok(state) => state.out,
            Err(poisoned) => poisoned.into_inner().out,
        }
    }

    fn write_line(state: &mut State<W>, event: &Event) -> io::Result<()> {
        state.line.clear();
        serde_json::to_writer(&mut state.line, event).map_err(io::Error::other)?;
        state.line.push(b'\n');
        state.out.write_all(&state.line)?;
        state.out.flush()
    }
}

impl<W: Write + Send> EventSink for JsonLinesWriter<W> {
    fn event(&self, event: &Event) {
        // A panic elsewhere while holding the lock leaves a usable writer: keep going.
        let mut state = match self.state.lock() {
            Ok(state) => state,
            Err(poisoned) => poisoned.into_inner(),
        };
        match Self::write_line(&mut state, event) {
            Ok(()) => {
                self.written.fetch_add(1, Ordering::Relaxed);
                if state.failing {
                    state.failing = false;
                    tracing::info!(
                        failed_so_far = self.write_errors.load(Ordering::Relaxed),
                        "writing events works again"
                    );
                }
            }
            Err(error) => {
                let failed = self.write_errors.fetch_add(1, Ordering::Relaxed) + 1;
                if !state.failing {
                    state.failing = true;
                    tracing::error!(
                        %error,
                        event = event.kind(),
                        failed_so_far = failed,
                        "cannot write event; events are being lost until writing works again"
                    );
                }
            }
        }
    }
}

impl<W: Write + Send> std::fmt::Debug for JsonLinesWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonLinesWriter")
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

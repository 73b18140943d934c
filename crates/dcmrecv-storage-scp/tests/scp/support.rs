//! Test support: a server on 127.0.0.1:0 with a recording sink, log capture, and the raw-PDU
//! client of `dcmrecv-testpeer` (shared with the end-to-end tests).

use std::io::Write;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dcmrecv_asconfig::{PresentationContext, Profile};
use dcmrecv_storage_scp::{AcceptorOptions, ShutdownHandle, StoreRequest, StoreSink, StoreStatus};

pub(crate) use dcmrecv_testpeer::*;

/// Connects with TLS; the handshake completes on the first read or write.
pub(crate) fn connect_tls(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Client {
    Client::connect_tls(addr, config)
}

pub(crate) const MR: &str = "1.2.840.10008.5.1.4.1.1.4";
pub(crate) const J2K: &str = "1.2.840.10008.1.2.4.90";

// ---------------------------------------------------------------------------------------------
// Logs

static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Installs the process-wide subscriber that records every event (once).
pub(crate) fn init_logs() {
    LOGS.get_or_init(|| {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let for_writer = Arc::clone(&buffer);
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::DEBUG)
            .with_ansi(false)
            .with_writer(move || LogWriter(Arc::clone(&for_writer)))
            .init();
        buffer
    });
}

/// Every recorded log line that contains `needle` (tests tell their associations apart by a
/// unique calling AE title, which every line of the association span shows).
pub(crate) fn log_lines(needle: &str) -> Vec<String> {
    let logs = LOGS.get().expect("init_logs() first").lock().unwrap();
    String::from_utf8_lossy(&logs)
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// Waits until a log line contains both `needle` and `text`.
pub(crate) fn wait_for_log(needle: &str, text: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if log_lines(needle).iter().any(|l| l.contains(text)) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// Asserts that some log line has both `needle` and `text`, waiting a little for it.
#[track_caller]
pub(crate) fn assert_logged(needle: &str, text: &str) {
    assert!(
        wait_for_log(needle, text, Duration::from_secs(5)),
        "no log line with {needle:?} and {text:?}; lines:\n{}",
        log_lines(needle).join("\n")
    );
}

/// Asserts that some log line has `needle` and ends with `text` (so that `Received C-STORE
/// Request` does not match `Received C-STORE Request (MsgID 1)`), waiting a little for it.
#[track_caller]
pub(crate) fn assert_logged_line(needle: &str, text: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if log_lines(needle).iter().any(|l| l.ends_with(text)) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!(
        "no log line with {needle:?} ending with {text:?}; lines:\n{}",
        log_lines(needle).join("\n")
    );
}

/// Asserts that the recorded log holds `text`, which may span lines (the lines of a
/// multi-line event after the first do not show the association span), waiting a little.
#[track_caller]
pub(crate) fn assert_logged_text(text: &str) {
    let deadline = Instant::now() + Duration::from_secs(5);
    let logs = || {
        String::from_utf8_lossy(&LOGS.get().expect("init_logs() first").lock().unwrap())
            .into_owned()
    };
    while Instant::now() < deadline {
        if logs().contains(text) {
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("the log does not hold {text:?}");
}

// ---------------------------------------------------------------------------------------------
// Sink

/// What happened to sinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SinkEvent {
    Begin {
        sop_instance_uid: String,
        sop_class_uid: String,
        transfer_syntax_uid: String,
        presentation_context_id: u8,
        message_id: u16,
        calling_ae_title: String,
        /// The client certificate's subject (TLS associations only).
        tls_subject: Option<String>,
    },
    Finished {
        sop_instance_uid: String,
        data: Vec<u8>,
        chunks: usize,
    },
    Aborted {
        sop_instance_uid: String,
        received: usize,
    },
}

/// How the recording sink behaves.
#[derive(Debug, Clone, Default)]
pub(crate) struct Behaviour {
    /// `begin` refuses with this status.
    pub(crate) refuse: Option<StoreStatus>,
    /// `write` fails with this status once this many bytes were received.
    pub(crate) fail_write_after: Option<(usize, StoreStatus)>,
    /// `finish` sleeps this long first.
    pub(crate) finish_delay: Option<Duration>,
    /// `finish` returns this (default success).
    pub(crate) finish_status: Option<StoreStatus>,
}

struct RecordingSink {
    uid: String,
    data: Vec<u8>,
    chunks: usize,
    behaviour: Behaviour,
    events: Arc<Mutex<Vec<SinkEvent>>>,
}

impl StoreSink for RecordingSink {
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreStatus> {
        self.data.extend_from_slice(chunk);
        self.chunks += 1;
        if let Some((limit, status)) = &self.behaviour.fail_write_after {
            if self.data.len() >= *limit {
                return Err(status.clone());
            }
        }
        Ok(())
    }

    fn finish(self: Box<Self>) -> StoreStatus {
        if let Some(d) = self.behaviour.finish_delay {
            std::thread::sleep(d);
        }
        self.events.lock().unwrap().push(SinkEvent::Finished {
            sop_instance_uid: self.uid.clone(),
            data: self.data.clone(),
            chunks: self.chunks,
        });
        self.behaviour
            .finish_status
            .clone()
            .unwrap_or_else(StoreStatus::success)
    }

    fn abort(self: Box<Self>) {
        self.events.lock().unwrap().push(SinkEvent::Aborted {
            sop_instance_uid: self.uid,
            received: self.data.len(),
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Server

/// An acceptor serving on 127.0.0.1:0 on its own thread; shut down (grace 0) when dropped.
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) handle: ShutdownHandle,
    pub(crate) events: Arc<Mutex<Vec<SinkEvent>>>,
    thread: Option<JoinHandle<()>>,
}

impl Server {
    pub(crate) fn start(options: AcceptorOptions) -> Server {
        Server::start_with(options, Behaviour::default())
    }

    pub(crate) fn start_with(options: AcceptorOptions, behaviour: Behaviour) -> Server {
        init_logs();
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink_events = Arc::clone(&events);
        let sinks = move |r: &StoreRequest| -> Result<Box<dyn StoreSink>, StoreStatus> {
            sink_events.lock().unwrap().push(SinkEvent::Begin {
                sop_instance_uid: r.sop_instance_uid.clone(),
                sop_class_uid: r.sop_class_uid.clone(),
                transfer_syntax_uid: r.transfer_syntax_uid.clone(),
                presentation_context_id: r.presentation_context_id,
                message_id: r.message_id,
                calling_ae_title: r.association.calling_ae_title.clone(),
                tls_subject: r
                    .association
                    .tls
                    .as_ref()
                    .and_then(|t| t.peer_subject.clone()),
            });
            if let Some(status) = &behaviour.refuse {
                return Err(status.clone());
            }
            Ok(Box::new(RecordingSink {
                uid: r.sop_instance_uid.clone(),
                data: Vec::new(),
                chunks: 0,
                behaviour: behaviour.clone(),
                events: Arc::clone(&sink_events),
            }))
        };
        let acceptor = options
            .host_lookup(false)
            .bind("127.0.0.1:0", sinks)
            .expect("bind 127.0.0.1:0");
        let addr = acceptor.local_addr();
        let handle = acceptor.shutdown_handle();
        let thread = std::thread::spawn(move || acceptor.serve());
        Server {
            addr,
            handle,
            events,
            thread: Some(thread),
        }
    }

    pub(crate) fn events(&self) -> Vec<SinkEvent> {
        self.events.lock().unwrap().clone()
    }

    /// Waits until the sink events satisfy `pred`.
    pub(crate) fn wait_events(&self, pred: impl Fn(&[SinkEvent]) -> bool) -> Vec<SinkEvent> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let events = self.events();
            if pred(&events) || Instant::now() > deadline {
                return events;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Shuts down with `grace` and waits for `serve` to return; returns how long that took.
    pub(crate) fn stop(mut self, grace: Duration) -> Duration {
        let start = Instant::now();
        self.handle.shutdown(grace);
        if let Some(t) = self.thread.take() {
            t.join().expect("serve thread");
        }
        start.elapsed()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(t) = self.thread.take() {
            self.handle.shutdown(Duration::ZERO);
            let _ = t.join();
        }
    }
}

/// A profile with Verification and CT, both [Explicit LE, Implicit LE], and MR [Implicit].
pub(crate) fn storage_profile() -> Profile {
    let pc = |a: &str, ts: &[&str]| PresentationContext {
        abstract_syntax: a.to_string(),
        transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
    };
    Profile::new("test")
        .with_presentation_context(pc(VERIFICATION, &[EXPLICIT, IMPLICIT]))
        .with_presentation_context(pc(CT, &[EXPLICIT, IMPLICIT]))
        .with_presentation_context(pc(MR, &[IMPLICIT]))
}

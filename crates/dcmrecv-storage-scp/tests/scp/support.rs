//! Test support: a server on 127.0.0.1:0 with a recording sink, a raw-PDU client built on
//! dicom-ul's PDU reader and writer, command-set encoding, and log capture.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use dcmrecv_asconfig::{PresentationContext, Profile};
use dcmrecv_storage_scp::{AcceptorOptions, ShutdownHandle, StoreRequest, StoreSink, StoreStatus};
use dicom_ul::pdu::{
    AssociationRQ, MAXIMUM_PDU_SIZE, Pdu, PresentationContextProposed, UserVariableItem, read_pdu,
    write_pdu,
};

pub(crate) const VERIFICATION: &str = "1.2.840.10008.1.1";
pub(crate) const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
pub(crate) const MR: &str = "1.2.840.10008.5.1.4.1.1.4";
pub(crate) const IMPLICIT: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT: &str = "1.2.840.10008.1.2.1";
pub(crate) const J2K: &str = "1.2.840.10008.1.2.4.90";
pub(crate) const APP_CONTEXT: &str = "1.2.840.10008.3.1.1.1";

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

// ---------------------------------------------------------------------------------------------
// Raw client

pub(crate) fn pc(id: u8, abstract_syntax: &str, ts: &[&str]) -> PresentationContextProposed {
    PresentationContextProposed {
        id,
        abstract_syntax: abstract_syntax.to_string(),
        transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
    }
}

pub(crate) fn rq(calling: &str, pcs: Vec<PresentationContextProposed>) -> AssociationRQ {
    AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.to_string(),
        called_ae_title: "ANY-SCP".to_string(),
        application_context_name: APP_CONTEXT.to_string(),
        presentation_contexts: pcs,
        user_variables: vec![
            UserVariableItem::MaxLength(16384),
            UserVariableItem::ImplementationClassUID("1.2.3.4.5".to_string()),
            UserVariableItem::ImplementationVersionName("RAWSCU_1".to_string()),
        ],
    }
}

pub(crate) fn encode(pdu: &Pdu) -> Vec<u8> {
    let mut v = Vec::new();
    write_pdu(&mut v, pdu).expect("encode PDU");
    v
}

/// A PDV item: flags bit 0 = command, bit 1 = last.
pub(crate) fn pdv(pc: u8, flags: u8, data: &[u8]) -> Vec<u8> {
    let mut v = ((data.len() + 2) as u32).to_be_bytes().to_vec();
    v.push(pc);
    v.push(flags);
    v.extend_from_slice(data);
    v
}

/// A P-DATA-TF PDU holding the given PDV items.
pub(crate) fn p_data(pdvs: &[Vec<u8>]) -> Vec<u8> {
    let body: Vec<u8> = pdvs.concat();
    let mut v = vec![0x04, 0];
    v.extend_from_slice(&(body.len() as u32).to_be_bytes());
    v.extend_from_slice(&body);
    v
}

pub(crate) const COMMAND_LAST: u8 = 0x03;
pub(crate) const COMMAND_MORE: u8 = 0x01;
pub(crate) const DATA_LAST: u8 = 0x02;
pub(crate) const DATA_MORE: u8 = 0x00;

/// The byte stream a [`Client`] speaks over: plain TCP or TLS over TCP.
pub(crate) trait Duplex: Read + Write + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Duplex for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Duplex for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

pub(crate) struct Client {
    pub(crate) stream: Box<dyn Duplex>,
}

impl Client {
    pub(crate) fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        Client {
            stream: Box::new(stream),
        }
    }

    /// Connects with TLS; the handshake completes on the first read or write.
    pub(crate) fn connect_tls(addr: SocketAddr, config: Arc<rustls::ClientConfig>) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
        let conn = rustls::ClientConnection::new(config, name).expect("TLS client");
        Client {
            stream: Box::new(rustls::StreamOwned::new(conn, stream)),
        }
    }

    pub(crate) fn local_port(&self) -> u16 {
        self.stream.tcp().local_addr().unwrap().port()
    }

    pub(crate) fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends `rq` and returns the answer (AC, RJ or A-ABORT).
    pub(crate) fn associate(&mut self, rq: &AssociationRQ) -> Pdu {
        self.send(&encode(&Pdu::AssociationRQ(rq.clone())));
        self.read_pdu().expect("an answer to the A-ASSOCIATE-RQ")
    }

    /// Associates and asserts acceptance.
    pub(crate) fn associate_ok(
        addr: SocketAddr,
        rq: &AssociationRQ,
    ) -> (Client, dicom_ul::pdu::AssociationAC) {
        let mut c = Client::connect(addr);
        match c.associate(rq) {
            Pdu::AssociationAC(ac) => (c, ac),
            other => panic!("expected A-ASSOCIATE-AC, got {other:?}"),
        }
    }

    /// Reads one PDU; `None` when the connection is closed (or reset).
    pub(crate) fn read_pdu(&mut self) -> Option<Pdu> {
        let mut header = [0u8; 6];
        if self.stream.read_exact(&mut header).is_err() {
            return None;
        }
        let len = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
        let mut pdu = header.to_vec();
        pdu.resize(6 + len, 0);
        self.stream.read_exact(&mut pdu[6..]).ok()?;
        Some(
            read_pdu(pdu.as_slice(), MAXIMUM_PDU_SIZE, false)
                .expect("a valid PDU")
                .expect("a complete PDU"),
        )
    }

    /// Reads a DIMSE response: the command bytes of the next P-DATA PDUs up to the last
    /// fragment, and their presentation context.
    pub(crate) fn read_command(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut bytes = Vec::new();
        loop {
            match self.read_pdu()? {
                Pdu::PData { data } => {
                    for v in data {
                        assert_eq!(v.value_type, dicom_ul::pdu::PDataValueType::Command);
                        bytes.extend_from_slice(&v.data);
                        if v.is_last {
                            return Some((v.presentation_context_id, bytes));
                        }
                    }
                }
                other => panic!("expected P-DATA-TF, got {other:?}"),
            }
        }
    }

    /// Asserts that the next PDU is our A-ABORT (source 0, reason 0). (The server then waits
    /// up to the ACSE timeout for us to close; see `lifecycle` for that.)
    #[track_caller]
    pub(crate) fn expect_abort(&mut self) {
        let mut pdu = [0u8; 10];
        self.stream.read_exact(&mut pdu).expect("an A-ABORT PDU");
        assert_eq!(pdu, [0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0], "A-ABORT bytes");
    }

    /// Asserts the connection is closed by the server.
    #[track_caller]
    pub(crate) fn expect_closed(&mut self) {
        let mut b = [0u8; 64];
        match self.stream.read(&mut b) {
            Ok(0) | Err(_) => {}
            Ok(n) => panic!(
                "expected the connection to close, got {n} more bytes: {:?}",
                &b[..n]
            ),
        }
    }

    /// Sends A-RELEASE-RQ and asserts A-RELEASE-RP.
    #[track_caller]
    pub(crate) fn release(&mut self) {
        self.send(&encode(&Pdu::ReleaseRQ));
        match self.read_pdu() {
            Some(Pdu::ReleaseRP) => {}
            other => panic!("expected A-RELEASE-RP, got {other:?}"),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Command sets (Implicit VR Little Endian)

pub(crate) fn element(tag_element: u16, value: &[u8]) -> Vec<u8> {
    let mut v = 0u16.to_le_bytes().to_vec();
    v.extend_from_slice(&tag_element.to_le_bytes());
    v.extend_from_slice(&(value.len() as u32).to_le_bytes());
    v.extend_from_slice(value);
    v
}

pub(crate) fn uid_value(uid: &str) -> Vec<u8> {
    let mut v = uid.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// A command set with a group length from `(element, value)` pairs.
pub(crate) fn command(elements: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let body: Vec<u8> = elements.iter().flat_map(|(e, v)| element(*e, v)).collect();
    let mut out = element(0x0000, &(body.len() as u32).to_le_bytes());
    out.extend(body);
    out
}

pub(crate) fn c_echo_rq(message_id: u16) -> Vec<u8> {
    command(&[
        (0x0002, uid_value(VERIFICATION)),
        (0x0100, 0x0030u16.to_le_bytes().to_vec()),
        (0x0110, message_id.to_le_bytes().to_vec()),
        (0x0800, 0x0101u16.to_le_bytes().to_vec()),
    ])
}

pub(crate) fn c_store_rq(message_id: u16, sop_class: &str, instance: &str) -> Vec<u8> {
    command(&[
        (0x0002, uid_value(sop_class)),
        (0x0100, 0x0001u16.to_le_bytes().to_vec()),
        (0x0110, message_id.to_le_bytes().to_vec()),
        (0x0700, 0u16.to_le_bytes().to_vec()),
        (0x0800, 0x0000u16.to_le_bytes().to_vec()),
        (0x1000, uid_value(instance)),
    ])
}

/// Parses a command set into (element, value) pairs.
pub(crate) fn parse_command(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let group = u16::from_le_bytes([bytes[pos], bytes[pos + 1]]);
        assert_eq!(group, 0, "command elements are group 0000");
        let elem = u16::from_le_bytes([bytes[pos + 2], bytes[pos + 3]]);
        let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap()) as usize;
        out.push((elem, bytes[pos + 8..pos + 8 + len].to_vec()));
        pos += 8 + len;
    }
    out
}

pub(crate) fn us(elements: &[(u16, Vec<u8>)], elem: u16) -> Option<u16> {
    elements
        .iter()
        .find(|(e, _)| *e == elem)
        .map(|(_, v)| u16::from_le_bytes([v[0], v[1]]))
}

pub(crate) fn text(elements: &[(u16, Vec<u8>)], elem: u16) -> Option<String> {
    elements.iter().find(|(e, _)| *e == elem).map(|(_, v)| {
        String::from_utf8_lossy(v)
            .trim_end_matches(['\0', ' '])
            .to_string()
    })
}

/// A synthetic data set payload of `n` bytes (content does not matter to the SCP).
pub(crate) fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

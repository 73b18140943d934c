//! The client: a connection driven PDU by PDU, with helpers for the usual exchanges and for
//! ending an association every way a peer can (release, abort, reset).

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use dicom_ul::pdu::{
    AssociationAC, AssociationRQ, MAXIMUM_PDU_SIZE, PDataValueType, Pdu, read_pdu,
};

use crate::command::{c_echo_rq, c_store_rq_bytes, parse_command, uid_value, us};
use crate::pdu::{A_ABORT, COMMAND_LAST, DATA_LAST, DATA_MORE, encode, p_data, pdv};

/// The byte stream a [`Client`] speaks over: plain TCP, or TLS over TCP (rustls' client stream
/// with the `tls` feature).
pub trait Duplex: Read + Write + Send {
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream;
}

impl Duplex for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

#[cfg(feature = "tls")]
impl Duplex for rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    fn tcp(&self) -> &TcpStream {
        &self.sock
    }
}

/// A connection to an SCP, driven PDU by PDU.
pub struct Client {
    /// The stream (tests may write raw bytes on it; `stream.tcp()` is the socket).
    pub stream: Box<dyn Duplex>,
}

impl Client {
    /// Connects, with a 10 s read timeout.
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set a read timeout");
        // Each PDU is one write; do not let Nagle hold the last one back.
        stream.set_nodelay(true).expect("set TCP_NODELAY");
        Client::from_stream(Box::new(stream))
    }

    /// A client over an already connected stream (e.g. TLS).
    pub fn from_stream(stream: Box<dyn Duplex>) -> Client {
        Client { stream }
    }

    /// Connects with TLS as `localhost`, with a 10 s read timeout; the handshake completes on
    /// the first read or write.
    #[cfg(feature = "tls")]
    pub fn connect_tls(addr: SocketAddr, config: std::sync::Arc<rustls::ClientConfig>) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .expect("set a read timeout");
        let name = rustls::pki_types::ServerName::try_from("localhost").expect("a server name");
        let conn = rustls::ClientConnection::new(config, name).expect("TLS client");
        Client::from_stream(Box::new(rustls::StreamOwned::new(conn, stream)))
    }

    /// Connects to `127.0.0.1:port`.
    pub fn local(port: u16) -> Client {
        Client::connect(SocketAddr::from(([127, 0, 0, 1], port)))
    }

    /// The local port of the connection (to tell log lines apart).
    pub fn local_port(&self) -> u16 {
        self.stream
            .tcp()
            .local_addr()
            .expect("local address")
            .port()
    }

    /// Sends raw bytes.
    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Sends raw bytes, telling whether the connection took them (it may be closed already).
    pub fn try_send(&mut self, bytes: &[u8]) -> bool {
        self.stream.write_all(bytes).is_ok()
    }

    /// Sends `rq` and returns the answer (AC, RJ or A-ABORT).
    pub fn associate(&mut self, rq: &AssociationRQ) -> Pdu {
        self.request(rq).expect("an answer to the A-ASSOCIATE-RQ")
    }

    /// Sends `rq` and returns the answer, or `None` when the connection ends (or the read
    /// timeout passes) first.
    pub fn request(&mut self, rq: &AssociationRQ) -> Option<Pdu> {
        if !self.try_send(&encode(&Pdu::AssociationRQ(rq.clone()))) {
            return None;
        }
        self.read_pdu()
    }

    /// Associates and asserts acceptance.
    #[track_caller]
    pub fn associate_ok(addr: SocketAddr, rq: &AssociationRQ) -> (Client, AssociationAC) {
        let mut c = Client::connect(addr);
        match c.associate(rq) {
            Pdu::AssociationAC(ac) => (c, ac),
            other => panic!("expected A-ASSOCIATE-AC, got {other:?}"),
        }
    }

    /// Reads one PDU; `None` when the connection is closed (or reset).
    pub fn read_pdu(&mut self) -> Option<Pdu> {
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
    /// fragment, and their presentation context. `None` when the connection ends first.
    pub fn read_command(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut bytes = Vec::new();
        loop {
            match self.read_pdu()? {
                Pdu::PData { data } => {
                    for v in data {
                        assert_eq!(v.value_type, PDataValueType::Command);
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

    /// Reads the next PDU and, if it is a DIMSE response, returns its Status (0000,0900);
    /// `None` when the connection ends or an A-ABORT arrives instead.
    pub fn read_status(&mut self) -> Option<u16> {
        let mut bytes = Vec::new();
        loop {
            match self.read_pdu()? {
                Pdu::PData { data } => {
                    for v in data {
                        bytes.extend_from_slice(&v.data);
                        if v.is_last {
                            return us(&parse_command(&bytes), 0x0900);
                        }
                    }
                }
                _ => return None,
            }
        }
    }

    /// Sends a C-ECHO-RQ on `pc` and returns the response status.
    pub fn echo(&mut self, pc: u8, message_id: u16) -> Option<u16> {
        self.send(&p_data(&[pdv(pc, COMMAND_LAST, &c_echo_rq(message_id))]));
        self.read_status()
    }

    /// Sends the data set `data` on `pc` in PDVs of at most `max_pdv` bytes, one P-DATA-TF PDU
    /// each (the command must have been sent); `false` when the connection no longer takes it.
    pub fn send_data_set(&mut self, pc: u8, data: &[u8], max_pdv: usize) -> bool {
        let max_pdv = max_pdv.max(1);
        let count = data.len().div_ceil(max_pdv).max(1);
        (0..count).all(|i| {
            let chunk = data
                .get(i * max_pdv..data.len().min((i + 1) * max_pdv))
                .unwrap_or(&[]);
            let flags = if i + 1 == count { DATA_LAST } else { DATA_MORE };
            self.try_send(&p_data(&[pdv(pc, flags, chunk)]))
        })
    }

    /// Sends a C-STORE-RQ with its data set on `pc` and returns the response status (`None`
    /// when the SCP aborts or closes instead of answering).
    pub fn store(
        &mut self,
        pc: u8,
        message_id: u16,
        sop_class: &str,
        uid: &str,
        data: &[u8],
    ) -> Option<u16> {
        self.store_raw_uid(pc, message_id, sop_class, &uid_value(uid), data)
    }

    /// Like [`store`](Self::store), with the Affected SOP Instance UID given as raw bytes.
    pub fn store_raw_uid(
        &mut self,
        pc: u8,
        message_id: u16,
        sop_class: &str,
        uid: &[u8],
        data: &[u8],
    ) -> Option<u16> {
        let command = c_store_rq_bytes(message_id, sop_class, uid);
        if !self.try_send(&p_data(&[pdv(pc, COMMAND_LAST, &command)]))
            || !self.send_data_set(pc, data, 16_000)
        {
            return None;
        }
        self.read_status()
    }

    /// Sends A-RELEASE-RQ and asserts A-RELEASE-RP.
    #[track_caller]
    pub fn release(&mut self) {
        self.send(&encode(&Pdu::ReleaseRQ));
        match self.read_pdu() {
            Some(Pdu::ReleaseRP) => {}
            other => panic!("expected A-RELEASE-RP, got {other:?}"),
        }
    }

    /// Sends an A-ABORT and closes the connection.
    pub fn abort(mut self) {
        let _ = self.stream.write_all(&A_ABORT);
        let _ = self.stream.tcp().shutdown(Shutdown::Both);
    }

    /// Closes the connection with a TCP reset (SO_LINGER 0), as a crashing peer or a broken
    /// network does.
    pub fn reset(self) {
        socket2::SockRef::from(self.stream.tcp())
            .set_linger(Some(Duration::ZERO))
            .expect("set SO_LINGER 0");
        drop(self);
    }

    /// Asserts that the next PDU is an A-ABORT (source 0, reason 0).
    #[track_caller]
    pub fn expect_abort(&mut self) {
        let mut pdu = [0u8; 10];
        self.stream.read_exact(&mut pdu).expect("an A-ABORT PDU");
        assert_eq!(pdu, A_ABORT, "A-ABORT bytes");
    }

    /// Asserts the connection is closed by the server.
    #[track_caller]
    pub fn expect_closed(&mut self) {
        let mut b = [0u8; 64];
        match self.stream.read(&mut b) {
            Ok(0) | Err(_) => {}
            Ok(n) => panic!(
                "expected the connection to close, got {n} more bytes: {:?}",
                &b[..n]
            ),
        }
    }

    /// Reads until the SCP ends the association — an A-ABORT or A-ASSOCIATE-RJ arrives, or it
    /// closes (or resets) the connection — or `timeout` passes. Returns what was read and when
    /// the end came (`None`: nothing ended it within `timeout`).
    pub fn wait_for_end(&mut self, timeout: Duration) -> (Vec<u8>, Option<Duration>) {
        let start = Instant::now();
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            if ends_association(&got) {
                return (got, Some(start.elapsed()));
            }
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return (got, None);
            }
            self.stream
                .tcp()
                .set_read_timeout(Some(left))
                .expect("set a read timeout");
            match self.stream.read(&mut buf) {
                Ok(0) => return (got, Some(start.elapsed())),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    return (got, None);
                }
                Err(_) => return (got, Some(start.elapsed())),
            }
        }
    }
}

/// Whether `bytes` (PDUs received in a row) hold a complete A-ASSOCIATE-RJ or A-ABORT.
fn ends_association(bytes: &[u8]) -> bool {
    let mut rest = bytes;
    while let Some(header) = rest.get(..6) {
        let length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
        let Some(after) = rest.get(6 + length..) else {
            return false;
        };
        if matches!(header[0], 0x03 | 0x07) {
            return true;
        }
        rest = after;
    }
    false
}

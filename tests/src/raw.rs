//! A raw-PDU DICOM client for tests: it speaks the upper layer protocol byte by byte, so a test
//! sends exactly what it means to — well-formed associations and DIMSE messages, or malformed
//! PDUs. The association PDUs are written and read with dicom-ul's PDU codec; P-DATA-TF PDUs,
//! PDV items and command sets are laid out here by hand (PS3.8 9.3, PS3.7 E.1).
//!
//! This file is shared: the end-to-end tests use it as `dcmrecv_e2e::raw`, and the hermetic
//! tests of `dcmrecv-storage-scp` include it with `#[path]` (they cannot depend on this crate),
//! so it uses nothing but std, dicom-ul and socket2.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use dicom_ul::pdu::{
    AssociationAC, AssociationRQ, MAXIMUM_PDU_SIZE, PDataValueType, Pdu,
    PresentationContextProposed, UserVariableItem, read_pdu, write_pdu,
};

/// Verification SOP Class.
pub const VERIFICATION: &str = "1.2.840.10008.1.1";
/// CT Image Storage.
pub const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Implicit VR Little Endian.
pub const IMPLICIT: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian.
pub const EXPLICIT: &str = "1.2.840.10008.1.2.1";
/// The DICOM application context name.
pub const APP_CONTEXT: &str = "1.2.840.10008.3.1.1.1";

/// PDV message control header: command, last fragment.
pub const COMMAND_LAST: u8 = 0x03;
/// PDV message control header: command, more fragments follow.
pub const COMMAND_MORE: u8 = 0x01;
/// PDV message control header: data set, last fragment.
pub const DATA_LAST: u8 = 0x02;
/// PDV message control header: data set, more fragments follow.
pub const DATA_MORE: u8 = 0x00;

/// An A-ABORT PDU from the service user (source 0, reason 0).
pub const A_ABORT: [u8; 10] = [0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0];

// ---------------------------------------------------------------------------------------------
// PDUs

/// A proposed presentation context.
pub fn pc(id: u8, abstract_syntax: &str, ts: &[&str]) -> PresentationContextProposed {
    PresentationContextProposed {
        id,
        abstract_syntax: abstract_syntax.to_string(),
        transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
    }
}

/// An A-ASSOCIATE-RQ from `calling` to `ANY-SCP` with Maximum Length 16384.
pub fn rq(calling: &str, pcs: Vec<PresentationContextProposed>) -> AssociationRQ {
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

/// The bytes of a PDU, encoded by dicom-ul.
pub fn encode(pdu: &Pdu) -> Vec<u8> {
    let mut v = Vec::new();
    write_pdu(&mut v, pdu).expect("encode PDU");
    v
}

/// A PDU of any type with the given body; the length field is the body's length.
pub fn pdu(pdu_type: u8, body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(body.len()).expect("a PDU body below 4 GiB");
    let mut v = vec![pdu_type, 0];
    v.extend_from_slice(&length.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A PDV item: flags bit 0 = command, bit 1 = last.
pub fn pdv(pc: u8, flags: u8, data: &[u8]) -> Vec<u8> {
    let length = u32::try_from(data.len() + 2).expect("a PDV below 4 GiB");
    let mut v = length.to_be_bytes().to_vec();
    v.push(pc);
    v.push(flags);
    v.extend_from_slice(data);
    v
}

/// A P-DATA-TF PDU holding the given PDV items.
pub fn p_data(pdvs: &[Vec<u8>]) -> Vec<u8> {
    pdu(0x04, &pdvs.concat())
}

// ---------------------------------------------------------------------------------------------
// Command sets (Implicit VR Little Endian)

/// One group-0000 element.
pub fn element(tag_element: u16, value: &[u8]) -> Vec<u8> {
    let length = u32::try_from(value.len()).expect("a value below 4 GiB");
    let mut v = 0u16.to_le_bytes().to_vec();
    v.extend_from_slice(&tag_element.to_le_bytes());
    v.extend_from_slice(&length.to_le_bytes());
    v.extend_from_slice(value);
    v
}

/// A UID value padded to even length with a NUL.
pub fn uid_value(uid: &str) -> Vec<u8> {
    let mut v = uid.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// A command set with a group length from `(element, value)` pairs.
pub fn command(elements: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let body: Vec<u8> = elements.iter().flat_map(|(e, v)| element(*e, v)).collect();
    let length = u32::try_from(body.len()).expect("a command below 4 GiB");
    let mut out = element(0x0000, &length.to_le_bytes());
    out.extend(body);
    out
}

/// A C-ECHO-RQ command set.
pub fn c_echo_rq(message_id: u16) -> Vec<u8> {
    command(&[
        (0x0002, uid_value(VERIFICATION)),
        (0x0100, 0x0030u16.to_le_bytes().to_vec()),
        (0x0110, message_id.to_le_bytes().to_vec()),
        (0x0800, 0x0101u16.to_le_bytes().to_vec()),
    ])
}

/// A C-STORE-RQ command set announcing a data set.
pub fn c_store_rq(message_id: u16, sop_class: &str, instance: &str) -> Vec<u8> {
    c_store_rq_bytes(message_id, sop_class, &uid_value(instance))
}

/// A C-STORE-RQ command set whose Affected SOP Instance UID is the raw bytes given (which may
/// hold anything: NULs, slashes, 200 characters...).
pub fn c_store_rq_bytes(message_id: u16, sop_class: &str, instance: &[u8]) -> Vec<u8> {
    command(&[
        (0x0002, uid_value(sop_class)),
        (0x0100, 0x0001u16.to_le_bytes().to_vec()),
        (0x0110, message_id.to_le_bytes().to_vec()),
        (0x0700, 0u16.to_le_bytes().to_vec()),
        (0x0800, 0x0000u16.to_le_bytes().to_vec()),
        (0x1000, instance.to_vec()),
    ])
}

/// Parses a command set into (element, value) pairs.
pub fn parse_command(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let header = bytes.get(pos..pos + 8).expect("a complete element header");
        let group = u16::from_le_bytes([header[0], header[1]]);
        assert_eq!(group, 0, "command elements are group 0000");
        let elem = u16::from_le_bytes([header[2], header[3]]);
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let value = bytes
            .get(pos + 8..pos + 8 + len)
            .expect("a complete element value");
        out.push((elem, value.to_vec()));
        pos += 8 + len;
    }
    out
}

/// A US value of a parsed command.
pub fn us(elements: &[(u16, Vec<u8>)], elem: u16) -> Option<u16> {
    elements
        .iter()
        .find(|(e, _)| *e == elem)
        .and_then(|(_, v)| Some(u16::from_le_bytes([*v.first()?, *v.get(1)?])))
}

/// A text value of a parsed command, padding removed.
pub fn text(elements: &[(u16, Vec<u8>)], elem: u16) -> Option<String> {
    elements.iter().find(|(e, _)| *e == elem).map(|(_, v)| {
        String::from_utf8_lossy(v)
            .trim_end_matches(['\0', ' '])
            .to_string()
    })
}

/// A synthetic data set payload of `n` bytes (for an SCP that does not look at it).
pub fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// The client

/// The byte stream a [`Client`] speaks over: plain TCP, or TLS over TCP (the TLS tests of
/// `dcmrecv-storage-scp` implement it for rustls' stream).
pub trait Duplex: Read + Write + Send {
    /// The TCP socket underneath.
    fn tcp(&self) -> &TcpStream;
}

impl Duplex for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
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

//! One association of the load generator as a state machine over a TCP stream, so the same code
//! runs on a blocking socket (one thread per association) or a non-blocking one (several
//! associations per thread, see `driver.rs`).
//!
//! Sending: the A-ASSOCIATE-RQ and A-RELEASE-RQ are encoded by dicom-ul's `write_pdu`. P-DATA-TF
//! PDUs are framed here (PS3.8 9.3.5: one PDV per PDU, as DCMTK sends them): their 12 header
//! bytes live in a reused array and their values are slices of the association's data set head
//! and of the shared pixels, so one `writev` sends a command PDU and up to [`MAX_PDUS`] data
//! PDUs without copying or allocating anything per object.
//!
//! Receiving: responses are read into one reused buffer; P-DATA-TF PDUs are parsed here,
//! every other PDU by dicom-ul's `read_pdu`. Every C-STORE-RSP status is checked.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::time::Instant;

use dicom_ul::pdu::{
    AssociationRQ, MAXIMUM_PDU_SIZE, Pdu, PresentationContextResultReason, UserVariableItem,
    read_pdu, write_pdu,
};

use super::object::{CommandTemplate, DataSet, write_uid};
use crate::raw::{APP_CONTEXT, CT, EXPLICIT, pc};

/// Data PDUs gathered into one `writev` at most.
pub(crate) const MAX_PDUS: usize = 64;
/// Bytes gathered into one `writev` at most (beyond one PDU).
const MAX_BATCH_BYTES: usize = 1 << 20;
/// Slices in one `writev` at most: the command PDU (2) and three per data PDU (header, end of
/// the head, start of the pixels).
const MAX_IOV: usize = 2 + 3 * MAX_PDUS;
/// The presentation context every object is sent on.
const PC_ID: u8 = 1;
/// What we advertise as our Maximum Length (we only receive small responses).
const OUR_MAX_PDU: u32 = 65536;
/// The largest PDU we send when the receiver sets no limit (Maximum Length 0).
const UNLIMITED_PDU: u32 = 4 << 20;
/// The Asynchronous Operations Window sub-item (PS3.7 D.3.3.3).
const ASYNC_WINDOW_ITEM: u8 = 0x53;

/// What the association is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// A non-blocking connect is in progress.
    Connecting,
    /// Sending the A-ASSOCIATE-RQ.
    SendRq,
    AwaitAc,
    /// Sending objects and reading responses.
    Transfer,
    SendRelease,
    AwaitRp,
    Done,
    Failed,
}

/// Whether the association wants to read and/or write next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Wants {
    pub(crate) read: bool,
    pub(crate) write: bool,
}

/// What happened on one association.
#[derive(Debug, Clone, Default)]
pub struct AssociationStats {
    /// Objects this association was to send.
    pub objects: u64,
    /// Objects written in full (command and data set).
    pub sent: u64,
    /// Responses with status Success (0000).
    pub succeeded: u64,
    /// Responses with a Warning status (B000, B006, B007): stored, with a warning.
    pub warnings: u64,
    /// Responses with any other status.
    pub failed: u64,
    /// The first few failed statuses, described.
    pub failures: Vec<String>,
    /// Why the association ended early, if it did.
    pub error: Option<String>,
    /// Whether the receiver accepted the association.
    pub accepted: bool,
    /// Seconds from the start of the run until the A-ASSOCIATE-AC arrived.
    pub ac_after: Option<f64>,
    /// Seconds from the start of the run until the association was released (or failed).
    pub ended_after: f64,
    /// The receiver's Maximum Length (0: no limit).
    pub peer_max_pdu: Option<u32>,
    /// The window the receiver granted: its Asynchronous Operations Window (invoked, performed)
    /// answer, `None` when it sent none (operations are then synchronous).
    pub window_answer: Option<(u16, u16)>,
    /// The number of outstanding requests used.
    pub window: usize,
}

impl AssociationStats {
    /// Objects that were never answered (not sent, or the association ended first).
    pub fn unanswered(&self) -> u64 {
        self.objects - self.succeeded - self.warnings - self.failed
    }
}

/// One segment of a gathered write.
#[derive(Debug, Clone, Copy)]
enum Seg {
    /// The 12 header bytes of PDU number `n` of the batch.
    Header(usize),
    /// The command set.
    Command,
    /// Bytes of the data set head.
    Head(usize, usize),
    /// Bytes of the pixels.
    Pixels(usize, usize),
}

/// The PDUs being written: segments and how much of them the socket took.
#[derive(Debug, Default)]
struct Batch {
    headers: Vec<[u8; 12]>,
    segs: Vec<Seg>,
    total: usize,
    written: usize,
}

impl Batch {
    fn clear(&mut self) {
        self.headers.clear();
        self.segs.clear();
        self.total = 0;
        self.written = 0;
    }

    fn is_empty(&self) -> bool {
        self.segs.is_empty()
    }

    /// Adds the 12 header bytes of a P-DATA-TF PDU holding one PDV of `len` value bytes.
    fn pdu_header(&mut self, len: usize, flags: u8) {
        let pdu_len = (len + 6) as u32;
        let pdv_len = (len + 2) as u32;
        let mut h = [0u8; 12];
        h[0] = 0x04;
        h[2..6].copy_from_slice(&pdu_len.to_be_bytes());
        h[6..10].copy_from_slice(&pdv_len.to_be_bytes());
        h[10] = PC_ID;
        h[11] = flags;
        self.segs.push(Seg::Header(self.headers.len()));
        self.headers.push(h);
        self.total += 12;
    }
}

/// The object being framed.
#[derive(Debug, Clone, Copy)]
struct Cursor {
    message_id: u16,
    /// Bytes of the data set already put into PDUs.
    data_at: usize,
}

/// One association of the load generator.
pub(crate) struct Conn {
    index: u64,
    stream: TcpStream,
    phase: Phase,
    started: Instant,
    /// An encoded association PDU being written (RQ or release), and how much is written.
    control: Vec<u8>,
    control_written: usize,
    release: Vec<u8>,
    head: Vec<u8>,
    uid_at: usize,
    pixels: Arc<[u8]>,
    command: CommandTemplate,
    batch: Batch,
    cursor: Option<Cursor>,
    next_object: u64,
    outstanding: VecDeque<u16>,
    window: usize,
    proposed_window: Option<u16>,
    max_pdv: usize,
    max_send_pdu: Option<u32>,
    rbuf: Vec<u8>,
    rlen: usize,
    response: Vec<u8>,
    pub(crate) stats: AssociationStats,
}

impl Conn {
    /// A new association over `stream` (connected, or connecting when `connecting`), to send
    /// `objects` copies of `data_set`.
    #[allow(
        clippy::too_many_arguments,
        reason = "internal constructor, one call site"
    )]
    pub(crate) fn new(
        index: u64,
        stream: TcpStream,
        connecting: bool,
        started: Instant,
        data_set: &DataSet,
        objects: u64,
        async_window: Option<u16>,
        max_send_pdu: Option<u32>,
        called_ae: &str,
    ) -> Conn {
        let mut rq = AssociationRQ {
            protocol_version: 1,
            calling_ae_title: "LOADGEN".to_string(),
            called_ae_title: called_ae.to_string(),
            application_context_name: APP_CONTEXT.to_string(),
            presentation_contexts: vec![pc(PC_ID, CT, &[EXPLICIT])],
            user_variables: vec![
                UserVariableItem::MaxLength(OUR_MAX_PDU),
                UserVariableItem::ImplementationClassUID(
                    "1.2.826.0.1.3680043.10.1145.61".to_string(),
                ),
                UserVariableItem::ImplementationVersionName("DCMRECV_LOADGEN".to_string()),
            ],
        };
        if let Some(w) = async_window {
            // Maximum number of operations invoked: w; performed: 1 (we perform none).
            let mut v = w.to_be_bytes().to_vec();
            v.extend_from_slice(&1u16.to_be_bytes());
            rq.user_variables
                .push(UserVariableItem::Unknown(ASYNC_WINDOW_ITEM, v));
        }
        Conn {
            index,
            stream,
            phase: if connecting {
                Phase::Connecting
            } else {
                Phase::SendRq
            },
            started,
            control: encode(&Pdu::AssociationRQ(rq)),
            control_written: 0,
            release: encode(&Pdu::ReleaseRQ),
            head: data_set.head().to_vec(),
            uid_at: data_set.uid_at(),
            pixels: Arc::clone(data_set.pixels()),
            command: CommandTemplate::new(),
            batch: Batch::default(),
            cursor: None,
            next_object: 0,
            outstanding: VecDeque::new(),
            window: 1,
            proposed_window: async_window,
            max_pdv: 0,
            max_send_pdu,
            rbuf: vec![0; 64 << 10],
            rlen: 0,
            response: Vec::with_capacity(256),
            stats: AssociationStats {
                objects,
                ..AssociationStats::default()
            },
        }
    }

    pub(crate) fn stream(&self) -> &TcpStream {
        &self.stream
    }

    pub(crate) fn finished(&self) -> bool {
        matches!(self.phase, Phase::Done | Phase::Failed)
    }

    pub(crate) fn wants(&self) -> Wants {
        match self.phase {
            Phase::Connecting | Phase::SendRq | Phase::SendRelease => Wants {
                read: false,
                write: true,
            },
            Phase::AwaitAc | Phase::AwaitRp => Wants {
                read: true,
                write: false,
            },
            Phase::Transfer => Wants {
                read: !self.outstanding.is_empty(),
                write: !self.batch.is_empty()
                    || self.cursor.is_some()
                    || (self.next_object < self.stats.objects
                        && self.outstanding.len() < self.window),
            },
            Phase::Done | Phase::Failed => Wants {
                read: false,
                write: false,
            },
        }
    }

    /// Ends the association with an error (the socket is closed when the `Conn` is dropped).
    pub(crate) fn fail(&mut self, why: String) {
        if !self.finished() {
            self.stats.error = Some(why);
            self.phase = Phase::Failed;
            self.stats.ended_after = self.started.elapsed().as_secs_f64();
            let _ = self.stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// One write attempt: `Err(WouldBlock)` when a non-blocking socket is full.
    pub(crate) fn try_write(&mut self) -> io::Result<()> {
        match self.phase {
            Phase::Connecting => {
                if let Some(e) = self.stream.take_error()? {
                    return Err(e);
                }
                match self.stream.peer_addr() {
                    Ok(_) => self.phase = Phase::SendRq,
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        return Err(io::ErrorKind::WouldBlock.into());
                    }
                    Err(e) => return Err(e),
                }
                Ok(())
            }
            Phase::SendRq | Phase::SendRelease => {
                let bytes = if self.phase == Phase::SendRq {
                    &self.control
                } else {
                    &self.release
                };
                let n = self.stream.write(&bytes[self.control_written..])?;
                self.control_written += n;
                if self.control_written == bytes.len() {
                    self.control_written = 0;
                    self.phase = if self.phase == Phase::SendRq {
                        Phase::AwaitAc
                    } else {
                        Phase::AwaitRp
                    };
                }
                Ok(())
            }
            Phase::Transfer => {
                if self.batch.is_empty() && !self.plan() {
                    return Ok(());
                }
                let mut iov = [IoSlice::new(&[]); MAX_IOV];
                let n = gather(
                    &self.batch,
                    &self.command.bytes,
                    &self.head,
                    &self.pixels,
                    &mut iov,
                );
                let mut slices = &mut iov[..n];
                IoSlice::advance_slices(&mut slices, self.batch.written);
                let wrote = self.stream.write_vectored(slices)?;
                if wrote == 0 {
                    return Err(io::ErrorKind::WriteZero.into());
                }
                self.batch.written += wrote;
                if self.batch.written == self.batch.total {
                    self.batch.clear();
                    self.maybe_release();
                }
                Ok(())
            }
            Phase::AwaitAc | Phase::AwaitRp | Phase::Done | Phase::Failed => Ok(()),
        }
    }

    /// Plans the next PDUs to write; `false` when there is nothing to send now.
    fn plan(&mut self) -> bool {
        let cursor = match self.cursor {
            Some(c) => c,
            None => {
                if self.next_object >= self.stats.objects || self.outstanding.len() >= self.window {
                    return false;
                }
                let n = self.next_object;
                self.next_object += 1;
                let message_id = (n % 0xFFFF) as u16 + 1;
                self.command.set(message_id, self.index, n);
                write_uid(&mut self.head[self.uid_at..], self.index, n);
                self.batch.pdu_header(self.command.bytes.len(), 0x03);
                self.batch.segs.push(Seg::Command);
                self.batch.total += self.command.bytes.len();
                Cursor {
                    message_id,
                    data_at: 0,
                }
            }
        };
        let (head_len, total) = (self.head.len(), self.head.len() + self.pixels.len());
        let mut at = cursor.data_at;
        let mut pdus = 0;
        while at < total && pdus < MAX_PDUS && (pdus == 0 || self.batch.total < MAX_BATCH_BYTES) {
            let len = self.max_pdv.min(total - at);
            let end = at + len;
            self.batch
                .pdu_header(len, if end == total { 0x02 } else { 0x00 });
            if at < head_len {
                self.batch.segs.push(Seg::Head(at, end.min(head_len)));
            }
            if end > head_len {
                self.batch
                    .segs
                    .push(Seg::Pixels(at.max(head_len) - head_len, end - head_len));
            }
            self.batch.total += len;
            at = end;
            pdus += 1;
        }
        if at == total {
            self.outstanding.push_back(cursor.message_id);
            self.stats.sent += 1;
            self.cursor = None;
        } else {
            self.cursor = Some(Cursor {
                data_at: at,
                ..cursor
            });
        }
        true
    }

    /// After the last response: release.
    fn maybe_release(&mut self) {
        if self.phase == Phase::Transfer
            && self.next_object == self.stats.objects
            && self.cursor.is_none()
            && self.batch.is_empty()
            && self.outstanding.is_empty()
        {
            self.phase = Phase::SendRelease;
        }
    }

    /// One read attempt, then every complete PDU is handled. `Err(WouldBlock)` when a
    /// non-blocking socket has nothing.
    pub(crate) fn try_read(&mut self) -> io::Result<()> {
        if self.rlen == self.rbuf.len() {
            let grown = self.rbuf.len() * 2;
            self.rbuf.resize(grown, 0);
        }
        let n = self.stream.read(&mut self.rbuf[self.rlen..])?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the receiver closed the connection",
            ));
        }
        self.rlen += n;
        // The buffer is taken out while its PDUs are handled (they only borrow it).
        let mut buf = std::mem::take(&mut self.rbuf);
        let mut pos = 0;
        while self.rlen - pos >= 6 && !self.finished() {
            let h = &buf[pos..pos + 6];
            let len = u32::from_be_bytes([h[2], h[3], h[4], h[5]]) as usize;
            if self.rlen - pos < 6 + len {
                if 6 + len > buf.len() {
                    buf.resize(6 + len, 0);
                }
                break;
            }
            let result = self.on_pdu(&buf[pos..pos + 6 + len]);
            pos += 6 + len;
            if let Err(why) = result {
                self.fail(why);
            }
        }
        buf.copy_within(pos..self.rlen, 0);
        self.rlen -= pos;
        self.rbuf = buf;
        Ok(())
    }

    fn on_pdu(&mut self, pdu: &[u8]) -> Result<(), String> {
        match (pdu[0], self.phase) {
            (0x04, Phase::Transfer) => self.on_p_data(&pdu[6..]),
            (0x04, _) => Err("P-DATA-TF outside the transfer phase".into()),
            (_, _) => match read_pdu(pdu, MAXIMUM_PDU_SIZE, false) {
                Ok(Some(Pdu::AssociationAC(ac))) if self.phase == Phase::AwaitAc => {
                    let accepted = ac.presentation_contexts.iter().any(|r| {
                        r.id == PC_ID && r.reason == PresentationContextResultReason::Acceptance
                    });
                    if !accepted {
                        return Err(format!(
                            "the receiver did not accept CT Image Storage in Explicit VR Little Endian: {:?}",
                            ac.presentation_contexts
                        ));
                    }
                    self.on_accepted(&ac.user_variables);
                    Ok(())
                }
                Ok(Some(Pdu::AssociationRJ(rj))) if self.phase == Phase::AwaitAc => Err(format!(
                    "association rejected: {:?}, {:?}",
                    rj.result, rj.source
                )),
                Ok(Some(Pdu::ReleaseRP)) if self.phase == Phase::AwaitRp => {
                    self.phase = Phase::Done;
                    self.stats.ended_after = self.started.elapsed().as_secs_f64();
                    Ok(())
                }
                Ok(Some(Pdu::AbortRQ { source })) => {
                    Err(format!("the receiver aborted the association: {source:?}"))
                }
                Ok(Some(other)) => Err(format!(
                    "unexpected {} in phase {:?}",
                    pdu_name(&other),
                    self.phase
                )),
                Ok(None) => Err("a truncated PDU".into()),
                Err(e) => Err(format!("an unreadable PDU: {e}")),
            },
        }
    }

    fn on_accepted(&mut self, items: &[UserVariableItem]) {
        self.stats.accepted = true;
        self.stats.ac_after = Some(self.started.elapsed().as_secs_f64());
        let mut peer_max = None;
        for item in items {
            match item {
                UserVariableItem::MaxLength(n) => peer_max = Some(*n),
                UserVariableItem::Unknown(ASYNC_WINDOW_ITEM, v) if v.len() == 4 => {
                    let invoked = u16::from_be_bytes([v[0], v[1]]);
                    let performed = u16::from_be_bytes([v[2], v[3]]);
                    self.stats.window_answer = Some((invoked, performed));
                }
                _ => {}
            }
        }
        self.window = granted_window(self.proposed_window, self.stats.window_answer);
        self.stats.window = self.window;
        self.stats.peer_max_pdu = peer_max;
        // A missing Maximum Length means the default of PS3.8 D.1 (no limit stated): we use
        // the same rule as for 0.
        let mut max = match peer_max {
            Some(0) | None => UNLIMITED_PDU,
            Some(n) => n,
        };
        if let Some(cap) = self.max_send_pdu {
            max = max.min(cap);
        }
        self.max_pdv = (max as usize).saturating_sub(6).max(1);
        self.phase = Phase::Transfer;
        self.maybe_release();
    }

    fn on_p_data(&mut self, mut body: &[u8]) -> Result<(), String> {
        while !body.is_empty() {
            let Some(h) = body.get(..6) else {
                return Err("a truncated PDV header in a response".into());
            };
            let len = u32::from_be_bytes([h[0], h[1], h[2], h[3]]) as usize;
            let flags = h[5];
            let Some(value) = body.get(6..4 + len).filter(|_| len >= 2) else {
                return Err("a malformed PDV in a response".into());
            };
            if flags & 0x01 == 0 {
                return Err("a data set PDV in a response".into());
            }
            self.response.extend_from_slice(value);
            body = &body[4 + len..];
            if flags & 0x02 != 0 {
                let response = std::mem::take(&mut self.response);
                let result = self.on_response(&response);
                self.response = response;
                self.response.clear();
                result?;
            }
        }
        Ok(())
    }

    fn on_response(&mut self, command: &[u8]) -> Result<(), String> {
        if command_us(command, 0x0100) != Some(0x8001) {
            return Err(format!(
                "a response that is not a C-STORE-RSP (command field {:?})",
                command_us(command, 0x0100)
            ));
        }
        let (Some(message_id), Some(status)) =
            (command_us(command, 0x0120), command_us(command, 0x0900))
        else {
            return Err("a C-STORE-RSP without Message ID Being Responded To or Status".into());
        };
        let Some(at) = self.outstanding.iter().position(|&m| m == message_id) else {
            return Err(format!(
                "a C-STORE-RSP for message {message_id}, which is not outstanding"
            ));
        };
        self.outstanding.remove(at);
        match classify(status) {
            Outcome::Success => self.stats.succeeded += 1,
            Outcome::Warning => self.stats.warnings += 1,
            Outcome::Failure => {
                self.stats.failed += 1;
                if self.stats.failures.len() < 5 {
                    self.stats.failures.push(format!(
                        "association {} message {message_id}: status 0x{status:04X}",
                        self.index
                    ));
                }
            }
        }
        self.maybe_release();
        Ok(())
    }
}

/// How a C-STORE-RSP status counts (PS3.4 Annex B.2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Success,
    Warning,
    Failure,
}

/// Success is 0000; the warnings of the Storage Service Class are B000, B006 and B007 (the
/// object was stored); everything else, including unknown codes, is a failure.
pub(crate) fn classify(status: u16) -> Outcome {
    match status {
        0x0000 => Outcome::Success,
        0xB000 | 0xB006 | 0xB007 => Outcome::Warning,
        _ => Outcome::Failure,
    }
}

/// The number of requests we may have outstanding: what we proposed, limited by the
/// receiver's "maximum number of operations performed" (0 = unlimited); 1 when either side
/// did not negotiate a window.
pub(crate) fn granted_window(proposed: Option<u16>, answer: Option<(u16, u16)>) -> usize {
    match (proposed, answer) {
        (Some(ours), Some((_, performed))) => {
            let ours = if ours == 0 { u16::MAX } else { ours };
            let theirs = if performed == 0 { u16::MAX } else { performed };
            usize::from(ours.min(theirs)).max(1)
        }
        _ => 1,
    }
}

/// A US element of an Implicit VR Little Endian command set, without allocating.
pub(crate) fn command_us(mut command: &[u8], element: u16) -> Option<u16> {
    while command.len() >= 8 {
        let group = u16::from_le_bytes([command[0], command[1]]);
        let elem = u16::from_le_bytes([command[2], command[3]]);
        let len = u32::from_le_bytes([command[4], command[5], command[6], command[7]]) as usize;
        let value = command.get(8..8 + len)?;
        if group == 0 && elem == element && len == 2 {
            return Some(u16::from_le_bytes([value[0], value[1]]));
        }
        command = &command[8 + len..];
    }
    None
}

fn gather<'a>(
    batch: &'a Batch,
    command: &'a [u8],
    head: &'a [u8],
    pixels: &'a [u8],
    iov: &mut [IoSlice<'a>; MAX_IOV],
) -> usize {
    for (slot, seg) in iov.iter_mut().zip(&batch.segs) {
        *slot = IoSlice::new(match *seg {
            Seg::Header(n) => &batch.headers[n],
            Seg::Command => command,
            Seg::Head(a, b) => &head[a..b],
            Seg::Pixels(a, b) => &pixels[a..b],
        });
    }
    batch.segs.len()
}

fn encode(pdu: &Pdu) -> Vec<u8> {
    let mut v = Vec::new();
    write_pdu(&mut v, pdu).expect("encode an association PDU");
    v
}

fn pdu_name(pdu: &Pdu) -> &'static str {
    match pdu {
        Pdu::AssociationRQ(_) => "A-ASSOCIATE-RQ",
        Pdu::AssociationAC(_) => "A-ASSOCIATE-AC",
        Pdu::AssociationRJ(_) => "A-ASSOCIATE-RJ",
        Pdu::PData { .. } => "P-DATA-TF",
        Pdu::ReleaseRQ => "A-RELEASE-RQ",
        Pdu::ReleaseRP => "A-RELEASE-RP",
        Pdu::AbortRQ { .. } => "A-ABORT",
        Pdu::Unknown { .. } => "unknown PDU",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(0x0000), Outcome::Success);
        assert_eq!(classify(0xB000), Outcome::Warning);
        assert_eq!(classify(0xB007), Outcome::Warning);
        assert_eq!(classify(0xA700), Outcome::Failure);
        assert_eq!(classify(0xC000), Outcome::Failure);
        assert_eq!(classify(0x0110), Outcome::Failure);
        assert_eq!(
            classify(0xFF00),
            Outcome::Failure,
            "Pending is not an answer to a store"
        );
    }

    #[test]
    fn the_window_is_the_smaller_of_both_sides() {
        assert_eq!(granted_window(None, None), 1);
        assert_eq!(granted_window(Some(16), None), 1, "no answer: synchronous");
        assert_eq!(granted_window(None, Some((1, 8))), 1, "not proposed");
        assert_eq!(granted_window(Some(16), Some((1, 8))), 8);
        assert_eq!(granted_window(Some(4), Some((1, 8))), 4);
        assert_eq!(granted_window(Some(4), Some((1, 0))), 4, "0 is unlimited");
        assert_eq!(granted_window(Some(4), Some((1, 1))), 1);
    }

    #[test]
    fn command_elements_are_found_without_allocating() {
        let rsp = crate::raw::command(&[
            (0x0002, crate::raw::uid_value(CT)),
            (0x0100, 0x8001u16.to_le_bytes().to_vec()),
            (0x0120, 7u16.to_le_bytes().to_vec()),
            (0x0800, 0x0101u16.to_le_bytes().to_vec()),
            (0x0900, 0xA700u16.to_le_bytes().to_vec()),
        ]);
        assert_eq!(command_us(&rsp, 0x0100), Some(0x8001));
        assert_eq!(command_us(&rsp, 0x0120), Some(7));
        assert_eq!(command_us(&rsp, 0x0900), Some(0xA700));
        assert_eq!(command_us(&rsp, 0x0110), None);
        assert_eq!(command_us(&rsp[..rsp.len() - 3], 0x0900), None, "truncated");
    }
}

//! The byte level: the transport, PDU framing over a reused buffer, PDV slicing, and the few
//! fixed PDUs we write ourselves.
//!
//! dicom-ul parses and writes the association PDUs (`dicom_ul::pdu::{read_pdu, write_pdu}`).
//! For P-DATA-TF we do not use `read_pdu_from_wire`/`receive()`: they copy every PDV payload
//! twice into fresh `Vec`s. Instead a PDU body is read straight into one buffer sized to our
//! maximum PDU, and the PDVs are slices of it (PS3.8 9.3.5), so a data set byte is copied once,
//! by the kernel, before it reaches the sink.

use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use snafu::Snafu;

/// A byte stream an association runs on: plain TCP, or TLS over TCP ([`crate::tls`]). The
/// association code only needs `Read + Write`; the socket is used for options, timeouts and
/// shutdown.
pub(crate) trait Transport: Read + Write + Send + 'static {
    /// The underlying TCP socket.
    fn socket(&self) -> &TcpStream;

    /// Ends the connection: TLS sends its close_notify alert first (best effort); then the TCP
    /// connection is shut down in both directions, ignoring errors (it may be gone already).
    fn close(&mut self) {
        shutdown(self.socket());
    }
}

impl Transport for TcpStream {
    fn socket(&self) -> &TcpStream {
        self
    }
}

/// PDU types (PS3.8 Table 9-11).
pub(crate) mod pdu_type {
    pub(crate) const ASSOCIATE_RQ: u8 = 0x01;
    pub(crate) const ASSOCIATE_AC: u8 = 0x02;
    pub(crate) const P_DATA_TF: u8 = 0x04;
    pub(crate) const RELEASE_RQ: u8 = 0x05;
    pub(crate) const ABORT: u8 = 0x07;
}

/// The largest A-ASSOCIATE-RQ we read. DCMTK tolerates requests longer than its `-pdu`, and so
/// do we, up to this bound (128 presentation contexts with many transfer syntaxes stay far
/// below it) so that a peer cannot make us allocate gigabytes.
pub(crate) const MAX_ASSOCIATE_RQ_LENGTH: u32 = 4 * 1024 * 1024;

/// Failures while reading from the peer.
#[derive(Debug, Snafu)]
pub(crate) enum ReadError {
    /// The peer closed the connection (or we shut the read side down).
    #[snafu(display("connection closed by peer"))]
    Closed,
    /// No data within the read timeout.
    #[snafu(display("read timed out"))]
    TimedOut,
    /// Any other I/O failure (e.g. connection reset).
    #[snafu(display("cannot read from peer"))]
    Io { source: io::Error },
}

/// The 6-byte PDU header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PduHeader {
    pub(crate) pdu_type: u8,
    pub(crate) length: u32,
}

impl PduHeader {
    pub(crate) fn bytes(&self) -> [u8; 6] {
        let l = self.length.to_be_bytes();
        [self.pdu_type, 0, l[0], l[1], l[2], l[3]]
    }
}

/// When reads give up.
#[derive(Debug, Clone, Copy)]
pub(crate) enum ReadDeadline {
    /// The socket's read timeout, as already set, applies to each read.
    SocketTimeout,
    /// Each read gets the time left until this instant.
    At(Instant),
}

/// Reads PDUs into a buffer that is allocated once per association.
///
/// A body read asks the kernel for up to 6 bytes more than the body, so that the next PDU's
/// header usually arrives with it: one `read` per PDU while data flows.
pub(crate) struct PduReader {
    buf: Vec<u8>,
    carry: [u8; 6],
    carry_len: usize,
    quickack: bool,
}

impl PduReader {
    /// A reader whose body buffer holds `max_body` bytes.
    pub(crate) fn new(max_body: u32, quickack: bool) -> Self {
        PduReader {
            buf: vec![0; max_body as usize + 6],
            carry: [0; 6],
            carry_len: 0,
            quickack,
        }
    }

    /// The largest body this reader can hold.
    pub(crate) fn capacity(&self) -> u32 {
        u32::try_from(self.buf.len() - 6).unwrap_or(u32::MAX)
    }

    /// Reads the next PDU header.
    pub(crate) fn read_header<S: Transport>(
        &mut self,
        stream: &mut S,
        deadline: ReadDeadline,
    ) -> Result<PduHeader, ReadError> {
        let mut header = [0u8; 6];
        let mut got = self.carry_len;
        header[..got].copy_from_slice(&self.carry[..got]);
        self.carry_len = 0;
        while got < 6 {
            got += read_some(stream, &mut header[got..], deadline, self.quickack)?;
        }
        Ok(PduHeader {
            pdu_type: header[0],
            length: u32::from_be_bytes([header[2], header[3], header[4], header[5]]),
        })
    }

    /// Reads a body of `length` bytes (at most [`capacity`](Self::capacity)) and returns it.
    pub(crate) fn read_body<S: Transport>(
        &mut self,
        stream: &mut S,
        length: u32,
        deadline: ReadDeadline,
    ) -> Result<&[u8], ReadError> {
        let length = length as usize;
        if length + 6 > self.buf.len() {
            return Err(ReadError::Io {
                source: io::Error::new(io::ErrorKind::InvalidInput, "PDU body exceeds the buffer"),
            });
        }
        let want = length + 6;
        let mut got = 0;
        while got < length {
            got += read_some(stream, &mut self.buf[got..want], deadline, self.quickack)?;
        }
        let extra = got - length;
        self.carry[..extra].copy_from_slice(&self.buf[length..got]);
        self.carry_len = extra;
        Ok(&self.buf[..length])
    }

    /// Reads a body of `length` bytes, whatever its size, into a new vector that grows only as
    /// the bytes arrive: a length the peer merely claims costs no memory.
    pub(crate) fn read_body_growing<S: Transport>(
        &mut self,
        stream: &mut S,
        length: u32,
        deadline: ReadDeadline,
    ) -> Result<Vec<u8>, ReadError> {
        let length = length as usize;
        let mut body = Vec::with_capacity(length.min(self.buf.len()));
        let carried = length.min(self.carry_len);
        body.extend_from_slice(&self.carry[..carried]);
        self.carry.copy_within(carried..self.carry_len, 0);
        self.carry_len -= carried;
        while body.len() < length {
            let want = (length - body.len()).min(self.buf.len());
            let n = read_some(stream, &mut self.buf[..want], deadline, self.quickack)?;
            body.extend_from_slice(&self.buf[..n]);
        }
        Ok(body)
    }

    /// Reads and discards a body of `length` bytes, whatever its size.
    pub(crate) fn skip_body<S: Transport>(
        &mut self,
        stream: &mut S,
        length: u32,
        deadline: ReadDeadline,
    ) -> Result<(), ReadError> {
        let mut left = length as usize;
        let carried = left.min(self.carry_len);
        self.carry.copy_within(carried..self.carry_len, 0);
        self.carry_len -= carried;
        left -= carried;
        while left > 0 {
            let n = self.buf.len().min(left);
            left -= read_some(stream, &mut self.buf[..n], deadline, self.quickack)?;
        }
        Ok(())
    }
}

/// One `read`, with the deadline applied, `TCP_QUICKACK` re-armed, EOF and timeouts mapped.
fn read_some<S: Transport>(
    stream: &mut S,
    buf: &mut [u8],
    deadline: ReadDeadline,
    quickack: bool,
) -> Result<usize, ReadError> {
    loop {
        if let ReadDeadline::At(at) = deadline {
            let left = at.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(ReadError::TimedOut);
            }
            stream
                .socket()
                .set_read_timeout(Some(left.max(Duration::from_millis(1))))
                .map_err(|source| ReadError::Io { source })?;
        }
        match stream.read(buf) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => {
                if quickack {
                    rearm_quickack(stream.socket());
                }
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock || e.kind() == io::ErrorKind::TimedOut =>
            {
                return Err(ReadError::TimedOut);
            }
            Err(source) => return Err(ReadError::Io { source }),
        }
    }
}

/// Re-arms `TCP_QUICKACK` so that the ACK for what we just read leaves at once instead of
/// waiting up to 40 ms for data to piggyback on, which a Nagle-enabled sender would wait for.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn rearm_quickack(socket: &TcpStream) {
    // Failing to set a latency hint is harmless.
    let _ = socket2::SockRef::from(socket).set_quickack(true);
}

/// `TCP_QUICKACK` only exists on Linux.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn rearm_quickack(_socket: &TcpStream) {}

/// Socket options for an accepted connection: no Nagle (each PDU is one `write`), a send
/// timeout so that a peer that stops reading cannot hold a thread forever.
pub(crate) fn configure_socket(socket: &TcpStream, write_timeout: Duration, quickack: bool) {
    // These only tune latency and liveness; a socket that refuses them still works.
    let _ = socket.set_nodelay(true);
    let _ = socket.set_write_timeout(Some(write_timeout));
    if quickack {
        rearm_quickack(socket);
    }
}

/// Shuts the connection down in both directions, ignoring errors (it may be gone already).
pub(crate) fn shutdown(socket: &TcpStream) {
    let _ = socket.shutdown(Shutdown::Both);
}

/// One presentation data value item (PS3.8 9.3.5.1) of a P-DATA-TF body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Pdv<'a> {
    pub(crate) presentation_context_id: u8,
    pub(crate) is_command: bool,
    pub(crate) is_last: bool,
    pub(crate) data: &'a [u8],
}

/// A malformed P-DATA-TF body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BadPdv {
    pub(crate) offset: usize,
}

/// Iterates over the PDVs of a P-DATA-TF body without copying.
pub(crate) struct Pdvs<'a> {
    body: &'a [u8],
    pos: usize,
}

impl<'a> Pdvs<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Self {
        Pdvs { body, pos: 0 }
    }
}

impl<'a> Iterator for Pdvs<'a> {
    type Item = Result<Pdv<'a>, BadPdv>;

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.body.get(self.pos..)?;
        if rest.is_empty() {
            return None;
        }
        let bad = BadPdv { offset: self.pos };
        let parsed = (|| {
            let len_bytes: [u8; 4] = rest.get(..4)?.try_into().ok()?;
            let item_length = u32::from_be_bytes(len_bytes) as usize;
            if item_length < 2 {
                return None;
            }
            let item = rest.get(4..4usize.checked_add(item_length)?)?;
            let (&pc, rest) = item.split_first()?;
            let (&flags, data) = rest.split_first()?;
            Some((
                4 + item_length,
                Pdv {
                    presentation_context_id: pc,
                    is_command: flags & 0x01 != 0,
                    is_last: flags & 0x02 != 0,
                    data,
                },
            ))
        })();
        match parsed {
            Some((advance, pdv)) => {
                self.pos += advance;
                Some(Ok(pdv))
            }
            None => {
                self.pos = self.body.len();
                Some(Err(bad))
            }
        }
    }
}

/// Our A-ABORT: source 0 (service-user), reason 0, as DCMTK sends it.
pub(crate) const A_ABORT: [u8; 10] = [0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0];
/// A-RELEASE-RP.
pub(crate) const A_RELEASE_RP: [u8; 10] = [0x06, 0, 0, 0, 0, 4, 0, 0, 0, 0];

/// An A-ASSOCIATE-RJ with the given result, source and reason (PS3.8 9.3.4).
pub(crate) fn associate_rj(result: u8, source: u8, reason: u8) -> [u8; 10] {
    [0x03, 0, 0, 0, 0, 4, 0, result, source, reason]
}

/// Writes the command `data` on presentation context `pc` as P-DATA-TF PDUs of one PDV each,
/// each PDV at most `max_pdv` bytes; one `write` per PDU.
pub(crate) fn send_command<S: Transport>(
    stream: &mut S,
    pc: u8,
    data: &[u8],
    max_pdv: usize,
) -> io::Result<()> {
    let max_pdv = max_pdv.max(2);
    let mut chunks = data.chunks(max_pdv).peekable();
    let mut pdu = Vec::with_capacity(data.len().min(max_pdv) + 12);
    // An empty command still needs its last fragment.
    if chunks.peek().is_none() {
        pdu.extend_from_slice(&p_data_header(0));
        pdu.extend_from_slice(&[0, 0, 0, 2, pc, 0x03]);
        return send(stream, &pdu);
    }
    while let Some(chunk) = chunks.next() {
        let last = chunks.peek().is_none();
        pdu.clear();
        pdu.extend_from_slice(&p_data_header(chunk.len()));
        pdu.extend_from_slice(&((chunk.len() + 2) as u32).to_be_bytes());
        pdu.push(pc);
        pdu.push(if last { 0x03 } else { 0x01 });
        pdu.extend_from_slice(chunk);
        send(stream, &pdu)?;
    }
    Ok(())
}

fn p_data_header(pdv_data_len: usize) -> [u8; 6] {
    PduHeader {
        pdu_type: pdu_type::P_DATA_TF,
        length: (pdv_data_len + 6) as u32,
    }
    .bytes()
}

/// Writes one complete PDU with one `write_all` and flushes (a no-op for TCP, needed for TLS).
pub(crate) fn send<S: Transport>(stream: &mut S, pdu: &[u8]) -> io::Result<()> {
    stream.write_all(pdu)?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pdv(pc: u8, flags: u8, data: &[u8]) -> Vec<u8> {
        let mut v = ((data.len() + 2) as u32).to_be_bytes().to_vec();
        v.push(pc);
        v.push(flags);
        v.extend_from_slice(data);
        v
    }

    #[test]
    fn slices_pdvs() {
        let mut body = pdv(1, 0x03, b"cmd");
        body.extend(pdv(3, 0x00, b"data1"));
        body.extend(pdv(3, 0x02, b""));
        let got: Vec<_> = Pdvs::new(&body).collect::<Result<_, _>>().unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(
            got[0],
            Pdv {
                presentation_context_id: 1,
                is_command: true,
                is_last: true,
                data: b"cmd"
            }
        );
        assert_eq!(got[1].data, b"data1");
        assert!(!got[1].is_command && !got[1].is_last);
        assert!(got[2].is_last && got[2].data.is_empty());
    }

    #[test]
    fn rejects_bad_pdvs_without_panicking() {
        for body in [
            vec![0, 0, 0],
            vec![0, 0, 0, 1, 1],
            vec![0, 0, 0, 9, 1, 2, 3],
            vec![0xFF, 0xFF, 0xFF, 0xFF, 1, 2],
        ] {
            let mut it = Pdvs::new(&body);
            assert!(matches!(it.next(), Some(Err(_))), "{body:?}");
            assert!(it.next().is_none());
        }
        assert!(Pdvs::new(&[]).next().is_none());
    }

    #[test]
    fn fixed_pdus() {
        assert_eq!(associate_rj(1, 1, 1), [3, 0, 0, 0, 0, 4, 0, 1, 1, 1]);
        assert_eq!(
            PduHeader {
                pdu_type: 4,
                length: 0x01020304
            }
            .bytes(),
            [4, 0, 1, 2, 3, 4]
        );
    }
}

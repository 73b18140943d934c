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

/// How many bytes a read may take beyond the PDU being assembled: while data flows, one `read`
/// returns whatever the socket holds, often several PDUs, so that the syscalls per PDU (and
/// the `TCP_QUICKACK` re-arms that go with each read) drop several-fold when the receiver
/// falls behind the sender.
pub(crate) const READ_AHEAD: usize = 64 * 1024;

/// When fewer than this many unconsumed bytes remain in front of the free space, they are
/// moved to the start of the buffer before the next read, so that the read can take the
/// whole read-ahead.
const COMPACT_BELOW: usize = 4096;

/// Reads PDUs through a read-ahead buffer that is allocated once per association and holds
/// one maximum-size PDU plus [`READ_AHEAD`] bytes.
///
/// Each `read` asks the kernel for all the free space and takes whatever has arrived, so one
/// `read` usually covers one or several PDUs; a PDU body is always contiguous in the buffer,
/// so its PDVs can be sliced out of it without another copy.
pub(crate) struct PduReader {
    buf: Vec<u8>,
    /// The largest body [`read_body`](Self::read_body) accepts.
    max_body: usize,
    /// The first byte not consumed yet.
    start: usize,
    /// The end of the bytes read so far.
    end: usize,
    quickack: bool,
}

impl PduReader {
    /// A reader for bodies of up to `max_body` bytes.
    pub(crate) fn new(max_body: u32, quickack: bool) -> Self {
        let max_body = max_body as usize;
        PduReader {
            buf: vec![0; max_body + 6 + READ_AHEAD],
            max_body,
            start: 0,
            end: 0,
            quickack,
        }
    }

    /// The largest body this reader can hold.
    pub(crate) fn capacity(&self) -> u32 {
        u32::try_from(self.max_body).unwrap_or(u32::MAX)
    }

    /// The bytes read but not consumed yet.
    fn buffered(&self) -> usize {
        self.end - self.start
    }

    /// Reads until at least `n` bytes (at most the buffer's size) are buffered, contiguously
    /// from `start`.
    fn fill<S: Transport>(
        &mut self,
        stream: &mut S,
        n: usize,
        deadline: ReadDeadline,
    ) -> Result<(), ReadError> {
        if n > self.buf.len() {
            return Err(ReadError::Io {
                source: io::Error::new(io::ErrorKind::InvalidInput, "PDU body exceeds the buffer"),
            });
        }
        while self.buffered() < n {
            if self.start > 0
                && (self.start + n > self.buf.len() || self.buffered() < COMPACT_BELOW)
            {
                self.buf.copy_within(self.start..self.end, 0);
                self.end -= self.start;
                self.start = 0;
            }
            let free = self.buf.get_mut(self.end..).unwrap_or_default();
            self.end += read_some(stream, free, deadline, self.quickack)?;
        }
        Ok(())
    }

    /// Consumes `n` buffered bytes (at most [`buffered`](Self::buffered)).
    fn consume(&mut self, n: usize) {
        self.start += n.min(self.buffered());
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Reads the next PDU header.
    pub(crate) fn read_header<S: Transport>(
        &mut self,
        stream: &mut S,
        deadline: ReadDeadline,
    ) -> Result<PduHeader, ReadError> {
        self.fill(stream, 6, deadline)?;
        let header = self
            .buf
            .get(self.start..self.start + 6)
            .and_then(|h| <[u8; 6]>::try_from(h).ok())
            .unwrap_or_default();
        self.consume(6);
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
        if length > self.max_body {
            return Err(ReadError::Io {
                source: io::Error::new(io::ErrorKind::InvalidInput, "PDU body exceeds the buffer"),
            });
        }
        self.fill(stream, length, deadline)?;
        let at = self.start;
        // Consuming only moves the indices: the bytes stay where they are until the next read.
        self.start += length;
        Ok(self.buf.get(at..at + length).unwrap_or_default())
    }

    /// Takes up to `n` buffered bytes, and returns them; what is left must then be read.
    fn take_buffered(&mut self, n: usize) -> &[u8] {
        let n = n.min(self.buffered());
        let at = self.start;
        self.start += n;
        self.buf.get(at..at + n).unwrap_or_default()
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
        body.extend_from_slice(self.take_buffered(length));
        self.consume(0);
        while body.len() < length {
            // The buffer is empty here: read exactly what is missing, never beyond the body.
            let want = (length - body.len()).min(self.buf.len());
            let free = self.buf.get_mut(..want).unwrap_or_default();
            let n = read_some(stream, free, deadline, self.quickack)?;
            body.extend_from_slice(self.buf.get(..n).unwrap_or_default());
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
        left -= self.take_buffered(left).len();
        self.consume(0);
        while left > 0 {
            let want = self.buf.len().min(left);
            let free = self.buf.get_mut(..want).unwrap_or_default();
            left -= read_some(stream, free, deadline, self.quickack)?;
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
    let _ = socket2::SockRef::from(socket).set_tcp_quickack(true);
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

    /// A transport over one end of a loopback connection that counts its `read` calls.
    struct Counting {
        socket: TcpStream,
        reads: usize,
    }

    impl Read for Counting {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            self.reads += 1;
            self.socket.read(buf)
        }
    }

    impl Write for Counting {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.socket.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    impl Transport for Counting {
        fn socket(&self) -> &TcpStream {
            &self.socket
        }
    }

    /// A connected pair: the sending end and the counting receiving end.
    fn pair() -> (TcpStream, Counting) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let sender = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (socket, _) = listener.accept().unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        sender.set_nodelay(true).unwrap();
        (sender, Counting { socket, reads: 0 })
    }

    /// A PDU of type 4 whose body is `len` bytes counting up from `seed`.
    fn test_pdu(len: usize, seed: u8) -> Vec<u8> {
        let mut pdu = PduHeader {
            pdu_type: pdu_type::P_DATA_TF,
            length: len as u32,
        }
        .bytes()
        .to_vec();
        pdu.extend((0..len).map(|i| seed.wrapping_add(i as u8)));
        pdu
    }

    fn next_body(reader: &mut PduReader, stream: &mut Counting) -> Vec<u8> {
        let header = reader
            .read_header(stream, ReadDeadline::SocketTimeout)
            .unwrap();
        assert_eq!(header.pdu_type, pdu_type::P_DATA_TF);
        reader
            .read_body(stream, header.length, ReadDeadline::SocketTimeout)
            .unwrap()
            .to_vec()
    }

    #[test]
    fn one_read_takes_several_pdus() {
        let (mut sender, mut stream) = pair();
        let pdus: Vec<Vec<u8>> = (0..20).map(|i| test_pdu(1000, i)).collect();
        sender.write_all(&pdus.concat()).unwrap();
        let mut reader = PduReader::new(16384, false);
        for pdu in &pdus {
            assert_eq!(next_body(&mut reader, &mut stream), pdu[6..]);
        }
        // 20 kB were waiting: one read took them all (two if the kernel split them).
        assert!(stream.reads <= 2, "{} reads", stream.reads);
    }

    #[test]
    fn pdus_arriving_in_any_pieces_are_reassembled() {
        // Bodies up to the maximum, more bytes in all than the buffer holds (so it compacts),
        // sent in pieces of 1 to 3000 bytes that cut headers and bodies anywhere.
        let max_body = 2000;
        let pdus: Vec<Vec<u8>> = (0..400)
            .map(|i| test_pdu([0, 1, 5, 6, 7, 1999, 2000, 517][i % 8], i as u8))
            .collect();
        let stream_bytes = pdus.concat();
        assert!(stream_bytes.len() > max_body + 6 + READ_AHEAD);
        let (mut sender, mut stream) = pair();
        let writer = std::thread::spawn(move || {
            let mut at = 0;
            let mut seed = 7u32;
            while at < stream_bytes.len() {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12345);
                let n = (1 + (seed >> 16) as usize % 3000).min(stream_bytes.len() - at);
                sender.write_all(&stream_bytes[at..at + n]).unwrap();
                at += n;
                if seed % 5 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            sender
        });
        let mut reader = PduReader::new(max_body as u32, true);
        for pdu in &pdus {
            assert_eq!(next_body(&mut reader, &mut stream), pdu[6..]);
        }
        drop(writer.join().unwrap());
        assert!(matches!(
            reader.read_header(&mut stream, ReadDeadline::SocketTimeout),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn bodies_beyond_the_buffer_are_grown_or_skipped_and_what_follows_is_kept() {
        let (mut sender, mut stream) = pair();
        let big = test_pdu(300_000, 1);
        let small = test_pdu(10, 2);
        let writer = std::thread::spawn(move || {
            for _ in 0..2 {
                sender.write_all(&big).unwrap();
                sender.write_all(&small).unwrap();
            }
            sender
        });
        let mut reader = PduReader::new(4096, false);
        let header = reader
            .read_header(&mut stream, ReadDeadline::SocketTimeout)
            .unwrap();
        assert_eq!(header.length, 300_000);
        assert!(header.length > reader.capacity());
        assert!(
            reader
                .read_body(&mut stream, header.length, ReadDeadline::SocketTimeout)
                .is_err()
        );
        let body = reader
            .read_body_growing(&mut stream, header.length, ReadDeadline::SocketTimeout)
            .unwrap();
        assert_eq!(body, test_pdu(300_000, 1)[6..]);
        assert_eq!(next_body(&mut reader, &mut stream), test_pdu(10, 2)[6..]);
        let header = reader
            .read_header(&mut stream, ReadDeadline::SocketTimeout)
            .unwrap();
        reader
            .skip_body(&mut stream, header.length, ReadDeadline::SocketTimeout)
            .unwrap();
        assert_eq!(next_body(&mut reader, &mut stream), test_pdu(10, 2)[6..]);
        drop(writer.join().unwrap());
    }

    #[test]
    fn a_deadline_ends_a_read_that_gets_nothing() {
        let (_sender, mut stream) = pair();
        let mut reader = PduReader::new(4096, true);
        let deadline = ReadDeadline::At(Instant::now() + Duration::from_millis(50));
        assert!(matches!(
            reader.read_header(&mut stream, deadline),
            Err(ReadError::TimedOut)
        ));
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

//! The pending pool: connections that have not sent their A-ASSOCIATE-RQ yet, watched by one
//! thread with non-blocking sockets (mio, epoll on Linux) until the request has arrived.
//!
//! A connection takes no association slot and no thread of its own until its whole
//! A-ASSOCIATE-RQ (and, with TLS, the handshake before it) has arrived: a peer that connects
//! and sends nothing, or half a request, or half a TLS handshake, holds only a socket and a few
//! hundred bytes here. The pool is bounded three ways:
//!
//! - **a deadline**: the handshake and the whole request must arrive within the pending timeout
//!   (or the ACSE timeout, if shorter), counted from the accept;
//! - **a size**: at most `max_pending` connections, and at most `max_pending_per_address` from
//!   one source address. A new connection beyond either closes the oldest pending one (of its
//!   own address when that address is at its cap), so the newcomer always gets its chance: a
//!   legitimate peer sends its request within milliseconds, long before it becomes the oldest;
//! - **memory**: requests are collected as their bytes arrive (a claimed length costs nothing),
//!   are at most [`MAX_ASSOCIATE_RQ_LENGTH`] long, and all pending connections together hold at
//!   most [`BUFFER_BUDGET`] bytes of them; beyond, the oldest connection holding bytes is closed.
//!
//! A complete request is checked against the bounds of `bounds.rs` without being parsed and
//! handed, with its socket, to the acceptor, which gives it a slot and a thread. First PDUs
//! that are not a request (or too long) are answered here with A-ABORT, an over-bound request
//! with A-ASSOCIATE-RJ, and such connections stay in the pool, discarding what they send, until
//! they close or their deadline passes (PS3.8 ARTIM).

use std::collections::{BTreeMap, HashMap};
use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use mio::net::{TcpListener, TcpStream as MioStream};
use mio::{Events, Interest, Poll, Registry, Token};
use rustls::{ServerConfig, ServerConnection};
use tracing::{Span, debug, error, field, info_span, warn};

use crate::bounds::{self, MAX_ASSOCIATE_RQ_LENGTH};
use crate::tls::{self, HandshakeError, Step, TlsInfo, TlsStream};
use crate::wire::{self, A_ABORT, pdu_type};

/// The listener's token.
pub(crate) const LISTENER: Token = Token(0);
/// With a [`heartbeat`](crate::AcceptorOptions::heartbeat), the longest the accept loop waits
/// before it turns again (and beats).
///
/// ```
/// assert_eq!(dcmrecv_storage_scp::HEARTBEAT_PERIOD.as_secs(), 1);
/// ```
pub const HEARTBEAT_PERIOD: Duration = Duration::from_secs(1);

/// The token of the waker that interrupts the poll for a shutdown.
pub(crate) const WAKER: Token = Token(1);
/// Connections are numbered from here on, oldest first.
const FIRST_CONNECTION: usize = 2;

/// The most bytes of requests all pending connections hold together.
pub(crate) const BUFFER_BUDGET: usize = 16 * 1024 * 1024;
/// The size of the one buffer reads go through.
const SCRATCH: usize = 64 * 1024;
/// How long to wait before accepting again after `accept` failed (e.g. no file descriptors).
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// The stream of a connection whose request has arrived.
pub(crate) enum Accepted {
    /// Plain TCP.
    Plain(TcpStream),
    /// TLS, handshake done; decrypted bytes after the request may be buffered in it.
    Tls(Box<TlsStream>),
}

impl Accepted {
    /// The TCP socket underneath.
    pub(crate) fn socket(&self) -> &TcpStream {
        match self {
            Accepted::Plain(stream) => stream,
            Accepted::Tls(stream) => &stream.sock,
        }
    }
}

/// A connection whose whole A-ASSOCIATE-RQ has arrived, within the bounds.
pub(crate) struct Ready {
    pub(crate) stream: Accepted,
    pub(crate) peer: SocketAddr,
    pub(crate) local: Option<SocketAddr>,
    /// The A-ASSOCIATE-RQ PDU, header included.
    pub(crate) request: Vec<u8>,
    /// What the TLS handshake negotiated.
    pub(crate) tls: Option<TlsInfo>,
    /// The association's span, opened at the accept.
    pub(crate) span: Span,
}

/// The pool's bounds.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    pub(crate) max: usize,
    pub(crate) per_address: usize,
    /// The time to complete the handshake and the request (already the shorter of the pending
    /// and ACSE timeouts).
    pub(crate) timeout: Duration,
}

/// Where a pending connection is.
enum Phase {
    /// TLS: the handshake (rustls' state is created when the first bytes arrive).
    Handshake(Option<Box<ServerConnection>>),
    /// Collecting the A-ASSOCIATE-RQ (through TLS when `tls` is set).
    Request {
        tls: Option<Box<ServerConnection>>,
        pdu: Vec<u8>,
    },
    /// After our A-ABORT or A-ASSOCIATE-RJ: discarding what the peer sends until it closes.
    Closing,
}

/// A connection in the pool.
struct Pending {
    stream: MioStream,
    peer: SocketAddr,
    accepted: Instant,
    deadline: Instant,
    span: Span,
    phase: Phase,
    tls_info: Option<TlsInfo>,
}

/// What one step of a pending connection came to.
enum Progress {
    /// Waiting for the socket.
    Wait,
    /// Done with it (logged already): close.
    Close,
    /// Its request is complete and within the bounds.
    Ready,
}

/// Why a pending connection is closed before its time.
#[derive(Debug, Clone, Copy)]
enum Eviction {
    PerAddress,
    Full,
    Budget,
}

/// The pending connections, oldest first.
pub(crate) struct Pool {
    entries: BTreeMap<usize, Pending>,
    per_address: HashMap<IpAddr, usize>,
    next_token: usize,
    /// Request bytes held by all entries.
    buffered: usize,
    /// No deadline passes before this (it may be earlier than the earliest one).
    next_deadline: Option<Instant>,
    scratch: Vec<u8>,
    limits: Limits,
    tls: Option<Arc<ServerConfig>>,
}

impl Pool {
    pub(crate) fn new(limits: Limits, tls: Option<Arc<ServerConfig>>) -> Self {
        Pool {
            entries: BTreeMap::new(),
            per_address: HashMap::new(),
            next_token: FIRST_CONNECTION,
            buffered: 0,
            next_deadline: None,
            scratch: vec![0; SCRATCH],
            limits,
            tls,
        }
    }

    /// How many connections are pending.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Takes in a connection just accepted, making room for it first, and reads what it has
    /// sent already. Requests that complete meanwhile (its own, or those of connections about
    /// to be closed to make room) are pushed to `ready`.
    fn add(
        &mut self,
        registry: &Registry,
        mut stream: MioStream,
        peer: SocketAddr,
        ready: &mut Vec<Ready>,
    ) {
        let ip = peer.ip();
        while self.per_address.get(&ip).copied().unwrap_or(0) >= self.limits.per_address {
            let oldest = self
                .entries
                .iter()
                .find(|(_, e)| e.peer.ip() == ip)
                .map(|(t, _)| *t);
            let Some(token) = oldest else {
                break;
            };
            self.make_room(registry, token, Eviction::PerAddress, ready);
        }
        while self.entries.len() >= self.limits.max {
            let Some(token) = self.entries.keys().next().copied() else {
                break;
            };
            self.make_room(registry, token, Eviction::Full, ready);
        }
        let token = self.next_token;
        self.next_token += 1;
        let interest = if self.tls.is_some() {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if let Err(e) = registry.register(&mut stream, Token(token), interest) {
            warn!(%peer, "cannot watch a new connection: {e}");
            return;
        }
        // Each PDU is one write; latency matters more than segment counts.
        let _ = stream.set_nodelay(true);
        let span = info_span!(
            "association",
            peer = %peer,
            calling = field::Empty,
            called = field::Empty
        );
        let now = Instant::now();
        let deadline = now + self.limits.timeout;
        let phase = if self.tls.is_some() {
            Phase::Handshake(None)
        } else {
            Phase::Request {
                tls: None,
                pdu: Vec::new(),
            }
        };
        self.entries.insert(
            token,
            Pending {
                stream,
                peer,
                accepted: now,
                deadline,
                span,
                phase,
                tls_info: None,
            },
        );
        *self.per_address.entry(ip).or_insert(0) += 1;
        self.next_deadline = Some(self.next_deadline.map_or(deadline, |d| d.min(deadline)));
        // Peers send their request right after connecting: it is often here already.
        ready.extend(self.on_event(registry, token));
    }

    /// Frees the place of connection `token`: first reads what it has sent (its request may
    /// be complete, only not read yet: a burst of connections is accepted before their bytes
    /// are read); if it is still pending, closes it.
    fn make_room(
        &mut self,
        registry: &Registry,
        token: usize,
        why: Eviction,
        ready: &mut Vec<Ready>,
    ) {
        ready.extend(self.on_event(registry, token));
        if self.entries.contains_key(&token) {
            self.evict(registry, token, why);
        }
    }

    /// Removes a connection from the pool (closing its socket unless the caller keeps it).
    fn remove(&mut self, registry: &Registry, token: usize) -> Option<Pending> {
        let mut entry = self.entries.remove(&token)?;
        let _ = registry.deregister(&mut entry.stream);
        self.buffered = self.buffered.saturating_sub(entry.buffered());
        let ip = entry.peer.ip();
        if let Some(n) = self.per_address.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                self.per_address.remove(&ip);
            }
        }
        Some(entry)
    }

    /// Closes a pending connection to make room.
    fn evict(&mut self, registry: &Registry, token: usize, why: Eviction) {
        let from_address = self
            .entries
            .get(&token)
            .map(|e| self.per_address.get(&e.peer.ip()).copied().unwrap_or(0))
            .unwrap_or(0);
        let waiting = self.entries.len();
        let Some(entry) = self.remove(registry, token) else {
            return;
        };
        let ip = entry.peer.ip();
        let age = entry.accepted.elapsed().as_secs_f64();
        let (limits, buffered) = (self.limits, self.buffered);
        entry.span.in_scope(|| match why {
            Eviction::PerAddress => warn!(
                "closing the oldest connection still waiting for its association request (open {age:.1} s): {from_address} connections from {ip} are waiting, the limit per address is {}",
                limits.per_address
            ),
            Eviction::Full => warn!(
                "closing the oldest connection still waiting for its association request (open {age:.1} s): {waiting} connections are waiting, the limit is {}",
                limits.max
            ),
            Eviction::Budget => warn!(
                "closing the oldest connection still waiting for its association request (open {age:.1} s): the requests being received hold {buffered} bytes, the limit is {BUFFER_BUDGET}"
            ),
        });
    }

    /// Advances the connection `token` after a readiness event; its request when complete.
    fn on_event(&mut self, registry: &Registry, token: usize) -> Option<Ready> {
        let Pool {
            entries,
            scratch,
            tls,
            limits,
            ..
        } = self;
        let entry = entries.get_mut(&token)?;
        let before = entry.buffered();
        let progress = entry
            .span
            .clone()
            .in_scope(|| entry.advance(scratch, tls.as_ref(), limits));
        let after = entry.buffered();
        let deadline = entry.deadline;
        self.buffered = (self.buffered + after).saturating_sub(before);
        match progress {
            Progress::Wait => {
                self.next_deadline = Some(self.next_deadline.map_or(deadline, |d| d.min(deadline)));
                while self.buffered > BUFFER_BUDGET {
                    let holder = self
                        .entries
                        .iter()
                        .find(|(_, e)| e.buffered() > 0)
                        .map(|(t, _)| *t);
                    match holder {
                        Some(t) => self.evict(registry, t, Eviction::Budget),
                        None => break,
                    }
                }
                None
            }
            Progress::Close => {
                self.remove(registry, token);
                None
            }
            Progress::Ready => self.remove(registry, token).and_then(Pending::into_ready),
        }
    }

    /// Closes every connection whose deadline has passed.
    fn expire(&mut self, registry: &Registry, now: Instant) {
        if self.next_deadline.is_none_or(|d| d > now) {
            return;
        }
        let expired: Vec<usize> = self
            .entries
            .iter()
            .filter(|(_, e)| e.deadline <= now)
            .map(|(t, _)| *t)
            .collect();
        for token in expired {
            if let Some(entry) = self.remove(registry, token) {
                entry.span.in_scope(|| entry.timed_out(self.limits.timeout));
            }
        }
        self.next_deadline = self.entries.values().map(|e| e.deadline).min();
    }
}

impl Pending {
    /// The request bytes this connection holds.
    fn buffered(&self) -> usize {
        match &self.phase {
            Phase::Request { pdu, .. } => pdu.len(),
            _ => 0,
        }
    }

    /// Logs why its deadline closes it.
    fn timed_out(&self, timeout: Duration) {
        match &self.phase {
            Phase::Handshake(_) => {
                tls::log_failure(self.peer, &HandshakeError::TimedOut { timeout })
            }
            Phase::Request { .. } => {
                error!("Could not receive association request: DUL network read timeout");
            }
            Phase::Closing => {}
        }
    }

    /// Sends one of our fixed PDUs, as far as the socket takes it (it is empty at this point,
    /// so it takes all of it).
    fn send(&mut self, pdu: &[u8]) {
        match &mut self.phase {
            Phase::Request {
                tls: Some(conn), ..
            } => {
                let _ = conn.writer().write_all(pdu);
                tls::flush_tls(conn, &mut self.stream);
            }
            _ => {
                let _ = self.stream.write(pdu);
            }
        }
    }

    /// Answers with `pdu` and waits for the peer to close, until the deadline.
    fn refuse(&mut self, pdu: &[u8], wait: Duration) {
        self.send(pdu);
        self.phase = Phase::Closing;
        self.deadline = Instant::now() + wait;
    }

    /// Reads what has arrived and moves on as far as it allows.
    fn advance(
        &mut self,
        scratch: &mut [u8],
        config: Option<&Arc<ServerConfig>>,
        limits: &Limits,
    ) -> Progress {
        loop {
            match &mut self.phase {
                Phase::Handshake(conn) => {
                    let conn = match conn {
                        Some(conn) => conn,
                        None => {
                            let Some(config) = config else {
                                return Progress::Close;
                            };
                            match ServerConnection::new(Arc::clone(config)) {
                                Ok(new) => conn.insert(Box::new(new)),
                                Err(error) => {
                                    tls::log_failure(self.peer, &HandshakeError::Tls { error });
                                    return Progress::Close;
                                }
                            }
                        }
                    };
                    match tls::handshake_step(conn, &mut self.stream) {
                        Ok(Step::Blocked) => return Progress::Wait,
                        Ok(Step::Done) => {
                            let info = tls::info(conn);
                            tls::log_details(&info);
                            self.tls_info = Some(info);
                            let Phase::Handshake(conn) =
                                std::mem::replace(&mut self.phase, Phase::Closing)
                            else {
                                return Progress::Close;
                            };
                            self.phase = Phase::Request {
                                tls: conn,
                                pdu: Vec::new(),
                            };
                        }
                        Err(e) => {
                            tls::log_failure(self.peer, &e);
                            return Progress::Close;
                        }
                    }
                }
                Phase::Request { tls, pdu } => {
                    let want = missing(pdu).min(scratch.len());
                    let buf = scratch.get_mut(..want).unwrap_or_default();
                    let read = match tls {
                        Some(conn) => tls::read_plaintext(conn, &mut self.stream, buf),
                        None => self.stream.read(buf),
                    };
                    match read {
                        Ok(0) => {
                            if pdu.is_empty() {
                                debug!("connection closed before an association request arrived");
                            } else {
                                error!(
                                    "Could not receive association request: connection closed by peer"
                                );
                            }
                            return Progress::Close;
                        }
                        Ok(n) => {
                            pdu.extend_from_slice(scratch.get(..n).unwrap_or_default());
                            let verdict = if pdu.len() == 6 {
                                self.check_header(limits)
                            } else if missing(pdu) == 0 {
                                self.check_request(limits)
                            } else {
                                None
                            };
                            if let Some(progress) = verdict {
                                return progress;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Wait,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            error!("Could not receive association request: {e}");
                            return Progress::Close;
                        }
                    }
                }
                Phase::Closing => loop {
                    match self.stream.read(scratch) {
                        Ok(0) => return Progress::Close,
                        Ok(_) => {}
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Progress::Wait,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => return Progress::Close,
                    }
                },
            }
        }
    }

    /// Checks the first PDU's header; `Some` when this step ends (`None`: read on).
    fn check_header(&mut self, limits: &Limits) -> Option<Progress> {
        let Phase::Request { pdu, .. } = &self.phase else {
            return Some(Progress::Close);
        };
        let (kind, length) = header(pdu);
        match kind {
            pdu_type::ASSOCIATE_RQ if length > MAX_ASSOCIATE_RQ_LENGTH => {
                // DCMTK's lines (it resets the connection; we answer).
                error!("A-ASSOCIATE PDU too large: {length} bytes, refusing.");
                error!("Could not receive association request: A-ASSOCIATE PDU too large");
                self.refuse(&A_ABORT, limits.timeout);
                None
            }
            pdu_type::ASSOCIATE_RQ if length == 0 => self.check_request(limits),
            pdu_type::ASSOCIATE_RQ => None,
            pdu_type::ASSOCIATE_AC..=pdu_type::ABORT => {
                warn!(
                    pdu_type = kind,
                    "expected an A-ASSOCIATE-RQ, received another PDU type: aborting"
                );
                self.refuse(&A_ABORT, limits.timeout);
                None
            }
            other => {
                // DCMTK's `%2x`: hexadecimal, padded to two columns with a space.
                error!("Could not receive association request: Unrecognized PDU type: {other:2x}");
                Some(Progress::Close)
            }
        }
    }

    /// Checks a complete request against the bounds: `Some(Ready)` when within them, `None`
    /// (read on, discarding) when refused.
    fn check_request(&mut self, limits: &Limits) -> Option<Progress> {
        let Phase::Request { pdu, .. } = &self.phase else {
            return Some(Progress::Close);
        };
        match bounds::check(pdu.get(6..).unwrap_or_default()) {
            Ok(()) => Some(Progress::Ready),
            Err(exceeded) => {
                error!("Could not receive association request: {exceeded}");
                // Rejected-permanent, service-provider (ACSE), no reason given.
                self.refuse(&wire::associate_rj(1, 2, 1), limits.timeout);
                None
            }
        }
    }

    /// The connection, back in blocking mode, with its request.
    fn into_ready(self) -> Option<Ready> {
        let Pending {
            stream,
            peer,
            span,
            phase,
            tls_info,
            ..
        } = self;
        let Phase::Request { tls, pdu } = phase else {
            return None;
        };
        let socket: TcpStream = stream.into();
        if let Err(e) = socket.set_nonblocking(false) {
            span.in_scope(|| warn!("cannot hand the connection over: {e}"));
            return None;
        }
        let local = socket.local_addr().ok();
        let stream = match tls {
            None => Accepted::Plain(socket),
            Some(conn) => Accepted::Tls(Box::new(TlsStream {
                conn: *conn,
                sock: socket,
            })),
        };
        Some(Ready {
            stream,
            peer,
            local,
            request: pdu,
            tls: tls_info,
            span,
        })
    }
}

/// The PDU type and length of a complete 6-byte header.
fn header(pdu: &[u8]) -> (u8, u32) {
    match pdu {
        [kind, _, a, b, c, d, ..] => (*kind, u32::from_be_bytes([*a, *b, *c, *d])),
        _ => (0, 0),
    }
}

/// How many bytes of the first PDU are still missing.
fn missing(pdu: &[u8]) -> usize {
    if pdu.len() < 6 {
        return 6 - pdu.len();
    }
    let (_, length) = header(pdu);
    (6 + length as usize).saturating_sub(pdu.len())
}

/// Accepts connections and watches them until each request has arrived, handing every
/// complete one to `admit`, until `stop` is set (and the poll woken).
pub(crate) fn run(
    poll: &mut Poll,
    listener: &mut TcpListener,
    pool: &mut Pool,
    stop: &AtomicBool,
    heartbeat: Option<&(dyn Fn() + Send + Sync)>,
    mut admit: impl FnMut(Ready),
) {
    let mut events = Events::with_capacity(256);
    let mut retry_accept: Option<Instant> = None;
    while !stop.load(Ordering::SeqCst) {
        let wake = match (pool.next_deadline, retry_accept) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let mut timeout = wake.map(|w| w.saturating_duration_since(Instant::now()));
        if let Some(beat) = heartbeat {
            beat();
            // The loop turns at least once a heartbeat period even when nothing happens.
            timeout = Some(timeout.map_or(HEARTBEAT_PERIOD, |t| t.min(HEARTBEAT_PERIOD)));
        }
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() != io::ErrorKind::Interrupted {
                warn!("cannot wait for connections: {e}");
                std::thread::sleep(ACCEPT_RETRY);
            }
            continue;
        }
        if stop.load(Ordering::SeqCst) {
            break;
        }
        let mut accept = retry_accept.is_some_and(|t| t <= Instant::now());
        for event in events.iter() {
            match event.token() {
                LISTENER => accept = true,
                WAKER => {}
                Token(token) => {
                    if let Some(ready) = pool.on_event(poll.registry(), token) {
                        admit(ready);
                    }
                }
            }
        }
        if accept {
            let mut ready = Vec::new();
            retry_accept = accept_all(listener, pool, poll.registry(), &mut ready);
            ready.into_iter().for_each(&mut admit);
        }
        pool.expire(poll.registry(), Instant::now());
    }
}

/// Accepts every connection waiting in the backlog, pushing the requests that are complete
/// already to `ready`; when `accept` fails, when to try again.
fn accept_all(
    listener: &TcpListener,
    pool: &mut Pool,
    registry: &Registry,
    ready: &mut Vec<Ready>,
) -> Option<Instant> {
    loop {
        match listener.accept() {
            Ok((stream, peer)) => pool.add(registry, stream, peer, ready),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                warn!("cannot accept a connection: {e}");
                return Some(Instant::now() + ACCEPT_RETRY);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_bytes_follow_the_header() {
        assert_eq!(missing(&[]), 6);
        assert_eq!(missing(&[1, 0, 0]), 3);
        assert_eq!(missing(&[1, 0, 0, 0, 0, 4]), 4);
        assert_eq!(missing(&[1, 0, 0, 0, 0, 4, 9, 9, 9, 9]), 0);
        assert_eq!(header(&[1, 0, 0, 1, 0, 0]), (1, 65536));
    }
}

//! One association, from the first byte to the close: association establishment with our own
//! negotiation, the DIMSE loop (C-ECHO, streaming C-STORE), release, abort and timeouts.
//!
//! Everything here runs on the association's own thread and is generic over the byte stream
//! ([`Transport`]), so that TLS can be added without touching it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use dicom_ul::pdu::{
    AssociationAC, AssociationRQ, MAXIMUM_PDU_SIZE, Pdu, PresentationContextResult,
    PresentationContextResultReason, RequestorRoles, UserVariableItem, read_pdu, write_pdu,
};
use tracing::{Level, Span, debug, debug_span, error, info, warn};

use crate::command::{self, Command, Response, field as command_field};
use crate::dimse_dump;
use crate::dump::{self, Kind, Ours, PeerItems};
use crate::gate::Gate;
use crate::negotiate::{self, Outcome, PcResult, clean_uid};
use crate::observer::{
    AssociationEnd, AssociationObserver, EndReason, RejectReason, Rejection, StoreOutcome,
};
use crate::options::AcceptorOptions;
use crate::pending::{Accepted, Ready};
use crate::reload::PolicyCell;
use crate::sink::{
    AcceptedPresentationContext, AssociationInfo, SinkFactory, StoreRequest, StoreSink,
};
use crate::slots::Activity;
use crate::status::StoreStatus;
use crate::tls::TlsInfo;
use crate::wire::{
    self, A_ABORT, A_RELEASE_RP, PduReader, ReadDeadline, ReadError, Transport, pdu_type,
};

/// The DICOM application context name (PS3.7 A.2.1).
const APPLICATION_CONTEXT: &str = "1.2.840.10008.3.1.1.1";
/// The largest command set we reassemble; real ones are about 200 bytes.
const MAX_COMMAND_LENGTH: usize = 64 * 1024;
/// DCMTK's ASC_MAXIMUMPDUSIZE, used for the Max Send PDV computation.
const DCMTK_MAXIMUM_PDU: u32 = 131_072;
/// DCMTK's fallback PDV length when the peer's maximum is unusable (4096 - 12).
const DCMTK_DEFAULT_PDV: u32 = 4084;
/// How long the send side may block before we give up on a peer that stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(60);

/// What an association thread needs from the server.
pub(crate) struct Context {
    pub(crate) options: AcceptorOptions,
    pub(crate) sinks: Arc<dyn SinkFactory>,
    /// Set when the shutdown deadline has passed: in-flight associations are aborted.
    pub(crate) aborting: Arc<AtomicBool>,
    /// The profile and access control new associations are negotiated with.
    pub(crate) policy: Arc<PolicyCell>,
    /// Bounds how many requests are parsed and negotiated at once.
    pub(crate) gate: Gate,
    /// The origin of the association activity clocks.
    pub(crate) epoch: Instant,
    /// `max_associations_per_ae`: the associations of each calling AE title.
    pub(crate) per_ae: Option<Arc<crate::ae_limit::AeLimit>>,
}

/// A connection whose A-ASSOCIATE-RQ has arrived.
pub(crate) struct Connection<S> {
    pub(crate) stream: S,
    pub(crate) id: u64,
    pub(crate) peer: SocketAddr,
    pub(crate) local: Option<SocketAddr>,
    /// The association limit was reached when this request arrived: reject it.
    pub(crate) over_limit: bool,
    /// What the TLS handshake negotiated (`None` on plain TCP).
    pub(crate) tls: Option<TlsInfo>,
    /// How long this association has been waiting for its peer, for the acceptor.
    pub(crate) activity: Arc<Activity>,
}

/// Serves one connection whose request has arrived (and whose TLS handshake, if any, is done)
/// to the end.
pub(crate) fn run(ready: Ready, id: u64, over_limit: bool, activity: Arc<Activity>, ctx: &Context) {
    let Ready {
        stream,
        peer,
        local,
        request,
        tls,
        span,
    } = ready;
    let _entered = span.enter();
    wire::configure_socket(stream.socket(), WRITE_TIMEOUT, ctx.options.tcp_quickack);
    match stream {
        Accepted::Plain(stream) => {
            let conn = Connection {
                stream,
                id,
                peer,
                local,
                over_limit,
                tls,
                activity,
            };
            serve_connection(conn, request, ctx, &span);
        }
        Accepted::Tls(stream) => {
            let conn = Connection {
                stream: *stream,
                id,
                peer,
                local,
                over_limit,
                tls,
                activity,
            };
            serve_connection(conn, request, ctx, &span);
        }
    }
}

/// Negotiates the request and serves the association on an established transport.
fn serve_connection<S: Transport>(
    mut conn: Connection<S>,
    request: Vec<u8>,
    ctx: &Context,
    span: &Span,
) {
    let options = &ctx.options;
    // Before the gate: a slow name server holds only this thread.
    let host = if options.host_lookup {
        dns_lookup::lookup_addr(&conn.peer.ip()).unwrap_or_else(|_| conn.peer.ip().to_string())
    } else {
        conn.peer.ip().to_string()
    };
    let outcome = {
        let _permit = ctx.gate.enter();
        match parse_request(&request) {
            // The parsed request and its bytes are dropped here, with the permit: an
            // established association keeps only what it negotiated.
            Some(rq) => establish(&mut conn, rq, &host, ctx, span),
            None => {
                let rejection = Rejection::new(RejectReason::Malformed, conn.peer, "", "");
                options.observer.association_rejected(&rejection);
                Err(Refused::Abort)
            }
        }
    };
    drop(request);
    match outcome {
        Ok(established) => {
            // The peer's turn starts with our A-ASSOCIATE-AC, not when this thread reads.
            conn.activity.waiting(established.started);
            let reader = PduReader::new(options.max_pdu, options.tcp_quickack)
                .with_activity(Arc::clone(&conn.activity));
            serve(conn, reader, established, ctx);
        }
        Err(Refused::Rejected) => close_after(&mut conn.stream, options.acse_timeout),
        Err(Refused::Abort) => abort(&mut conn, ctx),
        Err(Refused::Gone) => conn.stream.close(),
    }
}

/// Parses the A-ASSOCIATE-RQ the pending pool collected (within the bounds of `bounds.rs`);
/// `None` (logged) when it is malformed.
fn parse_request(pdu: &[u8]) -> Option<AssociationRQ> {
    // Non-strict: our maximum PDU does not apply to the request (DCMTK accepts a request
    // longer than its maximum PDU).
    match read_pdu(pdu, MAXIMUM_PDU_SIZE, false) {
        Ok(Some(Pdu::AssociationRQ(rq))) => Some(rq),
        Ok(_) => {
            error!("Could not receive association request: incomplete A-ASSOCIATE-RQ");
            None
        }
        Err(e) => {
            error!(
                "Could not receive association request: {}",
                snafu::Report::from_error(e)
            );
            None
        }
    }
}

/// How a request ended without an association.
enum Refused {
    /// A-ASSOCIATE-RJ sent: wait for the peer to close.
    Rejected,
    /// Abort (A-ABORT, then wait for the peer to close).
    Abort,
    /// The connection is gone.
    Gone,
}

/// The state of an established association.
struct Established {
    info: Arc<AssociationInfo>,
    /// Largest PDV payload we send.
    max_send_pdv: usize,
    started: Instant,
    /// This association's place in its calling AE title's count, given back when it ends.
    _ae_claim: Option<crate::ae_limit::AeClaim>,
}

/// Checks the request in DCMTK's order and answers it, negotiating with the current profile
/// and access control. The request is consumed: nothing of it outlives the A-ASSOCIATE-AC but
/// what [`AssociationInfo`] keeps.
fn establish<S: Transport>(
    conn: &mut Connection<S>,
    rq: AssociationRQ,
    host: &str,
    ctx: &Context,
    span: &Span,
) -> Result<Established, Refused> {
    let options = &ctx.options;
    let policy = ctx.policy.current();
    let rq = &rq;
    let peer_addr = conn.peer;
    let rejected = |reason: RejectReason| {
        let rejection = Rejection::new(
            reason,
            peer_addr,
            rq.calling_ae_title.trim(),
            rq.called_ae_title.trim(),
        );
        options.observer.association_rejected(&rejection);
    };
    if rq.protocol_version & 1 == 0 {
        error!(
            "Could not receive association request: DUL Unsupported peer protocol {:04x}; expected 0001 in parseAssociate",
            rq.protocol_version
        );
        rejected(RejectReason::ProtocolVersion);
        return Err(reject(conn, 1, 2, 2));
    }
    span.record("calling", rq.calling_ae_title.as_str());
    span.record("called", rq.called_ae_title.as_str());
    info!(
        "Association Received {host}: {} -> {}",
        rq.calling_ae_title, rq.called_ae_title
    );
    let peer = PeerItems::from_rq(rq);
    debug!(
        implementation_class_uid = peer.implementation_class_uid.as_deref().unwrap_or(""),
        implementation_version_name = peer.implementation_version_name.as_deref().unwrap_or(""),
        max_pdu = peer.max_pdu.unwrap_or(0),
        "peer implementation"
    );
    let ours = Ours {
        implementation_class_uid: &options.implementation_class_uid,
        implementation_version_name: &options.implementation_version_name,
        max_pdu: options.max_pdu,
        uid_names: options.uid_names,
    };
    emit_dump(options.verbose_pc, || {
        format!(
            "Incoming Association Request:\n{}",
            dump::render(Kind::Rq, rq, None, &ours)
        )
    });

    if clean_uid(&rq.application_context_name) != APPLICATION_CONTEXT {
        info!("Refusing Association (bad application context)");
        rejected(RejectReason::ApplicationContext);
        return Err(reject(conn, 2, 1, 2));
    }
    if conn.over_limit {
        warn!(
            "Refusing Association (too many concurrent associations, the limit is {})",
            options.max_associations
        );
        rejected(RejectReason::TooManyAssociations);
        return Err(reject(conn, 2, 3, 2));
    }
    let ae_claim = match &ctx.per_ae {
        Some(limit) => match limit.claim(rq.calling_ae_title.trim()) {
            Some(claim) => Some(claim),
            None => {
                warn!(
                    "Refusing Association (too many concurrent associations from calling AE title {}, the limit is {})",
                    rq.calling_ae_title.trim(),
                    limit.limit()
                );
                rejected(RejectReason::TooManyAssociationsForAe);
                // PS3.8 Table 9-21: rejected-transient, service-provider (presentation),
                // local-limit-exceeded.
                return Err(reject(conn, 2, 3, 2));
            }
        },
        None => None,
    };
    let access = crate::access::AccessRequest::new(
        &rq.calling_ae_title,
        &rq.called_ae_title,
        &options.ae_title,
        conn.peer,
    )
    .with_tls(conn.tls.as_ref());
    if let Err(denied) = policy.access_control.check(&access) {
        warn!("Refusing Association ({})", denied.text());
        rejected(RejectReason::AccessDenied);
        return Err(reject(conn, 1, 1, denied.reason()));
    }
    let outcome = negotiate::negotiate(rq, &policy.profile);
    if !outcome.any_accepted() {
        info!("No Acceptable Presentation Contexts");
        emit_dump(options.verbose_pc, || {
            dump::render(Kind::Rj, rq, Some(&outcome), &ours)
        });
        info!("Refusing Association (no acceptable presentation contexts)");
        rejected(RejectReason::NoPresentationContexts);
        return Err(reject(conn, 1, 1, 1));
    }
    // DCMTK cannot build an A-ASSOCIATE-AC for blank AE titles and never answers
    // (measured); we reject cleanly instead.
    if rq.called_ae_title.trim().is_empty() {
        error!("Illegal service parameter: Called AP Title");
        rejected(RejectReason::BlankAeTitle);
        return Err(reject(conn, 1, 1, 7));
    }
    if rq.calling_ae_title.trim().is_empty() {
        error!("Illegal service parameter: Calling AP Title");
        rejected(RejectReason::BlankAeTitle);
        return Err(reject(conn, 1, 1, 3));
    }

    let peer_max = peer.max_pdu.unwrap_or(0);
    let (logged_pdv, max_send_pdv) = max_send_pdv(peer_max);
    let ac = build_ac(rq, &outcome, options);
    let mut bytes = Vec::with_capacity(512);
    if let Err(e) = write_pdu(&mut bytes, &Pdu::AssociationAC(ac)) {
        error!(
            "cannot encode the A-ASSOCIATE-AC: {}",
            snafu::Report::from_error(e)
        );
        return Err(Refused::Abort);
    }
    // Taken before the A-ASSOCIATE-AC leaves, so that an association established after this one
    // (its peer may be this peer, reacting to the AC) never counts as waiting for longer.
    let started = Instant::now();
    if let Err(e) = wire::send(&mut conn.stream, &bytes) {
        warn!("cannot send the A-ASSOCIATE-AC: {e}");
        return Err(Refused::Gone);
    }
    info!("Association Acknowledged (Max Send PDV: {logged_pdv})");
    emit_dump(options.verbose_pc, || {
        dump::render(Kind::Ac, rq, Some(&outcome), &ours)
    });

    let info = AssociationInfo {
        id: conn.id,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        peer_addr: conn.peer,
        peer_host: host.to_string(),
        local_addr: conn.local,
        peer_implementation_class_uid: peer.implementation_class_uid,
        peer_implementation_version_name: peer.implementation_version_name,
        peer_max_pdu: peer_max,
        max_pdu: options.max_pdu,
        presentation_contexts: outcome
            .contexts
            .iter()
            .filter(|c| c.accepted())
            .map(|c| AcceptedPresentationContext {
                id: c.id,
                abstract_syntax: c.abstract_syntax.clone(),
                transfer_syntax: c.transfer_syntax.clone(),
            })
            .collect(),
        tls: conn.tls.take(),
    };
    Ok(Established {
        info: Arc::new(info),
        max_send_pdv,
        started,
        _ae_claim: ae_claim,
    })
}

/// DCMTK's "Max Send PDV" (measured): the value it logs, and the PDV payload size we
/// actually use (which also respects a peer maximum below DCMTK's fallback).
fn max_send_pdv(peer_max: u32) -> (i64, usize) {
    let mut length = if peer_max == 0 || peer_max > DCMTK_MAXIMUM_PDU {
        DCMTK_MAXIMUM_PDU
    } else {
        peer_max
    };
    if length % 2 == 1 {
        warn!(
            "ASSOC: PDV send length {length} is odd (using {})",
            length - 1
        );
        length -= 1;
    }
    let pdv = i64::from(length) - 12;
    let logged = if pdv <= 0 {
        warn!("ASSOC: PDV send length {pdv} (using default)");
        i64::from(DCMTK_DEFAULT_PDV)
    } else if pdv < 12 {
        warn!("ASSOC: PDV send length too small, using DUL to split larger PDVs.");
        i64::from(DCMTK_DEFAULT_PDV)
    } else {
        pdv
    };
    // A PDV must fit into one of the peer's PDUs; send at least 2 bytes per PDV in any case.
    let usable = if peer_max == 0 {
        logged
    } else {
        logged.min(i64::from(peer_max) - 12)
    };
    (logged, usize::try_from(usable.max(2)).unwrap_or(2))
}

fn build_ac(
    rq: &dicom_ul::pdu::AssociationRQ,
    outcome: &Outcome,
    options: &AcceptorOptions,
) -> AssociationAC {
    let presentation_contexts = outcome
        .contexts
        .iter()
        .map(|c| PresentationContextResult {
            id: c.id,
            reason: match c.result {
                PcResult::Acceptance => PresentationContextResultReason::Acceptance,
                PcResult::NoReason => PresentationContextResultReason::NoReason,
                PcResult::AbstractSyntaxNotSupported => {
                    PresentationContextResultReason::AbstractSyntaxNotSupported
                }
                PcResult::TransferSyntaxesNotSupported => {
                    PresentationContextResultReason::TransferSyntaxesNotSupported
                }
            },
            transfer_syntax: c.transfer_syntax.clone(),
        })
        .collect();
    let mut user_variables = vec![
        UserVariableItem::MaxLength(options.max_pdu),
        UserVariableItem::ImplementationClassUID(options.implementation_class_uid.clone()),
        UserVariableItem::ImplementationVersionName(options.implementation_version_name.clone()),
    ];
    user_variables.extend(outcome.roles.iter().map(|(uid, scu, scp)| {
        UserVariableItem::ScuScpRoleSelectionSubItem(
            uid.clone(),
            RequestorRoles {
                scu: *scu,
                scp: *scp,
            },
        )
    }));
    user_variables.extend(outcome.extended_negotiation.iter().map(|(uid, data)| {
        UserVariableItem::SopClassExtendedNegotiationSubItem(uid.clone(), data.clone())
    }));
    AssociationAC {
        protocol_version: 1,
        calling_ae_title: rq.calling_ae_title.clone(),
        called_ae_title: rq.called_ae_title.clone(),
        application_context_name: APPLICATION_CONTEXT.to_string(),
        presentation_contexts,
        user_variables,
    }
}

/// Emits a dump at INFO (`verbose_pc`) or DEBUG, building it only when it will be shown.
fn emit_dump(verbose_pc: bool, render: impl FnOnce() -> String) {
    if verbose_pc {
        if tracing::enabled!(Level::INFO) {
            info!("{}", render());
        }
    } else if tracing::enabled!(Level::DEBUG) {
        debug!("{}", render());
    }
}

/// Sends A-ASSOCIATE-RJ (PS3.8 9.3.4).
fn reject<S: Transport>(conn: &mut Connection<S>, result: u8, source: u8, reason: u8) -> Refused {
    debug!(result, source, reason, "sending A-ASSOCIATE-RJ");
    match wire::send(
        &mut conn.stream,
        &wire::associate_rj(result, source, reason),
    ) {
        Ok(()) => Refused::Rejected,
        Err(e) => {
            debug!("cannot send A-ASSOCIATE-RJ: {e}");
            Refused::Gone
        }
    }
}

/// Sends our A-ABORT and waits for the peer to close.
fn abort<S: Transport>(conn: &mut Connection<S>, ctx: &Context) {
    if wire::send(&mut conn.stream, &A_ABORT).is_ok() {
        close_after(&mut conn.stream, ctx.options.acse_timeout);
    } else {
        conn.stream.close();
    }
}

/// After our A-ASSOCIATE-RJ, A-RELEASE-RP or A-ABORT: wait up to `timeout` for the peer to
/// close the connection (PS3.8 Sta13, ARTIM), discarding whatever it still sends, then close.
fn close_after<S: Transport>(stream: &mut S, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    let mut buf = [0u8; 512];
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() || stream.socket().set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        }
    }
    stream.close();
}

/// How the DIMSE phase ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// A-RELEASE-RQ answered.
    Released,
    /// The peer sent A-ABORT or closed the connection.
    PeerAborted,
    /// We abort: protocol error, oversized PDU, unsupported command.
    Abort,
    /// The DIMSE timeout expired.
    TimedOut,
    /// The server's shutdown deadline passed.
    Shutdown,
    /// Writing to the peer failed: the connection is gone.
    WriteFailed,
    /// Aborted after idling with every slot taken, to admit a new association.
    MadeWay,
}

impl End {
    fn reason(self) -> EndReason {
        match self {
            End::Released => EndReason::Released,
            End::PeerAborted => EndReason::PeerAborted,
            End::Abort => EndReason::Aborted,
            End::TimedOut => EndReason::TimedOut,
            End::Shutdown => EndReason::Shutdown,
            End::WriteFailed => EndReason::ConnectionLost,
            End::MadeWay => EndReason::MadeWay,
        }
    }

    fn name(self) -> &'static str {
        self.reason().name()
    }
}

/// The association-level failures of DIMSE processing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// Abort the association (logged already).
    Abort,
    /// The connection cannot be written to.
    WriteFailed,
}

/// The DIMSE receive state.
enum State {
    /// Waiting for a command.
    Idle,
    /// Command fragments received so far.
    Command { pc: u8, bytes: Vec<u8> },
    /// A C-STORE data set is streaming to its sink.
    DataSet(Box<Transfer>),
}

/// One C-STORE in progress.
struct Transfer {
    pc: u8,
    message_id: u16,
    sop_class_uid: String,
    sop_instance_uid: String,
    /// Priority and move originator, for the DIMSE dump.
    priority: u16,
    move_originator_ae_title: Option<String>,
    move_originator_message_id: Option<u16>,
    sink: Option<Box<dyn StoreSink>>,
    /// The status to answer with when the sink was refused or failed.
    failure: Option<StoreStatus>,
    bytes: u64,
    span: Span,
    /// The request, kept for the association observer (only when there is one).
    observed: Option<StoreRequest>,
    /// When the C-STORE-RQ command was complete.
    started: Instant,
}

impl Transfer {
    /// DCMTK's dump of the C-STORE-RQ this transfer answers (at DEBUG).
    fn dump_request(&self, names: Option<crate::options::UidNames>) {
        if tracing::enabled!(Level::DEBUG) {
            let rq = dimse_dump::StoreRq {
                presentation_context_id: self.pc,
                message_id: self.message_id,
                sop_class_uid: &self.sop_class_uid,
                sop_instance_uid: &self.sop_instance_uid,
                priority: self.priority,
                move_originator_ae_title: self.move_originator_ae_title.as_deref(),
                move_originator_message_id: self.move_originator_message_id,
            };
            debug!("{}", dimse_dump::c_store_rq(&rq, names));
        }
    }

    fn abort_sink(&mut self) {
        if let Some(sink) = self.sink.take() {
            sink.abort();
        }
    }
}

impl Drop for Transfer {
    /// A sink is always finished or aborted, whichever way a transfer ends.
    fn drop(&mut self) {
        self.abort_sink();
    }
}

/// The DIMSE service provider of one association.
struct Dimse<'a> {
    ctx: &'a Context,
    assoc: &'a Established,
    activity: &'a Activity,
    state: State,
    objects: u64,
    failed: u64,
    data_set_bytes: u64,
    /// Watches this association, when the acceptor's observer asked to.
    observer: Option<Box<dyn AssociationObserver>>,
}

fn serve<S: Transport>(
    mut conn: Connection<S>,
    mut reader: PduReader,
    established: Established,
    ctx: &Context,
) {
    let options = &ctx.options;
    // The DIMSE timeout is a deadline for each whole PDU, kept by the reader; without one,
    // reads block until a PDU arrives or the acceptor shuts the socket down.
    let within = match options.dimse_timeout {
        Some(timeout) => ReadDeadline::PerPdu(timeout),
        None => {
            if conn.stream.socket().set_read_timeout(None).is_err() {
                warn!("cannot clear the socket's read timeout");
            }
            ReadDeadline::SocketTimeout
        }
    };
    let activity = Arc::clone(&conn.activity);
    let mut dimse = Dimse {
        ctx,
        assoc: &established,
        activity: &activity,
        state: State::Idle,
        objects: 0,
        failed: 0,
        data_set_bytes: 0,
        observer: options.observer.association_started(&established.info),
    };
    let end = loop {
        if ctx.aborting.load(Ordering::SeqCst) {
            break End::Shutdown;
        }
        let header = match reader.read_header(&mut conn.stream, within) {
            Ok(header) => header,
            Err(e) => break dimse.read_failed(e),
        };
        match header.pdu_type {
            pdu_type::P_DATA_TF => {
                if header.length > options.max_pdu {
                    error!(
                        "DUL Illegal PDU Length {}.  Max expected {}",
                        header.length, options.max_pdu
                    );
                    break End::Abort;
                }
                let body = match reader.read_body(&mut conn.stream, header.length, within) {
                    Ok(body) => body,
                    Err(e) => break dimse.read_failed(e),
                };
                match dimse.on_p_data(body, &mut conn.stream) {
                    Ok(()) => {}
                    Err(Stop::Abort) => break End::Abort,
                    Err(Stop::WriteFailed) => break End::WriteFailed,
                }
            }
            pdu_type::RELEASE_RQ => {
                if header.length > options.max_pdu
                    || reader
                        .skip_body(&mut conn.stream, header.length, within)
                        .is_err()
                {
                    break End::Abort;
                }
                info!("Received Association Release Request");
                if dimse.in_progress() {
                    warn!("A-RELEASE-RQ received in the middle of a DIMSE message");
                }
                dimse.abandon("the peer released the association");
                if wire::send(&mut conn.stream, &A_RELEASE_RP).is_err() {
                    break End::WriteFailed;
                }
                break End::Released;
            }
            pdu_type::ABORT => {
                // Its 4-byte body says nothing we act on; the association is over anyway.
                info!("Received Association Abort Request");
                break End::PeerAborted;
            }
            other => {
                if !(pdu_type::ASSOCIATE_RQ..=pdu_type::ABORT).contains(&other) {
                    // DCMTK's condition chain for a PDU type PS3.8 does not define.
                    debug!(
                        "DIMSE Error, detail (if available): 0006:020d DIMSE Failed to receive message\n0006:020c DIMSE Read PDV failed\n0006:0321 Unrecognized PDU type: {other:2x}"
                    );
                }
                warn!(
                    pdu_type = other,
                    "unexpected PDU type 0x{other:02x} on an established association: aborting"
                );
                break End::Abort;
            }
        }
    };
    dimse.abandon(match end {
        End::Released => "the peer released the association",
        End::PeerAborted => "the peer aborted the association",
        End::Abort => "the association was aborted",
        End::TimedOut => "the DIMSE timeout expired",
        End::Shutdown => "the server is shutting down",
        End::WriteFailed => "the connection was lost",
        End::MadeWay => "the association made way for a new one",
    });
    // The association is over once it ended on the wire; the tear-down wait below is not part
    // of it.
    let summary = || {
        let seconds = established.started.elapsed().as_secs_f64();
        let megabytes = dimse.data_set_bytes as f64 / 1e6;
        info!(
            objects = dimse.objects,
            failed = dimse.failed,
            bytes = dimse.data_set_bytes,
            seconds,
            end = end.name(),
            "association finished ({}): {} objects ({} failed), {:.1} MB in {:.3} s ({:.1} MB/s)",
            end.name(),
            dimse.objects,
            dimse.failed,
            megabytes,
            seconds,
            megabytes / seconds.max(1e-6),
        );
    };
    if let Some(observer) = dimse.observer.take() {
        observer.ended(&AssociationEnd {
            reason: end.reason(),
            objects: dimse.objects,
            failed: dimse.failed,
            bytes: dimse.data_set_bytes,
            duration: established.started.elapsed(),
        });
    }
    match end {
        End::Released => {
            summary();
            close_after(&mut conn.stream, options.acse_timeout);
        }
        End::Abort | End::TimedOut => {
            let sent = wire::send(&mut conn.stream, &A_ABORT).is_ok();
            summary();
            if sent {
                close_after(&mut conn.stream, options.acse_timeout);
            } else {
                conn.stream.close();
            }
        }
        End::MadeWay => {
            // Its slot is taken already: no wait for the peer to close.
            let _ = wire::send(&mut conn.stream, &A_ABORT);
            summary();
            conn.stream.close();
        }
        End::Shutdown => {
            warn!("aborting the association: the server is shutting down");
            let _ = wire::send(&mut conn.stream, &A_ABORT);
            summary();
            conn.stream.close();
        }
        End::PeerAborted | End::WriteFailed => {
            summary();
            conn.stream.close();
        }
    }
}

impl Dimse<'_> {
    fn calling(&self) -> &str {
        &self.assoc.info.calling_ae_title
    }

    fn called(&self) -> &str {
        &self.assoc.info.called_ae_title
    }

    fn in_progress(&self) -> bool {
        !matches!(self.state, State::Idle)
    }

    fn context(&self, pc: u8) -> Option<&AcceptedPresentationContext> {
        self.assoc
            .info
            .presentation_contexts
            .iter()
            .find(|c| c.id == pc)
    }

    /// Maps a read failure to how the association ends.
    fn read_failed(&self, e: ReadError) -> End {
        if self.ctx.aborting.load(Ordering::SeqCst) {
            return End::Shutdown;
        }
        if self.activity.is_evicted() {
            warn!(
                "aborting the association: it was idle for longer than the ACSE timeout ({} s) with every association slot taken, to admit a new association",
                self.ctx.options.acse_timeout.as_secs()
            );
            return End::MadeWay;
        }
        match e {
            ReadError::TimedOut => {
                debug!(
                    "DIMSE Error, detail (if available): 0006:0207 DIMSE No data available (timeout in non-blocking mode)"
                );
                warn!(
                    "no PDU from the peer within the DIMSE timeout ({} s): aborting the association",
                    self.ctx.options.dimse_timeout.unwrap_or_default().as_secs()
                );
                End::TimedOut
            }
            ReadError::Closed | ReadError::Io { .. } => {
                // DCMTK logs a closed or reset connection like an A-ABORT.
                info!("Received Association Abort Request");
                End::PeerAborted
            }
        }
    }

    /// Drops a C-STORE that will not complete: its sink is aborted and no response is sent.
    fn abandon(&mut self, why: &str) {
        if let State::DataSet(transfer) = &mut self.state {
            transfer.dump_request(self.ctx.options.uid_names);
            error!(
                "Unable to receive C-STORE dataset on presentation context {}",
                transfer.pc
            );
            debug!(message_id = transfer.message_id, "object abandoned: {why}");
            transfer.abort_sink();
            if let (Some(observer), Some(request)) =
                (self.observer.as_mut(), transfer.observed.take())
            {
                let outcome = StoreOutcome {
                    status: StoreStatus::out_of_resources(format!("not completed: {why}")),
                    receipt: None,
                    bytes: transfer.bytes,
                    duration: transfer.started.elapsed(),
                    responded: false,
                };
                observer.store_done(&request, &outcome);
            }
        }
        self.state = State::Idle;
    }

    fn on_p_data<S: Transport>(&mut self, body: &[u8], stream: &mut S) -> Result<(), Stop> {
        for pdv in wire::Pdvs::new(body) {
            let pdv = pdv.map_err(|bad| {
                warn!(
                    "malformed presentation data value at offset {} of a P-DATA-TF PDU: aborting",
                    bad.offset
                );
                Stop::Abort
            })?;
            let state = std::mem::replace(&mut self.state, State::Idle);
            self.state = match (state, pdv.is_command) {
                (State::Idle, true) => {
                    if self.context(pdv.presentation_context_id).is_none() {
                        warn!(
                            "DIMSE command on presentation context {}, which was not accepted: aborting",
                            pdv.presentation_context_id
                        );
                        return Err(Stop::Abort);
                    }
                    self.command_fragment(pdv.presentation_context_id, Vec::new(), pdv, stream)?
                }
                (State::Command { pc, bytes }, true) => {
                    if pdv.presentation_context_id != pc {
                        warn!(
                            "command fragments on presentation contexts {pc} and {}: aborting",
                            pdv.presentation_context_id
                        );
                        return Err(Stop::Abort);
                    }
                    self.command_fragment(pc, bytes, pdv, stream)?
                }
                (State::Idle | State::Command { .. }, false) => {
                    warn!("data set PDV received where a command was expected: aborting");
                    return Err(Stop::Abort);
                }
                (State::DataSet(transfer), true) => {
                    warn!("command PDV received inside a data set: aborting");
                    // `abandon` (after the loop) aborts the sink.
                    self.state = State::DataSet(transfer);
                    return Err(Stop::Abort);
                }
                (State::DataSet(transfer), false) => {
                    if pdv.presentation_context_id != transfer.pc {
                        error!(
                            "Presentation Context ID of command ({}) and data set ({}) differs",
                            transfer.pc, pdv.presentation_context_id
                        );
                        // `abandon` (after the loop) aborts the sink.
                        self.state = State::DataSet(transfer);
                        return Err(Stop::Abort);
                    }
                    self.data_fragment(transfer, pdv.data, pdv.is_last, stream)?
                }
            };
        }
        Ok(())
    }

    fn command_fragment<S: Transport>(
        &mut self,
        pc: u8,
        mut bytes: Vec<u8>,
        pdv: wire::Pdv<'_>,
        stream: &mut S,
    ) -> Result<State, Stop> {
        if bytes.len() + pdv.data.len() > MAX_COMMAND_LENGTH {
            warn!("DIMSE command longer than {MAX_COMMAND_LENGTH} bytes: aborting");
            return Err(Stop::Abort);
        }
        bytes.extend_from_slice(pdv.data);
        if !pdv.is_last {
            return Ok(State::Command { pc, bytes });
        }
        let command = command::parse(&bytes).map_err(|e| {
            warn!(
                "DIMSE Warning: ({},{}): cannot parse the command set: {e}",
                self.calling(),
                self.called()
            );
            Stop::Abort
        })?;
        match command.command_field {
            Some(command_field::C_ECHO_RQ) => self.c_echo(pc, &command, stream),
            Some(command_field::C_STORE_RQ) => self.c_store(pc, command),
            Some(other) => {
                error!(
                    "cannot handle this kind of DIMSE command (0x{other:04x}), we are a Storage SCP only"
                );
                Err(Stop::Abort)
            }
            None => {
                warn!(
                    "DIMSE Warning: ({},{}): command set without Command Field",
                    self.calling(),
                    self.called()
                );
                Err(Stop::Abort)
            }
        }
    }

    fn c_echo<S: Transport>(
        &mut self,
        pc: u8,
        command: &Command,
        stream: &mut S,
    ) -> Result<State, Stop> {
        let Some(message_id) = command.message_id else {
            warn!(
                "DIMSE Warning: ({},{}): C-Echo RQ: MessageID missing",
                self.calling(),
                self.called()
            );
            return Err(Stop::Abort);
        };
        let _span = debug_span!("dimse", msg_id = message_id).entered();
        if command.has_data_set() {
            warn!(
                "DIMSE Warning: ({},{}): C-Echo RQ: DataSetType != NULL",
                self.calling(),
                self.called()
            );
            return Err(Stop::Abort);
        }
        // DCMTK's DcmSCP shows the message ID in the INFO line, or at DEBUG the whole message.
        let dumps = tracing::enabled!(Level::DEBUG);
        if dumps {
            info!("Received C-ECHO Request");
            debug!(
                "{}",
                dimse_dump::c_echo_rq(pc, message_id, command.has_data_set())
            );
        } else {
            info!("Received C-ECHO Request (MsgID {message_id})");
        }
        let response = Response {
            command_field: command_field::C_ECHO_RSP,
            message_id_being_responded_to: message_id,
            affected_sop_class_uid: command.affected_sop_class_uid.as_deref().unwrap_or(""),
            status: 0x0000,
            error_comment: None,
            affected_sop_instance_uid: None,
        };
        if dumps {
            info!("Sending C-ECHO Response");
        } else {
            info!("Sending C-ECHO Response (Success)");
        }
        self.send(stream, pc, &response)?;
        debug!("C-ECHO Response successfully sent");
        Ok(State::Idle)
    }

    fn c_store(&mut self, pc: u8, command: Command) -> Result<State, Stop> {
        let Some(message_id) = command.message_id else {
            warn!(
                "DIMSE Warning: ({},{}): C-Store RQ: MessageID missing",
                self.calling(),
                self.called()
            );
            return Err(Stop::Abort);
        };
        let span = debug_span!("dimse", msg_id = message_id);
        let _entered = span.enter();
        if !command.has_data_set() {
            warn!(
                "DIMSE Warning: ({},{}): C-Store RQ: DataSetType == NULL",
                self.calling(),
                self.called()
            );
            return Err(Stop::Abort);
        }
        let sop_instance_uid = command.affected_sop_instance_uid.unwrap_or_default();
        if sop_instance_uid.is_empty() || sop_instance_uid.len() > 64 {
            warn!(
                "DIMSE Warning: ({},{}): C-Store RQ: AffectedSOPInstanceUID: bad size",
                self.calling(),
                self.called()
            );
            return Err(Stop::Abort);
        }
        if tracing::enabled!(Level::DEBUG) {
            // The message itself is dumped once its data set has arrived, as DCMTK does.
            info!("Received C-STORE Request");
        } else {
            info!("Received C-STORE Request (MsgID {message_id})");
        }
        let Some(context) = self.context(pc) else {
            // Checked when the first command fragment arrived.
            return Err(Stop::Abort);
        };
        let request = StoreRequest {
            sop_class_uid: command.affected_sop_class_uid.unwrap_or_default(),
            sop_instance_uid,
            transfer_syntax_uid: context.transfer_syntax.clone(),
            abstract_syntax_uid: context.abstract_syntax.clone(),
            presentation_context_id: pc,
            message_id,
            priority: command.priority.unwrap_or(0),
            move_originator_ae_title: command.move_originator_ae_title,
            move_originator_message_id: command.move_originator_message_id,
            association: Arc::clone(&self.assoc.info),
        };
        let observed = self.observer.is_some().then(|| request.clone());
        let (sink, failure) = match self.ctx.sinks.begin(&request) {
            Ok(sink) => (Some(sink), None),
            Err(status) => {
                debug!(
                    status = status.code(),
                    comment = status.comment().unwrap_or(""),
                    "sink refused the object; its data set will be discarded"
                );
                (None, Some(status))
            }
        };
        drop(_entered);
        Ok(State::DataSet(Box::new(Transfer {
            pc,
            message_id,
            sop_class_uid: request.sop_class_uid,
            sop_instance_uid: request.sop_instance_uid,
            priority: request.priority,
            move_originator_ae_title: request.move_originator_ae_title,
            move_originator_message_id: request.move_originator_message_id,
            sink,
            failure,
            bytes: 0,
            span,
            observed,
            started: Instant::now(),
        })))
    }

    fn data_fragment<S: Transport>(
        &mut self,
        mut transfer: Box<Transfer>,
        data: &[u8],
        is_last: bool,
        stream: &mut S,
    ) -> Result<State, Stop> {
        let span = transfer.span.clone();
        let _entered = span.enter();
        transfer.bytes += data.len() as u64;
        self.data_set_bytes += data.len() as u64;
        if let Some(sink) = transfer.sink.as_mut() {
            if let Err(status) = sink.write(data) {
                debug!(
                    status = status.code(),
                    comment = status.comment().unwrap_or(""),
                    "sink failed; the rest of the data set will be discarded"
                );
                transfer.abort_sink();
                transfer.failure = Some(status);
            }
        }
        if !is_last {
            return Ok(State::DataSet(transfer));
        }
        debug!("Received dataset on presentation context {}", transfer.pc);
        transfer.dump_request(self.ctx.options.uid_names);
        let mut receipt = None;
        let status = if transfer.bytes == 0 {
            warn!("received an empty data set");
            transfer.abort_sink();
            StoreStatus::cannot_understand("empty data set")
        } else if let Some(sink) = transfer.sink.take() {
            let (status, returned) = sink.finish_with_receipt();
            receipt = returned;
            status
        } else {
            transfer
                .failure
                .take()
                .unwrap_or_else(|| StoreStatus::out_of_resources("object refused"))
        };
        if status.is_failure() {
            self.failed += 1;
        } else {
            self.objects += 1;
        }
        let comment = status.wire_comment();
        let response = Response {
            command_field: command_field::C_STORE_RSP,
            message_id_being_responded_to: transfer.message_id,
            affected_sop_class_uid: &transfer.sop_class_uid,
            status: status.code(),
            error_comment: comment.as_deref(),
            affected_sop_instance_uid: Some(&transfer.sop_instance_uid),
        };
        if tracing::enabled!(Level::DEBUG) {
            info!("Sending C-STORE Response");
            let rsp = dimse_dump::StoreRsp {
                presentation_context_id: transfer.pc,
                message_id_being_responded_to: transfer.message_id,
                sop_class_uid: &transfer.sop_class_uid,
                sop_instance_uid: &transfer.sop_instance_uid,
                status: status.code(),
            };
            debug!(
                "{}",
                dimse_dump::c_store_rsp(&rsp, self.ctx.options.uid_names)
            );
        } else {
            info!("Sending C-STORE Response ({})", status.display_name());
        }
        let sent = self.send(stream, transfer.pc, &response);
        if let (Some(observer), Some(request)) = (self.observer.as_mut(), transfer.observed.take())
        {
            let outcome = StoreOutcome {
                status,
                receipt,
                bytes: transfer.bytes,
                duration: transfer.started.elapsed(),
                responded: sent.is_ok(),
            };
            observer.store_done(&request, &outcome);
        }
        sent?;
        Ok(State::Idle)
    }

    fn send<S: Transport>(
        &self,
        stream: &mut S,
        pc: u8,
        response: &Response<'_>,
    ) -> Result<(), Stop> {
        wire::send_command(stream, pc, &response.encode(), self.assoc.max_send_pdv).map_err(|e| {
            warn!("cannot send the DIMSE response: {e}");
            Stop::WriteFailed
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_send_pdv_matches_dcmtk() {
        // Measured against dcmrecv 3.6.7.
        let cases: &[(u32, i64)] = &[
            (0, 131_060),
            (200_000, 131_060),
            (10, 4084),
            (12, 4084),
            (13, 4084),
            (14, 4084),
            (20, 4084),
            (24, 12),
            (26, 14),
            (100, 88),
            (101, 88),
            (1000, 988),
            (1023, 1010),
            (16382, 16370),
            (16383, 16370),
            (16384, 16372),
        ];
        for &(peer, logged) in cases {
            assert_eq!(max_send_pdv(peer).0, logged, "peer max {peer}");
        }
        assert_eq!(max_send_pdv(20).1, 8);
        assert_eq!(max_send_pdv(16384).1, 16372);
        assert_eq!(max_send_pdv(0).1, 131_060);
    }
}

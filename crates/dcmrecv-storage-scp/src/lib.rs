//! A DICOM association acceptor and Verification/Storage SCP, built on dicom-ul's PDU layer,
//! that negotiates like DCMTK's `dcmrecv` and streams every received data set to a sink of
//! yours.
//!
//! You configure an [`AcceptorOptions`] (negotiation [`Profile`](dcmrecv_asconfig::Profile),
//! limits, timeouts, identity, hooks), [`bind`](AcceptorOptions::bind) it with a
//! [`SinkFactory`], and call [`Acceptor::serve`]. Each C-STORE's data set goes to the
//! [`StoreSink`] the factory returns, PDV by PDV, as it arrives; the status the sink returns is
//! the C-STORE response.
//!
//! To watch rather than store (events, hooks, metrics), give the options an [`Observer`]
//! ([`AcceptorOptions::observer`]): it hears of every rejected request, every established
//! association (returning an [`AssociationObserver`] for it), every C-STORE after its response
//! was written, with the [`Receipt`] its sink returned from
//! [`StoreSink::finish_with_receipt`], and every association's end. A listener bound by
//! someone else (systemd socket activation) is served with [`AcceptorOptions::from_listener`].
//!
//! # Example
//!
//! A receiver that hashes every object instead of storing it, answering a C-ECHO:
//!
//! ```
//! use std::sync::{Arc, Mutex};
//! use std::time::Duration;
//!
//! use dcmrecv_asconfig::{PresentationContext, Profile};
//! use dcmrecv_storage_scp::{AcceptorOptions, StoreRequest, StoreSink, StoreStatus};
//!
//! /// FNV-1a over the data set bytes, computed as they stream in.
//! struct HashingSink {
//!     sop_instance_uid: String,
//!     hash: u64,
//!     received: Arc<Mutex<Vec<(String, u64)>>>,
//! }
//!
//! impl StoreSink for HashingSink {
//!     fn write(&mut self, chunk: &[u8]) -> Result<(), StoreStatus> {
//!         for &byte in chunk {
//!             self.hash = (self.hash ^ u64::from(byte)).wrapping_mul(0x100_0000_01b3);
//!         }
//!         Ok(())
//!     }
//!     fn finish(self: Box<Self>) -> StoreStatus {
//!         let mut received = self.received.lock().expect("not poisoned");
//!         received.push((self.sop_instance_uid, self.hash));
//!         StoreStatus::success()
//!     }
//!     fn abort(self: Box<Self>) {}
//! }
//!
//! let profile = Profile::verification_only().with_presentation_context(PresentationContext {
//!     abstract_syntax: "1.2.840.10008.5.1.4.1.1.2".into(), // CT Image Storage
//!     transfer_syntaxes: vec!["1.2.840.10008.1.2.1".into(), "1.2.840.10008.1.2".into()],
//! });
//! let received = Arc::new(Mutex::new(Vec::new()));
//! let sinks = {
//!     let received = Arc::clone(&received);
//!     move |request: &StoreRequest| -> Result<Box<dyn StoreSink>, StoreStatus> {
//!         Ok(Box::new(HashingSink {
//!             sop_instance_uid: request.sop_instance_uid.clone(),
//!             hash: 0xcbf2_9ce4_8422_2325,
//!             received: Arc::clone(&received),
//!         }))
//!     }
//! };
//! let acceptor = AcceptorOptions::new()
//!     .profile(profile)
//!     .host_lookup(false)
//!     .bind("127.0.0.1:0", sinks)?;
//! let addr = acceptor.local_addr();
//! let stop = acceptor.shutdown_handle();
//! let server = std::thread::spawn(move || acceptor.serve());
//!
//! // Any DICOM peer can talk to `addr` now; here dicom-ul's own client opens an association.
//! let association = dicom_ul::ClientAssociationOptions::new()
//!     .with_abstract_syntax("1.2.840.10008.1.1")
//!     .establish(addr)?;
//! association.release()?;
//!
//! stop.shutdown(Duration::from_secs(5));
//! server.join().map_err(|_| "server thread panicked")?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - **DCMTK's negotiation** (DCMTK's `asconfig.txt`): each proposed
//!   presentation context is decided on its own, in request order; the *profile's*
//!   transfer-syntax order wins (unless the profile says
//!   [`TransferSyntaxPreference::Requestor`](dcmrecv_asconfig::TransferSyntaxPreference)); results 0, 2, 3 and 4 as DCMTK gives them, including its
//!   SCP/SCU role-selection behaviour; extended negotiation from the profile; A-ASSOCIATE-RJ
//!   (1, 1, 1) when nothing is acceptable; protocol-version (1, 2, 2) and application-context
//!   (2, 1, 2) checks. dicom-ul's `ServerAssociationOptions` cannot express this (one global
//!   transfer-syntax list, the requestor's order), so the acceptor reads the A-ASSOCIATE-RQ with
//!   dicom-ul's PDU parser and negotiates itself.
//! - **Streaming**: data PDVs are sliced out of one reused buffer the size of our maximum PDU
//!   and handed to the sink; a data set is never assembled here, so memory per association is
//!   about one maximum-size PDU plus a 64 KiB read-ahead, whatever the object size.
//! - **Concurrency**: one thread per association up to
//!   [`max_associations`](AcceptorOptions::max_associations) (default 64), counted once the
//!   A-ASSOCIATE-RQ has arrived. When every slot is taken, the association that has been
//!   waiting for its peer longest, if longer than the ACSE timeout, is aborted to admit the new
//!   one; otherwise A-ASSOCIATE-RJ (2, 3, 2: local limit exceeded). A slow or silent peer only
//!   affects its own association. DCMTK serialises all associations. Optionally per calling
//!   AE title too ([`max_associations_per_ae`](AcceptorOptions::max_associations_per_ae)),
//!   answered with the same A-ASSOCIATE-RJ, so one modality cannot take every slot.
//! - **A pool for connections that have not sent their request yet**, watched by the thread
//!   that runs [`Acceptor::serve`] with non-blocking sockets (mio): the TLS handshake and the
//!   whole A-ASSOCIATE-RQ must arrive within the
//!   [`pending_timeout`](AcceptorOptions::pending_timeout); at most
//!   [`max_pending`](AcceptorOptions::max_pending) such connections (default 512), at most
//!   [`max_pending_per_address`](AcceptorOptions::max_pending_per_address) (32) from one source
//!   address; beyond, the oldest is closed. Hundreds of silent sockets or stalled TLS
//!   handshakes hold no slot and no thread, and legitimate peers are served meanwhile.
//! - **Bounded requests**: an A-ASSOCIATE-RQ of at most 1 MiB, 128 presentation contexts, 50
//!   transfer syntaxes per context, 64-byte UIDs and 512 user information sub-items (DCMTK's
//!   limits where it has one), checked before it is parsed; beyond, A-ASSOCIATE-RJ (1, 2, 1).
//!   The parsed request is dropped once the association is negotiated, and only a few are
//!   negotiated at once, so memory stays bounded however many requests arrive together.
//! - **Graceful shutdown**: [`ShutdownHandle::shutdown`] stops accepting and drains in-flight
//!   associations until a deadline, then aborts them (sinks aborted).
//! - **Failures stay per object**: when [`SinkFactory::begin`] or [`StoreSink::write`] fails,
//!   the rest of that data set is discarded, the C-STORE is answered with the sink's status and
//!   an Error Comment, and the association continues.
//! - **Timeouts**: ACSE (for the whole request, and for the peer to close after our
//!   RJ/RP/A-ABORT) and an optional DIMSE timeout, a deadline for each whole PDU (a peer that
//!   sends one byte at a time is cut when it is up; the socket timeout is set only when the
//!   deadline needs it, not per read). `TCP_NODELAY` on; `TCP_QUICKACK` re-armed around reads
//!   on Linux so that Nagle-enabled senders (DCMTK by default) do not stall.
//! - **Reload** ([`ReloadHandle`]): the profile and the access control can be swapped while
//!   serving, atomically, for associations negotiated afterwards.
//! - **TLS** ([`AcceptorOptions::tls`], DICOM PS3.15 Annex B) on rustls with a
//!   [`rustls::ServerConfig`] of yours: the handshake runs in the pending pool within its
//!   deadline, a failed one (plain-TCP client, missing or untrusted client
//!   certificate) ends only that connection with DCMTK's log line
//!   `Could not receive association request: TLS error: <reason>`, and the negotiated
//!   protocol, cipher suite and client certificate reach access controls and sinks as
//!   [`TlsInfo`]. No OpenSSL.
//! - **Access control hook** ([`AccessControl`], [`AeTitleAllowList`]) answering with
//!   A-ASSOCIATE-RJ reasons 3 or 7; by default nothing is checked, as in DCMTK.
//!
//! # Logging
//!
//! Events go through `tracing`; nothing is printed. Each association runs in an
//! `info_span!("association", peer, calling, called)`, each DIMSE message in a
//! `debug_span!("dimse", msg_id)`. Where DCMTK logs an event, the message is DCMTK's text, e.g.
//! `Association Received <host>: <calling> -> <called>`, `Association Acknowledged (Max Send
//! PDV: <n>)`, `Received C-STORE Request (MsgID <n>)`, `Sending C-STORE Response (Success)`,
//! `Received Association Release Request`, `Received Association Abort Request`,
//! `cannot handle this kind of DIMSE command (0x0020), we are a Storage SCP only`.
//! The A-ASSOCIATE-RQ/AC/RJ dumps are one event each with a multi-line message, at DEBUG, or
//! at INFO with [`verbose_pc`](AcceptorOptions::verbose_pc). As in DCMTK's `DcmSCP`, when
//! DEBUG is enabled the DIMSE messages are dumped instead of summarised: `Received C-STORE
//! Request` and `Sending C-STORE Response` lose their `(MsgID <n>)` and `(<status>)`, and DEBUG
//! events carry DCMTK's `INCOMING DIMSE MESSAGE` (C-ECHO-RQ, C-STORE-RQ once its data set has
//! arrived) and `OUTGOING DIMSE MESSAGE` (C-STORE-RSP, with `DIMSE Status: 0x0000: Success`)
//! blocks. A PDU type PS3.8 does not define is logged in hexadecimal, as DCMTK does
//! (`Unrecognized PDU type: 47`). Every established association
//! ends with one INFO event `association finished (<end>): <n> objects (<f> failed), <MB> MB in
//! <s> s (<MB/s> MB/s)`, also carrying the structured fields `objects`, `failed`,
//! `bytes` (data set bytes), `seconds` and `end` (`released`, `peer aborted`, `aborted`, `timed
//! out`, `shut down`, `connection lost`).
//!
//! # Differences from DCMTK
//!
//! - Blank AE titles get A-ASSOCIATE-RJ (1, 1, 7 or 3) instead of no answer at all.
//! - After our A-ASSOCIATE-RJ or A-RELEASE-RP we wait at most the ACSE timeout for the peer to
//!   close, not DCMTK's hard-coded 180 s (which blocks every other client there).
//! - The DIMSE timeout bounds each whole PDU; DCMTK's applies only between PDUs.
//! - A request beyond the bounds above is rejected; DCMTK never answers one with more than 50
//!   transfer syntaxes in a context or a UID longer than 64 bytes, and accepts any number of
//!   presentation contexts (duplicate and even IDs too) and user information sub-items.
//! - Command and data PDVs of any length are accepted (DCMTK aborts on odd fragment lengths),
//!   and an association whose transfer syntax DCMTK cannot decode is still served: the sink
//!   sees the transfer syntax UID and decides.
//! - A failing sink gets a failure status and the association continues (DCMTK's `+B`
//!   aborts), and failures carry an Error Comment (0000,0902).

mod access;
mod ae_limit;
mod association;
mod bounds;
mod command;
mod dimse_dump;
mod dump;
#[doc(hidden)]
pub mod fuzzing;
mod gate;
mod negotiate;
mod observer;
mod options;
mod pending;
mod reload;
mod server;
mod sink;
mod slots;
mod status;
mod tls;
mod wire;

pub use access::{AcceptAny, AccessControl, AccessDenied, AccessRequest, AeTitleAllowList};
pub use observer::{
    AssociationEnd, AssociationObserver, EndReason, Observer, Observers, Receipt, RejectReason,
    Rejection, StoreOutcome,
};
pub use options::{
    AcceptorOptions, DEFAULT_ACSE_TIMEOUT, DEFAULT_IMPLEMENTATION_CLASS_UID,
    DEFAULT_IMPLEMENTATION_VERSION_NAME, DEFAULT_MAX_ASSOCIATIONS, DEFAULT_MAX_PDU,
    DEFAULT_MAX_PENDING, DEFAULT_MAX_PENDING_PER_ADDRESS, DEFAULT_PENDING_TIMEOUT, Error,
    MAX_MAX_PDU, MIN_MAX_PDU, UidNames,
};
pub use pending::HEARTBEAT_PERIOD;
pub use reload::ReloadHandle;
pub use server::{Acceptor, ShutdownHandle};
pub use sink::{
    AcceptedPresentationContext, AssociationInfo, SinkFactory, StoreRequest, StoreSink,
};
pub use status::StoreStatus;
pub use tls::TlsInfo;

/// The rustls this crate is built with, for [`AcceptorOptions::tls`]'s configuration.
pub use rustls;

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

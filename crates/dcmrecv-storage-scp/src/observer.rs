//! The observer contract: what happens to associations and objects, told to whoever watches
//! (events, hooks, metrics) after it happened.
//!
//! The [`SinkFactory`](crate::SinkFactory) decides where data goes; an [`Observer`] only
//! watches. Its calls come from the acceptor's threads at defined points:
//!
//! - [`Observer::association_rejected`]: an A-ASSOCIATE-RJ was sent (or the request was
//!   refused without one), from the association's thread;
//! - [`Observer::association_started`]: the A-ASSOCIATE-AC was sent; it may return an
//!   [`AssociationObserver`] for this association, which then gets
//! - [`AssociationObserver::store_done`] for each C-STORE, **after** its C-STORE-RSP was
//!   written (or could not be), on the association's thread, and
//! - [`AssociationObserver::ended`] once, when the association is over on the wire.
//!
//! Calls run on the association's thread: an observer that blocks holds that association (and
//! only that one). Queue slow work (hooks, network sinks) elsewhere.

use std::any::Any;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::sink::{AssociationInfo, StoreRequest};
use crate::status::StoreStatus;

/// What a sink hands its observer about a finished object (for example the file it wrote);
/// the observer downcasts it to the type its own sink produces.
pub type Receipt = Box<dyn Any + Send>;

/// Watches an acceptor's associations. Every method has an empty default.
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use dcmrecv_storage_scp::{AssociationInfo, AssociationObserver, Observer, Rejection};
///
/// #[derive(Default)]
/// struct Counts { rejected: AtomicU64, started: AtomicU64 }
///
/// impl Observer for Counts {
///     fn association_rejected(&self, _: &Rejection) {
///         self.rejected.fetch_add(1, Ordering::Relaxed);
///     }
///     fn association_started(&self, _: &Arc<AssociationInfo>) -> Option<Box<dyn AssociationObserver>> {
///         self.started.fetch_add(1, Ordering::Relaxed);
///         None
///     }
/// }
/// let options = dcmrecv_storage_scp::AcceptorOptions::new().observer(Counts::default());
/// # let _ = options;
/// ```
pub trait Observer: Send + Sync + 'static {
    /// An association request was refused (after it arrived; connections that never sent one
    /// are not associations).
    fn association_rejected(&self, rejection: &Rejection) {
        let _ = rejection;
    }

    /// An association was established (its A-ASSOCIATE-AC was sent). The returned observer,
    /// if any, watches this association's objects and its end.
    fn association_started(
        &self,
        info: &Arc<AssociationInfo>,
    ) -> Option<Box<dyn AssociationObserver>> {
        let _ = info;
        None
    }
}

/// Watches one association, from its A-ASSOCIATE-AC to its end.
///
/// ```
/// use dcmrecv_storage_scp::{AssociationEnd, AssociationObserver, StoreOutcome, StoreRequest};
///
/// struct Log(Vec<String>);
///
/// impl AssociationObserver for Log {
///     fn store_done(&mut self, request: &StoreRequest, outcome: &StoreOutcome) {
///         self.0.push(format!("{} {:04x}", request.sop_instance_uid, outcome.status.code()));
///     }
///     fn ended(self: Box<Self>, end: &AssociationEnd) {
///         assert!(end.objects as usize >= self.0.len() - end.failed as usize);
///     }
/// }
/// ```
pub trait AssociationObserver: Send {
    /// A C-STORE is over: its data set was stored (or refused) and its C-STORE-RSP was sent,
    /// unless [`StoreOutcome::responded`] is `false`.
    fn store_done(&mut self, request: &StoreRequest, outcome: &StoreOutcome) {
        let _ = (request, outcome);
    }

    /// The association is over on the wire (released, aborted, timed out, ...).
    fn ended(self: Box<Self>, end: &AssociationEnd) {
        let _ = end;
    }
}

/// How one C-STORE ended.
#[non_exhaustive]
#[derive(Debug)]
pub struct StoreOutcome {
    /// The status sent (or meant to be sent) in the C-STORE-RSP.
    pub status: StoreStatus,
    /// What the sink's [`finish_with_receipt`](crate::StoreSink::finish_with_receipt)
    /// returned (`None` when the sink was refused, failed, or returns none).
    pub receipt: Option<Receipt>,
    /// Data set bytes received.
    pub bytes: u64,
    /// From the C-STORE-RQ command to the C-STORE-RSP.
    pub duration: Duration,
    /// Whether the C-STORE-RSP was written to the connection.
    pub responded: bool,
}

impl StoreOutcome {
    /// An outcome with the given status, no receipt, no bytes, responded (for tests of
    /// observers).
    ///
    /// ```
    /// let o = dcmrecv_storage_scp::StoreOutcome::new(dcmrecv_storage_scp::StoreStatus::success());
    /// assert!(o.responded && o.status.is_success());
    /// ```
    pub fn new(status: StoreStatus) -> Self {
        StoreOutcome {
            status,
            receipt: None,
            bytes: 0,
            duration: Duration::ZERO,
            responded: true,
        }
    }
}

/// Why an association ended.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The peer released it (A-RELEASE-RQ answered).
    Released,
    /// The peer sent A-ABORT or closed the connection.
    PeerAborted,
    /// We aborted it (protocol error, oversized PDU, unsupported command).
    Aborted,
    /// The DIMSE timeout expired.
    TimedOut,
    /// The server shut down before the association ended.
    Shutdown,
    /// Writing to the peer failed.
    ConnectionLost,
    /// Aborted after idling with every slot taken, to admit another association.
    MadeWay,
}

impl EndReason {
    /// A short lower-case name (`released`, `peer aborted`, `aborted`, `timed out`,
    /// `shut down`, `connection lost`, `aborted to admit another`).
    ///
    /// ```
    /// assert_eq!(dcmrecv_storage_scp::EndReason::Released.name(), "released");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            EndReason::Released => "released",
            EndReason::PeerAborted => "peer aborted",
            EndReason::Aborted => "aborted",
            EndReason::TimedOut => "timed out",
            EndReason::Shutdown => "shut down",
            EndReason::ConnectionLost => "connection lost",
            EndReason::MadeWay => "aborted to admit another",
        }
    }

    /// Whether the association ended normally (released by the peer).
    ///
    /// ```
    /// assert!(!dcmrecv_storage_scp::EndReason::TimedOut.is_release());
    /// ```
    pub fn is_release(self) -> bool {
        self == EndReason::Released
    }
}

/// How an association ended, with its totals.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq)]
pub struct AssociationEnd {
    /// Why it ended.
    pub reason: EndReason,
    /// Objects answered with a success or warning status.
    pub objects: u64,
    /// Objects answered with a failure status.
    pub failed: u64,
    /// Data set bytes received.
    pub bytes: u64,
    /// From the A-ASSOCIATE-AC to the end.
    pub duration: Duration,
}

impl AssociationEnd {
    /// An end with the given reason and zero totals (for tests of observers).
    ///
    /// ```
    /// use dcmrecv_storage_scp::{AssociationEnd, EndReason};
    /// assert_eq!(AssociationEnd::new(EndReason::Released).objects, 0);
    /// ```
    pub fn new(reason: EndReason) -> Self {
        AssociationEnd {
            reason,
            objects: 0,
            failed: 0,
            bytes: 0,
            duration: Duration::ZERO,
        }
    }
}

/// Why an association request was refused.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RejectReason {
    /// The request could not be parsed, or broke a protocol rule (aborted, no RJ).
    Malformed,
    /// Unsupported protocol version.
    ProtocolVersion,
    /// Not the DICOM application context.
    ApplicationContext,
    /// Every association slot was taken.
    TooManyAssociations,
    /// The calling AE title had as many associations as
    /// [`AcceptorOptions::max_associations_per_ae`](crate::AcceptorOptions::max_associations_per_ae)
    /// allows.
    TooManyAssociationsForAe,
    /// The access control refused the AE titles, address or certificate.
    AccessDenied,
    /// No presentation context was acceptable.
    NoPresentationContexts,
    /// A blank called or calling AE title.
    BlankAeTitle,
}

impl RejectReason {
    /// A short kebab-case name for metrics labels and events (`malformed`,
    /// `protocol-version`, `application-context`, `too-many-associations`,
    /// `too-many-associations-for-ae`, `access-denied`,
    /// `no-presentation-contexts`, `blank-ae-title`).
    ///
    /// ```
    /// assert_eq!(dcmrecv_storage_scp::RejectReason::AccessDenied.name(), "access-denied");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            RejectReason::Malformed => "malformed",
            RejectReason::ProtocolVersion => "protocol-version",
            RejectReason::ApplicationContext => "application-context",
            RejectReason::TooManyAssociations => "too-many-associations",
            RejectReason::TooManyAssociationsForAe => "too-many-associations-for-ae",
            RejectReason::AccessDenied => "access-denied",
            RejectReason::NoPresentationContexts => "no-presentation-contexts",
            RejectReason::BlankAeTitle => "blank-ae-title",
        }
    }
}

/// A refused association request.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// Why.
    pub reason: RejectReason,
    /// The requestor's address.
    pub peer_addr: SocketAddr,
    /// The calling AE title (spaces removed); empty when the request could not be parsed.
    pub calling_ae_title: String,
    /// The called AE title (spaces removed); empty when the request could not be parsed.
    pub called_ae_title: String,
}

impl Rejection {
    /// A rejection (for tests of observers).
    ///
    /// ```
    /// use dcmrecv_storage_scp::{RejectReason, Rejection};
    /// let r = Rejection::new(RejectReason::AccessDenied, "127.0.0.1:1".parse().unwrap(), "A", "B");
    /// assert_eq!(r.calling_ae_title, "A");
    /// ```
    pub fn new(
        reason: RejectReason,
        peer_addr: SocketAddr,
        calling_ae_title: impl Into<String>,
        called_ae_title: impl Into<String>,
    ) -> Self {
        Rejection {
            reason,
            peer_addr,
            calling_ae_title: calling_ae_title.into(),
            called_ae_title: called_ae_title.into(),
        }
    }
}

/// Several observers as one, called in the order they were added (for example events, hooks
/// and metrics, each built by its own crate).
///
/// ```
/// use std::sync::Arc;
/// use dcmrecv_storage_scp::{Observer, Observers};
/// struct A;
/// impl Observer for A {}
/// let both = Observers::default().with(Arc::new(A)).with(Arc::new(A));
/// assert_eq!(both.len(), 2);
/// let options = dcmrecv_storage_scp::AcceptorOptions::new().observer(both);
/// # let _ = options;
/// ```
#[derive(Clone, Default)]
pub struct Observers {
    all: Vec<Arc<dyn Observer>>,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("len", &self.all.len())
            .finish()
    }
}

impl Observers {
    /// Adds `observer` after the others.
    pub fn with(mut self, observer: Arc<dyn Observer>) -> Self {
        self.all.push(observer);
        self
    }

    /// How many observers there are.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether there are none.
    ///
    /// ```
    /// assert!(dcmrecv_storage_scp::Observers::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }
}

impl Observer for Observers {
    fn association_rejected(&self, rejection: &Rejection) {
        for observer in &self.all {
            observer.association_rejected(rejection);
        }
    }

    fn association_started(
        &self,
        info: &Arc<AssociationInfo>,
    ) -> Option<Box<dyn AssociationObserver>> {
        let each: Vec<Box<dyn AssociationObserver>> = self
            .all
            .iter()
            .filter_map(|observer| observer.association_started(info))
            .collect();
        if each.is_empty() {
            None
        } else {
            Some(Box::new(EachAssociation(each)))
        }
    }
}

/// The association observers of [`Observers`].
struct EachAssociation(Vec<Box<dyn AssociationObserver>>);

impl AssociationObserver for EachAssociation {
    fn store_done(&mut self, request: &StoreRequest, outcome: &StoreOutcome) {
        for observer in &mut self.0 {
            observer.store_done(request, outcome);
        }
    }

    fn ended(self: Box<Self>, end: &AssociationEnd) {
        for observer in self.0 {
            observer.ended(end);
        }
    }
}

/// The observer of an acceptor built without one.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct NoObserver;

impl Observer for NoObserver {}

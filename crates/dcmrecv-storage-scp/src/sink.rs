//! The sink contract: how a received data set leaves the SCP.
//!
//! The SCP never assembles a data set. For each C-STORE it asks the [`SinkFactory`] for a
//! [`StoreSink`], hands it every data PDV payload in order, and answers the C-STORE with the
//! status the sink returns from [`StoreSink::finish`].

use std::net::SocketAddr;
use std::sync::Arc;

use crate::observer::Receipt;
use crate::status::StoreStatus;
use crate::tls::TlsInfo;

/// An accepted presentation context of an association.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedPresentationContext {
    /// Presentation context ID.
    pub id: u8,
    /// Abstract syntax (SOP class) UID.
    pub abstract_syntax: String,
    /// The negotiated transfer syntax UID.
    pub transfer_syntax: String,
}

impl AcceptedPresentationContext {
    /// An accepted presentation context (for tests of sinks and access controls).
    pub fn new(
        id: u8,
        abstract_syntax: impl Into<String>,
        transfer_syntax: impl Into<String>,
    ) -> Self {
        AcceptedPresentationContext {
            id,
            abstract_syntax: abstract_syntax.into(),
            transfer_syntax: transfer_syntax.into(),
        }
    }
}

/// What the SCP knows about an association (shared by all its C-STOREs).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssociationInfo {
    /// A number unique to this association within the process (counts from 1).
    pub id: u64,
    /// The requestor's AE title (leading and trailing spaces removed).
    pub calling_ae_title: String,
    /// The AE title the requestor called (leading and trailing spaces removed).
    pub called_ae_title: String,
    /// The requestor's address.
    pub peer_addr: SocketAddr,
    /// The requestor's host name as logged: reverse-resolved, or the IP address when host
    /// lookup is off (`-dhl`) or fails.
    pub peer_host: String,
    /// Our address on this connection.
    pub local_addr: Option<SocketAddr>,
    /// The requestor's Implementation Class UID, if it sent one.
    pub peer_implementation_class_uid: Option<String>,
    /// The requestor's Implementation Version Name, if it sent one.
    pub peer_implementation_version_name: Option<String>,
    /// The requestor's Maximum Length (largest P-DATA PDU it accepts); 0 = unlimited or absent.
    pub peer_max_pdu: u32,
    /// Our Maximum Length, as advertised in the A-ASSOCIATE-AC.
    pub max_pdu: u32,
    /// The accepted presentation contexts, in request order.
    pub presentation_contexts: Vec<AcceptedPresentationContext>,
    /// What TLS negotiated, including the client's certificate subject; `None` on plain TCP.
    pub tls: Option<TlsInfo>,
}

impl AssociationInfo {
    /// Association information with the given AE titles and peer address and defaults for the
    /// rest (for tests of sinks).
    pub fn new(
        calling_ae_title: impl Into<String>,
        called_ae_title: impl Into<String>,
        peer_addr: SocketAddr,
    ) -> Self {
        AssociationInfo {
            id: 0,
            calling_ae_title: calling_ae_title.into(),
            called_ae_title: called_ae_title.into(),
            peer_host: peer_addr.ip().to_string(),
            peer_addr,
            local_addr: None,
            peer_implementation_class_uid: None,
            peer_implementation_version_name: None,
            peer_max_pdu: 0,
            max_pdu: crate::options::DEFAULT_MAX_PDU,
            presentation_contexts: Vec::new(),
            tls: None,
        }
    }
}

/// One incoming C-STORE, from its command and the negotiated context.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreRequest {
    /// Affected SOP Class UID (0000,0002) of the command, padding removed; may be empty
    /// (DCMTK accepts that, and so do we).
    pub sop_class_uid: String,
    /// Affected SOP Instance UID (0000,1000), padding removed; never empty, at most 64
    /// characters.
    pub sop_instance_uid: String,
    /// The transfer syntax negotiated for the presentation context: the data set is encoded in it.
    pub transfer_syntax_uid: String,
    /// The abstract syntax of the presentation context the command came on. It need not equal
    /// `sop_class_uid` (DCMTK does not check; neither do we).
    pub abstract_syntax_uid: String,
    /// The presentation context ID.
    pub presentation_context_id: u8,
    /// Message ID (0000,0110).
    pub message_id: u16,
    /// Priority (0000,0700): 0 medium, 1 high, 2 low.
    pub priority: u16,
    /// Move Originator Application Entity Title (0000,1030), if present.
    pub move_originator_ae_title: Option<String>,
    /// Move Originator Message ID (0000,1031), if present.
    pub move_originator_message_id: Option<u16>,
    /// The association this C-STORE arrived on.
    pub association: Arc<AssociationInfo>,
}

impl StoreRequest {
    /// A request with the given UIDs on presentation context 1 with message ID 1 (for tests of
    /// sinks; set the other public fields as needed).
    pub fn new(
        sop_class_uid: impl Into<String>,
        sop_instance_uid: impl Into<String>,
        transfer_syntax_uid: impl Into<String>,
        association: Arc<AssociationInfo>,
    ) -> Self {
        let sop_class_uid = sop_class_uid.into();
        StoreRequest {
            abstract_syntax_uid: sop_class_uid.clone(),
            sop_class_uid,
            sop_instance_uid: sop_instance_uid.into(),
            transfer_syntax_uid: transfer_syntax_uid.into(),
            presentation_context_id: 1,
            message_id: 1,
            priority: 0,
            move_originator_ae_title: None,
            move_originator_message_id: None,
            association,
        }
    }
}

/// Creates a [`StoreSink`] for each incoming C-STORE.
///
/// Called on the association's own thread, once per C-STORE, after the command was validated
/// and before any data set byte is read. Returning `Err(status)` refuses the object: the SCP
/// reads and discards its data set, then answers with `status`; the association continues.
///
/// Closures `Fn(&StoreRequest) -> Result<Box<dyn StoreSink>, StoreStatus>` are factories too.
pub trait SinkFactory: Send + Sync + 'static {
    /// Starts receiving the object described by `request`.
    fn begin(&self, request: &StoreRequest) -> Result<Box<dyn StoreSink>, StoreStatus>;
}

impl<F> SinkFactory for F
where
    F: Fn(&StoreRequest) -> Result<Box<dyn StoreSink>, StoreStatus> + Send + Sync + 'static,
{
    fn begin(&self, request: &StoreRequest) -> Result<Box<dyn StoreSink>, StoreStatus> {
        self(request)
    }
}

/// Receives one data set as it arrives, PDV by PDV.
///
/// Exactly one of [`finish`](StoreSink::finish) and [`abort`](StoreSink::abort) is called,
/// once, after zero or more [`write`](StoreSink::write)s.
pub trait StoreSink: Send {
    /// Consumes the next data PDV payload (the data set bytes, in the negotiated transfer
    /// syntax, in order). The slice is only valid during the call.
    ///
    /// Returning `Err(status)` ends this object: the SCP calls [`abort`](StoreSink::abort),
    /// discards the rest of the data set and answers the C-STORE with `status`.
    fn write(&mut self, chunk: &[u8]) -> Result<(), StoreStatus>;

    /// Called after the last data PDV; the returned status is sent in the C-STORE-RSP. Once
    /// `finish` has run, the response is sent even if the server is shutting down.
    fn finish(self: Box<Self>) -> StoreStatus;

    /// [`finish`](StoreSink::finish), also returning what the
    /// [`AssociationObserver`](crate::AssociationObserver) should know about the stored object
    /// (for example its file name); the SCP calls this one. The default returns no receipt.
    fn finish_with_receipt(self: Box<Self>) -> (StoreStatus, Option<Receipt>) {
        (self.finish(), None)
    }

    /// Called instead of `finish` when the object will not be completed: the peer aborted or
    /// closed the connection, a timeout expired, a protocol error aborted the association, the
    /// server shut down, `write` failed, or the data set was empty. Undo any side effects.
    fn abort(self: Box<Self>);
}

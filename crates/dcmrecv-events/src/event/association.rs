//! Association events: started, rejected, ended.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{AssociationId, micros, rfc3339};

/// An association was accepted: the A-ASSOCIATE-AC has been sent.
///
/// ```
/// use std::time::SystemTime;
///
/// use dcmrecv_events::{AssociationId, AssociationStarted};
///
/// let started = AssociationStarted {
///     time: SystemTime::now(),
///     association: AssociationId(1),
///     peer: "10.0.0.7:51234".into(),
///     remote_host: "ct01.example".into(),
///     calling_ae: "CT01".into(),
///     called_ae: "ARCHIVE".into(),
///     tls: true,
/// };
/// assert_eq!(started.calling_ae, "CT01");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssociationStarted {
    /// When the association was accepted.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// The association's number.
    pub association: AssociationId,
    /// The peer's socket address, `ip:port`.
    pub peer: String,
    /// The peer's host name as resolved when the association arrived, or its IP address when
    /// host lookup is off or fails (what storescp's `#r` gives).
    pub remote_host: String,
    /// The requestor's AE title, leading and trailing spaces removed.
    pub calling_ae: String,
    /// The AE title the requestor called, leading and trailing spaces removed.
    pub called_ae: String,
    /// Whether the association runs over TLS.
    pub tls: bool,
}

/// Why an association request was turned down. Written in JSON in kebab case
/// (`"called-ae-not-recognized"`).
///
/// ```
/// use dcmrecv_events::RejectReason;
///
/// assert_eq!(RejectReason::CalledAeNotRecognized.as_str(), "called-ae-not-recognized");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RejectReason {
    /// The called AE title is not ours (PS3.8 Table 9-21: service user, reason 7).
    CalledAeNotRecognized,
    /// The calling AE title is not allowed (service user, reason 3).
    CallingAeNotRecognized,
    /// The application context is not the DICOM one (service user, reason 2).
    ApplicationContextNotSupported,
    /// The protocol version is not supported (service provider ACSE, reason 2).
    ProtocolVersionNotSupported,
    /// Too many associations at once (service provider presentation, reason 1 or 2).
    TooManyAssociations,
    /// The receiver refuses every association (storescp's `--refuse`).
    Refused,
    /// A rule of the receiver rejected it without a more specific reason (service user,
    /// reason 1).
    NoReasonGiven,
    /// The TLS handshake failed, so no A-ASSOCIATE-RQ was read.
    TlsHandshakeFailed,
    /// The request could not be parsed; the connection was aborted.
    MalformedRequest,
    /// The peer closed the connection or timed out before sending a complete request.
    NoRequest,
}

impl RejectReason {
    /// The kebab-case name written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::CalledAeNotRecognized => "called-ae-not-recognized",
            RejectReason::CallingAeNotRecognized => "calling-ae-not-recognized",
            RejectReason::ApplicationContextNotSupported => "application-context-not-supported",
            RejectReason::ProtocolVersionNotSupported => "protocol-version-not-supported",
            RejectReason::TooManyAssociations => "too-many-associations",
            RejectReason::Refused => "refused",
            RejectReason::NoReasonGiven => "no-reason-given",
            RejectReason::TlsHandshakeFailed => "tls-handshake-failed",
            RejectReason::MalformedRequest => "malformed-request",
            RejectReason::NoRequest => "no-request",
        }
    }
}

/// An association request was turned down (A-ASSOCIATE-RJ sent), or the connection ended
/// before an association was established. Useful for metrics per reason.
///
/// ```
/// use std::time::SystemTime;
///
/// use dcmrecv_events::{AssociationRejected, RejectReason};
///
/// let rejected = AssociationRejected {
///     time: SystemTime::now(),
///     association: None,
///     peer: "10.0.0.9:40000".into(),
///     remote_host: "10.0.0.9".into(),
///     calling_ae: Some("UNKNOWN".into()),
///     called_ae: Some("WRONG".into()),
///     reason: RejectReason::CalledAeNotRecognized,
///     result: Some(1),
///     source: Some(1),
///     diagnostic: Some(7),
/// };
/// assert_eq!(rejected.reason.as_str(), "called-ae-not-recognized");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssociationRejected {
    /// When it was rejected.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// The number the SCP gave the connection, if it gives numbers to rejected ones.
    pub association: Option<AssociationId>,
    /// The peer's socket address, `ip:port`.
    pub peer: String,
    /// The peer's host name, or its IP address (as in [`AssociationStarted::remote_host`]).
    pub remote_host: String,
    /// The calling AE title, if a request was read.
    pub calling_ae: Option<String>,
    /// The called AE title, if a request was read.
    pub called_ae: Option<String>,
    /// Why.
    pub reason: RejectReason,
    /// The A-ASSOCIATE-RJ Result field (1 permanent, 2 transient), if one was sent.
    pub result: Option<u8>,
    /// The A-ASSOCIATE-RJ Source field (1 service user, 2 ACSE provider, 3 presentation
    /// provider), if one was sent.
    pub source: Option<u8>,
    /// The A-ASSOCIATE-RJ Reason/Diag. field (PS3.8 Table 9-21), if one was sent.
    pub diagnostic: Option<u8>,
}

/// How an accepted association ended. Written in JSON in kebab case.
///
/// ```
/// use dcmrecv_events::EndReason;
///
/// assert_eq!(EndReason::AbortedByPeer.as_str(), "aborted-by-peer");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EndReason {
    /// The peer asked for a release and we answered it.
    Released,
    /// The peer sent an A-ABORT.
    AbortedByPeer,
    /// We aborted it (a protocol error, a bad PDU, a failed write of a response).
    Aborted,
    /// The connection closed or was reset without a release or abort.
    ConnectionClosed,
    /// A timeout (network, DIMSE or ACSE) expired.
    Timeout,
    /// The server shut down.
    Shutdown,
}

impl EndReason {
    /// The kebab-case name written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Released => "released",
            EndReason::AbortedByPeer => "aborted-by-peer",
            EndReason::Aborted => "aborted",
            EndReason::ConnectionClosed => "connection-closed",
            EndReason::Timeout => "timeout",
            EndReason::Shutdown => "shutdown",
        }
    }
}

/// An accepted association ended.
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// use dcmrecv_events::{AssociationEnded, AssociationId, EndReason};
///
/// let ended = AssociationEnded {
///     time: SystemTime::now(),
///     association: AssociationId(1),
///     peer: "127.0.0.1:40000".into(),
///     calling_ae: "STORESCU".into(),
///     called_ae: "DCMRECV".into(),
///     reason: EndReason::Released,
///     detail: None,
///     stored: 12,
///     failed: 0,
///     bytes: 6_291_456,
///     duration: Duration::from_millis(850),
/// };
/// assert_eq!(ended.stored + ended.failed, 12);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AssociationEnded {
    /// When it ended.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// The association's number.
    pub association: AssociationId,
    /// The peer's socket address, `ip:port`.
    pub peer: String,
    /// The requestor's AE title.
    pub calling_ae: String,
    /// The AE title the requestor called.
    pub called_ae: String,
    /// How it ended.
    pub reason: EndReason,
    /// A human-readable detail (the error), if any.
    pub detail: Option<String>,
    /// Instances stored on it (success or warning status).
    pub stored: u64,
    /// C-STOREs answered with a failure status or not completed.
    pub failed: u64,
    /// Data set bytes received on it.
    pub bytes: u64,
    /// How long it lasted, from acceptance to end; JSON `duration_us` (microseconds).
    #[serde(rename = "duration_us", serialize_with = "micros")]
    pub duration: Duration,
}

//! The event model: one [`Event`] per thing a receiver did that someone downstream may care
//! about, as plain Rust values.
//!
//! The JSON shape of each event (what [`JsonLinesWriter`](crate::JsonLinesWriter) writes) is
//! derived from these types with serde: an `"event"` field naming the kind in kebab case, then
//! the payload's fields in snake case, in declaration order. The crate documentation has the
//! field table.

mod association;
mod instance;
mod study;

use std::fmt;
use std::time::SystemTime;

use serde::{Serialize, Serializer};

pub use self::association::{
    AssociationEnded, AssociationRejected, AssociationStarted, EndReason, RejectReason,
};
pub use self::instance::{InstanceFailed, InstanceStored};
pub use self::study::{CompletionReason, StudyComplete};

/// A number unique to one association within a process (the SCP counts from 1).
///
/// It ties an [`InstanceStored`] to its [`AssociationStarted`] and [`AssociationEnded`].
///
/// ```
/// use dcmrecv_events::AssociationId;
///
/// assert_eq!(AssociationId(7).to_string(), "7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct AssociationId(pub u64);

impl fmt::Display for AssociationId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Something a receiver did: an association started, was rejected or ended, an instance was
/// stored or failed, a study is complete.
///
/// ```
/// use std::time::SystemTime;
///
/// use dcmrecv_events::{AssociationId, AssociationStarted, Event};
///
/// let event = Event::AssociationStarted(AssociationStarted {
///     time: SystemTime::UNIX_EPOCH,
///     association: AssociationId(1),
///     peer: "127.0.0.1:40000".into(),
///     remote_host: "localhost".into(),
///     calling_ae: "STORESCU".into(),
///     called_ae: "DCMRECV".into(),
///     tls: false,
/// });
/// assert_eq!(event.kind(), "association-started");
/// assert_eq!(
///     serde_json::to_string(&event)?,
///     r#"{"event":"association-started","time":"1970-01-01T00:00:00.000Z","association":1,"peer":"127.0.0.1:40000","remote_host":"localhost","calling_ae":"STORESCU","called_ae":"DCMRECV","tls":false}"#
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    /// An association was accepted (A-ASSOCIATE-AC sent).
    AssociationStarted(AssociationStarted),
    /// An association request was turned down, or the connection was dropped before one.
    AssociationRejected(AssociationRejected),
    /// An instance was stored under its final name and a success or warning status is being
    /// sent.
    InstanceStored(InstanceStored),
    /// A C-STORE was answered with a failure status, or could not be completed.
    InstanceFailed(InstanceFailed),
    /// A study is considered complete (see [`StudyTracker`](crate::StudyTracker) for the rule).
    StudyComplete(StudyComplete),
    /// An accepted association ended (released, aborted, lost, timed out or shut down).
    AssociationEnded(AssociationEnded),
}

impl Event {
    /// The event's kind as written in the JSON `"event"` field (`"instance-stored"`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            Event::AssociationStarted(_) => "association-started",
            Event::AssociationRejected(_) => "association-rejected",
            Event::InstanceStored(_) => "instance-stored",
            Event::InstanceFailed(_) => "instance-failed",
            Event::StudyComplete(_) => "study-complete",
            Event::AssociationEnded(_) => "association-ended",
        }
    }

    /// When it happened.
    pub fn time(&self) -> SystemTime {
        match self {
            Event::AssociationStarted(e) => e.time,
            Event::AssociationRejected(e) => e.time,
            Event::InstanceStored(e) => e.time,
            Event::InstanceFailed(e) => e.time,
            Event::StudyComplete(e) => e.time,
            Event::AssociationEnded(e) => e.time,
        }
    }
}

/// Writes a time as RFC 3339 in UTC with milliseconds (`2026-01-31T12:00:00.123Z`).
pub(crate) fn rfc3339<S: Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    let time: chrono::DateTime<chrono::Utc> = (*time).into();
    s.collect_str(&time.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// Writes a duration in whole microseconds.
pub(crate) fn micros<S: Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::rfc3339;

    #[test]
    fn times_are_utc_with_milliseconds() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_790_000_000_123);
        let mut out = Vec::new();
        rfc3339(&t, &mut serde_json::Serializer::new(&mut out)).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\"2026-09-21T14:13:20.123Z\""
        );
    }
}

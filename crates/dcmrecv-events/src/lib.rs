//! What a DICOM receiver did, as events: associations started, rejected and ended, instances
//! stored and failed, studies complete — as plain Rust values, through a sink trait, as JSON
//! lines, and with a study-completion tracker that works with concurrent senders.
//!
//! The crate knows nothing about the network or file layout: a receiver (the `dcmrecv` binary,
//! or your program embedding `dcmrecv-storage-scp`) builds the [`Event`]s and hands them to an
//! [`EventSink`]. Sinks here: [`JsonLinesWriter`] (`--events FILE`), [`StudyWatch`] (end of
//! study), [`FanOut`] (several at once); `dcmrecv-hooks` runs commands from them.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//! use std::time::{Duration, SystemTime};
//!
//! use dcmrecv_events::{
//!     AssociationEnded, AssociationId, EndReason, Event, EventSink, FanOut, InstanceStored,
//!     JsonLinesWriter, StudyWatch, TrackerOptions,
//! };
//!
//! // Events go to a JSON-lines log; the study watch reports completed studies to it too.
//! let json = Arc::new(JsonLinesWriter::new(Vec::<u8>::new()));
//! let watch = Arc::new(StudyWatch::start(TrackerOptions::new(), json.clone()));
//! let sinks = FanOut::new().with(json.clone()).with(watch.clone());
//!
//! let association = AssociationId(1);
//! sinks.event(&Event::InstanceStored(InstanceStored {
//!     time: SystemTime::now(),
//!     association,
//!     peer: "127.0.0.1:40000".into(),
//!     remote_host: "localhost".into(),
//!     calling_ae: "STORESCU".into(),
//!     called_ae: "DCMRECV".into(),
//!     sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
//!     sop_instance_uid: "1.2.3.4.5.1".into(),
//!     study_instance_uid: Some("1.2.3.4".into()),
//!     series_instance_uid: Some("1.2.3.4.5".into()),
//!     transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
//!     path: "out/CT.1.2.3.4.5.1".into(),
//!     bytes: 1024,
//!     duration: Duration::from_millis(2),
//!     status: 0,
//! }));
//! // Without an idle timeout, the study completes when its last association ends.
//! sinks.event(&Event::AssociationEnded(AssociationEnded {
//!     time: SystemTime::now(),
//!     association,
//!     peer: "127.0.0.1:40000".into(),
//!     calling_ae: "STORESCU".into(),
//!     called_ae: "DCMRECV".into(),
//!     reason: EndReason::Released,
//!     detail: None,
//!     stored: 1,
//!     failed: 0,
//!     bytes: 1024,
//!     duration: Duration::from_millis(40),
//! }));
//! watch.shutdown();
//! drop(sinks);
//! drop(watch);
//!
//! let json = Arc::try_unwrap(json).map_err(|_| "still shared")?;
//! let text = String::from_utf8(json.into_inner())?;
//! let kinds: Vec<&str> = text
//!     .lines()
//!     .map(|line| line.split('"').nth(3).unwrap_or(""))
//!     .collect();
//! assert_eq!(kinds, ["instance-stored", "association-ended", "study-complete"]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - **Plain types** ([`Event`] and one struct per kind), `#[non_exhaustive]` so fields can be
//!   added; the [`EventSink`] trait (`Send + Sync`, called from association threads).
//! - **JSON lines** ([`JsonLinesWriter`]): one object per line, flushed per event, appended to
//!   a file or written to stdout; write errors are counted and logged, never propagated.
//! - **End of study** ([`StudyTracker`], pure and deterministic; [`StudyWatch`], its live
//!   wrapper with a timer thread): per Study Instance UID across all associations, with
//!   revisions and documented memory bounds.
//!
//! # The JSON schema
//!
//! Every line is one object. `"event"` names the kind; `"time"` is RFC 3339 in UTC with
//! milliseconds (`2026-01-31T12:00:00.123Z`). Durations are whole microseconds, statuses are
//! DIMSE status numbers (0 = success, 45056 = 0xB000). Optional values are `null`, never left
//! out. New fields may be added (consumers must ignore unknown fields); no field is renamed or
//! removed without a major version.
//!
//! | `event` | fields (in order, after `event`) |
//! |---|---|
//! | `association-started` | `time`, `association` (number), `peer` (`ip:port`), `remote_host`, `calling_ae`, `called_ae`, `tls` (bool) |
//! | `association-rejected` | `time`, `association` (number or null), `peer`, `remote_host`, `calling_ae` (or null), `called_ae` (or null), `reason` ([`RejectReason`], kebab case), `result`, `source`, `diagnostic` (A-ASSOCIATE-RJ fields, PS3.8 §9.3.4, or null) |
//! | `instance-stored` | `time`, `association`, `peer`, `remote_host`, `calling_ae`, `called_ae`, `sop_class_uid`, `sop_instance_uid`, `study_instance_uid` (or null), `series_instance_uid` (or null), `transfer_syntax_uid`, `path`, `bytes`, `duration_us`, `status` |
//! | `instance-failed` | `time`, `association`, `peer`, `remote_host`, `calling_ae`, `called_ae`, `sop_class_uid`, `sop_instance_uid`, `study_instance_uid` (or null), `status` (or null if no response was sent), `reason` (text), `bytes`, `duration_us` |
//! | `study-complete` | `time`, `study_instance_uid`, `revision` (from 1), `objects`, `paths` (array), `paths_truncated` (bool), `directory` (or null), `associations`, `reason` ([`CompletionReason`]: `idle-timeout`, `associations-ended`, `capacity`, `shutdown`), `first_object_time`, `last_object_time`, `calling_ae`, `called_ae`, `remote_host` (of the last object's association) |
//! | `association-ended` | `time`, `association`, `peer`, `calling_ae`, `called_ae`, `reason` ([`EndReason`]: `released`, `aborted-by-peer`, `aborted`, `connection-closed`, `timeout`, `shutdown`), `detail` (or null), `stored`, `failed`, `bytes`, `duration_us` |
//!
//! Field meanings are on each struct ([`AssociationStarted`], [`AssociationRejected`],
//! [`InstanceStored`], [`InstanceFailed`], [`StudyComplete`], [`AssociationEnded`]).

#![warn(missing_docs)]

mod event;
mod json;
mod sink;
mod tracker;
mod watch;

pub use crate::event::{
    AssociationEnded, AssociationId, AssociationRejected, AssociationStarted, CompletionReason,
    EndReason, Event, InstanceFailed, InstanceStored, RejectReason, StudyComplete,
};
pub use crate::json::{Error as JsonError, JsonLinesWriter, JsonStats};
pub use crate::sink::{EventSink, FanOut, FnSink, from_fn};
pub use crate::tracker::{MAX_UID_LEN, StudyTracker, TrackerOptions, TrackerStats};
pub use crate::watch::StudyWatch;

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

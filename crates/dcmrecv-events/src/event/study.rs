//! The end-of-study event.

use std::time::SystemTime;

use serde::Serialize;

use super::rfc3339;

/// Why the tracker decided a study is complete. Written in JSON in kebab case.
///
/// ```
/// use dcmrecv_events::CompletionReason;
///
/// assert_eq!(CompletionReason::IdleTimeout.as_str(), "idle-timeout");
/// ```
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CompletionReason {
    /// No object of the study arrived for the end-of-study timeout (`-tos`).
    IdleTimeout,
    /// Without a timeout: the last association that carried the study ended.
    AssociationsEnded,
    /// The tracker had to make room for a new study (its bound on open studies was reached)
    /// and closed this one, the longest idle, early.
    Capacity,
    /// The receiver shut down with the study still open.
    Shutdown,
}

impl CompletionReason {
    /// The kebab-case name written in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            CompletionReason::IdleTimeout => "idle-timeout",
            CompletionReason::AssociationsEnded => "associations-ended",
            CompletionReason::Capacity => "capacity",
            CompletionReason::Shutdown => "shutdown",
        }
    }
}

/// A study (one revision of it) is complete.
///
/// The first completion of a Study Instance UID is revision 1; an object of the same study
/// arriving after that opens revision 2, and so on. Each revision lists only its own objects.
///
/// ```
/// use std::time::SystemTime;
///
/// use dcmrecv_events::{CompletionReason, StudyComplete};
///
/// let done = StudyComplete {
///     time: SystemTime::now(),
///     study_instance_uid: "1.2.3".into(),
///     revision: 1,
///     objects: 2,
///     paths: vec!["out/S_1.2.3/CT.1".into(), "out/S_1.2.3/CT.2".into()],
///     paths_truncated: false,
///     directory: Some("out/S_1.2.3".into()),
///     associations: 1,
///     reason: CompletionReason::IdleTimeout,
///     first_object_time: SystemTime::now(),
///     last_object_time: SystemTime::now(),
///     calling_ae: "STORESCU".into(),
///     called_ae: "DCMRECV".into(),
///     remote_host: "localhost".into(),
/// };
/// assert_eq!(done.paths.len() as u64, done.objects);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StudyComplete {
    /// When the study was declared complete.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// Study Instance UID.
    pub study_instance_uid: String,
    /// Revision number, from 1.
    pub revision: u32,
    /// Objects stored in this revision (exact, even when `paths` is truncated).
    pub objects: u64,
    /// Their paths in arrival order, up to the tracker's bounds.
    pub paths: Vec<String>,
    /// Whether `paths` lists fewer than `objects` paths (a bound was reached).
    pub paths_truncated: bool,
    /// The directory every object of this revision was stored in (storescp's `#p` for
    /// `--exec-on-eostudy`), or `None` if they were stored in more than one.
    pub directory: Option<String>,
    /// How many distinct associations carried objects of this revision.
    pub associations: u32,
    /// Why it is complete.
    pub reason: CompletionReason,
    /// When the first object of this revision was stored.
    #[serde(serialize_with = "rfc3339")]
    pub first_object_time: SystemTime,
    /// When the last one was stored.
    #[serde(serialize_with = "rfc3339")]
    pub last_object_time: SystemTime,
    /// The calling AE title of the association that carried the last object (storescp's `#a`).
    pub calling_ae: String,
    /// The called AE title of that association (storescp's `#c`).
    pub called_ae: String,
    /// The remote host of that association (storescp's `#r`).
    pub remote_host: String,
}

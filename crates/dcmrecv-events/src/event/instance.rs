//! Instance events: stored, failed.

use std::time::{Duration, SystemTime};

use serde::Serialize;

use super::{AssociationId, micros, rfc3339};

/// An instance was stored under its final name, and a success (0x0000) or warning (0xB000,
/// 0xB007, 0xB006) status is being sent.
///
/// A receiver emits it after the file is published (renamed into place, and synced when it
/// syncs), so a consumer never sees an event for a file that is not there.
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// use dcmrecv_events::{AssociationId, InstanceStored};
///
/// let stored = InstanceStored {
///     time: SystemTime::now(),
///     association: AssociationId(1),
///     peer: "127.0.0.1:40000".into(),
///     remote_host: "localhost".into(),
///     calling_ae: "STORESCU".into(),
///     called_ae: "DCMRECV".into(),
///     sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
///     sop_instance_uid: "1.2.3.4.5".into(),
///     study_instance_uid: Some("1.2.3".into()),
///     series_instance_uid: Some("1.2.3.4".into()),
///     transfer_syntax_uid: "1.2.840.10008.1.2.1".into(),
///     path: "/data/in/CT.1.2.3.4.5".into(),
///     bytes: 525_312,
///     duration: Duration::from_millis(12),
///     status: 0x0000,
/// };
/// assert_eq!(stored.file_name(), "CT.1.2.3.4.5");
/// assert_eq!(stored.directory(), "/data/in");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceStored {
    /// When the instance was published.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// The association it arrived on.
    pub association: AssociationId,
    /// The peer's socket address, `ip:port`.
    pub peer: String,
    /// The peer's host name or IP address (storescp's `#r`).
    pub remote_host: String,
    /// The requestor's AE title (storescp's `#a`).
    pub calling_ae: String,
    /// The AE title the requestor called (storescp's `#c`).
    pub called_ae: String,
    /// SOP Class UID (the command's Affected SOP Class UID).
    pub sop_class_uid: String,
    /// SOP Instance UID (the command's Affected SOP Instance UID).
    pub sop_instance_uid: String,
    /// Study Instance UID (0020,000D) of the data set, if it has one.
    pub study_instance_uid: Option<String>,
    /// Series Instance UID (0020,000E) of the data set, if it has one.
    pub series_instance_uid: Option<String>,
    /// The transfer syntax the data set arrived in.
    pub transfer_syntax_uid: String,
    /// The final path of the file (or the object key, for object storage); `/`-separated.
    pub path: String,
    /// Data set bytes received.
    pub bytes: u64,
    /// From the C-STORE request to publication; JSON `duration_us` (microseconds).
    #[serde(rename = "duration_us", serialize_with = "micros")]
    pub duration: Duration,
    /// The DIMSE status sent in the C-STORE response.
    pub status: u16,
}

impl InstanceStored {
    /// The last component of [`path`](Self::path) (storescp's `#f`).
    pub fn file_name(&self) -> &str {
        self.path
            .rsplit_once('/')
            .map_or(&self.path, |(_, name)| name)
    }

    /// Everything before the last `/` of [`path`](Self::path): the directory holding the file
    /// (storescp's `#p`); `.` for a bare name, `/` for a file in the root.
    pub fn directory(&self) -> &str {
        match self.path.rsplit_once('/') {
            Some(("", _)) => "/",
            Some((dir, _)) => dir,
            None => ".",
        }
    }
}

/// A C-STORE was answered with a failure status (0xA7xx, 0xA9xx, 0xCxxx, ...), or could not be
/// completed (the association was aborted or lost while the data set arrived).
///
/// ```
/// use std::time::{Duration, SystemTime};
///
/// use dcmrecv_events::{AssociationId, InstanceFailed};
///
/// let failed = InstanceFailed {
///     time: SystemTime::now(),
///     association: AssociationId(1),
///     peer: "127.0.0.1:40000".into(),
///     remote_host: "localhost".into(),
///     calling_ae: "STORESCU".into(),
///     called_ae: "DCMRECV".into(),
///     sop_class_uid: "1.2.840.10008.5.1.4.1.1.2".into(),
///     sop_instance_uid: "1.2.3.4.5".into(),
///     study_instance_uid: None,
///     status: Some(0xA700),
///     reason: "out of resources: no space left on device".into(),
///     bytes: 4096,
///     duration: Duration::from_millis(3),
/// };
/// assert_eq!(failed.status, Some(0xA700));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InstanceFailed {
    /// When it failed.
    #[serde(serialize_with = "rfc3339")]
    pub time: SystemTime,
    /// The association it arrived on.
    pub association: AssociationId,
    /// The peer's socket address, `ip:port`.
    pub peer: String,
    /// The peer's host name or IP address.
    pub remote_host: String,
    /// The requestor's AE title.
    pub calling_ae: String,
    /// The AE title the requestor called.
    pub called_ae: String,
    /// SOP Class UID of the command.
    pub sop_class_uid: String,
    /// SOP Instance UID of the command.
    pub sop_instance_uid: String,
    /// Study Instance UID, if it was read before the failure.
    pub study_instance_uid: Option<String>,
    /// The failure status sent; `None` when no response could be sent (aborted, lost).
    pub status: Option<u16>,
    /// What went wrong, for people.
    pub reason: String,
    /// Data set bytes received before the failure.
    pub bytes: u64,
    /// From the C-STORE request to the failure; JSON `duration_us` (microseconds).
    #[serde(rename = "duration_us", serialize_with = "micros")]
    pub duration: Duration,
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{AssociationId, InstanceStored};

    fn stored(path: &str) -> InstanceStored {
        InstanceStored {
            time: SystemTime::UNIX_EPOCH,
            association: AssociationId(1),
            peer: String::new(),
            remote_host: String::new(),
            calling_ae: String::new(),
            called_ae: String::new(),
            sop_class_uid: String::new(),
            sop_instance_uid: String::new(),
            study_instance_uid: None,
            series_instance_uid: None,
            transfer_syntax_uid: String::new(),
            path: path.into(),
            bytes: 0,
            duration: Duration::ZERO,
            status: 0,
        }
    }

    #[test]
    fn directory_and_file_name_split_at_the_last_slash() {
        let cases = [
            ("out/CT.1", "out", "CT.1"),
            ("/data/in/S_1.2/CT.1", "/data/in/S_1.2", "CT.1"),
            ("CT.1", ".", "CT.1"),
            ("/CT.1", "/", "CT.1"),
            ("./CT.1", ".", "CT.1"),
        ];
        for (path, dir, name) in cases {
            let s = stored(path);
            assert_eq!((s.directory(), s.file_name()), (dir, name), "{path}");
        }
    }
}

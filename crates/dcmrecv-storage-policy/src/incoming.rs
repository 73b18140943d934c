//! One instance on its way to disk: [`InstanceMeta`] in, [`IncomingInstance`] while the bytes
//! arrive, [`Stored`] (or a [`StoreError`]) at the end.

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use snafu::Snafu;
use tracing::{debug, error, info, warn};

use crate::duplicates::{self, OnDuplicate};
use crate::meta::{self, MetaFields};
use crate::naming::{self, GENERATED_NAME_ATTEMPTS};
use crate::options::{Mode, Naming, Subdirectories};
use crate::placement::{self, Generated, component, log_name_error};
use crate::prefix::trim_uid;
use crate::scanner::{self, Scanner};
use crate::storage::{Shared, Target};
use crate::temp_file::{TempFile, TempFiles};
use crate::transfer_syntax::Syntax;
use crate::uid::new_uid;

/// DCMTK's "private generic file" SOP class, written to (0002,0002) in normal mode when the data
/// set has no usable SOP Class UID.
const FALLBACK_SOP_CLASS_UID: &str = "1.2.276.0.7230010.3.1.0.1";

/// Longest reason returned by [`StoreError::reason`] (the VR LO limit of Error Comment).
const MAX_REASON: usize = 64;

/// What the C-STORE command and the association say about an arriving instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceMeta {
    sop_class_uid: String,
    sop_instance_uid: String,
    transfer_syntax_uid: String,
    calling_ae_title: String,
}

fn trimmed(value: String) -> String {
    let end = trim_uid(&value).len();
    let mut value = value;
    value.truncate(end);
    value
}

impl InstanceMeta {
    /// The command's Affected SOP Class UID (0000,0002) and Affected SOP Instance UID (0000,1000)
    /// and the presentation context's transfer syntax. Trailing padding (spaces, NULs) is removed.
    /// The class may be empty (DCMTK then names the file after the data set's SOP Class UID).
    pub fn new(
        sop_class_uid: impl Into<String>,
        sop_instance_uid: impl Into<String>,
        transfer_syntax_uid: impl Into<String>,
    ) -> InstanceMeta {
        InstanceMeta {
            sop_class_uid: trimmed(sop_class_uid.into()),
            sop_instance_uid: trimmed(sop_instance_uid.into()),
            transfer_syntax_uid: trimmed(transfer_syntax_uid.into()),
            calling_ae_title: String::new(),
        }
    }

    /// Sets the association's calling AE title, written to (0002,0016) in bit-preserving mode.
    /// Trailing spaces are removed.
    pub fn with_calling_ae_title(mut self, calling_ae_title: impl Into<String>) -> InstanceMeta {
        self.calling_ae_title = trimmed(calling_ae_title.into());
        self
    }

    /// The command's Affected SOP Class UID (possibly empty).
    pub fn sop_class_uid(&self) -> &str {
        &self.sop_class_uid
    }

    /// The command's Affected SOP Instance UID.
    pub fn sop_instance_uid(&self) -> &str {
        &self.sop_instance_uid
    }

    /// The transfer syntax the data set is encoded in.
    pub fn transfer_syntax_uid(&self) -> &str {
        &self.transfer_syntax_uid
    }

    /// The calling AE title (possibly empty).
    pub fn calling_ae_title(&self) -> &str {
        &self.calling_ae_title
    }
}

/// Which DIMSE status a failed store maps to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Refused: Out of Resources (0xA700): a directory or file cannot be created or written (disk
    /// full, permission denied, directory vanished, ...), the object store did not take the
    /// object, or the data set is larger than
    /// [`StorageOptions::max_object_size`](crate::StorageOptions::max_object_size).
    OutOfResources,
    /// Error: Cannot Understand (0xC000): the instance cannot be named or decoded (empty data set,
    /// no SOP class for default names, no unique short name, unusable UID, malformed data set).
    CannotUnderstand,
}

impl ErrorKind {
    /// The C-STORE response status DCMTK's `dcmrecv` sends for this kind of failure.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::OutOfResources => 0xA700,
            ErrorKind::CannotUnderstand => 0xC000,
        }
    }
}

/// Why an instance was not stored. Use [`StoreError::kind`] for the response status and
/// [`StoreError::reason`] for a short text to put in the Error Comment.
///
/// When this error is returned, nothing of the instance remains on disk (or in the bucket): its
/// temporary file has been removed (its multipart upload aborted).
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum StoreError {
    /// The temporary file cannot be created in the output directory.
    #[snafu(display("cannot create temporary file {}", path.display()))]
    CreateTemporary {
        /// The temporary file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// Writing, flushing or syncing the file failed.
    #[snafu(display("cannot write {}", path.display()))]
    WriteFile {
        /// The file (temporary, or final once the name is known).
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// A `+ssd` sub-directory cannot be created.
    #[snafu(display("cannot create directory {}", path.display()))]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The complete file cannot be moved to its final name.
    #[snafu(display("cannot rename {} to {}", from.display(), to.display()))]
    Publish {
        /// The temporary file.
        from: PathBuf,
        /// The final path.
        to: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The data set is empty (normal mode).
    #[snafu(display("received data set is empty"))]
    EmptyDataset,
    /// Default names need a SOP class, and neither the command nor the data set has one.
    #[snafu(display("no SOP class UID to name the file after"))]
    MissingSopClass,
    /// Study folders (`-su`, `-ss`, `-sp`) need a Study Instance UID, and the data set has no
    /// usable one (storescp answers 0xC000 too).
    #[snafu(display("no Study Instance UID to sort the object by"))]
    MissingStudyUid,
    /// A value that would become part of the file name is unusable.
    #[snafu(display("cannot use {value:?} in a file name: it {problem}"))]
    UnsafeName {
        /// The value (SOP Instance UID or the generated name).
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// A generated name scheme (`+fu`, `+fsu`, `+fst`): every candidate name was taken.
    #[snafu(display("no unused file name in {} after {attempts} attempts", directory.display()))]
    NoUniqueName {
        /// The directory the file goes to.
        directory: PathBuf,
        /// Names tried.
        attempts: u32,
    },
    /// The data set is not structurally decodable in its transfer syntax.
    #[snafu(display("received data set cannot be decoded: {problem}"))]
    Malformed {
        /// What is wrong, and where.
        problem: String,
    },
    /// The data set is larger than [`StorageOptions::max_object_size`] (counted inflated for
    /// the deflated transfer syntax).
    ///
    /// [`StorageOptions::max_object_size`]: crate::StorageOptions::max_object_size
    #[snafu(display("received data set is larger than the maximum object size of {limit} bytes"))]
    TooLarge {
        /// The bound, in bytes.
        limit: u64,
    },
    /// The meta header cannot be encoded from the values at hand.
    #[snafu(display("cannot encode the file meta information"))]
    EncodeMeta {
        /// The encoder's complaint.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The object store did not take the object: it cannot be reached, it refused the request
    /// (credentials, permissions), or it failed mid-way. Nothing is left under the object's
    /// key: a multipart upload is aborted.
    #[snafu(display("cannot store {url}: {problem}"))]
    Upload {
        /// The object (`s3://bucket/key`), or the bucket's URL when the key was not decided.
        url: String,
        /// What went wrong, in a few words (`store unreachable`, `access denied`, `HTTP 503`).
        problem: String,
        /// The store's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// The output directory has less free space than
    /// [`StorageOptions::min_free_space`](crate::StorageOptions::min_free_space): refused
    /// before anything was written (out of resources, 0xA700).
    #[snafu(display("free space {available} bytes is below the minimum of {needed} bytes"))]
    LowFreeSpace {
        /// Bytes available.
        available: u64,
        /// Bytes the minimum asks for.
        needed: u64,
    },
    /// [`OnDuplicate::Reject`](crate::OnDuplicate::Reject): a file of this instance's name
    /// exists, and it stays as it is.
    ///
    /// Answered with 0xC000 (Error: Cannot Understand, PS3.4 Table B.2-1), the
    /// implementation-specific failure range of C-STORE. Not 0xA900 ("Data Set does not match
    /// SOP Class"), which would send the operator looking for an encoding problem; not 0x0111
    /// ("Duplicate SOP Instance", PS3.7 Annex C), which PS3.4/PS3.7 define for N-CREATE and not
    /// among C-STORE's statuses; not 0xA7xx (out of resources), which senders retry. The Error
    /// Comment says `duplicate SOP instance`.
    #[snafu(display("{} exists already: duplicate SOP instance refused", path.display()))]
    Duplicate {
        /// The existing file.
        path: PathBuf,
    },
    /// An earlier call already failed for this instance; this repeats its kind and reason.
    #[snafu(display("instance already failed: {reason}"))]
    AlreadyFailed {
        /// The kind of the first failure.
        kind: ErrorKind,
        /// The reason of the first failure.
        reason: String,
    },
}

/// The OS's text for an I/O error, as `strerror` gives it (DCMTK's log lines use it).
pub(crate) fn os_reason(error: &io::Error) -> String {
    let text = error.to_string();
    match text.rfind(" (os error ") {
        Some(at) if text.ends_with(')') => text.get(..at).unwrap_or(&text).to_string(),
        _ => text,
    }
}

fn shorten(text: String) -> String {
    if text.len() <= MAX_REASON {
        return text;
    }
    let mut end = MAX_REASON;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default().to_string()
}

impl StoreError {
    /// Out of resources (0xA700) or cannot understand (0xC000).
    pub fn kind(&self) -> ErrorKind {
        match self {
            StoreError::CreateTemporary { .. }
            | StoreError::WriteFile { .. }
            | StoreError::CreateDirectory { .. }
            | StoreError::Publish { .. }
            | StoreError::Upload { .. }
            | StoreError::TooLarge { .. }
            | StoreError::LowFreeSpace { .. } => ErrorKind::OutOfResources,
            StoreError::EmptyDataset
            | StoreError::MissingSopClass
            | StoreError::MissingStudyUid
            | StoreError::UnsafeName { .. }
            | StoreError::NoUniqueName { .. }
            | StoreError::Malformed { .. }
            | StoreError::EncodeMeta { .. }
            | StoreError::Duplicate { .. } => ErrorKind::CannotUnderstand,
            StoreError::AlreadyFailed { kind, .. } => *kind,
        }
    }

    /// A short human reason (at most 64 bytes, so it fits an Error Comment), e.g.
    /// `cannot write file: no space left on device`.
    pub fn reason(&self) -> String {
        let io_reason =
            |action: &str, e: &io::Error| format!("{action}: {}", os_reason(e).to_lowercase());
        shorten(match self {
            StoreError::CreateTemporary { source, .. } => io_reason("cannot create file", source),
            StoreError::WriteFile { source, .. } => io_reason("cannot write file", source),
            StoreError::CreateDirectory { source, .. } => {
                io_reason("cannot create directory", source)
            }
            StoreError::Publish { source, .. } => io_reason("cannot rename file", source),
            StoreError::Upload { problem, .. } => format!("cannot store object: {problem}"),
            StoreError::EmptyDataset => "empty data set".to_string(),
            StoreError::MissingSopClass => "no SOP class UID to name the file".to_string(),
            StoreError::MissingStudyUid => "no Study Instance UID to sort by".to_string(),
            StoreError::UnsafeName { problem, .. } => {
                format!("file name {problem}")
            }
            StoreError::NoUniqueName { .. } => "no unique file name".to_string(),
            StoreError::TooLarge { .. } => {
                "data set larger than the maximum object size".to_string()
            }
            StoreError::Malformed { problem } => format!("malformed data set: {problem}"),
            StoreError::EncodeMeta { .. } => "cannot encode file meta information".to_string(),
            StoreError::LowFreeSpace { available, needed } => format!(
                "not enough free space: {} free, {} needed",
                crate::free_space::human(*available),
                crate::free_space::human(*needed)
            ),
            StoreError::Duplicate { .. } => {
                "duplicate SOP instance: already stored, not replaced".to_string()
            }
            StoreError::AlreadyFailed { reason, .. } => reason.clone(),
        })
    }
}

/// A successfully received instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    path: Option<PathBuf>,
    object: Option<StoredObject>,
    dataset_len: u64,
    replaced: bool,
    kept: bool,
    study_instance_uid: Option<String>,
    series_instance_uid: Option<String>,
}

/// Where an object went.
#[derive(Debug, Clone, PartialEq, Eq)]
struct StoredObject {
    key: String,
    url: String,
}

impl Stored {
    /// Where the file is (`None` in ignore mode, where nothing is written, and for an object
    /// store). The path starts with the output directory as DCMTK prints it, e.g. `./CT.1.2.3`.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// For an object store, the object's key in its bucket (`incoming/CT.1.2.3`): the prefix,
    /// then the same relative name a file would have below an output directory.
    pub fn object_key(&self) -> Option<&str> {
        self.object.as_ref().map(|o| o.key.as_str())
    }

    /// For an object store, the object's URL (`s3://dicom/incoming/CT.1.2.3`).
    pub fn object_url(&self) -> Option<&str> {
        self.object.as_ref().map(|o| o.url.as_str())
    }

    /// The number of data set bytes received (as sent, i.e. deflated for a deflated syntax).
    pub fn dataset_len(&self) -> u64 {
        self.dataset_len
    }

    /// The Study and Series Instance UIDs the scanner found.
    fn uids(findings: Option<&scanner::Findings>) -> (Option<String>, Option<String>) {
        let uid = |tag| {
            findings
                .and_then(|f| f.extra(tag))
                .and_then(scanner::Captured::as_uid)
                .map(str::to_owned)
        };
        (
            uid(crate::sorting::STUDY_INSTANCE_UID),
            uid(crate::sorting::SERIES_INSTANCE_UID),
        )
    }

    /// With the UIDs of [`uids`](Self::uids).
    fn with(mut self, (study, series): (Option<String>, Option<String>)) -> Stored {
        self.study_instance_uid = study;
        self.series_instance_uid = series;
        self
    }

    /// The data set's Study Instance UID (0020,000D), when the scanner read a usable one (in
    /// every mode; `None` for an unknown transfer syntax).
    pub fn study_instance_uid(&self) -> Option<&str> {
        self.study_instance_uid.as_deref()
    }

    /// The data set's Series Instance UID (0020,000E), likewise.
    pub fn series_instance_uid(&self) -> Option<&str> {
        self.series_instance_uid.as_deref()
    }

    /// Whether an existing file of the same name was replaced (always `false` for an object
    /// store, which is not asked: see the crate docs).
    pub fn replaced(&self) -> bool {
        self.replaced
    }

    /// Whether a file of this name existed and was kept, the new copy discarded
    /// ([`OnDuplicate::Keep`](crate::OnDuplicate::Keep)); [`path`](Self::path) is the
    /// existing file's.
    pub fn kept_existing(&self) -> bool {
        self.kept
    }
}

pub(crate) fn log_store_error(path: &Path, source: &io::Error) {
    error!(
        "cannot store received object: {}: {}",
        path.display(),
        os_reason(source)
    );
}

/// Writing `path` failed: DCMTK's log line and the error.
fn write_error(path: &Path, source: io::Error) -> StoreError {
    log_store_error(path, &source);
    StoreError::WriteFile {
        path: path.to_path_buf(),
        source,
    }
}

/// Publishing `from` as `to` failed: DCMTK's log line (about the final name) and the error.
fn publish_error(from: &Path, to: &Path, source: io::Error) -> StoreError {
    log_store_error(to, &source);
    StoreError::Publish {
        from: from.to_path_buf(),
        to: to.to_path_buf(),
        source,
    }
}

fn too_large(limit: u64) -> StoreError {
    error!(
        "cannot store received object: data set larger than the maximum object size ({limit} bytes)"
    );
    StoreError::TooLarge { limit }
}

/// An instance being received: feed it the data set bytes with [`write`](Self::write), then call
/// [`finish`](Self::finish) (or [`abort`](Self::abort)).
///
/// Dropping it without finishing removes its temporary file (or aborts its multipart upload),
/// as `abort` does.
#[derive(Debug)]
pub struct IncomingInstance {
    shared: Arc<Shared>,
    meta: InstanceMeta,
    received: u64,
    state: State,
}

#[derive(Debug)]
enum State {
    Open(Box<Open>),
    Failed { kind: ErrorKind, reason: String },
    Closed,
}

/// Where the bytes of one instance go while it arrives: the staging of a backend.
#[derive(Debug)]
enum Body {
    /// A temporary file in the output directory, renamed at the end.
    File(TempFile),
    /// An upload to the object store: a single PUT at the end, or a multipart upload once the
    /// object is larger than a part.
    #[cfg(feature = "object-store")]
    Object(crate::bucket::ObjectUpload),
}

#[derive(Debug)]
struct Open {
    /// `None` in ignore mode.
    body: Option<Body>,
    scanner: Option<Scanner>,
    /// Where the meta header stands (normal mode).
    head: Head,
}

/// Normal mode writes a meta header built from the data set's SOP Class and Instance UID in
/// front of the data set.
#[derive(Debug)]
enum Head {
    /// The first data set bytes, held back until the scanner has passed (0008,0018): in this
    /// vector for a file, in the upload's part buffer for an object (the vector stays empty).
    Held(Vec<u8>),
    /// The header is written (or none is needed: bit-preserving and ignore modes).
    Written,
    /// Files only: the UIDs did not come within [`StorageOptions::hold_back_limit`] bytes: the
    /// data set goes to the file without a header, and the header built from the UIDs
    /// wherever they turn up is put in front of it once the data set is complete (one copy of
    /// the file, in the kernel, for such rare data sets only). An object cannot be rewritten
    /// once its first part is up: there the header is built at that point from what is known,
    /// the command's UIDs standing in for those not seen yet (see the crate docs).
    ///
    /// [`StorageOptions::hold_back_limit`]: crate::StorageOptions::hold_back_limit
    Deferred,
}

/// Where the UIDs of the meta header come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum HeaderUids {
    /// The data set's, as DCMTK (a new UID if the data set has no SOP Instance UID at all).
    DataSet,
    /// The data set's as far as seen, else the command's: an object's first part must go up
    /// before the data set's UIDs have come.
    #[cfg_attr(not(feature = "object-store"), allow(dead_code))]
    DataSetElseCommand,
}

impl IncomingInstance {
    pub(crate) fn begin(
        shared: Arc<Shared>,
        meta: InstanceMeta,
    ) -> Result<IncomingInstance, StoreError> {
        let options = &shared.options;
        let syntax = Syntax::from_uid(&meta.transfer_syntax_uid);
        let limit = options.max_object_size;
        let default_names = options.naming == Naming::Default;
        if default_names && !meta.sop_instance_uid.is_empty() {
            if let Err(problem) = naming::check_instance_uid(&meta.sop_instance_uid) {
                log_name_error(&format!(
                    "Invalid SOP Instance UID (value {})",
                    problem.text()
                ));
                return UnsafeNameSnafu {
                    value: meta.sop_instance_uid.clone(),
                    problem: problem.text(),
                }
                .fail();
            }
        }
        let captured = std::sync::Arc::clone(&options.captured);
        let open = match options.mode {
            Mode::Ignore => Open {
                body: None,
                scanner: Scanner::new(syntax, true, limit).map(|s| s.capture_extra(captured)),
                head: Head::Written,
            },
            Mode::BitPreserving => {
                if default_names && meta.sop_class_uid.is_empty() {
                    error!(
                        "cannot generate directory or file name for object to be received: \
                         Invalid SOP Class UID"
                    );
                    return MissingSopClassSnafu.fail();
                }
                let header = meta::part10_header(&MetaFields {
                    sop_class_uid: &meta.sop_class_uid,
                    sop_instance_uid: &meta.sop_instance_uid,
                    transfer_syntax_uid: &meta.transfer_syntax_uid,
                    implementation_class_uid: &options.implementation_class_uid,
                    implementation_version_name: &options.bit_preserving_version_name,
                    source_ae_title: Some(&meta.calling_ae_title),
                })
                .map_err(|source| StoreError::EncodeMeta {
                    source: Box::new(source),
                })?;
                // The scanner finds the Series Date for `+ssd`, and inflates a deflated data
                // set to bound its size.
                // It also reads the attributes of sorting, templates and the receipt.
                let needed = options.subdirectories == Subdirectories::SeriesDate
                    || !captured.is_empty()
                    || (limit.is_some() && syntax == Syntax::DeflatedExplicitLittle);
                let mut open = Open {
                    body: Some(open_body(&shared)?),
                    scanner: needed
                        .then(|| Scanner::new(syntax, false, limit))
                        .flatten()
                        .map(|s| s.capture_extra(captured)),
                    head: Head::Written,
                };
                open.write_header(&header, &shared, &meta)?;
                open
            }
            Mode::Normal => {
                let scanner = Scanner::new(syntax, true, limit).map(|s| s.capture_extra(captured));
                let mut open = Open {
                    body: Some(open_body(&shared)?),
                    head: Head::Held(Vec::new()),
                    scanner,
                };
                if open.scanner.is_none() {
                    // Unknown transfer syntax: nothing to wait for.
                    open.release_held(&shared, &meta, HeaderUids::DataSet)?;
                }
                open
            }
        };
        Ok(IncomingInstance {
            shared,
            meta,
            received: 0,
            state: State::Open(Box::new(open)),
        })
    }

    /// The command and association values this instance was started with.
    pub fn meta(&self) -> &InstanceMeta {
        &self.meta
    }

    /// Appends the next chunk of data set bytes, as received (chunk boundaries do not matter).
    ///
    /// For an object store this may send a part of the object (and wait while the association's
    /// parts in flight are at their bound), and the first part decides the object's key.
    ///
    /// On error the instance is dead: its temporary file is gone (its upload aborted), and later
    /// calls to `write` and `finish` return [`StoreError::AlreadyFailed`] with the same kind.
    /// The caller may keep feeding (the bytes are discarded) or stop; either way it must answer
    /// with the error's status.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.received += chunk.len() as u64;
        let result = match &mut self.state {
            State::Open(open) => open.write(chunk, &self.shared, &self.meta, self.received),
            State::Failed { kind, reason } => {
                return AlreadyFailedSnafu {
                    kind: *kind,
                    reason: reason.clone(),
                }
                .fail();
            }
            State::Closed => Ok(()),
        };
        result.inspect_err(|e| {
            // Dropping the open state removes the temporary file (aborts the upload).
            self.state = State::Failed {
                kind: e.kind(),
                reason: e.reason(),
            };
        })
    }

    /// Completes the instance: checks the data set, decides the final name, creates the
    /// sub-directory, syncs the file (with [`StorageOptions::fsync`](crate::StorageOptions::fsync)),
    /// renames the temporary file to the final name, then syncs the directory (same option).
    /// For an object store: sends the object with one PUT, or its last part and then completes
    /// the multipart upload; it returns once the store has confirmed the whole object.
    ///
    /// On error nothing of the instance remains on disk (or under its key).
    pub fn finish(mut self) -> Result<Stored, StoreError> {
        match std::mem::replace(&mut self.state, State::Closed) {
            State::Open(open) => self.complete(*open),
            State::Failed { kind, reason } => AlreadyFailedSnafu { kind, reason }.fail(),
            State::Closed => AlreadyFailedSnafu {
                kind: ErrorKind::CannotUnderstand,
                reason: "instance already closed",
            }
            .fail(),
        }
    }

    /// Gives up on the instance (peer abort, error elsewhere, shutdown): the temporary file is
    /// removed (the multipart upload aborted, in the background) and nothing is stored.
    pub fn abort(mut self) {
        if let State::Open(_) = std::mem::replace(&mut self.state, State::Closed) {
            debug!(
                sop_instance_uid = %self.meta.sop_instance_uid,
                "reception aborted, nothing stored"
            );
        }
    }

    fn complete(&self, mut open: Open) -> Result<Stored, StoreError> {
        let options = &self.shared.options;
        if let Some(scanner) = open.scanner.as_mut() {
            scanner.finish().map_err(|e| scan_error(&e))?;
        }
        if options.mode == Mode::Normal {
            // DCMTK's DcmStorageSCP::checkAndProcessSTORERequest, once the data set is decoded.
            debug!("checking and processing C-STORE request");
        }
        let parsed_empty = open.scanner.as_ref().is_some_and(|s| s.parsed_len() == 0);
        if options.mode == Mode::Normal && (self.received == 0 || parsed_empty) {
            warn!("received data set is empty, not storing it");
            return EmptyDatasetSnafu.fail();
        }
        if options.mode == Mode::Ignore {
            debug!("received dataset is not stored since the storage mode is set to 'ignore'");
            return Ok(Stored {
                path: None,
                object: None,
                dataset_len: self.received,
                replaced: false,
                kept: false,
                study_instance_uid: None,
                series_instance_uid: None,
            }
            .with(Stored::uids(open.scanner.as_ref().map(Scanner::findings))));
        }
        match open.head {
            Head::Held(_) => open.release_held(&self.shared, &self.meta, HeaderUids::DataSet)?,
            Head::Deferred => open.prepend_header(&self.shared, &self.meta)?,
            Head::Written => {}
        }
        let findings = open.scanner.as_ref().map(Scanner::findings);
        let uids = Stored::uids(findings);
        let stored = match open.body.take() {
            Some(Body::File(temp)) => self.publish_file(temp, findings),
            #[cfg(feature = "object-store")]
            Some(Body::Object(upload)) => self.publish_object(upload, findings),
            // Only ignore mode has no body, and it returned above.
            None => Ok(Stored {
                path: None,
                object: None,
                dataset_len: self.received,
                replaced: false,
                kept: false,
                study_instance_uid: None,
                series_instance_uid: None,
            }),
        };
        stored.map(|s| s.with(uids))
    }

    /// The file backend's end: the name from the placement, the sub-directory, [fsync], the
    /// rename (the next candidate for a taken generated name), [fsync of the directory].
    fn publish_file(
        &self,
        mut temp: TempFile,
        findings: Option<&scanner::Findings>,
    ) -> Result<Stored, StoreError> {
        let options = &self.shared.options;
        let Some(files) = self.shared.temp_files() else {
            // A temporary file exists only with the file backend.
            return AlreadyFailedSnafu {
                kind: ErrorKind::OutOfResources,
                reason: "no output directory",
            }
            .fail();
        };
        let placement = placement::decide(&self.shared, &self.meta, findings)?;
        let directory = self.shared.output_directory.join(&placement.subdirectory);
        if !placement.subdirectory.as_os_str().is_empty() {
            std::fs::create_dir_all(&directory).map_err(|source| {
                error!(
                    "cannot create directory for received object: {}: Cannot create directory: {}",
                    directory.display(),
                    os_reason(&source)
                );
                StoreError::CreateDirectory {
                    path: directory.clone(),
                    source,
                }
            })?;
        }
        let first = directory.join(&placement.name);
        temp.complete(options.fsync)
            .map_err(|e| write_error(&first, e))?;
        let (path, replaced, kept) = match placement.generated {
            None if options.on_duplicate != OnDuplicate::Overwrite => {
                let (path, kept) =
                    self.publish_duplicate(&mut temp, files, &directory, &placement.name, first)?;
                (path, false, kept)
            }
            None => {
                debug!(
                    "generated filename for received object: {}",
                    first.display()
                );
                let replaced = temp
                    .publish_replacing(&first, files, || {
                        // DCMTK's OFStandard::fileExists: a directory of that name is not a
                        // file (the rename then fails), so there is no warning.
                        if !std::fs::symlink_metadata(&first).is_ok_and(|m| m.is_dir()) {
                            warn!("file already exists, overwriting: {}", first.display());
                        }
                    })
                    .map_err(|e| publish_error(temp.path(), &first, e))?;
                (first, replaced, false)
            }
            Some(scheme) => {
                let path = self.publish_generated(
                    &mut temp,
                    files,
                    scheme,
                    &directory,
                    placement.prefix,
                    first,
                )?;
                (path, false, false)
            }
        };
        if kept {
            info!(
                sop_instance_uid = %self.meta.sop_instance_uid,
                "file already exists, keeping it (duplicate discarded): {}",
                path.display()
            );
            return Ok(Stored {
                path: Some(path),
                object: None,
                dataset_len: self.received,
                replaced: false,
                kept: true,
                study_instance_uid: None,
                series_instance_uid: None,
            });
        }
        if options.fsync {
            File::open(&directory)
                .and_then(|dir| dir.sync_all())
                .map_err(|e| write_error(&path, e))?;
        }
        info!(
            sop_instance_uid = %self.meta.sop_instance_uid,
            "Stored received object to file: {}",
            path.display()
        );
        Ok(Stored {
            path: Some(path),
            object: None,
            dataset_len: self.received,
            replaced,
            kept: false,
            study_instance_uid: None,
            series_instance_uid: None,
        })
    }

    /// Default names with `--on-duplicate keep|reject|unique`: published with the no-replace
    /// primitive, so the file system decides atomically which of two copies arriving at once
    /// is first. Returns the path and whether the existing file was kept (the temporary file
    /// is then removed when dropped).
    fn publish_duplicate(
        &self,
        temp: &mut TempFile,
        files: &TempFiles,
        directory: &Path,
        name: &str,
        first: PathBuf,
    ) -> Result<(PathBuf, bool), StoreError> {
        let policy = self.shared.options.on_duplicate;
        debug!(
            "generated filename for received object: {}",
            first.display()
        );
        match temp.publish_no_replace(&first, files) {
            Ok(()) => return Ok((first, false)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(publish_error(temp.path(), &first, e)),
        }
        match policy {
            OnDuplicate::Keep => Ok((first, true)),
            OnDuplicate::Unique => {
                let extension = self.shared.options.extension.as_str();
                for n in 1..GENERATED_NAME_ATTEMPTS {
                    let path =
                        directory.join(component(duplicates::alongside(name, extension, n))?);
                    match temp.publish_no_replace(&path, files) {
                        Ok(()) => {
                            info!(
                                sop_instance_uid = %self.meta.sop_instance_uid,
                                "file already exists, storing the duplicate alongside: {} exists, new copy {}",
                                first.display(),
                                path.display()
                            );
                            return Ok((path, false));
                        }
                        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                        Err(e) => return Err(publish_error(temp.path(), &path, e)),
                    }
                }
                log_name_error("Could not generate filename");
                NoUniqueNameSnafu {
                    directory,
                    attempts: GENERATED_NAME_ATTEMPTS,
                }
                .fail()
            }
            // Reject (Overwrite does not come here).
            _ => {
                warn!(
                    sop_instance_uid = %self.meta.sop_instance_uid,
                    "file already exists, refusing the duplicate (0xC000): {}",
                    first.display()
                );
                Err(StoreError::Duplicate { path: first })
            }
        }
    }

    /// Generated names never replace a file: each candidate (`first`, then the next ones) is
    /// published with the no-replace primitive, and a taken name moves on to the next
    /// candidate (at most 1024 in all).
    fn publish_generated(
        &self,
        temp: &mut TempFile,
        files: &TempFiles,
        scheme: Generated,
        directory: &Path,
        prefix: Option<&str>,
        first: PathBuf,
    ) -> Result<PathBuf, StoreError> {
        let mut path = first;
        for attempt in 1..=GENERATED_NAME_ATTEMPTS {
            debug!("generated filename for received object: {}", path.display());
            match temp.publish_no_replace(&path, files) {
                Ok(()) => return Ok(path),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    debug!("file name taken, trying the next one: {}", path.display());
                }
                Err(e) => return Err(publish_error(temp.path(), &path, e)),
            }
            if attempt < GENERATED_NAME_ATTEMPTS {
                let next = placement::candidate(&self.shared, scheme, prefix, attempt);
                path = directory.join(component(next)?);
            }
        }
        log_name_error("Could not generate filename");
        NoUniqueNameSnafu {
            directory,
            attempts: GENERATED_NAME_ATTEMPTS,
        }
        .fail()
    }

    /// The object-store backend's end: the key (decided now, or when the first part went up),
    /// then the single PUT or the multipart upload's completion.
    #[cfg(feature = "object-store")]
    fn publish_object(
        &self,
        upload: crate::bucket::ObjectUpload,
        findings: Option<&scanner::Findings>,
    ) -> Result<Stored, StoreError> {
        let bucket = Arc::clone(upload.bucket());
        let key = match upload.started_key() {
            Some(key) => key.clone(),
            None => bucket.key(&placement::decide(&self.shared, &self.meta, findings)?)?,
        };
        debug!(
            "generated filename for received object: {}",
            bucket.url_of(&key)
        );
        let key = upload.finish(&key).map_err(|e| e.into_store_error())?;
        let url = bucket.url_of(&key);
        info!(
            sop_instance_uid = %self.meta.sop_instance_uid,
            "Stored received object to file: {url}"
        );
        Ok(Stored {
            path: None,
            object: Some(StoredObject {
                key: key.to_string(),
                url,
            }),
            dataset_len: self.received,
            replaced: false,
            kept: false,
            study_instance_uid: None,
            series_instance_uid: None,
        })
    }
}

/// A scanner error as a store error: a data set past the size bound is out of resources, any
/// other finding makes it malformed.
fn scan_error(e: &scanner::Error) -> StoreError {
    if let scanner::Error::TooLarge { limit } = e {
        return too_large(*limit);
    }
    warn!("received data set cannot be decoded: {e}");
    StoreError::Malformed {
        problem: e.to_string(),
    }
}

/// The staging of a new instance in this storage's backend.
fn open_body(shared: &Shared) -> Result<Body, StoreError> {
    match &shared.target {
        Target::Files(files) => files.create().map(Body::File).map_err(|source| {
            let path = files.pattern();
            log_store_error(&path, &source);
            StoreError::CreateTemporary { path, source }
        }),
        #[cfg(feature = "object-store")]
        Target::Objects(bucket) => Ok(Body::Object(crate::bucket::ObjectUpload::new(Arc::clone(
            bucket,
        )))),
    }
}

impl Open {
    fn write(
        &mut self,
        chunk: &[u8],
        shared: &Shared,
        meta: &InstanceMeta,
        received: u64,
    ) -> Result<(), StoreError> {
        if let Some(limit) = shared.options.max_object_size {
            // A deflated data set is bounded by its inflated size, as the scanner inflates it;
            // everything else by the bytes received.
            let inflating = self.scanner.as_ref().is_some_and(Scanner::bounds_inflated);
            if !inflating && received > limit {
                return Err(too_large(limit));
            }
        }
        if let Some(scanner) = self.scanner.as_mut() {
            scanner.feed(chunk).map_err(|e| scan_error(&e))?;
        }
        let Open { body, head, .. } = self;
        let Some(body) = body.as_mut() else {
            return Ok(());
        };
        let Head::Held(held) = head else {
            return self.write_body(chunk, shared, meta);
        };
        let held_len = match body {
            Body::File(_) => {
                held.extend_from_slice(chunk);
                held.len()
            }
            #[cfg(feature = "object-store")]
            Body::Object(upload) => {
                upload.hold(chunk);
                upload.held_len()
            }
        };
        if self.scanner.as_ref().is_none_or(Scanner::uids_settled) {
            self.release_held(shared, meta, HeaderUids::DataSet)?;
        } else if held_len >= self.hold_back_limit(shared) {
            self.spill_held(shared, meta)?;
        }
        Ok(())
    }

    /// How many data set bytes may wait for the UIDs: [`StorageOptions::hold_back_limit`] for a
    /// file, one part for an object (its part buffer holds them).
    ///
    /// [`StorageOptions::hold_back_limit`]: crate::StorageOptions::hold_back_limit
    fn hold_back_limit(&self, shared: &Shared) -> usize {
        match &self.body {
            #[cfg(feature = "object-store")]
            Some(Body::Object(upload)) => upload.bucket().part_size(),
            _ => shared.options.hold_back_limit,
        }
    }

    /// Appends bytes after the header.
    // Without the object store, only objects need the command and the naming context here.
    #[cfg_attr(not(feature = "object-store"), allow(unused_variables))]
    fn write_body(
        &mut self,
        chunk: &[u8],
        shared: &Shared,
        meta: &InstanceMeta,
    ) -> Result<(), StoreError> {
        match self.body.as_mut() {
            None => Ok(()),
            Some(Body::File(temp)) => temp.write(chunk).map_err(|e| write_error(temp.path(), e)),
            #[cfg(feature = "object-store")]
            Some(Body::Object(upload)) => {
                if upload.needs_start(chunk.len()) {
                    // The first part goes up: the key is decided from what has been seen.
                    let findings = self.scanner.as_ref().map(Scanner::findings);
                    let placement = placement::decide(shared, meta, findings)?;
                    let key = upload.bucket().key(&placement)?;
                    upload.start(key).map_err(|e| e.into_store_error())?;
                }
                upload.append(chunk).map_err(|e| e.into_store_error())
            }
        }
    }

    /// Writes a header that precedes everything written so far (bit-preserving mode, at once).
    fn write_header(
        &mut self,
        header: &[u8],
        shared: &Shared,
        meta: &InstanceMeta,
    ) -> Result<(), StoreError> {
        match self.body.as_mut() {
            #[cfg(feature = "object-store")]
            Some(Body::Object(upload)) => {
                upload.prepend(header);
                Ok(())
            }
            _ => self.write_body(header, shared, meta),
        }
    }

    /// The preamble, `DICM` and the meta header built from what the scanner has found (or, for
    /// an unknown transfer syntax, from the command).
    fn header(
        &self,
        shared: &Shared,
        meta: &InstanceMeta,
        uids: HeaderUids,
    ) -> Result<Vec<u8>, StoreError> {
        let generated;
        let (class, instance): (&str, &str) = match self.scanner.as_ref() {
            Some(scanner) => {
                let findings = scanner.findings();
                let found_class = findings
                    .sop_class_uid
                    .as_ref()
                    .and_then(scanner::Captured::as_uid);
                let found_instance = findings
                    .sop_instance_uid
                    .as_ref()
                    .and_then(scanner::Captured::as_uid);
                match uids {
                    HeaderUids::DataSet => {
                        let class = found_class.unwrap_or(FALLBACK_SOP_CLASS_UID);
                        // DCMTK's fallback when the data set has no SOP Instance UID at all (it
                        // was looked for in the whole data set).
                        let instance = match found_instance {
                            Some(uid) => uid,
                            None => {
                                generated = new_uid();
                                &generated
                            }
                        };
                        (class, instance)
                    }
                    HeaderUids::DataSetElseCommand => {
                        let class = found_class
                            .or(Some(meta.sop_class_uid.as_str()).filter(|c| !c.is_empty()))
                            .unwrap_or(FALLBACK_SOP_CLASS_UID);
                        (class, found_instance.unwrap_or(&meta.sop_instance_uid))
                    }
                }
            }
            // Unknown transfer syntax: the data set cannot be read, so the command's UIDs are
            // the best we have.
            None => (meta.sop_class_uid.as_str(), meta.sop_instance_uid.as_str()),
        };
        meta::part10_header(&MetaFields {
            sop_class_uid: class,
            sop_instance_uid: instance,
            transfer_syntax_uid: &meta.transfer_syntax_uid,
            implementation_class_uid: &shared.options.implementation_class_uid,
            implementation_version_name: &shared.options.implementation_version_name,
            source_ae_title: None,
        })
        .map_err(|source| StoreError::EncodeMeta {
            source: Box::new(source),
        })
    }

    /// Normal mode: writes the header, then the held-back bytes.
    fn release_held(
        &mut self,
        shared: &Shared,
        meta: &InstanceMeta,
        uids: HeaderUids,
    ) -> Result<(), StoreError> {
        let header = self.header(shared, meta, uids)?;
        let held = match std::mem::replace(&mut self.head, Head::Written) {
            Head::Held(held) => held,
            Head::Written | Head::Deferred => Vec::new(),
        };
        match self.body.as_mut() {
            None => Ok(()),
            Some(Body::File(temp)) => temp
                .write(&header)
                .and_then(|()| temp.write(&held))
                .map_err(|e| write_error(temp.path(), e)),
            #[cfg(feature = "object-store")]
            Some(Body::Object(upload)) => {
                upload.prepend(&header);
                // The header and the held bytes may fill more than a part now.
                self.write_body(&[], shared, meta)
            }
        }
    }

    /// Normal mode, the hold-back limit reached before the UIDs: a file gets the data set
    /// without its header for now ([`Head::Deferred`]); an object gets the header now, from the
    /// UIDs seen so far and the command's (the first part must go up).
    // Without the object store, only files spill, and they need no header yet.
    #[cfg_attr(not(feature = "object-store"), allow(unused_variables))]
    fn spill_held(&mut self, shared: &Shared, meta: &InstanceMeta) -> Result<(), StoreError> {
        match self.body.as_mut() {
            Some(Body::File(temp)) => {
                if let Head::Held(held) = std::mem::replace(&mut self.head, Head::Deferred) {
                    temp.write(&held).map_err(|e| write_error(temp.path(), e))?;
                }
                Ok(())
            }
            #[cfg(feature = "object-store")]
            Some(Body::Object(_)) => {
                debug!(
                    "data set UIDs not seen in the first part: the meta header takes the command's"
                );
                self.release_held(shared, meta, HeaderUids::DataSetElseCommand)
            }
            None => Ok(()),
        }
    }

    /// Normal mode, UIDs past the hold-back limit (files only): the header goes in front of the
    /// complete data set (see [`Head::Deferred`]).
    fn prepend_header(&mut self, shared: &Shared, meta: &InstanceMeta) -> Result<(), StoreError> {
        let header = self.header(shared, meta, HeaderUids::DataSet)?;
        self.head = Head::Written;
        let (Some(Body::File(temp)), Some(files)) = (self.body.take(), shared.temp_files()) else {
            return Ok(());
        };
        let shown = temp.path().to_path_buf();
        debug!("data set UIDs came after the bytes held back: writing the meta header in front");
        let joined = temp
            .prepend(&header, files)
            .map_err(|e| write_error(&shown, e))?;
        self.body = Some(Body::File(joined));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn os_reasons_look_like_strerror() {
        let e = io::Error::from_raw_os_error(28);
        assert_eq!(os_reason(&e), "No space left on device");
        let e = io::Error::from_raw_os_error(21);
        assert_eq!(os_reason(&e), "Is a directory");
        let e = io::Error::other("custom (thing)");
        assert_eq!(os_reason(&e), "custom (thing)");
    }

    #[test]
    fn kinds_map_to_dcmtk_statuses() {
        assert_eq!(ErrorKind::OutOfResources.status(), 0xA700);
        assert_eq!(ErrorKind::CannotUnderstand.status(), 0xC000);
        let e = StoreError::WriteFile {
            path: PathBuf::from("x"),
            source: io::Error::from_raw_os_error(28),
        };
        assert_eq!(e.kind(), ErrorKind::OutOfResources);
        assert_eq!(e.reason(), "cannot write file: no space left on device");
        let e = StoreError::Malformed {
            problem: "x".repeat(100),
        };
        assert_eq!(e.kind(), ErrorKind::CannotUnderstand);
        assert_eq!(e.reason().len(), 64);
        assert!(e.reason().starts_with("malformed data set: xxx"));
        assert_eq!(StoreError::EmptyDataset.kind(), ErrorKind::CannotUnderstand);
        assert_eq!(
            StoreError::MissingSopClass.kind(),
            ErrorKind::CannotUnderstand
        );
    }

    /// A storage whose `+fsu` sequence is known: start 0, key 0, start time 0x12345678.
    fn short_unique_storage(dir: &Path) -> Arc<Shared> {
        Arc::new(Shared {
            options: crate::StorageOptions::new(dir).naming(Naming::ShortUnique),
            output_directory: dir.to_path_buf(),
            target: Target::Files(crate::temp_file::TempFiles::new(dir.to_path_buf())),
            start_time: 0x1234_5678,
            short_unique: naming::ShortUniqueSequence::new(0, 0),
            system_time_names: crate::placement::SystemTimeNames::default(),
            space_guard: None,
            study_folders: crate::sorting::StudyFolders::default(),
        })
    }

    fn store_tiny(shared: &Arc<Shared>) -> Result<Stored, StoreError> {
        let meta = InstanceMeta::new("1.2.840.10008.5.1.4.1.1.2", "1.2.3", "1.2.3.4.5");
        let mut incoming = IncomingInstance::begin(Arc::clone(shared), meta)?;
        incoming.write(b"data")?;
        incoming.finish()
    }

    #[test]
    fn taken_short_names_move_on_and_1024_taken_names_give_up() {
        let dir = tempfile::tempdir().unwrap();
        let shared = short_unique_storage(dir.path());
        // Take the first 1023 names the sequence will offer: the 1024th is used.
        let offered = naming::ShortUniqueSequence::new(0, 0);
        let names: Vec<String> = (0..1024)
            .map(|_| format!("CT_12345678{:08x}", offered.next_value()))
            .collect();
        for name in &names[..1023] {
            std::fs::write(dir.path().join(name), b"taken").unwrap();
        }
        let stored = store_tiny(&shared).unwrap();
        assert_eq!(stored.path(), Some(dir.path().join(&names[1023]).as_path()));
        for name in &names[..1023] {
            assert_eq!(std::fs::read(dir.path().join(name)).unwrap(), b"taken");
        }
        // Now the next 1024 are all taken: refused, nothing added.
        for _ in 0..1024 {
            let name = format!("CT_12345678{:08x}", offered.next_value());
            std::fs::write(dir.path().join(name), b"taken").unwrap();
        }
        let error = store_tiny(&shared).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
        assert_eq!(error.reason(), "no unique file name");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1024 + 1024);
    }

    #[test]
    fn meta_values_lose_their_padding() {
        let meta = InstanceMeta::new("1.2.3\0", "4.5 ", "1.2.840.10008.1.2.1\0")
            .with_calling_ae_title("STORESCU  ");
        assert_eq!(meta.sop_class_uid(), "1.2.3");
        assert_eq!(meta.sop_instance_uid(), "4.5");
        assert_eq!(meta.transfer_syntax_uid(), "1.2.840.10008.1.2.1");
        assert_eq!(meta.calling_ae_title(), "STORESCU");
    }
}

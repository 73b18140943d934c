//! One instance on its way to disk: [`InstanceMeta`] in, [`IncomingInstance`] while the bytes
//! arrive, [`Stored`] (or a [`StoreError`]) at the end.

use std::borrow::Cow;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use snafu::Snafu;
use tracing::{debug, error, info, warn};

use crate::meta::{self, MetaFields};
use crate::naming::{
    self, SHORT_UNIQUE_ATTEMPTS, SHORT_UNKNOWN_PREFIX, ShortUniqueRandom, UNKNOWN_PREFIX,
};
use crate::options::{Mode, Naming, Subdirectories};
use crate::prefix::{modality_prefix, trim_uid};
use crate::scanner::{self, Scanner};
use crate::storage::Shared;
use crate::transfer_syntax::Syntax;
use crate::uid::new_uid;

/// DCMTK's "private generic file" SOP class, written to (0002,0002) in normal mode when the data
/// set has no usable SOP Class UID.
const FALLBACK_SOP_CLASS_UID: &str = "1.2.276.0.7230010.3.1.0.1";

/// Capacity of the write buffer in front of each file. Data set bytes arrive a PDV at a time
/// (16 KiB with DCMTK's default PDU); the file system's cost per byte falls with the size of
/// each `write` (fewer, larger page-cache folios): on ext4, 256 KiB writes cost about 6% less
/// CPU than 64 KiB ones and a third less than 16 KiB ones (`docs/profile.md`).
const WRITE_BUFFER: usize = 256 * 1024;

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
    /// full, permission denied, directory vanished, ...).
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
/// When this error is returned, nothing of the instance remains on disk: its temporary file has
/// been removed.
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
    /// A value that would become part of the file name is unusable.
    #[snafu(display("cannot use {value:?} in a file name: it {problem}"))]
    UnsafeName {
        /// The value (SOP Instance UID or the generated name).
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// `+fsu`: every candidate name exists.
    #[snafu(display("no unused short file name in {} after {attempts} attempts", directory.display()))]
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
    /// The meta header cannot be encoded from the values at hand.
    #[snafu(display("cannot encode the file meta information"))]
    EncodeMeta {
        /// The encoder's complaint.
        source: Box<dyn std::error::Error + Send + Sync>,
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
            | StoreError::Publish { .. } => ErrorKind::OutOfResources,
            StoreError::EmptyDataset
            | StoreError::MissingSopClass
            | StoreError::UnsafeName { .. }
            | StoreError::NoUniqueName { .. }
            | StoreError::Malformed { .. }
            | StoreError::EncodeMeta { .. } => ErrorKind::CannotUnderstand,
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
            StoreError::EmptyDataset => "empty data set".to_string(),
            StoreError::MissingSopClass => "no SOP class UID to name the file".to_string(),
            StoreError::UnsafeName { problem, .. } => {
                format!("file name {problem}")
            }
            StoreError::NoUniqueName { .. } => "no unique file name".to_string(),
            StoreError::Malformed { problem } => format!("malformed data set: {problem}"),
            StoreError::EncodeMeta { .. } => "cannot encode file meta information".to_string(),
            StoreError::AlreadyFailed { reason, .. } => reason.clone(),
        })
    }
}

/// A successfully received instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    path: Option<PathBuf>,
    dataset_len: u64,
    replaced: bool,
}

impl Stored {
    /// Where the file is (`None` in ignore mode, where nothing is written). The path starts with
    /// the output directory as DCMTK prints it, e.g. `./CT.1.2.3`.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The number of data set bytes received (as sent, i.e. deflated for a deflated syntax).
    pub fn dataset_len(&self) -> u64 {
        self.dataset_len
    }

    /// Whether an existing file of the same name was replaced.
    pub fn replaced(&self) -> bool {
        self.replaced
    }
}

/// The temporary file; removed on drop unless it was published.
#[derive(Debug)]
struct TempFile {
    path: PathBuf,
    writer: Option<BufWriter<File>>,
    published: bool,
}

impl TempFile {
    fn write(&mut self, bytes: &[u8]) -> Result<(), StoreError> {
        let Some(writer) = self.writer.as_mut() else {
            return Ok(());
        };
        writer.write_all(bytes).map_err(|source| {
            log_store_error(&self.path, &source);
            StoreError::WriteFile {
                path: self.path.clone(),
                source,
            }
        })
    }

    /// Flushes the buffer and, if asked, syncs the file; `shown` is the path for log lines.
    fn complete(&mut self, fsync: bool, shown: &Path) -> Result<(), StoreError> {
        let fail = |source: io::Error| {
            log_store_error(shown, &source);
            StoreError::WriteFile {
                path: shown.to_path_buf(),
                source,
            }
        };
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let file = writer.into_inner().map_err(|e| fail(e.into_error()))?;
        if fsync {
            file.sync_all().map_err(fail)?;
        }
        Ok(())
    }

    /// Publishes the file under `path` by renaming it (replacing a file of that name).
    fn rename_to(&mut self, path: &Path) -> Result<(), StoreError> {
        std::fs::rename(&self.path, path).map_err(|source| {
            log_store_error(path, &source);
            StoreError::Publish {
                from: self.path.clone(),
                to: path.to_path_buf(),
                source,
            }
        })?;
        self.published = true;
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.published {
            self.writer = None;
            match std::fs::remove_file(&self.path) {
                Ok(()) => debug!(path = %self.path.display(), "removed temporary file"),
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(e) => warn!(
                    path = %self.path.display(),
                    "cannot remove temporary file {}: {e}",
                    self.path.display()
                ),
            }
        }
    }
}

fn log_store_error(path: &Path, source: &io::Error) {
    error!(
        "cannot store received object: {}: {}",
        path.display(),
        os_reason(source)
    );
}

fn log_name_error(detail: &str) {
    error!("cannot generate directory or file name for received object: {detail}");
}

/// An instance being received: feed it the data set bytes with [`write`](Self::write), then call
/// [`finish`](Self::finish) (or [`abort`](Self::abort)).
///
/// Dropping it without finishing removes its temporary file, as `abort` does.
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

#[derive(Debug)]
struct Open {
    /// `None` in ignore mode.
    temp: Option<TempFile>,
    scanner: Option<Scanner>,
    /// Normal mode: data set bytes held back until the meta header can be written.
    held: Option<Vec<u8>>,
}

impl IncomingInstance {
    pub(crate) fn begin(
        shared: Arc<Shared>,
        meta: InstanceMeta,
    ) -> Result<IncomingInstance, StoreError> {
        let options = &shared.options;
        let syntax = Syntax::from_uid(&meta.transfer_syntax_uid);
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
        let open = match options.mode {
            Mode::Ignore => Open {
                temp: None,
                scanner: Scanner::new(syntax, true),
                held: None,
            },
            Mode::BitPreserving => {
                if default_names && meta.sop_class_uid.is_empty() {
                    error!(
                        "cannot generate directory or file name for object to be received: \
                         Invalid SOP Class UID"
                    );
                    return MissingSopClassSnafu.fail();
                }
                let mut temp = create_temp(&shared)?;
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
                temp.write(&header)?;
                let scanner = match options.subdirectories {
                    Subdirectories::SeriesDate => Scanner::new(syntax, false),
                    Subdirectories::None => None,
                };
                Open {
                    temp: Some(temp),
                    scanner,
                    held: None,
                }
            }
            Mode::Normal => {
                let temp = create_temp(&shared)?;
                let scanner = Scanner::new(syntax, true);
                let mut open = Open {
                    temp: Some(temp),
                    held: Some(Vec::new()),
                    scanner,
                };
                if open.scanner.is_none() {
                    // Unknown transfer syntax: nothing to wait for.
                    open.release_held(&shared, &meta)?;
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
    /// On error the instance is dead: its temporary file is gone, and later calls to `write` and
    /// `finish` return [`StoreError::AlreadyFailed`] with the same kind. The caller may keep
    /// feeding (the bytes are discarded) or stop; either way it must answer with the error's
    /// status.
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), StoreError> {
        self.received += chunk.len() as u64;
        let result = match &mut self.state {
            State::Open(open) => open.write(chunk, &self.shared, &self.meta),
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
            self.state = State::Failed {
                kind: e.kind(),
                reason: e.reason(),
            };
        })
    }

    /// Completes the instance: checks the data set, decides the final name, creates the
    /// sub-directory, syncs the file (with [`StorageOptions::fsync`](crate::StorageOptions::fsync)),
    /// renames the temporary file to the final name, then syncs the directory (same option).
    ///
    /// On error nothing of the instance remains on disk.
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
    /// removed and nothing is stored.
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
            scanner.finish().map_err(|e| malformed(&e))?;
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
                dataset_len: self.received,
                replaced: false,
            });
        }
        if open.held.is_some() {
            open.release_held(&self.shared, &self.meta)?;
        }
        let findings = open.scanner.as_ref().map(Scanner::findings);
        let normal = options.mode == Mode::Normal;

        // The SOP class for the prefix: the command's, else (normal mode) the data set's.
        let class = Some(self.meta.sop_class_uid.as_str())
            .filter(|c| !c.is_empty())
            .or_else(|| {
                findings
                    .filter(|_| normal)
                    .and_then(|f| f.sop_class_uid.as_ref())
                    .and_then(scanner::Captured::as_uid)
            });
        let prefix = class.and_then(modality_prefix);

        // The directory.
        let directory = match options.subdirectories {
            Subdirectories::None => self.shared.output_directory.clone(),
            Subdirectories::SeriesDate => {
                let date = findings
                    .and_then(|f| f.series_date.as_ref())
                    .filter(|c| c.vr_matches && c.complete)
                    .map(|c| c.value.as_slice());
                let today = chrono::Local::now().date_naive();
                self.shared
                    .output_directory
                    .join(naming::series_date_subdirectory(date, today))
            }
        };

        // The name (for +fsu, the first candidate; the final one is picked when publishing).
        let extension = options.extension.as_str();
        let name = match options.naming {
            Naming::Default => {
                if class.is_none() {
                    log_name_error("Invalid SOP Class UID");
                    return MissingSopClassSnafu.fail();
                }
                let instance = Some(self.meta.sop_instance_uid.as_str())
                    .filter(|i| !i.is_empty())
                    .or_else(|| {
                        findings
                            .filter(|_| normal)
                            .and_then(|f| f.sop_instance_uid.as_ref())
                            .and_then(scanner::Captured::as_uid)
                    })
                    .unwrap_or_default();
                if let Err(problem) = naming::check_instance_uid(instance) {
                    log_name_error(&format!(
                        "Invalid SOP Instance UID (value {})",
                        problem.text()
                    ));
                    return UnsafeNameSnafu {
                        value: instance,
                        problem: problem.text(),
                    }
                    .fail();
                }
                Some(naming::default_name(
                    prefix.unwrap_or(UNKNOWN_PREFIX),
                    instance,
                    extension,
                ))
            }
            Naming::UniqueUid => Some(naming::unique_uid_name(
                prefix.unwrap_or(UNKNOWN_PREFIX),
                &new_uid(),
                extension,
            )),
            Naming::SystemTime => Some(naming::system_time_name(
                chrono::Local::now().naive_local(),
                prefix.unwrap_or(UNKNOWN_PREFIX),
                extension,
            )),
            Naming::ShortUnique => None,
        };
        let name = name
            .map(|name| {
                naming::finish_component(&name).map_err(|problem| {
                    log_name_error(&format!("Invalid file name (name {})", problem.text()));
                    StoreError::UnsafeName {
                        value: name.clone(),
                        problem: problem.text(),
                    }
                })
            })
            .transpose()?;

        if options.subdirectories == Subdirectories::SeriesDate {
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

        let Some(mut temp) = open.temp.take() else {
            // Only ignore mode has no file, and it returned above.
            return Ok(Stored {
                path: None,
                dataset_len: self.received,
                replaced: false,
            });
        };
        let (path, replaced) = match name {
            Some(name) => {
                let path = directory.join(name);
                debug!("generated filename for received object: {}", path.display());
                temp.complete(options.fsync, &path)?;
                // DCMTK's OFStandard::fileExists: a directory of that name is not a file.
                let replaced = std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_dir());
                if replaced {
                    warn!("file already exists, overwriting: {}", path.display());
                }
                temp.rename_to(&path)?;
                (path, replaced)
            }
            None => {
                let prefix = prefix.unwrap_or(SHORT_UNKNOWN_PREFIX);
                let shown = directory.join(naming::short_unique_name(
                    prefix,
                    self.shared.start_time,
                    0,
                    extension,
                ));
                temp.complete(options.fsync, &shown)?;
                let path = self.publish_short_unique(&mut temp, &directory, prefix)?;
                (path, false)
            }
        };
        if options.fsync {
            File::open(&directory)
                .and_then(|dir| dir.sync_all())
                .map_err(|source| {
                    log_store_error(&path, &source);
                    StoreError::WriteFile {
                        path: path.clone(),
                        source,
                    }
                })?;
        }
        info!(
            sop_instance_uid = %self.meta.sop_instance_uid,
            "Stored received object to file: {}",
            path.display()
        );
        Ok(Stored {
            path: Some(path),
            dataset_len: self.received,
            replaced,
        })
    }

    /// `+fsu`: DCMTK's pseudo-random names, trying the next one while a file of that name exists
    /// (at most 1024 times). The file is published with a hard link, which fails instead of
    /// replacing a file that appeared meanwhile (another association), then the temporary name is
    /// removed.
    fn publish_short_unique(
        &self,
        temp: &mut TempFile,
        directory: &Path,
        prefix: &str,
    ) -> Result<PathBuf, StoreError> {
        let extension = self.shared.options.extension.as_str();
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32);
        let mut random = ShortUniqueRandom::new(now);
        for _ in 0..SHORT_UNIQUE_ATTEMPTS {
            let name = naming::short_unique_name(
                prefix,
                self.shared.start_time,
                random.next_value(),
                extension,
            );
            let name = naming::finish_component(&name).map_err(|problem| {
                log_name_error(&format!("Invalid file name (name {})", problem.text()));
                StoreError::UnsafeName {
                    value: name.clone(),
                    problem: problem.text(),
                }
            })?;
            let path = directory.join(name);
            match std::fs::symlink_metadata(&path) {
                Ok(_) => continue,
                Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                Err(_) => break,
            }
            debug!("generated filename for received object: {}", path.display());
            match std::fs::hard_link(&temp.path, &path) {
                Ok(()) => {
                    temp.published = true;
                    // A leftover temporary name is harmless; sweep_leftovers removes it.
                    let _ = std::fs::remove_file(&temp.path);
                    return Ok(path);
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(_) => {
                    // No hard links on this file system: fall back to a plain rename.
                    temp.rename_to(&path)?;
                    return Ok(path);
                }
            }
        }
        log_name_error("Could not generate filename");
        NoUniqueNameSnafu {
            directory,
            attempts: SHORT_UNIQUE_ATTEMPTS,
        }
        .fail()
    }
}

fn malformed(e: &scanner::Error) -> StoreError {
    warn!("received data set cannot be decoded: {e}");
    StoreError::Malformed {
        problem: e.to_string(),
    }
}

fn create_temp(shared: &Shared) -> Result<TempFile, StoreError> {
    match shared.create_temp() {
        Ok((path, file)) => Ok(TempFile {
            path,
            writer: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            published: false,
        }),
        Err(source) => {
            let path = shared.output_directory.join(format!(
                "{}{}-*{}",
                crate::storage::TEMP_PREFIX,
                shared.pid,
                crate::storage::TEMP_SUFFIX
            ));
            log_store_error(&path, &source);
            Err(StoreError::CreateTemporary { path, source })
        }
    }
}

impl Open {
    fn write(
        &mut self,
        chunk: &[u8],
        shared: &Shared,
        meta: &InstanceMeta,
    ) -> Result<(), StoreError> {
        if let Some(scanner) = self.scanner.as_mut() {
            scanner.feed(chunk).map_err(|e| malformed(&e))?;
        }
        match self.held.as_mut() {
            Some(held) => {
                held.extend_from_slice(chunk);
                let settled = self.scanner.as_ref().is_none_or(Scanner::uids_settled);
                if settled || held.len() >= shared.options.hold_back_limit {
                    self.release_held(shared, meta)?;
                }
                Ok(())
            }
            None => match self.temp.as_mut() {
                Some(temp) => temp.write(chunk),
                None => Ok(()),
            },
        }
    }

    /// Normal mode: writes the preamble and the meta header built from what the scanner has
    /// found, then the held-back bytes.
    fn release_held(&mut self, shared: &Shared, meta: &InstanceMeta) -> Result<(), StoreError> {
        let held = self.held.take().unwrap_or_default();
        let Some(temp) = self.temp.as_mut() else {
            return Ok(());
        };
        let generated;
        let (class, instance): (Cow<'_, str>, &str) = match self.scanner.as_ref() {
            Some(scanner) => {
                let findings = scanner.findings();
                let class = findings
                    .sop_class_uid
                    .as_ref()
                    .and_then(scanner::Captured::as_uid)
                    .unwrap_or(FALLBACK_SOP_CLASS_UID);
                let instance = match findings
                    .sop_instance_uid
                    .as_ref()
                    .and_then(scanner::Captured::as_uid)
                {
                    Some(uid) => uid,
                    None => {
                        generated = new_uid();
                        &generated
                    }
                };
                (Cow::Borrowed(class), instance)
            }
            // Unknown transfer syntax: the data set cannot be read, so the command's UIDs are
            // the best we have.
            None => (
                Cow::Borrowed(meta.sop_class_uid.as_str()),
                meta.sop_instance_uid.as_str(),
            ),
        };
        let header = meta::part10_header(&MetaFields {
            sop_class_uid: &class,
            sop_instance_uid: instance,
            transfer_syntax_uid: &meta.transfer_syntax_uid,
            implementation_class_uid: &shared.options.implementation_class_uid,
            implementation_version_name: &shared.options.implementation_version_name,
            source_ae_title: None,
        })
        .map_err(|source| StoreError::EncodeMeta {
            source: Box::new(source),
        })?;
        temp.write(&header)?;
        temp.write(&held)
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

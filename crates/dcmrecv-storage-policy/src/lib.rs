//! The storage policy of dcmrecv-rs: turns "an instance is arriving" into a DICOM Part-10 file,
//! with the directory layout, file names, meta header, statuses and log lines of DCMTK 3.6.7's
//! `dcmrecv` (DCMTK's `dcmrecv.man`, and the real `dcmrecv`'s behaviour, measured).
//!
//! It knows nothing about DICOM networking. A Storage SCP hands it the C-STORE command's values
//! ([`InstanceMeta`]) and then the data set bytes as they arrive; the bytes stream to a temporary
//! file (memory stays flat whatever the object size), and when the instance is complete the file
//! is renamed to its final name. With the `object-store` feature the same instances can go to
//! an S3-compatible bucket instead ([`StorageOptions::object_store`]), under the same names:
//!
//! ```text
//! Storage::begin(&InstanceMeta)  → IncomingInstance   temporary file opened
//! IncomingInstance::write(chunk) …                    bytes appended as they arrive, scanned
//! IncomingInstance::finish()     → Stored { path }    name decided, [fsync], rename, [fsync dir]
//! IncomingInstance::abort()                           temporary file removed
//! ```
//!
//! # Example
//!
//! ```
//! use dcmrecv_storage_policy::{InstanceMeta, Naming, Storage, StorageOptions};
//!
//! let dir = tempfile::tempdir()?;
//! let storage = Storage::new(StorageOptions::new(dir.path()).naming(Naming::Default))?;
//!
//! // A tiny Explicit VR Little Endian data set: SOP Class UID and SOP Instance UID.
//! let mut dataset = Vec::new();
//! for (element, uid) in [(0x16u16, "1.2.840.10008.5.1.4.1.1.2\0"), (0x18, "1.2.3.4")] {
//!     dataset.extend_from_slice(&[0x08, 0x00]);
//!     dataset.extend_from_slice(&element.to_le_bytes());
//!     dataset.extend_from_slice(b"UI");
//!     dataset.extend_from_slice(&(uid.len() as u16).to_le_bytes());
//!     dataset.extend_from_slice(uid.as_bytes());
//! }
//!
//! let meta = InstanceMeta::new("1.2.840.10008.5.1.4.1.1.2", "1.2.3.4", "1.2.840.10008.1.2.1")
//!     .with_calling_ae_title("STORESCU");
//! let mut incoming = storage.begin(&meta)?;
//! for chunk in dataset.chunks(5) {
//!     incoming.write(chunk)?; // as the P-DATA PDVs arrive
//! }
//! let stored = incoming.finish()?;
//! assert_eq!(stored.path(), Some(dir.path().join("CT.1.2.3.4").as_path()));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - **Layout and names as DCMTK** ([`Subdirectories`], [`Naming`]): `<od>/<name>`, or
//!   `<od>/data/YYYY/MM/DD/<name>` from a valid Series Date and `<od>/undef/<today>/<name>`
//!   otherwise (`+ssd`); `<prefix>.<SOP Instance UID>` (`+fd`), `<prefix>.X.<new UID>` (`+fu`),
//!   `<prefix>_<start time><random>` (`+fsu`, one pseudo-random sequence per process that
//!   repeats no value in 2^32 names) and `<YYYYMMDDhhmmss>.<µs>.<prefix>` (`+fst`), plus the
//!   extension (`-fe`). The generated schemes (`+fu`, `+fsu`, `+fst`) never replace a file: a
//!   taken name moves on to the next candidate (another UID, the next value, the next
//!   microsecond), up to 1024 of them. The
//!   194-row SOP class → prefix table is data (`data/modalities.tsv`, [`modality_prefix`]);
//!   unknown classes are `UNKNOWN` (`XX` with `+fsu`). New UIDs are `2.25.<UUID as decimal>`.
//! - **Three modes** ([`Mode`]). *Normal* (`-B`): 128 zero bytes, `DICM`, a 7-element meta
//!   header built like DCMTK's from the data set's SOP Class/Instance UID (fallbacks
//!   `1.2.276.0.7230010.3.1.0.1` and a new UID), then the data set. *Bit-preserving* (`+B`): an
//!   8-element meta header from the command and the calling AE title, then the data set bytes
//!   verbatim. *Ignore* (`--ignore`): receive, check, store nothing. The meta group encoding is
//!   DCMTK's byte for byte (checked against files the real `dcmrecv` wrote).
//! - **An incremental data set scanner**: a push parser for Implicit VR LE, Explicit VR LE and BE,
//!   Deflated Explicit VR LE (inflated as the bytes arrive) and the encapsulated syntaxes. It
//!   picks up (0008,0016), (0008,0018) and (0008,0021) for naming and, in normal and ignore
//!   modes, checks that the whole data set is structurally decodable; values are skipped, never
//!   copied, and memory is bounded by the nesting depth (on the heap, at most 16,384 levels of
//!   sequences). Unknown transfer syntaxes are stored unchecked and named from the command. In
//!   normal mode the first data set bytes are held back (at most
//!   [`StorageOptions::hold_back_limit`], 1 MiB by default) until the scanner has passed
//!   (0008,0018), because the meta header in front needs the UIDs; when they come later, the
//!   header is put in front of the complete data set, so it always carries the data set's own
//!   UIDs.
//! - **Duplicates** ([`OnDuplicate`], [`StorageOptions::on_duplicate`]): with default names, an
//!   instance whose file exists replaces it (DCMTK), is discarded with success (`keep`), is
//!   refused with 0xC000 (`reject`, [`StoreError::Duplicate`]) or is stored as `<name>_<n>`
//!   (`unique`); the no-replace publication decides, so two copies arriving at once never both
//!   win.
//! - **Disk back-pressure** ([`StorageOptions::min_free_space`], [`MinFreeSpace`]): below the
//!   minimum, [`Storage::begin`] refuses with [`StoreError::LowFreeSpace`] (0xA700) before any
//!   byte is written, with one warning per transition; [`Storage::free_space`] measures the
//!   file system for metrics.
//! - **A bound on the data set size** ([`StorageOptions::max_object_size`], none by default):
//!   counted as decoded, so a deflated data set is cut as soon as it inflates past the bound.
//! - **Atomic and durable**: the temporary file `<od>/.dcmrecv-tmp-<start id>-<n>.part` (a
//!   random start id per [`Storage`]) lives on the destination file system and is locked
//!   (`flock`) while it lives, so a file under a final name is always complete; it is published
//!   with `renameat2(RENAME_NOREPLACE)` (a hard link where that is missing), so nothing is ever
//!   replaced by accident; with default names the same instance again replaces the file
//!   atomically (with DCMTK's `file already exists, overwriting` warning); an error, an abort or
//!   a drop removes the temporary file; [`Storage::sweep_leftovers`] removes those no live
//!   receiver holds; [`StorageOptions::fsync`] syncs the file and then its directory before
//!   `finish` returns.
//! - **Object storage** (feature `object-store`, [`ObjectStoreOutput`]): `s3://BUCKET/PREFIX`
//!   through the `object_store` crate, configured from the `AWS_*` variables; every naming
//!   option gives the key `PREFIX/<the relative path a file would have>`. An object up to one
//!   part (6 MiB by default) goes up with a single PUT when complete; a larger one as a
//!   multipart upload of equal parts sent as they fill, a bounded number in flight per
//!   instance, on a small tokio runtime the backend owns (the API stays blocking: do not call
//!   it from async code). `finish` returns once the store has confirmed the whole object; any
//!   failure aborts the upload, so nothing is ever under a key but a whole object. Each
//!   multipart upload in flight is recorded in a marker object
//!   `PREFIX/.dcmrecv-uploads/<node id>/<start id>/<n>`; [`Storage::sweep_leftovers`] aborts
//!   the uploads recorded by earlier starts of the same [`node id`](StorageOptions::node_id).
//!   [`Storage::new`] writes and deletes a probe object, so an unreachable store, a missing
//!   bucket or refused writes fail there. Generated names cannot be checked against the store
//!   (Garage ignores `If-None-Match: *`), so they are unique by construction: `+fu` UUIDs;
//!   `+fsu` start seconds unique per start of a node (an object-store start waits for the next
//!   whole second) and a sequence that repeats no value in 2^32; `+fst` microseconds unique in
//!   a process; and the node id, which receivers sharing a bucket must each have their own.
//! - **Errors the SCP can answer with** ([`StoreError::kind`], [`StoreError::reason`]):
//!   [`ErrorKind::OutOfResources`] (0xA700: cannot create the directory or file, disk full,
//!   permission denied, directory vanished, the object store did not take the object, data set
//!   over the maximum size) and
//!   [`ErrorKind::CannotUnderstand`] (0xC000: empty data set, no SOP class for `+fd`, no free
//!   generated name, unusable UID, malformed data set).
//! - **DCMTK's log lines** as `tracing` events: `Stored received object to file: <path>` (info),
//!   `file already exists, overwriting: <path>` (warn), `cannot store received object: <path>:
//!   <OS reason>`, `cannot create directory for received object: <dir>: Cannot create directory:
//!   <OS reason>`, `cannot generate directory or file name for received object: Invalid SOP
//!   Class UID` (error), `checking and processing C-STORE request` (normal mode),
//!   `generated filename for received object: <path>` and `received dataset is not stored since
//!   the storage mode is set to 'ignore'` (debug). Paths are shaped as DCMTK
//!   prints them (`./CT...`, `sub/CT...`).
//!
//! # Safety of paths
//!
//! File names and directories are made only from validated values. Series Date only ever
//! contributes digits. The SOP class only selects a prefix from the table. The SOP Instance UID
//! (`+fd`) and the extension follow Debian's DCMTK (its CVE-2022-2119/2120 fix, measured byte by
//! byte against the real `dcmrecv`): every byte of the generated file name outside
//! `[A-Za-z0-9 .:@_-]` becomes `_`, so `/`, `\`, `$`, `;`, `*`, control characters and non-ASCII
//! bytes never reach a file name. In addition, and unlike DCMTK, a SOP Instance UID longer than
//! 64 characters or holding a NUL (DCMTK cuts the name there), and a name that is empty, `.` or
//! `..` are refused with [`ErrorKind::CannotUnderstand`]. Nothing can therefore name a path
//! outside the output directory.
//!
//! # Where we differ from DCMTK on purpose
//!
//! - Normal mode stores the received data set bytes as they are. DCMTK decodes and re-encodes
//!   them: it writes every sequence and item with undefined length and recalculates group length
//!   elements. Our files keep explicit lengths and whatever group lengths were sent; they are
//!   byte-identical to what the sender encoded, and memory stays flat.
//! - A data set that cannot be decoded is answered with 0xC000 (DCMTK aborts the association
//!   without a response); the same in ignore mode.
//! - Bit-preserving mode works with Series Date sub-directories (DCMTK refuses `+B +ssd`), and
//!   with default names and an empty SOP Class UID in the command it answers 0xC000 where DCMTK
//!   aborts the association.
//! - Temporary file + rename: DCMTK writes the final file in place (and in bit-preserving mode
//!   deletes a previously stored file of the same name when a resend fails).
//! - `+fu` UIDs are `2.25.<UUID>`, not under OFFIS's root; the meta header's Implementation
//!   Class UID and Version Names are ours ([`DEFAULT_IMPLEMENTATION_CLASS_UID`]), settable with
//!   [`StorageOptions::implementation`].
//! - `+fsu` draws its pseudo-random part from one sequence per process instead of DCMTK's
//!   generator re-seeded with the current second for every object (which refuses objects once
//!   1024 arrive in one second); the name shape is the same.
//! - Data sets nested more than 16,384 sequences deep are answered with 0xC000. DCMTK recurses
//!   once a level: it stores 9,000 levels and dies of a stack overflow (the whole process, every
//!   association) at 10,000 with the usual 8 MiB stack.
//! - A NUL in a SOP Instance UID is refused (0xC000); DCMTK cuts the file name at the NUL.
//! - With a node id ([`StorageOptions::node_id`]), `+fsu` and `+fst` names carry `-<node id>`
//!   after their unique part.
//!
//! # Where objects differ from files
//!
//! - `+fd`: an instance stored again replaces its object without DCMTK's `file already exists,
//!   overwriting` warning (finding out would cost a HEAD request per object);
//!   [`Stored::replaced`] is `false`.
//! - Normal mode: when the data set's UIDs come later than one part into it, the first part
//!   goes up with a meta header built from the UIDs seen so far and the command's for the
//!   others (a file gets the data set's, put in front at the end). The backend never invents a
//!   UID there; a complete data set without a SOP Instance UID gets a new one, as DCMTK does.
//! - For an object larger than one part the key (the `+ssd` directory, the `+fst` time) is
//!   decided when its first part goes up, not when it is complete.
//! - Fsync has no effect: the store decides durability.

#[cfg(feature = "object-store")]
mod bucket;
mod duplicates;
mod free_space;
#[doc(hidden)]
pub mod fuzzing;
mod incoming;
mod meta;
mod naming;
mod options;
mod output_template;
mod placement;
mod prefix;
mod rename;
mod scanner;
mod sorting;
mod storage;
mod sweep;
mod temp_file;
mod transfer_syntax;
mod uid;

#[cfg(test)]
mod test_support;

#[cfg(feature = "object-store")]
pub use bucket::ObjectStoreOutput;
pub use duplicates::OnDuplicate;
pub use free_space::{FreeSpace, MinFreeSpace, MinFreeSpaceError};
pub use incoming::{ErrorKind, IncomingInstance, InstanceMeta, StoreError, Stored};
pub use naming::{
    check_node_id, default_node_id, is_object_store_url, local_node_id, normalize_output_directory,
};
pub use options::{
    DEFAULT_BIT_PRESERVING_VERSION_NAME, DEFAULT_HOLD_BACK_LIMIT, DEFAULT_IMPLEMENTATION_CLASS_UID,
    DEFAULT_IMPLEMENTATION_VERSION_NAME, Mode, Naming, StorageOptions, Subdirectories,
};
pub use output_template::{AttributeTag, OutputTemplate, TemplateError};
pub use prefix::modality_prefix;
pub use rename::rename_study_files;
pub use sorting::{MAX_REMEMBERED_STUDIES, Sorting};
pub use storage::{OpenError, Storage};
pub use sweep::{Leftover, SweepError};

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

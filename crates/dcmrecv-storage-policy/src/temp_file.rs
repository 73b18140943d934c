//! Temporary files: created in the output directory, locked while they live, and published
//! under their final name without ever replacing a file by accident.
//!
//! - **Names** are `.dcmrecv-tmp-<start id>-<n>.part`: the start id is 16 random hex digits
//!   drawn once per [`TempFiles`] (once per receiver start), so a restarted receiver never
//!   reuses a name of an earlier run, even with the same process ID (always 1 in a container).
//! - **Unnamed until needed** (Linux, `O_TMPFILE`): a temporary file starts without a name and
//!   unlocked. An object of at most [`NAME_AFTER`] bytes (32 KiB: the small objects whose
//!   per-object cost limits a busy receiver) is published by linking it straight to its final
//!   name (`linkat`, which never replaces a file): one directory operation per object instead
//!   of three (link the temporary name, then rename it), and nothing to sweep after a crash
//!   (the kernel frees an unnamed file with its last descriptor). A larger object gets its
//!   temporary name as soon as more has arrived, so an object in flight is visible in the
//!   output directory as before.
//! - **Liveness** is an exclusive `flock` held on each named temporary file from the moment it
//!   has a name until it is published or removed. A file nobody holds a lock on belongs to no live receiver: that
//!   is what [`sweep`](crate::sweep) removes. Two receivers sharing an output directory
//!   therefore never remove each other's transfers in flight.
//! - **Publication** is `renameat2(RENAME_NOREPLACE)`: one system call that fails with `EEXIST`
//!   instead of replacing a file of that name. Where the file system does not support it (NFS,
//!   some FUSE file systems), a hard link plus the removal of the temporary name does the same
//!   in two calls; where there are no hard links either, a check followed by a rename (not
//!   atomic, the last resort). [`TempFile::publish_replacing`] is for DCMTK's default names,
//!   where storing the same instance again replaces the file.

use std::fs::{File, OpenOptions};
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};

use tracing::{debug, warn};

/// Temporary files are named `.dcmrecv-tmp-<start id>-<n>.part`: hidden, and with an extension
/// no DICOM scanner or watcher takes for a DICOM file.
pub(crate) const TEMP_PREFIX: &str = ".dcmrecv-tmp-";
/// See [`TEMP_PREFIX`].
pub(crate) const TEMP_SUFFIX: &str = ".part";

/// How many temporary names to try when one is taken (which takes another receiver drawing the
/// same random start id).
const TEMP_ATTEMPTS: u32 = 64;

/// Capacity of the write buffer in front of each file. Data set bytes arrive a PDV at a time
/// (16 KiB with DCMTK's default PDU); the file system's cost per byte falls with the size of
/// each `write` (fewer, larger page-cache folios): on ext4, 256 KiB writes cost about 6% less
/// CPU than 64 KiB ones and a third less than 16 KiB ones (`docs/profile.md`).
const WRITE_BUFFER: usize = 256 * 1024;

/// An unnamed temporary file gets its temporary name once more than this many bytes were
/// written to it (always before any byte leaves the write buffer).
pub(crate) const NAME_AFTER: u64 = 32 * 1024;

/// How [`TempFile::publish_no_replace`] publishes on this file system, learnt from the first
/// attempts (see the module docs).
const PUBLISH_RENAME_NOREPLACE: u8 = 0;
const PUBLISH_LINK: u8 = 1;
const PUBLISH_CHECK_THEN_RENAME: u8 = 2;

/// Whether `name` has the shape of one of our temporary files (`.dcmrecv-tmp-<id>-<n>.part`
/// with a non-empty hex or decimal id, which also covers the `<pid>` names of earlier
/// versions), and its start id.
pub(crate) fn temp_file_start_id(name: &str) -> Option<&str> {
    let middle = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (id, n) = middle.split_once('-')?;
    let hex = !id.is_empty() && id.bytes().all(|b| b.is_ascii_hexdigit());
    let digits = !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit());
    (hex && digits).then_some(id)
}

/// The temporary files of one receiver start: their directory, start id and counter.
#[derive(Debug)]
pub(crate) struct TempFiles {
    directory: PathBuf,
    start_id: String,
    counter: AtomicU64,
    /// Temporary files are created unnamed and then linked to their temporary name (see
    /// [`TempFiles::create`]); cleared when that does not work on this system.
    create_unnamed: AtomicBool,
    /// One of the `PUBLISH_*` values.
    publish: AtomicU8,
}

impl TempFiles {
    /// Temporary files in `directory`, with a fresh random start id.
    pub(crate) fn new(directory: PathBuf) -> TempFiles {
        let random = uuid::Uuid::new_v4().as_u128() as u64;
        TempFiles::with_start_id(directory, format!("{random:016x}"))
    }

    fn with_start_id(directory: PathBuf, start_id: String) -> TempFiles {
        TempFiles {
            directory,
            start_id,
            counter: AtomicU64::new(0),
            create_unnamed: AtomicBool::new(true),
            publish: AtomicU8::new(PUBLISH_RENAME_NOREPLACE),
        }
    }

    /// This start's id (the `<start id>` of the temporary names).
    pub(crate) fn start_id(&self) -> &str {
        &self.start_id
    }

    /// The pattern of this start's temporary names, for log lines about a file that could not
    /// be created: `<od>/.dcmrecv-tmp-<start id>-*.part`.
    pub(crate) fn pattern(&self) -> PathBuf {
        self.directory
            .join(format!("{TEMP_PREFIX}{}-*{TEMP_SUFFIX}", self.start_id))
    }

    /// Creates a new, empty, locked temporary file `<od>/.dcmrecv-tmp-<start id>-<n>.part`.
    ///
    /// On Linux the file is first created without a name (`O_TMPFILE`), locked, and then linked
    /// to its temporary name. The result is the same as creating it by name, but the expensive
    /// part, allocating the inode, does not hold the output directory's lock, which every
    /// association creating or renaming a file in that directory needs: with several
    /// associations the creations no longer queue behind each other (measured in
    /// `docs/profile.md`); and the file is locked before anyone can see it. Where unnamed files
    /// are not supported (some file systems, no `/proc`), files are created by name.
    pub(crate) fn create(&self) -> io::Result<TempFile> {
        let (path, file, named) = self.create_file()?;
        Ok(TempFile {
            path,
            named,
            written: 0,
            writer: Some(BufWriter::with_capacity(WRITE_BUFFER, file)),
            file: None,
            published: false,
        })
    }

    /// The file, its (reserved or actual) temporary path, and whether it has that name.
    fn create_file(&self) -> io::Result<(PathBuf, File, bool)> {
        #[cfg(target_os = "linux")]
        if self.create_unnamed.load(Ordering::Relaxed) {
            match self.create_unnamed() {
                Ok((path, file)) => return Ok((path, file, false)),
                Err(unnamed) => {
                    // A failure that creating by name shares (the directory is gone, the disk
                    // is full) is reported by that attempt; if creating by name works, unnamed
                    // files do not work here, and are not tried again.
                    let named = self.create_named().map(|(path, file)| (path, file, true));
                    if named.is_ok() {
                        self.create_unnamed.store(false, Ordering::Relaxed);
                        debug!(
                            "cannot create unnamed temporary files in {} ({unnamed}): creating them by name",
                            self.directory.display()
                        );
                    }
                    return named;
                }
            }
        }
        self.create_named().map(|(path, file)| (path, file, true))
    }

    /// The next temporary path.
    fn next_path(&self) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.directory
            .join(format!("{TEMP_PREFIX}{}-{n}{TEMP_SUFFIX}", self.start_id))
    }

    /// Creates the temporary file by name, then locks it. Between the two, a receiver sweeping
    /// the directory may take the file for a leftover: then the lock is refused, or the name no
    /// longer leads to our file, and the next name is tried.
    fn create_named(&self) -> io::Result<(PathBuf, File)> {
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..TEMP_ATTEMPTS {
            let path = self.next_path();
            let file = match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => file,
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                    last = e;
                    continue;
                }
                Err(e) => return Err(e),
            };
            match try_lock(&file) {
                Ok(true) if still_named(&file, &path) => return Ok((path, file)),
                Ok(_) => last = io::ErrorKind::AlreadyExists.into(),
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Creates the temporary file without a name (`O_TMPFILE`); it gets the returned
    /// temporary path, and its lock, only when [`TempFile::name`] links it there. The file's
    /// mode is the one a file created by name gets (0666 less the umask).
    #[cfg(target_os = "linux")]
    fn create_unnamed(&self) -> io::Result<(PathBuf, File)> {
        use rustix::fs::{Mode, OFlags};

        let file = File::from(rustix::fs::open(
            &self.directory,
            OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        )?);
        Ok((self.next_path(), file))
    }

    /// Moves `from` to `to` unless a file named `to` exists (then `AlreadyExists`), with the
    /// best primitive this file system offers (see the module docs).
    fn rename_no_replace(&self, from: &Path, to: &Path) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if self.publish.load(Ordering::Relaxed) == PUBLISH_RENAME_NOREPLACE {
            use rustix::fs::{CWD, RenameFlags};
            match rustix::fs::renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
                Ok(()) => return Ok(()),
                // Not supported by this file system (or kernel): fall back, from now on.
                Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
                    self.fall_back(PUBLISH_LINK, "renameat2(RENAME_NOREPLACE)");
                }
                Err(e) => return Err(e.into()),
            }
        }
        #[cfg(not(target_os = "linux"))]
        if self.publish.load(Ordering::Relaxed) == PUBLISH_RENAME_NOREPLACE {
            self.publish.store(PUBLISH_LINK, Ordering::Relaxed);
        }
        if self.publish.load(Ordering::Relaxed) == PUBLISH_LINK {
            match std::fs::hard_link(from, to) {
                Ok(()) => {
                    // A temporary name left behind is harmless: nobody holds a lock on it once
                    // the file is closed, so the next sweep removes the name (the final name
                    // stays).
                    let _ = std::fs::remove_file(from);
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Err(e),
                Err(e) if is_unsupported(&e) => {
                    self.fall_back(PUBLISH_CHECK_THEN_RENAME, "hard links");
                }
                Err(e) => return Err(e),
            }
        }
        // The last resort: not atomic, so a file that appears between the check and the
        // rename is replaced.
        match std::fs::symlink_metadata(to) {
            Ok(_) => Err(io::ErrorKind::AlreadyExists.into()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => std::fs::rename(from, to),
            Err(e) => Err(e),
        }
    }

    fn fall_back(&self, mode: u8, what: &str) {
        if self.publish.swap(mode, Ordering::Relaxed) != mode {
            warn!(
                "{what} not supported in {}: publishing files without it",
                self.directory.display()
            );
        }
    }
}

/// Locks an unnamed file and links it to its reserved temporary name `path`, or, if a file of
/// that name appeared (another receiver with the same random start id), to a name of the same
/// shape outside the counter's range; returns the name.
#[cfg(target_os = "linux")]
fn link_unnamed(file: &File, path: &Path) -> io::Result<PathBuf> {
    if !try_lock(file)? {
        return Err(io::Error::other("cannot lock a new unnamed file"));
    }
    let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
    let mut candidate = path.to_path_buf();
    for attempt in 1..=u64::from(TEMP_ATTEMPTS) {
        match link_descriptor(file, &candidate) {
            Ok(()) => return Ok(candidate),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
            Err(e) => return Err(e),
        }
        // `.dcmrecv-tmp-<id>-<n>.part` becomes `.dcmrecv-tmp-<id>-<n + attempt * 10^15>.part`:
        // still a temporary name the sweep knows, and never one the counter reaches.
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let renamed = name.as_deref().and_then(|name| {
            let stem = name.strip_suffix(TEMP_SUFFIX)?;
            let (head, n) = stem.rsplit_once('-')?;
            let n: u64 = n.parse().ok()?;
            Some(format!(
                "{head}-{}{TEMP_SUFFIX}",
                n + attempt * 1_000_000_000_000_000
            ))
        });
        match renamed {
            Some(renamed) => candidate = path.with_file_name(renamed),
            None => break,
        }
    }
    Err(last)
}

/// Gives an open unnamed file the name `path` (`EEXIST`, as `AlreadyExists`, if taken: a
/// link never replaces a file). Linking the descriptor through /proc needs no privilege
/// (linkat(2)), unlike `AT_EMPTY_PATH`.
#[cfg(target_os = "linux")]
fn link_descriptor(file: &File, path: &Path) -> io::Result<()> {
    use rustix::fs::{AtFlags, CWD};
    use std::os::fd::AsRawFd;

    let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
    rustix::fs::linkat(CWD, &proc_path, CWD, path, AtFlags::SYMLINK_FOLLOW).map_err(io::Error::from)
}

/// Whether a hard link failed because the file system has none (`EPERM`, `EOPNOTSUPP`,
/// `ENOSYS`), rather than for a reason that a rename would share (`EACCES`, `EROFS`, `ENOSPC`).
fn is_unsupported(error: &io::Error) -> bool {
    matches!(error.raw_os_error(), Some(1 | 38 | 95))
}

/// Takes the exclusive lock on `file` without waiting: `Ok(false)` if someone holds it.
#[cfg(unix)]
pub(crate) fn try_lock(file: &File) -> io::Result<bool> {
    use rustix::fs::FlockOperation;
    match rustix::fs::flock(file, FlockOperation::NonBlockingLockExclusive) {
        Ok(()) => Ok(true),
        Err(rustix::io::Errno::WOULDBLOCK) => Ok(false),
        Err(e) => Err(e.into()),
    }
}

/// Without `flock`, every file counts as unlocked.
#[cfg(not(unix))]
pub(crate) fn try_lock(_file: &File) -> io::Result<bool> {
    Ok(true)
}

/// Whether `path` still names `file` (and not nothing, or another file).
#[cfg(unix)]
fn still_named(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_named(_file: &File, path: &Path) -> bool {
    path.exists()
}

/// A temporary file of one instance: removed on drop unless it was published.
#[derive(Debug)]
pub(crate) struct TempFile {
    /// Its temporary name, or the name it gets if it needs one (see [`TempFile::name`]).
    path: PathBuf,
    /// Whether the file has that name (always, unless created unnamed and not named yet).
    named: bool,
    /// Bytes written so far.
    written: u64,
    /// While bytes are being written.
    writer: Option<BufWriter<File>>,
    /// Once complete: kept open, so that its lock lasts until it is published.
    file: Option<File>,
    published: bool,
}

impl TempFile {
    /// The temporary path.
    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Appends bytes. An unnamed file gets its temporary name once more than [`NAME_AFTER`]
    /// bytes have arrived, so that an object in flight is visible.
    pub(crate) fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        if self.writer.is_none() {
            return Ok(());
        }
        self.written += bytes.len() as u64;
        if !self.named && self.written > NAME_AFTER {
            self.name()?;
        }
        match self.writer.as_mut() {
            Some(writer) => writer.write_all(bytes),
            None => Ok(()),
        }
    }

    /// Gives an unnamed file its temporary name (and lock); nothing for a named one.
    pub(crate) fn name(&mut self) -> io::Result<()> {
        if self.named {
            return Ok(());
        }
        #[cfg(target_os = "linux")]
        {
            let file = match (self.writer.as_ref(), self.file.as_ref()) {
                (Some(writer), _) => writer.get_ref(),
                (None, Some(file)) => file,
                (None, None) => return Err(io::Error::other("the temporary file is closed")),
            };
            self.path = link_unnamed(file, &self.path)?;
            self.named = true;
        }
        Ok(())
    }

    /// Flushes the buffer and, if asked, syncs the file. The file stays open (and locked).
    pub(crate) fn complete(&mut self, fsync: bool) -> io::Result<()> {
        let Some(writer) = self.writer.take() else {
            return Ok(());
        };
        let file = writer.into_inner().map_err(|e| e.into_error())?;
        if fsync {
            file.sync_all()?;
        }
        self.file = Some(file);
        Ok(())
    }

    /// A new temporary file from `files` holding `head` followed by everything written to this
    /// one (which is removed): for a meta header that can only be built once the data set is
    /// complete. The copy runs in the kernel (`copy_file_range`) where it can.
    pub(crate) fn prepend(mut self, head: &[u8], files: &TempFiles) -> io::Result<TempFile> {
        self.complete(false)?;
        self.name()?;
        let mut joined = files.create()?;
        joined.write(head)?;
        let mut source = File::open(&self.path)?;
        if let Some(writer) = joined.writer.as_mut() {
            writer.flush()?;
            io::copy(&mut source, writer.get_mut())?;
        }
        Ok(joined)
    }

    /// Publishes the file under `path` unless a file of that name exists, in which case it
    /// fails with [`io::ErrorKind::AlreadyExists`] and the temporary file stays as it is.
    pub(crate) fn publish_no_replace(&mut self, path: &Path, files: &TempFiles) -> io::Result<()> {
        #[cfg(target_os = "linux")]
        if !self.named {
            let file = match (self.file.as_ref(), self.writer.as_ref()) {
                (Some(file), _) => file,
                (None, Some(writer)) => writer.get_ref(),
                (None, None) => return Err(io::Error::other("the temporary file is closed")),
            };
            link_descriptor(file, path)?;
            self.published = true;
            return Ok(());
        }
        files.rename_no_replace(&self.path, path)?;
        self.published = true;
        Ok(())
    }

    /// Publishes the file under `path`, replacing a file of that name (DCMTK's behaviour for
    /// default names: the same instance again). Returns whether a file was replaced; the caller
    /// logs DCMTK's warning first, through `on_replace`.
    pub(crate) fn publish_replacing(
        &mut self,
        path: &Path,
        files: &TempFiles,
        on_replace: impl FnOnce(),
    ) -> io::Result<bool> {
        match self.publish_no_replace(path, files) {
            Ok(()) => Ok(false),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
                on_replace();
                // rename(2) is what replaces; it needs a name to move.
                self.name()?;
                std::fs::rename(&self.path, path)?;
                self.published = true;
                Ok(true)
            }
            Err(e) => Err(e),
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        // An unnamed file goes with its descriptor.
        if !self.published && self.named {
            // Removed while still locked; the lock goes with the descriptor.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn only_our_pattern_matches() {
        let id = temp_file_start_id;
        assert_eq!(
            id(".dcmrecv-tmp-0123456789abcdef-0.part"),
            Some("0123456789abcdef")
        );
        // Earlier versions named them after the process ID.
        assert_eq!(id(".dcmrecv-tmp-123-18.part"), Some("123"));
        assert_eq!(id(".dcmrecv-tmp-123-0.part.dcm"), None);
        assert_eq!(id("dcmrecv-tmp-123-0.part"), None);
        assert_eq!(id(".dcmrecv-tmp-123.part"), None);
        assert_eq!(id(".dcmrecv-tmp--0.part"), None);
        assert_eq!(id(".dcmrecv-tmp-12g-0.part"), None);
        assert_eq!(id(".dcmrecv-tmp-1-2-3.part"), None);
        assert_eq!(id(".dcmrecv-tmp-1-.part"), None);
        assert_eq!(id("CT.1.2.3"), None);
    }

    #[test]
    fn every_start_has_its_own_names() {
        let dir = tempfile::tempdir().unwrap();
        let a = TempFiles::new(dir.path().to_path_buf());
        let b = TempFiles::new(dir.path().to_path_buf());
        assert_ne!(a.start_id(), b.start_id());
        assert_eq!(a.start_id().len(), 16);
        let (mut fa, mut fb) = (a.create().unwrap(), b.create().unwrap());
        fa.name().unwrap();
        fb.name().unwrap();
        assert_eq!(names(dir.path()), {
            let mut v = vec![
                format!(".dcmrecv-tmp-{}-0.part", a.start_id()),
                format!(".dcmrecv-tmp-{}-0.part", b.start_id()),
            ];
            v.sort();
            v
        });
        drop((fa, fb));
        assert!(names(dir.path()).is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn temporary_files_get_their_name_mode_and_lock_however_they_are_created() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let files = TempFiles::with_start_id(dir.path().to_path_buf(), "ab".to_string());
        let named = files.create_named().unwrap();
        let mut created = files.create().unwrap();
        // On Linux the second one was created unnamed, and linked to its name when asked.
        #[cfg(target_os = "linux")]
        assert!(files.create_unnamed.load(Ordering::Relaxed) && !created.named);
        created.name().unwrap();
        assert_eq!(created.path(), dir.path().join(".dcmrecv-tmp-ab-1.part"));
        created.write(b"bytes").unwrap();
        created.complete(false).unwrap();
        assert_eq!(std::fs::read(created.path()).unwrap(), b"bytes");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(created.path()), mode(&named.0));
        assert_eq!(
            names(dir.path()),
            [".dcmrecv-tmp-ab-0.part", ".dcmrecv-tmp-ab-1.part"]
        );
        // Both are locked while they live (also after `complete`), by whoever opens them.
        for path in [&named.0, &created.path().to_path_buf()] {
            let other = File::open(path).unwrap();
            assert!(!try_lock(&other).unwrap(), "{}", path.display());
        }
        let path = created.path().to_path_buf();
        drop(created);
        assert!(!path.exists());
    }

    #[test]
    fn taken_temporary_names_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let files = TempFiles::with_start_id(dir.path().to_path_buf(), "1".to_string());
        for n in 0..3 {
            std::fs::write(dir.path().join(format!(".dcmrecv-tmp-1-{n}.part")), b"x").unwrap();
        }
        let created = files.create_named().unwrap();
        assert_eq!(created.0, dir.path().join(".dcmrecv-tmp-1-3.part"));
        // An unnamed file whose reserved name was taken gets one beyond the counter's range.
        #[cfg(target_os = "linux")]
        {
            std::fs::write(dir.path().join(".dcmrecv-tmp-1-4.part"), b"x").unwrap();
            let mut unnamed = files.create().unwrap();
            unnamed.name().unwrap();
            assert_eq!(
                unnamed.path(),
                dir.path().join(".dcmrecv-tmp-1-1000000000000004.part")
            );
            assert_eq!(
                temp_file_start_id(".dcmrecv-tmp-1-1000000000000004.part"),
                Some("1")
            );
        }
        assert_eq!(
            std::fs::read(dir.path().join(".dcmrecv-tmp-1-0.part")).unwrap(),
            b"x"
        );
    }

    #[test]
    fn a_missing_directory_fails_as_when_creating_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let files = TempFiles::new(dir.path().join("gone"));
        let error = files.create().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        // Not a reason to stop creating unnamed files.
        assert!(files.create_unnamed.load(Ordering::Relaxed));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_small_object_is_never_named_before_its_final_name_and_a_larger_one_is_in_flight() {
        let dir = tempfile::tempdir().unwrap();
        let files = TempFiles::with_start_id(dir.path().to_path_buf(), "c".to_string());
        // Small: nothing visible until published, then only the final name.
        let mut small = files.create().unwrap();
        small.write(&[7; 1000]).unwrap();
        small.complete(true).unwrap();
        assert!(names(dir.path()).is_empty());
        small
            .publish_no_replace(&dir.path().join("CT.small"), &files)
            .unwrap();
        drop(small);
        assert_eq!(names(dir.path()), ["CT.small"]);
        assert_eq!(
            std::fs::read(dir.path().join("CT.small")).unwrap(),
            [7; 1000]
        );
        // A small one dropped (aborted, or its receiver killed) leaves nothing.
        let mut aborted = files.create().unwrap();
        aborted.write(&[1; 100]).unwrap();
        drop(aborted);
        assert_eq!(names(dir.path()), ["CT.small"]);
        // Large: named (and locked) before its first bytes reach the file.
        let mut large = files.create().unwrap();
        large.write(&vec![2; NAME_AFTER as usize - 10]).unwrap();
        assert_eq!(names(dir.path()), ["CT.small"]);
        large.write(&[3; 20]).unwrap();
        assert_eq!(names(dir.path()), [".dcmrecv-tmp-c-2.part", "CT.small"]);
        let other = File::open(large.path()).unwrap();
        assert!(!try_lock(&other).unwrap());
        large.complete(false).unwrap();
        large
            .publish_no_replace(&dir.path().join("CT.large"), &files)
            .unwrap();
        assert_eq!(names(dir.path()), ["CT.large", "CT.small"]);
        assert_eq!(
            std::fs::metadata(dir.path().join("CT.large"))
                .unwrap()
                .len(),
            NAME_AFTER + 10
        );
    }

    fn published(files: &TempFiles, bytes: &[u8], to: &Path) -> io::Result<()> {
        let mut temp = files.create()?;
        // Named, so that the publication primitive under test is the one used.
        temp.name()?;
        temp.write(bytes)?;
        temp.complete(false)?;
        temp.publish_no_replace(to, files)
    }

    #[test]
    fn publishing_never_replaces_a_file_with_any_primitive() {
        for mode in [
            PUBLISH_RENAME_NOREPLACE,
            PUBLISH_LINK,
            PUBLISH_CHECK_THEN_RENAME,
        ] {
            let dir = tempfile::tempdir().unwrap();
            let files = TempFiles::new(dir.path().to_path_buf());
            files.publish.store(mode, Ordering::Relaxed);
            let target = dir.path().join("CT.1");
            published(&files, b"first", &target).unwrap();
            let error = published(&files, b"second", &target).unwrap_err();
            assert_eq!(error.kind(), io::ErrorKind::AlreadyExists, "mode {mode}");
            assert_eq!(std::fs::read(&target).unwrap(), b"first", "mode {mode}");
            // The refused temporary file was removed when it was dropped; nothing else left.
            assert_eq!(names(dir.path()), ["CT.1"], "mode {mode}");
            // The primitive worked here: no fallback was needed.
            assert_eq!(files.publish.load(Ordering::Relaxed), mode);
        }
    }

    #[test]
    fn publishing_with_replacement_replaces_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let files = TempFiles::new(dir.path().to_path_buf());
        let target = dir.path().join("CT.1");
        for (bytes, expect_replaced) in [(&b"first"[..], false), (b"second", true)] {
            let mut temp = files.create().unwrap();
            temp.write(bytes).unwrap();
            temp.complete(false).unwrap();
            let mut warned = false;
            let replaced = temp
                .publish_replacing(&target, &files, || warned = true)
                .unwrap();
            assert_eq!((replaced, warned), (expect_replaced, expect_replaced));
        }
        assert_eq!(std::fs::read(&target).unwrap(), b"second");
        assert_eq!(names(dir.path()), ["CT.1"]);
    }

    #[test]
    fn a_header_can_be_put_in_front_afterwards() {
        let dir = tempfile::tempdir().unwrap();
        let files = TempFiles::new(dir.path().to_path_buf());
        let mut temp = files.create().unwrap();
        let body: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        temp.write(&body).unwrap();
        let mut joined = temp.prepend(b"HEAD", &files).unwrap();
        joined.complete(false).unwrap();
        let target = dir.path().join("joined");
        joined.publish_no_replace(&target, &files).unwrap();
        let bytes = std::fs::read(&target).unwrap();
        assert_eq!(&bytes[..4], b"HEAD");
        assert_eq!(&bytes[4..], &body[..]);
        assert_eq!(names(dir.path()), ["joined"]);
    }
}

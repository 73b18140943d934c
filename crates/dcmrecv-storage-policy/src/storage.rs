//! [`Storage`]: the validated options plus the little state shared by every instance.

use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use snafu::{ResultExt, Snafu, ensure};
use tracing::debug;

use crate::incoming::{IncomingInstance, InstanceMeta, StoreError};
use crate::naming::{check_extension, normalize_output_directory};
use crate::options::StorageOptions;
use crate::sweep::{self, SweepError};

/// Temporary files are named `.dcmrecv-tmp-<pid>-<n>.part`: hidden, and with an extension no
/// DICOM scanner or watcher takes for a DICOM file.
pub(crate) const TEMP_PREFIX: &str = ".dcmrecv-tmp-";
/// See [`TEMP_PREFIX`].
pub(crate) const TEMP_SUFFIX: &str = ".part";

/// How many temporary names to try when one is taken (e.g. by a crashed process that had our
/// process ID).
const TEMP_ATTEMPTS: u32 = 64;

/// Why a [`Storage`] cannot be set up. Each of these ends the program: `dcmrecv` exits with code
/// 45 for the three output-directory variants.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum OpenError {
    /// The output directory does not exist (or cannot be examined). DCMTK: `cannot specify output
    /// directory: Directory does not exist`.
    #[snafu(display("output directory {} does not exist", path.display()))]
    OutputDirectoryMissing {
        /// The directory, as normalised.
        path: PathBuf,
        /// Why it could not be examined.
        source: io::Error,
    },
    /// The output path exists but is not a directory. DCMTK reports this as `Directory does not
    /// exist` too.
    #[snafu(display("output directory {} is not a directory", path.display()))]
    OutputNotADirectory {
        /// The path, as normalised.
        path: PathBuf,
    },
    /// No file can be created in the output directory. DCMTK: `cannot specify output directory:
    /// Directory is not writable`.
    #[snafu(display("output directory {} is not writable", path.display()))]
    OutputDirectoryNotWritable {
        /// The directory, as normalised.
        path: PathBuf,
        /// Why a probe file could not be created.
        source: io::Error,
    },
    /// The file-name extension holds a byte that is not printable ASCII.
    #[snafu(display("file name extension {extension:?} is not printable ASCII"))]
    InvalidExtension {
        /// The extension as given.
        extension: String,
    },
    /// The Implementation Class UID or a version name cannot be written to a meta header.
    #[snafu(display("invalid implementation identification {value:?}: {problem}"))]
    InvalidImplementation {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
}

/// What every [`IncomingInstance`] of one [`Storage`] shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) options: StorageOptions,
    /// The output directory as DCMTK prints it (see `normalize_output_directory`).
    pub(crate) output_directory: PathBuf,
    pub(crate) pid: u32,
    counter: AtomicU64,
    /// Unix time at which the storage was created: the first 8 hex digits of `+fsu` names.
    pub(crate) start_time: u32,
    /// Temporary files are created unnamed and then linked to their temporary name (see
    /// [`Shared::create_temp`]); cleared when that does not work on this system.
    create_unnamed: AtomicBool,
}

impl Shared {
    /// Creates a new, empty temporary file `<od>/.dcmrecv-tmp-<pid>-<n>.part`.
    ///
    /// On Linux the file is first created without a name (`O_TMPFILE`) and then linked to its
    /// temporary name. The result is the same as creating it by name, but the expensive part,
    /// allocating the inode, does not hold the output directory's lock, which every
    /// association creating or renaming a file in that directory needs: with several
    /// associations the creations no longer queue behind each other (measured in
    /// `docs/profile.md`). Where unnamed files are not supported (some file systems, no
    /// `/proc`), files are created by name.
    pub(crate) fn create_temp(&self) -> io::Result<(PathBuf, File)> {
        #[cfg(target_os = "linux")]
        if self.create_unnamed.load(Ordering::Relaxed) {
            match self.create_temp_unnamed() {
                Ok(created) => return Ok(created),
                Err(unnamed) => {
                    // A failure that creating by name shares (the directory is gone, the disk
                    // is full) is reported by that attempt; if creating by name works, unnamed
                    // files do not work here, and are not tried again.
                    let named = self.create_temp_named();
                    if named.is_ok() {
                        self.create_unnamed.store(false, Ordering::Relaxed);
                        debug!(
                            "cannot create unnamed temporary files in {} ({unnamed}): creating them by name",
                            self.output_directory.display()
                        );
                    }
                    return named;
                }
            }
        }
        self.create_temp_named()
    }

    /// The next temporary path.
    fn next_temp_path(&self) -> PathBuf {
        let n = self.counter.fetch_add(1, Ordering::Relaxed);
        self.output_directory
            .join(format!("{TEMP_PREFIX}{}-{n}{TEMP_SUFFIX}", self.pid))
    }

    /// Creates the temporary file by name.
    fn create_temp_named(&self) -> io::Result<(PathBuf, File)> {
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..TEMP_ATTEMPTS {
            let path = self.next_temp_path();
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => return Ok((path, file)),
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => last = e,
                Err(e) => return Err(e),
            }
        }
        Err(last)
    }

    /// Creates the temporary file without a name, then links it to its name.
    #[cfg(target_os = "linux")]
    fn create_temp_unnamed(&self) -> io::Result<(PathBuf, File)> {
        use rustix::fs::{AtFlags, CWD, Mode, OFlags};
        use std::os::fd::AsRawFd;

        // The mode a file created by name gets (0666 less the umask).
        let file = File::from(rustix::fs::open(
            &self.output_directory,
            OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o666),
        )?);
        // Linking the descriptor through /proc needs no privilege (linkat(2)), unlike
        // AT_EMPTY_PATH.
        let proc_path = format!("/proc/self/fd/{}", file.as_raw_fd());
        let mut last = io::Error::from(io::ErrorKind::AlreadyExists);
        for _ in 0..TEMP_ATTEMPTS {
            let path = self.next_temp_path();
            match rustix::fs::linkat(CWD, &proc_path, CWD, &path, AtFlags::SYMLINK_FOLLOW) {
                Ok(()) => return Ok((path, file)),
                Err(rustix::io::Errno::EXIST) => last = io::ErrorKind::AlreadyExists.into(),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last)
    }
}

/// The storage policy, ready to store: cheap to clone, `Send + Sync`, shared by every association.
///
/// Create it once at start-up with [`Storage::new`], which validates the output directory, then
/// call [`Storage::begin`] for each arriving instance.
#[derive(Debug, Clone)]
pub struct Storage {
    shared: Arc<Shared>,
}

fn check_uid(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || value.len() > 64 {
        return Err("a UID has 1 to 64 characters");
    }
    if !value.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Err("a UID has only digits and dots");
    }
    Ok(())
}

fn check_version_name(value: &str) -> Result<(), &'static str> {
    if value.is_empty() || value.len() > 16 {
        return Err("a version name has 1 to 16 characters");
    }
    if !value.bytes().all(|b| b.is_ascii_graphic() || b == b' ') || value.contains('\\') {
        return Err("a version name is printable ASCII without backslashes");
    }
    Ok(())
}

impl Storage {
    /// Validates the options and the output directory (it must exist, be a directory and accept
    /// a new file: a probe temporary file is created and removed), like `dcmrecv` at start-up.
    pub fn new(options: StorageOptions) -> Result<Storage, OpenError> {
        ensure!(
            check_extension(&options.extension).is_ok(),
            InvalidExtensionSnafu {
                extension: options.extension.clone()
            }
        );
        for (value, check) in [
            (
                &options.implementation_class_uid,
                check_uid as fn(&str) -> Result<(), &'static str>,
            ),
            (&options.implementation_version_name, check_version_name),
            (&options.bit_preserving_version_name, check_version_name),
        ] {
            if let Err(problem) = check(value) {
                return InvalidImplementationSnafu {
                    value: value.clone(),
                    problem,
                }
                .fail();
            }
        }
        let output_directory = normalize_output_directory(&options.output_directory);
        let metadata =
            std::fs::metadata(&output_directory).context(OutputDirectoryMissingSnafu {
                path: output_directory.clone(),
            })?;
        ensure!(
            metadata.is_dir(),
            OutputNotADirectorySnafu {
                path: output_directory.clone()
            }
        );
        let start_time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as u32);
        let shared = Shared {
            options,
            output_directory,
            pid: std::process::id(),
            counter: AtomicU64::new(0),
            start_time,
            create_unnamed: AtomicBool::new(true),
        };
        let (probe, file) = shared
            .create_temp()
            .context(OutputDirectoryNotWritableSnafu {
                path: shared.output_directory.clone(),
            })?;
        drop(file);
        // A probe we cannot remove is harmless: sweep_leftovers removes it on the next start.
        let _ = std::fs::remove_file(&probe);
        Ok(Storage {
            shared: Arc::new(shared),
        })
    }

    /// The output directory, as DCMTK prints it in log lines (`.` for the current directory, no
    /// trailing separator).
    pub fn output_directory(&self) -> &Path {
        &self.shared.output_directory
    }

    /// The options this storage was built from.
    pub fn options(&self) -> &StorageOptions {
        &self.shared.options
    }

    /// Starts receiving one instance: opens its temporary file (except in ignore mode) and, in
    /// bit-preserving mode, writes the preamble and meta header.
    ///
    /// Fails with a "cannot understand" error when the command alone already rules out a file
    /// name (bit-preserving mode with default names and no SOP Class UID, or an unusable SOP
    /// Instance UID), and with an "out of resources" error when the temporary file cannot be
    /// created.
    pub fn begin(&self, instance: &InstanceMeta) -> Result<IncomingInstance, StoreError> {
        IncomingInstance::begin(Arc::clone(&self.shared), instance.clone())
    }

    /// Removes temporary files left in the output directory by a process that crashed, and
    /// returns their paths (each is also reported with a `warn!` event).
    ///
    /// Only files matching our temporary name pattern `.dcmrecv-tmp-<pid>-<n>.part` are
    /// considered, and files of this process or of another running process (checked through
    /// `/proc` where it exists) are left alone, so two receivers sharing an output directory do
    /// not remove each other's transfers in flight.
    pub fn sweep_leftovers(&self) -> Result<Vec<PathBuf>, SweepError> {
        sweep::sweep(&self.shared.output_directory, self.shared.pid)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_and_instances_can_be_shared_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        fn assert_send<T: Send>() {}
        assert_send_sync::<Storage>();
        assert_send::<IncomingInstance>();
        assert_send_sync::<OpenError>();
        assert_send_sync::<StoreError>();
    }

    fn shared_in(dir: &Path) -> Shared {
        Shared {
            options: StorageOptions::new(dir),
            output_directory: dir.to_path_buf(),
            pid: std::process::id(),
            counter: AtomicU64::new(0),
            start_time: 0,
            create_unnamed: AtomicBool::new(true),
        }
    }

    #[cfg(unix)]
    #[test]
    fn temporary_files_get_their_name_and_mode_however_they_are_created() {
        use std::io::Write;
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let shared = shared_in(dir.path());
        let named = shared.create_temp_named().unwrap();
        let (path, mut file) = shared.create_temp().unwrap();
        // On Linux the second one was created unnamed and then linked.
        #[cfg(target_os = "linux")]
        assert!(shared.create_unnamed.load(Ordering::Relaxed));
        let pid = std::process::id();
        assert_eq!(
            path.file_name().unwrap().to_str().unwrap(),
            format!(".dcmrecv-tmp-{pid}-1.part")
        );
        file.write_all(b"bytes").unwrap();
        drop(file);
        assert_eq!(std::fs::read(&path).unwrap(), b"bytes");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode();
        assert_eq!(mode(&path), mode(&named.0));
        let mut names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                format!(".dcmrecv-tmp-{pid}-0.part"),
                format!(".dcmrecv-tmp-{pid}-1.part")
            ]
        );
    }

    #[test]
    fn taken_temporary_names_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let shared = shared_in(dir.path());
        let pid = std::process::id();
        for n in 0..3 {
            std::fs::write(
                dir.path().join(format!(".dcmrecv-tmp-{pid}-{n}.part")),
                b"x",
            )
            .unwrap();
        }
        let (path, _) = shared.create_temp().unwrap();
        assert_eq!(path, dir.path().join(format!(".dcmrecv-tmp-{pid}-3.part")));
        assert_eq!(
            std::fs::read(dir.path().join(format!(".dcmrecv-tmp-{pid}-0.part"))).unwrap(),
            b"x"
        );
    }

    #[test]
    fn a_missing_directory_fails_as_when_creating_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let shared = shared_in(&dir.path().join("gone"));
        let error = shared.create_temp().unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::NotFound);
        // Not a reason to stop creating unnamed files.
        assert!(shared.create_unnamed.load(Ordering::Relaxed));
    }

    #[test]
    fn implementation_values_are_checked() {
        assert!(check_uid("1.2.276.0.7230010.3.0.3.6.7").is_ok());
        assert!(check_uid("").is_err());
        assert!(check_uid("1.2.a").is_err());
        assert!(check_uid(&"1".repeat(65)).is_err());
        assert!(check_version_name("OFFIS_DCMTK_367").is_ok());
        assert!(check_version_name("12345678901234567").is_err());
        assert!(check_version_name("A\\B").is_err());
        assert!(check_version_name("").is_err());
        assert!(check_uid(crate::DEFAULT_IMPLEMENTATION_CLASS_UID).is_ok());
        assert!(check_version_name(crate::DEFAULT_IMPLEMENTATION_VERSION_NAME).is_ok());
        assert!(check_version_name(crate::DEFAULT_BIT_PRESERVING_VERSION_NAME).is_ok());
    }
}

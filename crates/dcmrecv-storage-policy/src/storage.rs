//! [`Storage`]: the validated options plus the little state shared by every instance.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use snafu::{ResultExt, Snafu, ensure};

use crate::free_space::{self, FreeSpace, SpaceGuard};
use crate::incoming::{IncomingInstance, InstanceMeta, StoreError};
use crate::naming::{
    ShortUniqueSequence, check_extension, check_node_id, normalize_output_directory,
};
use crate::options::StorageOptions;
use crate::placement::SystemTimeNames;
use crate::sweep::{self, Leftover, SweepError};
use crate::temp_file::TempFiles;

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
    /// The file-name extension holds a NUL byte (which no file name can hold).
    #[snafu(display("file name extension {extension:?} contains a NUL byte"))]
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
    /// The node identity cannot be used in names (see [`StorageOptions::node_id`]).
    #[snafu(display("invalid node id {value:?}: {problem}"))]
    InvalidNodeId {
        /// The value as given.
        value: String,
        /// What is wrong with it.
        problem: &'static str,
    },
    /// The object-store output is not configured usably: a bad URL, an unsupported scheme, no
    /// credentials, no node id. `dcmrecv` exits with code 45, as for an unusable output
    /// directory.
    #[snafu(display("cannot use output {url}: {problem}"))]
    ObjectStoreConfig {
        /// The output URL, as given.
        url: String,
        /// What is wrong.
        problem: String,
    },
    /// The object store cannot be written: it cannot be reached, the bucket does not exist, the
    /// credentials are refused, or writing under the prefix is forbidden (a probe object could
    /// not be written and deleted). `dcmrecv` exits with code 45.
    #[snafu(display("cannot write to {url}: {problem}"))]
    ObjectStoreUnusable {
        /// The output URL, as given.
        url: String,
        /// What is wrong, in a few words (`bucket not found`, `access denied`, ...).
        problem: String,
        /// The store's error (or the runtime's).
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// An option cannot work with this output: a duplicate policy other than overwrite with
    /// generated names or an object store, or a free-space minimum with an object store.
    #[snafu(display("{what}"))]
    Unsupported {
        /// What cannot be done, and why.
        what: &'static str,
    },
}

impl OpenError {
    /// Whether the output location (directory or object store) is what is wrong: `dcmrecv`'s
    /// exit code 45.
    pub fn is_output_location(&self) -> bool {
        matches!(
            self,
            OpenError::OutputDirectoryMissing { .. }
                | OpenError::OutputNotADirectory { .. }
                | OpenError::OutputDirectoryNotWritable { .. }
                | OpenError::ObjectStoreConfig { .. }
                | OpenError::ObjectStoreUnusable { .. }
        )
    }
}

/// Where the instances of a [`Storage`] go.
#[derive(Debug)]
pub(crate) enum Target {
    /// Files in the output directory, through temporary files of this start.
    Files(TempFiles),
    /// Objects in a bucket.
    #[cfg(feature = "object-store")]
    Objects(Arc<crate::bucket::Bucket>),
}

/// What every [`IncomingInstance`] of one [`Storage`] shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) options: StorageOptions,
    /// The output directory as DCMTK prints it (see `normalize_output_directory`); for an
    /// object store, its URL.
    pub(crate) output_directory: PathBuf,
    /// Files or objects.
    pub(crate) target: Target,
    /// Unix time at which the storage was created: the first 8 hex digits of `+fsu` names.
    pub(crate) start_time: u32,
    /// The last 8 hex digits of `+fsu` names.
    pub(crate) short_unique: ShortUniqueSequence,
    /// The clock of `+fst` names.
    pub(crate) system_time_names: SystemTimeNames,
    /// `--min-free-space`.
    pub(crate) space_guard: Option<SpaceGuard>,
    /// The study folders of `-ss`/`-sp`.
    pub(crate) study_folders: crate::sorting::StudyFolders,
}

impl Shared {
    /// The temporary files of the file backend (`None` for an object store).
    pub(crate) fn temp_files(&self) -> Option<&TempFiles> {
        match &self.target {
            Target::Files(files) => Some(files),
            #[cfg(feature = "object-store")]
            Target::Objects(_) => None,
        }
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
    ///
    /// For an object store ([`StorageOptions::object_store`]) it checks the URL and the
    /// credentials, starts the backend's runtime and writes and deletes a probe object under
    /// the prefix, so an unreachable store, a missing bucket or refused writes are found here.
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
        if let Some(node) = &options.node_id {
            if let Err(problem) = check_node_id(node) {
                return InvalidNodeIdSnafu {
                    value: node.clone(),
                    problem,
                }
                .fail();
            }
        }
        ensure!(
            options.on_duplicate == crate::OnDuplicate::Overwrite
                || options.naming == crate::Naming::Default,
            UnsupportedSnafu {
                what: "a duplicate policy other than overwrite needs default file names (+fd): generated names never collide",
            }
        );
        #[cfg(feature = "object-store")]
        if let Some(output) = options.object_store.clone() {
            ensure!(
                options.on_duplicate == crate::OnDuplicate::Overwrite,
                UnsupportedSnafu {
                    what: "a duplicate policy other than overwrite needs an output directory: an object store is not asked whether a key exists",
                }
            );
            ensure!(
                options.min_free_space.is_none(),
                UnsupportedSnafu {
                    what: "a minimum free space needs an output directory: an object store has no free space to measure",
                }
            );
            return Storage::new_object_store(options, &output);
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
        let temp_files = TempFiles::new(output_directory.clone());
        // The probe is removed when dropped (one we cannot remove is harmless: nobody holds
        // it, so the next sweep removes it).
        let probe = temp_files
            .create()
            .context(OutputDirectoryNotWritableSnafu {
                path: output_directory.clone(),
            })?;
        drop(probe);
        Ok(Storage::with_target(
            options,
            output_directory,
            Target::Files(temp_files),
            unix_now(),
        ))
    }

    /// [`Storage::new`] for an object store.
    #[cfg(feature = "object-store")]
    fn new_object_store(
        options: StorageOptions,
        output: &crate::ObjectStoreOutput,
    ) -> Result<Storage, OpenError> {
        let Some(node) = options.node_id.clone() else {
            return ObjectStoreConfigSnafu {
                url: output.url(),
                problem: "an object-store output needs a node id",
            }
            .fail();
        };
        let bucket = Arc::new(crate::bucket::Bucket::open(output, &node)?);
        // `+fsu` names start with the start time in seconds, and the store cannot tell us that
        // a name is taken: a start waits for the next whole second, so that two starts of one
        // node (one after the other) never share it (see the crate docs).
        let start_time = if options.naming == crate::Naming::ShortUnique {
            next_whole_second()
        } else {
            unix_now()
        };
        let output_directory = PathBuf::from(bucket.url());
        Ok(Storage::with_target(
            options,
            output_directory,
            Target::Objects(bucket),
            start_time,
        ))
    }

    fn with_target(
        options: StorageOptions,
        output_directory: PathBuf,
        target: Target,
        start_time: u32,
    ) -> Storage {
        let seed = uuid::Uuid::new_v4().as_u128();
        let space_guard = options.min_free_space.map(SpaceGuard::new);
        Storage {
            shared: Arc::new(Shared {
                space_guard,
                target,
                options,
                output_directory,
                start_time,
                short_unique: ShortUniqueSequence::new(seed as u32, (seed >> 32) as u32),
                system_time_names: SystemTimeNames::default(),
                study_folders: crate::sorting::StudyFolders::default(),
            }),
        }
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
    ///
    /// With [`StorageOptions::min_free_space`], it first measures the output directory and
    /// fails with [`StoreError::LowFreeSpace`] (out of resources) below the minimum.
    pub fn begin(&self, instance: &InstanceMeta) -> Result<IncomingInstance, StoreError> {
        self.check_free_space()?;
        IncomingInstance::begin(Arc::clone(&self.shared), instance.clone())
    }

    /// Measures the output directory against [`StorageOptions::min_free_space`]: `Ok` when
    /// there is no minimum or enough space, else [`StoreError::LowFreeSpace`]. The first call
    /// that sees the space fall below the minimum, and the first that sees it back above, logs
    /// one warning each. [`begin`](Self::begin) calls it; call it periodically too, so that
    /// recovery is noticed (and said) while no instance arrives.
    ///
    /// ```
    /// use dcmrecv_storage_policy::{ErrorKind, MinFreeSpace, Storage, StorageOptions};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let options = StorageOptions::new(dir.path()).min_free_space(Some(MinFreeSpace::Percent(99.999)));
    /// let storage = Storage::new(options)?;
    /// let refused = storage.check_free_space().unwrap_err();
    /// assert_eq!(refused.kind(), ErrorKind::OutOfResources);
    /// assert!(refused.reason().starts_with("not enough free space"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_free_space(&self) -> Result<(), StoreError> {
        let Some(guard) = &self.shared.space_guard else {
            return Ok(());
        };
        guard
            .check(&self.shared.output_directory)
            .map_err(|shortage| StoreError::LowFreeSpace {
                available: shortage.available,
                needed: shortage.needed,
            })
    }

    /// The free space and size of the output directory's file system (`None` for an object
    /// store, which has neither).
    pub fn free_space(&self) -> Option<io::Result<FreeSpace>> {
        match &self.shared.target {
            Target::Files(_) => Some(free_space::measure(&self.shared.output_directory)),
            #[cfg(feature = "object-store")]
            Target::Objects(_) => None,
        }
    }

    /// Whether a new file can be created in the output directory now (a temporary file is
    /// created and removed, as at start-up); always `Ok` for an object store, which is not
    /// probed again after [`Storage::new`].
    ///
    /// ```
    /// let dir = tempfile::tempdir()?;
    /// let storage = dcmrecv_storage_policy::Storage::new(
    ///     dcmrecv_storage_policy::StorageOptions::new(dir.path()),
    /// )?;
    /// storage.check_writable()?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_writable(&self) -> io::Result<()> {
        match &self.shared.target {
            Target::Files(files) => files.create().map(drop),
            #[cfg(feature = "object-store")]
            Target::Objects(_) => Ok(()),
        }
    }

    /// Removes temporary files left in the output directory by a receiver that crashed (or was
    /// killed), and returns them (each is also reported with a `warn!` event).
    ///
    /// Only regular files matching our temporary name pattern
    /// `.dcmrecv-tmp-<start id>-<n>.part` are considered, and only those that no live receiver
    /// holds: each receiver holds an exclusive `flock` on each of its temporary files while it
    /// writes them. So a restarted receiver sweeps its predecessor's files even when it has the
    /// same process ID (PID 1 in a container), and two receivers sharing an output directory do
    /// not remove each other's transfers in flight. Without `flock` (not Unix), every file of
    /// another start counts as a leftover.
    ///
    /// For an object store, it aborts the multipart uploads that earlier starts of this node id
    /// recorded as in flight (their markers under `<prefix>/.dcmrecv-uploads/<node id>/`) and
    /// deletes the markers; uploads of other node ids are never touched (see the crate docs).
    pub fn sweep_leftovers(&self) -> Result<Vec<Leftover>, SweepError> {
        match &self.shared.target {
            Target::Files(files) => sweep::sweep(&self.shared.output_directory, files.start_id()),
            #[cfg(feature = "object-store")]
            Target::Objects(bucket) => bucket.sweep(),
        }
    }
}

/// The current Unix time in seconds, as `+fsu` names print it (8 hex digits).
fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

/// Sleeps until the next whole second and returns it.
#[cfg(feature = "object-store")]
fn next_whole_second() -> u32 {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let next = now.as_secs() + 1;
    std::thread::sleep(std::time::Duration::from_secs(next) - now);
    next as u32
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

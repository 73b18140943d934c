//! The storage options builder.

use std::path::PathBuf;

/// Implementation Class UID written to (0002,0012) by default: the dcmrecv-rs root, a `2.25`
/// UUID-derived UID generated once for this project.
pub const DEFAULT_IMPLEMENTATION_CLASS_UID: &str = "2.25.21442847207907972900210680727716022916";

/// Implementation Version Name written to (0002,0013) in normal mode by default (at most 16
/// characters, like DCMTK's `OFFIS_DCMTK_367`): `DCMRECV_RS_<major><minor><patch>`.
pub const DEFAULT_IMPLEMENTATION_VERSION_NAME: &str = concat!(
    "DCMRECV_RS_",
    env!("CARGO_PKG_VERSION_MAJOR"),
    env!("CARGO_PKG_VERSION_MINOR"),
    env!("CARGO_PKG_VERSION_PATCH")
);

/// Implementation Version Name written to (0002,0013) in bit-preserving mode by default (DCMTK
/// uses a different name there too: `OFFIS_DCMBP_367`): `DCMRECV_BP_<major><minor><patch>`.
pub const DEFAULT_BIT_PRESERVING_VERSION_NAME: &str = concat!(
    "DCMRECV_BP_",
    env!("CARGO_PKG_VERSION_MAJOR"),
    env!("CARGO_PKG_VERSION_MINOR"),
    env!("CARGO_PKG_VERSION_PATCH")
);

/// Default bound on the bytes held back in normal mode until the SOP UIDs are seen (1 MiB).
pub const DEFAULT_HOLD_BACK_LIMIT: usize = 1024 * 1024;

/// Sub-directories below the output directory (`dcmrecv -s` / `+ssd`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Subdirectories {
    /// Files go directly into the output directory (`-s`, the default).
    #[default]
    None,
    /// `data/YYYY/MM/DD/` from a valid Series Date (0008,0021), else `undef/<today YYYYMMDD>/`
    /// (`+ssd`).
    SeriesDate,
}

/// The file-name scheme (`dcmrecv +fd` / `+fu` / `+fsu` / `+fst`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Naming {
    /// `<prefix>.<SOP Instance UID><ext>` (`+fd`, the default). Needs a SOP class. As in
    /// DCMTK, the same instance stored again replaces the file (with a warning).
    #[default]
    Default,
    /// `<prefix>.X.<new UID><ext>` (`+fu`); our new UIDs have the form `2.25.<UUID as decimal>`.
    /// Never replaces an existing file (a taken name gets another new UID).
    UniqueUid,
    /// `<prefix>_<8 hex digits start time><8 hex digits pseudo-random><ext>` (`+fsu`), never
    /// replacing an existing file (a taken name moves on to the next pseudo-random value).
    ShortUnique,
    /// `<YYYYMMDDhhmmss>.<microseconds>.<prefix><ext>` from the local time of the store (`+fst`),
    /// never replacing an existing file (a taken name moves on to the next microsecond).
    SystemTime,
}

/// What is written (`dcmrecv -B` / `+B` / `--ignore`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Mode {
    /// Normal mode (`-B`, the default): the data set is checked for structural validity and the
    /// 7-element meta header is built from the data set's SOP Class/Instance UID, like DCMTK. The
    /// data set bytes are stored as received (DCMTK re-encodes them; see the crate docs).
    #[default]
    Normal,
    /// Bit-preserving mode (`+B`): the data set bytes exactly as received, after an 8-element meta
    /// header built from the command and the association. Not validated.
    BitPreserving,
    /// `--ignore`: receive, check, report success, store nothing.
    Ignore,
}

/// Options for a [`Storage`](crate::Storage), built step by step.
///
/// ```
/// use dcmrecv_storage_policy::{Mode, Naming, StorageOptions, Subdirectories};
///
/// let options = StorageOptions::new("/srv/dicom")
///     .subdirectories(Subdirectories::SeriesDate)
///     .naming(Naming::ShortUnique)
///     .extension(".dcm")
///     .mode(Mode::Normal)
///     .fsync(true);
/// # let _ = options;
/// ```
#[derive(Debug, Clone)]
pub struct StorageOptions {
    pub(crate) output_directory: PathBuf,
    pub(crate) subdirectories: Subdirectories,
    pub(crate) naming: Naming,
    pub(crate) extension: String,
    pub(crate) mode: Mode,
    pub(crate) fsync: bool,
    pub(crate) implementation_class_uid: String,
    pub(crate) implementation_version_name: String,
    pub(crate) bit_preserving_version_name: String,
    pub(crate) hold_back_limit: usize,
    pub(crate) max_object_size: Option<u64>,
    pub(crate) node_id: Option<String>,
    pub(crate) on_duplicate: crate::OnDuplicate,
    pub(crate) min_free_space: Option<crate::MinFreeSpace>,
    pub(crate) sorting: crate::Sorting,
    pub(crate) template: Option<crate::OutputTemplate>,
    /// The root-level attributes the scanner captures beyond its own (sorted, each once).
    pub(crate) captured: std::sync::Arc<[(u16, u16)]>,
    /// Where objects go instead of the output directory.
    #[cfg(feature = "object-store")]
    pub(crate) object_store: Option<crate::ObjectStoreOutput>,
}

impl StorageOptions {
    /// Options that store into `output_directory` (`dcmrecv -od`; an empty path means the current
    /// directory), with DCMTK's defaults: no sub-directories, `<prefix>.<UID>` names, no
    /// extension, normal mode, no fsync.
    pub fn new(output_directory: impl Into<PathBuf>) -> StorageOptions {
        StorageOptions {
            output_directory: output_directory.into(),
            subdirectories: Subdirectories::default(),
            naming: Naming::default(),
            extension: String::new(),
            mode: Mode::default(),
            fsync: false,
            implementation_class_uid: DEFAULT_IMPLEMENTATION_CLASS_UID.to_string(),
            implementation_version_name: DEFAULT_IMPLEMENTATION_VERSION_NAME.to_string(),
            bit_preserving_version_name: DEFAULT_BIT_PRESERVING_VERSION_NAME.to_string(),
            hold_back_limit: DEFAULT_HOLD_BACK_LIMIT,
            max_object_size: None,
            node_id: None,
            on_duplicate: crate::OnDuplicate::Overwrite,
            min_free_space: None,
            sorting: crate::Sorting::None,
            template: None,
            captured: std::sync::Arc::from(crate::sorting::ALWAYS_CAPTURED.to_vec()),
            #[cfg(feature = "object-store")]
            object_store: None,
        }
    }

    /// Stores each study in a folder of its own (storescp's `-su`, `-ss`, `-sp`), below the
    /// output directory (and above `+ssd`'s sub-directories). See [`Sorting`](crate::Sorting).
    pub fn sorting(mut self, sorting: crate::Sorting) -> StorageOptions {
        self.sorting = sorting;
        self
    }

    /// The study folder scheme.
    pub fn get_sorting(&self) -> &crate::Sorting {
        &self.sorting
    }

    /// Names every object with `template` (`--output-template`, not in DCMTK) instead of the
    /// sub-directory, sorting and file-name options. See [`OutputTemplate`](crate::OutputTemplate).
    ///
    /// ```
    /// use dcmrecv_storage_policy::{OutputTemplate, StorageOptions};
    ///
    /// let template = OutputTemplate::parse("{PatientID|UNKNOWN}/{SOPInstanceUID}.dcm")?;
    /// let options = StorageOptions::new("/data/in").output_template(template);
    /// # let _ = options;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn output_template(mut self, template: crate::OutputTemplate) -> StorageOptions {
        let mut tags = crate::sorting::ALWAYS_CAPTURED.to_vec();
        tags.extend(template.attributes());
        tags.sort_unstable();
        tags.dedup();
        self.captured = std::sync::Arc::from(tags);
        self.template = Some(template);
        self
    }

    /// Options that store into an object store (`dcmrecv -od s3://BUCKET/PREFIX`) instead of a
    /// directory, with DCMTK's defaults otherwise. Every naming option gives the same key below
    /// the prefix as the path it gives below an output directory.
    ///
    /// ```
    /// use dcmrecv_storage_policy::{Naming, ObjectStoreOutput, StorageOptions};
    ///
    /// let options = StorageOptions::object_store(ObjectStoreOutput::new("s3://dicom/incoming"))
    ///     .naming(Naming::ShortUnique)
    ///     .node_id("gw1-11112");
    /// # let _ = options;
    /// ```
    #[cfg(feature = "object-store")]
    pub fn object_store(output: crate::ObjectStoreOutput) -> StorageOptions {
        let mut options = StorageOptions::new(output.url());
        options.object_store = Some(output);
        options
    }

    /// Sets the sub-directory scheme (`-s` / `+ssd`).
    pub fn subdirectories(mut self, subdirectories: Subdirectories) -> StorageOptions {
        self.subdirectories = subdirectories;
        self
    }

    /// Sets the file-name scheme (`+fd` / `+fu` / `+fsu` / `+fst`).
    pub fn naming(mut self, naming: Naming) -> StorageOptions {
        self.naming = naming;
        self
    }

    /// Sets the extension appended verbatim to every file name (`-fe`; include the dot yourself).
    /// As in Debian's DCMTK, every byte outside `[A-Za-z0-9 .:@_-]` in it becomes `_` in the file
    /// name (`/x.dcm` → `_x.dcm`). It must not hold a NUL.
    pub fn extension(mut self, extension: impl Into<String>) -> StorageOptions {
        self.extension = extension.into();
        self
    }

    /// Sets the storage mode (`-B` / `+B` / `--ignore`).
    pub fn mode(mut self, mode: Mode) -> StorageOptions {
        self.mode = mode;
        self
    }

    /// Whether to fsync each file, and then its directory, before reporting it stored.
    pub fn fsync(mut self, fsync: bool) -> StorageOptions {
        self.fsync = fsync;
        self
    }

    /// Sets the Implementation Class UID (0002,0012) and the Implementation Version Names
    /// (0002,0013) written in normal and in bit-preserving mode. The UID must be a valid UID of at
    /// most 64 characters and the names 1 to 16 printable ASCII characters.
    pub fn implementation(
        mut self,
        class_uid: impl Into<String>,
        version_name: impl Into<String>,
        bit_preserving_version_name: impl Into<String>,
    ) -> StorageOptions {
        self.implementation_class_uid = class_uid.into();
        self.implementation_version_name = version_name.into();
        self.bit_preserving_version_name = bit_preserving_version_name.into();
        self
    }

    /// Bounds the data set bytes held in memory in normal mode while waiting for the SOP
    /// Class/Instance UID, which the meta header in front of the data set needs. Past this many
    /// bytes the data set goes to the file without its header, and the header, built from the
    /// UIDs wherever they come, is put in front once the data set is complete (which copies the
    /// file once). Default: 1 MiB.
    pub fn hold_back_limit(mut self, bytes: usize) -> StorageOptions {
        self.hold_back_limit = bytes;
        self
    }

    /// Bounds the size of a data set (`dcmrecv --max-object-size`, not in DCMTK): one larger
    /// than `bytes` is refused with an [`ErrorKind::OutOfResources`](crate::ErrorKind) error
    /// (0xA700) and nothing of it is kept. The size is the data set's as decoded: for the
    /// deflated transfer syntax its inflated size, checked as it inflates, so a deflate bomb
    /// costs at most `bytes` of inflation. `None` (the default, as DCMTK): unbounded.
    ///
    /// ```
    /// use dcmrecv_storage_policy::StorageOptions;
    ///
    /// let options = StorageOptions::new("/srv/dicom").max_object_size(Some(2 << 30));
    /// # let _ = options;
    /// ```
    pub fn max_object_size(mut self, bytes: Option<u64>) -> StorageOptions {
        self.max_object_size = bytes;
        self
    }

    /// Sets this receiver's node identity (`dcmrecv --node-id`, not in DCMTK): 1 to 64 bytes of
    /// `[A-Za-z0-9._-]`. Generated `+fsu` and `+fst` names then carry `-<node id>` right after
    /// their unique part (`CT_6b0919552dd736c4-gw1`, `20261127054702.821628-gw1.CT`), so that
    /// receivers sharing one output (a bucket, a network file system) never generate the same
    /// name; the object-store backend also files its upload markers under it. Receivers that
    /// run at the same time must have different node ids ([`default_node_id`] gives one per
    /// host and port). Without it (the default for directories) names are DCMTK's.
    ///
    /// [`default_node_id`]: crate::default_node_id
    pub fn node_id(mut self, node_id: impl Into<String>) -> StorageOptions {
        self.node_id = Some(node_id.into());
        self
    }

    /// What a default-named instance does when its file exists (`dcmrecv --on-duplicate`, not
    /// in DCMTK; default [`OnDuplicate::Overwrite`](crate::OnDuplicate::Overwrite), DCMTK's
    /// behaviour). Any other policy needs an output directory and default names (`+fd`):
    /// [`Storage::new`](crate::Storage::new) refuses it with an object store (which is not
    /// asked whether a key exists) and with generated names (which never collide).
    ///
    /// ```
    /// use dcmrecv_storage_policy::{OnDuplicate, StorageOptions};
    ///
    /// let options = StorageOptions::new("/srv/dicom").on_duplicate(OnDuplicate::Keep);
    /// # let _ = options;
    /// ```
    pub fn on_duplicate(mut self, policy: crate::OnDuplicate) -> StorageOptions {
        self.on_duplicate = policy;
        self
    }

    /// Refuses new instances with [`StoreError::LowFreeSpace`](crate::StoreError::LowFreeSpace)
    /// (0xA700), before any byte of them is written, while the output directory's file system
    /// has less free space than this (`dcmrecv --min-free-space`, not in DCMTK; default none).
    /// Storing resumes by itself once space is freed. Needs an output directory: an object
    /// store has no free space to measure, and [`Storage::new`](crate::Storage::new) refuses it.
    ///
    /// ```
    /// use dcmrecv_storage_policy::{MinFreeSpace, StorageOptions};
    ///
    /// let options = StorageOptions::new("/srv/dicom").min_free_space(Some("2G".parse()?));
    /// # let _ = options;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn min_free_space(mut self, min: Option<crate::MinFreeSpace>) -> StorageOptions {
        self.min_free_space = min;
        self
    }
}

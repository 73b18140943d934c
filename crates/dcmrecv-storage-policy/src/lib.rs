//! The storage policy of dcmrecv-rs: turns "an instance is arriving" into a DICOM Part-10 file,
//! with the directory layout, file names, meta header and log lines of DCMTK 3.6.7's `dcmrecv`.
//!
//! It knows nothing about networking. An SCP hands it the C-STORE command's values
//! ([`InstanceMeta`]) and then the data set bytes as they arrive; the bytes stream to a temporary
//! file, and when the instance is complete the file is renamed to its final name.
//!
//! PLACEHOLDER_DOCS

mod incoming;
mod meta;
mod naming;
mod options;
mod prefix;
mod scanner;
mod storage;
mod sweep;
mod transfer_syntax;
mod uid;

#[cfg(test)]
mod test_support;

pub use incoming::{ErrorKind, IncomingInstance, InstanceMeta, StoreError, Stored};
pub use options::{
    DEFAULT_BIT_PRESERVING_VERSION_NAME, DEFAULT_HOLD_BACK_LIMIT, DEFAULT_IMPLEMENTATION_CLASS_UID,
    DEFAULT_IMPLEMENTATION_VERSION_NAME, Mode, Naming, StorageOptions, Subdirectories,
};
pub use prefix::modality_prefix;
pub use storage::{OpenError, Storage};
pub use sweep::SweepError;

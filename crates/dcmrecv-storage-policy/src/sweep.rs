//! Removing temporary files left behind by a crash.

use std::io;
use std::path::{Path, PathBuf};

use snafu::{ResultExt, Snafu};
use tracing::warn;

use crate::storage::{TEMP_PREFIX, TEMP_SUFFIX};

/// The output directory could not be listed.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum SweepError {
    /// Listing the output directory failed.
    #[snafu(display("cannot list output directory {}", path.display()))]
    ReadDirectory {
        /// The output directory.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
}

/// The process ID in a temporary file name `.dcmrecv-tmp-<pid>-<n>.part`, if the name has exactly
/// that shape.
pub(crate) fn temp_file_owner(name: &str) -> Option<u32> {
    let middle = name.strip_prefix(TEMP_PREFIX)?.strip_suffix(TEMP_SUFFIX)?;
    let (pid, n) = middle.split_once('-')?;
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(pid) || !digits(n) {
        return None;
    }
    pid.parse().ok()
}

/// Whether another process with this ID is running. Only Linux-like systems with `/proc` can
/// tell; elsewhere every owner counts as gone.
fn process_is_running(pid: u32) -> bool {
    Path::new("/proc/self").exists() && Path::new("/proc").join(pid.to_string()).exists()
}

pub(crate) fn sweep(directory: &Path, own_pid: u32) -> Result<Vec<PathBuf>, SweepError> {
    let entries = std::fs::read_dir(directory).context(ReadDirectorySnafu { path: directory })?;
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.context(ReadDirectorySnafu { path: directory })?;
        let name = entry.file_name();
        let Some(owner) = name.to_str().and_then(temp_file_owner) else {
            continue;
        };
        if owner == own_pid || process_is_running(owner) {
            continue;
        }
        let path = entry.path();
        // Only regular files: never follow or remove anything else that happens to match.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        match std::fs::remove_file(&path) {
            Ok(()) => {
                warn!(
                    path = %path.display(),
                    "removed temporary file left by an interrupted transfer: {}",
                    path.display()
                );
                removed.push(path);
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => warn!(
                path = %path.display(),
                "cannot remove temporary file left by an interrupted transfer: {}: {e}",
                path.display()
            ),
        }
    }
    removed.sort();
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_our_pattern_matches() {
        assert_eq!(temp_file_owner(".dcmrecv-tmp-123-0.part"), Some(123));
        assert_eq!(
            temp_file_owner(".dcmrecv-tmp-4294967295-18.part"),
            Some(u32::MAX)
        );
        assert_eq!(temp_file_owner(".dcmrecv-tmp-4294967296-18.part"), None);
        assert_eq!(temp_file_owner(".dcmrecv-tmp-123-0.part.dcm"), None);
        assert_eq!(temp_file_owner("dcmrecv-tmp-123-0.part"), None);
        assert_eq!(temp_file_owner(".dcmrecv-tmp-123.part"), None);
        assert_eq!(temp_file_owner(".dcmrecv-tmp--0.part"), None);
        assert_eq!(temp_file_owner(".dcmrecv-tmp-12a-0.part"), None);
        assert_eq!(temp_file_owner(".dcmrecv-tmp-1-2-3.part"), None);
        assert_eq!(temp_file_owner("CT.1.2.3"), None);
    }
}

//! Removing temporary files that no live receiver holds (and the type of what a sweep removes,
//! for both backends).

use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

use snafu::{ResultExt, Snafu};
use tracing::warn;

use crate::temp_file::{temp_file_start_id, try_lock};

/// The output directory (or the object store's upload markers) could not be listed.
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
    /// Listing the object store's upload markers failed.
    #[snafu(display("cannot list the upload markers under {url}"))]
    ListMarkers {
        /// Where the markers are (`s3://bucket/prefix/.dcmrecv-uploads/<node id>`).
        url: String,
        /// The store's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Something an interrupted earlier run left behind, removed by
/// [`Storage::sweep_leftovers`](crate::Storage::sweep_leftovers).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Leftover {
    /// A temporary file no live receiver held, removed.
    TemporaryFile(PathBuf),
    /// A multipart upload an earlier start of this node recorded as in flight, aborted.
    MultipartUpload {
        /// The object it would have created (`s3://bucket/key`).
        url: String,
        /// The store's id of the upload.
        upload_id: String,
    },
}

/// Whether the temporary file at `path` is a leftover: nobody holds its lock (every live
/// receiver holds the lock of each of its temporary files, see `temp_file`). On success the
/// returned file holds the lock, so the caller removes the file while nobody else can claim it.
/// Without `flock` (not Unix), only the files of this start count as live.
fn claim_leftover(path: &Path, own: bool) -> Option<File> {
    if own && cfg!(not(unix)) {
        return None;
    }
    let file = File::open(path).ok()?;
    match try_lock(&file) {
        Ok(true) => Some(file),
        _ => None,
    }
}

/// Removes every temporary file in `directory` that no live receiver holds, and returns their
/// paths (each also reported with a `warn!` event). `own_start_id` is this receiver's.
pub(crate) fn sweep(directory: &Path, own_start_id: &str) -> Result<Vec<Leftover>, SweepError> {
    let entries = std::fs::read_dir(directory).context(ReadDirectorySnafu { path: directory })?;
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry.context(ReadDirectorySnafu { path: directory })?;
        let name = entry.file_name();
        let Some(start_id) = name.to_str().and_then(temp_file_start_id) else {
            continue;
        };
        // Only regular files: never follow or remove anything else that happens to match.
        if !entry.file_type().is_ok_and(|t| t.is_file()) {
            continue;
        }
        let path = entry.path();
        let Some(_claimed) = claim_leftover(&path, start_id == own_start_id) else {
            continue;
        };
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
    Ok(removed.into_iter().map(Leftover::TemporaryFile).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::temp_file::TempFiles;

    #[test]
    fn leftovers_go_and_live_files_of_any_receiver_stay() {
        let dir = tempfile::tempdir().unwrap();
        // A crashed receiver's file (unlocked), one of an earlier version (named after a PID),
        // and the live files of two receivers.
        let crashed = dir.path().join(".dcmrecv-tmp-00000000000000aa-7.part");
        let old = dir.path().join(".dcmrecv-tmp-1-0.part");
        std::fs::write(&crashed, b"half").unwrap();
        std::fs::write(&old, b"half").unwrap();
        let ours = TempFiles::new(dir.path().to_path_buf());
        let theirs = TempFiles::new(dir.path().to_path_buf());
        // Named, as a file of an object in flight larger than the write buffer is.
        let (mut mine, mut other) = (ours.create().unwrap(), theirs.create().unwrap());
        mine.name().unwrap();
        other.name().unwrap();
        // Not ours: a file that only looks similar, and a directory of the right shape.
        std::fs::write(dir.path().join(".dcmrecv-tmp-x-0.part"), b"").unwrap();
        std::fs::create_dir(dir.path().join(".dcmrecv-tmp-bb-0.part")).unwrap();

        let removed = sweep(dir.path(), ours.start_id()).unwrap();
        let mut expected = vec![crashed, old];
        expected.sort();
        let expected: Vec<_> = expected.into_iter().map(Leftover::TemporaryFile).collect();
        assert_eq!(removed, expected);
        assert!(mine.path().exists() && other.path().exists());
        assert!(dir.path().join(".dcmrecv-tmp-x-0.part").exists());
        assert!(dir.path().join(".dcmrecv-tmp-bb-0.part").is_dir());
        // A second sweep finds nothing more.
        assert!(sweep(dir.path(), ours.start_id()).unwrap().is_empty());
    }
}

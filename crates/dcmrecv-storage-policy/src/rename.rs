//! storescp's `-rns` (`--rename-on-eostudy`): at the end of a study, each of its files is renamed
//! inside its folder to the first two characters of its name and a six-digit counter
//! (`CT000001`, `CT000002`, ...; no extension), as storescp does — but **never replacing** a
//! file: a name already taken (an earlier revision of the study, another file) is skipped and the
//! counter moves on. storescp restarts its counter at every "end" and `rename()`s over the
//! earlier files, silently losing acknowledged objects; this cannot happen here.

use std::io;
use std::path::{Path, PathBuf};

use tracing::{debug, warn};

/// The highest counter tried (storescp's six digits).
const MAX_COUNTER: u32 = 999_999;

/// Renames each of `files` (the paths of one completed study) to `<2 chars><6 digits>` in its
/// own directory without replacing anything, and returns the new paths in the same order (a file
/// that could not be renamed keeps its path, with a warning).
///
/// ```
/// use dcmrecv_storage_policy::rename_study_files;
///
/// let dir = tempfile::tempdir()?;
/// let a = dir.path().join("CT.1.2.3.1.dcm");
/// let b = dir.path().join("MR.1.2.3.2");
/// std::fs::write(&a, b"a")?;
/// std::fs::write(&b, b"b")?;
/// std::fs::write(dir.path().join("CT000001"), b"from an earlier revision")?;
/// let renamed = rename_study_files(&[a, b]);
/// assert_eq!(renamed, [dir.path().join("CT000002"), dir.path().join("MR000003")]);
/// assert_eq!(std::fs::read(dir.path().join("CT000001"))?, b"from an earlier revision");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rename_study_files(files: &[PathBuf]) -> Vec<PathBuf> {
    let mut counter = 1;
    files
        .iter()
        .map(|file| match rename_one(file, &mut counter) {
            Ok(to) => {
                debug!("renamed {} to {}", file.display(), to.display());
                to
            }
            Err(e) => {
                warn!(
                    "cannot rename {} at the end of its study: {e}",
                    file.display()
                );
                file.clone()
            }
        })
        .collect()
}

fn rename_one(file: &Path, counter: &mut u32) -> io::Result<PathBuf> {
    let name = file
        .file_name()
        .and_then(|n| n.to_str())
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "no file name"))?;
    let head: String = name.chars().take(2).collect();
    let dir = file.parent().unwrap_or(Path::new("."));
    while *counter <= MAX_COUNTER {
        let to = dir.join(format!("{head}{:06}", *counter));
        *counter += 1;
        // A hard link fails when the name exists: nothing is ever replaced.
        match std::fs::hard_link(file, &to) {
            Ok(()) => {
                std::fs::remove_file(file)?;
                return Ok(to);
            }
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free name left"))
}

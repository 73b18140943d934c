//! Output directories under test: listing what a receiver left, and small file systems (tmpfs)
//! that a test fills up or makes read-only while the receiver runs.

use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Every regular file below `dir` (recursively, hidden ones included, links not followed), as
/// path relative to `dir` → size in bytes. A missing `dir` is empty.
pub fn files_under(dir: &Path) -> BTreeMap<PathBuf, u64> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&current) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() {
                let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                let relative = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
                out.insert(relative, size);
            }
        }
    }
    out
}

/// Whether a file name is one of our temporary files (`.dcmrecv-tmp-<start id>-<n>.part`, see
/// `dcmrecv-storage-policy`).
pub fn is_our_temporary(name: &Path) -> bool {
    name.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with(".dcmrecv-tmp-") && n.ends_with(".part"))
}

/// The files below `dir` that are not temporaries (what a reader of the output sees).
pub fn final_files(dir: &Path) -> BTreeMap<PathBuf, u64> {
    files_under(dir)
        .into_iter()
        .filter(|(p, _)| !is_our_temporary(p))
        .collect()
}

/// Panics with a clear message unless the test runs as root (mounting needs it; CI runs as
/// root). Such tests fail rather than skip, so a green run means they ran.
#[track_caller]
pub fn require_root(what: &str) {
    let euid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(u32::MAX);
    assert_eq!(
        euid, 0,
        "{what} needs root to mount a small tmpfs (CI runs as root); \
         run `sudo -E cargo test -p dcmrecv-e2e` to include it"
    );
}

/// A tmpfs of a few megabytes mounted on a fresh directory; unmounted when dropped.
pub struct Tmpfs {
    _parent: tempfile::TempDir,
    mount_point: PathBuf,
}

impl Tmpfs {
    /// Mounts a tmpfs of `kib` KiB (needs root, see [`require_root`]).
    #[track_caller]
    pub fn mount(kib: u64) -> Tmpfs {
        require_root("this test");
        let parent = tempfile::tempdir().expect("tempdir");
        let mount_point = parent.path().join("tmpfs");
        std::fs::create_dir(&mount_point).expect("create the mount point");
        mount(
            &[
                "-t",
                "tmpfs",
                "-o",
                &format!("size={kib}k,mode=0755"),
                "tmpfs",
            ],
            &mount_point,
        );
        Tmpfs {
            _parent: parent,
            mount_point,
        }
    }

    /// Where it is mounted.
    pub fn path(&self) -> &Path {
        &self.mount_point
    }

    /// Remounts it read-only (`true`) or read-write (`false`) in place, under a running
    /// receiver.
    pub fn set_read_only(&self, read_only: bool) {
        let options = if read_only {
            "remount,ro"
        } else {
            "remount,rw"
        };
        mount(&["-o", options], &self.mount_point);
    }

    /// Fills the file system with the file `name` until a write fails with ENOSPC, then gives
    /// `keep` bytes back. Returns the filler's path.
    pub fn fill(&self, name: &str, keep: u64) -> PathBuf {
        let path = self.mount_point.join(name);
        let mut file = std::fs::File::create(&path).expect("create the filler");
        let block = [0xA5u8; 4096];
        loop {
            match file.write_all(&block) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(28) => break,
                Err(e) => panic!("filling {}: {e}", path.display()),
            }
        }
        let len = file.metadata().expect("filler metadata").len();
        file.set_len(len.saturating_sub(keep))
            .expect("shrink the filler");
        path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        // Lazy, so a receiver still holding a file there cannot make the unmount fail.
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}

#[track_caller]
fn mount(args: &[&str], mount_point: &Path) {
    let status = Command::new("mount")
        .args(args)
        .arg(mount_point)
        .status()
        .expect("run mount(8)");
    assert!(
        status.success(),
        "mount {args:?} {} failed",
        mount_point.display()
    );
}

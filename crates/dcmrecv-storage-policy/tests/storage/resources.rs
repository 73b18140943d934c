//! Disk full and read-only output directories, on a small tmpfs. Mounting needs root: CI runs as
//! root; elsewhere these tests fail with a message saying so (they are never skipped).

use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use dcmrecv_storage_policy::{ErrorKind, InstanceMeta, OpenError, Storage, StorageOptions};

use crate::support::*;

const UID: &str = "1.2.826.0.1.3680043.10.1145.9.4";

/// A tmpfs mounted on a fresh directory, unmounted (and the directory removed) on drop.
struct Tmpfs {
    _parent: tempfile::TempDir,
    path: PathBuf,
}

impl Tmpfs {
    fn mount(options: &str) -> Tmpfs {
        let euid = std::fs::metadata("/proc/self")
            .map(|m| m.uid())
            .unwrap_or(u32::MAX);
        assert_eq!(
            euid, 0,
            "this test mounts a small tmpfs to fill it up and needs root (CI runs as root); \
             run `sudo -E cargo test -p dcmrecv-storage-policy --test storage resources`"
        );
        let parent = tempdir();
        let path = parent.path().join("mnt");
        std::fs::create_dir(&path).unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", options, "tmpfs"])
            .arg(&path)
            .status()
            .expect("run mount(8)");
        assert!(status.success(), "mount -t tmpfs -o {options} failed");
        Tmpfs {
            _parent: parent,
            path,
        }
    }

    fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}

/// Fills the file system with `filler` until it is full, then frees `keep` bytes.
fn fill(filler: &Path, keep: u64) {
    let mut file = std::fs::File::create(filler).unwrap();
    let block = vec![0x5Au8; 4096];
    loop {
        match file.write_all(&block) {
            Ok(()) => {}
            Err(e) if e.raw_os_error() == Some(28) => break,
            Err(e) => panic!("filling: {e}"),
        }
    }
    let _ = file.flush();
    let len = file.metadata().unwrap().len();
    file.set_len(len.saturating_sub(keep)).unwrap();
}

#[test]
fn a_full_disk_is_out_of_resources_and_leaves_nothing_partial() {
    let fs = Tmpfs::mount("size=256k");
    let storage = storage(StorageOptions::new(fs.path()));
    let meta = InstanceMeta::new(CT, UID, EXPLICIT);

    // A 1 MiB instance does not fit: the error comes while the bytes stream in.
    let big = Synth::ct(UID).pixel_bytes(1024 * 1024).encode(EXPLICIT);
    let (result, logs) = capture_logs(|| store(&storage, &meta, &big, 16 * 1024));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfResources);
    assert_eq!(error.kind().status(), 0xA700);
    assert_eq!(error.reason(), "cannot write file: no space left on device");
    assert!(
        logs.contains("ERROR cannot store received object: "),
        "{logs}"
    );
    assert!(logs.contains(": No space left on device"), "{logs}");
    assert!(tree(fs.path()).is_empty(), "{:?}", tree(fs.path()));

    // The space was given back: a small instance fits again.
    let small = Synth::ct(UID).pixel_bytes(2048).encode(EXPLICIT);
    let stored = store(&storage, &meta, &small, 16 * 1024).unwrap();
    assert_eq!(tree(fs.path()), vec![format!("CT.{UID}")]);
    std::fs::remove_file(stored.path().unwrap()).unwrap();

    // Nearly full: the last bytes are flushed when the instance finishes, and that fails, with
    // DCMTK's log line naming the final path.
    let filler = fs.path().join("filler");
    fill(&filler, 8 * 1024);
    let medium = Synth::ct(UID).pixel_bytes(40 * 1024).encode(EXPLICIT);
    let (result, logs) = capture_logs(|| store(&storage, &meta, &medium, medium.len()));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfResources);
    assert!(
        logs.contains(&format!(
            "ERROR cannot store received object: {}/CT.{UID}: No space left on device",
            fs.path().display()
        )),
        "{logs}"
    );
    assert_eq!(tree(fs.path()), vec!["filler".to_string()]);

    // Freeing space makes the same store succeed.
    std::fs::remove_file(&filler).unwrap();
    let stored = store(&storage, &meta, &medium, medium.len()).unwrap();
    let file = std::fs::read(stored.path().unwrap()).unwrap();
    assert_eq!(&file[header_len(&file)..], &medium[..]);
}

#[test]
fn a_read_only_output_directory_is_not_writable() {
    let fs = Tmpfs::mount("size=64k,ro");
    match Storage::new(StorageOptions::new(fs.path())) {
        Err(OpenError::OutputDirectoryNotWritable { path, .. }) => assert_eq!(path, fs.path()),
        other => panic!("expected OutputDirectoryNotWritable, got {other:?}"),
    }
}

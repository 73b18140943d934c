//! Temporary files, renames, aborts, leftovers, vanished directories.

use std::sync::Arc;

use dcmrecv_storage_policy::{
    ErrorKind, InstanceMeta, Naming, OpenError, Storage, StorageOptions, Subdirectories,
};

use crate::support::*;

const UID: &str = "1.2.826.0.1.3680043.10.1145.9.3";

/// Large enough to be visible (as a temporary file) in flight.
const LARGE: usize = 1 << 20;

#[test]
fn while_receiving_only_a_hidden_temporary_file_exists() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let dataset = Synth::ct(UID).pixel_bytes(LARGE).encode(EXPLICIT);
    let mut incoming = storage
        .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
        .unwrap();
    incoming.write(&dataset[..dataset.len() / 2]).unwrap();
    let during = tree(dir.path());
    assert_eq!(during.len(), 1);
    // `.dcmrecv-tmp-<16 hex digits drawn at start>-<n>.part`.
    let middle = during[0]
        .strip_prefix(".dcmrecv-tmp-")
        .and_then(|m| m.strip_suffix(".part"))
        .unwrap_or_else(|| panic!("{during:?}"));
    let (id, n) = middle.split_once('-').unwrap();
    assert!(
        id.len() == 16 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "{during:?}"
    );
    assert!(n.bytes().all(|b| b.is_ascii_digit()), "{during:?}");
    incoming.write(&dataset[dataset.len() / 2..]).unwrap();
    incoming.finish().unwrap();
    assert_eq!(tree(dir.path()), vec![format!("CT.{UID}")]);
}

// See: issue 16, item 3.
#[cfg(target_os = "linux")]
#[test]
fn a_small_object_appears_only_under_its_final_name() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    assert!(dataset.len() < 32 * 1024);
    let mut incoming = storage
        .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
        .unwrap();
    incoming.write(&dataset[..dataset.len() / 2]).unwrap();
    // Unnamed (O_TMPFILE) while it is in the write buffer.
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));
    incoming.write(&dataset[dataset.len() / 2..]).unwrap();
    let stored = incoming.finish().unwrap();
    assert_eq!(tree(dir.path()), vec![format!("CT.{UID}")]);
    assert_eq!(data_set_of(stored.path().unwrap()), dataset);
}

/// The data set of a stored file (after its meta header).
fn data_set_of(path: &std::path::Path) -> Vec<u8> {
    let file = std::fs::read(path).unwrap();
    file[header_len(&file)..].to_vec()
}

#[test]
fn an_aborted_transfer_leaves_nothing_behind() {
    let dir = tempdir();
    let storage =
        storage(StorageOptions::new(dir.path()).subdirectories(Subdirectories::SeriesDate));
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let mut incoming = storage
        .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
        .unwrap();
    incoming.write(&dataset[..100]).unwrap();
    incoming.abort();
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));

    // Dropping an unfinished instance (a panicking caller, say) cleans up too.
    let mut incoming = storage
        .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
        .unwrap();
    incoming.write(&dataset[..100]).unwrap();
    drop(incoming);
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn an_abort_does_not_touch_a_previously_stored_file() {
    // DCMTK's +B deletes the old file when a resend of it aborts (spec R22); we never do.
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let meta = InstanceMeta::new(CT, UID, EXPLICIT);
    let stored = store(&storage, &meta, &dataset, 512).unwrap();
    let before = std::fs::read(stored.path().unwrap()).unwrap();
    let mut incoming = storage.begin(&meta).unwrap();
    incoming.write(&dataset[..10]).unwrap();
    incoming.abort();
    assert_eq!(std::fs::read(stored.path().unwrap()).unwrap(), before);
    assert_eq!(tree(dir.path()), vec![format!("CT.{UID}")]);
}

// See: issue 11, item 8.
#[test]
fn sweep_removes_only_leftovers_that_no_live_receiver_holds() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    // Another receiver on the same directory, with a transfer in flight (it could even have
    // our process ID: PID 1 in two containers).
    let other = crate::support::storage(StorageOptions::new(dir.path()));
    // Objects in flight larger than 32 KiB: they have temporary names.
    let dataset = Synth::ct(UID).pixel_bytes(LARGE).encode(EXPLICIT);
    let half = dataset.len() / 2;
    let mut theirs = other.begin(&InstanceMeta::new(CT, UID, EXPLICIT)).unwrap();
    theirs.write(&dataset[..half]).unwrap();
    let mut ours = storage
        .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
        .unwrap();
    ours.write(&dataset[..half]).unwrap();
    let live = tree(dir.path());
    assert_eq!(live.len(), 2);
    // Leftovers of killed receivers: nobody holds them, whatever the id, including the
    // `<pid>` names of earlier versions and names of our own pid.
    let dead = [
        ".dcmrecv-tmp-00000000000000ff-7.part".to_string(),
        ".dcmrecv-tmp-1-0.part".to_string(),
        format!(".dcmrecv-tmp-{}-3.part", std::process::id()),
    ];
    let others = [
        "CT.1.2.3",
        ".dcmrecv-tmp-x-1.part",
        "dcmrecv-tmp-5-5.part",
        ".dcmrecv-tmp-5-5.part.dcm",
    ];
    for name in dead.iter().map(String::as_str).chain(others) {
        std::fs::write(dir.path().join(name), b"partial").unwrap();
    }
    std::fs::create_dir(dir.path().join(".dcmrecv-tmp-4294967294-1.part")).unwrap();
    let (removed, logs) = capture_logs(|| storage.sweep_leftovers());
    let removed = removed.unwrap();
    let mut expected: Vec<_> = dead.iter().map(|d| dir.path().join(d)).collect();
    expected.sort();
    let leftovers: Vec<_> = expected
        .iter()
        .cloned()
        .map(dcmrecv_storage_policy::Leftover::TemporaryFile)
        .collect();
    assert_eq!(removed, leftovers);
    for path in &expected {
        assert!(logs.contains(&format!(
            "WARN removed temporary file left by an interrupted transfer: {}",
            path.display()
        )));
    }
    let left = tree(dir.path());
    for name in live.iter().map(String::as_str).chain(others) {
        assert!(left.contains(&name.to_string()), "{name}: {left:?}");
    }
    // The other receiver's sweep spares ours too; both transfers complete.
    assert!(other.sweep_leftovers().unwrap().is_empty());
    theirs.write(&dataset[half..]).unwrap();
    theirs.finish().unwrap();
    ours.write(&dataset[half..]).unwrap();
    ours.finish().unwrap();
    assert!(storage.sweep_leftovers().unwrap().is_empty());
}

#[test]
fn the_output_directory_is_validated_at_start() {
    let dir = tempdir();
    let missing = dir.path().join("missing");
    assert!(matches!(
        Storage::new(StorageOptions::new(&missing)),
        Err(OpenError::OutputDirectoryMissing { .. })
    ));
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    assert!(matches!(
        Storage::new(StorageOptions::new(&file)),
        Err(OpenError::OutputNotADirectory { .. })
    ));
    assert!(matches!(
        Storage::new(StorageOptions::new(dir.path()).extension(".d\0cm")),
        Err(OpenError::InvalidExtension { .. })
    ));
    assert!(matches!(
        Storage::new(StorageOptions::new(dir.path()).implementation("1.2.x", "A", "B")),
        Err(OpenError::InvalidImplementation { .. })
    ));
    assert!(matches!(
        Storage::new(StorageOptions::new(dir.path()).implementation(
            "1.2",
            "WAY_TOO_LONG_NAME",
            "B"
        )),
        Err(OpenError::InvalidImplementation { .. })
    ));
    // The probe file does not stay behind.
    assert!(Storage::new(StorageOptions::new(dir.path())).is_ok());
    assert_eq!(tree(dir.path()), vec!["file".to_string()]);
}

#[test]
fn a_vanished_output_directory_is_out_of_resources() {
    let dir = tempdir();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let storage = storage(StorageOptions::new(&out));
    std::fs::remove_dir(&out).unwrap();
    let (result, logs) = capture_logs(|| storage.begin(&InstanceMeta::new(CT, UID, EXPLICIT)));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfResources);
    assert_eq!(error.kind().status(), 0xA700);
    assert_eq!(
        error.reason(),
        "cannot create file: no such file or directory"
    );
    assert!(
        logs.contains("ERROR cannot store received object: "),
        "{logs}"
    );
    assert!(logs.contains(": No such file or directory"), "{logs}");

    // Vanishing in the middle of a transfer: the rename fails.
    std::fs::create_dir(&out).unwrap();
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let mut incoming = storage
        .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
        .unwrap();
    incoming.write(&dataset).unwrap();
    std::fs::remove_dir_all(&out).unwrap();
    let (result, logs) = capture_logs(|| incoming.finish());
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfResources);
    assert!(
        logs.contains(&format!(
            "ERROR cannot store received object: {}/CT.{UID}: No such file or directory",
            out.display()
        )),
        "{logs}"
    );
}

#[test]
fn a_sub_directory_that_cannot_be_created_is_out_of_resources() {
    let dir = tempdir();
    let storage =
        storage(StorageOptions::new(dir.path()).subdirectories(Subdirectories::SeriesDate));
    std::fs::write(dir.path().join("data"), b"in the way").unwrap();
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let (result, logs) = capture_logs(|| store_ct(&storage, UID, &dataset, 512));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfResources);
    let sub = dir.path().join("data/2020/01/15");
    assert!(
        logs.contains(&format!(
            "ERROR cannot create directory for received object: {}: Cannot create directory: ",
            sub.display()
        )),
        "{logs}"
    );
    assert_eq!(
        tree(dir.path()),
        vec!["data".to_string()],
        "no temporary file left"
    );
}

#[test]
fn a_directory_in_place_of_the_file_is_out_of_resources() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    std::fs::create_dir(dir.path().join(format!("CT.{UID}"))).unwrap();
    std::fs::write(dir.path().join(format!("CT.{UID}/keep")), b"").unwrap();
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let (result, logs) = capture_logs(|| store_ct(&storage, UID, &dataset, 512));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::OutOfResources);
    assert!(
        logs.contains(&format!(
            "ERROR cannot store received object: {}/CT.{UID}: Is a directory",
            dir.path().display()
        )),
        "{logs}"
    );
    assert_eq!(
        tree(dir.path()),
        vec![format!("CT.{UID}/"), format!("CT.{UID}/keep")]
    );
}

#[test]
fn fsync_stores_the_same_file() {
    let dir = tempdir();
    let storage = storage(
        StorageOptions::new(dir.path())
            .fsync(true)
            .subdirectories(Subdirectories::SeriesDate)
            .naming(Naming::ShortUnique),
    );
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let stored = store_ct(&storage, UID, &dataset, 512).unwrap();
    let file = std::fs::read(stored.path().unwrap()).unwrap();
    assert_eq!(&file[header_len(&file)..], &dataset[..]);
}

#[test]
fn many_associations_share_one_storage() {
    let dir = tempdir();
    let storage = Arc::new(storage(
        StorageOptions::new(dir.path()).naming(Naming::ShortUnique),
    ));
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let storage = Arc::clone(&storage);
            std::thread::spawn(move || {
                for i in 0..10 {
                    let uid = format!("{UID}.{t}.{i}");
                    let dataset = Synth::ct(&uid).encode(EXPLICIT);
                    store(
                        &storage,
                        &InstanceMeta::new(CT, &uid, EXPLICIT),
                        &dataset,
                        97,
                    )
                    .unwrap();
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
    // 80 distinct short names, even though all were drawn from the same second's sequence.
    let files = tree(dir.path());
    assert_eq!(files.len(), 80, "{files:?}");
    assert!(files.iter().all(|f| f.starts_with("CT_")));
}

//! `--on-duplicate` and `--min-free-space` through the public API.

use std::sync::{Arc, Barrier};

use dcmrecv_storage_policy::{
    ErrorKind, InstanceMeta, MinFreeSpace, Naming, OnDuplicate, OpenError, Storage, StorageOptions,
    StoreError,
};

use crate::support::*;

const UID: &str = "1.2.826.0.1.3680043.10.1145.9.77";

fn store_bytes(
    storage: &Storage,
    bytes: &[u8],
) -> Result<dcmrecv_storage_policy::Stored, StoreError> {
    let mut incoming = storage.begin(&InstanceMeta::new(CT, UID, EXPLICIT))?;
    incoming.write(bytes)?;
    incoming.finish()
}

/// Two copies of one instance that differ (the pixel data), so we can tell which one is kept.
fn two_copies() -> (Vec<u8>, Vec<u8>) {
    (
        Synth::ct(UID).pixel_bytes(16).encode(EXPLICIT),
        Synth::ct(UID).pixel_bytes(32).encode(EXPLICIT),
    )
}

#[test]
fn each_policy_does_what_it_says_with_a_second_copy() {
    let (first, second) = two_copies();
    for policy in OnDuplicate::ALL {
        let dir = tempdir();
        let storage = storage(
            StorageOptions::new(dir.path())
                .on_duplicate(policy)
                .extension(".dcm"),
        );
        let a = store_bytes(&storage, &first).unwrap();
        assert!(!a.kept_existing());
        let original = std::fs::read(a.path().unwrap()).unwrap();
        let b = store_bytes(&storage, &second);
        let name = format!("CT.{UID}.dcm");
        match policy {
            OnDuplicate::Overwrite => {
                let b = b.unwrap();
                assert!(b.replaced());
                assert_eq!(tree(dir.path()), vec![name]);
                assert_ne!(std::fs::read(b.path().unwrap()).unwrap(), original);
            }
            OnDuplicate::Keep => {
                let b = b.unwrap();
                assert!(b.kept_existing() && !b.replaced());
                assert_eq!(b.path(), a.path());
                assert_eq!(tree(dir.path()), vec![name]);
                assert_eq!(std::fs::read(a.path().unwrap()).unwrap(), original);
            }
            OnDuplicate::Reject => {
                let e = b.unwrap_err();
                assert_eq!(e.kind(), ErrorKind::CannotUnderstand);
                assert_eq!(e.kind().status(), 0xC000);
                assert!(
                    e.reason().starts_with("duplicate SOP instance"),
                    "{}",
                    e.reason()
                );
                assert_eq!(tree(dir.path()), vec![name]);
                assert_eq!(std::fs::read(a.path().unwrap()).unwrap(), original);
            }
            OnDuplicate::Unique => {
                let b = b.unwrap();
                assert_eq!(tree(dir.path()), vec![name, format!("CT.{UID}_1.dcm")]);
                assert_eq!(std::fs::read(a.path().unwrap()).unwrap(), original);
                let c = store_bytes(&storage, &second).unwrap();
                assert!(c.path().unwrap().ends_with(format!("CT.{UID}_2.dcm")));
                assert_eq!(
                    std::fs::read(b.path().unwrap()).unwrap(),
                    std::fs::read(c.path().unwrap()).unwrap()
                );
            }
            _ => unreachable!(),
        }
    }
}

#[test]
fn racing_copies_never_both_win() {
    for policy in [OnDuplicate::Keep, OnDuplicate::Reject, OnDuplicate::Unique] {
        for _ in 0..20 {
            let dir = tempdir();
            let storage = storage(StorageOptions::new(dir.path()).on_duplicate(policy));
            let (first, second) = two_copies();
            let barrier = Arc::new(Barrier::new(2));
            let results: Vec<_> = [first, second]
                .into_iter()
                .map(|bytes| {
                    let storage = storage.clone();
                    let barrier = Arc::clone(&barrier);
                    std::thread::spawn(move || {
                        let mut incoming = storage
                            .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
                            .unwrap();
                        incoming.write(&bytes).unwrap();
                        barrier.wait();
                        incoming.finish()
                    })
                })
                .collect::<Vec<_>>()
                .into_iter()
                .map(|t| t.join().unwrap())
                .collect();
            let ok = results
                .iter()
                .filter(|r| r.as_ref().is_ok_and(|s| !s.kept_existing()))
                .count();
            let files = tree(dir.path());
            match policy {
                OnDuplicate::Keep => {
                    assert_eq!(ok, 1, "{results:?}");
                    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 2);
                    assert_eq!(files.len(), 1, "{files:?}");
                }
                OnDuplicate::Reject => {
                    assert_eq!(ok, 1, "{results:?}");
                    assert_eq!(files.len(), 1, "{files:?}");
                }
                _ => {
                    assert_eq!(ok, 2, "{results:?}");
                    assert_eq!(files, vec![format!("CT.{UID}"), format!("CT.{UID}_1")]);
                }
            }
        }
    }
}

#[test]
fn policies_other_than_overwrite_need_default_names() {
    let dir = tempdir();
    let e = Storage::new(
        StorageOptions::new(dir.path())
            .naming(Naming::ShortUnique)
            .on_duplicate(OnDuplicate::Reject),
    )
    .unwrap_err();
    assert!(matches!(e, OpenError::Unsupported { .. }), "{e:?}");
    assert!(e.to_string().contains("default file names"), "{e}");
    Storage::new(StorageOptions::new(dir.path()).naming(Naming::ShortUnique)).unwrap();
}

#[test]
fn below_the_minimum_nothing_is_written_and_above_it_storing_resumes() {
    let dir = tempdir();
    let total = {
        let probe = storage(StorageOptions::new(dir.path()));
        probe.free_space().unwrap().unwrap().total
    };
    // A threshold above what the file system can have free: refused before any file exists.
    let (refused, logs) = capture_logs(|| {
        let low = storage(
            StorageOptions::new(dir.path()).min_free_space(Some(MinFreeSpace::Bytes(total + 1))),
        );
        let first = low
            .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
            .unwrap_err();
        let second = low
            .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
            .unwrap_err();
        (first, second)
    });
    assert_eq!(refused.0.kind(), ErrorKind::OutOfResources);
    assert!(matches!(refused.1, StoreError::LowFreeSpace { .. }));
    assert!(refused.0.reason().len() <= 64, "{}", refused.0.reason());
    assert_eq!(logs.matches("refusing new objects").count(), 1, "{logs}");
    assert!(tree(dir.path()).is_empty());
    let fine =
        storage(StorageOptions::new(dir.path()).min_free_space(Some(MinFreeSpace::Bytes(1))));
    store_ct(&fine, UID, &Synth::ct(UID).encode(EXPLICIT), 1024).unwrap();
}

//! Paths and names: the four schemes, sub-directories, duplicates, hostile values.

use std::path::Path;
use std::sync::Arc;

use dcmrecv_storage_policy::{
    ErrorKind, InstanceMeta, Mode, Naming, StorageOptions, Subdirectories, modality_prefix,
};

use crate::support::*;

const UID: &str = "1.2.826.0.1.3680043.10.1145.9.2";

fn name_of(path: &Path) -> String {
    path.file_name().unwrap().to_str().unwrap().to_string()
}

fn is_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[test]
fn default_names_with_and_without_extension() {
    let dir = tempdir();
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let plain = storage(StorageOptions::new(dir.path()));
    let stored = store_ct(&plain, UID, &dataset, 512).unwrap();
    assert_eq!(name_of(stored.path().unwrap()), format!("CT.{UID}"));
    let dcm = storage(StorageOptions::new(dir.path()).extension(".dcm"));
    let stored = store_ct(&dcm, UID, &dataset, 512).unwrap();
    assert_eq!(name_of(stored.path().unwrap()), format!("CT.{UID}.dcm"));
    // Debian's DCMTK turns a slash in the extension into an underscore.
    let slash = storage(StorageOptions::new(dir.path()).extension("/x.dcm"));
    let stored = store_ct(&slash, UID, &dataset, 512).unwrap();
    assert_eq!(name_of(stored.path().unwrap()), format!("CT.{UID}_x.dcm"));
    // A private class is UNKNOWN.
    let stored = store(
        &plain,
        &InstanceMeta::new("1.2.3.4", "1.2.3.4.888", EXPLICIT),
        &dataset,
        512,
    )
    .unwrap();
    assert_eq!(name_of(stored.path().unwrap()), "UNKNOWN.1.2.3.4.888");
}

#[test]
fn unique_uid_names() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()).naming(Naming::UniqueUid));
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let a = store_ct(&storage, UID, &dataset, 512).unwrap();
    let b = store(
        &storage,
        &InstanceMeta::new(MR, UID, EXPLICIT),
        &dataset,
        512,
    )
    .unwrap();
    let c = store(
        &storage,
        &InstanceMeta::new("1.2.3", UID, EXPLICIT),
        &dataset,
        512,
    )
    .unwrap();
    for (stored, prefix) in [(&a, "CT"), (&b, "MR"), (&c, "UNKNOWN")] {
        let name = name_of(stored.path().unwrap());
        let uid = name.strip_prefix(&format!("{prefix}.X.2.25.")).unwrap();
        assert!(uid.bytes().all(|b| b.is_ascii_digit()), "{name}");
        assert!(name.len() - prefix.len() - 3 <= 64, "{name}");
    }
    assert_eq!(tree(dir.path()).len(), 3);
}

#[test]
fn short_unique_names_never_overwrite() {
    let dir = tempdir();
    let storage = storage(
        StorageOptions::new(dir.path())
            .naming(Naming::ShortUnique)
            .extension(".dcm"),
    );
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let meta = InstanceMeta::new(CT, UID, EXPLICIT);
    let mut names = Vec::new();
    for _ in 0..5 {
        let stored = store(&storage, &meta, &dataset, 512).unwrap();
        assert!(!stored.replaced());
        names.push(name_of(stored.path().unwrap()));
    }
    let start = names[0][3..11].to_string();
    for name in &names {
        let rest = name
            .strip_prefix("CT_")
            .unwrap()
            .strip_suffix(".dcm")
            .unwrap();
        assert_eq!(rest.len(), 16, "{name}");
        assert!(is_hex(rest), "{name}");
        assert_eq!(&rest[..8], start, "the first half is the start time");
    }
    let start_time = u32::from_str_radix(&start, 16).unwrap() as i64;
    assert!((chrono::Utc::now().timestamp() - start_time).abs() < 60);
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 5, "five distinct files");
    // Unknown classes use XX.
    let stored = store(
        &storage,
        &InstanceMeta::new("1.2.3", UID, EXPLICIT),
        &dataset,
        512,
    )
    .unwrap();
    assert!(name_of(stored.path().unwrap()).starts_with("XX_"));
}

// See: issue 11, item 2.
#[test]
fn short_unique_names_are_never_refused_at_20000_objects_a_second() {
    let dir = tempdir();
    let storage = Arc::new(storage(
        StorageOptions::new(dir.path()).naming(Naming::ShortUnique),
    ));
    let dataset = Arc::new(Synth::ct(UID).encode(EXPLICIT));
    let start = std::time::Instant::now();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let storage = Arc::clone(&storage);
            let dataset = Arc::clone(&dataset);
            std::thread::spawn(move || {
                let meta = InstanceMeta::new(CT, UID, EXPLICIT);
                (0..5_000)
                    .filter(|_| store(&storage, &meta, &dataset, dataset.len()).is_err())
                    .count()
            })
        })
        .collect();
    let refused: usize = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let seconds = start.elapsed().as_secs_f64();
    // DCMTK's generator (re-seeded every second) refuses from the 1025th object of a second
    // on; whatever rate this machine reaches, there must be no refusal at all.
    assert_eq!(refused, 0, "{refused} of 20000 refused in {seconds:.1} s");
    let files = tree(dir.path());
    assert_eq!(files.len(), 20_000, "in {seconds:.1} s");
    assert!(files.iter().all(|f| f.starts_with("CT_") && f.len() == 19));
}

// See: issue 11, item 1.
#[test]
fn generated_names_never_replace_a_file_stored_at_the_same_moment() {
    // Tiny data sets of an unknown transfer syntax (stored unchecked): the stores are as fast
    // as the file system allows, so that several finish in the same microsecond.
    let dataset = Arc::new(b"tiny data set".to_vec());
    for naming in [Naming::SystemTime, Naming::UniqueUid, Naming::ShortUnique] {
        let dir = tempdir();
        let storage = Arc::new(storage(StorageOptions::new(dir.path()).naming(naming)));
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let storage = Arc::clone(&storage);
                let dataset = Arc::clone(&dataset);
                std::thread::spawn(move || {
                    for i in 0..2_000 {
                        let meta = InstanceMeta::new(CT, format!("{UID}.{t}.{i}"), "1.2.3.4");
                        let stored = store(&storage, &meta, &dataset, dataset.len()).unwrap();
                        assert!(!stored.replaced());
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().unwrap();
        }
        // Every object in a file of its own, none lost to another stored in the same
        // microsecond (+fst) or under the same value.
        assert_eq!(tree(dir.path()).len(), 16_000, "{naming:?}");
    }
}

#[test]
fn system_time_names() {
    let dir = tempdir();
    let storage = storage(
        StorageOptions::new(dir.path())
            .naming(Naming::SystemTime)
            .extension(".xyz"),
    );
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let before = chrono::Local::now().format("%Y%m%d%H%M%S").to_string();
    let stored = store_ct(&storage, UID, &dataset, 512).unwrap();
    let after = chrono::Local::now().format("%Y%m%d%H%M%S").to_string();
    let name = name_of(stored.path().unwrap());
    let (time, rest) = name.split_once('.').unwrap();
    let (micros, rest) = rest.split_once('.').unwrap();
    assert_eq!(time.len(), 14, "{name}");
    assert!(before.as_str() <= time && time <= after.as_str(), "{name}");
    assert_eq!(micros.len(), 6, "{name}");
    assert!(micros.bytes().all(|b| b.is_ascii_digit()), "{name}");
    assert_eq!(rest, "CT.xyz");
    let stored = store(
        &storage,
        &InstanceMeta::new("9.9", UID, EXPLICIT),
        &dataset,
        512,
    )
    .unwrap();
    assert!(name_of(stored.path().unwrap()).ends_with(".UNKNOWN.xyz"));
}

#[test]
fn series_date_subdirectories() {
    let dir = tempdir();
    let storage =
        storage(StorageOptions::new(dir.path()).subdirectories(Subdirectories::SeriesDate));
    let cases = [
        (Some("20200115"), "data/2020/01/15".to_string()),
        (Some("2020.01.15"), "data/2020/01/15".to_string()),
        (Some("20200115 "), "data/2020/01/15".to_string()),
        (Some("20200115\\20200116"), "data/2020/01/15".to_string()),
        (Some("20200231"), "data/2020/02/31".to_string()),
        (Some("00000101"), "data/0000/01/01".to_string()),
        (Some("20201301"), format!("undef/{}", today())),
        (Some("2020-01-15"), format!("undef/{}", today())),
        (Some("202001"), format!("undef/{}", today())),
        (Some(""), format!("undef/{}", today())),
        (None, format!("undef/{}", today())),
        (Some("../../../../tmp"), format!("undef/{}", today())),
    ];
    for (i, (date, sub)) in cases.iter().enumerate() {
        let uid = format!("{UID}.{i}");
        let dataset = Synth::ct(&uid).series_date(*date).encode(IMPLICIT);
        let stored = store(
            &storage,
            &InstanceMeta::new(CT, &uid, IMPLICIT),
            &dataset,
            100,
        )
        .unwrap();
        assert_eq!(
            stored.path().unwrap(),
            dir.path().join(sub).join(format!("CT.{uid}")),
            "{date:?}"
        );
    }
    // Series Date sent with another VR does not count (explicit VR).
    let mut obj = Synth::ct(UID).series_date(None).object();
    obj.put(dicom_core::DataElement::new(
        dicom_dictionary_std::tags::SERIES_DATE,
        dicom_core::VR::LO,
        dicom_core::PrimitiveValue::from("20200115"),
    ));
    let dataset = encode(&obj, EXPLICIT);
    let stored = store_ct(&storage, UID, &dataset, 100).unwrap();
    assert_eq!(
        stored.path().unwrap(),
        dir.path()
            .join(format!("undef/{}", today()))
            .join(format!("CT.{UID}"))
    );
}

#[test]
fn output_directory_spellings_show_in_paths() {
    let dir = tempdir();
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let with_slashes = format!("{}//", dir.path().display());
    let storage = storage(StorageOptions::new(&with_slashes));
    assert_eq!(storage.output_directory(), dir.path());
    let (stored, logs) = capture_logs(|| store_ct(&storage, UID, &dataset, 512));
    let expected = format!("{}/CT.{UID}", dir.path().display());
    assert_eq!(
        stored.unwrap().path().unwrap().display().to_string(),
        expected
    );
    assert!(logs.contains(&format!("Stored received object to file: {expected}")));
}

#[test]
fn duplicates_are_replaced_with_dcmtks_warning() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let meta = InstanceMeta::new(CT, UID, EXPLICIT);
    let first = Synth::ct(UID).pixel_bytes(64).encode(EXPLICIT);
    let second = Synth::ct(UID).pixel_bytes(128).encode(EXPLICIT);
    let stored = store(&storage, &meta, &first, 512).unwrap();
    assert!(!stored.replaced());
    let (stored, logs) = capture_logs(|| store(&storage, &meta, &second, 512));
    let stored = stored.unwrap();
    assert!(stored.replaced());
    let path = stored.path().unwrap();
    assert!(logs.contains(&format!(
        "WARN file already exists, overwriting: {}",
        path.display()
    )));
    let file = std::fs::read(path).unwrap();
    assert_eq!(&file[header_len(&file)..], &second[..]);
    assert_eq!(tree(dir.path()), vec![format!("CT.{UID}")]);
    // Different classes with the same instance UID are different files.
    store(&storage, &InstanceMeta::new(MR, UID, EXPLICIT), &first, 512).unwrap();
    assert_eq!(tree(dir.path()).len(), 2);
}

#[test]
fn hostile_instance_uids_never_leave_the_output_directory() {
    let dir = tempdir();
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let storage = storage(StorageOptions::new(&out).subdirectories(Subdirectories::SeriesDate));
    let dataset = Synth::ct("1.2.3").encode(EXPLICIT);
    // A slash becomes an underscore (Debian), so these stay single components.
    for (uid, name) in [
        ("1.2.3/4", "CT.1.2.3_4"),
        ("../../../x", "CT..._.._.._x"),
        ("/etc/passwd", "CT._etc_passwd"),
        ("abc def", "CT.abc def"),
        ("..", "CT..."),
        // Every byte outside [A-Za-z0-9 .:@_-] becomes `_`, as in Debian's DCMTK.
        ("a\\..\\b", "CT.a_.._b"),
        ("$(rm -rf x);*", "CT.__rm -rf x___"),
        ("1.2\n3", "CT.1.2_3"),
        ("1.2.\u{e9}", "CT.1.2.__"),
        ("1.2\u{1b}[31m", "CT.1.2__31m"),
    ] {
        let stored = store(
            &storage,
            &InstanceMeta::new(CT, uid, EXPLICIT),
            &dataset,
            512,
        )
        .unwrap();
        let path = stored.path().unwrap();
        assert_eq!(name_of(path), name, "{uid}");
        assert_eq!(path.parent().unwrap(), out.join("data/2020/01/15"), "{uid}");
    }
    // A NUL (DCMTK cuts the name there), and over-long UIDs, are refused at once.
    for uid in ["1.2\0.3", &"1".repeat(65)] {
        let (result, logs) = capture_logs(|| storage.begin(&InstanceMeta::new(CT, uid, EXPLICIT)));
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::CannotUnderstand, "{uid:?}");
        assert!(
            error.reason().starts_with("file name "),
            "{uid:?}: {}",
            error.reason()
        );
        assert!(logs.contains(
            "cannot generate directory or file name for received object: Invalid SOP Instance UID"
        ));
    }
    // Nothing was written outside `out`.
    assert_eq!(tree(dir.path())[0], "out/");
    assert!(tree(dir.path()).iter().all(|p| p.starts_with("out/")));
    // Other schemes do not put the instance UID in the name, so they do not care.
    let unique = crate::support::storage(StorageOptions::new(&out).naming(Naming::UniqueUid));
    assert!(
        store(
            &unique,
            &InstanceMeta::new(CT, "1.2\0.3", EXPLICIT),
            &dataset,
            512
        )
        .is_ok()
    );
}

#[test]
fn bit_preserving_names_come_from_the_command_only() {
    let dir = tempdir();
    let storage = storage(
        StorageOptions::new(dir.path())
            .mode(Mode::BitPreserving)
            .naming(Naming::UniqueUid),
    );
    // The command has no class: the data set's MR class is not used for the prefix.
    let dataset = Synth::ct(UID).class(Some(MR)).encode(EXPLICIT);
    let stored = store(
        &storage,
        &InstanceMeta::new("", UID, EXPLICIT),
        &dataset,
        512,
    )
    .unwrap();
    assert!(name_of(stored.path().unwrap()).starts_with("UNKNOWN.X."));
}

#[test]
fn the_prefix_table_is_public() {
    assert_eq!(modality_prefix(CT), Some("CT"));
    assert_eq!(modality_prefix("1.2.840.10008.5.1.4.1.1.481.2"), Some("RD"));
    assert_eq!(
        modality_prefix("1.2.840.10008.5.1.4.1.1.88.33"),
        Some("SRc")
    );
    assert_eq!(modality_prefix("1.2.3.4"), None);
}

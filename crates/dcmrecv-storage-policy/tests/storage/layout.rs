//! Study folders (`-su`/`-ss`/`-sp`), output templates and the receipt's UIDs in every mode and
//! for every chunking: the attributes come from the streaming scanner.

use dcmrecv_storage_policy::{
    ErrorKind, Mode, OutputTemplate, Sorting, StorageOptions, rename_study_files,
};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;

use crate::support::*;

const UID: &str = "1.2.826.0.1.3680043.10.1145.12.1";
const STUDY: &str = "1.2.826.0.1.3680043.10.1145.12";
const SERIES: &str = "1.2.826.0.1.3680043.10.1145.12.7";

fn dataset(patient_id: &str, study: Option<&str>) -> Vec<u8> {
    let mut obj = Synth::ct(UID).pixel_bytes(4096).object();
    let text = |tag, vr, value: &str| DataElement::new(tag, vr, PrimitiveValue::from(value));
    obj.put(text(tags::PATIENT_ID, VR::LO, patient_id));
    obj.put(text(tags::PATIENT_NAME, VR::PN, "Synthetic^Layout"));
    if let Some(study) = study {
        obj.put(text(tags::STUDY_INSTANCE_UID, VR::UI, study));
    }
    obj.put(text(tags::SERIES_INSTANCE_UID, VR::UI, SERIES));
    obj.put(text(tags::STUDY_DATE, VR::DA, "20261207"));
    encode(&obj, EXPLICIT)
}

#[test]
fn receipts_carry_the_study_and_series_in_every_mode() {
    for mode in [Mode::Normal, Mode::BitPreserving, Mode::Ignore] {
        for chunk in [1, 7, 100_000] {
            let dir = tempdir();
            let s = storage(StorageOptions::new(dir.path()).mode(mode));
            let stored = store_ct(&s, UID, &dataset("P1", Some(STUDY)), chunk).unwrap();
            assert_eq!(stored.study_instance_uid(), Some(STUDY), "{mode:?} {chunk}");
            assert_eq!(
                stored.series_instance_uid(),
                Some(SERIES),
                "{mode:?} {chunk}"
            );
        }
    }
}

#[test]
fn study_folders_in_normal_and_bit_preserving_mode() {
    for mode in [Mode::Normal, Mode::BitPreserving] {
        let dir = tempdir();
        let s = storage(
            StorageOptions::new(dir.path())
                .mode(mode)
                .sorting(Sorting::StudyUid("ST".into())),
        );
        store_ct(&s, UID, &dataset("P1", Some(STUDY)), 13).unwrap();
        assert_eq!(
            tree(dir.path()),
            [format!("ST_{STUDY}/"), format!("ST_{STUDY}/CT.{UID}")]
        );
        let refused = store_ct(&s, UID, &dataset("P1", None), 13).unwrap_err();
        assert_eq!(refused.kind(), ErrorKind::CannotUnderstand, "{mode:?}");
    }
    let dir = tempdir();
    let s = storage(StorageOptions::new(dir.path()).sorting(Sorting::PatientName));
    let stored = store_ct(&s, UID, &dataset("P1", Some(STUDY)), 100).unwrap();
    let folder = stored
        .path()
        .unwrap()
        .parent()
        .unwrap()
        .file_name()
        .unwrap();
    assert!(
        folder.to_str().unwrap().starts_with("Synthetic_Layout_"),
        "{folder:?}"
    );
}

#[test]
fn templates_in_both_modes_with_hostile_values() {
    let template = OutputTemplate::parse(
        "{PatientID|NOID}/{StudyDate:YYYY}/{(0020,000E)}/{prefix}.{SOPInstanceUID}.dcm",
    )
    .unwrap();
    for mode in [Mode::Normal, Mode::BitPreserving] {
        let dir = tempdir();
        let s = storage(
            StorageOptions::new(dir.path())
                .mode(mode)
                .output_template(template.clone()),
        );
        for chunk in [3, 100_000] {
            let stored =
                store_ct(&s, UID, &dataset("../../etc/passwd", Some(STUDY)), chunk).unwrap();
            let rel = stored.path().unwrap().strip_prefix(dir.path()).unwrap();
            assert_eq!(
                rel.to_str().unwrap(),
                format!(".._.._etc_passwd/2026/{SERIES}/CT.{UID}.dcm"),
                "{mode:?} {chunk}"
            );
        }
        // `..` as a whole component: the documented fallback.
        let stored = store_ct(&s, UID, &dataset("..", Some(STUDY)), 50).unwrap();
        assert_eq!(stored.path().unwrap(), dir.path().join(format!("CT.{UID}")));
        // A missing value uses the fallback text.
        let mut obj = Synth::ct(UID).object();
        obj.put(DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(SERIES),
        ));
        obj.put(DataElement::new(
            tags::STUDY_DATE,
            VR::DA,
            PrimitiveValue::from("20261207"),
        ));
        let stored = store_ct(&s, UID, &encode(&obj, EXPLICIT), 50).unwrap();
        assert!(
            stored.path().unwrap().starts_with(dir.path().join("NOID")),
            "{:?}",
            stored.path()
        );
    }
}

#[test]
fn rename_never_replaces() {
    let dir = tempdir();
    let a = dir.path().join("CT.1");
    let b = dir.path().join("CT.2");
    std::fs::write(&a, b"a").unwrap();
    std::fs::write(&b, b"b").unwrap();
    let first = rename_study_files(std::slice::from_ref(&a));
    let second = rename_study_files(std::slice::from_ref(&b));
    assert_eq!(first, [dir.path().join("CT000001")]);
    assert_eq!(second, [dir.path().join("CT000002")]);
    assert_eq!(std::fs::read(dir.path().join("CT000001")).unwrap(), b"a");
    assert_eq!(std::fs::read(dir.path().join("CT000002")).unwrap(), b"b");
}

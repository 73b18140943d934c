//! File content in normal, bit-preserving and ignore modes.

use dcmrecv_storage_policy::{
    DEFAULT_IMPLEMENTATION_CLASS_UID, ErrorKind, InstanceMeta, Mode, Naming, StorageOptions,
    Subdirectories,
};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use expect_test::expect;
use proptest::prelude::*;

use crate::support::*;

const UID: &str = "1.2.826.0.1.3680043.10.1145.9.1";

#[test]
fn normal_mode_stores_meta_from_the_data_set_and_the_bytes_as_received() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let meta = InstanceMeta::new(CT, UID, EXPLICIT).with_calling_ae_title("STORESCU");
    let (stored, logs) = capture_logs(|| store(&storage, &meta, &dataset, 1000));
    let stored = stored.unwrap();
    let path = dir.path().join(format!("CT.{UID}"));
    assert_eq!(stored.path(), Some(path.as_path()));
    assert_eq!(stored.dataset_len(), dataset.len() as u64);
    assert!(!stored.replaced());
    assert_eq!(tree(dir.path()), vec![format!("CT.{UID}")]);
    let file = std::fs::read(&path).unwrap();
    assert_eq!(&file[..128], &[0u8; 128][..]);
    let header = header_len(&file);
    assert_eq!(
        &file[header..],
        &dataset[..],
        "the data set is stored verbatim"
    );
    let listing = meta_listing(&file).replace(DEFAULT_IMPLEMENTATION_CLASS_UID, "<our class UID>");
    expect![[r#"
        (0002,0000) UL 190
        (0002,0001) OB [00, 01]
        (0002,0002) UI "1.2.840.10008.5.1.4.1.1.2\0"
        (0002,0003) UI "1.2.826.0.1.3680043.10.1145.9.1\0"
        (0002,0010) UI "1.2.840.10008.1.2.1\0"
        (0002,0012) UI "<our class UID>\0"
        (0002,0013) SH "DCMRECV_RS_010"
    "#]]
    .assert_eq(&listing);
    // dicom-object reads the result back as a valid Part-10 file.
    let obj = dicom_object::open_file(&path).unwrap();
    assert_eq!(obj.meta().media_storage_sop_instance_uid(), UID);
    assert_eq!(
        obj.element(tags::PATIENT_NAME).unwrap().to_str().unwrap(),
        "Synthetic^Test"
    );
    assert!(logs.contains(&format!(
        "DEBUG generated filename for received object: {}",
        path.display()
    )));
    assert!(logs.contains(&format!(
        "INFO Stored received object to file: {}",
        path.display()
    )));
}

#[test]
fn normal_mode_meta_follows_the_data_set_and_the_name_follows_the_command() {
    // Spec section 4.6: command instance 1.2.3.999.1 with a different data set instance, and
    // command class MR with a CT data set.
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let stored = store(
        &storage,
        &InstanceMeta::new(MR, "1.2.3.999.1", EXPLICIT),
        &dataset,
        64,
    )
    .unwrap();
    let path = stored.path().unwrap();
    assert_eq!(path, dir.path().join("MR.1.2.3.999.1"));
    let listing = meta_listing(&std::fs::read(path).unwrap());
    assert!(
        listing.contains(&format!("(0002,0002) UI \"{CT}\\0\"")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("(0002,0003) UI \"{UID}\\0\"")),
        "{listing}"
    );
}

#[test]
fn normal_mode_falls_back_when_the_data_set_has_no_uids() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let dataset = Synth::ct(UID).class(None).instance(None).encode(IMPLICIT);
    let stored = store(&storage, &InstanceMeta::new(CT, UID, IMPLICIT), &dataset, 7).unwrap();
    let listing = meta_listing(&std::fs::read(stored.path().unwrap()).unwrap());
    assert!(
        listing.contains("(0002,0002) UI \"1.2.276.0.7230010.3.1.0.1\\0\""),
        "{listing}"
    );
    let instance_line = listing
        .lines()
        .find(|l| l.starts_with("(0002,0003)"))
        .unwrap();
    assert!(
        instance_line.starts_with("(0002,0003) UI \"2.25."),
        "{instance_line}"
    );
}

#[test]
fn the_data_set_names_the_file_when_the_command_has_no_class() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let mr = Synth::ct(UID).class(Some(MR)).encode(EXPLICIT);
    let stored = store(&storage, &InstanceMeta::new("", UID, EXPLICIT), &mr, 100).unwrap();
    assert_eq!(stored.path().unwrap(), dir.path().join(format!("MR.{UID}")));

    // No class anywhere: +fd cannot name the file (spec R13), the other schemes use UNKNOWN.
    let classless = Synth::ct(UID).class(None).encode(EXPLICIT);
    let (result, logs) = capture_logs(|| {
        store(
            &storage,
            &InstanceMeta::new("", UID, EXPLICIT),
            &classless,
            100,
        )
    });
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
    assert_eq!(error.kind().status(), 0xC000);
    assert!(logs.contains(
        "ERROR cannot generate directory or file name for received object: Invalid SOP Class UID"
    ));
    assert_eq!(tree(dir.path()), vec![format!("MR.{UID}")]);

    let unique = crate::support::storage(StorageOptions::new(dir.path()).naming(Naming::UniqueUid));
    let stored = store(
        &unique,
        &InstanceMeta::new("", UID, EXPLICIT),
        &classless,
        100,
    )
    .unwrap();
    let name = stored
        .path()
        .unwrap()
        .file_name()
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(name.starts_with("UNKNOWN.X.2.25."), "{name}");
}

#[test]
fn an_empty_data_set_cannot_be_understood_in_normal_mode() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let error = store_ct(&storage, UID, &[], 1).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
    assert_eq!(error.reason(), "empty data set");
    assert!(tree(dir.path()).is_empty());
    // An empty deflate stream is an empty data set too.
    let empty_deflated = {
        use std::io::Write;
        let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(&[]).unwrap();
        e.finish().unwrap()
    };
    let error = store(
        &storage,
        &InstanceMeta::new(CT, UID, DEFLATED),
        &empty_deflated,
        1,
    )
    .unwrap_err();
    assert_eq!(error.reason(), "empty data set");
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn every_transfer_syntax_is_stored_as_received() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()).naming(Naming::UniqueUid));
    for ts in [IMPLICIT, EXPLICIT, BIG, DEFLATED] {
        let dataset = Synth::ct(UID).encode(ts);
        let stored = store(&storage, &InstanceMeta::new(CT, UID, ts), &dataset, 333).unwrap();
        let file = std::fs::read(stored.path().unwrap()).unwrap();
        assert_eq!(&file[header_len(&file)..], &dataset[..], "{ts}");
        let listing = meta_listing(&file);
        assert!(
            listing.contains(&format!("(0002,0003) UI \"{UID}\\0\"")),
            "{ts}: {listing}"
        );
        assert!(
            listing.contains(&format!("(0002,0010) UI \"{ts}")),
            "{ts}: {listing}"
        );
    }
    // Encapsulated pixel data stays compressed.
    let mut obj = Synth::ct(UID).object();
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::PixelFragmentSequence::new(
            vec![0u32],
            vec![vec![0xFF, 0xD8, 0xFF, 0xD9]],
        ),
    ));
    let dataset = encode(&obj, JPEG);
    let stored = store(&storage, &InstanceMeta::new(CT, UID, JPEG), &dataset, 5).unwrap();
    let file = std::fs::read(stored.path().unwrap()).unwrap();
    assert_eq!(&file[header_len(&file)..], &dataset[..]);
}

#[test]
fn malformed_data_sets_are_refused_in_normal_mode_and_kept_in_bit_preserving_mode() {
    let dir = tempdir();
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let truncated = &dataset[..dataset.len() - 5];
    let normal = storage(StorageOptions::new(dir.path()));
    let (result, logs) = capture_logs(|| store_ct(&normal, UID, truncated, 50));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
    assert!(
        error
            .reason()
            .starts_with("malformed data set: data set ends inside the value of (7FE0"),
        "{}",
        error.reason()
    );
    assert!(error.reason().len() <= 64);
    assert!(
        logs.contains("WARN received data set cannot be decoded: data set ends inside"),
        "{logs}"
    );
    assert!(tree(dir.path()).is_empty(), "{:?}", tree(dir.path()));

    let bit_preserving = storage(StorageOptions::new(dir.path()).mode(Mode::BitPreserving));
    let stored = store_ct(&bit_preserving, UID, truncated, 50).unwrap();
    let file = std::fs::read(stored.path().unwrap()).unwrap();
    assert_eq!(&file[header_len(&file)..], truncated);
}

#[test]
fn a_structural_error_ends_the_instance_at_once() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let mut incoming = storage
        .begin(&InstanceMeta::new(CT, UID, EXPLICIT))
        .unwrap();
    // An item tag at the top level of the data set.
    let error = incoming
        .write(&[0xFE, 0xFF, 0x00, 0xE0, 0, 0, 0, 0])
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
    assert!(
        tree(dir.path()).is_empty(),
        "the temporary file is gone at once"
    );
    // Later calls repeat the kind and the reason.
    let again = incoming.write(b"more").unwrap_err();
    assert_eq!(again.kind(), ErrorKind::CannotUnderstand);
    assert_eq!(again.reason(), error.reason());
    let finished = incoming.finish().unwrap_err();
    assert_eq!(finished.reason(), error.reason());
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn unknown_transfer_syntaxes_are_stored_unchecked_with_the_commands_uids() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let ts = "1.2.3.4.5.6";
    let stored = store(
        &storage,
        &InstanceMeta::new(CT, UID, ts),
        b"not DICOM at all",
        3,
    )
    .unwrap();
    let file = std::fs::read(stored.path().unwrap()).unwrap();
    assert_eq!(&file[header_len(&file)..], b"not DICOM at all");
    let listing = meta_listing(&file);
    assert!(
        listing.contains(&format!("(0002,0002) UI \"{CT}\\0\"")),
        "{listing}"
    );
    assert!(
        listing.contains(&format!("(0002,0003) UI \"{UID}\\0\"")),
        "{listing}"
    );
    assert!(
        listing.contains("(0002,0010) UI \"1.2.3.4.5.6\\0\""),
        "{listing}"
    );
}

// See: issue 11, item 6.
#[test]
fn uids_past_the_hold_back_bound_still_make_the_meta_header() {
    let dir = tempdir();
    // Put a large element before the UIDs so they arrive after the bound.
    let mut obj = Synth::ct(UID).object();
    obj.put(DataElement::new(
        Tag(0x0008, 0x0005),
        VR::CS,
        PrimitiveValue::from("ISO_IR 100 ".repeat(4).trim_end()),
    ));
    let dataset = encode(&obj, EXPLICIT);
    for fsync in [false, true] {
        let storage = storage(
            StorageOptions::new(dir.path())
                .hold_back_limit(16)
                .fsync(fsync),
        );
        let (stored, logs) = capture_logs(|| store_ct(&storage, UID, &dataset, 8));
        let stored = stored.unwrap();
        assert_eq!(stored.path().unwrap(), dir.path().join(format!("CT.{UID}")));
        assert!(logs.contains("writing the meta header in front"), "{logs}");
        let file = std::fs::read(stored.path().unwrap()).unwrap();
        assert_eq!(&file[header_len(&file)..], &dataset[..]);
        let listing = meta_listing(&file);
        assert!(
            listing.contains(&format!("(0002,0002) UI \"{CT}\\0\"")),
            "{listing}"
        );
        assert!(
            listing.contains(&format!("(0002,0003) UI \"{UID}\\0\"")),
            "{listing}"
        );
        assert_eq!(
            tree(dir.path()),
            vec![format!("CT.{UID}")],
            "no temporary left"
        );
    }
    // Without SOP UIDs anywhere, DCMTK's fallbacks: its "private generic file" class and a new
    // instance UID.
    let storage = storage(StorageOptions::new(dir.path()).hold_back_limit(16));
    let dataset = Synth::ct(UID).class(None).instance(None).encode(EXPLICIT);
    let stored = store_ct(&storage, UID, &dataset, 8).unwrap();
    let file = std::fs::read(stored.path().unwrap()).unwrap();
    assert_eq!(&file[header_len(&file)..], &dataset[..]);
    let listing = meta_listing(&file);
    assert!(
        listing.contains("(0002,0002) UI \"1.2.276.0.7230010.3.1.0.1\\0\""),
        "{listing}"
    );
    assert!(listing.contains("(0002,0003) UI \"2.25."), "{listing}");
}

// See: issue 11, item 11.
#[test]
fn data_sets_larger_than_the_maximum_are_refused_and_leave_nothing() {
    let dir = tempdir();
    let dataset = Synth::ct(UID).pixel_bytes(4096).encode(EXPLICIT);
    let size = dataset.len() as u64;
    for mode in [Mode::Normal, Mode::BitPreserving, Mode::Ignore] {
        let at = storage(
            StorageOptions::new(dir.path())
                .mode(mode)
                .max_object_size(Some(size)),
        );
        // Exactly at the bound: stored.
        store_ct(&at, UID, &dataset, 1000).unwrap();
        let below = storage(
            StorageOptions::new(dir.path())
                .mode(mode)
                .max_object_size(Some(size - 1)),
        );
        let before = tree(dir.path());
        let (result, logs) = capture_logs(|| store_ct(&below, UID, &dataset, 1000));
        let error = result.unwrap_err();
        assert_eq!(error.kind(), ErrorKind::OutOfResources, "{mode:?}");
        assert_eq!(error.kind().status(), 0xA700);
        assert_eq!(
            error.reason(),
            "data set larger than the maximum object size"
        );
        assert!(logs.contains(&format!(
            "ERROR cannot store received object: data set larger than the maximum object size ({} bytes)",
            size - 1
        )), "{logs}");
        assert_eq!(tree(dir.path()), before, "{mode:?}: nothing added");
    }
}

// See: issue 11, item 11.
#[test]
fn a_deflate_bomb_is_cut_as_soon_as_it_inflates_past_the_maximum() {
    let dir = tempdir();
    // 16 MiB of zero pixels deflate to about 16 KB.
    let dataset = {
        use std::io::Write;
        let mut plain = Synth::ct(UID).pixel_bytes(0).object();
        plain.remove_element(tags::PIXEL_DATA);
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&encode(&plain, EXPLICIT)).unwrap();
        // (7FE0,0010) OW, 16 MiB.
        encoder
            .write_all(&[0xE0, 0x7F, 0x10, 0x00, b'O', b'W', 0, 0, 0, 0, 0, 1])
            .unwrap();
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..16 {
            encoder.write_all(&zeros).unwrap();
        }
        encoder.finish().unwrap()
    };
    assert!(dataset.len() < 100_000, "{}", dataset.len());
    for (mode, subdirectories) in [
        (Mode::Normal, Subdirectories::None),
        (Mode::Ignore, Subdirectories::None),
        (Mode::BitPreserving, Subdirectories::None),
        (Mode::BitPreserving, Subdirectories::SeriesDate),
    ] {
        let storage = storage(
            StorageOptions::new(dir.path())
                .mode(mode)
                .subdirectories(subdirectories)
                .max_object_size(Some(1 << 20)),
        );
        let mut incoming = storage
            .begin(&InstanceMeta::new(CT, UID, DEFLATED))
            .unwrap();
        // The bomb is cut in the chunk that inflates past 1 MiB, long before its end.
        let mut fed = 0;
        let error = dataset
            .chunks(1024)
            .find_map(|chunk| {
                fed += chunk.len();
                incoming.write(chunk).err()
            })
            .unwrap_or_else(|| panic!("{mode:?}: not refused"));
        assert_eq!(error.kind(), ErrorKind::OutOfResources, "{mode:?}");
        assert!(fed < 8 * 1024, "{mode:?}: {fed} bytes fed before the cut");
        let error = incoming.finish().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::OutOfResources);
        assert!(tree(dir.path()).is_empty(), "{mode:?}");
    }
    // Without a bound the same bytes are stored.
    let unbounded = storage(StorageOptions::new(dir.path()));
    store(
        &unbounded,
        &InstanceMeta::new(CT, UID, DEFLATED),
        &dataset,
        16_384,
    )
    .unwrap();
    assert_eq!(tree(dir.path()), vec![format!("CT.{UID}")]);
}

/// Normal mode deliberately differs from DCMTK: DCMTK decodes and re-encodes the data set, so an
/// explicit-length sequence becomes undefined-length with delimiters and a group length element
/// is recalculated (spec section 4.6, test R24: 999 → 54). We store the bytes as received, so
/// both stay as sent. The README lists this difference.
#[test]
fn normal_mode_keeps_explicit_lengths_and_wrong_group_lengths() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()));
    let mut obj = Synth::ct(UID).object();
    obj.put(DataElement::new(
        Tag(0x0008, 0x0000),
        VR::UL,
        PrimitiveValue::from(999u32),
    ));
    let mut item = InMemDicomObject::new_empty();
    item.put(DataElement::new(
        tags::CODE_VALUE,
        VR::SH,
        PrimitiveValue::from("T-D1100"),
    ));
    let mut dataset = encode(&obj, EXPLICIT);
    // Append an explicit-length sequence by hand: (0040,0260) SQ, one item of one element.
    let element = [&[0x08u8, 0x00, 0x00, 0x01][..], b"SH", &[8, 0], b"T-D1100 "].concat();
    let item = [
        &[0xFEu8, 0xFF, 0x00, 0xE0][..],
        &(element.len() as u32).to_le_bytes(),
        &element,
    ]
    .concat();
    let sequence = [
        &[0x40u8, 0x00, 0x60, 0x02][..],
        b"SQ",
        &[0, 0],
        &(item.len() as u32).to_le_bytes(),
        &item,
    ]
    .concat();
    // (0040,0260) sorts before Pixel Data (7FE0,0010), which is the last element: insert it there.
    let pixel_at = dataset
        .windows(4)
        .rposition(|w| w == [0xE0, 0x7F, 0x10, 0x00])
        .unwrap();
    dataset.splice(pixel_at..pixel_at, sequence.iter().copied());
    let stored = store_ct(&storage, UID, &dataset, 100).unwrap();
    let file = std::fs::read(stored.path().unwrap()).unwrap();
    let stored_dataset = &file[header_len(&file)..];
    assert_eq!(stored_dataset, &dataset[..]);
    // The group length is still 999 (DCMTK would write the real length).
    let group_length = [
        &[0x08u8, 0x00, 0x00, 0x00][..],
        b"UL",
        &[4, 0],
        &999u32.to_le_bytes(),
    ]
    .concat();
    assert!(
        stored_dataset
            .windows(group_length.len())
            .any(|w| w == group_length)
    );
    // The sequence still has its explicit length and no delimiters (DCMTK would write FFFFFFFF).
    assert!(
        stored_dataset
            .windows(sequence.len())
            .any(|w| w == sequence)
    );
    let obj = dicom_object::open_file(stored.path().unwrap()).unwrap();
    let seq = obj.element(Tag(0x0040, 0x0260)).unwrap();
    assert_eq!(seq.items().unwrap().len(), 1);
}

#[test]
fn bit_preserving_mode_builds_the_meta_from_the_command() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()).mode(Mode::BitPreserving));
    let dataset = Synth::ct(UID).encode(IMPLICIT);
    let meta = InstanceMeta::new(MR, "1.2.3.999.1", IMPLICIT).with_calling_ae_title("MYSCU");
    let stored = store(&storage, &meta, &dataset, 4096).unwrap();
    let path = stored.path().unwrap();
    assert_eq!(path, dir.path().join("MR.1.2.3.999.1"));
    let file = std::fs::read(path).unwrap();
    assert_eq!(&file[header_len(&file)..], &dataset[..]);
    let listing = meta_listing(&file).replace(DEFAULT_IMPLEMENTATION_CLASS_UID, "<our class UID>");
    expect![[r#"
        (0002,0000) UL 182
        (0002,0001) OB [00, 01]
        (0002,0002) UI "1.2.840.10008.5.1.4.1.1.4\0"
        (0002,0003) UI "1.2.3.999.1\0"
        (0002,0010) UI "1.2.840.10008.1.2\0"
        (0002,0012) UI "<our class UID>\0"
        (0002,0013) SH "DCMRECV_BP_010"
        (0002,0016) AE "MYSCU "
    "#]]
    .assert_eq(&listing);
}

#[test]
fn bit_preserving_mode_with_dcmtks_identification_matches_dcmtks_header() {
    // The meta group the real `dcmrecv +B` wrote for pydicom's CT_small.dcm sent with
    // `storescu -aet MYSCU` (see src/meta.rs); with DCMTK's implementation values we write it
    // byte for byte.
    let dir = tempdir();
    let storage = storage(
        StorageOptions::new(dir.path())
            .mode(Mode::BitPreserving)
            .implementation(
                "1.2.276.0.7230010.3.0.3.6.7",
                "OFFIS_DCMTK_367",
                "OFFIS_DCMBP_367",
            ),
    );
    let meta = InstanceMeta::new(
        CT,
        "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
        EXPLICIT,
    )
    .with_calling_ae_title("MYSCU");
    let stored = store(&storage, &meta, b"", 1).unwrap();
    let file = std::fs::read(stored.path().unwrap()).unwrap();
    let hex: String = file[132..].iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(
        hex,
        "02000000554c0400ce000000020001004f4200000200000000010200020055491a00312e322e3834302e31303030382e352e312e342e312e312e32000200030055493000312e332e362e312e342e312e353936322e312e312e312e312e312e32303034303131393037323733302e3132333232000200100055491400312e322e3834302e31303030382e312e322e31000200120055491c00312e322e3237362e302e373233303031302e332e302e332e362e370002001300534810004f464649535f44434d42505f3336372002001600414506004d5953435520"
    );
}

#[test]
fn bit_preserving_default_names_need_the_commands_class() {
    let dir = tempdir();
    let storage = storage(StorageOptions::new(dir.path()).mode(Mode::BitPreserving));
    let (result, logs) = capture_logs(|| storage.begin(&InstanceMeta::new("", UID, EXPLICIT)));
    let error = result.unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
    assert!(logs.contains(
        "cannot generate directory or file name for object to be received: Invalid SOP Class UID"
    ));
    assert!(tree(dir.path()).is_empty());
}

#[test]
fn bit_preserving_mode_works_with_series_date_subdirectories() {
    // DCMTK refuses `+B +ssd`; we scan the bytes for Series Date while they stream.
    let dir = tempdir();
    let storage = storage(
        StorageOptions::new(dir.path())
            .mode(Mode::BitPreserving)
            .subdirectories(Subdirectories::SeriesDate),
    );
    for (ts, date, sub) in [
        (EXPLICIT, Some("19970430"), "data/1997/04/30".to_string()),
        (DEFLATED, Some("2020.01.15"), "data/2020/01/15".to_string()),
        (BIG, None, format!("undef/{}", today())),
    ] {
        let dataset = Synth::ct(UID).series_date(date).encode(ts);
        let stored = store(&storage, &InstanceMeta::new(CT, UID, ts), &dataset, 10).unwrap();
        assert_eq!(
            stored.path().unwrap(),
            dir.path().join(&sub).join(format!("CT.{UID}")),
            "{ts}"
        );
    }
}

#[test]
fn ignore_mode_receives_checks_and_stores_nothing() {
    let dir = tempdir();
    let storage = storage(
        StorageOptions::new(dir.path())
            .mode(Mode::Ignore)
            .subdirectories(Subdirectories::SeriesDate),
    );
    let dataset = Synth::ct(UID).encode(EXPLICIT);
    let (stored, logs) = capture_logs(|| store_ct(&storage, UID, &dataset, 99));
    let stored = stored.unwrap();
    assert_eq!(stored.path(), None);
    assert_eq!(stored.dataset_len(), dataset.len() as u64);
    assert!(logs.contains(
        "DEBUG received dataset is not stored since the storage mode is set to 'ignore'"
    ));
    // Like DCMTK, an empty data set or a missing class is still a success.
    assert!(
        store(&storage, &InstanceMeta::new("", UID, EXPLICIT), &[], 1)
            .unwrap()
            .path()
            .is_none()
    );
    // A data set that cannot be decoded is not (DCMTK aborts the association; we refuse it).
    let error = store_ct(&storage, UID, &dataset[..10], 99).unwrap_err();
    assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
    assert!(tree(dir.path()).is_empty());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn any_chunking_writes_the_same_file(
        chunks in proptest::collection::vec(1usize..700, 1..20),
        ts in proptest::sample::select(vec![IMPLICIT, EXPLICIT, BIG, DEFLATED]),
        mode in proptest::sample::select(vec![Mode::Normal, Mode::BitPreserving]),
    ) {
        let dir = tempdir();
        let storage = storage(StorageOptions::new(dir.path()).mode(mode));
        let dataset = Synth::ct(UID).encode(ts);
        let meta = InstanceMeta::new(CT, UID, ts);
        let whole = store(&storage, &meta, &dataset, usize::MAX).unwrap();
        let expected = std::fs::read(whole.path().unwrap()).unwrap();
        let mut incoming = storage.begin(&meta).unwrap();
        let mut rest = &dataset[..];
        for size in chunks.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let (piece, tail) = rest.split_at((*size).min(rest.len()));
            incoming.write(piece).unwrap();
            rest = tail;
        }
        let stored = incoming.finish().unwrap();
        prop_assert!(stored.replaced());
        prop_assert_eq!(std::fs::read(stored.path().unwrap()).unwrap(), expected);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Whatever arrives, the result is a complete file holding exactly the bytes received, or a
    /// "cannot understand" error and nothing on disk.
    #[test]
    fn random_bytes_give_a_file_or_a_clean_refusal(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        prefix_len in 0usize..300,
        chunk in 1usize..64,
        ts in proptest::sample::select(vec![IMPLICIT, EXPLICIT, BIG, DEFLATED, JPEG, "1.2.3.4"]),
        mode in proptest::sample::select(vec![Mode::Normal, Mode::BitPreserving, Mode::Ignore]),
    ) {
        let dir = tempdir();
        let storage = storage(
            StorageOptions::new(dir.path())
                .mode(mode)
                .subdirectories(Subdirectories::SeriesDate),
        );
        // Sometimes a valid beginning, then garbage.
        let valid = if ts == DEFLATED || ts == "1.2.3.4" {
            Vec::new()
        } else {
            Synth::ct(UID).encode(ts)
        };
        let cut = prefix_len.min(valid.len());
        let data = [&valid[..cut], &bytes[..]].concat();
        match store(&storage, &InstanceMeta::new(CT, UID, ts), &data, chunk) {
            Ok(stored) => match stored.path() {
                Some(path) => {
                    let file = std::fs::read(path).unwrap();
                    prop_assert_eq!(&file[header_len(&file)..], &data[..]);
                    prop_assert_eq!(tree(dir.path()).iter().filter(|p| !p.ends_with('/')).count(), 1);
                }
                None => prop_assert!(tree(dir.path()).is_empty()),
            },
            Err(error) => {
                prop_assert_eq!(error.kind(), ErrorKind::CannotUnderstand);
                prop_assert!(tree(dir.path()).iter().all(|p| p.ends_with('/')), "{:?}", tree(dir.path()));
            }
        }
    }
}

//! DICOM test objects synthesised in code. Nothing here is patient data, and nothing is committed.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};
use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};

/// Attributes of a synthetic image instance.
#[derive(Debug, Clone)]
pub struct Instance {
    /// SOP Class UID (0008,0016).
    pub sop_class_uid: String,
    /// SOP Instance UID (0008,0018).
    pub sop_instance_uid: String,
    /// Study Instance UID (0020,000D).
    pub study_instance_uid: String,
    /// Series Instance UID (0020,000E).
    pub series_instance_uid: String,
    /// Series Date (0008,0021); `None` leaves the attribute out.
    pub series_date: Option<String>,
    /// Rows and columns of a 16-bit monochrome image.
    pub rows: u16,
    /// Columns.
    pub columns: u16,
    /// Patient ID (0010,0020), default `SYN0001`.
    pub patient_id: String,
}

impl Instance {
    /// A small CT image with the given SOP Instance UID.
    pub fn ct(sop_instance_uid: &str) -> Instance {
        Instance {
            sop_class_uid: uids::CT_IMAGE_STORAGE.to_string(),
            sop_instance_uid: sop_instance_uid.to_string(),
            study_instance_uid: "1.2.826.0.1.3680043.10.1145.1".to_string(),
            series_instance_uid: "1.2.826.0.1.3680043.10.1145.1.1".to_string(),
            series_date: Some("20200115".to_string()),
            rows: 16,
            columns: 16,
            patient_id: "SYN0001".to_string(),
        }
    }

    /// The dataset, with a deterministic pixel pattern derived from the instance UID.
    pub fn to_object(&self) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        let put = |obj: &mut InMemDicomObject, tag, vr, v: &str| {
            obj.put(DataElement::new(tag, vr, PrimitiveValue::from(v)));
        };
        put(&mut obj, tags::SOP_CLASS_UID, VR::UI, &self.sop_class_uid);
        put(
            &mut obj,
            tags::SOP_INSTANCE_UID,
            VR::UI,
            &self.sop_instance_uid,
        );
        put(&mut obj, tags::STUDY_DATE, VR::DA, "20200115");
        if let Some(date) = &self.series_date {
            put(&mut obj, tags::SERIES_DATE, VR::DA, date);
        }
        put(&mut obj, tags::MODALITY, VR::CS, "CT");
        put(&mut obj, tags::PATIENT_NAME, VR::PN, "Synthetic^Test");
        put(&mut obj, tags::PATIENT_ID, VR::LO, &self.patient_id);
        put(
            &mut obj,
            tags::STUDY_INSTANCE_UID,
            VR::UI,
            &self.study_instance_uid,
        );
        put(
            &mut obj,
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            &self.series_instance_uid,
        );
        put(
            &mut obj,
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            "MONOCHROME2",
        );
        obj.put(DataElement::new(
            tags::SAMPLES_PER_PIXEL,
            VR::US,
            PrimitiveValue::from(1_u16),
        ));
        obj.put(DataElement::new(
            tags::ROWS,
            VR::US,
            PrimitiveValue::from(self.rows),
        ));
        obj.put(DataElement::new(
            tags::COLUMNS,
            VR::US,
            PrimitiveValue::from(self.columns),
        ));
        obj.put(DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(16_u16),
        ));
        obj.put(DataElement::new(
            tags::BITS_STORED,
            VR::US,
            PrimitiveValue::from(16_u16),
        ));
        obj.put(DataElement::new(
            tags::HIGH_BIT,
            VR::US,
            PrimitiveValue::from(15_u16),
        ));
        obj.put(DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0_u16),
        ));
        let n = usize::from(self.rows) * usize::from(self.columns) * 2;
        let seed = self
            .sop_instance_uid
            .bytes()
            .fold(0u8, |a, b| a.wrapping_add(b));
        let pixels: Vec<u8> = (0..n)
            .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
            .collect();
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::from(pixels),
        ));
        obj
    }

    /// The data set alone (no preamble, no meta header) encoded in `transfer_syntax`, as an SCU
    /// sends it in its data PDVs.
    pub fn dataset_bytes(&self, transfer_syntax: &str) -> Vec<u8> {
        let ts = TransferSyntaxRegistry
            .get(transfer_syntax)
            .unwrap_or_else(|| panic!("unknown transfer syntax {transfer_syntax}"));
        let mut out = Vec::new();
        self.to_object()
            .write_dataset_with_ts(&mut out, ts)
            .expect("encode the data set");
        out
    }

    /// Writes the instance as a Part-10 file in `transfer_syntax` (a native syntax:
    /// implicit LE, explicit LE or explicit BE).
    pub fn write(&self, path: &Path, transfer_syntax: &str) {
        let obj = self.to_object();
        let file = obj
            .with_meta(
                FileMetaTableBuilder::new()
                    .transfer_syntax(transfer_syntax)
                    .media_storage_sop_class_uid(self.sop_class_uid.as_str())
                    .media_storage_sop_instance_uid(self.sop_instance_uid.as_str()),
            )
            .expect("build file meta");
        file.write_to_file(path).expect("write test object");
    }
}

/// Writes a large Secondary Capture object (explicit VR little endian) with `pixel_bytes` bytes of
/// pixel data to `path`, streaming: memory use does not depend on the size.
///
/// `pixel_bytes` is rounded up to an even number.
pub fn write_large_object(path: &Path, sop_instance_uid: &str, pixel_bytes: u64) {
    let pixel_bytes = pixel_bytes + (pixel_bytes & 1);
    let frame = 1024u64 * 1024; // 512 x 1024 x 16 bit = 1 MiB per frame
    let frames = pixel_bytes.div_ceil(frame).max(1);
    let pixel_bytes = frames * frame;
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(
            uids::MULTI_FRAME_GRAYSCALE_WORD_SECONDARY_CAPTURE_IMAGE_STORAGE,
        )
        .media_storage_sop_instance_uid(sop_instance_uid)
        .build()
        .expect("build file meta");
    let mut w = BufWriter::with_capacity(1 << 20, File::create(path).expect("create large object"));
    w.write_all(&[0u8; 128]).expect("write");
    w.write_all(b"DICM").expect("write");
    meta.write(&mut w).expect("write meta");
    let mut el = |group: u16, elem: u16, vr: &[u8; 2], value: &[u8]| {
        let mut v = value.to_vec();
        if v.len() % 2 == 1 {
            v.push(if vr == b"UI" { 0 } else { b' ' });
        }
        w.write_all(&group.to_le_bytes()).expect("write");
        w.write_all(&elem.to_le_bytes()).expect("write");
        w.write_all(vr).expect("write");
        w.write_all(&(v.len() as u16).to_le_bytes()).expect("write");
        w.write_all(&v).expect("write");
    };
    el(
        0x0008,
        0x0016,
        b"UI",
        uids::MULTI_FRAME_GRAYSCALE_WORD_SECONDARY_CAPTURE_IMAGE_STORAGE.as_bytes(),
    );
    el(0x0008, 0x0018, b"UI", sop_instance_uid.as_bytes());
    el(0x0008, 0x0021, b"DA", b"20200115");
    el(0x0008, 0x0060, b"CS", b"OT");
    el(0x0010, 0x0010, b"PN", b"Synthetic^Large");
    el(0x0020, 0x000D, b"UI", b"1.2.826.0.1.3680043.10.1145.2");
    el(0x0020, 0x000E, b"UI", b"1.2.826.0.1.3680043.10.1145.2.1");
    el(0x0028, 0x0002, b"US", &1u16.to_le_bytes());
    el(0x0028, 0x0004, b"CS", b"MONOCHROME2");
    el(0x0028, 0x0008, b"IS", frames.to_string().as_bytes());
    el(0x0028, 0x0010, b"US", &512u16.to_le_bytes());
    el(0x0028, 0x0011, b"US", &1024u16.to_le_bytes());
    el(0x0028, 0x0100, b"US", &16u16.to_le_bytes());
    el(0x0028, 0x0101, b"US", &16u16.to_le_bytes());
    el(0x0028, 0x0102, b"US", &15u16.to_le_bytes());
    el(0x0028, 0x0103, b"US", &0u16.to_le_bytes());
    // (7FE0,0010) OW with a 4-byte length.
    w.write_all(&0x7FE0u16.to_le_bytes()).expect("write");
    w.write_all(&0x0010u16.to_le_bytes()).expect("write");
    w.write_all(b"OW\0\0").expect("write");
    w.write_all(
        &u32::try_from(pixel_bytes)
            .expect("pixel data under 4 GiB")
            .to_le_bytes(),
    )
    .expect("write");
    let chunk: Vec<u8> = (0..frame).map(|i| (i % 251) as u8).collect();
    for _ in 0..frames {
        w.write_all(&chunk).expect("write pixel data");
    }
    w.flush().expect("flush");
}

/// The data set of a Part-10 file: the bytes after the preamble, `DICM` and the File Meta
/// Information group (whose length is read from (0002,0000)). Panics if `path` is not a Part-10
/// file with a group length first.
pub fn dataset_of_file(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    assert_eq!(
        bytes.get(128..132),
        Some(&b"DICM"[..]),
        "{} is not a Part-10 file",
        path.display()
    );
    // (0002,0000) UL, explicit VR little endian: tag, "UL", 2-byte length 4, 4-byte value.
    let header = bytes
        .get(132..144)
        .expect("a File Meta Information Group Length");
    assert_eq!(&header[..6], b"\x02\x00\x00\x00UL", "{}", path.display());
    let group = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
    bytes
        .get(144 + group..)
        .unwrap_or_else(|| panic!("{} ends inside its meta header", path.display()))
        .to_vec()
}

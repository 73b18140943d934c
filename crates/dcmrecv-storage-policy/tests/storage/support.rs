//! Helpers: synthetic data sets (dicom-object; no patient data, no files), storing through the
//! public API in chunks, listing output trees and capturing log lines.

use std::io::Write;
use std::path::Path;
use std::sync::{Arc, Mutex};

use dcmrecv_storage_policy::{InstanceMeta, Storage, StorageOptions, StoreError, Stored};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, Length, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

pub(crate) const CT: &str = uids::CT_IMAGE_STORAGE;
pub(crate) const MR: &str = uids::MR_IMAGE_STORAGE;
pub(crate) const IMPLICIT: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT: &str = "1.2.840.10008.1.2.1";
pub(crate) const BIG: &str = "1.2.840.10008.1.2.2";
pub(crate) const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
pub(crate) const JPEG: &str = "1.2.840.10008.1.2.4.50";

/// Attributes of a synthetic instance.
#[derive(Debug, Clone)]
pub(crate) struct Synth {
    pub(crate) sop_class_uid: Option<String>,
    pub(crate) sop_instance_uid: Option<String>,
    pub(crate) series_date: Option<String>,
    /// Bytes of native pixel data (an OW element).
    pub(crate) pixel_bytes: usize,
}

impl Synth {
    pub(crate) fn ct(instance: &str) -> Synth {
        Synth {
            sop_class_uid: Some(CT.to_string()),
            sop_instance_uid: Some(instance.to_string()),
            series_date: Some("20200115".to_string()),
            pixel_bytes: 512,
        }
    }

    pub(crate) fn series_date(mut self, date: Option<&str>) -> Synth {
        self.series_date = date.map(str::to_string);
        self
    }

    pub(crate) fn class(mut self, class: Option<&str>) -> Synth {
        self.sop_class_uid = class.map(str::to_string);
        self
    }

    pub(crate) fn instance(mut self, instance: Option<&str>) -> Synth {
        self.sop_instance_uid = instance.map(str::to_string);
        self
    }

    pub(crate) fn pixel_bytes(mut self, bytes: usize) -> Synth {
        self.pixel_bytes = bytes;
        self
    }

    pub(crate) fn object(&self) -> InMemDicomObject {
        let text =
            |tag: Tag, vr: VR, value: &str| DataElement::new(tag, vr, PrimitiveValue::from(value));
        let mut obj = InMemDicomObject::new_empty();
        obj.put(text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"));
        if let Some(class) = &self.sop_class_uid {
            obj.put(text(tags::SOP_CLASS_UID, VR::UI, class));
        }
        if let Some(instance) = &self.sop_instance_uid {
            obj.put(text(tags::SOP_INSTANCE_UID, VR::UI, instance));
        }
        if let Some(date) = &self.series_date {
            obj.put(text(tags::SERIES_DATE, VR::DA, date));
        }
        obj.put(text(tags::MODALITY, VR::CS, "OT"));
        let mut item = InMemDicomObject::new_empty();
        item.put(text(tags::CODE_VALUE, VR::SH, "T-D1100"));
        obj.put(DataElement::new(
            tags::ANATOMIC_REGION_SEQUENCE,
            VR::SQ,
            DataSetSequence::new(vec![item], Length::UNDEFINED),
        ));
        obj.put(text(tags::PATIENT_NAME, VR::PN, "Synthetic^Test"));
        let words = self.pixel_bytes / 2;
        obj.put(DataElement::new(
            tags::PIXEL_DATA,
            VR::OW,
            PrimitiveValue::U16((0..words).map(|i| i as u16).collect()),
        ));
        obj
    }

    /// The data set bytes in a transfer syntax (deflated = Explicit VR LE, raw-deflated).
    pub(crate) fn encode(&self, ts_uid: &str) -> Vec<u8> {
        encode(&self.object(), ts_uid)
    }
}

pub(crate) fn encode(obj: &InMemDicomObject, ts_uid: &str) -> Vec<u8> {
    let uid = if ts_uid == DEFLATED { EXPLICIT } else { ts_uid };
    let ts = TransferSyntaxRegistry.get(uid).unwrap();
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, ts).unwrap();
    if ts_uid == DEFLATED {
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(&out).unwrap();
        encoder.finish().unwrap()
    } else {
        out
    }
}

/// A fresh temporary directory.
pub(crate) fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

pub(crate) fn storage(options: StorageOptions) -> Storage {
    Storage::new(options).unwrap()
}

/// Stores `bytes` through the public API, `chunk` bytes per write.
pub(crate) fn store(
    storage: &Storage,
    meta: &InstanceMeta,
    bytes: &[u8],
    chunk: usize,
) -> Result<Stored, StoreError> {
    let mut incoming = storage.begin(meta)?;
    for piece in bytes.chunks(chunk.max(1)) {
        incoming.write(piece)?;
    }
    incoming.finish()
}

/// Stores `bytes` as the CT instance `uid` in Explicit VR Little Endian, `chunk` bytes per write.
pub(crate) fn store_ct(
    storage: &Storage,
    uid: &str,
    bytes: &[u8],
    chunk: usize,
) -> Result<Stored, StoreError> {
    store(storage, &InstanceMeta::new(CT, uid, EXPLICIT), bytes, chunk)
}

/// Every file and directory below `dir`, relative, sorted; directories end with `/`.
pub(crate) fn tree(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().display().to_string();
            if path.is_dir() {
                out.push(format!("{rel}/"));
                walk(root, &path, out);
            } else {
                out.push(rel);
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// The Part-10 header our files start with, for comparisons: everything before the data set.
pub(crate) fn header_len(file: &[u8]) -> usize {
    assert_eq!(&file[128..132], b"DICM");
    let group_len = u32::from_le_bytes(file[140..144].try_into().unwrap()) as usize;
    132 + 12 + group_len
}

/// The meta elements of a file as `(gggg,eeee) value` lines, values with padding shown.
pub(crate) fn meta_listing(file: &[u8]) -> String {
    let end = header_len(file);
    let mut at = 132;
    let mut out = String::new();
    while at < end {
        let group = u16::from_le_bytes([file[at], file[at + 1]]);
        let element = u16::from_le_bytes([file[at + 2], file[at + 3]]);
        let vr = std::str::from_utf8(&file[at + 4..at + 6])
            .unwrap()
            .to_string();
        let (len, value_at) = if vr == "OB" {
            (
                u32::from_le_bytes(file[at + 8..at + 12].try_into().unwrap()) as usize,
                at + 12,
            )
        } else {
            (
                u16::from_le_bytes([file[at + 6], file[at + 7]]) as usize,
                at + 8,
            )
        };
        let value = &file[value_at..value_at + len];
        let shown = match vr.as_str() {
            "UL" => u32::from_le_bytes(value.try_into().unwrap()).to_string(),
            "OB" => format!("{value:02x?}"),
            _ => format!("{:?}", String::from_utf8_lossy(value)),
        };
        out.push_str(&format!("({group:04x},{element:04x}) {vr} {shown}\n"));
        at = value_at + len;
    }
    out
}

/// Collects the log lines emitted while `f` runs on this thread, as `LEVEL message` lines.
pub(crate) fn capture_logs<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);
    impl Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_max_level(tracing::Level::TRACE)
        .without_time()
        .with_target(false)
        .with_ansi(false)
        .finish();
    let result = tracing::subscriber::with_default(subscriber, f);
    let logs = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    (result, logs)
}

/// Today's local date as YYYYMMDD.
pub(crate) fn today() -> String {
    chrono::Local::now().format("%Y%m%d").to_string()
}

//! Test data sets, synthesised in code: with dicom-object for well-formed ones, and with a tiny
//! byte-level encoder for hand-made (and malformed) ones. No patient data, no files.

use std::io::Write;

use dicom_core::value::{DataSetSequence, PixelFragmentSequence};
use dicom_core::{DataElement, Length, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

pub(crate) const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
pub(crate) const INSTANCE: &str = "1.2.826.0.1.3680043.10.1145.7.1";
pub(crate) const IMPLICIT: &str = "1.2.840.10008.1.2";
pub(crate) const EXPLICIT: &str = "1.2.840.10008.1.2.1";
pub(crate) const BIG: &str = "1.2.840.10008.1.2.2";
pub(crate) const DEFLATED: &str = "1.2.840.10008.1.2.1.99";
pub(crate) const JPEG: &str = "1.2.840.10008.1.2.4.50";

fn text(tag: dicom_core::Tag, vr: VR, value: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(value))
}

/// A small CT-like object with a nested sequence (two levels), a private element and native
/// pixel data.
pub(crate) fn sample_object(series_date: Option<&str>) -> InMemDicomObject {
    let mut obj = InMemDicomObject::new_empty();
    obj.put(text(tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 100"));
    obj.put(text(tags::SOP_CLASS_UID, VR::UI, CT));
    obj.put(text(tags::SOP_INSTANCE_UID, VR::UI, INSTANCE));
    obj.put(text(tags::STUDY_DATE, VR::DA, "20200115"));
    if let Some(date) = series_date {
        obj.put(text(tags::SERIES_DATE, VR::DA, date));
    }
    obj.put(text(tags::MODALITY, VR::CS, "CT"));
    let mut code = InMemDicomObject::new_empty();
    code.put(text(tags::CODE_VALUE, VR::SH, "T-D1100"));
    code.put(text(tags::CODING_SCHEME_DESIGNATOR, VR::SH, "SRT"));
    let mut inner = InMemDicomObject::new_empty();
    inner.put(text(tags::CODE_MEANING, VR::LO, "Head"));
    code.put(DataElement::new(
        tags::ANATOMIC_REGION_MODIFIER_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(vec![inner], Length::UNDEFINED),
    ));
    let mut other = InMemDicomObject::new_empty();
    other.put(text(tags::CODE_VALUE, VR::SH, "X"));
    obj.put(DataElement::new(
        tags::ANATOMIC_REGION_SEQUENCE,
        VR::SQ,
        DataSetSequence::new(vec![code, other], Length::UNDEFINED),
    ));
    obj.put(text(tags::PATIENT_NAME, VR::PN, "Synthetic^Test"));
    obj.put(text(
        dicom_core::Tag(0x0009, 0x0010),
        VR::LO,
        "SYNTH PRIVATE",
    ));
    obj.put(DataElement::new(
        dicom_core::Tag(0x0009, 0x1001),
        VR::UN,
        PrimitiveValue::from(vec![1u8, 2, 3, 4]),
    ));
    obj.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(4u16),
    ));
    obj.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(4u16),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16((0..16u16).collect()),
    ));
    obj
}

/// The same object with encapsulated pixel data (two fragments and an offset table).
pub(crate) fn encapsulated_object() -> InMemDicomObject {
    let mut obj = sample_object(Some("20200115"));
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PixelFragmentSequence::new(
            vec![0u32],
            vec![vec![0xFFu8, 0xD8, 0, 0], vec![1, 2, 0xFF, 0xD9]],
        ),
    ));
    obj
}

/// Raw deflate (no zlib header), as Deflated Explicit VR Little Endian uses.
pub(crate) fn deflate(bytes: &[u8]) -> Vec<u8> {
    let mut encoder =
        flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Encodes a data set (no meta) in a transfer syntax; deflated is Explicit VR LE, deflated.
pub(crate) fn encode(obj: &InMemDicomObject, ts_uid: &str) -> Vec<u8> {
    let uid = if ts_uid == DEFLATED { EXPLICIT } else { ts_uid };
    let ts = TransferSyntaxRegistry.get(uid).unwrap();
    let mut out = Vec::new();
    obj.write_dataset_with_ts(&mut out, ts).unwrap();
    if ts_uid == DEFLATED {
        deflate(&out)
    } else {
        out
    }
}

/// Every well-formed sample: (transfer syntax, data set bytes).
pub(crate) fn well_formed_samples() -> Vec<(&'static str, Vec<u8>)> {
    let obj = sample_object(Some("20200115"));
    vec![
        (IMPLICIT, encode(&obj, IMPLICIT)),
        (EXPLICIT, encode(&obj, EXPLICIT)),
        (BIG, encode(&obj, BIG)),
        (DEFLATED, encode(&obj, DEFLATED)),
        (JPEG, encode(&encapsulated_object(), JPEG)),
    ]
}

/// A byte-level encoder for hand-made data sets.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Raw {
    pub(crate) explicit: bool,
    pub(crate) big: bool,
}

pub(crate) const RAW_IMPLICIT: Raw = Raw {
    explicit: false,
    big: false,
};
pub(crate) const RAW_EXPLICIT: Raw = Raw {
    explicit: true,
    big: false,
};
pub(crate) const RAW_BIG: Raw = Raw {
    explicit: true,
    big: true,
};

/// Undefined length.
pub(crate) const UNDEF: u32 = 0xFFFF_FFFF;

impl Raw {
    fn u16(self, v: u16) -> [u8; 2] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    fn u32(self, v: u32) -> [u8; 4] {
        if self.big {
            v.to_be_bytes()
        } else {
            v.to_le_bytes()
        }
    }

    /// An element header with an explicit length (value not included).
    pub(crate) fn header(self, group: u16, element: u16, vr: &str, len: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(self.u16(group));
        out.extend(self.u16(element));
        if self.explicit {
            out.extend(vr.as_bytes());
            let long = matches!(
                vr,
                "OB" | "OD"
                    | "OF"
                    | "OL"
                    | "OV"
                    | "OW"
                    | "SQ"
                    | "SV"
                    | "UC"
                    | "UN"
                    | "UR"
                    | "UT"
                    | "UV"
                    | "ZZ"
            );
            if long {
                out.extend([0, 0]);
                out.extend(self.u32(len));
            } else {
                out.extend(self.u16(len as u16));
            }
        } else {
            out.extend(self.u32(len));
        }
        out
    }

    /// A whole element.
    pub(crate) fn element(self, group: u16, element: u16, vr: &str, value: &[u8]) -> Vec<u8> {
        let mut out = self.header(group, element, vr, value.len() as u32);
        out.extend(value);
        out
    }

    /// An item, delimiter or fragment header: tag and 4-byte length, no VR.
    pub(crate) fn marker(self, element: u16, len: u32) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(self.u16(0xFFFE));
        out.extend(self.u16(element));
        out.extend(self.u32(len));
        out
    }

    pub(crate) fn item(self, len: u32) -> Vec<u8> {
        self.marker(0xE000, len)
    }

    pub(crate) fn item_end(self) -> Vec<u8> {
        self.marker(0xE00D, 0)
    }

    pub(crate) fn sequence_end(self) -> Vec<u8> {
        self.marker(0xE0DD, 0)
    }
}

/// Concatenates byte strings.
pub(crate) fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

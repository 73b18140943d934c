//! The objects the load generator sends: one CT data set per size, encoded once in Explicit VR
//! Little Endian and held in memory, whose SOP Instance UID is rewritten in place for every
//! object sent.
//!
//! A data set is split in two: the *head* (every element up to and including the Pixel Data
//! header: a few hundred bytes, copied once per association so each can write its own UIDs) and
//! the *pixels* (shared by every association through an `Arc`, never copied). The 200 MiB object
//! is therefore in memory once, whatever the number of associations.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::sync::Arc;

use dicom_object::FileMetaTableBuilder;

use crate::objects::Instance;
use crate::raw::{CT, EXPLICIT, c_store_rq};

/// The SOP Instance UID every template carries: two ten-digit components that
/// [`UidWriter::write`] overwrites (association, object) so every object sent has its own UID
/// of the same length (52 characters, even: no padding byte to move).
pub(crate) const UID_TEMPLATE: &str = "1.2.826.0.1.3680043.10.1145.60.1000000000.1000000000";
/// Where the two numbered components start within [`UID_TEMPLATE`].
const UID_ASSOC_AT: usize = 31;
const UID_OBJECT_AT: usize = 42;
const COMPONENT_BASE: u64 = 1_000_000_000;

/// A synthesised CT data set of about a given size, ready to be sent many times.
#[derive(Debug, Clone)]
pub struct DataSet {
    /// Everything before the pixel values, with [`UID_TEMPLATE`] as SOP Instance UID.
    head: Vec<u8>,
    /// Offset of the SOP Instance UID's value in `head`.
    uid_at: usize,
    /// The pixel values, shared.
    pixels: Arc<[u8]>,
    /// Rows (= columns) of the 16-bit image.
    side: u16,
}

impl DataSet {
    /// A CT data set whose encoded length is close to (at most a few hundred bytes from)
    /// `target` bytes: a square 16-bit image sized to fill it. The smallest has 1×1 pixels.
    ///
    /// ```
    /// let ds = dcmrecv_e2e::loadgen::DataSet::with_size(2048);
    /// assert!(ds.len().abs_diff(2048) < 600, "{}", ds.len());
    /// ```
    pub fn with_size(target: u64) -> DataSet {
        let empty = Instance::ct(UID_TEMPLATE);
        let head_len = dataset_with_side(&empty, 0).len() as u64;
        let pixels = target.saturating_sub(head_len) / 2;
        let side = (pixels as f64)
            .sqrt()
            .floor()
            .clamp(1.0, f64::from(u16::MAX)) as u16;
        let bytes = dataset_with_side(&empty, side);
        let pixel_len = usize::from(side) * usize::from(side) * 2;
        let split = bytes.len() - pixel_len;
        let uid_at = find(&bytes[..split], UID_TEMPLATE.as_bytes())
            .expect("the SOP Instance UID is in the data set head");
        DataSet {
            head: bytes[..split].to_vec(),
            uid_at,
            pixels: Arc::from(&bytes[split..]),
            side,
        }
    }

    /// The encoded length of the data set in bytes.
    pub fn len(&self) -> u64 {
        (self.head.len() + self.pixels.len()) as u64
    }

    /// Whether the data set is empty (never: it always has a head).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Rows and columns of the image.
    pub fn side(&self) -> u16 {
        self.side
    }

    /// The data set bytes of the object numbered `object` on association `association`, as one
    /// vector (for writing files for other senders; the generator never does this).
    pub fn to_vec(&self, association: u64, object: u64) -> Vec<u8> {
        let mut head = self.head.clone();
        write_uid(&mut head[self.uid_at..], association, object);
        head.extend_from_slice(&self.pixels);
        head
    }

    /// Writes the object numbered `object` on association `association` as a Part-10 file (for
    /// senders that read files, such as `storescu`, to compare with).
    pub fn write_file(&self, path: &Path, association: u64, object: u64) -> std::io::Result<()> {
        let meta = FileMetaTableBuilder::new()
            .transfer_syntax(EXPLICIT)
            .media_storage_sop_class_uid(CT)
            .media_storage_sop_instance_uid(DataSet::uid(association, object))
            .build()
            .map_err(std::io::Error::other)?;
        let mut w = BufWriter::new(File::create(path)?);
        w.write_all(&[0u8; 128])?;
        w.write_all(b"DICM")?;
        meta.write(&mut w).map_err(std::io::Error::other)?;
        w.write_all(&self.to_vec(association, object))?;
        w.flush()
    }

    /// The SOP Instance UID of the object numbered `object` on association `association`.
    pub fn uid(association: u64, object: u64) -> String {
        let mut uid = UID_TEMPLATE.as_bytes().to_vec();
        write_uid(&mut uid, association, object);
        String::from_utf8(uid).expect("ASCII digits")
    }

    pub(crate) fn head(&self) -> &[u8] {
        &self.head
    }

    pub(crate) fn uid_at(&self) -> usize {
        self.uid_at
    }

    pub(crate) fn pixels(&self) -> &Arc<[u8]> {
        &self.pixels
    }
}

/// The C-STORE-RQ command set for the template UID, and where its Message ID and Affected SOP
/// Instance UID values are, to be rewritten per object.
#[derive(Debug, Clone)]
pub(crate) struct CommandTemplate {
    pub(crate) bytes: Vec<u8>,
    pub(crate) message_id_at: usize,
    pub(crate) uid_at: usize,
}

impl CommandTemplate {
    pub(crate) fn new() -> CommandTemplate {
        let bytes = c_store_rq(1, CT, UID_TEMPLATE);
        // (0000,0110) US, implicit VR: tag, 4-byte length 2, value.
        let message_id_at =
            find(&bytes, &[0x00, 0x00, 0x10, 0x01, 2, 0, 0, 0]).expect("a Message ID element") + 8;
        let uid_at = find(&bytes, UID_TEMPLATE.as_bytes()).expect("an Affected SOP Instance UID");
        CommandTemplate {
            bytes,
            message_id_at,
            uid_at,
        }
    }

    /// Rewrites the Message ID and the Affected SOP Instance UID.
    pub(crate) fn set(&mut self, message_id: u16, association: u64, object: u64) {
        self.bytes[self.message_id_at..self.message_id_at + 2]
            .copy_from_slice(&message_id.to_le_bytes());
        write_uid(&mut self.bytes[self.uid_at..], association, object);
    }
}

/// Writes the association and object numbers into a UID laid out as [`UID_TEMPLATE`] at the
/// start of `uid`.
pub(crate) fn write_uid(uid: &mut [u8], association: u64, object: u64) {
    write_digits(
        &mut uid[UID_ASSOC_AT..UID_ASSOC_AT + 10],
        COMPONENT_BASE + association,
    );
    write_digits(
        &mut uid[UID_OBJECT_AT..UID_OBJECT_AT + 10],
        COMPONENT_BASE + object,
    );
}

/// Ten decimal digits of `value` (which must be below 10^10) into `out`.
fn write_digits(out: &mut [u8], mut value: u64) {
    for slot in out.iter_mut().rev() {
        *slot = b'0' + (value % 10) as u8;
        value /= 10;
    }
}

fn dataset_with_side(instance: &Instance, side: u16) -> Vec<u8> {
    let mut instance = instance.clone();
    instance.rows = side;
    instance.columns = side;
    instance.dataset_bytes(EXPLICIT)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Parses an object size: a number of bytes with an optional `k` (KiB) or `m` (MiB) suffix,
/// e.g. `2k`, `64k`, `512k`, `200m`.
pub fn parse_size(text: &str) -> Option<u64> {
    let t = text.trim().to_ascii_lowercase();
    let (digits, unit) = match t.strip_suffix(['k', 'm']) {
        Some(d) if t.ends_with('k') => (d, 1u64 << 10),
        Some(d) => (d, 1 << 20),
        None => (t.as_str(), 1),
    };
    digits.parse::<u64>().ok()?.checked_mul(unit)
}

/// The conventional name of a size: `2k`, `512k`, `200m`, or the number of bytes.
pub fn size_name(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{}m", bytes >> 20)
    } else if bytes >= 1 << 10 && bytes.is_multiple_of(1 << 10) {
        format!("{}k", bytes >> 10)
    } else {
        bytes.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_and_print() {
        assert_eq!(parse_size("2k"), Some(2048));
        assert_eq!(parse_size("512K"), Some(524_288));
        assert_eq!(parse_size("200m"), Some(200 << 20));
        assert_eq!(parse_size("1000"), Some(1000));
        assert_eq!(parse_size("k"), None);
        assert_eq!(parse_size("2g"), None);
        for name in ["2k", "64k", "512k", "200m", "1000"] {
            assert_eq!(size_name(parse_size(name).unwrap()), name);
        }
    }

    #[test]
    fn every_object_gets_its_own_uid_in_command_and_data_set() {
        let ds = DataSet::with_size(64 << 10);
        assert!(ds.len().abs_diff(64 << 10) < 2048, "{}", ds.len());
        let a = ds.to_vec(3, 17);
        let uid = DataSet::uid(3, 17);
        assert_eq!(uid, "1.2.826.0.1.3680043.10.1145.60.1000000003.1000000017");
        assert!(find(&a, uid.as_bytes()).is_some());
        assert_eq!(a.len() as u64, ds.len());
        let mut command = CommandTemplate::new();
        command.set(0x1234, 3, 17);
        assert!(find(&command.bytes, uid.as_bytes()).is_some());
        let parsed = crate::raw::parse_command(&command.bytes);
        assert_eq!(crate::raw::us(&parsed, 0x0110), Some(0x1234));
        assert_eq!(
            crate::raw::text(&parsed, 0x1000).as_deref(),
            Some(uid.as_str())
        );
    }

    #[test]
    fn the_data_set_parses_with_the_rewritten_uid() {
        use dicom_object::InMemDicomObject;
        use dicom_transfer_syntax_registry::{TransferSyntaxIndex, TransferSyntaxRegistry};
        let ds = DataSet::with_size(4096);
        let bytes = ds.to_vec(1, 2);
        let ts = TransferSyntaxRegistry.get(EXPLICIT).unwrap();
        let obj = InMemDicomObject::read_dataset_with_ts(bytes.as_slice(), ts).unwrap();
        let uid = obj
            .element(dicom_dictionary_std::tags::SOP_INSTANCE_UID)
            .unwrap()
            .to_str()
            .unwrap();
        assert_eq!(uid.trim_end_matches('\0'), DataSet::uid(1, 2));
        let rows = obj.element(dicom_dictionary_std::tags::ROWS).unwrap();
        assert_eq!(rows.to_int::<u16>().unwrap(), ds.side());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.dcm");
        ds.write_file(&path, 1, 2).unwrap();
        assert_eq!(crate::objects::dataset_of_file(&path), bytes);
    }
}

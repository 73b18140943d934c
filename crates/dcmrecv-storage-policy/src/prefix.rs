//! The SOP Class UID → file-name prefix table of DCMTK 3.6.7 (`dcmSOPClassUIDToModality()`).
//!
//! The table is data, not code: `data/modalities.tsv` holds one row per SOP class (UID, prefix,
//! DCMTK symbolic name), where every row was
//! verified by storing one object per class with the real `dcmrecv`. It is parsed once, on first
//! use, into a hash map.

use std::collections::HashMap;
use std::sync::LazyLock;

/// The table as shipped: `UID<TAB>prefix<TAB>DCMTK name`, one row per line.
const TABLE: &str = include_str!("../data/modalities.tsv");

/// UID → prefix, built from [`TABLE`] on first use.
static PREFIXES: LazyLock<HashMap<&'static str, &'static str>> =
    LazyLock::new(|| rows().map(|row| (row.sop_class_uid, row.prefix)).collect());

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) sop_class_uid: &'static str,
    pub(crate) prefix: &'static str,
    pub(crate) dcmtk_name: &'static str,
}

/// Every well-formed row of the table, in file order. Lines without exactly three fields are
/// skipped (the test below checks there are none).
pub(crate) fn rows() -> impl Iterator<Item = Row> {
    TABLE.lines().filter_map(|line| {
        let mut fields = line.split('\t');
        let row = Row {
            sop_class_uid: fields.next()?,
            prefix: fields.next()?,
            dcmtk_name: fields.next()?,
        };
        fields.next().is_none().then_some(row)
    })
}

/// The file-name prefix DCMTK 3.6.7 uses for a SOP class, e.g. `CT` for CT Image Storage.
///
/// The lookup is an exact match on the UID after trailing spaces and NULs (DICOM padding) are
/// removed. `None` for a UID that is not in the table: `dcmrecv` then uses `UNKNOWN` (or `XX` with
/// short unique names).
///
/// ```
/// use dcmrecv_storage_policy::modality_prefix;
///
/// assert_eq!(modality_prefix("1.2.840.10008.5.1.4.1.1.2"), Some("CT"));
/// assert_eq!(modality_prefix("1.2.840.10008.5.1.4.1.1.4\0"), Some("MR"));
/// assert_eq!(modality_prefix("1.2.3.4"), None);
/// ```
pub fn modality_prefix(sop_class_uid: &str) -> Option<&'static str> {
    PREFIXES.get(trim_uid(sop_class_uid)).copied()
}

/// Removes DICOM padding (trailing spaces and NULs) from a UID.
pub(crate) fn trim_uid(uid: &str) -> &str {
    uid.trim_end_matches([' ', '\0'])
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn the_table_has_the_194_rows_of_appendix_a() {
        let lines = TABLE.lines().count();
        let rows: Vec<Row> = rows().collect();
        assert_eq!(lines, 194, "one line per SOP class");
        assert_eq!(rows.len(), lines, "every line has exactly three fields");
        let uids: HashSet<&str> = rows.iter().map(|r| r.sop_class_uid).collect();
        assert_eq!(uids.len(), rows.len(), "no SOP class UID appears twice");
    }

    #[test]
    fn every_row_maps_its_uid_to_its_prefix() {
        for row in rows() {
            assert_eq!(
                modality_prefix(row.sop_class_uid),
                Some(row.prefix),
                "{} ({})",
                row.sop_class_uid,
                row.dcmtk_name
            );
            // Padding as it arrives in a command or data set does not matter.
            let padded = format!("{}\0", row.sop_class_uid);
            assert_eq!(modality_prefix(&padded), Some(row.prefix));
            // Each prefix is a safe file-name component.
            assert!(!row.prefix.is_empty());
            assert!(
                row.prefix
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_'),
                "{}",
                row.prefix
            );
            assert!(
                row.sop_class_uid
                    .bytes()
                    .all(|b| b.is_ascii_digit() || b == b'.'),
                "{}",
                row.sop_class_uid
            );
        }
    }

    #[test]
    fn lookups_are_exact() {
        assert_eq!(modality_prefix("1.2.840.10008.5.1.4.1.1.2"), Some("CT"));
        assert_eq!(modality_prefix("1.2.840.10008.5.1.4.1.1.2.1"), Some("CTe"));
        assert_eq!(modality_prefix("1.2.840.10008.5.1.4.1.1.2.2"), Some("CTl"));
        assert_eq!(modality_prefix("1.2.840.10008.5.1.4.1.1.20"), Some("NM"));
        assert_eq!(modality_prefix(" 1.2.840.10008.5.1.4.1.1.2"), None);
        assert_eq!(modality_prefix("1.2.840.10008.5.1.4.1.1"), None);
        assert_eq!(modality_prefix(""), None);
        assert_eq!(modality_prefix("31"), None);
    }
}

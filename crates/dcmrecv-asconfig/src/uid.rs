//! DCMTK's symbolic UID names and the resolution rules of DCMTK's `DcmUIDHandler`.

use crate::uid_names::UID_NAMES;

/// Explicit VR Little Endian.
const EXPLICIT_LE: &str = "1.2.840.10008.1.2.1";
/// Explicit VR Big Endian.
const EXPLICIT_BE: &str = "1.2.840.10008.1.2.2";

/// The UID for a DCMTK symbolic name, e.g. `CTImageStorage` → `1.2.840.10008.5.1.4.1.1.2`.
///
/// The match is exact and case-sensitive, as in DCMTK's `dcmFindUIDFromName`: `ctimagestorage`
/// is not found. The run-time aliases `LocalEndianExplicit` / `OppositeEndianExplicit` are not
/// table entries; an asconfig file may still use them (they are resolved while parsing).
///
/// ```
/// assert_eq!(dcmrecv_asconfig::uid_for_name("VerificationSOPClass"), Some("1.2.840.10008.1.1"));
/// assert_eq!(dcmrecv_asconfig::uid_for_name("verificationsopclass"), None);
/// ```
pub fn uid_for_name(name: &str) -> Option<&'static str> {
    UID_NAMES
        .iter()
        .find(|(_, n)| *n == name)
        .map(|(uid, _)| *uid)
}

/// The DCMTK symbolic name of a UID, e.g. for `+v` dumps (`=CTImageStorage`).
///
/// When DCMTK's table has several names for one UID, the first one wins, as in DCMTK's
/// `dcmFindNameOfUID`.
///
/// ```
/// assert_eq!(dcmrecv_asconfig::name_for_uid("1.2.840.10008.1.2.1"), Some("LittleEndianExplicit"));
/// assert_eq!(dcmrecv_asconfig::name_for_uid("1.2.3.4"), None);
/// ```
pub fn name_for_uid(uid: &str) -> Option<&'static str> {
    UID_NAMES
        .iter()
        .find(|(u, _)| *u == uid)
        .map(|(_, name)| *name)
}

/// Explicit VR in this machine's byte order (DCMTK's `LocalEndianExplicit`).
fn local_endian_explicit() -> &'static str {
    if cfg!(target_endian = "big") {
        EXPLICIT_BE
    } else {
        EXPLICIT_LE
    }
}

/// Explicit VR in the other byte order (DCMTK's `OppositeEndianExplicit`).
fn opposite_endian_explicit() -> &'static str {
    if cfg!(target_endian = "big") {
        EXPLICIT_LE
    } else {
        EXPLICIT_BE
    }
}

/// Resolves an asconfig UID value as DCMTK's `DcmUIDHandler` does, then checks it with
/// `isValidUID`. Returns `None` when the result is not a non-empty string of digits and dots.
///
/// 1. A value whose first byte is a digit is taken verbatim.
/// 2. Otherwise one leading `=` is skipped, `LocalEndianExplicit` / `OppositeEndianExplicit` are
///    resolved for this machine, and any other name is looked up exactly in DCMTK's table. An
///    unknown name stays as written (and then fails the check).
pub(crate) fn resolve(text: &[u8]) -> Option<String> {
    let resolved: &[u8] = match text.first() {
        None => text,
        Some(c) if c.is_ascii_digit() => text,
        Some(_) => {
            let name = text.strip_prefix(b"=").unwrap_or(text);
            if name == b"LocalEndianExplicit" {
                local_endian_explicit().as_bytes()
            } else if name == b"OppositeEndianExplicit" {
                opposite_endian_explicit().as_bytes()
            } else {
                std::str::from_utf8(name)
                    .ok()
                    .and_then(uid_for_name)
                    .map_or(text, str::as_bytes)
            }
        }
    };
    let valid = !resolved.is_empty() && resolved.iter().all(|c| c.is_ascii_digit() || *c == b'.');
    if valid {
        // Only ASCII digits and dots remain, so this conversion cannot fail.
        String::from_utf8(resolved.to_vec()).ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_matches_tsv() {
        let tsv = include_str!("../tests/data/dcmtk-uid-names.tsv");
        let rows: Vec<(&str, &str)> = tsv
            .lines()
            .map(|l| {
                let (u, n) = l.split_once('\t').unwrap();
                (u, n)
            })
            .collect();
        assert_eq!(rows.len(), 436);
        assert_eq!(rows.as_slice(), UID_NAMES);
        for (uid, name) in rows {
            assert_eq!(uid_for_name(name), Some(uid), "{name}");
            assert_eq!(name_for_uid(uid), Some(name), "{uid}");
        }
    }

    fn check(text: &str, expected: Option<&str>) {
        assert_eq!(resolve(text.as_bytes()).as_deref(), expected, "{text:?}");
    }

    #[test]
    fn resolution_rules() {
        check("1.2.840.10008.1.1", Some("1.2.840.10008.1.1"));
        check("VerificationSOPClass", Some("1.2.840.10008.1.1"));
        check("=VerificationSOPClass", Some("1.2.840.10008.1.1"));
        check("==VerificationSOPClass", None);
        check("verificationsopclass", None);
        check("VerificationSOPClass ", None);
        check(" VerificationSOPClass", None);
        check("=1.2.3", None);
        check("1.2.3 ", None);
        check("1.2.x", None);
        check("1..2.", Some("1..2."));
        check(".", Some("."));
        check("", None);
        check("=", None);
        check("JPEGExtended:Process2+4", Some("1.2.840.10008.1.2.4.51"));
        check("MPEG4HighProfile/Level4.1", Some("1.2.840.10008.1.2.4.102"));
    }

    #[test]
    fn endian_aliases() {
        let (local, opposite) = if cfg!(target_endian = "big") {
            (EXPLICIT_BE, EXPLICIT_LE)
        } else {
            (EXPLICIT_LE, EXPLICIT_BE)
        };
        check("LocalEndianExplicit", Some(local));
        check("=LocalEndianExplicit", Some(local));
        check("OppositeEndianExplicit", Some(opposite));
        check("localendianexplicit", None);
        assert_eq!(uid_for_name("LocalEndianExplicit"), None);
    }
}

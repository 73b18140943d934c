//! The bounds an A-ASSOCIATE-RQ must respect before it is parsed (PS3.8 9.3.2).
//!
//! dicom-ul turns every sub-item of a request into a `String`, so a request of one-character
//! sub-items costs about twelve times its size once parsed. The bounds below are what DCMTK's
//! dcmrecv 3.6.7 accepts, measured, where it has a bound, and what the standard allows where it
//! has none:
//!
//! | bound | DCMTK 3.6.7 | here |
//! |---|---|---|
//! | PDU length | 1 MiB (`A-ASSOCIATE PDU too large: <n> bytes, refusing.`, connection reset) | the same, answered with A-ABORT |
//! | transfer syntaxes per presentation context | 50 (`too many transfer syntaxes`; never answers) | 50, A-ASSOCIATE-RJ |
//! | abstract/transfer syntax sub-item length | 64 (`DUL illegal subitem length`; never answers) | 64, A-ASSOCIATE-RJ |
//! | presentation context items | none (duplicate and even IDs accepted) | 128, the number of valid IDs, A-ASSOCIATE-RJ |
//! | user information sub-items | none (13,000 accepted) | 512, A-ASSOCIATE-RJ |
//!
//! At these bounds a parsed request costs at most about a megabyte, and only while it is
//! negotiated (see `gate.rs`); the request is dropped once the A-ASSOCIATE-AC is sent.
//!
//! The check walks the raw bytes without allocating; a request it cannot walk (a truncated
//! item) is left to the parser, which reports it.

use snafu::Snafu;

/// The longest A-ASSOCIATE-RQ we read (the PDU length field), as DCMTK.
pub(crate) const MAX_ASSOCIATE_RQ_LENGTH: u32 = 1024 * 1024;
/// The most presentation context items in a request: the number of valid (odd) IDs.
pub(crate) const MAX_PRESENTATION_CONTEXTS: usize = 128;
/// The most transfer syntax sub-items in one presentation context, as DCMTK.
pub(crate) const MAX_TRANSFER_SYNTAXES: usize = 50;
/// The longest abstract or transfer syntax sub-item: a UID (PS3.5 9.1), as DCMTK.
pub(crate) const MAX_UID_LENGTH: usize = 64;
/// The most user information sub-items in a request.
pub(crate) const MAX_USER_INFORMATION_SUB_ITEMS: usize = 512;

/// Where a request goes beyond the bounds.
#[derive(Debug, Clone, PartialEq, Eq, Snafu)]
pub(crate) enum Exceeded {
    /// More presentation context items than there are valid IDs.
    #[snafu(display("more than {MAX_PRESENTATION_CONTEXTS} presentation contexts proposed"))]
    TooManyPresentationContexts,
    /// A presentation context with too many transfer syntaxes.
    #[snafu(display(
        "too many transfer syntaxes ({count} in presentation context {id}, at most {MAX_TRANSFER_SYNTAXES})"
    ))]
    TooManyTransferSyntaxes { id: u8, count: usize },
    /// An abstract or transfer syntax longer than a UID.
    #[snafu(display(
        "illegal subitem length {length} in presentation context {id} (at most {MAX_UID_LENGTH})"
    ))]
    UidTooLong { id: u8, length: usize },
    /// Too many user information sub-items.
    #[snafu(display("more than {MAX_USER_INFORMATION_SUB_ITEMS} user information sub-items"))]
    TooManyUserInformationSubItems,
}

/// Items of a variable field: (type, content), stopping at the first one that does not fit.
fn items(mut bytes: &[u8]) -> impl Iterator<Item = (u8, &[u8])> {
    std::iter::from_fn(move || {
        let (&item_type, rest) = bytes.split_first()?;
        let length = usize::from(u16::from_be_bytes([*rest.get(1)?, *rest.get(2)?]));
        let content = rest.get(3..3 + length)?;
        bytes = rest.get(3 + length..).unwrap_or_default();
        Some((item_type, content))
    })
}

/// Checks the body of an A-ASSOCIATE-RQ (the bytes after its 6-byte header) against the bounds.
pub(crate) fn check(body: &[u8]) -> Result<(), Exceeded> {
    // Protocol version, reserved, called and calling AE titles, reserved: 68 bytes.
    let Some(variable) = body.get(68..) else {
        return Ok(());
    };
    let mut contexts = 0;
    let mut user_sub_items = 0;
    for (item_type, content) in items(variable) {
        match item_type {
            0x20 => {
                contexts += 1;
                if contexts > MAX_PRESENTATION_CONTEXTS {
                    return Err(Exceeded::TooManyPresentationContexts);
                }
                let id = content.first().copied().unwrap_or(0);
                let mut count = 0;
                for (sub_type, sub) in items(content.get(4..).unwrap_or_default()) {
                    if sub.len() > MAX_UID_LENGTH {
                        return Err(Exceeded::UidTooLong {
                            id,
                            length: sub.len(),
                        });
                    }
                    if sub_type == 0x40 {
                        count += 1;
                    }
                }
                if count > MAX_TRANSFER_SYNTAXES {
                    return Err(Exceeded::TooManyTransferSyntaxes { id, count });
                }
            }
            0x50 => {
                user_sub_items += items(content).count();
                if user_sub_items > MAX_USER_INFORMATION_SUB_ITEMS {
                    return Err(Exceeded::TooManyUserInformationSubItems);
                }
            }
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(t: u8, body: &[u8]) -> Vec<u8> {
        let mut v = vec![t, 0];
        v.extend_from_slice(&(body.len() as u16).to_be_bytes());
        v.extend_from_slice(body);
        v
    }

    fn pc(id: u8, ts: &[&str]) -> Vec<u8> {
        let mut body = vec![id, 0, 0, 0];
        body.extend(item(0x30, b"1.2.840.10008.1.1"));
        for t in ts {
            body.extend(item(0x40, t.as_bytes()));
        }
        item(0x20, &body)
    }

    fn body(items: &[Vec<u8>]) -> Vec<u8> {
        let mut v = vec![0u8; 68];
        v.extend(item(0x10, b"1.2.840.10008.3.1.1.1"));
        for i in items {
            v.extend(i);
        }
        v
    }

    #[test]
    fn requests_within_the_bounds_pass() {
        let ts = vec!["1"; 50];
        let pcs: Vec<Vec<u8>> = (0..128).map(|i| pc(1 + 2 * i as u8, &ts)).collect();
        let mut all = pcs;
        all.push(item(0x50, &[0x60, 0, 0, 1, b'x'].repeat(512)));
        assert_eq!(check(&body(&all)), Ok(()));
        // Anything it cannot walk is the parser's to report.
        assert_eq!(check(&[1, 2, 3]), Ok(()));
        assert_eq!(check(&body(&[vec![0x20, 0, 0xFF, 0xFF, 1]])), Ok(()));
    }

    #[test]
    fn each_bound_is_enforced() {
        let many: Vec<Vec<u8>> = (0..129).map(|i| pc(i as u8, &["1.2"])).collect();
        assert_eq!(
            check(&body(&many)),
            Err(Exceeded::TooManyPresentationContexts)
        );
        assert_eq!(
            check(&body(&[pc(3, &vec!["1"; 51])])),
            Err(Exceeded::TooManyTransferSyntaxes { id: 3, count: 51 })
        );
        let long = "1".repeat(65);
        assert_eq!(
            check(&body(&[pc(5, &[&long])])),
            Err(Exceeded::UidTooLong { id: 5, length: 65 })
        );
        let users = item(0x50, &[0x60, 0, 0, 0].repeat(300));
        assert_eq!(
            check(&body(&[users.clone(), users])),
            Err(Exceeded::TooManyUserInformationSubItems)
        );
        assert_eq!(
            Exceeded::TooManyTransferSyntaxes { id: 3, count: 51 }.to_string(),
            "too many transfer syntaxes (51 in presentation context 3, at most 50)"
        );
    }
}

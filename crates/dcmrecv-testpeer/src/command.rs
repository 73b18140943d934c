//! DIMSE command sets in Implicit VR Little Endian (PS3.7 E.1): built element by element, and
//! parsed back.

use crate::pdu::VERIFICATION;

/// One group-0000 element.
pub fn element(tag_element: u16, value: &[u8]) -> Vec<u8> {
    let length = u32::try_from(value.len()).expect("a value below 4 GiB");
    let mut v = 0u16.to_le_bytes().to_vec();
    v.extend_from_slice(&tag_element.to_le_bytes());
    v.extend_from_slice(&length.to_le_bytes());
    v.extend_from_slice(value);
    v
}

/// A UID value padded to even length with a NUL.
pub fn uid_value(uid: &str) -> Vec<u8> {
    let mut v = uid.as_bytes().to_vec();
    if v.len() % 2 == 1 {
        v.push(0);
    }
    v
}

/// A command set with a group length from `(element, value)` pairs.
pub fn command(elements: &[(u16, Vec<u8>)]) -> Vec<u8> {
    let body: Vec<u8> = elements.iter().flat_map(|(e, v)| element(*e, v)).collect();
    let length = u32::try_from(body.len()).expect("a command below 4 GiB");
    let mut out = element(0x0000, &length.to_le_bytes());
    out.extend(body);
    out
}

/// A C-ECHO-RQ command set.
pub fn c_echo_rq(message_id: u16) -> Vec<u8> {
    command(&[
        (0x0002, uid_value(VERIFICATION)),
        (0x0100, 0x0030u16.to_le_bytes().to_vec()),
        (0x0110, message_id.to_le_bytes().to_vec()),
        (0x0800, 0x0101u16.to_le_bytes().to_vec()),
    ])
}

/// A C-STORE-RQ command set announcing a data set.
pub fn c_store_rq(message_id: u16, sop_class: &str, instance: &str) -> Vec<u8> {
    c_store_rq_bytes(message_id, sop_class, &uid_value(instance))
}

/// A C-STORE-RQ command set whose Affected SOP Instance UID is the raw bytes given (which may
/// hold anything: NULs, slashes, 200 characters...).
pub fn c_store_rq_bytes(message_id: u16, sop_class: &str, instance: &[u8]) -> Vec<u8> {
    command(&[
        (0x0002, uid_value(sop_class)),
        (0x0100, 0x0001u16.to_le_bytes().to_vec()),
        (0x0110, message_id.to_le_bytes().to_vec()),
        (0x0700, 0u16.to_le_bytes().to_vec()),
        (0x0800, 0x0000u16.to_le_bytes().to_vec()),
        (0x1000, instance.to_vec()),
    ])
}

/// Parses a command set into (element, value) pairs.
pub fn parse_command(bytes: &[u8]) -> Vec<(u16, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let header = bytes.get(pos..pos + 8).expect("a complete element header");
        let group = u16::from_le_bytes([header[0], header[1]]);
        assert_eq!(group, 0, "command elements are group 0000");
        let elem = u16::from_le_bytes([header[2], header[3]]);
        let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let value = bytes
            .get(pos + 8..pos + 8 + len)
            .expect("a complete element value");
        out.push((elem, value.to_vec()));
        pos += 8 + len;
    }
    out
}

/// A US value of a parsed command.
pub fn us(elements: &[(u16, Vec<u8>)], elem: u16) -> Option<u16> {
    elements
        .iter()
        .find(|(e, _)| *e == elem)
        .and_then(|(_, v)| Some(u16::from_le_bytes([*v.first()?, *v.get(1)?])))
}

/// A text value of a parsed command, padding removed.
pub fn text(elements: &[(u16, Vec<u8>)], elem: u16) -> Option<String> {
    elements.iter().find(|(e, _)| *e == elem).map(|(_, v)| {
        String::from_utf8_lossy(v)
            .trim_end_matches(['\0', ' '])
            .to_string()
    })
}

/// A synthetic data set payload of `n` bytes (for an SCP that does not look at it).
pub fn payload(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 7 % 251) as u8).collect()
}

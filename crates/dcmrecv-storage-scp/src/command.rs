//! DIMSE command sets (PS3.7 E.1): a tight codec for the group 0000 elements a Storage SCP
//! reads and writes. Command sets are always Implicit VR Little Endian (PS3.7 6.3.1), hold a
//! dozen short elements, and must be parsed without trusting a single length, so this is
//! simpler and safer than a general data set parser.

use snafu::Snafu;

/// Command Field values (PS3.7 E.1-1) we act on.
pub(crate) mod field {
    pub(crate) const C_STORE_RQ: u16 = 0x0001;
    pub(crate) const C_STORE_RSP: u16 = 0x8001;
    pub(crate) const C_ECHO_RQ: u16 = 0x0030;
    pub(crate) const C_ECHO_RSP: u16 = 0x8030;
}

/// CommandDataSetType value meaning "no data set" (PS3.7 E.1-1).
pub(crate) const NO_DATA_SET: u16 = 0x0101;

/// A command set that cannot be parsed.
#[derive(Debug, Snafu, PartialEq, Eq)]
pub(crate) enum Error {
    /// An element header or value runs past the end of the command.
    #[snafu(display("command set truncated at offset {offset}"))]
    Truncated { offset: usize },
    /// An element has an undefined or impossible length.
    #[snafu(display("command element ({group:04X},{element:04X}) has an invalid length {length}"))]
    BadLength {
        group: u16,
        element: u16,
        length: u32,
    },
}

/// The elements of a request command that a Storage SCP uses; absent elements are `None`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct Command {
    pub(crate) command_field: Option<u16>,
    pub(crate) message_id: Option<u16>,
    pub(crate) affected_sop_class_uid: Option<String>,
    pub(crate) affected_sop_instance_uid: Option<String>,
    pub(crate) priority: Option<u16>,
    pub(crate) data_set_type: Option<u16>,
    pub(crate) move_originator_ae_title: Option<String>,
    pub(crate) move_originator_message_id: Option<u16>,
}

impl Command {
    /// Whether a data set follows: any CommandDataSetType other than 0x0101 (DCMTK's reading).
    /// An absent element counts as "no data set".
    pub(crate) fn has_data_set(&self) -> bool {
        self.data_set_type.unwrap_or(NO_DATA_SET) != NO_DATA_SET
    }
}

/// Parses an Implicit VR Little Endian command set. Unknown elements (and elements of other
/// groups) are skipped; a repeated element keeps its first value.
pub(crate) fn parse(bytes: &[u8]) -> Result<Command, Error> {
    let mut command = Command::default();
    let mut pos = 0usize;
    while pos < bytes.len() {
        let header = bytes
            .get(pos..pos + 8)
            .ok_or(Error::Truncated { offset: pos })?;
        let group = u16::from_le_bytes([header[0], header[1]]);
        let element = u16::from_le_bytes([header[2], header[3]]);
        let length = u32::from_le_bytes([header[4], header[5], header[6], header[7]]);
        let bad_length = Error::BadLength {
            group,
            element,
            length,
        };
        if length == u32::MAX {
            return Err(bad_length);
        }
        let start = pos + 8;
        let end = start
            .checked_add(length as usize)
            .ok_or(Error::Truncated { offset: pos })?;
        let value = bytes
            .get(start..end)
            .ok_or(Error::Truncated { offset: pos })?;
        pos = end;
        if group != 0x0000 {
            continue;
        }
        let us = || -> Result<u16, Error> {
            match value {
                [a, b, ..] => Ok(u16::from_le_bytes([*a, *b])),
                _ => Err(Error::BadLength {
                    group,
                    element,
                    length,
                }),
            }
        };
        match element {
            0x0002 => set(&mut command.affected_sop_class_uid, text(value)),
            0x0100 => set(&mut command.command_field, us()?),
            0x0110 => set(&mut command.message_id, us()?),
            0x0700 => set(&mut command.priority, us()?),
            0x0800 => set(&mut command.data_set_type, us()?),
            0x1000 => set(&mut command.affected_sop_instance_uid, text(value)),
            0x1030 => set(&mut command.move_originator_ae_title, text(value)),
            0x1031 => set(&mut command.move_originator_message_id, us()?),
            _ => {}
        }
    }
    Ok(command)
}

fn set<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// A text value with its padding (trailing NULs and spaces, leading spaces) removed.
fn text(value: &[u8]) -> String {
    String::from_utf8_lossy(value)
        .trim_end_matches(['\0', ' '])
        .trim_start_matches(' ')
        .to_string()
}

/// A response command (C-ECHO-RSP or C-STORE-RSP), laid out as DCMTK does (measured), plus
/// an Error Comment for failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Response<'a> {
    pub(crate) command_field: u16,
    pub(crate) message_id_being_responded_to: u16,
    pub(crate) affected_sop_class_uid: &'a str,
    pub(crate) status: u16,
    pub(crate) error_comment: Option<&'a str>,
    pub(crate) affected_sop_instance_uid: Option<&'a str>,
}

impl Response<'_> {
    /// Encodes the response as Implicit VR Little Endian with a command group length.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut body = Vec::with_capacity(160);
        put_text(&mut body, 0x0002, self.affected_sop_class_uid, 0);
        put_us(&mut body, 0x0100, self.command_field);
        put_us(&mut body, 0x0120, self.message_id_being_responded_to);
        put_us(&mut body, 0x0800, NO_DATA_SET);
        put_us(&mut body, 0x0900, self.status);
        if let Some(comment) = self.error_comment {
            put_text(&mut body, 0x0902, comment, b' ');
        }
        if let Some(uid) = self.affected_sop_instance_uid {
            put_text(&mut body, 0x1000, uid, 0);
        }
        let mut out = Vec::with_capacity(body.len() + 12);
        put_element(&mut out, 0x0000, &(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&body);
        out
    }
}

fn put_element(out: &mut Vec<u8>, element: u16, value: &[u8]) {
    out.extend_from_slice(&0u16.to_le_bytes());
    out.extend_from_slice(&element.to_le_bytes());
    out.extend_from_slice(&(value.len() as u32).to_le_bytes());
    out.extend_from_slice(value);
}

fn put_us(out: &mut Vec<u8>, element: u16, value: u16) {
    put_element(out, element, &value.to_le_bytes());
}

/// A text value padded to even length with `pad` (NUL for UI, space for LO).
fn put_text(out: &mut Vec<u8>, element: u16, value: &str, pad: u8) {
    let mut bytes = value.as_bytes().to_vec();
    if bytes.len() % 2 == 1 {
        bytes.push(pad);
    }
    put_element(out, element, &bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn element(group: u16, element: u16, value: &[u8]) -> Vec<u8> {
        let mut v = group.to_le_bytes().to_vec();
        v.extend(element.to_le_bytes());
        v.extend((value.len() as u32).to_le_bytes());
        v.extend(value);
        v
    }

    #[test]
    fn parses_a_c_store_rq() {
        let mut bytes = element(0, 0x0000, &[0; 4]);
        bytes.extend(element(0, 0x0002, b"1.2.840.10008.5.1.4.1.1.2\0"));
        bytes.extend(element(0, 0x0100, &[1, 0]));
        bytes.extend(element(0, 0x0110, &[7, 0]));
        bytes.extend(element(0, 0x0700, &[2, 0]));
        bytes.extend(element(0, 0x0800, &[0, 0]));
        bytes.extend(element(0, 0x1000, b"1.2.3 \0"));
        bytes.extend(element(0, 0x1030, b"MOVER "));
        bytes.extend(element(0, 0x1031, &[9, 0]));
        bytes.extend(element(0x0008, 0x0018, b"ignored"));
        let c = parse(&bytes).unwrap();
        assert_eq!(
            c,
            Command {
                command_field: Some(1),
                message_id: Some(7),
                affected_sop_class_uid: Some("1.2.840.10008.5.1.4.1.1.2".into()),
                affected_sop_instance_uid: Some("1.2.3".into()),
                priority: Some(2),
                data_set_type: Some(0),
                move_originator_ae_title: Some("MOVER".into()),
                move_originator_message_id: Some(9),
            }
        );
        assert!(c.has_data_set());
    }

    #[test]
    fn rejects_malformed_commands_without_panicking() {
        let mut truncated = element(0, 0x0100, &[1, 0]);
        truncated.truncate(9);
        assert_eq!(parse(&truncated), Err(Error::Truncated { offset: 0 }));
        assert!(parse(&[1, 2, 3]).is_err());
        let mut huge = element(0, 0x0100, &[]);
        huge[4..8].copy_from_slice(&0xFFFF_FFF0u32.to_le_bytes());
        assert!(parse(&huge).is_err());
        let mut undefined = element(0, 0x0100, &[]);
        undefined[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(matches!(parse(&undefined), Err(Error::BadLength { .. })));
        assert!(matches!(
            parse(&element(0, 0x0110, &[1])),
            Err(Error::BadLength { .. })
        ));
        assert_eq!(parse(&[]).unwrap(), Command::default());
    }

    #[test]
    fn encodes_the_c_store_rsp_layout() {
        let rsp = Response {
            command_field: field::C_STORE_RSP,
            message_id_being_responded_to: 5,
            affected_sop_class_uid: "1.2.3",
            status: 0xA700,
            error_comment: Some("disk full"),
            affected_sop_instance_uid: Some("1.2.3.4"),
        };
        let bytes = rsp.encode();
        let tags: Vec<u16> = {
            let mut pos = 0;
            let mut tags = vec![];
            while pos < bytes.len() {
                tags.push(u16::from_le_bytes([bytes[pos + 2], bytes[pos + 3]]));
                let len = u32::from_le_bytes(bytes[pos + 4..pos + 8].try_into().unwrap());
                assert_eq!(len % 2, 0);
                pos += 8 + len as usize;
            }
            tags
        };
        assert_eq!(
            tags,
            [
                0x0000, 0x0002, 0x0100, 0x0120, 0x0800, 0x0900, 0x0902, 0x1000
            ]
        );
        let group_length = u32::from_le_bytes(bytes[8..12].try_into().unwrap());
        assert_eq!(group_length as usize, bytes.len() - 12);
        let parsed = parse(&bytes).unwrap();
        assert_eq!(parsed.command_field, Some(0x8001));
        assert_eq!(parsed.affected_sop_class_uid.as_deref(), Some("1.2.3"));
        assert_eq!(parsed.affected_sop_instance_uid.as_deref(), Some("1.2.3.4"));
        assert!(!parsed.has_data_set());
    }
}

//! Entry points for the fuzzers (`cargo xtask fuzz` and the end-to-end test suite). Not part of
//! the API: hidden from the documentation and free to change.

use crate::command::{self, Response};
use crate::wire::Pdvs;

/// Decodes a P-DATA-TF PDU body the way the acceptor does: splits it into PDV items, and decodes
/// the concatenated command fragments as a DIMSE command set.
///
/// Returns a fingerprint of the outcome (how many PDVs, whether the split or the command
/// failed, which command it was), so that a fuzzer can tell inputs that behave differently
/// apart, or `Err` with a description when an invariant breaks: the PDVs must tile the body
/// exactly, and a decoded command must survive being echoed in a response and decoded again.
pub fn decode_p_data(body: &[u8]) -> Result<u64, String> {
    let mut pdvs = 0u64;
    let mut covered = 0usize;
    let mut command_bytes = Vec::new();
    let mut split_failed = false;
    for pdv in Pdvs::new(body) {
        match pdv {
            Ok(pdv) => {
                pdvs += 1;
                covered += pdv.data.len() + 6;
                if pdv.is_command {
                    command_bytes.extend_from_slice(pdv.data);
                }
            }
            Err(bad) => {
                if bad.offset != covered {
                    return Err(format!(
                        "a bad PDV reported at offset {} after {covered} good bytes",
                        bad.offset
                    ));
                }
                split_failed = true;
            }
        }
    }
    if !split_failed && covered != body.len() {
        return Err(format!(
            "the PDVs cover {covered} of {} body bytes",
            body.len()
        ));
    }
    let decoded = decode_command(&command_bytes)?;
    Ok(pdvs.min(4) | u64::from(split_failed) << 3 | decoded << 4)
}

/// Decodes `bytes` as a DIMSE command set (Implicit VR Little Endian), as the acceptor does for
/// each reassembled command.
///
/// Returns a fingerprint of the outcome (the error kind, or which elements were present and the
/// command field), or `Err` when a decoded command does not survive being echoed in a response
/// (the values the acceptor copies into its C-STORE-RSP) and decoded again.
pub fn decode_command(bytes: &[u8]) -> Result<u64, String> {
    let command = match command::parse(bytes) {
        Ok(command) => command,
        Err(command::Error::Truncated { .. }) => return Ok(1),
        Err(command::Error::BadLength { .. }) => return Ok(2),
    };
    let present = [
        command.affected_sop_class_uid.is_some(),
        command.affected_sop_instance_uid.is_some(),
        command.message_id.is_some(),
        command.priority.is_some(),
        command.data_set_type.is_some(),
        command.move_originator_ae_title.is_some(),
        command.move_originator_message_id.is_some(),
    ];
    let flags = present
        .iter()
        .enumerate()
        .fold(0u64, |acc, (i, &p)| acc | u64::from(p) << i);
    let class = command.affected_sop_class_uid.as_deref().unwrap_or("");
    let instance = command.affected_sop_instance_uid.as_deref().unwrap_or("");
    let response = Response {
        command_field: 0x8001,
        message_id_being_responded_to: command.message_id.unwrap_or(0),
        affected_sop_class_uid: class,
        status: 0xA700,
        error_comment: Some("fuzz"),
        affected_sop_instance_uid: Some(instance),
    };
    let echoed = command::parse(&response.encode())
        .map_err(|e| format!("our own response does not decode: {e}"))?;
    // Values lose their padding (trailing NULs and spaces, leading spaces) on the way; decoding
    // once more must change nothing.
    if echoed.affected_sop_class_uid.as_deref() != Some(class)
        || echoed.affected_sop_instance_uid.as_deref() != Some(instance)
        || echoed.message_id.is_some()
    {
        return Err(format!(
            "a response echoing {class:?} / {instance:?} decodes as {echoed:?}"
        ));
    }
    let kind: u64 = match command.command_field {
        None => 0,
        Some(0x0001) => 1,
        Some(0x0030) => 2,
        Some(field) if field & 0x8000 != 0 => 3,
        Some(_) => 4,
    };
    Ok(3 | flags << 2 | kind << 9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_and_pdvs_are_fingerprinted() {
        // (0000,0100) US 0x0030: a C-ECHO-RQ command field alone.
        let command = [0, 0, 0, 1, 2, 0, 0, 0, 0x30, 0];
        let echo = decode_command(&command).unwrap();
        assert_ne!(echo, decode_command(&command[..9]).unwrap());
        let mut body = 12u32.to_be_bytes().to_vec();
        body.extend_from_slice(&[1, 0x03]);
        body.extend_from_slice(&command);
        let good = decode_p_data(&body).unwrap();
        body.push(0);
        assert_ne!(decode_p_data(&body).unwrap(), good);
        assert_eq!(decode_command(&[]).unwrap() & 3, 3);
    }
}

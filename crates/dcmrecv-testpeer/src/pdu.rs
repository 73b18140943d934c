//! Protocol bytes: association PDUs (written by dicom-ul's codec), P-DATA-TF PDUs and PDV items
//! laid out by hand (PS3.8 9.3), and the UIDs and flags the tests use.

use dicom_ul::pdu::{AssociationRQ, Pdu, PresentationContextProposed, UserVariableItem, write_pdu};

/// Verification SOP Class.
pub const VERIFICATION: &str = "1.2.840.10008.1.1";
/// CT Image Storage.
pub const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
/// Implicit VR Little Endian.
pub const IMPLICIT: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian.
pub const EXPLICIT: &str = "1.2.840.10008.1.2.1";
/// The DICOM application context name.
pub const APP_CONTEXT: &str = "1.2.840.10008.3.1.1.1";

/// PDV message control header: command, last fragment.
pub const COMMAND_LAST: u8 = 0x03;
/// PDV message control header: command, more fragments follow.
pub const COMMAND_MORE: u8 = 0x01;
/// PDV message control header: data set, last fragment.
pub const DATA_LAST: u8 = 0x02;
/// PDV message control header: data set, more fragments follow.
pub const DATA_MORE: u8 = 0x00;

/// An A-ABORT PDU from the service user (source 0, reason 0).
pub const A_ABORT: [u8; 10] = [0x07, 0, 0, 0, 0, 4, 0, 0, 0, 0];

/// A proposed presentation context.
pub fn pc(id: u8, abstract_syntax: &str, ts: &[&str]) -> PresentationContextProposed {
    PresentationContextProposed {
        id,
        abstract_syntax: abstract_syntax.to_string(),
        transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
    }
}

/// An A-ASSOCIATE-RQ from `calling` to `ANY-SCP` with Maximum Length 16384.
pub fn rq(calling: &str, pcs: Vec<PresentationContextProposed>) -> AssociationRQ {
    AssociationRQ {
        protocol_version: 1,
        calling_ae_title: calling.to_string(),
        called_ae_title: "ANY-SCP".to_string(),
        application_context_name: APP_CONTEXT.to_string(),
        presentation_contexts: pcs,
        user_variables: vec![
            UserVariableItem::MaxLength(16384),
            UserVariableItem::ImplementationClassUID("1.2.3.4.5".to_string()),
            UserVariableItem::ImplementationVersionName("RAWSCU_1".to_string()),
        ],
    }
}

/// The bytes of a PDU, encoded by dicom-ul.
pub fn encode(pdu: &Pdu) -> Vec<u8> {
    let mut v = Vec::new();
    write_pdu(&mut v, pdu).expect("encode PDU");
    v
}

/// A PDU of any type with the given body; the length field is the body's length.
pub fn pdu(pdu_type: u8, body: &[u8]) -> Vec<u8> {
    let length = u32::try_from(body.len()).expect("a PDU body below 4 GiB");
    let mut v = vec![pdu_type, 0];
    v.extend_from_slice(&length.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A PDV item: flags bit 0 = command, bit 1 = last.
pub fn pdv(pc: u8, flags: u8, data: &[u8]) -> Vec<u8> {
    let length = u32::try_from(data.len() + 2).expect("a PDV below 4 GiB");
    let mut v = length.to_be_bytes().to_vec();
    v.push(pc);
    v.push(flags);
    v.extend_from_slice(data);
    v
}

/// A P-DATA-TF PDU holding the given PDV items.
pub fn p_data(pdvs: &[Vec<u8>]) -> Vec<u8> {
    pdu(0x04, &pdvs.concat())
}

//! The DIMSE message dumps DCMTK prints at DEBUG level (`-d`), line for line: DCMTK 3.6.7's
//! `DIMSE_dumpMessage` (`dcmnet/libsrc/dimdump.cc`) for the messages a Storage SCP sees, as
//! `DcmSCP` calls it — the incoming C-ECHO-RQ and C-STORE-RQ, and the outgoing C-STORE-RSP
//! (DCMTK does not dump its C-ECHO-RSP).
//!
//! ```text
//! ===================== INCOMING DIMSE MESSAGE ====================
//! Message Type                  : C-STORE RQ
//! Presentation Context ID       : 41
//! Message ID                    : 1
//! Affected SOP Class UID        : CTImageStorage
//! Affected SOP Instance UID     : 1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322
//! Data Set                      : present
//! Priority                      : medium
//! ======================= END DIMSE MESSAGE =======================
//! ```
//!
//! DCMTK appends the data set to an incoming C-STORE-RQ's dump at TRACE level; we never hold
//! the data set, so our dumps stop at the command.

use std::fmt::Write;

use crate::options::UidNames;

const INCOMING: &str = "===================== INCOMING DIMSE MESSAGE ====================";
const OUTGOING: &str = "===================== OUTGOING DIMSE MESSAGE ====================";
const END: &str = "======================= END DIMSE MESSAGE =======================";

/// A received C-STORE-RQ, as far as its dump shows it.
pub(crate) struct StoreRq<'a> {
    pub(crate) presentation_context_id: u8,
    pub(crate) message_id: u16,
    pub(crate) sop_class_uid: &'a str,
    pub(crate) sop_instance_uid: &'a str,
    pub(crate) priority: u16,
    pub(crate) move_originator_ae_title: Option<&'a str>,
    pub(crate) move_originator_message_id: Option<u16>,
}

/// A C-STORE-RSP we send.
pub(crate) struct StoreRsp<'a> {
    pub(crate) presentation_context_id: u8,
    pub(crate) message_id_being_responded_to: u16,
    pub(crate) sop_class_uid: &'a str,
    pub(crate) sop_instance_uid: &'a str,
    pub(crate) status: u16,
}

/// DCMTK shows a SOP class by its name where it has one (`CTImageStorage`, no `=` here), else
/// by its UID.
fn sop_class(uid: &str, names: Option<UidNames>) -> &str {
    names.and_then(|f| f(uid)).unwrap_or(uid)
}

fn data_set(present: bool) -> &'static str {
    if present { "present" } else { "none" }
}

/// The dump of an incoming C-ECHO-RQ.
pub(crate) fn c_echo_rq(
    presentation_context_id: u8,
    message_id: u16,
    has_data_set: bool,
) -> String {
    let mut s = String::with_capacity(320);
    // Writing to a String cannot fail.
    let _ = writeln!(s, "{INCOMING}");
    let _ = writeln!(s, "Message Type                  : C-ECHO RQ");
    context_line(&mut s, presentation_context_id);
    let _ = writeln!(s, "Message ID                    : {message_id}");
    let _ = writeln!(
        s,
        "Data Set                      : {}",
        data_set(has_data_set)
    );
    s.push_str(END);
    s
}

/// The dump of an incoming C-STORE-RQ (it always announces a data set: one that does not is
/// refused before it gets here).
pub(crate) fn c_store_rq(rq: &StoreRq<'_>, names: Option<UidNames>) -> String {
    let mut s = String::with_capacity(512);
    let _ = writeln!(s, "{INCOMING}");
    let _ = writeln!(s, "Message Type                  : C-STORE RQ");
    context_line(&mut s, rq.presentation_context_id);
    let _ = writeln!(s, "Message ID                    : {}", rq.message_id);
    let _ = writeln!(
        s,
        "Affected SOP Class UID        : {}",
        sop_class(rq.sop_class_uid, names)
    );
    let _ = writeln!(s, "Affected SOP Instance UID     : {}", rq.sop_instance_uid);
    let _ = writeln!(s, "Data Set                      : {}", data_set(true));
    // DCMTK prints nothing after the colon for a priority outside PS3.7's three values.
    let priority = match rq.priority {
        0x0000 => "medium",
        0x0001 => "high",
        0x0002 => "low",
        _ => "",
    };
    let _ = write!(s, "Priority                      : {priority}");
    if let Some(ae) = rq.move_originator_ae_title {
        let _ = write!(s, "\nMove Originator AE Title      : {ae}");
    }
    if let Some(id) = rq.move_originator_message_id {
        let _ = write!(s, "\nMove Originator ID            : {id}");
    }
    s.push('\n');
    s.push_str(END);
    s
}

/// The dump of an outgoing C-STORE-RSP.
pub(crate) fn c_store_rsp(rsp: &StoreRsp<'_>, names: Option<UidNames>) -> String {
    let mut s = String::with_capacity(512);
    let _ = writeln!(s, "{OUTGOING}");
    let _ = writeln!(s, "Message Type                  : C-STORE RSP");
    context_line(&mut s, rsp.presentation_context_id);
    let _ = writeln!(
        s,
        "Message ID Being Responded To : {}",
        rsp.message_id_being_responded_to
    );
    let _ = writeln!(
        s,
        "Affected SOP Class UID        : {}",
        sop_class(rsp.sop_class_uid, names)
    );
    let _ = writeln!(
        s,
        "Affected SOP Instance UID     : {}",
        rsp.sop_instance_uid
    );
    let _ = writeln!(s, "Data Set                      : {}", data_set(false));
    let _ = writeln!(
        s,
        "DIMSE Status                  : 0x{:04x}: {}",
        rsp.status,
        c_store_status(rsp.status)
    );
    s.push_str(END);
    s
}

/// DCMTK omits the line for presentation context 0 (never accepted, so never seen here).
fn context_line(s: &mut String, id: u8) {
    if id > 0 {
        let _ = writeln!(s, "Presentation Context ID       : {id}");
    }
}

/// DCMTK's `DIMSE_printCStoreStatusString`, after the `0x%04x: ` prefix.
fn c_store_status(status: u16) -> &'static str {
    match status {
        0x0000 => "Success",
        0x0122 => "Refused: SOP Class not supported",
        0x0124 => "Refused: Not authorized",
        0x0117 => "Invalid SOP Class",
        0x0210 => "Duplicate invocation",
        0x0211 => "Unrecognized operation",
        0x0212 => "Mistyped argument",
        s if s & 0xff00 == 0xa700 => "Refused: Out of resources",
        s if s & 0xff00 == 0xa900 => "Error: Data Set does not match SOP Class",
        s if s & 0xf000 == 0xc000 => "Error: Cannot understand",
        0xb000 => "Warning: Coercion of Data Elements",
        0xb007 => "Warning: Data Set does not match SOP Class",
        0xb006 => "Warning: Elements discarded",
        s => status_class(s),
    }
}

/// DCMTK's `DIMSE_printStatusClassString` (the `DICOM_*_STATUS` macros of `dicom.h`).
fn status_class(s: u16) -> &'static str {
    let high_nibble = s & 0xf000;
    let high_byte = s & 0xff00;
    if s == 0x0000 {
        "Success"
    } else if high_nibble == 0xa000
        || high_nibble == 0xc000
        || (high_byte == 0x0100 && s != 0x0107 && s != 0x0116)
        || high_byte == 0x0200
    {
        "Failure"
    } else if high_nibble == 0xb000 || s == 0x0001 || s == 0x0107 || s == 0x0116 {
        "Warning"
    } else if s == 0xfe00 {
        "Cancel"
    } else if s == 0xff00 || s == 0xff01 {
        "Pending"
    } else {
        // Every standard status is one of the classes above.
        "Unknown Status Code (non-standard)"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(uid: &str) -> Option<&'static str> {
        (uid == "1.2.840.10008.5.1.4.1.1.2").then_some("CTImageStorage")
    }

    /// What dcmrecv 3.6.7 printed at `-d` for `echoscu`.
    #[test]
    fn c_echo_rq_is_dcmtks() {
        assert_eq!(
            c_echo_rq(1, 1, false),
            "\
===================== INCOMING DIMSE MESSAGE ====================
Message Type                  : C-ECHO RQ
Presentation Context ID       : 1
Message ID                    : 1
Data Set                      : none
======================= END DIMSE MESSAGE ======================="
        );
    }

    /// What dcmrecv 3.6.7 printed at `-d` for `storescu CT_small.dcm`.
    #[test]
    fn c_store_rq_and_rsp_are_dcmtks() {
        let uid = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322";
        let rq = StoreRq {
            presentation_context_id: 41,
            message_id: 1,
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2",
            sop_instance_uid: uid,
            priority: 0,
            move_originator_ae_title: None,
            move_originator_message_id: None,
        };
        assert_eq!(
            c_store_rq(&rq, Some(names)),
            format!(
                "\
===================== INCOMING DIMSE MESSAGE ====================
Message Type                  : C-STORE RQ
Presentation Context ID       : 41
Message ID                    : 1
Affected SOP Class UID        : CTImageStorage
Affected SOP Instance UID     : {uid}
Data Set                      : present
Priority                      : medium
======================= END DIMSE MESSAGE ======================="
            )
        );
        let rsp = StoreRsp {
            presentation_context_id: 41,
            message_id_being_responded_to: 1,
            sop_class_uid: "1.2.840.10008.5.1.4.1.1.2",
            sop_instance_uid: uid,
            status: 0xa700,
        };
        assert_eq!(
            c_store_rsp(&rsp, Some(names)),
            format!(
                "\
===================== OUTGOING DIMSE MESSAGE ====================
Message Type                  : C-STORE RSP
Presentation Context ID       : 41
Message ID Being Responded To : 1
Affected SOP Class UID        : CTImageStorage
Affected SOP Instance UID     : {uid}
Data Set                      : none
DIMSE Status                  : 0xa700: Refused: Out of resources
======================= END DIMSE MESSAGE ======================="
            )
        );
    }

    #[test]
    fn move_originator_and_odd_priorities_unnamed_classes() {
        let rq = StoreRq {
            presentation_context_id: 3,
            message_id: 9,
            sop_class_uid: "1.2.3.4",
            sop_instance_uid: "1.2.3.4.5",
            priority: 7,
            move_originator_ae_title: Some("MOVER"),
            move_originator_message_id: Some(12),
        };
        let dump = c_store_rq(&rq, Some(names));
        assert!(dump.contains("\nAffected SOP Class UID        : 1.2.3.4\n"));
        assert!(dump.ends_with(
            "\nPriority                      : \nMove Originator AE Title      : MOVER\nMove Originator ID            : 12\n======================= END DIMSE MESSAGE ======================="
        ));
    }

    #[test]
    fn c_store_status_strings_are_dcmtks() {
        let cases: &[(u16, &str)] = &[
            (0x0000, "Success"),
            (0x0122, "Refused: SOP Class not supported"),
            (0xa701, "Refused: Out of resources"),
            (0xa900, "Error: Data Set does not match SOP Class"),
            (0xc123, "Error: Cannot understand"),
            (0xb000, "Warning: Coercion of Data Elements"),
            (0xb006, "Warning: Elements discarded"),
            (0xb007, "Warning: Data Set does not match SOP Class"),
            (0x0001, "Warning"),
            (0xb123, "Warning"),
            (0x0110, "Failure"),
            (0x0107, "Warning"),
            (0xfe00, "Cancel"),
            (0xff01, "Pending"),
            (0x0300, "Unknown Status Code (non-standard)"),
        ];
        for &(code, text) in cases {
            assert_eq!(c_store_status(code), text, "0x{code:04x}");
        }
    }
}

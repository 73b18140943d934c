//! The A-ASSOCIATE-RQ/AC/RJ dumps DCMTK prints with `+v` or `-d` (DCMTK's
//! `ASC_dumpParameters`), line for line.

use std::fmt::Write;

use dcmrecv_asconfig::Role;
use dicom_ul::pdu::{AssociationRQ, UserIdentityType, UserVariableItem};

use crate::negotiate::{ContextOutcome, Outcome, PcResult, clean_uid};
use crate::options::UidNames;

/// Which dump.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Rq,
    Ac,
    Rj,
}

/// What the dump says about us.
pub(crate) struct Ours<'a> {
    pub(crate) implementation_class_uid: &'a str,
    pub(crate) implementation_version_name: &'a str,
    pub(crate) max_pdu: u32,
    pub(crate) uid_names: Option<UidNames>,
}

/// The peer's user-information items that the dumps and the association record show.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct PeerItems {
    pub(crate) implementation_class_uid: Option<String>,
    pub(crate) implementation_version_name: Option<String>,
    pub(crate) max_pdu: Option<u32>,
}

impl PeerItems {
    pub(crate) fn from_rq(rq: &AssociationRQ) -> Self {
        let mut items = PeerItems::default();
        for item in &rq.user_variables {
            match item {
                UserVariableItem::ImplementationClassUID(uid) => {
                    items
                        .implementation_class_uid
                        .get_or_insert_with(|| clean_uid(uid).to_string());
                }
                UserVariableItem::ImplementationVersionName(name) => {
                    items
                        .implementation_version_name
                        .get_or_insert_with(|| name.trim_end_matches('\0').trim().to_string());
                }
                UserVariableItem::MaxLength(len) => {
                    items.max_pdu.get_or_insert(*len);
                }
                _ => {}
            }
        }
        items
    }
}

/// Renders a dump. `outcome` is required for the AC and RJ dumps.
pub(crate) fn render(
    kind: Kind,
    rq: &AssociationRQ,
    outcome: Option<&Outcome>,
    ours: &Ours<'_>,
) -> String {
    let peer = PeerItems::from_rq(rq);
    let name = |uid: &str| -> String {
        match ours.uid_names.and_then(|f| f(uid)) {
            Some(n) => format!("={n}"),
            None => uid.to_string(),
        }
    };
    let tag = match kind {
        Kind::Rq => "RQ",
        Kind::Ac => "AC",
        Kind::Rj => "RJ",
    };
    let mut s = String::with_capacity(1024);
    // Writing to a String cannot fail.
    let _ = writeln!(
        s,
        "====================== BEGIN A-ASSOCIATE-{tag} ====================="
    );
    let _ = writeln!(
        s,
        "Our Implementation Class UID:      {}",
        ours.implementation_class_uid
    );
    let _ = writeln!(
        s,
        "Our Implementation Version Name:   {}",
        ours.implementation_version_name
    );
    let _ = writeln!(
        s,
        "Their Implementation Class UID:    {}",
        peer.implementation_class_uid.as_deref().unwrap_or("")
    );
    let _ = writeln!(
        s,
        "Their Implementation Version Name: {}",
        peer.implementation_version_name.as_deref().unwrap_or("")
    );
    let _ = writeln!(
        s,
        "Application Context Name:    {}",
        clean_uid(&rq.application_context_name)
    );
    let _ = writeln!(s, "Calling Application Name:    {}", rq.calling_ae_title);
    let _ = writeln!(s, "Called Application Name:     {}", rq.called_ae_title);
    let responding = if kind == Kind::Rq {
        ""
    } else {
        rq.called_ae_title.as_str()
    };
    let _ = writeln!(s, "Responding Application Name: {responding}");
    let _ = writeln!(s, "Our Max PDU Receive Size:    {}", ours.max_pdu);
    let _ = writeln!(
        s,
        "Their Max PDU Receive Size:  {}",
        peer.max_pdu.unwrap_or(0)
    );
    let _ = writeln!(s, "Presentation Contexts:");
    match (kind, outcome) {
        (Kind::Ac | Kind::Rj, Some(outcome)) => {
            for c in &outcome.contexts {
                context_result(&mut s, c, &name);
            }
        }
        _ => {
            for pc in &rq.presentation_contexts {
                let abstract_syntax = clean_uid(&pc.abstract_syntax);
                let _ = writeln!(s, "  Context ID:        {} (Proposed)", pc.id);
                let _ = writeln!(s, "    Abstract Syntax: {}", name(abstract_syntax));
                let _ = writeln!(
                    s,
                    "    Proposed SCP/SCU Role: {}",
                    proposed_role_name(proposed_role(rq, abstract_syntax))
                );
                let _ = writeln!(s, "    Proposed Transfer Syntax(es):");
                for ts in &pc.transfer_syntaxes {
                    let _ = writeln!(s, "      {}", name(clean_uid(ts)));
                }
            }
        }
    }
    let requested: Vec<(&str, &[u8])> = rq
        .user_variables
        .iter()
        .filter_map(|i| match i {
            UserVariableItem::SopClassExtendedNegotiationSubItem(uid, data) => {
                Some((clean_uid(uid), data.as_slice()))
            }
            _ => None,
        })
        .collect();
    extended_negotiation(&mut s, "Requested Extended Negotiation:", &requested, &name);
    let accepted: Vec<(&str, &[u8])> = match (kind, outcome) {
        (Kind::Ac, Some(o)) => o
            .extended_negotiation
            .iter()
            .map(|(uid, data)| (uid.as_str(), data.as_slice()))
            .collect(),
        _ => Vec::new(),
    };
    extended_negotiation(&mut s, "Accepted Extended Negotiation: ", &accepted, &name);
    let identity = rq.user_variables.iter().find_map(|i| match i {
        UserVariableItem::UserIdentityItem(id) => Some(id),
        _ => None,
    });
    match identity {
        None => {
            let _ = writeln!(s, "Requested User Identity Negotiation: none");
        }
        Some(id) => {
            let _ = writeln!(s, "Requested User Identity Negotiation:");
            let type_name = match id.identity_type() {
                UserIdentityType::Username => "Username",
                UserIdentityType::UsernamePassword => "Username and Password",
                UserIdentityType::KerberosServiceTicket => "Kerberos Service Ticket",
                UserIdentityType::SamlAssertion => "SAML Assertion",
                UserIdentityType::Jwt => "JSON Web Token",
                _ => "unknown",
            };
            let _ = writeln!(s, "  User Identity Type:     {type_name}");
            // Only the user name is shown; passwords, tickets and tokens never go to a log.
            if matches!(
                id.identity_type(),
                UserIdentityType::Username | UserIdentityType::UsernamePassword
            ) {
                let _ = writeln!(
                    s,
                    "  Primary Field:          {}",
                    String::from_utf8_lossy(&id.primary_field())
                );
            }
            let _ = writeln!(
                s,
                "  Positive Response requested: {}",
                if id.positive_response_requested() {
                    "Yes"
                } else {
                    "No"
                }
            );
        }
    }
    let _ = writeln!(s, "User Identity Negotiation Response:  none");
    let _ = write!(
        s,
        "======================= END A-ASSOCIATE-{tag} ======================"
    );
    s
}

fn context_result(s: &mut String, c: &ContextOutcome, name: &dyn Fn(&str) -> String) {
    let result = match c.result {
        PcResult::Acceptance => "Accepted",
        PcResult::NoReason => "No Reason",
        PcResult::AbstractSyntaxNotSupported => "Abstract Syntax Not Supported",
        PcResult::TransferSyntaxesNotSupported => "Transfer Syntax(es) Not Supported",
    };
    let _ = writeln!(s, "  Context ID:        {} ({result})", c.id);
    let _ = writeln!(s, "    Abstract Syntax: {}", name(&c.abstract_syntax));
    let _ = writeln!(
        s,
        "    Proposed SCP/SCU Role: {}",
        proposed_role_name(c.proposed_role)
    );
    let accepted_role = match c.configured_role {
        None => "Default",
        Some(Role::Scu) => "SCU",
        Some(Role::Scp) => "SCP",
        Some(Role::Both) => "SCP/SCU",
    };
    let _ = writeln!(s, "    Accepted SCP/SCU Role: {accepted_role}");
    if c.accepted() {
        let _ = writeln!(
            s,
            "    Accepted Transfer Syntax: {}",
            name(&c.transfer_syntax)
        );
    }
}

fn proposed_role(rq: &AssociationRQ, abstract_syntax: &str) -> Option<(bool, bool)> {
    rq.user_variables.iter().find_map(|i| match i {
        UserVariableItem::ScuScpRoleSelectionSubItem(uid, r)
            if clean_uid(uid) == abstract_syntax =>
        {
            Some((r.scu, r.scp))
        }
        _ => None,
    })
}

/// DCMTK shows a 0/0 proposal as SCP/SCU, and treats it so.
fn proposed_role_name(role: Option<(bool, bool)>) -> &'static str {
    match role {
        None => "Default",
        Some((true, false)) => "SCU",
        Some((false, true)) => "SCP",
        Some(_) => "SCP/SCU",
    }
}

fn extended_negotiation(
    s: &mut String,
    title: &str,
    items: &[(&str, &[u8])],
    name: &dyn Fn(&str) -> String,
) {
    if items.is_empty() {
        let _ = writeln!(s, "{title} none");
        return;
    }
    let _ = writeln!(s, "{}", title.trim_end());
    for (uid, data) in items {
        let _ = writeln!(s, "  {} ({uid})", name(uid));
        let bytes: Vec<String> = data.iter().map(|b| format!("0x{b:02x}")).collect();
        let _ = writeln!(s, "    [{}]", bytes.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_ul::pdu::{PresentationContextProposed, RequestorRoles};

    fn names(uid: &str) -> Option<&'static str> {
        match uid {
            "1.2.840.10008.1.1" => Some("VerificationSOPClass"),
            "1.2.840.10008.1.2" => Some("LittleEndianImplicit"),
            "1.2.840.10008.5.1.4.1.1.2" => Some("CTImageStorage"),
            _ => None,
        }
    }

    fn ours() -> Ours<'static> {
        Ours {
            implementation_class_uid: "1.2.3",
            implementation_version_name: "US",
            max_pdu: 16384,
            uid_names: Some(names),
        }
    }

    fn rq() -> AssociationRQ {
        AssociationRQ {
            protocol_version: 1,
            calling_ae_title: "ECHOSCU".into(),
            called_ae_title: "ANY-SCP".into(),
            application_context_name: "1.2.840.10008.3.1.1.1".into(),
            presentation_contexts: vec![PresentationContextProposed {
                id: 1,
                abstract_syntax: "1.2.840.10008.1.1".into(),
                transfer_syntaxes: vec!["1.2.840.10008.1.2".into()],
            }],
            user_variables: vec![
                UserVariableItem::MaxLength(16384),
                UserVariableItem::ImplementationClassUID("1.2.276.0.7230010.3.0.3.6.7".into()),
                UserVariableItem::ImplementationVersionName("OFFIS_DCMTK_367".into()),
            ],
        }
    }

    /// The RQ dump of `echoscu` as dcmrecv 3.6.7 prints it (our identity lines aside).
    #[test]
    fn rq_dump_matches_dcmtk() {
        let expected = "\
====================== BEGIN A-ASSOCIATE-RQ =====================
Our Implementation Class UID:      1.2.3
Our Implementation Version Name:   US
Their Implementation Class UID:    1.2.276.0.7230010.3.0.3.6.7
Their Implementation Version Name: OFFIS_DCMTK_367
Application Context Name:    1.2.840.10008.3.1.1.1
Calling Application Name:    ECHOSCU
Called Application Name:     ANY-SCP
Responding Application Name: 
Our Max PDU Receive Size:    16384
Their Max PDU Receive Size:  16384
Presentation Contexts:
  Context ID:        1 (Proposed)
    Abstract Syntax: =VerificationSOPClass
    Proposed SCP/SCU Role: Default
    Proposed Transfer Syntax(es):
      =LittleEndianImplicit
Requested Extended Negotiation: none
Accepted Extended Negotiation:  none
Requested User Identity Negotiation: none
User Identity Negotiation Response:  none
======================= END A-ASSOCIATE-RQ ======================";
        assert_eq!(render(Kind::Rq, &rq(), None, &ours()), expected);
    }

    #[test]
    fn ac_dump_matches_dcmtk() {
        let mut rq = rq();
        rq.presentation_contexts.push(PresentationContextProposed {
            id: 3,
            abstract_syntax: "1.2.840.10008.5.1.4.1.1.2".into(),
            transfer_syntaxes: vec!["1.2.840.10008.1.2".into()],
        });
        rq.user_variables
            .push(UserVariableItem::ScuScpRoleSelectionSubItem(
                "1.2.840.10008.5.1.4.1.1.2".into(),
                RequestorRoles {
                    scu: true,
                    scp: true,
                },
            ));
        rq.user_variables
            .push(UserVariableItem::SopClassExtendedNegotiationSubItem(
                "1.2.840.10008.5.1.4.1.1.4".into(),
                vec![1, 2],
            ));
        let outcome =
            crate::negotiate::negotiate(&rq, &dcmrecv_asconfig::Profile::verification_only());
        let dump = render(Kind::Ac, &rq, Some(&outcome), &ours());
        let expected_tail = "\
Presentation Contexts:
  Context ID:        1 (Accepted)
    Abstract Syntax: =VerificationSOPClass
    Proposed SCP/SCU Role: Default
    Accepted SCP/SCU Role: Default
    Accepted Transfer Syntax: =LittleEndianImplicit
  Context ID:        3 (Abstract Syntax Not Supported)
    Abstract Syntax: =CTImageStorage
    Proposed SCP/SCU Role: SCP/SCU
    Accepted SCP/SCU Role: Default
Requested Extended Negotiation:
  1.2.840.10008.5.1.4.1.1.4 (1.2.840.10008.5.1.4.1.1.4)
    [0x01, 0x02]
Accepted Extended Negotiation:  none
Requested User Identity Negotiation: none
User Identity Negotiation Response:  none
======================= END A-ASSOCIATE-AC ======================";
        assert!(dump.ends_with(expected_tail), "{dump}");
        assert!(dump.contains("Responding Application Name: ANY-SCP\n"));
    }
}

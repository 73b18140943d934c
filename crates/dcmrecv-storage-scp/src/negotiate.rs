//! Presentation context negotiation with asconfig semantics (DCMTK's
//! `DcmAssociationConfiguration::evaluateAssociationParameters`).
//!
//! This is where "built on dicom-ul" and "behaves like DCMTK" part ways: dicom-ul's
//! `ServerAssociationOptions` takes one global transfer syntax list and picks the *requestor's*
//! preferred syntax; a DCMTK profile lists transfer syntaxes per abstract syntax and the
//! *acceptor's* order wins. So we read the A-ASSOCIATE-RQ with dicom-ul's PDU parser and decide
//! every context here. A profile built in code may ask for the requestor's order instead
//! ([`TransferSyntaxPreference::Requestor`], what `dcmrecv +xa` uses), still per abstract
//! syntax.

#[cfg(doc)]
use dcmrecv_asconfig::TransferSyntaxPreference;
use dcmrecv_asconfig::{Profile, Role};
use dicom_ul::pdu::{AssociationRQ, UserVariableItem};
use tracing::{error, warn};

/// Implicit VR Little Endian, the transfer syntax DCMTK puts in every rejected context.
pub(crate) const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";

/// The result of one presentation context (PS3.8 Table 9-18); 1 (user-rejection) is never
/// used, as in DCMTK.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PcResult {
    Acceptance = 0,
    NoReason = 2,
    AbstractSyntaxNotSupported = 3,
    TransferSyntaxesNotSupported = 4,
}

/// The decision for one proposed presentation context, with what the dumps need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContextOutcome {
    pub(crate) id: u8,
    pub(crate) abstract_syntax: String,
    pub(crate) proposed_transfer_syntaxes: Vec<String>,
    /// The requestor's role selection item for this abstract syntax: (SCU, SCP).
    pub(crate) proposed_role: Option<(bool, bool)>,
    /// The profile's role for this abstract syntax.
    pub(crate) configured_role: Option<Role>,
    pub(crate) result: PcResult,
    /// The accepted transfer syntax, or Implicit VR LE for a rejected context.
    pub(crate) transfer_syntax: String,
}

impl ContextOutcome {
    pub(crate) fn accepted(&self) -> bool {
        self.result == PcResult::Acceptance
    }
}

/// The negotiation result: one outcome per distinct proposed context ID in request order, and
/// the user-information sub-items to return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outcome {
    pub(crate) contexts: Vec<ContextOutcome>,
    /// SCP/SCU role selection sub-items (0x54): (abstract syntax, SCU, SCP).
    pub(crate) roles: Vec<(String, bool, bool)>,
    /// SOP class extended negotiation sub-items (0x56).
    pub(crate) extended_negotiation: Vec<(String, Vec<u8>)>,
}

impl Outcome {
    pub(crate) fn any_accepted(&self) -> bool {
        self.contexts.iter().any(ContextOutcome::accepted)
    }
}

/// UIDs in PDUs may carry NUL or space padding.
pub(crate) fn clean_uid(uid: &str) -> &str {
    uid.trim_matches(|c: char| c == '\0' || c.is_whitespace())
}

/// Decides every proposed presentation context of `rq` against `profile` (DCMTK's `asconfig.txt`):
///
/// 1. abstract syntax not in the profile → 3;
/// 2. the first transfer syntax *in the profile's order* that the requestor proposed anywhere in
///    its list is accepted (with [`TransferSyntaxPreference::Requestor`]: the first *in the
///    requestor's order* that the profile lists); none → 4;
/// 3. with a role configured for the abstract syntax: no role item proposed and role `SCP` → 2
///    (DCMTK's "Default role (i.e. SCU) proposed but only SCP role configured"); otherwise the
///    returned role is the intersection of the proposal and the configuration, where a 0/0
///    proposal counts as "anything" and an empty intersection is returned as 0/0 (DCMTK's
///    "NONE"; both measured against dcmrecv 3.6.7);
/// 4. extended negotiation items of the profile are returned for every abstract syntax with an
///    accepted context.
///
/// Contexts sharing an ID collapse into one, the last proposal winning (measured).
pub(crate) fn negotiate(rq: &AssociationRQ, profile: &Profile) -> Outcome {
    let mut proposed_roles: Vec<(&str, bool, bool)> = Vec::new();
    for item in &rq.user_variables {
        if let UserVariableItem::ScuScpRoleSelectionSubItem(uid, roles) = item {
            let uid = clean_uid(uid);
            if !roles.scu && !roles.scp {
                warn!("DULFSM: both role fields are 0 in SCP/SCU role selection sub-item");
            }
            if !proposed_roles.iter().any(|(u, _, _)| *u == uid) {
                proposed_roles.push((uid, roles.scu, roles.scp));
            }
        }
    }

    let mut proposals: Vec<&dicom_ul::pdu::PresentationContextProposed> = Vec::new();
    for pc in &rq.presentation_contexts {
        match proposals.iter_mut().find(|p| p.id == pc.id) {
            Some(slot) => *slot = pc,
            None => proposals.push(pc),
        }
    }

    let mut contexts = Vec::with_capacity(proposals.len());
    let mut roles: Vec<(String, bool, bool)> = Vec::new();
    for pc in proposals {
        let abstract_syntax = clean_uid(&pc.abstract_syntax).to_string();
        let proposed: Vec<String> = pc
            .transfer_syntaxes
            .iter()
            .map(|t| clean_uid(t).to_string())
            .collect();
        let proposed_role = proposed_roles
            .iter()
            .find(|(u, _, _)| *u == abstract_syntax)
            .map(|&(_, scu, scp)| (scu, scp));
        let configured_role = profile.role_for(&abstract_syntax);
        let mut outcome = ContextOutcome {
            id: pc.id,
            abstract_syntax,
            proposed_transfer_syntaxes: proposed,
            proposed_role,
            configured_role,
            result: PcResult::AbstractSyntaxNotSupported,
            transfer_syntax: IMPLICIT_VR_LE.to_string(),
        };
        if profile
            .transfer_syntaxes_for(&outcome.abstract_syntax)
            .is_some()
        {
            let chosen = profile.choose_transfer_syntax(
                &outcome.abstract_syntax,
                &outcome.proposed_transfer_syntaxes,
            );
            match chosen.map(str::to_string) {
                None => outcome.result = PcResult::TransferSyntaxesNotSupported,
                Some(ts) => match role_decision(proposed_role, configured_role) {
                    RoleDecision::Reject => {
                        error!(
                            "ASSOC: SCP/SCU role selection failed, Default role (i.e. SCU) proposed but only SCP role configured for acceptance"
                        );
                        outcome.result = PcResult::NoReason;
                    }
                    decision => {
                        outcome.result = PcResult::Acceptance;
                        outcome.transfer_syntax = ts;
                        if let RoleDecision::Item(scu, scp) = decision {
                            if !scu && !scp {
                                warn!(
                                    "setting accepted SCP/SCU role to NONE, i.e. both role fields are 0 in SCP/SCU role selection sub-item"
                                );
                            }
                            if !roles.iter().any(|(u, _, _)| *u == outcome.abstract_syntax) {
                                roles.push((outcome.abstract_syntax.clone(), scu, scp));
                            }
                        }
                    }
                },
            }
        }
        contexts.push(outcome);
    }

    let extended_negotiation = profile
        .extended_negotiation()
        .iter()
        .filter(|e| {
            contexts
                .iter()
                .any(|c| c.accepted() && c.abstract_syntax == e.abstract_syntax)
        })
        .map(|e| (e.abstract_syntax.clone(), e.data.clone()))
        .collect();

    Outcome {
        contexts,
        roles,
        extended_negotiation,
    }
}

enum RoleDecision {
    /// Accept without a role item (default role).
    Default,
    /// Accept and return this role item (SCU, SCP).
    Item(bool, bool),
    /// Refuse the context (result 2).
    Reject,
}

fn role_decision(proposed: Option<(bool, bool)>, configured: Option<Role>) -> RoleDecision {
    let Some(configured) = configured else {
        return RoleDecision::Default;
    };
    let (allow_scu, allow_scp) = match configured {
        Role::Scu => (true, false),
        Role::Scp => (false, true),
        Role::Both => (true, true),
    };
    match proposed {
        None if configured == Role::Scp => RoleDecision::Reject,
        None => RoleDecision::Default,
        Some((false, false)) => RoleDecision::Item(allow_scu, allow_scp),
        Some((scu, scp)) => RoleDecision::Item(scu && allow_scu, scp && allow_scp),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dcmrecv_asconfig::{ExtendedNegotiation, PresentationContext, RoleSelection};
    use dicom_ul::pdu::{PresentationContextProposed, RequestorRoles};

    const VERIFICATION: &str = "1.2.840.10008.1.1";
    const CT: &str = "1.2.840.10008.5.1.4.1.1.2";
    const MR: &str = "1.2.840.10008.5.1.4.1.1.4";
    const SC: &str = "1.2.840.10008.5.1.4.1.1.7";
    const EXPLICIT: &str = "1.2.840.10008.1.2.1";
    const J2K: &str = "1.2.840.10008.1.2.4.90";

    fn pc(id: u8, abstract_syntax: &str, ts: &[&str]) -> PresentationContextProposed {
        PresentationContextProposed {
            id,
            abstract_syntax: abstract_syntax.to_string(),
            transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
        }
    }

    fn rq(pcs: Vec<PresentationContextProposed>, user: Vec<UserVariableItem>) -> AssociationRQ {
        AssociationRQ {
            protocol_version: 1,
            calling_ae_title: "SCU".into(),
            called_ae_title: "SCP".into(),
            application_context_name: "1.2.840.10008.3.1.1.1".into(),
            presentation_contexts: pcs,
            user_variables: user,
        }
    }

    fn profile(entries: &[(&str, &[&str])]) -> Profile {
        entries.iter().fold(Profile::new("test"), |p, (a, ts)| {
            p.with_presentation_context(PresentationContext {
                abstract_syntax: a.to_string(),
                transfer_syntaxes: ts.iter().map(|t| t.to_string()).collect(),
            })
        })
    }

    fn results(o: &Outcome) -> Vec<(u8, PcResult, &str)> {
        o.contexts
            .iter()
            .map(|c| (c.id, c.result, c.transfer_syntax.as_str()))
            .collect()
    }

    #[test]
    fn r05_verification_only() {
        // Spec R05: (1) Verification [Expl, Impl], (3) 1.2.3.4, (5) Verification [J2K], (7) CT.
        let o = negotiate(
            &rq(
                vec![
                    pc(1, VERIFICATION, &[EXPLICIT, IMPLICIT_VR_LE]),
                    pc(3, "1.2.3.4", &[IMPLICIT_VR_LE]),
                    pc(5, VERIFICATION, &[J2K]),
                    pc(7, CT, &[IMPLICIT_VR_LE]),
                ],
                vec![],
            ),
            &Profile::verification_only(),
        );
        assert_eq!(
            results(&o),
            [
                (1, PcResult::Acceptance, IMPLICIT_VR_LE),
                (3, PcResult::AbstractSyntaxNotSupported, IMPLICIT_VR_LE),
                (5, PcResult::TransferSyntaxesNotSupported, IMPLICIT_VR_LE),
                (7, PcResult::AbstractSyntaxNotSupported, IMPLICIT_VR_LE),
            ]
        );
        assert!(o.any_accepted());
        assert!(o.roles.is_empty() && o.extended_negotiation.is_empty());
    }

    #[test]
    fn acceptor_order_wins() {
        let p = profile(&[(VERIFICATION, &[EXPLICIT, IMPLICIT_VR_LE])]);
        let o = negotiate(
            &rq(
                vec![pc(1, VERIFICATION, &[IMPLICIT_VR_LE, EXPLICIT])],
                vec![],
            ),
            &p,
        );
        assert_eq!(results(&o), [(1, PcResult::Acceptance, EXPLICIT)]);
    }

    #[test]
    fn requestor_order_wins_when_the_profile_says_so() {
        use dcmrecv_asconfig::TransferSyntaxPreference;
        const RLE: &str = "1.2.840.10008.1.2.5";
        let p = profile(&[(CT, &[EXPLICIT, IMPLICIT_VR_LE, RLE])])
            .with_transfer_syntax_preference(TransferSyntaxPreference::Requestor);
        let o = negotiate(
            &rq(
                vec![
                    pc(1, CT, &[RLE, EXPLICIT, IMPLICIT_VR_LE]),
                    pc(3, CT, &[J2K, IMPLICIT_VR_LE, EXPLICIT]),
                    pc(5, CT, &[J2K]),
                ],
                vec![],
            ),
            &p,
        );
        assert_eq!(
            results(&o),
            [
                (1, PcResult::Acceptance, RLE),
                (3, PcResult::Acceptance, IMPLICIT_VR_LE),
                (5, PcResult::TransferSyntaxesNotSupported, IMPLICIT_VR_LE),
            ]
        );
    }

    #[test]
    fn padding_is_ignored_and_duplicate_ids_keep_the_last() {
        let p = profile(&[(VERIFICATION, &[IMPLICIT_VR_LE])]);
        let o = negotiate(
            &rq(
                vec![
                    pc(1, CT, &[IMPLICIT_VR_LE]),
                    pc(3, "1.2.840.10008.1.1\0", &["1.2.840.10008.1.2\0"]),
                    pc(1, VERIFICATION, &[IMPLICIT_VR_LE]),
                ],
                vec![],
            ),
            &p,
        );
        assert_eq!(
            results(&o),
            [
                (1, PcResult::Acceptance, IMPLICIT_VR_LE),
                (3, PcResult::Acceptance, IMPLICIT_VR_LE)
            ]
        );
    }

    #[test]
    fn nothing_acceptable() {
        let o = negotiate(
            &rq(vec![pc(1, CT, &[IMPLICIT_VR_LE])], vec![]),
            &Profile::verification_only(),
        );
        assert!(!o.any_accepted());
    }

    /// The role matrix measured against dcmrecv 3.6.7 (configured role × proposed item).
    #[test]
    fn role_matrix_matches_dcmtk() {
        let p = profile(&[(CT, &[EXPLICIT]), (MR, &[EXPLICIT]), (SC, &[EXPLICIT])])
            .with_role(RoleSelection {
                abstract_syntax: CT.into(),
                role: Role::Both,
            })
            .with_role(RoleSelection {
                abstract_syntax: MR.into(),
                role: Role::Scp,
            })
            .with_role(RoleSelection {
                abstract_syntax: SC.into(),
                role: Role::Scu,
            });
        type Roles = Option<(bool, bool)>;
        let cases: &[(&str, Roles, Roles, PcResult)] = &[
            (CT, None, None, PcResult::Acceptance),
            (
                CT,
                Some((false, false)),
                Some((true, true)),
                PcResult::Acceptance,
            ),
            (
                CT,
                Some((true, false)),
                Some((true, false)),
                PcResult::Acceptance,
            ),
            (
                CT,
                Some((false, true)),
                Some((false, true)),
                PcResult::Acceptance,
            ),
            (
                CT,
                Some((true, true)),
                Some((true, true)),
                PcResult::Acceptance,
            ),
            (MR, None, None, PcResult::NoReason),
            (
                MR,
                Some((false, false)),
                Some((false, true)),
                PcResult::Acceptance,
            ),
            (
                MR,
                Some((true, false)),
                Some((false, false)),
                PcResult::Acceptance,
            ),
            (
                MR,
                Some((false, true)),
                Some((false, true)),
                PcResult::Acceptance,
            ),
            (
                MR,
                Some((true, true)),
                Some((false, true)),
                PcResult::Acceptance,
            ),
            (SC, None, None, PcResult::Acceptance),
            (
                SC,
                Some((false, false)),
                Some((true, false)),
                PcResult::Acceptance,
            ),
            (
                SC,
                Some((true, false)),
                Some((true, false)),
                PcResult::Acceptance,
            ),
            (
                SC,
                Some((false, true)),
                Some((false, false)),
                PcResult::Acceptance,
            ),
            (
                SC,
                Some((true, true)),
                Some((true, false)),
                PcResult::Acceptance,
            ),
        ];
        for &(sop, proposed, returned, result) in cases {
            let user = proposed
                .map(|(scu, scp)| {
                    vec![UserVariableItem::ScuScpRoleSelectionSubItem(
                        sop.to_string(),
                        RequestorRoles { scu, scp },
                    )]
                })
                .unwrap_or_default();
            let o = negotiate(&rq(vec![pc(1, sop, &[EXPLICIT])], user), &p);
            assert_eq!(o.contexts[0].result, result, "{sop} {proposed:?}");
            let item = o.roles.first().map(|(_, scu, scp)| (*scu, *scp));
            assert_eq!(item, returned, "{sop} {proposed:?}");
        }
        // Verification has no configured role: no item even when one is proposed.
        let p = p.with_presentation_context(PresentationContext {
            abstract_syntax: VERIFICATION.into(),
            transfer_syntaxes: vec![EXPLICIT.into()],
        });
        let o = negotiate(
            &rq(
                vec![pc(1, VERIFICATION, &[EXPLICIT])],
                vec![UserVariableItem::ScuScpRoleSelectionSubItem(
                    VERIFICATION.into(),
                    RequestorRoles {
                        scu: true,
                        scp: true,
                    },
                )],
            ),
            &p,
        );
        assert!(o.roles.is_empty());
        assert!(o.any_accepted());
    }

    #[test]
    fn transfer_syntax_check_precedes_role_check() {
        let p = profile(&[(MR, &[EXPLICIT])]).with_role(RoleSelection {
            abstract_syntax: MR.into(),
            role: Role::Scp,
        });
        let o = negotiate(&rq(vec![pc(1, MR, &[J2K])], vec![]), &p);
        assert_eq!(o.contexts[0].result, PcResult::TransferSyntaxesNotSupported);
    }

    #[test]
    fn extended_negotiation_only_for_accepted_abstract_syntaxes() {
        let p = profile(&[(CT, &[EXPLICIT]), (MR, &[EXPLICIT])])
            .with_extended_negotiation(ExtendedNegotiation {
                abstract_syntax: CT.into(),
                data: vec![1, 2, 0xab],
            })
            .with_extended_negotiation(ExtendedNegotiation {
                abstract_syntax: MR.into(),
                data: vec![9],
            });
        let o = negotiate(
            &rq(vec![pc(1, CT, &[EXPLICIT]), pc(3, MR, &[J2K])], vec![]),
            &p,
        );
        assert_eq!(o.extended_negotiation, [(CT.to_string(), vec![1, 2, 0xab])]);
    }
}

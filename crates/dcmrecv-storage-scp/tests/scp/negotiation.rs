//! Association establishment: DCMTK's `asconfig.txt` rules and what the real `dcmrecv` answers.

use std::time::Duration;

use dcmrecv_asconfig::{ExtendedNegotiation, Profile, Role, RoleSelection};
use dcmrecv_storage_scp::{
    AcceptorOptions, AccessDenied, AeTitleAllowList, DEFAULT_IMPLEMENTATION_CLASS_UID,
    DEFAULT_IMPLEMENTATION_VERSION_NAME,
};
use dicom_ul::pdu::{
    AssociationRJ, AssociationRJResult, AssociationRJServiceProviderASCEReason,
    AssociationRJServiceProviderPresentationReason, AssociationRJServiceUserReason,
    AssociationRJSource, Pdu, PresentationContextResultReason as R, RequestorRoles,
    UserVariableItem,
};

use crate::support::*;

#[track_caller]
fn expect_rj(pdu: Pdu, result: AssociationRJResult, source: AssociationRJSource) {
    match pdu {
        Pdu::AssociationRJ(AssociationRJ {
            result: r,
            source: s,
        }) => {
            assert_eq!((r, s), (result, source));
        }
        other => panic!("expected A-ASSOCIATE-RJ, got {other:?}"),
    }
}

#[test]
fn r01_only_unsupported_sop_classes_is_rejected_1_1_1() {
    let server = Server::start(AcceptorOptions::new());
    let mut c = Client::connect(server.addr);
    let answer = c.associate(&rq("R01", vec![pc(1, CT, &[IMPLICIT])]));
    expect_rj(
        answer,
        AssociationRJResult::Permanent,
        AssociationRJSource::ServiceUser(AssociationRJServiceUserReason::NoReasonGiven),
    );
    assert_logged("R01", "Association Received 127.0.0.1: R01 -> ANY-SCP");
    assert_logged("R01", "No Acceptable Presentation Contexts");
    assert_logged(
        "R01",
        "Refusing Association (no acceptable presentation contexts)",
    );
}

#[test]
fn r02_bad_application_context_is_rejected_2_1_2() {
    let server = Server::start(AcceptorOptions::new());
    let mut c = Client::connect(server.addr);
    let mut request = rq("R02", vec![pc(1, VERIFICATION, &[IMPLICIT])]);
    request.application_context_name = "1.2.3.4".into();
    expect_rj(
        c.associate(&request),
        AssociationRJResult::Transient,
        AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::ApplicationContextNameNotSupported,
        ),
    );
    assert_logged("R02", "Refusing Association (bad application context)");
}

#[test]
fn r03_protocol_version_bit_0_is_checked() {
    let server = Server::start(AcceptorOptions::new());
    let mut c = Client::connect(server.addr);
    let mut request = rq("R03", vec![pc(1, VERIFICATION, &[IMPLICIT])]);
    request.protocol_version = 2;
    expect_rj(
        c.associate(&request),
        AssociationRJResult::Permanent,
        AssociationRJSource::ServiceProviderASCE(
            AssociationRJServiceProviderASCEReason::ProtocolVersionNotSupported,
        ),
    );
    request.protocol_version = 3;
    let (mut c, _) = Client::associate_ok(server.addr, &request);
    c.release();
}

#[test]
fn r04_ac_echoes_the_requests_ae_titles() {
    let server = Server::start(AcceptorOptions::new().ae_title("FOO"));
    let mut request = rq("R04", vec![pc(1, VERIFICATION, &[IMPLICIT])]);
    request.called_ae_title = "WHATEVER".into();
    let (mut c, ac) = Client::associate_ok(server.addr, &request);
    assert_eq!(ac.called_ae_title, "WHATEVER");
    assert_eq!(ac.calling_ae_title, "R04");
    assert_eq!(ac.application_context_name, APP_CONTEXT);
    c.release();
}

#[test]
fn r05_results_0_3_4_3_and_rejected_contexts_carry_implicit_le() {
    let server = Server::start(AcceptorOptions::new());
    let (mut c, ac) = Client::associate_ok(
        server.addr,
        &rq(
            "R05",
            vec![
                pc(1, VERIFICATION, &[EXPLICIT, IMPLICIT]),
                pc(3, "1.2.3.4", &[IMPLICIT]),
                pc(5, VERIFICATION, &[J2K]),
                pc(7, CT, &[EXPLICIT]),
            ],
        ),
    );
    let results: Vec<_> = ac
        .presentation_contexts
        .iter()
        .map(|p| (p.id, p.reason.clone(), p.transfer_syntax.as_str()))
        .collect();
    assert_eq!(
        results,
        [
            (1, R::Acceptance, IMPLICIT),
            (3, R::AbstractSyntaxNotSupported, IMPLICIT),
            (5, R::TransferSyntaxesNotSupported, IMPLICIT),
            (7, R::AbstractSyntaxNotSupported, IMPLICIT),
        ]
    );
    c.release();
}

#[test]
fn the_acceptors_transfer_syntax_order_wins() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let (mut c, ac) = Client::associate_ok(
        server.addr,
        &rq(
            "ORDER",
            vec![pc(1, CT, &[IMPLICIT, EXPLICIT]), pc(3, MR, &[EXPLICIT])],
        ),
    );
    assert_eq!(ac.presentation_contexts[0].transfer_syntax, EXPLICIT);
    assert_eq!(ac.presentation_contexts[0].reason, R::Acceptance);
    assert_eq!(
        ac.presentation_contexts[1].reason,
        R::TransferSyntaxesNotSupported
    );
    c.release();
}

#[test]
fn ac_carries_our_identity_and_max_pdu_and_the_peers_is_logged() {
    let server = Server::start(AcceptorOptions::new().max_pdu(32768));
    let (mut c, ac) = Client::associate_ok(
        server.addr,
        &rq("IDENT", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    assert_eq!(
        ac.user_variables[..3],
        [
            UserVariableItem::MaxLength(32768),
            UserVariableItem::ImplementationClassUID(DEFAULT_IMPLEMENTATION_CLASS_UID.into()),
            UserVariableItem::ImplementationVersionName(DEFAULT_IMPLEMENTATION_VERSION_NAME.into()),
        ]
    );
    c.release();
    assert_logged("IDENT", "Association Acknowledged (Max Send PDV: 16372)");
    assert_logged("IDENT", "implementation_class_uid=\"1.2.3.4.5\"");
    assert_logged("IDENT", "implementation_version_name=\"RAWSCU_1\"");

    let server = Server::start(AcceptorOptions::new().implementation("1.2.3.99", "OTHER_NAME"));
    let (mut c, ac) = Client::associate_ok(
        server.addr,
        &rq("IDENT2", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    assert!(
        ac.user_variables
            .contains(&UserVariableItem::ImplementationClassUID("1.2.3.99".into()))
    );
    assert!(
        ac.user_variables
            .contains(&UserVariableItem::ImplementationVersionName(
                "OTHER_NAME".into()
            ))
    );
    c.release();
}

#[test]
fn r06_max_send_pdv_and_its_warnings() {
    let server = Server::start(AcceptorOptions::new());
    for (calling, max, expected) in [
        ("R06A", Some(0), "Max Send PDV: 131060"),
        ("R06B", Some(1000), "Max Send PDV: 988"),
        ("R06C", Some(16383), "Max Send PDV: 16370"),
        ("R06D", Some(12), "Max Send PDV: 4084"),
        ("R06E", None, "Max Send PDV: 131060"),
    ] {
        let mut request = rq(calling, vec![pc(1, VERIFICATION, &[IMPLICIT])]);
        request
            .user_variables
            .retain(|i| !matches!(i, UserVariableItem::MaxLength(_)));
        if let Some(max) = max {
            request
                .user_variables
                .push(UserVariableItem::MaxLength(max));
        }
        let (mut c, _) = Client::associate_ok(server.addr, &request);
        // The C-ECHO response must still arrive whatever the peer's maximum.
        c.send(&p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(1))]));
        let (_, rsp) = c.read_command().expect("C-ECHO-RSP");
        assert_eq!(us(&parse_command(&rsp), 0x0900), Some(0));
        c.release();
        assert_logged(calling, expected);
    }
    assert_logged("R06C", "ASSOC: PDV send length 16383 is odd (using 16382)");
    assert_logged("R06D", "ASSOC: PDV send length 0 (using default)");
}

#[test]
fn r27_r28_roles_and_extended_negotiation_from_the_profile() {
    let profile = storage_profile()
        .with_role(RoleSelection {
            abstract_syntax: CT.into(),
            role: Role::Both,
        })
        .with_role(RoleSelection {
            abstract_syntax: MR.into(),
            role: Role::Scp,
        })
        .with_extended_negotiation(ExtendedNegotiation {
            abstract_syntax: CT.into(),
            data: vec![0x01, 0x02, 0xab],
        });
    let server = Server::start(AcceptorOptions::new().profile(profile));
    let mut request = rq(
        "R27",
        vec![
            pc(1, CT, &[EXPLICIT]),
            pc(3, MR, &[IMPLICIT]),
            pc(5, VERIFICATION, &[IMPLICIT]),
        ],
    );
    request
        .user_variables
        .push(UserVariableItem::ScuScpRoleSelectionSubItem(
            CT.into(),
            RequestorRoles {
                scu: true,
                scp: true,
            },
        ));
    let (mut c, ac) = Client::associate_ok(server.addr, &request);
    let reasons: Vec<_> = ac
        .presentation_contexts
        .iter()
        .map(|p| p.reason.clone())
        .collect();
    assert_eq!(reasons, [R::Acceptance, R::NoReason, R::Acceptance]);
    assert!(
        ac.user_variables
            .contains(&UserVariableItem::ScuScpRoleSelectionSubItem(
                CT.into(),
                RequestorRoles {
                    scu: true,
                    scp: true
                }
            ))
    );
    assert!(
        ac.user_variables
            .contains(&UserVariableItem::SopClassExtendedNegotiationSubItem(
                CT.into(),
                vec![1, 2, 0xab]
            ))
    );
    c.release();
    assert_logged(
        "R27",
        "ASSOC: SCP/SCU role selection failed, Default role (i.e. SCU) proposed but only SCP role configured for acceptance",
    );
}

#[test]
fn access_control_rejects_with_reasons_3_and_7() {
    let server = Server::start(
        AcceptorOptions::new().access_control(
            AeTitleAllowList::new()
                .allow_calling("GOOD")
                .allow_called("ANY-SCP"),
        ),
    );
    let ok = rq("GOOD", vec![pc(1, VERIFICATION, &[IMPLICIT])]);
    let (mut c, _) = Client::associate_ok(server.addr, &ok);
    c.release();

    let mut c = Client::connect(server.addr);
    expect_rj(
        c.associate(&rq("BAD", vec![pc(1, VERIFICATION, &[IMPLICIT])])),
        AssociationRJResult::Permanent,
        AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::CallingAETitleNotRecognized,
        ),
    );
    let mut wrong_called = ok.clone();
    wrong_called.called_ae_title = "ELSEWHERE".into();
    let mut c = Client::connect(server.addr);
    expect_rj(
        c.associate(&wrong_called),
        AssociationRJResult::Permanent,
        AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::CalledAETitleNotRecognized,
        ),
    );
    assert_logged(
        "BAD",
        "Refusing Association (calling AE title not recognized)",
    );

    // A closure works as well.
    let server = Server::start(AcceptorOptions::new().access_control(
        |r: &dcmrecv_storage_scp::AccessRequest<'_>| {
            if r.calling_ae_title == "NOPE" {
                Err(AccessDenied::NoReasonGiven)
            } else {
                Ok(())
            }
        },
    ));
    let mut c = Client::connect(server.addr);
    expect_rj(
        c.associate(&rq("NOPE", vec![pc(1, VERIFICATION, &[IMPLICIT])])),
        AssociationRJResult::Permanent,
        AssociationRJSource::ServiceUser(AssociationRJServiceUserReason::NoReasonGiven),
    );
}

#[test]
fn blank_ae_titles_are_rejected_cleanly_instead_of_hanging() {
    let server = Server::start(AcceptorOptions::new());
    // dicom-ul refuses to encode blank AE titles, so blank them in the encoded PDU.
    let blanked = |calling: &str, field: std::ops::Range<usize>| {
        let mut bytes = encode(&Pdu::AssociationRQ(rq(
            calling,
            vec![pc(1, VERIFICATION, &[IMPLICIT])],
        )));
        bytes[field].fill(b' ');
        bytes
    };
    let mut c = Client::connect(server.addr);
    c.send(&blanked("BLANKCALLED", 10..26));
    expect_rj(
        c.read_pdu().expect("an answer"),
        AssociationRJResult::Permanent,
        AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::CalledAETitleNotRecognized,
        ),
    );
    assert_logged("BLANKCALLED", "Illegal service parameter: Called AP Title");
    let mut c = Client::connect(server.addr);
    let port = c.local_port();
    c.send(&blanked("X", 26..42));
    expect_rj(
        c.read_pdu().expect("an answer"),
        AssociationRJResult::Permanent,
        AssociationRJSource::ServiceUser(
            AssociationRJServiceUserReason::CallingAETitleNotRecognized,
        ),
    );
    assert_logged(
        &format!("127.0.0.1:{port}"),
        "Illegal service parameter: Calling AP Title",
    );
}

#[test]
fn an_a_associate_rq_longer_than_our_max_pdu_is_accepted() {
    let server = Server::start(AcceptorOptions::new().max_pdu(4096));
    // 120 contexts of ~100 bytes each: about 12 KB, three times our maximum PDU.
    let pcs = (0..120u8)
        .map(|i| {
            pc(
                2 * i + 1,
                &format!("1.2.840.10008.5.1.4.1.1.{}.{}", 1000 + u32::from(i), i),
                &[
                    IMPLICIT,
                    EXPLICIT,
                    J2K,
                    "1.2.840.10008.1.2.4.91",
                    "1.2.840.10008.1.2.5",
                ],
            )
        })
        .chain([pc(255, VERIFICATION, &[IMPLICIT])])
        .collect();
    let request = rq("BIGRQ", pcs);
    assert!(encode(&Pdu::AssociationRQ(request.clone())).len() > 3 * 4096);
    let (mut c, ac) = Client::associate_ok(server.addr, &request);
    assert_eq!(ac.presentation_contexts.len(), 121);
    assert_eq!(ac.presentation_contexts[120].reason, R::Acceptance);
    // The buffer went back to our maximum: a P-DATA PDU above it still aborts.
    let too_long = p_data(&[pdv(255, COMMAND_LAST, &vec![0; 4096])]);
    c.send(&too_long);
    c.expect_abort();
}

#[test]
fn r26_a_p_data_tf_as_first_pdu_is_aborted() {
    let server = Server::start(AcceptorOptions::new());
    let mut c = Client::connect(server.addr);
    c.send(&p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(1))]));
    c.expect_abort();
    // An unknown PDU type gets the connection closed.
    let mut c = Client::connect(server.addr);
    c.send(&[0x09, 0, 0, 0, 0, 2, 0, 0]);
    c.expect_closed();
}

#[test]
fn garbage_instead_of_an_a_associate_rq_does_not_hurt_the_server() {
    let server = Server::start(AcceptorOptions::new());
    for garbage in [
        vec![0x01, 0, 0, 0, 0, 3, 1, 2, 3],
        vec![0x01, 0, 0, 0, 0, 80]
            .into_iter()
            .chain(std::iter::repeat_n(0xFF, 80))
            .collect(),
        vec![0x01, 0, 0xFF, 0xFF, 0xFF, 0xFF],
    ] {
        let mut c = Client::connect(server.addr);
        c.send(&garbage);
        c.expect_abort();
    }
    let (mut c, _) = Client::associate_ok(
        server.addr,
        &rq("AFTERGARBAGE", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    c.release();
}

#[test]
fn a_profile_without_verification_rejects_echoscu_like_requests() {
    // Spec C36: with a profile the built-in Verification context is gone.
    let profile =
        Profile::new("ct only").with_presentation_context(dcmrecv_asconfig::PresentationContext {
            abstract_syntax: CT.into(),
            transfer_syntaxes: vec![IMPLICIT.into()],
        });
    let server = Server::start(AcceptorOptions::new().profile(profile));
    let mut c = Client::connect(server.addr);
    expect_rj(
        c.associate(&rq("C36", vec![pc(1, VERIFICATION, &[IMPLICIT])])),
        AssociationRJResult::Permanent,
        AssociationRJSource::ServiceUser(AssociationRJServiceUserReason::NoReasonGiven),
    );
}

#[test]
fn max_associations_rejects_beyond_the_limit_with_2_3_2() {
    let server = Server::start(AcceptorOptions::new().max_associations(1));
    let (mut first, _) = Client::associate_ok(
        server.addr,
        &rq("LIMIT1", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    let mut second = Client::connect(server.addr);
    expect_rj(
        second.associate(&rq("LIMIT2", vec![pc(1, VERIFICATION, &[IMPLICIT])])),
        AssociationRJResult::Transient,
        AssociationRJSource::ServiceProviderPresentation(
            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded,
        ),
    );
    assert_logged(
        "LIMIT2",
        "Refusing Association (too many concurrent associations",
    );
    first.release();
    drop(first);
    // Once the first is gone, a new one is served.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while server.handle.active_associations() > 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (mut third, _) = Client::associate_ok(
        server.addr,
        &rq("LIMIT3", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    third.release();
}

#[test]
fn dumps_at_info_with_verbose_pc() {
    let server = Server::start(AcceptorOptions::new().verbose_pc(true));
    let (mut c, _) = Client::associate_ok(
        server.addr,
        &rq("DUMPS", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    c.release();
    let lines = log_lines("DUMPS");
    let rq_dump = lines
        .iter()
        .find(|l| l.contains("Incoming Association Request:"))
        .expect("RQ dump");
    assert!(rq_dump.contains(" INFO "), "{rq_dump}");
    assert_logged("DUMPS", "====================== BEGIN A-ASSOCIATE-AC");
}

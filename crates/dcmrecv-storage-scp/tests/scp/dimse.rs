//! The DIMSE loop: C-ECHO, streaming C-STORE, command reassembly, validation, failures
//!.

use std::time::Duration;

use dcmrecv_storage_scp::{AcceptorOptions, StoreStatus};
use dicom_ul::ClientAssociationOptions;
use dicom_ul::pdu::{PDataValue, PDataValueType, Pdu};
use std::io::Write as _;

use crate::support::*;

/// Associates with the storage profile: PC 1 Verification, PC 3 CT, PC 5 MR (all accepted).
fn storage_association(server: &Server, calling: &str) -> Client {
    let (c, ac) = Client::associate_ok(
        server.addr,
        &rq(
            calling,
            vec![
                pc(1, VERIFICATION, &[IMPLICIT]),
                pc(3, CT, &[EXPLICIT]),
                pc(5, MR, &[IMPLICIT]),
            ],
        ),
    );
    assert!(
        ac.presentation_contexts
            .iter()
            .all(|p| p.reason == dicom_ul::pdu::PresentationContextResultReason::Acceptance)
    );
    c
}

/// Reads a C-STORE-RSP and returns its elements.
#[track_caller]
fn store_response(c: &mut Client) -> Vec<(u16, Vec<u8>)> {
    let (_, rsp) = c.read_command().expect("C-STORE-RSP");
    let elements = parse_command(&rsp);
    assert_eq!(us(&elements, 0x0100), Some(0x8001));
    elements
}

#[test]
fn r07_c_echo_on_any_accepted_context_answers_the_requests_message_id() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let mut c = storage_association(&server, "R07");
    for (pcid, msg_id) in [(1u8, 7u16), (3, 8), (5, 65535)] {
        c.send(&p_data(&[pdv(pcid, COMMAND_LAST, &c_echo_rq(msg_id))]));
        let (rsp_pc, rsp) = c.read_command().expect("C-ECHO-RSP");
        assert_eq!(rsp_pc, pcid);
        let e = parse_command(&rsp);
        let tags: Vec<u16> = e.iter().map(|(t, _)| *t).collect();
        assert_eq!(tags, [0x0000, 0x0002, 0x0100, 0x0120, 0x0800, 0x0900]);
        assert_eq!(us(&e, 0x0100), Some(0x8030));
        assert_eq!(us(&e, 0x0120), Some(msg_id));
        assert_eq!(us(&e, 0x0800), Some(0x0101));
        assert_eq!(us(&e, 0x0900), Some(0x0000));
        assert_eq!(text(&e, 0x0002).as_deref(), Some(VERIFICATION));
    }
    c.release();
    // This test's subscriber records DEBUG, where DCMTK's INFO lines lose the message ID and
    // status, and the DIMSE messages are dumped instead.
    assert_logged_line("R07", "Received C-ECHO Request");
    assert_logged_text(
        "Message Type                  : C-ECHO RQ\n\
         Presentation Context ID       : 5\n\
         Message ID                    : 65535\n\
         Data Set                      : none\n\
         ======================= END DIMSE MESSAGE =======================",
    );
    assert_logged_line("R07", "Sending C-ECHO Response");
    assert_logged("R07", "C-ECHO Response successfully sent");
    assert_logged("R07", "Received Association Release Request");
    assert_logged("R07", "association finished");
}

#[test]
fn r30_c_store_streams_to_the_sink_and_the_response_has_dcmtks_layout() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let mut c = storage_association(&server, "R30");
    let data = payload(40_000);
    c.send(&p_data(&[pdv(
        3,
        COMMAND_LAST,
        &c_store_rq(11, CT, "1.2.3.4.5 "),
    )]));
    for (i, chunk) in data.chunks(16_000).enumerate() {
        let last = i == 2;
        c.send(&p_data(&[pdv(
            3,
            if last { DATA_LAST } else { DATA_MORE },
            chunk,
        )]));
    }
    let e = store_response(&mut c);
    let tags: Vec<u16> = e.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        tags,
        [0x0000, 0x0002, 0x0100, 0x0120, 0x0800, 0x0900, 0x1000]
    );
    assert_eq!(us(&e, 0x0120), Some(11));
    assert_eq!(us(&e, 0x0800), Some(0x0101));
    assert_eq!(us(&e, 0x0900), Some(0x0000));
    assert_eq!(text(&e, 0x0002).as_deref(), Some(CT));
    assert_eq!(text(&e, 0x1000).as_deref(), Some("1.2.3.4.5"));
    let events = server.events();
    assert_eq!(
        events,
        [
            SinkEvent::Begin {
                sop_instance_uid: "1.2.3.4.5".into(),
                sop_class_uid: CT.into(),
                transfer_syntax_uid: EXPLICIT.into(),
                presentation_context_id: 3,
                message_id: 11,
                calling_ae_title: "R30".into(),
                tls_subject: None,
            },
            SinkEvent::Finished {
                sop_instance_uid: "1.2.3.4.5".into(),
                data,
                chunks: 3,
            }
        ]
    );
    c.release();
    // At DEBUG (this test's subscriber), DCMTK's lines and DIMSE dumps.
    assert_logged_line("R30", "Received C-STORE Request");
    assert_logged("R30", "Received dataset on presentation context 3");
    assert_logged_text(
        "Message Type                  : C-STORE RQ\n\
         Presentation Context ID       : 3\n\
         Message ID                    : 11\n\
         Affected SOP Class UID        : CTImageStorage\n\
         Affected SOP Instance UID     : 1.2.3.4.5\n\
         Data Set                      : present\n\
         Priority                      : medium\n",
    );
    assert_logged_line("R30", "Sending C-STORE Response");
    assert_logged_text(
        "Message Type                  : C-STORE RSP\n\
         Presentation Context ID       : 3\n\
         Message ID Being Responded To : 11\n\
         Affected SOP Class UID        : CTImageStorage\n\
         Affected SOP Instance UID     : 1.2.3.4.5\n\
         Data Set                      : none\n\
         DIMSE Status                  : 0x0000: Success\n",
    );
    assert_logged("R30", "objects=1 failed=0 bytes=40000");
}

#[test]
fn multi_pdv_command_and_data_in_the_commands_pdu_are_handled() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let mut c = storage_association(&server, "MULTIPDV");
    let cmd = c_store_rq(3, MR, "1.2.840.99.1");
    let (a, rest) = cmd.split_at(10);
    let (b, last) = rest.split_at(25);
    let data = payload(3000);
    // Fragment 1 alone; fragment 2 and 3 together with the first two data fragments; the
    // last data fragment alone.
    c.send(&p_data(&[pdv(5, COMMAND_MORE, a)]));
    c.send(&p_data(&[
        pdv(5, COMMAND_MORE, b),
        pdv(5, COMMAND_LAST, last),
        pdv(5, DATA_MORE, &data[..1000]),
        pdv(5, DATA_MORE, &data[1000..2000]),
    ]));
    c.send(&p_data(&[pdv(5, DATA_LAST, &data[2000..])]));
    let e = store_response(&mut c);
    assert_eq!(us(&e, 0x0900), Some(0));
    // A whole C-ECHO and C-STORE in one PDU work too.
    c.send(&p_data(&[
        pdv(1, COMMAND_LAST, &c_echo_rq(4)),
        pdv(5, COMMAND_LAST, &c_store_rq(5, MR, "1.2.840.99.2")),
        pdv(5, DATA_LAST, b"\x08\x00\x18\x00\x02\x00\x00\x00A\0"),
    ]));
    let (_, echo) = c.read_command().unwrap();
    assert_eq!(us(&parse_command(&echo), 0x0120), Some(4));
    assert_eq!(us(&store_response(&mut c), 0x0900), Some(0));
    c.release();
    let events = server.events();
    assert!(events.contains(&SinkEvent::Finished {
        sop_instance_uid: "1.2.840.99.1".into(),
        data,
        chunks: 3
    }));
    assert_eq!(events.len(), 4);
}

#[test]
fn r08_c_find_is_aborted() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let mut c = storage_association(&server, "R08");
    let find = command(&[
        (0x0002, uid_value(CT)),
        (0x0100, 0x0020u16.to_le_bytes().to_vec()),
        (0x0110, 1u16.to_le_bytes().to_vec()),
        (0x0800, 0u16.to_le_bytes().to_vec()),
    ]);
    c.send(&p_data(&[pdv(3, COMMAND_LAST, &find)]));
    c.expect_abort();
    assert_logged(
        "R08",
        "cannot handle this kind of DIMSE command (0x0020), we are a Storage SCP only",
    );
}

#[test]
fn r09_c_store_without_data_set_is_aborted() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let mut c = storage_association(&server, "R09");
    let store = command(&[
        (0x0002, uid_value(CT)),
        (0x0100, 1u16.to_le_bytes().to_vec()),
        (0x0110, 1u16.to_le_bytes().to_vec()),
        (0x0800, 0x0101u16.to_le_bytes().to_vec()),
        (0x1000, uid_value("1.2.3")),
    ]);
    c.send(&p_data(&[pdv(3, COMMAND_LAST, &store)]));
    c.expect_abort();
    assert_logged(
        "R09",
        "DIMSE Warning: (R09,ANY-SCP): C-Store RQ: DataSetType == NULL",
    );
    assert!(server.events().is_empty());
}

#[test]
fn r10_bad_affected_sop_instance_uid_is_aborted() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    for (calling, uid) in [("R10A", ""), ("R10B", &*"1.2".repeat(22))] {
        let mut c = storage_association(&server, calling);
        c.send(&p_data(&[pdv(3, COMMAND_LAST, &c_store_rq(1, CT, uid))]));
        c.expect_abort();
        assert_logged(calling, "C-Store RQ: AffectedSOPInstanceUID: bad size");
    }
    // Exactly 64 characters is fine.
    let mut c = storage_association(&server, "R10C");
    let uid64 = format!("1.{}", "2".repeat(62));
    assert_eq!(uid64.len(), 64);
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(1, CT, &uid64)),
        pdv(3, DATA_LAST, &payload(10)),
    ]));
    assert_eq!(us(&store_response(&mut c), 0x0900), Some(0));
}

#[test]
fn r11_empty_data_set_gets_c000_and_the_association_continues() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let mut c = storage_association(&server, "R11");
    c.send(&p_data(&[pdv(
        3,
        COMMAND_LAST,
        &c_store_rq(1, CT, "1.2.3"),
    )]));
    c.send(&p_data(&[pdv(3, DATA_LAST, &[])]));
    let e = store_response(&mut c);
    assert_eq!(us(&e, 0x0900), Some(0xC000));
    assert_eq!(text(&e, 0x0902).as_deref(), Some("empty data set"));
    assert_eq!(
        server.wait_events(|e| e.len() >= 2)[1],
        SinkEvent::Aborted {
            sop_instance_uid: "1.2.3".into(),
            received: 0
        }
    );
    c.release();
    assert_logged_line("R11", "Sending C-STORE Response");
    assert_logged_text(
        "Affected SOP Instance UID     : 1.2.3\n\
         Data Set                      : none\n\
         DIMSE Status                  : 0xc000: Error: Cannot understand\n",
    );
}

#[test]
fn r16_data_set_on_another_context_is_aborted_and_the_sink_aborted() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let mut c = storage_association(&server, "R16");
    c.send(&p_data(&[pdv(
        1,
        COMMAND_LAST,
        &c_store_rq(1, CT, "1.2.3"),
    )]));
    c.send(&p_data(&[pdv(1, DATA_MORE, &payload(100))]));
    c.send(&p_data(&[pdv(3, DATA_LAST, &payload(100))]));
    c.expect_abort();
    assert_logged(
        "R16",
        "Presentation Context ID of command (1) and data set (3) differs",
    );
    assert_logged(
        "R16",
        "Unable to receive C-STORE dataset on presentation context 1",
    );
    let events = server.wait_events(|e| e.len() >= 2);
    assert_eq!(
        events[1],
        SinkEvent::Aborted {
            sop_instance_uid: "1.2.3".into(),
            received: 100
        }
    );
}

#[test]
fn r18_a_p_data_pdu_longer_than_our_maximum_is_aborted() {
    let server = Server::start(
        AcceptorOptions::new()
            .profile(storage_profile())
            .max_pdu(4096),
    );
    let mut c = storage_association(&server, "R18");
    c.send(&p_data(&[pdv(
        3,
        COMMAND_LAST,
        &c_store_rq(1, CT, "1.2.3"),
    )]));
    // PDU length = 6 + PDV payload: exactly 4096 is accepted.
    c.send(&p_data(&[pdv(3, DATA_MORE, &payload(4090))]));
    c.send(&p_data(&[pdv(3, DATA_LAST, &payload(4092))]));
    c.expect_abort();
    assert_logged("R18", "DUL Illegal PDU Length 4098.  Max expected 4096");
    let events = server.wait_events(|e| e.len() >= 2);
    assert_eq!(
        events[1],
        SinkEvent::Aborted {
            sop_instance_uid: "1.2.3".into(),
            received: 4090
        }
    );
}

#[test]
fn a_command_on_an_unaccepted_context_is_aborted() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let (mut c, _) = Client::associate_ok(
        server.addr,
        &rq(
            "UNACCEPTED",
            vec![
                pc(1, VERIFICATION, &[IMPLICIT]),
                pc(3, "1.2.3", &[IMPLICIT]),
            ],
        ),
    );
    c.send(&p_data(&[pdv(3, COMMAND_LAST, &c_echo_rq(1))]));
    c.expect_abort();
    assert_logged("UNACCEPTED", "which was not accepted");
}

#[test]
fn c_echo_announcing_a_data_set_is_aborted() {
    let server = Server::start(AcceptorOptions::new());
    let (mut c, _) = Client::associate_ok(
        server.addr,
        &rq("ECHODS", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    let echo = command(&[
        (0x0100, 0x0030u16.to_le_bytes().to_vec()),
        (0x0110, 1u16.to_le_bytes().to_vec()),
        (0x0800, 0u16.to_le_bytes().to_vec()),
    ]);
    c.send(&p_data(&[pdv(1, COMMAND_LAST, &echo)]));
    c.expect_abort();
    assert_logged("ECHODS", "C-Echo RQ: DataSetType != NULL");
}

#[test]
fn protocol_errors_in_the_dimse_stream_are_aborted_without_panics() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let cases: Vec<(&str, Vec<u8>)> = vec![
        // A data PDV where a command is expected.
        ("PE1", p_data(&[pdv(3, DATA_LAST, b"xx")])),
        // A malformed PDV item (length runs past the PDU).
        ("PE2", vec![0x04, 0, 0, 0, 0, 6, 0, 0, 0, 9, 3, 3]),
        // A PDV item with length < 2.
        ("PE3", vec![0x04, 0, 0, 0, 0, 6, 0, 0, 0, 1, 3, 3]),
        // A command set with an element running past its end.
        (
            "PE4",
            p_data(&[pdv(3, COMMAND_LAST, &[0, 0, 0x00, 0x01, 0xFF, 0, 0, 0, 1])]),
        ),
        // A command without Command Field.
        (
            "PE5",
            p_data(&[pdv(3, COMMAND_LAST, &command(&[(0x0110, vec![1, 0])]))]),
        ),
        // An A-ASSOCIATE-RQ on an established association.
        (
            "PE6",
            encode(&Pdu::AssociationRQ(rq("X", vec![pc(1, CT, &[IMPLICIT])]))),
        ),
        // An unknown PDU type.
        ("PE7", vec![0x0A, 0, 0, 0, 0, 0]),
    ];
    for (calling, bytes) in cases {
        let mut c = storage_association(&server, calling);
        c.send(&bytes);
        c.expect_abort();
    }
    // A command PDV inside a data set.
    let mut c = storage_association(&server, "PE8");
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(1, CT, "1.2.3.8")),
        pdv(3, DATA_MORE, b"abcd"),
        pdv(3, COMMAND_LAST, &c_echo_rq(2)),
    ]));
    c.expect_abort();
    assert!(
        server
            .wait_events(|e| e.len() >= 2)
            .contains(&SinkEvent::Aborted {
                sop_instance_uid: "1.2.3.8".into(),
                received: 4
            })
    );
    // The server still serves.
    let mut c = storage_association(&server, "PE9");
    c.release();
}

#[test]
fn a_refused_object_is_discarded_answered_with_the_sinks_status_and_the_association_goes_on() {
    let server = Server::start_with(
        AcceptorOptions::new().profile(storage_profile()),
        Behaviour {
            refuse: Some(StoreStatus::out_of_resources("no space left on device")),
            ..Behaviour::default()
        },
    );
    let mut c = storage_association(&server, "REFUSED");
    for msg_id in 1..=2u16 {
        c.send(&p_data(&[pdv(
            3,
            COMMAND_LAST,
            &c_store_rq(msg_id, CT, "1.2.3"),
        )]));
        c.send(&p_data(&[pdv(3, DATA_MORE, &payload(5000))]));
        c.send(&p_data(&[pdv(3, DATA_LAST, &payload(5000))]));
        let e = store_response(&mut c);
        assert_eq!(us(&e, 0x0900), Some(0xA700));
        assert_eq!(us(&e, 0x0120), Some(msg_id));
        assert_eq!(text(&e, 0x0902).as_deref(), Some("no space left on device"));
        let tags: Vec<u16> = e.iter().map(|(t, _)| *t).collect();
        assert_eq!(
            tags,
            [
                0x0000, 0x0002, 0x0100, 0x0120, 0x0800, 0x0900, 0x0902, 0x1000
            ]
        );
    }
    c.release();
    assert_logged_line("REFUSED", "Sending C-STORE Response");
    assert_logged_text(
        "Message ID Being Responded To : 2\n\
         Affected SOP Class UID        : CTImageStorage\n\
         Affected SOP Instance UID     : 1.2.3\n\
         Data Set                      : none\n\
         DIMSE Status                  : 0xa700: Refused: Out of resources\n",
    );
    assert_logged("REFUSED", "objects=0 failed=2");
}

#[test]
fn a_failing_write_aborts_the_sink_and_the_association_goes_on() {
    let server = Server::start_with(
        AcceptorOptions::new().profile(storage_profile()),
        Behaviour {
            fail_write_after: Some((6000, StoreStatus::new(0xA701, "write failed"))),
            ..Behaviour::default()
        },
    );
    let mut c = storage_association(&server, "WRITEFAIL");
    c.send(&p_data(&[pdv(
        3,
        COMMAND_LAST,
        &c_store_rq(1, CT, "1.2.3.1"),
    )]));
    for i in 0..5 {
        c.send(&p_data(&[pdv(
            3,
            if i == 4 { DATA_LAST } else { DATA_MORE },
            &payload(4000),
        )]));
    }
    let e = store_response(&mut c);
    assert_eq!(us(&e, 0x0900), Some(0xA701));
    // Data of the failed object is not passed on after the failure.
    assert_eq!(
        server.events()[1],
        SinkEvent::Aborted {
            sop_instance_uid: "1.2.3.1".into(),
            received: 8000
        }
    );
    // A small one afterwards succeeds.
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(2, CT, "1.2.3.2")),
        pdv(3, DATA_LAST, &payload(100)),
    ]));
    assert_eq!(us(&store_response(&mut c), 0x0900), Some(0));
    c.release();
}

#[test]
fn a_warning_status_from_finish_is_sent_without_an_error_comment() {
    let server = Server::start_with(
        AcceptorOptions::new().profile(storage_profile()),
        Behaviour {
            finish_status: Some(StoreStatus::new(0xB000, "coerced")),
            ..Behaviour::default()
        },
    );
    let mut c = storage_association(&server, "WARNING");
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(1, CT, "1.2.3")),
        pdv(3, DATA_LAST, &payload(10)),
    ]));
    let e = store_response(&mut c);
    assert_eq!(us(&e, 0x0900), Some(0xB000));
    assert_eq!(text(&e, 0x0902), None);
    c.release();
    assert_logged_line("WARNING", "Sending C-STORE Response");
    assert_logged_text(
        "DIMSE Status                  : 0xb000: Warning: Coercion of Data Elements\n",
    );
}

#[test]
fn a_peer_abort_or_reset_mid_data_set_aborts_the_sink() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let mut c = storage_association(&server, "PEERABORT");
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(1, CT, "1.2.3.1")),
        pdv(3, DATA_MORE, &payload(300)),
    ]));
    c.send(&encode(&Pdu::AbortRQ {
        source: dicom_ul::pdu::AbortRQSource::ServiceUser,
    }));
    c.expect_closed();
    let mut c = storage_association(&server, "PEERRESET");
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(1, CT, "1.2.3.2")),
        pdv(3, DATA_MORE, &payload(200)),
    ]));
    c.stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(100));
    drop(c);
    let events = server.wait_events(|e| e.len() >= 4);
    assert!(events.contains(&SinkEvent::Aborted {
        sop_instance_uid: "1.2.3.1".into(),
        received: 300
    }));
    assert!(events.contains(&SinkEvent::Aborted {
        sop_instance_uid: "1.2.3.2".into(),
        received: 200
    }));
    assert_logged("PEERABORT", "Received Association Abort Request");
    assert_logged("PEERRESET", "Received Association Abort Request");
    assert_logged("PEERABORT", "end=\"peer aborted\"");
}

#[test]
fn dicom_ul_client_stores_through_its_pdata_writer() {
    let server = Server::start(
        AcceptorOptions::new()
            .profile(storage_profile())
            .max_pdu(8192),
    );
    let mut assoc = ClientAssociationOptions::new()
        .calling_ae_title("ULCLIENT")
        .with_presentation_context(CT, vec![EXPLICIT])
        .max_pdu_length(16384)
        .establish(server.addr)
        .expect("dicom-ul establishes");
    let pc_id = assoc.presentation_contexts()[0].id;
    assoc
        .send(&Pdu::PData {
            data: vec![PDataValue {
                presentation_context_id: pc_id,
                value_type: PDataValueType::Command,
                is_last: true,
                data: c_store_rq(1, CT, "1.2.826.0.1.3680043.2.1"),
            }],
        })
        .unwrap();
    let data = payload(100_000);
    {
        let mut writer = assoc.send_pdata(pc_id);
        writer.write_all(&data).unwrap();
        writer.finish().unwrap();
    }
    match assoc.receive().unwrap() {
        Pdu::PData { data: rsp } => {
            let e = parse_command(&rsp[0].data);
            assert_eq!(us(&e, 0x0900), Some(0));
        }
        other => panic!("expected the C-STORE-RSP, got {other:?}"),
    }
    assoc.release().unwrap();
    let events = server.wait_events(|e| e.len() >= 2);
    match &events[1] {
        SinkEvent::Finished {
            data: got, chunks, ..
        } => {
            assert_eq!(got, &data);
            // dicom-ul splits by our maximum PDU (8192): many PDVs, each streamed on its own.
            assert!(*chunks >= 12, "{chunks} chunks");
        }
        other => panic!("{other:?}"),
    }
}

//! The client against a minimal in-test SCP on 127.0.0.1: what it sends is what a test asked
//! for, and what it reads back is decoded as the SCP sent it.

#![allow(
    clippy::unwrap_used,
    reason = "test code: a failed unwrap is a failed test"
)]

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::Duration;

use dcmrecv_testpeer::{
    A_ABORT, COMMAND_LAST, Client, EXPLICIT, VERIFICATION, command, encode, p_data, parse_command,
    pc, pdv, rq, uid_value, us,
};
use dicom_ul::pdu::{
    AssociationAC, Pdu, PresentationContextResult, PresentationContextResultReason, read_pdu,
};

/// Reads one PDU from the SCP's side of the connection.
fn read(stream: &mut TcpStream) -> Pdu {
    let mut header = [0u8; 6];
    stream.read_exact(&mut header).unwrap();
    let len = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
    let mut bytes = header.to_vec();
    bytes.resize(6 + len, 0);
    stream.read_exact(&mut bytes[6..]).unwrap();
    read_pdu(bytes.as_slice(), 1 << 20, false).unwrap().unwrap()
}

/// An SCP that accepts one association, answers one C-ECHO and then `ending`.
fn scp(ending: &'static str) -> (SocketAddr, JoinHandle<Vec<Pdu>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut seen = vec![read(&mut stream)];
        let Some(Pdu::AssociationRQ(request)) = seen.first() else {
            panic!("{seen:?}");
        };
        let ac = AssociationAC {
            protocol_version: 1,
            calling_ae_title: request.calling_ae_title.clone(),
            called_ae_title: request.called_ae_title.clone(),
            application_context_name: request.application_context_name.clone(),
            presentation_contexts: vec![PresentationContextResult {
                id: 1,
                reason: PresentationContextResultReason::Acceptance,
                transfer_syntax: EXPLICIT.to_string(),
            }],
            user_variables: vec![],
        };
        stream.write_all(&encode(&Pdu::AssociationAC(ac))).unwrap();
        seen.push(read(&mut stream));
        let response = command(&[
            (0x0002, uid_value(VERIFICATION)),
            (0x0100, 0x8030u16.to_le_bytes().to_vec()),
            (0x0120, 5u16.to_le_bytes().to_vec()),
            (0x0800, 0x0101u16.to_le_bytes().to_vec()),
            (0x0900, 0u16.to_le_bytes().to_vec()),
        ]);
        stream
            .write_all(&p_data(&[pdv(1, COMMAND_LAST, &response)]))
            .unwrap();
        match ending {
            "release" => {
                seen.push(read(&mut stream));
                stream.write_all(&encode(&Pdu::ReleaseRP)).unwrap();
            }
            _ => stream.write_all(&A_ABORT).unwrap(),
        }
        seen
    });
    (addr, handle)
}

#[test]
fn an_echo_round_trip_sends_and_reads_what_the_test_asked_for() {
    let (addr, scp) = scp("release");
    let request = rq("RAWSCU", vec![pc(1, VERIFICATION, &[EXPLICIT])]);
    let (mut client, ac) = Client::associate_ok(addr, &request);
    assert_eq!(ac.called_ae_title, "ANY-SCP");
    assert_eq!(client.echo(1, 5), Some(0x0000));
    client.release();
    let seen = scp.join().unwrap();
    assert!(matches!(&seen[0], Pdu::AssociationRQ(rq) if rq.calling_ae_title == "RAWSCU"));
    let Pdu::PData { data } = &seen[1] else {
        panic!("{:?}", seen[1]);
    };
    let echo = parse_command(&data[0].data);
    assert_eq!(us(&echo, 0x0100), Some(0x0030), "C-ECHO-RQ");
    assert_eq!(us(&echo, 0x0110), Some(5), "message ID");
    assert_eq!(seen[2], Pdu::ReleaseRQ);
}

#[test]
fn an_abort_ends_the_wait() {
    let (addr, scp) = scp("abort");
    let request = rq("RAWSCU", vec![pc(1, VERIFICATION, &[EXPLICIT])]);
    let (mut client, _) = Client::associate_ok(addr, &request);
    assert_eq!(client.echo(1, 5), Some(0x0000));
    let (bytes, ended) = client.wait_for_end(Duration::from_secs(10));
    assert_eq!(bytes, A_ABORT);
    assert!(ended.is_some());
    scp.join().unwrap();
}

//! Limits: peers that connect and say nothing, or half a PDU, are cut by the ACSE and DIMSE
//! timeouts without holding anyone else up; a flood of associations beyond the configured
//! maximum is rejected (transient) with memory bounded; lengths claimed up front do not turn
//! into memory.

use std::time::Duration;

use dcmrecv_e2e::raw::{Client, encode, p_data, pdv};
use dicom_ul::pdu::{
    AssociationRJResult, AssociationRJServiceProviderPresentationReason, AssociationRJSource, Pdu,
};

use crate::support::{
    BadPeer, PC_CT, PEAK_RSS_BOUND, Provoked, associate, observe, provoke, receivers, start,
    storage_rq, try_associate,
};

/// Peers that stall, and whether the real dcmrecv cuts each at its timeout.
const STALLS: &[(BadPeer, bool)] = &[
    (
        BadPeer {
            name: "a peer that connects and sends nothing (-ta 2)",
            established: false,
            act: |_| {},
        },
        true,
    ),
    (
        BadPeer {
            name: "a peer that sends half an A-ASSOCIATE-RQ (-ta 2)",
            established: false,
            act: |c| {
                let rq = encode(&Pdu::AssociationRQ(storage_rq("HALFRQ")));
                c.send(&rq[..rq.len() / 2]);
            },
        },
        // It waits for the rest of the PDU without a timer, and serves no one meanwhile.
        false,
    ),
    (
        BadPeer {
            name: "a peer that sends half a P-DATA-TF PDU (-td 2)",
            established: true,
            act: |c| {
                let full = p_data(&[pdv(PC_CT, 0x00, &[0u8; 1000])]);
                c.send(&full[..500]);
            },
        },
        // Its DIMSE timeout applies between PDUs, not inside one.
        false,
    ),
];

#[test]
fn silent_and_half_pdu_peers_are_cut_by_the_timeouts_without_blocking_others() {
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let running = start(
            &receiver,
            &["-ta", "2", "-td", "2"],
            &dir.path().join("out"),
        );
        for (stall, dcmtk_cuts) in STALLS {
            let Provoked {
                answer: got,
                ended,
                echo,
            } = provoke(&running, stall, Duration::from_secs(3));
            observe(
                stall.name,
                &receiver,
                format!(
                    "cut after {ended:.1?} with {} bytes ({}); C-ECHO meanwhile: {echo:.1?}",
                    got.len(),
                    if got.first() == Some(&0x07) {
                        "A-ABORT"
                    } else {
                        "no PDU"
                    },
                ),
            );
            if receiver.is_ours() {
                // Cut at the timeout (counted from our last byte, sent before the C-ECHO), with
                // an A-ABORT once established; the other peer is served at once.
                let ended = ended.unwrap_or_else(|| panic!("{}: never cut", stall.name));
                assert!(ended < Duration::from_secs(3), "{}: {ended:?}", stall.name);
                assert_eq!(
                    got.first() == Some(&0x07),
                    stall.established,
                    "{}: {got:?}",
                    stall.name
                );
                let echo = echo.unwrap_or_else(|| panic!("{}: echo not served", stall.name));
                assert!(echo < Duration::from_secs(1), "{}: {echo:?}", stall.name);
            } else {
                assert_eq!(ended.is_some(), *dcmtk_cuts, "{}", stall.name);
            }
        }
    }
}

#[test]
fn an_association_flood_beyond_the_maximum_is_rejected_transiently_with_bounded_memory() {
    let receiver = dcmrecv_e2e::receiver::Receiver::ours();
    let dir = tempfile::tempdir().expect("tempdir");
    let running = start(
        &receiver,
        &["--max-associations", "4"],
        &dir.path().join("out"),
    );
    let held: Vec<Client> = (0..4)
        .map(|i| associate(running.port, &format!("HELD{i}")))
        .collect();
    // One after the other: each gets A-ASSOCIATE-RJ (rejected-transient, service-provider
    // presentation, local-limit-exceeded).
    for i in 0..20 {
        let mut client = Client::local(running.port);
        match client.request(&storage_rq(&format!("FLOOD{i}"))) {
            Some(Pdu::AssociationRJ(rj)) => {
                assert_eq!(rj.result, AssociationRJResult::Transient);
                assert_eq!(
                    rj.source,
                    AssociationRJSource::ServiceProviderPresentation(
                        AssociationRJServiceProviderPresentationReason::LocalLimitExceeded
                    )
                );
            }
            other => panic!("flood {i}: expected A-ASSOCIATE-RJ, got {other:?}"),
        }
    }
    // All at once: rejected, or closed when even the rejecting threads are busy; never accepted.
    let flood: Vec<_> = (0..200)
        .map(|i| {
            let port = running.port;
            std::thread::spawn(move || {
                let mut client = Client::local(port);
                match client.request(&storage_rq(&format!("STORM{i}"))) {
                    Some(Pdu::AssociationRJ(_)) => "rejected",
                    Some(Pdu::AssociationAC(_)) => "accepted",
                    Some(_) => "other",
                    None => "closed",
                }
            })
        })
        .collect();
    let outcomes: Vec<&str> = flood
        .into_iter()
        .map(|t| t.join().expect("flood thread"))
        .collect();
    let rejected = outcomes.iter().filter(|o| **o == "rejected").count();
    let closed = outcomes.iter().filter(|o| **o == "closed").count();
    let peak = running.guard.peak_rss();
    // A slot frees as soon as a held association is released.
    drop(held);
    let mut again = None;
    for _ in 0..50 {
        again = try_associate(running.port, "AFTER");
        if again.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    observe(
        "association flood beyond --max-associations 4",
        &receiver,
        format!(
            "20 sequential: A-ASSOCIATE-RJ (2, 3, 2) each; 200 at once: {rejected} rejected, {closed} closed, {} other; peak RSS {} MB; accepted again after release: {}",
            outcomes.len() - rejected - closed,
            peak / (1024 * 1024),
            again.is_some()
        ),
    );
    assert_eq!(rejected + closed, 200, "{outcomes:?}");
    assert!(rejected > 0);
    assert!(peak > 0 && peak < PEAK_RSS_BOUND, "peak RSS {peak}");
    assert!(again.is_some(), "{}", running.guard.stderr());
}

#[test]
fn the_real_dcmrecv_serves_one_association_at_a_time() {
    // DCMTK has no association limit: while one association is open, the next requests wait
    // unanswered in the listen backlog.
    let receiver = dcmrecv_e2e::receiver::Receiver::dcmtk();
    let dir = tempfile::tempdir().expect("tempdir");
    let running = start(&receiver, &[], &dir.path().join("out"));
    let mut first = associate(running.port, "FIRST");
    let mut waiting: Vec<Client> = (0..5).map(|_| Client::local(running.port)).collect();
    let rq = encode(&Pdu::AssociationRQ(storage_rq("WAITING")));
    for client in &mut waiting {
        client.send(&rq);
        client
            .stream
            .tcp()
            .set_read_timeout(Some(Duration::from_secs(1)))
            .expect("timeout");
    }
    let unanswered = waiting
        .iter_mut()
        .map(|c| c.read_pdu())
        .filter(Option::is_none)
        .count();
    first.release();
    drop(first);
    observe(
        "association flood beyond --max-associations",
        &receiver,
        format!(
            "no such option; with one association open, {unanswered} of 5 further requests unanswered after 1 s"
        ),
    );
    assert_eq!(unanswered, 5);
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/7 (the acceptor grew its buffer to the
// claimed length of an A-ASSOCIATE-RQ before reading it: 48 such connections took 201 MB).
#[test]
fn claimed_association_request_lengths_do_not_turn_into_memory() {
    // Each connection claims an A-ASSOCIATE-RQ just under our 4 MiB limit, sends a few bytes and
    // stalls. Memory must follow the bytes received, not the lengths claimed.
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let running = start(&receiver, &["-ta", "10"], &dir.path().join("out"));
        let before = running.guard.peak_rss();
        let claim: u32 = 4 * 1024 * 1024 - 1;
        let mut header = vec![0x01, 0];
        header.extend_from_slice(&claim.to_be_bytes());
        header.extend_from_slice(&[0u8; 100]);
        let clients: Vec<Client> = (0..48)
            .map(|_| {
                let mut c = Client::local(running.port);
                c.send(&header);
                c
            })
            .collect();
        std::thread::sleep(Duration::from_millis(500));
        let echo = running.echo(Duration::from_secs(5));
        let peak = running.guard.peak_rss();
        drop(clients);
        observe(
            "48 connections each claiming a 4 MiB A-ASSOCIATE-RQ, then stalling",
            &receiver,
            format!(
                "peak RSS {} MB (before: {} MB); C-ECHO meanwhile: {echo:.1?}",
                peak / (1024 * 1024),
                before / (1024 * 1024)
            ),
        );
        if receiver.is_ours() {
            assert!(echo.is_some());
            assert!(
                peak < PEAK_RSS_BOUND,
                "peak RSS {} MB",
                peak / (1024 * 1024)
            );
        }
    }
}

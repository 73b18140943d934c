//! Hardening of the acceptor (issue 11, items 3, 4, 5 and 10), each scenario run against the real
//! dcmrecv too:
//!
//! - silent TCP connections and stalled TLS handshakes must not lock legitimate peers out (they
//!   wait in a pool of their own, with a short deadline and a per-address cap, and only count
//!   against `--max-associations` once their A-ASSOCIATE-RQ has arrived);
//! - `-td` is a deadline for a whole PDU (a peer that drips one byte at a time is cut), and when
//!   every slot is taken, the association idle longest (longer than the ACSE timeout) is aborted
//!   to admit a new one;
//! - an A-ASSOCIATE-RQ is bounded (length, presentation contexts, transfer syntaxes, user
//!   information sub-items), so that requests of one-character sub-items cannot turn into
//!   gigabytes;
//! - no signal an operator or a service manager sends loses a transfer: SIGHUP reloads the
//!   profile and the AE title allow-lists, SIGQUIT drains like SIGTERM, SIGUSR1/SIGUSR2/SIGPIPE
//!   are ignored.

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

use dcmrecv_e2e::objects::dataset_of_file;
use dcmrecv_e2e::peers::dcmtk_command;
use dcmrecv_e2e::pki::TestPki;
use dcmrecv_e2e::process::ChildGuard;
use dcmrecv_e2e::raw::{
    A_ABORT, COMMAND_LAST, CT, Client, EXPLICIT, IMPLICIT, VERIFICATION, c_echo_rq, c_store_rq,
    encode, p_data, pc, pdv, rq,
};
use dcmrecv_e2e::receiver::{Receiver, Running, is_listening};
use dicom_ul::pdu::{
    AssociationRJResult, AssociationRJServiceProviderPresentationReason, AssociationRJSource, Pdu,
    PresentationContextResultReason,
};
use socket2::{Domain, Socket, Type};

use crate::support::{
    PC_CT, PC_ECHO, PEAK_RSS_BOUND, associate, ct, observe, receivers, start, storage_rq,
    try_associate,
};

/// MR Image Storage.
const MR: &str = "1.2.840.10008.5.1.4.1.1.4";

// ---------------------------------------------------------------------------------------------
// Silent connections (item 3)

/// The `i`-th source address for connections of bad peers: 127.0.1.2, 127.0.1.3, ... (all
/// loopback); legitimate peers connect from 127.0.0.1.
fn source(i: usize) -> Ipv4Addr {
    let i = u8::try_from(i % 250).expect("below 250");
    Ipv4Addr::new(127, 0, 1, 2 + i)
}

/// Opens `count` TCP connections to 127.0.0.1:`port` that send nothing, from `sources`
/// different source addresses in turn. The connects run in parallel without blocking (the real
/// dcmrecv's listen backlog fills up); those not connected within 2 s are dropped.
fn open_silent(port: u16, count: usize, sources: usize) -> Vec<TcpStream> {
    let target: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut connecting: Vec<Socket> = (0..count)
        .map(|i| {
            let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
            socket
                .bind(&SocketAddr::from((source(i % sources.max(1)), 0)).into())
                .expect("bind a loopback source address");
            socket.set_nonblocking(true).expect("non-blocking");
            match socket.connect(&target.into()) {
                Ok(()) => {}
                Err(e) if e.raw_os_error() == Some(115) => {} // EINPROGRESS
                Err(e) => panic!("connect: {e}"),
            }
            socket
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut connected = Vec::new();
    while !connecting.is_empty() && Instant::now() < deadline {
        let mut waiting = Vec::new();
        for socket in connecting {
            if socket.peer_addr().is_ok() {
                connected.push(TcpStream::from(socket));
            } else if matches!(socket.take_error(), Ok(Some(_))) {
                // Refused or reset: not connected.
            } else {
                waiting.push(socket);
            }
        }
        connecting = waiting;
        std::thread::sleep(Duration::from_millis(20));
    }
    connected
}

/// Whether the receiver has neither closed `socket` nor sent anything on it.
fn still_open(socket: &TcpStream) -> bool {
    let _ = socket.set_nonblocking(true);
    let mut byte = [0u8; 1];
    matches!(socket.peek(&mut byte), Err(e) if e.kind() == ErrorKind::WouldBlock)
}

/// Runs `echoscu <extra> 127.0.0.1 <port>` (giving up after `budget`); how long a successful
/// C-ECHO took.
fn echo_with(port: u16, extra: &[String], budget: Duration) -> Option<Duration> {
    let secs = budget.as_secs().max(1).to_string();
    let mut cmd = dcmtk_command("echoscu");
    cmd.args(extra)
        .args(["-to", &secs, "-ta", &secs, "-td", &secs, "127.0.0.1"])
        .arg(port.to_string());
    let start = Instant::now();
    let mut echo = ChildGuard::spawn(cmd);
    let status = echo.wait_timeout(budget + Duration::from_secs(2))?;
    status.success().then(|| start.elapsed())
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/11 (item 3: a slot was taken at accept,
// so 64 + 64 silent sockets locked every legitimate peer out).
#[test]
fn five_hundred_silent_connections_do_not_lock_legitimate_peers_out() {
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        // Default limits: the defaults must already defend.
        let running = start(&receiver, &[], &dir.path().join("out"));
        let silent = open_silent(running.port, 500, 16);
        std::thread::sleep(Duration::from_millis(300));
        let echo = running.echo(Duration::from_secs(3));
        let stored = if echo.is_some() {
            let mut client = associate(running.port, "LEGIT");
            let (_, data) = ct("1.2.826.0.1.3680043.10.1145.113.1", 64);
            let status = client.store(PC_CT, 1, CT, "1.2.826.0.1.3680043.10.1145.113.1", &data);
            client.release();
            status
        } else {
            None
        };
        let open = silent.iter().filter(|s| still_open(s)).count();
        let peak = running.guard.peak_rss();
        observe(
            "500 silent connections from 16 addresses, then a C-ECHO and a C-STORE from another",
            &receiver,
            format!(
                "{} connected; C-ECHO {echo:.1?}; C-STORE {stored:?}; {open} silent still open; peak RSS {} MB",
                silent.len(),
                peak / (1024 * 1024)
            ),
        );
        if receiver.is_ours() {
            assert_eq!(silent.len(), 500);
            let echo =
                echo.unwrap_or_else(|| panic!("C-ECHO not served:\n{}", running.guard.stderr()));
            assert!(echo < Duration::from_secs(2), "{echo:?}");
            assert_eq!(stored, Some(0x0000));
            // Nobody was evicted: the pool holds 512 by default, 32 per address.
            assert_eq!(open, 500);
            assert!(peak < PEAK_RSS_BOUND, "peak RSS {peak}");
        } else {
            // One at a time, each silent connection for the whole ACSE timeout.
            assert!(echo.is_none());
        }
    }
}

#[test]
fn the_pending_pool_and_the_per_address_cap_evict_the_oldest_silent_connection() {
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ours = receiver.is_ours();
        let options: &[&str] = if ours {
            &["--max-pending", "40", "--max-pending-per-ip", "8"]
        } else {
            &[]
        };
        let running = start(&receiver, options, &dir.path().join("out"));
        // 20 from one address: the 12 oldest make way for the 8 newest.
        let one_address = open_silent(running.port, 20, 1);
        std::thread::sleep(Duration::from_millis(300));
        let open_one: Vec<bool> = one_address.iter().map(still_open).collect();
        // 48 more from 8 other addresses: the pool (40) is full, the oldest go.
        let others: Vec<TcpStream> = (0..48)
            .flat_map(|i| {
                let socket = Socket::new(Domain::IPV4, Type::STREAM, None).expect("socket");
                socket
                    .bind(&SocketAddr::from((source(1 + i % 8), 0)).into())
                    .expect("bind");
                socket
                    .connect_timeout(
                        &SocketAddr::from(([127, 0, 0, 1], running.port)).into(),
                        Duration::from_millis(500),
                    )
                    .ok()
                    .map(|()| TcpStream::from(socket))
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300));
        let open_others = others.iter().filter(|s| still_open(s)).count();
        let open_first = one_address.iter().filter(|s| still_open(s)).count();
        // A legitimate peer from yet another address (127.0.0.1) is still served.
        let echo = running.echo(Duration::from_secs(3));
        observe(
            "20 silent connections from one address, then 48 from 8 others (--max-pending 40 --max-pending-per-ip 8)",
            &receiver,
            format!(
                "first 20: {} open after 0.3 s ({open_one:?}); then {open_others} of the 48 and {open_first} of the 20 open; C-ECHO {echo:.1?}",
                open_one.iter().filter(|o| **o).count()
            ),
        );
        if ours {
            // The 12 oldest of the first address were closed, the 8 newest kept.
            assert_eq!(open_one, [vec![false; 12], vec![true; 8]].concat());
            // 8 + 48 = 56 > 40: the 16 oldest went (the first address's 8, then 8 others).
            assert_eq!(open_first, 0);
            assert_eq!(open_others, 40);
            let echo =
                echo.unwrap_or_else(|| panic!("C-ECHO not served:\n{}", running.guard.stderr()));
            assert!(echo < Duration::from_secs(2), "{echo:?}");
            assert!(
                running
                    .guard
                    .stderr()
                    .contains("closing the oldest connection"),
                "{}",
                running.guard.stderr()
            );
        } else {
            assert!(echo.is_none());
        }
    }
}

#[test]
fn stalled_tls_handshakes_do_not_lock_legitimate_peers_out() {
    let pki = TestPki::generate();
    let mut client_args = pki.tls_args("client");
    client_args.extend(["+cf".to_string(), pki.path("ca.crt")]);
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut args = pki.tls_args("server");
        args.extend(["+cf".to_string(), pki.path("ca.crt")]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let running = start(&receiver, &args, &dir.path().join("out"));
        // Half send nothing; half send the start of a ClientHello record (claiming 512 bytes)
        // and stall.
        let mut stalled = open_silent(running.port, 500, 16);
        for socket in stalled.iter_mut().step_by(2) {
            let _ = socket.set_nonblocking(false);
            let _ = socket.write_all(&[0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc]);
        }
        std::thread::sleep(Duration::from_millis(300));
        let echo = echo_with(running.port, &client_args, Duration::from_secs(5));
        let open = stalled.iter().filter(|s| still_open(s)).count();
        observe(
            "500 stalled TLS handshakes (250 silent, 250 with a partial ClientHello), then a TLS C-ECHO",
            &receiver,
            format!(
                "{} connected; C-ECHO {echo:.1?}; {open} stalled still open",
                stalled.len()
            ),
        );
        if receiver.is_ours() {
            assert_eq!(stalled.len(), 500);
            let echo = echo
                .unwrap_or_else(|| panic!("TLS C-ECHO not served:\n{}", running.guard.stderr()));
            assert!(echo < Duration::from_secs(3), "{echo:?}");
            assert_eq!(open, 500);
        } else {
            assert!(echo.is_none());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Slow drips and idle associations (item 4)

/// Sends the first `head` bytes of `bytes` at once, then the rest one at a time, one every
/// `every`, until the receiver ends the connection (a PDU arrives or it closes) or `limit`
/// passes; returns when it ended, counted from the first byte, and what arrived.
fn drip(
    client: &mut Client,
    bytes: &[u8],
    head: usize,
    every: Duration,
    limit: Duration,
) -> (Option<Duration>, Vec<u8>) {
    let start = Instant::now();
    let mut got = Vec::new();
    let mut buf = [0u8; 256];
    if !client.try_send(&bytes[..head]) {
        return (Some(start.elapsed()), got);
    }
    for byte in &bytes[head..] {
        if start.elapsed() > limit {
            return (None, got);
        }
        if !client.try_send(&[*byte]) {
            return (Some(start.elapsed()), got);
        }
        let until = Instant::now() + every;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            if left.is_zero() {
                break;
            }
            client
                .stream
                .tcp()
                .set_read_timeout(Some(left))
                .expect("timeout");
            match client.stream.read(&mut buf) {
                Ok(0) => return (Some(start.elapsed()), got),
                Ok(n) => {
                    got.extend_from_slice(&buf[..n]);
                    return (Some(start.elapsed()), got);
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => return (Some(start.elapsed()), got),
            }
        }
    }
    (None, got)
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/11 (item 4: -td applied per read(), so
// one byte every 2 s inside a PDU was never cut).
#[test]
fn a_peer_that_drips_a_pdu_byte_by_byte_is_cut_by_the_timeouts() {
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let running = start(
            &receiver,
            &["-ta", "2", "-td", "2"],
            &dir.path().join("out"),
        );
        let every = Duration::from_millis(400);
        let limit = Duration::from_secs(6);
        // Half an A-ASSOCIATE-RQ, then the rest dripped (the ACSE timeout covers the whole
        // request).
        let request = encode(&Pdu::AssociationRQ(storage_rq("DRIPRQ")));
        let mut client = Client::local(running.port);
        let (rq_cut, _) = drip(&mut client, &request, request.len() / 2, every, limit);
        drop(client);
        // A P-DATA-TF carrying a C-ECHO on an established association: its header at once,
        // then the body dripped (DCMTK's timers do not run inside a PDU).
        let echo_pdu = p_data(&[pdv(PC_ECHO, COMMAND_LAST, &c_echo_rq(1))]);
        let mut client = associate(running.port, "DRIPDATA");
        let (pdata_cut, answer) = drip(&mut client, &echo_pdu, 6, every, limit);
        let aborted = answer.starts_with(&A_ABORT[..1]);
        drop(client);
        let echo = running.echo(Duration::from_secs(3));
        observe(
            "a peer that sends the start of a PDU, then drips the rest one byte every 0.4 s (-ta 2 -td 2)",
            &receiver,
            format!(
                "A-ASSOCIATE-RQ cut after {rq_cut:.1?}; P-DATA-TF cut after {pdata_cut:.1?} ({}); C-ECHO afterwards {echo:.1?}",
                if aborted { "A-ABORT" } else { "no PDU" }
            ),
        );
        if receiver.is_ours() {
            let rq_cut = rq_cut.expect("the dripped request is cut");
            assert!(rq_cut < Duration::from_secs(3), "{rq_cut:?}");
            let pdata_cut = pdata_cut.unwrap_or_else(|| {
                panic!(
                    "the dripped P-DATA-TF was never cut:\n{}",
                    running.guard.stderr()
                )
            });
            assert!(pdata_cut < Duration::from_secs(3), "{pdata_cut:?}");
            assert!(aborted, "{answer:?}");
            assert!(echo.is_some());
        } else {
            // Its timers run between PDUs, not inside one.
            assert!(rq_cut.is_none());
            assert!(pdata_cut.is_none());
        }
    }
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/11 (item 4: idle associations held every
// slot).
#[test]
fn when_every_slot_is_taken_the_association_idle_longest_makes_way() {
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ours = receiver.is_ours();
        let options: &[&str] = if ours {
            &["-ta", "2", "--max-associations", "2"]
        } else {
            &["-ta", "2"]
        };
        let running = start(&receiver, options, &dir.path().join("out"));
        let mut first = associate(running.port, "IDLE1");
        let mut second = if ours {
            Some(associate(running.port, "IDLE2"))
        } else {
            None
        };
        // Idle for less than the ACSE timeout: a new request is refused (ours) or waits.
        let mut early = Client::local(running.port);
        early
            .stream
            .tcp()
            .set_read_timeout(Some(Duration::from_secs(1)))
            .expect("timeout");
        let early_answer = early.request(&storage_rq("EARLY"));
        drop(early);
        std::thread::sleep(Duration::from_millis(2500));
        // Idle for longer: the first (idle longest) is aborted to admit the new one.
        let mut late = Client::local(running.port);
        late.stream
            .tcp()
            .set_read_timeout(Some(Duration::from_secs(3)))
            .expect("timeout");
        let late_answer = late.request(&storage_rq("LATE"));
        let (first_end, first_ended) = first.wait_for_end(Duration::from_secs(2));
        let second_echo = second.as_mut().map(|c| c.echo(PC_ECHO, 5));
        let late_echo = match late_answer {
            Some(Pdu::AssociationAC(_)) => late.echo(PC_ECHO, 6),
            _ => None,
        };
        let name = |answer: &Option<Pdu>| match answer {
            Some(Pdu::AssociationAC(_)) => "A-ASSOCIATE-AC".to_string(),
            Some(Pdu::AssociationRJ(rj)) => {
                format!("A-ASSOCIATE-RJ {:?} {:?}", rj.result, rj.source)
            }
            Some(other) => format!("{other:?}"),
            None => "no answer".to_string(),
        };
        observe(
            "every slot held by idle associations (-ta 2; ours --max-associations 2)",
            &receiver,
            format!(
                "request while idle < 2 s: {}; after 2.5 s idle: {}; oldest idle association ended after {first_ended:.1?} ({}); the other answers C-ECHO: {second_echo:?}; the new one: {late_echo:?}",
                name(&early_answer),
                name(&late_answer),
                if first_end.starts_with(&A_ABORT) {
                    "A-ABORT"
                } else {
                    "no A-ABORT"
                },
            ),
        );
        if ours {
            match &early_answer {
                Some(Pdu::AssociationRJ(rj)) => {
                    assert_eq!(rj.result, AssociationRJResult::Transient);
                    assert_eq!(
                        rj.source,
                        AssociationRJSource::ServiceProviderPresentation(
                            AssociationRJServiceProviderPresentationReason::LocalLimitExceeded
                        )
                    );
                }
                other => panic!("expected A-ASSOCIATE-RJ, got {other:?}"),
            }
            assert!(
                matches!(late_answer, Some(Pdu::AssociationAC(_))),
                "{late_answer:?}\n{}",
                running.guard.stderr()
            );
            assert!(
                first_end.starts_with(&A_ABORT),
                "{first_end:?}\n{}",
                running.guard.stderr()
            );
            assert_eq!(second_echo, Some(Some(0x0000)));
            assert_eq!(late_echo, Some(0x0000));
            assert!(
                running
                    .guard
                    .stderr()
                    .contains("to admit a new association"),
                "{}",
                running.guard.stderr()
            );
        } else {
            // One association at a time, and an idle one is never cut without -td.
            assert!(early_answer.is_none());
            assert!(late_answer.is_none());
            assert!(first_ended.is_none());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Bounded association requests (item 5)

/// An item or sub-item: type, reserved byte, 16-bit length, body.
fn item(item_type: u8, body: &[u8]) -> Vec<u8> {
    let length = u16::try_from(body.len()).expect("an item below 64 KiB");
    let mut v = vec![item_type, 0];
    v.extend_from_slice(&length.to_be_bytes());
    v.extend_from_slice(body);
    v
}

/// A presentation context item with its transfer syntax sub-items.
fn pc_item(id: u8, abstract_syntax: &str, transfer_syntaxes: &[&str]) -> Vec<u8> {
    let mut body = vec![id, 0, 0, 0];
    body.extend(item(0x30, abstract_syntax.as_bytes()));
    for ts in transfer_syntaxes {
        body.extend(item(0x40, ts.as_bytes()));
    }
    item(0x20, &body)
}

/// An A-ASSOCIATE-RQ PDU from `calling` with these presentation context items and `extra`
/// user information sub-items (after Maximum Length and Implementation Class UID).
fn associate_rq(calling: &str, pcs: &[Vec<u8>], extra_user: &[Vec<u8>]) -> Vec<u8> {
    let mut body = vec![0, 1, 0, 0];
    body.extend(format!("{:<16}", "ANY-SCP").as_bytes());
    body.extend(format!("{calling:<16}").as_bytes());
    body.extend([0u8; 32]);
    body.extend(item(0x10, b"1.2.840.10008.3.1.1.1"));
    for pc in pcs {
        body.extend(pc);
    }
    let mut user = item(0x51, &16384u32.to_be_bytes());
    user.extend(item(0x52, b"1.2.3.4"));
    for sub in extra_user {
        user.extend(sub);
    }
    body.extend(item(0x50, &user));
    let length = u32::try_from(body.len()).expect("a PDU below 4 GiB");
    let mut pdu = vec![0x01, 0];
    pdu.extend(length.to_be_bytes());
    pdu.extend(body);
    pdu
}

/// The request of the issue: about 4 MiB of one-character transfer syntax sub-items (64
/// presentation contexts of 13,000 each), plus one acceptable Verification context.
fn four_mib_of_one_character_sub_items(calling: &str) -> Vec<u8> {
    let ones = vec!["1"; 13_000];
    let mut pcs = vec![pc_item(1, VERIFICATION, &[IMPLICIT])];
    pcs.extend((0..64u8).map(|i| pc_item(3 + 2 * i, CT, &ones)));
    associate_rq(calling, &pcs, &[])
}

/// The largest request we accept, made of one-character sub-items: 128 presentation contexts
/// of 50 transfer syntaxes each (one of them real) and 512 user information sub-items.
fn largest_request_of_one_character_sub_items(calling: &str) -> Vec<u8> {
    let mut verification = vec![IMPLICIT];
    verification.extend(vec!["1"; 49]);
    let mut ct_syntaxes = vec![EXPLICIT];
    ct_syntaxes.extend(vec!["1"; 49]);
    let mut pcs = vec![pc_item(1, VERIFICATION, &verification)];
    pcs.extend((1..128u8).map(|i| pc_item(1 + 2 * i, CT, &ct_syntaxes)));
    let extra: Vec<Vec<u8>> = (0..510).map(|_| item(0x60, b"x")).collect();
    associate_rq(calling, &pcs, &extra)
}

/// Connects to 127.0.0.1:`port` within 1 s (the real dcmrecv accepts one connection at a
/// time; once its listen backlog is full, connects hang) and sends `request` within 2 s (a
/// connection the backlog dropped takes nothing); the client, and whether all was sent.
fn send_request(port: u16, request: &[u8]) -> Option<(Client, bool)> {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream
        .set_write_timeout(Some(Duration::from_secs(2)))
        .expect("write timeout");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("read timeout");
    stream.set_nodelay(true).expect("TCP_NODELAY");
    let mut client = Client::from_stream(Box::new(stream));
    let sent = client.try_send(request);
    Some((client, sent))
}

/// Sends `request` on `n` new connections; the clients that connected, and the answer of each
/// (see [`answers`]; `None` for those that could not connect), waiting at most `budget`.
fn flood(port: u16, request: &[u8], n: usize, budget: Duration) -> (Vec<Client>, Vec<Option<u8>>) {
    let mut clients: Vec<Client> = (0..n)
        .filter_map(|_| send_request(port, request).map(|(c, _)| c))
        .collect();
    let mut got = answers(&mut clients, budget);
    got.resize(n, None);
    (clients, got)
}

/// The type of each client's first answer (2 A-ASSOCIATE-AC, 3 A-ASSOCIATE-RJ, 7 A-ABORT; `None`:
/// closed, or nothing), waiting at most `budget` for all of them together.
fn answers(clients: &mut [Client], budget: Duration) -> Vec<Option<u8>> {
    let deadline = Instant::now() + budget;
    clients
        .iter_mut()
        .map(|c| {
            let left = deadline
                .saturating_duration_since(Instant::now())
                .max(Duration::from_millis(10));
            c.stream
                .tcp()
                .set_read_timeout(Some(left))
                .expect("timeout");
            match c.read_pdu()? {
                Pdu::AssociationAC(_) => Some(0x02),
                Pdu::AssociationRJ(_) => Some(0x03),
                Pdu::AbortRQ { .. } => Some(0x07),
                _ => Some(0xFF),
            }
        })
        .collect()
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/11 (item 5: 64 requests of 4 MiB of
// one-character sub-items took the receiver to 3.0 GB).
#[test]
fn association_requests_of_one_character_sub_items_do_not_turn_into_gigabytes() {
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ours = receiver.is_ours();
        let running = start(&receiver, &["-ta", "5"], &dir.path().join("out"));
        let before = running.guard.peak_rss();
        // 64 requests of 4 MiB each: refused at once, as DCMTK refuses any over 1 MiB.
        let huge = four_mib_of_one_character_sub_items("HUGE");
        let (refused, refused_answers) = flood(running.port, &huge, 64, Duration::from_secs(3));
        drop(refused);
        let after_huge = running.guard.peak_rss();
        // 64 of the largest requests we accept, all held open at once.
        let largest = largest_request_of_one_character_sub_items("LARGEST");
        let budget = Duration::from_secs(if ours { 20 } else { 3 });
        let (mut held, held_answers) = flood(running.port, &largest, 64, budget);
        let accepted = held_answers.iter().filter(|a| **a == Some(0x02)).count();
        let peak = running.guard.peak_rss();
        let echoes = if ours {
            let echo = p_data(&[pdv(PC_ECHO, COMMAND_LAST, &c_echo_rq(9))]);
            held.iter_mut()
                .map(|c| c.try_send(&echo) && c.read_status() == Some(0x0000))
                .filter(|ok| *ok)
                .count()
        } else {
            0
        };
        drop(held);
        let mb = |bytes: u64| bytes / (1024 * 1024);
        observe(
            "64 A-ASSOCIATE-RQs of 4 MiB of one-character sub-items, then 64 of the largest we accept (42 KB) held open",
            &receiver,
            format!(
                "4 MiB: answers {:?}; largest: {accepted} accepted, {echoes} C-ECHOs; peak RSS {} MB before, {} MB after the 4 MiB ones, {} MB at the end",
                summarise(&refused_answers),
                mb(before),
                mb(after_huge),
                mb(peak)
            ),
        );
        if ours {
            // A-ABORT (or a closed connection once the peer's bytes were refused).
            assert!(
                refused_answers
                    .iter()
                    .all(|a| matches!(a, Some(0x07) | None)),
                "{refused_answers:?}"
            );
            assert_eq!(accepted, 64, "{held_answers:?}\n{}", running.guard.stderr());
            assert_eq!(echoes, 64, "{}", running.guard.stderr());
            assert!(peak < PEAK_RSS_BOUND, "peak RSS {} MB", mb(peak));
        } else {
            // Refused ("A-ASSOCIATE PDU too large", then the connection is reset). Of the 64
            // largest sent at once, the first dozen or so are accepted and each then ends at
            // once ("Received Association Abort Request"); the rest wait unanswered.
            assert!(
                refused_answers.iter().all(Option::is_none),
                "{refused_answers:?}"
            );
            assert!((1..64).contains(&accepted), "{held_answers:?}");
        }
    }
}

/// Counts of each answer, for the report.
fn summarise(answers: &[Option<u8>]) -> Vec<(Option<u8>, usize)> {
    let mut counts: Vec<(Option<u8>, usize)> = Vec::new();
    for a in answers {
        match counts.iter_mut().find(|(k, _)| k == a) {
            Some((_, n)) => *n += 1,
            None => counts.push((*a, 1)),
        }
    }
    counts
}

/// The strings of `v` as `&str`s.
fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// What we must do with a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Accept,
    Refuse,
}

#[test]
fn association_requests_beyond_the_bounds_are_refused() {
    let ts50: Vec<String> = (0..49)
        .map(|i| format!("1.2.3.{i}"))
        .chain([EXPLICIT.to_string()])
        .collect();
    let ts51: Vec<String> = std::iter::once("1.2.3.99".to_string())
        .chain(ts50.clone())
        .collect();
    let long_uid = format!("1.2.{}", "3".repeat(61));
    let cases: Vec<(&str, Vec<u8>, Expect)> = vec![
        (
            "a presentation context with 50 transfer syntaxes",
            associate_rq(
                "TS50",
                &[
                    pc_item(1, VERIFICATION, &[IMPLICIT]),
                    pc_item(3, CT, &refs(&ts50)),
                ],
                &[],
            ),
            Expect::Accept,
        ),
        (
            "a presentation context with 51 transfer syntaxes",
            associate_rq(
                "TS51",
                &[
                    pc_item(1, VERIFICATION, &[IMPLICIT]),
                    pc_item(3, CT, &refs(&ts51)),
                ],
                &[],
            ),
            Expect::Refuse,
        ),
        (
            "a transfer syntax sub-item of 65 bytes",
            associate_rq(
                "UID65",
                &[
                    pc_item(1, VERIFICATION, &[IMPLICIT]),
                    pc_item(3, CT, &[EXPLICIT, &long_uid]),
                ],
                &[],
            ),
            Expect::Refuse,
        ),
        (
            "128 presentation contexts",
            associate_rq(
                "PC128",
                &(0..128u8)
                    .map(|i| pc_item(1 + 2 * i, CT, &[EXPLICIT]))
                    .collect::<Vec<_>>(),
                &[],
            ),
            Expect::Accept,
        ),
        (
            "129 presentation contexts (IDs 0 to 128)",
            associate_rq(
                "PC129",
                &(0..129u8)
                    .map(|i| pc_item(i, CT, &[EXPLICIT]))
                    .collect::<Vec<_>>(),
                &[],
            ),
            Expect::Refuse,
        ),
        (
            "512 user information sub-items",
            associate_rq(
                "USER512",
                &[pc_item(1, VERIFICATION, &[IMPLICIT])],
                &(0..510).map(|_| item(0x60, b"x")).collect::<Vec<_>>(),
            ),
            Expect::Accept,
        ),
        (
            "513 user information sub-items",
            associate_rq(
                "USER513",
                &[pc_item(1, VERIFICATION, &[IMPLICIT])],
                &(0..511).map(|_| item(0x60, b"x")).collect::<Vec<_>>(),
            ),
            Expect::Refuse,
        ),
        (
            "an A-ASSOCIATE-RQ of exactly 1 MiB (17,000 presentation context items)",
            mib_request(1024 * 1024),
            Expect::Refuse,
        ),
        (
            "an A-ASSOCIATE-RQ of 1 MiB + 2 bytes",
            mib_request(1024 * 1024 + 2),
            Expect::Refuse,
        ),
    ];
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let running = start(&receiver, &["-ta", "2"], &dir.path().join("out"));
        for (name, request, expect) in &cases {
            let (mut client, sent) =
                send_request(running.port, request).expect("connect to the receiver");
            client
                .stream
                .tcp()
                .set_read_timeout(Some(Duration::from_secs(3)))
                .expect("timeout");
            let answer = if sent { client.read_pdu() } else { None };
            let shown = match &answer {
                Some(Pdu::AssociationAC(ac)) => format!(
                    "A-ASSOCIATE-AC ({} of {} contexts accepted)",
                    ac.presentation_contexts
                        .iter()
                        .filter(|c| c.reason == PresentationContextResultReason::Acceptance)
                        .count(),
                    ac.presentation_contexts.len()
                ),
                Some(Pdu::AssociationRJ(rj)) => {
                    format!("A-ASSOCIATE-RJ {:?} {:?}", rj.result, rj.source)
                }
                Some(other) => format!("{other:?}"),
                None if sent => "no answer within 3 s, or closed".to_string(),
                None => "closed while sending".to_string(),
            };
            observe(name, &receiver, &shown);
            if let Some(Pdu::AssociationAC(_)) = answer {
                client.release();
            }
            drop(client);
            if receiver.is_ours() {
                match expect {
                    Expect::Accept => assert!(
                        matches!(answer, Some(Pdu::AssociationAC(_))),
                        "{name}: {shown}"
                    ),
                    Expect::Refuse => assert!(
                        matches!(answer, Some(Pdu::AssociationRJ(_) | Pdu::AbortRQ { .. })),
                        "{name}: {shown}\n{}",
                        running.guard.stderr()
                    ),
                }
            }
        }
        if receiver.is_ours() {
            assert!(running.echo(Duration::from_secs(3)).is_some());
        }
    }
}

/// An A-ASSOCIATE-RQ whose body is exactly `body_length` bytes: a Verification context, then
/// CT contexts of one transfer syntax (repeating the IDs 3..255, which collapse), and a last
/// context padded to the length with a long transfer syntax.
fn mib_request(body_length: usize) -> Vec<u8> {
    let one = pc_item(3, CT, &[EXPLICIT]);
    let mut pcs = vec![pc_item(1, VERIFICATION, &[IMPLICIT])];
    let base = associate_rq("MIB", &pcs, &[]).len() - 6;
    let mut length = base;
    let mut id = 3u8;
    while length + one.len() + 200 < body_length {
        pcs.push(pc_item(id, CT, &[EXPLICIT]));
        length += one.len();
        id = if id >= 253 { 3 } else { id + 2 };
    }
    // The last context: header (4) + id block (4) + abstract syntax (4 + 25) + 4 + padding.
    let padding = body_length - length - 4 - 4 - (4 + CT.len()) - 4 - EXPLICIT.len() - 4;
    let long_ts = format!("1.{}", "2".repeat(padding.saturating_sub(2)));
    pcs.push(pc_item(255, CT, &[EXPLICIT, &long_ts]));
    let request = associate_rq("MIB", &pcs, &[]);
    assert_eq!(request.len() - 6, body_length);
    request
}

// ---------------------------------------------------------------------------------------------
// Signals (item 10)

/// Starts a C-STORE of a 256 KiB CT object on a new association and sends half its data set;
/// returns the client, the UID and the data set.
fn half_sent(port: u16, n: usize) -> (Client, String, Vec<u8>) {
    let uid = format!("1.2.826.0.1.3680043.10.1145.110.{n}");
    let (_, data) = ct(&uid, 256);
    let mut client = associate(port, "SIGNALS");
    client.send(&p_data(&[pdv(
        PC_CT,
        COMMAND_LAST,
        &c_store_rq(1, CT, &uid),
    )]));
    for chunk in data[..(data.len() / 2) & !1].chunks(16_000) {
        client.send(&p_data(&[pdv(PC_CT, 0x00, chunk)]));
    }
    (client, uid, data)
}

/// Sends the rest of the data set `half_sent` started; the response status (`None`: none).
fn finish(client: &mut Client, data: &[u8]) -> Option<u16> {
    let rest = &data[(data.len() / 2) & !1..];
    let chunks: Vec<&[u8]> = rest.chunks(16_000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let flags = if i + 1 == chunks.len() { 0x02 } else { 0x00 };
        if !client.try_send(&p_data(&[pdv(PC_CT, flags, chunk)])) {
            return None;
        }
    }
    client
        .stream
        .tcp()
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    client.read_status()
}

/// Whether `od/CT.<uid>` holds exactly `data`.
fn stored_intact(od: &Path, uid: &str, data: &[u8]) -> bool {
    let path = od.join(format!("CT.{uid}"));
    path.is_file() && dataset_of_file(&path) == data
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/11 (item 10: SIGHUP, SIGUSR1 and SIGQUIT
// killed the receiver mid-transfer).
#[test]
fn no_signal_loses_a_transfer_in_flight() {
    for receiver in receivers() {
        let ours = receiver.is_ours();
        for (n, signal) in ["HUP", "USR1", "USR2", "PIPE", "QUIT"]
            .into_iter()
            .enumerate()
        {
            let dir = tempfile::tempdir().expect("tempdir");
            let od = dir.path().join("out");
            let mut running = start(&receiver, &[], &od);
            let (mut client, uid, data) = half_sent(running.port, n);
            std::thread::sleep(Duration::from_millis(300));
            running.guard.signal(signal);
            std::thread::sleep(Duration::from_millis(300));
            let listening = is_listening(running.port);
            let status = finish(&mut client, &data);
            let intact = stored_intact(&od, &uid, &data);
            if status.is_some() {
                let _ = client.try_send(&encode(&Pdu::ReleaseRQ));
                let _ = client.read_pdu();
            }
            drop(client);
            let exited = running
                .guard
                .wait_timeout(Duration::from_secs(if signal == "QUIT" { 5 } else { 1 }));
            let exit = exited.map(|s| match (s.code(), s.signal()) {
                (Some(code), _) => format!("exit {code}"),
                (None, Some(sig)) => format!("killed by signal {sig}"),
                _ => format!("{s:?}"),
            });
            let echo = if exited.is_none() {
                running.echo(Duration::from_secs(3))
            } else {
                None
            };
            observe(
                &format!("SIG{signal} mid-transfer"),
                &receiver,
                format!(
                    "still listening after 0.3 s: {listening}; C-STORE response {status:?}; stored intact: {intact}; process: {}; C-ECHO afterwards {echo:.1?}",
                    exit.as_deref().unwrap_or("running")
                ),
            );
            if ours {
                assert_eq!(
                    status,
                    Some(0x0000),
                    "SIG{signal}:\n{}",
                    running.guard.stderr()
                );
                assert!(intact, "SIG{signal}");
                let log = running.guard.stderr();
                if signal == "QUIT" {
                    // Drains like SIGTERM: no new associations, the transfer finishes, exit 0.
                    assert!(!listening, "SIGQUIT: still listening");
                    assert_eq!(exit.as_deref(), Some("exit 0"), "{log}");
                    assert!(log.contains("W: received SIGQUIT"), "{log}");
                } else {
                    assert!(listening, "SIG{signal}: stopped listening");
                    assert!(exit.is_none(), "SIG{signal}: {exit:?}\n{log}");
                    assert!(echo.is_some(), "SIG{signal}: not serving");
                }
                if matches!(signal, "USR1" | "USR2") {
                    assert!(log.contains(&format!("received SIG{signal}")), "{log}");
                }
            } else {
                // DCMTK has no handlers: each of these ends it mid-transfer; SIGPIPE is ignored.
                if signal == "PIPE" {
                    assert_eq!(status, Some(0x0000));
                } else {
                    assert_eq!(status, None, "SIG{signal}");
                    assert!(exit.is_some(), "SIG{signal}: still running");
                }
            }
        }
    }
}

/// An asconfig file with one profile, `Reload`, accepting Verification and the given storage
/// classes (DCMTK symbolic names) with the uncompressed transfer syntaxes.
fn profile_file(path: &Path, classes: &[&str]) {
    let mut text = String::from(
        "[[TransferSyntaxes]]\n[Uncompressed]\nTransferSyntax1 = LittleEndianExplicit\nTransferSyntax2 = LittleEndianImplicit\n\n[[PresentationContexts]]\n[Contexts]\nPresentationContext1 = VerificationSOPClass\\Uncompressed\n",
    );
    for (i, class) in classes.iter().enumerate() {
        text.push_str(&format!(
            "PresentationContext{} = {class}\\Uncompressed\n",
            i + 2
        ));
    }
    text.push_str("\n[[Profiles]]\n[Reload]\nPresentationContexts = Contexts\n");
    std::fs::write(path, text).expect("write the profile");
}

/// Requests an association from `calling` proposing Verification, CT and MR; the answer as
/// (accepted?, CT accepted, MR accepted) or the rejection.
fn ask(port: u16, calling: &str) -> Result<(bool, bool), String> {
    let mut client = Client::local(port);
    let request = rq(
        calling,
        vec![
            pc(1, VERIFICATION, &[IMPLICIT]),
            pc(3, CT, &[EXPLICIT]),
            pc(5, MR, &[EXPLICIT]),
        ],
    );
    match client.request(&request) {
        Some(Pdu::AssociationAC(ac)) => {
            let accepted = |id: u8| {
                ac.presentation_contexts
                    .iter()
                    .any(|c| c.id == id && c.reason == PresentationContextResultReason::Acceptance)
            };
            let result = (accepted(3), accepted(5));
            client.release();
            Ok(result)
        }
        Some(Pdu::AssociationRJ(rj)) => Err(format!("A-ASSOCIATE-RJ {:?}", rj.source)),
        other => Err(format!("{other:?}")),
    }
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/11 (item 10: SIGHUP reloads the profile
// and the AE title allow-lists for new associations).
#[test]
fn sighup_reloads_the_profile_and_the_allow_lists_for_new_associations() {
    for receiver in receivers() {
        let ours = receiver.is_ours();
        let dir = tempfile::tempdir().expect("tempdir");
        let profile = dir.path().join("reload.cfg");
        let command_file = dir.path().join("options.txt");
        profile_file(&profile, &["CTImageStorage"]);
        let mut lines = format!("-xf {} Reload\n", profile.display());
        if ours {
            lines.push_str("--allow-calling ALPHA\n");
        }
        std::fs::write(&command_file, &lines).expect("write the command file");
        let arg = format!("@{}", command_file.display());
        let mut running = start_without_default_profile(&receiver, &arg, &dir.path().join("out"));
        let before = (ask(running.port, "ALPHA"), ask(running.port, "BETA"));
        // An association in progress keeps what it negotiated.
        let mut in_progress = try_associate(running.port, "ALPHA");
        profile_file(&profile, &["CTImageStorage", "MRImageStorage"]);
        std::fs::write(&command_file, lines.replace("ALPHA", "BETA")).expect("rewrite");
        running.guard.signal("HUP");
        let reloaded = ours
            && running.guard.wait_for_log(
                "reloaded the association configuration",
                Duration::from_secs(5),
            );
        let exited = running.guard.wait_timeout(Duration::from_millis(500));
        let after = if exited.is_none() {
            Some((ask(running.port, "ALPHA"), ask(running.port, "BETA")))
        } else {
            None
        };
        let in_progress_echo = in_progress.as_mut().map(|c| c.echo(PC_ECHO, 3));
        // A profile that no longer parses keeps the previous one.
        std::fs::write(
            &profile,
            "[[Profiles]]\n[Reload]\nPresentationContexts = Missing\n",
        )
        .expect("break the profile");
        running.guard.signal("HUP");
        let refused_line = ours
            && running
                .guard
                .wait_for_log("keeping the previous", Duration::from_secs(5));
        let after_broken = if running
            .guard
            .wait_timeout(Duration::from_millis(300))
            .is_none()
        {
            Some(ask(running.port, "BETA"))
        } else {
            None
        };
        observe(
            "SIGHUP after adding MR to the profile and replacing the allowed calling AE title ALPHA by BETA",
            &receiver,
            format!(
                "before (ALPHA, BETA): {before:?}; after: {after:?} (process: {exited:?}); association in progress: C-ECHO {in_progress_echo:?}; after a broken profile and SIGHUP: {after_broken:?}"
            ),
        );
        if ours {
            assert_eq!(before.0, Ok((true, false)));
            assert_eq!(
                before.1,
                Err("A-ASSOCIATE-RJ ServiceUser(CallingAETitleNotRecognized)".to_string())
            );
            assert!(reloaded, "{}", running.guard.stderr());
            let (alpha, beta) =
                after.unwrap_or_else(|| panic!("SIGHUP ended it:\n{}", running.guard.stderr()));
            assert_eq!(beta, Ok((true, true)));
            assert!(alpha.is_err(), "{alpha:?}");
            assert_eq!(in_progress_echo, Some(Some(0x0000)));
            assert!(refused_line, "{}", running.guard.stderr());
            assert_eq!(after_broken, Some(Ok((true, true))));
        } else {
            assert_eq!(before.0, Ok((true, false)));
            assert!(exited.is_some(), "SIGHUP did not end the real dcmrecv");
        }
    }
}

/// Starts `receiver` with `-v` and `arg` (and `-od od`), without the default profile of the
/// other scenarios.
fn start_without_default_profile(receiver: &Receiver, arg: &str, od: &Path) -> Running {
    receiver
        .start(&["-v", arg], od)
        .unwrap_or_else(|e| panic!("{}: {e}", receiver.name))
}

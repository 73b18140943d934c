//! Concurrency, timeouts, tear-down and shutdown.

use std::net::TcpStream;
use std::time::{Duration, Instant};

use dcmrecv_storage_scp::AcceptorOptions;

use crate::support::*;

fn echo_once(server: &Server, calling: &str) {
    let (mut c, _) = Client::associate_ok(
        server.addr,
        &rq(calling, vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    c.send(&p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(1))]));
    let (_, rsp) = c.read_command().expect("C-ECHO-RSP");
    assert_eq!(us(&parse_command(&rsp), 0x0900), Some(0));
    c.release();
}

#[test]
fn a_silent_peer_does_not_block_another_peers_c_echo() {
    let server = Server::start(AcceptorOptions::new());
    // One connection that never sends anything, one association that never sends a command.
    let _silent = TcpStream::connect(server.addr).unwrap();
    let (_idle, _) = Client::associate_ok(
        server.addr,
        &rq("IDLEASSOC", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    let start = Instant::now();
    echo_once(&server, "NOTBLOCKED");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "{:?}",
        start.elapsed()
    );
}

#[test]
fn associations_are_served_concurrently() {
    let server = Server::start(AcceptorOptions::new());
    // Four associations open at the same time, each answering in turn.
    let mut clients: Vec<Client> = (0..4)
        .map(|i| {
            Client::associate_ok(
                server.addr,
                &rq(&format!("CONC{i}"), vec![pc(1, VERIFICATION, &[IMPLICIT])]),
            )
            .0
        })
        .collect();
    assert_eq!(server.handle.active_associations(), 4);
    for (i, c) in clients.iter_mut().enumerate().rev() {
        c.send(&p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(i as u16 + 1))]));
        let (_, rsp) = c.read_command().expect("C-ECHO-RSP");
        assert_eq!(us(&parse_command(&rsp), 0x0120), Some(i as u16 + 1));
    }
    for c in &mut clients {
        c.release();
    }
}

#[test]
fn acse_timeout_closes_a_connection_without_a_request() {
    let server = Server::start(AcceptorOptions::new().acse_timeout(Duration::from_secs(1)));
    let mut c = Client::connect(server.addr);
    let port = c.local_port();
    let start = Instant::now();
    c.expect_closed();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_logged(
        &format!("127.0.0.1:{port}"),
        "Could not receive association request: DUL network read timeout",
    );
}

#[test]
fn after_our_a_abort_the_connection_is_closed_within_the_acse_timeout() {
    let server = Server::start(
        AcceptorOptions::new()
            .profile(storage_profile())
            .acse_timeout(Duration::from_secs(1)),
    );
    let (mut c, _) =
        Client::associate_ok(server.addr, &rq("CLOSEWAIT", vec![pc(3, CT, &[EXPLICIT])]));
    c.send(&p_data(&[pdv(3, DATA_LAST, b"xx")]));
    c.expect_abort();
    let start = Instant::now();
    c.expect_closed();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_logged("CLOSEWAIT", "end=\"aborted\"");
}

#[test]
fn dimse_timeout_aborts_an_idle_association() {
    let server = Server::start(
        AcceptorOptions::new()
            .dimse_timeout(Some(Duration::from_secs(1)))
            .acse_timeout(Duration::from_secs(1)),
    );
    let (mut c, _) = Client::associate_ok(
        server.addr,
        &rq("DIMSETO", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    let start = Instant::now();
    c.expect_abort();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "{waited:?}"
    );
    assert_logged("DIMSETO", "DIMSE timeout");
    assert_logged("DIMSETO", "end=\"timed out\"");
}

#[test]
fn shutdown_aborts_a_transfer_in_flight_after_the_grace_period() {
    let server = Server::start(AcceptorOptions::new().profile(storage_profile()));
    let (mut c, _) =
        Client::associate_ok(server.addr, &rq("SHUTDOWN1", vec![pc(3, CT, &[EXPLICIT])]));
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(1, CT, "1.2.3.9")),
        pdv(3, DATA_MORE, &payload(1000)),
    ]));
    server.wait_events(|e| !e.is_empty());
    let events = server.events.clone();
    let handle = server.handle.clone();
    let took = server.stop(Duration::from_millis(300));
    assert!(took >= Duration::from_millis(250), "{took:?}");
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert!(handle.is_shutting_down());
    // No response, just our A-ABORT.
    c.expect_abort();
    let events = events.lock().unwrap().clone();
    assert_eq!(
        events.last(),
        Some(&SinkEvent::Aborted {
            sop_instance_uid: "1.2.3.9".into(),
            received: 1000
        })
    );
    assert_logged("SHUTDOWN1", "end=\"shut down\"");
    // The listener is gone.
    assert!(TcpStream::connect(c.stream.tcp().peer_addr().unwrap()).is_err());
}

#[test]
fn shutdown_still_answers_an_object_whose_sink_has_finished() {
    let server = Server::start_with(
        AcceptorOptions::new().profile(storage_profile()),
        Behaviour {
            finish_delay: Some(Duration::from_millis(800)),
            ..Behaviour::default()
        },
    );
    let (mut c, _) =
        Client::associate_ok(server.addr, &rq("SHUTDOWN2", vec![pc(3, CT, &[EXPLICIT])]));
    c.send(&p_data(&[
        pdv(3, COMMAND_LAST, &c_store_rq(1, CT, "1.2.3.10")),
        pdv(3, DATA_LAST, &payload(1000)),
    ]));
    // Let `finish` start, then shut down with a grace period shorter than it takes.
    std::thread::sleep(Duration::from_millis(200));
    server.stop(Duration::from_millis(100));
    let (_, rsp) = c.read_command().expect("the C-STORE-RSP");
    assert_eq!(us(&parse_command(&rsp), 0x0900), Some(0));
    c.expect_abort();
}

#[test]
fn shutdown_lets_associations_finish_within_the_grace_period() {
    let server = Server::start(AcceptorOptions::new());
    let (mut c, _) = Client::associate_ok(
        server.addr,
        &rq("DRAIN", vec![pc(1, VERIFICATION, &[IMPLICIT])]),
    );
    let handle = server.handle.clone();
    let addr = server.addr;
    let stopper = std::thread::spawn(move || server.stop(Duration::from_secs(10)));
    std::thread::sleep(Duration::from_millis(200));
    // New connections are refused at once...
    assert!(TcpStream::connect(addr).is_err());
    // ...while the association in flight is still served.
    c.send(&p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(1))]));
    assert!(c.read_command().is_some());
    c.release();
    drop(c);
    let took = stopper.join().unwrap();
    assert!(took < Duration::from_secs(5), "{took:?}");
    assert_eq!(handle.active_associations(), 0);
}

#[test]
fn handles_and_acceptors_can_move_between_threads() {
    fn shareable<T: Send + Sync + Clone + 'static>() {}
    fn movable<T: Send + 'static>() {}
    shareable::<dcmrecv_storage_scp::ShutdownHandle>();
    movable::<dcmrecv_storage_scp::Acceptor>();
    shareable::<dcmrecv_storage_scp::AcceptorOptions>();
}

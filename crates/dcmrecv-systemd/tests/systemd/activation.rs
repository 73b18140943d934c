//! Socket activation with Debian's `systemd-socket-activate`, which binds a port, waits for
//! the first connection and starts the service with the socket as fd 3, `LISTEN_FDS=1` and
//! `LISTEN_PID` set, as systemd does for a `.socket` unit.

use std::io::{BufRead, BufReader, Read};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::process::Stdio;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use crate::support::{ChildGuard, SCENARIO, child, child_args, systemd_tool, test_binary};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `systemd-socket-activate [extra] -l 127.0.0.1:<port>` running `scenario`.
fn activate(scenario: &str, extra: &[&str], port: u16) -> ChildGuard {
    let child = std::process::Command::new(systemd_tool("systemd-socket-activate"))
        .args(extra)
        .arg(format!("--listen=127.0.0.1:{port}"))
        .arg(format!("--setenv={SCENARIO}={scenario}"))
        .arg(test_binary())
        .args(child_args())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    ChildGuard::new(child)
}

/// Connects once `systemd-socket-activate` listens.
fn connect(port: u16) -> TcpStream {
    let began = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(stream) => return stream,
            Err(e) if began.elapsed() < Duration::from_secs(10) => {
                let _ = e;
                thread::sleep(Duration::from_millis(20));
            }
            Err(e) => panic!("systemd-socket-activate never listened on {port}: {e}"),
        }
    }
}

#[test]
fn the_socket_passed_as_fd_3_is_served() {
    let port = free_port();
    let guard = activate("activated", &[], port);
    let mut stream = connect(port);
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let mut line = String::new();
    BufReader::new(&mut stream).read_line(&mut line).unwrap();
    assert_eq!(line, format!("served by fd 3 on port {port}\n"));
    let (stdout, _) = guard.finish();
    assert!(stdout.contains(&format!("served port={port}")), "{stdout}");
}

#[test]
fn a_connected_socket_from_accept_yes_is_refused_clearly() {
    let port = free_port();
    let mut guard = activate("activated-accept", &["--accept"], port);
    let _stream = connect(port);
    // With --accept the tool keeps listening and forks a child per connection, whose output
    // shares the tool's stdout: read until the child's verdict.
    let stdout = guard.0.as_mut().unwrap().stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let verdict = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the child's verdict");
        if line.starts_with("activation error") {
            break line;
        }
    };
    assert_eq!(
        verdict,
        "activation error: file descriptor 3 from systemd is not listening (the .socket unit needs Accept=no)"
    );
}

#[test]
fn a_datagram_socket_is_refused_clearly() {
    let port = free_port();
    let guard = activate("activated-datagram", &["--datagram"], port);
    let began = Instant::now();
    let sender = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut child = guard;
    // The tool starts the service at the first datagram; send until it has exited.
    loop {
        let _ = sender.send_to(b"x", ("127.0.0.1", port));
        if let Some(status) = child.0.as_mut().unwrap().try_wait().unwrap() {
            let mut stdout = String::new();
            child
                .0
                .as_mut()
                .unwrap()
                .stdout
                .take()
                .unwrap()
                .read_to_string(&mut stdout)
                .unwrap();
            assert!(status.success(), "{status}: {stdout}");
            assert!(
                stdout.contains(
                    "activation error: file descriptor 3 from systemd is not a TCP socket"
                ),
                "{stdout}"
            );
            return;
        }
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "the child never ran"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn variables_meant_for_another_process_are_ignored_and_kept() {
    let guard = ChildGuard::new(
        child("not-activated")
            .env("LISTEN_PID", "1")
            .env("LISTEN_FDS", "1")
            .spawn()
            .unwrap(),
    );
    let (stdout, _) = guard.finish();
    assert!(stdout.contains("not activated"), "{stdout}");
}

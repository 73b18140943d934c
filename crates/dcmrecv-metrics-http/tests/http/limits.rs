//! Clients that send too much, too slowly or too many at once are cut, and the endpoint goes
//! on answering.

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use dcmrecv_metrics_http::Readiness;

use crate::support::{curl, metrics, rss_kib_and_threads, start};

/// Reads until the server closes the connection; what it sent and how long that took.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Duration) {
    let began = Instant::now();
    stream
        .set_read_timeout(Some(limit))
        .expect("set a read timeout");
    let mut received = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => received.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::ConnectionReset => break,
            Err(e) => panic!("the server did not close the connection within {limit:?}: {e}"),
        }
    }
    (received, began.elapsed())
}

#[test]
fn oversized_and_overcrowded_headers_get_431() {
    let _serial = crate::support::serial();
    let endpoint = start(&metrics(), &Readiness::new());
    let addr = endpoint.local_addr();
    let big = format!("X-Big: {}", "a".repeat(20_000));
    assert_eq!(curl(addr, "/metrics", &["-H", &big]).status, 431);
    let many: Vec<String> = (0..40).map(|i| format!("X-Field-{i}: v")).collect();
    let args: Vec<&str> = many.iter().flat_map(|h| ["-H", h.as_str()]).collect();
    assert_eq!(curl(addr, "/metrics", &args).status, 431);
    // A long but legal request still works.
    let fine = format!("X-Fine: {}", "a".repeat(4_000));
    assert_eq!(curl(addr, "/healthz", &["-H", &fine]).status, 200);
}

#[test]
fn a_claimed_four_gigabyte_body_is_refused_unread() {
    let _serial = crate::support::serial();
    let endpoint = start(&metrics(), &Readiness::new());
    let mut stream = TcpStream::connect(endpoint.local_addr()).unwrap();
    stream
        .write_all(
            b"GET /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 4294967295\r\nContent-Encoding: gzip\r\n\r\n\x1f\x8b",
        )
        .unwrap();
    let (reply, _) = read_until_closed(&mut stream, Duration::from_secs(5));
    let reply = String::from_utf8_lossy(&reply);
    assert!(reply.starts_with("HTTP/1.1 413 "), "{reply}");
    assert_eq!(curl(endpoint.local_addr(), "/healthz", &[]).status, 200);
}

#[test]
fn a_client_sending_one_byte_per_second_is_cut_at_the_header_timeout() {
    let _serial = crate::support::serial();
    // The support endpoint gives clients 2 s to send their headers.
    let endpoint = start(&metrics(), &Readiness::new());
    let mut stream = TcpStream::connect(endpoint.local_addr()).unwrap();
    let mut writer = stream.try_clone().unwrap();
    let dribble = thread::spawn(move || {
        for byte in b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n" {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            thread::sleep(Duration::from_secs(1));
        }
    });
    let (reply, took) = read_until_closed(&mut stream, Duration::from_secs(10));
    assert!(reply.is_empty(), "{:?}", String::from_utf8_lossy(&reply));
    assert!(
        took >= Duration::from_millis(1500) && took < Duration::from_secs(5),
        "cut after {took:?}"
    );
    drop(stream);
    dribble.join().unwrap();
}

#[test]
fn a_connection_is_cut_at_the_connection_timeout_even_while_busy() {
    let _serial = crate::support::serial();
    let endpoint = crate::support::start_with(&metrics(), &Readiness::new(), |o| {
        o.connection_timeout(Duration::from_secs(3))
    });
    let mut stream = TcpStream::connect(endpoint.local_addr()).unwrap();
    let began = Instant::now();
    let mut writer = stream.try_clone().unwrap();
    // Keep-alive requests well inside the header timeout: only the connection limit ends it.
    let requests = thread::spawn(move || {
        while writer
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            .is_ok()
        {
            thread::sleep(Duration::from_millis(500));
            if began.elapsed() > Duration::from_secs(8) {
                return;
            }
        }
    });
    let (reply, _) = read_until_closed(&mut stream, Duration::from_secs(10));
    let took = began.elapsed();
    let answers = String::from_utf8_lossy(&reply)
        .matches("HTTP/1.1 200")
        .count();
    assert!(answers >= 3, "{answers} answers");
    assert!(
        took >= Duration::from_millis(2500) && took < Duration::from_secs(6),
        "cut after {took:?}"
    );
    drop(stream);
    requests.join().unwrap();
}

#[test]
fn a_flood_of_500_connections_is_bounded_and_the_endpoint_answers_afterwards() {
    let _serial = crate::support::serial();
    let endpoint = start(&metrics(), &Readiness::new());
    let addr: SocketAddr = endpoint.local_addr();
    assert_eq!(curl(addr, "/metrics", &[]).status, 200);
    let (rss_before, threads_before) = rss_kib_and_threads();

    // 500 clients at once: half say nothing, half start a request and stall.
    let mut flood: Vec<TcpStream> = (0..500)
        .map(|i| {
            let mut stream = TcpStream::connect(addr).unwrap();
            if i % 2 == 1 {
                let _ = stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n");
            }
            stream
        })
        .collect();
    thread::sleep(Duration::from_millis(500));
    // All but the 32 the endpoint serves at once were closed on accept.
    let mut closed = 0;
    for stream in &mut flood {
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .unwrap();
        match stream.read(&mut [0u8; 64]) {
            Ok(0) => closed += 1,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => closed += 1,
            _ => {}
        }
    }
    assert!(closed >= 500 - 32, "only {closed} of 500 were closed");
    let (rss_during, threads_during) = rss_kib_and_threads();
    assert!(
        rss_during < rss_before + 16 * 1024,
        "RSS grew from {rss_before} KiB to {rss_during} KiB"
    );
    // The endpoint's own threads: its server thread and at most one rendering thread.
    assert!(
        threads_during <= threads_before + 1,
        "threads grew from {threads_before} to {threads_during}"
    );

    drop(flood);
    let began = Instant::now();
    loop {
        let reply = crate::support::curl(addr, "/healthz", &["--retry", "0"]);
        if reply.status == 200 {
            break;
        }
        assert!(began.elapsed() < Duration::from_secs(5), "{reply:?}");
        thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(curl(addr, "/metrics", &[]).status, 200);
}

//! A real `NOTIFY_SOCKET`: a Unix datagram socket bound in a temporary directory, as systemd
//! binds one for a `Type=notify` service.

use std::os::unix::net::UnixDatagram;
use std::time::{Duration, Instant};

use crate::support::{ChildGuard, child};

/// Runs `scenario` with `NOTIFY_SOCKET` and a 200 ms watchdog; every message, in order.
fn messages(scenario: &str) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let guard = ChildGuard::new(
        child(scenario)
            .env("NOTIFY_SOCKET", &path)
            .env("WATCHDOG_USEC", "200000")
            .spawn()
            .unwrap(),
    );
    let mut messages = Vec::new();
    let began = Instant::now();
    let mut buf = [0u8; 4096];
    while !messages.iter().any(|m| m == "STOPPING=1") {
        assert!(
            began.elapsed() < Duration::from_secs(20),
            "no STOPPING=1 after {messages:?}"
        );
        if let Ok(n) = socket.recv(&mut buf) {
            let text = String::from_utf8_lossy(&buf[..n]);
            messages.extend(text.lines().map(str::to_string));
        }
    }
    guard.finish();
    // Nothing after STOPPING=1.
    socket
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    assert!(socket.recv(&mut buf).is_err(), "a message after STOPPING=1");
    messages
}

#[test]
fn ready_status_watchdog_stopping_arrive_in_order() {
    let messages = messages("notify");
    assert_eq!(messages[0], "READY=1", "{messages:?}");
    // The status line's newline became a space: it would have started another assignment.
    assert_eq!(
        messages[1], "STATUS=2 associations active (one line)",
        "{messages:?}"
    );
    let last = messages.len() - 1;
    assert_eq!(messages[last], "STOPPING=1");
    let middle = &messages[2..last];
    assert!(middle.iter().all(|m| m == "WATCHDOG=1"), "{messages:?}");
    // 600 ms of a fresh heartbeat with a ping every 50 ms (the status interval; at most every
    // 100 ms, half the watchdog timeout, is what systemd needs).
    assert!(middle.len() >= 4, "{} pings: {messages:?}", middle.len());
}

#[test]
fn watchdog_pings_stop_when_the_heartbeat_goes_stale() {
    let messages = messages("stale-heartbeat");
    let stalled = messages
        .iter()
        .position(|m| m == "STATUS=stalled")
        .unwrap_or_else(|| panic!("no STATUS=stalled in {messages:?}"));
    let pings = |slice: &[String]| slice.iter().filter(|m| *m == "WATCHDOG=1").count();
    assert!(pings(&messages[..stalled]) >= 3, "{messages:?}");
    // The heartbeat may be 150 ms old: a few pings can follow the last beat, then none for the
    // remaining second (about 20 if the pings ignored the heartbeat).
    assert!(pings(&messages[stalled..]) <= 4, "{messages:?}");
    assert_eq!(messages.last().map(String::as_str), Some("STOPPING=1"));
}

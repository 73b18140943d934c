//! The scenarios, run in a child process with the environment systemd would give a service.
//!
//! `entry_point` is a test so that the test binary can run it alone; without the scenario
//! variable (an ordinary `cargo test`) it has nothing to do and returns at once. The tests that
//! start it check what it did from the outside.
#![allow(
    clippy::print_stdout,
    reason = "the child reports to its parent on stdout"
)]

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use dcmrecv_systemd::{ActivationError, Heartbeat, Notifier, Supervisor, SupervisorOptions};

use crate::support::SCENARIO;

#[test]
fn entry_point() {
    let Ok(scenario) = std::env::var(SCENARIO) else {
        return;
    };
    match scenario.as_str() {
        "notify" => notify(),
        "stale-heartbeat" => stale_heartbeat(),
        "activated" => activated(),
        "activated-accept" => {
            expect_activation_error(|e| matches!(e, ActivationError::NotListening))
        }
        "activated-datagram" => {
            expect_activation_error(|e| matches!(e, ActivationError::NotTcp { .. }))
        }
        "not-activated" => not_activated(),
        other => panic!("unknown scenario {other}"),
    }
}

/// READY=1, STATUS=, WATCHDOG=1 while the heartbeat beats, STOPPING=1.
fn notify() {
    let notifier = Notifier::from_env();
    assert!(notifier.is_enabled());
    assert_eq!(
        notifier.watchdog_timeout(),
        Some(Duration::from_millis(200))
    );
    let heartbeat = Heartbeat::new();
    notifier.ready().unwrap();
    let supervisor = Supervisor::spawn(
        notifier.clone(),
        heartbeat.clone(),
        || "2 associations active\n(one line)".to_string(),
        SupervisorOptions::new().status_interval(Duration::from_millis(50)),
    )
    .unwrap();
    let began = Instant::now();
    while began.elapsed() < Duration::from_millis(600) {
        heartbeat.beat();
        thread::sleep(Duration::from_millis(20));
    }
    supervisor.stop();
    notifier.stopping().unwrap();
}

/// The heartbeat stops after 400 ms: the pings must stop soon after.
fn stale_heartbeat() {
    let notifier = Notifier::from_env();
    let heartbeat = Heartbeat::new();
    let beating = Arc::new(AtomicBool::new(true));
    notifier.ready().unwrap();
    let flag = Arc::clone(&beating);
    let supervisor = Supervisor::spawn(
        notifier.clone(),
        heartbeat.clone(),
        move || {
            if flag.load(Ordering::SeqCst) {
                "beating".to_string()
            } else {
                "stalled".to_string()
            }
        },
        SupervisorOptions::new()
            .status_interval(Duration::from_millis(50))
            .max_beat_age(Duration::from_millis(150)),
    )
    .unwrap();
    let began = Instant::now();
    while began.elapsed() < Duration::from_millis(400) {
        heartbeat.beat();
        thread::sleep(Duration::from_millis(20));
    }
    beating.store(false, Ordering::SeqCst);
    thread::sleep(Duration::from_millis(1000));
    supervisor.stop();
    notifier.stopping().unwrap();
}

/// Serves one connection on the socket systemd-socket-activate passed.
fn activated() {
    let listener = dcmrecv_systemd::listener_from_env()
        .unwrap()
        .expect("a socket from LISTEN_FDS");
    // The variables are consumed, so a hook started now cannot take the socket.
    assert!(std::env::var("LISTEN_FDS").is_err());
    assert!(std::env::var("LISTEN_PID").is_err());
    let port = listener.local_addr().unwrap().port();
    let (mut stream, _) = listener.accept().unwrap();
    writeln!(stream, "served by fd 3 on port {port}").unwrap();
    println!("served port={port}");
}

fn expect_activation_error(expected: impl Fn(&ActivationError) -> bool) {
    match dcmrecv_systemd::listener_from_env() {
        Err(e) if expected(&e) => println!("activation error: {e}"),
        other => panic!("unexpected {other:?}"),
    }
}

/// Variables meant for another process (LISTEN_PID not ours) are left alone.
fn not_activated() {
    assert!(dcmrecv_systemd::listener_from_env().unwrap().is_none());
    assert_eq!(std::env::var("LISTEN_PID").as_deref(), Ok("1"));
    println!("not activated");
}

//! SIGTERM and SIGINT while transfers are in flight: the receiver stops accepting at once, lets
//! the associations in progress run until `--shutdown-timeout`, aborts the rest, exits 0, and
//! leaves every object either complete under its final name (and reported stored to its sender)
//! or absent (and not reported stored), with no temporary file left behind.
//!
//! The senders are real storescu processes; a throttling proxy between them and the receiver
//! makes each object take about two seconds, so the signal certainly arrives mid-transfer.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dcmrecv_e2e::clients::store_responses;
use dcmrecv_e2e::compare::read_meta;
use dcmrecv_e2e::objects::write_large_object;
use dcmrecv_e2e::peers::dcmtk_command;
use dcmrecv_e2e::process::ChildGuard;
use dcmrecv_e2e::receiver::{Receiver, Running, is_listening};
use dcmrecv_e2e::throttle::ThrottledProxy;

/// Size of each object and the rate each sender is held to: two seconds per object.
const OBJECT_BYTES: u64 = 16 << 20;
const RATE: u64 = 8 << 20;
const WAIT: Duration = Duration::from_secs(30);

/// One object to send: its file and where ours stores it.
struct Object {
    source: PathBuf,
    stored: PathBuf,
}

/// Synthesises `per_sender` objects for each of `senders` senders under `work`.
fn objects(work: &Path, od: &Path, senders: usize, per_sender: usize) -> Vec<Vec<Object>> {
    (0..senders)
        .map(|s| {
            (0..per_sender)
                .map(|o| {
                    let uid = format!("1.2.826.0.1.3680043.10.1145.71.{s}.{o}");
                    let source = work.join(format!("sender{s}-object{o}.dcm"));
                    write_large_object(&source, &uid, OBJECT_BYTES);
                    Object {
                        source,
                        stored: od.join(format!("SCw.{uid}")),
                    }
                })
                .collect()
        })
        .collect()
}

/// Our temporary files anywhere below `od`.
fn temp_files(od: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut dirs = vec![od.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                dirs.push(path);
            } else if name.starts_with(".dcmrecv-tmp-") && name.ends_with(".part") {
                found.push(path);
            }
        }
    }
    found
}

/// Waits until `n` objects are being received (their temporary files exist).
fn wait_for_transfers(od: &Path, n: usize, receiver: &Running) {
    let deadline = Instant::now() + WAIT;
    while temp_files(od).len() < n {
        assert!(
            Instant::now() < deadline,
            "{n} transfers never started:\n{}",
            receiver.guard.stderr()
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts one storescu per object list, through `proxy`.
fn start_senders(proxy: &ThrottledProxy, objects: &[Vec<Object>]) -> Vec<ChildGuard> {
    objects
        .iter()
        .map(|list| {
            let mut cmd: Command = dcmtk_command("storescu");
            cmd.args(["-v", "127.0.0.1", &proxy.port().to_string()]);
            for object in list {
                cmd.arg(&object.source);
            }
            ChildGuard::spawn(cmd)
        })
        .collect()
}

/// The data set bytes of a Part-10 file.
fn data_set(path: &Path) -> Vec<u8> {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
    let (_, offset) = read_meta(&bytes).expect("a Part-10 file");
    bytes[offset..].to_vec()
}

/// Waits for every sender and checks each object: reported stored ⇔ complete under its final
/// name. Returns (stored, not stored).
fn check_objects(senders: &mut [ChildGuard], objects: &[Vec<Object>]) -> (usize, usize) {
    let (mut stored, mut lost) = (0, 0);
    for (sender, list) in senders.iter_mut().zip(objects) {
        assert!(sender.wait_timeout(WAIT).is_some(), "storescu did not end");
        let log = sender.stderr();
        let statuses = store_responses(&log);
        for (i, object) in list.iter().enumerate() {
            let reported = statuses.get(i).map(String::as_str) == Some("Success");
            if reported {
                assert!(
                    object.stored.is_file(),
                    "{} reported stored but absent",
                    object.stored.display()
                );
                assert!(
                    data_set(&object.stored) == data_set(&object.source),
                    "{} is not the complete object",
                    object.stored.display()
                );
                stored += 1;
            } else {
                assert!(
                    !object.stored.exists(),
                    "{} exists but its sender was not told it was stored:\n{log}",
                    object.stored.display()
                );
                lost += 1;
            }
        }
    }
    (stored, lost)
}

/// Sends `signal` and waits for the receiver to exit; returns how long that took.
fn stop(receiver: &mut Running, signal: &str, within: Duration) -> Duration {
    let start = Instant::now();
    receiver.guard.signal(signal);
    let status = receiver
        .guard
        .wait_timeout(within)
        .unwrap_or_else(|| panic!("still running {within:?} after SIG{signal}"));
    assert_eq!(status.code(), Some(0), "{}", receiver.guard.stderr());
    start.elapsed()
}

#[test]
fn sigterm_with_four_transfers_in_flight_keeps_or_drops_whole_objects() {
    let work = tempfile::tempdir().expect("tempdir");
    let od = work.path().join("out");
    // Two objects per sender: the first is in flight when the signal comes and has time to
    // finish (2 s of 3); the second cannot finish before the deadline and is aborted.
    let objects = objects(work.path(), &od, 4, 2);
    let mut receiver = Receiver::ours()
        .start(
            &[
                "-v",
                "--shutdown-timeout",
                "3",
                "-xf",
                "/etc/dcmtk/storescp.cfg",
                "Default",
            ],
            &od,
        )
        .expect("start ours");
    let proxy = ThrottledProxy::start(receiver.port, RATE);
    let mut senders = start_senders(&proxy, &objects);
    wait_for_transfers(&od, 4, &receiver);

    let start = Instant::now();
    receiver.guard.signal("TERM");
    // New associations are refused at once, while the transfers go on.
    while is_listening(receiver.port) {
        assert!(start.elapsed() < Duration::from_secs(1), "still listening");
        std::thread::sleep(Duration::from_millis(10));
    }
    let status = receiver
        .guard
        .wait_timeout(WAIT)
        .expect("the receiver did not exit");
    let took = start.elapsed();
    assert_eq!(status.code(), Some(0), "{}", receiver.guard.stderr());
    // The deadline (3 s) plus at most the abort grace (2 s).
    assert!(took < Duration::from_secs(6), "exit took {took:?}");

    let (stored, lost) = check_objects(&mut senders, &objects);
    assert_eq!(temp_files(&od), Vec::<PathBuf>::new());
    let log = receiver.guard.stderr();
    assert!(log.contains("W: received SIGTERM"), "{log}");
    // The in-flight objects had time to finish; the second ones did not.
    assert!(
        stored >= 1 && lost >= 1,
        "stored {stored}, lost {lost}:\n{log}"
    );
    assert!(
        log.contains("shutdown deadline reached: aborting the remaining associations"),
        "{log}"
    );
    eprintln!("SIGTERM after {took:?}: {stored} objects stored, {lost} aborted");
}

#[test]
fn sigint_lets_a_transfer_in_flight_finish() {
    let work = tempfile::tempdir().expect("tempdir");
    let od = work.path().join("out");
    let objects = objects(work.path(), &od, 1, 1);
    let mut receiver = Receiver::ours()
        .start(&["-xf", "/etc/dcmtk/storescp.cfg", "Default"], &od)
        .expect("start ours");
    let proxy = ThrottledProxy::start(receiver.port, RATE);
    let mut senders = start_senders(&proxy, &objects);
    wait_for_transfers(&od, 1, &receiver);
    // The default grace period (10 s) is ample for the rest of a two-second transfer.
    let took = stop(&mut receiver, "INT", WAIT);
    assert!(took < Duration::from_secs(8), "exit took {took:?}");
    assert_eq!(check_objects(&mut senders, &objects), (1, 0));
    assert_eq!(temp_files(&od), Vec::<PathBuf>::new());
    assert!(receiver.guard.stderr().contains("W: received SIGINT"));
}

#[test]
fn shutdown_timeout_zero_aborts_transfers_in_flight_promptly() {
    let work = tempfile::tempdir().expect("tempdir");
    let od = work.path().join("out");
    let objects = objects(work.path(), &od, 2, 1);
    let mut receiver = Receiver::ours()
        .start(
            &[
                "--shutdown-timeout",
                "0",
                "-xf",
                "/etc/dcmtk/storescp.cfg",
                "Default",
            ],
            &od,
        )
        .expect("start ours");
    let proxy = ThrottledProxy::start(receiver.port, RATE);
    let mut senders = start_senders(&proxy, &objects);
    wait_for_transfers(&od, 2, &receiver);
    let took = stop(&mut receiver, "TERM", WAIT);
    assert!(took < Duration::from_secs(1), "exit took {took:?}");
    assert_eq!(check_objects(&mut senders, &objects), (0, 2));
    assert_eq!(temp_files(&od), Vec::<PathBuf>::new());
    eprintln!("--shutdown-timeout 0: exit {took:?} after SIGTERM");
}

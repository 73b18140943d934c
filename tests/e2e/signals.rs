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
use tempfile::TempDir;

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

/// Receiver, senders and proxy of one scenario, with `senders` transfers in flight.
struct InFlight {
    od: PathBuf,
    objects: Vec<Vec<Object>>,
    receiver: Running,
    senders: Vec<ChildGuard>,
    _proxy: ThrottledProxy,
    _work: TempDir,
}

/// Starts ours with `args` (and storescp.cfg's Default profile) and `senders` storescu
/// processes of `per_sender` objects each, and returns once each sender's first object is
/// being received.
fn in_flight(args: &[&str], senders: usize, per_sender: usize) -> InFlight {
    let work = tempfile::tempdir().expect("tempdir");
    let od = work.path().join("out");
    let objects = objects(work.path(), &od, senders, per_sender);
    let receiver = Receiver::ours()
        .start(
            &[args, &["-xf", "/etc/dcmtk/storescp.cfg", "Default"]].concat(),
            &od,
        )
        .expect("start ours");
    let proxy = ThrottledProxy::start(receiver.port, RATE);
    let started = start_senders(&proxy, &objects);
    wait_for_transfers(&od, senders, &receiver);
    InFlight {
        od,
        objects,
        receiver,
        senders: started,
        _proxy: proxy,
        _work: work,
    }
}

impl InFlight {
    /// Sends `signal`, checks that the port closes at once and that the receiver exits with 0,
    /// and returns how long the exit took.
    fn stop(&mut self, signal: &str) -> Duration {
        let start = Instant::now();
        let guard = &mut self.receiver.guard;
        guard.signal(signal);
        // New associations are refused at once, while the transfers go on.
        while is_listening(self.receiver.port) {
            assert!(start.elapsed() < Duration::from_secs(1), "still listening");
            std::thread::sleep(Duration::from_millis(10));
        }
        let status = guard
            .wait_timeout(WAIT)
            .unwrap_or_else(|| panic!("still running {WAIT:?} after SIG{signal}"));
        let took = start.elapsed();
        assert_eq!(status.code(), Some(0), "{}", guard.stderr());
        assert!(
            guard.stderr().contains(&format!("W: received SIG{signal}")),
            "{}",
            guard.stderr()
        );
        took
    }

    /// Checks every object and that no temporary file is left; returns (stored, not stored).
    fn outcome(&mut self) -> (usize, usize) {
        let counts = check_objects(&mut self.senders, &self.objects);
        assert_eq!(temp_files(&self.od), Vec::<PathBuf>::new());
        counts
    }
}

#[test]
fn sigterm_with_four_transfers_in_flight_keeps_or_drops_whole_objects() {
    // Two objects per sender: the first is in flight when the signal comes and has time to
    // finish (2 s of 3); the second cannot finish before the deadline and is aborted.
    let mut run = in_flight(&["-v", "--shutdown-timeout", "3"], 4, 2);
    let took = run.stop("TERM");
    // The deadline (3 s) plus at most the abort grace (2 s).
    assert!(took < Duration::from_secs(6), "exit took {took:?}");
    let (stored, lost) = run.outcome();
    let log = run.receiver.guard.stderr();
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
    // The default grace period (10 s) is ample for the rest of a two-second transfer.
    let mut run = in_flight(&[], 1, 1);
    let took = run.stop("INT");
    assert!(took < Duration::from_secs(8), "exit took {took:?}");
    assert_eq!(run.outcome(), (1, 0));
}

#[test]
fn shutdown_timeout_zero_aborts_transfers_in_flight_promptly() {
    let mut run = in_flight(&["--shutdown-timeout", "0"], 2, 1);
    let took = run.stop("TERM");
    assert!(took < Duration::from_secs(1), "exit took {took:?}");
    assert_eq!(run.outcome(), (0, 2));
    eprintln!("--shutdown-timeout 0: exit {took:?} after SIGTERM");
}

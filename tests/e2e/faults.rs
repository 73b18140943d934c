//! Faults while objects are in flight: the peer aborts or resets, the receiver is killed, the
//! disk fills up, the output directory vanishes or turns read-only, two associations send the
//! same instance at once, SIGTERM with transfers in flight. Each scenario runs against the real
//! dcmrecv and ours; ours must never leave an incomplete file under a final name.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use dcmrecv_e2e::disk::{Tmpfs, files_under, final_files, is_our_temporary};
use dcmrecv_e2e::objects::dataset_of_file;
use dcmrecv_e2e::raw::{COMMAND_LAST, CT, Client, c_store_rq, p_data, pdv};
use dcmrecv_e2e::receiver::{Receiver, Running};

use crate::support::{
    PC_CT, PC_ECHO, associate, ct, observe, receivers, start, try_associate, wait_for_files,
};

const ECHO_BUDGET: Duration = Duration::from_secs(10);

/// Sends a C-STORE command and about the first half of `data` (in PDVs of 16000 bytes, none of
/// them the last fragment; DCMTK aborts on odd fragment lengths, so the half is even).
fn send_half(client: &mut Client, uid: &str, data: &[u8]) {
    client.send(&p_data(&[pdv(
        PC_CT,
        COMMAND_LAST,
        &c_store_rq(1, CT, uid),
    )]));
    for chunk in data[..(data.len() / 2) & !1].chunks(16_000) {
        client.send(&p_data(&[pdv(PC_CT, 0x00, chunk)]));
    }
}

/// The final path of a CT instance stored with default names directly in `od`.
fn final_path(od: &Path, uid: &str) -> PathBuf {
    od.join(format!("CT.{uid}"))
}

/// Waits until the receiver has visibly started on the object: ours has its temporary file, the
/// real dcmrecv in bit-preserving mode its final file with some bytes; the real dcmrecv in
/// normal mode shows nothing on disk, so give it a moment.
fn wait_until_in_flight(receiver: &Receiver, od: &Path, bit_preserving: bool) {
    let visible = if receiver.is_ours() {
        wait_for_files(od, Duration::from_secs(5), |files| {
            files.keys().any(|p| is_our_temporary(p))
        })
    } else if bit_preserving {
        wait_for_files(od, Duration::from_secs(5), |files| {
            files.values().any(|&size| size > 0)
        })
    } else {
        std::thread::sleep(Duration::from_millis(300));
        true
    };
    assert!(
        visible,
        "{}: the transfer never showed up in {}",
        receiver.name,
        od.display()
    );
}

/// Starts `receiver` in normal or bit-preserving mode on a fresh output directory. Returns the
/// scenario's name for the report (marked ` (+B)` in bit-preserving mode), the options beyond the
/// profile (to start it again), the output directory, the receiver, and the directory to keep.
fn setup(
    receiver: &Receiver,
    scenario: &str,
    bit_preserving: bool,
) -> (
    String,
    &'static [&'static str],
    PathBuf,
    Running,
    tempfile::TempDir,
) {
    let extra: &'static [&'static str] = if bit_preserving { &["+B"] } else { &[] };
    let dir = tempfile::tempdir().expect("tempdir");
    let od = dir.path().join("out");
    let running = start(receiver, extra, &od);
    let marked = format!("{scenario}{}", if bit_preserving { " (+B)" } else { "" });
    (marked, extra, od, running, dir)
}

#[test]
fn a_peer_abort_or_reset_mid_object_leaves_nothing_and_the_receiver_goes_on() {
    for receiver in receivers() {
        for bit_preserving in [false, true] {
            for reset in [false, true] {
                let what = if reset { "TCP reset" } else { "A-ABORT" };
                let (scenario, _, od, running, _dir) = setup(
                    &receiver,
                    &format!("peer {what} mid-object"),
                    bit_preserving,
                );
                let uid = "1.2.826.0.1.3680043.10.1145.31.1";
                let (_, data) = ct(uid, 256);
                let mut client = associate(running.port, "FAULTS");
                send_half(&mut client, uid, &data);
                wait_until_in_flight(&receiver, &od, bit_preserving);
                if reset {
                    client.reset();
                } else {
                    client.abort();
                }
                // The next association is served (for the real dcmrecv: once it has finished
                // with this one).
                let echo = running.echo(ECHO_BUDGET);
                // Ours cleans up on the aborted association's own thread: allow it a moment.
                wait_for_files(&od, Duration::from_secs(5), |files| files.is_empty());
                let left = files_under(&od);
                observe(
                    &scenario,
                    &receiver,
                    format!("files left: {left:?}; next C-ECHO: {echo:?}"),
                );
                assert!(
                    echo.is_some(),
                    "{}: {scenario}: no longer serving",
                    receiver.name
                );
                assert!(
                    left.is_empty(),
                    "{}: {scenario}: left {left:?}\n{}",
                    receiver.name,
                    running.guard.stderr()
                );
            }
        }
    }
}

/// Stores a complete object in a new association and returns the status.
fn store_one(port: u16, uid: &str, data: &[u8]) -> Option<u16> {
    let mut client = associate(port, "FAULTS");
    let status = client.store(PC_CT, 1, CT, uid, data);
    if status.is_some() {
        client.release();
    }
    status
}

#[test]
fn kill_9_mid_object_leaves_no_incomplete_final_file_and_a_restart_sweeps_the_temporary() {
    for receiver in receivers() {
        for bit_preserving in [false, true] {
            let (scenario, extra, od, mut running, _dir) = setup(
                &receiver,
                "kill -9 of the receiver mid-object, then restart",
                bit_preserving,
            );
            let uid = "1.2.826.0.1.3680043.10.1145.32.1";
            let (_, data) = ct(uid, 256);
            let mut client = associate(running.port, "FAULTS");
            send_half(&mut client, uid, &data);
            wait_until_in_flight(&receiver, &od, bit_preserving);
            let killed_pid = running.guard.pid();
            running.guard.signal("KILL");
            assert!(
                running
                    .guard
                    .wait_timeout(Duration::from_secs(10))
                    .is_some(),
                "{}: still running after SIGKILL",
                receiver.name
            );
            drop(client);
            let after_kill = files_under(&od);

            let restarted = start(&receiver, extra, &od);
            let after_restart = files_under(&od);
            let status = store_one(restarted.port, uid, &data);
            let stored = final_path(&od, uid);
            observe(
                &scenario,
                &receiver,
                format!(
                    "after the kill: {after_kill:?}; after the restart: {after_restart:?}; \
                     the object sent again: {status:04X?}"
                ),
            );
            assert_eq!(status, Some(0x0000), "{}: {scenario}", receiver.name);
            assert_eq!(
                dataset_of_file(&stored),
                data,
                "{}: {scenario}",
                receiver.name
            );
            if receiver.is_ours() {
                // Never a final name for the incomplete object; one temporary (named after the
                // killed run's random start id, not its PID), removed (with a warning) by the
                // next start.
                let temporaries: Vec<&PathBuf> = after_kill.keys().collect();
                assert_eq!(temporaries.len(), 1, "{scenario}: {after_kill:?}");
                let name = temporaries[0].to_string_lossy();
                assert!(
                    is_our_temporary(temporaries[0])
                        && !name.starts_with(&format!(".dcmrecv-tmp-{killed_pid}-")),
                    "{scenario}: {after_kill:?}"
                );
                assert!(after_restart.is_empty(), "{scenario}: {after_restart:?}");
                let log = restarted.guard.stderr();
                assert!(
                    log.contains("W: removed temporary file left by an interrupted transfer: ")
                        && log.contains(&*name)
                        && log.contains("W: removed 1 temporary file(s) left by an earlier run"),
                    "{scenario}: {log}"
                );
            } else if bit_preserving {
                // The real dcmrecv writes +B objects under their final name as they arrive: the
                // killed transfer stays there, incomplete, and nothing notices at restart.
                let name = PathBuf::from(format!("CT.{uid}"));
                let size = after_kill.get(&name).copied();
                assert!(
                    size.is_some_and(|s| s > 0 && s < data.len() as u64),
                    "{scenario}: {after_kill:?}"
                );
                assert_eq!(after_restart, after_kill, "{scenario}");
            } else {
                // Normal mode keeps the data set in memory until it is complete.
                assert!(after_kill.is_empty(), "{scenario}: {after_kill:?}");
            }
        }
    }
}

/// What a client that had an object in flight when SIGTERM arrived saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InFlight {
    /// Never got an A-ASSOCIATE-AC (the real dcmrecv serves one association at a time).
    NotAssociated,
    /// The C-STORE was answered with this status.
    Answered(u16),
    /// The association ended without an answer.
    NoAnswer,
}

#[test]
fn sigterm_with_four_transfers_in_flight_completes_or_drops_each_object_cleanly() {
    let scenario = "SIGTERM with 4 transfers in flight (2 complete after it, 2 stall)";
    for receiver in receivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let od = dir.path().join("out");
        // Ours lets in-flight associations finish for 3 s (DCMTK has no such option).
        let extra: &[&str] = if receiver.is_ours() {
            &["--shutdown-timeout", "3"]
        } else {
            &[]
        };
        let mut running = start(&receiver, extra, &od);
        let port = running.port;
        let (in_flight_tx, in_flight_rx) = std::sync::mpsc::channel::<usize>();
        let go = std::sync::Arc::new(std::sync::Barrier::new(5));
        let objects: Vec<(String, Vec<u8>)> = (0..4)
            .map(|i| {
                let uid = format!("1.2.826.0.1.3680043.10.1145.33.{}", i + 1);
                let (_, data) = ct(&uid, 128);
                (uid, data)
            })
            .collect();
        let clients: Vec<_> = objects
            .iter()
            .cloned()
            .enumerate()
            .map(|(i, (uid, data))| {
                let tx = in_flight_tx.clone();
                let go = std::sync::Arc::clone(&go);
                std::thread::spawn(move || {
                    let Some(mut client) = try_associate(port, &format!("SIGTERM{i}")) else {
                        go.wait();
                        return InFlight::NotAssociated;
                    };
                    send_half(&mut client, &uid, &data);
                    let _ = tx.send(i);
                    go.wait();
                    if i < 2 {
                        // These two finish their objects during the grace period.
                        let rest = &data[(data.len() / 2) & !1..];
                        if !client.send_data_set(PC_CT, rest, 16_000) {
                            return InFlight::NoAnswer;
                        }
                    }
                    match client.read_status() {
                        Some(status) => InFlight::Answered(status),
                        None => InFlight::NoAnswer,
                    }
                })
            })
            .collect();
        drop(in_flight_tx);
        // Ours takes all four at once; the real dcmrecv only one.
        let expected = if receiver.is_ours() { 4 } else { 1 };
        for _ in 0..expected {
            in_flight_rx
                .recv_timeout(Duration::from_secs(10))
                .expect("a transfer in flight");
        }
        wait_until_in_flight(&receiver, &od, false);
        running.guard.signal("TERM");
        let signalled = Instant::now();
        go.wait();
        let status = running.guard.wait_timeout(Duration::from_secs(20));
        let exit_after = signalled.elapsed();
        let outcomes: Vec<InFlight> = clients
            .into_iter()
            .map(|c| c.join().expect("client thread"))
            .collect();
        let left = files_under(&od);
        observe(
            scenario,
            &receiver,
            format!(
                "exit {status:?} after {exit_after:.1?}; clients saw {outcomes:?}; files: {left:?}"
            ),
        );
        // The invariant, for both: an object is stored completely iff success was sent.
        for ((uid, data), outcome) in objects.iter().zip(&outcomes) {
            let path = final_path(&od, uid);
            if *outcome == InFlight::Answered(0x0000) {
                assert_eq!(dataset_of_file(&path), *data, "{}: {uid}", receiver.name);
            } else {
                assert!(
                    !path.exists(),
                    "{}: {uid}: {outcome:?} but {} exists",
                    receiver.name,
                    path.display()
                );
            }
        }
        let status = status.expect("the receiver exits after SIGTERM");
        if receiver.is_ours() {
            assert_eq!(status.code(), Some(0), "{}", running.guard.stderr());
            assert_eq!(
                outcomes,
                [
                    InFlight::Answered(0x0000),
                    InFlight::Answered(0x0000),
                    InFlight::NoAnswer,
                    InFlight::NoAnswer
                ]
            );
            assert!(exit_after < Duration::from_secs(8), "{exit_after:?}");
            assert!(left.keys().all(|p| !is_our_temporary(p)), "{left:?}");
        } else {
            // DCMTK has no signal handler: SIGTERM ends it at once.
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(15));
        }
    }
}

#[test]
fn a_full_disk_refuses_each_object_with_a700_and_the_service_resumes_when_space_returns() {
    for receiver in receivers() {
        for bit_preserving in [false, true] {
            let scenario = format!(
                "disk full (tmpfs), then space freed{}",
                if bit_preserving { " (+B)" } else { "" }
            );
            let fs = Tmpfs::mount(2048);
            let extra: &[&str] = if bit_preserving { &["+B"] } else { &[] };
            let running = start(&receiver, extra, fs.path());
            let filler = fs.fill("filler", 64 * 1024);
            let mut statuses = Vec::new();
            let mut client = try_associate(running.port, "DISKFULL");
            for i in 1..=3u16 {
                let uid = format!("1.2.826.0.1.3680043.10.1145.34.{i}");
                let (_, data) = ct(&uid, 256);
                let status = match client.as_mut() {
                    Some(c) => c.store(PC_CT, i, CT, &uid, &data),
                    None => None,
                };
                statuses.push(status);
                if status.is_none() {
                    // The association is gone (the real dcmrecv aborts in +B mode): go on in a
                    // new one.
                    client = try_associate(running.port, "DISKFULL");
                }
            }
            let while_full = final_files(fs.path());
            let temporaries_while_full = files_under(fs.path()).len() - while_full.len();
            std::fs::remove_file(&filler).expect("free the space");
            let uid = "1.2.826.0.1.3680043.10.1145.34.9";
            let (_, data) = ct(uid, 256);
            let after = match client.as_mut() {
                Some(c) => c.store(PC_CT, 9, CT, uid, &data),
                None => None,
            };
            observe(
                &scenario,
                &receiver,
                format!(
                    "statuses while full: {statuses:04X?}; files: {while_full:?} \
                     (+{temporaries_while_full} temporaries); after freeing: {after:04X?}"
                ),
            );
            let others: Vec<_> = while_full
                .keys()
                .filter(|p| *p != &PathBuf::from("filler"))
                .collect();
            assert!(
                others.is_empty(),
                "{}: {scenario}: partial files {others:?}",
                receiver.name
            );
            if receiver.is_ours() {
                assert_eq!(statuses, [Some(0xA700); 3], "{}", running.guard.stderr());
                assert_eq!(temporaries_while_full, 0);
                assert_eq!(after, Some(0x0000), "{}", running.guard.stderr());
                assert_eq!(dataset_of_file(&final_path(fs.path(), uid)), data);
            }
        }
    }
}

#[test]
fn a_vanished_or_read_only_output_directory_gives_a700_and_no_crash() {
    for receiver in receivers() {
        // Removed (and later re-created) under the running receiver.
        let dir = tempfile::tempdir().expect("tempdir");
        let od = dir.path().join("out");
        let running = start(&receiver, &[], &od);
        let (_, data) = ct("1.2.826.0.1.3680043.10.1145.35.1", 64);
        let mut client = associate(running.port, "VANISH");
        let first = client.store(PC_CT, 1, CT, "1.2.826.0.1.3680043.10.1145.35.1", &data);
        std::fs::remove_dir_all(&od).expect("remove the output directory");
        let gone = client.store(PC_CT, 2, CT, "1.2.826.0.1.3680043.10.1145.35.2", &data);
        let echo = client.echo(PC_ECHO, 3);
        let recreated_by_receiver = od.is_dir();
        std::fs::create_dir_all(&od).expect("re-create the output directory");
        let back = client.store(PC_CT, 4, CT, "1.2.826.0.1.3680043.10.1145.35.3", &data);
        observe(
            "output directory removed, then re-created, while running",
            &receiver,
            format!(
                "before: {first:04X?}; removed: {gone:04X?} (C-ECHO {echo:04X?}, directory re-created by the receiver: {recreated_by_receiver}); re-created: {back:04X?}; files: {:?}",
                files_under(&od)
            ),
        );
        assert_eq!(first, Some(0x0000));
        assert_eq!(echo, Some(0x0000));
        assert_eq!(back, Some(0x0000));
        if receiver.is_ours() {
            assert_eq!(gone, Some(0xA700), "{}", running.guard.stderr());
            assert!(!recreated_by_receiver);
            assert_eq!(
                final_files(&od).into_keys().collect::<Vec<_>>(),
                [PathBuf::from("CT.1.2.826.0.1.3680043.10.1145.35.3")]
            );
        } else {
            // The real dcmrecv creates the missing output directory again and stores.
            assert_eq!(gone, Some(0x0000));
            assert!(recreated_by_receiver);
        }
        client.release();

        // Remounted read-only, then read-write again.
        let fs = Tmpfs::mount(4096);
        let running = start(&receiver, &[], fs.path());
        let mut client = associate(running.port, "READONLY");
        let first = client.store(PC_CT, 1, CT, "1.2.826.0.1.3680043.10.1145.36.1", &data);
        fs.set_read_only(true);
        let read_only = client.store(PC_CT, 2, CT, "1.2.826.0.1.3680043.10.1145.36.2", &data);
        let echo = client.echo(PC_ECHO, 3);
        fs.set_read_only(false);
        let back = client.store(PC_CT, 4, CT, "1.2.826.0.1.3680043.10.1145.36.3", &data);
        observe(
            "output directory remounted read-only, then read-write, while running",
            &receiver,
            format!(
                "before: {first:04X?}; read-only: {read_only:04X?} (C-ECHO {echo:04X?}); read-write: {back:04X?}"
            ),
        );
        assert_eq!(first, Some(0x0000));
        assert_eq!(
            read_only,
            Some(0xA700),
            "{}: {}",
            receiver.name,
            running.guard.stderr()
        );
        assert_eq!(echo, Some(0x0000));
        assert_eq!(back, Some(0x0000));
        assert_eq!(final_files(fs.path()).len(), 2);
        client.release();
    }
}

#[test]
fn the_same_instance_from_two_associations_at_once_gives_one_complete_file() {
    for receiver in receivers() {
        for bit_preserving in [false, true] {
            let (scenario, _, od, running, _dir) = setup(
                &receiver,
                "the same SOP instance sent by two associations at once",
                bit_preserving,
            );
            for round in 1..=3 {
                let uid = format!("1.2.826.0.1.3680043.10.1145.37.{round}");
                // Two different data sets under one SOP Instance UID.
                let (mut a, _) = ct(&uid, 200);
                a.series_date = Some("20200101".to_string());
                let (mut b, _) = ct(&uid, 200);
                b.series_date = Some("20211231".to_string());
                let sent: Vec<Vec<u8>> = [a, b]
                    .iter()
                    .map(|i| i.dataset_bytes(dcmrecv_e2e::raw::EXPLICIT))
                    .collect();
                let port = running.port;
                let senders: Vec<_> = sent
                    .iter()
                    .cloned()
                    .enumerate()
                    .map(|(i, data)| {
                        let uid = uid.clone();
                        std::thread::spawn(move || {
                            let mut client = associate(port, &format!("TWIN{i}"));
                            send_half(&mut client, &uid, &data);
                            // Both halves are in before either object completes (for ours).
                            std::thread::sleep(Duration::from_millis(300));
                            client.send_data_set(PC_CT, &data[(data.len() / 2) & !1..], 16_000);
                            let status = client.read_status();
                            client.release();
                            status
                        })
                    })
                    .collect();
                let statuses: Vec<Option<u16>> = senders
                    .into_iter()
                    .map(|s| s.join().expect("sender"))
                    .collect();
                let files = files_under(&od);
                let stored = dataset_of_file(&final_path(&od, &uid));
                let which = sent.iter().position(|s| *s == stored);
                observe(
                    &scenario,
                    &receiver,
                    format!(
                        "round {round}: statuses {statuses:04X?}; file holds data set {which:?}; files {files:?}"
                    ),
                );
                assert_eq!(statuses, [Some(0x0000); 2], "{}", running.guard.stderr());
                assert!(
                    which.is_some(),
                    "{}: {scenario}: the file is neither data set",
                    receiver.name
                );
                assert_eq!(
                    files.len(),
                    round,
                    "{}: {scenario}: {files:?}",
                    receiver.name
                );
            }
        }
    }
}

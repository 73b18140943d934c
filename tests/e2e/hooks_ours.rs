//! Issue 12 on our receiver: storescp's hooks and sorting options (`-xcr`, `-xcs`, `-rns`, `-tos`,
//! `-xs`, `-su`), the event stream (`--events`) and naming templates (`--output-template`),
//! against the real `/usr/bin/storescp` where storescp has the behaviour (same corpus, same
//! recorder hook as `hooks.rs`), and on their own where we deliberately differ (no shell,
//! end of study per Study Instance UID, never a lost file).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dcmrecv_e2e::clients::{dcmtk_client, run, stderr, store_responses};
use dcmrecv_e2e::disk::files_under;
use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::process::{ChildGuard, free_port, wait_for_port};
use dcmrecv_e2e::receiver::ours_binary;
use dicom_dictionary_std::uids;
use serde_json::Value;

use crate::hooks::{ROOT, args, objects, recorder, send, storescp, tree, wait_for_calls};

/// Our receiver running in `dir` with `+xa` on 127.0.0.1 (so a relative `-od out` and the hooks'
/// relative paths resolve there, as for storescp).
struct Ours {
    port: u16,
    guard: ChildGuard,
}

fn ours(dir: &Path, options: &[&str]) -> Ours {
    std::fs::create_dir_all(dir.join("out")).expect("test setup");
    for _ in 0..3 {
        let port = free_port();
        let mut cmd = Command::new(ours_binary());
        cmd.current_dir(dir)
            .args(["-ba", "127.0.0.1", "+xa"])
            .args(options)
            .arg(port.to_string());
        let mut guard = ChildGuard::spawn(cmd);
        if wait_for_port(port, Duration::from_secs(10)) {
            return Ours { port, guard };
        }
        assert!(
            guard.wait_timeout(Duration::from_millis(10)).is_some(),
            "dcmrecv neither listens nor exits"
        );
    }
    panic!("dcmrecv {options:?} never listened");
}

/// The events written so far, each line parsed by serde_json (a real JSON parser).
fn events(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line:?}"))
        })
        .collect()
}

fn of_kind<'a>(events: &'a [Value], kind: &str) -> Vec<&'a Value> {
    events.iter().filter(|e| e["event"] == kind).collect()
}

fn wait_for_events(path: &Path, kind: &str, n: usize, timeout: Duration) -> Vec<Value> {
    let deadline = Instant::now() + timeout;
    loop {
        let got = events(path);
        if of_kind(&got, kind).len() >= n || Instant::now() > deadline {
            return got;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Stops a receiver with SIGTERM and waits for it to exit (by PID).
fn stop(mut receiver: Ours) -> String {
    receiver.guard.signal("TERM");
    let status = receiver.guard.wait_timeout(Duration::from_secs(20));
    assert!(status.is_some(), "dcmrecv did not exit after SIGTERM");
    receiver.guard.stderr()
}

#[test]
fn reception_hook_placeholders_match_storescp() {
    let corpus = [("a1.dcm", 1, 1), ("a2.dcm", 1, 2), ("b1.dcm", 2, 1)];
    let mut seen = Vec::new();
    for who in ["storescp", "ours"] {
        for sorting in [vec![], vec!["-su", "PFX"]] {
            let dir = tempfile::tempdir().unwrap();
            let rec = recorder(dir.path());
            let files = objects(dir.path(), &corpus);
            let cmd = format!("{rec} rcv #p #f #a #c #r");
            let mut options = vec!["-xs", "-dhl", "-od", "out", "-fe", ".dcm", "-xcr", &cmd];
            options.extend(&sorting);
            let aes = ["-aet", "MY AE", "-aec", "ARCHIVE"];
            let got = if who == "storescp" {
                let scp = storescp(dir.path(), &options);
                assert_eq!(
                    store_responses(&send(scp.port, &aes, &files)),
                    ["Success"; 3]
                );
                wait_for_calls(dir.path(), 3, Duration::from_secs(5))
            } else {
                let receiver = ours(dir.path(), &options);
                assert_eq!(
                    store_responses(&send(receiver.port, &aes, &files)),
                    ["Success"; 3]
                );
                let got = wait_for_calls(dir.path(), 3, Duration::from_secs(5));
                stop(receiver);
                got
            };
            let got: Vec<Vec<String>> = got.into_iter().map(|c| c.args).collect();
            seen.push((who, sorting.clone(), got));
        }
    }
    let (storescp_runs, our_runs) = seen.split_at(2);
    for (theirs, mine) in storescp_runs.iter().zip(our_runs) {
        assert_eq!(theirs.1, mine.1);
        assert_eq!(theirs.2.len(), 3, "storescp {:?}: {:?}", theirs.1, theirs.2);
        assert_eq!(
            mine.2, theirs.2,
            "sorting {:?}: our #p #f #a #c #r are storescp's",
            mine.1
        );
    }
    // And they are what the documentation says.
    assert_eq!(
        our_runs[1].2[2],
        [
            "rcv",
            &format!("out/PFX_{ROOT}.2"),
            &format!("CT.{ROOT}.2.1.dcm"),
            "MY AE",
            "ARCHIVE",
            "127.0.0.1"
        ]
    );
}

#[test]
fn hostile_uids_and_ae_titles_reach_the_hook_as_literal_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let objects_dir = dir.path().join("objects");
    std::fs::create_dir_all(&objects_dir).unwrap();
    let file = objects_dir.join("inj.dcm");
    let mut inst = Instance::ct("1.2.3;$(touch${IFS}UIDMARK)`touch${IFS}UIDMARK`|x");
    inst.study_instance_uid = "../escaped".into();
    inst.write(&file, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let hook = format!("{rec} #p #f #a #c");
    let eos = format!("{rec} eos #p #a");
    let receiver = ours(
        dir.path(),
        &["-xs", "-od", "out", "-su", "", "-xcr", &hook, "-xcs", &eos],
    );
    let calling = "\";touch AEMARK;\"";
    let called = "$(touch CEMARK)";
    let log = send(receiver.port, &["-aet", calling, "-aec", called], &[file]);
    assert_eq!(store_responses(&log), ["Success"]);
    let got = wait_for_calls(dir.path(), 2, Duration::from_secs(5));
    stop(receiver);
    for marker in ["AEMARK", "CEMARK", "UIDMARK", "escaped"] {
        assert!(
            !dir.path().join(marker).exists(),
            "{marker}: a value ran a command or escaped -od"
        );
    }
    assert!(!dir.path().join("out").join("..").join("escaped").exists());
    assert_eq!(got.len(), 2, "{got:?}");
    let call = &got[0];
    assert_eq!(
        call.args[0], "out/.._escaped",
        "the folder stays inside -od"
    );
    assert!(call.args[1].starts_with("CT.1.2.3_"), "{:?}", call.args[1]);
    assert_eq!(
        &call.args[2..],
        [calling, called],
        "AE titles arrive byte for byte"
    );
    assert_eq!(args(&got[1]), ["eos", "out/.._escaped", calling]);
}

/// Two associations at once interleave objects of three studies; then a late object.
#[test]
fn concurrent_senders_get_one_completion_per_study_then_a_revision() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    // Sender 1: A1 B1 C1 A2 B2; sender 2: C2 A3 B3 C3 (all interleaved in time).
    let one = objects(
        dir.path(),
        &[
            ("a1.dcm", 1, 1),
            ("b1.dcm", 2, 1),
            ("c1.dcm", 3, 1),
            ("a2.dcm", 1, 2),
            ("b2.dcm", 2, 2),
        ],
    );
    let two = objects(
        dir.path(),
        &[
            ("c2.dcm", 3, 2),
            ("a3.dcm", 1, 3),
            ("b3.dcm", 2, 3),
            ("c3.dcm", 3, 3),
        ],
    );
    let late = objects(dir.path(), &[("a4.dcm", 1, 4)]);
    let events_file = dir.path().join("events.jsonl");
    let eos = format!("{rec} eos #p #a");
    // A synchronous 0.3 s reception hook paces both senders (the sender waits for it before its
    // next response), so their associations overlap; checked below from the events.
    let receiver = ours(
        dir.path(),
        &[
            "-od",
            "out",
            "-su",
            "S",
            "-xs",
            "-xcr",
            "/bin/sleep 0.3",
            "-xcs",
            &eos,
            "--events",
            events_file.to_str().unwrap(),
        ],
    );
    let port = receiver.port;
    let (log1, log2) = std::thread::scope(|s| {
        let a = s.spawn(|| send(port, &["-aet", "ONE"], &one));
        let b = s.spawn(|| send(port, &["-aet", "TWO"], &two));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert_eq!(store_responses(&log1), ["Success"; 5]);
    assert_eq!(store_responses(&log2), ["Success"; 4]);
    let got = wait_for_events(&events_file, "study-complete", 3, Duration::from_secs(10));
    std::thread::sleep(Duration::from_millis(300));
    let got = {
        let more = events(&events_file);
        assert_eq!(more.len(), got.len(), "no more events after the three");
        more
    };
    let kinds: Vec<&str> = got.iter().map(|e| e["event"].as_str().unwrap()).collect();
    let first_end = kinds
        .iter()
        .position(|k| *k == "association-ended")
        .unwrap();
    assert_eq!(
        kinds[..first_end]
            .iter()
            .filter(|k| **k == "association-started")
            .count(),
        2,
        "the two associations overlapped: {kinds:?}"
    );
    let done = of_kind(&got, "study-complete");
    let mut per_study: Vec<(String, u64, u64)> = done
        .iter()
        .map(|e| {
            (
                e["study_instance_uid"].as_str().unwrap().to_string(),
                e["revision"].as_u64().unwrap(),
                e["objects"].as_u64().unwrap(),
            )
        })
        .collect();
    per_study.sort();
    assert_eq!(
        per_study,
        [
            (format!("{ROOT}.1"), 1, 3),
            (format!("{ROOT}.2"), 1, 3),
            (format!("{ROOT}.3"), 1, 3),
        ],
        "exactly one study-complete per study"
    );
    for e in &done {
        let paths = e["paths"].as_array().unwrap();
        assert_eq!(paths.len() as u64, e["objects"].as_u64().unwrap());
        for p in paths {
            assert!(
                dir.path().join(p.as_str().unwrap()).is_file(),
                "{p}: a completed study lists files that exist"
            );
        }
        assert_eq!(e["reason"], "associations-ended");
    }
    assert_eq!(of_kind(&got, "association-started").len(), 2);
    assert_eq!(of_kind(&got, "association-ended").len(), 2);
    let stored = of_kind(&got, "instance-stored");
    assert_eq!(stored.len(), 9);
    for e in &stored {
        assert_eq!(e["status"], 0);
        let path = dir.path().join(e["path"].as_str().unwrap());
        assert!(path.is_file(), "{path:?}");
        assert!(e["bytes"].as_u64().unwrap() > 0);
        assert!(e["study_instance_uid"].as_str().unwrap().starts_with(ROOT));
        assert!(e["series_instance_uid"].as_str().unwrap().ends_with(".1"));
        assert_eq!(e["transfer_syntax_uid"], uids::EXPLICIT_VR_LITTLE_ENDIAN);
        assert_eq!(e["called_ae"], "ANY-SCP");
        assert_eq!(e["remote_host"], "localhost");
    }
    let hooks = wait_for_calls(dir.path(), 3, Duration::from_secs(5));
    let mut folders: Vec<&str> = hooks.iter().map(|c| c.args[1].as_str()).collect();
    folders.sort_unstable();
    assert_eq!(
        folders,
        [
            format!("out/S_{ROOT}.1"),
            format!("out/S_{ROOT}.2"),
            format!("out/S_{ROOT}.3"),
        ]
    );

    // A late object of study A: revision 2, with only that object, and the hook once more.
    let log = send(port, &["-aet", "LATE"], &late);
    assert_eq!(store_responses(&log), ["Success"]);
    let got = wait_for_events(&events_file, "study-complete", 4, Duration::from_secs(10));
    let done = of_kind(&got, "study-complete");
    assert_eq!(done.len(), 4);
    let last = done[3];
    assert_eq!(last["study_instance_uid"], format!("{ROOT}.1"));
    assert_eq!(last["revision"], 2);
    assert_eq!(last["objects"], 1);
    assert_eq!(last["calling_ae"], "LATE");
    let hooks = wait_for_calls(dir.path(), 4, Duration::from_secs(5));
    assert_eq!(args(&hooks[3]), ["eos", &format!("out/S_{ROOT}.1"), "LATE"]);
    let log = stop(receiver);
    let after = events(&events_file);
    assert_eq!(
        of_kind(&after, "study-complete").len(),
        4,
        "nothing left open at shutdown: {log}"
    );
}

#[test]
fn failing_and_hanging_hooks_change_no_status() {
    let dir = tempfile::tempdir().unwrap();
    let hang = dir.path().join("hang.sh");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 30\n").unwrap();
    std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let files = objects(dir.path(), &[("a1.dcm", 1, 1), ("a2.dcm", 1, 2)]);
    for (hook, sync) in [
        ("/bin/false #f".to_string(), false),
        ("/bin/false #f".to_string(), true),
        (format!("{} #f", hang.display()), false),
        (format!("{} #f", hang.display()), true),
        ("/nonexistent/hook #f".to_string(), false),
    ] {
        let out = dir.path().join(format!("out-{}", free_port()));
        std::fs::create_dir_all(&out).unwrap();
        let mut options = vec![
            "-od",
            out.to_str().unwrap(),
            "-xcr",
            &hook,
            "--exec-timeout",
            "1",
        ];
        if sync {
            options.push("-xs");
        }
        let receiver = ours(dir.path(), &options);
        let started = Instant::now();
        let log = send(receiver.port, &[], &files);
        assert_eq!(
            store_responses(&log),
            ["Success", "Success"],
            "{hook} (sync {sync})"
        );
        if !sync {
            assert!(
                started.elapsed() < Duration::from_secs(3),
                "{hook}: background hooks do not hold the sender"
            );
        }
        assert_eq!(files_under(&out).len(), 2, "{hook}");
        let log = stop(receiver);
        assert!(
            log.contains("hook") && (log.contains("W:") || log.contains("E:")),
            "{hook}: the failure is logged: {log}"
        );
    }
}

#[test]
fn sigterm_runs_the_queued_hooks_of_acknowledged_objects() {
    let dir = tempfile::tempdir().unwrap();
    let slow = dir.path().join("slow.sh");
    std::fs::write(
        &slow,
        "#!/bin/sh\nsleep 0.4\ntouch \"$(dirname \"$0\")/done.$1\"\n",
    )
    .unwrap();
    std::fs::set_permissions(&slow, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let files = objects(
        dir.path(),
        &[
            ("a1.dcm", 1, 1),
            ("a2.dcm", 1, 2),
            ("a3.dcm", 1, 3),
            ("a4.dcm", 1, 4),
            ("a5.dcm", 1, 5),
        ],
    );
    let hook = format!("{} #f", slow.display());
    let receiver = ours(
        dir.path(),
        &["-od", "out", "-xcr", &hook, "--exec-workers", "1"],
    );
    let log = send(receiver.port, &[], &files);
    assert_eq!(store_responses(&log), ["Success"; 5]);
    let done = |n: u32| dir.path().join(format!("done.CT.{ROOT}.1.{n}")).exists();
    assert!(
        !(1..=5).all(done),
        "hooks still queued when SIGTERM arrives"
    );
    let log = stop(receiver);
    for n in 1..=5 {
        assert!(
            done(n),
            "object {n} was acknowledged, so its hook ran: {log}"
        );
    }
}

#[test]
fn rename_on_end_of_study_numbers_files_and_never_replaces_one() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    // storescp loses the first object of A with this sequence (hooks.rs); we must not.
    let files = objects(
        dir.path(),
        &[("a1.dcm", 1, 1), ("b1.dcm", 2, 1), ("a2.dcm", 1, 2)],
    );
    let eos = format!("{rec} eos #p");
    let receiver = ours(
        dir.path(),
        &[
            "-od", "out", "-su", "S", "-fe", ".dcm", "-rns", "-tos", "1", "-xcs", &eos,
        ],
    );
    let log = send(receiver.port, &[], &files);
    assert_eq!(store_responses(&log), ["Success"; 3]);
    let got = wait_for_calls(dir.path(), 2, Duration::from_secs(6));
    assert_eq!(got.len(), 2, "one end of study per study");
    // A late object of A: revision 2 continues the numbering.
    let late = objects(dir.path(), &[("a3.dcm", 1, 3)]);
    let log = send(receiver.port, &[], &late);
    assert_eq!(store_responses(&log), ["Success"]);
    let got = wait_for_calls(dir.path(), 3, Duration::from_secs(6));
    assert_eq!(got.len(), 3);
    stop(receiver);
    assert_eq!(
        tree(&dir.path().join("out")),
        [
            format!("S_{ROOT}.1"),
            format!("S_{ROOT}.1/CT000001"),
            format!("S_{ROOT}.1/CT000002"),
            format!("S_{ROOT}.1/CT000003"),
            format!("S_{ROOT}.2"),
            format!("S_{ROOT}.2/CT000001"),
        ]
    );
    let mut instances: Vec<String> = (1..=3)
        .map(|n| {
            let f = dicom_object::open_file(dir.path().join(format!("out/S_{ROOT}.1/CT00000{n}")))
                .unwrap();
            f.element(dicom_dictionary_std::tags::SOP_INSTANCE_UID)
                .unwrap()
                .to_str()
                .unwrap()
                .trim_end_matches('\0')
                .to_string()
        })
        .collect();
    instances.sort();
    assert_eq!(
        instances,
        [
            format!("{ROOT}.1.1"),
            format!("{ROOT}.1.2"),
            format!("{ROOT}.1.3")
        ],
        "every acknowledged object of A is kept"
    );
}

#[test]
fn hostile_template_values_stay_inside_the_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let objects_dir = dir.path().join("objects");
    std::fs::create_dir_all(&objects_dir).unwrap();
    let hostile = [
        "/etc/cron.d/x",
        "../../escape",
        "..",
        "a/../../b",
        "x\u{1b}[31m\\y",
        "",
        &"L".repeat(300),
    ];
    let files: Vec<PathBuf> = hostile
        .iter()
        .enumerate()
        .map(|(i, pid)| {
            let mut inst = Instance::ct(&format!("{ROOT}.9.{}", i + 1));
            inst.patient_id = pid.to_string();
            inst.study_instance_uid = format!("{ROOT}.9");
            let path = objects_dir.join(format!("h{i}.dcm"));
            inst.write(&path, uids::EXPLICIT_VR_LITTLE_ENDIAN);
            path
        })
        .collect();
    let events_file = dir.path().join("ev.jsonl");
    let receiver = ours(
        dir.path(),
        &[
            "-od",
            "out",
            "--output-template",
            "{PatientID}/{StudyDate:YYYY}/{Modality}.{SOPInstanceUID}.dcm",
            "--events",
            events_file.to_str().unwrap(),
        ],
    );
    let log = send(receiver.port, &[], &files);
    assert_eq!(store_responses(&log), ["Success"; 7]);
    let log = stop(receiver);
    // Nothing outside -od: the temp dir holds only what the test and the receiver made.
    let mut top: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    top.sort();
    assert_eq!(top, ["ev.jsonl", "objects", "out"]);
    assert!(!Path::new("/etc/cron.d/x").exists());
    let stored: Vec<String> = of_kind(&events(&events_file), "instance-stored")
        .iter()
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored.len(), 7);
    let on_disk = files_under(&dir.path().join("out"));
    assert_eq!(on_disk.len(), 7, "{on_disk:?}");
    let n = |i: u32| format!("{ROOT}.9.{i}");
    let expected = [
        format!("out/_etc_cron.d_x/2020/CT.{}.dcm", n(1)),
        format!("out/.._.._escape/2020/CT.{}.dcm", n(2)),
        // `..`: the documented fallback, DCMTK's name in -od.
        format!("out/CT.{}", n(3)),
        format!("out/a_.._.._b/2020/CT.{}.dcm", n(4)),
        // The first value only (a backslash separates values); ESC and `[` mapped.
        format!("out/x__31m/2020/CT.{}.dcm", n(5)),
        // Empty: no value and no fallback.
        format!("out/CT.{}", n(6)),
        // Longer than the scanner keeps (256 bytes): treated as missing.
        format!("out/CT.{}", n(7)),
    ];
    assert_eq!(stored, expected, "{log}");
    for p in &stored {
        assert!(dir.path().join(p).is_file(), "{p}");
    }
    assert!(
        log.contains("--output-template cannot name this object"),
        "{log}"
    );
}

#[test]
fn with_fsync_every_event_names_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let files = objects(dir.path(), &[("a1.dcm", 1, 1), ("a2.dcm", 1, 2)]);
    let events_file = dir.path().join("ev.jsonl");
    let receiver = ours(
        dir.path(),
        &[
            "-od",
            "out",
            "+fs",
            "--events",
            events_file.to_str().unwrap(),
        ],
    );
    let mut cmd = dcmtk_client("storescu", receiver.port, &["-v"], &files);
    let out = run({
        cmd.env("TCP_NODELAY", "1");
        cmd
    });
    assert_eq!(store_responses(&stderr(&out)), ["Success"; 2]);
    let got = events(&events_file);
    let kinds: Vec<&str> = got.iter().map(|e| e["event"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "association-started",
            "instance-stored",
            "instance-stored",
            "association-ended",
            "study-complete"
        ]
    );
    for e in of_kind(&got, "instance-stored") {
        assert!(dir.path().join(e["path"].as_str().unwrap()).is_file());
    }
    stop(receiver);
}

#[test]
fn sort_folders_have_storescps_names_one_per_study() {
    fn timestamped(name: &str, prefix: &str) -> bool {
        let Some(rest) = name.strip_prefix(prefix) else {
            return false;
        };
        let b = rest.as_bytes();
        b.len() == 18
            && b[8] == b'_'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 8 || c.is_ascii_digit())
    }
    for (option, prefix) in [
        (vec!["-ss", "PFX"], "PFX_"),
        (vec!["-ss", ""], ""),
        (vec!["-sp"], "Synthetic_Test_"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let rec = recorder(dir.path());
        // A, B, A: storescp makes three folders (a new one each time the study changes).
        let files = objects(
            dir.path(),
            &[("a1.dcm", 1, 1), ("b1.dcm", 2, 1), ("a2.dcm", 1, 2)],
        );
        let hook = format!("{rec} #p");
        let mut options = vec!["-xs", "-od", "out", "-xcr", &hook];
        options.extend(&option);
        let receiver = ours(dir.path(), &options);
        assert_eq!(
            store_responses(&send(receiver.port, &[], &files)),
            ["Success"; 3]
        );
        let got = wait_for_calls(dir.path(), 3, Duration::from_secs(5));
        stop(receiver);
        let folders: Vec<&str> = got
            .iter()
            .map(|c| c.args[0].strip_prefix("out/").unwrap())
            .collect();
        assert_eq!(folders.len(), 3);
        for f in &folders {
            assert!(timestamped(f, prefix), "{option:?}: {f}");
        }
        assert_ne!(folders[0], folders[1], "{option:?}: a folder per study");
        assert_eq!(folders[0], folders[2], "{option:?}: A keeps its folder");
    }
}

#[test]
fn end_of_study_timeout_spans_associations_and_failures_are_events() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(dir.path());
    let files = objects(dir.path(), &[("a1.dcm", 1, 1), ("a2.dcm", 1, 2)]);
    let objects_dir = dir.path().join("objects");
    let no_study = objects_dir.join("nostudy.dcm");
    let mut inst = Instance::ct(&format!("{ROOT}.7.1"));
    inst.study_instance_uid = String::new();
    inst.write(&no_study, uids::EXPLICIT_VR_LITTLE_ENDIAN);
    let events_file = dir.path().join("ev.jsonl");
    let eos = format!("{rec} eos #p");
    let receiver = ours(
        dir.path(),
        &[
            "-od",
            "out",
            "-su",
            "S",
            "-tos",
            "2",
            "-xcs",
            &eos,
            "--events",
            events_file.to_str().unwrap(),
        ],
    );
    // The study's objects come over two associations, one after the other.
    assert_eq!(
        store_responses(&send(receiver.port, &[], &files[..1])),
        ["Success"]
    );
    assert_eq!(
        store_responses(&send(receiver.port, &[], &files[1..])),
        ["Success"]
    );
    let last = Instant::now();
    // Sorting needs a Study Instance UID: 0xC000, as storescp, and an instance-failed event.
    let log = send(receiver.port, &[], &[no_study]);
    let responses = store_responses(&log);
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0], "Error: CannotUnderstand", "{log}");
    let got = wait_for_calls(dir.path(), 1, Duration::from_secs(6));
    let after = last.elapsed();
    assert_eq!(args(&got[0]), ["eos", &format!("out/S_{ROOT}.1")]);
    assert!(
        after >= Duration::from_millis(1800),
        "-tos 2 fired {after:?} after the last object"
    );
    let ev = events(&events_file);
    let done = of_kind(&ev, "study-complete");
    assert_eq!(done.len(), 1);
    assert_eq!(done[0]["objects"], 2);
    assert_eq!(done[0]["associations"], 2);
    assert_eq!(done[0]["reason"], "idle-timeout");
    let failed = of_kind(&ev, "instance-failed");
    assert_eq!(failed.len(), 1);
    assert_eq!(failed[0]["status"], 0xC000);
    assert_eq!(failed[0]["sop_instance_uid"], format!("{ROOT}.7.1"));
    assert!(
        failed[0]["reason"]
            .as_str()
            .unwrap()
            .contains("Study Instance UID"),
        "{}",
        failed[0]
    );
    stop(receiver);
}

#[test]
fn bad_pipeline_options_fail_at_start_up_with_exit_code_1() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/dir/events.jsonl");
    let receiver = dcmrecv_e2e::receiver::Receiver::ours();
    for (args, message) in [
        (
            vec!["--events", missing.to_str().unwrap()],
            "cannot open events file",
        ),
        (
            vec!["-xcr", "touch x; rm -rf y"],
            "needs a shell, and hooks run without one",
        ),
        (
            vec!["-xcr", "sh -c 'gzip #p'"],
            "placeholder inside the script of sh -c",
        ),
        (
            vec!["--output-template", "../{PatientID}"],
            "Invalid value for option --output-template",
        ),
        (
            vec!["-rns"],
            "--rename-on-eostudy only allowed with --sort-conc-studies",
        ),
    ] {
        let mut all = vec!["+xa", "-od", dir.path().to_str().unwrap()];
        all.extend(&args);
        all.push("104");
        let out = receiver.run(&all);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains(message), "{args:?}: {err}");
    }
}

/// storescp's measured `-xs` (hooks.rs): the response first, then the hook, and the sender waits
/// for it before its next response; without `-xs` the sender never waits.
#[test]
fn exec_sync_runs_after_the_response_as_storescps() {
    for sync in [true, false] {
        crate::hooks::exec_sync_timing(sync, |dir, options| {
            let receiver = ours(dir, options);
            (
                receiver.port,
                Box::new(move || {
                    stop(receiver);
                }),
            )
        });
    }
}

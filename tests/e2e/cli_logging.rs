//! The log of the built `dcmrecv` next to the real dcmrecv's for the same associations: `-v` lines, `+v` negotiation dumps, our per-association summary line and
//! `--log-format json`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dcmrecv_e2e::clients::{assert_success, echoscu, storescu};
use dcmrecv_e2e::compare::read_meta;
use dcmrecv_e2e::objects::write_large_object;
use dcmrecv_e2e::peers::pydicom_file;
use dcmrecv_e2e::receiver::{Receiver, Running};

const WAIT: Duration = Duration::from_secs(20);
const CT_SMALL_UID: &str = "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322";

/// The line each receiver logs last for an association, so the log is complete once it has
/// appeared once per association.
fn end_marker(receiver: &Receiver) -> &'static str {
    if receiver.name == "ours" {
        "association finished ("
    } else {
        "Received Association Release Request"
    }
}

/// Starts `receiver` with `args`, runs one storescu association (CT_small, default contexts)
/// and one echoscu association, and returns the log with the output directory masked.
fn transcript(receiver: &Receiver, args: &[&str]) -> Vec<String> {
    let od = tempfile::tempdir().expect("tempdir");
    let running = receiver.start(args, od.path()).expect("start receiver");
    let marker = end_marker(receiver);
    assert_success(
        &storescu(running.port, &[], &[pydicom_file("CT_small.dcm")]),
        "storescu",
    );
    assert!(
        running.guard.wait_for_log_count(marker, 1, WAIT),
        "{}",
        running.guard.stderr()
    );
    assert_success(&echoscu(running.port, &[]), "echoscu");
    assert!(
        running.guard.wait_for_log_count(marker, 2, WAIT),
        "{}",
        running.guard.stderr()
    );
    let log = running.guard.stderr();
    drop(running);
    log.replace(&od.path().display().to_string(), "<od>")
        .lines()
        .map(str::to_string)
        .collect()
}

/// Removes our summary lines (the one allowed addition) and checks their shape.
fn without_summaries(mut lines: Vec<String>, expected: &[&str]) -> Vec<String> {
    let summaries: Vec<String> = lines
        .iter()
        .filter(|l| l.starts_with("I: association finished ("))
        .cloned()
        .collect();
    assert_eq!(summaries.len(), expected.len(), "{lines:#?}");
    for (line, start) in summaries.iter().zip(expected) {
        assert!(
            line.starts_with(start),
            "{line:?} should start with {start:?}"
        );
        assert!(line.ends_with(" MB/s)"), "{line:?}");
    }
    lines.retain(|l| !l.starts_with("I: association finished ("));
    lines
}

const SUMMARIES: [&str; 2] = [
    "I: association finished (released): 1 objects (0 failed), 0.0 MB in ",
    "I: association finished (released): 0 objects (0 failed), 0.0 MB in ",
];

#[test]
fn verbose_lines_are_dcmrecvs() {
    let args = ["-v", "-xf", "/etc/dcmtk/storescp.cfg", "Default"];
    let theirs = transcript(&Receiver::dcmtk(), &args);
    let ours = without_summaries(transcript(&Receiver::ours(), &args), &SUMMARIES);
    assert_eq!(ours, theirs);
    // The comparison is not vacuous: these are the log lines DCMTK prints.
    assert_eq!(
        theirs,
        [
            "I: configuring service class provider ...",
            "I: starting service class provider and listening ...",
            "I: Association Received localhost: STORESCU -> ANY-SCP",
            "I: Association Acknowledged (Max Send PDV: 16372)",
            "I: Received C-STORE Request (MsgID 1)",
            &format!("I: Stored received object to file: <od>/CT.{CT_SMALL_UID}"),
            "I: Sending C-STORE Response (Success)",
            "I: Received Association Release Request",
            "I: Association Received localhost: ECHOSCU -> ANY-SCP",
            "I: Association Acknowledged (Max Send PDV: 16372)",
            "I: Received C-ECHO Request (MsgID 1)",
            "I: Sending C-ECHO Response (Success)",
            "I: Received Association Release Request",
        ]
    );
}

#[test]
fn verbose_pc_dumps_are_dcmrecvs_but_for_our_implementation_identity() {
    let args = ["-v", "+v", "-xf", "/etc/dcmtk/storescp.cfg", "Default"];
    let mask = |lines: Vec<String>| -> Vec<String> {
        lines
            .into_iter()
            .map(|l| {
                for key in [
                    "I: Our Implementation Class UID:",
                    "I: Our Implementation Version Name:",
                ] {
                    if l.starts_with(key) {
                        return format!("{key} <masked>");
                    }
                }
                l
            })
            .collect()
    };
    let theirs = mask(transcript(&Receiver::dcmtk(), &args));
    let ours = mask(without_summaries(
        transcript(&Receiver::ours(), &args),
        &SUMMARIES,
    ));
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(a, b, "line {}", i + 1);
    }
    assert_eq!(ours.len(), theirs.len());
    // Two RQ/AC pairs, with storescu's many proposed contexts and the accepted ones.
    for needle in [
        "I: ====================== BEGIN A-ASSOCIATE-RQ =====================",
        "I: ====================== BEGIN A-ASSOCIATE-AC =====================",
    ] {
        assert_eq!(theirs.iter().filter(|l| *l == needle).count(), 2);
    }
    assert!(theirs.len() > 1000, "{} lines", theirs.len());
    assert!(
        theirs
            .iter()
            .any(|l| l == "I:     Abstract Syntax: =CTImageStorage")
    );
    // storescu proposes 128 contexts, all in the Default profile; echoscu one.
    let accepted = theirs.iter().filter(|l| l.ends_with(" (Accepted)")).count();
    assert_eq!(accepted, 129);
}

/// The length of the data set of a Part-10 file (what a sender transmits, when it sends the
/// file's own transfer syntax and the file has no sequences to re-encode).
fn data_set_len(path: &Path) -> u64 {
    let bytes = std::fs::read(path).expect("read file");
    let (_, offset) = read_meta(&bytes).expect("a Part-10 file");
    (bytes.len() - offset) as u64
}

#[test]
fn summary_line_and_json_lines() {
    let work = tempfile::tempdir().expect("tempdir");
    let od = work.path().join("out");
    std::fs::create_dir(&od).expect("mkdir");
    // Two synthetic objects; the second cannot be stored because a directory has its name.
    let files: Vec<PathBuf> = ["3", "2"]
        .iter()
        .map(|mib| {
            let uid = format!("1.2.826.0.1.3680043.10.1145.51.{mib}");
            let path = work.path().join(format!("{mib}.dcm"));
            write_large_object(&path, &uid, mib.parse::<u64>().expect("number") << 20);
            path
        })
        .collect();
    std::fs::create_dir(od.join("SCw.1.2.826.0.1.3680043.10.1145.51.2")).expect("mkdir");
    let running: Running = Receiver::ours()
        .start(
            &[
                "-v",
                "--log-format",
                "json",
                "-xf",
                "/etc/dcmtk/storescp.cfg",
                "Default",
            ],
            &od,
        )
        .expect("start ours");
    let out = storescu(running.port, &[], &files);
    let log = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        dcmrecv_e2e::clients::store_responses(&log),
        ["Success", "Refused: OutOfResources"],
        "{log}"
    );
    assert_success(&echoscu(running.port, &["--abort"]), "echoscu --abort");
    assert!(
        running
            .guard
            .wait_for_log_count("association finished (", 2, WAIT),
        "{}",
        running.guard.stderr()
    );
    let text = running.guard.stderr();
    drop(running);

    let events: Vec<serde_json::Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
        .collect();
    for event in &events {
        for key in ["timestamp", "level", "message", "target"] {
            assert!(event.get(key).is_some(), "no {key} in {event}");
        }
    }
    let message = |e: &serde_json::Value| e["message"].as_str().unwrap_or("").to_string();
    let received = events
        .iter()
        .find(|e| message(e) == "Association Received localhost: STORESCU -> ANY-SCP")
        .unwrap_or_else(|| panic!("no Association Received event:\n{text}"));
    assert_eq!(received["level"], "INFO");
    assert_eq!(received["span"]["calling"], "STORESCU");
    assert_eq!(received["span"]["called"], "ANY-SCP");

    let summaries: Vec<&serde_json::Value> = events
        .iter()
        .filter(|e| message(e).starts_with("association finished ("))
        .collect();
    assert_eq!(summaries.len(), 2, "{text}");
    let bytes: u64 = files.iter().map(|f| data_set_len(f)).sum();
    let first = summaries[0];
    assert_eq!(first["objects"], 1);
    assert_eq!(first["failed"], 1);
    assert_eq!(first["bytes"], bytes);
    assert_eq!(first["end"], "released");
    let seconds = first["seconds"].as_f64().expect("seconds");
    assert!(seconds > 0.0 && seconds < 60.0, "{seconds}");
    let expected = format!(
        "association finished (released): 1 objects (1 failed), {:.1} MB in {seconds:.3} s (",
        bytes as f64 / 1e6
    );
    assert!(
        message(first).starts_with(&expected),
        "{} vs {expected}",
        message(first)
    );
    let aborted = summaries[1];
    assert_eq!(aborted["end"], "peer aborted");
    assert!(
        message(aborted)
            .starts_with("association finished (peer aborted): 0 objects (0 failed), 0.0 MB in "),
        "{}",
        message(aborted)
    );
}

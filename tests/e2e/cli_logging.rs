//! The log of the built `dcmrecv` next to the real dcmrecv's for the same associations: `-v`
//! lines, `+v` negotiation dumps, `-d` DIMSE message dumps, unrecognised PDU types, our
//! per-association summary line and `--log-format json`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use dcmrecv_e2e::clients::{assert_success, echoscu, stderr, storescu};
use dcmrecv_e2e::compare::read_meta;
use dcmrecv_e2e::objects::write_large_object;
use dcmrecv_e2e::peers::pydicom_file;
use dcmrecv_e2e::raw::{CT, Client, pdu};
use dcmrecv_e2e::receiver::{Receiver, Running};

use crate::support::{PC_CT, associate, receivers};

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

/// Starts `receiver` with `args`, then: one storescu association (CT_small stored; MR_small
/// refused with 0xA700, a directory having its name), one echoscu association, and a raw
/// association that sends an empty data set (0xC000). Returns the log, output directory masked.
fn debug_transcript(receiver: &Receiver, args: &[&str]) -> Vec<String> {
    let od = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(od.path().join(format!("MR.{MR_SMALL_UID}"))).expect("mkdir");
    let running = receiver.start(args, od.path()).expect("start receiver");
    let marker = end_marker(receiver);
    let out = storescu(
        running.port,
        &[],
        &[pydicom_file("CT_small.dcm"), pydicom_file("MR_small.dcm")],
    );
    assert_eq!(
        dcmrecv_e2e::clients::store_responses(&stderr(&out)),
        ["Success", "Refused: OutOfResources"],
        "{}",
        stderr(&out)
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
    let mut client = associate(running.port, "RAWSCU");
    let status = client.store(PC_CT, 5, CT, "1.2.826.0.1.3680043.10.1145.15.5", &[]);
    assert_eq!(status, Some(0xC000), "{}: empty data set", receiver.name);
    client.release();
    assert!(
        running.guard.wait_for_log_count(marker, 3, WAIT),
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

const MR_SMALL_UID: &str = "1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457";

/// The DEBUG lines next to the DIMSE dumps that we print as DCMTK does.
const DEBUG_LINES_WE_MATCH: [&str; 4] = [
    "D: Received dataset on presentation context ",
    "D: checking and processing C-STORE request",
    "D: generated filename for received object: ",
    "D: C-ECHO Response successfully sent",
];

/// What of a `-d` log both receivers print: every line above DEBUG, the DIMSE message dumps,
/// and [`DEBUG_LINES_WE_MATCH`]. Left out are the A-ASSOCIATE dumps (compared, but for our
/// identity, by `verbose_pc_dumps_are_dcmrecvs_but_for_our_implementation_identity`) and DCMTK's
/// internal DEBUG lines (PDU hex dumps, `DcmDataset::read()`, `DcmFileFormat::...`, network
/// timeouts), which have no counterpart in ours.
fn dimse_view(lines: Vec<String>) -> Vec<String> {
    let mut in_dump = false;
    lines
        .into_iter()
        .filter(|line| {
            if line.ends_with(" DIMSE MESSAGE ====================") {
                in_dump = true;
            }
            let keep = in_dump
                || !line.starts_with("D: ")
                || DEBUG_LINES_WE_MATCH.iter().any(|p| line.starts_with(p));
            if line == "D: ======================= END DIMSE MESSAGE =======================" {
                in_dump = false;
            }
            keep
        })
        .collect()
}

// See: issue 15, item 5 ("`-d` prints DCMTK's INCOMING/OUTGOING DIMSE MESSAGE blocks").
#[test]
fn debug_dimse_dumps_are_dcmrecvs() {
    let args = ["-d", "-xf", "/etc/dcmtk/storescp.cfg", "Default"];
    let mut theirs = dimse_view(debug_transcript(&Receiver::dcmtk(), &args));
    let mut ours = dimse_view(without_summaries(
        debug_transcript(&Receiver::ours(), &args),
        &[
            "I: association finished (released): 1 objects (1 failed), ",
            "I: association finished (released): 0 objects (0 failed), ",
            "I: association finished (released): 0 objects (1 failed), ",
        ],
    ));
    // Not about the dumps: we warn about the empty data set (DCMTK answers 0xC000 without a
    // word), and our acceptor answers it without handing it to the storage policy, so DCMTK's
    // last "checking and processing" line has no counterpart.
    let warning = ours
        .iter()
        .position(|l| l == "W: received an empty data set");
    ours.remove(warning.expect("our warning about the empty data set"));
    let checking = theirs
        .iter()
        .rposition(|l| l == "D: checking and processing C-STORE request");
    theirs.remove(checking.expect("DCMTK checks the empty data set"));
    for (i, (a, b)) in ours.iter().zip(&theirs).enumerate() {
        assert_eq!(
            a,
            b,
            "line {}\nours:\n{ours:#?}\ntheirs:\n{theirs:#?}",
            i + 1
        );
    }
    assert_eq!(ours.len(), theirs.len(), "{ours:#?}\n{theirs:#?}");
    // The comparison is not vacuous: four dumps of requests, three of responses, each status,
    // and at DEBUG DCMTK's INFO lines without the message ID and status.
    let count = |needle: &str| theirs.iter().filter(|l| *l == needle).count();
    assert_eq!(
        count("D: ===================== INCOMING DIMSE MESSAGE ===================="),
        4
    );
    assert_eq!(
        count("D: ===================== OUTGOING DIMSE MESSAGE ===================="),
        3
    );
    for status in [
        "0x0000: Success",
        "0xa700: Refused: Out of resources",
        "0xc000: Error: Cannot understand",
    ] {
        assert_eq!(
            count(&format!("D: DIMSE Status                  : {status}")),
            1,
            "{status}"
        );
    }
    assert_eq!(count("D: Message Type                  : C-ECHO RQ"), 1);
    assert_eq!(
        count("D: Affected SOP Class UID        : CTImageStorage"),
        4,
        "{theirs:#?}"
    );
    assert_eq!(count("I: Received C-STORE Request"), 3);
    assert_eq!(count("I: Sending C-STORE Response"), 3);
    assert_eq!(count("I: Sending C-ECHO Response"), 1);
    assert!(!theirs.iter().any(|l| l.contains("(MsgID")), "{theirs:#?}");
}

// See: issue 15, item 5 ("an unrecognised PDU type is logged in hex as DCMTK does").
#[test]
fn unrecognised_pdu_types_are_logged_in_hex() {
    for receiver in receivers() {
        let od = tempfile::tempdir().expect("tempdir");
        let running = receiver.start_local(
            &["-d", "-xf", "/etc/dcmtk/storescp.cfg", "Default"],
            od.path(),
        );
        // Before an association: DCMTK closes the connection without an answer.
        let mut client = Client::local(running.port);
        client.send(&pdu(0x47, &[0; 4]));
        let (_, ended) = client.wait_for_end(WAIT);
        assert!(ended.is_some(), "{}", receiver.name);
        let line = "E: Could not receive association request: Unrecognized PDU type: 47\n";
        assert!(
            running.guard.wait_for_log(line, WAIT),
            "{}: {}",
            receiver.name,
            running.guard.stderr()
        );
        // On an established association: an A-ABORT, and DCMTK's condition chain at DEBUG.
        let mut client = associate(running.port, "RAWSCU");
        client.send(&pdu(0x47, &[0; 4]));
        client.expect_abort();
        let lines = "D: DIMSE Error, detail (if available): 0006:020d DIMSE Failed to receive message\n\
                     D: 0006:020c DIMSE Read PDV failed\n\
                     D: 0006:0321 Unrecognized PDU type: 47\n";
        assert!(
            running.guard.wait_for_log(lines, WAIT),
            "{}: {}",
            receiver.name,
            running.guard.stderr()
        );
        // Single-digit types are padded with a space (DCMTK's `%2x`).
        let mut client = Client::local(running.port);
        client.send(&pdu(0x0b, &[0; 4]));
        let _ = client.wait_for_end(WAIT);
        let line = "E: Could not receive association request: Unrecognized PDU type:  b\n";
        assert!(
            running.guard.wait_for_log(line, WAIT),
            "{}: {}",
            receiver.name,
            running.guard.stderr()
        );
    }
}

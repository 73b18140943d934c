//! Our extensions of the command line (none of them is in DCMTK), each against real peers:
//! `+xa`, `-ba`, `--max-associations`, `+fs`, `--allow-calling` / `--allow-called`.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dcmrecv_e2e::clients::{assert_success, dcmsend, echoscu, stderr};
use dcmrecv_e2e::compare::{Difference, compare_datasets, meta_text};
use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::peers::{pydicom_file, python_output};
use dcmrecv_e2e::process::ChildGuard;
use dcmrecv_e2e::receiver::{Receiver, listening_addresses};
use dicom_object::OpenFileOptions;

const STORESCP_DEFAULT: [&str; 3] = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"];
const WAIT: Duration = Duration::from_secs(20);

/// Transfer Syntax UID (0002,0010) of a Part-10 file.
fn transfer_syntax(path: &Path) -> String {
    meta_text(path, 0x0010).unwrap_or_else(|| panic!("no transfer syntax in {}", path.display()))
}

/// The parsed data sets of two Part-10 files differ in nothing but length encoding.
#[track_caller]
fn assert_same_data_set(stored: &Path, sent: &Path) {
    let open = |p: &Path| {
        OpenFileOptions::new()
            .open_file(p)
            .unwrap_or_else(|e| panic!("parse {}: {e}", p.display()))
    };
    let mut diffs: Vec<Difference> = Vec::new();
    compare_datasets(&open(stored), &open(sent), "", &mut diffs);
    assert!(
        diffs.is_empty(),
        "{} vs {}: {diffs:?}",
        stored.display(),
        sent.display()
    );
}

#[test]
fn accept_all_stores_a_class_the_default_profile_refuses_and_compressed_syntaxes_as_sent() {
    let work = tempfile::tempdir().expect("tempdir");
    // Legacy Converted Enhanced CT is a standard storage class that storescp.cfg's Default
    // profile does not list.
    let legacy = work.path().join("legacy-ct.dcm");
    let mut instance = Instance::ct("1.2.826.0.1.3680043.10.1145.61.1");
    instance.sop_class_uid = "1.2.840.10008.5.1.4.1.1.2.2".to_string();
    instance.write(&legacy, "1.2.840.10008.1.2.1");

    // With -xf storescp.cfg Default both receivers refuse the association, with DCMTK's lines.
    for receiver in [Receiver::ours(), Receiver::dcmtk()] {
        let od = work.path().join(format!("refused-{}", receiver.name));
        let running = receiver
            .start(&[&["-v"], &STORESCP_DEFAULT[..]].concat(), &od)
            .expect("start");
        let out = dcmsend(running.port, &[], &[&legacy]);
        assert!(!out.status.success(), "{}: {}", receiver.name, stderr(&out));
        assert!(
            stderr(&out).contains("Association Rejected"),
            "{}",
            stderr(&out)
        );
        assert!(
            running.guard.wait_for_log(
                "I: Refusing Association (no acceptable presentation contexts)",
                WAIT
            ),
            "{}: {}",
            receiver.name,
            running.guard.stderr()
        );
        assert!(
            running
                .guard
                .stderr()
                .contains("I: No Acceptable Presentation Contexts")
        );
    }

    // With +xa it is stored, and so are JPEG 2000 objects, in the syntax they were sent in.
    let od = work.path().join("accept-all");
    let running = Receiver::ours()
        .start(&["+xa"], &od)
        .expect("start ours +xa");
    let j2k_lossless = pydicom_file("examples_jpeg2k.dcm");
    let j2k = pydicom_file("JPEG2000.dcm");
    let out = dcmsend(running.port, &[], &[&legacy, &j2k_lossless, &j2k]);
    assert_success(&out, "dcmsend");
    drop(running);
    let stored_legacy = od.join("CTl.1.2.826.0.1.3680043.10.1145.61.1");
    assert!(stored_legacy.is_file(), "{:?}", std::fs::read_dir(&od));
    assert_same_data_set(&stored_legacy, &legacy);
    for (sent, name, ts) in [
        (
            &j2k_lossless,
            "US.1.3.6.1.4.1.5962.1.1.13.1.2.20040826185059.5457",
            "1.2.840.10008.1.2.4.90",
        ),
        (
            &j2k,
            "SC.1.3.6.1.4.1.5962.1.1.8.1.3.20040826185059.5457",
            "1.2.840.10008.1.2.4.91",
        ),
    ] {
        let stored = od.join(name);
        assert_eq!(transfer_syntax(sent), ts);
        assert_eq!(
            transfer_syntax(&stored),
            ts,
            "{name} was not stored compressed"
        );
        assert_same_data_set(&stored, sent);
    }
}

/// Every transfer syntax of PS3.5 whose data set carries its pixel data (so not JPIP
/// Referenced, SMPTE ST 2110 or the retired JPEG processes DCMTK 3.6.7 still decodes).
const EVERY_TRANSFER_SYNTAX: [&str; 39] = [
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.1.98",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",
    "1.2.840.10008.1.2.4.92",
    "1.2.840.10008.1.2.4.93",
    "1.2.840.10008.1.2.4.100",
    "1.2.840.10008.1.2.4.100.1",
    "1.2.840.10008.1.2.4.101",
    "1.2.840.10008.1.2.4.101.1",
    "1.2.840.10008.1.2.4.102",
    "1.2.840.10008.1.2.4.102.1",
    "1.2.840.10008.1.2.4.103",
    "1.2.840.10008.1.2.4.103.1",
    "1.2.840.10008.1.2.4.104",
    "1.2.840.10008.1.2.4.104.1",
    "1.2.840.10008.1.2.4.105",
    "1.2.840.10008.1.2.4.105.1",
    "1.2.840.10008.1.2.4.106",
    "1.2.840.10008.1.2.4.106.1",
    "1.2.840.10008.1.2.4.107",
    "1.2.840.10008.1.2.4.108",
    "1.2.840.10008.1.2.4.110",
    "1.2.840.10008.1.2.4.111",
    "1.2.840.10008.1.2.4.112",
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",
    "1.2.840.10008.1.2.5",
    "1.2.840.10008.1.2.8.1",
];

#[test]
fn accept_all_negotiates_every_transfer_syntax() {
    let od = tempfile::tempdir().expect("tempdir");
    let running = Receiver::ours()
        .start(&["+xa"], od.path())
        .expect("start ours +xa");
    // One context per syntax, for CT Image Storage.
    let script = format!(
        r#"
from pynetdicom import AE, build_context
syntaxes = {syntaxes:?}
ae = AE(ae_title="PYNETDICOM")
ae.requested_contexts = [build_context("1.2.840.10008.5.1.4.1.1.2", [ts]) for ts in syntaxes]
assoc = ae.associate("127.0.0.1", {port})
assert assoc.is_established, "association not established"
for cx in sorted(assoc.accepted_contexts, key=lambda c: c.context_id):
    print(cx.transfer_syntax[0])
assoc.release()
"#,
        syntaxes = EVERY_TRANSFER_SYNTAX,
        port = running.port
    );
    let accepted = python_output(&script);
    assert_eq!(
        accepted.lines().collect::<Vec<_>>(),
        EVERY_TRANSFER_SYNTAX,
        "accepted by +xa"
    );
}

#[test]
fn bind_address_restricts_the_listener() {
    let od = tempfile::tempdir().expect("tempdir");
    // Receiver::ours() passes -ba 127.0.0.1; spell it out to show what is tested.
    let running = Receiver::ours()
        .start(&["-ba", "127.0.0.1"], od.path())
        .expect("start ours");
    let addresses = listening_addresses(running.port);
    assert_eq!(
        addresses,
        [std::net::SocketAddr::from(([127, 0, 0, 1], running.port))]
    );
    assert_success(&echoscu(running.port, &[]), "echoscu");
    drop(running);
    // The real dcmrecv cannot do this: it always listens on all interfaces.
    let running = Receiver::dcmtk()
        .start(&[] as &[&str], od.path())
        .expect("start dcmrecv");
    assert_eq!(
        listening_addresses(running.port),
        [std::net::SocketAddr::from(([0, 0, 0, 0], running.port))]
    );
}

/// The three `F:` lines echoscu prints for an A-ASSOCIATE-RJ.
fn rejection(out: &std::process::Output) -> Vec<String> {
    stderr(out)
        .lines()
        .filter(|l| l.starts_with("F: "))
        .map(str::to_string)
        .collect()
}

#[test]
fn max_associations_rejects_the_next_one_as_a_transient_local_limit() {
    let od = tempfile::tempdir().expect("tempdir");
    let running = Receiver::ours()
        .start(&["-v", "--max-associations", "2"], od.path())
        .expect("start ours");
    let port = running.port;
    let echoscu = dcmrecv_e2e::peers::dcmtk("echoscu");
    // pynetdicom holds two associations open while echoscu tries a third, then releases one
    // and echoscu tries again (until the slot is free: the server frees it when the
    // association's thread has ended).
    let script = format!(
        r#"
import subprocess, time
from pynetdicom import AE
from pynetdicom.sop_class import Verification
ae = AE(ae_title="HOLDER")
ae.add_requested_context(Verification)
held = [ae.associate("127.0.0.1", {port}) for _ in range(2)]
assert all(a.is_established for a in held), "two associations"
third = subprocess.run(["{echoscu}", "127.0.0.1", "{port}"], capture_output=True, text=True)
print("third", third.returncode)
print(third.stderr.strip())
held[0].release()
deadline = time.time() + 10
while True:
    again = subprocess.run(["{echoscu}", "127.0.0.1", "{port}"], capture_output=True, text=True)
    if again.returncode == 0 or time.time() > deadline:
        break
    time.sleep(0.05)
print("after release", again.returncode)
held[1].release()
"#,
        echoscu = echoscu.display()
    );
    let out = python_output(&script);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "third 1",
            "F: Association Rejected:",
            "F: Result: Rejected Transient, Source: Service Provider (Presentation Related)",
            "F: Reason: Local Limit Exceeded",
            "after release 0",
        ]
    );
    assert!(
        running
            .guard
            .stderr()
            .contains("W: Refusing Association (too many concurrent associations, the limit is 2)"),
        "{}",
        running.guard.stderr()
    );
}

#[test]
fn ae_title_allow_lists_reject_others_with_reasons_3_and_7() {
    let od = tempfile::tempdir().expect("tempdir");
    let running = Receiver::ours()
        .start(
            &[
                "-v",
                "--allow-calling",
                "MODALITY1",
                "--allow-calling",
                "MODALITY2",
                "--allow-called",
                "ARCHIVE",
            ],
            od.path(),
        )
        .expect("start ours");
    for calling in ["MODALITY1", "MODALITY2"] {
        assert_success(
            &echoscu(running.port, &["-aet", calling, "-aec", "ARCHIVE"]),
            calling,
        );
    }
    // Reason 3: calling AE title not recognized.
    assert_eq!(
        rejection(&echoscu(
            running.port,
            &["-aet", "INTRUDER", "-aec", "ARCHIVE"]
        )),
        [
            "F: Association Rejected:",
            "F: Result: Rejected Permanent, Source: Service User",
            "F: Reason: Calling AE Title Not Recognized",
        ]
    );
    // Reason 7: called AE title not recognized.
    assert_eq!(
        rejection(&echoscu(
            running.port,
            &["-aet", "MODALITY1", "-aec", "OTHER"]
        )),
        [
            "F: Association Rejected:",
            "F: Result: Rejected Permanent, Source: Service User",
            "F: Reason: Called AE Title Not Recognized",
        ]
    );
    // pynetdicom sees the numeric reasons.
    let script = format!(
        r#"
from pynetdicom import AE, evt
from pynetdicom.sop_class import Verification
def show(event):
    pdu = event.pdu
    if type(pdu).__name__ == "A_ASSOCIATE_RJ":
        print(pdu.result, pdu.source, pdu.reason_diagnostic)
for calling, called in [("INTRUDER", "ARCHIVE"), ("MODALITY2", "OTHER")]:
    ae = AE(ae_title=calling)
    ae.add_requested_context(Verification)
    # No `assert assoc.is_rejected`: pynetdicom 3.0.4 races with a fast A-ASSOCIATE-RJ and may
    # report an abort although the RJ arrived; the printed PDU is what this checks.
    ae.associate("127.0.0.1", {port}, ae_title=called, evt_handlers=[(evt.EVT_PDU_RECV, show)])
"#,
        port = running.port
    );
    assert_eq!(
        python_output(&script).lines().collect::<Vec<_>>(),
        ["1 1 3", "1 1 7"]
    );
    let log = running.guard.stderr();
    assert!(log.contains("W: Refusing Association (calling AE title not recognized)"));
    assert!(log.contains("W: Refusing Association (called AE title not recognized)"));
}

/// strace attached to a running receiver, recording its fsync/fdatasync calls.
struct SyncTracer {
    tracer: ChildGuard,
    trace: tempfile::NamedTempFile,
}

impl SyncTracer {
    /// Attaches strace to `pid`; `Err` says why not (strace missing, or ptrace not permitted,
    /// as in containers without `CAP_SYS_PTRACE`).
    fn attach(pid: u32) -> Result<SyncTracer, String> {
        let strace = Path::new("/usr/bin/strace");
        if !strace.is_file() {
            return Err("strace is not installed".to_string());
        }
        let trace = tempfile::NamedTempFile::new().expect("temp file");
        let mut cmd = Command::new(strace);
        cmd.args(["-f", "-e", "trace=fsync,fdatasync", "-o"])
            .arg(trace.path())
            .arg("-p")
            .arg(pid.to_string());
        let mut tracer = ChildGuard::spawn(cmd);
        let deadline = std::time::Instant::now() + WAIT;
        while !tracer.stderr().contains("attached") {
            if tracer.wait_timeout(Duration::from_millis(20)).is_some()
                || std::time::Instant::now() > deadline
            {
                return Err(format!("strace could not attach: {}", tracer.stderr()));
            }
        }
        Ok(SyncTracer { tracer, trace })
    }

    /// Detaches (SIGINT, by PID) and counts the calls.
    fn finish(mut self) -> usize {
        self.tracer.signal("INT");
        assert!(
            self.tracer.wait_timeout(WAIT).is_some(),
            "strace did not detach"
        );
        let text = std::fs::read_to_string(self.trace.path()).expect("read the trace");
        text.lines()
            .filter(|l| l.contains("fsync(") || l.contains("fdatasync("))
            .count()
    }
}

#[test]
fn fsync_stores_and_flushes_each_file_and_its_directory() {
    let work = tempfile::tempdir().expect("tempdir");
    let files = ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm"].map(pydicom_file);
    for (flag, per_object) in [("+fs", 2), ("-fs", 0)] {
        let od = work.path().join(flag);
        let running = Receiver::ours()
            .start(&[&[flag], &STORESCP_DEFAULT[..]].concat(), &od)
            .expect("start ours");
        // Where strace can attach, the test also counts the fsyncs (file, then directory).
        let tracer = SyncTracer::attach(running.guard.pid());
        assert_success(&dcmsend(running.port, &[], &files), "dcmsend");
        match tracer {
            Ok(tracer) => assert_eq!(tracer.finish(), per_object * files.len(), "{flag}"),
            Err(why) => eprintln!("{why}: checking that {flag} stores, not its fsyncs"),
        }
        drop(running);
        let mut stored: Vec<String> = std::fs::read_dir(&od)
            .expect("read od")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        stored.sort();
        assert_eq!(
            stored,
            [
                "CT.1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322",
                "MR.1.3.6.1.4.1.5962.1.1.4.1.1.20040826185059.5457",
                "RP.1.2.777.777.77.7.7777.7777.20030903150023",
            ],
            "{flag}"
        );
    }
}

/// Compressed objects `dcmsend` offers in their own syntax first, then uncompressed (its
/// default `--decompress-lossless`): RLE, JPEG-LS lossless and deflated files from pydicom, and
/// a lossless JPEG (process 14, selection value 1) made from `CT_small.dcm` with DCMTK's
/// `dcmcjpeg` at test time. Returns (file, its transfer syntax).
fn compressed_objects(dir: &Path) -> Vec<(std::path::PathBuf, &'static str)> {
    let jpeg = dir.join("CT_small_jpeg_lossless.dcm");
    let out = dcmrecv_e2e::clients::run({
        let mut cmd = Command::new(dcmrecv_e2e::peers::dcmtk("dcmcjpeg"));
        cmd.arg(pydicom_file("CT_small.dcm")).arg(&jpeg);
        cmd
    });
    assert_success(&out, "dcmcjpeg");
    let objects = vec![
        (pydicom_file("MR_small_RLE.dcm"), "1.2.840.10008.1.2.5"),
        (jpeg, "1.2.840.10008.1.2.4.70"),
        (
            pydicom_file("MR_small_jpeg_ls_lossless.dcm"),
            "1.2.840.10008.1.2.4.80",
        ),
        (pydicom_file("image_dfl.dcm"), "1.2.840.10008.1.2.1.99"),
    ];
    for (path, ts) in &objects {
        assert_eq!(transfer_syntax(path), *ts, "{}", path.display());
    }
    objects
}

/// Sends each file with `dcmsend` on its own to `receiver` (started with `args`) and returns
/// the file it stored for each (moved out of the output directory, since some of the objects
/// share a SOP Instance UID).
fn stored_one_by_one(
    receiver: &Receiver,
    args: &[&str],
    files: &[&Path],
    keep: &Path,
) -> Vec<std::path::PathBuf> {
    let od = keep.join(format!("od-{}", receiver.name));
    let running = receiver.start(args, &od).expect("start receiver");
    let mut stored = Vec::new();
    for (i, file) in files.iter().enumerate() {
        let out = dcmsend(running.port, &[], &[file]);
        assert_success(&out, "dcmsend");
        let names: Vec<_> = std::fs::read_dir(&od)
            .expect("read od")
            .map(|e| e.expect("entry").path())
            .collect();
        assert_eq!(names.len(), 1, "{}: {names:?}", receiver.name);
        let kept = keep.join(format!("{}-{i}.dcm", receiver.name));
        std::fs::rename(&names[0], &kept).expect("move the stored file");
        stored.push(kept);
    }
    stored
}

/// SHA-256 of each file's Pixel Data value as pydicom reads it (the encapsulated fragments as
/// they are, or the inflated bytes of a deflated data set).
fn pixel_data_digests(files: &[&Path]) -> Vec<String> {
    let list: Vec<String> = files
        .iter()
        .map(|f| format!("{:?}", f.display().to_string()))
        .collect();
    let script = format!(
        "import hashlib, pydicom\n\
         for f in [{}]:\n    print(hashlib.sha256(pydicom.dcmread(f).PixelData).hexdigest())",
        list.join(", ")
    );
    python_output(&script).lines().map(str::to_string).collect()
}

// See: issue 15, item 5 ("+xa keeps what the sender proposes first among the syntaxes it offers
// for a context").
#[test]
fn accept_all_keeps_the_senders_syntax_and_profiles_keep_dcmtks_order() {
    let work = tempfile::tempdir().expect("tempdir");
    let objects = compressed_objects(work.path());
    let files: Vec<&Path> = objects.iter().map(|(p, _)| p.as_path()).collect();

    // +xa: stored in the syntax it was sent in, pixel data byte for byte.
    let stored = stored_one_by_one(&Receiver::ours(), &["+xa"], &files, work.path());
    for ((sent, ts), kept) in objects.iter().zip(&stored) {
        assert_eq!(
            transfer_syntax(kept),
            *ts,
            "{} was converted by dcmsend",
            sent.display()
        );
    }
    // (dcmsend re-encodes the rest of the data set, dropping group lengths, so only the pixel
    // data is compared.)
    let stored_refs: Vec<&Path> = stored.iter().map(|p| p.as_path()).collect();
    assert_eq!(pixel_data_digests(&stored_refs), pixel_data_digests(&files));

    // -xf keeps DCMTK's acceptor preference: the same syntax as the real dcmrecv stores with the
    // same profile, which for these is Explicit VR Little Endian (dcmsend decompresses).
    let cfg = dcmrecv_e2e::peers::workspace_root().join("etc/dcmrecv.cfg");
    let cfg = cfg.to_str().expect("a UTF-8 path");
    let args = ["-xf", cfg, "Default"];
    let theirs = stored_one_by_one(&Receiver::dcmtk(), &args, &files, work.path());
    let ours = stored_one_by_one(&Receiver::ours(), &args, &files, work.path());
    for ((sent, _), (t, o)) in objects.iter().zip(theirs.iter().zip(&ours)) {
        assert_eq!(
            transfer_syntax(t),
            "1.2.840.10008.1.2.1",
            "{}",
            sent.display()
        );
        assert_eq!(transfer_syntax(o), transfer_syntax(t), "{}", sent.display());
    }
}

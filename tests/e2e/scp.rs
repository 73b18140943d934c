//! The `dcmrecv-storage-scp` library against real peers: DCMTK's `echoscu`, `storescu`,
//! `dcmsend` and `dcmrecv` (as the oracle), and pynetdicom. The library runs in the
//! `scp-helper` binary of this crate (a hashing sink), so memory can be measured per process.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dcmrecv_e2e::clients::{assert_success, run};
use dcmrecv_e2e::compare::meta_text;
use dcmrecv_e2e::objects;
use dcmrecv_e2e::peers::{self, dcmtk_command};
use dcmrecv_e2e::process::{ChildGuard, free_port, wait_for_port};

/// One object as the helper's sink saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Stored {
    sop_instance_uid: String,
    transfer_syntax_uid: String,
    bytes: u64,
}

/// The scp-helper process (the library with a hashing sink), stopped by PID on drop.
struct Helper {
    guard: ChildGuard,
    port: u16,
}

impl Helper {
    fn start(args: &[&str]) -> Helper {
        let port = free_port();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_scp-helper"));
        cmd.arg("--port").arg(port.to_string()).args(args);
        let guard = ChildGuard::spawn(cmd);
        assert!(
            guard.wait_for_log("listening on port", Duration::from_secs(60)),
            "scp-helper did not start:\n{}",
            guard.stderr()
        );
        Helper { guard, port }
    }

    fn stored(&self) -> Vec<Stored> {
        self.guard
            .stderr()
            .lines()
            .filter_map(|l| l.split_once("STORED ").map(|(_, rest)| rest.to_string()))
            .map(|rest| {
                let parts: Vec<&str> = rest.split_whitespace().collect();
                Stored {
                    sop_instance_uid: parts[0].to_string(),
                    transfer_syntax_uid: parts[1].to_string(),
                    bytes: parts[2].parse().expect("byte count"),
                }
            })
            .collect()
    }

    fn log(&self) -> String {
        self.guard.stderr()
    }
}

#[test]
fn echoscu_once_and_repeated() {
    let helper = Helper::start(&["--profile", "verification"]);
    let mut cmd = dcmtk_command("echoscu");
    cmd.args(["-v", "127.0.0.1", &helper.port.to_string()]);
    let out = run(cmd);
    assert_success(&out, "echoscu");
    let mut cmd = dcmtk_command("echoscu");
    cmd.args(["--repeat", "3", "127.0.0.1", &helper.port.to_string()]);
    assert_success(&run(cmd), "echoscu --repeat 3");
    let log = helper.log();
    for id in 1..=3 {
        assert!(
            log.contains(&format!("Received C-ECHO Request (MsgID {id})")),
            "{log}"
        );
    }
    assert!(log.contains("Association Received 127.0.0.1: ECHOSCU -> ANY-SCP"));
    assert!(log.contains("Association Acknowledged (Max Send PDV: 16372)"));
    // Without a profile only Verification is negotiable: storescu is rejected as by dcmrecv.
    let mut cmd = dcmtk_command("storescu");
    cmd.arg("127.0.0.1")
        .arg(helper.port.to_string())
        .arg(peers::pydicom_file("CT_small.dcm"));
    let out = run(cmd);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Association Rejected"));
}

#[test]
fn storescu_default_contexts_and_with_its_config_file() {
    let helper = Helper::start(&["--profile", "Default"]);
    let files = [
        "CT_small.dcm",
        "MR_small.dcm",
        "MR_small_bigendian.dcm",
        "MR_small_implicit.dcm",
        "rtplan.dcm",
        "image_dfl.dcm",
    ];
    let mut cmd = dcmtk_command("storescu");
    cmd.arg("127.0.0.1").arg(helper.port.to_string());
    for f in files {
        cmd.arg(peers::pydicom_file(f));
    }
    assert_success(&run(cmd), "storescu");
    let stored = helper.stored();
    assert_eq!(stored.len(), files.len(), "{}", helper.log());
    assert_eq!(
        stored[0].sop_instance_uid,
        "1.3.6.1.4.1.5962.1.1.1.1.1.20040119072730.12322"
    );
    // storescu proposes [Explicit LE] and [BE, Implicit] for each class; it converts implicit to
    // explicit, sends big endian as is, and the profile prefers BE to Implicit (acceptor order).
    let ts: Vec<&str> = stored
        .iter()
        .map(|s| s.transfer_syntax_uid.as_str())
        .collect();
    assert_eq!(
        ts,
        [
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2.2",
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2.1",
            "1.2.840.10008.1.2.1",
        ]
    );

    let mut cmd = dcmtk_command("storescu");
    cmd.args(["-xf", "/etc/dcmtk/storescu.cfg", "Default", "127.0.0.1"])
        .arg(helper.port.to_string())
        .arg(peers::pydicom_file("CT_small.dcm"))
        .arg(peers::pydicom_file("SC_rgb_jpeg_dcmtk.dcm"));
    assert_success(&run(cmd), "storescu -xf storescu.cfg Default");
    let stored = helper.stored();
    assert_eq!(stored.len(), files.len() + 2, "{}", helper.log());
    let ts: Vec<&str> = stored[files.len()..]
        .iter()
        .map(|s| s.transfer_syntax_uid.as_str())
        .collect();
    assert_eq!(ts, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.4.50"]);
}

#[test]
fn pynetdicom_echoes_and_stores() {
    let helper = Helper::start(&["--profile", "Default"]);
    let script = format!(
        r#"
from pydicom import dcmread
from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage, MRImageStorage, RTDoseStorage, Verification
ae = AE(ae_title="PYNETDICOM")
for context in [CTImageStorage, MRImageStorage, RTDoseStorage, Verification]:
    ae.add_requested_context(context)
assoc = ae.associate("127.0.0.1", {port})
assert assoc.is_established, "association not established"
print("echo", hex(assoc.send_c_echo().Status))
for name in ["CT_small.dcm", "MR_small.dcm", "rtdose.dcm"]:
    ds = dcmread("{dir}/" + name)
    print("store", name, hex(assoc.send_c_store(ds).Status))
assoc.release()
"#,
        port = helper.port,
        dir = peers::pydicom_test_files().display()
    );
    let out = peers::python_output(&script);
    assert_eq!(
        out.lines().collect::<Vec<_>>(),
        [
            "echo 0x0",
            "store CT_small.dcm 0x0",
            "store MR_small.dcm 0x0",
            "store rtdose.dcm 0x0"
        ]
    );
    let stored = helper.stored();
    assert_eq!(stored.len(), 3, "{}", helper.log());
    assert!(helper.log().contains("PYNETDICOM -> ANY-SCP"));
    // pynetdicom proposes [Implicit, Explicit, Deflated, BE]; the profile lists Deflated before
    // the uncompressed syntaxes for every class, and the acceptor's order wins.
    for s in &stored {
        assert_eq!(s.transfer_syntax_uid, "1.2.840.10008.1.2.1.99");
    }
    assert!(
        helper
            .log()
            .contains("Association Acknowledged (Max Send PDV: 16370)")
    );
}

#[test]
fn four_simultaneous_associations_are_served_at_once() {
    // Each object takes 1.5 s in the sink: served one after the other (as DCMTK does) four
    // associations would take at least 6 s.
    let helper = Helper::start(&["--profile", "Default", "--slow-finish-ms", "1500"]);
    let start = Instant::now();
    let children: Vec<_> = (0..4)
        .map(|_| {
            let mut cmd = dcmtk_command("storescu");
            cmd.arg("127.0.0.1")
                .arg(helper.port.to_string())
                .arg(peers::pydicom_file("CT_small.dcm"));
            std::thread::spawn(move || run(cmd))
        })
        .collect();
    for child in children {
        assert_success(&child.join().expect("storescu thread"), "storescu");
    }
    let took = start.elapsed();
    assert!(took < Duration::from_millis(4500), "took {took:?}");
    let log = helper.log();
    let first_end = log
        .find("association finished")
        .expect("an association finished");
    assert_eq!(
        log[..first_end].matches("Association Acknowledged").count(),
        4,
        "all four associations must be established before the first ends:\n{log}"
    );
    assert_eq!(helper.stored().len(), 4);
}

#[test]
fn a_100_mb_object_is_received_with_flat_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("large.dcm");
    let uid = "1.2.826.0.1.3680043.10.1145.2.1.1";
    objects::write_large_object(&file, uid, 100 * 1024 * 1024);
    let helper = Helper::start(&["--profile", "Default", "--max-pdu", "131072"]);
    let mut cmd = dcmtk_command("storescu");
    cmd.args(["-pdu", "131072", "127.0.0.1"])
        .arg(helper.port.to_string())
        .arg(&file);
    assert_success(&run(cmd), "storescu of the large object");
    let stored = helper.stored();
    assert_eq!(stored.len(), 1, "{}", helper.log());
    assert_eq!(stored[0].sop_instance_uid, uid);
    assert!(stored[0].bytes > 100 * 1024 * 1024);
    let peak = helper.guard.peak_rss();
    assert!(peak > 0, "VmHWM unreadable");
    assert!(
        peak < 32 * 1024 * 1024,
        "peak RSS {} MB for a {} MB object",
        peak / (1024 * 1024),
        stored[0].bytes / (1024 * 1024)
    );
    eprintln!(
        "peak RSS of the SCP for a {} byte object: {} kB",
        stored[0].bytes,
        peak / 1024
    );
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read output dir")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

/// The done-criterion: with DCMTK's `storescp.cfg` `Default` profile, every pydicom test file
/// the real dcmrecv stores (each sent with dcmsend) is accepted by ours in the same negotiated
/// transfer syntax.
#[test]
fn every_file_the_real_dcmrecv_stores_is_accepted_by_ours_in_the_same_transfer_syntax() {
    let out_dir = tempfile::tempdir().expect("tempdir");
    let real_port = free_port();
    let mut cmd = Command::new(peers::dcmtk("dcmrecv"));
    cmd.env("TCP_NODELAY", "1")
        .args(["-xf", "/etc/dcmtk/storescp.cfg", "Default", "-od"])
        .arg(out_dir.path())
        .arg(real_port.to_string());
    let real = ChildGuard::spawn(cmd);
    assert!(
        wait_for_port(real_port, Duration::from_secs(10)),
        "dcmrecv did not start: {}",
        real.stderr()
    );
    let ours = Helper::start(&["--profile", "Default"]);

    let mut test_files: Vec<PathBuf> = std::fs::read_dir(peers::pydicom_test_files())
        .expect("read pydicom test files")
        .map(|e| e.expect("dir entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "dcm"))
        .collect();
    test_files.sort();
    let mut compared = 0;
    let mut mismatches = Vec::new();
    for file in &test_files {
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let mut cmd = Command::new(peers::dcmtk("dcmsend"));
        cmd.arg("127.0.0.1").arg(real_port.to_string()).arg(file);
        run(cmd);
        let stored = files_in(out_dir.path());
        if stored.is_empty() {
            continue;
        }
        assert_eq!(stored.len(), 1, "{name}: {stored:?}");
        let real_ts = meta_text(&stored[0], 0x0010).expect("a stored Part-10 file");
        std::fs::remove_file(&stored[0]).expect("remove stored file");

        let before = ours.stored().len();
        let mut cmd = Command::new(peers::dcmtk("dcmsend"));
        cmd.arg("127.0.0.1").arg(ours.port.to_string()).arg(file);
        let out = run(cmd);
        let now = ours.stored();
        match now.get(before..) {
            Some([one]) if one.transfer_syntax_uid == real_ts => compared += 1,
            got => mismatches.push(format!(
                "{name}: dcmrecv stored {real_ts}, ours got {got:?} (dcmsend: {})",
                String::from_utf8_lossy(&out.stderr)
            )),
        }
    }
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}\nlog:\n{}",
        mismatches.len(),
        mismatches.join("\n"),
        ours.log()
    );
    // 65 files were stored in this run when it was written; leave room for pydicom updates.
    assert!(compared >= 50, "only {compared} files compared");
    eprintln!("{compared} pydicom test files stored by dcmrecv and by ours in the same TS");
}

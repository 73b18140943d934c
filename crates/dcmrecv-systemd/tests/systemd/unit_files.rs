//! The unit files we ship (`etc/systemd/`), checked by `systemd-analyze` from Debian's systemd.
//!
//! `systemd-analyze verify` insists that `ExecStart=`'s program exists, and dcmrecv-rs is not
//! installed where the unit expects it (`/usr/bin/dcmrecv-rs`). So the checks run on a copy
//! whose `ExecStart=` names a program that exists (this test binary); everything else is the
//! shipped text. `--man=no` skips checking that `Documentation=man:dcmrecv-rs(1)` is
//! installed (the Debian package installs it). Warnings count as failures: `verify` reports an
//! unknown key or a bad value on stderr but still exits 0.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::{systemd_tool, test_binary};

const INSTALLED_BINARY: &str = "/usr/bin/dcmrecv-rs";

fn shipped(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/etc/systemd")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The shipped units in a temporary directory, `ExecStart=` pointed at an existing program,
/// with `edit` applied to the service.
fn units(edit: impl FnOnce(String) -> String) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let service = shipped("dcmrecv.service");
    assert!(
        service.contains(&format!("\nExecStart={INSTALLED_BINARY} ")),
        "the service must start {INSTALLED_BINARY}"
    );
    let service = edit(service.replace(INSTALLED_BINARY, &test_binary().to_string_lossy()));
    let service_path = dir.path().join("dcmrecv.service");
    let socket_path = dir.path().join("dcmrecv.socket");
    std::fs::write(&service_path, service).unwrap();
    std::fs::write(&socket_path, shipped("dcmrecv.socket")).unwrap();
    (dir, service_path, socket_path)
}

fn analyze(args: &[&str], unit: &Path) -> Output {
    Command::new(systemd_tool("systemd-analyze"))
        .args(args)
        .arg(unit)
        .output()
        .unwrap()
}

/// `systemd-analyze verify`: exit 0 and nothing on stderr, or the complaints.
fn verify(unit: &Path) -> Result<(), String> {
    let out = analyze(&["verify", "--man=no"], unit);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    if out.status.success() && stderr.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("{}: {stderr}", out.status))
    }
}

#[test]
fn systemd_analyze_verify_accepts_the_service_and_the_socket() {
    let (_dir, service, socket) = units(|s| s);
    verify(&service).unwrap();
    verify(&socket).unwrap();
}

#[test]
fn the_verification_catches_a_broken_unit() {
    for (broken, complaint) in [
        ("ProtectSystem=strict", "ProtectSystem=strikt"),
        ("Type=notify", "Type=notfy"),
        ("NoNewPrivileges=yes", "NoNewPrivilege=yes"),
    ] {
        let (_dir, service, _) = units(|s| s.replace(broken, complaint));
        let err = verify(&service).expect_err(complaint);
        assert!(err.contains("dcmrecv.service"), "{err}");
    }
    let (_dir, service, _) = units(|s| {
        s.replace(
            &test_binary().to_string_lossy().into_owned(),
            "/nonexistent/dcmrecv-rs",
        )
    });
    assert!(verify(&service).is_err());
}

/// `systemd-analyze security` rates the sandbox from 0 (locked down) to 10 (none); it exits
/// non-zero above `--threshold` (given in tenths). The shipped unit rates 1.4 with systemd 252.
#[test]
fn the_service_is_sandboxed() {
    let rate = |service: &Path| {
        analyze(&["security", "--offline=yes", "--threshold=20"], service)
            .status
            .success()
    };
    let (_dir, service, _) = units(|s| s);
    assert!(
        rate(&service),
        "exposure above 2.0: see `systemd-analyze security`"
    );
    // Without its main protections the same unit fails the threshold.
    let (_dir, bare, _) = units(|s| {
        s.lines()
            .filter(|l| {
                ![
                    "ProtectSystem",
                    "NoNewPrivileges",
                    "CapabilityBoundingSet",
                    "SystemCallFilter",
                    "PrivateDevices",
                ]
                .iter()
                .any(|k| l.starts_with(k))
            })
            .collect::<Vec<_>>()
            .join("\n")
    });
    assert!(!rate(&bare));
}

#[test]
fn the_service_has_what_the_receiver_relies_on() {
    let service = shipped("dcmrecv.service");
    for line in [
        "Type=notify",
        "NotifyAccess=main",
        "WatchdogSec=30",
        "KillSignal=SIGTERM",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "ReadWritePaths=/var/lib/dcmrecv-rs",
        "User=dcmrecv-rs",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "CapabilityBoundingSet=",
    ] {
        assert!(service.lines().any(|l| l == line), "missing {line}");
    }
    // --shutdown-timeout defaults to 10 s; systemd must wait longer before SIGKILL.
    let stop: u64 = service
        .lines()
        .find_map(|l| l.strip_prefix("TimeoutStopSec="))
        .and_then(|v| v.parse().ok())
        .expect("TimeoutStopSec= in seconds");
    assert!(stop > 10);
    let socket = shipped("dcmrecv.socket");
    assert!(socket.lines().any(|l| l == "Accept=no"));
}

#[test]
fn the_sysusers_file_creates_the_services_user() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir(root.path().join("etc")).unwrap();
    let conf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/etc/systemd/sysusers.d/dcmrecv-rs.conf");
    let out = Command::new(systemd_tool("systemd-sysusers"))
        .arg(format!("--root={}", root.path().display()))
        .arg(&conf)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let passwd = std::fs::read_to_string(root.path().join("etc/passwd")).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with("dcmrecv-rs:") && l.contains(":/var/lib/dcmrecv-rs:")),
        "{passwd}"
    );
}

//! What the tests need from the machine: the Python venv (made here when missing) and the
//! system packages (reported, with the command that installs them: xtask does not run apt).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::shell;

/// The Python packages the e2e tests use, pinned.
const PYTHON_PACKAGES: [&str; 2] = ["pydicom==3.0.2", "pynetdicom==3.0.4"];

/// Makes the venv if it is missing and returns one line per missing system package (already
/// printed), for the summary when a job fails.
#[expect(clippy::print_stderr, reason = "xtask reports what it provisions")]
pub(crate) fn provision() -> Vec<String> {
    let mut missing = Vec::new();
    if let Err(line) = venv() {
        missing.push(line);
    }
    missing.extend(system_packages());
    for line in &missing {
        eprintln!("xtask: {line}");
    }
    missing
}

fn has_packages(python: &Path) -> bool {
    Command::new(python)
        .args(["-c", "import pydicom, pynetdicom"])
        .output()
        .is_ok_and(|out| out.status.success())
}

/// `$DCMRECV_E2E_VENV` is used as it is; `target/e2e-venv` is created (or completed) with the
/// pinned packages.
#[expect(clippy::print_stderr, reason = "xtask reports what it provisions")]
fn venv() -> Result<(), String> {
    if let Some(dir) = std::env::var_os("DCMRECV_E2E_VENV") {
        let python = PathBuf::from(&dir).join("bin/python");
        return if has_packages(&python) {
            Ok(())
        } else {
            Err(format!(
                "DCMRECV_E2E_VENV={} has no python with pydicom and pynetdicom: \
                 `{}/bin/pip install {}` (or unset it to let xtask make target/e2e-venv)",
                Path::new(&dir).display(),
                Path::new(&dir).display(),
                PYTHON_PACKAGES.join(" ")
            ))
        };
    }
    let dir = shell::workspace_root().join("target/e2e-venv");
    let python = dir.join("bin/python");
    if has_packages(&python) {
        return Ok(());
    }
    eprintln!(
        "xtask: making the Python venv of the e2e tests at {} ({})",
        dir.display(),
        PYTHON_PACKAGES.join(", ")
    );
    let venv_hint = "cannot make a Python venv: install Python 3 with venv support \
                     (`apt-get install -y python3-venv`), or set DCMRECV_E2E_VENV to a venv \
                     with pydicom and pynetdicom";
    if !python.is_file() {
        let dir_text = dir.to_string_lossy().into_owned();
        shell::run("python3", &["-m", "venv", &dir_text], &[])
            .map_err(|e| format!("{venv_hint} ({e})"))?;
    }
    let pip = dir.join("bin/pip").to_string_lossy().into_owned();
    let mut args = vec!["install", "--quiet", "--disable-pip-version-check"];
    args.extend(PYTHON_PACKAGES);
    shell::run(&pip, &args, &[]).map_err(|e| {
        format!(
            "cannot install {} into {} ({e}); the e2e tests need them",
            PYTHON_PACKAGES.join(" "),
            dir.display()
        )
    })
}

/// The system packages the tests call, each with the command that installs it.
fn system_packages() -> Vec<String> {
    let dcmtk = [
        "/usr/bin/dcmrecv",
        "/usr/bin/storescu",
        "/usr/bin/echoscu",
        "/usr/bin/dcmsend",
    ]
    .iter()
    .chain(&["/etc/dcmtk/storescp.cfg"])
    .all(|p| Path::new(p).exists());
    let on_path = |tool: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|out| out.status.success())
    };
    let mut missing = Vec::new();
    let mut need = |ok: bool, what: &str, package: &str| {
        if !ok {
            missing.push(format!(
                "missing {what}: `apt-get install -y {package}` (or run `.ci/run` as root, which \
                 installs it)"
            ));
        }
    };
    need(
        dcmtk,
        "DCMTK 3.6.7 (storescu, dcmsend, echoscu and the real dcmrecv)",
        "dcmtk",
    );
    need(
        on_path("openssl"),
        "openssl (the TLS tests' PKI)",
        "openssl",
    );
    need(on_path("strace"), "strace (the fsync test)", "strace");
    need(on_path("dpkg"), "dpkg (the .deb test)", "dpkg");
    need(on_path("man"), "man (the man page check)", "man-db");
    need(on_path("gzip"), "gzip (the man page in the .deb)", "gzip");
    missing
}

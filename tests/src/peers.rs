//! Locating the real peers: DCMTK command-line tools and a Python venv with pydicom/pynetdicom.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The hint printed when DCMTK is missing.
pub const DCMTK_HINT: &str = "DCMTK is required for the end-to-end tests: \
     `sudo apt-get install -y dcmtk` (or set DCMTK_BIN_DIR to the directory holding storescu, dcmsend, echoscu, dcmrecv)";

/// The hint printed when the Python venv is missing.
pub const VENV_HINT: &str = "a Python venv with pydicom and pynetdicom is required for the end-to-end tests: \
     `cargo xtask provision` makes it at target/e2e-venv (`cargo xtask ci` does so first), \
     or set DCMRECV_E2E_VENV to an existing venv";

/// The workspace root (the parent of this crate's directory).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the e2e crate lives one level below the workspace root")
        .to_path_buf()
}

/// The absolute path of a DCMTK tool (`storescu`, `dcmsend`, `echoscu`, `dcmrecv`, `dcmdump`...).
///
/// Looks in `$DCMTK_BIN_DIR`, else `/usr/bin`. Never uses `PATH`: pynetdicom installs its own
/// `storescu`/`echoscu` there. Panics with an install hint when the tool is missing.
pub fn dcmtk(tool: &str) -> PathBuf {
    let dir = std::env::var_os("DCMTK_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin"));
    let path = dir.join(tool);
    assert!(path.is_file(), "{} not found: {DCMTK_HINT}", path.display());
    path
}

/// A `Command` for a DCMTK tool with `TCP_NODELAY=1` set, so DCMTK's Nagle default does not
/// dominate timings.
pub fn dcmtk_command(tool: &str) -> Command {
    let mut cmd = Command::new(dcmtk(tool));
    cmd.env("TCP_NODELAY", "1");
    cmd
}

/// The Python venv holding pydicom and pynetdicom: `$DCMRECV_E2E_VENV`, else `target/e2e-venv`.
/// Panics with an install hint when it is missing or lacks the packages.
pub fn venv() -> PathBuf {
    let dir = std::env::var_os("DCMRECV_E2E_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target").join("e2e-venv"));
    let python = dir.join("bin").join("python");
    assert!(
        python.is_file(),
        "{} not found: {VENV_HINT}",
        python.display()
    );
    dir
}

/// The venv's Python interpreter.
pub fn python() -> PathBuf {
    venv().join("bin").join("python")
}

/// Runs a Python snippet in the venv and returns its stdout; panics with stderr on failure.
pub fn python_output(code: &str) -> String {
    let out = Command::new(python())
        .arg("-c")
        .arg(code)
        .output()
        .expect("run python");
    assert!(
        out.status.success(),
        "python failed ({VENV_HINT}):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// pydicom's bundled `data/test_files` directory (installed in the venv at test time; never
/// committed).
pub fn pydicom_test_files() -> PathBuf {
    let dir = PathBuf::from(python_output(
        "import pydicom, os; print(os.path.join(os.path.dirname(pydicom.__file__), 'data', 'test_files'))",
    ));
    assert!(dir.is_dir(), "{} missing: {VENV_HINT}", dir.display());
    dir
}

/// One of pydicom's bundled test files, by name (e.g. `CT_small.dcm`).
pub fn pydicom_file(name: &str) -> PathBuf {
    let path = pydicom_test_files().join(name);
    assert!(path.is_file(), "{} missing: {VENV_HINT}", path.display());
    path
}

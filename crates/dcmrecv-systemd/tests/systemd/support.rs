//! Starting this test binary as a scenario's child process, and finding systemd's tools.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The variable that names the scenario a child runs.
pub(crate) const SCENARIO: &str = "DCMRECV_SYSTEMD_TEST_SCENARIO";

/// The arguments that make this test binary run only the child entry point.
pub(crate) fn child_args() -> [&'static str; 5] {
    [
        "child::entry_point",
        "--exact",
        "--nocapture",
        "--quiet",
        "--test-threads=1",
    ]
}

/// This test binary.
pub(crate) fn test_binary() -> PathBuf {
    std::env::current_exe().expect("the test binary's path")
}

/// This test binary, ready to run `scenario` in a child process.
pub(crate) fn child(scenario: &str) -> Command {
    let mut command = Command::new(test_binary());
    command
        .args(child_args())
        .env(SCENARIO, scenario)
        .env_remove("NOTIFY_SOCKET")
        .env_remove("WATCHDOG_USEC")
        .env_remove("WATCHDOG_PID")
        .env_remove("LISTEN_FDS")
        .env_remove("LISTEN_PID")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// A systemd tool from Debian's `systemd` package, or a failure that says how to get it.
pub(crate) fn systemd_tool(name: &str) -> PathBuf {
    let path = Path::new("/usr/bin").join(name);
    assert!(
        path.exists(),
        "{} is missing: install Debian's systemd package (apt-get install systemd)",
        path.display()
    );
    path
}

/// Kills and reaps a child process on drop (by its PID, through `Child::kill`).
pub(crate) struct ChildGuard(pub(crate) Option<Child>);

impl ChildGuard {
    pub(crate) fn new(child: Child) -> ChildGuard {
        ChildGuard(Some(child))
    }

    /// Waits for the child and returns its stdout and stderr, failing if it failed.
    pub(crate) fn finish(mut self) -> (String, String) {
        let child = self.0.take().expect("a child");
        let output = child.wait_with_output().expect("wait for the child");
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(
            output.status.success(),
            "the child failed ({}):\n{stdout}\n{stderr}",
            output.status
        );
        (stdout, stderr)
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

//! Finding DCMTK and running the real `dcmrecv` as an oracle.

use std::fs;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The hint shown when DCMTK is missing.
pub(crate) const DCMTK_HINT: &str = "DCMTK 3.6.7 is required for this test: `apt-get install -y dcmtk` (Debian's package provides \
     /usr/bin/dcmrecv and /etc/dcmtk/storescp.cfg; or set DCMTK_BIN_DIR)";

/// A file installed by Debian's `dcmtk` package; fails with an install hint when missing.
pub(crate) fn dcmtk_file(path: &str) -> PathBuf {
    let path = PathBuf::from(path);
    assert!(path.is_file(), "{} not found: {DCMTK_HINT}", path.display());
    path
}

/// The real `dcmrecv`: `$DCMTK_BIN_DIR/dcmrecv`, else `/usr/bin/dcmrecv` (never `PATH`).
pub(crate) fn dcmrecv() -> PathBuf {
    let dir =
        std::env::var_os("DCMTK_BIN_DIR").map_or_else(|| PathBuf::from("/usr/bin"), PathBuf::from);
    let path = dir.join("dcmrecv");
    assert!(path.is_file(), "{} not found: {DCMTK_HINT}", path.display());
    path
}

/// The profiles we ship: `tests/data/etc` is a symbolic link to the workspace's `etc/`, which
/// `cargo package` replaces by a copy, so the packaged crate tests the same files.
pub(crate) fn shipped_profiles() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/etc")
}

/// What the real `dcmrecv` did with a configuration.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// It loaded the profile and listened on the port (we then stopped it).
    Listening,
    /// It exited before listening.
    Exited {
        /// The exit code.
        code: Option<i32>,
        /// Its stderr, without `W:` lines.
        stderr: String,
    },
}

/// Kills the child by PID when dropped.
struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port that was free on 127.0.0.1 a moment ago.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// Whether some socket listens on `port` (from `/proc/net/tcp*`, without connecting to it).
fn is_listening(port: u16) -> bool {
    let needle = format!(":{port:04X} ");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.len() > 3
                    && format!("{} ", fields[1]).ends_with(&needle)
                    && fields[3] == "0A"
            })
        })
    })
}

/// Runs `dcmrecv -xf <cfg> <profile> -od <tmp> <port>` and reports whether it started
/// listening or exited. The process is always stopped by its PID.
pub(crate) fn run_dcmrecv(cfg: &Path, profile: &str) -> Outcome {
    let dir = tempfile::tempdir().expect("tempdir");
    let stderr_path = dir.path().join("stderr.txt");
    let stderr = fs::File::create(&stderr_path).expect("stderr file");
    let port = free_port();
    let child = Command::new(dcmrecv())
        .arg("-xf")
        .arg(cfg)
        .arg(profile)
        .arg("-od")
        .arg(dir.path())
        .arg(port.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run dcmrecv ({e}): {DCMTK_HINT}"));
    let mut guard = Guard(child);
    let start = Instant::now();
    loop {
        if let Some(status) = guard.0.try_wait().expect("try_wait") {
            let text = fs::read_to_string(&stderr_path).unwrap_or_default();
            let stderr = text
                .lines()
                .filter(|l| !l.starts_with("W: "))
                .map(|l| format!("{l}\n"))
                .collect();
            return Outcome::Exited {
                code: status.code(),
                stderr,
            };
        }
        if is_listening(port) {
            return Outcome::Listening;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "dcmrecv neither exited nor listened on {port} within 10 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// What our parser predicts `dcmrecv -xf <cfg> <profile>` does.
pub(crate) fn predict(cfg: &Path, profile: &str) -> Outcome {
    match dcmrecv_asconfig::load_scp_profile(cfg, profile) {
        Ok(_) => Outcome::Listening,
        Err(e) => {
            let mut stderr = String::new();
            if let Some(message) = e.dcmtk_error_message() {
                for line in message.split('\n') {
                    stderr.push_str(&format!("E: {line}\n"));
                }
            }
            let fatal = format!(
                "cannot load association configuration: {}",
                e.dcmtk_reason()
            );
            for line in fatal.split('\n') {
                stderr.push_str(&format!("F: {line}\n"));
            }
            Outcome::Exited {
                code: Some(66),
                stderr,
            }
        }
    }
}

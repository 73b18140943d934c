//! Starting a receiver (the real dcmrecv or ours) on a free loopback port with its own output
//! directory, and stopping it by PID.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dcmrecv_e2e::process::{ChildGuard, free_port};

/// Which receiver a run is for.
#[derive(Debug, Clone)]
pub(crate) struct Receiver {
    /// `dcmrecv` (the real one) or `ours`.
    pub(crate) name: &'static str,
    /// Path of the executable.
    pub(crate) binary: PathBuf,
}

/// A started receiver; stopped (by PID) when dropped.
pub(crate) struct Running {
    pub(crate) port: u16,
    pub(crate) _guard: ChildGuard,
}

/// Whether a TCP socket is listening on `port` (read from `/proc/net/tcp{,6}`; connecting to
/// probe would itself be an association attempt in the receiver's log).
fn is_listening(port: u16) -> bool {
    let hex = format!(":{port:04X}");
    ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|table| {
        std::fs::read_to_string(table).is_ok_and(|text| {
            text.lines().skip(1).any(|line| {
                let mut cols = line.split_whitespace();
                let local = cols.nth(1).unwrap_or("");
                let state = cols.nth(1).unwrap_or("");
                local.ends_with(&hex) && state == "0A"
            })
        })
    })
}

impl Receiver {
    /// Starts the receiver with `args`, `-od od` and a free port; waits until it listens.
    pub(crate) fn start(&self, args: &[String], od: &Path) -> Result<Running, String> {
        std::fs::create_dir_all(od).map_err(|e| format!("create {}: {e}", od.display()))?;
        for _attempt in 0..3 {
            let port = free_port();
            let mut cmd = Command::new(&self.binary);
            cmd.args(args)
                .arg("-od")
                .arg(od)
                .arg(port.to_string())
                .env("TCP_NODELAY", "1");
            let mut guard = ChildGuard::spawn(cmd);
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if is_listening(port) {
                    return Ok(Running {
                        port,
                        _guard: guard,
                    });
                }
                if let Some(status) = guard.wait_timeout(Duration::from_millis(10)) {
                    return Err(format!(
                        "{} {args:?} exited with {status} before listening:\n{}",
                        self.name,
                        guard.stderr()
                    ));
                }
            }
        }
        Err(format!("{} {args:?} never listened", self.name))
    }
}

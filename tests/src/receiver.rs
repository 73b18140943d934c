//! Starting receivers for tests: our built `dcmrecv` and the real `/usr/bin/dcmrecv` (the
//! oracle), each on a free 127.0.0.1 port with its own output directory, stopped by PID.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crate::peers::{dcmtk, dcmtk_command, workspace_root};
use crate::process::{ChildGuard, free_port};

/// Which receiver to start.
#[derive(Debug, Clone)]
pub struct Receiver {
    /// `dcmrecv` (the real one) or `ours`.
    pub name: &'static str,
    /// Path of the executable.
    pub binary: PathBuf,
}

/// A started receiver; stopped (by PID) when dropped.
pub struct Running {
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    /// The process; its stderr is the receiver's log.
    pub guard: ChildGuard,
}

/// Whether a TCP socket is listening on `port` (read from `/proc/net/tcp{,6}`: connecting to
/// probe would itself be an association attempt in the receiver's log).
pub fn is_listening(port: u16) -> bool {
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

/// The target directory cargo builds into (`$CARGO_TARGET_DIR` or `<workspace>/target`).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
}

/// Our `dcmrecv`, built once per test process with `cargo build -p dcmrecv` (debug profile) so
/// tests of this crate do not depend on what else was built.
pub fn ours_binary() -> PathBuf {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT
        .get_or_init(|| {
            let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
            let status = Command::new(cargo)
                .args(["build", "--quiet", "-p", "dcmrecv"])
                .current_dir(workspace_root())
                .status()
                .expect("run cargo build -p dcmrecv");
            assert!(status.success(), "cargo build -p dcmrecv failed");
            target_dir().join("debug").join("dcmrecv")
        })
        .clone()
}

impl Running {
    /// Sends one C-ECHO with DCMTK's `echoscu` (which gives up after `timeout`) and returns how
    /// long it took, or `None` if it did not succeed in time: is the receiver serving others?
    pub fn echo(&self, timeout: Duration) -> Option<Duration> {
        let secs = timeout.as_secs().max(1).to_string();
        let mut cmd = dcmtk_command("echoscu");
        cmd.args(["-to", &secs, "-ta", &secs, "-td", &secs, "127.0.0.1"])
            .arg(self.port.to_string());
        let start = Instant::now();
        let mut echo = ChildGuard::spawn(cmd);
        let status = echo.wait_timeout(timeout + Duration::from_secs(2))?;
        status.success().then(|| start.elapsed())
    }
}

impl Receiver {
    /// Whether this is our `dcmrecv` (not the real one).
    pub fn is_ours(&self) -> bool {
        self.name == "ours"
    }

    /// Starts the receiver as [`start`](Self::start) does, panicking on failure; ours listens on
    /// 127.0.0.1 only (`-ba 127.0.0.1`; the real dcmrecv cannot be restricted).
    #[track_caller]
    pub fn start_local(&self, args: &[&str], od: &Path) -> Running {
        let mut all: Vec<String> = Vec::new();
        if self.is_ours() {
            all.extend(["-ba".to_string(), "127.0.0.1".to_string()]);
        }
        all.extend(args.iter().map(|a| a.to_string()));
        self.start(&all, od).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Our `dcmrecv` (see [`ours_binary`]).
    pub fn ours() -> Receiver {
        Receiver {
            name: "ours",
            binary: ours_binary(),
        }
    }

    /// The real `/usr/bin/dcmrecv` (panics with an install hint when missing).
    pub fn dcmtk() -> Receiver {
        Receiver {
            name: "dcmrecv",
            binary: dcmtk("dcmrecv"),
        }
    }

    /// Starts the receiver with `args`, then `-od od` and a free port, and waits until it
    /// listens. `TCP_NODELAY=1` is set so DCMTK's Nagle default does not distort timings.
    pub fn start(&self, args: &[String], od: &Path) -> Result<Running, String> {
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
                    return Ok(Running { port, guard });
                }
                if let Some(status) = guard.wait_timeout(Duration::from_millis(10)) {
                    if guard.stderr().contains("Address already in use") {
                        break; // someone took the port meanwhile: try another
                    }
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

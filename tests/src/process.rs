//! Child processes, ports and timing helpers for tests that start servers.

use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A free TCP port on 127.0.0.1 (bound once and released; good enough for tests).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local addr").port()
}

/// `n` distinct free TCP ports on 127.0.0.1 (all bound at once, then released).
pub fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// Waits until something accepts TCP connections on `127.0.0.1:port`.
pub fn wait_for_port(port: u16, timeout: Duration) -> bool {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        thread::sleep(Duration::from_millis(20));
    }
    false
}

/// A child process that is killed (by its PID) and reaped when dropped. Its stderr is captured
/// to a file so a test can read the log at any time.
pub struct ChildGuard {
    child: Option<Child>,
    stderr_path: std::path::PathBuf,
    _stderr_dir: tempfile::TempDir,
}

impl ChildGuard {
    /// Spawns `cmd` with stdout discarded and stderr captured.
    pub fn spawn(cmd: Command) -> ChildGuard {
        ChildGuard::spawn_with_stdin(cmd, None)
    }

    /// Spawns `cmd` like [`spawn`](Self::spawn), writing `input` to its stdin (then closing
    /// it) if given, else with no stdin at all.
    pub fn spawn_with_stdin(mut cmd: Command, input: Option<&[u8]>) -> ChildGuard {
        let dir = tempfile::tempdir().expect("tempdir");
        let stderr_path = dir.path().join("stderr.log");
        let file = std::fs::File::create(&stderr_path).expect("create stderr log");
        let mut child = cmd
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            use std::io::Write;
            // A child that exits early closes the pipe; its log says why.
            let _ = stdin.write_all(input);
        }
        ChildGuard {
            child: Some(child),
            stderr_path,
            _stderr_dir: dir,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(Child::id).unwrap_or(0)
    }

    /// Everything the child wrote to stderr so far.
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Path of the captured stderr file.
    pub fn stderr_path(&self) -> &Path {
        &self.stderr_path
    }

    /// Waits until the captured stderr contains `needle` (true) or `timeout` passes (false).
    pub fn wait_for_log(&self, needle: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.stderr().contains(needle) {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Waits until the captured stderr contains `needle` at least `count` times (true) or
    /// `timeout` passes (false).
    pub fn wait_for_log_count(&self, needle: &str, count: usize, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.stderr().matches(needle).count() >= count {
                return true;
            }
            thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Sends a signal (e.g. `"TERM"`, `"INT"`, `"KILL"`) to the child by PID with `kill(1)`.
    pub fn signal(&self, signal: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{signal}"))
            .arg(self.pid().to_string())
            .status();
    }

    /// Waits for the child to exit, up to `timeout`; `None` if it is still running.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    /// The peak resident set size (VmHWM) of the running child, in bytes.
    pub fn peak_rss(&self) -> u64 {
        peak_rss_of(self.pid())
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The peak resident set size (VmHWM from `/proc/<pid>/status`) of a process, in bytes.
pub fn peak_rss_of(pid: u32) -> u64 {
    let mut s = String::new();
    if let Ok(mut f) = std::fs::File::open(format!("/proc/{pid}/status")) {
        let _ = f.read_to_string(&mut s);
    }
    s.lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .unwrap_or(0)
}

/// Runs a command to completion with a timeout; panics if it does not finish in time.
pub fn run_with_timeout(mut cmd: Command, timeout: Duration) -> std::process::Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let out_thread = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stdout.read_to_end(&mut v);
        v
    });
    let err_thread = thread::spawn(move || {
        let mut v = Vec::new();
        let _ = stderr.read_to_end(&mut v);
        v
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{cmd:?} did not finish within {timeout:?}");
        }
        thread::sleep(Duration::from_millis(10));
    };
    std::process::Output {
        status,
        stdout: out_thread.join().unwrap_or_default(),
        stderr: err_thread.join().unwrap_or_default(),
    }
}

/// The effective user id of this process (from `/proc/self/status`).
pub fn effective_uid() -> u32 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1))
                .and_then(|id| id.parse().ok())
        })
        .expect("read the effective uid from /proc/self/status")
}

/// A command that runs `program` with `dir` unwritable, in a way that works as root too.
///
/// As an ordinary user, `dir` loses its write permissions (`chmod 0555`). As root, permissions
/// do not stop anyone, so the program runs in a mount namespace of its own (`unshare --mount`)
/// in which an empty read-only tmpfs is mounted over `dir`; the mount disappears with the
/// process, and the PID of the command is the program's (`exec`). Panics with an explanation
/// when root cannot create mount namespaces (a container without `CAP_SYS_ADMIN`).
///
/// Add the program's arguments to the returned command.
pub fn unwritable_dir_command(dir: &Path, program: &Path) -> Command {
    const SCRIPT: &str = r#"mount -t tmpfs -o ro,size=64k tmpfs "$0" && exec "$@""#;
    if effective_uid() != 0 {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o555))
            .unwrap_or_else(|e| panic!("chmod 0555 {}: {e}", dir.display()));
        return Command::new(program);
    }
    let probe = Command::new("unshare")
        .args(["--mount", "sh", "-c", SCRIPT])
        .arg(dir)
        .arg("true")
        .output();
    match probe {
        Ok(out) if out.status.success() => {}
        other => panic!(
            "running as root, so a read-only directory needs a read-only mount, but \
             `unshare --mount` + `mount -t tmpfs -o ro` failed ({other:?}); run the tests as an \
             ordinary user, or as root with CAP_SYS_ADMIN (e.g. `docker run --privileged`)"
        ),
    }
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "sh", "-c", SCRIPT])
        .arg(dir)
        .arg(program);
    cmd
}

//! Hook scripts for the tests.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Writes an executable `/bin/sh` script `name` with `body` into `dir`.
pub(crate) fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// A script that records its arguments: `<dir>/args.N/<i>` holds argument i of call N (byte
/// for byte), `<dir>/args.N/count` their number.
pub(crate) fn recorder(dir: &Path) -> PathBuf {
    script(
        dir,
        "record.sh",
        r#"d="$(dirname "$0")"
n=$(mktemp -d "$d/args.XXXXXX")
i=0
for a in "$@"; do printf '%s' "$a" > "$n/$i"; i=$((i+1)); done
printf '%s' "$#" > "$n/count""#,
    )
}

/// Every recorded call's arguments (in no particular order).
pub(crate) fn recorded(dir: &Path) -> Vec<Vec<String>> {
    let mut calls = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        let is_call = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with("args."));
        if !is_call {
            continue;
        }
        let count: usize = std::fs::read_to_string(path.join("count"))
            .expect("count")
            .parse()
            .expect("number");
        calls.push(
            (0..count)
                .map(|i| std::fs::read_to_string(path.join(i.to_string())).expect("arg"))
                .collect(),
        );
    }
    calls
}

/// Waits until `cond` holds or `timeout` passes; returns whether it held.
pub(crate) fn eventually(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    cond()
}

/// Whether a process with this pid exists (and is not a zombie).
pub(crate) fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let state = s.rsplit(')').next().unwrap_or("").trim_start();
            !state.starts_with('Z')
        })
        .unwrap_or(false)
}

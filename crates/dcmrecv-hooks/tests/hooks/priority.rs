//! The scheduling priority hooks run at: on Linux, asynchronous hooks run in the idle scheduling
//! class (SCHED_IDLE) and 10 nice levels down, unless told otherwise; synchronous ones at the
//! receiver's priority.

use std::path::Path;
use std::time::Duration;

use dcmrecv_hooks::{HookJob, HookKind, HookOptions, HookRunner};

/// Runs one hook that copies its own `/proc/self/stat` to a file, and returns (nice, policy):
/// fields 19 and 41 of stat(5).
fn priority_of_a_hook(options: HookOptions, dir: &Path) -> (i64, i64) {
    let out = dir.join("stat");
    let argv = vec![
        "/bin/sh".to_string(),
        "-c".to_string(),
        // `exec` so that the stat read is the hook process's own, not a child's.
        "exec cat /proc/self/stat > \"$1\"".to_string(),
        "hook".to_string(),
        out.to_string_lossy().into_owned(),
    ];
    let runner = HookRunner::start(options);
    runner.submit(HookJob::new(HookKind::Reception, argv, "subject"));
    runner.shutdown(Duration::from_secs(10));
    assert_eq!(runner.stats().succeeded, 1, "{:?}", runner.stats());
    let stat = std::fs::read_to_string(&out).expect("the hook wrote its stat");
    // After the parenthesised command name, fields start at 3 (state).
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .expect("stat")
        .1
        .split_whitespace()
        .collect();
    let field = |n: usize| fields[n - 3].parse::<i64>().expect("a number");
    (field(19), field(41))
}

fn own_nice() -> i64 {
    let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
    let rest = stat.rsplit_once(')').expect("stat").1;
    rest.split_whitespace()
        .nth(19 - 3)
        .expect("nice")
        .parse()
        .expect("nice")
}

const SCHED_OTHER: i64 = 0;
const SCHED_IDLE: i64 = 5;

#[test]
fn asynchronous_hooks_run_in_the_idle_class_and_ten_nice_levels_down() {
    let dir = tempfile::tempdir().unwrap();
    let (nice, policy) = priority_of_a_hook(HookOptions::new().workers(1), dir.path());
    assert_eq!(policy, SCHED_IDLE);
    assert_eq!(nice, (own_nice() + 10).min(19));
}

#[test]
fn without_idle_priority_only_the_nice_value_is_lowered() {
    let dir = tempfile::tempdir().unwrap();
    let (nice, policy) = priority_of_a_hook(
        HookOptions::new().workers(1).idle_priority(false),
        dir.path(),
    );
    assert_eq!(policy, SCHED_OTHER);
    assert_eq!(nice, (own_nice() + 10).min(19));
}

#[test]
fn niceness_zero_and_synchronous_hooks_keep_the_callers_priority() {
    for options in [
        HookOptions::new().workers(1).niceness(0),
        HookOptions::new().synchronous(true),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let (nice, policy) = priority_of_a_hook(options.clone(), dir.path());
        assert_eq!((nice, policy), (own_nice(), SCHED_OTHER), "{options:?}");
    }
}

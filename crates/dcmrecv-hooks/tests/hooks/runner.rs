//! The runner with real processes: results, counters, timeouts that kill the process group, a
//! full queue, synchronous mode, and shutdown.

use std::time::{Duration, Instant};

use dcmrecv_hooks::{HookJob, HookKind, HookOptions, HookResult, HookRunner, Submitted};

use crate::support::{alive, eventually, script};

fn job(argv: &[&str]) -> HookJob {
    HookJob::new(
        HookKind::Reception,
        argv.iter().map(|s| s.to_string()).collect(),
        "subject",
    )
}

#[test]
fn every_ending_is_reported_and_counted() {
    let runner = HookRunner::start(HookOptions::new().synchronous(true));
    assert_eq!(
        runner.submit(job(&["/bin/true"])),
        Submitted::Ran(HookResult::Succeeded)
    );
    assert_eq!(
        runner.submit(job(&["/bin/sh", "-c", "exit 7"])),
        Submitted::Ran(HookResult::Failed(7))
    );
    assert_eq!(
        runner.submit(job(&["/bin/sh", "-c", "kill -SEGV $$"])),
        Submitted::Ran(HookResult::Signalled(11))
    );
    assert_eq!(
        runner.submit(job(&["/nonexistent/hook"])),
        Submitted::Ran(HookResult::SpawnFailed)
    );
    let s = runner.stats();
    assert_eq!(
        (
            s.submitted,
            s.succeeded,
            s.failed,
            s.signalled,
            s.spawn_failed
        ),
        (4, 1, 1, 1, 1)
    );
}

#[test]
fn a_hook_past_the_timeout_is_killed_with_its_children() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    // The hook starts a grandchild, then ignores SIGTERM, so SIGKILL after the grace is needed.
    let hook = script(
        dir.path(),
        "hang.sh",
        &format!(
            "sleep 1000 & echo $! > {p}.child\ntrap '' TERM\necho $$ > {p}.self\nwhile :; do sleep 1; done",
            p = pids.display()
        ),
    );
    let runner = HookRunner::start(
        HookOptions::new()
            .synchronous(true)
            .timeout(Some(Duration::from_millis(300)))
            .kill_grace(Duration::from_millis(200)),
    );
    let started = Instant::now();
    let result = runner.submit(job(&[hook.to_str().unwrap()]));
    let elapsed = started.elapsed();
    assert_eq!(result, Submitted::Ran(HookResult::TimedOut));
    assert!(elapsed >= Duration::from_millis(300), "{elapsed:?}");
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");
    let read = |ext: &str| -> u32 {
        std::fs::read_to_string(pids.with_extension(ext))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    let (child, me) = (read("child"), read("self"));
    assert!(
        eventually(Duration::from_secs(2), || !alive(child) && !alive(me)),
        "the group survived"
    );
    assert_eq!(runner.stats().timed_out, 1);
}

#[test]
fn a_full_queue_drops_and_counts_without_blocking() {
    let dir = tempfile::tempdir().unwrap();
    let gate = dir.path().join("gate");
    let hook = script(
        dir.path(),
        "wait.sh",
        &format!("while [ ! -e {} ]; do sleep 0.02; done", gate.display()),
    );
    let hook = hook.to_str().unwrap();
    let runner = HookRunner::start(HookOptions::new().workers(1).queue_capacity(2));
    assert_eq!(runner.submit(job(&[hook])), Submitted::Queued);
    assert!(eventually(Duration::from_secs(5), || runner
        .stats()
        .running
        == 1));
    let started = Instant::now();
    let results: Vec<Submitted> = (0..4).map(|_| runner.submit(job(&[hook]))).collect();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "submit blocked"
    );
    assert_eq!(
        results,
        [
            Submitted::Queued,
            Submitted::Queued,
            Submitted::Dropped,
            Submitted::Dropped
        ]
    );
    assert_eq!(runner.stats().queue_depth, 2);
    std::fs::write(&gate, "").unwrap();
    let report = runner.shutdown(Duration::from_secs(10));
    assert_eq!(report.not_run, 0);
    let s = runner.stats();
    assert_eq!(
        (s.succeeded, s.dropped, s.queue_depth, s.running),
        (3, 2, 0, 0)
    );
}

#[test]
fn synchronous_hooks_have_finished_when_submit_returns() {
    let dir = tempfile::tempdir().unwrap();
    let done = dir.path().join("done");
    let hook = script(
        dir.path(),
        "slow.sh",
        &format!("sleep 0.2; touch {}", done.display()),
    );
    let runner = HookRunner::start(HookOptions::new().synchronous(true));
    // Through /bin/sh rather than the script itself: executing a file just written while other
    // tests fork can fail with ETXTBSY (seen once in the packaged run).
    runner.submit(job(&["/bin/sh", hook.to_str().unwrap()]));
    assert!(done.exists());
}

#[test]
fn shutdown_runs_every_queued_hook_once() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log");
    let hook = script(
        dir.path(),
        "log.sh",
        &format!("sleep 0.05; echo \"$1\" >> {}", log.display()),
    );
    let runner = HookRunner::start(HookOptions::new().workers(2));
    for i in 0..10 {
        runner.submit(job(&[hook.to_str().unwrap(), &i.to_string()]));
    }
    let report = runner.shutdown(Duration::from_secs(20));
    assert_eq!((report.not_run, report.interrupted), (0, 0));
    let mut lines: Vec<u32> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    lines.sort();
    assert_eq!(lines, (0..10).collect::<Vec<_>>());
    // After shutdown nothing runs, and that is counted.
    assert_eq!(runner.submit(job(&["/bin/true"])), Submitted::Refused);
    assert_eq!(runner.stats().not_run, 1);
}

#[test]
fn past_the_shutdown_deadline_hooks_are_killed_or_not_run_and_counted() {
    let runner = HookRunner::start(HookOptions::new().workers(1));
    for _ in 0..3 {
        runner.submit(job(&["/bin/sleep", "30"]));
    }
    assert!(eventually(Duration::from_secs(5), || runner
        .stats()
        .running
        == 1));
    let started = Instant::now();
    let report = runner.shutdown(Duration::from_millis(300));
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    assert_eq!((report.interrupted, report.not_run), (1, 2));
    let s = runner.stats();
    assert_eq!(
        (s.interrupted, s.not_run, s.running, s.queue_depth),
        (1, 2, 0, 0)
    );
}

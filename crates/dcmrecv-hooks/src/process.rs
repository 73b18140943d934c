//! Running one hook program: started directly (no shell) in a process group of its own, its
//! output collected, killed with its whole group past the timeout.
//!
//! The runner waits for the end of a hook, or for output from it, with `poll` on a pidfd and the
//! output pipes (Linux 5.3 and later), so an exit is seen at once; without a pidfd it checks
//! after sleeps from 1 ms doubling to [`CHECK_EVERY`].

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec, poll};
use rustix::process::{Pid, PidfdFlags, Signal, kill_process_group, pidfd_open};

/// The most output kept per stream (the end of it): enough for an error message.
pub(crate) const OUTPUT_TAIL: usize = 4096;

/// The longest wait between two looks at the shutdown flag and the timeout.
const CHECK_EVERY: Duration = Duration::from_millis(20);

/// How one run ended.
#[derive(Debug)]
pub(crate) enum Ending {
    /// It exited or was killed by a signal on its own.
    Exited(ExitStatus),
    /// It ran past the timeout and its process group was killed.
    TimedOut,
    /// The runner's shutdown deadline passed and its process group was killed.
    Interrupted,
    /// It could not be started.
    SpawnFailed(io::Error),
}

/// What a run produced.
#[derive(Debug)]
pub(crate) struct Run {
    pub(crate) ending: Ending,
    pub(crate) elapsed: Duration,
    /// The end of its standard output and standard error, merged in order of reading.
    pub(crate) output: Vec<u8>,
}

/// Runs `argv` (program first) to its end, at most `timeout` (then SIGTERM to its process
/// group, and SIGKILL `grace` later), or until `interrupt` is set.
pub(crate) fn run(
    argv: &[String],
    timeout: Option<Duration>,
    grace: Duration,
    interrupt: &AtomicBool,
) -> Run {
    let started = Instant::now();
    let Some((program, args)) = argv.split_first() else {
        return Run {
            ending: Ending::SpawnFailed(io::Error::other("empty command")),
            elapsed: Duration::ZERO,
            output: Vec::new(),
        };
    };
    let spawned = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own process group, so a timeout kills what it started too.
        .process_group(0)
        .spawn();
    let mut child = match spawned {
        Ok(child) => child,
        Err(error) => {
            return Run {
                ending: Ending::SpawnFailed(error),
                elapsed: started.elapsed(),
                output: Vec::new(),
            };
        }
    };
    let mut output = Output::new(&mut child);
    let mut waiter = Waiter::new(&child);
    let ending = loop {
        output.read_available();
        match child.try_wait() {
            Ok(Some(status)) => break Ending::Exited(status),
            Ok(None) => {}
            Err(error) => {
                kill_group(&child, Signal::KILL);
                let _ = child.wait();
                break Ending::SpawnFailed(error);
            }
        }
        if interrupt.load(Ordering::Relaxed) {
            stop(&mut child, grace, &mut output, &mut waiter);
            break Ending::Interrupted;
        }
        if timeout.is_some_and(|t| started.elapsed() >= t) {
            stop(&mut child, grace, &mut output, &mut waiter);
            break Ending::TimedOut;
        }
        let until_timeout = timeout.map_or(CHECK_EVERY, |t| t.saturating_sub(started.elapsed()));
        waiter.wait(&output, until_timeout.min(CHECK_EVERY));
    };
    output.read_available();
    Run {
        ending,
        elapsed: started.elapsed(),
        output: output.tail,
    }
}

/// SIGTERM to the group, then SIGKILL if it is still there after `grace`; reaps the child.
fn stop(child: &mut Child, grace: Duration, output: &mut Output, waiter: &mut Waiter) {
    kill_group(child, Signal::TERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        output.read_available();
        if matches!(child.try_wait(), Ok(Some(_))) {
            // The leader is gone; its children may not be.
            kill_group(child, Signal::KILL);
            return;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        waiter.wait(output, left.min(CHECK_EVERY));
    }
    kill_group(child, Signal::KILL);
    let _ = child.wait();
}

fn kill_group(child: &Child, signal: Signal) {
    // The group id is the child's pid (`process_group(0)`). ESRCH: already gone.
    let _ = kill_process_group(Pid::from_child(child), signal);
}

/// Waits until the child has exited, has written something or `at_most` has passed.
struct Waiter {
    /// `None` without pidfds (before Linux 5.3, or elsewhere): then it sleeps.
    pidfd: Option<OwnedFd>,
    pause: Duration,
}

impl Waiter {
    fn new(child: &Child) -> Waiter {
        let pidfd = pidfd_open(Pid::from_child(child), PidfdFlags::empty())
            .inspect_err(|error| tracing::trace!(%error, "no pidfd; polling the hook"))
            .ok();
        Waiter {
            pidfd,
            pause: Duration::from_millis(1),
        }
    }

    fn wait(&mut self, output: &Output, at_most: Duration) {
        let Some(pidfd) = &self.pidfd else {
            std::thread::sleep(self.pause.min(at_most));
            self.pause = (self.pause * 2).min(CHECK_EVERY);
            return;
        };
        let mut fds = Vec::with_capacity(1 + output.pipes.len());
        fds.push(PollFd::new(pidfd, PollFlags::IN));
        // Only pipes still open (at end of file they are dropped), so a hang-up does not spin.
        fds.extend(output.pipes.iter().map(|p| PollFd::new(p, PollFlags::IN)));
        let timeout = Timespec::try_from(at_most).unwrap_or(Timespec {
            tv_sec: 0,
            tv_nsec: 20_000_000,
        });
        // EINTR or any other error: the caller looks again and calls back.
        let _ = poll(&mut fds, Some(&timeout));
    }
}

/// The child's stdout and stderr, read without blocking, keeping the last bytes.
struct Output {
    pipes: Vec<File>,
    tail: Vec<u8>,
}

impl Output {
    fn new(child: &mut Child) -> Output {
        let mut pipes = Vec::new();
        let out = child.stdout.take().map(OwnedFd::from);
        let err = child.stderr.take().map(OwnedFd::from);
        for pipe in out.into_iter().chain(err) {
            if rustix::io::ioctl_fionbio(pipe.as_fd(), true).is_ok() {
                pipes.push(File::from(pipe));
            }
        }
        Output {
            pipes,
            tail: Vec::new(),
        }
    }

    fn read_available(&mut self) {
        let mut buf = [0u8; 4096];
        let mut open = Vec::with_capacity(self.pipes.len());
        for mut pipe in self.pipes.drain(..) {
            let keep = loop {
                match pipe.read(&mut buf) {
                    Ok(0) => break false,
                    Ok(n) => {
                        self.tail.extend_from_slice(&buf[..n]);
                        if self.tail.len() > OUTPUT_TAIL {
                            let cut = self.tail.len() - OUTPUT_TAIL;
                            self.tail.drain(..cut);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break true,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(_) => break false,
                }
            };
            if keep {
                open.push(pipe);
            }
        }
        self.pipes = open;
    }
}

/// A short description of an exit status for logs: `exit status 3`, `signal 9`.
pub(crate) fn describe(status: &ExitStatus) -> String {
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit status {code}"),
        (None, Some(signal)) => format!("signal {signal}"),
        (None, None) => status.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicBool;
    use std::time::Duration;

    use super::{Ending, run};

    fn argv(words: &[&str]) -> Vec<String> {
        words.iter().map(|w| w.to_string()).collect()
    }

    #[test]
    fn exit_status_and_output_are_collected() {
        let never = AtomicBool::new(false);
        let r = run(
            &argv(&["/bin/sh", "-c", "echo out; echo err >&2; exit 3", "x"]),
            None,
            Duration::from_secs(1),
            &never,
        );
        match r.ending {
            Ending::Exited(s) => assert_eq!(s.code(), Some(3)),
            other => panic!("{other:?}"),
        }
        let text = String::from_utf8(r.output).unwrap();
        assert!(text.contains("out\n") && text.contains("err\n"), "{text:?}");
    }

    #[test]
    fn a_missing_program_is_a_spawn_failure() {
        let never = AtomicBool::new(false);
        let r = run(&argv(&["/nonexistent/hook"]), None, Duration::ZERO, &never);
        assert!(matches!(r.ending, Ending::SpawnFailed(_)), "{:?}", r.ending);
    }

    /// CPU ticks (1/100 s) the calling thread has used: utime + stime of stat(5).
    fn thread_cpu_ticks() -> u64 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
        let fields: Vec<u64> = stat
            .rsplit_once(')')
            .unwrap()
            .1
            .split_whitespace()
            .skip(11)
            .take(2)
            .map(|f| f.parse().unwrap())
            .collect();
        fields.iter().sum()
    }

    #[test]
    fn the_end_of_the_hook_is_seen_though_a_child_of_it_holds_the_pipes() {
        let never = AtomicBool::new(false);
        let started = std::time::Instant::now();
        // The grandchild keeps stdout and stderr open for 2 s; the hook itself exits at once.
        let r = run(
            &argv(&["/bin/sh", "-c", "sleep 2 & exit 0"]),
            None,
            Duration::from_secs(1),
            &never,
        );
        assert!(
            matches!(r.ending, Ending::Exited(s) if s.success()),
            "{:?}",
            r.ending
        );
        assert!(
            started.elapsed() < Duration::from_millis(1500),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    #[cfg(target_os = "linux")]
    fn waiting_for_a_quiet_hook_with_closed_pipes_does_not_spin() {
        let never = AtomicBool::new(false);
        let before = thread_cpu_ticks();
        let r = run(
            &argv(&["/bin/sh", "-c", "exec >&- 2>&-; sleep 0.5"]),
            None,
            Duration::from_secs(1),
            &never,
        );
        assert!(
            matches!(r.ending, Ending::Exited(s) if s.success()),
            "{:?}",
            r.ending
        );
        // A poll that returned at once for the hung-up pipes would burn the whole 0.5 s.
        let used = thread_cpu_ticks() - before;
        assert!(used < 10, "{used} ticks of CPU while waiting");
    }

    #[test]
    fn a_hook_that_hangs_is_stopped_at_the_timeout_and_its_output_kept() {
        let never = AtomicBool::new(false);
        let started = std::time::Instant::now();
        let r = run(
            &argv(&["/bin/sh", "-c", "echo before; exec sleep 30"]),
            Some(Duration::from_millis(200)),
            Duration::from_secs(1),
            &never,
        );
        assert!(matches!(r.ending, Ending::TimedOut), "{:?}", r.ending);
        let took = started.elapsed();
        assert!(
            took >= Duration::from_millis(200) && took < Duration::from_secs(5),
            "{took:?}"
        );
        assert_eq!(String::from_utf8_lossy(&r.output), "before\n");
    }

    #[test]
    fn output_keeps_only_the_tail() {
        let never = AtomicBool::new(false);
        let r = run(
            &argv(&[
                "/bin/sh",
                "-c",
                "i=0; while [ $i -lt 3000 ]; do echo line$i; i=$((i+1)); done",
            ]),
            None,
            Duration::from_secs(1),
            &never,
        );
        assert!(r.output.len() <= super::OUTPUT_TAIL);
        assert!(String::from_utf8_lossy(&r.output).ends_with("line2999\n"));
    }
}

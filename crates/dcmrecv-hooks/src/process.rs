//! Running one hook program: started directly (no shell) in a process group of its own, its
//! output collected, killed with its whole group past the timeout.

use std::io::{self, Read};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal, kill_process_group};

/// The most output kept per stream (the end of it): enough for an error message.
pub(crate) const OUTPUT_TAIL: usize = 4096;

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
    let mut pause = Duration::from_millis(1);
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
            stop(&mut child, grace, &mut output);
            break Ending::Interrupted;
        }
        if timeout.is_some_and(|t| started.elapsed() >= t) {
            stop(&mut child, grace, &mut output);
            break Ending::TimedOut;
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(20));
    };
    output.read_available();
    Run {
        ending,
        elapsed: started.elapsed(),
        output: output.tail,
    }
}

/// SIGTERM to the group, then SIGKILL if it is still there after `grace`; reaps the child.
fn stop(child: &mut Child, grace: Duration, output: &mut Output) {
    kill_group(child, Signal::TERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline {
        output.read_available();
        if matches!(child.try_wait(), Ok(Some(_))) {
            // The leader is gone; its children may not be.
            kill_group(child, Signal::KILL);
            return;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    kill_group(child, Signal::KILL);
    let _ = child.wait();
}

fn kill_group(child: &Child, signal: Signal) {
    // The group id is the child's pid (`process_group(0)`). ESRCH: already gone.
    let _ = kill_process_group(Pid::from_child(child), signal);
}

/// The child's stdout and stderr, read without blocking, keeping the last bytes.
struct Output {
    pipes: Vec<Box<dyn Read + Send>>,
    tail: Vec<u8>,
}

impl Output {
    fn new(child: &mut Child) -> Output {
        let mut pipes: Vec<Box<dyn Read + Send>> = Vec::new();
        if let Some(out) = child.stdout.take()
            && rustix::io::ioctl_fionbio(&out, true).is_ok()
        {
            pipes.push(Box::new(out));
        }
        if let Some(err) = child.stderr.take()
            && rustix::io::ioctl_fionbio(&err, true).is_ok()
        {
            pipes.push(Box::new(err));
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

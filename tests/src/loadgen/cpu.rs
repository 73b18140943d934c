//! CPU time of processes, from `/proc/<pid>/stat` (utime and stime, in clock ticks of 1/100 s,
//! the value of `CLK_TCK` on Linux), and of the calling thread, from its CPU-time clock.

/// CPU time of a process (or thread) in seconds: (user, system).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CpuTime {
    /// User-mode seconds.
    pub user: f64,
    /// Kernel-mode seconds.
    pub system: f64,
}

impl CpuTime {
    /// User plus system seconds.
    pub fn total(self) -> f64 {
        self.user + self.system
    }

    /// The time used between `earlier` and `self`.
    pub fn since(self, earlier: CpuTime) -> CpuTime {
        CpuTime {
            user: self.user - earlier.user,
            system: self.system - earlier.system,
        }
    }
}

/// The CPU time process `pid` has used so far (zero when it is gone).
///
/// ```
/// let me = dcmrecv_e2e::loadgen::process_cpu(std::process::id());
/// assert!(me.total() >= 0.0);
/// ```
pub fn process_cpu(pid: u32) -> CpuTime {
    read(&format!("/proc/{pid}/stat"))
}

/// The CPU time the calling thread has used so far, to the nanosecond
/// (`CLOCK_THREAD_CPUTIME_ID`).
pub(crate) fn thread_cpu_seconds() -> f64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::ThreadCPUTime);
    t.tv_sec as f64 + t.tv_nsec as f64 / 1e9
}

fn read(path: &str) -> CpuTime {
    let (user, system) = stat_ticks(&std::fs::read_to_string(path).unwrap_or_default());
    CpuTime {
        user: user as f64 / 100.0,
        system: system as f64 / 100.0,
    }
}

/// utime and stime (in clock ticks) from the text of a `/proc/.../stat` file.
fn stat_ticks(stat: &str) -> (u64, u64) {
    // The command name is in parentheses and may hold spaces and parentheses; utime and stime
    // (fields 14 and 15) are the 12th and 13th after its closing parenthesis.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let mut fields = rest.split_whitespace().skip(11);
    let mut next = || fields.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    (next(), next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_after_a_name_with_spaces_and_parentheses() {
        let stat = "1234 (a b) c) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 1";
        assert_eq!(stat_ticks(stat), (250, 75));
        assert_eq!(stat_ticks(""), (0, 0));
        assert!(thread_cpu_seconds() >= 0.0);
        let a = CpuTime {
            user: 1.5,
            system: 0.5,
        };
        let b = CpuTime {
            user: 2.0,
            system: 1.5,
        };
        assert_eq!(
            b.since(a),
            CpuTime {
                user: 0.5,
                system: 1.0
            }
        );
        assert_eq!(b.total(), 3.5);
    }
}

//! A load generator that is not the bottleneck: a C-STORE sender on dicom-ul's PDU codec that
//! holds its objects in memory, opens many associations at once and checks every response.
//!
//! - Objects: one synthesised CT data set per size (`2k`, `64k`, `512k`, `200m`...), encoded
//!   once in Explicit VR Little Endian; each object sent gets its own SOP Instance UID, written
//!   in place into a per-association copy of the few hundred bytes before the pixels (see
//!   [`DataSet`]). Nothing is read from disk and nothing is allocated per object.
//! - Associations: `N` at once, each on its own thread with blocking sockets, or
//!   [`LoadSpec::threads`] threads multiplexing them with epoll.
//! - PDUs: the receiver's Maximum Length; one PDV per P-DATA-TF PDU; the command and up to 64
//!   data PDUs go out in one `writev` (`TCP_NODELAY` on).
//! - Asynchronous Operations Window (PS3.7 D.3.3.3): optionally proposed; where the receiver
//!   grants one, up to that many C-STORE-RQs are sent before waiting for responses. A receiver
//!   that does not answer the sub-item gets one at a time.
//! - Every C-STORE-RSP status is checked; failures, warnings, unanswered objects and
//!   association errors are counted in the [`LoadReport`], never dropped.
//!
//! ```no_run
//! use dcmrecv_e2e::loadgen::{DataSet, LoadSpec, run};
//! let data_set = DataSet::with_size(2048);
//! let spec = LoadSpec::new("127.0.0.1:11112".parse()?).associations(4).objects(1000);
//! let report = run(&spec, &data_set);
//! println!("{}", report.summary());
//! assert!(report.is_clean());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod conn;
mod cpu;
mod driver;
mod object;
mod sink;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub use conn::AssociationStats;
pub use cpu::{CpuTime, process_cpu};
pub use object::{DataSet, parse_size, size_name};
pub use sink::{SinkOptions, serve_sink, spawn_sink};

/// What to send, and how.
#[derive(Debug, Clone)]
pub struct LoadSpec {
    addr: SocketAddr,
    associations: usize,
    objects: u64,
    async_window: Option<u16>,
    threads: Option<usize>,
    max_send_pdu: Option<u32>,
    called_ae: String,
    stall: Duration,
}

impl LoadSpec {
    /// One association sending 100 objects to `addr`, synchronously, one thread per
    /// association, called AE title `ANY-SCP`, failing after 120 s without progress.
    pub fn new(addr: SocketAddr) -> LoadSpec {
        LoadSpec {
            addr,
            associations: 1,
            objects: 100,
            async_window: None,
            threads: None,
            max_send_pdu: None,
            called_ae: "ANY-SCP".to_string(),
            stall: Duration::from_secs(120),
        }
    }

    /// Associations opened at once (at least 1).
    pub fn associations(mut self, n: usize) -> LoadSpec {
        self.associations = n.max(1);
        self
    }

    /// Objects in all, spread as evenly as possible over the associations.
    pub fn objects(mut self, n: u64) -> LoadSpec {
        self.objects = n;
        self
    }

    /// Propose an Asynchronous Operations Window of `n` outstanding operations (0 =
    /// unlimited); `None` proposes none.
    pub fn async_window(mut self, n: Option<u16>) -> LoadSpec {
        self.async_window = n;
        self
    }

    /// Multiplex the associations over `n` threads with epoll; `None`: one thread per
    /// association with blocking sockets.
    pub fn threads(mut self, n: Option<usize>) -> LoadSpec {
        self.threads = n;
        self
    }

    /// Send PDUs of at most this length even if the receiver takes longer ones.
    pub fn max_send_pdu(mut self, n: Option<u32>) -> LoadSpec {
        self.max_send_pdu = n;
        self
    }

    /// The called AE title.
    pub fn called_ae(mut self, ae: &str) -> LoadSpec {
        self.called_ae = ae.to_string();
        self
    }

    /// How long an association may go without progress before it fails.
    pub fn stall_timeout(mut self, d: Duration) -> LoadSpec {
        self.stall = d;
        self
    }

    /// Objects of each association.
    fn split(&self) -> Vec<u64> {
        let n = self.associations as u64;
        (0..n)
            .map(|i| self.objects / n + u64::from(i < self.objects % n))
            .collect()
    }
}

/// What happened in one run.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Wall time from the first connect to the end of the last association.
    pub seconds: f64,
    /// Encoded length of each data set sent.
    pub data_set_bytes: u64,
    /// Every association, in order.
    pub associations: Vec<AssociationStats>,
    /// CPU seconds the generator's threads used.
    pub sender_cpu: f64,
    /// Threads used (one per association, or the multiplexing ones).
    pub threads: usize,
}

impl LoadReport {
    fn sum(&self, f: impl Fn(&AssociationStats) -> u64) -> u64 {
        self.associations.iter().map(f).sum()
    }

    /// Objects that were to be sent.
    pub fn objects(&self) -> u64 {
        self.sum(|a| a.objects)
    }

    /// Objects answered with Success.
    pub fn succeeded(&self) -> u64 {
        self.sum(|a| a.succeeded)
    }

    /// Objects answered with a Warning status (stored).
    pub fn warnings(&self) -> u64 {
        self.sum(|a| a.warnings)
    }

    /// Objects answered with a failure status.
    pub fn failed(&self) -> u64 {
        self.sum(|a| a.failed)
    }

    /// Objects never answered (not sent, or their association ended first).
    pub fn unanswered(&self) -> u64 {
        self.sum(AssociationStats::unanswered)
    }

    /// Objects the receiver confirmed as stored (Success or Warning).
    pub fn stored(&self) -> u64 {
        self.succeeded() + self.warnings()
    }

    /// Objects not confirmed as stored: failed or unanswered.
    pub fn not_stored(&self) -> u64 {
        self.objects() - self.stored()
    }

    /// Whether every object was stored with status Success and every association ended
    /// normally.
    pub fn is_clean(&self) -> bool {
        self.succeeded() == self.objects() && self.associations.iter().all(|a| a.error.is_none())
    }

    /// Stored objects per second.
    pub fn files_per_second(&self) -> f64 {
        self.stored() as f64 / self.seconds.max(1e-9)
    }

    /// Stored data set bytes per second, in MB (10^6 bytes).
    pub fn mb_per_second(&self) -> f64 {
        (self.stored() * self.data_set_bytes) as f64 / 1e6 / self.seconds.max(1e-9)
    }

    /// Associations the receiver rejected or that failed before the A-ASSOCIATE-AC.
    pub fn not_accepted(&self) -> usize {
        self.associations.iter().filter(|a| !a.accepted).count()
    }

    /// The longest wait from the start of the run to an A-ASSOCIATE-AC.
    pub fn max_ac_wait(&self) -> f64 {
        self.associations
            .iter()
            .filter_map(|a| a.ac_after)
            .fold(0.0, f64::max)
    }

    /// The windows used (smallest, largest) over the accepted associations.
    pub fn windows(&self) -> (usize, usize) {
        let used = self
            .associations
            .iter()
            .filter(|a| a.accepted)
            .map(|a| a.window);
        (used.clone().min().unwrap_or(0), used.max().unwrap_or(0))
    }

    /// The receiver's Maximum Length as the first accepted association saw it.
    pub fn peer_max_pdu(&self) -> Option<u32> {
        self.associations.iter().find_map(|a| a.peer_max_pdu)
    }

    /// Distinct association errors and failed statuses, each with how often it happened.
    pub fn problems(&self) -> Vec<String> {
        let mut counts: Vec<(String, usize)> = Vec::new();
        let errors = self.associations.iter().filter_map(|a| a.error.clone());
        let statuses = self.associations.iter().flat_map(|a| {
            a.failures.iter().map(|f| {
                f.rsplit_once(": ")
                    .map_or(f.clone(), |(_, s)| s.to_string())
            })
        });
        for p in errors.chain(statuses) {
            match counts.iter_mut().find(|(q, _)| *q == p) {
                Some((_, n)) => *n += 1,
                None => counts.push((p, 1)),
            }
        }
        counts
            .into_iter()
            .map(|(p, n)| if n > 1 { format!("{p} (×{n})") } else { p })
            .collect()
    }

    /// One paragraph: throughput, outcome counts and problems.
    pub fn summary(&self) -> String {
        let (wmin, wmax) = self.windows();
        let mut s = format!(
            "{} objects of {} bytes over {} associations ({} threads) in {:.3} s: {:.0} files/s, \
             {:.1} MB/s; stored {} (success {}, warning {}), failed {}, unanswered {}; \
             associations not accepted {}; longest wait for A-ASSOCIATE-AC {:.3} s; \
             window {}; receiver max PDU {}; sender CPU {:.3} s ({:.1} µs/object)",
            self.objects(),
            self.data_set_bytes,
            self.associations.len(),
            self.threads,
            self.seconds,
            self.files_per_second(),
            self.mb_per_second(),
            self.stored(),
            self.succeeded(),
            self.warnings(),
            self.failed(),
            self.unanswered(),
            self.not_accepted(),
            self.max_ac_wait(),
            if wmin == wmax {
                wmin.to_string()
            } else {
                format!("{wmin}–{wmax}")
            },
            self.peer_max_pdu()
                .map_or("none".to_string(), |m| m.to_string()),
            self.sender_cpu,
            1e6 * self.sender_cpu / (self.objects().max(1) as f64),
        );
        for p in self.problems().iter().take(8) {
            s.push_str("\n  problem: ");
            s.push_str(p);
        }
        s
    }
}

/// Sends `spec`'s objects of `data_set` and waits until every association has ended.
pub fn run(spec: &LoadSpec, data_set: &DataSet) -> LoadReport {
    let started = Instant::now();
    let plan = driver::Plan {
        addr: spec.addr,
        data_set,
        objects: spec.split(),
        async_window: spec.async_window,
        max_send_pdu: spec.max_send_pdu,
        called_ae: &spec.called_ae,
        stall: spec.stall,
        started,
    };
    let ((associations, sender_cpu), threads) = match spec.threads {
        None => (driver::thread_per_association(&plan), spec.associations),
        Some(t) => {
            let t = t.clamp(1, spec.associations);
            (driver::multiplexed(&plan, t), t)
        }
    };
    LoadReport {
        seconds: started.elapsed().as_secs_f64(),
        data_set_bytes: data_set.len(),
        associations,
        sender_cpu,
        threads,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sink(options: SinkOptions) -> SocketAddr {
        spawn_sink(options).expect("start the discarding SCP")
    }

    #[test]
    fn objects_are_spread_evenly() {
        let spec = LoadSpec::new("127.0.0.1:1".parse().unwrap())
            .associations(4)
            .objects(10);
        assert_eq!(spec.split(), vec![3, 3, 2, 2]);
    }

    #[test]
    fn every_object_is_answered_in_both_thread_models() {
        let ds = DataSet::with_size(40_000); // three PDUs of 16 KiB
        let addr = sink(SinkOptions::default());
        for threads in [None, Some(1), Some(2)] {
            let spec = LoadSpec::new(addr)
                .associations(3)
                .objects(31)
                .threads(threads);
            let report = run(&spec, &ds);
            assert!(report.is_clean(), "{threads:?}: {}", report.summary());
            assert_eq!(report.succeeded(), 31);
            assert_eq!(report.windows(), (1, 1));
            assert_eq!(report.peer_max_pdu(), Some(16384));
        }
    }

    #[test]
    fn failed_statuses_are_counted() {
        let ds = DataSet::with_size(2048);
        let addr = sink(SinkOptions {
            fail_every: Some(4),
            ..SinkOptions::default()
        });
        let report = run(&LoadSpec::new(addr).associations(2).objects(20), &ds);
        assert_eq!(report.failed(), 4, "{}", report.summary());
        assert_eq!(report.succeeded(), 16);
        assert!(!report.is_clean());
        assert_eq!(report.problems(), vec!["status 0xA700 (×4)".to_string()]);
    }

    #[test]
    fn a_granted_window_is_used_and_a_missing_answer_means_one() {
        let ds = DataSet::with_size(2048);
        let granting = sink(SinkOptions {
            window: Some(8),
            ..SinkOptions::default()
        });
        for threads in [None, Some(1)] {
            let spec = LoadSpec::new(granting)
                .objects(100)
                .async_window(Some(16))
                .threads(threads);
            let report = run(&spec, &ds);
            assert!(report.is_clean(), "{}", report.summary());
            assert_eq!(report.windows(), (8, 8));
            assert_eq!(report.associations[0].window_answer, Some((1, 8)));
        }
        let ignoring = sink(SinkOptions::default());
        let report = run(
            &LoadSpec::new(ignoring).objects(10).async_window(Some(16)),
            &ds,
        );
        assert!(report.is_clean(), "{}", report.summary());
        assert_eq!(report.windows(), (1, 1));
        assert_eq!(report.associations[0].window_answer, None);
    }

    #[test]
    fn a_refused_connection_is_counted_not_hidden() {
        let ds = DataSet::with_size(2048);
        // A port nobody listens on: bind, take the port, close.
        let port = crate::process::free_port();
        let addr: SocketAddr = ([127, 0, 0, 1], port).into();
        for threads in [None, Some(1)] {
            let report = run(
                &LoadSpec::new(addr)
                    .associations(2)
                    .objects(6)
                    .threads(threads),
                &ds,
            );
            assert_eq!(report.unanswered(), 6, "{}", report.summary());
            assert_eq!(report.not_accepted(), 2);
            assert!(!report.is_clean());
            assert!(
                report.problems()[0].contains("refused"),
                "{:?}",
                report.problems()
            );
        }
    }

    #[test]
    fn a_receiver_that_never_answers_fails_after_the_stall_timeout() {
        let ds = DataSet::with_size(2048);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        for threads in [None, Some(1)] {
            let report = run(
                &LoadSpec::new(addr)
                    .objects(3)
                    .threads(threads)
                    .stall_timeout(Duration::from_millis(300)),
                &ds,
            );
            assert_eq!(report.unanswered(), 3, "{}", report.summary());
            assert!(
                report.problems()[0].contains("no progress"),
                "{:?}",
                report.problems()
            );
        }
        drop(listener);
    }
}

//! The capacity section of `cargo xtask bench` (issue 16): what the receivers themselves can
//! take, measured with our in-memory load generator (`dcmrecv_e2e::loadgen`) instead of
//! `storescu`, whose own cost per object bounds rows (a)–(g).
//!
//! - The matrix: every receiver (ours, the real dcmrecv, ours with `--ignore`, the discarding
//!   `null-scp`, and pynetdicom's storescp and dicom-rs's dicom-storescp where installed) ×
//!   object sizes × parallel associations, receivers alternating within each run; files/s,
//!   MB/s, receiver CPU per object and per GB, peak RSS, the longest wait for an
//!   A-ASSOCIATE-AC (dcmrecv serves one association at a time: the others wait in the listen
//!   backlog) and every object not stored.
//! - The physical limit: the same bytes over raw loopback TCP into one file, and into one
//!   file per object.
//! - The generator's ceiling: `null-scp` and `ours --ignore` rows; the generator against
//!   `storescu` on `null-scp`; thread models; an asynchronous operations window.
//! - The deleting consumer: a fresh output directory, the previous run's files removed and
//!   the directory re-created at the same path just before, and a consumer deleting files as
//!   they appear (the ext4 orphan-list arrangement of issue 16).
//!
//! Each sample starts its receiver on a new output directory; afterwards the directory is
//! removed and `sync` run, so no sample inherits another's writeback.

mod consumer;
pub(crate) mod receivers;

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use dcmrecv_e2e::loadgen::{self, CpuTime, DataSet, LoadSpec, process_cpu, size_name};
use dcmrecv_e2e::process::peak_rss_of;

use self::consumer::Consumer;
use self::receivers::{Receiver, count_stored};
use super::{lines, raw, stats};

/// What the capacity section runs.
#[derive(Debug, Clone)]
pub(crate) struct CapacityOptions {
    pub(crate) runs: usize,
    pub(crate) sizes: Vec<u64>,
    pub(crate) assocs: Vec<usize>,
    /// Objects per case at most.
    pub(crate) max_objects: u64,
    /// Bytes per case aimed at (objects = this / size, within the bounds).
    pub(crate) case_bytes: u64,
    /// Cases whose smallest load (one object per association) is above this are skipped.
    pub(crate) max_case_bytes: u64,
    pub(crate) async_window: Option<u16>,
    pub(crate) threads: Option<usize>,
    pub(crate) receivers: Option<Vec<String>>,
    /// The deleting-consumer scenario: objects and their size.
    pub(crate) consumer_objects: u64,
    pub(crate) consumer_size: u64,
    /// Run the extra tables (sender ceiling, thread models, window, consumer, raw).
    pub(crate) extras: bool,
    /// Run only the deleting-consumer table (`--consumer-only`).
    pub(crate) consumer_only: bool,
    /// Where the receivers' output directories go (`--od-root`; default: the bench's output
    /// directory), e.g. a mount of another file system.
    pub(crate) od_root: Option<std::path::PathBuf>,
}

impl CapacityOptions {
    pub(crate) fn full() -> CapacityOptions {
        CapacityOptions {
            runs: 3,
            sizes: vec![2 << 10, 64 << 10, 512 << 10, 200 << 20],
            assocs: vec![1, 4, 16, 64],
            max_objects: 2000,
            case_bytes: 512 << 20,
            max_case_bytes: 1 << 30,
            async_window: None,
            threads: None,
            receivers: None,
            consumer_objects: 1000,
            consumer_size: 2 << 10,
            extras: true,
            consumer_only: false,
            od_root: None,
        }
    }

    pub(crate) fn quick() -> CapacityOptions {
        CapacityOptions {
            runs: 3,
            max_objects: 400,
            case_bytes: 64 << 20,
            max_case_bytes: 512 << 20,
            consumer_objects: 400,
            ..CapacityOptions::full()
        }
    }
}

/// Objects sent in a case: `case_bytes / size` within [assocs, max_objects], rounded up to a
/// multiple of `assocs`; `None` when even one object per association exceeds `max_case_bytes`.
pub(crate) fn objects_for(size: u64, assocs: usize, o: &CapacityOptions) -> Option<u64> {
    let assocs = assocs.max(1) as u64;
    if size.saturating_mul(assocs) > o.max_case_bytes {
        return None;
    }
    let wanted = (o.case_bytes / size.max(1)).clamp(1, o.max_objects.max(1));
    Some(wanted.div_ceil(assocs).max(1) * assocs)
}

/// How the output directory is prepared for a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// A directory that never existed.
    Fresh,
    /// The same load run once into the directory (untimed), its files removed, the directory
    /// re-created at the same path, then the measured run: issue 16's arrangement.
    Recreated,
    /// A fresh directory and a consumer deleting files as they appear.
    Consumer,
}

impl Setup {
    fn name(self) -> &'static str {
        match self {
            Setup::Fresh => "fresh directory",
            Setup::Recreated => "previous files removed, same path re-created",
            Setup::Consumer => "concurrent deleting consumer",
        }
    }
}

/// One measured run.
#[derive(Debug, Clone)]
struct Sample {
    seconds: f64,
    objects: u64,
    stored: u64,
    cpu: CpuTime,
    peak_rss: u64,
    ac_wait: f64,
    window: (usize, usize),
    problems: Vec<String>,
    sender_cpu: f64,
}

impl Sample {
    fn files_per_second(&self) -> f64 {
        self.stored as f64 / self.seconds.max(1e-9)
    }
}

/// What a row's samples were taken with.
#[derive(Debug, Clone)]
struct Row {
    size: u64,
    bytes: u64,
    assocs: usize,
    receiver: String,
    samples: Vec<Sample>,
}

impl Row {
    fn med(&self, f: impl Fn(&Sample) -> f64) -> f64 {
        stats(&self.samples.iter().map(f).collect::<Vec<_>>()).0
    }

    fn range(&self, f: impl Fn(&Sample) -> f64) -> (f64, f64, f64) {
        stats(&self.samples.iter().map(f).collect::<Vec<_>>())
    }

    fn files_per_second(&self) -> f64 {
        self.med(Sample::files_per_second)
    }

    /// Receiver CPU milliseconds per stored object and seconds per stored GB, over all the
    /// samples together (one sample's few 10 ms ticks are too coarse for small objects).
    fn cpu_per_object_and_gb(&self, part: impl Fn(CpuTime) -> f64) -> (f64, f64) {
        cpu_per_object_and_gb(&self.samples, self.bytes, part)
    }
}

fn cpu_per_object_and_gb(
    samples: &[Sample],
    bytes: u64,
    part: impl Fn(CpuTime) -> f64,
) -> (f64, f64) {
    let cpu: f64 = samples.iter().map(|s| part(s.cpu)).sum();
    let stored: u64 = samples.iter().map(|s| s.stored).sum();
    let stored = stored.max(1) as f64;
    (1e3 * cpu / stored, cpu / (stored * bytes as f64 / 1e9))
}

static SAMPLE_DIR: AtomicUsize = AtomicUsize::new(0);

fn new_dir(root: &Path) -> PathBuf {
    let n = SAMPLE_DIR.fetch_add(1, Ordering::Relaxed);
    root.join(format!("s{n}"))
}

fn sync() {
    let _ = Command::new("sync").status();
}

/// The load of one sample.
#[derive(Debug, Clone, Copy)]
struct Load {
    assocs: usize,
    objects: u64,
    window: Option<u16>,
    threads: Option<usize>,
}

impl Load {
    fn spec(&self, port: u16) -> LoadSpec {
        LoadSpec::new(SocketAddr::from(([127, 0, 0, 1], port)))
            .associations(self.assocs)
            .objects(self.objects)
            .async_window(self.window)
            .threads(self.threads)
    }
}

fn measure(
    rx: &Receiver,
    load: Load,
    ds: &DataSet,
    od: &Path,
    setup: Setup,
) -> Result<Sample, String> {
    std::fs::create_dir_all(od).map_err(|e| format!("create {}: {e}", od.display()))?;
    if setup == Setup::Recreated {
        let warm = rx.start(od)?;
        let report = loadgen::run(&load.spec(warm.port), ds);
        drop(warm);
        if !report.is_clean() {
            return Err(format!(
                "{}: the untimed first run failed: {}",
                rx.label,
                report.summary()
            ));
        }
        std::fs::remove_dir_all(od).map_err(|e| format!("remove {}: {e}", od.display()))?;
        std::fs::create_dir(od).map_err(|e| format!("create {}: {e}", od.display()))?;
    }
    let started = rx.start(od)?;
    let pid = started.guard.pid();
    let cpu0 = process_cpu(pid);
    let consumer = (setup == Setup::Consumer).then(|| Consumer::start(od));
    let t0 = Instant::now();
    let report = loadgen::run(&load.spec(started.port), ds);
    let seconds = t0.elapsed().as_secs_f64();
    let deleted = consumer.map_or(0, Consumer::stop);
    let cpu = process_cpu(pid).since(cpu0);
    let peak_rss = peak_rss_of(pid);
    drop(started);
    let mut problems = report.problems();
    if rx.stores_files {
        let files = count_stored(od) as u64 + deleted;
        if files < report.stored() {
            problems.push(format!(
                "{} objects acknowledged but only {files} files found",
                report.stored()
            ));
        }
    }
    let _ = std::fs::remove_dir_all(od);
    sync();
    Ok(Sample {
        seconds,
        objects: report.objects(),
        stored: report.stored(),
        cpu,
        peak_rss,
        ac_wait: report.max_ac_wait(),
        window: report.windows(),
        problems,
        sender_cpu: report.sender_cpu,
    })
}

/// Runs every receiver on `load` `runs` times, alternating the order run by run.
fn alternate(
    receivers: &[Receiver],
    load: Load,
    ds: &DataSet,
    size: u64,
    runs: usize,
    root: &Path,
    explicit: bool,
) -> Result<Vec<Row>, String> {
    let mut rows: Vec<Row> = receivers
        .iter()
        .map(|r| Row {
            size,
            bytes: ds.len(),
            assocs: load.assocs,
            receiver: r.label.clone(),
            samples: Vec::new(),
        })
        .collect();
    for run in 0..runs {
        let order: Vec<usize> = if run % 2 == 0 {
            (0..receivers.len()).collect()
        } else {
            (0..receivers.len()).rev().collect()
        };
        for i in order {
            if !runs_with(&receivers[i], load.assocs, explicit) {
                continue;
            }
            let rx = &receivers[i];
            let objects = (load.objects / rx.divisor).max(load.assocs as u64);
            let sample = measure(
                rx,
                Load { objects, ..load },
                ds,
                &new_dir(root),
                Setup::Fresh,
            )?;
            rows[i].samples.push(sample);
        }
    }
    rows.retain(|r| !r.samples.is_empty());
    Ok(rows)
}

/// Whether `rx` runs with `assocs` associations: always when the receivers were named on
/// the command line, else up to its limit.
fn runs_with(rx: &Receiver, assocs: usize, explicit: bool) -> bool {
    explicit || rx.max_assocs.is_none_or(|(max, _)| assocs <= max)
}

/// Entry point: runs the section and writes `capacity.md` and `capacity.svg` into `out_dir`;
/// returns the markdown.
#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
pub(crate) fn run(o: &CapacityOptions, ours_bin: &Path, out_dir: &Path) -> Result<String, String> {
    let started = Instant::now();
    let roster = receivers::roster(ours_bin, o.receivers.as_deref())?;
    let root = o.od_root.as_deref().unwrap_or(out_dir).join("capacity-out");
    let _ = std::fs::remove_dir_all(&root);
    let mut rows: Vec<Row> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    let mut data_sets: Vec<(u64, DataSet)> = Vec::new();
    let sizes: &[u64] = if o.consumer_only { &[] } else { &o.sizes };
    for &size in sizes {
        eprintln!(
            "bench capacity: synthesising the {} data set",
            size_name(size)
        );
        let ds = DataSet::with_size(size);
        for &assocs in &o.assocs {
            let Some(objects) = objects_for(size, assocs, o) else {
                skipped.push(format!("{} × {assocs}", size_name(size)));
                continue;
            };
            eprintln!(
                "bench capacity: {} × {objects} objects over {assocs} associations ({:.0} s so far)",
                size_name(size),
                started.elapsed().as_secs_f64()
            );
            let load = Load {
                assocs,
                objects,
                window: o.async_window,
                threads: o.threads,
            };
            rows.extend(alternate(
                &roster.receivers,
                load,
                &ds,
                size,
                o.runs,
                &root,
                o.receivers.is_some(),
            )?);
        }
        data_sets.push((size, ds));
    }
    let mut md = String::new();
    header(&mut md, o, &roster, &skipped);
    matrix(&mut md, &rows);
    if o.consumer_only {
        let _ = writeln!(md, "\nOutput directories below `{}`.", root.display());
        eprintln!("bench capacity: deleting consumer");
        consumer_scenario(&mut md, o, &roster.receivers, &root)?;
    } else if o.extras {
        eprintln!("bench capacity: physical limits");
        raw_limits(&mut md, o, &data_sets, &root)?;
        eprintln!("bench capacity: the generator's ceiling");
        generator(&mut md, o, &roster.receivers, &root, out_dir)?;
        eprintln!("bench capacity: deleting consumer");
        consumer_scenario(&mut md, o, &roster.receivers, &root)?;
    }
    let _ = writeln!(
        md,
        "\nThe capacity section took {:.0} s.",
        started.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&root);
    std::fs::write(out_dir.join("capacity.md"), &md)
        .map_err(|e| format!("write capacity.md: {e}"))?;
    std::fs::write(out_dir.join("capacity.svg"), chart(&rows))
        .map_err(|e| format!("write capacity.svg: {e}"))?;
    Ok(md)
}

fn header(md: &mut String, o: &CapacityOptions, roster: &receivers::Roster, skipped: &[String]) {
    let ran: Vec<String> = roster
        .receivers
        .iter()
        .map(|r| {
            if r.divisor > 1 {
                format!(
                    "{} (sent 1/{} of each case's objects: it is slow)",
                    r.label, r.divisor
                )
            } else {
                r.label.clone()
            }
        })
        .collect();
    let _ = writeln!(
        md,
        "## Capacity: the receivers with a fast sender (issue 16)\n"
    );
    let _ = writeln!(md, "Receivers that ran: {}.", ran.join(", "));
    if !roster.missing.is_empty() {
        let _ = writeln!(md, "Not run: {}.", roster.missing.join("; "));
    }
    for r in &roster.receivers {
        if let Some((max, why)) = r.max_assocs
            && o.receivers.is_none()
            && o.assocs.iter().any(|a| *a > max)
        {
            let _ = writeln!(md, "{} runs up to {max} associations: {why}.", r.label);
        }
    }
    let _ = writeln!(
        md,
        "\nSender: `dcmrecv_e2e::loadgen` (objects in memory, Explicit VR Little Endian CT, one \
         PDV per PDU at the receiver's maximum length, TCP_NODELAY), {}, {}. Receivers get \
         `-xf /etc/dcmtk/storescp.cfg Default` (dcmrecv and ours) and their default PDU size; \
         dcmrecv runs with TCP_NODELAY=1.",
        match o.threads {
            None => "one thread per association".to_string(),
            Some(t) => format!("associations multiplexed over {t} epoll threads"),
        },
        match o.async_window {
            None =>
                "no asynchronous operations window proposed (one C-STORE at a time)".to_string(),
            Some(w) => format!("asynchronous operations window {w} proposed"),
        }
    );
    let _ = writeln!(
        md,
        "Objects per case: {} MiB / object size, between the number of associations and {}, \
         rounded up to a multiple of the associations; cases above {} MiB even at one object \
         per association are skipped{}.",
        o.case_bytes >> 20,
        o.max_objects,
        o.max_case_bytes >> 20,
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({})", skipped.join(", "))
        }
    );
    let _ = writeln!(
        md,
        "Median of {} runs, min–max in brackets; receivers alternate within each run. \
         \"not stored\" counts every object without a Success or Warning response (failed \
         statuses, rejected associations, objects never answered) and any acknowledged object \
         missing on disk. CPU is the receiver's user + system time from `/proc/<pid>/stat` \
         over the load alone, summed over the runs and divided by the objects stored (the kernel counts in 10 ms ticks). \"AC wait\" is the longest time from the start to \
         an A-ASSOCIATE-AC: dcmrecv accepts one association at a time and the others wait in \
         its listen backlog.\n",
        o.runs
    );
}

fn matrix(md: &mut String, rows: &[Row]) {
    let _ = writeln!(
        md,
        "| size | assocs | receiver | objects | files/s | MB/s | × dcmrecv | not stored | CPU ms/object | CPU s/GB | peak RSS MB | AC wait s | window |"
    );
    let _ = writeln!(
        md,
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    );
    for r in rows {
        let (fps, lo, hi) = r.range(Sample::files_per_second);
        let base = rows
            .iter()
            .find(|b| b.size == r.size && b.assocs == r.assocs && b.receiver == "dcmrecv")
            .map(Row::files_per_second);
        let ratio = base.map_or("–".to_string(), |b| format!("{:.2}", fps / b.max(1e-9)));
        let not_stored: u64 = r.samples.iter().map(|s| s.objects - s.stored).sum();
        let (cpu_obj, cpu_gb) = r.cpu_per_object_and_gb(CpuTime::total);
        let (w0, w1) = r.samples.first().map_or((0, 0), |s| s.window);
        let _ = writeln!(
            md,
            "| {} | {} | {} | {} | {fps:.0} ({lo:.0}–{hi:.0}) | {:.1} | {ratio} | {} | {cpu_obj:.3} | {cpu_gb:.2} | {:.1} | {:.3} | {} |",
            size_name(r.size),
            r.assocs,
            r.receiver,
            r.samples.first().map_or(0, |s| s.objects),
            fps * r.bytes as f64 / 1e6,
            if not_stored == 0 {
                "0".to_string()
            } else {
                format!(
                    "{not_stored} of {}",
                    r.samples.iter().map(|s| s.objects).sum::<u64>()
                )
            },
            r.med(|s| s.peak_rss as f64) / 1e6,
            r.med(|s| s.ac_wait),
            if w0 == w1 {
                w0.to_string()
            } else {
                format!("{w0}–{w1}")
            },
        );
    }
    let problems: Vec<String> = rows
        .iter()
        .flat_map(|r| {
            let mut seen: Vec<String> = Vec::new();
            for p in r.samples.iter().flat_map(|s| s.problems.iter()) {
                if !seen.contains(p) {
                    seen.push(p.clone());
                }
            }
            seen.into_iter()
                .map(move |p| format!("- {} × {} {}: {p}", size_name(r.size), r.assocs, r.receiver))
        })
        .collect();
    if !problems.is_empty() {
        let _ = writeln!(md, "\nProblems reported:\n");
        for p in problems.iter().take(40) {
            let _ = writeln!(md, "{p}");
        }
    }
}

fn raw_limits(
    md: &mut String,
    o: &CapacityOptions,
    data_sets: &[(u64, DataSet)],
    root: &Path,
) -> Result<(), String> {
    let _ = writeln!(
        md,
        "\n### The physical limit: raw loopback TCP into files\n\nThe same data set bytes, \
         one connection, no DICOM: into one file, and into one file per object (create, \
         write, close). Median of {} runs.\n",
        o.runs
    );
    let _ = writeln!(
        md,
        "| size | objects | one file MB/s | file per object: files/s | MB/s |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    for (size, ds) in data_sets {
        let Some(objects) = objects_for(*size, 1, o) else {
            continue;
        };
        let bytes = ds.to_vec(0, 0);
        let mut one = Vec::new();
        let mut per = Vec::new();
        for _ in 0..o.runs {
            let dir = new_dir(root);
            one.push(raw::copy_objects(
                &bytes,
                objects,
                &dir.join("raw.bin"),
                false,
            )?);
            let _ = std::fs::remove_dir_all(&dir);
            sync();
            per.push(raw::copy_objects(&bytes, objects, &dir, true)?);
            let _ = std::fs::remove_dir_all(&dir);
            sync();
        }
        let total = (objects * ds.len()) as f64 / 1e6;
        let (one_s, per_s) = (stats(&one).0, stats(&per).0);
        let _ = writeln!(
            md,
            "| {} | {objects} | {:.0} | {:.0} | {:.0} |",
            size_name(*size),
            total / one_s.max(1e-9),
            objects as f64 / per_s.max(1e-9),
            total / per_s.max(1e-9)
        );
    }
    Ok(())
}

/// The generator's own ceiling: against `storescu` on the discarding SCP, thread models, and
/// an asynchronous operations window.
fn generator(
    md: &mut String,
    o: &CapacityOptions,
    roster: &[Receiver],
    root: &Path,
    out_dir: &Path,
) -> Result<(), String> {
    let null = receivers::null_scp(None)?;
    let _ = writeln!(
        md,
        "\n### The sender's ceiling\n\nAgainst the discarding `null-scp` (and `ours --ignore`), \
         one association, synchronous: our generator and DCMTK's `storescu` (TCP_NODELAY=1, \
         the same objects as Part-10 files on disk; its time includes starting the process). \
         Median of {} runs.\n",
        o.runs
    );
    let _ = writeln!(
        md,
        "| size | objects | sender | receiver | files/s | MB/s | sender CPU µs/object |"
    );
    let _ = writeln!(md, "|---|---:|---|---|---:|---:|---:|");
    let targets: Vec<Receiver> = std::iter::once(null.clone())
        .chain(
            roster
                .iter()
                .filter(|r| r.label == "ours --ignore")
                .cloned(),
        )
        .collect();
    for (size, objects) in [(2u64 << 10, 1000u64), (512 << 10, 200)] {
        let objects = objects.min(o.max_objects.max(100));
        let ds = DataSet::with_size(size);
        let files = storescu_files(&ds, objects, &out_dir.join("data/capacity"))?;
        for rx in &targets {
            let mut ours = Vec::new();
            let mut theirs = Vec::new();
            for _ in 0..o.runs {
                let load = Load {
                    assocs: 1,
                    objects,
                    window: None,
                    threads: None,
                };
                ours.push(measure(rx, load, &ds, &new_dir(root), Setup::Fresh)?);
                theirs.push(storescu_run(rx, &files, &new_dir(root))?);
            }
            let fps = stats(
                &ours
                    .iter()
                    .map(Sample::files_per_second)
                    .collect::<Vec<_>>(),
            )
            .0;
            let cpu = stats(
                &ours
                    .iter()
                    .map(|s| 1e6 * s.sender_cpu / s.objects.max(1) as f64)
                    .collect::<Vec<_>>(),
            )
            .0;
            let s_fps = objects as f64 / stats(&theirs).0.max(1e-9);
            let mb = |f: f64| f * ds.len() as f64 / 1e6;
            let _ = writeln!(
                md,
                "| {} | {objects} | loadgen | {} | {fps:.0} | {:.1} | {cpu:.1} |",
                size_name(size),
                rx.label,
                mb(fps)
            );
            let _ = writeln!(
                md,
                "| {} | {objects} | storescu | {} | {s_fps:.0} | {:.1} | – |",
                size_name(size),
                rx.label,
                mb(s_fps)
            );
        }
    }

    let _ = writeln!(
        md,
        "\nThread models (2 KB objects, 2000 in all): one thread per association with blocking \
         sockets, or the associations multiplexed over 1 or 2 threads with epoll. Median of {} \
         runs.\n",
        o.runs
    );
    let _ = writeln!(
        md,
        "| receiver | assocs | threads | files/s (min–max) | sender CPU µs/object |"
    );
    let _ = writeln!(md, "|---|---:|---|---:|---:|");
    let ds = DataSet::with_size(2 << 10);
    let model_targets: Vec<Receiver> = std::iter::once(null.clone())
        .chain(roster.iter().filter(|r| r.label == "ours").cloned())
        .collect();
    for rx in &model_targets {
        for assocs in [16usize, 64] {
            for threads in [None, Some(2), Some(1)] {
                let load = Load {
                    assocs,
                    objects: 2000u64.div_ceil(assocs as u64) * assocs as u64,
                    window: None,
                    threads,
                };
                let mut samples = Vec::new();
                for _ in 0..o.runs {
                    samples.push(measure(rx, load, &ds, &new_dir(root), Setup::Fresh)?);
                }
                let (m, lo, hi) = stats(
                    &samples
                        .iter()
                        .map(Sample::files_per_second)
                        .collect::<Vec<_>>(),
                );
                let cpu = stats(
                    &samples
                        .iter()
                        .map(|s| 1e6 * s.sender_cpu / s.objects.max(1) as f64)
                        .collect::<Vec<_>>(),
                )
                .0;
                let _ = writeln!(
                    md,
                    "| {} | {assocs} | {} | {m:.0} ({lo:.0}–{hi:.0}) | {cpu:.1} |",
                    rx.label,
                    threads.map_or("one per association".to_string(), |t| format!(
                        "{t} (epoll)"
                    )),
                );
            }
        }
    }

    let _ = writeln!(
        md,
        "\nAsynchronous operations window (2 KB objects, 2000 in all): the generator proposes \
         16 outstanding operations; `null-scp --window 16` grants them, our receiver and \
         dcmrecv do not answer the sub-item, so they get one at a time. Median of {} runs.\n",
        o.runs
    );
    let _ = writeln!(
        md,
        "| receiver | assocs | proposed | granted | files/s (min–max) |"
    );
    let _ = writeln!(md, "|---|---:|---:|---:|---:|");
    let granting = receivers::null_scp(Some(16))?;
    let window_targets: Vec<Receiver> = [granting, null]
        .into_iter()
        .chain(
            roster
                .iter()
                .filter(|r| r.label == "ours" || r.label == "dcmrecv")
                .cloned(),
        )
        .collect();
    for rx in &window_targets {
        for assocs in [1usize, 4] {
            for window in [None, Some(16)] {
                let load = Load {
                    assocs,
                    objects: 2000,
                    window,
                    threads: None,
                };
                let mut samples = Vec::new();
                for _ in 0..o.runs {
                    samples.push(measure(rx, load, &ds, &new_dir(root), Setup::Fresh)?);
                }
                let (m, lo, hi) = stats(
                    &samples
                        .iter()
                        .map(Sample::files_per_second)
                        .collect::<Vec<_>>(),
                );
                let (w0, w1) = samples.first().map_or((0, 0), |s| s.window);
                let _ = writeln!(
                    md,
                    "| {} | {assocs} | {} | {} | {m:.0} ({lo:.0}–{hi:.0}) |",
                    rx.label,
                    window.map_or("–".to_string(), |w| w.to_string()),
                    if w0 == w1 {
                        w0.to_string()
                    } else {
                        format!("{w0}–{w1}")
                    },
                );
            }
        }
    }
    Ok(())
}

/// Part-10 files of the objects, written once (kept under `dir` for later runs).
fn storescu_files(ds: &DataSet, objects: u64, dir: &Path) -> Result<Vec<PathBuf>, String> {
    let dir = dir.join(format!("{}-{objects}", ds.len()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    (0..objects)
        .map(|n| {
            let p = dir.join(format!("{n}.dcm"));
            if !p.is_file() {
                ds.write_file(&p, 0, n)
                    .map_err(|e| format!("write {}: {e}", p.display()))?;
            }
            Ok(p)
        })
        .collect()
}

/// One `storescu` over `files` against `rx`; returns the seconds it took.
fn storescu_run(rx: &Receiver, files: &[PathBuf], od: &Path) -> Result<f64, String> {
    std::fs::create_dir_all(od).map_err(|e| format!("create {}: {e}", od.display()))?;
    let started = rx.start(od)?;
    let t0 = Instant::now();
    let out = Command::new(dcmrecv_e2e::peers::dcmtk("storescu"))
        .env("TCP_NODELAY", "1")
        .args(["-aec", "ANY-SCP", "127.0.0.1", &started.port.to_string()])
        .args(files)
        .output()
        .map_err(|e| format!("run storescu: {e}"))?;
    let seconds = t0.elapsed().as_secs_f64();
    drop(started);
    let _ = std::fs::remove_dir_all(od);
    if !out.status.success() {
        return Err(format!(
            "storescu failed against {}: {}",
            rx.label,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(seconds)
}

fn consumer_scenario(
    md: &mut String,
    o: &CapacityOptions,
    roster: &[Receiver],
    root: &Path,
) -> Result<(), String> {
    let targets: Vec<Receiver> = roster
        .iter()
        .filter(|r| r.label == "ours" || r.label == "dcmrecv")
        .cloned()
        .collect();
    if targets.is_empty() {
        return Ok(());
    }
    let ds = DataSet::with_size(o.consumer_size);
    let _ = writeln!(
        md,
        "\n### A consumer deleting the received files\n\n{} objects of {} bytes. \"fresh\": a \
         new output directory. \"re-created\": the same load stored once into the directory \
         (untimed), its files removed and the directory re-created at the same path, then the \
         measured run (issue 16 saw `open(O_TMPFILE)` take ~0.67 ms in this arrangement). \
         \"consumer\": a thread polls the directory and deletes every stored file as soon as \
         it sees it. The receiver's CPU per object (all runs together) is split into user and \
         kernel time. Median of {} runs; the setups alternate with the receivers.\n",
        o.consumer_objects,
        ds.len(),
        o.runs
    );
    let _ = writeln!(
        md,
        "| receiver | assocs | setup | files/s (min–max) | vs fresh | user ms/object | kernel ms/object | not stored |"
    );
    let _ = writeln!(md, "|---|---:|---|---:|---:|---:|---:|---:|");
    for assocs in [1usize, 4] {
        let load = Load {
            assocs,
            objects: o.consumer_objects.div_ceil(assocs as u64) * assocs as u64,
            window: None,
            threads: None,
        };
        let setups = [Setup::Fresh, Setup::Recreated, Setup::Consumer];
        // rows[receiver][setup]
        let mut rows: Vec<Vec<Vec<Sample>>> = vec![vec![Vec::new(); setups.len()]; targets.len()];
        for run in 0..o.runs {
            let mut order: Vec<(usize, usize)> = (0..targets.len())
                .flat_map(|r| (0..setups.len()).map(move |s| (r, s)))
                .collect();
            if run % 2 == 1 {
                order.reverse();
            }
            for (r, s) in order {
                let sample = measure(&targets[r], load, &ds, &new_dir(root), setups[s])?;
                rows[r][s].push(sample);
            }
        }
        for (r, rx) in targets.iter().enumerate() {
            let fresh = stats(
                &rows[r][0]
                    .iter()
                    .map(Sample::files_per_second)
                    .collect::<Vec<_>>(),
            )
            .0;
            for (s, setup) in setups.iter().enumerate() {
                let samples = &rows[r][s];
                let (m, lo, hi) = stats(
                    &samples
                        .iter()
                        .map(Sample::files_per_second)
                        .collect::<Vec<_>>(),
                );
                let per = |f: fn(CpuTime) -> f64| cpu_per_object_and_gb(samples, ds.len(), f).0;
                let not_stored: u64 = samples.iter().map(|x| x.objects - x.stored).sum();
                let _ = writeln!(
                    md,
                    "| {} | {assocs} | {} | {m:.0} ({lo:.0}–{hi:.0}) | {:.2} | {:.3} | {:.3} | {not_stored} |",
                    rx.label,
                    setup.name(),
                    m / fresh.max(1e-9),
                    per(|c| c.user),
                    per(|c| c.system),
                );
            }
        }
    }
    Ok(())
}

fn chart(rows: &[Row]) -> String {
    let series: Vec<lines::Series> = {
        let mut out: Vec<lines::Series> = Vec::new();
        for r in rows {
            let panel = format!("{} objects ({} bytes)", size_name(r.size), r.bytes);
            let point = (r.assocs as f64, r.files_per_second());
            match out
                .iter_mut()
                .find(|s| s.panel == panel && s.label == r.receiver)
            {
                Some(s) => s.points.push(point),
                None => out.push(lines::Series {
                    panel,
                    label: r.receiver.clone(),
                    points: vec![point],
                }),
            }
        }
        out
    };
    lines::render(
        "Capacity: files/s against parallel associations, per object size (median)",
        "parallel associations",
        "files/s stored (sender: dcmrecv_e2e::loadgen)",
        &series,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn object_counts_are_bounded_and_divisible() {
        let o = CapacityOptions::full();
        assert_eq!(objects_for(2 << 10, 1, &o), Some(2000));
        assert_eq!(objects_for(2 << 10, 64, &o), Some(2048));
        assert_eq!(objects_for(512 << 10, 4, &o), Some(1024));
        assert_eq!(objects_for(200 << 20, 1, &o), Some(2));
        assert_eq!(objects_for(200 << 20, 4, &o), Some(4));
        assert_eq!(objects_for(200 << 20, 16, &o), None, "3.2 GiB");
        let q = CapacityOptions::quick();
        assert_eq!(objects_for(2 << 10, 4, &q), Some(400));
        assert_eq!(objects_for(200 << 20, 4, &q), None);
        assert_eq!(objects_for(200 << 20, 1, &q), Some(1));
    }

    fn sample(seconds: f64, objects: u64, stored: u64, cpu: f64) -> Sample {
        Sample {
            seconds,
            objects,
            stored,
            cpu: CpuTime {
                user: cpu / 2.0,
                system: cpu / 2.0,
            },
            peak_rss: 6_000_000,
            ac_wait: 0.5,
            window: (1, 1),
            problems: if stored < objects {
                vec!["association rejected".into()]
            } else {
                vec![]
            },
            sender_cpu: 0.0,
        }
    }

    #[test]
    fn matrix_rows_show_medians_ratios_and_every_object_not_stored() {
        let row = |receiver: &str, samples: Vec<Sample>| Row {
            size: 2048,
            bytes: 2000,
            assocs: 4,
            receiver: receiver.into(),
            samples,
        };
        let rows = vec![
            row("dcmrecv", vec![sample(1.0, 100, 100, 0.1); 3]),
            row(
                "ours",
                vec![
                    sample(0.1, 100, 100, 0.02),
                    sample(0.025, 100, 100, 0.02),
                    sample(0.05, 100, 95, 0.02),
                ],
            ),
        ];
        let mut md = String::new();
        matrix(&mut md, &rows);
        let ours = md.lines().find(|l| l.contains("| ours |")).unwrap();
        // files/s: 1000, 4000, 1900 → median 1900; × dcmrecv: 1900 / 100; CPU: 0.06 s / 295.
        assert_eq!(
            ours,
            "| 2k | 4 | ours | 100 | 1900 (1000–4000) | 3.8 | 19.00 | 5 of 300 | 0.203 | 101.69 | 6.0 | 0.500 | 1 |"
        );
        assert!(md.contains("- 2k × 4 ours: association rejected"), "{md}");
        let (per_object, per_gb) = cpu_per_object_and_gb(&rows[0].samples, 2000, CpuTime::total);
        assert!((per_object - 1.0).abs() < 1e-9 && (per_gb - 500.0).abs() < 1e-6);
    }
}

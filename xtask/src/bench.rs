//! `cargo xtask bench`: ours against the real dcmrecv (and dicom-rs's `dicom-storescp` when it is
//! installed), same client, same data, same run, receivers alternating, median of several runs
//! with min–max so noise is visible.
//!
//! Scenarios (issue 6): (a) 500 × ~0.5 MB CT in one association, `/usr/bin/storescu` with
//! `TCP_NODELAY=1`; (b) the same over 4 parallel associations; (c) stock senders without
//! `TCP_NODELAY`; (d) one large object: time and the receiver's peak RSS (plus ours at 1 GB and a
//! memory sweep); (e) receiver CPU seconds per GB; (f) the physical limit: the same bytes over a
//! plain loopback TCP connection into a file; (g) the cost of fsync; (h) the cost of the pipeline
//! (issue 12): a reception hook `-xcr /bin/true` on the hook pool, and `--events FILE`, each
//! compared with ours without them (target: within 10%).
//! Output: `target/bench/bench.md` (markdown table) and `target/bench/bench.svg`.
//!
//! Then the capacity section (issue 16, `capacity.rs`): the receivers driven by our in-memory
//! load generator over object sizes and parallel associations, into
//! `target/bench/capacity.md` and `target/bench/capacity.svg`. Then the object-store section
//! (issue 13, `object_store.rs`): ours into a three-node Garage next to ours into a directory,
//! with the raw `object_store` upload rate as the limit, into `target/bench/object_store.md`.
//! Scenario (i) (issue 14) is (a) with the metrics endpoint on (`--metrics-address`,
//! `--metrics-per-ae`) and a scraper fetching `/metrics` every 100 ms during each run, next to
//! ours without it; `--operations` runs only that row (into `target/bench/operations.md`).
//! `--classic` runs only the scenarios above, `--pipeline` only (h), `--operations` only (i),
//! `--capacity` only the capacity section,
//! `--object-store` only the object-store section.

mod capacity;
mod chart;
mod lines;
mod object_store;
mod raw;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dcmrecv_e2e::objects::{Instance, write_large_object};
use dcmrecv_e2e::peers::dcmtk;
use dcmrecv_e2e::process::{ChildGuard, free_port, peak_rss_of, wait_for_port};

use crate::shell;
use dcmrecv_e2e::receiver::target_dir;

/// A receiver under test: how to start it on a port with an output directory.
#[derive(Debug, Clone)]
struct Receiver {
    label: String,
    program: PathBuf,
    /// Arguments before the output directory and port are appended by `start`.
    args: Vec<String>,
    /// Environment for the receiver process.
    env: Vec<(String, String)>,
    /// How the output directory and the port are passed.
    style: Style,
    /// A metrics port to scrape every 100 ms while the load runs.
    scrape: Option<u16>,
}

#[derive(Debug, Clone, Copy)]
enum Style {
    /// `... -od DIR PORT` (dcmrecv and ours).
    Dcmrecv,
    /// `... -o DIR -p PORT` (dicom-storescp).
    DicomRs,
}

struct Started {
    guard: ChildGuard,
    port: u16,
}

impl Receiver {
    fn start(&self, od: &Path) -> Result<Started, String> {
        let _ = std::fs::remove_dir_all(od);
        std::fs::create_dir_all(od).map_err(|e| format!("create {}: {e}", od.display()))?;
        let port = free_port();
        let mut cmd = Command::new(&self.program);
        cmd.args(&self.args);
        match self.style {
            Style::Dcmrecv => {
                cmd.arg("-od").arg(od).arg(port.to_string());
            }
            Style::DicomRs => {
                cmd.arg("-o").arg(od).arg("-p").arg(port.to_string());
            }
        }
        cmd.env_remove("TCP_NODELAY");
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let guard = ChildGuard::spawn(cmd);
        if !wait_for_port(port, Duration::from_secs(10)) {
            return Err(format!(
                "{} did not listen:\n{}",
                self.label,
                guard.stderr()
            ));
        }
        Ok(Started { guard, port })
    }
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    seconds: f64,
    cpu: f64,
    peak_rss: u64,
}

/// What the client does in a scenario.
#[derive(Debug, Clone)]
enum Load {
    /// `storescu` over these files, in `parallel` associations, with or without TCP_NODELAY.
    Storescu {
        files: Vec<PathBuf>,
        parallel: usize,
        nodelay: bool,
    },
}

fn run_load(load: &Load, port: u16) -> Result<(), String> {
    match load {
        Load::Storescu {
            files,
            parallel,
            nodelay,
        } => {
            let chunks: Vec<&[PathBuf]> = files.chunks(files.len().div_ceil(*parallel)).collect();
            let mut children = Vec::new();
            for chunk in chunks {
                let mut cmd = Command::new(dcmtk("storescu"));
                cmd.env_remove("TCP_NODELAY");
                if *nodelay {
                    cmd.env("TCP_NODELAY", "1");
                }
                // The default (16 KiB) PDU, as users run it.
                cmd.args(["-aec", "BENCH", "127.0.0.1", &port.to_string()])
                    .args(chunk.iter())
                    .stdout(std::process::Stdio::null())
                    .stderr(std::process::Stdio::piped());
                children.push(cmd.spawn().map_err(|e| format!("spawn storescu: {e}"))?);
            }
            for child in children {
                let out = child
                    .wait_with_output()
                    .map_err(|e| format!("wait storescu: {e}"))?;
                if !out.status.success() {
                    return Err(format!(
                        "storescu failed: {}",
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
            }
            Ok(())
        }
    }
}

fn measure(
    receiver: &Receiver,
    load: &Load,
    od: &Path,
    expect_files: usize,
) -> Result<Sample, String> {
    let started = receiver.start(od)?;
    let scraper = receiver.scrape.map(Scraper::start);
    let t0 = Instant::now();
    run_load(load, started.port)?;
    let seconds = t0.elapsed().as_secs_f64();
    if let Some(scraper) = scraper {
        let scrapes = scraper.stop();
        if scrapes == 0 {
            return Err(format!("{}: no /metrics scrape succeeded", receiver.label));
        }
    }
    let pid = started.guard.pid();
    let sample = Sample {
        seconds,
        cpu: cpu_seconds(pid),
        peak_rss: peak_rss_of(pid),
    };
    drop(started);
    let stored = count_files(od);
    if stored < expect_files {
        return Err(format!(
            "{} stored {stored} files, expected {expect_files}",
            receiver.label
        ));
    }
    Ok(sample)
}

/// Fetches `/metrics` every 100 ms on its own thread, as a Prometheus server would (more
/// often), while a load runs.
struct Scraper {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<u32>,
}

impl Scraper {
    fn start(port: u16) -> Scraper {
        use std::io::{Read, Write};
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut ok = 0;
            while !flag.load(Ordering::Relaxed) {
                if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
                    let mut body = Vec::new();
                    let sent = s.write_all(
                        b"GET /metrics HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n",
                    );
                    if sent.is_ok()
                        && s.read_to_end(&mut body).is_ok()
                        && body.starts_with(b"HTTP/1.1 200")
                    {
                        ok += 1;
                    }
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            ok
        });
        Scraper { stop, thread }
    }

    /// Stops scraping; how many scrapes succeeded.
    fn stop(self) -> u32 {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread.join().unwrap_or(0)
    }
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| {
                    let p = e.path();
                    if p.is_dir() {
                        count_files(&p)
                    } else {
                        usize::from(!p.to_string_lossy().contains(".part"))
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

/// Median, minimum and maximum.
fn stats(values: &[f64]) -> (f64, f64, f64) {
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let median = if v.is_empty() {
        0.0
    } else if v.len() % 2 == 1 {
        v[v.len() / 2]
    } else {
        (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0
    };
    (
        median,
        *v.first().unwrap_or(&0.0),
        *v.last().unwrap_or(&0.0),
    )
}

/// One line of the result table.
struct ResultRow {
    scenario: String,
    receiver: String,
    files: usize,
    bytes: u64,
    samples: Vec<Sample>,
}

impl ResultRow {
    fn median_seconds(&self) -> f64 {
        stats(&self.samples.iter().map(|s| s.seconds).collect::<Vec<_>>()).0
    }
}

fn make_ct_series(dir: &Path, n: usize) -> Result<Vec<PathBuf>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    let mut files = Vec::new();
    for i in 0..n {
        let path = dir.join(format!("ct{i:04}.dcm"));
        if !path.exists() {
            let mut inst = Instance::ct(&format!("1.2.826.0.1.3680043.10.1145.500.{}", i + 1));
            inst.rows = 512;
            inst.columns = 512;
            inst.write(&path, "1.2.840.10008.1.2.1");
        }
        files.push(path);
    }
    Ok(files)
}

fn total_size(files: &[PathBuf]) -> u64 {
    files
        .iter()
        .map(|f| std::fs::metadata(f).map(|m| m.len()).unwrap_or(0))
        .sum()
}

fn find_dicom_storescp() -> Option<PathBuf> {
    let home = std::env::var_os("HOME").map(PathBuf::from)?;
    let candidates = [
        home.join(".cargo/bin/dicom-storescp"),
        PathBuf::from("/usr/local/bin/dicom-storescp"),
    ];
    candidates.into_iter().find(|p| p.is_file())
}

const USAGE: &str = "\
usage: cargo xtask bench [--quick] [--runs N] [--ours PATH] [section] [options]

sections (default: all three, in this order):
  --classic       only ours vs the real dcmrecv with storescu (--files N, --large-mib N,
                  --huge-mib N)
  --pipeline      only scenario (h) of --classic: ours with -xcr /bin/true and with --events
                  against ours without them
  --capacity      only the capacity section with our load generator (--sizes 2k,64k,512k,200m
                  --assocs 1,4,16,64 --receivers ours,dcmrecv,... --async-window N --threads T
                  --max-objects N --case-mib N --max-case-mib N --consumer-objects N
                  --consumer-size S --no-extras; --consumer-only: only the deleting-consumer
                  table; --od-root DIR: the receivers' output directories below DIR, e.g.
                  another file system)
  --operations    only scenario (i): (a) with --metrics-address and a scraper every 100 ms,
                  next to ours without metrics (into operations.md)
  --object-store  only the object-store section: ours into a three-node Garage next to ours
                  into a directory, 0.5 MB and 200 MiB objects over 1 and 4 associations, with
                  the object_store upload rate of the same bytes as the limit; --quick: 100
                  small objects per case and no 4 x 1 GiB peak-RSS row

--quick shortens every section; --runs N sets the runs per row in every section.
Reports go to target/bench/ (bench.md, capacity.md, object_store.md).";

struct Options {
    runs: usize,
    files: usize,
    large_mib: u64,
    huge_mib: u64,
    ours: Option<PathBuf>,
}

/// Entry point of `cargo xtask bench`.
#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the report is the command's output"
)]
pub(crate) fn main(argv: &[String]) -> Result<(), String> {
    let mut o = Options {
        runs: 5,
        files: 500,
        large_mib: 200,
        huge_mib: 1024,
        ours: None,
    };
    let (mut classic, mut with_capacity) = (true, true);
    let mut cap = capacity::CapacityOptions::full();
    let mut objects = object_store::ObjectStoreOptions::full();
    let mut objects_only = false;
    let mut operations_only = false;
    let mut pipeline_only = false;
    // Capacity options given on the command line, applied after `--quick` whatever the order.
    let mut cap_edits: Vec<(String, String)> = Vec::new();
    let mut runs = None;
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let mut num = |name: &str| -> Result<u64, String> {
            it.next()
                .and_then(|v| v.parse().ok())
                .ok_or(format!("bench: {name} needs a number"))
        };
        match a.as_str() {
            "--runs" => runs = Some(num("--runs")? as usize),
            "--files" => o.files = num("--files")? as usize,
            "--large-mib" => o.large_mib = num("--large-mib")?,
            "--huge-mib" => o.huge_mib = num("--huge-mib")?,
            "--quick" => {
                o.runs = 3;
                o.files = 100;
                o.large_mib = 64;
                o.huge_mib = 128;
                cap = capacity::CapacityOptions::quick();
                objects = object_store::ObjectStoreOptions::quick();
            }
            "--object-store" => (classic, with_capacity, objects_only) = (false, false, true),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--ours" => o.ours = it.next().map(PathBuf::from),
            "--classic" => (classic, with_capacity, objects_only) = (true, false, false),
            "--operations" => {
                (classic, with_capacity, objects_only) = (true, false, false);
                operations_only = true;
            }
            "--pipeline" => {
                (classic, with_capacity, objects_only) = (true, false, false);
                pipeline_only = true;
            }
            "--capacity" => (classic, with_capacity, objects_only) = (false, true, false),
            "--no-extras" | "--consumer-only" => cap_edits.push((a.clone(), String::new())),
            "--sizes" | "--assocs" | "--receivers" | "--async-window" | "--threads"
            | "--max-objects" | "--case-mib" | "--max-case-mib" | "--consumer-objects"
            | "--consumer-size" | "--od-root" => {
                let v = it
                    .next()
                    .ok_or(format!("bench: {a} needs a value"))?
                    .clone();
                cap_edits.push((a.clone(), v));
            }
            other => return Err(format!("bench: unknown argument `{other}`\n{USAGE}")),
        }
    }
    if let Some(r) = runs {
        o.runs = r;
        cap.runs = r;
        objects.runs = r;
    }
    for (flag, v) in &cap_edits {
        capacity_option(&mut cap, flag, v)?;
    }
    let ours_bin = shell::ours_release(o.ours.as_ref())?;
    let out_dir = target_dir().join("bench");
    if objects_only {
        return object_store_section(&objects, &ours_bin, &out_dir);
    }
    if with_capacity && !classic {
        let md = capacity::run(&cap, &ours_bin, &out_dir)?;
        println!("{md}");
        eprintln!(
            "bench: wrote {} and {}",
            out_dir.join("capacity.md").display(),
            out_dir.join("capacity.svg").display()
        );
        return Ok(());
    }
    let data = out_dir.join("data");
    let scratch = out_dir.join("out");
    eprintln!("bench: preparing data in {}", data.display());
    let series = make_ct_series(&data.join("ct"), o.files)?;
    let large = data.join(format!("large_{}mib.dcm", o.large_mib));
    if !large.exists() {
        write_large_object(
            &large,
            "1.2.826.0.1.3680043.10.1145.501.1",
            o.large_mib << 20,
        );
    }
    let profile = ["-xf", "/etc/dcmtk/storescp.cfg", "Default"]
        .map(String::from)
        .to_vec();
    let dcmrecv = |label: &str, extra: &[&str], nodelay: bool| Receiver {
        label: label.to_string(),
        program: dcmtk("dcmrecv"),
        args: profile
            .iter()
            .cloned()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect(),
        env: if nodelay {
            vec![("TCP_NODELAY".into(), "1".into())]
        } else {
            vec![]
        },
        style: Style::Dcmrecv,
        scrape: None,
    };
    let ours = |label: &str, extra: &[&str]| Receiver {
        label: label.to_string(),
        program: ours_bin.clone(),
        args: profile
            .iter()
            .cloned()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect(),
        env: vec![],
        style: Style::Dcmrecv,
        scrape: None,
    };
    let storescp = find_dicom_storescp().map(|p| Receiver {
        label: "dicom-storescp 0.10".into(),
        program: p,
        args: vec![],
        env: vec![],
        style: Style::DicomRs,
        scrape: None,
    });

    let series_bytes = total_size(&series);
    let large_bytes = total_size(std::slice::from_ref(&large));
    let storescu = |files: &[PathBuf], parallel, nodelay| Load::Storescu {
        files: files.to_vec(),
        parallel,
        nodelay,
    };
    // (scenario, receivers, load, files, bytes)
    let mut plan: Vec<(String, Vec<Receiver>, Load, usize, u64)> = Vec::new();
    let with_storescp = |mut v: Vec<Receiver>| {
        if let Some(s) = &storescp {
            v.push(s.clone());
        }
        v
    };
    plan.push((
        format!("(a) {} CT, 1 assoc, TCP_NODELAY=1", o.files),
        with_storescp(vec![dcmrecv("dcmrecv", &[], true), ours("ours", &[])]),
        storescu(&series, 1, true),
        series.len(),
        series_bytes,
    ));
    plan.push((
        format!("(b) {} CT, 4 assocs, TCP_NODELAY=1", o.files),
        with_storescp(vec![dcmrecv("dcmrecv", &[], true), ours("ours", &[])]),
        storescu(&series, 4, true),
        series.len(),
        series_bytes,
    ));
    plan.push((
        format!("(c) {} CT, 1 assoc, stock (Nagle on)", o.files),
        with_storescp(vec![dcmrecv("dcmrecv", &[], false), ours("ours", &[])]),
        storescu(&series, 1, false),
        series.len(),
        series_bytes,
    ));
    plan.push((
        format!("(d) 1 × {} MiB object", o.large_mib),
        with_storescp(vec![
            dcmrecv("dcmrecv", &[], true),
            dcmrecv("dcmrecv +B", &["+B"], true),
            ours("ours", &[]),
            ours("ours +B", &["+B"]),
        ]),
        storescu(std::slice::from_ref(&large), 1, true),
        1,
        large_bytes,
    ));
    plan.push((
        format!("(g) {} CT, 1 assoc, fsync", o.files),
        vec![ours("ours", &[]), ours("ours --fsync", &["--fsync"])],
        storescu(&series, 1, true),
        series.len(),
        series_bytes,
    ));

    let events_file = out_dir.join("events.jsonl");
    let events_arg = events_file.to_string_lossy().into_owned();
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("create {}: {e}", out_dir.display()))?;
    plan.push((
        format!("(h) {} CT, 1 assoc, pipeline", o.files),
        vec![
            ours("ours", &[]),
            ours("ours -xcr /bin/true", &["-xcr", "/bin/true"]),
            ours("ours --events FILE", &["--events", &events_arg]),
        ],
        storescu(&series, 1, true),
        series.len(),
        series_bytes,
    ));
    if pipeline_only {
        plan.retain(|(scenario, ..)| scenario.starts_with("(h)"));
    }

    let metrics_port = free_port();
    let metrics_address = format!("127.0.0.1:{metrics_port}");
    let mut with_metrics = ours(
        "ours --metrics-address (scraped every 100 ms)",
        &["--metrics-address", &metrics_address, "--metrics-per-ae"],
    );
    with_metrics.scrape = Some(metrics_port);
    let operations_row = (
        format!("(i) {} CT, 1 assoc, metrics on", o.files),
        vec![ours("ours", &[]), with_metrics],
        storescu(&series, 1, true),
        series.len(),
        series_bytes,
    );
    if operations_only {
        plan.clear();
    }
    if !pipeline_only {
        plan.push(operations_row);
    }

    let mut rows: Vec<ResultRow> = Vec::new();
    for (scenario, receivers, load, files, bytes) in &plan {
        eprintln!("bench: {scenario}");
        let mut scenario_rows: Vec<ResultRow> = receivers
            .iter()
            .map(|r| ResultRow {
                scenario: scenario.clone(),
                receiver: r.label.clone(),
                files: *files,
                bytes: *bytes,
                samples: Vec::new(),
            })
            .collect();
        for run in 0..o.runs {
            // Alternate the order so drift affects every receiver alike.
            let order: Vec<usize> = if run % 2 == 0 {
                (0..receivers.len()).collect()
            } else {
                (0..receivers.len()).rev().collect()
            };
            for i in order {
                let sample = measure(&receivers[i], load, &scratch, *files)?;
                scenario_rows[i].samples.push(sample);
            }
        }
        rows.extend(scenario_rows);
    }

    let _ = std::fs::remove_file(&events_file);
    if operations_only {
        let mut raw_samples = Vec::new();
        for _ in 0..o.runs {
            raw_samples.push(raw::copy_files(&series, &scratch.join("raw.bin"))?);
        }
        let _ = std::fs::remove_dir_all(&scratch);
        let table = render(&rows, &[], stats(&raw_samples).0, series_bytes, o.runs);
        std::fs::create_dir_all(&out_dir)
            .map_err(|e| format!("create {}: {e}", out_dir.display()))?;
        std::fs::write(out_dir.join("operations.md"), &table)
            .map_err(|e| format!("write operations.md: {e}"))?;
        println!("{table}");
        eprintln!("bench: wrote {}", out_dir.join("operations.md").display());
        return Ok(());
    }

    // Peak RSS sweep for ours: flat from 1 MiB to the huge object.
    let mut sweep = Vec::new();
    let sizes: &[u64] = if pipeline_only {
        &[]
    } else {
        &[1, 16, o.large_mib, o.huge_mib]
    };
    for &mib in sizes {
        let path = data.join(format!("sweep_{mib}mib.dcm"));
        if !path.exists() {
            write_large_object(
                &path,
                &format!("1.2.826.0.1.3680043.10.1145.502.{mib}"),
                mib << 20,
            );
        }
        let r = ours("ours", &[]);
        let load = storescu(std::slice::from_ref(&path), 1, true);
        let s = measure(&r, &load, &scratch, 1)?;
        let _ = std::fs::remove_dir_all(&scratch);
        if mib == o.huge_mib && mib >= 1024 {
            // Keep the 1 GiB object out of the data cache directory afterwards.
            let _ = std::fs::remove_file(&path);
        }
        sweep.push((mib, s));
    }

    // (f) the physical limit: the same bytes over plain loopback TCP into a file.
    let mut raw_samples = Vec::new();
    for _ in 0..o.runs {
        raw_samples.push(raw::copy_files(&series, &scratch.join("raw.bin"))?);
    }
    let _ = std::fs::remove_dir_all(&scratch);
    let raw_median = stats(&raw_samples).0;

    let table = render(&rows, &sweep, raw_median, series_bytes, o.runs);
    std::fs::create_dir_all(&out_dir).map_err(|e| format!("create {}: {e}", out_dir.display()))?;
    std::fs::write(out_dir.join("bench.md"), &table).map_err(|e| format!("write bench.md: {e}"))?;
    std::fs::write(
        out_dir.join("bench.svg"),
        chart::render(&rows_for_chart(&rows)),
    )
    .map_err(|e| format!("write bench.svg: {e}"))?;
    println!("{table}");
    eprintln!(
        "bench: wrote {} and {}",
        out_dir.join("bench.md").display(),
        out_dir.join("bench.svg").display()
    );
    if with_capacity {
        let md = capacity::run(&cap, &ours_bin, &out_dir)?;
        println!("{md}");
        eprintln!(
            "bench: wrote {} and {}",
            out_dir.join("capacity.md").display(),
            out_dir.join("capacity.svg").display()
        );
        // The whole bench (no section chosen) ends with the object-store section.
        return object_store_section(&objects, &ours_bin, &out_dir);
    }
    Ok(())
}

/// The object-store section (issue 13): rows for storing into Garage, printed and written to
/// `object_store.md`.
#[expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "the report goes to the terminal"
)]
fn object_store_section(
    o: &object_store::ObjectStoreOptions,
    ours_bin: &Path,
    out_dir: &Path,
) -> Result<(), String> {
    std::fs::create_dir_all(out_dir).map_err(|e| format!("create {}: {e}", out_dir.display()))?;
    let md = object_store::run(o, ours_bin, out_dir)?;
    println!("{md}");
    eprintln!("bench: wrote {}", out_dir.join("object_store.md").display());
    Ok(())
}

/// Applies one capacity option (`--sizes 2k,512k`, `--assocs 1,4`, ...).
fn capacity_option(cap: &mut capacity::CapacityOptions, flag: &str, v: &str) -> Result<(), String> {
    fn list(v: &str) -> impl Iterator<Item = &str> {
        v.split(',').map(str::trim).filter(|s| !s.is_empty())
    }
    let bad = |what: &str| format!("bench: {flag}: `{v}` is not {what}");
    let size = |s: &str| {
        dcmrecv_e2e::loadgen::parse_size(s).ok_or_else(|| bad("a size list (2k,64k,512k,200m)"))
    };
    match flag {
        "--sizes" => cap.sizes = list(v).map(size).collect::<Result<_, _>>()?,
        "--assocs" => {
            cap.assocs = list(v)
                .map(|s| s.parse::<usize>().ok().filter(|n| *n > 0))
                .collect::<Option<_>>()
                .ok_or_else(|| bad("a list of positive numbers"))?;
        }
        "--receivers" => cap.receivers = Some(list(v).map(String::from).collect()),
        "--async-window" => cap.async_window = Some(v.parse().map_err(|_| bad("a number"))?),
        "--threads" => cap.threads = Some(v.parse().map_err(|_| bad("a number"))?),
        "--max-objects" => cap.max_objects = v.parse().map_err(|_| bad("a number"))?,
        "--case-mib" => cap.case_bytes = v.parse::<u64>().map_err(|_| bad("a number"))? << 20,
        "--max-case-mib" => {
            cap.max_case_bytes = v.parse::<u64>().map_err(|_| bad("a number"))? << 20;
        }
        "--consumer-objects" => cap.consumer_objects = v.parse().map_err(|_| bad("a number"))?,
        "--consumer-size" => cap.consumer_size = size(v)?,
        "--no-extras" => cap.extras = false,
        "--consumer-only" => cap.consumer_only = true,
        "--od-root" => cap.od_root = Some(PathBuf::from(v)),
        _ => return Err(format!("bench: unknown capacity option {flag}")),
    }
    if cap.sizes.is_empty() || cap.assocs.is_empty() {
        return Err(format!("bench: {flag} leaves nothing to run"));
    }
    Ok(())
}

fn rows_for_chart(rows: &[ResultRow]) -> Vec<chart::Bar> {
    rows.iter()
        .map(|r| chart::Bar {
            group: r.scenario.clone(),
            label: r.receiver.clone(),
            value: r.bytes as f64 / 1e6 / r.median_seconds().max(1e-9),
        })
        .collect()
}

fn render(
    rows: &[ResultRow],
    sweep: &[(u64, Sample)],
    raw_seconds: f64,
    raw_bytes: u64,
    runs: usize,
) -> String {
    let mut s = String::new();
    let raw_mbs = raw_bytes as f64 / 1e6 / raw_seconds.max(1e-9);
    let _ = writeln!(
        s,
        "Median of {runs} runs (min–max in brackets); receivers alternate within each run.\n"
    );
    let _ = writeln!(
        s,
        "| scenario | receiver | seconds | files/s | MB/s | × dcmrecv | % of raw TCP | CPU s/GB | peak RSS MB |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|---:|");
    for r in rows {
        let secs: Vec<f64> = r.samples.iter().map(|x| x.seconds).collect();
        let (med, min, max) = stats(&secs);
        let cpu = stats(&r.samples.iter().map(|x| x.cpu).collect::<Vec<_>>()).0;
        let rss = stats(
            &r.samples
                .iter()
                .map(|x| x.peak_rss as f64)
                .collect::<Vec<_>>(),
        )
        .0;
        let base = rows
            .iter()
            .find(|b| b.scenario == r.scenario && b.receiver == "dcmrecv")
            .map(ResultRow::median_seconds);
        let ratio = base.map_or("–".to_string(), |b| format!("{:.2}", b / med.max(1e-9)));
        let mbs = r.bytes as f64 / 1e6 / med.max(1e-9);
        let _ = writeln!(
            s,
            "| {} | {} | {med:.3} ({min:.3}–{max:.3}) | {:.0} | {mbs:.0} | {ratio} | {:.0}% | {:.2} | {:.1} |",
            r.scenario,
            r.receiver,
            r.files as f64 / med.max(1e-9),
            100.0 * mbs / raw_mbs.max(1e-9),
            cpu / (r.bytes as f64 / 1e9).max(1e-9),
            rss / 1e6,
        );
    }
    for r in rows.iter().filter(|r| r.scenario.starts_with("(h)")) {
        let base = rows
            .iter()
            .find(|b| b.scenario == r.scenario && b.receiver == "ours")
            .map(ResultRow::median_seconds);
        if let (Some(base), true) = (base, r.receiver != "ours") {
            let _ = writeln!(
                s,
                "\n(h) {}: {:+.1}% time against ours without it (target: within 10%).",
                r.receiver,
                100.0 * (r.median_seconds() / base.max(1e-9) - 1.0)
            );
        }
    }
    let _ = writeln!(
        s,
        "\n(f) raw loopback TCP copy of the same {:.0} MB into one file: {raw_seconds:.3} s median, {raw_mbs:.0} MB/s.",
        raw_bytes as f64 / 1e6
    );
    let _ = writeln!(
        s,
        "\nPeak RSS of ours by object size (one object, one association):\n"
    );
    let _ = writeln!(s, "| object MiB | seconds | peak RSS MB |");
    let _ = writeln!(s, "|---:|---:|---:|");
    for (mib, x) in sweep {
        let _ = writeln!(
            s,
            "| {mib} | {:.3} | {:.1} |",
            x.seconds,
            x.peak_rss as f64 / 1e6
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::stats;

    #[test]
    fn median_minimum_and_maximum() {
        assert_eq!(stats(&[]), (0.0, 0.0, 0.0));
        assert_eq!(stats(&[3.0]), (3.0, 3.0, 3.0));
        assert_eq!(stats(&[5.0, 1.0, 3.0]), (3.0, 1.0, 5.0));
        assert_eq!(stats(&[4.0, 1.0, 3.0, 2.0]), (2.5, 1.0, 4.0));
    }
}

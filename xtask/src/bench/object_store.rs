//! The object-store section of `cargo xtask bench` (issue 13 item 6): ours storing into a real
//! three-node Garage cluster (`-od s3://dicom/...`) next to ours storing into a local
//! directory, driven by the harness's load generator, over 0.5 MB and 200 MiB objects and 1
//! and 4 associations; files/s, MB/s, receiver CPU and peak RSS. Each case's physical limit
//! is the upload rate of the same bytes (the Part-10 object the receiver stores) with the
//! `object_store` client alone, with the receiver's part size and parts in flight
//! (`dcmrecv_e2e::upload_rate`); the target is 70% of it. A last row sends 4 × 1 GiB at once
//! to show peak RSS stays flat (target ≤ 64 MB).
//!
//! Garage deduplicates identical blocks: the generator's objects share their pixels, so the
//! store writes each block once per run, for the receiver and for the limit alike.

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use dcmrecv_e2e::garage::{BUCKET, GarageCluster, garage_binary};
use dcmrecv_e2e::loadgen::{self, DataSet, LoadSpec, process_cpu, size_name};
use dcmrecv_e2e::process::peak_rss_of;
use dcmrecv_e2e::s3::S3Client;
use dcmrecv_e2e::upload_rate::{self, Bytes, UploadPlan};

use super::capacity::receivers::{self, Receiver, count_stored};
use super::stats;

/// The receiver's part size and parts in flight (its defaults, passed explicitly so the limit
/// is measured with the same plan).
const PART_SIZE: usize = 6 * 1024 * 1024;
const PARTS_IN_FLIGHT: usize = 1;

/// What the section runs.
#[derive(Debug, Clone)]
pub(crate) struct ObjectStoreOptions {
    pub(crate) runs: usize,
    pub(crate) sizes: Vec<u64>,
    pub(crate) assocs: Vec<usize>,
    /// Small objects per case (large ones: one per association).
    pub(crate) small_objects: u64,
    /// The 4 × 1 GiB peak-RSS row.
    pub(crate) huge: bool,
}

impl ObjectStoreOptions {
    pub(crate) fn full() -> ObjectStoreOptions {
        ObjectStoreOptions {
            runs: 3,
            sizes: vec![512 << 10, 200 << 20],
            assocs: vec![1, 4],
            small_objects: 400,
            huge: true,
        }
    }

    pub(crate) fn quick() -> ObjectStoreOptions {
        ObjectStoreOptions {
            small_objects: 100,
            huge: false,
            ..ObjectStoreOptions::full()
        }
    }
}

/// One measured run.
#[derive(Debug, Clone, Copy)]
struct Sample {
    seconds: f64,
    stored: u64,
    bytes: u64,
    cpu: f64,
    peak_rss: u64,
}

/// One row: a receiver (or the limit) on one case.
struct Row {
    case: String,
    what: String,
    samples: Vec<Sample>,
}

impl Row {
    fn med(&self, f: impl Fn(&Sample) -> f64) -> f64 {
        stats(&self.samples.iter().map(f).collect::<Vec<_>>()).0
    }

    fn mb_per_s(&self) -> f64 {
        self.med(|s| s.bytes as f64 / 1e6 / s.seconds.max(1e-9))
    }

    fn files_per_s(&self) -> f64 {
        self.med(|s| s.stored as f64 / s.seconds.max(1e-9))
    }

    fn range_mb_per_s(&self) -> (f64, f64) {
        let (_, lo, hi) = stats(
            &self
                .samples
                .iter()
                .map(|s| s.bytes as f64 / 1e6 / s.seconds.max(1e-9))
                .collect::<Vec<_>>(),
        );
        (lo, hi)
    }
}

static SAMPLE: AtomicUsize = AtomicUsize::new(0);

/// The receivers: into the bucket, and into a local directory for comparison.
fn receivers(ours_bin: &Path, cluster: &GarageCluster) -> [Receiver; 2] {
    let part = PART_SIZE.to_string();
    let inflight = PARTS_IN_FLIGHT.to_string();
    let extra = [
        "--node-id",
        "bench",
        "--object-part-size",
        part.as_str(),
        "--object-parts-in-flight",
        inflight.as_str(),
    ];
    [
        receivers::ours(ours_bin, &extra, "ours").with_env("ours → Garage", cluster.env_vars(0)),
        receivers::ours(ours_bin, &[], "ours → local disk"),
    ]
}

/// Runs `objects` objects of `ds` over `assocs` associations into `rx`; `to_bucket` says
/// whether it writes to the bucket (then the objects are counted there).
fn sample(
    rx: &Receiver,
    to_bucket: bool,
    client: &S3Client,
    ds: &DataSet,
    assocs: usize,
    objects: u64,
    root: &Path,
) -> Result<Sample, String> {
    let n = SAMPLE.fetch_add(1, Ordering::Relaxed);
    let prefix = format!("bench/s{n}");
    let dir = root.join(format!("s{n}"));
    let od = if to_bucket {
        Path::new(&format!("s3://{BUCKET}/{prefix}")).to_path_buf()
    } else {
        std::fs::create_dir_all(&dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        dir.clone()
    };
    let started = rx.start(&od)?;
    let pid = started.guard.pid();
    let cpu0 = process_cpu(pid);
    let spec = LoadSpec::new(SocketAddr::from(([127, 0, 0, 1], started.port)))
        .associations(assocs)
        .objects(objects);
    let t0 = Instant::now();
    let report = loadgen::run(&spec, ds);
    let seconds = t0.elapsed().as_secs_f64();
    let cpu = process_cpu(pid).since(cpu0).total();
    let peak_rss = peak_rss_of(pid);
    let log = started.guard.stderr();
    drop(started);
    if !report.is_clean() {
        return Err(format!("{}: {}\n{log}", rx.label, report.summary()));
    }
    let found = if to_bucket {
        let listed = client
            .list(&prefix)
            .map_err(|e| format!("list {prefix}: {e}"))?;
        listed
            .iter()
            .filter(|o| !o.key.contains("/.dcmrecv-uploads/"))
            .count()
    } else {
        let found = count_stored(&dir);
        let _ = std::fs::remove_dir_all(&dir);
        found
    };
    if (found as u64) < report.stored() {
        return Err(format!(
            "{}: {} acknowledged but {found} stored",
            rx.label,
            report.stored()
        ));
    }
    Ok(Sample {
        seconds,
        stored: report.stored(),
        bytes: report.stored() * ds.len(),
        cpu,
        peak_rss,
    })
}

/// The Part-10 bytes a receiver stores for `ds` (preamble, meta header, data set).
fn part10_bytes(ds: &DataSet, root: &Path) -> Result<Bytes, String> {
    let path = root.join("object.dcm");
    ds.write_file(&path, 1, 1)
        .map_err(|e| format!("write {}: {e}", path.display()))?;
    let data = std::fs::read(&path).map_err(|e| format!("read {}: {e}", path.display()))?;
    let _ = std::fs::remove_file(&path);
    Ok(Bytes::from(data))
}

/// The upload rate of `objects` copies of `object` over `assocs` streams, with the receiver's
/// part plan.
fn limit(client: &S3Client, object: &Bytes, assocs: usize, objects: u64) -> Result<Sample, String> {
    let n = SAMPLE.fetch_add(1, Ordering::Relaxed);
    let plan = UploadPlan::new(objects as usize, object.len())
        .streams(assocs)
        .parts(PART_SIZE, PARTS_IN_FLIGHT);
    let slice = |_: u64, offset: u64, len: usize| {
        let at = offset as usize;
        object.slice(at..(at + len).min(object.len()))
    };
    let rate = upload_rate::measure_with(client, &format!("limit/s{n}"), plan, &slice)
        .map_err(|e| format!("the object_store upload: {e}"))?;
    Ok(Sample {
        seconds: rate.elapsed.as_secs_f64(),
        stored: rate.objects as u64,
        bytes: rate.bytes,
        cpu: 0.0,
        peak_rss: 0,
    })
}

/// Entry point: runs the section and writes `object_store.md` into `out_dir`; returns the
/// markdown. Fails (with the install command) when Garage is missing.
#[expect(clippy::print_stderr, reason = "progress goes to stderr")]
pub(crate) fn run(
    o: &ObjectStoreOptions,
    ours_bin: &Path,
    out_dir: &Path,
) -> Result<String, String> {
    let garage = garage_binary();
    let started = Instant::now();
    let root = out_dir.join("object-store-out");
    let _ = std::fs::remove_dir_all(&root);
    std::fs::create_dir_all(&root).map_err(|e| format!("create {}: {e}", root.display()))?;
    eprintln!(
        "bench object store: starting a three-node Garage cluster ({})",
        garage.display()
    );
    let cluster = GarageCluster::start();
    let client = cluster.client(0);
    let receivers = receivers(ours_bin, &cluster);
    let mut rows: Vec<Row> = Vec::new();
    for &size in &o.sizes {
        let ds = DataSet::with_size(size);
        let object = part10_bytes(&ds, &root)?;
        for &assocs in &o.assocs {
            let objects = if size >= PART_SIZE as u64 {
                assocs as u64
            } else {
                o.small_objects.div_ceil(assocs as u64) * assocs as u64
            };
            let case = format!("{} × {objects}, {assocs} assoc", size_name(size));
            eprintln!(
                "bench object store: {case} ({:.0} s so far)",
                started.elapsed().as_secs_f64()
            );
            let mut case_rows: Vec<Row> = receivers
                .iter()
                .map(|r| Row {
                    case: case.clone(),
                    what: r.label.clone(),
                    samples: Vec::new(),
                })
                .chain(std::iter::once(Row {
                    case: case.clone(),
                    what: "object_store alone (limit)".to_string(),
                    samples: Vec::new(),
                }))
                .collect();
            for run in 0..o.runs {
                let mut order: Vec<usize> = (0..case_rows.len()).collect();
                if run % 2 == 1 {
                    order.reverse();
                }
                for i in order {
                    let s = match receivers.get(i) {
                        Some(rx) => sample(rx, i == 0, &client, &ds, assocs, objects, &root)?,
                        None => limit(&client, &object, assocs, objects)?,
                    };
                    case_rows[i].samples.push(s);
                }
            }
            rows.extend(case_rows);
        }
    }
    let mut huge = None;
    if o.huge {
        eprintln!("bench object store: 4 × 1 GiB at once (peak RSS)");
        let ds = DataSet::with_size(1 << 30);
        huge = Some(sample(&receivers[0], true, &client, &ds, 4, 4, &root)?);
    }
    let md = render(o, &rows, huge, started.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&root);
    std::fs::write(out_dir.join("object_store.md"), &md)
        .map_err(|e| format!("write object_store.md: {e}"))?;
    Ok(md)
}

fn render(o: &ObjectStoreOptions, rows: &[Row], huge: Option<Sample>, seconds: f64) -> String {
    let mut md = String::new();
    let _ = writeln!(
        md,
        "## Object storage (Garage, 3 nodes, replication 3, on loopback)\n\n\
         Ours with `-od s3://dicom/...` (parts of {} MiB, {PARTS_IN_FLIGHT} in flight while the \
         next fills) next to ours writing files, driven by the load generator; the limit is \
         the same Part-10 bytes uploaded with `object_store` alone (same parts). Medians of {} \
         runs (MB/s range in brackets). Garage's RPC has no TCP_NODELAY: a small PUT takes \
         30–50 ms on loopback.\n",
        PART_SIZE >> 20,
        o.runs
    );
    let _ = writeln!(
        md,
        "| case | receiver | files/s | MB/s | CPU s | peak RSS | of limit |\n|---|---|---:|---:|---:|---:|---:|"
    );
    for chunk in rows.chunks(3) {
        let limit = chunk
            .iter()
            .find(|r| r.what.contains("limit"))
            .map(Row::mb_per_s);
        for r in chunk {
            let (lo, hi) = r.range_mb_per_s();
            let is_limit = r.what.contains("limit");
            let share = match limit {
                Some(l) if !is_limit && r.what.contains("Garage") => {
                    format!("{:.0}%", 100.0 * r.mb_per_s() / l)
                }
                _ => String::new(),
            };
            let rss = if is_limit {
                String::new()
            } else {
                format!("{:.1} MB", r.med(|s| s.peak_rss as f64) / 1e6)
            };
            let cpu = if is_limit {
                String::new()
            } else {
                format!("{:.2}", r.med(|s| s.cpu))
            };
            let _ = writeln!(
                md,
                "| {} | {} | {:.1} | {:.1} [{lo:.1}–{hi:.1}] | {cpu} | {rss} | {share} |",
                r.case,
                r.what,
                r.files_per_s(),
                r.mb_per_s()
            );
        }
    }
    if let Some(h) = huge {
        let _ = writeln!(
            md,
            "\n4 associations × 1 GiB at once into Garage: {:.1} MB/s, peak RSS {:.1} MB (target ≤ 64 MB).",
            h.bytes as f64 / 1e6 / h.seconds.max(1e-9),
            h.peak_rss as f64 / 1e6
        );
    }
    let _ = writeln!(md, "\nThe object-store section took {seconds:.0} s.");
    md
}

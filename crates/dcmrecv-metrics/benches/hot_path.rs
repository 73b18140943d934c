//! What counting one object costs on the receive path, alone and with associations on every
//! core, next to the obvious alternative (prometheus-client's mutex `Histogram` and a family
//! lookup per object). Run with `cargo bench -p dcmrecv-metrics`; the figures are ns per object
//! and only mean something on an otherwise idle machine.
#![expect(clippy::print_stdout, reason = "a benchmark reports on stdout")]

use std::hint::black_box;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

use dcmrecv_metrics::{Format, Metrics, MetricsOptions};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::Histogram;

const OBJECTS: u64 = 2_000_000;

/// Runs `work(thread_index, iterations)` on `threads` threads at once; ns per call.
fn per_call(threads: usize, work: impl Fn(usize, u64) + Send + Sync + 'static) -> f64 {
    let work = Arc::new(work);
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let (work, start) = (Arc::clone(&work), Arc::clone(&start));
            thread::spawn(move || {
                start.wait();
                let began = Instant::now();
                work(t, OBJECTS);
                began.elapsed()
            })
        })
        .collect();
    start.wait();
    let slowest = handles
        .into_iter()
        .map(|h| h.join().expect("bench thread"))
        .max()
        .unwrap_or_default();
    slowest.as_nanos() as f64 / OBJECTS as f64
}

fn ours(threads: usize, per_ae: bool) -> f64 {
    let metrics = Metrics::new(MetricsOptions::new().per_ae(per_ae));
    per_call(threads, move |t, n| {
        let association = metrics.association_accepted(&format!("AE{t}"));
        for i in 0..n {
            association.object_stored(
                black_box(0x0000),
                black_box(524_288),
                Duration::from_micros(i % 20_000),
            );
        }
    })
}

fn naive(threads: usize) -> f64 {
    let family: Family<Vec<(String, String)>, Counter> = Family::default();
    let histogram = Histogram::new(dcmrecv_metrics::STORE_SECONDS_BUCKETS);
    per_call(threads, move |t, n| {
        let labels = vec![
            ("status".to_string(), "success".to_string()),
            ("calling_ae".to_string(), format!("AE{t}")),
        ];
        for i in 0..n {
            family.get_or_create(black_box(&labels)).inc();
            histogram.observe(Duration::from_micros(i % 20_000).as_secs_f64());
        }
    })
}

fn main() {
    let cores = thread::available_parallelism().map_or(2, |n| n.get());
    println!("ns per object_stored (median of 5 runs, {OBJECTS} objects per thread)");
    println!(
        "{:<44} {:>8} {:>8}",
        "",
        "1 thread",
        format!("{cores} threads")
    );
    let median = |f: &dyn Fn() -> f64| {
        let mut runs: Vec<f64> = (0..5).map(|_| f()).collect();
        runs.sort_by(f64::total_cmp);
        runs[2]
    };
    for (name, run) in [
        (
            "dcmrecv-metrics",
            &(|threads| ours(threads, false)) as &dyn Fn(usize) -> f64,
        ),
        ("dcmrecv-metrics, per-AE series", &|threads| {
            ours(threads, true)
        }),
        ("family lookup + mutex Histogram per object", &naive),
    ] {
        println!(
            "{name:<44} {:>8.1} {:>8.1}",
            median(&|| run(1)),
            median(&|| run(cores))
        );
    }
    let metrics = Metrics::new(MetricsOptions::new().per_ae(true));
    for i in 0..64 {
        metrics.association_accepted(&format!("AE{i}"));
    }
    let began = Instant::now();
    let mut bytes = 0;
    for _ in 0..100 {
        bytes = black_box(metrics.encode(Format::OpenMetrics).map_or(0, |t| t.len()));
    }
    println!(
        "a scrape with 64 AE titles: {:.0} µs, {bytes} bytes",
        began.elapsed().as_micros() as f64 / 100.0
    );
}

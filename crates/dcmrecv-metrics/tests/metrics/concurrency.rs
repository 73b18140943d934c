//! Many associations counting at once lose nothing, and a scrape in the middle is consistent.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::Duration;

use dcmrecv_metrics::{Format, Metrics, MetricsOptions, StatusClass};

use crate::support::value;

#[test]
fn concurrent_associations_and_scrapes_count_exactly() {
    const THREADS: usize = 8;
    const OBJECTS: u64 = 20_000;
    let metrics = Metrics::new(MetricsOptions::new().per_ae(true));
    let start = Arc::new(Barrier::new(THREADS + 1));
    let done = Arc::new(AtomicBool::new(false));
    let scraper = {
        let metrics = metrics.clone();
        let done = Arc::clone(&done);
        thread::spawn(move || {
            let mut scrapes = 0;
            while !done.load(Ordering::SeqCst) {
                let text = metrics.encode(Format::OpenMetrics).unwrap();
                // `_count` is always the `+Inf` bucket, mid-update or not.
                assert_eq!(
                    value(&text, "dcmrecv_store_seconds_count"),
                    value(&text, r#"dcmrecv_store_seconds_bucket{le="+Inf"}"#)
                );
                scrapes += 1;
            }
            scrapes
        })
    };
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            let metrics = metrics.clone();
            let start = Arc::clone(&start);
            thread::spawn(move || {
                start.wait();
                let association = metrics.association_accepted(&format!("AE{}", t % 3));
                for i in 0..OBJECTS {
                    let status = if i % 10 == 0 { 0xA700 } else { 0x0000 };
                    association.object_stored(status, 100, Duration::from_micros(i % 5000));
                }
            })
        })
        .collect();
    start.wait();
    for worker in workers {
        worker.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    assert!(scraper.join().unwrap() > 0);

    let total = THREADS as u64 * OBJECTS;
    assert_eq!(metrics.objects(StatusClass::OutOfResources), total / 10);
    assert_eq!(metrics.objects(StatusClass::Success), total - total / 10);
    assert_eq!(metrics.associations_active(), 0);
    let text = metrics.encode(Format::Prometheus).unwrap();
    assert_eq!(value(&text, "dcmrecv_store_seconds_count"), total as f64);
    let bytes: f64 = (0..3)
        .map(|ae| {
            value(
                &text,
                &format!(r#"dcmrecv_received_bytes_total{{calling_ae="AE{ae}"}}"#),
            )
        })
        .sum();
    assert_eq!(bytes, (total * 100) as f64);
}

#[test]
fn a_panicking_association_thread_still_ends_its_association() {
    let metrics = Metrics::new(MetricsOptions::new());
    let in_thread = metrics.clone();
    let result = thread::spawn(move || {
        let _association = in_thread.association_accepted("CT");
        panic!("a sink panicked");
    })
    .join();
    assert!(result.is_err());
    assert_eq!(metrics.associations_active(), 0);
}

//! The names, types, help texts and values a scrape shows, in both formats.

use std::time::Duration;

use dcmrecv_metrics::{Format, Metrics, MetricsOptions, RejectReason, StoreSpace};
use expect_test::expect;

use crate::support::{normalise, samples, value};

fn busy_metrics(options: MetricsOptions) -> Metrics {
    let metrics = Metrics::new(options);
    let first = metrics.association_accepted("CT1");
    first.object_stored(0x0000, 1000, Duration::from_micros(800)); // le=0.001
    first.object_stored(0x0000, 2000, Duration::from_millis(20)); // le=0.025
    first.object_stored(0xB007, 300, Duration::from_millis(3)); // warning, le=0.005
    first.object_stored(0xA700, 0, Duration::from_secs(2)); // out_of_resources, le=2.5
    first.object_aborted(50);
    let _second = metrics.association_accepted("MR1"); // still active
    drop(first);
    metrics.association_rejected("X", RejectReason::CalledAeTitle);
    metrics.association_rejected("X", RejectReason::TooManyAssociations);
    metrics.association_failed();
    metrics.set_hook_queue_depth(4);
    metrics
}

#[test]
fn prometheus_text_has_every_metric_with_its_type_and_help() {
    let metrics = busy_metrics(
        MetricsOptions::new().store_space(|| Some(StoreSpace::new(5_000).with_size(80_000))),
    );
    let text = metrics.encode(Format::Prometheus).unwrap();
    expect![[r##"
        # HELP dcmrecv_associations_active Associations established and not yet released or aborted.
        # TYPE dcmrecv_associations_active gauge
        dcmrecv_associations_active 0
        # HELP dcmrecv_associations_total Association requests by outcome: accepted, rejected_<reason>, or failed before an answer.
        # TYPE dcmrecv_associations_total counter
        dcmrecv_associations_total{result="accepted"} 2
        dcmrecv_associations_total{result="failed"} 1
        dcmrecv_associations_total{result="rejected_application_context"} 0
        dcmrecv_associations_total{result="rejected_called_ae"} 1
        dcmrecv_associations_total{result="rejected_calling_ae"} 0
        dcmrecv_associations_total{result="rejected_limit"} 1
        dcmrecv_associations_total{result="rejected_limit_per_ae"} 0
        dcmrecv_associations_total{result="rejected_no_presentation_context"} 0
        dcmrecv_associations_total{result="rejected_other"} 0
        dcmrecv_associations_total{result="rejected_protocol_version"} 0
        # HELP dcmrecv_objects_total C-STORE requests by DIMSE status class (aborted: no response was sent).
        # TYPE dcmrecv_objects_total counter
        dcmrecv_objects_total{status="aborted"} 1
        dcmrecv_objects_total{status="cannot_understand"} 0
        dcmrecv_objects_total{status="dataset_mismatch"} 0
        dcmrecv_objects_total{status="duplicate"} 0
        dcmrecv_objects_total{status="failure"} 0
        dcmrecv_objects_total{status="not_authorized"} 0
        dcmrecv_objects_total{status="out_of_resources"} 1
        dcmrecv_objects_total{status="sop_class_not_supported"} 0
        dcmrecv_objects_total{status="success"} 2
        dcmrecv_objects_total{status="warning"} 1
        # HELP dcmrecv_received_bytes_total Data set bytes received in C-STORE requests.
        # TYPE dcmrecv_received_bytes_total counter
        dcmrecv_received_bytes_total 3350
        # HELP dcmrecv_store_seconds Time from a C-STORE request's first data set byte to its response being ready.
        # TYPE dcmrecv_store_seconds histogram
        dcmrecv_store_seconds_bucket{le="+Inf"} 4
        dcmrecv_store_seconds_bucket{le="0.001"} 1
        dcmrecv_store_seconds_bucket{le="0.0025"} 1
        dcmrecv_store_seconds_bucket{le="0.005"} 2
        dcmrecv_store_seconds_bucket{le="0.01"} 2
        dcmrecv_store_seconds_bucket{le="0.025"} 3
        dcmrecv_store_seconds_bucket{le="0.05"} 3
        dcmrecv_store_seconds_bucket{le="0.1"} 3
        dcmrecv_store_seconds_bucket{le="0.25"} 3
        dcmrecv_store_seconds_bucket{le="0.5"} 3
        dcmrecv_store_seconds_bucket{le="1"} 3
        dcmrecv_store_seconds_bucket{le="10"} 4
        dcmrecv_store_seconds_bucket{le="2.5"} 4
        dcmrecv_store_seconds_bucket{le="30"} 4
        dcmrecv_store_seconds_bucket{le="5"} 4
        dcmrecv_store_seconds_bucket{le="60"} 4
        dcmrecv_store_seconds_count 4
        dcmrecv_store_seconds_sum 2.0238
        # HELP dcmrecv_hook_queue_depth Hook invocations waiting to run (0 when no hooks are configured).
        # TYPE dcmrecv_hook_queue_depth gauge
        dcmrecv_hook_queue_depth 4
        # HELP dcmrecv_output_free_bytes Space left on the output store for new objects (measured at scrape time)
        # TYPE dcmrecv_output_free_bytes gauge
        dcmrecv_output_free_bytes 5000
        # HELP dcmrecv_output_size_bytes Total size of the file system holding the output directory
        # TYPE dcmrecv_output_size_bytes gauge
        dcmrecv_output_size_bytes 80000
    "##]]
    .assert_eq(&normalise(&text));
}

#[test]
fn openmetrics_has_units_totals_and_eof() {
    let metrics = busy_metrics(MetricsOptions::new());
    let text = metrics.encode(Format::OpenMetrics).unwrap();
    assert!(text.ends_with("# EOF\n"), "{text}");
    assert!(
        text.contains("# TYPE dcmrecv_associations counter\n"),
        "{text}"
    );
    assert!(
        text.contains("# UNIT dcmrecv_store_seconds seconds\n"),
        "{text}"
    );
    assert!(
        text.contains("# UNIT dcmrecv_received_bytes bytes\n"),
        "{text}"
    );
    assert_eq!(
        value(&text, r#"dcmrecv_objects_total{status="success"}"#),
        2.0
    );
    assert_eq!(
        value(&text, r#"dcmrecv_store_seconds_bucket{le="+Inf"}"#),
        4.0
    );
    // Without a probe there is no free-space gauge at all (rather than a made-up 0).
    assert!(!text.contains("output_free"), "{text}");
}

#[test]
fn the_probe_is_asked_on_every_scrape_and_none_leaves_the_gauges_out() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    let free = Arc::new(AtomicU64::new(100));
    let probe = Arc::clone(&free);
    let metrics =
        Metrics::new(MetricsOptions::new().store_space(
            move || match probe.load(Ordering::SeqCst) {
                0 => None,
                n => Some(StoreSpace::new(n)),
            },
        ));
    let scrape = || metrics.encode(Format::Prometheus).unwrap();
    assert_eq!(value(&scrape(), "dcmrecv_output_free_bytes"), 100.0);
    free.store(42, Ordering::SeqCst);
    assert_eq!(value(&scrape(), "dcmrecv_output_free_bytes"), 42.0);
    assert!(!scrape().contains("output_size"));
    free.store(0, Ordering::SeqCst);
    assert!(!scrape().contains("output_free"));
}

#[test]
fn every_series_exists_at_zero_before_any_traffic() {
    let text = Metrics::new(MetricsOptions::new())
        .encode(Format::Prometheus)
        .unwrap();
    let samples = samples(&text);
    assert_eq!(
        samples
            .keys()
            .filter(|s| s.starts_with("dcmrecv_objects_total{"))
            .count(),
        10
    );
    assert_eq!(
        samples
            .keys()
            .filter(|s| s.starts_with("dcmrecv_associations_total{"))
            .count(),
        10
    );
    assert!(samples.values().all(|v| *v == 0.0), "{text}");
}

//! `--metrics-per-ae`: a `calling_ae` label, sanitised, capped, and not claimable by refused
//! peers.

use std::time::Duration;

use dcmrecv_metrics::{Format, Metrics, MetricsOptions, RejectReason, StatusClass};

use crate::support::{samples, value};

fn per_ae(limit: usize) -> Metrics {
    Metrics::new(MetricsOptions::new().per_ae(true).ae_limit(limit))
}

fn ae_values(text: &str) -> Vec<String> {
    let mut aes: Vec<String> = samples(text)
        .keys()
        .filter(|s| s.starts_with("dcmrecv_received_bytes_total{"))
        .map(|s| {
            let start = s.find("calling_ae=\"").expect("calling_ae label") + 12;
            s[start..s.len() - 2].to_string()
        })
        .collect();
    aes.sort();
    aes
}

#[test]
fn titles_beyond_the_limit_share_other() {
    let metrics = per_ae(3);
    for i in 0..10 {
        let association = metrics.association_accepted(&format!("AE{i}"));
        association.object_stored(0, 1, Duration::ZERO);
    }
    // An AE that already has a slot keeps it.
    metrics
        .association_accepted("AE1")
        .object_stored(0, 1, Duration::ZERO);
    let text = metrics.encode(Format::Prometheus).unwrap();
    assert_eq!(ae_values(&text), ["(none)", "(other)", "AE0", "AE1", "AE2"]);
    assert_eq!(
        value(
            &text,
            r#"dcmrecv_objects_total{status="success",calling_ae="(other)"}"#
        ),
        7.0
    );
    assert_eq!(
        value(
            &text,
            r#"dcmrecv_objects_total{status="success",calling_ae="AE1"}"#
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            r#"dcmrecv_associations_total{result="accepted",calling_ae="(other)"}"#
        ),
        7.0
    );
    assert_eq!(metrics.objects(StatusClass::Success), 11);
}

#[test]
fn a_flood_of_refused_titles_claims_no_slot() {
    let metrics = per_ae(64);
    for i in 0..10_000 {
        metrics.association_rejected(&format!("SCAN{i}"), RejectReason::CallingAeTitle);
    }
    metrics.association_failed();
    let text = metrics.encode(Format::Prometheus).unwrap();
    assert_eq!(ae_values(&text), ["(none)", "(other)"]);
    assert_eq!(
        value(
            &text,
            r#"dcmrecv_associations_total{result="rejected_calling_ae",calling_ae="(other)"}"#
        ),
        10_000.0
    );
    assert_eq!(
        value(
            &text,
            r#"dcmrecv_associations_total{result="failed",calling_ae="(none)"}"#
        ),
        1.0
    );
    // A known title that is later refused (say, over its association limit) is counted
    // under its own name.
    let _held = metrics.association_accepted("PACS");
    metrics.association_rejected("PACS", RejectReason::TooManyAssociationsForAe);
    let text = metrics.encode(Format::Prometheus).unwrap();
    assert_eq!(
        value(
            &text,
            r#"dcmrecv_associations_total{result="rejected_limit_per_ae",calling_ae="PACS"}"#
        ),
        1.0
    );
}

#[test]
fn hostile_titles_cannot_break_the_exposition() {
    let metrics = per_ae(64);
    for raw in ["A\"} 1\nx", "B\\", "(other)", "  ", "\u{1b}[31mRED", "ÜBER"] {
        metrics
            .association_accepted(raw)
            .object_stored(0, 1, Duration::ZERO);
    }
    for format in [Format::Prometheus, Format::OpenMetrics] {
        let text = metrics.encode(format).unwrap();
        // Every line is a comment or `series value`, and every label value is quoted cleanly.
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let (series, value) = line.rsplit_once(' ').unwrap();
            value.parse::<f64>().unwrap();
            assert_eq!(series.matches('"').count() % 2, 0, "{line}");
        }
        assert_eq!(
            ae_values(&text),
            [
                "(empty)", "(none)", "(other)", "A_} 1_x", "B_", "_BER", "_[31mRED", "_other)"
            ],
            "{text}"
        );
    }
}

#[test]
fn without_per_ae_no_series_has_a_calling_ae_label() {
    let metrics = Metrics::new(MetricsOptions::new());
    metrics
        .association_accepted("CT1")
        .object_stored(0, 1, Duration::ZERO);
    metrics.association_rejected("CT2", RejectReason::Other);
    let text = metrics.encode(Format::Prometheus).unwrap();
    assert!(!text.contains("calling_ae=\""), "{text}");
}

//! What curl gets from each path.

use std::net::TcpStream;
use std::time::Duration;

use dcmrecv_metrics::{Metrics, MetricsOptions, StoreSpace};
use dcmrecv_metrics_http::Readiness;

use crate::support::{curl, metrics, start};

#[test]
fn metrics_in_both_formats_with_current_values() {
    let _serial = crate::support::serial();
    let metrics = Metrics::new(MetricsOptions::new().store_space(|| Some(StoreSpace::new(12345))));
    let endpoint = start(&metrics, &Readiness::new());
    let association = metrics.association_accepted("CT1");
    association.object_stored(0x0000, 4096, Duration::from_millis(3));

    let reply = curl(endpoint.local_addr(), "/metrics", &[]);
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    assert!(
        reply.body.contains("dcmrecv_associations_active 1\n"),
        "{}",
        reply.body
    );
    assert!(
        reply
            .body
            .contains("dcmrecv_objects_total{status=\"success\"} 1\n")
    );
    assert!(reply.body.contains("dcmrecv_received_bytes_total 4096\n"));
    assert!(reply.body.contains("dcmrecv_output_free_bytes 12345\n"));

    association.object_stored(0xC000, 10, Duration::from_millis(1));
    drop(association);
    let reply = curl(
        endpoint.local_addr(),
        "/metrics",
        &[
            "-H",
            "Accept: application/openmetrics-text;version=1.0.0,text/plain;q=0.5",
        ],
    );
    assert_eq!(reply.status, 200);
    assert_eq!(
        reply.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(reply.body.ends_with("# EOF\n"));
    assert!(reply.body.contains("dcmrecv_associations_active 0\n"));
    assert!(
        reply
            .body
            .contains("dcmrecv_objects_total{status=\"cannot_understand\"} 1\n")
    );
    assert_eq!(reply.header("cache-control"), Some("no-store"));
}

#[test]
fn healthz_readyz_and_the_rest() {
    let _serial = crate::support::serial();
    let readiness = Readiness::new();
    let listening = readiness.condition("listening", "starting");
    let disk = readiness.condition("output store", "not checked yet");
    let endpoint = start(&metrics(), &readiness);
    let addr = endpoint.local_addr();

    let health = curl(addr, "/healthz", &[]);
    assert_eq!((health.status, health.body.as_str()), (200, "ok\n"));

    let ready = curl(addr, "/readyz", &[]);
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (503, "not ready: listening: starting\n")
    );
    listening.set_met();
    disk.set_unmet("free space 1.0 GiB is below --min-free-space 2G");
    let ready = curl(addr, "/readyz", &[]);
    assert_eq!(
        (ready.status, ready.body.as_str()),
        (
            503,
            "not ready: output store: free space 1.0 GiB is below --min-free-space 2G\n"
        )
    );
    disk.set_met();
    let ready = curl(addr, "/readyz", &[]);
    assert_eq!((ready.status, ready.body.as_str()), (200, "ready\n"));

    let head = curl(addr, "/healthz", &["-I"]);
    assert_eq!((head.status, head.body.as_str()), (200, ""));

    for path in [
        "/",
        "/metrics/",
        "/healthz?x",
        "/admin",
        "/%2e%2e/etc/passwd",
    ] {
        let reply = curl(addr, path, &[]);
        let expected = if path == "/healthz?x" { 200 } else { 404 };
        assert_eq!(reply.status, expected, "{path}: {reply:?}");
    }
    let post = curl(addr, "/metrics", &["-X", "POST"]);
    assert_eq!(post.status, 405);
    assert_eq!(post.header("allow"), Some("GET, HEAD"));
    let upload = curl(addr, "/metrics", &["--data-binary", "x=1"]);
    assert_eq!(upload.status, 413);
}

#[test]
fn shutdown_stops_listening() {
    let _serial = crate::support::serial();
    let endpoint = start(&metrics(), &Readiness::new());
    let addr = endpoint.local_addr();
    assert_eq!(curl(addr, "/healthz", &[]).status, 200);
    endpoint.shutdown();
    assert!(TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err());
}

#[test]
fn a_taken_address_is_a_start_error_that_names_it() {
    let _serial = crate::support::serial();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let err = dcmrecv_metrics_http::Endpoint::start(
        dcmrecv_metrics_http::EndpointOptions::new(addr),
        metrics(),
        Readiness::new(),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("cannot listen for metrics scrapes on {addr}")
    );
}

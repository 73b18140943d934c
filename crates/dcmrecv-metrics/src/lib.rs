//! Prometheus metrics of a DICOM Storage SCP: what dcmrecv-rs exposes on `/metrics`.
//!
//! The acceptor calls a plain Rust API as associations and objects come and go; a scrape
//! encodes the current values in the Prometheus or OpenMetrics text format. This crate does no
//! I/O: `dcmrecv-metrics-http` serves it, and a program embedding the acceptor can serve
//! [`Metrics::encode`] from its own HTTP server.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use dcmrecv_metrics::{Format, Metrics, MetricsOptions, RejectReason, StoreSpace};
//!
//! let metrics = Metrics::new(
//!     MetricsOptions::new()
//!         .per_ae(true) // --metrics-per-ae
//!         .store_space(|| Some(StoreSpace::new(7 << 30).with_size(100 << 30))),
//! );
//!
//! let association = metrics.association_accepted("CT_SCANNER"); // A-ASSOCIATE-AC sent
//! association.object_stored(0x0000, 1 << 20, Duration::from_millis(12));
//! association.object_stored(0xB000, 1 << 20, Duration::from_millis(9));
//! drop(association); // A-RELEASE (or abort): no longer active
//! metrics.association_rejected("INTRUDER", RejectReason::CallingAeTitle);
//! metrics.set_hook_queue_depth(3);
//!
//! let text = metrics.encode(Format::OpenMetrics)?;
//! assert!(text.contains(r#"dcmrecv_objects_total{status="warning",calling_ae="CT_SCANNER"} 1"#));
//! // Refused titles never get a series of their own:
//! assert!(text.contains(r#"dcmrecv_associations_total{result="rejected_calling_ae",calling_ae="(other)"} 1"#));
//! assert!(text.contains("dcmrecv_output_free_bytes 7516192768\n"));
//! assert!(text.ends_with("# EOF\n"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - **The metrics** (all prefixed `dcmrecv_`):
//!
//!   | Name | Type | Labels |
//!   |---|---|---|
//!   | `associations_active` | gauge | |
//!   | `associations_total` | counter | `result`: `accepted`, `rejected_<reason>` ([`RejectReason`]), `failed` |
//!   | `objects_total` | counter | `status`: the DIMSE status class ([`StatusClass`]) |
//!   | `received_bytes_total` | counter | |
//!   | `store_seconds` | histogram | buckets 1 ms … 60 s ([`STORE_SECONDS_BUCKETS`]) |
//!   | `hook_queue_depth` | gauge | |
//!   | `hooks_running` | gauge | (with [`MetricsOptions::hooks`]) |
//!   | `hooks_total` | counter | `result`: `succeeded`, `failed`, `signalled`, `timed_out`, `spawn_failed`, `dropped`, `not_run`, `interrupted` (with [`MetricsOptions::hooks`]) |
//!   | `output_free_bytes`, `output_size_bytes` | gauge | measured at scrape time by the caller's probe |
//!
//!   Every label set is fixed, and every series exists (at zero) from the start, so a
//!   dashboard never sees a series appear out of nowhere.
//! - **Per calling AE title, on request** ([`MetricsOptions::per_ae`]): associations, objects
//!   and bytes get a `calling_ae` label. AE titles come from the network, so they are sanitised
//!   ([`sanitize_ae_title`]) and capped: the first [`MetricsOptions::ae_limit`] titles
//!   (default 64) of *accepted* associations get series, everything else is `(other)`;
//!   connections that never named one are `(none)`. The histogram has no AE label (16 buckets
//!   per title would be most of the output).
//! - **Cheap on the receive path**: counter handles are resolved once per association
//!   ([`AssociationMetrics`]); counting an object is four relaxed atomic adds, with no lock
//!   and no allocation. The store-time histogram is our own lock-free implementation of
//!   prometheus-client's `EncodeMetric` (the crate's `Histogram` locks a mutex per
//!   observation). A scrape never blocks an association: it reads the atomics, and takes a
//!   family's read lock only against the rare write of a new AE title's series.
//! - **Both text formats** ([`Format`]): OpenMetrics 1.0 when the scraper's `Accept` asks for
//!   it (Prometheus does), the Prometheus 0.0.4 text format otherwise.
//!
//! # Why prometheus-client
//!
//! It is the Prometheus organisation's own Rust client (`prometheus/client_rust`), follows the
//! OpenMetrics data model (typed label sets, units, `_total` suffixes), encodes both text
//! formats, and lets us add the lock-free histogram through its public `EncodeMetric` trait.
//! The alternative, the `metrics` facade with `metrics-exporter-prometheus`, is built around a
//! global recorder and string labels looked up per call, which suits libraries whose users
//! pick the backend; the receiver is an application with a fixed, bounded label set, so it
//! wants handles resolved once and no global state. tikv's `prometheus` crate is older and
//! releases rarely.
#![warn(missing_docs)]

mod ae_label;
mod association;
mod association_result;
mod format;
mod histogram;
mod hooks;
mod labels;
mod metrics;
mod options;
mod series;
mod status_class;
mod store_space;

pub use ae_label::{EMPTY_AE, NO_AE, OTHER_AE, sanitize_ae_title};
pub use association::AssociationMetrics;
pub use association_result::RejectReason;
pub use format::Format;
pub use histogram::STORE_SECONDS_BUCKETS;
pub use hooks::HookCounts;
pub use metrics::Metrics;
pub use options::{DEFAULT_AE_LIMIT, MetricsOptions};
pub use status_class::StatusClass;
pub use store_space::StoreSpace;

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

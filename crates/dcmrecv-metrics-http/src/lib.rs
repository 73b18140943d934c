//! The HTTP endpoint of dcmrecv-rs: `GET /metrics`, `GET /healthz` and `GET /readyz`.
//!
//! - `/metrics`: the [`dcmrecv_metrics::Metrics`] in the OpenMetrics text format when the
//!   scraper's `Accept` asks for it (Prometheus does), else the Prometheus text format.
//! - `/healthz`: 200 `ok` while the process runs (liveness).
//! - `/readyz`: 200 `ready` when every [`Condition`] of the [`Readiness`] is met, else 503 and
//!   `not ready: <condition>: <reason>` on one line.
//! - Anything else: 404; methods other than GET and HEAD: 405; a request with a body: 413.
//!
//! # Example
//!
//! ```no_run
//! use dcmrecv_metrics::{Metrics, MetricsOptions};
//! use dcmrecv_metrics_http::{Endpoint, EndpointOptions, Readiness};
//!
//! let metrics = Metrics::new(MetricsOptions::new());
//! let readiness = Readiness::new();
//! let disk = readiness.condition("output store", "not checked yet");
//! let endpoint = Endpoint::start(
//!     EndpointOptions::new("127.0.0.1:9104".parse()?),
//!     metrics.clone(),
//!     readiness.clone(),
//! )?;
//! disk.set_met();
//! // curl http://127.0.0.1:9104/readyz  →  200 ready
//! endpoint.shutdown();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - **Built on hyper 1** (HTTP/1.1 only) on a current-thread tokio runtime in a thread of its
//!   own: no hand-written HTTP parsing, and nothing that runs on or blocks the receive path.
//!   axum would add routing we do not need and hides hyper's connection limits; `tiny_http`
//!   has no header-read timeout and a thread per connection.
//! - **Robust against bad clients** ([`EndpointOptions`]): at most 32 connections at once
//!   (further ones closed on accept), request line + headers at most 8 KiB and 32 fields
//!   (431), 5 s to send the headers (slow-loris clients are cut; also the keep-alive idle
//!   limit), 30 s per connection, request bodies refused unread (413, then the connection is
//!   closed). Memory is bounded by the connection limit times hyper's buffer.
//! - **Off the hot path**: `/metrics` renders on one blocking thread, so a slow store-space
//!   probe (a hung NFS `statvfs`) delays scrapes only, never `/healthz` or reception.
//! - **No default address.** Bind loopback or a management network: the endpoint has no
//!   authentication. Binding an unspecified address (`0.0.0.0`, `[::]`) logs a warning.
#![warn(missing_docs)]

mod endpoint;
mod options;
mod readiness;
mod routes;

pub use endpoint::{Endpoint, Error};
pub use options::EndpointOptions;
pub use readiness::{Condition, Readiness};

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! Integration tests of dcmrecv-metrics through its public API: what a scrape shows.

#![allow(
    clippy::unwrap_used,
    reason = "test support code: a failed unwrap is a failed test"
)]

mod concurrency;
mod exposition;
mod per_ae;
mod support;

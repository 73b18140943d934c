//! Integration tests of dcmrecv-metrics through its public API: what a scrape shows.

mod concurrency;
mod exposition;
mod per_ae;
mod support;

//! Test harness for the end-to-end tests of dcmrecv-rs.
//!
//! The end-to-end tests drive real peers: DCMTK's `storescu`, `dcmsend`, `echoscu` and `dcmrecv`
//! (the oracle), and pynetdicom. Missing peers make a test **fail** with a message that says how
//! to install them; nothing is skipped silently.
//!
//! - [`peers`]: where the DCMTK binaries and the Python venv are, and how to call them.
//! - [`process`]: free ports, waiting for a listener, and a guard that stops a child by its PID.
//! - [`receiver`]: our built `dcmrecv` and the real one, started side by side.
//! - [`cargo`]: running cargo without the variables cargo set for us (no needless rebuilds).
//! - [`clients`]: running `storescu`, `dcmsend` and `echoscu` and reading their statuses.
//! - [`compare`]: what two receivers stored: paths, meta headers, dataset bytes, parsed datasets.
//! - [`disk`]: what a receiver left in its output directory; small tmpfs mounts to fill up or
//!   make read-only.
//! - [`corpus`]: the conformance corpus (pydicom's files plus synthesised objects).
//! - [`fuzz`]: a mutation fuzzer on stable Rust and its four targets (asconfig, DIMSE commands,
//!   the data set scanner, the acceptor fed raw PDU streams).
//! - [`load`]: many `storescu` processes at once against one receiver, every data set checked.
//! - [`loadgen`]: a fast C-STORE load generator on dicom-ul (objects in memory, many
//!   associations, optional asynchronous operations window) and a discarding SCP.
//! - [`objects`]: DICOM test objects synthesised in code (never committed).
//! - [`profiles`]: DCMTK's sample `storescp.cfg` profiles, read with our parser.
//! - [`throttle`]: a slow TCP proxy, to act while transfers are in flight.
//! - [`pki`]: a throw-away TLS PKI (CA, server and client certificates, a CRL) made with the
//!   `openssl` tool.
//! - [`raw`]: a raw-PDU client, for well-formed and malformed traffic byte by byte.
//! - [`garage`]: a three-node Garage cluster (the S3-compatible store) on 127.0.0.1, with a
//!   bucket and a key, nodes killed and restarted by PID.
//! - [`s3`]: a blocking `object_store` client for one bucket: put, get, list, multipart
//!   uploads.
//! - [`haproxy`]: the real HAProxy in `mode tcp` in front of several receivers, from the
//!   configuration shipped in `etc/haproxy/`.
//! - [`upload_rate`]: the raw upload rate to a store with `object_store` alone (the physical
//!   limit of the object-storage bench rows).
//! - [`raw`]: the raw-PDU client of `dcmrecv-testpeer`, for well-formed and malformed traffic
//!   byte by byte.

pub mod cargo;
pub mod clients;
pub mod compare;
pub mod corpus;
pub mod disk;
pub mod fuzz;
pub mod garage;
pub mod haproxy;
pub mod load;
pub mod loadgen;
pub mod objects;
pub mod peers;
pub mod pki;
pub mod process;
pub mod profiles;
pub use dcmrecv_testpeer as raw;
pub mod receiver;
pub mod s3;
pub mod throttle;
pub mod upload_rate;

/// The code blocks of the workspace README, compiled as doctests (this crate depends on every
/// library the README uses).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

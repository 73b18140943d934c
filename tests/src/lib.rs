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
//! - [`objects`]: DICOM test objects synthesised in code (never committed).
//! - [`profiles`]: DCMTK's sample `storescp.cfg` profiles, read with our parser.
//! - [`throttle`]: a slow TCP proxy, to act while transfers are in flight.
//! - [`pki`]: a throw-away TLS PKI (CA, server and client certificates, a CRL) made with the
//!   `openssl` tool.
//! - [`raw`]: the raw-PDU client of `dcmrecv-testpeer`, for well-formed and malformed traffic
//!   byte by byte.

pub mod cargo;
pub mod clients;
pub mod compare;
pub mod corpus;
pub mod disk;
pub mod fuzz;
pub mod load;
pub mod objects;
pub mod peers;
pub mod pki;
pub mod process;
pub mod profiles;
pub use dcmrecv_testpeer as raw;
pub mod receiver;
pub mod throttle;

/// The code blocks of the workspace README, compiled as doctests (this crate depends on every
/// library the README uses).
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

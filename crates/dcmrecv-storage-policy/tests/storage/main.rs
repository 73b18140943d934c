//! Integration tests of the storage policy through its public API only. Hermetic: no network, no
//! DCMTK; the disk-full and read-only tests mount a small tmpfs and therefore need root (CI runs as
//! root), and fail with a message saying so otherwise.

// Helpers outside #[test] functions panic on purpose when a fixture cannot be set up.
#![allow(clippy::unwrap_used)]

mod atomicity;
mod layout;
mod modes;
mod naming;
#[cfg(feature = "object-store")]
mod objects;
mod operations;
mod resources;
mod support;

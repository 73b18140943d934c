//! End-to-end tests with real DCMTK and pynetdicom peers, one module per scenario.

mod scp;
mod tls;

//! End-to-end tests with real DCMTK and pynetdicom peers, one module per scenario.

mod cli_exit_codes;
mod cli_logging;
mod extensions;
mod scp;
mod signals;
mod storage_vs_dcmtk;
mod tls;

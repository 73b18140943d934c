//! End-to-end tests with real DCMTK and pynetdicom peers, one module per scenario.

mod cli_exit_codes;
mod cli_logging;
mod extensions;
mod faults;
mod fuzz;
mod hardening_scp;
mod hardening_storage;
mod hooks;
mod hooks_ours;
mod limits;
mod load;
mod malformed;
mod object_store;
mod object_store_balancer;
mod object_store_harness;
mod operations;
mod scp;
mod signals;
mod storage_vs_dcmtk;
mod support;
mod tls;

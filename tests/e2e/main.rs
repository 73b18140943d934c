//! End-to-end tests with real DCMTK and pynetdicom peers, one module per scenario.

mod faults;
mod fuzz;
mod limits;
mod load;
mod malformed;
mod scp;
mod support;

//! Integration tests of `dcmrecv-asconfig` through its public API.
//!
//! - `dcmtk_files`: Debian's `/etc/dcmtk/storescp.cfg` and `storescu.cfg`.
//! - `oracle`: the same files fed to our parser and to the real `/usr/bin/dcmrecv`.
//! - `etc_profiles`: the profiles we ship in `etc/`, their coverage, and DCMTK accepting them.
//! - `robustness`: property tests: no panic on arbitrary bytes or on mutated valid files.

#![allow(
    clippy::unwrap_used,
    reason = "test helpers fail loudly on unexpected errors, like the tests they serve"
)]

mod dcmtk_files;
mod etc_profiles;
mod oracle;
mod robustness;
mod support;

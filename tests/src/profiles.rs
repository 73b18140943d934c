//! Negotiation profiles for tests: DCMTK's own sample configuration, read with our parser.

use dcmrecv_asconfig::{AsconfigFile, Profile};

use crate::peers::DCMTK_HINT;

/// DCMTK's sample SCP configuration, installed by Debian's `dcmtk` package.
pub const STORESCP_CFG: &str = "/etc/dcmtk/storescp.cfg";

/// The SCP profile `profile` (e.g. `Default`, `AllDICOM`) of `/etc/dcmtk/storescp.cfg`. Panics
/// with an install hint when the file is missing.
pub fn storescp_cfg(profile: &str) -> Profile {
    assert!(
        std::path::Path::new(STORESCP_CFG).is_file(),
        "{STORESCP_CFG} not found: {DCMTK_HINT}"
    );
    AsconfigFile::open(STORESCP_CFG)
        .and_then(|file| file.scp_profile(profile))
        .unwrap_or_else(|e| panic!("{e}"))
}

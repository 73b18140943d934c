//! Parser for DCMTK association negotiation profiles ("asconfig" files, as read by `dcmrecv -xf`).
//!
//! (Work in progress: the parser lands with issue 2.)

mod profile;

pub use profile::{ExtendedNegotiation, PresentationContext, Profile, Role, RoleSelection};

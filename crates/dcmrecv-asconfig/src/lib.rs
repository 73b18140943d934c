//! Parser for DCMTK association negotiation profiles ("asconfig" files, as read by
//! `dcmrecv -xf <file> <profile>`), into a plain [`Profile`] model.
//!
//! The parser follows DCMTK 3.6.7 (`OFConfigFile` + `DcmAssociationConfigurationFile`, see
//! DCMTK's `dcmnet/docs/asconfig.txt`) byte for byte: a file DCMTK accepts is accepted with the
//! same meaning, and a file DCMTK rejects is rejected with DCMTK's reason text, so a program built
//! on this crate can print DCMTK's log lines.
//!
//! ```
//! use dcmrecv_asconfig::AsconfigFile;
//!
//! let text = br"
//! [[TransferSyntaxes]]
//! [Uncompressed]
//! TransferSyntax1 = LittleEndianExplicit
//! TransferSyntax2 = LittleEndianImplicit
//!
//! [[PresentationContexts]]
//! [Storage]
//! PresentationContext1 = VerificationSOPClass\Uncompressed
//! PresentationContext2 = CTImageStorage\Uncompressed
//!
//! [[Profiles]]
//! [My Profile]
//! PresentationContexts = Storage
//! ";
//! let file = AsconfigFile::parse(text, "example.cfg")?;
//! assert_eq!(file.profile_names().collect::<Vec<_>>(), ["MYPROFILE"]);
//!
//! // Names are looked up as DCMTK does: whitespace removed, upper-cased.
//! let profile = file.scp_profile("my profile")?;
//! assert_eq!(profile.name(), "MYPROFILE");
//! let contexts = profile.presentation_contexts();
//! assert_eq!(contexts.len(), 2);
//! assert_eq!(contexts[1].abstract_syntax, "1.2.840.10008.5.1.4.1.1.2");
//! assert_eq!(contexts[1].transfer_syntaxes, ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2"]);
//!
//! // Errors carry DCMTK's text and say where the problem is.
//! let err = AsconfigFile::parse(b"[[TransferSyntaxes]]\n[X]\nTransferSyntax1 = Nope\n", "bad.cfg")
//!     .unwrap_err();
//! assert_eq!(err.dcmtk_reason(), "not a valid transfer syntax UID: Nope");
//! assert_eq!(err.line(), Some(3));
//! assert_eq!(
//!     err.to_string(),
//!     "bad.cfg:3: not a valid transfer syntax UID: Nope (key TRANSFERSYNTAX1 in [[TRANSFERSYNTAXES]] [X])"
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - All five supersections: `[[TransferSyntaxes]]`, `[[PresentationContexts]]`, `[[Profiles]]`,
//!   and the optional `[[SCPSCURoleSelection]]` and `[[ExtendedNegotiation]]`.
//! - DCMTK's lexical rules: byte oriented, NUL → space, CR / LF / CRLF line ends, `#` comments in
//!   column 1 only, keyword mangling (upper case, only `A-Z 0-9 - _` kept), continuation lines,
//!   trailing blanks kept in values, first duplicate key wins, only the first of duplicate
//!   supersections is read, duplicate list sections are concatenated, numbered keys from 1 without
//!   leading zeros stopping at the first gap.
//! - DCMTK's symbolic UID names (its own table, [`uid_for_name`] / [`name_for_uid`]), an optional
//!   leading `=`, and `LocalEndianExplicit` / `OppositeEndianExplicit` for this machine's byte order.
//! - Every load-time check of DCMTK 3.6.7, in its order, with its reason text
//!   ([`Error::dcmtk_reason`], [`ParseReason`]), including the 128-contexts limit per list.
//! - Profile selection as DCMTK does it, including its name-mangling mismatch: `[my.profile]` is
//!   stored as `MYPROFILE` and found as `myprofile`, not as `my.profile`.
//! - The SCP validity check (no abstract syntax twice in the selected profile) in
//!   [`AsconfigFile::scp_profile`] and [`load_scp_profile`].
//! - Never panics, whatever the input; no I/O beyond reading the one file, no networking, no
//!   DICOM library.
//!
//! # Where this crate differs from DCMTK's documentation
//!
//! It follows DCMTK's code, not its prose. For instance, extended negotiation data of exactly
//! 1024 bytes is rejected (DCMTK 3.6.7 rejects 2048 hex digits or more although its message says
//! "> 1024 bytes"), and an error in extended negotiation consistency is reported with DCMTK's
//! text, which says "role selection list".

mod error;
mod file;
mod lexer;
mod profile;
mod uid;
mod uid_names;

pub use error::{Error, Location, ParseReason};
pub use file::{AsconfigFile, load_scp_profile};
pub use profile::{
    ExtendedNegotiation, PresentationContext, Profile, Role, RoleSelection,
    TransferSyntaxPreference,
};
pub use uid::{name_for_uid, uid_for_name};

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

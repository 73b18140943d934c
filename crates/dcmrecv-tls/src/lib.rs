//! DCMTK's TLS options for Rust DICOM tools, on rustls (ring provider, no OpenSSL): the rows of
//! DCMTK's `DcmTLSOptions` for a [`dcmrecv_cmdline`] option table, their evaluation with
//! DCMTK's checks and messages ([`TlsSettings::from_args`]), and the transport layer: a rustls
//! [`ServerConfig`](rustls::ServerConfig) built from them ([`server_config`]) in DCMTK's order,
//! with DCMTK's fatal messages ([`Error::dcmtk_message`]).
//!
//! What maps: `+tls KEY CERT` (PEM or DER, `-pem`/`-der`; PKCS#8, PKCS#1, SEC1 and
//! password-protected PKCS#8 keys with `+ps`/`+pw`/`-pw`), trusted CAs (`+cf`, `+cd`, read file
//! by file), CRLs (`+crl`, `+crv`, `+cra`), peer authentication (`-rc`, `-vc`, `-ic`), the BCP 195
//! profiles (`+py`, `+px`, `+pz`) as TLS 1.2 and 1.3 with their AEAD suites, `+cs` additions and
//! `+cc`. What rustls cannot do (`+pa`, `+pn`, `+dp`, `+rs`, `+ws`, `+wf`) is refused with a
//! reason instead of being ignored.
//!
//! # Example
//!
//! ```
//! use dcmrecv_cmdline::{CommandLine, Layout};
//! use dcmrecv_tls::{TlsProfile, TlsSettings};
//!
//! const TOOL: CommandLine = CommandLine::new("tool", "tool 1.0", "A DICOM TLS server")
//!     .layout(&[Layout::Include(dcmrecv_tls::HELP_LAYOUT)]);
//!
//! let args = TOOL.parse(["tool", "+tls", "k.pem", "c.pem", "+pz", "+py"].map(Into::into))?;
//! let settings = TlsSettings::from_args(&args.unwrap())?;
//! assert_eq!(settings.profile, TlsProfile::Bcp195NonDowngrading); // rightmost wins
//! if let Some(identity) = &settings.identity {
//!     // Reads the files; exit code 71 in DCMTK when it fails.
//!     let config = dcmrecv_tls::server_config(&settings, identity, &mut || Ok("secret".into()));
//!     assert!(config.is_err()); // no such files here
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - [`TlsOpt`], [`HELP_LAYOUT`]: the options' rows and DCMTK's help group.
//! - [`TlsSettings`] and its parts ([`TlsIdentity`], [`KeyPassword`], [`KeyFormat`],
//!   [`CrlMode`], [`TlsProfile`], [`PeerCertificate`]): the options as plain values;
//!   [`OptionError`] for DCMTK's command-line checks.
//! - [`server_config`], [`Error`], [`KeyFileError`]: the rustls configuration; a key or
//!   certificate that cannot be used is an error, a CA or CRL file only a warning (as in DCMTK).
//! - [`cipher_list_text`]: the `+cc` list.
//!
//! The crate logs through `tracing` (DCMTK's warnings, the configuration at DEBUG) and never
//! prints; a password prompt is the caller's closure.

mod keys;
mod options;
mod settings;
mod suites;
mod transport;
mod verifier;

pub use keys::Error as KeyFileError;
pub use options::{HELP_LAYOUT, TlsOpt};
pub use settings::{
    CrlMode, KeyFormat, KeyPassword, OptionError, PeerCertificate, TlsIdentity, TlsProfile,
    TlsSettings, WriteSeed,
};
pub use suites::cipher_list_text;
pub use transport::{Error, server_config};

/// The TLS implementation, for a program's `--version` and `+cc` texts.
pub const LIBRARY: &str = "rustls 0.23 with the ring crypto provider (no OpenSSL)";

/// The code blocks of the README, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

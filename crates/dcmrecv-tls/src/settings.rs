//! The TLS options, evaluated as DCMTK 3.6.7's `DcmTLSOptions::parseArguments` does.
//!
//! The order of the checks is DCMTK's (measured: it decides which error a command line with
//! several TLS options shows): `-tls`/`+tls`; the password block; the key format block; `+dp`;
//! `+rs`; `+ws`/`+wf`; the peer certificate block (`-rc`, `-ic`, `-vc`); the profile block (`+px`,
//! `+py`, `+pz`, `+pa`, `+pn`); `+cf`; `+cd`; `+crl`; `+crv`; `+cra`; `+cs`. `+cf`, `+cd`, `+crl`
//! and `+cs` accumulate; the blocks are rightmost-wins.
//!
//! After DCMTK's checks come ours: the options rustls cannot honour (`+pa`, `+pn`, `+dp`, `+rs`;
//! `+ws` and `+wf` need `+rs`) are refused with a message that says why, instead of being
//! silently ignored. The files named by the options are read later, when the transport layer is
//! created ([`crate::server_config`], DCMTK's exit code 71).

use std::path::PathBuf;

use dcmrecv_cmdline::{Arguments, OptionId};
use snafu::Snafu;

use crate::options::TlsOpt;

/// A TLS option that is not acceptable (DCMTK's exit code 1, not printed under `-q`). The
/// messages are DCMTK's, word for word, where DCMTK has the error.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum OptionError {
    /// A TLS option without `+tls`.
    #[snafu(display("{option} only allowed with --enable-tls"))]
    TlsOptionWithoutTls {
        /// The option as DCMTK names it (`+pa` is `--profile-basic` in this message).
        option: &'static str,
    },
    /// `+ws`/`+wf` without `+rs`.
    #[snafu(display("{option} only allowed with --seed"))]
    WriteSeedWithoutSeed {
        /// The option's long spelling.
        option: &'static str,
    },
    /// `+cs` with `+pz`.
    #[snafu(display("--cipher not allowed with --profile-bcp195-ex"))]
    CipherWithBcp195Extended,
    /// A TLS option that rustls cannot honour (not in DCMTK: it accepts them).
    #[snafu(display("{option} is not supported by dcmrecv-rs ({reason})"))]
    UnsupportedTlsOption {
        /// The option's long spelling.
        option: &'static str,
        /// Why rustls cannot do it.
        reason: &'static str,
    },
}

/// `+tls KEY CERT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsIdentity {
    /// The private key file.
    pub private_key: PathBuf,
    /// The certificate file.
    pub certificate: PathBuf,
}

/// Where the private key's password comes from. `Debug` does not show the password (the
/// configuration is logged at DEBUG and printed by `--print-config`).
#[derive(Clone, PartialEq, Eq, Default)]
pub enum KeyPassword {
    /// `+ps` (default): prompt on stdin.
    #[default]
    Prompt,
    /// `+pw PASSWORD`.
    Given(String),
    /// `-pw`: the empty password.
    Empty,
}

impl std::fmt::Debug for KeyPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyPassword::Prompt => f.write_str("Prompt"),
            KeyPassword::Given(_) => f.write_str("Given(<hidden>)"),
            KeyPassword::Empty => f.write_str("Empty"),
        }
    }
}

/// The format of key and certificate files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyFormat {
    /// `-pem` (default).
    #[default]
    Pem,
    /// `-der`.
    Der,
}

/// Certificate revocation list checking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CrlMode {
    /// No CRL checks (default).
    #[default]
    None,
    /// `+crv`, or implied by `+crl`: the leaf certificate.
    Leaf,
    /// `+cra`: the whole chain.
    All,
}

/// The TLS security profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TlsProfile {
    /// `+py` (default): non-downgrading BCP 195.
    #[default]
    Bcp195NonDowngrading,
    /// `+px`: BCP 195.
    Bcp195,
    /// `+pz`: extended BCP 195.
    Bcp195Extended,
    /// `+pa`: AES (retired).
    Aes,
    /// `+pn`: authenticated, unencrypted (retired).
    Null,
}

/// Writing back the random seed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum WriteSeed {
    /// Default: do not write it.
    #[default]
    No,
    /// `+ws`: to the `+rs` file.
    ToSeedFile,
    /// `+wf FILE`.
    To(PathBuf),
}

/// Verification of the peer's certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PeerCertificate {
    /// `-rc` (default): required and verified.
    #[default]
    Require,
    /// `-vc`: verified if present.
    Verify,
    /// `-ic`: not verified.
    Ignore,
}

/// All TLS options, as plain values; `Default` is DCMTK's default (TLS off).
///
/// ```
/// use dcmrecv_tls::{PeerCertificate, TlsSettings};
///
/// const TOOL: dcmrecv_cmdline::CommandLine =
///     dcmrecv_cmdline::CommandLine::new("tool", "tool 1.0", "A tool")
///         .layout(dcmrecv_tls::HELP_LAYOUT);
/// let args = TOOL.parse(["tool", "+tls", "key.pem", "cert.pem", "-vc"].map(Into::into))?;
/// let settings = TlsSettings::from_args(&args.unwrap())?;
/// assert!(settings.identity.is_some());
/// assert_eq!(settings.peer_certificate, PeerCertificate::Verify);
///
/// let args = TOOL.parse(["tool", "+cf", "ca.pem"].map(Into::into))?;
/// let err = TlsSettings::from_args(&args.unwrap()).unwrap_err();
/// assert_eq!(err.to_string(), "--add-cert-file only allowed with --enable-tls");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct TlsSettings {
    /// `Some` with `+tls` (TLS on), `None` with `-tls` (default).
    pub identity: Option<TlsIdentity>,
    /// `+ps`/`+pw`/`-pw`.
    pub key_password: KeyPassword,
    /// `-pem`/`-der`.
    pub key_format: KeyFormat,
    /// `+cf`, in command-line order.
    pub certificate_files: Vec<PathBuf>,
    /// `+cd`, in command-line order.
    pub certificate_dirs: Vec<PathBuf>,
    /// `+crl`, in command-line order.
    pub crl_files: Vec<PathBuf>,
    /// `+crv`/`+cra`/`+crl`.
    pub crl_mode: CrlMode,
    /// `+py`/`+px`/`+pz`/`+pa`/`+pn`.
    pub profile: TlsProfile,
    /// `+cs`, in command-line order.
    pub ciphersuites: Vec<String>,
    /// `+dp`.
    pub dh_parameters: Option<PathBuf>,
    /// `+rs`.
    pub seed: Option<PathBuf>,
    /// `+ws`/`+wf`.
    pub write_seed: WriteSeed,
    /// `-rc`/`-vc`/`-ic`.
    pub peer_certificate: PeerCertificate,
}

/// How DCMTK names an option in its "only allowed with --enable-tls" message.
fn dcmtk_name(opt: TlsOpt) -> &'static str {
    match opt {
        // DCMTK 3.6.7's check for `--profile-aes` still says `--profile-basic` (a DCMTK slip,
        // reproduced so the message matches).
        TlsOpt::ProfileAes => "--profile-basic",
        other => other.long(),
    }
}

impl TlsSettings {
    /// Evaluates the TLS options in DCMTK's order (`DcmTLSOptions::parseArguments`), then
    /// refuses what rustls cannot do. The arguments must come from a table that includes
    /// [`HELP_LAYOUT`](crate::HELP_LAYOUT).
    pub fn from_args(args: &Arguments) -> Result<TlsSettings, OptionError> {
        let tls = dcmtk_checks(args)?;
        unsupported(&tls)?;
        Ok(tls)
    }
}

/// Evaluates the TLS options as DCMTK does.
fn dcmtk_checks(args: &Arguments) -> Result<TlsSettings, OptionError> {
    let mut tls = TlsSettings::default();
    if let Some(o) = args.winner(&[TlsOpt::DisableTls, TlsOpt::EnableTls]) {
        if o.is(TlsOpt::EnableTls) {
            tls.identity = Some(TlsIdentity {
                private_key: PathBuf::from(o.value(0)),
                certificate: PathBuf::from(o.value(1)),
            });
        }
    }
    let enabled = tls.identity.is_some();
    let require = |opt: TlsOpt| {
        if enabled {
            Ok(())
        } else {
            Err(OptionError::TlsOptionWithoutTls {
                option: dcmtk_name(opt),
            })
        }
    };

    // Each block's members are checked in DCMTK's order; the first present one without `+tls`
    // decides the message, and the rightmost one decides the value.
    let mut block = args.block();
    for opt in [TlsOpt::StdPasswd, TlsOpt::UsePasswd, TlsOpt::NullPasswd] {
        if let Some(o) = block.find(opt) {
            require(opt)?;
            tls.key_password = match opt {
                TlsOpt::UsePasswd => KeyPassword::Given(o.text(0).into_owned()),
                TlsOpt::NullPasswd => KeyPassword::Empty,
                _ => KeyPassword::Prompt,
            };
        }
    }
    let mut block = args.block();
    for (opt, format) in [
        (TlsOpt::PemKeys, KeyFormat::Pem),
        (TlsOpt::DerKeys, KeyFormat::Der),
    ] {
        if block.find(opt).is_some() {
            require(opt)?;
            tls.key_format = format;
        }
    }
    if let Some(o) = args.last(TlsOpt::DhParam) {
        require(TlsOpt::DhParam)?;
        tls.dh_parameters = Some(PathBuf::from(o.value(0)));
    }
    if let Some(o) = args.last(TlsOpt::Seed) {
        require(TlsOpt::Seed)?;
        tls.seed = Some(PathBuf::from(o.value(0)));
    }
    let mut block = args.block();
    for opt in [TlsOpt::WriteSeed, TlsOpt::WriteSeedFile] {
        if let Some(o) = block.find(opt) {
            require(opt)?;
            if tls.seed.is_none() {
                return Err(OptionError::WriteSeedWithoutSeed { option: opt.long() });
            }
            tls.write_seed = if opt == TlsOpt::WriteSeed {
                WriteSeed::ToSeedFile
            } else {
                WriteSeed::To(PathBuf::from(o.value(0)))
            };
        }
    }
    let mut block = args.block();
    for (opt, check) in [
        (TlsOpt::RequirePeerCert, PeerCertificate::Require),
        (TlsOpt::IgnorePeerCert, PeerCertificate::Ignore),
        (TlsOpt::VerifyPeerCert, PeerCertificate::Verify),
    ] {
        if block.find(opt).is_some() {
            require(opt)?;
            tls.peer_certificate = check;
        }
    }
    let mut block = args.block();
    for (opt, profile) in [
        (TlsOpt::ProfileBcp195, TlsProfile::Bcp195),
        (TlsOpt::ProfileBcp195Nd, TlsProfile::Bcp195NonDowngrading),
        (TlsOpt::ProfileBcp195Ex, TlsProfile::Bcp195Extended),
        (TlsOpt::ProfileAes, TlsProfile::Aes),
        (TlsOpt::ProfileNull, TlsProfile::Null),
    ] {
        if block.find(opt).is_some() {
            require(opt)?;
            tls.profile = profile;
        }
    }
    for (opt, list) in [
        (TlsOpt::AddCertFile, &mut tls.certificate_files),
        (TlsOpt::AddCertDir, &mut tls.certificate_dirs),
        (TlsOpt::AddCrlFile, &mut tls.crl_files),
    ] {
        for o in args.all(opt) {
            require(opt)?;
            list.push(PathBuf::from(o.value(0)));
        }
    }
    if !tls.crl_files.is_empty() {
        tls.crl_mode = CrlMode::Leaf;
    }
    if args.has(TlsOpt::EnableCrlVfy) {
        require(TlsOpt::EnableCrlVfy)?;
        tls.crl_mode = CrlMode::Leaf;
    }
    if args.has(TlsOpt::EnableCrlAll) {
        require(TlsOpt::EnableCrlAll)?;
        tls.crl_mode = CrlMode::All;
    }
    if args.has(TlsOpt::Cipher) {
        if tls.profile == TlsProfile::Bcp195Extended {
            return Err(OptionError::CipherWithBcp195Extended);
        }
        for o in args.all(TlsOpt::Cipher) {
            require(TlsOpt::Cipher)?;
            tls.ciphersuites.push(o.text(0).into_owned());
        }
    }
    Ok(tls)
}

/// Refuses what rustls cannot do (DCMTK accepts these options).
fn unsupported(tls: &TlsSettings) -> Result<(), OptionError> {
    let refuse = |option, reason| Err(OptionError::UnsupportedTlsOption { option, reason });
    match tls.profile {
        TlsProfile::Aes => {
            return refuse(
                "--profile-aes",
                "rustls implements neither TLS_RSA_WITH_AES_128_CBC_SHA nor TLS 1.0/1.1; \
                 use --profile-bcp195-nd",
            );
        }
        TlsProfile::Null => {
            return refuse(
                "--profile-null",
                "rustls has no unencrypted cipher suites; use --profile-bcp195-nd",
            );
        }
        _ => {}
    }
    if tls.dh_parameters.is_some() {
        return refuse(
            "--dhparam",
            "rustls has no finite-field Diffie-Hellman key exchange; its ECDHE suites need no \
             parameters",
        );
    }
    if tls.seed.is_some() {
        return refuse(
            "--seed",
            "rustls takes its randomness from the operating system and has no seed file",
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::ffi::OsString;

    use super::*;

    const TOOL: dcmrecv_cmdline::CommandLine =
        dcmrecv_cmdline::CommandLine::new("dcmrecv", "test", "test").layout(crate::HELP_LAYOUT);

    fn low(args: &[&str]) -> Arguments {
        let all = std::iter::once("dcmrecv").chain(args.iter().copied());
        TOOL.parse(all.chain(["104"]).map(OsString::from))
            .unwrap()
            .unwrap()
    }

    /// DCMTK's evaluation only.
    fn tls(args: &[&str]) -> Result<TlsSettings, String> {
        dcmtk_checks(&low(args)).map_err(|e| e.to_string())
    }

    /// DCMTK's evaluation, then ours.
    fn ours(args: &[&str]) -> Result<TlsSettings, String> {
        TlsSettings::from_args(&low(args)).map_err(|e| e.to_string())
    }

    #[test]
    fn what_rustls_cannot_do_is_refused_after_dcmtks_checks() {
        for (args, message) in [
            (
                &["+tls", "k", "c", "+pa"][..],
                "--profile-aes is not supported by dcmrecv-rs (rustls implements neither \
                 TLS_RSA_WITH_AES_128_CBC_SHA nor TLS 1.0/1.1; use --profile-bcp195-nd)",
            ),
            (
                &["+tls", "k", "c", "+pn"],
                "--profile-null is not supported by dcmrecv-rs (rustls has no unencrypted \
                 cipher suites; use --profile-bcp195-nd)",
            ),
            (
                &["+tls", "k", "c", "+dp", "dh.pem"],
                "--dhparam is not supported by dcmrecv-rs (rustls has no finite-field \
                 Diffie-Hellman key exchange; its ECDHE suites need no parameters)",
            ),
            (
                &["+tls", "k", "c", "+rs", "seed", "+ws"],
                "--seed is not supported by dcmrecv-rs (rustls takes its randomness from the \
                 operating system and has no seed file)",
            ),
        ] {
            assert_eq!(ours(args).unwrap_err(), message, "{args:?}");
        }
        // DCMTK's own errors come first.
        assert_eq!(
            ours(&["+pn"]).unwrap_err(),
            "--profile-null only allowed with --enable-tls"
        );
        assert_eq!(
            ours(&["+tls", "k", "c", "+ws", "+dp", "x"]).unwrap_err(),
            "--write-seed only allowed with --seed"
        );
        // The rest is accepted, the rightmost profile winning.
        let t = ours(&[
            "+tls", "k", "c", "+pa", "+px", "+crl", "r", "+cra", "-ic", "+cs", "x",
        ])
        .unwrap();
        assert_eq!(t.profile, TlsProfile::Bcp195);
        assert_eq!(t.crl_mode, CrlMode::All);
        assert_eq!(t.peer_certificate, PeerCertificate::Ignore);
    }

    /// The first check DCMTK fails when TLS is off, for each option, found by removing the
    /// reported option from a command line with all of them (measured with DCMTK 3.6.7).
    #[test]
    fn without_tls_the_first_option_in_dcmtk_order_is_reported() {
        let mut remaining: Vec<Vec<&str>> = [
            "+ps", "+pw x", "-pw", "-pem", "-der", "+cf x", "+cd x", "+crl x", "+crv", "+cra",
            "+py", "+px", "+pz", "+pa", "+pn", "+cs x", "+dp x", "+rs x", "+ws", "+wf x", "-rc",
            "-vc", "-ic",
        ]
        .iter()
        .map(|a| a.split(' ').collect())
        .collect();
        let mut reported = Vec::new();
        while !remaining.is_empty() {
            let args: Vec<&str> = remaining.iter().flatten().copied().collect();
            let message = tls(&args).unwrap_err();
            let option = message.split(' ').next().unwrap().to_owned();
            let spelled = if option == "--profile-basic" {
                "--profile-aes"
            } else {
                &option
            };
            let index = remaining
                .iter()
                .position(|a| TlsOpt::from_spelling(a[0]).unwrap().long() == spelled)
                .unwrap();
            remaining.remove(index);
            assert!(
                message.ends_with(" only allowed with --enable-tls"),
                "{message}"
            );
            reported.push(option);
        }
        assert_eq!(
            reported,
            [
                "--std-passwd",
                "--use-passwd",
                "--null-passwd",
                "--pem-keys",
                "--der-keys",
                "--dhparam",
                "--seed",
                "--write-seed",
                "--write-seed-file",
                "--require-peer-cert",
                "--ignore-peer-cert",
                "--verify-peer-cert",
                "--profile-bcp195",
                "--profile-bcp195-nd",
                "--profile-bcp195-ex",
                "--profile-basic",
                "--profile-null",
                "--add-cert-file",
                "--add-cert-dir",
                "--add-crl-file",
                "--enable-crl-vfy",
                "--enable-crl-all",
                "--cipher",
            ]
        );
    }

    #[test]
    fn with_tls_the_options_mean_what_dcmtk_says() {
        let t = tls(&[
            "+tls", "key.pem", "cert.pem", "+pw", "secret", "-der", "+cf", "a", "+cf", "b", "+cd",
            "d", "+crl", "r", "+px", "+py", "+cs", "c1", "+cs", "c2", "+dp", "dh", "+rs", "seed",
            "+wf", "out", "-vc",
        ])
        .unwrap();
        assert_eq!(
            t.identity,
            Some(TlsIdentity {
                private_key: "key.pem".into(),
                certificate: "cert.pem".into()
            })
        );
        assert_eq!(t.key_password, KeyPassword::Given("secret".into()));
        assert_eq!(format!("{:?}", t.key_password), "Given(<hidden>)");
        assert_eq!(t.key_format, KeyFormat::Der);
        assert_eq!(
            t.certificate_files,
            [PathBuf::from("a"), PathBuf::from("b")]
        );
        assert_eq!(t.certificate_dirs, [PathBuf::from("d")]);
        assert_eq!(t.crl_files, [PathBuf::from("r")]);
        assert_eq!(t.crl_mode, CrlMode::Leaf);
        assert_eq!(t.profile, TlsProfile::Bcp195NonDowngrading);
        assert_eq!(t.ciphersuites, ["c1", "c2"]);
        assert_eq!(t.dh_parameters, Some(PathBuf::from("dh")));
        assert_eq!(t.write_seed, WriteSeed::To("out".into()));
        assert_eq!(t.peer_certificate, PeerCertificate::Verify);
        assert_eq!(
            tls(&["+tls", "k", "c", "+cra"]).unwrap().crl_mode,
            CrlMode::All
        );
        assert_eq!(tls(&["+tls", "k", "c", "-tls"]).unwrap().identity, None);
    }

    #[test]
    fn with_tls_dcmtks_conflicts_remain() {
        assert_eq!(
            tls(&["+tls", "k", "c", "+ws"]).unwrap_err(),
            "--write-seed only allowed with --seed"
        );
        assert_eq!(
            tls(&["+tls", "k", "c", "+wf", "f"]).unwrap_err(),
            "--write-seed-file only allowed with --seed"
        );
        assert_eq!(
            tls(&["+tls", "k", "c", "+cs", "x", "+pz"]).unwrap_err(),
            "--cipher not allowed with --profile-bcp195-ex"
        );
        assert!(tls(&["+tls", "k", "c", "+pz", "+py", "+cs", "x"]).is_ok());
        assert_eq!(
            tls(&["+tls", "k", "c", "-tls", "+ps"]).unwrap_err(),
            "--std-passwd only allowed with --enable-tls"
        );
    }
}

//! The TLS transport layer (DCMTK's `DcmTLSOptions::createTransportLayer`): the TLS options
//! turned into a rustls [`ServerConfig`] for an acceptor.
//!
//! The steps run in DCMTK's order, which decides what a command line with several problems
//! reports (measured with DCMTK 3.6.7): trusted CA certificates (`+cf`, `+cd`; a file that cannot
//! be loaded is only a warning), CRLs (`+crl`, also only a warning), the private key (asking for
//! its password if it is encrypted and `+ps` is in effect), the certificate, whether they
//! match, and finally the cipher suites (`+cs`). A failure is fatal to the process (exit code
//! 71); [`Error::dcmtk_message`] is DCMTK's `F:` line for it.
//!
//! What rustls cannot do is refused earlier, with the command line
//! ([`TlsSettings::from_args`]): `+pa`, `+pn`, `+dp`, `+rs`, `+ws`, `+wf`.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer};
use rustls::server::VerifierBuilderError;
use rustls::sign::CertifiedKey;
use rustls::{InconsistentKeys, RootCertStore, ServerConfig};
use snafu::{ResultExt, Snafu};
use tracing::{debug, error, warn};

use crate::settings::{KeyFormat, KeyPassword, TlsIdentity, TlsProfile, TlsSettings};
use crate::{keys, suites, verifier};

/// Why the TLS transport layer cannot be created (DCMTK's exit code 71).
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum Error {
    /// The private key file cannot be read, decrypted or parsed.
    #[snafu(display("cannot load the TLS private key"))]
    LoadKey {
        /// The key file (`+tls KEY CERT`).
        path: PathBuf,
        /// What went wrong.
        source: keys::Error,
    },
    /// The private key is of a kind rustls cannot sign with.
    #[snafu(display(
        "private key {} cannot be used ({error}); rustls supports RSA, ECDSA (P-256, P-384) and \
         Ed25519 keys",
        path.display()
    ))]
    UnusableKey {
        /// The key file.
        path: PathBuf,
        /// rustls's reason.
        error: rustls::Error,
    },
    /// The certificate file cannot be read or parsed.
    #[snafu(display("cannot load the TLS certificate"))]
    LoadCertificate {
        /// The certificate file (`+tls KEY CERT`).
        path: PathBuf,
        /// What went wrong.
        source: keys::Error,
    },
    /// The certificate cannot be used with the key.
    #[snafu(display("certificate {} cannot be used ({error})", path.display()))]
    UnusableCertificate {
        /// The certificate file.
        path: PathBuf,
        /// rustls's reason.
        error: rustls::Error,
    },
    /// The certificate is not the key's.
    #[snafu(display(
        "the public key of certificate {} is not that of private key {}",
        certificate.display(),
        key.display()
    ))]
    KeyCertificateMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        certificate: PathBuf,
    },
    /// A `+cs` name that is no cipher suite.
    #[snafu(display("ciphersuite '{name}' is unknown"))]
    UnknownCipherSuite {
        /// The name given.
        name: String,
    },
    /// A `+cs` suite that DCMTK knows but rustls does not implement.
    #[snafu(display(
        "ciphersuite '{name}' is not supported by rustls, which dcmrecv-rs uses for TLS \
         (--list-ciphers shows the supported ones)"
    ))]
    CipherSuiteNotInRustls {
        /// The name given.
        name: String,
    },
    /// rustls refused the configuration.
    #[snafu(display("rustls refused the TLS configuration ({error})"))]
    Configure {
        /// rustls's reason.
        error: rustls::Error,
    },
    /// The client certificate verifier cannot be built.
    #[snafu(display("cannot set up client certificate verification ({error:?})"))]
    Verifier {
        /// rustls's reason.
        error: VerifierBuilderError,
    },
}

impl Error {
    /// This error and its causes on one line, joined by `: ` (our `E:` line).
    pub fn details(&self) -> String {
        one_line(self)
    }

    /// DCMTK's fatal message for this failure (its `OFCondition` code and text), printed as
    /// `F: <message>` after our `E:` line with the details.
    pub fn dcmtk_message(&self) -> String {
        match self {
            Error::LoadKey { path, .. } | Error::UnusableKey { path, .. } => format!(
                "000b:0004 Unable to load private TLS key from '{}'",
                path.display()
            ),
            // DCMTK 3.6.7 reports an unreadable certificate as a mismatch (below); this line
            // is ours.
            Error::LoadCertificate { path, .. } | Error::UnusableCertificate { path, .. } => {
                format!("Unable to load TLS certificate from '{}'", path.display())
            }
            Error::KeyCertificateMismatch { key, certificate } => format!(
                "000b:0006 Private key '{}' and certificate '{}' do not match",
                key.display(),
                certificate.display()
            ),
            Error::UnknownCipherSuite { .. } | Error::CipherSuiteNotInRustls { .. } => {
                "0001:0007 Illegal call, perhaps wrong parameters".to_string()
            }
            Error::Configure { .. } | Error::Verifier { .. } => {
                "cannot create the TLS transport layer".to_string()
            }
        }
    }
}

/// An error and its causes on one line, joined by `: `.
pub(crate) fn one_line(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// Creates the rustls configuration for `+tls KEY CERT` and the other TLS options.
///
/// `prompt` reads the private key's password (`+ps`); it is called only for an encrypted key.
/// Files that DCMTK only warns about (an unreadable `+cf` file, a bad CRL) are logged at WARN
/// and skipped, as DCMTK does.
///
/// ```no_run
/// use dcmrecv_tls::{TlsIdentity, TlsSettings};
///
/// let mut settings = TlsSettings::default();
/// settings.certificate_files.push("ca.pem".into());
/// let identity = TlsIdentity {
///     private_key: "key.pem".into(),
///     certificate: "cert.pem".into(),
/// };
/// let config = dcmrecv_tls::server_config(&settings, &identity, &mut || Ok(String::new()))?;
/// assert!(config.alpn_protocols.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn server_config(
    settings: &TlsSettings,
    identity: &TlsIdentity,
    prompt: &mut dyn FnMut() -> io::Result<String>,
) -> Result<Arc<ServerConfig>, Error> {
    let ring = Arc::new(rustls::crypto::ring::default_provider());
    let format = settings.key_format;

    let (roots, pinned) = trusted_certificates(settings, format);
    let crls = revocation_lists(settings, format, &roots, &ring);

    let mut password = || match &settings.key_password {
        KeyPassword::Given(password) => Ok(password.clone()),
        KeyPassword::Empty => Ok(String::new()),
        KeyPassword::Prompt => prompt(),
    };
    let key_path = &identity.private_key;
    let key = keys::private_key(key_path, format, &mut password).context(LoadKeySnafu {
        path: key_path.clone(),
    })?;
    ring.key_provider
        .load_private_key(key.clone_key())
        .map_err(|error| Error::UnusableKey {
            path: key_path.clone(),
            error,
        })?;
    let certificate_path = &identity.certificate;
    let chain = keys::certificates(certificate_path, format).context(LoadCertificateSnafu {
        path: certificate_path.clone(),
    })?;
    CertifiedKey::from_der(chain.clone(), key.clone_key(), &ring).map_err(|error| {
        if error == rustls::Error::InconsistentKeys(InconsistentKeys::KeyMismatch) {
            Error::KeyCertificateMismatch {
                key: key_path.clone(),
                certificate: certificate_path.clone(),
            }
        } else {
            Error::UnusableCertificate {
                path: certificate_path.clone(),
                error,
            }
        }
    })?;

    let cipher_suites =
        suites::select(&settings.ciphersuites).map_err(|refused| match refused {
            suites::Refused::Unknown(name) => Error::UnknownCipherSuite { name },
            suites::Refused::NotInRustls(name) => Error::CipherSuiteNotInRustls { name },
        })?;
    if settings.profile == TlsProfile::Bcp195 {
        warn!(
            "--profile-bcp195: the profile's fallback to TLS 1.0/1.1 and \
             TLS_RSA_WITH_AES_128_CBC_SHA is not available in rustls; only TLS 1.2 and 1.3 are \
             offered"
        );
    }
    let suite_count = cipher_suites.len();
    let provider = Arc::new(CryptoProvider {
        cipher_suites,
        ..rustls::crypto::ring::default_provider()
    });
    let root_count = roots.len();
    let crl_count = crls.len();
    let (verifier, refuses_all) = verifier::client_verifier(
        settings.peer_certificate,
        roots,
        pinned,
        settings.crl_mode,
        crls,
        &provider,
    )
    .map_err(|error| Error::Verifier { error })?;
    if let Some(why) = refuses_all {
        warn!("{why}");
    }
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .and_then(|builder| {
            builder
                .with_client_cert_verifier(verifier)
                .with_single_cert(chain, key)
        })
        .map_err(|error| Error::Configure { error })?;
    debug!(
        "TLS transport layer: TLS 1.2 and 1.3, {suite_count} cipher suites, peer certificates: \
         {:?}, {root_count} trusted CA certificates, {crl_count} CRLs",
        settings.peer_certificate
    );
    Ok(Arc::new(config))
}

/// The CA certificates of `+cf` and `+cd`, as trust anchors and as they are (to accept them as
/// client certificates too, see [`verifier`]). A file that cannot be loaded is skipped with
/// DCMTK's warning; so is a directory (DCMTK says nothing about those).
fn trusted_certificates(
    settings: &TlsSettings,
    format: KeyFormat,
) -> (RootCertStore, Vec<CertificateDer<'static>>) {
    let mut roots = RootCertStore::empty();
    let mut pinned = Vec::new();
    for file in &settings.certificate_files {
        match keys::certificates(file, format) {
            Ok(certificates) => {
                pinned.extend(certificates.iter().cloned());
                let (added, ignored) = roots.add_parsable_certificates(certificates);
                if added == 0 {
                    error!(
                        "no certificate in {} can be used as a trust anchor",
                        file.display()
                    );
                    warn!(
                        "unable to load certificate file '{}', ignoring",
                        file.display()
                    );
                } else if ignored > 0 {
                    warn!(
                        "{ignored} certificate(s) in '{}' cannot be used as trust anchors, ignoring them",
                        file.display()
                    );
                }
            }
            Err(e) => {
                error!("{}", one_line(&e));
                warn!(
                    "unable to load certificate file '{}', ignoring",
                    file.display()
                );
            }
        }
    }
    for dir in &settings.certificate_dirs {
        add_directory(&mut roots, &mut pinned, dir, format);
    }
    (roots, pinned)
}

/// `+cd DIR`: every file in the directory that holds certificates (OpenSSL looks up hashed
/// names such as `1a2b3c4d.0`; we simply read every file, so `c_rehash` is not needed).
fn add_directory(
    roots: &mut RootCertStore,
    pinned: &mut Vec<CertificateDer<'static>>,
    dir: &Path,
    format: KeyFormat,
) {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) => {
            warn!(
                "unable to load certificate directory '{}', ignoring: {e}",
                dir.display()
            );
            return;
        }
    };
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.is_file())
        .collect();
    paths.sort();
    let mut total = 0;
    for path in paths {
        match keys::certificates(&path, format) {
            Ok(certificates) => {
                pinned.extend(certificates.iter().cloned());
                total += roots.add_parsable_certificates(certificates).0;
            }
            Err(e) => debug!(
                "{}: not a certificate file ({})",
                path.display(),
                one_line(&e)
            ),
        }
    }
    debug!(
        "{total} trusted CA certificate(s) loaded from {}",
        dir.display()
    );
}

/// The CRLs of `+crl`; one that cannot be loaded is skipped with DCMTK's warning.
fn revocation_lists(
    settings: &TlsSettings,
    format: KeyFormat,
    roots: &RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Vec<CertificateRevocationListDer<'static>> {
    let mut all = Vec::new();
    for file in &settings.crl_files {
        let usable = keys::crls(file, format)
            .map_err(|e| one_line(&e))
            .and_then(|crls| {
                for crl in &crls {
                    verifier::check_crl(crl, roots, provider)
                        .map_err(|e| format!("{} is not a usable CRL ({e:?})", file.display()))?;
                }
                Ok(crls)
            });
        match usable {
            Ok(crls) => all.extend(crls),
            Err(reason) => {
                error!("{reason}");
                warn!("unable to load CRL file '{}', ignoring", file.display());
            }
        }
    }
    all
}

#[cfg(test)]
mod tests;

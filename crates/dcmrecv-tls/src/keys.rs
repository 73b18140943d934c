//! Reading private keys, certificates and CRLs as DCMTK's `+tls`, `+cf`, `+cd` and `+crl` take
//! them: PEM (`-pem`, the default) or DER (`-der`) files.
//!
//! Private keys may be PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`), SEC1 (`EC PRIVATE
//! KEY`) or password-protected PKCS#8 (`ENCRYPTED PRIVATE KEY`, PKCS#5 PBES2 with PBKDF2 or
//! scrypt and AES-CBC or 3DES: what `openssl pkcs8 -topk8 -v2 ...` and `openssl genpkey -aes256`
//! write). The traditional OpenSSL encryption of PEM keys (`Proc-Type: 4,ENCRYPTED`, written by
//! `openssl rsa -aes256` or `openssl genrsa -aes256` in OpenSSL 1.x) and PKCS#5 v1.5/PKCS#12 PBES1
//! schemes are not supported, and the error says how to convert the key.

use std::io;
use std::path::{Path, PathBuf};

use pkcs8::EncryptedPrivateKeyInfo;
use pkcs8::der::{Decode, Header, Reader, SliceReader, Tag};
use rustls::pki_types::pem::{PemObject, SectionKind};
use rustls::pki_types::{
    CertificateDer, CertificateRevocationListDer, PrivateKeyDer, PrivatePkcs1KeyDer,
    PrivatePkcs8KeyDer, PrivateSec1KeyDer,
};
use snafu::{ResultExt, Snafu};

use crate::settings::KeyFormat;

/// A key, certificate or CRL file that cannot be used.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum Error {
    /// The file cannot be read.
    #[snafu(display("cannot read {}", path.display()))]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: io::Error,
    },
    /// The file is not valid PEM.
    #[snafu(display("{} is not a valid PEM file: {reason}", path.display()))]
    Pem {
        /// The file.
        path: PathBuf,
        /// What the PEM parser found wrong.
        reason: String,
    },
    /// A PEM file without a private key block.
    #[snafu(display(
        "no private key in {}: expected a PEM block PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY \
         or ENCRYPTED PRIVATE KEY (with -der: a DER-encoded key)",
        path.display()
    ))]
    NoPrivateKey {
        /// The file.
        path: PathBuf,
    },
    /// A key with OpenSSL's traditional PEM encryption, which we cannot decrypt.
    #[snafu(display(
        "{} is encrypted with OpenSSL's traditional PEM encryption (Proc-Type: 4,ENCRYPTED), \
         which dcmrecv-rs does not support; convert it to encrypted PKCS#8 with \
         `openssl pkcs8 -topk8 -v2 aes-256-cbc -in {} -out {}.p8` and use that file",
        path.display(),
        path.display(),
        path.display()
    ))]
    TraditionalEncryption {
        /// The file.
        path: PathBuf,
    },
    /// An encrypted PKCS#8 key whose encryption scheme we do not implement.
    #[snafu(display(
        "the encryption of private key {} is not supported ({reason}); supported is PKCS#5 PBES2 \
         with PBKDF2 or scrypt and AES-CBC or 3DES, as `openssl pkcs8 -topk8 -v2 aes-256-cbc` \
         writes it",
        path.display()
    ))]
    UnsupportedEncryption {
        /// The file.
        path: PathBuf,
        /// What the decoder found.
        reason: String,
    },
    /// The password could not be read (`+ps`).
    #[snafu(display("cannot read the private key password"))]
    ReadPassword {
        /// The terminal or stdin error.
        source: io::Error,
    },
    /// Decryption failed: the password is wrong.
    #[snafu(display("cannot decrypt private key {} (wrong password?)", path.display()))]
    Decrypt {
        /// The file.
        path: PathBuf,
    },
    /// A PEM file without a certificate.
    #[snafu(display("no certificate in {}", path.display()))]
    NoCertificate {
        /// The file.
        path: PathBuf,
    },
    /// A PEM file without a CRL.
    #[snafu(display("no certificate revocation list (X509 CRL) in {}", path.display()))]
    NoCrl {
        /// The file.
        path: PathBuf,
    },
}

/// Reads the private key in `path`; `password` is asked for only if the key is encrypted.
pub(crate) fn private_key(
    path: &Path,
    format: KeyFormat,
    password: &mut dyn FnMut() -> io::Result<String>,
) -> Result<PrivateKeyDer<'static>, Error> {
    let bytes = std::fs::read(path).context(ReadFileSnafu { path })?;
    match format {
        KeyFormat::Pem => pem_private_key(path, &bytes, password),
        KeyFormat::Der if is_encrypted_pkcs8(&bytes) => decrypt(path, &bytes, password),
        KeyFormat::Der => Ok(der_private_key(bytes)),
    }
}

fn pem_private_key(
    path: &Path,
    bytes: &[u8],
    password: &mut dyn FnMut() -> io::Result<String>,
) -> Result<PrivateKeyDer<'static>, Error> {
    if contains(bytes, b"Proc-Type: 4,ENCRYPTED") {
        return TraditionalEncryptionSnafu { path }.fail();
    }
    if let Some(block) = pem_block(bytes, "ENCRYPTED PRIVATE KEY") {
        let (_, der) = pkcs8::der::pem::decode_vec(block).map_err(|e| Error::Pem {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        return decrypt(path, &der, password);
    }
    for section in <(SectionKind, Vec<u8>)>::pem_slice_iter(bytes) {
        let (kind, der) = section.map_err(|e| Error::Pem {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
        match kind {
            SectionKind::PrivateKey => return Ok(PrivatePkcs8KeyDer::from(der).into()),
            SectionKind::RsaPrivateKey => return Ok(PrivatePkcs1KeyDer::from(der).into()),
            SectionKind::EcPrivateKey => return Ok(PrivateSec1KeyDer::from(der).into()),
            _ => {}
        }
    }
    NoPrivateKeySnafu { path }.fail()
}

/// A DER key of unknown form: PKCS#8 if it parses as such (an INTEGER version, an algorithm
/// and an OCTET STRING), else whichever of PKCS#1 and SEC1 the crypto provider accepts.
fn der_private_key(bytes: Vec<u8>) -> PrivateKeyDer<'static> {
    let provider = rustls::crypto::ring::default_provider();
    let candidates: [PrivateKeyDer<'static>; 3] = [
        PrivatePkcs8KeyDer::from(bytes.clone()).into(),
        PrivatePkcs1KeyDer::from(bytes.clone()).into(),
        PrivateSec1KeyDer::from(bytes.clone()).into(),
    ];
    for candidate in candidates {
        if provider
            .key_provider
            .load_private_key(candidate.clone_key())
            .is_ok()
        {
            return candidate;
        }
    }
    // Let the caller's use of the key report it.
    PrivatePkcs8KeyDer::from(bytes).into()
}

/// Decrypts an `EncryptedPrivateKeyInfo` (DER) with the password.
fn decrypt(
    path: &Path,
    der: &[u8],
    password: &mut dyn FnMut() -> io::Result<String>,
) -> Result<PrivateKeyDer<'static>, Error> {
    let info =
        EncryptedPrivateKeyInfo::from_der(der).map_err(|e| Error::UnsupportedEncryption {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    let password = password().context(ReadPasswordSnafu)?;
    let document = info.decrypt(password.as_bytes()).map_err(|e| match e {
        pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::UnsupportedAlgorithm { .. })
        | pkcs8::Error::EncryptedPrivateKey(pkcs8::pkcs5::Error::AlgorithmParametersInvalid {
            ..
        }) => Error::UnsupportedEncryption {
            path: path.to_owned(),
            reason: e.to_string(),
        },
        _ => Error::Decrypt {
            path: path.to_owned(),
        },
    })?;
    Ok(PrivatePkcs8KeyDer::from(document.as_bytes().to_vec()).into())
}

/// Whether DER bytes are an `EncryptedPrivateKeyInfo`: a SEQUENCE that starts with a SEQUENCE
/// (the encryption algorithm), where every unencrypted key form starts with an INTEGER.
fn is_encrypted_pkcs8(der: &[u8]) -> bool {
    let Ok(mut reader) = SliceReader::new(der) else {
        return false;
    };
    let Ok(outer) = Header::decode(&mut reader) else {
        return false;
    };
    outer.tag == Tag::Sequence
        && reader
            .peek_header()
            .is_ok_and(|inner| inner.tag == Tag::Sequence)
}

/// The certificates in `path`: every `CERTIFICATE` block of a PEM file (a chain, leaf first), or
/// the one certificate of a DER file.
pub(crate) fn certificates(
    path: &Path,
    format: KeyFormat,
) -> Result<Vec<CertificateDer<'static>>, Error> {
    let all = pem_or_der(path, format)?;
    if all.is_empty() {
        return NoCertificateSnafu { path }.fail();
    }
    Ok(all)
}

/// The certificate revocation lists in `path` (`X509 CRL` blocks, or one DER CRL).
pub(crate) fn crls(
    path: &Path,
    format: KeyFormat,
) -> Result<Vec<CertificateRevocationListDer<'static>>, Error> {
    let all = pem_or_der(path, format)?;
    if all.is_empty() {
        return NoCrlSnafu { path }.fail();
    }
    Ok(all)
}

/// Every PEM block of `T`'s kind in `path`, or the whole file as one DER `T`.
fn pem_or_der<T: PemObject + From<Vec<u8>>>(
    path: &Path,
    format: KeyFormat,
) -> Result<Vec<T>, Error> {
    let bytes = std::fs::read(path).context(ReadFileSnafu { path })?;
    match format {
        KeyFormat::Der => Ok(vec![T::from(bytes)]),
        KeyFormat::Pem => T::pem_slice_iter(&bytes)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| Error::Pem {
                path: path.to_owned(),
                reason: e.to_string(),
            }),
    }
}

/// The text of the first PEM block with `label`, from its BEGIN line to the end of its END
/// line.
fn pem_block<'a>(bytes: &'a [u8], label: &str) -> Option<&'a [u8]> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = find(bytes, begin.as_bytes())?;
    let rest = bytes.get(start..)?;
    let stop = find(rest, end.as_bytes())? + end.len();
    rest.get(..stop)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    find(haystack, needle).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    use pkcs8::pkcs5::pbes2;

    /// A fresh ECDSA P-256 key (PKCS#8 DER).
    fn key() -> Vec<u8> {
        rcgen::KeyPair::generate().unwrap().serialize_der()
    }

    fn pem(label: &str, der: &[u8]) -> String {
        pkcs8::der::pem::encode_string(label, pkcs8::der::pem::LineEnding::LF, der).unwrap()
    }

    fn write(dir: &tempfile::TempDir, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }

    /// PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, as `openssl pkcs8 -topk8 -v2 aes-256-cbc`.
    fn encrypt(der: &[u8], password: &str) -> Vec<u8> {
        let info = pkcs8::PrivateKeyInfo::try_from(der).unwrap();
        let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[7; 16], &[9; 16]).unwrap();
        info.encrypt_with_params(params, password)
            .unwrap()
            .as_bytes()
            .to_vec()
    }

    fn no_password() -> io::Result<String> {
        panic!("the password must not be asked for an unencrypted key")
    }

    #[test]
    fn reads_plain_keys_in_pem_and_der() {
        let dir = tempfile::tempdir().unwrap();
        let der = key();
        let pem_path = write(&dir, "k.pem", pem("PRIVATE KEY", &der));
        let der_path = write(&dir, "k.der", &der);
        let read = |p: &Path, f| private_key(p, f, &mut no_password).unwrap();
        assert_eq!(read(&pem_path, KeyFormat::Pem).secret_der(), der.as_slice());
        assert_eq!(read(&der_path, KeyFormat::Der).secret_der(), der.as_slice());
        // `openssl ecparam -genkey` writes the curve before the key.
        let with_params = format!(
            "-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC PARAMETERS-----\n{}",
            pem("PRIVATE KEY", &der)
        );
        let path = write(&dir, "p.pem", with_params);
        assert!(matches!(
            read(&path, KeyFormat::Pem),
            PrivateKeyDer::Pkcs8(_)
        ));
    }

    #[test]
    fn decrypts_encrypted_pkcs8_keys() {
        let dir = tempfile::tempdir().unwrap();
        let der = key();
        let encrypted = encrypt(&der, "secret");
        let pem_path = write(&dir, "e.pem", pem("ENCRYPTED PRIVATE KEY", &encrypted));
        let der_path = write(&dir, "e.der", &encrypted);
        for (path, format) in [(&pem_path, KeyFormat::Pem), (&der_path, KeyFormat::Der)] {
            let mut asked = 0;
            let mut password = || {
                asked += 1;
                Ok("secret".to_string())
            };
            let k = private_key(path, format, &mut password).unwrap();
            assert_eq!(k.secret_der(), der.as_slice());
            assert_eq!(asked, 1);
            let wrong = private_key(path, format, &mut || Ok("wrong".into())).unwrap_err();
            assert!(matches!(wrong, Error::Decrypt { .. }), "{wrong:?}");
        }
        let e = private_key(&pem_path, KeyFormat::Pem, &mut || {
            Err(io::Error::other("no terminal"))
        })
        .unwrap_err();
        assert_eq!(e.to_string(), "cannot read the private key password");
    }

    #[test]
    fn says_what_is_not_supported() {
        let dir = tempfile::tempdir().unwrap();
        let traditional = write(
            &dir,
            "t.pem",
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-256-CBC,70DB5583CDEF9EC7C884AEA593B56DA0\n\nAAAA\n-----END RSA PRIVATE KEY-----\n",
        );
        let e = private_key(&traditional, KeyFormat::Pem, &mut no_password).unwrap_err();
        assert!(
            e.to_string().contains("Proc-Type: 4,ENCRYPTED")
                && e.to_string().contains("openssl pkcs8 -topk8"),
            "{e}"
        );
        let certificate_only = write(&dir, "c.pem", pem("CERTIFICATE", b"\x30\x03\x02\x01\x01"));
        let e = private_key(&certificate_only, KeyFormat::Pem, &mut no_password).unwrap_err();
        assert!(matches!(e, Error::NoPrivateKey { .. }), "{e:?}");
        let missing = dir.path().join("missing.pem");
        let e = private_key(&missing, KeyFormat::Pem, &mut no_password).unwrap_err();
        assert!(e.to_string().starts_with("cannot read "), "{e}");
    }

    #[test]
    fn reads_certificate_chains_and_crls() {
        let dir = tempfile::tempdir().unwrap();
        let a = pem("CERTIFICATE", b"\x30\x03\x02\x01\x01");
        let b = pem("CERTIFICATE", b"\x30\x03\x02\x01\x02");
        let chain = write(&dir, "chain.pem", format!("{a}{b}"));
        let got = certificates(&chain, KeyFormat::Pem).unwrap();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_ref(), b"\x30\x03\x02\x01\x02");
        let der = write(&dir, "c.der", b"\x30\x03\x02\x01\x01");
        assert_eq!(certificates(&der, KeyFormat::Der).unwrap().len(), 1);
        let empty = write(&dir, "empty.pem", "nothing here\n");
        assert!(matches!(
            certificates(&empty, KeyFormat::Pem),
            Err(Error::NoCertificate { .. })
        ));
        let crl = write(&dir, "r.pem", pem("X509 CRL", b"\x30\x00"));
        assert_eq!(crls(&crl, KeyFormat::Pem).unwrap().len(), 1);
        assert!(matches!(
            crls(&empty, KeyFormat::Pem),
            Err(Error::NoCrl { .. })
        ));
    }

    #[test]
    fn tells_encrypted_from_plain_der() {
        let der = key();
        assert!(!is_encrypted_pkcs8(&der));
        assert!(is_encrypted_pkcs8(&encrypt(&der, "x")));
        assert!(!is_encrypted_pkcs8(b""));
        assert!(!is_encrypted_pkcs8(b"\x30\x80"));
    }
}

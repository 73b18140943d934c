//! The transport layer from files, checked by in-memory handshakes with rustls clients. Keys,
//! certificates and CRLs are generated with rcgen for each test.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use pkcs8::pkcs5::pbes2;
use rcgen::{
    BasicConstraints, CertificateParams, CertificateRevocationListParams, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyIdMethod, KeyPair, KeyUsagePurpose, RevokedCertParams,
    SerialNumber,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use rustls::{ClientConfig, ClientConnection, RootCertStore, ServerConnection};

use super::*;
use crate::settings::{CrlMode, PeerCertificate};

/// A test PKI in a temporary directory: a CA, a server identity, two client identities (the
/// second one revoked by `crl.pem`), and a client from another CA.
struct Pki {
    dir: tempfile::TempDir,
    ca: rcgen::Certificate,
    client: Identity,
    revoked: Identity,
    stranger: Identity,
    server_key: KeyPair,
}

struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

fn ca(name: &str) -> (rcgen::Certificate, KeyPair) {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let key = KeyPair::generate().unwrap();
    (params.self_signed(&key).unwrap(), key)
}

fn issue(
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
    name: &str,
    serial: u8,
    server: bool,
) -> (rcgen::Certificate, KeyPair) {
    let names = if server {
        vec!["localhost".to_string()]
    } else {
        Vec::new()
    };
    let mut params = CertificateParams::new(names).unwrap();
    params.distinguished_name.push(DnType::CommonName, name);
    params.serial_number = Some(SerialNumber::from_slice(&[serial]));
    params.extended_key_usages = vec![if server {
        ExtendedKeyUsagePurpose::ServerAuth
    } else {
        ExtendedKeyUsagePurpose::ClientAuth
    }];
    let key = KeyPair::generate().unwrap();
    (params.signed_by(&key, ca, ca_key).unwrap(), key)
}

fn identity(cert: &rcgen::Certificate, key: &KeyPair) -> Identity {
    Identity {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

impl Pki {
    fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let (ca, ca_key) = ca("Test CA");
        let (server, server_key) = issue(&ca, &ca_key, "localhost", 1, true);
        let (client, client_key) = issue(&ca, &ca_key, "client", 2, false);
        let (revoked, revoked_key) = issue(&ca, &ca_key, "revoked", 3, false);
        let (other_ca, other_key) = ca_pair("Other CA");
        let (stranger, stranger_key) = issue(&other_ca, &other_key, "stranger", 4, false);
        let crl = CertificateRevocationListParams {
            this_update: rcgen::date_time_ymd(2024, 1, 1),
            next_update: rcgen::date_time_ymd(2099, 1, 1),
            crl_number: SerialNumber::from_slice(&[1]),
            issuing_distribution_point: None,
            revoked_certs: vec![RevokedCertParams {
                serial_number: SerialNumber::from_slice(&[3]),
                revocation_time: rcgen::date_time_ymd(2024, 1, 2),
                reason_code: None,
                invalidity_date: None,
            }],
            key_identifier_method: KeyIdMethod::Sha256,
        }
        .signed_by(&ca, &ca_key)
        .unwrap();
        let write = |name: &str, text: String| std::fs::write(dir.path().join(name), text).unwrap();
        write("ca.pem", ca.pem());
        write("server.pem", server.pem());
        write("server.key", server_key.serialize_pem());
        write("crl.pem", crl.pem().unwrap());
        std::fs::write(dir.path().join("server.der"), server.der()).unwrap();
        std::fs::write(
            dir.path().join("server.key.der"),
            server_key.serialize_der(),
        )
        .unwrap();
        Pki {
            client: identity(&client, &client_key),
            revoked: identity(&revoked, &revoked_key),
            stranger: identity(&stranger, &stranger_key),
            dir,
            ca,
            server_key,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `+tls server.key server.pem +cf ca.pem`.
    fn settings(&self) -> TlsSettings {
        TlsSettings {
            identity: Some(TlsIdentity {
                private_key: self.path("server.key"),
                certificate: self.path("server.pem"),
            }),
            certificate_files: vec![self.path("ca.pem")],
            ..TlsSettings::default()
        }
    }

    fn client_config(
        &self,
        identity: Option<&Identity>,
        versions: &[&'static rustls::SupportedProtocolVersion],
        suites: Option<Vec<rustls::SupportedCipherSuite>>,
    ) -> Arc<ClientConfig> {
        let mut provider = rustls::crypto::ring::default_provider();
        if let Some(suites) = suites {
            provider.cipher_suites = suites;
        }
        let mut roots = RootCertStore::empty();
        roots.add(self.ca.der().clone()).unwrap();
        let builder = ClientConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(versions)
            .unwrap()
            .with_root_certificates(roots);
        Arc::new(match identity {
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
                .unwrap(),
            None => builder.with_no_client_auth(),
        })
    }
}

fn ca_pair(name: &str) -> (rcgen::Certificate, KeyPair) {
    ca(name)
}

const BOTH: &[&rustls::SupportedProtocolVersion] =
    &[&rustls::version::TLS13, &rustls::version::TLS12];

fn build(settings: &TlsSettings) -> Result<Arc<ServerConfig>, Error> {
    let identity = settings.identity.clone().unwrap();
    server_config(settings, &identity, &mut || {
        panic!("no password prompt expected")
    })
}

/// Runs a handshake in memory and exchanges one application byte each way, so that a TLS 1.3
/// server's refusal of the client certificate reaches the client too.
fn handshake(server: Arc<ServerConfig>, client: Arc<ClientConfig>) -> Result<(), rustls::Error> {
    let mut server = ServerConnection::new(server)?;
    let mut client = ClientConnection::new(client, ServerName::try_from("localhost").unwrap())?;
    client.writer().write_all(b"x").unwrap();
    let mut got = 0;
    for _ in 0..20 {
        let mut buf = Vec::new();
        client.write_tls(&mut buf).unwrap();
        let mut slice = buf.as_slice();
        while !slice.is_empty() {
            server.read_tls(&mut slice).unwrap();
        }
        let state = server.process_new_packets()?;
        if state.plaintext_bytes_to_read() > 0 {
            let mut byte = [0u8; 1];
            std::io::Read::read(&mut server.reader(), &mut byte).unwrap();
            server.writer().write_all(b"y").unwrap();
        }
        let mut buf = Vec::new();
        server.write_tls(&mut buf).unwrap();
        let mut slice = buf.as_slice();
        while !slice.is_empty() {
            client.read_tls(&mut slice).unwrap();
        }
        let state = client.process_new_packets()?;
        got += state.plaintext_bytes_to_read();
        if got > 0 {
            return Ok(());
        }
    }
    panic!("the handshake did not finish");
}

#[test]
fn require_verify_and_ignore_peer_certificates() {
    let pki = Pki::new();
    let client = |id| pki.client_config(id, BOTH, None);
    let mut settings = pki.settings();
    let required = build(&settings).unwrap();
    handshake(Arc::clone(&required), client(Some(&pki.client))).unwrap();
    assert_eq!(
        handshake(Arc::clone(&required), client(None)),
        Err(rustls::Error::NoCertificatesPresented)
    );
    assert!(matches!(
        handshake(Arc::clone(&required), client(Some(&pki.stranger))),
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    ));

    settings.peer_certificate = PeerCertificate::Verify;
    let verified = build(&settings).unwrap();
    handshake(Arc::clone(&verified), client(None)).unwrap();
    handshake(Arc::clone(&verified), client(Some(&pki.client))).unwrap();
    assert!(handshake(verified, client(Some(&pki.stranger))).is_err());

    settings.peer_certificate = PeerCertificate::Ignore;
    let ignored = build(&settings).unwrap();
    handshake(Arc::clone(&ignored), client(None)).unwrap();
    handshake(ignored, client(Some(&pki.stranger))).unwrap();
}

#[test]
fn without_a_trusted_ca_every_client_certificate_is_refused_like_dcmtk() {
    let pki = Pki::new();
    let mut settings = pki.settings();
    settings.certificate_files = vec![pki.path("missing.pem"), pki.path("server.key")];
    let config = build(&settings).unwrap();
    assert!(matches!(
        handshake(config, pki.client_config(Some(&pki.client), BOTH, None)),
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownIssuer
        ))
    ));
}

#[test]
fn a_certificate_directory_is_read_file_by_file() {
    let pki = Pki::new();
    let cas = pki.path("cas");
    std::fs::create_dir(&cas).unwrap();
    std::fs::copy(pki.path("ca.pem"), cas.join("ca.pem")).unwrap();
    std::fs::write(cas.join("README"), "not a certificate").unwrap();
    let mut settings = pki.settings();
    settings.certificate_files.clear();
    settings.certificate_dirs = vec![pki.path("no-such-dir"), cas];
    let config = build(&settings).unwrap();
    handshake(config, pki.client_config(Some(&pki.client), BOTH, None)).unwrap();
}

#[test]
fn crls_revoke_client_certificates() {
    let pki = Pki::new();
    let mut settings = pki.settings();
    settings.crl_files = vec![pki.path("crl.pem")];
    settings.crl_mode = CrlMode::Leaf;
    let config = build(&settings).unwrap();
    handshake(
        Arc::clone(&config),
        pki.client_config(Some(&pki.client), BOTH, None),
    )
    .unwrap();
    assert!(matches!(
        handshake(config, pki.client_config(Some(&pki.revoked), BOTH, None)),
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::Revoked
        ))
    ));
    // CRL checking without a CRL refuses everyone, as OpenSSL does.
    settings.crl_files = vec![pki.path("server.pem")];
    let config = build(&settings).unwrap();
    assert!(matches!(
        handshake(config, pki.client_config(Some(&pki.client), BOTH, None)),
        Err(rustls::Error::InvalidCertificate(
            rustls::CertificateError::UnknownRevocationStatus
        ))
    ));
}

#[test]
fn tls_1_2_clients_and_cipher_suite_additions() {
    let pki = Pki::new();
    let tls12 = &[&rustls::version::TLS12][..];
    let chacha =
        vec![rustls::crypto::ring::cipher_suite::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256];
    let settings = pki.settings();
    let config = build(&settings).unwrap();
    handshake(
        Arc::clone(&config),
        pki.client_config(Some(&pki.client), tls12, None),
    )
    .unwrap();
    assert!(matches!(
        handshake(
            config,
            pki.client_config(Some(&pki.client), tls12, Some(chacha.clone()))
        ),
        Err(rustls::Error::PeerIncompatible(
            rustls::PeerIncompatible::NoCipherSuitesInCommon
        ))
    ));
    let mut settings = pki.settings();
    settings.ciphersuites = vec!["TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256".into()];
    let config = build(&settings).unwrap();
    handshake(
        config,
        pki.client_config(Some(&pki.client), tls12, Some(chacha)),
    )
    .unwrap();
}

#[test]
fn encrypted_keys_ask_for_the_password_only_when_needed() {
    let pki = Pki::new();
    let der = pki.server_key.serialize_der();
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[1; 16], &[2; 16]).unwrap();
    let encrypted = info.encrypt_with_params(params, "s3cret").unwrap();
    let pem = pkcs8::der::pem::encode_string(
        "ENCRYPTED PRIVATE KEY",
        pkcs8::der::pem::LineEnding::LF,
        encrypted.as_bytes(),
    )
    .unwrap();
    std::fs::write(pki.path("encrypted.key"), pem).unwrap();
    let mut settings = pki.settings();
    let identity = TlsIdentity {
        private_key: pki.path("encrypted.key"),
        certificate: pki.path("server.pem"),
    };
    let mut asked = 0;
    let mut prompt = || {
        asked += 1;
        Ok("s3cret".to_string())
    };
    server_config(&settings, &identity, &mut prompt).unwrap();
    assert_eq!(asked, 1);

    settings.key_password = KeyPassword::Given("s3cret".into());
    server_config(&settings, &identity, &mut || panic!("no prompt with +pw")).unwrap();
    settings.key_password = KeyPassword::Given("wrong".into());
    let e = server_config(&settings, &identity, &mut || panic!("no prompt")).unwrap_err();
    assert_eq!(
        e.dcmtk_message(),
        format!(
            "000b:0004 Unable to load private TLS key from '{}'",
            pki.path("encrypted.key").display()
        )
    );
    assert!(one_line(&e).contains("wrong password"), "{}", one_line(&e));
    settings.key_password = KeyPassword::Empty;
    assert!(server_config(&settings, &identity, &mut || panic!("no prompt")).is_err());
}

#[test]
fn der_files_with_der_keys() {
    let pki = Pki::new();
    let mut settings = pki.settings();
    settings.key_format = KeyFormat::Der;
    settings.identity = Some(TlsIdentity {
        private_key: pki.path("server.key.der"),
        certificate: pki.path("server.der"),
    });
    // `+cf ca.pem` cannot be read as DER: a warning, and no trusted CA.
    let config = build(&settings).unwrap();
    handshake(config, pki.client_config(None, BOTH, None)).unwrap_err();
    settings.peer_certificate = PeerCertificate::Ignore;
    let config = build(&settings).unwrap();
    handshake(config, pki.client_config(None, BOTH, None)).unwrap();
}

#[test]
fn failures_have_dcmtks_fatal_messages_in_dcmtks_order() {
    let pki = Pki::new();
    let path = |name: &str| pki.path(name).display().to_string();
    let fails = |key: &str, cert: &str, ciphers: &[&str]| {
        let mut settings = pki.settings();
        let identity = TlsIdentity {
            private_key: pki.path(key),
            certificate: pki.path(cert),
        };
        settings.identity = Some(identity.clone());
        settings.ciphersuites = ciphers.iter().map(|c| c.to_string()).collect();
        let e = server_config(&settings, &identity, &mut || panic!("no prompt")).unwrap_err();
        (e.dcmtk_message(), one_line(&e))
    };
    let (fatal, detail) = fails("missing.key", "server.pem", &["FOO"]);
    assert_eq!(
        fatal,
        format!(
            "000b:0004 Unable to load private TLS key from '{}'",
            path("missing.key")
        )
    );
    assert!(
        detail.starts_with("cannot load the TLS private key: cannot read "),
        "{detail}"
    );
    let (fatal, _) = fails("server.pem", "server.pem", &[]);
    assert!(fatal.starts_with("000b:0004 "), "{fatal}");
    let (fatal, _) = fails("server.key", "missing.pem", &[]);
    assert_eq!(
        fatal,
        format!(
            "Unable to load TLS certificate from '{}'",
            path("missing.pem")
        )
    );
    // A key that is not the certificate's: the CA's certificate with the server key.
    let (fatal, _) = fails("server.key", "ca.pem", &["FOO"]);
    assert_eq!(
        fatal,
        format!(
            "000b:0006 Private key '{}' and certificate '{}' do not match",
            path("server.key"),
            path("ca.pem")
        )
    );
    let (fatal, detail) = fails("server.key", "server.pem", &["FOO"]);
    assert_eq!(fatal, "0001:0007 Illegal call, perhaps wrong parameters");
    assert_eq!(detail, "ciphersuite 'FOO' is unknown");
    let (_, detail) = fails(
        "server.key",
        "server.pem",
        &["TLS_RSA_WITH_AES_128_CBC_SHA"],
    );
    assert!(detail.contains("is not supported by rustls"), "{detail}");
}

#[test]
fn exchanged_self_signed_certificates_are_trusted_like_openssl_does() {
    let pki = Pki::new();
    // `openssl req -x509` makes self-signed certificates with CA:TRUE.
    let self_signed = |name: &str, expired: bool| {
        let (mut cert_params, key) = (
            CertificateParams::new(Vec::<String>::new()).unwrap(),
            KeyPair::generate().unwrap(),
        );
        cert_params
            .distinguished_name
            .push(DnType::CommonName, name);
        cert_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        if expired {
            cert_params.not_before = rcgen::date_time_ymd(2000, 1, 1);
            cert_params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        }
        let cert = cert_params.self_signed(&key).unwrap();
        (identity(&cert, &key), cert.pem())
    };
    let (site, site_pem) = self_signed("modality", false);
    let (old, old_pem) = self_signed("old modality", true);
    let (unknown, _) = self_signed("unknown modality", false);
    std::fs::write(pki.path("peers.pem"), format!("{site_pem}{old_pem}")).unwrap();
    let mut settings = pki.settings();
    settings.certificate_files.push(pki.path("peers.pem"));
    let config = build(&settings).unwrap();
    let client = |id| pki.client_config(Some(id), BOTH, None);
    handshake(Arc::clone(&config), client(&site)).unwrap();
    handshake(Arc::clone(&config), client(&pki.client)).unwrap();
    let expired = handshake(Arc::clone(&config), client(&old));
    assert!(
        matches!(
            expired,
            Err(rustls::Error::InvalidCertificate(
                rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. }
            ))
        ),
        "{expired:?}"
    );
    assert!(handshake(config, client(&unknown)).is_err());
}

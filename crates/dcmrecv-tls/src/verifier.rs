//! The client certificate policy: DCMTK's `-rc` / `-vc` / `-ic` with the trusted CAs of `+cf`
//! and `+cd` and the CRLs of `+crl`, `+crv` and `+cra`, as a rustls client certificate verifier.
//!
//! | option | OpenSSL mode in DCMTK | rustls |
//! |---|---|---|
//! | `-rc` (default) | verify peer, fail if no certificate | `WebPkiClientVerifier` |
//! | `-vc` | verify peer | `WebPkiClientVerifier::allow_unauthenticated` |
//! | `-ic` | verify none (no certificate request) | no client authentication |
//!
//! OpenSSL also trusts a client certificate that is itself among the trusted certificates, the
//! usual set-up where two sites exchange self-signed certificates (`openssl req -x509` makes
//! them with `CA:TRUE`, which webpki refuses as an end-entity certificate). [`PinnedLeaves`]
//! keeps that working: a certificate that is byte for byte one of the `+cf`/`+cd` certificates
//! is accepted when webpki refuses it only for its form or issuer, and it is within its
//! validity period. Revocation failures are never overridden.
//!
//! Without any usable CA certificate DCMTK still starts and then refuses every client certificate
//! (OpenSSL has nothing to verify against); rustls cannot build a verifier without trust anchors,
//! so [`RefuseAll`] does the same. The same goes for CRL checking (`+crv`, `+cra`) without any
//! loaded CRL: OpenSSL fails every verification for lack of a CRL, and so do we.

use std::sync::Arc;

use rustls::client::danger::HandshakeSignatureValid;
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::{CertificateDer, CertificateRevocationListDer, UnixTime};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::server::{VerifierBuilderError, WebPkiClientVerifier};
use rustls::{
    CertificateError, DigitallySignedStruct, DistinguishedName, RootCertStore, SignatureScheme,
};

use crate::settings::{CrlMode, PeerCertificate};

/// Builds the verifier for the peer certificate policy, trusted roots (and the same
/// certificates as `pinned` DER) and CRLs.
///
/// Returns the verifier and, when it will refuse every certificate, the reason to warn about.
pub(crate) fn client_verifier(
    policy: PeerCertificate,
    roots: RootCertStore,
    pinned: Vec<CertificateDer<'static>>,
    crl_mode: CrlMode,
    crls: Vec<CertificateRevocationListDer<'static>>,
    provider: &Arc<CryptoProvider>,
) -> Result<(Arc<dyn ClientCertVerifier>, Option<&'static str>), VerifierBuilderError> {
    let mandatory = match policy {
        PeerCertificate::Ignore => return Ok((WebPkiClientVerifier::no_client_auth(), None)),
        PeerCertificate::Require => true,
        PeerCertificate::Verify => false,
    };
    let refuse = |error, why| {
        let verifier: Arc<dyn ClientCertVerifier> = Arc::new(RefuseAll {
            mandatory,
            error,
            algorithms: provider.signature_verification_algorithms,
        });
        Ok((verifier, Some(why)))
    };
    if roots.is_empty() {
        return refuse(
            CertificateError::UnknownIssuer,
            "no trusted CA certificate was loaded (--add-cert-file, --add-cert-dir): \
             every client certificate will be refused",
        );
    }
    if crl_mode != CrlMode::None && crls.is_empty() {
        return refuse(
            CertificateError::UnknownRevocationStatus,
            "CRL verification is enabled but no certificate revocation list was loaded \
             (--add-crl-file): every client certificate will be refused",
        );
    }
    let mut builder =
        WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider));
    if crl_mode != CrlMode::None {
        builder = builder.with_crls(crls);
        if crl_mode == CrlMode::Leaf {
            builder = builder.only_check_end_entity_revocation();
        }
    }
    if !mandatory {
        builder = builder.allow_unauthenticated();
    }
    let verifier: Arc<dyn ClientCertVerifier> = Arc::new(PinnedLeaves {
        inner: builder.build()?,
        pinned,
    });
    Ok((verifier, None))
}

/// A webpki verifier that also accepts the trusted certificates themselves as client
/// certificates, as OpenSSL does (see the module documentation).
#[derive(Debug)]
struct PinnedLeaves {
    inner: Arc<dyn ClientCertVerifier>,
    pinned: Vec<CertificateDer<'static>>,
}

impl PinnedLeaves {
    /// Whether a refusal may be overridden for a pinned certificate: its form (`CA:TRUE`, X.509
    /// v1...) or a missing issuer, not its revocation or its dates.
    fn overridable(error: &rustls::Error) -> bool {
        matches!(
            error,
            rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::Other(_)
            )
        )
    }
}

/// Whether `now` is within the certificate's validity period (false if it cannot be read).
fn within_validity(certificate: &CertificateDer<'_>, now: UnixTime) -> bool {
    use x509_cert::der::Decode;
    let Ok(certificate) = x509_cert::Certificate::from_der(certificate) else {
        return false;
    };
    let validity = &certificate.tbs_certificate.validity;
    let now = now.as_secs();
    validity.not_before.to_unix_duration().as_secs() <= now
        && now <= validity.not_after.to_unix_duration().as_secs()
}

impl ClientCertVerifier for PinnedLeaves {
    fn offer_client_auth(&self) -> bool {
        self.inner.offer_client_auth()
    }

    fn client_auth_mandatory(&self) -> bool {
        self.inner.client_auth_mandatory()
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        self.inner.root_hint_subjects()
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        match self
            .inner
            .verify_client_cert(end_entity, intermediates, now)
        {
            Err(error)
                if Self::overridable(&error)
                    && self
                        .pinned
                        .iter()
                        .any(|p| p.as_ref() == end_entity.as_ref()) =>
            {
                if within_validity(end_entity, now) {
                    tracing::debug!(
                        "client certificate accepted because it is one of the trusted \
                         certificates (webpki: {error})"
                    );
                    Ok(ClientCertVerified::assertion())
                } else {
                    Err(rustls::Error::InvalidCertificate(CertificateError::Expired))
                }
            }
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// Checks that a CRL can be used (rustls parses CRLs only when the verifier is built).
pub(crate) fn check_crl(
    crl: &CertificateRevocationListDer<'static>,
    roots: &RootCertStore,
    provider: &Arc<CryptoProvider>,
) -> Result<(), VerifierBuilderError> {
    if roots.is_empty() {
        // No verifier will be built from roots; CRLs do not matter then.
        return Ok(());
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots.clone()), Arc::clone(provider))
        .with_crls([crl.clone()])
        .build()
        .map(|_| ())
}

/// Refuses every client certificate with one error; accepts clients without one unless a
/// certificate is mandatory.
#[derive(Debug)]
struct RefuseAll {
    mandatory: bool,
    error: CertificateError,
    algorithms: WebPkiSupportedAlgorithms,
}

impl ClientCertVerifier for RefuseAll {
    fn client_auth_mandatory(&self) -> bool {
        self.mandatory
    }

    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        Err(rustls::Error::InvalidCertificate(self.error.clone()))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn provider() -> Arc<CryptoProvider> {
        Arc::new(rustls::crypto::ring::default_provider())
    }

    fn roots() -> RootCertStore {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let ca = params.self_signed(&key).unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(ca.der().clone()).unwrap();
        roots
    }

    fn build(
        policy: PeerCertificate,
        roots: RootCertStore,
        crl_mode: CrlMode,
    ) -> (Arc<dyn ClientCertVerifier>, Option<&'static str>) {
        client_verifier(policy, roots, Vec::new(), crl_mode, Vec::new(), &provider()).unwrap()
    }

    #[test]
    fn the_policies_map_onto_client_authentication() {
        let (v, warning) = build(PeerCertificate::Require, roots(), CrlMode::None);
        assert!(v.offer_client_auth() && v.client_auth_mandatory() && warning.is_none());
        let (v, _) = build(PeerCertificate::Verify, roots(), CrlMode::None);
        assert!(v.offer_client_auth() && !v.client_auth_mandatory());
        let (v, warning) = build(
            PeerCertificate::Ignore,
            RootCertStore::empty(),
            CrlMode::All,
        );
        assert!(!v.offer_client_auth() && warning.is_none());
    }

    #[test]
    fn without_trust_anchors_or_crls_every_certificate_is_refused() {
        for (roots, crl_mode, error) in [
            (
                RootCertStore::empty(),
                CrlMode::None,
                CertificateError::UnknownIssuer,
            ),
            (
                roots(),
                CrlMode::Leaf,
                CertificateError::UnknownRevocationStatus,
            ),
        ] {
            for policy in [PeerCertificate::Require, PeerCertificate::Verify] {
                let (v, warning) = build(policy, roots.clone(), crl_mode);
                assert!(warning.is_some());
                assert_eq!(
                    v.client_auth_mandatory(),
                    policy == PeerCertificate::Require
                );
                let refused = v
                    .verify_client_cert(&CertificateDer::from(vec![0x30, 0]), &[], UnixTime::now())
                    .unwrap_err();
                assert_eq!(refused, rustls::Error::InvalidCertificate(error.clone()));
            }
        }
    }

    #[test]
    fn validity_periods() {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.not_before = rcgen::date_time_ymd(2000, 1, 1);
        params.not_after = rcgen::date_time_ymd(2001, 1, 1);
        let old = params.self_signed(&key).unwrap();
        let at = |secs| UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs));
        assert!(within_validity(old.der(), at(960_000_000)));
        assert!(!within_validity(old.der(), at(1_000_000_000)));
        assert!(!within_validity(old.der(), UnixTime::now()));
        assert!(!within_validity(
            &CertificateDer::from(vec![1, 2, 3]),
            at(0)
        ));
    }

    #[test]
    fn unusable_crls_are_found_before_use() {
        let garbage = CertificateRevocationListDer::from(vec![0x30, 0x00]);
        assert!(check_crl(&garbage, &roots(), &provider()).is_err());
        assert!(check_crl(&garbage, &RootCertStore::empty(), &provider()).is_ok());
    }
}

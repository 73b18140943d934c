//! TLS under the association (DICOM PS3.15 Annex B, secure transport connection profiles), on
//! rustls: the server side of the handshake, driven by the pending-connection poller on the
//! non-blocking socket and bounded by its deadline, the stream an association then runs on,
//! and what the handshake negotiated.
//!
//! The rustls [`ServerConfig`](rustls::ServerConfig) (certificate and key, trusted CAs, client certificate policy,
//! protocol versions and cipher suites) is the embedder's: see
//! [`AcceptorOptions::tls`](crate::AcceptorOptions::tls). A handshake that fails (a plain-TCP
//! client, an untrusted or missing client certificate, no common cipher suite, a silent peer)
//! ends only that connection, with one error event.

use std::fmt;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use rustls::pki_types::CertificateDer;
use rustls::{ProtocolVersion, ServerConnection};
use snafu::Snafu;
use tracing::{Level, debug};
use x509_cert::Certificate;
use x509_cert::der::Decode;

use crate::wire::{self, Transport};

/// What the TLS handshake of an association's connection negotiated.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsInfo {
    /// The protocol version, spelled as OpenSSL and DCMTK do: `TLSv1.2` or `TLSv1.3`.
    pub protocol_version: String,
    /// The cipher suite's IANA name, e.g. `TLS_AES_256_GCM_SHA384` or
    /// `TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256` (the names DCMTK's `+cs` takes).
    pub cipher_suite: String,
    /// The subject of the client's certificate as an RFC 4514 string (most significant RDN
    /// last, e.g. `O=Example Hospital,CN=CT scanner 1`); `None` when the client presented no
    /// certificate (possible when the server's client certificate verifier does not require
    /// one) or when its subject cannot be decoded.
    pub peer_subject: Option<String>,
    /// The client's certificate chain as presented, end-entity certificate first; empty when
    /// it presented none. Whether it was verified depends on the server's
    /// [`ServerConfig`](rustls::ServerConfig)'s client certificate verifier.
    pub peer_certificates: Vec<CertificateDer<'static>>,
}

impl TlsInfo {
    /// TLS information for tests of sinks and access controls.
    pub fn new(
        protocol_version: impl Into<String>,
        cipher_suite: impl Into<String>,
        peer_subject: Option<String>,
    ) -> Self {
        TlsInfo {
            protocol_version: protocol_version.into(),
            cipher_suite: cipher_suite.into(),
            peer_subject,
            peer_certificates: Vec::new(),
        }
    }
}

/// The stream of a TLS association: rustls over the accepted TCP connection.
///
/// Unlike rustls' `StreamOwned`, a `read` reads the socket at most once: when that brought no
/// complete record, it returns [`io::ErrorKind::Interrupted`], so that the caller checks its
/// deadline before the next socket read. A peer that sends a record a byte at a time therefore
/// cannot stretch one `read` beyond the DIMSE timeout.
pub(crate) struct TlsStream {
    pub(crate) conn: ServerConnection,
    pub(crate) sock: TcpStream,
}

impl TlsStream {
    /// Writes every TLS record rustls has queued.
    fn write_pending(&mut self) -> io::Result<()> {
        while self.conn.wants_write() {
            if self.conn.write_tls(&mut self.sock)? == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
        }
        Ok(())
    }
}

impl Read for TlsStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.write_pending()?;
        match self.conn.reader().read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => return other,
        }
        self.conn.read_tls(&mut self.sock)?;
        if let Err(error) = self.conn.process_new_packets() {
            flush_tls(&mut self.conn, &mut self.sock);
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
        match self.conn.reader().read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                Err(io::ErrorKind::Interrupted.into())
            }
            other => other,
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.conn.writer().write(buf)?;
        self.write_pending()?;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.conn.writer().flush()?;
        self.write_pending()?;
        self.sock.flush()
    }
}

impl Transport for TlsStream {
    fn socket(&self) -> &TcpStream {
        &self.sock
    }

    fn close(&mut self) {
        self.conn.send_close_notify();
        flush_tls(&mut self.conn, &mut self.sock);
        wire::shutdown(&self.sock);
    }
}

/// Why a TLS handshake failed.
#[derive(Debug, Snafu)]
pub(crate) enum HandshakeError {
    /// The handshake did not complete before the ACSE timeout.
    #[snafu(display("no TLS handshake within {} s", timeout.as_secs()))]
    TimedOut { timeout: Duration },
    /// The peer closed the connection during the handshake.
    #[snafu(display("the peer closed the connection during the TLS handshake"))]
    Closed,
    /// Reading or writing the socket failed.
    #[snafu(display("cannot exchange TLS handshake messages"))]
    Io { source: io::Error },
    /// rustls refused the peer's messages or certificate (the alert has been sent).
    #[snafu(display("{error}"))]
    Tls { error: rustls::Error },
}

impl HandshakeError {
    /// What to do about certificate refusals that webpki reports only by a name, where OpenSSL
    /// would have accepted the certificate.
    fn hint(&self) -> Option<&'static str> {
        let HandshakeError::Tls {
            error: rustls::Error::InvalidCertificate(rustls::CertificateError::Other(other)),
        } = self
        else {
            return None;
        };
        let name = format!("{other:?}");
        if name.contains("UnsupportedCertVersion") {
            Some(
                "the client certificate is X.509 v1, which rustls does not accept: issue a v3 \
                 certificate (e.g. `openssl x509 -req ... -extfile` with extensions)",
            )
        } else if name.contains("CaUsedAsEndEntity") {
            Some(
                "the client certificate is a CA certificate (CA:TRUE), which rustls accepts \
                 only as an issuer",
            )
        } else {
            None
        }
    }

    /// DCMTK's text for the failure after `Could not receive association request: ` (measured
    /// with DCMTK 3.6.7 on OpenSSL 3), so that the lines operators grep for are the same.
    pub(crate) fn dcmtk_text(&self) -> String {
        match self {
            // DCMTK gives up on a silent peer after 60 s with this line.
            HandshakeError::TimedOut { .. } => {
                "TLS read operation did not complete (SSL_ERROR_WANT_READ)".to_string()
            }
            other => format!("TLS error: {}", other.openssl_reason()),
        }
    }

    /// OpenSSL's wording for the failure, as DCMTK logs it after `TLS error: `.
    pub(crate) fn openssl_reason(&self) -> &'static str {
        use rustls::{Error, PeerIncompatible};
        match self {
            HandshakeError::TimedOut { .. } => "timeout",
            HandshakeError::Closed => "unexpected eof while reading",
            HandshakeError::Io { .. } => "system lib",
            HandshakeError::Tls { error } => match error {
                Error::NoCertificatesPresented => "peer did not return a certificate",
                Error::InvalidCertificate(_) => "certificate verify failed",
                Error::InvalidMessage(_) => "wrong version number",
                Error::PeerIncompatible(PeerIncompatible::NoCipherSuitesInCommon) => {
                    "no shared cipher"
                }
                Error::PeerIncompatible(
                    PeerIncompatible::Tls12NotOffered
                    | PeerIncompatible::Tls12NotOfferedOrEnabled
                    | PeerIncompatible::Tls13RequiredForQuic
                    | PeerIncompatible::SupportedVersionsExtensionRequired,
                ) => "unsupported protocol",
                Error::PeerIncompatible(_) => "handshake failure",
                Error::AlertReceived(_) => "alert received from the peer",
                Error::PeerMisbehaved(_) => "unexpected message",
                _ => "handshake failure",
            },
        }
    }
}

/// How far a step on a non-blocking socket got.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Step {
    /// Waiting for the socket (to become readable, or writable).
    Blocked,
    /// The handshake is complete.
    Done,
}

/// Advances the server side of the TLS handshake as far as the bytes that have arrived on the
/// non-blocking `sock` allow. When rustls refuses the peer, the alert it queued is sent (as
/// far as the socket takes it) before the error is returned, so the peer learns why.
pub(crate) fn handshake_step(
    conn: &mut ServerConnection,
    sock: &mut (impl Read + Write),
) -> Result<Step, HandshakeError> {
    loop {
        while conn.wants_write() {
            match conn.write_tls(sock) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Blocked),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(source) => return Err(HandshakeError::Io { source }),
            }
        }
        if !conn.is_handshaking() {
            return Ok(Step::Done);
        }
        match conn.read_tls(sock) {
            Ok(0) => return Err(HandshakeError::Closed),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Step::Blocked),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(source) => return Err(HandshakeError::Io { source }),
        }
        if let Err(error) = conn.process_new_packets() {
            flush_tls(conn, sock);
            return Err(HandshakeError::Tls { error });
        }
    }
}

/// Reads decrypted bytes from an established connection over the non-blocking `sock`:
/// [`io::ErrorKind::WouldBlock`] when none have arrived, `Ok(0)` at a clean end.
pub(crate) fn read_plaintext(
    conn: &mut ServerConnection,
    sock: &mut (impl Read + Write),
    buf: &mut [u8],
) -> io::Result<usize> {
    loop {
        match conn.reader().read(buf) {
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            other => return other,
        }
        conn.read_tls(sock)?;
        if let Err(error) = conn.process_new_packets() {
            flush_tls(conn, sock);
            return Err(io::Error::new(io::ErrorKind::InvalidData, error));
        }
    }
}

/// Writes whatever rustls has queued (an alert, a close_notify), ignoring failures: the
/// connection is being given up anyway, or the bytes will go with the next write.
pub(crate) fn flush_tls(conn: &mut ServerConnection, sock: &mut impl Write) {
    while conn.wants_write() {
        match conn.write_tls(sock) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let _ = sock.flush();
}

/// What the handshake negotiated, for [`AssociationInfo`](crate::AssociationInfo) and the log.
pub(crate) fn info(conn: &ServerConnection) -> TlsInfo {
    let protocol_version = match conn.protocol_version() {
        Some(ProtocolVersion::TLSv1_3) => "TLSv1.3".to_string(),
        Some(ProtocolVersion::TLSv1_2) => "TLSv1.2".to_string(),
        Some(other) => format!("{other:?}"),
        None => String::new(),
    };
    let cipher_suite = conn
        .negotiated_cipher_suite()
        .map(|s| iana_name(s.suite()))
        .unwrap_or_default();
    let peer_certificates: Vec<CertificateDer<'static>> = conn
        .peer_certificates()
        .map(<[CertificateDer<'static>]>::to_vec)
        .unwrap_or_default();
    let peer_subject = peer_certificates
        .first()
        .and_then(|der| Certificate::from_der(der).ok())
        .map(|cert| cert.tbs_certificate.subject.to_string());
    TlsInfo {
        protocol_version,
        cipher_suite,
        peer_subject,
        peer_certificates,
    }
}

/// The IANA name of a cipher suite (rustls spells TLS 1.3 suites `TLS13_...`).
pub(crate) fn iana_name(suite: rustls::CipherSuite) -> String {
    match suite.as_str() {
        Some(name) => match name.strip_prefix("TLS13_") {
            Some(rest) => format!("TLS_{rest}"),
            None => name.to_string(),
        },
        None => format!("{suite:?}"),
    }
}

/// Logs DCMTK's `TLS CONNECTION DETAILS` block at DEBUG.
pub(crate) fn log_details(info: &TlsInfo) {
    if !tracing::enabled!(Level::DEBUG) {
        return;
    }
    debug!("{}", Details(info));
}

/// DCMTK's block (`DcmTLSConnection::dumpConnectionParameters`), with what rustls tells us.
struct Details<'a>(&'a TlsInfo);

impl fmt::Display for Details<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let info = self.0;
        writeln!(
            f,
            "================== BEGIN TLS CONNECTION DETAILS ================="
        )?;
        writeln!(f, "Transport connection: TLS over TCP/IP")?;
        writeln!(f, "  Protocol    : {}", info.protocol_version)?;
        writeln!(f, "  Ciphersuite : {}", info.cipher_suite)?;
        match info
            .peer_certificates
            .first()
            .map(|der| Certificate::from_der(der))
        {
            None => writeln!(
                f,
                "Peer did not provide a certificate or certificate verification was disabled."
            )?,
            Some(Err(e)) => writeln!(f, "Peer certificate cannot be decoded: {e}")?,
            Some(Ok(cert)) => {
                let tbs = &cert.tbs_certificate;
                let version = match tbs.version {
                    x509_cert::Version::V1 => "v1",
                    x509_cert::Version::V2 => "v2",
                    x509_cert::Version::V3 => "v3",
                };
                writeln!(f, "Peer X.509{version} Certificate")?;
                writeln!(f, "  Subject     : {}", oneline(&tbs.subject))?;
                writeln!(f, "  Issued by   : {}", oneline(&tbs.issuer))?;
                writeln!(f, "  Serial no.  : {}", tbs.serial_number)?;
                writeln!(
                    f,
                    "  Validity    : not before {}, not after {}",
                    tbs.validity.not_before, tbs.validity.not_after
                )?;
            }
        }
        write!(
            f,
            "=================== END TLS CONNECTION DETAILS =================="
        )
    }
}

/// A name in OpenSSL's one-line form, as DCMTK prints it: `/CN=Test Modality/O=Example`.
fn oneline(name: &x509_cert::name::Name) -> String {
    name.0.iter().map(|rdn| format!("/{rdn}")).collect()
}

/// The log line for a failed handshake: DCMTK's text, then the peer and rustls's detail.
pub(crate) fn log_failure(peer: SocketAddr, error: &HandshakeError) {
    let mut detail = chain(error);
    if let Some(hint) = error.hint() {
        detail.push_str("; ");
        detail.push_str(hint);
    }
    tracing::error!(
        peer = %peer,
        detail = %detail,
        "Could not receive association request: {} (TLS handshake with {peer} failed: {detail})",
        error.dcmtk_text(),
    );
}

/// An error and its causes on one line, joined by `: `.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iana_names() {
        assert_eq!(
            iana_name(rustls::CipherSuite::TLS13_AES_256_GCM_SHA384),
            "TLS_AES_256_GCM_SHA384"
        );
        assert_eq!(
            iana_name(rustls::CipherSuite::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256),
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"
        );
    }

    #[test]
    fn openssl_reasons_for_the_refusals_dcmtk_logs() {
        let tls = |error| HandshakeError::Tls { error };
        assert_eq!(
            tls(rustls::Error::NoCertificatesPresented).openssl_reason(),
            "peer did not return a certificate"
        );
        assert_eq!(
            tls(rustls::Error::InvalidCertificate(
                rustls::CertificateError::UnknownIssuer
            ))
            .openssl_reason(),
            "certificate verify failed"
        );
        assert_eq!(
            tls(rustls::Error::InvalidMessage(
                rustls::InvalidMessage::InvalidContentType
            ))
            .openssl_reason(),
            "wrong version number"
        );
    }
}

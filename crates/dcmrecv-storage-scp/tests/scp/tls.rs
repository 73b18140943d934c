//! TLS under the association (`AcceptorOptions::tls`): associations over rustls, the client
//! certificate reaching access controls and sinks, and handshake failures that end only their
//! own connection. Keys and certificates are generated with rcgen for each test.

use std::sync::Arc;
use std::time::{Duration, Instant};

use dcmrecv_storage_scp::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use dcmrecv_storage_scp::rustls::server::WebPkiClientVerifier;
use dcmrecv_storage_scp::rustls::{self, ClientConfig, RootCertStore, ServerConfig};
use dcmrecv_storage_scp::{AcceptorOptions, AccessDenied, AccessRequest};
use dicom_ul::pdu::Pdu;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    KeyUsagePurpose,
};

use crate::support::*;

/// A certificate authority that issues server and client certificates.
struct Ca {
    cert: rcgen::Certificate,
    key: KeyPair,
}

/// A certificate with its private key.
struct Identity {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Ca {
    fn new(name: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, name);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        Ca { cert, key }
    }

    fn der(&self) -> CertificateDer<'static> {
        self.cert.der().clone()
    }

    fn roots(&self) -> Arc<RootCertStore> {
        let mut roots = RootCertStore::empty();
        roots.add(self.der()).unwrap();
        Arc::new(roots)
    }

    /// A certificate for `common_name` (and organisation `Example Hospital`); a server
    /// certificate names `localhost`.
    fn issue(&self, common_name: &str, server: bool) -> Identity {
        let names = if server {
            vec!["localhost".to_string()]
        } else {
            Vec::new()
        };
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        params
            .distinguished_name
            .push(DnType::OrganizationName, "Example Hospital");
        params.extended_key_usages = vec![if server {
            ExtendedKeyUsagePurpose::ServerAuth
        } else {
            ExtendedKeyUsagePurpose::ClientAuth
        }];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Identity {
            chain: vec![cert.der().clone(), self.der()],
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        }
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// How the server treats client certificates.
#[derive(Clone, Copy)]
enum ClientCerts {
    Required,
    Optional,
}

fn server_config(ca: &Ca, server: &Identity, client_certs: ClientCerts) -> Arc<ServerConfig> {
    let builder = WebPkiClientVerifier::builder_with_provider(ca.roots(), provider());
    let verifier = match client_certs {
        ClientCerts::Required => builder.build().unwrap(),
        ClientCerts::Optional => builder.allow_unauthenticated().build().unwrap(),
    };
    Arc::new(
        ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_client_cert_verifier(verifier)
            .with_single_cert(server.chain.clone(), server.key.clone_key())
            .unwrap(),
    )
}

fn client_config(ca: &Ca, client: Option<&Identity>) -> Arc<ClientConfig> {
    let builder = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(ca.roots());
    Arc::new(match client {
        Some(id) => builder
            .with_client_auth_cert(id.chain.clone(), id.key.clone_key())
            .unwrap(),
        None => builder.with_no_client_auth(),
    })
}

/// A CA, a server certificate for `localhost` and a client certificate for `client_cn`.
struct Pki {
    ca: Ca,
    server: Identity,
    client: Identity,
}

fn pki(client_cn: &str) -> Pki {
    let ca = Ca::new("Test CA");
    let server = ca.issue("localhost", true);
    let client = ca.issue(client_cn, false);
    Pki { ca, server, client }
}

fn tls_server(pki: &Pki, client_certs: ClientCerts, options: AcceptorOptions) -> Server {
    Server::start(options.tls(server_config(&pki.ca, &pki.server, client_certs)))
}

/// Associates over TLS with Verification and CT and asserts acceptance.
fn tls_association(server: &Server, config: Arc<ClientConfig>, calling: &str) -> Client {
    let mut c = connect_tls(server.addr, config);
    match c.associate(&rq(
        calling,
        vec![pc(1, VERIFICATION, &[IMPLICIT]), pc(3, CT, &[EXPLICIT])],
    )) {
        Pdu::AssociationAC(_) => c,
        other => panic!("expected A-ASSOCIATE-AC, got {other:?}"),
    }
}

fn echo(c: &mut Client, message_id: u16) {
    c.send(&p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(message_id))]));
    let (_, rsp) = c.read_command().expect("C-ECHO-RSP");
    let e = parse_command(&rsp);
    assert_eq!(us(&e, 0x0120), Some(message_id));
    assert_eq!(us(&e, 0x0900), Some(0x0000));
}

/// Sends a C-STORE with `data` in PDUs within our 16384-byte maximum, and checks success.
fn store(c: &mut Client, message_id: u16, uid: &str, data: &[u8]) {
    c.send(&p_data(&[pdv(
        3,
        COMMAND_LAST,
        &c_store_rq(message_id, CT, uid),
    )]));
    let chunks: Vec<&[u8]> = data.chunks(16000).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let flags = if i + 1 == chunks.len() {
            DATA_LAST
        } else {
            DATA_MORE
        };
        c.send(&p_data(&[pdv(3, flags, chunk)]));
    }
    let (_, rsp) = c.read_command().expect("C-STORE-RSP");
    assert_eq!(us(&parse_command(&rsp), 0x0900), Some(0x0000));
}

/// The server's log line about the handshake of the client on local port `port`.
#[track_caller]
fn assert_handshake_failure_logged(port: u16, reason: &str) {
    assert_handshake_line(port, &format!("TLS error: {reason}"));
}

/// The server's log line about the handshake of the client on local port `port`.
#[track_caller]
fn assert_handshake_line(port: u16, text: &str) {
    let needle = format!("TLS handshake with 127.0.0.1:{port} failed");
    assert_logged(
        &needle,
        &format!("Could not receive association request: {text}"),
    );
}

#[test]
fn tls_associations_echo_store_and_tell_the_sink_the_client_certificate_subject() {
    let pki = pki("CT scanner 1");
    let server = tls_server(
        &pki,
        ClientCerts::Required,
        AcceptorOptions::new().profile(storage_profile()),
    );
    let mut c = tls_association(&server, client_config(&pki.ca, Some(&pki.client)), "TLS01");
    echo(&mut c, 1);
    let data = payload(100_000);
    store(&mut c, 2, "1.2.826.0.1.3680043.2.1125.1", &data);
    c.release();
    let events = server.wait_events(|e| e.len() == 2);
    match &events[..] {
        [
            SinkEvent::Begin {
                tls_subject,
                calling_ae_title,
                ..
            },
            SinkEvent::Finished { data: stored, .. },
        ] => {
            assert_eq!(calling_ae_title, "TLS01");
            assert_eq!(
                tls_subject.as_deref(),
                Some("O=Example Hospital,CN=CT scanner 1")
            );
            assert_eq!(stored, &data);
        }
        other => panic!("unexpected sink events {other:?}"),
    }
    assert_logged(
        "TLS01",
        "association finished (released): 1 objects (0 failed)",
    );
}

#[test]
fn access_control_sees_the_client_certificate() {
    let pki = pki("allowed modality");
    let other = pki.ca.issue("other modality", false);
    let check = |r: &AccessRequest<'_>| match r.tls.and_then(|t| t.peer_subject.as_deref()) {
        Some(subject) if subject.ends_with("CN=allowed modality") => Ok(()),
        _ => Err(AccessDenied::CallingAeTitleNotRecognized),
    };
    let server = tls_server(
        &pki,
        ClientCerts::Required,
        AcceptorOptions::new().access_control(check),
    );
    let mut ok = tls_association(&server, client_config(&pki.ca, Some(&pki.client)), "TLS02");
    ok.release();
    let mut refused = connect_tls(server.addr, client_config(&pki.ca, Some(&other)));
    match refused.associate(&rq("TLS02B", vec![pc(1, VERIFICATION, &[IMPLICIT])])) {
        Pdu::AssociationRJ(rj) => assert_eq!(
            format!("{:?}", rj.source),
            "ServiceUser(CallingAETitleNotRecognized)"
        ),
        other => panic!("expected A-ASSOCIATE-RJ, got {other:?}"),
    }
}

#[test]
fn a_client_without_a_certificate_is_refused_when_certificates_are_required() {
    let pki = pki("client");
    let server = tls_server(&pki, ClientCerts::Required, AcceptorOptions::new());
    let mut c = connect_tls(server.addr, client_config(&pki.ca, None));
    let port = c.local_port();
    // TLS 1.3: the client's handshake ends before the server has seen the (missing)
    // certificate, so the refusal arrives as an alert instead of an answer.
    let _ = c.stream.write_all(&encode(&Pdu::AssociationRQ(rq(
        "TLS03",
        vec![pc(1, VERIFICATION, &[IMPLICIT])],
    ))));
    assert!(c.read_pdu().is_none(), "the association must not answer");
    assert_handshake_failure_logged(port, "peer did not return a certificate");
    // The server goes on serving.
    let mut good = tls_association(&server, client_config(&pki.ca, Some(&pki.client)), "TLS03B");
    echo(&mut good, 1);
    good.release();
}

#[test]
fn optional_client_certificates_accept_clients_without_one() {
    let pki = pki("optional client");
    let server = tls_server(
        &pki,
        ClientCerts::Optional,
        AcceptorOptions::new().profile(storage_profile()),
    );
    let mut anonymous = tls_association(&server, client_config(&pki.ca, None), "TLS04");
    store(&mut anonymous, 1, "1.2.3.4.1", &payload(10));
    anonymous.release();
    let mut known = tls_association(&server, client_config(&pki.ca, Some(&pki.client)), "TLS04");
    store(&mut known, 1, "1.2.3.4.2", &payload(10));
    known.release();
    let events = server.wait_events(|e| e.len() == 4);
    let subjects: Vec<Option<String>> = events
        .iter()
        .filter_map(|e| match e {
            SinkEvent::Begin { tls_subject, .. } => Some(tls_subject.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(
        subjects,
        [None, Some("O=Example Hospital,CN=optional client".into())]
    );
}

#[test]
fn a_client_certificate_from_an_untrusted_ca_is_refused() {
    let pki = pki("client");
    let rogue = Ca::new("Rogue CA");
    let intruder = rogue.issue("intruder", false);
    let server = tls_server(&pki, ClientCerts::Required, AcceptorOptions::new());
    let mut c = connect_tls(server.addr, client_config(&pki.ca, Some(&intruder)));
    let port = c.local_port();
    let _ = c.stream.write_all(&encode(&Pdu::AssociationRQ(rq(
        "TLS05",
        vec![pc(1, VERIFICATION, &[IMPLICIT])],
    ))));
    assert!(c.read_pdu().is_none(), "the association must not answer");
    assert_handshake_failure_logged(port, "certificate verify failed");
    assert_logged(&format!("127.0.0.1:{port}"), "UnknownIssuer");
}

#[test]
fn a_plain_tcp_client_on_a_tls_port_fails_while_a_tls_association_goes_on() {
    let pki = pki("client");
    let server = tls_server(&pki, ClientCerts::Required, AcceptorOptions::new());
    let mut tls = tls_association(&server, client_config(&pki.ca, Some(&pki.client)), "TLS06");
    echo(&mut tls, 1);

    let mut plain = Client::connect(server.addr);
    let port = plain.local_port();
    plain.send(&encode(&Pdu::AssociationRQ(rq(
        "TLS06P",
        vec![pc(1, VERIFICATION, &[IMPLICIT])],
    ))));
    // What comes back (if anything) is a TLS alert, never an A-ASSOCIATE-AC; then the server
    // closes the connection.
    let mut answer = Vec::new();
    let _ = std::io::Read::read_to_end(&mut plain.stream, &mut answer);
    assert!(
        answer.first() != Some(&0x02),
        "a plain client got an A-ASSOCIATE-AC: {answer:?}"
    );
    assert_handshake_failure_logged(port, "wrong version number");

    echo(&mut tls, 2);
    tls.release();
    assert_logged("TLS06", "association finished (released)");
}

#[test]
fn a_silent_connection_is_closed_after_the_acse_timeout_without_blocking_others() {
    let pki = pki("client");
    let server = tls_server(
        &pki,
        ClientCerts::Required,
        AcceptorOptions::new().acse_timeout(Duration::from_secs(1)),
    );
    let mut silent = Client::connect(server.addr);
    let port = silent.local_port();
    let start = Instant::now();
    let mut tls = tls_association(&server, client_config(&pki.ca, Some(&pki.client)), "TLS07");
    echo(&mut tls, 1);
    tls.release();
    silent.expect_closed();
    let waited = start.elapsed();
    assert!(
        waited >= Duration::from_millis(900) && waited < Duration::from_secs(5),
        "closed after {waited:?}"
    );
    assert_handshake_line(
        port,
        "TLS read operation did not complete (SSL_ERROR_WANT_READ)",
    );
    assert_logged(&format!("127.0.0.1:{port}"), "no TLS handshake within 1 s");
}

#[test]
fn over_the_limit_tls_clients_get_a_proper_rejection() {
    let pki = pki("client");
    let server = tls_server(
        &pki,
        ClientCerts::Required,
        AcceptorOptions::new().max_associations(1),
    );
    let mut first = tls_association(&server, client_config(&pki.ca, Some(&pki.client)), "TLS08");
    let mut second = connect_tls(server.addr, client_config(&pki.ca, Some(&pki.client)));
    match second.associate(&rq("TLS08B", vec![pc(1, VERIFICATION, &[IMPLICIT])])) {
        Pdu::AssociationRJ(rj) => assert_eq!(
            format!("{:?}", rj.source),
            "ServiceProviderPresentation(LocalLimitExceeded)"
        ),
        other => panic!("expected A-ASSOCIATE-RJ, got {other:?}"),
    }
    echo(&mut first, 1);
    first.release();
}

#[test]
fn shutdown_aborts_a_tls_association() {
    let pki = pki("client");
    let server = tls_server(&pki, ClientCerts::Required, AcceptorOptions::new());
    let mut c = tls_association(&server, client_config(&pki.ca, Some(&pki.client)), "TLS09");
    echo(&mut c, 1);
    let took = server.stop(Duration::ZERO);
    assert!(took < Duration::from_secs(5), "shutdown took {took:?}");
    c.expect_abort();
}

// See: https://github.com/dcmrecv-rs/dcmrecv-rs/issues/11 (item 4: the DIMSE timeout is a
// deadline for a whole PDU, also when its TLS record arrives a byte at a time).
#[test]
fn a_tls_peer_that_drips_a_record_is_cut_by_the_dimse_timeout() {
    use std::io::{Read, Write};
    let pki = pki("dripper");
    let server = tls_server(
        &pki,
        ClientCerts::Required,
        AcceptorOptions::new()
            .profile(storage_profile())
            .dimse_timeout(Some(Duration::from_secs(1))),
    );
    let sock = std::net::TcpStream::connect(server.addr).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let conn =
        rustls::ClientConnection::new(client_config(&pki.ca, Some(&pki.client)), name).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, sock);
    let request = rq("TLSDRIP", vec![pc(1, VERIFICATION, &[IMPLICIT])]);
    tls.write_all(&encode(&Pdu::AssociationRQ(request)))
        .unwrap();
    let mut header = [0u8; 6];
    tls.read_exact(&mut header).unwrap();
    assert_eq!(header[0], 0x02, "A-ASSOCIATE-AC");
    let length = u32::from_be_bytes([header[2], header[3], header[4], header[5]]) as usize;
    let mut body = vec![0u8; length];
    tls.read_exact(&mut body).unwrap();
    // The TLS record of a C-ECHO, sent one byte every 50 ms (about 6 s for all of it).
    tls.conn
        .writer()
        .write_all(&p_data(&[pdv(1, COMMAND_LAST, &c_echo_rq(1))]))
        .unwrap();
    let mut record = Vec::new();
    while tls.conn.wants_write() {
        tls.conn.write_tls(&mut record).unwrap();
    }
    assert!(record.len() > 100, "{} bytes", record.len());
    let start = Instant::now();
    tls.sock
        .set_read_timeout(Some(Duration::from_millis(50)))
        .unwrap();
    let mut cut = None;
    for byte in &record {
        if tls.sock.write_all(&[*byte]).is_err() {
            cut = Some(start.elapsed());
            break;
        }
        let mut buf = [0u8; 64];
        match tls.sock.read(&mut buf) {
            Ok(_) => {
                // The server's (encrypted) A-ABORT, or its close.
                cut = Some(start.elapsed());
                break;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => {
                cut = Some(start.elapsed());
                break;
            }
        }
    }
    let cut = cut.expect("the dripping peer was never cut");
    assert!(cut >= Duration::from_millis(900), "{cut:?}");
    assert!(cut < Duration::from_millis(2000), "{cut:?}");
    assert_logged("TLSDRIP", "DIMSE timeout");
}

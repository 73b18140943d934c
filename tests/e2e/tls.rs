//! DICOM over TLS (issue 8) with real DCMTK peers: `echoscu +tls` and `storescu +tls` against our
//! `dcmrecv +tls`, the peer-certificate policies (`-rc`, `-vc`, `-ic`) and CRLs, each refusal
//! compared with the real `/usr/bin/dcmrecv +tls` (acceptance and the `TLS error:` reason of its
//! log line), exit code 71 with DCMTK's fatal lines, encrypted keys, and a plain-TCP client on
//! the TLS port. Keys and certificates are made at test time with the `openssl` tool
//! ([`dcmrecv_e2e::pki`]).

use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use dcmrecv_e2e::objects::Instance;
use dcmrecv_e2e::peers::dcmtk_command;
use dcmrecv_e2e::pki::{KEY_PASSWORD, TestPki};
use dcmrecv_e2e::process::{free_port, run_with_timeout};
use dcmrecv_e2e::receiver::{Receiver, Running};

const CLIENT_TIMEOUT: Duration = Duration::from_secs(60);

/// Runs `echoscu <client args> 127.0.0.1 <port>`; whether the C-ECHO succeeded.
fn echo(port: u16, client: &[String]) -> bool {
    let mut cmd = dcmtk_command("echoscu");
    // -to: DCMTK's client would wait for a server that never answers.
    cmd.args(client)
        .args(["-to", "20", "127.0.0.1", &port.to_string()]);
    run_with_timeout(cmd, CLIENT_TIMEOUT).status.success()
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// The clients of the refusal matrix, by name.
fn client_args(pki: &TestPki, client: &str) -> Vec<String> {
    let trust = ["+cf".to_string(), pki.path("ca.crt")];
    match client {
        // A modality with a certificate from our CA.
        "certified" => [pki.tls_args("client"), trust.to_vec()].concat(),
        // A modality without a certificate (DCMTK's anonymous TLS).
        "anonymous" => [vec!["+tla".to_string()], trust.to_vec()].concat(),
        // A certificate from a CA the receiver does not trust.
        "untrusted" => [pki.tls_args("intruder"), trust.to_vec()].concat(),
        // A certificate our CA revoked.
        "revoked" => [pki.tls_args("revoked"), trust.to_vec()].concat(),
        // No TLS at all.
        "plain" => vec!["-tls".to_string()],
        other => panic!("unknown client {other}"),
    }
}

/// Starts `receiver` with `+tls server.key server.crt` and `extra`.
fn start_tls(receiver: &Receiver, pki: &TestPki, extra: &[String], od: &Path) -> Running {
    let mut args = strings(&["-v"]);
    args.extend(pki.tls_args("server"));
    args.extend_from_slice(extra);
    receiver
        .start(&args, od)
        .unwrap_or_else(|e| panic!("{}: {e}", receiver.name))
}

/// One policy: the receiver's extra options, then each client with whether it is served and,
/// if refused, the OpenSSL reason in the `TLS error:` line.
type Matrix<'a> = (&'a [&'a str], &'a [(&'a str, Option<&'a str>)]);

/// Runs the matrix against ours and the real dcmrecv: both must accept and refuse the same
/// clients, and log the same reason for each refusal.
fn check_matrix(pki: &TestPki, (extra, clients): Matrix<'_>) {
    let extra: Vec<String> = extra
        .iter()
        .map(|a| match a.strip_prefix('@') {
            Some(file) => pki.path(file),
            None => a.to_string(),
        })
        .collect();
    for receiver in [Receiver::ours(), Receiver::dcmtk()] {
        let od = tempfile::tempdir().expect("output directory");
        let running = start_tls(&receiver, pki, &extra, od.path());
        for (client, refusal) in clients {
            let served = echo(running.port, &client_args(pki, client));
            assert_eq!(
                served,
                refusal.is_none(),
                "{} {extra:?}: client {client} {}:\n{}",
                receiver.name,
                if served { "was served" } else { "was refused" },
                running.guard.stderr()
            );
            if let Some(reason) = refusal {
                let line = format!("Could not receive association request: TLS error: {reason}");
                assert!(
                    running.guard.wait_for_log(&line, Duration::from_secs(5)),
                    "{} {extra:?}: client {client}: no line {line:?}:\n{}",
                    receiver.name,
                    running.guard.stderr()
                );
            }
        }
    }
}

#[test]
fn require_peer_certificate_is_the_default() {
    let pki = TestPki::generate();
    check_matrix(
        &pki,
        (
            &["+cf", "@ca.crt"],
            &[
                ("certified", None),
                ("anonymous", Some("peer did not return a certificate")),
                ("untrusted", Some("certificate verify failed")),
                ("plain", Some("wrong version number")),
                ("certified", None),
            ],
        ),
    );
}

#[test]
fn verify_peer_certificate_accepts_clients_without_one() {
    let pki = TestPki::generate();
    check_matrix(
        &pki,
        (
            &["+cf", "@ca.crt", "-vc"],
            &[
                ("anonymous", None),
                ("certified", None),
                ("untrusted", Some("certificate verify failed")),
            ],
        ),
    );
}

#[test]
fn ignore_peer_certificate_accepts_anyone_with_tls() {
    let pki = TestPki::generate();
    check_matrix(
        &pki,
        (
            &["-ic"],
            &[
                ("anonymous", None),
                ("untrusted", None),
                ("certified", None),
                ("plain", Some("wrong version number")),
            ],
        ),
    );
}

#[test]
fn no_trusted_ca_refuses_every_client_certificate() {
    let pki = TestPki::generate();
    check_matrix(
        &pki,
        (
            &[],
            &[
                ("certified", Some("certificate verify failed")),
                ("anonymous", Some("peer did not return a certificate")),
            ],
        ),
    );
}

#[test]
fn a_crl_revokes_a_client_certificate() {
    let pki = TestPki::generate();
    check_matrix(
        &pki,
        (
            &["+cf", "@ca.crt", "+crl", "@crl.pem"],
            &[
                ("revoked", Some("certificate verify failed")),
                ("certified", None),
            ],
        ),
    );
}

#[test]
fn storescu_over_tls_stores_the_object() {
    let pki = TestPki::generate();
    let od = tempfile::tempdir().unwrap();
    let extra = [
        "+cf".to_string(),
        pki.path("ca.crt"),
        "-xf".into(),
        "/etc/dcmtk/storescp.cfg".into(),
        "Default".into(),
    ];
    let running = start_tls(&Receiver::ours(), &pki, &extra, od.path());
    let input = tempfile::tempdir().unwrap();
    let uid = "1.2.826.0.1.3680043.2.1125.8.1";
    let file = input.path().join("ct.dcm");
    Instance::ct(uid).write(&file, "1.2.840.10008.1.2.1");
    let mut cmd = dcmtk_command("storescu");
    cmd.args(client_args(&pki, "certified"))
        .args(["127.0.0.1", &running.port.to_string()])
        .arg(&file);
    let out = run_with_timeout(cmd, CLIENT_TIMEOUT);
    assert!(
        out.status.success(),
        "storescu +tls failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        running.guard.stderr()
    );
    let stored = od.path().join(format!("CT.{uid}"));
    assert!(
        running.guard.wait_for_log(
            "association finished (released): 1 objects",
            Duration::from_secs(5)
        ),
        "{}",
        running.guard.stderr()
    );
    assert!(stored.is_file(), "{} missing", stored.display());
    let dump = run_with_timeout(
        {
            let mut c = dcmtk_command("dcmdump");
            c.arg(&stored);
            c
        },
        CLIENT_TIMEOUT,
    );
    assert!(dump.status.success());
    assert!(String::from_utf8_lossy(&dump.stdout).contains(uid));
}

#[test]
fn a_plain_tcp_client_fails_cleanly_while_tls_clients_are_served() {
    let pki = TestPki::generate();
    let od = tempfile::tempdir().unwrap();
    let running = start_tls(
        &Receiver::ours(),
        &pki,
        &["+cf".to_string(), pki.path("ca.crt")],
        od.path(),
    );
    let port = running.port;
    // A connection that never starts its handshake holds a thread, not the server.
    let silent = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let plain = std::thread::spawn(move || echo(port, &strings(&["-tls"])));
    let certified = client_args(&pki, "certified");
    let served: Vec<bool> = (0..3).map(|_| echo(port, &certified)).collect();
    assert_eq!(served, [true, true, true], "{}", running.guard.stderr());
    assert!(!plain.join().unwrap(), "a plain client was served");
    assert!(running.guard.wait_for_log(
        "Could not receive association request: TLS error: wrong version number",
        Duration::from_secs(5)
    ));
    drop(silent);
    assert!(
        running
            .guard
            .stderr()
            .matches("association finished (released)")
            .count()
            >= 3
    );
}

#[test]
fn encrypted_keys_with_a_password_option_or_on_stdin() {
    let pki = TestPki::generate();
    let od = tempfile::tempdir().unwrap();
    let identity = |key: &str| vec!["+tls".to_string(), pki.path(key), pki.path("server.crt")];
    let trust = ["+cf".to_string(), pki.path("ca.crt")];
    let certified = client_args(&pki, "certified");

    let args = [
        identity("server-encrypted.key"),
        strings(&["+pw", KEY_PASSWORD]),
        trust.to_vec(),
    ]
    .concat();
    let running = Receiver::ours().start(&args, od.path()).unwrap();
    assert!(echo(running.port, &certified), "{}", running.guard.stderr());
    drop(running);

    // +ps (the default): OpenSSL's prompt, the password read from stdin.
    let args = [identity("server-encrypted.key"), trust.to_vec()].concat();
    let input = format!("{KEY_PASSWORD}\n");
    let running = Receiver::ours()
        .start_with_stdin(&args, od.path(), Some(input.as_bytes()))
        .unwrap();
    assert!(echo(running.port, &certified), "{}", running.guard.stderr());
    assert!(running.guard.stderr().contains("Enter PEM pass phrase:"));
    drop(running);

    // A wrong password: exit 71 with DCMTK's fatal line, as the real dcmrecv.
    let args = [identity("server-encrypted.key"), strings(&["+pw", "wrong"])].concat();
    let (ours, theirs) = both_fail(&args);
    assert_eq!(ours, theirs);

    // OpenSSL's traditional PEM encryption: DCMTK reads it, we refuse it and say how to convert
    // it (a recorded difference).
    let args = [
        identity("server-traditional.key"),
        strings(&["+pw", KEY_PASSWORD]),
    ]
    .concat();
    let refused = run_receiver(&Receiver::ours(), &args);
    assert_eq!(refused.0, 71);
    assert!(
        refused.1.contains("Proc-Type: 4,ENCRYPTED") && refused.1.contains("openssl pkcs8 -topk8"),
        "{}",
        refused.1
    );
    let dcmtk = Receiver::dcmtk().start(&[args, trust.to_vec()].concat(), od.path());
    assert!(dcmtk.is_ok(), "DCMTK no longer reads traditional keys?");
}

#[test]
fn unloadable_keys_and_certificates_exit_71_with_dcmtks_fatal_line() {
    let pki = TestPki::generate();
    for args in [
        vec![
            "+tls".to_string(),
            "missing.key".into(),
            pki.path("server.crt"),
        ],
        vec![
            "+tls".to_string(),
            pki.path("server.key"),
            pki.path("client.crt"),
        ],
        vec![
            "+tls".to_string(),
            pki.path("server.crt"),
            pki.path("server.crt"),
        ],
    ] {
        let (ours, theirs) = both_fail(&args);
        assert_eq!(ours, theirs, "{args:?}");
    }
}

/// Runs a receiver that must fail to start: (exit code, stderr).
fn run_receiver(receiver: &Receiver, args: &[String]) -> (i32, String) {
    let od = tempfile::tempdir().expect("output directory");
    let mut cmd = Command::new(&receiver.binary);
    cmd.args(args)
        .arg("-od")
        .arg(od.path())
        .arg(free_port().to_string());
    let out = run_with_timeout(cmd, CLIENT_TIMEOUT);
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs ours and the real dcmrecv with `args`; both must exit 71. Returns each one's exit code
/// and `F:` line.
fn both_fail(args: &[String]) -> ((i32, String), (i32, String)) {
    let fatal = |receiver: &Receiver| {
        let (code, stderr) = run_receiver(receiver, args);
        let line = stderr
            .lines()
            .rfind(|l| l.starts_with("F: "))
            .unwrap_or_default()
            .to_string();
        assert_eq!(code, 71, "{} {args:?}:\n{stderr}", receiver.name);
        (code, line)
    };
    (fatal(&Receiver::ours()), fatal(&Receiver::dcmtk()))
}

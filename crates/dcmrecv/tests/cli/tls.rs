//! The TLS options at start-up: `+cc`, what rustls cannot do, and where the TLS transport
//! layer's exit code 71 stands in DCMTK's order (1 > 66 > 45 > 71 > 64). Keys and
//! certificates are generated with rcgen; a port held by the test makes a run that got past
//! the TLS layer stop at the listen step (64) instead of serving.

use std::net::TcpListener;
use std::path::Path;

use crate::{MISSING, assert_error, dcmrecv, dcmrecv_in, dcmrecv_with_stdin};

/// Writes `server.key`, `server.crt`, `other.crt` (another key's) and `encrypted.key`
/// (`server.key` as encrypted PKCS#8, password `s3cret`) into `dir`.
fn write_identity(dir: &Path) {
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    let other_key = rcgen::KeyPair::generate().unwrap();
    let other = rcgen::CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .self_signed(&other_key)
        .unwrap();
    std::fs::write(dir.join("server.key"), key.serialize_pem()).unwrap();
    std::fs::write(dir.join("server.crt"), cert.pem()).unwrap();
    std::fs::write(dir.join("other.crt"), other.pem()).unwrap();
    let der = key.serialize_der();
    let info = pkcs8::PrivateKeyInfo::try_from(der.as_slice()).unwrap();
    let params =
        pkcs8::pkcs5::pbes2::Parameters::pbkdf2_sha256_aes256cbc(2048, &[3; 16], &[4; 16]).unwrap();
    let encrypted = info.encrypt_with_params(params, "s3cret").unwrap();
    let pem = pkcs8::der::pem::encode_string(
        "ENCRYPTED PRIVATE KEY",
        pkcs8::der::pem::LineEnding::LF,
        encrypted.as_bytes(),
    )
    .unwrap();
    std::fs::write(dir.join("encrypted.key"), pem).unwrap();
}

/// A port on 127.0.0.1 that is in use while the listener lives.
fn busy_port() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port().to_string();
    (listener, port)
}

#[test]
fn list_ciphers_prints_the_suites_and_exits_0() {
    for args in [&["+cc"][..], &["--list-ciphers", "1", "2"], &["-v", "+cc"]] {
        let run = dcmrecv(args);
        assert_eq!(run.code, 0, "{args:?}: {run:?}");
        assert_eq!(run.stderr, "", "{args:?}");
        let list = run
            .stdout
            .split_once("Supported TLS ciphersuites are:\n")
            .map(|(_, list)| list)
            .unwrap_or_else(|| panic!("no list: {}", run.stdout));
        let names: Vec<&str> = list.lines().map(str::trim).collect();
        assert_eq!(names.len(), 9, "{list}");
        assert!(names.contains(&"TLS_AES_256_GCM_SHA384"));
        assert!(names.contains(&"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"));
        assert!(list.lines().all(|l| l.starts_with("  TLS_")), "{list}");
    }
    // Parse errors still win, as in DCMTK.
    assert_error(&["+cc", "--foo"], "Unknown option --foo");
}

#[test]
fn options_rustls_cannot_honour_are_refused() {
    assert_error(
        &["+tls", "k", "c", "+pn", "11112"],
        "--profile-null is not supported by dcmrecv-rs (rustls has no unencrypted cipher \
         suites; use --profile-bcp195-nd)",
    );
    assert_error(
        &["+tls", "k", "c", "+dp", "dh.pem", "11112"],
        "--dhparam is not supported by dcmrecv-rs (rustls has no finite-field Diffie-Hellman \
         key exchange; its ECDHE suites need no parameters)",
    );
    // DCMTK's own checks keep their messages.
    assert_error(
        &["+dp", "dh.pem", "11112"],
        "--dhparam only allowed with --enable-tls",
    );
}

#[test]
fn the_transport_layer_comes_after_the_profile_and_the_output_directory() {
    let dir = tempfile::tempdir().unwrap();
    let missing_key = ["+tls", "missing.key", "missing.crt"];
    // 66 before 71.
    let mut args = missing_key.to_vec();
    args.extend(["-xf", "missing.cfg", "Default", "-od", ".", "11112"]);
    assert_eq!(dcmrecv_in(dir.path(), &args).code, 66);
    // 45 before 71.
    let mut args = missing_key.to_vec();
    args.extend(["-od", MISSING, "11112"]);
    assert_eq!(dcmrecv_in(dir.path(), &args).code, 45);
    // 71, with DCMTK's fatal line after our explanation.
    let (_held, port) = busy_port();
    let mut args = missing_key.to_vec();
    args.extend(["-ba", "127.0.0.1", "-od", ".", &port]);
    let run = dcmrecv_in(dir.path(), &args);
    assert_eq!(run.code, 71, "{run:?}");
    let lines: Vec<&str> = run.stderr.lines().collect();
    assert_eq!(
        lines.last().copied(),
        Some("F: 000b:0004 Unable to load private TLS key from 'missing.key'"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("E: cannot load the TLS private key: cannot read missing.key: "),
        "{}",
        run.stderr
    );
}

#[test]
fn a_loadable_identity_gets_to_the_listen_step() {
    let dir = tempfile::tempdir().unwrap();
    write_identity(dir.path());
    let (_held, port) = busy_port();
    // Runs `dcmrecv +tls <tls...> -ba 127.0.0.1 -od . <busy port>`: 64 once TLS is set up.
    let start = |tls: &[&str]| {
        let mut args = vec!["+tls"];
        args.extend_from_slice(tls);
        args.extend(["-ba", "127.0.0.1", "-od", ".", &port]);
        dcmrecv_in(dir.path(), &args)
    };
    let run = start(&["server.key", "server.crt"]);
    assert_eq!(run.code, 64, "{run:?}");
    // No +cf: DCMTK starts and then refuses every client certificate; we say so.
    assert!(
        run.stderr
            .contains("W: no trusted CA certificate was loaded"),
        "{}",
        run.stderr
    );
    for (tls, end) in [
        (
            &["server.key", "other.crt"][..],
            "F: 000b:0006 Private key 'server.key' and certificate 'other.crt' do not match\n",
        ),
        (
            &["server.key", "server.crt", "+cs", "FOO"],
            "E: ciphersuite 'FOO' is unknown\nF: 0001:0007 Illegal call, perhaps wrong parameters\n",
        ),
    ] {
        let run = start(tls);
        assert_eq!(run.code, 71, "{tls:?}: {run:?}");
        assert!(run.stderr.ends_with(end), "{tls:?}: {}", run.stderr);
    }
}

#[test]
fn encrypted_keys_take_the_password_from_the_options_or_stdin() {
    let dir = tempfile::tempdir().unwrap();
    write_identity(dir.path());
    let (_held, port) = busy_port();
    let run_with = |password: &[&str], stdin: Option<&str>| {
        let mut args = vec!["+tls", "encrypted.key", "server.crt"];
        args.extend_from_slice(password);
        args.extend(["-ba", "127.0.0.1", "-od", ".", &port]);
        dcmrecv_with_stdin(dir.path(), &args, stdin)
    };
    assert_eq!(run_with(&["+pw", "s3cret"], None).code, 64);
    let wrong = run_with(&["+pw", "wrong"], None);
    assert_eq!(wrong.code, 71, "{wrong:?}");
    assert!(wrong.stderr.contains("wrong password"), "{}", wrong.stderr);
    assert_eq!(run_with(&["-pw"], None).code, 71);
    // +ps (the default): the prompt on stderr, the password from stdin.
    let prompted = run_with(&[], Some("s3cret\n"));
    assert_eq!(prompted.code, 64, "{prompted:?}");
    assert!(
        prompted.stderr.contains("\nEnter PEM pass phrase:\n"),
        "{}",
        prompted.stderr
    );
    assert_eq!(run_with(&["+ps"], Some("nope\n")).code, 71);
    assert_eq!(run_with(&["+ps"], None).code, 71);
}

#[test]
fn the_key_password_is_not_shown_with_the_configuration() {
    let shown = crate::config(&["+tls", "k.pem", "c.pem", "+pw", "s3cret", "11112"]);
    assert!(shown.contains("Given(<hidden>)"), "{shown}");
    assert!(!shown.contains("s3cret"), "{shown}");
}

//! DCMTK's TLS options (`DcmTLSOptions::addTLSCommandlineOptions`, DCMTK 3.6.7): their rows and
//! the help group, for a program's option table.

use dcmrecv_cmdline::Layout;

dcmrecv_cmdline::option_table! {
    /// DCMTK's TLS options.
    pub enum TlsOpt;

    /// `-tls`.
    DisableTls = Some("-tls"), "--disable-tls", 0, ["use normal TCP/IP connection (default)"];
    /// `+tls KEY CERT`.
    EnableTls = Some("+tls"), "--enable-tls", 2, [
        "[p]rivate key file, [c]ertificate file: string",
        "use authenticated secure TLS connection",
    ];
    /// `+ps`.
    StdPasswd = Some("+ps"), "--std-passwd", 0, [
        "prompt user to type password on stdin (default)",
    ];
    /// `+pw PASSWORD`.
    UsePasswd = Some("+pw"), "--use-passwd", 1, ["[p]assword: string", "use specified password"];
    /// `-pw`.
    NullPasswd = Some("-pw"), "--null-passwd", 0, ["use empty string as password"];
    /// `-pem`.
    PemKeys = Some("-pem"), "--pem-keys", 0, ["read keys and certificates as PEM file (default)"];
    /// `-der`.
    DerKeys = Some("-der"), "--der-keys", 0, ["read keys and certificates as DER file"];
    /// `+cf FILE` (repeatable).
    AddCertFile = Some("+cf"), "--add-cert-file", 1, [
        "[f]ilename: string",
        "add certificate file to list of certificates",
    ];
    /// `+cd DIR` (repeatable).
    AddCertDir = Some("+cd"), "--add-cert-dir", 1, [
        "[d]irectory: string",
        "add certificates in d to list of certificates",
    ];
    /// `+crl FILE` (repeatable).
    AddCrlFile = Some("+crl"), "--add-crl-file", 1, [
        "[f]ilename: string",
        "add certificate revocation list file",
        "(implies --enable-crl-vfy)",
    ];
    /// `+crv`.
    EnableCrlVfy = Some("+crv"), "--enable-crl-vfy", 0, ["enable leaf CRL verification"];
    /// `+cra`.
    EnableCrlAll = Some("+cra"), "--enable-crl-all", 0, ["enable full chain CRL verification"];
    /// `+py`.
    ProfileBcp195Nd = Some("+py"), "--profile-bcp195-nd", 0, [
        "Non-downgrading BCP 195 TLS Profile (default)",
    ];
    /// `+px`.
    ProfileBcp195 = Some("+px"), "--profile-bcp195", 0, ["BCP 195 TLS Profile"];
    /// `+pz`.
    ProfileBcp195Ex = Some("+pz"), "--profile-bcp195-ex", 0, ["Extended BCP 195 TLS Profile"];
    /// `+pa`.
    ProfileAes = Some("+pa"), "--profile-aes", 0, [
        "AES TLS Secure Transport Connection Profile",
        "(retired)",
    ];
    /// `+pn`.
    ProfileNull = Some("+pn"), "--profile-null", 0, [
        "Authenticated unencrypted communication",
        "(retired, was used in IHE ATNA)",
    ];
    /// `+cc`: list the cipher suites and exit.
    ListCiphers = Some("+cc"), "--list-ciphers", 0, [
        "show list of supported TLS ciphersuites and exit",
    ];
    /// `+cs NAME` (repeatable).
    Cipher = Some("+cs"), "--cipher", 1, [
        "[c]iphersuite name: string",
        "add ciphersuite to list of negotiated suites",
        "(not with --profile-bcp195-ex)",
    ];
    /// `+dp FILE`.
    DhParam = Some("+dp"), "--dhparam", 1, [
        "[f]ilename: string",
        "read DH parameters for DH/DSS ciphersuites",
    ];
    /// `+rs FILE`.
    Seed = Some("+rs"), "--seed", 1, [
        "[f]ilename: string",
        "seed random generator with contents of f",
    ];
    /// `+ws`.
    WriteSeed = Some("+ws"), "--write-seed", 0, ["write back modified seed (only with --seed)"];
    /// `+wf FILE`.
    WriteSeedFile = Some("+wf"), "--write-seed-file", 1, [
        "[f]ilename: string (only with --seed)",
        "write modified seed to file f",
    ];
    /// `-rc`.
    RequirePeerCert = Some("-rc"), "--require-peer-cert", 0, [
        "verify peer certificate, fail if absent (default)",
    ];
    /// `-vc`.
    VerifyPeerCert = Some("-vc"), "--verify-peer-cert", 0, ["verify peer certificate if present"];
    /// `-ic`.
    IgnorePeerCert = Some("-ic"), "--ignore-peer-cert", 0, ["don't verify peer certificate"];
}

/// DCMTK's "transport layer security (TLS) options" group, with its sub-groups, in DCMTK's
/// order: `Layout::Include(dcmrecv_tls::HELP_LAYOUT)` in a program's table.
pub const HELP_LAYOUT: &[Layout] = {
    use Layout::{Group, Option as O, Subgroup};
    &[
        Group("transport layer security (TLS) options:"),
        Subgroup("transport protocol stack:"),
        O(TlsOpt::DisableTls.spec()),
        O(TlsOpt::EnableTls.spec()),
        Subgroup("private key password (only with --enable-tls):"),
        O(TlsOpt::StdPasswd.spec()),
        O(TlsOpt::UsePasswd.spec()),
        O(TlsOpt::NullPasswd.spec()),
        Subgroup("key and certificate file format:"),
        O(TlsOpt::PemKeys.spec()),
        O(TlsOpt::DerKeys.spec()),
        Subgroup("certification authority:"),
        O(TlsOpt::AddCertFile.spec()),
        O(TlsOpt::AddCertDir.spec()),
        O(TlsOpt::AddCrlFile.spec()),
        O(TlsOpt::EnableCrlVfy.spec()),
        O(TlsOpt::EnableCrlAll.spec()),
        Subgroup("security profile:"),
        O(TlsOpt::ProfileBcp195Nd.spec()),
        O(TlsOpt::ProfileBcp195.spec()),
        O(TlsOpt::ProfileBcp195Ex.spec()),
        O(TlsOpt::ProfileAes.spec()),
        O(TlsOpt::ProfileNull.spec()),
        Subgroup("ciphersuite:"),
        O(TlsOpt::ListCiphers.spec()),
        O(TlsOpt::Cipher.spec()),
        O(TlsOpt::DhParam.spec()),
        Subgroup("pseudo random generator:"),
        O(TlsOpt::Seed.spec()),
        O(TlsOpt::WriteSeed.spec()),
        O(TlsOpt::WriteSeedFile.spec()),
        Subgroup("peer authentication:"),
        O(TlsOpt::RequirePeerCert.spec()),
        O(TlsOpt::VerifyPeerCert.spec()),
        O(TlsOpt::IgnorePeerCert.spec()),
    ]
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_option_is_in_the_group_once() {
        assert_eq!(dcmrecv_cmdline::layout::check(HELP_LAYOUT), Ok(()));
        let shown: Vec<_> = dcmrecv_cmdline::layout::options(HELP_LAYOUT).collect();
        assert_eq!(shown.len(), TlsOpt::ALL.len());
        for opt in TlsOpt::ALL {
            assert!(shown.contains(&opt.spec()), "{opt:?}");
        }
    }
}

//! A throw-away TLS PKI made with the `openssl` command-line tool at test time, with the commands
//! `docs/tls.md` gives: a CA, a server certificate for `localhost`/`127.0.0.1`, client
//! certificates (one of them revoked by a CRL), an encrypted copy of the server key, and a
//! second, untrusted CA with a client certificate of its own. Nothing is committed.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The hint printed when the `openssl` tool is missing.
pub const OPENSSL_HINT: &str = "the openssl command-line tool is required to make test \
     certificates: `sudo apt-get install -y openssl` (or set OPENSSL to its path)";

/// The password of `server-encrypted.key`.
pub const KEY_PASSWORD: &str = "secret";

/// The commands, run by `sh -eu` in the PKI's directory with `$OPENSSL` set. They are those of
/// `docs/tls.md` (plus the untrusted CA and the legacy-encrypted key the tests need).
const SCRIPT: &str = r#"
cat > pki.cnf <<'EOF'
[server]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
[client]
basicConstraints = CA:FALSE
keyUsage = digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
[ca]
database = index.txt
crlnumber = crlnumber
default_md = sha256
default_crl_days = 30
EOF
touch index.txt
echo 01 > crlnumber
O="$OPENSSL"
# The CA.
"$O" req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Example DICOM CA" -keyout ca.key -out ca.crt
# Our (the receiver's) certificate.
"$O" req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr
"$O" x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
    -extfile pki.cnf -extensions server -out server.crt
# Client certificates for the modalities.
for c in client revoked; do
    "$O" req -newkey rsa:2048 -nodes -subj "/O=Example Hospital/CN=$c" -keyout $c.key -out $c.csr
    "$O" x509 -req -in $c.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 30 \
        -extfile pki.cnf -extensions client -out $c.crt
done
# Revoke one and publish the CRL.
"$O" ca -config pki.cnf -name ca -cert ca.crt -keyfile ca.key -revoke revoked.crt
"$O" ca -config pki.cnf -name ca -cert ca.crt -keyfile ca.key -gencrl -out crl.pem
# The server key, password-protected (encrypted PKCS#8).
"$O" pkcs8 -topk8 -v2 aes-256-cbc -in server.key -out server-encrypted.key -passout pass:secret
# The same with OpenSSL's traditional PEM encryption, which dcmrecv-rs refuses.
"$O" rsa -in server.key -aes256 -traditional -passout pass:secret -out server-traditional.key
# An untrusted CA and its client.
"$O" req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=Rogue CA" -keyout rogue-ca.key -out rogue-ca.crt
"$O" req -newkey rsa:2048 -nodes -subj "/CN=intruder" -keyout intruder.key -out intruder.csr
"$O" x509 -req -in intruder.csr -CA rogue-ca.crt -CAkey rogue-ca.key -CAcreateserial -days 30 \
    -extfile pki.cnf -extensions client -out intruder.crt
"#;

/// The `openssl` tool: `$OPENSSL`, else `/usr/bin/openssl`. Panics with an install hint.
pub fn openssl() -> PathBuf {
    let path = std::env::var_os("OPENSSL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/openssl"));
    assert!(
        path.is_file(),
        "{} not found: {OPENSSL_HINT}",
        path.display()
    );
    path
}

/// A PKI in a temporary directory (removed when dropped).
pub struct TestPki {
    dir: tempfile::TempDir,
}

impl TestPki {
    /// Makes the PKI (about a second: six RSA keys).
    pub fn generate() -> TestPki {
        let openssl = openssl();
        let dir = tempfile::tempdir().expect("temporary directory for the PKI");
        let out = Command::new("sh")
            .args(["-euc", SCRIPT])
            .current_dir(dir.path())
            .env("OPENSSL", &openssl)
            .output()
            .expect("run sh");
        assert!(
            out.status.success(),
            "making the test PKI failed ({OPENSSL_HINT}):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        TestPki { dir }
    }

    /// The directory holding the files.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// A file of the PKI (`ca.crt`, `server.key`, `client.crt`, `crl.pem`...), as a string for
    /// command lines.
    pub fn path(&self, name: &str) -> String {
        let path = self.dir.path().join(name);
        assert!(
            path.is_file(),
            "{} is not part of the test PKI",
            path.display()
        );
        path.display().to_string()
    }

    /// `+tls KEY CERT` for a client or server identity named `name` (`client`, `server`...).
    pub fn tls_args(&self, name: &str) -> Vec<String> {
        vec![
            "+tls".into(),
            self.path(&format!("{name}.key")),
            self.path(&format!("{name}.crt")),
        ]
    }
}

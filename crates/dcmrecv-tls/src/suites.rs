//! Protocol versions and cipher suites: DCMTK's TLS security profiles (`+py`, `+px`, `+pz`) and
//! `+cs` names mapped onto what rustls offers with the ring provider.
//!
//! What DCMTK 3.6.7 (OpenSSL 3) negotiates was measured with `openssl s_client` against
//! `/usr/bin/dcmrecv +tls ... -ic`, one suite and one protocol version at a time:
//!
//! | profile | DCMTK 3.6.7: versions | DCMTK 3.6.7: TLS 1.2 suites | dcmrecv-rs |
//! |---|---|---|---|
//! | `+py` (default) | 1.2, 1.3 | ECDHE-RSA and DHE-RSA with AES-GCM | 1.2, 1.3; ECDHE-RSA and ECDHE-ECDSA with AES-GCM |
//! | `+px` | 1.0 to 1.3 | as `+py`, plus `TLS_RSA_WITH_AES_128_CBC_SHA` | as `+py` |
//! | `+pz` | 1.2 | ECDHE-RSA, ECDHE-ECDSA and DHE-RSA with AES-GCM | as `+py` |
//!
//! All three offer the three TLS 1.3 suites in dcmrecv-rs (DCMTK's `+pz` offers no TLS 1.3). rustls
//! has no finite-field DHE, no CBC suites, no RSA key transport and nothing before TLS 1.2, so
//! the parts of the profiles that need them are dropped; what is left is the BCP 195 (RFC 7525
//! §4.2) recommendation. `+cs` adds a TLS 1.2 suite to the profile's list, as in DCMTK (only the
//! ChaCha20-Poly1305 suites are not already there).

use rustls::SupportedCipherSuite;
use rustls::crypto::ring::cipher_suite as ring;

/// A cipher suite rustls offers, with its names.
pub(crate) struct Suite {
    /// The IANA name, which DCMTK's `+cs` and `+cc` use.
    pub(crate) iana: &'static str,
    /// OpenSSL's name (accepted by our `+cs` too).
    pub(crate) openssl: &'static str,
    /// The suite.
    pub(crate) suite: SupportedCipherSuite,
    /// Whether the BCP 195 profiles include it.
    pub(crate) in_profiles: bool,
}

/// Every suite rustls offers with ring, TLS 1.3 first, in our order of preference.
pub(crate) const SUITES: &[Suite] = &[
    Suite {
        iana: "TLS_AES_256_GCM_SHA384",
        openssl: "TLS_AES_256_GCM_SHA384",
        suite: ring::TLS13_AES_256_GCM_SHA384,
        in_profiles: true,
    },
    Suite {
        iana: "TLS_AES_128_GCM_SHA256",
        openssl: "TLS_AES_128_GCM_SHA256",
        suite: ring::TLS13_AES_128_GCM_SHA256,
        in_profiles: true,
    },
    Suite {
        iana: "TLS_CHACHA20_POLY1305_SHA256",
        openssl: "TLS_CHACHA20_POLY1305_SHA256",
        suite: ring::TLS13_CHACHA20_POLY1305_SHA256,
        in_profiles: true,
    },
    Suite {
        iana: "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        openssl: "ECDHE-ECDSA-AES256-GCM-SHA384",
        suite: ring::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
        in_profiles: true,
    },
    Suite {
        iana: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        openssl: "ECDHE-ECDSA-AES128-GCM-SHA256",
        suite: ring::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
        in_profiles: true,
    },
    Suite {
        iana: "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        openssl: "ECDHE-RSA-AES256-GCM-SHA384",
        suite: ring::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
        in_profiles: true,
    },
    Suite {
        iana: "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        openssl: "ECDHE-RSA-AES128-GCM-SHA256",
        suite: ring::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
        in_profiles: true,
    },
    Suite {
        iana: "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        openssl: "ECDHE-ECDSA-CHACHA20-POLY1305",
        suite: ring::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
        in_profiles: false,
    },
    Suite {
        iana: "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        openssl: "ECDHE-RSA-CHACHA20-POLY1305",
        suite: ring::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
        in_profiles: false,
    },
];

/// The suites DCMTK 3.6.7 knows (its `+cc` list on Debian 12) that rustls does not offer: `+cs`
/// with one of these says so instead of "unknown".
const DCMTK_ONLY: &[&str] = &[
    "TLS_RSA_WITH_NULL_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA",
    "TLS_RSA_WITH_CAMELLIA_128_CBC_SHA",
    "TLS_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_RSA_WITH_CAMELLIA_256_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA",
    "TLS_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA",
    "TLS_DHE_DSS_WITH_CAMELLIA_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA",
    "TLS_DHE_RSA_WITH_CAMELLIA_128_CBC_SHA",
    "TLS_DHE_DSS_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_CBC_SHA256",
    "TLS_DHE_DSS_WITH_AES_128_GCM_SHA256",
    "TLS_DHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA384",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA",
    "TLS_DHE_DSS_WITH_CAMELLIA_256_CBC_SHA",
    "TLS_DHE_RSA_WITH_CAMELLIA_256_CBC_SHA",
    "TLS_DHE_DSS_WITH_AES_256_CBC_SHA256",
    "TLS_DHE_RSA_WITH_AES_256_CBC_SHA256",
    "TLS_DHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_DHE_DSS_WITH_AES_256_GCM_SHA384",
    "TLS_DHE_RSA_WITH_AES_256_GCM_SHA384",
];

/// A `+cs` name that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refused {
    /// Neither an IANA nor an OpenSSL name of a suite we know.
    Unknown(String),
    /// A suite DCMTK offers but rustls does not implement.
    NotInRustls(String),
}

/// The suites of the BCP 195 profiles (`+py`, `+px`, `+pz` all map onto the same list: see the
/// module documentation; `+pa` and `+pn` are refused with the command line) plus the `+cs`
/// additions, in our order of preference.
pub(crate) fn select(additions: &[String]) -> Result<Vec<SupportedCipherSuite>, Refused> {
    let mut chosen: Vec<&'static str> = SUITES
        .iter()
        .filter(|s| s.in_profiles)
        .map(|s| s.iana)
        .collect();
    for name in additions {
        let suite = SUITES
            .iter()
            .find(|s| s.iana == name || s.openssl == name)
            .ok_or_else(|| {
                if DCMTK_ONLY.contains(&name.as_str()) {
                    Refused::NotInRustls(name.clone())
                } else {
                    Refused::Unknown(name.clone())
                }
            })?;
        if !chosen.contains(&suite.iana) {
            chosen.push(suite.iana);
        }
    }
    Ok(SUITES
        .iter()
        .filter(|s| chosen.contains(&s.iana))
        .map(|s| s.suite)
        .collect())
}

/// The `+cc`/`--list-ciphers` text: DCMTK's heading and the IANA names of every suite rustls
/// can negotiate here.
///
/// ```
/// let text = dcmrecv_tls::cipher_list_text();
/// assert!(text.starts_with("Supported TLS ciphersuites are:\n  TLS_AES_256_GCM_SHA384\n"));
/// ```
pub fn cipher_list_text() -> String {
    let mut text = String::from("Supported TLS ciphersuites are:\n");
    for suite in SUITES {
        text.push_str("  ");
        text.push_str(suite.iana);
        text.push('\n');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(suites: &[SupportedCipherSuite]) -> Vec<String> {
        suites
            .iter()
            .map(|s| {
                SUITES
                    .iter()
                    .find(|k| k.suite.suite() == s.suite())
                    .map(|k| k.iana.to_string())
                    .unwrap()
            })
            .collect()
    }

    #[test]
    fn profiles_offer_bcp195s_recommendation() {
        let expected = [
            "TLS_AES_256_GCM_SHA384",
            "TLS_AES_128_GCM_SHA256",
            "TLS_CHACHA20_POLY1305_SHA256",
            "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
            "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
            "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        ];
        assert_eq!(names(&select(&[]).unwrap()), expected);
    }

    #[test]
    fn cipher_names_add_to_the_profile() {
        let with = |names: &[&str]| {
            let additions: Vec<String> = names.iter().map(|n| n.to_string()).collect();
            select(&additions)
        };
        let added = names(&with(&["TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"]).unwrap());
        assert_eq!(added.len(), 8);
        assert!(added.contains(&"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256".to_string()));
        // OpenSSL's spelling, and a suite already there.
        assert_eq!(
            names(&with(&["ECDHE-ECDSA-CHACHA20-POLY1305", "TLS_AES_128_GCM_SHA256"]).unwrap())
                .len(),
            8
        );
        assert_eq!(
            with(&["TLS_RSA_WITH_AES_128_CBC_SHA"]),
            Err(Refused::NotInRustls("TLS_RSA_WITH_AES_128_CBC_SHA".into()))
        );
        assert_eq!(with(&["FOO"]), Err(Refused::Unknown("FOO".into())));
        // DCMTK compares names exactly.
        assert_eq!(
            with(&["tls_aes_128_gcm_sha256"]),
            Err(Refused::Unknown("tls_aes_128_gcm_sha256".into()))
        );
    }

    #[test]
    fn the_list_names_every_suite() {
        let text = cipher_list_text();
        assert!(text.starts_with("Supported TLS ciphersuites are:\n  TLS_AES_256_GCM_SHA384\n"));
        assert_eq!(
            text.lines().count(),
            1 + rustls::crypto::ring::ALL_CIPHER_SUITES.len()
        );
    }
}

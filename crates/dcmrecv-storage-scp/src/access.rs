//! Access control: deciding, from the AE titles and the peer address, whether to talk at all.
//!
//! DCMTK's dcmrecv checks no AE title, and neither does the default [`AcceptAny`]. A refusal
//! is answered with A-ASSOCIATE-RJ (rejected-permanent, service-user) and the reason of
//! [`AccessDenied`] (PS3.8 Table 9-21).

use std::collections::BTreeSet;
use std::net::SocketAddr;

use crate::tls::TlsInfo;

/// What access control sees of an association request.
#[non_exhaustive]
#[derive(Debug, Clone, Copy)]
pub struct AccessRequest<'a> {
    /// The requestor's AE title (leading and trailing spaces removed).
    pub calling_ae_title: &'a str,
    /// The AE title the requestor called (leading and trailing spaces removed).
    pub called_ae_title: &'a str,
    /// Our own AE title ([`AcceptorOptions::ae_title`](crate::AcceptorOptions::ae_title)).
    pub our_ae_title: &'a str,
    /// The requestor's address.
    pub peer_addr: SocketAddr,
    /// What TLS negotiated on this connection, including the client certificate's subject;
    /// `None` on plain TCP.
    pub tls: Option<&'a TlsInfo>,
}

impl<'a> AccessRequest<'a> {
    /// An access request (for tests of access controls).
    pub fn new(
        calling_ae_title: &'a str,
        called_ae_title: &'a str,
        our_ae_title: &'a str,
        peer_addr: SocketAddr,
    ) -> Self {
        AccessRequest {
            calling_ae_title,
            called_ae_title,
            our_ae_title,
            peer_addr,
            tls: None,
        }
    }

    /// The same request, arriving over TLS with `tls` negotiated (or over plain TCP with
    /// `None`).
    pub fn with_tls(mut self, tls: Option<&'a TlsInfo>) -> Self {
        self.tls = tls;
        self
    }
}

/// Why an association is refused; each maps to an A-ASSOCIATE-RJ reason (source 1,
/// service-user).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccessDenied {
    /// Reason 1, no-reason-given.
    NoReasonGiven,
    /// Reason 3, calling-AE-title-not-recognized.
    CallingAeTitleNotRecognized,
    /// Reason 7, called-AE-title-not-recognized.
    CalledAeTitleNotRecognized,
}

impl AccessDenied {
    /// The A-ASSOCIATE-RJ reason code.
    pub(crate) fn reason(self) -> u8 {
        match self {
            AccessDenied::NoReasonGiven => 1,
            AccessDenied::CallingAeTitleNotRecognized => 3,
            AccessDenied::CalledAeTitleNotRecognized => 7,
        }
    }

    /// Text for the log line.
    pub(crate) fn text(self) -> &'static str {
        match self {
            AccessDenied::NoReasonGiven => "access denied",
            AccessDenied::CallingAeTitleNotRecognized => "calling AE title not recognized",
            AccessDenied::CalledAeTitleNotRecognized => "called AE title not recognized",
        }
    }
}

/// Decides whether an association request may proceed to negotiation.
///
/// Called on the association's thread after the A-ASSOCIATE-RQ passed the protocol-version and
/// application-context checks. Closures `Fn(&AccessRequest) -> Result<(), AccessDenied>` are
/// access controls too.
pub trait AccessControl: Send + Sync + 'static {
    /// `Ok(())` to go on, `Err(reason)` to reject.
    fn check(&self, request: &AccessRequest<'_>) -> Result<(), AccessDenied>;
}

impl<F> AccessControl for F
where
    F: Fn(&AccessRequest<'_>) -> Result<(), AccessDenied> + Send + Sync + 'static,
{
    fn check(&self, request: &AccessRequest<'_>) -> Result<(), AccessDenied> {
        self(request)
    }
}

/// Accepts every request (DCMTK's behaviour, and the default).
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAny;

impl AccessControl for AcceptAny {
    fn check(&self, _request: &AccessRequest<'_>) -> Result<(), AccessDenied> {
        Ok(())
    }
}

/// Allow-lists of calling and called AE titles (exact, case-sensitive comparison after removing
/// leading and trailing spaces). A list that was never given allows everything.
///
/// ```
/// use dcmrecv_storage_scp::{AccessControl, AccessDenied, AccessRequest, AeTitleAllowList};
///
/// let acl = AeTitleAllowList::new().allow_calling("MODALITY1").allow_called("ARCHIVE");
/// let peer = "127.0.0.1:4000".parse()?;
/// assert!(acl.check(&AccessRequest::new("MODALITY1", "ARCHIVE", "ARCHIVE", peer)).is_ok());
/// assert_eq!(
///     acl.check(&AccessRequest::new("INTRUDER", "ARCHIVE", "ARCHIVE", peer)),
///     Err(AccessDenied::CallingAeTitleNotRecognized)
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default)]
pub struct AeTitleAllowList {
    calling: Option<BTreeSet<String>>,
    called: Option<BTreeSet<String>>,
}

impl AeTitleAllowList {
    /// Lists that allow everything until titles are added.
    pub fn new() -> Self {
        AeTitleAllowList::default()
    }

    /// Allows the calling AE title `title`; once one is given, other calling titles are refused
    /// (calling-AE-title-not-recognized).
    pub fn allow_calling(mut self, title: impl AsRef<str>) -> Self {
        self.calling
            .get_or_insert_with(BTreeSet::new)
            .insert(title.as_ref().trim().to_string());
        self
    }

    /// Allows the called AE title `title`; once one is given, other called titles are refused
    /// (called-AE-title-not-recognized).
    pub fn allow_called(mut self, title: impl AsRef<str>) -> Self {
        self.called
            .get_or_insert_with(BTreeSet::new)
            .insert(title.as_ref().trim().to_string());
        self
    }
}

impl AccessControl for AeTitleAllowList {
    fn check(&self, request: &AccessRequest<'_>) -> Result<(), AccessDenied> {
        if let Some(called) = &self.called {
            if !called.contains(request.called_ae_title.trim()) {
                return Err(AccessDenied::CalledAeTitleNotRecognized);
            }
        }
        if let Some(calling) = &self.calling {
            if !calling.contains(request.calling_ae_title.trim()) {
                return Err(AccessDenied::CallingAeTitleNotRecognized);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req<'a>(calling: &'a str, called: &'a str) -> AccessRequest<'a> {
        AccessRequest::new(calling, called, "US", ([127, 0, 0, 1], 1).into())
    }

    #[test]
    fn empty_lists_allow_all() {
        assert!(AeTitleAllowList::new().check(&req("A", "B")).is_ok());
        assert!(AcceptAny.check(&req("", "")).is_ok());
    }

    #[test]
    fn called_is_checked_before_calling() {
        let acl = AeTitleAllowList::new()
            .allow_calling(" A ")
            .allow_called("B");
        assert!(acl.check(&req("A", "B")).is_ok());
        assert_eq!(
            acl.check(&req("X", "Y")),
            Err(AccessDenied::CalledAeTitleNotRecognized)
        );
        assert_eq!(
            acl.check(&req("X", "B")),
            Err(AccessDenied::CallingAeTitleNotRecognized)
        );
        assert_eq!(AccessDenied::CalledAeTitleNotRecognized.reason(), 7);
        assert_eq!(AccessDenied::CallingAeTitleNotRecognized.reason(), 3);
    }

    #[test]
    fn closures_are_access_controls() {
        let only_local = |r: &AccessRequest<'_>| {
            if r.peer_addr.ip().is_loopback() {
                Ok(())
            } else {
                Err(AccessDenied::NoReasonGiven)
            }
        };
        assert!(only_local.check(&req("A", "B")).is_ok());
    }
}

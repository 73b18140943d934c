//! The acceptor's builder, and the validation that turns it into a configuration.

use std::fmt;
use std::net::ToSocketAddrs;
use std::sync::Arc;
use std::time::Duration;

use dcmrecv_asconfig::Profile;
use snafu::{Snafu, ensure};

use crate::access::{AcceptAny, AccessControl};
use crate::observer::{NoObserver, Observer};
use crate::server::{self, Acceptor};
use crate::sink::SinkFactory;

/// Our default Maximum Length (DCMTK's `-pdu` default).
pub const DEFAULT_MAX_PDU: u32 = 16384;
/// The smallest Maximum Length we accept for ourselves (DCMTK's `-pdu` lower bound).
pub const MIN_MAX_PDU: u32 = 4096;
/// The largest Maximum Length we accept for ourselves. DCMTK stops at 131072; the library allows
/// more, since memory use per association is about one PDU.
pub const MAX_MAX_PDU: u32 = 16 * 1024 * 1024;
/// Our default Implementation Class UID.
pub const DEFAULT_IMPLEMENTATION_CLASS_UID: &str = "2.25.21442847207907972900210680727716022916";
/// Our default Implementation Version Name.
pub const DEFAULT_IMPLEMENTATION_VERSION_NAME: &str = "DCMRECV_RS_010";
/// The default number of associations served at the same time.
pub const DEFAULT_MAX_ASSOCIATIONS: usize = 64;
/// The default ACSE timeout (DCMTK's `-ta` default).
pub const DEFAULT_ACSE_TIMEOUT: Duration = Duration::from_secs(30);
/// The default number of connections held while they have not sent their A-ASSOCIATE-RQ.
pub const DEFAULT_MAX_PENDING: usize = 512;
/// The default number of such connections from one source address.
pub const DEFAULT_MAX_PENDING_PER_ADDRESS: usize = 32;
/// The default time a new connection has to complete its TLS handshake and send its
/// A-ASSOCIATE-RQ (the ACSE timeout, if shorter, applies instead).
pub const DEFAULT_PENDING_TIMEOUT: Duration = Duration::from_secs(10);

/// A function that maps a UID to a symbolic name for the association dumps (e.g.
/// `dcmrecv_asconfig::name_for_uid`, giving DCMTK's names such as `CTImageStorage`).
pub type UidNames = fn(&str) -> Option<&'static str>;

/// Errors found when validating [`AcceptorOptions`] and binding the listener.
#[derive(Debug, Snafu)]
#[non_exhaustive]
#[snafu(visibility(pub(crate)))]
pub enum Error {
    /// The maximum PDU length is out of range.
    #[snafu(display("maximum PDU length {value} is out of range ({MIN_MAX_PDU}..={MAX_MAX_PDU})"))]
    InvalidMaxPdu {
        /// The rejected value.
        value: u32,
    },
    /// The Implementation Class UID is not a UID.
    #[snafu(display("implementation class UID {uid:?} is not a UID (1 to 64 digits and dots)"))]
    InvalidImplementationClassUid {
        /// The rejected value.
        uid: String,
    },
    /// The Implementation Version Name does not fit its 16 characters.
    #[snafu(display(
        "implementation version name {name:?} must have 1 to 16 printable ASCII characters"
    ))]
    InvalidImplementationVersionName {
        /// The rejected value.
        name: String,
    },
    /// The AE title does not fit its 16 characters.
    #[snafu(display("AE title {title:?} must have 1 to 16 printable ASCII characters"))]
    InvalidAeTitle {
        /// The rejected value.
        title: String,
    },
    /// The association limit is zero.
    #[snafu(display("the maximum number of associations must be at least 1"))]
    ZeroMaxAssociations,
    /// A limit on pending connections is zero.
    #[snafu(display("the maximum number of {which} must be at least 1"))]
    ZeroPendingLimit {
        /// Which limit.
        which: &'static str,
    },
    /// A timeout is zero.
    #[snafu(display("the {which} timeout must be longer than zero"))]
    ZeroTimeout {
        /// `ACSE`, `DIMSE` or `pending connection`.
        which: &'static str,
    },
    /// The listen address could not be resolved.
    #[snafu(display("cannot resolve listen address {addr}"))]
    ResolveAddress {
        /// The address as given.
        addr: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The listener could not be bound.
    #[snafu(display("cannot listen on {addr}"))]
    BindListener {
        /// The address as given.
        addr: String,
        /// The OS error (e.g. address in use, permission denied).
        source: std::io::Error,
    },
    /// The poller that watches new connections could not be set up.
    #[snafu(display("cannot set up the connection poller"))]
    StartPoller {
        /// The OS error (e.g. too many open files).
        source: std::io::Error,
    },
}

impl Error {
    /// `true` when binding failed because the address is in use.
    pub fn is_addr_in_use(&self) -> bool {
        matches!(self, Error::BindListener { source, .. } if source.kind() == std::io::ErrorKind::AddrInUse)
    }

    /// `true` when binding failed for lack of privileges (e.g. a port below 1024).
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, Error::BindListener { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied)
    }
}

/// Builder for an [`Acceptor`]: negotiation profile, limits, timeouts, identity and hooks.
///
/// Every setter takes and returns the builder; nothing is checked until
/// [`bind`](AcceptorOptions::bind), which validates the whole configuration first.
#[derive(Clone)]
pub struct AcceptorOptions {
    pub(crate) profile: Profile,
    pub(crate) ae_title: String,
    pub(crate) max_pdu: u32,
    pub(crate) max_associations: usize,
    pub(crate) max_pending: usize,
    pub(crate) max_pending_per_address: usize,
    pub(crate) pending_timeout: Duration,
    pub(crate) acse_timeout: Duration,
    pub(crate) dimse_timeout: Option<Duration>,
    pub(crate) implementation_class_uid: String,
    pub(crate) implementation_version_name: String,
    pub(crate) host_lookup: bool,
    pub(crate) verbose_pc: bool,
    pub(crate) tcp_quickack: bool,
    pub(crate) access_control: Arc<dyn AccessControl>,
    pub(crate) uid_names: Option<UidNames>,
    pub(crate) tls: Option<Arc<rustls::ServerConfig>>,
    pub(crate) observer: Arc<dyn Observer>,
    pub(crate) max_associations_per_ae: Option<usize>,
    pub(crate) heartbeat: Option<Arc<dyn Fn() + Send + Sync>>,
}

impl fmt::Debug for AcceptorOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptorOptions")
            .field("profile", &self.profile.name())
            .field("ae_title", &self.ae_title)
            .field("max_pdu", &self.max_pdu)
            .field("max_associations", &self.max_associations)
            .field("max_pending", &self.max_pending)
            .field("max_pending_per_address", &self.max_pending_per_address)
            .field("pending_timeout", &self.pending_timeout)
            .field("acse_timeout", &self.acse_timeout)
            .field("dimse_timeout", &self.dimse_timeout)
            .field("implementation_class_uid", &self.implementation_class_uid)
            .field(
                "implementation_version_name",
                &self.implementation_version_name,
            )
            .field("host_lookup", &self.host_lookup)
            .field("verbose_pc", &self.verbose_pc)
            .field("tcp_quickack", &self.tcp_quickack)
            .field("tls", &self.tls.is_some())
            .field("max_associations_per_ae", &self.max_associations_per_ae)
            .finish_non_exhaustive()
    }
}

impl Default for AcceptorOptions {
    fn default() -> Self {
        AcceptorOptions::new()
    }
}

impl AcceptorOptions {
    /// Defaults that behave like `dcmrecv` without options: Verification only
    /// ([`Profile::verification_only`]), Maximum Length 16384, ACSE timeout 30 s, no DIMSE
    /// timeout, AE title `DCMRECV`, host names looked up, no AE title checks; and, beyond DCMTK,
    /// up to 64 concurrent associations, and up to 512 connections (32 per source address)
    /// given 10 s each to send their A-ASSOCIATE-RQ.
    pub fn new() -> Self {
        AcceptorOptions {
            profile: Profile::verification_only(),
            ae_title: "DCMRECV".to_string(),
            max_pdu: DEFAULT_MAX_PDU,
            max_associations: DEFAULT_MAX_ASSOCIATIONS,
            max_pending: DEFAULT_MAX_PENDING,
            max_pending_per_address: DEFAULT_MAX_PENDING_PER_ADDRESS,
            pending_timeout: DEFAULT_PENDING_TIMEOUT,
            acse_timeout: DEFAULT_ACSE_TIMEOUT,
            dimse_timeout: None,
            implementation_class_uid: DEFAULT_IMPLEMENTATION_CLASS_UID.to_string(),
            implementation_version_name: DEFAULT_IMPLEMENTATION_VERSION_NAME.to_string(),
            host_lookup: true,
            verbose_pc: false,
            tcp_quickack: true,
            access_control: Arc::new(AcceptAny),
            uid_names: Some(dcmrecv_asconfig::name_for_uid),
            tls: None,
            observer: Arc::new(NoObserver),
            max_associations_per_ae: None,
            heartbeat: None,
        }
    }

    /// The negotiation profile: which presentation contexts, roles and extended negotiation
    /// are accepted (asconfig semantics, see the crate docs).
    pub fn profile(mut self, profile: Profile) -> Self {
        self.profile = profile;
        self
    }

    /// Our AE title. As in DCMTK it changes nothing on the wire (the A-ASSOCIATE-AC echoes the
    /// request's AE titles); access controls see it.
    pub fn ae_title(mut self, title: impl Into<String>) -> Self {
        self.ae_title = title.into();
        self
    }

    /// Our Maximum Length: advertised in the A-ASSOCIATE-AC and enforced on every P-DATA-TF PDU
    /// (a longer one aborts the association). Memory per association is about this much.
    pub fn max_pdu(mut self, bytes: u32) -> Self {
        self.max_pdu = bytes;
        self
    }

    /// How many associations are served at the same time. A connection counts once its
    /// A-ASSOCIATE-RQ has arrived. When every slot is taken, the association that has been
    /// waiting for its peer longest, if longer than the [ACSE timeout](Self::acse_timeout), is
    /// aborted (A-ABORT) to admit the new one; otherwise the new request is rejected with
    /// A-ASSOCIATE-RJ (rejected-transient, service-provider presentation,
    /// local-limit-exceeded).
    pub fn max_associations(mut self, n: usize) -> Self {
        self.max_associations = n;
        self
    }

    /// How many connections are held while they have not sent their A-ASSOCIATE-RQ yet (nor
    /// completed their TLS handshake). They wait in a pool of their own, watched by one thread,
    /// and take no association slot and no thread. When the pool is full, the oldest of them is
    /// closed to make room.
    pub fn max_pending(mut self, n: usize) -> Self {
        self.max_pending = n;
        self
    }

    /// How many of the [pending](Self::max_pending) connections may come from one source
    /// address; beyond that, the oldest from that address is closed to make room.
    pub fn max_pending_per_address(mut self, n: usize) -> Self {
        self.max_pending_per_address = n;
        self
    }

    /// How long a new connection has to complete its TLS handshake and send its whole
    /// A-ASSOCIATE-RQ. The [ACSE timeout](Self::acse_timeout) applies instead when it is
    /// shorter.
    pub fn pending_timeout(mut self, timeout: Duration) -> Self {
        self.pending_timeout = timeout;
        self
    }

    /// The ACSE timeout: how long to wait for the whole A-ASSOCIATE-RQ after a connection is
    /// accepted (or the [pending timeout](Self::pending_timeout), if shorter), for the peer to
    /// close the connection after our A-ASSOCIATE-RJ, A-RELEASE-RP or A-ABORT, and how long an
    /// association must have been idle before it can make way for a new one when every slot is
    /// taken.
    pub fn acse_timeout(mut self, timeout: Duration) -> Self {
        self.acse_timeout = timeout;
        self
    }

    /// The DIMSE timeout: how long the peer has, on an established association, to send each
    /// whole PDU, counted from when we start waiting for it (a command after an idle pause, or
    /// the next part of a data set). A peer that sends a PDU a byte at a time is cut when the
    /// time is up, however steadily the bytes come. `None` (the default) waits forever, as
    /// DCMTK does (DCMTK's timeout applies to the wait between PDUs only).
    pub fn dimse_timeout(mut self, timeout: Option<Duration>) -> Self {
        self.dimse_timeout = timeout;
        self
    }

    /// Our Implementation Class UID and Implementation Version Name, sent in every
    /// A-ASSOCIATE-AC.
    pub fn implementation(
        mut self,
        class_uid: impl Into<String>,
        version_name: impl Into<String>,
    ) -> Self {
        self.implementation_class_uid = class_uid.into();
        self.implementation_version_name = version_name.into();
        self
    }

    /// Whether the peer's address is reverse-resolved for the `Association Received` line
    /// (DCMTK's default; `false` is DCMTK's `-dhl`).
    pub fn host_lookup(mut self, lookup: bool) -> Self {
        self.host_lookup = lookup;
        self
    }

    /// Emits the A-ASSOCIATE-RQ/AC/RJ dumps at INFO instead of DEBUG (DCMTK's `+v`).
    pub fn verbose_pc(mut self, verbose: bool) -> Self {
        self.verbose_pc = verbose;
        self
    }

    /// Re-arms `TCP_QUICKACK` around every read (Linux only; default on), so that senders that
    /// keep Nagle's algorithm on, as DCMTK does by default, are not slowed down by delayed
    /// acknowledgements.
    pub fn tcp_quickack(mut self, quickack: bool) -> Self {
        self.tcp_quickack = quickack;
        self
    }

    /// The access control hook (default: [`AcceptAny`]).
    pub fn access_control(mut self, access_control: impl AccessControl) -> Self {
        self.access_control = Arc::new(access_control);
        self
    }

    /// Symbolic UID names for the association dumps (`=CTImageStorage` instead of the UID);
    /// the default is DCMTK's table, [`dcmrecv_asconfig::name_for_uid`].
    pub fn uid_names(mut self, names: UidNames) -> Self {
        self.uid_names = Some(names);
        self
    }

    /// Serves DICOM over TLS (PS3.15 Annex B) with this rustls configuration instead of plain
    /// TCP.
    ///
    /// The configuration decides everything TLS: our certificate and key, the protocol versions
    /// and cipher suites, and whether and how client certificates are verified (e.g.
    /// [`rustls::server::WebPkiClientVerifier`] for DCMTK's default `--require-peer-cert`).
    /// Each connection's handshake runs in the pending pool, on non-blocking sockets, and must
    /// complete within the [pending timeout](Self::pending_timeout) (or the ACSE timeout, if
    /// shorter); a failed handshake (a plain-TCP client, a
    /// missing or untrusted client certificate, no common cipher suite) is logged as
    /// `Could not receive association request: TLS error: <reason> (...)` and ends only that
    /// connection. What was negotiated, with the client certificate's subject, reaches access
    /// controls and sinks as [`TlsInfo`](crate::TlsInfo).
    pub fn tls(mut self, config: Arc<rustls::ServerConfig>) -> Self {
        self.tls = Some(config);
        self
    }

    /// Checks the options without binding anything.
    pub fn validate(&self) -> Result<(), Error> {
        ensure!(
            (MIN_MAX_PDU..=MAX_MAX_PDU).contains(&self.max_pdu),
            InvalidMaxPduSnafu {
                value: self.max_pdu
            }
        );
        let uid = &self.implementation_class_uid;
        ensure!(
            !uid.is_empty()
                && uid.len() <= 64
                && uid.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
            InvalidImplementationClassUidSnafu { uid: uid.clone() }
        );
        let name = &self.implementation_version_name;
        ensure!(
            is_short_ascii(name),
            InvalidImplementationVersionNameSnafu { name: name.clone() }
        );
        ensure!(
            is_short_ascii(&self.ae_title),
            InvalidAeTitleSnafu {
                title: self.ae_title.clone()
            }
        );
        ensure!(self.max_associations > 0, ZeroMaxAssociationsSnafu);
        ensure!(
            self.max_pending > 0,
            ZeroPendingLimitSnafu {
                which: "pending connections"
            }
        );
        ensure!(
            self.max_pending_per_address > 0,
            ZeroPendingLimitSnafu {
                which: "pending connections per address"
            }
        );
        ensure!(
            self.max_associations_per_ae != Some(0),
            ZeroPendingLimitSnafu {
                which: "associations per calling AE title"
            }
        );
        ensure!(
            !self.pending_timeout.is_zero(),
            ZeroTimeoutSnafu {
                which: "pending connection"
            }
        );
        ensure!(
            !self.acse_timeout.is_zero(),
            ZeroTimeoutSnafu { which: "ACSE" }
        );
        ensure!(
            !self.dimse_timeout.is_some_and(|t| t.is_zero()),
            ZeroTimeoutSnafu { which: "DIMSE" }
        );
        Ok(())
    }

    /// How many associations one calling AE title may have at once (default: no limit beyond
    /// [`max_associations`](Self::max_associations)). A request beyond it is answered with
    /// A-ASSOCIATE-RJ rejected-transient (result 2), source "DICOM UL service-provider
    /// (presentation related function)" (3), reason "local-limit-exceeded" (2): PS3.8
    /// section 9.3.4, Table 9-21, the same answer as for the overall limit. Titles are compared
    /// without their surrounding spaces.
    ///
    /// ```
    /// let options = dcmrecv_storage_scp::AcceptorOptions::new().max_associations_per_ae(Some(4));
    /// assert!(options.validate().is_ok());
    /// assert!(dcmrecv_storage_scp::AcceptorOptions::new()
    ///     .max_associations_per_ae(Some(0))
    ///     .validate()
    ///     .is_err());
    /// ```
    pub fn max_associations_per_ae(mut self, n: Option<usize>) -> Self {
        self.max_associations_per_ae = n;
        self
    }

    /// Called on every turn of the accept loop, which then turns at least once a second even
    /// when no peer connects (for a watchdog that proves the loop alive, such as systemd's).
    /// Keep it cheap: it runs on the accept loop.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let turns = Arc::new(AtomicU64::new(0));
    /// let seen = Arc::clone(&turns);
    /// let options = dcmrecv_storage_scp::AcceptorOptions::new()
    ///     .heartbeat(move || { seen.fetch_add(1, Ordering::Relaxed); });
    /// # let _ = options;
    /// ```
    pub fn heartbeat(mut self, beat: impl Fn() + Send + Sync + 'static) -> Self {
        self.heartbeat = Some(Arc::new(beat));
        self
    }

    /// Who watches associations and objects (events, hooks, metrics; see [`Observer`]);
    /// default none.
    ///
    /// ```
    /// struct Quiet;
    /// impl dcmrecv_storage_scp::Observer for Quiet {}
    /// let options = dcmrecv_storage_scp::AcceptorOptions::new().observer(Quiet);
    /// # let _ = options;
    /// ```
    pub fn observer(mut self, observer: impl Observer) -> Self {
        self.observer = Arc::new(observer);
        self
    }

    /// Like [`observer`](Self::observer), for an observer the caller keeps a handle to.
    ///
    /// ```
    /// use std::sync::Arc;
    /// struct Quiet;
    /// impl dcmrecv_storage_scp::Observer for Quiet {}
    /// let shared = Arc::new(Quiet);
    /// let options = dcmrecv_storage_scp::AcceptorOptions::new().shared_observer(shared.clone());
    /// # let _ = options;
    /// ```
    pub fn shared_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = observer;
        self
    }

    /// Validates the options and serves on a listener the caller bound already (for example
    /// one systemd passed in by socket activation); see [`bind`](Self::bind).
    ///
    /// ```
    /// let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    /// let acceptor = dcmrecv_storage_scp::AcceptorOptions::new()
    ///     .from_listener(listener, |_: &dcmrecv_storage_scp::StoreRequest| {
    ///         Err(dcmrecv_storage_scp::StoreStatus::out_of_resources("none"))
    ///     })
    ///     .unwrap();
    /// assert!(acceptor.local_addr().ip().is_loopback());
    /// ```
    pub fn from_listener(
        self,
        listener: std::net::TcpListener,
        sinks: impl SinkFactory,
    ) -> Result<Acceptor, Error> {
        self.validate()?;
        server::from_listener(self, listener, Arc::new(sinks))
    }

    /// Validates the options, binds a TCP listener on `addr` and returns the acceptor, which
    /// serves with [`Acceptor::serve`] and hands every C-STORE to `sinks`.
    pub fn bind(
        self,
        addr: impl ToSocketAddrs + fmt::Display,
        sinks: impl SinkFactory,
    ) -> Result<Acceptor, Error> {
        self.validate()?;
        server::bind(self, addr, Arc::new(sinks))
    }
}

fn is_short_ascii(s: &str) -> bool {
    let t = s.trim();
    !t.is_empty() && s.len() <= 16 && s.bytes().all(|b| (0x20..0x7F).contains(&b) && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid() {
        AcceptorOptions::new().validate().unwrap();
    }

    #[test]
    fn validation_catches_each_bad_value() {
        let bad = [
            AcceptorOptions::new().max_pdu(4095),
            AcceptorOptions::new().max_pdu(MAX_MAX_PDU + 1),
            AcceptorOptions::new().implementation("1.2.x", "N"),
            AcceptorOptions::new().implementation("", "N"),
            AcceptorOptions::new().implementation("1.2", ""),
            AcceptorOptions::new().implementation("1.2", "SEVENTEEN_CHARS_X"),
            AcceptorOptions::new().ae_title("   "),
            AcceptorOptions::new().max_associations(0),
            AcceptorOptions::new().max_pending(0),
            AcceptorOptions::new().max_pending_per_address(0),
            AcceptorOptions::new().pending_timeout(Duration::ZERO),
            AcceptorOptions::new().acse_timeout(Duration::ZERO),
            AcceptorOptions::new().dimse_timeout(Some(Duration::ZERO)),
        ];
        for options in bad {
            assert!(options.validate().is_err(), "{options:?}");
        }
        let e = AcceptorOptions::new().max_pdu(1).validate().unwrap_err();
        assert_eq!(
            e.to_string(),
            "maximum PDU length 1 is out of range (4096..=16777216)"
        );
    }
}

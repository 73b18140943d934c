//! [`EndpointOptions`]: where the endpoint listens and the limits that keep it harmless.

use std::net::SocketAddr;
use std::time::Duration;

/// hyper's smallest read buffer; a smaller request-head limit is raised to this.
const MIN_REQUEST_HEAD_BYTES: usize = 8 * 1024;

/// Options for [`Endpoint::start`](crate::Endpoint::start).
///
/// There is no default address: the caller must say where to listen (`--metrics-address`).
/// Bind a loopback address or a management network, never every interface of a machine that
/// faces modalities: the endpoint has no authentication, and the metrics name the AE titles
/// that send to you when per-AE series are on.
///
/// The defaults bound what any client can take: 32 connections at once (further ones are
/// closed at once), 8 KiB of request line and headers and 32 header fields (else 431), 5 s to
/// send a request's headers (also the idle limit between keep-alive requests), 30 s for a whole
/// connection. Requests with a body get 413.
///
/// ```
/// use std::time::Duration;
/// use dcmrecv_metrics_http::EndpointOptions;
///
/// let options = EndpointOptions::new("127.0.0.1:9104".parse()?)
///     .max_connections(16)
///     .header_read_timeout(Duration::from_secs(2));
/// # let _ = options;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct EndpointOptions {
    pub(crate) address: SocketAddr,
    pub(crate) max_connections: usize,
    pub(crate) header_read_timeout: Duration,
    pub(crate) connection_timeout: Duration,
    pub(crate) max_request_head_bytes: usize,
    pub(crate) max_headers: usize,
}

impl EndpointOptions {
    /// Listen on `address` (port 0 picks a free port; see
    /// [`Endpoint::local_addr`](crate::Endpoint::local_addr)).
    pub fn new(address: SocketAddr) -> Self {
        EndpointOptions {
            address,
            max_connections: 32,
            header_read_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(30),
            max_request_head_bytes: MIN_REQUEST_HEAD_BYTES,
            max_headers: 32,
        }
    }

    /// Connections served at once (at least 1); connections beyond are closed as soon as they
    /// are accepted.
    pub fn max_connections(mut self, n: usize) -> Self {
        self.max_connections = n.max(1);
        self
    }

    /// How long a client may take to send a request's line and headers, and how long a
    /// keep-alive connection may sit idle between requests.
    pub fn header_read_timeout(mut self, timeout: Duration) -> Self {
        self.header_read_timeout = timeout;
        self
    }

    /// How long one connection may last, whatever it does (a client that never reads its
    /// response is cut here).
    pub fn connection_timeout(mut self, timeout: Duration) -> Self {
        self.connection_timeout = timeout;
        self
    }

    /// The largest request line plus headers, in bytes (at least 8 KiB, hyper's minimum).
    pub fn max_request_head_bytes(mut self, bytes: usize) -> Self {
        self.max_request_head_bytes = bytes.max(MIN_REQUEST_HEAD_BYTES);
        self
    }

    /// The most header fields a request may have.
    pub fn max_headers(mut self, n: usize) -> Self {
        self.max_headers = n;
        self
    }
}

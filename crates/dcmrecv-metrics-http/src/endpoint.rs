//! [`Endpoint`]: the HTTP server, on a thread and a current-thread tokio runtime of its own.
//!
//! Nothing here is shared with the receive path but the metrics' atomics and the readiness
//! mutex (held for a few instructions). The server's one thread accepts and serves every
//! connection; `/metrics` is rendered on one extra blocking thread, so a store-space probe
//! stuck on a hung network file system delays scrapes but never `/healthz`. A flood of
//! clients costs at most `max_connections` small tasks; the rest are closed on accept.

use std::convert::Infallible;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use bytes::Bytes;
use dcmrecv_metrics::Metrics;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use snafu::{ResultExt, Snafu};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, oneshot};
use tracing::{debug, warn};

use crate::options::EndpointOptions;
use crate::readiness::Readiness;
use crate::routes::{self, Route};

/// How long a stopping endpoint waits for a `/metrics` rendering still running.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(1);

/// Why the endpoint could not start. Each is fatal to the program that asked for it.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be bound or configured.
    #[snafu(display("cannot listen for metrics scrapes on {addr}"))]
    BindListener {
        /// The address asked for.
        addr: SocketAddr,
        /// The operating system's error.
        source: io::Error,
    },
    /// The endpoint's tokio runtime could not be built.
    #[snafu(display("cannot start the metrics endpoint's runtime"))]
    StartRuntime {
        /// The operating system's error.
        source: io::Error,
    },
    /// The endpoint's thread could not be started.
    #[snafu(display("cannot start the metrics endpoint's thread"))]
    SpawnThread {
        /// The operating system's error.
        source: io::Error,
    },
}

/// A running `/metrics`, `/healthz`, `/readyz` endpoint. Dropping it stops it.
///
/// ```no_run
/// use dcmrecv_metrics::{Metrics, MetricsOptions};
/// use dcmrecv_metrics_http::{Endpoint, EndpointOptions, Readiness};
///
/// let metrics = Metrics::new(MetricsOptions::new());
/// let readiness = Readiness::new();
/// let listening = readiness.condition("listening", "starting");
/// let endpoint = Endpoint::start(
///     EndpointOptions::new("127.0.0.1:9104".parse()?), // --metrics-address
///     metrics.clone(),
///     readiness.clone(),
/// )?;
/// println!("metrics on http://{}/metrics", endpoint.local_addr());
/// listening.set_met(); // once the DICOM port is bound
/// // ... serve associations, calling `metrics` ...
/// endpoint.shutdown();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Endpoint {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

/// What every connection's service needs.
struct Shared {
    metrics: Metrics,
    readiness: Readiness,
}

impl Endpoint {
    /// Binds `options`' address and starts serving on a new thread. The socket is bound before
    /// this returns, so a bad address is reported here, not later.
    pub fn start(
        options: EndpointOptions,
        metrics: Metrics,
        readiness: Readiness,
    ) -> Result<Endpoint, Error> {
        let addr = options.address;
        let listener = std::net::TcpListener::bind(addr).context(BindListenerSnafu { addr })?;
        listener
            .set_nonblocking(true)
            .context(BindListenerSnafu { addr })?;
        let local_addr = listener.local_addr().context(BindListenerSnafu { addr })?;
        if local_addr.ip().is_unspecified() {
            warn!(
                address = %local_addr,
                "the metrics endpoint listens on every interface; bind a loopback or management address instead"
            );
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_io()
            .enable_time()
            .max_blocking_threads(1)
            .thread_name("dcmrecv-metrics-render")
            .build()
            .context(StartRuntimeSnafu)?;
        let (stop, stopped) = oneshot::channel();
        let shared = Arc::new(Shared { metrics, readiness });
        let thread = thread::Builder::new()
            .name("dcmrecv-metrics-http".to_string())
            .spawn(move || {
                runtime.block_on(serve(listener, options, shared, stopped));
                runtime.shutdown_timeout(SHUTDOWN_GRACE);
            })
            .context(SpawnThreadSnafu)?;
        debug!(address = %local_addr, "metrics endpoint listening");
        Ok(Endpoint {
            local_addr,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The address the endpoint listens on (with the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting, drops open connections and waits for the thread (at most about a
    /// second longer than a `/metrics` rendering still running).
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

async fn serve(
    listener: std::net::TcpListener,
    options: EndpointOptions,
    shared: Arc<Shared>,
    mut stopped: oneshot::Receiver<()>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            warn!("the metrics endpoint cannot serve: {e}");
            return;
        }
    };
    let slots = Arc::new(Semaphore::new(options.max_connections));
    let options = Arc::new(options);
    loop {
        let accepted = tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors, most likely: pause rather than spin.
                debug!("metrics endpoint cannot accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            debug!(%peer, "metrics endpoint: too many connections, closing this one");
            drop(stream);
            continue;
        };
        let options = Arc::clone(&options);
        let shared = Arc::clone(&shared);
        tokio::spawn(async move {
            let _slot = slot;
            serve_connection(stream, peer, &options, shared).await;
        });
    }
    debug!("metrics endpoint stopped");
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    options: &EndpointOptions,
    shared: Arc<Shared>,
) {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| respond(request, Arc::clone(&shared)));
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .max_buf_size(options.max_request_head_bytes)
        .max_headers(options.max_headers)
        .serve_connection(TokioIo::new(stream), service);
    match tokio::time::timeout(options.connection_timeout, connection).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => debug!(%peer, "metrics connection ended: {e}"),
        Err(_) => debug!(%peer, "metrics connection cut after {:?}", options.connection_timeout),
    }
}

async fn respond(
    request: Request<Incoming>,
    shared: Arc<Shared>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let route = routes::route(request.method(), request.uri().path(), request.headers());
    debug!(method = %request.method(), path = request.uri().path(), ?route, "metrics endpoint request");
    let response = match route {
        Route::Metrics(format) => {
            let metrics = shared.metrics.clone();
            let body = tokio::task::spawn_blocking(move || metrics.encode(format).ok())
                .await
                .ok()
                .flatten();
            routes::metrics(format, body)
        }
        other => routes::simple(other, || shared.readiness.check()),
    };
    Ok(response)
}

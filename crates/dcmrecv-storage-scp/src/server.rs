//! The listener: accepting connections, one thread per association within a limit, and a
//! graceful shutdown that drains in-flight associations until a deadline.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::net::{Ipv4Addr, Ipv6Addr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use snafu::ResultExt;
use tracing::{debug, error, warn};

use crate::association::{self, Connection, Context};
use crate::options::{AcceptorOptions, BindListenerSnafu, Error, ResolveAddressSnafu};
use crate::sink::SinkFactory;

/// After the shutdown deadline, how long aborted associations get to finish before their
/// sockets are closed under them.
const ABORT_GRACE: Duration = Duration::from_secs(2);

/// A bound DICOM association acceptor. [`serve`](Acceptor::serve) runs it.
pub struct Acceptor {
    listener: TcpListener,
    local_addr: SocketAddr,
    shared: Arc<Shared>,
    ctx: Arc<Context>,
}

impl fmt::Debug for Acceptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Acceptor")
            .field("local_addr", &self.local_addr)
            .field("options", &self.ctx.options)
            .finish_non_exhaustive()
    }
}

/// State shared by the accept loop, the association threads and the shutdown handles.
struct Shared {
    slots: Mutex<Slots>,
    changed: Condvar,
    shutting_down: AtomicBool,
    next_id: AtomicU64,
    wake_addr: SocketAddr,
}

#[derive(Default)]
struct Slots {
    /// Associations being served (counted against the limit).
    active: usize,
    /// Connections over the limit that are being read and rejected.
    rejecting: usize,
    /// A clone of every open connection's socket, to shut it down when aborting.
    sockets: HashMap<u64, TcpStream>,
    /// When in-flight associations are aborted; set by the first shutdown call.
    deadline: Option<Instant>,
}

impl Shared {
    fn slots(&self) -> MutexGuard<'_, Slots> {
        // A panic while holding this lock cannot leave the counters inconsistent (each update
        // is a single statement), so a poisoned lock is still usable.
        self.slots
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Stops an [`Acceptor`] from another thread. Cheap to clone.
#[derive(Clone)]
pub struct ShutdownHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for ShutdownHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShutdownHandle")
            .field("shutting_down", &self.is_shutting_down())
            .finish()
    }
}

impl ShutdownHandle {
    /// Stops accepting connections at once and lets in-flight associations continue for up to
    /// `grace`; then they are aborted (A-ABORT sent, sinks aborted). An object whose
    /// [`StoreSink::finish`](crate::StoreSink::finish) already ran still gets its response.
    /// [`Acceptor::serve`] returns when every association thread has ended.
    ///
    /// Only the first call sets the deadline.
    pub fn shutdown(&self, grace: Duration) {
        {
            let mut slots = self.shared.slots();
            if slots.deadline.is_none() {
                slots.deadline = Some(Instant::now() + grace);
            }
        }
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wake the accept loop with a connection of our own; it sees the flag and stops.
        let _ = TcpStream::connect_timeout(&self.shared.wake_addr, Duration::from_secs(1));
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutting_down.load(Ordering::SeqCst)
    }

    /// The number of associations being served now (not counting connections that are being
    /// rejected because the limit was reached).
    pub fn active_associations(&self) -> usize {
        self.shared.slots().active
    }
}

pub(crate) fn bind(
    options: AcceptorOptions,
    addr: impl ToSocketAddrs + fmt::Display,
    sinks: Arc<dyn SinkFactory>,
) -> Result<Acceptor, Error> {
    let shown = addr.to_string();
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .context(ResolveAddressSnafu { addr: &shown })?
        .collect();
    let listener =
        TcpListener::bind(addrs.as_slice()).context(BindListenerSnafu { addr: &shown })?;
    let local_addr = listener
        .local_addr()
        .context(BindListenerSnafu { addr: &shown })?;
    let wake_ip = match local_addr {
        SocketAddr::V4(a) if a.ip().is_unspecified() => Ipv4Addr::LOCALHOST.into(),
        SocketAddr::V6(a) if a.ip().is_unspecified() => Ipv6Addr::LOCALHOST.into(),
        a => a.ip(),
    };
    let shared = Arc::new(Shared {
        slots: Mutex::new(Slots::default()),
        changed: Condvar::new(),
        shutting_down: AtomicBool::new(false),
        next_id: AtomicU64::new(1),
        wake_addr: SocketAddr::new(wake_ip, local_addr.port()),
    });
    let ctx = Arc::new(Context {
        options,
        sinks,
        aborting: Arc::new(AtomicBool::new(false)),
    });
    Ok(Acceptor {
        listener,
        local_addr,
        shared,
        ctx,
    })
}

impl Acceptor {
    /// The address the listener is bound to (with the actual port when bound to port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A handle to stop [`serve`](Self::serve) from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Accepts connections and serves each on its own thread until
    /// [`ShutdownHandle::shutdown`] is called; then drains and returns.
    ///
    /// Failures of one connection (a peer that sends garbage, resets, or times out) are logged
    /// and never end the loop. Transient `accept` errors (e.g. too many open files) are logged
    /// and retried after a short pause.
    pub fn serve(self) {
        let Acceptor {
            listener,
            local_addr,
            shared,
            ctx,
        } = self;
        let max = ctx.options.max_associations;
        // Connections over the limit still get a proper A-ASSOCIATE-RJ, read and sent on a
        // thread of their own; beyond this many at once they are simply closed.
        let max_rejecting = max.max(8);
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        debug!(address = %local_addr, "listening for associations");
        loop {
            let accepted = listener.accept();
            if shared.shutting_down.load(Ordering::SeqCst) {
                break;
            }
            let (stream, peer) = match accepted {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    warn!("cannot accept a connection: {e}");
                    thread::sleep(Duration::from_millis(50));
                    continue;
                }
            };
            threads.retain(|t| !t.is_finished());
            let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
            let over_limit = {
                let mut slots = shared.slots();
                let over_limit = if slots.active < max {
                    slots.active += 1;
                    false
                } else if slots.rejecting < max_rejecting {
                    slots.rejecting += 1;
                    true
                } else {
                    drop(slots);
                    warn!(%peer, "closing a connection: too many associations and rejections in progress");
                    continue;
                };
                if let Ok(clone) = stream.try_clone() {
                    slots.sockets.insert(id, clone);
                }
                over_limit
            };
            let slot = SlotGuard {
                shared: Arc::clone(&shared),
                id,
                over_limit,
            };
            let ctx = Arc::clone(&ctx);
            let spawned = thread::Builder::new()
                .name(format!("association-{id}"))
                .spawn(move || {
                    let _slot = slot;
                    let conn = Connection {
                        local: stream.local_addr().ok(),
                        stream,
                        id,
                        peer,
                        over_limit,
                        tls: None,
                    };
                    // A panicking sink must not take the server down; the guard frees the slot.
                    if catch_unwind(AssertUnwindSafe(|| association::run(conn, &ctx))).is_err() {
                        error!(%peer, "association thread panicked");
                    }
                });
            match spawned {
                Ok(handle) => threads.push(handle),
                // The closure, and with it the guard and the stream, was dropped.
                Err(e) => warn!(%peer, "cannot start an association thread: {e}"),
            }
        }
        // Refuse new connections at once rather than leaving them in the backlog.
        drop(listener);
        drain(&shared, &ctx);
        for thread in threads {
            let _ = thread.join();
        }
        debug!("stopped serving");
    }
}

/// Waits for in-flight associations until the deadline, then aborts the rest.
fn drain(shared: &Shared, ctx: &Context) {
    let mut slots = shared.slots();
    let deadline = *slots.deadline.get_or_insert_with(Instant::now);
    while slots.active + slots.rejecting > 0 {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        slots = shared
            .changed
            .wait_timeout(slots, left)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0);
    }
    if slots.active + slots.rejecting == 0 {
        return;
    }
    warn!(
        associations = slots.active,
        "shutdown deadline reached: aborting the remaining associations"
    );
    ctx.aborting.store(true, Ordering::SeqCst);
    // Shutting the read side wakes a blocked read; the write side stays open so that an
    // object whose sink already finished still gets its response, and our A-ABORT goes out.
    for socket in slots.sockets.values() {
        let _ = socket.shutdown(Shutdown::Read);
    }
    let until = Instant::now() + ABORT_GRACE;
    while slots.active + slots.rejecting > 0 {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        slots = shared
            .changed
            .wait_timeout(slots, left)
            .map(|(guard, _)| guard)
            .unwrap_or_else(|poisoned| poisoned.into_inner().0);
    }
    for socket in slots.sockets.values() {
        let _ = socket.shutdown(Shutdown::Both);
    }
}

/// Frees an association's slot when its thread ends, however it ends.
struct SlotGuard {
    shared: Arc<Shared>,
    id: u64,
    over_limit: bool,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        {
            let mut slots = self.shared.slots();
            if self.over_limit {
                slots.rejecting = slots.rejecting.saturating_sub(1);
            } else {
                slots.active = slots.active.saturating_sub(1);
            }
            slots.sockets.remove(&self.id);
        }
        self.shared.changed.notify_all();
    }
}

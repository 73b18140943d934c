//! The acceptor: the listener and the poller thread that holds new connections until their
//! A-ASSOCIATE-RQ has arrived (`pending.rs`), one thread per association within a limit
//! (`slots.rs`), and a graceful shutdown that drains in-flight associations until a deadline.

use std::fmt;
use std::net::{Shutdown, SocketAddr, TcpListener as StdListener, ToSocketAddrs};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Interest, Poll, Waker};
use snafu::ResultExt;
use tracing::{debug, error, warn};

use crate::association::{self, Context};
use crate::gate::{Gate, NEGOTIATING_AT_ONCE};
use crate::options::{
    AcceptorOptions, BindListenerSnafu, Error, ResolveAddressSnafu, StartPollerSnafu,
};
use crate::pending::{self, LISTENER, Limits, Pool, Ready, WAKER};
use crate::reload::{Policy, PolicyCell, ReloadHandle};
use crate::sink::SinkFactory;
use crate::slots::{Activity, Kind, SlotGuard, SlotTable};

/// After the shutdown deadline, how long aborted associations get to finish before their
/// sockets are closed under them.
const ABORT_GRACE: Duration = Duration::from_secs(2);

/// A bound DICOM association acceptor. [`serve`](Acceptor::serve) runs it.
pub struct Acceptor {
    listener: TcpListener,
    poll: Poll,
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
    slots: Arc<SlotTable>,
    shutting_down: AtomicBool,
    next_id: AtomicU64,
    /// Interrupts the poll of the accept loop.
    waker: Waker,
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
    /// Stops accepting connections at once (connections that have not sent their
    /// A-ASSOCIATE-RQ yet are closed) and lets in-flight associations continue for up to
    /// `grace`; then they are aborted (A-ABORT sent, sinks aborted). An object whose
    /// [`StoreSink::finish`](crate::StoreSink::finish) already ran still gets its response.
    /// [`Acceptor::serve`] returns when every association thread has ended.
    ///
    /// Only the first call sets the deadline.
    pub fn shutdown(&self, grace: Duration) {
        {
            let mut slots = self.shared.slots.lock();
            if slots.deadline.is_none() {
                slots.deadline = Some(Instant::now() + grace);
            }
        }
        self.shared.shutting_down.store(true, Ordering::SeqCst);
        self.shared.slots.changed.notify_all();
        if let Err(e) = self.shared.waker.wake() {
            warn!("cannot wake the accept loop: {e}");
        }
    }

    /// Whether [`shutdown`](Self::shutdown) was called.
    pub fn is_shutting_down(&self) -> bool {
        self.shared.shutting_down.load(Ordering::SeqCst)
    }

    /// The number of associations being served now (not counting connections that are being
    /// rejected because the limit was reached, nor those that have not sent their
    /// A-ASSOCIATE-RQ yet).
    pub fn active_associations(&self) -> usize {
        self.shared.slots.lock().active
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
        StdListener::bind(addrs.as_slice()).context(BindListenerSnafu { addr: &shown })?;
    serve_on(options, listener, &shown, sinks)
}

/// An acceptor on a listener bound by the caller (socket activation).
pub(crate) fn from_listener(
    options: AcceptorOptions,
    listener: StdListener,
    sinks: Arc<dyn SinkFactory>,
) -> Result<Acceptor, Error> {
    let shown = match listener.local_addr() {
        Ok(addr) => addr.to_string(),
        Err(_) => "the inherited listener".to_string(),
    };
    serve_on(options, listener, &shown, sinks)
}

fn serve_on(
    options: AcceptorOptions,
    listener: StdListener,
    shown: &str,
    sinks: Arc<dyn SinkFactory>,
) -> Result<Acceptor, Error> {
    let local_addr = listener
        .local_addr()
        .context(BindListenerSnafu { addr: shown })?;
    listener
        .set_nonblocking(true)
        .context(BindListenerSnafu { addr: shown })?;
    let mut listener = TcpListener::from_std(listener);
    let poll = Poll::new().context(StartPollerSnafu)?;
    poll.registry()
        .register(&mut listener, LISTENER, Interest::READABLE)
        .context(StartPollerSnafu)?;
    let waker = Waker::new(poll.registry(), WAKER).context(StartPollerSnafu)?;
    let shared = Arc::new(Shared {
        slots: Arc::new(SlotTable::default()),
        shutting_down: AtomicBool::new(false),
        next_id: AtomicU64::new(1),
        waker,
    });
    let policy = PolicyCell::new(Policy {
        profile: options.profile.clone(),
        access_control: Arc::clone(&options.access_control),
    });
    let options_per_ae = options
        .max_associations_per_ae
        .map(crate::ae_limit::AeLimit::new);
    let ctx = Arc::new(Context {
        options,
        sinks,
        aborting: Arc::new(AtomicBool::new(false)),
        policy: Arc::new(policy),
        gate: Gate::new(NEGOTIATING_AT_ONCE),
        epoch: Instant::now(),
        per_ae: options_per_ae,
    });
    Ok(Acceptor {
        listener,
        poll,
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

    /// A handle to change the negotiation profile and the access control while serving.
    pub fn reload_handle(&self) -> ReloadHandle {
        ReloadHandle {
            cell: Arc::clone(&self.ctx.policy),
        }
    }

    /// Accepts connections and serves each association on its own thread until
    /// [`ShutdownHandle::shutdown`] is called; then drains and returns.
    ///
    /// This thread watches every connection until its A-ASSOCIATE-RQ has arrived (see
    /// [`AcceptorOptions::max_pending`]); only then does the connection get a thread and an
    /// association slot. Failures of one connection (a peer that sends garbage, resets, or
    /// times out) are logged and never end the loop. Transient `accept` errors (e.g. too many
    /// open files) are logged and retried after a short pause.
    pub fn serve(self) {
        let Acceptor {
            mut listener,
            mut poll,
            local_addr,
            shared,
            ctx,
        } = self;
        let options = &ctx.options;
        let limits = Limits {
            max: options.max_pending,
            per_address: options.max_pending_per_address,
            timeout: options.pending_timeout.min(options.acse_timeout),
        };
        let mut pool = Pool::new(limits, options.tls.clone());
        let mut threads: Vec<JoinHandle<()>> = Vec::new();
        debug!(address = %local_addr, "listening for associations");
        pending::run(
            &mut poll,
            &mut listener,
            &mut pool,
            &shared.shutting_down,
            options.heartbeat.as_deref(),
            |ready| {
                threads.retain(|t| !t.is_finished());
                if let Some(thread) = admit(&shared, &ctx, ready) {
                    threads.push(thread);
                }
            },
        );
        debug!(
            pending = pool.len(),
            "no longer accepting; closing the connections without an association request"
        );
        // Refuse new connections at once rather than leaving them in the backlog.
        drop(pool);
        drop(listener);
        drain(&shared, &ctx);
        for thread in threads {
            let _ = thread.join();
        }
        debug!("stopped serving");
    }
}

/// Gives a connection whose request has arrived a slot and a thread: a free slot, or the slot
/// of the association idle longest (longer than the ACSE timeout), or a place among the
/// rejecting threads; otherwise it is closed.
fn admit(shared: &Arc<Shared>, ctx: &Arc<Context>, ready: Ready) -> Option<JoinHandle<()>> {
    let options = &ctx.options;
    let max = options.max_associations;
    // Requests over the limit still get a proper A-ASSOCIATE-RJ, sent by a thread of their
    // own; beyond this many at once they are simply closed.
    let max_rejecting = max.max(8);
    let peer = ready.peer;
    let socket = match ready.stream.socket().try_clone() {
        Ok(socket) => socket,
        Err(e) => {
            ready
                .span
                .in_scope(|| warn!("cannot take the connection on: {e}"));
            return None;
        }
    };
    let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
    let activity = Arc::new(Activity::new(ctx.epoch));
    let kind = {
        let mut slots = shared.slots.lock();
        let kind = if slots.active < max {
            Kind::Active
        } else if let Some(victim) = slots.idle_longest(Instant::now(), options.acse_timeout) {
            debug!(
                victim,
                idle = ?slots.idle_times(Instant::now()),
                "every association slot is taken: the association idle longest makes way"
            );
            slots.evict(victim);
            Kind::Active
        } else if slots.rejecting < max_rejecting {
            Kind::Rejecting
        } else {
            drop(slots);
            ready.span.in_scope(|| {
                warn!("closing a connection: too many associations and rejections in progress");
            });
            return None;
        };
        slots.insert(id, socket, Arc::clone(&activity), kind);
        kind
    };
    let slot = SlotGuard {
        table: Arc::clone(&shared.slots),
        id,
    };
    let ctx = Arc::clone(ctx);
    let spawned = thread::Builder::new()
        .name(format!("association-{id}"))
        .spawn(move || {
            let _slot = slot;
            let over_limit = kind == Kind::Rejecting;
            // A panicking sink must not take the server down; the guard frees the slot.
            let run = AssertUnwindSafe(|| association::run(ready, id, over_limit, activity, &ctx));
            if catch_unwind(run).is_err() {
                error!(%peer, "association thread panicked");
            }
        });
    match spawned {
        Ok(handle) => Some(handle),
        // The closure, and with it the guard and the stream, was dropped.
        Err(e) => {
            warn!(%peer, "cannot start an association thread: {e}");
            None
        }
    }
}

/// Waits for in-flight associations until the deadline, then aborts the rest.
fn drain(shared: &Shared, ctx: &Context) {
    let table = &shared.slots;
    let mut slots = table.lock();
    let deadline = *slots.deadline.get_or_insert_with(Instant::now);
    while !slots.is_empty() {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        slots = table.wait(slots, left);
    }
    if slots.is_empty() {
        return;
    }
    warn!(
        associations = slots.active,
        "shutdown deadline reached: aborting the remaining associations"
    );
    ctx.aborting.store(true, Ordering::SeqCst);
    // Shutting the read side wakes a blocked read; the write side stays open so that an
    // object whose sink already finished still gets its response, and our A-ABORT goes out.
    slots.shutdown_all(Shutdown::Read);
    let until = Instant::now() + ABORT_GRACE;
    while !slots.is_empty() {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        slots = table.wait(slots, left);
    }
    slots.shutdown_all(Shutdown::Both);
}

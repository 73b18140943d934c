//! Socket activation: the listening socket systemd passes as file descriptor 3.

use std::env;
use std::io;
use std::net::TcpListener;
use std::process;

use snafu::{ResultExt, Snafu};

/// The socket systemd passed cannot be used. Fatal: the unit is misconfigured.
#[derive(Debug, Snafu)]
#[non_exhaustive]
pub enum Error {
    /// `LISTEN_PID` or `LISTEN_FDS` is not a number.
    #[snafu(display("invalid {name} in the environment: {value:?}"))]
    InvalidVariable {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// More than one socket was passed (the `.socket` unit has several `Listen*=` lines).
    #[snafu(display("systemd passed {count} sockets; dcmrecv-rs serves exactly one"))]
    SocketCount {
        /// `LISTEN_FDS`.
        count: u32,
    },
    /// File descriptor 3 is not a TCP socket (e.g. `ListenDatagram=` or a Unix socket).
    #[snafu(display("file descriptor 3 from systemd is not a TCP socket"))]
    NotTcp {
        /// listenfd's check.
        source: io::Error,
    },
    /// File descriptor 3 is a connected, not a listening, socket (`Accept=yes`).
    #[snafu(display(
        "file descriptor 3 from systemd is not listening (the .socket unit needs Accept=no)"
    ))]
    NotListening,
    /// The socket's state could not be read or set.
    #[snafu(display("cannot prepare the socket from systemd"))]
    Prepare {
        /// The operating system's error.
        source: io::Error,
    },
}

/// The listening TCP socket systemd passed (`LISTEN_FDS=1`, `LISTEN_PID` = this process), or
/// `None` when the process was not socket-activated.
///
/// Follows sd_listen_fds(3): the variables count only when `LISTEN_PID` is this process (they
/// may have been inherited from a parent). The descriptor is checked to be a TCP socket (by
/// `listenfd`, which holds the one `unsafe` conversion from a raw descriptor, after `fstat`,
/// `getsockname` and `SO_TYPE` checks) and to be listening (`SO_ACCEPTCONN`, through rustix's
/// safe wrapper), and it is returned in blocking mode, close-on-exec. `LISTEN_PID` and
/// `LISTEN_FDS` are removed from the environment so that child processes (hooks) cannot
/// take the socket for theirs.
///
/// Call it first thing in `main`, before any thread is started: removing environment variables
/// while another thread reads the environment is a data race in the C library.
///
/// ```no_run
/// let listener = match dcmrecv_systemd::listener_from_env()? {
///     Some(listener) => listener,                         // started by dcmrecv.socket
///     None => std::net::TcpListener::bind("0.0.0.0:11112")?, // started directly
/// };
/// # let _ = listener;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn listener_from_env() -> Result<Option<TcpListener>, Error> {
    let Some(pid) = number("LISTEN_PID")? else {
        return Ok(None);
    };
    if pid != process::id() {
        return Ok(None);
    }
    match number("LISTEN_FDS")? {
        None | Some(0) => return Ok(None),
        Some(1) => {}
        Some(count) => return SocketCountSnafu { count }.fail(),
    }
    let listener = listenfd::ListenFd::from_env()
        .take_tcp_listener(0)
        .context(NotTcpSnafu)?;
    let Some(listener) = listener else {
        return Ok(None);
    };
    if !rustix::net::sockopt::socket_acceptconn(&listener)
        .map_err(io::Error::from)
        .context(PrepareSnafu)?
    {
        return NotListeningSnafu.fail();
    }
    listener.set_nonblocking(false).context(PrepareSnafu)?;
    Ok(Some(listener))
}

fn number(name: &'static str) -> Result<Option<u32>, Error> {
    match env::var(name) {
        Err(_) => Ok(None),
        Ok(value) => match value.trim().parse() {
            Ok(n) => Ok(Some(n)),
            Err(_) => InvalidVariableSnafu { name, value }.fail(),
        },
    }
}

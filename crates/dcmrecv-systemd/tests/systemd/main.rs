//! dcmrecv-systemd against the real protocol ends: a `NOTIFY_SOCKET` datagram socket, sockets
//! passed by Debian's `systemd-socket-activate`, and the shipped unit files checked by
//! `systemd-analyze`.
//!
//! The library reads its environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`, `LISTEN_FDS`, ...) as
//! a service does, and a test cannot safely change its own process's environment. So each
//! scenario runs in a child process: this test binary started again with the scenario's
//! environment, running only `child::entry_point` (see `child.rs`).

#![allow(
    clippy::unwrap_used,
    reason = "test support code: a failed unwrap is a failed test"
)]

mod activation;
mod child;
mod notify;
mod support;
mod unit_files;

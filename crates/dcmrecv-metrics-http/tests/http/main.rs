//! The endpoint served to a real HTTP client (`/usr/bin/curl`) and to raw, misbehaving sockets.

#![allow(
    clippy::unwrap_used,
    reason = "test support code: a failed unwrap is a failed test"
)]

mod limits;
mod routes;
mod support;

//! The endpoint served to a real HTTP client (`/usr/bin/curl`) and to raw, misbehaving sockets.

mod limits;
mod routes;
mod support;

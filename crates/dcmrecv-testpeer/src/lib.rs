//! A raw-PDU DICOM client for testing SCPs: it speaks the upper layer protocol byte by byte, so
//! a test sends exactly what it means to — well-formed associations and DIMSE messages, or
//! malformed PDUs, truncated streams, aborts and TCP resets. The association PDUs are written
//! and read with dicom-ul's PDU codec; P-DATA-TF PDUs, PDV items and command sets are laid out
//! by hand (PS3.8 9.3, PS3.7 E.1), so nothing a test sends is "fixed" on the way.
//!
//! It is test code: failures it does not expect (a refused connection, an undecodable PDU)
//! panic with a message, and the methods that a test expects to fail return `Option` or
//! `bool`.
//!
//! # Example
//!
//! ```no_run
//! use dcmrecv_testpeer::{CT, Client, EXPLICIT, VERIFICATION, payload, pc, rq};
//!
//! let addr = "127.0.0.1:11112".parse()?;
//! let request = rq("RAWSCU", vec![pc(1, VERIFICATION, &[EXPLICIT]), pc(3, CT, &[EXPLICIT])]);
//! let (mut client, _ac) = Client::associate_ok(addr, &request);
//! assert_eq!(client.echo(1, 1), Some(0x0000));
//! assert_eq!(client.store(3, 2, CT, "1.2.3.4", &payload(1000)), Some(0xC000)); // not a data set
//! client.release();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Features
//!
//! - [`pc`], [`rq`], [`encode`], [`pdu`], [`pdv`], [`p_data`]: PDU bytes; [`A_ABORT`] and the
//!   PDV flags.
//! - [`command`], [`c_echo_rq`], [`c_store_rq`], [`parse_command`], [`us`], [`text`]: command
//!   sets.
//! - [`Client`]: connect, associate, echo, store, release, abort, reset, and wait for the SCP
//!   to end the association; over any [`Duplex`] stream.
//! - `tls` (cargo feature): [`Duplex`] for rustls' client stream and `Client::connect_tls`.

mod client;
mod command;
mod pdu;

pub use client::{Client, Duplex};
pub use command::{
    c_echo_rq, c_store_rq, c_store_rq_bytes, command, element, parse_command, payload, text,
    uid_value, us,
};
pub use pdu::{
    A_ABORT, APP_CONTEXT, COMMAND_LAST, COMMAND_MORE, CT, DATA_LAST, DATA_MORE, EXPLICIT, IMPLICIT,
    VERIFICATION, encode, p_data, pc, pdu, pdv, rq,
};

/// The code blocks of the README, compiled as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

//! Hermetic integration tests of the acceptor through its public API: a raw-PDU client (built
//! on dicom-ul's PDU writer and reader) and dicom-ul's `ClientAssociationOptions` against an
//! acceptor on 127.0.0.1:0. Calling AE titles (R01...) name the
//! scenarios in the logs.

#![allow(
    clippy::unwrap_used,
    reason = "test support code: a failed unwrap is a failed test"
)]

mod dimse;
mod lifecycle;
mod negotiation;
mod support;
mod tls;

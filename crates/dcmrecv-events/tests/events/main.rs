//! Integration tests of dcmrecv-events through its public API only.

mod json_lines;
mod watch;

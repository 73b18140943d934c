//! Integration tests of dcmrecv-hooks with real programs: `/bin/sh` scripts written to a temp
//! directory act as the users' hooks.

mod event_hooks;
mod injection;
#[cfg(target_os = "linux")]
mod priority;
mod runner;
mod support;

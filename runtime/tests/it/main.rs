//! The runtime's end-to-end tests, as one binary (issue 14): linking the crate once instead of
//! once per file. A module per concern, named as the file it was:
//! `cargo test -p psctl-runtime --test it control::` runs the control channel's tests.
//!
//! Tests run in parallel threads of this one process: each works in its own directory with its
//! own runtime directory, syslog socket, process tag and IPCKEYs (`common`), and none changes
//! what the process shares (environment, current directory, umask, limits).

mod common;

mod apply;
mod behaviour;
mod cli;
mod control;
mod hostile;
mod json;
mod metrics;
mod rsyslog;
mod security;
mod walkthrough;

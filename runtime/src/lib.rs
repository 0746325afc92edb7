//! The pcheck/padmin runtime: discovery of processes in /proc, pidfd watching, the spec 3.3
//! state machine, restart scripts, syslog, the state dump and the control channel.

pub mod admin;
pub mod clock;
pub mod config;
pub mod control;
pub mod daemon;
pub mod discovery;
pub mod dump;
pub mod restart;
pub mod signals;
pub mod state;
pub mod syslog;
pub mod view;

//! The pcheck/padmin runtime: discovery of processes in /proc, pidfd watching, the spec 3.3
//! state machine, restart scripts, syslog, the state dump and the control channel.

pub mod clock;
pub mod discovery;
pub mod state;
pub mod syslog;

//! The pcheck/padmin runtime: discovery of processes in /proc, pidfd watching, the spec 3.3
//! state machine, restart scripts, syslog, the state dump and the control channel.

pub mod admin;
pub mod clock;
pub mod config;
pub mod control;
pub mod daemon;
pub mod dirs;
pub mod discovery;
pub mod dump;
pub mod json;
pub mod limits;
pub mod metrics;
pub mod report;
pub mod restart;
pub mod signals;
pub mod state;
pub mod syslog;
pub mod view;

/// The command-line arguments after the program name, or `None` when one is not valid UTF-8
/// (both binaries then refuse with a usage error rather than panic).
pub fn utf8_args() -> Option<Vec<String>> {
    std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().ok())
        .collect()
}

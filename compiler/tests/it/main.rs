//! The compiler's integration tests, as one binary (issue 14): linking the crate once instead
//! of once per file. A module per concern, named as the file it was:
//! `cargo test -p psctl --test it cli_check::` runs the `psctl check` tests.
//!
//! Tests run in parallel threads of this one process, so none may change what the process
//! shares (environment, current directory, umask, limits, signal handlers): a test that must
//! re-runs itself in a child process (see `fuzz_findings`).

// Shared by the modules below.
mod apply_support;
mod emit_common;
mod test;

mod apply_ansible;
mod apply_e2e;
mod apply_race;
mod apply_reload;
mod apply_same_bytes;
mod apply_trust;
mod cli_check;
mod cli_host;
mod completions_man;
mod corpus;
mod editors;
mod emit_cli;
mod emit_golden;
mod emit_props;
mod emit_props_import;
mod emit_scripts;
mod escapes;
mod extensions;
mod fuzz_findings;
mod hostile;
mod pre_commit;
mod props;
mod schema_agreement;
mod systemd_unit;
mod version;

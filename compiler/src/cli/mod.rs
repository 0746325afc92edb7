//! Command-line interface: argument parsing and dispatch. Each subcommand is one module with
//! its own `Args` and `run`, which returns the process exit status (spec section 5: 0 clean,
//! 1 problems found, 2 usage or I/O error; `apply --check` also uses 3).

pub mod apply;
pub mod build;
pub mod check;
pub mod completions;
pub mod explain;
pub mod fmt;
pub mod import;
pub mod man;
pub mod output;
pub mod schema;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "psctl",
    version,
    about = "Lint, compile and format process-monitoring configurations"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Lint service descriptions and pfiles
    Check(check::Args),
    /// Emit normalized pfiles and restart scripts
    Build(build::Args),
    /// Rewrite pfiles in canonical form
    Fmt(fmt::Args),
    /// Convert a legacy pfile into a service description
    Import(import::Args),
    /// Print the JSON Schema of service descriptions
    Schema(schema::Args),
    /// Print the long explanation of a diagnostic code
    Explain(explain::Args),
    /// Install on this host and reload the pchecks whose pfile changed
    Apply(apply::Args),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    Completions(completions::Args),
    /// Write the manual pages of psctl, pcheck and padmin
    Man(man::Args),
}

pub fn main() -> ExitCode {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let cli = match Cli::try_parse_from(&argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            apply::usage_error_summary(&argv, &e);
            // clap uses 0 for --help/--version and 2 for usage errors, as the spec wants.
            return ExitCode::from(e.exit_code() as u8);
        }
    };
    let status = match cli.command {
        Command::Check(a) => check::run(a),
        Command::Build(a) => build::run(a),
        Command::Fmt(a) => fmt::run(a),
        Command::Import(a) => import::run(a),
        Command::Schema(a) => schema::run(a),
        Command::Explain(a) => explain::run(a),
        Command::Apply(a) => apply::run(a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => man::run(a),
    };
    ExitCode::from(status)
}

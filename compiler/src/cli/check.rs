//! `psctl check`: lints files, directories (recursively) and stdin (`-`), printing every
//! problem. Exit 0 clean (warnings allowed unless `--deny-warnings`), 1 problems, 2 usage or
//! I/O error.

use std::path::PathBuf;

use super::output::{print_diagnostics, print_summary, MessageFormat};
use crate::diagnostics::{self, codes};
use crate::input::{check_files, collect_current_dir, collect_paths, CheckOptions, Format};

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum StdinFormat {
    Pfile,
    Yaml,
    Toml,
    Json,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Files, directories (searched recursively for pfile*, *.yaml, *.yml, *.toml, *.json,
    /// skipping what .gitignore ignores) or `-` for stdin; default: the service descriptions
    /// and pfiles under the current directory
    pub paths: Vec<PathBuf>,
    /// How diagnostics are printed
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
    /// What stdin holds when `-` is given
    #[arg(long, value_enum, default_value_t = StdinFormat::Pfile)]
    pub stdin_format: StdinFormat,
    /// Also check restart scripts on this host (exist, executable, owner, permissions)
    #[arg(long)]
    pub host: bool,
    /// Exit 1 when there are warnings, not only errors
    #[arg(long)]
    pub deny_warnings: bool,
}

pub fn run(args: Args) -> u8 {
    crate::schema::prepare();
    let default = args.paths.is_empty();
    let paths = args.paths;
    if paths.iter().filter(|p| p.as_os_str() == "-").count() > 1 {
        eprintln!("psctl check: `-` (stdin) may be given only once");
        return 2;
    }
    let opts = CheckOptions {
        host: args.host,
        stdin_format: match args.stdin_format {
            StdinFormat::Pfile => Format::Pfile,
            StdinFormat::Yaml => Format::Yaml,
            StdinFormat::Toml => Format::Toml,
            StdinFormat::Json => Format::Json,
        },
    };
    let found = if default {
        collect_current_dir()
    } else {
        collect_paths(&paths)
    };
    let inputs = match found.map(|files| check_files(&files, &opts)) {
        Ok(i) => i,
        Err(d) => {
            print_diagnostics(&[d], args.message_format);
            return 2;
        }
    };
    let files = inputs.len();
    // Planning the output finds what only emitting would (a value a pfile cannot hold, two
    // services generating one script name), so that check passes exactly what build accepts.
    let plan_diags = super::build::emit_problems(&inputs);
    let mut inputs = inputs;
    let mut diags: Vec<_> = inputs
        .iter_mut()
        .flat_map(|i| std::mem::take(&mut i.diagnostics))
        .collect();
    // The process ends after printing: freeing every input's text and model (memory other
    // threads allocated) would only cost time, about a millisecond for 300 files.
    std::mem::forget(inputs);
    diags.extend(plan_diags);
    diagnostics::sort(&mut diags);
    print_diagnostics(&diags, args.message_format);
    print_summary(&diags, files, args.message_format);
    if diags.iter().any(|d| d.code == codes::IO) {
        2
    } else if diags.iter().any(|d| d.is_error() || args.deny_warnings) {
        1
    } else {
        0
    }
}

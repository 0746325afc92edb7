//! `padmin -l` and `padmin -f PFILE -c COMMAND`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    ExitCode::from(psctl_runtime::admin::main(&args))
}

//! `padmin -l` and `padmin -f PFILE -c COMMAND`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(args) = psctl_runtime::utf8_args() else {
        eprintln!("padmin: arguments must be valid UTF-8");
        return ExitCode::from(2);
    };
    ExitCode::from(psctl_runtime::admin::main(&args))
}

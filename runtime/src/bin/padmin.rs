//! `padmin -l` and `padmin -f PFILE -c COMMAND`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(args) = psctl_runtime::utf8_args() else {
        let _ = psctl_runtime::syslog::try_stderr("padmin: arguments must be valid UTF-8\n");
        return ExitCode::from(2);
    };
    ExitCode::from(psctl_runtime::admin::main(&args))
}

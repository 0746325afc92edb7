//! `padmin -l` and `padmin -f PFILE -c COMMAND`.

use std::process::ExitCode;

use psctl_runtime::admin::Exit;

fn main() -> ExitCode {
    let Some(args) = psctl_runtime::utf8_args() else {
        let _ = psctl_runtime::syslog::try_stderr("padmin: arguments must be valid UTF-8\n");
        return ExitCode::from(u8::from(Exit::Usage));
    };
    ExitCode::from(psctl_runtime::admin::main(&args))
}

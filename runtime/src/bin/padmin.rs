//! `padmin -l` and `padmin -f PFILE -c COMMAND`.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Option<Vec<String>> = std::env::args_os()
        .skip(1)
        .map(|a| a.into_string().ok())
        .collect();
    let Some(args) = args else {
        eprintln!("padmin: arguments must be valid UTF-8");
        return ExitCode::from(2);
    };
    ExitCode::from(psctl_runtime::admin::main(&args))
}

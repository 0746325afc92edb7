//! Host rules (`check --host`): the restart scripts an input names exist on this machine, are
//! executable regular files, are owned by root or the caller, and are not group- or
//! world-writable. All are warnings: the input may be meant for another host.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::diagnostics::{codes, Diagnostic};
use crate::input::Input;
use crate::model::{Loc, Restart};

/// The effective uid of this process: the owner of `/proc/self` (Linux), without libc.
fn caller_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// Host diagnostics for one input (nothing when it has no valid service).
pub fn check(input: &Input) -> Vec<Diagnostic> {
    let Some(svc) = &input.service else {
        return Vec::new();
    };
    let me = caller_uid();
    let mut out = Vec::new();
    for (i, p) in svc.processes.iter().enumerate() {
        let Restart::Script(cmd) = &p.restart else {
            continue;
        };
        let Some(path) = cmd.split_whitespace().next() else {
            continue;
        };
        let span = input.spans.span(Loc::Restart(i));
        let warn = |code, msg: String, label: &str, help: String| {
            Diagnostic::warning(code, msg)
                .with_label(span, label)
                .with_help(help)
                .in_file(&input.source)
        };
        let meta = match std::fs::metadata(Path::new(path)) {
            Ok(m) => m,
            Err(e) => {
                out.push(warn(
                    codes::HOST_SCRIPT_MISSING,
                    format!("restart script `{path}` cannot be used on this host: {e}"),
                    "missing here",
                    format!("install the script at {path}, or fix the path"),
                ));
                continue;
            }
        };
        if !meta.is_file() || meta.mode() & 0o111 == 0 {
            out.push(warn(
                codes::HOST_NOT_EXECUTABLE,
                format!("restart script `{path}` is not an executable file"),
                "not executable",
                format!("chmod 0755 {path}"),
            ));
        }
        if meta.uid() != 0 && Some(meta.uid()) != me {
            out.push(warn(
                codes::HOST_OWNER,
                format!(
                    "restart script `{path}` is owned by uid {}, neither root nor you",
                    meta.uid()
                ),
                "foreign owner",
                format!("chown root {path}"),
            ));
        }
        if meta.mode() & 0o022 != 0 {
            out.push(warn(
                codes::HOST_WRITABLE,
                format!(
                    "restart script `{path}` is group- or world-writable (mode {:o})",
                    meta.mode() & 0o7777
                ),
                "writable by others",
                format!("chmod go-w {path}"),
            ));
        }
    }
    out
}

//! Host rules (`check --host`, and always in `apply`): the restart scripts an input names exist
//! on this machine, are executable regular files, are owned by root or the caller, and are not
//! group- or world-writable. All are warnings: the input may be meant for another host, and
//! pcheck reports a failed restart itself.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::diagnostics::{codes, Code, Diagnostic};
use crate::input::Input;
use crate::model::{Loc, Restart};

/// The effective uid of this process: the owner of `/proc/self` (Linux), without libc.
pub fn caller_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// One thing wrong with a restart script on this host.
#[derive(Debug)]
pub enum ScriptProblem {
    Missing(std::io::Error),
    NotExecutable,
    ForeignOwner(u32),
    /// The permission bits.
    Writable(u32),
}

impl ScriptProblem {
    pub fn code(&self) -> Code {
        match self {
            ScriptProblem::Missing(_) => codes::HOST_SCRIPT_MISSING,
            ScriptProblem::NotExecutable => codes::HOST_NOT_EXECUTABLE,
            ScriptProblem::ForeignOwner(_) => codes::HOST_OWNER,
            ScriptProblem::Writable(_) => codes::HOST_WRITABLE,
        }
    }

    /// What is wrong, as a predicate of the script's path: "`/x.sh` {describe}".
    pub fn describe(&self) -> String {
        match self {
            ScriptProblem::Missing(e) => format!("cannot be used on this host: {e}"),
            ScriptProblem::NotExecutable => "is not an executable file".into(),
            ScriptProblem::ForeignOwner(uid) => {
                format!("is owned by uid {uid}, neither root nor the caller")
            }
            ScriptProblem::Writable(mode) => {
                format!("is group- or world-writable (mode {mode:04o})")
            }
        }
    }

    fn label_and_help(&self, path: &str) -> (&'static str, String) {
        match self {
            ScriptProblem::Missing(_) => (
                "missing here",
                format!("install the script at {path}, or fix the path"),
            ),
            ScriptProblem::NotExecutable => ("not executable", format!("chmod 0755 {path}")),
            ScriptProblem::ForeignOwner(_) => ("foreign owner", format!("chown root {path}")),
            ScriptProblem::Writable(_) => ("writable by others", format!("chmod go-w {path}")),
        }
    }
}

/// Everything wrong with the script at `file` (as seen on this machine), for `caller`.
pub fn script_problems(file: &Path, caller: Option<u32>) -> Vec<ScriptProblem> {
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) => return vec![ScriptProblem::Missing(e)],
    };
    let mut out = Vec::new();
    if !meta.is_file() || meta.mode() & 0o111 == 0 {
        out.push(ScriptProblem::NotExecutable);
    }
    if meta.uid() != 0 && Some(meta.uid()) != caller {
        out.push(ScriptProblem::ForeignOwner(meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        out.push(ScriptProblem::Writable(meta.mode() & 0o7777));
    }
    out
}

/// The executable a `Restart::Script` command runs: its first word.
pub fn script_path(restart: &Restart) -> Option<&str> {
    match restart {
        Restart::Script(cmd) => cmd.split_whitespace().next(),
        _ => None,
    }
}

/// Host diagnostics for one input (nothing when it has no valid service).
pub fn check(input: &Input) -> Vec<Diagnostic> {
    let Some(svc) = &input.service else {
        return Vec::new();
    };
    let me = caller_uid();
    let mut out = Vec::new();
    for (i, p) in svc.processes.iter().enumerate() {
        let Some(path) = script_path(&p.restart) else {
            continue;
        };
        let span = input.spans.span(Loc::Restart(i));
        for problem in script_problems(Path::new(path), me) {
            let (label, help) = problem.label_and_help(path);
            out.push(
                Diagnostic::warning(
                    problem.code(),
                    format!("restart script `{path}` {}", problem.describe()),
                )
                .with_label(span, label)
                .with_help(help)
                .in_file(&input.source),
            );
        }
    }
    out
}

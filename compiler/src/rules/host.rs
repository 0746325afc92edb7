//! Host rules (`check --host`): the restart scripts an input names, checked on this machine by
//! [`super::script`]. All are warnings: the input may be meant for another host, and pcheck
//! refuses an unsafe script itself.

use std::path::Path;

use super::script::{caller_uid, script_path, script_problems};
use crate::diagnostics::Diagnostic;
use crate::loaded::Input;
use crate::model::Loc;

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

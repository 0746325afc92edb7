//! Semantic rules shared by every front-end: they see the model and ask the front-end's
//! [`SpanLookup`] where to point. Format-specific checks (unknown pfile keys, schema errors)
//! live with their front-end.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::diagnostics::{codes, Diagnostic};
use crate::model::{Loc, Restart, Service, SpanLookup};
use crate::span::{SourceFile, Span};

/// Checks a value against one of [`crate::model::limits`].
pub fn check_range(
    value: u64,
    range: RangeInclusive<u64>,
    what: &str,
    span: Span,
    src: &Arc<SourceFile>,
) -> Option<Diagnostic> {
    if range.contains(&value) {
        return None;
    }
    Some(
        Diagnostic::error(
            codes::OUT_OF_RANGE,
            format!(
                "{what} must be between {} and {}, not {value}",
                range.start(),
                range.end()
            ),
        )
        .with_label(span, "out of range")
        .in_file(src),
    )
}

/// Why a pname cannot be used, if it cannot.
pub fn pname_problem(name: &str) -> Option<&'static str> {
    if name.trim_matches([' ', '\t']).is_empty() {
        Some("the process name is empty")
    } else if name.contains(':') {
        Some("the process name contains `:`, the pfile's field separator")
    } else if name.chars().any(char::is_control) {
        Some("the process name contains a control character")
    } else if name != name.trim_matches([' ', '\t']) {
        Some("the process name has leading or trailing blanks")
    } else {
        None
    }
}

/// Why a pfile restart field (`-` or `/path [args]`) cannot be used, if it cannot.
pub fn restart_command_problem(cmd: &str) -> Option<&'static str> {
    if cmd.chars().any(char::is_control) {
        Some("the restart command contains a control character")
    } else if cmd.contains(':') {
        Some("the restart command contains `:`, the pfile's field separator")
    } else if !cmd.starts_with('/') {
        Some("the restart command must be `-` or start with an absolute path")
    } else {
        None
    }
}

/// The rules every service obeys, whatever its source format.
pub fn check_service(
    svc: &Service,
    spans: &dyn SpanLookup,
    src: &Arc<SourceFile>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // pcheck runs from an unknown working directory, so these paths must be absolute.
    for (path, loc, what) in [
        (&svc.dump_file, Loc::DumpFile, "the dump file"),
        (&svc.conf_dir, Loc::ConfDir, "conf_dir"),
    ] {
        if let Some(p) = path.as_deref().filter(|p| !p.starts_with('/')) {
            out.push(
                Diagnostic::error(
                    codes::NOT_ABSOLUTE,
                    format!("{what} `{p}` is not an absolute path"),
                )
                .with_label(spans.span(loc), "not absolute")
                .in_file(src),
            );
        }
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, p) in svc.processes.iter().enumerate() {
        if let Some(why) = pname_problem(&p.name) {
            out.push(
                Diagnostic::error(codes::INVALID_PNAME, why)
                    .with_label(spans.span(Loc::ProcessName(i)), "invalid process name")
                    .in_file(src),
            );
        } else if let Some(&first) = seen.get(p.name.as_str()) {
            out.push(
                Diagnostic::error(
                    codes::DUPLICATE_PNAME,
                    format!("process `{}` is watched twice", p.name),
                )
                .with_label(spans.span(Loc::ProcessName(i)), "second entry")
                .with_label(spans.span(Loc::ProcessName(first)), "first entry")
                .with_help("remove one of the two entries")
                .in_file(src),
            );
        } else {
            seen.insert(&p.name, i);
        }
        match &p.restart {
            Restart::None => {}
            Restart::Script(cmd) => {
                if let Some(why) = restart_command_problem(cmd) {
                    out.push(
                        Diagnostic::error(codes::INVALID_RESTART, why)
                            .with_label(spans.span(Loc::Restart(i)), "invalid restart")
                            .in_file(src),
                    );
                }
            }
            Restart::Commands { stop, start, .. } => {
                for (cmd, loc) in [(stop, Loc::RestartStop(i)), (start, Loc::RestartStart(i))] {
                    if cmd.trim().is_empty() || cmd.chars().any(|c| c.is_control() && c != '\t') {
                        out.push(
                            Diagnostic::error(
                                codes::INVALID_RESTART,
                                "a stop or start command must be non-empty and on one line",
                            )
                            .with_label(spans.span(loc), "invalid command")
                            .in_file(src),
                        );
                    }
                }
            }
        }
    }
    out
}

#[cfg(feature = "descriptions")]
pub mod cross;
#[cfg(feature = "descriptions")]
pub mod host;
pub mod script;

//! Semantic rules shared by every front-end: they see the model and ask the front-end's
//! [`SpanLookup`] where to point. Format-specific checks (unknown pfile keys, schema errors)
//! live with their front-end.

use std::collections::HashMap;
use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::diagnostics::{codes, Diagnostic};
use crate::model::{Loc, Restart, Service, SpanLookup};
use crate::span::{SourceFile, Span};

/// Checks a value against one of [`crate::model::limits`]. The message is built only for a
/// value out of range: every field of every valid file passes through here.
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
    let limits = format!("between {} and {}", range.start(), range.end());
    Some(out_of_range(
        format!("{what} must be {limits}, not {value}"),
        span,
        src,
    ))
}

/// Checks a number of seconds against one of [`crate::model::limits`], saying the range in
/// human terms (`1 s to 1 d`).
pub fn check_seconds_range(
    value: u64,
    range: RangeInclusive<u64>,
    what: &str,
    span: Span,
    src: &Arc<SourceFile>,
) -> Option<Diagnostic> {
    if range.contains(&value) {
        return None;
    }
    let limits = crate::duration::human_range(&range);
    let msg = format!("{what} must be {limits}, not {value} (seconds)");
    Some(out_of_range(msg, span, src))
}

fn out_of_range(msg: String, span: Span, src: &Arc<SourceFile>) -> Diagnostic {
    Diagnostic::error(codes::OUT_OF_RANGE, msg)
        .with_label(span, "out of range")
        .in_file(src)
}

/// Why a pname cannot be used, if it cannot.
pub fn pname_problem(name: &str) -> Option<&'static str> {
    if name.trim_matches([' ', '\t']).is_empty() {
        Some("the process name is empty")
    } else if name.contains(':') {
        Some("the process name contains `:`, the pfile's field separator")
    } else if name.chars().any(char::is_control) {
        Some("the process name contains a control character")
    } else if name.chars().any(crate::escape::is_invisible_reordering) {
        Some("the process name contains a bidirectional control or a line separator (U+2028/U+2029), which would make it read differently from what it is")
    } else if name.len() > crate::model::limits::PNAME_BYTES {
        Some("the process name is longer than 4096 bytes")
    } else if name != name.trim_matches([' ', '\t']) {
        Some("the process name has leading or trailing blanks")
    } else {
        None
    }
}

/// What is wrong with a command pcheck runs from a pfile field (`/path [args]`).
enum CommandProblem {
    Control,
    Reordering,
    Colon,
    NotAbsolute,
}

fn command_problem(cmd: &str) -> Option<CommandProblem> {
    if cmd.chars().any(char::is_control) {
        Some(CommandProblem::Control)
    } else if cmd.chars().any(crate::escape::is_invisible_reordering) {
        Some(CommandProblem::Reordering)
    } else if cmd.contains(':') {
        Some(CommandProblem::Colon)
    } else if !cmd.starts_with('/') {
        Some(CommandProblem::NotAbsolute)
    } else {
        None
    }
}

/// Why a pfile restart field (`-` or `/path [args]`) cannot be used, if it cannot.
pub fn restart_command_problem(cmd: &str) -> Option<&'static str> {
    Some(match command_problem(cmd)? {
        CommandProblem::Control => "the restart command contains a control character",
        CommandProblem::Reordering => "the restart command contains a bidirectional control or a line separator (U+2028/U+2029), which would make it read differently from what it is",
        CommandProblem::Colon => "the restart command contains `:`, the pfile's field separator",
        CommandProblem::NotAbsolute => "the restart command must be `-` or start with an absolute path",
    })
}

/// Why a health check command (`/path [args]`) cannot be used, if it cannot.
pub fn health_exec_problem(cmd: &str) -> Option<&'static str> {
    Some(match command_problem(cmd)? {
        CommandProblem::Control => "the health check command contains a control character",
        CommandProblem::Reordering => "the health check command contains a bidirectional control or a line separator (U+2028/U+2029), which would make it read differently from what it is",
        CommandProblem::Colon => "the health check command contains `:`, the pfile's field separator",
        CommandProblem::NotAbsolute => "the health check command must start with an absolute path",
    })
}

/// Why a description's `stop` or `start` command cannot be used, if it cannot.
pub fn stop_start_problem(cmd: &str) -> Option<&'static str> {
    if cmd.trim().is_empty() || cmd.chars().any(|c| c.is_control() && c != '\t') {
        Some("a stop or start command must be non-empty and on one line")
    } else if cmd.chars().any(crate::escape::is_invisible_reordering) {
        Some("the command contains a bidirectional control or a line separator (U+2028/U+2029), which would make it read differently from what it is")
    } else {
        None
    }
}

/// Why an entry of `user` is neither a user name nor a uid, if it is not.
pub fn user_problem(user: &str) -> Option<&'static str> {
    if user.is_empty() {
        return Some("an empty user name");
    }
    if user.bytes().all(|b| b.is_ascii_digit()) {
        return match user.parse::<u32>() {
            Ok(n) if n != u32::MAX => None,
            _ => Some("a uid must be between 0 and 4294967294"),
        };
    }
    let body = user.strip_suffix('$').unwrap_or(user);
    let ok = user.len() <= 32
        && !body.is_empty()
        && !body.starts_with('-')
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    (!ok).then_some("not a valid user name")
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
        if let Some(p) = path.as_deref().filter(|p| p.chars().any(char::is_control)) {
            out.push(
                Diagnostic::error(
                    codes::INVALID_PATH,
                    format!(
                        "{what} `{}` contains a control character",
                        crate::escape::for_display(p)
                    ),
                )
                .with_label(spans.span(loc), "control character")
                .in_file(src),
            );
        } else if let Some(p) = path.as_deref().filter(|p| !p.starts_with('/')) {
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
    // Sized once: growing it rehashes, with old and new tables alive at once.
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(svc.processes.len());
    out.extend(groups::check(svc, spans, src));
    for (i, p) in svc.processes.iter().enumerate() {
        // Past the limit nobody reads more (a million copies of one name would give a
        // diagnostic each); the caller ends the report (`diagnostics::cap`).
        if out.len() > crate::diagnostics::MAX_ERRORS_PER_FILE {
            break;
        }
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
        for u in &p.user {
            if let Some(why) = user_problem(u) {
                out.push(
                    Diagnostic::error(
                        codes::INVALID_USER,
                        format!("trusted user `{}`: {why}", crate::escape::for_display(u)),
                    )
                    .with_label(spans.span(Loc::User(i)), "invalid user")
                    .with_help("list user names or numeric uids, separated by `,` in a pfile")
                    .in_file(src),
                );
            }
        }
        if let Some(crate::model::HealthCheck::Exec(cmd)) = p.health.as_deref().map(|h| &h.check) {
            if let Some(why) = health_exec_problem(cmd) {
                out.push(
                    Diagnostic::error(codes::INVALID_HEALTH_CHECK, why)
                        .with_label(spans.span(Loc::HealthCheck(i)), "invalid health check")
                        .in_file(src),
                );
            }
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
                } else if let Some(c) = script::shell_syntax(cmd) {
                    out.push(
                        Diagnostic::warning(
                            codes::RESTART_SHELL,
                            format!(
                                "the restart command uses shell syntax (`{}`): pcheck runs it through /bin/sh and checks only its first word",
                                crate::escape::for_display(&c.to_string())
                            ),
                        )
                        .with_label(spans.span(Loc::Restart(i)), "run by /bin/sh -c")
                        .with_help("put the commands in a script and name the script here")
                        .in_file(src),
                    );
                }
            }
            Restart::Commands(c) => {
                for (cmd, loc) in [
                    (&c.stop, Loc::RestartStop(i)),
                    (&c.start, Loc::RestartStart(i)),
                ] {
                    if let Some(why) = stop_start_problem(cmd) {
                        out.push(
                            Diagnostic::error(codes::INVALID_RESTART, why)
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
pub mod groups;
#[cfg(feature = "descriptions")]
pub mod host;
pub mod script;

/// The shared rules, through a pfile and through a description.
#[cfg(test)]
mod rule_tests {
    use crate::testing::diag;

    diag! {
        name: ipckey_zero,
        input: "IPCKEY 0x0\nx:-:1:1:exit\n",
        code: "psctl::value::out_of_range",
        line: 1,
        column: 8,
    }

    diag! {
        name: same_pname_twice,
        input: "IPCKEY 0x1\nx:-:1:1:exit\nx:-:1:1:exit\n",
        code: "psctl::entry::duplicate_pname",
        line: 3,
        column: 1,
    }

    diag! {
        name: relative_restart_script,
        input: "IPCKEY 0x1\nx:restart.sh:1:1:exit\n",
        code: "psctl::value::invalid_restart",
        line: 2,
        column: 3,
    }

    #[cfg(feature = "descriptions")]
    diag! {
        name: capital_service_name,
        file: "cron.yaml",
        input: "name: Cron\nipckey: 1\nprocesses: [{name: a}]\n",
        code: "psctl::value::invalid_name",
        line: 1,
        column: 7,
    }
}

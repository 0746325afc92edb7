//! PENT lowering: one `pname:restart:grace:retry:action[:key=value...]` line into an entry or,
//! with `kind=group`, a group definition (docs/extensions.md).

use std::sync::Arc;

use super::read::{number, Kind, Reader};
use crate::diagnostics::{codes, Diagnostic};
use crate::fields::{self, Field, Unit};
use crate::model::{self, limits, Action, Group, Health, HealthCheck, Process, Restart};
use crate::span::{SourceFile, Span};
use crate::suggestion::{suggest, Closeness};

/// The keys of the extension fields, in canonical order (from [`fields::PENT_EXTENSIONS`]),
/// then `kind`, which (only as `kind=group`) makes the line a group definition. Legacy pfiles
/// never have a sixth field (it was an error), so they read as before.
pub const PENT_EXTENSIONS: [&str; fields::PENT_EXTENSIONS.len() + 1] = {
    let mut keys = ["kind"; fields::PENT_EXTENSIONS.len() + 1];
    let mut i = 0;
    while i < fields::PENT_EXTENSIONS.len() {
        keys[i] = fields::PENT_EXTENSIONS[i].pfile;
        i += 1;
    }
    keys
};

/// At most this many extension fields on one line; more make one error for the rest of the
/// line (so that a line of millions of `:` stays linear).
pub const MAX_EXTENSIONS: usize = 16;

/// The help of every extension-field diagnostic.
const EXTENSION_FORM: &str = "the form is pname:restart:grace:retry:action, optionally followed by `:key=value` extensions (docs/extensions.md)";

/// Whether the text after a PENT line's fifth `:` makes it a group definition line.
pub fn is_group_line(extra: &str) -> bool {
    extra
        .split(':')
        .take(MAX_EXTENSIONS)
        .any(|f| f.trim_matches([' ', '\t']) == "kind=group")
}

/// One extension field as read: its key, the whole field and its value.
#[derive(Debug, Clone, Copy)]
pub struct ExtField {
    pub key: &'static str,
    pub field: Span,
    pub value: Span,
}

/// A lowered PENT line.
#[derive(Debug, Clone)]
pub enum PentLine {
    Entry {
        process: Process,
        /// The line and its five fields.
        fields: [Span; 5],
        /// Its extension fields.
        extensions: Vec<ExtField>,
    },
    Group {
        group: Group,
        fields: [Span; 5],
    },
}

/// Lowers one PENT line of at least five fields (`fields`: the five, then the rest of the line
/// as one span). `None` when anything on it is wrong; the diagnostics say what.
pub fn lower_pent(src: &Arc<SourceFile>, fields: &[Span]) -> (Option<PentLine>, Vec<Diagnostic>) {
    let mut r = Reader::new(src);
    let line = read(&mut r, fields, true);
    r.finish(line)
}

/// What the cross-entry rules need of a line that did not lower (its name, restart, users and
/// group, and their spans), so that a broken line still meets them: read again, silently, with
/// the invalid numbers and action replaced by zero and `continue`.
pub fn partial(src: &Arc<SourceFile>, fields: &[Span]) -> PentLine {
    let mut r = Reader::new(src);
    read(&mut r, fields, false)
}

fn read(r: &mut Reader<'_>, fields: &[Span], keep_numbers: bool) -> PentLine {
    let f: [Span; 5] = [fields[0], fields[1], fields[2], fields[3], fields[4]];
    let restart = match r.text(f[1]) {
        "-" => Restart::None,
        cmd => Restart::Script(cmd.to_owned()),
    };
    let grace = r.bounded(f[2], fields::GRACE.pfile, limits::GRACE, false);
    let retry = r.bounded(f[3], fields::RETRY.pfile, limits::RETRY, false);
    let extra = fields
        .get(5)
        .map_or_else(Vec::new, |&rest| extension_fields(r, rest));
    let exts = read_extensions(r, &extra);
    let kind = exts.iter().find(|e| e.key == "kind").copied();
    let is_group = kind.is_some_and(|k| r.text(k.value) == "group");
    if let Some(k) = kind.filter(|_| !is_group) {
        r.diags.push(
            Diagnostic::error(
                codes::PFILE_EXTENSION,
                format!(
                    "`kind={}`: the only kind is `group`",
                    crate::escape::for_display(r.text(k.value))
                ),
            )
            .with_label(k.value, "unknown kind")
            .with_help("`kind=group` makes the line a group definition; entries have no kind")
            .in_file(r.src),
        );
    }
    let mut p = Process {
        restart,
        ..Process::new(r.text(f[0]))
    };
    if is_group {
        group_extensions(r, &exts);
    } else {
        entry_extensions(r, &exts, &mut p);
    }
    let action = r.action(f[4]);
    let valid = keep_numbers && !r.has_errors();
    let (grace, retries, on_retry_over) = match (grace, retry, action) {
        (Some(g), Some(n), Some(a)) if valid => (g, n as u32, a),
        _ => (0, 0, Action::Continue),
    };
    if is_group {
        PentLine::Group {
            group: Group {
                name: p.name,
                restart: p.restart,
                grace,
                retries,
                on_retry_over,
            },
            fields: f,
        }
    } else {
        p.grace = grace;
        p.retries = retries;
        p.on_retry_over = on_retry_over;
        PentLine::Entry {
            process: p,
            fields: f,
            extensions: exts,
        }
    }
}

/// Splits what follows a PENT line's fifth `:` (one span, see `syntax.rs`) into its fields,
/// each trimmed of blanks. More fields than any valid line has make one error for the rest
/// of the line, not one per field: a line of millions of `:` stays linear.
fn extension_fields(r: &mut Reader<'_>, rest: Span) -> Vec<Span> {
    let text = r.text(rest);
    let mut out = Vec::new();
    let mut start = 0;
    for piece in text.split(':') {
        if out.len() == MAX_EXTENSIONS {
            let d = Diagnostic::error(
                codes::PFILE_EXTENSION,
                format!("a PENT line has at most {MAX_EXTENSIONS} extension fields"),
            )
            .with_label(Span::new(rest.start + start, rest.end), "too many fields")
            .with_help(EXTENSION_FORM)
            .in_file(r.src);
            r.diags.push(d);
            break;
        }
        let lead = piece.len() - piece.trim_start_matches([' ', '\t']).len();
        let body = piece.trim_matches([' ', '\t']);
        let at = rest.start + start + lead;
        out.push(Span::new(at, at + body.len()));
        start += piece.len() + 1;
    }
    out
}

/// Reads `key=value` fields: unknown, repeated and empty fields are reported and dropped.
fn read_extensions(r: &mut Reader<'_>, fields: &[Span]) -> Vec<ExtField> {
    let mut out: Vec<ExtField> = Vec::with_capacity(fields.len());
    let mut empty_seen = false;
    for &f in fields {
        let text = r.text(f);
        if text.is_empty() {
            // One error for all empty fields of a line (`a:-:0:0:exit::::`).
            if !empty_seen {
                empty_seen = true;
                r.diags.push(
                    Diagnostic::error(codes::PFILE_EXTENSION, "an extension field is empty")
                        .with_label(f, "empty field")
                        .with_help(EXTENSION_FORM)
                        .in_file(r.src),
                );
            }
            continue;
        }
        let (key, _) = text.split_once('=').unwrap_or((text, ""));
        let Some(&known) = PENT_EXTENSIONS.iter().find(|k| **k == key) else {
            let mut d = Diagnostic::error(
                codes::PFILE_EXTENSION,
                format!(
                    "`{}` is not a PENT extension field",
                    crate::escape::for_display(text)
                ),
            )
            .with_label(f, "unknown extension")
            .with_help(EXTENSION_FORM)
            .in_file(r.src);
            if let Some(best) = suggest(key, &PENT_EXTENSIONS, Closeness::Near) {
                d = d.with_help(best.with("="));
            }
            r.diags.push(d);
            continue;
        };
        if let Some(first) = out.iter().find(|e| e.key == known) {
            let first = first.field;
            r.diags.push(
                Diagnostic::error(codes::PFILE_EXTENSION, format!("`{known}=` is given twice"))
                    .with_label(f, "given again here")
                    .with_label(first, "first given here")
                    .in_file(r.src),
            );
            continue;
        }
        let value_start = (f.start + known.len() + 1).min(f.end);
        out.push(ExtField {
            key: known,
            field: f,
            value: Span::new(value_start, f.end),
        });
    }
    out
}

/// The number of extension field `e` (descriptor `desc`) within its range; the range of
/// seconds is said in human terms.
fn ext_number(r: &mut Reader<'_>, e: ExtField, desc: &Field) -> Option<u32> {
    let kind = if desc.unit == Unit::Seconds {
        Kind::Seconds
    } else {
        Kind::Plain
    };
    let range = desc.range.clone().unwrap_or(0..=u64::MAX);
    let n = r.number_in(e.value, e.key, range, kind)?;
    u32::try_from(n).ok()
}

/// Applies the extension fields of an entry to `p`.
fn entry_extensions(r: &mut Reader<'_>, exts: &[ExtField], p: &mut Process) {
    let mut check: Option<(ExtField, HealthCheck)> = None;
    let mut tuning: Option<ExtField> = None;
    let mut health = (
        model::DEFAULT_HEALTH_INTERVAL,
        model::DEFAULT_HEALTH_TIMEOUT,
        model::DEFAULT_HEALTH_FAILURES,
    );
    for &e in exts {
        let value = r.text(e.value);
        let number = |r: &mut Reader<'_>, desc: &Field| ext_number(r, e, desc);
        match e.key {
            // An empty list stays visible to the shared rule, which says what is wrong.
            "user" => p.user = value.split(',').map(str::to_owned).collect(),
            "instances" => p.instances = number(r, &fields::INSTANCES).unwrap_or(1),
            "health_exec" | "health_tcp" => {
                let c = if e.key == "health_exec" {
                    Some(HealthCheck::Exec(value.to_owned()))
                } else {
                    tcp_address(r, e)
                };
                match (&check, c) {
                    (Some((first, _)), _) => {
                        let first = first.field;
                        r.diags.push(
                            Diagnostic::error(
                                codes::HEALTH_TWO_CHECKS,
                                "an entry has at most one health check",
                            )
                            .with_label(e.field, "second check")
                            .with_label(first, "first check")
                            .with_help("keep either health_exec or health_tcp")
                            .in_file(r.src),
                        );
                    }
                    (None, Some(c)) => check = Some((e, c)),
                    (None, None) => {}
                }
            }
            "health_interval" | "health_timeout" | "health_failures" => {
                tuning = tuning.or(Some(e));
                let (desc, slot) = match e.key {
                    "health_interval" => (&fields::HEALTH_INTERVAL, &mut health.0),
                    "health_timeout" => (&fields::HEALTH_TIMEOUT, &mut health.1),
                    _ => (&fields::HEALTH_FAILURES, &mut health.2),
                };
                if let Some(n) = number(r, desc) {
                    *slot = n;
                }
            }
            "stop_timeout" => {
                if let Some(n) = number(r, &fields::STOP_TIMEOUT) {
                    p.stop_timeout = n;
                }
            }
            "retry_delay" => {
                if let Some(n) = number(r, &fields::RETRY_DELAY) {
                    p.retry_delay = n;
                }
            }
            "group" => p.group = Some(value.into()),
            // `kind` is read by the caller.
            _ => {}
        }
    }
    let check_given = exts
        .iter()
        .any(|e| matches!(e.key, "health_exec" | "health_tcp"));
    match (check, tuning) {
        (Some((_, c)), _) => {
            p.health = Some(Box::new(Health {
                check: c,
                interval: health.0,
                timeout: health.1,
                failures: health.2,
            }));
        }
        (None, Some(t)) if !check_given => {
            r.diags.push(
                Diagnostic::error(
                    codes::HEALTH_NO_CHECK,
                    format!("`{}=` tunes a health check, but the entry has none", t.key),
                )
                .with_label(t.field, "no health_exec or health_tcp on this line")
                .with_help("add `health_exec=PATH [ARGS]` or `health_tcp=A.B.C.D PORT`, or remove the health settings")
                .in_file(r.src),
            );
        }
        _ => {}
    }
}

/// The value of `health_tcp=A.B.C.D PORT`, or a diagnostic.
fn tcp_address(r: &mut Reader<'_>, e: ExtField) -> Option<HealthCheck> {
    let text = r.text(e.value);
    match parse_tcp(text, ' ') {
        Ok(a) => Some(HealthCheck::Tcp(a)),
        Err(why) => {
            r.diags.push(
                Diagnostic::error(
                    codes::INVALID_HEALTH_CHECK,
                    format!("health_tcp `{}`: {why}", crate::escape::for_display(text)),
                )
                .with_label(e.value, "not an address and port")
                .with_help("write an IPv4 address, a blank and a port, such as `health_tcp=127.0.0.1 80` (a pfile field cannot hold `:`)")
                .in_file(r.src),
            );
            None
        }
    }
}

/// Checks the extension fields of a group line: only `kind=group` is allowed there.
fn group_extensions(r: &mut Reader<'_>, exts: &[ExtField]) {
    for e in exts.iter().filter(|e| e.key != "kind") {
        r.diags.push(
            Diagnostic::error(
                codes::PFILE_EXTENSION,
                format!("`{}=` cannot be given on a group line", e.key),
            )
            .with_label(e.field, "not allowed with kind=group")
            .with_help("a group line is name:restart:grace:retry:action:kind=group; settings such as health checks belong to its members")
            .in_file(r.src),
        );
    }
}

/// Parses `A.B.C.D<sep>PORT` (`sep` is a blank in a pfile, where blanks may repeat, and `:` in
/// a description): an IPv4 address in dotted decimal and a port 1-65535. Says why not.
pub fn parse_tcp(text: &str, sep: char) -> Result<std::net::SocketAddrV4, &'static str> {
    let (addr, port) = if sep == ' ' {
        let t = text.trim_matches([' ', '\t']);
        match t.split_once([' ', '\t']) {
            Some((a, p)) => (a, p.trim_start_matches([' ', '\t'])),
            None => return Err("expected an IPv4 address, a blank and a port"),
        }
    } else {
        match text.rsplit_once(sep) {
            Some(ap) => ap,
            None => return Err("expected an IPv4 address, `:` and a port"),
        }
    };
    let addr: std::net::Ipv4Addr = addr
        .parse()
        .map_err(|_| "not an IPv4 address in dotted decimal (A.B.C.D)")?;
    let port = match number(port, false) {
        Some(n @ 1..=65535) if !port.starts_with('0') => n as u16,
        _ => return Err("the port must be a whole number from 1 to 65535"),
    };
    Ok(std::net::SocketAddrV4::new(addr, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tcp_addresses() {
        let ok = |t, s| parse_tcp(t, s).unwrap().to_string();
        assert_eq!(ok("127.0.0.1 80", ' '), "127.0.0.1:80");
        assert_eq!(ok(" 10.0.0.1 \t 8080 ", ' '), "10.0.0.1:8080");
        assert_eq!(ok("127.0.0.1:80", ':'), "127.0.0.1:80");
        for (t, s) in [
            ("127.0.0.1", ' '),
            ("127.0.0.1 0", ' '),
            ("127.0.0.1 65536", ' '),
            ("127.0.0.1 080", ' '),
            ("127.0.0.01 80", ' '),
            ("127.0.0 80", ' '),
            ("::1 80", ' '),
            ("localhost:80", ':'),
            ("127.0.0.1:", ':'),
            ("[::1]:80", ':'),
        ] {
            assert!(parse_tcp(t, s).is_err(), "{t}");
        }
    }

    #[test]
    fn extension_keys_follow_the_table() {
        assert_eq!(PENT_EXTENSIONS[0], "user");
        assert_eq!(PENT_EXTENSIONS[PENT_EXTENSIONS.len() - 1], "kind");
    }
}

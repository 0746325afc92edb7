//! Lowers a pfile's syntax into the model, reporting everything that is wrong with it.

use std::collections::HashMap;
use std::sync::Arc;

use super::syntax::{LineKind, PfileSyntax};
use crate::diagnostics::{codes, Diagnostic};
use crate::model::{
    self, limits, Action, Group, Health, HealthCheck, Loc, Process, Restart, Service, SpanLookup,
};
use crate::rules;
use crate::span::{SourceFile, Span};
use crate::suggestion::{suggest, Closeness, Suggestion};

/// The PARAM keys, in canonical order.
pub const PARAM_KEYS: [&str; 5] = [
    "IPCKEY",
    "MSG_CHECK_INTERVAL",
    "MONITOR_INTERVAL",
    "MONITOR_TRY_COUNT",
    "SHM_DUMP_FILE",
];

/// Where each part of a pfile stands, for rules that point back into it.
#[derive(Debug, Default, Clone)]
pub struct PfileSpans {
    /// PARAM key -> (key span, value span).
    pub params: HashMap<&'static str, (Span, Span)>,
    /// Per PENT entry in model order: the line and its five field spans.
    pub entries: Vec<(Span, [Span; 5])>,
    /// (entry index, extension key) -> (the whole `key=value` field, its value).
    pub extensions: HashMap<(usize, &'static str), (Span, Span)>,
    /// Per group definition line (`...:kind=group`) in model order: the line and its five
    /// field spans.
    pub groups: Vec<(Span, [Span; 5])>,
}

/// The extension fields a PENT line may carry after its five (docs/extensions.md): `key=value`,
/// in canonical order. `kind` (only `kind=group`) makes the line a group definition.
/// Legacy pfiles never have a sixth field (it was an error), so they read as before.
pub const PENT_EXTENSIONS: [&str; 11] = [
    "user",
    "instances",
    "health_exec",
    "health_tcp",
    "health_interval",
    "health_timeout",
    "health_failures",
    "stop_timeout",
    "retry_delay",
    "group",
    "kind",
];

/// At most this many extension fields on one line; more make one error for the rest of the
/// line (so that a line of millions of `:` stays linear).
pub const MAX_EXTENSIONS: usize = 16;

/// Whether the text after a PENT line's fifth `:` makes it a group definition line.
pub fn is_group_line(extra: &str) -> bool {
    extra
        .split(':')
        .take(MAX_EXTENSIONS)
        .any(|f| f.trim_matches([' ', '\t']) == "kind=group")
}

impl PfileSpans {
    fn ext(&self, i: usize, key: &str) -> Option<(Span, Span)> {
        PENT_EXTENSIONS
            .iter()
            .find(|k| **k == key)
            .and_then(|k| self.extensions.get(&(i, *k)).copied())
    }

    /// The health check field of entry `i` (`health_exec` or `health_tcp`).
    fn health_check(&self, i: usize) -> Option<(Span, Span)> {
        self.ext(i, "health_exec")
            .or_else(|| self.ext(i, "health_tcp"))
    }

    /// The whole field of an extension location, for "given twice" style messages.
    fn ext_field(&self, loc: Loc) -> Option<Span> {
        let (i, key) = match loc {
            Loc::Instances(i) => (i, "instances"),
            Loc::Health(i) | Loc::HealthCheck(i) => return self.health_check(i).map(|f| f.0),
            Loc::HealthInterval(i) => (i, "health_interval"),
            Loc::HealthTimeout(i) => (i, "health_timeout"),
            Loc::HealthFailures(i) => (i, "health_failures"),
            Loc::StopTimeout(i) => (i, "stop_timeout"),
            Loc::RetryDelay(i) => (i, "retry_delay"),
            Loc::Group(i) => (i, "group"),
            _ => return None,
        };
        self.ext(i, key).map(|f| f.0)
    }
}

impl SpanLookup for PfileSpans {
    fn span(&self, loc: Loc) -> Span {
        let param = |k: &str| self.params.get(k).map(|p| p.1);
        let field = |i: usize, f: usize| self.entries.get(i).map(|e| e.1[f]);
        let line = |i: usize| self.entries.get(i).map(|e| e.0);
        let value = |i: usize, k: &str| self.ext(i, k).map(|f| f.1).or_else(|| line(i));
        let group = |g: usize, f: usize| self.groups.get(g).map(|e| e.1[f]);
        let found = match loc {
            Loc::IpcKey => param("IPCKEY"),
            Loc::MsgCheckInterval => param("MSG_CHECK_INTERVAL"),
            Loc::MonitorInterval => param("MONITOR_INTERVAL"),
            Loc::MonitorTryCount => param("MONITOR_TRY_COUNT"),
            Loc::DumpFile => param("SHM_DUMP_FILE"),
            Loc::Process(i) => line(i),
            Loc::ProcessName(i) => field(i, 0),
            Loc::Restart(i) | Loc::RestartStop(i) | Loc::RestartStart(i) | Loc::RestartWait(i) => {
                field(i, 1)
            }
            Loc::Grace(i) => field(i, 2),
            Loc::Retries(i) => field(i, 3),
            Loc::OnRetryOver(i) => field(i, 4),
            // The whole `user=` field, as before the other extensions existed.
            Loc::User(i) => self.ext(i, "user").map(|f| f.0).or_else(|| line(i)),
            Loc::Instances(i) => value(i, "instances"),
            Loc::Health(i) => self.health_check(i).map(|f| f.0).or_else(|| line(i)),
            Loc::HealthCheck(i) => self.health_check(i).map(|f| f.1).or_else(|| line(i)),
            Loc::HealthInterval(i) => value(i, "health_interval"),
            Loc::HealthTimeout(i) => value(i, "health_timeout"),
            Loc::HealthFailures(i) => value(i, "health_failures"),
            Loc::StopTimeout(i) => value(i, "stop_timeout"),
            Loc::RetryDelay(i) => value(i, "retry_delay"),
            Loc::Group(i) => value(i, "group"),
            // A pfile has no members list: a member is named by its group line.
            Loc::GroupEntry(g) | Loc::GroupMember(g, _) => self.groups.get(g).map(|e| e.0),
            Loc::GroupName(g) => group(g, 0),
            Loc::GroupRestart(g) => group(g, 1),
            Loc::GroupGrace(g) => group(g, 2),
            Loc::GroupRetries(g) => group(g, 3),
            Loc::GroupOnRetryOver(g) => group(g, 4),
            Loc::Document | Loc::Name | Loc::ConfDir | Loc::Processes | Loc::Groups => None,
        };
        found.unwrap_or_default()
    }

    fn key_span(&self, loc: Loc) -> Span {
        let key = match loc {
            Loc::IpcKey => "IPCKEY",
            Loc::MsgCheckInterval => "MSG_CHECK_INTERVAL",
            Loc::MonitorInterval => "MONITOR_INTERVAL",
            Loc::MonitorTryCount => "MONITOR_TRY_COUNT",
            Loc::DumpFile => "SHM_DUMP_FILE",
            _ => return self.ext_field(loc).unwrap_or_else(|| self.span(loc)),
        };
        self.params.get(key).map(|p| p.0).unwrap_or_default()
    }
}

/// Parses a whole-number field: decimal, or hexadecimal with `0x` where `hex` allows it.
fn number(text: &str, hex: bool) -> Option<u64> {
    let lower = text.to_ascii_lowercase();
    match lower.strip_prefix("0x") {
        Some(h) if hex && !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u64::from_str_radix(h, 16).ok()
        }
        _ if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        _ => None,
    }
}

struct Lowerer<'a> {
    src: &'a Arc<SourceFile>,
    diags: Vec<Diagnostic>,
}

impl Lowerer<'_> {
    fn text(&self, span: Span) -> &str {
        self.src.slice(span)
    }

    fn error(&mut self, code: codes::Code, msg: impl Into<String>, span: Span, label: &str) {
        let d = Diagnostic::error(code, msg)
            .with_label(span, label)
            .in_file(self.src);
        self.diags.push(d);
    }

    /// A number within `range`, or a diagnostic.
    fn bounded(
        &mut self,
        span: Span,
        what: &str,
        range: std::ops::RangeInclusive<u64>,
        hex: bool,
    ) -> Option<u64> {
        let text = self.text(span).to_owned();
        let Some(n) = number(&text, hex) else {
            let expect = if hex {
                "a hexadecimal (0x...) or decimal number"
            } else {
                "a whole number"
            };
            self.error(
                codes::NOT_A_NUMBER,
                format!("{what} must be {expect}, not `{text}`"),
                span,
                "not a number",
            );
            return None;
        };
        match rules::check_range(n, range, what, span, self.src) {
            Some(d) => {
                self.diags.push(d);
                None
            }
            None => Some(n),
        }
    }
}

/// The help of every extension-field diagnostic.
const EXTENSION_FORM: &str = "the form is pname:restart:grace:retry:action, optionally followed by `:key=value` extensions (docs/extensions.md)";

/// One extension field as read: its key, the whole field and its value.
#[derive(Debug, Clone, Copy)]
struct ExtField {
    key: &'static str,
    field: Span,
    value: Span,
}

impl Lowerer<'_> {
    /// Splits what follows a PENT line's fifth `:` (one span, see `syntax.rs`) into its fields,
    /// each trimmed of blanks. More fields than any valid line has make one error for the rest
    /// of the line, not one per field: a line of millions of `:` stays linear.
    fn extension_fields(&mut self, rest: Span) -> Vec<Span> {
        let text = self.text(rest);
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
                .in_file(self.src);
                self.diags.push(d);
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

    /// Reads `key=value` fields: unknown and repeated keys are reported and dropped.
    fn read_extensions(&mut self, fields: &[Span]) -> Vec<ExtField> {
        let mut out: Vec<ExtField> = Vec::with_capacity(fields.len());
        let mut empty_seen = false;
        for &f in fields {
            let text = self.text(f).to_owned();
            if text.is_empty() {
                // One error for all empty fields of a line (`a:-:0:0:exit::::`).
                if !empty_seen {
                    empty_seen = true;
                    self.diags.push(
                        Diagnostic::error(codes::PFILE_EXTENSION, "an extension field is empty")
                            .with_label(f, "empty field")
                            .with_help(EXTENSION_FORM)
                            .in_file(self.src),
                    );
                }
                continue;
            }
            let (key, _) = text.split_once('=').unwrap_or((&text, ""));
            let Some(&known) = PENT_EXTENSIONS.iter().find(|k| **k == key) else {
                let mut d = Diagnostic::error(
                    codes::PFILE_EXTENSION,
                    format!(
                        "`{}` is not a PENT extension field",
                        crate::escape::for_display(&text)
                    ),
                )
                .with_label(f, "unknown extension")
                .with_help(EXTENSION_FORM)
                .in_file(self.src);
                if let Some(best) = suggest(key, &PENT_EXTENSIONS, Closeness::Near) {
                    d = d.with_help(best.with("="));
                }
                self.diags.push(d);
                continue;
            };
            if let Some(first) = out.iter().find(|e| e.key == known) {
                let first = first.field;
                self.diags.push(
                    Diagnostic::error(codes::PFILE_EXTENSION, format!("`{known}=` is given twice"))
                        .with_label(f, "given again here")
                        .with_label(first, "first given here")
                        .in_file(self.src),
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

    /// A whole number within `range`; `seconds` says the range in human terms.
    fn ext_number(
        &mut self,
        e: ExtField,
        range: std::ops::RangeInclusive<u64>,
        seconds: bool,
    ) -> Option<u32> {
        let text = self.text(e.value).to_owned();
        let Some(n) = number(&text, false) else {
            let what = if seconds {
                "a whole number of seconds"
            } else {
                "a whole number"
            };
            self.error(
                codes::NOT_A_NUMBER,
                format!(
                    "{} must be {what}, not `{}`",
                    e.key,
                    crate::escape::for_display(&text)
                ),
                e.value,
                "not a number",
            );
            return None;
        };
        let d = if seconds {
            rules::check_seconds_range(n, range, e.key, e.value, self.src)
        } else {
            rules::check_range(n, range, e.key, e.value, self.src)
        };
        match d {
            Some(d) => {
                self.diags.push(d);
                None
            }
            None => u32::try_from(n).ok(),
        }
    }

    /// Applies the extension fields of entry `i` to `p`. Returns whether all were valid.
    fn entry_extensions(
        &mut self,
        exts: &[ExtField],
        i: usize,
        p: &mut Process,
        spans: &mut PfileSpans,
    ) -> bool {
        let errors = self.error_count();
        let mut check: Option<(ExtField, HealthCheck)> = None;
        let mut tuning: Option<ExtField> = None;
        let mut health = (
            model::DEFAULT_HEALTH_INTERVAL,
            model::DEFAULT_HEALTH_TIMEOUT,
            model::DEFAULT_HEALTH_FAILURES,
        );
        for &e in exts {
            spans.extensions.insert((i, e.key), (e.field, e.value));
            let value = self.text(e.value).to_owned();
            match e.key {
                // An empty list stays visible to the shared rule, which says what is wrong.
                "user" => p.user = value.split(',').map(str::to_owned).collect(),
                "instances" => {
                    p.instances = self.ext_number(e, limits::INSTANCES, false).unwrap_or(1);
                }
                "health_exec" | "health_tcp" => {
                    let c = if e.key == "health_exec" {
                        Some(HealthCheck::Exec(value))
                    } else {
                        self.tcp_address(e)
                    };
                    match (&check, c) {
                        (Some((first, _)), _) => {
                            let first = first.field;
                            self.diags.push(
                                Diagnostic::error(
                                    codes::HEALTH_TWO_CHECKS,
                                    "an entry has at most one health check",
                                )
                                .with_label(e.field, "second check")
                                .with_label(first, "first check")
                                .with_help("keep either health_exec or health_tcp")
                                .in_file(self.src),
                            );
                        }
                        (None, Some(c)) => check = Some((e, c)),
                        (None, None) => {}
                    }
                }
                "health_interval" | "health_timeout" | "health_failures" => {
                    tuning = tuning.or(Some(e));
                    let (range, seconds, slot) = match e.key {
                        "health_interval" => (limits::HEALTH_INTERVAL, true, &mut health.0),
                        "health_timeout" => (limits::HEALTH_TIMEOUT, true, &mut health.1),
                        _ => (limits::HEALTH_FAILURES, false, &mut health.2),
                    };
                    if let Some(n) = self.ext_number(e, range, seconds) {
                        *slot = n;
                    }
                }
                "stop_timeout" => {
                    if let Some(n) = self.ext_number(e, limits::STOP_TIMEOUT, true) {
                        p.stop_timeout = n;
                    }
                }
                "retry_delay" => {
                    if let Some(n) = self.ext_number(e, limits::RETRY_DELAY, true) {
                        p.retry_delay = n;
                    }
                }
                "group" => p.group = Some(value),
                // `kind` makes a group line, which is read elsewhere.
                _ => {}
            }
        }
        match (check, tuning) {
            (Some((_, c)), _) => {
                p.health = Some(Health {
                    check: c,
                    interval: health.0,
                    timeout: health.1,
                    failures: health.2,
                });
            }
            (None, Some(t))
                if !exts
                    .iter()
                    .any(|e| matches!(e.key, "health_exec" | "health_tcp")) =>
            {
                self.diags.push(
                    Diagnostic::error(
                        codes::HEALTH_NO_CHECK,
                        format!("`{}=` tunes a health check, but the entry has none", t.key),
                    )
                    .with_label(t.field, "no health_exec or health_tcp on this line")
                    .with_help("add `health_exec=PATH [ARGS]` or `health_tcp=A.B.C.D PORT`, or remove the health settings")
                    .in_file(self.src),
                );
            }
            _ => {}
        }
        self.error_count() == errors
    }

    /// The value of `health_tcp=A.B.C.D PORT`, or a diagnostic.
    fn tcp_address(&mut self, e: ExtField) -> Option<HealthCheck> {
        let text = self.text(e.value).to_owned();
        match parse_tcp(&text, ' ') {
            Ok(a) => Some(HealthCheck::Tcp(a)),
            Err(why) => {
                self.diags.push(
                    Diagnostic::error(
                        codes::INVALID_HEALTH_CHECK,
                        format!(
                            "health_tcp `{}`: {why}",
                            crate::escape::for_display(&text)
                        ),
                    )
                    .with_label(e.value, "not an address and port")
                    .with_help("write an IPv4 address, a blank and a port, such as `health_tcp=127.0.0.1 80` (a pfile field cannot hold `:`)")
                    .in_file(self.src),
                );
                None
            }
        }
    }

    /// Checks the extension fields of a group line: only `kind=group` is allowed there.
    fn group_extensions(&mut self, exts: &[ExtField]) -> bool {
        let errors = self.error_count();
        for e in exts.iter().filter(|e| e.key != "kind") {
            self.diags.push(
                Diagnostic::error(
                    codes::PFILE_EXTENSION,
                    format!("`{}=` cannot be given on a group line", e.key),
                )
                .with_label(e.field, "not allowed with kind=group")
                .with_help("a group line is name:restart:grace:retry:action:kind=group; settings such as health checks belong to its members")
                .in_file(self.src),
            );
        }
        self.error_count() == errors
    }

    /// The retry-over action of field `f`: any casing (a warning unless lower case).
    fn action(&mut self, f: Span) -> Option<Action> {
        let action_text = self.text(f).to_owned();
        match Action::parse_any_case(&action_text) {
            Some(a) => {
                if a.as_str() != action_text {
                    self.diags.push(
                        Diagnostic::warning(
                            codes::PFILE_ACTION_CASE,
                            format!("`{action_text}` is not in canonical lower case"),
                        )
                        .with_label(f, "accepted, but not canonical")
                        .with_help(format!("write `{}`", a.as_str()))
                        .in_file(self.src),
                    );
                }
                Some(a)
            }
            None => {
                let mut d = Diagnostic::error(
                    codes::INVALID_ACTION,
                    format!("unknown retry-over action `{action_text}`"),
                )
                .with_label(f, "expected continue, exit or shutdown")
                .in_file(self.src);
                if let Some(best) = suggest(
                    &action_text.to_ascii_lowercase(),
                    Action::ALL.map(Action::as_str).as_slice(),
                    Closeness::Near,
                ) {
                    d = d.with_help(best.to_string());
                }
                self.diags.push(d);
                None
            }
        }
    }

    fn error_count(&self) -> usize {
        self.diags.iter().filter(|d| d.is_error()).count()
    }
}

/// Parses `A.B.C.D<sep>PORT` (`sep` is a blank in a pfile, `:` in a description): an IPv4
/// address in dotted decimal and a port 1-65535. Says why not.
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
        Some(n @ 1..=65535) => n as u16,
        _ => return Err("the port must be a whole number from 1 to 65535"),
    };
    Ok(std::net::SocketAddrV4::new(addr, port))
}

/// Lowers parsed lines into a [`Service`] named `name`. Returns the model only when there is
/// no error (warnings allowed), always with the spans and all diagnostics.
pub fn lower(
    syntax: &PfileSyntax,
    src: &Arc<SourceFile>,
    name: &str,
) -> (Option<Service>, PfileSpans, Vec<Diagnostic>) {
    let mut l = Lowerer {
        src,
        diags: Vec::new(),
    };
    let mut spans = PfileSpans::default();
    let mut svc = Service {
        name: name.to_owned(),
        ipckey: 0,
        msg_check_interval: model::DEFAULT_MSG_CHECK_INTERVAL,
        monitor_interval: model::DEFAULT_MONITOR_INTERVAL,
        monitor_try_count: model::DEFAULT_MONITOR_TRY_COUNT,
        dump_file: None,
        conf_dir: None,
        processes: Vec::new(),
        groups: Vec::new(),
    };
    let mut have_ipckey = false;
    // One diagnostic per mistake: a misspelled IPCKEY line or a PENT line with the wrong
    // number of fields is reported once, not again as "no IPCKEY" / "no PENT line".
    let mut ipckey_misspelled = false;
    let mut pent_attempted = false;

    for line in &syntax.lines {
        if l.diags.len() >= crate::diagnostics::MAX_ERRORS_PER_FILE {
            l.diags.push(crate::diagnostics::too_many(line.span, src));
            // The rest is unread: no "no IPCKEY" or "no PENT line" about it.
            return (None, spans, l.diags);
        }
        match &line.kind {
            LineKind::Blank | LineKind::Comment => {}
            LineKind::Param { key, value } => {
                let key_text = l.text(*key).to_owned();
                let Some(&known) = PARAM_KEYS.iter().find(|k| **k == key_text) else {
                    let mut d = Diagnostic::error(
                        codes::PFILE_UNKNOWN_KEY,
                        format!("unknown PARAM key `{key_text}`"),
                    )
                    .with_label(*key, "not a PARAM key")
                    .in_file(src);
                    if let Some(best) = did_you_mean(&key_text) {
                        d = d.with_help(best.to_string());
                        ipckey_misspelled |= best.name == "IPCKEY";
                    }
                    l.diags.push(d);
                    continue;
                };
                param(
                    &mut l,
                    &mut spans,
                    &mut svc,
                    &mut have_ipckey,
                    known,
                    *key,
                    *value,
                );
            }
            LineKind::Pent { fields, count } => {
                if *count == 1 {
                    if let Some(best) = misspelled_param(&mut l, fields[0]) {
                        match best {
                            Misspelled::Exact(known, key, value) => param(
                                &mut l,
                                &mut spans,
                                &mut svc,
                                &mut have_ipckey,
                                known,
                                key,
                                value,
                            ),
                            Misspelled::Near(best) => ipckey_misspelled |= best == "IPCKEY",
                        }
                        continue;
                    }
                }
                // Its own error says what is wrong; "no PENT line" would only repeat it.
                pent_attempted = true;
                if *count < 5 {
                    let looks_like_param = *count == 1;
                    let (code, msg, help) = if looks_like_param {
                        (
                            codes::PFILE_SYNTAX,
                            "this line is neither a PARAM line (`KEY VALUE`) nor a PENT line (`pname:restart:grace:retry:action`)".to_owned(),
                            "PARAM keys are upper case; PENT lines have five `:`-separated fields",
                        )
                    } else {
                        (
                            codes::PFILE_FIELD_COUNT,
                            format!(
                                "a PENT line has 5 `:`-separated fields (then optional extensions), this one has {count}"
                            ),
                            "the form is pname:restart:grace:retry:action",
                        )
                    };
                    let span = Span::new(
                        fields[0].start,
                        fields[fields.len() - 1].end.max(fields[0].start),
                    );
                    let span = if span.is_empty() { line.span } else { span };
                    l.diags.push(
                        Diagnostic::error(code, msg)
                            .with_label(span, "here")
                            .with_help(help)
                            .in_file(src),
                    );
                    continue;
                }
                let f: [Span; 5] = [fields[0], fields[1], fields[2], fields[3], fields[4]];
                let before = l.error_count();
                let pname = l.text(f[0]).to_owned();
                let restart_text = l.text(f[1]).to_owned();
                let restart = if restart_text == "-" {
                    Restart::None
                } else {
                    Restart::Script(restart_text)
                };
                let grace = l.bounded(f[2], "grace", limits::GRACE, false);
                let retry = l.bounded(f[3], "retry", limits::RETRY, false);
                let extra = fields
                    .get(5)
                    .map_or_else(Vec::new, |&rest| l.extension_fields(rest));
                let exts = l.read_extensions(&extra);
                let kind = exts.iter().find(|e| e.key == "kind").copied();
                let is_group = kind.is_some_and(|k| l.text(k.value) == "group");
                if let Some(k) = kind.filter(|_| !is_group) {
                    let text = l.text(k.value).to_owned();
                    l.diags.push(
                        Diagnostic::error(
                            codes::PFILE_EXTENSION,
                            format!(
                                "`kind={}`: the only kind is `group`",
                                crate::escape::for_display(&text)
                            ),
                        )
                        .with_label(k.value, "unknown kind")
                        .with_help(
                            "`kind=group` makes the line a group definition; entries have no kind",
                        )
                        .in_file(src),
                    );
                }
                let mut p = Process {
                    restart,
                    ..Process::new(pname)
                };
                let exts_ok = if is_group {
                    l.group_extensions(&exts)
                } else {
                    l.entry_extensions(&exts, spans.entries.len(), &mut p, &mut spans)
                };
                let action = l.action(f[4]);
                let ok = exts_ok && l.error_count() == before;
                // Broken lines keep their place so that indices stay aligned for the rules.
                let (grace, retry, action) = match (grace, retry, action) {
                    (Some(g), Some(r), Some(a)) if ok => (g, r as u32, a),
                    _ => (0, 0, Action::Continue),
                };
                if is_group {
                    spans.groups.push((line.span, f));
                    svc.groups.push(Group {
                        name: p.name,
                        restart: p.restart,
                        grace,
                        retries: retry,
                        on_retry_over: action,
                    });
                } else {
                    spans.entries.push((line.span, f));
                    p.grace = grace;
                    p.retries = retry;
                    p.on_retry_over = action;
                    svc.processes.push(p);
                }
            }
        }
    }

    let start = Span::new(0, src.line_span(1).end);
    if !have_ipckey && !ipckey_misspelled {
        l.diags.push(
            Diagnostic::error(codes::PFILE_MISSING_IPCKEY, "the pfile has no IPCKEY")
                .with_label(start, "in this file")
                .with_help("add a line such as `IPCKEY 0x1f000501`, unique on the host")
                .in_file(src),
        );
    }
    if svc.processes.is_empty() && !pent_attempted {
        l.diags.push(
            Diagnostic::error(codes::PFILE_NO_ENTRIES, "the pfile has no PENT line")
                .with_label(start, "in this file")
                .with_help("add a line pname:restart:grace:retry:action")
                .in_file(src),
        );
    }
    l.diags.extend(rules::check_service(&svc, &spans, src));
    let ok = !l.diags.iter().any(Diagnostic::is_error);
    (ok.then_some(svc), spans, l.diags)
}

/// Records PARAM `known` (its key and value spans) into the service, or says what is wrong.
fn param(
    l: &mut Lowerer<'_>,
    spans: &mut PfileSpans,
    svc: &mut Service,
    have_ipckey: &mut bool,
    known: &'static str,
    key: Span,
    value: Option<Span>,
) {
    let src = l.src;
    if let Some((first, _)) = spans.params.get(known) {
        let first = *first;
        l.diags.push(
            Diagnostic::error(
                codes::PFILE_DUPLICATE_KEY,
                format!("`{known}` is given twice"),
            )
            .with_label(key, "given again here")
            .with_label(first, "first given here")
            .with_help("remove one of the two lines")
            .in_file(src),
        );
        return;
    }
    let Some(value) = value else {
        l.error(
            codes::PFILE_MISSING_VALUE,
            format!("`{known}` has no value"),
            key,
            "value expected after this key",
        );
        return;
    };
    spans.params.insert(known, (key, value));
    match known {
        "IPCKEY" => {
            if let Some(n) = l.bounded(value, "IPCKEY", limits::IPCKEY, true) {
                svc.ipckey = n as u32;
            }
            *have_ipckey = true;
        }
        "MSG_CHECK_INTERVAL" => {
            if let Some(n) = l.bounded(
                value,
                "MSG_CHECK_INTERVAL",
                limits::MSG_CHECK_INTERVAL,
                false,
            ) {
                svc.msg_check_interval = n as u32;
            }
        }
        "MONITOR_INTERVAL" => {
            if let Some(n) = l.bounded(value, "MONITOR_INTERVAL", limits::MONITOR_INTERVAL, false) {
                svc.monitor_interval = n as u32;
            }
        }
        "MONITOR_TRY_COUNT" => {
            if let Some(n) = l.bounded(value, "MONITOR_TRY_COUNT", limits::MONITOR_TRY_COUNT, false)
            {
                svc.monitor_try_count = n as u32;
            }
        }
        _ => svc.dump_file = Some(l.text(value).to_owned()),
    }
}

enum Misspelled {
    /// A known key in the wrong case or followed by `=`: its key and value spans.
    Exact(&'static str, Span, Option<Span>),
    /// A word close to this key.
    Near(&'static str),
}

/// A line of one word-and-value that is a PARAM line gone wrong (`ipckey 0x1f000501`,
/// `IPCKEY=0x1f000501`, `ipckeyy 1`): reports it with a "did you mean" and returns what was
/// meant. `None` when it does not look like a PARAM line at all.
fn misspelled_param(l: &mut Lowerer<'_>, field: Span) -> Option<Misspelled> {
    let text = l.text(field);
    let word_end = text.find([' ', '\t', '=']).unwrap_or(text.len());
    let word = &text[..word_end];
    let after = &text[word_end..];
    let rest = after.trim_start_matches([' ', '\t', '=']);
    let eq = after[..after.len() - rest.len()].contains('=');
    let value_start = field.start + text.len() - rest.len();
    let value = (!rest.is_empty()).then(|| Span::new(value_start, field.end));
    let key = Span::new(field.start, field.start + word_end);
    let upper = word.to_ascii_uppercase();
    if word.is_empty() || !word.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    let sep = |v: Option<Span>| match v.map(|v| l.text(v)) {
        Some(t) if t.chars().count() <= 40 => format!(" {t}"),
        Some(_) => " ...".to_owned(),
        None => String::new(),
    };
    if let Some(&known) = PARAM_KEYS.iter().find(|k| **k == upper) {
        let (code, msg, label) = if eq && word != known {
            (
                codes::PFILE_SYNTAX,
                format!(
                    "`{word}=`: PARAM keys are upper case and separated from the value by blanks"
                ),
                "write the key in upper case, then a blank",
            )
        } else if eq {
            (
                codes::PFILE_SYNTAX,
                format!("`{word}=`: a PARAM line separates key and value with blanks, not `=`"),
                "`=` here",
            )
        } else {
            (
                codes::PFILE_UNKNOWN_KEY,
                format!("unknown PARAM key `{word}`: PARAM keys are upper case"),
                "not a PARAM key",
            )
        };
        let help = Suggestion { name: known }.with(&sep(value));
        let d = Diagnostic::error(code, msg)
            .with_label(key, label)
            .with_help(help)
            .in_file(l.src);
        l.diags.push(d);
        return Some(Misspelled::Exact(known, key, value));
    }
    // Only a word with a value looks like a PARAM line; a lone word may be anything.
    value?;
    let best = did_you_mean(word)?;
    let d = Diagnostic::error(
        codes::PFILE_UNKNOWN_KEY,
        format!("unknown PARAM key `{word}`"),
    )
    .with_label(key, "not a PARAM key")
    .with_help(best.to_string())
    .in_file(l.src);
    l.diags.push(d);
    Some(Misspelled::Near(best.name))
}

fn did_you_mean(key: &str) -> Option<Suggestion<'static>> {
    suggest(&key.to_ascii_uppercase(), &PARAM_KEYS, Closeness::Near)
}

//! Lowers a pfile's syntax into the model, reporting everything that is wrong with it.

use std::collections::HashMap;
use std::sync::Arc;

use super::syntax::{LineKind, PfileSyntax};
use crate::diagnostics::{codes, Diagnostic};
use crate::model::{self, limits, Action, Loc, Process, Restart, Service, SpanLookup};
use crate::rules;
use crate::span::{SourceFile, Span};

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
    /// Entry index -> the span of its `user=` extension field, when it has one.
    pub users: HashMap<usize, Span>,
}

/// The extension fields a PENT line may carry after its five (docs/emit.md): `key=value`.
/// Legacy pfiles never have a sixth field (it was an error), so they read as before.
pub const PENT_EXTENSIONS: [&str; 1] = ["user"];

impl SpanLookup for PfileSpans {
    fn span(&self, loc: Loc) -> Span {
        let param = |k: &str| self.params.get(k).map(|p| p.1);
        let field = |i: usize, f: usize| self.entries.get(i).map(|e| e.1[f]);
        let found = match loc {
            Loc::IpcKey => param("IPCKEY"),
            Loc::MsgCheckInterval => param("MSG_CHECK_INTERVAL"),
            Loc::MonitorInterval => param("MONITOR_INTERVAL"),
            Loc::MonitorTryCount => param("MONITOR_TRY_COUNT"),
            Loc::DumpFile => param("SHM_DUMP_FILE"),
            Loc::Process(i) => self.entries.get(i).map(|e| e.0),
            Loc::ProcessName(i) => field(i, 0),
            Loc::Restart(i) | Loc::RestartStop(i) | Loc::RestartStart(i) | Loc::RestartWait(i) => {
                field(i, 1)
            }
            Loc::Grace(i) => field(i, 2),
            Loc::Retries(i) => field(i, 3),
            Loc::OnRetryOver(i) => field(i, 4),
            Loc::User(i) => self
                .users
                .get(&i)
                .copied()
                .or_else(|| self.entries.get(i).map(|e| e.0)),
            Loc::Document | Loc::Name | Loc::ConfDir | Loc::Processes => None,
            // Extension fields (spec 7) point at the line until they are lowered.
            _ => None,
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
            _ => return self.span(loc),
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

impl Lowerer<'_> {
    /// Splits what follows a PENT line's fifth `:` (one span, see `syntax.rs`) into its fields,
    /// each trimmed of blanks. More fields than any valid line has make one error for the rest
    /// of the line, not one per field: a line of millions of `:` stays linear.
    fn extension_fields(&mut self, rest: Span) -> Vec<Span> {
        const MAX_EXTENSIONS: usize = 8;
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
                .with_help("the form is pname:restart:grace:retry:action, optionally followed by `:user=NAME,...`")
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

    /// Reads the extension fields of entry `i` (after its five): `user=NAME[,NAME...]` for now.
    fn extensions(&mut self, fields: &[Span], i: usize, spans: &mut PfileSpans) -> Vec<String> {
        let mut user = Vec::new();
        for &f in fields {
            let text = self.text(f).to_owned();
            let (key, value) = text.split_once('=').unwrap_or((&text, ""));
            if !PENT_EXTENSIONS.contains(&key) {
                let mut d = Diagnostic::error(
                    codes::PFILE_EXTENSION,
                    format!(
                        "`{}` is not a PENT extension field",
                        crate::escape::for_display(&text)
                    ),
                )
                .with_label(f, "unknown extension")
                .with_help("a PENT line is pname:restart:grace:retry:action, optionally followed by `:user=NAME,...`")
                .in_file(self.src);
                if let Some(best) = closest(key, &PENT_EXTENSIONS) {
                    d = d.with_help(format!("did you mean `{best}=`?"));
                }
                self.diags.push(d);
                continue;
            }
            if let Some(first) = spans.users.get(&i) {
                let first = *first;
                self.diags.push(
                    Diagnostic::error(codes::PFILE_EXTENSION, "`user=` is given twice")
                        .with_label(f, "given again here")
                        .with_label(first, "first given here")
                        .in_file(self.src),
                );
                continue;
            }
            spans.users.insert(i, f);
            // An empty list stays visible to the shared rule, which says what is wrong.
            user = value.split(',').map(str::to_owned).collect();
        }
        user
    }
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
                        d = d.with_help(format!("did you mean `{best}`?"));
                        ipckey_misspelled |= best == "IPCKEY";
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
                let before = l.diags.iter().filter(|d| d.is_error()).count();
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
                let user = l.extensions(&extra, spans.entries.len(), &mut spans);
                let action_text = l.text(f[4]).to_owned();
                let action = match Action::parse_any_case(&action_text) {
                    Some(a) => {
                        if a.as_str() != action_text {
                            l.diags.push(
                                Diagnostic::warning(
                                    codes::PFILE_ACTION_CASE,
                                    format!("`{action_text}` is not in canonical lower case"),
                                )
                                .with_label(f[4], "accepted, but not canonical")
                                .with_help(format!("write `{}`", a.as_str()))
                                .in_file(src),
                            );
                        }
                        Some(a)
                    }
                    None => {
                        let mut d = Diagnostic::error(
                            codes::INVALID_ACTION,
                            format!("unknown retry-over action `{action_text}`"),
                        )
                        .with_label(f[4], "expected continue, exit or shutdown")
                        .in_file(src);
                        if let Some(best) = closest(
                            &action_text.to_ascii_lowercase(),
                            Action::ALL.map(Action::as_str).as_slice(),
                        ) {
                            d = d.with_help(format!("did you mean `{best}`?"));
                        }
                        l.diags.push(d);
                        None
                    }
                };
                let errors_now = l.diags.iter().filter(|d| d.is_error()).count();
                if let (Some(grace), Some(retry), Some(action), true) =
                    (grace, retry, action, errors_now == before)
                {
                    spans.entries.push((line.span, f));
                    svc.processes.push(Process {
                        name: pname,
                        restart,
                        grace,
                        retries: retry as u32,
                        on_retry_over: action,
                        user,
                        ..Process::new("")
                    });
                } else {
                    // Keep indices aligned for the shared rules even for broken entries.
                    spans.entries.push((line.span, f));
                    svc.processes.push(Process {
                        name: pname,
                        restart,
                        grace: 0,
                        retries: 0,
                        on_retry_over: Action::Continue,
                        user,
                        ..Process::new("")
                    });
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

fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<&'a str> {
    crate::diagnostics::closest(word, candidates, 0.6)
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
        let help = format!("did you mean `{known}{}`?", sep(value));
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
    .with_help(format!("did you mean `{best}`?"))
    .in_file(l.src);
    l.diags.push(d);
    Some(Misspelled::Near(best))
}

fn did_you_mean(key: &str) -> Option<&'static str> {
    closest(&key.to_ascii_uppercase(), &PARAM_KEYS)
}

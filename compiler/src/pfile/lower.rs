//! Lowers a pfile's syntax into the model, reporting everything that is wrong with it: the
//! driver over the lines, with [`super::param`] and [`super::pent`] lowering one line each.

use std::collections::HashMap;
use std::sync::Arc;

use super::param::lower_param;
use super::pent::{self, PentLine, PENT_EXTENSIONS};
use super::read::Reader;
use super::syntax::{LineKind, PfileSyntax};
use crate::diagnostics::{codes, Diagnostic};
use crate::fields::{self, Param};
use crate::model::{Loc, Service, SpanLookup};
use crate::rules;
use crate::span::{SourceFile, Span};
use crate::suggestion::{suggest, Closeness, Suggestion};

/// The PARAM keys, in canonical order (from [`fields::PARAMS`]).
pub const PARAM_KEYS: [&str; fields::PARAMS.len()] = {
    let mut keys = [""; fields::PARAMS.len()];
    let mut i = 0;
    while i < keys.len() {
        keys[i] = fields::PARAMS[i].field.pfile;
        i += 1;
    }
    keys
};

/// Where each part of a pfile stands, for rules that point back into it.
#[derive(Debug, Default, Clone)]
pub struct PfileSpans {
    /// PARAM key -> (key span, value span).
    pub params: HashMap<&'static str, (Span, Span)>,
    /// Per PENT entry in model order: the line and its five field spans.
    pub entries: Vec<EntrySpans>,
    /// (entry index, extension key) -> (the whole `key=value` field, its value).
    pub extensions: HashMap<(usize, &'static str), (Span, Span)>,
    /// Per group definition line (`...:kind=group`) in model order: the line and its five
    /// field spans.
    pub groups: Vec<(Span, [Span; 5])>,
}

/// A PENT entry's line and its five field spans, as 32-bit offsets (inputs are capped at
/// 16 MiB): half the size of six [`Span`]s, which counts in a file of a million entries.
#[derive(Debug, Default, Clone, Copy)]
pub struct EntrySpans([(u32, u32); 6]);

impl EntrySpans {
    pub fn new(line: Span, fields: [Span; 5]) -> EntrySpans {
        let p = |s: Span| (s.start as u32, s.end as u32);
        let f = fields.map(p);
        EntrySpans([p(line), f[0], f[1], f[2], f[3], f[4]])
    }

    /// The whole line.
    pub fn line(&self) -> Span {
        self.span(0)
    }

    /// Field `f` (0-4).
    pub fn field(&self, f: usize) -> Span {
        self.span(f + 1)
    }

    fn span(&self, i: usize) -> Span {
        Span::new(self.0[i].0 as usize, self.0[i].1 as usize)
    }
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
        let field = |i: usize, f: usize| self.entries.get(i).map(|e| e.field(f));
        let line = |i: usize| self.entries.get(i).map(EntrySpans::line);
        let value = |i: usize, k: &str| self.ext(i, k).map(|f| f.1).or_else(|| line(i));
        let group = |g: usize, f: usize| self.groups.get(g).map(|e| e.1[f]);
        if let Some(key) = param_key(loc) {
            return param(key).unwrap_or_default();
        }
        let found = match loc {
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
            // PARAM locations are answered above, from the table.
            _ => None,
        };
        found.unwrap_or_default()
    }

    fn key_span(&self, loc: Loc) -> Span {
        match param_key(loc) {
            Some(key) => self.params.get(key).map(|p| p.0).unwrap_or_default(),
            None => self.ext_field(loc).unwrap_or_else(|| self.span(loc)),
        }
    }
}

/// The PARAM key of a model location, if it is one.
fn param_key(loc: Loc) -> Option<&'static str> {
    fields::PARAMS
        .iter()
        .find(|p| (p.field.loc)(0) == loc)
        .map(|p| p.field.pfile)
}

/// What the driver knows while it reads the lines.
struct Driver<'a> {
    r: Reader<'a>,
    svc: Service,
    spans: PfileSpans,
    have_ipckey: bool,
    /// One diagnostic per mistake: a misspelled IPCKEY line or a PENT line with the wrong
    /// number of fields is reported once, not again as "no IPCKEY" / "no PENT line".
    ipckey_misspelled: bool,
    pent_attempted: bool,
    /// Whether some PENT line did not lower; its partial reading still meets the
    /// cross-entry rules, but the service is not returned.
    broken: bool,
}

/// Lowers parsed lines into a [`Service`] named `name`. Returns the model only when there is
/// no error (warnings allowed), always with the spans and all diagnostics.
pub fn lower(
    syntax: &PfileSyntax,
    src: &Arc<SourceFile>,
    name: &str,
) -> (Option<Service>, PfileSpans, Vec<Diagnostic>) {
    let mut d = Driver {
        r: Reader::new(src),
        svc: Service::new(name, 0),
        spans: PfileSpans::default(),
        have_ipckey: false,
        ipckey_misspelled: false,
        pent_attempted: false,
        broken: false,
    };
    // Sized once (each line of five fields or more is an entry or a group), not grown by
    // doubling: a copy at each step, and up to twice the room. A file that stops at the
    // error limit leaves the rest untouched, which costs no memory.
    let entries = syntax.lines.entry_lines();
    d.svc.processes.reserve_exact(entries);
    d.spans.entries.reserve_exact(entries);
    for line in &syntax.lines {
        if d.r.diags.len() >= crate::diagnostics::MAX_ERRORS_PER_FILE {
            d.r.diags.push(crate::diagnostics::too_many(line.span, src));
            // The rest is unread: no "no IPCKEY" or "no PENT line" about it.
            return (None, d.spans, d.r.diags);
        }
        match &line.kind {
            LineKind::Blank | LineKind::Comment => {}
            LineKind::Param { key, value } => d.param_line(*key, *value),
            LineKind::Pent { fields, count } => d.pent_line(line.span, fields, *count),
        }
    }
    d.finish()
}

impl Driver<'_> {
    fn param_line(&mut self, key: Span, value: Option<Span>) {
        let key_text = self.r.text(key);
        let Some(param) = fields::param(key_text) else {
            let mut diag = Diagnostic::error(
                codes::PFILE_UNKNOWN_KEY,
                format!("unknown PARAM key `{key_text}`"),
            )
            .with_label(key, "not a PARAM key")
            .in_file(self.r.src);
            if let Some(best) = did_you_mean(key_text) {
                diag = diag.with_help(best.to_string());
                self.ipckey_misspelled |= best.name == "IPCKEY";
            }
            self.r.diags.push(diag);
            return;
        };
        self.param(param, key, value);
    }

    /// Records PARAM `param` (its key and value spans) into the service, or says what is
    /// wrong.
    fn param(&mut self, param: &'static Param, key: Span, value: Option<Span>) {
        let known = param.field.pfile;
        if let Some((first, _)) = self.spans.params.get(known) {
            let first = *first;
            self.r.diags.push(
                Diagnostic::error(
                    codes::PFILE_DUPLICATE_KEY,
                    format!("`{known}` is given twice"),
                )
                .with_label(key, "given again here")
                .with_label(first, "first given here")
                .with_help("remove one of the two lines")
                .in_file(self.r.src),
            );
            return;
        }
        let Some(value) = value else {
            self.r.error(
                codes::PFILE_MISSING_VALUE,
                format!("`{known}` has no value"),
                key,
                "value expected after this key",
            );
            return;
        };
        self.spans.params.insert(known, (key, value));
        if (param.field.loc)(0) == Loc::IpcKey {
            self.have_ipckey = true;
        }
        let (v, diags) = lower_param(self.r.src, param, value);
        self.r.diags.extend(diags);
        if let Some(v) = v {
            v.apply(param, &mut self.svc);
        }
    }

    fn pent_line(&mut self, line: Span, fields: &[Span], count: usize) {
        if count == 1 {
            if let Some(best) = misspelled_param(&mut self.r, fields[0]) {
                match best {
                    Misspelled::Exact(param, key, value) => self.param(param, key, value),
                    Misspelled::Near(best) => self.ipckey_misspelled |= best == "IPCKEY",
                }
                return;
            }
        }
        // Its own error says what is wrong; "no PENT line" would only repeat it.
        self.pent_attempted = true;
        if count < 5 {
            self.r
                .diags
                .push(field_count(self.r.src, line, fields, count));
            return;
        }
        let (lowered, diags) = pent::lower_pent(self.r.src, fields);
        self.r.diags.extend(diags);
        let lowered = lowered.unwrap_or_else(|| {
            self.broken = true;
            pent::partial(self.r.src, fields)
        });
        match lowered {
            PentLine::Entry {
                process,
                fields,
                extensions,
            } => {
                let i = self.svc.processes.len();
                for e in extensions {
                    self.spans.extensions.insert((i, e.key), (e.field, e.value));
                }
                self.spans.entries.push(EntrySpans::new(line, fields));
                self.svc.processes.push(process);
            }
            PentLine::Group { group, fields } => {
                self.spans.groups.push((line, fields));
                self.svc.groups.push(group);
            }
        }
    }

    fn finish(mut self) -> (Option<Service>, PfileSpans, Vec<Diagnostic>) {
        let src = self.r.src;
        let start = Span::new(0, src.line_span(1).end);
        if !self.have_ipckey && !self.ipckey_misspelled {
            self.r.diags.push(
                Diagnostic::error(codes::PFILE_MISSING_IPCKEY, "the pfile has no IPCKEY")
                    .with_label(start, "in this file")
                    .with_help("add a line such as `IPCKEY 0x1f000501`, unique on the host")
                    .in_file(src),
            );
        }
        if self.svc.processes.is_empty() && !self.pent_attempted {
            self.r.diags.push(
                Diagnostic::error(codes::PFILE_NO_ENTRIES, "the pfile has no PENT line")
                    .with_label(start, "in this file")
                    .with_help("add a line pname:restart:grace:retry:action")
                    .in_file(src),
            );
        }
        let rules = rules::check_service(&self.svc, &self.spans, src);
        self.r.diags.extend(rules);
        crate::diagnostics::cap(&mut self.r.diags, src);
        let ok = !self.broken && !self.r.has_errors();
        (ok.then_some(self.svc), self.spans, self.r.diags)
    }
}

/// The error of a PENT line with fewer than five fields (one field: neither PARAM nor PENT).
fn field_count(src: &Arc<SourceFile>, line: Span, fields: &[Span], count: usize) -> Diagnostic {
    let (code, msg, help) = if count == 1 {
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
    let span = if span.is_empty() { line } else { span };
    Diagnostic::error(code, msg)
        .with_label(span, "here")
        .with_help(help)
        .in_file(src)
}

enum Misspelled {
    /// A known key in the wrong case or followed by `=`: its key and value spans.
    Exact(&'static Param, Span, Option<Span>),
    /// A word close to this key.
    Near(&'static str),
}

/// A line of one word-and-value that is a PARAM line gone wrong (`ipckey 0x1f000501`,
/// `IPCKEY=0x1f000501`, `ipckeyy 1`): reports it with a "did you mean" and returns what was
/// meant. `None` when it does not look like a PARAM line at all.
fn misspelled_param(l: &mut Reader<'_>, field: Span) -> Option<Misspelled> {
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
    if let Some(param) = fields::param(&upper) {
        let known = param.field.pfile;
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
        return Some(Misspelled::Exact(param, key, value));
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

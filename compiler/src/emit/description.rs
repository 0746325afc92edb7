//! Service-description printers for `psctl import`: YAML and TOML written directly, so that key
//! order and comments are ours to place. Every value is written so that it reads back exactly:
//! strings are quoted whenever a plain form could be misread, durations use a unit only when
//! it is exact.
//!
//! One walk ([`walk`]) decides what is printed — which keys, in which order, which defaults are
//! left out, where the pfile's comments go — and hands it to a [`Printer`], one per format,
//! which decides only how it is spelled. A new key is one line in the walk.

use std::borrow::Cow;
use std::fmt::Write as _;

use super::pfile::{Attached, Comments};
use crate::fields::{self, Access, Unit};
use crate::model::{self, Group, Health, HealthCheck, Process, Restart, Service};
use crate::pfile::PARAM_KEYS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

pub struct Options<'a> {
    pub format: Format,
    /// Path or URL of the JSON Schema named in the modeline.
    pub schema: &'a str,
    /// Which PARAM keys (in `PARAM_KEYS` order) the source gave. Keys given, or differing from
    /// the description default, are printed; `dump_file` always is, since the pfile default
    /// (`pcheck_dump_<ipckey>`) is not the description default (`pcheck_dump_<name>`).
    pub given: [bool; PARAM_KEYS.len()],
}

/// Seconds as a duration: a whole number of days, hours or minutes when exact, else seconds.
pub fn duration(secs: u64) -> String {
    match secs {
        0 => "0".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A comment safe to carry into YAML or TOML: both forbid most control characters even in
/// comments, so those are escaped (a tab is fine).
fn comment(c: &str) -> String {
    let mut out = String::with_capacity(c.len());
    for ch in c.chars() {
        if (ch.is_control() && ch != '\t') || ch == '\u{feff}' {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A double-quoted string with escapes, valid in both YAML and TOML basic strings.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML scalar: plain when that cannot be misread (no indicator, not a keyword, not a
/// number), double-quoted otherwise.
fn yaml_str(s: &str) -> String {
    const KEYWORDS: [&str; 11] = [
        "null", "true", "false", "yes", "no", "on", "off", "y", "n", "none", "~",
    ];
    let safe = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " /._-+=,@%".contains(c))
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s));
    if safe {
        s.to_owned()
    } else {
        quoted(s)
    }
}

/// A value as the walk hands it to a printer.
enum Value<'a> {
    /// A string, quoted as the format needs.
    Str(Cow<'a, str>),
    Int(u64),
    /// Text printed as it stands in both formats: the hex ipckey, a numeric uid.
    Bare(String),
    /// Seconds, printed by [`duration`].
    Duration(u64),
    /// A flow sequence (YAML) or array (TOML).
    List(Vec<Value<'a>>),
    /// A nested mapping (YAML) or inline table (TOML), keys in print order.
    Map(Vec<(&'static str, Value<'a>)>),
}

impl<'a> Value<'a> {
    fn str(s: impl Into<Cow<'a, str>>) -> Self {
        Value::Str(s.into())
    }
}

/// One key with its value and the pfile comments of the line it came from.
struct Field<'a> {
    key: &'static str,
    value: Value<'a>,
    comments: Option<&'a Attached>,
}

fn field<'a>(key: &'static str, value: Value<'a>) -> Field<'a> {
    Field {
        key,
        value,
        comments: None,
    }
}

/// How one format spells what the walk decides. Top-level fields come before any list (TOML
/// would read a key after `[[processes]]` as part of the table).
trait Printer {
    /// Between a key and its value on one line.
    const SEP: &'static str;
    fn string(s: &str) -> String;
    fn duration(secs: u64) -> String;

    /// A value on one line; nested lists and mappings in flow style, which both formats
    /// spell alike but for [`Self::SEP`].
    fn inline(v: &Value<'_>) -> String {
        match v {
            Value::Str(s) => Self::string(s),
            Value::Int(n) => n.to_string(),
            Value::Bare(s) => s.clone(),
            Value::Duration(secs) => Self::duration(*secs),
            Value::List(vs) => {
                let items: Vec<_> = vs.iter().map(Self::inline).collect();
                format!("[{}]", items.join(", "))
            }
            Value::Map(kvs) if kvs.is_empty() => "{}".to_owned(),
            Value::Map(kvs) => {
                let items: Vec<_> = kvs
                    .iter()
                    .map(|(k, v)| format!("{k}{}{}", Self::SEP, Self::inline(v)))
                    .collect();
                format!("{{ {} }}", items.join(", "))
            }
        }
    }

    /// The first line, naming the schema for editors.
    fn modeline(&mut self, schema: &str);
    /// Own-line comments at the top level.
    fn comments(&mut self, cs: &[String]);
    /// A top-level key, with its comments.
    fn field(&mut self, f: &Field<'_>);
    /// Opens the list of tables `key`, before its items. YAML writes `key:` even for an empty
    /// list (as `processes` has always been printed), so the walk skips an optional empty one.
    fn list(&mut self, key: &str);
    /// One table of the list `key`. `comments` belong to the table: own-line ones go before
    /// it, the trailing one after its first field.
    fn item(&mut self, key: &str, fields: &[Field<'_>], comments: Option<&Attached>);
    /// The comments after everything else.
    fn trailer(&mut self, cs: &[String]);
}

/// Prints `svc` as a service description with `comments` placed where they belong.
pub fn print(svc: &Service, comments: &Comments, opts: &Options<'_>) -> String {
    let mut out = Out {
        text: String::with_capacity(512 + 160 * svc.processes.len()),
    };
    match opts.format {
        Format::Yaml => walk(&mut Yaml(&mut out), svc, comments, opts),
        Format::Toml => walk(&mut Toml(&mut out), svc, comments, opts),
    }
    out.text
}

/// What a description holds, in order, whatever the format.
fn walk(p: &mut impl Printer, svc: &Service, comments: &Comments, opts: &Options<'_>) {
    p.modeline(opts.schema);
    p.comments(&comments.preamble);
    for f in service_fields(svc, comments, opts) {
        p.field(&f);
    }
    p.list("processes");
    for (i, proc_) in svc.processes.iter().enumerate() {
        p.item("processes", &process_fields(proc_), comments.entry(i));
    }
    if !svc.groups.is_empty() {
        p.list("groups");
    }
    for (g, group) in svc.groups.iter().enumerate() {
        p.item("groups", &group_fields(svc, group), comments.group(svc, g));
    }
    p.trailer(&comments.trailer);
}

/// The top-level keys in print order. A key read from a PARAM key carries that line's comments
/// and is printed when the source gave it or it is not the default; every PARAM key comes from
/// the descriptor table ([`fields::PARAMS`]).
fn service_fields<'a>(
    svc: &'a Service,
    comments: &'a Comments,
    opts: &Options<'_>,
) -> Vec<Field<'a>> {
    let mut out = vec![field("name", Value::str(&svc.name))];
    // `given` and `comments.params` are indexed like the table.
    for (i, param) in fields::PARAMS.iter().enumerate() {
        let text = param.print(svc);
        // A key without a default (IPCKEY) is always printed; so is SHM_DUMP_FILE, whose pfile
        // default (`pcheck_dump_<ipckey>`) is not the description default (`pcheck_dump_<name>`)
        // and never equals a printed path.
        let differs = param.field.default != Some(text.as_str());
        if !(differs || opts.given.get(i) == Some(&true)) {
            continue;
        }
        let value = match (param.field.unit, param.access) {
            (Unit::IpcKey, _) => Value::Bare(text),
            (Unit::Seconds, Access::Number { get, .. }) => Value::Duration(get(svc)),
            (Unit::Count, Access::Number { get, .. }) => Value::Int(get(svc)),
            _ => Value::str(text),
        };
        out.push(Field {
            key: param.field.key,
            value,
            comments: comments.params.get(i),
        });
    }
    if let Some(d) = svc.conf_dir.as_deref() {
        out.push(field("conf_dir", Value::str(d)));
    }
    out
}

/// A restart as a description writes it.
fn restart(r: &Restart) -> Value<'_> {
    match r {
        Restart::None => Value::str("none"),
        Restart::Script(cmd) => Value::Map(vec![("script", Value::str(cmd))]),
        Restart::Commands(c) => Value::Map(vec![
            ("stop", Value::str(&c.stop)),
            ("start", Value::str(&c.start)),
            ("wait", Value::Duration(c.wait.into())),
        ]),
    }
}

/// A health check's keys; tuning at its default is left out.
fn health(h: &Health) -> Value<'_> {
    let mut kvs = vec![match &h.check {
        HealthCheck::Exec(cmd) => ("exec", Value::str(cmd)),
        HealthCheck::Tcp(a) => ("tcp", Value::str(a.to_string())),
    }];
    let secs = |v: u32| Value::Duration(v.into());
    if h.interval != model::DEFAULT_HEALTH_INTERVAL {
        kvs.push(("interval", secs(h.interval)));
    }
    if h.timeout != model::DEFAULT_HEALTH_TIMEOUT {
        kvs.push(("timeout", secs(h.timeout)));
    }
    if h.failures != model::DEFAULT_HEALTH_FAILURES {
        kvs.push(("failures", Value::Int(h.failures.into())));
    }
    Value::Map(kvs)
}

/// A group's keys in print order: its members are the entries that name it.
fn group_fields<'a>(svc: &'a Service, g: &'a Group) -> Vec<Field<'a>> {
    let members = svc
        .members(&g.name)
        .map(|(_, p)| Value::str(p.name.as_str()))
        .collect();
    vec![
        field("name", Value::str(&g.name)),
        field("members", Value::List(members)),
        field("restart", restart(&g.restart)),
        field("grace", Value::Duration(g.grace)),
        field("retries", Value::Int(g.retries.into())),
        field("on_retry_over", Value::str(g.on_retry_over.as_str())),
    ]
}

/// A process's keys in print order; optional keys at their default are left out (and a group
/// member's restart, which is its group's).
fn process_fields(p: &Process) -> Vec<Field<'_>> {
    let member = p.group.is_some() && p.restart == Restart::None;
    // uids as integers, names as strings: what the description reads back the same
    fn user(u: &str) -> Value<'_> {
        if u.bytes().all(|b| b.is_ascii_digit()) {
            Value::Bare(u.to_owned())
        } else {
            Value::str(u)
        }
    }
    let users = || Value::List(p.user.iter().map(String::as_str).map(user).collect());
    let secs = |v: u32| Value::Duration(v.into());
    [
        Some(field("name", Value::str(&p.name))),
        (!member).then(|| field("restart", restart(&p.restart))),
        Some(field("grace", Value::Duration(p.grace))),
        Some(field("retries", Value::Int(p.retries.into()))),
        Some(field("on_retry_over", Value::str(p.on_retry_over.as_str()))),
        (!p.user.is_empty()).then(|| field("user", users())),
        (p.instances != model::DEFAULT_INSTANCES)
            .then(|| field("instances", Value::Int(p.instances.into()))),
        p.health.as_ref().map(|h| field("health", health(h))),
        (p.stop_timeout != model::DEFAULT_STOP_TIMEOUT)
            .then(|| field("stop_timeout", secs(p.stop_timeout))),
        (p.retry_delay != model::DEFAULT_RETRY_DELAY)
            .then(|| field("retry_delay", secs(p.retry_delay))),
    ]
    .into_iter()
    .flatten()
    .collect()
}

/// The text being built, shared by both printers.
struct Out {
    text: String,
}

impl Out {
    fn comments(&mut self, indent: &str, cs: &[String]) {
        for c in cs {
            let _ = writeln!(self.text, "{indent}{}", comment(c));
        }
    }

    /// One line (or a key with its nested lines), then its trailing comment if any.
    fn line(&mut self, indent: &str, text: &str, trailing: Option<&str>) {
        let _ = write!(self.text, "{indent}{text}");
        if let Some(t) = trailing {
            let _ = write!(self.text, " {}", comment(t));
        }
        self.text.push('\n');
    }

    /// A top-level key: its own-line comments, then the line.
    fn field(&mut self, text: &str, a: Option<&Attached>) {
        if let Some(a) = a {
            self.comments("", &a.before);
        }
        self.line("", text, a.and_then(|a| a.trailing.as_deref()));
    }
}

struct Yaml<'o>(&'o mut Out);

impl Yaml<'_> {
    /// `key: value`; a nested mapping goes on the following lines, two columns deeper than
    /// `indent`, the indent of the key.
    fn key_value(indent: &str, key: &str, value: &Value<'_>) -> String {
        match value {
            Value::Map(kvs) if !kvs.is_empty() => {
                let inner = format!("{indent}  ");
                let mut s = format!("{key}:");
                for (k, v) in kvs {
                    let _ = write!(s, "\n{inner}{}", Self::key_value(&inner, k, v));
                }
                s
            }
            v => format!("{key}: {}", Self::inline(v)),
        }
    }
}

impl Printer for Yaml<'_> {
    const SEP: &'static str = ": ";

    fn string(s: &str) -> String {
        yaml_str(s)
    }

    fn duration(secs: u64) -> String {
        duration(secs)
    }

    fn modeline(&mut self, schema: &str) {
        let _ = writeln!(self.0.text, "# yaml-language-server: $schema={schema}");
    }

    fn comments(&mut self, cs: &[String]) {
        self.0.comments("", cs);
    }

    fn field(&mut self, f: &Field<'_>) {
        self.0
            .field(&Self::key_value("", f.key, &f.value), f.comments);
    }

    fn list(&mut self, key: &str) {
        let _ = writeln!(self.0.text, "{key}:");
    }

    fn item(&mut self, _key: &str, fields: &[Field<'_>], comments: Option<&Attached>) {
        if let Some(a) = comments {
            self.0.comments("  ", &a.before);
        }
        let mut trailing = comments.and_then(|a| a.trailing.as_deref());
        for (i, f) in fields.iter().enumerate() {
            let (indent, dash) = if i == 0 { ("  ", "- ") } else { ("    ", "") };
            let text = format!("{dash}{}", Self::key_value("    ", f.key, &f.value));
            self.0.line(indent, &text, trailing.take());
        }
    }

    fn trailer(&mut self, cs: &[String]) {
        self.0.comments("", cs);
    }
}

struct Toml<'o>(&'o mut Out);

impl Toml<'_> {
    fn key_value(f: &Field<'_>) -> String {
        format!("{} = {}", f.key, Self::inline(&f.value))
    }
}

impl Printer for Toml<'_> {
    const SEP: &'static str = " = ";

    fn string(s: &str) -> String {
        quoted(s)
    }

    /// Quoted, except 0: a bare integer, which the description reads as seconds.
    fn duration(secs: u64) -> String {
        if secs == 0 {
            duration(0)
        } else {
            quoted(&duration(secs))
        }
    }

    fn modeline(&mut self, schema: &str) {
        let _ = writeln!(self.0.text, "#:schema {schema}");
    }

    fn comments(&mut self, cs: &[String]) {
        self.0.comments("", cs);
    }

    fn field(&mut self, f: &Field<'_>) {
        self.0.field(&Self::key_value(f), f.comments);
    }

    /// An array of tables needs no header of its own.
    fn list(&mut self, _key: &str) {}

    fn item(&mut self, key: &str, fields: &[Field<'_>], comments: Option<&Attached>) {
        self.0.text.push('\n');
        if let Some(a) = comments {
            self.0.comments("", &a.before);
        }
        let _ = writeln!(self.0.text, "[[{key}]]");
        let mut trailing = comments.and_then(|a| a.trailing.as_deref());
        for f in fields {
            self.0.line("", &Self::key_value(f), trailing.take());
        }
    }

    fn trailer(&mut self, cs: &[String]) {
        if !cs.is_empty() {
            self.0.text.push('\n');
        }
        self.0.comments("", cs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_exact() {
        let got: Vec<_> = [0, 5, 90, 600, 7200, 86400, 86401, 31_536_000]
            .into_iter()
            .map(duration)
            .collect();
        assert_eq!(got, ["0", "5s", "90s", "10m", "2h", "1d", "86401s", "365d"]);
    }

    #[test]
    fn strings_are_quoted_when_needed() {
        assert_eq!(yaml_str("crond"), "crond");
        assert_eq!(yaml_str("/usr/sbin/sshd -D"), "/usr/sbin/sshd -D");
        for s in [
            "a#b c", "none", "True", "-x", "1234", "a: b", "", "x\u{1}", "é",
        ] {
            assert!(yaml_str(s).starts_with('"'), "{s:?}");
        }
        assert_eq!(quoted("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }
}

//! `padmin --format json`: one JSON document per call, shape `psctl-padmin/1`
//! (docs/runtime.md, schemas/padmin.schema.json). Every field of the text form is there under
//! its text key in lower case, plus what the text lacks (configuration, history, times as
//! Unix seconds and RFC 3339). Written by hand: the shape is small and fixed, and the runtime
//! stays free of serde. Strings keep their exact value; every character that could drive a
//! terminal (`psctl::escape::is_unsafe`) is written as a `\u` escape, so the output is as safe
//! to print as the text form.

use std::fmt::Write;

use crate::dump::Dump;
use crate::report::{Detail, History, Outcome, Snapshot};
use crate::state::Wall;
use crate::view::{Backoff, GroupView, ListView, PentView};

/// The version of the shape; bumped on an incompatible change (fields may be added within it).
pub const FORMAT: &str = "psctl-padmin/1";

/// A JSON value, built in the order it is written.
#[derive(Debug, Clone, PartialEq)]
pub enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(&'static str, Json)>),
    /// Text that is already a JSON value (objects pcheck sent to padmin).
    Raw(String),
}

impl Json {
    pub fn str(s: &str) -> Json {
        Json::Str(s.to_owned())
    }

    fn int<T: TryInto<i64>>(n: T) -> Json {
        n.try_into().map_or(Json::Null, Json::Int)
    }

    fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> Json) -> Json {
        v.map_or(Json::Null, f)
    }

    /// Compact, on one line.
    pub fn write(&self, out: &mut String) {
        match self {
            Json::Null => out.push_str("null"),
            Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            Json::Int(n) => {
                let _ = write!(out, "{n}");
            }
            Json::Str(s) => string(s, out),
            Json::Arr(v) => {
                out.push('[');
                for (i, x) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    x.write(out);
                }
                out.push(']');
            }
            Json::Obj(v) => {
                out.push('{');
                for (i, (k, x)) in v.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    string(k, out);
                    out.push(':');
                    x.write(out);
                }
                out.push('}');
            }
            Json::Raw(r) => out.push_str(r),
        }
    }

    /// The document followed by a newline, as padmin prints it.
    pub fn document(&self) -> String {
        let mut s = String::new();
        self.write(&mut s);
        s.push('\n');
        s
    }
}

fn string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 || psctl::escape::is_unsafe(c) => {
                let mut buf = [0u16; 2];
                for u in c.encode_utf16(&mut buf) {
                    let _ = write!(out, "\\u{u:04x}");
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `1969-12-31T23:59:59Z`-style UTC time of Unix seconds `t` (proleptic Gregorian calendar).
pub fn rfc3339(t: Wall) -> String {
    let days = t.div_euclid(86_400);
    let secs = t.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

/// A time as both Unix seconds and RFC 3339.
pub fn time(t: Wall) -> Json {
    Json::Obj(vec![
        ("unix", Json::Int(t)),
        ("rfc3339", Json::Str(rfc3339(t))),
    ])
}

fn message(running: bool) -> Json {
    Json::str(if running { "start" } else { "stop" })
}

fn ipckey(key: u32) -> Json {
    Json::Str(psctl::model::format_ipckey(key))
}

/// One pcheck in `padmin -l --format json` (pcheck answers `info json` with it).
pub fn list_object(l: &ListView, started: Wall) -> Json {
    Json::Obj(vec![
        ("ipckey", ipckey(l.ipckey)),
        ("mypid", Json::int(l.pid)),
        ("myname", Json::str("pcheck")),
        ("pfile", Json::str(&l.pfile)),
        ("message", message(l.running)),
        ("started", time(started)),
    ])
}

/// `padmin -l --format json`: the objects every live pcheck sent.
pub fn list_document(objects: Vec<String>) -> String {
    Json::Obj(vec![
        ("format", Json::str(FORMAT)),
        ("kind", Json::str("list")),
        (
            "pchecks",
            Json::Arr(objects.into_iter().map(Json::Raw).collect()),
        ),
    ])
    .document()
}

/// `show param json`.
pub fn param_document(s: &Snapshot) -> String {
    let p = &s.param;
    Json::Obj(vec![
        ("format", Json::str(FORMAT)),
        ("kind", Json::str("param")),
        ("source", Json::str("pcheck")),
        ("ipckey", ipckey(s.list.ipckey)),
        ("mypid", Json::int(s.list.pid)),
        ("msg_check_interval", Json::int(p.msg_check_interval)),
        ("monitor_interval", Json::int(p.monitor_interval)),
        ("monitor_try_count", Json::int(p.monitor_try_count)),
        ("shm_dump_file", Json::str(&p.dump_file)),
        ("pfile", Json::str(&p.pfile)),
        ("message_box", message(p.running)),
        ("monitor_stop_count", Json::int(p.monitor_stop_count)),
        ("fail_proc_count", Json::int(p.fail_proc_count)),
        ("all_proc_count", Json::int(p.all_proc_count)),
        ("started", time(s.started)),
        ("reloads_total", Json::int(s.reloads.done)),
        (
            "reload_failures_total",
            Json::int(s.reloads.attempts.saturating_sub(s.reloads.done)),
        ),
    ])
    .document()
}

fn outcome(o: &Outcome) -> Vec<(&'static str, Json)> {
    let (name, status, signal, timeout, reason) = match o {
        Outcome::Running => ("running", None, None, None, None),
        Outcome::Exited(s) => ("exited", Some(*s), None, None, None),
        Outcome::Signaled(s) => ("signaled", None, Some(*s), None, None),
        Outcome::TimedOut(t) => ("timed_out", None, None, Some(*t), None),
        Outcome::NotRun(r) => ("not_run", None, None, None, Some(r.as_str())),
        Outcome::Deferred(r) => ("deferred", None, None, None, Some(r.as_str())),
    };
    vec![
        ("outcome", Json::str(name)),
        ("exit_status", Json::opt(status, Json::int)),
        ("signal", Json::opt(signal, Json::int)),
        ("timeout_seconds", Json::opt(timeout, Json::int)),
        ("reason", Json::opt(reason, Json::str)),
    ]
}

fn history(h: &History) -> Json {
    let last_restart = h.last_restart.as_ref().map(|r| {
        let mut v = vec![
            ("started", time(r.started)),
            ("ended", Json::opt(r.ended, time)),
        ];
        v.extend(outcome(&r.outcome));
        Json::Obj(v)
    });
    Json::Obj(vec![
        ("deaths_total", Json::int(h.deaths)),
        ("restarts_total", Json::int(h.restarts)),
        ("failures_total", Json::int(h.failures)),
        ("retry_overs_total", Json::int(h.retry_overs)),
        ("last_death", Json::opt(h.last_death, time)),
        ("last_restart", last_restart.unwrap_or(Json::Null)),
        ("health_checks_total", Json::int(h.health_checks)),
        ("health_failures_total", Json::int(h.health_failures)),
        ("stalls_total", Json::int(h.stalls)),
        (
            "last_health",
            Json::opt(h.last_health, |(ok, t)| {
                Json::Obj(vec![("healthy", Json::Bool(ok)), ("at", time(t))])
            }),
        ),
    ])
}

fn health_config(h: &psctl::model::Health) -> Json {
    let (kind, target) = match &h.check {
        psctl::model::HealthCheck::Exec(cmd) => ("exec", cmd.clone()),
        psctl::model::HealthCheck::Tcp(addr) => ("tcp", addr.to_string()),
    };
    Json::Obj(vec![
        ("check", Json::str(kind)),
        ("target", Json::Str(target)),
        ("interval_seconds", Json::int(h.interval)),
        ("timeout_seconds", Json::int(h.timeout)),
        ("failures", Json::int(h.failures)),
    ])
}

fn backoff(b: &Backoff) -> Json {
    Json::Obj(vec![
        ("until", time(b.until)),
        ("seconds", Json::int(b.seconds)),
    ])
}

/// One group (spec 7): the counters and state its members share.
fn group(g: &GroupView) -> Json {
    Json::Obj(vec![
        ("name", Json::str(&g.name)),
        (
            "members",
            Json::Arr(g.members.iter().map(|m| Json::str(m)).collect()),
        ),
        ("proc_sts", Json::str(&g.proc_sts)),
        ("state", Json::str(&g.state)),
        ("retry_count", Json::int(g.retry_count)),
        ("restart_count", Json::int(g.restart_count)),
        ("retry_over_act", Json::str(&g.retry_over_act)),
        ("rerun_time", Json::opt(g.rerun_time, time)),
        ("backoff", Json::opt(g.backoff.as_ref(), backoff)),
    ])
}

fn groups(gs: &[GroupView]) -> Json {
    Json::Arr(gs.iter().map(group).collect())
}

fn config(d: &Detail) -> Json {
    Json::Obj(vec![
        ("restart", Json::opt(d.restart.as_deref(), Json::str)),
        ("grace_seconds", Json::int(d.grace)),
        ("retries", Json::int(d.retries)),
        (
            "trusted_users",
            Json::Arr(d.trusted_users.iter().map(|u| Json::str(u)).collect()),
        ),
        ("instances", Json::int(d.ext.instances)),
        ("health", Json::opt(d.ext.health.as_ref(), health_config)),
        ("stop_timeout_seconds", Json::int(d.ext.stop_timeout)),
        ("retry_delay_seconds", Json::int(d.ext.retry_delay)),
    ])
}

/// One entry: the text fields, then configuration and history (`null` in a dump view, which
/// records neither).
fn pent(p: &PentView, d: Option<&Detail>) -> Json {
    Json::Obj(vec![
        ("pname", Json::str(&p.pname)),
        ("pid", Json::int(p.pid)),
        ("retry_count", Json::int(p.retry_count)),
        ("restart_count", Json::int(p.restart_count)),
        ("proc_sts", Json::str(&p.proc_sts)),
        ("retry_over_act", Json::str(&p.retry_over_act)),
        ("rerun_time", Json::opt(p.rerun_time, time)),
        ("pent_id", Json::int(p.pent_id)),
        (
            "monitor_sts",
            Json::str(if p.monitor_on { "on" } else { "off" }),
        ),
        ("config", Json::opt(d, config)),
        ("history", Json::opt(d.map(|d| &d.history), history)),
        (
            "pids",
            Json::Arr(p.ext.pids.iter().map(|&p| Json::int(p)).collect()),
        ),
        ("instances", Json::int(p.ext.instances)),
        ("group", Json::opt(p.ext.group.as_deref(), Json::str)),
        (
            "health",
            Json::opt(p.ext.health_failures, |n| {
                Json::Obj(vec![
                    ("consecutive_failures", Json::int(n)),
                    ("stalled", Json::Bool(p.ext.stalled)),
                ])
            }),
        ),
        ("backoff", Json::opt(p.ext.backoff.as_ref(), backoff)),
    ])
}

/// `show pent json` from a running pcheck.
pub fn pent_document(s: &Snapshot) -> String {
    let entries = s
        .pents
        .iter()
        .zip(&s.details)
        .map(|(p, d)| pent(p, Some(d)))
        .collect();
    Json::Obj(vec![
        ("format", Json::str(FORMAT)),
        ("kind", Json::str("pent")),
        ("source", Json::str("pcheck")),
        ("ipckey", ipckey(s.list.ipckey)),
        ("mypid", Json::int(s.list.pid)),
        ("pfile", Json::str(&s.param.pfile)),
        ("dump", Json::Null),
        ("entries", Json::Arr(entries)),
        ("groups", groups(&s.groups)),
    ])
    .document()
}

/// `show pent --format json` when no pcheck serves the pfile: the last dump, its path and age.
pub fn dump_document(d: &Dump, path: &str, age: i64) -> String {
    Json::Obj(vec![
        ("format", Json::str(FORMAT)),
        ("kind", Json::str("pent")),
        ("source", Json::str("dump")),
        ("ipckey", ipckey(d.ipckey)),
        ("mypid", Json::int(d.pid)),
        ("pfile", Json::str(&d.param.pfile)),
        (
            "dump",
            Json::Obj(vec![
                ("path", Json::str(path)),
                ("written", time(d.written)),
                ("age_seconds", Json::Int(age)),
            ]),
        ),
        (
            "entries",
            Json::Arr(d.pents.iter().map(|p| pent(p, None)).collect()),
        ),
        ("groups", groups(&d.groups)),
    ])
    .document()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_exact_and_safe_to_print() {
        let mut s = String::new();
        string(
            "a\"b\\c\nd\te\x1b[2J\u{7f}\u{9b}\u{202e}日本\u{1F600}",
            &mut s,
        );
        assert_eq!(
            s,
            "\"a\\\"b\\\\c\\nd\\te\\u001b[2J\\u007f\\u009b\\u202e日本\u{1F600}\""
        );
        assert!(!s.chars().any(psctl::escape::is_unsafe));
    }

    #[test]
    fn rfc3339_in_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_169_127_283), "2007-01-18T13:34:43Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        assert_eq!(rfc3339(crate::clock::MAX_DISPLAYED), "9999-12-31T23:59:59Z");
    }

    #[test]
    fn outcome_fields() {
        let d = Detail {
            restart: None,
            grace: 0,
            retries: 0,
            trusted_users: vec!["root".into()],
            ext: crate::report::ConfigExt::default(),
            history: History {
                restarts: 1,
                last_restart: Some(crate::report::LastRestart {
                    started: 0,
                    ended: Some(1),
                    outcome: Outcome::Signaled(9),
                }),
                ..History::default()
            },
        };
        let mut s = String::new();
        config(&d).write(&mut s);
        history(&d.history).write(&mut s);
        assert_eq!(
            s,
            "{\"restart\":null,\"grace_seconds\":0,\"retries\":0,\"trusted_users\":[\"root\"],\
             \"instances\":1,\"health\":null,\"stop_timeout_seconds\":10,\"retry_delay_seconds\":0}\
             {\"deaths_total\":0,\"restarts_total\":1,\"failures_total\":0,\"retry_overs_total\":0,\"last_death\":null,\
             \"last_restart\":{\"started\":{\"unix\":0,\"rfc3339\":\"1970-01-01T00:00:00Z\"},\
             \"ended\":{\"unix\":1,\"rfc3339\":\"1970-01-01T00:00:01Z\"},\"outcome\":\"signaled\",\
             \"exit_status\":null,\"signal\":9,\"timeout_seconds\":null,\"reason\":null},\
             \"health_checks_total\":0,\"health_failures_total\":0,\"stalls_total\":0,\"last_health\":null}"
        );
    }
}

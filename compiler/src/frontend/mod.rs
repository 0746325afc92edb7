//! Front-ends for service descriptions: each turns text into a `serde_json::Value` plus a
//! [`SpanTable`] (JSON pointer -> key span and value span). One pipeline ([`check_document`])
//! then validates the value against the schema, deserializes it and runs the shared rules.

pub mod json;
pub mod json_spans;
pub mod lenient;
pub mod stream;
pub mod toml;
pub mod toml_stream;
pub mod yaml;
pub mod yaml_block;

use std::sync::Arc;

use serde_json::Value;

use crate::description::{self, Converted, Description};
use crate::diagnostics::{codes, Diagnostic};
use crate::model::{Loc, Service, SpanLookup};
use crate::schema;
use crate::span::{SourceFile, Span};
pub use crate::spans::{escape_segment, LazySpans, NodeId, SpanTable};

/// Documents nest at most this deep; deeper input is rejected before it can hurt.
pub const MAX_DEPTH: usize = 64;

/// The message for a document nested deeper than [`MAX_DEPTH`], the same in every format.
pub fn too_deep_message() -> String {
    format!("the document nests deeper than {MAX_DEPTH} levels")
}

/// The JSON pointer of a model location in a description.
pub fn pointer(loc: Loc) -> String {
    let p = |i: usize, rest: &str| format!("/processes/{i}{rest}");
    match loc {
        Loc::Document => String::new(),
        Loc::Name => "/name".into(),
        Loc::IpcKey => "/ipckey".into(),
        Loc::MsgCheckInterval => "/msg_check_interval".into(),
        Loc::MonitorInterval => "/monitor_interval".into(),
        Loc::MonitorTryCount => "/monitor_try_count".into(),
        Loc::DumpFile => "/dump_file".into(),
        Loc::ConfDir => "/conf_dir".into(),
        Loc::Processes => "/processes".into(),
        Loc::Process(i) => p(i, ""),
        Loc::ProcessName(i) => p(i, "/name"),
        Loc::Restart(i) => p(i, "/restart"),
        Loc::RestartStop(i) => p(i, "/restart/stop"),
        Loc::RestartStart(i) => p(i, "/restart/start"),
        Loc::RestartWait(i) => p(i, "/restart/wait"),
        Loc::Grace(i) => p(i, "/grace"),
        Loc::Retries(i) => p(i, "/retries"),
        Loc::OnRetryOver(i) => p(i, "/on_retry_over"),
        Loc::User(i) => p(i, "/user"),
        Loc::Instances(i) => p(i, "/instances"),
        Loc::Health(i) => p(i, "/health"),
        Loc::HealthCheck(i) => p(i, "/health"),
        Loc::HealthInterval(i) => p(i, "/health/interval"),
        Loc::HealthTimeout(i) => p(i, "/health/timeout"),
        Loc::HealthFailures(i) => p(i, "/health/failures"),
        Loc::StopTimeout(i) => p(i, "/stop_timeout"),
        Loc::RetryDelay(i) => p(i, "/retry_delay"),
        // A description names members in the group, not in the entry.
        Loc::Group(i) => p(i, ""),
        Loc::Groups => "/groups".into(),
        Loc::GroupEntry(g) => format!("/groups/{g}"),
        Loc::GroupName(g) => format!("/groups/{g}/name"),
        Loc::GroupMember(g, m) => format!("/groups/{g}/members/{m}"),
        Loc::GroupRestart(g) => format!("/groups/{g}/restart"),
        Loc::GroupGrace(g) => format!("/groups/{g}/grace"),
        Loc::GroupRetries(g) => format!("/groups/{g}/retries"),
        Loc::GroupOnRetryOver(g) => format!("/groups/{g}/on_retry_over"),
    }
}

impl SpanLookup for LazySpans {
    fn span(&self, loc: Loc) -> Span {
        self.get().span(loc)
    }

    fn key_span(&self, loc: Loc) -> Span {
        SpanLookup::key_span(self.get(), loc)
    }
}

impl SpanLookup for SpanTable {
    fn span(&self, loc: Loc) -> Span {
        let ptr = pointer(loc);
        // A script restart is written `restart: {script: ...}`, a health check `health: {exec:
        // ...}` or `{tcp: ...}`: point at the script or check itself.
        let inner: &[&str] = match loc {
            Loc::Restart(_) | Loc::GroupRestart(_) => &["/script"],
            Loc::HealthCheck(_) => &["/exec", "/tcp"],
            _ => &[],
        };
        for sub in inner {
            let at = format!("{ptr}{sub}");
            if self.contains(&at) {
                return self.value_span(&at);
            }
        }
        self.value_span(&ptr)
    }

    fn key_span(&self, loc: Loc) -> Span {
        SpanTable::key_span(self, &pointer(loc))
    }
}

/// What a front-end produces: the document (if it could be read) and its spans.
pub struct Document {
    pub value: Option<Value>,
    pub spans: SpanTable,
    pub diagnostics: Vec<Diagnostic>,
}

/// Validates a parsed document and lowers it into the model.
pub fn check_document(doc: Value, spans: &LazySpans, src: &Arc<SourceFile>) -> Outcome {
    let diags = schema::validate(&doc, spans, src);
    check_validated(doc, diags, Converted::default(), &[], spans, src)
}

/// [`check_document`] after the schema has said `diags`, for a document whose entries after
/// its first were converted ahead into `more`, those the schema rejects also kept in
/// `rejected` with their index (`stream`; none otherwise).
pub fn check_validated(
    doc: Value,
    mut diags: Vec<Diagnostic>,
    more: Converted,
    rejected: &[(usize, Value)],
    spans: &LazySpans,
    src: &Arc<SourceFile>,
) -> Outcome {
    // JSON Schema counts 1000.0 as an integer, serde does not: no field takes a fraction, so
    // every float is reported here, where its place is known.
    let reported: std::collections::HashSet<Span> =
        diags.iter().filter_map(Diagnostic::primary_span).collect();
    for ptr in find_floats(&doc, rejected) {
        let span = spans.get().value_span(&ptr);
        if reported.contains(&span) {
            continue; // the schema already said what is wrong with this value
        }
        diags.push(
            Diagnostic::error(
                codes::SCHEMA_TYPE,
                format!(
                    "{} must be a whole number, not a floating-point number",
                    schema::field_name(&ptr)
                ),
            )
            .with_label(span, "not a whole number")
            .with_help("write an integer such as `3` (durations may also be strings like `90s`)")
            .in_file(src),
        );
    }
    if diags.iter().any(|d| d.code == codes::TOO_MANY_ERRORS) {
        return Outcome {
            service: None,
            diagnostics: diags,
        };
    }
    if !diags.is_empty() {
        // Still run the semantic rules on what can be read, reporting only what the schema
        // errors do not already cover.
        let desc = lenient::description(&doc);
        let (_, more) = description::to_service_with(desc, more, spans, src);
        let coverage = lenient::Coverage::new(&diags);
        let more: Vec<Diagnostic> = more.into_iter().filter(|d| !coverage.covers(d)).collect();
        diags.extend(more);
        crate::diagnostics::cap(&mut diags, src);
        return Outcome {
            service: None,
            diagnostics: diags,
        };
    }
    // Taken by value: the value is freed as the description is built from it.
    let desc: Description = match serde_json::from_value(doc) {
        Ok(d) => d,
        Err(e) => {
            // The schema accepts only what deserializes; reaching this is a schema bug, still
            // reported rather than panicking.
            diags.push(
                Diagnostic::error(codes::SCHEMA_INVALID, format!("invalid description: {e}"))
                    .with_span(spans.get().value_span(""))
                    .in_file(src),
            );
            return Outcome {
                service: None,
                diagnostics: diags,
            };
        }
    };
    let (service, more) = description::to_service_with(desc, more, spans, src);
    diags.extend(more);
    Outcome {
        service,
        diagnostics: diags,
    }
}

/// Pointers of the numbers in `v` that are not integers, at the fields a description has
/// (anything else is an unknown key, which the schema reports). Pointers are built from known
/// keys only, so they stay short however long the input's own keys are.
fn find_floats(v: &Value, more: &[(usize, Value)]) -> Vec<String> {
    let mut out = Vec::new();
    use description::{PROCESS_KEYS, RESTART_KEYS, SERVICE_KEYS};
    let is_float = |x: &Value| matches!(x, Value::Number(n) if !n.is_i64() && !n.is_u64());
    let fields = |obj: &Value, keys: &[&str], ptr: &str, out: &mut Vec<String>| {
        for k in keys {
            if obj.get(k).is_some_and(is_float) {
                out.push(format!("{ptr}/{k}"));
            }
        }
    };
    if is_float(v) {
        out.push(String::new());
    }
    fields(v, SERVICE_KEYS, "", &mut out);
    let Some(procs) = v.get("processes").and_then(Value::as_array) else {
        return out;
    };
    for (i, p) in procs
        .iter()
        .enumerate()
        .chain(more.iter().map(|(i, p)| (*i, p)))
    {
        let at = format!("/processes/{i}");
        if is_float(p) {
            out.push(at.clone());
        }
        fields(p, PROCESS_KEYS, &at, &mut out);
        if let Some(r) = p.get("restart") {
            fields(r, RESTART_KEYS, &format!("{at}/restart"), &mut out);
        }
    }
    out
}

pub struct Outcome {
    pub service: Option<Service>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Converts a char index (as YAML markers count) into byte offsets of `text`.
pub struct CharIndex<'a> {
    text: &'a str,
    /// `None` when the text is ASCII and chars are bytes.
    offsets: Option<Vec<usize>>,
}

impl<'a> CharIndex<'a> {
    pub fn new(text: &'a str) -> CharIndex<'a> {
        let offsets = (!text.is_ascii()).then(|| text.char_indices().map(|(i, _)| i).collect());
        CharIndex { text, offsets }
    }

    pub fn byte(&self, char_index: usize) -> usize {
        match &self.offsets {
            None => char_index.min(self.text.len()),
            Some(o) => o.get(char_index).copied().unwrap_or(self.text.len()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Restart};

    fn load(name: &str, text: &str) -> (Option<Service>, Vec<Diagnostic>, SpanTable) {
        let src = SourceFile::new(name, text);
        let doc = if name.ends_with(".toml") {
            toml::parse(&src)
        } else if name.ends_with(".json") {
            json::parse(&src)
        } else {
            yaml::parse(&src)
        };
        let mut diags = doc.diagnostics;
        let spans = LazySpans::ready(doc.spans);
        let out = check_document(doc.value.unwrap(), &spans, &src);
        diags.extend(out.diagnostics);
        (out.service, diags, spans.get().clone())
    }

    const WEB: &str = include_str!("../../../examples/webstack.yaml");
    const WEB_TOML: &str = include_str!("../../../examples/webstack.toml");

    #[test]
    fn webstack_converts_with_all_three_restart_forms() {
        let (svc, diags, _) = load("webstack.yaml", WEB);
        assert!(diags.is_empty(), "{diags:?}");
        let svc = svc.unwrap();
        assert_eq!(svc.ipckey, 0x1f000600);
        assert_eq!(svc.monitor_interval, 30);
        assert_eq!(svc.msg_check_interval, 5);
        assert_eq!(svc.monitor_try_count, 3);
        assert_eq!(
            svc.dump_file.as_deref(),
            Some("/var/opt/HA/PS/log/pcheck_dump_webstack")
        );
        let p = &svc.processes;
        assert_eq!(p.len(), 4);
        assert_eq!(
            p[0].restart,
            Restart::commands("systemctl stop nginx", "systemctl start nginx", 5)
        );
        assert_eq!(
            (p[0].grace, p[0].retries, p[0].on_retry_over),
            (3600, 5, Action::Exit)
        );
        assert_eq!(
            p[1].restart,
            Restart::Script("/var/opt/HA/PS/conf/bin/restart_sshd.sh".into())
        );
        assert_eq!((p[1].grace, p[1].on_retry_over), (43_200, Action::Continue));
        assert_eq!(p[2].grace, 0);
        assert_eq!(p[3].restart, Restart::None);
        assert_eq!((p[3].grace, p[3].retries), (86_400, 3));
        // The TOML spelling is the same service.
        let (toml_svc, diags, _) = load("webstack.toml", WEB_TOML);
        assert!(diags.is_empty(), "{diags:?}");
        assert_eq!(toml_svc.unwrap(), svc);
    }

    #[test]
    fn spans_point_at_keys_and_values() {
        let text = "name: web\nprocesses:\n  - name: \"a b\"\n    grace: 1d\n";
        let (_, _, spans) = load("x.yaml", text);
        let src = SourceFile::new("x", text);
        assert_eq!(src.slice(spans.key_span("/processes/0/grace")), "grace");
        assert_eq!(src.slice(spans.value_span("/processes/0/grace")), "1d");
        assert_eq!(src.slice(spans.value_span("/processes/0/name")), "\"a b\"");
        assert_eq!(src.slice(spans.key_span("/name")), "name");
        // Unknown pointers fall back to their nearest ancestor.
        assert_eq!(
            spans.value_span("/processes/0/grace/x"),
            spans.value_span("/processes/0/grace")
        );
        let text = "name = \"web\"\n[[processes]]\nname = \"é\"\ngrace = \"1d\"\n";
        let (_, _, spans) = load("x.toml", text);
        let src = SourceFile::new("x", text);
        assert_eq!(src.slice(spans.key_span("/processes/0/grace")), "grace");
        assert_eq!(src.slice(spans.value_span("/processes/0/grace")), "\"1d\"");
        let text = "{\"name\": \"wéb\", \"ipckey\": 5}";
        let (_, _, spans) = load("x.json", text);
        let src = SourceFile::new("x", text);
        assert_eq!(src.slice(spans.key_span("/ipckey")), "\"ipckey\"");
        assert_eq!(src.slice(spans.value_span("/ipckey")), "5");
    }

    #[test]
    fn semantic_rules_run_after_the_schema_with_spans() {
        let text = "name: web\nipckey: \"0x10\"\nmonitor_interval: 500ms\nprocesses:\n  - name: a\n  - name: a\n    restart: {stop: x, start: y, wait: 2h}\n";
        let (svc, diags, _) = load("x.yaml", text);
        assert!(svc.is_none());
        let src = SourceFile::new("x", text);
        let got: Vec<(&str, usize, usize)> = diags
            .iter()
            .map(|d| {
                let lc = src.line_col(d.primary_span().unwrap().start);
                (d.code.id, lc.line, lc.column)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("psctl::value::invalid_duration", 3, 19),
                ("psctl::value::out_of_range", 7, 40),
                ("psctl::entry::duplicate_pname", 6, 11),
            ]
        );
    }

    #[test]
    fn schema_and_semantic_problems_are_reported_in_one_run_without_repeats() {
        let text = "name: web\nipckey: 0\nmonitor_interval: 500ms\nbogus: 1\nprocesses:\n  - name: a\n  - name: a\n    retries: x\n  - grace: 1d\n";
        let (svc, diags, _) = load("x.yaml", text);
        assert!(svc.is_none());
        let src = SourceFile::new("x", text);
        let mut got: Vec<(&str, usize)> = diags
            .iter()
            .map(|d| {
                (
                    d.code.id,
                    src.line_col(d.primary_span().unwrap().start).line,
                )
            })
            .collect();
        got.sort_by_key(|g| g.1);
        assert_eq!(
            got,
            [
                ("psctl::value::out_of_range", 2),
                ("psctl::value::invalid_duration", 3),
                ("psctl::schema::unknown_key", 4),
                ("psctl::entry::duplicate_pname", 7),
                ("psctl::schema::type", 8),
                ("psctl::schema::required", 9),
            ]
        );
    }

    #[test]
    fn durations_follow_the_spec_grammar_and_say_their_limits() {
        for bad in ["1h 30m", "10 sec", "1month", "1 hour", "1w", "500ms", "10x"] {
            let text = format!("name: web\nipckey: 1\nprocesses:\n  - name: a\n    grace: {bad}\n");
            let (svc, diags, _) = load("x.yaml", &text);
            assert!(svc.is_none(), "{bad}");
            assert_eq!(diags.len(), 1, "{bad}: {diags:?}");
            assert_eq!(diags[0].code, codes::INVALID_DURATION, "{bad}");
            let help = diags[0].help.as_deref().unwrap();
            assert!(help.contains("`90s`, `10m`, `12h`, `1d`"), "{help}");
            assert!(help.contains("0 s to 365 d"), "{help}");
            assert!(!help.contains("ns") && !help.contains("years"), "{help}");
        }
        let text = "name: web\nipckey: 1\nmonitor_interval: 2d\nprocesses:\n  - name: a\n";
        let (_, diags, _) = load("x.yaml", text);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert_eq!(
            diags[0].message,
            "monitor_interval must be 1 s to 1 d, not `2d`"
        );
    }

    #[test]
    fn remove_the_quotes_only_around_a_number() {
        let help = |v: &str| {
            let text = format!("name: web\nipckey: 1\nprocesses:\n  - name: a\n    retries: {v}\n");
            let (_, diags, _) = load("x.yaml", &text);
            assert_eq!(diags.len(), 1, "{v}: {diags:?}");
            diags[0].help.clone().unwrap()
        };
        assert_eq!(help("\"3\""), "remove the quotes");
        assert_eq!(help("'3'"), "remove the quotes");
        assert_ne!(help("three"), "remove the quotes");
        assert_ne!(help("\"three\""), "remove the quotes");
    }
}

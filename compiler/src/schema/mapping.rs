//! The one place that maps JSON Schema errors to diagnostic codes, messages and spans: unknown
//! and missing keys point at keys, everything else at the offending value.

use std::sync::Arc;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::ValidationError;
use serde_json::Value;

use crate::description::{GROUP_KEYS, HEALTH_KEYS, PROCESS_KEYS, RESTART_KEYS, SERVICE_KEYS};
use crate::diagnostics::{codes, Code, Diagnostic};
use crate::model::limits;
use crate::span::SourceFile;
use crate::spans::SpanTable;
use crate::suggestion::{suggest, Closeness, Suggestion};

/// The field a pointer names, for messages: `processes[0].restart`.
pub fn field_name(ptr: &str) -> String {
    if ptr.is_empty() {
        return "the document".into();
    }
    let mut s = String::new();
    for seg in ptr.split('/').skip(1) {
        if seg.bytes().all(|b| b.is_ascii_digit()) {
            s.push_str(&format!("[{seg}]"));
        } else {
            if !s.is_empty() {
                s.push('.');
            }
            s.push_str(&seg.replace("~1", "/").replace("~0", "~"));
        }
    }
    format!("`{s}`")
}

/// A value for a message, cut short so that a 1 MB string does not become a 1 MB message.
fn brief(v: &Value) -> String {
    let text = v.to_string();
    match text.char_indices().nth(40) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text,
    }
}

/// A string for a message, quoted and escaped like JSON and cut short like [`brief`].
pub fn brief_str(s: &str) -> String {
    let short: String = s.chars().take(41).collect();
    brief(&Value::String(short))
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "an integer",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

fn closest<'a>(word: &str, candidates: &[&'a str]) -> Option<Suggestion<'a>> {
    suggest(word, candidates, Closeness::Loose)
}

/// Known keys of the object at `ptr`.
fn keys_at(ptr: &str) -> &'static [&'static str] {
    let mut segs = ptr.split('/').skip(1);
    match (segs.next(), segs.next(), segs.next(), segs.next()) {
        (None, ..) => SERVICE_KEYS,
        (Some("processes"), Some(_), None, _) => PROCESS_KEYS,
        (Some("processes"), Some(_), Some("health"), None) => HEALTH_KEYS,
        (Some("groups"), Some(_), None, _) => GROUP_KEYS,
        _ => RESTART_KEYS,
    }
}

struct Ctx<'a> {
    ptr: &'a str,
    spans: &'a SpanTable,
    src: &'a Arc<SourceFile>,
}

impl Ctx<'_> {
    fn at_value(&self, code: Code, msg: String, label: &str) -> Diagnostic {
        Diagnostic::error(code, msg)
            .with_label(self.spans.value_span(self.ptr), label)
            .in_file(self.src)
    }

    fn unknown_key(&self, key: &str) -> Diagnostic {
        let kp = format!("{}/{}", self.ptr, crate::spans::escape_segment(key));
        let known = keys_at(self.ptr);
        let mut d = Diagnostic::error(codes::SCHEMA_UNKNOWN_KEY, format!("unknown key `{key}`"))
            .with_label(self.spans.key_span(&kp), "not a known key")
            .in_file(self.src);
        d = match closest(key, known) {
            Some(best) => d.with_help(best.to_string()),
            None => d.with_help(format!("known keys here: {}", known.join(", "))),
        };
        d
    }

    fn required(&self, key: &str) -> Diagnostic {
        let where_ = if self.ptr.is_empty() {
            "the description".to_owned()
        } else {
            field_name(self.ptr)
        };
        // Point at the key that holds the incomplete mapping; for the root, at its start.
        let span = if self.ptr.is_empty() {
            let s = self.spans.value_span("");
            crate::span::Span::new(s.start, s.start)
        } else {
            // A list item has no key: its mapping's first line stands for it.
            let s = self.spans.key_span(self.ptr);
            let text = self.src.text().get(s.start..s.end).unwrap_or("");
            let first_line = text.find('\n').map_or(s.end, |n| s.start + n);
            crate::span::Span::new(s.start, first_line.max(s.start))
        };
        Diagnostic::error(
            codes::SCHEMA_REQUIRED,
            format!("{where_} is missing the required key `{key}`"),
        )
        .with_label(span, format!("`{key}` missing here"))
        .in_file(self.src)
    }
}

/// The diagnostics of one schema error at `ptr`, the JSON pointer of its value in the whole
/// document (a list item is validated on its own: the error's own path starts at the item).
/// At most `limit` of them: one error may name a million unknown keys.
pub(super) fn map_error(
    err: &ValidationError<'_>,
    ptr: &str,
    spans: &SpanTable,
    src: &Arc<SourceFile>,
    limit: usize,
) -> Vec<Diagnostic> {
    let c = Ctx { ptr, spans, src };
    let inst = err.instance();
    let field = field_name(ptr);
    let last = ptr.rsplit('/').next().unwrap_or("");
    let d = match err.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } => {
            return unexpected
                .iter()
                .take(limit)
                .map(|k| c.unknown_key(k))
                .collect();
        }
        ValidationErrorKind::Required { property } => {
            c.required(property.as_str().unwrap_or_default())
        }
        ValidationErrorKind::Type { kind } => {
            let expected = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => format!("{set:?}"),
            };
            let expected = match expected.as_str() {
                "object" => "a mapping".to_owned(),
                "array" => "a list".to_owned(),
                "integer" => "an integer".to_owned(),
                other => format!("a {other}"),
            };
            let mut d = c.at_value(
                codes::SCHEMA_TYPE,
                format!("{field} must be {expected}, not {}", type_name(inst)),
                &format!("expected {expected}"),
            );
            if expected == "an integer" {
                // "Remove the quotes" only helps when there are quotes around a number.
                let quoted = c
                    .src
                    .text()
                    .get(c.spans.value_span(ptr).start..)
                    .is_some_and(|t| t.starts_with(['"', '\'']));
                let numeric = inst.as_str().is_some_and(|s| s.parse::<u64>().is_ok());
                d = d.with_help(if quoted && numeric {
                    "remove the quotes"
                } else {
                    "write a whole number such as `3`"
                });
            }
            d
        }
        ValidationErrorKind::Enum { options } => {
            let words: Vec<&str> = options
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let mut d = c.at_value(
                codes::SCHEMA_ENUM,
                format!(
                    "{field} must be one of {}, not {}",
                    words.join(", "),
                    brief(inst)
                ),
                "not an allowed word",
            );
            if let Some(best) = inst
                .as_str()
                .and_then(|s| closest(&s.to_lowercase(), &words))
            {
                d = d.with_help(best.to_string());
            }
            d
        }
        ValidationErrorKind::AnyOf { .. }
        | ValidationErrorKind::OneOfNotValid { .. }
        | ValidationErrorKind::OneOfMultipleValid { .. } => {
            return alternatives(&c, last, inst, &field, limit);
        }
        ValidationErrorKind::Minimum { .. } | ValidationErrorKind::Maximum { .. } => {
            // The field's own range (crate::fields); the schema's limit otherwise.
            let (lo, hi) = match crate::fields::by_key_name(last).and_then(|f| f.range.clone()) {
                Some(r) => r.into_inner(),
                None => schema_limits(err.kind()),
            };
            c.at_value(
                codes::OUT_OF_RANGE,
                format!("{field} must be between {lo} and {hi}, not {}", brief(inst)),
                "out of range",
            )
        }
        ValidationErrorKind::Pattern { .. } if ptr != "/name" => {
            match pattern_problem(&c, last, inst.as_str().unwrap_or_default()) {
                Some(d) => d,
                None => c.at_value(
                    codes::SCHEMA_INVALID,
                    format!("{field} is not valid: {}", brief(inst)),
                    "invalid",
                ),
            }
        }
        ValidationErrorKind::Pattern { .. } => c
            .at_value(
                codes::INVALID_NAME,
                format!("the service name {} is not valid", brief(inst)),
                "not [a-z0-9][a-z0-9_-]*",
            )
            .with_help(
                "use lower-case letters, digits, `_` and `-`, starting with a letter or digit",
            ),
        ValidationErrorKind::MinItems { .. } if ptr.ends_with("/members") => c
            .at_value(
                codes::GROUP_NO_MEMBERS,
                format!("{field} is empty: a group has at least one member"),
                "empty list",
            )
            .with_help("list the names of processes of this description, or remove the group"),
        ValidationErrorKind::MinItems { .. } if ptr == "/processes" => c
            .at_value(
                codes::SCHEMA_INVALID,
                "`processes` must list at least one process".into(),
                "empty list",
            )
            .with_help("a pcheck with nothing to watch is a mistake"),
        ValidationErrorKind::MaxLength { limit } => c.at_value(
            codes::SCHEMA_INVALID,
            format!("{field} is longer than {limit} characters"),
            "too long",
        ),
        _ => {
            let mut msg = err.to_string();
            if let Some((at, _)) = msg.char_indices().nth(200) {
                msg = format!("{}...", &msg[..at]);
            }
            c.at_value(codes::SCHEMA_INVALID, format!("{field}: {msg}"), "invalid")
        }
    };
    vec![d]
}

/// The bounds a `minimum`/`maximum` error names, for a field the descriptor table lacks.
fn schema_limits(kind: &ValidationErrorKind) -> (u64, u64) {
    match kind {
        ValidationErrorKind::Minimum { limit } => (limit.as_u64().unwrap_or(0), u64::MAX),
        ValidationErrorKind::Maximum { limit } => (0, limit.as_u64().unwrap_or(u64::MAX)),
        _ => (0, u64::MAX),
    }
}

/// Errors of fields with several accepted forms: ipckey, durations, restart.
fn alternatives(
    c: &Ctx<'_>,
    last: &str,
    inst: &Value,
    field: &str,
    limit: usize,
) -> Vec<Diagnostic> {
    match last {
        "ipckey" => {
            let hex = inst.as_str().and_then(|s| {
                let h = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X"))?;
                (!h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit())).then_some(s)
            });
            if inst.is_i64() || inst.is_u64() || hex.is_some() {
                let (lo, hi) = limits::IPCKEY.into_inner();
                let given = hex.map_or_else(|| inst.to_string(), |h| format!("`{h}`"));
                return vec![c
                    .at_value(
                        codes::OUT_OF_RANGE,
                        format!("ipckey must be between {lo:#x} and {hi:#x}, not {given}"),
                        "out of range",
                    )
                    .with_help("a string \"0x...\" has 1 to 8 hex digits")];
            }
            vec![c
                .at_value(
                    codes::SCHEMA_FORM,
                    format!(
                        "ipckey must be an integer or a \"0x...\" string, not {}",
                        brief(inst)
                    ),
                    "not an IPC key",
                )
                .with_help("for example `ipckey: 0x1f000501`")]
        }
        "restart" => restart(c, inst, field, limit),
        "health" => vec![health(c, inst)],
        _ => vec![duration(c, last, inst, field)],
    }
}

/// A health mapping with no check or two: said as the conversion says it, so that its report
/// of the same problem is recognized as a repeat.
fn health(c: &Ctx<'_>, inst: &Value) -> Diagnostic {
    let has = |k: &str| inst.get(k).is_some();
    if has("exec") && has("tcp") {
        c.at_value(
            codes::HEALTH_TWO_CHECKS,
            "the health check has both `exec` and `tcp`".into(),
            "two checks",
        )
        .with_help("keep either `exec` or `tcp`")
    } else {
        c.at_value(
            codes::HEALTH_NO_CHECK,
            "the health check has neither `exec` nor `tcp`".into(),
            "no check here",
        )
        .with_help("add `exec: /path/to/check` or `tcp: 127.0.0.1:80`, or remove `health`")
    }
}

/// A duration the schema rejected: out of the field's range, or not of the grammar.
fn duration(c: &Ctx<'_>, last: &str, inst: &Value, field: &str) -> Diagnostic {
    use crate::duration::{self, human_range};
    let range = crate::fields::by_key_name(last)
        .and_then(|f| f.range.clone())
        .unwrap_or(limits::WAIT);
    let limits = human_range(&range);
    let in_grammar = inst.as_str().is_some_and(|s| duration::parse(s).is_ok());
    if inst.is_u64() || inst.is_i64() || in_grammar {
        let given = match inst.as_str() {
            Some(s) => format!("`{s}`"),
            None => format!("{inst} (seconds)"),
        };
        return c.at_value(
            codes::OUT_OF_RANGE,
            format!("{field} must be {limits}, not {given}"),
            "out of range",
        );
    }
    let code = if inst.is_string() {
        codes::INVALID_DURATION
    } else {
        codes::SCHEMA_FORM
    };
    c.at_value(
        code,
        format!(
            "{field} is not a valid duration: {} is not a duration",
            brief(inst)
        ),
        "not a duration",
    )
    .with_help(format!(
        "write {}; {field} may be {limits}",
        duration::FORMS
    ))
}

fn restart(c: &Ctx<'_>, inst: &Value, field: &str, limit: usize) -> Vec<Diagnostic> {
    let forms = "`none`, `{script: PATH}` or `{stop: CMD, start: CMD, wait: DURATION}`";
    match inst {
        Value::Object(m) => {
            let unknown: Vec<Diagnostic> = m
                .keys()
                .filter(|k| !RESTART_KEYS.contains(&k.as_str()))
                .take(limit)
                .map(|k| c.unknown_key(k))
                .collect();
            if !unknown.is_empty() {
                return unknown;
            }
            let has = |k: &str| m.contains_key(k);
            if has("script") && (has("stop") || has("start") || has("wait")) {
                return vec![Diagnostic::error(
                    codes::SCHEMA_FORM,
                    format!("{field} mixes `script` with `stop`/`start`/`wait`"),
                )
                .with_label(c.spans.key_span(c.ptr), "two restart forms")
                .with_help("use either an existing script or stop/start commands")
                .in_file(c.src)];
            }
            if !has("script") {
                for k in ["stop", "start"] {
                    if !has(k) {
                        return vec![c.required(k)];
                    }
                }
            }
            for (k, v) in m {
                let ok = match k.as_str() {
                    "wait" => v.is_string() || v.as_u64().is_some(),
                    _ => v.is_string(),
                };
                if !ok {
                    let sub = Ctx {
                        ptr: &format!("{}/{k}", c.ptr),
                        spans: c.spans,
                        src: c.src,
                    };
                    let want = if k == "wait" {
                        "whole seconds or a duration string"
                    } else {
                        "a string"
                    };
                    return vec![sub.at_value(
                        codes::SCHEMA_TYPE,
                        format!("{field}.{k} must be {want}, not {}", type_name(v)),
                        "wrong type",
                    )];
                }
            }
            // The form is right: one of its values breaks its own rule.
            let found: Vec<Diagnostic> = m
                .iter()
                .filter_map(|(k, v)| {
                    let ptr = format!("{}/{k}", c.ptr);
                    let sub = Ctx {
                        ptr: &ptr,
                        spans: c.spans,
                        src: c.src,
                    };
                    let sub_field = field_name(&ptr);
                    match k.as_str() {
                        "wait" => {
                            let ok = match v {
                                Value::String(s) => crate::duration::parse(s).ok(),
                                _ => v.as_u64(),
                            }
                            .is_some_and(|n| limits::WAIT.contains(&n));
                            (!ok).then(|| duration(&sub, "wait", v, &sub_field))
                        }
                        _ => pattern_problem(&sub, k, v.as_str().unwrap_or_default()),
                    }
                })
                .collect();
            if !found.is_empty() {
                return found;
            }
            vec![c.at_value(
                codes::SCHEMA_FORM,
                format!("{field} must be {forms}"),
                "not a restart form",
            )]
        }
        Value::String(s) => {
            let mut d = c.at_value(
                codes::SCHEMA_ENUM,
                format!("{field} must be {forms}, not \"{s}\""),
                "not a restart form",
            );
            if s.starts_with('/') {
                d = d.with_help(format!(
                    "to run an existing script write `restart: {{script: {s}}}`"
                ));
            } else if let Some(best) = closest(&s.to_lowercase(), &["none"]) {
                d = d.with_help(best.to_string());
            }
            vec![d]
        }
        _ => vec![c.at_value(
            codes::SCHEMA_FORM,
            format!("{field} must be {forms}, not {}", type_name(inst)),
            "not a restart form",
        )],
    }
}

/// A string field that breaks its pattern, said as psctl's own rules say it (so that the
/// semantic pass, which finds the same problem, is recognized as a repeat and dropped).
fn pattern_problem(c: &Ctx<'_>, key: &str, s: &str) -> Option<Diagnostic> {
    use crate::rules;
    let (code, msg, label): (Code, String, &str) = match key {
        "name" if c.ptr.starts_with("/groups/") => (
            codes::GROUP_INVALID_NAME,
            format!("group name {} is not valid", brief_str(s)),
            "not [a-z0-9][a-z0-9_-]*",
        ),
        "exec" => (
            codes::INVALID_HEALTH_CHECK,
            rules::health_exec_problem(s)?.to_owned(),
            "invalid health check",
        ),
        "tcp" => (
            codes::INVALID_HEALTH_CHECK,
            format!(
                "health.tcp {}: {}",
                brief_str(s),
                crate::pfile::pent::parse_tcp(s, ':').err()?
            ),
            "not an address and port",
        ),
        "name" => (
            codes::INVALID_PNAME,
            rules::pname_problem(s)?.to_owned(),
            "invalid process name",
        ),
        "script" => (
            codes::INVALID_RESTART,
            rules::restart_command_problem(s)?.to_owned(),
            "invalid restart",
        ),
        "stop" | "start" => (
            codes::INVALID_RESTART,
            rules::stop_start_problem(s)?.to_owned(),
            "invalid command",
        ),
        "conf_dir" | "dump_file" if !s.starts_with('/') => {
            let what = if key == "conf_dir" {
                "conf_dir"
            } else {
                "the dump file"
            };
            (
                codes::NOT_ABSOLUTE,
                format!("{what} {} is not an absolute path", brief_str(s)),
                "not absolute",
            )
        }
        "conf_dir" | "dump_file" => {
            let what = if key == "conf_dir" {
                "conf_dir"
            } else {
                "the dump file"
            };
            (
                codes::INVALID_PATH,
                format!(
                    "{what} `{}` contains a control character",
                    crate::escape::for_display(s)
                ),
                "control character",
            )
        }
        _ => return None,
    };
    Some(c.at_value(code, msg, label))
}

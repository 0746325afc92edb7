//! A best-effort description from a document that failed schema validation, so that the
//! semantic rules can still report their findings in the same run (spec: every problem of a
//! run is reported). Fields that do not deserialize take their default; the caller drops
//! semantic diagnostics that fall inside a schema error's span, so a placeholder never causes
//! a second report of the same problem.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::description::{Description, DurationValue, IpcKey, ProcessDesc};
use crate::diagnostics::Diagnostic;

fn field<T: DeserializeOwned>(v: &Value, key: &str) -> Option<T> {
    v.get(key).and_then(|x| T::deserialize(x).ok())
}

/// An entry with every field at its default (what [`process`] starts from).
pub fn base_process() -> ProcessDesc {
    serde_json::from_value(serde_json::json!({"name": ""})).expect("minimal process")
}

/// Entry `p` of `processes`, with `base`'s defaults where it does not fit the types.
pub fn process(p: &Value, base: &ProcessDesc) -> ProcessDesc {
    ProcessDesc {
        name: field(p, "name").unwrap_or_default(),
        restart: field(p, "restart").unwrap_or_else(|| base.restart.clone()),
        grace: field(p, "grace").unwrap_or_else(|| base.grace.clone()),
        retries: field(p, "retries").unwrap_or(base.retries),
        on_retry_over: field(p, "on_retry_over").unwrap_or(base.on_retry_over),
        user: field(p, "user").unwrap_or_default(),
        instances: field(p, "instances").unwrap_or(base.instances),
        health: field(p, "health"),
        stop_timeout: field(p, "stop_timeout").unwrap_or_else(|| base.stop_timeout.clone()),
        retry_delay: field(p, "retry_delay").unwrap_or_else(|| base.retry_delay.clone()),
    }
}

/// The description, with defaults where `doc` does not fit the types.
pub fn description(doc: &Value) -> Description {
    // Defaults come from deserializing a minimal valid document, so they stay in one place.
    let base: Description = serde_json::from_value(serde_json::json!({
        "name": "x", "ipckey": 1, "processes": []
    }))
    .expect("the minimal description is valid");
    let base_proc = base_process();
    let duration = |key: &str, d: &DurationValue| field(doc, key).unwrap_or_else(|| d.clone());
    let processes = doc
        .get("processes")
        .and_then(Value::as_array)
        .map(|items| items.iter().map(|p| process(p, &base_proc)).collect())
        .unwrap_or_default();
    Description {
        schema: None,
        name: field(doc, "name").unwrap_or_default(),
        ipckey: field(doc, "ipckey").unwrap_or(IpcKey::Number(1)),
        msg_check_interval: duration("msg_check_interval", &base.msg_check_interval),
        monitor_interval: duration("monitor_interval", &base.monitor_interval),
        monitor_try_count: field(doc, "monitor_try_count").unwrap_or(base.monitor_try_count),
        dump_file: field(doc, "dump_file"),
        conf_dir: field(doc, "conf_dir").unwrap_or(base.conf_dir),
        processes,
        groups: field(doc, "groups").unwrap_or_default(),
    }
}

/// The primary spans of the schema errors, for [`Coverage::covers`]: sorted by start, with
/// the largest end so far, so that each question takes a binary search (asking each semantic
/// diagnostic against every schema error was quadratic: 40,000 list items took 26 s).
pub struct Coverage {
    /// (start, end, largest end among this and all earlier entries)
    spans: Vec<(usize, usize, usize)>,
}

impl Coverage {
    pub fn new(schema_errors: &[Diagnostic]) -> Coverage {
        let mut v: Vec<(usize, usize)> = schema_errors
            .iter()
            .filter_map(|e| e.primary_span().map(|s| (s.start, s.end)))
            .collect();
        v.sort_unstable();
        let mut max_end = 0;
        let spans = v
            .into_iter()
            .map(|(s, e)| {
                max_end = max_end.max(e);
                (s, e, max_end)
            })
            .collect();
        Coverage { spans }
    }

    /// Whether `d`'s primary span starts where a schema error's does (the same node; a schema
    /// error may show only its first line) or lies within one.
    pub fn covers(&self, d: &Diagnostic) -> bool {
        let Some(s) = d.primary_span() else {
            return true;
        };
        // Entries starting at or before `s.start`.
        let n = self.spans.partition_point(|e| e.0 <= s.start);
        n > 0 && (self.spans[n - 1].0 == s.start || self.spans[n - 1].2 >= s.end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::codes;
    use crate::span::Span;

    fn at(start: usize, end: usize) -> Diagnostic {
        Diagnostic::error(codes::SCHEMA_TYPE, "x").with_span(Span::new(start, end))
    }

    /// The index answers as comparing with every schema error would.
    #[test]
    fn coverage_matches_the_pairwise_rule() {
        let schema = [at(10, 20), at(12, 14), at(30, 31), at(40, 60)];
        let c = Coverage::new(&schema);
        let naive = |d: &Diagnostic| {
            let s = d.primary_span().unwrap();
            schema.iter().any(|e| {
                let o = e.primary_span().unwrap();
                o.start == s.start || (o.start <= s.start && s.end <= o.end)
            })
        };
        for start in 0..70 {
            for end in start..72 {
                let d = at(start, end);
                assert_eq!(c.covers(&d), naive(&d), "{start}..{end}");
            }
        }
    }
}

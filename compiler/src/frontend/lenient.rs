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

/// The description, with defaults where `doc` does not fit the types.
pub fn description(doc: &Value) -> Description {
    // Defaults come from deserializing a minimal valid document, so they stay in one place.
    let base: Description = serde_json::from_value(serde_json::json!({
        "name": "x", "ipckey": 1, "processes": []
    }))
    .expect("the minimal description is valid");
    let base_proc: ProcessDesc =
        serde_json::from_value(serde_json::json!({"name": ""})).expect("minimal process");
    let duration = |key: &str, d: &DurationValue| field(doc, key).unwrap_or_else(|| d.clone());
    let processes = doc
        .get("processes")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .map(|p| ProcessDesc {
                    name: field(p, "name").unwrap_or_default(),
                    restart: field(p, "restart").unwrap_or_else(|| base_proc.restart.clone()),
                    grace: field(p, "grace").unwrap_or_else(|| base_proc.grace.clone()),
                    retries: field(p, "retries").unwrap_or(base_proc.retries),
                    on_retry_over: field(p, "on_retry_over").unwrap_or(base_proc.on_retry_over),
                })
                .collect()
        })
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
    }
}

/// Whether `d`'s primary span starts at or lies within the primary span of a schema error.
pub fn covered(d: &Diagnostic, schema_errors: &[Diagnostic]) -> bool {
    let Some(s) = d.primary_span() else {
        return true;
    };
    schema_errors.iter().any(|e| {
        e.primary_span()
            // Same start: the same node (a schema error may show only its first line).
            .is_some_and(|o| o.start == s.start || (o.start <= s.start && s.end <= o.end))
    })
}

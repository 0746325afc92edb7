//! Front-ends for service descriptions: each turns text into a `serde_json::Value` plus a
//! [`SpanTable`] (JSON pointer -> key span and value span). One pipeline ([`check_document`])
//! then validates the value against the schema, deserializes it and runs the shared rules.

pub mod json;
pub mod toml;
pub mod yaml;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::description::{self, Description};
use crate::diagnostics::{codes, Diagnostic};
use crate::model::{Loc, Service, SpanLookup};
use crate::schema;
use crate::span::{SourceFile, Span};

/// Documents nest at most this deep; deeper input is rejected before it can hurt.
pub const MAX_DEPTH: usize = 64;

/// Where every key and value of a document stands, by JSON pointer (`/processes/0/name`).
#[derive(Debug, Default, Clone)]
pub struct SpanTable {
    entries: HashMap<String, (Option<Span>, Span)>,
}

impl SpanTable {
    pub fn insert(&mut self, pointer: String, key: Option<Span>, value: Span) {
        self.entries.insert(pointer, (key, value));
    }

    /// The (key, value) spans of `pointer`, or of its nearest recorded ancestor.
    fn nearest(&self, pointer: &str) -> Option<(Option<Span>, Span)> {
        let mut p = pointer;
        loop {
            if let Some(e) = self.entries.get(p) {
                return Some(*e);
            }
            if p.is_empty() {
                return None;
            }
            p = &p[..p.rfind('/').unwrap_or(0)];
        }
    }

    /// The span of the value at `pointer` (or the nearest ancestor's).
    pub fn value_span(&self, pointer: &str) -> Span {
        self.nearest(pointer).map(|e| e.1).unwrap_or_default()
    }

    /// The span of the key naming `pointer`, else its value's (array items have no key).
    pub fn key_span(&self, pointer: &str) -> Span {
        self.nearest(pointer)
            .map(|(k, v)| k.unwrap_or(v))
            .unwrap_or_default()
    }
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
    }
}

impl SpanLookup for SpanTable {
    fn span(&self, loc: Loc) -> Span {
        let ptr = pointer(loc);
        // A script restart is written `restart: {script: ...}`: point at the script itself.
        if let Loc::Restart(i) = loc {
            let script = format!("/processes/{i}/restart/script");
            if self.entries.contains_key(&script) {
                return self.value_span(&script);
            }
        }
        self.value_span(&ptr)
    }

    fn key_span(&self, loc: Loc) -> Span {
        SpanTable::key_span(self, &pointer(loc))
    }
}

/// Escapes one JSON pointer segment (RFC 6901).
pub fn escape_segment(s: &str) -> String {
    s.replace('~', "~0").replace('/', "~1")
}

/// What a front-end produces: the document (if it could be read) and its spans.
pub struct Document {
    pub value: Option<Value>,
    pub spans: SpanTable,
    pub diagnostics: Vec<Diagnostic>,
}

/// Validates a parsed document and lowers it into the model.
pub fn check_document(doc: &Value, spans: &SpanTable, src: &Arc<SourceFile>) -> Outcome {
    let mut diags = schema::validate(doc, spans, src);
    if !diags.is_empty() {
        return Outcome {
            service: None,
            diagnostics: diags,
        };
    }
    let desc: Description = match Description::deserialize_value(doc) {
        Ok(d) => d,
        Err(e) => {
            // The schema accepts only what deserializes; reaching this is a schema bug, still
            // reported rather than panicking.
            diags.push(
                Diagnostic::error(codes::SCHEMA_INVALID, format!("invalid description: {e}"))
                    .with_span(spans.value_span(""))
                    .in_file(src),
            );
            return Outcome {
                service: None,
                diagnostics: diags,
            };
        }
    };
    let (service, more) = description::to_service(&desc, spans, src);
    diags.extend(more);
    Outcome {
        service,
        diagnostics: diags,
    }
}

pub struct Outcome {
    pub service: Option<Service>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Description {
    fn deserialize_value(v: &Value) -> Result<Description, serde_json::Error> {
        serde::Deserialize::deserialize(v)
    }
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

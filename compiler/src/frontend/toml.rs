//! TOML front-end: a clean file is read by [`super::toml_stream`] (value and spans with no
//! tree in between); anything else by `toml`'s span-preserving `DeTable` (keys and values are
//! `Spanned`), whose errors are the diagnostics. The toml parser guards its own recursion
//! depth and rejects duplicate keys itself.

use std::sync::Arc;

use serde_json::{Map, Number, Value};
use toml::de::{DeTable, DeValue};
use toml::Spanned;

use super::{too_deep_message, Document, NodeId, SpanTable, MAX_DEPTH};
use crate::diagnostics::{codes, Diagnostic};
use crate::span::{SourceFile, Span};

fn span_of<T>(s: &Spanned<T>) -> Span {
    let r = s.span();
    Span::new(r.start, r.end)
}

/// Reads a TOML document into a value and its span table.
pub fn parse(src: &Arc<SourceFile>) -> Document {
    match super::toml_stream::read(src) {
        Some((value, spans)) => Document {
            value: Some(value),
            spans,
            diagnostics: Vec::new(),
        },
        None => parse_tree(src),
    }
}

/// [`parse`] through `toml`'s `DeTable`, for what the streaming reader leaves to it.
pub(crate) fn parse_tree(src: &Arc<SourceFile>) -> Document {
    let mut spans = SpanTable::default();
    let table = match DeTable::parse(src.text()) {
        Ok(t) => t,
        Err(e) => {
            let span = e
                .span()
                .map(|r| Span::new(r.start, r.end.max(r.start)))
                .unwrap_or_default();
            let msg = e.message().trim().to_owned();
            let (code, msg) = if msg.contains("recursion depth") {
                (codes::TOO_DEEP, too_deep_message())
            } else {
                (codes::TOML_SYNTAX, format!("invalid TOML: {msg}"))
            };
            return Document {
                value: None,
                spans,
                diagnostics: vec![Diagnostic::error(code, msg)
                    .with_label(span, "here")
                    .in_file(src)],
            };
        }
    };
    if table.get_ref().is_empty() {
        return Document {
            value: None,
            spans,
            diagnostics: vec![Diagnostic::error(codes::EMPTY, "the description is empty")
                .with_label(Span::new(0, 0), "no keys in this file")
                .with_help("a description needs at least `name`, `ipckey` and `processes`")
                .in_file(src)],
        };
    }
    let mut diags = Vec::new();
    let root = spans.root(Span::new(0, src.text().len()));
    let value = convert_table(table.get_ref(), root, 0, &mut spans, &mut diags, src);
    Document {
        value: diags.is_empty().then_some(value),
        spans,
        diagnostics: diags,
    }
}

/// A TOML float as a value: a number, or its text where JSON has no number for it (`inf`,
/// `nan`); either way the rules report it, no field taking a fraction.
pub(super) fn float_value(text: &str) -> Value {
    text.parse::<f64>()
        .ok()
        .and_then(Number::from_f64)
        .map(Value::Number)
        .unwrap_or_else(|| Value::String(text.to_owned()))
}

fn convert_table(
    t: &DeTable<'_>,
    node: NodeId,
    depth: usize,
    spans: &mut SpanTable,
    diags: &mut Vec<Diagnostic>,
    src: &Arc<SourceFile>,
) -> Value {
    let mut map = Map::new();
    for (k, v) in t.iter() {
        let child = spans.key(node, k.get_ref(), span_of(k), span_of(v));
        let value = convert(v, child, depth + 1, spans, diags, src);
        map.insert(k.get_ref().to_string(), value);
    }
    Value::Object(map)
}

fn convert(
    v: &Spanned<DeValue<'_>>,
    node: NodeId,
    depth: usize,
    spans: &mut SpanTable,
    diags: &mut Vec<Diagnostic>,
    src: &Arc<SourceFile>,
) -> Value {
    if depth > MAX_DEPTH {
        if diags.is_empty() {
            diags.push(
                Diagnostic::error(codes::TOO_DEEP, too_deep_message())
                    .with_label(span_of(v), "too deep")
                    .in_file(src),
            );
        }
        return Value::Null;
    }
    match v.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Integer(i) => {
            // Digits may carry a sign; the radix says how to read them (0x, 0o, 0b).
            match i64::from_str_radix(i.as_str(), i.radix()) {
                Ok(n) => Value::Number(n.into()),
                Err(_) => Value::String(i.to_string()),
            }
        }
        DeValue::Float(f) => float_value(f.as_str()),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(a) => Value::Array(
            a.iter()
                .enumerate()
                .map(|(i, item)| {
                    let child = spans.item(node, i, span_of(item));
                    convert(item, child, depth + 1, spans, diags, src)
                })
                .collect(),
        ),
        DeValue::Table(t) => convert_table(t, node, depth, spans, diags, src),
    }
}

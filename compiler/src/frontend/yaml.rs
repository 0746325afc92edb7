//! YAML front-end on saphyr's event parser (`saphyr-parser`, the parser under saphyr's
//! `MarkedYaml`). Building the value from events ourselves lets us bound what the loader would
//! not: alias expansion (billion laughs) and nesting depth, and record a span for every key.

use std::collections::HashMap;
use std::sync::Arc;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, Span as YSpan};
use serde_json::{Map, Number, Value};

use super::{too_deep_message, CharIndex, Document, NodeId, SpanTable, MAX_DEPTH};
use crate::diagnostics::{codes, Diagnostic};
use crate::span::{SourceFile, Span};

/// Nodes that aliases may expand to, in total, per document.
pub const MAX_ALIAS_NODES: usize = 10_000;

enum Frame {
    Seq {
        node: NodeId,
        start: usize,
        anchor: usize,
        items: Vec<Value>,
    },
    Map {
        node: NodeId,
        start: usize,
        anchor: usize,
        map: Map<String, Value>,
        first_keys: HashMap<String, Span>,
        /// The key read, waiting for its value.
        pending: Option<(String, Span)>,
    },
}

struct Builder<'a> {
    src: &'a Arc<SourceFile>,
    ci: CharIndex<'a>,
    stack: Vec<Frame>,
    root: Option<Value>,
    spans: SpanTable,
    anchors: HashMap<usize, (Value, usize)>,
    alias_budget: usize,
    diags: Vec<Diagnostic>,
}

/// Reads a YAML document into a value and its span table.
pub fn parse(src: &Arc<SourceFile>) -> Document {
    let mut b = Builder {
        src,
        ci: CharIndex::new(src.text()),
        stack: Vec::new(),
        root: None,
        spans: SpanTable::default(),
        anchors: HashMap::new(),
        alias_budget: MAX_ALIAS_NODES,
        diags: Vec::new(),
    };
    let ok = b.run(src.text()).is_ok();
    if ok && b.root.is_none() {
        b.diags.push(
            Diagnostic::error(codes::EMPTY, "the description is empty")
                .with_label(Span::new(0, 0), "no document here")
                .with_help("a description needs at least `name`, `ipckey` and `processes`")
                .in_file(src),
        );
    }
    Document {
        value: if ok { b.root } else { None },
        spans: b.spans,
        diagnostics: b.diags,
    }
}

/// Counts the nodes of a value (bounded by [`MAX_DEPTH`], so the recursion is too).
fn count_nodes(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count_nodes).sum(),
        Value::Object(m) => m.values().map(count_nodes).sum(),
        _ => 0,
    }
}

fn scalar_value(s: Scalar<'_>, raw: &str) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(b),
        Scalar::Integer(i) => Value::Number(i.into()),
        Scalar::FloatingPoint(f) => Number::from_f64(f.into_inner())
            .map(Value::Number)
            .unwrap_or_else(|| Value::String(raw.to_owned())),
        Scalar::String(s) => Value::String(s.into_owned()),
    }
}

impl Builder<'_> {
    fn span(&self, s: &YSpan) -> Span {
        Span::new(self.ci.byte(s.start.index()), self.ci.byte(s.end.index()))
    }

    fn fail(&mut self, code: codes::Code, msg: impl Into<String>, span: Span, label: &str) {
        self.diags.push(
            Diagnostic::error(code, msg)
                .with_label(span, label)
                .in_file(self.src),
        );
    }

    fn run(&mut self, text: &str) -> Result<(), ()> {
        let mut parser = Parser::new_from_str(text);
        while let Some(ev) = parser.next_event() {
            let (ev, yspan) = match ev {
                Ok(e) => e,
                Err(e) => {
                    let at = self.ci.byte(e.marker().index());
                    let end = self.src.text()[at..]
                        .chars()
                        .next()
                        .map_or(at, |c| at + c.len_utf8());
                    let (code, msg) = if e.info().contains("recursion limit") {
                        (codes::TOO_DEEP, too_deep_message())
                    } else {
                        (codes::YAML_SYNTAX, format!("invalid YAML: {}", e.info()))
                    };
                    self.fail(code, msg, Span::new(at, end), "here");
                    return Err(());
                }
            };
            let span = self.span(&yspan);
            match ev {
                Event::DocumentStart(_) if self.root.is_some() => {
                    self.diags.push(
                        Diagnostic::error(
                            codes::YAML_MULTIPLE_DOCUMENTS,
                            "the file holds a second YAML document",
                        )
                        .with_label(span, "second document starts here")
                        .with_help("put each service in its own file")
                        .in_file(self.src),
                    );
                    return Err(());
                }
                Event::Scalar(v, style, anchor, tag) => {
                    let raw = v.to_string();
                    if let Some(Frame::Map {
                        pending: p @ None, ..
                    }) = self.stack.last_mut()
                    {
                        *p = Some((raw, span));
                        continue;
                    }
                    let value = Scalar::parse_from_cow_and_metadata(v, style, tag.as_ref())
                        .map(|s| scalar_value(s, &raw))
                        .unwrap_or(Value::String(raw));
                    self.complete(value, span, None, anchor)?;
                }
                Event::Alias(id) => {
                    let Some((value, nodes)) = self.anchors.get(&id).cloned() else {
                        self.fail(
                            codes::YAML_SYNTAX,
                            "this alias refers to an anchor that is not complete here",
                            span,
                            "recursive or unknown alias",
                        );
                        return Err(());
                    };
                    if nodes > self.alias_budget {
                        self.diags.push(
                            Diagnostic::error(
                                codes::YAML_ALIAS_LIMIT,
                                format!(
                                    "aliases expand to more than {MAX_ALIAS_NODES} nodes; refusing to expand further"
                                ),
                            )
                            .with_label(span, "limit reached at this alias")
                            .with_help("write the values out; descriptions need no anchors or aliases")
                            .in_file(self.src),
                        );
                        return Err(());
                    }
                    self.alias_budget -= nodes;
                    if self.map_wants_key() {
                        if let Value::String(s) = value {
                            self.set_pending(s, span);
                            continue;
                        }
                        return self.key_not_string(span);
                    }
                    self.complete(value, span, None, 0)?;
                }
                Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                    if self.stack.len() >= MAX_DEPTH {
                        self.fail(codes::TOO_DEEP, too_deep_message(), span, "too deep");
                        return Err(());
                    }
                    if self.map_wants_key() {
                        return self.key_not_string(span);
                    }
                    let node = self.open_child(span);
                    let start = span.start;
                    self.stack.push(if matches!(ev, Event::SequenceStart(..)) {
                        Frame::Seq {
                            node,
                            start,
                            anchor,
                            items: Vec::new(),
                        }
                    } else {
                        Frame::Map {
                            node,
                            start,
                            anchor,
                            map: Map::new(),
                            first_keys: HashMap::new(),
                            pending: None,
                        }
                    });
                }
                Event::SequenceEnd | Event::MappingEnd => {
                    let Some(frame) = self.stack.pop() else {
                        continue;
                    };
                    let (value, node, start, anchor) = match frame {
                        Frame::Seq {
                            items,
                            node,
                            start,
                            anchor,
                            ..
                        } => (Value::Array(items), node, start, anchor),
                        Frame::Map {
                            map,
                            node,
                            start,
                            anchor,
                            ..
                        } => (Value::Object(map), node, start, anchor),
                    };
                    let end = span.end.max(start);
                    let span = Span::new(start, end);
                    self.spans.set_value(node, span);
                    self.complete(value, span, Some(node), anchor)?;
                }
                _ => {}
            }
        }
        Ok(())
    }

    fn map_wants_key(&self) -> bool {
        matches!(self.stack.last(), Some(Frame::Map { pending: None, .. }))
    }

    fn set_pending(&mut self, key: String, span: Span) {
        if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
            *pending = Some((key, span));
        }
    }

    fn key_not_string(&mut self, span: Span) -> Result<(), ()> {
        self.fail(
            codes::KEY_NOT_STRING,
            "a mapping key must be a plain name, not a list or mapping",
            span,
            "not a name",
        );
        Err(())
    }

    /// Records the node that starts now under its parent (a list or mapping gets its value
    /// span again when it ends).
    fn open_child(&mut self, span: Span) -> NodeId {
        match self.stack.last() {
            None => self.spans.root(span),
            Some(Frame::Seq { node, items, .. }) => {
                let (node, i) = (*node, items.len());
                self.spans.item(node, i, span)
            }
            Some(Frame::Map {
                node,
                pending: Some((k, ks)),
                ..
            }) => {
                let (node, ks, k) = (*node, *ks, k.clone());
                self.spans.key(node, &k, ks, span)
            }
            Some(Frame::Map { node, .. }) => *node,
        }
    }

    /// Attaches a finished node to its parent.
    /// `opened`: the node of a list or mapping, recorded when it started; a scalar's node is
    /// recorded here.
    fn complete(
        &mut self,
        value: Value,
        span: Span,
        opened: Option<NodeId>,
        anchor: usize,
    ) -> Result<(), ()> {
        if anchor != 0 {
            let nodes = count_nodes(&value);
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        if opened.is_none() {
            self.open_child(span);
        }
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
            }
            Some(Frame::Seq { items, .. }) => {
                items.push(value);
            }
            Some(Frame::Map {
                map,
                first_keys,
                pending,
                ..
            }) => {
                let Some((k, ks)) = pending.take() else {
                    return Ok(());
                };
                if let Some(first) = first_keys.get(&k) {
                    let first = *first;
                    self.diags.push(
                        Diagnostic::error(
                            codes::DUPLICATE_KEY,
                            format!("key `{k}` is given twice in this mapping"),
                        )
                        .with_label(ks, "given again here")
                        .with_label(first, "first given here")
                        .with_help("remove one of the two")
                        .in_file(self.src),
                    );
                    return Ok(());
                }
                first_keys.insert(k.clone(), ks);
                map.insert(k, value);
            }
        }
        Ok(())
    }
}

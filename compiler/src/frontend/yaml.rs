//! YAML front-end on saphyr's event parser (`saphyr-parser`, the parser under saphyr's
//! `MarkedYaml`). Building the value from events ourselves lets us bound what the loader would
//! not: alias expansion (billion laughs) and nesting depth, and record a span for every key.

use std::collections::HashMap;
use std::sync::Arc;

use saphyr::Scalar;
use saphyr_parser::{Event, Parser, Span as YSpan};
use serde_json::{Map, Number, Value};

use super::{
    stream, too_deep_message, yaml_block, CharIndex, Document, NodeId, SpanTable, MAX_DEPTH,
};
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
        /// Items so far (`items` stays empty when only spans are wanted).
        len: usize,
        /// Nodes of the value so far: one per list, mapping and scalar, an alias counting
        /// what it expands to (the alias budget's measure).
        nodes: usize,
    },
    Map {
        node: NodeId,
        start: usize,
        anchor: usize,
        map: Map<String, Value>,
        nodes: usize,
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
    /// `false`: record spans and find duplicate keys and depth only, building no value (the
    /// JSON front-end, where serde_json builds the value).
    build: bool,
    /// `false`: build the value only, and give up at the first problem ([`value_only`]).
    record: bool,
    anchors: HashMap<usize, (Value, usize)>,
    alias_budget: usize,
    diags: Vec<Diagnostic>,
    /// Takes the entries of the top-level `processes` list after the first, instead of the
    /// list (see `frontend::stream`); `Err` stops the reading.
    entries: Option<EntrySink<'a>>,
    /// How many entries the `processes` list has, counted ahead (0: not counted).
    expect_entries: usize,
}

/// Where entries of `processes` go as they are read: their index and value.
type EntrySink<'a> = &'a mut dyn FnMut(usize, Value) -> Result<(), ()>;

/// Reads a YAML document into a value and its span table.
pub fn parse(src: &Arc<SourceFile>) -> Document {
    read(src, true)
}

/// The span table of a YAML document and the diagnostics of reading it; the value is not
/// built (`Document::value` is `Some(Value::Null)` where [`parse`] would give a value).
pub fn spans_only(src: &Arc<SourceFile>) -> Document {
    read(src, false)
}

/// The value of a YAML document that reads without any problem, recording no spans (valid
/// files are the common case, and spans serve only diagnostics); `None` when there is
/// anything to report, which [`parse`] then reports with its spans.
pub fn value_only(src: &Arc<SourceFile>) -> Option<Value> {
    // The plain block YAML of most descriptions is read by our own reader; what it leaves
    // (or what the builder refuses there) is read again by saphyr.
    value_by_block_reader(src).or_else(|| value_by_saphyr(src))
}

/// [`value_only`] by saphyr's parser alone (what the block reader is checked against).
pub fn value_by_saphyr(src: &Arc<SourceFile>) -> Option<Value> {
    quick(src, false, None)
}

/// [`value_only`] by the block reader alone: `None` also where it stops.
pub fn value_by_block_reader(src: &Arc<SourceFile>) -> Option<Value> {
    quick(src, true, None)
}

/// [`value_only`] handing the entries of `processes` after the first to `entries` as they are
/// read, instead of keeping them in the value; `None` also where `entries` gives up.
pub fn value_streamed(src: &Arc<SourceFile>, entries: &mut stream::Entries<'_>) -> Option<Value> {
    let hint = count_entries(src.text());
    for block in [true, false] {
        entries.clear();
        entries.expect(hint);
        let mut sink = |i: usize, v: Value| entries.take(i, v).map_err(|_| ());
        if let Some(v) = quick(src, block, Some(&mut sink)) {
            return Some(v);
        }
        if entries.gave_up() {
            return None;
        }
    }
    None
}

/// The number of entries of a block `processes` list at the top level, counted by lines (a
/// hint for [`stream::Entries::expect`]): the lines at the first entry's indentation that
/// begin with `-`, up to the first line less indented or at that indentation without `-`.
/// 0 for a list in flow style, or none.
fn count_entries(text: &str) -> usize {
    let mut lines = text.split('\n');
    let is_key = |l: &str| {
        l.strip_prefix("processes:")
            .is_some_and(|r| r.trim_start().is_empty() || r.trim_start().starts_with('#'))
    };
    if !lines.by_ref().any(is_key) {
        return 0;
    }
    let mut indent = None;
    let mut n = 0;
    for l in lines {
        let body = l.trim_start_matches(' ');
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let at = l.len() - body.len();
        let item = body == "-" || body.starts_with("- ");
        match indent {
            None if item => indent = Some(at),
            Some(i) if at > i => continue,
            Some(i) if at == i && item => {}
            _ => break,
        }
        n += 1;
    }
    n
}

fn quick<'a>(
    src: &'a Arc<SourceFile>,
    block: bool,
    entries: Option<EntrySink<'a>>,
) -> Option<Value> {
    let mut b = Builder::new(src, true, false);
    b.entries = entries;
    let ok = if block {
        yaml_block::read(src.text(), |ev, span| b.event(ev, span)).is_ok()
    } else {
        b.run(src.text()).is_ok()
    };
    (ok && b.diags.is_empty()).then_some(b.root).flatten()
}

/// The span table of a YAML document (what [`value_only`] did not record). The value is not
/// built again (the caller holds it; for 3.5 M list items, a second copy was 8x the input).
pub fn spans_of(src: &Arc<SourceFile>) -> SpanTable {
    let mut b = Builder::new(src, false, true);
    // A large file's table is made room for ahead (where most of it is one list).
    if src.text().len() >= stream::STREAM_FROM {
        b.expect_entries = count_entries(src.text());
    }
    let _ = b.run(src.text());
    b.spans
}

fn read(src: &Arc<SourceFile>, build: bool) -> Document {
    let mut b = Builder::new(src, build, true);
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

impl<'a> Builder<'a> {
    fn new(src: &'a Arc<SourceFile>, build: bool, record: bool) -> Builder<'a> {
        Builder {
            src,
            ci: CharIndex::new(src.text()),
            stack: Vec::new(),
            root: None,
            spans: SpanTable::default(),
            build,
            record,
            anchors: HashMap::new(),
            alias_budget: MAX_ALIAS_NODES,
            diags: Vec::new(),
            entries: None,
            expect_entries: 0,
        }
    }

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
            self.event(ev, &yspan)?;
        }
        Ok(())
    }

    /// Takes one parser event (from saphyr, or from the block reader of [`value_only`]).
    pub(super) fn event(&mut self, ev: Event<'_>, yspan: &YSpan) -> Result<(), ()> {
        let span = self.span(yspan);
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
                if let Some(Frame::Map {
                    pending: p @ None, ..
                }) = self.stack.last_mut()
                {
                    *p = Some((v.into_owned(), span));
                    return Ok(());
                }
                // A scalar with an anchor is built anyway: an alias of it may be a key.
                let value = if self.build || anchor != 0 {
                    match Scalar::parse_from_cow_and_metadata(
                        std::borrow::Cow::Borrowed(&*v),
                        style,
                        tag.as_ref(),
                    ) {
                        Some(s) => scalar_value(s, &v),
                        None => Value::String(v.into_owned()),
                    }
                } else {
                    Value::Null
                };
                self.complete(value, 1, span, None, anchor)?;
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
                        return Ok(());
                    }
                    return self.key_not_string(span);
                }
                self.complete(value, nodes, span, None, 0)?;
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
                        len: 0,
                        nodes: 1,
                    }
                } else {
                    Frame::Map {
                        node,
                        start,
                        anchor,
                        map: Map::new(),
                        nodes: 1,
                        pending: None,
                    }
                });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(frame) = self.stack.pop() else {
                    return Ok(());
                };
                let (value, nodes, node, start, anchor) = match frame {
                    Frame::Seq {
                        items,
                        nodes,
                        node,
                        start,
                        anchor,
                        ..
                    } => (Value::Array(items), nodes, node, start, anchor),
                    Frame::Map {
                        map,
                        nodes,
                        node,
                        start,
                        anchor,
                        ..
                    } => (Value::Object(map), nodes, node, start, anchor),
                };
                let value = if self.build { value } else { Value::Null };
                let end = span.end.max(start);
                let span = Span::new(start, end);
                if self.record {
                    self.spans.set_value(node, span);
                }
                self.complete(value, nodes, span, Some(node), anchor)?;
            }
            _ => {}
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
        if !self.record {
            return 0;
        }
        match self.stack.last() {
            None => self.spans.root(span),
            Some(Frame::Seq { node, len, .. }) => self.spans.item(*node, *len, span),
            Some(Frame::Map {
                node,
                pending: Some((k, ks)),
                ..
            }) => self.spans.key(*node, k, *ks, span),
            Some(Frame::Map { node, .. }) => *node,
        }
    }

    /// Attaches a finished node to its parent.
    /// `opened`: the node of a list or mapping, recorded when it started; a scalar's node is
    /// recorded here.
    /// `nodes`: the nodes of `value`, counted as in a frame (also when `value` is not built).
    fn complete(
        &mut self,
        value: Value,
        nodes: usize,
        span: Span,
        opened: Option<NodeId>,
        anchor: usize,
    ) -> Result<(), ()> {
        if anchor != 0 {
            self.anchors.insert(anchor, (value.clone(), nodes));
        }
        let node = match opened {
            Some(n) => n,
            None => self.open_child(span),
        };
        let build = self.build;
        // An entry of the top-level `processes` list.
        let entry = self.stack.len() == 2
            && matches!(&self.stack[0], Frame::Map { pending: Some((k, _)), .. } if k == "processes");
        match self.stack.last_mut() {
            None => {
                self.root = Some(value);
            }
            Some(Frame::Seq {
                items,
                len,
                nodes: total,
                node: list,
                ..
            }) => {
                match &mut self.entries {
                    Some(take) if entry && *len > 0 => take(*len, value)?,
                    _ if build => items.push(value),
                    _ => {}
                }
                *len += 1;
                *total += nodes;
                if entry && *len == 1 && self.record && self.expect_entries > 1 {
                    let text = self.src.text().len();
                    self.spans
                        .expect_like_first(*list, self.expect_entries, text);
                }
            }
            Some(Frame::Map {
                map,
                node: parent,
                nodes: total,
                pending,
                ..
            }) => {
                let Some((k, ks)) = pending.take() else {
                    return Ok(());
                };
                let parent = *parent;
                if !self.record && map.contains_key(&k) {
                    return Err(()); // a repeated key: `parse` says where
                }
                // The table keeps the first node of each key: another node means a repeat
                // (asked only when the mapping, where it is built, already has the key).
                let first = if build && !map.contains_key(&k) {
                    None
                } else {
                    self.spans.first_key(parent, &k)
                };
                if let Some(first) = first.filter(|&(id, _)| id != node).map(|(_, s)| s) {
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
                *total += nodes;
                if build {
                    map.insert(k, value);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_counted_by_their_lines() {
        for (text, n) in [
            ("name: a\nprocesses:\n- name: a\n- name: b\n", 2),
            ("processes: # list\n  - name: a\n    user:\n    - x\n\n  # c\n  -\n    name: b\ngroups:\n- x\n", 2),
            ("processes:\n- a\n-\n  - b\nname: x\n- c\n", 2),
            ("processes: [a, b]\n- c\n", 0),
            ("name: a\n", 0),
            ("processes:\n", 0),
        ] {
            assert_eq!(count_entries(text), n, "{text}");
        }
        // Only a hint, but right for the lists of the corpus (or none given).
        for s in crate::testing::corpus_sources("yaml") {
            let list = value_only(&s).and_then(|v| v["processes"].as_array().map(Vec::len));
            if let Some(len) = list.filter(|&l| l > 0) {
                let n = count_entries(s.text());
                assert!(n == len || n == 0, "{}: {n} for {len}", s.name());
            }
        }
    }

    /// The quick read agrees with the full one: a value exactly when the full read reports
    /// nothing, and then the same value (so that reading spans later changes no outcome).
    #[test]
    fn value_only_agrees_with_parse() {
        let seen = crate::testing::assert_quick_read_agrees("yaml", parse, value_only);
        assert!(seen > 30, "{seen} files");
        // A repeated key and a document too deep are left to the full read.
        for text in ["a: 1\na: 2\n", &"[".repeat(100)] {
            let src = SourceFile::new("x.yaml", text.to_owned());
            assert!(value_only(&src).is_none(), "{text}");
            assert!(!parse(&src).diagnostics.is_empty(), "{text}");
        }
    }

    /// The spans read later for a diagnostic ([`spans_of`], which builds no value again: the
    /// caller holds it) are the ones [`parse`] records, after an alias used as a key too.
    #[test]
    fn spans_of_agrees_with_parse() {
        fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
            match v {
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        pointers(x, format!("{at}/{i}"), out);
                    }
                }
                Value::Object(m) => {
                    for (k, x) in m {
                        pointers(x, format!("{at}/{}", crate::spans::escape_segment(k)), out);
                    }
                }
                _ => {}
            }
            out.push(at);
        }
        let mut texts =
            vec!["a: &k name\n*k : 1\nb: [1, {c: &n 2, d: *n}]\nprocesses: x\n".to_owned()];
        texts.extend(
            crate::testing::corpus_sources("yaml")
                .iter()
                .map(|s| s.text().to_owned()),
        );
        let mut compared = 0;
        for text in texts {
            let src = SourceFile::new("x.yaml", text.clone());
            let full = parse(&src);
            let (Some(v), true) = (&full.value, full.diagnostics.is_empty()) else {
                continue;
            };
            let later = spans_of(&src);
            let mut ptrs = Vec::new();
            pointers(v, String::new(), &mut ptrs);
            for p in &ptrs {
                assert_eq!(
                    later.value_span(p),
                    full.spans.value_span(p),
                    "{p} in {text}"
                );
                assert_eq!(later.key_span(p), full.spans.key_span(p), "{p} in {text}");
            }
            compared += 1;
        }
        assert!(compared > 30, "{compared} files");
    }
}

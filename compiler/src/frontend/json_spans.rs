//! Where the keys and values of a JSON document stand, and its duplicate keys and nesting
//! depth: one linear pass over the text with an explicit stack (no recursion on the input's
//! depth), recording into a [`SpanTable`] as it goes. serde_json judges the syntax and builds
//! the value; this pass only reads well enough to find the spans, and stops at the first thing
//! that is not JSON (serde_json says what is wrong there).
//!
//! It replaces reading the text again with the YAML reader: saphyr's scanner queues every
//! token of a one-line flow list (a long key holding 5 M items took 128x the input). Here
//! nothing is held per item beyond the table's own `u32` and value span.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;

use super::{too_deep_message, NodeId, SpanTable, MAX_DEPTH};
use crate::diagnostics::{codes, Diagnostic};
use crate::span::{SourceFile, Span};

/// The spans of a JSON document and what reading them found (repeated keys, too deep).
pub struct Spans {
    pub table: SpanTable,
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads the span table of `src`, reporting repeated keys and nesting deeper than
/// [`MAX_DEPTH`] with the same codes, messages and spans as the YAML front-end.
pub fn read(src: &Arc<SourceFile>) -> Spans {
    let mut r = Reader::new(src, true);
    let _ = r.run();
    Spans {
        table: r.spans,
        diagnostics: r.diags,
    }
}

/// The span table of `src` alone (what [`is_clean`] did not record).
pub fn spans_of(src: &Arc<SourceFile>) -> SpanTable {
    read(src).table
}

/// Whether `src` reads to its end with no repeated key and no nesting too deep, recording no
/// spans (valid files are the common case; spans serve only diagnostics).
pub fn is_clean(src: &Arc<SourceFile>) -> bool {
    list_lengths(src).is_some()
}

/// The number of items of each list of `src`, in the order the lists open, if `src` [`is_clean`]
/// (the value is then built with lists of their final size: growing a list of 5 M items by
/// doubling held 1.8 times its final size at once).
pub fn list_lengths(src: &Arc<SourceFile>) -> Option<Vec<u32>> {
    let mut r = Reader::new(src, false);
    (r.run().is_ok() && r.diags.is_empty()).then_some(r.lengths)
}

/// The reader stopped: at something that is not JSON, or at nesting too deep.
struct Stop;

enum Frame<'a> {
    List {
        node: NodeId,
        start: usize,
        len: usize,
        /// Its place in `Reader::lengths`.
        slot: usize,
    },
    Map {
        node: NodeId,
        start: usize,
        /// The key read, waiting for its value to end.
        pending: Option<(Cow<'a, str>, Span)>,
        /// Keys seen, when no table is recorded (the table finds repeats otherwise).
        seen: HashSet<Cow<'a, str>>,
    },
}

struct Reader<'a> {
    src: &'a Arc<SourceFile>,
    text: &'a str,
    at: usize,
    /// `false`: find repeated keys and depth only ([`is_clean`]), stopping at the first.
    record: bool,
    spans: SpanTable,
    stack: Vec<Frame<'a>>,
    diags: Vec<Diagnostic>,
    /// When no table is recorded: the length of each list, in the order they open.
    lengths: Vec<u32>,
}

impl<'a> Reader<'a> {
    fn new(src: &'a Arc<SourceFile>, record: bool) -> Reader<'a> {
        let text = src.text();
        Reader {
            src,
            text,
            // A byte-order mark is tolerated, as the front-end tolerates it.
            at: if text.starts_with('\u{feff}') { 3 } else { 0 },
            record,
            spans: SpanTable::default(),
            stack: Vec::new(),
            diags: Vec::new(),
            lengths: Vec::new(),
        }
    }

    fn peek(&mut self) -> Option<u8> {
        let b = self.text.as_bytes();
        while self.at < b.len() && matches!(b[self.at], b' ' | b'\t' | b'\n' | b'\r') {
            self.at += 1;
        }
        b.get(self.at).copied()
    }

    /// Reads the one value of the document (trailing text is serde_json's to judge).
    fn run(&mut self) -> Result<(), Stop> {
        'value: loop {
            // A value starts here.
            let start = self.at_value()?;
            match self.text.as_bytes()[start] {
                open @ (b'{' | b'[') => {
                    let span = Span::new(start, start + 1);
                    if self.stack.len() >= MAX_DEPTH {
                        self.diags.push(
                            Diagnostic::error(codes::TOO_DEEP, too_deep_message())
                                .with_label(span, "too deep")
                                .in_file(self.src),
                        );
                        return Err(Stop);
                    }
                    let node = self.open_child(span);
                    self.at += 1;
                    if open == b'[' {
                        let slot = self.lengths.len();
                        if !self.record {
                            self.lengths.push(0);
                        }
                        self.stack.push(Frame::List {
                            node,
                            start,
                            len: 0,
                            slot,
                        });
                        if self.peek() != Some(b']') {
                            continue 'value;
                        }
                    } else {
                        let seen = HashSet::new();
                        let pending = None;
                        self.stack.push(Frame::Map {
                            node,
                            start,
                            pending,
                            seen,
                        });
                        if self.peek() != Some(b'}') {
                            self.key()?;
                            continue 'value;
                        }
                    }
                }
                b'"' => {
                    self.string()?;
                    let end = self.blanks();
                    let span = Span::new(start, end);
                    let node = self.open_child(span);
                    self.complete(node)?;
                }
                _ => {
                    let b = self.text.as_bytes();
                    let mut end = start;
                    while end < b.len() && !b" \t\r\n,:[]{}\"".contains(&b[end]) {
                        end += 1;
                    }
                    self.at = end;
                    let node = self.open_child(Span::new(start, end));
                    self.complete(node)?;
                }
            }
            // A value ended: close what ends with it, up to the next value.
            loop {
                let next = self.peek();
                match (self.stack.last(), next) {
                    (None, _) => return Ok(()),
                    (Some(Frame::List { .. }), Some(b',')) => {
                        self.at += 1;
                        continue 'value;
                    }
                    (Some(Frame::Map { .. }), Some(b',')) => {
                        self.at += 1;
                        self.key()?;
                        continue 'value;
                    }
                    (Some(Frame::List { .. }), Some(b']'))
                    | (Some(Frame::Map { .. }), Some(b'}')) => {
                        self.at += 1;
                        self.blanks();
                        let closed = self.stack.pop();
                        let (node, start) = match &closed {
                            Some(
                                Frame::List { node, start, .. } | Frame::Map { node, start, .. },
                            ) => (*node, *start),
                            None => return Ok(()),
                        };
                        if self.record {
                            self.spans.set_value(node, Span::new(start, self.at));
                        }
                        if let (false, Some(Frame::List { len, slot, .. })) = (self.record, &closed)
                        {
                            self.lengths[*slot] = *len as u32;
                        }
                        self.complete(node)?;
                    }
                    _ => return Err(Stop),
                }
            }
        }
    }

    /// Where the next value starts (there is one).
    fn at_value(&mut self) -> Result<usize, Stop> {
        match self.peek() {
            Some(b',' | b':' | b']' | b'}') | None => Err(Stop),
            Some(_) => Ok(self.at),
        }
    }

    /// Skips a string from its opening quote: where it ends, and whether it has escapes.
    fn string(&mut self) -> Result<(usize, bool), Stop> {
        let b = self.text.as_bytes();
        let mut i = self.at + 1;
        let mut escaped = false;
        loop {
            match b.get(i) {
                None => return Err(Stop),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    i += 2;
                }
                Some(_) => i += 1,
            }
        }
        self.at = i + 1;
        Ok((self.at, escaped))
    }

    /// Skips the spaces and tabs after a string or closing bracket: the YAML reader counted
    /// them in the token's span, and the spans stay what they were when it read JSON.
    fn blanks(&mut self) -> usize {
        let b = self.text.as_bytes();
        while self.at < b.len() && matches!(b[self.at], b' ' | b'\t') {
            self.at += 1;
        }
        self.at
    }

    /// Reads a mapping's key and its colon, leaving the key pending in the mapping.
    fn key(&mut self) -> Result<(), Stop> {
        if self.peek() != Some(b'"') {
            return Err(Stop);
        }
        let start = self.at;
        let (end, escaped) = self.string()?;
        let text: &'a str = self.text;
        let raw = &text[start + 1..end - 1];
        let key = if escaped {
            Cow::Owned(unescape(raw).ok_or(Stop)?)
        } else {
            Cow::Borrowed(raw)
        };
        let end = self.blanks();
        if self.peek() != Some(b':') {
            return Err(Stop);
        }
        self.at += 1;
        if let Some(Frame::Map { pending, .. }) = self.stack.last_mut() {
            *pending = Some((key, Span::new(start, end)));
        }
        Ok(())
    }

    /// Records the node that starts now under its parent (a list or mapping gets its value
    /// span again when it ends).
    fn open_child(&mut self, span: Span) -> NodeId {
        if !self.record {
            return 0;
        }
        match self.stack.last() {
            None => self.spans.root(span),
            Some(Frame::List { node, len, .. }) => self.spans.item(*node, *len, span),
            Some(Frame::Map {
                node,
                pending: Some((k, ks)),
                ..
            }) => self.spans.key(*node, k, *ks, span),
            Some(Frame::Map { node, .. }) => *node,
        }
    }

    /// Attaches the value of `node`, just ended, to its parent: a mapping reports its key if
    /// it was given before.
    fn complete(&mut self, node: NodeId) -> Result<(), Stop> {
        let Some(Frame::Map {
            node: parent,
            pending,
            seen,
            ..
        }) = self.stack.last_mut()
        else {
            if let Some(Frame::List { len, .. }) = self.stack.last_mut() {
                *len += 1;
            }
            return Ok(());
        };
        let Some((k, ks)) = pending.take() else {
            return Ok(());
        };
        if !self.record {
            if seen.contains(&k) {
                return Err(Stop); // a repeated key: `read` says where
            }
            seen.insert(k);
            return Ok(());
        }
        // The table keeps the first node of each key: another node means a repeat.
        let first = self.spans.first_key(*parent, &k);
        if let Some((_, first)) = first.filter(|&(id, _)| id != node) {
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
        }
        Ok(())
    }
}

/// The text of a JSON string's escaped contents; `None` at an escape JSON does not have.
fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let esc = rest.as_bytes().get(i + 1).copied().filter(u8::is_ascii)?;
        rest = &rest[i + 2..];
        let c = match esc {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(rest)?;
                rest = &rest[4..];
                let code = if (0xd800..0xdc00).contains(&hi) {
                    // A surrogate pair: the low half follows as `\uXXXX`.
                    let lo = rest.strip_prefix("\\u").and_then(hex4)?;
                    if !(0xdc00..0xe000).contains(&lo) {
                        return None;
                    }
                    rest = &rest[6..];
                    0x10000 + ((hi - 0xd800) << 10) + (lo - 0xdc00)
                } else {
                    hi
                };
                char::from_u32(code)?
            }
            _ => return None,
        };
        out.push(c);
    }
    out.push_str(rest);
    Some(out)
}

/// The four hex digits at the start of `s`.
fn hex4(s: &str) -> Option<u32> {
    let digits = s
        .get(..4)
        .filter(|d| d.bytes().all(|b| b.is_ascii_hexdigit()))?;
    u32::from_str_radix(digits, 16).ok()
}

/// Whether [`read`] agrees with the YAML reader's spans-only pass (what the JSON front-end used
/// before, JSON being YAML flow syntax) on a document both can read: serde_json accepts it and
/// the YAML reader finds nothing to say but repeated keys and depth. Then every pointer of the
/// value has the same value and key spans, and the diagnostics are the same. `Ok(false)`: not
/// such a document. For the fuzz target and tests.
#[doc(hidden)]
pub fn agrees_with_yaml(src: &Arc<SourceFile>) -> Result<bool, String> {
    let ours = read(src);
    let yaml = super::yaml::spans_only(src);
    let ours_or_yaml = |d: &Diagnostic| d.code == codes::TOO_DEEP || d.code == codes::DUPLICATE_KEY;
    if !yaml.diagnostics.iter().all(ours_or_yaml) {
        return Ok(false);
    }
    let body = src.text().strip_prefix('\u{feff}').unwrap_or(src.text());
    let Ok(value) = serde_json::from_str::<serde_json::Value>(body) else {
        return Ok(false);
    };
    let shown = |ds: &[Diagnostic]| -> Vec<String> {
        ds.iter()
            .map(|d| format!("{} {} {:?} {:?}", d.code.id, d.message, d.labels, d.help))
            .collect()
    };
    if shown(&ours.diagnostics) != shown(&yaml.diagnostics) {
        return Err(format!(
            "diagnostics differ: {:?} (json) vs {:?} (yaml)",
            shown(&ours.diagnostics),
            shown(&yaml.diagnostics)
        ));
    }
    // Every pointer of the value, walked without recursion.
    let mut todo = vec![(String::new(), &value)];
    while let Some((ptr, v)) = todo.pop() {
        let (a, b) = (&ours.table, &yaml.spans);
        let got = (a.contains(&ptr), a.value_span(&ptr), a.key_span(&ptr));
        let want = (b.contains(&ptr), b.value_span(&ptr), b.key_span(&ptr));
        if got != want {
            return Err(format!("{ptr:?}: {got:?} (json) vs {want:?} (yaml)"));
        }
        match v {
            serde_json::Value::Array(items) => {
                todo.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, x)| (format!("{ptr}/{i}"), x)),
                );
            }
            serde_json::Value::Object(map) => {
                let seg = super::escape_segment;
                todo.extend(map.iter().map(|(k, x)| (format!("{ptr}/{}", seg(k)), x)));
            }
            _ => {}
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn src(text: &str) -> Arc<SourceFile> {
        SourceFile::new("x.json", text)
    }

    /// The old pass (the YAML reader) and this one agree on every JSON file of the corpora the
    /// repository has, and of the json fuzz target's corpus when it is there (it is not
    /// committed).
    #[test]
    fn spans_equal_the_yaml_readers_on_the_corpora() {
        let (mut compared, mut other) = (0, 0);
        for src in crate::testing::corpus_sources("json") {
            match agrees_with_yaml(&src) {
                Ok(true) => compared += 1,
                Ok(false) => other += 1,
                Err(e) => panic!("{}: {e}", src.name()),
            }
        }
        eprintln!("{compared} JSON files compared, {other} not JSON that both read");
        // The committed corpus alone holds 8 (the fuzz corpus, when made, many more).
        assert!(compared >= 8, "{compared} files compared");
    }

    /// A JSON value, written out with the whitespace `ws` cycles through.
    #[derive(Debug, Clone)]
    enum J {
        Leaf(&'static str),
        List(Vec<J>),
        Map(Vec<(&'static str, J)>),
    }

    fn write(j: &J, ws: &[&str], n: &mut usize, out: &mut String) {
        let space = |out: &mut String, n: &mut usize| {
            out.push_str(ws[*n % ws.len()]);
            *n += 1;
        };
        match j {
            J::Leaf(s) => out.push_str(s),
            J::List(items) => {
                out.push('[');
                for (i, x) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, n);
                    write(x, ws, n, out);
                    space(out, n);
                }
                out.push(']');
            }
            J::Map(entries) => {
                out.push('{');
                for (i, (k, x)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    space(out, n);
                    out.push_str(k);
                    space(out, n);
                    out.push(':');
                    space(out, n);
                    write(x, ws, n, out);
                }
                space(out, n);
                out.push('}');
            }
        }
    }

    fn doc() -> impl Strategy<Value = String> {
        let leaf = prop::sample::select(vec![
            "1",
            "-2.5e3",
            "0",
            "true",
            "false",
            "null",
            "\"\"",
            "\"x\"",
            "\"é ü\"",
            "\"a\\\"b\"",
            "\"\\u00e9\\n\"",
            "\"🙂\"",
            "\"\\\\\"",
        ])
        .prop_map(J::Leaf);
        // Keys repeat, also spelled with escapes (`\u0061` is `a`).
        let key = prop::sample::select(vec![
            "\"a\"",
            "\"b\"",
            "\"\\u0061\"",
            "\"é\"",
            "\"~/\"",
            "\"0\"",
            "\"a b\"",
            "\"\\\"\"",
        ]);
        let value = leaf.prop_recursive(8, 200, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(J::List),
                prop::collection::vec((key.clone(), inner), 0..6).prop_map(J::Map),
            ]
        });
        let ws = prop::sample::select(vec!["", " ", "\n", "  \n    ", "\r\n", "\t"]);
        (value, prop::collection::vec(ws, 1..8), any::<bool>()).prop_map(|(v, ws, bom)| {
            let mut out = if bom {
                "\u{feff}".to_owned()
            } else {
                String::new()
            };
            write(&v, &ws, &mut 0, &mut out);
            out
        })
    }

    proptest! {
        #[test]
        fn spans_equal_the_yaml_readers_on_generated_json(text in doc()) {
            let s = src(&text);
            prop_assert!(agrees_with_yaml(&s).is_ok(), "{text}: {:?}", agrees_with_yaml(&s));
            // The quick check says clean exactly when the full read reports nothing.
            prop_assert_eq!(is_clean(&s), read(&s).diagnostics.is_empty(), "{}", text);
            // The value built with lists sized in advance is serde_json's.
            if let Some(v) = super::super::json::value_only(&s) {
                let body = text.strip_prefix('\u{feff}').unwrap_or(&text);
                prop_assert_eq!(Some(v), serde_json::from_str(body).ok(), "{}", text);
            }
        }
    }

    #[test]
    fn repeated_keys_are_reported_where_they_are_given_again() {
        let text = r#"{"a": {"b": 1, "b": [2]}, "\u0061": 3}"#;
        let s = src(text);
        let got = read(&s);
        let shown: Vec<(String, Vec<&str>)> = got
            .diagnostics
            .iter()
            .map(|d| {
                let spans = d.labels.iter().map(|l| s.slice(l.span)).collect();
                (d.message.clone(), spans)
            })
            .collect();
        assert_eq!(
            shown,
            [
                (
                    "key `b` is given twice in this mapping".into(),
                    vec!["\"b\"", "\"b\""]
                ),
                (
                    "key `a` is given twice in this mapping".into(),
                    vec!["\"\\u0061\"", "\"a\""]
                ),
            ]
        );
        assert!(got
            .diagnostics
            .iter()
            .all(|d| d.code == codes::DUPLICATE_KEY));
        assert_eq!(got.diagnostics[0].labels[0].span, Span::new(15, 18));
        // The first key stays what pointers name.
        assert_eq!(s.slice(got.table.value_span("/a")), r#"{"b": 1, "b": [2]}"#);
        assert_eq!(s.slice(got.table.value_span("/a/b")), "1");
        assert!(!is_clean(&s));
        assert_eq!(agrees_with_yaml(&s), Ok(true));
    }

    #[test]
    fn nesting_deeper_than_the_limit_stops_the_read_at_the_first_bracket_too_many() {
        for (open, close) in [("[", "]"), ("{\"a\":", "}")] {
            let ok = format!("{}1{}", open.repeat(MAX_DEPTH), close.repeat(MAX_DEPTH));
            let s = src(&ok);
            assert!(read(&s).diagnostics.is_empty() && is_clean(&s));
            let deep = format!(
                "{}1{}",
                open.repeat(MAX_DEPTH + 1),
                close.repeat(MAX_DEPTH + 1)
            );
            let s = src(&deep);
            let got = read(&s);
            assert_eq!(got.diagnostics.len(), 1);
            let d = &got.diagnostics[0];
            assert_eq!(
                (d.code, d.message.as_str()),
                (codes::TOO_DEEP, &*too_deep_message())
            );
            let at = MAX_DEPTH * open.len();
            assert_eq!(d.labels[0].span, Span::new(at, at + 1));
            assert!(!is_clean(&s));
            assert_eq!(agrees_with_yaml(&s), Ok(true));
        }
        // Far deeper than any stack would allow recursion: no overflow, one diagnostic.
        let s = src(&"[".repeat(1 << 20));
        assert_eq!(read(&s).diagnostics.len(), 1);
    }

    #[test]
    fn spans_of_keys_values_and_containers() {
        let text = "\u{feff}{\"name\" :\"wéb\",\n\t\"list\": [ 1 , {\"k\": null}, [] ] }  ";
        let s = src(text);
        let t = read(&s).table;
        let at = |p: &str| (s.slice(t.key_span(p)), s.slice(t.value_span(p)));
        // A string or closing bracket counts the blanks after it on its line (as the YAML
        // reader did; diagnostics keep their spans); a number does not.
        assert_eq!(at("/name"), ("\"name\" ", "\"wéb\""));
        assert_eq!(at("/list/0"), ("1", "1"));
        assert_eq!(at("/list/1/k"), ("\"k\"", "null"));
        assert_eq!(at("/list/2"), ("[] ", "[] "));
        assert_eq!(at("/list").1, "[ 1 , {\"k\": null}, [] ] ");
        assert_eq!(at("").1, &text[3..]);
        assert_eq!(agrees_with_yaml(&s), Ok(true));
    }

    #[test]
    fn reading_stops_at_what_is_not_json() {
        // Whatever was read before stays; serde_json reports the syntax.
        for text in [
            "{\"a\": 1, \"a\": 2,}",
            "{\"a\": 1, \"a\": 2 \"b\"",
            "{\"a\": 1, \"a\": 2",
        ] {
            let got = read(&src(text));
            assert_eq!(got.diagnostics.len(), 1, "{text}");
            assert!(!is_clean(&src(text)), "{text}");
        }
        for text in [
            "",
            "{",
            "{a: 1}",
            "[1,,2]",
            "{\"a\" 1}",
            "{\"\\x\": 1}",
            "{\"\\u12\": 1}",
            "[\"é",
        ] {
            assert!(read(&src(text)).diagnostics.is_empty(), "{text}");
            assert!(!is_clean(&src(text)), "{text}");
        }
    }
}

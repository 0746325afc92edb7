//! A streaming reader for clean TOML: the value and its span table straight from `toml_parser`'s
//! lexer, one token at a time. `toml`'s `DeTable` first collects every token and every parser
//! event (24 bytes each, two per item of `[1,1,...]`) and then a `Spanned` tree, all alive at
//! once: 56 times the input at the 16 MiB cap. Here nothing but the value and the spans grows.
//!
//! It reads only what it is sure of and gives up (`None`) on anything else: an error, a
//! redefined key or table, dotted keys it cannot place without `toml`'s
//! rules, newlines or a trailing comma in an inline table, deep nesting. [`super::toml::parse`]
//! then reads the file with `toml` as before, so every diagnostic is `toml`'s own. Scalars and
//! comments are checked by `toml_parser`'s decoders; spans are the ones `DeTable` gives.

use std::borrow::Cow;
use std::collections::HashMap;
use std::iter::Peekable;
use std::sync::Arc;

use serde_json::{Map, Value};
use toml_parser::decoder::ScalarKind;
use toml_parser::lexer::{Lexer, Token, TokenKind};
use toml_parser::{ErrorSink, ParseError, Source};

use super::{stream, NodeId, SpanTable, MAX_DEPTH};
use crate::span::{SourceFile, Span};

/// The value and spans of a TOML document that reads cleanly, as [`super::toml::parse`] would
/// give them; `None` when the document has anything to report or anything unusual.
pub fn read(src: &Arc<SourceFile>) -> Option<(Value, SpanTable)> {
    let mut r = Reader::new(src.text(), true, true, None);
    let value = r.run()?;
    Some((value, r.spans))
}

/// [`read`] recording no spans, and handing the `[[processes]]` tables after the first to
/// `entries` as each is complete (at the next `[[processes]]` header or the end: a header
/// `[processes.x]` adds to the last one only), instead of keeping them in the value; `None`
/// also where `entries` gives up.
pub fn value_streamed(src: &Arc<SourceFile>, entries: &mut stream::Entries<'_>) -> Option<Value> {
    let text = src.text();
    entries.expect(count_entries(text));
    let mut sink = |i: usize, v: Value| entries.take(i, v).map_err(|_| ());
    Reader::new(text, false, true, Some(&mut sink)).run()
}

/// The span table of a TOML document that reads cleanly (what [`value_streamed`] did not
/// record). No value is built (the caller holds it: a second copy of a list of 5 M items
/// was 10x the input), and entries' tables are dropped as each is complete.
pub fn spans_of(src: &Arc<SourceFile>) -> SpanTable {
    let mut drop_it = |_: usize, _: Value| Ok(());
    let mut r = Reader::new(src.text(), true, false, Some(&mut drop_it));
    match r.run() {
        Some(_) => r.spans,
        None => super::toml::parse(src).spans,
    }
}

/// The number of `[[processes]]` headers (a hint for [`stream::Entries::expect`]).
fn count_entries(text: &str) -> usize {
    text.lines().filter(|l| l.trim() == "[[processes]]").count()
}

/// How a table of the document came to be (`toml`'s rules differ for each).
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The root, or a `[header]` / `[[header]]` table.
    Defined,
    /// Named on the way to a header (`a` of `[a.b]`).
    Implicit,
    /// Made by a dotted key in the given section (`a` of `a.b = 1`).
    Dotted(u32),
}

/// A table that headers and dotted keys may still add to. Finished values go to `map`; tables
/// that may grow stay apart in `subs` until the end.
struct Table {
    map: Map<String, Value>,
    subs: HashMap<String, Sub>,
    node: NodeId,
    kind: Kind,
    /// Nesting depth of this table's value, as `toml::parse` counts it.
    depth: usize,
}

enum Sub {
    Table(usize),
    /// An array of tables (`[[header]]`): its span node, its tables, and how many of its
    /// tables were taken away as entries before those (see [`value_streamed`]).
    Tables(NodeId, Vec<usize>, usize),
}

impl Table {
    fn new(node: NodeId, kind: Kind, depth: usize) -> Table {
        Table {
            map: Map::new(),
            subs: HashMap::new(),
            node,
            kind,
            depth,
        }
    }

    fn has(&self, key: &str) -> bool {
        self.map.contains_key(key) || self.subs.contains_key(key)
    }
}

/// Moves table `i` and everything under it into a value (recursion is bounded: tables nest
/// less than [`MAX_DEPTH`] deep, or the reader gave up).
fn finish(tables: &mut [Table], i: usize) -> Value {
    let mut map = std::mem::take(&mut tables[i].map);
    let subs = std::mem::take(&mut tables[i].subs);
    for (key, sub) in subs {
        let value = match sub {
            Sub::Table(t) => finish(tables, t),
            Sub::Tables(_, ts, _) => {
                Value::Array(ts.into_iter().map(|t| finish(tables, t)).collect())
            }
        };
        map.insert(key, value);
    }
    Value::Object(map)
}

/// Lists shorter than this grow as vectors do.
const LONG_LIST: usize = 1024;

/// The number (in the order their `[` comes) and length of each list of at least
/// [`LONG_LIST`] items, the last first: one pass of the lexer, so that the reader allocates a
/// long list once instead of doubling it (each doubling briefly holds both copies, and the
/// allocator may keep the old one: a third more memory at the cap). Only a hint: on a document
/// the reader gives up on, it may be wrong, and costs nothing more than untouched capacity.
fn long_lists(text: &str) -> Vec<(usize, usize)> {
    /// An open `[` (its number, commas, and whether an item follows the last comma) or `{`.
    enum Open {
        List(usize, usize, bool),
        Table,
    }
    let mut found = Vec::new();
    // A list of n items has n - 1 commas: without that many, skip the pass.
    if text.bytes().filter(|&b| b == b',').count() + 1 < LONG_LIST {
        return found;
    }
    let mut open: Vec<Open> = Vec::new();
    let mut arrays = 0;
    let mut after_equals = false;
    for t in Source::new(text).lex() {
        let kind = t.kind();
        if matches!(
            kind,
            TokenKind::Whitespace | TokenKind::Comment | TokenKind::Newline
        ) {
            continue;
        }
        if let Some(Open::List(_, commas, item)) = open.last_mut() {
            match kind {
                TokenKind::Comma => (*commas, *item) = (*commas + 1, false),
                TokenKind::RightSquareBracket => {}
                _ => *item = true,
            }
        }
        match kind {
            // A value's `[`: after `=`, or inside a list. (`[` of a header is neither.)
            TokenKind::LeftSquareBracket
                if after_equals || matches!(open.last(), Some(Open::List(..))) =>
            {
                open.push(Open::List(arrays, 0, false));
                arrays += 1;
            }
            TokenKind::RightSquareBracket => {
                if let Some(Open::List(n, commas, item)) = open.last() {
                    let len = commas + usize::from(*item);
                    if len >= LONG_LIST {
                        found.push((*n, len));
                    }
                    open.pop();
                }
            }
            TokenKind::LeftCurlyBracket => open.push(Open::Table),
            TokenKind::RightCurlyBracket => {
                if matches!(open.last(), Some(Open::Table)) {
                    open.pop();
                }
            }
            _ => {}
        }
        after_equals = kind == TokenKind::Equals;
        if open.len() > DEPTH_LIMIT {
            return Vec::new(); // the reader gives up there anyway
        }
    }
    // Lists end inner first: order them by number, the last first for popping.
    found.sort_unstable_by_key(|x| std::cmp::Reverse(x.0));
    found
}

/// Notes whether a decoder found a problem (the reader then gives up).
#[derive(Default)]
struct Failed(bool);

impl ErrorSink for Failed {
    fn report_error(&mut self, _error: ParseError) {
        self.0 = true;
    }
}

/// Deeper than this, leave the document to `toml::parse` and its depth diagnostic.
const DEPTH_LIMIT: usize = MAX_DEPTH - 4;

fn span(t: &Token) -> Span {
    Span::new(t.span().start(), t.span().end())
}

/// Where the `[[processes]]` tables after the first go as each is complete: its index and
/// value.
type EntrySink<'a> = &'a mut dyn FnMut(usize, Value) -> Result<(), ()>;

struct Reader<'i> {
    source: Source<'i>,
    tokens: Peekable<Lexer<'i>>,
    spans: SpanTable,
    /// `false`: record no spans (every node is 0).
    record: bool,
    /// `false`: build no value (every value is `null`, a key's presence is all that counts).
    build: bool,
    entries: Option<EntrySink<'i>>,
    /// A table that is not part of the last entry was made after it began: its tables are
    /// not the last of `tables`, so they stay when it is taken.
    interleaved: bool,
    tables: Vec<Table>,
    /// The table the current section's keys go to.
    current: usize,
    /// Counts headers, so that dotted keys extend only the tables of their own section.
    section: u32,
    /// The lengths of the long lists, by their number in the order their `[` comes, for the
    /// next `[` first (see [`long_lists`]).
    lengths: Vec<(usize, usize)>,
    /// Arrays begun so far.
    arrays: usize,
}

impl<'i> Reader<'i> {
    fn new(text: &'i str, record: bool, build: bool, entries: Option<EntrySink<'i>>) -> Reader<'i> {
        let source = Source::new(text);
        let mut spans = SpanTable::default();
        let root = spans.root(Span::new(0, text.len()));
        Reader {
            source,
            tokens: source.lex().peekable(),
            spans,
            record,
            build,
            entries,
            interleaved: false,
            tables: vec![Table::new(root, Kind::Defined, 0)],
            current: 0,
            section: 0,
            lengths: long_lists(text),
            arrays: 0,
        }
    }

    /// Reads the document: its value, without the entries taken.
    fn run(&mut self) -> Option<Value> {
        self.document()?;
        self.take_last_entry()?;
        let root = &self.tables[0];
        if root.map.is_empty() && root.subs.is_empty() {
            return None; // `toml::parse` says the description is empty
        }
        Some(finish(&mut self.tables, 0))
    }

    /// Hands the last `[[processes]]` table to the entry sink if it is not the first: at the
    /// next `[[processes]]` header, or at the end.
    fn take_last_entry(&mut self) -> Option<()> {
        if self.entries.is_none() {
            return Some(());
        }
        let Some(Sub::Tables(_, ts, taken)) = self.tables[0].subs.get_mut("processes") else {
            return Some(());
        };
        if ts.len() < 2 {
            return Some(());
        }
        let t = ts.pop()?;
        let index = *taken + ts.len();
        *taken += 1;
        let value = finish(&mut self.tables, t);
        // Its tables are the last ones unless another was made since it began.
        if !self.interleaved {
            self.tables.truncate(t);
        }
        let take = self.entries.as_mut()?;
        take(index, value).ok()
    }

    fn key_node(&mut self, parent: NodeId, key: &str, key_span: Span, value: Span) -> NodeId {
        if self.record {
            self.spans.key(parent, key, key_span, value)
        } else {
            0
        }
    }

    fn item_node(&mut self, list: NodeId, index: usize, value: Span) -> NodeId {
        if self.record {
            self.spans.item(list, index, value)
        } else {
            0
        }
    }

    fn next(&mut self) -> Option<Token> {
        self.tokens.next()
    }

    fn peek_kind(&mut self) -> Option<TokenKind> {
        self.tokens.peek().map(Token::kind)
    }

    fn skip_ws(&mut self) {
        while self.peek_kind() == Some(TokenKind::Whitespace) {
            self.tokens.next();
        }
    }

    /// Skips whitespace, newlines and comments (inside an array).
    fn skip_blank(&mut self) -> Option<()> {
        loop {
            match self.peek_kind()? {
                TokenKind::Whitespace => {
                    self.next();
                }
                TokenKind::Newline | TokenKind::Comment => {
                    let t = self.next()?;
                    self.check_blank(&t)?;
                }
                _ => return Some(()),
            }
        }
    }

    /// Checks a newline or comment token as `toml` does (no stray `\r`, no control chars).
    fn check_blank(&self, t: &Token) -> Option<()> {
        let raw = self.source.get(t)?;
        let mut failed = Failed::default();
        if t.kind() == TokenKind::Comment {
            raw.decode_comment(&mut failed);
        } else {
            raw.decode_newline(&mut failed);
        }
        (!failed.0).then_some(())
    }

    /// Whitespace, an optional comment, then a newline or the end.
    fn line_end(&mut self) -> Option<()> {
        self.skip_ws();
        if self.peek_kind()? == TokenKind::Comment {
            let t = self.next()?;
            self.check_blank(&t)?;
        }
        match self.peek_kind()? {
            TokenKind::Newline => {
                let t = self.next()?;
                self.check_blank(&t)
            }
            TokenKind::Eof => Some(()), // left for the document's loop
            _ => None,
        }
    }

    fn document(&mut self) -> Option<()> {
        loop {
            let t = self.next()?;
            match t.kind() {
                TokenKind::Whitespace => {}
                TokenKind::Newline | TokenKind::Comment => self.check_blank(&t)?,
                TokenKind::Eof => return Some(()),
                TokenKind::LeftSquareBracket => {
                    self.header(&t)?;
                    self.line_end()?;
                }
                TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString => {
                    self.keyval(t)?;
                    self.line_end()?;
                }
                _ => return None,
            }
        }
    }

    /// One simple key (decoded) and its span.
    fn simple_key(&self, t: &Token) -> Option<(String, Span)> {
        if !matches!(
            t.kind(),
            TokenKind::Atom | TokenKind::BasicString | TokenKind::LiteralString
        ) {
            return None;
        }
        let raw = self.source.get(t)?;
        let mut out = Cow::Borrowed("");
        let mut failed = Failed::default();
        raw.decode_key(&mut out, &mut failed);
        (!failed.0).then(|| (out.into_owned(), span(t)))
    }

    /// A key starting with `first`, dotted or not; stops before what follows it (whitespace
    /// included).
    fn key(&mut self, first: Token) -> Option<Vec<(String, Span)>> {
        let mut path = vec![self.simple_key(&first)?];
        loop {
            self.skip_ws();
            if self.peek_kind() != Some(TokenKind::Dot) {
                return Some(path);
            }
            self.next();
            self.skip_ws();
            let t = self.next()?;
            path.push(self.simple_key(&t)?);
            if path.len() > DEPTH_LIMIT {
                return None;
            }
        }
    }

    /// `[a.b]` or `[[a.b]]`, its `[` read: makes its table the current one.
    fn header(&mut self, open: &Token) -> Option<()> {
        let array = self.peek_kind() == Some(TokenKind::LeftSquareBracket)
            && self.tokens.peek()?.span().start() == open.span().end();
        if array {
            self.next();
        }
        self.skip_ws();
        let first = self.next()?;
        let mut path = self.key(first)?;
        let mut close = self.next()?;
        if close.kind() != TokenKind::RightSquareBracket {
            return None;
        }
        if array {
            let second = self.next()?;
            if second.kind() != TokenKind::RightSquareBracket
                || second.span().start() != close.span().end()
            {
                return None;
            }
            close = second;
        }
        let whole = Span::new(open.span().start(), close.span().end());
        let entry = array && path.len() == 1 && path[0].0 == "processes";
        if entry {
            self.take_last_entry()?;
            self.interleaved = false;
        } else if path[0].0 != "processes" {
            self.interleaved = true;
        }
        let (name, key_span) = path.pop()?;
        let mut at = 0;
        for (seg, seg_span) in path {
            at = self.descend(at, seg, seg_span, None)?;
        }
        let parent = &self.tables[at];
        let depth = parent.depth + 1;
        if depth + 1 > DEPTH_LIMIT {
            return None;
        }
        let parent_node = parent.node;
        self.section += 1;
        if array {
            let item_depth = depth + 1;
            let next_index = self.tables.len();
            let (list_node, index) = match self.tables[at].subs.get_mut(&name) {
                Some(Sub::Tables(node, ts, taken)) => {
                    ts.push(next_index);
                    (*node, *taken + ts.len() - 1)
                }
                Some(Sub::Table(_)) => return None,
                None => {
                    if self.tables[at].map.contains_key(&name) {
                        return None;
                    }
                    let node = self.key_node(parent_node, &name, key_span, whole);
                    self.tables[at]
                        .subs
                        .insert(name, Sub::Tables(node, vec![next_index], 0));
                    (node, 0)
                }
            };
            let node = self.item_node(list_node, index, whole);
            self.tables
                .push(Table::new(node, Kind::Defined, item_depth));
        } else {
            // Also a table named before on the way to another header: `toml` accepts that,
            // but moves the key; leave it to `toml`.
            if self.tables[at].has(&name) {
                return None;
            }
            let node = self.key_node(parent_node, &name, key_span, whole);
            let next_index = self.tables.len();
            self.tables.push(Table::new(node, Kind::Defined, depth));
            self.tables[at].subs.insert(name, Sub::Table(next_index));
        }
        self.current = self.tables.len() - 1;
        Some(())
    }

    /// Table `key` of table `at`, made if missing: on a header's path (`dotted` is `None`) or
    /// by a dotted key of the current section.
    fn descend(
        &mut self,
        at: usize,
        key: String,
        key_span: Span,
        dotted: Option<u32>,
    ) -> Option<usize> {
        let parent = &self.tables[at];
        match parent.subs.get(&key) {
            Some(&Sub::Table(t)) => {
                let ok = match (self.tables[t].kind, dotted) {
                    (Kind::Defined | Kind::Implicit, None) => true,
                    (Kind::Dotted(s), Some(now)) => s == now,
                    _ => false,
                };
                ok.then_some(t)
            }
            Some(Sub::Tables(_, ts, _)) if dotted.is_none() => ts.last().copied(),
            Some(Sub::Tables(..)) => None,
            None => {
                if parent.map.contains_key(&key) {
                    return None;
                }
                let depth = parent.depth + 1;
                if depth > DEPTH_LIMIT {
                    return None;
                }
                let node = parent.node;
                let node = self.key_node(node, &key, key_span, key_span);
                let kind = dotted.map_or(Kind::Implicit, Kind::Dotted);
                let next_index = self.tables.len();
                self.tables.push(Table::new(node, kind, depth));
                self.tables[at].subs.insert(key, Sub::Table(next_index));
                Some(next_index)
            }
        }
    }

    /// `key = value` of the current section, its first token read.
    fn keyval(&mut self, first: Token) -> Option<()> {
        let mut path = self.key(first)?;
        if self.next()?.kind() != TokenKind::Equals {
            return None;
        }
        self.skip_ws();
        let (name, key_span) = path.pop()?;
        let mut at = self.current;
        for (seg, seg_span) in path {
            at = self.descend(at, seg, seg_span, Some(self.section))?;
        }
        let t = &self.tables[at];
        if t.has(&name) {
            return None;
        }
        let (parent_node, depth) = (t.node, t.depth + 1);
        let value = self.value(parent_node, &name, key_span, depth)?;
        self.tables[at].map.insert(name, value);
        Some(())
    }

    /// A value at `depth`, recorded as key `name` of node `parent`.
    fn value(&mut self, parent: NodeId, name: &str, key_span: Span, depth: usize) -> Option<Value> {
        let node = self.key_node(parent, name, key_span, Span::default());
        self.value_at(node, depth)
    }

    /// The value starting at the next token, recorded at `node` (its span set here).
    fn value_at(&mut self, node: NodeId, depth: usize) -> Option<Value> {
        if depth > DEPTH_LIMIT {
            return None;
        }
        let t = self.next()?;
        let (value, end) = match t.kind() {
            TokenKind::LeftSquareBracket => self.array(node, depth)?,
            TokenKind::LeftCurlyBracket => self.inline_table(node, depth)?,
            TokenKind::Atom => {
                let span = self.atoms(&t);
                (self.scalar(self.source.get(span)?)?, span.end())
            }
            TokenKind::BasicString
            | TokenKind::LiteralString
            | TokenKind::MlBasicString
            | TokenKind::MlLiteralString => (self.scalar(self.source.get(t)?)?, t.span().end()),
            _ => return None,
        };
        let value = if self.build { value } else { Value::Null };
        if self.record {
            self.spans.set_value(node, Span::new(t.span().start(), end));
        }
        Some(value)
    }

    /// The span of an unquoted scalar starting with atom `first`, as `toml_parser` joins it:
    /// with the dots and atoms that follow (`1.5`, `1e3`), and an atom after a blank (the time
    /// of `1979-05-27 07:32:00`).
    fn atoms(&mut self, first: &Token) -> toml_parser::Span {
        let mut span = first.span();
        let text = self.source.input().as_bytes();
        loop {
            match self.tokens.peek() {
                Some(t) if matches!(t.kind(), TokenKind::Dot | TokenKind::Atom) => {}
                // The lexer's atom ends at these bytes (and starts at any other).
                Some(t) if t.kind() == TokenKind::Whitespace => {
                    let after = text.get(t.span().end());
                    if after.is_none_or(|b| b".=,[]{} \t#\r\n'\"".contains(b)) {
                        return span;
                    }
                    self.tokens.next();
                }
                _ => return span,
            }
            if let Some(t) = self.tokens.next() {
                span = span.append(t.span());
            }
        }
    }

    fn scalar(&self, raw: toml_parser::Raw<'_>) -> Option<Value> {
        let mut out = Cow::Borrowed("");
        let mut failed = Failed::default();
        let kind = raw.decode_scalar(&mut out, &mut failed);
        if failed.0 {
            return None;
        }
        match kind {
            ScalarKind::String => Some(Value::String(out.into_owned())),
            ScalarKind::Boolean(b) => Some(Value::Bool(b)),
            // As `toml::parse` reads them; one too large for i64 is left to it.
            ScalarKind::Integer(radix) => i64::from_str_radix(&out, radix.value())
                .ok()
                .map(|n| Value::Number(n.into())),
            // As `toml::parse` reads them (a float is then reported by the rules, a date by
            // the schema); a date `toml` cannot read is left to it, for its error.
            ScalarKind::Float => Some(super::toml::float_value(&out)),
            ScalarKind::DateTime => out
                .parse::<toml::value::Datetime>()
                .ok()
                .map(|d| Value::String(d.to_string())),
        }
    }

    /// An array, its `[` read; the value and the end of its `]`.
    fn array(&mut self, node: NodeId, depth: usize) -> Option<(Value, usize)> {
        let number = self.arrays;
        self.arrays += 1;
        let mut items = Vec::new();
        let mut len = 0;
        while let Some(&(at, n)) = self.lengths.last() {
            if at > number {
                break;
            }
            self.lengths.pop();
            if at == number {
                if self.build {
                    items.reserve_exact(n);
                }
                if self.record {
                    self.spans.reserve_items(node, n);
                }
            }
        }
        loop {
            self.skip_blank()?;
            if self.peek_kind()? == TokenKind::RightSquareBracket {
                let close = self.next()?;
                return Some((Value::Array(items), close.span().end()));
            }
            let start = self.tokens.peek()?.span().start();
            let item = self.item_node(node, len, Span::new(start, start));
            let value = self.value_at(item, depth + 1)?;
            if self.build {
                items.push(value);
            }
            len += 1;
            self.skip_blank()?;
            let t = self.next()?;
            match t.kind() {
                TokenKind::Comma => {}
                TokenKind::RightSquareBracket => {
                    return Some((Value::Array(items), t.span().end()))
                }
                _ => return None,
            }
        }
    }

    /// An inline table on one line without a trailing comma (TOML 1.0), its `{` read; the
    /// value and the end of its `}`.
    fn inline_table(&mut self, node: NodeId, depth: usize) -> Option<(Value, usize)> {
        let mut map = Map::new();
        self.skip_ws();
        if self.peek_kind()? == TokenKind::RightCurlyBracket {
            let close = self.next()?;
            return Some((Value::Object(map), close.span().end()));
        }
        loop {
            let first = self.next()?;
            let (name, key_span) = self.simple_key(&first)?;
            self.skip_ws();
            if self.next()?.kind() != TokenKind::Equals || map.contains_key(&name) {
                return None; // dotted keys and repeated keys are left to `toml`
            }
            self.skip_ws();
            let value = self.value(node, &name, key_span, depth + 1)?;
            map.insert(name, value);
            self.skip_ws();
            let t = self.next()?;
            match t.kind() {
                TokenKind::Comma => self.skip_ws(),
                TokenKind::RightCurlyBracket => return Some((Value::Object(map), t.span().end())),
                _ => return None,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frontend::{escape_segment, toml::parse_tree};

    /// Every pointer of `v`, the root's included.
    fn pointers(v: &Value, at: String, out: &mut Vec<String>) {
        match v {
            Value::Object(m) => {
                for (k, x) in m {
                    pointers(x, format!("{at}/{}", escape_segment(k)), out);
                }
            }
            Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    pointers(x, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
        out.push(at);
    }

    /// Whether the streaming reader read `text`; when it did, it agrees with `toml` on the
    /// value and on the span of every key and value.
    fn agrees(text: &str) -> bool {
        let src = SourceFile::new("x.toml", text);
        let Some((value, spans)) = read(&src) else {
            return false;
        };
        let doc = parse_tree(&src);
        assert!(
            doc.diagnostics.is_empty(),
            "{text:?}: {:?}",
            doc.diagnostics
        );
        assert_eq!(doc.value.as_ref(), Some(&value), "{text:?}");
        let mut ptrs = Vec::new();
        pointers(&value, String::new(), &mut ptrs);
        // Read entry by entry, the spans are the same, and the entries come in order.
        let streamed = spans_of(&src);
        let mut taken = Vec::new();
        let mut sink = |i: usize, v: Value| {
            taken.push((i, v));
            Ok(())
        };
        let rest = Reader::new(text, false, true, Some(&mut sink)).run();
        let mut whole = rest.clone();
        if let Some(Value::Array(list)) = whole.as_mut().and_then(|v| v.get_mut("processes")) {
            for (i, v) in taken {
                assert_eq!(i, list.len(), "{text:?}");
                list.push(v);
            }
        }
        assert_eq!(whole.as_ref(), Some(&value), "{text:?}");
        for p in ptrs {
            assert_eq!(
                (streamed.value_span(&p), streamed.key_span(&p)),
                (spans.value_span(&p), spans.key_span(&p)),
                "{text:?} {p}"
            );
            assert!(spans.contains(&p), "{text:?} {p}");
            assert_eq!(
                spans.value_span(&p),
                doc.spans.value_span(&p),
                "{text:?} {p}"
            );
            assert_eq!(spans.key_span(&p), doc.spans.key_span(&p), "{text:?} {p}");
        }
        true
    }

    #[test]
    fn the_examples_are_read_as_toml_reads_them() {
        for text in [
            include_str!("../../../examples/webstack.toml"),
            include_str!("../../../examples/cron.toml"),
        ] {
            assert!(agrees(text), "{text}");
        }
    }

    #[test]
    fn clean_documents_are_read_as_toml_reads_them() {
        for text in [
            "a = 1",
            "a = 1\n",
            "\u{feff}a = 1\r\n",
            "  a=\"x\"   # c\n\n# only a comment\nb = 'y'\n",
            "\"quoted key\" = 1\n'lit.key' = 2\n\"\" = 3\n\"a~b/c\" = 4\n",
            "a.b.c = 1\na.b.d = true\na . e = -3\n",
            "x = [1, [2, 3], [], [ [ ] ], {a = 1, b = [\"s\"]}, {}]\n",
            "x = [\n  1, # one\n  2,\n]\n",
            "x = 0x1f\ny = 0o17\nz = 0b101\nw = 1_000\nv = +7\n",
            "s = \"\\u00e9\\t\\\"q\\\"\"\nm = \"\"\"\nline\n  two\"\"\"\nl = '''\nraw\\n'''\n",
            "[a]\nx = 1\n[b.c]\ny = 2\n[b.d]\nz = 3\n",
            "[ a . \"b c\" ]\nx = 1\n",
            "[[p]]\nn = 1\n[p.r]\ns = 2\n[[p]]\nn = 2\nr = { s = 3 }\n[[p.q]]\nk = 1\n",
            "[a]\nb.c = 1\nb.d = 2\n[x]\nb.c = 3\n",
            "[[a]]\nb.c = 1\n[[a]]\nb.c = 2\n",
            "[[processes]]\nn = 1\n[[processes]]\nn = 2\n[processes.r]\nx.y = 1\n[g]\nz = 1\n[processes.s]\nw = 1\n[[processes]]\nn = 3\n[[h]]\n[[processes]]\n",
            "processes = [{n = 1}, {n = 2}]\n",
            "name = \"é\"\nk = \"日本\"\n[\"ü\"]\nv = 1\n",
            "a = { b = { c = { d = [1] } } }\n",
            "key = [1,1,1,1]",
            "a = 1.5\nb = [1, 2.0]\nc = inf\nd = -nan\ne = 1e3\nf = 1_000.5\ng = -0.0\n",
            "a = 1979-05-27\nb = 1979-05-27 07:32:00\nc = 07:32:00\nd = 1979-05-27T00:32:00.999999-07:00\n",
        ] {
            assert!(agrees(text), "not read: {text:?}");
        }
    }

    #[test]
    fn anything_unusual_is_left_to_toml() {
        for text in [
            "",
            "# nothing\n",
            "a = 1.5.5\n",
            "a = 1979-13-27\n",
            "a = 99999999999999999999\n",
            "a = 1\na = 2\n",
            "a.b = 1\na = 2\n",
            "[a.b]\n[a]\n",
            "[a]\n[a]\n",
            "[a]\nb.c = 1\n[a.b]\n",
            "[a]\nb.c = 1\n[x]\n[a]\n",
            "a.b = 1\n[a]\n",
            "a = {b = 1}\n[a]\n",
            "a = {b = 1}\na.c = 2\n",
            "a = [{b = 1}]\n[[a]]\n",
            "[a]\n[[a]]\n",
            "[[a]]\n[a]\n",
            "a = {b = 1,}\n",
            "a = {\nb = 1}\n",
            "a = {b.c = 1}\n",
            "a = {b = 1, b = 2}\n",
            "a = 1 b = 2\n",
            "a = \n",
            "a = 1\r",
            "a = 1 # \u{7}\n",
            "a = \"x\ny\"\n",
            "[ [a] ]\n",
            "[[a] ]\n",
            "[a\n",
            "a = [1 2]\n",
            "a = [,]\n",
            "= 1\n",
            "a b = 1\n",
            "\"\"\"k\"\"\" = 1\n",
            "a = x\n",
        ] {
            assert!(!agrees(text), "read: {text:?}");
        }
        let deep = format!("a = {}{}\n", "[".repeat(70), "]".repeat(70));
        assert!(!agrees(&deep));
        let deep = format!("[{}]\n", vec!["a"; 70].join("."));
        assert!(!agrees(&deep));
    }

    #[test]
    fn long_lists_are_found_in_order_with_their_lengths() {
        let many = |n: usize| vec!["1"; n].join(", ");
        let text = format!(
            "[[h]]\na = [[1, 2], [{}], {{b = [{},]}}]\n[t]\nc = [\n{}, # x\n]\nd = [{}]\n",
            many(2000),
            many(1500),
            many(1024),
            many(1023)
        );
        assert_eq!(
            long_lists(&text),
            [(4, 1024), (3, 1500), (2, 2000), (0, 3)]
                .into_iter()
                .filter(|x| x.1 >= LONG_LIST)
                .collect::<Vec<_>>()
        );
        assert!(agrees(&text));
    }

    /// Random documents from fragments: whatever the reader accepts, `toml` accepts alike.
    #[test]
    fn what_the_reader_accepts_toml_reads_alike() {
        const BITS: &[&str] = &[
            "a",
            "b",
            "\"c\"",
            "'d'",
            ".",
            "=",
            " ",
            "\n",
            "[",
            "]",
            "[[",
            "]]",
            "{",
            "}",
            ",",
            "1",
            "-2",
            "0x1f",
            "true",
            "\"s\"",
            "'t'",
            "1.5",
            "inf",
            "-1e3",
            "1979-05-27",
            "07:32:00",
            "#c",
            "\r\n",
            "\t",
            "\"\"\"m\"\"\"",
            "a = 1\n",
            "[a]\n",
            "[[a]]\n",
            "b.c = 2\n",
            "x = [1, 2]\n",
            "y = {a = 1}\n",
            "[[processes]]\n",
            "[processes.r]\n",
            "processes",
        ];
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut read_some = 0;
        for _ in 0..100_000 {
            let n = (next() % 12) as usize + 1;
            let text: String = (0..n)
                .map(|_| BITS[(next() % BITS.len() as u64) as usize])
                .collect();
            if agrees(&text) {
                read_some += 1;
            }
        }
        assert!(read_some > 2_000, "only {read_some} documents read");
    }
}

//! A reader for the plain block YAML that descriptions are written in: indented mappings and
//! lists, plain or simply quoted one-line scalars, comments. It feeds the value builder the
//! events saphyr's parser would, several times faster (saphyr's scanner was most of `psctl
//! check`'s CPU on valid files: bench/check.sh).
//!
//! It never decides what YAML means where saphyr might differ: anything else (flow
//! collections, anchors, aliases, tags, block or multi-line scalars, escapes, directives,
//! tabs, non-ASCII or control characters, keys that are not simple names) makes it stop, and
//! saphyr reads the file. The yaml fuzz target and `tests::agrees_with_saphyr` check that
//! whatever it reads, saphyr reads the same.

use std::borrow::Cow;

use saphyr_parser::{Event, Marker, ScalarStyle, Span as YSpan};

/// The reader stopped: a construct it leaves to saphyr, or the builder refused an event.
#[derive(Debug)]
pub struct Stop;

/// A line holding more than blanks and a comment.
#[derive(Clone, Copy)]
struct Line {
    start: usize,
    indent: usize,
    /// The offset of its `\n`, or of the end of the text.
    end: usize,
}

struct Reader<'t, F> {
    text: &'t str,
    bytes: &'t [u8],
    /// Where the line after `cur` starts.
    next: usize,
    cur: Option<Line>,
    emit: F,
}

/// Reads `text` into `emit`'s events; [`Stop`] as soon as the text is not the plain block YAML
/// this reader knows, or `emit` refuses an event.
pub fn read<'t>(
    text: &'t str,
    emit: impl FnMut(Event<'t>, &YSpan) -> Result<(), ()>,
) -> Result<(), Stop> {
    // Printable ASCII and line feeds only: no tabs, CRs, BOM or multi-byte characters, where
    // YAML's rules on indentation, line breaks and printable characters come in.
    if !text
        .bytes()
        .all(|c| c == b'\n' || (b' '..=b'~').contains(&c))
    {
        return Err(Stop);
    }
    let mut r = Reader {
        text,
        bytes: text.as_bytes(),
        next: 0,
        cur: None,
        emit,
    };
    r.advance();
    let first = r.cur.ok_or(Stop)?; // an empty document: saphyr says so
    r.block(first)?;
    match r.cur {
        None => Ok(()),
        Some(_) => Err(Stop), // text after the root node
    }
}

/// `-` then a blank or the end: a list entry.
fn is_entry(s: &[u8]) -> bool {
    s.first() == Some(&b'-') && s.get(1).is_none_or(|&c| c == b' ')
}

/// The length of a simple key at the start of `s`: a name of letters, digits and `_-./$`,
/// followed by `:` and a blank or the end.
fn key_len(s: &[u8]) -> Option<usize> {
    let first = *s.first()?;
    if !(first.is_ascii_alphanumeric() || first == b'_' || first == b'$' || first == b'/') {
        return None;
    }
    let len = s
        .iter()
        .position(|&c| !(c.is_ascii_alphanumeric() || b"_-./$".contains(&c)))?;
    (s[len] == b':' && s.get(len + 1).is_none_or(|&c| c == b' ')).then_some(len)
}

fn span(start: usize, end: usize) -> YSpan {
    // ASCII only: character indices are byte offsets. Lines and columns are not used.
    YSpan::new(Marker::new(start, 0, 0), Marker::new(end, 0, 0))
}

impl<'t, F: FnMut(Event<'t>, &YSpan) -> Result<(), ()>> Reader<'t, F> {
    /// Moves `cur` to the next line with content, past blank and comment lines.
    fn advance(&mut self) {
        let b = self.bytes;
        let mut start = self.next;
        self.cur = None;
        while start < b.len() {
            let end = b[start..]
                .iter()
                .position(|&c| c == b'\n')
                .map_or(b.len(), |i| start + i);
            let indent = b[start..end].iter().take_while(|&&c| c == b' ').count();
            self.next = end + 1;
            if start + indent < end && b[start + indent] != b'#' {
                self.cur = Some(Line { start, indent, end });
                return;
            }
            start = end + 1;
        }
        self.next = b.len();
    }

    fn send(&mut self, ev: Event<'t>, start: usize, end: usize) -> Result<(), Stop> {
        (self.emit)(ev, &span(start, end)).map_err(|()| Stop)
    }

    fn empty(&mut self, at: usize) -> Result<(), Stop> {
        self.send(
            Event::Scalar(Cow::Borrowed(""), ScalarStyle::Plain, 0, None),
            at,
            at,
        )
    }

    /// The list or mapping starting at the beginning of `line`'s content.
    fn block(&mut self, line: Line) -> Result<(), Stop> {
        let at = line.start + line.indent;
        let rest = &self.bytes[at..line.end];
        if is_entry(rest) {
            self.list(line.indent)
        } else if key_len(rest).is_some() {
            self.mapping(line.indent, at)
        } else {
            Err(Stop) // a scalar on its own line, or something this reader leaves to saphyr
        }
    }

    /// The value after a key or `- ` that has nothing more on its line: a list or mapping
    /// indented under it (or, after a key, a list at the key's own indent), else null.
    fn value_below(&mut self, col: usize, after_key: bool, at: usize) -> Result<(), Stop> {
        self.advance();
        match self.cur {
            Some(l) if l.indent > col => self.block(l),
            Some(l)
                if after_key && l.indent == col && is_entry(&self.bytes[l.start + col..l.end]) =>
            {
                self.list(col)
            }
            _ => self.empty(at),
        }
    }

    /// A block list whose `-` are at column `col`, the first on the current line.
    fn list(&mut self, col: usize) -> Result<(), Stop> {
        let first = self.cur.ok_or(Stop)?;
        self.send(
            Event::SequenceStart(0, None),
            first.start + col,
            first.start + col,
        )?;
        loop {
            let line = self.cur.ok_or(Stop)?;
            let b = self.bytes;
            let mut v = line.start + col + 1;
            while v < line.end && b[v] == b' ' {
                v += 1;
            }
            if v == line.end || b[v] == b'#' {
                self.value_below(col, false, v)?;
            } else if is_entry(&b[v..line.end]) {
                return Err(Stop); // `- - x`
            } else if key_len(&b[v..line.end]).is_some() {
                self.mapping(v - line.start, v)?;
            } else {
                self.scalar(v, line.end)?;
                self.advance();
            }
            match self.cur {
                Some(l) if l.indent == col && is_entry(&b[l.start + col..l.end]) => {}
                Some(l) if l.indent > col => return Err(Stop),
                _ => break,
            }
        }
        let end = self.cur.map_or(self.bytes.len(), |l| l.start);
        self.send(Event::SequenceEnd, end, end)
    }

    /// A block mapping whose keys are at column `col`, the first at offset `at` of the
    /// current line (after a `- ` when the mapping is a list entry).
    fn mapping(&mut self, col: usize, mut at: usize) -> Result<(), Stop> {
        self.send(Event::MappingStart(0, None), at, at)?;
        loop {
            let line = self.cur.ok_or(Stop)?;
            let b = self.bytes;
            let len = key_len(&b[at..line.end]).ok_or(Stop)?;
            let key = &self.text[at..at + len];
            self.send(
                Event::Scalar(Cow::Borrowed(key), ScalarStyle::Plain, 0, None),
                at,
                at + len,
            )?;
            let mut v = at + len + 1;
            while v < line.end && b[v] == b' ' {
                v += 1;
            }
            if v == line.end || b[v] == b'#' {
                self.value_below(col, true, v)?;
            } else {
                self.scalar(v, line.end)?;
                self.advance();
            }
            match self.cur {
                Some(l) if l.indent == col && !is_entry(&b[l.start + col..l.end]) => {
                    at = l.start + col;
                }
                Some(l) if l.indent >= col => return Err(Stop),
                _ => break,
            }
        }
        let end = self.cur.map_or(self.bytes.len(), |l| l.start);
        self.send(Event::MappingEnd, end, end)
    }

    /// The scalar or one-line flow collection at `at`, ending its line (`end`) or a comment.
    fn scalar(&mut self, at: usize, end: usize) -> Result<(), Stop> {
        let b = self.bytes;
        let after = match b[at] {
            b'[' | b'{' => self.flow(at, end)?,
            b'"' | b'\'' => {
                let (style, from, to) = quoted(b, at, end)?;
                self.send(self.scalar_event(from, to, style), at, to + 1)?;
                to + 1
            }
            _ if !plain_start(b, at, end) => return Err(Stop),
            _ => {
                // A plain scalar ends at ` #` (a comment); `: ` inside it is an error.
                let mut to = end;
                for i in at..end {
                    match b[i] {
                        b'#' if b[i - 1] == b' ' => {
                            to = i;
                            break;
                        }
                        b':' if i + 1 == end || b[i + 1] == b' ' => return Err(Stop),
                        _ => {}
                    }
                }
                while b[to - 1] == b' ' {
                    to -= 1;
                }
                self.send(self.scalar_event(at, to, ScalarStyle::Plain), at, to)?;
                to
            }
        };
        // Then blanks, and the end or a comment.
        let mut i = after;
        while i < end && b[i] == b' ' {
            i += 1;
        }
        if i < end && !(b[i] == b'#' && i > after) {
            return Err(Stop);
        }
        Ok(())
    }

    fn scalar_event(&self, from: usize, to: usize, style: ScalarStyle) -> Event<'t> {
        Event::Scalar(Cow::Borrowed(&self.text[from..to]), style, 0, None)
    }

    /// A flow list or mapping of scalars closed on its line (`[a, b]`, `{k: v}`, `[]`);
    /// returns the offset after it. Nested collections, empty entries and a trailing comma
    /// are left to saphyr.
    fn flow(&mut self, at: usize, end: usize) -> Result<usize, Stop> {
        // Nothing past the line's end is looked at.
        let b = &self.bytes[..end];
        let map = b[at] == b'{';
        let (open, close) = if map {
            (Event::MappingStart(0, None), b'}')
        } else {
            (Event::SequenceStart(0, None), b']')
        };
        self.send(open, at, at)?;
        let blanks = |mut i: usize| {
            while i < end && b[i] == b' ' {
                i += 1;
            }
            i
        };
        let mut i = blanks(at + 1);
        if i < end && b[i] == close {
            i += 1;
        } else {
            loop {
                if map {
                    let len = key_len(&b[i..end]).ok_or(Stop)?;
                    self.send(
                        self.scalar_event(i, i + len, ScalarStyle::Plain),
                        i,
                        i + len,
                    )?;
                    i = blanks((i + len + 1).min(end));
                }
                let to = match b.get(i) {
                    Some(b'"' | b'\'') => {
                        let (style, from, to) = quoted(b, i, end)?;
                        self.send(self.scalar_event(from, to, style), i, to + 1)?;
                        to + 1
                    }
                    Some(_) if plain_start(b, i, end) => {
                        // Inside brackets, only the characters of names, paths, numbers
                        // and durations (and `-` before one of them).
                        let stop = (i..end)
                            .find(|&j| match b[j] {
                                b'-' => !b.get(j + 1).is_some_and(u8::is_ascii_alphanumeric),
                                c => !(c.is_ascii_alphanumeric() || b" _./+=~@%$".contains(&c)),
                            })
                            .unwrap_or(end);
                        if stop == i {
                            return Err(Stop);
                        }
                        let mut to = stop;
                        while b[to - 1] == b' ' {
                            to -= 1;
                        }
                        self.send(self.scalar_event(i, to, ScalarStyle::Plain), i, to)?;
                        to
                    }
                    _ => return Err(Stop),
                };
                i = blanks(to);
                match b.get(i) {
                    Some(&c) if c == close => {
                        i += 1;
                        break;
                    }
                    Some(b',') if b.get(blanks(i + 1)) != Some(&close) => i = blanks(i + 1),
                    _ => return Err(Stop),
                }
            }
        }
        self.send(
            if map {
                Event::MappingEnd
            } else {
                Event::SequenceEnd
            },
            i,
            i,
        )?;
        Ok(i)
    }
}

/// Whether a plain scalar may start at `at` (not with an indicator: `- ` would be a list
/// entry, `&` an anchor, `|` a block scalar...).
fn plain_start(b: &[u8], at: usize, end: usize) -> bool {
    match b[at] {
        b'-' => at + 1 < end && b[at + 1].is_ascii_alphanumeric(),
        c => !b"?:,[]{}#&*!|>%@`'\"".contains(&c),
    }
}

/// The quoted scalar at `at`, closed on its line and without escapes (`\` in double quotes,
/// `''` in single quotes: saphyr's to read): its style and the offsets of its content.
fn quoted(b: &[u8], at: usize, end: usize) -> Result<(ScalarStyle, usize, usize), Stop> {
    let q = b[at];
    let close = at + 1 + b[at + 1..end].iter().position(|&c| c == q).ok_or(Stop)?;
    if q == b'"' {
        if b[at + 1..close].contains(&b'\\') {
            return Err(Stop);
        }
        Ok((ScalarStyle::DoubleQuoted, at + 1, close))
    } else if b.get(close + 1) == Some(&b'\'') {
        Err(Stop)
    } else {
        Ok((ScalarStyle::SingleQuoted, at + 1, close))
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use crate::frontend::yaml::{value_by_block_reader, value_by_saphyr};
    use crate::span::SourceFile;

    /// Whatever the block reader reads, saphyr reads the same; `Err` says where not.
    fn agrees(text: &str) -> Result<bool, String> {
        let src = SourceFile::new("x.yaml", text.to_owned());
        let Some(mine) = value_by_block_reader(&src) else {
            return Ok(false);
        };
        match value_by_saphyr(&src) {
            Some(v) if v == mine => Ok(true),
            other => Err(format!("{text:?}: block reader {mine}, saphyr {other:?}")),
        }
    }

    /// A document's shape, to print as block YAML in its different spellings.
    #[derive(Debug, Clone)]
    enum Node {
        Scalar(&'static str),
        List(Vec<Node>),
        Map(Vec<(&'static str, Node)>),
    }

    const SCALARS: &[&str] = &[
        "a",
        "b c",
        "1",
        "-1",
        "0x1f",
        "0o17",
        "1e3",
        "1.5",
        ".inf",
        "~",
        "null",
        "true",
        "'s'",
        "\"q\"",
        "\"\"",
        "''",
        "a#b",
        "x]",
        "a, b",
        "/usr/bin/x --y",
        "10s",
        "1d",
        "-x",
        "a:b",
        "{}",
        "[]",
        "[a, b]",
        "{k: v}",
        "[ 'a' , \"b\" ]",
        "{ exec: /x y, n: 0 }",
        "'a b'",
        "\"1\"",
        "http://x:80/",
        "it's",
        "\"it's\"",
        "'say \"x\"'",
        "a  b",
        "é",
        "a\\b",
        "'a #b'",
    ];
    const KEYS: &[&str] = &[
        "name", "a", "b-c", "x.y", "$k", "1", "null", "on", "a_b", "/p",
    ];
    /// Pieces a mutation inserts: what is close to the reader's forms, or just outside them.
    const PIECES: &[&str] = &[
        "- ", "-", "a: ", "b:", "# c", " # c", "#", ":", ": ", "'", "\"", "[", "]", "{", "}", ",",
        "&a ", "*a", "!t ", "|", ">", "? ", "---", "...", "%", "@", "`", " ", "  ", "\n", "\n  ",
        "\t", "\r", "\\", "a", "\u{feff}", "é",
    ];

    fn node() -> impl Strategy<Value = Node> {
        let leaf = prop::sample::select(SCALARS).prop_map(Node::Scalar);
        leaf.prop_recursive(4, 32, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Node::List),
                prop::collection::vec((prop::sample::select(KEYS), inner), 0..4)
                    .prop_map(Node::Map),
            ]
        })
    }

    /// Prints nodes as block YAML, each choice (indent step, compact or nested list
    /// entries, flow or block, comments and blank lines) taken from `choices`.
    struct Printer<'c> {
        choices: std::iter::Cycle<std::slice::Iter<'c, u8>>,
        out: String,
    }

    impl Printer<'_> {
        fn pick(&mut self, n: u8) -> u8 {
            self.choices.next().map_or(0, |c| c % n)
        }

        fn line_end(&mut self) {
            match self.pick(8) {
                0 => self.out.push_str(" # c"),
                1 => self.out.push_str("  "),
                _ => {}
            }
            self.out.push('\n');
            match self.pick(10) {
                0 => self.out.push('\n'),
                1 => {
                    let n = self.pick(6) as usize;
                    self.out.push_str(&format!("{}# note\n", " ".repeat(n)));
                }
                _ => {}
            }
        }

        fn flow(n: &Node) -> Option<String> {
            let leaf = |n: &Node| match n {
                Node::Scalar(s) => Some(s.to_string()),
                _ => None,
            };
            match n {
                Node::Scalar(s) => Some(s.to_string()),
                Node::List(l) => Some(format!(
                    "[{}]",
                    l.iter().map(leaf).collect::<Option<Vec<_>>>()?.join(", ")
                )),
                Node::Map(m) => Some(format!(
                    "{{{}}}",
                    m.iter()
                        .map(|(k, v)| Some(format!("{k}: {}", leaf(v)?)))
                        .collect::<Option<Vec<_>>>()?
                        .join(", ")
                )),
            }
        }

        fn is_empty(n: &Node) -> bool {
            matches!(n, Node::List(l) if l.is_empty()) || matches!(n, Node::Map(m) if m.is_empty())
        }

        /// A list or mapping from the start of a line, at indent `ind`.
        fn block(&mut self, n: &Node, ind: usize) {
            match n {
                Node::Map(m) => {
                    for (k, v) in m {
                        self.out.push_str(&format!("{}{k}:", " ".repeat(ind)));
                        self.after_key(v, ind);
                    }
                }
                Node::List(l) => {
                    for v in l {
                        self.out.push_str(&format!("{}-", " ".repeat(ind)));
                        self.after_dash(v, ind);
                    }
                }
                Node::Scalar(s) => {
                    self.out.push_str(&format!("{}{s}", " ".repeat(ind)));
                    self.line_end();
                }
            }
        }

        fn after_key(&mut self, v: &Node, ind: usize) {
            // Scalars mostly on the key's line (on the next line, the reader leaves them).
            let inline = match v {
                Node::Scalar(_) => self.pick(8) != 0,
                _ => Self::is_empty(v) || self.pick(3) == 0,
            };
            let flow = Self::flow(v).filter(|_| inline);
            if let Some(f) = flow {
                self.out.push(' ');
                self.out.push_str(&f);
                self.line_end();
            } else {
                self.line_end();
                let nested = ind + 1 + self.pick(3) as usize;
                let indentless = matches!(v, Node::List(_)) && self.pick(2) == 0;
                self.block(v, if indentless { ind } else { nested });
            }
        }

        fn after_dash(&mut self, v: &Node, ind: usize) {
            match v {
                Node::Map(m) if !m.is_empty() && self.pick(3) != 0 => {
                    let gap = 1 + self.pick(3) as usize;
                    self.out.push_str(&" ".repeat(gap));
                    let col = ind + 1 + gap;
                    let (k, first) = &m[0];
                    self.out.push_str(&format!("{k}:"));
                    self.after_key(first, col);
                    self.block(&Node::Map(m[1..].to_vec()), col);
                }
                _ => self.after_key(v, ind),
            }
        }
    }

    /// Block YAML printed from a random shape, sometimes with one random piece inserted.
    fn doc() -> impl Strategy<Value = String> {
        let mutation = prop::option::weighted(
            0.5,
            (any::<prop::sample::Index>(), prop::sample::select(PIECES)),
        );
        (node(), prop::collection::vec(any::<u8>(), 1..64), mutation).prop_map(
            |(n, choices, mutation)| {
                let mut p = Printer {
                    choices: choices.iter().cycle(),
                    out: String::new(),
                };
                let root = p.pick(3) as usize;
                p.block(&n, root);
                let mut text = p.out;
                if let Some((at, piece)) = mutation {
                    let mut i = at.index(text.len() + 1);
                    while !text.is_char_boundary(i) {
                        i -= 1;
                    }
                    text.insert_str(i, piece);
                }
                text
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]
        #[test]
        fn agrees_with_saphyr(text in doc()) {
            let r = agrees(&text);
            prop_assert!(r.is_ok(), "{}", r.unwrap_err());
        }
    }

    /// The corpus and examples agree, and the block reader reads nearly all the committed
    /// files saphyr reads cleanly (else it would be checked against saphyr to save nothing).
    #[test]
    fn reads_the_corpus_as_saphyr_does() {
        let (mut clean, mut read) = (0, 0);
        for s in &crate::testing::corpus_sources("yaml") {
            let mine = agrees(s.text()).unwrap();
            if !s.name().contains("fuzz/") && value_by_saphyr(s).is_some() {
                clean += 1;
                read += usize::from(mine);
            }
        }
        assert!(
            clean > 30 && read * 10 >= clean * 8,
            "{read} of {clean} files"
        );
    }

    #[test]
    fn the_forms_of_descriptions_are_read_and_the_rest_left_to_saphyr() {
        let read = [
            "name: web\nprocesses:\n  - name: a # x\n    restart:\n      stop: s\n    grace: 1d\n",
            "processes:\n- name: a\n  retries: 3\n- name: 'b'\n",
            "a:\n\n  # c\n  b: \"x y\"\nc:\n",
            "- \n  - 1\n- -1\n",
            "members: [a, 'b', \"c d\"]\nuser: []\nh: { exec: /x y, failures: 0 } # c\n",
        ];
        for text in read {
            assert_eq!(agrees(text), Ok(true), "{text}");
        }
        let left = [
            "a: {b: {c: 1}}\n",
            "a: [1, ]\n",
            "a: &x 1\nb: *x\n",
            "a: |\n  x\n",
            "a: x\n  y\n",
            "a: 'it''s'\n",
            "a: \"\\t\"\n",
            "\"a\": 1\n",
            "---\na: 1\n",
            "a: 1\r\n",
            "a:\t1\n",
            "a: é\n",
            "a: b: c\n",
            "- - a\n",
            "x\n",
            "",
            "# only\n",
            "a: 1\n b: 2\n",
            "a: 1\na: 2\n",
        ];
        for text in left {
            assert_eq!(agrees(text), Ok(false), "{text:?}");
        }
    }
}

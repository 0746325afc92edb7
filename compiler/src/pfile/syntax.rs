//! The pfile's concrete syntax: every line with its kind and exact spans, comments included.
//! `lower` turns it into the model; `fmt` reprints it keeping the comments.

use pest::Parser as _;
use pest_derive::Parser;

use crate::span::Span;

#[derive(Parser)]
#[grammar = "pfile/pfile.pest"]
struct PfileParser;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    /// A line holding only a comment.
    Comment,
    /// `KEY VALUE`; `value` is `None` when the key stands alone.
    Param {
        key: Span,
        value: Option<Span>,
    },
    /// `:`-separated fields, each trimmed of surrounding blanks (an empty field has an empty
    /// span at its position). At most six spans: the first five fields, then everything after
    /// the fifth `:` as one span; `count` is the number of fields.
    Pent {
        fields: Vec<Span>,
        count: usize,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based line number.
    pub number: usize,
    /// The whole line without its terminator.
    pub span: Span,
    pub kind: LineKind,
    /// The comment on this line (the whole line for `Comment`, else a trailing one).
    pub comment: Option<Span>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PfileSyntax {
    pub bom: bool,
    /// Every line; `for line in &syntax.lines` gives each as a [`Line`].
    pub lines: Lines,
}

/// The lines of a pfile, stored compactly: 12 bytes per line, plus 8 per span of a PARAM
/// or PENT line, except that a plain PENT line (five fields, no blanks around them, no
/// comment, under 64 KiB) takes 8 bytes for all its fields. A [`Line`] with its `Vec` of
/// fields costs over 100 bytes, which made a file of millions of 1- or 2-byte lines take
/// 50-100x its size in memory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lines {
    recs: Vec<Rec>,
    /// The spans of PARAM and PENT lines, each line's in a run (see [`Rec::info`]).
    pool: Vec<(u32, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Rec {
    start: u32,
    end: u32,
    /// Bits 30-31: the kind (0 blank, 1 comment, 2 PARAM, 3 PENT). Bit 29: the comment is
    /// in `pool`. Bit 28: a plain PENT line (see [`plain_offsets`]). Bits 0-27: the length
    /// of a comment that ends the line (blank and comment lines without bit 29), or the index
    /// of the line's run in `pool`: blank or comment: the comment (`NONE`: no comment);
    /// PARAM: key, value (`NONE`: no value), [comment]; PENT: (number of spans, count),
    /// [comment], spans; plain PENT: the offsets of its four `:` in one entry. (A 16 MiB
    /// input has fewer than 2^25 lines and 2^26 pool entries.)
    info: u32,
}

const KIND_SHIFT: u32 = 30;
const HAS_COMMENT: u32 = 1 << 29;
const PLAIN: u32 = 1 << 28;
const LOW: u32 = PLAIN - 1;
const NONE: (u32, u32) = (u32::MAX, u32::MAX);

fn pack(s: Span) -> (u32, u32) {
    (s.start as u32, s.end as u32)
}

fn unpack(s: (u32, u32)) -> Span {
    Span::new(s.0 as usize, s.1 as usize)
}

impl Lines {
    pub fn len(&self) -> usize {
        self.recs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.recs.is_empty()
    }

    /// Line `i` (0-based).
    pub fn get(&self, i: usize) -> Option<Line> {
        let r = *self.recs.get(i)?;
        let span = Span::new(r.start as usize, r.end as usize);
        let low = (r.info & LOW) as usize;
        let has_comment = r.info & HAS_COMMENT != 0;
        let own_line = |kind| {
            let comment = if has_comment {
                let c = self.pool[low];
                (c != NONE).then(|| unpack(c))
            } else {
                (low > 0 || kind == LineKind::Comment).then(|| Span::new(span.end - low, span.end))
            };
            (kind, comment)
        };
        let (kind, comment) = match r.info >> KIND_SHIFT {
            0 => own_line(LineKind::Blank),
            1 => own_line(LineKind::Comment),
            2 => {
                let value = self.pool[low + 1];
                let kind = LineKind::Param {
                    key: unpack(self.pool[low]),
                    value: (value != NONE).then(|| unpack(value)),
                };
                (kind, has_comment.then(|| unpack(self.pool[low + 2])))
            }
            _ if r.info & PLAIN != 0 => {
                let (a, b) = self.pool[low];
                let colon = [a & 0xffff, a >> 16, b & 0xffff, b >> 16].map(|o| r.start + o);
                let fields = vec![
                    unpack((r.start, colon[0])),
                    unpack((colon[0] + 1, colon[1])),
                    unpack((colon[1] + 1, colon[2])),
                    unpack((colon[2] + 1, colon[3])),
                    unpack((colon[3] + 1, r.end)),
                ];
                (LineKind::Pent { fields, count: 5 }, None)
            }
            _ => {
                let (n, count) = self.pool[low];
                let at = low + 1 + usize::from(has_comment);
                let fields = self.pool[at..at + n as usize]
                    .iter()
                    .map(|&f| unpack(f))
                    .collect();
                let kind = LineKind::Pent {
                    fields,
                    count: count as usize,
                };
                (kind, has_comment.then(|| unpack(self.pool[low + 1])))
            }
        };
        Some(Line {
            number: i + 1,
            span,
            kind,
            comment,
        })
    }

    pub fn iter(&self) -> LinesIter<'_> {
        self.into_iter()
    }

    /// The number of PENT lines of at least five fields (each an entry or a group).
    pub fn entry_lines(&self) -> usize {
        self.recs
            .iter()
            .filter(|r| {
                r.info >> KIND_SHIFT == 3
                    && (r.info & PLAIN != 0 || self.pool[(r.info & LOW) as usize].1 >= 5)
            })
            .count()
    }

    fn push(&mut self, line: Line) {
        if let LineKind::Pent { fields, count } = &line.kind {
            return self.push_pent(line.span, fields, *count, line.comment);
        }
        let comment = line.comment.map(pack);
        let flag = if comment.is_some() { HAS_COMMENT } else { 0 };
        let run = self.pool.len() as u32;
        let info = match line.kind {
            LineKind::Blank | LineKind::Comment => {
                let k = if line.kind == LineKind::Blank { 0 } else { 1 };
                // A comment line's comment runs to the end of the line: its length says it.
                let len = match line.comment {
                    None if k == 0 => Some(0),
                    Some(c) if c.end == line.span.end && c.start < c.end => {
                        Some(line.span.end - c.start)
                    }
                    _ => None,
                };
                match len {
                    Some(len) => (k << KIND_SHIFT) | len as u32,
                    None => {
                        self.pool.push(comment.unwrap_or(NONE));
                        (k << KIND_SHIFT) | HAS_COMMENT | run
                    }
                }
            }
            LineKind::Param { key, value } => {
                self.pool.push(pack(key));
                self.pool.push(value.map_or(NONE, pack));
                self.pool.extend(comment);
                (2 << KIND_SHIFT) | flag | run
            }
            LineKind::Pent { .. } => unreachable!("pushed by push_pent"),
        };
        self.recs.push(Rec {
            start: line.span.start as u32,
            end: line.span.end as u32,
            info,
        });
    }

    fn push_pent(&mut self, span: Span, fields: &[Span], count: usize, comment: Option<Span>) {
        let run = self.pool.len() as u32;
        let info = match plain_offsets(span, fields, count, comment) {
            Some(entry) => {
                self.pool.push(entry);
                (3 << KIND_SHIFT) | PLAIN | run
            }
            None => {
                let flag = if comment.is_some() { HAS_COMMENT } else { 0 };
                self.pool.push((fields.len() as u32, count as u32));
                self.pool.extend(comment.map(pack));
                self.pool.extend(fields.iter().map(|&f| pack(f)));
                (3 << KIND_SHIFT) | flag | run
            }
        };
        self.recs.push(Rec {
            start: span.start as u32,
            end: span.end as u32,
            info,
        });
    }
}

/// A plain PENT line: five fields that tile the line between four `:`, no comment, under
/// 64 KiB (almost every PENT line there is). Its fields are then said by the offsets of its
/// four `:` from the line's start, 16 bits each, in one pool entry.
fn plain_offsets(
    span: Span,
    fields: &[Span],
    count: usize,
    comment: Option<Span>,
) -> Option<(u32, u32)> {
    if count != 5 || fields.len() != 5 || comment.is_some() || span.len() > 0xffff {
        return None;
    }
    let tiles = fields[0].start == span.start
        && fields[4].end == span.end
        && fields.windows(2).all(|w| w[0].end + 1 == w[1].start);
    if !tiles {
        return None;
    }
    let o = |i: usize| (fields[i].end - span.start) as u32;
    Some((o(0) | o(1) << 16, o(2) | o(3) << 16))
}

/// The lines of a [`Lines`], in order.
pub struct LinesIter<'a> {
    lines: &'a Lines,
    next: usize,
}

impl Iterator for LinesIter<'_> {
    type Item = Line;

    fn next(&mut self) -> Option<Line> {
        let line = self.lines.get(self.next)?;
        self.next += 1;
        Some(line)
    }
}

impl<'a> IntoIterator for &'a Lines {
    type Item = Line;
    type IntoIter = LinesIter<'a>;

    fn into_iter(self) -> LinesIter<'a> {
        LinesIter {
            lines: self,
            next: 0,
        }
    }
}

/// Lines parsed by pest in one call: enough to spread its set-up cost (about a microsecond a
/// call), few enough to bound its token queue.
const BLOCK_LINES: usize = 256;

/// Parses the text into lines. The grammar accepts every line, so this cannot fail; the
/// `Result` guards against a grammar bug, which is reported instead of panicking.
pub fn parse(text: &str) -> Result<PfileSyntax, String> {
    let bom = text.starts_with('\u{feff}');
    let mut out = PfileSyntax {
        bom,
        lines: Lines::default(),
    };
    // One record per line: reserved at once, not grown by doubling (a copy at each step).
    out.lines
        .recs
        .reserve_exact(text.bytes().filter(|&b| b == b'\n').count() + 1);
    // Consecutive lines waiting for pest.
    let mut pending: Vec<Span> = Vec::new();
    let mut start = if bom { '\u{feff}'.len_utf8() } else { 0 };
    loop {
        // A line ends at LF or CRLF; a lone CR belongs to the line.
        let (end, next) = match text[start..].find('\n') {
            Some(i) if i > 0 && text.as_bytes()[start + i - 1] == b'\r' => {
                (start + i - 1, Some(start + i + 1))
            }
            Some(i) => (start + i, Some(start + i + 1)),
            None => (text.len(), None),
        };
        let span = Span::new(start, end);
        let mut fields = [Span::default(); 6];
        if let Some((n, count)) = plain_pent(text, span, &mut fields) {
            block(text, &mut pending, &mut out.lines)?;
            out.lines.push_pent(span, &fields[..n], count, None);
        } else if let Some((kind, comment)) = simple_line(text, span) {
            block(text, &mut pending, &mut out.lines)?;
            let number = out.lines.len() + 1;
            out.lines.push(Line {
                number,
                span,
                kind,
                comment,
            });
        } else {
            pending.push(span);
            if pending.len() == BLOCK_LINES {
                block(text, &mut pending, &mut out.lines)?;
            }
        }
        match next {
            Some(n) => start = n,
            None => {
                block(text, &mut pending, &mut out.lines)?;
                return Ok(out);
            }
        }
    }
}

/// A PENT line without `#` or CR, which needs no parser (nearly every PENT line): its fields
/// are what lies between its `:`, trimmed, as the grammar reads them (a line holding `:` is
/// never a PARAM line, and without `#` it has no comment). Fills `fields` (the first five,
/// then the rest of the line after the fifth `:`); returns their number and the count.
fn plain_pent(text: &str, span: Span, fields: &mut [Span; 6]) -> Option<(usize, usize)> {
    let line = &text.as_bytes()[span.start..span.end];
    let mut colons = 0;
    let mut from = span.start;
    for (i, &b) in line.iter().enumerate() {
        match b {
            b'#' | b'\r' => return None,
            b':' => {
                if colons < 5 {
                    fields[colons] = trim_blanks(text, Span::new(from, span.start + i));
                    from = span.start + i + 1;
                }
                colons += 1;
            }
            _ => {}
        }
    }
    if colons == 0 {
        return None;
    }
    let n = colons.min(5) + 1;
    fields[n - 1] = trim_blanks(text, Span::new(from, span.end));
    Some((n, colons + 1))
}

/// A blank or comment-only line, which needs no parser.
fn simple_line(text: &str, span: Span) -> Option<(LineKind, Option<Span>)> {
    let s = &text[span.start..span.end];
    let body = s.trim_start_matches([' ', '\t']);
    if body.trim_end_matches([' ', '\t']).is_empty() {
        return Some((LineKind::Blank, None));
    }
    if body.starts_with('#') {
        let comment = Span::new(span.end - body.len(), span.end);
        return Some((LineKind::Comment, Some(comment)));
    }
    None
}

/// Parses the consecutive lines `pending` (their spans, terminators between them) with one
/// pest call and appends them to `out`.
fn block(text: &str, pending: &mut Vec<Span>, out: &mut Lines) -> Result<(), String> {
    let (Some(first), Some(last)) = (pending.first(), pending.last()) else {
        return Ok(());
    };
    let base = first.start;
    let mut pairs =
        PfileParser::parse(Rule::block, &text[base..last.end]).map_err(|e| e.to_string())?;
    let lines = pairs
        .next()
        .ok_or("empty parse")?
        .into_inner()
        .filter(|p| p.as_rule() == Rule::line);
    let mut got = 0;
    for (pair, &span) in lines.zip(pending.iter()) {
        let number = out.len() + 1;
        out.push(line(text, base, pair, span, number));
        got += 1;
    }
    if got != pending.len() {
        return Err(format!("{got} lines parsed of {}", pending.len()));
    }
    pending.clear();
    Ok(())
}

/// The line `span` from its parse (`pair`'s positions count from `base`).
fn line(
    text: &str,
    base: usize,
    pair: pest::iterators::Pair<'_, Rule>,
    span: Span,
    number: usize,
) -> Line {
    let at = |p: &pest::iterators::Pair<'_, Rule>| {
        let ps = p.as_span();
        Span::new(base + ps.start(), base + ps.end())
    };
    let mut kind = LineKind::Blank;
    let mut comment = None;
    for inner in pair.into_inner() {
        match inner.as_rule() {
            Rule::comment => {
                comment = Some(at(&inner));
                if kind == LineKind::Blank {
                    kind = LineKind::Comment;
                }
            }
            Rule::param => {
                let mut key = Span::default();
                let mut value = None;
                for p in inner.into_inner() {
                    match p.as_rule() {
                        Rule::key => key = at(&p),
                        Rule::value => value = Some(at(&p)),
                        _ => {}
                    }
                }
                kind = LineKind::Param { key, value };
            }
            Rule::pent => {
                let mut count = 0;
                let mut fields = Vec::with_capacity(5);
                for f in inner.into_inner() {
                    let fs = at(&f);
                    count += match f.as_rule() {
                        // The fields after the fifth: one more than the `:` between them.
                        Rule::extra => 1 + text[fs.start..fs.end].matches(':').count(),
                        _ => 1,
                    };
                    fields.push(trim_blanks(text, fs));
                }
                kind = LineKind::Pent { fields, count };
            }
            _ => {}
        }
    }
    Line {
        number,
        span,
        kind,
        comment,
    }
}

/// Narrows a span to exclude leading and trailing spaces and tabs.
fn trim_blanks(text: &str, span: Span) -> Span {
    let s = &text[span.start..span.end];
    let lead = s.len() - s.trim_start_matches([' ', '\t']).len();
    let trimmed = s.trim_matches([' ', '\t']);
    if trimmed.is_empty() {
        return Span::new(
            span.start + lead.min(s.len()),
            span.start + lead.min(s.len()),
        );
    }
    Span::new(span.start + lead, span.start + lead + trimmed.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<LineKind> {
        parse(text).unwrap().lines.iter().map(|l| l.kind).collect()
    }

    #[test]
    fn guide_example() {
        let text = "##### PARAM #####\nIPCKEY                0x1f000501\n\n##### PENT #####\ncrond:/x.sh:86400:3:continue\n";
        let p = parse(text).unwrap();
        assert_eq!(p.lines.len(), 6);
        assert_eq!(p.lines.get(0).unwrap().kind, LineKind::Comment);
        match &p.lines.get(1).unwrap().kind {
            LineKind::Param { key, value } => {
                assert_eq!(&text[key.start..key.end], "IPCKEY");
                let v = value.unwrap();
                assert_eq!(&text[v.start..v.end], "0x1f000501");
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(p.lines.get(2).unwrap().kind, LineKind::Blank);
        match &p.lines.get(4).unwrap().kind {
            LineKind::Pent { fields, .. } => {
                let f: Vec<_> = fields.iter().map(|s| &text[s.start..s.end]).collect();
                assert_eq!(f, ["crond", "/x.sh", "86400", "3", "continue"]);
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(p.lines.get(5).unwrap().kind, LineKind::Blank);
    }

    #[test]
    fn comments_and_hashes() {
        let text = "a#b c:/x y:1:2:exit # trailing\r\n  # own line\nKEY value words # c";
        let p = parse(text).unwrap();
        match &p.lines.get(0).unwrap().kind {
            LineKind::Pent { fields, .. } => {
                assert_eq!(&text[fields[0].start..fields[0].end], "a#b c");
                assert_eq!(&text[fields[1].start..fields[1].end], "/x y");
                assert_eq!(&text[fields[4].start..fields[4].end], "exit");
            }
            k => panic!("{k:?}"),
        }
        let c = p.lines.get(0).unwrap().comment.unwrap();
        assert_eq!(&text[c.start..c.end], "# trailing");
        assert_eq!(p.lines.get(1).unwrap().kind, LineKind::Comment);
        match &p.lines.get(2).unwrap().kind {
            LineKind::Param { value, .. } => {
                let v = value.unwrap();
                assert_eq!(&text[v.start..v.end], "value words");
            }
            k => panic!("{k:?}"),
        }
    }

    /// The compact storage gives back every line as pushed, whatever its shape.
    #[test]
    fn lines_read_back_as_stored() {
        let sp = Span::new;
        let line = |number, span, kind, comment| Line {
            number,
            span,
            kind,
            comment,
        };
        let stored = [
            line(1, sp(0, 0), LineKind::Blank, None),
            line(2, sp(1, 4), LineKind::Blank, Some(sp(2, 4))),
            line(3, sp(5, 9), LineKind::Comment, Some(sp(6, 9))),
            line(4, sp(10, 14), LineKind::Comment, Some(sp(11, 12))),
            line(5, sp(15, 15), LineKind::Comment, None),
            line(
                6,
                sp(16, 26),
                LineKind::Param {
                    key: sp(16, 20),
                    value: None,
                },
                None,
            ),
            line(
                7,
                sp(27, 40),
                LineKind::Param {
                    key: sp(27, 30),
                    value: Some(sp(31, 33)),
                },
                Some(sp(35, 40)),
            ),
            line(
                8,
                sp(41, 60),
                LineKind::Pent {
                    fields: vec![sp(41, 42), sp(43, 43)],
                    count: 2,
                },
                None,
            ),
            line(
                9,
                sp(61, 90),
                LineKind::Pent {
                    fields: (0..6).map(|i| sp(61 + i, 62 + i)).collect(),
                    count: 9,
                },
                Some(sp(80, 90)),
            ),
            // Plain: five fields tiling the line (stored as the offsets of its `:`).
            line(
                10,
                sp(91, 100),
                LineKind::Pent {
                    fields: (0..5).map(|i| sp(91 + 2 * i, 92 + 2 * i)).collect(),
                    count: 5,
                },
                None,
            ),
            // Almost plain: a blank before the last field, a sixth field, a comment.
            line(
                11,
                sp(101, 111),
                LineKind::Pent {
                    fields: vec![
                        sp(101, 102),
                        sp(103, 104),
                        sp(105, 106),
                        sp(107, 108),
                        sp(110, 111),
                    ],
                    count: 5,
                },
                None,
            ),
            line(
                12,
                sp(112, 124),
                LineKind::Pent {
                    fields: (0..6).map(|i| sp(112 + 2 * i, 113 + 2 * i)).collect(),
                    count: 6,
                },
                None,
            ),
            line(
                13,
                sp(125, 140),
                LineKind::Pent {
                    fields: (0..5).map(|i| sp(125 + 2 * i, 126 + 2 * i)).collect(),
                    count: 5,
                },
                Some(sp(135, 140)),
            ),
        ];
        let mut lines = Lines::default();
        for l in stored.iter().cloned() {
            lines.push(l);
        }
        assert_eq!(lines.len(), stored.len());
        assert_eq!(lines.iter().collect::<Vec<_>>(), stored);
        assert_eq!(lines.entry_lines(), 5);
    }

    /// The PENT lines read without pest read exactly as pest reads them: random lines of
    /// `:`, blanks, `#`, CR, letters, non-ASCII and control characters, each parsed both ways.
    #[test]
    fn plain_pent_lines_read_as_the_grammar_reads_them() {
        let alphabet = [
            ":", ":", ":", " ", "\t", "#", "\r", "a", "K", "=", "-", "1", "é", "\0", "\u{b}",
        ];
        let mut seed = 11u32;
        let mut fast = 0;
        for _ in 0..20_000 {
            let mut text = String::new();
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            for _ in 0..(seed >> 16) % 16 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                text.push_str(alphabet[(seed >> 16) as usize % alphabet.len()]);
            }
            let span = Span::new(0, text.len());
            let mut fields = [Span::default(); 6];
            let Some((n, count)) = plain_pent(&text, span, &mut fields) else {
                continue;
            };
            fast += 1;
            let mut by_pest = Lines::default();
            block(&text, &mut vec![span], &mut by_pest).unwrap();
            let expected = Line {
                number: 1,
                span,
                kind: LineKind::Pent {
                    fields: fields[..n].to_vec(),
                    count,
                },
                comment: None,
            };
            assert_eq!(by_pest.get(0), Some(expected.clone()), "{text:?}");
            // And the whole parse, which stores it (plain or not), gives it back.
            assert_eq!(
                parse(&text).unwrap().lines.get(0),
                Some(expected),
                "{text:?}"
            );
        }
        assert!(fast > 2_000, "{fast} lines took the quick path");
    }

    /// Lines parsed together in blocks read exactly as each line parsed alone, across block
    /// boundaries and with LF, CRLF and lone CR.
    #[test]
    fn blocks_parse_like_single_lines() {
        let shapes = [
            "IPCKEY 0x1f000501",
            "KEY value words # c",
            "a#b c:/x y:1:2:exit # trailing",
            "p:/r.sh:86400:3:continue",
            "p:-:1:1:continue:user=a,b:x",
            "::::::::",
            "lower case",
            "  # own line",
            "",
            " \t ",
            "A:B\r",
            "x\ry:1",
            "é:ü:1:2:exit\t",
            "KEY",
        ];
        let mut text = String::new();
        let mut seed = 7u32;
        for i in 0..700 {
            seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            text.push_str(shapes[(seed >> 16) as usize % shapes.len()]);
            text.push_str(if i % 5 == 0 { "\r\n" } else { "\n" });
        }
        let all = parse(&text).unwrap();
        assert_eq!(all.lines.len(), 701);
        for l in &all.lines {
            let alone = parse(&text[l.span.start..l.span.end]).unwrap();
            let mut one = alone.lines.get(0).unwrap();
            let shift = |s: Span| Span::new(s.start + l.span.start, s.end + l.span.start);
            one.number = l.number;
            one.span = shift(one.span);
            one.comment = one.comment.map(shift);
            one.kind = match one.kind {
                LineKind::Param { key, value } => LineKind::Param {
                    key: shift(key),
                    value: value.map(shift),
                },
                LineKind::Pent { fields, count } => LineKind::Pent {
                    fields: fields.into_iter().map(shift).collect(),
                    count,
                },
                k => k,
            };
            assert_eq!(l, one, "line {}", l.number);
        }
    }

    #[test]
    fn odd_lines_still_parse() {
        assert!(
            matches!(&kinds("lower case")[0], LineKind::Pent { fields, .. } if fields.len() == 1)
        );
        assert!(matches!(
            &kinds("IPCKEY")[0],
            LineKind::Param { value: None, .. }
        ));
        assert!(matches!(&kinds("A:B")[0], LineKind::Pent { fields, .. } if fields.len() == 2));
        assert!(matches!(&kinds("\u{feff}X 1")[0], LineKind::Param { .. }));
        assert!(parse("\0\x01\u{7f}").is_ok());
    }
}

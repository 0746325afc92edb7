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
    pub lines: Vec<Line>,
}

/// Parses the text into lines. The grammar accepts every line, so this cannot fail; the
/// `Result` guards against a grammar bug, which is reported instead of panicking.
pub fn parse(text: &str) -> Result<PfileSyntax, String> {
    let bom = text.starts_with('\u{feff}');
    let mut out = PfileSyntax {
        bom,
        lines: Vec::new(),
    };
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
        let number = out.lines.len() + 1;
        out.lines.push(line(text, Span::new(start, end), number)?);
        match next {
            Some(n) => start = n,
            None => return Ok(out),
        }
    }
}

fn line(text: &str, span: Span, number: usize) -> Result<Line, String> {
    let s = &text[span.start..span.end];
    let body = s.trim_start_matches([' ', '\t']);
    // The frequent shapes need no parser.
    if body.trim_end_matches([' ', '\t']).is_empty() {
        return Ok(Line {
            number,
            span,
            kind: LineKind::Blank,
            comment: None,
        });
    }
    if body.starts_with('#') {
        return Ok(Line {
            number,
            span,
            kind: LineKind::Comment,
            comment: Some(Span::new(span.end - body.len(), span.end)),
        });
    }
    let mut pairs = PfileParser::parse(Rule::one_line, s).map_err(|e| e.to_string())?;
    let pair = pairs
        .next()
        .and_then(|p| p.into_inner().find(|p| p.as_rule() == Rule::line))
        .ok_or("empty parse")?;
    let at = |p: &pest::iterators::Pair<'_, Rule>| {
        let ps = p.as_span();
        Span::new(span.start + ps.start(), span.start + ps.end())
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
    Ok(Line {
        number,
        span,
        kind,
        comment,
    })
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
        parse(text)
            .unwrap()
            .lines
            .into_iter()
            .map(|l| l.kind)
            .collect()
    }

    #[test]
    fn guide_example() {
        let text = "##### PARAM #####\nIPCKEY                0x1f000501\n\n##### PENT #####\ncrond:/x.sh:86400:3:continue\n";
        let p = parse(text).unwrap();
        assert_eq!(p.lines.len(), 6);
        assert_eq!(p.lines[0].kind, LineKind::Comment);
        match &p.lines[1].kind {
            LineKind::Param { key, value } => {
                assert_eq!(&text[key.start..key.end], "IPCKEY");
                let v = value.unwrap();
                assert_eq!(&text[v.start..v.end], "0x1f000501");
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(p.lines[2].kind, LineKind::Blank);
        match &p.lines[4].kind {
            LineKind::Pent { fields, .. } => {
                let f: Vec<_> = fields.iter().map(|s| &text[s.start..s.end]).collect();
                assert_eq!(f, ["crond", "/x.sh", "86400", "3", "continue"]);
            }
            k => panic!("{k:?}"),
        }
        assert_eq!(p.lines[5].kind, LineKind::Blank);
    }

    #[test]
    fn comments_and_hashes() {
        let text = "a#b c:/x y:1:2:exit # trailing\r\n  # own line\nKEY value words # c";
        let p = parse(text).unwrap();
        match &p.lines[0].kind {
            LineKind::Pent { fields, .. } => {
                assert_eq!(&text[fields[0].start..fields[0].end], "a#b c");
                assert_eq!(&text[fields[1].start..fields[1].end], "/x y");
                assert_eq!(&text[fields[4].start..fields[4].end], "exit");
            }
            k => panic!("{k:?}"),
        }
        let c = p.lines[0].comment.unwrap();
        assert_eq!(&text[c.start..c.end], "# trailing");
        assert_eq!(p.lines[1].kind, LineKind::Comment);
        match &p.lines[2].kind {
            LineKind::Param { value, .. } => {
                let v = value.unwrap();
                assert_eq!(&text[v.start..v.end], "value words");
            }
            k => panic!("{k:?}"),
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

//! Renderers that need no terminal: `short` (one line each) and `plain` (rustc-like, with the
//! source line and a caret underline). The CLI adds miette's graphical renderer and JSON.

use super::{escape, Diagnostic};
use crate::span::Span;
use std::fmt::Write;

/// `file:line:col: severity[code]: message`
pub fn short(d: &Diagnostic) -> String {
    let mut out = String::new();
    match (d.file_name(), d.location()) {
        (Some(f), Some((s, _))) => {
            let _ = write!(out, "{}:{}:{}: ", escape(f), s.line, s.column);
        }
        (Some(f), None) => {
            let _ = write!(out, "{}: ", escape(f));
        }
        _ => {}
    }
    let _ = write!(
        out,
        "{}[{}]: {}",
        d.severity.as_str(),
        d.code.id,
        escape(&d.message)
    );
    out
}

/// The longest source line a report shows whole, in bytes. A longer line (a minified JSON
/// file, a generated one) is shown as a window of this size around the label, marked `…`:
/// a 7 MB line under each of a thousand diagnostics was gigabytes of report.
pub const MAX_SHOWN: usize = 160;

/// The part of `line` shown for a label at `at`: the line, or a window starting a little
/// before the label.
fn window(text: &str, line: Span, at: Span) -> (usize, usize) {
    if line.len() <= MAX_SHOWN {
        return (line.start, line.end);
    }
    let mut from = at.start.saturating_sub(MAX_SHOWN / 4).max(line.start);
    let mut to = (from + MAX_SHOWN).min(line.end);
    while !text.is_char_boundary(from) {
        from -= 1;
    }
    while !text.is_char_boundary(to) {
        to += 1;
    }
    (from, to)
}

/// A multi-line report in the style of rustc, without colour. User text (message, file name,
/// source line) is [`escape`]d: a control character in the input reaches no terminal.
pub fn plain(d: &Diagnostic) -> String {
    let d = &d.escaped();
    let mut out = format!("{}[{}]: {}\n", d.severity.as_str(), d.code.id, d.message);
    if let (Some(src), Some((start, _))) = (&d.source, d.location()) {
        let _ = writeln!(
            out,
            "  --> {}:{}:{}",
            escape(src.name()),
            start.line,
            start.column
        );
        for label in &d.labels {
            let number = src.line_at(label.span.start);
            let line = src.line_span(number);
            let (from, to) = window(src.text(), line, label.span);
            let (cut_before, cut_after) = (from > line.start, to < line.end);
            let gutter = number.to_string();
            let pad = " ".repeat(gutter.len());
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(
                out,
                "{gutter} | {}{}{}",
                if cut_before { "…" } else { "" },
                escape(&src.text()[from..to].replace('\t', " ")),
                if cut_after { "…" } else { "" }
            );
            let end = label.span.end.min(to).max(label.span.start);
            // Columns as shown: an escaped character takes the width of its escape.
            let shown = |t: &str| escape(t).chars().count();
            let width = shown(&src.text()[label.span.start..end]).max(1);
            let before =
                usize::from(cut_before) + shown(&src.text()[from..label.span.start.max(from)]);
            let _ = writeln!(
                out,
                "{pad} | {}{} {}",
                " ".repeat(before),
                "^".repeat(width),
                label.text.as_deref().unwrap_or("")
            );
        }
    } else if let Some(f) = d.file_name() {
        let _ = writeln!(out, "  --> {}", escape(f));
    }
    if let Some(h) = &d.help {
        let _ = writeln!(out, "  = help: {h}");
    }
    out
}

//! Renderers that need no terminal: `short` (one line each) and `plain` (rustc-like, with the
//! source line and a caret underline). The CLI adds miette's graphical renderer and JSON.

use super::{escape, Diagnostic};
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
            let s = src.line_col(label.span.start);
            let line = src.line_span(s.line);
            let text = src.slice(line);
            let gutter = s.line.to_string();
            let pad = " ".repeat(gutter.len());
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{gutter} | {}", escape(&text.replace('\t', " ")));
            let end = label.span.end.min(line.end).max(label.span.start);
            // Columns as shown: an escaped character takes the width of its escape.
            let shown = |t: &str| escape(t).chars().count();
            let width = shown(&src.text()[label.span.start..end]).max(1);
            let before = shown(&src.text()[line.start..label.span.start.max(line.start)]);
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

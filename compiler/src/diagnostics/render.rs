//! Renderers that need no terminal: `short` (one line each) and `plain` (rustc-like, with the
//! source line and a caret underline). The CLI adds miette's graphical renderer and JSON.

use super::Diagnostic;
use std::fmt::Write;

/// `file:line:col: severity[code]: message`
pub fn short(d: &Diagnostic) -> String {
    let mut out = String::new();
    match (d.file_name(), d.location()) {
        (Some(f), Some((s, _))) => {
            let _ = write!(out, "{f}:{}:{}: ", s.line, s.column);
        }
        (Some(f), None) => {
            let _ = write!(out, "{f}: ");
        }
        _ => {}
    }
    let _ = write!(out, "{}[{}]: {}", d.severity.as_str(), d.code.id, d.message);
    out
}

/// A multi-line report in the style of rustc, without colour.
pub fn plain(d: &Diagnostic) -> String {
    let mut out = format!("{}[{}]: {}\n", d.severity.as_str(), d.code.id, d.message);
    if let (Some(src), Some((start, _))) = (&d.source, d.location()) {
        let _ = writeln!(out, "  --> {}:{}:{}", src.name(), start.line, start.column);
        for label in &d.labels {
            let s = src.line_col(label.span.start);
            let line = src.line_span(s.line);
            let text = src.slice(line);
            let gutter = s.line.to_string();
            let pad = " ".repeat(gutter.len());
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{gutter} | {}", text.replace('\t', " "));
            let end = label.span.end.min(line.end).max(label.span.start);
            let width = src.text()[label.span.start..end].chars().count().max(1);
            let _ = writeln!(
                out,
                "{pad} | {}{} {}",
                " ".repeat(s.column - 1),
                "^".repeat(width),
                label.text.as_deref().unwrap_or("")
            );
        }
    } else if let Some(f) = d.file_name() {
        let _ = writeln!(out, "  --> {f}");
    }
    if let Some(h) = &d.help {
        let _ = writeln!(out, "  = help: {h}");
    }
    out
}

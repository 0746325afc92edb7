//! Printing diagnostics in the chosen `--message-format`: `human` (miette's graphical report
//! on a terminal, the plain renderer otherwise) and `short` go to stderr; `json` (one object
//! per line) and `github` (workflow commands) go to stdout, where CI tools read them.

use std::io::{IsTerminal, Write};

use crate::diagnostics::{escape, render, Diagnostic, Severity};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageFormat {
    #[default]
    Human,
    Short,
    Json,
    Github,
}

/// One diagnostic as a JSON object, keys in the order the spec lists them (serde_json's map
/// would sort them, so the line is assembled from individually encoded values). Text is
/// escaped as in every format (JSON itself would leave DEL, C1 and bidi controls raw).
pub fn to_json(d: &Diagnostic) -> String {
    let loc = d.location();
    let d = &d.escaped();
    let enc = |v: serde_json::Value| v.to_string();
    let fields = [
        (
            "file",
            enc(d.file_name().map(|f| escape(f).into_owned()).into()),
        ),
        ("line", enc(loc.map(|l| l.0.line).into())),
        ("column", enc(loc.map(|l| l.0.column).into())),
        ("end_line", enc(loc.map(|l| l.1.line).into())),
        ("end_column", enc(loc.map(|l| l.1.column).into())),
        ("severity", enc(d.severity.as_str().into())),
        ("code", enc(d.code.id.into())),
        ("message", enc(d.message.as_str().into())),
        ("help", enc(d.help.as_deref().into())),
    ];
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
    format!("{{{}}}", body.join(","))
}

/// Escapes workflow-command data (`%`, CR, LF), as GitHub Actions defines it.
pub fn github_escape(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a workflow-command property (`file=`, `title=`): data escaping plus `:` and `,`,
/// which separate properties.
fn github_property(s: &str) -> String {
    github_escape(s).replace(':', "%3A").replace(',', "%2C")
}

/// `::error file=F,line=L,col=C,endLine=..,endColumn=..,title=CODE::message`
pub fn to_github(d: &Diagnostic) -> String {
    let kind = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut props = Vec::new();
    if let Some(f) = d.file_name() {
        props.push(format!("file={}", github_property(&escape(f))));
    }
    if let Some((s, e)) = d.location() {
        props.push(format!("line={}", s.line));
        props.push(format!("col={}", s.column));
        props.push(format!("endLine={}", e.line));
        props.push(format!("endColumn={}", e.column));
    }
    props.push(format!("title={}", github_property(d.code.id)));
    // Escaped first: the one line break is the one added here, written as `%0A`.
    let mut msg = escape(&d.message).into_owned();
    if let Some(h) = &d.help {
        msg.push_str("\nhelp: ");
        msg.push_str(&escape(h));
    }
    format!("::{kind} {}::{}", props.join(","), github_escape(&msg))
}

/// miette's report, with escaped text. It prints source lines whole and as they are, so a
/// diagnostic whose shown lines are long or hold a control character gets the plain report,
/// which shows a window of a long line and escapes.
fn graphical(d: &Diagnostic) -> String {
    if d.shows_long_line() || d.shows_unsafe_source() {
        return render::plain(d);
    }
    let mut out = String::new();
    let handler = miette::GraphicalReportHandler::new();
    match handler.render_report(&mut out, &d.escaped()) {
        Ok(()) => out,
        Err(_) => render::plain(d),
    }
}

/// Prints diagnostics to stderr (human, short) or stdout (json, github).
pub fn print_diagnostics(diags: &[Diagnostic], format: MessageFormat) {
    let tty = std::io::stderr().is_terminal();
    let mut err = std::io::stderr().lock();
    let mut out = std::io::stdout().lock();
    for d in diags {
        // Write errors (a closed pipe) are not worth a panic; stop quietly.
        let r = match format {
            MessageFormat::Short => writeln!(err, "{}", render::short(d)),
            MessageFormat::Human if tty => writeln!(err, "{}", graphical(d)),
            MessageFormat::Human => writeln!(err, "{}", render::plain(d)),
            MessageFormat::Json => writeln!(out, "{}", to_json(d)),
            MessageFormat::Github => writeln!(out, "{}", to_github(d)),
        };
        if r.is_err() {
            return;
        }
    }
}

/// `2 errors, 1 warning in 3 files` (human format only), to stderr.
pub fn print_summary(diags: &[Diagnostic], files: usize, format: MessageFormat) {
    if format != MessageFormat::Human {
        return;
    }
    let errors = diags.iter().filter(|d| d.is_error()).count();
    let warnings = diags.len() - errors;
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    eprintln!(
        "{}, {} in {}",
        plural(errors, "error"),
        plural(warnings, "warning"),
        plural(files, "file")
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::codes;
    use crate::span::{SourceFile, Span};

    #[test]
    fn the_graphical_report_escapes_too() {
        // A control character in the message only: miette renders the escaped copy.
        let src = SourceFile::new("x.yaml", "name: web\n");
        let d = Diagnostic::error(codes::SCHEMA_UNKNOWN_KEY, "unknown key `\x1b[31mred`")
            .with_label(Span::new(0, 4), "\x1b[2J")
            .in_file(&src);
        let out = graphical(&d);
        assert!(
            !out.contains("\x1b[31mred") && !out.contains("\x1b[2J"),
            "{out:?}"
        );
        assert!(out.contains("\\u{1b}[31mred"), "{out:?}");
        // In a shown source line: the plain report, which escapes it.
        let src = SourceFile::new("x.yaml", "\x1b[31mred: 1\n");
        let d = Diagnostic::error(codes::SCHEMA_UNKNOWN_KEY, "unknown key")
            .with_label(Span::new(0, 9), "here")
            .in_file(&src);
        let out = graphical(&d);
        assert!(!out.contains('\x1b'), "{out:?}");
    }

    #[test]
    fn a_long_line_is_shown_in_a_window_of_whole_characters() {
        // Multi-byte characters on both sides of the window's edges, the label in the middle.
        let text = format!("{}bad{}\n", "é".repeat(500), "€".repeat(500));
        let src = SourceFile::new("x.yaml", text.clone());
        let at = text.find("bad").unwrap();
        let d = Diagnostic::error(codes::SCHEMA_TYPE, "wrong")
            .with_label(Span::new(at, at + 3), "here")
            .in_file(&src);
        let out = graphical(&d);
        let lines: Vec<&str> = out.lines().collect();
        let shown = lines.iter().find(|l| l.contains("bad")).unwrap();
        let caret = lines.iter().find(|l| l.contains('^')).unwrap();
        assert!(
            shown.starts_with("1 | …") && shown.ends_with('…'),
            "{shown}"
        );
        let col = caret.find('^').unwrap();
        let under: String = shown.chars().skip(col).take(3).collect();
        assert_eq!(under, "bad", "{out}");
        assert!(shown.chars().count() < 200, "{shown}");
    }
}

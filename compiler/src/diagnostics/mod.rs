//! Diagnostics: one type for every problem any front-end, rule or command reports.
//!
//! Each carries a stable code (see [`codes`]), a severity, a message, labelled spans in one
//! source file, and help where a fix is known. It implements [`miette::Diagnostic`] so the CLI
//! can render it graphically; [`render`] has the plain renderers that need no terminal.

pub mod codes;
pub mod render;

use std::sync::Arc;

use crate::span::{LineCol, SourceFile, Span};
pub use codes::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Label {
    pub span: Span,
    pub text: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The first label is the primary location.
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// `None` for problems that belong to no file (a missing path, say).
    pub source: Option<Arc<SourceFile>>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            source: None,
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    pub fn with_label(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            text: Some(text.into()),
        });
        self
    }

    pub fn with_span(mut self, span: Span) -> Diagnostic {
        self.labels.push(Label { span, text: None });
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn in_file(mut self, source: &Arc<SourceFile>) -> Diagnostic {
        self.source = Some(source.clone());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    pub fn primary_span(&self) -> Option<Span> {
        self.labels.first().map(|l| l.span)
    }

    /// Start and end (1-based) of the primary span, if the diagnostic has a file and a span.
    pub fn location(&self) -> Option<(LineCol, LineCol)> {
        let src = self.source.as_ref()?;
        let span = self.primary_span()?;
        Some((src.line_col(span.start), src.line_col(span.end)))
    }

    pub fn file_name(&self) -> Option<&str> {
        self.source.as_ref().map(|s| s.name())
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Diagnostic {}

impl miette::Diagnostic for Diagnostic {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code.id))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        self.help
            .as_ref()
            .map(|h| Box::new(h) as Box<dyn std::fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_deref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = miette::LabeledSpan> + '_>> {
        self.source.as_ref()?;
        Some(Box::new(self.labels.iter().enumerate().map(|(i, l)| {
            let span: miette::SourceSpan = l.span.into();
            if i == 0 {
                miette::LabeledSpan::new_primary_with_span(l.text.clone(), span)
            } else {
                miette::LabeledSpan::new_with_span(l.text.clone(), span)
            }
        })))
    }
}

/// Sorts diagnostics by file, then position, so output is deterministic.
pub fn sort(diags: &mut [Diagnostic]) {
    diags.sort_by(|a, b| {
        let ka = (a.file_name(), a.primary_span().map(|s| s.start));
        let kb = (b.file_name(), b.primary_span().map(|s| s.start));
        ka.cmp(&kb)
    });
}

/// Errors reported per file at most: past this, a reader stops and adds one
/// [`too_many`] diagnostic (a file of millions of bad lines would otherwise cost minutes and
/// gigabytes, all spent on messages nobody reads).
pub const MAX_ERRORS_PER_FILE: usize = 1000;

/// The diagnostic that ends a file's report at [`MAX_ERRORS_PER_FILE`], at `span`.
pub fn too_many(span: Span, src: &Arc<SourceFile>) -> Diagnostic {
    Diagnostic::error(
        codes::TOO_MANY_ERRORS,
        format!("more than {MAX_ERRORS_PER_FILE} errors; the rest of this file is not checked"),
    )
    .with_label(span, "stopped here")
    .with_help("fix the errors above, or check that this is the file you meant")
    .in_file(src)
}

/// Keeps the first [`MAX_ERRORS_PER_FILE`] diagnostics of a file and ends its report with
/// [`too_many`] at the first one left out (for checks that run past the limit before they
/// can stop, such as the semantic rules after a loop over the entries).
pub fn cap(diags: &mut Vec<Diagnostic>, src: &Arc<SourceFile>) {
    if diags.len() <= MAX_ERRORS_PER_FILE || diags.iter().any(|d| d.code == codes::TOO_MANY_ERRORS)
    {
        return;
    }
    let at = diags[MAX_ERRORS_PER_FILE]
        .primary_span()
        .unwrap_or_default();
    diags.truncate(MAX_ERRORS_PER_FILE);
    diags.push(too_many(at, src));
}

/// Whether `c` must not reach a terminal or a CI log as it is: control characters (ESC starts
/// terminal sequences; CR and LF would start a line of their own, such as a forged GitHub
/// `::error` command) and the characters that reorder or split what is shown (bidirectional
/// controls, line and paragraph separators). A tab is harmless.
pub fn is_unsafe_char(c: char) -> bool {
    (c.is_control() && c != '\t')
        || matches!(
            c,
            '\u{061c}'
                | '\u{200e}'
                | '\u{200f}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
                | '\u{2028}'
                | '\u{2029}'
        )
}

/// `s` with every [`is_unsafe_char`] written as a Rust-style escape (`\u{1b}`). Every output
/// format passes user-controlled text (messages quote values, file names, source lines)
/// through this.
pub fn escape(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(is_unsafe_char) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if is_unsafe_char(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out.into()
}

impl Diagnostic {
    /// A copy whose message, help and label texts are [`escape`]d (the source is not).
    pub fn escaped(&self) -> Diagnostic {
        let mut d = self.clone();
        d.message = escape(&d.message).into_owned();
        d.help = d.help.map(|h| escape(&h).into_owned());
        for l in &mut d.labels {
            l.text = l.text.take().map(|t| escape(&t).into_owned());
        }
        d
    }

    /// Whether a line this diagnostic shows from its file is longer than reports show whole
    /// ([`render::MAX_SHOWN`]).
    pub fn shows_long_line(&self) -> bool {
        let Some(src) = &self.source else {
            return false;
        };
        self.labels
            .iter()
            .any(|l| src.line_span(src.line_at(l.span.start)).len() > render::MAX_SHOWN)
    }

    /// Whether a line this diagnostic shows from its file holds an [`is_unsafe_char`].
    pub fn shows_unsafe_source(&self) -> bool {
        let Some(src) = &self.source else {
            return false;
        };
        src.name().chars().any(is_unsafe_char)
            || self.labels.iter().any(|l| {
                src.slice(src.line_span(src.line_at(l.span.start)))
                    .chars()
                    .any(is_unsafe_char)
            })
    }
}

//! Reading single pfile values (numbers, actions) with their diagnostics: shared by the PARAM
//! and PENT lowering.

use std::ops::RangeInclusive;
use std::sync::Arc;

use crate::diagnostics::{codes, Diagnostic};
use crate::model::Action;
use crate::rules;
use crate::span::{SourceFile, Span};
use crate::suggestion::{suggest, Closeness};

/// Parses a whole-number field: decimal, or hexadecimal with `0x` where `hex` allows it.
pub fn number(text: &str, hex: bool) -> Option<u64> {
    // `0x` or `0X` (no lower-cased copy: this runs for every number of every PENT line).
    let h = match text.as_bytes() {
        [b'0', b'x' | b'X', ..] => Some(&text[2..]),
        _ => None,
    };
    match h {
        Some(h) if hex && !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u64::from_str_radix(h, 16).ok()
        }
        _ if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        _ => None,
    }
}

/// How a number is written and its range said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Decimal; the range in plain numbers.
    Plain,
    /// Hexadecimal with `0x`, or decimal.
    Hex,
    /// Decimal seconds; the range in human terms (`1 s to 1 d`).
    Seconds,
}

/// A source file and the diagnostics found in it so far.
pub struct Reader<'a> {
    pub src: &'a Arc<SourceFile>,
    pub diags: Vec<Diagnostic>,
}

impl<'a> Reader<'a> {
    pub fn new(src: &'a Arc<SourceFile>) -> Self {
        Reader {
            src,
            diags: Vec::new(),
        }
    }

    pub fn text(&self, span: Span) -> &'a str {
        self.src.slice(span)
    }

    pub fn error(&mut self, code: codes::Code, msg: impl Into<String>, span: Span, label: &str) {
        let d = Diagnostic::error(code, msg)
            .with_label(span, label)
            .in_file(self.src);
        self.diags.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.diags.iter().any(Diagnostic::is_error)
    }

    /// The diagnostics, and `value` only when none of them is an error.
    pub fn finish<T>(self, value: T) -> (Option<T>, Vec<Diagnostic>) {
        let ok = !self.has_errors();
        (ok.then_some(value), self.diags)
    }

    /// A number within `range`, or a diagnostic (the range in plain numbers, as the guide's
    /// fields always said it).
    pub fn bounded(
        &mut self,
        span: Span,
        what: &str,
        range: RangeInclusive<u64>,
        hex: bool,
    ) -> Option<u64> {
        let kind = if hex { Kind::Hex } else { Kind::Plain };
        self.number_in(span, what, range, kind)
    }

    /// A number of `kind` within `range`, or a diagnostic.
    pub fn number_in(
        &mut self,
        span: Span,
        what: &str,
        range: RangeInclusive<u64>,
        kind: Kind,
    ) -> Option<u64> {
        let text = self.text(span);
        let Some(n) = number(text, kind == Kind::Hex) else {
            let expect = match kind {
                Kind::Hex => "a hexadecimal (0x...) or decimal number",
                Kind::Plain => "a whole number",
                Kind::Seconds => "a whole number of seconds",
            };
            self.error(
                codes::NOT_A_NUMBER,
                // As every message, escaped when printed.
                format!("{what} must be {expect}, not `{text}`"),
                span,
                "not a number",
            );
            return None;
        };
        let d = if kind == Kind::Seconds {
            rules::check_seconds_range(n, range, what, span, self.src)
        } else {
            rules::check_range(n, range, what, span, self.src)
        };
        match d {
            Some(d) => {
                self.diags.push(d);
                None
            }
            None => Some(n),
        }
    }

    /// The retry-over action of field `f`: any casing (a warning unless lower case).
    pub fn action(&mut self, f: Span) -> Option<Action> {
        let text = self.text(f);
        match Action::parse_any_case(text) {
            Some(a) => {
                if a.as_str() != text {
                    self.diags.push(
                        Diagnostic::warning(
                            codes::PFILE_ACTION_CASE,
                            format!("`{text}` is not in canonical lower case"),
                        )
                        .with_label(f, "accepted, but not canonical")
                        .with_help(format!("write `{}`", a.as_str()))
                        .in_file(self.src),
                    );
                }
                Some(a)
            }
            None => {
                let mut d = Diagnostic::error(
                    codes::INVALID_ACTION,
                    format!("unknown retry-over action `{text}`"),
                )
                .with_label(f, "expected continue, exit or shutdown")
                .in_file(self.src);
                if let Some(best) = suggest(
                    &text.to_ascii_lowercase(),
                    Action::ALL.map(Action::as_str).as_slice(),
                    Closeness::Near,
                ) {
                    d = d.with_help(best.to_string());
                }
                self.diags.push(d);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::number;

    #[test]
    fn numbers_decimal_and_hex() {
        assert_eq!(number("86400", false), Some(86400));
        assert_eq!(number("0x1f", true), Some(0x1f));
        assert_eq!(number("0X1F", true), Some(0x1f));
        assert_eq!(number("0x1f", false), None);
        assert_eq!(number("0012", true), Some(12));
        for bad in [
            "", "0x", "0X", "+1", "0x+1", "-1", "1 ", "0xg", "x1", "é", "0é",
        ] {
            assert_eq!(number(bad, true), None, "{bad:?}");
        }
        assert_eq!(number("18446744073709551616", false), None);
    }
}

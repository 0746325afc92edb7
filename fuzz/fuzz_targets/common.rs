//! Shared by the targets: load bytes as one format and check what must hold for any input.

use psctl::input::{load_bytes, load_streamed, Format, Input, Streamed};

/// Loads `data`; no panic, and every diagnostic span lies in its file on char boundaries.
pub fn load(name: &str, data: &[u8], format: Format) -> Input {
    let input = load_bytes(name, data, format);
    for d in &input.diagnostics {
        if let Some(src) = &d.source {
            let t = src.text();
            for l in &d.labels {
                assert!(l.span.start <= l.span.end && l.span.end <= t.len(), "{d:?}");
                assert!(t.is_char_boundary(l.span.start) && t.is_char_boundary(l.span.end));
            }
        }
    }
    assert_eq!(input.service.is_some(), !input.has_errors());
    // Read entry by entry (as files of a megabyte and more are), the outcome is the same.
    if let Ok(text) = std::str::from_utf8(data) {
        let src = psctl::span::SourceFile::new(name, text.to_owned());
        if let Streamed::Done(streamed) = load_streamed(name, &src, format) {
            assert_eq!(streamed.service, input.service, "{text:?}");
            let said = |i: &Input| -> Vec<String> {
                i.diagnostics.iter().map(|d| format!("{} {:?}", d.message, d.labels)).collect()
            };
            assert_eq!(said(&streamed), said(&input), "{text:?}");
        }
    }
    input
}

//! Shared by the targets: load bytes as one format and check what must hold for any input.

use psctl::input::{load_bytes, Format, Input};

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
    input
}

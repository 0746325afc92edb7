//! Text from files and processes on its way to a terminal or a log line: control characters,
//! bidirectional overrides and line separators are shown escaped (`\x1b`, `\u{202e}`), so a
//! name or command cannot move the cursor, recolour the screen, forge a line or reorder what an
//! operator reads. Tabs stay (pfiles use them as blanks).

use std::borrow::Cow;
use std::fmt::Write;

/// Whether `c` must not reach a terminal or a log line as it is.
pub fn is_unsafe(c: char) -> bool {
    (c.is_control() && c != '\t') || is_invisible_reordering(c)
}

/// Bidirectional controls and the Unicode line and paragraph separators: not control
/// characters to `char::is_control`, but they change how a line reads (CVE-2021-42574).
pub fn is_invisible_reordering(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
            | '\u{2028}' | '\u{2029}'
    )
}

/// `s` with every unsafe character escaped; borrowed when there is none.
pub fn for_display(s: &str) -> Cow<'_, str> {
    if !s.chars().any(is_unsafe) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            c if !is_unsafe(c) => out.push(c),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if (c as u32) < 0x100 => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c => {
                let _ = write!(out, "\\u{{{:04x}}}", c as u32);
            }
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_could_mislead_a_reader() {
        assert!(matches!(for_display("crond -n\t#"), Cow::Borrowed(_)));
        assert_eq!(for_display("a\x1b[2Jb"), "a\\x1b[2Jb");
        assert_eq!(for_display("x\ny\r"), "x\\ny\\r");
        assert_eq!(for_display("\u{9b}"), "\\x9b");
        assert_eq!(for_display("ab\u{202e}cd"), "ab\\u{202e}cd");
        assert_eq!(for_display("a\u{2028}b"), "a\\u{2028}b");
        assert_eq!(for_display("\x7f"), "\\x7f");
        assert_eq!(for_display("日本語"), "日本語");
    }
}

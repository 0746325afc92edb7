//! Control characters in an input reach no terminal and no CI log raw, in any message format:
//! no ESC sequence, no line break that would start a forged GitHub `::error` command.

use crate::test::PSCTL;
use std::process::Command;

fn check(path: &std::path::Path, format: &str) -> String {
    let o = Command::new(PSCTL)
        .args(["check", "--message-format", format])
        .arg(path)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{o:?}");
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn control_characters_are_escaped_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    // An unknown key holding ESC sequences, a process name and a pfile line with a newline
    // and a forged workflow command, a bidi override.
    let yaml = dir.path().join("evil.yaml");
    std::fs::write(
        &yaml,
        "name: web\nipckey: 1\n\"\\e[31mred\\e[0m\": 1\nprocesses:\n  - name: \"a\\n::error file=x::forged\"\n  - name: \"b\\r::warning::forged\\u202e\"\n",
    )
    .unwrap();
    let pfile = dir.path().join("pfile_evil");
    std::fs::write(
        &pfile,
        "IPCKEY 0x1\nBAD\x1b[2J 1\na\x1b]0;title\x07:-:1:1:continue\n",
    )
    .unwrap();
    for path in [&yaml, &pfile] {
        for format in ["human", "short", "json", "github"] {
            let out = check(path, format);
            for bad in ['\x1b', '\r', '\x07', '\u{202e}'] {
                assert!(!out.contains(bad), "{format}: {bad:?} in {out}");
            }
            if format == "human" {
                // The plain report shows the source line, escaped.
                assert!(
                    out.contains("\\u{1b}"),
                    "{format}: the escape is shown: {out}"
                );
            }
            for line in out.lines() {
                if line.starts_with("::") {
                    assert!(
                        line.starts_with("::error file=") || line.starts_with("::warning file="),
                        "{format}: forged line {line:?}"
                    );
                }
                assert!(!line.contains("::error::"), "{format}: {line:?}");
            }
        }
    }
}

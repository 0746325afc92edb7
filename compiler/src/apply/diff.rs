//! Unified diffs of what `apply` would change, in git's extended format so that modes and
//! new or removed files show (and `git apply` can read it).

use similar::TextDiff;

/// The diff turning `old` (None: absent) into `new` (None: removed) at `host_path`.
pub fn file_diff(host_path: &str, old: Option<(&[u8], u32)>, new: Option<(&[u8], u32)>) -> String {
    let name = host_path.trim_start_matches('/');
    let (a, b) = (format!("a/{name}"), format!("b/{name}"));
    let mut out = format!("diff --git {a} {b}\n");
    match (old, new) {
        (None, Some((_, m))) => out.push_str(&format!("new file mode {}\n", git_mode(m))),
        (Some((_, m)), None) => out.push_str(&format!("deleted file mode {}\n", git_mode(m))),
        (Some((_, om)), Some((_, nm))) if om != nm => {
            out.push_str(&format!(
                "old mode {}\nnew mode {}\n",
                git_mode(om),
                git_mode(nm)
            ));
        }
        _ => {}
    }
    let old_text = String::from_utf8_lossy(old.map_or(&[][..], |o| o.0));
    let new_text = String::from_utf8_lossy(new.map_or(&[][..], |n| n.0));
    if old_text != new_text {
        let from = if old.is_some() {
            a
        } else {
            "/dev/null".to_owned()
        };
        let to = if new.is_some() {
            b
        } else {
            "/dev/null".to_owned()
        };
        let diff = TextDiff::from_lines(old_text.as_ref(), new_text.as_ref());
        out.push_str(&diff.unified_diff().header(&from, &to).to_string());
    }
    out
}

/// The mode that marks a symbolic link (its text is the link's target), as git has it.
pub const SYMLINK: u32 = 0o120000;

/// A mode as git writes it: `100644` for a regular file's permission bits, `120000` for a link.
fn git_mode(mode: u32) -> String {
    if mode == SYMLINK {
        format!("{SYMLINK:o}")
    } else {
        format!("{:o}", 0o100000 | mode)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_changed_mode_and_removed_files() {
        let d = file_diff("/etc/x", None, Some((b"a\n", 0o644)));
        assert!(
            d.contains("new file mode 100644\n--- /dev/null\n+++ b/etc/x\n"),
            "{d}"
        );
        assert!(d.contains("+a\n"));

        let d = file_diff("/etc/x", Some((b"a\nb\n", 0o644)), Some((b"a\nc\n", 0o644)));
        assert!(
            d.contains("--- a/etc/x\n+++ b/etc/x\n@@ -1,2 +1,2 @@\n a\n-b\n+c\n"),
            "{d}"
        );

        let d = file_diff("/etc/x", Some((b"a\n", 0o644)), Some((b"a\n", 0o755)));
        assert_eq!(
            d,
            "diff --git a/etc/x b/etc/x\nold mode 100644\nnew mode 100755\n"
        );

        let d = file_diff("/etc/x", Some((b"a\n", 0o644)), None);
        assert!(
            d.contains("deleted file mode 100644\n--- a/etc/x\n+++ /dev/null\n@@ -1 +0,0 @@\n-a\n"),
            "{d}"
        );
    }
}

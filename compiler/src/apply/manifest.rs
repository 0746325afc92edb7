//! The manifest: which files `psctl apply` installed, so that files whose description is gone
//! can be listed and, with `--prune`, removed.
//!
//! It lives at `ROOT/var/lib/psctl/manifest`: one absolute host path per line, sorted, after a
//! comment header. Paths only — comparing bytes with what would be generated is what decides
//! a change, so no checksums are needed.

use std::collections::BTreeSet;
use std::io;
use std::path::Path;

/// The manifest's host path (joined to `--root`).
pub const MANIFEST_PATH: &str = "/var/lib/psctl/manifest";

const HEADER: &str = "# Files installed by `psctl apply`, one per line. Do not edit: psctl uses it to find\n# files whose description is gone (listed as stale, removed with --prune).\n";

/// Reads the manifest; an absent manifest is empty.
pub fn load(file: &Path) -> io::Result<BTreeSet<String>> {
    let text = match std::fs::read(file) {
        Ok(b) => String::from_utf8(b)
            .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "manifest is not UTF-8"))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(BTreeSet::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with('/'))
        .map(str::to_owned)
        .collect())
}

/// The manifest's bytes for a set of host paths (deterministic: sorted by the set).
pub fn render(paths: &BTreeSet<String>) -> Vec<u8> {
    let mut out = String::from(HEADER);
    for p in paths {
        out.push_str(p);
        out.push('\n');
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_missing_is_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("manifest");
        assert!(load(&file).unwrap().is_empty());
        let set: BTreeSet<String> = ["/b/x".to_owned(), "/a/y".to_owned()].into();
        std::fs::write(&file, render(&set)).unwrap();
        assert_eq!(load(&file).unwrap(), set);
        assert!(String::from_utf8(render(&set))
            .unwrap()
            .ends_with("/a/y\n/b/x\n"));
    }
}

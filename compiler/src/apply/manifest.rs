//! The manifest: which files `psctl apply` installed and what it wrote in each, so that files
//! whose description is gone can be listed and, with `--prune`, removed while still exactly as
//! psctl wrote them, and so that a file psctl installed is recognized as its own.
//!
//! It lives at `ROOT/var/lib/psctl/manifest`: after a comment header, one line per file, the
//! SHA-256 of its content in hex, two spaces, its absolute host path (the format `sha256sum`
//! prints), sorted by path. A line that is only a path (written by an older psctl) is read
//! with no hash: such a file is never pruned.

use std::collections::BTreeMap;

use sha2::{Digest, Sha256};

/// The manifest's host path (under `--root`).
pub const MANIFEST_PATH: &str = "/var/lib/psctl/manifest";

const HEADER: &str = "# Files installed by `psctl apply`: SHA-256 of the content psctl wrote, two spaces, host path.\n# Do not edit: psctl uses it to recognize its files and to find those whose description is gone\n# (listed as stale; removed with --prune only while unchanged).\n";

/// Host path -> hash of the content psctl wrote (hex), if known.
pub type Manifest = BTreeMap<String, Option<String>>;

/// The SHA-256 of `bytes` in lower-case hex.
pub fn hash(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Parses a manifest's bytes; lines that are neither form are ignored.
pub fn parse(bytes: &[u8]) -> Result<Manifest, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "the manifest is not UTF-8".to_owned())?;
    let mut out = Manifest::new();
    for line in text.lines().map(str::trim_end) {
        if line.starts_with('/') {
            out.insert(line.to_owned(), None);
        } else if let Some((h, path)) = line.split_once("  ") {
            if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) && path.starts_with('/') {
                out.insert(path.to_owned(), Some(h.to_ascii_lowercase()));
            }
        }
    }
    Ok(out)
}

/// The manifest's bytes (deterministic: sorted by the map).
pub fn render(m: &Manifest) -> Vec<u8> {
    let mut out = String::from(HEADER);
    for (path, h) in m {
        match h {
            Some(h) => out.push_str(&format!("{h}  {path}\n")),
            None => out.push_str(&format!("{path}\n")),
        }
    }
    out.into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_old_lines_and_the_sha256sum_format() {
        let mut m = Manifest::new();
        m.insert("/b/x".into(), Some(hash(b"x\n")));
        m.insert("/a/y".into(), None);
        let bytes = render(&m);
        assert_eq!(parse(&bytes).unwrap(), m);
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            text.ends_with(&format!("/a/y\n{}  /b/x\n", hash(b"x\n"))),
            "{text}"
        );
        // The FIPS 180-2 example: what `printf abc | sha256sum` prints.
        assert_eq!(
            hash(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(parse(b"\xff").is_err());
        assert!(parse(b"").unwrap().is_empty());
    }
}

//! Reading what is installed and replacing it atomically.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::atomic::{self, Durability};

/// What is at a target path now.
pub struct Current {
    pub bytes: Vec<u8>,
    /// Permission bits (`mode & 0o7777`).
    pub mode: u32,
    /// The path is a symbolic link (inside the root): it is replaced by a regular file.
    pub symlink: bool,
}

/// Reads the file at `target`; `None` when nothing is there.
pub fn read_current(target: &Path) -> io::Result<Option<Current>> {
    let lmeta = match fs::symlink_metadata(target) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let meta = fs::metadata(target)?;
    Ok(Some(Current {
        bytes: fs::read(target)?,
        mode: meta.permissions().mode() & 0o7777,
        symlink: lmeta.file_type().is_symlink(),
    }))
}

/// Installs `bytes` with `mode` at `target` atomically and durably (see [`crate::atomic`]).
pub fn write_atomic(target: &Path, bytes: &[u8], mode: u32) -> io::Result<()> {
    atomic::write_atomic(target, bytes, mode, Durability::Sync)
}

/// Removes a file that psctl installed earlier.
pub fn remove(target: &Path) -> io::Result<()> {
    fs::remove_file(target)?;
    if let Some(dir) = target.parent() {
        atomic::sync_dir(dir);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_with_mode_and_replaces_a_symlink_not_its_target() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("a/b/script.sh");
        write_atomic(&target, b"#!/bin/sh\n", 0o755).unwrap();
        let cur = read_current(&target).unwrap().unwrap();
        assert_eq!(cur.bytes, b"#!/bin/sh\n");
        assert_eq!(cur.mode, 0o755);
        assert!(!cur.symlink);

        let victim = dir.path().join("victim");
        fs::write(&victim, "keep").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        assert!(read_current(&link).unwrap().unwrap().symlink);
        write_atomic(&link, b"new", 0o644).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&link).unwrap(), b"new");
        assert!(!fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert!(read_current(&dir.path().join("none")).unwrap().is_none());
    }
}

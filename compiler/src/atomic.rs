//! Atomic file replacement, shared by `build`, `fmt`, `import` and `apply`: a temporary file in
//! the target's directory, renamed over the target, so readers see the old file or the new one
//! and never a mix. A rename replaces a symbolic link itself, never what it points to.

use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// How hard to make a write survive a crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Durability {
    /// Rename only: right for build outputs, where thousands of files are written and a crash
    /// is fixed by building again.
    Rename,
    /// fsync the file before the rename and the directory after it: right for what a host runs
    /// (`apply`), where a half-durable pfile after a power cut would be a real outage.
    Sync,
}

/// Writes `bytes` with permission bits `mode` to `target` atomically, creating missing parent
/// directories. An interrupted write leaves at most a stray `.psctl-*` temporary file.
pub fn write_atomic(
    target: &Path,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> io::Result<()> {
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".psctl-")
        .tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))?;
    if durability == Durability::Sync {
        tmp.as_file().sync_all()?;
    }
    tmp.persist(target).map_err(|e| e.error)?;
    if durability == Durability::Sync {
        sync_dir(dir);
    }
    Ok(())
}

/// Makes a rename or removal durable. Best effort: some file systems refuse to sync a directory.
pub fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

//! Atomic file replacement, shared by `build`, `fmt`, `import` and `apply`: a temporary file in
//! the target's directory, renamed over the target, so readers see the old file or the new one
//! and never a mix. Everything happens relative to a descriptor of that directory
//! ([`write_at`]): the temporary file is created exclusively (never through a link someone
//! planted), and a rename replaces a symbolic link itself, never what it points to.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::path::Path;

use rustix::fs::{fchmod, fsync, openat, renameat, unlinkat, AtFlags, Mode, OFlags, CWD};
use rustix::io::Errno;

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
    let name = target
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "not a file name"))?;
    std::fs::create_dir_all(dir)?;
    let dir_fd = openat(
        CWD,
        dir,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    write_at(dir_fd.as_fd(), name, bytes, mode, durability)
}

/// Writes `bytes` with permission bits `mode` as `name` in the directory `dir` atomically: a
/// temporary `.psctl-*` file created exclusively in `dir`, filled, given its mode, renamed over
/// `name`. With [`Durability::Sync`], the file is flushed before the rename and `dir` after it.
pub fn write_at(
    dir: BorrowedFd<'_>,
    name: &OsStr,
    bytes: &[u8],
    mode: u32,
    durability: Durability,
) -> io::Result<()> {
    let (tmp_name, fd) = create_temporary(dir)?;
    let written = (|| -> io::Result<()> {
        let mut file = std::fs::File::from(fd);
        file.write_all(bytes)?;
        fchmod(&file, Mode::from_raw_mode(mode))?;
        if durability == Durability::Sync {
            fsync(&file)?;
        }
        renameat(dir, tmp_name.as_str(), dir, name)?;
        Ok(())
    })();
    if let Err(e) = written {
        let _ = unlinkat(dir, tmp_name.as_str(), AtFlags::empty());
        return Err(e);
    }
    if durability == Durability::Sync {
        // Best effort: some file systems refuse to sync a directory.
        let _ = fsync(dir);
    }
    Ok(())
}

/// A new file in `dir` under a name nobody could have prepared: `O_EXCL` fails on anything
/// already there, a link included, and the name is tried again.
fn create_temporary(dir: BorrowedFd<'_>) -> io::Result<(String, std::os::fd::OwnedFd)> {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let mut last = Errno::EXIST;
    for attempt in 0u32..64 {
        let n = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(u128::from(attempt) * 1442695040888963407);
        let name = format!(".psctl-{}-{:016x}", std::process::id(), n as u64);
        match openat(dir, name.as_str(), flags, Mode::from_raw_mode(0o600)) {
            Ok(fd) => return Ok((name, fd)),
            Err(Errno::EXIST) => last = Errno::EXIST,
            Err(e) => return Err(e.into()),
        }
    }
    Err(last.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_link_not_its_target_and_leaves_no_temporary() {
        let d = tempfile::tempdir().unwrap();
        let victim = d.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        std::os::unix::fs::symlink(&victim, d.path().join("link")).unwrap();
        write_atomic(&d.path().join("link"), b"new", 0o640, Durability::Sync).unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(d.path().join("link")).unwrap(), b"new");
        let meta = std::fs::symlink_metadata(d.path().join("link")).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert!(meta.is_file() && meta.permissions().mode() & 0o7777 == 0o640);
        write_atomic(&d.path().join("a/b/c"), b"x", 0o644, Durability::Rename).unwrap();
        let names: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.starts_with(".psctl-")), "{names:?}");
    }
}

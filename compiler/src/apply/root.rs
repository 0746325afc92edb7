//! The target tree, reached only through descriptors. `--root` is opened once, by the trust
//! walk from `/` ([`crate::trust::open`]); every path under it is walked from that descriptor
//! ([`crate::trust::open_in`]: symbolic links inside the tree behave as they would on the
//! target host and can never leave it; every directory and link on the way must be owned by
//! root or the caller and writable by nobody else, a root-owned sticky directory excepted).
//! The kernel then resolves the same path with `openat2(RESOLVE_IN_ROOT)` and must reach the
//! very directory that was checked. Files are read, created, renamed and removed relative to
//! that directory's descriptor, by one name that is never followed if it is a link: no path is
//! resolved again by name after it was checked.

use std::ffi::{OsStr, OsString};
use std::io::{self, Read as _};
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};

use rustix::fs::{openat, openat2, readlinkat, statat, AtFlags, FileType, Mode, OFlags};
use rustix::fs::{unlinkat, ResolveFlags};
use rustix::io::Errno;

use crate::atomic::{self, Durability};
use crate::trust::{self, Kind, Opened, Untrusted};

/// Larger than anything psctl writes by orders of magnitude; a bigger file is not read whole.
const MAX_READ: u64 = 64 << 20;

/// The root of the target tree.
pub struct Root {
    dir: Opened,
    me: u32,
}

/// A checked directory inside the root, open for `*at` calls.
pub struct Dir {
    fd: OwnedFd,
    /// The directory as reached, links resolved (under the root's path), for messages.
    pub path: PathBuf,
}

/// What is at a name in a [`Dir`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    File {
        bytes: Vec<u8>,
        mode: u32,
    },
    /// A symbolic link (never followed), with its target as text.
    Symlink(Vec<u8>),
    /// A regular file with other hard links: never read, for it may be any file of the host
    /// (in a sticky directory anyone can link in a file they cannot read). psctl's own files
    /// have one link.
    Linked {
        mode: u32,
    },
    /// A directory, device, socket or FIFO: never read, never replaced.
    Other,
}

impl Root {
    /// Opens `path` (relative to the working directory if not absolute) as the root, checking
    /// it and every directory and link on the way from `/`.
    pub fn open(path: &Path) -> Result<Root, String> {
        let me = rustix::process::geteuid().as_raw();
        let abs =
            std::path::absolute(path).map_err(|e| format!("--root {}: {e}", path.display()))?;
        let dir = trust::open(&abs, me, Kind::Dir).map_err(|e| refuse_root(path, &e))?;
        Ok(Root { dir, me })
    }

    /// The checked directory `dir` (a host path) under the root; `None` when it does not exist
    /// and `create` is false. With `create`, missing directories are made (mode 0755), each
    /// in a directory that was checked, and the walk starts over.
    pub fn dir(&self, dir: &Path, create: bool) -> Result<Option<Dir>, String> {
        let rel = dir.strip_prefix("/").unwrap_or(dir);
        for _ in 0..=rel.components().count() {
            match trust::open_in(&self.dir, rel, self.me, Kind::Dir) {
                Ok(opened) => return self.verified(rel, opened).map(Some),
                Err(e) if e.is_missing() && create => self.make_missing(&e)?,
                Err(e) if e.is_missing() => return Ok(None),
                Err(e) => return Err(refuse(&e)),
            }
        }
        Err(format!(
            "{}: could not create it under the root {}",
            dir.display(),
            self.dir.path.display()
        ))
    }

    /// The directory holding the file at `host_path` (see [`Root::dir`]) and the file's name.
    pub fn parent(&self, host_path: &str, create: bool) -> Result<(Option<Dir>, OsString), String> {
        let p = Path::new(host_path);
        let (Some(parent), Some(name)) = (p.parent(), p.file_name()) else {
            return Err(format!("{host_path}: an install path must name a file"));
        };
        Ok((self.dir(parent, create)?, name.to_owned()))
    }

    /// Creates the directory the walk found missing, inside its (checked) parent.
    fn make_missing(&self, missing: &Untrusted) -> Result<(), String> {
        let path = missing.path();
        let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
            return Err(refuse(missing));
        };
        let parent_rel = parent
            .strip_prefix(&self.dir.path)
            .map_err(|_| refuse(missing))?;
        let dir =
            trust::open_in(&self.dir, parent_rel, self.me, Kind::Dir).map_err(|e| refuse(&e))?;
        match rustix::fs::mkdirat(&dir.fd, name, Mode::from_raw_mode(0o755)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => {
                return Err(format!(
                    "cannot create {}: {}",
                    path.display(),
                    io::Error::from(e)
                ))
            }
        }
        // The mode does not depend on the umask of whoever runs apply.
        let made = openat(
            &dir.fd,
            name,
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .and_then(|fd| rustix::fs::fchmod(&fd, Mode::from_raw_mode(0o755)));
        made.map_err(|e| format!("cannot create {}: {}", path.display(), io::Error::from(e)))
    }

    /// The kernel's own in-root resolution of `rel` must reach the directory that was
    /// checked; then that directory is opened for I/O relative to itself.
    fn verified(&self, rel: &Path, opened: Opened) -> Result<Dir, String> {
        let flags = OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC;
        let how = ResolveFlags::IN_ROOT | ResolveFlags::NO_MAGICLINKS;
        let path = if rel.as_os_str().is_empty() {
            Path::new(".")
        } else {
            rel
        };
        let kernel = openat2(&self.dir.fd, path, flags, Mode::empty(), how)
            .and_then(|fd| rustix::fs::fstat(&fd));
        let same = kernel
            .is_ok_and(|st| st.st_dev == opened.stat.st_dev && st.st_ino == opened.stat.st_ino);
        if !same {
            return Err(format!(
                "{}: changed while it was being checked; refusing to use it",
                opened.path.display()
            ));
        }
        let fd = openat(
            &opened.fd,
            ".",
            OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| format!("{}: {}", opened.path.display(), io::Error::from(e)))?;
        Ok(Dir {
            fd,
            path: opened.path,
        })
    }

    /// Opens a file at `host_path` for reading the way the target host would (links inside
    /// the tree followed, every step checked), with its status. `Err` carries the reason, as
    /// a problem of that file.
    pub fn open_file(&self, host_path: &str) -> Result<Opened, Untrusted> {
        let rel = Path::new(host_path.trim_start_matches('/'));
        trust::open_in(&self.dir, rel, self.me, Kind::File)
    }
}

fn refuse_root(given: &Path, e: &Untrusted) -> String {
    if e.is_missing() {
        return format!(
            "--root {}: not an existing directory ({e})",
            given.display()
        );
    }
    format!("--root {}: refused: {e}", given.display())
}

fn refuse(e: &Untrusted) -> String {
    if e.is_missing() {
        return e.to_string();
    }
    format!("refused: {e}; only root or the caller may be able to change what apply installs")
}

impl Dir {
    /// What is at `name`, without following a link; `None` when nothing is there.
    pub fn read(&self, name: &OsStr) -> io::Result<Option<Entry>> {
        let st = match statat(&self.fd, name, AtFlags::SYMLINK_NOFOLLOW) {
            Ok(st) => st,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => {
                let text = readlinkat(&self.fd, name, Vec::new())?;
                Ok(Some(Entry::Symlink(text.into_bytes())))
            }
            FileType::RegularFile => {
                // Opened only if it is a regular file (opening a device may act on it); a name
                // in a checked directory changes only by root's or the caller's hand.
                let how =
                    ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS | ResolveFlags::NO_MAGICLINKS;
                let flags = OFlags::RDONLY
                    | OFlags::NOFOLLOW
                    | OFlags::NONBLOCK
                    | OFlags::NOCTTY
                    | OFlags::CLOEXEC;
                let fd = openat2(&self.fd, name, flags, Mode::empty(), how)?;
                let st = rustix::fs::fstat(&fd)?;
                if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile {
                    return Ok(Some(Entry::Other));
                }
                if st.st_nlink > 1 {
                    return Ok(Some(Entry::Linked {
                        mode: st.st_mode & 0o7777,
                    }));
                }
                let mut bytes = Vec::new();
                std::fs::File::from(fd)
                    .take(MAX_READ)
                    .read_to_end(&mut bytes)?;
                Ok(Some(Entry::File {
                    bytes,
                    mode: st.st_mode & 0o7777,
                }))
            }
            _ => Ok(Some(Entry::Other)),
        }
    }

    /// Replaces `name` atomically and durably (see [`crate::atomic::write_at`]).
    pub fn write(&self, name: &OsStr, bytes: &[u8], mode: u32) -> io::Result<()> {
        atomic::write_at(self.fd.as_fd(), name, bytes, mode, Durability::Sync)
    }

    /// Removes the file (or link) `name` itself, durably.
    pub fn remove(&self, name: &OsStr) -> io::Result<()> {
        unlinkat(&self.fd, name, AtFlags::empty())?;
        let _ = rustix::fs::fsync(&self.fd);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn tree() -> (tempfile::TempDir, Root) {
        let d = tempfile::tempdir().unwrap();
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let root = Root::open(d.path()).unwrap();
        (d, root)
    }

    #[test]
    fn links_inside_the_tree_resolve_inside_it() {
        let (d, root) = tree();
        let r = d.path();
        std::fs::create_dir_all(r.join("real/etc")).unwrap();
        std::fs::create_dir_all(r.join("var")).unwrap();
        // An absolute link means the tree's own /real; `..` stops at the tree's top.
        symlink("/real", r.join("var/abs")).unwrap();
        symlink("../../../../../../real", r.join("var/up")).unwrap();
        let want = std::fs::canonicalize(r.join("real/etc")).unwrap();
        for p in ["/var/abs/etc", "/var/up/etc", "/real/etc"] {
            let dir = root.dir(Path::new(p), false).unwrap().unwrap();
            assert_eq!(dir.path, want, "{p}");
        }
        assert!(root.dir(Path::new("/var/none"), false).unwrap().is_none());
    }

    #[test]
    fn missing_directories_are_made_with_mode_0755_and_files_go_through_the_dir() {
        let (d, root) = tree();
        let (dir, name) = root.parent("/a/b/c/pfile_x", true).unwrap();
        let dir = dir.unwrap();
        let mode = std::fs::metadata(d.path().join("a/b/c"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o7777, 0o755);
        assert_eq!(dir.read(&name).unwrap(), None);
        dir.write(&name, b"x\n", 0o644).unwrap();
        assert_eq!(
            dir.read(&name).unwrap(),
            Some(Entry::File {
                bytes: b"x\n".to_vec(),
                mode: 0o644
            })
        );
        symlink("/etc/passwd", d.path().join("a/b/c/link")).unwrap();
        assert_eq!(
            dir.read(OsStr::new("link")).unwrap(),
            Some(Entry::Symlink(b"/etc/passwd".to_vec()))
        );
        // A second hard link makes it unreadable to apply.
        std::fs::hard_link(d.path().join("a/b/c/pfile_x"), d.path().join("a/b/other")).unwrap();
        assert_eq!(
            dir.read(&name).unwrap(),
            Some(Entry::Linked { mode: 0o644 })
        );
        dir.remove(&name).unwrap();
        assert_eq!(dir.read(&name).unwrap(), None);
    }

    #[test]
    fn a_writable_directory_on_the_way_is_refused() {
        let (d, root) = tree();
        std::fs::create_dir_all(d.path().join("open/conf")).unwrap();
        std::fs::set_permissions(
            d.path().join("open"),
            std::fs::Permissions::from_mode(0o777),
        )
        .unwrap();
        let e = root.dir(Path::new("/open/conf"), false).err().unwrap();
        assert!(e.contains("writable by group or others (mode 0777)"), "{e}");
        // So is the root itself.
        std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o775)).unwrap();
        let e = Root::open(d.path()).err().unwrap();
        assert!(e.contains("refused") && e.contains("0775"), "{e}");
    }
}

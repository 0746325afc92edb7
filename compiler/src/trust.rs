//! The trust rules of spec section 6, one implementation for pcheck, padmin and `psctl apply`:
//! what a process running as root executes or reads as configuration must be owned by root or
//! by the user it runs as, and writable by nobody else; so must every directory on its path and
//! every symbolic link of the chain (a root-owned sticky directory such as /tmp is acceptable:
//! there only an entry's owner may replace it). The rules are those of OpenSSH's StrictModes.
//!
//! The walk opens each component relative to the descriptor of the directory before it, with
//! `O_PATH | O_NOFOLLOW`, and checks the open object; links are read through their own
//! descriptor and resolved by the same walk. What is returned is the descriptor that was
//! checked, so a caller that uses it (execveat, read, openat) acts on exactly what was checked:
//! no path is resolved twice, and nobody untrusted can change any step of it meanwhile.

use std::ffi::{OsStr, OsString};
use std::fmt;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

use rustix::fs::{fstat, openat, readlinkat, FileType, Mode, OFlags, Stat, CWD};
use rustix::io::Errno;

/// Linux's own limit on the links one path resolution may follow.
const MAX_LINKS: u32 = 40;

/// What the path must name in the end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A regular file (a pfile, a script, an executable).
    File,
    Dir,
}

/// Why a path is not trusted. `path` is the component that failed, as resolved so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Untrusted {
    NotAbsolute(PathBuf),
    /// The component could not be opened or read (missing, permission, ...).
    Io(PathBuf, Errno),
    Owner(PathBuf, u32),
    /// Group- or world-writable (mode bits given), and not a root-owned sticky directory.
    Writable(PathBuf, u32),
    NotRegular(PathBuf),
    NotDirectory(PathBuf),
    TooManyLinks(PathBuf),
}

impl Untrusted {
    /// The component the verdict is about.
    pub fn path(&self) -> &Path {
        match self {
            Untrusted::NotAbsolute(p)
            | Untrusted::Io(p, _)
            | Untrusted::Owner(p, _)
            | Untrusted::Writable(p, _)
            | Untrusted::NotRegular(p)
            | Untrusted::NotDirectory(p)
            | Untrusted::TooManyLinks(p) => p,
        }
    }

    /// True when the path merely does not exist (a caller may treat that differently from a
    /// path someone could have tampered with).
    pub fn is_missing(&self) -> bool {
        matches!(self, Untrusted::Io(_, e) if *e == Errno::NOENT)
    }
}

impl fmt::Display for Untrusted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.path().display().to_string();
        let p = crate::escape::for_display(&p);
        match self {
            Untrusted::NotAbsolute(_) => write!(f, "{p} is not an absolute path"),
            Untrusted::Io(_, e) => write!(f, "{p}: {}", std::io::Error::from(*e)),
            Untrusted::Owner(_, uid) => {
                write!(
                    f,
                    "{p} is owned by uid {uid}, neither root nor the running user"
                )
            }
            Untrusted::Writable(_, mode) => {
                write!(f, "{p} is writable by group or others (mode {mode:04o})")
            }
            Untrusted::NotRegular(_) => write!(f, "{p} is not a regular file"),
            Untrusted::NotDirectory(_) => write!(f, "{p} is not a directory"),
            Untrusted::TooManyLinks(_) => write!(f, "{p}: too many levels of symbolic links"),
        }
    }
}

impl std::error::Error for Untrusted {}

/// A checked object: the `O_PATH` descriptor that was checked, its status, and the path it was
/// reached by with every link resolved.
#[derive(Debug)]
pub struct Opened {
    pub fd: OwnedFd,
    pub stat: Stat,
    pub path: PathBuf,
}

impl Opened {
    /// The same file opened for I/O (`O_PATH` descriptors can only name it). Goes through
    /// `/proc/self/fd`, which reopens the very inode that was checked, never a path.
    pub fn reopen(&self, flags: OFlags) -> Result<OwnedFd, Untrusted> {
        let proc = format!("/proc/self/fd/{}", self.fd.as_raw_fd());
        openat(CWD, proc.as_str(), flags | OFlags::CLOEXEC, Mode::empty())
            .map_err(|e| Untrusted::Io(self.path.clone(), e))
    }

    /// The whole content of a checked regular file.
    pub fn read(&self) -> Result<Vec<u8>, Untrusted> {
        use std::io::Read;
        let fd = self.reopen(OFlags::RDONLY)?;
        let mut out = Vec::new();
        std::fs::File::from(fd)
            .read_to_end(&mut out)
            .map_err(|e| Untrusted::Io(self.path.clone(), io_errno(&e)))?;
        Ok(out)
    }
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_io_error(e).unwrap_or(Errno::IO)
}

/// Whether `uid` may own what a process running as `me` trusts: root or `me`.
pub fn trusted_owner(uid: u32, me: u32) -> bool {
    uid == 0 || uid == me
}

/// The check applied to every object on the way (file, directory, link).
fn check(path: &Path, st: &Stat, me: u32) -> Result<(), Untrusted> {
    if !trusted_owner(st.st_uid, me) {
        return Err(Untrusted::Owner(path.to_owned(), st.st_uid));
    }
    let ft = FileType::from_raw_mode(st.st_mode);
    let mode = st.st_mode & 0o7777;
    let root_sticky = ft == FileType::Directory && mode & 0o1000 != 0 && st.st_uid == 0;
    // A link's own mode is always 0777 and means nothing; its owner and directory do.
    if ft != FileType::Symlink && mode & 0o022 != 0 && !root_sticky {
        return Err(Untrusted::Writable(path.to_owned(), mode));
    }
    Ok(())
}

/// Opens `path` (absolute) component by component from `/`, checking every directory, link
/// and the final object for a process running as `me` (usually its effective uid), and
/// requiring the final object to be of `kind`.
pub fn open(path: &Path, me: u32, kind: Kind) -> Result<Opened, Untrusted> {
    if !path.is_absolute() {
        return Err(Untrusted::NotAbsolute(path.to_owned()));
    }
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    let root = PathBuf::from("/");
    let root_fd = openat(CWD, "/", flags | OFlags::DIRECTORY, Mode::empty())
        .map_err(|e| Untrusted::Io(root.clone(), e))?;
    let root_st = fstat(&root_fd).map_err(|e| Untrusted::Io(root.clone(), e))?;
    check(&root, &root_st, me)?;
    walk((root_fd, root_st, root), path, me, kind)
}

/// Like [`open`], inside the checked directory `base`, which stands for `/`: `path` is taken
/// relative to it, and neither an absolute link nor `..` ever leads out of it (the semantics
/// of openat2's `RESOLVE_IN_ROOT`). `psctl apply --root` works in such a tree. Paths in the
/// result and in verdicts are `base.path` joined with what was walked.
pub fn open_in(base: &Opened, path: &Path, me: u32, kind: Kind) -> Result<Opened, Untrusted> {
    let fd = base
        .fd
        .try_clone()
        .map_err(|e| Untrusted::Io(base.path.clone(), io_errno(&e)))?;
    walk((fd, base.stat, base.path.clone()), path, me, kind)
}

/// The walk of [`open`] and [`open_in`] from `base`, a checked directory that `..` and
/// absolute links lead back to.
fn walk(
    base: (OwnedFd, Stat, PathBuf),
    path: &Path,
    me: u32,
    kind: Kind,
) -> Result<Opened, Untrusted> {
    let flags = OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC;
    // The directories walked so far (for `..`), each with the path it was reached by.
    let mut dirs: Vec<(OwnedFd, Stat, PathBuf)> = vec![base];
    let mut pending: Vec<OsString> = components(path);
    pending.reverse(); // a stack: the next component is last
    let mut links = 0;
    while let Some(name) = pending.pop() {
        let (dir_fd, _, dir_path) = dirs.last().expect("the root is never popped");
        if name == ".." {
            if dirs.len() > 1 {
                dirs.pop();
            }
            continue;
        }
        let here = dir_path.join(&name);
        let fd = openat(dir_fd, name.as_os_str(), flags, Mode::empty())
            .map_err(|e| Untrusted::Io(here.clone(), e))?;
        let st = fstat(&fd).map_err(|e| Untrusted::Io(here.clone(), e))?;
        check(&here, &st, me)?;
        let last = pending.is_empty();
        match FileType::from_raw_mode(st.st_mode) {
            FileType::Symlink => {
                links += 1;
                if links > MAX_LINKS {
                    return Err(Untrusted::TooManyLinks(here));
                }
                let target =
                    readlinkat(&fd, "", Vec::new()).map_err(|e| Untrusted::Io(here.clone(), e))?;
                let target = Path::new(OsStr::from_bytes(target.as_bytes()));
                if target.is_absolute() {
                    dirs.truncate(1);
                }
                let mut more = components(target);
                more.reverse();
                pending.extend(more);
            }
            FileType::Directory if !last => dirs.push((fd, st, here)),
            FileType::Directory if kind == Kind::Dir => {
                return Ok(Opened {
                    fd,
                    stat: st,
                    path: here,
                })
            }
            FileType::RegularFile if last && kind == Kind::File => {
                return Ok(Opened {
                    fd,
                    stat: st,
                    path: here,
                })
            }
            _ if !last => return Err(Untrusted::NotDirectory(here)),
            _ if kind == Kind::Dir => return Err(Untrusted::NotDirectory(here)),
            _ => return Err(Untrusted::NotRegular(here)),
        }
    }
    // The path ended on a directory already walked (`/`, or a trailing `..`).
    let (fd, st, path) = dirs.pop().expect("the root is never popped");
    match kind {
        Kind::Dir => Ok(Opened { fd, stat: st, path }),
        Kind::File => Err(Untrusted::NotRegular(path)),
    }
}

/// The names to walk, in order: `.` dropped, `..` kept (resolved by the walk, after links).
fn components(path: &Path) -> Vec<OsString> {
    path.components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_owned()),
            Component::ParentDir => Some("..".into()),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => None,
        })
        .collect()
}

/// Checks that the descriptor `fd` names a directory the rules trust (used for directories a
/// caller already holds, such as a runtime directory it created).
pub fn check_fd(fd: impl AsFd, path: &Path, me: u32) -> Result<Stat, Untrusted> {
    let st = fstat(fd).map_err(|e| Untrusted::Io(path.to_owned(), e))?;
    check(path, &st, me)?;
    Ok(st)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{chown, lchown, symlink, PermissionsExt};

    fn mode(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    /// A private 0755 directory under the system temp directory, and the uid running the test.
    fn setup() -> (tempfile::TempDir, u32) {
        let d = tempfile::tempdir().unwrap();
        mode(d.path(), 0o755);
        (d, rustix::process::geteuid().as_raw())
    }

    fn is_root() -> bool {
        if rustix::process::geteuid().is_root() {
            return true;
        }
        eprintln!("NOT RUN: this part of the test needs root (to give files to another user)");
        false
    }

    #[test]
    fn a_clean_chain_opens_and_reads() {
        let (d, me) = setup();
        let bin = d.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        mode(&bin, 0o755);
        let f = bin.join("r.sh");
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        mode(&f, 0o755);
        let o = open(&f, me, Kind::File).unwrap();
        assert_eq!(o.path, f);
        assert_eq!(o.read().unwrap(), b"#!/bin/sh\n");
        assert_eq!(open(&bin, me, Kind::Dir).unwrap().path, bin);
        // `.` and `..` are walked, not textually dropped
        let odd = d.path().join("./bin/../bin/r.sh");
        assert_eq!(open(&odd, me, Kind::File).unwrap().path, f);
        assert!(matches!(
            open(&f, me, Kind::Dir),
            Err(Untrusted::NotDirectory(_))
        ));
        assert!(matches!(
            open(&bin, me, Kind::File),
            Err(Untrusted::NotRegular(_))
        ));
        assert!(matches!(
            open(Path::new("bin/r.sh"), me, Kind::File),
            Err(Untrusted::NotAbsolute(_))
        ));
        let missing = open(&bin.join("nope"), me, Kind::File).unwrap_err();
        assert!(missing.is_missing(), "{missing}");
        // through a file as if it were a directory
        assert!(matches!(
            open(&f.join("x"), me, Kind::File),
            Err(Untrusted::NotDirectory(_))
        ));
    }

    #[test]
    fn writable_files_and_directories_are_refused_unless_root_sticky() {
        let (d, me) = setup();
        let bin = d.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        let f = bin.join("r.sh");
        std::fs::write(&f, "x").unwrap();
        mode(&bin, 0o755);
        mode(&f, 0o775);
        let e = open(&f, me, Kind::File).unwrap_err();
        assert_eq!(e, Untrusted::Writable(f.clone(), 0o775));
        mode(&f, 0o755);
        mode(&bin, 0o777);
        assert_eq!(
            open(&f, me, Kind::File).unwrap_err(),
            Untrusted::Writable(bin.clone(), 0o777)
        );
        mode(&bin, 0o1777);
        let sticky = open(&f, me, Kind::File);
        if me == 0 {
            assert!(sticky.is_ok(), "a root-owned sticky directory is fine");
        } else {
            // sticky, but not root's: whoever owns it could still replace what is in it
            assert!(matches!(sticky, Err(Untrusted::Writable(..))));
        }
    }

    #[test]
    fn foreign_owners_anywhere_on_the_path_are_refused() {
        if !is_root() {
            return;
        }
        let (d, me) = setup();
        let bin = d.path().join("bin");
        std::fs::create_dir(&bin).unwrap();
        mode(&bin, 0o755);
        let f = bin.join("r.sh");
        std::fs::write(&f, "x").unwrap();
        mode(&f, 0o755);
        chown(&f, Some(65534), None).unwrap();
        assert_eq!(
            open(&f, me, Kind::File).unwrap_err(),
            Untrusted::Owner(f.clone(), 65534)
        );
        chown(&f, Some(0), None).unwrap();
        chown(&bin, Some(65534), None).unwrap();
        assert_eq!(
            open(&f, me, Kind::File).unwrap_err(),
            Untrusted::Owner(bin.clone(), 65534)
        );
        // but a user's own files are trusted by a process running as that user
        chown(&f, Some(65534), None).unwrap();
        assert!(open(&f, 65534, Kind::File).is_ok());
    }

    #[test]
    fn links_are_followed_by_the_walk_and_checked() {
        let (d, me) = setup();
        let real = d.path().join("real");
        std::fs::create_dir(&real).unwrap();
        mode(&real, 0o755);
        let f = real.join("r.sh");
        std::fs::write(&f, "x").unwrap();
        mode(&f, 0o755);
        symlink("real", d.path().join("rel")).unwrap();
        symlink(&f, d.path().join("abs")).unwrap();
        symlink("../real/r.sh", real.join("up")).unwrap();
        assert_eq!(
            open(&d.path().join("rel/r.sh"), me, Kind::File)
                .unwrap()
                .path,
            f
        );
        assert_eq!(open(&d.path().join("abs"), me, Kind::File).unwrap().path, f);
        assert_eq!(open(&real.join("up"), me, Kind::File).unwrap().path, f);
        symlink("loop", d.path().join("loop")).unwrap();
        assert!(matches!(
            open(&d.path().join("loop"), me, Kind::File),
            Err(Untrusted::TooManyLinks(_))
        ));
        if !is_root() {
            return;
        }
        // a link planted by another user is not followed, even to a good file
        lchown(d.path().join("abs"), Some(65534), None).unwrap();
        assert_eq!(
            open(&d.path().join("abs"), me, Kind::File).unwrap_err(),
            Untrusted::Owner(d.path().join("abs"), 65534)
        );
    }

    #[test]
    fn a_link_cannot_lead_into_an_untrusted_directory() {
        let (d, me) = setup();
        let open_dir = d.path().join("open");
        std::fs::create_dir(&open_dir).unwrap();
        mode(&open_dir, 0o777);
        let f = open_dir.join("r.sh");
        std::fs::write(&f, "x").unwrap();
        mode(&f, 0o755);
        symlink(&f, d.path().join("via")).unwrap();
        assert_eq!(
            open(&d.path().join("via"), me, Kind::File).unwrap_err(),
            Untrusted::Writable(open_dir, 0o777)
        );
    }
}

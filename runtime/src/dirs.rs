//! Directories pcheck writes in (the runtime directory, the dump's directory): opened by the
//! trust walk of `psctl::trust`, created when missing one level at a time through the handle
//! of the level before (never by a path a link could redirect), and then used only through
//! their descriptor.

use std::ffi::OsString;
use std::path::Path;

use psctl::trust::{self, Opened, Untrusted};
use rustix::fs::{mkdirat, openat, Mode, OFlags};
use rustix::io::Errno;

/// Why a directory is not usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DirError {
    Untrusted(Untrusted),
    /// Trusted on the way, but the directory itself is not private enough (message).
    Loose(String),
    Create(String, Errno),
}

impl std::fmt::Display for DirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirError::Untrusted(u) => write!(f, "{u}"),
            DirError::Loose(m) => f.write_str(m),
            DirError::Create(p, e) => {
                write!(f, "cannot create {p}: {}", std::io::Error::from(*e))
            }
        }
    }
}

/// Opens `path` for a process running as `me`, creating what is missing (mode `mode`), and
/// requires the directory itself to be writable by its owner only. With `own`, its owner must
/// be `me` exactly (not merely root).
pub fn open_private(path: &Path, me: u32, mode: u32, own: bool) -> Result<Opened, DirError> {
    let mut missing: Vec<OsString> = Vec::new();
    let mut at = path.to_path_buf();
    let mut opened = loop {
        match trust::open(&at, me, trust::Kind::Dir) {
            Ok(o) => break o,
            Err(e) if e.is_missing() && at.parent().is_some() => {
                missing.push(at.file_name().unwrap_or_default().to_owned());
                at = at.parent().unwrap_or(Path::new("/")).to_path_buf();
            }
            Err(e) => return Err(DirError::Untrusted(e)),
        }
    };
    for name in missing.into_iter().rev() {
        let here = opened.path.join(&name);
        match mkdirat(&opened.fd, &name, Mode::from_raw_mode(mode)) {
            Ok(()) | Err(Errno::EXIST) => {}
            Err(e) => return Err(DirError::Create(here.display().to_string(), e)),
        }
        let fd = openat(
            &opened.fd,
            &name,
            OFlags::PATH | OFlags::NOFOLLOW | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| DirError::Untrusted(Untrusted::Io(here.clone(), e)))?;
        let stat = trust::check_fd(&fd, &here, me).map_err(DirError::Untrusted)?;
        opened = Opened {
            fd,
            stat,
            path: here,
        };
    }
    let shown = psctl::escape::for_display(&opened.path.display().to_string()).into_owned();
    let perm = opened.stat.st_mode & 0o7777;
    // Stricter than the walk: not even a sticky directory others may write to (they could
    // hold the names pcheck needs, or fill it).
    if perm & 0o022 != 0 {
        return Err(DirError::Loose(format!(
            "{shown} is writable by group or others (mode {perm:04o})"
        )));
    }
    if own && opened.stat.st_uid != me {
        return Err(DirError::Loose(format!(
            "{shown} is owned by uid {}, not by pcheck's uid {me}",
            opened.stat.st_uid
        )));
    }
    Ok(opened)
}

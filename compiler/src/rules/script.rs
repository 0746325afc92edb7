//! Is a restart script safe to run as root? One answer for `check --host`, `apply` and pcheck
//! itself: the executable a restart command names must exist, be an executable regular file,
//! belong to root or to the user who runs it, and be writable by nobody else, nor may its
//! directory be (a writable directory lets anyone replace the script), unless that directory
//! is sticky like /tmp (then only the owner may replace it).

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use crate::diagnostics::{codes, Code};
use crate::model::Restart;

/// The effective uid of this process: the owner of `/proc/self` (Linux), without libc.
pub fn caller_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
}

/// The executable a restart command runs: its first word, when it is `Restart::Script`.
pub fn script_path(restart: &Restart) -> Option<&str> {
    match restart {
        Restart::Script(cmd) => cmd.split_whitespace().next(),
        _ => None,
    }
}

/// One thing wrong with a restart script.
#[derive(Debug)]
pub enum ScriptProblem {
    Missing(std::io::Error),
    NotExecutable,
    ForeignOwner(u32),
    /// The permission bits of the script.
    Writable(u32),
    /// The permission bits of its (non-sticky) directory.
    DirWritable(u32),
}

impl ScriptProblem {
    pub fn code(&self) -> Code {
        match self {
            ScriptProblem::Missing(_) => codes::HOST_SCRIPT_MISSING,
            ScriptProblem::NotExecutable => codes::HOST_NOT_EXECUTABLE,
            ScriptProblem::ForeignOwner(_) => codes::HOST_OWNER,
            ScriptProblem::Writable(_) | ScriptProblem::DirWritable(_) => codes::HOST_WRITABLE,
        }
    }

    /// What is wrong, as a predicate of the script's path: "`/x.sh` {describe}".
    pub fn describe(&self) -> String {
        match self {
            ScriptProblem::Missing(e) => format!("cannot be used on this host: {e}"),
            ScriptProblem::NotExecutable => "is not an executable file".into(),
            ScriptProblem::ForeignOwner(uid) => {
                format!("is owned by uid {uid}, neither root nor the caller")
            }
            ScriptProblem::Writable(mode) => {
                format!("is group- or world-writable (mode {mode:04o})")
            }
            ScriptProblem::DirWritable(mode) => {
                format!("is in a group- or world-writable directory (mode {mode:04o})")
            }
        }
    }

    /// A short label for the offending value and a fix.
    pub fn label_and_help(&self, path: &str) -> (&'static str, String) {
        let dir = Path::new(path)
            .parent()
            .map_or("/".into(), |d| d.display().to_string());
        match self {
            ScriptProblem::Missing(_) => (
                "missing here",
                format!("install the script at {path}, or fix the path"),
            ),
            ScriptProblem::NotExecutable => ("not executable", format!("chmod 0755 {path}")),
            ScriptProblem::ForeignOwner(_) => ("foreign owner", format!("chown root {path}")),
            ScriptProblem::Writable(_) => ("writable by others", format!("chmod go-w {path}")),
            ScriptProblem::DirWritable(_) => {
                ("directory writable by others", format!("chmod go-w {dir}"))
            }
        }
    }

    /// Whether pcheck must refuse to run the script: anyone but its owner could have changed it.
    pub fn is_unsafe(&self) -> bool {
        matches!(
            self,
            ScriptProblem::ForeignOwner(_)
                | ScriptProblem::Writable(_)
                | ScriptProblem::DirWritable(_)
        )
    }
}

/// Everything wrong with the script at `file` (as seen on this machine), for `caller`.
pub fn script_problems(file: &Path, caller: Option<u32>) -> Vec<ScriptProblem> {
    let meta = match std::fs::metadata(file) {
        Ok(m) => m,
        Err(e) => return vec![ScriptProblem::Missing(e)],
    };
    let mut out = Vec::new();
    if !meta.is_file() || meta.mode() & 0o111 == 0 {
        out.push(ScriptProblem::NotExecutable);
    }
    if meta.uid() != 0 && Some(meta.uid()) != caller {
        out.push(ScriptProblem::ForeignOwner(meta.uid()));
    }
    if meta.mode() & 0o022 != 0 {
        out.push(ScriptProblem::Writable(meta.mode() & 0o7777));
    }
    if let Some(dir) = file.parent().and_then(|d| std::fs::metadata(d).ok()) {
        let sticky = dir.mode() & 0o1000 != 0;
        if dir.mode() & 0o022 != 0 && !sticky {
            out.push(ScriptProblem::DirWritable(dir.mode() & 0o7777));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn modes_owner_and_directory() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("bin");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        let f = dir.join("r.sh");
        let me = caller_uid();
        let kinds = |f: &Path| -> Vec<String> {
            script_problems(f, me)
                .iter()
                .map(|p| format!("{:?}", p.code()))
                .collect()
        };
        assert_eq!(script_problems(&f, me).len(), 1); // missing
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert!(kinds(&f).is_empty());
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o775)).unwrap();
        assert!(script_problems(&f, me).iter().all(ScriptProblem::is_unsafe));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let p = script_problems(&f, me);
        assert!(
            matches!(p[..], [ScriptProblem::DirWritable(0o777)]),
            "{p:?}"
        );
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o1777)).unwrap();
        assert!(kinds(&f).is_empty(), "a sticky directory is fine");
        // Owned by someone who is neither root nor the caller. Only root can give a file away;
        // an unprivileged run asks as another user instead.
        let caller = if me == Some(0) {
            std::os::unix::fs::chown(&f, Some(12345), None).unwrap();
            me
        } else {
            me.map(|u| u + 1)
        };
        let p = script_problems(&f, caller);
        assert!(matches!(p[..], [ScriptProblem::ForeignOwner(_)]), "{p:?}");
        assert!(p[0].is_unsafe());
    }
}

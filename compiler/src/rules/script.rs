//! Restart commands: how pcheck runs them and whether their executable may be run as root. One
//! implementation for `check --host`, `apply` and pcheck itself, on top of [`crate::trust`]: the
//! executable, every directory on its path and every link of the chain belong to root or to the
//! user who runs it and are writable by nobody else (spec 6). pcheck executes the very
//! descriptor [`open_program`] checked.
//!
//! A *plain* command (spec 1: an absolute path and words) is executed directly, its words as
//! arguments; a command with shell syntax runs through `/bin/sh -c` (a `psctl check` warning).

use std::path::{Path, PathBuf};

use crate::diagnostics::{codes, Code};
use crate::model::Restart;
use crate::trust::{self, Kind, Opened, Untrusted};

/// The effective uid of this process (what the trust rules compare owners with).
pub fn caller_uid() -> Option<u32> {
    Some(rustix::process::geteuid().as_raw())
}

/// The executable a restart command runs: its first word, when it is `Restart::Script`.
pub fn script_path(restart: &Restart) -> Option<&str> {
    match restart {
        Restart::Script(cmd) => program(cmd),
        _ => None,
    }
}

/// The first word of a command line (words are separated by blanks, as in a pfile).
pub fn program(cmd: &str) -> Option<&str> {
    words(cmd).next()
}

fn words(cmd: &str) -> impl Iterator<Item = &str> {
    cmd.split([' ', '\t']).filter(|w| !w.is_empty())
}

/// The first character of `cmd` that a shell would treat specially (quoting, expansion,
/// redirection, lists, globbing, comments, line breaks), if any. `#` and `~` count only at the
/// start of a word, where the shell gives them meaning.
pub fn shell_syntax(cmd: &str) -> Option<char> {
    let mut word_start = true;
    for c in cmd.chars() {
        let special = matches!(
            c,
            '|' | '&'
                | ';'
                | '<'
                | '>'
                | '('
                | ')'
                | '$'
                | '`'
                | '\\'
                | '"'
                | '\''
                | '*'
                | '?'
                | '['
                | ']'
                | '{'
                | '}'
                | '!'
        ) || (word_start && matches!(c, '#' | '~'))
            || (c.is_control() && c != '\t');
        if special {
            return Some(c);
        }
        word_start = c == ' ' || c == '\t';
    }
    None
}

/// The argument vector of a plain command (an absolute path and words, no shell syntax), which
/// pcheck executes directly; `None` for a command the shell must interpret.
pub fn plain_words(cmd: &str) -> Option<Vec<&str>> {
    if !cmd.starts_with('/') || shell_syntax(cmd).is_some() {
        return None;
    }
    Some(words(cmd).collect())
}

/// One thing wrong with a restart command's executable.
#[derive(Debug)]
pub enum ScriptProblem {
    /// It cannot be opened (missing, not searchable, a link loop, ...).
    Missing(std::io::Error),
    NotExecutable,
    /// The executable `file` or something on its path fails the trust rules (owner or mode).
    Untrusted(Untrusted, PathBuf),
}

impl ScriptProblem {
    fn from_untrusted(u: Untrusted, file: &Path) -> ScriptProblem {
        match u {
            Untrusted::Io(_, e) => ScriptProblem::Missing(e.into()),
            Untrusted::TooManyLinks(_) => ScriptProblem::Missing(
                std::io::Error::from_raw_os_error(rustix::io::Errno::LOOP.raw_os_error()),
            ),
            Untrusted::NotRegular(_) => ScriptProblem::NotExecutable,
            Untrusted::NotAbsolute(_) => {
                ScriptProblem::Missing(std::io::Error::other("not an absolute path"))
            }
            u => ScriptProblem::Untrusted(u, file.to_owned()),
        }
    }

    pub fn code(&self) -> Code {
        match self {
            ScriptProblem::Missing(_) => codes::HOST_SCRIPT_MISSING,
            ScriptProblem::NotExecutable => codes::HOST_NOT_EXECUTABLE,
            ScriptProblem::Untrusted(Untrusted::Owner(..), _) => codes::HOST_OWNER,
            ScriptProblem::Untrusted(..) => codes::HOST_WRITABLE,
        }
    }

    /// Whether the failure is a lack of resources (descriptors, memory) rather than the
    /// script's: pcheck retries later instead of counting it.
    pub fn is_resources(&self) -> bool {
        use rustix::io::Errno;
        let ScriptProblem::Missing(e) = self else {
            return false;
        };
        e.raw_os_error().is_some_and(|n| {
            [Errno::MFILE, Errno::NFILE, Errno::NOMEM, Errno::AGAIN]
                .iter()
                .any(|x| x.raw_os_error() == n)
        })
    }

    /// What is wrong, as a predicate of the executable's path: "`/x.sh` {describe}".
    pub fn describe(&self) -> String {
        match self {
            ScriptProblem::Missing(e) => format!("cannot be used on this host: {e}"),
            ScriptProblem::NotExecutable => "is not an executable file".into(),
            ScriptProblem::Untrusted(u, file) => {
                let on_path = u.path() != file;
                let p = crate::escape::for_display(&u.path().display().to_string()).into_owned();
                match (u, on_path) {
                    (Untrusted::Owner(_, uid), false) => {
                        format!("is owned by uid {uid}, neither root nor the caller")
                    }
                    (Untrusted::Writable(_, mode), false) => {
                        format!("is group- or world-writable (mode {mode:04o})")
                    }
                    (Untrusted::Owner(_, uid), true) => format!(
                        "is reached through {p}, owned by uid {uid}, neither root nor the caller"
                    ),
                    (Untrusted::Writable(_, mode), true) => format!(
                        "is reached through {p}, which is group- or world-writable (mode {mode:04o})"
                    ),
                    (u, _) => format!("cannot be trusted: {u}"),
                }
            }
        }
    }

    /// A short label for the offending value and a fix.
    pub fn label_and_help(&self, path: &str) -> (&'static str, String) {
        match self {
            ScriptProblem::Missing(_) => (
                "missing here",
                format!("install the script at {path}, or fix the path"),
            ),
            ScriptProblem::NotExecutable => ("not executable", format!("chmod 0755 {path}")),
            ScriptProblem::Untrusted(Untrusted::Owner(p, _), _) => {
                ("foreign owner", format!("chown root {}", p.display()))
            }
            ScriptProblem::Untrusted(u, _) => (
                "writable by others",
                format!("chmod go-w {}", u.path().display()),
            ),
        }
    }

    /// Whether pcheck must refuse to run the script: anyone but its owner could have changed it.
    pub fn is_unsafe(&self) -> bool {
        matches!(self, ScriptProblem::Untrusted(..))
    }
}

/// Opens the executable at `file` for a process running as `me`, through the trust walk: the
/// checked descriptor (to execute with `execveat`), or the first problem.
pub fn open_program(file: &Path, me: u32) -> Result<Opened, ScriptProblem> {
    let opened =
        trust::open(file, me, Kind::File).map_err(|u| ScriptProblem::from_untrusted(u, file))?;
    if opened.stat.st_mode & 0o111 == 0 {
        return Err(ScriptProblem::NotExecutable);
    }
    Ok(opened)
}

/// Everything wrong with the script at `file` (as seen on this machine), for `caller`; empty
/// when pcheck running as `caller` would run it.
pub fn script_problems(file: &Path, caller: Option<u32>) -> Vec<ScriptProblem> {
    // An unknown caller trusts root only.
    open_program(file, caller.unwrap_or(0))
        .err()
        .into_iter()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn mode(p: &Path, m: u32) {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
    }

    #[test]
    fn plain_commands_and_shell_syntax() {
        assert_eq!(
            plain_words("/etc/init.d/crond start"),
            Some(vec!["/etc/init.d/crond", "start"])
        );
        assert_eq!(
            plain_words("/opt/x  --a=b,c\tx#y %u@h:1"),
            Some(vec!["/opt/x", "--a=b,c", "x#y", "%u@h:1"])
        );
        for (shell, c) in [
            ("/a; /b", ';'),
            ("/a && /b", '&'),
            ("/a | /b", '|'),
            ("/a $HOME", '$'),
            ("/a 'q'", '\''),
            ("/a > /f", '>'),
            ("/a *.log", '*'),
            ("/a ~/x", '~'),
            ("/a #c", '#'),
            ("/a {b,c}", '{'),
            ("/a\n/b", '\n'),
            ("/a `id`", '`'),
        ] {
            assert_eq!(shell_syntax(shell), Some(c), "{shell}");
            assert_eq!(plain_words(shell), None, "{shell}");
        }
        assert_eq!(plain_words("x y"), None, "not absolute");
        assert_eq!(program("  /x.sh  a"), Some("/x.sh"));
    }

    #[test]
    fn modes_owner_and_directories() {
        let d = tempfile::tempdir().unwrap();
        mode(d.path(), 0o755);
        let dir = d.path().join("bin");
        std::fs::create_dir(&dir).unwrap();
        mode(&dir, 0o755);
        let f = dir.join("r.sh");
        let me = caller_uid();
        let codes = |f: &Path| -> Vec<&str> {
            script_problems(f, me).iter().map(|p| p.code().id).collect()
        };
        assert_eq!(codes(&f), ["psctl::host::script_missing"]);
        std::fs::write(&f, "#!/bin/sh\n").unwrap();
        mode(&f, 0o644);
        assert_eq!(codes(&f), ["psctl::host::not_executable"]);
        mode(&f, 0o755);
        assert!(codes(&f).is_empty());
        assert!(open_program(&f, me.unwrap()).is_ok());
        mode(&f, 0o775);
        let p = script_problems(&f, me);
        assert!(p[0].is_unsafe());
        assert_eq!(p[0].describe(), "is group- or world-writable (mode 0775)");
        mode(&f, 0o755);
        mode(&dir, 0o777);
        let p = script_problems(&f, me);
        assert_eq!(p[0].code().id, "psctl::host::writable");
        assert_eq!(
            p[0].describe(),
            format!(
                "is reached through {}, which is group- or world-writable (mode 0777)",
                dir.display()
            )
        );
        if me == Some(0) {
            mode(&dir, 0o1777);
            assert!(
                codes(&f).is_empty(),
                "a root-owned sticky directory is fine"
            );
            mode(&dir, 0o755);
            std::os::unix::fs::chown(&f, Some(12345), None).unwrap();
            let p = script_problems(&f, me);
            assert_eq!(p[0].code().id, "psctl::host::owner");
            assert!(p[0].is_unsafe());
        } else {
            eprintln!("NOT RUN: the owner part of this test needs root");
        }
    }
}

//! Restart scripts: `/bin/sh -c COMMAND` in its own process group, stdin from /dev/null,
//! stdout/stderr inherited, watched through a pidfd, killed with its group at the deadline,
//! always reaped.

use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use psctl::model::Restart;
use psctl::rules::script::script_problems;
use rustix::process::{kill_process_group, pidfd_open, Pid, PidfdFlags, Signal};

use crate::state::ScriptEnd;

pub struct Script {
    /// The entry (pname) it restarts; looked up again when it ends, since a reload may have
    /// removed or moved the entry.
    pub pname: String,
    pub child: Child,
    pub pidfd: OwnedFd,
    pub deadline: Instant,
    pub timeout: Duration,
    pub killed: bool,
}

/// The shell command line of a restart (`None` for `-`).
pub fn command_line(r: &Restart) -> Option<String> {
    match r {
        Restart::None => None,
        Restart::Script(s) => Some(s.clone()),
        Restart::Commands { stop, start, wait } => Some(format!(
            "{stop}\nsleep {wait}\n{start} || exit $?\nsleep {wait}\n"
        )),
    }
}

/// What `/bin/sh -c` is given. A plain command line (a path and words, no shell syntax) is
/// prefixed with `exec`: same meaning, one fork less (dash forks before running a command),
/// and the script itself is then the process pcheck watches and reaps.
pub fn shell_line(cmd: &str) -> String {
    let plain = cmd.starts_with('/')
        && cmd
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || " \t_/.,:=+@%-".contains(c));
    if plain {
        format!("exec {cmd}")
    } else {
        cmd.to_owned()
    }
}

/// Why pcheck must not run `cmd`'s executable, if so: it runs with pcheck's privileges (root,
/// usually), so a script that anyone but root or pcheck's own user could have changed is
/// refused (and the attempt counts as failed). Missing or non-executable scripts are left to
/// the shell, which reports them through its exit status.
pub fn unsafe_script(cmd: &str) -> Option<String> {
    let path = cmd
        .split_whitespace()
        .next()
        .filter(|p| p.starts_with('/'))?;
    let me = rustix::process::geteuid().as_raw();
    script_problems(Path::new(path), Some(me))
        .into_iter()
        .find(|p| p.is_unsafe())
        .map(|p| format!("{path} {}", p.describe()))
}

/// Why a restart command was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnError {
    /// pcheck will not run it (trust rules, spec 6): the attempt counts as failed.
    Refused(String),
    /// pcheck could not start it for lack of resources (EMFILE, EAGAIN, ENOMEM): not the
    /// script's failure; the attempt is retried later and not counted.
    Resources(String),
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpawnError::Refused(s) | SpawnError::Resources(s) => f.write_str(s),
        }
    }
}

pub fn spawn(pname: &str, cmd: &str, timeout: Duration) -> Result<Script, SpawnError> {
    if let Some(why) = unsafe_script(cmd) {
        return Err(SpawnError::Refused(why));
    }
    let mut command = Command::new("/bin/sh");
    command
        .arg("-c")
        .arg(shell_line(cmd))
        .stdin(Stdio::null())
        .process_group(0);
    // pcheck blocks SIGTERM/SIGINT/SIGHUP (they arrive through a signalfd); the script and the
    // daemons it starts must not inherit that mask, or they could not be stopped.
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        command.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            if libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command
        .spawn()
        .map_err(|e| SpawnError::Resources(format!("/bin/sh: {e}")))?;
    // The child is ours and unreaped, so its pid cannot be reused before pidfd_open.
    let pid =
        Pid::from_raw(child.id() as i32).ok_or_else(|| SpawnError::Resources("bad pid".into()))?;
    let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            let mut child = child;
            let _ = kill_process_group(pid, Signal::KILL);
            let _ = child.wait();
            return Err(SpawnError::Resources(format!("pidfd_open: {e}")));
        }
    };
    Ok(Script {
        pname: pname.to_owned(),
        child,
        pidfd,
        deadline: Instant::now() + timeout,
        timeout,
        killed: false,
    })
}

impl Script {
    pub fn pgid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Past its deadline: kill the whole group (the script and whatever it started in it).
    pub fn kill(&mut self) {
        if let Some(pid) = Pid::from_raw(self.pgid()) {
            let _ = kill_process_group(pid, Signal::KILL);
        }
        self.killed = true;
    }

    /// Reaps the script if it has ended.
    pub fn try_end(&mut self) -> Option<ScriptEnd> {
        let status = self.child.try_wait().ok()??;
        Some(if self.killed {
            ScriptEnd::TimedOut(self.timeout.as_secs())
        } else if let Some(code) = status.code() {
            if code == 0 {
                ScriptEnd::Ok
            } else {
                ScriptEnd::Status(code)
            }
        } else {
            ScriptEnd::Signal(status.signal().unwrap_or(0))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_command_lines_are_execed() {
        assert_eq!(
            shell_line("/etc/init.d/crond start"),
            "exec /etc/init.d/crond start"
        );
        assert_eq!(shell_line("/opt/x --a=b,c"), "exec /opt/x --a=b,c");
        for keep in [
            "/a; /b", "/a && /b", "/a | /b", "/a $HOME", "/a 'q'", "/a > /f", "x", "/a\n/b",
        ] {
            assert_eq!(shell_line(keep), keep);
        }
    }

    #[test]
    fn script_status_timeout_and_group_kill() {
        let s = |cmd: &str, secs| spawn("p", cmd, Duration::from_secs(secs)).unwrap();
        let wait = |sc: &mut Script| loop {
            if let Some(end) = sc.try_end() {
                return end;
            }
            std::thread::sleep(Duration::from_millis(5));
        };
        assert_eq!(wait(&mut s("exit 0", 5)), ScriptEnd::Ok);
        assert_eq!(wait(&mut s("exit 7", 5)), ScriptEnd::Status(7));
        assert_eq!(wait(&mut s("/bin/false", 5)), ScriptEnd::Status(1));
        assert_eq!(wait(&mut s("kill -9 $$", 5)), ScriptEnd::Signal(9));
        // no signal blocked in the script even when pcheck blocks them
        crate::signals::block_and_open().unwrap();
        assert_eq!(
            wait(&mut s(
                "exec grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status",
                5
            )),
            ScriptEnd::Ok
        );
        let mut hang = s("sleep 30 & sleep 30", 1);
        let pg = hang.pgid();
        hang.kill();
        assert_eq!(wait(&mut hang), ScriptEnd::TimedOut(1));
        // the whole group is gone (the background sleep too), once init has reaped it
        let pg = Pid::from_raw(pg).unwrap();
        let t = std::time::Instant::now();
        while rustix::process::test_kill_process_group(pg).is_ok() {
            assert!(t.elapsed() < Duration::from_secs(5), "group still alive");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

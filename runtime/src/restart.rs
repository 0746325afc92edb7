//! Restart scripts: `/bin/sh -c COMMAND` in its own process group, stdin from /dev/null,
//! stdout/stderr inherited, watched through a pidfd, killed with its group at the deadline,
//! always reaped.

use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use psctl::model::Restart;
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

pub fn spawn(pname: &str, cmd: &str, timeout: Duration) -> Result<Script, String> {
    let child = Command::new("/bin/sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::null())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("/bin/sh: {e}"))?;
    // The child is ours and unreaped, so its pid cannot be reused before pidfd_open.
    let pid = Pid::from_raw(child.id() as i32).ok_or("bad pid")?;
    let pidfd = match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) => fd,
        Err(e) => {
            let mut child = child;
            let _ = kill_process_group(pid, Signal::KILL);
            let _ = child.wait();
            return Err(format!("pidfd_open: {e}"));
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

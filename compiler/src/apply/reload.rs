//! Asking a running pcheck to re-read its pfile, through `padmin` (the runtime depends on the
//! compiler crate, never the reverse, so psctl runs the padmin program instead of linking it).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::trust::{self, Kind, Opened};

/// What became of a reload request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadOutcome {
    /// The pcheck re-read the pfile.
    Reloaded,
    /// No pcheck serves this pfile (padmin exit 2): nothing to reload, not an error.
    NotRunning,
    /// The pcheck refused (padmin exit 1), for instance because the pfile does not parse.
    Refused(String),
}

/// Talks to the pcheck serving an installed pfile. `Err` means the request could not be made.
pub trait Reloader {
    /// Asks it to re-read the pfile (`pfile` is the installed path, `bytes` what was written).
    fn reload(&self, pfile: &Path, bytes: &[u8]) -> Result<ReloadOutcome, String>;
    /// Whether a running pcheck serves the pfile.
    fn serves(&self, pfile: &Path) -> Result<bool, String>;
}

/// The real reloader: `padmin -f PFILE -c reload`.
pub struct PadminReloader {
    program: Result<Program, String>,
}

enum Program {
    /// A padmin that passed the trust walk: run through its checked descriptor.
    Checked { name: PathBuf, file: Opened },
    /// `padmin` on PATH (never when running as root).
    OnPath,
}

impl PadminReloader {
    /// Finds padmin: `$PSCTL_PADMIN`, else next to the running executable; either must pass
    /// the trust rules (spec 6: owner root or the caller, writable by nobody else, nor any
    /// directory or link on its path), and is then run from the very file that was checked.
    /// Only when not running as root is `padmin` looked up on PATH as a last resort.
    pub fn locate() -> PadminReloader {
        let me = rustix::process::geteuid().as_raw();
        let candidate = std::env::var_os("PSCTL_PADMIN")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                let exe = std::env::current_exe().ok()?;
                let sibling = exe.parent()?.join("padmin");
                sibling.symlink_metadata().is_ok().then_some(sibling)
            });
        let program = match candidate {
            Some(name) => Self::checked(name, me),
            None if me == 0 => Err("no padmin next to psctl and PSCTL_PADMIN is not set \
                 (as root, padmin is not looked up on PATH)"
                .to_owned()),
            None => Ok(Program::OnPath),
        };
        PadminReloader { program }
    }

    fn checked(name: PathBuf, me: u32) -> Result<Program, String> {
        let abs = std::path::absolute(&name).unwrap_or_else(|_| name.clone());
        let refuse = |why: String| format!("padmin {} is not run: {why}", name.display());
        let file = trust::open(&abs, me, Kind::File).map_err(|e| refuse(e.to_string()))?;
        if file.stat.st_mode & 0o111 == 0 {
            return Err(refuse("it is not executable".to_owned()));
        }
        Ok(Program::Checked { name, file })
    }

    /// Runs padmin with `args`; its exit code and what it said.
    fn run(&self, args: &[&std::ffi::OsStr], limit: Duration) -> Result<(i32, String), String> {
        let program = self.program.as_ref().map_err(Clone::clone)?;
        let (mut cmd, name, _keep) = match program {
            Program::Checked { name, file } => {
                // A descriptor without close-on-exec, so that an interpreter (a script padmin)
                // can open it again as /proc/self/fd/N; exec reads the checked file itself.
                let fd =
                    rustix::io::dup(&file.fd).map_err(|e| format!("cannot run padmin: {e}"))?;
                let mut c = Command::new(format!("/proc/self/fd/{}", fd.as_raw_fd()));
                c.arg0(name);
                (c, name.display().to_string(), Some(fd))
            }
            Program::OnPath => (Command::new("padmin"), "padmin".to_owned(), None),
        };
        // Output goes to files, not pipes, so that waiting with a deadline cannot deadlock
        // on a full pipe.
        let mut out = tempfile::tempfile().map_err(|e| format!("cannot run {name}: {e}"))?;
        let mut err = tempfile::tempfile().map_err(|e| format!("cannot run {name}: {e}"))?;
        let spawned = (|| {
            cmd.args(args)
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(err.try_clone()?)
                .spawn()
        })();
        let mut child = spawned.map_err(|e| format!("cannot run {name}: {e}"))?;
        let status = wait_with_deadline(&mut child, limit)
            .map_err(|e| format!("waiting for {name}: {e}"))?
            .ok_or_else(|| {
                format!(
                    "{name} did not answer within {} s; killed it",
                    limit.as_secs()
                )
            })?;
        let said = said(&read_all(&mut err), &read_all(&mut out));
        match status.code() {
            Some(c) => Ok((c, said)),
            None => Err(format!("{name} was killed by a signal")),
        }
    }
}

impl Reloader for PadminReloader {
    fn reload(&self, pfile: &Path, bytes: &[u8]) -> Result<ReloadOutcome, String> {
        let args = [
            "-f".as_ref(),
            pfile.as_os_str(),
            "-c".as_ref(),
            "reload".as_ref(),
        ];
        match self.run(&args, reload_timeout(bytes))? {
            (0, _) => Ok(ReloadOutcome::Reloaded),
            (2, _) => Ok(ReloadOutcome::NotRunning),
            (1, said) => Ok(ReloadOutcome::Refused(said)),
            (c, said) => Err(format!("padmin exited with unexpected status {c}: {said}")),
        }
    }

    fn serves(&self, pfile: &Path) -> Result<bool, String> {
        let args = [
            "-f".as_ref(),
            pfile.as_os_str(),
            "-c".as_ref(),
            "show param".as_ref(),
        ];
        match self.run(&args, reload_timeout(b""))? {
            (0, _) => Ok(true),
            (2, _) => Ok(false),
            (c, said) => Err(format!("padmin exited with status {c}: {said}")),
        }
    }
}

/// How long padmin may take: a pcheck acts on a command within MSG_CHECK_INTERVAL (spec 4.1),
/// plus a margin. `$PSCTL_RELOAD_TIMEOUT` (seconds) overrides it.
fn reload_timeout(pfile: &[u8]) -> Duration {
    if let Some(secs) = std::env::var("PSCTL_RELOAD_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Duration::from_secs(secs);
    }
    let interval = crate::pfile::parse_bytes("", pfile, "reload")
        .service
        .map_or(crate::model::DEFAULT_MSG_CHECK_INTERVAL, |s| {
            s.msg_check_interval
        });
    Duration::from_secs(u64::from(interval) + 30)
}

/// Waits for `child` at most `limit`; on timeout kills it and returns `None`.
fn wait_with_deadline(child: &mut Child, limit: Duration) -> std::io::Result<Option<ExitStatus>> {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn read_all(f: &mut File) -> Vec<u8> {
    let mut buf = Vec::new();
    let _ = f
        .seek(SeekFrom::Start(0))
        .and_then(|_| f.read_to_end(&mut buf));
    buf
}

/// padmin's explanation: its stderr, else its stdout, trimmed, as one string.
fn said(stderr: &[u8], stdout: &[u8]) -> String {
    let pick = if stderr.iter().any(|b| !b.is_ascii_whitespace()) {
        stderr
    } else {
        stdout
    };
    let text = String::from_utf8_lossy(pick).trim().to_owned();
    if text.is_empty() {
        "padmin gave no reason".to_owned()
    } else {
        text
    }
}

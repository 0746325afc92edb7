//! Asking a running pcheck to re-read its pfile, through `padmin` (the runtime depends on the
//! compiler crate, never the reverse, so psctl runs the padmin program instead of linking it).

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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

/// Reloads the pcheck serving an installed pfile. `Err` means the request could not be made.
pub trait Reloader {
    fn reload(&self, installed_pfile: &Path) -> Result<ReloadOutcome, String>;
}

/// The real reloader: `padmin -f PFILE -c reload`.
pub struct PadminReloader {
    pub program: PathBuf,
}

impl PadminReloader {
    /// Finds padmin: `$PSCTL_PADMIN`, else next to the running executable, else `PATH`.
    pub fn locate() -> PadminReloader {
        let program = std::env::var_os("PSCTL_PADMIN")
            .filter(|p| !p.is_empty())
            .map(PathBuf::from)
            .or_else(|| {
                let exe = std::env::current_exe().ok()?;
                let sibling = exe.parent()?.join("padmin");
                sibling.is_file().then_some(sibling)
            })
            .unwrap_or_else(|| PathBuf::from("padmin"));
        PadminReloader { program }
    }
}

impl Reloader for PadminReloader {
    fn reload(&self, installed_pfile: &Path) -> Result<ReloadOutcome, String> {
        let name = self.program.display();
        // Output goes to files, not pipes, so that waiting with a deadline cannot deadlock
        // on a full pipe.
        let mut out = tempfile::tempfile().map_err(|e| format!("cannot run {name}: {e}"))?;
        let mut err = tempfile::tempfile().map_err(|e| format!("cannot run {name}: {e}"))?;
        let spawn = |out: &File, err: &File| {
            Command::new(&self.program)
                .arg("-f")
                .arg(installed_pfile)
                .args(["-c", "reload"])
                .stdin(Stdio::null())
                .stdout(out.try_clone()?)
                .stderr(err.try_clone()?)
                .spawn()
        };
        let mut child = spawn(&out, &err).map_err(|e| format!("cannot run {name}: {e}"))?;
        let limit = reload_timeout(installed_pfile);
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
            Some(0) => Ok(ReloadOutcome::Reloaded),
            Some(2) => Ok(ReloadOutcome::NotRunning),
            Some(1) => Ok(ReloadOutcome::Refused(said)),
            Some(c) => Err(format!("{name} exited with unexpected status {c}: {said}")),
            None => Err(format!("{name} was killed by a signal")),
        }
    }
}

/// How long padmin may take: a pcheck acts on a command within MSG_CHECK_INTERVAL (spec 4.1),
/// plus a margin. `$PSCTL_RELOAD_TIMEOUT` (seconds) overrides it.
fn reload_timeout(pfile: &Path) -> Duration {
    if let Some(secs) = std::env::var("PSCTL_RELOAD_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
    {
        return Duration::from_secs(secs);
    }
    let interval = std::fs::read(pfile)
        .ok()
        .and_then(|b| crate::pfile::parse_bytes("", &b, "reload").service)
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

//! Asking a running pcheck to re-read its pfile, through `padmin` (the runtime depends on the
//! compiler crate, never the reverse, so psctl runs the padmin program instead of linking it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

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
        let out = Command::new(&self.program)
            .arg("-f")
            .arg(installed_pfile)
            .args(["-c", "reload"])
            .stdin(Stdio::null())
            .output()
            .map_err(|e| format!("cannot run {}: {e}", self.program.display()))?;
        let said = said(&out.stderr, &out.stdout);
        match out.status.code() {
            Some(0) => Ok(ReloadOutcome::Reloaded),
            Some(2) => Ok(ReloadOutcome::NotRunning),
            Some(1) => Ok(ReloadOutcome::Refused(said)),
            Some(c) => Err(format!(
                "{} exited with unexpected status {c}: {said}",
                self.program.display()
            )),
            None => Err(format!("{} was killed by a signal", self.program.display())),
        }
    }
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

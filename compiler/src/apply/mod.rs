//! `psctl apply` as a library: compare generated files with what is installed under a root,
//! show the differences, install changed files atomically, keep a manifest of installed files
//! (with the hash of what was written), and ask the pchecks whose pfile changed to reload.
//!
//! Every file is reached through the root's descriptor ([`root`]): nothing outside the root is
//! ever written, removed or read, and nothing is installed where anyone but root or the caller
//! could change it. Nothing is written unless every target passes the checks first (a plain
//! absolute path, trusted directories, no file in the way that psctl did not write unless
//! `force`).

mod diff;
mod host;
mod manifest;
mod paths;
mod reload;
mod root;
mod survey;

use std::collections::BTreeSet;
use std::path::PathBuf;

pub use manifest::MANIFEST_PATH;
pub use reload::{PadminReloader, ReloadOutcome, Reloader};

use root::{Dir, Entry, Root};
use survey::{keep_served_pfiles, survey, Planned, Survey};

/// One file to install on the host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstallFile {
    /// Absolute path on the target host, e.g. `/var/opt/HA/PS/conf/bin/pfile_cron`.
    pub path: String,
    pub bytes: Vec<u8>,
    /// Permission bits: 0o644 for pfiles, 0o755 for scripts.
    pub mode: u32,
    /// A pfile: when it changes, the pcheck serving it is asked to reload.
    pub pfile: bool,
}

#[derive(Debug, Clone, Default)]
pub struct ApplyOptions {
    /// The directory standing for `/` on the target host.
    pub root: PathBuf,
    /// Change nothing; report what would change.
    pub check: bool,
    /// Fill [`ApplyReport::diff`] and [`ApplyReport::diffs`].
    pub diff: bool,
    /// Remove stale files (installed earlier, no longer generated, unchanged since).
    pub prune: bool,
    /// Replace files at target paths that psctl did not write.
    pub force: bool,
}

/// One file's change as text before and after (empty when absent), for `--diff`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileDiff {
    pub path: String,
    pub before: String,
    pub after: String,
}

/// What `apply` did (or, with `check`, would do). Paths are host paths (without the root).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Something was (or would be) written or removed.
    pub changed: bool,
    pub written: Vec<String>,
    pub unchanged: Vec<String>,
    /// Installed earlier by psctl, no longer generated, still present.
    pub stale: Vec<String>,
    pub removed: Vec<String>,
    /// Stale files `--prune` keeps: edited since, or served by a running pcheck (the reason
    /// is in `warnings`).
    pub kept: Vec<String>,
    pub reloaded: Vec<String>,
    /// Changed pfiles that no running pcheck serves.
    pub not_running: Vec<String>,
    pub errors: Vec<String>,
    /// Host-rule problems (restart scripts missing, not executable, badly owned or
    /// writable by others) and files kept by `--prune`: reported, not blocking.
    pub warnings: Vec<String>,
    /// Unified diff of every change (empty unless asked).
    pub diff: String,
    /// The same changes per file as before/after text (empty unless asked).
    pub diffs: Vec<FileDiff>,
}

/// Installs `files` under `opts.root`; see the module documentation.
pub fn apply(files: &[InstallFile], opts: &ApplyOptions, reloader: &dyn Reloader) -> ApplyReport {
    let mut report = ApplyReport::default();
    let Some(mut survey) = survey(files, opts, &mut report) else {
        report.errors.push("nothing was changed".to_owned());
        return report;
    };
    report.warnings = host::warnings(files, &survey.root);
    if opts.prune {
        keep_served_pfiles(&mut survey, reloader);
    }
    describe(&survey, opts, &mut report);
    if opts.check {
        return report;
    }
    let written_pfiles = execute(&survey, opts, &mut report);
    for (p, installed) in written_pfiles {
        let path = p.file.path.clone();
        // padmin gets the file as installed, every link resolved: a path of checked
        // directories only, so it leads where apply wrote, whoever else is on the host.
        match reloader.reload(&installed, &p.file.bytes) {
            Ok(ReloadOutcome::Reloaded) => report.reloaded.push(path),
            Ok(ReloadOutcome::NotRunning) => report.not_running.push(path),
            Ok(ReloadOutcome::Refused(why)) => report.errors.push(format!(
                "{path}: the running pcheck refused to reload: {why}"
            )),
            Err(e) => report
                .errors
                .push(format!("{path}: cannot ask pcheck to reload: {e}")),
        }
    }
    report
}

/// Fills the report with what would change (and the diff), without changing anything.
fn describe(survey: &Survey, opts: &ApplyOptions, report: &mut ApplyReport) {
    for p in &survey.plan {
        if !p.needs_write() {
            report.unchanged.push(p.file.path.clone());
            continue;
        }
        report.written.push(p.file.path.clone());
        if opts.diff {
            let new = Some((&p.file.bytes[..], p.file.mode & 0o7777));
            push_diff(report, &p.file.path, p.current.as_ref(), new);
        }
    }
    for s in &survey.stale {
        report.stale.push(s.path.clone());
        if !opts.prune {
            continue;
        }
        if let Some(why) = &s.keep {
            report.kept.push(s.path.clone());
            report
                .warnings
                .push(format!("{}: stale, but kept: {why}", s.path));
            continue;
        }
        report.removed.push(s.path.clone());
        if opts.diff {
            push_diff(report, &s.path, Some(&s.current), None);
        }
    }
    report.changed = !report.written.is_empty() || !report.removed.is_empty();
}

/// Appends the unified diff and the before/after text of one change.
fn push_diff(report: &mut ApplyReport, path: &str, old: Option<&Entry>, new: Option<(&[u8], u32)>) {
    let link_text;
    let old = match old {
        Some(Entry::File { bytes, mode }) => Some((&bytes[..], *mode)),
        Some(Entry::Symlink(target)) => {
            link_text = target.clone();
            Some((&link_text[..], diff::SYMLINK))
        }
        Some(Entry::Linked { mode }) => {
            link_text = b"(a file with other hard links: not shown)\n".to_vec();
            Some((&link_text[..], *mode))
        }
        Some(Entry::Other) | None => None,
    };
    report.diff.push_str(&diff::file_diff(path, old, new));
    let text = |side: Option<(&[u8], u32)>| match side {
        Some((b, diff::SYMLINK)) => format!(
            "(a symbolic link to {})\n",
            crate::escape::for_display(&String::from_utf8_lossy(b))
        ),
        Some((b, _)) => String::from_utf8_lossy(b).into_owned(),
        None => String::new(),
    };
    report.diffs.push(FileDiff {
        path: path.to_owned(),
        before: text(old),
        after: text(new),
    });
}

/// Writes the changed files, prunes, and updates the manifest; `report.written` and
/// `report.removed` become what was really done. Returns the pfiles written, each with the
/// path it was written at (links resolved).
fn execute<'s, 'a>(
    survey: &'s Survey<'a>,
    opts: &ApplyOptions,
    report: &mut ApplyReport,
) -> Vec<(&'s Planned<'a>, PathBuf)> {
    let mut written_pfiles = Vec::new();
    report.written.clear();
    report.removed.clear();
    report.changed = false;
    let mut manifest = survey.old_manifest.clone();
    // Missing directories first, each made in a checked one and checked in turn: one that
    // cannot be (someone planted a name meanwhile) stops the run before any file is written.
    let mut made: Vec<Option<Dir>> = Vec::new();
    for p in survey.plan.iter().filter(|p| p.needs_write()) {
        match p
            .dir
            .is_none()
            .then(|| make_dir(&survey.root, p))
            .transpose()
        {
            Ok(d) => made.push(d),
            Err(e) => {
                report.errors.push(format!(
                    "{}: cannot write: {e}; nothing was written",
                    p.file.path
                ));
                return written_pfiles;
            }
        }
    }
    let to_write = survey.plan.iter().filter(|p| p.needs_write());
    for (p, made) in to_write.zip(&made) {
        let installed = match install(p, made.as_ref()) {
            Ok(at) => at,
            Err(e) => {
                report
                    .errors
                    .push(format!("{}: cannot write: {e}; stopped", p.file.path));
                break;
            }
        };
        report.written.push(p.file.path.clone());
        if p.file.pfile {
            written_pfiles.push((p, installed));
        }
    }
    for p in &survey.plan {
        if report.written.contains(&p.file.path) || !p.needs_write() {
            manifest.insert(p.file.path.clone(), Some(manifest::hash(&p.file.bytes)));
        }
    }
    if opts.prune && report.errors.is_empty() {
        for s in survey.stale.iter().filter(|s| s.keep.is_none()) {
            match s.dir.remove(&s.name) {
                Ok(()) => {
                    report.removed.push(s.path.clone());
                    manifest.remove(&s.path);
                }
                Err(e) => report
                    .errors
                    .push(format!("{}: cannot remove: {e}", s.path)),
            }
        }
    }
    report.changed = !report.written.is_empty() || !report.removed.is_empty();
    // Entries whose file is gone are forgotten.
    let present: BTreeSet<&str> = survey.stale.iter().map(|s| s.path.as_str()).collect();
    let generated: BTreeSet<&str> = survey.plan.iter().map(|p| p.file.path.as_str()).collect();
    manifest.retain(|p, _| generated.contains(p.as_str()) || present.contains(p.as_str()));
    // Rewritten only when it differs, so that a second run writes nothing.
    if manifest != survey.old_manifest {
        let written = survey
            .root
            .parent(MANIFEST_PATH, true)
            .and_then(|(dir, name)| {
                let dir = dir.ok_or_else(|| "its directory is missing".to_owned())?;
                dir.write(&name, &manifest::render(&manifest), 0o644)
                    .map_err(|e| e.to_string())
            });
        if let Err(e) = written {
            report
                .errors
                .push(format!("{MANIFEST_PATH}: cannot write: {e}"));
        }
    }
    written_pfiles
}

/// Makes (and checks) the missing directory of a planned file.
fn make_dir(root: &Root, p: &Planned) -> Result<Dir, String> {
    root.parent(&p.file.path, true)?
        .0
        .ok_or_else(|| "its directory is missing".to_owned())
}

/// Writes one planned file into its directory (`made` if it did not exist); the path it was
/// written at.
fn install(p: &Planned, made: Option<&Dir>) -> Result<PathBuf, String> {
    let dir = p
        .dir
        .as_ref()
        .or(made)
        .ok_or_else(|| "its directory is missing".to_owned())?;
    let at = dir.path.join(&p.name);
    dir.write(&p.name, &p.file.bytes, p.file.mode & 0o7777)
        .map_err(|e| format!("{}: {e}", at.display()))?;
    Ok(at)
}

#[cfg(test)]
mod tests;

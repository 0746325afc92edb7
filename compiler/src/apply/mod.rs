//! `psctl apply` as a library: compare generated files with what is installed under a root,
//! show the differences, install changed files atomically, keep a manifest of installed files,
//! and ask the pchecks whose pfile changed to reload.
//!
//! Nothing is written unless every target passes the checks first (absolute plain path, no
//! symbolic link out of the root, no directory in the way, readable current state).

mod diff;
mod host;
mod install;
mod manifest;
mod paths;
mod reload;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

pub use manifest::MANIFEST_PATH;
pub use reload::{PadminReloader, ReloadOutcome, Reloader};

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
    /// Fill [`ApplyReport::diff`].
    pub diff: bool,
    /// Remove stale files (installed earlier, no longer generated).
    pub prune: bool,
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
    pub reloaded: Vec<String>,
    /// Changed pfiles that no running pcheck serves.
    pub not_running: Vec<String>,
    pub errors: Vec<String>,
    /// Host-rule problems (restart scripts missing, not executable, badly owned or
    /// writable by others): reported, not blocking.
    pub warnings: Vec<String>,
    /// Unified diff of every change (empty unless asked).
    pub diff: String,
}

/// A target that passed the checks, with what is there now.
struct Planned<'a> {
    file: &'a InstallFile,
    target: PathBuf,
    current: Option<install::Current>,
}

impl Planned<'_> {
    fn needs_write(&self) -> bool {
        self.current.as_ref().is_none_or(|c| {
            c.symlink || c.bytes != self.file.bytes || c.mode != self.file.mode & 0o7777
        })
    }
}

/// A file the manifest names that is no longer generated, and still there.
struct Stale {
    path: String,
    target: PathBuf,
    current: install::Current,
}

/// Everything known after the checks, before any change.
struct Survey<'a> {
    root: PathBuf,
    /// Scripts before pfiles, so that a pfile never names a script not installed yet.
    plan: Vec<Planned<'a>>,
    manifest_file: PathBuf,
    old_manifest: BTreeSet<String>,
    stale: Vec<Stale>,
}

/// Installs `files` under `opts.root`; see the module documentation.
pub fn apply(files: &[InstallFile], opts: &ApplyOptions, reloader: &dyn Reloader) -> ApplyReport {
    let mut report = ApplyReport::default();
    let Some(survey) = survey(files, &opts.root, &mut report) else {
        report.errors.push("nothing was changed".to_owned());
        return report;
    };
    report.warnings = host::warnings(files, &survey.root);
    describe(&survey, opts, &mut report);
    if opts.check {
        return report;
    }
    let written_pfiles = execute(&survey, opts, &mut report);
    for p in written_pfiles {
        let path = p.file.path.clone();
        match reloader.reload(&p.target) {
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

/// Checks every target, the manifest and the stale files, reading what is there. `None` (with
/// the reasons in `report.errors`) when anything is wrong.
fn survey<'a>(
    files: &'a [InstallFile],
    root: &Path,
    report: &mut ApplyReport,
) -> Option<Survey<'a>> {
    let root = match std::fs::canonicalize(root) {
        Ok(r) if r.is_dir() => r,
        Ok(r) => {
            report
                .errors
                .push(format!("root {} is not a directory", r.display()));
            return None;
        }
        Err(e) => {
            report.errors.push(format!("root {}: {e}", root.display()));
            return None;
        }
    };
    let mut seen = BTreeSet::new();
    let mut plan = Vec::new();
    for file in files {
        if !seen.insert(file.path.as_str()) {
            report
                .errors
                .push(format!("{}: generated twice", file.path));
            continue;
        }
        match prepare(&root, &file.path).and_then(|target| {
            let current = install::read_current(&target)
                .map_err(|e| format!("{}: cannot read: {e}", file.path))?;
            Ok(Planned {
                file,
                target,
                current,
            })
        }) {
            Ok(p) => plan.push(p),
            Err(e) => report.errors.push(e),
        }
    }
    plan.sort_by_key(|p| p.file.pfile);

    let manifest_file = prepare(&root, MANIFEST_PATH).map_err(|e| report.errors.push(e));
    let old_manifest = match &manifest_file {
        Ok(f) => manifest::load(f).unwrap_or_else(|e| {
            report
                .errors
                .push(format!("{MANIFEST_PATH}: cannot read: {e}"));
            BTreeSet::new()
        }),
        Err(()) => BTreeSet::new(),
    };
    let mut stale = Vec::new();
    for path in old_manifest.iter().filter(|p| !seen.contains(p.as_str())) {
        let found = prepare(&root, path).and_then(|target| {
            install::read_current(&target)
                .map(|c| {
                    c.map(|current| Stale {
                        path: path.clone(),
                        target,
                        current,
                    })
                })
                .map_err(|e| format!("{path}: cannot read: {e}"))
        });
        match found {
            Ok(Some(s)) => stale.push(s),
            Ok(None) => {} // already gone: simply forgotten
            Err(e) => report.errors.push(e),
        }
    }
    if !report.errors.is_empty() {
        return None;
    }
    Some(Survey {
        root,
        plan,
        manifest_file: manifest_file.ok()?,
        old_manifest,
        stale,
    })
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
            let old = p.current.as_ref().map(|c| (&c.bytes[..], c.mode));
            let new = Some((&p.file.bytes[..], p.file.mode & 0o7777));
            report
                .diff
                .push_str(&diff::file_diff(&p.file.path, old, new));
        }
    }
    for s in &survey.stale {
        report.stale.push(s.path.clone());
        if opts.prune {
            report.removed.push(s.path.clone());
            if opts.diff {
                let old = Some((&s.current.bytes[..], s.current.mode));
                report.diff.push_str(&diff::file_diff(&s.path, old, None));
            }
        }
    }
    report.changed = !report.written.is_empty() || !report.removed.is_empty();
}

/// Writes the changed files, prunes, and updates the manifest; `report.written` and
/// `report.removed` become what was really done. Returns the pfiles written.
fn execute<'s, 'a>(
    survey: &'s Survey<'a>,
    opts: &ApplyOptions,
    report: &mut ApplyReport,
) -> Vec<&'s Planned<'a>> {
    let mut written_pfiles = Vec::new();
    report.written.clear();
    for p in survey.plan.iter().filter(|p| p.needs_write()) {
        if let Err(e) = install::write_atomic(&p.target, &p.file.bytes, p.file.mode & 0o7777) {
            report
                .errors
                .push(format!("{}: cannot write: {e}; stopped", p.file.path));
            break;
        }
        report.written.push(p.file.path.clone());
        if p.file.pfile {
            written_pfiles.push(p);
        }
    }
    report.removed.clear();
    if opts.prune && report.errors.is_empty() {
        for s in &survey.stale {
            match install::remove(&s.target) {
                Ok(()) => report.removed.push(s.path.clone()),
                Err(e) => report
                    .errors
                    .push(format!("{}: cannot remove: {e}", s.path)),
            }
        }
    }
    report.changed = !report.written.is_empty() || !report.removed.is_empty();

    // The manifest: what it knew, plus everything generated now that is in place, minus what
    // was removed. Rewritten only when that differs, so a second run writes nothing.
    let mut manifest = survey.old_manifest.clone();
    manifest.extend(report.written.iter().cloned());
    manifest.extend(report.unchanged.iter().cloned());
    for r in &report.removed {
        manifest.remove(r);
    }
    if manifest != survey.old_manifest {
        let bytes = manifest::render(&manifest);
        if let Err(e) = install::write_atomic(&survey.manifest_file, &bytes, 0o644) {
            report
                .errors
                .push(format!("{MANIFEST_PATH}: cannot write: {e}"));
        }
    }
    written_pfiles
}

/// Validates a host path and maps it under the root.
fn prepare(root: &Path, host_path: &str) -> Result<PathBuf, String> {
    let rel = paths::relative_host_path(host_path)?;
    paths::check_inside_root(root, &rel, host_path)?;
    Ok(root.join(rel))
}

#[cfg(test)]
mod tests;

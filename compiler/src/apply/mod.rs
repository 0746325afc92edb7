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

/// Installs `files` under `opts.root`; see the module documentation.
pub fn apply(files: &[InstallFile], opts: &ApplyOptions, reloader: &dyn Reloader) -> ApplyReport {
    let mut report = ApplyReport::default();
    let root = match std::fs::canonicalize(&opts.root) {
        Ok(r) if r.is_dir() => r,
        Ok(r) => return fail(report, format!("root {} is not a directory", r.display())),
        Err(e) => return fail(report, format!("root {}: {e}", opts.root.display())),
    };

    // Check everything before writing anything.
    let mut seen = BTreeSet::new();
    let mut plan = Vec::new();
    for file in files {
        if !seen.insert(file.path.as_str()) {
            report
                .errors
                .push(format!("{}: generated twice", file.path));
            continue;
        }
        match prepare(&root, &file.path) {
            Ok(target) => match install::read_current(&target) {
                Ok(current) => plan.push(Planned {
                    file,
                    target,
                    current,
                }),
                Err(e) => report
                    .errors
                    .push(format!("{}: cannot read: {e}", file.path)),
            },
            Err(e) => report.errors.push(e),
        }
    }
    let manifest_file = prepare(&root, MANIFEST_PATH);
    let old_manifest = match &manifest_file {
        Ok(f) => manifest::load(f).unwrap_or_else(|e| {
            report
                .errors
                .push(format!("{MANIFEST_PATH}: cannot read: {e}"));
            BTreeSet::new()
        }),
        Err(e) => {
            report.errors.push(e.clone());
            BTreeSet::new()
        }
    };
    let mut stale = Vec::new();
    for path in old_manifest.iter().filter(|p| !seen.contains(p.as_str())) {
        match prepare(&root, path) {
            Ok(target) => match install::read_current(&target) {
                Ok(Some(current)) => stale.push((path.clone(), target, current)),
                Ok(None) => {} // already gone: simply forgotten
                Err(e) => report.errors.push(format!("{path}: cannot read: {e}")),
            },
            Err(e) => report.errors.push(e),
        }
    }
    if !report.errors.is_empty() {
        report.errors.push("nothing was changed".to_owned());
        return report;
    }
    let manifest_file = manifest_file.expect("checked above");
    report.warnings = host::warnings(files, &root);

    // Scripts first, so that a pfile never names a script not installed yet.
    plan.sort_by_key(|p| p.file.pfile);
    for p in &plan {
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
    for (path, _, current) in &stale {
        report.stale.push(path.clone());
        if opts.prune {
            report.removed.push(path.clone());
            if opts.diff {
                let old = Some((&current.bytes[..], current.mode));
                report.diff.push_str(&diff::file_diff(path, old, None));
            }
        }
    }
    report.changed = !report.written.is_empty() || !report.removed.is_empty();
    if opts.check {
        return report;
    }

    let mut written_pfiles = Vec::new();
    let mut done = Vec::new();
    for p in plan.iter().filter(|p| p.needs_write()) {
        if let Err(e) = install::write_atomic(&p.target, &p.file.bytes, p.file.mode & 0o7777) {
            report
                .errors
                .push(format!("{}: cannot write: {e}; stopped", p.file.path));
            break;
        }
        done.push(p.file.path.clone());
        if p.file.pfile {
            written_pfiles.push(p);
        }
    }
    report.written = done;
    let mut removed = Vec::new();
    if opts.prune && report.errors.is_empty() {
        for (path, target, _) in &stale {
            match install::remove(target) {
                Ok(()) => removed.push(path.clone()),
                Err(e) => report.errors.push(format!("{path}: cannot remove: {e}")),
            }
        }
    }
    report.removed = removed;
    report.changed = !report.written.is_empty() || !report.removed.is_empty();

    // The manifest: what it knew, plus everything generated now that is in place, minus what
    // was removed. Rewritten only when that differs, so a second run writes nothing.
    let mut new_manifest = old_manifest.clone();
    new_manifest.extend(report.written.iter().cloned());
    new_manifest.extend(report.unchanged.iter().cloned());
    for r in &report.removed {
        new_manifest.remove(r);
    }
    if new_manifest != old_manifest {
        if let Err(e) =
            install::write_atomic(&manifest_file, &manifest::render(&new_manifest), 0o644)
        {
            report
                .errors
                .push(format!("{MANIFEST_PATH}: cannot write: {e}"));
        }
    }

    for p in written_pfiles {
        match reloader.reload(&p.target) {
            Ok(ReloadOutcome::Reloaded) => report.reloaded.push(p.file.path.clone()),
            Ok(ReloadOutcome::NotRunning) => report.not_running.push(p.file.path.clone()),
            Ok(ReloadOutcome::Refused(why)) => report.errors.push(format!(
                "{}: the running pcheck refused to reload: {why}",
                p.file.path
            )),
            Err(e) => report
                .errors
                .push(format!("{}: cannot ask pcheck to reload: {e}", p.file.path)),
        }
    }
    report
}

/// Validates a host path and maps it under the root.
fn prepare(root: &Path, host_path: &str) -> Result<PathBuf, String> {
    let rel = paths::relative_host_path(host_path)?;
    paths::check_inside_root(root, &rel, host_path)?;
    Ok(root.join(rel))
}

fn fail(mut report: ApplyReport, error: String) -> ApplyReport {
    report.errors.push(error);
    report.errors.push("nothing was changed".to_owned());
    report
}

#[cfg(test)]
mod tests;

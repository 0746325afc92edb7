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

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::PathBuf;

pub use manifest::MANIFEST_PATH;
pub use reload::{PadminReloader, ReloadOutcome, Reloader};

use manifest::Manifest;
use root::{Dir, Entry, Root};

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

/// A target that passed the checks, with what is there now.
struct Planned<'a> {
    file: &'a InstallFile,
    /// Its directory, when it exists already.
    dir: Option<Dir>,
    name: OsString,
    current: Option<Entry>,
}

impl Planned<'_> {
    fn needs_write(&self) -> bool {
        !matches!(&self.current, Some(Entry::File { bytes, mode })
            if *bytes == self.file.bytes && *mode == self.file.mode & 0o7777)
    }
}

/// A file the manifest names that is no longer generated, and still there.
struct Stale {
    path: String,
    dir: Dir,
    name: OsString,
    current: Entry,
    /// Why `--prune` keeps it, if it does.
    keep: Option<String>,
}

/// Everything known after the checks, before any change.
struct Survey<'a> {
    root: Root,
    /// Scripts before pfiles, so that a pfile never names a script not installed yet.
    plan: Vec<Planned<'a>>,
    old_manifest: Manifest,
    stale: Vec<Stale>,
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

/// Checks every target, the manifest and the stale files, reading what is there. `None` (with
/// the reasons in `report.errors`) when anything is wrong.
fn survey<'a>(
    files: &'a [InstallFile],
    opts: &ApplyOptions,
    report: &mut ApplyReport,
) -> Option<Survey<'a>> {
    let root = match Root::open(&opts.root) {
        Ok(r) => r,
        Err(e) => {
            report.errors.push(e);
            return None;
        }
    };
    let old_manifest = load_manifest(&root)
        .map_err(|e| report.errors.push(e))
        .ok()?;
    let mut seen = BTreeSet::new();
    let mut plan = Vec::new();
    for file in files {
        if !seen.insert(file.path.as_str()) {
            report
                .errors
                .push(format!("{}: generated twice", file.path));
            continue;
        }
        match prepare(&root, file, &old_manifest, opts.force) {
            Ok(p) => plan.push(p),
            Err(e) => report.errors.push(e),
        }
    }
    plan.sort_by_key(|p| p.file.pfile);

    let mut stale = Vec::new();
    for (path, recorded) in old_manifest
        .iter()
        .filter(|(p, _)| !seen.contains(p.as_str()))
    {
        match find_stale(&root, path, recorded.as_deref()) {
            Ok(Some(s)) => stale.push(s),
            Ok(None) => {} // already gone: forgotten
            Err(e) => report.errors.push(e),
        }
    }
    if !report.errors.is_empty() {
        return None;
    }
    Some(Survey {
        root,
        plan,
        old_manifest,
        stale,
    })
}

/// Reads the manifest through the root; absent is empty.
fn load_manifest(root: &Root) -> Result<Manifest, String> {
    let (dir, name) = root.parent(MANIFEST_PATH, false)?;
    let entry = match dir {
        Some(d) => d
            .read(&name)
            .map_err(|e| format!("{MANIFEST_PATH}: cannot read: {e}"))?,
        None => None,
    };
    match entry {
        None => Ok(Manifest::new()),
        Some(Entry::File { bytes, .. }) => {
            manifest::parse(&bytes).map_err(|e| format!("{MANIFEST_PATH}: {e}"))
        }
        Some(_) => Err(format!("{MANIFEST_PATH}: not a regular file")),
    }
}

/// Checks one target and reads what is there.
fn prepare<'a>(
    root: &Root,
    file: &'a InstallFile,
    manifest: &Manifest,
    force: bool,
) -> Result<Planned<'a>, String> {
    paths::relative_host_path(&file.path)?;
    let (dir, name) = root.parent(&file.path, false)?;
    let current = match &dir {
        Some(d) => d
            .read(&name)
            .map_err(|e| format!("{}: cannot read: {e}", file.path))?,
        None => None,
    };
    let planned = Planned {
        file,
        dir,
        name,
        current,
    };
    if !planned.needs_write() {
        return Ok(planned);
    }
    match &planned.current {
        None => Ok(planned),
        Some(Entry::Other) => Err(format!(
            "{}: exists and is not a regular file; not replacing it",
            file.path
        )),
        Some(Entry::File { bytes, .. }) if ours(&file.path, bytes, manifest) => Ok(planned),
        Some(_) if force => Ok(planned),
        Some(what) => Err(format!(
            "{}: {} that psctl did not write (no generated header, not in {MANIFEST_PATH}); \
             not overwriting it without --force",
            file.path,
            match what {
                Entry::Symlink(_) => "a symbolic link",
                Entry::Linked { .. } => "a file with other hard links",
                _ => "a file",
            }
        )),
    }
}

/// Whether psctl wrote `bytes`: it carries the generated header, or it is what the manifest
/// says psctl installed at `path`.
fn ours(path: &str, bytes: &[u8], manifest: &Manifest) -> bool {
    crate::emit::is_generated(bytes)
        || manifest
            .get(path)
            .is_some_and(|h| h.as_deref() == Some(manifest::hash(bytes).as_str()))
}

/// A stale manifest entry as found under the root: `None` when it is gone.
fn find_stale(root: &Root, path: &str, recorded: Option<&str>) -> Result<Option<Stale>, String> {
    paths::relative_host_path(path)?;
    let (Some(dir), name) = root.parent(path, false)? else {
        return Ok(None);
    };
    let Some(current) = dir
        .read(&name)
        .map_err(|e| format!("{path}: cannot read: {e}"))?
    else {
        return Ok(None);
    };
    let keep = match (&current, recorded) {
        (Entry::File { bytes, .. }, Some(h)) if manifest::hash(bytes) == h => None,
        (Entry::File { .. }, Some(_)) => Some("edited since psctl installed it".to_owned()),
        (Entry::File { .. }, None) => {
            Some("the manifest has no hash of what psctl wrote there".to_owned())
        }
        (Entry::Linked { .. }, _) => Some("it has other hard links".to_owned()),
        _ => Some("no longer a regular file".to_owned()),
    };
    Ok(Some(Stale {
        path: path.to_owned(),
        dir,
        name,
        current,
        keep,
    }))
}

/// `--prune` never removes the pfile of a running pcheck: each stale pfile still prunable is
/// looked up (`padmin -c show param`), and kept when a pcheck serves it or when that cannot
/// be told.
fn keep_served_pfiles(survey: &mut Survey, reloader: &dyn Reloader) {
    for s in survey.stale.iter_mut().filter(|s| s.keep.is_none()) {
        let is_pfile = s.name.to_string_lossy().starts_with("pfile");
        if !is_pfile {
            continue;
        }
        s.keep = match reloader.serves(&s.dir.path.join(&s.name)) {
            Ok(false) => None,
            Ok(true) => Some("a running pcheck serves it; shut that pcheck down first".to_owned()),
            Err(e) => Some(format!("cannot tell whether a pcheck serves it: {e}")),
        };
    }
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

//! The survey: every check `apply` makes before changing anything, and what it finds under
//! the root (each target's current content and whether psctl may replace it; the manifest;
//! the stale files and whether `--prune` may remove them).

use std::collections::BTreeSet;
use std::ffi::OsString;

use super::manifest::{self, Manifest, MANIFEST_PATH};
use super::root::{Dir, Entry, Root};
use super::{paths, ApplyOptions, ApplyReport, InstallFile, Reloader};

/// A target that passed the checks, with what is there now.
pub(super) struct Planned<'a> {
    pub(super) file: &'a InstallFile,
    /// Its directory, when it exists already.
    pub(super) dir: Option<Dir>,
    pub(super) name: OsString,
    pub(super) current: Option<Entry>,
}

impl Planned<'_> {
    pub(super) fn needs_write(&self) -> bool {
        !matches!(&self.current, Some(Entry::File { bytes, mode })
            if *bytes == self.file.bytes && *mode == self.file.mode & 0o7777)
    }
}

/// A file the manifest names that is no longer generated, and still there.
pub(super) struct Stale {
    pub(super) path: String,
    pub(super) dir: Dir,
    pub(super) name: OsString,
    pub(super) current: Entry,
    /// Why `--prune` keeps it, if it does.
    pub(super) keep: Option<String>,
}

/// Everything known after the checks, before any change.
pub(super) struct Survey<'a> {
    pub(super) root: Root,
    /// Scripts before pfiles, so that a pfile never names a script not installed yet.
    pub(super) plan: Vec<Planned<'a>>,
    pub(super) old_manifest: Manifest,
    pub(super) stale: Vec<Stale>,
}

/// Checks every target, the manifest and the stale files, reading what is there. `None` (with
/// the reasons in `report.errors`) when anything is wrong.
pub(super) fn survey<'a>(
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
    let (dir, name) = root
        .parent(MANIFEST_PATH, false)
        .map_err(|e| format!("{MANIFEST_PATH}: {e}"))?;
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
    let (dir, name) = root
        .parent(&file.path, false)
        .map_err(|e| format!("{}: {e}", file.path))?;
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
    let (Some(dir), name) = root
        .parent(path, false)
        .map_err(|e| format!("{path}: {e}"))?
    else {
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
pub(super) fn keep_served_pfiles(survey: &mut Survey, reloader: &dyn Reloader) {
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

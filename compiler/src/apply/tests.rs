//! In-process tests of [`apply`] with a scripted reloader; the end-to-end tests of the command
//! are in `tests/apply_e2e.rs`.

use super::*;
use std::cell::RefCell;
use std::path::Path;

/// Records each reload, with whether the script named by the test existed at that moment.
struct Recorder {
    outcome: Result<ReloadOutcome, String>,
    must_exist: Option<PathBuf>,
    calls: RefCell<Vec<(PathBuf, bool)>>,
    serving: Result<bool, String>,
    serves_calls: RefCell<Vec<PathBuf>>,
}

impl Recorder {
    fn new(outcome: Result<ReloadOutcome, String>) -> Recorder {
        Recorder {
            outcome,
            must_exist: None,
            calls: RefCell::new(Vec::new()),
            serving: Ok(false),
            serves_calls: RefCell::new(Vec::new()),
        }
    }
}

impl Reloader for Recorder {
    fn reload(&self, pfile: &Path, _: &[u8]) -> Result<ReloadOutcome, String> {
        let seen = self.must_exist.as_ref().is_none_or(|p| p.exists());
        self.calls.borrow_mut().push((pfile.to_path_buf(), seen));
        self.outcome.clone()
    }

    fn serves(&self, pfile: &Path) -> Result<bool, String> {
        self.serves_calls.borrow_mut().push(pfile.to_path_buf());
        self.serving.clone()
    }
}

fn file(path: &str, text: &str, pfile: bool) -> InstallFile {
    InstallFile {
        path: path.to_owned(),
        bytes: text.as_bytes().to_vec(),
        mode: if pfile { 0o644 } else { 0o755 },
        pfile,
    }
}

/// A scratch root: a private temporary directory is 0700, a root must be 0755 to be trusted.
fn tempdir() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    d
}

fn opts(root: &Path) -> ApplyOptions {
    ApplyOptions {
        root: root.to_path_buf(),
        ..ApplyOptions::default()
    }
}

#[test]
fn scripts_are_installed_before_the_pfile_that_is_then_reloaded() {
    let root = tempdir();
    let files = [
        file("/conf/pfile_a", "pfile\n", true),
        file("/conf/restart_a.sh", "#!/bin/sh\n", false),
    ];
    let mut r = Recorder::new(Ok(ReloadOutcome::Reloaded));
    r.must_exist = Some(root.path().join("conf/restart_a.sh"));
    let report = apply(&files, &opts(root.path()), &r);
    assert!(report.errors.is_empty(), "{report:?}");
    assert_eq!(report.written, ["/conf/restart_a.sh", "/conf/pfile_a"]);
    assert_eq!(report.reloaded, ["/conf/pfile_a"]);
    let calls = r.calls.borrow();
    assert_eq!(calls.len(), 1);
    assert!(
        calls[0].0.ends_with("conf/pfile_a") && calls[0].1,
        "{calls:?}"
    );
}

#[test]
fn a_changed_script_alone_reloads_nothing() {
    let root = tempdir();
    let r = Recorder::new(Ok(ReloadOutcome::Reloaded));
    apply(
        &[
            file("/c/pfile_a", "p\n", true),
            file("/c/s.sh", "1\n", false),
        ],
        &opts(root.path()),
        &r,
    );
    let report = apply(
        &[
            file("/c/pfile_a", "p\n", true),
            file("/c/s.sh", "2\n", false),
        ],
        &opts(root.path()),
        &r,
    );
    assert_eq!(report.written, ["/c/s.sh"]);
    assert!(report.changed && report.reloaded.is_empty());
    assert_eq!(r.calls.borrow().len(), 1, "only the first apply reloads");
}

#[test]
fn any_bad_target_means_nothing_is_written() {
    let root = tempdir();
    std::fs::create_dir_all(root.path().join("c/dir_in_the_way")).unwrap();
    let r = Recorder::new(Ok(ReloadOutcome::Reloaded));
    for bad in [
        vec![
            file("/c/ok", "x", true),
            file("/c/dir_in_the_way", "x", true),
        ],
        vec![file("/c/ok", "x", true), file("relative/path", "x", true)],
        vec![file("/c/ok", "x", true), file("/c/ok", "y", true)],
    ] {
        let report = apply(&bad, &opts(root.path()), &r);
        assert!(!report.errors.is_empty() && !report.changed, "{report:?}");
        assert!(!root.path().join("c/ok").exists());
        assert!(!root
            .path()
            .join(MANIFEST_PATH.trim_start_matches('/'))
            .exists());
    }
    assert!(r.calls.borrow().is_empty());
}

#[test]
fn check_mode_writes_nothing_not_even_the_manifest() {
    let root = tempdir();
    let r = Recorder::new(Ok(ReloadOutcome::Reloaded));
    let o = ApplyOptions {
        check: true,
        diff: true,
        ..opts(root.path())
    };
    let report = apply(&[file("/c/pfile_a", "p\n", true)], &o, &r);
    assert!(report.changed && report.written == ["/c/pfile_a"]);
    assert!(report.diff.contains("+p\n"));
    assert_eq!(std::fs::read_dir(root.path()).unwrap().count(), 0);
    assert!(r.calls.borrow().is_empty());
}

#[test]
fn reload_failures_are_errors_and_not_running_is_not() {
    let root = tempdir();
    let run = |outcome, text: &str| {
        apply(
            &[file("/c/pfile_a", text, true)],
            &opts(root.path()),
            &Recorder::new(outcome),
        )
    };
    let report = run(Ok(ReloadOutcome::NotRunning), "1");
    assert!(report.errors.is_empty() && report.not_running == ["/c/pfile_a"]);
    let report = run(Ok(ReloadOutcome::Refused("bad line".into())), "2");
    assert!(report.errors[0].contains("refused") && report.errors[0].contains("bad line"));
    let report = run(Err("cannot run padmin".into()), "3");
    assert!(report.errors[0].contains("cannot run padmin"), "{report:?}");
    assert!(
        report.changed,
        "the file was written even though the reload failed"
    );
}

#[test]
fn a_missing_root_is_an_error() {
    let r = Recorder::new(Ok(ReloadOutcome::Reloaded));
    let report = apply(
        &[file("/c/a", "x", true)],
        &opts(Path::new("/nonexistent/root")),
        &r,
    );
    assert!(!report.errors.is_empty() && !report.changed);
}

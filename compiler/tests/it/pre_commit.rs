//! The pre-commit hooks: the real `.pre-commit-hooks.yaml` passes `pre-commit validate-manifest`,
//! its entry script builds and runs psctl, and (with the real `pre-commit` tool, installed by
//! scripts/setup-test-deps) the hooks pass a good pfile and fail a bad one.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Output};

use crate::test::{root as repo_root, PSCTL};

fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("{cmd:?}: {e} (run scripts/setup-test-deps)"))
}

#[test]
fn the_hook_manifest_is_valid() {
    let manifest = repo_root().join(".pre-commit-hooks.yaml");
    let o = run(Command::new("pre-commit")
        .arg("validate-manifest")
        .arg(&manifest));
    assert!(o.status.success(), "{o:?}");
    let text = fs::read_to_string(&manifest).unwrap();
    for needle in [
        "- id: psctl-check",
        "- id: psctl-fmt",
        "check\n",
        "fmt --check\n",
    ] {
        assert!(text.contains(needle), "manifest lacks {needle:?}");
    }
    // The validator really validates: a hook without an entry is refused.
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("hooks.yaml");
    fs::write(
        &broken,
        text.replace("  entry: scripts/pre-commit-psctl fmt --check\n", ""),
    )
    .unwrap();
    let o = run(Command::new("pre-commit")
        .arg("validate-manifest")
        .arg(&broken));
    assert!(!o.status.success(), "{o:?}");
}

#[test]
fn the_entry_script_builds_once_then_runs_psctl_with_the_arguments() {
    // A copy of the script in a scratch "clone", with a fake cargo that records its arguments
    // and produces a psctl that echoes its own.
    let dir = tempfile::tempdir().unwrap();
    let clone = dir.path().join("clone");
    fs::create_dir_all(clone.join("scripts")).unwrap();
    fs::copy(
        repo_root().join("scripts/pre-commit-psctl"),
        clone.join("scripts/pre-commit-psctl"),
    )
    .unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    fs::write(
        &cargo,
        "#!/bin/sh\necho \"$@\" >> \"$FAKE_CARGO_LOG\"\nmanifest=\"\"\nwhile [ $# -gt 0 ]; do [ \"$1\" = --manifest-path ] && manifest=$2; shift; done\n\
         t=\"$(dirname \"$manifest\")/target/release\"\nmkdir -p \"$t\"\nprintf '#!/bin/sh\\necho psctl \"$@\"\\n' > \"$t/psctl\"\nchmod 755 \"$t/psctl\"\n",
    )
    .unwrap();
    fs::set_permissions(&cargo, fs::Permissions::from_mode(0o755)).unwrap();
    let log = dir.path().join("cargo.log");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let hook = |args: &[&str]| {
        run(Command::new(clone.join("scripts/pre-commit-psctl"))
            .args(args)
            .env("PATH", &path)
            .env("FAKE_CARGO_LOG", &log))
    };
    let o = hook(&["check", "pfile_a", "b.yaml"]);
    assert!(o.status.success(), "{o:?}");
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "psctl check pfile_a b.yaml\n"
    );
    let o = hook(&["fmt", "--check", "pfile_a"]);
    assert_eq!(
        String::from_utf8_lossy(&o.stdout),
        "psctl fmt --check pfile_a\n"
    );
    let builds = fs::read_to_string(&log).unwrap();
    assert_eq!(builds.lines().count(), 1, "built once: {builds}");
    assert!(builds.contains("build --release --locked") && builds.contains("-p psctl --bin psctl"));
}

/// The real hooks, installed with `pre-commit install` and run by `git commit`: the whole
/// repository is checked on every commit, so a new file reusing a committed file's IPCKEY is
/// refused although only the new file is staged; non-description YAML/TOML and ignored
/// directories are left alone.
#[test]
fn commits_are_checked_against_the_whole_repository() {
    let dir = tempfile::tempdir().unwrap();
    let repo = dir.path().join("repo");
    fs::create_dir_all(repo.join(".github/workflows")).unwrap();
    fs::create_dir_all(repo.join("target")).unwrap();
    let cache = dir.path().join("cache");
    let git = |args: &[&str]| {
        run(Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.org"])
            .args(args)
            .current_dir(&repo)
            .env("PRE_COMMIT_HOME", &cache))
    };
    assert!(git(&["init", "-q"]).status.success());

    // The real hook definitions, run as `language: system` against the built binary (instead
    // of building psctl again in pre-commit's cache), in a `repo: local` block.
    let manifest = fs::read_to_string(repo_root().join(".pre-commit-hooks.yaml")).unwrap();
    let hooks = manifest
        .replace(
            "entry: scripts/pre-commit-psctl",
            &format!("entry: {}", PSCTL),
        )
        .replace("language: script", "language: system");
    let hooks: String = hooks.lines().map(|l| format!("      {l}\n")).collect();
    fs::write(
        repo.join(".pre-commit-config.yaml"),
        format!("repos:\n  - repo: local\n    hooks:\n{hooks}"),
    )
    .unwrap();
    let o = run(Command::new("pre-commit")
        .arg("install")
        .current_dir(&repo)
        .env("PRE_COMMIT_HOME", &cache));
    assert!(o.status.success(), "{o:?}");

    let good = fs::read_to_string(repo_root().join("examples/pfile_cron")).unwrap();
    fs::write(repo.join("pfile_good"), &good).unwrap();
    // Not service descriptions, or ignored: none of these may fail the commit.
    fs::write(
        repo.join(".github/workflows/ci.yml"),
        "on: push\njobs: {}\n",
    )
    .unwrap();
    fs::write(repo.join("Cargo.toml"), "[package]\nname = \"x\"\n").unwrap();
    fs::write(repo.join(".gitignore"), "target/\n").unwrap();
    fs::write(repo.join("target/broken.yaml"), "processes: [\n").unwrap();
    assert!(git(&["add", "."]).status.success());
    let o = git(&["commit", "-q", "-m", "good"]);
    assert!(o.status.success(), "first commit: {o:?}");

    // A bad file fails the commit.
    fs::write(
        repo.join("pfile_bad"),
        "##### PARAM #####\nIPCKEY 0x1f000502\nMONITOR_INTRVAL 10\ncrond:-:0:3:continue\n",
    )
    .unwrap();
    assert!(git(&["add", "pfile_bad"]).status.success());
    let o = git(&["commit", "-q", "-m", "bad"]);
    // Run from git's hook, pre-commit's report may land on either stream.
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!o.status.success(), "{o:?}");
    assert!(out.contains("MONITOR_INTRVAL"), "{out}");
    assert!(git(&["rm", "-q", "--cached", "pfile_bad"]).status.success());
    fs::remove_file(repo.join("pfile_bad")).unwrap();

    // A new file, alone in the commit, reusing the committed file's IPCKEY.
    let clash = good.replace("crond:", "atd:");
    fs::write(repo.join("pfile_clash"), clash).unwrap();
    assert!(git(&["add", "pfile_clash"]).status.success());
    let o = git(&["commit", "-q", "-m", "clash"]);
    let out = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        !o.status.success(),
        "a clashing IPCKEY was committed: {o:?}"
    );
    assert!(
        out.contains("duplicate_ipckey") && out.contains("pfile_good"),
        "{out}"
    );
}

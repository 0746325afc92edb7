//! What `psctl apply` trusts and refuses (issue 9): a root or a directory on the way that
//! others can write, files it did not write, what `--prune` may remove, which padmin it runs,
//! and what a configuration manager gets back (a JSON summary even on a usage error, per-file
//! diffs, `--check` as an unprivileged user). Parts that give files to another user need root
//! and say so loudly when skipped.

use std::fs;
use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;
use std::process::Command;

use crate::apply_support::*;
use crate::test::PSCTL;

fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

fn skip(what: &str) {
    eprintln!("SKIPPED (needs root): {what}");
}

fn mode(p: &Path, m: u32) {
    fs::set_permissions(p, fs::Permissions::from_mode(m)).unwrap();
}

fn errors(o: &std::process::Output) -> String {
    strings(&summary(o)["errors"]).join("\n")
}

/// What apply says when it refuses to install CRON because of `why`, and changes nothing.
fn refused(why: String) -> String {
    format!(
        "{CRON}: refused: {why}; only root or the caller may be able to change what apply \
         installs\nnothing was changed"
    )
}

#[test]
fn a_root_or_a_directory_that_others_can_write_is_refused() {
    let h = Host::new();
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let cron = cron.to_str().unwrap();

    mode(&h.root, 0o777);
    let o = h.apply(&[cron, "--message-format", "json"], 2);
    assert_eq!(status(&o), 1, "{o:?}");
    let root = h.root.display();
    assert_eq!(
        errors(&o),
        format!(
            "--root {root}: refused: {root} is writable by group or others (mode 0777)\n\
             nothing was changed"
        )
    );
    assert!(h.tree().is_empty(), "{:?}", h.tree());

    mode(&h.root, 0o755);
    fs::create_dir_all(h.root.join("var/opt/HA")).unwrap();
    mode(&h.root.join("var/opt"), 0o775);
    let o = h.apply(&[cron, "--message-format", "json"], 2);
    assert_eq!(status(&o), 1, "{o:?}");
    assert_eq!(
        errors(&o),
        refused(format!(
            "{root}/var/opt is writable by group or others (mode 0775)"
        ))
    );
    assert!(h.tree().is_empty(), "{:?}", h.tree());
    assert!(h.padmin_calls().is_empty());

    // A root-owned sticky directory (like /tmp) is fine when apply runs as root.
    mode(&h.root.join("var/opt"), 0o1777);
    let o = h.apply(&[cron, "--message-format", "json"], 2);
    if is_root() {
        assert_eq!(status(&o), 0, "{o:?}");
        assert!(h.installed("pfile_cron").is_file());
    } else {
        assert_eq!(status(&o), 1, "sticky but not root's: {o:?}");
        skip("a root-owned sticky directory on the way is accepted");
    }

    if !is_root() {
        return skip("a root or directory owned by another user is refused");
    }
    mode(&h.root.join("var/opt"), 0o755);
    chown(h.root.join("var/opt/HA"), Some(65534), None).unwrap();
    let o = h.apply(&[cron, "--message-format", "json"], 2);
    assert_eq!(status(&o), 1, "{o:?}");
    assert_eq!(
        errors(&o),
        refused(format!(
            "{root}/var/opt/HA is owned by uid 65534, neither root nor the running user"
        ))
    );
    chown(h.root.join("var/opt/HA"), Some(0), None).unwrap();
    chown(&h.root, Some(65534), None).unwrap();
    let o = h.apply(&[cron, "--message-format", "json"], 2);
    assert_eq!(status(&o), 1, "{o:?}");
    assert_eq!(
        errors(&o),
        format!(
            "--root {root}: refused: {root} is owned by uid 65534, neither root nor the \
             running user\nnothing was changed"
        )
    );
}

#[test]
fn a_hand_written_file_survives_without_force() {
    let h = Host::new();
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let cron = cron.to_str().unwrap();
    let target = h.installed("pfile_cron");
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    let mine = "# written by hand\nIPCKEY 0x1f000501\ncrond:/etc/init.d/crond restart:1:1:exit\n";
    fs::write(&target, mine).unwrap();

    let o = h.apply(&[cron, "--message-format", "json"], 2);
    assert_eq!(status(&o), 1, "{o:?}");
    let not_psctls = |what: &str| {
        format!(
            "{CRON}: {what} that psctl did not write (no generated header, not in \
             /{MANIFEST}); not overwriting it without --force\nnothing was changed"
        )
    };
    assert_eq!(errors(&o), not_psctls("a file"));
    assert_eq!(fs::read_to_string(&target).unwrap(), mine);
    assert!(!h.root.join(MANIFEST).exists());
    // --check says the same, and exits 1 rather than 3.
    let o = h.apply(&[cron, "--check"], 2);
    assert_eq!(status(&o), 1, "{o:?}");

    // A link at the target is not psctl's either; --force replaces the link, not its target.
    let victim = h.root.join("victim");
    fs::write(&victim, "keep\n").unwrap();
    fs::remove_file(&target).unwrap();
    std::os::unix::fs::symlink("/victim", &target).unwrap();
    let o = h.apply(&[cron, "--diff", "--message-format", "json"], 2);
    assert_eq!(status(&o), 1, "{o:?}");
    assert_eq!(errors(&o), not_psctls("a symbolic link"));

    let o = h.apply(&[cron, "--force", "--diff", "--message-format", "json"], 2);
    assert_eq!(status(&o), 0, "{o:?}");
    assert_eq!(fs::read_to_string(&victim).unwrap(), "keep\n");
    assert!(fs::symlink_metadata(&target).unwrap().is_file());
    let diff = summary(&o)["diff"].as_str().unwrap().to_owned();
    assert!(
        diff.contains("old mode 120000\nnew mode 100644\n"),
        "{diff}"
    );

    // Once installed, the file is psctl's: a change needs no --force, even if its header
    // was edited away, as long as the content is what the manifest recorded.
    let o = h.apply(&[cron, "--message-format", "json"], 2);
    assert_eq!(summary(&o)["changed"], false, "{o:?}");
    h.input("pfile_cron", &pfile("0x1f000501", 4));
    let o = h.apply(&[cron, "--message-format", "json"], 2);
    assert_eq!(status(&o), 0, "{o:?}");
    assert_eq!(summary(&o)["changed"], true);
}

#[test]
fn prune_keeps_an_edited_file_and_a_served_pfile() {
    let h = Host::new();
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let sshd = h.input("pfile_sshd", &pfile("0x1f000502", 3));
    let ntpd = h.input("pfile_ntpd", &pfile("0x1f000503", 3));
    let [cron, sshd, ntpd] = [&cron, &sshd, &ntpd].map(|p| p.to_str().unwrap());
    assert_eq!(status(&h.apply(&[cron, sshd, ntpd], 2)), 0);
    // sshd's pfile edited by hand, ntpd's left as it was.
    let sshd_file = h.installed("pfile_sshd");
    let edited = fs::read_to_string(&sshd_file)
        .unwrap()
        .replace(":3:", ":9:");
    fs::write(&sshd_file, &edited).unwrap();

    // ntpd's pfile is served by a running pcheck (the fake padmin answers `show param`).
    let env = [("FAKE_PADMIN_SHOW_EXIT", "0")];
    let o = h.apply_with(&[cron, "--prune", "--message-format", "json"], 2, &env);
    assert_eq!(status(&o), 0, "{o:?}");
    let s = summary(&o);
    assert_eq!(s["changed"], false);
    assert!(strings(&s["removed"]).is_empty());
    let kept = strings(&s["kept"]);
    assert_eq!(kept.len(), 2, "{kept:?}");
    let warnings = strings(&s["warnings"]).join("\n");
    assert!(
        warnings.contains("pfile_sshd: stale, but kept: edited since psctl installed it"),
        "{warnings}"
    );
    assert!(
        warnings.contains(
            "pfile_ntpd: stale, but kept: a running pcheck serves it; shut that pcheck down first"
        ),
        "{warnings}"
    );
    assert_eq!(fs::read_to_string(&sshd_file).unwrap(), edited);
    assert!(h.installed("pfile_ntpd").is_file());
    // padmin was asked about ntpd only (the edited file is kept before any question).
    let asked: Vec<_> = h
        .padmin_calls()
        .into_iter()
        .filter(|c| c[3] == "show param")
        .collect();
    assert_eq!(asked.len(), 1, "{asked:?}");
    assert!(asked[0][1].ends_with("/pfile_ntpd"), "{asked:?}");

    // Once that pcheck is gone, ntpd's pfile goes; the edited one stays, listed every time.
    let o = h.apply(&[cron, "--prune", "--message-format", "json"], 2);
    let s = summary(&o);
    assert_eq!(
        strings(&s["removed"]),
        ["/var/opt/HA/PS/conf/bin/pfile_ntpd"]
    );
    assert_eq!(strings(&s["kept"]), ["/var/opt/HA/PS/conf/bin/pfile_sshd"]);
    assert!(!h.installed("pfile_ntpd").exists() && sshd_file.is_file());
    let manifest = fs::read_to_string(h.root.join(MANIFEST)).unwrap();
    assert!(
        !manifest.contains("pfile_ntpd") && manifest.contains("pfile_sshd"),
        "{manifest}"
    );
}

#[test]
fn an_untrusted_padmin_is_not_run_and_root_does_not_search_path() {
    let h = Host::new();
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let cron = cron.to_str().unwrap();
    let fake = h.fake_padmin();
    let bin = fake.parent().unwrap();

    mode(bin, 0o777);
    let o = h.apply(&[cron, "--message-format", "json"], 0);
    assert_eq!(status(&o), 1, "{o:?}");
    let e = errors(&o);
    assert!(
        e.contains("padmin")
            && e.contains("is not run")
            && e.contains("writable by group or others (mode 0777)"),
        "{e}"
    );
    assert!(h.padmin_calls().is_empty(), "the untrusted padmin ran");
    assert!(
        h.installed("pfile_cron").is_file(),
        "the file is installed; only the reload failed"
    );
    mode(bin, 0o755);
    mode(&fake, 0o775);
    h.input("pfile_cron", &pfile("0x1f000501", 4));
    let o = h.apply(&[cron, "--message-format", "json"], 0);
    assert!(
        errors(&o).contains("fake-padmin is writable by group or others (mode 0775)"),
        "{o:?}"
    );
    assert!(h.padmin_calls().is_empty(), "the untrusted padmin ran");
    mode(&fake, 0o755);

    if !is_root() {
        return skip("padmin owned by another user; no PATH lookup as root");
    }
    chown(&fake, Some(65534), None).unwrap();
    h.input("pfile_cron", &pfile("0x1f000501", 5));
    let o = h.apply(&[cron, "--message-format", "json"], 0);
    assert!(
        errors(&o).contains("fake-padmin is owned by uid 65534"),
        "{o:?}"
    );
    assert!(h.padmin_calls().is_empty(), "the untrusted padmin ran");
    chown(&fake, Some(0), None).unwrap();

    // psctl alone in a directory, a padmin on PATH: as root, PATH is not searched.
    let lone = h.inputs.parent().unwrap().join("lone");
    fs::create_dir_all(&lone).unwrap();
    place_executable(Path::new(PSCTL), &lone.join("psctl"));
    fs::copy(&fake, bin.join("padmin")).unwrap();
    h.input("pfile_cron", &pfile("0x1f000501", 6));
    let o = Command::new(lone.join("psctl"))
        .args(["apply", cron, "--message-format", "json", "--root"])
        .arg(&h.root)
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .env_remove("PSCTL_PADMIN")
        .env("FAKE_PADMIN_LOG", &h.log)
        .output()
        .unwrap();
    assert_eq!(status(&o), 1, "{o:?}");
    assert!(errors(&o).contains("not looked up on PATH"), "{o:?}");
    assert!(h.padmin_calls().is_empty(), "padmin was found on PATH");
    // The trusted one next to psctl is used.
    fs::copy(&fake, lone.join("padmin")).unwrap();
    h.input("pfile_cron", &pfile("0x1f000501", 7));
    let o = Command::new(lone.join("psctl"))
        .args(["apply", cron, "--message-format", "json", "--root"])
        .arg(&h.root)
        .env_remove("PSCTL_PADMIN")
        .env("FAKE_PADMIN_LOG", &h.log)
        .env("FAKE_PADMIN_EXIT", "0")
        .output()
        .unwrap();
    assert_eq!(status(&o), 0, "{o:?}");
    assert_eq!(h.padmin_calls().len(), 1);
}

#[test]
fn the_json_summary_comes_even_on_a_usage_error() {
    for args in [
        vec!["apply", "--message-format", "json"],
        vec!["apply", "x.yaml", "--no-such-flag", "--message-format=json"],
        vec![
            "apply",
            "x.yaml",
            "--check",
            "--message-format",
            "json",
            "--root",
        ],
    ] {
        let o = Command::new(PSCTL).args(&args).output().unwrap();
        assert_eq!(status(&o), 2, "{args:?}: {o:?}");
        let s = summary(&o);
        assert_eq!(s["changed"], false);
        assert_eq!(s["failed"], true);
        let e = strings(&s["errors"]).join("\n");
        assert!(
            e.starts_with("usage: ") && e.contains("nothing was changed"),
            "{e}"
        );
        // clap's own message still goes to stderr.
        assert!(!o.stderr.is_empty());
    }
    // Other formats and other commands keep clap's output only.
    let o = Command::new(PSCTL).args(["apply"]).output().unwrap();
    assert!(o.stdout.is_empty() && status(&o) == 2);
    let o = Command::new(PSCTL)
        .args(["build", "--message-format", "json"])
        .output()
        .unwrap();
    assert!(o.stdout.is_empty() && status(&o) == 2);
}

#[test]
fn diffs_per_file_in_the_shape_ansible_shows() {
    let h = Host::new();
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let sshd = h.input("pfile_sshd", &pfile("0x1f000502", 3));
    let [cron, sshd] = [&cron, &sshd].map(|p| p.to_str().unwrap());
    assert_eq!(status(&h.apply(&[cron, sshd], 2)), 0);
    let old_cron = fs::read_to_string(h.installed("pfile_cron")).unwrap();
    let old_sshd = fs::read_to_string(h.installed("pfile_sshd")).unwrap();
    h.input("pfile_cron", &pfile("0x1f000501", 5));
    let o = h.apply(
        &[
            cron,
            "--prune",
            "--check",
            "--diff",
            "--message-format",
            "json",
        ],
        2,
    );
    assert_eq!(status(&o), 3, "{o:?}");
    let s = summary(&o);
    let diffs = s["diffs"].as_array().unwrap();
    assert_eq!(diffs.len(), 2, "{diffs:?}");
    let d = &diffs[0];
    assert_eq!(d["before_header"], CRON);
    assert_eq!(d["after_header"], CRON);
    assert_eq!(d["before"], old_cron.as_str());
    assert_eq!(d["after"], old_cron.replace(":3:", ":5:").as_str());
    let d = &diffs[1];
    assert_eq!(d["before_header"], "/var/opt/HA/PS/conf/bin/pfile_sshd");
    assert_eq!(d["before"], old_sshd.as_str());
    assert_eq!(d["after"], "");
    // Without --diff there is none (the summary stays small).
    let s = summary(&h.apply(&[cron, "--check", "--message-format", "json"], 2));
    assert!(s.get("diffs").is_none() && s.get("diff").is_none());
}

#[test]
fn check_runs_as_an_unprivileged_user_and_needs_no_padmin() {
    if !is_root() {
        return skip("apply --check as the unprivileged user nobody");
    }
    let h = Host::new();
    let base = h.inputs.parent().unwrap();
    mode(base, 0o755); // a private temporary directory is 0700
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    mode(&cron, 0o644);
    assert_eq!(status(&h.apply(&[cron.to_str().unwrap()], 2)), 0);
    h.input("pfile_cron", &pfile("0x1f000501", 4));
    // As Ansible runs a check: the root is root's, read-only to this user; no padmin at all.
    // (psctl copied where nobody can reach it: the checkout may be under a private home.)
    let psctl = base.join("psctl");
    place_executable(Path::new(PSCTL), &psctl);
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&psctl)
        .args([
            "apply",
            cron.to_str().unwrap(),
            "--check",
            "--diff",
            "--message-format",
            "json",
            "--root",
        ])
        .arg(&h.root)
        .env("PSCTL_PADMIN", "/nonexistent/padmin")
        .current_dir("/")
        .output()
        .unwrap();
    assert_eq!(status(&o), 3, "{o:?}");
    let s = summary(&o);
    assert_eq!(s["changed"], true);
    assert_eq!(strings(&s["written"]), [CRON]);
    assert!(s["diff"]
        .as_str()
        .unwrap()
        .contains("+crond:/etc/init.d/crond restart:86400:4:continue"));
    assert!(
        h.padmin_calls().len() == 1,
        "only the first, real apply reloaded"
    );
}

#[test]
fn a_hard_link_at_a_target_is_never_read() {
    // In a sticky directory anyone may link in a file they cannot read, where the kernel does
    // not forbid it (fs.protected_hardlinks=0); the test plants the link itself.
    let h = Host::new();
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let cron = cron.to_str().unwrap();
    let secret = h.inputs.parent().unwrap().join("secret");
    fs::write(&secret, "TOP-SECRET-42\n").unwrap();
    let target = h.installed("pfile_cron");
    fs::create_dir_all(target.parent().unwrap()).unwrap();
    fs::hard_link(&secret, &target).unwrap();
    let o = h.apply(&[cron, "--diff", "--message-format", "json"], 2);
    assert_eq!(status(&o), 1, "{o:?}");
    assert!(
        errors(&o).contains("a file with other hard links that psctl did not write"),
        "{o:?}"
    );
    let o = h.apply(&[cron, "--force", "--diff", "--message-format", "json"], 2);
    assert_eq!(status(&o), 0, "{o:?}");
    assert!(!stdout(&o).contains("TOP-SECRET"), "{o:?}");
    assert!(
        stdout(&o).contains("(a file with other hard links: not shown)"),
        "{o:?}"
    );
    assert_eq!(fs::read_to_string(&secret).unwrap(), "TOP-SECRET-42\n");
}

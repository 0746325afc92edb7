//! End-to-end tests of `psctl apply` with real files under a scratch `--root` and a fake padmin
//! (tests/fixtures/fake-padmin) that records how it was called.

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

use crate::apply_support::*;
use crate::test::PSCTL;

#[test]
fn first_apply_installs_and_second_apply_writes_nothing() {
    let h = Host::new();
    let input = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let input = input.to_str().unwrap();

    let first = h.apply(&[input, "--message-format", "json"], 2);
    assert_eq!(status(&first), 0, "{first:?}");
    let s = summary(&first);
    assert_eq!(s["changed"], true);
    assert_eq!(strings(&s["written"]), [CRON]);
    assert_eq!(strings(&s["not_running"]), [CRON]);
    assert!(strings(&s["errors"]).is_empty());
    // Host rules: the restart script is missing under the root (a warning, not an error).
    let warnings = strings(&s["warnings"]).join("\n");
    assert!(
        warnings.contains("/etc/init.d/crond cannot be used"),
        "{warnings}"
    );
    let target = h.installed("pfile_cron");
    // apply installs exactly what `psctl build` makes of the input (its canonical form).
    assert_eq!(
        fs::read_to_string(&target).unwrap(),
        h.built(input, "pfile_cron")
    );
    assert!(fs::read_to_string(&target)
        .unwrap()
        .contains("MONITOR_TRY_COUNT     2\n"));
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o644
    );
    assert_eq!(
        h.tree(),
        [MANIFEST.to_owned(), format!("{CONF}/pfile_cron")]
    );
    let manifest = fs::read_to_string(h.root.join(MANIFEST)).unwrap();
    assert!(
        manifest
            .lines()
            .any(|l| l.len() == 64 + 2 + CRON.len() && l.ends_with(&format!("  {CRON}"))),
        "{manifest}"
    );
    // The new pfile's pcheck was asked to reload, by its path under the root.
    let installed = target.to_str().unwrap().to_owned();
    assert_eq!(
        h.padmin_calls(),
        [vec![
            "-f".to_owned(),
            installed,
            "-c".into(),
            "reload".into()
        ]]
    );

    // Age the files so that any rewrite would show in their times.
    let old = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_000_000_000);
    for f in [&target, &h.root.join(MANIFEST)] {
        fs::File::options()
            .write(true)
            .open(f)
            .unwrap()
            .set_modified(old)
            .unwrap();
    }
    let before: Vec<_> = [&target, &h.root.join(MANIFEST)]
        .iter()
        .map(|f| fs::metadata(f).unwrap())
        .map(|m| (m.ino(), m.mtime(), m.ctime()))
        .collect();

    let script = h.root.join("etc/init.d/crond");
    fs::create_dir_all(script.parent().unwrap()).unwrap();
    fs::write(&script, "#!/bin/sh\n").unwrap();
    fs::set_permissions(&script, fs::Permissions::from_mode(0o755)).unwrap();

    let second = h.apply(&[input, "--message-format", "json"], 0);
    assert_eq!(status(&second), 0, "{second:?}");
    let s = summary(&second);
    assert_eq!(s["changed"], false);
    assert!(strings(&s["written"]).is_empty());
    assert_eq!(strings(&s["unchanged"]), [CRON]);
    assert!(strings(&s["reloaded"]).is_empty());
    assert!(strings(&s["warnings"]).is_empty());
    let after: Vec<_> = [&target, &h.root.join(MANIFEST)]
        .iter()
        .map(|f| fs::metadata(f).unwrap())
        .map(|m| (m.ino(), m.mtime(), m.ctime()))
        .collect();
    assert_eq!(before, after);
    assert_eq!(h.padmin_calls().len(), 1, "no reload when nothing changed");
}

#[test]
fn check_reports_with_exit_codes_and_changes_nothing() {
    let h = Host::new();
    let input = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let input = input.to_str().unwrap();

    let o = h.apply(&[input, "--check"], 0);
    assert_eq!(status(&o), 3, "{o:?}");
    assert!(stdout(&o).contains(&format!("would write {CRON}")));
    assert!(h.tree().is_empty(), "--check wrote {:?}", h.tree());
    assert!(h.padmin_calls().is_empty());

    assert_eq!(status(&h.apply(&[input], 2)), 0);
    let installed_v3 = h.built(input, "pfile_cron");
    let o = h.apply(&[input, "--check", "--message-format", "json"], 0);
    assert_eq!(status(&o), 0, "{o:?}");
    assert_eq!(summary(&o)["changed"], false);

    h.input("pfile_cron", &pfile("0x1f000501", 5));
    let o = h.apply(&[input, "--check", "--message-format", "json"], 0);
    assert_eq!(status(&o), 3);
    let s = summary(&o);
    assert_eq!(s["changed"], true);
    assert_eq!(strings(&s["written"]), [CRON]);
    assert_eq!(
        fs::read_to_string(h.installed("pfile_cron")).unwrap(),
        installed_v3
    );
    assert_eq!(h.padmin_calls().len(), 1, "only the real apply reloads");
}

#[test]
fn diff_shows_new_files_and_changes() {
    let h = Host::new();
    let input = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let input = input.to_str().unwrap();

    let o = h.apply(&[input, "--diff", "--check"], 0);
    let out = stdout(&o);
    assert!(
        out.contains(
            "new file mode 100644\n--- /dev/null\n+++ b/var/opt/HA/PS/conf/bin/pfile_cron\n"
        ),
        "{out}"
    );
    assert!(
        out.contains("+crond:/etc/init.d/crond restart:86400:3:continue\n"),
        "{out}"
    );

    assert_eq!(status(&h.apply(&[input], 2)), 0);
    h.input("pfile_cron", &pfile("0x1f000501", 5));
    let o = h.apply(&[input, "--diff"], 0);
    assert_eq!(status(&o), 0, "{o:?}");
    let out = stdout(&o);
    assert!(
        out.contains(
            "--- a/var/opt/HA/PS/conf/bin/pfile_cron\n+++ b/var/opt/HA/PS/conf/bin/pfile_cron\n@@ "
        ),
        "{out}"
    );
    assert!(out.contains("\n-crond:/etc/init.d/crond restart:86400:3:continue\n+crond:/etc/init.d/crond restart:86400:5:continue\n"), "{out}");
    assert_eq!(
        fs::read_to_string(h.installed("pfile_cron")).unwrap(),
        h.built(input, "pfile_cron")
    );

    // In JSON the diff is a field of the summary.
    h.input("pfile_cron", &pfile("0x1f000501", 6));
    let s = summary(&h.apply(&[input, "--diff", "--check", "--message-format", "json"], 0));
    assert!(s["diff"]
        .as_str()
        .unwrap()
        .contains("+crond:/etc/init.d/crond restart:86400:6:continue"));
}

#[test]
fn an_invalid_input_installs_nothing() {
    let h = Host::new();
    let good = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let bad = h.input(
        "pfile_bad",
        "##### PARAM #####\nIPCKEY 0x1f000502\nMONITOR_INTRVAL 10\n",
    );
    let o = h.apply(
        &[
            good.to_str().unwrap(),
            bad.to_str().unwrap(),
            "--message-format",
            "json",
        ],
        0,
    );
    assert_eq!(status(&o), 1, "{o:?}");
    let s = summary(&o);
    assert_eq!(s["changed"], false);
    assert!(!strings(&s["errors"]).is_empty());
    assert!(stdout(&o).contains("MONITOR_INTRVAL"), "{o:?}");
    assert!(h.tree().is_empty(), "wrote {:?}", h.tree());
    assert!(h.padmin_calls().is_empty());

    // A missing input is an I/O error (exit 2), also installing nothing.
    let o = h.apply(&[good.to_str().unwrap(), "/nonexistent/pfile_x"], 0);
    assert_eq!(status(&o), 2, "{o:?}");
    assert!(h.tree().is_empty());
}

#[test]
fn a_symlink_out_of_the_root_leads_inside_it() {
    let h = Host::new();
    let outside = tempfile::tempdir().unwrap();
    fs::create_dir_all(h.root.join("var/opt/HA/PS")).unwrap();
    // Absolute, and relative with more `..` than the tree is deep: both mean a place in the
    // tree, as they would on the target host.
    let abs_target = outside.path().to_str().unwrap().to_owned();
    for target in [
        abs_target.clone(),
        format!("../../../../../../../..{abs_target}"),
    ] {
        let link = h.root.join("var/opt/HA/PS/conf");
        let _ = fs::remove_file(&link);
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
        let o = h.apply(&[cron.to_str().unwrap(), "--message-format", "json"], 2);
        assert_eq!(status(&o), 0, "{o:?}");
        assert_eq!(
            fs::read_dir(outside.path()).unwrap().count(),
            0,
            "wrote outside the root"
        );
        let inside = h
            .root
            .join(abs_target.trim_start_matches('/'))
            .join("bin/pfile_cron");
        assert!(inside.is_file(), "{target}: {:?}", h.tree());
        // What padmin is given is the file as installed, under the root.
        let calls = h.padmin_calls();
        assert_eq!(
            calls.last().unwrap()[1],
            fs::canonicalize(&inside).unwrap().to_str().unwrap()
        );
        fs::remove_dir_all(
            h.root.join(
                abs_target
                    .trim_start_matches('/')
                    .split('/')
                    .next()
                    .unwrap(),
            ),
        )
        .unwrap();
        fs::remove_file(h.root.join(MANIFEST)).unwrap();
    }
}

#[test]
fn stale_files_are_listed_and_removed_only_with_prune() {
    let h = Host::new();
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let sshd = h.input("pfile_sshd", &pfile("0x1f000502", 3));
    let (cron, sshd) = (cron.to_str().unwrap(), sshd.to_str().unwrap());
    assert_eq!(status(&h.apply(&[cron, sshd], 2)), 0);
    let sshd_host = "/var/opt/HA/PS/conf/bin/pfile_sshd";

    let o = h.apply(&[cron, "--message-format", "json"], 0);
    assert_eq!(status(&o), 0, "{o:?}");
    let s = summary(&o);
    assert_eq!(s["changed"], false);
    assert_eq!(strings(&s["stale"]), [sshd_host]);
    assert!(strings(&s["removed"]).is_empty());
    assert!(h.installed("pfile_sshd").exists());

    let o = h.apply(&[cron, "--prune", "--check", "--diff"], 0);
    assert!(
        stdout(&o).contains("would remove /var/opt/HA/PS/conf/bin/pfile_sshd"),
        "{o:?}"
    );
    assert_eq!(status(&o), 3, "{o:?}");
    assert!(stdout(&o).contains(
        "deleted file mode 100644\n--- a/var/opt/HA/PS/conf/bin/pfile_sshd\n+++ /dev/null\n"
    ));
    assert!(h.installed("pfile_sshd").exists());

    let o = h.apply(&[cron, "--prune", "--message-format", "json"], 0);
    assert_eq!(status(&o), 0, "{o:?}");
    let s = summary(&o);
    assert_eq!(s["changed"], true);
    assert_eq!(strings(&s["removed"]), [sshd_host]);
    assert!(!h.installed("pfile_sshd").exists());
    let manifest = fs::read_to_string(h.root.join(MANIFEST)).unwrap();
    assert!(
        !manifest.contains("pfile_sshd") && manifest.contains("pfile_cron"),
        "{manifest}"
    );

    let s = summary(&h.apply(&[cron, "--prune", "--message-format", "json"], 0));
    assert_eq!(s["changed"], false);
    assert!(strings(&s["stale"]).is_empty());
}

#[test]
fn a_wrong_mode_is_repaired() {
    let h = Host::new();
    let input = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let input = input.to_str().unwrap();
    assert_eq!(status(&h.apply(&[input], 2)), 0);
    let target = h.installed("pfile_cron");
    fs::set_permissions(&target, fs::Permissions::from_mode(0o666)).unwrap();
    let o = h.apply(&[input, "--diff", "--message-format", "json"], 2);
    let s = summary(&o);
    assert_eq!(s["changed"], true);
    assert!(s["diff"]
        .as_str()
        .unwrap()
        .contains("old mode 100666\nnew mode 100644\n"));
    assert_eq!(
        fs::metadata(&target).unwrap().permissions().mode() & 0o7777,
        0o644
    );
}

#[test]
fn a_missing_root_is_a_usage_error() {
    let h = Host::new();
    let input = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let o = std::process::Command::new(PSCTL)
        .args([
            "apply",
            input.to_str().unwrap(),
            "--root",
            "/nonexistent/root",
        ])
        .output()
        .unwrap();
    assert_eq!(status(&o), 2, "{o:?}");
}

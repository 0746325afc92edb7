//! The race of issue 9: `psctl apply` runs as root 200 times while the unprivileged user
//! `nobody` swaps symbolic links and directories in a directory apply goes through (a
//! root-owned sticky directory, as /tmp is, which the trust rules accept: there nobody can
//! create names, but not replace root's). Baits outside the root: a secret, and pfiles with
//! psctl's own content that a prune or an overwrite through a link would destroy. Afterwards
//! nothing outside the root was written or deleted, no output showed anything from outside it,
//! and padmin was only ever given paths inside it. Needs root (skipped loudly otherwise).

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use crate::apply_support::*;

const SECRET: &str = "TOP-SECRET-b6f1c0de";
const RUNS: usize = 200;

/// Every file and directory under `dir` with what would show a change to it.
fn snapshot(dir: &Path) -> Vec<(PathBuf, Vec<u8>, i64, i64, u64)> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        let m = fs::symlink_metadata(&p).unwrap();
        let bytes = if m.is_file() {
            fs::read(&p).unwrap()
        } else {
            Vec::new()
        };
        out.push((
            p.clone(),
            bytes,
            m.mtime_nsec() + m.mtime() * 1_000_000_000,
            m.ctime(),
            m.ino(),
        ));
        if m.is_dir() {
            out.extend(snapshot(&p));
        }
    }
    out.sort();
    out
}

/// The attacker: kills its shell loop when dropped, even if the test fails.
struct Attacker(Child);

impl Drop for Attacker {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn links_swapped_by_another_user_during_200_applies_never_lead_outside_the_root() {
    if !rustix::process::geteuid().is_root() {
        eprintln!("SKIPPED (needs root): the apply race against the unprivileged user nobody");
        return;
    }
    let h = Host::new();
    let base = h.inputs.parent().unwrap().to_path_buf();
    fs::set_permissions(&base, fs::Permissions::from_mode(0o755)).unwrap();
    let cron = h.input("pfile_cron", &pfile("0x1f000501", 3));
    let sshd = h.input("pfile_sshd", &pfile("0x1f000502", 3));
    // A service whose files go straight into the sticky directory.
    let web = h.input(
        "web.yaml",
        "name: web\nipckey: 0x1f000503\nconf_dir: /var/opt/HA/PS/conf\nprocesses:\n  - name: nginx\n    \
         restart:\n      stop: nginx -s stop\n      start: nginx\n",
    );
    let [cron, sshd, web] = [&cron, &sshd, &web].map(|p| p.to_str().unwrap().to_owned());

    // Outside the root: a secret, and the very pfiles psctl generates (so that their hash and
    // header would pass for psctl's own), with a marker in the one that differs.
    let outside = base.join("outside");
    let out_bin = outside.join("bin");
    fs::create_dir_all(&out_bin).unwrap();
    fs::write(outside.join("secret"), format!("{SECRET}\n")).unwrap();
    let built = |name: &str, input: &str| h.built(input, name);
    fs::write(out_bin.join("pfile_sshd"), built("pfile_sshd", &sshd)).unwrap();
    fs::write(
        out_bin.join("pfile_cron"),
        built("pfile_cron", &cron) + &format!("# {SECRET}\n"),
    )
    .unwrap();
    fs::write(out_bin.join(".keep"), "").unwrap();
    let before = snapshot(&outside);

    // The way in: a root-owned sticky directory that everyone may create names in.
    let conf = h.root.join("var/opt/HA/PS/conf");
    fs::create_dir_all(&conf).unwrap();
    fs::set_permissions(&conf, fs::Permissions::from_mode(0o1777)).unwrap();
    let bin = conf.join("bin");
    let out_s = out_bin.display().to_string();
    let script = format!(
        r#"C='{conf}'; O='{out_s}'; S='{secret}'
        while :; do
          ln -s "$O" "$C/bin" 2>/dev/null; rm -f "$C/bin" 2>/dev/null
          ln -s "../../../../../../../../../../../..$O" "$C/bin" 2>/dev/null; rm -f "$C/bin" 2>/dev/null
          if mkdir "$C/bin" 2>/dev/null; then
            ln -s "$O/pfile_cron" "$C/bin/pfile_cron"; ln -s "$O/pfile_sshd" "$C/bin/pfile_sshd"
            ln -s "$S" "$C/bin/.psctl-x"; sleep 0.001; rm -rf "$C/bin"
          fi
          ln -s "$O" "$C/bin" 2>/dev/null; sleep 0.002; rm -f "$C/bin" 2>/dev/null
          ln "$S" "$C/pfile_web" 2>/dev/null; ln -s "$S" "$C/restart_nginx.sh" 2>/dev/null # (the hard link only where fs.protected_hardlinks=0)
          sleep 0.001; rm -f "$C/pfile_web" "$C/restart_nginx.sh" 2>/dev/null
        done"#,
        conf = conf.display(),
        secret = outside.join("secret").display(),
    );
    let attacker = Attacker(
        Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "sh",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("setpriv (util-linux) is needed"),
    );

    let (mut ok, mut refused) = (0, 0);
    for i in 0..RUNS {
        // Root's own names go away now and then, so that the race for them starts over.
        if i % 3 == 0 {
            if let Ok(m) = fs::symlink_metadata(&bin) {
                if m.is_dir() && m.uid() == 0 {
                    fs::remove_dir_all(&bin).unwrap();
                }
            }
            for f in ["pfile_web", "restart_nginx.sh"] {
                let p = conf.join(f);
                if fs::symlink_metadata(&p).is_ok_and(|m| m.uid() == 0 && m.nlink() == 1) {
                    fs::remove_file(&p).unwrap();
                }
            }
        }
        let mut args = if i % 2 == 0 {
            vec![cron.as_str(), sshd.as_str(), web.as_str()]
        } else {
            vec![cron.as_str(), "--prune"]
        };
        args.extend(["--diff", "--message-format", "json"]);
        if i % 4 == 0 {
            args.push("--force");
        }
        let o = h.apply(&args, 2);
        let all = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
        assert!(
            !all.contains(SECRET),
            "run {i} printed something from outside the root:\n{all}"
        );
        let s = summary(&o);
        match status(&o) {
            0 => ok += 1,
            1 => {
                refused += 1;
                assert_eq!(s["changed"], false, "run {i}: {all}");
            }
            c => panic!("run {i}: exit {c}: {all}"),
        }
    }
    drop(attacker);

    let after = snapshot(&outside);
    let changed: Vec<_> = after
        .iter()
        .filter(|a| !before.contains(a))
        .chain(before.iter().filter(|b| !after.contains(b)))
        .map(|e| e.0.display().to_string())
        .collect();
    assert!(changed.is_empty(), "changed outside the root: {changed:?}");
    let root = fs::canonicalize(&h.root).unwrap();
    for call in h.padmin_calls() {
        assert!(
            Path::new(&call[1]).starts_with(&root),
            "padmin was given a path outside the root: {call:?}"
        );
    }
    eprintln!("{RUNS} applies: {ok} went through, {refused} refused what nobody had planted");
}

//! `psctl check --host`: restart scripts checked on this machine, with real files and modes.

use std::os::unix::fs::{chown, PermissionsExt};
use std::path::Path;

use crate::test::{psctl, Test};

fn script(dir: &Path, name: &str, mode: u32) -> String {
    let p = dir.join(name);
    std::fs::write(&p, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(mode)).unwrap();
    p.to_str().unwrap().to_owned()
}

fn uid() -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata("/proc/self").unwrap().uid()
}

#[test]
fn host_rules_warn_about_unusable_restart_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = script(d, "good.sh", 0o755);
    let noexec = script(d, "noexec.sh", 0o644);
    let writable = script(d, "writable.sh", 0o777);
    let foreign = script(d, "foreign.sh", 0o755);
    // Another owner than root or the caller: possible to arrange only as root; as an ordinary
    // user, a root-owned file stands in (and must NOT be reported).
    let foreign_reported = uid() == 0;
    if foreign_reported {
        chown(&foreign, Some(65534), None).unwrap();
    } else {
        std::fs::remove_file(&foreign).unwrap();
        std::os::unix::fs::symlink("/bin/sh", &foreign).unwrap();
    }
    let missing = d.join("missing.sh");
    let pfile = d.join("pfile_host");
    std::fs::write(
        &pfile,
        format!(
            "IPCKEY 0x1\na:{good} start:10:1:continue\nb:{noexec}:10:1:continue\nc:{writable}:10:1:continue\nd:{foreign}:10:1:continue\ne:{}:10:1:continue\nf:-:10:1:continue\n",
            missing.display()
        ),
    )
    .unwrap();
    let p = pfile.to_str().unwrap();

    // Without --host, nothing about scripts.
    let out = psctl(&["check", "--message-format", "json", p]);
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());

    let out = psctl(&["check", "--host", "--message-format", "json", p]);
    assert_eq!(out.status.code(), Some(0), "warnings only");
    let got: Vec<(u64, u64, String, String)> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            (
                v["line"].as_u64().unwrap(),
                v["column"].as_u64().unwrap(),
                v["code"].as_str().unwrap().to_owned(),
                v["severity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let w = |line, code: &str| (line, 3, code.to_owned(), "warning".to_owned());
    let mut want = vec![
        w(3, "psctl::host::not_executable"),
        w(4, "psctl::host::writable"),
    ];
    if foreign_reported {
        want.push(w(5, "psctl::host::owner"));
    }
    want.push(w(6, "psctl::host::script_missing"));
    assert_eq!(got, want);

    let out = psctl(&["check", "--host", "--deny-warnings", p]);
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn host_rules_apply_to_description_scripts_too() {
    let t = Test::new();
    let noexec = script(t.dir(), "r.sh", 0o600);
    t.args(["check", "--host", "--message-format", "short", "svc.yaml"])
        .file(
            "svc.yaml",
            format!("name: svc\nipckey: 7\nprocesses:\n  - name: a\n    restart:\n      script: {noexec} --now\n  - name: b\n    restart: {{stop: /bin/false, start: /bin/true}}\n"),
        )
        .run()
        .status(0)
        .stdout("")
        .stderr("svc.yaml:6:15: warning[psctl::host::not_executable]: restart script `[DIR]/r.sh` is not an executable file\n");
}

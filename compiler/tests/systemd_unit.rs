//! `examples/systemd/pcheck@.service` is a valid unit (checked by `systemd-analyze verify`,
//! which scripts/setup-test-deps installs) that treats pcheck's `exit` as a failure.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn unit_text() -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/systemd/pcheck@.service");
    fs::read_to_string(p).unwrap()
}

/// Verifies `text` as `pcheck@cron.service`. systemd-analyze checks that the programs exist and
/// that the `Documentation=` man pages are found, so the binaries are stood in for by scripts
/// and the man pages are the ones `psctl man` writes.
fn verify(text: &str) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let bin = dir.path().join("bin");
    fs::create_dir_all(&bin).unwrap();
    for prog in ["pcheck", "padmin"] {
        fs::write(bin.join(prog), "#!/bin/sh\n").unwrap();
        fs::set_permissions(bin.join(prog), fs::Permissions::from_mode(0o755)).unwrap();
    }
    let man = dir.path().join("man");
    let o = Command::new(env!("CARGO_BIN_EXE_psctl"))
        .args(["man", "--out"])
        .arg(man.join("man1"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{o:?}");
    let units = dir.path().join("units");
    fs::create_dir_all(&units).unwrap();
    let text = text.replace("/opt/HA/PS/bin/", &format!("{}/", bin.display()));
    fs::write(units.join("pcheck@.service"), text).unwrap();
    let instance: PathBuf = units.join("pcheck@cron.service");
    Command::new("systemd-analyze")
        .arg("verify")
        .arg(&instance)
        .current_dir(&units)
        .env("MANPATH", &man)
        .output()
        .expect("systemd-analyze is needed: run scripts/setup-test-deps")
}

#[test]
fn the_unit_verifies_cleanly() {
    let o = verify(&unit_text());
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && stderr.trim().is_empty(),
        "{o:?}\n{stderr}"
    );
}

#[test]
fn the_verifier_catches_a_broken_unit() {
    // Guards the test above against a verifier that accepts anything.
    let broken = unit_text().replace("Restart=on-abnormal", "Restart=sometimes");
    let o = verify(&broken);
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("sometimes"),
        "{o:?}"
    );
}

#[test]
fn exit_is_a_failure_that_is_not_restarted_and_children_survive_a_stop() {
    let text = unit_text();
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    assert!(lines.contains(&"ExecStart=/opt/HA/PS/bin/pcheck -f /var/opt/HA/PS/conf/bin/pfile_%i"));
    assert!(lines.contains(
        &"ExecReload=/opt/HA/PS/bin/padmin -f /var/opt/HA/PS/conf/bin/pfile_%i -c reload"
    ));
    // on-abnormal restarts after signals only: exit status 1 (retry over, `exit`) leaves the
    // unit failed, which is what OnFailure= and cluster managers act on.
    assert!(lines.contains(&"Restart=on-abnormal"));
    assert!(!lines.iter().any(|l| l.starts_with("SuccessExitStatus=")));
    assert!(lines.contains(&"KillMode=process"));
    assert!(lines.iter().any(|l| l.starts_with("#OnFailure=")));
}

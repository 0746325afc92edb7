//! `psctl apply` against a real running pcheck: apply installs a changed pfile under a scratch
//! root, runs the real padmin to reload the pcheck that serves it, and the pcheck shows the new
//! settings (issue 5). Lives here because it needs the runtime's binaries; psctl is found next
//! to them in the target directory, and built first if this crate's tests run alone.

use crate::common::*;
use std::path::PathBuf;
use std::process::Command;

/// padmin copied into the test's own directory: apply runs only a padmin that passes the trust
/// rules (owned by root or the caller, nothing on its path writable by others), which the
/// build directory of a checkout made by another user would not.
fn trusted_padmin(env: &Env) -> PathBuf {
    let p = env.path("padmin");
    // A hard link leaves no descriptor open for writing that a process forked by another
    // test thread could hold at exec time (`Text file busy`); a copy across file systems.
    if !p.exists() && std::fs::hard_link(PADMIN, &p).is_err() {
        std::fs::copy(PADMIN, &p).unwrap();
    }
    p
}

fn description(env: &Env, key: u32, name: &str, action: &str) -> String {
    env.write(
        "svc.yaml",
        &format!(
            "name: svc\nipckey: {key}\nmonitor_interval: 1\nconf_dir: /conf\n\
             dump_file: {}\nprocesses:\n  - name: {name}\n    restart: none\n    \
             retries: 2\n    on_retry_over: {action}\n",
            env.path("dump").display()
        ),
    )
}

#[test]
fn apply_reloads_a_running_pcheck_which_shows_the_new_settings() {
    let env = Env::new("applyreload");
    let key = 0x3000_0000 + (std::process::id() % 0x10000) * 0x10;
    let name = env.name("d");
    let root = env.path("root");
    std::fs::create_dir_all(&root).unwrap();
    let apply = |doc: &str| {
        Command::new(psctl_bin())
            .args(["apply", doc, "--message-format", "json", "--root"])
            .arg(&root)
            .env("PSCTL_PADMIN", trusted_padmin(&env))
            .env("PCHECK_RUNTIME_DIR", &env.runtime)
            .env("PCHECK_SYSLOG_SOCKET", &env.syslog_socket)
            .output()
            .unwrap()
    };

    // First apply: nothing runs yet, so nothing is reloaded.
    let doc = description(&env, key, &name, "continue");
    let o = apply(&doc);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_text(
        &env.norm(&stdout(&o), &[]),
        concat!(
            r#"{"changed":true,"check":false,"errors":[],"failed":false,"kept":[],"not_running":["/conf/pfile_svc"],"reloaded":[],"removed":[],"stale":[],"summary":"apply","unchanged":[],"warnings":[],"written":["/conf/pfile_svc"]}"#,
            "\n"
        ),
    );
    assert_text(&env.norm(&stderr(&o), &[]), "");
    let pfile = root.join("conf/pfile_svc");
    let pfile_s = pfile.to_str().unwrap().to_owned();

    let pid = env.start_daemon(&name);
    env.pcheck(&["-f", &pfile_s]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    let pent = stdout(&env.padmin(&["-f", &pfile_s, "-c", "show pent"]));
    assert_text(&env.norm(&pent, &[]), &format!("pname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"));

    // Change the description: apply installs it and reloads the running pcheck.
    let doc = description(&env, key, &name, "shutdown");
    let o = apply(&doc);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_text(
        &env.norm(&stdout(&o), &[]),
        concat!(
            r#"{"changed":true,"check":false,"errors":[],"failed":false,"kept":[],"not_running":[],"reloaded":["/conf/pfile_svc"],"removed":[],"stale":[],"summary":"apply","unchanged":[],"warnings":[],"written":["/conf/pfile_svc"]}"#,
            "\n"
        ),
    );
    assert_text(&env.norm(&stderr(&o), &[]), "");
    let reload_line = format!("Command execute. [reload] pfile={pfile_s}");
    env.wait_log(&reload_line);
    let pent = stdout(&env.padmin(&["-f", &pfile_s, "-c", "show pent"]));
    assert_text(&env.norm(&pent, &[]), &format!("pname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = shutdown\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"));

    // A second apply changes nothing and reloads nothing.
    let before = env.count_log(&reload_line);
    let o = apply(&doc);
    assert_text(
        &env.norm(&stdout(&o), &[]),
        concat!(
            r#"{"changed":false,"check":false,"errors":[],"failed":false,"kept":[],"not_running":[],"reloaded":[],"removed":[],"stale":[],"summary":"apply","unchanged":["/conf/pfile_svc"],"warnings":[],"written":[]}"#,
            "\n"
        ),
    );
    assert_text(&env.norm(&stderr(&o), &[]), "");
    assert_eq!((before, env.count_log(&reload_line)), (1, 1));

    assert_eq!(
        env.padmin(&["-f", &pfile_s, "-c", "shutdown"])
            .status
            .code(),
        Some(0)
    );
}

/// A pcheck started by hand, shut down (then killed) when dropped.
struct Started(std::process::Child);

impl Drop for Started {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_pcheck_started_with_a_relative_path_is_reloaded_and_its_pfile_never_pruned() {
    let env = Env::new("cwdpfile"); // a tag that is no prefix of another test's
    let key = 0x3100_0000 + (std::process::id() % 0x10000) * 0x10;
    let name = env.name("d");
    let root = env.path("root");
    std::fs::create_dir_all(&root).unwrap();
    let apply = |docs: &[&str], extra: &[&str]| {
        Command::new(psctl_bin())
            .arg("apply")
            .args(docs)
            .args(extra)
            .args(["--message-format", "json", "--root"])
            .arg(&root)
            .env("PSCTL_PADMIN", trusted_padmin(&env))
            .env("PCHECK_RUNTIME_DIR", &env.runtime)
            .env("PCHECK_SYSLOG_SOCKET", &env.syslog_socket)
            .output()
            .unwrap()
    };
    let doc = description(&env, key, &name, "continue");
    let o = apply(&[&doc], &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_text(
        &env.norm(&stdout(&o), &[]),
        concat!(
            r#"{"changed":true,"check":false,"errors":[],"failed":false,"kept":[],"not_running":["/conf/pfile_svc"],"reloaded":[],"removed":[],"stale":[],"summary":"apply","unchanged":[],"warnings":[],"written":["/conf/pfile_svc"]}"#,
            "\n"
        ),
    );
    assert_text(&env.norm(&stderr(&o), &[]), "");
    let pfile = root.join("conf/pfile_svc");
    let sub = root.join("conf/sub");
    std::fs::create_dir_all(&sub).unwrap();

    // `cd conf/sub && pcheck -f ../pfile_svc`
    let pid = env.start_daemon(&name);
    let err = std::fs::File::create(env.path("pcheck-rel.err")).unwrap();
    let _pcheck = Started(
        Command::new(PCHECK)
            .args(["-f", "../pfile_svc"])
            .current_dir(&sub)
            .env("PCHECK_RUNTIME_DIR", &env.runtime)
            .env("PCHECK_SYSLOG_SOCKET", &env.syslog_socket)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap(),
    );
    env.wait_log(&format!("({name} ,pid={pid}) Up"));

    // apply changes the pfile: the pcheck is found, reloaded, and shows the new values.
    let doc = description(&env, key, &name, "shutdown");
    let o = apply(&[&doc], &[]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_text(
        &env.norm(&stdout(&o), &[]),
        concat!(
            r#"{"changed":true,"check":false,"errors":[],"failed":false,"kept":[],"not_running":[],"reloaded":["/conf/pfile_svc"],"removed":[],"stale":[],"summary":"apply","unchanged":[],"warnings":[],"written":["/conf/pfile_svc"]}"#,
            "\n"
        ),
    );
    assert_text(&env.norm(&stderr(&o), &[]), "");
    let pfile_s = pfile.to_str().unwrap();
    let pent = stdout(&env.padmin(&["-f", pfile_s, "-c", "show pent"]));
    assert_text(&env.norm(&pent, &[]), &format!("pname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = shutdown\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"));
    // Any spelling of the file reaches the same pcheck.
    let odd = root.join("conf/sub/../pfile_svc");
    let pent = stdout(&env.padmin(&["-f", odd.to_str().unwrap(), "-c", "show pent"]));
    assert_text(&env.norm(&pent, &[]), &format!("pname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = shutdown\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"));

    // Its description gone, --prune keeps the pfile while its pcheck runs...
    let other = env.write(
        "other.yaml",
        &format!(
            "name: other\nipckey: {}\nconf_dir: /conf\ndump_file: {}\nprocesses:\n  - name: x\n    restart: none\n",
            key + 1,
            env.path("dump2").display()
        ),
    );
    let o = apply(&[&other], &["--prune"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_text(
        &env.norm(&stdout(&o), &[]),
        concat!(
            r#"{"changed":true,"check":false,"errors":[],"failed":false,"kept":["/conf/pfile_svc"],"not_running":["/conf/pfile_other"],"reloaded":[],"removed":[],"stale":["/conf/pfile_svc"],"summary":"apply","unchanged":[],"warnings":["/conf/pfile_svc: stale, but kept: a running pcheck serves it; shut that pcheck down first"],"written":["/conf/pfile_other"]}"#,
            "\n"
        ),
    );
    assert_text(&env.norm(&stderr(&o), &[]), "");
    assert!(pfile.is_file());
    // ... and removes it once that pcheck is shut down.
    assert_eq!(
        env.padmin(&["-f", pfile_s, "-c", "shutdown"]).status.code(),
        Some(0)
    );
    env.wait_log("Shutdown pcheck");
    let o = apply(&[&other], &["--prune"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert_text(
        &env.norm(&stdout(&o), &[]),
        concat!(
            r#"{"changed":true,"check":false,"errors":[],"failed":false,"kept":[],"not_running":[],"reloaded":[],"removed":["/conf/pfile_svc"],"stale":["/conf/pfile_svc"],"summary":"apply","unchanged":["/conf/pfile_other"],"warnings":[],"written":[]}"#,
            "\n"
        ),
    );
    assert_text(&env.norm(&stderr(&o), &[]), "");
    assert!(!pfile.exists());
}

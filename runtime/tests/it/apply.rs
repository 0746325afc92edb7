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

fn summary_of(o: &std::process::Output) -> serde_like::Summary {
    serde_like::parse(stdout(o).lines().last().unwrap_or(""))
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
    let summary = summary_of;

    // First apply: nothing runs yet, so nothing is reloaded.
    let doc = description(&env, key, &name, "continue");
    let o = apply(&doc);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let pfile = root.join("conf/pfile_svc");
    let pfile_s = pfile.to_str().unwrap().to_owned();
    assert!(summary(&o).not_running.contains("/conf/pfile_svc"), "{o:?}");

    let pid = env.start_daemon(&name);
    env.pcheck(&["-f", &pfile_s]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    let pent = stdout(&env.padmin(&["-f", &pfile_s, "-c", "show pent"]));
    assert!(pent.contains("retry_over_act = continue\n"), "{pent}");

    // Change the description: apply installs it and reloads the running pcheck.
    let doc = description(&env, key, &name, "shutdown");
    let o = apply(&doc);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    let s = summary(&o);
    assert!(s.changed && s.reloaded.contains("/conf/pfile_svc"), "{o:?}");
    let reload_line = format!("Command execute. [reload] pfile={pfile_s}");
    env.wait_log(&reload_line);
    let pent = stdout(&env.padmin(&["-f", &pfile_s, "-c", "show pent"]));
    assert!(pent.contains("retry_over_act = shutdown\n"), "{pent}");
    assert!(
        pent.contains(&format!("pid            = {pid}\n")),
        "{pent}"
    );
    assert!(pent.contains("proc_sts       = AVAIL\n"), "{pent}");

    // A second apply changes nothing and reloads nothing.
    let before = env.count_log(&reload_line);
    let o = apply(&doc);
    let s = summary(&o);
    assert!(!s.changed && s.reloaded.is_empty(), "{o:?}");
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
    let s = summary_of(&o);
    assert!(s.changed && s.reloaded.contains("/conf/pfile_svc"), "{o:?}");
    assert!(s.not_running.is_empty(), "{o:?}");
    let pfile_s = pfile.to_str().unwrap();
    let pent = stdout(&env.padmin(&["-f", pfile_s, "-c", "show pent"]));
    assert!(pent.contains("retry_over_act = shutdown\n"), "{pent}");
    // Any spelling of the file reaches the same pcheck.
    let odd = root.join("conf/sub/../pfile_svc");
    let pent = stdout(&env.padmin(&["-f", odd.to_str().unwrap(), "-c", "show pent"]));
    assert!(pent.contains("retry_over_act = shutdown\n"), "{pent}");

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
    let line = stdout(&o);
    assert!(line.contains("\"kept\":[\"/conf/pfile_svc\"]"), "{line}");
    assert!(line.contains("shut that pcheck down first"), "{line}");
    assert!(pfile.is_file());
    // ... and removes it once that pcheck is shut down.
    assert_eq!(
        env.padmin(&["-f", pfile_s, "-c", "shutdown"]).status.code(),
        Some(0)
    );
    env.wait_log("Shutdown pcheck");
    let o = apply(&[&other], &["--prune"]);
    assert_eq!(o.status.code(), Some(0), "{o:?}");
    assert!(
        stdout(&o).contains("\"removed\":[\"/conf/pfile_svc\"]"),
        "{o:?}"
    );
    assert!(!pfile.exists());
}

/// Just enough of the JSON summary line for these assertions, without a JSON dependency in the
/// runtime crate: the fields are found as text.
mod serde_like {
    pub struct Summary {
        pub changed: bool,
        pub reloaded: String,
        pub not_running: String,
    }

    fn array(line: &str, key: &str) -> String {
        let start = line
            .find(&format!("\"{key}\":["))
            .map(|i| i + key.len() + 4);
        start
            .and_then(|s| line[s..].find(']').map(|e| line[s..s + e].to_owned()))
            .unwrap_or_default()
    }

    pub fn parse(line: &str) -> Summary {
        assert!(
            line.contains("\"summary\":\"apply\""),
            "not a summary: {line}"
        );
        Summary {
            changed: line.contains("\"changed\":true"),
            reloaded: array(line, "reloaded"),
            not_running: array(line, "not_running"),
        }
    }
}

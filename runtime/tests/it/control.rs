//! End-to-end tests of the control channel, padmin, signals, pfiles and syslog fallback.

use crate::common::*;
use std::time::Duration;

#[test]
fn second_pcheck_with_the_same_ipckey_is_refused() {
    let env = Env::new("samekey");
    let (_, pfile, _, _, pcpid) = setup(&env, 11, "{name}:{script}:86400:3:continue", &[]);
    let o = env.pcheck_run(&["-f", &pfile]);
    assert_eq!(o.status.code(), Some(2));
    assert_text(&env.norm(&stderr(&o), &[]), &format!(
            "pcheck: IPCKEY 0x{k:08x} is already held by a live pcheck:\nipckey   = 0x{k:08x}\nmypid    = {pcpid}\nmyname   = pcheck\npfile    = [DIR]/pfile_t\nmessage  = start\n",
            k = key(11)
        ),);
    // the first one still answers
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "show pent"]).status.code(),
        Some(0)
    );
}

#[test]
fn stale_socket_is_replaced() {
    let env = Env::new("stalesocket");
    std::fs::create_dir_all(&env.runtime).unwrap();
    let sock = env.runtime.join(format!("pcheck-0x{:08x}.sock", key(12)));
    drop(std::os::unix::net::UnixListener::bind(&sock).unwrap()); // left behind, as by a crash
    assert!(sock.exists());
    let (_, _, _, _, pcpid) = setup(&env, 12, "{name}:{script}:86400:3:continue", &[]);
    let l = stdout(&env.padmin(&["-l"]));
    assert_text(&env.norm(&l, &[]), &format!(
            "ipckey   = 0x{:08x}\nmypid    = {pcpid}\nmyname   = pcheck\npfile    = [DIR]/pfile_t\nmessage  = start\n",
            key(12)
        ),);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&sock).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn padmin_against_a_dead_pcheck_shows_the_dump() {
    let env = Env::new("deadpcheck");
    let (name, pfile, _, pid, pcpid) = setup(&env, 13, "{name}:{script}:86400:3:continue", &[]);
    signal(pcpid, "KILL");
    wait_for(
        || env.padmin(&["-l"]).stdout.is_empty().then_some(()),
        "pcheck gone",
    );
    let no_pcheck = format!(
        "padmin: no pcheck serves {pfile} (IPCKEY 0x{:08x})\n",
        key(13)
    );
    let o = env.padmin(&["-f", &pfile, "-c", "show pent"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), no_pcheck);
    assert_text(
        &env.norm(&stdout(&o), &[]),
        &format!("# pcheck is not running; last dump [DIR]/dump_pfile_t (pcheck pid {pcpid}), written [TIME], [TIME] s ago\npname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"),
    );
    let o = env.padmin(&["-f", &pfile, "-c", "shutdown"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(stderr(&o), no_pcheck);
    let missing = env.path("missing").display().to_string();
    let o = env.padmin(&["-f", &missing, "-c", "reload"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        format!(
            "error: cannot read {missing}: No such file or directory (os error 2)\n\
             padmin: no pcheck serves {missing} (and it is not a valid pfile)\n"
        )
    );
}

#[test]
fn sigterm_ends_pcheck() {
    let env = Env::new("sigterm");
    let (_, _, pc, _, pcpid) = setup(&env, 14, "{name}:{script}:86400:3:continue", &[]);
    signal(pcpid, "TERM");
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(5)), Some(0));
    env.wait_log(&format!("pcheck[{pcpid}]: Shutdown pcheck"));
    // SIGINT too, and the socket is gone so that a new pcheck can start at once
    let pfile = env.path("pfile_t").display().to_string();
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    wait_for(
        || (!stdout(&env.padmin(&["-l"])).is_empty()).then_some(()),
        "second pcheck",
    );
    signal(pcpid, "INT");
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(5)), Some(0));
    env.wait_log(&format!("pcheck[{pcpid}]: Shutdown pcheck"));
}

#[test]
fn sighup_and_reload_apply_a_new_pfile_and_refuse_a_broken_one() {
    let env = Env::new("reload");
    let (name, pfile, _, pid, pcpid) = setup(&env, 15, "{name}:{script}:86400:3:continue", &[]);
    let other = env.name("o");
    let opid = env.start_daemon(&other);
    let text = std::fs::read_to_string(&pfile).unwrap();
    std::fs::write(&pfile, format!("{text}{other}:-:0:0:continue\n")).unwrap();
    signal(pcpid, "HUP");
    env.wait_log(&format!("({other} ,pid={opid}) Up"));
    let param = stdout(&env.padmin(&["-f", &pfile, "-c", "show param"]));
    assert_text(&env.norm(&param, &[]), "MSG_CHECK_INTERVAL = 5\nMONITOR_INTERVAL   = 1\nMONITOR_TRY_COUNT  = 2\nSHM_DUMP_FILE      = [DIR]/dump_pfile_t\nPFILE              = [DIR]/pfile_t\nMESSAGE_BOX        = start\nMONITOR_STOP_COUNT = 0\nFAIL_PROC_COUNT    = 0\nALL_PROC_COUNT     = 2\n");
    // a broken pfile is refused with its diagnostics; the running configuration stays
    std::fs::write(&pfile, format!("{text}{other}:-:abc:0:continue\n")).unwrap();
    let o = env.padmin(&["-f", &pfile, "-c", "reload"]);
    assert_eq!(o.status.code(), Some(1));
    // the location of the bad value: line 9, past `{other}:-:` (the name's length varies
    // with the test's pid)
    assert_text(
        &env.norm(&stderr(&o), &[]),
        &format!("error[psctl::value::not_a_number] at [DIR]/pfile_t:9:{}: a number was expected\n  = note: the file is not a valid pfile (or not one of yours), so its text is not shown; `psctl check FILE` shows the details to whoever may read it\npadmin: [reload] refused by pcheck for [DIR]/pfile_t\n",
            other.len() + 4
        ),
    );
    let pent = stdout(&env.padmin(&["-f", &pfile, "-c", "show pent"]));
    assert_text(
        &env.norm(&pent, &[]),
        &format!("pname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n\npname          = {other}\npid            = {opid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 2\nmonitor_sts    = on\n"),
    );
    assert_eq!(env.count_log("Command execute. [reload]"), 0);
}

#[test]
fn bad_pfile_is_refused_at_start_with_diagnostics() {
    let env = Env::new("badpfile");
    let pfile = env.write(
        "pfile_bad",
        "IPCKEY 0x1\nMONITOR_INTERVALL 10\nx:-:1:1:continue\n",
    );
    let o = env.pcheck_run(&["-f", &pfile]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    // A file with errors is not known to be a pfile: its words are not quoted (issue 8,
    // finding 6), only codes, places and what `psctl check` would tell.
    assert!(!err.contains("MONITOR_INTERVALL"), "{err}");
    assert_text(
        &env.norm(&err, &[]),
        "error[psctl::pfile::unknown_key] at [DIR]/pfile_bad:2:1: unknown PARAM key\n  = note: the file is not a valid pfile (or not one of yours), so its text is not shown; `psctl check FILE` shows the details to whoever may read it\npcheck: [DIR]/pfile_bad is not a valid pfile; not started\n",
    );
    let o = env.pcheck_run(&["-f", &env.path("nope").display().to_string()]);
    assert_eq!(o.status.code(), Some(2));
    // The path once, as padmin says it (padmin_against_a_dead_pcheck_shows_the_dump).
    assert_text(
        &env.norm(&stderr(&o), &[]),
        "error: cannot read [DIR]/nope: No such file or directory (os error 2)\n\
         pcheck: [DIR]/nope could not be read; not started\n",
    );
    let o = env.pcheck_run(&[]);
    assert_eq!(o.status.code(), Some(2));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        "pcheck: usage: pcheck -f PFILE [--restart-timeout SECONDS] [--metrics-file PATH]\n",
    );
}

#[test]
fn syslog_unreachable_falls_back_to_stderr() {
    let env = Env::new("nosyslog");
    let name = env.name("d");
    let pfile = env.pfile("pfile_t", key(17), 1, &[format!("{name}:-:0:0:continue")]);
    let pid = env.start_daemon(&name);
    let o = std::process::Command::new(PCHECK)
        .args(["-f", &pfile])
        .env("PCHECK_RUNTIME_DIR", &env.runtime)
        .env("PCHECK_SYSLOG_SOCKET", env.path("no-such-socket"))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    wait_for(
        || (!stdout(&env.padmin(&["-l"])).is_empty()).then_some(()),
        "pcheck up",
    );
    let o_pid = o.id();
    signal(o_pid as i32, "TERM");
    let out = o.wait_with_output().unwrap();
    let err = stderr(&out);
    assert_eq!(err.matches("is not reachable").count(), 1, "{err}");
    assert_text(
        &env.norm(&err, &[]),
        &format!(
            "pcheck: syslog socket [DIR]/no-such-socket is not reachable (No such file or directory (os error 2)); logging to stderr\n\
             [TIME] pcheck[{o_pid}]: Start pcheck pfile=[DIR]/pfile_t ipckey=0x{:08x} entries=1\n\
             [TIME] pcheck[{o_pid}]: ({name} ,pid={pid}) Up\n\
             [TIME] pcheck[{o_pid}]: Shutdown pcheck\n",
            key(17)
        ),
    );
}

#[test]
fn other_users_are_refused() {
    // Only root can run padmin as another user; an unprivileged run has nothing more to check
    // here (its own uid is accepted by every other test).
    if !rustix_is_root() {
        return;
    }
    let env = Env::new("peercred");
    let (_, pfile, _, _, _) = setup(&env, 18, "{name}:{script}:86400:3:continue", &[]);
    // padmin as user nobody.
    let padmin_as_nobody = || {
        std::process::Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups", PADMIN])
            .args(["-f", &pfile, "-c", "stop"])
            .env("PCHECK_RUNTIME_DIR", &env.runtime)
            .env("PCHECK_SYSLOG_SOCKET", &env.log_path)
            .output()
            .unwrap()
    };
    let o = padmin_as_nobody();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_text(&env.norm(&stderr(&o), &[]), &format!(
            "padmin: [DIR]/run/pcheck-0x{:08x}.sock: Permission denied (os error 13)\n\
             padmin: [stop] refused: pcheck answers only its own user and root, and padmin believes only those\n",
            key(18)
        ));
    // Even through a socket opened up by mistake, SO_PEERCRED keeps other users out.
    use std::os::unix::fs::PermissionsExt;
    let sock = env.runtime.join(format!("pcheck-0x{:08x}.sock", key(18)));
    std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o666)).unwrap();
    let o = padmin_as_nobody();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        &format!(
            "padmin: [DIR]/run/pcheck-0x{:08x}.sock: permission denied: not pcheck's user nor root\n\
             padmin: [stop] refused: pcheck answers only its own user and root, and padmin believes only those\n",
            key(18)
        ),
    );
    let param = stdout(&env.padmin(&["-f", &pfile, "-c", "show param"]));
    assert_text(&env.norm(&param, &[]), "MSG_CHECK_INTERVAL = 5\nMONITOR_INTERVAL   = 1\nMONITOR_TRY_COUNT  = 2\nSHM_DUMP_FILE      = [DIR]/dump_pfile_t\nPFILE              = [DIR]/pfile_t\nMESSAGE_BOX        = start\nMONITOR_STOP_COUNT = 0\nFAIL_PROC_COUNT    = 0\nALL_PROC_COUNT     = 1\n");
}

fn rustix_is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| std::os::unix::fs::MetadataExt::uid(&m) == 0)
        .unwrap_or(false)
}

#[test]
fn usage_errors_exit_2() {
    use std::os::unix::ffi::OsStrExt;
    let env = Env::new("usage");
    let usage = "usage: padmin [--format text|json] -l
       padmin -f PFILE -c COMMAND [--format text|json]
       padmin --metrics
";
    for (args, why) in [
        (&[][..], ""),
        (&["-f", "x"], "padmin: -f needs -c COMMAND\n"),
        (
            &["-f", "x", "-c", "bogus"],
            "padmin: unknown command `bogus`\n",
        ),
        // `-l` stands alone: with anything else, it is the argument out of place.
        (&["-l", "extra"], "padmin: unexpected argument `-l`\n"),
    ] {
        let o = env.padmin(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(stderr(&o), format!("{why}{usage}"), "{args:?}");
        assert_eq!(stdout(&o), "", "{args:?}");
    }
    let bad = std::ffi::OsStr::from_bytes(b"/tmp/\xff");
    let o = std::process::Command::new(PADMIN)
        .arg("-f")
        .arg(bad)
        .args(["-c", "reload"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = std::process::Command::new(PCHECK)
        .arg("-f")
        .arg(bad)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let o = env.pcheck_run(&["-f", "x", "--restart-timeout", "0"]);
    assert_eq!(o.status.code(), Some(2));
}

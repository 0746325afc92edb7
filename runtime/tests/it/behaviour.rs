//! End-to-end behaviour of the monitoring itself: actions, scripts, grace windows, discovery.

use crate::common::*;
use std::time::{Duration, Instant};

#[test]
fn exit_action_exits_1() {
    let env = Env::new("exitaction");
    let (name, _, pc, pid, pcpid) = setup(&env, 1, "{name}:{script}:0:0:exit", &[]);
    kill(pid);
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(5)), Some(1));
    env.wait_log(&format!("({name}) RETRY_OVER:EXIT"));
    env.wait_log("Shutdown pcheck");
    // pcheck has exited: the test caused every line it logged.
    assert_lines(
        &env.norm_log(&[]),
        &[
            format!(
                "pcheck[{pcpid}]: Start pcheck pfile=[DIR]/pfile_t ipckey=0x{:08x} entries=1",
                key(1)
            ),
            format!("pcheck[{pcpid}]: ({name} ,pid={pid}) Up"),
            format!("pcheck[{pcpid}]: Process [{name}, pid={pid}] Down"),
            format!("pcheck[{pcpid}]: ({name}) RETRY_OVER:EXIT"),
            format!("pcheck[{pcpid}]: Shutdown pcheck"),
        ],
    );
}

#[test]
fn shutdown_action_exits_0() {
    let env = Env::new("shutdownaction");
    let (name, _, pc, pid, pcpid) = setup(&env, 2, "{name}:{script}:0:0:shutdown", &[]);
    kill(pid);
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(5)), Some(0));
    env.wait_log(&format!("({name}) RETRY_OVER:SHUTDOWN"));
    env.wait_log("Shutdown pcheck");
    // pcheck has exited: the test caused every line it logged.
    assert_lines(
        &env.norm_log(&[]),
        &[
            format!(
                "pcheck[{pcpid}]: Start pcheck pfile=[DIR]/pfile_t ipckey=0x{:08x} entries=1",
                key(2)
            ),
            format!("pcheck[{pcpid}]: ({name} ,pid={pid}) Up"),
            format!("pcheck[{pcpid}]: Process [{name}, pid={pid}] Down"),
            format!("pcheck[{pcpid}]: ({name}) RETRY_OVER:SHUTDOWN"),
            format!("pcheck[{pcpid}]: Shutdown pcheck"),
        ],
    );
}

#[test]
fn stop_and_start() {
    let env = Env::new("stopstart");
    let (name, pfile, _, pid, pcpid) = setup(&env, 3, "{name}:{script}:86400:3:continue", &[]);
    let o = env.padmin(&["-f", &pfile, "-c", "stop"]);
    assert_eq!(o.status.code(), Some(0));
    env.wait_log(&format!(": Command execute. [stop] pfile={pfile}"));
    let o = env.padmin(&["-f", &pfile, "-c", "show", "param"]);
    let param = stdout(&o);
    assert_text(
        &env.norm(&param, &[]),
        "MSG_CHECK_INTERVAL = 5\nMONITOR_INTERVAL   = 1\nMONITOR_TRY_COUNT  = 2\nSHM_DUMP_FILE      = [DIR]/dump_pfile_t\nPFILE              = [DIR]/pfile_t\nMESSAGE_BOX        = stop\nMONITOR_STOP_COUNT = 1\nFAIL_PROC_COUNT    = 0\nALL_PROC_COUNT     = 1\n",
    );
    assert_text(
        &env.norm(&stdout(&env.padmin(&["-l"])), &[]),
        &format!(
            "ipckey   = 0x{:08x}\nmypid    = {pcpid}\nmyname   = pcheck\npfile    = [DIR]/pfile_t\nmessage  = stop\n",
            key(3)
        ),
    );
    let pent = stdout(&env.padmin(&["-f", &pfile, "-c", "show", "pent"]));
    assert_text(&env.norm(&pent, &[]), &format!("pname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = off\n"));
    // a death while stopped is not acted on
    kill(pid);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(env.count_log("Down"), 0);
    assert!(pids_named(&name).is_empty());
    // start: searched again, not found, restarted
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "start"]).status.code(),
        Some(0)
    );
    env.wait_log(&format!("Set pid fail ({name})"));
    env.wait_log(&format!("Try to restart ({name})"));
    let new = wait_for(|| pids_named(&name).first().copied(), "restart");
    env.wait_log(&format!("({name} ,pid={new}) Up"));
    let param = stdout(&env.padmin(&["-f", &pfile, "-c", "show", "param"]));
    assert_text(
        &env.norm(&param, &[]),
        "MSG_CHECK_INTERVAL = 5\nMONITOR_INTERVAL   = 1\nMONITOR_TRY_COUNT  = 2\nSHM_DUMP_FILE      = [DIR]/dump_pfile_t\nPFILE              = [DIR]/pfile_t\nMESSAGE_BOX        = start\nMONITOR_STOP_COUNT = 0\nFAIL_PROC_COUNT    = 0\nALL_PROC_COUNT     = 1\n",
    );
}

#[test]
fn report_only_entry() {
    let env = Env::new("reportonly");
    let (name, pfile, _, pid, pcpid) = setup(&env, 4, "{name}:-:86400:3:exit", &[]);
    kill(pid);
    env.wait_log(&format!("Process [{name}, pid={pid}] Down"));
    std::thread::sleep(Duration::from_millis(300));
    assert!(pids_named(&name).is_empty(), "nothing restarts it");
    assert_eq!(env.count_log("Try to restart"), 0);
    let pent = stdout(&env.padmin(&["-f", &pfile, "-c", "show pent"]));
    assert_text(&env.norm(&pent, &[]), &format!("pname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = DOWN\nretry_over_act = exit\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"));
    let back = env.start_daemon(&name);
    env.wait_log(&format!("({name} ,pid={back}) Up"));
    // No script, no padmin command: the test caused every line pcheck logged.
    assert_lines(
        &env.norm_log(&[]),
        &[
            format!(
                "pcheck[{pcpid}]: Start pcheck pfile=[DIR]/pfile_t ipckey=0x{:08x} entries=1",
                key(4)
            ),
            format!("pcheck[{pcpid}]: ({name} ,pid={pid}) Up"),
            format!("pcheck[{pcpid}]: Process [{name}, pid={pid}] Down"),
            format!("pcheck[{pcpid}]: ({name} ,pid={back}) Up"),
        ],
    );
    let pent = stdout(&env.padmin(&["-f", &pfile, "-c", "show pent"]));
    assert_text(
        &env.norm(&pent, &[]),
        &format!("pname          = {name}\npid            = {back}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = exit\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"),
    );
}

#[test]
fn failing_script() {
    let env = Env::new("failingscript");
    let name = env.name("d");
    let script = env.script("fail.sh", "echo failing >&2\nexit 3");
    let (_, pfile, _, pid, _) = setup(&env, 5, &format!("{{name}}:{script}:86400:2:continue"), &[]);
    kill(pid);
    env.wait_log(&format!("({name}) RETRY_OVER:CONTINUE"));
    assert_eq!(
        env.count_log(&format!("Restart script of ({name}) exited with status 3")),
        2
    );
    assert_eq!(env.count_log(&format!("Set pid fail ({name})")), 2);
    let pent = stdout(&env.padmin(&["-f", &pfile, "-c", "show pent"]));
    assert_text(
        &env.norm(&pent, &[]),
        &format!("pname          = {name}\npid            = {pid}\nretry_count    = 2\nrestart_count  = 2\nproc_sts       = RETRY_OVER\nretry_over_act = continue\nrerun_time     = [TIME]\npent_id        = 1\nmonitor_sts    = on\n"),
    );
}

#[test]
fn hanging_script_is_killed_with_its_group() {
    let env = Env::new("hangingscript");
    let name = env.name("d");
    let hang = env.name("hang");
    // The script starts a helper in its own group, then hangs.
    let script = env.script(
        "hang.sh",
        &format!("(exec -a {hang} sleep 1000) &\nexec -a {hang} sleep 1000"),
    );
    let (_, _, _, pid, _) = setup(
        &env,
        6,
        &format!("{{name}}:{script}:86400:1:continue"),
        &["--restart-timeout", "1"],
    );
    kill(pid);
    wait_for(
        || (pids_named(&hang).len() == 2).then_some(()),
        "hanging script",
    );
    let t = Instant::now();
    env.wait_log(&format!(
        "Restart script of ({name}) timed out after 1 s; killed with its group"
    ));
    assert!(t.elapsed() < Duration::from_secs(3));
    env.wait_log(&format!("Set pid fail ({name})"));
    env.wait_log(&format!("({name}) RETRY_OVER:CONTINUE"));
    wait_for(
        || pids_named(&hang).is_empty().then_some(()),
        "group killed",
    );
}

#[test]
fn slow_script_does_not_delay_another_entry() {
    let env = Env::new("independent");
    let slow = env.name("slow");
    let fast = env.name("fast");
    let slow_script = env.script("slow.sh", &format!("exec -a {}x sleep 5", env.tag));
    let fast_script = env.restart_script(&fast);
    let pfile = env.pfile(
        "pfile_t",
        key(7),
        1,
        &[
            format!("{slow}:{slow_script}:86400:3:continue"),
            format!("{fast}:{fast_script}:86400:3:continue"),
        ],
    );
    let s = env.start_daemon(&slow);
    let f = env.start_daemon(&fast);
    env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({fast} ,pid={f}) Up"));
    env.wait_log(&format!("({slow} ,pid={s}) Up"));
    kill(s);
    env.wait_log(&format!("Try to restart ({slow})"));
    let t = Instant::now();
    kill(f);
    let nf = wait_for(|| pids_named(&fast).first().copied(), "fast restart");
    env.wait_log(&format!("({fast} ,pid={nf}) Up"));
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "the slow script held up the other entry"
    );
}

#[test]
fn grace_window_expires_and_resets_the_count() {
    let env = Env::new("grace");
    let (name, pfile, _, pid, _) = setup(&env, 8, "{name}:{script}:2:1:continue", &[]);
    kill(pid);
    let p2 = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != pid),
        "restart 1",
    );
    env.wait_log(&format!("({name} ,pid={p2}) Up"));
    std::thread::sleep(Duration::from_millis(3100));
    kill(p2);
    env.wait_log_n(&format!("Try to restart ({name})"), 2);
    let p3 = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != p2),
        "restart 2",
    );
    env.wait_log(&format!("({name} ,pid={p3}) Up"));
    assert_eq!(env.count_log("RETRY_OVER:CONTINUE"), 0);
    let pent = stdout(&env.padmin(&["-f", &pfile, "-c", "show pent"]));
    assert_text(&env.norm(&pent, &[]), &format!("pname          = {name}\npid            = {p3}\nretry_count    = 0\nrestart_count  = 1\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = [TIME]\npent_id        = 1\nmonitor_sts    = on\n"));
    // within the window, the next death is the retry over
    kill(p3);
    env.wait_log(&format!("({name}) RETRY_OVER:CONTINUE"));
}

#[test]
fn daemon_that_forks_and_exits_is_found_again() {
    let env = Env::new("forks");
    let name = env.name("d");
    // The first instance forks a copy of itself and exits, as a daemon does.
    let inner = format!("sleep 0.5; (exec -a {name} sleep 100000) & exit 0");
    std::process::Command::new("setsid")
        .args([
            "-f",
            "bash",
            "-c",
            &format!("exec -a {name} bash -c '{inner}'"),
        ])
        .status()
        .unwrap();
    let first = wait_for(|| pids_named(&name).first().copied(), "first");
    // Its restart script daemonizes the same way (no setsid: stays in the script's group).
    let script = env.script(
        "restart.sh",
        &format!(
            "bash -c '(exec -a {name} sleep 100000) & exit 0' </dev/null >/dev/null 2>&1\nexit 0"
        ),
    );
    let pfile = env.pfile(
        "pfile_t",
        key(9),
        1,
        &[format!("{name}:-:86400:3:continue")],
    );
    let pc = env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={first}) Up"));
    env.wait_log(&format!("Process [{name}, pid={first}] Down"));
    let child = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != first),
        "forked child",
    );
    env.wait_log(&format!("({name} ,pid={child}) Up"));
    let o = env.padmin(&["-f", &pfile, "-c", "shutdown"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(5)), Some(0));
    // Now with a restart script whose daemon outlives it in its process group.
    let pfile2 = env.pfile(
        "pfile_u",
        key(10),
        1,
        &[format!("{name}:{script}:86400:3:continue")],
    );
    env.pcheck(&["-f", &pfile2]);
    env.wait_log_n(&format!("({name} ,pid={child}) Up"), 2);
    kill(child);
    env.wait_log(&format!("Try to restart ({name})"));
    let again = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != child),
        "restarted",
    );
    env.wait_log(&format!("({name} ,pid={again}) Up"));
}

#[test]
fn missing_at_start_is_set_pid_fail_then_restarted() {
    let env = Env::new("missing");
    let name = env.name("d");
    let script = env.restart_script(&name);
    let pfile = env.pfile(
        "pfile_t",
        key(16),
        1,
        &[format!("{name}:{script}:86400:3:continue")],
    );
    env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("Set pid fail ({name})"));
    env.wait_log(&format!("Try to restart ({name})"));
    let pid = wait_for(|| pids_named(&name).first().copied(), "started");
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    assert_eq!(
        env.count_log("Down"),
        0,
        "no Down line for a process never seen"
    );
}

#[test]
fn a_zombie_is_dead_at_once() {
    // The daemon's parent never reaps it, so its death leaves a zombie (spec 3.2).
    let env = Env::new("zombie");
    let name = env.name("d");
    let parent = env.name("parent");
    let pfile = env.pfile("pfile_t", key(19), 1, &[format!("{name}:-:0:0:continue")]);
    std::process::Command::new("setsid")
        .args([
            "-f",
            "bash",
            "-c",
            &format!("(exec -a {name} sleep 100000) & exec -a {parent} sleep 100000"),
        ])
        .status()
        .unwrap();
    let pid = wait_for(|| pids_named(&name).first().copied(), "daemon");
    let pcpid = env.pcheck_pid(env.pcheck(&["-f", &pfile]));
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    kill(pid);
    let t = Instant::now();
    env.wait_log(&format!("Process [{name}, pid={pid}] Down"));
    assert!(
        t.elapsed() < Duration::from_millis(900),
        "noticed before the next scan"
    );
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    assert!(
        stat.rsplit_once(')')
            .unwrap()
            .1
            .trim_start()
            .starts_with('Z'),
        "{stat}"
    );
    // and the zombie is not taken for a live process by the scans that follow
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(env.count_log("Up"), 1);
    // No script, no padmin command: the test caused every line pcheck logged.
    assert_lines(
        &env.norm_log(&[]),
        &[
            format!(
                "pcheck[{pcpid}]: Start pcheck pfile=[DIR]/pfile_t ipckey=0x{:08x} entries=1",
                key(19)
            ),
            format!("pcheck[{pcpid}]: ({name} ,pid={pid}) Up"),
            format!("pcheck[{pcpid}]: Process [{name}, pid={pid}] Down"),
        ],
    );
}

#[test]
fn a_script_others_could_change_is_not_run() {
    // pcheck runs restart scripts with its own privileges (root, usually): a script writable by
    // others is refused, the attempt counts as failed, and the script never runs.
    let env = Env::new("unsafescript");
    let name = env.name("d");
    let ran = env.path("ran");
    let script = env.script("open.sh", &format!("touch {}", ran.display()));
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o777)).unwrap();
    let (_, _, _, pid, _) = setup(
        &env,
        40,
        &format!("{{name}}:{script}:86400:1:continue"),
        &[],
    );
    kill(pid);
    env.wait_log(&format!("({name}) RETRY_OVER:CONTINUE"));
    assert_eq!(
        env.count_log(&format!(
            "Restart script of ({name}) not run: {script} is group- or world-writable (mode 0777)"
        )),
        1,
        "{:?}",
        env.log()
    );
    assert_eq!(env.count_log(&format!("Set pid fail ({name})")), 1);
    assert!(!ran.exists(), "the unsafe script ran");
}

//! Spec 7 end to end: the real pcheck and padmin against real processes, with pfiles using the
//! documented extensions (`docs/extensions.md`): a SIGSTOPped daemon found stalled and
//! restarted, a tcp check against a loopback listener, three instances of which one is killed,
//! a two-member group restarted once, and the backoff spacing read from log timestamps.

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use serde_json::Value;

/// Starts a stand-in daemon called `name`, detached; with `ignore_term` it ignores SIGTERM (an
/// ignored signal stays ignored across exec), so only SIGKILL ends it.
fn start_named(env: &Env, name: &str, ignore_term: bool) -> i32 {
    let before = pids_named(name);
    let trap = if ignore_term { "trap '' TERM; " } else { "" };
    Command::new("setsid")
        .args([
            "-f",
            "bash",
            "-c",
            &format!("{trap}exec -a {name} sleep 100000"),
        ])
        .stdin(Stdio::null())
        .status()
        .unwrap();
    let _ = env;
    wait_for(
        || pids_named(name).into_iter().find(|p| !before.contains(p)),
        "daemon start",
    )
}

/// `show pent --format json`, validated against schemas/padmin.schema.json.
fn schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let text = include_str!("../../../schemas/padmin.schema.json");
        jsonschema::validator_for(&serde_json::from_str(text).unwrap()).unwrap()
    })
}

fn json(env: &Env, pfile: &str) -> Value {
    let v = schema();
    let o = env.padmin(&["-f", pfile, "--format", "json", "-c", "show pent"]);
    assert!(o.status.success(), "{}", stderr(&o));
    validated(v, &stdout(&o))
}

fn validated(v: &jsonschema::Validator, text: &str) -> Value {
    let j: Value = serde_json::from_str(text).unwrap();
    let errors: Vec<String> = v.iter_errors(&j).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{j}");
    j
}

/// Waits (up to 30 s) until `f` holds for the JSON view.
fn wait_json(env: &Env, pfile: &str, what: &str, f: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let j = json(env, pfile);
        if f(&j) {
            return j;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}: {j}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Waits up to `secs` for a log line ending with `text`.
fn wait_log_long(env: &Env, text: &str, secs: u64) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while env.count_log(text) == 0 {
        assert!(
            Instant::now() < deadline,
            "no `{text}` in log:\n{}",
            env.log().join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn line_index(log: &[String], text: &str) -> usize {
    log.iter()
        .position(|l| l.ends_with(text))
        .unwrap_or_else(|| panic!("no `{text}` in log:\n{}", log.join("\n")))
}

/// A SIGSTOPped daemon fails its exec check (which sees `PCHECK_PID` and `PCHECK_PNAME`), is
/// logged as stalled, gets SIGTERM — which it ignores — then SIGKILL after stop_timeout, and
/// its death takes the normal path: Down, restart, Up.
#[test]
fn a_stopped_daemon_is_found_stalled_and_restarted() {
    let env = Env::new("stall");
    let name = env.name("d");
    let script = env.restart_script(&name);
    let seen = env.path("seen");
    let check = env.script(
        "alive.sh",
        &format!(
            "echo \"$PCHECK_PID $PCHECK_PNAME\" > {}\n\
             grep -q '^State:[[:space:]]*T' /proc/$PCHECK_PID/status && exit 1\nexit 0",
            seen.display()
        ),
    );
    let pfile = env.pfile(
        "pfile_t",
        key(1),
        1,
        &[format!(
            "{name}:{script}:86400:3:continue:health_exec={check}:health_interval=1:health_timeout=2:health_failures=2:stop_timeout=1"
        )],
    );
    let pid = start_named(&env, &name, true);
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    // healthy checks, with the environment the spec names
    let j = wait_json(&env, &pfile, "two healthy checks", |j| {
        j["entries"][0]["history"]["health_checks_total"]
            .as_u64()
            .unwrap_or(0)
            >= 2
    });
    assert_eq!(j["entries"][0]["health"]["consecutive_failures"], 0);
    assert_eq!(
        std::fs::read_to_string(&seen).unwrap(),
        format!("{pid} {name}\n")
    );
    assert_eq!(
        env.count_log(&format!("Process [{name}, pid={pid}] Stall")),
        0
    );

    signal(pid, "STOP");
    wait_log_long(&env, &format!("Process [{name}, pid={pid}] Stall"), 20);
    wait_log_long(&env, &format!("Process [{name}, pid={pid}] Down"), 20);
    let new = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != pid),
        "restarted daemon",
    );
    env.wait_log(&format!("({name} ,pid={new}) Up"));
    let log = env.log();
    let stall = line_index(
        &log,
        &format!("pcheck[{pcpid}]: Process [{name}, pid={pid}] Stall"),
    );
    let killed = line_index(
        &log,
        &format!("Process [{name}, pid={pid}] did not stop within 1 s; sending SIGKILL"),
    );
    let down = line_index(&log, &format!("Process [{name}, pid={pid}] Down"));
    let restart = line_index(&log, &format!("Try to restart ({name})"));
    assert!(
        stall < killed && killed < down && down < restart,
        "{log:#?}"
    );
    assert!(
        log.iter().any(|l| l.contains(&format!(
            "Health check of ({name}, pid={pid}) failed (2 of 2)"
        ))),
        "{log:#?}"
    );
    assert!(!pids_named(&name).contains(&pid), "the stalled one is gone");
    let j = json(&env, &pfile);
    assert_eq!(j["entries"][0]["history"]["stalls_total"], 1);
    assert_eq!(j["entries"][0]["restart_count"], 1);
    let m = stdout(&env.padmin(&["--metrics"]));
    assert!(
        m.lines()
            .any(|l| l.starts_with("pcheck_process_stalls_total{") && l.ends_with("} 1")),
        "{m}"
    );
}

/// A tcp check against a listener of the test: healthy while it listens; once it is closed
/// (connections refused) the daemon is stalled, stopped and restarted.
#[test]
fn a_tcp_check_against_a_loopback_listener() {
    let env = Env::new("tcp");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let name = env.name("d");
    let script = env.restart_script(&name);
    let pfile = env.pfile(
        "pfile_t",
        key(2),
        1,
        &[format!(
            "{name}:{script}:86400:3:continue:health_tcp=127.0.0.1 {port}:health_interval=1:health_timeout=1:health_failures=2:stop_timeout=1"
        )],
    );
    let pid = env.start_daemon(&name);
    let _pc = env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    let j = wait_json(&env, &pfile, "two healthy checks", |j| {
        j["entries"][0]["history"]["health_checks_total"]
            .as_u64()
            .unwrap_or(0)
            >= 2
    });
    let h = &j["entries"][0]["history"];
    assert_eq!(h["health_failures_total"], 0, "{j}");
    assert_eq!(h["last_health"]["healthy"], true);
    assert_eq!(
        j["entries"][0]["config"]["health"],
        serde_json::json!({"check": "tcp", "target": format!("127.0.0.1:{port}"),
            "interval_seconds": 1, "timeout_seconds": 1, "failures": 2})
    );
    // the listener stops answering
    drop(listener);
    wait_log_long(&env, &format!("Process [{name}, pid={pid}] Stall"), 20);
    wait_log_long(&env, &format!("Process [{name}, pid={pid}] Down"), 20);
    wait_log_long(&env, &format!("Try to restart ({name})"), 20);
    let new = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != pid),
        "restarted daemon",
    );
    env.wait_log(&format!("({name} ,pid={new}) Up"));
    assert!(env.log().iter().any(|l| l.contains(&format!(
        "Health check of ({name}, pid={pid}) failed (1 of 2)"
    ))));
}

/// Three instances watched by pidfd; one killed while a fourth runs: the fourth is watched
/// instead (no restart); one killed with no spare: Down for that pid and one restart, after
/// which three are watched again. `show pent` shows the oldest, the JSON view all.
#[test]
fn three_instances_of_which_one_is_killed() {
    let env = Env::new("inst");
    let name = env.name("d");
    let script = env.restart_script(&name);
    let pfile = env.pfile(
        "pfile_t",
        key(3),
        1,
        &[format!("{name}:{script}:86400:3:continue:instances=3")],
    );
    let mut pids: Vec<i32> = (0..3)
        .map(|_| {
            let p = env.start_daemon(&name);
            std::thread::sleep(Duration::from_millis(20)); // distinct start times
            p
        })
        .collect();
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    for p in &pids {
        env.wait_log(&format!("pcheck[{pcpid}]: ({name} ,pid={p}) Up"));
    }
    let j = json(&env, &pfile);
    assert_eq!(j["entries"][0]["pids"], serde_json::json!(pids));
    assert_eq!(j["entries"][0]["pid"], pids[0]);
    assert_eq!(j["entries"][0]["instances"], 3);
    let text = stdout(&env.padmin(&["-f", &pfile, "-c", "show pent"]));
    assert!(
        text.contains(&format!("\npid            = {}\n", pids[0])),
        "{text}"
    );

    // a spare: killing one moves the watch to it, nothing is restarted
    let spare = env.start_daemon(&name);
    kill(pids[1]);
    env.wait_log(&format!("pcheck[{pcpid}]: ({name} ,pid={spare}) Up"));
    assert_eq!(
        env.count_log(&format!("Process [{name}, pid={}] Down", pids[1])),
        0
    );
    assert_eq!(env.count_log(&format!("Try to restart ({name})")), 0);
    pids = vec![pids[0], pids[2], spare];
    assert_eq!(
        json(&env, &pfile)["entries"][0]["pids"],
        serde_json::json!(pids)
    );

    // no spare: Down for that pid, one restart, three again
    kill(pids[1]);
    env.wait_log(&format!("Process [{name}, pid={}] Down", pids[1]));
    env.wait_log(&format!("Try to restart ({name})"));
    let new = wait_for(
        || pids_named(&name).into_iter().find(|p| !pids.contains(p)),
        "restarted instance",
    );
    env.wait_log(&format!("({name} ,pid={new}) Up"));
    let j = wait_json(&env, &pfile, "three watched", |j| {
        j["entries"][0]["pids"].as_array().map_or(0, Vec::len) == 3
            && j["entries"][0]["proc_sts"] == "AVAIL"
    });
    assert_eq!(
        j["entries"][0]["pids"],
        serde_json::json!([pids[0], pids[2], new])
    );
    assert_eq!(env.count_log(&format!("Try to restart ({name})")), 1);
    assert_eq!(j["entries"][0]["restart_count"], 1);
}

/// A group of two: killing either member is one restart of the group (its script restarts
/// both; the member it stops is not a second event); every member is found again; log lines
/// name the group, Down and Up the members.
#[test]
fn a_two_member_group_is_restarted_once_when_either_dies() {
    let env = Env::new("group");
    let a = env.name("a");
    let b = env.name("b");
    let count = env.path("restarts");
    let start = |n: &str| {
        format!("setsid -f bash -c 'exec -a {n} sleep 100000' </dev/null >/dev/null 2>&1")
    };
    let gscript = env.script(
        "restart_frontend.sh",
        &format!(
            "echo x >> {}\n\
             for d in /proc/[0-9]*; do\n\
             \x20 read -r -d '' arg0 < \"$d/cmdline\" 2>/dev/null\n\
             \x20 case \"$arg0\" in {a}|{b}) kill \"${{d#/proc/}}\";; esac\n\
             done\nsleep 0.2\n{}\n{}",
            count.display(),
            start(&a),
            start(&b)
        ),
    );
    let pfile = env.pfile(
        "pfile_t",
        key(4),
        1,
        &[
            format!("{a}:-:86400:3:continue:group=frontend"),
            format!("{b}:-:86400:3:continue:group=frontend"),
            format!("frontend:{gscript}:86400:3:exit:kind=group"),
        ],
    );
    let pa = env.start_daemon(&a);
    let pb = env.start_daemon(&b);
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    env.wait_log(&format!("({a} ,pid={pa}) Up"));
    env.wait_log(&format!("({b} ,pid={pb}) Up"));
    let j = wait_json(&env, &pfile, "group up", |j| {
        j["groups"][0]["proc_sts"] == "AVAIL"
    });
    assert_eq!(j["groups"][0]["members"], serde_json::json!([a, b]));
    assert_eq!(j["entries"][1]["group"], "frontend");

    let mut restarts = 0;
    for victim in [&a, &b] {
        let before: Vec<i32> = [&a, &b].iter().flat_map(|n| pids_named(n)).collect();
        let vpid = pids_named(victim)[0];
        kill(vpid);
        restarts += 1;
        env.wait_log_n(
            &format!("pcheck[{pcpid}]: Try to restart (frontend)"),
            restarts,
        );
        env.wait_log(&format!("Process [{victim}, pid={vpid}] Down"));
        let new_a = wait_for(
            || pids_named(&a).into_iter().find(|p| !before.contains(p)),
            "a restarted",
        );
        let new_b = wait_for(
            || pids_named(&b).into_iter().find(|p| !before.contains(p)),
            "b restarted",
        );
        env.wait_log(&format!("({a} ,pid={new_a}) Up"));
        env.wait_log(&format!("({b} ,pid={new_b}) Up"));
        // the script stopped the member still alive: it was logged Down, no second event
        let alive: Vec<i32> = [&a, &b].iter().flat_map(|n| pids_named(n)).collect();
        assert!(
            before.iter().all(|p| !alive.contains(p)),
            "{before:?} {alive:?}"
        );
        for p in &before {
            env.wait_log(&format!(", pid={p}] Down"));
        }
        let j = wait_json(&env, &pfile, "group up again", |j| {
            j["groups"][0]["proc_sts"] == "AVAIL" && j["groups"][0]["state"] == "watching"
        });
        // the script ran once, and the member it stopped was no second event
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(
            env.count_log("Try to restart (frontend)"),
            restarts,
            "{:#?}",
            env.log()
        );
        assert_eq!(
            std::fs::read_to_string(&count).unwrap().lines().count(),
            restarts
        );
        assert_eq!(j["groups"][0]["restart_count"], restarts);
        // members show the group's counters in show pent
        assert_eq!(j["entries"][0]["restart_count"], restarts);
        assert_eq!(j["entries"][1]["restart_count"], restarts);
        assert_eq!(j["entries"][0]["retry_over_act"], "exit");
    }
    assert_eq!(env.count_log(&format!("Try to restart ({a})")), 0);
    assert_eq!(env.count_log(&format!("Try to restart ({b})")), 0);
    let m = stdout(&env.padmin(&["--metrics"]));
    // after shutdown, the dump shows the same blocks and the group's state
    let live = stdout(&env.padmin(&["-f", &pfile, "-c", "show pent"]));
    let o = env.padmin(&["-f", &pfile, "-c", "shutdown"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(10)), Some(0));
    let text = stdout(&env.padmin(&["-f", &pfile, "-c", "show pent"]));
    assert!(
        text.starts_with("# pcheck is not running") && text.ends_with(&live),
        "{text}"
    );
    let o = env.padmin(&["-f", &pfile, "--format", "json", "-c", "show pent"]);
    let j = validated(schema(), &stdout(&o));
    assert_eq!(j["source"], "dump");
    assert_eq!(j["groups"][0]["members"], serde_json::json!([a, b]));
    assert_eq!(j["groups"][0]["restart_count"], 2);
    assert_eq!(j["entries"][0]["group"], "frontend");
    assert!(
        m.lines()
            .any(|l| l.starts_with("pcheck_group_window_restarts{")
                && l.ends_with(",group=\"frontend\"} 2")),
        "{m}"
    );
}

/// `Mmm dd hh:mm:ss` of a raw syslog line -> seconds since midnight.
fn stamp(raw: &str) -> i64 {
    let rest = raw.split_once('>').unwrap().1;
    let t = &rest[7..15];
    let f: Vec<i64> = t.split(':').map(|x| x.parse().unwrap()).collect();
    f[0] * 3600 + f[1] * 60 + f[2]
}

/// A failing restart script with retry_delay=2: the attempts are 2, 4 and 8 s apart in the log
/// timestamps (1 s resolution: each gap within a second of its due length, each longer than the
/// one before); the wait shows in the JSON view; the last failure is a retry over at once.
#[test]
fn backoff_spacing_doubles_in_the_log() {
    let env = Env::new("backoff");
    let name = env.name("d");
    let script = env.script("fail.sh", "exit 1");
    let pfile = env.pfile(
        "pfile_t",
        key(5),
        1,
        &[format!("{name}:{script}:86400:4:continue:retry_delay=2")],
    );
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    let try_line = format!("pcheck[{pcpid}]: Try to restart ({name})");
    wait_log_long(&env, &format!("Next restart of ({name}) in 4 s"), 30);
    let j = json(&env, &pfile);
    let b = &j["entries"][0]["backoff"];
    assert_eq!(b["seconds"], 4, "{j}");
    let left = b["until"]["unix"].as_i64().unwrap() - psctl_runtime::clock::now();
    assert!((0..=5).contains(&left), "{left}");
    wait_log_long(&env, &format!("({name}) RETRY_OVER:CONTINUE"), 40);
    let raw = env.raw_log();
    let times: Vec<i64> = raw
        .iter()
        .filter(|l| l.ends_with(&try_line))
        .map(|l| stamp(l))
        .collect();
    assert_eq!(times.len(), 4, "{raw:#?}");
    let gaps: Vec<i64> = times
        .windows(2)
        .map(|w| (w[1] - w[0]).rem_euclid(86_400))
        .collect();
    for (gap, due) in gaps.iter().zip([2, 4, 8]) {
        assert!((due - 1..=due + 1).contains(gap), "gaps {gaps:?}");
    }
    assert!(gaps[0] < gaps[1] && gaps[1] < gaps[2], "gaps {gaps:?}");
    assert_eq!(
        env.count_log(&format!("Next restart of ({name}) in 8 s")),
        1
    );
    assert_eq!(json(&env, &pfile)["entries"][0]["backoff"], Value::Null);
}

/// A long backoff wait is visible, ended at once by `padmin -c reload`, and does not delay
/// `shutdown`.
#[test]
fn a_backoff_wait_is_ended_by_reload_and_shutdown() {
    let env = Env::new("bkreload");
    let name = env.name("d");
    let script = env.script("fail.sh", "exit 1");
    let pfile = env.pfile(
        "pfile_t",
        key(6),
        1,
        &[format!("{name}:{script}:86400:5:continue:retry_delay=300")],
    );
    let pc = env.pcheck(&["-f", &pfile]);
    wait_log_long(&env, &format!("Next restart of ({name}) in 300 s"), 30);
    let j = json(&env, &pfile);
    assert_eq!(j["entries"][0]["backoff"]["seconds"], 300);
    assert_eq!(env.count_log(&format!("Try to restart ({name})")), 1);
    let o = env.padmin(&["-f", &pfile, "-c", "reload"]);
    assert!(o.status.success(), "{}", stderr(&o));
    env.wait_log_n(&format!("Try to restart ({name})"), 2);
    // the second failure waits 300 s again (capped); shutdown does not wait for it
    env.wait_log_n(&format!("Next restart of ({name}) in 300 s"), 2);
    let t = Instant::now();
    let o = env.padmin(&["-f", &pfile, "-c", "shutdown"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(10)), Some(0));
    assert!(t.elapsed() < Duration::from_secs(10));
}

/// A health command that fails the trust rules (writable by others) is never executed: the
/// check fails with the reason, and `failures` of them stall the process as any failure does.
#[test]
fn a_health_command_others_can_write_is_never_run() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new("hcheck");
    let name = env.name("d");
    let script = env.restart_script(&name);
    let marker = env.path("ran");
    let check = env.script("alive.sh", &format!("touch {}\nexit 0", marker.display()));
    std::fs::set_permissions(&check, std::fs::Permissions::from_mode(0o777)).unwrap();
    let pfile = env.pfile(
        "pfile_t",
        key(7),
        1,
        &[format!(
            "{name}:{script}:86400:3:continue:health_exec={check}:health_interval=1:health_failures=2:stop_timeout=1"
        )],
    );
    let pid = env.start_daemon(&name);
    let _pc = env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    wait_log_long(&env, &format!("Process [{name}, pid={pid}] Stall"), 20);
    assert!(!marker.exists(), "the check ran");
    assert!(
        env.log().iter().any(|l| l.contains(&format!(
            "Health check of ({name}, pid={pid}) failed (1 of 2): {check} is group- or world-writable (mode 0777)"
        ))),
        "{:#?}",
        env.log()
    );
}

/// A group's script outlives a pcheck killed with SIGKILL: the next pcheck finds it in the
/// dump (version 3 group block), waits for it instead of starting a second one, and counts
/// its end as the attempt.
#[test]
fn a_group_script_left_by_a_killed_pcheck_is_waited_for() {
    let env = Env::new("gorphan");
    let a = env.name("a");
    let b = env.name("b");
    let count = env.path("restarts");
    let gscript = env.script(
        "restart_frontend.sh",
        &format!(
            "echo x >> {}\nsleep 3\nsetsid -f bash -c 'exec -a {a} sleep 100000' </dev/null >/dev/null 2>&1",
            count.display()
        ),
    );
    let pfile = env.pfile(
        "pfile_t",
        key(8),
        1,
        &[
            format!("{a}:-:86400:3:continue:group=frontend"),
            format!("{b}:-:86400:3:continue:group=frontend"),
            format!("frontend:{gscript}:86400:3:continue:kind=group"),
        ],
    );
    let pa = env.start_daemon(&a);
    let pb = env.start_daemon(&b);
    let first = env.pcheck(&["-f", &pfile]);
    let first_pid = env.pcheck_pid(first);
    env.wait_log(&format!("({a} ,pid={pa}) Up"));
    env.wait_log(&format!("({b} ,pid={pb}) Up"));
    kill(pa);
    env.wait_log(&format!("pcheck[{first_pid}]: Try to restart (frontend)"));
    wait_json(&env, &pfile, "the script in the view", |j| {
        j["groups"][0]["state"] == "restarting"
    });
    signal(first_pid, "KILL");
    env.pcheck_exit(first, Duration::from_secs(10));
    let second = env.pcheck(&["-f", &pfile]);
    let second_pid = env.pcheck_pid(second);
    let adopted = format!(
        "pcheck[{second_pid}]: Restart script of (frontend) started by the previous pcheck still runs"
    );
    wait_for(
        || {
            env.log()
                .iter()
                .any(|l| l.starts_with(&adopted))
                .then_some(())
        },
        "the script adopted",
    );
    let new_a = wait_for(
        || pids_named(&a).into_iter().find(|&p| p != pa),
        "a restarted by the old script",
    );
    wait_log_long(
        &env,
        &format!("pcheck[{second_pid}]: ({a} ,pid={new_a}) Up"),
        20,
    );
    wait_json(&env, &pfile, "group up", |j| {
        j["groups"][0]["proc_sts"] == "AVAIL"
    });
    assert_eq!(
        env.count_log(&format!("pcheck[{second_pid}]: Try to restart (frontend)")),
        0,
        "{:#?}",
        env.log()
    );
    assert_eq!(std::fs::read_to_string(&count).unwrap().lines().count(), 1);
}

/// From a YAML description through `psctl build` to a running pcheck: instances, a tcp health
/// check and a group, as the description says them.
#[test]
fn a_yaml_description_built_by_psctl_runs_in_pcheck() {
    let env = Env::new("yaml");
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let a = env.name("a");
    let b = env.name("b");
    let gscript = env.script(
        "restart_frontend.sh",
        &format!("setsid -f bash -c 'exec -a {a} sleep 100000' </dev/null >/dev/null 2>&1"),
    );
    let yaml = env.write(
        "svc.yaml",
        &format!(
            "name: svc\nipckey: {key}\nmonitor_interval: 1\ndump_file: {dump}\nprocesses:\n\
             \x20 - name: {a}\n    instances: 2\n    health: {{ tcp: '127.0.0.1:{port}', interval: 1s, failures: 2 }}\n\
             \x20 - name: {b}\ngroups:\n  - name: frontend\n    members: [{a}, {b}]\n\
             \x20   restart: {{ script: {gscript} }}\n    retries: 2\n    on_retry_over: continue\n",
            key = key(9),
            dump = env.path("dump_svc").display()
        ),
    );
    let out = env.path("out");
    let o = Command::new(psctl_bin())
        .args(["build", &yaml, "-o"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let pfile = out.join("pfile_svc").display().to_string();
    let text = std::fs::read_to_string(&pfile).unwrap();
    assert!(
        text.contains(&format!(
            "{a}:-:86400:3:continue:instances=2:health_tcp=127.0.0.1 {port}:health_interval=1:health_failures=2:group=frontend\n"
        )),
        "{text}"
    );
    let a1 = env.start_daemon(&a);
    std::thread::sleep(Duration::from_millis(20));
    let a2 = env.start_daemon(&a);
    let pb = env.start_daemon(&b);
    let _pc = env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({a} ,pid={a2}) Up"));
    env.wait_log(&format!("({b} ,pid={pb}) Up"));
    let j = wait_json(&env, &pfile, "group up and checked", |j| {
        j["groups"][0]["proc_sts"] == "AVAIL"
            && j["entries"][0]["history"]["health_checks_total"]
                .as_u64()
                .unwrap_or(0)
                >= 1
    });
    assert_eq!(j["entries"][0]["pids"], serde_json::json!([a1, a2]));
    assert_eq!(j["entries"][0]["history"]["health_failures_total"], 0);
    // one instance dies: fewer than 2, so the group restarts (its script starts one more)
    kill(a1);
    env.wait_log(&format!("Process [{a}, pid={a1}] Down"));
    env.wait_log("Try to restart (frontend)");
    let a3 = wait_for(
        || pids_named(&a).into_iter().find(|&p| p != a1 && p != a2),
        "a restarted",
    );
    env.wait_log(&format!("({a} ,pid={a3}) Up"));
    wait_json(&env, &pfile, "group up again", |j| {
        j["groups"][0]["proc_sts"] == "AVAIL" && j["groups"][0]["restart_count"] == 1
    });
    drop(listener);
}

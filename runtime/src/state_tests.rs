use super::*;

fn cfg(restart: Restart, grace: u64, retries: u32, action: Action) -> Process {
    Process {
        name: "crond".into(),
        restart,
        grace,
        retries,
        on_retry_over: action,
        user: Box::default(),
        ..Process::new("")
    }
}

fn script() -> Restart {
    Restart::Script("/x/restart_crond.sh".into())
}

const P1: Ident = Ident {
    pid: 8033,
    start: 1,
};
const P2: Ident = Ident {
    pid: 8107,
    start: 2,
};

fn logs(fx: &[Effect]) -> Vec<String> {
    fx.iter()
        .filter_map(|f| match f {
            Effect::Log(m) => Some(m.text()),
            _ => None,
        })
        .collect()
}

/// `s` seconds on both clocks (tests that make the clocks differ build `Now` themselves).
fn at(s: i64) -> Now {
    Now {
        boot: std::time::Duration::from_secs(s.try_into().unwrap()),
        wall: s,
    }
}

fn up(e: &mut Entry, id: Ident, now: i64) -> Vec<Effect> {
    e.handle(Event::Scan(vec![id]), at(now))
}

#[test]
fn found_at_start_is_up_and_watched() {
    let (mut e, fx) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    assert_eq!(fx, vec![Effect::ScanNow]);
    let fx = up(&mut e, P1, 0);
    assert_eq!(logs(&fx), ["(crond ,pid=8033) Up"]);
    assert!(fx.contains(&Effect::Watch(P1)));
    assert_eq!(
        (e.proc_sts, e.pid, e.r.rerun_time),
        (ProcSts::Avail, 8033, None)
    );
}

#[test]
fn guide_walkthrough_three_restarts_then_retry_over() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    up(&mut e, P1, 0);
    for round in 1..=3u32 {
        let now = 100 * round as i64;
        let fx = e.handle(Event::Died(8033), at(now));
        assert_eq!(
            logs(&fx),
            ["Process [crond, pid=8033] Down", "Try to restart (crond)"]
        );
        assert!(fx.contains(&Effect::RunScript));
        assert_eq!(e.r.restart_count, round);
        assert_eq!(
            e.r.rerun_time,
            Some(100),
            "window opened at the first death"
        );
        assert_eq!(
            e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(now + 10)),
            [Effect::ScanNow]
        );
        let fx = up(&mut e, P1, now + 10);
        assert_eq!(logs(&fx), ["(crond ,pid=8033) Up"]);
    }
    let fx = e.handle(Event::Died(8033), at(1000));
    assert_eq!(
        logs(&fx),
        [
            "Process [crond, pid=8033] Down",
            "(crond) RETRY_OVER:CONTINUE"
        ]
    );
    assert!(!fx
        .iter()
        .any(|f| matches!(f, Effect::Exit(_) | Effect::RunScript)));
    assert_eq!(
        (e.proc_sts, e.r.restart_count, e.r.retry_count),
        (ProcSts::RetryOver, 3, 0)
    );
    assert!(!e.wants_scan());
    // reload resets and searches again
    let fx = e.reconfigure(cfg(script(), 86400, 3, Action::Continue), 2, at(1050));
    assert_eq!(fx, [Effect::ScanNow]);
    up(&mut e, P2, 1100);
    assert_eq!(
        (e.proc_sts, e.pid, e.r.restart_count, e.r.rerun_time),
        (ProcSts::Avail, 8107, 0, None)
    );
}

#[test]
fn exit_and_shutdown_actions() {
    for (action, code, word) in [(Action::Exit, 1, "EXIT"), (Action::Shutdown, 0, "SHUTDOWN")] {
        let (mut e, _) = Entry::new(cfg(script(), 0, 0, action), 1);
        up(&mut e, P1, 0);
        let fx = e.handle(Event::Died(8033), at(5));
        assert_eq!(logs(&fx)[1], format!("(crond) RETRY_OVER:{word}"));
        assert_eq!(fx.last(), Some(&Effect::Exit(code)));
    }
}

#[test]
fn grace_window_expiry_resets_the_count() {
    let (mut e, _) = Entry::new(cfg(script(), 10, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died(8033), at(100));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(100));
    up(&mut e, P1, 101);
    // exactly `grace` seconds later the window is still open
    let fx = e.handle(Event::Died(8033), at(110));
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
    let (mut e, _) = Entry::new(cfg(script(), 10, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died(8033), at(100));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(100));
    up(&mut e, P1, 101);
    let fx = e.handle(Event::Died(8033), at(111));
    assert_eq!(logs(&fx)[1], "Try to restart (crond)");
    assert_eq!((e.r.restart_count, e.r.rerun_time), (1, Some(111)));
}

#[test]
fn grace_zero_never_ends() {
    let (mut e, _) = Entry::new(cfg(script(), 0, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died(8033), at(100));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(100));
    up(&mut e, P1, 101);
    let fx = e.handle(Event::Died(8033), at(100_000_000));
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
}

#[test]
fn retry_zero_first_death_is_retry_over() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 0, Action::Continue), 1);
    up(&mut e, P1, 0);
    let fx = e.handle(Event::Died(8033), at(1));
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
}

#[test]
fn failing_script_counts_retries_and_logs_status() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 2, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died(8033), at(1));
    let fx = e.handle(Event::ScriptEnded(ScriptEnd::Status(3)), at(2));
    assert_eq!(
        logs(&fx),
        [
            "Restart script of (crond) exited with status 3",
            "Set pid fail (crond)",
            "Try to restart (crond)"
        ]
    );
    assert_eq!((e.r.retry_count, e.r.restart_count), (1, 2));
    let fx = e.handle(Event::ScriptEnded(ScriptEnd::TimedOut(5)), at(3));
    assert_eq!(
        logs(&fx)[1..],
        ["Set pid fail (crond)", "(crond) RETRY_OVER:CONTINUE"]
    );
    assert_eq!((e.r.retry_count, e.r.restart_count), (2, 2));
}

#[test]
fn not_found_after_restart_uses_try_count_scans() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 1, Action::Continue), 3);
    up(&mut e, P1, 0);
    e.handle(Event::Died(8033), at(1));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(2));
    assert!(e.handle(Event::Scan(vec![]), at(2)).is_empty());
    assert!(e.handle(Event::Scan(vec![]), at(3)).is_empty());
    let fx = e.handle(Event::Scan(vec![]), at(4));
    assert_eq!(
        logs(&fx),
        ["Set pid fail (crond)", "(crond) RETRY_OVER:CONTINUE"]
    );
    assert_eq!(e.r.retry_count, 1);
}

#[test]
fn missing_at_start_is_set_pid_fail_then_restart_without_down() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    assert!(e.handle(Event::Scan(vec![]), at(0)).is_empty());
    let fx = e.handle(Event::Scan(vec![]), at(10));
    assert_eq!(
        logs(&fx),
        ["Set pid fail (crond)", "Try to restart (crond)"]
    );
    assert_eq!((e.r.retry_count, e.r.restart_count, e.pid), (0, 1, 0));
}

#[test]
fn report_only_entry_logs_up_again_and_moves_no_counter() {
    let (mut e, _) = Entry::new(cfg(Restart::None, 86400, 3, Action::Exit), 1);
    up(&mut e, P1, 0);
    let fx = e.handle(Event::Died(8033), at(1));
    assert_eq!(logs(&fx), ["Process [crond, pid=8033] Down"]);
    assert!(e.wants_scan());
    assert!(e.handle(Event::Scan(vec![]), at(2)).is_empty());
    assert!(e.handle(Event::Scan(vec![]), at(3)).is_empty());
    let fx = up(&mut e, P2, 4);
    assert_eq!(logs(&fx), ["(crond ,pid=8107) Up"]);
    assert_eq!(
        (e.r.restart_count, e.r.retry_count, e.r.rerun_time),
        (0, 0, None)
    );
}

#[test]
fn stop_and_start() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    up(&mut e, P1, 0);
    assert_eq!(e.stop(), [Effect::Unwatch]);
    assert!(!e.monitor_on);
    assert!(
        e.handle(Event::Died(8033), at(1)).is_empty(),
        "a stopped entry ignores deaths"
    );
    assert_eq!(e.start(), [Effect::ScanNow]);
    assert!(e.monitor_on);
    up(&mut e, P2, 2);
    assert_eq!((e.phase, e.ids.clone()), (Phase::Watching, vec![P2]));
}

#[test]
fn script_outliving_a_stop_is_awaited_after_start() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    up(&mut e, P1, 0);
    e.handle(Event::Died(8033), at(1));
    e.stop();
    assert!(e.r.script_running);
    e.start();
    assert_eq!(e.phase, Phase::Restarting);
    assert_eq!(
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(2)),
        [Effect::ScanNow]
    );
    // ...but ignored when it ends while stopped
    e.stop();
    let (mut f, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    up(&mut f, P1, 0);
    f.handle(Event::Died(8033), at(1));
    f.stop();
    assert!(f
        .handle(Event::ScriptEnded(ScriptEnd::Status(1)), at(2))
        .is_empty());
    assert!(!f.r.script_running);
    assert_eq!(f.start(), [Effect::ScanNow]);
}

#[test]
fn stale_events_are_ignored() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    assert!(e.handle(Event::Died(8033), at(0)).is_empty());
    up(&mut e, P1, 0);
    assert!(e.handle(Event::Scan(vec![P2]), at(1)).is_empty());
    assert_eq!((e.phase, e.ids.clone()), (Phase::Watching, vec![P1]));
}

/// Finding 10: the wall clock jumping backward or forward changes nothing; only the boot clock
/// decides when a grace window ends, and `rerun_time` shows the wall time it opened at.
#[test]
fn wall_clock_jumps_do_not_move_grace_windows() {
    let t = |boot: u64, wall: i64| Now {
        boot: std::time::Duration::from_secs(boot),
        wall,
    };
    for jump in [-1_000_000_000i64, -3600, 3600, 1_000_000_000] {
        let (mut e, _) = Entry::new(cfg(script(), 100, 2, Action::Continue), 2);
        up(&mut e, P1, 0);
        e.handle(Event::Died(8033), t(1000, 5000));
        assert_eq!(e.r.rerun_time, Some(5000));
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), t(1001, 5001));
        up(&mut e, P1, 1001);
        // 50 s later on the boot clock, the wall clock jumped: still the same window
        let fx = e.handle(Event::Died(8033), t(1050, 5050 + jump));
        assert_eq!(logs(&fx)[1], "Try to restart (crond)", "jump {jump}");
        assert_eq!((e.r.restart_count, e.r.rerun_time), (2, Some(5000)));
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), t(1051, 5051 + jump));
        up(&mut e, P1, 1051);
        // still inside it: retry over, whatever the wall clock says
        let fx = e.handle(Event::Died(8033), t(1090, 5090 + jump));
        assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE", "jump {jump}");
    }
    // and a window that is over on the boot clock is over even if the wall clock went back
    let (mut e, _) = Entry::new(cfg(script(), 100, 1, Action::Continue), 2);
    up(&mut e, P1, 0);
    e.handle(Event::Died(8033), t(1000, 5000));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), t(1001, 5001));
    up(&mut e, P1, 1001);
    let fx = e.handle(Event::Died(8033), t(1101, 4000));
    assert_eq!(logs(&fx)[1], "Try to restart (crond)");
    assert_eq!((e.r.restart_count, e.r.rerun_time), (1, Some(4000)));
}

/// Finding 8: a script pcheck could not start for lack of resources is started again later,
/// and neither the failed start nor the retry counts as another restart or a failure.
#[test]
fn a_start_without_resources_is_retried_without_counting() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 1, Action::Exit), 2);
    up(&mut e, P1, 0);
    let fx = e.handle(Event::Died(8033), at(1));
    assert!(fx.contains(&Effect::RunScript));
    for _ in 0..5 {
        let fx = e.handle(
            Event::SpawnLater("/bin/sh: Too many open files".into()),
            at(1),
        );
        assert_eq!(
            logs(&fx),
            ["Restart script of (crond) could not be started (/bin/sh: Too many open files); trying again shortly"]
        );
        assert!(fx.contains(&Effect::RetryScriptLater));
        assert_eq!(e.phase, Phase::Deferred);
        assert_eq!(e.handle(Event::RetryScript, at(2)), [Effect::RunScript]);
    }
    assert_eq!((e.r.restart_count, e.r.retry_count), (1, 0));
    assert_eq!(
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(3)),
        [Effect::ScanNow]
    );
    // a refusal (trust rules) is the script's failure: it counts
    let (mut f, _) = Entry::new(cfg(script(), 86400, 1, Action::Exit), 2);
    up(&mut f, P1, 0);
    f.handle(Event::Died(8033), at(1));
    let fx = f.handle(
        Event::ScriptEnded(ScriptEnd::SpawnFailed("refused".into())),
        at(1),
    );
    assert!(fx.contains(&Effect::Exit(1)));
    assert_eq!(f.r.retry_count, 1);
}

/// Finding 9: while a script adopted from before a reload (or from the previous pcheck) runs,
/// the entry waits for it instead of starting a second one; its end counts as the attempt.
#[test]
fn never_two_scripts_at_once() {
    let (mut e, fx) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 1);
    assert_eq!(fx, [Effect::ScanNow]);
    e.adopt_script();
    let fx = e.handle(Event::Scan(vec![]), at(1));
    assert_eq!(logs(&fx), ["Set pid fail (crond)"]);
    assert!(!fx.contains(&Effect::RunScript), "{fx:?}");
    assert_eq!((e.phase, e.r.restart_count), (Phase::Restarting, 0));
    assert_eq!(
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(2)),
        [Effect::ScanNow]
    );
    let fx = e.handle(Event::Scan(vec![]), at(3));
    assert!(
        fx.contains(&Effect::RunScript),
        "the next attempt is a new script"
    );
    assert_eq!((e.r.restart_count, e.r.retry_count), (1, 1));
    // found while the adopted script runs: Up, and its end is then ignored
    let (mut g, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 1);
    g.adopt_script();
    up(&mut g, P1, 1);
    assert!(g
        .handle(Event::ScriptEnded(ScriptEnd::Status(1)), at(2))
        .is_empty());
    assert_eq!((g.phase, g.ids.clone()), (Phase::Watching, vec![P1]));
}

/// Finding 11: names reach log lines escaped; ordinary names are byte-identical.
#[test]
fn log_lines_escape_names() {
    assert_eq!(
        Msg::Down("crond".into(), 8033).text(),
        "Process [crond, pid=8033] Down"
    );
    assert_eq!(
        Msg::Up("a\x1b[31mb\u{202e}c\u{2028}".into(), 1).text(),
        "(a\\x1b[31mb\\u{202e}c\\u{2028} ,pid=1) Up"
    );
    assert_eq!(
        Msg::TryRestart("x\nForged line".into()).text(),
        "Try to restart (x\\nForged line)"
    );
    assert_eq!(
        Msg::Script("x".into(), ScriptEnd::SpawnFailed("/a\rb".into())).text(),
        "Restart script of (x) not run: /a\\rb"
    );
}

// ---- Spec 7: backoff, stall, instances, groups ----

fn with(f: impl FnOnce(&mut Process)) -> Process {
    let mut p = cfg(script(), 86400, 10, Action::Exit);
    f(&mut p);
    p
}

fn backoff_of(fx: &[Effect]) -> Option<String> {
    logs(fx).into_iter().find(|l| l.starts_with("Next restart"))
}

#[test]
fn backoff_doubles_up_to_the_cap_and_never_delays_a_retry_over() {
    assert_eq!(Restarts::backoff(0, 5), std::time::Duration::ZERO);
    let secs: Vec<u64> = (1..=12)
        .map(|n| Restarts::backoff(1, n).as_secs())
        .collect();
    assert_eq!(secs, [1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
    assert_eq!(Restarts::backoff(300, 1).as_secs(), 300);
    assert_eq!(Restarts::backoff(7, u32::MAX).as_secs(), 300);

    let (mut e, _) = Entry::new(with(|p| p.retry_delay = 2), 1);
    up(&mut e, P1, 0);
    let fx = e.handle(Event::Died(8033), at(10));
    assert!(
        fx.contains(&Effect::RunScript),
        "the first attempt is at once"
    );
    let mut t = 10;
    for wait in [2u64, 4, 8] {
        let fx = e.handle(Event::ScriptEnded(ScriptEnd::Status(1)), at(t));
        assert_eq!(
            logs(&fx),
            [
                "Restart script of (crond) exited with status 1".to_owned(),
                "Set pid fail (crond)".to_owned(),
                format!("Next restart of (crond) in {wait} s"),
            ]
        );
        assert!(!fx.contains(&Effect::RunScript), "waits first");
        let until = std::time::Duration::from_secs(t as u64 + wait);
        assert_eq!(e.phase, Phase::Backoff { until });
        assert_eq!(e.backoff_until(), Some(until));
        assert!(e.handle(Event::Scan(vec![]), at(t + 1)).is_empty());
        t += wait as i64;
        let fx = e.handle(Event::BackoffOver, at(t));
        assert_eq!(logs(&fx), ["Try to restart (crond)"]);
        assert!(fx.contains(&Effect::RunScript));
    }
    // found at last: the next outage starts without a wait again
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(t));
    up(&mut e, P2, t);
    assert_eq!(e.r.retry_count, 0);
    let fx = e.handle(Event::Died(8107), at(t + 1));
    assert!(fx.contains(&Effect::RunScript));
    assert_eq!(backoff_of(&fx), None);

    // the last allowed failure goes to RETRY_OVER at once, without a wait
    let (mut f, _) = Entry::new(
        with(|p| {
            p.retry_delay = 5;
            p.retries = 1;
        }),
        1,
    );
    up(&mut f, P1, 0);
    f.handle(Event::Died(8033), at(1));
    let fx = f.handle(Event::ScriptEnded(ScriptEnd::Status(1)), at(2));
    assert_eq!(
        logs(&fx)[1..],
        ["Set pid fail (crond)", "(crond) RETRY_OVER:EXIT"]
    );
    assert!(fx.contains(&Effect::Exit(1)));
}

#[test]
fn a_reload_ends_a_backoff_wait() {
    let c = with(|p| p.retry_delay = 100);
    let (mut e, _) = Entry::new(c.clone(), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died(8033), at(1));
    e.handle(Event::ScriptEnded(ScriptEnd::Status(1)), at(2));
    assert!(matches!(e.phase, Phase::Backoff { .. }));
    let fx = e.reconfigure(c, 1, at(3));
    assert_eq!(logs(&fx), ["Try to restart (crond)"]);
    assert!(fx.contains(&Effect::RunScript));
    assert_eq!((e.r.restart_count, e.r.retry_count), (2, 1));
    // and a stop ends it too (start searches again)
    let (mut f, _) = Entry::new(with(|p| p.retry_delay = 100), 1);
    up(&mut f, P1, 0);
    f.handle(Event::Died(8033), at(1));
    f.handle(Event::ScriptEnded(ScriptEnd::Status(1)), at(2));
    f.stop();
    assert!(f.handle(Event::BackoffOver, at(200)).is_empty());
    assert_eq!(f.start(), [Effect::ScanNow]);
}

fn health(failures: u32) -> Process {
    with(|p| {
        p.health = Some(Box::new(psctl::model::Health {
            check: psctl::model::HealthCheck::Exec("/x/alive".into()),
            interval: 10,
            timeout: 5,
            failures,
        }))
    })
}

#[test]
fn consecutive_failed_checks_stall_then_stop_and_the_death_takes_the_normal_path() {
    let (mut e, _) = Entry::new(health(3), 1);
    assert!(!e.wants_health(), "nothing to check before it is found");
    up(&mut e, P1, 0);
    assert!(e.wants_health());
    assert_eq!(e.health_target(), Some(P1));
    assert!(e.handle(Event::Health(false), at(10)).is_empty());
    assert!(e.handle(Event::Health(false), at(20)).is_empty());
    assert!(
        e.handle(Event::Health(true), at(30)).is_empty(),
        "a success resets"
    );
    assert!(e.handle(Event::Health(false), at(40)).is_empty());
    assert!(e.handle(Event::Health(false), at(50)).is_empty());
    let fx = e.handle(Event::Health(false), at(60));
    assert_eq!(logs(&fx), ["Process [crond, pid=8033] Stall"]);
    assert!(fx.contains(&Effect::Stop(P1)));
    assert_eq!(e.stalled, Some(8033));
    assert!(!e.wants_health(), "no checks while it is being stopped");
    assert!(e.handle(Event::Health(false), at(61)).is_empty());
    let fx = e.handle(Event::Died(8033), at(65));
    assert_eq!(
        logs(&fx),
        ["Process [crond, pid=8033] Down", "Try to restart (crond)"]
    );
    assert_eq!(e.r.restart_count, 1);
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(66));
    up(&mut e, P2, 66);
    assert_eq!((e.stalled, e.health_failures), (None, 0));
    assert!(e.wants_health());
    // a single failure is enough with failures = 1
    let (mut f, _) = Entry::new(health(1), 1);
    up(&mut f, P1, 0);
    assert!(f
        .handle(Event::Health(false), at(1))
        .contains(&Effect::Stop(P1)));
}

fn id(pid: i32) -> Ident {
    Ident {
        pid,
        start: pid as u64,
    }
}

#[test]
fn instances_watch_the_n_oldest_and_a_death_below_n_is_one_restart() {
    let (mut e, _) = Entry::new(with(|p| p.instances = 3), 2);
    assert!(e.handle(Event::Scan(vec![id(1), id(2)]), at(0)).is_empty());
    let fx = e.handle(Event::Scan(vec![id(1), id(2), id(3)]), at(1));
    assert_eq!(
        logs(&fx),
        [
            "(crond ,pid=1) Up",
            "(crond ,pid=2) Up",
            "(crond ,pid=3) Up"
        ]
    );
    for p in 1..=3 {
        assert!(fx.contains(&Effect::Watch(id(p))));
    }
    assert_eq!(e.pid, 1, "show pent shows the oldest");
    // one dies while a fourth runs: it is watched instead, nothing is restarted
    let fx = e.handle(Event::Died(2), at(5));
    assert_eq!(fx, [Effect::ScanNow]);
    assert!(e.wants_scan());
    let fx = e.handle(Event::Scan(vec![id(1), id(3), id(4)]), at(5));
    assert_eq!(logs(&fx), ["(crond ,pid=4) Up"]);
    assert!(fx.contains(&Effect::Watch(id(4))));
    assert_eq!(e.ids, [id(1), id(3), id(4)]);
    // one dies and no spare: Down for that pid, one restart
    e.handle(Event::Died(3), at(10));
    let fx = e.handle(Event::Scan(vec![id(1), id(4)]), at(10));
    assert_eq!(
        logs(&fx),
        ["Process [crond, pid=3] Down", "Try to restart (crond)"]
    );
    assert_eq!(fx.iter().filter(|f| **f == Effect::RunScript).count(), 1);
    assert_eq!(e.r.restart_count, 1);
    // after the restart, N are looked for over MONITOR_TRY_COUNT scans; fewer is a failure
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(11));
    assert!(e.handle(Event::Scan(vec![id(1), id(4)]), at(11)).is_empty());
    let fx = e.handle(Event::Scan(vec![id(1), id(4)]), at(21));
    assert_eq!(
        logs(&fx),
        ["Set pid fail (crond)", "Try to restart (crond)"]
    );
    assert_eq!(e.r.retry_count, 1);
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(22));
    let fx = e.handle(Event::Scan(vec![id(1), id(4), id(9)]), at(22));
    assert_eq!(logs(&fx).len(), 3);
    assert_eq!((e.proc_sts, e.r.retry_count), (ProcSts::Avail, 0));
}

/// The daemon's routing between members and their group, in miniature.
struct World {
    members: Vec<Entry>,
    group: GroupState,
    log: Vec<String>,
    scripts: u32,
    exit: Option<i32>,
}

impl World {
    fn new(retries: u32) -> World {
        let m = |n: &str| {
            let mut p = Process::new(n);
            p.group = Some("frontend".into());
            Entry::new(p, 1).0
        };
        let g = psctl::model::Group {
            name: "frontend".into(),
            restart: Restart::Script("/x/restart_frontend.sh".into()),
            grace: 86400,
            retries,
            on_retry_over: Action::Exit,
        };
        World {
            members: vec![m("nginx"), m("php-fpm")],
            group: GroupState::new(g, 2, 0),
            log: Vec::new(),
            scripts: 0,
            exit: None,
        }
    }

    fn entry(&mut self, i: usize, ev: Event, now: i64) {
        let fx = self.members[i].handle(ev, at(now));
        self.run(Some(i), fx, now);
    }

    fn group(&mut self, ev: GroupEvent, now: i64) {
        let fx = self.group.handle(ev, at(now));
        self.run(None, fx, now);
    }

    fn run(&mut self, from: Option<usize>, fx: Vec<Effect>, now: i64) {
        for f in fx {
            match f {
                Effect::Log(m) => self.log.push(m.text()),
                Effect::RunScript => self.scripts += 1,
                Effect::Member(note) => self.group(GroupEvent::Member(from.unwrap(), note), now),
                Effect::Members(cmd) => {
                    for i in 0..self.members.len() {
                        self.entry(i, Event::Group(cmd), now);
                    }
                }
                Effect::Exit(c) => self.exit = Some(c),
                _ => {}
            }
        }
    }

    fn take_log(&mut self) -> Vec<String> {
        std::mem::take(&mut self.log)
    }
}

#[test]
fn a_group_restarts_once_for_any_member_and_needs_every_member_back() {
    let mut w = World::new(3);
    w.entry(0, Event::Scan(vec![id(10)]), 0);
    w.entry(1, Event::Scan(vec![id(20)]), 0);
    assert_eq!(w.take_log(), ["(nginx ,pid=10) Up", "(php-fpm ,pid=20) Up"]);
    assert_eq!(
        (w.group.proc_sts, w.group.phase),
        (ProcSts::Avail, GroupPhase::Watching)
    );
    // php-fpm dies: one restart, named after the group
    w.entry(1, Event::Died(20), 5);
    assert_eq!(
        w.take_log(),
        [
            "Process [php-fpm, pid=20] Down",
            "Try to restart (frontend)"
        ]
    );
    assert_eq!((w.scripts, w.group.r.restart_count), (1, 1));
    assert_eq!(w.group.r.rerun_time, Some(5));
    // the script stops nginx (still alive, left to it): no second restart
    w.entry(0, Event::Died(10), 6);
    assert_eq!(w.take_log(), ["Process [nginx, pid=10] Down"]);
    assert_eq!(w.scripts, 1);
    // script done: both look again; the group is up only when both are found
    w.group(GroupEvent::ScriptEnded(ScriptEnd::Ok), 7);
    assert_eq!(w.group.phase, GroupPhase::Searching);
    w.entry(0, Event::Scan(vec![id(11)]), 7);
    assert_eq!(w.group.phase, GroupPhase::Searching);
    w.entry(1, Event::Scan(vec![id(21)]), 7);
    assert_eq!(
        (w.group.phase, w.group.proc_sts),
        (GroupPhase::Watching, ProcSts::Avail)
    );
    assert_eq!(w.take_log(), ["(nginx ,pid=11) Up", "(php-fpm ,pid=21) Up"]);
    // members keep no counters of their own
    assert_eq!(w.members[0].r, Restarts::default());
    assert_eq!(w.members[1].r, Restarts::default());
}

#[test]
fn a_group_member_still_alive_after_the_script_counts_as_found() {
    let mut w = World::new(3);
    w.entry(0, Event::Scan(vec![id(10)]), 0);
    w.entry(1, Event::Scan(vec![id(20)]), 0);
    w.entry(0, Event::Died(10), 5);
    w.group(GroupEvent::ScriptEnded(ScriptEnd::Ok), 6);
    // php-fpm was left running by the script: still watched, answers at once
    assert!(w.group.up[1]);
    w.entry(0, Event::Scan(vec![id(11)]), 6);
    assert_eq!(w.group.phase, GroupPhase::Watching);
}

#[test]
fn a_group_member_missing_after_the_restart_fails_the_attempt_then_retry_over() {
    let mut w = World::new(2);
    w.entry(0, Event::Scan(vec![id(10)]), 0);
    w.entry(1, Event::Scan(vec![id(20)]), 0);
    w.entry(0, Event::Died(10), 5);
    w.take_log();
    w.group(GroupEvent::ScriptEnded(ScriptEnd::Ok), 6);
    w.entry(1, Event::Group(MemberCmd::Search), 6); // stale repeat: harmless
    w.entry(0, Event::Scan(vec![]), 7);
    assert_eq!(
        w.take_log(),
        ["Set pid fail (nginx)", "Try to restart (frontend)"]
    );
    assert_eq!((w.group.r.retry_count, w.group.r.restart_count), (1, 2));
    // the script fails: named after the group, then retry over for the whole group
    w.group(GroupEvent::ScriptEnded(ScriptEnd::Status(4)), 8);
    assert_eq!(
        w.take_log(),
        [
            "Restart script of (frontend) exited with status 4",
            "Set pid fail (frontend)",
            "(frontend) RETRY_OVER:EXIT"
        ]
    );
    assert_eq!(w.exit, Some(1));
    assert_eq!(w.group.proc_sts, ProcSts::RetryOver);
    for m in &w.members {
        assert_eq!(
            (m.proc_sts, m.phase),
            (ProcSts::RetryOver, Phase::RetryOver)
        );
    }
}

#[test]
fn a_group_member_missing_at_start_restarts_the_group() {
    let mut w = World::new(3);
    w.entry(0, Event::Scan(vec![id(10)]), 0);
    w.entry(1, Event::Scan(vec![]), 0);
    assert_eq!(
        w.take_log(),
        [
            "(nginx ,pid=10) Up",
            "Set pid fail (php-fpm)",
            "Try to restart (frontend)"
        ]
    );
    assert_eq!(w.scripts, 1);
}

#[test]
fn a_stalled_group_member_is_the_groups_event() {
    let mut w = World::new(3);
    let h = health(1).health;
    w.members[1].cfg.health = h;
    w.entry(0, Event::Scan(vec![id(10)]), 0);
    w.entry(1, Event::Scan(vec![id(20)]), 0);
    w.take_log();
    let fx = w.members[1].handle(Event::Health(false), at(10));
    assert!(fx.contains(&Effect::Stop(id(20))));
    w.run(Some(1), fx, 10);
    w.entry(1, Event::Died(20), 11);
    assert_eq!(
        w.take_log(),
        [
            "Process [php-fpm, pid=20] Stall",
            "Process [php-fpm, pid=20] Down",
            "Try to restart (frontend)"
        ]
    );
}

#[test]
fn new_log_lines() {
    assert_eq!(
        Msg::Stall("nginx".into(), 8033).text(),
        "Process [nginx, pid=8033] Stall"
    );
    assert_eq!(
        Msg::Backoff("a\nb".into(), 4).text(),
        "Next restart of (a\\nb) in 4 s"
    );
}

#[test]
fn a_retried_over_group_is_reset_by_a_reload_and_stop_start_searches_again() {
    let mut w = World::new(0);
    w.entry(0, Event::Scan(vec![id(10)]), 0);
    w.entry(1, Event::Scan(vec![id(20)]), 0);
    w.entry(0, Event::Died(10), 5);
    assert_eq!(
        w.take_log(),
        [
            "(nginx ,pid=10) Up",
            "(php-fpm ,pid=20) Up",
            "Process [nginx, pid=10] Down",
            "(frontend) RETRY_OVER:EXIT"
        ]
    );
    assert_eq!(w.members[1].phase, Phase::RetryOver);
    // a reload: the group is reset, its members search again and report
    let cfg = w.group.cfg.clone();
    let fx = w.group.reconfigure(cfg, 0, vec![false, false], at(10));
    assert!(fx.is_empty());
    assert_eq!(w.group.phase, GroupPhase::Watching);
    for i in 0..2 {
        let c = w.members[i].cfg.clone();
        assert_eq!(w.members[i].reconfigure(c, 1, at(10)), [Effect::ScanNow]);
    }
    w.entry(0, Event::Scan(vec![id(11)]), 11);
    w.entry(1, Event::Scan(vec![id(21)]), 11);
    assert_eq!(w.group.proc_sts, ProcSts::Avail);
    assert_eq!(w.group.r, Restarts::default());
    // padmin stop, then start: members search; one missing is the group's event
    w.group.stop();
    for m in &mut w.members {
        m.stop();
    }
    assert_eq!(w.group.phase, GroupPhase::Stopped);
    w.group.start();
    for i in 0..2 {
        assert_eq!(w.members[i].start(), [Effect::ScanNow]);
    }
    w.take_log();
    w.entry(0, Event::Scan(vec![id(11)]), 20);
    w.entry(1, Event::Scan(vec![]), 20);
    assert_eq!(
        w.take_log(),
        [
            "(nginx ,pid=11) Up",
            "Set pid fail (php-fpm)",
            "(frontend) RETRY_OVER:EXIT"
        ],
        "retries 0: the first event is a retry over"
    );
}

#[test]
fn a_group_with_restart_none_only_reports() {
    let mut w = World::new(3);
    w.group.cfg.restart = Restart::None;
    w.entry(0, Event::Scan(vec![id(10)]), 0);
    w.entry(1, Event::Scan(vec![id(20)]), 0);
    w.entry(0, Event::Died(10), 5);
    assert_eq!(w.scripts, 0);
    assert_eq!(w.members[0].phase, Phase::Awaiting);
    assert!(w.members[0].wants_scan());
    w.entry(0, Event::Scan(vec![id(12)]), 6);
    assert_eq!(w.group.proc_sts, ProcSts::Avail);
    assert_eq!(w.group.r, Restarts::default());
}

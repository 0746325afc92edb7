use super::*;

fn cfg(restart: Restart, grace: u64, retries: u32, action: Action) -> Process {
    Process {
        name: "crond".into(),
        restart,
        grace,
        retries,
        on_retry_over: action,
        user: Vec::new(),
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
    e.handle(Event::Scan(Some(id)), at(now))
}

#[test]
fn found_at_start_is_up_and_watched() {
    let (mut e, fx) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    assert_eq!(fx, vec![Effect::ScanNow]);
    let fx = up(&mut e, P1, 0);
    assert_eq!(logs(&fx), ["(crond ,pid=8033) Up"]);
    assert!(fx.contains(&Effect::Watch(P1)));
    assert_eq!(
        (e.proc_sts, e.pid, e.rerun_time),
        (ProcSts::Avail, 8033, None)
    );
}

#[test]
fn guide_walkthrough_three_restarts_then_retry_over() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    up(&mut e, P1, 0);
    for round in 1..=3u32 {
        let now = 100 * round as i64;
        let fx = e.handle(Event::Died, at(now));
        assert_eq!(
            logs(&fx),
            ["Process [crond, pid=8033] Down", "Try to restart (crond)"]
        );
        assert!(fx.contains(&Effect::RunScript));
        assert_eq!(e.restart_count, round);
        assert_eq!(e.rerun_time, Some(100), "window opened at the first death");
        assert_eq!(
            e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(now + 10)),
            [Effect::ScanNow]
        );
        let fx = up(&mut e, P1, now + 10);
        assert_eq!(logs(&fx), ["(crond ,pid=8033) Up"]);
    }
    let fx = e.handle(Event::Died, at(1000));
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
        (e.proc_sts, e.restart_count, e.retry_count),
        (ProcSts::RetryOver, 3, 0)
    );
    assert!(!e.wants_scan());
    // reload resets and searches again
    let fx = e.reconfigure(cfg(script(), 86400, 3, Action::Continue), 2);
    assert_eq!(fx, [Effect::ScanNow]);
    up(&mut e, P2, 1100);
    assert_eq!(
        (e.proc_sts, e.pid, e.restart_count, e.rerun_time),
        (ProcSts::Avail, 8107, 0, None)
    );
}

#[test]
fn exit_and_shutdown_actions() {
    for (action, code, word) in [(Action::Exit, 1, "EXIT"), (Action::Shutdown, 0, "SHUTDOWN")] {
        let (mut e, _) = Entry::new(cfg(script(), 0, 0, action), 1);
        up(&mut e, P1, 0);
        let fx = e.handle(Event::Died, at(5));
        assert_eq!(logs(&fx)[1], format!("(crond) RETRY_OVER:{word}"));
        assert_eq!(fx.last(), Some(&Effect::Exit(code)));
    }
}

#[test]
fn grace_window_expiry_resets_the_count() {
    let (mut e, _) = Entry::new(cfg(script(), 10, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died, at(100));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(100));
    up(&mut e, P1, 101);
    // exactly `grace` seconds later the window is still open
    let fx = e.handle(Event::Died, at(110));
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
    let (mut e, _) = Entry::new(cfg(script(), 10, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died, at(100));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(100));
    up(&mut e, P1, 101);
    let fx = e.handle(Event::Died, at(111));
    assert_eq!(logs(&fx)[1], "Try to restart (crond)");
    assert_eq!((e.restart_count, e.rerun_time), (1, Some(111)));
}

#[test]
fn grace_zero_never_ends() {
    let (mut e, _) = Entry::new(cfg(script(), 0, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died, at(100));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(100));
    up(&mut e, P1, 101);
    let fx = e.handle(Event::Died, at(100_000_000));
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
}

#[test]
fn retry_zero_first_death_is_retry_over() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 0, Action::Continue), 1);
    up(&mut e, P1, 0);
    let fx = e.handle(Event::Died, at(1));
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
}

#[test]
fn failing_script_counts_retries_and_logs_status() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 2, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died, at(1));
    let fx = e.handle(Event::ScriptEnded(ScriptEnd::Status(3)), at(2));
    assert_eq!(
        logs(&fx),
        [
            "Restart script of (crond) exited with status 3",
            "Set pid fail (crond)",
            "Try to restart (crond)"
        ]
    );
    assert_eq!((e.retry_count, e.restart_count), (1, 2));
    let fx = e.handle(Event::ScriptEnded(ScriptEnd::TimedOut(5)), at(3));
    assert_eq!(
        logs(&fx)[1..],
        ["Set pid fail (crond)", "(crond) RETRY_OVER:CONTINUE"]
    );
    assert_eq!((e.retry_count, e.restart_count), (2, 2));
}

#[test]
fn not_found_after_restart_uses_try_count_scans() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 1, Action::Continue), 3);
    up(&mut e, P1, 0);
    e.handle(Event::Died, at(1));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(2));
    assert!(e.handle(Event::Scan(None), at(2)).is_empty());
    assert!(e.handle(Event::Scan(None), at(3)).is_empty());
    let fx = e.handle(Event::Scan(None), at(4));
    assert_eq!(
        logs(&fx),
        ["Set pid fail (crond)", "(crond) RETRY_OVER:CONTINUE"]
    );
    assert_eq!(e.retry_count, 1);
}

#[test]
fn missing_at_start_is_set_pid_fail_then_restart_without_down() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    assert!(e.handle(Event::Scan(None), at(0)).is_empty());
    let fx = e.handle(Event::Scan(None), at(10));
    assert_eq!(
        logs(&fx),
        ["Set pid fail (crond)", "Try to restart (crond)"]
    );
    assert_eq!((e.retry_count, e.restart_count, e.pid), (0, 1, 0));
}

#[test]
fn report_only_entry_logs_up_again_and_moves_no_counter() {
    let (mut e, _) = Entry::new(cfg(Restart::None, 86400, 3, Action::Exit), 1);
    up(&mut e, P1, 0);
    let fx = e.handle(Event::Died, at(1));
    assert_eq!(logs(&fx), ["Process [crond, pid=8033] Down"]);
    assert!(e.wants_scan());
    assert!(e.handle(Event::Scan(None), at(2)).is_empty());
    assert!(e.handle(Event::Scan(None), at(3)).is_empty());
    let fx = up(&mut e, P2, 4);
    assert_eq!(logs(&fx), ["(crond ,pid=8107) Up"]);
    assert_eq!((e.restart_count, e.retry_count, e.rerun_time), (0, 0, None));
}

#[test]
fn stop_and_start() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    up(&mut e, P1, 0);
    assert_eq!(e.stop(), [Effect::Unwatch]);
    assert!(!e.monitor_on);
    assert!(
        e.handle(Event::Died, at(1)).is_empty(),
        "a stopped entry ignores deaths"
    );
    assert_eq!(e.start(), [Effect::ScanNow]);
    assert!(e.monitor_on);
    up(&mut e, P2, 2);
    assert_eq!(e.phase, Phase::Watching(P2));
}

#[test]
fn script_outliving_a_stop_is_awaited_after_start() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    up(&mut e, P1, 0);
    e.handle(Event::Died, at(1));
    e.stop();
    assert!(e.script_running);
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
    f.handle(Event::Died, at(1));
    f.stop();
    assert!(f
        .handle(Event::ScriptEnded(ScriptEnd::Status(1)), at(2))
        .is_empty());
    assert!(!f.script_running);
    assert_eq!(f.start(), [Effect::ScanNow]);
}

#[test]
fn stale_events_are_ignored() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    assert!(e.handle(Event::Died, at(0)).is_empty());
    up(&mut e, P1, 0);
    assert!(e.handle(Event::Scan(Some(P2)), at(1)).is_empty());
    assert_eq!(e.phase, Phase::Watching(P1));
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
        e.handle(Event::Died, t(1000, 5000));
        assert_eq!(e.rerun_time, Some(5000));
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), t(1001, 5001));
        up(&mut e, P1, 1001);
        // 50 s later on the boot clock, the wall clock jumped: still the same window
        let fx = e.handle(Event::Died, t(1050, 5050 + jump));
        assert_eq!(logs(&fx)[1], "Try to restart (crond)", "jump {jump}");
        assert_eq!((e.restart_count, e.rerun_time), (2, Some(5000)));
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), t(1051, 5051 + jump));
        up(&mut e, P1, 1051);
        // still inside it: retry over, whatever the wall clock says
        let fx = e.handle(Event::Died, t(1090, 5090 + jump));
        assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE", "jump {jump}");
    }
    // and a window that is over on the boot clock is over even if the wall clock went back
    let (mut e, _) = Entry::new(cfg(script(), 100, 1, Action::Continue), 2);
    up(&mut e, P1, 0);
    e.handle(Event::Died, t(1000, 5000));
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), t(1001, 5001));
    up(&mut e, P1, 1001);
    let fx = e.handle(Event::Died, t(1101, 4000));
    assert_eq!(logs(&fx)[1], "Try to restart (crond)");
    assert_eq!((e.restart_count, e.rerun_time), (1, Some(4000)));
}

/// Finding 8: a script pcheck could not start for lack of resources is started again later,
/// and neither the failed start nor the retry counts as another restart or a failure.
#[test]
fn a_start_without_resources_is_retried_without_counting() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 1, Action::Exit), 2);
    up(&mut e, P1, 0);
    let fx = e.handle(Event::Died, at(1));
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
    assert_eq!((e.restart_count, e.retry_count), (1, 0));
    assert_eq!(
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(3)),
        [Effect::ScanNow]
    );
    // a refusal (trust rules) is the script's failure: it counts
    let (mut f, _) = Entry::new(cfg(script(), 86400, 1, Action::Exit), 2);
    up(&mut f, P1, 0);
    f.handle(Event::Died, at(1));
    let fx = f.handle(
        Event::ScriptEnded(ScriptEnd::SpawnFailed("refused".into())),
        at(1),
    );
    assert!(fx.contains(&Effect::Exit(1)));
    assert_eq!(f.retry_count, 1);
}

/// Finding 9: while a script adopted from before a reload (or from the previous pcheck) runs,
/// the entry waits for it instead of starting a second one; its end counts as the attempt.
#[test]
fn never_two_scripts_at_once() {
    let (mut e, fx) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 1);
    assert_eq!(fx, [Effect::ScanNow]);
    e.adopt_script();
    let fx = e.handle(Event::Scan(None), at(1));
    assert_eq!(logs(&fx), ["Set pid fail (crond)"]);
    assert!(!fx.contains(&Effect::RunScript), "{fx:?}");
    assert_eq!((e.phase, e.restart_count), (Phase::Restarting, 0));
    assert_eq!(
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), at(2)),
        [Effect::ScanNow]
    );
    let fx = e.handle(Event::Scan(None), at(3));
    assert!(
        fx.contains(&Effect::RunScript),
        "the next attempt is a new script"
    );
    assert_eq!((e.restart_count, e.retry_count), (1, 1));
    // found while the adopted script runs: Up, and its end is then ignored
    let (mut g, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 1);
    g.adopt_script();
    up(&mut g, P1, 1);
    assert!(g
        .handle(Event::ScriptEnded(ScriptEnd::Status(1)), at(2))
        .is_empty());
    assert_eq!(g.phase, Phase::Watching(P1));
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

use super::*;

fn cfg(restart: Restart, grace: u64, retries: u32, action: Action) -> Process {
    Process {
        name: "crond".into(),
        restart,
        grace,
        retries,
        on_retry_over: action,
        user: Vec::new(),
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

fn up(e: &mut Entry, id: Ident, now: Wall) -> Vec<Effect> {
    e.handle(Event::Scan(Some(id)), now)
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
        let fx = e.handle(Event::Died, now);
        assert_eq!(
            logs(&fx),
            ["Process [crond, pid=8033] Down", "Try to restart (crond)"]
        );
        assert!(fx.contains(&Effect::RunScript));
        assert_eq!(e.restart_count, round);
        assert_eq!(e.rerun_time, Some(100), "window opened at the first death");
        assert_eq!(
            e.handle(Event::ScriptEnded(ScriptEnd::Ok), now + 10),
            [Effect::ScanNow]
        );
        let fx = up(&mut e, P1, now + 10);
        assert_eq!(logs(&fx), ["(crond ,pid=8033) Up"]);
    }
    let fx = e.handle(Event::Died, 1000);
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
        let fx = e.handle(Event::Died, 5);
        assert_eq!(logs(&fx)[1], format!("(crond) RETRY_OVER:{word}"));
        assert_eq!(fx.last(), Some(&Effect::Exit(code)));
    }
}

#[test]
fn grace_window_expiry_resets_the_count() {
    let (mut e, _) = Entry::new(cfg(script(), 10, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died, 100);
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), 100);
    up(&mut e, P1, 101);
    // exactly `grace` seconds later the window is still open
    let fx = e.handle(Event::Died, 110);
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
    let (mut e, _) = Entry::new(cfg(script(), 10, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died, 100);
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), 100);
    up(&mut e, P1, 101);
    let fx = e.handle(Event::Died, 111);
    assert_eq!(logs(&fx)[1], "Try to restart (crond)");
    assert_eq!((e.restart_count, e.rerun_time), (1, Some(111)));
}

#[test]
fn grace_zero_never_ends() {
    let (mut e, _) = Entry::new(cfg(script(), 0, 1, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died, 100);
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), 100);
    up(&mut e, P1, 101);
    let fx = e.handle(Event::Died, 100_000_000);
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
}

#[test]
fn retry_zero_first_death_is_retry_over() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 0, Action::Continue), 1);
    up(&mut e, P1, 0);
    let fx = e.handle(Event::Died, 1);
    assert_eq!(logs(&fx)[1], "(crond) RETRY_OVER:CONTINUE");
}

#[test]
fn failing_script_counts_retries_and_logs_status() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 2, Action::Continue), 1);
    up(&mut e, P1, 0);
    e.handle(Event::Died, 1);
    let fx = e.handle(Event::ScriptEnded(ScriptEnd::Status(3)), 2);
    assert_eq!(
        logs(&fx),
        [
            "Restart script of (crond) exited with status 3",
            "Set pid fail (crond)",
            "Try to restart (crond)"
        ]
    );
    assert_eq!((e.retry_count, e.restart_count), (1, 2));
    let fx = e.handle(Event::ScriptEnded(ScriptEnd::TimedOut(5)), 3);
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
    e.handle(Event::Died, 1);
    e.handle(Event::ScriptEnded(ScriptEnd::Ok), 2);
    assert!(e.handle(Event::Scan(None), 2).is_empty());
    assert!(e.handle(Event::Scan(None), 3).is_empty());
    let fx = e.handle(Event::Scan(None), 4);
    assert_eq!(
        logs(&fx),
        ["Set pid fail (crond)", "(crond) RETRY_OVER:CONTINUE"]
    );
    assert_eq!(e.retry_count, 1);
}

#[test]
fn missing_at_start_is_set_pid_fail_then_restart_without_down() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    assert!(e.handle(Event::Scan(None), 0).is_empty());
    let fx = e.handle(Event::Scan(None), 10);
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
    let fx = e.handle(Event::Died, 1);
    assert_eq!(logs(&fx), ["Process [crond, pid=8033] Down"]);
    assert!(e.wants_scan());
    assert!(e.handle(Event::Scan(None), 2).is_empty());
    assert!(e.handle(Event::Scan(None), 3).is_empty());
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
        e.handle(Event::Died, 1).is_empty(),
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
    e.handle(Event::Died, 1);
    e.stop();
    assert!(e.script_running);
    e.start();
    assert_eq!(e.phase, Phase::Restarting);
    assert_eq!(
        e.handle(Event::ScriptEnded(ScriptEnd::Ok), 2),
        [Effect::ScanNow]
    );
    // ...but ignored when it ends while stopped
    e.stop();
    let (mut f, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    up(&mut f, P1, 0);
    f.handle(Event::Died, 1);
    f.stop();
    assert!(f
        .handle(Event::ScriptEnded(ScriptEnd::Status(1)), 2)
        .is_empty());
    assert!(!f.script_running);
    assert_eq!(f.start(), [Effect::ScanNow]);
}

#[test]
fn stale_events_are_ignored() {
    let (mut e, _) = Entry::new(cfg(script(), 86400, 3, Action::Continue), 2);
    assert!(e.handle(Event::Died, 0).is_empty());
    up(&mut e, P1, 0);
    assert!(e.handle(Event::Scan(Some(P2)), 1).is_empty());
    assert_eq!(e.phase, Phase::Watching(P1));
}

//! The per-entry state machine of spec 3.3, kept pure: events and the clocks go in, effects
//! come out. The event loop (`daemon`) performs the effects and feeds back what happened.

use std::time::Duration;

use psctl::model::{Action, Process, Restart};

/// Wall-clock seconds since the epoch: only ever displayed (`rerun_time`).
pub type Wall = i64;

/// The moment an event is handled, on both clocks: `boot` (CLOCK_BOOTTIME, never jumps)
/// measures grace windows; `wall` is what `rerun_time` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Now {
    pub boot: Duration,
    pub wall: Wall,
}

/// A process as pcheck knows it: pid *and* start time (clock ticks after boot, field 22 of
/// /proc/PID/stat), so that a recycled pid is never taken for the watched process.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Ident {
    pub pid: i32,
    pub start: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProcSts {
    Avail,
    Down,
    RetryOver,
}

impl ProcSts {
    pub fn as_str(self) -> &'static str {
        match self {
            ProcSts::Avail => "AVAIL",
            ProcSts::Down => "DOWN",
            ProcSts::RetryOver => "RETRY_OVER",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Phase {
    /// Looking for the process; `scans_left` more scans before "Set pid fail". `after_restart`:
    /// a failure counts as a failed restart (step 4) rather than a start-up miss (step 1).
    Searching {
        scans_left: u32,
        after_restart: bool,
    },
    Watching(Ident),
    /// The restart script runs (or one started earlier still does: its end is this attempt's).
    Restarting,
    /// The script could not be started for lack of resources; it is started when the daemon
    /// says `RetryScript`, without counting another restart.
    Deferred,
    /// Restart `-`: down, waiting for the process to come back by itself.
    Awaiting,
    /// Retry over with `continue`: no longer watched.
    RetryOver,
    /// `padmin -c stop`.
    Stopped,
}

/// How a restart script ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScriptEnd {
    Ok,
    Status(i32),
    Signal(i32),
    TimedOut(u64),
    SpawnFailed(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A scan that concerned this entry: what it found.
    Scan(Option<Ident>),
    /// The watched process exited.
    Died,
    ScriptEnded(ScriptEnd),
    /// `RunScript` failed for lack of resources (EMFILE, EAGAIN, ...): not the script's failure.
    SpawnLater(String),
    /// Time to try starting a deferred script again.
    RetryScript,
}

/// A log line. `text()` is the exact wording of spec 3.4.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Up(String, i32),
    Down(String, i32),
    TryRestart(String),
    SetPidFail(String),
    RetryOver(String, Action),
    Script(String, ScriptEnd),
    Deferred(String, String),
}

impl Msg {
    /// The line, with the pname and any message shown escaped (`psctl::escape`), so that a
    /// name cannot forge a log line; otherwise the exact wording of spec 3.4.
    pub fn text(&self) -> String {
        use psctl::escape::for_display as esc;
        let (Msg::Up(n, _)
        | Msg::Down(n, _)
        | Msg::TryRestart(n)
        | Msg::SetPidFail(n)
        | Msg::RetryOver(n, _)
        | Msg::Script(n, _)
        | Msg::Deferred(n, _)) = self;
        let n = esc(n);
        match self {
            Msg::Up(_, pid) => format!("({n} ,pid={pid}) Up"),
            Msg::Down(_, pid) => format!("Process [{n}, pid={pid}] Down"),
            Msg::TryRestart(_) => format!("Try to restart ({n})"),
            Msg::SetPidFail(_) => format!("Set pid fail ({n})"),
            Msg::RetryOver(_, a) => {
                format!("({n}) RETRY_OVER:{}", a.as_str().to_ascii_uppercase())
            }
            Msg::Deferred(_, e) => format!(
                "Restart script of ({n}) could not be started ({}); trying again shortly",
                esc(e)
            ),
            Msg::Script(_, end) => match end {
                ScriptEnd::Ok => format!("Restart script of ({n}) exited with status 0"),
                ScriptEnd::Status(s) => format!("Restart script of ({n}) exited with status {s}"),
                ScriptEnd::Signal(s) => format!("Restart script of ({n}) killed by signal {s}"),
                ScriptEnd::TimedOut(t) => {
                    format!("Restart script of ({n}) timed out after {t} s; killed with its group")
                }
                ScriptEnd::SpawnFailed(e) => {
                    format!("Restart script of ({n}) not run: {}", esc(e))
                }
            },
        }
    }

    /// syslog severity (facility daemon is added by the logger).
    pub fn severity(&self) -> u8 {
        match self {
            Msg::Up(..) => 6,
            Msg::TryRestart(..) => 5,
            Msg::Down(..) => 4,
            Msg::SetPidFail(..) | Msg::Script(..) | Msg::Deferred(..) => 3,
            Msg::RetryOver(..) => 2,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    Log(Msg),
    /// Open a pidfd on this process and report `Died` when it exits (at once if it already has).
    Watch(Ident),
    /// Drop the pidfd, if any.
    Unwatch,
    RunScript,
    /// Feed `RetryScript` back after a short delay (a deferred start).
    RetryScriptLater,
    /// This entry wants a scan now, and every MONITOR_INTERVAL while it is searching.
    ScanNow,
    /// pcheck must shut down with this exit status.
    Exit(i32),
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub cfg: Process,
    /// Last watched pid (0 before the first).
    pub pid: i32,
    pub proc_sts: ProcSts,
    pub restart_count: u32,
    pub retry_count: u32,
    pub rerun_time: Option<Wall>,
    /// Start of the grace window on the boot clock (what decides whether it is over).
    pub window_start: Option<Duration>,
    pub phase: Phase,
    pub monitor_on: bool,
    /// A restart script of this entry is running (it may outlive a `stop` or a reload that
    /// removed the entry, or the pcheck that started it). Never a second one at once.
    pub script_running: bool,
    /// MONITOR_TRY_COUNT.
    pub try_count: u32,
}

impl Entry {
    /// A fresh entry, searching (step 1). The caller performs the returned effects.
    pub fn new(cfg: Process, try_count: u32) -> (Entry, Vec<Effect>) {
        let mut e = Entry {
            cfg,
            pid: 0,
            proc_sts: ProcSts::Down,
            restart_count: 0,
            retry_count: 0,
            rerun_time: None,
            window_start: None,
            phase: Phase::Stopped,
            monitor_on: true,
            script_running: false,
            try_count,
        };
        let fx = e.search(false);
        (e, fx)
    }

    /// Whether the event loop should include this entry in scans.
    pub fn wants_scan(&self) -> bool {
        matches!(self.phase, Phase::Searching { .. } | Phase::Awaiting)
    }

    fn search(&mut self, after_restart: bool) -> Vec<Effect> {
        self.phase = Phase::Searching {
            scans_left: self.try_count.max(1),
            after_restart,
        };
        vec![Effect::ScanNow]
    }

    /// A script started for this pname earlier (before a reload removed and re-added it, or by
    /// the pcheck before this one) still runs: no other may start until it ends.
    pub fn adopt_script(&mut self) {
        self.script_running = true;
    }

    pub fn handle(&mut self, ev: Event, now: Now) -> Vec<Effect> {
        let name = self.cfg.name.clone();
        match (self.phase, ev) {
            (Phase::Restarting, Event::SpawnLater(why)) => {
                self.script_running = false;
                self.phase = Phase::Deferred;
                vec![
                    Effect::Log(Msg::Deferred(name, why)),
                    Effect::RetryScriptLater,
                ]
            }
            (Phase::Deferred, Event::RetryScript) => {
                self.phase = Phase::Restarting;
                self.script_running = true;
                vec![Effect::RunScript]
            }
            (_, Event::ScriptEnded(end)) => {
                self.script_running = false;
                if self.phase != Phase::Restarting {
                    return Vec::new(); // outlived a stop or reload: reaped, result ignored
                }
                if end == ScriptEnd::Ok {
                    return self.search(true);
                }
                let mut fx = vec![Effect::Log(Msg::Script(name.clone(), end))];
                fx.extend(self.failed_attempt(now));
                fx
            }
            (Phase::Searching { .. } | Phase::Awaiting, Event::Scan(Some(id))) => {
                self.phase = Phase::Watching(id);
                self.pid = id.pid;
                self.proc_sts = ProcSts::Avail;
                self.retry_count = 0;
                vec![Effect::Log(Msg::Up(name, id.pid)), Effect::Watch(id)]
            }
            (
                Phase::Searching {
                    scans_left,
                    after_restart,
                },
                Event::Scan(None),
            ) => {
                if scans_left > 1 {
                    self.phase = Phase::Searching {
                        scans_left: scans_left - 1,
                        after_restart,
                    };
                    return Vec::new();
                }
                if after_restart {
                    return self.failed_attempt(now);
                }
                self.proc_sts = ProcSts::Down;
                let mut fx = vec![Effect::Log(Msg::SetPidFail(name))];
                fx.extend(self.after_death(now));
                fx
            }
            (Phase::Watching(id), Event::Died) => {
                self.proc_sts = ProcSts::Down;
                let mut fx = vec![Effect::Unwatch, Effect::Log(Msg::Down(name, id.pid))];
                fx.extend(self.after_death(now));
                fx
            }
            _ => Vec::new(), // stale: a scan or death that no longer concerns this phase
        }
    }

    /// Step 4's failure branch: count it, say so, decide again.
    fn failed_attempt(&mut self, now: Now) -> Vec<Effect> {
        self.retry_count = self.retry_count.saturating_add(1);
        self.proc_sts = ProcSts::Down;
        let mut fx = vec![Effect::Log(Msg::SetPidFail(self.cfg.name.clone()))];
        fx.extend(self.decide(now));
        fx
    }

    /// Step 2.
    fn after_death(&mut self, now: Now) -> Vec<Effect> {
        if self.cfg.restart == Restart::None {
            self.phase = Phase::Awaiting;
            return vec![Effect::ScanNow];
        }
        self.decide(now)
    }

    /// Steps 3 to 5.
    fn decide(&mut self, now: Now) -> Vec<Effect> {
        let expired = match self.window_start {
            None => true,
            Some(t) => {
                self.cfg.grace > 0
                    && now.boot.saturating_sub(t) > Duration::from_secs(self.cfg.grace)
            }
        };
        if expired {
            self.window_start = Some(now.boot);
            self.rerun_time = Some(now.wall);
            self.restart_count = 0;
        }
        if self.restart_count >= self.cfg.retries {
            self.proc_sts = ProcSts::RetryOver;
            self.phase = Phase::RetryOver;
            let action = self.cfg.on_retry_over;
            let mut fx = vec![Effect::Log(Msg::RetryOver(self.cfg.name.clone(), action))];
            match action {
                Action::Continue => {}
                Action::Exit => fx.push(Effect::Exit(1)),
                Action::Shutdown => fx.push(Effect::Exit(0)),
            }
            return fx;
        }
        self.phase = Phase::Restarting;
        if self.script_running {
            // An earlier script still runs: its end is this attempt's (spec 3.3, one at a time).
            return Vec::new();
        }
        self.restart_count = self.restart_count.saturating_add(1);
        self.script_running = true;
        vec![
            Effect::Log(Msg::TryRestart(self.cfg.name.clone())),
            Effect::RunScript,
        ]
    }

    /// `padmin -c stop`: stop acting on this entry. A running script is left to finish.
    pub fn stop(&mut self) -> Vec<Effect> {
        self.monitor_on = false;
        if self.phase == Phase::RetryOver {
            return Vec::new();
        }
        self.phase = Phase::Stopped;
        vec![Effect::Unwatch]
    }

    /// `padmin -c start`: search again (or wait for a script that outlived the stop).
    pub fn start(&mut self) -> Vec<Effect> {
        if self.monitor_on {
            return Vec::new();
        }
        self.monitor_on = true;
        match self.phase {
            Phase::Stopped if self.script_running => {
                self.phase = Phase::Restarting;
                Vec::new()
            }
            Phase::Stopped => self.search(false),
            _ => Vec::new(),
        }
    }

    /// A reload kept this entry (same pname) with possibly new settings. RETRY_OVER entries are
    /// reset and searched again; an entry awaiting a `-` process is searched again so that a
    /// new restart command applies.
    pub fn reconfigure(&mut self, cfg: Process, try_count: u32) -> Vec<Effect> {
        self.cfg = cfg;
        self.try_count = try_count;
        match self.phase {
            Phase::RetryOver => {
                self.restart_count = 0;
                self.retry_count = 0;
                self.rerun_time = None;
                self.window_start = None;
                self.proc_sts = ProcSts::Down;
                if self.monitor_on {
                    self.search(false)
                } else {
                    self.phase = Phase::Stopped;
                    Vec::new()
                }
            }
            Phase::Awaiting => self.search(false),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

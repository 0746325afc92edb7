//! The state machines of spec 3.3 and spec 7, kept pure: events and the clocks go in, effects
//! come out. The event loop (`daemon`) performs the effects and feeds back what happened.
//!
//! Two kinds of state, one per thing that is watched or restarted:
//! - [`Entry`], one per PENT entry: what is watched (its N oldest processes, `instances`), its
//!   health-check verdicts and stall, and — for an entry of its own — its restarts.
//! - [`GroupState`], one per group (spec 7): the group's restarts. Its members are entries that
//!   watch as usual, but do not restart: a member that dies (or stalls and is stopped, or is
//!   not found) tells its group ([`Effect::Member`]), and the group, which has the one set of
//!   counters, grace window, backoff and script, tells its members when to look again
//!   ([`Event::Group`]). The daemon routes those effects between the two.
//!
//! The accounting both share (spec 3.3 steps 3 to 5 plus spec 7's backoff) is [`Restarts`], so
//! an entry of its own and a group count, wait and give up by the same code.

use std::time::Duration;

use psctl::model::{Action, Process, Restart, RETRY_DELAY_CAP};

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
    /// Watching `Entry::ids` (the N oldest matching processes).
    Watching,
    /// One of several instances died (pid `died`): a scan says whether N still run.
    Recounting { died: i32 },
    /// The restart script runs (or one started earlier still does: its end is this attempt's).
    Restarting,
    /// The script could not be started for lack of resources; it is started when the daemon
    /// says `RetryScript`, without counting another restart.
    Deferred,
    /// After a failed attempt: the next one waits until `until` (boot clock), spec 7's backoff.
    Backoff { until: Duration },
    /// Restart `-`: down, waiting for the process to come back by itself.
    Awaiting,
    /// A group member that is down: its group restarts it (and tells it when to look again).
    Held,
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

/// What a group tells its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberCmd {
    /// The group's script succeeded: a member that is down looks for its processes again (a
    /// member still watching answers at once that it is up).
    Search,
    /// The group's retries are used up: stop watching.
    RetryOver,
    /// The group's restart is `-`: a member that is down waits for its process to come back
    /// by itself, as an entry with restart `-` does.
    Await,
}

/// What a member tells its group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberNote {
    /// Found (and watched).
    Up,
    /// Died, was stopped after a stall, or was not found at start: the group's event.
    Down,
    /// Not found after the group's restart: the group's attempt failed.
    Missing,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A scan that concerned this entry: the oldest matching processes it found (at most
    /// `instances`, oldest first).
    Scan(Vec<Ident>),
    /// A watched process (this pid) exited.
    Died(i32),
    ScriptEnded(ScriptEnd),
    /// `RunScript` failed for lack of resources (EMFILE, EAGAIN, ...): not the script's failure.
    SpawnLater(String),
    /// Time to try starting a deferred script again.
    RetryScript,
    /// The backoff wait is over.
    BackoffOver,
    /// A health check ended: healthy or not (failed, timed out, could not run).
    Health(bool),
    /// From this member's group.
    Group(MemberCmd),
}

/// A log line. `text()` is the exact wording of spec 3.4 (and of the lines spec 7 adds).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    Up(String, i32),
    Down(String, i32),
    TryRestart(String),
    SetPidFail(String),
    RetryOver(String, Action),
    Script(String, ScriptEnd),
    Deferred(String, String),
    /// Spec 7: `failures` consecutive failed health checks.
    Stall(String, i32),
    /// Spec 7: the backoff wait before the next attempt, in seconds.
    Backoff(String, u64),
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
        | Msg::Deferred(n, _)
        | Msg::Stall(n, _)
        | Msg::Backoff(n, _)) = self;
        let n = esc(n);
        match self {
            Msg::Up(_, pid) => format!("({n} ,pid={pid}) Up"),
            Msg::Down(_, pid) => format!("Process [{n}, pid={pid}] Down"),
            Msg::Stall(_, pid) => format!("Process [{n}, pid={pid}] Stall"),
            Msg::TryRestart(_) => format!("Try to restart ({n})"),
            Msg::SetPidFail(_) => format!("Set pid fail ({n})"),
            Msg::RetryOver(_, a) => {
                format!("({n}) RETRY_OVER:{}", a.as_str().to_ascii_uppercase())
            }
            Msg::Backoff(_, s) => format!("Next restart of ({n}) in {s} s"),
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
            Msg::TryRestart(..) | Msg::Backoff(..) => 5,
            Msg::Down(..) | Msg::Stall(..) => 4,
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
    /// Drop every pidfd of this entry.
    Unwatch,
    RunScript,
    /// Feed `RetryScript` back after a short delay (a deferred start).
    RetryScriptLater,
    /// This entry wants a scan now, and every MONITOR_INTERVAL while it is searching.
    ScanNow,
    /// Stalled: SIGTERM to this process now, SIGKILL after `stop_timeout` if it still runs.
    /// Its death then comes back as `Died`.
    Stop(Ident),
    /// To this member's group (routed by the daemon).
    Member(MemberNote),
    /// To every member of this group (routed by the daemon).
    Members(MemberCmd),
    /// pcheck must shut down with this exit status.
    Exit(i32),
}

/// What decides a unit's restarts: an entry's own fields, or a group's.
#[derive(Clone, Debug)]
pub struct Policy<'a> {
    /// The name its log lines carry.
    pub name: &'a str,
    pub grace: u64,
    pub retries: u32,
    pub action: Action,
    /// Seconds; 0: retry at once.
    pub retry_delay: u32,
}

/// Where a unit's restart accounting leaves it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Step {
    RetryOver,
    Restarting,
    Backoff(Duration),
}

/// The restart accounting of one unit that restarts — an entry of its own or a group (spec
/// 3.3 steps 3 to 5, spec 7's backoff).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restarts {
    /// Restarts in the current grace window.
    pub restart_count: u32,
    /// Failed attempts in the current outage.
    pub retry_count: u32,
    pub rerun_time: Option<Wall>,
    /// Start of the grace window on the boot clock (what decides whether it is over).
    pub window_start: Option<Duration>,
    /// A restart script of this unit is running (it may outlive a `stop` or a reload that
    /// removed the unit, or the pcheck that started it). Never a second one at once.
    pub script_running: bool,
}

impl Restarts {
    /// The script could not be started for lack of resources: try again later, uncounted.
    fn script_deferred(&mut self, name: String, why: String) -> Vec<Effect> {
        self.script_running = false;
        vec![
            Effect::Log(Msg::Deferred(name, why)),
            Effect::RetryScriptLater,
        ]
    }

    /// A deferred script is started now (the same attempt, not a new restart).
    fn script_started(&mut self) -> Vec<Effect> {
        self.script_running = true;
        vec![Effect::RunScript]
    }

    fn window_over(&self, p: &Policy, now: Now) -> bool {
        match self.window_start {
            None => true,
            Some(t) => p.grace > 0 && now.boot.saturating_sub(t) > Duration::from_secs(p.grace),
        }
    }

    /// Steps 3 to 5: open a window if needed, then restart or give up.
    fn decide(&mut self, p: &Policy, now: Now) -> (Step, Vec<Effect>) {
        if self.window_over(p, now) {
            self.window_start = Some(now.boot);
            self.rerun_time = Some(now.wall);
            self.restart_count = 0;
        }
        if self.restart_count >= p.retries {
            let mut fx = vec![Effect::Log(Msg::RetryOver(p.name.to_owned(), p.action))];
            match p.action {
                Action::Continue => {}
                Action::Exit => fx.push(Effect::Exit(1)),
                Action::Shutdown => fx.push(Effect::Exit(0)),
            }
            return (Step::RetryOver, fx);
        }
        if self.script_running {
            // An earlier script still runs: its end is this attempt's (spec 3.3, one at a time).
            return (Step::Restarting, Vec::new());
        }
        self.restart_count = self.restart_count.saturating_add(1);
        self.script_running = true;
        (
            Step::Restarting,
            vec![
                Effect::Log(Msg::TryRestart(p.name.to_owned())),
                Effect::RunScript,
            ],
        )
    }

    /// How long to wait after `retry_count` consecutive failed attempts: `retry_delay`,
    /// doubled per failure after the first, at most [`RETRY_DELAY_CAP`].
    pub fn backoff(retry_delay: u32, retry_count: u32) -> Duration {
        if retry_delay == 0 || retry_count == 0 {
            return Duration::ZERO;
        }
        let shift = (retry_count - 1).min(16);
        let secs = (u64::from(retry_delay) << shift).min(u64::from(RETRY_DELAY_CAP));
        Duration::from_secs(secs)
    }

    /// Step 4's failure branch, after the caller logged it: count it, then wait (backoff) or
    /// decide at once. A retry over is never delayed.
    fn failed(&mut self, p: &Policy, now: Now) -> (Step, Vec<Effect>) {
        self.retry_count = self.retry_count.saturating_add(1);
        let wait = Restarts::backoff(p.retry_delay, self.retry_count);
        let over = if self.window_over(p, now) {
            p.retries == 0
        } else {
            self.restart_count >= p.retries
        };
        if wait.is_zero() || over || self.script_running {
            return self.decide(p, now);
        }
        (
            Step::Backoff(now.boot + wait),
            vec![Effect::Log(Msg::Backoff(p.name.to_owned(), wait.as_secs()))],
        )
    }

    /// A reload resets a unit that had retried over.
    fn reset(&mut self) {
        let running = self.script_running;
        *self = Restarts {
            script_running: running,
            ..Restarts::default()
        };
    }
}

#[derive(Clone, Debug)]
pub struct Entry {
    pub cfg: Process,
    /// Last watched pid, the oldest instance (0 before the first).
    pub pid: i32,
    /// The processes watched now (the `instances` oldest matching ones, oldest first).
    pub ids: Vec<Ident>,
    pub proc_sts: ProcSts,
    /// This entry's own restarts (unused by a group member: its group's count).
    pub r: Restarts,
    pub phase: Phase,
    pub monitor_on: bool,
    /// MONITOR_TRY_COUNT.
    pub try_count: u32,
    /// Consecutive failed health checks.
    pub health_failures: u32,
    /// Stalled and being stopped: this pid (no more checks until it is gone).
    pub stalled: Option<i32>,
}

impl Entry {
    /// A fresh entry, searching (step 1). The caller performs the returned effects.
    pub fn new(cfg: Process, try_count: u32) -> (Entry, Vec<Effect>) {
        let mut e = Entry {
            cfg,
            pid: 0,
            ids: Vec::new(),
            proc_sts: ProcSts::Down,
            r: Restarts::default(),
            phase: Phase::Stopped,
            monitor_on: true,
            try_count,
            health_failures: 0,
            stalled: None,
        };
        let fx = e.search(false);
        (e, fx)
    }

    fn policy(&self) -> Policy<'_> {
        Policy {
            name: &self.cfg.name,
            grace: self.cfg.grace,
            retries: self.cfg.retries,
            action: self.cfg.on_retry_over,
            retry_delay: self.cfg.retry_delay,
        }
    }

    fn instances(&self) -> usize {
        self.cfg.instances.max(1) as usize
    }

    fn grouped(&self) -> bool {
        self.cfg.group.is_some()
    }

    /// Whether the event loop should include this entry in scans.
    pub fn wants_scan(&self) -> bool {
        matches!(
            self.phase,
            Phase::Searching { .. } | Phase::Awaiting | Phase::Recounting { .. }
        )
    }

    /// Whether health checks are due for it: watched, with a check, not already stalled.
    pub fn wants_health(&self) -> bool {
        self.phase == Phase::Watching && self.cfg.health.is_some() && self.stalled.is_none()
    }

    /// The process a health check concerns (`PCHECK_PID`): the oldest watched one.
    pub fn health_target(&self) -> Option<Ident> {
        self.ids.first().copied()
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
        self.r.script_running = true;
    }

    /// Starts watching `ids` (at least `instances` of them): Up for each one not watched yet.
    fn watch(&mut self, mut ids: Vec<Ident>) -> Vec<Effect> {
        ids.truncate(self.instances());
        // While recounting, the instances still watched were announced already: their pidfds
        // are replaced along with the others, only a newly watched spare gets an Up line.
        let kept = match self.phase {
            Phase::Recounting { .. } => std::mem::take(&mut self.ids),
            _ => Vec::new(),
        };
        let mut fx = vec![Effect::Unwatch];
        for id in &ids {
            if !kept.contains(id) {
                fx.push(Effect::Log(Msg::Up(self.cfg.name.clone(), id.pid)));
            }
        }
        fx.extend(ids.iter().map(|&id| Effect::Watch(id)));
        self.phase = Phase::Watching;
        self.pid = ids[0].pid;
        self.ids = ids;
        self.proc_sts = ProcSts::Avail;
        self.r.retry_count = 0;
        self.health_failures = 0;
        self.stalled = None;
        if self.grouped() {
            fx.push(Effect::Member(MemberNote::Up));
        }
        fx
    }

    pub fn handle(&mut self, ev: Event, now: Now) -> Vec<Effect> {
        let name = self.cfg.name.clone();
        match (self.phase, ev) {
            (Phase::Restarting, Event::SpawnLater(why)) => {
                self.phase = Phase::Deferred;
                self.r.script_deferred(name, why)
            }
            (Phase::Deferred, Event::RetryScript) => {
                self.phase = Phase::Restarting;
                self.r.script_started()
            }
            (_, Event::ScriptEnded(end)) => {
                self.r.script_running = false;
                if self.phase != Phase::Restarting {
                    return Vec::new(); // outlived a stop or reload: reaped, result ignored
                }
                if end == ScriptEnd::Ok {
                    return self.search(true);
                }
                let mut fx = vec![Effect::Log(Msg::Script(name, end))];
                fx.extend(self.failed_attempt(now));
                fx
            }
            (Phase::Backoff { .. }, Event::BackoffOver) => self.decide(now),
            (Phase::Searching { .. } | Phase::Awaiting, Event::Scan(ids))
                if ids.len() >= self.instances() =>
            {
                self.watch(ids)
            }
            (
                Phase::Searching {
                    scans_left,
                    after_restart,
                },
                Event::Scan(_),
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
            (Phase::Recounting { .. }, Event::Scan(ids)) if ids.len() >= self.instances() => {
                self.watch(ids)
            }
            (Phase::Recounting { died }, Event::Scan(_)) => {
                self.proc_sts = ProcSts::Down;
                let mut fx = vec![Effect::Unwatch, Effect::Log(Msg::Down(name, died))];
                fx.extend(self.after_death(now));
                fx
            }
            (Phase::Watching | Phase::Recounting { .. }, Event::Died(pid))
                if self.ids.iter().any(|id| id.pid == pid) =>
            {
                self.ids.retain(|id| id.pid != pid);
                if self.stalled == Some(pid) {
                    self.stalled = None;
                }
                if self.instances() > 1 {
                    // Fewer than N watched: do N still run (a spare to watch instead)?
                    if self.phase == Phase::Watching {
                        self.phase = Phase::Recounting { died: pid };
                    }
                    return vec![Effect::ScanNow];
                }
                self.proc_sts = ProcSts::Down;
                let mut fx = vec![Effect::Unwatch, Effect::Log(Msg::Down(name, pid))];
                fx.extend(self.after_death(now));
                fx
            }
            (Phase::Watching, Event::Health(ok)) => self.health(ok),
            (Phase::Held, Event::Group(MemberCmd::Search)) => self.search(true),
            (Phase::Held, Event::Group(MemberCmd::Await)) => {
                self.phase = Phase::Awaiting;
                vec![Effect::ScanNow]
            }
            (Phase::Watching, Event::Group(MemberCmd::Search)) => {
                vec![Effect::Member(MemberNote::Up)]
            }
            (Phase::RetryOver | Phase::Stopped, Event::Group(MemberCmd::RetryOver)) => {
                self.proc_sts = ProcSts::RetryOver;
                Vec::new()
            }
            (_, Event::Group(MemberCmd::RetryOver)) => {
                self.proc_sts = ProcSts::RetryOver;
                self.phase = Phase::RetryOver;
                self.ids.clear();
                vec![Effect::Unwatch]
            }
            _ => Vec::new(), // stale: an event that no longer concerns this phase
        }
    }

    /// A health check's verdict: `failures` consecutive failures stall the process.
    fn health(&mut self, ok: bool) -> Vec<Effect> {
        let Some(h) = &self.cfg.health else {
            return Vec::new();
        };
        if ok {
            self.health_failures = 0;
            return Vec::new();
        }
        self.health_failures = self.health_failures.saturating_add(1);
        if self.health_failures < h.failures || self.stalled.is_some() {
            return Vec::new();
        }
        let Some(target) = self.health_target() else {
            return Vec::new();
        };
        self.stalled = Some(target.pid);
        vec![
            Effect::Log(Msg::Stall(self.cfg.name.clone(), target.pid)),
            Effect::Stop(target),
        ]
    }

    /// Step 4's failure branch: count it, say so, decide again (or wait first).
    fn failed_attempt(&mut self, now: Now) -> Vec<Effect> {
        self.proc_sts = ProcSts::Down;
        let mut fx = vec![Effect::Log(Msg::SetPidFail(self.cfg.name.clone()))];
        if self.grouped() {
            // Not found after the group's restart: the group's attempt failed.
            self.phase = Phase::Held;
            fx.push(Effect::Member(MemberNote::Missing));
            return fx;
        }
        let p = self.policy();
        let mut r = self.r.clone();
        let (step, more) = r.failed(&p, now);
        self.r = r;
        fx.extend(more);
        self.enter(step);
        fx
    }

    /// Step 2.
    fn after_death(&mut self, now: Now) -> Vec<Effect> {
        self.ids.clear();
        if self.grouped() {
            self.phase = Phase::Held;
            return vec![Effect::Member(MemberNote::Down)];
        }
        if self.cfg.restart == Restart::None {
            self.phase = Phase::Awaiting;
            return vec![Effect::ScanNow];
        }
        self.decide(now)
    }

    /// Steps 3 to 5.
    fn decide(&mut self, now: Now) -> Vec<Effect> {
        let p = self.policy();
        let mut r = self.r.clone();
        let (step, fx) = r.decide(&p, now);
        self.r = r;
        self.enter(step);
        fx
    }

    fn enter(&mut self, step: Step) {
        match step {
            Step::RetryOver => {
                self.proc_sts = ProcSts::RetryOver;
                self.phase = Phase::RetryOver;
            }
            Step::Restarting => self.phase = Phase::Restarting,
            Step::Backoff(until) => self.phase = Phase::Backoff { until },
        }
    }

    /// `padmin -c stop`: stop acting on this entry. A running script is left to finish.
    pub fn stop(&mut self) -> Vec<Effect> {
        self.monitor_on = false;
        if self.phase == Phase::RetryOver {
            return Vec::new();
        }
        self.phase = Phase::Stopped;
        self.ids.clear();
        self.stalled = None;
        vec![Effect::Unwatch]
    }

    /// `padmin -c start`: search again (or wait for a script that outlived the stop).
    pub fn start(&mut self) -> Vec<Effect> {
        if self.monitor_on {
            return Vec::new();
        }
        self.monitor_on = true;
        match self.phase {
            Phase::Stopped if self.r.script_running => {
                self.phase = Phase::Restarting;
                Vec::new()
            }
            Phase::Stopped => self.search(false),
            _ => Vec::new(),
        }
    }

    /// A reload kept this entry (same pname) with possibly new settings. RETRY_OVER entries are
    /// reset and searched again; an entry awaiting a `-` process is searched again so that a
    /// new restart command applies; a backoff wait ends (the next attempt is made now).
    pub fn reconfigure(&mut self, cfg: Process, try_count: u32, now: Now) -> Vec<Effect> {
        let was_grouped = self.grouped();
        self.cfg = cfg;
        self.try_count = try_count;
        if self.instances() < self.ids.len() {
            self.ids.truncate(self.instances());
        }
        match self.phase {
            Phase::RetryOver => {
                self.r.reset();
                self.proc_sts = ProcSts::Down;
                if self.monitor_on {
                    self.search(false)
                } else {
                    self.phase = Phase::Stopped;
                    Vec::new()
                }
            }
            Phase::Awaiting => self.search(false),
            Phase::Held if !self.grouped() => self.search(false),
            Phase::Backoff { .. } if self.grouped() => self.search(false),
            Phase::Backoff { .. } => self.decide(now),
            Phase::Restarting | Phase::Deferred if self.grouped() && !was_grouped => {
                self.search(false)
            }
            Phase::Watching if self.ids.len() < self.instances() => self.search(false),
            _ => Vec::new(),
        }
    }
}

/// The phases of a group (spec 7).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupPhase {
    /// Every member watched, or members still looking for theirs at start.
    Watching,
    Restarting,
    Deferred,
    Backoff {
        until: Duration,
    },
    /// The script succeeded: every member must be found again.
    Searching,
    RetryOver,
    Stopped,
}

/// One group's state: the restarts of all its members (spec 7). Members are numbered
/// 0..n in entry order; which entries they are is the daemon's business.
#[derive(Clone, Debug)]
pub struct GroupState {
    pub cfg: psctl::model::Group,
    /// Groups have no `retry_delay` of their own: the largest of their members'.
    pub retry_delay: u32,
    /// Per member: found and watched.
    pub up: Vec<bool>,
    pub r: Restarts,
    pub proc_sts: ProcSts,
    pub phase: GroupPhase,
}

/// What a group is told.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GroupEvent {
    Member(usize, MemberNote),
    ScriptEnded(ScriptEnd),
    SpawnLater(String),
    RetryScript,
    BackoffOver,
}

impl GroupState {
    pub fn new(cfg: psctl::model::Group, members: usize, retry_delay: u32) -> GroupState {
        GroupState {
            cfg,
            retry_delay,
            up: vec![false; members],
            r: Restarts::default(),
            proc_sts: ProcSts::Down,
            phase: GroupPhase::Watching,
        }
    }

    fn policy(&self) -> Policy<'_> {
        Policy {
            name: &self.cfg.name,
            grace: self.cfg.grace,
            retries: self.cfg.retries,
            action: self.cfg.on_retry_over,
            retry_delay: self.retry_delay,
        }
    }

    fn enter(&mut self, step: Step) -> Vec<Effect> {
        match step {
            Step::RetryOver => {
                self.proc_sts = ProcSts::RetryOver;
                self.phase = GroupPhase::RetryOver;
                vec![Effect::Members(MemberCmd::RetryOver)]
            }
            Step::Restarting => {
                self.phase = GroupPhase::Restarting;
                Vec::new()
            }
            Step::Backoff(until) => {
                self.phase = GroupPhase::Backoff { until };
                Vec::new()
            }
        }
    }

    fn decide(&mut self, now: Now) -> Vec<Effect> {
        let p = self.policy();
        let mut r = self.r.clone();
        let (step, mut fx) = r.decide(&p, now);
        self.r = r;
        fx.extend(self.enter(step));
        fx
    }

    fn failed(&mut self, now: Now) -> Vec<Effect> {
        let p = self.policy();
        let mut r = self.r.clone();
        let (step, mut fx) = r.failed(&p, now);
        self.r = r;
        fx.extend(self.enter(step));
        fx
    }

    pub fn handle(&mut self, ev: GroupEvent, now: Now) -> Vec<Effect> {
        let name = self.cfg.name.clone();
        match (self.phase, ev) {
            (_, GroupEvent::Member(m, note)) => {
                if let Some(u) = self.up.get_mut(m) {
                    *u = note == MemberNote::Up;
                }
                match (self.phase, note) {
                    (GroupPhase::Watching | GroupPhase::Searching, MemberNote::Up) => {
                        if self.up.iter().all(|&u| u) {
                            self.phase = GroupPhase::Watching;
                            self.proc_sts = ProcSts::Avail;
                            self.r.retry_count = 0;
                        }
                        Vec::new()
                    }
                    // Any member's death is the group's event; during a restart it is the
                    // restart's business (the script may well be what stopped it).
                    (GroupPhase::Watching, MemberNote::Down) => {
                        self.proc_sts = ProcSts::Down;
                        if self.cfg.restart == Restart::None {
                            return vec![Effect::Members(MemberCmd::Await)];
                        }
                        self.decide(now)
                    }
                    (GroupPhase::Searching, MemberNote::Missing | MemberNote::Down) => {
                        self.proc_sts = ProcSts::Down;
                        self.failed(now)
                    }
                    _ => Vec::new(),
                }
            }
            (GroupPhase::Restarting, GroupEvent::SpawnLater(why)) => {
                self.phase = GroupPhase::Deferred;
                self.r.script_deferred(name, why)
            }
            (GroupPhase::Deferred, GroupEvent::RetryScript) => {
                self.phase = GroupPhase::Restarting;
                self.r.script_started()
            }
            (_, GroupEvent::ScriptEnded(end)) => {
                self.r.script_running = false;
                if self.phase != GroupPhase::Restarting {
                    return Vec::new();
                }
                if end == ScriptEnd::Ok {
                    self.phase = GroupPhase::Searching;
                    return vec![Effect::Members(MemberCmd::Search)];
                }
                let mut fx = vec![
                    Effect::Log(Msg::Script(name.clone(), end)),
                    Effect::Log(Msg::SetPidFail(name)),
                ];
                fx.extend(self.failed(now));
                fx
            }
            (GroupPhase::Backoff { .. }, GroupEvent::BackoffOver) => self.decide(now),
            _ => Vec::new(),
        }
    }

    /// `padmin -c stop` (the members are stopped by themselves).
    pub fn stop(&mut self) {
        if self.phase != GroupPhase::RetryOver {
            self.phase = GroupPhase::Stopped;
        }
        self.up.fill(false);
    }

    /// `padmin -c start`: members search again and report.
    pub fn start(&mut self) {
        if self.phase == GroupPhase::Stopped {
            self.phase = if self.r.script_running {
                GroupPhase::Restarting
            } else {
                GroupPhase::Watching
            };
        }
    }

    /// A reload kept this group. `up` is which members watch their processes now (the
    /// membership may have changed). A retried-over group is reset (its members search again
    /// by themselves); a backoff wait ends.
    pub fn reconfigure(
        &mut self,
        cfg: psctl::model::Group,
        retry_delay: u32,
        up: Vec<bool>,
        now: Now,
    ) -> Vec<Effect> {
        self.cfg = cfg;
        self.retry_delay = retry_delay;
        self.up = up;
        match self.phase {
            GroupPhase::RetryOver => {
                self.r.reset();
                self.proc_sts = ProcSts::Down;
                self.phase = GroupPhase::Watching;
                Vec::new()
            }
            GroupPhase::Backoff { .. } => self.decide(now),
            _ => Vec::new(),
        }
    }

    /// The backoff deadline, if waiting.
    pub fn backoff_until(&self) -> Option<Duration> {
        match self.phase {
            GroupPhase::Backoff { until } => Some(until),
            _ => None,
        }
    }

    pub fn phase_name(&self) -> &'static str {
        match self.phase {
            GroupPhase::Watching => "watching",
            GroupPhase::Restarting => "restarting",
            GroupPhase::Deferred => "deferred",
            GroupPhase::Backoff { .. } => "backoff",
            GroupPhase::Searching => "searching",
            GroupPhase::RetryOver => "retry_over",
            GroupPhase::Stopped => "stopped",
        }
    }
}

impl Entry {
    /// The backoff deadline, if waiting.
    pub fn backoff_until(&self) -> Option<Duration> {
        match self.phase {
            Phase::Backoff { until } => Some(until),
            _ => None,
        }
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
mod tests;

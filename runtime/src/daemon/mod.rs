//! pcheck's single-threaded event loop: one poll(2) over the signalfd, the control socket and
//! its connections, a pidfd per watched process, a pidfd per running restart script (of an
//! entry or a group) and per running exec health check, a socket per tcp health check in
//! progress. The timeout is the next due scan, poll of a process without pidfd, script or
//! check deadline, health check, backoff end, SIGKILL of a stalled process or connection
//! deadline, all on the boot clock, so an idle pcheck sleeps and a death wakes it at once.

use std::collections::{HashSet, VecDeque};
use std::os::fd::{AsFd, OwnedFd};
use std::time::Duration;

use psctl::model::Service;
use rustix::event::{poll, PollFd, PollFlags, Timespec};

mod commands;
mod group;
mod health;
mod monitor;
mod slot;

use crate::control::Server;
use crate::dump::DumpDir;
use crate::limits::Budget;
use crate::restart::{self, SpawnError};
use crate::state::{Effect, Entry, Event, Ident, Phase};
use crate::syslog::{self, Logger};
use crate::{clock, discovery, signals};
use slot::{open_pidfd, GroupSlot, Opened, Running, Slot, Watch, Watched};

/// Delay of the first look for a process after its restart script exited.
const RESTART_SETTLE: Duration = Duration::from_millis(100);
/// Delay before trying again to start a script that could not be started for lack of
/// resources.
const SPAWN_RETRY: Duration = Duration::from_secs(1);

/// How pcheck ends (its exit status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// `shutdown` (padmin, SIGTERM, SIGINT, or the `shutdown` retry over action).
    Shutdown,
    /// The `exit` retry over action (or the event loop failed): fail the service over.
    Failover,
}

pub struct Daemon {
    pfile: String,
    svc: Service,
    slots: Vec<Slot>,
    /// One per group of the pfile (spec 7).
    groups: Vec<GroupSlot>,
    /// Scripts of entries a reload removed: reaped when they end, adopted again if their
    /// pname comes back (never a second script for one pname).
    orphans: Vec<(String, Running)>,
    server: Server,
    sigfd: OwnedFd,
    log: Logger,
    running: bool,
    restart_timeout: Duration,
    exit: Option<Exit>,
    dirty: bool,
    dump: DumpDir,
    budget: Budget,
    /// pidfds open now (recounted at each wake-up, raised as they are opened).
    fds_used: usize,
    monitor: monitor::Monitor,
}

#[derive(Clone, Copy)]
enum Src {
    Signal,
    Listener,
    /// The runtime directory changed (see `Server::check_files`).
    Files,
    Conn(usize),
    /// Slot, pid of the watched process.
    Watch(usize, i32),
    Script(usize),
    Check(usize),
    GroupScript(usize),
    Orphan,
}

/// What the daemon needs besides the pfile.
pub struct Setup {
    pub pfile: String,
    pub svc: Service,
    pub server: Server,
    pub sigfd: OwnedFd,
    pub log: Logger,
    pub restart_timeout: Duration,
    pub budget: Budget,
    /// `--metrics-file`.
    pub metrics: Option<crate::metrics::MetricsFile>,
}

impl Daemon {
    pub fn new(s: Setup) -> Daemon {
        let dump_path = s.svc.dump_file_or_default();
        let mut d = Daemon {
            pfile: s.pfile,
            svc: s.svc,
            slots: Vec::new(),
            groups: Vec::new(),
            orphans: Vec::new(),
            server: s.server,
            sigfd: s.sigfd,
            log: s.log,
            running: true,
            restart_timeout: s.restart_timeout,
            exit: None,
            dirty: true,
            dump: DumpDir::new(&dump_path),
            budget: s.budget,
            fds_used: 0,
            monitor: monitor::Monitor::new(s.metrics),
        };
        // Scripts the previous pcheck (killed, so it could not wait for them) left running.
        let (inherited, inherited_groups) = d.dump.previous_scripts(&mut d.log);
        let now = clock::boot();
        let try_count = d.svc.monitor_try_count;
        let mut pending = Vec::new();
        for (i, p) in d.svc.processes.clone().into_iter().enumerate() {
            let (mut e, fx) = Entry::new(p, try_count);
            let script = inherited
                .get(&e.cfg.name)
                .and_then(|&(pgid, start)| Running::inherited(pgid, start, d.restart_timeout, now));
            if let Some(r) = &script {
                d.log.log(
                    syslog::NOTICE,
                    &format!(
                        "Restart script of ({}) started by the previous pcheck still runs (process group {}); waiting for it",
                        psctl::escape::for_display(&e.cfg.name),
                        r.pgid()
                    ),
                );
                e.adopt_script();
            }
            let mut slot = Slot::new(e);
            slot.script = script.map(Box::new);
            d.slots.push(slot);
            pending.push((i, fx));
        }
        d.build_groups(Vec::new(), clock::both());
        d.adopt_group_scripts(&inherited_groups, clock::both());
        d.recount();
        for (i, fx) in pending {
            d.apply(i, fx);
        }
        d
    }

    /// Runs until shut down; returns how it ended.
    pub fn run(mut self) -> Exit {
        self.log.log(
            syslog::INFO,
            &format!(
                "Start pcheck pfile={} ipckey={} entries={}",
                self.pfile,
                psctl::model::format_ipckey(self.svc.ipckey),
                self.slots.len()
            ),
        );
        loop {
            self.recount();
            self.timers();
            self.flush_dump();
            if let Some(code) = self.exit {
                return self.finish(code);
            }
            let ready = match self.wait() {
                Ok(r) => r,
                Err(e) => {
                    self.log.log(syslog::ERR, &format!("poll failed: {e}"));
                    return self.finish(Exit::Failover);
                }
            };
            // Deaths and scripts first: a reload (control or SIGHUP) moves the slots.
            for src in &ready {
                match *src {
                    Src::Watch(i, pid) if self.slots[i].forget(pid) => {
                        self.event(i, Event::Died(pid));
                    }
                    Src::Check(i) => self.check_ready(i),
                    Src::GroupScript(g) => self.group_script_ready(g),
                    Src::Script(i) => {
                        let end = self.slots[i]
                            .script
                            .as_deref_mut()
                            .and_then(Running::try_end);
                        if let Some(end) = end {
                            self.slots[i].script = None;
                            self.event(i, Event::ScriptEnded(end));
                        }
                    }
                    _ => {} // orphans: reaped just below
                }
            }
            self.reap_orphans();
            // Connections before accepting: accept may evict one, which moves the others.
            for src in &ready {
                if let Src::Conn(i) = *src {
                    self.on_conn(i);
                }
            }
            for src in ready {
                match src {
                    Src::Signal => self.on_signals(),
                    Src::Listener => self.server.accept(clock::boot(), self.budget.conns),
                    Src::Files => self.server.check_files(&mut self.log),
                    Src::Conn(_)
                    | Src::Watch(..)
                    | Src::Script(_)
                    | Src::Check(_)
                    | Src::GroupScript(_)
                    | Src::Orphan => {}
                }
            }
            self.server.reap(clock::boot());
        }
    }

    fn event(&mut self, i: usize, ev: Event) {
        self.dirty = true;
        self.slots[i].history.note_event(&ev, clock::now());
        let fx = self.slots[i].entry.handle(ev, clock::both());
        self.apply(i, fx);
    }

    fn recount(&mut self) {
        self.fds_used = self
            .slots
            .iter()
            .map(Slot::fds)
            .chain(
                self.orphans
                    .iter()
                    .map(|(_, r)| usize::from(r.pidfd().is_some())),
            )
            .chain(
                self.groups
                    .iter()
                    .map(|g| g.script.as_deref().map_or(0, Running::fds)),
            )
            .sum();
    }

    fn has_fd_budget(&self) -> bool {
        self.fds_used < self.budget.pidfds
    }

    /// Drops orphan scripts that have ended (children reaped by `try_end`).
    fn reap_orphans(&mut self) {
        let now = clock::boot();
        self.orphans
            .retain_mut(|(_, r)| r.tick(now).is_none() && r.try_end().is_none());
    }

    fn wait(&mut self) -> rustix::io::Result<Vec<Src>> {
        let now = clock::boot();
        let slot_due = self.slots.iter().flat_map(|s| {
            let poll_due = s.watch.iter().filter_map(|w| match w.how {
                Watch::Poll { due } => Some(due),
                Watch::Pidfd(_) => None,
            });
            let health_due = match &s.check {
                Some(c) => c.next_due(),
                None => s.health_due,
            };
            [
                s.scan_due,
                s.retry_due,
                s.script.as_deref().and_then(Running::next_due),
                s.entry.backoff_until(),
                health_due,
                s.stopping.map(|(_, due)| due),
            ]
            .into_iter()
            .flatten()
            .chain(poll_due)
        });
        let group_due = self.groups.iter().flat_map(|g| {
            [
                g.retry_due,
                g.script.as_deref().and_then(Running::next_due),
                g.state.backoff_until(),
            ]
            .into_iter()
            .flatten()
        });
        let next = slot_due
            .chain(group_due)
            .chain(self.orphans.iter().filter_map(|(_, r)| r.next_due()))
            .chain(self.server.next_due(self.budget.conns))
            .min();
        let timeout = next.map(|t| {
            let d = t.saturating_sub(now) + Duration::from_millis(1);
            Timespec {
                tv_sec: i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(d.subsec_nanos()),
            }
        });
        let mut srcs = vec![Src::Signal];
        let mut fds = vec![PollFd::from_borrowed_fd(self.sigfd.as_fd(), PollFlags::IN)];
        if self.server.accepting(now, self.budget.conns) {
            fds.push(PollFd::from_borrowed_fd(
                self.server.listener_fd(),
                PollFlags::IN,
            ));
            srcs.push(Src::Listener);
        }
        if let Some(fd) = self.server.notify_fd() {
            fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
            srcs.push(Src::Files);
        }
        for (i, c) in self.server.conns.iter().enumerate() {
            let ev = if c.wants_write() {
                PollFlags::OUT
            } else {
                PollFlags::IN
            };
            fds.push(PollFd::from_borrowed_fd(c.fd(), ev));
            srcs.push(Src::Conn(i));
        }
        for (i, s) in self.slots.iter().enumerate() {
            for w in &s.watch {
                if let Watch::Pidfd(fd) = &w.how {
                    fds.push(PollFd::from_borrowed_fd(fd.as_fd(), PollFlags::IN));
                    srcs.push(Src::Watch(i, w.id.pid));
                }
            }
            if let Some(fd) = s.script.as_deref().and_then(Running::pidfd) {
                fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
                srcs.push(Src::Script(i));
            }
            if let Some(c) = s.check.as_deref() {
                let (fd, ev) = c.poll_fd();
                fds.push(PollFd::from_borrowed_fd(fd, ev));
                srcs.push(Src::Check(i));
            }
        }
        for (g, gs) in self.groups.iter().enumerate() {
            if let Some(fd) = gs.script.as_deref().and_then(Running::pidfd) {
                fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
                srcs.push(Src::GroupScript(g));
            }
        }
        for (_, r) in &self.orphans {
            if let Some(fd) = r.pidfd() {
                fds.push(PollFd::from_borrowed_fd(fd, PollFlags::IN));
                srcs.push(Src::Orphan);
            }
        }
        match poll(&mut fds, timeout.as_ref()) {
            Ok(_) => {}
            Err(rustix::io::Errno::INTR) => return Ok(Vec::new()),
            Err(e) => return Err(e),
        }
        Ok(fds
            .iter()
            .zip(srcs)
            .filter(|(f, _)| !f.revents().is_empty())
            .map(|(_, s)| s)
            .collect())
    }

    /// Script deadlines, polled processes, deferred script starts and due scans.
    fn timers(&mut self) {
        let now = clock::boot();
        let interval = Duration::from_secs(u64::from(self.svc.monitor_interval));
        for i in 0..self.slots.len() {
            let ended = self.slots[i].script.as_mut().and_then(|r| r.tick(now));
            if let Some(end) = ended {
                self.slots[i].script = None;
                self.event(i, Event::ScriptEnded(end));
            }
            let polled: Vec<Ident> = self.slots[i]
                .watch
                .iter()
                .filter(|w| matches!(w.how, Watch::Poll { due } if now >= due))
                .map(|w| w.id)
                .collect();
            for id in polled {
                let how = match open_pidfd(id, self.has_fd_budget()) {
                    Opened::Pidfd(fd) => {
                        self.fds_used += 1;
                        Watch::Pidfd(fd)
                    }
                    Opened::NoDescriptor => Watch::Poll {
                        due: now + interval,
                    },
                    Opened::Gone => {
                        if self.slots[i].forget(id.pid) {
                            self.event(i, Event::Died(id.pid));
                        }
                        continue;
                    }
                };
                if let Some(w) = self.slots[i].watch.iter_mut().find(|w| w.id == id) {
                    w.how = how;
                }
            }
            if self.slots[i].retry_due.is_some_and(|t| t <= now) {
                self.slots[i].retry_due = None;
                self.event(i, Event::RetryScript);
            }
            if self.slots[i]
                .entry
                .backoff_until()
                .is_some_and(|t| t <= now)
            {
                self.event(i, Event::BackoffOver);
            }
            self.health_timers(i, now);
        }
        self.group_timers(now);
        self.reap_orphans();
        let due: Vec<usize> = (0..self.slots.len())
            .filter(|&i| {
                let s = &self.slots[i];
                s.scan_due.is_some_and(|t| t <= now) && s.entry.wants_scan()
            })
            .collect();
        if due.is_empty() {
            return;
        }
        let wanted: discovery::Wanted = due
            .iter()
            .map(|&i| {
                let cfg = &self.slots[i].entry.cfg;
                (
                    cfg.name.as_str(),
                    (i, &cfg.user[..], cfg.instances.max(1) as usize),
                )
            })
            .collect();
        // pcheck's own children (scripts, checks) never match.
        let excluded: HashSet<i32> = self
            .slots
            .iter()
            .flat_map(|s| {
                [
                    s.script.as_deref().map(Running::pgid),
                    s.check.as_deref().and_then(health::Check::pgid),
                ]
            })
            .flatten()
            .chain(
                self.groups
                    .iter()
                    .filter_map(|g| g.script.as_deref().map(Running::pgid)),
            )
            .chain(self.orphans.iter().map(|(_, r)| r.pgid()))
            .collect();
        let mut found = discovery::scan(&wanted, &excluded);
        for i in due {
            self.slots[i].scan_due = Some(now + interval);
            let ids = found.remove(&i).unwrap_or_default();
            let fx = self.slots[i].entry.handle(Event::Scan(ids), clock::both());
            if !fx.is_empty() {
                self.dirty = true;
            }
            self.apply(i, fx);
        }
    }

    /// Performs effects, feeding back what they cause (a process gone before its pidfd was
    /// opened, a script that could not start).
    fn apply(&mut self, i: usize, fx: Vec<Effect>) {
        let mut queue: VecDeque<Effect> = fx.into();
        let interval = Duration::from_secs(u64::from(self.svc.monitor_interval));
        while let Some(f) = queue.pop_front() {
            self.dirty = true;
            let back = match f {
                Effect::Log(m) => {
                    self.slots[i].history.note_msg(&m, clock::now());
                    self.log.log(m.severity(), &m.text());
                    None
                }
                Effect::Watch(id) => {
                    let how = match open_pidfd(id, self.has_fd_budget()) {
                        Opened::Pidfd(fd) => {
                            self.fds_used += 1;
                            Some(Watch::Pidfd(fd))
                        }
                        Opened::NoDescriptor => Some(Watch::Poll {
                            due: clock::boot() + interval,
                        }),
                        Opened::Gone => None,
                    };
                    match how {
                        Some(how) => {
                            self.slots[i].forget(id.pid);
                            self.slots[i].watch.push(Watched { id, how });
                            None
                        }
                        None => Some(Event::Died(id.pid)),
                    }
                }
                Effect::Unwatch => {
                    self.slots[i].watch.clear();
                    None
                }
                Effect::Stop(id) => {
                    self.stop_process(i, id);
                    None
                }
                Effect::Member(note) => {
                    if let Some((g, m)) = self.slots[i].group {
                        self.group_event(g, crate::state::GroupEvent::Member(m, note));
                    }
                    None
                }
                Effect::Members(_) => None, // only groups say this
                Effect::ScanNow => {
                    // After a restart script, give what it forked a moment to exec.
                    let settle = match self.slots[i].entry.phase {
                        Phase::Searching {
                            after_restart: true,
                            ..
                        } => RESTART_SETTLE,
                        _ => Duration::ZERO,
                    };
                    self.slots[i].scan_due = Some(clock::boot() + settle);
                    None
                }
                Effect::RunScript => self.run_script(i),
                Effect::RetryScriptLater => {
                    self.slots[i].retry_due = Some(clock::boot() + SPAWN_RETRY);
                    None
                }
                Effect::Exit(code) => {
                    self.exit.get_or_insert(if code == 0 {
                        Exit::Shutdown
                    } else {
                        Exit::Failover
                    });
                    None
                }
            };
            if let Some(ev) = back {
                self.slots[i].history.note_event(&ev, clock::now());
                queue.extend(self.slots[i].entry.handle(ev, clock::both()));
            }
        }
        let s = &mut self.slots[i];
        if !s.entry.wants_scan() {
            s.scan_due = None;
        } else if s.scan_due.is_none() {
            s.scan_due = Some(clock::boot());
        }
        if s.entry.phase != Phase::Deferred {
            s.retry_due = None;
        }
        if s.entry.stalled.is_none() {
            s.stopping = None;
        }
        match &s.entry.cfg.health {
            Some(h) if s.entry.wants_health() => {
                if s.health_due.is_none() {
                    s.health_due = Some(clock::boot() + Duration::from_secs(u64::from(h.interval)));
                }
            }
            _ => {
                s.health_due = None;
                self.cancel_check(i);
            }
        }
    }

    fn run_script(&mut self, i: usize) -> Option<Event> {
        let e = &self.slots[i].entry;
        let cmd = restart::command_line(&e.cfg.restart)?;
        if !self.has_fd_budget() {
            return Some(Event::SpawnLater(
                "no descriptor left for its pidfd".to_owned(),
            ));
        }
        match restart::spawn(&e.cfg.name, &cmd, self.restart_timeout) {
            Ok(s) => {
                self.fds_used += 1;
                self.slots[i].script = Some(Box::new(Running::child(
                    s,
                    clock::boot(),
                    self.restart_timeout,
                )));
                None
            }
            Err(SpawnError::Resources(why)) => Some(Event::SpawnLater(why)),
            Err(SpawnError::Refused(why)) => Some(Event::ScriptEnded(
                crate::state::ScriptEnd::SpawnFailed(why),
            )),
        }
    }

    fn on_signals(&mut self) {
        for sig in signals::read(&self.sigfd) {
            match sig {
                signals::TERM | signals::INT => {
                    self.exit.get_or_insert(Exit::Shutdown);
                }
                signals::HUP => {
                    if let Err(e) = self.reload() {
                        self.log.stderr(&e.to_string());
                    }
                }
                _ => {}
            }
        }
    }

    fn on_conn(&mut self, i: usize) {
        if self.server.conns[i].wants_write() {
            self.server.write(i);
            return;
        }
        if let Some(req) = self.server.read(i) {
            let (status, text) = self.command(&req);
            self.server.respond(i, status, &text);
            if self.exit.is_none() {
                self.server.write(i);
            } // else: answered after "Shutdown pcheck" is logged (finish)
        }
    }

    fn finish(mut self, code: Exit) -> Exit {
        self.log.log(syslog::NOTICE, "Shutdown pcheck");
        self.monitor.ending = true;
        self.dirty = true;
        self.flush_dump();
        self.server.flush_all();
        code
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::Ident;

    #[test]
    fn a_recycled_pid_is_not_watched() {
        let me = i32::try_from(std::process::id()).unwrap();
        let start = discovery::read_stat(me).unwrap().start;
        assert!(matches!(
            open_pidfd(Ident { pid: me, start }, true),
            Opened::Pidfd(_)
        ));
        // Same pid, another start time: what a recycled pid looks like.
        let recycled = Ident {
            pid: me,
            start: start + 1,
        };
        assert!(matches!(open_pidfd(recycled, true), Opened::Gone));
        assert!(matches!(open_pidfd(recycled, false), Opened::Gone));
        let gone = Ident {
            pid: i32::MAX,
            start,
        };
        assert!(matches!(open_pidfd(gone, true), Opened::Gone));
        // Without a descriptor to spare, a live process is polled, never called dead.
        assert!(matches!(
            open_pidfd(Ident { pid: me, start }, false),
            Opened::NoDescriptor
        ));
    }
}

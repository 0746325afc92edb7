//! pcheck's single-threaded event loop: one poll(2) over the signalfd, the control socket and
//! its connections, a pidfd per watched process and a pidfd per running restart script. The
//! timeout is the next due rediscovery scan, script deadline or connection deadline, so an
//! idle pcheck sleeps and a death wakes it at once.

use std::collections::{HashMap, HashSet};
use std::os::fd::{AsFd, OwnedFd};
use std::time::{Duration, Instant};

use psctl::model::Service;
use rustix::event::{poll, PollFd, PollFlags, Timespec};
use rustix::process::{pidfd_open, Pid, PidfdFlags};

mod commands;

use crate::control::Server;
use crate::discovery;
use crate::restart::{self, Script};
use crate::signals;
use crate::state::{Effect, Entry, Event, Ident, Phase};

/// Delay of the first look for a process after its restart script exited.
const RESTART_SETTLE: Duration = Duration::from_millis(100);
use crate::clock;
use crate::syslog::{self, Logger};

pub struct Daemon {
    pfile: String,
    svc: Service,
    entries: Vec<Entry>,
    pidfds: Vec<Option<OwnedFd>>,
    due: Vec<Option<Instant>>,
    index: HashMap<String, usize>,
    scripts: Vec<Script>,
    server: Server,
    sigfd: OwnedFd,
    log: Logger,
    running: bool,
    restart_timeout: Duration,
    exit: Option<i32>,
    dirty: bool,
    dump_error: Option<String>,
}

#[derive(Clone, Copy)]
enum Src {
    Signal,
    Listener,
    Conn(usize),
    Watch(usize),
    Script(usize),
}

impl Daemon {
    pub fn new(
        pfile: String,
        svc: Service,
        server: Server,
        sigfd: OwnedFd,
        log: Logger,
        restart_timeout: Duration,
    ) -> Daemon {
        let mut d = Daemon {
            pfile,
            svc,
            entries: Vec::new(),
            pidfds: Vec::new(),
            due: Vec::new(),
            index: HashMap::new(),
            scripts: Vec::new(),
            server,
            sigfd,
            log,
            running: true,
            restart_timeout,
            exit: None,
            dirty: true,
            dump_error: None,
        };
        let try_count = d.svc.monitor_try_count;
        let mut pending = Vec::new();
        for (i, p) in d.svc.processes.clone().into_iter().enumerate() {
            let (e, fx) = Entry::new(p, try_count);
            d.entries.push(e);
            pending.push((i, fx));
        }
        d.reindex();
        for (i, fx) in pending {
            d.apply(i, fx);
        }
        d
    }

    fn reindex(&mut self) {
        let n = self.entries.len();
        self.pidfds.resize_with(n, || None);
        self.due.resize(n, None);
        self.index = self
            .entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.cfg.name.clone(), i))
            .collect();
    }

    /// Runs until shut down; returns the exit status.
    pub fn run(mut self) -> i32 {
        self.log.log(
            syslog::INFO,
            &format!(
                "Start pcheck pfile={} ipckey={} entries={}",
                self.pfile,
                psctl::model::format_ipckey(self.svc.ipckey),
                self.entries.len()
            ),
        );
        loop {
            self.timers();
            self.flush_dump();
            if let Some(code) = self.exit {
                return self.finish(code);
            }
            let ready = match self.wait() {
                Ok(r) => r,
                Err(e) => {
                    self.log.log(syslog::ERR, &format!("poll failed: {e}"));
                    return self.finish(1);
                }
            };
            // Deaths and scripts first: a reload (control or SIGHUP) renumbers the entries.
            for src in &ready {
                if let Src::Watch(i) = *src {
                    self.pidfds[i] = None;
                    self.dirty = true;
                    let fx = self.entries[i].handle(Event::Died, clock::now());
                    self.apply(i, fx);
                }
            }
            let mut ended: Vec<_> = ready
                .iter()
                .filter_map(|s| match *s {
                    Src::Script(k) => self.scripts[k].try_end().map(|end| (k, end)),
                    _ => None,
                })
                .collect();
            ended.sort_by_key(|(k, _)| std::cmp::Reverse(*k));
            for (k, end) in ended {
                let s = self.scripts.remove(k);
                if let Some(&i) = self.index.get(&s.pname) {
                    self.dirty = true;
                    let fx = self.entries[i].handle(Event::ScriptEnded(end), clock::now());
                    self.apply(i, fx);
                }
            }
            for src in ready {
                match src {
                    Src::Signal => self.on_signals(),
                    Src::Listener => self.server.accept(self.answer_window()),
                    Src::Conn(i) => self.on_conn(i),
                    Src::Watch(_) | Src::Script(_) => {}
                }
            }
            self.server.reap(Instant::now());
        }
    }

    /// How long a connection may take to send its request.
    fn answer_window(&self) -> Duration {
        Duration::from_secs(u64::from(self.svc.msg_check_interval).max(5))
    }

    fn wait(&mut self) -> rustix::io::Result<Vec<Src>> {
        let now = Instant::now();
        let next = self
            .due
            .iter()
            .flatten()
            .copied()
            .chain(
                self.scripts
                    .iter()
                    .filter(|s| !s.killed)
                    .map(|s| s.deadline),
            )
            .chain(self.server.conns.iter().map(|c| c.deadline()))
            .min();
        let timeout = next.map(|t| {
            let d = t.saturating_duration_since(now) + Duration::from_millis(1);
            Timespec {
                tv_sec: d.as_secs() as _,
                tv_nsec: d.subsec_nanos() as _,
            }
        });
        let mut srcs = vec![Src::Signal, Src::Listener];
        let mut fds = vec![
            PollFd::from_borrowed_fd(self.sigfd.as_fd(), PollFlags::IN),
            PollFd::from_borrowed_fd(self.server.listener_fd(), PollFlags::IN),
        ];
        for (i, c) in self.server.conns.iter().enumerate() {
            let ev = if c.wants_write() {
                PollFlags::OUT
            } else {
                PollFlags::IN
            };
            fds.push(PollFd::from_borrowed_fd(c.fd(), ev));
            srcs.push(Src::Conn(i));
        }
        for (i, fd) in self.pidfds.iter().enumerate() {
            if let Some(fd) = fd {
                fds.push(PollFd::from_borrowed_fd(fd.as_fd(), PollFlags::IN));
                srcs.push(Src::Watch(i));
            }
        }
        for (k, s) in self.scripts.iter().enumerate() {
            fds.push(PollFd::from_borrowed_fd(s.pidfd.as_fd(), PollFlags::IN));
            srcs.push(Src::Script(k));
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

    /// Script deadlines and due scans.
    fn timers(&mut self) {
        let now = Instant::now();
        for s in self.scripts.iter_mut() {
            if !s.killed && now >= s.deadline {
                s.kill();
            }
        }
        let due: Vec<usize> = (0..self.entries.len())
            .filter(|&i| self.due[i].is_some_and(|t| t <= now) && self.entries[i].wants_scan())
            .collect();
        if due.is_empty() {
            return;
        }
        let wanted: discovery::Wanted = due
            .iter()
            .map(|&i| {
                let cfg = &self.entries[i].cfg;
                (cfg.name.as_str(), (i, cfg.user.as_slice()))
            })
            .collect();
        let excluded: HashSet<i32> = self.scripts.iter().map(Script::pgid).collect();
        let found = discovery::scan(&wanted, &excluded);
        let interval = Duration::from_secs(u64::from(self.svc.monitor_interval));
        for i in due {
            self.due[i] = Some(now + interval);
            let fx = self.entries[i].handle(Event::Scan(found.get(&i).copied()), clock::now());
            if !fx.is_empty() {
                self.dirty = true;
            }
            self.apply(i, fx);
        }
    }

    /// Performs effects, feeding back what they cause (a process gone before its pidfd was
    /// opened, a script that could not start).
    fn apply(&mut self, i: usize, fx: Vec<Effect>) {
        let mut queue: std::collections::VecDeque<Effect> = fx.into();
        while let Some(f) = queue.pop_front() {
            self.dirty = true;
            let back = match f {
                Effect::Log(m) => {
                    self.log.log(m.severity(), &m.text());
                    None
                }
                Effect::Watch(id) => match watch(id) {
                    Some(fd) => {
                        self.pidfds[i] = Some(fd);
                        None
                    }
                    None => Some(Event::Died),
                },
                Effect::Unwatch => {
                    self.pidfds[i] = None;
                    None
                }
                Effect::ScanNow => {
                    // After a restart script, give what it forked a moment to exec.
                    let settle = match self.entries[i].phase {
                        Phase::Searching {
                            after_restart: true,
                            ..
                        } => RESTART_SETTLE,
                        _ => Duration::ZERO,
                    };
                    self.due[i] = Some(Instant::now() + settle);
                    None
                }
                Effect::RunScript => self.run_script(i),
                Effect::Exit(code) => {
                    self.exit.get_or_insert(code);
                    None
                }
            };
            if let Some(ev) = back {
                queue.extend(self.entries[i].handle(ev, clock::now()));
            }
        }
        if !self.entries[i].wants_scan() {
            self.due[i] = None;
        } else if self.due[i].is_none() {
            self.due[i] = Some(Instant::now());
        }
    }

    fn run_script(&mut self, i: usize) -> Option<Event> {
        let e = &self.entries[i];
        let cmd = restart::command_line(&e.cfg.restart)?;
        match restart::spawn(&e.cfg.name, &cmd, self.restart_timeout) {
            Ok(s) => {
                self.scripts.push(s);
                None
            }
            // Until the daemon retries resource failures (issue 8), both count as failed.
            Err(why) => Some(Event::ScriptEnded(crate::state::ScriptEnd::SpawnFailed(
                why.to_string(),
            ))),
        }
    }

    fn on_signals(&mut self) {
        for sig in signals::read(&self.sigfd) {
            match sig {
                signals::TERM | signals::INT => {
                    self.exit.get_or_insert(0);
                }
                signals::HUP => {
                    if let Err(diags) = self.reload() {
                        eprint!("{diags}");
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

    fn finish(mut self, code: i32) -> i32 {
        self.log.log(syslog::NOTICE, "Shutdown pcheck");
        self.dirty = true;
        self.flush_dump();
        self.server.flush_all();
        code
    }
}

/// A pidfd on `id`, checked (after opening, so that it cannot be raced) to still be that very
/// process: same start time, not exited. `None` means it is already gone.
fn watch(id: Ident) -> Option<OwnedFd> {
    let fd = pidfd_open(Pid::from_raw(id.pid)?, PidfdFlags::empty()).ok()?;
    discovery::is_same_live(id).then_some(fd)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recycled_pid_is_not_watched() {
        let me = std::process::id() as i32;
        let start = discovery::read_stat(me).unwrap().start;
        assert!(watch(Ident { pid: me, start }).is_some());
        // Same pid, another start time: what a recycled pid looks like.
        assert!(watch(Ident {
            pid: me,
            start: start + 1
        })
        .is_none());
        assert!(watch(Ident {
            pid: i32::MAX,
            start
        })
        .is_none());
    }
}

//! Health checks (spec 7) as the event loop runs them: at most one per entry at a time, never
//! blocking the loop. An `exec` check is a child started exactly like a restart script
//! (`restart::spawn_check`: trust rules, clean start, own process group) with `PCHECK_PID` and
//! `PCHECK_PNAME` set; its pidfd is polled, it is reaped, and its group is killed at the
//! timeout. A `tcp` check is a non-blocking connect whose socket is polled for writability and
//! then asked for its error; closing it at the timeout is the failure.

use std::net::SocketAddrV4;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use psctl::model::{Health, HealthCheck};
use rustix::event::PollFlags;
use rustix::io::Errno;
use rustix::net::{AddressFamily, SocketFlags, SocketType};

use crate::restart::{self, Script, SpawnError};
use crate::state::{Ident, ScriptEnd};

pub(super) enum Check {
    Exec { script: Script, deadline: Duration },
    Tcp { sock: OwnedFd, deadline: Duration },
}

/// What starting a check gave.
pub(super) enum Started {
    Running(Check),
    /// The verdict is known at once (connected or refused at once, or not runnable), with why
    /// it failed when it did.
    Done(bool, Option<String>),
    /// No resources to start it now: no verdict, tried again at the next interval.
    Skipped(String),
}

pub(super) fn start(h: &Health, pname: &str, target: Ident, now: Duration) -> Started {
    let timeout = Duration::from_secs(u64::from(h.timeout));
    let deadline = now.saturating_add(timeout);
    match &h.check {
        HealthCheck::Exec(cmd) => match restart::spawn_check(pname, cmd, timeout, target.pid) {
            Ok(script) => Started::Running(Check::Exec { script, deadline }),
            Err(SpawnError::Resources(why)) => Started::Skipped(why),
            Err(SpawnError::Refused(why)) => Started::Done(false, Some(why)),
        },
        HealthCheck::Tcp(addr) => match connect(addr) {
            Ok(None) => Started::Done(true, None),
            Ok(Some(sock)) => Started::Running(Check::Tcp { sock, deadline }),
            Err(e) if is_resources(e) => Started::Skipped(e.to_string()),
            Err(e) => Started::Done(false, Some(format!("connect to {addr}: {e}"))),
        },
    }
}

fn is_resources(e: Errno) -> bool {
    matches!(
        e,
        Errno::MFILE | Errno::NFILE | Errno::NOMEM | Errno::AGAIN | Errno::NOBUFS
    )
}

/// A non-blocking connect: `None` when it succeeded at once, else the socket in progress.
fn connect(addr: &SocketAddrV4) -> Result<Option<OwnedFd>, Errno> {
    let sock = rustix::net::socket_with(
        AddressFamily::INET,
        SocketType::STREAM,
        SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
        None,
    )?;
    match rustix::net::connect(&sock, addr) {
        Ok(()) => Ok(None),
        Err(Errno::INPROGRESS | Errno::INTR) => Ok(Some(sock)),
        Err(e) => Err(e),
    }
}

impl Check {
    /// What the loop polls, and for what.
    pub fn poll_fd(&self) -> (BorrowedFd<'_>, PollFlags) {
        match self {
            Check::Exec { script, .. } => (script.pidfd.as_fd(), PollFlags::IN),
            Check::Tcp { sock, .. } => (sock.as_fd(), PollFlags::OUT),
        }
    }

    /// When the timers must look at it (none once an exec check was killed: its end follows).
    pub fn next_due(&self) -> Option<Duration> {
        match self {
            Check::Exec { script, deadline } => (!script.killed).then_some(*deadline),
            Check::Tcp { deadline, .. } => Some(*deadline),
        }
    }

    /// The process group of an exec check (kept out of scans, like restart scripts).
    pub fn pgid(&self) -> Option<i32> {
        match self {
            Check::Exec { script, .. } => Some(script.pgid()),
            Check::Tcp { .. } => None,
        }
    }

    /// Its descriptor is ready: the verdict if it has ended (an exec check reaped).
    pub fn ready(&mut self) -> Option<bool> {
        match self {
            Check::Exec { script, .. } => script.try_end().map(|end| end == ScriptEnd::Ok),
            Check::Tcp { sock, .. } => Some(matches!(
                rustix::net::sockopt::socket_error(&*sock),
                Ok(Ok(()))
            )),
        }
    }

    /// At the timers: past its deadline, an exec check's group is killed (its end, reaped
    /// through the pidfd, is the failure) and a tcp check has failed.
    pub fn tick(&mut self, now: Duration) -> Option<bool> {
        match self {
            Check::Exec { script, deadline } => {
                if !script.killed && now >= *deadline {
                    script.kill();
                }
                None
            }
            Check::Tcp { deadline, .. } => (now >= *deadline).then_some(false),
        }
    }
}

impl Check {
    /// Ends a check before its verdict (its entry stopped, was removed, or its process died):
    /// an exec check's group is killed, and the child returned for the loop to reap (never
    /// waited for here, never left a zombie).
    pub fn cancel(self) -> Option<Script> {
        match self {
            Check::Exec { mut script, .. } => {
                if script.try_end().is_some() {
                    return None;
                }
                script.kill();
                Some(script)
            }
            Check::Tcp { .. } => None,
        }
    }
}

// ---- The loop's side: scheduling checks, verdicts, stopping a stalled process ----

use super::slot::Watch;
use super::Daemon;
use crate::state::Event;
use crate::{clock, discovery, syslog};
use rustix::process::{kill_process, pidfd_send_signal, Pid, Signal};

impl Daemon {
    /// A check past its timeout, a check that is due, a stalled process still running at its
    /// SIGKILL deadline.
    pub(super) fn health_timers(&mut self, i: usize, now: Duration) {
        let verdict = self.slots[i].check.as_deref_mut().and_then(|c| c.tick(now));
        if let Some(ok) = verdict {
            let why = Some(self.timeout_reason(i));
            self.health_verdict(i, ok, why);
        }
        if let Some((id, due)) = self.slots[i].stopping {
            if now >= due {
                self.slots[i].stopping = None;
                if self.slots[i].watch.iter().any(|w| w.id == id) {
                    self.log.log(
                        syslog::WARNING,
                        &format!(
                            "Process [{}, pid={}] did not stop within {} s; sending SIGKILL",
                            psctl::escape::for_display(&self.slots[i].entry.cfg.name),
                            id.pid,
                            self.slots[i].entry.cfg.stop_timeout
                        ),
                    );
                    self.signal(i, id, Signal::KILL);
                }
            }
        }
        let s = &self.slots[i];
        if s.check.is_some() || s.health_due.is_none_or(|t| t > now) || !s.entry.wants_health() {
            return;
        }
        let (Some(h), Some(target)) = (s.entry.cfg.health.clone(), s.entry.health_target()) else {
            return;
        };
        self.slots[i].health_due = Some(now + Duration::from_secs(u64::from(h.interval)));
        if !self.has_fd_budget() {
            return; // no descriptor for it now: the next interval tries again
        }
        match start(&h, &self.slots[i].entry.cfg.name, target, now) {
            Started::Running(c) => {
                self.fds_used += 1;
                self.slots[i].check = Some(Box::new(c));
            }
            Started::Done(ok, why) => self.health_verdict(i, ok, why),
            Started::Skipped(why) => self.log.log(
                syslog::WARNING,
                &format!(
                    "Health check of ({}) could not be started ({}); trying again at the next interval",
                    psctl::escape::for_display(&self.slots[i].entry.cfg.name),
                    psctl::escape::for_display(&why)
                ),
            ),
        }
    }

    /// A check's descriptor is ready: its verdict, if it has ended.
    pub(super) fn check_ready(&mut self, i: usize) {
        let Some(c) = self.slots[i].check.as_deref_mut() else {
            return;
        };
        let killed = matches!(c, Check::Exec { script, .. } if script.killed);
        if let Some(ok) = c.ready() {
            let why = killed.then(|| self.timeout_reason(i));
            self.health_verdict(i, ok, why);
        }
    }

    fn timeout_reason(&self, i: usize) -> String {
        let t = self.slots[i]
            .entry
            .cfg
            .health
            .as_ref()
            .map_or(0, |h| h.timeout);
        format!("no answer within {t} s")
    }

    /// A check ended: a failure is logged (with its count), the verdict goes to the entry.
    pub(super) fn health_verdict(&mut self, i: usize, ok: bool, why: Option<String>) {
        self.slots[i].check = None;
        let e = &self.slots[i].entry;
        if !ok {
            let failures = e.cfg.health.as_ref().map_or(1, |h| h.failures);
            let why = why.map(|w| format!(": {}", psctl::escape::for_display(&w)));
            self.log.log(
                syslog::NOTICE,
                &format!(
                    "Health check of ({}, pid={}) failed ({} of {failures}){}",
                    psctl::escape::for_display(&e.cfg.name),
                    e.pid,
                    (e.health_failures + 1).min(failures),
                    why.unwrap_or_default()
                ),
            );
        }
        self.slots[i].history.note_health(ok, clock::now());
        if ok && self.slots[i].entry.health_failures == 0 {
            // Healthy as before: nothing the dump shows changes, so it is not rewritten.
            let fx = self.slots[i]
                .entry
                .handle(Event::Health(true), clock::both());
            self.apply(i, fx);
            return;
        }
        self.event(i, Event::Health(ok));
    }

    /// Ends a running check without a verdict (its child is reaped as an orphan).
    pub(super) fn cancel_check(&mut self, i: usize) {
        if let Some(c) = self.slots[i].check.take() {
            if let Some(script) = c.cancel() {
                // An empty name: no entry ever adopts it as its restart script.
                let r = Running::child(script, clock::boot(), Duration::ZERO);
                self.orphans.push((String::new(), r));
            }
        }
    }

    /// Spec 7: a stalled process gets SIGTERM (and SIGCONT, so that a stopped one can act on
    /// it), then SIGKILL after `stop_timeout` if it still runs. Its death comes through its
    /// pidfd as any other.
    pub(super) fn stop_process(&mut self, i: usize, id: Ident) {
        self.signal(i, id, Signal::TERM);
        self.signal(i, id, Signal::CONT);
        let t = Duration::from_secs(u64::from(self.slots[i].entry.cfg.stop_timeout.max(1)));
        self.slots[i].stopping = Some((id, clock::boot() + t));
    }

    /// Signals a watched process through its pidfd (never a recycled pid); without one, only
    /// after checking that the pid still names that process.
    fn signal(&self, i: usize, id: Ident, sig: Signal) {
        if let Some(fd) = self.slots[i].pidfd_of(id.pid) {
            let _ = pidfd_send_signal(fd, sig);
            return;
        }
        let polled = self.slots[i]
            .watch
            .iter()
            .any(|w| w.id == id && matches!(w.how, Watch::Poll { .. }));
        if polled && discovery::is_same_live(id) {
            if let Some(pid) = Pid::from_raw(id.pid) {
                let _ = kill_process(pid, sig);
            }
        }
    }
}

use super::slot::Running;

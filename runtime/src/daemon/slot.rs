//! One `Slot` per PENT entry: its pure state (`state::Entry`) and what the event loop holds for
//! it — how its processes are watched, when it is next scanned for, its running restart
//! script, its health check and a stalled process being stopped. One `GroupSlot` per group
//! (spec 7): the group's pure state (`state::GroupState`), its members' slot indices, its
//! restart script. A reload moves slots by pname (groups by name) and rebuilds the member
//! indices, so nothing has to be kept aligned by hand.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::Duration;

use rustix::io::Errno;
use rustix::process::{kill_process_group, pidfd_open, Pid, PidfdFlags, Signal};

use crate::discovery;
use crate::report::History;
use crate::restart::Script;
use crate::state::{Entry, GroupState, Ident, ScriptEnd};

use super::health::Check;

pub(super) struct Slot {
    pub entry: Entry,
    /// One per watched process (several with `instances`).
    pub watch: Vec<Watched>,
    /// Next rediscovery scan, while the entry is searching (boot clock).
    pub scan_due: Option<Duration>,
    /// Boxed: most entries have none, and a slot stays small.
    pub script: Option<Box<Running>>,
    /// When to try again to start a script that could not be started (boot clock).
    pub retry_due: Option<Duration>,
    /// Counters and last events, for `padmin --format json` and the metrics.
    pub history: History,
    /// The group this entry is a member of: (index in `Daemon::groups`, member number).
    pub group: Option<(usize, usize)>,
    /// The next health check (boot clock), while one is due.
    pub health_due: Option<Duration>,
    /// The health check running now (at most one per entry).
    pub check: Option<Box<Check>>,
    /// A stalled process being stopped: SIGKILL at `kill_due` if it still runs.
    pub stopping: Option<(Ident, Duration)>,
}

impl Slot {
    pub fn new(entry: Entry) -> Slot {
        Slot {
            entry,
            watch: Vec::new(),
            scan_due: None,
            script: None,
            retry_due: None,
            history: History::default(),
            group: None,
            health_due: None,
            check: None,
            stopping: None,
        }
    }

    /// Descriptors this slot holds (for the descriptor budget).
    pub fn fds(&self) -> usize {
        self.watch
            .iter()
            .filter(|w| matches!(w.how, Watch::Pidfd(_)))
            .count()
            + self.script.as_deref().map_or(0, Running::fds)
            + usize::from(self.check.is_some())
    }

    /// The pidfd of watched process `pid`, if it is watched through one.
    pub fn pidfd_of(&self, pid: i32) -> Option<BorrowedFd<'_>> {
        self.watch.iter().find_map(|w| match &w.how {
            Watch::Pidfd(fd) if w.id.pid == pid => Some(fd.as_fd()),
            _ => None,
        })
    }

    /// Stops watching `pid`; whether it was watched.
    pub fn forget(&mut self, pid: i32) -> bool {
        let before = self.watch.len();
        self.watch.retain(|w| w.id.pid != pid);
        self.watch.len() != before
    }
}

/// A group's slot (spec 7).
pub(super) struct GroupSlot {
    pub state: GroupState,
    /// Slot indices of its members, in member order.
    pub members: Vec<usize>,
    pub script: Option<Box<Running>>,
    pub retry_due: Option<Duration>,
    pub history: History,
}

impl GroupSlot {
    pub fn new(state: GroupState, members: Vec<usize>) -> GroupSlot {
        GroupSlot {
            state,
            members,
            script: None,
            retry_due: None,
            history: History::default(),
        }
    }
}

/// One watched process.
pub(super) struct Watched {
    pub id: Ident,
    pub how: Watch,
}

/// How a watched process is watched.
pub(super) enum Watch {
    /// Readable when the process exits.
    Pidfd(OwnedFd),
    /// No descriptor could be had (spec 3.2's fallback): looked at every MONITOR_INTERVAL,
    /// identified by pid and start time, and moved to a pidfd as soon as one can be opened.
    Poll { due: Duration },
}

/// The outcome of trying to watch a process through a pidfd.
pub(super) enum Opened {
    Pidfd(OwnedFd),
    /// It has already exited (or its pid now names another process).
    Gone,
    /// No descriptor now (EMFILE, ENFILE, ENOMEM, or the budget is spent): poll it instead.
    NoDescriptor,
}

/// A pidfd on `id`, checked after opening (so that it cannot be raced) to still be that very
/// process: same start time, not exited.
pub(super) fn open_pidfd(id: Ident, budget_left: bool) -> Opened {
    let Some(pid) = Pid::from_raw(id.pid) else {
        return Opened::Gone;
    };
    if !budget_left {
        return if discovery::is_same_live(id) {
            Opened::NoDescriptor
        } else {
            Opened::Gone
        };
    }
    match pidfd_open(pid, PidfdFlags::empty()) {
        Ok(fd) if discovery::is_same_live(id) => Opened::Pidfd(fd),
        Ok(_) | Err(Errno::SRCH) => Opened::Gone,
        // Whatever else went wrong says nothing about the process: never call it dead for it.
        Err(_) if discovery::is_same_live(id) => Opened::NoDescriptor,
        Err(_) => Opened::Gone,
    }
}

/// A restart script of this entry that has not ended yet.
pub(super) enum Running {
    /// Started by this pcheck: a child, watched through its pidfd and reaped.
    Child {
        script: Script,
        /// When its group is killed (boot clock).
        deadline: Duration,
        /// The script's start time (/proc/PID/stat field 22), recorded in the dump.
        start: u64,
    },
    /// Started by a pcheck that was killed before it ended (recorded in its dump): not our
    /// child, so its process group is looked at every second until it is empty.
    Inherited {
        pgid: i32,
        start: u64,
        deadline: Duration,
        check_due: Duration,
        timeout: Duration,
    },
}

/// How often an inherited script's process group is looked at.
const INHERITED_CHECK: Duration = Duration::from_secs(1);

impl Running {
    pub fn child(script: Script, now: Duration, timeout: Duration) -> Running {
        let start = discovery::read_stat(script.pgid()).map_or(0, |s| s.start);
        Running::Child {
            script,
            deadline: now.saturating_add(timeout),
            start,
        }
    }

    /// The group of a script recorded by the previous pcheck, if it still has live members:
    /// its deadline is counted from the script's own start, on the boot clock.
    pub fn inherited(pgid: i32, start: u64, timeout: Duration, now: Duration) -> Option<Running> {
        if !group_alive(pgid, start) {
            return None;
        }
        let started = Duration::from_secs(start / crate::clock::ticks_per_second());
        Some(Running::Inherited {
            pgid,
            start,
            deadline: started.saturating_add(timeout),
            check_due: now,
            timeout,
        })
    }

    pub fn pgid(&self) -> i32 {
        match self {
            Running::Child { script, .. } => script.pgid(),
            Running::Inherited { pgid, .. } => *pgid,
        }
    }

    /// (process group, start time), as the dump records it.
    pub fn record(&self) -> (i32, u64) {
        match self {
            Running::Child { start, .. } | Running::Inherited { start, .. } => {
                (self.pgid(), *start)
            }
        }
    }

    pub fn pidfd(&self) -> Option<BorrowedFd<'_>> {
        match self {
            Running::Child { script, .. } => Some(script.pidfd.as_fd()),
            Running::Inherited { .. } => None,
        }
    }

    pub fn fds(&self) -> usize {
        usize::from(self.pidfd().is_some())
    }

    /// The next moment the timers must look at it.
    pub fn next_due(&self) -> Option<Duration> {
        match self {
            Running::Child {
                script, deadline, ..
            } => (!script.killed).then_some(*deadline),
            Running::Inherited {
                deadline,
                check_due,
                ..
            } => Some((*deadline).min(*check_due)),
        }
    }

    /// Kills a script past its deadline; reports an inherited one that has ended (or was
    /// killed: there is no status to wait for). A child's end is reported by `try_end`.
    pub fn tick(&mut self, now: Duration) -> Option<ScriptEnd> {
        match self {
            Running::Child {
                script, deadline, ..
            } => {
                if !script.killed && now >= *deadline {
                    script.kill();
                }
                None
            }
            Running::Inherited {
                pgid,
                start,
                deadline,
                check_due,
                timeout,
            } => {
                if now >= *deadline {
                    if let Some(pid) = Pid::from_raw(*pgid) {
                        let _ = kill_process_group(pid, Signal::KILL);
                    }
                    return Some(ScriptEnd::TimedOut(timeout.as_secs()));
                }
                if now < *check_due {
                    return None;
                }
                *check_due = now.saturating_add(INHERITED_CHECK);
                (!group_alive(*pgid, *start)).then_some(ScriptEnd::Ok)
            }
        }
    }

    /// A child that has exited, reaped.
    pub fn try_end(&mut self) -> Option<ScriptEnd> {
        match self {
            Running::Child { script, .. } => script.try_end(),
            Running::Inherited { .. } => None,
        }
    }
}

/// Whether process group `pgid`, whose leader started at `start`, still has a live member. A
/// leader with another start time means the id was reused: not ours. Members started before
/// the recorded leader cannot belong to it either.
pub(super) fn group_alive(pgid: i32, start: u64) -> bool {
    if let Some(st) = discovery::read_stat(pgid) {
        if st.pgrp == pgid && st.start != start {
            return false;
        }
    }
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return true; // cannot tell: keep waiting (bounded by the deadline)
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(discovery::read_stat)
        .any(|st| st.pgrp == pgid && st.start >= start && !st.has_exited())
}

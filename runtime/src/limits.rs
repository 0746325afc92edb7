//! Descriptors: how many pcheck needs, raising its soft limit to that (never beyond the hard
//! limit), and how the limit it got is shared, so that running short of descriptors never
//! makes a live process look dead (spec 6, Limits).
//!
//! Every entry may hold two pidfds (its process and its restart script). A fixed reserve keeps
//! room for what must always work: stdio, the signalfd, the control listener, lock and
//! runtime directory, syslog, the dump, a /proc scan, a spawn's pipes. Control connections get
//! a share of what is left (capped); pidfds get the rest, and processes beyond it are watched
//! by polling.

use rustix::process::{getrlimit, setrlimit, Resource};

/// Descriptors kept for pcheck's own work, whatever the load.
pub const RESERVE: usize = 32;
/// Control connections served at once, at most.
pub const MAX_CONNS: usize = 32;
/// Control connections served at once, at least (even with a tiny limit).
const MIN_CONNS: usize = 2;

/// What a pfile of `entries` entries needs.
pub fn wanted(entries: usize) -> u64 {
    let n = RESERVE
        .saturating_add(MAX_CONNS)
        .saturating_add(entries.saturating_mul(2));
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// How the descriptor limit is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The soft limit in force.
    pub limit: u64,
    pub conns: usize,
    /// pidfds (watched processes and running scripts) that may be open at once.
    pub pidfds: usize,
}

impl Budget {
    pub fn of(limit: u64) -> Budget {
        let limit_n = usize::try_from(limit).unwrap_or(usize::MAX);
        let spare = limit_n.saturating_sub(RESERVE);
        let conns = (spare / 4).clamp(MIN_CONNS, MAX_CONNS);
        Budget {
            limit,
            conns,
            pidfds: spare.saturating_sub(conns),
        }
    }
}

/// Raises the soft limit on open files to what `entries` need, up to the hard limit. Returns
/// the budget, and a warning when the hard limit is too low for every process to get a pidfd.
pub fn raise(entries: usize) -> (Budget, Option<String>) {
    let want = wanted(entries);
    let mut l = getrlimit(Resource::Nofile);
    let cur = l.current.unwrap_or(u64::MAX);
    let hard = l.maximum.unwrap_or(u64::MAX);
    if cur < want {
        l.current = Some(want.min(hard));
        if setrlimit(Resource::Nofile, l).is_err() {
            l.current = Some(cur);
        }
    }
    let got = l.current.unwrap_or(u64::MAX);
    let warning = (got < want).then(|| {
        format!(
            "the open-file limit is {got} (hard limit {hard}), below the {want} that {entries} entries need; \
             processes beyond it are watched by polling every MONITOR_INTERVAL"
        )
    });
    (Budget::of(got), warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_the_limit() {
        let b = Budget::of(64);
        assert_eq!((b.conns, b.pidfds), (8, 24));
        let b = Budget::of(1024);
        assert_eq!((b.conns, b.pidfds), (MAX_CONNS, 1024 - RESERVE - MAX_CONNS));
        let b = Budget::of(10);
        assert_eq!((b.conns, b.pidfds), (MIN_CONNS, 0));
        assert_eq!(Budget::of(u64::MAX).conns, MAX_CONNS);
        assert_eq!(wanted(1100), 32 + 32 + 2200);
    }
}

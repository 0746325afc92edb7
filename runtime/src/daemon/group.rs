//! Groups in the loop (spec 7): building group slots from the pfile (and again at a reload,
//! keeping each group's state by name), routing the effects between members and their group
//! (`Effect::Member` up, `Effect::Members` down), and the group's own restart script, backoff
//! and deferred start — the same machinery as an entry's, on the group's slot.

use std::collections::HashMap;
use std::time::Duration;

use super::slot::{GroupSlot, Running};
use super::{Daemon, SPAWN_RETRY};
use crate::restart::{self, SpawnError};
use crate::state::{Effect, Event, GroupEvent, GroupPhase, GroupState, Now, Phase, ScriptEnd};
use crate::{clock, syslog};

impl Daemon {
    /// (Re)builds the group slots from `self.svc.groups`, keeping the state, script and history
    /// of a group that `old` had by the same name; sets each entry's membership. Returns the
    /// effects of reconfigured groups, to apply once entries are in place.
    pub(super) fn build_groups(
        &mut self,
        old: Vec<GroupSlot>,
        now: Now,
    ) -> Vec<(usize, Vec<Effect>)> {
        let mut old: HashMap<String, GroupSlot> = old
            .into_iter()
            .map(|g| (g.state.cfg.name.clone(), g))
            .collect();
        for s in &mut self.slots {
            s.group = None;
        }
        let mut pending = Vec::new();
        let mut groups = Vec::new();
        for (g, cfg) in self.svc.groups.clone().into_iter().enumerate() {
            let members: Vec<usize> = self.svc.members(&cfg.name).map(|(i, _)| i).collect();
            let retry_delay = members
                .iter()
                .map(|&i| self.slots[i].entry.cfg.retry_delay)
                .max()
                .unwrap_or(0);
            for (m, &i) in members.iter().enumerate() {
                self.slots[i].group = Some((g, m));
            }
            let slot = match old.remove(&cfg.name) {
                Some(mut gs) => {
                    let up = members
                        .iter()
                        .map(|&i| self.slots[i].entry.phase == Phase::Watching)
                        .collect();
                    let fx = gs.state.reconfigure(cfg, retry_delay, up, now);
                    gs.members = members;
                    pending.push((g, fx));
                    gs
                }
                None => GroupSlot::new(GroupState::new(cfg, members.len(), retry_delay), members),
            };
            groups.push(slot);
        }
        // Removed groups: a running script is reaped as an orphan (no entry adopts it).
        for (_, gs) in old {
            if let Some(r) = gs.script {
                self.orphans.push((String::new(), *r));
            }
        }
        self.groups = groups;
        pending
    }

    /// Scripts of groups the previous pcheck left running (from its dump).
    pub(super) fn adopt_group_scripts(&mut self, scripts: &HashMap<String, (i32, u64)>, now: Now) {
        for gs in &mut self.groups {
            let Some(&(pgid, start)) = scripts.get(&gs.state.cfg.name) else {
                continue;
            };
            if let Some(r) = Running::inherited(pgid, start, self.restart_timeout, now.boot) {
                self.log.log(
                    syslog::NOTICE,
                    &format!(
                        "Restart script of ({}) started by the previous pcheck still runs (process group {}); waiting for it",
                        psctl::escape::for_display(&gs.state.cfg.name),
                        r.pgid()
                    ),
                );
                gs.state.r.script_running = true;
                gs.script = Some(Box::new(r));
            }
        }
    }

    pub(super) fn group_event(&mut self, g: usize, ev: GroupEvent) {
        self.dirty = true;
        if let GroupEvent::ScriptEnded(end) = &ev {
            self.groups[g]
                .history
                .note_event(&Event::ScriptEnded(end.clone()), clock::now());
        }
        if ev == GroupEvent::RetryScript {
            self.groups[g]
                .history
                .note_event(&Event::RetryScript, clock::now());
        }
        let fx = self.groups[g].state.handle(ev, clock::both());
        self.apply_group(g, fx);
    }

    /// Performs a group's effects; `Members` goes to every member entry (whose effects may come
    /// back here as `Member`).
    pub(super) fn apply_group(&mut self, g: usize, fx: Vec<Effect>) {
        for f in fx {
            self.dirty = true;
            match f {
                Effect::Log(m) => {
                    self.groups[g].history.note_msg(&m, clock::now());
                    self.log.log(m.severity(), &m.text());
                }
                Effect::RunScript => {
                    if let Some(ev) = self.run_group_script(g) {
                        self.group_event(g, ev);
                    }
                }
                Effect::RetryScriptLater => {
                    self.groups[g].retry_due = Some(clock::boot() + SPAWN_RETRY);
                }
                Effect::Members(cmd) => {
                    for i in self.groups[g].members.clone() {
                        self.event(i, Event::Group(cmd));
                    }
                }
                Effect::Exit(code) => {
                    self.exit.get_or_insert(if code == 0 {
                        super::Exit::Shutdown
                    } else {
                        super::Exit::Failover
                    });
                }
                // Entry-only effects: a group watches nothing itself.
                Effect::Watch(_)
                | Effect::Unwatch
                | Effect::ScanNow
                | Effect::Stop(_)
                | Effect::Member(_) => {}
            }
        }
        if self.groups[g].state.phase != GroupPhase::Deferred {
            self.groups[g].retry_due = None;
        }
    }

    fn run_group_script(&mut self, g: usize) -> Option<GroupEvent> {
        let cfg = &self.groups[g].state.cfg;
        let cmd = restart::command_line(&cfg.restart)?;
        if !self.has_fd_budget() {
            return Some(GroupEvent::SpawnLater(
                "no descriptor left for its pidfd".to_owned(),
            ));
        }
        match restart::spawn(&cfg.name, &cmd, self.restart_timeout) {
            Ok(s) => {
                self.fds_used += 1;
                self.groups[g].script = Some(Box::new(Running::child(
                    s,
                    clock::boot(),
                    self.restart_timeout,
                )));
                None
            }
            Err(SpawnError::Resources(why)) => Some(GroupEvent::SpawnLater(why)),
            Err(SpawnError::Refused(why)) => {
                Some(GroupEvent::ScriptEnded(ScriptEnd::SpawnFailed(why)))
            }
        }
    }

    /// The group's script pidfd is readable.
    pub(super) fn group_script_ready(&mut self, g: usize) {
        let end = self.groups[g]
            .script
            .as_deref_mut()
            .and_then(Running::try_end);
        if let Some(end) = end {
            self.groups[g].script = None;
            self.group_event(g, GroupEvent::ScriptEnded(end));
        }
    }

    /// Script deadlines, deferred starts and backoff ends of every group.
    pub(super) fn group_timers(&mut self, now: Duration) {
        for g in 0..self.groups.len() {
            let ended = self.groups[g].script.as_mut().and_then(|r| r.tick(now));
            if let Some(end) = ended {
                self.groups[g].script = None;
                self.group_event(g, GroupEvent::ScriptEnded(end));
            }
            if self.groups[g].retry_due.is_some_and(|t| t <= now) {
                self.groups[g].retry_due = None;
                self.group_event(g, GroupEvent::RetryScript);
            }
            if self.groups[g]
                .state
                .backoff_until()
                .is_some_and(|t| t <= now)
            {
                self.group_event(g, GroupEvent::BackoffOver);
            }
        }
    }
}

//! What pcheck does for padmin and SIGHUP: answers, stop/start, reload, and the views shared
//! by the answers and the state dump.

use std::collections::HashMap;
use std::time::Duration;

use super::slot::Slot;
use super::{Daemon, Exit};
use crate::dump::{Dump, DumpDir};
use crate::state::{Entry, Now, ProcSts, Restarts};
use crate::view::{self, Backoff, GroupView, ListView, ParamView, PentExt, PentView};
use crate::{clock, config, limits, syslog};

/// Why a reload was refused (the running configuration stays).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReloadError {
    /// The pfile has errors: its rendered diagnostics (or the I/O error).
    /// The load error, rendered.
    Invalid(String),
    KeyChanged {
        from: u32,
        to: u32,
    },
}

impl std::fmt::Display for ReloadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReloadError::Invalid(diags) => f.write_str(diags),
            ReloadError::KeyChanged { from, to } => writeln!(
                f,
                "reload refused: IPCKEY changed from {} to {}; restart pcheck to change it",
                psctl::model::format_ipckey(*from),
                psctl::model::format_ipckey(*to)
            ),
        }
    }
}

impl Daemon {
    /// A control request (see `control`): status 0 done, 1 refused.
    pub(super) fn command(&mut self, req: &str) -> (u8, String) {
        if let Some(answer) = self.monitor_answer(req) {
            return (0, answer);
        }
        match req {
            "info" => (0, view::render_list(&self.list_view())),
            "show param" => (0, view::render_param(&self.param_view())),
            "show pent" => (0, view::render_pents(&self.pent_views())),
            "reload" => match self.reload() {
                Ok(warnings) => (0, warnings),
                Err(e) => (1, e.to_string()),
            },
            "stop" | "start" => {
                let start = req == "start";
                self.running = start;
                self.dirty = true;
                for g in &mut self.groups {
                    if start {
                        g.state.start();
                    } else {
                        g.state.stop();
                    }
                }
                for i in 0..self.slots.len() {
                    let e = &mut self.slots[i].entry;
                    let fx = if start { e.start() } else { e.stop() };
                    self.apply(i, fx);
                }
                (0, String::new())
            }
            "shutdown" => {
                self.exit.get_or_insert(Exit::Shutdown);
                (0, String::new())
            }
            _ => (
                1,
                format!("unknown command `{}`\n", psctl::escape::for_display(req)),
            ),
        }
    }

    /// Re-reads the pfile. Entries keep their state by pname; RETRY_OVER ones are reset and
    /// searched again. A pfile with errors, or a new IPCKEY, is refused and nothing changes.
    pub(super) fn reload(&mut self) -> Result<String, ReloadError> {
        self.reload_asked();
        let loaded = config::load(&self.pfile).map_err(|e| {
            self.log.log(
                syslog::ERR,
                &format!("Reload refused: pfile={} has errors", self.pfile),
            );
            ReloadError::Invalid(e.to_string())
        })?;
        let svc = loaded.service;
        if svc.ipckey != self.svc.ipckey {
            let e = ReloadError::KeyChanged {
                from: self.svc.ipckey,
                to: svc.ipckey,
            };
            self.log.log(syslog::ERR, e.to_string().trim_end());
            return Err(e);
        }
        let mut old: HashMap<String, Slot> = self
            .slots
            .drain(..)
            .map(|s| (s.entry.cfg.name.clone(), s))
            .collect();
        let mut pending = Vec::new();
        let now = clock::both();
        for (i, p) in svc.processes.iter().cloned().enumerate() {
            let (slot, fx) = match old.remove(&p.name) {
                Some(mut s) => {
                    let fx = s.entry.reconfigure(p, svc.monitor_try_count, now);
                    (s, fx)
                }
                None => {
                    let (mut e, fx) = Entry::new(p, svc.monitor_try_count);
                    // The same pname removed by an earlier reload may still have its script
                    // running: this entry waits for that one rather than start a second.
                    let orphan = self.orphans.iter().position(|(n, _)| *n == e.cfg.name);
                    let script = orphan.map(|k| Box::new(self.orphans.swap_remove(k).1));
                    if script.is_some() {
                        e.adopt_script();
                    }
                    let fx = if self.running { fx } else { e.stop() };
                    let mut s = Slot::new(e);
                    s.script = script;
                    (s, fx)
                }
            };
            self.slots.push(slot);
            pending.push((i, fx));
        }
        // Removed entries: their scripts run on as orphans (reaped, adopted if they return).
        for (name, mut s) in old {
            if let Some(r) = s.script.take() {
                self.orphans.push((name, *r));
            }
            if let Some(c) = s.check.take() {
                if let Some(script) = c.cancel() {
                    let r = super::slot::Running::child(script, now.boot, Duration::ZERO);
                    self.orphans.push((String::new(), r));
                }
            }
        }
        let dump_path = svc.dump_file_or_default();
        if dump_path != self.svc.dump_file_or_default() {
            self.dump = DumpDir::new(&dump_path);
        }
        self.svc = svc;
        let old_groups = std::mem::take(&mut self.groups);
        let group_fx = self.build_groups(old_groups, now);
        let (budget, warning) = limits::raise(self.slots.len());
        self.budget = budget;
        if let Some(w) = warning {
            self.log.log(syslog::WARNING, &w);
        }
        self.recount();
        for (i, fx) in pending {
            self.apply(i, fx);
        }
        for (g, fx) in group_fx {
            self.apply_group(g, fx);
        }
        self.dirty = true;
        self.log.log(
            syslog::INFO,
            &format!("Reload pfile={} entries={}", self.pfile, self.slots.len()),
        );
        self.reload_applied();
        Ok(loaded.warnings)
    }

    pub(super) fn list_view(&self) -> ListView {
        ListView {
            ipckey: self.svc.ipckey,
            pid: std::process::id(),
            pfile: self.pfile.clone(),
            running: self.running,
        }
    }

    pub(super) fn param_view(&self) -> ParamView {
        ParamView {
            msg_check_interval: self.svc.msg_check_interval,
            monitor_interval: self.svc.monitor_interval,
            monitor_try_count: self.svc.monitor_try_count,
            dump_file: self.svc.dump_file_or_default(),
            pfile: self.pfile.clone(),
            running: self.running,
            monitor_stop_count: self.slots.iter().filter(|s| !s.entry.monitor_on).count(),
            fail_proc_count: self
                .slots
                .iter()
                .filter(|s| s.entry.proc_sts == ProcSts::RetryOver)
                .count(),
            all_proc_count: self.slots.len(),
        }
    }

    /// One view per entry. A group member shows its group's counters and retry-over action
    /// (the ones that apply to it: spec 7), and its own pid and proc_sts.
    pub(super) fn pent_views(&self) -> Vec<PentView> {
        let now = clock::both();
        self.slots
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let e = &s.entry;
                let group = s.group.map(|(g, _)| &self.groups[g].state);
                let (r, action) = match group {
                    Some(g) => (&g.r, g.cfg.on_retry_over),
                    None => (&e.r, e.cfg.on_retry_over),
                };
                PentView {
                    pname: e.cfg.name.clone(),
                    pid: e.pid,
                    retry_count: r.retry_count,
                    restart_count: r.restart_count,
                    proc_sts: e.proc_sts.as_str().to_owned(),
                    retry_over_act: action.as_str().to_owned(),
                    rerun_time: r.rerun_time,
                    pent_id: i + 1,
                    monitor_on: e.monitor_on,
                    script: s.script.as_ref().map(|r| r.record()),
                    ext: PentExt {
                        pids: e.ids.iter().map(|id| id.pid).collect(),
                        instances: e.cfg.instances.max(1),
                        group: e.cfg.group.as_deref().map(str::to_owned),
                        health_failures: e.cfg.health.as_ref().map(|_| e.health_failures),
                        stalled: e.stalled.is_some(),
                        backoff: e
                            .backoff_until()
                            .map(|until| backoff(until, e.cfg.retry_delay, &e.r, now)),
                    },
                }
            })
            .collect()
    }

    pub(super) fn group_views(&self) -> Vec<GroupView> {
        let now = clock::both();
        self.groups
            .iter()
            .map(|g| {
                let st = &g.state;
                GroupView {
                    name: st.cfg.name.clone(),
                    members: g
                        .members
                        .iter()
                        .map(|&i| self.slots[i].entry.cfg.name.clone())
                        .collect(),
                    proc_sts: st.proc_sts.as_str().to_owned(),
                    state: st.phase_name().to_owned(),
                    retry_count: st.r.retry_count,
                    restart_count: st.r.restart_count,
                    retry_over_act: st.cfg.on_retry_over.as_str().to_owned(),
                    rerun_time: st.r.rerun_time,
                    backoff: st
                        .backoff_until()
                        .map(|until| backoff(until, st.retry_delay, &st.r, now)),
                    script: g.script.as_ref().map(|r| r.record()),
                }
            })
            .collect()
    }

    pub(super) fn flush_dump(&mut self) {
        if !self.dirty {
            return;
        }
        self.dirty = false;
        let d = Dump {
            written: clock::now(),
            pid: std::process::id(),
            ipckey: self.svc.ipckey,
            param: self.param_view(),
            pents: self.pent_views(),
            groups: self.group_views(),
        };
        self.dump.write(&d.to_text(), &mut self.log);
        self.write_metrics();
    }
}

/// A backoff wait as the views show it: when it ends on the wall clock, and its length.
fn backoff(until: Duration, retry_delay: u32, r: &Restarts, now: Now) -> Backoff {
    let left = until.saturating_sub(now.boot);
    let left = i64::try_from(left.as_secs() + u64::from(left.subsec_nanos() > 0)).unwrap_or(0);
    Backoff {
        until: now.wall.saturating_add(left),
        seconds: Restarts::backoff(retry_delay, r.retry_count).as_secs(),
    }
}

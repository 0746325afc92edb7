//! What pcheck does for padmin and SIGHUP: answers, stop/start, reload, and the views shared
//! by the answers and the state dump.

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::time::Instant;

use super::Daemon;
use crate::dump::{self, Dump};
use crate::state::{Entry, ProcSts};
use crate::syslog;
use crate::view::{self, ListView, ParamView, PentView};
use crate::{clock, config};

impl Daemon {
    /// A control request (see `control`): status 0 done, 1 refused.
    pub(super) fn command(&mut self, req: &str) -> (u8, String) {
        match req {
            "info" => (0, view::render_list(&self.list_view())),
            "show param" => (0, view::render_param(&self.param_view())),
            "show pent" => (0, view::render_pents(&self.pent_views())),
            "reload" => match self.reload() {
                Ok(warnings) => (0, warnings),
                Err(diags) => (1, diags),
            },
            "stop" | "start" => {
                let start = req == "start";
                self.running = start;
                self.dirty = true;
                for i in 0..self.entries.len() {
                    let fx = if start {
                        self.entries[i].start()
                    } else {
                        self.entries[i].stop()
                    };
                    self.apply(i, fx);
                }
                (0, String::new())
            }
            "shutdown" => {
                self.exit.get_or_insert(0);
                (0, String::new())
            }
            _ => (1, format!("unknown command `{req}`\n")),
        }
    }

    /// Re-reads the pfile. Entries keep their state by pname; RETRY_OVER ones are reset and
    /// searched again. A pfile with errors, or a new IPCKEY, is refused and nothing changes.
    pub(super) fn reload(&mut self) -> Result<String, String> {
        let loaded = config::load(&self.pfile).inspect_err(|_| {
            self.log.log(
                syslog::ERR,
                &format!("Reload refused: pfile={} has errors", self.pfile),
            );
        })?;
        let svc = loaded.service;
        if svc.ipckey != self.svc.ipckey {
            let msg = format!(
                "reload refused: IPCKEY changed from {} to {}; restart pcheck to change it\n",
                psctl::model::format_ipckey(self.svc.ipckey),
                psctl::model::format_ipckey(svc.ipckey)
            );
            self.log.log(syslog::ERR, msg.trim_end());
            return Err(msg);
        }
        let mut old: HashMap<String, (Entry, Option<OwnedFd>, Option<Instant>)> = self
            .entries
            .drain(..)
            .zip(self.pidfds.drain(..))
            .zip(self.due.drain(..))
            .map(|((e, f), d)| (e.cfg.name.clone(), (e, f, d)))
            .collect();
        let mut pending = Vec::new();
        for (i, p) in svc.processes.iter().cloned().enumerate() {
            let (entry, fd, due, fx) = match old.remove(&p.name) {
                Some((mut e, fd, due)) => {
                    let fx = e.reconfigure(p, svc.monitor_try_count);
                    (e, fd, due, fx)
                }
                None => {
                    let (mut e, fx) = Entry::new(p, svc.monitor_try_count);
                    let fx = if self.running { fx } else { e.stop() };
                    (e, None, None, fx)
                }
            };
            self.entries.push(entry);
            self.pidfds.push(fd);
            self.due.push(due);
            pending.push((i, fx));
        }
        self.svc = svc;
        self.reindex();
        for (i, fx) in pending {
            self.apply(i, fx);
        }
        self.dirty = true;
        self.log.log(
            syslog::INFO,
            &format!("Reload pfile={} entries={}", self.pfile, self.entries.len()),
        );
        Ok(loaded.warnings)
    }

    fn list_view(&self) -> ListView {
        ListView {
            ipckey: self.svc.ipckey,
            pid: std::process::id(),
            pfile: self.pfile.clone(),
            running: self.running,
        }
    }

    fn param_view(&self) -> ParamView {
        ParamView {
            msg_check_interval: self.svc.msg_check_interval,
            monitor_interval: self.svc.monitor_interval,
            monitor_try_count: self.svc.monitor_try_count,
            dump_file: self.svc.dump_file_or_default(),
            pfile: self.pfile.clone(),
            running: self.running,
            monitor_stop_count: self.entries.iter().filter(|e| !e.monitor_on).count(),
            fail_proc_count: self
                .entries
                .iter()
                .filter(|e| e.proc_sts == ProcSts::RetryOver)
                .count(),
            all_proc_count: self.entries.len(),
        }
    }

    fn pent_views(&self) -> Vec<PentView> {
        self.entries
            .iter()
            .enumerate()
            .map(|(i, e)| PentView {
                pname: e.cfg.name.clone(),
                pid: e.pid,
                retry_count: e.retry_count,
                restart_count: e.restart_count,
                proc_sts: e.proc_sts.as_str().to_owned(),
                retry_over_act: e.cfg.on_retry_over.as_str().to_owned(),
                rerun_time: e.rerun_time,
                pent_id: i + 1,
                monitor_on: e.monitor_on,
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
        };
        let path = self.svc.dump_file_or_default();
        match dump::write_atomic(std::path::Path::new(&path), &d.to_text()) {
            Ok(()) => self.dump_error = None,
            Err(e) => {
                let msg = format!("cannot write dump file {path}: {e}");
                if self.dump_error.as_ref() != Some(&msg) {
                    self.log.log(syslog::ERR, &msg);
                    self.dump_error = Some(msg);
                }
            }
        }
    }
}

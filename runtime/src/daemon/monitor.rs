//! What pcheck reports to monitoring systems: the snapshot behind `padmin --format json` and
//! `padmin --metrics` (control requests `info json`, `show param json`, `show pent json`,
//! `metrics`), and the `--metrics-file`, rewritten whenever the dump is (on a change of state).

use super::Daemon;
use crate::metrics::{self, MetricsFile};
use crate::report::{Detail, Reloads, Snapshot};
use crate::state::Wall;
use crate::{clock, json};

/// The control requests answered here.
const REQUESTS: [&str; 4] = ["info json", "show param json", "show pent json", "metrics"];

pub(super) struct Monitor {
    started: Wall,
    reloads: Reloads,
    file: Option<MetricsFile>,
    /// pcheck is shutting down: the last metrics file says so.
    pub ending: bool,
}

impl Monitor {
    pub fn new(file: Option<MetricsFile>) -> Monitor {
        Monitor {
            started: clock::now(),
            reloads: Reloads::default(),
            file,
            ending: false,
        }
    }
}

impl Daemon {
    pub(super) fn snapshot(&self) -> Snapshot {
        Snapshot {
            list: self.list_view(),
            param: self.param_view(),
            pents: self.pent_views(),
            details: self
                .slots
                .iter()
                .map(|s| Detail::new(&s.entry.cfg, &s.history))
                .collect(),
            groups: self.group_views(),
            started: self.monitor.started,
            reloads: self.monitor.reloads,
            running: !self.monitor.ending,
        }
    }

    /// The answer to a monitoring request; `None` if `req` is not one.
    pub(super) fn monitor_answer(&self, req: &str) -> Option<String> {
        if !REQUESTS.contains(&req) {
            return None;
        }
        let s = self.snapshot();
        Some(match req {
            "info json" => {
                let mut o = String::new();
                json::list_object(&s.list, s.started).write(&mut o);
                o
            }
            "show param json" => json::param_document(&s),
            "show pent json" => json::pent_document(&s),
            "metrics" => metrics::render(&s),
            _ => return None,
        })
    }

    /// A reload was asked for (it may yet be refused: the metrics change either way).
    pub(super) fn reload_asked(&mut self) {
        self.monitor.reloads.attempts += 1;
        self.dirty = true;
    }

    pub(super) fn reload_applied(&mut self) {
        self.monitor.reloads.done += 1;
    }

    /// Rewrites the metrics file, if there is one (called when the dump is flushed).
    pub(super) fn write_metrics(&mut self) {
        if self.monitor.file.is_none() {
            return;
        }
        let text = metrics::render(&self.snapshot());
        if let Some(f) = &mut self.monitor.file {
            f.write(&text, &mut self.log);
        }
    }
}

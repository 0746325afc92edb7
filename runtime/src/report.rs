//! What pcheck tells a monitoring system beyond the text views of spec 4: per entry its
//! configuration and what happened to it since pcheck started (counters, last death, last
//! restart and its outcome), per pcheck its start time and reloads. `json` and `metrics`
//! render the same `Snapshot`, so `padmin --format json` and the Prometheus exposition never
//! disagree.

use psctl::model::Process;

use crate::state::{Event, Msg, ScriptEnd, Wall};
use crate::view::{ListView, ParamView, PentView};

/// How the last restart script this pcheck started for an entry ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Running,
    /// Exit status (0: success).
    Exited(i32),
    Signaled(i32),
    /// Killed with its group after this many seconds.
    TimedOut(u64),
    /// Refused before it ran (trust rules, spec 6): counts as a failed attempt.
    NotRun(String),
    /// Could not be started for lack of resources; pcheck tries again shortly.
    Deferred(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastRestart {
    pub started: Wall,
    /// `None` while it runs (or is deferred).
    pub ended: Option<Wall>,
    pub outcome: Outcome,
}

/// What happened to one entry since pcheck started (kept across reloads by pname). Counters
/// follow the log lines of spec 3.4, so an operator can check them against syslog.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct History {
    /// `Down` lines.
    pub deaths: u64,
    /// `Try to restart` lines (restart scripts started).
    pub restarts: u64,
    /// `Set pid fail` lines (not found at start or after a restart, or the script failed).
    pub failures: u64,
    /// `RETRY_OVER` lines.
    pub retry_overs: u64,
    /// Health checks that ended with a verdict, and those that failed (spec 7).
    pub health_checks: u64,
    pub health_failures: u64,
    /// `Stall` lines.
    pub stalls: u64,
    /// The last health verdict: (healthy, when).
    pub last_health: Option<(bool, Wall)>,
    pub last_death: Option<Wall>,
    pub last_restart: Option<LastRestart>,
}

impl History {
    /// Called for every log line the state machine emits for this entry.
    pub fn note_msg(&mut self, m: &Msg, now: Wall) {
        match m {
            Msg::Down(..) => {
                self.deaths += 1;
                self.last_death = Some(now);
            }
            Msg::TryRestart(_) => {
                self.restarts += 1;
                self.last_restart = Some(LastRestart {
                    started: now,
                    ended: None,
                    outcome: Outcome::Running,
                });
            }
            Msg::SetPidFail(_) => self.failures += 1,
            Msg::RetryOver(..) => self.retry_overs += 1,
            Msg::Deferred(_, why) => self.set_outcome(Outcome::Deferred(why.clone()), None),
            Msg::Stall(..) => self.stalls += 1,
            Msg::Up(..) | Msg::Script(..) | Msg::Backoff(..) => {}
        }
    }

    /// Called for every health check that ended with a verdict.
    pub fn note_health(&mut self, ok: bool, now: Wall) {
        self.health_checks += 1;
        if !ok {
            self.health_failures += 1;
        }
        self.last_health = Some((ok, now));
    }

    /// Called for every event fed to this entry: the ends of its scripts (a successful end is
    /// not logged) and the retry of a deferred start.
    pub fn note_event(&mut self, ev: &Event, now: Wall) {
        match ev {
            Event::ScriptEnded(end) => {
                let outcome = match end {
                    ScriptEnd::Ok => Outcome::Exited(0),
                    ScriptEnd::Status(s) => Outcome::Exited(*s),
                    ScriptEnd::Signal(s) => Outcome::Signaled(*s),
                    ScriptEnd::TimedOut(t) => Outcome::TimedOut(*t),
                    ScriptEnd::SpawnFailed(why) => Outcome::NotRun(why.clone()),
                };
                self.set_outcome(outcome, Some(now));
            }
            Event::RetryScript => self.set_outcome(Outcome::Running, None),
            Event::Scan(_)
            | Event::Died(_)
            | Event::SpawnLater(_)
            | Event::BackoffOver
            | Event::Health(_)
            | Event::Group(_) => {}
        }
    }

    /// Only a script this pcheck started has an outcome to record (one inherited from the
    /// previous pcheck has no `Try to restart` here and no exit status to report).
    fn set_outcome(&mut self, outcome: Outcome, ended: Option<Wall>) {
        if let Some(r) = &mut self.last_restart {
            if r.ended.is_none() {
                r.outcome = outcome;
                r.ended = ended;
            }
        }
    }
}

/// One entry's configuration as pcheck runs it, and its history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail {
    /// The restart command line; `None` for `-`.
    pub restart: Option<String>,
    pub grace: u64,
    pub retries: u32,
    /// Users whose processes may match (spec 6); empty: the default rule.
    pub trusted_users: Vec<String>,
    pub history: History,
    /// Spec 7's settings.
    pub ext: ConfigExt,
}

/// An entry's spec 7 settings as pcheck runs them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigExt {
    pub instances: u32,
    pub health: Option<psctl::model::Health>,
    pub stop_timeout: u32,
    pub retry_delay: u32,
}

impl Default for ConfigExt {
    fn default() -> ConfigExt {
        ConfigExt {
            instances: psctl::model::DEFAULT_INSTANCES,
            health: None,
            stop_timeout: psctl::model::DEFAULT_STOP_TIMEOUT,
            retry_delay: psctl::model::DEFAULT_RETRY_DELAY,
        }
    }
}

impl Detail {
    pub fn new(cfg: &Process, history: &History) -> Detail {
        Detail {
            restart: crate::restart::command_line(&cfg.restart),
            grace: cfg.grace,
            retries: cfg.retries,
            trusted_users: trusted_users(cfg),
            history: history.clone(),
            ext: ConfigExt {
                instances: cfg.instances,
                health: cfg.health.as_deref().cloned(),
                stop_timeout: cfg.stop_timeout,
                retry_delay: cfg.retry_delay,
            },
        }
    }
}

/// The entry's trusted users as written (names or uids); empty means the default rule.
fn trusted_users(cfg: &Process) -> Vec<String> {
    cfg.user.to_vec()
}

/// pcheck-wide counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Reloads {
    pub attempts: u64,
    pub done: u64,
}

/// Everything `padmin --format json` and the metrics show about one running pcheck.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub list: ListView,
    pub param: ParamView,
    pub pents: Vec<PentView>,
    /// One per entry of `pents`, same order.
    pub details: Vec<Detail>,
    /// One per group (spec 7).
    pub groups: Vec<crate::view::GroupView>,
    /// Wall-clock start of pcheck.
    pub started: Wall,
    pub reloads: Reloads,
    /// False only in the metrics pcheck writes as it shuts down.
    pub running: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restart(h: &History) -> (Outcome, Option<Wall>) {
        let r = h.last_restart.as_ref().unwrap();
        (r.outcome.clone(), r.ended)
    }

    #[test]
    fn counters_follow_the_log_lines() {
        let mut h = History::default();
        h.note_msg(&Msg::SetPidFail("p".into()), 5);
        h.note_msg(&Msg::Down("p".into(), 9), 10);
        h.note_msg(&Msg::TryRestart("p".into()), 11);
        assert_eq!(restart(&h), (Outcome::Running, None));
        h.note_event(&Event::ScriptEnded(ScriptEnd::Status(3)), 12);
        h.note_msg(&Msg::Script("p".into(), ScriptEnd::Status(3)), 12);
        h.note_msg(&Msg::SetPidFail("p".into()), 12);
        h.note_msg(
            &Msg::RetryOver("p".into(), psctl::model::Action::Continue),
            12,
        );
        assert_eq!(
            (
                h.deaths,
                h.restarts,
                h.failures,
                h.retry_overs,
                h.last_death
            ),
            (1, 1, 2, 1, Some(10))
        );
        assert_eq!(restart(&h), (Outcome::Exited(3), Some(12)));
        assert_eq!(h.last_restart.as_ref().unwrap().started, 11);
    }

    #[test]
    fn deferred_then_started_then_ended() {
        let mut h = History::default();
        h.note_msg(&Msg::TryRestart("p".into()), 1);
        h.note_msg(&Msg::Deferred("p".into(), "EMFILE".into()), 1);
        assert_eq!(restart(&h), (Outcome::Deferred("EMFILE".into()), None));
        h.note_event(&Event::RetryScript, 2);
        assert_eq!(restart(&h), (Outcome::Running, None));
        h.note_event(&Event::ScriptEnded(ScriptEnd::TimedOut(300)), 302);
        assert_eq!(restart(&h), (Outcome::TimedOut(300), Some(302)));
        // a later end (another script's) does not overwrite a recorded one
        h.note_event(&Event::ScriptEnded(ScriptEnd::Ok), 400);
        assert_eq!(restart(&h), (Outcome::TimedOut(300), Some(302)));
        assert_eq!(h.restarts, 1);
    }

    #[test]
    fn an_inherited_script_is_not_reported() {
        let mut h = History::default();
        h.note_event(&Event::ScriptEnded(ScriptEnd::Ok), 1);
        assert_eq!(h, History::default());
    }
}

//! Prometheus text exposition (format 0.0.4) of a pcheck's `Snapshot`: `pcheck --metrics-file`
//! rewrites it atomically whenever the state changes (no polling), ready for node_exporter's
//! textfile collector; `padmin --metrics` merges the expositions of every running pcheck.
//!
//! Names: prefix `pcheck_` (pcheck is the exporter), base units (seconds, Unix timestamps),
//! counters end in `_total`. Labels `pfile` and `pname` carry the values as padmin's text shows
//! them (`psctl::escape::for_display`), escaped as the format requires; so nothing in the
//! exposition can drive a terminal, and two pchecks' series never collide (pfiles differ).

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{fchmod, openat, renameat, unlinkat, AtFlags, Mode, OFlags};

use crate::report::Snapshot;
use crate::syslog::{self, Logger};

/// A metric family: name, type, help.
struct Family(&'static str, &'static str, &'static str);

const RUNNING: Family = Family(
    "pcheck_running",
    "gauge",
    "Whether pcheck runs (0 in the file pcheck writes as it shuts down).",
);
const INFO: Family = Family(
    "pcheck_info",
    "gauge",
    "Constant 1, labelled with the pfile and the IPCKEY of a pcheck.",
);
const START: Family = Family(
    "pcheck_start_time_seconds",
    "gauge",
    "Start time of pcheck since the Unix epoch in seconds.",
);
const MONITORING: Family = Family(
    "pcheck_monitoring",
    "gauge",
    "Whether monitoring is on (MESSAGE_BOX start) rather than stopped by padmin.",
);
const RELOADS: Family = Family(
    "pcheck_config_reloads_total",
    "counter",
    "Reloads of the pfile that were applied, since pcheck started.",
);
const RELOAD_FAILURES: Family = Family(
    "pcheck_config_reload_failures_total",
    "counter",
    "Reloads of the pfile that were refused (errors, changed IPCKEY), since pcheck started.",
);
const UP: Family = Family(
    "pcheck_process_up",
    "gauge",
    "Whether the process of a PENT entry is up (proc_sts AVAIL).",
);
const STATE: Family = Family(
    "pcheck_process_state",
    "gauge",
    "proc_sts of a PENT entry: 1 for the current state (AVAIL, DOWN, RETRY_OVER), 0 for the others.",
);
const MONITORED: Family = Family(
    "pcheck_process_monitored",
    "gauge",
    "Whether a PENT entry is monitored (monitor_sts on).",
);
const PID: Family = Family(
    "pcheck_process_pid",
    "gauge",
    "Pid of the process a PENT entry watches or last watched (0: none yet).",
);
const WINDOW_RESTARTS: Family = Family(
    "pcheck_process_window_restarts",
    "gauge",
    "Restarts in the current grace window (restart_count).",
);
const RETRY_LIMIT: Family = Family(
    "pcheck_process_window_restarts_limit",
    "gauge",
    "Restarts allowed in one grace window (the PENT retry field).",
);
const GRACE: Family = Family(
    "pcheck_process_grace_window_seconds",
    "gauge",
    "Length of the grace window in seconds (0: it never ends).",
);
const FAILED_ATTEMPTS: Family = Family(
    "pcheck_process_failed_attempts",
    "gauge",
    "Failed restart attempts in the current outage (retry_count).",
);
const DEATHS: Family = Family(
    "pcheck_process_deaths_total",
    "counter",
    "Deaths of the watched process (Down lines) since pcheck started.",
);
const RESTARTS: Family = Family(
    "pcheck_process_restarts_total",
    "counter",
    "Restart scripts started (Try to restart lines) since pcheck started.",
);
const FAILURES: Family = Family(
    "pcheck_process_failures_total",
    "counter",
    "Set pid fail events (not found, or the restart failed) since pcheck started.",
);
const RETRY_OVERS: Family = Family(
    "pcheck_process_retry_overs_total",
    "counter",
    "RETRY_OVER events since pcheck started.",
);
const LAST_DEATH: Family = Family(
    "pcheck_process_last_death_timestamp_seconds",
    "gauge",
    "Time of the last death of the watched process since the Unix epoch in seconds (0: none).",
);
const LAST_RESTART: Family = Family(
    "pcheck_process_last_restart_timestamp_seconds",
    "gauge",
    "Start time of the last restart script since the Unix epoch in seconds (0: none).",
);

// Spec 7: written only for the entries (and groups) that use the extension, so that the
// exposition of a pfile without extensions is unchanged.
const WATCHED: Family = Family(
    "pcheck_process_watched_processes",
    "gauge",
    "Processes an entry with instances > 1 watches now (at most its instances).",
);
const HEALTH_CHECKS: Family = Family(
    "pcheck_process_health_checks_total",
    "counter",
    "Health checks that ended with a verdict since pcheck started (entries with a health check).",
);
const HEALTH_FAILURES: Family = Family(
    "pcheck_process_health_check_failures_total",
    "counter",
    "Failed health checks since pcheck started (entries with a health check).",
);
const STALLS: Family = Family(
    "pcheck_process_stalls_total",
    "counter",
    "Stall lines (failures consecutive failed checks) since pcheck started.",
);
const BACKOFF: Family = Family(
    "pcheck_process_backoff_until_timestamp_seconds",
    "gauge",
    "End of the backoff wait before the next restart since the Unix epoch in seconds (0: not waiting; entries with retry_delay > 0).",
);
const GROUP_UP: Family = Family(
    "pcheck_group_up",
    "gauge",
    "Whether every member of a group is up (the group's proc_sts AVAIL).",
);
const GROUP_RESTARTS: Family = Family(
    "pcheck_group_window_restarts",
    "gauge",
    "Restarts of a group in its current grace window (restart_count).",
);

/// Every family, in the order `render` writes them.
const ALL: [&Family; 27] = [
    &RUNNING,
    &INFO,
    &START,
    &MONITORING,
    &RELOADS,
    &RELOAD_FAILURES,
    &UP,
    &STATE,
    &MONITORED,
    &PID,
    &WINDOW_RESTARTS,
    &RETRY_LIMIT,
    &GRACE,
    &FAILED_ATTEMPTS,
    &DEATHS,
    &RESTARTS,
    &FAILURES,
    &RETRY_OVERS,
    &LAST_DEATH,
    &LAST_RESTART,
    &WATCHED,
    &HEALTH_CHECKS,
    &HEALTH_FAILURES,
    &STALLS,
    &BACKOFF,
    &GROUP_UP,
    &GROUP_RESTARTS,
];

/// (name, type, help) of every family, in the order they are written.
pub fn families() -> impl Iterator<Item = (&'static str, &'static str, &'static str)> {
    ALL.iter().map(|f| (f.0, f.1, f.2))
}

/// A label value as the exposition format wants it: shown as padmin shows it, then `\`, `"`
/// and line feeds escaped.
fn label(v: &str) -> String {
    let shown = psctl::escape::for_display(v);
    let mut out = String::with_capacity(shown.len());
    for c in shown.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn head(out: &mut String, f: &Family) {
    let _ = writeln!(out, "# HELP {} {}\n# TYPE {} {}", f.0, f.2, f.0, f.1);
}

/// One sample: `NAME{LABELS EXTRA} VALUE` (written in place: a pfile may have thousands).
fn sample(out: &mut String, f: &Family, labels: &str, extra: &str, v: i64) {
    out.push_str(f.0);
    out.push('{');
    out.push_str(labels);
    out.push_str(extra);
    let _ = writeln!(out, "}} {v}");
}

/// The exposition of one pcheck.
pub fn render(s: &Snapshot) -> String {
    use crate::report::Detail;
    use crate::view::PentView;
    let pfile = format!("pfile=\"{}\"", label(&s.param.pfile));
    let entries: Vec<(String, &PentView, &Detail)> = s
        .pents
        .iter()
        .zip(&s.details)
        .map(|(p, d)| (format!("{pfile},pname=\"{}\"", label(&p.pname)), p, d))
        .collect();
    let mut out = String::with_capacity(
        1024 + entries.len() * 24 * (entries.first().map_or(0, |e| e.0.len()) + 56),
    );
    let n = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let one = |out: &mut String, f: &Family, extra: &str, v: i64| {
        head(out, f);
        sample(out, f, &pfile, extra, v);
    };
    one(&mut out, &RUNNING, "", i64::from(s.running));
    let key = format!(",ipckey=\"{}\"", psctl::model::format_ipckey(s.list.ipckey));
    one(&mut out, &INFO, &key, 1);
    one(&mut out, &START, "", s.started);
    one(&mut out, &MONITORING, "", i64::from(s.param.running));
    one(&mut out, &RELOADS, "", n(s.reloads.done));
    let failed = s.reloads.attempts.saturating_sub(s.reloads.done);
    one(&mut out, &RELOAD_FAILURES, "", n(failed));
    let each = |out: &mut String, f: &Family, v: &dyn Fn(&PentView, &Detail) -> i64| {
        head(out, f);
        for (l, p, d) in &entries {
            sample(out, f, l, "", v(p, d));
        }
    };
    each(&mut out, &UP, &|p, _| i64::from(p.proc_sts == "AVAIL"));
    head(&mut out, &STATE);
    for (l, p, _) in &entries {
        for st in ["AVAIL", "DOWN", "RETRY_OVER"] {
            let extra = format!(",state=\"{st}\"");
            sample(&mut out, &STATE, l, &extra, i64::from(p.proc_sts == st));
        }
    }
    each(&mut out, &MONITORED, &|p, _| i64::from(p.monitor_on));
    each(&mut out, &PID, &|p, _| i64::from(p.pid));
    each(&mut out, &WINDOW_RESTARTS, &|p, _| {
        i64::from(p.restart_count)
    });
    each(&mut out, &RETRY_LIMIT, &|_, d| i64::from(d.retries));
    each(&mut out, &GRACE, &|_, d| n(d.grace));
    each(&mut out, &FAILED_ATTEMPTS, &|p, _| i64::from(p.retry_count));
    each(&mut out, &DEATHS, &|_, d| n(d.history.deaths));
    each(&mut out, &RESTARTS, &|_, d| n(d.history.restarts));
    each(&mut out, &FAILURES, &|_, d| n(d.history.failures));
    each(&mut out, &RETRY_OVERS, &|_, d| n(d.history.retry_overs));
    each(&mut out, &LAST_DEATH, &|_, d| {
        d.history.last_death.unwrap_or(0)
    });
    each(&mut out, &LAST_RESTART, &|_, d| {
        d.history.last_restart.as_ref().map_or(0, |r| r.started)
    });
    // Spec 7, for the entries and groups that use it (a family without samples is left out).
    type Pick<'a> = &'a dyn Fn(&PentView, &Detail) -> Option<i64>;
    let some = |out: &mut String, f: &Family, v: Pick| {
        let mut first = true;
        for (l, p, d) in &entries {
            if let Some(x) = v(p, d) {
                if std::mem::take(&mut first) {
                    head(out, f);
                }
                sample(out, f, l, "", x);
            }
        }
    };
    some(&mut out, &WATCHED, &|p, d| {
        (d.ext.instances > 1).then(|| i64::try_from(p.ext.pids.len()).unwrap_or(0))
    });
    some(&mut out, &HEALTH_CHECKS, &|_, d| {
        d.ext.health.as_ref().map(|_| n(d.history.health_checks))
    });
    some(&mut out, &HEALTH_FAILURES, &|_, d| {
        d.ext.health.as_ref().map(|_| n(d.history.health_failures))
    });
    some(&mut out, &STALLS, &|_, d| {
        d.ext.health.as_ref().map(|_| n(d.history.stalls))
    });
    some(&mut out, &BACKOFF, &|p, d| {
        (d.ext.retry_delay > 0).then(|| p.ext.backoff.map_or(0, |b| b.until))
    });
    if !s.groups.is_empty() {
        for (f, v) in [
            (
                &GROUP_UP,
                &(|g: &crate::view::GroupView| i64::from(g.proc_sts == "AVAIL"))
                    as &dyn Fn(&crate::view::GroupView) -> i64,
            ),
            (&GROUP_RESTARTS, &|g: &crate::view::GroupView| {
                i64::from(g.restart_count)
            }),
        ] {
            head(&mut out, f);
            for g in &s.groups {
                let extra = format!(",group=\"{}\"", label(&g.name));
                sample(&mut out, f, &pfile, &extra, v(g));
            }
        }
    }
    out
}

/// Several pchecks' expositions as one: the format wants each family once, its samples
/// together, so samples are regrouped under the first `# HELP`/`# TYPE` seen for their family.
pub fn merge(expositions: &[String]) -> String {
    let mut order: Vec<String> = Vec::new();
    let mut blocks: std::collections::HashMap<String, (Vec<String>, Vec<String>)> =
        Default::default();
    for text in expositions {
        let mut current = String::new();
        for line in text.lines() {
            let meta = line
                .strip_prefix("# HELP ")
                .or_else(|| line.strip_prefix("# TYPE "));
            let name = match meta {
                Some(rest) => rest.split(' ').next().unwrap_or_default().to_owned(),
                None => line.split(['{', ' ']).next().unwrap_or_default().to_owned(),
            };
            if name.is_empty() {
                continue;
            }
            if meta.is_some() {
                current = name.clone();
            }
            // A sample belongs to the family announced before it.
            let key = if meta.is_some() {
                name
            } else {
                current.clone()
            };
            let b = blocks.entry(key.clone()).or_insert_with(|| {
                order.push(key.clone());
                Default::default()
            });
            if meta.is_some() {
                if b.0.len() < 2 && !b.0.contains(&line.to_owned()) {
                    b.0.push(line.to_owned());
                }
            } else {
                b.1.push(line.to_owned());
            }
        }
    }
    let mut out = String::new();
    for name in order {
        let (head, samples) = &blocks[&name];
        for l in head.iter().chain(samples) {
            out.push_str(l);
            out.push('\n');
        }
    }
    out
}

/// Why the metrics file is refused (at start) or not written (logged).
#[derive(Debug)]
pub enum MetricsError {
    /// The path as given; shown unescaped, as it always was.
    NotAbsolute(String),
    /// A name node_exporter's textfile collector would not read.
    NotProm(String),
    /// Its directory failed the trust rules.
    Dir(crate::dirs::DirError),
    Io(std::io::Error),
}

impl std::fmt::Display for MetricsError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MetricsError::NotAbsolute(path) => {
                write!(f, "--metrics-file {path}: not an absolute path to a file")
            }
            MetricsError::NotProm(path) => write!(
                f,
                "--metrics-file {}: the file name must end in .prom (node_exporter's textfile collector reads only those)",
                psctl::escape::for_display(path)
            ),
            MetricsError::Dir(e) => write!(f, "metrics directory refused: {e}"),
            MetricsError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for MetricsError {}

/// The file `--metrics-file` names, rewritten atomically (temporary file in the same
/// directory, rename) through a handle on its directory, which must pass the trust rules like
/// the dump's (spec 6). Mode 0644: node_exporter runs as its own user. No fsync: pcheck
/// rewrites the whole file at start, so nothing is lost that a crash could leave stale.
pub struct MetricsFile {
    path: PathBuf,
    name: String,
    dir: Option<OwnedFd>,
    error: Option<String>,
}

impl MetricsFile {
    /// Checks the path (absolute, a `*.prom` name that node_exporter will read) and its
    /// directory.
    pub fn open(path: &str) -> Result<MetricsFile, MetricsError> {
        let p = Path::new(path);
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|_| p.is_absolute())
            .ok_or_else(|| MetricsError::NotAbsolute(path.to_owned()))?;
        // pcheck runs as root: it replaces only files named as node_exporter reads them, so
        // a slip of the operator's cannot overwrite a pfile, a script or the dump.
        if name.len() <= ".prom".len() || !name.ends_with(".prom") {
            return Err(MetricsError::NotProm(path.to_owned()));
        }
        let mut f = MetricsFile {
            path: p.to_owned(),
            name: name.to_owned(),
            dir: None,
            error: None,
        };
        f.dir()?;
        Ok(f)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn dir(&mut self) -> Result<&OwnedFd, MetricsError> {
        if self.dir.is_none() {
            let parent = self.path.parent().unwrap_or(Path::new("/"));
            let me = rustix::process::geteuid().as_raw();
            let o =
                crate::dirs::open_private(parent, me, 0o755, false).map_err(MetricsError::Dir)?;
            self.dir = Some(o.fd);
        }
        Ok(self.dir.as_ref().expect("just opened"))
    }

    /// Rewrites the file; logs a failure once (until it changes or writing works again).
    pub fn write(&mut self, text: &str, log: &mut Logger) {
        match self.try_write(text) {
            Ok(()) => self.error = None,
            Err(e) => {
                self.dir = None; // walked again next time
                let msg = format!(
                    "cannot write metrics file {}: {e}",
                    psctl::escape::for_display(&self.path.display().to_string())
                );
                if self.error.as_ref() != Some(&msg) {
                    log.log(syslog::ERR, &msg);
                    self.error = Some(msg);
                }
            }
        }
    }

    fn try_write(&mut self, text: &str) -> Result<(), MetricsError> {
        // Not `*.prom`: the textfile collector never reads a half-written file.
        let tmp = format!(".{}.tmp-{}", self.name, std::process::id());
        let name = self.name.clone();
        let dir = self.dir()?;
        let _ = unlinkat(dir, tmp.as_str(), AtFlags::empty());
        let fd = openat(
            dir,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )
        .map_err(|e| MetricsError::Io(e.into()))?;
        let done = fchmod(&fd, Mode::from_raw_mode(0o644))
            .map_err(std::io::Error::from)
            .and_then(|()| std::fs::File::from(fd).write_all(text.as_bytes()))
            .and_then(|()| renameat(dir, tmp.as_str(), dir, name.as_str()).map_err(Into::into))
            .map_err(MetricsError::Io);
        if done.is_err() {
            let _ = unlinkat(dir, tmp.as_str(), AtFlags::empty());
        }
        done
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_that_is_not_absolute_is_refused_unescaped_as_before() {
        let e = MetricsFile::open("pcheck.prom").err().unwrap();
        assert_eq!(
            e.to_string(),
            "--metrics-file pcheck.prom: not an absolute path to a file"
        );
    }

    #[test]
    fn labels_escaped_for_the_format_and_the_terminal() {
        assert_eq!(label("crond"), "crond");
        assert_eq!(label("a\"b\\c"), "a\\\"b\\\\c");
        // a newline is shown as padmin shows it (`\n`), then its backslash escaped
        assert_eq!(label("a\nb"), "a\\\\nb");
        assert_eq!(label("x\x1by\u{202e}"), "x\\\\x1by\\\\u{202e}");
    }

    #[test]
    fn merge_groups_samples_by_family() {
        let a = "# HELP m_a A.\n# TYPE m_a gauge\nm_a{pfile=\"1\"} 1\n# HELP m_b B.\n# TYPE m_b counter\nm_b_total{pfile=\"1\"} 2\n";
        let b = "# HELP m_a A.\n# TYPE m_a gauge\nm_a{pfile=\"2\"} 3\n# HELP m_b B.\n# TYPE m_b counter\nm_b_total{pfile=\"2\"} 4\n";
        assert_eq!(
            merge(&[a.to_owned(), b.to_owned()]),
            "# HELP m_a A.\n# TYPE m_a gauge\nm_a{pfile=\"1\"} 1\nm_a{pfile=\"2\"} 3\n# HELP m_b B.\n# TYPE m_b counter\nm_b_total{pfile=\"1\"} 2\nm_b_total{pfile=\"2\"} 4\n"
        );
        assert_eq!(merge(&[a.to_owned()]), a);
        assert_eq!(merge(&[]), "");
    }
}

//! What padmin shows, as plain data, and its exact rendering (spec section 4). pcheck renders
//! live state with it; padmin renders a dump file with it, so both print the same bytes. Names
//! and paths are shown escaped (`psctl::escape`): they cannot drive the reader's terminal.

use std::fmt::Write;

use psctl::escape::for_display as esc;

use crate::clock;

/// One `padmin -l` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListView {
    pub ipckey: u32,
    pub pid: u32,
    pub pfile: String,
    pub running: bool,
}

/// `show param`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParamView {
    pub msg_check_interval: u32,
    pub monitor_interval: u32,
    pub monitor_try_count: u32,
    pub dump_file: String,
    pub pfile: String,
    pub running: bool,
    pub monitor_stop_count: usize,
    pub fail_proc_count: usize,
    pub all_proc_count: usize,
}

/// One `show pent` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PentView {
    pub pname: String,
    pub pid: i32,
    pub retry_count: u32,
    pub restart_count: u32,
    pub proc_sts: String,
    pub retry_over_act: String,
    /// Wall-clock seconds; `None` prints `-----`.
    pub rerun_time: Option<i64>,
    pub pent_id: usize,
    pub monitor_on: bool,
    /// The running restart script: (process group, start time). Dumped, not shown.
    pub script: Option<(i32, u64)>,
    /// What spec 7 adds: in the JSON view and the dump, never in `show pent`.
    pub ext: PentExt,
}

/// An entry's state beyond spec 4's block (spec 7).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PentExt {
    /// Every watched pid, oldest first (`pid` shows the first). Empty when none is watched.
    pub pids: Vec<i32>,
    /// How many it watches (`instances`; 1 in a dump older than version 3).
    pub instances: u32,
    /// The group it is a member of.
    pub group: Option<String>,
    /// With a health check: consecutive failed checks so far; `None` without one.
    pub health_failures: Option<u32>,
    /// Stalled and being stopped.
    pub stalled: bool,
    pub backoff: Option<Backoff>,
}

impl Default for PentExt {
    fn default() -> PentExt {
        PentExt {
            pids: Vec::new(),
            instances: 1,
            group: None,
            health_failures: None,
            stalled: false,
            backoff: None,
        }
    }
}

/// A backoff wait before the next restart (spec 7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// When it ends (wall clock, epoch seconds).
    pub until: i64,
    /// Its length in seconds.
    pub seconds: u64,
}

/// One group (spec 7): the counters and state its members share. In the JSON view and the
/// dump; `show pent` shows them in each member's block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupView {
    pub name: String,
    /// Member pnames, in entry order.
    pub members: Vec<String>,
    pub proc_sts: String,
    /// `watching`, `restarting`, `deferred`, `backoff`, `searching`, `retry_over`, `stopped`.
    pub state: String,
    pub retry_count: u32,
    pub restart_count: u32,
    pub retry_over_act: String,
    pub rerun_time: Option<i64>,
    pub backoff: Option<Backoff>,
    /// The running restart script: (process group, start time). Dumped, not shown.
    pub script: Option<(i32, u64)>,
}

fn message(running: bool) -> &'static str {
    if running {
        "start"
    } else {
        "stop"
    }
}

pub fn render_list(v: &ListView) -> String {
    format!(
        "ipckey   = {}\nmypid    = {}\nmyname   = pcheck\npfile    = {}\nmessage  = {}\n",
        psctl::model::format_ipckey(v.ipckey),
        v.pid,
        esc(&v.pfile),
        message(v.running)
    )
}

pub fn render_param(v: &ParamView) -> String {
    let rows: [(&str, String); 9] = [
        ("MSG_CHECK_INTERVAL", v.msg_check_interval.to_string()),
        ("MONITOR_INTERVAL", v.monitor_interval.to_string()),
        ("MONITOR_TRY_COUNT", v.monitor_try_count.to_string()),
        ("SHM_DUMP_FILE", esc(&v.dump_file).into_owned()),
        ("PFILE", esc(&v.pfile).into_owned()),
        ("MESSAGE_BOX", message(v.running).to_owned()),
        ("MONITOR_STOP_COUNT", v.monitor_stop_count.to_string()),
        ("FAIL_PROC_COUNT", v.fail_proc_count.to_string()),
        ("ALL_PROC_COUNT", v.all_proc_count.to_string()),
    ];
    let mut out = String::new();
    for (k, val) in rows {
        let _ = writeln!(out, "{k:<18} = {val}");
    }
    out
}

/// One block per entry, blocks separated by a blank line (like `-l`).
pub fn render_pents(pents: &[PentView]) -> String {
    let mut out = String::new();
    for (i, p) in pents.iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let rerun = p
            .rerun_time
            .map_or_else(|| "-----".to_owned(), clock::ctime);
        let rows: [(&str, String); 9] = [
            ("pname", esc(&p.pname).into_owned()),
            ("pid", p.pid.to_string()),
            ("retry_count", p.retry_count.to_string()),
            ("restart_count", p.restart_count.to_string()),
            ("proc_sts", esc(&p.proc_sts).into_owned()),
            ("retry_over_act", esc(&p.retry_over_act).into_owned()),
            ("rerun_time", rerun),
            ("pent_id", p.pent_id.to_string()),
            (
                "monitor_sts",
                if p.monitor_on { "on" } else { "off" }.to_owned(),
            ),
        ];
        for (k, val) in rows {
            let _ = writeln!(out, "{k:<14} = {val}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guide_blocks_byte_for_byte() {
        let l = ListView {
            ipckey: 0x1f000501,
            pid: 7750,
            pfile: "/var/opt/HA/PS/conf/bin/pfile_crond".into(),
            running: true,
        };
        assert_eq!(
            render_list(&l),
            "ipckey   = 0x1f000501\nmypid    = 7750\nmyname   = pcheck\npfile    = /var/opt/HA/PS/conf/bin/pfile_crond\nmessage  = start\n"
        );
        let p = ParamView {
            msg_check_interval: 5,
            monitor_interval: 10,
            monitor_try_count: 2,
            dump_file: "/var/opt/HA/PS/log/pcheck_dump_crond".into(),
            pfile: "/var/opt/HA/PS/conf/bin/pfile_crond".into(),
            running: true,
            monitor_stop_count: 0,
            fail_proc_count: 0,
            all_proc_count: 1,
        };
        assert_eq!(
            render_param(&p),
            "MSG_CHECK_INTERVAL = 5\nMONITOR_INTERVAL   = 10\nMONITOR_TRY_COUNT  = 2\nSHM_DUMP_FILE      = /var/opt/HA/PS/log/pcheck_dump_crond\nPFILE              = /var/opt/HA/PS/conf/bin/pfile_crond\nMESSAGE_BOX        = start\nMONITOR_STOP_COUNT = 0\nFAIL_PROC_COUNT    = 0\nALL_PROC_COUNT     = 1\n"
        );
        let e = PentView {
            pname: "crond".into(),
            pid: 8033,
            retry_count: 0,
            restart_count: 0,
            proc_sts: "AVAIL".into(),
            retry_over_act: "continue".into(),
            rerun_time: None,
            pent_id: 1,
            monitor_on: true,
            script: None,
            ext: PentExt::default(),
        };
        assert_eq!(
            render_pents(&[e]),
            "pname          = crond\npid            = 8033\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"
        );
    }

    #[test]
    fn names_and_paths_are_escaped() {
        let e = PentView {
            pname: "a\x1b]0;owned\x07b\u{202e}".into(),
            pid: 1,
            retry_count: 0,
            restart_count: 0,
            proc_sts: "AVAIL".into(),
            retry_over_act: "continue".into(),
            rerun_time: None,
            pent_id: 1,
            monitor_on: true,
            script: None,
            ext: PentExt::default(),
        };
        assert!(render_pents(&[e]).starts_with("pname          = a\\x1b]0;owned\\x07b\\u{202e}\n"));
        let l = ListView {
            ipckey: 1,
            pid: 2,
            pfile: "/tmp/p\nmessage  = stop".into(),
            running: true,
        };
        assert!(render_list(&l).contains("pfile    = /tmp/p\\nmessage  = stop\nmessage  = start\n"));
    }
}

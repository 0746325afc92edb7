//! The guide's walkthrough (sections 3.3 to 3.8) with our binaries: outputs and log lines
//! byte for byte.

use crate::common::*;
use std::time::Duration;

fn pent(name: &str, pid: i32, retry: u32, restart: u32, sts: &str, rerun: &str) -> String {
    format!(
        "pname          = {name}\npid            = {pid}\nretry_count    = {retry}\nrestart_count  = {restart}\nproc_sts       = {sts}\nretry_over_act = continue\nrerun_time     = {rerun}\npent_id        = 1\nmonitor_sts    = on\n"
    )
}

#[test]
fn guide_walkthrough() {
    let env = Env::new("walkthrough");
    let crond = env.name("crond");
    let script = env.restart_script(&crond);
    let pfile = env.pfile(
        "pfile_crond",
        0x1f000501,
        1,
        &[format!("{crond}:{script}:86400:3:continue")],
    );
    let dump = env.path("dump_pfile_crond").display().to_string();
    let mut pid = env.start_daemon(&crond);

    // 3.3 start monitoring
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    env.wait_log(&format!("pcheck[{pcpid}]: ({crond} ,pid={pid}) Up"));

    // 3.4 -l, show param, show pent
    let o = env.padmin(&["-l"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        format!("ipckey   = 0x1f000501\nmypid    = {pcpid}\nmyname   = pcheck\npfile    = {pfile}\nmessage  = start\n")
    );
    let o = env.padmin(&["-f", &pfile, "-c", "show", "param"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        stdout(&o),
        format!("MSG_CHECK_INTERVAL = 5\nMONITOR_INTERVAL   = 1\nMONITOR_TRY_COUNT  = 2\nSHM_DUMP_FILE      = {dump}\nPFILE              = {pfile}\nMESSAGE_BOX        = start\nMONITOR_STOP_COUNT = 0\nFAIL_PROC_COUNT    = 0\nALL_PROC_COUNT     = 1\n")
    );
    let o = env.padmin(&["-f", &pfile, "-c", "show pent"]);
    assert_eq!(stdout(&o), pent(&crond, pid, 0, 0, "AVAIL", "-----"));

    // 3.5 and 3.6: three kill/restart rounds
    let t0 = psctl_runtime::clock::now();
    for round in 1..=3 {
        kill(pid);
        env.wait_log_n(&format!("pcheck[{pcpid}]: Try to restart ({crond})"), round);
        let old = pid;
        pid = wait_for(
            || pids_named(&crond).into_iter().find(|&p| p != old),
            "restarted daemon",
        );
        env.wait_log(&format!("pcheck[{pcpid}]: ({crond} ,pid={pid}) Up"));
        let log = env.log();
        let down = format!("pcheck[{pcpid}]: Process [{crond}, pid={old}] Down");
        let at = log.iter().position(|l| *l == down).expect("Down line");
        assert_eq!(
            log[at + 1],
            format!("pcheck[{pcpid}]: Try to restart ({crond})")
        );
    }
    let t1 = psctl_runtime::clock::now();
    // the fourth death is a retry over
    kill(pid);
    env.wait_log(&format!("pcheck[{pcpid}]: ({crond}) RETRY_OVER:CONTINUE"));
    assert_eq!(env.count_log(&format!("Try to restart ({crond})")), 3);
    assert!(
        pids_named(&crond).is_empty(),
        "not restarted after the retry over"
    );
    let o = env.padmin(&["-f", &pfile, "-c", "show pent"]);
    let got = stdout(&o);
    let ok = (t0..=t1).any(|t| {
        got == pent(
            &crond,
            pid,
            0,
            3,
            "RETRY_OVER",
            &psctl_runtime::clock::ctime(t),
        )
    });
    assert!(ok, "unexpected show pent:\n{got}");
    let o = env.padmin(&["-f", &pfile, "-c", "show param"]);
    assert_eq!(
        stdout(&o),
        format!("MSG_CHECK_INTERVAL = 5\nMONITOR_INTERVAL   = 1\nMONITOR_TRY_COUNT  = 2\nSHM_DUMP_FILE      = {dump}\nPFILE              = {pfile}\nMESSAGE_BOX        = start\nMONITOR_STOP_COUNT = 0\nFAIL_PROC_COUNT    = 1\nALL_PROC_COUNT     = 1\n")
    );

    // 3.7 manual start, reload, back to AVAIL
    let manual = env.start_daemon(&crond);
    let o = env.padmin(&["-f", &pfile, "-c", "reload"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(stdout(&o), "");
    env.wait_log(&format!(": Command execute. [reload] pfile={pfile}"));
    assert!(env.log().iter().any(|l| l.starts_with("padmin[")
        && l.ends_with(&format!("]: Command execute. [reload] pfile={pfile}"))));
    env.wait_log(&format!("pcheck[{pcpid}]: ({crond} ,pid={manual}) Up"));
    let o = env.padmin(&["-f", &pfile, "-c", "show pent"]);
    assert_eq!(stdout(&o), pent(&crond, manual, 0, 0, "AVAIL", "-----"));

    // 3.8 shutdown
    let o = env.padmin(&["-f", &pfile, "-c", "shutdown"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(5)), Some(0));
    env.wait_log(&format!("pcheck[{pcpid}]: Shutdown pcheck"));
    env.wait_log(&format!(": Command execute. [shutdown] pfile={pfile}"));
    let o = env.padmin(&["-l"]);
    assert_eq!((o.status.code(), stdout(&o).as_str()), (Some(0), ""));
    assert!(!env.runtime.join("pcheck-0x1f000501.sock").exists());
    // every line is a glibc-style daemon.* datagram
    for l in env.raw_log() {
        let pri: u32 = l[1..l.find('>').unwrap()].parse().unwrap();
        assert_eq!(pri >> 3, 3, "facility daemon: {l}");
    }
}

//! pcheck's and padmin's lines reach a real syslog daemon: rsyslogd with a private config
//! (imuxsock on a private socket, omfile to a private file). Needs `rsyslog`
//! (scripts/setup-test-deps); fails, not skips, without it.

use crate::common::*;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Rsyslogd(Child);

impl Drop for Rsyslogd {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn rsyslogd() -> &'static str {
    ["/usr/sbin/rsyslogd", "/sbin/rsyslogd"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("rsyslogd is not installed: run scripts/setup-test-deps")
}

#[test]
fn lines_reach_rsyslogd() {
    let mut env = Env::new("rsyslog");
    let sock = env.path("rsyslog.sock");
    let messages = env.path("messages");
    let work = env.path("rsyslog-work");
    std::fs::create_dir_all(&work).unwrap();
    let conf = env.write(
        "rsyslog.conf",
        &format!(
            "global(workDirectory=\"{}\")\nmodule(load=\"imuxsock\" SysSock.Use=\"off\")\ninput(type=\"imuxsock\" Socket=\"{}\" RateLimit.Interval=\"0\")\ndaemon.* action(type=\"omfile\" file=\"{}\" template=\"RSYSLOG_TraditionalFileFormat\")\n",
            work.display(),
            sock.display(),
            messages.display()
        ),
    );
    let _rs = Rsyslogd(
        Command::new(rsyslogd())
            .args([
                "-f",
                &conf,
                "-i",
                &env.path("rsyslog.pid").display().to_string(),
                "-n",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_for(|| sock.exists().then_some(()), "rsyslogd socket");
    env.syslog_socket = sock;

    let crond = env.name("crond");
    let script = env.restart_script(&crond);
    let pfile = env.pfile(
        "pfile_crond",
        0x2f00_0000 + std::process::id() % 0x10000,
        1,
        &[format!("{crond}:{script}:86400:3:continue")],
    );
    let pid = env.start_daemon(&crond);
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    let read = || std::fs::read_to_string(&messages).unwrap_or_default();
    let has = |text: &str| {
        let t = text.to_owned();
        wait_for(
            || read().lines().any(|l| l.ends_with(&t)).then_some(()),
            &format!("`{text}` in rsyslog's file"),
        )
    };
    has(&format!(" pcheck[{pcpid}]: ({crond} ,pid={pid}) Up"));
    kill(pid);
    has(&format!(
        " pcheck[{pcpid}]: Process [{crond}, pid={pid}] Down"
    ));
    has(&format!(" pcheck[{pcpid}]: Try to restart ({crond})"));
    let new = wait_for(
        || pids_named(&crond).into_iter().find(|&p| p != pid),
        "restart",
    );
    has(&format!(" pcheck[{pcpid}]: ({crond} ,pid={new}) Up"));
    let o = env.padmin(&["-f", &pfile, "-c", "shutdown"]);
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(5)), Some(0));
    has(&format!(" pcheck[{pcpid}]: Shutdown pcheck"));
    has(&format!("]: Command execute. [shutdown] pfile={pfile}"));
    // The traditional file format: `Mmm dd hh:mm:ss host pcheck[pid]: text`.
    let text = read();
    let line = text
        .lines()
        .find(|l| l.contains("Shutdown pcheck"))
        .unwrap();
    let b = line.as_bytes();
    assert!(b[3] == b' ' && b[9] == b':' && b[12] == b':', "{line}");
}

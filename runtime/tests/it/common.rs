//! Harness for end-to-end tests: a private directory, runtime directory and syslog socket per
//! test, stand-in daemons whose argv[0] carries the test's tag, and a guard that kills every
//! process carrying the tag (and every pcheck it started) even when the test fails.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const PCHECK: &str = env!("CARGO_BIN_EXE_pcheck");
pub const PADMIN: &str = env!("CARGO_BIN_EXE_padmin");

pub struct Env {
    pub tag: String,
    pub dir: PathBuf,
    pub runtime: PathBuf,
    pub log_path: PathBuf,
    /// The socket pcheck and padmin log to (default: `log_path`, read by the test).
    pub syslog_socket: PathBuf,
    sock: UnixDatagram,
    lines: std::cell::RefCell<Vec<String>>,
    pchecks: std::cell::RefCell<Vec<Child>>,
}

impl Env {
    pub fn new(test: &str) -> Env {
        // `-` ends the tag: no tag is a prefix of another (`reload`, `reloadaway`), so that
        // `kill_tagged` kills only this test's processes (all the modules' tests share a pid).
        let tag = format!("t{}{}-", std::process::id(), test.replace('_', ""));
        let dir = std::env::temp_dir().join(format!("psctl-e2e-{tag}"));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let runtime = dir.join("run");
        let log_path = dir.join("log");
        let sock = UnixDatagram::bind(&log_path).unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        Env {
            tag,
            dir,
            runtime,
            syslog_socket: log_path.clone(),
            log_path,
            sock,
            lines: Default::default(),
            pchecks: Default::default(),
        }
    }

    /// A process name unique to this test.
    pub fn name(&self, what: &str) -> String {
        format!("{}{what}", self.tag)
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn write(&self, file: &str, text: &str) -> String {
        let p = self.path(file);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    }

    pub fn script(&self, file: &str, body: &str) -> String {
        let p = self.write(file, &format!("#!/bin/bash\n{body}\n"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// A restart script that starts the stand-in daemon `name` detached, as an init script would.
    pub fn restart_script(&self, name: &str) -> String {
        self.script(
            &format!("restart_{name}.sh"),
            &format!(
                "exec setsid -f bash -c 'exec -a {name} sleep 100000' </dev/null >/dev/null 2>&1"
            ),
        )
    }

    /// Starts the stand-in daemon detached from the test (setsid) and returns its pid.
    pub fn start_daemon(&self, name: &str) -> i32 {
        let before = pids_named(name);
        Command::new("setsid")
            .args(["-f", "bash", "-c", &format!("exec -a {name} sleep 100000")])
            .stdin(Stdio::null())
            .status()
            .unwrap();
        wait_for(
            || pids_named(name).into_iter().find(|p| !before.contains(p)),
            "daemon start",
        )
    }

    pub fn pfile(&self, file: &str, key: u32, interval: u32, pents: &[String]) -> String {
        let mut t = format!(
            "##### PARAM #####\nIPCKEY                0x{key:08x}\nMSG_CHECK_INTERVAL    5\nMONITOR_INTERVAL      {interval}\nSHM_DUMP_FILE         {}\n\n##### PENT #####\n",
            self.path(&format!("dump_{file}")).display()
        );
        for p in pents {
            t.push_str(p);
            t.push('\n');
        }
        self.write(file, &t)
    }

    /// Starts a prepared pcheck command in the background (killed when the test ends).
    pub fn pcheck_spawn(&self, mut cmd: Command) -> usize {
        let err = std::fs::File::create(self.path("pcheck.err")).unwrap();
        let child = cmd.stdout(Stdio::null()).stderr(err).spawn().unwrap();
        let mut v = self.pchecks.borrow_mut();
        v.push(child);
        v.len() - 1
    }

    /// `bin` with this test's runtime directory and syslog socket.
    pub fn cmd(&self, bin: &str) -> Command {
        let mut c = Command::new(bin);
        c.env("PCHECK_RUNTIME_DIR", &self.runtime)
            .env("PCHECK_SYSLOG_SOCKET", &self.syslog_socket)
            .stdin(Stdio::null());
        c
    }

    /// Starts pcheck in the background; its stderr goes to `pcheck.err` in the test directory.
    pub fn pcheck(&self, args: &[&str]) -> usize {
        let err = std::fs::File::create(self.path("pcheck.err")).unwrap();
        let child = self
            .cmd(PCHECK)
            .args(args)
            .stdout(Stdio::null())
            .stderr(err)
            .spawn()
            .unwrap();
        let mut v = self.pchecks.borrow_mut();
        v.push(child);
        v.len() - 1
    }

    /// Starts a pcheck through `cmd` (e.g. under `prlimit`); it is killed with the others.
    pub fn spawn_pcheck(&self, cmd: &mut Command) -> usize {
        let err = std::fs::File::create(self.path("pcheck.err")).unwrap();
        let child = cmd.stdout(Stdio::null()).stderr(err).spawn().unwrap();
        let mut v = self.pchecks.borrow_mut();
        v.push(child);
        v.len() - 1
    }

    pub fn pcheck_pid(&self, i: usize) -> i32 {
        self.pchecks.borrow()[i].id() as i32
    }

    /// Waits for pcheck `i` to exit and returns its status code.
    pub fn pcheck_exit(&self, i: usize, timeout: Duration) -> Option<i32> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(st) = self.pchecks.borrow_mut()[i].try_wait().unwrap() {
                return st.code();
            }
            if Instant::now() > deadline {
                panic!("pcheck did not exit in time");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs pcheck to completion (for refusals).
    pub fn pcheck_run(&self, args: &[&str]) -> Output {
        self.cmd(PCHECK).args(args).output().unwrap()
    }

    pub fn padmin(&self, args: &[&str]) -> Output {
        self.cmd(PADMIN).args(args).output().unwrap()
    }

    fn drain(&self) {
        let mut buf = vec![0u8; 8192];
        while let Ok(n) = self.sock.recv(&mut buf) {
            self.lines
                .borrow_mut()
                .push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }

    /// Every datagram received so far, as `ident[pid]: text` (the part after the timestamp).
    pub fn log(&self) -> Vec<String> {
        self.drain();
        self.lines.borrow().iter().map(|l| strip(l)).collect()
    }

    pub fn raw_log(&self) -> Vec<String> {
        self.drain();
        self.lines.borrow().clone()
    }

    /// Waits until `n` log lines end with `text`; panics (with the log) at the deadline.
    pub fn wait_log_n(&self, text: &str, n: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let got = self.log().iter().filter(|l| l.ends_with(text)).count();
            if got >= n {
                return;
            }
            if Instant::now() > deadline {
                panic!("no {n}x `{text}` in log:\n{}", self.log().join("\n"));
            }
        }
    }

    pub fn wait_log(&self, text: &str) {
        self.wait_log_n(text, 1);
    }

    pub fn count_log(&self, text: &str) -> usize {
        self.log().iter().filter(|l| l.ends_with(text)).count()
    }
}

impl Env {
    /// [`normalize`] with this test's directory.
    pub fn norm(&self, text: &str, pids: &[i32]) -> String {
        normalize(text, &self.dir, pids)
    }

    /// The log so far ([`Env::log`]), each line through [`Env::norm`]: for comparing the
    /// exact list of lines where the test controls everything that is logged.
    pub fn norm_log(&self, pids: &[i32]) -> Vec<String> {
        self.log().iter().map(|l| self.norm(l, pids)).collect()
    }
}

/// `got` is exactly `want`; on failure both are shown whole, with the first line that differs.
#[track_caller]
pub fn assert_text(got: &str, want: &str) {
    if got != want {
        let at = want
            .lines()
            .zip(got.lines())
            .position(|(w, g)| w != g)
            .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
        panic!(
            "text differs at line {}\n--- want\n{want}\n--- got\n{got}\n---",
            at + 1
        );
    }
}

/// The exact list of lines `got` (usually [`Env::norm_log`]) is `want`.
#[track_caller]
pub fn assert_lines(got: &[String], want: &[String]) {
    assert_text(&(got.join("\n") + "\n"), &(want.join("\n") + "\n"));
}

/// The one normalizer of the outputs the tests compare whole (issue 14 item 6): `dir` (the
/// test's directory) becomes `[DIR]`; each of `pids`, as a whole number, becomes `[PID]`;
/// clock times (`Wed Nov 25 19:38:49 2026`, `Nov 25 19:38:49`) and ages (`3 s ago`) become
/// `[TIME]`. Nothing else changes: pids the test did not name, numbers that merely contain a
/// pid, and every word stay as printed, so a wrong pid or path still shows (see the tests
/// below). A test that must tell two pids apart formats them into the expected text instead.
pub fn normalize(text: &str, dir: &Path, pids: &[i32]) -> String {
    let text = text.replace(dir.to_str().unwrap(), "[DIR]");
    let text = replace_times(&text);
    let mut out = String::with_capacity(text.len());
    let b = text.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() && (i == 0 || !b[i - 1].is_ascii_digit()) {
            let end = (i..b.len())
                .find(|&j| !b[j].is_ascii_digit())
                .unwrap_or(b.len());
            let n = &text[i..end];
            if pids.iter().any(|p| p.to_string() == n) {
                out.push_str("[PID]");
            } else {
                out.push_str(n);
            }
            i = end;
        } else {
            let c = text[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `[TIME]` for `Www Mmm dd hh:mm:ss yyyy` (ctime), `Mmm dd hh:mm:ss` (syslog) and `N s ago`.
fn replace_times(text: &str) -> String {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let d = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit());
    let is_clock = |s: &str| {
        s.len() == 8
            && d(&s[0..2])
            && &s[2..3] == ":"
            && d(&s[3..5])
            && &s[5..6] == ":"
            && d(&s[6..8])
    };
    // `Mmm dd hh:mm:ss` at byte `i`: its length (the day may be ` 5`).
    let stamp = |s: &str| -> bool {
        s.len() >= 15
            && s.is_char_boundary(15)
            && MONTHS.contains(&&s[0..3])
            && &s[3..4] == " "
            && (d(&s[4..6]) || (&s[4..5] == " " && d(&s[5..6])))
            && &s[6..7] == " "
            && is_clock(&s[7..15])
    };
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        let rest = &text[i..];
        let ctime = rest.len() >= 24
            && rest.is_char_boundary(24)
            && DAYS.contains(&&rest[0..3])
            && &rest[3..4] == " "
            && stamp(&rest[4..])
            && &rest[19..20] == " "
            && d(&rest[20..24]);
        let ago = rest
            .find(|c: char| !c.is_ascii_digit())
            .filter(|&n| {
                let after = rest[n..].strip_prefix(" s ago");
                n > 0 && after.is_some_and(|a| !a.starts_with(|c: char| c.is_alphanumeric()))
            })
            .filter(|_| i == 0 || !text.as_bytes()[i - 1].is_ascii_digit());
        if ctime {
            out.push_str("[TIME]");
            i += 24;
        } else if stamp(rest) {
            out.push_str("[TIME]");
            i += 15;
        } else if let Some(n) = ago {
            out.push_str("[TIME]");
            i += n;
        } else {
            let c = rest.chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// `<PRI>Mmm dd hh:mm:ss ident[pid]: text` -> `ident[pid]: text`, checking the shape.
fn strip(line: &str) -> String {
    let rest = line.split_once('>').map(|(_, r)| r).unwrap_or(line);
    assert!(
        line.starts_with('<') && rest.len() > 16,
        "bad syslog line {line:?}"
    );
    let stamp = &rest[..15];
    let b = stamp.as_bytes();
    assert!(
        b[3] == b' ' && b[6] == b' ' && b[9] == b':' && b[12] == b':',
        "bad timestamp in {line:?}"
    );
    rest[16..].to_owned()
}

impl Drop for Env {
    fn drop(&mut self) {
        for c in self.pchecks.borrow_mut().iter_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
        kill_tagged(&self.tag);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn cmdline(pid: i32) -> Option<Vec<u8>> {
    std::fs::read(format!("/proc/{pid}/cmdline")).ok()
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect()
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, r)| r.trim_start().starts_with('Z'))
        })
        .unwrap_or(true)
}

/// Live processes whose argv[0] is `name`.
pub fn pids_named(name: &str) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&p| {
            cmdline(p).is_some_and(|c| c.split(|&b| b == 0).next() == Some(name.as_bytes()))
                && !is_zombie(p)
        })
        .collect()
}

pub fn kill_tagged(tag: &str) {
    let me = std::process::id() as i32;
    for p in all_pids() {
        if p != me && cmdline(p).is_some_and(|c| c.windows(tag.len()).any(|w| w == tag.as_bytes()))
        {
            kill9(p);
        }
    }
}

fn kill9(pid: i32) {
    let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
}

pub fn kill(pid: i32) {
    let st = Command::new("kill").arg(pid.to_string()).status().unwrap();
    assert!(st.success());
}

pub fn signal(pid: i32, sig: &str) {
    let st = Command::new("kill")
        .args(["-s", sig, &pid.to_string()])
        .status()
        .unwrap();
    assert!(st.success());
}

/// Polls `f` until it returns `Some`, for up to 10 s.
pub fn wait_for<T>(mut f: impl FnMut() -> Option<T>, what: &str) -> T {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Some(v) = f() {
            return v;
        }
        if Instant::now() > deadline {
            panic!("timed out waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn exists(p: &Path) -> bool {
    p.exists()
}

/// An IPCKEY for this test process. A key names a socket and a lock in the test's own runtime
/// directory (`PCHECK_RUNTIME_DIR`), so keys need to differ only within one test; modules of
/// this binary may use the same `n`.
pub fn key(n: u32) -> u32 {
    0x2000_0000 + (std::process::id() % 0x10000) * 0x100 + n
}

/// Starts a daemon and a pcheck watching it with `pent` (`{name}` and `{script}` substituted):
/// (name, pfile, pcheck index, daemon pid, pcheck pid).
pub fn setup(env: &Env, n: u32, pent: &str, extra: &[&str]) -> (String, String, usize, i32, i32) {
    let name = env.name("d");
    let script = env.restart_script(&name);
    let line = pent.replace("{name}", &name).replace("{script}", &script);
    let pfile = env.pfile("pfile_t", key(n), 1, &[line]);
    let pid = env.start_daemon(&name);
    let mut args = vec!["-f", pfile.as_str()];
    args.extend_from_slice(extra);
    let pc = env.pcheck(&args);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    let pcpid = env.pcheck_pid(pc);
    (name, pfile, pc, pid, pcpid)
}

/// Whether the tests run as root. Tests that need root call `needs_root`, which says LOUDLY
/// that they did not run.
pub fn is_root() -> bool {
    rustix::process::geteuid().is_root()
}

pub fn needs_root(test: &str) -> bool {
    if !is_root() {
        eprintln!("NOT RUN: {test} needs root (it attacks pcheck as user nobody)");
    }
    is_root()
}

/// The attacker: uid and gid 65534 (`nobody`).
pub const NOBODY: u32 = 65534;

/// `argv` run as user nobody (uid 65534), the attacker of the trust tests.
pub fn as_nobody(argv: &[&str]) -> Command {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .args(argv)
        .stdin(Stdio::null());
    c
}

/// A directory `dir` owned by `nobody` (mode 0755), as an attacker's own directory would be.
pub fn nobody_dir(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::os::unix::fs::chown(dir, Some(NOBODY), Some(NOBODY)).unwrap();
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// The write end of a pipe whose reader is already gone: every write fails with EPIPE, as
/// with `2>&1 | head -c0` once head has exited.
pub fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe2 writes two descriptors we then own.
    let rc = unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) };
    assert_eq!(rc, 0, "pipe2");
    // SAFETY: both descriptors were just returned to us and are owned once.
    unsafe {
        libc::close(fds[0]);
        Stdio::from(<std::os::fd::OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(fds[1]))
    }
}

/// The psctl binary next to pcheck in the target directory, built (or brought up to date)
/// first: this crate's tests may run alone.
pub fn psctl_bin() -> PathBuf {
    let st = Command::new(env!("CARGO"))
        .args(["build", "-q", "-p", "psctl", "--bin", "psctl"])
        .status()
        .unwrap();
    assert!(st.success(), "building psctl failed");
    Path::new(PCHECK).parent().unwrap().join("psctl")
}

/// Pids of live processes whose process group is `pgid`.
pub fn group_members(pgid: i32) -> Vec<i32> {
    all_pids()
        .into_iter()
        .filter(|&p| {
            std::fs::read_to_string(format!("/proc/{p}/stat"))
                .ok()
                .and_then(|s| {
                    let f: Vec<String> = s
                        .rsplit_once(')')?
                        .1
                        .split_whitespace()
                        .map(String::from)
                        .collect();
                    (f.first()? != "Z").then(|| f.get(2)?.parse::<i32>().ok())?
                })
                == Some(pgid)
        })
        .collect()
}

/// A running pcheck's snapshot with one entry, `pname` in `pfile`, every other value plain: the
/// fixture that tests of the JSON and metrics renderers make hostile where they need to.
pub fn one_entry_snapshot(pfile: &str, pname: &str) -> psctl_runtime::report::Snapshot {
    use psctl_runtime::report::{Detail, History, Reloads, Snapshot};
    use psctl_runtime::view::{ListView, ParamView, PentView};
    Snapshot {
        list: ListView {
            ipckey: 1,
            pid: 2,
            pfile: pfile.into(),
            running: true,
        },
        param: ParamView {
            msg_check_interval: 5,
            monitor_interval: 10,
            monitor_try_count: 2,
            dump_file: "/tmp/d".into(),
            pfile: pfile.into(),
            running: true,
            monitor_stop_count: 0,
            fail_proc_count: 0,
            all_proc_count: 1,
        },
        pents: vec![PentView {
            pname: pname.into(),
            pid: 3,
            retry_count: 0,
            restart_count: 0,
            proc_sts: "AVAIL".into(),
            retry_over_act: "continue".into(),
            rerun_time: None,
            pent_id: 1,
            monitor_on: true,
            script: None,
            ext: Default::default(),
        }],
        details: vec![Detail {
            restart: None,
            grace: 0,
            retries: 1,
            trusted_users: Vec::new(),
            history: History::default(),
            ext: Default::default(),
        }],
        groups: Vec::new(),
        started: 0,
        reloads: Reloads::default(),
        running: true,
    }
}

#[cfg(test)]
mod tests {
    use super::normalize;
    use std::path::Path;

    #[test]
    fn the_normalizer_replaces_only_what_it_is_told() {
        let dir = Path::new("/tmp/psctl-e2e-t1x-");
        let n = |t: &str| normalize(t, dir, &[8033]);
        assert_eq!(
            n("pcheck[8033]: (d ,pid=8033) Up at /tmp/psctl-e2e-t1x-/pfile_t"),
            "pcheck[[PID]]: (d ,pid=[PID]) Up at [DIR]/pfile_t"
        );
        assert_eq!(
            n("rerun_time     = Wed Nov 25 19:38:49 2026
# last dump 3 s ago
Nov  5 01:02:03 x"),
            "rerun_time     = [TIME]
# last dump [TIME] s ago
[TIME] x"
        );
    }

    #[test]
    fn the_normalizer_cannot_hide_a_real_difference() {
        let dir = Path::new("/tmp/psctl-e2e-t1x-");
        let n = |t: &str| normalize(t, dir, &[8033]);
        // A pid the test did not name, or a number that only contains the pid, stays.
        assert_eq!(n("pid=8034"), "pid=8034");
        assert_eq!(n("pid=80330 18033"), "pid=80330 18033");
        assert_ne!(n("pid=8034"), n("pid=8033"));
        // Another directory, even one the test's is a prefix of, stays told apart.
        assert_eq!(n("/tmp/psctl-e2e-t2x-/p"), "/tmp/psctl-e2e-t2x-/p");
        assert_ne!(n("/tmp/psctl-e2e-t1x-other/p"), n("/tmp/psctl-e2e-t1x-/p"));
        // Only whole clock shapes are times: a bare number, a duration or a half stamp stay.
        assert_eq!(
            n("interval 3 s, 19:38:49, Nov 25"),
            "interval 3 s, 19:38:49, Nov 25"
        );
        assert_ne!(n("Down at Nov 25 19:38:49"), n("Up at Nov 25 19:38:49"));
        assert_eq!(n("3 s agony"), "3 s agony");
    }
}

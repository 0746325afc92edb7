//! Restart scripts (spec 3.3 step 4, spec 6). The executable is opened through the trust walk
//! and the checked descriptor itself is executed (`execveat(fd, "", AT_EMPTY_PATH)`), so what
//! was checked is what runs. A plain command (a path and words) is executed directly; one with
//! shell syntax through `/bin/sh -c`, itself opened the same way, after the same checks on its
//! first word. The child starts clean: own session (so own process group), cwd `/`, umask 022,
//! stdin /dev/null, stdout/stderr inherited, nothing else open, no signal blocked or ignored,
//! pcheck's environment minus `LD_*` with a fixed PATH. Watched through a pidfd, killed with its
//! group at the deadline, always reaped.
//!
//! A `#!` script is a special case of the kernel's: it hands the interpreter the script as
//! `/dev/fd/N`, which must stay open across the exec. pcheck puts the checked descriptor on 3
//! (without close-on-exec) and nothing else: the script's `$0` is `/dev/fd/3`, and
//! `PCHECK_SCRIPT` holds the path that was checked.

use std::ffi::CString;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use psctl::model::Restart;
use psctl::rules::script::{open_program, plain_words, program, ScriptProblem};
use psctl::trust::Opened;
use rustix::io::Errno;
use rustix::process::{kill_process_group, pidfd_open, Pid, PidfdFlags, Signal};

use crate::state::ScriptEnd;

/// The PATH of every child (spec 6).
pub const CLEAN_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// The shell for commands with shell syntax.
const SHELL: &str = "/bin/sh";
/// Where a `#!` script's own descriptor is put for its interpreter.
const SCRIPT_FD: i32 = 3;

pub struct Script {
    /// The entry (pname) it restarts; looked up again when it ends, since a reload may have
    /// removed or moved the entry.
    pub pname: String,
    /// The script's pid, which is also its session and process group id.
    pub pid: i32,
    pub pidfd: OwnedFd,
    pub deadline: Instant,
    pub timeout: Duration,
    pub killed: bool,
    reaped: bool,
}

/// The command line of a restart (`None` for `-`).
pub fn command_line(r: &Restart) -> Option<String> {
    match r {
        Restart::None => None,
        Restart::Script(s) => Some(s.clone()),
        Restart::Commands(c) => {
            let (stop, start, wait) = (&c.stop, &c.start, c.wait);
            Some(format!(
                "{stop}\nsleep {wait}\n{start} || exit $?\nsleep {wait}\n"
            ))
        }
    }
}

/// Why a restart command was not started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SpawnError {
    /// pcheck will not run it (trust rules, spec 6) or the kernel would not execute it: the
    /// attempt counts as failed.
    Refused(String),
    /// pcheck could not start it for lack of resources (EMFILE, EAGAIN, ENOMEM): not the
    /// script's failure; the attempt is retried later and not counted.
    Resources(String),
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SpawnError::Refused(s) | SpawnError::Resources(s) => f.write_str(s),
        }
    }
}

fn is_resources(e: Errno) -> bool {
    matches!(
        e,
        Errno::MFILE | Errno::NFILE | Errno::NOMEM | Errno::AGAIN | Errno::NOBUFS
    )
}

fn errno_error(what: &str, e: Errno) -> SpawnError {
    let msg = format!("{what}: {}", std::io::Error::from(e));
    if is_resources(e) {
        SpawnError::Resources(msg)
    } else {
        SpawnError::Refused(msg)
    }
}

/// Opens `path` for execution, or says why not (as "`path` is ...").
fn open_checked(path: &str, me: u32) -> Result<Opened, SpawnError> {
    open_program(Path::new(path), me).map_err(|p: ScriptProblem| {
        let msg = format!("{} {}", psctl::escape::for_display(path), p.describe());
        if p.is_resources() {
            SpawnError::Resources(msg)
        } else {
            SpawnError::Refused(msg)
        }
    })
}

/// What a checked executable is: `Some(interpreter)` for a `#!` script, else `None`.
fn interpreter(prog: &Opened) -> Result<Option<String>, SpawnError> {
    use std::io::Read;
    let show = psctl::escape::for_display(&prog.path.display().to_string()).into_owned();
    let fd = prog
        .reopen(rustix::fs::OFlags::RDONLY)
        .map_err(|u| match u {
            psctl::trust::Untrusted::Io(_, e) => errno_error(&show, e),
            u => SpawnError::Refused(u.to_string()),
        })?;
    let mut head = [0u8; 256];
    let mut f = std::fs::File::from(fd);
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => {
                return Err(errno_error(
                    &show,
                    Errno::from_io_error(&e).unwrap_or(Errno::IO),
                ))
            }
        }
    }
    let Some(line) = head[..n].strip_prefix(b"#!") else {
        return Ok(None);
    };
    let line = line.split(|&b| b == b'\n').next().unwrap_or(line);
    let interp = line
        .split(|&b| b == b' ' || b == b'\t')
        .find(|w| !w.is_empty())
        .unwrap_or(b"");
    Ok(Some(String::from_utf8_lossy(interp).into_owned()))
}

/// pcheck's environment for children, computed once: `LD_*` and PATH removed, PATH fixed.
fn base_env() -> &'static [CString] {
    static ENV: OnceLock<Vec<CString>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut out: Vec<CString> = std::env::vars_os()
            .filter(|(k, _)| {
                let k = k.as_bytes();
                !k.starts_with(b"LD_")
                    && !matches!(
                        k,
                        b"PATH" | b"PCHECK_SCRIPT" | b"PCHECK_PID" | b"PCHECK_PNAME"
                    )
            })
            .filter_map(|(k, v)| {
                let mut kv = k.as_bytes().to_vec();
                kv.push(b'=');
                kv.extend_from_slice(v.as_bytes());
                CString::new(kv).ok()
            })
            .collect();
        out.push(CString::new(format!("PATH={CLEAN_PATH}")).expect("no NUL"));
        out
    })
}

/// Everything the child needs, prepared before fork (the child only uses pointers into it).
struct Exec {
    prog: Opened,
    /// A `#!` script: its descriptor goes to [`SCRIPT_FD`] without close-on-exec.
    script: bool,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

fn cstring(s: &str) -> Result<CString, SpawnError> {
    CString::new(s).map_err(|_| SpawnError::Refused("the command contains a NUL byte".into()))
}

/// Checks the command and decides how to execute it; `extra` is added to its environment.
fn prepare(cmd: &str, me: u32, extra: &[String]) -> Result<Exec, SpawnError> {
    let (prog, argv) = match plain_words(cmd) {
        Some(words) => {
            let prog = open_checked(words[0], me)?;
            let argv = words.iter().map(|w| cstring(w)).collect::<Result<_, _>>()?;
            (prog, argv)
        }
        None => {
            // Shell syntax: the first word gets the same checks, then the shell runs the line.
            let first = program(cmd).unwrap_or("");
            if !first.starts_with('/') {
                return Err(SpawnError::Refused(format!(
                    "the command `{}` does not start with an absolute path",
                    psctl::escape::for_display(cmd)
                )));
            }
            open_checked(first, me)?;
            let argv = vec![cstring(SHELL)?, cstring("-c")?, cstring(cmd)?];
            (open_checked(SHELL, me)?, argv)
        }
    };
    let interp = interpreter(&prog)?;
    if let Some(i) = &interp {
        // The kernel opens the interpreter by its path: hold it to the same rules.
        if !i.starts_with('/') {
            return Err(SpawnError::Refused(format!(
                "{}: interpreter `{}` is not an absolute path",
                prog.path.display(),
                psctl::escape::for_display(i)
            )));
        }
        open_checked(i, me)?;
    }
    let mut envp = base_env().to_vec();
    let mut script_var = b"PCHECK_SCRIPT=".to_vec();
    script_var.extend_from_slice(prog.path.as_os_str().as_bytes());
    if let Ok(v) = CString::new(script_var) {
        envp.push(v);
    }
    for kv in extra {
        envp.push(cstring(kv)?);
    }
    Ok(Exec {
        prog,
        script: interp.is_some(),
        argv,
        envp,
    })
}

pub fn spawn(pname: &str, cmd: &str, timeout: Duration) -> Result<Script, SpawnError> {
    spawn_with(pname, cmd, timeout, &[])
}

/// A health-check command (spec 7): started exactly as a restart script (same trust rules,
/// same clean start, own process group), with `PCHECK_PID` and `PCHECK_PNAME` set.
pub fn spawn_check(
    pname: &str,
    cmd: &str,
    timeout: Duration,
    pid: i32,
) -> Result<Script, SpawnError> {
    let extra = [format!("PCHECK_PID={pid}"), format!("PCHECK_PNAME={pname}")];
    spawn_with(pname, cmd, timeout, &extra)
}

fn spawn_with(
    pname: &str,
    cmd: &str,
    timeout: Duration,
    extra: &[String],
) -> Result<Script, SpawnError> {
    let me = rustix::process::geteuid().as_raw();
    let exec = prepare(cmd, me, extra)?;
    let pid = fork_exec(&exec)?;
    // The child is ours and unreaped, so its pid cannot be reused before pidfd_open.
    let pidfd = match pidfd_open(
        Pid::from_raw(pid).expect("fork returned a pid"),
        PidfdFlags::empty(),
    ) {
        Ok(fd) => fd,
        Err(e) => {
            if let Some(p) = Pid::from_raw(pid) {
                let _ = kill_process_group(p, Signal::KILL);
            }
            reap_blocking(pid);
            return Err(errno_error("pidfd_open", e));
        }
    };
    Ok(Script {
        pname: pname.to_owned(),
        pid,
        pidfd,
        deadline: Instant::now() + timeout,
        timeout,
        killed: false,
        reaped: false,
    })
}

fn reap_blocking(pid: i32) {
    let mut st = 0;
    // SAFETY: plain syscall on our own child.
    while unsafe { libc::waitpid(pid, &mut st, 0) } < 0
        && std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted
    {}
}

/// Forks; the child sets itself up and executes `exec.prog`. Returns once the child has
/// executed the program (the status pipe closed on exec) or reports why it could not.
fn fork_exec(exec: &Exec) -> Result<i32, SpawnError> {
    let mut argv: Vec<*const libc::c_char> = exec.argv.iter().map(|a| a.as_ptr()).collect();
    argv.push(std::ptr::null());
    let mut envp: Vec<*const libc::c_char> = exec.envp.iter().map(|a| a.as_ptr()).collect();
    envp.push(std::ptr::null());
    let null = rustix::fs::open(
        "/dev/null",
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )
    .map_err(|e| errno_error("/dev/null", e))?;
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 fills `fds` with two new descriptors that we then own.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
        return Err(errno_error("pipe", Errno::from_raw_os_error(last_errno())));
    }
    use std::os::fd::FromRawFd;
    let (status_r, status_w) =
        unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    let child = ChildArgs {
        ignored: ignored_signals(),
        prog: exec.prog.fd.as_raw_fd(),
        script: exec.script,
        null: null.as_raw_fd(),
        status: status_w.as_raw_fd(),
        argv: argv.as_ptr(),
        envp: envp.as_ptr(),
    };
    // SAFETY: after fork the child runs only async-signal-safe system calls (`child_main`)
    // on memory prepared above, then execs or _exits.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(errno_error("fork", Errno::from_raw_os_error(last_errno())));
    }
    if pid == 0 {
        unsafe { child_main(&child) }
    }
    drop(status_w);
    let mut buf = [0u8; 4];
    let mut got = 0;
    loop {
        match rustix::io::read(&status_r, &mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => {
                got += n;
                if got == buf.len() {
                    break;
                }
            }
            Err(Errno::INTR) => {}
            Err(_) => break,
        }
    }
    if got == 0 {
        return Ok(pid); // closed by the exec
    }
    reap_blocking(pid);
    let e = Errno::from_raw_os_error(i32::from_ne_bytes(buf));
    let show = psctl::escape::for_display(&exec.prog.path.display().to_string()).into_owned();
    Err(errno_error(&format!("cannot execute {show}"), e))
}

fn last_errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EIO)
}

/// The signals pcheck ignores (Rust ignores SIGPIPE; pcheck's parent may have ignored more),
/// read once: dispositions do not change while pcheck runs.
fn ignored_signals() -> &'static [i32] {
    static IGNORED: OnceLock<Vec<i32>> = OnceLock::new();
    IGNORED.get_or_init(|| {
        (1..65)
            .filter(|&sig| {
                let mut old = [0u64; 4];
                // SAFETY: reads the disposition into `old` (the kernel's struct sigaction,
                // handler first, at most 32 bytes on Linux), changes nothing.
                let r = unsafe {
                    libc::syscall(
                        libc::SYS_rt_sigaction,
                        sig,
                        std::ptr::null::<u64>(),
                        old.as_mut_ptr(),
                        8usize,
                    )
                };
                r == 0 && old[0] == libc::SIG_IGN as u64
            })
            .collect()
    })
}

struct ChildArgs {
    ignored: &'static [i32],
    prog: i32,
    script: bool,
    null: i32,
    status: i32,
    argv: *const *const libc::c_char,
    envp: *const *const libc::c_char,
}

/// The child between fork and exec: async-signal-safe system calls only (no allocation, no
/// locks, no Rust std I/O). Any failure is written to the status pipe as an errno.
unsafe fn child_main(a: &ChildArgs) -> ! {
    unsafe fn fail(status: i32) -> ! {
        let e = last_errno().to_ne_bytes();
        libc::write(status, e.as_ptr().cast(), e.len());
        libc::_exit(127)
    }
    // No signal blocked (pcheck blocks those it reads through a signalfd), none ignored
    // (Rust ignores SIGPIPE, and an ignored signal stays ignored across exec).
    let mut set: libc::sigset_t = std::mem::zeroed();
    libc::sigemptyset(&mut set);
    // Handlers are reset by the exec itself; ignored signals are not. The raw system call:
    // glibc's wrappers refuse signals 32 and 33, which it reserves. An all-zero kernel
    // sigaction is SIG_DFL with no flags and an empty mask.
    let dfl = [0u64; 4];
    for &sig in a.ignored {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            dfl.as_ptr(),
            std::ptr::null_mut::<u64>(),
            8usize,
        );
    }
    if libc::sigprocmask(libc::SIG_SETMASK, &set, std::ptr::null_mut()) != 0 {
        fail(a.status);
    }
    // Own session, hence own process group (pgid = pid), and no controlling terminal.
    if libc::setsid() < 0 {
        fail(a.status);
    }
    if libc::chdir(c"/".as_ptr()) != 0 {
        fail(a.status);
    }
    libc::umask(0o022);
    // Were pcheck started with 0-2 closed, its own descriptors could sit there: lift them out
    // of the way of stdin and of descriptor 3 first.
    let lift = |fd: i32| -> i32 {
        if fd > SCRIPT_FD {
            fd
        } else {
            libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, SCRIPT_FD + 1)
        }
    };
    let status = lift(a.status);
    if status < 0 {
        fail(a.status);
    }
    let prog = lift(a.prog);
    let null = lift(a.null);
    if prog < 0 || null < 0 || libc::dup2(null, 0) < 0 {
        fail(status);
    }
    let mut exec_fd = prog;
    let mut first_closed = 3;
    if a.script {
        // dup2 clears close-on-exec on the new descriptor 3 (the lifted ones are all above).
        if libc::dup2(prog, SCRIPT_FD) < 0 {
            fail(status);
        }
        exec_fd = SCRIPT_FD;
        first_closed = SCRIPT_FD + 1;
    }
    // Nothing beyond 0-2 (and the script's 3) survives the exec; marking rather than closing
    // keeps the status pipe open until then.
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    let r = libc::syscall(
        libc::SYS_close_range,
        first_closed as libc::c_uint,
        libc::c_uint::MAX,
        CLOSE_RANGE_CLOEXEC,
    );
    if r != 0 {
        // Before Linux 5.11: mark each descriptor up to the soft limit.
        let mut lim: libc::rlimit = std::mem::zeroed();
        let max = if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 {
            lim.rlim_cur.min(1 << 20) as i32
        } else {
            1024
        };
        for fd in first_closed..max {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    libc::syscall(
        libc::SYS_execveat,
        exec_fd,
        c"".as_ptr(),
        a.argv,
        a.envp,
        libc::AT_EMPTY_PATH,
    );
    fail(status)
}

impl Script {
    pub fn pgid(&self) -> i32 {
        self.pid
    }

    /// Past its deadline: kill the whole group (the script and whatever it started in it).
    pub fn kill(&mut self) {
        if let Some(pid) = Pid::from_raw(self.pgid()) {
            let _ = kill_process_group(pid, Signal::KILL);
        }
        self.killed = true;
    }

    /// Reaps the script if it has ended.
    pub fn try_end(&mut self) -> Option<ScriptEnd> {
        if self.reaped {
            return None;
        }
        let mut st = 0;
        // SAFETY: plain syscall on our own child.
        let r = unsafe { libc::waitpid(self.pid, &mut st, libc::WNOHANG) };
        if r != self.pid {
            return None;
        }
        self.reaped = true;
        Some(if self.killed {
            ScriptEnd::TimedOut(self.timeout.as_secs())
        } else if libc::WIFEXITED(st) {
            match libc::WEXITSTATUS(st) {
                0 => ScriptEnd::Ok,
                code => ScriptEnd::Status(code),
            }
        } else {
            ScriptEnd::Signal(libc::WTERMSIG(st))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    /// A private directory with executable scripts in it.
    struct Dir(tempfile::TempDir);

    impl Dir {
        fn new() -> Dir {
            let d = tempfile::tempdir().unwrap();
            std::fs::set_permissions(d.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
            Dir(d)
        }

        fn script(&self, name: &str, body: &str) -> String {
            let p = self.0.path().join(name);
            std::fs::write(&p, body).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
            p.display().to_string()
        }
    }

    fn wait(sc: &mut Script) -> ScriptEnd {
        loop {
            if let Some(end) = sc.try_end() {
                return end;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    fn run(cmd: &str, secs: u64) -> Script {
        spawn("p", cmd, Duration::from_secs(secs)).unwrap()
    }

    #[test]
    fn script_status_timeout_and_group_kill() {
        let d = Dir::new();
        let exit = d.script("exit.sh", "#!/bin/sh\nexit \"$1\"\n");
        assert_eq!(wait(&mut run(&format!("{exit} 0"), 5)), ScriptEnd::Ok);
        assert_eq!(
            wait(&mut run(&format!("{exit} 7"), 5)),
            ScriptEnd::Status(7)
        );
        assert_eq!(wait(&mut run("/bin/false", 5)), ScriptEnd::Status(1));
        let killself = d.script("k.sh", "#!/bin/sh\nkill -9 $$\n");
        assert_eq!(wait(&mut run(&killself, 5)), ScriptEnd::Signal(9));
        // shell syntax goes through /bin/sh
        assert_eq!(
            wait(&mut run(&format!("{exit} 3 || {exit} 4"), 5)),
            ScriptEnd::Status(4)
        );
        // no signal blocked in the script even when pcheck blocks them
        crate::signals::block_and_open().unwrap();
        let blk = d.script(
            "blk.sh",
            "#!/bin/sh\nexec grep -q '^SigBlk:[[:space:]]*0*$' /proc/self/status\n",
        );
        assert_eq!(wait(&mut run(&blk, 5)), ScriptEnd::Ok);
        let bg = d.script("bg.sh", "#!/bin/sh\nsleep 30 & sleep 30\n");
        let mut hang = run(&bg, 1);
        let pg = hang.pgid();
        hang.kill();
        assert_eq!(wait(&mut hang), ScriptEnd::TimedOut(1));
        // the whole group is gone (the background sleep too), once init has reaped it
        let pg = Pid::from_raw(pg).unwrap();
        let t = std::time::Instant::now();
        while rustix::process::test_kill_process_group(pg).is_ok() {
            assert!(t.elapsed() < Duration::from_secs(5), "group still alive");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn refusals_and_missing_programs() {
        let d = Dir::new();
        let s = d.script("w.sh", "#!/bin/sh\nexit 0\n");
        std::fs::set_permissions(&s, std::fs::Permissions::from_mode(0o777)).unwrap();
        let e = spawn("p", &s, Duration::from_secs(5)).err().unwrap();
        assert_eq!(
            e,
            SpawnError::Refused(format!("{s} is group- or world-writable (mode 0777)"))
        );
        let missing = format!("{}/nope", d.0.path().display());
        assert!(matches!(
            spawn("p", &missing, Duration::from_secs(5)),
            Err(SpawnError::Refused(m)) if m.contains("No such file")
        ));
        // the first word of a shell command is checked too
        assert!(matches!(
            spawn("p", &format!("{s} | /bin/true"), Duration::from_secs(5)),
            Err(SpawnError::Refused(m)) if m.contains("writable")
        ));
        // and an interpreter outside the rules is refused
        let bad = d.script("i.sh", "#!bin/sh\nexit 0\n");
        assert!(matches!(
            spawn("p", &bad, Duration::from_secs(5)),
            Err(SpawnError::Refused(m)) if m.contains("interpreter")
        ));
        // not executable by the kernel (no #! and not a binary): counted as failed, not retried
        let junk = d.script("junk", "just text\n");
        assert!(matches!(
            spawn("p", &junk, Duration::from_secs(5)),
            Err(SpawnError::Refused(m)) if m.contains("cannot execute")
        ));
    }

    #[test]
    fn base_env_has_no_ld_and_a_fixed_path() {
        let env: Vec<String> = base_env()
            .iter()
            .map(|c| c.to_string_lossy().into_owned())
            .collect();
        assert!(env.iter().all(|v| !v.starts_with("LD_")));
        assert_eq!(
            env.iter()
                .filter(|v| v.starts_with("PATH="))
                .collect::<Vec<_>>(),
            [&format!("PATH={CLEAN_PATH}")]
        );
    }
}

//! `pcheck -f PFILE [--restart-timeout SECONDS]`: watch the processes a pfile names.
//! Also `--help` and `--version` (the version carries the git commit, see build.rs).

use std::process::ExitCode;
use std::time::Duration;

use psctl_runtime::control::{self, BindError, Server};
use psctl_runtime::daemon::Daemon;
use psctl_runtime::syslog::Logger;
use psctl_runtime::{config, signals};

const USAGE: &str = "usage: pcheck -f PFILE [--restart-timeout SECONDS]\n";

const HELP: &str = "\
pcheck: keep the processes a pfile names alive

usage: pcheck -f PFILE [--restart-timeout SECONDS]
       pcheck --help | --version

Runs in the foreground until shut down (padmin -f PFILE -c shutdown). Logs to syslog,
facility daemon, ident pcheck.

Options:
  -f PFILE                    the pfile to run
  --restart-timeout SECONDS   kill a restart script, with its process group, after
                              SECONDS seconds (default 300)
  -h, --help                  print this help and exit
  -V, --version               print the version and exit

Environment:
  PCHECK_RUNTIME_DIR     directory of the control sockets, one per IPCKEY
                         (default /run/pcheck)
  PCHECK_SYSLOG_SOCKET   Unix datagram socket to log to instead of /dev/log; when no
                         socket is reachable, messages go to standard error

Exit status:
  0   shut down by padmin, or a retry over whose action is shutdown
  1   a retry over whose action is exit
  2   not started: usage error, invalid pfile, or IPCKEY held by a live pcheck

See pcheck(1) and padmin(1).
";

fn fail(msg: &str) -> ExitCode {
    eprint!("pcheck: {msg}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let Some(args) = psctl_runtime::utf8_args() else {
        return fail("arguments must be valid UTF-8\n");
    };
    let mut args = args.into_iter();
    let mut pfile = None;
    let mut timeout = 300u64;
    while let Some(a) = args.next() {
        match a.as_str() {
            "-f" => pfile = args.next(),
            "--restart-timeout" => match args.next().and_then(|v| v.parse().ok()) {
                Some(t) if t > 0 => timeout = t,
                _ => return fail("--restart-timeout needs a positive number of seconds\n"),
            },
            "-h" | "--help" => {
                print!("{HELP}");
                return ExitCode::SUCCESS;
            }
            "-V" | "--version" => {
                println!("pcheck {}", env!("PSCTL_VERSION"));
                return ExitCode::SUCCESS;
            }
            _ => return fail(&format!("unexpected argument `{a}`\n{USAGE}")),
        }
    }
    let Some(pfile) = pfile else {
        return fail(USAGE);
    };
    let loaded = match config::load(&pfile) {
        Ok(l) => l,
        Err(diags) => {
            eprint!("{diags}");
            return fail(&format!("{pfile} is not a valid pfile; not started\n"));
        }
    };
    eprint!("{}", loaded.warnings);
    let svc = loaded.service;
    raise_fd_limit();
    let dir = control::runtime_dir();
    let server = match Server::bind(&dir, svc.ipckey) {
        Ok(s) => s,
        Err(BindError::Busy(info)) => {
            let who = info
                .map(|i| format!(":\n{i}"))
                .unwrap_or_else(|| "\n".to_owned());
            return fail(&format!(
                "IPCKEY {} is already held by a live pcheck{who}",
                psctl::model::format_ipckey(svc.ipckey)
            ));
        }
        Err(BindError::Io(e)) => {
            return fail(&format!(
                "{e}\n(set PCHECK_RUNTIME_DIR to a writable directory)\n"
            ))
        }
    };
    let sigfd = match signals::block_and_open() {
        Ok(fd) => fd,
        Err(e) => return fail(&format!("signalfd: {e}\n")),
    };
    let daemon = Daemon::new(
        config::absolute(&pfile),
        svc,
        server,
        sigfd,
        Logger::from_env("pcheck"),
        Duration::from_secs(timeout),
    );
    ExitCode::from(daemon.run() as u8)
}

/// One pidfd per watched process: lift the soft limit on open files to the hard one.
fn raise_fd_limit() {
    use rustix::process::{getrlimit, setrlimit, Resource};
    let mut l = getrlimit(Resource::Nofile);
    if l.current < l.maximum {
        l.current = l.maximum;
        let _ = setrlimit(Resource::Nofile, l);
    }
}

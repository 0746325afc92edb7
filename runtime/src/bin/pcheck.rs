//! `pcheck -f PFILE [--restart-timeout SECONDS]`: watch the processes a pfile names.
//! Also `--help` and `--version` (the version carries the git commit, see build.rs).

use std::process::ExitCode;
use std::time::Duration;

use psctl_runtime::control::{self, BindError, Server};
use psctl_runtime::daemon::{Daemon, Exit, Setup};
use psctl_runtime::metrics::MetricsFile;
use psctl_runtime::syslog::{escape_lines, try_stderr, try_stdout, Logger};
use psctl_runtime::{config, limits, signals};

// The command line, its `--help` and usage text come from the table pcheck(1) is made from.
use psctl::runtime_cli::{pcheck as opt, PCHECK};

/// pcheck's exit statuses: those of a run (`daemon::Exit`), and one when it refuses to start.
/// The only place they are numbers.
enum Status {
    /// Shut down, or `--help`/`--version` printed.
    Done,
    /// Ended to fail the service over.
    Failover,
    Refused,
}

impl From<Exit> for Status {
    fn from(e: Exit) -> Status {
        match e {
            Exit::Shutdown => Status::Done,
            Exit::Failover => Status::Failover,
        }
    }
}

impl From<Status> for ExitCode {
    fn from(s: Status) -> ExitCode {
        ExitCode::from(match s {
            Status::Done => 0,
            Status::Failover => 1,
            Status::Refused => 2,
        })
    }
}

/// Says why pcheck does not start. Nothing it prints may end it (a closed stderr is not a
/// reason to panic): failed writes are dropped.
fn fail(msg: &str) -> ExitCode {
    let _ = try_stderr(&escape_lines(&format!("pcheck: {msg}")));
    Status::Refused.into()
}

fn main() -> ExitCode {
    let Some(args) = psctl_runtime::utf8_args() else {
        return fail("arguments must be valid UTF-8\n");
    };
    let mut args = args.into_iter();
    let mut pfile = None;
    let mut timeout = 300u64;
    let mut metrics_path = None;
    while let Some(a) = args.next() {
        if opt::PFILE.is(&a) {
            pfile = args.next();
        } else if opt::RESTART_TIMEOUT.is(&a) {
            match args.next().and_then(|v| v.parse().ok()) {
                Some(t) if t > 0 => timeout = t,
                _ => {
                    return fail(&format!(
                        "{} needs a positive number of seconds\n",
                        opt::RESTART_TIMEOUT.name()
                    ))
                }
            }
        } else if opt::METRICS_FILE.is(&a) {
            match args.next() {
                Some(p) => metrics_path = Some(config::absolute(&p)),
                None => return fail(&format!("{} needs a path\n", opt::METRICS_FILE.name())),
            }
        } else if opt::HELP.is(&a) {
            let _ = try_stdout(&PCHECK.help());
            return Status::Done.into();
        } else if opt::VERSION.is(&a) {
            let _ = try_stdout(&format!("pcheck {}\n", env!("PSCTL_VERSION")));
            return Status::Done.into();
        } else {
            let a = psctl::escape::for_display(&a);
            return fail(&format!("unexpected argument `{a}`\n{}", PCHECK.usage()));
        }
    }
    let Some(pfile) = pfile else {
        return fail(&PCHECK.usage());
    };
    let loaded = match config::load(&pfile) {
        Ok(l) => l,
        Err(e) => {
            let _ = try_stderr(&escape_lines(&e.to_string()));
            // The last line says which kind of failure the lines above detail.
            let shown = psctl::escape::for_display(&pfile);
            let what = match e {
                config::LoadError::Invalid(_) => "is not a valid pfile",
                config::LoadError::Unreadable { .. } | config::LoadError::TooLarge { .. } => {
                    "could not be read"
                }
                config::LoadError::Untrusted { .. } => "was refused",
                config::LoadError::Users { .. } => "names a user this host does not know",
            };
            return fail(&format!("{shown} {what}; not started\n"));
        }
    };
    let _ = try_stderr(&escape_lines(&loaded.warnings));
    let svc = loaded.service;
    let mut log = Logger::from_env("pcheck");
    let (budget, warning) = limits::raise(svc.processes.len());
    if let Some(w) = warning {
        log.log(psctl_runtime::syslog::WARNING, &w);
    }
    // Checked before anything else is set up: a file it cannot write is a reason not to start.
    let metrics = match metrics_path.map(|p| MetricsFile::open(&p)).transpose() {
        Ok(m) => m,
        Err(e) => return fail(&format!("{e}\n")),
    };
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
        Err(BindError::Untrusted(e)) => {
            return fail(&format!(
                "runtime directory {} refused: {e}\n(it must belong to pcheck's user and be writable by nobody else; see PCHECK_RUNTIME_DIR)\n",
                dir.display()
            ))
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
    let daemon = Daemon::new(Setup {
        pfile: config::absolute(&pfile),
        svc,
        server,
        sigfd,
        log,
        restart_timeout: Duration::from_secs(timeout),
        budget,
        metrics,
    });
    Status::from(daemon.run()).into()
}

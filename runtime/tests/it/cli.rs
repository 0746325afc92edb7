//! pcheck's and padmin's command lines: `--help` and `--version` print exactly this, and
//! padmin takes `-f` and `-c` in either order.

use crate::common::{assert_text, setup, Env, PADMIN, PCHECK};
use std::process::{Command, Output};

fn run(bin: &str, args: &[&str]) -> Output {
    Command::new(bin).args(args).output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The version line every binary prints: the workspace version, plus the short commit when
/// the tests run in this project's git checkout (as build.rs decides).
pub fn expected_version() -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned())
    };
    let ours = git(&["rev-parse", "--show-toplevel"])
        .is_some_and(|top| std::fs::canonicalize(top).ok() == std::fs::canonicalize(&root).ok());
    match ours
        .then(|| git(&["rev-parse", "--short", "HEAD"]))
        .flatten()
    {
        Some(c) => format!("{} ({c})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_owned(),
    }
}

#[test]
fn version_of_both_binaries() {
    for (bin, name) in [(PCHECK, "pcheck"), (PADMIN, "padmin")] {
        for flag in ["--version", "-V"] {
            let o = run(bin, &[flag]);
            assert_eq!(o.status.code(), Some(0), "{name} {flag}");
            assert_eq!(stdout(&o), format!("{name} {}\n", expected_version()));
            assert!(o.stderr.is_empty());
        }
    }
}

const PCHECK_HELP: &str = "\
pcheck: keep the processes a pfile names alive

usage: pcheck -f PFILE [--restart-timeout SECONDS] [--metrics-file PATH]
       pcheck --help | --version

Runs in the foreground until shut down (padmin -f PFILE -c shutdown). Logs to syslog,
facility daemon, ident pcheck.

Options:
  -f PFILE                    the pfile to run
  --restart-timeout SECONDS   kill a restart script, with its process group, after
                              SECONDS seconds (default 300)
  --metrics-file PATH         keep PATH (a *.prom file) current in the Prometheus text
                              format, rewritten on every change of state
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
  2   not started: usage error, invalid or untrusted pfile, untrusted runtime
      directory, or IPCKEY held by a live pcheck

See pcheck(1) and padmin(1).
";

const PADMIN_HELP: &str = "\
padmin: show the state of running pchecks and send them commands

usage: padmin [--format text|json] -l
       padmin -f PFILE -c COMMAND [--format text|json]   (-f and -c in either order)
       padmin --metrics
       padmin --help | --version

Options:
  -l              list the running pchecks, one block per pcheck
  -f PFILE        the pfile of the pcheck to talk to
  -c COMMAND      show param, show pent, reload, stop, start or shutdown
                  (`-c show pent` and `-c 'show pent'` are the same)
  --format json   -l, show param and show pent as one JSON document (shape
                  psctl-padmin/1, schemas/padmin.schema.json); default text
  --metrics       every running pcheck's state in the Prometheus text format
  -h, --help      print this help and exit
  -V, --version   print the version and exit

Environment:
  PCHECK_RUNTIME_DIR     directory of the control sockets, one per IPCKEY
                         (default /run/pcheck)
  PCHECK_SYSLOG_SOCKET   Unix datagram socket to log commands to instead of /dev/log

Exit status:
  0   done
  1   the pcheck refused the command
  2   no pcheck serves the pfile, or a usage error

See padmin(1) and pcheck(1).
";

#[test]
fn help_of_both_binaries() {
    for (bin, text) in [(PCHECK, PCHECK_HELP), (PADMIN, PADMIN_HELP)] {
        for flag in ["--help", "-h"] {
            let o = run(bin, &[flag]);
            assert_eq!(o.status.code(), Some(0));
            assert_eq!(stdout(&o), text);
            assert!(o.stderr.is_empty());
        }
    }
}

#[test]
fn padmin_usage_errors_say_why() {
    for (args, why) in [
        (&["-f", "x"][..], "padmin: -f needs -c COMMAND\n"),
        (&["-c", "stop"], "padmin: -c needs -f PFILE\n"),
        (
            &["-c", "show", "-f", "x"],
            "padmin: unknown command `show -f`\n",
        ),
        (
            &["-f", "x", "-c", "stop", "-c", "start"],
            "padmin: -c given twice\n",
        ),
        (&[], ""),
    ] {
        let o = run(PADMIN, args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert!(o.stdout.is_empty());
        assert_eq!(
            String::from_utf8(o.stderr).unwrap(),
            format!(
                "{why}usage: padmin [--format text|json] -l\n       padmin -f PFILE -c COMMAND [--format text|json]\n       padmin --metrics\n"
            ),
            "{args:?}"
        );
    }
}

#[test]
fn padmin_takes_f_and_c_in_either_order() {
    let env = Env::new("cliorder");
    let (daemon, pfile, _, pid, _) = setup(&env, 0xc1, "{name}:{script}:86400:3:continue", &[]);
    let a = env.padmin(&["-f", &pfile, "-c", "show", "pent"]);
    let b = env.padmin(&["-c", "show", "pent", "-f", &pfile]);
    let c = env.padmin(&["-c", "show pent", "-f", &pfile]);
    assert_eq!(a.status.code(), Some(0), "{a:?}");
    assert_text(
        &stdout(&a),
        &format!(
            "pname          = {daemon}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"
        ),
    );
    assert_eq!(stdout(&a), stdout(&b));
    assert_eq!(stdout(&a), stdout(&c));
    let s = env.padmin(&["-c", "shutdown", "-f", &pfile]);
    assert_eq!(s.status.code(), Some(0), "{s:?}");
}

/// An argument cannot forge a line or reach the terminal raw: pcheck shows it escaped, as padmin
/// does (a newline in it used to start a line of its own).
#[test]
fn pcheck_shows_an_unexpected_argument_escaped() {
    let o = run(PCHECK, &["\x1b[2J\nfake"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(o.stdout.is_empty());
    assert_text(
        &String::from_utf8(o.stderr).unwrap(),
        "pcheck: unexpected argument `\\x1b[2J\\nfake`\n\
         usage: pcheck -f PFILE [--restart-timeout SECONDS] [--metrics-file PATH]\n",
    );
}

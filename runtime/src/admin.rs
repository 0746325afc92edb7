//! padmin: finds the pcheck serving a pfile (by the pfile's IPCKEY, else by asking every live
//! pcheck which pfile it serves), sends it one command, prints the answer. Exit status: 0 done,
//! 1 refused, 2 no pcheck serves the pfile (or usage error). `-f` and `-c` come in either order.

use std::path::{Path, PathBuf};

use crate::control::{self, request};
use crate::dump::Dump;
use crate::syslog::{self, escape_lines, try_stderr, try_stdout, Logger};
use crate::{clock, config, json, metrics, view};
use psctl::runtime_cli::{padmin as opt, PADMIN};

/// padmin's exit statuses (spec 4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    Done,
    /// pcheck refused the command, or would not talk to us.
    Refused,
    /// No pcheck serves the pfile.
    NotServed,
    Usage,
}

impl From<Exit> for u8 {
    fn from(e: Exit) -> u8 {
        match e {
            Exit::Done => 0,
            Exit::Refused => 1,
            Exit::NotServed | Exit::Usage => 2,
        }
    }
}

/// Prints to stdout. A reader that went away (`padmin ... | head -1`) is not an error to
/// report: like ripgrep, padmin then stops printing quietly and keeps its status.
fn out(text: &str) {
    let _ = try_stdout(text);
}

/// Prints to stderr, never panicking.
fn err(text: &str) {
    let _ = try_stderr(text);
}

/// The usage block printed after a usage error (from the table padmin(1) is made from).
fn usage() -> String {
    PADMIN.usage()
}

/// Whether `c` is one of the words of `-c COMMAND`.
fn known_command(c: &str) -> bool {
    PADMIN.commands.iter().any(|k| k.term == c)
}

/// What the command line asks for.
#[derive(Debug, PartialEq)]
enum Request {
    List,
    Command { pfile: String, cmd: String },
    Help,
    Version,
}

/// What is wrong with a command line. Its `Display` is the message printed before the usage
/// (`Bare`: none, the usage alone).
#[derive(Debug, PartialEq)]
enum UsageError {
    Bare,
    PfileNeedsValue,
    CommandNeedsValue,
    ShowNeedsWhat,
    UnknownCommand(String),
    GivenTwice(String),
    Unexpected(String),
    NoCommand,
    NoPfile,
    UnknownFormat(String),
    FormatNeedsValue,
}

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (pfile, cmd) = (opt::PFILE.name(), opt::COMMAND.name());
        match self {
            UsageError::Bare => Ok(()),
            UsageError::PfileNeedsValue => write!(f, "{pfile} needs a pfile"),
            UsageError::CommandNeedsValue => write!(f, "{cmd} needs a command"),
            UsageError::ShowNeedsWhat => f.write_str("`show` needs `param` or `pent`"),
            UsageError::UnknownCommand(w) => write!(f, "unknown command `{w}`"),
            UsageError::GivenTwice(a) => write!(f, "{a} given twice"),
            UsageError::Unexpected(a) => write!(f, "unexpected argument `{a}`"),
            UsageError::NoCommand => {
                write!(
                    f,
                    "{pfile} needs {cmd} {}",
                    opt::COMMAND.value.unwrap_or("")
                )
            }
            UsageError::NoPfile => {
                write!(f, "{cmd} needs {pfile} {}", opt::PFILE.value.unwrap_or(""))
            }
            UsageError::UnknownFormat(v) => write!(
                f,
                "unknown format `{}` (text or json)",
                psctl::escape::for_display(v)
            ),
            UsageError::FormatNeedsValue => {
                write!(f, "{} needs text or json", opt::FORMAT.name())
            }
        }
    }
}

/// `-l`, or `-f PFILE` and `-c COMMAND` in either order; COMMAND is one word, or `show`
/// and the next word, or both words in one argument.
fn parse(args: &[String]) -> Result<Request, UsageError> {
    match args {
        [a] if opt::HELP.is(a) => return Ok(Request::Help),
        [a] if opt::VERSION.is(a) => return Ok(Request::Version),
        [a] if opt::LIST.is(a) => return Ok(Request::List),
        _ => {}
    }
    let (mut pfile, mut cmd) = (None, None);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        if opt::PFILE.is(a) && pfile.is_none() {
            match it.next() {
                Some(p) => pfile = Some(p.clone()),
                None => return Err(UsageError::PfileNeedsValue),
            }
        } else if opt::COMMAND.is(a) && cmd.is_none() {
            let Some(first) = it.next() else {
                return Err(UsageError::CommandNeedsValue);
            };
            let mut word = first.clone();
            if word == "show" {
                match it.next() {
                    Some(w) => word = format!("show {w}"),
                    None => return Err(UsageError::ShowNeedsWhat),
                }
            }
            if !known_command(&word) {
                return Err(UsageError::UnknownCommand(word));
            }
            cmd = Some(word);
        } else if opt::PFILE.is(a) || opt::COMMAND.is(a) {
            return Err(UsageError::GivenTwice(a.clone()));
        } else {
            return Err(UsageError::Unexpected(a.clone()));
        }
    }
    match (pfile, cmd) {
        (Some(pfile), Some(cmd)) => Ok(Request::Command { pfile, cmd }),
        (Some(_), None) => Err(UsageError::NoCommand),
        (None, Some(_)) => Err(UsageError::NoPfile),
        (None, None) => Err(UsageError::Bare),
    }
}

pub fn main(args: &[String]) -> u8 {
    let (opts, args) = match output_options(args) {
        Ok(x) => x,
        Err(e) => {
            // Escaped once, in the message: no second escaping here.
            err(&format!("padmin: {e}\n{}", usage()));
            return Exit::Usage.into();
        }
    };
    let dir = control::runtime_dir();
    if opts.metrics {
        if !args.is_empty() || opts.json {
            err(&usage());
            return Exit::Usage.into();
        }
        return metrics(&dir).into();
    }
    let req = match parse(&args) {
        Ok(r) => r,
        Err(e) => {
            if e != UsageError::Bare {
                let msg = e.to_string();
                err(&format!("padmin: {}\n", psctl::escape::for_display(&msg)));
            }
            err(&usage());
            return Exit::Usage.into();
        }
    };
    match req {
        Request::Help => out(&PADMIN.help()),
        Request::Version => out(&format!("padmin {}\n", env!("PSCTL_VERSION"))),
        Request::List => list(&dir, opts.json),
        Request::Command { pfile, cmd } => {
            if opts.json && !cmd.starts_with("show") {
                err(&format!(
                    "padmin: {} json is for -l, show param and show pent\n{}",
                    opt::FORMAT.name(),
                    usage()
                ));
                return Exit::Usage.into();
            }
            return command(&dir, &pfile, &cmd, opts.json).into();
        }
    }
    Exit::Done.into()
}

/// The options of issue 12 (machine-readable output), taken out of the arguments wherever
/// they stand: `--format text|json` (or `--format=...`) and `--metrics`.
#[derive(Default)]
struct OutputOptions {
    json: bool,
    metrics: bool,
}

fn output_options(args: &[String]) -> Result<(OutputOptions, Vec<String>), UsageError> {
    let mut o = OutputOptions::default();
    let mut rest = Vec::new();
    let mut it = args.iter();
    let format_eq = format!("{}=", opt::FORMAT.name());
    while let Some(a) = it.next() {
        let format = if opt::METRICS.is(a) {
            o.metrics = true;
            continue;
        } else if opt::FORMAT.is(a) {
            it.next().map(String::as_str)
        } else if let Some(f) = a.strip_prefix(&format_eq) {
            Some(f)
        } else {
            rest.push(a.clone());
            continue;
        };
        o.json = match format {
            Some("json") => true,
            Some("text") => false,
            Some(f) => return Err(UsageError::UnknownFormat(f.to_owned())),
            None => return Err(UsageError::FormatNeedsValue),
        };
    }
    Ok((o, rest))
}

/// `padmin --metrics`: the Prometheus exposition of every live pcheck, merged.
fn metrics(dir: &Path) -> Exit {
    let mut texts = Vec::new();
    for sock in control::list_sockets(dir) {
        match request(&sock, "metrics") {
            Ok((0, t)) => texts.push(t),
            Ok((_, t)) => err(&format!(
                "padmin: {}: no metrics: {}",
                psctl::escape::for_display(&sock.display().to_string()),
                escape_lines(&t)
            )),
            Err(_) => {} // gone meanwhile, or not ours: as for -l
        }
    }
    out(&escape_lines(&metrics::merge(&texts)));
    Exit::Done
}

fn list(dir: &Path, json: bool) {
    if json {
        // Each live pcheck sends its object on one line; anything else is not embedded.
        let objects = control::list_sockets(dir)
            .iter()
            .filter_map(|s| request(s, "info json").ok())
            .filter(|(st, t)| {
                *st == 0 && t.starts_with('{') && t.ends_with('}') && !t.contains('\n')
            })
            .map(|(_, t)| t)
            .collect();
        out(&escape_lines(&json::list_document(objects)));
        return;
    }
    let blocks: Vec<String> = control::list_sockets(dir)
        .iter()
        .filter_map(|s| request(s, "info").ok())
        .filter(|(st, _)| *st == 0)
        .map(|(_, t)| escape_lines(&t))
        .collect();
    out(&blocks.join("\n"));
}

/// The `pfile = ...` line of an `info` answer.
fn served_pfile(info: &str) -> Option<&str> {
    info.lines().find_map(|l| l.strip_prefix("pfile    = "))
}

enum Found {
    Served(PathBuf),
    /// The pfile's key has a socket we may not use (a pcheck of another user), or one served
    /// by someone who is neither root nor us.
    Denied(PathBuf, String),
    NotServed,
}

fn find(dir: &Path, key: Option<u32>, pfile: &str) -> Found {
    let shown = psctl::escape::for_display(pfile);
    let serves = |sock: &Path| {
        request(sock, "info")
            .ok()
            .is_some_and(|(st, t)| st == 0 && served_pfile(&t) == Some(&shown))
    };
    if let Some(k) = key {
        let sock = control::socket_path(dir, k);
        match request(&sock, "info") {
            Ok((0, t)) if served_pfile(&t) == Some(&shown) => return Found::Served(sock),
            Ok((1, t)) => return Found::Denied(sock, t),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Found::Denied(sock, format!("{e}\n"))
            }
            _ => {}
        }
    }
    match control::list_sockets(dir).into_iter().find(|s| serves(s)) {
        Some(s) => Found::Served(s),
        None => Found::NotServed,
    }
}

fn command(dir: &Path, pfile_arg: &str, cmd: &str, json: bool) -> Exit {
    let pfile = config::absolute(pfile_arg);
    let shown = psctl::escape::for_display(&pfile).into_owned();
    let loaded = config::load_for_admin(pfile_arg);
    let key = loaded.as_ref().ok().map(|l| l.service.ipckey);
    let sock = match find(dir, key, &pfile) {
        Found::Served(s) => s,
        Found::NotServed => return not_served(&pfile, loaded, cmd, json),
        Found::Denied(sock, why) => {
            let sock = psctl::escape::for_display(&sock.display().to_string()).into_owned();
            err(&format!("padmin: {sock}: {}", escape_lines(&why)));
            err(&format!(
                "padmin: [{cmd}] refused: pcheck answers only its own user and root, and padmin believes only those\n"
            ));
            return Exit::Refused;
        }
    };
    let req = if json {
        format!("{cmd} json")
    } else {
        cmd.to_owned()
    };
    match request(&sock, &req) {
        Ok((0, text)) => {
            out(&escape_lines(&text));
            if !cmd.starts_with("show") {
                Logger::from_env("padmin").log(
                    syslog::INFO,
                    &format!("Command execute. [{cmd}] pfile={pfile}"),
                );
            }
            Exit::Done
        }
        Ok((_, text)) => {
            err(&escape_lines(&text));
            err(&format!("padmin: [{cmd}] refused by pcheck for {shown}\n"));
            Exit::Refused
        }
        Err(e) => {
            err(&format!(
                "padmin: the pcheck serving {shown} did not answer: {e}\n"
            ));
            Exit::NotServed
        }
    }
}

fn not_served(
    pfile: &str,
    loaded: Result<config::Loaded, config::LoadError>,
    cmd: &str,
    json: bool,
) -> Exit {
    let shown = psctl::escape::for_display(pfile);
    let svc = match loaded {
        Ok(l) => l.service,
        Err(e) => {
            err(&escape_lines(&e.to_string()));
            err(&format!(
                "padmin: no pcheck serves {shown} (and it is not a valid pfile)\n"
            ));
            return Exit::NotServed;
        }
    };
    let key = psctl::model::format_ipckey(svc.ipckey);
    err(&format!(
        "padmin: no pcheck serves {shown} (IPCKEY {key})\n"
    ));
    if cmd != "show pent" {
        return Exit::NotServed;
    }
    let path = svc.dump_file_or_default();
    let path_shown = psctl::escape::for_display(&path);
    let read = std::fs::read(&path)
        .map_err(|e| e.to_string())
        .and_then(|b| String::from_utf8(b).map_err(|_| "not UTF-8 text".to_owned()))
        .and_then(|t| Dump::parse(&t).map_err(|e| e.to_string()));
    match read {
        Ok(d) => {
            // Both within the range the reader accepts: no overflow either way.
            let age = clock::now().saturating_sub(d.written).max(0);
            if json {
                out(&json::dump_document(&d, &path, age));
                return Exit::NotServed;
            }
            out(&format!(
                "# pcheck is not running; last dump {path_shown} (pcheck pid {}), written {}, {age} s ago\n",
                d.pid,
                clock::ctime(d.written)
            ));
            out(&view::render_pents(&d.pents));
        }
        Err(e) => err(&format!(
            "padmin: no dump to show either: {path_shown}: {}\n",
            psctl::escape::for_display(&e)
        )),
    }
    Exit::NotServed
}

#[cfg(test)]
mod parse_tests {
    use super::{parse, Request, UsageError};

    fn p(args: &[&str]) -> Result<Request, UsageError> {
        parse(&args.iter().map(|a| a.to_string()).collect::<Vec<_>>())
    }

    fn cmd(pfile: &str, cmd: &str) -> Result<Request, UsageError> {
        Ok(Request::Command {
            pfile: pfile.into(),
            cmd: cmd.into(),
        })
    }

    #[test]
    fn f_and_c_in_either_order() {
        assert_eq!(
            p(&["-f", "pf", "-c", "show", "pent"]),
            cmd("pf", "show pent")
        );
        assert_eq!(
            p(&["-c", "show", "pent", "-f", "pf"]),
            cmd("pf", "show pent")
        );
        assert_eq!(p(&["-c", "show pent", "-f", "pf"]), cmd("pf", "show pent"));
        assert_eq!(p(&["-c", "reload", "-f", "pf"]), cmd("pf", "reload"));
        assert_eq!(p(&["-f", "pf", "-c", "shutdown"]), cmd("pf", "shutdown"));
    }

    /// Each option of the table padmin's help and page are made from is one the parser takes.
    #[test]
    fn every_option_of_the_table_is_taken() {
        for o in super::PADMIN.options {
            let spellings = [
                o.short.map(|s| format!("-{s}")),
                o.long.map(|l| format!("--{l}")),
            ];
            for arg in spellings.into_iter().flatten() {
                let why = match super::output_options(std::slice::from_ref(&arg)) {
                    Ok((_, rest)) => parse(&rest).err(),
                    Err(e) => Some(e),
                };
                assert!(
                    !matches!(why, Some(UsageError::Unexpected(_))),
                    "{arg}: {why:?}"
                );
            }
        }
        assert_eq!(p(&["--list"]), Err(UsageError::Unexpected("--list".into())));
    }

    #[test]
    fn bad_command_lines_say_why() {
        // The message printed before the usage, exactly.
        let why = |args: &[&str]| p(args).unwrap_err().to_string();
        assert_eq!(why(&["-f", "pf"]), "-f needs -c COMMAND");
        assert_eq!(why(&["-c", "stop"]), "-c needs -f PFILE");
        assert_eq!(
            why(&["-f", "pf", "-c", "show"]),
            "`show` needs `param` or `pent`"
        );
        assert_eq!(
            why(&["-f", "pf", "-c", "restart"]),
            "unknown command `restart`"
        );
        assert_eq!(
            why(&["-f", "pf", "-c", "stop", "now"]),
            "unexpected argument `now`"
        );
        assert_eq!(why(&["-f", "a", "-f", "b", "-c", "stop"]), "-f given twice");
        assert_eq!(why(&["-l", "-f", "pf"]), "unexpected argument `-l`");
        assert_eq!(why(&[]), "");
    }

    #[test]
    fn bad_formats_say_why() {
        let why = |args: &[&str]| {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            super::output_options(&args).err().unwrap().to_string()
        };
        assert_eq!(why(&["--format"]), "--format needs text or json");
        assert_eq!(
            why(&["--format=x\x1b"]),
            "unknown format `x\\x1b` (text or json)"
        );
    }
}

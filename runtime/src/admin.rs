//! padmin: finds the pcheck serving a pfile (by the pfile's IPCKEY, else by asking every live
//! pcheck which pfile it serves), sends it one command, prints the answer. Exit status: 0 done,
//! 1 refused, 2 no pcheck serves the pfile (or usage error).

use std::path::{Path, PathBuf};

use crate::control::{self, request};
use crate::dump::Dump;
use crate::syslog::{self, Logger};
use crate::{clock, config, view};

const USAGE: &str =
    "usage: padmin -l\n       padmin -f PFILE -c show param|show pent|reload|stop|start|shutdown\n";
const COMMANDS: [&str; 6] = [
    "show param",
    "show pent",
    "reload",
    "stop",
    "start",
    "shutdown",
];

pub fn main(args: &[String]) -> u8 {
    let dir = control::runtime_dir();
    match args.first().map(String::as_str) {
        Some("-l") if args.len() == 1 => {
            list(&dir);
            0
        }
        Some("-f") if args.len() >= 4 && args[2] == "-c" => {
            let cmd = args[3..].join(" ");
            if !COMMANDS.contains(&cmd.as_str()) {
                eprint!("padmin: unknown command `{cmd}`\n{USAGE}");
                return 2;
            }
            command(&dir, &args[1], &cmd)
        }
        Some("-h" | "--help") => {
            print!("{USAGE}");
            0
        }
        _ => {
            eprint!("{USAGE}");
            2
        }
    }
}

fn list(dir: &Path) {
    let blocks: Vec<String> = control::list_sockets(dir)
        .iter()
        .filter_map(|s| request(s, "info").ok())
        .filter(|(st, _)| *st == 0)
        .map(|(_, t)| t)
        .collect();
    print!("{}", blocks.join("\n"));
}

/// The `pfile = ...` line of an `info` answer.
fn served_pfile(info: &str) -> Option<&str> {
    info.lines().find_map(|l| l.strip_prefix("pfile    = "))
}

enum Found {
    Served(PathBuf),
    /// The pfile's key has a socket we may not use (a pcheck of another user).
    Denied(PathBuf, String),
    NotServed,
}

fn find(dir: &Path, key: Option<u32>, pfile: &str) -> Found {
    let serves = |sock: &Path| {
        request(sock, "info")
            .ok()
            .is_some_and(|(st, t)| st == 0 && served_pfile(&t) == Some(pfile))
    };
    if let Some(k) = key {
        let sock = control::socket_path(dir, k);
        match request(&sock, "info") {
            Ok((0, t)) if served_pfile(&t) == Some(pfile) => return Found::Served(sock),
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

fn command(dir: &Path, pfile_arg: &str, cmd: &str) -> u8 {
    let pfile = config::absolute(pfile_arg);
    let loaded = config::load_for_admin(pfile_arg);
    let key = loaded.as_ref().ok().map(|l| l.service.ipckey);
    let sock = match find(dir, key, &pfile) {
        Found::Served(s) => s,
        Found::NotServed => return not_served(&pfile, loaded, cmd),
        Found::Denied(sock, why) => {
            eprint!("padmin: {}: {why}", sock.display());
            eprintln!("padmin: [{cmd}] refused: pcheck answers only its own user and root");
            return 1;
        }
    };
    match request(&sock, cmd) {
        Ok((0, text)) => {
            print!("{text}");
            if !cmd.starts_with("show") {
                Logger::from_env("padmin").log(
                    syslog::INFO,
                    &format!("Command execute. [{cmd}] pfile={pfile}"),
                );
            }
            0
        }
        Ok((_, text)) => {
            eprint!("{text}");
            eprintln!("padmin: [{cmd}] refused by pcheck for {pfile}");
            1
        }
        Err(e) => {
            eprintln!("padmin: the pcheck serving {pfile} did not answer: {e}");
            2
        }
    }
}

fn not_served(pfile: &str, loaded: Result<config::Loaded, String>, cmd: &str) -> u8 {
    let svc = match loaded {
        Ok(l) => l.service,
        Err(diags) => {
            eprint!("{diags}");
            eprintln!("padmin: no pcheck serves {pfile} (and it is not a valid pfile)");
            return 2;
        }
    };
    let key = psctl::model::format_ipckey(svc.ipckey);
    eprintln!("padmin: no pcheck serves {pfile} (IPCKEY {key})");
    if cmd != "show pent" {
        return 2;
    }
    let path = svc.dump_file_or_default();
    match std::fs::read_to_string(&path)
        .map_err(|e| e.to_string())
        .and_then(|t| Dump::parse(&t))
    {
        Ok(d) => {
            let age = (clock::now() - d.written).max(0);
            println!(
                "# pcheck is not running; last dump {path} (pcheck pid {}), written {}, {age} s ago",
                d.pid,
                clock::ctime(d.written)
            );
            print!("{}", view::render_pents(&d.pents));
        }
        Err(e) => eprintln!("padmin: no dump to show either: {path}: {e}"),
    }
    2
}

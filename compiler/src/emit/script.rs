//! Generated restart scripts (spec section 2): stop, wait, start, wait; the start command's
//! status is the script's. Every value reaches the shell inside single quotes, never raw.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use crate::model::{Restart, Service};

/// Longest slug kept, so that `restart_<slug>.sh` stays far below NAME_MAX (255 bytes).
const MAX_SLUG: usize = 64;
/// The slug of a pname with no letter or digit at all.
const EMPTY_SLUG: &str = "proc";

/// Who owns restart `i` of [`restarts`]: the entry or group name and its restart.
pub fn restarts(svc: &Service) -> impl Iterator<Item = (&str, &Restart)> {
    let processes = svc.processes.iter().map(|p| (p.name.as_str(), &p.restart));
    processes.chain(svc.groups.iter().map(|g| (g.name.as_str(), &g.restart)))
}

/// The script slug of each restart of [`restarts`] (the entries, then the groups) that gets a
/// generated script (`Restart::Commands`), `None` for the others: the name lower-cased, every
/// run of characters outside `[a-z0-9_]` made one `_`, trimmed of `_`, cut to 64 bytes, and
/// made unique within the service (entries and groups alike) by `_2`, `_3`...
pub fn slugs(svc: &Service) -> Vec<Option<String>> {
    let mut used = HashSet::new();
    // The next suffix to try per base slug. `used` only grows, so the first free suffix never
    // goes down: resuming where the last search stopped gives the same answer as starting at
    // `_2`, in linear instead of quadratic time.
    let mut next: HashMap<String, usize> = HashMap::new();
    restarts(svc)
        .map(|(name, restart)| {
            if !matches!(restart, Restart::Commands { .. }) {
                return None;
            }
            let base = base_slug(name);
            let mut slug = base.clone();
            if used.contains(&slug) {
                let n = next.entry(base.clone()).or_insert(2);
                loop {
                    slug = format!("{base}_{n}");
                    *n += 1;
                    if !used.contains(&slug) {
                        break;
                    }
                }
            }
            used.insert(slug.clone());
            Some(slug)
        })
        .collect()
}

fn base_slug(pname: &str) -> String {
    let mut s = String::with_capacity(pname.len().min(MAX_SLUG));
    for c in pname.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' {
            s.push(c);
        } else if !s.ends_with('_') {
            s.push('_');
        }
    }
    let mut s = s.trim_matches('_').to_owned();
    s.truncate(MAX_SLUG);
    let s = s.trim_end_matches('_');
    if s.is_empty() {
        EMPTY_SLUG.to_owned()
    } else {
        s.to_owned()
    }
}

/// The file name of a generated script.
pub fn file_name(slug: &str) -> String {
    format!("restart_{slug}.sh")
}

/// The absolute path a pfile uses for a generated script.
pub fn script_path(conf_dir: &str, slug: &str) -> String {
    let dir = conf_dir.trim_end_matches('/');
    format!("{dir}/{}", file_name(slug))
}

/// Why a generated script cannot be installed under `conf_dir`, if it cannot. pcheck runs the
/// PENT restart field with `/bin/sh -c`, so the path must be a single word that needs no quoting.
pub fn conf_dir_problem(conf_dir: &str) -> Option<String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "/._+,=@%-".contains(c);
    if !conf_dir.starts_with('/') {
        Some(format!("conf_dir `{conf_dir}` is not an absolute path"))
    } else if !conf_dir.chars().all(safe) {
        Some(format!(
            "conf_dir `{}` contains a character a shell would interpret; generated scripts need a \
             path of letters, digits and `/._+,=@%-`",
            super::comment_safe(conf_dir)
        ))
    } else {
        None
    }
}

/// The restart field of each restart of [`restarts`] (the entries, then the groups): `-`, the
/// script command as given, or the path of the generated script.
pub fn restart_fields(svc: &Service) -> Vec<String> {
    let conf_dir = svc.conf_dir_or_default();
    restarts(svc)
        .zip(slugs(svc))
        .map(|((_, restart), slug)| match (restart, slug) {
            (Restart::None, _) => "-".to_owned(),
            (Restart::Script(cmd), _) => cmd.clone(),
            (Restart::Commands { .. }, Some(slug)) => script_path(conf_dir, &slug),
            (Restart::Commands { .. }, None) => unreachable!("slugs() covers every Commands"),
        })
        .collect()
}

/// What a generated script restarts: an entry (by pname) or a group (by name).
#[derive(Debug, Clone, Copy)]
pub enum Owner<'a> {
    Process(&'a str),
    Group(&'a str),
}

/// Quotes `s` for a POSIX shell: inside single quotes nothing is special, and a single quote
/// is written as `'\''` (close, escaped quote, reopen). A backslash right before a closing
/// quote is written the same way (`'\\'`): correct either way, but shellcheck (SC1003) would
/// take `\'` for an attempt to escape the quote.
pub fn shell_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('\'');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => out.push_str("'\\''"),
            '\\' if matches!(chars.peek(), None | Some('\'')) => out.push_str("'\\\\'"),
            c => out.push(c),
        }
    }
    out.push('\'');
    out
}

/// The text of a generated restart script for `owner`.
pub fn render(source_name: &str, owner: Owner<'_>, stop: &str, start: &str, wait: u32) -> String {
    let mut s = String::with_capacity(512 + stop.len() + start.len());
    s.push_str("#!/bin/sh\n");
    s.push_str(&super::generated_header(source_name));
    s.push('\n');
    let (what, name) = match owner {
        Owner::Process(n) => ("process", n),
        Owner::Group(n) => ("group", n),
    };
    let _ = writeln!(
        s,
        "# Restart script of {what} `{}` for pcheck: stop, wait {wait} s, start, wait {wait} s.",
        super::comment_safe(name)
    );
    s.push_str("# The exit status is the start command's: pcheck judges the restart by it.\n\n");
    s.push_str("# The commands are kept verbatim in single quotes; they expand when they run.\n");
    s.push_str("# shellcheck disable=SC2016\n");
    let _ = writeln!(s, "stop_cmd={}", shell_quote(stop));
    let _ = writeln!(s, "start_cmd={}\n", shell_quote(start));
    s.push_str("# The stop command fails when the process is already gone; that is expected.\n");
    s.push_str("/bin/sh -c \"$stop_cmd\" || true\n");
    if wait > 0 {
        let _ = writeln!(s, "sleep {wait}");
    }
    s.push_str("/bin/sh -c \"$start_cmd\"\n");
    s.push_str("status=$?\n");
    if wait > 0 {
        let _ = writeln!(s, "sleep {wait}");
    }
    s.push_str("exit \"$status\"\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Process};

    fn svc(names: &[&str]) -> Service {
        Service {
            conf_dir: Some("/etc/ps/".into()),
            processes: names
                .iter()
                .map(|n| Process {
                    name: (*n).into(),
                    restart: Restart::commands("s", "s", 1),
                    grace: 1,
                    retries: 1,
                    on_retry_over: Action::Continue,
                    user: Box::default(),
                    ..Process::new("")
                })
                .collect(),
            ..Service::new("t", 1)
        }
    }

    #[test]
    fn slugs_are_reduced_and_unique() {
        let s = svc(&[
            "crond",
            "/usr/sbin/sshd -D",
            "CronD",
            "crond 2",
            "!!!",
            "é",
            "crond_2",
        ]);
        let got: Vec<_> = slugs(&s).into_iter().map(Option::unwrap).collect();
        assert_eq!(
            got,
            [
                "crond",
                "usr_sbin_sshd_d",
                "crond_2",
                "crond_2_2",
                "proc",
                "proc_2",
                "crond_2_3"
            ]
        );
        let long = svc(&[&"x".repeat(500)]);
        assert_eq!(slugs(&long)[0].as_ref().unwrap().len(), MAX_SLUG);
        assert_eq!(restart_fields(&s)[0], "/etc/ps/restart_crond.sh");
    }

    #[test]
    fn quoting_survives_single_quotes() {
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote("a\\'b\\"), "'a'\\\\''\\''b'\\\\''");
        assert_eq!(shell_quote("a\\b"), "'a\\b'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn conf_dir_must_be_shell_safe() {
        assert!(conf_dir_problem("/var/opt/HA/PS/conf/bin").is_none());
        assert!(conf_dir_problem("/a b").is_some());
        assert!(conf_dir_problem("/a;rm").is_some());
        assert!(conf_dir_problem("rel").is_some());
    }
}

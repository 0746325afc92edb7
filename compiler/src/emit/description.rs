//! Service-description printers for `psctl import`: YAML and TOML written directly, so that key
//! order and comments are ours to place. Every value is written so that it reads back exactly:
//! strings are quoted whenever a plain form could be misread, durations use a unit only when
//! it is exact.

use std::fmt::Write as _;

use super::pfile::{Attached, Comments};
use crate::model::{self, format_ipckey, Restart, Service};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Toml,
}

pub struct Options<'a> {
    pub format: Format,
    /// Path or URL of the JSON Schema named in the modeline.
    pub schema: &'a str,
    /// Which PARAM keys (in `PARAM_KEYS` order) the source gave. Keys given, or differing from
    /// the description default, are printed; `dump_file` always is, since the pfile default
    /// (`pcheck_dump_<ipckey>`) is not the description default (`pcheck_dump_<name>`).
    pub given: [bool; 5],
}

/// Seconds as a duration: a whole number of days, hours or minutes when exact, else seconds.
pub fn duration(secs: u64) -> String {
    match secs {
        0 => "0".to_owned(),
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// A comment safe to carry into YAML or TOML: both forbid most control characters even in
/// comments, so those are escaped (a tab is fine).
fn comment(c: &str) -> String {
    let mut out = String::with_capacity(c.len());
    for ch in c.chars() {
        if (ch.is_control() && ch != '\t') || ch == '\u{feff}' {
            out.extend(ch.escape_default());
        } else {
            out.push(ch);
        }
    }
    out
}

/// A double-quoted string with escapes, valid in both YAML and TOML basic strings.
fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() || c == '\u{feff}' => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A YAML scalar: plain when that cannot be misread (no indicator, not a keyword, not a
/// number), double-quoted otherwise.
fn yaml_str(s: &str) -> String {
    const KEYWORDS: [&str; 11] = [
        "null", "true", "false", "yes", "no", "on", "off", "y", "n", "none", "~",
    ];
    let safe = s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '/')
        && !s.ends_with(' ')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || " /._-+=,@%".contains(c))
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(s));
    if safe {
        s.to_owned()
    } else {
        quoted(s)
    }
}

struct Out {
    text: String,
}

impl Out {
    fn comments(&mut self, indent: &str, cs: &[String]) {
        for c in cs {
            let _ = writeln!(self.text, "{indent}{}", comment(c));
        }
    }

    /// A line, with the attached comments: own-line ones before it, a trailing one after it.
    fn line(&mut self, indent: &str, text: &str, a: Option<&Attached>) {
        if let Some(a) = a {
            self.comments(indent, &a.before);
        }
        let _ = write!(self.text, "{indent}{text}");
        if let Some(t) = a.and_then(|a| a.trailing.as_deref()) {
            let _ = write!(self.text, " {}", comment(t));
        }
        self.text.push('\n');
    }
}

/// Prints `svc` as a service description with `comments` placed where they belong.
pub fn print(svc: &Service, comments: &Comments, opts: &Options<'_>) -> String {
    let yaml = opts.format == Format::Yaml;
    let s = |v: &str| if yaml { yaml_str(v) } else { quoted(v) };
    let dur = |secs: u64| {
        let d = duration(secs);
        if yaml || secs == 0 {
            d
        } else {
            quoted(&d)
        }
    };
    let kv = |k: &str, v: String| {
        if yaml {
            format!("{k}: {v}")
        } else {
            format!("{k} = {v}")
        }
    };
    let mut out = Out {
        text: String::with_capacity(512 + 160 * svc.processes.len()),
    };
    if yaml {
        let _ = writeln!(out.text, "# yaml-language-server: $schema={}", opts.schema);
    } else {
        let _ = writeln!(out.text, "#:schema {}", opts.schema);
    }
    out.comments("", &comments.preamble);
    out.line("", &kv("name", s(&svc.name)), None);
    let p = &comments.params;
    out.line("", &kv("ipckey", format_ipckey(svc.ipckey)), Some(&p[0]));
    let scalars = [
        (
            1,
            "msg_check_interval",
            svc.msg_check_interval,
            model::DEFAULT_MSG_CHECK_INTERVAL,
        ),
        (
            2,
            "monitor_interval",
            svc.monitor_interval,
            model::DEFAULT_MONITOR_INTERVAL,
        ),
    ];
    for (i, key, value, default) in scalars {
        if opts.given[i] || value != default {
            out.line("", &kv(key, dur(value.into())), Some(&p[i]));
        }
    }
    if opts.given[3] || svc.monitor_try_count != model::DEFAULT_MONITOR_TRY_COUNT {
        let v = svc.monitor_try_count.to_string();
        out.line("", &kv("monitor_try_count", v), Some(&p[3]));
    }
    out.line(
        "",
        &kv("dump_file", s(&svc.dump_file_or_default())),
        Some(&p[4]),
    );
    if let Some(dir) = &svc.conf_dir {
        out.line("", &kv("conf_dir", s(dir)), None);
    }
    if yaml {
        out.text.push_str("processes:\n");
    }
    for (i, proc_) in svc.processes.iter().enumerate() {
        let a = comments.entry(i);
        let restart = match &proc_.restart {
            Restart::None => s("none"),
            Restart::Script(cmd) if yaml => format!("\n      script: {}", s(cmd)),
            Restart::Script(cmd) => format!("{{ script = {} }}", s(cmd)),
            Restart::Commands { stop, start, wait } if yaml => format!(
                "\n      stop: {}\n      start: {}\n      wait: {}",
                s(stop),
                s(start),
                dur((*wait).into())
            ),
            Restart::Commands { stop, start, wait } => format!(
                "{{ stop = {}, start = {}, wait = {} }}",
                s(stop),
                s(start),
                dur((*wait).into())
            ),
        };
        let mut fields = vec![
            kv("restart", restart),
            kv("grace", dur(proc_.grace)),
            kv("retries", proc_.retries.to_string()),
            kv("on_retry_over", s(proc_.on_retry_over.as_str())),
        ];
        if !proc_.user.is_empty() {
            // uids as integers, names as strings: what the description reads back the same
            let users: Vec<String> = proc_
                .user
                .iter()
                .map(|u| {
                    if u.bytes().all(|b| b.is_ascii_digit()) {
                        u.clone()
                    } else {
                        s(u)
                    }
                })
                .collect();
            fields.push(kv("user", format!("[{}]", users.join(", "))));
        }
        if yaml {
            if let Some(a) = a {
                out.comments("  ", &a.before);
            }
            let name_only = a.map(|a| Attached {
                before: Vec::new(),
                trailing: a.trailing.clone(),
            });
            out.line(
                "  ",
                &format!("- name: {}", s(&proc_.name)),
                name_only.as_ref(),
            );
            for f in fields {
                // `restart:` followed by a nested mapping must not keep the space before it.
                out.line("    ", f.replace(": \n", ":\n").as_str(), None);
            }
        } else {
            out.text.push('\n');
            if let Some(a) = a {
                out.comments("", &a.before);
            }
            out.text.push_str("[[processes]]\n");
            let trailing = a.map(|a| Attached {
                before: Vec::new(),
                trailing: a.trailing.clone(),
            });
            out.line("", &kv("name", s(&proc_.name)), trailing.as_ref());
            for f in fields {
                out.line("", &f, None);
            }
        }
    }
    if !comments.trailer.is_empty() && !yaml {
        out.text.push('\n');
    }
    out.comments("", &comments.trailer);
    out.text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_exact() {
        let got: Vec<_> = [0, 5, 90, 600, 7200, 86400, 86401, 31_536_000]
            .into_iter()
            .map(duration)
            .collect();
        assert_eq!(got, ["0", "5s", "90s", "10m", "2h", "1d", "86401s", "365d"]);
    }

    #[test]
    fn strings_are_quoted_when_needed() {
        assert_eq!(yaml_str("crond"), "crond");
        assert_eq!(yaml_str("/usr/sbin/sshd -D"), "/usr/sbin/sshd -D");
        for s in [
            "a#b c", "none", "True", "-x", "1234", "a: b", "", "x\u{1}", "é",
        ] {
            assert!(yaml_str(s).starts_with('"'), "{s:?}");
        }
        assert_eq!(quoted("a\"b\\c\u{1}"), "\"a\\\"b\\\\c\\u0001\"");
    }
}

//! The command lines of the runtime's binaries, pcheck and padmin, as plain data (in the
//! manner of ripgrep's flag definitions): each option's spellings, value name, `--help` text
//! and manual-page paragraph, and the texts around them. The runtime prints its `--help` and
//! usage from here and its parsers take the option names from here; `psctl man` builds the
//! pcheck(1) and padmin(1) pages from here. Always built, no dependency: the runtime links it.

/// One command-line option.
#[derive(Debug, Clone, Copy)]
pub struct Opt {
    pub short: Option<char>,
    pub long: Option<&'static str>,
    /// The name of its value (`PFILE`), `None` for a switch.
    pub value: Option<&'static str>,
    /// How `--help` writes it in the option column, when not `-s VALUE` or `--long VALUE`.
    pub help_term: Option<&'static str>,
    /// Its `--help` text, one string per line as printed.
    pub help: &'static [&'static str],
    /// Its paragraph in the manual page.
    pub doc: &'static str,
}

impl Opt {
    /// Whether argument `arg` names this option (`-f`, `--metrics-file`).
    pub fn is(&self, arg: &str) -> bool {
        match arg.strip_prefix("--") {
            Some(l) => self.long == Some(l),
            None => {
                let mut c = arg.chars();
                c.next() == Some('-') && c.next() == self.short && c.next().is_none()
            }
        }
    }

    /// How messages name it: `-f` or `--restart-timeout`.
    pub fn name(&self) -> String {
        match (self.long, self.short) {
            (Some(l), _) => format!("--{l}"),
            (None, Some(s)) => format!("-{s}"),
            (None, None) => String::new(),
        }
    }

    /// The option column of `--help`: `-h, --help`, `-f PFILE`.
    fn term(&self) -> String {
        if let Some(t) = self.help_term {
            return t.to_owned();
        }
        let names = match (self.short, self.long) {
            (Some(s), Some(l)) => format!("-{s}, --{l}"),
            _ => self.name(),
        };
        match self.value {
            Some(v) => format!("{names} {v}"),
            None => names,
        }
    }
}

/// Anything else a binary documents as a term and its text: an environment variable, an exit
/// status, a command.
#[derive(Debug, Clone, Copy)]
pub struct Item {
    pub term: &'static str,
    /// Its `--help` text, one string per line; empty when `--help` does not list it.
    pub help: &'static [&'static str],
    /// Its paragraph in the manual page.
    pub doc: &'static str,
}

/// One runtime binary.
#[derive(Debug, Clone, Copy)]
pub struct Program {
    pub name: &'static str,
    /// What it does, lower case, as `--help`'s first line ends (the manual's NAME line).
    pub about: &'static str,
    /// The usage lines (each after the name), and a note `--help` adds after one of them.
    pub usage: &'static [(&'static str, &'static str)],
    /// `--help`'s paragraph under the usage, one string per line; may be empty.
    pub intro: &'static [&'static str],
    /// The manual page's DESCRIPTION.
    pub description: &'static str,
    pub options: &'static [Opt],
    /// The words of `-c COMMAND` (padmin); each item's doc is its manual paragraph.
    pub commands: &'static [Item],
    pub environment: &'static [Item],
    pub exit_status: &'static [Item],
    /// The pages `--help` points to, in its last line.
    pub see: &'static [&'static str],
}

impl Program {
    /// The usage block printed after a usage error.
    pub fn usage(&self) -> String {
        let mut out = String::new();
        for (i, (line, _)) in self.usage.iter().enumerate() {
            let lead = if i == 0 { "usage: " } else { "       " };
            out.push_str(&format!("{lead}{} {line}\n", self.name));
        }
        out
    }

    /// The text of `--help`.
    pub fn help(&self) -> String {
        let mut out = format!("{}: {}\n\n", self.name, self.about);
        for (i, (line, note)) in self.usage.iter().enumerate() {
            let lead = if i == 0 { "usage: " } else { "       " };
            let note = if note.is_empty() {
                String::new()
            } else {
                format!("   {note}")
            };
            out.push_str(&format!("{lead}{} {line}{note}\n", self.name));
        }
        out.push_str(&format!("       {} --help | --version\n\n", self.name));
        for line in self.intro {
            out.push_str(line);
            out.push('\n');
        }
        if !self.intro.is_empty() {
            out.push('\n');
        }
        let options: Vec<(String, &[&str])> =
            self.options.iter().map(|o| (o.term(), o.help)).collect();
        section(&mut out, "Options", &options);
        let items = |items: &[Item]| -> Vec<(String, &'static [&'static str])> {
            items
                .iter()
                .filter(|i| !i.help.is_empty())
                .map(|i| (i.term.to_owned(), i.help))
                .collect()
        };
        section(&mut out, "Environment", &items(self.environment));
        section(&mut out, "Exit status", &items(self.exit_status));
        let see: Vec<String> = self.see.iter().map(|p| format!("{p}(1)")).collect();
        out.push_str(&format!("See {}.\n", see.join(" and ")));
        out
    }

    /// The option that argument `arg` names.
    pub fn option(&self, arg: &str) -> Option<&'static Opt> {
        self.options.iter().find(|o| o.is(arg))
    }
}

/// A `--help` section: its title, then each term with its text in a column three blanks right
/// of the longest term; continuation lines start at that column.
fn section(out: &mut String, title: &str, rows: &[(String, &[&str])]) {
    let width = rows.iter().map(|(t, _)| t.len()).max().unwrap_or(0) + 3;
    out.push_str(&format!("{title}:\n"));
    for (term, lines) in rows {
        for (i, line) in lines.iter().enumerate() {
            let head = if i == 0 { term.as_str() } else { "" };
            out.push_str(&format!("  {head:width$}{line}\n"));
        }
    }
    out.push('\n');
}

const HELP: Opt = Opt {
    short: Some('h'),
    long: Some("help"),
    value: None,
    help_term: None,
    help: &["print this help and exit"],
    doc: "Print the help text and exit.",
};

const VERSION: Opt = Opt {
    short: Some('V'),
    long: Some("version"),
    value: None,
    help_term: None,
    help: &["print the version and exit"],
    doc: "Print the version (with the git commit it was built from, when known) and exit.",
};

/// PCHECK_RUNTIME_DIR means the same to both programs.
const RUNTIME_DIR: Item = Item {
    term: "PCHECK_RUNTIME_DIR",
    help: &[
        "directory of the control sockets, one per IPCKEY",
        "(default /run/pcheck)",
    ],
    doc: "Directory of the control sockets, one per IPCKEY (default /run/pcheck).",
};

/// pcheck's options.
pub mod pcheck {
    use super::Opt;

    pub const PFILE: Opt = Opt {
        short: Some('f'),
        long: None,
        value: Some("PFILE"),
        help_term: None,
        help: &["the pfile to run"],
        doc: "The pfile to run",
    };
    pub const RESTART_TIMEOUT: Opt = Opt {
        short: None,
        long: Some("restart-timeout"),
        value: Some("SECONDS"),
        help_term: None,
        help: &[
            "kill a restart script, with its process group, after",
            "SECONDS seconds (default 300)",
        ],
        doc: "Kill a restart script (with its process group) after SECONDS seconds [default: 300]",
    };
    pub const METRICS_FILE: Opt = Opt {
        short: None,
        long: Some("metrics-file"),
        value: Some("PATH"),
        help_term: None,
        help: &[
            "keep PATH (a *.prom file) current in the Prometheus text",
            "format, rewritten on every change of state",
        ],
        doc: "Keep PATH (a *.prom file in a directory only root or pcheck's user can write) \
              current in the Prometheus text format, rewritten on every change of state",
    };
    pub const HELP: Opt = super::HELP;
    pub const VERSION: Opt = super::VERSION;
}

pub const PCHECK: Program = Program {
    name: "pcheck",
    about: "keep the processes a pfile names alive",
    usage: &[(
        "-f PFILE [--restart-timeout SECONDS] [--metrics-file PATH]",
        "",
    )],
    intro: &[
        "Runs in the foreground until shut down (padmin -f PFILE -c shutdown). Logs to syslog,",
        "facility daemon, ident pcheck.",
    ],
    description: "pcheck watches the processes named by the PENT lines of PFILE, restarts them \
                  with their restart scripts, and enforces retry limits. It runs in the \
                  foreground until shut down (padmin -f PFILE -c shutdown, or a retry over \
                  whose action is exit or shutdown). It logs to syslog, facility daemon, ident pcheck.",
    options: &[
        pcheck::PFILE,
        pcheck::RESTART_TIMEOUT,
        pcheck::METRICS_FILE,
        pcheck::HELP,
        pcheck::VERSION,
    ],
    commands: &[],
    environment: &[
        RUNTIME_DIR,
        Item {
            term: "PCHECK_SYSLOG_SOCKET",
            help: &[
                "Unix datagram socket to log to instead of /dev/log; when no",
                "socket is reachable, messages go to standard error",
            ],
            doc: "Unix datagram socket to log to instead of /dev/log. When no socket is \
                  reachable, messages go to standard error.",
        },
    ],
    exit_status: &[
        Item {
            term: "0",
            help: &["shut down by padmin, or a retry over whose action is shutdown"],
            doc: "Shut down by padmin, or a retry over whose action is shutdown.",
        },
        Item {
            term: "1",
            help: &["a retry over whose action is exit"],
            doc: "A retry over whose action is exit: an init system or cluster manager \
                  watching pcheck sees a failure and can fail the service over.",
        },
        Item {
            term: "2",
            help: &[
                "not started: usage error, invalid or untrusted pfile, untrusted runtime",
                "directory, or IPCKEY held by a live pcheck",
            ],
            doc: "Refused to start: the pfile is invalid or untrusted, the runtime directory or \
                  metrics file is untrusted, or another live pcheck holds the same IPCKEY.",
        },
    ],
    see: &["pcheck", "padmin"],
};

/// padmin's options.
pub mod padmin {
    use super::Opt;

    pub const LIST: Opt = Opt {
        short: Some('l'),
        long: None,
        value: None,
        help_term: None,
        help: &["list the running pchecks, one block per pcheck"],
        doc: "List the running pchecks, one block per pcheck",
    };
    pub const PFILE: Opt = Opt {
        short: Some('f'),
        long: None,
        value: Some("PFILE"),
        help_term: None,
        help: &["the pfile of the pcheck to talk to"],
        doc: "The pfile of the pcheck to talk to",
    };
    pub const COMMAND: Opt = Opt {
        short: Some('c'),
        long: None,
        value: Some("COMMAND"),
        help_term: None,
        help: &[
            "show param, show pent, reload, stop, start or shutdown",
            "(`-c show pent` and `-c 'show pent'` are the same)",
        ],
        doc: "show param, show pent, reload, stop, start or shutdown (`-c show pent` and \
              `-c 'show pent'` are the same)",
    };
    pub const FORMAT: Opt = Opt {
        short: None,
        long: Some("format"),
        value: Some("text|json"),
        help_term: Some("--format json"),
        help: &[
            "-l, show param and show pent as one JSON document (shape",
            "psctl-padmin/1, schemas/padmin.schema.json); default text",
        ],
        doc: "text (default) or json: -l, show param and show pent as one JSON document \
              (psctl-padmin/1)",
    };
    pub const METRICS: Opt = Opt {
        short: None,
        long: Some("metrics"),
        value: None,
        help_term: None,
        help: &["every running pcheck's state in the Prometheus text format"],
        doc: "Print every running pcheck's state in the Prometheus text format",
    };
    pub const HELP: Opt = super::HELP;
    pub const VERSION: Opt = super::VERSION;
}

pub const PADMIN: Program = Program {
    name: "padmin",
    about: "show the state of running pchecks and send them commands",
    usage: &[
        ("[--format text|json] -l", ""),
        (
            "-f PFILE -c COMMAND [--format text|json]",
            "(-f and -c in either order)",
        ),
        ("--metrics", ""),
    ],
    intro: &[],
    description: "padmin lists the running pchecks, shows the parameters and entries of one, \
                  and sends it commands. The pcheck is named by its pfile, which gives the \
                  IPCKEY of its control socket.",
    options: &[
        padmin::LIST,
        padmin::PFILE,
        padmin::COMMAND,
        padmin::FORMAT,
        padmin::METRICS,
        padmin::HELP,
        padmin::VERSION,
    ],
    commands: &[
        Item {
            term: "show param",
            help: &[],
            doc: "Print the PARAM values and counters of the pcheck.",
        },
        Item {
            term: "show pent",
            help: &[],
            doc: "Print one block per entry. When no pcheck runs, the last state dump is \
                  shown, with its age.",
        },
        Item {
            term: "reload",
            help: &[],
            doc: "Re-read the pfile; entries in RETRY_OVER are reset and searched again. A \
                  pfile that no longer parses is refused and the running configuration stays.",
        },
        Item {
            term: "stop",
            help: &[],
            doc: "Pause monitoring.",
        },
        Item {
            term: "start",
            help: &[],
            doc: "Resume monitoring.",
        },
        Item {
            term: "shutdown",
            help: &[],
            doc: "Make the pcheck log \"Shutdown pcheck\" and exit 0.",
        },
    ],
    environment: &[
        RUNTIME_DIR,
        Item {
            term: "PCHECK_SYSLOG_SOCKET",
            help: &["Unix datagram socket to log commands to instead of /dev/log"],
            doc: "Unix datagram socket to log commands to instead of /dev/log. When no socket \
                  is reachable, messages go to standard error.",
        },
    ],
    exit_status: &[
        Item {
            term: "0",
            help: &["done"],
            doc: "Success.",
        },
        Item {
            term: "1",
            help: &["the pcheck refused the command"],
            doc: "The pcheck refused the command.",
        },
        Item {
            term: "2",
            help: &["no pcheck serves the pfile, or a usage error"],
            doc: "No pcheck serves that pfile (or a usage error).",
        },
    ],
    see: &["padmin", "pcheck"],
};

/// Both runtime binaries.
pub const PROGRAMS: [&Program; 2] = [&PCHECK, &PADMIN];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_recognised_by_their_spellings_only() {
        assert!(pcheck::PFILE.is("-f"));
        assert!(pcheck::RESTART_TIMEOUT.is("--restart-timeout"));
        assert!(pcheck::HELP.is("-h") && pcheck::HELP.is("--help"));
        assert!(!pcheck::PFILE.is("-ff") && !pcheck::PFILE.is("f") && !pcheck::PFILE.is("--f"));
        assert!(!pcheck::RESTART_TIMEOUT.is("-restart-timeout"));
        assert_eq!(
            PADMIN.option("--metrics").map(Opt::name),
            Some("--metrics".into())
        );
        assert!(PADMIN.option("--format=json").is_none());
    }

    #[test]
    fn names_are_unique_per_program() {
        for p in PROGRAMS {
            let mut names: Vec<String> = Vec::new();
            names.extend(
                p.options
                    .iter()
                    .filter_map(|o| o.short.map(|s| format!("-{s}"))),
            );
            names.extend(
                p.options
                    .iter()
                    .filter_map(|o| o.long.map(|l| format!("--{l}"))),
            );
            let n = names.len();
            names.sort();
            names.dedup();
            assert_eq!(names.len(), n, "{}", p.name);
        }
    }
}

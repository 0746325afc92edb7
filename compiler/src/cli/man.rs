//! `psctl man --out DIR`: write the manual pages of psctl (one per subcommand too), pcheck and
//! padmin. The runtime does not use clap, so its command lines are described here, from the
//! spec (sections 3 and 4), as `clap::Command` values.

use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, CommandFactory};
use clap_mangen::roff::{bold, roman, Roff};
use clap_mangen::Man;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory to write the pages into (created if missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

pub fn run(args: Args) -> u8 {
    match write_all(&args.out) {
        Ok(names) => {
            for n in names {
                println!("{}", args.out.join(n).display());
            }
            0
        }
        Err(e) => {
            eprintln!("psctl man: {}: {e}", args.out.display());
            2
        }
    }
}

/// Writes every page; returns their file names.
fn write_all(out: &Path) -> std::io::Result<Vec<String>> {
    std::fs::create_dir_all(out)?;
    let mut cmd = crate::cli::Cli::command().disable_help_subcommand(true);
    cmd.build();
    let mut names = Vec::new();
    let mut pages: Vec<clap::Command> = vec![cmd.clone()];
    pages.extend(cmd.get_subcommands().cloned());
    for page in pages {
        let man = Man::new(page);
        let mut buf = Vec::new();
        man.render(&mut buf)?;
        names.push(man.get_filename());
        std::fs::write(out.join(man.get_filename()), buf)?;
    }
    for (cmd, extra) in [pcheck(), padmin()] {
        let name = format!("{}.1", cmd.get_name());
        std::fs::write(out.join(&name), runtime_page(cmd, &extra)?)?;
        names.push(name);
    }
    Ok(names)
}

/// A section title and its paragraphs, each `(term, text)`; an empty term makes plain text.
type Sections = Vec<(&'static str, Vec<(&'static str, &'static str)>)>;

fn runtime_page(cmd: clap::Command, extra: &Sections) -> std::io::Result<Vec<u8>> {
    let man = Man::new(cmd);
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    let mut roff = Roff::new();
    for (title, paragraphs) in extra {
        roff.control("SH", [*title]);
        for (term, text) in paragraphs {
            if term.is_empty() {
                roff.control("PP", []).text([roman(*text)]);
            } else {
                roff.control("TP", [])
                    .text([bold(*term)])
                    .text([roman(*text)]);
            }
        }
    }
    roff.to_writer(&mut buf)?;
    Ok(dedup_preamble(buf))
}

/// Each `render_*` call starts with the same two-line string definition; keep the first.
fn dedup_preamble(page: Vec<u8>) -> Vec<u8> {
    const PREAMBLE: &str = ".ie \\n(.g .ds Aq \\(aq\n.el .ds Aq '\n";
    let text = String::from_utf8(page).expect("roff output is UTF-8");
    match text.split_once(PREAMBLE) {
        Some((head, rest)) => {
            format!("{head}{PREAMBLE}{}", rest.replace(PREAMBLE, "")).into_bytes()
        }
        None => text.into_bytes(),
    }
}

const SEE_ALSO_PCHECK: &str = "padmin(1), psctl(1), psctl-apply(1)";
const SEE_ALSO_PADMIN: &str = "pcheck(1), psctl(1), psctl-apply(1)";

fn env_section() -> (&'static str, Vec<(&'static str, &'static str)>) {
    (
        "ENVIRONMENT",
        vec![
            ("PCHECK_RUNTIME_DIR", "Directory of the control sockets, one per IPCKEY (default /run/pcheck)."),
            ("PCHECK_SYSLOG_SOCKET", "Unix datagram socket to log to instead of /dev/log. When no socket is reachable, messages go to standard error."),
        ],
    )
}

fn pcheck() -> (clap::Command, Sections) {
    let cmd = clap::Command::new("pcheck")
        .about("Keep the processes a pfile names alive")
        .long_about(
            "pcheck watches the processes named by the PENT lines of PFILE, restarts them with their \
             restart scripts, and enforces retry limits. It runs in the foreground until shut down \
             (padmin -c shutdown, or a retry over whose action is exit or shutdown). It logs to \
             syslog, facility daemon, ident pcheck.",
        )
        .override_usage("pcheck -f PFILE [--restart-timeout SECS] [--metrics-file PATH]")
        .version(env!("CARGO_PKG_VERSION"))
        .disable_version_flag(true)
        .disable_help_flag(true)
        .arg(Arg::new("pfile").short('f').value_name("PFILE").required(true).help("The pfile to run"))
        .arg(
            Arg::new("restart-timeout")
                .long("restart-timeout")
                .value_name("SECS")
                .help("Kill a restart script (with its process group) after SECS seconds [default: 300]"),
        )
        .arg(
            Arg::new("metrics-file")
                .long("metrics-file")
                .value_name("PATH")
                .help("Keep PATH (a *.prom file in a directory only root or pcheck's user can write) current in the Prometheus text format, rewritten on every change of state"),
        );
    let extra = vec![
        env_section(),
        (
            "EXIT STATUS",
            vec![
                ("0", "Shut down by padmin, or a retry over whose action is shutdown."),
                ("1", "A retry over whose action is exit: an init system or cluster manager watching pcheck sees a failure and can fail the service over."),
                ("2", "Refused to start: the pfile is invalid or untrusted, the runtime directory or metrics file is untrusted, or another live pcheck holds the same IPCKEY."),
            ],
        ),
        ("SEE ALSO", vec![("", SEE_ALSO_PCHECK)]),
    ];
    (cmd, extra)
}

fn padmin() -> (clap::Command, Sections) {
    let cmd = clap::Command::new("padmin")
        .about("Show the state of running pchecks and send them commands")
        .long_about(
            "padmin lists the running pchecks, shows the parameters and entries of one, and sends it \
             commands. The pcheck is named by its pfile, which gives the IPCKEY of its control socket.",
        )
        .override_usage("padmin [--format text|json] -l\npadmin -f PFILE -c COMMAND [--format text|json]\npadmin --metrics")
        .disable_version_flag(true)
        .disable_help_flag(true)
        .arg(
            Arg::new("list")
                .short('l')
                .action(ArgAction::SetTrue)
                .help("List the running pchecks, one block per pcheck"),
        )
        .arg(Arg::new("pfile").short('f').value_name("PFILE").help("The pfile of the pcheck to talk to"))
        .arg(
            Arg::new("command")
                .short('c')
                .value_name("COMMAND")
                .num_args(1..=2)
                .help("show param, show pent, reload, stop, start or shutdown"),
        )
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .help("text (default) or json: -l, show param and show pent as one JSON document (psctl-padmin/1)"),
        )
        .arg(
            Arg::new("metrics")
                .long("metrics")
                .action(ArgAction::SetTrue)
                .help("Print every running pcheck's state in the Prometheus text format"),
        );
    let extra = vec![
        (
            "COMMANDS",
            vec![
                ("show param", "Print the PARAM values and counters of the pcheck."),
                ("show pent", "Print one block per entry. When no pcheck runs, the last state dump is shown, with its age."),
                ("reload", "Re-read the pfile; entries in RETRY_OVER are reset and searched again. A pfile that no longer parses is refused and the running configuration stays."),
                ("stop", "Pause monitoring."),
                ("start", "Resume monitoring."),
                ("shutdown", "Make the pcheck log \"Shutdown pcheck\" and exit 0."),
            ],
        ),
        env_section(),
        (
            "EXIT STATUS",
            vec![
                ("0", "Success."),
                ("1", "The pcheck refused the command."),
                ("2", "No pcheck serves that pfile (or a usage error)."),
            ],
        ),
        ("SEE ALSO", vec![("", SEE_ALSO_PADMIN)]),
    ];
    (cmd, extra)
}

//! `psctl man --out DIR`: write the manual pages of psctl (one per subcommand too), pcheck and
//! padmin. The runtime does not use clap: its pages are built from the table its `--help` and
//! parsers also read (`crate::runtime_cli`), turned into `clap::Command` values here.

use std::path::{Path, PathBuf};

use clap::{Arg, ArgAction, CommandFactory};

use crate::runtime_cli::{Item, Program, PADMIN, PCHECK};
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
    for (program, see_also) in [(&PCHECK, SEE_ALSO_PCHECK), (&PADMIN, SEE_ALSO_PADMIN)] {
        let name = format!("{}.1", program.name);
        std::fs::write(out.join(&name), runtime_page(program, see_also)?)?;
        names.push(name);
    }
    Ok(names)
}

/// The page of a runtime binary: clap_mangen's sections for its command line, then its
/// commands, environment and exit statuses as tagged paragraphs.
fn runtime_page(program: &Program, see_also: &str) -> std::io::Result<Vec<u8>> {
    let man = Man::new(command(program));
    let mut buf = Vec::new();
    man.render_title(&mut buf)?;
    man.render_name_section(&mut buf)?;
    man.render_synopsis_section(&mut buf)?;
    man.render_description_section(&mut buf)?;
    man.render_options_section(&mut buf)?;
    let mut roff = Roff::new();
    for (title, items) in [
        ("COMMANDS", program.commands),
        ("ENVIRONMENT", program.environment),
        ("EXIT STATUS", program.exit_status),
    ] {
        if items.is_empty() {
            continue;
        }
        roff.control("SH", [title]);
        for Item { term, doc, .. } in items {
            roff.control("TP", [])
                .text([bold(*term)])
                .text([roman(*doc)]);
        }
    }
    roff.control("SH", ["SEE ALSO"]);
    roff.control("PP", []).text([roman(see_also)]);
    roff.to_writer(&mut buf)?;
    Ok(dedup_preamble(buf))
}

/// The binary's command line as clap describes one, for clap_mangen only (nothing parses
/// with it).
fn command(program: &Program) -> clap::Command {
    let usage: Vec<String> = program
        .usage
        .iter()
        .map(|(line, _)| format!("{} {line}", program.name))
        .collect();
    let mut about = program.about.to_owned();
    if let Some(first) = about.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    let mut cmd = clap::Command::new(program.name)
        .about(about)
        .long_about(program.description)
        .override_usage(usage.join("\n"))
        .version(env!("CARGO_PKG_VERSION"))
        .disable_version_flag(true)
        .disable_help_flag(true);
    for o in program.options {
        // Without clap's `string` feature an id is a `&'static str`; `-l` has no long name to
        // lend, and the few bytes live as long as this one-shot command anyway.
        let id: &'static str = Box::leak(o.name().into_boxed_str());
        let mut arg = Arg::new(id).help(o.doc);
        if let Some(s) = o.short {
            arg = arg.short(s);
        }
        if let Some(l) = o.long {
            arg = arg.long(l);
        }
        arg = match o.value {
            Some(v) => arg.value_name(v),
            None => arg.action(ArgAction::SetTrue),
        };
        cmd = cmd.arg(arg);
    }
    cmd
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

#[cfg(test)]
mod tests {
    use super::*;

    /// `text` as roff writes it (a hyphen is `\-`).
    fn roff(text: &str) -> String {
        text.replace('-', "\\-")
    }

    /// Every option of pcheck and padmin (their `--help` and parsers read the same table) is on
    /// its page, with its value name, under OPTIONS; every usage line is in the SYNOPSIS.
    #[test]
    fn every_runtime_option_is_on_its_page() {
        for (program, see) in [(&PCHECK, SEE_ALSO_PCHECK), (&PADMIN, SEE_ALSO_PADMIN)] {
            let page = String::from_utf8(runtime_page(program, see).unwrap()).unwrap();
            let section = |title: &str| {
                let start = page.find(&format!(".SH {title}\n")).expect(title);
                let rest = &page[start + 4..];
                rest[..rest.find(".SH ").unwrap_or(rest.len())].to_owned()
            };
            let options = section("OPTIONS");
            let paragraphs: Vec<&str> = options.split(".TP\n").skip(1).collect();
            assert_eq!(paragraphs.len(), program.options.len(), "{options}");
            for (o, p) in program.options.iter().zip(paragraphs) {
                let (head, doc) = p.split_once('\n').unwrap();
                if let Some(s) = o.short {
                    assert!(head.contains(&format!("\\fB\\-{s}\\fR")), "{head}");
                }
                if let Some(l) = o.long {
                    assert!(
                        head.contains(&format!("\\fB\\-\\-{}\\fR", roff(l))),
                        "{head}"
                    );
                }
                if let Some(v) = o.value {
                    assert!(head.contains(&format!("\\fI<{}>\\fR", roff(v))), "{head}");
                }
                assert!(!doc.trim().is_empty(), "{head}");
            }
            let synopsis = section("SYNOPSIS");
            for (line, _) in program.usage {
                let line = format!("\\fB{}\\fR {}", program.name, roff(line));
                assert!(synopsis.contains(&line), "{synopsis} lacks {line}");
            }
            for item in program.environment.iter().chain(program.exit_status) {
                assert!(
                    page.contains(&format!("\\fB{}\\fR", item.term)),
                    "{}",
                    item.term
                );
            }
        }
    }
}

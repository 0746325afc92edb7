//! Printing diagnostics in the chosen `--message-format` (to be completed by the check work:
//! human graphical/plain, short, json, github).

use crate::diagnostics::{render, Diagnostic};

#[derive(clap::ValueEnum, Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum MessageFormat {
    #[default]
    Human,
    Short,
    Json,
    Github,
}

/// Prints diagnostics to stderr (human, short) or stdout (json, github).
pub fn print_diagnostics(diags: &[Diagnostic], format: MessageFormat) {
    for d in diags {
        match format {
            MessageFormat::Short => eprintln!("{}", render::short(d)),
            _ => eprint!("{}", render::plain(d)),
        }
    }
}

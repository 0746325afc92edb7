//! `psctl explain CODE`: the long explanation of a diagnostic code. Without a code it lists
//! every code; an unknown code exits 2 and names the close matches.

use crate::diagnostics::codes;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// A diagnostic code such as `psctl::schema::unknown_key` (the `psctl::` prefix may be
    /// left out); without it, every code is listed
    pub code: Option<String>,
}

/// Codes whose id (or last segment) is close to `word`, best first.
fn close_matches(word: &str) -> Vec<&'static str> {
    let ids: Vec<&'static str> = codes::ALL.iter().map(|c| c.id).collect();
    crate::suggestion::ranked(word, &ids, 5)
}

pub fn run(args: Args) -> u8 {
    let Some(word) = args.code else {
        for c in codes::ALL {
            println!("{:<40} {}", c.id, c.summary);
        }
        return 0;
    };
    match codes::lookup(word.trim()) {
        Some(c) => {
            println!("{}: {}\n\n{}", c.id, c.summary, codes::explanation(c));
            0
        }
        None => {
            eprintln!("psctl explain: unknown code `{word}`");
            let close = close_matches(word.trim());
            if !close.is_empty() {
                eprintln!("close matches:");
                for id in close {
                    eprintln!("  {id}");
                }
            }
            eprintln!("(run `psctl explain` without a code to list them all)");
            2
        }
    }
}

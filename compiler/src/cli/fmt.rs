//! `psctl fmt [--check] [PATH...]`: rewrites pfiles in canonical form, keeping their comments.
//! A pfile with errors is reported and left alone; `-` formats stdin to stdout.

use std::io::{Read as _, Write as _};
use std::os::unix::fs::{MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use super::build::{display_name, io_diag, is_description, status_of};
use super::output::{print_diagnostics, MessageFormat};
use crate::diagnostics::{codes, Diagnostic};
use crate::emit::pfile::{comments_from_syntax, print, unrepresentable};
use crate::input::collect_paths;
use crate::model::SpanLookup as _;
use crate::span::SourceFile;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Pfiles or directories (searched for files named `pfile*`); `-` reads stdin
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Change nothing; exit 1 and list the files that are not in canonical form
    #[arg(long)]
    pub check: bool,
    /// How to print diagnostics
    #[arg(long, value_enum, default_value_t)]
    pub message_format: MessageFormat,
}

/// The outcome for one file.
enum Outcome {
    Canonical,
    /// Not canonical; the canonical text.
    Changed(String),
    Invalid,
}

/// Formats one pfile's bytes; diagnostics go to `diags`.
fn format(name: &str, bytes: &[u8], diags: &mut Vec<Diagnostic>) -> Outcome {
    let parsed = crate::pfile::parse_bytes(name, bytes, &crate::pfile::name_from_path(name));
    let (Some(svc), Some(syntax)) = (&parsed.service, &parsed.syntax) else {
        diags.extend(parsed.diagnostics);
        return Outcome::Invalid;
    };
    let problems = unrepresentable(svc);
    if !problems.is_empty() {
        for (loc, why) in problems {
            diags.push(
                Diagnostic::error(codes::EMIT_UNREPRESENTABLE, why)
                    .with_label(parsed.spans.span(loc), "cannot be reprinted as is")
                    .in_file(&parsed.source),
            );
        }
        return Outcome::Invalid;
    }
    // Warnings (such as a non-lower-case action) are what formatting fixes: not reported.
    let text = print(svc, &comments_from_syntax(syntax, &parsed.source), None);
    if text.as_bytes() == bytes {
        Outcome::Canonical
    } else {
        Outcome::Changed(text)
    }
}

/// A diagnostic pointing at the first line that formatting changes.
fn not_canonical(name: &str, original: &[u8], canonical: &str) -> Diagnostic {
    let source = SourceFile::new(name, String::from_utf8_lossy(original).into_owned());
    let old: Vec<&str> = source.text().split('\n').collect();
    let first = old
        .iter()
        .zip(canonical.split('\n'))
        .position(|(a, b)| *a != b)
        .unwrap_or(old.len().min(canonical.split('\n').count()) - 1);
    let line = source.line_span(first + 1);
    Diagnostic::error(
        codes::FMT_NOT_CANONICAL,
        format!("`{name}` is not in canonical form"),
    )
    .with_label(line, "first line that `psctl fmt` changes")
    .with_help("run `psctl fmt` on it")
    .in_file(&source)
}

/// Replaces `path`'s content atomically, keeping its mode and (when allowed) its owner; a
/// symlink is followed so that the link stays a link.
fn rewrite(path: &Path, text: &str) -> std::io::Result<()> {
    let target = std::fs::canonicalize(path)?;
    let meta = std::fs::metadata(&target)?;
    crate::emit::write::write_atomic(&target, text.as_bytes(), meta.permissions().mode() & 0o7777)?;
    let _ = std::os::unix::fs::chown(&target, Some(meta.uid()), Some(meta.gid()));
    Ok(())
}

/// Checks or rewrites one file: its diagnostics, and its name if it was (or would be) changed.
fn one_file(path: &Path, check: bool) -> (Vec<Diagnostic>, Option<String>) {
    let name = display_name(path);
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => return (vec![io_diag(path, &e)], None),
    };
    let mut diags = Vec::new();
    match format(&name, &bytes, &mut diags) {
        Outcome::Canonical | Outcome::Invalid => (diags, None),
        Outcome::Changed(text) if check => {
            diags.push(not_canonical(&name, &bytes, &text));
            (diags, Some(name))
        }
        Outcome::Changed(text) => match rewrite(path, &text) {
            Ok(()) => (diags, Some(name)),
            Err(e) => {
                let msg = format!("cannot write `{name}`: {e}");
                diags.push(Diagnostic::error(codes::IO, msg));
                (diags, None)
            }
        },
    }
}

pub fn run(args: Args) -> u8 {
    let mut diags = Vec::new();
    if args.paths.iter().any(|p| p.as_os_str() == "-") {
        if args.paths.len() > 1 {
            eprintln!("psctl fmt: `-` (stdin) cannot be combined with other paths");
            return 2;
        }
        let mut bytes = Vec::new();
        if let Err(e) = std::io::stdin().read_to_end(&mut bytes) {
            eprintln!("psctl fmt: cannot read stdin: {e}");
            return 2;
        }
        return match format("<stdin>", &bytes, &mut diags) {
            Outcome::Invalid => {
                print_diagnostics(&diags, args.message_format);
                1
            }
            Outcome::Canonical if !args.check => {
                let _ = std::io::stdout().write_all(&bytes);
                0
            }
            Outcome::Canonical => 0,
            Outcome::Changed(text) if args.check => {
                print_diagnostics(
                    &[not_canonical("<stdin>", &bytes, &text)],
                    args.message_format,
                );
                1
            }
            Outcome::Changed(text) => {
                let _ = std::io::stdout().write_all(text.as_bytes());
                0
            }
        };
    }
    for p in &args.paths {
        if is_description(p) {
            diags.push(Diagnostic::error(
                codes::IO,
                format!(
                    "`{}` is a service description; psctl fmt formats pfiles",
                    p.display()
                ),
            ));
        }
    }
    let paths = match collect_paths(&args.paths) {
        Ok(p) => p,
        Err(d) => {
            print_diagnostics(&[d], args.message_format);
            return 2;
        }
    };
    let files: Vec<&PathBuf> = paths.iter().filter(|p| !is_description(p)).collect();
    let checked = files.len();
    let check = args.check;
    let results = crate::par::par_map(&files, |path| one_file(path, check));
    let mut changed = Vec::new();
    for (d, name) in results {
        diags.extend(d);
        changed.extend(name);
    }
    print_diagnostics(&diags, args.message_format);
    let status = status_of(&diags);
    if args.check {
        if !changed.is_empty() {
            eprintln!(
                "psctl fmt: {} of {checked} pfile(s) not in canonical form",
                changed.len()
            );
        }
    } else if !changed.is_empty() {
        eprintln!(
            "psctl fmt: reformatted {} of {checked} pfile(s)",
            changed.len()
        );
    }
    status
}

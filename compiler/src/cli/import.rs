//! `psctl import PFILE [--to yaml|toml] [--name NAME] [-o FILE]`: the service description
//! equivalent to a legacy pfile, its comments carried over. Restart commands stay `script:`
//! references (import never guesses stop/start commands out of a script).

use std::io::{Read as _, Write as _};
use std::path::PathBuf;

use super::build::display_name;
use super::output::{print_diagnostics, MessageFormat};
use crate::diagnostics::{codes, Diagnostic};
use crate::emit::description::{self, Format, Options};
use crate::emit::pfile::comments_from_syntax;
use crate::pfile::PARAM_KEYS;

/// Where a repository keeps the schema, relative to its root.
const SCHEMA_IN_REPO: &str = "schemas/psctl.schema.json";

/// The schema named in the modeline when `--schema-url` is not given. With `-o FILE`: the
/// nearest `schemas/psctl.schema.json` in FILE's directory or above, as a path relative to
/// FILE (what editors resolve modelines against); else, and on stdout, the published URL.
pub fn default_schema(output: Option<&std::path::Path>) -> String {
    let published = crate::schema::PUBLISHED_URL.to_owned();
    let Some(dir) = output
        .and_then(|o| o.parent())
        .map(|d| {
            if d.as_os_str().is_empty() {
                std::path::Path::new(".")
            } else {
                d
            }
        })
        .and_then(|d| std::fs::canonicalize(d).ok())
    else {
        return published;
    };
    let mut up = String::new();
    for ancestor in dir.ancestors() {
        if ancestor.join(SCHEMA_IN_REPO).is_file() {
            return format!("{up}{SCHEMA_IN_REPO}");
        }
        up.push_str("../");
    }
    published
}

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum To {
    Yaml,
    Toml,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The pfile to convert (`-` reads stdin and needs --name)
    pub pfile: PathBuf,
    /// Output format (default: from the -o file's extension, else yaml)
    #[arg(long, value_enum)]
    pub to: Option<To>,
    /// Service name (default: the pfile's file name after `pfile_`)
    #[arg(long)]
    pub name: Option<String>,
    /// Write to FILE instead of stdout
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Path or URL of the JSON Schema named in the editor modeline (default: with -o, the
    /// nearest schemas/psctl.schema.json at or above the output, relative to it; else the
    /// published URL)
    #[arg(long = "schema-url", alias = "schema", value_name = "URL|PATH")]
    pub schema_url: Option<String>,
    /// How to print diagnostics
    #[arg(long, value_enum, default_value_t)]
    pub message_format: MessageFormat,
}

/// Whether `name` is a valid service name, `[a-z0-9][a-z0-9_-]*`.
fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

pub fn run(args: Args) -> u8 {
    let display = display_name(&args.pfile);
    let name = match &args.name {
        Some(n) => n.clone(),
        None => {
            let base = args
                .pfile
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("");
            match base.strip_prefix("pfile_") {
                Some(n) => n.to_owned(),
                None => {
                    eprintln!(
                        "psctl import: cannot tell the service name of `{display}` (its file name does not start with `pfile_`); pass --name NAME"
                    );
                    return 2;
                }
            }
        }
    };
    if !valid_name(&name) {
        eprintln!(
            "psctl import: `{name}` is not a valid service name ([a-z0-9][a-z0-9_-]*); pass --name NAME"
        );
        return 2;
    }
    let mut bytes = Vec::new();
    let read = if args.pfile.as_os_str() == "-" {
        std::io::stdin().read_to_end(&mut bytes).map(|_| ())
    } else {
        std::fs::read(&args.pfile).map(|b| bytes = b)
    };
    if let Err(e) = read {
        let d = Diagnostic::error(codes::IO, format!("cannot read `{display}`: {e}"));
        print_diagnostics(&[d], args.message_format);
        return 2;
    }
    let parsed = crate::pfile::parse_bytes(&display, &bytes, &name);
    let (Some(svc), Some(syntax)) = (&parsed.service, &parsed.syntax) else {
        print_diagnostics(&parsed.diagnostics, args.message_format);
        return 1;
    };
    let format = match (args.to, &args.output) {
        (Some(To::Toml), _) => Format::Toml,
        (Some(To::Yaml), _) => Format::Yaml,
        (None, Some(o)) if o.extension().is_some_and(|e| e == "toml") => Format::Toml,
        _ => Format::Yaml,
    };
    let mut comments = comments_from_syntax(syntax, &parsed.source);
    comments.strip_generated_header();
    let given = PARAM_KEYS.map(|k| parsed.spans.params.contains_key(k));
    let schema = args
        .schema_url
        .clone()
        .unwrap_or_else(|| default_schema(args.output.as_deref()));
    let text = description::print(
        svc,
        &comments,
        &Options {
            format,
            schema: &schema,
            given,
        },
    );
    match &args.output {
        None => {
            if std::io::stdout().write_all(text.as_bytes()).is_err() {
                return 2;
            }
        }
        Some(path) => {
            if let Err(e) = crate::emit::write::write_atomic(path, text.as_bytes(), 0o644) {
                eprintln!("psctl import: cannot write `{}`: {e}", path.display());
                return 2;
            }
        }
    }
    0
}

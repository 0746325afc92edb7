//! `psctl build [PATH...] -o OUTDIR`: every input to `pfile_<name>` plus generated restart
//! scripts, written only when every input is valid, each file atomically.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::output::{print_diagnostics, MessageFormat};
use crate::diagnostics::{self, codes, Diagnostic};
use crate::emit::pfile::{comments_from_syntax, Comments};
use crate::emit::plan::{plan, PlanInput};
use crate::emit::write::write_all;
use crate::model::{Service, SpanLookup};
use crate::span::SourceFile;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Service descriptions (.yaml, .yml, .toml, .json), pfiles, or directories to search
    #[arg(default_value = ".")]
    pub paths: Vec<PathBuf>,
    /// Directory to write pfiles and restart scripts into (created if missing)
    #[arg(short = 'o', long = "out-dir", value_name = "OUTDIR")]
    pub out_dir: PathBuf,
    /// Replace files in OUTDIR that psctl did not generate
    #[arg(long)]
    pub force: bool,
    /// How to print diagnostics
    #[arg(long, value_enum, default_value_t)]
    pub message_format: MessageFormat,
}

/// Extensions of service descriptions; any other file is a pfile (spec section 5).
const DESCRIPTION_EXTS: [&str; 4] = ["yaml", "yml", "toml", "json"];

pub(crate) fn is_description(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| DESCRIPTION_EXTS.contains(&e))
}

/// The path as it names a source in headers and messages: as given, without a leading `./`.
pub(crate) fn display_name(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_owned()
}

/// Expands directories (recursively, symlinked directories not followed) into the files that
/// `accept` takes, sorted; named files are kept as given. Each file appears once.
pub(crate) fn collect_paths(
    paths: &[PathBuf],
    accept: fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, Vec<Diagnostic>> {
    fn walk(dir: &Path, accept: fn(&Path) -> bool, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
        let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let path = e.path();
            let ty = e.file_type()?;
            if ty.is_dir() {
                walk(&path, accept, out)?;
            } else if (ty.is_file() || ty.is_symlink() && path.is_file()) && accept(&path) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| vec![io_diag(p, &e)])?;
        if meta.is_dir() {
            walk(p, accept, &mut out).map_err(|e| vec![io_diag(p, &e)])?;
        } else {
            out.push(p.clone());
        }
    }
    // Only several arguments can name one file twice (a directory and a file in it, say).
    if paths.len() > 1 {
        let mut seen = std::collections::HashSet::new();
        out.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    }
    Ok(out)
}

/// Files a directory search takes: `pfile*` and descriptions.
pub(crate) fn buildable(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with("pfile") || is_description(path)
}

pub(crate) fn io_diag(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(codes::IO, format!("cannot read `{}`: {e}", path.display()))
}

/// One loaded input: its service when valid, and everything needed to point into it.
pub(crate) struct Loaded {
    pub name: String,
    pub source: Arc<SourceFile>,
    pub service: Option<Service>,
    pub spans: Box<dyn SpanLookup + Send>,
    pub comments: Comments,
    pub diagnostics: Vec<Diagnostic>,
}

/// Loads one input. Until the description front-ends land, only pfiles are understood.
fn load(path: &Path) -> Result<Loaded, Vec<Diagnostic>> {
    let name = display_name(path);
    let bytes = std::fs::read(path).map_err(|e| vec![io_diag(path, &e)])?;
    if is_description(path) {
        let source = SourceFile::new(name.clone(), String::new());
        let d = Diagnostic::error(
            codes::IO,
            format!("`{name}`: service descriptions are not supported by this build yet"),
        );
        return Ok(Loaded {
            name,
            source,
            service: None,
            spans: Box::new(crate::pfile::PfileSpans::default()),
            comments: Comments::default(),
            diagnostics: vec![d],
        });
    }
    let parsed = crate::pfile::parse_bytes(&name, &bytes, &crate::pfile::name_from_path(&name));
    let mut comments = match (&parsed.syntax, &parsed.service) {
        (Some(syntax), Some(_)) => comments_from_syntax(syntax, &parsed.source),
        _ => Comments::default(),
    };
    comments.strip_generated_header();
    Ok(Loaded {
        name,
        source: parsed.source,
        service: parsed.service,
        spans: Box::new(parsed.spans),
        comments,
        diagnostics: parsed.diagnostics,
    })
}

/// 1 when any diagnostic is an error, 2 when one is an I/O error.
pub(crate) fn status_of(diags: &[Diagnostic]) -> u8 {
    if diags.iter().any(|d| d.code == codes::IO) {
        2
    } else if diags.iter().any(Diagnostic::is_error) {
        1
    } else {
        0
    }
}

pub fn run(args: Args) -> u8 {
    let mut paths = match collect_paths(&args.paths, buildable) {
        Ok(p) => p,
        Err(d) => {
            print_diagnostics(&d, args.message_format);
            return 2;
        }
    };
    // `psctl build . -o out` must not read back what it wrote: files found under OUTDIR by a
    // directory search are skipped (a file named explicitly is still taken).
    if let Ok(out) = std::fs::canonicalize(&args.out_dir) {
        paths.retain(|p| {
            args.paths.contains(p) || !std::fs::canonicalize(p).is_ok_and(|c| c.starts_with(&out))
        });
    }
    let mut diags = Vec::new();
    let mut loaded = Vec::new();
    for l in crate::emit::par::par_map(&paths, |p| load(p)) {
        match l {
            Ok(l) => {
                diags.extend(l.diagnostics.iter().cloned());
                loaded.push(l);
            }
            Err(d) => diags.extend(d),
        }
    }
    if paths.is_empty() {
        diags.push(Diagnostic::error(codes::IO, "no input found to build"));
    }
    let inputs: Vec<PlanInput<'_>> = loaded
        .iter()
        .filter_map(|l| {
            Some(PlanInput {
                source_name: l.name.clone(),
                service: l.service.as_ref()?,
                comments: l.comments.clone(),
                origin: Some((&l.source, l.spans.as_ref())),
            })
        })
        .collect();
    let planned = plan(&inputs);
    if let Err(errs) = &planned {
        diags.extend(errs.iter().cloned());
    }
    diagnostics::sort(&mut diags);
    let status = status_of(&diags);
    print_diagnostics(&diags, args.message_format);
    let files = match planned {
        Ok(files) if status == 0 => files,
        _ => {
            eprintln!("psctl build: nothing written");
            return status.max(1);
        }
    };
    match write_all(&args.out_dir, &files, args.force) {
        Ok(report) => {
            eprintln!(
                "psctl build: {} written, {} unchanged in {}",
                report.written.len(),
                report.unchanged.len(),
                args.out_dir.display()
            );
            0
        }
        Err(errs) => {
            print_diagnostics(&errs, args.message_format);
            status_of(&errs).max(1)
        }
    }
}

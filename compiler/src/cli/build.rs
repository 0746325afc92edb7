//! `psctl build [PATH...] -o OUTDIR`: every input to `pfile_<name>` plus generated restart
//! scripts, written only when every input is valid, each file atomically.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::output::{print_diagnostics, MessageFormat};
use crate::diagnostics::{self, codes, Diagnostic};
use crate::emit::pfile::{comments_from_syntax, Comments};
use crate::emit::plan::{plan, OutputFile, PlanInput};
use crate::emit::write::write_all;
use crate::input::{check_files, collect_paths, CheckOptions, Format, Input};
use crate::model::SpanLookup;

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

/// Whether `path` names a service description (by extension, spec section 5).
pub(crate) fn is_description(path: &Path) -> bool {
    Format::from_path(path) != Format::Pfile
}

/// The path as it names a source in headers and messages: as given, without a leading `./`.
pub(crate) fn display_name(path: &Path) -> String {
    let s = path.to_string_lossy();
    s.strip_prefix("./").unwrap_or(&s).to_owned()
}

pub(crate) fn io_diag(path: &Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(codes::IO, format!("cannot read `{}`: {e}", path.display()))
}

/// The comments of a pfile input, to carry into its canonical form.
fn pfile_comments(input: &Input) -> Comments {
    match (input.format, &input.service) {
        (Format::Pfile, Some(_)) => match crate::pfile::syntax::parse(input.source.text()) {
            Ok(syntax) => {
                let mut c = comments_from_syntax(&syntax, &input.source);
                c.strip_generated_header();
                c
            }
            Err(_) => Comments::default(),
        },
        _ => Comments::default(),
    }
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

/// What loading, checking and planning a set of inputs gave.
pub(crate) struct Compiled {
    /// Every diagnostic of the run, sorted.
    pub diagnostics: Vec<Diagnostic>,
    /// 0 clean, 1 problems, 2 I/O error.
    pub status: u8,
    /// The planned files, each with the `conf_dir` of the service it belongs to; `None` unless
    /// every input is valid.
    pub files: Option<Vec<(OutputFile, String)>>,
}

/// Loads every input (as found by [`collect_paths`]) with the cross-file rules (IPCKEY, dump file, pfile name unique), then
/// plans the output; shared by `build` and `apply`, so both accept and reject the same inputs.
pub(crate) fn compile(paths: &[PathBuf]) -> Compiled {
    let loaded = check_files(paths, &CheckOptions::default());
    let mut diags: Vec<Diagnostic> = loaded
        .iter()
        .flat_map(|l| l.diagnostics.iter().cloned())
        .collect();
    let (plan_diags, files) = plan_loaded(&loaded);
    diags.extend(plan_diags);
    diagnostics::sort(&mut diags);
    let status = status_of(&diags);
    Compiled {
        diagnostics: diags,
        files: files.filter(|_| status == 0),
        status,
    }
}

/// The plan inputs for the loaded inputs that are valid on their own; `comments` carries a
/// pfile's comments into its output (which costs a second parse, so `check` goes without).
/// `render`: the inputs will be printed, so their headers and comments are wanted (finding a
/// header's name canonicalizes the path and looks for `.git`; `check` needs neither).
fn plan_inputs(loaded: &[Input], render: bool) -> Vec<PlanInput<'_>> {
    loaded
        .iter()
        .filter(|l| !l.has_errors())
        .filter_map(|l| {
            Some(PlanInput {
                source_name: display_name(Path::new(&l.path)),
                header_name: if render {
                    crate::emit::header_name(Path::new(&l.path))
                } else {
                    String::new()
                },
                service: l.service.as_ref()?,
                comments: if render {
                    pfile_comments(l)
                } else {
                    Comments::default()
                },
                origin: Some((&l.source, l.spans.as_ref() as &dyn SpanLookup)),
            })
        })
        .collect()
}

/// What keeps the valid loaded inputs from being emitted (values a pfile cannot hold, two
/// services generating one file name): `check` reports these too, so that it passes exactly
/// what `build` accepts, without rendering anything.
pub(crate) fn emit_problems(loaded: &[Input]) -> Vec<Diagnostic> {
    crate::emit::plan::problems(&plan_inputs(loaded, false))
}

/// Plans the output of the loaded inputs that are valid on their own: what planning found
/// wrong, and when nothing was, the files with the `conf_dir` of the service each belongs to.
fn plan_loaded(loaded: &[Input]) -> (Vec<Diagnostic>, Option<Vec<(OutputFile, String)>>) {
    let inputs = plan_inputs(loaded, true);
    match plan(&inputs) {
        Err(errs) => (errs, None),
        Ok(files) => {
            let conf_dirs: HashMap<&str, &str> = inputs
                .iter()
                .map(|i| (i.source_name.as_str(), i.service.conf_dir_or_default()))
                .collect();
            let files = files
                .into_iter()
                .map(|f| {
                    let dir = conf_dirs
                        .get(f.source_name.as_str())
                        .copied()
                        .unwrap_or_default();
                    (f, dir.to_owned())
                })
                .collect();
            (Vec::new(), Some(files))
        }
    }
}

pub fn run(args: Args) -> u8 {
    let mut paths = match collect_paths(&args.paths) {
        Ok(p) => p,
        Err(d) => {
            print_diagnostics(&[d], args.message_format);
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
    if paths.is_empty() {
        let d = Diagnostic::error(codes::IO, "no input found to build");
        print_diagnostics(&[d], args.message_format);
        return 2;
    }
    let compiled = compile(&paths);
    print_diagnostics(&compiled.diagnostics, args.message_format);
    let Some(files) = compiled.files else {
        eprintln!("psctl build: nothing written");
        return compiled.status.max(1);
    };
    let files: Vec<OutputFile> = files.into_iter().map(|(f, _)| f).collect();
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

//! `psctl apply`: compile every input, install what changed under `--root`, reload pchecks.
//! The work is done by [`crate::apply`]; this module parses arguments and prints the result.

use std::path::PathBuf;

use crate::apply::{self, ApplyOptions, ApplyReport, InstallFile, PadminReloader};
use crate::cli::build::compile;
use crate::cli::output::{self, MessageFormat};
use crate::diagnostics::{codes, Diagnostic};
use crate::emit::plan::PFILE_MODE;
use crate::input::collect_paths;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Service descriptions or pfiles (files or directories); all of them are compiled, and
    /// nothing is installed unless every one is valid
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// The directory standing for `/` on the target host
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,
    /// Change nothing; exit 0 when in sync, 3 when something would change
    #[arg(long)]
    pub check: bool,
    /// Print a unified diff of every change
    #[arg(long)]
    pub diff: bool,
    /// Remove files installed by an earlier apply whose description is gone (only those still
    /// as psctl wrote them, and never the pfile of a running pcheck)
    #[arg(long)]
    pub prune: bool,
    /// Replace files at target paths that psctl did not write
    #[arg(long)]
    pub force: bool,
    /// Output format; `json` ends with a summary object for configuration-management tools
    #[arg(long, value_enum, default_value_t = MessageFormat::Human)]
    pub message_format: MessageFormat,
}

pub fn run(args: Args) -> u8 {
    let files = match compile_inputs(&args.paths, args.message_format) {
        Ok(files) => files,
        Err(diags) => {
            output::print_diagnostics(&diags, args.message_format);
            let io = diags.iter().any(|d| d.code == codes::IO);
            let mut report = ApplyReport::default();
            report.errors.push(format!(
                "{} problem(s) in the inputs; nothing was changed",
                diags.iter().filter(|d| d.is_error()).count()
            ));
            print_report(&report, &args);
            return if io { 2 } else { 1 };
        }
    };
    if !args.root.is_dir() {
        let mut report = ApplyReport::default();
        report.errors.push(format!(
            "--root {}: not an existing directory; nothing was changed",
            args.root.display()
        ));
        print_report(&report, &args);
        return 2;
    }
    let opts = ApplyOptions {
        root: args.root.clone(),
        check: args.check,
        diff: args.diff,
        prune: args.prune,
        force: args.force,
    };
    let report = apply::apply(&files, &opts, &PadminReloader::locate());
    print_report(&report, &args);
    if !report.errors.is_empty() {
        1
    } else if args.check && report.changed {
        3
    } else {
        0
    }
}

/// Compiles every input into the files to install, exactly as `build` does (same loading,
/// rules and planning), each placed in the `conf_dir` of its service. Warnings are printed
/// here; errors are returned and nothing is installed.
fn compile_inputs(
    paths: &[PathBuf],
    format: MessageFormat,
) -> Result<Vec<InstallFile>, Vec<Diagnostic>> {
    let found = collect_paths(paths).map_err(|d| vec![d])?;
    let compiled = compile(&found);
    let Some(files) = compiled.files else {
        return Err(compiled.diagnostics);
    };
    output::print_diagnostics(&compiled.diagnostics, format);
    Ok(files
        .into_iter()
        .map(|(f, conf_dir)| InstallFile {
            path: format!("{}/{}", conf_dir.trim_end_matches('/'), f.rel_path),
            pfile: f.mode == PFILE_MODE,
            bytes: f.bytes,
            mode: f.mode,
        })
        .collect())
}

/// The JSON summary object (see docs/hosts.md).
fn summary(r: &ApplyReport, check: bool, diff: bool) -> serde_json::Value {
    let mut summary = serde_json::json!({
        "summary": "apply",
        "changed": r.changed,
        "failed": !r.errors.is_empty(),
        "check": check,
        "written": r.written,
        "unchanged": r.unchanged,
        "stale": r.stale,
        "removed": r.removed,
        "kept": r.kept,
        "reloaded": r.reloaded,
        "not_running": r.not_running,
        "errors": r.errors,
        "warnings": r.warnings,
    });
    if diff {
        summary["diff"] = r.diff.clone().into();
        // Per file, in the shape of an Ansible module's `diff` (what its diff mode shows).
        let diffs: Vec<serde_json::Value> = r
            .diffs
            .iter()
            .map(|d| {
                serde_json::json!({
                    "before_header": d.path,
                    "after_header": d.path,
                    "before": d.before,
                    "after": d.after,
                })
            })
            .collect();
        summary["diffs"] = diffs.into();
    }
    summary
}

/// On a command-line error in `psctl apply ... --message-format json`, prints the JSON summary
/// with the error after clap's message, so that a configuration manager reading the last line
/// (`from_json`) always finds one. Returns whether it did.
pub fn usage_error_summary(argv: &[std::ffi::OsString], error: &clap::Error) -> bool {
    let args: Vec<String> = argv
        .iter()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let is_apply = args
        .iter()
        .find(|a| !a.starts_with('-'))
        .is_some_and(|a| a == "apply");
    let json = args
        .windows(2)
        .any(|w| w[0] == "--message-format" && w[1] == "json")
        || args.iter().any(|a| a == "--message-format=json");
    if !is_apply || !json || !error.use_stderr() {
        return false;
    }
    let mut report = ApplyReport::default();
    let text = error.render().to_string();
    let first = text.lines().next().unwrap_or("usage error").trim();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    report
        .errors
        .push(format!("usage: {first}; nothing was changed"));
    let check = args.iter().any(|a| a == "--check");
    println!("{}", summary(&report, check, false));
    true
}

fn print_report(r: &ApplyReport, args: &Args) {
    if args.message_format == MessageFormat::Json {
        println!("{}", summary(r, args.check, args.diff));
        return;
    }
    print!("{}", r.diff);
    let (write, remove) = if args.check {
        ("would write", "would remove")
    } else {
        ("wrote", "removed")
    };
    for p in &r.written {
        println!("{write} {p}");
    }
    for p in &r.stale {
        if !r.removed.contains(p) {
            println!("stale {p} (no longer generated; --prune removes it)");
        }
    }
    for p in &r.removed {
        println!("{remove} {p}");
    }
    for p in &r.kept {
        println!("kept {p} (stale; see the warning)");
    }
    for p in &r.reloaded {
        println!("reloaded the pcheck of {p}");
    }
    for p in &r.not_running {
        println!("no running pcheck serves {p}; nothing to reload");
    }
    for w in &r.warnings {
        if args.message_format == MessageFormat::Github {
            println!("::warning title=psctl apply::{}", output::github_escape(w));
        } else {
            eprintln!("warning: {w}");
        }
    }
    for e in &r.errors {
        if args.message_format == MessageFormat::Github {
            println!("::error title=psctl apply::{}", output::github_escape(e));
        } else {
            eprintln!("error: {e}");
        }
    }
    if args.check {
        println!(
            "apply --check: {} to write, {} unchanged, {} to remove, {} error(s)",
            r.written.len(),
            r.unchanged.len(),
            r.removed.len(),
            r.errors.len()
        );
    } else {
        println!(
            "apply: {} written, {} unchanged, {} removed, {} reloaded, {} error(s)",
            r.written.len(),
            r.unchanged.len(),
            r.removed.len(),
            r.reloaded.len(),
            r.errors.len()
        );
    }
}

//! Finding and loading inputs: paths and directories to files, bytes to a checked [`Service`]
//! whatever the format, and whole runs with the cross-file and host rules.

// `Result<_, Diagnostic>` is the agreed API shape (the emit helper uses it); the error path
// runs once per run at most, so the size of the error does not matter.
#![allow(clippy::result_large_err)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::diagnostics::{codes, Diagnostic};
use crate::frontend::{self, SpanTable};
use crate::model::{Service, SpanLookup};
use crate::pfile::{self, PfileSpans};
use crate::rules;
use crate::span::{self, SourceFile};

/// Inputs larger than this are refused (a log or core dump picked up by mistake).
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pfile,
    Yaml,
    Toml,
    Json,
}

impl Format {
    /// By extension (spec section 5); anything else is a pfile.
    pub fn from_path(path: &Path) -> Format {
        match path.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => Format::Yaml,
            Some("toml") => Format::Toml,
            Some("json") => Format::Json,
            _ => Format::Pfile,
        }
    }
}

/// One loaded input.
pub struct Input {
    /// The path as given (`-` for stdin).
    pub path: String,
    pub format: Format,
    pub source: Arc<SourceFile>,
    /// `Some` only when there is no error.
    pub service: Option<Service>,
    pub spans: Box<dyn SpanLookup + Send + Sync>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Input {
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// Options of one `check` run.
#[derive(Debug, Clone)]
pub struct CheckOptions {
    /// Check restart scripts on this host.
    pub host: bool,
    /// What stdin (`-`) holds.
    pub stdin_format: Format,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            host: false,
            stdin_format: Format::Pfile,
        }
    }
}

fn io_error(path: &Path, e: impl std::fmt::Display) -> Diagnostic {
    Diagnostic::error(codes::IO, format!("{}: {e}", path.display()))
}

/// Whether a file found in a directory is an input.
fn wanted(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.starts_with("pfile") || Format::from_path(path) != Format::Pfile
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io_error(dir, e))?
        .map(|e| e.map(|e| e.path()).map_err(|e| io_error(dir, e)))
        .collect::<Result<_, _>>()?;
    entries.sort();
    for p in entries {
        // Symlinked directories are not followed: no loops, no escaping the tree.
        let meta = std::fs::symlink_metadata(&p).map_err(|e| io_error(&p, e))?;
        if meta.is_dir() {
            // Hidden directories (.git, .venv...) hold no configuration, only time to waste.
            let hidden = p
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            if !hidden {
                walk(&p, out)?;
            }
        } else if wanted(&p) && std::fs::metadata(&p).is_ok_and(|m| m.is_file()) {
            out.push(p);
        }
    }
    Ok(())
}

/// Expands directories (recursively, sorted) into the inputs they hold; `-` stays as is. A
/// file reached twice (`dir dir/a.yaml`) is kept once, or it would clash with itself in the
/// cross-file rules.
pub fn collect_paths(paths: &[PathBuf]) -> Result<Vec<PathBuf>, Diagnostic> {
    let mut found = Vec::new();
    for p in paths {
        if p.as_os_str() == "-" {
            found.push(p.clone());
            continue;
        }
        let meta = std::fs::metadata(p).map_err(|e| io_error(p, e))?;
        if meta.is_dir() {
            walk(p, &mut found)?;
        } else {
            found.push(p.clone());
        }
    }
    let mut seen = std::collections::HashSet::new();
    found.retain(|p| seen.insert(std::fs::canonicalize(p).unwrap_or_else(|_| p.clone())));
    Ok(found)
}

/// Reads at most [`MAX_INPUT_BYTES`] (+1 to detect more).
fn read_limited(r: impl Read) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn failed(name: &str, format: Format, d: Diagnostic) -> Input {
    let source = SourceFile::new(name, "");
    Input {
        path: name.to_owned(),
        format,
        source: source.clone(),
        service: None,
        spans: Box::new(PfileSpans::default()),
        diagnostics: vec![d.with_span(span::Span::new(0, 0)).in_file(&source)],
    }
}

/// Reads and checks one file.
pub fn load_file(path: &Path) -> Input {
    let name = path.display().to_string();
    let format = Format::from_path(path);
    match std::fs::File::open(path).and_then(read_limited) {
        Ok(bytes) => load_bytes(&name, &bytes, format),
        Err(e) => failed(&name, format, io_error(path, e)),
    }
}

/// Reads and checks stdin as `format`.
pub fn load_stdin(format: Format) -> Input {
    match read_limited(std::io::stdin().lock()) {
        Ok(bytes) => load_bytes("-", &bytes, format),
        Err(e) => failed("-", format, io_error(Path::new("-"), e)),
    }
}

/// Checks one input held in memory; `name` names it in diagnostics.
pub fn load_bytes(name: &str, bytes: &[u8], format: Format) -> Input {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        let d = Diagnostic::error(
            codes::INPUT_TOO_LARGE,
            format!("the input is larger than {} MiB", MAX_INPUT_BYTES >> 20),
        );
        return failed(name, format, d);
    }
    let (text, bad) = span::decode(bytes);
    let source = SourceFile::new(name, text);
    if let Some(d) = pfile::text_problem(&source, bad) {
        return Input {
            path: name.to_owned(),
            format,
            source,
            service: None,
            spans: Box::new(SpanTable::default()),
            diagnostics: vec![d],
        };
    }
    if format == Format::Pfile {
        let service_name = if name == "-" {
            "stdin".to_owned()
        } else {
            pfile::name_from_path(name)
        };
        let p = pfile::parse_source(source, &service_name);
        return Input {
            path: name.to_owned(),
            format,
            source: p.source,
            service: p.service,
            spans: Box::new(p.spans),
            diagnostics: p.diagnostics,
        };
    }
    let doc = match format {
        Format::Yaml => frontend::yaml::parse(&source),
        Format::Toml => frontend::toml::parse(&source),
        _ => frontend::json::parse(&source),
    };
    let mut diagnostics = doc.diagnostics;
    let mut service = None;
    if let Some(value) = &doc.value {
        let outcome = frontend::check_document(value, &doc.spans, &source);
        diagnostics.extend(outcome.diagnostics);
        if !diagnostics.iter().any(Diagnostic::is_error) {
            service = outcome.service;
        }
    }
    Input {
        path: name.to_owned(),
        format,
        source,
        service,
        spans: Box::new(doc.spans),
        diagnostics,
    }
}

/// Loads every input of a run (files in parallel), then applies the cross-file rules and, with
/// `opts.host`, the host rules.
pub fn check_all(paths: &[PathBuf], opts: &CheckOptions) -> Result<Vec<Input>, Diagnostic> {
    Ok(check_files(&collect_paths(paths)?, opts))
}

/// [`check_all`] for files already found by [`collect_paths`] (`-` is stdin).
pub fn check_files(files: &[PathBuf], opts: &CheckOptions) -> Vec<Input> {
    // Files are independent: load them on all cores (one `-` at most, read where it falls).
    let mut inputs = crate::par::par_map(files, |f| {
        if f.as_os_str() == "-" {
            load_stdin(opts.stdin_format)
        } else {
            load_file(f)
        }
    });
    rules::cross::check(&mut inputs);
    if opts.host {
        for input in &mut inputs {
            let found = rules::host::check(input);
            input.diagnostics.extend(found);
        }
    }
    inputs
}

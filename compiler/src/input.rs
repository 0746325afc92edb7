//! Finding and loading inputs: paths and directories to files, bytes to a checked [`Service`]
//! whatever the format, and whole runs with the cross-file and host rules.

// `Result<_, Diagnostic>` is the agreed API shape (the emit helper uses it); the error path
// runs once per run at most, so the size of the error does not matter.
#![allow(clippy::result_large_err)]

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::diagnostics::{codes, Diagnostic};
use crate::frontend::{self, LazySpans, SpanTable};
pub use crate::loaded::{Format, Input};
use crate::pfile::{self, PfileSpans};
use crate::rules;
use crate::span::{self, SourceFile};
use crate::spans::SpanReader;

/// Inputs larger than this are refused (a log or core dump picked up by mistake).
pub const MAX_INPUT_BYTES: u64 = 16 << 20;

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

/// The inputs under `dir`, sorted. Hidden entries (`.git`, `.venv`...) and what `.gitignore`,
/// `.ignore` and git's exclude files ignore are skipped (as git and ripgrep do: `target/` is
/// not configuration), also outside a git repository; symlinks are not followed (no loops, no
/// escaping the tree).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), Diagnostic> {
    let walker = ignore::WalkBuilder::new(dir)
        .hidden(true)
        .git_ignore(true)
        .git_exclude(true)
        .git_global(false)
        .require_git(false)
        .follow_links(false)
        .sort_by_file_path(|a, b| a.cmp(b))
        .build();
    for entry in walker {
        let entry = entry.map_err(|e| io_error(dir, e))?;
        let p = entry.path();
        let is_file = entry.file_type().is_some_and(|t| t.is_file());
        if is_file && wanted(p) {
            out.push(p.to_path_buf());
        }
    }
    Ok(())
}

/// Whether a file found by `psctl check` without paths is a service description or pfile.
/// A pfile: named `pfile*`, with a PARAM or PENT banner or an `IPCKEY` line (`pfile.rs` is
/// not one). A description: a YAML/TOML/JSON file with a top-level `processes` or `ipckey`
/// key, or a reference to psctl's schema, that is not itself a JSON Schema. Other files
/// (`Cargo.toml`, CI workflows, `.pre-commit-hooks.yaml`) are not psctl's to judge.
pub fn looks_like_input(path: &Path) -> bool {
    if !wanted(path) {
        return false;
    }
    let Ok(bytes) = std::fs::File::open(path).and_then(read_file_limited) else {
        return true; // let the load report why it cannot be read
    };
    let text = String::from_utf8_lossy(&bytes);
    let format = Format::from_path(path);
    if format == Format::Pfile {
        return text.lines().any(|l| {
            let l = l.trim_start_matches([' ', '\t', '\u{feff}']);
            l.starts_with("IPCKEY") || l.starts_with("##### PARAM") || l.starts_with("##### PENT")
        });
    }
    if text.contains("json-schema.org/") {
        return false;
    }
    if text.contains("psctl.schema.json") {
        return true;
    }
    let json = format == Format::Json;
    text.lines().any(|l| {
        let l = if json {
            l.trim_start_matches([' ', '\t', '{', ','])
        } else {
            l
        };
        let l = l.trim_start_matches(['"', '\'', '[']);
        ["processes", "ipckey"].iter().any(|k| {
            l.strip_prefix(k).is_some_and(|r| {
                r.starts_with(']')
                    || r.trim_start_matches(['"', '\'', ' ', '\t'])
                        .starts_with([':', '='])
            })
        })
    })
}

/// What `psctl check` takes with no path: the inputs under the current directory that
/// [`looks_like_input`], named relative to it.
pub fn collect_current_dir() -> Result<Vec<PathBuf>, Diagnostic> {
    let mut found = Vec::new();
    walk(Path::new("."), &mut found)?;
    Ok(found
        .into_iter()
        .filter(|p| looks_like_input(p))
        .map(|p| p.strip_prefix(".").map(Path::to_path_buf).unwrap_or(p))
        .collect())
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
    // One argument cannot reach a file twice (walks do not follow links). Otherwise a file is
    // known by its device and inode: one stat, where canonicalizing reads every component.
    if paths.len() > 1 {
        use std::os::unix::fs::MetadataExt;
        let mut seen = std::collections::HashSet::new();
        found.retain(|p| match std::fs::metadata(p) {
            Ok(m) => seen.insert((m.dev(), m.ino())),
            Err(_) => true,
        });
    }
    Ok(found)
}

/// Reads at most [`MAX_INPUT_BYTES`] (+1 to detect more).
fn read_limited(r: impl Read) -> std::io::Result<Vec<u8>> {
    read_limited_sized(r, 0)
}

/// [`read_limited`] into a buffer sized for `hint` bytes (a file's length): one allocation and
/// one read for a regular file, not a buffer grown from nothing.
fn read_limited_sized(r: impl Read, hint: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::with_capacity(hint.min(MAX_INPUT_BYTES) as usize + 1);
    r.take(MAX_INPUT_BYTES + 1).read_to_end(&mut bytes)?;
    Ok(bytes)
}

fn read_file_limited(f: std::fs::File) -> std::io::Result<Vec<u8>> {
    let hint = f.metadata().map_or(0, |m| m.len());
    read_limited_sized(f, hint)
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
    match std::fs::File::open(path).and_then(read_file_limited) {
        Ok(bytes) => load_owned(&name, bytes, format),
        Err(e) => failed(&name, format, io_error(path, e)),
    }
}

/// Reads and checks stdin as `format`.
pub fn load_stdin(format: Format) -> Input {
    match read_limited(std::io::stdin().lock()) {
        Ok(bytes) => load_owned("-", bytes, format),
        Err(e) => failed("-", format, io_error(Path::new("-"), e)),
    }
}

/// Checks one input held in memory; `name` names it in diagnostics.
pub fn load_bytes(name: &str, bytes: &[u8], format: Format) -> Input {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return too_large(name, format);
    }
    load_owned(name, bytes.to_vec(), format)
}

fn too_large(name: &str, format: Format) -> Input {
    let d = Diagnostic::error(
        codes::INPUT_TOO_LARGE,
        format!("the input is larger than {} MiB", MAX_INPUT_BYTES >> 20),
    );
    failed(name, format, d)
}

/// [`load_bytes`] taking the bytes (valid UTF-8 becomes the text without a copy: a copy
/// doubles the peak memory of a large input).
fn load_owned(name: &str, bytes: Vec<u8>, format: Format) -> Input {
    if bytes.len() as u64 > MAX_INPUT_BYTES {
        return too_large(name, format);
    }
    let (text, bad) = span::decode_owned(bytes);
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
    let mut unclean = false;
    if source.text().len() >= frontend::stream::STREAM_FROM {
        match load_streamed(name, &source, format) {
            Streamed::Done(input) => return input,
            Streamed::Unclean => unclean = true,
            Streamed::Left => {}
        }
    }
    // A YAML or JSON file that reads cleanly is read without spans, read when first asked
    // (a large TOML file is read so by `load_streamed`).
    let quick = match format {
        _ if unclean => None, // the quick read has just failed on it
        Format::Yaml => frontend::yaml::value_only(&source),
        Format::Json => frontend::json::value_only(&source),
        _ => None,
    };
    let (value, spans, mut diagnostics) = match quick.zip(span_reader(format)) {
        Some((v, read)) => (Some(v), LazySpans::later(source.clone(), read), Vec::new()),
        None => {
            let doc = match format {
                Format::Yaml => frontend::yaml::parse(&source),
                // The streaming reader has just given up on it: `toml` reads it.
                Format::Toml if unclean => frontend::toml::parse_tree(&source),
                Format::Toml => frontend::toml::parse(&source),
                _ => frontend::json::parse(&source),
            };
            (doc.value, LazySpans::ready(doc.spans), doc.diagnostics)
        }
    };
    let mut service = None;
    if let Some(value) = value {
        let outcome = frontend::check_document(value, &spans, &source);
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
        spans: Box::new(spans),
        diagnostics,
    }
}

/// How the spans of a description read quickly (without them) are read when first asked.
fn span_reader(format: Format) -> Option<SpanReader> {
    match format {
        Format::Yaml => Some(frontend::yaml::spans_of),
        Format::Json => Some(frontend::json_spans::spans_of),
        Format::Toml => Some(frontend::toml_stream::spans_of),
        Format::Pfile => None,
    }
}

/// What reading a large file entry by entry came to (returned once per file: its size does
/// not matter).
#[allow(clippy::large_enum_variant)]
pub enum Streamed {
    /// The file is loaded.
    Done(Input),
    /// It does not read cleanly (the quick read of [`load_bytes`] would fail too).
    Unclean,
    /// An entry or the document has something to report: left to [`load_bytes`].
    Left,
}

/// A large description read entry by entry (`frontend::stream`). A document that
/// had no entry to take ahead (no `processes` list of two or more) was read whole after all,
/// and is checked as any other, not read again.
pub fn load_streamed(name: &str, source: &std::sync::Arc<SourceFile>, format: Format) -> Streamed {
    let read = match format {
        Format::Yaml => frontend::yaml::value_streamed,
        Format::Json => frontend::json::value_streamed,
        Format::Toml => frontend::toml_stream::value_streamed,
        Format::Pfile => return Streamed::Left,
    };
    let Some(spans_of) = span_reader(format) else {
        return Streamed::Left;
    };
    let spans = LazySpans::later(source.clone(), spans_of);
    let mut entries = frontend::stream::Entries::new(&spans, source);
    let Some(doc) = read(source, &mut entries) else {
        return if entries.gave_up() {
            Streamed::Left
        } else {
            Streamed::Unclean
        };
    };
    let outcome = match entries.finish() {
        None => frontend::check_document(doc, &spans, source),
        Some(taken) => match frontend::stream::check(doc, taken, &spans, source) {
            Some(outcome) => outcome,
            None => return Streamed::Left,
        },
    };
    let ok = !outcome.diagnostics.iter().any(Diagnostic::is_error);
    Streamed::Done(Input {
        path: name.to_owned(),
        format,
        source: source.clone(),
        service: outcome.service.filter(|_| ok),
        spans: Box::new(spans),
        diagnostics: outcome.diagnostics,
    })
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

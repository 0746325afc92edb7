//! One input after loading: its text, where its parts stand, the service it describes and what
//! was found wrong with it. Below both `input` (which loads inputs) and the rules that look
//! across inputs or at the host (`rules::cross`, `rules::host`), so neither imports the other.

use std::path::Path;
use std::sync::Arc;

use crate::diagnostics::Diagnostic;
use crate::model::{Service, SpanLookup};
use crate::span::SourceFile;

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

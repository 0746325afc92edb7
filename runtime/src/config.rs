//! Reading a pfile with the compiler's own parser (no second grammar), rendering its
//! diagnostics the way `psctl check` does in plain form.

use psctl::diagnostics::{render, Severity};
use psctl::model::Service;

/// A pfile that parsed, with its warnings rendered (possibly empty).
pub struct Loaded {
    pub service: Service,
    pub warnings: String,
}

/// `Err` holds the rendered diagnostics (or the I/O error) to print.
pub fn load(path: &str) -> Result<Loaded, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("error: cannot read {path}: {e}\n"))?;
    let parsed = psctl::pfile::parse_bytes(path, &bytes, &psctl::pfile::name_from_path(path));
    let text: String = parsed.diagnostics.iter().map(render::plain).collect();
    match parsed.service {
        Some(service)
            if !parsed
                .diagnostics
                .iter()
                .any(|d| d.severity == Severity::Error) =>
        {
            Ok(Loaded {
                service,
                warnings: text,
            })
        }
        _ => Err(text),
    }
}

/// The pfile path as pcheck and padmin show and compare it: absolute, as given otherwise.
pub fn absolute(path: &str) -> String {
    std::path::absolute(path).map_or_else(|_| path.to_owned(), |p| p.display().to_string())
}

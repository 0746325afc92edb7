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

/// The pfile path as pcheck registers it and padmin looks it up: canonical (absolute, no `.`,
/// `..` or symbolic links), so that every spelling of one file (`../bin/pfile_x` from another
/// directory, a link to it) reaches the same pcheck. A file that does not exist keeps its name
/// under its canonical directory; failing that, the path is made absolute as given.
pub fn absolute(path: &str) -> String {
    let p = std::path::Path::new(path);
    if let Ok(c) = std::fs::canonicalize(p) {
        return c.display().to_string();
    }
    let parent = match p.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    match (std::fs::canonicalize(parent), p.file_name()) {
        (Ok(dir), Some(name)) => dir.join(name).display().to_string(),
        _ => std::path::absolute(p).map_or_else(|_| path.to_owned(), |a| a.display().to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::absolute;

    #[test]
    fn every_spelling_of_a_file_is_one_path() {
        let d = tempfile::tempdir().unwrap();
        let base = std::fs::canonicalize(d.path()).unwrap();
        std::fs::create_dir_all(base.join("bin")).unwrap();
        std::fs::create_dir_all(base.join("sub")).unwrap();
        std::fs::write(base.join("bin/pfile_x"), "x").unwrap();
        std::os::unix::fs::symlink(base.join("bin"), base.join("link")).unwrap();
        let want = base.join("bin/pfile_x").display().to_string();
        for spelling in ["sub/../bin/pfile_x", "link/pfile_x", "bin/./pfile_x"] {
            assert_eq!(absolute(base.join(spelling).to_str().unwrap()), want);
        }
        // A missing file keeps its name under its canonical directory.
        let missing = base.join("link/../sub/pfile_none");
        assert_eq!(
            absolute(missing.to_str().unwrap()),
            base.join("sub/pfile_none").display().to_string()
        );
    }
}

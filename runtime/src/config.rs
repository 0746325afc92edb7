//! Reading a pfile with the compiler's own parser (no second grammar), rendering its
//! diagnostics the way `psctl check` does in plain form.
//!
//! pcheck runs as root, so it reads its pfile through the trust walk (spec 6): a pfile that
//! anyone but root or pcheck's own user could have written, or one in such a directory, is
//! refused before a byte of it is read. And neither pcheck nor padmin quotes a file's text
//! (source lines, or messages that embed its words) unless it parses as a pfile and belongs to
//! root or the caller: `pcheck -f /etc/shadow` must not print the file (finding 6 of issue 8).

use std::io::Read;
use std::os::unix::fs::MetadataExt;

use psctl::diagnostics::{render, Diagnostic, Severity};
use psctl::model::Service;
use psctl::trust::{self, Kind};

/// pfiles are small text files; a bigger one is refused unread (the compiler's limit).
const MAX_PFILE_BYTES: u64 = 16 << 20;

/// A pfile that parsed, with its warnings rendered (possibly empty). From [`load`], the
/// entries' trusted user names are resolved to uids (through /etc/passwd, no NSS).
pub struct Loaded {
    pub service: Service,
    pub warnings: String,
}

/// Why a pfile was not loaded. Its `Display` is the text to print (lines ending in `\n`),
/// with the path escaped for the terminal.
#[derive(Debug)]
pub enum LoadError {
    /// Missing or unreadable; `why` is the reason (an I/O error, or the trust walk's word on
    /// a missing directory).
    Unreadable {
        shown: String,
        why: String,
    },
    /// The trust walk refused the file or a directory above it.
    Untrusted {
        shown: String,
        why: trust::Untrusted,
    },
    TooLarge {
        shown: String,
    },
    /// The pfile has errors: its diagnostics, rendered (quoted or not, see [`render_all`]).
    Invalid(String),
    /// A trusted user's name could not be resolved.
    Users {
        shown: String,
        why: crate::discovery::UsersError,
    },
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LoadError::Unreadable { shown, why } => writeln!(f, "error: cannot read {shown}: {why}"),
            LoadError::Untrusted { shown, why } => writeln!(
                f,
                "error: refusing the pfile {shown}: {why}\n  = help: pcheck reads only a pfile that root or its own user owns and nobody else can write, in directories likewise"
            ),
            LoadError::TooLarge { shown } => {
                writeln!(f, "error: {shown} is larger than 16 MiB; it is not a pfile")
            }
            LoadError::Invalid(diags) => f.write_str(diags),
            LoadError::Users { shown, why } => writeln!(f, "error: {shown}: {why}"),
        }
    }
}

impl std::error::Error for LoadError {}

fn unreadable(shown: &str, why: impl std::fmt::Display) -> LoadError {
    LoadError::Unreadable {
        shown: shown.to_owned(),
        why: why.to_string(),
    }
}

/// Reads the pfile pcheck runs, through the trust walk.
pub fn load(path: &str) -> Result<Loaded, LoadError> {
    let me = rustix::process::geteuid().as_raw();
    let shown = psctl::escape::for_display(path).into_owned();
    let abs = std::path::absolute(path).map_err(|e| unreadable(&shown, e))?;
    let opened = trust::open(&abs, me, Kind::File).map_err(|u| {
        if u.is_missing() && u.path() == abs {
            // The reason alone: `Untrusted` names the path, which would say it twice.
            unreadable(&shown, std::io::Error::from(rustix::io::Errno::NOENT))
        } else if u.is_missing() {
            unreadable(&shown, u)
        } else {
            LoadError::Untrusted {
                shown: shown.clone(),
                why: u,
            }
        }
    })?;
    let fd = opened
        .reopen(rustix::fs::OFlags::RDONLY)
        .map_err(|u| unreadable(&shown, u))?;
    let bytes = read_bounded(std::fs::File::from(fd), &shown)?;
    let mut loaded = parse(path, &bytes, opened.stat.st_uid)?;
    crate::discovery::resolve_users(&mut loaded.service, || {
        std::fs::read_to_string("/etc/passwd")
    })
    .map_err(|why| LoadError::Users {
        shown: shown.clone(),
        why,
    })?;
    Ok(loaded)
}

/// Reads a pfile for padmin, which needs only its IPCKEY and dump path and holds no privilege
/// of its own: no trust walk, but the same rule on what may be quoted.
pub fn load_for_admin(path: &str) -> Result<Loaded, LoadError> {
    let shown = psctl::escape::for_display(path).into_owned();
    let f = std::fs::File::open(path).map_err(|e| unreadable(&shown, e))?;
    let owner = f.metadata().map_err(|e| unreadable(&shown, e))?.uid();
    let bytes = read_bounded(f, &shown)?;
    parse(path, &bytes, owner)
}

fn read_bounded(f: std::fs::File, shown: &str) -> Result<Vec<u8>, LoadError> {
    let mut bytes = Vec::new();
    f.take(MAX_PFILE_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| unreadable(shown, e))?;
    if bytes.len() as u64 > MAX_PFILE_BYTES {
        return Err(LoadError::TooLarge {
            shown: shown.to_owned(),
        });
    }
    Ok(bytes)
}

fn parse(path: &str, bytes: &[u8], owner: u32) -> Result<Loaded, LoadError> {
    let parsed = psctl::pfile::parse_bytes(path, bytes, &psctl::pfile::name_from_path(path));
    let errors = parsed
        .diagnostics
        .iter()
        .any(|d| d.severity == Severity::Error);
    let caller = rustix::process::getuid().as_raw();
    let quote = !errors && (owner == 0 || owner == caller);
    let mut diags = parsed.diagnostics.clone();
    psctl::diagnostics::sort(&mut diags);
    let text = render_all(&diags, quote);
    match parsed.service {
        Some(service) if !errors => Ok(Loaded {
            service,
            warnings: text,
        }),
        _ => Err(LoadError::Invalid(text)),
    }
}

/// Renders diagnostics in full when `quote`, else as code and position only: the messages of
/// a file that is not a pfile would quote its words.
pub fn render_all(diags: &[Diagnostic], quote: bool) -> String {
    if quote {
        return diags.iter().map(render::plain).collect();
    }
    let mut out = String::new();
    for d in diags {
        let at = match (d.file_name(), d.location()) {
            (Some(f), Some((s, _))) => {
                format!("{}:{}:{}", psctl::escape::for_display(f), s.line, s.column)
            }
            (Some(f), None) => psctl::escape::for_display(f).into_owned(),
            _ => String::new(),
        };
        // The code's summary is fixed text from the registry: it quotes nothing of the file.
        out.push_str(&format!(
            "{}[{}] at {at}: {}\n",
            d.severity.as_str(),
            d.code.id,
            d.code.summary
        ));
    }
    if !diags.is_empty() {
        out.push_str(
            "  = note: the file is not a valid pfile (or not one of yours), so its text is not shown; `psctl check FILE` shows the details to whoever may read it\n",
        );
    }
    out
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
    use super::*;

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

    #[test]
    fn a_file_over_16_mib_is_refused_unread() {
        let f = tempfile::tempfile().unwrap();
        f.set_len(MAX_PFILE_BYTES + 1).unwrap();
        let e = read_bounded(f, "/p").err().unwrap();
        assert_eq!(
            e.to_string(),
            "error: /p is larger than 16 MiB; it is not a pfile\n"
        );
    }

    #[test]
    fn a_file_that_is_not_a_pfile_is_not_quoted() {
        let shadow = b"root:$y$j9T$secret:19000:0:99999:7:::\nbob:!:19000::::::\n";
        let Err(LoadError::Invalid(err)) = parse("/etc/shadow", shadow, 0) else {
            panic!("not refused as an invalid pfile");
        };
        assert!(!err.contains("secret") && !err.contains("root") && !err.contains("bob"));
        assert!(err.contains("] at /etc/shadow:1:"), "{err}");
        assert!(err.contains("] at /etc/shadow:2:"), "{err}");
        // a pfile's warnings are quoted (owner root)
        let ok = parse("/p", b"IPCKEY 1\ncrond:-:1:1:Exit\n", 0)
            .ok()
            .unwrap();
        assert!(ok.warnings.contains("crond:-:1:1:Exit"), "{}", ok.warnings);
        // but not those of someone else's file
        let other = parse("/p", b"IPCKEY 1\ncrond:-:1:1:Exit\n", 54321)
            .ok()
            .unwrap();
        assert!(!other.warnings.contains("crond"), "{}", other.warnings);
    }
}

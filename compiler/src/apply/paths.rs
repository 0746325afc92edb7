//! Host paths as generated: absolute, plain names only (no `.`, `..` or control characters).
//! Where they lead under `--root` is the walk's business (`root.rs`).

use std::path::{Component, Path, PathBuf};

/// Checks that `host_path` is absolute and made only of plain names (no `.`, `..` or empty
/// parts), and returns it relative to `/`, ready to be joined to the root.
pub fn relative_host_path(host_path: &str) -> Result<PathBuf, String> {
    let path = Path::new(host_path);
    if host_path.chars().any(char::is_control) {
        return Err(format!(
            "{host_path:?}: control characters are not allowed in install paths"
        ));
    }
    if !path.is_absolute() {
        return Err(format!("{host_path}: install paths must be absolute"));
    }
    let mut rel = PathBuf::new();
    for c in path.components() {
        match c {
            Component::RootDir => {}
            Component::Normal(name) => rel.push(name),
            _ => {
                return Err(format!(
                    "{host_path}: `.` and `..` are not allowed in install paths"
                ))
            }
        }
    }
    if rel.as_os_str().is_empty() {
        return Err(format!("{host_path}: an install path must name a file"));
    }
    Ok(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_paths_must_be_absolute_and_plain() {
        assert_eq!(
            relative_host_path("/var/opt/x").unwrap(),
            PathBuf::from("var/opt/x")
        );
        assert!(relative_host_path("var/opt/x").is_err());
        assert!(relative_host_path("/var/../etc/passwd").is_err());
        assert!(relative_host_path("/var/./x").is_ok()); // std drops interior `.` itself
        assert!(relative_host_path("/").is_err());
        assert!(relative_host_path("/a\nb").is_err());
    }
}

//! Mapping host paths under `--root`, and refusing paths that would escape it.

use std::io;
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

/// Refuses `rel` (relative to the canonical `root`) when one of its existing components is a
/// symbolic link resolving outside `root`, dangling, or a non-directory where a directory is
/// needed. Components that do not exist yet are fine: they will be created as directories.
pub fn check_inside_root(root: &Path, rel: &Path, host_path: &str) -> Result<(), String> {
    let mut cur = root.to_path_buf();
    let count = rel.components().count();
    for (i, c) in rel.components().enumerate() {
        cur.push(c);
        let meta = match std::fs::symlink_metadata(&cur) {
            Ok(m) => m,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(format!(
                    "{host_path}: cannot inspect {}: {e}",
                    cur.display()
                ))
            }
        };
        let is_last = i + 1 == count;
        if meta.file_type().is_symlink() {
            let target = std::fs::canonicalize(&cur).map_err(|e| {
                format!(
                    "{host_path}: {} is a symbolic link that cannot be resolved ({e}); refusing to write through it",
                    cur.display()
                )
            })?;
            if !target.starts_with(root) {
                return Err(format!(
                    "{host_path}: {} is a symbolic link to {}, outside the root {}; refusing to write through it",
                    cur.display(),
                    target.display(),
                    root.display()
                ));
            }
            if !is_last && !target.is_dir() {
                return Err(format!("{host_path}: {} is not a directory", cur.display()));
            }
        } else if !is_last && !meta.is_dir() {
            return Err(format!("{host_path}: {} is not a directory", cur.display()));
        } else if is_last && !meta.is_file() {
            return Err(format!(
                "{host_path}: {} exists and is not a regular file",
                cur.display()
            ));
        }
    }
    Ok(())
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

    #[test]
    fn symlink_out_of_root_is_refused_and_inside_is_allowed() {
        let outside = tempfile::tempdir().unwrap();
        let root = tempfile::tempdir().unwrap();
        let root_c = std::fs::canonicalize(root.path()).unwrap();
        std::fs::create_dir_all(root_c.join("real")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root_c.join("out")).unwrap();
        std::os::unix::fs::symlink(root_c.join("real"), root_c.join("in")).unwrap();
        let err = check_inside_root(&root_c, Path::new("out/f"), "/out/f").unwrap_err();
        assert!(err.contains("outside the root"), "{err}");
        check_inside_root(&root_c, Path::new("in/f"), "/in/f").unwrap();
        check_inside_root(&root_c, Path::new("new/dir/f"), "/new/dir/f").unwrap();
        std::fs::write(root_c.join("file"), "x").unwrap();
        assert!(check_inside_root(&root_c, Path::new("file/f"), "/file/f").is_err());
        assert!(check_inside_root(&root_c, Path::new("real"), "/real").is_err());
    }
}

//! Host rules that `apply` always checks (spec section 5): every restart script a pfile names
//! exists under the root (or is installed by this run), is an executable regular file, is
//! owned by root or the caller, and is not group- or world-writable. Problems are warnings:
//! pcheck reports a failed restart itself, and the operator may install the script later.

use std::collections::BTreeSet;

use super::root::Root;
use super::InstallFile;
use crate::rules::script::{self as host, ScriptProblem};

/// Warnings about the restart scripts named by the pfiles in `files`, each looked up under the
/// root by the trust walk (links inside the tree followed, never out of it).
pub fn warnings(files: &[InstallFile], root: &Root) -> Vec<String> {
    let installed: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut out = Vec::new();
    for f in files.iter().filter(|f| f.pfile) {
        let parsed = crate::pfile::parse_bytes(&f.path, &f.bytes, "host-check");
        let Some(service) = parsed.service else {
            continue;
        };
        for p in &service.processes {
            let Some(script) = host::script_path(&p.restart) else {
                continue;
            };
            if installed.contains(script) || super::paths::relative_host_path(script).is_err() {
                continue;
            }
            // The first problem is enough for a warning line; `check --host` lists them all.
            let problem = match root.open_file(script) {
                Ok(o) if o.stat.st_mode & 0o111 == 0 => ScriptProblem::NotExecutable.describe(),
                Ok(_) => continue,
                Err(e) if e.is_missing() => {
                    let e = std::io::Error::from_raw_os_error(2); // ENOENT
                    ScriptProblem::Missing(e).describe()
                }
                Err(e) => format!("cannot be trusted: {e}"),
            };
            out.push(format!(
                "{}: restart script of {:?}: {script} {problem}",
                f.path, p.name
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn pfile(restart: &str) -> InstallFile {
        InstallFile {
            path: "/c/pfile_a".into(),
            bytes: format!("IPCKEY 0x1\ncrond:{restart}:0:1:continue\n").into_bytes(),
            mode: 0o644,
            pfile: true,
        }
    }

    #[test]
    fn missing_non_executable_and_writable_scripts_are_reported() {
        let tmp = tempfile::tempdir().unwrap();
        let r = tmp.path();
        std::fs::set_permissions(r, std::fs::Permissions::from_mode(0o755)).unwrap();
        std::fs::create_dir_all(r.join("s")).unwrap();
        let root = Root::open(r).unwrap();
        let w = |p: &[InstallFile]| warnings(p, &root);
        assert!(w(&[pfile("/s/missing.sh")])[0].contains("cannot be used"));
        std::fs::write(r.join("s/x.sh"), "#!/bin/sh\n").unwrap();
        let mode = |m| {
            std::fs::set_permissions(r.join("s/x.sh"), std::fs::Permissions::from_mode(m)).unwrap()
        };
        mode(0o644);
        assert!(w(&[pfile("/s/x.sh start")])[0].contains("not an executable file"));
        mode(0o777);
        assert!(w(&[pfile("/s/x.sh")])[0].contains("writable by group or others (mode 0777)"));
        mode(0o755);
        assert!(w(&[pfile("/s/x.sh start")]).is_empty());
        assert!(w(&[pfile("-")]).is_empty());
        // A script installed by the same run needs no check.
        let script = InstallFile {
            path: "/s/new.sh".into(),
            bytes: vec![],
            mode: 0o755,
            pfile: false,
        };
        assert!(w(&[pfile("/s/new.sh"), script]).is_empty());
    }
}

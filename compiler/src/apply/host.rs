//! Host rules that `apply` always checks (spec section 5): every restart script a pfile names
//! exists under the root (or is installed by this run), is an executable regular file, is
//! owned by root or the caller, and is not group- or world-writable. Problems are warnings:
//! pcheck reports a failed restart itself, and the operator may install the script later.

use std::collections::BTreeSet;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

use super::InstallFile;
use crate::model::Restart;

/// Warnings about the restart scripts named by the pfiles in `files`.
pub fn warnings(files: &[InstallFile], root: &Path) -> Vec<String> {
    let installed: BTreeSet<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let caller = caller_uid();
    let mut out = Vec::new();
    for f in files.iter().filter(|f| f.pfile) {
        let parsed = crate::pfile::parse_bytes(&f.path, &f.bytes, "host-check");
        let Some(service) = parsed.service else {
            continue;
        };
        for p in &service.processes {
            let Restart::Script(cmd) = &p.restart else {
                continue;
            };
            let Some(script) = cmd.split_whitespace().next() else {
                continue;
            };
            if installed.contains(script) {
                continue;
            }
            if let Some(problem) = script_problem(root, script, caller) {
                out.push(format!(
                    "{}: restart script of {:?}: {script} {problem}",
                    f.path, p.name
                ));
            }
        }
    }
    out
}

fn script_problem(root: &Path, script: &str, caller: Option<u32>) -> Option<String> {
    let rel = super::paths::relative_host_path(script).ok()?;
    let meta = match std::fs::metadata(root.join(rel)) {
        Ok(m) => m,
        Err(e) => return Some(format!("cannot be used: {e}")),
    };
    if !meta.is_file() {
        return Some("is not a regular file".to_owned());
    }
    if meta.mode() & 0o111 == 0 {
        return Some("is not executable".to_owned());
    }
    if meta.uid() != 0 && Some(meta.uid()) != caller {
        return Some(format!(
            "is owned by uid {}, neither root nor the caller",
            meta.uid()
        ));
    }
    if meta.mode() & 0o022 != 0 {
        return Some(format!(
            "is group- or world-writable (mode {:04o})",
            meta.mode() & 0o7777
        ));
    }
    None
}

/// The effective uid of this process: the owner of `/proc/self` (Linux), without a libc call.
fn caller_uid() -> Option<u32> {
    std::fs::metadata("/proc/self").ok().map(|m| m.uid())
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
        let root = tempfile::tempdir().unwrap();
        let r = root.path();
        std::fs::create_dir_all(r.join("s")).unwrap();
        let w = |p: &[InstallFile]| warnings(p, r);
        assert!(w(&[pfile("/s/missing.sh")])[0].contains("cannot be used"));
        std::fs::write(r.join("s/x.sh"), "#!/bin/sh\n").unwrap();
        let mode = |m| {
            std::fs::set_permissions(r.join("s/x.sh"), std::fs::Permissions::from_mode(m)).unwrap()
        };
        mode(0o644);
        assert!(w(&[pfile("/s/x.sh start")])[0].contains("not executable"));
        mode(0o777);
        assert!(w(&[pfile("/s/x.sh")])[0].contains("world-writable"));
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

//! Sets `PSCTL_VERSION` to the crate version, followed by the git commit when built from this
//! project's own checkout (`0.1.0 (d80d0c0)`); without git, or from a tarball, the version
//! alone. The runtime crate uses this same file as its build script (`build =` in its
//! Cargo.toml), so the three binaries print the same line.

use std::path::Path;
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .output()
        .ok()?;
    let s = String::from_utf8(o.stdout).ok()?;
    (o.status.success() && !s.trim().is_empty()).then(|| s.trim().to_owned())
}

fn main() {
    let manifest = std::env::var("CARGO_MANIFEST_DIR").unwrap();
    let workspace = Path::new(&manifest).join("..");
    let version = std::env::var("CARGO_PKG_VERSION").unwrap();
    // Only this project's checkout counts: a tarball unpacked inside another repository
    // must not claim that repository's commit.
    let ours = git(&workspace, &["rev-parse", "--show-toplevel"])
        .and_then(|top| {
            Some(Path::new(&top).canonicalize().ok()? == workspace.canonicalize().ok()?)
        })
        .unwrap_or(false);
    let commit = ours
        .then(|| git(&workspace, &["rev-parse", "--short", "HEAD"]))
        .flatten();
    match commit {
        Some(c) => {
            println!("cargo:rustc-env=PSCTL_VERSION={version} ({c})");
            // Rebuild when HEAD moves: HEAD itself, the branch it names, packed refs.
            let mut watch = vec!["HEAD".to_owned(), "packed-refs".to_owned()];
            if let Some(r) = git(&workspace, &["symbolic-ref", "-q", "HEAD"]) {
                watch.push(r);
            }
            for w in watch {
                if let Some(p) = git(&workspace, &["rev-parse", "--git-path", &w]) {
                    let p = workspace.join(p);
                    if p.exists() {
                        println!("cargo:rerun-if-changed={}", p.display());
                    }
                }
            }
        }
        None => println!("cargo:rustc-env=PSCTL_VERSION={version}"),
    }
    println!("cargo:rerun-if-changed=build.rs");
}

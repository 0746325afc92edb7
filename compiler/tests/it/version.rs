//! `psctl --version`: the workspace version and, built from this project's git checkout, the
//! commit (build.rs); pcheck and padmin print the same (runtime/tests/cli.rs).

use crate::test::PSCTL;
use std::path::Path;
use std::process::Command;

fn expected_version() -> String {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(&root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8(o.stdout).unwrap().trim().to_owned())
    };
    let ours = git(&["rev-parse", "--show-toplevel"])
        .is_some_and(|top| std::fs::canonicalize(top).ok() == std::fs::canonicalize(&root).ok());
    match ours
        .then(|| git(&["rev-parse", "--short", "HEAD"]))
        .flatten()
    {
        Some(c) => format!("{} ({c})", env!("CARGO_PKG_VERSION")),
        None => env!("CARGO_PKG_VERSION").to_owned(),
    }
}

#[test]
fn version_names_the_release_and_the_commit() {
    for flag in ["--version", "-V"] {
        let o = Command::new(PSCTL).arg(flag).output().unwrap();
        assert_eq!(o.status.code(), Some(0));
        assert_eq!(
            String::from_utf8(o.stdout).unwrap(),
            format!("psctl {}\n", expected_version())
        );
    }
}

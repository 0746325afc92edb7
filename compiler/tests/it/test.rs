//! The psctl binary as the tests run it. [`psctl`] and friends for a one-off call; [`Test`], a
//! builder (in the spirit of just's `tests/test.rs`) that runs psctl in a scratch directory
//! and asserts its exact exit status, stdout and stderr. Inputs are named relative to the
//! scratch directory, so the expected text holds no temporary path; where psctl must be given
//! an absolute one, the expected text says `[DIR]` for the scratch directory.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The binary under test.
pub const PSCTL: &str = env!("CARGO_BIN_EXE_psctl");

/// The workspace root: `examples/`, `schemas/`, `tests/corpus/`, the goldens.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every file in `dir` (not below), by name, with its bytes: what a run wrote.
pub fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            (name, std::fs::read(e.path()).unwrap())
        })
        .collect();
    out.sort();
    out
}

/// The compiler tests' normalizer: `dir` (a test's scratch directory) becomes `[DIR]`, and
/// nothing else changes. psctl prints no pids or clock times, so this is all the runtime
/// harness's `normalize` does that applies here.
pub fn normalize(text: &str, dir: &Path) -> String {
    text.replace(dir.to_str().unwrap(), "[DIR]")
}

/// `got` is exactly `want`; on failure both are shown whole, with the first line that differs.
#[track_caller]
pub fn assert_text(got: &str, want: &str) {
    if got != want {
        panic!("text differs\n{}", text_diff(want, got));
    }
}

fn text_diff(want: &str, got: &str) -> String {
    let at = want
        .lines()
        .zip(got.lines())
        .position(|(w, g)| w != g)
        .unwrap_or_else(|| want.lines().count().min(got.lines().count()));
    format!(
        "first difference at line {}\n--- want\n{want}\n--- got\n{got}\n",
        at + 1
    )
}

/// `psctl ARGS` in the test's working directory, run to completion.
pub fn psctl(args: &[&str]) -> Output {
    Command::new(PSCTL).args(args).output().expect("psctl runs")
}

/// `psctl ARGS` run in `dir`.
pub fn psctl_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(PSCTL)
        .args(args)
        .current_dir(dir)
        .output()
        .expect("psctl runs")
}

/// `psctl ARGS` with `input` on its stdin.
pub fn psctl_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(PSCTL)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psctl runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

/// One run of psctl in a fresh scratch directory, built up then [`Test::run`].
#[must_use]
pub struct Test {
    dir: tempfile::TempDir,
    args: Vec<String>,
    stdin: Vec<u8>,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().unwrap(),
            args: Vec::new(),
            stdin: Vec::new(),
        }
    }

    pub fn arg(mut self, arg: &str) -> Test {
        self.args.push(arg.to_owned());
        self
    }

    pub fn args<'a>(mut self, args: impl IntoIterator<Item = &'a str>) -> Test {
        self.args.extend(args.into_iter().map(str::to_owned));
        self
    }

    pub fn stdin(mut self, input: impl Into<Vec<u8>>) -> Test {
        self.stdin = input.into();
        self
    }

    /// Writes `text` to `path` (relative to the scratch directory, parents created).
    pub fn file(self, path: &str, text: impl AsRef<[u8]>) -> Test {
        let p = self.dir.path().join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
        self
    }

    /// The scratch directory, for arguments that must be absolute.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Runs psctl in the scratch directory, stdin as given (empty by default).
    pub fn run(self) -> Run {
        let mut child = Command::new(PSCTL)
            .args(&self.args)
            .current_dir(self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("psctl runs");
        let mut input = child.stdin.take().unwrap();
        // psctl may exit without reading its stdin: a broken pipe here is not the test's.
        let _ = input.write_all(&self.stdin);
        drop(input);
        let output = child.wait_with_output().unwrap();
        Run {
            dir: self.dir,
            args: self.args,
            output,
        }
    }
}

/// What a [`Test`] run did; each assertion shows the whole run when it fails.
pub struct Run {
    dir: tempfile::TempDir,
    args: Vec<String>,
    pub output: Output,
}

impl Run {
    #[track_caller]
    pub fn status(self, code: i32) -> Run {
        assert_eq!(self.output.status.code(), Some(code), "{}", self.show());
        self
    }

    /// Stdout is exactly `want` (the scratch directory spelt `[DIR]`).
    #[track_caller]
    pub fn stdout(self, want: &str) -> Run {
        let got = self.normalize(self.stdout_text());
        assert!(got == want, "stdout differs\n{}", self.diff(want, &got));
        self
    }

    /// Stderr is exactly `want` (the scratch directory spelt `[DIR]`).
    #[track_caller]
    pub fn stderr(self, want: &str) -> Run {
        let got = self.normalize(self.stderr_text());
        assert!(got == want, "stderr differs\n{}", self.diff(want, &got));
        self
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8(self.output.stdout.clone()).expect("stdout is UTF-8")
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8(self.output.stderr.clone()).expect("stderr is UTF-8")
    }

    fn normalize(&self, text: String) -> String {
        normalize(&text, self.dir.path())
    }

    fn show(&self) -> String {
        format!(
            "psctl {:?}\n--- stdout\n{}--- stderr\n{}",
            self.args,
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    /// Both texts, and the first line where they part.
    fn diff(&self, want: &str, got: &str) -> String {
        format!("{}{}", text_diff(want, got), self.show())
    }
}

//! Shared by the `psctl apply` end-to-end tests: a scratch host (inputs, a `--root`, the log
//! of the fake padmin in tests/fixtures/fake-padmin) and readers for the command's output.
#![allow(dead_code)] // each test file uses a part

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::test::PSCTL;
use serde_json::Value;

pub const CONF: &str = "var/opt/HA/PS/conf/bin";
pub const MANIFEST: &str = "var/lib/psctl/manifest";

pub fn pfile(key: &str, retry: u32) -> String {
    format!(
        "##### PARAM #####\nIPCKEY                {key}\nMONITOR_INTERVAL      10\n\n\
         ##### PENT #####\ncrond:/etc/init.d/crond restart:86400:{retry}:continue\n"
    )
}

/// A scratch host: an input directory, a root, and the fake padmin's log.
pub struct Host {
    _dir: tempfile::TempDir,
    pub inputs: PathBuf,
    pub root: PathBuf,
    pub log: PathBuf,
}

impl Host {
    pub fn new() -> Host {
        let dir = tempfile::tempdir().unwrap();
        let inputs = dir.path().join("inputs");
        let root = dir.path().join("root");
        fs::create_dir_all(&inputs).unwrap();
        fs::create_dir_all(&root).unwrap();
        let log = dir.path().join("padmin.log");
        Host {
            _dir: dir,
            inputs,
            root,
            log,
        }
    }

    pub fn input(&self, name: &str, text: &str) -> PathBuf {
        let p = self.inputs.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    /// What `psctl build` makes of `input`: the bytes of output file `name`.
    pub fn built(&self, input: &str, name: &str) -> String {
        let out = self._dir.path().join("built");
        let o = std::process::Command::new(PSCTL)
            .args(["build", input, "--force", "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "psctl build: {o:?}");
        fs::read_to_string(out.join(name)).unwrap()
    }

    pub fn installed(&self, name: &str) -> PathBuf {
        self.root.join(CONF).join(name)
    }

    /// Runs `psctl apply ARGS --root ROOT` with the fake padmin exiting `padmin_exit`.
    pub fn apply(&self, args: &[&str], padmin_exit: u8) -> Output {
        self.apply_with(args, padmin_exit, &[])
    }

    pub fn apply_with(&self, args: &[&str], padmin_exit: u8, env: &[(&str, &str)]) -> Output {
        self.apply_full(None, args, padmin_exit, env)
    }

    /// Runs `psctl apply` from the working directory `cwd`.
    pub fn apply_in(&self, cwd: &Path, args: &[&str], padmin_exit: u8) -> Output {
        self.apply_full(Some(cwd), args, padmin_exit, &[])
    }

    fn apply_full(
        &self,
        cwd: Option<&Path>,
        args: &[&str],
        padmin_exit: u8,
        env: &[(&str, &str)],
    ) -> Output {
        let mut cmd = std::process::Command::new(PSCTL);
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        cmd.arg("apply")
            .args(args)
            .arg("--root")
            .arg(&self.root)
            .env("PSCTL_PADMIN", self.fake_padmin())
            .env("FAKE_PADMIN_LOG", &self.log)
            .env("FAKE_PADMIN_EXIT", padmin_exit.to_string())
            .env("FAKE_PADMIN_SAY", "pfile_cron: line 7: unknown key")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    }

    /// The fake padmin, copied into the scratch directory: as root, apply runs only a padmin
    /// that passes the ownership rules, which a checkout anywhere may not.
    pub fn fake_padmin(&self) -> PathBuf {
        let fake = self._dir.path().join("bin/fake-padmin");
        if !fake.exists() {
            fs::create_dir_all(fake.parent().unwrap()).unwrap();
            let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake-padmin");
            fs::copy(src, &fake).unwrap();
            use std::os::unix::fs::PermissionsExt;
            fs::set_permissions(&fake, fs::Permissions::from_mode(0o755)).unwrap();
        }
        fake
    }

    /// `o`'s stdout, the scratch directory spelt `[DIR]` ([`crate::test::normalize`]).
    pub fn out(&self, o: &Output) -> String {
        crate::test::normalize(&stdout(o), self._dir.path())
    }

    /// `o`'s stderr, the scratch directory spelt `[DIR]`.
    pub fn err(&self, o: &Output) -> String {
        crate::test::normalize(
            &String::from_utf8(o.stderr.clone()).unwrap(),
            self._dir.path(),
        )
    }

    pub fn padmin_calls(&self) -> Vec<Vec<String>> {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        text.split_terminator("--\n")
            .map(|c| c.lines().map(str::to_owned).collect())
            .collect()
    }

    /// Every file under the root, relative to it, sorted.
    pub fn tree(&self) -> Vec<String> {
        pub fn walk(dir: &Path, base: &Path, out: &mut Vec<String>) {
            for e in fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, base, out);
                } else {
                    out.push(p.strip_prefix(base).unwrap().display().to_string());
                }
            }
        }
        let mut out = Vec::new();
        walk(&self.root, &self.root, &mut out);
        out.sort();
        out
    }
}

/// Puts the executable `src` at `dst` to run it from there: a hard link when possible, so that
/// no descriptor open for writing exists that a process forked meanwhile by another test
/// thread could hold across our exec (`Text file busy`); a copy across file systems.
pub fn place_executable(src: &Path, dst: &Path) {
    if fs::hard_link(src, dst).is_err() {
        fs::copy(src, dst).unwrap();
        // Let any child forked during the copy reach its own exec and drop the descriptor.
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
}

pub fn status(o: &Output) -> i32 {
    o.status.code().expect("exited")
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// The JSON summary: the last line of stdout.
pub fn summary(o: &Output) -> Value {
    let out = stdout(o);
    let last = out
        .lines()
        .last()
        .unwrap_or_else(|| panic!("no output; stderr: {:?}", o.stderr));
    let v: Value = serde_json::from_str(last).unwrap();
    assert_eq!(v["summary"], "apply");
    v
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_owned())
        .collect()
}

pub const CRON: &str = "/var/opt/HA/PS/conf/bin/pfile_cron";

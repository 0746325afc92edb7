//! `psctl check`, `schema` and `explain` end to end: the real binary, real files.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn psctl(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_psctl"))
        .args(args)
        .output()
        .expect("psctl runs")
}

fn psctl_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_psctl"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("psctl runs");
    child.stdin.take().unwrap().write_all(input).unwrap();
    child.wait_with_output().unwrap()
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8(out.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect()
}

const CRON: &str = "name: cron\nipckey: 0x1f000501\nprocesses:\n  - name: crond\n";

#[test]
fn every_example_passes_alone() {
    for f in [
        "cron.yaml",
        "cron.toml",
        "pfile_cron",
        "webstack.yaml",
        "webstack.toml",
    ] {
        let p = root().join("examples").join(f);
        let out = psctl(&["check", s(&p)]);
        assert_eq!(
            out.status.code(),
            Some(0),
            "{f}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for f in ["cron.yaml", "webstack.yaml"] {
        let text = std::fs::read_to_string(root().join("examples").join(f)).unwrap();
        assert!(text.starts_with("# yaml-language-server: $schema=../schemas/psctl.schema.json\n"));
    }
}

#[test]
fn the_examples_directory_shows_cross_file_rules() {
    // cron.yaml, cron.toml and pfile_cron spell one service three ways, so checked together
    // they clash: the later files get the cross-file errors.
    let out = psctl(&[
        "check",
        "--message-format",
        "json",
        s(&root().join("examples")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let d = json_lines(&out);
    let codes: Vec<&str> = d.iter().map(|d| d["code"].as_str().unwrap()).collect();
    assert!(
        codes.contains(&"psctl::cross::duplicate_ipckey"),
        "{codes:?}"
    );
    assert!(codes.contains(&"psctl::cross::duplicate_pfile_name"));
    assert!(codes.contains(&"psctl::cross::duplicate_dump_file"));
    // The first of each set (cron.toml sorts first) is never blamed.
    assert!(d
        .iter()
        .all(|d| !d["file"].as_str().unwrap().ends_with("cron.toml")));
}

#[test]
fn json_and_github_formats() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "name: cron\nipckey: 1\nmonitor_intervall: 5\nprocesses:\n  - name: a\n    on_retry_over: exot\n").unwrap();
    let out = psctl(&["check", "--message-format", "json", s(&f)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stderr.is_empty());
    let raw = String::from_utf8(out.stdout.clone()).unwrap();
    let keys = [
        "file",
        "line",
        "column",
        "end_line",
        "end_column",
        "severity",
        "code",
        "message",
        "help",
    ];
    let pos: Vec<usize> = keys
        .iter()
        .map(|k| raw.find(&format!("\"{k}\":")).unwrap())
        .collect();
    assert!(
        pos.windows(2).all(|w| w[0] < w[1]),
        "keys out of order: {raw}"
    );
    let d = json_lines(&out);
    assert_eq!(d.len(), 2);
    assert_eq!(d[0]["code"], "psctl::schema::unknown_key");
    assert_eq!(d[0]["line"], 3);
    assert_eq!(d[0]["column"], 1);
    assert_eq!(d[0]["end_line"], 3);
    assert_eq!(d[0]["end_column"], 18);
    assert_eq!(d[0]["severity"], "error");
    assert_eq!(d[0]["help"], "did you mean `monitor_interval`?");
    assert_eq!(d[0]["file"], s(&f));
    assert_eq!(d[1]["code"], "psctl::schema::enum");
    assert_eq!(
        (d[1]["line"].as_u64(), d[1]["column"].as_u64()),
        (Some(6), Some(20))
    );

    let out = psctl(&["check", "--message-format", "github", s(&f)]);
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    let want = format!(
        "::error file={},line=3,col=1,endLine=3,endColumn=18,title=psctl%3A%3Aschema%3A%3Aunknown_key::unknown key `monitor_intervall`%0Ahelp: did you mean `monitor_interval`?",
        s(&f)
    );
    assert_eq!(first, want);

    let out = psctl(&["check", "--message-format", "short", s(&f)]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with(&format!(
        "{}:3:1: error[psctl::schema::unknown_key]: unknown key",
        s(&f)
    )));
}

#[test]
fn human_format_is_plain_off_a_terminal_with_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.toml");
    std::fs::write(
        &f,
        "name = \"cron\"\nipckey = 0\n[[processes]]\nname = \"a\"\n",
    )
    .unwrap();
    let out = psctl(&["check", s(&f)]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("error[psctl::value::out_of_range]"), "{err}");
    assert!(err.contains(&format!("--> {}:2:10", s(&f))), "{err}");
    assert!(err.contains("2 | ipckey = 0"), "{err}");
    assert!(
        err.trim_end().ends_with("1 error, 0 warnings in 1 file"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn directories_are_searched_recursively_and_filtered() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("a/b");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(sub.join("cron.yaml"), CRON).unwrap();
    std::fs::write(
        dir.path().join("pfile_other"),
        "IPCKEY 0x2\nsshd:-:10:1:continue\n",
    )
    .unwrap();
    // Not inputs: skipped even though they would not parse.
    std::fs::write(dir.path().join("notes.txt"), "\0garbage").unwrap();
    std::fs::write(sub.join("README"), "\0garbage").unwrap();
    let out = psctl(&["check", s(dir.path())]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("0 errors, 0 warnings in 2 files"), "{err}");
}

#[test]
fn cross_file_uniqueness() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.yaml"), CRON).unwrap();
    std::fs::write(
        dir.path().join("b.toml"),
        "name = \"other\"\nipckey = 0x1f000501\ndump_file = \"/var/opt/HA/PS/log/pcheck_dump_cron\"\n[[processes]]\nname = \"x\"\n",
    )
    .unwrap();
    let out = psctl(&["check", "--message-format", "json", s(dir.path())]);
    assert_eq!(out.status.code(), Some(1));
    let d = json_lines(&out);
    let got: Vec<(String, String, u64)> = d
        .iter()
        .map(|d| {
            (
                d["file"]
                    .as_str()
                    .unwrap()
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .to_owned(),
                d["code"].as_str().unwrap().to_owned(),
                d["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            ("b.toml".into(), "psctl::cross::duplicate_ipckey".into(), 2),
            (
                "b.toml".into(),
                "psctl::cross::duplicate_dump_file".into(),
                3
            ),
        ]
    );
    assert!(d[0]["message"].as_str().unwrap().contains("a.yaml:2:9"));
}

#[test]
fn stdin_is_a_pfile_unless_told_otherwise() {
    let pfile = b"IPCKEY 0x1\ncrond:-:10:1:continue\n";
    let out = psctl_stdin(&["check", "-"], pfile);
    assert_eq!(out.status.code(), Some(0));
    let out = psctl_stdin(
        &["check", "--message-format", "short", "-"],
        CRON.as_bytes(),
    );
    assert_eq!(out.status.code(), Some(1));
    let out = psctl_stdin(&["check", "--stdin-format", "yaml", "-"], CRON.as_bytes());
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = psctl_stdin(
        &[
            "check",
            "--stdin-format",
            "json",
            "--message-format",
            "json",
            "-",
        ],
        b"{\"name\": 1}",
    );
    let d = json_lines(&out);
    assert_eq!(d[0]["file"], "-");
    assert_eq!(d[0]["code"], "psctl::schema::required");
}

#[test]
fn exit_status_two_for_usage_and_io() {
    assert_eq!(
        psctl(&["check", "/nonexistent/x.yaml"]).status.code(),
        Some(2)
    );
    assert_eq!(
        psctl(&["check", "--message-format", "xml"]).status.code(),
        Some(2)
    );
    assert_eq!(psctl(&["check", "-", "-"]).status.code(), Some(2));
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("unreadable.yaml");
    std::fs::write(&f, CRON).unwrap();
    // A directory given where a file is read is an I/O error, not a crash.
    let out = psctl(&["check", s(dir.path()), s(&dir.path().join("missing"))]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pfile_w");
    std::fs::write(&f, "IPCKEY 0x1\ncrond:-:10:1:Continue\n").unwrap();
    let out = psctl(&["check", s(&f)]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("0 errors, 1 warning in 1 file"));
    assert_eq!(
        psctl(&["check", "--deny-warnings", s(&f)]).status.code(),
        Some(1)
    );
}

#[test]
fn schema_command_prints_the_committed_schema() {
    let out = psctl(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed = std::fs::read(root().join("schemas/psctl.schema.json")).unwrap();
    assert_eq!(
        out.stdout, committed,
        "run `psctl schema > schemas/psctl.schema.json`"
    );
}

#[test]
fn explain_known_unknown_and_list() {
    let out = psctl(&["explain", "psctl::schema::unknown_key"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.starts_with("psctl::schema::unknown_key: a key is not part of the schema"));
    assert!(text.contains("misspelt key"));
    // The prefix may be left out.
    assert_eq!(
        psctl(&["explain", "yaml::alias_limit"]).status.code(),
        Some(0)
    );

    let out = psctl(&["explain", "unknown_kye"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("psctl::schema::unknown_key"), "{err}");
    assert!(err.contains("psctl::pfile::unknown_key"), "{err}");

    let out = psctl(&["explain"]);
    assert_eq!(out.status.code(), Some(0));
    let list = String::from_utf8(out.stdout).unwrap();
    assert_eq!(list.lines().count(), psctl::diagnostics::codes::ALL.len());
}

#[test]
fn human_format_is_graphical_on_a_terminal() {
    // `script` (util-linux, installed by scripts/setup-test-deps) gives psctl a pseudo-terminal.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("bad.yaml");
    std::fs::write(&f, "name: Cron\nipckey: 1\nprocesses: [{name: a}]\n").unwrap();
    let cmd = format!("{} check {}", env!("CARGO_BIN_EXE_psctl"), s(&f));
    let out = Command::new("script")
        .args(["-qec", &cmd, "/dev/null"])
        .output()
        .expect("`script` is installed (scripts/setup-test-deps)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("psctl::value::invalid_name"), "{text}");
    assert!(text.contains("bad.yaml:1:7"), "{text}");
    // miette's box drawing, not the plain renderer's arrow.
    assert!(text.contains('─') && !text.contains("--> "), "{text}");
}

#[test]
fn default_path_is_the_current_directory_without_hidden_directories() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("cron.yaml"), CRON).unwrap();
    std::fs::create_dir(dir.path().join(".git")).unwrap();
    std::fs::write(dir.path().join(".git/pfile_x"), "\0").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_psctl"))
        .arg("check")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("in 1 file"), "{err}");
}

#[test]
fn a_file_named_twice_is_checked_once() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("cron.yaml");
    std::fs::write(&f, CRON).unwrap();
    let out = psctl(&["check", s(dir.path()), s(&f)]);
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("in 1 file"), "{err}");
}

#[test]
fn check_rejects_what_build_could_not_emit() {
    // Valid for the schema and the model, but a pfile cannot hold ` #` in a pname (it would
    // start a comment), and two processes whose slugs collide across services would generate
    // one script name twice: check must fail exactly where build would.
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("x.yaml");
    std::fs::write(
        &doc,
        "name: x\nipckey: 0x10\nprocesses:\n  - name: \"a #b\"\n    restart: none\n",
    )
    .unwrap();
    let out = psctl(&["check", "--message-format", "json", s(&doc)]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let d = &json_lines(&out)[0];
    assert_eq!(d["code"], "psctl::emit::unrepresentable");
    assert_eq!(
        (d["line"].as_u64(), d["column"].as_u64()),
        (Some(4), Some(11))
    );
    let build = dir.path().join("out");
    let out = psctl(&["build", s(&doc), "-o", s(&build)]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!build.join("pfile_x").exists());
}

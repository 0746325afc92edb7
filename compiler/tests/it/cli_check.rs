//! `psctl check`, `schema` and `explain` end to end: the real binary, real files.

use std::path::Path;
use std::process::{Command, Output};

use crate::test::{psctl, psctl_stdin, root, Test, PSCTL};

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

    let bad = std::fs::read_to_string(&f).unwrap();
    Test::new()
        .args(["check", "--message-format", "github", "bad.yaml"])
        .file("bad.yaml", &bad)
        .run()
        .status(1)
        .stdout(
            "::error file=bad.yaml,line=3,col=1,endLine=3,endColumn=18,title=psctl%3A%3Aschema%3A%3Aunknown_key::unknown key `monitor_intervall`%0Ahelp: did you mean `monitor_interval`?\n\
             ::error file=bad.yaml,line=6,col=20,endLine=6,endColumn=24,title=psctl%3A%3Aschema%3A%3Aenum::`processes[0].on_retry_over` must be one of continue, exit, shutdown, not \"exot\"%0Ahelp: did you mean `exit`?\n",
        )
        .stderr("");

    Test::new()
        .args(["check", "--message-format", "short", "bad.yaml"])
        .file("bad.yaml", &bad)
        .run()
        .status(1)
        .stdout("")
        .stderr(
            "bad.yaml:3:1: error[psctl::schema::unknown_key]: unknown key `monitor_intervall`\n\
             bad.yaml:6:20: error[psctl::schema::enum]: `processes[0].on_retry_over` must be one of continue, exit, shutdown, not \"exot\"\n",
        );
}

#[test]
fn human_format_is_plain_off_a_terminal_with_a_summary() {
    Test::new()
        .args(["check", "bad.toml"])
        .file(
            "bad.toml",
            "name = \"cron\"\nipckey = 0\n[[processes]]\nname = \"a\"\n",
        )
        .run()
        .status(1)
        .stdout("")
        .stderr(
            "error[psctl::value::out_of_range]: ipckey must be between 0x1 and 0x7fffffff, not 0
  --> bad.toml:2:10
  |
2 | ipckey = 0
  |          ^ out of range
  = help: a string \"0x...\" has 1 to 8 hex digits

1 error, 0 warnings in 1 file
",
        );
}

#[test]
fn directories_are_searched_recursively_and_filtered() {
    Test::new()
        .args(["check", "."])
        .file("a/b/cron.yaml", CRON)
        .file("pfile_other", "IPCKEY 0x2\nsshd:-:10:1:continue\n")
        // Not inputs: skipped even though they would not parse.
        .file("notes.txt", "\0garbage")
        .file("a/b/README", "\0garbage")
        .run()
        .status(0)
        .stdout("")
        .stderr("0 errors, 0 warnings in 2 files\n");
}

#[test]
fn cross_file_uniqueness() {
    Test::new()
        .args(["check", "--message-format", "json", "."])
        .file("a.yaml", CRON)
        .file(
            "b.toml",
            "name = \"other\"\nipckey = 0x1f000501\ndump_file = \"/var/opt/HA/PS/log/pcheck_dump_cron\"\n[[processes]]\nname = \"x\"\n",
        )
        .run()
        .status(1)
        .stderr("")
        .stdout(concat!(
            r#"{"file":"./b.toml","line":2,"column":10,"end_line":2,"end_column":20,"severity":"error","code":"psctl::cross::duplicate_ipckey","message":"IPCKEY `0x1f000501` is also used by ./a.yaml:2:9","help":"each service on a host needs its own IPCKEY"}"#,
            "\n",
            r#"{"file":"./b.toml","line":3,"column":13,"end_line":3,"end_column":50,"severity":"error","code":"psctl::cross::duplicate_dump_file","message":"dump file `/var/opt/HA/PS/log/pcheck_dump_cron` is also used by ./a.yaml:1:1","help":"each service on a host needs its own dump file"}"#,
            "\n",
        ));
}

#[test]
fn stdin_is_a_pfile_unless_told_otherwise() {
    let pfile = b"IPCKEY 0x1\ncrond:-:10:1:continue\n";
    let out = psctl_stdin(&["check", "-"], pfile);
    assert_eq!(out.status.code(), Some(0));
    let field_count = "error[psctl::pfile::field_count]: a PENT line has 5 `:`-separated fields \
                       (then optional extensions), this one has 2\n";
    Test::new()
        .args(["check", "--message-format", "short", "-"])
        .stdin(CRON)
        .run()
        .status(1)
        .stdout("")
        .stderr(&format!(
            "-:1:1: {field_count}\
             -:1:1: error[psctl::pfile::missing_ipckey]: the pfile has no IPCKEY\n\
             -:2:1: {field_count}\
             -:3:1: {field_count}\
             -:4:3: {field_count}"
        ));
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
    Test::new()
        .args(["check", "/nonexistent/x.yaml"])
        .run()
        .status(2)
        .stdout("")
        .stderr(
            "error[psctl::io]: /nonexistent/x.yaml: No such file or directory (os error 2)\n\n",
        );
    assert_eq!(
        psctl(&["check", "--message-format", "xml"]).status.code(),
        Some(2)
    );
    Test::new()
        .args(["check", "-", "-"])
        .run()
        .status(2)
        .stdout("")
        .stderr("psctl check: `-` (stdin) may be given only once\n");
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("unreadable.yaml");
    std::fs::write(&f, CRON).unwrap();
    // A directory given where a file is read is an I/O error, not a crash.
    let out = psctl(&["check", s(dir.path()), s(&dir.path().join("missing"))]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn deny_warnings_turns_warnings_into_failure() {
    let warning = "warning[psctl::pfile::action_case]: `Continue` is not in canonical lower case
  --> pfile_w:2:14
  |
2 | crond:-:10:1:Continue
  |              ^^^^^^^^ accepted, but not canonical
  = help: write `continue`

0 errors, 1 warning in 1 file
";
    for (args, status) in [(&["check"][..], 0), (&["check", "--deny-warnings"], 1)] {
        Test::new()
            .args(args.iter().copied())
            .arg("pfile_w")
            .file("pfile_w", "IPCKEY 0x1\ncrond:-:10:1:Continue\n")
            .run()
            .status(status)
            .stdout("")
            .stderr(warning);
    }
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
    Test::new()
        .args(["explain", "psctl::schema::unknown_key"])
        .run()
        .status(0)
        .stderr("")
        .stdout(
            "psctl::schema::unknown_key: a key is not part of the schema\n\n\
             Unknown keys are errors, not ignored: a misspelt key (`monitor_intervall`) would \
             silently fall back to a default. The help suggests the closest known key.\n",
        );
    // The prefix may be left out.
    assert_eq!(
        psctl(&["explain", "yaml::alias_limit"]).status.code(),
        Some(0)
    );

    Test::new()
        .args(["explain", "unknown_kye"])
        .run()
        .status(2)
        .stdout("")
        .stderr(
            "psctl explain: unknown code `unknown_kye`\n\
             close matches:\n  psctl::pfile::unknown_key\n  psctl::schema::unknown_key\n  \
             psctl::group::unknown_member\n  psctl::group::unknown\n\
             (run `psctl explain` without a code to list them all)\n",
        );

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
    let cmd = format!("{} check {}", PSCTL, s(&f));
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
    Test::new()
        .arg("check")
        .file("cron.yaml", CRON)
        .file(".git/pfile_x", "\0")
        .run()
        .status(0)
        .stdout("")
        .stderr("0 errors, 0 warnings in 1 file\n");
}

#[test]
fn a_file_named_twice_is_checked_once() {
    Test::new()
        .args(["check", ".", "cron.yaml"])
        .file("cron.yaml", CRON)
        .run()
        .status(0)
        .stdout("")
        .stderr("0 errors, 0 warnings in 1 file\n");
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

//! Hostile inputs through the real binary: huge, deep, self-multiplying, binary. Each must end
//! with exit 1 and one located diagnostic. A watchdog kills the child after 20 s so that a hang
//! fails the test instead of stalling it (speed itself is measured by bench/check.sh).

use crate::test::PSCTL;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn check_json(path: &Path) -> (Option<i32>, Vec<serde_json::Value>) {
    let mut child = Command::new(PSCTL)
        .args(["check", "--message-format", "json"])
        .arg(path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        if child.try_wait().unwrap().is_some() {
            break;
        }
        if start.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("psctl hung on {}", path.display());
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let out = child.wait_with_output().unwrap();
    let diags = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out.status.code(), diags)
}

fn expect_first(dir: &Path, name: &str, bytes: &[u8], code: &str, line: u64) {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    let (status, diags) = check_json(&p);
    assert_eq!(status, Some(1), "{name}");
    let first = diags
        .first()
        .unwrap_or_else(|| panic!("{name}: no diagnostic"));
    assert_eq!(first["code"], code, "{name}: {first}");
    assert_eq!(first["line"], line, "{name}: {first}");
    // Messages stay short even when the input is huge.
    assert!(diags
        .iter()
        .all(|d| d["message"].as_str().unwrap().len() < 400));
}

#[test]
fn deep_nesting_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let n = 100_000;
    let flow = format!("{}{}", "[".repeat(n), "]".repeat(n));
    expect_first(d, "deep.yaml", flow.as_bytes(), "psctl::input::too_deep", 1);
    expect_first(d, "deep.json", flow.as_bytes(), "psctl::input::too_deep", 1);
    let objs = format!("{}1{}", "{\"a\":".repeat(n), "}".repeat(n));
    expect_first(
        d,
        "deepobj.json",
        objs.as_bytes(),
        "psctl::input::too_deep",
        1,
    );
    let toml = format!("a = {}\n", flow);
    expect_first(d, "deep.toml", toml.as_bytes(), "psctl::input::too_deep", 1);
    let tables = format!("a = {}1{}\n", "{b = ".repeat(n), "}".repeat(n));
    expect_first(
        d,
        "deeptables.toml",
        tables.as_bytes(),
        "psctl::input::too_deep",
        1,
    );
    let block: String = (0..2000)
        .map(|i| format!("{}a:\n", "  ".repeat(i)))
        .collect();
    expect_first(
        d,
        "block.yaml",
        block.as_bytes(),
        "psctl::input::too_deep",
        65,
    );
}

#[test]
fn billion_laughs_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut doc = String::from(
        "a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
    );
    for i in 1..10u8 {
        let (me, prev) = ((b'a' + i) as char, (b'a' + i - 1) as char);
        let refs = vec![format!("*{prev}"); 9].join(",");
        doc.push_str(&format!("{me}: &{me} [{refs}]\n"));
    }
    expect_first(
        dir.path(),
        "bomb.yaml",
        doc.as_bytes(),
        "psctl::yaml::alias_limit",
        5,
    );
}

#[test]
fn one_megabyte_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let x = "x".repeat(1 << 20);
    let yaml = format!("name: {x}\nipckey: 1\nprocesses: [{{name: a}}]\n");
    expect_first(d, "long.yaml", yaml.as_bytes(), "psctl::schema::invalid", 1);
    let toml = format!("name = \"{x}\"\nipckey = 1\n[[processes]]\nname = \"a\"\n");
    expect_first(d, "long.toml", toml.as_bytes(), "psctl::schema::invalid", 1);
    let json =
        format!("{{\"name\": \"{x}\", \"ipckey\": 1, \"processes\": [{{\"name\": \"a\"}}]}}");
    expect_first(d, "long.json", json.as_bytes(), "psctl::schema::invalid", 1);
    let pfile = format!("IPCKEY 1\n{x}:-:1:1:continue\n{x}\n");
    // a pname is at most 4096 bytes (pcheck reads no more of a command line)
    expect_first(
        d,
        "pfile_long",
        pfile.as_bytes(),
        "psctl::value::invalid_pname",
        2,
    );
}

#[test]
fn binary_and_invalid_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let bin: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    for name in ["bin.yaml", "bin.toml", "bin.json", "pfile_bin"] {
        expect_first(d, name, &bin, "psctl::input::not_text", 1);
    }
    for name in ["bad.yaml", "bad.toml", "bad.json", "pfile_bad"] {
        expect_first(
            d,
            name,
            b"name: x\n\xc3\x28 bad",
            "psctl::input::invalid_utf8",
            2,
        );
    }
}

#[test]
fn oversized_input_is_refused_without_reading_it_all() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge.yaml");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len(64 << 20).unwrap(); // sparse: 64 MiB of NULs without using disk
    let (status, diags) = check_json(&p);
    assert_eq!(status, Some(1));
    assert_eq!(diags[0]["code"], "psctl::input::too_large");
}

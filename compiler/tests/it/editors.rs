//! The schema in the editors people use, driven as editors drive them: Taplo (`taplo check`,
//! and its language server over stdio) and yaml-language-server over stdio; check-jsonschema
//! on the corpus. All are installed by scripts/setup-test-deps; a tool that is missing makes
//! its test fail with a message saying so (`PSCTL_SKIP_MISSING_TOOLS=1` turns that into a
//! loud skip, for machines that cannot install it).

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::test::{root, PSCTL};

/// Whether `tool` runs; if not, fails (or, with PSCTL_SKIP_MISSING_TOOLS=1, skips loudly).
fn have(tool: &str, probe: &[&str], needle: Option<&str>) -> bool {
    let ok = Command::new(tool)
        .args(probe)
        .stdin(Stdio::null())
        .output()
        .is_ok_and(|o| {
            let all = format!(
                "{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
            needle.map_or(o.status.success(), |n| !all.contains(n))
        });
    if !ok {
        let msg = format!(
            "`{tool}` is missing or lacks what this test needs: run scripts/setup-test-deps"
        );
        if std::env::var("PSCTL_SKIP_MISSING_TOOLS").as_deref() == Ok("1") {
            eprintln!("\n!!! SKIPPED: {msg} !!!\n");
            return false;
        }
        panic!("{msg}");
    }
    true
}

/// A scratch tree laid out like the repository: `schemas/` next to `examples/`.
fn scratch() -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("schemas")).unwrap();
    std::fs::create_dir_all(d.path().join("examples")).unwrap();
    std::fs::copy(
        root().join("schemas/psctl.schema.json"),
        d.path().join("schemas/psctl.schema.json"),
    )
    .unwrap();
    d
}

#[test]
fn taplo_check_fails_on_a_typo_in_a_toml_example() {
    if !have("taplo", &["--version"], None) {
        return;
    }
    let d = scratch();
    for name in ["cron.toml", "webstack.toml"] {
        let text = std::fs::read_to_string(root().join("examples").join(name)).unwrap();
        let good = d.path().join("examples").join(name);
        std::fs::write(&good, &text).unwrap();
        let o = Command::new("taplo")
            .arg("check")
            .arg(&good)
            .output()
            .unwrap();
        assert!(o.status.success(), "{name}: {o:?}");
        let bad = d.path().join("examples").join(format!("typo_{name}"));
        std::fs::write(&bad, text.replace("monitor_interval", "monitr_interval")).unwrap();
        let o = Command::new("taplo")
            .arg("check")
            .arg(&bad)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{name}: the typo passed");
        assert!(err.contains("monitr_interval"), "{err}");
    }
}

/// A language server over stdio: LSP framing, requests by id, notifications collected.
struct Lsp {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<Value>,
    next_id: i64,
    notifications: Vec<Value>,
}

impl Lsp {
    fn start(cmd: &str, args: &[&str], root: &Path) -> Lsp {
        let mut child = Command::new(cmd)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut out = BufReader::new(child.stdout.take().unwrap());
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || loop {
            let mut len = 0;
            loop {
                let mut line = String::new();
                if out.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(v) = line.strip_prefix("Content-Length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0; len];
            if out.read_exact(&mut body).is_err() {
                return;
            }
            let Ok(msg) = serde_json::from_slice::<Value>(&body) else {
                return;
            };
            if tx.send(msg).is_err() {
                return;
            }
        });
        let mut lsp = Lsp {
            child,
            stdin,
            rx,
            next_id: 1,
            notifications: Vec::new(),
        };
        let uri = format!("file://{}", root.display());
        lsp.request(
            "initialize",
            json!({
                "processId": std::process::id(),
                "rootUri": uri,
                "workspaceFolders": [{"uri": uri, "name": "ws"}],
                "capabilities": {"textDocument": {
                    "completion": {"completionItem": {"snippetSupport": false}},
                    "hover": {"contentFormat": ["markdown", "plaintext"]},
                    "publishDiagnostics": {}
                }}
            }),
            Duration::from_secs(20),
        );
        lsp.notify("initialized", json!({}));
        lsp
    }

    fn send(&mut self, msg: Value) {
        let body = msg.to_string();
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The next message within `until`, answering the server's own requests on the way.
    fn next(&mut self, until: Instant) -> Option<Value> {
        loop {
            let left = until.checked_duration_since(Instant::now())?;
            let msg = self.rx.recv_timeout(left).ok()?;
            if let (Some(id), Some(method)) = (msg.get("id"), msg["method"].as_str()) {
                let result = match method {
                    "workspace/configuration" => {
                        let n = msg["params"]["items"].as_array().map_or(0, Vec::len);
                        Value::Array(vec![Value::Null; n])
                    }
                    _ => Value::Null,
                };
                let id = id.clone();
                self.send(json!({"jsonrpc": "2.0", "id": id, "result": result}));
                continue;
            }
            return Some(msg);
        }
    }

    /// Sends a request and waits at most `limit` for its response.
    fn request(&mut self, method: &str, params: Value, limit: Duration) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let until = Instant::now() + limit;
        while let Some(msg) = self.next(until) {
            if msg["id"] == id {
                return msg;
            }
            self.notifications.push(msg);
        }
        panic!("no answer to {method} within {limit:?}");
    }

    fn open(&mut self, uri: &str, language: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": uri, "languageId": language, "version": 1, "text": text}}),
        );
    }

    /// Peak resident memory of the server so far, in bytes (Linux's VmHWM).
    fn peak_rss(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024)
    }
}

impl Drop for Lsp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn labels(resp: &Value) -> Vec<String> {
    let items = resp["result"]["items"]
        .as_array()
        .or(resp["result"].as_array())
        .cloned()
        .unwrap_or_default();
    items
        .iter()
        .filter_map(|i| i["label"].as_str().map(str::to_owned))
        .collect()
}

/// Completion with the real schema used to allocate without limit (11 GB in 5 s) in Taplo's
/// language server, through `allOf: [{$ref}]` with siblings.
#[test]
fn taplo_language_server_completes_within_bounds() {
    if !have("taplo", &["lsp", "stdio"], Some("not part of this build")) {
        return;
    }
    let d = scratch();
    let text = "#:schema ../schemas/psctl.schema.json\nname = \"cron\"\nipckey = 0x1f000501\n\n[[processes]]\nname = \"crond\"\n\nrestart = \n";
    let path = d.path().join("examples/x.toml");
    std::fs::write(&path, text).unwrap();
    let uri = format!("file://{}", path.display());
    let mut lsp = Lsp::start("taplo", &["lsp", "stdio"], d.path());
    lsp.open(&uri, "toml", text);
    for (line, col, want) in [(6, 0, "grace"), (7, 10, "none")] {
        let started = Instant::now();
        let resp = lsp.request(
            "textDocument/completion",
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": col}}),
            Duration::from_secs(5),
        );
        let got = labels(&resp);
        assert!(
            got.iter().any(|l| l.contains(want)),
            "completion at {line}:{col} lacks {want}: {got:?} ({resp})"
        );
        let peak = lsp.peak_rss();
        assert!(peak < 500 << 20, "taplo lsp peaked at {} MB", peak >> 20);
        eprintln!(
            "taplo completion at {line}:{col}: {} items in {:?}, peak RSS {} MB",
            got.len(),
            started.elapsed(),
            peak >> 20
        );
    }
}

#[test]
fn yaml_language_server_hovers_with_limits_and_flags_a_bad_duration() {
    if !have("yaml-language-server", &["--help"], None) {
        return;
    }
    let d = scratch();
    let text = "# yaml-language-server: $schema=../schemas/psctl.schema.json\nname: cron\nipckey: 0x1f000501\nmonitor_interval: 10x\nprocesses:\n  - name: crond\n    grace: 1d\n";
    let path = d.path().join("examples/x.yaml");
    std::fs::write(&path, text).unwrap();
    let uri = format!("file://{}", path.display());
    let mut lsp = Lsp::start("yaml-language-server", &["--stdio"], d.path());
    lsp.open(&uri, "yaml", text);
    let resp = lsp.request(
        "textDocument/hover",
        json!({"textDocument": {"uri": uri}, "position": {"line": 6, "character": 6}}),
        Duration::from_secs(20),
    );
    let hover = resp["result"]["contents"]["value"].as_str().unwrap_or("");
    assert!(hover.contains("Grace window"), "{resp}");
    assert!(
        hover.contains("0 s to 365 d"),
        "the limits are shown: {hover}"
    );
    // The diagnostics arrive as a notification, after validation.
    let until = Instant::now() + Duration::from_secs(20);
    let mut found = None;
    loop {
        let diag = lsp.notifications.iter().find_map(|n| {
            (n["method"] == "textDocument/publishDiagnostics")
                .then(|| n["params"]["diagnostics"].as_array().cloned())
                .flatten()
                .filter(|d| !d.is_empty())
        });
        if let Some(d) = diag {
            found = Some(d);
            break;
        }
        match lsp.next(until) {
            Some(m) => lsp.notifications.push(m),
            None => break,
        }
    }
    let diags = found.expect("no diagnostics for monitor_interval: 10x");
    assert!(
        diags.iter().any(|d| d["range"]["start"]["line"] == 3),
        "the bad duration on line 4 is flagged: {diags:?}"
    );
}

/// check-jsonschema (PyPI) with the committed schema agrees with psctl on every corpus
/// description where the schema can express the rule (the same exclusions as
/// tests/schema_agreement.rs, whose verdicts it reuses through psctl's JSON output).
#[test]
fn check_jsonschema_agrees_with_psctl_on_the_corpus() {
    if !have("check-jsonschema", &["--version"], None) {
        return;
    }
    let schema = root().join("schemas/psctl.schema.json");
    let mut compared = 0;
    for dir in ["tests/corpus", "examples"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
            if !["yaml", "yml", "toml", "json"].contains(&ext) {
                continue;
            }
            let o = Command::new(PSCTL)
                .args(["check", "--message-format", "json"])
                .arg(&p)
                .output()
                .unwrap();
            let diags: Vec<Value> = String::from_utf8_lossy(&o.stdout)
                .lines()
                .filter_map(|l| serde_json::from_str(l).ok())
                .collect();
            let codes: Vec<&str> = diags.iter().filter_map(|d| d["code"].as_str()).collect();
            // Syntax errors and rules beyond a schema: nothing to compare.
            let skip = codes.iter().any(|c| {
                c.contains("syntax")
                    || c.starts_with("psctl::input::")
                    || c.ends_with("duplicate_key")
                    || c.ends_with("duplicate_pname")
                    || c.ends_with("multiple_documents")
                    || c.ends_with("key_not_string")
                    || c.ends_with("alias_limit")
                    || c.starts_with("psctl::emit::")
                    // Groups relate names (docs/extensions.md).
                    || (c.starts_with("psctl::group::") && *c != "psctl::group::invalid_name")
            }) || diags.iter().any(|d| {
                let m = d["message"].as_str().unwrap_or("");
                m.contains("floating-point")
                    || (d["code"] == "psctl::value::out_of_range"
                        && m.contains(" s to ")
                        && m.contains("`"))
            });
            if skip {
                continue;
            }
            let cj = Command::new("check-jsonschema")
                .arg("--schemafile")
                .arg(&schema)
                .arg(&p)
                .output()
                .unwrap();
            let psctl_ok = o.status.success();
            assert_eq!(
                cj.status.success(),
                psctl_ok,
                "{}: check-jsonschema {} psctl {codes:?}",
                p.display(),
                String::from_utf8_lossy(&cj.stdout)
            );
            compared += 1;
        }
    }
    assert!(compared >= 30, "only {compared} compared");
}

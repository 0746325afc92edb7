//! Prometheus metrics (issue 12) with the real tools: `promtool check metrics` accepts what
//! `pcheck --metrics-file` writes and what `padmin --metrics` prints; a real
//! prometheus-node-exporter on a loopback port serves the file through its textfile collector,
//! and what it serves changes after a kill; the example alert rules pass `promtool check rules`
//! and their unit test. Needs `prometheus` and `prometheus-node-exporter`
//! (scripts/setup-test-deps); fails, not skips, without them.

use crate::common::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn tool(name: &str) -> String {
    ["/usr/bin", "/usr/local/bin", "/usr/sbin"]
        .iter()
        .map(|d| format!("{d}/{name}"))
        .find(|p| Path::new(p).exists())
        .unwrap_or_else(|| panic!("{name} is not installed: run scripts/setup-test-deps"))
}

/// `promtool check metrics` on `text`: its verdict (status 0) and what it said.
fn promtool_metrics(text: &str) -> (bool, String) {
    let mut c = Command::new(tool("promtool"))
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    c.stdin.take().unwrap().write_all(text.as_bytes()).unwrap();
    let o = c.wait_with_output().unwrap();
    (o.status.success(), format!("{}{}", stdout(&o), stderr(&o)))
}

/// A node_exporter, killed when dropped (even when the test fails).
struct Exporter(Child, u16);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// node_exporter with only the textfile collector, on a free loopback port; as `nobody` when
/// the test runs as root, as node_exporter runs as its own user on a real host.
fn exporter(textfile_dir: &Path) -> Exporter {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let bin = tool("prometheus-node-exporter");
    let args = [
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--collector.disable-defaults".to_owned(),
        "--collector.textfile".to_owned(),
        format!("--collector.textfile.directory={}", textfile_dir.display()),
    ];
    let mut cmd = if rustix::process::geteuid().is_root() {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups", &bin]);
        c
    } else {
        Command::new(&bin)
    };
    let child = cmd
        .args(&args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let e = Exporter(child, port);
    wait_for(|| scrape(&e), "node_exporter to answer");
    e
}

/// GET /metrics over HTTP/1.0 (std only); the body.
fn scrape(e: &Exporter) -> Option<String> {
    let mut s = TcpStream::connect(("127.0.0.1", e.1)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .ok()?;
    let mut r = String::new();
    s.read_to_string(&mut r).ok()?;
    let (head, body) = r.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200")
        .then(|| body.to_owned())
        .or_else(|| head.starts_with("HTTP/1.1 200").then(|| body.to_owned()))
}

/// The value of the sample `series` (name and labels exactly as written) in `text`.
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn series(name: &str, pfile: &str, pname: &str) -> String {
    format!("{name}{{pfile=\"{pfile}\",pname=\"{pname}\"}}")
}

#[test]
fn metrics_file_through_node_exporter() {
    let env = Env::new("metrics");
    let textfiles = env.path("textfile");
    std::fs::create_dir(&textfiles).unwrap();
    // two pchecks: node_exporter merges their files, as the format wants
    let a = env.name("a");
    let b = env.name("b");
    let sa = env.restart_script(&a);
    let sb = env.restart_script(&b);
    let pa = env.pfile("pfile_a", key(1), 1, &[format!("{a}:{sa}:0:5:continue")]);
    let pb = env.pfile("pfile_b", key(2), 1, &[format!("{b}:{sb}:0:5:continue")]);
    let fa = textfiles.join("pcheck_a.prom").display().to_string();
    let fb = textfiles.join("pcheck_b.prom").display().to_string();
    let pid_a = env.start_daemon(&a);
    let pid_b = env.start_daemon(&b);
    let t0 = psctl_runtime::clock::now();
    let ca = env.pcheck(&["-f", &pa, "--metrics-file", &fa]);
    let cb = env.pcheck(&["-f", &pb, "--metrics-file", &fb]);
    env.wait_log(&format!("({a} ,pid={pid_a}) Up"));
    env.wait_log(&format!("({b} ,pid={pid_b}) Up"));

    let up_a = series("pcheck_process_up", &pa, &a);
    let file = wait_for(
        || {
            let t = std::fs::read_to_string(&fa).ok()?;
            (value(&t, &up_a) == Some(1.0)).then_some(t)
        },
        "metrics file with the entry up",
    );
    let (ok, said) = promtool_metrics(&file);
    assert!(ok, "promtool check metrics:\n{said}\n{file}");
    assert!(said.trim().is_empty(), "promtool lint:\n{said}");
    let start = value(
        &file,
        &format!("pcheck_start_time_seconds{{pfile=\"{pa}\"}}"),
    )
    .unwrap();
    assert!(start >= t0 as f64 && start <= psctl_runtime::clock::now() as f64);
    // readable by node_exporter's own user; no temporary file left for it to read
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&fa).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    // event-driven: with every process alive nothing is rewritten (MONITOR_INTERVAL is 1 s)
    let id = |p: &str| {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(p).unwrap();
        (m.ino(), m.mtime(), m.mtime_nsec())
    };
    let before = id(&fa);
    std::thread::sleep(Duration::from_millis(2500));
    assert_eq!(
        id(&fa),
        before,
        "the metrics file was rewritten while nothing happened"
    );

    let exp = exporter(&textfiles);
    let body = scrape(&exp).unwrap();
    assert_eq!(
        value(&body, "node_textfile_scrape_error"),
        Some(0.0),
        "{body}"
    );
    assert_eq!(value(&body, &up_a), Some(1.0), "{body}");
    assert_eq!(
        value(&body, &series("pcheck_process_up", &pb, &b)),
        Some(1.0)
    );
    let deaths_a = series("pcheck_process_deaths_total", &pa, &a);
    let restarts_a = series("pcheck_process_restarts_total", &pa, &a);
    assert_eq!(value(&body, &deaths_a), Some(0.0));
    let avail = format!("pcheck_process_state{{pfile=\"{pa}\",pname=\"{a}\",state=\"AVAIL\"}}");
    assert_eq!(value(&body, &avail), Some(1.0));

    // a kill: the exporter serves the death and the restart, with no scan by pcheck
    let t_kill = psctl_runtime::clock::now();
    kill(pid_a);
    let new_a = wait_for(
        || pids_named(&a).into_iter().find(|&p| p != pid_a),
        "restarted daemon",
    );
    env.wait_log(&format!("({a} ,pid={new_a}) Up"));
    let body = wait_for(
        || {
            let b = scrape(&exp)?;
            (value(&b, &series("pcheck_process_pid", &pa, &a)) == Some(f64::from(new_a)))
                .then_some(b)
        },
        "the exporter to serve the new pid",
    );
    assert_eq!(value(&body, &deaths_a), Some(1.0));
    assert_eq!(value(&body, &restarts_a), Some(1.0));
    assert_eq!(value(&body, &up_a), Some(1.0));
    let died = value(
        &body,
        &series("pcheck_process_last_death_timestamp_seconds", &pa, &a),
    )
    .unwrap();
    assert!(died >= t_kill as f64, "{died} < {t_kill}");
    // the other pcheck's series did not move
    assert_eq!(
        value(&body, &series("pcheck_process_deaths_total", &pb, &b)),
        Some(0.0)
    );
    assert_eq!(value(&body, "node_textfile_scrape_error"), Some(0.0));

    // padmin --metrics: both pchecks, one valid exposition, the same samples as the files
    let o = env.padmin(&["--metrics"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let all = stdout(&o);
    let (ok, said) = promtool_metrics(&all);
    assert!(ok && said.trim().is_empty(), "promtool:\n{said}\n{all}");
    let file_a = std::fs::read_to_string(&fa).unwrap();
    let file_b = std::fs::read_to_string(&fb).unwrap();
    for l in file_a.lines().chain(file_b.lines()) {
        assert!(
            all.lines().any(|x| x == l),
            "`{l}` missing from padmin --metrics"
        );
    }
    assert_eq!(all.matches("# TYPE pcheck_process_up gauge").count(), 1);

    // shutdown: the last file says that pcheck no longer runs
    assert_eq!(
        env.padmin(&["-f", &pb, "-c", "shutdown"]).status.code(),
        Some(0)
    );
    assert_eq!(env.pcheck_exit(cb, Duration::from_secs(5)), Some(0));
    let t = std::fs::read_to_string(&fb).unwrap();
    assert_eq!(
        value(&t, &format!("pcheck_running{{pfile=\"{pb}\"}}")),
        Some(0.0)
    );
    let _ = ca;
}

#[test]
fn a_metrics_file_pcheck_cannot_write_safely_is_refused_at_start() {
    let env = Env::new("metricsbad");
    let name = env.name("d");
    let pfile = env.pfile("pfile_m", key(3), 1, &[format!("{name}:-:0:1:continue")]);
    let open = env.path("open");
    std::fs::create_dir(&open).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    let target = open.join("m.prom").display().to_string();
    let o = env.pcheck_run(&["-f", &pfile, "--metrics-file", &target]);
    assert_eq!(o.status.code(), Some(2));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        "pcheck: metrics directory refused: [DIR]/open is writable by group or others (mode 0777)\n",
    );
    assert!(!Path::new(&target).exists());
    let o = env.pcheck_run(&["-f", &pfile, "--metrics-file"]);
    assert_eq!(o.status.code(), Some(2));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        "pcheck: --metrics-file needs a path\n",
    );
    // only *.prom files are ever replaced: not the pfile by a slip
    let before = std::fs::read_to_string(&pfile).unwrap();
    let o = env.pcheck_run(&["-f", &pfile, "--metrics-file", &pfile]);
    assert_eq!(o.status.code(), Some(2));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        "pcheck: --metrics-file [DIR]/pfile_m: the file name must end in .prom (node_exporter's textfile collector reads only those)\n",
    );
    assert_eq!(std::fs::read_to_string(&pfile).unwrap(), before);
}

#[test]
fn alert_rules_pass_promtool() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/prometheus");
    let o = Command::new(tool("promtool"))
        .args(["check", "rules", "pcheck-alerts.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
    // promtool's own wording, which changes between its versions: not ours to pin down.
    assert!(stdout(&o).contains("SUCCESS"), "{}", stdout(&o));
    // the rules' own unit tests: the alerts fire on the series pcheck writes, and only then
    let o = Command::new(tool("promtool"))
        .args(["test", "rules", "pcheck-alerts.test.yml"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}{}", stdout(&o), stderr(&o));
}

/// Names and paths with everything the formats must escape: the exposition stays valid for
/// promtool, and nothing in it can drive a terminal.
#[test]
fn hostile_names_stay_valid_exposition() {
    let pfile = "/tmp/a\"b\\c\nd\x1b[2J\u{202e}";
    let pname = "x\"y\\z\u{2028}日本 {a=\"1\"} 2";
    let s = one_entry_snapshot(pfile, pname);
    let text = psctl_runtime::metrics::render(&s);
    assert!(!text
        .chars()
        .any(|c| c != '\n' && psctl::escape::is_unsafe(c)));
    let (ok, said) = promtool_metrics(&text);
    assert!(ok && said.trim().is_empty(), "promtool:\n{said}\n{text}");
    // 6 per pcheck, 16 per entry (3 for the state): the hostile name added no line
    assert_eq!(text.lines().filter(|l| !l.starts_with('#')).count(), 6 + 16);
}

use super::*;
use proptest::prelude::*;
use std::os::unix::fs::PermissionsExt;

fn pent(id: usize, sts: &str, t: Option<i64>) -> PentView {
    PentView {
        pname: format!("p{id}"),
        pid: 10 + i32::try_from(id).unwrap(),
        retry_count: 1,
        restart_count: 3,
        proc_sts: sts.into(),
        retry_over_act: "continue".into(),
        rerun_time: t,
        pent_id: id,
        monitor_on: id == 1,
        script: (id == 2).then_some((4242, 987_654)),
        ext: PentExt::default(),
    }
}

fn sample() -> Dump {
    Dump {
        written: 1_700_000_000,
        pid: 42,
        ipckey: 0x1f000501,
        param: ParamView {
            msg_check_interval: 5,
            monitor_interval: 10,
            monitor_try_count: 2,
            dump_file: "/tmp/d".into(),
            pfile: "/etc/pfile_x".into(),
            running: true,
            monitor_stop_count: 1,
            fail_proc_count: 1,
            all_proc_count: 2,
        },
        pents: vec![
            pent(1, "AVAIL", None),
            pent(2, "RETRY_OVER", Some(1_600_000_000)),
        ],
        groups: vec![],
    }
}

fn log() -> Logger {
    Logger::to_socket("pcheck", Path::new("/nonexistent/psctl-test-log"))
}

#[test]
fn round_trip() {
    let d = sample();
    let text = d.to_text();
    assert_eq!(Dump::parse(&text).unwrap(), d);
    assert_eq!(Dump::parse("garbage"), Err(DumpError::NotADump));
    // version 1 (no escapes, no script) is still read
    let v1 = text
        .replace(MAGIC, MAGIC_V1)
        .replace("script = -\n", "")
        .replace("script = 4242 987654\n", "");
    let mut want = d.clone();
    want.pents[1].script = None;
    assert_eq!(Dump::parse(&v1).unwrap(), want);
}

/// The values the fuzzer found, each refused with its line and what is wrong.
#[test]
fn out_of_range_values_are_refused() {
    let text = sample().to_text();
    let cases = [
        (
            "pid = 42\n",
            "pid = 4294967296\n",
            "line 3: pid = 4294967296 is out of range (1 to 4194304)",
        ),
        (
            "pid = 42\n",
            "pid = x\n",
            "line 3: pid = `x` is not a number",
        ),
        (
            "retry_count = 1\n",
            "retry_count = -1\n",
            "line 14: retry_count = -1 is out of range (0 to 4294967295)",
        ),
        (
            "pent_id = 1\n",
            "pent_id = -1\n",
            "line 19: pent_id = -1 is out of range (1 to 9223372036854775807)",
        ),
        (
            "pent_id = 2\n",
            "pent_id = 7\n",
            "line 36: pent_id = 7, but this is entry 2",
        ),
        (
            "rerun_time = 1600000000\n",
            "rerun_time = 99999999999999\n",
            "line 35: rerun_time = 99999999999999 is out of range (0 to 253402300799)",
        ),
        (
            "written = 1700000000\n",
            &format!("written = {}\n", i64::MIN),
            "line 2: written = -9223372036854775808 is out of range (0 to 253402300799)",
        ),
        (
            "proc_sts = AVAIL\n",
            "proc_sts = \x1b[2J\n",
            "line 16: proc_sts = `\\x1b[2J` is not one of AVAIL, DOWN, RETRY_OVER",
        ),
        (
            "ipckey = 0x1f000501\n",
            "ipckey = 0xffffffff\n",
            "line 4: bad ipckey `0xffffffff`",
        ),
        (
            "pname = p1\n",
            "pname = p1\r\r\n",
            "line 12: bad escape in `pname = p1\\r\\r`",
        ),
        (
            "pname = p1\n",
            "pname = p1\\q\n",
            "line 12: bad escape in `pname = p1\\q`",
        ),
        (
            "monitor_sts = on\n",
            "monitor_sts = on\nmonitor_sts = on\n",
            "line 21: `monitor_sts` given twice",
        ),
        (
            "script = 4242 987654\n",
            "script = -5 1\n",
            "line 38: bad script `-5 1`",
        ),
        (
            "monitor_interval = 10\n",
            "monitor_interval = 0\n",
            "line 8: monitor_interval = 0 is out of range (1 to 86400)",
        ),
    ];
    for (from, to, want) in cases {
        assert!(text.contains(from), "{from}");
        let bad = text.replacen(from, to, 1);
        let got = Dump::parse(&bad).map(|_| ()).unwrap_err().to_string();
        assert_eq!(got, want, "{to:?}");
    }
    assert_eq!(
        Dump::parse(&text.replace("pname = p1\n", "")).unwrap_err(),
        DumpError::Missing("pname")
    );
}

/// Values holding `\r`, newlines and backslashes come back as they were, however many times
/// they are written and read.
#[test]
fn odd_values_survive_every_cycle() {
    let mut d = sample();
    d.pents[0].pname = "a\r\r".into();
    d.param.pfile = "/tmp/x\nwritten = 0\\n\\".into();
    let mut text = d.to_text();
    for _ in 0..3 {
        let back = Dump::parse(&text).unwrap();
        assert_eq!(back, d);
        text = back.to_text();
    }
    assert_eq!(text.lines().filter(|l| l.starts_with("written")).count(), 1);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Whatever the text, the reader returns (no panic, no overflow), and what it accepts
    /// writes back to a dump that reads the same.
    #[test]
    fn reader_never_panics_and_accepted_dumps_round_trip(
        edits in proptest::collection::vec((0usize..400, "[ -~\r\n\\\\]{0,12}|-?[0-9]{1,25}"), 0..6),
        garbage in "\\PC{0,200}",
    ) {
        let mut text = sample().to_text();
        for (at, ins) in edits {
            let mut at = at.min(text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert_str(at, &ins);
        }
        if let Ok(d) = Dump::parse(&text) {
            prop_assert_eq!(Dump::parse(&d.to_text()), Ok(d.clone()));
            for p in &d.pents {
                prop_assert!((0..=PID_MAX).contains(&i64::from(p.pid)));
            }
            prop_assert!((0..=clock::MAX_DISPLAYED).contains(&d.written));
        }
        let _ = Dump::parse(&garbage);
        let _ = Dump::parse(&format!("{MAGIC}\n{garbage}"));
    }
}

#[test]
fn written_through_a_checked_directory() {
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = root.path().join("sub/deeper/dump");
    let text = sample().to_text();
    let mut d = DumpDir::new(path.to_str().unwrap());
    let mut l = log();
    d.try_write(&text).unwrap();
    d.try_write(&text).unwrap();
    assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );
    // temporaries of a killed writer are removed at start, others are left alone
    let dir = path.parent().unwrap();
    std::fs::write(dir.join(".dump.tmp-99999"), "pcheck-dump 2\nwri").unwrap();
    std::fs::write(dir.join(".tmpAbC123"), "pcheck-dump 1\n").unwrap();
    std::fs::write(dir.join(".tmpOther1"), "someone else's").unwrap();
    let mut again = DumpDir::new(path.to_str().unwrap());
    let (scripts, _) = again.previous_scripts(&mut l);
    assert_eq!(scripts.get("p2"), Some(&(4242, 987_654)));
    let mut left: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    left.sort();
    assert_eq!(left, [".tmpOther1", "dump"]);
}

#[test]
fn a_directory_others_can_write_or_a_link_on_the_way_is_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::set_permissions(root.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let open = root.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o1777)).unwrap();
    let mut d = DumpDir::new(open.join("dump").to_str().unwrap());
    let e = d.try_write("x").unwrap_err();
    assert!(matches!(e, DumpError::Untrusted(_)), "{e}");
    assert!(e.to_string().contains("writable by group or others"), "{e}");
    assert!(!open.join("dump").exists());
    // a link in a directory pcheck trusts is followed only to a directory it trusts
    std::os::unix::fs::symlink(&open, root.path().join("via")).unwrap();
    let mut d = DumpDir::new(root.path().join("via/dump").to_str().unwrap());
    assert!(d.try_write("x").is_err());
    assert!(!open.join("dump").exists());
    // the dump file itself being a link is not followed either
    let good = root.path().join("good");
    std::fs::create_dir(&good).unwrap();
    std::fs::set_permissions(&good, std::fs::Permissions::from_mode(0o755)).unwrap();
    let target = root.path().join("target");
    std::fs::write(&target, "keep").unwrap();
    std::os::unix::fs::symlink(&target, good.join("dump")).unwrap();
    let mut d = DumpDir::new(good.join("dump").to_str().unwrap());
    d.try_write("new").unwrap();
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep");
    assert_eq!(std::fs::read_to_string(good.join("dump")).unwrap(), "new");
}

/// Version 3 carries spec 7's state: all pids, instances, group membership, health failures,
/// stall, backoff, and one block per group. Version 2 dumps are still read (without it).
#[test]
fn version_3_round_trip_and_version_2_still_read() {
    let mut d = sample();
    let v2 = d.to_text().replace(MAGIC, MAGIC_V2);
    let v2: String = v2
        .lines()
        .filter(|l| {
            ![
                "pids",
                "instances",
                "group",
                "health_failures",
                "stalled",
                "backoff",
            ]
            .iter()
            .any(|k| l.starts_with(&format!("{k} = ")))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(!v2.contains("pids"));
    assert_eq!(Dump::parse(&v2).unwrap(), d, "a version 2 dump");
    d.pents[0].ext = PentExt {
        pids: vec![11, 12, 13],
        instances: 3,
        group: Some("front end".into()),
        health_failures: Some(2),
        stalled: true,
        backoff: Some(Backoff {
            until: 1_700_000_100,
            seconds: 8,
        }),
    };
    d.groups = vec![GroupView {
        name: "front end".into(),
        members: vec!["p1".into(), "p 2".into()],
        proc_sts: "DOWN".into(),
        state: "backoff".into(),
        retry_count: 2,
        restart_count: 3,
        retry_over_act: "exit".into(),
        rerun_time: Some(1_600_000_000),
        backoff: Some(Backoff {
            until: 1_700_000_100,
            seconds: 8,
        }),
        script: Some((77, 88)),
    }];
    let text = d.to_text();
    assert!(text.starts_with("pcheck-dump 3\n"));
    assert!(
        text.contains("\npids = 11 12 13\ninstances = 3\n"),
        "{text}"
    );
    assert!(
        text.contains("\ngname = front end\nmembers = p1\tp 2\n"),
        "{text}"
    );
    assert_eq!(Dump::parse(&text).unwrap(), d);
    // read strictly: more pids than instances, a bad backoff, an entry after the groups
    let bad = text.replace("instances = 3", "instances = 2");
    assert!(matches!(Dump::parse(&bad), Err(DumpError::Line(_, m)) if m.contains("3 pids")));
    let bad = text.replacen("backoff = 1700000100 8", "backoff = 1700000100 301", 1);
    assert!(matches!(Dump::parse(&bad), Err(DumpError::Line(_, m)) if m.contains("backoff")));
    let mut swapped = d.clone();
    swapped.groups[0].state = "dancing".into();
    assert!(Dump::parse(&swapped.to_text()).is_err());
}

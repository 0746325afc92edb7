//! `padmin --format json` (issue 12): over the guide's whole walkthrough every document
//! validates against schemas/padmin.schema.json and says what the text form says, plus the
//! configuration and history; the outcomes of failing restart scripts are reported.

use crate::common::*;
use serde_json::Value;
use std::time::Duration;

fn validator() -> jsonschema::Validator {
    let text = include_str!("../../../schemas/padmin.schema.json");
    let schema: Value = serde_json::from_str(text).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// Parses one padmin JSON document (exactly one line) and validates it.
fn doc(v: &jsonschema::Validator, o: &std::process::Output) -> Value {
    let text = stdout(o);
    assert!(
        text.ends_with('\n') && text.matches('\n').count() == 1,
        "one document per call: {text:?}"
    );
    let j: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    let errors: Vec<String> = v.iter_errors(&j).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}\n{text}");
    j
}

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or_else(|| panic!("not a string: {v}"))
}

/// The text form of one JSON time (or `-----`), as padmin prints it.
fn ctime(v: &Value) -> String {
    if v.is_null() {
        return "-----".to_owned();
    }
    let t = v["unix"].as_i64().unwrap();
    assert_eq!(s(&v["rfc3339"]), psctl_runtime::json::rfc3339(t));
    psctl_runtime::clock::ctime(t)
}

/// `padmin -l` rendered from its JSON document.
fn list_text(j: &Value) -> String {
    let blocks: Vec<String> = j["pchecks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "ipckey   = {}\nmypid    = {}\nmyname   = {}\npfile    = {}\nmessage  = {}\n",
                s(&p["ipckey"]),
                p["mypid"],
                s(&p["myname"]),
                s(&p["pfile"]),
                s(&p["message"])
            )
        })
        .collect();
    blocks.join("\n")
}

fn param_text(j: &Value) -> String {
    let keys = [
        "msg_check_interval",
        "monitor_interval",
        "monitor_try_count",
        "shm_dump_file",
        "pfile",
        "message_box",
        "monitor_stop_count",
        "fail_proc_count",
        "all_proc_count",
    ];
    keys.iter()
        .map(|k| {
            let v = match &j[k] {
                Value::String(x) => x.clone(),
                x => x.to_string(),
            };
            format!("{:<18} = {v}\n", k.to_ascii_uppercase())
        })
        .collect()
}

fn pent_text(j: &Value) -> String {
    let blocks: Vec<String> = j["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            format!(
                "pname          = {}\npid            = {}\nretry_count    = {}\nrestart_count  = {}\nproc_sts       = {}\nretry_over_act = {}\nrerun_time     = {}\npent_id        = {}\nmonitor_sts    = {}\n",
                s(&e["pname"]),
                e["pid"],
                e["retry_count"],
                e["restart_count"],
                s(&e["proc_sts"]),
                s(&e["retry_over_act"]),
                ctime(&e["rerun_time"]),
                e["pent_id"],
                s(&e["monitor_sts"])
            )
        })
        .collect();
    blocks.join("\n")
}

/// Asks for the text and the JSON of `-l`, `show param` and `show pent`, checks that they say
/// the same, and returns the three documents.
fn both(env: &Env, v: &jsonschema::Validator, pfile: &str) -> (Value, Value, Value) {
    let l = env.padmin(&["-l"]);
    let lj = doc(v, &env.padmin(&["--format", "json", "-l"]));
    assert_eq!(list_text(&lj), stdout(&l));
    let p = env.padmin(&["-f", pfile, "-c", "show", "param"]);
    let pj = doc(
        v,
        &env.padmin(&["-f", pfile, "-c", "show", "param", "--format=json"]),
    );
    assert_eq!(param_text(&pj), stdout(&p));
    let e = env.padmin(&["-f", pfile, "-c", "show pent"]);
    let ej = doc(
        v,
        &env.padmin(&["-f", pfile, "--format", "json", "-c", "show pent"]),
    );
    assert_eq!(pent_text(&ej), stdout(&e));
    (lj, pj, ej)
}

#[test]
fn json_says_what_the_text_says_over_the_walkthrough() {
    let v = validator();
    let env = Env::new("jsonwalk");
    let crond = env.name("crond");
    let script = env.restart_script(&crond);
    let key = key(1);
    let pfile = env.pfile(
        "pfile_crond",
        key,
        1,
        &[format!("{crond}:{script}:86400:3:continue")],
    );
    let mut pid = env.start_daemon(&crond);
    let t_start = psctl_runtime::clock::now();
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    env.wait_log(&format!("pcheck[{pcpid}]: ({crond} ,pid={pid}) Up"));

    let (l, p, e) = both(&env, &v, &pfile);
    assert_eq!(l["pchecks"].as_array().unwrap().len(), 1);
    let started = l["pchecks"][0]["started"]["unix"].as_i64().unwrap();
    assert!((t_start..=psctl_runtime::clock::now()).contains(&started));
    assert_eq!(p["ipckey"], format!("0x{key:08x}"));
    assert_eq!(p["reloads_total"], 0);
    assert_eq!(e["source"], "pcheck");
    let entry = &e["entries"][0];
    assert_eq!(
        entry["config"],
        serde_json::json!({"restart": script, "grace_seconds": 86400, "retries": 3, "trusted_users": [],
            "instances": 1, "health": null, "stop_timeout_seconds": 10, "retry_delay_seconds": 0})
    );
    assert_eq!(
        entry["history"],
        serde_json::json!({"deaths_total": 0, "restarts_total": 0, "failures_total": 0,
            "retry_overs_total": 0, "last_death": null, "last_restart": null,
            "health_checks_total": 0, "health_failures_total": 0, "stalls_total": 0,
            "last_health": null})
    );

    // three deaths and restarts, then a retry over
    for round in 1..=3 {
        let t_kill = psctl_runtime::clock::now();
        kill(pid);
        let old = pid;
        pid = wait_for(
            || pids_named(&crond).into_iter().find(|&p| p != old),
            "restarted daemon",
        );
        env.wait_log(&format!("pcheck[{pcpid}]: ({crond} ,pid={pid}) Up"));
        let (_, _, e) = both(&env, &v, &pfile);
        let h = &e["entries"][0]["history"];
        assert_eq!(h["deaths_total"], round);
        assert_eq!(h["restarts_total"], round);
        assert_eq!(h["failures_total"], 0);
        let death = h["last_death"]["unix"].as_i64().unwrap();
        assert!((t_kill..=psctl_runtime::clock::now()).contains(&death));
        let r = &h["last_restart"];
        assert_eq!(
            (&r["outcome"], &r["exit_status"]),
            (&"exited".into(), &0.into())
        );
        assert!(r["started"]["unix"].as_i64().unwrap() >= death);
        assert!(r["ended"]["unix"].as_i64().unwrap() >= r["started"]["unix"].as_i64().unwrap());
    }
    kill(pid);
    env.wait_log(&format!("pcheck[{pcpid}]: ({crond}) RETRY_OVER:CONTINUE"));
    let (_, p, e) = both(&env, &v, &pfile);
    assert_eq!(p["fail_proc_count"], 1);
    let entry = &e["entries"][0];
    assert_eq!(entry["proc_sts"], "RETRY_OVER");
    assert!(entry["rerun_time"].is_object());
    assert_eq!(entry["history"]["retry_overs_total"], 1);
    assert_eq!(entry["history"]["deaths_total"], 4);

    // a reload that is refused, then one that applies a new retry limit (issue 12: nothing
    // showed the new value)
    let good = std::fs::read_to_string(&pfile).unwrap();
    std::fs::write(&pfile, format!("{good}BROKEN\n")).unwrap();
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "reload"]).status.code(),
        Some(1)
    );
    std::fs::write(&pfile, good.replace(":86400:3:", ":60:5:")).unwrap();
    let manual = env.start_daemon(&crond);
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "reload"]).status.code(),
        Some(0)
    );
    env.wait_log(&format!("pcheck[{pcpid}]: ({crond} ,pid={manual}) Up"));
    let (_, p, e) = both(&env, &v, &pfile);
    assert_eq!(
        (&p["reloads_total"], &p["reload_failures_total"]),
        (&1.into(), &1.into())
    );
    let c = &e["entries"][0]["config"];
    assert_eq!(
        (&c["grace_seconds"], &c["retries"]),
        (&60.into(), &5.into())
    );
    assert_eq!(
        e["entries"][0]["history"]["deaths_total"], 4,
        "kept by pname"
    );

    // stop and start
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "stop"]).status.code(),
        Some(0)
    );
    let (l, p, e) = both(&env, &v, &pfile);
    assert_eq!(l["pchecks"][0]["message"], "stop");
    assert_eq!(p["monitor_stop_count"], 1);
    assert_eq!(e["entries"][0]["monitor_sts"], "off");
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "start"]).status.code(),
        Some(0)
    );
    env.wait_log_n(&format!("pcheck[{pcpid}]: ({crond} ,pid={manual}) Up"), 2);
    both(&env, &v, &pfile);

    // --format json only where there is something to show
    let o = env.padmin(&["-f", &pfile, "-c", "reload", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    let o = env.padmin(&["--format", "yaml", "-l"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "padmin: unknown format `yaml` (text or json)
usage: padmin [--format text|json] -l
       padmin -f PFILE -c COMMAND [--format text|json]
       padmin --metrics
"
    );

    // shutdown: the dump view
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "shutdown"]).status.code(),
        Some(0)
    );
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(5)), Some(0));
    let l = doc(&v, &env.padmin(&["-l", "--format", "json"]));
    assert_eq!(l["pchecks"], serde_json::json!([]));
    let text = env.padmin(&["-f", &pfile, "-c", "show pent"]);
    let o = env.padmin(&["-f", &pfile, "-c", "show pent", "--format", "json"]);
    assert_eq!(o.status.code(), Some(2));
    assert_text(
        &stderr(&o),
        &format!("padmin: no pcheck serves {pfile} (IPCKEY 0x{key:08x})\n"),
    );
    let d = doc(&v, &o);
    assert_eq!(d["source"], "dump");
    assert_eq!(d["mypid"], pcpid);
    let dump = env.path("dump_pfile_crond").display().to_string();
    assert_eq!(d["dump"]["path"], dump);
    let age = d["dump"]["age_seconds"].as_i64().unwrap();
    let written = d["dump"]["written"]["unix"].as_i64().unwrap();
    assert!((0..5).contains(&age));
    let header = format!(
        "# pcheck is not running; last dump {dump} (pcheck pid {pcpid}), written {}, ",
        psctl_runtime::clock::ctime(written)
    );
    let text = stdout(&text);
    let (first, blocks) = text.split_once('\n').unwrap();
    assert!(first.starts_with(&header), "{first}");
    assert_text(
        &env.norm(first, &[]),
        &format!(
            "# pcheck is not running; last dump [DIR]/dump_pfile_crond (pcheck pid {pcpid}), written [TIME], [TIME] s ago"
        ),
    );
    assert_eq!(pent_text(&d), blocks);
    assert!(d["entries"][0]["config"].is_null() && d["entries"][0]["history"].is_null());
}

#[test]
fn last_restart_outcomes() {
    let v = validator();
    let env = Env::new("jsonoutcome");
    let names: Vec<String> = ["st", "sig", "slow", "bad"]
        .iter()
        .map(|n| env.name(n))
        .collect();
    let failing = env.script("fail.sh", "exit 3");
    let killed = env.script("killed.sh", "kill -9 $$");
    let slow = env.script("slow.sh", "exec sleep 30");
    let loose = env.script("loose.sh", "exit 0");
    std::fs::set_permissions(&loose, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
    let pents: Vec<String> = names
        .iter()
        .zip([&failing, &killed, &slow, &loose])
        .map(|(n, sc)| format!("{n}:{sc}:0:1:continue"))
        .collect();
    let pfile = env.pfile("pfile_out", key(2), 1, &pents);
    let pids: Vec<i32> = names.iter().map(|n| env.start_daemon(n)).collect();
    let pc = env.pcheck(&["-f", &pfile, "--restart-timeout", "1"]);
    let pcpid = env.pcheck_pid(pc);
    for (n, p) in names.iter().zip(&pids) {
        env.wait_log(&format!("pcheck[{pcpid}]: ({n} ,pid={p}) Up"));
    }
    for p in &pids {
        kill(*p);
    }
    for n in &names {
        env.wait_log(&format!("pcheck[{pcpid}]: ({n}) RETRY_OVER:CONTINUE"));
    }
    let e = doc(
        &v,
        &env.padmin(&["-f", &pfile, "-c", "show pent", "--format", "json"]),
    );
    let outcome = |i: usize| {
        let r = &e["entries"][i]["history"]["last_restart"];
        assert!(r["ended"].is_object(), "{r}");
        (
            s(&r["outcome"]).to_owned(),
            r["exit_status"].clone(),
            r["signal"].clone(),
            r["timeout_seconds"].clone(),
        )
    };
    assert_eq!(
        outcome(0),
        ("exited".into(), 3.into(), Value::Null, Value::Null)
    );
    assert_eq!(
        outcome(1),
        ("signaled".into(), Value::Null, 9.into(), Value::Null)
    );
    assert_eq!(
        outcome(2),
        ("timed_out".into(), Value::Null, Value::Null, 1.into())
    );
    assert_eq!(outcome(3).0, "not_run");
    let why = s(&e["entries"][3]["history"]["last_restart"]["reason"]);
    assert_text(
        &env.norm(why, &[]),
        "[DIR]/loose.sh is group- or world-writable (mode 0777)",
    );
    for i in 0..4 {
        let h = &e["entries"][i]["history"];
        // a failed script, then the retry over (retry 1)
        assert_eq!(
            (
                &h["restarts_total"],
                &h["failures_total"],
                &h["retry_overs_total"]
            ),
            (&1.into(), &1.into(), &1.into()),
            "{h}"
        );
    }
}

/// Every value comes back exactly through a JSON parser, and nothing in the document can drive
/// a terminal (control characters and bidirectional overrides are `\u` escapes).
#[test]
fn hostile_strings_round_trip_exactly() {
    let v = validator();
    let pfile = "/tmp/a\"b\\c\nd\x1b[2J\u{202e}\u{7f}\t";
    let pname = "x\"y\\z\u{2028}日本\u{1F600}\u{9b}";
    let restart = "/bin/echo '\x07'";
    let mut s = one_entry_snapshot(pfile, pname);
    s.param.dump_file = pfile.into();
    s.pents[0].rerun_time = Some(0);
    s.details[0].restart = Some(restart.into());
    s.details[0].trusted_users = vec!["ro\not".into()];
    for text in [
        psctl_runtime::json::pent_document(&s),
        psctl_runtime::json::param_document(&s),
    ] {
        assert!(!text
            .chars()
            .any(|c| c != '\n' && psctl::escape::is_unsafe(c)));
        assert!(!text.contains('\t'));
        let j: Value = serde_json::from_str(&text).unwrap();
        assert!(v.is_valid(&j), "{text}");
        assert_eq!(j["pfile"], pfile);
    }
    let j: Value = serde_json::from_str(&psctl_runtime::json::pent_document(&s)).unwrap();
    let e = &j["entries"][0];
    assert_eq!(e["pname"], pname);
    assert_eq!(e["config"]["restart"], restart);
    assert_eq!(e["config"]["trusted_users"][0], "ro\not");
    assert_eq!(e["rerun_time"]["rfc3339"], "1970-01-01T00:00:00Z");
}

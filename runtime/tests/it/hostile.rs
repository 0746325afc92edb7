//! Issue 8, the runtime's robustness findings (1, 4, 5, 8, 9, 11), end to end: the real pcheck
//! and padmin against real processes, with user nobody attacking where the finding is an
//! attack. Each test is named after what it shows.

use crate::common::*;
use std::io::{Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixDatagram, UnixStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown_nobody(p: &Path) {
    std::os::unix::fs::chown(p, Some(65534), Some(65534)).unwrap();
}

fn status_of(o: &std::process::Output) -> Option<i32> {
    o.status.code()
}

// ---- Finding 1: output that fails must not end pcheck ----------------------------------------

/// `pcheck ... 2>&1 | head -c0`, then the syslog socket goes away: pcheck falls back to a
/// stderr nobody reads, keeps watching (a death is still restarted), and logs `Shutdown
/// pcheck` once a syslog socket is back.
#[test]
fn closed_stderr_and_vanished_syslog_do_not_end_pcheck() {
    let mut env = Env::new("closedstderr");
    let own_log = env.path("own.log");
    let sock = UnixDatagram::bind(&own_log).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    env.syslog_socket = own_log.clone();
    let name = env.name("d");
    let script = env.restart_script(&name);
    let pfile = env.pfile(
        "pfile_t",
        key(1),
        1,
        &[format!("{name}:{script}:86400:100:continue")],
    );
    let pid = env.start_daemon(&name);
    let mut pc = env
        .cmd(PCHECK)
        .args(["-f", &pfile])
        .stdout(closed_pipe())
        .stderr(closed_pipe())
        .spawn()
        .unwrap();
    let read = |sock: &UnixDatagram, want: &str| {
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut buf = [0u8; 4096];
        while Instant::now() < deadline {
            if let Ok(n) = sock.recv(&mut buf) {
                if String::from_utf8_lossy(&buf[..n]).ends_with(want) {
                    return;
                }
            }
        }
        panic!("no `{want}` on the syslog socket");
    };
    read(&sock, &format!("({name} ,pid={pid}) Up"));
    // The syslog daemon goes away: lines now go to the dead stderr.
    drop(sock);
    std::fs::remove_file(&own_log).unwrap();
    kill(pid);
    let new = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != pid),
        "restart while logging to a closed stderr",
    );
    kill(new);
    let newer = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != new),
        "second restart",
    );
    assert!(pc.try_wait().unwrap().is_none(), "pcheck ended");
    // A syslog socket again: the next lines reach it.
    let sock = UnixDatagram::bind(&own_log).unwrap();
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    signal(i32::try_from(pc.id()).unwrap(), "TERM");
    read(&sock, "Shutdown pcheck");
    assert_eq!(pc.wait().unwrap().code(), Some(0));
    kill(newer);
}

/// padmin and psctl with a closed stdout end quietly: no panic message, their usual status.
#[test]
fn padmin_and_psctl_end_quietly_on_a_closed_stdout() {
    let env = Env::new("closedstdout");
    let (_, pfile, _, _, _) = setup(&env, 2, "{name}:-:0:0:continue", &[]);
    for args in [
        vec!["-f", pfile.as_str(), "-c", "show", "pent"],
        vec!["-l"],
        vec!["--help"],
    ] {
        let o = env
            .cmd(PADMIN)
            .args(&args)
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(status_of(&o), Some(0), "{args:?}: {}", stderr(&o));
        assert_eq!(stderr(&o), "", "{args:?}");
    }
    let psctl = psctl_bin();
    // `schema` reports a failed write by its own status (2, an I/O error), without a word
    for (args, status) in [(["explain"], 0), (["--help"], 0), (["schema"], 2)] {
        let o = Command::new(&psctl)
            .args(args)
            .stdout(closed_pipe())
            .stderr(Stdio::piped())
            .output()
            .unwrap();
        assert_eq!(
            status_of(&o),
            Some(status),
            "psctl {args:?}: {}",
            stderr(&o)
        );
        assert_eq!(stderr(&o), "", "psctl {args:?}");
    }
}

// ---- Finding 4: the runtime directory and the control channel --------------------------------

/// A runtime directory another user owns or may write is refused, whatever they planted in
/// it, and nothing is created through their links.
#[test]
fn a_runtime_directory_others_control_is_refused() {
    if !needs_root("a_runtime_directory_others_control_is_refused") {
        return;
    }
    let mut env = Env::new("rundirattack");
    let name = env.name("d");
    let pfile = env.pfile("pfile_t", key(3), 1, &[format!("{name}:-:0:0:continue")]);
    let victim = env.path("victim");
    // nobody's own directory, with a lock and a link planted
    let theirs = env.path("theirs");
    std::fs::create_dir(&theirs).unwrap();
    chmod(&theirs, 0o755);
    chown_nobody(&theirs);
    let lock = theirs.join(format!("pcheck-0x{:08x}.lock", key(3)));
    let sock = theirs.join(format!("pcheck-0x{:08x}.sock", key(3)));
    let st = as_nobody(&["touch", lock.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let st = as_nobody(&["ln", "-s", victim.to_str().unwrap(), sock.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    env.runtime = theirs.clone();
    let o = env.pcheck_run(&["-f", &pfile]);
    assert_eq!(status_of(&o), Some(2));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        "pcheck: runtime directory [DIR]/theirs refused: [DIR]/theirs is owned by uid 65534, neither root nor the running user\n\
         (it must belong to pcheck's user and be writable by nobody else; see PCHECK_RUNTIME_DIR)\n",
    );
    // a root-owned directory everyone may write (even sticky)
    let open = env.path("open");
    std::fs::create_dir(&open).unwrap();
    chmod(&open, 0o1777);
    env.runtime = open.clone();
    let o = env.pcheck_run(&["-f", &pfile]);
    assert_eq!(status_of(&o), Some(2));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        "pcheck: runtime directory [DIR]/open refused: [DIR]/open is writable by group or others (mode 1777)\n\
         (it must belong to pcheck's user and be writable by nobody else; see PCHECK_RUNTIME_DIR)\n",
    );
    // a link planted as the lock in a directory that was open when it was planted
    let was_open = env.path("wasopen");
    std::fs::create_dir(&was_open).unwrap();
    chmod(&was_open, 0o777);
    let planted = was_open.join(format!("pcheck-0x{:08x}.lock", key(3)));
    let st = as_nobody(&[
        "ln",
        "-s",
        victim.to_str().unwrap(),
        planted.to_str().unwrap(),
    ])
    .status()
    .unwrap();
    assert!(st.success());
    chmod(&was_open, 0o755);
    env.runtime = was_open.clone();
    let o = env.pcheck_run(&["-f", &pfile]);
    assert_eq!(status_of(&o), Some(2));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        &format!(
            "pcheck: runtime directory [DIR]/wasopen refused: pcheck-0x{:08x}.lock is a symbolic link, not a lock pcheck made (remove it after finding out who planted it)\n\
             (it must belong to pcheck's user and be writable by nobody else; see PCHECK_RUNTIME_DIR)\n",
            key(3)
        ),
    );
    assert!(!victim.exists(), "a file was created through the link");
    assert!(std::fs::symlink_metadata(&planted).unwrap().is_symlink());
}

/// A server that is neither root nor padmin's user is not believed, whatever it answers.
#[test]
fn padmin_does_not_believe_a_server_run_by_another_user() {
    if !needs_root("padmin_does_not_believe_a_server_run_by_another_user") {
        return;
    }
    let mut env = Env::new("impostor");
    let name = env.name("d");
    let pfile = env.pfile("pfile_t", key(4), 1, &[format!("{name}:-:0:0:continue")]);
    let theirs = env.path("theirs");
    std::fs::create_dir(&theirs).unwrap();
    chown_nobody(&theirs);
    let sock = theirs.join(format!("pcheck-0x{:08x}.sock", key(4)));
    let ready = theirs.join("ready");
    // nobody answers every request with "done" and a plausible `info`
    let server = format!(
        "import socket,os\n\
         s=socket.socket(socket.AF_UNIX,socket.SOCK_STREAM)\ns.bind({sock:?})\ns.listen(64)\n\
         open({ready:?},'w').close()\n\
         while True:\n  c,_=s.accept()\n  try:\n    c.recv(100)\n    \
         c.sendall(b'0\\nipckey   = 0x{k:08x}\\nmypid    = 1\\nmyname   = pcheck\\npfile    = {pfile}\\nmessage  = start\\n')\n  \
         except OSError:\n    pass\n  c.close()\n",
        k = key(4),
    );
    let mut srv = as_nobody(&["/usr/bin/python3", "-c", &server, env.tag.as_str()])
        .spawn()
        .unwrap();
    wait_for(|| ready.exists().then_some(()), "nobody's server");
    env.runtime = theirs;
    let o = env.padmin(&["-f", &pfile, "-c", "shutdown"]);
    let err = stderr(&o);
    assert_ne!(status_of(&o), Some(0), "{err}");
    assert_text(
        &env.norm(&err, &[]),
        &format!(
            "padmin: [DIR]/theirs/pcheck-0x{:08x}.sock: the socket is served by uid 65534, neither root nor you: not believed\n\
             padmin: [shutdown] refused: pcheck answers only its own user and root, and padmin believes only those\n",
            key(4)
        ),
    );
    assert_eq!(env.count_log("Command execute. [shutdown]"), 0);
    let o = env.padmin(&["-l"]);
    assert_eq!(stdout(&o), "", "an impostor is not listed");
    let _ = srv.kill();
    let _ = srv.wait();
}

/// Removing the runtime directory's files while pcheck runs does not let a second pcheck
/// take the same IPCKEY: pcheck makes them again, and a live socket keeps the key anyway.
#[test]
fn removed_lock_and_socket_do_not_free_the_key() {
    let env = Env::new("removedlock");
    let (_, pfile, _, _, pcpid) = setup(&env, 5, "{name}:-:0:0:continue", &[]);
    let lock = env.runtime.join(format!("pcheck-0x{:08x}.lock", key(5)));
    let sock = env.runtime.join(format!("pcheck-0x{:08x}.sock", key(5)));
    std::fs::remove_file(&lock).unwrap();
    let o = env.pcheck_run(&["-f", &pfile]);
    assert_eq!(status_of(&o), Some(2), "{}", stderr(&o));
    assert_text(&env.norm(&stderr(&o), &[]), &format!(
            "pcheck: IPCKEY 0x{k:08x} is already held by a live pcheck:\nipckey   = 0x{k:08x}\nmypid    = {pcpid}\nmyname   = pcheck\npfile    = [DIR]/pfile_t\nmessage  = start\n",
            k = key(5)
        ));
    std::fs::remove_file(&lock).unwrap_or(());
    std::fs::remove_file(&sock).unwrap();
    env.wait_log(&format!(
        "pcheck-0x{:08x}.sock was removed from the runtime directory; made again",
        key(5)
    ));
    let o = env.pcheck_run(&["-f", &pfile]);
    assert_eq!(status_of(&o), Some(2), "{}", stderr(&o));
    assert_text(&env.norm(&stderr(&o), &[]), &format!(
            "pcheck: IPCKEY 0x{k:08x} is already held by a live pcheck:\nipckey   = 0x{k:08x}\nmypid    = {pcpid}\nmyname   = pcheck\npfile    = [DIR]/pfile_t\nmessage  = start\n",
            k = key(5)
        ));
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "show pent"]).status.code(),
        Some(0)
    );
}

// ---- Finding 5: the dump ---------------------------------------------------------------------

/// A dump directory others may write is refused (logged, nothing written through nobody's
/// link); pcheck keeps watching. Temporaries a killed pcheck left are removed at start.
#[test]
fn the_dump_is_written_only_where_nobody_else_can_write() {
    if !needs_root("the_dump_is_written_only_where_nobody_else_can_write") {
        return;
    }
    let env = Env::new("dumpattack");
    let name = env.name("d");
    let theirs = env.path("theirs");
    std::fs::create_dir(&theirs).unwrap();
    chown_nobody(&theirs);
    let victim = env.path("victim");
    let dump = theirs.join("dump");
    let st = as_nobody(&["ln", "-s", victim.to_str().unwrap(), dump.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(st.success());
    let pfile = env.write(
        "pfile_t",
        &format!(
            "IPCKEY 0x{:08x}\nMONITOR_INTERVAL 1\nSHM_DUMP_FILE {}\n{name}:-:0:0:continue\n",
            key(6),
            dump.display()
        ),
    );
    let pid = env.start_daemon(&name);
    env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    env.wait_log(&format!(
        "cannot write dump file {}: {} is owned by uid 65534, neither root nor the running user",
        dump.display(),
        theirs.display()
    ));
    assert!(!victim.exists());
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "show pent"]).status.code(),
        Some(0)
    );
}

#[test]
fn temporaries_of_a_killed_writer_are_removed_at_start() {
    let env = Env::new("dumptmp");
    let leftover = env.path(".dump_pfile_t.tmp-4242");
    std::fs::write(&leftover, "pcheck-dump 2\nwritten = 17").unwrap();
    let unrelated = env.path(".tmpNotOurs");
    std::fs::write(&unrelated, "x").unwrap();
    let (_, _, _, _, _) = setup(&env, 7, "{name}:-:0:0:continue", &[]);
    wait_for(|| (!leftover.exists()).then_some(()), "leftover removed");
    assert!(unrelated.exists());
}

/// padmin shows a dump's text escaped, and refuses out-of-range values with their line.
#[test]
fn padmin_escapes_a_dump_and_refuses_bad_values() {
    let env = Env::new("dumptext");
    let pfile = env.pfile("pfile_t", key(8), 1, &["x:-:0:0:continue".into()]);
    let dump = env.path("dump_pfile_t");
    let text = |pname: &str, pid: &str| {
        format!(
            "pcheck-dump 2\nwritten = 1700000000\npid = 42\nipckey = 0x{:08x}\npfile = {pfile}\nmessage = start\nmsg_check_interval = 5\nmonitor_interval = 1\nmonitor_try_count = 2\ndump_file = {}\n\npname = {pname}\npid = {pid}\nretry_count = 0\nrestart_count = 0\nproc_sts = AVAIL\nretry_over_act = continue\nrerun_time = -\npent_id = 1\nmonitor_sts = on\nscript = -\n",
            key(8),
            dump.display()
        )
    };
    std::fs::write(&dump, text("a\x1b[2J\u{202e}b\\nc", "7")).unwrap();
    let o = env.padmin(&["-f", &pfile, "-c", "show pent"]);
    assert_eq!(status_of(&o), Some(2));
    let out = stdout(&o);
    assert!(!out.contains('\x1b'));
    assert_text(&env.norm(&out, &[]), "# pcheck is not running; last dump [DIR]/dump_pfile_t (pcheck pid 42), written [TIME], [TIME] s ago\npname          = a\\x1b[2J\\u{202e}b\\nc\npid            = 7\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n");
    assert_text(
        &env.norm(&stderr(&o), &[]),
        &format!(
            "padmin: no pcheck serves [DIR]/pfile_t (IPCKEY 0x{:08x})\n",
            key(8)
        ),
    );
    std::fs::write(&dump, text("x", "4294967296")).unwrap();
    let o = env.padmin(&["-f", &pfile, "-c", "show pent"]);
    assert_eq!(status_of(&o), Some(2));
    assert_text(
        &env.norm(&stderr(&o), &[]),
        &format!(
            "padmin: no pcheck serves [DIR]/pfile_t (IPCKEY 0x{:08x})\n\
             padmin: no dump to show either: [DIR]/dump_pfile_t: line 13: pid = 4294967296 is out of range (0 to 4194304)\n",
            key(8)
        ),
    );
    assert_eq!(stdout(&o), "");
}

// ---- Finding 8: descriptors and floods -------------------------------------------------------

/// 1,100 entries at `ulimit -n 1024`: those without a pidfd are polled, none is called dead,
/// and a death among them is still seen.
#[test]
fn descriptor_exhaustion_makes_no_phantom_deaths() {
    let env = Env::new("fdexhaust");
    let n = 1100;
    let names: Vec<String> = (0..n).map(|i| env.name(&format!("m{i}"))).collect();
    let mut kids = Vec::new();
    for nm in &names {
        kids.push(
            Command::new("bash")
                .args(["-c", &format!("exec -a {nm} sleep 100000")])
                .stdin(Stdio::null())
                .process_group(0)
                .spawn()
                .unwrap(),
        );
    }
    let pents: Vec<String> = names
        .iter()
        .map(|n| format!("{n}:-:0:0:continue"))
        .collect();
    let pfile = env.pfile("pfile_t", key(9), 1, &pents);
    let pc =
        env.spawn_pcheck(
            env.cmd("prlimit")
                .args(["--nofile=1024:1024", PCHECK, "-f", &pfile]),
        );
    let deadline = Instant::now() + Duration::from_secs(60);
    while env.count_log(" Up") < n {
        assert!(
            Instant::now() < deadline,
            "not all Up: {}",
            env.count_log(" Up")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = env.norm_log(&[]);
    let warning = log
        .iter()
        .find(|l| l.contains("open-file limit is 1024"))
        .expect("no warning about the limit");
    // The rest of the log is 1,100 Up lines, checked by count above.
    assert_text(
        warning,
        &format!(
            "pcheck[{}]: the open-file limit is 1024 (hard limit 1024), below the 2264 that 1100 entries need; processes beyond it are watched by polling every MONITOR_INTERVAL",
            env.pcheck_pid(pc)
        ),
    );
    // the last entries are the polled ones: kill one, it is seen (by polling) as Down
    let last = &mut kids[n - 1];
    let lpid = i32::try_from(last.id()).unwrap();
    last.kill().unwrap();
    last.wait().unwrap();
    env.wait_log(&format!("Process [{}, pid={lpid}] Down", names[n - 1]));
    let downs: Vec<String> = env
        .log()
        .into_iter()
        .filter(|l| l.ends_with(" Down"))
        .collect();
    assert_eq!(downs.len(), 1, "phantom deaths: {downs:?}");
    assert_eq!(env.count_log("RETRY_OVER:CONTINUE"), 0);
    signal(env.pcheck_pid(pc), "TERM");
    env.wait_log("Shutdown pcheck");
    for mut k in kids {
        let _ = k.kill();
        let _ = k.wait();
    }
}

/// Idle clients flooding the control socket at `ulimit -n 64`: a restart still starts, and
/// padmin is still served.
#[test]
fn a_connection_flood_neither_starves_restarts_nor_padmin() {
    let env = Env::new("flood");
    let name = env.name("d");
    let script = env.restart_script(&name);
    let pfile = env.pfile(
        "pfile_t",
        key(10),
        1,
        &[format!("{name}:{script}:86400:100:continue")],
    );
    let pid = env.start_daemon(&name);
    env.spawn_pcheck(
        env.cmd("prlimit")
            .args(["--nofile=64:64", PCHECK, "-f", &pfile]),
    );
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    let sock = env.runtime.join(format!("pcheck-0x{:08x}.sock", key(10)));
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flood = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // 200 idle clients, held open (connect waits while pcheck's backlog is full)
            let mut held = Vec::new();
            while held.len() < 200 && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(s) = UnixStream::connect(&sock) {
                    held.push(s);
                }
            }
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };
    // the flood is on: pcheck has as many connections as it takes
    std::thread::sleep(Duration::from_millis(1500));
    kill(pid);
    let new = wait_for(
        || pids_named(&name).into_iter().find(|&p| p != pid),
        "restart under the flood",
    );
    env.wait_log(&format!("({name} ,pid={new}) Up"));
    let o = env.padmin(&["-f", &pfile, "-c", "show pent"]);
    assert_eq!(status_of(&o), Some(0), "{}", stderr(&o));
    assert_text(&env.norm(&stdout(&o), &[]), &format!("pname          = {name}\npid            = {new}\nretry_count    = 0\nrestart_count  = 1\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = [TIME]\npent_id        = 1\nmonitor_sts    = on\n"));
    // no attempt failed for lack of descriptors
    assert_eq!(
        env.count_log(&format!("Set pid fail ({name})")),
        0,
        "{:?}",
        env.log()
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    flood.join().unwrap();
    kill(new);
}

/// 100 clients that ask for a long answer and never read it do not hold up a shutdown.
#[test]
fn shutdown_does_not_wait_for_clients_that_do_not_read() {
    let env = Env::new("noreaders");
    // enough entries for `show pent` to exceed a socket's buffers
    let pents: Vec<String> = (0..3000)
        .map(|i| format!("{}:-:0:0:continue", env.name(&format!("absent{i}"))))
        .collect();
    let pfile = env.pfile("pfile_t", key(11), 1, &pents);
    let pc = env.pcheck(&["-f", &pfile]);
    wait_for(
        || (!stdout(&env.padmin(&["-l"])).is_empty()).then_some(()),
        "pcheck up",
    );
    let sock = env.runtime.join(format!("pcheck-0x{:08x}.sock", key(11)));
    let mut clients = Vec::new();
    for _ in 0..100 {
        let mut s = UnixStream::connect(&sock).unwrap();
        s.write_all(b"show pent\n").unwrap();
        clients.push(s);
    }
    // the first of them is being answered: the answer does not fit, and nobody reads it
    let mut probe = UnixStream::connect(&sock).unwrap();
    probe.write_all(b"info\n").unwrap();
    let mut got = String::new();
    probe.read_to_string(&mut got).unwrap();
    let t = Instant::now();
    let o = env.padmin(&["-f", &pfile, "-c", "shutdown"]);
    assert_eq!(status_of(&o), Some(0), "{}", stderr(&o));
    assert_eq!(env.pcheck_exit(pc, Duration::from_secs(20)), Some(0));
    // the old pcheck waited 1 s for each such client: 100 s here
    assert!(t.elapsed() < Duration::from_secs(20));
    drop(clients);
}

// ---- Finding 9: one script per entry ---------------------------------------------------------

/// A restart script that counts its runs in `count`, waits, then starts the daemon.
fn counting_script(env: &Env, name: &str, secs: f32) -> (String, std::path::PathBuf) {
    let count = env.path(&format!("count_{name}"));
    let s = env.script(
        &format!("restart_{name}.sh"),
        &format!(
            "echo run >> {}\nsleep {secs}\nexec setsid -f bash -c 'exec -a {name} sleep 100000' </dev/null >/dev/null 2>&1",
            count.display()
        ),
    );
    (s, count)
}

fn runs(count: &Path) -> usize {
    std::fs::read_to_string(count).map_or(0, |t| t.lines().count())
}

#[test]
fn reloading_an_entry_away_and_back_runs_one_script() {
    let env = Env::new("reloadaway");
    let name = env.name("d");
    let other = env.name("o");
    let (script, count) = counting_script(&env, &name, 2.0);
    let keep = format!("{other}:-:0:0:continue");
    let with = vec![format!("{name}:{script}:86400:5:continue"), keep.clone()];
    let pfile = env.pfile("pfile_t", key(12), 1, &with);
    let pid = env.start_daemon(&name);
    env.start_daemon(&other);
    env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    kill(pid);
    wait_for(|| (runs(&count) == 1).then_some(()), "script started");
    let text = std::fs::read_to_string(&pfile).unwrap();
    let without = text.replace(&format!("{}\n", with[0]), "");
    std::fs::write(&pfile, &without).unwrap();
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "reload"]).status.code(),
        Some(0)
    );
    std::fs::write(&pfile, &text).unwrap();
    assert_eq!(
        env.padmin(&["-f", &pfile, "-c", "reload"]).status.code(),
        Some(0)
    );
    let new = wait_for(|| pids_named(&name).first().copied(), "daemon back");
    env.wait_log(&format!("({name} ,pid={new}) Up"));
    assert_eq!(runs(&count), 1, "a second script ran");
    assert_eq!(pids_named(&name).len(), 1);
}

#[test]
fn a_restarted_pcheck_waits_for_the_script_its_predecessor_left() {
    let env = Env::new("sigkillscript");
    let name = env.name("d");
    let (script, count) = counting_script(&env, &name, 3.0);
    let pfile = env.pfile(
        "pfile_t",
        key(13),
        1,
        &[format!("{name}:{script}:86400:5:continue")],
    );
    let pid = env.start_daemon(&name);
    let pc = env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    kill(pid);
    wait_for(|| (runs(&count) == 1).then_some(()), "script started");
    // the dump records the running script (written right after it started)
    let dump = env.path("dump_pfile_t");
    wait_for(
        || {
            std::fs::read_to_string(&dump).ok().filter(|t| {
                t.lines()
                    .any(|l| l.starts_with("script = ") && l != "script = -")
            })
        },
        "script in the dump",
    );
    signal(env.pcheck_pid(pc), "KILL");
    env.pcheck_exit(pc, Duration::from_secs(5));
    let pc2 = env.pcheck(&["-f", &pfile]);
    let pc2pid = env.pcheck_pid(pc2);
    let waiting = format!(
        "pcheck[{pc2pid}]: Restart script of ({name}) started by the previous pcheck still runs"
    );
    wait_for(
        || {
            env.log()
                .iter()
                .any(|l| l.starts_with(&waiting))
                .then_some(())
        },
        "pcheck waiting for its predecessor's script",
    );
    let new = wait_for(|| pids_named(&name).first().copied(), "daemon back");
    env.wait_log(&format!("pcheck[{pc2pid}]: ({name} ,pid={new}) Up"));
    assert_eq!(runs(&count), 1, "a second script ran");
    assert_eq!(pids_named(&name).len(), 1);
}

// ---- Finding 11: nothing raw reaches a terminal or a log line --------------------------------

#[test]
fn control_characters_in_names_are_escaped_in_logs_and_padmin() {
    let env = Env::new("escapes");
    let name = env.name("d");
    let dir = env.path("odd\x1b[31m\u{202e}dir");
    std::fs::create_dir(&dir).unwrap();
    chmod(&dir, 0o755);
    let pfile = dir.join("pfile_t");
    std::fs::write(
        &pfile,
        format!(
            "IPCKEY 0x{:08x}\nMONITOR_INTERVAL 1\nSHM_DUMP_FILE {}\n{name}:-:0:0:continue\n",
            key(14),
            env.path("dump").display()
        ),
    )
    .unwrap();
    let pfile = pfile.to_str().unwrap().to_owned();
    let pid = env.start_daemon(&name);
    let pc = env.pcheck(&["-f", &pfile]);
    let pcpid = env.pcheck_pid(pc);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    // pcheck is up and its entry seen: nothing else happens that it would log.
    assert_lines(
        &env.norm_log(&[]),
        &[
            format!(
                "pcheck[{pcpid}]: Start pcheck pfile=[DIR]/odd\\x1b[31m\\u{{202e}}dir/pfile_t ipckey=0x{:08x} entries=1",
                key(14)
            ),
            format!("pcheck[{pcpid}]: ({name} ,pid={pid}) Up"),
        ],
    );
    let odd = "[DIR]/odd\\x1b[31m\\u{202e}dir/pfile_t";
    let list = format!(
        "ipckey   = 0x{:08x}\nmypid    = {pcpid}\nmyname   = pcheck\npfile    = {odd}\nmessage  = start\n",
        key(14)
    );
    let param = format!(
        "MSG_CHECK_INTERVAL = 5\nMONITOR_INTERVAL   = 1\nMONITOR_TRY_COUNT  = 2\nSHM_DUMP_FILE      = [DIR]/dump\nPFILE              = {odd}\nMESSAGE_BOX        = start\nMONITOR_STOP_COUNT = 0\nFAIL_PROC_COUNT    = 0\nALL_PROC_COUNT     = 1\n"
    );
    for (args, want) in [
        (vec!["-l"], list),
        (vec!["-f", pfile.as_str(), "-c", "show param"], param),
    ] {
        let o = env.padmin(&args);
        assert_eq!(status_of(&o), Some(0), "{args:?} {}", stderr(&o));
        let out = stdout(&o);
        assert!(!out.contains('\x1b') && !out.contains('\u{202e}'), "{out}");
        assert_text(&env.norm(&out, &[]), &want);
    }
    assert!(env.raw_log().iter().all(|l| !l.contains('\x1b')));
}

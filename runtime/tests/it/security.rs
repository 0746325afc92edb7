//! Issue 8, run as root with `nobody` (uid 65534) as the attacker: restart scripts are executed
//! only when nobody else could have changed them, exactly as checked, and start clean; the
//! pfile obeys the same rules; files that are not pfiles are never echoed.

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use crate::common::*;

fn mode(p: &str, m: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(m)).unwrap();
}

#[test]
fn restart_scripts_start_clean() {
    // Finding 7: whatever pcheck inherited (an open descriptor, LD_* variables, a cwd, a
    // umask, a PATH), the script sees cwd /, umask 022, the fixed PATH, no LD_*, only 0-2
    // (and 3, its own file for the interpreter), its own session, stdin /dev/null.
    let env = Env::new("cleanstart");
    let name = env.name("d");
    let out = env.path("seen");
    let script = env.script(
        "restart.sh",
        &format!(
            r#"ls /proc/$$/fd > {out}.fds
fd3=$(readlink /proc/$$/fd/3)
in=$(readlink /proc/$$/fd/0)
read -r _ _ _ _ pgrp sid _ < /proc/$$/stat
{{
  echo "cwd=$PWD"
  echo "umask=$(umask)"
  echo "path=$PATH"
  env | grep '^LD_' | sed 's/^/ld=/'
  echo "fds=$(grep -vx 255 {out}.fds | tr '\n' ' ')"
  echo "fd3=$fd3"
  echo "stdin=$in"
  echo "session=$(( pgrp == $$ && sid == $$ ))"
  grep -E '^Sig(Blk|Ign):' /proc/self/status
  echo "script=$PCHECK_SCRIPT"
}} > {out}
exec setsid -f bash -c 'exec -a {name} sleep 100000' </dev/null >/dev/null 2>&1"#,
            out = out.display()
        ),
    );
    let pfile = env.pfile(
        "pfile_t",
        key(1),
        1,
        &[format!("{name}:{script}:86400:3:continue")],
    );
    let pid = env.start_daemon(&name);
    let inherited = std::fs::File::open("/etc/hostname").unwrap();
    let mut cmd = env.cmd(PCHECK);
    cmd.args(["-f", &pfile])
        .env("LD_PSCTL_TEST", "1")
        .env("PATH", "/tmp/nowhere:/usr/bin:/bin")
        .current_dir(&env.dir);
    {
        use std::os::fd::AsRawFd;
        use std::os::unix::process::CommandExt;
        let fd = inherited.as_raw_fd();
        // SAFETY: dup2 and umask only, between fork and exec.
        unsafe {
            cmd.pre_exec(move || {
                if libc_dup2(fd, 9) < 0 {
                    return Err(std::io::Error::last_os_error());
                }
                libc_umask(0o077);
                Ok(())
            });
        }
    }
    env.pcheck_spawn(cmd);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    kill(pid);
    env.wait_log_n(") Up", 2);
    let seen = std::fs::read_to_string(&out).unwrap();
    let lines: Vec<&str> = seen.lines().collect();
    let want = [
        "cwd=/".to_owned(),
        "umask=0022".to_owned(),
        "path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".to_owned(),
        "fds=0 1 2 3 ".to_owned(),
        format!("fd3={script}"),
        "stdin=/dev/null".to_owned(),
        "session=1".to_owned(),
        "SigBlk:\t0000000000000000".to_owned(),
        "SigIgn:\t0000000000000000".to_owned(),
        format!("script={script}"),
    ];
    assert_eq!(lines, want, "{seen}");
}

// A dup2/umask without a libc dependency in the test crate.
fn libc_dup2(old: i32, new: i32) -> i32 {
    extern "C" {
        fn dup2(old: i32, new: i32) -> i32;
    }
    // SAFETY: plain system call wrapper.
    unsafe { dup2(old, new) }
}

fn libc_umask(m: u32) {
    extern "C" {
        fn umask(m: u32) -> u32;
    }
    // SAFETY: plain system call wrapper.
    unsafe {
        umask(m);
    }
}

/// Starts pcheck on an entry whose restart is `restart` and kills the daemon once; returns
/// the stand-in's name after the entry reached RETRY_OVER (retry 3).
fn fail_restarts(env: &Env, n: u32, restart: &str) -> String {
    let name = env.name("d");
    let pfile = env.pfile(
        "pfile_t",
        key(n),
        1,
        &[format!("{name}:{restart}:0:3:continue")],
    );
    let pid = env.start_daemon(&name);
    env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    kill(pid);
    env.wait_log(&format!("({name}) RETRY_OVER:CONTINUE"));
    name
}

#[test]
fn a_script_in_a_directory_nobody_owns_is_refused() {
    // Finding 3: the script itself is root's and 0755, but its directory belongs to nobody,
    // who could replace it at any time.
    if !needs_root("a_script_in_a_directory_nobody_owns_is_refused") {
        return;
    }
    let env = Env::new("nobodydir");
    let dir = env.path("nobody");
    nobody_dir(&dir);
    let ran = env.path("ran");
    let script = dir.join("restart.sh");
    std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", ran.display())).unwrap();
    mode(script.to_str().unwrap(), 0o755);
    let name = fail_restarts(&env, 2, script.to_str().unwrap());
    let refused = format!(
        "Restart script of ({name}) not run: {} is reached through {}, owned by uid 65534, neither root nor the caller",
        script.display(),
        dir.display()
    );
    assert_eq!(env.count_log(&refused), 3, "{:#?}", env.log());
    assert!(!ran.exists(), "the script in nobody's directory ran");
}

#[test]
fn a_group_writable_script_directory_is_refused() {
    // Same without root: a directory others may write (not sticky) is as good as theirs.
    let env = Env::new("gwdir");
    let dir = env.path("open");
    std::fs::create_dir(&dir).unwrap();
    mode(dir.to_str().unwrap(), 0o775);
    let ran = env.path("ran");
    let script = dir.join("restart.sh");
    std::fs::write(&script, format!("#!/bin/sh\ntouch {}\n", ran.display())).unwrap();
    mode(script.to_str().unwrap(), 0o755);
    let name = fail_restarts(&env, 3, script.to_str().unwrap());
    assert_eq!(
        env.count_log(&format!(
            "Restart script of ({name}) not run: {} is reached through {}, which is group- or world-writable (mode 0775)",
            script.display(),
            dir.display()
        )),
        3,
        "{:#?}",
        env.log()
    );
    assert!(!ran.exists());
}

#[test]
fn a_symlink_swapped_by_nobody_never_runs_nobodys_code_as_root() {
    // Finding 3, the demonstrated attack: the restart path is a link in nobody's directory that
    // nobody flips between the real script and their own as fast as they can, while pcheck
    // restarts over and over. The old check followed the link at one moment and the shell
    // opened it at another.
    if !needs_root("a_symlink_swapped_by_nobody_never_runs_nobodys_code_as_root") {
        return;
    }
    let env = Env::new("symswap");
    let name = env.name("d");
    // The real script fails, so that every attempt counts and the loop ends in RETRY_OVER
    // whoever wins each race.
    let good = env.script("good.sh", "exit 1");
    let dir = env.path("nobody");
    nobody_dir(&dir);
    let evil = dir.join("evil.sh");
    let pwned = dir.join("pwned");
    std::fs::write(&evil, format!("#!/bin/sh\nid -u >> {}\n", pwned.display())).unwrap();
    std::os::unix::fs::chown(&evil, Some(NOBODY), Some(NOBODY)).unwrap();
    mode(evil.to_str().unwrap(), 0o755);
    let link = dir.join("restart.sh");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
    // In-process renames (perl), so the link flips every few microseconds.
    let swap = format!(
        "while (1) {{ symlink('{evil}', '{link}.n'); rename('{link}.n', '{link}'); symlink('{good}', '{link}.n'); rename('{link}.n', '{link}') }} # {tag}",
        evil = evil.display(),
        link = link.display(),
        tag = env.tag
    );
    let mut swapper = as_nobody(&["perl", "-e", &swap]).spawn().unwrap();
    let pfile = env.pfile(
        "pfile_t",
        key(4),
        1,
        &[format!("{name}:{}:0:50:continue", link.display())],
    );
    let pid = env.start_daemon(&name);
    let pcpid = env.pcheck_pid(env.pcheck(&["-f", &pfile]));
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    kill(pid);
    env.wait_log(&format!("({name}) RETRY_OVER:CONTINUE"));
    let _ = swapper.kill();
    let _ = swapper.wait();
    let ran_as = std::fs::read_to_string(&pwned).unwrap_or_default();
    assert!(ran_as.is_empty(), "nobody's script ran as uid(s) {ran_as}");
    assert_eq!(env.count_log(&format!("Try to restart ({name})")), 50);
    let refusals: Vec<String> = env
        .norm_log(&[])
        .into_iter()
        .filter(|l| l.contains(&format!("Restart script of ({name}) not run:")))
        .collect();
    assert_eq!(refusals.len(), 50, "{:#?}", env.log());
    let mut reasons = refusals.clone();
    reasons.sort();
    reasons.dedup();
    // The link is refused for its directory, whichever script it points at when it is checked.
    assert_lines(
        &reasons,
        &[format!(
            "pcheck[{pcpid}]: Restart script of ({name}) not run: [DIR]/nobody/restart.sh is reached through [DIR]/nobody, owned by uid 65534, neither root nor the caller"
        )],
    );
}

#[test]
fn a_health_check_link_swapped_by_nobody_never_runs_nobodys_code_as_root() {
    // The same race against the health check of spec 7, which pcheck runs as root every
    // interval: the check goes through the restart path's trust walk and runs the checked
    // descriptor, so nobody's flips never reach an exec.
    if !needs_root("a_health_check_link_swapped_by_nobody_never_runs_nobodys_code_as_root") {
        return;
    }
    let env = Env::new("hcswap");
    let name = env.name("d");
    let good = env.script("alive.sh", "exit 0");
    let dir = env.path("nobody");
    nobody_dir(&dir);
    let evil = dir.join("evil.sh");
    let pwned = dir.join("pwned");
    std::fs::write(&evil, format!("#!/bin/sh\nid -u >> {}\n", pwned.display())).unwrap();
    std::os::unix::fs::chown(&evil, Some(NOBODY), Some(NOBODY)).unwrap();
    mode(evil.to_str().unwrap(), 0o755);
    let link = dir.join("check.sh");
    std::os::unix::fs::symlink(&good, &link).unwrap();
    std::os::unix::fs::lchown(&link, Some(NOBODY), Some(NOBODY)).unwrap();
    let swap = format!(
        "while (1) {{ symlink('{evil}', '{link}.n'); rename('{link}.n', '{link}'); symlink('{good}', '{link}.n'); rename('{link}.n', '{link}') }} # {tag}",
        evil = evil.display(),
        link = link.display(),
        tag = env.tag
    );
    let mut swapper = as_nobody(&["perl", "-e", &swap]).spawn().unwrap();
    let pfile = env.pfile(
        "pfile_t",
        key(11),
        1,
        &[format!(
            "{name}:-:0:3:continue:health_exec={}:health_interval=1:health_failures=3:stop_timeout=1",
            link.display()
        )],
    );
    let pid = env.start_daemon(&name);
    let pcpid = env.pcheck_pid(env.pcheck(&["-f", &pfile]));
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    env.wait_log(&format!("Process [{name}, pid={pid}] Stall"));
    let _ = swapper.kill();
    let _ = swapper.wait();
    let ran_as = std::fs::read_to_string(&pwned).unwrap_or_default();
    assert!(ran_as.is_empty(), "nobody's check ran as uid(s) {ran_as}");
    let refusals: Vec<String> = env
        .norm_log(&[pid])
        .into_iter()
        .filter(|l| l.contains(&format!("Health check of ({name}, pid=")))
        .collect();
    assert_lines(
        &refusals,
        &(1..=3)
            .map(|k| {
                format!(
                    "pcheck[{pcpid}]: Health check of ({name}, pid=[PID]) failed ({k} of 3): [DIR]/nobody/check.sh is reached through [DIR]/nobody, owned by uid 65534, neither root nor the caller"
                )
            })
            .collect::<Vec<_>>(),
    );
}

#[test]
fn a_pfile_others_could_write_is_refused_at_start_and_reload() {
    // Finding 3, the pfile: refused before it is read, at start (exit 2) and at reload (the
    // running configuration stays).
    let env = Env::new("pfiletrust");
    let name = env.name("d");
    let sub = env.path("conf");
    std::fs::create_dir(&sub).unwrap();
    mode(sub.to_str().unwrap(), 0o777);
    let text = std::fs::read_to_string(env.pfile(
        "pfile_t",
        key(5),
        1,
        &[format!("{name}:-:0:3:continue")],
    ))
    .unwrap();
    let pfile = sub.join("pfile_t");
    std::fs::write(&pfile, &text).unwrap();
    let out = env.pcheck_run(&["-f", pfile.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert_text(
        &env.norm(&stderr(&out), &[]),
        "error: refusing the pfile [DIR]/conf/pfile_t: [DIR]/conf is writable by group or others (mode 0777)\n  \
         = help: pcheck reads only a pfile that root or its own user owns and nobody else can write, in directories likewise\n\
         pcheck: [DIR]/conf/pfile_t was refused; not started\n",
    );
    // A good pfile at start; then it becomes writable by others and a reload is refused.
    mode(sub.to_str().unwrap(), 0o755);
    let pid = env.start_daemon(&name);
    env.pcheck(&["-f", pfile.to_str().unwrap()]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    mode(pfile.to_str().unwrap(), 0o666);
    std::fs::write(&pfile, text.replace(&name, "other")).unwrap();
    let out = env.padmin(&["-f", pfile.to_str().unwrap(), "-c", "reload"]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert_text(
        &env.norm(&stderr(&out), &[]),
        "error: refusing the pfile [DIR]/conf/pfile_t: [DIR]/conf/pfile_t is writable by group or others (mode 0666)\n  \
         = help: pcheck reads only a pfile that root or its own user owns and nobody else can write, in directories likewise\n\
         padmin: [reload] refused by pcheck for [DIR]/conf/pfile_t\n",
    );
    let show = env.padmin(&["-f", pfile.to_str().unwrap(), "-c", "show pent"]);
    assert_text(&env.norm(&stdout(&show), &[]), &format!("pname          = {name}\npid            = {pid}\nretry_count    = 0\nrestart_count  = 0\nproc_sts       = AVAIL\nretry_over_act = continue\nrerun_time     = -----\npent_id        = 1\nmonitor_sts    = on\n"));
}

#[test]
fn files_that_are_not_pfiles_are_not_echoed() {
    // Finding 6: neither binary quotes /etc/shadow (or any non-pfile) in its errors.
    if !needs_root("files_that_are_not_pfiles_are_not_echoed") {
        return;
    }
    let env = Env::new("shadow");
    let shadow = std::fs::read_to_string("/etc/shadow").unwrap();
    // Every line, and every password field that is more than a lock mark.
    let secrets: Vec<&str> = shadow
        .lines()
        .chain(shadow.lines().filter_map(|l| l.split(':').nth(1)))
        .filter(|f| f.len() > 2)
        .collect();
    assert!(!secrets.is_empty());
    for out in [
        env.padmin(&["-f", "/etc/shadow", "-c", "show pent"]),
        env.pcheck_run(&["-f", "/etc/shadow"]),
    ] {
        assert_eq!(out.status.code(), Some(2));
        let text = format!("{}{}", stdout(&out), stderr(&out));
        for s in &secrets {
            assert!(!text.contains(s), "printed `{s}`:\n{text}");
        }
        // What is said about line 1 depends on the host's /etc/shadow: only its shape is ours.
        assert!(text.contains("] at /etc/shadow:1:"), "{text}");
    }
}

#[test]
fn a_plain_restart_command_is_executed_without_a_shell() {
    // Spec 3.3 step 4: `/path words` runs the program itself, its words as arguments (no
    // shell in between: the script's parent is pcheck), whatever the words hold as long as the
    // shell would give them no meaning (before, only `[A-Za-z0-9_/.,:=+@%-]` skipped the shell).
    let env = Env::new("plain");
    let name = env.name("d");
    let out = env.path("args");
    let script = env.script(
        "restart.sh",
        &format!(
            "printf '%s|' \"$@\" > {out}\ncat /proc/$PPID/comm >> {out}\nexec setsid -f bash -c 'exec -a {name} sleep 100000' </dev/null >/dev/null 2>&1",
            out = out.display()
        ),
    );
    let pfile = env.pfile(
        "pfile_t",
        key(6),
        1,
        &[format!("{name}:{script} a=b  c%d é x#y:86400:3:continue")],
    );
    let pid = env.start_daemon(&name);
    env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={pid}) Up"));
    kill(pid);
    env.wait_log_n(") Up", 2);
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "a=b|c%d|é|x#y|pcheck\n"
    );
}

/// Starts `bash -c 'exec -a NAME sleep 100000'` detached through `cmd` and returns its pid.
fn start_fake(name: &str, mut cmd: std::process::Command) -> i32 {
    let before = pids_named(name);
    cmd.args([
        "setsid",
        "-f",
        "bash",
        "-c",
        &format!("exec -a {name} sleep 100000"),
    ])
    .stdin(std::process::Stdio::null())
    .status()
    .unwrap();
    wait_for(
        || pids_named(name).into_iter().find(|p| !before.contains(p)),
        "fake start",
    )
}

#[test]
fn a_look_alike_started_earlier_by_nobody_is_not_watched() {
    // Finding 2: nobody's `exec -a NAME sleep` is older than the real daemon, so by spec 3.1
    // alone it would be watched. By default only root, pcheck's user and system accounts
    // match; an entry that lists its users trusts exactly those.
    if !needs_root("a_look_alike_started_earlier_by_nobody_is_not_watched") {
        return;
    }
    let env = Env::new("lookalike");
    let name = env.name("d");
    let fake = start_fake(&name, as_nobody(&[]));
    std::thread::sleep(Duration::from_millis(30));
    let real = env.start_daemon(&name);
    let theirs = env.name("n");
    let nobodys = start_fake(&theirs, as_nobody(&[]));
    let roots = env.name("r");
    start_fake(&roots, std::process::Command::new("env"));
    let pfile = env.pfile(
        "pfile_t",
        key(7),
        1,
        &[
            format!("{name}:-:0:0:continue"),
            format!("{theirs}:-:0:0:continue:user=nobody"),
            format!("{roots}:-:0:0:continue:user=nobody"),
        ],
    );
    let pcpid = env.pcheck_pid(env.pcheck(&["-f", &pfile]));
    env.wait_log(&format!("({name} ,pid={real}) Up"));
    env.wait_log(&format!("({theirs} ,pid={nobodys}) Up"));
    env.wait_log(&format!("Set pid fail ({roots})"));
    let log = env.log();
    assert!(
        !log.iter().any(|l| l.contains(&format!("pid={fake})"))),
        "{log:#?}"
    );
    // pcheck has looked once at each entry: nothing else happened that it would log.
    assert_lines(
        &env.norm_log(&[]),
        &[
            format!(
                "pcheck[{pcpid}]: Start pcheck pfile=[DIR]/pfile_t ipckey=0x{:08x} entries=3",
                key(7)
            ),
            format!("pcheck[{pcpid}]: ({name} ,pid={real}) Up"),
            format!("pcheck[{pcpid}]: ({theirs} ,pid={nobodys}) Up"),
            format!("pcheck[{pcpid}]: Set pid fail ({roots})"),
        ],
    );
    // Killing the fake changes nothing; killing the real one is noticed.
    signal(fake, "KILL");
    kill(real);
    env.wait_log(&format!("Process [{name}, pid={real}] Down"));
}

#[test]
fn an_absolute_pname_matches_only_that_executable() {
    // Finding 2: a pname that is a path also requires /proc/PID/exe to be that file, so a
    // trusted process with a forged argv[0] (started earlier) is not taken for it.
    let env = Env::new("exepath");
    let bin = env.path(&format!("{}sleeper", env.tag));
    std::fs::copy("/bin/sleep", &bin).unwrap();
    let path = bin.display().to_string();
    let forged = start_fake(&path, std::process::Command::new("env"));
    std::thread::sleep(Duration::from_millis(30));
    let before = pids_named(&path);
    std::process::Command::new("setsid")
        .args(["-f", &path, "100000"])
        .stdin(std::process::Stdio::null())
        .status()
        .unwrap();
    let real = wait_for(
        || pids_named(&path).into_iter().find(|p| !before.contains(p)),
        "real start",
    );
    let pfile = env.pfile("pfile_t", key(8), 1, &[format!("{path}:-:0:0:continue")]);
    let pcpid = env.pcheck_pid(env.pcheck(&["-f", &pfile]));
    env.wait_log(&format!("({path} ,pid={real}) Up"));
    // pcheck has looked at its one entry: nothing else happened that it would log.
    assert_lines(
        &env.norm_log(&[]),
        &[
            format!(
                "pcheck[{pcpid}]: Start pcheck pfile=[DIR]/pfile_t ipckey=0x{:08x} entries=1",
                key(8)
            ),
            format!("pcheck[{pcpid}]: ([DIR]/{}sleeper ,pid={real}) Up", env.tag),
        ],
    );
    assert!(
        !env.log()
            .iter()
            .any(|l| l.contains(&format!("pid={forged})"))),
        "{:#?}",
        env.log()
    );
}

#[test]
fn an_unknown_trusted_user_refuses_the_pfile() {
    let env = Env::new("unknownuser");
    let pfile = env.pfile(
        "pfile_t",
        key(9),
        1,
        &[format!(
            "{}:-:0:0:continue:user=no-such-user-x",
            env.name("d")
        )],
    );
    let out = env.pcheck_run(&["-f", &pfile]);
    assert_eq!(out.status.code(), Some(2));
    assert_text(
        &env.norm(&stderr(&out), &[]),
        &format!(
            "error: [DIR]/pfile_t: entry `{}` trusts user `no-such-user-x`, which /etc/passwd does not know\n\
             pcheck: [DIR]/pfile_t names a user this host does not know; not started\n",
            env.name("d")
        ),
    );
}

#[test]
fn huge_command_lines_still_match_exactly() {
    // Finding 12: a scan reads a bounded prefix of each command line. A process whose argv[0]
    // is longer than that still matches by its last path component (spec 3.1 unchanged), and
    // one with megabytes of arguments by its argv[0].
    let env = Env::new("hugeargv");
    let name = env.name("d");
    // argv[0] is any string (`exec -a`): a path no file system would allow.
    let dir = "/d".repeat(4000);
    let long_argv0 = format!("{dir}/{name}");
    assert!(long_argv0.len() > 6000);
    let a = start_fake(&long_argv0, std::process::Command::new("env"));
    let b_name = env.name("b");
    let before = pids_named(&b_name);
    std::process::Command::new("setsid")
        .args([
            "-f",
            "bash",
            "-c",
            &format!(
                "a=$(head -c 100000 /dev/zero | tr '\\0' x); exec -a {b_name} perl -e 'sleep 100000' {}",
                " $a".repeat(10)
            ),
        ])
        .stdin(std::process::Stdio::null())
        .status()
        .unwrap();
    let b = wait_for(
        || {
            pids_named(&b_name)
                .into_iter()
                .find(|p| !before.contains(p))
        },
        "b start",
    );
    let pfile = env.pfile(
        "pfile_t",
        key(10),
        1,
        &[
            format!("{name}:-:0:0:continue"),
            format!("{b_name}:-:0:0:continue"),
        ],
    );
    env.pcheck(&["-f", &pfile]);
    env.wait_log(&format!("({name} ,pid={a}) Up"));
    env.wait_log(&format!("({b_name} ,pid={b}) Up"));
}

//! Process discovery (spec 3.1, spec 6): one pass over /proc per scan for all entries, matched
//! through a hash map of pnames, so a 10,000-entry pfile costs no more per process than a
//! single entry. A scan reads of each process only what matching needs: its stat, a bounded
//! prefix of its command line (a pname is at most 4096 bytes), and, for a process whose name
//! matches, its uids (and executable, for an absolute pname).

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;
use std::os::fd::OwnedFd;
use std::os::unix::fs::MetadataExt;

use rustix::fs::{openat, statat, AtFlags, Mode, OFlags, CWD};

use crate::state::Ident;

/// What /proc/PID/stat says about a process (the fields we use).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub state: u8,
    pub pgrp: i32,
    pub flags: u64,
    /// Field 22: clock ticks after boot.
    pub start: u64,
}

const PF_KTHREAD: u64 = 0x0020_0000;

impl Stat {
    /// Parses the text of /proc/PID/stat. The command name (field 2) is in parentheses and may
    /// itself contain `)` and blanks, so the fields are counted from the last `)`.
    pub fn parse(text: &str) -> Option<Stat> {
        let rest = &text[text.rfind(')')? + 1..];
        let f: Vec<&str> = rest.split_ascii_whitespace().take(20).collect();
        // f[0] is field 3 (state): field N is f[N - 3].
        Some(Stat {
            state: *f.first()?.as_bytes().first()?,
            pgrp: f.get(2)?.parse().ok()?,
            flags: f.get(6)?.parse().ok()?,
            start: f.get(19)?.parse().ok()?,
        })
    }

    pub fn is_kernel_thread(&self) -> bool {
        self.flags & PF_KTHREAD != 0
    }

    /// Exited (zombie or dead): no longer a live process, whatever kill(pid, 0) says.
    pub fn has_exited(&self) -> bool {
        matches!(self.state, b'Z' | b'X' | b'x')
    }
}

pub fn read_stat(pid: i32) -> Option<Stat> {
    Stat::parse(&fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// True when `id` still names a live process: same pid, same start time, not exited.
pub fn is_same_live(id: Ident) -> bool {
    read_stat(id.pid).is_some_and(|s| s.start == id.start && !s.has_exited())
}

/// The three names spec 3.1 matches a pname against: the full command line (arguments joined by
/// single blanks), argv[0], and — usable only by a pname without `/` or blank — the last path
/// component of argv[0].
pub fn candidate_names(cmdline: &[u8]) -> Vec<String> {
    let args: Vec<String> = cmdline
        .strip_suffix(b"\0")
        .unwrap_or(cmdline)
        .split(|&b| b == 0)
        .map(|a| String::from_utf8_lossy(a).into_owned())
        .collect();
    let mut out = vec![args.join(" ")];
    let argv0 = &args[0];
    if *argv0 != out[0] {
        out.push(argv0.clone());
    }
    let base = argv0.rsplit('/').next().unwrap_or(argv0);
    if !base.contains(' ') && !base.is_empty() && base != argv0 && base != out[0] {
        out.push(base.to_owned());
    }
    out
}

/// Whether `pname` matches a process with this command line (spec 3.1).
pub fn matches(pname: &str, cmdline: &[u8]) -> bool {
    candidate_names(cmdline).iter().any(|c| c == pname)
}

/// How much of a command line a scan reads: a pname is at most this long, so a longer full
/// command line or argv[0] cannot match (one byte more tells "longer" from "as long", another
/// holds the terminating NUL).
const CMDLINE_PREFIX: usize = PNAME_MAX + 2;
const PNAME_MAX: usize = psctl::model::limits::PNAME_BYTES;

/// The names of [`candidate_names`] computed from the first [`CMDLINE_PREFIX`] bytes of a
/// command line, then (only when argv[0] does not end within them and `base_wanted`) from the
/// rest of argv[0], streamed through `more` without keeping it: exactly the names that could
/// equal a pname of at most [`PNAME_MAX`] bytes.
fn bounded_names(
    prefix: &[u8],
    complete: bool,
    base_wanted: bool,
    more: impl FnMut(&mut [u8]) -> usize,
) -> Vec<String> {
    if complete {
        return candidate_names(prefix);
    }
    // The full command line is longer than any pname: only argv[0] and its last component.
    match prefix.iter().position(|&b| b == 0) {
        // argv[0] alone: as "full line" it is argv[0] again, which changes nothing.
        Some(end) => candidate_names(&prefix[..=end]),
        None if base_wanted => long_argv0_base(prefix, more).into_iter().collect(),
        None => Vec::new(),
    }
}

/// The last path component of an argv[0] longer than the prefix, if it could be a pname.
fn long_argv0_base(prefix: &[u8], mut more: impl FnMut(&mut [u8]) -> usize) -> Option<String> {
    // Bytes after the last '/', capped: a longer component can match nothing.
    let mut tail: Vec<u8> = Vec::new();
    let mut overflow = false;
    let mut seen_slash = false;
    let mut feed = |chunk: &[u8], tail: &mut Vec<u8>| -> bool {
        for &b in chunk {
            match b {
                0 => return true,
                b'/' => {
                    seen_slash = true;
                    tail.clear();
                    overflow = false;
                }
                _ if tail.len() > PNAME_MAX => overflow = true,
                _ => tail.push(b),
            }
        }
        false
    };
    let mut done = feed(prefix, &mut tail);
    let mut buf = vec![0u8; 64 * 1024];
    while !done {
        let n = more(&mut buf);
        if n == 0 {
            break;
        }
        done = feed(&buf[..n], &mut tail);
    }
    let base = String::from_utf8_lossy(&tail).into_owned();
    (seen_slash && !overflow && !base.is_empty() && !base.contains(' ')).then_some(base)
}

/// Which accounts a process may belong to for an entry to watch it (spec 6).
#[derive(Debug, Clone, Copy)]
pub struct Accounts {
    /// pcheck's own uid.
    pub me: u32,
    /// UID_MIN of /etc/login.defs: below it, a system account.
    pub uid_min: u32,
}

/// The overflow uid that `nobody` has: never trusted by default.
const NOBODY: u32 = 65534;

impl Accounts {
    /// pcheck's own uid and the host's UID_MIN (read once: /etc/login.defs, 1000 if absent).
    pub fn host() -> Accounts {
        static UID_MIN: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
        Accounts {
            me: rustix::process::geteuid().as_raw(),
            uid_min: *UID_MIN.get_or_init(|| {
                fs::read_to_string("/etc/login.defs").map_or(1000, |t| uid_min(&t))
            }),
        }
    }

    /// Whether `uid` is trusted without an explicit list: root, pcheck's user, a system
    /// account; never nobody.
    pub fn trusted_by_default(&self, uid: u32) -> bool {
        uid == 0 || uid == self.me || (uid < self.uid_min && uid != NOBODY)
    }

    /// Whether a process with real uid `ruid` and effective uid `euid` may match an entry
    /// trusting `users` (resolved uids, as [`resolve_users`] leaves them; empty: the default).
    pub fn allows(&self, users: &[String], ruid: u32, euid: u32) -> bool {
        if users.is_empty() {
            return self.trusted_by_default(ruid) && self.trusted_by_default(euid);
        }
        let listed = |uid: u32| users.iter().any(|u| u.parse() == Ok(uid));
        listed(ruid) && listed(euid)
    }
}

/// UID_MIN from the text of /etc/login.defs (1000 when absent or unreadable).
pub fn uid_min(login_defs: &str) -> u32 {
    login_defs
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("UID_MIN")).then(|| w.next()?.parse().ok())?
        })
        .next_back()
        .unwrap_or(1000)
}

/// The uid of user `name` in the text of /etc/passwd.
pub fn passwd_uid(passwd: &str, name: &str) -> Option<u32> {
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(name)).then(|| f.nth(1)?.parse().ok())?
    })
}

/// Why [`resolve_users`] refused a pfile.
#[derive(Debug)]
pub enum UsersError {
    Passwd(std::io::Error),
    /// An entry trusts a user name that /etc/passwd does not know.
    Unknown {
        entry: String,
        user: String,
    },
}

impl std::fmt::Display for UsersError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            UsersError::Passwd(e) => write!(f, "cannot read /etc/passwd: {e}"),
            UsersError::Unknown { entry, user } => write!(
                f,
                "entry `{}` trusts user `{}`, which /etc/passwd does not know",
                psctl::escape::for_display(entry),
                psctl::escape::for_display(user)
            ),
        }
    }
}

impl std::error::Error for UsersError {}

/// Replaces every user name in the entries' `user` lists by its uid from /etc/passwd (a
/// numeric entry is a uid already), so that scans compare numbers. pcheck does this when it
/// loads a pfile; a name /etc/passwd does not know refuses the pfile.
pub fn resolve_users(
    svc: &mut psctl::model::Service,
    passwd: impl FnOnce() -> std::io::Result<String>,
) -> Result<(), UsersError> {
    if svc.processes.iter().all(|p| p.user.is_empty()) {
        return Ok(());
    }
    let text = passwd().map_err(UsersError::Passwd)?;
    for p in &mut svc.processes {
        for u in &mut p.user {
            if u.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let uid = passwd_uid(&text, u).ok_or_else(|| UsersError::Unknown {
                entry: p.name.clone(),
                user: u.clone(),
            })?;
            *u = uid.to_string();
        }
    }
    Ok(())
}

/// What a scan looks for: pname -> (entry index, the entry's trusted users as uids, how many
/// of the oldest matching processes it wants: `instances`).
pub type Wanted<'a> = HashMap<&'a str, (usize, &'a [String], usize)>;

/// One process, read through its /proc directory: every read refers to that very process
/// (a recycled pid has another directory), and reads stop when they have what matching needs.
struct ProcDir(OwnedFd);

impl ProcDir {
    fn open(pid: i32) -> Option<ProcDir> {
        let path = format!("/proc/{pid}");
        openat(
            CWD,
            path.as_str(),
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
        .map(ProcDir)
    }

    fn file(&self, name: &str) -> Option<fs::File> {
        openat(
            &self.0,
            name,
            OFlags::RDONLY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .ok()
        .map(fs::File::from)
    }

    /// Reads up to `buf.len()` bytes; `(n, complete)`, complete when the file ended before.
    fn read_prefix(f: &mut fs::File, buf: &mut [u8]) -> (usize, bool) {
        let mut n = 0;
        while n < buf.len() {
            match f.read(&mut buf[n..]) {
                Ok(0) => return (n, true),
                Ok(k) => n += k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return (n, true),
            }
        }
        (n, false)
    }

    /// Real and effective uid (`Uid:` of /proc/PID/status).
    fn uids(&self) -> Option<(u32, u32)> {
        let mut text = String::new();
        self.file("status")?.read_to_string(&mut text).ok()?;
        let line = text.lines().find_map(|l| l.strip_prefix("Uid:"))?;
        let mut w = line.split_whitespace().map(|v| v.parse::<u32>().ok());
        Some((w.next()??, w.next()??))
    }

    /// Device and inode of the process's executable.
    fn exe(&self) -> Option<(u64, u64)> {
        let st = statat(&self.0, "exe", AtFlags::empty()).ok()?;
        Some((st.st_dev, st.st_ino))
    }
}

/// One scan: for each wanted pname (mapped to its entry index, trusted users and count), the
/// oldest matching processes, oldest first, at most that many. Kernel threads, exited processes, pcheck itself and members of
/// `excluded_pgrps` (running restart scripts) never match; nor does a process whose real or
/// effective uid the entry does not trust, nor — for a pname that is an absolute path without
/// blanks — one whose executable is not that file (spec 6).
pub fn scan(wanted: &Wanted<'_>, excluded_pgrps: &HashSet<i32>) -> HashMap<usize, Vec<Ident>> {
    let mut best: HashMap<usize, Vec<Ident>> = HashMap::new();
    if wanted.is_empty() {
        return best;
    }
    let accounts = Accounts::host();
    // The file an absolute pname names, looked up once per scan and only when needed.
    let mut exe_of: HashMap<&str, Option<(u64, u64)>> = HashMap::new();
    let base_wanted = wanted.keys().any(|p| !p.contains(['/', ' ']));
    let me = std::process::id() as i32;
    let Ok(dir) = fs::read_dir("/proc") else {
        return best;
    };
    let mut buf = vec![0u8; CMDLINE_PREFIX];
    let mut stat_buf = String::with_capacity(512);
    for ent in dir.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Some(proc_dir) = ProcDir::open(pid) else {
            continue;
        };
        stat_buf.clear();
        let Some(st) = proc_dir
            .file("stat")
            .and_then(|mut f| f.read_to_string(&mut stat_buf).ok())
            .and_then(|_| Stat::parse(&stat_buf))
        else {
            continue;
        };
        if st.is_kernel_thread() || st.has_exited() || excluded_pgrps.contains(&st.pgrp) {
            continue;
        }
        let Some(mut f) = proc_dir.file("cmdline") else {
            continue;
        };
        let (n, complete) = ProcDir::read_prefix(&mut f, &mut buf);
        if n == 0 {
            continue; // kernel threads and some exiting processes have no command line
        }
        let names = bounded_names(&buf[..n], complete, base_wanted, |chunk| {
            ProcDir::read_prefix(&mut f, chunk).0
        });
        let id = Ident {
            pid,
            start: st.start,
        };
        let mut uids = None;
        for name in names {
            let Some((pname, &(i, users, n))) = wanted.get_key_value(name.as_str()) else {
                continue;
            };
            let n = n.max(1);
            let older = |a: &Ident, b: &Ident| (a.start, a.pid) <= (b.start, b.pid);
            if best.get(&i).is_some_and(|found| {
                found.len() >= n && found.last().is_some_and(|y| older(y, &id))
            }) || best.get(&i).is_some_and(|found| found.contains(&id))
            {
                continue;
            }
            let (ruid, euid) =
                *uids.get_or_insert_with(|| proc_dir.uids().unwrap_or((u32::MAX, u32::MAX)));
            if !accounts.allows(users, ruid, euid) {
                continue;
            }
            if pname.starts_with('/') && !pname.contains(' ') {
                let want = *exe_of
                    .entry(pname)
                    .or_insert_with(|| fs::metadata(pname).ok().map(|m| (m.dev(), m.ino())));
                if want.is_none() || proc_dir.exe() != want {
                    continue;
                }
            }
            let found = best.entry(i).or_default();
            let at = found.partition_point(|y| older(y, &id));
            found.insert(at, id);
            found.truncate(n);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_odd_command_name() {
        let text = "8033 (cr) o nd) S 1 8033 8033 0 -1 4194560 95 0 0 0 1 2 0 0 20 0 1 0 123456 5000 100 0 0";
        let s = Stat::parse(text).unwrap();
        assert_eq!((s.state, s.pgrp, s.start), (b'S', 8033, 123456));
        assert!(!s.is_kernel_thread());
        let k = "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0";
        assert!(Stat::parse(k).unwrap().is_kernel_thread());
        assert!(Stat::parse("garbage").is_none());
        assert!(Stat::parse("1 (x) S 1").is_none());
    }

    #[test]
    fn matching_rules_of_spec_3_1() {
        let cl = b"/usr/sbin/crond\0-n\0";
        assert!(matches("/usr/sbin/crond -n", cl));
        assert!(matches("/usr/sbin/crond", cl));
        assert!(matches("crond", cl));
        assert!(!matches("crond -n", cl));
        assert!(!matches("sbin/crond", cl));
        assert!(!matches("cron", cl));
        // a pname with a blank never matches by last component
        assert!(!matches("my d", b"/opt/my d\0"));
        assert!(matches("/opt/my d", b"/opt/my d\0"));
    }

    #[test]
    fn own_process_identity() {
        let me = std::process::id() as i32;
        let st = read_stat(me).unwrap();
        assert!(is_same_live(Ident {
            pid: me,
            start: st.start
        }));
        // same pid, different start time: a recycled pid is not the watched process
        assert!(!is_same_live(Ident {
            pid: me,
            start: st.start + 1
        }));
    }

    #[test]
    fn scan_finds_the_oldest_and_honours_exclusions() {
        use std::process::Command;
        let name = format!("psctl-disc-{}", std::process::id());
        let spawn = || {
            Command::new("bash")
                .args(["-c", &format!("exec -a {name} sleep 30")])
                .spawn()
                .unwrap()
        };
        let mut a = spawn();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut b = spawn();
        let wanted: Wanted = [(name.as_str(), (7, &[][..], 1))].into();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let found = loop {
            let f = scan(&wanted, &HashSet::new());
            if f.get(&7).is_some_and(|ids| ids[0].pid == a.id() as i32)
                || std::time::Instant::now() > deadline
            {
                break f;
            }
        };
        assert_eq!(found[&7].len(), 1);
        assert_eq!(found[&7][0].pid, a.id() as i32, "oldest wins");
        // with instances = 2, both, oldest first
        let two: Wanted = [(name.as_str(), (7, &[][..], 2))].into();
        let both = loop {
            let f = scan(&two, &HashSet::new());
            if f.get(&7).is_some_and(|ids| ids.len() == 2) || std::time::Instant::now() > deadline {
                break f;
            }
        };
        assert_eq!(
            both[&7].iter().map(|i| i.pid).collect::<Vec<_>>(),
            [a.id() as i32, b.id() as i32]
        );
        let pgrp = read_stat(a.id() as i32).unwrap().pgrp;
        let excluded: HashSet<i32> = [pgrp].into();
        assert!(
            scan(&wanted, &excluded).is_empty(),
            "same process group as the test"
        );
        a.kill().unwrap();
        b.kill().unwrap();
        a.wait().unwrap();
        b.wait().unwrap();
    }

    #[test]
    fn bounded_reads_find_exactly_the_names_a_pname_can_match() {
        let long = "a".repeat(PNAME_MAX);
        let cases: Vec<Vec<u8>> = vec![
            b"/usr/sbin/crond\0-n\0".to_vec(),
            b"crond\0".to_vec(),
            b"no-nul-at-end".to_vec(),
            format!("/x/{long}\0arg\0").into_bytes(),
            format!("/x/y\0{long}{long}\0").into_bytes(),
            format!("/{long}/{long}/crond\0arg\0").into_bytes(),
            format!("/{long}/{long}/crond").into_bytes(),
            format!("/{long}/{long}/{long}").into_bytes(),
            format!("{long}{long}crond\0").into_bytes(),
            format!("/x/{}\0", "b".repeat(PNAME_MAX - 3)).into_bytes(),
            format!("/x/{}", "b".repeat(PNAME_MAX - 2)).into_bytes(),
        ];
        for cmd in cases {
            let cut = cmd.len().min(CMDLINE_PREFIX);
            let mut rest = &cmd[cut..];
            let got = bounded_names(&cmd[..cut], cut == cmd.len(), true, |buf| {
                let n = rest.len().min(buf.len());
                buf[..n].copy_from_slice(&rest[..n]);
                rest = &rest[n..];
                n
            });
            let want: Vec<String> = candidate_names(&cmd)
                .into_iter()
                .filter(|n| n.len() <= PNAME_MAX)
                .collect();
            let got: Vec<String> = got.into_iter().filter(|n| n.len() <= PNAME_MAX).collect();
            assert_eq!(
                got,
                want,
                "{:?}",
                String::from_utf8_lossy(&cmd[..cmd.len().min(40)])
            );
        }
    }

    #[test]
    fn accounts_trusted_by_default_and_by_list() {
        assert_eq!(uid_min("# c\nUID_MIN\t\t\t 500\nUID_MAX 60000\n"), 500);
        assert_eq!(uid_min("UID_MAX 60000\n"), 1000);
        let passwd = "root:x:0:0::/root:/bin/sh\npostgres:x:26:26::/var/lib/pgsql:/bin/sh\n";
        assert_eq!(passwd_uid(passwd, "postgres"), Some(26));
        assert_eq!(passwd_uid(passwd, "post"), None);
        let a = Accounts {
            me: 0,
            uid_min: 1000,
        };
        assert!(a.allows(&[], 0, 0));
        assert!(a.allows(&[], 26, 26), "a system account");
        assert!(!a.allows(&[], 1000, 1000), "a login account");
        assert!(!a.allows(&[], 65534, 65534), "nobody");
        assert!(!a.allows(&[], 0, 1000), "real and effective uid both count");
        assert!(!a.allows(&[], 1000, 0));
        let listed = ["26".to_owned()];
        assert!(a.allows(&listed, 26, 26));
        assert!(!a.allows(&listed, 0, 0), "an explicit list is exact");
        let mut svc = psctl::pfile::parse_bytes(
            "p",
            b"IPCKEY 1\npg:-:0:0:exit:user=postgres,7\nx:-:0:0:exit:user=nope\n",
            "p",
        )
        .service
        .unwrap();
        let e = resolve_users(&mut svc, || Ok(passwd.to_owned())).unwrap_err();
        assert_eq!(
            e.to_string(),
            "entry `x` trusts user `nope`, which /etc/passwd does not know"
        );
        assert_eq!(svc.processes[0].user[..], ["26", "7"]);
    }
}

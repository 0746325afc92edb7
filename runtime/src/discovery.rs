//! Process discovery (spec 3.1): one pass over /proc per scan for all entries, matched through
//! a hash map of pnames, so a 10,000-entry pfile costs no more per process than a single entry.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::io::Read;

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

/// One scan: for each wanted pname (mapped to its entry index), the oldest matching process.
/// Kernel threads, exited processes, pcheck itself and members of `excluded_pgrps` (running
/// restart scripts) never match.
pub fn scan(wanted: &HashMap<&str, usize>, excluded_pgrps: &HashSet<i32>) -> HashMap<usize, Ident> {
    let mut best: HashMap<usize, Ident> = HashMap::new();
    if wanted.is_empty() {
        return best;
    }
    let me = std::process::id() as i32;
    let Ok(dir) = fs::read_dir("/proc") else {
        return best;
    };
    let mut buf = Vec::with_capacity(4096);
    for ent in dir.flatten() {
        let Some(pid) = ent.file_name().to_str().and_then(|s| s.parse::<i32>().ok()) else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Some(st) = read_stat(pid) else { continue };
        if st.is_kernel_thread() || st.has_exited() || excluded_pgrps.contains(&st.pgrp) {
            continue;
        }
        buf.clear();
        let Ok(mut f) = fs::File::open(format!("/proc/{pid}/cmdline")) else {
            continue;
        };
        if f.read_to_end(&mut buf).is_err() || buf.is_empty() {
            continue; // kernel threads and some exiting processes have no command line
        }
        let id = Ident {
            pid,
            start: st.start,
        };
        for name in candidate_names(&buf) {
            if let Some(&i) = wanted.get(name.as_str()) {
                let slot = best.entry(i).or_insert(id);
                if (id.start, id.pid) < (slot.start, slot.pid) {
                    *slot = id;
                }
            }
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
        let wanted: HashMap<&str, usize> = [(name.as_str(), 7)].into();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let found = loop {
            let f = scan(&wanted, &HashSet::new());
            if f.get(&7).is_some_and(|id| id.pid == a.id() as i32)
                || std::time::Instant::now() > deadline
            {
                break f;
            }
        };
        assert_eq!(found[&7].pid, a.id() as i32, "oldest wins");
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
}

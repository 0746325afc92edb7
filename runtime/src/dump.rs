//! The state dump (spec 3.5), format `pcheck-dump 3`: a header block of `key = value` lines,
//! then one block per entry, then one per group (spec 7), blocks separated by a blank line.
//! Version 3 adds spec 7's state to the entry blocks (`pids`, `instances`, `group`,
//! `health_failures`, `stalled`, `backoff`) and the group blocks (`gname` first); versions 2
//! and 1 are still read (entries without that state, no groups). Times are epoch seconds so that
//! the reader renders them in its own local time; values are escaped (`\\`, `\n`, `\r`) so that
//! no value can add a line. Documented in docs/runtime.md.
//!
//! Written atomically through a handle on its directory (temporary file, fsync, rename; no
//! symbolic link followed, the directory checked by the trust rules and writable by nobody
//! else). Read strictly: every value is range-checked, and a bad one is refused with its line.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::Write;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use rustix::fs::{fstat, openat, renameat, unlinkat, AtFlags, Mode, OFlags};
use rustix::io::Errno;

use crate::clock;
use crate::syslog::{self, Logger};
use crate::view::{Backoff, GroupView, ParamView, PentExt, PentView};

pub const MAGIC: &str = "pcheck-dump 3";
/// Still read (no spec 7 state, no groups).
const MAGIC_V2: &str = "pcheck-dump 2";
/// Still read (no escapes, no `script` lines).
const MAGIC_V1: &str = "pcheck-dump 1";
/// The largest pid Linux can hand out (PID_MAX_LIMIT).
pub const PID_MAX: i64 = 1 << 22;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// When it was written (epoch seconds).
    pub written: i64,
    pub pid: u32,
    pub ipckey: u32,
    pub param: ParamView,
    pub pents: Vec<PentView>,
    pub groups: Vec<GroupView>,
}

/// Why a dump could not be read or written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DumpError {
    /// Not a dump of a version this reader knows.
    NotADump,
    /// A line that is wrong, with its number (1-based) and what is wrong.
    Line(usize, String),
    /// A key a block must have.
    Missing(&'static str),
    /// The directory (or a directory or link on its path) fails the trust rules.
    Untrusted(String),
    Io(String),
}

impl fmt::Display for DumpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DumpError::NotADump => write!(f, "not a `{MAGIC}` file"),
            DumpError::Line(n, m) => write!(f, "line {n}: {m}"),
            DumpError::Missing(k) => write!(f, "missing `{k}`"),
            DumpError::Untrusted(m) | DumpError::Io(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for DumpError {}

/// `\`, newline and carriage return escaped, so that a value is one line whatever it holds.
fn encode(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn decode(v: &str) -> Option<String> {
    let mut out = String::with_capacity(v.len());
    let mut it = v.chars();
    while let Some(c) = it.next() {
        match c {
            '\\' => out.push(match it.next()? {
                '\\' => '\\',
                'n' => '\n',
                'r' => '\r',
                _ => return None,
            }),
            '\r' => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

impl Dump {
    pub fn to_text(&self) -> String {
        let p = &self.param;
        let mut out = format!(
            "{MAGIC}\nwritten = {}\npid = {}\nipckey = {}\npfile = {}\nmessage = {}\nmsg_check_interval = {}\nmonitor_interval = {}\nmonitor_try_count = {}\ndump_file = {}\n",
            self.written,
            self.pid,
            psctl::model::format_ipckey(self.ipckey),
            encode(&p.pfile),
            if p.running { "start" } else { "stop" },
            p.msg_check_interval,
            p.monitor_interval,
            p.monitor_try_count,
            encode(&p.dump_file),
        );
        for e in &self.pents {
            out.push_str(&format!(
                "\npname = {}\npid = {}\nretry_count = {}\nrestart_count = {}\nproc_sts = {}\nretry_over_act = {}\nrerun_time = {}\npent_id = {}\nmonitor_sts = {}\nscript = {}\n",
                encode(&e.pname),
                e.pid,
                e.retry_count,
                e.restart_count,
                e.proc_sts,
                e.retry_over_act,
                e.rerun_time.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                e.pent_id,
                if e.monitor_on { "on" } else { "off" },
                e.script.map_or_else(|| "-".to_owned(), |(g, s)| format!("{g} {s}")),
            ));
            let x = &e.ext;
            let pids: Vec<String> = x.pids.iter().map(i32::to_string).collect();
            out.push_str(&format!(
                "pids = {}\ninstances = {}\ngroup = {}\nhealth_failures = {}\nstalled = {}\nbackoff = {}\n",
                if pids.is_empty() { "-".to_owned() } else { pids.join(" ") },
                x.instances.max(1),
                x.group.as_deref().map_or_else(|| "-".to_owned(), encode),
                x.health_failures.map_or_else(|| "-".to_owned(), |n| n.to_string()),
                if x.stalled { "yes" } else { "no" },
                backoff_text(x.backoff),
            ));
        }
        for g in &self.groups {
            out.push_str(&format!(
                "\ngname = {}\nmembers = {}\nproc_sts = {}\nstate = {}\nretry_count = {}\nrestart_count = {}\nretry_over_act = {}\nrerun_time = {}\nbackoff = {}\nscript = {}\n",
                encode(&g.name),
                encode(&g.members.join("\t")),
                g.proc_sts,
                g.state,
                g.retry_count,
                g.restart_count,
                g.retry_over_act,
                g.rerun_time.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                backoff_text(g.backoff),
                g.script.map_or_else(|| "-".to_owned(), |(p, s)| format!("{p} {s}")),
            ));
        }
        out
    }

    pub fn parse(text: &str) -> Result<Dump, DumpError> {
        let (version, body) = if let Some(b) = text.strip_prefix(MAGIC) {
            (3, b)
        } else if let Some(b) = text.strip_prefix(MAGIC_V2) {
            (2, b)
        } else if let Some(b) = text.strip_prefix(MAGIC_V1) {
            (1, b)
        } else {
            return Err(DumpError::NotADump);
        };
        let escaped = version >= 2;
        let body = body.strip_prefix('\n').ok_or(DumpError::NotADump)?;
        // Lines end at `\n` only: a `\r` is part of a (v1) value, never eaten as a line end.
        let mut blocks: Vec<Block> = vec![Block::default()];
        for (n, line) in body.split('\n').enumerate() {
            let n = n + 2;
            if line.is_empty() {
                if !blocks.last().is_some_and(|b| b.is_empty()) {
                    blocks.push(Block::default());
                }
                continue;
            }
            let (k, v) = line.split_once(" = ").ok_or_else(|| {
                DumpError::Line(n, format!("`{}` is not `key = value`", show(line)))
            })?;
            let v = if escaped {
                decode(v)
                    .ok_or_else(|| DumpError::Line(n, format!("bad escape in `{}`", show(line))))?
            } else {
                v.to_owned()
            };
            let b = blocks.last_mut().expect("never empty");
            if b.keys.insert(k.to_owned(), (n, v)).is_some() {
                return Err(DumpError::Line(n, format!("`{}` given twice", show(k))));
            }
        }
        blocks.retain(|b| !b.is_empty());
        let mut blocks = blocks.into_iter();
        let h = blocks.next().ok_or(DumpError::Missing("written"))?;
        let mut pents = Vec::new();
        let mut groups = Vec::new();
        for b in blocks {
            if version >= 3 && b.keys.contains_key("gname") {
                groups.push(parse_group(&b)?);
                continue;
            }
            if !groups.is_empty() {
                return Err(DumpError::Line(
                    b.line("pname"),
                    "an entry after the groups".to_owned(),
                ));
            }
            let want_id = i64::try_from(pents.len())
                .unwrap_or(i64::MAX)
                .saturating_add(1);
            let (n, id) = b.int("pent_id", 1, i64::MAX)?;
            if id != want_id {
                return Err(DumpError::Line(
                    n,
                    format!("pent_id = {id}, but this is entry {want_id}"),
                ));
            }
            let rerun_time = match b.str("rerun_time")? {
                "-" => None,
                _ => Some(b.int("rerun_time", 0, clock::MAX_DISPLAYED)?.1),
            };
            let script = match b.str("script") {
                Err(_) | Ok("-") => None,
                Ok(v) => Some(parse_script(v).ok_or_else(|| {
                    DumpError::Line(b.line("script"), format!("bad script `{}`", show(v)))
                })?),
            };
            pents.push(PentView {
                pname: b.str("pname")?.to_owned(),
                pid: b.num("pid", 0, PID_MAX)?,
                retry_count: b.num("retry_count", 0, u32::MAX.into())?,
                restart_count: b.num("restart_count", 0, u32::MAX.into())?,
                proc_sts: b.one_of("proc_sts", &["AVAIL", "DOWN", "RETRY_OVER"])?,
                retry_over_act: b.one_of("retry_over_act", &["continue", "exit", "shutdown"])?,
                rerun_time,
                pent_id: b.num("pent_id", 1, i64::MAX)?,
                monitor_on: b.one_of("monitor_sts", &["on", "off"])? == "on",
                script,
                ext: if version >= 3 {
                    parse_ext(&b)?
                } else {
                    PentExt::default()
                },
            });
        }
        let fail = pents.iter().filter(|p| p.proc_sts == "RETRY_OVER").count();
        let stopped = pents.iter().filter(|p| !p.monitor_on).count();
        let key = h.str("ipckey")?;
        let ipckey = key
            .strip_prefix("0x")
            .and_then(|k| u32::from_str_radix(k, 16).ok())
            .filter(|k| (1..=0x7fff_ffff).contains(k))
            .ok_or_else(|| {
                DumpError::Line(h.line("ipckey"), format!("bad ipckey `{}`", show(key)))
            })?;
        Ok(Dump {
            written: h.int("written", 0, clock::MAX_DISPLAYED)?.1,
            pid: h.num("pid", 1, PID_MAX)?,
            ipckey,
            param: ParamView {
                // The ranges of spec 1.
                msg_check_interval: h.num("msg_check_interval", 1, 3600)?,
                monitor_interval: h.num("monitor_interval", 1, 86_400)?,
                monitor_try_count: h.num("monitor_try_count", 1, 100)?,
                dump_file: h.str("dump_file")?.to_owned(),
                pfile: h.str("pfile")?.to_owned(),
                running: h.one_of("message", &["start", "stop"])? == "start",
                monitor_stop_count: stopped,
                fail_proc_count: fail,
                all_proc_count: pents.len(),
            },
            pents,
            groups,
        })
    }
}

fn backoff_text(b: Option<Backoff>) -> String {
    b.map_or_else(|| "-".to_owned(), |b| format!("{} {}", b.until, b.seconds))
}

fn parse_backoff(b: &Block) -> Result<Option<Backoff>, DumpError> {
    let v = b.str("backoff")?;
    if v == "-" {
        return Ok(None);
    }
    let bad = || DumpError::Line(b.line("backoff"), format!("bad backoff `{}`", show(v)));
    let (until, secs) = v.split_once(' ').ok_or_else(bad)?;
    let until: i64 = until.parse().map_err(|_| bad())?;
    let seconds: u64 = secs.parse().map_err(|_| bad())?;
    if !(0..=clock::MAX_DISPLAYED).contains(&until)
        || seconds > u64::from(psctl::model::RETRY_DELAY_CAP)
    {
        return Err(bad());
    }
    Ok(Some(Backoff { until, seconds }))
}

/// The spec 7 state of an entry block (version 3).
fn parse_ext(b: &Block) -> Result<PentExt, DumpError> {
    let pids = match b.str("pids")? {
        "-" => Vec::new(),
        v => v
            .split(' ')
            .map(|p| {
                p.parse::<i32>()
                    .ok()
                    .filter(|&p| (1..=PID_MAX).contains(&i64::from(p)))
            })
            .collect::<Option<Vec<i32>>>()
            .ok_or_else(|| DumpError::Line(b.line("pids"), format!("bad pids `{}`", show(v))))?,
    };
    let instances = b.num("instances", 1, 1000)?;
    if pids.len() > instances as usize {
        return Err(DumpError::Line(
            b.line("pids"),
            format!("{} pids for {instances} instances", pids.len()),
        ));
    }
    Ok(PentExt {
        pids,
        instances,
        group: match b.str("group")? {
            "-" => None,
            g => Some(g.to_owned()),
        },
        health_failures: match b.str("health_failures")? {
            "-" => None,
            _ => Some(b.num("health_failures", 0, i64::from(u32::MAX))?),
        },
        stalled: b.one_of("stalled", &["yes", "no"])? == "yes",
        backoff: parse_backoff(b)?,
    })
}

fn parse_group(b: &Block) -> Result<GroupView, DumpError> {
    let script = match b.str("script")? {
        "-" => None,
        v => Some(parse_script(v).ok_or_else(|| {
            DumpError::Line(b.line("script"), format!("bad script `{}`", show(v)))
        })?),
    };
    let members = b.str("members")?;
    Ok(GroupView {
        name: b.str("gname")?.to_owned(),
        members: if members.is_empty() {
            Vec::new()
        } else {
            members.split('\t').map(str::to_owned).collect()
        },
        proc_sts: b.one_of("proc_sts", &["AVAIL", "DOWN", "RETRY_OVER"])?,
        state: b.one_of(
            "state",
            &[
                "watching",
                "restarting",
                "deferred",
                "backoff",
                "searching",
                "retry_over",
                "stopped",
            ],
        )?,
        retry_count: b.num("retry_count", 0, u32::MAX.into())?,
        restart_count: b.num("restart_count", 0, u32::MAX.into())?,
        retry_over_act: b.one_of("retry_over_act", &["continue", "exit", "shutdown"])?,
        rerun_time: match b.str("rerun_time")? {
            "-" => None,
            _ => Some(b.int("rerun_time", 0, clock::MAX_DISPLAYED)?.1),
        },
        backoff: parse_backoff(b)?,
        script,
    })
}

fn parse_script(v: &str) -> Option<(i32, u64)> {
    let (g, s) = v.split_once(' ')?;
    let g: i32 = g.parse().ok()?;
    (1..=PID_MAX).contains(&i64::from(g)).then_some(())?;
    Some((g, s.parse().ok()?))
}

/// A value as an error message may quote it.
fn show(v: &str) -> String {
    let short: String = v.chars().take(80).collect();
    psctl::escape::for_display(&short).into_owned()
}

#[derive(Default)]
struct Block {
    keys: HashMap<String, (usize, String)>,
}

impl Block {
    fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn line(&self, k: &str) -> usize {
        self.keys.get(k).map_or(0, |(n, _)| *n)
    }

    fn str(&self, k: &'static str) -> Result<&str, DumpError> {
        self.keys
            .get(k)
            .map(|(_, v)| v.as_str())
            .ok_or(DumpError::Missing(k))
    }

    /// An integer in `lo..=hi`, with its line.
    fn int(&self, k: &'static str, lo: i64, hi: i64) -> Result<(usize, i64), DumpError> {
        let v = self.str(k)?;
        let n = self.line(k);
        let x: i64 = v
            .parse()
            .map_err(|_| DumpError::Line(n, format!("{k} = `{}` is not a number", show(v))))?;
        if !(lo..=hi).contains(&x) {
            return Err(DumpError::Line(
                n,
                format!("{k} = {x} is out of range ({lo} to {hi})"),
            ));
        }
        Ok((n, x))
    }

    /// An integer in `lo..=hi`, converted without loss to the field's type.
    fn num<T: TryFrom<i64>>(&self, k: &'static str, lo: i64, hi: i64) -> Result<T, DumpError> {
        let (n, x) = self.int(k, lo, hi)?;
        T::try_from(x).map_err(|_| DumpError::Line(n, format!("{k} = {x} is out of range")))
    }

    fn one_of(&self, k: &'static str, allowed: &[&str]) -> Result<String, DumpError> {
        let v = self.str(k)?;
        if allowed.contains(&v) {
            Ok(v.to_owned())
        } else {
            Err(DumpError::Line(
                self.line(k),
                format!("{k} = `{}` is not one of {}", show(v), allowed.join(", ")),
            ))
        }
    }
}

/// Running scripts by name: (process group, start time).
pub type Scripts = HashMap<String, (i32, u64)>;

/// The dump's directory, opened once through the trust walk and then used as a handle, so a
/// link planted on its path later changes nothing.
pub struct DumpDir {
    file: PathBuf,
    dir: Option<OwnedFd>,
    /// The last error logged (each different error is logged once).
    error: Option<String>,
}

impl DumpDir {
    pub fn new(file: &str) -> DumpDir {
        DumpDir {
            file: PathBuf::from(file),
            dir: None,
            error: None,
        }
    }

    fn name(&self) -> Result<&std::ffi::OsStr, DumpError> {
        self.file
            .file_name()
            .ok_or_else(|| DumpError::Io(format!("{} names no file", self.file.display())))
    }

    fn tmp_prefix(&self) -> Result<String, DumpError> {
        Ok(format!(".{}.tmp-", self.name()?.to_string_lossy()))
    }

    fn dir(&mut self) -> Result<&OwnedFd, DumpError> {
        if self.dir.is_none() {
            let parent = self.file.parent().unwrap_or(Path::new("/"));
            self.dir = Some(open_dir(parent)?);
        }
        Ok(self.dir.as_ref().expect("just opened"))
    }

    /// Before the first write: removes temporary files a killed pcheck left, and returns, by
    /// pname and by group name, the restart scripts its dump says were running.
    pub fn previous_scripts(&mut self, log: &mut Logger) -> (Scripts, Scripts) {
        let found = self.clean_and_read();
        match found {
            Ok(Some(d)) => (
                d.pents
                    .into_iter()
                    .filter_map(|p| Some((p.pname, p.script?)))
                    .collect(),
                d.groups
                    .into_iter()
                    .filter_map(|g| Some((g.name, g.script?)))
                    .collect(),
            ),
            Ok(None) => Default::default(),
            Err(e) => {
                self.log_once(log, &e);
                Default::default()
            }
        }
    }

    fn clean_and_read(&mut self) -> Result<Option<Dump>, DumpError> {
        let prefix = self.tmp_prefix()?;
        let name = self.name()?.to_owned();
        let dir = self.dir()?;
        remove_temporaries(dir, &prefix);
        let fd = match openat(
            dir,
            &name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(None),
            Err(e) => return Err(DumpError::Io(format!("{}: {e}", self.file.display()))),
        };
        let st = fstat(&fd).map_err(|e| DumpError::Io(e.to_string()))?;
        if !is_regular(&st) {
            return Err(DumpError::Io(format!(
                "{} is not a regular file",
                self.file.display()
            )));
        }
        let mut text = String::new();
        use std::io::Read;
        std::fs::File::from(fd)
            .take(16 << 20)
            .read_to_string(&mut text)
            .map_err(|e| DumpError::Io(format!("{}: {e}", self.file.display())))?;
        // A dump we cannot read is simply not used (padmin reports it when asked).
        Ok(Dump::parse(&text).ok())
    }

    /// Rewrites the dump; logs a failure once (until it changes or writing works again).
    pub fn write(&mut self, text: &str, log: &mut Logger) {
        match self.try_write(text) {
            Ok(()) => self.error = None,
            Err(e) => {
                // A directory replaced meanwhile is walked again next time.
                self.dir = None;
                self.log_once(log, &e);
            }
        }
    }

    fn log_once(&mut self, log: &mut Logger, e: &DumpError) {
        let msg = format!("cannot write dump file {}: {e}", self.file.display());
        if self.error.as_ref() != Some(&msg) {
            log.log(syslog::ERR, &msg);
            self.error = Some(msg);
        }
    }

    fn try_write(&mut self, text: &str) -> Result<(), DumpError> {
        let name = self.name()?.to_owned();
        let tmp = format!("{}{}", self.tmp_prefix()?, std::process::id());
        let path = self.file.display().to_string();
        let dir = self.dir()?;
        let io = |e: std::io::Error| DumpError::Io(format!("{path}: {e}"));
        let _ = unlinkat(dir, tmp.as_str(), AtFlags::empty());
        let fd = openat(
            dir,
            tmp.as_str(),
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        )
        .map_err(|e| io(e.into()))?;
        let mut f = std::fs::File::from(fd);
        let written = f
            .write_all(text.as_bytes())
            .and_then(|()| f.sync_all())
            .map_err(io)
            .and_then(|()| renameat(dir, tmp.as_str(), dir, &name).map_err(|e| io(e.into())));
        if written.is_err() {
            let _ = unlinkat(dir, tmp.as_str(), AtFlags::empty());
        }
        written
    }
}

fn is_regular(st: &rustix::fs::Stat) -> bool {
    rustix::fs::FileType::from_raw_mode(st.st_mode) == rustix::fs::FileType::RegularFile
}

/// Opens the dump directory (created if missing, mode 0755) by the trust walk, and refuses
/// one that others may write.
fn open_dir(path: &Path) -> Result<OwnedFd, DumpError> {
    let me = rustix::process::geteuid().as_raw();
    crate::dirs::open_private(path, me, 0o755, false)
        .map(|o| o.fd)
        .map_err(|e| DumpError::Untrusted(e.to_string()))
}

/// Removes `PREFIX*` temporary files (ours, left by a pcheck killed while writing) and files
/// of the old `.tmpXXXXXX` naming that hold a dump.
fn remove_temporaries(dir: &OwnedFd, prefix: &str) {
    let Ok(d) = openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let Ok(entries) = rustix::fs::Dir::read_from(&d) else {
        return;
    };
    let me = rustix::process::geteuid().as_raw();
    let mut seen = HashSet::new();
    for ent in entries.flatten() {
        let name = ent.file_name().to_string_lossy().into_owned();
        let ours = name.starts_with(prefix);
        let old_style = name.len() == 10 && name.starts_with(".tmp");
        if !(ours || old_style) || !seen.insert(name.clone()) {
            continue;
        }
        let Ok(fd) = openat(
            dir,
            name.as_str(),
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
            Mode::empty(),
        ) else {
            continue;
        };
        let Ok(st) = fstat(&fd) else { continue };
        if !is_regular(&st) || st.st_uid != me {
            continue;
        }
        if old_style {
            let mut head = [0u8; 12];
            let n = rustix::io::read(&fd, &mut head).unwrap_or(0);
            if &head[..n] != b"pcheck-dump " {
                continue;
            }
        }
        let _ = unlinkat(dir, name.as_str(), AtFlags::empty());
    }
}

#[cfg(test)]
#[path = "dump_tests.rs"]
mod tests;

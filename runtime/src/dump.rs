//! The state dump (spec 3.5), format `pcheck-dump 1`: a header block of `key = value` lines,
//! then one block per entry, blocks separated by a blank line. Times are epoch seconds so that
//! the reader renders them in its own local time. Rewritten atomically: temp file, fsync,
//! rename. Documented in docs/runtime.md.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use crate::view::{ParamView, PentView};

pub const MAGIC: &str = "pcheck-dump 1";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dump {
    /// When it was written (epoch seconds).
    pub written: i64,
    pub pid: u32,
    pub ipckey: u32,
    pub param: ParamView,
    pub pents: Vec<PentView>,
}

impl Dump {
    pub fn to_text(&self) -> String {
        let p = &self.param;
        let mut out = format!(
            "{MAGIC}\nwritten = {}\npid = {}\nipckey = {}\npfile = {}\nmessage = {}\nmsg_check_interval = {}\nmonitor_interval = {}\nmonitor_try_count = {}\ndump_file = {}\n",
            self.written,
            self.pid,
            psctl::model::format_ipckey(self.ipckey),
            p.pfile,
            if p.running { "start" } else { "stop" },
            p.msg_check_interval,
            p.monitor_interval,
            p.monitor_try_count,
            p.dump_file,
        );
        for e in &self.pents {
            out.push_str(&format!(
                "\npname = {}\npid = {}\nretry_count = {}\nrestart_count = {}\nproc_sts = {}\nretry_over_act = {}\nrerun_time = {}\npent_id = {}\nmonitor_sts = {}\n",
                e.pname,
                e.pid,
                e.retry_count,
                e.restart_count,
                e.proc_sts,
                e.retry_over_act,
                e.rerun_time.map_or_else(|| "-".to_owned(), |t| t.to_string()),
                e.pent_id,
                if e.monitor_on { "on" } else { "off" },
            ));
        }
        out
    }

    pub fn parse(text: &str) -> Result<Dump, String> {
        let body = text
            .strip_prefix(MAGIC)
            .and_then(|b| b.strip_prefix('\n'))
            .ok_or_else(|| format!("not a `{MAGIC}` file"))?;
        let mut blocks = body.split("\n\n").map(block);
        let h = blocks.next().ok_or("empty dump")??;
        let num = |m: &HashMap<&str, &str>, k: &str| -> Result<i64, String> {
            m.get(k)
                .ok_or(format!("missing `{k}`"))?
                .parse::<i64>()
                .map_err(|_| format!("bad `{k}`"))
        };
        let s = |m: &HashMap<&str, &str>, k: &str| -> Result<String, String> {
            Ok(m.get(k).ok_or(format!("missing `{k}`"))?.to_string())
        };
        let key = s(&h, "ipckey")?;
        let ipckey = u32::from_str_radix(key.trim_start_matches("0x"), 16)
            .map_err(|_| "bad `ipckey`".to_owned())?;
        let mut pents = Vec::new();
        for b in blocks {
            let b = b?;
            pents.push(PentView {
                pname: s(&b, "pname")?,
                pid: num(&b, "pid")? as i32,
                retry_count: num(&b, "retry_count")? as u32,
                restart_count: num(&b, "restart_count")? as u32,
                proc_sts: s(&b, "proc_sts")?,
                retry_over_act: s(&b, "retry_over_act")?,
                rerun_time: match b.get("rerun_time") {
                    Some(&"-") => None,
                    _ => Some(num(&b, "rerun_time")?),
                },
                pent_id: num(&b, "pent_id")? as usize,
                monitor_on: s(&b, "monitor_sts")? == "on",
            });
        }
        let fail = pents.iter().filter(|p| p.proc_sts == "RETRY_OVER").count();
        let stopped = pents.iter().filter(|p| !p.monitor_on).count();
        Ok(Dump {
            written: num(&h, "written")?,
            pid: num(&h, "pid")? as u32,
            ipckey,
            param: ParamView {
                msg_check_interval: num(&h, "msg_check_interval")? as u32,
                monitor_interval: num(&h, "monitor_interval")? as u32,
                monitor_try_count: num(&h, "monitor_try_count")? as u32,
                dump_file: s(&h, "dump_file")?,
                pfile: s(&h, "pfile")?,
                running: s(&h, "message")? == "start",
                monitor_stop_count: stopped,
                fail_proc_count: fail,
                all_proc_count: pents.len(),
            },
            pents,
        })
    }
}

fn block(text: &str) -> Result<HashMap<&str, &str>, String> {
    text.lines()
        .filter(|l| !l.is_empty())
        .map(|l| l.split_once(" = ").ok_or_else(|| format!("bad line `{l}`")))
        .collect()
}

/// Temp file in the same directory, fsync, rename: readers see the old or the new dump, never
/// a partial one.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    tmp.write_all(text.as_bytes())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_atomic_write() {
        let pent = |id, sts: &str, t| PentView {
            pname: format!("p{id}"),
            pid: 10 + id as i32,
            retry_count: 1,
            restart_count: 3,
            proc_sts: sts.into(),
            retry_over_act: "continue".into(),
            rerun_time: t,
            pent_id: id,
            monitor_on: id == 1,
        };
        let d = Dump {
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
        };
        let text = d.to_text();
        assert_eq!(Dump::parse(&text).unwrap(), d);
        assert!(Dump::parse("garbage").is_err());
        assert!(Dump::parse(&text.replace("pid = 42", "pid = x")).is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/dump");
        write_atomic(&path, &text).unwrap();
        write_atomic(&path, &text).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text);
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
    }
}

//! syslog without libc's global state: the datagram glibc's syslog(3) writes to /dev/log,
//! `<PRI>Mmm dd hh:mm:ss ident[pid]: text`, facility daemon. `PCHECK_SYSLOG_SOCKET` names
//! another socket; when none is reachable the lines go to stderr, and we say so once.
//!
//! Nothing here may end pcheck: a write that fails (stderr a closed pipe or a hung-up
//! terminal, the socket gone) is said once where it still can be, else dropped. Text is
//! escaped (`psctl::escape`) so that no name can forge a line or drive a terminal.

use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};

use psctl::escape::for_display;

use crate::clock;

const LOG_DAEMON: u8 = 3 << 3;
pub const INFO: u8 = 6;
pub const NOTICE: u8 = 5;
pub const WARNING: u8 = 4;
pub const ERR: u8 = 3;

/// Writes to stderr without ever panicking.
pub fn try_stderr(text: &str) -> std::io::Result<()> {
    let mut err = std::io::stderr().lock();
    err.write_all(text.as_bytes()).and_then(|()| err.flush())
}

/// Writes to stdout without panicking: `Err` (e.g. BrokenPipe) when the reader is gone.
pub fn try_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush())
}

/// Multi-line text (diagnostics, answers) with each line escaped, the line ends kept.
pub fn escape_lines(text: &str) -> String {
    text.split_inclusive('\n')
        .map(|l| match l.strip_suffix('\n') {
            Some(body) => format!("{}\n", for_display(body)),
            None => for_display(l).into_owned(),
        })
        .collect()
}

pub struct Logger {
    ident: &'static str,
    pid: u32,
    path: PathBuf,
    sock: Option<UnixDatagram>,
    said_fallback: bool,
    said_full: bool,
    /// The last send found the socket full even after waiting.
    stalled: bool,
    /// A write to stderr failed (said once, through syslog if it works).
    stderr_broken: bool,
}

impl Logger {
    pub fn from_env(ident: &'static str) -> Logger {
        let path = std::env::var_os("PCHECK_SYSLOG_SOCKET")
            .filter(|p| !p.is_empty())
            .map_or_else(|| PathBuf::from("/dev/log"), PathBuf::from);
        Logger::to_socket(ident, &path)
    }

    pub fn to_socket(ident: &'static str, path: &Path) -> Logger {
        Logger {
            ident,
            pid: std::process::id(),
            path: path.to_owned(),
            sock: None,
            said_fallback: false,
            said_full: false,
            stalled: false,
            stderr_broken: false,
        }
    }

    /// The exact datagram glibc would send.
    pub fn format(ident: &str, pid: u32, severity: u8, t: i64, text: &str) -> String {
        format!(
            "<{}>{} {ident}[{pid}]: {text}",
            LOG_DAEMON | (severity & 7),
            clock::syslog_stamp(t)
        )
    }

    fn connect(&self) -> std::io::Result<UnixDatagram> {
        let s = UnixDatagram::unbound()?;
        s.connect(&self.path)?;
        // A stuck syslog daemon must never stall the event loop: when its socket is full the
        // line goes to stderr instead (see `log`).
        s.set_nonblocking(true)?;
        Ok(s)
    }

    fn send(&mut self, line: &str) -> std::io::Result<()> {
        if let Some(s) = &self.sock {
            match s.send(line.as_bytes()) {
                Ok(_) => {
                    self.stalled = false;
                    return Ok(());
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // The daemon's queue is full (it may be only 10 datagrams long): give it a
                    // moment to read, once; a daemon that does not read gets no more waiting.
                    if self.stalled {
                        return Err(e);
                    }
                    let mut fds = [rustix::event::PollFd::new(s, rustix::event::PollFlags::OUT)];
                    let wait = rustix::event::Timespec {
                        tv_sec: 0,
                        tv_nsec: 50_000_000,
                    };
                    let _ = rustix::event::poll(&mut fds, Some(&wait));
                    return match s.send(line.as_bytes()) {
                        Ok(_) => Ok(()),
                        Err(e) => {
                            self.stalled = true;
                            Err(e)
                        }
                    };
                }
                Err(_) => {}
            }
        }
        // (Re)connect once: the daemon may have restarted and made a new socket.
        self.sock = None;
        let s = self.connect()?;
        s.send(line.as_bytes())?;
        self.sock = Some(s);
        Ok(())
    }

    pub fn log(&mut self, severity: u8, text: &str) {
        let text = for_display(text);
        let line = Logger::format(self.ident, self.pid, severity, clock::now(), &text);
        if let Err(e) = self.send(&line) {
            let path = for_display(&self.path.to_string_lossy()).into_owned();
            if e.kind() == std::io::ErrorKind::WouldBlock {
                if !self.said_full {
                    self.said_full = true;
                    let _ = try_stderr(&format!(
                        "{}: syslog socket {path} is full; lines go to stderr while it is\n",
                        self.ident
                    ));
                }
            } else if !self.said_fallback {
                self.said_fallback = true;
                let _ = try_stderr(&format!(
                    "{}: syslog socket {path} is not reachable ({e}); logging to stderr\n",
                    self.ident
                ));
            }
            let plain = line.split_once('>').map_or(line.as_str(), |(_, l)| l);
            // Neither syslog nor stderr: there is nowhere left to say it; drop the line.
            let _ = try_stderr(&format!("{plain}\n"));
        }
    }

    /// Text meant for stderr (diagnostics of a refused reload, say), escaped line by line. If
    /// stderr cannot be written, that is logged once and the text dropped.
    pub fn stderr(&mut self, text: &str) {
        if let Err(e) = try_stderr(&escape_lines(text)) {
            if self.stderr_broken {
                return;
            }
            self.stderr_broken = true;
            self.log(
                ERR,
                &format!("cannot write to stderr ({e}); its messages are dropped"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datagram_shape_and_fallback() {
        let line = Logger::format(
            "pcheck",
            7750,
            4,
            1_169_127_283,
            "Process [crond, pid=8033] Down",
        );
        assert!(line.starts_with("<28>Jan 1"), "{line}");
        assert!(line.ends_with(" pcheck[7750]: Process [crond, pid=8033] Down"));
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).unwrap();
        let mut l = Logger {
            ident: "padmin",
            pid: 1,
            path: path.clone(),
            sock: None,
            said_fallback: false,
            said_full: false,
            stalled: false,
            stderr_broken: false,
        };
        l.log(INFO, "hello");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).unwrap();
        let got = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(
            got.starts_with("<30>") && got.ends_with(" padmin[1]: hello"),
            "{got}"
        );
        // A daemon that does not read: lines go to stderr, after one short wait only.
        let t = std::time::Instant::now();
        for i in 0..2000 {
            l.log(INFO, &format!("line {i}"));
        }
        assert!(l.said_full && l.stalled);
        assert!(t.elapsed() < std::time::Duration::from_secs(1));
        let n = server.recv(&mut buf).unwrap();
        assert!(std::str::from_utf8(&buf[..n]).unwrap().ends_with("line 0"));
        l.log(INFO, "room again");
        assert!(!l.stalled);
        drop(server);
        l.log(INFO, "to stderr");
        assert!(l.said_fallback);
    }
}

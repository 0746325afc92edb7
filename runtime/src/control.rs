//! The control channel (spec 4.1): one Unix stream socket per IPCKEY in the runtime directory,
//! mode 0600, peers checked with SO_PEERCRED. A `flock`ed lock file next to it tells a live
//! pcheck from a stale socket without races.
//!
//! Protocol: the client sends one request line (`info`, `show param`, `show pent`, `reload`,
//! `stop`, `start`, `shutdown`); the server answers with a status line (`0` done, `1` refused)
//! followed by the text padmin prints, and closes the connection.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rustix::fs::{flock, FlockOperation};

/// `$PCHECK_RUNTIME_DIR`, else `/run/pcheck`.
pub fn runtime_dir() -> PathBuf {
    std::env::var_os("PCHECK_RUNTIME_DIR")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/run/pcheck"), PathBuf::from)
}

pub fn socket_path(dir: &Path, key: u32) -> PathBuf {
    dir.join(format!("pcheck-{}.sock", psctl::model::format_ipckey(key)))
}

fn lock_path(dir: &Path, key: u32) -> PathBuf {
    dir.join(format!("pcheck-{}.lock", psctl::model::format_ipckey(key)))
}

/// Sends one request and returns (status, text). `Err` when nothing answers.
pub fn request(sock: &Path, req: &str) -> io::Result<(u8, String)> {
    let mut s = UnixStream::connect(sock)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    // A refusal may arrive (and the server close) before our request is written: read anyway.
    let sent = s.write_all(format!("{req}\n").as_bytes());
    let mut out = String::new();
    let got = s.read_to_string(&mut out);
    if out.is_empty() {
        sent?;
        got?;
    }
    let (status, text) = out
        .split_once('\n')
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no answer"))?;
    let status = status
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad answer"))?;
    Ok((status, text.to_owned()))
}

/// Live control sockets in `dir` (by file name), sorted.
pub fn list_sockets(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("pcheck-") && n.ends_with(".sock"))
        })
        .collect();
    v.sort();
    v
}

pub struct Conn {
    stream: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    sent: usize,
    deadline: Instant,
}

impl Conn {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

pub struct Server {
    listener: UnixListener,
    path: PathBuf,
    _lock: File,
    pub conns: Vec<Conn>,
}

/// Why a server could not start.
pub enum BindError {
    /// Another live pcheck holds the key; its `info` answer if it gave one.
    Busy(Option<String>),
    Io(String),
}

impl Server {
    pub fn bind(dir: &Path, key: u32) -> Result<Server, BindError> {
        let io = |what: &str, p: &Path, e: io::Error| {
            BindError::Io(format!("cannot {what} {}: {e}", p.display()))
        };
        if !dir.is_dir() {
            std::fs::create_dir_all(dir).map_err(|e| io("create", dir, e))?;
            let _ = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755));
        }
        let lock_p = lock_path(dir, key);
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&lock_p)
            .map_err(|e| io("open", &lock_p, e))?;
        let path = socket_path(dir, key);
        if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
            let info = request(&path, "info").ok().map(|(_, t)| t);
            return Err(BindError::Busy(info));
        }
        // We hold the lock: any socket left here belongs to a dead pcheck.
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(io("remove stale socket", &path, e)),
        }
        // umask so that the socket is never reachable with wider permissions, even briefly.
        let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
        let bound = UnixListener::bind(&path);
        rustix::process::umask(old);
        let listener = bound.map_err(|e| io("bind", &path, e))?;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| io("chmod", &path, e))?;
        listener
            .set_nonblocking(true)
            .map_err(|e| io("configure", &path, e))?;
        Ok(Server {
            listener,
            path,
            _lock: lock,
            conns: Vec::new(),
        })
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// Accepts waiting peers; those that are neither root nor our uid get a refusal.
    pub fn accept(&mut self, timeout: Duration) {
        let me = rustix::process::geteuid();
        while let Ok((stream, _)) = self.listener.accept() {
            let ok = rustix::net::sockopt::socket_peercred(&stream)
                .is_ok_and(|c| c.uid == me || c.uid.is_root());
            let _ = stream.set_nonblocking(true);
            let mut c = Conn {
                stream,
                inbuf: Vec::new(),
                out: Vec::new(),
                sent: 0,
                deadline: Instant::now() + timeout,
            };
            if !ok {
                c.out = b"1\npermission denied: not pcheck's user nor root\n".to_vec();
            }
            self.conns.push(c);
        }
    }

    /// Reads from connection `i`; returns a complete request line once there is one.
    pub fn read(&mut self, i: usize) -> Option<String> {
        let c = &mut self.conns[i];
        if c.wants_write() {
            return None;
        }
        let mut buf = [0u8; 512];
        loop {
            match c.stream.read(&mut buf) {
                Ok(0) => {
                    c.deadline = Instant::now(); // peer gave up: drop at once
                    return None;
                }
                Ok(n) => {
                    c.inbuf.extend_from_slice(&buf[..n]);
                    if let Some(end) = c.inbuf.iter().position(|&b| b == b'\n') {
                        let line = String::from_utf8_lossy(&c.inbuf[..end]).trim().to_owned();
                        return Some(line);
                    }
                    if c.inbuf.len() > 4096 {
                        c.out = b"1\nrequest too long\n".to_vec();
                        return None;
                    }
                }
                Err(_) => return None,
            }
        }
    }

    pub fn respond(&mut self, i: usize, status: u8, text: &str) {
        let c = &mut self.conns[i];
        c.out = format!("{status}\n{text}").into_bytes();
        c.sent = 0;
    }

    /// Writes what it can to connection `i`.
    pub fn write(&mut self, i: usize) {
        let c = &mut self.conns[i];
        while c.sent < c.out.len() {
            match c.stream.write(&c.out[c.sent..]) {
                Ok(n) if n > 0 => c.sent += n,
                Ok(_) => break,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => break,
            }
        }
        c.deadline = Instant::now(); // done (or failed): close
    }

    /// Closes finished and expired connections.
    pub fn reap(&mut self, now: Instant) {
        self.conns
            .retain(|c| now < c.deadline && !(c.wants_write() && c.sent >= c.out.len()));
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

impl Server {
    /// At shutdown: finish sending pending answers (briefly blocking).
    pub fn flush_all(&mut self) {
        for c in &mut self.conns {
            if c.sent < c.out.len() {
                let _ = c.stream.set_nonblocking(false);
                let _ = c.stream.set_write_timeout(Some(Duration::from_secs(1)));
                let _ = c.stream.write_all(&c.out[c.sent..]);
            }
        }
        self.conns.clear();
    }
}

//! The control channel (spec 4.1): one Unix stream socket per IPCKEY in the runtime directory,
//! mode 0600, peers checked with SO_PEERCRED both ways. A `flock`ed lock file next to it tells
//! a live pcheck from a stale socket without races.
//!
//! The runtime directory must belong to pcheck's uid and be writable by nobody else (spec 6);
//! lock and socket are made through its descriptor, never by a path a link could redirect.
//! pcheck watches the directory (inotify): if its lock or socket is removed while it runs, it
//! makes them again, so that a second pcheck can neither take the key nor hide this one.
//!
//! Protocol: the client sends one request line (`info`, `show param`, `show pent`, `reload`,
//! `stop`, `start`, `shutdown`); the server answers with a status line (`0` done, `1` refused)
//! followed by the text padmin prints, and closes the connection.

use std::ffi::OsStr;
use std::fmt;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::fs::{flock, fstat, openat, statat, unlinkat, AtFlags, FlockOperation, Mode, OFlags};
use rustix::fs::{inotify, FileType};
use rustix::io::Errno;

use crate::syslog::{self, Logger};

/// How long a connection may take from accept to its answer being sent: a client that sends
/// nothing, or does not read, is dropped then.
pub const CONN_DEADLINE: Duration = Duration::from_secs(3);
/// At the connection cap, a connection that has sent no request this long after it was
/// accepted gives its place to the next one waiting: a flood of idle clients then cycles
/// quickly, and a real client, which sends its request at once, is read before its turn.
const EVICT_AGE: Duration = Duration::from_millis(100);
/// How long accepting pauses after accept(2) failed (EMFILE...): the listener stays readable,
/// and polling it meanwhile would spin.
const ACCEPT_PAUSE: Duration = Duration::from_millis(100);

/// `$PCHECK_RUNTIME_DIR`, else `/run/pcheck`.
pub fn runtime_dir() -> PathBuf {
    std::env::var_os("PCHECK_RUNTIME_DIR")
        .filter(|p| !p.is_empty())
        .map_or_else(|| PathBuf::from("/run/pcheck"), PathBuf::from)
}

fn socket_name(key: u32) -> String {
    format!("pcheck-{}.sock", psctl::model::format_ipckey(key))
}

fn lock_name(key: u32) -> String {
    format!("pcheck-{}.lock", psctl::model::format_ipckey(key))
}

pub fn socket_path(dir: &Path, key: u32) -> PathBuf {
    dir.join(socket_name(key))
}

/// Why a request got no answer to believe.
#[derive(Debug)]
pub enum RequestError {
    Io(io::Error),
    /// The server is neither root nor the caller: whatever it says is not believed.
    Impostor(u32),
    BadAnswer,
}

impl fmt::Display for RequestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RequestError::Io(e) => write!(f, "{e}"),
            RequestError::Impostor(uid) => write!(
                f,
                "the socket is served by uid {uid}, neither root nor you: not believed"
            ),
            RequestError::BadAnswer => f.write_str("no valid answer"),
        }
    }
}

impl RequestError {
    pub fn kind(&self) -> io::ErrorKind {
        match self {
            RequestError::Io(e) => e.kind(),
            RequestError::Impostor(_) => io::ErrorKind::PermissionDenied,
            RequestError::BadAnswer => io::ErrorKind::InvalidData,
        }
    }
}

/// Sends one request and returns (status, text), once the server has shown (SO_PEERCRED) that
/// it runs as root or as the caller.
pub fn request(sock: &Path, req: &str) -> Result<(u8, String), RequestError> {
    let mut s = UnixStream::connect(sock).map_err(RequestError::Io)?;
    let me = rustix::process::geteuid();
    let peer = rustix::net::sockopt::socket_peercred(&s).map_err(|e| RequestError::Io(e.into()))?;
    if !(peer.uid.is_root() || peer.uid == me) {
        return Err(RequestError::Impostor(peer.uid.as_raw()));
    }
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .map_err(RequestError::Io)?;
    // A refusal may arrive (and the server close) before our request is written: read anyway.
    let sent = s.write_all(format!("{req}\n").as_bytes());
    let mut out = Vec::new();
    let got = (&mut s).take(64 << 20).read_to_end(&mut out);
    if out.is_empty() {
        sent.map_err(RequestError::Io)?;
        got.map_err(RequestError::Io)?;
    }
    let out = String::from_utf8_lossy(&out);
    let (status, text) = out.split_once('\n').ok_or(RequestError::BadAnswer)?;
    let status = status.parse().map_err(|_| RequestError::BadAnswer)?;
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
    /// Boot clock.
    accepted: Duration,
    deadline: Duration,
}

impl Conn {
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.stream.as_fd()
    }
    pub fn wants_write(&self) -> bool {
        !self.out.is_empty()
    }
    /// Has sent no complete request yet (nor been refused).
    fn idle(&self) -> bool {
        self.out.is_empty()
    }
}

pub struct Server {
    listener: UnixListener,
    dir: OwnedFd,
    dir_path: PathBuf,
    key: u32,
    lock: OwnedFd,
    /// The socket file's (device, inode) once bound (a socket descriptor does not name it).
    sock_id: Option<(u64, u64)>,
    /// Watches the runtime directory for our files being removed or moved.
    notify: Option<OwnedFd>,
    pub conns: Vec<Conn>,
    /// Accepting is paused until then (boot clock) after accept(2) failed.
    paused_until: Option<Duration>,
}

/// Why a server could not start.
#[derive(Debug)]
pub enum BindError {
    /// Another live pcheck holds the key; its `info` answer if it gave one.
    Busy(Option<String>),
    /// The runtime directory fails the trust rules (spec 6).
    Untrusted(String),
    Io(String),
}

impl fmt::Display for BindError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BindError::Busy(_) => f.write_str("the IPCKEY is held by a live pcheck"),
            BindError::Untrusted(m) => write!(f, "runtime directory refused: {m}"),
            BindError::Io(m) => f.write_str(m),
        }
    }
}

/// `/proc/self/fd/N/NAME`: a path that reaches NAME through the directory descriptor itself
/// (bind(2) has no *at form).
fn via_fd(dir: &OwnedFd, name: &str) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{}/{name}", dir.as_raw_fd()))
}

/// Opens (creating) the lock file in `dir` without following links, and checks what was
/// opened: a regular file of ours.
fn open_lock(dir: &OwnedFd, name: &str, me: u32) -> Result<OwnedFd, BindError> {
    let fd = openat(
        dir,
        name,
        OFlags::CREATE | OFlags::RDWR | OFlags::NOFOLLOW | OFlags::CLOEXEC | OFlags::NONBLOCK,
        Mode::from_raw_mode(0o600),
    )
    .map_err(|e| match e {
        // O_NOFOLLOW met a link where the lock goes: someone who could write in the directory
        // planted it; "set a writable directory" would send the operator the wrong way.
        rustix::io::Errno::LOOP => BindError::Untrusted(format!(
            "{name} is a symbolic link, not a lock pcheck made (remove it after finding out who planted it)"
        )),
        e => BindError::Io(format!("cannot open lock {name}: {}", io::Error::from(e))),
    })?;
    let st = fstat(&fd).map_err(|e| BindError::Io(e.to_string()))?;
    if FileType::from_raw_mode(st.st_mode) != FileType::RegularFile || st.st_uid != me {
        return Err(BindError::Untrusted(format!(
            "lock {name} is not a regular file of uid {me}"
        )));
    }
    Ok(fd)
}

fn bind_at(dir: &OwnedFd, name: &str) -> io::Result<UnixListener> {
    // umask so that the socket is never reachable with wider permissions, even briefly.
    let old = rustix::process::umask(Mode::from_raw_mode(0o177));
    let bound = UnixListener::bind(via_fd(dir, name));
    rustix::process::umask(old);
    let l = bound?;
    l.set_nonblocking(true)?;
    Ok(l)
}

/// (device, inode) of `name` in `dir`, not following a link.
fn file_id(dir: &OwnedFd, name: &str) -> Option<(u64, u64)> {
    statat(dir, name, AtFlags::SYMLINK_NOFOLLOW)
        .ok()
        .map(|st| (st.st_dev, st.st_ino))
}

/// (device, inode) of the file `fd` is open on.
fn fd_id(fd: BorrowedFd<'_>) -> Option<(u64, u64)> {
    fstat(fd).ok().map(|st| (st.st_dev, st.st_ino))
}

impl Server {
    pub fn bind(dir_path: &Path, key: u32) -> Result<Server, BindError> {
        let me = rustix::process::geteuid().as_raw();
        let dir = crate::dirs::open_private(dir_path, me, 0o755, true)
            .map_err(|e| BindError::Untrusted(e.to_string()))?
            .fd;
        let lock = open_lock(&dir, &lock_name(key), me)?;
        let sock = socket_name(key);
        let busy = || {
            let info = request(&via_fd(&dir, &sock), "info").ok().map(|(_, t)| t);
            BindError::Busy(info)
        };
        if flock(&lock, FlockOperation::NonBlockingLockExclusive).is_err() {
            return Err(busy());
        }
        // We hold the lock. A socket that still answers, from root or us, is a live pcheck
        // whose lock file was removed: it keeps the key.
        if let Ok(s) = UnixStream::connect(via_fd(&dir, &sock)) {
            let peer = rustix::net::sockopt::socket_peercred(&s);
            if peer.is_ok_and(|c| c.uid.is_root() || c.uid.as_raw() == me) {
                drop(s);
                return Err(busy());
            }
        }
        // Any socket left here belongs to a dead pcheck.
        match unlinkat(&dir, sock.as_str(), AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => {}
            Err(e) => {
                return Err(BindError::Io(format!(
                    "cannot remove stale socket {sock}: {}",
                    io::Error::from(e)
                )))
            }
        }
        let listener =
            bind_at(&dir, &sock).map_err(|e| BindError::Io(format!("cannot bind {sock}: {e}")))?;
        let sock_id = file_id(&dir, &sock);
        let notify = inotify::init(inotify::CreateFlags::CLOEXEC | inotify::CreateFlags::NONBLOCK)
            .ok()
            .filter(|n| {
                let p = format!("/proc/self/fd/{}", dir.as_raw_fd());
                let mask = inotify::WatchFlags::DELETE
                    | inotify::WatchFlags::MOVED_FROM
                    | inotify::WatchFlags::MOVED_TO
                    | inotify::WatchFlags::CREATE;
                inotify::add_watch(n, p.as_str(), mask).is_ok()
            });
        Ok(Server {
            listener,
            dir,
            dir_path: dir_path.to_owned(),
            key,
            lock,
            sock_id,
            notify,
            conns: Vec::new(),
            paused_until: None,
        })
    }

    pub fn listener_fd(&self) -> BorrowedFd<'_> {
        self.listener.as_fd()
    }

    /// The inotify descriptor, readable when something was removed from the directory.
    pub fn notify_fd(&self) -> Option<BorrowedFd<'_>> {
        self.notify.as_ref().map(|n| n.as_fd())
    }

    /// Whether the listener should be polled: below the connection cap (or with an idle
    /// connection to give way), and not paused.
    pub fn accepting(&self, now: Duration, cap: usize) -> bool {
        let room = self.conns.len() < cap || self.evictable(now).is_some();
        room && self.paused_until.is_none_or(|t| now >= t)
    }

    /// The oldest connection that may give its place to a new one.
    fn evictable(&self, now: Duration) -> Option<usize> {
        self.conns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.idle() && c.accepted.saturating_add(EVICT_AGE) <= now)
            .min_by_key(|(_, c)| c.accepted)
            .map(|(i, _)| i)
    }

    /// The next moment a connection expires, may be evicted, or accepting resumes.
    pub fn next_due(&self, cap: usize) -> Option<Duration> {
        let at_cap = self.conns.len() >= cap;
        self.conns
            .iter()
            .map(|c| c.deadline)
            .chain(
                self.conns
                    .iter()
                    .filter(|c| at_cap && c.idle())
                    .map(|c| c.accepted.saturating_add(EVICT_AGE)),
            )
            .chain(self.paused_until)
            .min()
    }

    /// Accepts waiting peers up to `cap` connections (at most `cap` per call, evicting idle
    /// ones at the cap); those that are neither root nor our uid get a refusal.
    pub fn accept(&mut self, now: Duration, cap: usize) {
        let me = rustix::process::geteuid();
        for _ in 0..cap {
            if self.conns.len() >= cap {
                match self.evictable(now) {
                    Some(i) => drop(self.conns.swap_remove(i)),
                    None => break,
                }
            }
            let stream = match self.listener.accept() {
                Ok((s, _)) => s,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => {
                    // EMFILE, ENFILE, ENOBUFS...: the peer stays queued; try again shortly.
                    self.paused_until = Some(now + ACCEPT_PAUSE);
                    return;
                }
            };
            let ok = rustix::net::sockopt::socket_peercred(&stream)
                .is_ok_and(|c| c.uid == me || c.uid.is_root());
            let _ = stream.set_nonblocking(true);
            let mut c = Conn {
                stream,
                inbuf: Vec::new(),
                out: Vec::new(),
                sent: 0,
                accepted: now,
                deadline: now + CONN_DEADLINE,
            };
            if !ok {
                c.out = b"1\npermission denied: not pcheck's user nor root\n".to_vec();
            }
            self.conns.push(c);
        }
        self.paused_until = None;
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
                    c.deadline = Duration::ZERO; // peer gave up: drop at once
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
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(_) => {
                    c.deadline = Duration::ZERO;
                    return None;
                }
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
        c.deadline = Duration::ZERO; // done (or failed): close
    }

    /// Closes finished and expired connections.
    pub fn reap(&mut self, now: Duration) {
        self.conns
            .retain(|c| now < c.deadline && !(c.wants_write() && c.sent >= c.out.len()));
    }

    /// At shutdown: one non-blocking attempt to send each pending answer (a client that does
    /// not read gets nothing more), then every connection is closed.
    pub fn flush_all(&mut self) {
        for c in &mut self.conns {
            if c.sent < c.out.len() {
                let _ = c.stream.write(&c.out[c.sent..]);
            }
        }
        self.conns.clear();
    }

    /// After the runtime directory changed: makes again a lock or socket that was removed or
    /// replaced while we run, so that no second pcheck can take the key.
    pub fn check_files(&mut self, log: &mut Logger) {
        let Some(n) = &self.notify else { return };
        let mut buf = [std::mem::MaybeUninit::<u8>::uninit(); 1024];
        let mut reader = inotify::Reader::new(n, &mut buf);
        let mut changed = false;
        while reader.next().is_ok() {
            changed = true;
        }
        if !changed {
            return;
        }
        let me = rustix::process::geteuid().as_raw();
        let lock = lock_name(self.key);
        if file_id(&self.dir, &lock) != fd_id(self.lock.as_fd()) {
            match open_lock(&self.dir, &lock, me).and_then(|fd| {
                flock(&fd, FlockOperation::NonBlockingLockExclusive)
                    .map(|()| fd)
                    .map_err(|_| BindError::Busy(None))
            }) {
                Ok(fd) => {
                    self.lock = fd;
                    log.log(
                        syslog::NOTICE,
                        &format!("{lock} was removed from the runtime directory; made again"),
                    );
                }
                Err(e) => log.log(syslog::ERR, &format!("cannot make {lock} again: {e}")),
            }
        }
        let sock = socket_name(self.key);
        if self.sock_id.is_none() || file_id(&self.dir, &sock) != self.sock_id {
            let _ = unlinkat(&self.dir, sock.as_str(), AtFlags::empty());
            match bind_at(&self.dir, &sock) {
                Ok(l) => {
                    self.listener = l;
                    self.sock_id = file_id(&self.dir, &sock);
                    log.log(
                        syslog::NOTICE,
                        &format!("{sock} was removed from the runtime directory; made again"),
                    );
                }
                Err(e) => log.log(syslog::ERR, &format!("cannot make {sock} again: {e}")),
            }
        }
    }

    pub fn dir_path(&self) -> &Path {
        &self.dir_path
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        // Only if it is still ours (a removed socket may have been made again by another).
        let sock = socket_name(self.key);
        if self.sock_id.is_some() && file_id(&self.dir, &sock) == self.sock_id {
            let _ = unlinkat(&self.dir, OsStr::new(&sock), AtFlags::empty());
        }
    }
}

//! SIGTERM, SIGINT and SIGHUP as a readable file descriptor (signalfd), so that the single
//! poll loop handles them like any other event. Restart scripts get a clean mask (see
//! `restart::spawn`).

use std::os::fd::{FromRawFd, OwnedFd};

pub fn block_and_open() -> std::io::Result<OwnedFd> {
    // SAFETY: plain libc calls on a sigset we own; the fd returned is checked and owned once.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for s in [libc::SIGTERM, libc::SIGINT, libc::SIGHUP] {
            libc::sigaddset(&mut set, s);
        }
        if libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut()) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let fd = libc::signalfd(-1, &set, libc::SFD_CLOEXEC | libc::SFD_NONBLOCK);
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(OwnedFd::from_raw_fd(fd))
    }
}

/// The signals waiting on the fd.
pub fn read(fd: &OwnedFd) -> Vec<i32> {
    let mut buf = [0u8; std::mem::size_of::<libc::signalfd_siginfo>()];
    let mut out = Vec::new();
    while let Ok(n) = rustix::io::read(fd, &mut buf) {
        if n < buf.len() {
            break;
        }
        // ssi_signo is the first u32 of signalfd_siginfo (a signal number: small, positive).
        out.push(i32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]));
    }
    out
}

pub const TERM: i32 = libc::SIGTERM;
pub const INT: i32 = libc::SIGINT;
pub const HUP: i32 = libc::SIGHUP;

//! The two clocks pcheck reads, and local-time formatting the way glibc prints it.
//!
//! Everything that measures time (grace windows, timeouts, scan periods) uses CLOCK_BOOTTIME,
//! which never jumps and keeps counting during a suspend; the wall clock is only read to display
//! a time (`rerun_time`, syslog stamps, the dump's `written`). Formats: syslog's
//! `Mmm dd hh:mm:ss` (day padded with a blank) and ctime's `Thu Jan 18 13:34:43 2007`, done by
//! hand from `localtime_r` so that no locale can change the English names.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Wall-clock seconds since the epoch (0 before 1970, saturated far in the future).
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Time since boot on CLOCK_BOOTTIME: the clock every duration is measured on.
pub fn boot() -> Duration {
    // SAFETY: clock_gettime only writes the timespec we own.
    let ts = unsafe {
        let mut ts: libc::timespec = std::mem::zeroed();
        libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut ts);
        ts
    };
    Duration::new(
        u64::try_from(ts.tv_sec).unwrap_or(0),
        u32::try_from(ts.tv_nsec).unwrap_or(0),
    )
}

/// Both clocks at once, as the state machine takes them.
pub fn both() -> crate::state::Now {
    crate::state::Now {
        boot: boot(),
        wall: now(),
    }
}

/// Clock ticks per second (`start` in /proc/PID/stat is counted in them, after boot).
pub fn ticks_per_second() -> u64 {
    // SAFETY: sysconf has no memory effects.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(hz).ok().filter(|&h| h > 0).unwrap_or(100)
}

/// The latest wall-clock time `ctime` renders with a four-digit year (9999-12-31 23:59:59
/// UTC); the dump reader refuses times beyond it.
pub const MAX_DISPLAYED: i64 = 253_402_300_799;

fn local(t: i64) -> libc::tm {
    // SAFETY: localtime_r only writes the tm we own; a zeroed tm is a valid value.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let tt: libc::time_t = t;
        libc::localtime_r(&tt, &mut tm);
        tm
    }
}

fn month(tm: &libc::tm) -> &'static str {
    MONTHS[usize::try_from(tm.tm_mon).map_or(0, |m| m.min(11))]
}

/// `Jan  8 13:34:43`
pub fn syslog_stamp(t: i64) -> String {
    let tm = local(t);
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        month(&tm),
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}

/// `Thu Jan 18 13:34:43 2007`
pub fn ctime(t: i64) -> String {
    let tm = local(t);
    format!(
        "{} {} {:>2} {:02}:{:02}:{:02} {}",
        DAYS[usize::try_from(tm.tm_wday).map_or(0, |d| d.min(6))],
        month(&tm),
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        i64::from(tm.tm_year) + 1900
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_glibc() {
        // Only run the exact comparison in UTC; elsewhere check the shape.
        let t = 1_169_127_283; // Thu Jan 18 13:34:43 2007 UTC
        let c = ctime(t);
        let s = syslog_stamp(t);
        assert_eq!(c.len(), 24);
        assert_eq!(s.len(), 15);
        if std::env::var("TZ").is_ok_and(|z| z == "UTC") || local(0).tm_gmtoff == 0 {
            assert_eq!(c, "Thu Jan 18 13:34:43 2007");
            assert_eq!(s, "Jan 18 13:34:43");
            assert_eq!(syslog_stamp(1_199_799_000), "Jan  8 13:30:00");
        }
    }
}

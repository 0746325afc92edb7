//! Local-time formatting the way glibc prints it: syslog's `Mmm dd hh:mm:ss` (day padded with a
//! blank) and ctime's `Thu Jan 18 13:34:43 2007`. Done by hand from `localtime_r` so that no
//! locale can change the English names.

use std::time::{SystemTime, UNIX_EPOCH};

const DAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Wall-clock seconds since the epoch.
pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

fn local(t: i64) -> libc::tm {
    // SAFETY: localtime_r only writes the tm we own; a zeroed tm is a valid value.
    unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        let tt: libc::time_t = t as libc::time_t;
        libc::localtime_r(&tt, &mut tm);
        tm
    }
}

/// `Jan  8 13:34:43`
pub fn syslog_stamp(t: i64) -> String {
    let tm = local(t);
    format!(
        "{} {:>2} {:02}:{:02}:{:02}",
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
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
        DAYS[tm.tm_wday.clamp(0, 6) as usize],
        MONTHS[tm.tm_mon.clamp(0, 11) as usize],
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        tm.tm_year + 1900
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

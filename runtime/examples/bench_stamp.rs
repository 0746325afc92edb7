//! Restart "script" for bench/runtime-bench: its first instruction appends CLOCK_REALTIME (ns)
//! to FILE, then it starts the stand-in daemon NAME detached and exits 0.
//! Usage: bench_stamp FILE NAME

use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let args: Vec<String> = std::env::args().collect();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(&args[1])
        .unwrap();
    writeln!(f, "{now}").unwrap();
    let st = std::process::Command::new("setsid")
        .args([
            "-f",
            "bash",
            "-c",
            &format!("exec -a {} sleep 100000", args[2]),
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    std::process::exit(if st.success() { 0 } else { 1 });
}

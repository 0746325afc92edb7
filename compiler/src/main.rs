//! The `psctl` command-line tool. Each subcommand lives in `cli/<name>.rs`.

// See Cargo.toml: a faster allocator for a tool that allocates many small values on every core.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    quiet_on_broken_pipe();
    psctl::cli::main()
}

/// Like ripgrep's `main`: when the reader of stdout is gone (`psctl schema | head -1`), psctl
/// ends quietly with status 0 instead of printing a panic. Rust ignores SIGPIPE, so such a
/// write fails with EPIPE, and the print macros the subcommands use panic with this message.
fn quiet_on_broken_pipe() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(0);
        }
        default(info);
    }));
}

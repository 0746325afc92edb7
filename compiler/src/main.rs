//! The `psctl` command-line tool. Each subcommand lives in `cli/<name>.rs`.

fn main() -> std::process::ExitCode {
    psctl::cli::main()
}

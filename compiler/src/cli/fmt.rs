//! `psctl fmt` (not implemented yet).

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> u8 {
    eprintln!("psctl fmt: not implemented yet");
    2
}

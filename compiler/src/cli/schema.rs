//! `psctl schema`: prints the JSON Schema of service descriptions (the same text as the
//! committed `schemas/psctl.schema.json`).

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(_args: Args) -> u8 {
    use std::io::Write;
    match std::io::stdout().write_all(crate::schema::schema_text().as_bytes()) {
        Ok(()) => 0,
        Err(_) => 2,
    }
}

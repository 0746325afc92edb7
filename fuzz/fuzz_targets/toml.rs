//! The toml front-end: any bytes give a result and located diagnostics, never a panic.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::load("f.toml", data, psctl::input::Format::Toml);
});

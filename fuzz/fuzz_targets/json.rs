//! The json front-end: any bytes give a result and located diagnostics, never a panic; and its
//! span reader agrees with the YAML reader it replaced on every document both can read.
#![no_main]

mod common;

use psctl::frontend::json_spans;
use psctl::span::SourceFile;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::load("f.json", data, psctl::input::Format::Json);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Err(e) = json_spans::agrees_with_yaml(&SourceFile::new("f.json", text)) {
            panic!("{text:?}: {e}");
        }
    }
});

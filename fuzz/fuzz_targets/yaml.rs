//! The yaml front-end: any bytes give a result and located diagnostics, never a panic; the
//! quick read without spans gives a value exactly when the full read reports nothing, and the
//! same value; whatever the block reader reads, saphyr reads the same.
#![no_main]

mod common;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    common::load("f.yaml", data, psctl::input::Format::Yaml);
    if let Ok(text) = std::str::from_utf8(data) {
        let src = psctl::span::SourceFile::new("f.yaml", text.to_owned());
        let full = psctl::frontend::yaml::parse(&src);
        match psctl::frontend::yaml::value_only(&src) {
            Some(v) => {
                assert!(full.diagnostics.is_empty());
                assert_eq!(full.value, Some(v));
            }
            None => assert!(!full.diagnostics.is_empty()),
        }
        if let Some(v) = psctl::frontend::yaml::value_by_block_reader(&src) {
            assert_eq!(psctl::frontend::yaml::value_by_saphyr(&src), Some(v));
        }
    }
});

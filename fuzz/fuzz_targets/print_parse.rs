//! print/parse: a valid description's service, printed as a pfile, parses back to itself.
#![no_main]

mod common;

use psctl::emit::pfile::{print, Comments};
use psctl::input::Format;
use psctl::pfile::parse_bytes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let input = common::load("f.yaml", data, Format::Yaml);
    let Some(svc) = &input.service else {
        return;
    };
    // Values a pfile cannot hold are refused by build (and check); skip those.
    if !psctl::emit::pfile::unrepresentable(svc).is_empty() {
        return;
    }
    let text = print(svc, &Comments::default(), None);
    let back = parse_bytes("pfile_f", text.as_bytes(), &svc.name);
    let got = back.service.unwrap_or_else(|| panic!("{text:?}: {:?}", back.diagnostics));
    // A pfile has no conf_dir: restart scripts stand there as paths.
    let printed_again = print(&got, &Comments::default(), None);
    assert_eq!(text, printed_again);
});

//! import/build: a valid pfile imported as YAML and as TOML reads back as the same service
//! (the same canonical pfile).
#![no_main]

use psctl::emit::description::{print as describe, Format as To, Options};
use psctl::emit::pfile::{print, Comments};
use psctl::input::{load_bytes, Format};
use psctl::pfile::parse_bytes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let p = parse_bytes("pfile_f", data, "f");
    let Some(svc) = &p.service else {
        return;
    };
    let want = print(svc, &Comments::default(), None);
    for (to, format, name) in [(To::Yaml, Format::Yaml, "f.yaml"), (To::Toml, Format::Toml, "f.toml")] {
        let opts = Options {
            format: to,
            schema: "x.json",
            given: [true; 5],
        };
        let text = describe(svc, &Comments::default(), &opts);
        let back = load_bytes(name, text.as_bytes(), format);
        let got = back
            .service
            .unwrap_or_else(|| panic!("{text}\n{:?}", back.diagnostics));
        assert_eq!(print(&got, &Comments::default(), None), want, "{text}");
    }
});

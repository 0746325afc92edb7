//! `fmt` is a fixed point: the canonical text of a valid pfile is valid and formats to
//! itself. (The services may differ where the canonical form makes a default explicit, such
//! as the dump file; the text is what must not change.)
#![no_main]

use psctl::emit::pfile::{comments_from_syntax, print};
use psctl::pfile::parse_bytes;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let p = parse_bytes("pfile_f", data, "f");
    let (Some(svc), Some(syntax)) = (&p.service, &p.syntax) else {
        return;
    };
    let once = print(svc, &comments_from_syntax(syntax, &p.source), None);
    let q = parse_bytes("pfile_f", once.as_bytes(), "f");
    let (Some(svc2), Some(syntax2)) = (&q.service, &q.syntax) else {
        panic!("canonical text is invalid: {once:?} {:?}", q.diagnostics);
    };
    let twice = print(svc2, &comments_from_syntax(syntax2, &q.source), None);
    assert_eq!(once, twice);
});

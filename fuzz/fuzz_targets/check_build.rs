//! check/build agreement: what check accepts, build can emit, and the reverse.
#![no_main]

mod common;

use psctl::emit::pfile::Comments;
use psctl::emit::plan::{plan, problems, PlanInput};
use psctl::input::Format;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let input = common::load("f.yaml", data, Format::Yaml);
    let Some(svc) = &input.service else {
        return;
    };
    let inputs = [PlanInput {
        source_name: "f.yaml".into(),
        header_name: "f.yaml".into(),
        service: svc,
        comments: Comments::default(),
        origin: None,
    }];
    let check_ok = problems(&inputs).is_empty();
    let build_ok = plan(&inputs).is_ok();
    assert_eq!(check_ok, build_ok);
});

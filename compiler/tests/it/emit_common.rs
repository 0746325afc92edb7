//! Strategies and helpers shared by the emit property tests.
#![allow(dead_code)]

use proptest::prelude::*;
use psctl::emit::pfile::{comments_from_syntax, unrepresentable, Comments};
use psctl::emit::script::{script_path, slugs};
use psctl::model::{Action, Process, Restart, Service};
use psctl::pfile::parse_bytes;

pub fn word() -> impl Strategy<Value = String> {
    "[A-Za-z0-9/_.+é-][A-Za-z0-9/_.+#é-]{0,6}"
}

/// Pnames: words joined by one or more blanks, so `#` occurs inside words but never starts a
/// comment.
pub fn pname() -> impl Strategy<Value = String> {
    prop::collection::vec((word(), "[ ]{1,2}"), 1..4).prop_map(|parts| {
        let mut s = String::new();
        for (i, (w, sep)) in parts.iter().enumerate() {
            if i > 0 {
                s.push_str(sep);
            }
            s.push_str(w);
        }
        s
    })
}

pub fn restart() -> impl Strategy<Value = Restart> {
    prop_oneof![
        Just(Restart::None),
        (
            "/[a-z0-9/_.-]{1,16}",
            prop::collection::vec("[a-z0-9=_.-]{1,6}", 0..3)
        )
            .prop_map(|(p, args)| Restart::Script(
                std::iter::once(p).chain(args).collect::<Vec<_>>().join(" ")
            )),
        ("[ -~\t]{0,30}[!-~]", "[ -~\t]{0,30}[!-~]", 0u32..=3600)
            .prop_map(|(stop, start, wait)| Restart::commands(stop, start, wait)),
    ]
}

pub fn action() -> impl Strategy<Value = Action> {
    prop_oneof![
        Just(Action::Continue),
        Just(Action::Exit),
        Just(Action::Shutdown)
    ]
}

pub fn process() -> impl Strategy<Value = Process> {
    (
        pname(),
        restart(),
        0u64..=31_536_000,
        0u32..=1000,
        action(),
        prop::collection::vec(
            prop_oneof!["[a-z_][a-z0-9_-]{0,8}", "0|[1-9][0-9]{0,4}"],
            0..3,
        ),
    )
        .prop_map(
            |(name, restart, grace, retries, on_retry_over, user)| Process {
                name,
                restart,
                grace,
                retries,
                on_retry_over,
                user: user.into(),
                ..Process::new("")
            },
        )
}

prop_compose! {
    pub fn service()(
        ipckey in 1u32..=0x7fff_ffff,
        msg in 1u32..=3600,
        mon in 1u32..=86_400,
        tries in 1u32..=100,
        dump in prop::option::of("/[a-z0-9/_.-]{1,20}"),
        conf_dir in prop::option::of("/[a-z0-9/_.-]{1,12}"),
        processes in prop::collection::vec(process(), 1..6),
    ) -> Service {
        let mut seen = std::collections::HashSet::new();
        let processes = processes.into_iter().filter(|p| seen.insert(p.name.clone())).collect();
        Service {
            name: "t".into(),
            ipckey,
            msg_check_interval: msg,
            monitor_interval: mon,
            monitor_try_count: tries,
            dump_file: dump,
            conf_dir,
            processes,
            groups: Vec::new(),
        }
    }
}

/// What a pfile states of `m`: every PARAM explicit, generated scripts as paths.
pub fn as_pfile(m: &Service) -> Service {
    let mut out = m.clone();
    out.dump_file = Some(m.dump_file_or_default());
    out.conf_dir = None;
    for (p, slug) in out.processes.iter_mut().zip(slugs(m)) {
        if let Some(slug) = slug {
            p.restart = Restart::Script(script_path(m.conf_dir_or_default(), &slug));
        }
    }
    out
}

pub fn parse(text: &str) -> (Service, Comments) {
    let p = parse_bytes("t", text.as_bytes(), "t");
    let svc = p
        .service
        .unwrap_or_else(|| panic!("{text}\n{:?}", p.diagnostics));
    let c = comments_from_syntax(p.syntax.as_ref().unwrap(), &p.source);
    (svc, c)
}

pub fn valid(m: &Service) -> bool {
    let src = psctl::span::SourceFile::new("t", "");
    let spans = psctl::pfile::PfileSpans::default();
    unrepresentable(m).is_empty() && psctl::rules::check_service(m, &spans, &src).is_empty()
}

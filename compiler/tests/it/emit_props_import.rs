//! Property tests of `import`'s description printers, through the real front-ends:
//!
//! - The YAML and TOML that `import` prints read back (saphyr, toml) to the same values.
//! - For any valid description d, import(build(d)) builds to the same bytes, and printing a
//!   model as a description and loading it gives the model back.

use crate::emit_common::{as_pfile, service, valid};
use proptest::prelude::*;
use psctl::emit::description::{self, Format, Options};
use psctl::emit::pfile::{comments_from_syntax, Comments};
use psctl::model::{Restart, Service};
use psctl::pfile::{parse_bytes, PARAM_KEYS};

proptest! {
    #[test]
    fn descriptions_read_back(m in service()) {
        prop_assume!(valid(&m));
        let m = as_pfile(&m);
        for format in [Format::Yaml, Format::Toml] {
            let opts = Options { format, schema: "s.json", given: [true; PARAM_KEYS.len()] };
            let text = description::print(&m, &Comments::default(), &opts);
            let got = read_description(&text, format);
            let want: Vec<_> = m.processes.iter().map(|p| {
                let r = match &p.restart { Restart::Script(s) => s.clone(), _ => "none".into() };
                (p.name.clone(), r, p.grace, p.retries as u64, p.on_retry_over.as_str().to_owned())
            }).collect();
            prop_assert_eq!(&got.0, &(m.ipckey as u64, m.dump_file.clone().unwrap()));
            prop_assert_eq!(&got.1, &want, "{}", text);
        }
    }
}
type Read = ((u64, String), Vec<(String, String, u64, u64, String)>);

fn seconds(s: &str) -> u64 {
    psctl::duration::parse(s).unwrap_or_else(|e| panic!("{s:?}: {e:?}"))
}

/// Reads the printed description back with the YAML and TOML parsers the front-ends use.
fn read_description(text: &str, format: Format) -> Read {
    match format {
        Format::Toml => {
            let t: toml::Table = text.parse().unwrap_or_else(|e| panic!("{text}\n{e}"));
            let dur = |v: &toml::Value| match v {
                toml::Value::Integer(i) => *i as u64,
                v => seconds(v.as_str().unwrap()),
            };
            let procs = t["processes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| {
                    let r = match &p["restart"] {
                        toml::Value::String(s) => s.clone(),
                        t => t["script"].as_str().unwrap().to_owned(),
                    };
                    (
                        p["name"].as_str().unwrap().to_owned(),
                        r,
                        dur(&p["grace"]),
                        p["retries"].as_integer().unwrap() as u64,
                        p["on_retry_over"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            (
                (
                    t["ipckey"].as_integer().unwrap() as u64,
                    t["dump_file"].as_str().unwrap().to_owned(),
                ),
                procs,
            )
        }
        Format::Yaml => {
            use saphyr::LoadableYamlNode as _;
            let docs = saphyr::Yaml::load_from_str(text).unwrap_or_else(|e| panic!("{text}\n{e}"));
            let d = &docs[0];
            let s = |v: &saphyr::Yaml<'_>| {
                v.as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| panic!("{v:?} in\n{text}"))
            };
            let dur = |v: &saphyr::Yaml<'_>| {
                v.as_integer()
                    .map(|i| i as u64)
                    .unwrap_or_else(|| seconds(&s(v)))
            };
            let procs = d["processes"]
                .as_vec()
                .unwrap()
                .iter()
                .map(|p| {
                    let r = if p["restart"].is_mapping() {
                        s(&p["restart"]["script"])
                    } else {
                        s(&p["restart"])
                    };
                    (
                        s(&p["name"]),
                        r,
                        dur(&p["grace"]),
                        p["retries"].as_integer().unwrap() as u64,
                        s(&p["on_retry_over"]),
                    )
                })
                .collect();
            let key = d["ipckey"]
                .as_integer()
                .map(|i| i as u64)
                .unwrap_or_else(|| {
                    u64::from_str_radix(s(&d["ipckey"]).trim_start_matches("0x"), 16).unwrap()
                });
            ((key, s(&d["dump_file"])), procs)
        }
    }
}

/// Loads a description through the real front-end.
fn load_description(text: &str, format: Format) -> Service {
    let f = match format {
        Format::Yaml => psctl::input::Format::Yaml,
        Format::Toml => psctl::input::Format::Toml,
    };
    let input = psctl::input::load_bytes("d", text.as_bytes(), f);
    input
        .service
        .unwrap_or_else(|| panic!("{text}\n{:?}", input.diagnostics))
}

/// `build` of one service: its pfile's bytes.
fn build_pfile(svc: &Service) -> Vec<u8> {
    let files = psctl::emit::plan::plan(&[psctl::emit::plan::PlanInput {
        source_name: "d".into(),
        header_name: "d".into(),
        service: svc,
        comments: Comments::default(),
        origin: None,
    }])
    .unwrap();
    files
        .into_iter()
        .find(|f| f.rel_path == svc.pfile_name())
        .unwrap()
        .bytes
}

/// What `psctl import` prints for a pfile.
fn import(pfile: &[u8], format: Format) -> String {
    let p = parse_bytes("pfile_t", pfile, "t");
    let svc = p.service.expect("built pfiles are valid");
    let mut c = comments_from_syntax(p.syntax.as_ref().unwrap(), &p.source);
    c.strip_generated_header();
    let given = psctl::pfile::PARAM_KEYS.map(|k| p.spans.params.contains_key(k));
    description::print(
        &svc,
        &c,
        &Options {
            format,
            schema: "s.json",
            given,
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]
    #[test]
    fn import_of_build_builds_the_same(m in service()) {
        prop_assume!(valid(&m));
        for format in [Format::Yaml, Format::Toml] {
            let opts = Options { format, schema: "s.json", given: [true; PARAM_KEYS.len()] };
            let d = load_description(&description::print(&m, &Comments::default(), &opts), format);
            // The printer is lossless for descriptions too (commands with quotes, `#`, tabs).
            let mut want = m.clone();
            want.dump_file = m.dump_file.clone().or_else(|| d.dump_file.clone());
            want.conf_dir = want.conf_dir.or_else(|| d.conf_dir.clone());
            prop_assert_eq!(&d, &want);
            let built = build_pfile(&d);
            let again = build_pfile(&load_description(&import(&built, format), format));
            prop_assert_eq!(String::from_utf8_lossy(&again), String::from_utf8_lossy(&built));
        }
    }
}

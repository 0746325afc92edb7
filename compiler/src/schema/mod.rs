//! The JSON Schema of service descriptions: generated from [`crate::description`] by schemars,
//! committed at `schemas/psctl.schema.json`, and used to validate every description. This is
//! also the one place that maps schema errors to diagnostic codes.

use std::sync::{Arc, OnceLock};

mod mapping;
mod parts;

pub use mapping::{brief_str, field_name};

use jsonschema::Validator;
use serde_json::Value;

use crate::description::Description;
use crate::diagnostics::{codes, Diagnostic};
use crate::span::SourceFile;
use crate::spans::LazySpans;

/// Where the schema is published, for files written outside a checkout of this repository
/// (`psctl import` without `-o`): the file in the project's repository (the `repository` of
/// Cargo.toml) at this version's release tag, so that a file written by one release validates
/// against that release's schema, not a newer one.
pub const PUBLISHED_URL: &str = concat!(
    "https://raw.githubusercontent.com/psctl/psctl/v",
    env!("CARGO_PKG_VERSION"),
    "/schemas/psctl.schema.json"
);

/// The schema as a JSON value. Draft-07, the newest draft that every editor integration
/// (yaml-language-server, Taplo, VS Code) fully supports.
pub fn schema() -> Value {
    let mut s = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Description>()
        .to_value();
    unwrap_descriptions(&mut s);
    refine(&mut s);
    s
}

/// Control characters (Unicode `Cc`), as a regex class body.
const CONTROLS: &str = "\\u0000-\\u001f\\u007f-\\u009f";
/// A duration string that is not zero.
const NONZERO_PATTERN: &str = "^0*[1-9][0-9]*[smhd]?$";
/// The same without the tab.
const CONTROLS_BUT_TAB: &str = "\\u0000-\\u0008\\u000a-\\u001f\\u007f-\\u009f";
/// Bidirectional controls and line separators, refused in names and commands like control
/// characters (`psctl::escape::is_invisible_reordering`).
const REORDERING: &str = "\\u061c\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069\\u2028\\u2029";

/// A TCP health check address, `A.B.C.D:PORT`: octets 0-255 and a port 1-65535, without
/// leading zeros (what `pfile::pent::parse_tcp` accepts).
const TCP_PATTERN: &str = concat!(
    "^((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])",
    ":([1-9][0-9]{0,3}|[1-5][0-9]{4}|6[0-4][0-9]{3}|65[0-4][0-9]{2}|655[0-2][0-9]|6553[0-5])$"
);

/// An IPCKEY string, `0x1` to `0x7fffffff` with at most 8 hex digits, without look-ahead
/// (Taplo's and Rust's regex engines have none): either no leading zero and 1-7 digits, or 8
/// digits starting with 1-7, or `k` leading zeros and at most `8 - k` digits in all.
fn ipckey_pattern() -> String {
    let h = "[0-9a-fA-F]";
    let nz = "[1-9a-fA-F]";
    let mut alts = vec![format!("{nz}{h}{{0,6}}"), format!("[1-7]{h}{{7}}")];
    for k in 1..=7 {
        alts.push(format!("0{{{k}}}{nz}{h}{{0,{}}}", 7 - k));
    }
    format!("^0[xX]({})$", alts.join("|"))
}

/// What schemars cannot say from the types: per-field limits and patterns, written into the
/// generated schema so that editors report what `psctl check` reports.
///
/// Also, every field that refers to a definition becomes a plain `$ref` with its own title,
/// description and default beside it. schemars wraps it as `allOf: [{$ref}]` with siblings,
/// which sends Taplo's language server into unbounded allocation (issue 10) and hides each
/// field's own text from yaml-language-server's hover. Draft-07 validators ignore siblings of
/// `$ref`, so only annotations go there; fields that need their own limits (durations) get
/// an inline schema instead.
fn refine(s: &mut Value) {
    use crate::duration::{human_range, PATTERN};
    use crate::fields::{self, Unit};
    // Every duration field of the descriptor table, by its key in its mapping.
    let durations: Vec<(&str, std::ops::RangeInclusive<u64>)> = fields::ranged()
        .filter(|f| f.unit == Unit::Seconds && !f.key.is_empty())
        .filter_map(|f| Some((f.key_name(), f.range.clone()?)))
        .collect();
    plain_refs(s);
    let ctl = CONTROLS;
    let ctl_nt = CONTROLS_BUT_TAB;
    let mut objects: Vec<&mut Value> = vec![];
    let (root_props, defs) = match &mut *s {
        Value::Object(m) => {
            let mut props = None;
            let mut defs = None;
            for (k, v) in m.iter_mut() {
                match k.as_str() {
                    "properties" => props = Some(v),
                    "definitions" => defs = Some(v),
                    _ => {}
                }
            }
            (props, defs)
        }
        _ => return,
    };
    objects.extend(root_props);
    if let Some(Value::Object(defs)) = defs {
        for (name, d) in defs.iter_mut() {
            match name.as_str() {
                "IpcKey" => {
                    if let Some(alts) = d.get_mut("anyOf").and_then(Value::as_array_mut) {
                        for a in alts {
                            if a["type"] == "string" {
                                a["pattern"] = Value::String(ipckey_pattern());
                            }
                        }
                    }
                }
                "DurationValue" => {
                    if let Some(alts) = d.get_mut("anyOf").and_then(Value::as_array_mut) {
                        for a in alts {
                            if a["type"] == "string" {
                                a["pattern"] = PATTERN.into();
                            }
                        }
                    }
                }
                _ => {}
            }
            if let Some(p) = d.get_mut("properties") {
                objects.push(p);
            }
        }
    }
    for props in objects {
        let Some(props) = props.as_object_mut() else {
            continue;
        };
        for (key, field) in props.iter_mut() {
            let Some(f) = field.as_object_mut() else {
                continue;
            };
            if let Some((_, range)) = durations.iter().find(|(k, _)| k == key) {
                f.remove("$ref");
                // Strings cannot carry the upper limit (`2d` for a 1-day field is listed in
                // docs/check.md as beyond the schema), but zero can be excluded.
                let pattern = if *range.start() >= 1 {
                    NONZERO_PATTERN
                } else {
                    PATTERN
                };
                f.insert(
                    "anyOf".into(),
                    serde_json::json!([
                        {"type": "integer", "minimum": range.start(), "maximum": range.end()},
                        {"type": "string", "pattern": pattern}
                    ]),
                );
                if let Some(Value::String(d)) = f.get_mut("description") {
                    d.push_str(&format!(
                        " {}. Write {}.",
                        capitalized(&human_range(range)),
                        crate::duration::FORMS
                    ));
                }
            }
            // Counts take their limits, and the words stating them, from the descriptor table.
            if let Some(d) = fields::by_key_name(key).filter(|d| d.unit == Unit::Count) {
                if let Some(r) = &d.range {
                    f.insert("minimum".into(), (*r.start()).into());
                    f.insert("maximum".into(), (*r.end()).into());
                }
                if let (Some(Value::String(text)), Some(words)) =
                    (f.get_mut("description"), d.human_range())
                {
                    text.push_str(&format!(" {}.", capitalized(&words)));
                }
            }
            let pattern = match key.as_str() {
                "conf_dir" | "dump_file" => Some(format!("^/[^{ctl}]*$")),
                "script" | "exec" => Some(format!("^/[^:{ctl}{REORDERING}]*$")),
                "tcp" => Some(TCP_PATTERN.to_owned()),
                "stop" | "start" => Some(format!(
                    "^\\s*[^\\s{ctl}{REORDERING}][^{ctl_nt}{REORDERING}]*$"
                )),
                _ => None,
            };
            if let Some(p) = pattern {
                f.insert("pattern".into(), p.into());
            }
        }
    }
    // A health check holds exactly one of `exec` and `tcp`.
    if let Some(h) = s.pointer_mut("/definitions/HealthDesc") {
        h["oneOf"] = serde_json::json!([{"required": ["exec"]}, {"required": ["tcp"]}]);
    }
    // A health check is a mapping when given (`Option` made it "mapping or null").
    if let Some(h) = s.pointer_mut("/definitions/ProcessDesc/properties/health") {
        if let Some(r) = h
            .get("anyOf")
            .and_then(|a| a.get(0))
            .and_then(|a| a.get("$ref"))
            .cloned()
        {
            h["$ref"] = r;
            if let Some(m) = h.as_object_mut() {
                m.remove("anyOf");
            }
        }
    }
    // The process name: no `:`, no control character or bidirectional control, no leading or
    // trailing blank.
    if let Some(name) = s.pointer_mut("/definitions/ProcessDesc/properties/name") {
        let no = format!("{ctl}{REORDERING}");
        name["pattern"] = format!("^[^: {no}]([^:{no}]*[^: {no}])?$").into();
    }
}

/// Every `allOf: [{$ref}]` becomes a plain `$ref` keeping its siblings (see [`refine`]).
fn plain_refs(v: &mut Value) {
    match v {
        Value::Object(m) => {
            let single = m
                .get("allOf")
                .and_then(Value::as_array)
                .filter(|a| a.len() == 1)
                .and_then(|a| a[0].get("$ref"))
                .cloned();
            if let Some(r) = single {
                m.remove("allOf");
                m.insert("$ref".into(), r);
            }
            m.values_mut().for_each(plain_refs);
        }
        Value::Array(a) => a.iter_mut().for_each(plain_refs),
        _ => {}
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// Joins the hard-wrapped lines of doc comments, so editors can wrap descriptions themselves.
fn unwrap_descriptions(v: &mut Value) {
    match v {
        Value::Object(m) => {
            for (k, x) in m.iter_mut() {
                match x {
                    Value::String(text) if k == "description" => {
                        *text = text
                            .split("\n\n")
                            .map(|para| para.split('\n').collect::<Vec<_>>().join(" "))
                            .collect::<Vec<_>>()
                            .join("\n\n");
                    }
                    _ => unwrap_descriptions(x),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(unwrap_descriptions),
        _ => {}
    }
}

/// The schema as the committed file holds it: pretty JSON and a final newline.
pub fn schema_text() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// Builds the validator on another thread, so that compiling the schema overlaps with finding
/// and parsing the inputs (it costs a few milliseconds, paid before the first validation).
pub fn prepare() {
    std::thread::spawn(|| {
        validator();
    });
}

/// The validator, built once per process.
fn validator() -> Option<&'static Validator> {
    static V: OnceLock<Option<Validator>> = OnceLock::new();
    V.get_or_init(|| compile(&schema())).as_ref()
}

/// Compiles a schema (or a part of one). Its patterns are plain regular expressions (no
/// look-around or back-references, or the schema would not compile and every test would
/// say so), which the `regex` engine compiles faster than `fancy-regex`: a one-file check,
/// whose path the compile is on, took about 5% less (bench/check.sh).
fn compile(schema: &Value) -> Option<Validator> {
    jsonschema::options()
        .with_pattern_options(jsonschema::PatternOptions::regex())
        .build(schema)
        .ok()
}

/// Whether `item` is a valid entry of `processes` (the schema's item schema), for entries
/// checked one by one while a large document is read (`frontend::stream`). Built when first
/// asked: small files never ask.
pub fn process_is_valid(item: &Value) -> bool {
    static V: OnceLock<Option<Validator>> = OnceLock::new();
    let v = V.get_or_init(|| {
        let whole = schema();
        let mut part = whole.pointer("/properties/processes/items")?.clone();
        let obj = part.as_object_mut()?;
        for key in ["$schema", "definitions"] {
            obj.insert(key.to_owned(), whole.get(key)?.clone());
        }
        compile(&part)
    });
    v.as_ref().is_some_and(|v| v.is_valid(item))
}

/// The validator in parts (see [`parts`]), built when the first invalid document comes.
fn parts() -> Option<&'static parts::Part> {
    static P: OnceLock<Option<parts::Part>> = OnceLock::new();
    P.get_or_init(|| parts::Part::of(&schema())).as_ref()
}

/// Validates a document, returning every schema error as a diagnostic on its key or value,
/// up to [`crate::diagnostics::MAX_ERRORS_PER_FILE`] of them.
pub fn validate(doc: &Value, spans: &LazySpans, src: &Arc<SourceFile>) -> Vec<Diagnostic> {
    validate_with(doc, &[], spans, src)
}

/// [`validate`] of a document whose `processes` list holds only its first entry, with `more`
/// of its entries (index and value, in order, each one the item schema rejects) read apart
/// (`frontend::stream`): the diagnostics of the whole document.
pub fn validate_with(
    doc: &Value,
    more: &[(usize, Value)],
    spans: &LazySpans,
    src: &Arc<SourceFile>,
) -> Vec<Diagnostic> {
    let internal = || {
        vec![Diagnostic::error(
            codes::SCHEMA_INVALID,
            "internal error: the built-in schema did not compile",
        )]
    };
    let Some(v) = validator() else {
        return internal();
    };
    // Most documents are valid: the boolean check stops at nothing and collects no errors.
    if more.is_empty() && v.is_valid(doc) {
        return Vec::new();
    }
    let Some(parts) = parts() else {
        return internal();
    };
    let mut report = parts::Report {
        out: Vec::new(),
        spans: spans.get(),
        src,
    };
    let _ = parts.check_with(doc, &mut String::new(), &mut report, more);
    report.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::description::{GROUP_KEYS, HEALTH_KEYS, PROCESS_KEYS, RESTART_KEYS, SERVICE_KEYS};

    /// Every property of every object: (path, property schema, required?).
    fn properties(s: &Value) -> Vec<(String, Value, bool)> {
        let mut out = Vec::new();
        let mut objects = vec![("".to_owned(), s.clone())];
        if let Some(defs) = s["definitions"].as_object() {
            objects.extend(defs.iter().map(|(k, v)| (k.clone(), v.clone())));
        }
        for (name, o) in objects {
            let required: Vec<&str> = o["required"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            if let Some(props) = o["properties"].as_object() {
                for (k, v) in props {
                    out.push((
                        format!("{name}/{k}"),
                        v.clone(),
                        required.contains(&k.as_str()),
                    ));
                }
            }
        }
        out
    }

    #[test]
    fn committed_schema_is_the_generated_one() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../schemas/psctl.schema.json");
        let committed = std::fs::read_to_string(path).expect("schemas/psctl.schema.json");
        assert!(
            committed == schema_text(),
            "schemas/psctl.schema.json is stale: run `psctl schema > schemas/psctl.schema.json`"
        );
    }

    /// Each count's description states the descriptor table's range in its words (`1 to 100`),
    /// wherever the key appears (process and group `retries`).
    #[test]
    fn count_descriptions_state_the_table_range() {
        use crate::fields::{self, Unit};
        let props = properties(&schema());
        for f in fields::ranged().filter(|f| f.unit == Unit::Count && !f.key.is_empty()) {
            let words = format!(" {}.", f.human_range().unwrap());
            let found: Vec<_> = props
                .iter()
                .filter(|(path, ..)| path.rsplit('/').next() == Some(f.key_name()))
                .collect();
            assert!(!found.is_empty(), "{} is not in the schema", f.key);
            for (path, p, _) in found {
                let d = p["description"].as_str().unwrap_or_default();
                assert!(d.ends_with(&words), "{path}: {d:?} does not state{words}");
                assert_eq!(p["minimum"], f.range.as_ref().unwrap().start().to_owned());
            }
        }
    }

    #[test]
    fn no_field_wraps_its_ref_in_all_of() {
        // `allOf: [{$ref}]` with siblings made Taplo's language server allocate without limit.
        let text = schema_text();
        assert!(!text.contains("allOf"), "{text}");
    }

    #[test]
    fn every_field_has_title_description_and_default_unless_required() {
        let props = properties(&schema());
        assert!(props.len() >= 17, "{}", props.len());
        for (path, p, required) in props {
            assert!(p["title"].is_string(), "{path}: no title");
            assert!(p["description"].is_string(), "{path}: no description");
            // `$schema` is for editors only: it has no value psctl would assume.
            let meta = path == "/$schema";
            assert!(
                required || meta || p.get("default").is_some(),
                "{path}: no default"
            );
        }
        assert!(schema()["title"].is_string() && schema()["description"].is_string());
    }

    #[test]
    fn key_lists_match_the_schema() {
        let s = schema();
        let keys = |v: &Value| -> Vec<String> {
            let mut k: Vec<String> = v["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            k.sort();
            k
        };
        let sorted = |l: &[&str]| {
            let mut v: Vec<String> = l.iter().map(|s| s.to_string()).collect();
            v.sort();
            v
        };
        assert_eq!(keys(&s), sorted(SERVICE_KEYS));
        assert_eq!(keys(&s["definitions"]["ProcessDesc"]), sorted(PROCESS_KEYS));
        let mut restart = keys(&s["definitions"]["ScriptRestart"]);
        restart.extend(keys(&s["definitions"]["CommandsRestart"]));
        restart.sort();
        assert_eq!(restart, sorted(RESTART_KEYS));
        assert_eq!(keys(&s["definitions"]["HealthDesc"]), sorted(HEALTH_KEYS));
        assert_eq!(keys(&s["definitions"]["GroupDesc"]), sorted(GROUP_KEYS));
    }

    #[test]
    fn validator_builds() {
        assert!(validator().is_some());
    }
}

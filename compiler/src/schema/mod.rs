//! The JSON Schema of service descriptions: generated from [`crate::description`] by schemars,
//! committed at `schemas/psctl.schema.json`, and used to validate every description. This is
//! also the one place that maps schema errors to diagnostic codes.

use std::sync::{Arc, OnceLock};

mod mapping;

pub use mapping::{brief_str, field_name};

use jsonschema::Validator;
use serde_json::Value;

use crate::description::Description;
use crate::diagnostics::{codes, Diagnostic};
use crate::frontend::SpanTable;
use crate::span::SourceFile;

/// The schema as a JSON value. Draft-07, the newest draft that every editor integration
/// (yaml-language-server, Taplo, VS Code) fully supports.
pub fn schema() -> Value {
    let mut s = schemars::generate::SchemaSettings::draft07()
        .into_generator()
        .into_root_schema_for::<Description>()
        .to_value();
    unwrap_descriptions(&mut s);
    s
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

/// The validator, built once per process.
fn validator() -> Option<&'static Validator> {
    static V: OnceLock<Option<Validator>> = OnceLock::new();
    V.get_or_init(|| jsonschema::validator_for(&schema()).ok())
        .as_ref()
}

/// Validates a document, returning every schema error as a diagnostic on its key or value.
pub fn validate(doc: &Value, spans: &SpanTable, src: &Arc<SourceFile>) -> Vec<Diagnostic> {
    let Some(v) = validator() else {
        return vec![Diagnostic::error(
            codes::SCHEMA_INVALID,
            "internal error: the built-in schema did not compile",
        )];
    };
    let mut out = Vec::new();
    for err in v.iter_errors(doc) {
        out.extend(mapping::map_error(&err, spans, src));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::description::{PROCESS_KEYS, RESTART_KEYS, SERVICE_KEYS};

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

    #[test]
    fn every_field_has_title_description_and_default_unless_required() {
        let props = properties(&schema());
        assert!(props.len() >= 17, "{}", props.len());
        for (path, p, required) in props {
            assert!(p["title"].is_string(), "{path}: no title");
            assert!(p["description"].is_string(), "{path}: no description");
            assert!(required || p.get("default").is_some(), "{path}: no default");
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
    }

    #[test]
    fn validator_builds() {
        assert!(validator().is_some());
    }
}

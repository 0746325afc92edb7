//! The committed schema, used by the `jsonschema` crate alone (as an editor or CI validator
//! would), agrees with `psctl check` on every description in the corpus and the examples,
//! wherever a JSON Schema can express the rule. The rules it cannot express are listed in
//! docs/check.md ("What the schema cannot say"); a file whose only errors come from those is
//! skipped here, by its diagnostic codes.

use std::path::{Path, PathBuf};

use psctl::input::{load_bytes, Format};
use psctl::span::SourceFile;
use serde_json::Value;

use crate::test::root;

/// Diagnostic codes of rules beyond a JSON Schema: uniqueness within a list or a file, keys
/// given twice (the parsers see them, a JSON value cannot hold them), and what only the pfile
/// printer knows.
const BEYOND_THE_SCHEMA: &[&str] = &[
    "psctl::entry::duplicate_pname",
    "psctl::description::duplicate_key",
    "psctl::emit::unrepresentable",
    "psctl::emit::conflict",
    // Groups relate names (docs/extensions.md).
    "psctl::group::unknown_member",
    "psctl::group::two_groups",
    "psctl::group::duplicate",
    "psctl::group::name_clash",
    "psctl::group::member_restart",
    "psctl::group::member_setting",
];

/// Every description file of the corpus and the examples.
pub fn descriptions() -> Vec<PathBuf> {
    let mut out = Vec::new();
    for dir in ["tests/corpus", "examples"] {
        for e in std::fs::read_dir(root().join(dir)).unwrap() {
            let p = e.unwrap().path();
            if matches!(Format::from_path(&p), Format::Pfile) {
                continue;
            }
            out.push(p);
        }
    }
    out.sort();
    assert!(out.len() >= 50, "{}", out.len());
    out
}

/// The document as the front-end reads it, when it can be read at all.
fn value_of(path: &Path, bytes: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(bytes).ok()?;
    let src = SourceFile::new(path.display().to_string(), text);
    let doc = match Format::from_path(path) {
        Format::Yaml => psctl::frontend::yaml::parse(&src),
        Format::Toml => psctl::frontend::toml::parse(&src),
        _ => psctl::frontend::json::parse(&src),
    };
    if !doc.diagnostics.is_empty() {
        return None;
    }
    doc.value
}

#[test]
fn the_schema_alone_agrees_with_psctl_check() {
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("schemas/psctl.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut compared = 0;
    let mut failures = Vec::new();
    for path in descriptions() {
        let bytes = std::fs::read(&path).unwrap();
        let Some(value) = value_of(&path, &bytes) else {
            continue; // a syntax error: no document for a schema to judge
        };
        let input = load_bytes(
            &path.display().to_string(),
            &bytes,
            Format::from_path(&path),
        );
        let errors: Vec<&str> = input
            .diagnostics
            .iter()
            .filter(|d| d.is_error())
            .map(|d| d.code.id)
            .collect();
        // A duration string over its field's upper limit (`2d` for a 1-day field): the
        // pattern cannot count.
        let over_limit_string = input.diagnostics.iter().any(|d| {
            d.code.id == "psctl::value::out_of_range"
                && d.primary_span().is_some_and(|s| {
                    let t = input.source.slice(s).trim_matches(['"', '\'']);
                    psctl::duration::parse(t).is_ok() && t.ends_with(['s', 'm', 'h', 'd'])
                })
        });
        // `1000.0`: JSON Schema's data model counts it as an integer, psctl's types do not.
        let float = input
            .diagnostics
            .iter()
            .any(|d| d.message.contains("floating-point"));
        let beyond =
            over_limit_string || float || errors.iter().any(|c| BEYOND_THE_SCHEMA.contains(c));
        let schema_ok = validator.is_valid(&value);
        let psctl_ok = errors.is_empty();
        if beyond && schema_ok && !psctl_ok {
            continue;
        }
        compared += 1;
        if schema_ok != psctl_ok {
            failures.push(format!(
                "{}: schema says {}, psctl says {errors:?}",
                path.display(),
                if schema_ok { "valid" } else { "invalid" }
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(compared >= 40, "only {compared} files compared");
}

/// Editors find the schema only where they look: Taplo reads `#:schema` on line 1 only.
#[test]
fn shipped_examples_name_the_schema_on_line_1() {
    for e in std::fs::read_dir(root().join("examples")).unwrap() {
        let p = e.unwrap().path();
        let first = std::fs::read_to_string(&p)
            .ok()
            .and_then(|t| t.lines().next().map(str::to_owned));
        let want = match Format::from_path(&p) {
            Format::Toml => "#:schema ../schemas/psctl.schema.json",
            Format::Yaml => "# yaml-language-server: $schema=../schemas/psctl.schema.json",
            _ => continue,
        };
        assert_eq!(first.as_deref(), Some(want), "{}", p.display());
    }
}

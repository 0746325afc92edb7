//! Validation of an invalid document in parts, so that its cost is bounded by what is reported.
//!
//! The validator's `iter_errors` collects every error before it yields the first: a list of
//! 3.5 M invalid items built 3.5 M errors with their paths (1.5 GB for 14 MB of YAML) to report
//! 1000 of them. Here each list of the schema (`properties: {K: {items: S}}`) is taken out of
//! its object's schema and checked item by item against `S` alone, and checking stops at
//! [`MAX_ERRORS_PER_FILE`]. For a document under that limit the errors are the same as the
//! whole schema's: `items` applies to each item independently of everything else, and the
//! list's other keywords (`type`, `minItems`) stay with the object. Past the limit, the
//! report keeps an object's own errors first, then its lists' items in order (the whole
//! schema's order interleaved them; the 1000 kept may differ, the report's form does not).

use std::fmt::Write;
use std::ops::ControlFlow;
use std::sync::Arc;

use jsonschema::Validator;
use serde_json::Value;

use super::mapping::map_error;
use crate::diagnostics::{too_many, Diagnostic, MAX_ERRORS_PER_FILE};
use crate::span::SourceFile;
use crate::spans::{escape_segment, SpanTable};

/// Lists nest this deep at most before they are left in their object's schema (a recursive
/// schema would otherwise be split forever; psctl's nests two deep).
const MAX_NESTING: usize = 8;

/// A schema with its lists' item schemas taken out, and a part per list that checks an item.
pub(super) struct Part {
    validator: Validator,
    /// The key of each list of this part's object, and the part for one of its items.
    lists: Vec<(String, Part)>,
}

impl Part {
    /// The parts of a root schema (draft and `definitions` at its top).
    pub(super) fn of(schema: &Value) -> Option<Part> {
        let defs = schema.get("definitions").cloned().unwrap_or(Value::Null);
        let draft = schema.get("$schema").cloned().unwrap_or(Value::Null);
        split(schema.clone(), &defs, &draft, 0)
    }

    /// How many lists were taken out of their object's schema, in all.
    #[cfg(test)]
    pub(super) fn lists(&self) -> usize {
        self.lists.iter().map(|(_, p)| 1 + p.lists()).sum()
    }

    /// Reports the errors of `value`, whose pointer is `ptr`, until the report is full.
    pub(super) fn check(&self, value: &Value, ptr: &mut String, r: &mut Report) -> ControlFlow<()> {
        self.check_with(value, ptr, r, &[])
    }

    /// [`Part::check`] of a document whose `processes` list holds only its first entry, with
    /// `more` of its entries (index and value, in order) that were read apart (`stream`).
    pub(super) fn check_with(
        &self,
        value: &Value,
        ptr: &mut String,
        r: &mut Report,
        more: &[(usize, Value)],
    ) -> ControlFlow<()> {
        if !self.validator.is_valid(value) {
            for err in self.validator.iter_errors(value) {
                let at = format!("{ptr}{}", err.instance_path().as_str());
                r.error(&err, &at)?;
            }
        }
        for (key, item) in &self.lists {
            let Some(Value::Array(items)) = value.get(key) else {
                continue;
            };
            let more = if key == "processes" { more } else { &[] };
            let len = ptr.len();
            let all = items
                .iter()
                .enumerate()
                .chain(more.iter().map(|(i, v)| (*i, v)));
            for (i, v) in all {
                ptr.truncate(len);
                let _ = write!(ptr, "/{}/{i}", escape_segment(key));
                item.check(v, ptr, r)?;
            }
            ptr.truncate(len);
        }
        ControlFlow::Continue(())
    }
}

/// Takes the lists out of `schema` (an object's schema), compiling a part for each item schema.
fn split(mut schema: Value, defs: &Value, draft: &Value, depth: usize) -> Option<Part> {
    let mut lists = Vec::new();
    if depth < MAX_NESTING {
        let props = schema.get_mut("properties").and_then(Value::as_object_mut);
        for (key, field) in props.into_iter().flatten() {
            let Some(f) = field.as_object_mut() else {
                continue;
            };
            // Only the one-schema form of `items`; the tuple form stays where it is.
            let Some(item) = f
                .get("items")
                .filter(|i| i.is_object())
                .map(|i| resolve(i, defs))
            else {
                continue;
            };
            f.remove("items");
            lists.push((key.clone(), split(item, defs, draft, depth + 1)?));
        }
    }
    // Every part carries the draft (it decides how `$ref` is read) and the definitions its
    // references name.
    if let Value::Object(m) = &mut schema {
        m.insert("$schema".into(), draft.clone());
        m.insert("definitions".into(), defs.clone());
    }
    let validator = super::compile(&schema)?;
    Some(Part { validator, lists })
}

/// `schema`, or the definition it refers to: in draft-07 a `$ref` makes its siblings void, so
/// the definition alone is the same schema.
fn resolve(schema: &Value, defs: &Value) -> Value {
    let target = schema
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix("#/definitions/"))
        .and_then(|name| defs.get(name));
    target.unwrap_or(schema).clone()
}

/// The diagnostics of a document so far, at most [`MAX_ERRORS_PER_FILE`] and the one that
/// says the file has more.
pub(super) struct Report<'a> {
    pub out: Vec<Diagnostic>,
    pub spans: &'a SpanTable,
    pub src: &'a Arc<SourceFile>,
}

impl Report<'_> {
    /// Adds the diagnostics of one error at `ptr`; breaks when the report is full.
    fn error(&mut self, err: &jsonschema::ValidationError<'_>, ptr: &str) -> ControlFlow<()> {
        if self.out.len() >= MAX_ERRORS_PER_FILE {
            let at = self.spans.value_span(ptr);
            self.out.push(too_many(at, self.src));
            return ControlFlow::Break(());
        }
        // One error may name many keys (a mapping of a million unknown keys): the limit
        // counts diagnostics, not errors, and one more than fit says where the report stops.
        let room = MAX_ERRORS_PER_FILE - self.out.len();
        let mut found = map_error(err, ptr, self.spans, self.src, room + 1).into_iter();
        self.out.extend(found.by_ref().take(room));
        if let Some(next) = found.next() {
            let at = next.primary_span().unwrap_or_default();
            self.out.push(too_many(at, self.src));
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostics::{codes, sort};
    use crate::frontend::{json, toml, yaml};
    use crate::spans::LazySpans;

    /// The report of the whole schema at once, as `validate` made it before it was split.
    fn whole(doc: &Value, spans: &SpanTable, src: &Arc<SourceFile>) -> Vec<Diagnostic> {
        let v = super::super::validator().unwrap();
        v.iter_errors(doc)
            .flat_map(|e| map_error(&e, e.instance_path().as_str(), spans, src, usize::MAX))
            .collect()
    }

    /// (the report in parts, the whole schema's), each as `psctl check` orders it.
    fn both(name: &str, text: &str) -> Option<(Vec<String>, Vec<String>)> {
        let src = SourceFile::new(name, text);
        let doc = match name.rsplit('.').next() {
            Some("toml") => toml::parse(&src),
            Some("json") => json::parse(&src),
            _ => yaml::parse(&src),
        };
        let value = doc.value?;
        let spans = LazySpans::ready(doc.spans);
        let mut parts = super::super::validate(&value, &spans, &src);
        let mut whole = whole(&value, spans.get(), &src);
        sort(&mut parts);
        sort(&mut whole);
        let show = |d: Vec<Diagnostic>| d.iter().map(|d| format!("{d:?}")).collect();
        Some((show(parts), show(whole)))
    }

    /// Documents with errors everywhere the schema has lists, and around them.
    const MIXED: &[(&str, &str)] = &[
        (
            "mixed.yaml",
            "name: Bad Name\nipckey: 0\nbogus: 1\nextra: [1]\nmonitor_interval: 0\nprocesses:\n  - 1\n  - name: a\n    user: [root, [], -1, \"x y\", 4294967295]\n    zzz: 1\n  - name: b\n    restart: {script: rel, stop: x}\n    health: {exec: /x, tcp: 1.2.3.4:80}\n  - user: []\n  - name: c\n    user: root\n    retries: 1.5\n    restart: {stop: 1, start: b, qq: 1}\ngroups:\n  - name: G\n    members: [1, a, {}]\n  - members: []\n  - 7\n  - name: g\n    members: x\n    zz: 1\n",
        ),
        ("list.yaml", "- 1\n- name: a\n"),
        ("scalar.yaml", "3\n"),
        ("procmap.yaml", "name: a\nipckey: 1\nprocesses: {name: a}\ngroups: x\n"),
        (
            "mixed.json",
            r#"{"name": "a", "ipckey": "0x", "processes": [[], {"name": "", "user": [true, null]}, {"name": "a", "grace": "1w"}], "groups": [{"name": "g", "members": [[1]]}]}"#,
        ),
        (
            "mixed.toml",
            "name = \"a\"\nipckey = 1\nx = 1\n[[processes]]\nname = \"a\"\nuser = [1, \"\", \"a:b\"]\nstop_timeout = \"0\"\n[[processes]]\ngrace = -1\n[[groups]]\nname = \"g\"\nmembers = [1]\nrestart = \"no\"\n",
        ),
    ];

    #[test]
    fn parts_report_what_the_whole_schema_reports() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let mut files: Vec<(String, String)> = MIXED
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        for dir in ["tests/corpus", "examples"] {
            for e in std::fs::read_dir(format!("{root}/{dir}")).unwrap() {
                let p = e.unwrap().path();
                let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
                if !matches!(ext, "yaml" | "yml" | "toml" | "json") {
                    continue;
                }
                if let Ok(text) = std::fs::read_to_string(&p) {
                    files.push((p.display().to_string(), text));
                }
            }
        }
        let mut invalid = 0;
        for (name, text) in &files {
            let Some((parts, whole)) = both(name, text) else {
                continue;
            };
            assert_eq!(parts, whole, "{name}");
            invalid += usize::from(!whole.is_empty());
        }
        // The hand-written documents above each have errors, and so do many of the corpus's.
        assert!(invalid >= MIXED.len() + 20, "{invalid} invalid documents");
        let (mixed, _) = both(MIXED[0].0, MIXED[0].1).unwrap();
        assert!(mixed.len() >= 15, "{mixed:#?}");
    }

    /// Every list of the schema is checked item by item: a list the parts did not take out
    /// would bring back an error per item, all built before the first is reported.
    #[test]
    fn every_list_of_the_schema_is_checked_by_item() {
        let text = super::super::schema_text();
        let lists = text.matches("\"items\":").count();
        assert!(lists >= 4, "{lists}");
        assert_eq!(super::super::parts().unwrap().lists(), lists);
    }

    /// The limit counts diagnostics, within an error too: a mapping of 3000 unknown keys is
    /// one schema error.
    #[test]
    fn the_limit_holds_within_an_error_and_across_items() {
        let valid = "name: a\nipckey: 1\nprocesses: [{name: a}]\n";
        let keys: String = (0..3000).map(|i| format!("k{i}: 1\n")).collect();
        let keys = format!("{valid}{keys}");
        // A mapping's keys come in sorted order: the first one left out.
        let mut names: Vec<String> = (0..3000).map(|i| format!("k{i}")).collect();
        names.sort();
        let first_left_out = names[MAX_ERRORS_PER_FILE].as_str();
        let items = format!("name: a\nipckey: 1\nprocesses:\n{}", "- 1\n".repeat(3000));
        let restart = format!(
            "name: a\nipckey: 1\nprocesses:\n- name: a\n  restart:\n{}",
            (0..3000)
                .map(|i| format!("    k{i}: 1\n"))
                .collect::<String>()
        );
        for (name, text, stop) in [
            ("keys.yaml", &keys, first_left_out),
            ("items.yaml", &items, "1"),
            ("restart.yaml", &restart, first_left_out),
        ] {
            let src = SourceFile::new(name, text);
            let doc = yaml::parse(&src);
            let spans = LazySpans::ready(doc.spans);
            let d = super::super::validate(doc.value.as_ref().unwrap(), &spans, &src);
            assert_eq!(d.len(), MAX_ERRORS_PER_FILE + 1, "{name}");
            let last = d.last().unwrap();
            assert_eq!(last.code, codes::TOO_MANY_ERRORS, "{name}");
            assert_eq!(src.slice(last.primary_span().unwrap()), stop, "{name}");
        }
    }
}

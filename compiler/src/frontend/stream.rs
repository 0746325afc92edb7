//! Large descriptions, converted entry by entry while they are read.
//!
//! A YAML file of a million one-line entries built a `serde_json` map per entry (a B-tree
//! node of 640 bytes for one key), then a description of each, then the model: 70 to 95 times
//! the input (bench/bounds.sh). From [`STREAM_FROM`] bytes on, each entry of `processes` after
//! the first is checked against the schema's item schema and converted into the model as soon
//! as it is read, and its value dropped. The document keeps its first entry, so that it is
//! still validated whole (`minItems` and all). Anything unusual (an entry the item schema
//! rejects, a fraction, a problem in the rest of the document) gives up, and the file is read
//! as any other: the outcome is the same either way (`tests::streaming_changes_no_outcome`).

use std::sync::Arc;

use serde_json::Value;

use super::lenient;
use super::{LazySpans, Outcome};
use crate::description::{Convert, Converted, ProcessDesc};
use crate::diagnostics::{codes, MAX_ERRORS_PER_FILE};
use crate::schema;
use crate::span::SourceFile;

/// Inputs of this many bytes or more are read entry by entry. Smaller ones are read whole:
/// their memory does not matter, and the item schema is compiled only when needed.
pub const STREAM_FROM: usize = 1 << 20;

/// An entry [`Entries::take`] does not take: the document is left to the whole read.
#[derive(Debug)]
pub struct GaveUp;

/// The entries taken so far, converted.
pub struct Entries<'a> {
    convert: Convert<'a>,
    out: Converted,
    /// The entries the item schema rejects (index and value), kept for the schema's report of
    /// the whole document; no more than the report can show (see [`Entries::full`]).
    rejected: Vec<(usize, Value)>,
    /// Defaults for rejected entries' fields ([`lenient::process`]).
    base: Option<ProcessDesc>,
    /// The number of entries expected ([`Entries::expect`]), until room is made for them.
    expected: usize,
    gave_up: bool,
}

impl<'a> Entries<'a> {
    pub fn new(spans: &'a LazySpans, src: &'a Arc<SourceFile>) -> Entries<'a> {
        Entries {
            convert: Convert { spans, src },
            out: Converted::default(),
            rejected: Vec::new(),
            base: None,
            expected: 0,
            gave_up: false,
        }
    }

    /// Takes entry `i` of `processes`; `Err` (and [`Entries::gave_up`]) where the schema
    /// accepts it but it holds a fraction or does not deserialize, or the report is full. An
    /// entry the item schema rejects is converted as the whole read's `lenient` conversion
    /// would, and kept for the schema's report ([`check`]): a document of a million such
    /// entries read whole held a `serde_json` map each (111x the input).
    pub fn take(&mut self, i: usize, item: Value) -> Result<(), GaveUp> {
        if self.out.diagnostics.len() > MAX_ERRORS_PER_FILE {
            return self.give_up();
        }
        if self.full() {
            return Ok(()); // the report is full: nothing later is reported
        }
        let p = if schema::process_is_valid(&item) {
            // A fraction the schema accepts (`2.0`) is reported by the whole read alone.
            if has_fraction(&item) {
                return self.give_up();
            }
            // Room for the rest is made at the first entry kept as it is (a list of rejected
            // entries keeps no more than the report shows).
            if self.expected > 0 {
                let room = self.expected.saturating_sub(self.out.processes.len());
                let _ = self.out.processes.try_reserve_exact(room);
                self.expected = 0;
            }
            match serde_json::from_value::<ProcessDesc>(item) {
                Ok(p) => p,
                Err(_) => return self.give_up(),
            }
        } else {
            let base = self.base.get_or_insert_with(lenient::base_process);
            let p = lenient::process(&item, base);
            self.rejected.push((i, item));
            p
        };
        let converted = self.convert.process(p, i, &mut self.out.diagnostics);
        self.out.processes.push(converted);
        Ok(())
    }

    /// Each rejected entry gives the schema's report one error at least: past the report's
    /// limit, no later entry is reported or matters, and none is taken.
    fn full(&self) -> bool {
        self.rejected.len() > MAX_ERRORS_PER_FILE
    }

    fn give_up(&mut self) -> Result<(), GaveUp> {
        self.gave_up = true;
        Err(GaveUp)
    }

    /// Expects `total` entries (the first included: it joins them at the end), as a front-end
    /// counts them ahead; room is made at the first entry kept as it is. Grown by doubling,
    /// the list held both copies at once and kept up to half of its room unused (1.5 M
    /// entries had room for 2.1 M). Only a hint.
    pub fn expect(&mut self, total: usize) {
        self.expected = total;
    }

    pub fn gave_up(&self) -> bool {
        self.gave_up
    }

    /// Forgets what was taken (the document is read again from its start).
    pub fn clear(&mut self) {
        self.out = Converted::default();
        self.expected = 0;
        self.rejected = Vec::new();
        self.gave_up = false;
    }

    /// What was taken: nothing where no entry was.
    pub fn finish(self) -> Option<Taken> {
        let taken = !self.out.processes.is_empty() || !self.rejected.is_empty();
        taken.then_some(Taken {
            converted: self.out,
            rejected: self.rejected,
        })
    }
}

/// The entries [`Entries`] took.
pub struct Taken {
    converted: Converted,
    rejected: Vec<(usize, Value)>,
}

/// Whether `v` holds a number with a fraction, which the schema counts as an integer where
/// serde does not (`check_document` reports it with its place).
fn has_fraction(v: &Value) -> bool {
    match v {
        Value::Number(n) => !n.is_i64() && !n.is_u64(),
        Value::Array(a) => a.iter().any(has_fraction),
        Value::Object(m) => m.values().any(has_fraction),
        _ => false,
    }
}

/// Checks a document whose entries after the first were taken, as
/// [`super::check_document`] would the whole; `None` where it cannot say the same (then the
/// document is read as any other).
pub fn check(
    doc: Value,
    taken: Taken,
    spans: &LazySpans,
    src: &Arc<SourceFile>,
) -> Option<Outcome> {
    let diags = schema::validate_with(&doc, &taken.rejected, spans, src);
    // Past the report's limit the report ends there, whatever the entries not kept said.
    let full = taken.rejected.len() > MAX_ERRORS_PER_FILE;
    if full && !diags.iter().any(|d| d.code == codes::TOO_MANY_ERRORS) {
        return None;
    }
    Some(super::check_validated(
        doc,
        diags,
        taken.converted,
        &taken.rejected,
        spans,
        src,
    ))
}

#[cfg(test)]
mod tests {
    use crate::input::{load_bytes, load_streamed, Format, Input, Streamed};
    use crate::span::SourceFile;

    /// What a load says: the service, and each diagnostic's code, message and places.
    fn said(i: &Input) -> (Option<crate::model::Service>, Vec<String>) {
        let diags = i
            .diagnostics
            .iter()
            .map(|d| {
                let places: Vec<_> = d.labels.iter().map(|l| (l.span, l.text.clone())).collect();
                format!("{} {} {places:?} {:?}", d.code.id, d.message, d.help)
            })
            .collect();
        (i.service.clone(), diags)
    }

    /// Read entry by entry or whole, a description gives the same service and report; `true`
    /// where [`load_streamed`] loaded it (with entries taken ahead, or none to take).
    fn same_either_way(text: &str, format: Format) -> bool {
        let src = SourceFile::new("x", text.to_owned());
        let Streamed::Done(streamed) = load_streamed("x", &src, format) else {
            return false;
        };
        let whole = load_bytes("x", text.as_bytes(), format);
        assert_eq!(said(&streamed), said(&whole), "{text}");
        true
    }

    #[test]
    fn streaming_changes_no_outcome() {
        for (ext, format, least) in [
            ("yaml", Format::Yaml, 20),
            ("json", Format::Json, 1),
            ("toml", Format::Toml, 5),
        ] {
            let mut streamed = 0;
            for s in crate::testing::corpus_sources(ext) {
                streamed += usize::from(same_either_way(s.text(), format));
            }
            assert!(
                streamed >= least,
                "{streamed} {ext} files read entry by entry"
            );
        }
        let json = r#"{"name": "web", "ipckey": 1, "processes": [{"name": "a"}, "#;
        for (entries, streams) in [
            (r#"{"name": "b", "grace": "400d"}, {"name": "a"}]}"#, true),
            (
                r#"{"name": "b", "user": ["x"], "restart": {"script": "/x"}}]}"#,
                true,
            ),
            (r#"{"name": "b", "retries": 1.5}]}"#, true),
            // A fraction the schema accepts is left to the whole read.
            (r#"{"name": "b", "retries": 2.0}]}"#, false),
            // Entries the schema rejects, and a problem outside the list.
            (r#"{"name": "b", "bogus": 1}, {"name": "c"}, 3]}"#, true),
            (r#"{"name": "b"}], "bogus": 1}"#, true),
        ] {
            let text = format!("{json}{entries}");
            assert_eq!(same_either_way(&text, Format::Json), streams, "{text}");
        }
        let head = "name: web\nipckey: 0x1f000601\nprocesses:\n  - name: a\n";
        for (entries, streams) in [
            // Ranges of later entries, reported where they are.
            ("  - name: b\n    grace: 400d\n    retries: 99\n", true),
            (
                "  - name: b\n    restart: {stop: x, start: y, wait: 2h}\n",
                true,
            ),
            // The rules over the whole list: a repeated name, a group's members.
            ("  - name: a\n", true),
            (
                "  - name: b\ngroups:\n  - name: g\n    members: [a, b, c]\n",
                true,
            ),
            // What the item schema rejects, and a problem outside the list: the report
            // of the whole read, its semantic findings included.
            ("  - name: b\n    bogus: 1\n", true),
            ("  - 1\n  - name: a\n  - name: c\n    grace: 400d\n", true),
            ("  - name: b\n    user: [\"x y\"]\n    grace: 1x\n", true),
            ("  - name: b\nbogus: 1\n", true),
            ("  - name: b\n    retries: 1.5\n    grace: 2.5\n", true),
            // A fraction the schema accepts is left to the whole read.
            ("  - name: b\n    retries: 2.0\n", false),
        ] {
            let text = format!("{head}{entries}");
            assert_eq!(same_either_way(&text, Format::Yaml), streams, "{text}");
            // Whether read entry by entry or not, the outcome is the normal read's.
            let whole = load_bytes("x.yaml", text.as_bytes(), Format::Yaml);
            assert!(whole.service.is_none() || streams, "{text}");
        }
        // A TOML entry is complete at the next `[[processes]]` header or the end; headers
        // `[processes.x]` add to the last entry, tables of other keys may come between.
        let head = "name = \"web\"\nipckey = 1\n[[processes]]\nname = \"a\"\n";
        for (entries, streams) in [
            ("[[processes]]\nname = \"b\"\ngrace = \"400d\"\nretries = 99\n", true),
            (
                "[[processes]]\nname = \"b\"\n[processes.restart]\nstop = \"x\"\nstart = \"y\"\nwait = \"2h\"\n[[processes]]\nname = \"c\"\n[processes.health]\nexec = \"/x\"\n",
                true,
            ),
            ("[[processes]]\nname = \"a\"\n", true),
            (
                "[[processes]]\nname = \"b\"\n[[groups]]\nname = \"g\"\nmembers = [\"a\", \"b\"]\n[processes.restart]\nscript = \"/x\"\n[[processes]]\nname = \"c\"\n",
                true,
            ),
            ("[[processes]]\nname = \"b\"\nbogus = 1\n", true),
            ("[[processes]]\nname = \"b\"\nretries = 1.5\n[[processes]]\nname = \"c\"\n", true),
            ("[[processes]]\nname = \"b\"\nretries = 2.0\n[[processes]]\nname = \"c\"\n", false),
            ("[[processes]]\nname = \"b\"\n[[processes]]\nname = \"c\"\n[bogus]\n", true),
        ] {
            let text = format!("{head}{entries}");
            let streamed = same_either_way(&text, Format::Toml);
            assert_eq!(streamed, streams, "{text}");
        }
        // More rejected entries than the report shows: it ends at its limit either way.
        let many = "  - a: 1\n".repeat(crate::diagnostics::MAX_ERRORS_PER_FILE + 500);
        let text = format!("name: web\nipckey: 1\nprocesses:\n  - name: a\n{many}  - name: b\n");
        assert!(same_either_way(&text, Format::Yaml));
    }
}

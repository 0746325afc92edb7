//! JSON front-end. serde_json decides what the value is (strict JSON syntax, its recursion
//! limit), and [`json_spans`] supplies the spans of keys and values and catches duplicate keys,
//! which serde_json silently merges, and nesting deeper than the other formats allow.

use std::sync::Arc;

use serde::de::DeserializeSeed;
use serde_json::Value;

use super::{json_spans, stream, too_deep_message, Document};
use crate::diagnostics::{codes, Diagnostic};
use crate::span::{SourceFile, Span};

/// Byte offset in `text` of serde_json's 1-based line and column (a column counts bytes).
fn offset(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line.saturating_sub(1))
        .map(str::len)
        .sum();
    let mut at = (start + column.saturating_sub(1)).min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// Reads a JSON document into a value and its span table.
pub fn parse(src: &Arc<SourceFile>) -> Document {
    if src.text().trim().is_empty() {
        return Document {
            value: None,
            spans: Default::default(),
            diagnostics: vec![Diagnostic::error(codes::EMPTY, "the description is empty")
                .with_label(Span::new(0, 0), "no document here")
                .in_file(src)],
        };
    }
    // Spans, duplicate keys and depth; serde_json's verdict on syntax wins.
    let shadow = json_spans::read(src);
    let mut diagnostics = shadow.diagnostics;
    let (body, bom) = body(src);
    let value = match serde_json::from_str::<Value>(body) {
        Ok(v) => Some(v),
        Err(e) => {
            let at = bom + offset(body, e.line(), e.column());
            let end = src.text()[at..]
                .chars()
                .next()
                .map_or(at, |c| at + c.len_utf8());
            let msg = e.to_string();
            // Strip serde_json's " at line L column C": our location says it.
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
            if msg.contains("recursion limit") {
                if !diagnostics.iter().any(|d| d.code == codes::TOO_DEEP) {
                    diagnostics.push(
                        Diagnostic::error(codes::TOO_DEEP, too_deep_message())
                            .with_label(Span::new(at, end), "too deep")
                            .in_file(src),
                    );
                }
            } else {
                diagnostics.retain(|d| d.code != codes::TOO_DEEP);
                diagnostics.insert(
                    0,
                    Diagnostic::error(codes::JSON_SYNTAX, format!("invalid JSON: {msg}"))
                        .with_label(Span::new(at, end), "here")
                        .in_file(src),
                );
            }
            None
        }
    };
    let value = if diagnostics.iter().any(|d| d.code == codes::TOO_DEEP) {
        None
    } else {
        value
    };
    Document {
        value,
        spans: shadow.table,
        diagnostics,
    }
}

/// The text serde_json reads, and the length of what it skips: a byte-order mark is tolerated
/// (RFC 8259 allows ignoring it); serde_json does not.
fn body(src: &SourceFile) -> (&str, usize) {
    let body = src.text().strip_prefix('\u{feff}').unwrap_or(src.text());
    (body, src.text().len() - body.len())
}

/// The value of a JSON document that reads without any problem, recording no spans (valid
/// files are the common case, and spans serve only diagnostics: [`json_spans::spans_of`]
/// reads them when asked); `None` when there is anything to report, which [`parse`] then
/// reports with its spans.
pub fn value_only(src: &Arc<SourceFile>) -> Option<Value> {
    quick(src, |sized, de| sized.deserialize(de))
}

/// [`value_only`] handing the entries of `processes` after the first to `entries` as they are
/// read, instead of keeping them in the value; `None` also where `entries` gives up.
pub fn value_streamed(src: &Arc<SourceFile>, entries: &mut stream::Entries<'_>) -> Option<Value> {
    quick(src, |sized, de| Root { sized, entries }.deserialize(de))
}

/// A quick read, `read` taking the document's value from its start with lists sized by
/// [`json_spans::list_lengths`].
fn quick(
    src: &Arc<SourceFile>,
    read: impl FnOnce(Sized<'_>, &mut JsonDe<'_>) -> serde_json::Result<Value>,
) -> Option<Value> {
    if src.text().trim().is_empty() {
        return None;
    }
    let lengths = json_spans::list_lengths(src)?;
    let mut de = serde_json::Deserializer::from_str(body(src).0);
    let next = std::cell::Cell::new(0);
    let value = read(Sized(&lengths, &next), &mut de).ok()?;
    de.end().ok()?;
    Some(value)
}

type JsonDe<'t> = serde_json::Deserializer<serde_json::de::StrRead<'t>>;

/// The top of a document read by [`value_streamed`]: its `processes` list is a [`List`].
struct Root<'a, 'e> {
    sized: Sized<'a>,
    entries: &'a mut stream::Entries<'e>,
}

impl<'de> DeserializeSeed<'de> for Root<'_, '_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Root<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a description")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        let mut entries = Some(self.entries);
        while let Some(key) = map.next_key::<String>()? {
            let list = if key == "processes" {
                entries.take()
            } else {
                None
            };
            let value = match list {
                Some(e) => map.next_value_seed(List {
                    sized: self.sized,
                    entries: e,
                })?,
                None => map.next_value_seed(self.sized)?,
            };
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

/// The `processes` list of [`Root`]: its first entry kept, the others handed over.
struct List<'a, 'e> {
    sized: Sized<'a>,
    entries: &'a mut stream::Entries<'e>,
}

impl<'de> DeserializeSeed<'de> for List<'_, '_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for List<'_, '_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a list of entries")
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        use serde::de::Error;
        // Numbered as `Sized` numbers lists, so that the lists inside get their own lengths.
        let counter = self.sized.1;
        let len = self.sized.0.get(counter.get()).copied().unwrap_or(0);
        self.entries.expect(len as usize);
        counter.set(counter.get() + 1);
        let mut first = Vec::with_capacity(1);
        let mut i = 0;
        while let Some(item) = seq.next_element_seed(self.sized)? {
            if i == 0 {
                first.push(item);
            } else {
                self.entries
                    .take(i, item)
                    .map_err(|_| A::Error::custom("left to the whole read"))?;
            }
            i += 1;
        }
        Ok(Value::Array(first))
    }
}

/// Builds a [`Value`] as serde_json's own `Value` does, but each list with the capacity its
/// length (found by [`json_spans::list_lengths`], lists numbered as they open) asks for:
/// growing a list by doubling copies it, and the copies' memory outlives them.
#[derive(Clone, Copy)]
struct Sized<'a>(&'a [u32], &'a std::cell::Cell<usize>);

impl<'de> DeserializeSeed<'de> for Sized<'_> {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Sized<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(serde_json::Number::from_f64(v).map_or(Value::Null, Value::Number))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let list = self.1.get();
        self.1.set(list + 1);
        let len = self.0.get(list).copied().unwrap_or(0) as usize;
        let mut items = Vec::with_capacity(len);
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(self)?;
            out.insert(key, value);
        }
        Ok(Value::Object(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::{load_bytes, Format};

    /// Kilobytes of a `Vm*` line of /proc/self/status.
    fn status_kb(field: &str) -> usize {
        let status = std::fs::read_to_string("/proc/self/status").unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// Issue 10: a long key holding a long list, 4 MB of JSON, is checked in about 20x its
    /// size (the bound asserted is twice that). Reading its spans again with the YAML reader
    /// took 128x: saphyr queues every token of a one-line flow list. Peak memory is the
    /// process's, so the test re-runs itself alone in a child process and measures there.
    #[test]
    fn a_long_key_holding_a_long_list_is_checked_in_bounded_memory() {
        const CHILD: &str = "PSCTL_JSON_MEMORY_CHILD";
        let name =
            "frontend::json::tests::a_long_key_holding_a_long_list_is_checked_in_bounded_memory";
        if std::env::var_os(CHILD).is_none() {
            let out = std::process::Command::new(std::env::current_exe().unwrap())
                .args([name, "--exact", "--test-threads=1", "--nocapture"])
                .env(CHILD, "1")
                .output()
                .unwrap();
            let (stdout, stderr) = (
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr),
            );
            eprint!("{stderr}");
            assert!(
                out.status.success() && stdout.contains("test result: ok. 1 passed"),
                "{name} alone:\n{stdout}{stderr}"
            );
            return;
        }
        let text = format!(
            "{{\"{}\": [{}1]}}",
            "k".repeat(1 << 20),
            "1,".repeat(3 << 19)
        );
        let before = status_kb("VmRSS:");
        let input = load_bytes("l.json", text.as_bytes(), Format::Json);
        let peak = (status_kb("VmHWM:") - before) * 1024;
        assert!(input
            .diagnostics
            .iter()
            .any(|d| d.code == codes::SCHEMA_UNKNOWN_KEY));
        let ratio = peak as f64 / text.len() as f64;
        eprintln!(
            "{} bytes of JSON: {peak} bytes at peak, {ratio:.1}x",
            text.len()
        );
        assert!(ratio <= 40.0, "{ratio:.1}x the input at peak");
    }

    /// The quick read agrees with the full one: a value exactly when the full read reports
    /// nothing, and then the same value (so that reading spans later changes no outcome).
    #[test]
    fn value_only_agrees_with_parse() {
        let seen = crate::testing::assert_quick_read_agrees("json", parse, value_only);
        assert!(seen >= 9, "{seen} files");
        // Lists are built at their final size, not grown by doubling.
        let src = SourceFile::new("x.json", r#"[[1, 2, 3], {"a": [[], [4, 5, 6, 7, 8]]}]"#);
        let v = value_only(&src).unwrap();
        let cap = |p: &str| v.pointer(p).and_then(Value::as_array).unwrap().capacity();
        assert_eq!(
            [
                cap(""),
                cap("/0"),
                cap("/1/a"),
                cap("/1/a/0"),
                cap("/1/a/1")
            ],
            [2, 3, 2, 0, 5]
        );
        let dup = r#"{"a": 1, "a": 2}"#.to_owned();
        for text in [dup, "[".repeat(100), "{".into(), " ".into()] {
            let src = SourceFile::new("x.json", text.clone());
            assert!(value_only(&src).is_none(), "{text}");
            assert!(!parse(&src).diagnostics.is_empty(), "{text}");
        }
    }
}

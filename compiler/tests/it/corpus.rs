//! The malformed-input corpus (`tests/corpus/`): every file must produce, as its first
//! diagnostic in position order, the code and line:column that `tests/corpus/EXPECT` lists.

use std::path::{Path, PathBuf};

use psctl::diagnostics;
use psctl::input::load_file;

fn corpus() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/corpus")
}

fn expectations() -> Vec<(String, String, String)> {
    let text = std::fs::read_to_string(corpus().join("EXPECT")).expect("EXPECT readable");
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            assert_eq!(f.len(), 3, "bad EXPECT line: {l}");
            (f[0].to_owned(), f[1].to_owned(), f[2].to_owned())
        })
        .collect()
}

#[test]
fn corpus_is_big_enough_and_fully_listed() {
    let exp = expectations();
    assert!(exp.len() >= 40, "only {} corpus inputs", exp.len());
    let mut listed: Vec<&str> = exp.iter().map(|e| e.0.as_str()).collect();
    listed.sort();
    let mut files: Vec<String> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n != "EXPECT")
        .collect();
    files.sort();
    assert_eq!(listed, files, "EXPECT and the corpus directory disagree");
    for ext in [".yaml", ".toml", ".json"] {
        assert!(
            files.iter().filter(|f| f.ends_with(ext)).count() >= 4,
            "{ext}"
        );
    }
    assert!(files.iter().filter(|f| f.starts_with("pfile")).count() >= 10);
}

#[test]
fn each_input_reports_the_expected_first_diagnostic() {
    let mut failures = Vec::new();
    for (file, code, at) in expectations() {
        let input = load_file(&corpus().join(&file));
        let mut diags = input.diagnostics.clone();
        diagnostics::sort(&mut diags);
        assert!(input.service.is_none(), "{file}: accepted");
        let Some(first) = diags.first() else {
            failures.push(format!("{file}: no diagnostic"));
            continue;
        };
        let (start, end) = first.location().expect("a location");
        let got = format!("{}:{}", start.line, start.column);
        if first.code.id != code || got != at {
            failures.push(format!(
                "{file}: expected {code} at {at}, got {} at {got} ({})",
                first.code.id, first.message
            ));
        }
        // Every span of every diagnostic lies inside its file, on char boundaries.
        for d in &diags {
            let src = d.source.as_ref().expect("a file");
            for l in &d.labels {
                assert!(l.span.start <= l.span.end && l.span.end <= src.text().len());
                assert!(src.text().is_char_boundary(l.span.start), "{file}");
                assert!(src.text().is_char_boundary(l.span.end), "{file}");
            }
        }
        assert!(end.line >= start.line);
        // No problem is reported twice (schema errors and the semantic rules overlap).
        let mut keys: Vec<_> = diags
            .iter()
            .map(|d| (d.code.id, d.primary_span().map(|s| (s.start, s.end))))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n, "{file}: a diagnostic is repeated");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

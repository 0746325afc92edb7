//! Unit-test helpers (in the spirit of just's `src/testing.rs`): [`diag!`] runs one input
//! through its front-end, the lowering and the shared rules, in memory, and asserts the one
//! diagnostic it gives by code, line and column. A rule's tests live next to the rule and need
//! no binary and no file.

use crate::diagnostics::Diagnostic;

/// The diagnostics of `input` read as `file` (a pfile unless its extension names a
/// description format), as `psctl check` finds them before the cross-file rules.
pub(crate) fn diagnostics(file: &str, input: &str) -> Vec<Diagnostic> {
    #[cfg(feature = "descriptions")]
    {
        let format = crate::input::Format::from_path(std::path::Path::new(file));
        crate::input::load_bytes(file, input.as_bytes(), format).diagnostics
    }
    #[cfg(not(feature = "descriptions"))]
    {
        let name = crate::pfile::name_from_path(file);
        crate::pfile::parse_bytes(file, input.as_bytes(), &name).diagnostics
    }
}

/// `diagnostics` is exactly one diagnostic, `code` at 1-based `line`:`column`.
#[track_caller]
pub(crate) fn assert_one(diagnostics: &[Diagnostic], code: &str, line: usize, column: usize) {
    let got: Vec<(&str, Option<(usize, usize)>)> = diagnostics
        .iter()
        .map(|d| {
            let at = d.location().map(|(start, _)| (start.line, start.column));
            (d.code.id, at)
        })
        .collect();
    assert_eq!(
        got,
        [(code, Some((line, column)))],
        "{:#?}",
        diagnostics.iter().map(|d| &d.message).collect::<Vec<_>>()
    );
}

/// A test that `input` (a pfile named `pfile_t`, or with `file:` the file of that name) gives
/// exactly one diagnostic, `code` at `line`:`column`:
///
/// ```ignore
/// diag! {
///     name: unknown_param_key,
///     input: "IPCKEY 0x1\nMONITOR_INTERVALL 10\nx:-:1:1:exit\n",
///     code: "psctl::pfile::unknown_key",
///     line: 2,
///     column: 1,
/// }
/// ```
macro_rules! diag {
    {
        name: $name:ident,
        $(file: $file:expr,)?
        input: $input:expr,
        code: $code:expr,
        line: $line:expr,
        column: $column:expr $(,)?
    } => {
        #[test]
        fn $name() {
            #[allow(unused_variables)]
            let file = "pfile_t";
            $(let file = $file;)?
            let found = $crate::testing::diagnostics(file, $input);
            $crate::testing::assert_one(&found, $code, $line, $column);
        }
    };
}

pub(crate) use diag;

/// The inputs of one format a reader's agreement tests run on: the committed corpus
/// (`tests/corpus`) and examples with extension `ext`, and the fuzz target's corpus
/// (`fuzz/corpus/<ext>`, every file) when it is there (it is not committed: `scripts/fuzz`
/// makes it), said loudly when it is not.
pub fn corpus_sources(ext: &str) -> Vec<std::sync::Arc<crate::span::SourceFile>> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut out = Vec::new();
    let fuzz = format!("fuzz/corpus/{ext}");
    for dir in ["tests/corpus", "examples", fuzz.as_str()] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            eprintln!("NOTE: {dir} is missing (run scripts/fuzz to make it); not read");
            continue;
        };
        let mut paths: Vec<_> = entries.map(|e| e.unwrap().path()).collect();
        paths.sort();
        for path in paths {
            if !dir.starts_with("fuzz") && path.extension().is_none_or(|x| x != ext) {
                continue;
            }
            let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
            out.push(crate::span::SourceFile::new(
                path.display().to_string(),
                text,
            ));
        }
    }
    out
}

/// Asserts that a front-end's quick read (`quick`: no spans, `None` at the first problem)
/// agrees with its full read on every corpus file of format `ext`: a value exactly when the
/// full read reports nothing, and then the same value. Returns how many files were read.
#[cfg(feature = "descriptions")]
pub fn assert_quick_read_agrees(
    ext: &str,
    full: fn(&std::sync::Arc<crate::span::SourceFile>) -> crate::frontend::Document,
    quick: fn(&std::sync::Arc<crate::span::SourceFile>) -> Option<serde_json::Value>,
) -> usize {
    let sources = corpus_sources(ext);
    for src in &sources {
        let path = src.name();
        let doc = full(src);
        match quick(src) {
            Some(v) => {
                assert!(doc.diagnostics.is_empty(), "{path}");
                assert_eq!(doc.value, Some(v), "{path}");
            }
            None => assert!(!doc.diagnostics.is_empty(), "{path}"),
        }
    }
    sources.len()
}

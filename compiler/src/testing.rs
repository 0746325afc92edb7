//! Unit-test helpers (in the spirit of just's `src/testing.rs`): [`diag!`] runs one input
//! through its front-end, the lowering and the shared rules, in memory, and asserts the one
//! diagnostic it gives by code, line and column. A rule's tests live next to the rule and need
//! no binary and no file.

use crate::diagnostics::Diagnostic;

/// The diagnostics of `input` read as a pfile named `pfile_t`.
pub(crate) fn pfile(input: &str) -> Vec<Diagnostic> {
    crate::pfile::parse_bytes("pfile_t", input.as_bytes(), "t").diagnostics
}

/// The diagnostics of `input` read as the description `file` (its extension gives the format).
#[cfg(feature = "descriptions")]
pub(crate) fn description(file: &str, input: &str) -> Vec<Diagnostic> {
    let format = crate::input::Format::from_path(std::path::Path::new(file));
    crate::input::load_bytes(file, input.as_bytes(), format).diagnostics
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

/// A test that `input` (a pfile, or with `file:` a description of that name) gives exactly one
/// diagnostic, `code` at `line`:`column`:
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
        input: $input:expr,
        code: $code:expr,
        line: $line:expr,
        column: $column:expr $(,)?
    } => {
        #[test]
        fn $name() {
            $crate::testing::assert_one(&$crate::testing::pfile($input), $code, $line, $column);
        }
    };
    {
        name: $name:ident,
        file: $file:expr,
        input: $input:expr,
        code: $code:expr,
        line: $line:expr,
        column: $column:expr $(,)?
    } => {
        #[test]
        fn $name() {
            $crate::testing::assert_one(
                &$crate::testing::description($file, $input),
                $code,
                $line,
                $column,
            );
        }
    };
}

pub(crate) use diag;

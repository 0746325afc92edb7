//! Rules across all inputs of one run (spec section 5): IPCKEY, dump file and pfile name are
//! unique. Only inputs that are valid on their own take part; the later input of a clash gets
//! the diagnostic, naming where the first one is.

use std::collections::HashMap;

use crate::diagnostics::{codes, Code, Diagnostic};
use crate::loaded::Input;
use crate::model::{format_ipckey, Loc};

/// `file:line:col` of a location in an input.
fn place(input: &Input, loc: Loc) -> String {
    let lc = input.source.line_col(input.spans.span(loc).start);
    format!("{}:{}:{}", input.path, lc.line, lc.column)
}

/// Appends a diagnostic to every input that repeats a value an earlier input already uses.
pub fn check(inputs: &mut [Input]) {
    type Key = fn(&Input) -> Option<String>;
    let rules: [(Code, Loc, &str, Key); 3] = [
        (codes::DUPLICATE_IPCKEY, Loc::IpcKey, "IPCKEY", |i| {
            i.service.as_ref().map(|s| format_ipckey(s.ipckey))
        }),
        (
            codes::DUPLICATE_DUMP_FILE,
            Loc::DumpFile,
            "dump file",
            |i| i.service.as_ref().map(|s| s.dump_file_or_default()),
        ),
        (codes::DUPLICATE_PFILE_NAME, Loc::Name, "pfile name", |i| {
            i.service.as_ref().map(|s| s.pfile_name())
        }),
    ];
    let mut found: Vec<(usize, Diagnostic)> = Vec::new();
    for (code, loc, what, key) in rules {
        let mut first: HashMap<String, usize> = HashMap::new();
        for (idx, input) in inputs.iter().enumerate() {
            let Some(k) = key(input) else { continue };
            match first.get(&k) {
                Some(&f) => {
                    let other = place(&inputs[f], loc);
                    found.push((
                        idx,
                        Diagnostic::error(code, format!("{what} `{k}` is also used by {other}"))
                            .with_label(input.spans.span(loc), format!("same {what} as {other}"))
                            .with_help(format!("each service on a host needs its own {what}"))
                            .in_file(&input.source),
                    ));
                }
                None => {
                    first.insert(k, idx);
                }
            }
        }
    }
    for (idx, d) in found {
        inputs[idx].diagnostics.push(d);
    }
}

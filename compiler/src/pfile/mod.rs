//! The legacy pfile: grammar (`pfile.pest`), concrete syntax, and lowering into the model.

pub mod lower;
pub mod param;
pub mod pent;
mod read;
pub mod syntax;

use std::sync::Arc;

use crate::diagnostics::{codes, Diagnostic};
use crate::model::Service;
use crate::span::{SourceFile, Span};

pub use lower::{PfileSpans, PARAM_KEYS};

/// The result of reading one pfile.
pub struct Parsed {
    pub source: Arc<SourceFile>,
    /// `None` if there were errors or the text could not be parsed at all.
    pub syntax: Option<syntax::PfileSyntax>,
    /// `Some` only when there was no error.
    pub service: Option<Service>,
    pub spans: PfileSpans,
    pub diagnostics: Vec<Diagnostic>,
}

/// The service name a pfile implies: its file name after `pfile_`, else the whole file name.
pub fn name_from_path(path: &str) -> String {
    let base = path.rsplit('/').next().unwrap_or(path);
    base.strip_prefix("pfile_").unwrap_or(base).to_owned()
}

/// Checks raw bytes for what makes them unusable as text: a NUL byte or invalid UTF-8.
pub fn text_problem(
    source: &Arc<SourceFile>,
    invalid_utf8_at: Option<usize>,
) -> Option<Diagnostic> {
    if let Some(nul) = source.text().find('\0') {
        if invalid_utf8_at.is_none_or(|i| nul < i) {
            return Some(
                Diagnostic::error(
                    codes::NOT_TEXT,
                    "the file contains a NUL byte; it is not a text file",
                )
                .with_label(Span::new(nul, nul + 1), "NUL byte")
                .in_file(source),
            );
        }
    }
    let at = invalid_utf8_at?;
    let end = source.text()[at..]
        .chars()
        .next()
        .map_or(at, |c| at + c.len_utf8());
    Some(
        Diagnostic::error(codes::INVALID_UTF8, "the file is not valid UTF-8")
            .with_label(Span::new(at, end), "invalid byte sequence")
            .with_help("convert the file to UTF-8")
            .in_file(source),
    )
}

/// Parses and lowers one pfile from its raw bytes. `display_name` names it in diagnostics;
/// `service_name` becomes the model's name.
pub fn parse_bytes(display_name: &str, bytes: &[u8], service_name: &str) -> Parsed {
    let (text, bad) = crate::span::decode(bytes);
    let source = SourceFile::new(display_name, text);
    if let Some(d) = text_problem(&source, bad) {
        return Parsed {
            source,
            syntax: None,
            service: None,
            spans: PfileSpans::default(),
            diagnostics: vec![d],
        };
    }
    parse_source(source, service_name)
}

/// Parses and lowers a pfile already held as a [`SourceFile`].
pub fn parse_source(source: Arc<SourceFile>, service_name: &str) -> Parsed {
    let syntax = match syntax::parse(source.text()) {
        Ok(s) => s,
        Err(e) => {
            let d = Diagnostic::error(
                codes::PFILE_SYNTAX,
                format!("the pfile could not be parsed: {e}"),
            )
            .with_span(Span::new(0, 0))
            .in_file(&source);
            return Parsed {
                source,
                syntax: None,
                service: None,
                spans: PfileSpans::default(),
                diagnostics: vec![d],
            };
        }
    };
    let (service, spans, diagnostics) = lower::lower(&syntax, &source, service_name);
    Parsed {
        source,
        syntax: Some(syntax),
        service,
        spans,
        diagnostics,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Restart};

    #[test]
    fn guide_pfile_lowers() {
        let text = "##### PARAM #####\nIPCKEY                0x1f000501\nMSG_CHECK_INTERVAL    5\nMONITOR_INTERVAL      10\nSHM_DUMP_FILE         /var/opt/HA/PS/log/pcheck_dump_cron\n\n##### PENT #####\ncrond:/var/opt/HA/PS/conf/bin/restart_crond.sh:86400:3:continue\n";
        let p = parse_bytes("pfile_cron", text.as_bytes(), "cron");
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let s = p.service.unwrap();
        assert_eq!(s.ipckey, 0x1f000501);
        assert_eq!(s.monitor_interval, 10);
        assert_eq!(s.processes[0].name, "crond");
        assert_eq!(
            s.processes[0].restart,
            Restart::Script("/var/opt/HA/PS/conf/bin/restart_crond.sh".into())
        );
        assert_eq!(s.processes[0].on_retry_over, Action::Continue);
    }

    #[test]
    fn every_problem_is_reported_with_its_place() {
        let text =
            "IPCKEY 0x0\nMONITOR_INTERVALL 10\nIPCKEY 5\ncrond:-:abc:3:Continue\nx:-:1:1:stop\n";
        let p = parse_bytes("f", text.as_bytes(), "f");
        let got: Vec<_> = p
            .diagnostics
            .iter()
            .map(|d| {
                let (s, _) = d.location().unwrap();
                (d.code.id, s.line, s.column)
            })
            .collect();
        assert_eq!(
            got,
            [
                ("psctl::value::out_of_range", 1, 8),
                ("psctl::pfile::unknown_key", 2, 1),
                ("psctl::pfile::duplicate_key", 3, 1),
                ("psctl::value::not_a_number", 4, 9),
                ("psctl::pfile::action_case", 4, 15),
                ("psctl::value::invalid_action", 5, 9),
            ]
        );
        assert_eq!(
            p.diagnostics[1].help.as_deref(),
            Some("did you mean `MONITOR_INTERVAL`?")
        );
        assert!(p.service.is_none());
    }

    #[test]
    fn binary_and_bad_utf8_are_one_diagnostic() {
        let p = parse_bytes("b", b"IPCKEY 1\n\xff\xfe", "b");
        assert_eq!(p.diagnostics.len(), 1);
        assert_eq!(p.diagnostics[0].code.id, "psctl::input::invalid_utf8");
        assert_eq!(p.diagnostics[0].location().unwrap().0.line, 2);
        let p = parse_bytes("b", b"\x7fELF\0\0", "b");
        assert_eq!(p.diagnostics[0].code.id, "psctl::input::not_text");
    }

    /// Each input holds one mistake and gets exactly one diagnostic, with its hint.
    #[test]
    fn one_diagnostic_per_mistake() {
        let pent = "crond:-:0:3:continue\n";
        let cases = [
            (
                format!("ipckey 0x1f000501\n{pent}"),
                "psctl::pfile::unknown_key",
                "did you mean `IPCKEY 0x1f000501`?",
            ),
            (
                format!("IPCKEY=0x1f000501\n{pent}"),
                "psctl::pfile::syntax",
                "did you mean `IPCKEY 0x1f000501`?",
            ),
            (
                format!("IPCKEYY 0x1f000501\n{pent}"),
                "psctl::pfile::unknown_key",
                "did you mean `IPCKEY`?",
            ),
            (
                "IPCKEY 0x1f000501\ncrond:-:0:3\n".to_owned(),
                "psctl::pfile::field_count",
                "the form is pname:restart:grace:retry:action",
            ),
        ];
        for (text, code, help) in cases {
            let p = parse_bytes("pfile_x", text.as_bytes(), "x");
            assert_eq!(p.diagnostics.len(), 1, "{text}: {:?}", p.diagnostics);
            let d = &p.diagnostics[0];
            assert_eq!(d.code.id, code, "{text}");
            assert_eq!(d.help.as_deref(), Some(help), "{text}");
        }
    }
}

/// What the lowering says about a pfile, rule by rule (the corpus has one file per rule too).
#[cfg(test)]
mod rule_tests {
    use crate::testing::diag;

    diag! {
        name: unknown_param_key,
        input: "IPCKEY 0x1\nMONITOR_INTERVALL 10\nx:-:1:1:exit\n",
        code: "psctl::pfile::unknown_key",
        line: 2,
        column: 1,
    }

    diag! {
        name: duplicate_param_key,
        input: "IPCKEY 0x1\nIPCKEY 0x2\nx:-:1:1:exit\n",
        code: "psctl::pfile::duplicate_key",
        line: 2,
        column: 1,
    }

    diag! {
        name: four_fields,
        input: "IPCKEY 0x1\nx:-:1:1\n",
        code: "psctl::pfile::field_count",
        line: 2,
        column: 1,
    }

    diag! {
        name: no_ipckey,
        input: "x:-:1:1:exit\n",
        code: "psctl::pfile::missing_ipckey",
        line: 1,
        column: 1,
    }

    diag! {
        name: unknown_action,
        input: "IPCKEY 0x1\nx:-:1:1:exot\n",
        code: "psctl::value::invalid_action",
        line: 2,
        column: 9,
    }
}

//! Planning a build in memory: every output file with its bytes and mode, or every reason why
//! the build cannot be done. Nothing touches the disk here, so `build` and `apply` can check
//! all inputs before writing anything.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::pfile::{self, Comments};
use super::script;
use crate::diagnostics::{codes, Diagnostic};
use crate::model::{Loc, Restart, Service, SpanLookup};
use crate::span::SourceFile;

/// One valid input of a build.
pub struct PlanInput<'a> {
    /// Names the source in messages (the path as given, say).
    pub source_name: String,
    /// Names the source in generated headers: a stable form (see [`super::header_name`]), so
    /// that output does not depend on where psctl runs or how the path was spelt.
    pub header_name: String,
    pub service: &'a Service,
    /// Comments carried into the pfile (from a pfile input; empty for descriptions).
    pub comments: Comments,
    /// Where the service came from, so that problems point into it.
    pub origin: Option<(&'a Arc<SourceFile>, &'a dyn SpanLookup)>,
}

/// A file to write, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// One path component: `pfile_<name>` or `restart_<slug>.sh`.
    pub rel_path: String,
    pub bytes: Vec<u8>,
    pub mode: u32,
    /// The input it comes from.
    pub source_name: String,
}

pub const PFILE_MODE: u32 = 0o644;
pub const SCRIPT_MODE: u32 = 0o755;

/// Why a service name cannot name an output file, if it cannot. Descriptions restrict names
/// further; a pfile's name comes from its file name, which must still stay one path component.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("the service name is empty")
    } else if name.contains('/') {
        Some("the service name contains `/`")
    } else if name.chars().any(char::is_control) {
        Some("the service name contains a control character")
    } else if name.len() > 200 {
        Some("the service name is longer than 200 bytes")
    } else {
        None
    }
}

fn diag(
    input: &PlanInput<'_>,
    code: codes::Code,
    loc: Loc,
    msg: String,
    label: &str,
) -> Diagnostic {
    let d = Diagnostic::error(code, msg);
    match input.origin {
        Some((src, spans)) => d.with_label(spans.span(loc), label).in_file(src),
        None => d,
    }
}

/// The files one input produces, by name, with the location that names each (the service for
/// its pfile, the process for a script). Cheap: nothing is rendered.
fn outputs_of(svc: &Service) -> Vec<(Loc, String, Option<usize>)> {
    let mut out = vec![(Loc::Name, svc.pfile_name(), None)];
    let n = svc.processes.len();
    for (i, slug) in script::slugs(svc).into_iter().enumerate() {
        if let Some(slug) = slug {
            // Indices past the entries are groups (see `script::restarts`).
            let loc = if i < n {
                Loc::ProcessName(i)
            } else {
                Loc::GroupName(i - n)
            };
            out.push((loc, script::file_name(&slug), Some(i)));
        }
    }
    out
}

/// Everything that keeps a set of valid inputs from being emitted: a name that cannot name a
/// file, a value a pfile cannot hold, two inputs producing one file. `check` runs only this;
/// [`plan`] runs it first. Inputs are taken in source-name order, so that the later one is
/// blamed for a conflict whatever the order given.
pub fn problems(inputs: &[PlanInput<'_>]) -> Vec<Diagnostic> {
    let mut order: Vec<&PlanInput<'_>> = inputs.iter().collect();
    order.sort_by(|a, b| a.source_name.cmp(&b.source_name));
    // What each service produces and what it cannot hold does not depend on the others: found
    // on all cores (a repository of hundreds of services), then merged in order.
    let services: Vec<&Service> = order.iter().map(|i| i.service).collect();
    let found = crate::par::par_map(&services, |svc| {
        (
            name_problem(&svc.name),
            pfile::unrepresentable(svc),
            outputs_of(svc),
        )
    });
    let mut diags = Vec::new();
    // Looked up only (inputs come in a fixed order), so not sorted.
    let total = found.iter().map(|f| f.2.len()).sum();
    let mut owners: HashMap<String, &str> = HashMap::with_capacity(total);
    for (input, (name_why, unrepresentable, outputs)) in order.into_iter().zip(found) {
        let mut ok = true;
        if let Some(why) = name_why {
            diags.push(diag(
                input,
                codes::INVALID_NAME,
                Loc::Name,
                why.into(),
                "here",
            ));
            ok = false;
        }
        for (loc, why) in unrepresentable {
            diags.push(diag(
                input,
                codes::EMIT_UNREPRESENTABLE,
                loc,
                why,
                "cannot be written as is",
            ));
            ok = false;
        }
        if !ok {
            continue;
        }
        for (loc, name, _) in outputs {
            if let Some(first) = owners.get(&name) {
                let msg = format!(
                    "`{name}` would be generated from both `{first}` and `{}`",
                    input.source_name
                );
                diags.push(diag(
                    input,
                    codes::EMIT_CONFLICT,
                    loc,
                    msg,
                    "produces it again",
                ));
            } else {
                owners.insert(name, &input.source_name);
            }
        }
    }
    diags
}

/// Plans the output of one build: a pfile per input and a script per `stop`/`start` restart,
/// sorted by path. Output does not depend on the order of `inputs`.
pub fn plan(inputs: &[PlanInput<'_>]) -> Result<Vec<OutputFile>, Vec<Diagnostic>> {
    let diags = problems(inputs);
    if !diags.is_empty() {
        return Err(diags);
    }
    let mut files: BTreeMap<String, OutputFile> = BTreeMap::new();
    for input in inputs {
        let svc = input.service;
        let header = super::generated_header(&input.header_name);
        for (_, name, script) in outputs_of(svc) {
            let bytes = match script {
                None => pfile::print(svc, &input.comments, Some(&header)),
                Some(i) => {
                    let (owner, restart) = match svc.processes.get(i) {
                        Some(p) => (script::Owner::Process(&p.name), &p.restart),
                        None => {
                            let g = &svc.groups[i - svc.processes.len()];
                            (script::Owner::Group(&g.name), &g.restart)
                        }
                    };
                    let Restart::Commands(c) = restart else {
                        continue;
                    };
                    script::render(&input.header_name, owner, &c.stop, &c.start, c.wait)
                }
            };
            let mode = if script.is_some() {
                SCRIPT_MODE
            } else {
                PFILE_MODE
            };
            files.insert(
                name.clone(),
                OutputFile {
                    rel_path: name,
                    bytes: bytes.into_bytes(),
                    mode,
                    source_name: input.source_name.clone(),
                },
            );
        }
    }
    Ok(files.into_values().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Action, Process};

    fn svc(name: &str, restart: Restart) -> Service {
        Service {
            dump_file: Some(format!("/var/log/d_{name}")),
            processes: vec![Process {
                name: "crond".into(),
                restart,
                grace: 86400,
                retries: 3,
                on_retry_over: Action::Continue,
                user: Box::default(),
                ..Process::new("")
            }],
            groups: Vec::new(),
            ..Service::new(name, 0x1f000501)
        }
    }

    fn input<'a>(src: &str, s: &'a Service) -> PlanInput<'a> {
        PlanInput {
            source_name: src.into(),
            header_name: src.into(),
            service: s,
            comments: Comments::default(),
            origin: None,
        }
    }

    fn commands() -> Restart {
        Restart::commands("/etc/init.d/crond stop", "/etc/init.d/crond start", 5)
    }

    #[test]
    fn plans_pfile_and_script_in_any_input_order() {
        let a = svc("a", commands());
        let b = svc("b", Restart::None);
        let one = plan(&[input("a.yaml", &a), input("b.yaml", &b)]).unwrap();
        let two = plan(&[input("b.yaml", &b), input("a.yaml", &a)]).unwrap();
        assert_eq!(one, two);
        let names: Vec<_> = one.iter().map(|f| f.rel_path.as_str()).collect();
        assert_eq!(names, ["pfile_a", "pfile_b", "restart_crond.sh"]);
        let pfile_a = String::from_utf8(one[0].bytes.clone()).unwrap();
        assert!(pfile_a.starts_with("# Generated by psctl from a.yaml; do not edit.\n"));
        assert!(
            pfile_a.contains("\ncrond:/var/opt/HA/PS/conf/bin/restart_crond.sh:86400:3:continue\n")
        );
        assert_eq!(one[2].mode, 0o755);
    }

    #[test]
    fn conflicts_and_bad_values_are_errors() {
        let a = svc("a", commands());
        let b = svc("b", commands());
        let errs = plan(&[input("a.yaml", &a), input("b.yaml", &b)]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].code.id, "psctl::emit::conflict");
        assert!(errs[0].message.contains("restart_crond.sh"));

        let mut c = svc("c", Restart::Script("/x # y".into()));
        c.name = "../c".into();
        let errs = plan(&[input("c", &c)]).unwrap_err();
        let ids: Vec<_> = errs.iter().map(|d| d.code.id).collect();
        assert_eq!(
            ids,
            ["psctl::value::invalid_name", "psctl::emit::unrepresentable"]
        );
    }
}

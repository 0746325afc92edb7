//! The rules of groups (spec 7, docs/extensions.md), whatever the input format: group names
//! valid and unique and not a pname, every member's group defined, every group with members,
//! no member with a restart or retry delay of its own (the group's apply).

use std::collections::HashMap;
use std::sync::Arc;

use crate::diagnostics::{codes, Diagnostic};
use crate::model::{Loc, Restart, Service, SpanLookup};
use crate::span::SourceFile;
use crate::suggestion::{suggest, Closeness};

/// Whether `name` is a valid group name: `[a-z0-9][a-z0-9_-]*`.
pub fn valid_name(name: &str) -> bool {
    let mut b = name.bytes();
    b.next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && b.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == b'_' || c == b'-')
}

pub fn check(svc: &Service, spans: &dyn SpanLookup, src: &Arc<SourceFile>) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let mut by_name: HashMap<&str, usize> = HashMap::new();
    for (g, group) in svc.groups.iter().enumerate() {
        let at = spans.span(Loc::GroupName(g));
        if !valid_name(&group.name) {
            out.push(
                Diagnostic::error(
                    codes::GROUP_INVALID_NAME,
                    format!(
                        "group name `{}` is not valid",
                        crate::escape::for_display(&group.name)
                    ),
                )
                .with_label(at, "invalid group name")
                .with_help("a group name matches [a-z0-9][a-z0-9_-]*")
                .in_file(src),
            );
            continue;
        }
        if let Some(&first) = by_name.get(group.name.as_str()) {
            out.push(
                Diagnostic::error(
                    codes::GROUP_DUPLICATE,
                    format!("group `{}` is defined twice", group.name),
                )
                .with_label(at, "second definition")
                .with_label(spans.span(Loc::GroupName(first)), "first definition")
                .with_help("rename or remove one of the two groups")
                .in_file(src),
            );
            continue;
        }
        by_name.insert(&group.name, g);
        if let Some(i) = svc.processes.iter().position(|p| p.name == group.name) {
            out.push(
                Diagnostic::error(
                    codes::GROUP_NAME_CLASH,
                    format!(
                        "group `{}` has the name of an entry: log lines would not say which one they mean",
                        group.name
                    ),
                )
                .with_label(at, "group name")
                .with_label(spans.span(Loc::ProcessName(i)), "entry with the same name")
                .with_help("give the group a name of its own")
                .in_file(src),
            );
        }
        if let Restart::Script(cmd) = &group.restart {
            if let Some(why) = super::restart_command_problem(cmd) {
                out.push(
                    Diagnostic::error(codes::INVALID_RESTART, why)
                        .with_label(spans.span(Loc::GroupRestart(g)), "invalid restart")
                        .in_file(src),
                );
            }
        }
        if svc.members(&group.name).next().is_none() {
            out.push(
                Diagnostic::error(
                    codes::GROUP_NO_MEMBERS,
                    format!("group `{}` has no members", group.name),
                )
                .with_label(at, "no entry names this group")
                .with_help(format!(
                    "add `:group={}` to its members' PENT lines (`members:` in a description), or remove the group",
                    group.name
                ))
                .in_file(src),
            );
        }
    }
    let names: Vec<&str> = svc.groups.iter().map(|g| g.name.as_str()).collect();
    for (i, p) in svc.processes.iter().enumerate() {
        let Some(group) = &p.group else { continue };
        if !names.contains(&&**group) {
            let mut d = Diagnostic::error(
                codes::GROUP_UNKNOWN,
                format!(
                    "entry `{}` names group `{}`, which is not defined",
                    crate::escape::for_display(&p.name),
                    crate::escape::for_display(group)
                ),
            )
            .with_label(spans.span(Loc::Group(i)), "unknown group");
            d = match suggest(group, &names, Closeness::Near) {
                Some(best) => d.with_help(best.to_string()),
                None => d.with_help(format!(
                    "define it with a line `{group}:RESTART:GRACE:RETRY:ACTION:kind=group`"
                )),
            };
            out.push(d.in_file(src));
        }
        if p.restart != Restart::None {
            out.push(
                Diagnostic::error(
                    codes::GROUP_MEMBER_RESTART,
                    format!(
                        "`{}` is a member of group `{}` and cannot have a restart of its own",
                        crate::escape::for_display(&p.name),
                        crate::escape::for_display(group)
                    ),
                )
                .with_label(spans.span(Loc::Restart(i)), "the group's restart applies")
                .with_help("write `-` as its restart (no `restart` in a description) and give the group the restart")
                .in_file(src),
            );
        }
        if p.retry_delay != 0 {
            out.push(
                Diagnostic::error(
                    codes::GROUP_MEMBER_SETTING,
                    format!(
                        "`{}` is a member of group `{}`: its retry_delay would have no effect",
                        crate::escape::for_display(&p.name),
                        crate::escape::for_display(group)
                    ),
                )
                .with_label(spans.span(Loc::RetryDelay(i)), "no effect on a member")
                .with_help("remove it; the group's attempts follow each other without delay")
                .in_file(src),
            );
        }
    }
    out
}

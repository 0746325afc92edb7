//! The canonical pfile printer (spec section 1), used by `build` and `fmt` alike.
//!
//! Canonical form: an optional generated-file header and the file's leading comments (then a
//! blank line, unless there is nothing but the header), the PARAM banner, all five PARAM keys in table order padded to 22 columns (defaults made explicit, so
//! the text means the same to every reader), a blank line, the PENT banner, the PENT lines in
//! model order (extension fields in table order, only when not the default: docs/extensions.md),
//! then the group definition lines in group order, any comments that followed the last line,
//! LF line endings, a final newline.
//! Own-line comments travel with the line they preceded; trailing comments stay on their line.

use std::fmt::Write as _;

use super::script;
use crate::fields;
use crate::model::{HealthCheck, Loc, Process, Restart, Service};
use crate::pfile::pent::is_group_line;
use crate::pfile::syntax::{LineKind, PfileSyntax};
use crate::pfile::PARAM_KEYS;
use crate::span::SourceFile;

pub const PARAM_BANNER: &str = "##### PARAM #####";
pub const PENT_BANNER: &str = "##### PENT #####";
/// PARAM keys are padded to this many columns.
const KEY_WIDTH: usize = 22;

/// Comments attached to one PARAM or PENT line.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Attached {
    /// Own-line comments that stood right before the line, in order.
    pub before: Vec<String>,
    /// The comment at the end of the line.
    pub trailing: Option<String>,
}

/// The comments of a source pfile, attached to what they annotate. Each string is a whole
/// comment starting with `#`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Comments {
    /// The file's header: comments before the first banner or blank line that precede any
    /// PARAM or PENT line. Printed above the PARAM banner.
    pub preamble: Vec<String>,
    /// Indexed like [`PARAM_KEYS`].
    pub params: [Attached; PARAM_KEYS.len()],
    /// Per PENT line in model order: the entries, then the group definition lines.
    pub entries: Vec<Attached>,
    /// Comments after the last PARAM or PENT line.
    pub trailer: Vec<String>,
}

impl Comments {
    /// Removes generated-file headers, which `build` writes afresh.
    pub fn strip_generated_header(&mut self) {
        self.preamble
            .retain(|c| !c.starts_with(super::GENERATED_MARKER));
    }

    pub fn entry(&self, i: usize) -> Option<&Attached> {
        self.entries.get(i)
    }

    /// The comments of group `g` of `svc`.
    pub fn group(&self, svc: &Service, g: usize) -> Option<&Attached> {
        self.entries.get(svc.processes.len() + g)
    }
}

/// A banner such as `##### PARAM #####`: printed by the printer itself, so never carried over.
fn is_banner(comment: &str) -> bool {
    let word = comment.trim_matches(|c: char| c == '#' || c == ' ' || c == '\t');
    comment.starts_with("##")
        && (word.eq_ignore_ascii_case("PARAM") || word.eq_ignore_ascii_case("PENT"))
}

/// Collects the comments of a parsed pfile. Expects a pfile that lowered without errors (every
/// PARAM key known, every PENT line an entry), as `fmt` only rewrites those.
pub fn comments_from_syntax(syntax: &PfileSyntax, src: &SourceFile) -> Comments {
    let mut out = Comments::default();
    let mut groups = Vec::new();
    let mut pending: Vec<String> = Vec::new();
    let mut seen_entry = false;
    let text = |s| src.slice(s).trim_end_matches([' ', '\t', '\r']).to_owned();
    for line in &syntax.lines {
        let trailing = || line.comment.map(text);
        match &line.kind {
            LineKind::Comment => {
                let c = text(line.comment.unwrap_or(line.span));
                if is_banner(&c) {
                    if !seen_entry {
                        out.preamble.append(&mut pending);
                    }
                } else {
                    pending.push(c);
                }
            }
            LineKind::Blank => {
                if !seen_entry {
                    out.preamble.append(&mut pending);
                }
            }
            LineKind::Param { key, .. } => {
                seen_entry = true;
                let k = src.slice(*key);
                if let Some(i) = PARAM_KEYS.iter().position(|p| *p == k) {
                    let a = &mut out.params[i];
                    a.before.append(&mut pending);
                    a.trailing = trailing();
                }
            }
            LineKind::Pent { fields, .. } => {
                seen_entry = true;
                let a = Attached {
                    before: std::mem::take(&mut pending),
                    trailing: trailing(),
                };
                let group = fields.get(5).is_some_and(|&x| is_group_line(src.slice(x)));
                if group {
                    groups.push(a);
                } else {
                    out.entries.push(a);
                }
            }
        }
    }
    out.entries.append(&mut groups);
    out.trailer = pending;
    out
}

/// Why `value` cannot be a pfile field or PARAM value without changing meaning, if it cannot.
pub fn field_problem(value: &str) -> Option<&'static str> {
    if value.is_empty() {
        Some("is empty")
    } else if value.chars().any(|c| c.is_control() && c != '\t') {
        Some("contains a control character")
    } else if value.contains(':') {
        Some("contains `:`, the pfile's field separator")
    } else if value.starts_with([' ', '\t']) || value.ends_with([' ', '\t']) {
        Some("has leading or trailing blanks")
    } else if value.starts_with('#') {
        Some("starts with `#`, which would make the line a comment")
    } else if value.contains(" #") || value.contains("\t#") {
        Some("contains a blank followed by `#`, which starts a comment in a pfile")
    } else {
        None
    }
}

/// Every value of `svc` that cannot be printed faithfully, with where it is and why.
pub fn unrepresentable(svc: &Service) -> Vec<(Loc, String)> {
    let mut out = Vec::new();
    if let Some(d) = &svc.dump_file {
        if let Some(why) = field_problem(d) {
            out.push((Loc::DumpFile, format!("the dump file `{d}` {why}")));
        }
    }
    let mut needs_scripts = false;
    for (i, p) in svc.processes.iter().enumerate() {
        if let Some(why) = field_problem(&p.name) {
            out.push((Loc::ProcessName(i), format!("the process name {why}")));
        }
        if p.user
            .iter()
            .any(|u| u.is_empty() || u.contains([',', ':', ' ', '\t', '#']))
        {
            out.push((
                Loc::User(i),
                "a trusted user name contains `,`, `:`, `#` or a blank".to_owned(),
            ));
        }
        if let Some(HealthCheck::Exec(cmd)) = p.health.as_deref().map(|h| &h.check) {
            if let Some(why) = field_problem(cmd) {
                out.push((
                    Loc::HealthCheck(i),
                    format!("the health check command {why}"),
                ));
            }
        }
        if let Some(why) = p.group.as_deref().and_then(field_problem) {
            out.push((Loc::Group(i), format!("the group name {why}")));
        }
        match &p.restart {
            Restart::Script(cmd) => {
                if let Some(why) = field_problem(cmd) {
                    out.push((Loc::Restart(i), format!("the restart command {why}")));
                }
            }
            Restart::Commands { .. } => needs_scripts = true,
            Restart::None => {}
        }
    }
    for (g, group) in svc.groups.iter().enumerate() {
        if let Some(why) = field_problem(&group.name) {
            out.push((Loc::GroupName(g), format!("the group name {why}")));
        }
        match &group.restart {
            Restart::Script(cmd) => {
                if let Some(why) = field_problem(cmd) {
                    out.push((Loc::GroupRestart(g), format!("the restart command {why}")));
                }
            }
            Restart::Commands { .. } => needs_scripts = true,
            Restart::None => {}
        }
    }
    if needs_scripts {
        if let Some(why) = script::conf_dir_problem(svc.conf_dir_or_default()) {
            out.push((Loc::ConfDir, why));
        }
    }
    out
}

/// Prints `svc` in canonical form. `header` (a generated-file header line) comes first when
/// given. The caller has checked [`unrepresentable`]; the printer itself never fails.
pub fn print(svc: &Service, comments: &Comments, header: Option<&str>) -> String {
    let mut out = String::with_capacity(256 + 96 * svc.processes.len());
    if let Some(h) = header {
        out.push_str(h);
        out.push('\n');
    }
    for c in &comments.preamble {
        push_line(&mut out, c, None);
    }
    // A blank line ends the file's own comments; a generated header alone needs none. The
    // test is on the comments themselves, so that `fmt` (which reads the header back as a
    // comment) prints exactly what `build` wrote: one canonical form.
    if comments
        .preamble
        .iter()
        .any(|c| !c.starts_with(super::GENERATED_MARKER))
    {
        out.push('\n');
    }
    push_line(&mut out, PARAM_BANNER, None);
    for (i, param) in fields::PARAMS.iter().enumerate() {
        let a = &comments.params[i];
        // A key at its default that is not always printed goes, unless it carries comments.
        if !param.printed(svc) && a.before.is_empty() && a.trailing.is_none() {
            continue;
        }
        let (key, value) = (param.field.pfile, param.print(svc));
        for c in &a.before {
            push_line(&mut out, c, None);
        }
        let line = format!("{key:<KEY_WIDTH$}{value}");
        push_line(&mut out, &line, a.trailing.as_deref());
    }
    out.push('\n');
    push_line(&mut out, PENT_BANNER, None);
    let restarts = script::restart_fields(svc);
    let none = Attached::default();
    for (i, (p, restart)) in svc.processes.iter().zip(&restarts).enumerate() {
        let a = comments.entry(i).unwrap_or(&none);
        for c in &a.before {
            push_line(&mut out, c, None);
        }
        let mut line = String::with_capacity(p.name.len() + restart.len() + 24);
        let _ = write!(
            line,
            "{}:{}:{}:{}:{}",
            p.name,
            restart,
            p.grace,
            p.retries,
            p.on_retry_over.as_str()
        );
        push_extensions(&mut line, p);
        push_line(&mut out, &line, a.trailing.as_deref());
    }
    let group_restarts = &restarts[svc.processes.len()..];
    for (g, (group, restart)) in svc.groups.iter().zip(group_restarts).enumerate() {
        let a = comments.group(svc, g).unwrap_or(&none);
        for c in &a.before {
            push_line(&mut out, c, None);
        }
        let line = format!(
            "{}:{}:{}:{}:{}:kind=group",
            group.name,
            restart,
            group.grace,
            group.retries,
            group.on_retry_over.as_str()
        );
        push_line(&mut out, &line, a.trailing.as_deref());
    }
    for c in &comments.trailer {
        push_line(&mut out, c, None);
    }
    out
}

/// Appends entry `p`'s extension fields that differ from their defaults, in table order
/// ([`fields::PENT_EXTENSIONS`]). A legacy entry gets none.
fn push_extensions(line: &mut String, p: &Process) {
    for f in fields::PENT_EXTENSIONS {
        if let Some(v) = fields::extension_value(f, p) {
            let _ = write!(line, ":{}={v}", f.pfile);
        }
    }
}

fn push_line(out: &mut String, line: &str, trailing: Option<&str>) {
    out.push_str(line);
    if let Some(t) = trailing {
        out.push(' ');
        out.push_str(t);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pfile::parse_bytes;

    fn fmt(text: &str) -> String {
        let p = parse_bytes("t", text.as_bytes(), "t");
        let svc = p.service.expect("valid pfile");
        let c = comments_from_syntax(p.syntax.as_ref().unwrap(), &p.source);
        print(&svc, &c, None)
    }

    #[test]
    fn guide_example_becomes_canonical() {
        let text = "##### PARAM #####\nIPCKEY 0x1F000501\nMONITOR_INTERVAL\t10\n\n##### PENT #####\ncrond:/x.sh:86400:3:Continue\n";
        let want = "##### PARAM #####\nIPCKEY                0x1f000501\nMSG_CHECK_INTERVAL    5\nMONITOR_INTERVAL      10\nMONITOR_TRY_COUNT     2\nSHM_DUMP_FILE         /var/opt/HA/PS/log/pcheck_dump_0x1f000501\n\n##### PENT #####\ncrond:/x.sh:86400:3:continue\n";
        assert_eq!(fmt(text), want);
        assert_eq!(fmt(want), want);
    }

    #[test]
    fn comments_stay_with_their_lines() {
        let text = "# header of the file\n\n# the key\nMONITOR_INTERVAL 10 # ten\nIPCKEY 1\n# watch cron\ncrond:-:0:0:exit # really\n# the end\n";
        let out = fmt(text);
        let want = "# header of the file\n\n##### PARAM #####\nIPCKEY                0x00000001\nMSG_CHECK_INTERVAL    5\n# the key\nMONITOR_INTERVAL      10 # ten\nMONITOR_TRY_COUNT     2\nSHM_DUMP_FILE         /var/opt/HA/PS/log/pcheck_dump_0x00000001\n\n##### PENT #####\n# watch cron\ncrond:-:0:0:exit # really\n# the end\n";
        assert_eq!(out, want);
        assert_eq!(fmt(&out), out);
    }

    #[test]
    fn the_user_extension_round_trips() {
        let text = "IPCKEY 1\npostgres:-:0:0:exit:user=postgres,0 # the db\ncrond:-:0:0:exit\n";
        let out = fmt(text);
        assert!(
            out.ends_with("postgres:-:0:0:exit:user=postgres,0 # the db\ncrond:-:0:0:exit\n"),
            "{out}"
        );
        assert_eq!(fmt(&out), out);
        let p = parse_bytes("t", out.as_bytes(), "t");
        assert_eq!(p.service.unwrap().processes[0].user[..], ["postgres", "0"]);
        for (bad, code) in [
            ("a:-:0:0:exit:users=x\n", "psctl::pfile::extension"),
            ("a:-:0:0:exit:user=x:user=y\n", "psctl::pfile::extension"),
            ("a:-:0:0:exit:user=\n", "psctl::value::invalid_user"),
            ("a:-:0:0:exit:user=a,,b\n", "psctl::value::invalid_user"),
            ("a:-:0:0:exit:user=-x\n", "psctl::value::invalid_user"),
            (
                "a:-:0:0:exit:user=4294967295\n",
                "psctl::value::invalid_user",
            ),
        ] {
            let p = parse_bytes("t", format!("IPCKEY 1\n{bad}").as_bytes(), "t");
            assert!(p.service.is_none(), "{bad}");
            assert_eq!(p.diagnostics[0].code.id, code, "{bad}");
        }
    }

    #[test]
    fn the_extensions_of_spec_7_round_trip() {
        let text = "IPCKEY 1\n# the group\nfrontend:/etc/ps/restart_frontend.sh:86400:3:exit:kind=group # grp\nnginx:-:86400:3:continue: group=frontend :retry_delay=0:health_tcp=127.0.0.1  80:instances=2:health_interval=30\nphp-fpm:-:86400:3:continue:group=frontend:stop_timeout=10\ncrond:/x.sh:0:0:exit:retry_delay=5:stop_timeout=20:health_exec=/usr/bin/true -v:health_failures=2:user=root\n";
        let p = parse_bytes("t", text.as_bytes(), "t");
        assert!(p.diagnostics.is_empty(), "{:?}", p.diagnostics);
        let svc = p.service.unwrap();
        assert_eq!(svc.groups.len(), 1);
        assert_eq!(svc.groups[0].name, "frontend");
        assert_eq!(svc.groups[0].on_retry_over, crate::model::Action::Exit);
        let members: Vec<_> = svc.members("frontend").map(|(i, _)| i).collect();
        assert_eq!(members, [0, 1]);
        let nginx = &svc.processes[0];
        assert_eq!(nginx.instances, 2);
        let h = nginx.health.as_ref().unwrap();
        assert_eq!(h.check, HealthCheck::Tcp("127.0.0.1:80".parse().unwrap()));
        assert_eq!((h.interval, h.timeout, h.failures), (30, 5, 3));
        let crond = &svc.processes[2];
        assert_eq!((crond.stop_timeout, crond.retry_delay), (20, 5));
        assert_eq!(
            crond.health.as_ref().unwrap().check,
            HealthCheck::Exec("/usr/bin/true -v".into())
        );
        let out = fmt(text);
        assert!(
            out.ends_with(
                "##### PENT #####\n\
nginx:-:86400:3:continue:instances=2:health_tcp=127.0.0.1 80:health_interval=30:group=frontend\n\
php-fpm:-:86400:3:continue:group=frontend\n\
crond:/x.sh:0:0:exit:user=root:health_exec=/usr/bin/true -v:health_failures=2:stop_timeout=20:retry_delay=5\n\
# the group\n\
frontend:/etc/ps/restart_frontend.sh:86400:3:exit:kind=group # grp\n"
            ),
            "{out}"
        );
        assert_eq!(fmt(&out), out);
        // The printer makes the default dump file explicit; all else reads back the same.
        let again = parse_bytes("t", out.as_bytes(), "t").service.unwrap();
        assert_eq!(
            again,
            Service {
                dump_file: again.dump_file.clone(),
                ..svc
            }
        );
    }

    #[test]
    fn banners_are_not_duplicated() {
        let text = "#### param ####\nIPCKEY 1\n#####PENT#####\na:-:1:1:exit\n";
        let out = fmt(text);
        assert_eq!(out.matches("PARAM").count(), 1);
        assert_eq!(out.matches("PENT").count(), 1);
    }

    #[test]
    fn problems_are_found() {
        for (bad, ok) in [
            ("a #b", "a#b"),
            ("#a", "a#"),
            ("a:b", "a b"),
            (" a", "a  b"),
            ("a\nb", "/x\ty"),
        ] {
            assert!(field_problem(bad).is_some(), "{bad:?}");
            assert!(field_problem(ok).is_none(), "{ok:?}");
        }
    }
}

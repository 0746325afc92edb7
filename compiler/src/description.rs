//! The service description (spec section 2): the serde/schemars types of a YAML/TOML/JSON
//! document and their conversion into [`crate::model::Service`].
//!
//! These are separate from the model because the document has forms the model does not
//! (durations as `90s`, IPCKEY as a `"0x..."` string, three spellings of a restart), and the
//! JSON Schema should describe what users write, not what pcheck runs.

use std::sync::Arc;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::diagnostics::{codes, Diagnostic};
use crate::duration;
use crate::fields::{self, Field};
use crate::model::{
    self, Action, Group, Health, HealthCheck, Loc, Process, Restart, Service, SpanLookup,
};
use crate::rules;
use crate::span::SourceFile;

/// Keys of the top-level mapping (for "did you mean"; a test checks them against the schema).
pub const SERVICE_KEYS: &[&str] = &[
    "$schema",
    "name",
    "ipckey",
    "msg_check_interval",
    "monitor_interval",
    "monitor_try_count",
    "dump_file",
    "conf_dir",
    "processes",
    "groups",
];
/// Keys of one process.
pub const PROCESS_KEYS: &[&str] = &[
    "name",
    "restart",
    "grace",
    "retries",
    "on_retry_over",
    "user",
    "instances",
    "health",
    "stop_timeout",
    "retry_delay",
];
/// Keys of the two restart mappings.
pub const RESTART_KEYS: &[&str] = &["script", "stop", "start", "wait"];
/// Keys of a process's health check.
pub const HEALTH_KEYS: &[&str] = &["exec", "tcp", "interval", "timeout", "failures"];
/// Keys of one group.
pub const GROUP_KEYS: &[&str] = &[
    "name",
    "members",
    "restart",
    "grace",
    "retries",
    "on_retry_over",
];

/// One pcheck: the processes it watches and how it restarts them. Compiles to the legacy pfile
/// `pfile_<name>`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "psctl service description")]
pub struct Description {
    /// The JSON Schema this file follows, for editors (JSON has no comment to carry it);
    /// psctl ignores it.
    #[schemars(title = "Schema")]
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Names the service; the generated pfile is `pfile_<name>`. Lower-case letters, digits,
    /// `_` and `-`, starting with a letter or digit.
    #[schemars(title = "Service name")]
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]*$"), length(max = 200))]
    pub name: String,
    /// Names this pcheck's control channel; unique on a host. An integer from 1 to 0x7fffffff
    /// (2147483647), or the same as a string "0x..." of 1 to 8 hex digits.
    #[schemars(title = "IPC key")]
    pub ipckey: IpcKey,
    /// Upper bound on how long pcheck may take to act on a padmin command.
    #[schemars(title = "Command check interval")]
    #[serde(default = "default_msg_check_interval")]
    pub msg_check_interval: DurationValue,
    /// Period of the liveness check and rediscovery scan.
    #[schemars(title = "Monitor interval")]
    #[serde(default = "default_monitor_interval")]
    pub monitor_interval: DurationValue,
    /// How many scans pcheck makes to find a process before it reports "Set pid fail".
    #[schemars(title = "Monitor try count")]
    #[serde(default = "default_monitor_try_count")]
    pub monitor_try_count: u32,
    /// Absolute path where pcheck writes its state dump; unique on a host. When absent:
    /// /var/opt/HA/PS/log/pcheck_dump_<name>.
    #[schemars(title = "State dump file")]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(extend("default" = "/var/opt/HA/PS/log/pcheck_dump_<name>"))]
    pub dump_file: Option<String>,
    /// Absolute directory where the pfile and generated restart scripts are installed. With
    /// generated scripts, only letters, digits and `/._+,=@%-`.
    #[schemars(title = "Configuration directory")]
    #[serde(default = "default_conf_dir")]
    pub conf_dir: String,
    /// The processes this pcheck watches (its PENT entries), at least one.
    #[schemars(title = "Processes")]
    #[schemars(length(min = 1))]
    pub processes: Vec<ProcessDesc>,
    /// Processes restarted together (docs/extensions.md): any member's death or stall is the
    /// group's event, with the group's restart, one set of counters, one grace window and the
    /// group's retry-over action.
    #[schemars(title = "Groups")]
    #[schemars(extend("default" = []))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<GroupDesc>,
}

/// One watched process (a PENT entry).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Process")]
pub struct ProcessDesc {
    /// The pname: what pcheck looks for among running processes (a command name or a full
    /// command line). Not empty; no `:`, no control characters, no leading or trailing blank.
    #[schemars(title = "Process name")]
    #[schemars(length(min = 1))]
    pub name: String,
    /// How a dead process is brought back: "none" (report only), {script: PATH [ARGS]} (an
    /// existing executable) or {stop, start, wait} (psctl generates a script).
    #[schemars(title = "Restart")]
    #[serde(default = "default_restart")]
    pub restart: RestartDesc,
    /// The window in which `retries` restarts are allowed; 0 means the window never ends.
    #[schemars(title = "Grace window")]
    #[serde(default = "default_grace")]
    pub grace: DurationValue,
    /// Restarts allowed within one grace window; 0 means the first death is already a retry
    /// over.
    #[schemars(title = "Retries")]
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// What pcheck does when the retries are used up: continue (stop watching this entry), exit
    /// (pcheck exits with status 1) or shutdown (pcheck exits with status 0).
    #[schemars(title = "Action on retry over")]
    #[serde(default = "default_action")]
    pub on_retry_over: ActionDesc,
    /// The users whose processes may match this entry: user names or numeric uids, at least
    /// one. When absent: root, pcheck's own user and system accounts (uid below UID_MIN of
    /// /etc/login.defs, never nobody). pcheck resolves names through /etc/passwd when it loads
    /// the pfile.
    #[schemars(title = "Trusted users")]
    #[schemars(extend("default" = []))]
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(min = 1))]
    pub user: Vec<UserRef>,
    /// Same-name monitoring: pcheck watches the N oldest matching processes and restarts when
    /// fewer than N remain.
    #[schemars(title = "Instances")]
    #[serde(default = "default_instances")]
    pub instances: u32,
    /// Hang detection: a check run every `interval`; after `failures` consecutive failures the
    /// process is logged as stalled, terminated and handled as a death. When absent: none.
    #[schemars(title = "Health check")]
    #[schemars(extend("default" = null))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthDesc>,
    /// Time between SIGTERM and SIGKILL when pcheck ends a stalled process.
    #[schemars(title = "Stop timeout")]
    #[serde(default = "default_stop_timeout")]
    pub stop_timeout: DurationValue,
    /// Delay before the next restart after a failed one, doubling per consecutive failure up
    /// to 5 minutes; 0 retries at once, as the guide's pcheck does.
    #[schemars(title = "Retry delay")]
    #[serde(default = "default_retry_delay")]
    pub retry_delay: DurationValue,
}

/// A health check: exactly one of `exec` and `tcp`.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Health check")]
pub struct HealthDesc {
    /// A command, an absolute path optionally followed by arguments; exit status 0 means
    /// healthy. Run with PCHECK_PID and PCHECK_PNAME set, under the trust rules of restart
    /// scripts. Either this or `tcp`.
    #[schemars(title = "Health command")]
    #[schemars(extend("default" = null))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exec: Option<String>,
    /// An IPv4 address and port, `A.B.C.D:PORT`: a connection that succeeds within `timeout`
    /// means healthy. Either this or `exec`.
    #[schemars(title = "TCP health check")]
    #[schemars(extend("default" = null))]
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<String>,
    /// Time between the start of one check and the next.
    #[schemars(title = "Check interval")]
    #[serde(default = "default_health_interval")]
    pub interval: DurationValue,
    /// Time a check may take; one that does not finish in time has failed.
    #[schemars(title = "Check timeout")]
    #[serde(default = "default_health_timeout")]
    pub timeout: DurationValue,
    /// Consecutive failed checks that make the process stalled.
    #[schemars(title = "Failures")]
    #[serde(default = "default_health_failures")]
    pub failures: u32,
}

/// Processes of this description restarted together.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Group")]
pub struct GroupDesc {
    /// Names the group in log lines (`Try to restart (NAME)`) and its generated script.
    /// Lower-case letters, digits, `_` and `-`, starting with a letter or digit; not the name
    /// of a process.
    #[schemars(title = "Group name")]
    #[schemars(regex(pattern = r"^[a-z0-9][a-z0-9_-]*$"), length(max = 200))]
    pub name: String,
    /// The names of the group's processes (of this description). A member has no restart of
    /// its own and belongs to one group only.
    #[schemars(title = "Members")]
    #[schemars(length(min = 1))]
    pub members: Vec<String>,
    /// How the group is brought back when a member dies: "none", {script: PATH [ARGS]} or
    /// {stop, start, wait}. Members still alive are the script's to stop.
    #[schemars(title = "Restart")]
    #[serde(default = "default_restart")]
    pub restart: RestartDesc,
    /// The window in which `retries` restarts of the group are allowed; 0 means the window
    /// never ends.
    #[schemars(title = "Grace window")]
    #[serde(default = "default_grace")]
    pub grace: DurationValue,
    /// Restarts of the group allowed within one grace window.
    #[schemars(title = "Retries")]
    #[serde(default = "default_retries")]
    pub retries: u32,
    /// What pcheck does when the group's retries are used up: continue, exit or shutdown.
    #[schemars(title = "Action on retry over")]
    #[serde(default = "default_action")]
    pub on_retry_over: ActionDesc,
}

/// A user: a name or a numeric uid.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum UserRef {
    Uid(#[schemars(range(max = 4_294_967_294u32))] u32),
    Name(
        #[schemars(
            regex(pattern = r"^[A-Za-z0-9._][A-Za-z0-9._-]*\$?$"),
            length(max = 32)
        )]
        String,
    ),
}

impl UserRef {
    /// As the model and a pfile write it.
    pub fn text(&self) -> String {
        match self {
            UserRef::Uid(n) => n.to_string(),
            UserRef::Name(s) => s.clone(),
        }
    }
}

/// An IPCKEY: integer or `"0x..."` string.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum IpcKey {
    Number(#[schemars(range(min = 1, max = 0x7fff_ffff))] u64),
    Hex(#[schemars(regex(pattern = r"^0[xX][0-9a-fA-F]{1,8}$"))] String),
}

/// A duration: whole seconds, or a string with a unit (`90s`, `10m`, `12h`, `1d`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DurationValue {
    Seconds(u64),
    Text(String),
}

/// How a dead process is brought back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum RestartDesc {
    /// Report only (the pfile's `-`).
    None(RestartNone),
    /// An existing script, used as is.
    Script(ScriptRestart),
    /// psctl generates a script: stop, wait, start, wait.
    Commands(CommandsRestart),
}

/// The word `none`: report only, never restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub enum RestartNone {
    #[serde(rename = "none")]
    None,
}

/// Restart with an existing script
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ScriptRestart {
    /// Absolute path of an executable, optionally followed by arguments; no `:`.
    #[schemars(title = "Restart script")]
    pub script: String,
}

/// Restart with generated stop/start commands
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CommandsRestart {
    /// Shell command that stops the process, on one line; its failure is ignored.
    #[schemars(title = "Stop command")]
    pub stop: String,
    /// Shell command that starts the process, on one line; its status is the restart's status.
    #[schemars(title = "Start command")]
    pub start: String,
    /// Pause after stop and after start.
    #[schemars(title = "Wait")]
    #[serde(default = "default_wait")]
    pub wait: DurationValue,
}

/// What pcheck does when an entry's retries are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionDesc {
    Continue,
    Exit,
    Shutdown,
}

// The four `untagged` enums above are read by hand: serde's untagged reading buffers the
// value, tries each variant on it and formats an error for every miss, which was a tenth of
// checking a valid file. These accept exactly what the variants, tried in order, would.

/// Reads a value that is a whole number or a string.
struct NumberOrString<T> {
    expecting: &'static str,
    number: fn(u64) -> Option<T>,
    text: fn(String) -> T,
}

impl<'de, T> serde::de::Visitor<'de> for NumberOrString<T> {
    type Value = T;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_u64<E: serde::de::Error>(self, n: u64) -> Result<T, E> {
        (self.number)(n).ok_or_else(|| E::invalid_value(serde::de::Unexpected::Unsigned(n), &self))
    }

    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<T, E> {
        match u64::try_from(n) {
            Ok(n) => self.visit_u64(n),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Signed(n), &self)),
        }
    }

    fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<T, E> {
        Ok((self.text)(s.to_owned()))
    }

    fn visit_string<E: serde::de::Error>(self, s: String) -> Result<T, E> {
        Ok((self.text)(s))
    }
}

impl<'de> Deserialize<'de> for DurationValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberOrString {
            expecting: "whole seconds or a duration string",
            number: |n| Some(DurationValue::Seconds(n)),
            text: DurationValue::Text,
        })
    }
}

impl<'de> Deserialize<'de> for IpcKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberOrString {
            expecting: "a number or a \"0x...\" string",
            number: |n| Some(IpcKey::Number(n)),
            text: IpcKey::Hex,
        })
    }
}

impl<'de> Deserialize<'de> for UserRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumberOrString {
            expecting: "a user name or a numeric uid",
            number: |n| u32::try_from(n).ok().map(UserRef::Uid),
            text: UserRef::Name,
        })
    }
}

impl<'de> Deserialize<'de> for RestartDesc {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let v = serde_json::Value::deserialize(d)?;
        let r = if v.as_str() == Some("none") {
            Ok(RestartDesc::None(RestartNone::None))
        } else if v.get("script").is_some() {
            ScriptRestart::deserialize(&v).map(RestartDesc::Script)
        } else {
            CommandsRestart::deserialize(&v).map(RestartDesc::Commands)
        };
        r.map_err(D::Error::custom)
    }
}

fn default_msg_check_interval() -> DurationValue {
    DurationValue::Seconds(model::DEFAULT_MSG_CHECK_INTERVAL.into())
}
fn default_monitor_interval() -> DurationValue {
    DurationValue::Seconds(model::DEFAULT_MONITOR_INTERVAL.into())
}
fn default_monitor_try_count() -> u32 {
    model::DEFAULT_MONITOR_TRY_COUNT
}
fn default_conf_dir() -> String {
    model::DEFAULT_CONF_DIR.to_owned()
}
fn default_restart() -> RestartDesc {
    RestartDesc::None(RestartNone::None)
}
fn default_grace() -> DurationValue {
    DurationValue::Seconds(model::DEFAULT_GRACE)
}
fn default_retries() -> u32 {
    model::DEFAULT_RETRIES
}
fn default_action() -> ActionDesc {
    ActionDesc::Continue
}
fn default_wait() -> DurationValue {
    DurationValue::Seconds(model::DEFAULT_WAIT.into())
}
fn default_instances() -> u32 {
    model::DEFAULT_INSTANCES
}
fn default_stop_timeout() -> DurationValue {
    DurationValue::Seconds(model::DEFAULT_STOP_TIMEOUT.into())
}
fn default_retry_delay() -> DurationValue {
    DurationValue::Seconds(model::DEFAULT_RETRY_DELAY.into())
}
fn default_health_interval() -> DurationValue {
    DurationValue::Seconds(model::DEFAULT_HEALTH_INTERVAL.into())
}
fn default_health_timeout() -> DurationValue {
    DurationValue::Seconds(model::DEFAULT_HEALTH_TIMEOUT.into())
}
fn default_health_failures() -> u32 {
    model::DEFAULT_HEALTH_FAILURES
}

/// Reads a duration as whole seconds (the grammar of [`crate::duration`]), or says why it
/// cannot be read.
pub fn duration_seconds(d: &DurationValue) -> Result<u64, String> {
    match d {
        DurationValue::Seconds(n) => Ok(*n),
        DurationValue::Text(t) => duration::parse(t).map_err(|e| {
            let shown = crate::schema::brief_str(t);
            match e {
                duration::Error::Form => format!("{shown} is not a duration"),
                duration::Error::TooLarge => format!("{shown} is too large"),
            }
        }),
    }
}

fn ipckey_value(k: &IpcKey) -> Option<u64> {
    match k {
        IpcKey::Number(n) => Some(*n),
        // Not `&s[2..]`: the string may not be ASCII (the schema rejects it, but the lenient
        // pass after a schema error still reads it).
        IpcKey::Hex(s) => s
            .strip_prefix("0x")
            .or_else(|| s.strip_prefix("0X"))
            .and_then(|h| u64::from_str_radix(h, 16).ok()),
    }
}

/// Entries of `processes` converted ahead of the rest of their description (in order, from
/// the second on), with what their conversion reported: see `frontend::stream`.
#[derive(Default)]
pub struct Converted {
    pub processes: Vec<Process>,
    pub diagnostics: Vec<Diagnostic>,
}

/// Converts a schema-valid description into the model, checking what the schema cannot
/// (duration strings, ranges of durations) and then the shared rules.
pub fn to_service(
    desc: Description,
    spans: &dyn SpanLookup,
    src: &Arc<SourceFile>,
) -> (Option<Service>, Vec<Diagnostic>) {
    to_service_with(desc, Converted::default(), spans, src)
}

/// [`to_service`] of a description whose entries after its own were converted already
/// (`more`, by [`Convert::process`]).
pub fn to_service_with(
    desc: Description,
    more: Converted,
    spans: &dyn SpanLookup,
    src: &Arc<SourceFile>,
) -> (Option<Service>, Vec<Diagnostic>) {
    let mut diags = Vec::new();
    let c = Convert { spans, src };
    let ipckey = ipckey_value(&desc.ipckey).unwrap_or(0);
    c.count(ipckey, &fields::IPCKEY.field, Loc::IpcKey, &mut diags);
    let msg = c.secs(
        &desc.msg_check_interval,
        &fields::MSG_CHECK_INTERVAL.field,
        Loc::MsgCheckInterval,
        &mut diags,
    );
    let mon = c.secs(
        &desc.monitor_interval,
        &fields::MONITOR_INTERVAL.field,
        Loc::MonitorInterval,
        &mut diags,
    );
    c.count(
        desc.monitor_try_count.into(),
        &fields::MONITOR_TRY_COUNT.field,
        Loc::MonitorTryCount,
        &mut diags,
    );
    let mut own = Vec::with_capacity(desc.processes.len());
    // The description is taken apart as it is converted: a file of a million small entries
    // would otherwise hold both forms at once.
    for (i, p) in desc.processes.into_iter().enumerate() {
        if diags.len() > crate::diagnostics::MAX_ERRORS_PER_FILE {
            break; // the report ends at the limit (below)
        }
        own.push(c.process(p, i, &mut diags));
    }
    // The entries converted ahead follow in their own list (not copied into a new one).
    let mut processes = more.processes;
    processes.splice(0..0, own);
    diags.extend(more.diagnostics);
    let mut groups = Vec::with_capacity(desc.groups.len());
    for (g, group) in desc.groups.into_iter().enumerate() {
        let grace = c.secs(&group.grace, &fields::GRACE, Loc::GroupGrace(g), &mut diags);
        c.count(
            group.retries.into(),
            &fields::RETRY,
            Loc::GroupRetries(g),
            &mut diags,
        );
        members(&group, g, &mut processes, spans, src, &mut diags);
        groups.push(Group {
            name: group.name,
            restart: c.restart(group.restart, Loc::GroupRestart(g), &mut diags),
            grace,
            retries: group.retries,
            on_retry_over: action(group.on_retry_over),
        });
    }
    let svc =
        Service {
            msg_check_interval: small(msg),
            monitor_interval: small(mon),
            monitor_try_count: desc.monitor_try_count,
            dump_file: Some(desc.dump_file.unwrap_or_else(|| {
                format!("{}/pcheck_dump_{}", model::DEFAULT_DUMP_DIR, desc.name)
            })),
            conf_dir: Some(desc.conf_dir),
            processes,
            groups,
            ..Service::new(desc.name, small(ipckey))
        };
    // A description's group says who its members are: an empty list is the schema's error,
    // and a listed name that cannot be a member has its own. "No members" would repeat them.
    diags.extend(
        rules::check_service(&svc, spans, src)
            .into_iter()
            .filter(|d| d.code != codes::GROUP_NO_MEMBERS),
    );
    crate::diagnostics::cap(&mut diags, src);
    let ok = !diags.iter().any(Diagnostic::is_error);
    (ok.then_some(svc), diags)
}

/// Converts parts of a description into the model, reporting what is out of range. Every
/// range and name comes from the field's descriptor (crate::fields); `loc` is where the value
/// is (a group's fields share the descriptors of an entry's).
pub struct Convert<'a> {
    pub spans: &'a dyn SpanLookup,
    pub src: &'a Arc<SourceFile>,
}

fn small(n: u64) -> u32 {
    n.min(u32::MAX.into()) as u32
}

fn action(a: ActionDesc) -> Action {
    match a {
        ActionDesc::Continue => Action::Continue,
        ActionDesc::Exit => Action::Exit,
        ActionDesc::Shutdown => Action::Shutdown,
    }
}

impl Convert<'_> {
    fn secs(&self, d: &DurationValue, f: &Field, loc: Loc, diags: &mut Vec<Diagnostic>) -> u64 {
        let (what, range) = (f.key_name(), f.range.clone().unwrap_or(0..=u64::MAX));
        // Spans are looked up only for a diagnostic: valid files are the common case.
        let span = || self.spans.span(loc);
        match duration_seconds(d) {
            Ok(n) => {
                if !range.contains(&n) {
                    let given = match d {
                        DurationValue::Seconds(n) => format!("{n} (seconds)"),
                        DurationValue::Text(t) => format!("`{t}`"),
                    };
                    diags.push(
                        Diagnostic::error(
                            codes::OUT_OF_RANGE,
                            format!(
                                "{what} must be {}, not {given}",
                                duration::human_range(&range)
                            ),
                        )
                        .with_label(span(), "out of range")
                        .in_file(self.src),
                    );
                }
                n
            }
            Err(why) => {
                diags.push(
                    Diagnostic::error(
                        codes::INVALID_DURATION,
                        format!("{what} is not a valid duration: {why}"),
                    )
                    .with_label(span(), "invalid duration")
                    .with_help(format!(
                        "write {}; {what} may be {}",
                        duration::FORMS,
                        duration::human_range(&range)
                    ))
                    .in_file(self.src),
                );
                0
            }
        }
    }

    fn count(&self, n: u64, f: &Field, loc: Loc, diags: &mut Vec<Diagnostic>) {
        let range = f.range.clone().unwrap_or(0..=u64::MAX);
        if range.contains(&n) {
            return;
        }
        if let Some(d) = rules::check_range(n, range, f.key_name(), self.spans.span(loc), self.src)
        {
            diags.push(d);
        }
    }

    fn restart(&self, r: RestartDesc, loc: Loc, diags: &mut Vec<Diagnostic>) -> Restart {
        match r {
            RestartDesc::None(_) => Restart::None,
            RestartDesc::Script(s) => Restart::Script(s.script),
            RestartDesc::Commands(c) => {
                let wait = small(self.secs(&c.wait, &fields::WAIT, loc, diags));
                Restart::commands(c.stop, c.start, wait)
            }
        }
    }

    /// Entry `i` of `processes`, without its group (a group names its members).
    pub fn process(&self, p: ProcessDesc, i: usize, diags: &mut Vec<Diagnostic>) -> Process {
        let grace = self.secs(&p.grace, &fields::GRACE, Loc::Grace(i), diags);
        self.count(p.retries.into(), &fields::RETRY, Loc::Retries(i), diags);
        self.count(
            p.instances.into(),
            &fields::INSTANCES,
            Loc::Instances(i),
            diags,
        );
        let health = p.health.as_ref().and_then(|h| {
            let interval = self.secs(
                &h.interval,
                &fields::HEALTH_INTERVAL,
                Loc::HealthInterval(i),
                diags,
            );
            let timeout = self.secs(
                &h.timeout,
                &fields::HEALTH_TIMEOUT,
                Loc::HealthTimeout(i),
                diags,
            );
            self.count(
                h.failures.into(),
                &fields::HEALTH_FAILURES,
                Loc::HealthFailures(i),
                diags,
            );
            let check = health_check(h, i, self.spans, self.src, diags)?;
            Some(Box::new(Health {
                check,
                interval: small(interval),
                timeout: small(timeout),
                failures: h.failures,
            }))
        });
        Process {
            name: p.name,
            restart: self.restart(p.restart, Loc::RestartWait(i), diags),
            grace,
            retries: p.retries,
            on_retry_over: action(p.on_retry_over),
            user: p.user.iter().map(UserRef::text).collect(),
            instances: p.instances,
            health,
            stop_timeout: small(self.secs(
                &p.stop_timeout,
                &fields::STOP_TIMEOUT,
                Loc::StopTimeout(i),
                diags,
            )),
            retry_delay: small(self.secs(
                &p.retry_delay,
                &fields::RETRY_DELAY,
                Loc::RetryDelay(i),
                diags,
            )),
            group: None,
        }
    }
}

/// The check of health mapping `h` of process `i`: exactly one of `exec` and `tcp`, the
/// address one that parses. `None` (and a diagnostic) otherwise.
fn health_check(
    h: &HealthDesc,
    i: usize,
    spans: &dyn SpanLookup,
    src: &Arc<SourceFile>,
    diags: &mut Vec<Diagnostic>,
) -> Option<HealthCheck> {
    let at = spans.span(Loc::Health(i));
    match (&h.exec, &h.tcp) {
        (Some(cmd), None) => Some(HealthCheck::Exec(cmd.clone())),
        (None, Some(addr)) => match crate::pfile::pent::parse_tcp(addr, ':') {
            Ok(a) => Some(HealthCheck::Tcp(a)),
            Err(why) => {
                diags.push(
                    Diagnostic::error(
                        codes::INVALID_HEALTH_CHECK,
                        format!("health.tcp {}: {why}", crate::schema::brief_str(addr)),
                    )
                    .with_label(spans.span(Loc::HealthCheck(i)), "not an address and port")
                    .with_help("write an IPv4 address and a port, such as `tcp: 127.0.0.1:80`")
                    .in_file(src),
                );
                None
            }
        },
        (None, None) => {
            diags.push(
                Diagnostic::error(
                    codes::HEALTH_NO_CHECK,
                    "the health check has neither `exec` nor `tcp`",
                )
                .with_label(at, "no check here")
                .with_help("add `exec: /path/to/check` or `tcp: 127.0.0.1:80`, or remove `health`")
                .in_file(src),
            );
            None
        }
        (Some(_), Some(_)) => {
            diags.push(
                Diagnostic::error(
                    codes::HEALTH_TWO_CHECKS,
                    "the health check has both `exec` and `tcp`",
                )
                .with_label(at, "two checks")
                .with_help("keep either `exec` or `tcp`")
                .in_file(src),
            );
            None
        }
    }
}

/// Makes the processes that group `g` lists its members, or says why one cannot be.
fn members(
    group: &GroupDesc,
    g: usize,
    processes: &mut [Process],
    spans: &dyn SpanLookup,
    src: &Arc<SourceFile>,
    diags: &mut Vec<Diagnostic>,
) {
    for (m, name) in group.members.iter().enumerate() {
        let at = spans.span(Loc::GroupMember(g, m));
        let Some(p) = processes.iter_mut().find(|p| p.name == *name) else {
            let names: Vec<&str> = processes.iter().map(|p| p.name.as_str()).collect();
            let mut d = Diagnostic::error(
                codes::GROUP_UNKNOWN_MEMBER,
                format!(
                    "group `{}` lists {}, which is not a process of this description",
                    group.name,
                    crate::schema::brief_str(name)
                ),
            )
            .with_label(at, "unknown process");
            if let Some(best) =
                crate::suggestion::suggest(name, &names, crate::suggestion::Closeness::Near)
            {
                d = d.with_help(best.to_string());
            }
            diags.push(d.in_file(src));
            continue;
        };
        match &p.group {
            None => p.group = Some(group.name.as_str().into()),
            Some(other) => {
                let msg = if **other == *group.name {
                    format!("`{name}` is listed twice in group `{other}`")
                } else {
                    format!("`{name}` is already a member of group `{other}`")
                };
                diags.push(
                    Diagnostic::error(codes::GROUP_TWO_GROUPS, msg)
                        .with_label(at, "listed again here")
                        .with_help("a process belongs to one group at most, listed once")
                        .in_file(src),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_are_whole_seconds() {
        let t = |s: &str| duration_seconds(&DurationValue::Text(s.into()));
        assert_eq!(t("90s"), Ok(90));
        assert_eq!(t("10m"), Ok(600));
        assert_eq!(t("12h"), Ok(43_200));
        assert_eq!(t("1d"), Ok(86_400));
        assert!(t("1h 30m").is_err());
        assert_eq!(t("45"), Ok(45));
        assert!(t("500ms").unwrap_err().contains("not a duration"));
        assert!(t("1.5s").is_err());
        assert!(t("soon").is_err());
        assert_eq!(duration_seconds(&DurationValue::Seconds(7)), Ok(7));
    }

    #[test]
    fn ipckey_forms() {
        assert_eq!(ipckey_value(&IpcKey::Hex("0x1F".into())), Some(31));
        assert_eq!(ipckey_value(&IpcKey::Number(5)), Some(5));
    }
}

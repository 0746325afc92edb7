//! One descriptor per PARAM key and PENT field (issue 14, in the manner of ripgrep's flag
//! definitions): its spellings, model location, range, default, unit and documentation. The
//! pfile lowering and printer, the description conversion, the schema text, the range checks
//! and `psctl explain` read these instead of repeating them. Adding a PARAM key is one
//! [`Field`] here (with its accessors) plus its tests.

use std::ops::RangeInclusive;

use crate::model::{self, format_ipckey, limits, Loc, Process, Service};

/// What a field's number counts; says how ranges are written for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Whole seconds; a description also takes `90s`, `10m`, `12h`, `1d`.
    Seconds,
    /// A plain count.
    Count,
    /// An IPC key: hexadecimal with `0x` or decimal.
    IpcKey,
    /// Anything else (paths, names, commands, words).
    Text,
}

/// How a PARAM value is read into and printed from a [`Service`].
#[derive(Debug, Clone, Copy)]
pub enum Access {
    /// A number within the field's range.
    Number {
        get: fn(&Service) -> u64,
        set: fn(&mut Service, u64),
    },
    /// A text value (a path).
    Text {
        get: fn(&Service) -> String,
        set: fn(&mut Service, String),
    },
}

/// One PARAM key or PENT field.
#[derive(Debug, Clone)]
pub struct Field {
    /// Its spelling in a pfile: the PARAM key, the name of a PENT field, or the key of a PENT
    /// extension field. Empty for a field a pfile does not have.
    pub pfile: &'static str,
    /// Its key in a service description, as a path below the service or process
    /// (`health/interval`). Empty for a field a description does not have.
    pub key: &'static str,
    /// Where it lives in the model; per-entry fields take the entry's index.
    pub loc: fn(usize) -> Loc,
    /// The allowed values, for numbers.
    pub range: Option<RangeInclusive<u64>>,
    /// The default, as a pfile would print it; `None` when the field is required or has none.
    pub default: Option<&'static str>,
    pub unit: Unit,
    /// One line for people (explain, docs, the schema's descriptions).
    pub doc: &'static str,
}

impl Field {
    /// The last segment of [`Field::key`]: the key as written in its mapping.
    pub fn key_name(&self) -> &'static str {
        self.key.rsplit('/').next().unwrap_or(self.key)
    }

    /// The name messages use for the field in a pfile (its description key otherwise).
    pub fn name(&self) -> &'static str {
        if self.pfile.is_empty() {
            self.key_name()
        } else {
            self.pfile
        }
    }

    /// The range as people read it: `1 s to 1 d`, `1 to 100`, `0x1 to 0x7fffffff`.
    pub fn human_range(&self) -> Option<String> {
        let r = self.range.as_ref()?;
        Some(match self.unit {
            Unit::Seconds => crate::duration::human_range(r),
            Unit::IpcKey => format!("{:#x} to {:#x}", r.start(), r.end()),
            _ => format!("{} to {}", r.start(), r.end()),
        })
    }

    /// The range as the reference prose of `psctl explain` writes it: `1-3600 s`.
    fn prose_range(&self) -> Option<String> {
        let r = self.range.as_ref()?;
        Some(match self.unit {
            Unit::Seconds => format!("{}-{} s", r.start(), r.end()),
            Unit::IpcKey => format!("{:#x}-{:#x}", r.start(), r.end()),
            _ => format!("{}-{}", r.start(), r.end()),
        })
    }
}

/// A PARAM key: its [`Field`] and how it reads into the model.
#[derive(Debug, Clone)]
pub struct Param {
    pub field: Field,
    pub access: Access,
    /// Printed even at its default. The guide's five keys are (the canonical form makes their
    /// defaults explicit); a key added since is printed only when it is not the default, so
    /// that every pfile written before it prints as it did.
    pub always_printed: bool,
}

impl Param {
    /// Whether a canonical pfile of `svc` has a line for this key.
    pub fn printed(&self, svc: &Service) -> bool {
        self.always_printed || self.field.default != Some(self.print(svc).as_str())
    }

    /// The canonical pfile text of this key's value in `svc` (defaults made explicit).
    pub fn print(&self, svc: &Service) -> String {
        match self.access {
            Access::Number { get, .. } if self.field.unit == Unit::IpcKey => {
                format_ipckey(get(svc) as u32)
            }
            Access::Number { get, .. } => get(svc).to_string(),
            Access::Text { get, .. } => get(svc),
        }
    }
}

fn n(v: u64) -> u32 {
    u32::try_from(v).unwrap_or(u32::MAX)
}

pub const IPCKEY: Param = Param {
    field: Field {
        pfile: "IPCKEY",
        key: "ipckey",
        loc: |_| Loc::IpcKey,
        range: Some(limits::IPCKEY),
        default: None,
        unit: Unit::IpcKey,
        doc: "names the pcheck's control channel; unique on a host",
    },
    access: Access::Number {
        get: |s| s.ipckey.into(),
        set: |s, v| s.ipckey = n(v),
    },
    always_printed: true,
};

pub const MSG_CHECK_INTERVAL: Param = Param {
    field: Field {
        pfile: "MSG_CHECK_INTERVAL",
        key: "msg_check_interval",
        loc: |_| Loc::MsgCheckInterval,
        range: Some(limits::MSG_CHECK_INTERVAL),
        default: Some("5"),
        unit: Unit::Seconds,
        doc: "upper bound on how long pcheck may take to act on a padmin command",
    },
    access: Access::Number {
        get: |s| s.msg_check_interval.into(),
        set: |s, v| s.msg_check_interval = n(v),
    },
    always_printed: true,
};

pub const MONITOR_INTERVAL: Param = Param {
    field: Field {
        pfile: "MONITOR_INTERVAL",
        key: "monitor_interval",
        loc: |_| Loc::MonitorInterval,
        range: Some(limits::MONITOR_INTERVAL),
        default: Some("10"),
        unit: Unit::Seconds,
        doc: "period of the liveness check and rediscovery scan",
    },
    access: Access::Number {
        get: |s| s.monitor_interval.into(),
        set: |s, v| s.monitor_interval = n(v),
    },
    always_printed: true,
};

pub const MONITOR_TRY_COUNT: Param = Param {
    field: Field {
        pfile: "MONITOR_TRY_COUNT",
        key: "monitor_try_count",
        loc: |_| Loc::MonitorTryCount,
        range: Some(limits::MONITOR_TRY_COUNT),
        default: Some("2"),
        unit: Unit::Count,
        doc: "scans pcheck makes to find a process before it reports \"Set pid fail\"",
    },
    access: Access::Number {
        get: |s| s.monitor_try_count.into(),
        set: |s, v| s.monitor_try_count = n(v),
    },
    always_printed: true,
};

pub const SHM_DUMP_FILE: Param = Param {
    field: Field {
        pfile: "SHM_DUMP_FILE",
        key: "dump_file",
        loc: |_| Loc::DumpFile,
        range: None,
        default: Some("/var/opt/HA/PS/log/pcheck_dump_<ipckey>"),
        unit: Unit::Text,
        doc: "absolute path where pcheck writes its state dump; unique on a host",
    },
    access: Access::Text {
        get: Service::dump_file_or_default,
        set: |s, v| s.dump_file = Some(v),
    },
    always_printed: true,
};

/// The PARAM keys, in canonical (printing) order.
pub const PARAMS: [Param; 5] = [
    IPCKEY,
    MSG_CHECK_INTERVAL,
    MONITOR_INTERVAL,
    MONITOR_TRY_COUNT,
    SHM_DUMP_FILE,
];

/// The PARAM descriptor spelled `key` in a pfile.
pub fn param(key: &str) -> Option<&'static Param> {
    PARAMS.iter().find(|p| p.field.pfile == key)
}

macro_rules! pent {
    ($name:ident, $pfile:literal, $key:literal, $loc:expr, $range:expr, $default:expr, $unit:ident, $doc:literal) => {
        pub const $name: Field = Field {
            pfile: $pfile,
            key: $key,
            loc: $loc,
            range: $range,
            default: $default,
            unit: Unit::$unit,
            doc: $doc,
        };
    };
}

// The five fields of a PENT line, then its extension fields (docs/extensions.md).
pent!(
    PNAME,
    "pname",
    "name",
    Loc::ProcessName,
    None,
    None,
    Text,
    "what pcheck looks for among running processes: a command name or a full command line"
);
pent!(
    RESTART,
    "restart",
    "restart",
    Loc::Restart,
    None,
    Some("-"),
    Text,
    "`-` (report only) or an absolute path to an executable, optionally with arguments"
);
pent!(
    GRACE,
    "grace",
    "grace",
    Loc::Grace,
    Some(limits::GRACE),
    Some("86400"),
    Seconds,
    "the window in which `retry` restarts are allowed; 0 means the window never ends"
);
pent!(
    RETRY,
    "retry",
    "retries",
    Loc::Retries,
    Some(limits::RETRY),
    Some("3"),
    Count,
    "restarts allowed within one grace window"
);
pent!(
    ACTION,
    "action",
    "on_retry_over",
    Loc::OnRetryOver,
    None,
    Some("continue"),
    Text,
    "what pcheck does when the retries are used up: continue, exit or shutdown"
);
pent!(
    WAIT,
    "",
    "restart/wait",
    Loc::RestartWait,
    Some(limits::WAIT),
    Some("5"),
    Seconds,
    "pause after a generated script's stop and after its start"
);
pent!(
    USER,
    "user",
    "user",
    Loc::User,
    None,
    None,
    Text,
    "the users whose processes may match the entry: names or numeric uids"
);
pent!(
    INSTANCES,
    "instances",
    "instances",
    Loc::Instances,
    Some(limits::INSTANCES),
    Some("1"),
    Count,
    "same-name monitoring: at least this many matching processes"
);
pent!(
    HEALTH_EXEC,
    "health_exec",
    "health/exec",
    Loc::HealthCheck,
    None,
    None,
    Text,
    "health check command, an absolute path with arguments; exit status 0 is healthy"
);
pent!(
    HEALTH_TCP,
    "health_tcp",
    "health/tcp",
    Loc::HealthCheck,
    None,
    None,
    Text,
    "health check by TCP connection to an IPv4 address and port"
);
pent!(
    HEALTH_INTERVAL,
    "health_interval",
    "health/interval",
    Loc::HealthInterval,
    Some(limits::HEALTH_INTERVAL),
    Some("10"),
    Seconds,
    "time between the start of one health check and the next"
);
pent!(
    HEALTH_TIMEOUT,
    "health_timeout",
    "health/timeout",
    Loc::HealthTimeout,
    Some(limits::HEALTH_TIMEOUT),
    Some("5"),
    Seconds,
    "time a health check may take; one that does not finish in time has failed"
);
pent!(
    HEALTH_FAILURES,
    "health_failures",
    "health/failures",
    Loc::HealthFailures,
    Some(limits::HEALTH_FAILURES),
    Some("3"),
    Count,
    "consecutive failed health checks that make the process stalled"
);
pent!(
    STOP_TIMEOUT,
    "stop_timeout",
    "stop_timeout",
    Loc::StopTimeout,
    Some(limits::STOP_TIMEOUT),
    Some("10"),
    Seconds,
    "time between SIGTERM and SIGKILL when pcheck ends a stalled process"
);
pent!(
    RETRY_DELAY,
    "retry_delay",
    "retry_delay",
    Loc::RetryDelay,
    Some(limits::RETRY_DELAY),
    Some("0"),
    Seconds,
    "delay before the next attempt after a failed one, doubling per failure up to 5 min"
);
pent!(
    GROUP,
    "group",
    "",
    Loc::Group,
    None,
    None,
    Text,
    "the group this entry is a member of (a description lists members in the group)"
);

/// The five fields of a PENT line, in order.
pub const PENT_FIELDS: [&Field; 5] = [&PNAME, &RESTART, &GRACE, &RETRY, &ACTION];

/// The PENT extension fields, in canonical (printing) order.
pub const PENT_EXTENSIONS: [&Field; 10] = [
    &USER,
    &INSTANCES,
    &HEALTH_EXEC,
    &HEALTH_TCP,
    &HEALTH_INTERVAL,
    &HEALTH_TIMEOUT,
    &HEALTH_FAILURES,
    &STOP_TIMEOUT,
    &RETRY_DELAY,
    &GROUP,
];

/// Every field with a range, for reference text: the PARAM keys, then the PENT fields.
pub fn ranged() -> impl Iterator<Item = &'static Field> {
    PARAMS
        .iter()
        .map(|p| &p.field)
        .chain(PENT_FIELDS.iter().copied())
        .chain(std::iter::once(&WAIT))
        .chain(PENT_EXTENSIONS.iter().copied())
        .filter(|f| f.range.is_some())
}

/// The allowed ranges in prose, for `psctl explain psctl::value::out_of_range`.
pub fn ranges_prose() -> String {
    let parts: Vec<String> = ranged()
        .map(|f| format!("{} {}", f.name(), f.prose_range().unwrap_or_default()))
        .collect();
    format!("Allowed ranges: {}.", parts.join("; "))
}

/// The extension fields for people, one per line: `key=VALUE`, what it is, its range and
/// default (for `psctl explain psctl::pfile::extension`).
pub fn extensions_prose() -> String {
    let mut out = String::new();
    for f in PENT_EXTENSIONS {
        let mut line = format!("  {}=  {}", f.pfile, f.doc);
        if let Some(r) = f.human_range() {
            line.push_str(&format!("; {r}"));
        }
        if let Some(d) = f.default {
            let unit = if f.unit == Unit::Seconds { " s" } else { "" };
            line.push_str(&format!("; default {d}{unit}"));
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The text of extension field `f` of entry `p` as a canonical pfile prints it, `None` when it
/// has its default (and is therefore not printed).
pub fn extension_value(f: &Field, p: &Process) -> Option<String> {
    let h = p.health.as_ref();
    let not = |v: u32, d: u32| (v != d).then(|| v.to_string());
    match f.pfile {
        "user" => (!p.user.is_empty()).then(|| p.user.join(",")),
        "instances" => not(p.instances, model::DEFAULT_INSTANCES),
        "health_exec" => match h.map(|h| &h.check) {
            Some(model::HealthCheck::Exec(cmd)) => Some(cmd.clone()),
            _ => None,
        },
        "health_tcp" => match h.map(|h| &h.check) {
            Some(model::HealthCheck::Tcp(a)) => Some(format!("{} {}", a.ip(), a.port())),
            _ => None,
        },
        "health_interval" => h.and_then(|h| not(h.interval, model::DEFAULT_HEALTH_INTERVAL)),
        "health_timeout" => h.and_then(|h| not(h.timeout, model::DEFAULT_HEALTH_TIMEOUT)),
        "health_failures" => h.and_then(|h| not(h.failures, model::DEFAULT_HEALTH_FAILURES)),
        "stop_timeout" => not(p.stop_timeout, model::DEFAULT_STOP_TIMEOUT),
        "retry_delay" => not(p.retry_delay, model::DEFAULT_RETRY_DELAY),
        "group" => p.group.as_deref().map(str::to_owned),
        _ => None,
    }
}

/// The descriptor of description key `key` (its last segment) among the ranged fields.
pub fn by_key_name(key: &str) -> Option<&'static Field> {
    ranged().find(|f| f.key_name() == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reference_prose_keeps_its_words() {
        assert!(ranges_prose().starts_with(
            "Allowed ranges: IPCKEY 0x1-0x7fffffff; MSG_CHECK_INTERVAL 1-3600 s; MONITOR_INTERVAL \
1-86400 s; MONITOR_TRY_COUNT 1-100; grace 0-31536000 s; retry 0-1000; wait 0-3600 s; instances 1-1000;"
        ));
    }

    #[test]
    fn defaults_agree_with_the_model() {
        let p = Process::new("x");
        for f in PENT_EXTENSIONS {
            assert_eq!(extension_value(f, &p), None, "{}", f.pfile);
        }
        assert_eq!(
            GRACE.default,
            Some(model::DEFAULT_GRACE.to_string().as_str())
        );
        for (p, d) in PARAMS.iter().skip(1).zip([
            model::DEFAULT_MSG_CHECK_INTERVAL,
            model::DEFAULT_MONITOR_INTERVAL,
            model::DEFAULT_MONITOR_TRY_COUNT,
        ]) {
            assert_eq!(p.field.default, Some(d.to_string().as_str()));
        }
    }

    /// docs/extensions.md says what the table says: each extension field's range and default.
    #[test]
    fn the_extension_doc_agrees_with_the_table() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/extensions.md");
        let doc = std::fs::read_to_string(path).expect("docs/extensions.md");
        for f in PENT_EXTENSIONS {
            let row = doc
                .lines()
                .find(|l| l.starts_with(&format!("| `{}=", f.pfile)))
                .unwrap_or_else(|| panic!("no row for {}", f.pfile));
            if let Some(r) = f.human_range() {
                assert!(row.contains(&r), "{row}: {r}");
            }
            if let Some(d) = f.default {
                assert!(row.ends_with(&format!("| {d} |")), "{row}: {d}");
            }
        }
    }

    #[test]
    fn keys_are_unique() {
        let mut keys: Vec<&str> = PARAMS.iter().map(|p| p.field.pfile).collect();
        keys.extend(PENT_FIELDS.iter().chain(&PENT_EXTENSIONS).map(|f| f.pfile));
        let n = keys.len();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), n);
    }
}

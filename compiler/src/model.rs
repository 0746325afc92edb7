//! The one model: a pcheck (PARAM) and its entries (PENT).
//!
//! A service description (YAML/TOML) deserializes into [`Service`]; a pfile lowers into the same
//! type (its restart is a script/command line or none). The runtime runs a [`Service`]; the
//! emitter prints one. Serde and schemars derives exist only with the `descriptions` feature so
//! that the runtime does not link them.

/// Default directory for pfiles and generated restart scripts.
pub const DEFAULT_CONF_DIR: &str = "/var/opt/HA/PS/conf/bin";
/// Directory of the default dump file.
pub const DEFAULT_DUMP_DIR: &str = "/var/opt/HA/PS/log";

pub const DEFAULT_MSG_CHECK_INTERVAL: u32 = 5;
pub const DEFAULT_MONITOR_INTERVAL: u32 = 10;
pub const DEFAULT_MONITOR_TRY_COUNT: u32 = 2;
pub const DEFAULT_GRACE: u64 = 86_400;
pub const DEFAULT_RETRIES: u32 = 3;
pub const DEFAULT_WAIT: u32 = 5;
pub const DEFAULT_INSTANCES: u32 = 1;
pub const DEFAULT_HEALTH_INTERVAL: u32 = 10;
pub const DEFAULT_HEALTH_TIMEOUT: u32 = 5;
pub const DEFAULT_HEALTH_FAILURES: u32 = 3;
pub const DEFAULT_STOP_TIMEOUT: u32 = 10;
pub const DEFAULT_RETRY_DELAY: u32 = 0;
/// The backoff after failed attempts doubles `retry_delay` up to this many seconds (spec 7).
pub const RETRY_DELAY_CAP: u32 = 300;

/// Value ranges of the spec (section 1), shared by every front-end and the runtime.
pub mod limits {
    use std::ops::RangeInclusive;
    pub const IPCKEY: RangeInclusive<u64> = 0x1..=0x7fff_ffff;
    pub const MSG_CHECK_INTERVAL: RangeInclusive<u64> = 1..=3600;
    pub const MONITOR_INTERVAL: RangeInclusive<u64> = 1..=86_400;
    pub const MONITOR_TRY_COUNT: RangeInclusive<u64> = 1..=100;
    pub const GRACE: RangeInclusive<u64> = 0..=31_536_000;
    pub const RETRY: RangeInclusive<u64> = 0..=1000;
    pub const WAIT: RangeInclusive<u64> = 0..=3600;
    // Extensions beyond the guide (spec 7).
    pub const INSTANCES: RangeInclusive<u64> = 1..=1000;
    pub const HEALTH_INTERVAL: RangeInclusive<u64> = 1..=86_400;
    pub const HEALTH_TIMEOUT: RangeInclusive<u64> = 1..=3600;
    pub const HEALTH_FAILURES: RangeInclusive<u64> = 1..=100;
    pub const STOP_TIMEOUT: RangeInclusive<u64> = 1..=3600;
    pub const RETRY_DELAY: RangeInclusive<u64> = 0..=300;
    /// Longest pname, in bytes: pcheck reads no more of a command line than a pname could
    /// match (spec 3.1), so a process with a huge argv costs a scan no more than any other.
    pub const PNAME_BYTES: usize = 4096;
}

/// One pcheck: what a pfile's PARAM section says plus its PENT entries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// `[a-z0-9][a-z0-9_-]*`; the pfile is `pfile_<name>`.
    pub name: String,
    pub ipckey: u32,
    /// Seconds.
    pub msg_check_interval: u32,
    /// Seconds.
    pub monitor_interval: u32,
    pub monitor_try_count: u32,
    /// `None`: the default, see [`Service::dump_file_or_default`].
    pub dump_file: Option<String>,
    /// `None`: [`DEFAULT_CONF_DIR`].
    pub conf_dir: Option<String>,
    pub processes: Vec<Process>,
    /// Groups of entries restarted together (spec 7); empty in a legacy pfile.
    pub groups: Vec<Group>,
}

/// One PENT entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// The pname (matching rules: spec 3.1).
    pub name: String,
    pub restart: Restart,
    /// Seconds; 0 means the window never ends.
    pub grace: u64,
    pub retries: u32,
    pub on_retry_over: Action,
    /// The users whose processes may match (spec 6), as written: names or decimal uids. Empty:
    /// the default rule (root, pcheck's own user, system accounts).
    pub user: Box<[String]>,
    /// Same-name monitoring (spec 7): at least this many matching processes; 1 is the guide's
    /// behaviour.
    pub instances: u32,
    /// Hang detection (spec 7); `None`: pcheck only notices exit. Boxed, like the commands
    /// of a restart: most entries have neither, and a large description holds a million
    /// entries (bench/bounds.sh).
    pub health: Option<Box<Health>>,
    /// Seconds between SIGTERM and SIGKILL when pcheck ends a stalled process.
    pub stop_timeout: u32,
    /// Seconds before the next attempt after a failed one, doubling per consecutive failure up
    /// to [`RETRY_DELAY_CAP`]; 0 is the guide's immediate retry.
    pub retry_delay: u32,
    /// The name of the [`Group`] this entry belongs to. A member has no restart of its own
    /// (its restart is [`Restart::None`]); the group's restart, counters and action apply.
    pub group: Option<Box<str>>,
}

impl Process {
    /// An entry with `name` and every other field at its default (restart: none).
    pub fn new(name: impl Into<String>) -> Process {
        Process {
            name: name.into(),
            restart: Restart::None,
            grace: DEFAULT_GRACE,
            retries: DEFAULT_RETRIES,
            on_retry_over: Action::Continue,
            user: Box::default(),
            instances: DEFAULT_INSTANCES,
            health: None,
            stop_timeout: DEFAULT_STOP_TIMEOUT,
            retry_delay: DEFAULT_RETRY_DELAY,
            group: None,
        }
    }
}

/// A health check (spec 7): run every `interval` seconds, one at a time per entry; after
/// `failures` consecutive failures the process is stalled.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Health {
    pub check: HealthCheck,
    /// Seconds between the start of one check and the next.
    pub interval: u32,
    /// Seconds a check may take; one that does not finish in time has failed.
    pub timeout: u32,
    /// Consecutive failures that make the process stalled.
    pub failures: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheck {
    /// An executable, optionally followed by arguments (same trust rules and clean start as
    /// restart scripts); exit status 0 is healthy.
    Exec(String),
    /// A TCP connection to this address that succeeds within the timeout is healthy. IPv4
    /// only: a pfile field cannot hold the `:` of an IPv6 address.
    Tcp(std::net::SocketAddrV4),
}

/// Entries restarted together (spec 7): any member's death or stall is the group's event, with
/// one restart, one set of counters, one grace window and one retry-over action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// `[a-z0-9][a-z0-9_-]*`, unique within the service.
    pub name: String,
    pub restart: Restart,
    /// Seconds; 0 means the window never ends.
    pub grace: u64,
    pub retries: u32,
    pub on_retry_over: Action,
}

impl Service {
    /// A service named `name` with `ipckey`, every PARAM value at its default, and nothing to
    /// watch yet. Front-ends start from it, so that a new PARAM key is one default here.
    pub fn new(name: impl Into<String>, ipckey: u32) -> Service {
        Service {
            name: name.into(),
            ipckey,
            msg_check_interval: DEFAULT_MSG_CHECK_INTERVAL,
            monitor_interval: DEFAULT_MONITOR_INTERVAL,
            monitor_try_count: DEFAULT_MONITOR_TRY_COUNT,
            dump_file: None,
            conf_dir: None,
            processes: Vec::new(),
            groups: Vec::new(),
        }
    }

    /// The members of group `name`, in entry order.
    pub fn members<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (usize, &'a Process)> {
        self.processes
            .iter()
            .enumerate()
            .filter(move |(_, p)| p.group.as_deref() == Some(name))
    }
}

/// How a dead process is brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    /// Report only (the pfile's `-`).
    None,
    /// An existing executable, optionally followed by arguments, used as is.
    Script(String),
    /// psctl generates a script: stop, wait, start, wait.
    Commands(Box<Commands>),
}

/// The commands of a script psctl generates ([`Restart::Commands`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commands {
    pub stop: String,
    pub start: String,
    /// Seconds.
    pub wait: u32,
}

impl Restart {
    /// A generated script's restart.
    pub fn commands(stop: impl Into<String>, start: impl Into<String>, wait: u32) -> Restart {
        Restart::Commands(Box::new(Commands {
            stop: stop.into(),
            start: start.into(),
            wait,
        }))
    }
}

/// What pcheck does when an entry's retries are used up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    Continue,
    Exit,
    Shutdown,
}

impl Action {
    pub const ALL: [Action; 3] = [Action::Continue, Action::Exit, Action::Shutdown];

    /// Lower-case spelling (pfile canonical form, `show pent`).
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Continue => "continue",
            Action::Exit => "exit",
            Action::Shutdown => "shutdown",
        }
    }

    /// Accepts any casing; the caller warns about non-canonical ones.
    pub fn parse_any_case(s: &str) -> Option<Action> {
        Action::ALL
            .into_iter()
            .find(|a| a.as_str().eq_ignore_ascii_case(s))
    }
}

impl Service {
    pub fn pfile_name(&self) -> String {
        format!("pfile_{}", self.name)
    }

    pub fn conf_dir_or_default(&self) -> &str {
        self.conf_dir.as_deref().unwrap_or(DEFAULT_CONF_DIR)
    }

    /// The pfile default (`pcheck_dump_<ipckey>`). A description's default
    /// (`pcheck_dump_<name>`) is made explicit by its front-end, so that `build` always writes
    /// `SHM_DUMP_FILE` and the runtime only ever needs this rule.
    pub fn dump_file_or_default(&self) -> String {
        match &self.dump_file {
            Some(p) => p.clone(),
            None => format!(
                "{DEFAULT_DUMP_DIR}/pcheck_dump_{}",
                format_ipckey(self.ipckey)
            ),
        }
    }
}

/// Formats an IPCKEY the canonical way: `0x` and eight lower-case hex digits.
pub fn format_ipckey(key: u32) -> String {
    format!("0x{key:08x}")
}

/// Where a value lives in the model; front-ends map each to a source span so that shared rules
/// can point at the exact key or value whatever the input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Loc {
    /// The whole document (used when nothing more precise exists).
    Document,
    Name,
    IpcKey,
    MsgCheckInterval,
    MonitorInterval,
    MonitorTryCount,
    DumpFile,
    ConfDir,
    /// The `processes` list as a whole.
    Processes,
    /// Entry `i` (0-based) as a whole.
    Process(usize),
    ProcessName(usize),
    Restart(usize),
    RestartStop(usize),
    RestartStart(usize),
    RestartWait(usize),
    Grace(usize),
    Retries(usize),
    OnRetryOver(usize),
    /// Entry `i`'s list of trusted users.
    User(usize),
    // Extensions beyond the guide (spec 7), per entry.
    Instances(usize),
    /// Entry `i`'s health check as a whole.
    Health(usize),
    /// Its `exec` or `tcp`.
    HealthCheck(usize),
    HealthInterval(usize),
    HealthTimeout(usize),
    HealthFailures(usize),
    StopTimeout(usize),
    RetryDelay(usize),
    /// The group entry `i` belongs to.
    Group(usize),
    /// The `groups` list as a whole.
    Groups,
    /// Group `g` as a whole, then its fields.
    GroupEntry(usize),
    GroupName(usize),
    /// Group `g`'s member `m` (in a description's `members` list).
    GroupMember(usize, usize),
    GroupRestart(usize),
    GroupGrace(usize),
    GroupRetries(usize),
    GroupOnRetryOver(usize),
}

/// Lets a rule ask a front-end for the span of a model location.
pub trait SpanLookup {
    /// The span of the value at `loc`, or of the nearest enclosing thing that exists.
    fn span(&self, loc: Loc) -> crate::span::Span;
    /// The span of the key naming `loc` (for "unknown/duplicate key" style messages); defaults
    /// to the value's span.
    fn key_span(&self, loc: Loc) -> crate::span::Span {
        self.span(loc)
    }
}

#[cfg(test)]
mod tests {
    /// A large description holds a million entries: what most entries leave out is boxed,
    /// so that an entry stays small (it was 200 bytes; bench/bounds.sh). Strings that entries seldom have are boxed slices.
    #[test]
    fn an_entry_stays_small() {
        let size = std::mem::size_of::<super::Process>();
        assert!(size <= 120, "Process is {size} bytes");
    }
}

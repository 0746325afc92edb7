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
    pub user: Vec<String>,
}

/// How a dead process is brought back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Restart {
    /// Report only (the pfile's `-`).
    None,
    /// An existing executable, optionally followed by arguments, used as is.
    Script(String),
    /// psctl generates a script: stop, wait, start, wait.
    Commands {
        stop: String,
        start: String,
        /// Seconds.
        wait: u32,
    },
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

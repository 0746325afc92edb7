//! The registry of diagnostic codes: stable identifiers with a one-line summary and the long
//! explanation that `psctl explain CODE` prints. Codes are never renamed or reused.

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Code {
    pub id: &'static str,
    pub summary: &'static str,
    pub explanation: &'static str,
}

macro_rules! codes {
    ($( $name:ident = $id:literal, $summary:literal, $explanation:literal; )*) => {
        $( pub const $name: Code = Code { id: $id, summary: $summary, explanation: $explanation }; )*
        /// Every code, in declaration order.
        pub const ALL: &[Code] = &[ $( $name ),* ];
    };
}

/// The long explanation of `code`. Those of [`OUT_OF_RANGE`], [`PFILE_UNKNOWN_KEY`] and
/// [`PFILE_EXTENSION`] list ranges and keys, written from the descriptor table ([`crate::fields`]) so that it cannot drift from the checks.
pub fn explanation(code: Code) -> std::borrow::Cow<'static, str> {
    if code == OUT_OF_RANGE {
        crate::fields::ranges_prose().into()
    } else if code == PFILE_UNKNOWN_KEY {
        let keys = crate::pfile::PARAM_KEYS;
        let (last, rest) = keys.split_last().expect("PARAM keys");
        format!(
            "The known PARAM keys are {} and {last}. {}",
            rest.join(", "),
            code.explanation
        )
        .into()
    } else if code == PFILE_EXTENSION {
        format!(
            "After its five fields a PENT line may carry psctl extensions (docs/extensions.md), \
each `:key=value`, each at most once, at most {}:\n\n{}\n{}",
            crate::pfile::pent::MAX_EXTENSIONS,
            crate::fields::extensions_prose(),
            code.explanation
        )
        .into()
    } else {
        code.explanation.into()
    }
}

/// Finds a code by its id, also accepting the id without the `psctl::` prefix.
pub fn lookup(id: &str) -> Option<Code> {
    ALL.iter()
        .copied()
        .find(|c| c.id == id || c.id.strip_prefix("psctl::") == Some(id))
}

codes! {
    IO = "psctl::io", "a file or directory could not be read",
        "psctl could not read an input: it does not exist, is not readable, or is neither a file \
nor a directory. Check the path and its permissions. This is a usage or I/O problem, so the \
exit status is 2.";
    INVALID_UTF8 = "psctl::input::invalid_utf8", "the input is not valid UTF-8",
        "pfiles and service descriptions are UTF-8 text. The diagnostic points at the first byte \
that is not valid UTF-8. Convert the file (for example with iconv) or remove the stray bytes.";
    NOT_TEXT = "psctl::input::not_text", "the input contains a NUL byte or other binary data",
        "A NUL byte never occurs in a text file; the input is probably a binary file that was \
picked up by mistake. The diagnostic points at the first NUL byte.";
    PFILE_SYNTAX = "psctl::pfile::syntax", "a pfile line is neither a PARAM line nor a PENT line",
        "Every non-blank, non-comment line of a pfile is either a PARAM line, `KEY VALUE` with an \
upper-case KEY, or a PENT line of five `:`-separated fields, \
`pname:restart:grace:retry:action`. A `#` at the start of a line or after a blank starts a \
comment.";
    PFILE_FIELD_COUNT = "psctl::pfile::field_count", "a PENT line does not have five fields",
        "A PENT line has exactly five fields separated by `:`: \
`pname:restart:grace:retry:action`, for example \
`crond:/var/opt/HA/PS/conf/bin/restart_crond.sh:86400:3:continue`. A pname cannot contain `:`.";
    PFILE_UNKNOWN_KEY = "psctl::pfile::unknown_key", "unknown PARAM key",
        "Keys are upper case. A misspelt key would silently fall back to a default, so it is an \
error.";
    PFILE_DUPLICATE_KEY = "psctl::pfile::duplicate_key", "a PARAM key is given twice",
        "Each PARAM key may appear once. Remove one of the two lines; the diagnostic points at the \
second and labels the first.";
    PFILE_MISSING_VALUE = "psctl::pfile::missing_value", "a PARAM key has no value",
        "A PARAM line is `KEY VALUE`, separated by blanks. Give the value after the key.";
    PFILE_MISSING_IPCKEY = "psctl::pfile::missing_ipckey", "the pfile has no IPCKEY",
        "IPCKEY names the pcheck's control channel and has no default. Add a line such as \
`IPCKEY 0x1f000501`, with a value unique on the host.";
    PFILE_NO_ENTRIES = "psctl::pfile::no_entries", "the pfile has no PENT line",
        "A pcheck with nothing to watch is a mistake. Add at least one PENT line: \
`pname:restart:grace:retry:action`.";
    PFILE_ACTION_CASE = "psctl::pfile::action_case", "a retry-over action is not in lower case",
        "The action is accepted in any casing, but the canonical form is lower case: `continue`, \
`exit` or `shutdown`. `psctl fmt` rewrites it.";
    NOT_A_NUMBER = "psctl::value::not_a_number", "a number was expected",
        "This field takes a non-negative whole number (IPCKEY also takes hexadecimal with a `0x` \
prefix). Durations in a pfile are whole seconds without a unit.";
    OUT_OF_RANGE = "psctl::value::out_of_range", "a value is outside its allowed range",
        "";
    NOT_ABSOLUTE = "psctl::value::not_absolute", "a path must be absolute",
        "pcheck runs as root from an unknown working directory, so SHM_DUMP_FILE, conf_dir and \
restart scripts must be absolute paths (starting with `/`).";
    INVALID_PATH = "psctl::value::invalid_path", "a path contains a control character",
        "SHM_DUMP_FILE (`dump_file`) and `conf_dir` are paths pcheck and psctl open as root and \
print in messages: a control character in them is refused, in every input format.";
    INVALID_PNAME = "psctl::value::invalid_pname", "a process name cannot be expressed",
        "A pname must be non-empty and contain neither `:` (the pfile field separator) nor control \
characters such as a tab or newline. Leading and trailing blanks are not part of it.";
    INVALID_RESTART = "psctl::value::invalid_restart", "a restart command is not valid",
        "A restart is `-` (report only) or an absolute path to an executable, optionally followed \
by arguments, with no control characters. In a description, `stop` and `start` are shell \
commands without newlines.";
    INVALID_ACTION = "psctl::value::invalid_action", "unknown retry-over action",
        "The retry-over action is one of `continue` (stop watching this entry), `exit` (pcheck \
exits with status 1, so a cluster manager fails over) or `shutdown` (pcheck exits with \
status 0).";
    INVALID_NAME = "psctl::value::invalid_name", "a service name is not valid",
        "A service name matches `[a-z0-9][a-z0-9_-]*`; it becomes part of file names \
(`pfile_<name>`), so nothing else is allowed.";
    DUPLICATE_PNAME = "psctl::entry::duplicate_pname", "two entries watch the same process",
        "Two PENT entries (or two `processes`) in one file have the same pname. pcheck would watch \
one process twice and restart it twice. Remove or rename one.";
    EMIT_UNREPRESENTABLE = "psctl::emit::unrepresentable", "a value cannot be written into a pfile or script as it is",
        "The pfile is line-oriented: a value written into it must not contain `:` (the field \
separator), a control character, leading or trailing blanks, a leading `#`, or a blank followed \
by `#` (which starts a comment). A generated restart script path is run by `/bin/sh -c`, so \
`conf_dir` may only contain letters, digits and `/._+,=@%-`. psctl never alters such a value \
silently: change it in the source.";
    EMIT_CONFLICT = "psctl::emit::conflict", "two inputs produce the same output file",
        "Every output file name must come from one input only: `pfile_<name>` from the service \
name and `restart_<slug>.sh` from a process name. Two inputs with the same service name, or two \
services in one build whose processes reduce to the same script name, would overwrite each \
other. Rename one of them or build them into different directories.";
    EMIT_NOT_GENERATED = "psctl::emit::not_generated", "an output file exists and was not generated by psctl",
        "psctl only replaces files it generated itself, which it recognizes by the header comment \
`# Generated by psctl from ...` (the first line of a pfile, the second line of a script). A \
hand-written file with the same name is left alone; move it away or pass `--force` to \
replace it.";
    FMT_NOT_CANONICAL = "psctl::fmt::not_canonical", "a pfile is not in canonical form",
        "`psctl fmt --check` found a pfile that `psctl fmt` would rewrite. Run `psctl fmt` on it. \
The canonical form has the PARAM banner, all five PARAM keys in table order padded to 22 \
columns, a blank line, the PENT banner, the PENT lines in source order, lower-case actions, LF \
line endings and a final newline; comments are kept.";
    INPUT_TOO_LARGE = "psctl::input::too_large", "the input is larger than psctl accepts",
        "pfiles and service descriptions are small text files. psctl refuses inputs over 16 MiB \
so that a file picked up by mistake (a log, a core dump) cannot exhaust memory.";
    TOO_MANY_ERRORS = "psctl::input::too_many_errors", "a file has too many errors to report them all",
        "After 1000 errors in one file psctl stops reading it and says so: a file that wrong is \
most likely not a pfile or description at all, and reporting millions of problems would take \
minutes and gigabytes. Fix the errors shown (or check that the right file was given) and run \
psctl again.";
    EMPTY = "psctl::input::empty", "the description is empty",
        "A service description must be a mapping with at least `name`, `ipckey` and `processes`. \
This file holds no document (or only comments).";
    TOO_DEEP = "psctl::input::too_deep", "the input nests too deeply",
        "A service description is at most a few levels deep. psctl stops reading at 64 levels of \
nesting so that a hostile or broken input cannot exhaust the stack or memory; the diagnostic \
points at where the limit was reached.";
    YAML_SYNTAX = "psctl::yaml::syntax", "the YAML is not well-formed",
        "The YAML parser could not read the file. The diagnostic points where it gave up; the \
problem is often just before that place (an indentation mistake, an unclosed quote or bracket, \
a tab used for indentation).";
    YAML_ALIAS_LIMIT = "psctl::yaml::alias_limit", "YAML aliases expand to too much data",
        "YAML anchors (`&a`) and aliases (`*a`) can be nested so that a tiny file expands to \
gigabytes (the \"billion laughs\" attack). psctl expands at most 10,000 nodes through aliases and \
rejects the file beyond that. A service description does not need aliases at all.";
    YAML_MULTIPLE_DOCUMENTS = "psctl::yaml::multiple_documents", "the YAML file holds more than one document",
        "One file describes one pcheck. Split a YAML stream with several `---` documents into one \
file per service.";
    KEY_NOT_STRING = "psctl::description::key_not_string", "a mapping key is not a plain string",
        "Keys of a service description are snake_case names such as `monitor_interval`. A \
sequence, mapping or null used as a key cannot name a field.";
    DUPLICATE_KEY = "psctl::description::duplicate_key", "a key is given twice in one mapping",
        "Each key may appear once per mapping; with two, one value would silently win. Remove one \
of the two; the diagnostic points at the second and labels the first.";
    TOML_SYNTAX = "psctl::toml::syntax", "the TOML is not well-formed",
        "The TOML parser could not read the file; the message says why (an unclosed string, a \
key defined twice, a bad value). See https://toml.io for the syntax.";
    JSON_SYNTAX = "psctl::json::syntax", "the JSON is not well-formed",
        "The JSON parser could not read the file. JSON does not allow comments, trailing commas or \
single quotes; the diagnostic points where the parser gave up.";
    SCHEMA_TYPE = "psctl::schema::type", "a value has the wrong type",
        "The value does not have the type the schema requires (for example a list where a \
string is expected, or a quoted number where an integer is expected). `psctl schema` prints \
the schema; the message names the expected type.";
    SCHEMA_REQUIRED = "psctl::schema::required", "a required key is missing",
        "A service description needs `name`, `ipckey` and `processes`; every process needs \
`name`; a restart with commands needs `stop` and `start`. Add the missing key.";
    SCHEMA_UNKNOWN_KEY = "psctl::schema::unknown_key", "a key is not part of the schema",
        "Unknown keys are errors, not ignored: a misspelt key (`monitor_intervall`) would silently \
fall back to a default. The help suggests the closest known key.";
    SCHEMA_ENUM = "psctl::schema::enum", "a value is not one of the allowed words",
        "This field takes one of a fixed set of words, for example `on_retry_over`: `continue`, \
`exit` or `shutdown`. The help suggests the closest one.";
    SCHEMA_FORM = "psctl::schema::form", "a value matches none of the allowed forms",
        "Some fields accept several forms: `ipckey` is an integer or a \"0x...\" string; durations \
are whole seconds or a string such as `90s`, `10m`, `12h`, `1d`; `restart` is `none`, \
`{script: PATH}` or `{stop: CMD, start: CMD, wait: DURATION}`. The value given fits none.";
    SCHEMA_INVALID = "psctl::schema::invalid", "a value violates the schema",
        "The value breaks a schema constraint other than type, presence or allowed words (for \
example `processes` must list at least one process). The message quotes the constraint.";
    INVALID_DURATION = "psctl::value::invalid_duration", "a duration cannot be read",
        "Durations are whole seconds: an integer (`90`) or a string with a unit (`90s`, `10m`, \
`12h`, `1d`, also combined like `1h 30m`). Fractions of a second (`500ms`, `1.5s`) are not \
allowed because pcheck counts whole seconds.";
    DUPLICATE_IPCKEY = "psctl::cross::duplicate_ipckey", "two inputs use the same IPCKEY",
        "IPCKEY names a pcheck's control channel and must be unique on a host. All inputs of one \
`psctl check` run are treated as one host's configuration. Give each service its own key.";
    DUPLICATE_DUMP_FILE = "psctl::cross::duplicate_dump_file", "two inputs use the same dump file",
        "Two pchecks writing one state dump file would overwrite each other's dumps. Give each \
its own `dump_file` / SHM_DUMP_FILE (the description default, pcheck_dump_<name>, is unique \
when names are).";
    DUPLICATE_PFILE_NAME = "psctl::cross::duplicate_pfile_name", "two inputs produce the same pfile",
        "Each description compiles to `pfile_<name>`, and a pfile's own name counts too. Two \
inputs with one name would overwrite each other when built or installed. Rename one service.";
    HOST_SCRIPT_MISSING = "psctl::host::script_missing", "a restart script does not exist on this host",
        "With `--host`, psctl checks the restart scripts named by `restart: {script: ...}` and by \
pfile PENT lines on the machine it runs on. pcheck could not restart the process with a \
missing script. (A warning: the script may be installed later.)";
    HOST_NOT_EXECUTABLE = "psctl::host::not_executable", "a restart script is not executable",
        "pcheck runs the restart script directly, so it needs an execute bit and must be a \
regular file. Fix with `chmod 0755 PATH`.";
    HOST_OWNER = "psctl::host::owner", "a restart script is owned by another user",
        "pcheck runs restart scripts as root. A script owned by someone other than root (or the \
user running psctl) lets that user run commands as root. Fix with `chown root PATH`.";
    HOST_WRITABLE = "psctl::host::writable", "a restart script is group- or world-writable",
        "pcheck runs restart scripts as root; a script others can write lets them run commands as \
root. Fix with `chmod go-w PATH`.";
    PFILE_EXTENSION = "psctl::pfile::extension", "a PENT extension field is unknown, repeated or misplaced",
        "A line whose sixth field is `kind=group` defines a group: \
`name:restart:grace:retry:action:kind=group`; it takes no other extension field. Legacy \
pfiles have no extension fields and need none.";
    INVALID_USER = "psctl::value::invalid_user", "a trusted user is not a valid user name or uid",
        "`user` lists the users whose processes may match an entry: user names (letters, digits, \
`.`, `_`, `-`, not starting with `-`, at most 32 characters, optionally ending in `$`) or \
numeric uids (0 to 4294967294). The list may not be empty: leave `user` out for the default \
(root, pcheck's own user and system accounts below UID_MIN, never `nobody`).";
    RESTART_SHELL = "psctl::restart::shell_syntax", "a restart command uses shell syntax",
        "pcheck executes a plain restart command (an absolute path and words) directly, after \
checking that nobody but root can change it. A command with shell syntax (quotes, `$`, `;`, \
`|`, `&`, redirections, globs, `~`, a `#` starting a word) must run through /bin/sh, which \
opens every further program by its path; pcheck checks only the first word. Put the commands \
in a script and name the script instead.";
    HEALTH_NO_CHECK = "psctl::health::no_check", "health settings without a health check",
        "`health_interval`, `health_timeout` and `health_failures` (a description's `health` \
mapping) only tune a health check; the check itself is `health_exec=PATH [ARGS]` or \
`health_tcp=A.B.C.D PORT` (`exec:` or `tcp:` in a description). Give one, or remove the \
settings.";
    HEALTH_TWO_CHECKS = "psctl::health::two_checks", "an entry has two health checks",
        "An entry has at most one health check: either a command (`health_exec`, `exec:`) or a \
TCP connection (`health_tcp`, `tcp:`). Keep one of the two.";
    INVALID_HEALTH_CHECK = "psctl::value::invalid_health_check", "a health check cannot be used",
        "A command health check is an absolute path to an executable, optionally followed by \
arguments, on one line; pcheck runs it under the trust rules of restart scripts (spec 6) and \
exit status 0 means healthy. A TCP health check is an IPv4 address and a port 1-65535: \
`health_tcp=127.0.0.1 80` in a pfile (a pfile field cannot hold `:`), `tcp: 127.0.0.1:80` in a \
description.";
    GROUP_UNKNOWN = "psctl::group::unknown", "an entry names a group that is not defined",
        "`group=NAME` makes an entry a member of group NAME, which a line \
`NAME:restart:grace:retry:action:kind=group` of the same pfile must define. Define the group \
or correct the name (the help suggests the closest one).";
    GROUP_UNKNOWN_MEMBER = "psctl::group::unknown_member", "a group lists a process that does not exist",
        "A group's `members` are names of `processes` of the same description. Add the process or \
correct the name (the help suggests the closest one).";
    GROUP_MEMBER_RESTART = "psctl::group::member_restart", "a group member has a restart of its own",
        "A member of a group is restarted by the group's restart, together with the other \
members; a restart of its own would never run. In a pfile its restart field must be `-`; in a \
description it has no `restart`. Move the restart to the group.";
    GROUP_MEMBER_SETTING = "psctl::group::member_setting", "a setting of a group member has no effect",
        "A member's deaths are its group's events: the group's restart, grace, retries and \
retry-over action apply, and the group's attempts follow each other without delay. A member's \
`retry_delay` would have no effect, so it is refused; remove it.";
    GROUP_TWO_GROUPS = "psctl::group::two_groups", "a process is a member of two groups",
        "A process belongs to at most one group: one death cannot trigger two restarts. Remove it \
from all but one group's `members`.";
    GROUP_NO_MEMBERS = "psctl::group::no_members", "a group has no members",
        "A group with no members would never be restarted. In a pfile, give its members \
`group=NAME`; in a description, list them in `members`. Or remove the group.";
    GROUP_DUPLICATE = "psctl::group::duplicate", "two groups have the same name",
        "Group names are unique within a pfile or description: members name their group, and \
log lines such as `Try to restart (NAME)` must say which group they mean. Rename one.";
    GROUP_INVALID_NAME = "psctl::group::invalid_name", "a group name is not valid",
        "A group name matches `[a-z0-9][a-z0-9_-]*`: it appears in log lines and becomes part of \
a generated script's name.";
    GROUP_NAME_CLASH = "psctl::group::name_clash", "a group has the name of an entry",
        "A group may not have the pname of an entry of the same file, so that a log line \
`Try to restart (NAME)` names one thing only. Rename the group.";
}

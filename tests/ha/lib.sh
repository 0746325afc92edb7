# Shared by the tests/ha scripts: counting checks and bounded waits.
# shellcheck shell=bash disable=SC2034 # BIN, AGENT, REPO are for the sourcing script

passed=0
failed=0

ok() { passed=$((passed + 1)); echo "ok - $*"; }
not_ok() { failed=$((failed + 1)); echo "not ok - $*"; }

# check DESCRIPTION COMMAND...: one check, counted.
check() {
    local what=$1
    shift
    if "$@"; then ok "$what"; else not_ok "$what"; fi
}

# wait_for SECONDS COMMAND...: true as soon as COMMAND succeeds, false after SECONDS.
wait_for() {
    local end=$((SECONDS + $1))
    shift
    while ! "$@"; do
        [ "$SECONDS" -lt "$end" ] || return 1
        sleep 0.2
    done
}

# The closing line the CI reads; the exit status follows it.
summary() {
    echo "$passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}

# The built pcheck, padmin and psctl: $PSCTL_BIN, else target/debug of this checkout (built
# with `cargo build --workspace --bins` when missing).
find_bins() {
    local root
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
    BIN=${PSCTL_BIN:-$root/target/debug}
    if [ ! -x "$BIN/pcheck" ] || [ ! -x "$BIN/padmin" ] || [ ! -x "$BIN/psctl" ]; then
        [ -n "${PSCTL_BIN:-}" ] || (cd "$root" && cargo build --workspace --bins --locked -q)
    fi
    for b in pcheck padmin psctl; do
        [ -x "$BIN/$b" ] || { echo "no $BIN/$b" >&2; exit 2; }
    done
    AGENT=$root/packaging/ocf/pcheck
    REPO=$root
}

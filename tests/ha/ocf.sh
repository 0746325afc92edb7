#!/usr/bin/env bash
# The OCF agent packaging/ocf/pcheck with the real pcheck and padmin: Pacemaker's own
# ocf-tester (resource-agents), then the cases ocf-tester does not cover: a pcheck that ended
# with `exit` (retry over) is a failure, one that ended cleanly is "not running", stop leaves
# the watched daemon alone, reload, bad configurations. Needs root (ocf-tester checks the
# agent as nobody). Ends with "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: tests/ha/ocf.sh needs root (pcheck, ocf-tester)" >&2
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
command -v ocf-tester >/dev/null || { echo "ocf-tester missing: run scripts/setup-test-deps" >&2; exit 2; }
find_bins

W=$(mktemp -d /tmp/psctl-ocf.XXXXXX)
name=ocf-daemon-$$
cleanup() {
    [ -n "${W:-}" ] && [ -d "$W/state" ] && OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=t \
        OCF_RESKEY_pfile=$W/pfile_ocf OCF_RESKEY_pcheck=$BIN/pcheck OCF_RESKEY_padmin=$BIN/padmin \
        OCF_RESKEY_runtime_dir=$W/run OCF_RESKEY_state_dir=$W/state "$AGENT" stop >/dev/null 2>&1
    pkill -f "^$name" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT

cat > "$W/restart.sh" <<SH
#!/bin/sh
# Returns once the daemon is there, as a restart script should: pcheck looks for it as
# soon as the script has exited.
setsid -f bash -c 'exec -a $name sleep 100000' </dev/null >/dev/null 2>&1
for _ in \$(seq 50); do pgrep -f '^$name' >/dev/null && exit 0; sleep 0.1; done
exit 1
SH
chmod 755 "$W/restart.sh"
# The key is made from the pid so that two runs at once do not meet.
key=$(printf '0x1f%06x' $(($$ & 0xffffff)))
cat > "$W/pfile_ocf" <<PF
##### PARAM #####
IPCKEY $key
MSG_CHECK_INTERVAL 1
MONITOR_INTERVAL 1
MONITOR_TRY_COUNT 1
SHM_DUMP_FILE $W/dump

##### PENT #####
$name:$W/restart.sh:3600:1:exit
PF

export OCF_ROOT=/usr/lib/ocf OCF_RESOURCE_INSTANCE=t
export OCF_RESKEY_pfile=$W/pfile_ocf OCF_RESKEY_pcheck=$BIN/pcheck OCF_RESKEY_padmin=$BIN/padmin
export OCF_RESKEY_runtime_dir=$W/run OCF_RESKEY_state_dir=$W/state
export OCF_RESKEY_CRM_meta_timeout=20000 OCF_RESKEY_CRM_meta_interval=10000
export PCHECK_RUNTIME_DIR=$W/run

agent() { "$AGENT" "$@" 2>>"$W/agent.err"; }
rc_is() { local want=$1; shift; agent "$@" >/dev/null; [ $? -eq "$want" ]; }
daemon_pid() { pgrep -f "^$name" | head -n1; }
pent() { "$BIN/padmin" -f "$W/pfile_ocf" -c "show pent" 2>/dev/null; }

# 1. Pacemaker's conformance test.
if ocf-tester -n t -o pfile="$W/pfile_ocf" -o pcheck="$BIN/pcheck" -o padmin="$BIN/padmin" \
    -o runtime_dir="$W/run" -o state_dir="$W/state" "$AGENT" >"$W/ocf-tester.out" 2>&1; then
    ok "ocf-tester: $(tail -n1 "$W/ocf-tester.out")"
else
    not_ok "ocf-tester"
    cat "$W/ocf-tester.out"
fi
check "the meta-data says OCF 1.1" bash -c "'$AGENT' meta-data | grep -q '<version>1.1</version>'"

# 2. A retry over with action exit: pcheck exits 1, monitor reports a failure (1).
# The daemon runs before pcheck starts (ocf-tester's runs may have left one: start afresh), so
# that pcheck finds it and no restart is counted yet.
pkill -f "^$name"
"$W/restart.sh"
check "start" rc_is 0 start
check "monitor of a started pcheck is 0" rc_is 0 monitor
check "the watched daemon is up" wait_for 20 bash -c "'$BIN/padmin' -f '$W/pfile_ocf' -c 'show pent' | grep -q 'proc_sts *= AVAIL'"
first=$(daemon_pid)
kill "$first"
check "first death: restarted" wait_for 20 bash -c "p=\$(pgrep -f '^$name'); [ -n \"\$p\" ] && [ \"\$p\" != $first ]"
check "pcheck has a restart counted" wait_for 20 bash -c "'$BIN/padmin' -f '$W/pfile_ocf' -c 'show pent' | grep -q 'restart_count *= 1'"
kill "$(daemon_pid)"
check "second death: retry over, pcheck exits 1" wait_for 20 bash -c "[ \"\$(cat '$W/state/pcheck-t.status' 2>/dev/null)\" = 1 ]"
: >"$W/agent.err"
check "monitor reports the failure: OCF_ERR_GENERIC (1)" rc_is 1 monitor
check "with a reason naming the retry limit" grep -q "retry limit with action exit" "$W/agent.err"
check "a probe reports it too (1)" env OCF_RESKEY_CRM_meta_interval=0 bash -c "'$AGENT' monitor 2>/dev/null; [ \$? -eq 1 ]"
check "stop after the failure succeeds" rc_is 0 stop
check "then monitor is OCF_NOT_RUNNING (7)" rc_is 7 monitor

# 3. A clean end (padmin shutdown behind Pacemaker's back) is "not running", not a failure.
check "start again" rc_is 0 start
"$BIN/padmin" -f "$W/pfile_ocf" -c shutdown >/dev/null 2>&1
check "pcheck ended with status 0" wait_for 20 bash -c "[ \"\$(cat '$W/state/pcheck-t.status' 2>/dev/null)\" = 0 ]"
check "monitor after a clean end is 7" rc_is 7 monitor
check "stop" rc_is 0 stop

# 4. Stop stops pcheck only, reload reloads.
check "start" rc_is 0 start
check "the daemon is watched" wait_for 20 bash -c "'$BIN/padmin' -f '$W/pfile_ocf' -c 'show pent' | grep -q 'proc_sts *= AVAIL'"
watched=$(daemon_pid)
check "reload while running is 0" rc_is 0 reload
check "stop" rc_is 0 stop
check "pcheck is gone" bash -c "! '$BIN/padmin' -f '$W/pfile_ocf' -c 'show param' >/dev/null 2>&1"
check "the watched daemon survives the stop" kill -0 "$watched"
check "reload of a stopped pcheck is 7" rc_is 7 reload

# 5. Bad configurations.
check "validate-all without pfile is OCF_ERR_CONFIGURED (6)" env OCF_RESKEY_pfile= bash -c "'$AGENT' validate-all 2>/dev/null; [ \$? -eq 6 ]"
check "a relative pfile is OCF_ERR_CONFIGURED (6)" env OCF_RESKEY_pfile=pfile_ocf bash -c "'$AGENT' validate-all 2>/dev/null; [ \$? -eq 6 ]"
check "start with a missing pfile is OCF_ERR_INSTALLED (5)" env OCF_RESKEY_pfile="$W/nope" bash -c "'$AGENT' start 2>/dev/null; [ \$? -eq 5 ]"
check "a probe with a missing pcheck is 7" env OCF_RESKEY_pcheck=/nonexistent OCF_RESKEY_CRM_meta_interval=0 bash -c "'$AGENT' monitor 2>/dev/null; [ \$? -eq 7 ]"
printf '##### PARAM #####\nIPCKEY nonsense\n' >"$W/pfile_bad"
chmod 644 "$W/pfile_bad"
: >"$W/agent.err"
check "start of an invalid pfile fails (1)" env OCF_RESKEY_pfile="$W/pfile_bad" bash -c "'$AGENT' start 2>>'$W/agent.err'; [ \$? -eq 1 ]"
check "quoting pcheck's diagnostics" grep -q "ended at start with status 2" "$W/agent.err"
env OCF_RESKEY_pfile="$W/pfile_bad" "$AGENT" stop >/dev/null 2>&1

summary

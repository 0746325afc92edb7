#!/usr/bin/env bash
# The command lines of examples/systemd/pcheck@.service and pcheck-failover@.service, run the
# way systemd runs them (there is no systemd as PID 1 here), with the real pcheck and padmin:
# ExecStart under the unit's UMask=, ExecReload, a retry over with `exit` ending the main
# process with status 1, ExecStop then exiting 2 (which is why it carries the `-` prefix),
# and the failover unit showing the RETRY_OVER state and running the site's hook.
# Paths: /opt/HA/PS/bin is the build's binaries, /var/opt/HA/PS/conf/bin a scratch directory,
# and PCHECK_RUNTIME_DIR stands in for RuntimeDirectory=pcheck. Needs root. Ends with
# "N passed, N failed".
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIPPED: tests/ha/units.sh needs root (pcheck)" >&2
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
find_bins

W=$(mktemp -d /tmp/psctl-units.XXXXXX)
name=unit-daemon-$$
main_pid=""
cleanup() {
    [ -n "$main_pid" ] && kill "$main_pid" 2>/dev/null
    pkill -f "^$name" 2>/dev/null
    rm -rf "$W"
}
trap cleanup EXIT
mkdir -p "$W/conf" "$W/run"
export PCHECK_RUNTIME_DIR=$W/run

# unit_lines FILE KEY: the values of KEY= in the unit, for instance `demo`, on this host.
unit_lines() {
    sed -n "s/^$2=//p" "$REPO/examples/systemd/$1" |
        sed -e "s|/opt/HA/PS/bin/|$BIN/|g" -e "s|/var/opt/HA/PS/conf/bin/|$W/conf/|g" -e "s|%i|demo|g"
}
# run_line LINE: one Exec line as systemd runs it (the `-` prefix dropped, so that the
# status is seen), with shell-like quoting.
run_line() {
    local line=${1#-}
    eval "set -- $line"
    "$@"
}

# The restart script records the umask its daemon starts with.
cat >"$W/conf/restart_demo.sh" <<EOF
#!/bin/sh
setsid -f bash -c 'umask > $W/daemon.umask; exec -a $name sleep 100000' </dev/null >/dev/null 2>&1
for _ in \$(seq 50); do pgrep -f '^$name' >/dev/null && exit 0; sleep 0.1; done
exit 1
EOF
chmod 755 "$W/conf/restart_demo.sh"
cat >"$W/conf/pfile_demo" <<EOF
##### PARAM #####
IPCKEY 0x1f00c$(printf '%03x' $(($$ & 0xfff)))
MSG_CHECK_INTERVAL 1
MONITOR_INTERVAL 1
MONITOR_TRY_COUNT 1
SHM_DUMP_FILE $W/dump/pcheck_dump_demo

##### PENT #####
$name:$W/conf/restart_demo.sh:3600:1:exit
EOF
chmod 644 "$W/conf/pfile_demo"
padmin() { "$BIN/padmin" -f "$W/conf/pfile_demo" -c "$@" 2>/dev/null; }
serving() { padmin "show param" >/dev/null; }
pent() { padmin "show pent" | grep -Eq "$1"; }

umask_value=$(sed -n 's/^UMask=//p' "$REPO/examples/systemd/pcheck@.service")
check "the unit sets UMask=0077" test "$umask_value" = 0077
start=$(unit_lines pcheck@.service ExecStart)
( umask "$umask_value" && cd / && exec bash -c "$(declare -f run_line); run_line '$start'" ) \
    2>"$W/pcheck.err" &
main_pid=$!
check "ExecStart: pcheck serves the pfile" wait_for 20 serving
check "pcheck found nothing and restarted it" wait_for 20 pent 'proc_sts *= AVAIL'
check "the restarted daemon has umask 0022, not the unit's $umask_value (spec 6 clean start)" \
    bash -c "[ \"\$(cat '$W/daemon.umask' 2>/dev/null)\" = 0022 ]"
reload() { run_line "$(unit_lines pcheck@.service ExecReload)" 2>/dev/null; }
check "ExecReload: exit 0" reload

# First kill: restart_count 1 was used at start, so this is the retry over; action exit.
pkill -f "^$name"
wait "$main_pid"
status=$?
main_pid=""
check "retry over with exit: the main process ends with status 1 (unit failed, not restarted)" test "$status" = 1
stop=$(unit_lines pcheck@.service ExecStop)
check "ExecStop carries the '-' prefix" test "${stop:0:1}" = -
run_line "$stop" >/dev/null 2>&1
check "ExecStop after pcheck ended exits 2 (the '-' makes systemd ignore it)" test $? = 2

mapfile -t failover < <(unit_lines pcheck-failover@.service ExecStart)
check "the failover unit has its two commands" test "${#failover[@]}" = 2
out=$(run_line "${failover[0]}" 2>&1)
status=$?
check "failover: padmin show pent exits 2 (so it is '-' prefixed)" bash -c "[ $status = 2 ] && [ '${failover[0]:0:1}' = - ]"
check "failover: and shows the RETRY_OVER entry from the dump" bash -c "grep -q 'proc_sts *= RETRY_OVER' <<<'$out' && grep -q 'retry_over_act = exit' <<<'$out'"
out=$(run_line "${failover[1]}" 2>&1)
status=$?
check "failover without a hook: says so, succeeds" bash -c "[ $status = 0 ] && grep -q 'nothing else to do' <<<'$out'"
# shellcheck disable=SC2016 # $1 is the hook's
printf '#!/bin/sh\necho "failing over $1" > %s/hook.out\n' "$W" >"$W/conf/failover_demo"
chmod 755 "$W/conf/failover_demo"
run_line "${failover[1]}" >/dev/null 2>&1
check "failover with a hook: runs it with the instance name" \
    bash -c "[ \"\$(cat '$W/hook.out' 2>/dev/null)\" = 'failing over demo' ]"

summary
